/*
 * cache_refresh.c - re-reading hot entries after an invalidation (see cache_refresh.h).
 *
 * Each recipe is a small state machine: IDLE until an invalidation names one of its deps, DUE
 * until the change's marks have expired, then LOOKUP (Redis: is it still missing, and may we
 * fill it?), CONNECT and READ (the primary, through the worker's pool), FILL (Redis), and IDLE
 * again. A lookup that finds the entry filled, or its lease held by a reader's miss, ends the
 * round: someone else has refreshed it.
 */
#include "cache_refresh.h"

#include "cache.h"
#include "cache_redis.h"
#include "clock.h"
#include "config.h"
#include "counters.h"
#include "handshake.h"
#include "log.h"
#include "packet.h"
#include "pin.h"
#include "pool.h"
#include "proxy.h"
#include "reply.h"
#include "server.h"
#include "session.h"
#include "worker.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECIPES_MAX     64 /* hot entries remembered per worker */
#define REFRESH_TRIES   5  /* rounds a recipe waits for its marks to expire */
#define REFRESH_MARGIN  50 /* ms after the window before looking again */
#define REFRESH_TICK_MS 20 /* how often due recipes are looked at */

enum recipe_state {
	RECIPE_IDLE,    /* its entry is (or was) cached; nothing to do */
	RECIPE_DUE,     /* invalidated: refresh at due_ms */
	RECIPE_LOOKUP,  /* LOOKUP sent */
	RECIPE_CONNECT, /* holds the lease; waiting for a primary connection */
	RECIPE_READ,    /* the command is at the primary */
	RECIPE_FILL,    /* FILL sent */
};

struct recipe {
	enum recipe_state state;
	struct cache_refresher *owner;
	uint8_t digest[RESULTS_DIGEST_LEN];
	struct server_key key;
	char db[HS_DB_MAX];
	uint8_t *packet; /* the command, header included */
	size_t packet_len;
	struct pin_names marks; /* the read's marks: its deps */
	unsigned ttl_s;
	uint64_t due_ms;
	unsigned tries;
	char token[64];
	char *stamp; /* the lookup's, while the lease is held */
	size_t stamp_len;
	struct server *srv;
	struct reply reply;
	struct cache_copy copy; /* the reply read so far */
};

struct cache_refresher {
	struct worker *worker;
	struct recipe recipes[RECIPES_MAX];
	unsigned n;
	uint64_t tokens;
	struct event *tick;
};

static const struct config *config_of(struct cache_refresher *r)
{
	return proxy_config(r->worker->proxy);
}

static struct cache_read read_of(struct recipe *rc)
{
	return (struct cache_read){config_of(rc->owner)->pinning.prefix, &rc->marks, rc->digest};
}

static void forget_round(struct recipe *rc)
{
	free(rc->stamp);
	rc->stamp = NULL;
	rc->stamp_len = 0;
	cache_copy_free(&rc->copy);
	rc->state = RECIPE_IDLE;
}

/* Makes sure the tick comes to look at due recipes. */
static void schedule_tick(struct cache_refresher *r)
{
	if (evtimer_pending(r->tick, NULL))
		return;
	struct timeval tv = {0, REFRESH_TICK_MS * 1000};
	evtimer_add(r->tick, &tv);
}

/* ---- filling -------------------------------------------------------------------------------- */

static void on_fill_answered(redisAsyncContext *ac, void *reply, void *arg)
{
	(void)ac;
	struct recipe *rc = arg;
	const redisReply *r = reply;
	if (r && r->type == REDIS_REPLY_INTEGER && r->integer == RESULTS_FILL_STORED)
		counter_inc(&rc->owner->worker->counters.cache_refreshes);
	else if (r && r->type == REDIS_REPLY_INTEGER && r->integer != RESULTS_FILL_RELEASED)
		counter_inc(&rc->owner->worker->counters.cache_stale_fills_rejected);
	forget_round(rc);
}

/* FILL with what the primary answered, or with nothing to give the lease back. */
static void fill(struct recipe *rc, bool store)
{
	struct cache_args a = {0};
	struct cache_read read = read_of(rc);
	cache_args_fill(&a, &read, rc->token, rc->stamp, rc->stamp_len, (uint64_t)rc->ttl_s * 1000,
	                store ? rc->copy.bytes : NULL, rc->copy.len);
	rc->state = RECIPE_FILL;
	if (!cache_args_send(rc->owner->worker, &a, on_fill_answered, rc))
		forget_round(rc); /* the lease expires by itself */
	cache_args_free(&a);
}

/* ---- reading from the primary --------------------------------------------------------------- */

static void give_back_server(struct recipe *rc, bool clean)
{
	if (!rc->srv)
		return;
	pool_release(&rc->owner->worker->pool, rc->srv, clean);
	rc->srv = NULL;
}

static void read_failed(struct recipe *rc, const char *why)
{
	log_info("worker %d: cache refresh failed: %s", rc->owner->worker->id, why);
	give_back_server(rc, false);
	fill(rc, false);
}

/* Takes every whole packet the primary has sent; true once the reply is complete. */
static bool take_packets(struct recipe *rc, struct evbuffer *in, bool *broken)
{
	size_t max = (size_t)config_of(rc->owner)->cache.max_result_bytes;
	while (!reply_done(&rc->reply)) {
		struct pkt_header h;
		if (!pkt_peek_header(in, &h))
			return false;
		size_t total = PKT_HEADER_LEN + (size_t)h.len;
		if (evbuffer_get_length(in) < total)
			return false;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)total);
		bool whole =
		    p && reply_wants_packet(&rc->reply, h.len, h.len ? p[PKT_HEADER_LEN] : 0);
		if (!p || !reply_feed(&rc->reply, h.len, whole ? p + PKT_HEADER_LEN : NULL)) {
			*broken = true;
			return false;
		}
		uint8_t *at = cache_copy_reserve(&rc->copy, total, max);
		if (at)
			memcpy(at, p, total);
		evbuffer_drain(in, total);
	}
	return true;
}

static void on_server_stream(struct stream *st, enum stream_event ev, void *arg)
{
	struct recipe *rc = arg;
	bool broken = false;
	switch (ev) {
	case STREAM_READABLE:
		if (rc->state != RECIPE_READ) {
			read_failed(rc, "the primary spoke out of turn");
			return;
		}
		if (!take_packets(rc, st->in, &broken)) {
			if (broken)
				read_failed(rc, "unexpected packet from the primary");
			return;
		}
		give_back_server(rc, true);
		fill(rc, reply_storable(&rc->reply) && rc->copy.whole);
		return;
	case STREAM_EOF: read_failed(rc, "closed by the primary"); return;
	case STREAM_ERROR: read_failed(rc, stream_error_str(st)); return;
	case STREAM_DRAINED:
	case STREAM_CONNECTED: return;
	}
}

static void send_command(struct recipe *rc)
{
	struct server *srv = rc->srv;
	stream_set_owner(&srv->st, on_server_stream, rc);
	stream_resume_reading(&srv->st);
	reply_start(&rc->reply, rc->packet[PKT_HEADER_LEN], srv->key.caps);
	cache_copy_start(&rc->copy);
	rc->state = RECIPE_READ;
	if (evbuffer_add(srv->st.out, rc->packet, rc->packet_len) != 0 || !stream_flush(&srv->st))
		read_failed(rc, "cannot send the command");
}

static void on_server_ready(struct server *srv, const struct server_error *err, void *arg)
{
	struct recipe *rc = arg;
	(void)srv;
	if (err) {
		read_failed(rc, err->message);
		return;
	}
	send_command(rc);
}

static void connect_primary(struct recipe *rc)
{
	struct worker *w = rc->owner->worker;
	rc->state = RECIPE_CONNECT;
	rc->srv = pool_acquire(&w->pool, backends_primary(&w->proxy->backends), &rc->key, rc->db,
	                       on_server_ready, rc);
	if (!rc->srv)
		fill(rc, false);
	else if (rc->srv->state == SERVER_READY)
		send_command(rc);
}

/* ---- looking up ----------------------------------------------------------------------------- */

static void on_lookup_answered(redisAsyncContext *ac, void *reply, void *arg)
{
	(void)ac;
	struct recipe *rc = arg;
	const redisReply *r = reply;
	long long outcome = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	                            r->element[0]->type == REDIS_REPLY_INTEGER
	                        ? r->element[0]->integer
	                        : -1;
	if (outcome == 0 && ++rc->tries < REFRESH_TRIES) {
		/* still marked: the change's window is not over */
		rc->due_ms = clock_ms() + pin_window_ms(rc->owner->worker) + REFRESH_MARGIN;
		rc->state = RECIPE_DUE;
		schedule_tick(rc->owner);
		return;
	}
	if (outcome != 2 || r->elements != 2 || r->element[1]->type != REDIS_REPLY_STRING) {
		forget_round(rc); /* filled already, being filled, or Redis failed */
		return;
	}
	rc->stamp = malloc(r->element[1]->len + 1);
	if (!rc->stamp) {
		forget_round(rc);
		return;
	}
	memcpy(rc->stamp, r->element[1]->str, r->element[1]->len);
	rc->stamp_len = r->element[1]->len;
	connect_primary(rc);
}

static void look_up(struct cache_refresher *r, struct recipe *rc)
{
	struct cache_args a = {0};
	struct cache_read read = read_of(rc);
	snprintf(rc->token, sizeof(rc->token), "r%d.%" PRIx64 ".%" PRIx64, r->worker->id,
	         clock_ms(), ++r->tokens);
	cache_args_lookup(&a, &read, rc->token, config_of(r)->cache.lease_ms);
	rc->state = RECIPE_LOOKUP;
	if (!cache_args_send(r->worker, &a, on_lookup_answered, rc))
		forget_round(rc);
	cache_args_free(&a);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct cache_refresher *r = arg;
	uint64_t now = clock_ms();
	bool pending = false;
	for (unsigned i = 0; i < r->n; i++) {
		struct recipe *rc = &r->recipes[i];
		if (rc->state == RECIPE_DUE && now >= rc->due_ms && !r->worker->draining)
			look_up(r, rc);
		pending = pending || rc->state == RECIPE_DUE;
	}
	if (pending)
		schedule_tick(r);
}

/* ---- recipes -------------------------------------------------------------------------------- */

struct cache_refresher *cache_refresher_new(struct worker *w)
{
	struct cache_refresher *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->worker = w;
	r->tick = evtimer_new(w->base, on_tick, r);
	if (!r->tick) {
		free(r);
		return NULL;
	}
	for (unsigned i = 0; i < RECIPES_MAX; i++)
		r->recipes[i].owner = r;
	return r;
}

void cache_refresher_free(struct cache_refresher *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++) {
		struct recipe *rc = &r->recipes[i];
		give_back_server(rc, false);
		forget_round(rc);
		free(rc->packet);
		free(rc->marks.buf);
	}
	event_free(r->tick);
	free(r);
}

static struct recipe *find_recipe(struct cache_refresher *r, const uint8_t *digest)
{
	for (unsigned i = 0; i < r->n; i++)
		if (memcmp(r->recipes[i].digest, digest, RESULTS_DIGEST_LEN) == 0)
			return &r->recipes[i];
	return NULL;
}

void cache_refresher_note_hit(struct cache_refresher *r, struct session *s, const uint8_t *packet,
                              size_t len, uint32_t hits)
{
	unsigned hot = (unsigned)config_of(r)->cache.hot_hits;
	if (hot == 0 || hits != hot || r->n == RECIPES_MAX || s->history.count > 0 ||
	    len <= PKT_HEADER_LEN || packet[PKT_HEADER_LEN] != COM_QUERY ||
	    find_recipe(r, s->cache.digest))
		return;
	struct recipe *rc = &r->recipes[r->n];
	rc->packet = malloc(len);
	rc->marks.buf = malloc(s->pin.cmd.len);
	if (!rc->packet || !rc->marks.buf) {
		free(rc->packet);
		free(rc->marks.buf);
		rc->packet = NULL;
		rc->marks.buf = NULL;
		return;
	}
	memcpy(rc->packet, packet, len);
	rc->packet_len = len;
	memcpy(rc->marks.buf, s->pin.cmd.buf, s->pin.cmd.len);
	rc->marks.len = rc->marks.cap = s->pin.cmd.len;
	rc->marks.n = s->pin.cmd.n;
	memcpy(rc->digest, s->cache.digest, RESULTS_DIGEST_LEN);
	rc->key = session_server_key(s);
	snprintf(rc->db, sizeof(rc->db), "%s", s->db);
	rc->ttl_s = s->cache.ttl_s;
	rc->state = RECIPE_IDLE;
	r->n++;
}

static bool names_dep(const struct recipe *rc, const char *prefix, const char *dep, size_t len)
{
	if (len == strlen(RESULTS_DEP_ALL) && memcmp(dep, RESULTS_DEP_ALL, len) == 0)
		return true;
	FOR_EACH_NAME(&rc->marks, name)
	{
		const char *own = results_dep_of_mark(name, prefix);
		if (own && strlen(own) == len && memcmp(own, dep, len) == 0)
			return true;
	}
	return false;
}

void cache_refresher_dep_changed(struct cache_refresher *r, const char *dep, size_t len)
{
	const char *prefix = config_of(r)->pinning.prefix;
	bool due = false;
	for (unsigned i = 0; i < r->n; i++) {
		struct recipe *rc = &r->recipes[i];
		if (rc->state != RECIPE_IDLE || !names_dep(rc, prefix, dep, len))
			continue;
		rc->state = RECIPE_DUE;
		rc->tries = 0;
		rc->due_ms = clock_ms() + pin_window_ms(r->worker) + REFRESH_MARGIN;
		due = true;
	}
	if (due)
		schedule_tick(r);
}
