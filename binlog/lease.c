/*
 * lease.c - the leader lease and its thread (see lease.h).
 */
#include "lease.h"

#include "results.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REDIS_TIMEOUT_MS 1000
#define SLEEP_SLICE_MS   10

/* KEYS[1] = leader key; ARGV[1] = id, ARGV[2] = lease ms. 1 if renewed, 0 if not ours. */
static const char renew_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
                                "end\n"
                                "return 0\n";
/* KEYS[1] = leader key; ARGV[1] = id. Deletes the key only if it is ours. */
static const char release_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                  "  return redis.call('DEL', KEYS[1])\n"
                                  "end\n"
                                  "return 0\n";

void lease_init(struct lease *l, const char *prefix, int lease_ms, const struct cfg_addr *redis,
                bool cache)
{
	memset(l, 0, sizeof(*l));
	l->lease_ms = lease_ms;
	snprintf(l->key, sizeof(l->key), "%s:binlog:leader", prefix);
	snprintf(l->epoch_key, sizeof(l->epoch_key), "%s:binlog:epoch", prefix);
	char host[64] = "host";
	gethostname(host, sizeof(host) - 1);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	srandom((unsigned)(ts.tv_nsec ^ getpid()));
	snprintf(l->id, sizeof(l->id), "%s:%d:%08lx%s", host, (int)getpid(), (long)random(),
	         cache ? RESULTS_TAILER_CACHE : "");
	rlink_init(&l->redis, redis, REDIS_TIMEOUT_MS);
	atomic_store(&l->role, LEASE_STANDBY);
}

static void step_down(struct lease *l, const char *why)
{
	if (atomic_exchange(&l->role, LEASE_STANDBY) == LEASE_LEADER)
		log_warn("binlog: no longer the leader (%s); publishing stops", why);
}

/* SET NX PX, then INCR the epoch for the fencing token. */
static void try_acquire(struct lease *l, int64_t now_ms)
{
	redisReply *rep = rlink_cmd(&l->redis, "SET %s %s NX PX %d", l->key, l->id, l->lease_ms);
	bool won = rep && rep->type == REDIS_REPLY_STATUS && !strcmp(rep->str, "OK");
	freeReplyObject(rep);
	if (!won)
		return;
	rep = rlink_cmd(&l->redis, "INCR %s", l->epoch_key);
	if (!rep || rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return; /* the key expires; a later attempt (ours or another's) takes it */
	}
	uint64_t fence = (uint64_t)rep->integer;
	freeReplyObject(rep);
	atomic_store(&l->fence, fence);
	atomic_store(&l->valid_until, now_ms + l->lease_ms);
	atomic_fetch_add(&l->acquisitions, 1);
	atomic_store(&l->role, LEASE_LEADER);
	log_info("binlog: leader now (id %s, fencing token %" PRIu64 ")", l->id, fence);
}

static void renew(struct lease *l, int64_t now_ms)
{
	redisReply *rep =
	    rlink_cmd(&l->redis, "EVAL %s 1 %s %s %d", renew_lua, l->key, l->id, l->lease_ms);
	if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
		atomic_store(&l->valid_until, now_ms + l->lease_ms);
	else if (rep && rep->type == REDIS_REPLY_INTEGER)
		step_down(l, "the lease belongs to another tailer");
	freeReplyObject(rep);
}

/* One round: expire a lapsed lease, then renew or try to acquire. Returns the ms to the next. */
static int lease_round(struct lease *l)
{
	int64_t now = now_mono_ms();
	bool leader = atomic_load(&l->role) == LEASE_LEADER;
	if (leader && now >= atomic_load(&l->valid_until)) {
		step_down(l, "lease not renewed in time");
		leader = false;
	}
	bool up = rlink_ready(&l->redis, now);
	atomic_store(&l->redis_up, up);
	if (!up)
		return SLEEP_SLICE_MS;
	if (leader)
		renew(l, now);
	else
		try_acquire(l, now);
	return atomic_load(&l->role) == LEASE_LEADER ? l->lease_ms / 3 : l->lease_ms / 4;
}

static void *lease_thread(void *arg)
{
	struct lease *l = arg;
	while (!atomic_load(&l->stop)) {
		int64_t next = now_mono_ms() + lease_round(l);
		while (!atomic_load(&l->stop) && now_mono_ms() < next) {
			struct timespec ts = {0, SLEEP_SLICE_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

bool lease_start(struct lease *l)
{
	l->started = pthread_create(&l->thread, NULL, lease_thread, l) == 0;
	if (!l->started)
		log_error("binlog: cannot start the lease thread");
	return l->started;
}

void lease_stop(struct lease *l)
{
	if (l->started) {
		atomic_store(&l->stop, true);
		pthread_join(l->thread, NULL);
		l->started = false;
	}
	if (atomic_exchange(&l->role, LEASE_STANDBY) == LEASE_LEADER && l->redis.ctx) {
		redisReply *rep =
		    rlink_cmd(&l->redis, "EVAL %s 1 %s %s", release_lua, l->key, l->id);
		freeReplyObject(rep);
	}
	rlink_close(&l->redis);
}

bool lease_held(struct lease *l)
{
	return atomic_load(&l->role) == LEASE_LEADER &&
	       now_mono_ms() < atomic_load(&l->valid_until);
}

void lease_lost(struct lease *l)
{
	step_down(l, "a publish found the lease taken");
}
