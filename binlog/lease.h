/*
 * lease.h - leadership among several tailers: a Redis lease with a fencing token.
 *
 * Only one tailer publishes. It holds P:binlog:leader = its id (SET NX PX lease_ms), renews it
 * every lease_ms / 3 with a compare-and-renew script, and took a fencing token (INCR
 * P:binlog:epoch) when it became leader; the token goes into every stream entry, so a consumer
 * can tell a deposed leader's late entries. The others are standbys: they try to take the lease
 * every lease_ms / 4, so one takes over within 1.25 x lease_ms of the leader's last renewal.
 *
 * The lease lives in a thread of its own with its own Redis connection: the main loop blocks in
 * Connector/C (connecting, the primary looking up a GTID in its binlogs, a large transaction),
 * and renewal must not wait for it. The main loop only reads the outcome (atomics): a leader
 * trusts its lease until lease_ms after it last sent a successful SET or renewal (measured before
 * sending, so on the safe side of Redis's own expiry); past that, or as soon as a renewal finds
 * another id, it is a standby and the main loop stops streaming. Publishing is also fenced in
 * Redis (publish.c checks the leader key atomically with the XADD).
 */
#pragma once

#include "rlink.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LEASE_ID_MAX  128
#define LEASE_KEY_MAX 256

enum lease_role { LEASE_STANDBY, LEASE_LEADER };

struct lease {
	/* fixed at lease_init */
	char id[LEASE_ID_MAX]; /* host:pid:random[+cache], unique per process */
	char key[LEASE_KEY_MAX];
	char epoch_key[LEASE_KEY_MAX];
	int lease_ms;
	/* the thread's; read by the main loop */
	atomic_int role;                 /* enum lease_role */
	atomic_int_fast64_t valid_until; /* monotonic ms: leadership trusted until then */
	atomic_uint_fast64_t fence;      /* token of the current leadership (0 before the first) */
	atomic_uint_fast64_t acquisitions; /* times this process became leader */
	atomic_bool redis_up;
	/* the thread's own */
	struct rlink redis;
	pthread_t thread;
	atomic_bool stop;
	bool started;
};

/* cache: this tailer invalidates the result cache, and its id says so (RESULTS_TAILER_CACHE). */
void lease_init(struct lease *l, const char *prefix, int lease_ms, const struct cfg_addr *redis,
                bool cache);
/* Starts the thread that acquires and renews; false if it cannot be started. */
bool lease_start(struct lease *l) __attribute__((warn_unused_result));
/* Stops the thread and gives up the lease (deletes the key if it is still ours, so a standby
 * takes over at once). */
void lease_stop(struct lease *l);
/* Leader with a lease still valid now. */
bool lease_held(struct lease *l);
/* The main loop learnt that the lease is not ours (a fenced publish): standby now. */
void lease_lost(struct lease *l);
