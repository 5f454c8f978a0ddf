/*
 * cache_feed.h - a worker's subscription to the cache's invalidations, which keeps its
 * in-process tier honest (CONSISTENCY.md mechanism 10).
 *
 * Every invalidation (the tailer's, after a commit; the proxy's, before it forwards a write)
 * publishes the deps it changed on P:c:drop. The feed applies each message to the worker's tier.
 * The tier may serve only while the feed is subscribed: a message missed while it was not would
 * leave a stale entry, so losing the subscription empties the tier.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct cache_local;
struct cache_feed;

/* changed(arg, dep, len) hears of every dep a message names, after the tier dropped it. */
struct cache_feed *cache_feed_new(struct worker *w, struct cache_local *local,
                                  void (*changed)(void *arg, const char *dep, size_t len),
                                  void *arg);
void cache_feed_free(struct cache_feed *f);
/* Subscribed: the tier holds nothing a missed message could have dropped. */
bool cache_feed_live(const struct cache_feed *f);
/* Applies the messages already waiting on the socket, without blocking: called before the tier
 * answers, so a write acknowledged before the read began has been applied. */
void cache_feed_catch_up(struct cache_feed *f);
/* Grows with every message applied and every loss of the subscription: an entry fetched from
 * Redis may enter the tier only if the epoch did not move while it was fetched. */
uint64_t cache_feed_epoch(const struct cache_feed *f);
/* Delivery delay of the last message (publisher's clock to ours), in ms. */
uint64_t cache_feed_lag_ms(const struct cache_feed *f);

/* Shows the tier's bytes and entries in /stats (after the tier changed). */
void cache_feed_note_usage(struct cache_feed *f);
/* Unix time in ms: the clock messages are stamped with. */
uint64_t cache_feed_wall_ms(void);
