/*
 * cache_feed.c - the worker's subscription to P:c:drop (see cache_feed.h).
 */
#include "cache_feed.h"

#include "cache_local.h"
#include "config.h"
#include "counters.h"
#include "log.h"
#include "proxy.h"
#include "redis_link.h"
#include "results.h"
#include "worker.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cache_feed {
	struct worker *worker;
	struct cache_local *local;
	struct redis_link link;
	char name[48];
	char channel[CFG_NAME_MAX + 16];
	bool subscribed;
	uint64_t epoch;
	void (*changed)(void *arg, const char *dep, size_t len);
	void *changed_arg;
	_Atomic uint64_t lag_ms;
};

uint64_t cache_feed_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cache_feed_note_usage(struct cache_feed *f)
{
	struct worker_counters *c = &f->worker->counters;
	atomic_store_explicit(&c->cache_bytes, (int64_t)cache_local_bytes(f->local),
	                      memory_order_relaxed);
	atomic_store_explicit(&c->cache_entries, (int64_t)cache_local_count(f->local),
	                      memory_order_relaxed);
}

static void set_subscribed(struct cache_feed *f, bool subscribed)
{
	if (f->subscribed == subscribed)
		return;
	f->subscribed = subscribed;
	f->epoch++;
	gauge_add(&f->worker->counters.cache_feed_up, subscribed ? 1 : -1);
	/* Entries kept over a gap in the feed could have missed their invalidation. */
	cache_local_clear(f->local);
	cache_feed_note_usage(f);
}

/* "<unix ms> <dep> <dep>...": drops what depends on each dep ("all": everything). */
static void apply_message(struct cache_feed *f, const char *msg, size_t len)
{
	const char *end = msg + len;
	char *after;
	unsigned long long sent = strtoull(msg, &after, 10);
	uint64_t now = cache_feed_wall_ms();
	atomic_store_explicit(&f->lag_ms, now > sent ? now - sent : 0, memory_order_relaxed);
	for (const char *p = after; p < end;) {
		while (p < end && *p == ' ')
			p++;
		const char *space = memchr(p, ' ', (size_t)(end - p));
		size_t n = space ? (size_t)(space - p) : (size_t)(end - p);
		if (n == strlen(RESULTS_DEP_ALL) && memcmp(p, RESULTS_DEP_ALL, n) == 0)
			cache_local_clear(f->local);
		else if (n > 0)
			cache_local_drop_dep(f->local, p, n);
		if (n > 0)
			f->changed(f->changed_arg, p, n);
		p += n;
	}
	f->epoch++;
	counter_inc(&f->worker->counters.cache_invalidations);
	cache_feed_note_usage(f);
}

/* Called for the subscription's confirmation and for every message. */
static void on_message(redisAsyncContext *ac, void *r, void *arg)
{
	(void)ac;
	struct cache_feed *f = arg;
	const redisReply *reply = r;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	const char *kind = reply->element[0]->str;
	const redisReply *payload = reply->element[2];
	if (strcmp(kind, "subscribe") == 0)
		set_subscribed(f, true);
	else if (strcmp(kind, "message") == 0 && payload->type == REDIS_REPLY_STRING)
		apply_message(f, payload->str, payload->len);
}

static void on_link_changed(struct redis_link *l, enum redis_link_state before)
{
	struct cache_feed *f = l->owner;
	(void)before;
	if (l->state != REDIS_LINK_UP) {
		set_subscribed(f, false);
		return;
	}
	if (redisAsyncCommand(l->ac, on_message, f, "SUBSCRIBE %s", f->channel) != REDIS_OK)
		redis_link_drop(l);
}

struct cache_feed *cache_feed_new(struct worker *w, struct cache_local *local,
                                  void (*changed)(void *arg, const char *dep, size_t len),
                                  void *arg)
{
	struct cache_feed *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	const struct config *cfg = proxy_config(w->proxy);
	f->worker = w;
	f->local = local;
	f->changed = changed;
	f->changed_arg = arg;
	snprintf(f->name, sizeof(f->name), "worker %d: cache feed Redis", w->id);
	results_channel(f->channel, sizeof(f->channel), cfg->pinning.prefix);
	redis_link_start(&f->link, w->base, &cfg->pinning.redis, f->name, on_link_changed, f);
	return f;
}

void cache_feed_free(struct cache_feed *f)
{
	if (!f)
		return;
	if (f->subscribed)
		gauge_add(&f->worker->counters.cache_feed_up, -1);
	redis_link_stop(&f->link);
	free(f);
}

bool cache_feed_live(const struct cache_feed *f)
{
	return f->subscribed;
}

void cache_feed_catch_up(struct cache_feed *f)
{
	if (!f->subscribed)
		return;
	struct pollfd p = {.fd = f->link.ac->c.fd, .events = POLLIN};
	if (poll(&p, 1, 0) == 1)
		redisAsyncHandleRead(f->link.ac); /* may lose the link: then nothing is served */
}

uint64_t cache_feed_epoch(const struct cache_feed *f)
{
	return f->epoch;
}

uint64_t cache_feed_lag_ms(const struct cache_feed *f)
{
	return atomic_load_explicit(&f->lag_ms, memory_order_relaxed);
}
