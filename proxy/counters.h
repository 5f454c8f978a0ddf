/*
 * counters.h - the statistics each worker keeps, as X-macro lists.
 *
 * Each worker owns one struct worker_counters and is its only writer; the stats endpoint sums
 * them from another thread. Single-writer counters are bumped with a relaxed load and store
 * (no locked instruction on the query path); readers use relaxed loads. The lists also name
 * each counter's place in /stats and in /metrics, so the JSON, the Prometheus text and the
 * struct cannot disagree: a line added to WORKER_COUNTERS or WORKER_GAUGES shows up in both
 * endpoints with nothing else to edit.
 */
#pragma once

#include "backend.h"
#include "router.h"

#include <stdatomic.h>
#include <stdint.h>

/*
 * X(field, group, key, metric, labels, help)
 *   /stats:   { "group": { "key": value } }
 *   /metrics: sluice_<metric>{<labels>} value, with help as the family's # HELP.
 * Lines sharing a metric (told apart by labels) must be adjacent: a family is written as one
 * block, and the first line's help describes it.
 */
#define WORKER_COUNTERS(X)                                                                         \
	X(connections_total, "connections", "total", "connections_total", "",                      \
	  "Client connections accepted")                                                           \
	X(connections_rejected, "connections", "rejected", "connections_rejected_total", "",       \
	  "Client connections refused (max_connections, failed login, shutdown)")                  \
	X(queries_total, "queries", "total", "queries_received_total", "",                         \
	  "Statements (COM_QUERY, COM_STMT_EXECUTE) received")                                     \
	X(queries_primary, "queries", "primary", "queries_total", "route=\"primary\"",             \
	  "Statements sent to a backend, by the backend's role")                                   \
	X(queries_replica, "queries", "replica", "queries_total", "route=\"replica\"",             \
	  "Statements sent to a replica")                                                          \
	X(queries_fallback, "queries", "fallback", "queries_fallback_total", "",                   \
	  "Reads sent to the primary because no replica was usable")                               \
	X(queries_retried, "queries", "retried", "queries_retried_total", "",                      \
	  "Reads re-sent elsewhere after their replica failed before answering")                   \
	X(queries_errors, "queries", "errors", "queries_errors_total", "",                         \
	  "Statements answered with an error (by a backend or by the proxy)")                      \
	X(queries_pinned, "queries", "pinned", "queries_pinned_total", "",                         \
	  "Reads sent to the primary because they read something written within the window")       \
	X(pin_lookups, "pinning", "lookups", "pin_lookups_total", "",                              \
	  "Reads that asked Redis for pin marks before going to a replica")                        \
	X(pin_marks, "pinning", "marks", "pin_mark_requests_total", "",                            \
	  "Requests that set pin marks in Redis (before a write, or after its OK)")                \
	X(pin_safe_reads, "pinning", "safe_reads", "pin_safe_reads_total", "",                     \
	  "Reads sent to the primary because Redis was down, slow or recently back (safe mode)")   \
	X(pin_errors, "pinning", "errors", "pin_errors_total", "",                                 \
	  "Pin lookups or marks that Redis failed, refused or did not answer in time")             \
	X(cache_hits, "cache", "hits", "cache_hits_total", "",                                     \
	  "Reads answered from the cache (either tier)")                                           \
	X(cache_local_hits, "cache", "local_hits", "cache_local_hits_total", "",                   \
	  "Reads answered from a worker's in-process tier, with no Redis round trip")              \
	X(cache_misses, "cache", "misses", "cache_misses_total", "",                               \
	  "Cacheable reads that found no valid entry and went to a backend")                       \
	X(cache_fills, "cache", "fills", "cache_fills_total", "",                                  \
	  "Entries stored in Redis from a miss's reply")                                           \
	X(cache_stale_fills_rejected, "cache", "stale_fills_rejected",                             \
	  "cache_stale_fills_rejected_total", "",                                                  \
	  "Fills refused because an invalidation or a write passed while their read ran")          \
	X(cache_fills_skipped, "cache", "fills_skipped", "cache_fills_skipped_total", "",          \
	  "Replies not stored: too big, with warnings, or from a replica behind the last "         \
	  "invalidation")                                                                          \
	X(cache_refreshes, "cache", "refreshes", "cache_refreshes_total", "",                      \
	  "Hot entries re-read from the primary and filled again after an invalidation")           \
	X(cache_waits, "cache", "waits", "cache_waits_total", "",                                  \
	  "Misses that waited for another session's fill of the same entry")                       \
	X(cache_invalidations, "cache", "invalidations", "cache_invalidations_total", "",          \
	  "Invalidation messages the in-process tiers applied")                                    \
	X(backend_connects, "pool", "connects", "pool_connects_total", "",                         \
	  "Backend connections opened")                                                            \
	X(backend_connect_errors, "pool", "connect_errors", "pool_connect_errors_total", "",       \
	  "Backend connections that failed")                                                       \
	X(backend_reuses, "pool", "reuses", "pool_reuses_total", "",                               \
	  "Sessions served by a pooled backend connection")                                        \
	X(limits_rejected, "limits", "rejected", "limits_rejected_total", "",                      \
	  "Logins over their user's max_connections and statements over its max_qps, refused")     \
	X(limits_waits, "limits", "waits", "limits_waits_total", "",                               \
	  "Statements that waited for their user's max_qps token")

/* The same columns, for values that go up and down. */
#define WORKER_GAUGES(X)                                                                           \
	X(connections_current, "connections", "current", "connections_current", "",                \
	  "Client connections open now")                                                           \
	X(pool_idle, "pool", "idle", "pool_idle_connections", "",                                  \
	  "Backend connections parked in the pools")                                               \
	X(pin_redis_up, "pinning", "redis_up_workers", "pin_redis_up_workers", "",                 \
	  "Workers whose connection to the pinning Redis is up")                                   \
	X(cache_feed_up, "cache", "feed_up_workers", "cache_feed_up_workers", "",                  \
	  "Workers subscribed to the invalidation channel (their in-process tier is in use)")      \
	X(cache_tailer_seen, "cache", "tailer_seen_workers", "cache_tailer_seen_workers", "",      \
	  "Workers that see a sluice-binlog leading and caught up (else the cache is bypassed)")   \
	X(cache_bytes, "cache", "bytes", "cache_local_bytes", "",                                  \
	  "Bytes held by the in-process tiers")                                                    \
	X(cache_entries, "cache", "entries", "cache_local_entries", "",                            \
	  "Entries held by the in-process tiers")

/* Upper bounds of the query latency buckets, in microseconds (Prometheus `le`, inclusive);
 * one more bucket, +Inf, takes the rest. */
#define LATENCY_BOUNDS_US(X)                                                                       \
	X(100)                                                                                     \
	X(250)                                                                                     \
	X(500)                                                                                     \
	X(1000)                                                                                    \
	X(2500)                                                                                    \
	X(5000)                                                                                    \
	X(10000)                                                                                   \
	X(25000)                                                                                   \
	X(50000)                                                                                   \
	X(100000)                                                                                  \
	X(250000)                                                                                  \
	X(500000)                                                                                  \
	X(1000000)                                                                                 \
	X(2500000)                                                                                 \
	X(5000000)                                                                                 \
	X(10000000)

#define LATENCY_COUNT_BOUND(us) +1
enum { LATENCY_BUCKETS = 0 LATENCY_BOUNDS_US(LATENCY_COUNT_BOUND) };
#undef LATENCY_COUNT_BOUND

/* Per bucket counts (not cumulative: readers add them up), [LATENCY_BUCKETS] is +Inf. */
struct latency_histogram {
	_Atomic uint64_t buckets[LATENCY_BUCKETS + 1];
	_Atomic uint64_t sum_us;
};

struct worker_counters {
#define COUNTER_FIELD(field, group, key, metric, labels, help) _Atomic uint64_t field;
	WORKER_COUNTERS(COUNTER_FIELD)
#undef COUNTER_FIELD
#define GAUGE_FIELD(field, group, key, metric, labels, help) _Atomic int64_t field;
	WORKER_GAUGES(GAUGE_FIELD)
#undef GAUGE_FIELD
	_Atomic uint64_t routes[ROUTE_REASON_COUNT];
	/* Both by backend index, BACKENDS_MAX long; allocated and freed by worker.c. */
	_Atomic uint64_t *backend_queries;
	struct latency_histogram *backend_latency;
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

static inline int64_t gauge_read(_Atomic int64_t *g)
{
	return atomic_load_explicit(g, memory_order_relaxed);
}

static inline uint64_t latency_bound_us(int bucket)
{
#define LATENCY_BOUND_ITEM(us) us,
	static const uint64_t bounds[LATENCY_BUCKETS] = {LATENCY_BOUNDS_US(LATENCY_BOUND_ITEM)};
#undef LATENCY_BOUND_ITEM
	return bounds[bucket];
}

/* Records one statement's time from sending it to the end of its reply, on the backend that
 * answered. Called by the worker that owns c, like every other counter. */
static inline void counters_observe_latency(struct worker_counters *c, int backend_index,
                                            uint64_t usec)
{
	struct latency_histogram *h = &c->backend_latency[backend_index];
	int bucket = 0;
	while (bucket < LATENCY_BUCKETS && usec > latency_bound_us(bucket))
		bucket++;
	counter_inc(&h->buckets[bucket]);
	counter_add(&h->sum_us, usec);
}

/* Every worker's counters added up: what both endpoints report. Plain numbers, a snapshot. */
struct counters_sum {
#define SUM_FIELD(field, group, key, metric, labels, help) uint64_t field;
	WORKER_COUNTERS(SUM_FIELD)
#undef SUM_FIELD
#define SUM_GAUGE(field, group, key, metric, labels, help) int64_t field;
	WORKER_GAUGES(SUM_GAUGE)
#undef SUM_GAUGE
	uint64_t routes[ROUTE_REASON_COUNT];
	uint64_t backend_queries[BACKENDS_MAX];
	struct {
		uint64_t buckets[LATENCY_BUCKETS + 1];
		uint64_t sum_us;
	} backend_latency[BACKENDS_MAX];
};

/* Adds one worker's counters to sum (which starts zeroed). */
static inline void counters_accumulate(struct counters_sum *sum, struct worker_counters *c)
{
#define ADD_COUNTER(field, group, key, metric, labels, help) sum->field += counter_read(&c->field);
	WORKER_COUNTERS(ADD_COUNTER)
#undef ADD_COUNTER
#define ADD_GAUGE(field, group, key, metric, labels, help) sum->field += gauge_read(&c->field);
	WORKER_GAUGES(ADD_GAUGE)
#undef ADD_GAUGE
	for (int r = 0; r < ROUTE_REASON_COUNT; r++)
		sum->routes[r] += counter_read(&c->routes[r]);
	for (int b = 0; b < BACKENDS_MAX; b++) {
		sum->backend_queries[b] += counter_read(&c->backend_queries[b]);
		for (int i = 0; i <= LATENCY_BUCKETS; i++)
			sum->backend_latency[b].buckets[i] +=
			    counter_read(&c->backend_latency[b].buckets[i]);
		sum->backend_latency[b].sum_us += counter_read(&c->backend_latency[b].sum_us);
	}
}
