/*
 * proxy.h - the process-wide context every worker shares.
 *
 * Owns what outlives a worker: the config, the backend table, the admission counter behind
 * max_connections, the identity the proxy shows in its greeting, and the workers themselves.
 * Everything here is either immutable after start, atomic, or guarded by its own mutex.
 */
#pragma once

#include "backend.h"
#include "config.h"
#include "schema.h"
#include "user_limits.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct worker;

/* What the greeting tells clients: copied from the primary's own greeting when known. */
struct server_identity {
	pthread_mutex_t lock;
	char version[64];
	uint8_t charset;
};

/* A config replaced by SIGHUP stays allocated until exit: sessions still point at its users. */
struct retired_config {
	struct config *cfg;
	struct retired_config *next;
};

struct proxy {
	_Atomic(const struct config *) cfg; /* the live config: read it with proxy_config() */
	struct retired_config *retired_configs;
	_Atomic unsigned config_generation; /* bumped by each reload; workers compare */
	struct backend_table backends;
	struct schema_store schema; /* primary keys, loaded by the monitor */
	struct worker *workers;
	int n_workers;
	int listen_fd;
	time_t started;
	_Atomic int64_t connections; /* client sessions open, across workers */
	_Atomic uint32_t next_session_id;
	struct server_identity identity;
	struct limits limits; /* per-user limits, by user name (user_limits.c) */
};

static inline const struct config *proxy_config(struct proxy *p)
{
	return atomic_load_explicit(&p->cfg, memory_order_acquire);
}

/* SIGHUP: loads path again and applies what can change live (replicas, weights, users, monitor
 * thresholds). On a bad file logs why and keeps the running config. True when applied. */
bool proxy_reload(struct proxy *p, const char *path);
void proxy_free_configs(struct proxy *p);

void proxy_identity_get(struct proxy *p, char *version, size_t len, uint8_t *charset);
void proxy_identity_learn(struct proxy *p, const char *version, uint8_t charset);
void proxy_identity_init(struct proxy *p);
/* Opens the non-blocking listening socket every worker accepts from; -1 and err on failure. */
int proxy_listen(const struct cfg_addr *a, char *err, size_t errlen);
