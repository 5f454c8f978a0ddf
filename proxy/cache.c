/*
 * cache.c - the result cache on the proxy's side (see cache.h).
 *
 * Redis does the deciding (cache/results.h): LOOKUP checks the read's marks, returns the entry
 * or hands out the lease; FILL stores the reply only if the lease still holds, nothing is marked
 * and no invalidation changed the stamp. This file names the entry, builds those requests, serves
 * what they return, and copies a miss's reply on its way to the client.
 */
#include "cache.h"

#include "backend.h"
#include "cache_feed.h"
#include "cache_redis.h"
#include "cache_refresh.h"
#include "cacheable.h"
#include "clock.h"
#include "counters.h"
#include "log.h"
#include "packet.h"
#include "pin.h"
#include "plan.h"
#include "proxy.h"
#include "schema.h"
#include "session.h"
#include "worker.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_FIRST_MS 2  /* a miss waiting for another's fill looks again after 2, 4, 8... ms */
#define WAIT_MAX_MS   32 /* ...at most this far apart */

struct cache_worker {
	struct worker *worker;
	struct cache_local *local;         /* NULL with local_mb = 0 */
	struct cache_feed *feed;           /* NULL with local_mb = 0 */
	struct cache_refresher *refresher; /* NULL with local_mb = 0 */
	struct cache_tables tables;
	EVP_MD_CTX *md;
	struct event *tailer_check;
	bool tailer_seen;       /* a sluice-binlog leads and has published what the primary had */
	char primary_then[256]; /* the primary's gtid_binlog_pos one check ago */
	char primary_now[256];
	uint64_t tokens; /* lease tokens handed out */
	char token_base[32];
};

static const struct config *config_of(const struct session *s)
{
	return proxy_config(s->worker->proxy);
}

/* ---- the tailer ----------------------------------------------------------------------------- */

#define TAILER_CHECK_MS 200

static void set_tailer_seen(struct cache_worker *cw, bool seen)
{
	if (cw->tailer_seen == seen)
		return;
	cw->tailer_seen = seen;
	gauge_add(&cw->worker->counters.cache_tailer_seen, seen ? 1 : -1);
	if (seen)
		log_info("worker %d: cache: sluice-binlog is publishing; the cache is in use",
		         cw->worker->id);
	else
		log_warn("worker %d: cache: no sluice-binlog leads, or it is behind the primary; "
		         "reads bypass the cache",
		         cw->worker->id);
	if (!seen && cw->local) {
		cache_local_clear(cw->local); /* changes made meanwhile would not reach it */
		cache_feed_note_usage(cw->feed);
	}
}

/* A leader lease's value of a tailer started with [cache] enabled: one without would publish
 * marks and stream entries but never drop a cache entry. */
static bool invalidates_cache(const char *id, size_t len)
{
	size_t n = strlen(RESULTS_TAILER_CACHE);
	return len >= n && memcmp(id + len - n, RESULTS_TAILER_CACHE, n) == 0;
}

/* MGET leader checkpoint: a tailer that invalidates the cache leads, and its checkpoint has
 * reached what the primary had committed one check ago. */
static void on_tailer_answer(redisAsyncContext *ac, void *reply, void *arg)
{
	(void)ac;
	struct cache_worker *cw = arg;
	const redisReply *r = reply;
	if (!r) /* the connection went, and the next check sees that */
		return;
	bool leads = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	             r->element[0]->type == REDIS_REPLY_STRING &&
	             r->element[1]->type == REDIS_REPLY_STRING &&
	             invalidates_cache(r->element[0]->str, r->element[0]->len);
	set_tailer_seen(cw, leads && cw->primary_then[0] &&
	                        results_stamp_covered(cw->primary_then, strlen(cw->primary_then),
	                                              r->element[1]->str));
}

/* Writes made around Sluice reach the cache only through the tailer. Without one that leads, or
 * with one that has fallen behind (just restarted, or slower than the writes), an entry could
 * outlive its data, so the cache stands aside: the tailer must have published everything the
 * primary had committed a check (200 ms) ago, as the monitor saw it. */
static void on_tailer_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct cache_worker *cw = arg;
	struct worker *w = cw->worker;
	memcpy(cw->primary_then, cw->primary_now, sizeof(cw->primary_then));
	backend_get_gtid(backends_primary(&w->proxy->backends), cw->primary_now,
	                 sizeof(cw->primary_now));
	redisAsyncContext *ac = pinner_connection(w->pinner);
	const char *prefix = proxy_config(w->proxy)->pinning.prefix;
	char leader[CFG_NAME_MAX + 32], checkpoint[CFG_NAME_MAX + 32];
	snprintf(leader, sizeof(leader), "%s:binlog:leader", prefix);
	snprintf(checkpoint, sizeof(checkpoint), "%s:binlog:checkpoint", prefix);
	if (!ac || redisAsyncCommand(ac, on_tailer_answer, cw, "MGET %s %s", leader, checkpoint) !=
	               REDIS_OK)
		set_tailer_seen(cw, false);
	struct timeval tv = {0, TAILER_CHECK_MS * 1000};
	evtimer_add(cw->tailer_check, &tv);
}

/* ---- the worker's share --------------------------------------------------------------------- */

static void on_dep_changed(void *arg, const char *dep, size_t len)
{
	cache_refresher_dep_changed(arg, dep, len);
}

struct cache_worker *cache_worker_new(struct worker *w)
{
	const struct config *cfg = proxy_config(w->proxy);
	if (!cfg->cache.enabled)
		return NULL;
	struct cache_worker *cw = calloc(1, sizeof(*cw));
	if (!cw)
		return NULL;
	cw->worker = w;
	char err[256];
	cw->md = EVP_MD_CTX_new();
	/* the config parser checked the list's syntax */
	bool tables_ok = cache_tables_parse(cfg->cache.tables, &cw->tables, err, sizeof(err));
	if (!cw->md || !tables_ok) {
		log_error("worker %d: cache: %s", w->id, tables_ok ? "out of memory" : err);
		cache_worker_free(cw);
		return NULL;
	}
	if (cfg->cache.local_mb > 0) {
		cw->local = cache_local_new((size_t)cfg->cache.local_mb << 20);
		cw->refresher = cache_refresher_new(w);
		cw->feed = cw->local && cw->refresher
		               ? cache_feed_new(w, cw->local, on_dep_changed, cw->refresher)
		               : NULL;
		if (!cw->feed) {
			cache_worker_free(cw);
			return NULL;
		}
	}
	cw->tailer_check = evtimer_new(w->base, on_tailer_check, cw);
	if (!cw->tailer_check) {
		cache_worker_free(cw);
		return NULL;
	}
	on_tailer_check(-1, 0, cw);
	/* unique across instances and restarts: pid, start time, worker */
	snprintf(cw->token_base, sizeof(cw->token_base), "%x.%" PRIx64 ".%d", (unsigned)getpid(),
	         cache_feed_wall_ms(), w->id);
	return cw;
}

void cache_worker_free(struct cache_worker *cw)
{
	if (!cw)
		return;
	if (cw->tailer_check)
		event_free(cw->tailer_check);
	if (cw->tailer_seen)
		gauge_add(&cw->worker->counters.cache_tailer_seen, -1);
	cache_feed_free(cw->feed);
	cache_refresher_free(cw->refresher);
	cache_local_free(cw->local);
	EVP_MD_CTX_free(cw->md);
	free(cw);
}

uint64_t cache_lag_ms(struct proxy *p)
{
	uint64_t worst = 0;
	for (int i = 0; i < p->n_workers; i++) {
		const struct cache_worker *cw = p->workers[i].cache;
		uint64_t lag = cw && cw->feed ? cache_feed_lag_ms(cw->feed) : 0;
		worst = lag > worst ? lag : worst;
	}
	return worst;
}

/* ---- naming the entry ----------------------------------------------------------------------- */

static bool digest_add(struct cache_worker *cw, const void *bytes, size_t len)
{
	uint64_t n = len; /* length-prefixed, so no two field lists hash alike */
	return EVP_DigestUpdate(cw->md, &n, sizeof(n)) && EVP_DigestUpdate(cw->md, bytes, len);
}

/* Everything the answer's bytes depend on besides the data: who asks, in which database, with
 * which capabilities and session settings (SET NAMES, time_zone... are in the history). */
static bool name_entry(struct session *s, const char *text, size_t len,
                       const struct cache_params *params)
{
	struct cache_worker *cw = s->worker->cache;
	const char *user = s->user ? s->user->name : "";
	uint32_t caps[2] = {s->caps, s->ext_caps};
	bool ok = EVP_DigestInit_ex(cw->md, EVP_sha256(), NULL) &&
	          digest_add(cw, user, strlen(user)) && digest_add(cw, s->db, strlen(s->db)) &&
	          digest_add(cw, &s->charset, 1) && digest_add(cw, caps, sizeof(caps));
	for (const struct history_entry *e = s->history.head; ok && e; e = e->next)
		ok = digest_add(cw, e->packet, e->len);
	ok = ok && digest_add(cw, params ? "x" : "q", 1) && digest_add(cw, text, len);
	if (ok && params)
		ok = digest_add(cw, params->nulls, params->nulls_len) &&
		     digest_add(cw, params->types, params->types_len) &&
		     digest_add(cw, params->values, params->values_len);
	unsigned n = 0;
	return ok && EVP_DigestFinal_ex(cw->md, s->cache.digest, &n) && n == RESULTS_DIGEST_LEN;
}

/* Only base tables the schema snapshot knows: the binlog names their changes. A view's are
 * named after its base tables, which nothing here can map back to the view's entries. */
static bool tables_allowed(struct session *s, const struct cls_result *c, bool hinted)
{
	struct cache_worker *cw = s->worker->cache;
	const struct schema *snapshot = worker_schema(s->worker);
	for (size_t i = 0; i < c->n_tables; i++) {
		const struct cls_table *t = &c->tables[i];
		const struct schema_table *known = schema_find(snapshot, t->db, t->name);
		if (!known || !known->base_table)
			return false;
		if (session_has_temp_table(s, t->db, t->name))
			return false; /* the session's own: other sessions read another table */
		if (!hinted && !cache_tables_match(&cw->tables, t->db, t->name))
			return false;
	}
	return true;
}

void cache_plan(struct session *s, const struct cls_result *c, const char *sql, size_t len,
                const struct cache_params *params)
{
	struct cache_session *cs = &s->cache;
	if (!s->worker->cache || !s->worker->cache->tailer_seen || cs->stage != CACHE_IDLE ||
	    s->pin.op != PIN_OP_READ || !sql)
		return;
	struct cache_verdict v;
	cacheable_inspect(sql, len, c, &v);
	if (!v.cacheable || !tables_allowed(s, c, v.hint == CACHE_HINT_CACHE))
		return;
	char *text = malloc(len + 1);
	size_t n = text ? cacheable_normalize(sql, len, text, len + 1) : 0;
	bool named = n > 0 && name_entry(s, text, n, params);
	free(text);
	if (!named)
		return;
	cs->ttl_s = v.ttl_s ? v.ttl_s : (unsigned)config_of(s)->cache.ttl_s;
	cs->wait_until_ms = 0;
	cs->stage = CACHE_PLANNED;
}

/* ---- serving -------------------------------------------------------------------------------- */

/* Whole packets, back to back, and nothing else: what a stored result must be. */
static bool packets_well_formed(const uint8_t *b, size_t len)
{
	size_t at = 0;
	while (at + PKT_HEADER_LEN <= len)
		at += PKT_HEADER_LEN + (b[at] | (size_t)b[at + 1] << 8 | (size_t)b[at + 2] << 16);
	return at == len && len > 0;
}

/* Sequence ids as a reply to a fresh command numbers them: 1, 2, ... */
static void renumber(uint8_t *b, size_t len)
{
	uint8_t seq = 1;
	for (size_t at = 0; at < len; seq++) {
		b[at + 3] = seq;
		at += PKT_HEADER_LEN + (b[at] | (size_t)b[at + 1] << 8 | (size_t)b[at + 2] << 16);
	}
}

/* Answers the command f with a stored result; false (nothing sent) if it is malformed. */
static bool serve(struct session *s, const struct pkt_frame *f, const uint8_t *bytes, size_t len)
{
	struct evbuffer_iovec v;
	if (!packets_well_formed(bytes, len) ||
	    evbuffer_reserve_space(s->client.out, (ev_ssize_t)len, &v, 1) != 1 || v.iov_len < len)
		return false;
	memcpy(v.iov_base, bytes, len);
	renumber(v.iov_base, len);
	v.iov_len = len;
	if (evbuffer_commit_space(s->client.out, &v, 1) != 0)
		return false;
	evbuffer_drain(s->client.in, f->wire_len);
	counter_inc(&s->worker->counters.queries_total);
	counter_inc(&s->worker->counters.cache_hits);
	s->last_on_replica = false; /* no backend ran it: SHOW WARNINGS goes to the primary */
	return true;
}

static void finish_command(struct cache_session *cs)
{
	free(cs->value);
	cs->value = NULL;
	cs->value_len = 0;
	cache_copy_free(&cs->capture);
	cs->stage = CACHE_IDLE;
}

/* The read's deps as the tier files them: its marks without their heads, and "all". */
static size_t local_deps(struct session *s, char *out, size_t cap, unsigned *n)
{
	const char *prefix = config_of(s)->pinning.prefix;
	size_t len = 0;
	*n = 0;
	FOR_EACH_NAME(&s->pin.cmd, name)
	{
		const char *dep = results_dep_of_mark(name, prefix);
		size_t dl = dep ? strlen(dep) + 1 : 0;
		if (!dep || len + dl > cap)
			return 0;
		memcpy(out + len, dep, dl);
		len += dl;
		++*n;
	}
	if (len + sizeof(RESULTS_DEP_ALL) > cap)
		return 0;
	memcpy(out + len, RESULTS_DEP_ALL, sizeof(RESULTS_DEP_ALL));
	++*n;
	return len + sizeof(RESULTS_DEP_ALL);
}

/* An entry from Redis enters the tier only if no invalidation arrived while it was fetched: one
 * that did may be about this entry, and was applied before the entry existed here. */
static void keep_locally(struct session *s, uint64_t epoch, const uint8_t *bytes, size_t len,
                         uint64_t ttl_ms)
{
	struct cache_worker *cw = s->worker->cache;
	if (!cw->local || !cache_feed_live(cw->feed))
		return;
	cache_feed_catch_up(cw->feed);
	if (cache_feed_epoch(cw->feed) != epoch)
		return;
	char deps[MARK_NAME_MAX * 4];
	unsigned n;
	size_t dl = local_deps(s, deps, sizeof(deps), &n);
	if (dl > 0)
		cache_local_put(cw->local, s->cache.digest, bytes, len, deps, dl, n,
		                clock_ms() + ttl_ms);
	cache_feed_note_usage(cw->feed);
}

/* Hands a hot entry's recipe to the refresher (the command is still in the input). */
static void note_hot(struct session *s, const struct pkt_frame *f, uint32_t hits)
{
	struct cache_worker *cw = s->worker->cache;
	if (hits != (uint32_t)config_of(s)->cache.hot_hits || f->chunked)
		return;
	const uint8_t *packet = evbuffer_pullup(s->client.in, (ev_ssize_t)f->wire_len);
	if (packet)
		cache_refresher_note_hit(cw->refresher, s, packet, f->wire_len, hits);
}

bool cache_serve_local(struct session *s, const struct pkt_frame *f)
{
	struct cache_worker *cw = s->worker->cache;
	if (s->cache.stage != CACHE_PLANNED || !cw->local || !cache_feed_live(cw->feed))
		return false;
	cache_feed_catch_up(cw->feed);
	const struct cache_local_entry *e = cache_local_get(cw->local, s->cache.digest, clock_ms());
	if (!e)
		return false;
	note_hot(s, f, e->hits);
	if (!serve(s, f, e->bytes, e->len))
		return false;
	counter_inc(&s->worker->counters.cache_local_hits);
	finish_command(&s->cache);
	return true;
}

/* ---- looking up ----------------------------------------------------------------------------- */

static struct cache_read read_of(struct session *s)
{
	return (struct cache_read){config_of(s)->pinning.prefix, &s->pin.cmd, s->cache.digest};
}

bool cache_wants_lookup(const struct session *s)
{
	return s->cache.stage == CACHE_PLANNED;
}

bool cache_send_lookup(struct session *s)
{
	struct cache_worker *cw = s->worker->cache;
	struct cache_session *cs = &s->cache;
	snprintf(cs->token, sizeof(cs->token), "%s.%" PRIx64, cw->token_base, ++cw->tokens);
	struct cache_args a = {0};
	struct cache_read r = read_of(s);
	cache_args_lookup(&a, &r, cs->token, config_of(s)->cache.lease_ms);
	const char **argv = cache_args_argv(&a);
	bool sent = argv && pin_send_cache_lookup(s, a.n, argv, a.lens);
	free(argv);
	cache_args_free(&a);
	if (sent && cw->feed)
		cs->feed_epoch = cache_feed_epoch(cw->feed);
	return sent;
}

static bool keep_value(struct cache_session *cs, const redisReply *e)
{
	if (e->type != REDIS_REPLY_STRING)
		return false;
	cs->value = malloc(e->len + 1);
	if (!cs->value)
		return false;
	memcpy(cs->value, e->str, e->len);
	cs->value[e->len] = '\0';
	cs->value_len = e->len;
	return true;
}

const redisReply *cache_lookup_answered(struct session *s, const redisReply *r)
{
	struct cache_session *cs = &s->cache;
	struct worker_counters *c = &s->worker->counters;
	cs->stage = CACHE_BYPASS;
	if (!r)
		return NULL; /* pin.c judges the failure itself */
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		return r;
	size_t stamp_len;
	switch (r->element[0]->integer) {
	case 0: return r->elements == 2 ? r->element[1] : r; /* marked: route by the marks */
	case 1:
		if (r->elements != 3 || !keep_value(cs, r->element[1]) ||
		    !results_entry_split(cs->value, cs->value_len, &stamp_len, &cs->bytes_at))
			return r;
		cs->pttl_ms =
		    r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer > 0
		        ? (uint64_t)r->element[2]->integer
		        : 0;
		cs->stage = CACHE_HIT;
		return NULL;
	case 2:
		if (r->elements != 2 || !keep_value(cs, r->element[1]))
			return r;
		counter_inc(&c->cache_misses);
		cs->stage = CACHE_MISS;
		return NULL;
	case 3:
		if (cs->wait_until_ms == 0) {
			counter_inc(&c->cache_waits);
			cs->wait_until_ms = clock_ms() + (uint64_t)config_of(s)->cache.lease_ms;
		}
		cs->stage = CACHE_BUSY;
		return NULL;
	default: return r;
	}
}

static void on_wait_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct session *s = arg;
	s->cache.stage = CACHE_PLANNED;
	session_cache_wait_over(s);
}

/* Looks again after a pause that doubles, while the other session's lease may still fill. */
static bool wait_for_fill(struct session *s)
{
	struct cache_session *cs = &s->cache;
	uint64_t now = clock_ms();
	if (now >= cs->wait_until_ms)
		return false;
	if (!cs->wait_timer)
		cs->wait_timer = evtimer_new(s->worker->base, on_wait_over, s);
	if (!cs->wait_timer)
		return false;
	uint64_t waited = now + (uint64_t)config_of(s)->cache.lease_ms - cs->wait_until_ms;
	uint64_t pause = waited < WAIT_FIRST_MS ? WAIT_FIRST_MS : waited;
	if (pause > WAIT_MAX_MS)
		pause = WAIT_MAX_MS;
	struct timeval tv = {0, (suseconds_t)(pause * 1000)};
	evtimer_add(cs->wait_timer, &tv);
	return true;
}

enum cache_next cache_after_lookup(struct session *s, const struct pkt_frame *f)
{
	struct cache_session *cs = &s->cache;
	switch (cs->stage) {
	case CACHE_HIT: {
		const uint8_t *bytes = (const uint8_t *)cs->value + cs->bytes_at;
		size_t len = cs->value_len - cs->bytes_at;
		if (!serve(s, f, bytes, len)) {
			cs->stage = CACHE_BYPASS;
			return CACHE_GO;
		}
		if (cs->pttl_ms > 0)
			keep_locally(s, cs->feed_epoch, bytes, len, cs->pttl_ms);
		finish_command(cs);
		return CACHE_SERVED;
	}
	case CACHE_BUSY:
		if (wait_for_fill(s))
			return CACHE_WAITING;
		cs->stage = CACHE_BYPASS;
		return CACHE_GO;
	case CACHE_PLANNED: /* Redis was not asked (down, or safe mode) */
		cs->stage = CACHE_BYPASS;
		return CACHE_GO;
	default: return CACHE_GO;
	}
}

/* ---- filling -------------------------------------------------------------------------------- */

void cache_command_sent(struct session *s, struct backend *b, bool replica)
{
	struct cache_session *cs = &s->cache;
	if (cs->stage != CACHE_MISS)
		return;
	cache_copy_start(&cs->capture);
	cs->from_replica = replica;
	/* known before the read runs: a lower bound of what the replica has applied when it does */
	if (replica)
		backend_get_gtid(b, cs->source_pos, sizeof(cs->source_pos));
}

void cache_copy_start(struct cache_copy *c)
{
	c->len = 0;
	c->whole = true;
}

uint8_t *cache_copy_reserve(struct cache_copy *c, size_t n, size_t max)
{
	size_t need = c->len + n;
	if (c->whole && need > max)
		c->whole = false;
	if (c->whole && need > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < need)
			cap *= 2;
		uint8_t *b = realloc(c->bytes, cap);
		c->whole = b != NULL;
		if (b) {
			c->bytes = b;
			c->cap = cap;
		}
	}
	if (!c->whole)
		return NULL;
	uint8_t *at = c->bytes + c->len;
	c->len = need;
	return at;
}

void cache_copy_free(struct cache_copy *c)
{
	free(c->bytes);
	*c = (struct cache_copy){0};
}

void cache_capture(struct session *s, struct evbuffer *in, size_t n)
{
	struct cache_session *cs = &s->cache;
	if (cs->stage != CACHE_MISS || n == 0)
		return;
	uint8_t *at =
	    cache_copy_reserve(&cs->capture, n, (size_t)config_of(s)->cache.max_result_bytes);
	if (at)
		evbuffer_copyout(in, at, n);
}

/* What a fill's answer needs once the session may be gone. */
struct fill_note {
	struct cache_worker *cw;
	uint8_t digest[RESULTS_DIGEST_LEN];
	uint8_t *bytes; /* owned */
	size_t len;
	char deps[MARK_NAME_MAX * 4];
	size_t deps_len;
	unsigned n_deps;
	uint64_t ttl_ms;
	uint64_t epoch;
};

static void on_fill_answered(redisAsyncContext *ac, void *r, void *arg)
{
	(void)ac;
	struct fill_note *note = arg;
	const redisReply *reply = r;
	struct cache_worker *cw = note->cw;
	struct worker_counters *c = &cw->worker->counters;
	long long result = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
	if (!reply || reply->type != REDIS_REPLY_INTEGER) {
		/* lost with the connection, or refused: nothing is stored */
	} else if (result == RESULTS_FILL_STORED) {
		counter_inc(&c->cache_fills);
		if (cw->local && note->deps_len > 0 && cache_feed_live(cw->feed)) {
			cache_feed_catch_up(cw->feed);
			if (cache_feed_epoch(cw->feed) == note->epoch)
				cache_local_put(cw->local, note->digest, note->bytes, note->len,
				                note->deps, note->deps_len, note->n_deps,
				                clock_ms() + note->ttl_ms);
			cache_feed_note_usage(cw->feed);
		}
	} else if (result != RESULTS_FILL_RELEASED) {
		counter_inc(&c->cache_stale_fills_rejected);
	}
	if (cache_script_missing(reply) && ac)
		cache_scripts_load(ac);
	free(note->bytes);
	free(note);
}

/* May the reply be stored? A replica's answer only if it had applied every invalidation the
 * stamp names (CONSISTENCY.md mechanism 8). */
static bool storable(struct session *s, bool ok)
{
	struct cache_session *cs = &s->cache;
	return ok && cs->capture.whole && cs->capture.len > 0 &&
	       (!cs->from_replica ||
	        results_stamp_covered(cs->value, cs->value_len, cs->source_pos));
}

/* FILL with the captured reply, or with nothing to give the lease back. */
static void send_fill(struct session *s, bool store)
{
	struct cache_session *cs = &s->cache;
	struct cache_worker *cw = s->worker->cache;
	struct fill_note *note = calloc(1, sizeof(*note));
	struct cache_args a = {0};
	if (!note)
		return; /* the lease expires by itself */
	note->cw = cw;
	memcpy(note->digest, cs->digest, sizeof(note->digest));
	note->ttl_ms = (uint64_t)cs->ttl_s * 1000;
	note->epoch = cw->feed ? cache_feed_epoch(cw->feed) : 0;
	struct cache_read r = read_of(s);
	cache_args_fill(&a, &r, cs->token, cs->value, cs->value_len, note->ttl_ms,
	                store ? cs->capture.bytes : NULL, cs->capture.len);
	if (store) {
		note->bytes = cs->capture.bytes; /* the note owns the reply now */
		note->len = cs->capture.len;
		cs->capture = (struct cache_copy){0};
		note->deps_len = local_deps(s, note->deps, sizeof(note->deps), &note->n_deps);
	}
	if (!cache_args_send(s->worker, &a, on_fill_answered, note)) {
		free(note->bytes);
		free(note);
	}
	cache_args_free(&a);
}

void cache_reply_finished(struct session *s, bool ok)
{
	struct cache_session *cs = &s->cache;
	if (cs->stage == CACHE_MISS) {
		bool store = storable(s, ok);
		if (!store)
			counter_inc(&s->worker->counters.cache_fills_skipped);
		send_fill(s, store);
	}
	finish_command(cs);
}

void cache_command_abandoned(struct session *s)
{
	if (s->cache.stage == CACHE_MISS)
		send_fill(s, false);
	finish_command(&s->cache);
	s->cache.stage = CACHE_BYPASS; /* the re-sent read passes through */
}

void cache_session_free(struct session *s)
{
	if (s->cache.wait_timer)
		event_free(s->cache.wait_timer);
	s->cache.wait_timer = NULL;
	finish_command(&s->cache);
}

/* ---- invalidating --------------------------------------------------------------------------- */

void cache_invalidate_marks(struct session *s, const struct pin_names *marks)
{
	struct cache_worker *cw = s->worker->cache;
	if (!cw)
		return;
	const char *prefix = config_of(s)->pinning.prefix;
	char version[64];
	snprintf(version, sizeof(version), "x%s.%" PRIx64, cw->token_base, ++cw->tokens);
	struct cache_args a = {0};
	unsigned n = cache_args_invalidate(&a, prefix, marks, version, cache_feed_wall_ms());
	if (n > 0 && !cache_args_send(s->worker, &a, NULL, NULL))
		log_warn("session %u: cache invalidation not sent; the tailer's will follow",
		         s->id);
	cache_args_free(&a);
	if (!cw->local)
		return;
	/* this worker's tier at once; the others hear it from the feed */
	FOR_EACH_NAME(marks, name)
	{
		const char *dep = results_dep_of_mark(name, prefix);
		if (dep)
			cache_local_drop_dep(cw->local, dep, strlen(dep));
	}
	cache_feed_note_usage(cw->feed);
}
