/*
 * proxy.c - the process-wide context (see proxy.h): identity and the listening socket.
 */
#include "proxy.h"

#include "log.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Until the monitor has seen the primary, greet like a MariaDB of the supported series. */
#define FALLBACK_VERSION "5.5.5-10.11.0-MariaDB"
#define FALLBACK_CHARSET 8 /* latin1_swedish_ci, MariaDB's default */

void proxy_identity_init(struct proxy *p)
{
	pthread_mutex_init(&p->identity.lock, NULL);
	snprintf(p->identity.version, sizeof(p->identity.version), "%s", FALLBACK_VERSION);
	p->identity.charset = FALLBACK_CHARSET;
}

void proxy_identity_get(struct proxy *p, char *version, size_t len, uint8_t *charset)
{
	pthread_mutex_lock(&p->identity.lock);
	snprintf(version, len, "%s", p->identity.version);
	*charset = p->identity.charset;
	pthread_mutex_unlock(&p->identity.lock);
}

void proxy_identity_learn(struct proxy *p, const char *version, uint8_t charset)
{
	pthread_mutex_lock(&p->identity.lock);
	snprintf(p->identity.version, sizeof(p->identity.version), "%s", version);
	if (charset)
		p->identity.charset = charset;
	pthread_mutex_unlock(&p->identity.lock);
}

int proxy_listen(const struct cfg_addr *a, char *err, size_t errlen)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", a->port);
	int rc = getaddrinfo(a->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", a->host, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		snprintf(err, errlen, "cannot listen on %s:%u: %s", a->host, a->port,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static bool same_addr(const struct cfg_addr *a, const struct cfg_addr *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port;
}

/* Settings bound at start: a reload cannot change them, so say so instead of ignoring them. */
static void warn_about_restart_keys(const struct config *old, const struct config *cfg)
{
	if (!same_addr(&old->proxy.listen, &cfg->proxy.listen) ||
	    !same_addr(&old->stats.listen, &cfg->stats.listen) ||
	    old->proxy.threads != cfg->proxy.threads)
		log_warn("reload: [proxy] listen, threads and [stats] listen need a restart");
	if (!same_addr(&old->primary.address, &cfg->primary.address))
		log_warn("reload: [primary] address needs a restart");
	if (old->routing.balance != cfg->routing.balance)
		log_warn("reload: [routing] balance needs a restart");
}

bool proxy_reload(struct proxy *p, const char *path)
{
	char err[8192];
	struct config *cfg = config_load(path, err, sizeof(err));
	if (!cfg) {
		log_error("reload: %s is invalid, keeping the running configuration:\n%s", path,
		          err);
		return false;
	}
	struct retired_config *keep = malloc(sizeof(*keep));
	if (!keep) {
		log_error("reload: out of memory");
		config_free(cfg);
		return false;
	}
	const struct config *old = proxy_config(p);
	warn_about_restart_keys(old, cfg);
	keep->cfg = (struct config *)old;
	keep->next = p->retired_configs;
	p->retired_configs = keep;
	atomic_store_explicit(&p->cfg, cfg, memory_order_release);
	int changes = backends_reload(&p->backends, cfg);
	if (!limits_configure(&p->limits, cfg))
		log_warn("reload: per-user limits only partly applied");
	schema_mark_stale(&p->schema);
	atomic_fetch_add(&p->config_generation, 1);
	log_info("reload: %s applied (%zu users, %zu replicas, %d backend changes)", path,
	         cfg->n_users, cfg->n_replicas, changes);
	return true;
}

void proxy_free_configs(struct proxy *p)
{
	while (p->retired_configs) {
		struct retired_config *r = p->retired_configs;
		p->retired_configs = r->next;
		config_free(r->cfg);
		free(r);
	}
}
