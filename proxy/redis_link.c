/*
 * redis_link.c - a hiredis async connection that reconnects with back-off (see redis_link.h).
 */
#include "redis_link.h"

#include "config.h"
#include "log.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <string.h>

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000

static void connect_link(struct redis_link *l);

static void set_state(struct redis_link *l, enum redis_link_state next)
{
	enum redis_link_state before = l->state;
	l->state = next;
	if (l->changed && before != next)
		l->changed(l, before);
}

static void schedule_reconnect(struct redis_link *l)
{
	l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : RECONNECT_MIN_MS;
	if (l->backoff_ms > RECONNECT_MAX_MS)
		l->backoff_ms = RECONNECT_MAX_MS;
	struct timeval tv = {l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000};
	evtimer_add(&l->retry, &tv);
	set_state(l, REDIS_LINK_DOWN);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_link(arg);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_link *l = ac->data;
	if (status != REDIS_OK) {
		if (l->state != REDIS_LINK_DOWN)
			log_warn("%s unreachable: %s", l->name, ac->errstr);
		l->ac = NULL; /* hiredis frees it */
		schedule_reconnect(l);
		return;
	}
	log_info("%s connected", l->name);
	l->backoff_ms = 0;
	set_state(l, REDIS_LINK_UP);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_link *l = ac->data;
	(void)status;
	if (l->state == REDIS_LINK_UP)
		log_warn("%s lost", l->name);
	l->ac = NULL;
	schedule_reconnect(l);
}

static void connect_link(struct redis_link *l)
{
	redisAsyncContext *ac = redisAsyncConnect(l->addr->host, l->addr->port);
	if (!ac || ac->err) {
		if (ac)
			redisAsyncFree(ac);
		schedule_reconnect(l);
		return;
	}
	ac->data = l;
	if (redisLibeventAttach(ac, l->base) != REDIS_OK) {
		redisAsyncFree(ac);
		schedule_reconnect(l);
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	l->ac = ac;
	set_state(l, REDIS_LINK_CONNECTING);
}

void redis_link_start(struct redis_link *l, struct event_base *base, const struct cfg_addr *addr,
                      const char *name, void (*changed)(struct redis_link *, enum redis_link_state),
                      void *owner)
{
	memset(l, 0, sizeof(*l));
	l->base = base;
	l->addr = addr;
	l->name = name;
	l->changed = changed;
	l->owner = owner;
	l->state = REDIS_LINK_OFF;
	evtimer_assign(&l->retry, base, on_retry, l);
	connect_link(l);
}

void redis_link_drop(struct redis_link *l)
{
	redisAsyncContext *ac = l->ac;
	if (!ac)
		return;
	if (l->state == REDIS_LINK_CONNECTING) {
		l->ac = NULL;
		redisAsyncFree(ac); /* no disconnect callback for a connection never made */
		schedule_reconnect(l);
		return;
	}
	redisAsyncFree(ac); /* on_disconnect follows */
}

void redis_link_stop(struct redis_link *l)
{
	if (!l->base)
		return; /* never started */
	evtimer_del(&l->retry);
	l->changed = NULL;
	l->state = REDIS_LINK_OFF;
	if (l->ac) {
		redisAsyncContext *ac = l->ac;
		redisAsyncSetDisconnectCallback(ac, NULL);
		l->ac = NULL;
		redisAsyncFree(ac);
	}
}

const char *redis_link_state_str(enum redis_link_state s)
{
	switch (s) {
	case REDIS_LINK_OFF: return "off";
	case REDIS_LINK_UP: return "up";
	default: return "down";
	}
}
