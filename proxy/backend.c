/*
 * backend.c - the configured backends and their shared health (see backend.h).
 */
#include "backend.h"

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
                        enum backend_role role, char *err, size_t errlen)
{
	struct backend *b = &t->items[t->count];
	b->index = (int)t->count;
	b->role = role;
	b->cfg = c;
	snprintf(b->name, sizeof(b->name), "%s", c->name);
	snprintf(b->address, sizeof(b->address), "%s:%u", c->address.host, c->address.port);
	atomic_init(&b->health, HEALTH_UNKNOWN);
	atomic_init(&b->lag_ms, BACKEND_LAG_UNKNOWN);
	if (!resolve(b, &c->address, err, errlen))
		return false;
	t->count++;
	return true;
}

bool backends_init(struct backend_table *t, const struct config *cfg, char *err, size_t errlen)
{
	t->count = 0;
	t->items = calloc(1 + cfg->n_replicas, sizeof(*t->items));
	if (!t->items) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if (!add_backend(t, &cfg->primary, BACKEND_PRIMARY, err, errlen))
		return false;
	for (size_t i = 0; i < cfg->n_replicas; i++)
		if (!add_backend(t, &cfg->replicas[i], BACKEND_REPLICA, err, errlen))
			return false;
	return true;
}

void backends_free(struct backend_table *t)
{
	free(t->items);
	t->items = NULL;
	t->count = 0;
}
