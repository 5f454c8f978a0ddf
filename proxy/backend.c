/*
 * backend.c - the configured backends and their shared health (see backend.h).
 */
#include "backend.h"

#include "log.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *backend_health_str(int health)
{
#define BACKEND_HEALTH_NAME(id, name)                                                              \
	case id: return name;
	switch (health) {
		BACKEND_HEALTH_LIST(BACKEND_HEALTH_NAME)
	}
#undef BACKEND_HEALTH_NAME
	return "?";
}

const char *backend_role_str(enum backend_role role)
{
	return role == BACKEND_PRIMARY ? "primary" : "replica";
}

static bool resolve(struct backend *b, const struct cfg_addr *a, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", a->port);
	int rc = getaddrinfo(a->host, port, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "backend %s: cannot resolve %s: %s", b->name, a->host,
		         gai_strerror(rc));
		return false;
	}
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

static bool add_backend(struct backend_table *t, const struct cfg_backend *c,
                        const struct cfg_routing *routing, enum backend_role role, char *err,
                        size_t errlen)
{
	size_t slot = atomic_load(&t->count);
	if (slot >= BACKENDS_MAX) {
		snprintf(err, errlen, "more than %d backends", BACKENDS_MAX);
		return false;
	}
	struct backend *b = &t->items[slot];
	b->index = (int)slot;
	b->role = role;
	b->cfg_routing = routing;
	snprintf(b->host, sizeof(b->host), "%s", c->address.host);
	b->port = c->address.port;
	atomic_init(&b->weight, c->weight);
	atomic_init(&b->retired, false);
	snprintf(b->name, sizeof(b->name), "%s", c->name);
	snprintf(b->address, sizeof(b->address), "%s:%u", c->address.host, c->address.port);
	atomic_init(&b->health, HEALTH_UNKNOWN);
	atomic_init(&b->lag_ms, BACKEND_LAG_UNKNOWN);
	atomic_init(&b->read_only, -1);
	pthread_mutex_init(&b->gtid_lock, NULL);
	if (!resolve(b, &c->address, err, errlen))
		return false;
	atomic_store_explicit(&t->count, slot + 1, memory_order_release);
	return true;
}

bool backends_init(struct backend_table *t, const struct config *cfg, char *err, size_t errlen)
{
	atomic_init(&t->count, 0);
	t->items = calloc(BACKENDS_MAX, sizeof(*t->items));
	if (!t->items) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if (!add_backend(t, &cfg->primary, &cfg->routing, BACKEND_PRIMARY, err, errlen))
		return false;
	for (size_t i = 0; i < cfg->n_replicas; i++)
		if (!add_backend(t, &cfg->replicas[i], &cfg->routing, BACKEND_REPLICA, err, errlen))
			return false;
	return true;
}

bool backend_breaker_open(struct backend *b, uint64_t now_ms)
{
	uint64_t until = atomic_load(&b->breaker_until_ms);
	return until != 0 && now_ms < until;
}

bool backend_may_connect(struct backend *b, uint64_t now_ms)
{
	uint64_t until = atomic_load(&b->breaker_until_ms);
	if (until == 0)
		return true;
	if (now_ms < until)
		return false;
	bool expected = false;
	return atomic_compare_exchange_strong(&b->breaker_probing, &expected, true);
}

void backend_connect_result(struct backend *b, bool ok, uint64_t now_ms)
{
	if (ok) {
		atomic_store(&b->connect_failures, 0);
		atomic_store(&b->breaker_until_ms, 0);
		atomic_store(&b->breaker_probing, false);
		return;
	}
	int failures = atomic_fetch_add(&b->connect_failures, 1) + 1;
	bool probe_failed = atomic_exchange(&b->breaker_probing, false);
	if (probe_failed || failures >= b->cfg_routing->breaker_failures) {
		uint64_t until = now_ms + (uint64_t)b->cfg_routing->breaker_cooldown_ms;
		if (atomic_exchange(&b->breaker_until_ms, until) == 0)
			log_warn(
			    "backend %s (%s): circuit breaker open after %d failed connections",
			    b->name, b->address, failures);
	}
}

void backend_set_gtid(struct backend *b, const char *gtid)
{
	pthread_mutex_lock(&b->gtid_lock);
	snprintf(b->gtid, sizeof(b->gtid), "%s", gtid);
	pthread_mutex_unlock(&b->gtid_lock);
}

void backend_get_gtid(struct backend *b, char *out, size_t len)
{
	pthread_mutex_lock(&b->gtid_lock);
	snprintf(out, len, "%s", b->gtid);
	pthread_mutex_unlock(&b->gtid_lock);
}

void backends_free(struct backend_table *t)
{
	for (size_t i = 0; i < backends_count(t); i++)
		pthread_mutex_destroy(&t->items[i].gtid_lock);
	free(t->items);
	t->items = NULL;
	atomic_store(&t->count, 0);
}

static struct backend *find_replica(struct backend_table *t, const struct cfg_backend *c)
{
	for (size_t i = 1; i < backends_count(t); i++) {
		struct backend *b = &t->items[i];
		if (!atomic_load(&b->retired) && strcmp(b->name, c->name) == 0 &&
		    strcmp(b->host, c->address.host) == 0 && b->port == c->address.port)
			return b;
	}
	return NULL;
}

static bool still_configured(const struct backend *b, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_replicas; i++) {
		const struct cfg_backend *c = &cfg->replicas[i];
		if (strcmp(b->name, c->name) == 0 && strcmp(b->host, c->address.host) == 0 &&
		    b->port == c->address.port)
			return true;
	}
	return false;
}

int backends_reload(struct backend_table *t, const struct config *cfg)
{
	int changes = 0;
	char err[256];
	for (size_t i = 1; i < backends_count(t); i++) {
		struct backend *b = &t->items[i];
		if (!atomic_load(&b->retired) && !still_configured(b, cfg)) {
			atomic_store(&b->retired, true);
			log_info("reload: replica %s (%s) removed", b->name, b->address);
			changes++;
		}
	}
	for (size_t i = 0; i < cfg->n_replicas; i++) {
		const struct cfg_backend *c = &cfg->replicas[i];
		struct backend *b = find_replica(t, c);
		if (b) {
			if (atomic_exchange(&b->weight, c->weight) != c->weight) {
				log_info("reload: replica %s weight %d", b->name, c->weight);
				changes++;
			}
		} else if (add_backend(t, c, &cfg->routing, BACKEND_REPLICA, err, sizeof(err))) {
			log_info("reload: replica %s (%s:%u) added", c->name, c->address.host,
			         c->address.port);
			changes++;
		} else {
			log_error("reload: replica %s not added: %s", c->name, err);
		}
	}
	return changes;
}
