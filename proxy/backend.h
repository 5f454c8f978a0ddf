/*
 * backend.h - the configured backends (primary and replicas) and their shared health.
 *
 * Owns the table built from the config: each backend's name, role, resolved address, and the
 * health the monitor publishes (state, lag). Workers read health; only the monitor writes it,
 * through atomics, so no lock is shared on the query path.
 */
#pragma once

#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum backend_role { BACKEND_PRIMARY, BACKEND_REPLICA };

#define BACKEND_HEALTH_LIST(X)                                                                     \
	X(HEALTH_UNKNOWN, "unknown")                                                               \
	X(HEALTH_UP, "up")                                                                         \
	X(HEALTH_DOWN, "down")                                                                     \
	X(HEALTH_LAGGING, "lagging")

#define BACKEND_HEALTH_ENUM(id, name) id,
enum backend_health { BACKEND_HEALTH_LIST(BACKEND_HEALTH_ENUM) };
#undef BACKEND_HEALTH_ENUM

#define BACKEND_LAG_UNKNOWN INT64_MIN

/* The table never moves or shrinks, so a backend's address is stable for the process's life:
 * reloads append replicas and retire removed ones. */
#define BACKENDS_MAX 64

struct backend {
	int index;
	enum backend_role role;
	char name[CFG_NAME_MAX];
	char address[CFG_HOST_MAX + 16]; /* as configured, for logs and /stats */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[CFG_HOST_MAX]; /* as configured: what the monitor connects to */
	uint16_t port;
	const struct cfg_routing *cfg_routing; /* breaker thresholds, from the first config */
	_Atomic int weight;                    /* [replica.NAME] weight, updated by SIGHUP */
	_Atomic bool retired;   /* removed from the config by SIGHUP: never chosen again */
	_Atomic int health;     /* enum backend_health, written by the monitor */
	_Atomic int64_t lag_ms; /* BACKEND_LAG_UNKNOWN until measured */
	_Atomic int read_only;  /* @@read_only as last seen, -1 unknown */
	/* circuit breaker, shared by every worker's connection attempts */
	_Atomic int connect_failures;      /* in a row */
	_Atomic uint64_t breaker_until_ms; /* 0: closed; else open until then (monotonic) */
	_Atomic bool breaker_probing;      /* half-open: one attempt is on its way */
	pthread_mutex_t gtid_lock;
	char gtid[256]; /* gtid_binlog_pos (primary) or gtid_slave_pos (replica), as last seen */
};

struct backend_table {
	struct backend *items; /* BACKENDS_MAX slots; [0] is the primary, then replicas */
	_Atomic size_t count;  /* slots in use; grows on reload, published after the slot is set */
};

/* Resolves every configured address. On failure writes why into err and returns false. */
bool backends_init(struct backend_table *t, const struct config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void backends_free(struct backend_table *t);
/* Applies a reloaded config's replica list: new weights, new replicas appended, removed ones
 * retired. Returns the number of changes; writes a message per change to the log. */
int backends_reload(struct backend_table *t, const struct config *cfg);
static inline size_t backends_count(struct backend_table *t)
{
	return atomic_load_explicit(&t->count, memory_order_acquire);
}

static inline struct backend *backends_primary(struct backend_table *t)
{
	return &t->items[0];
}

const char *backend_health_str(int health);
void backend_set_gtid(struct backend *b, const char *gtid);
void backend_get_gtid(struct backend *b, char *out, size_t len);
/* May a new connection to b be tried now? Half-open breakers let exactly one through. */
bool backend_may_connect(struct backend *b, uint64_t now_ms);
/* Reports how a connection attempt ended; enough failures in a row open the breaker. */
void backend_connect_result(struct backend *b, bool ok, uint64_t now_ms);
bool backend_breaker_open(struct backend *b, uint64_t now_ms);
const char *backend_role_str(enum backend_role role);
