/*
 * worker.h - one thread with its own event loop, sessions, backend pool and counters.
 *
 * A worker accepts client connections from the shared listening socket and runs every session
 * it accepted, and every backend connection those sessions use, on its own event_base: nothing
 * on the query path crosses threads. The main thread talks to a worker only through
 * worker_drain() / worker_stop(), which wake its loop.
 */
#pragma once

#include "counters.h"
#include "pool.h"

#include <event2/event_struct.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct proxy;
struct session;
struct server;
struct evconnlistener;

/* The main thread's requests, in increasing order of urgency. */
enum worker_command { WORKER_RUN, WORKER_HANDOVER, WORKER_DRAIN, WORKER_STOP };

struct worker {
	int id;
	struct proxy *proxy;
	struct event_base *base;
	struct evconnlistener *listener;
	struct event wakeup;        /* main -> worker: look at `command` */
	struct event janitor;       /* periodic: idle pool pruning */
	struct event reaper;        /* frees closed sessions and servers once the loop unwinds */
	_Atomic int command;        /* enum worker_command */
	_Atomic bool finished;      /* its loop has returned: the main thread may join */
	unsigned config_generation; /* of the replica weights its balancer holds */
	bool draining;
	bool handed_over; /* a restart took the listening socket: accept no more, keep sessions */
	struct pool pool;
	struct balancer *balancer; /* this worker's replica choice (round-robin cursors etc.) */
	int *replica_sessions;     /* per backend index: sessions holding it, for least-conn */
	struct session *sessions;  /* open sessions, for draining */
	struct session *dead_sessions;
	struct server *dead_servers;
	struct worker_counters counters;
	struct pinner *pinner;      /* pin marks: this worker's Redis connection */
	struct cache_worker *cache; /* its result-cache tier and feed; NULL when the cache is off */
	struct schema *schema;      /* its reference to the current key snapshot */
	unsigned schema_generation;
	pthread_t thread;
};

bool worker_init(struct worker *w, struct proxy *p, int id) __attribute__((warn_unused_result));
bool worker_start(struct worker *w) __attribute__((warn_unused_result));
/* From the main thread: stop accepting, close idle sessions, let running statements finish. */
void worker_drain(struct worker *w);
/* From the main thread, after a graceful restart: stop accepting, but keep serving the sessions
 * until their clients leave; the loop ends when the last one has. */
void worker_handover(struct worker *w);
/* From the main thread: a reload happened; pick up new replicas and weights. */
void worker_reload(struct worker *w);
/* From the main thread: close everything now. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

/* The worker's primary-key snapshot (NULL before the first load), refreshed when the monitor
 * published a new one. */
const struct schema *worker_schema(struct worker *w);

/* Called by sessions and servers: queue for freeing after the current callback returns. */
void worker_bury_session(struct worker *w, struct session *s);
void worker_bury_server(struct worker *w, struct server *srv);
/* Called when a session closes, so a draining worker can finish. */
void worker_session_gone(struct worker *w);
