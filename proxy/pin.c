/*
 * pin.c - read-your-writes pinning (see pin.h).
 *
 * Marks (cache/marks.h) are set with one EVAL per write and looked up with one MGET per read,
 * on the worker's hiredis connection. Every request carries its own timer: Redis that does not
 * answer within redis_timeout_ms counts as down, the connection is dropped (which fails every
 * request still on it) and rebuilt with back-off.
 */
#include "pin.h"

#include "backend.h"
#include "cache.h"
#include "cache_redis.h"
#include "clock.h"
#include "keys.h"
#include "log.h"
#include "plan.h"
#include "proxy.h"
#include "redis_link.h"
#include "schema.h"
#include "session.h"
#include "worker.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct pinner {
	struct worker *worker;
	struct redis_link link;
	char name[48];
	uint64_t safe_until_ms; /* reads stay on the primary until then (monotonic) */
	bool connected_once;    /* a later connection is a return, after marks may have been lost */
};

enum pin_request_kind {
	PIN_REQ_LOOKUP, /* MGET of a read's marks */
	PIN_REQ_CACHE,  /* the cache's LOOKUP: the read's marks and its entry at once */
	PIN_REQ_MARKS,  /* a write's marks */
};

struct pin_request {
	struct pinner *pinner;
	struct session *session; /* NULL once the session stopped waiting (timeout, close) */
	enum pin_request_kind kind;
	struct event timer;
};

static const struct cfg_pinning *pin_cfg(struct worker *w)
{
	return &proxy_config(w->proxy)->pinning;
}

/* ---- names --------------------------------------------------------------------------------- */

static bool names_add(struct pin_names *n, const char *name, size_t len)
{
	if (n->len + len + 1 > n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 1024;
		while (cap < n->len + len + 1)
			cap *= 2;
		char *grown = realloc(n->buf, cap);
		if (!grown)
			return false;
		n->buf = grown;
		n->cap = cap;
	}
	memcpy(n->buf + n->len, name, len);
	n->buf[n->len + len] = '\0';
	n->len += len + 1;
	n->n++;
	return true;
}

static bool names_has(const struct pin_names *n, const char *name)
{
	for (size_t off = 0; off < n->len; off += strlen(n->buf + off) + 1)
		if (strcmp(n->buf + off, name) == 0)
			return true;
	return false;
}

static void names_clear(struct pin_names *n)
{
	n->len = 0;
	n->n = 0;
}

static void names_free(struct pin_names *n)
{
	free(n->buf);
	*n = (struct pin_names){0};
}

/* Appends every name of from that to does not hold yet. */
static bool names_merge(struct pin_names *to, const struct pin_names *from)
{
	for (size_t off = 0; off < from->len; off += strlen(from->buf + off) + 1)
		if (!names_has(to, from->buf + off) &&
		    !names_add(to, from->buf + off, strlen(from->buf + off)))
			return false;
	return true;
}

static bool add_mark(struct pin_names *n, const char *prefix, enum mark_kind kind, const char *db,
                     const char *table, const struct mark_key *key)
{
	char name[MARK_NAME_MAX];
	size_t len = mark_name(name, prefix, kind, db, table, key);
	return len > 0 && (names_has(n, name) || names_add(n, name, len));
}

/* ---- the window ---------------------------------------------------------------------------- */

/* window mode: max(window_ms, the worst replica lag the monitor sees + lag_margin_ms), so a
 * mark outlives replication even when replicas fall behind (CONSISTENCY.md mechanism 3). */
uint64_t pin_window_ms(struct worker *w)
{
	const struct cfg_pinning *cfg = pin_cfg(w);
	struct backend_table *t = &w->proxy->backends;
	int64_t worst = 0;
	for (size_t i = 1; i < backends_count(t); i++) {
		int64_t lag = atomic_load_explicit(&t->items[i].lag_ms, memory_order_relaxed);
		if (lag != BACKEND_LAG_UNKNOWN && lag > worst)
			worst = lag;
	}
	uint64_t follow = (uint64_t)worst + (uint64_t)cfg->lag_margin_ms;
	return follow > (uint64_t)cfg->window_ms ? follow : (uint64_t)cfg->window_ms;
}

/* ---- the worker's connection --------------------------------------------------------------- */

/* Marks written while Redis was away are missing: reads stay safe for one more window. */
static void extend_safe_mode(struct pinner *p)
{
	p->safe_until_ms = clock_ms() + pin_window_ms(p->worker);
}

/* Keeps /stats' pinning.redis in step, and starts safe mode when Redis returns. */
static void on_link_changed(struct redis_link *l, enum redis_link_state before)
{
	struct pinner *p = l->owner;
	if ((before == REDIS_LINK_UP) != (l->state == REDIS_LINK_UP))
		gauge_add(&p->worker->counters.pin_redis_up, l->state == REDIS_LINK_UP ? 1 : -1);
	if (l->state == REDIS_LINK_UP) {
		if (p->connected_once)
			extend_safe_mode(p);
		p->connected_once = true;
		if (p->worker->cache)
			cache_scripts_load(l->ac); /* before any request can use them */
	} else if (before == REDIS_LINK_UP) {
		log_warn("worker %d: reads go to the primary until the pinning Redis returns",
		         p->worker->id);
	}
}

struct pinner *pinner_new(struct worker *w)
{
	struct pinner *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->worker = w;
	snprintf(p->name, sizeof(p->name), "worker %d: pinning Redis", w->id);
	if (pin_cfg(w)->mode != PIN_OFF)
		redis_link_start(&p->link, w->base, &pin_cfg(w)->redis, p->name, on_link_changed,
		                 p);
	return p;
}

void pinner_free(struct pinner *p)
{
	if (!p)
		return;
	if (p->link.state == REDIS_LINK_UP)
		gauge_add(&p->worker->counters.pin_redis_up, -1);
	redis_link_stop(&p->link);
	free(p);
}

const char *pinner_state_str(const struct pinner *p)
{
	return redis_link_state_str(p->link.state);
}

redisAsyncContext *pinner_connection(struct pinner *p)
{
	return p->link.state == REDIS_LINK_UP ? p->link.ac : NULL;
}

static bool reads_safe(struct pinner *p)
{
	return p->link.state != REDIS_LINK_UP || clock_ms() < p->safe_until_ms;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void deliver(struct pin_request *rq, const redisReply *reply);

static void free_request(struct pin_request *rq)
{
	evtimer_del(&rq->timer);
	free(rq);
}

static void on_reply(redisAsyncContext *ac, void *r, void *arg)
{
	(void)ac;
	struct pin_request *rq = arg;
	if (rq->session)
		deliver(rq, r);
	free_request(rq);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pin_request *rq = arg;
	struct pinner *p = rq->pinner;
	if (rq->kind != PIN_REQ_MARKS) {
		/* A slow lookup costs only its read a trip to the primary; its late answer is
		 * dropped. Dropping the connection would fail the writes' marks queued on it. */
		if (rq->session)
			deliver(rq, NULL);
		return;
	}
	log_warn("worker %d: pinning Redis did not store marks within %d ms; it counts as down",
	         p->worker->id, pin_cfg(p->worker)->mark_timeout_ms);
	redis_link_drop(&p->link); /* fails every request on it, rq too: sessions go on safely */
}

/* Sends argv for s; false if it could not be sent (the caller goes on as if Redis were down). */
static bool send_request(struct session *s, enum pin_request_kind kind, int argc, const char **argv,
                         const size_t *argvlen)
{
	bool write = kind == PIN_REQ_MARKS;
	struct pinner *p = s->worker->pinner;
	if (p->link.state != REDIS_LINK_UP)
		return false;
	struct pin_request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return false;
	rq->pinner = p;
	rq->session = s;
	rq->kind = kind;
	evtimer_assign(&rq->timer, s->worker->base, on_timeout, rq);
	if (redisAsyncCommandArgv(p->link.ac, on_reply, rq, argc, argv, argvlen) != REDIS_OK) {
		free(rq);
		return false;
	}
	const struct cfg_pinning *cfg = pin_cfg(s->worker);
	int ms = write ? cfg->mark_timeout_ms : cfg->redis_timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(&rq->timer, &tv);
	s->pin.req = rq;
	return true;
}

/* argv for a command over every name in n: head... then the names, then tail... */
static bool send_over_names(struct session *s, bool write, const char **head, int n_head,
                            const struct pin_names *n, const char **tail, int n_tail)
{
	int argc = n_head + (int)n->n + n_tail;
	const char **argv = malloc((size_t)argc * sizeof(*argv));
	size_t *lens = malloc((size_t)argc * sizeof(*lens));
	bool sent = false;
	if (argv && lens) {
		int i = 0;
		for (int k = 0; k < n_head; k++, i++)
			lens[i] = strlen(argv[i] = head[k]);
		for (size_t off = 0; off < n->len; off += lens[i] + 1, i++)
			lens[i] = strlen(argv[i] = n->buf + off);
		for (int k = 0; k < n_tail; k++, i++)
			lens[i] = strlen(argv[i] = tail[k]);
		sent = send_request(s, write ? PIN_REQ_MARKS : PIN_REQ_LOOKUP, argc, argv, lens);
	}
	free(argv);
	free(lens);
	return sent;
}

bool pin_send_cache_lookup(struct session *s, int argc, const char **argv, const size_t *lens)
{
	return send_request(s, PIN_REQ_CACHE, argc, argv, lens);
}

static bool send_lookup(struct session *s)
{
	const char *head[] = {"MGET"};
	return send_over_names(s, false, head, 1, &s->pin.cmd, NULL, 0);
}

/* Window mode: SET every mark "0|*" for the window. */
static const char LUA_SET_WINDOW[] = "for _, k in ipairs(KEYS) do\n"
                                     "  redis.call('SET', k, ARGV[1], 'PX', ARGV[2])\n"
                                     "end\n"
                                     "return #KEYS\n";

static bool send_marks(struct session *s, const struct pin_names *n, bool settle, const char *gtid)
{
	char keys[16], ttl[24];
	snprintf(keys, sizeof(keys), "%u", n->n);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)pin_window_ms(s->worker));
	if (pin_cfg(s->worker)->mode == PIN_WINDOW) {
		const char *head[] = {"EVAL", LUA_SET_WINDOW, keys};
		const char *tail[] = {MARK_VALUE_WINDOW, ttl};
		return send_over_names(s, true, head, 3, n, tail, 2);
	}
	if (!settle) {
		const char *head[] = {"EVAL", MARKS_LUA_ARM, keys};
		const char *tail[] = {ttl};
		return send_over_names(s, true, head, 3, n, tail, 1);
	}
	const char *head[] = {"EVAL", MARKS_LUA_SETTLE, keys};
	const char *tail[] = {ttl, gtid, "1"};
	return send_over_names(s, true, head, 3, n, tail, 3);
}

/* ---- verdicts ------------------------------------------------------------------------------ */

/* Keeps the highest GTID per domain of v in need; false when need is full. */
static bool merge_need(struct mark_value *need, const struct mark_value *v)
{
	for (unsigned i = 0; i < v->n_gtids; i++) {
		unsigned j = 0;
		while (j < need->n_gtids && need->gtids[j].domain != v->gtids[i].domain)
			j++;
		if (j == need->n_gtids) {
			if (j == MARK_GTIDS_MAX)
				return false;
			need->gtids[need->n_gtids++] = v->gtids[i];
		} else if (need->gtids[j].seq < v->gtids[i].seq) {
			need->gtids[j] = v->gtids[i];
		}
	}
	return true;
}

static enum pin_verdict judge_lookup(struct session *s, const redisReply *r)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return PIN_SAFE;
	bool gtid_mode = pin_cfg(s->worker)->mode == PIN_GTID;
	enum pin_verdict v = PIN_FREE;
	memset(&s->pin.need, 0, sizeof(s->pin.need));
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		if (e->type == REDIS_REPLY_NIL)
			continue;
		struct mark_value mv;
		if (!gtid_mode || e->type != REDIS_REPLY_STRING ||
		    !mark_value_parse(e->str, e->len, &mv) || mv.pending || mv.unknown_gtid ||
		    mv.n_gtids == 0 || !merge_need(&s->pin.need, &mv))
			return PIN_PINNED;
		v = PIN_COVERED;
	}
	return v;
}

static void deliver(struct pin_request *rq, const redisReply *r)
{
	struct session *s = rq->session;
	struct pinner *p = rq->pinner;
	rq->session = NULL;
	s->pin.req = NULL;
	bool failed = !r || r->type == REDIS_REPLY_ERROR;
	if (failed && r)
		log_warn("session %u: pinning Redis refused a request: %s", s->id, r->str);
	if (cache_script_missing(r) && p->link.ac)
		cache_scripts_load(p->link.ac); /* SCRIPT FLUSH: this read went to the primary */
	if (failed)
		counter_inc(&s->worker->counters.pin_errors);
	switch (rq->kind) {
	case PIN_REQ_LOOKUP: s->pin.verdict = judge_lookup(s, failed ? NULL : r); break;
	case PIN_REQ_CACHE: {
		const redisReply *marks = cache_lookup_answered(s, failed ? NULL : r);
		s->pin.verdict = failed ? PIN_SAFE : marks ? judge_lookup(s, marks) : PIN_FREE;
		/* a reply that makes no sense comes back as marks, and is judged SAFE */
		break;
	}
	case PIN_REQ_MARKS:
		if (failed)
			extend_safe_mode(p); /* a mark may be missing */
		break;
	}
	session_pin_answered(s);
}

/* ---- planning ------------------------------------------------------------------------------ */

static bool is_keyed_kind(enum cls_kind k)
{
	return k == CLS_KIND_SELECT || k == CLS_KIND_UPDATE || k == CLS_KIND_DELETE ||
	       k == CLS_KIND_INSERT || k == CLS_KIND_REPLACE;
}

/* The rows the statement names, when it names them (one table with a known key). */
static bool find_rows(struct session *s, const struct cls_result *c, const char *sql, size_t len,
                      const struct keys_params *params, struct keys_result *k)
{
	if (!sql || c->n_tables != 1 || (c->flags & (CLS_TABLES_OVERFLOW | CLS_MULTI)) ||
	    !is_keyed_kind(c->kind))
		return false;
	const struct schema_table *t =
	    schema_find(worker_schema(s->worker), c->tables[0].db, c->tables[0].name);
	if (!t || t->n_pk == 0)
		return false;
	keys_extract(sql, len, c, t, params, k);
	return k->point;
}

static bool plan_read(struct session *s, const struct cls_result *c, const char *sql, size_t len,
                      const struct keys_params *params, const char *prefix)
{
	struct pin_names *n = &s->pin.cmd;
	if (c->flags & CLS_TABLES_OVERFLOW)
		return false; /* not every table is known: the caller pins */
	struct keys_result k;
	if (find_rows(s, c, sql, len, params, &k) && k.auto_rows == 0 && k.n_keys > 0) {
		const struct cls_table *t = &c->tables[0];
		for (size_t i = 0; i < k.n_keys; i++)
			if (!add_mark(n, prefix, MARK_ROW, t->db, t->name, &k.keys[i]))
				return false;
		return add_mark(n, prefix, MARK_WHOLE, t->db, t->name, NULL);
	}
	for (size_t i = 0; i < c->n_tables; i++)
		if (!add_mark(n, prefix, MARK_TOUCHED, c->tables[i].db, c->tables[i].name, NULL))
			return false;
	return true;
}

static bool plan_write(struct session *s, const struct cls_result *c, const char *sql, size_t len,
                       const struct keys_params *params, const char *prefix)
{
	struct pin_names *n = &s->pin.cmd;
	struct keys_result k;
	bool rows = c->kind != CLS_KIND_DDL && find_rows(s, c, sql, len, params, &k);
	if (c->flags & (CLS_CREATE_TEMP | CLS_DROP_TEMP))
		return true; /* a temporary table is the session's own: nobody else can read it */
	for (size_t i = 0; i < c->n_tables; i++) {
		const struct cls_table *t = &c->tables[i];
		if (!t->written || session_has_temp_table(s, t->db, t->name))
			continue;
		if (!add_mark(n, prefix, MARK_TOUCHED, t->db, t->name, NULL))
			return false;
		if (!rows) {
			if (!add_mark(n, prefix, MARK_WHOLE, t->db, t->name, NULL))
				return false;
			continue;
		}
		for (size_t j = 0; j < k.n_keys; j++)
			if (!add_mark(n, prefix, MARK_ROW, t->db, t->name, &k.keys[j]))
				return false;
		s->pin.auto_rows = k.auto_rows;
		snprintf(s->pin.auto_db, sizeof(s->pin.auto_db), "%s", t->db);
		snprintf(s->pin.auto_table, sizeof(s->pin.auto_table), "%s", t->name);
	}
	return true;
}

/* Does the statement end the open transaction (COMMIT, or an implicit commit)? */
static bool ends_transaction(struct session *s, const struct cls_result *c)
{
	if (!session_in_transaction(s))
		return false;
	return c->kind == CLS_KIND_COMMIT || c->kind == CLS_KIND_ROLLBACK ||
	       c->kind == CLS_KIND_BEGIN || c->kind == CLS_KIND_DDL ||
	       (c->flags & CLS_AUTOCOMMIT_ON);
}

void pin_plan_reset(struct session *s)
{
	struct pin_session *ps = &s->pin;
	names_clear(&ps->cmd);
	ps->op = PIN_OP_NONE;
	ps->auto_rows = 0;
	ps->ends_txn = false;
	ps->rolls_back = false;
	ps->in_txn = session_in_transaction(s);
}

static bool is_catalog_db(const char *db)
{
	return strcasecmp(db, "information_schema") == 0 || strcasecmp(db, "mysql") == 0 ||
	       strcasecmp(db, "performance_schema") == 0 || strcasecmp(db, "sys") == 0;
}

/* SHOW, information_schema, mysql.*: what DDL and account statements change. They are looked up
 * under one catalog mark, since no row key names them. */
static bool reads_catalog(const struct cls_result *c)
{
	if (c->kind == CLS_KIND_SHOW && !(c->flags & CLS_SESSION_BOUND))
		return true;
	for (size_t i = 0; i < c->n_tables; i++)
		if (is_catalog_db(c->tables[i].db))
			return true;
	return false;
}

static bool writes_catalog(const struct cls_result *c)
{
	if (c->kind == CLS_KIND_DDL || c->kind == CLS_KIND_ACCOUNT ||
	    (c->kind == CLS_KIND_OTHER && (c->flags & CLS_WRITE)))
		return true;
	for (size_t i = 0; i < c->n_tables; i++)
		if (c->tables[i].written && is_catalog_db(c->tables[i].db))
			return true;
	return false;
}

static bool add_catalog_mark(struct pin_names *n, const char *prefix)
{
	return add_mark(n, prefix, MARK_TOUCHED, PIN_CATALOG_DB, PIN_CATALOG_TABLE, NULL);
}

void pin_plan(struct session *s, const struct cls_result *c, const char *sql, size_t len,
              const struct keys_params *params, struct plan *p)
{
	struct pin_session *ps = &s->pin;
	const struct cfg_pinning *cfg = pin_cfg(s->worker);
	pin_plan_reset(s);
	if (cfg->mode == PIN_OFF)
		return;
	if (route_to_replica(p->reason)) {
		bool catalog = reads_catalog(c);
		if (c->n_tables == 0 && !catalog)
			return;
		if (!plan_read(s, c, sql, len, params, cfg->prefix) ||
		    (catalog && !add_catalog_mark(&ps->cmd, cfg->prefix))) {
			p->reason = ROUTE_PINNED; /* cannot name everything it reads */
			return;
		}
		ps->op = PIN_OP_READ;
		return;
	}
	if (c->kind == CLS_KIND_DDL)
		schema_mark_stale(&s->worker->proxy->schema);
	bool catalog = writes_catalog(c);
	if ((c->flags & CLS_WRITE) && (c->n_tables > 0 || catalog)) {
		if (!plan_write(s, c, sql, len, params, cfg->prefix) ||
		    (catalog && !add_catalog_mark(&ps->cmd, cfg->prefix)))
			names_clear(&ps->cmd); /* out of memory: see pin_before_command */
		ps->op = PIN_OP_WRITE;
	}
	if (ends_transaction(s, c) && ps->txn.n > 0) {
		ps->ends_txn = true;
		ps->rolls_back = c->kind == CLS_KIND_ROLLBACK;
		ps->op = PIN_OP_WRITE;
	}
}

/* ---- the command's way through ------------------------------------------------------------- */

static void apply_verdict(struct session *s, struct plan *p)
{
	switch (s->pin.verdict) {
	case PIN_FREE:
	case PIN_COVERED: return;
	case PIN_SAFE:
		counter_inc(&s->worker->counters.pin_safe_reads);
		__attribute__((fallthrough));
	case PIN_PINNED: p->reason = ROUTE_PINNED; return;
	}
}

/* What a write leaves in the session once it goes: its marks join the transaction's. */
static bool note_write(struct session *s)
{
	struct pin_session *ps = &s->pin;
	if (ps->ends_txn) {
		if (pin_cfg(s->worker)->mode == PIN_WINDOW || ps->rolls_back)
			names_clear(&ps->txn);
		return true;
	}
	return !ps->in_txn || names_merge(&ps->txn, &ps->cmd);
}

/* The marks a write sets before it leaves: its own, and at a commit the transaction's again
 * (window mode), since marks armed at the statements may expire before a long transaction
 * commits (CONSISTENCY.md mechanism 2). In gtid mode a commit arms nothing: the statements
 * armed their marks, and the commit's OK settles them (pin_after_reply). */
static bool marks_before(struct session *s, struct pin_names *out)
{
	struct pin_session *ps = &s->pin;
	bool gtid = pin_cfg(s->worker)->mode == PIN_GTID;
	if (ps->rolls_back)
		return true;
	if (gtid && ps->in_txn && !ps->ends_txn) {
		/* arm each mark once per transaction: the commit settles it once */
		for (size_t off = 0; off < ps->cmd.len; off += strlen(ps->cmd.buf + off) + 1)
			if (!names_has(&ps->txn, ps->cmd.buf + off) &&
			    !names_add(out, ps->cmd.buf + off, strlen(ps->cmd.buf + off)))
				return false;
		return true;
	}
	if (!names_merge(out, &ps->cmd))
		return false;
	return !ps->ends_txn || gtid || names_merge(out, &ps->txn);
}

bool pin_before_command(struct session *s, struct plan *p)
{
	struct pin_session *ps = &s->pin;
	struct pinner *pn = s->worker->pinner;
	if (ps->stage == PIN_ANSWERED) {
		ps->stage = PIN_IDLE;
		if (ps->op == PIN_OP_READ)
			apply_verdict(s, p);
		else if (!note_write(s))
			extend_safe_mode(pn);
		return true;
	}
	ps->verdict = PIN_FREE;
	switch (ps->op) {
	case PIN_OP_NONE: return true;
	case PIN_OP_READ:
		counter_inc(&s->worker->counters.pin_lookups);
		if (reads_safe(pn) ||
		    !(cache_wants_lookup(s) ? cache_send_lookup(s) : send_lookup(s))) {
			ps->verdict = PIN_SAFE;
			apply_verdict(s, p);
			return true;
		}
		break;
	case PIN_OP_WRITE: {
		struct pin_names marks = {0};
		bool sent =
		    marks_before(s, &marks) && (marks.n == 0 || send_marks(s, &marks, false, NULL));
		if (sent && marks.n > 0)
			cache_invalidate_marks(
			    s, &marks); /* right behind the marks, same connection */
		unsigned n = marks.n;
		names_free(&marks);
		if (!sent || n == 0) {
			if (!sent)
				extend_safe_mode(pn); /* this write goes unmarked */
			if (!note_write(s))
				extend_safe_mode(pn);
			return true;
		}
		counter_inc(&s->worker->counters.pin_marks);
		break;
	}
	}
	ps->stage = PIN_BEFORE;
	session_set_state(s, SESSION_PIN);
	return false;
}

void pin_command_sent(struct session *s)
{
	s->pin.stage = PIN_IDLE;
}

/* The rows an AUTO_INCREMENT insert created, from its OK packet's first id. */
static bool add_inserted_rows(struct session *s, struct pin_names *n)
{
	struct pin_session *ps = &s->pin;
	const char *prefix = pin_cfg(s->worker)->prefix;
	uint64_t first = s->reply.last_insert_id;
	if (ps->auto_rows == 0 || s->reply.failed || first == 0)
		return true;
	for (unsigned i = 0; i < ps->auto_rows; i++) {
		struct mark_key k;
		mark_key_init(&k);
		/* consecutive ids: innodb_autoinc_lock_mode 0 or 1, auto_increment_increment 1 */
		if (!mark_key_add_uint(&k, first + i) ||
		    !add_mark(n, prefix, MARK_ROW, ps->auto_db, ps->auto_table, &k))
			return false;
	}
	return true;
}

/* The marks to set now that the reply is known, and whether they arm (+1 pending) or settle.
 * window: the inserted rows (their ids were unknown before). gtid: inside a transaction, the
 * inserted rows are armed until the commit; otherwise the write's marks (at a commit, the
 * transaction's) are settled with the commit's GTID. */
static bool marks_after(struct session *s, struct pin_names *out, bool *settle)
{
	struct pin_session *ps = &s->pin;
	struct pin_names rows = {0};
	bool ok = add_inserted_rows(s, &rows);
	*settle = false;
	if (ok && pin_cfg(s->worker)->mode == PIN_WINDOW) {
		ok = names_merge(out, &rows) &&
		     (!ps->in_txn || ps->ends_txn || names_merge(&ps->txn, &rows));
	} else if (ok && ps->in_txn && !ps->ends_txn) {
		ok = names_merge(out, &rows) && names_merge(&ps->txn, &rows);
	} else if (ok) {
		*settle = true;
		ok =
		    names_merge(out, ps->ends_txn ? &ps->txn : &ps->cmd) && names_merge(out, &rows);
		if (ps->ends_txn)
			names_clear(&ps->txn);
	}
	names_free(&rows);
	return ok;
}

bool pin_after_reply(struct session *s)
{
	struct pin_session *ps = &s->pin;
	struct pinner *pn = s->worker->pinner;
	if (ps->op != PIN_OP_WRITE || pin_cfg(s->worker)->mode == PIN_OFF || ps->rolls_back)
		return false;
	struct pin_names marks = {0};
	bool settle;
	/* Without session tracking (the client did not ask for it) the GTID is unknown: the
	 * settled mark says "*", which pins for the window as window mode does. */
	const char *gtid = s->reply.last_gtid[0] ? s->reply.last_gtid : "*";
	bool sent = marks_after(s, &marks, &settle) &&
	            (marks.n == 0 || send_marks(s, &marks, settle, gtid));
	unsigned n = marks.n;
	names_free(&marks);
	if (!sent)
		extend_safe_mode(pn);
	if (!sent || n == 0)
		return false;
	counter_inc(&s->worker->counters.pin_marks);
	ps->stage = PIN_AFTER;
	session_set_state(s, SESSION_PIN);
	return true;
}

void pin_forget_transaction(struct session *s)
{
	names_clear(&s->pin.txn);
}

void pin_session_free(struct session *s)
{
	struct pin_session *ps = &s->pin;
	if (ps->req)
		ps->req->session = NULL; /* its reply only frees it now */
	ps->req = NULL;
	ps->stage = PIN_IDLE;
	names_free(&ps->cmd);
	names_free(&ps->txn);
}

bool pin_replica_allowed(const struct session *s, struct backend *b)
{
	if (s->pin.verdict != PIN_COVERED)
		return true;
	char pos[sizeof(b->gtid)];
	backend_get_gtid(b, pos, sizeof(pos));
	return mark_allows(&s->pin.need, pos);
}
