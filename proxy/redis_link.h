/*
 * redis_link.h - one hiredis async connection on a worker's event loop that comes back by itself.
 *
 * The pinner (pin.c) and the cache's invalidation feed (cache_feed.c) each hold one. A link
 * connects, reports when it is up and when it is lost, and reconnects with doubling back-off
 * (100 ms to 5 s). Its owner sends commands on `ac` while the link is up.
 */
#pragma once

#include <event2/event_struct.h>
#include <stdbool.h>

struct cfg_addr;
struct event_base;
typedef struct redisAsyncContext redisAsyncContext;

enum redis_link_state { REDIS_LINK_OFF, REDIS_LINK_DOWN, REDIS_LINK_CONNECTING, REDIS_LINK_UP };

struct redis_link {
	redisAsyncContext *ac; /* NULL unless CONNECTING or UP */
	enum redis_link_state state;
	const struct cfg_addr *addr;
	struct event_base *base;
	const char *name; /* for the log: "worker 1: pinning Redis" */
	unsigned backoff_ms;
	struct event retry;
	/* called on every change of state (after it), and once a connection is up */
	void (*changed)(struct redis_link *l, enum redis_link_state before);
	void *owner;
};

/* Starts connecting (state CONNECTING, or DOWN with a retry pending). */
void redis_link_start(struct redis_link *l, struct event_base *base, const struct cfg_addr *addr,
                      const char *name, void (*changed)(struct redis_link *, enum redis_link_state),
                      void *owner);
/* Drops the connection: hiredis fails every request on it, and the link reconnects. */
void redis_link_drop(struct redis_link *l);
/* Closes for good (state OFF), without calling changed. */
void redis_link_stop(struct redis_link *l);
const char *redis_link_state_str(enum redis_link_state s);
