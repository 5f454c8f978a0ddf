/*
 * counters.h - the statistics each worker keeps, as one X-macro list.
 *
 * Each worker owns one struct worker_counters and is its only writer; the stats endpoint sums
 * them from another thread. Single-writer counters are bumped with a relaxed load and store
 * (no locked instruction on the query path); readers use relaxed loads. The list also names
 * each counter's place in /stats, so the JSON and the struct cannot disagree.
 */
#pragma once

#include "router.h"

#include <stdatomic.h>
#include <stdint.h>

/* X(field, group, key, help) -> /stats: { "group": { "key": value } } */
#define WORKER_COUNTERS(X)                                                                         \
	X(connections_total, "connections", "total", "Client connections accepted")                \
	X(connections_rejected, "connections", "rejected",                                         \
	  "Client connections refused (max_connections, failed login, shutdown)")                  \
	X(queries_total, "queries", "total", "Statements (COM_QUERY, COM_STMT_EXECUTE) received")  \
	X(queries_primary, "queries", "primary", "Statements sent to the primary")                 \
	X(queries_replica, "queries", "replica", "Statements sent to a replica")                   \
	X(queries_fallback, "queries", "fallback",                                                 \
	  "Reads sent to the primary because no replica was usable")                               \
	X(queries_retried, "queries", "retried",                                                   \
	  "Reads re-sent elsewhere after their replica failed before answering")                   \
	X(queries_errors, "queries", "errors",                                                     \
	  "Statements answered with an error (by a backend or by the proxy)")                      \
	X(backend_connects, "pool", "connects", "Backend connections opened")                      \
	X(backend_connect_errors, "pool", "connect_errors", "Backend connections that failed")     \
	X(backend_reuses, "pool", "reuses", "Sessions served by a pooled backend connection")

struct worker_counters {
#define COUNTER_FIELD(field, group, key, help) _Atomic uint64_t field;
	WORKER_COUNTERS(COUNTER_FIELD)
#undef COUNTER_FIELD
	_Atomic int64_t connections_current;
	_Atomic int64_t pool_idle;
	_Atomic uint64_t routes[ROUTE_REASON_COUNT];
	_Atomic uint64_t *backend_queries; /* one per backend, by backend index */
};

static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static inline void counter_inc(_Atomic uint64_t *c)
{
	counter_add(c, 1);
}

static inline void gauge_add(_Atomic int64_t *g, int64_t n)
{
	atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static inline uint64_t counter_read(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}
