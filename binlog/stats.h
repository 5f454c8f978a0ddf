/*
 * stats.h - the tailer's counters and its HTTP endpoint ([binlog] stats_listen).
 *
 * The main loop writes the counters (single writer, relaxed atomics; the current GTID under a
 * mutex); a thread of its own serves GET /health ("ok") and GET /stats (JSON) with libevent's
 * evhttp, reading them. docs/binlog.md shows the JSON.
 */
#pragma once

#include "config.h"
#include "position.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* X(field, help): the monotonic counters, in /stats order. */
#define BLSTATS_COUNTERS(X)                                                                        \
	X(events, "binlog events read")                                                            \
	X(rows, "row images decoded")                                                              \
	X(rows_undecoded, "rows events not matching their table map (table-wide instead)")         \
	X(transactions, "transactions published (stream entries)")                                 \
	X(transactions_empty, "groups that changed no data (checkpoint only)")                     \
	X(keys, "row keys published")                                                              \
	X(tables, "table-wide invalidations published")                                            \
	X(everything, "invalidate-everything entries published")                                   \
	X(cache_invalidations, "transactions that invalidated the result cache ([cache] enabled)") \
	X(publish_failures, "publish attempts Redis refused or lost (retried)")                    \
	X(fenced, "publishes refused because the lease was lost")                                  \
	X(primary_connects, "binlog dumps opened")                                                 \
	X(primary_failures, "primary connection failures")                                         \
	X(redis_connects, "Redis connections made by the publisher")                               \
	X(leaderships, "times this tailer became the leader")

/* Publish latency buckets: upper bounds in microseconds (the last is +inf). */
#define BLSTATS_LATENCY_BOUNDS_US                                                                  \
	{                                                                                          \
		250, 500, 1000, 2000, 5000, 10000, 50000, 250000, 1000000                          \
	}
#define BLSTATS_LATENCY_BUCKETS 10

struct blstats {
#define BLSTATS_FIELD(name, help) atomic_uint_fast64_t name;
	BLSTATS_COUNTERS(BLSTATS_FIELD)
#undef BLSTATS_FIELD
	atomic_uint_fast64_t latency[BLSTATS_LATENCY_BUCKETS];
	atomic_int_fast64_t lag_ms; /* -1: unknown */
	atomic_int_fast64_t last_commit_ts;
	atomic_uint_fast64_t fence;
	atomic_bool leader;
	atomic_bool primary_up;
	atomic_bool redis_up;
	int64_t started; /* wall seconds */
	pthread_mutex_t lock;
	char position[POSITION_TEXT_MAX]; /* under lock */
};

void blstats_init(struct blstats *s);
void blstats_destroy(struct blstats *s);
static inline void blstats_add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}
void blstats_observe_latency(struct blstats *s, int64_t us);
void blstats_set_position(struct blstats *s, const char *position);

struct blstats_server;
/* Starts the HTTP thread on addr; NULL (logged) if it cannot listen. */
struct blstats_server *blstats_start(struct blstats *s, const struct cfg_addr *addr);
void blstats_stop(struct blstats_server *srv);
