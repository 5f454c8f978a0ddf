/*
 * publish.c - marks, stream entries and the checkpoint in Redis (see publish.h).
 */
#include "publish.h"

#include "log.h"
#include "results.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* KEYS[1] = leader, KEYS[2] = stream, KEYS[3] = checkpoint; ARGV[1] = our id, ARGV[2] = stream
 * MAXLEN, ARGV[3] = position, ARGV[4..] = the entry's field/value pairs (none: checkpoint only). */
static const char publish_lua[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then\n"
    "  return redis.error_reply('FENCED this tailer does not hold the lease')\n"
    "end\n"
    "local id = false\n"
    "if #ARGV > 3 then\n"
    "  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4))\n"
    "end\n"
    "redis.call('SET', KEYS[3], ARGV[3])\n"
    "return id\n";

/* ---- argument lists ------------------------------------------------------------------------ */

void fields_clear(struct fields *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	f->n = 0;
	f->failed = false;
}

void fields_free(struct fields *f)
{
	fields_clear(f);
	free(f->v);
	free(f->len);
	memset(f, 0, sizeof(*f));
}

static bool fields_push(struct fields *f, const char *s, size_t len)
{
	if (f->failed)
		return false;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		char **v = realloc(f->v, cap * sizeof(*v));
		if (v)
			f->v = v;
		size_t *l = realloc(f->len, cap * sizeof(*l));
		if (l)
			f->len = l;
		if (!v || !l)
			return f->failed = true, false;
		f->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return f->failed = true, false;
	memcpy(copy, s, len);
	copy[len] = '\0';
	f->v[f->n] = copy;
	f->len[f->n++] = len;
	return true;
}

static bool fields_push_str(struct fields *f, const char *s)
{
	return fields_push(f, s, strlen(s));
}

static bool fields_contains(const struct fields *f, size_t from, const char *s)
{
	for (size_t i = from; i < f->n; i++)
		if (!strcmp(f->v[i], s))
			return true;
	return false;
}

/* ---- the entry ----------------------------------------------------------------------------- */

/* A dep spelt as in its mark's name: "db.table" or "db.table:key" (the part after P:pin:X:). */
static size_t spell_dep(char *out, enum mark_kind kind, const struct txn_table *t,
                        const struct mark_key *key)
{
	size_t n = mark_name(out, "", kind, t->name.db, t->name.table, key);
	const size_t skip = strlen(":pin:x:");
	if (n <= skip)
		return 0;
	memmove(out, out + skip, n - skip + 1);
	return n - skip;
}

static void key_of(const struct txn_key *k, struct mark_key *out)
{
	mark_key_init(out);
	out->len = strlen(k->text);
	memcpy(out->text, k->text, out->len + 1);
	out->n_values = 1;
}

bool publish_entry_fields(const struct txn *t, uint64_t fence, struct fields *out)
{
	char buf[MARK_NAME_MAX];
	fields_clear(out);
	snprintf(buf, sizeof(buf), "%" PRIu32 "-%" PRIu32 "-%" PRIu64, t->gtid.domain,
	         t->gtid.server, t->gtid.seq);
	fields_push_str(out, "v");
	fields_push_str(out, "1");
	fields_push_str(out, "gtid");
	fields_push_str(out, buf);
	snprintf(buf, sizeof(buf), "%" PRIu32, t->commit_ts);
	fields_push_str(out, "ts");
	fields_push_str(out, buf);
	snprintf(buf, sizeof(buf), "%" PRIu64, fence);
	fields_push_str(out, "fence");
	fields_push_str(out, buf);
	if (t->all) {
		fields_push_str(out, "all");
		fields_push_str(out, t->all_reason);
	}
	for (size_t i = 0; i < t->n_tables; i++) {
		const struct txn_table *tb = &t->tables[i];
		size_t n = spell_dep(buf, MARK_WHOLE, tb, NULL);
		if (tb->whole && n) {
			fields_push_str(out, "w");
			fields_push(out, buf, n);
		}
		if (tb->schema && n) {
			fields_push_str(out, "ddl");
			fields_push(out, buf, n);
		}
	}
	struct mark_key key;
	for (size_t i = 0; i < t->n_keys; i++) {
		const struct txn_table *tb = &t->tables[t->keys[i].table];
		if (tb->whole)
			continue;
		key_of(&t->keys[i], &key);
		size_t n = spell_dep(buf, MARK_ROW, tb, &key);
		if (n) {
			fields_push_str(out, "k");
			fields_push(out, buf, n);
		} else {
			/* a name too long for a mark: this entry falls back to everything */
			fields_push_str(out, "all");
			fields_push_str(out, "name too long");
		}
	}
	return !out->failed;
}

bool publish_mark_names(const struct txn *t, const char *prefix, struct fields *out)
{
	char buf[MARK_NAME_MAX];
	size_t first = out->n;
	struct mark_key key;
	for (size_t i = 0; i < t->n_keys; i++) {
		const struct txn_table *tb = &t->tables[t->keys[i].table];
		if (tb->whole)
			continue;
		key_of(&t->keys[i], &key);
		size_t n = mark_name(buf, prefix, MARK_ROW, tb->name.db, tb->name.table, &key);
		if (n)
			fields_push(out, buf, n);
	}
	for (size_t i = 0; i < t->n_tables; i++) {
		const struct txn_table *tb = &t->tables[i];
		size_t n = mark_name(buf, prefix, MARK_TOUCHED, tb->name.db, tb->name.table, NULL);
		if (n && !fields_contains(out, first, buf))
			fields_push(out, buf, n);
		if (!tb->whole)
			continue;
		n = mark_name(buf, prefix, MARK_WHOLE, tb->name.db, tb->name.table, NULL);
		if (n)
			fields_push(out, buf, n);
	}
	return !out->failed;
}

/* ---- Redis --------------------------------------------------------------------------------- */

void publisher_init(struct publisher *p, struct rlink *link, const char *prefix, int window_ms,
                    int maxlen, bool cache)
{
	memset(p, 0, sizeof(*p));
	p->cache = cache;
	p->link = link;
	p->prefix = prefix;
	p->window_ms = window_ms;
	p->maxlen = maxlen;
	snprintf(p->stream_key, sizeof(p->stream_key), "%s:inval", prefix);
	snprintf(p->checkpoint_key, sizeof(p->checkpoint_key), "%s:binlog:checkpoint", prefix);
}

void publisher_free(struct publisher *p)
{
	fields_free(&p->args);
}

static enum publish_result run(struct publisher *p, const char *what)
{
	if (p->args.failed) {
		log_error("binlog: %s: out of memory", what);
		return PUBLISH_FAILED;
	}
	redisReply *rep =
	    rlink_argv(p->link, (int)p->args.n, (const char **)p->args.v, p->args.len);
	enum publish_result r = PUBLISH_OK;
	if (!rep) {
		r = PUBLISH_FAILED;
	} else if (rep->type == REDIS_REPLY_ERROR) {
		r = strstr(rep->str, "FENCED") ? PUBLISH_FENCED : PUBLISH_FAILED;
		if (r == PUBLISH_FAILED)
			log_warn("binlog: %s: redis: %s", what, rep->str);
	}
	freeReplyObject(rep);
	return r;
}

/* 1. EVAL MARKS_LUA_SETTLE with every mark name, ARGV = window, GTID, 0 pending. */
static enum publish_result settle_marks(struct publisher *p, const struct txn *t)
{
	struct fields *a = &p->args;
	fields_clear(a);
	fields_push_str(a, "EVAL");
	fields_push_str(a, MARKS_LUA_SETTLE);
	fields_push_str(a, "0"); /* numkeys, set below */
	size_t first = a->n;
	if (!publish_mark_names(t, p->prefix, a))
		return run(p, "marks");
	size_t n_keys = a->n - first;
	if (n_keys == 0)
		return PUBLISH_OK;
	char num[24];
	snprintf(num, sizeof(num), "%zu", n_keys);
	free(a->v[2]);
	a->v[2] = strdup(num);
	a->len[2] = strlen(num);
	if (!a->v[2])
		a->failed = true;
	snprintf(num, sizeof(num), "%d", p->window_ms);
	fields_push_str(a, num);
	char gtid[64];
	snprintf(gtid, sizeof(gtid), "%" PRIu32 "-%" PRIu32 "-%" PRIu64, t->gtid.domain,
	         t->gtid.server, t->gtid.seq);
	fields_push_str(a, gtid);
	fields_push_str(a, "0");
	return run(p, "marks");
}

/* The cache's deps of t's marks (cache/results.h), and "all" when t invalidates everything. */
static void cache_deps(struct publisher *p, const struct txn *t, struct fields *deps)
{
	struct fields marks = {0};
	if (!publish_mark_names(t, p->prefix, &marks))
		deps->failed = true;
	for (size_t i = 0; i < marks.n; i++) {
		const char *dep = results_dep_of_mark(marks.v[i], p->prefix);
		if (dep)
			fields_push_str(deps, dep);
	}
	fields_free(&marks);
	if (t->all)
		fields_push_str(deps, RESULTS_DEP_ALL);
}

/* Pushes the name (built into buf, n bytes; 0 when it did not fit). */
static void push_name(struct fields *a, const char *buf, size_t n)
{
	if (n == 0)
		a->failed = true;
	else
		fields_push(a, buf, n);
}

/* "<unix ms> <dep> <dep>...", what the in-process tiers read (proxy/cache_feed.c). */
static void push_drop_message(struct fields *a, const struct fields *deps)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	size_t len = 24;
	for (size_t i = 0; i < deps->n; i++)
		len += deps->len[i] + 1;
	char *msg = malloc(len);
	if (!msg) {
		a->failed = true;
		return;
	}
	size_t at = (size_t)snprintf(msg, len, "%" PRIu64,
	                             (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000);
	for (size_t i = 0; i < deps->n; i++) {
		msg[at++] = ' ';
		memcpy(msg + at, deps->v[i], deps->len[i]);
		at += deps->len[i];
	}
	fields_push(a, msg, at);
	free(msg);
}

/* 2. The result cache: every dep t changed gets t's GTID as its version (which voids every
 * entry and lease stamped before), entries tagged with a changed row are deleted, and the
 * proxies' in-process tiers are told on P:c:drop. */
static enum publish_result publish_invalidate_cache(struct publisher *p, const struct txn *t)
{
	if (!p->cache)
		return PUBLISH_OK;
	struct fields deps = {0};
	cache_deps(p, t, &deps);
	struct fields *a = &p->args;
	char buf[MARK_NAME_MAX + PUBLISH_KEY_MAX];
	size_t n_tags = 0;
	fields_clear(a);
	fields_push_str(a, "EVAL");
	fields_push_str(a, RESULTS_LUA_INVALIDATE);
	fields_push_str(a, "0"); /* numkeys, set below */
	for (size_t i = 0; i < deps.n; i++)
		push_name(
		    a, buf,
		    results_key_name(buf, sizeof(buf), p->prefix, RESULTS_VERSION, deps.v[i]));
	for (size_t i = 0; i < deps.n; i++) {
		if (!results_dep_is_row(deps.v[i]))
			continue;
		push_name(a, buf, results_tag_name(buf, sizeof(buf), p->prefix, deps.v[i]));
		n_tags++;
	}
	snprintf(buf, sizeof(buf), "%zu", deps.n + n_tags);
	free(a->v[2]);
	a->v[2] = strdup(buf);
	a->len[2] = strlen(buf);
	a->failed = a->failed || !a->v[2] || deps.failed;
	snprintf(buf, sizeof(buf), "%zu", deps.n);
	fields_push_str(a, buf);
	snprintf(buf, sizeof(buf), "%" PRIu32 "-%" PRIu32 "-%" PRIu64, t->gtid.domain,
	         t->gtid.server, t->gtid.seq);
	fields_push_str(a, buf);
	snprintf(buf, sizeof(buf), "%d", RESULTS_VERSION_TTL_MS);
	fields_push_str(a, buf);
	push_name(a, buf, results_channel(buf, sizeof(buf), p->prefix));
	push_drop_message(a, &deps);
	size_t n_deps = deps.n;
	fields_free(&deps);
	return n_deps ? run(p, "cache invalidation") : PUBLISH_OK;
}

/* 3. The fenced script: entry (if fields) and checkpoint. */
static enum publish_result append_and_checkpoint(struct publisher *p, const struct txn *t,
                                                 struct lease *l, const char *position)
{
	struct fields entry = {0};
	if (t && !publish_entry_fields(t, atomic_load(&l->fence), &entry)) {
		fields_free(&entry);
		log_error("binlog: stream entry: out of memory");
		return PUBLISH_FAILED;
	}
	struct fields *a = &p->args;
	char maxlen[24];
	snprintf(maxlen, sizeof(maxlen), "%d", p->maxlen);
	fields_clear(a);
	fields_push_str(a, "EVAL");
	fields_push_str(a, publish_lua);
	fields_push_str(a, "3");
	fields_push_str(a, l->key);
	fields_push_str(a, p->stream_key);
	fields_push_str(a, p->checkpoint_key);
	fields_push_str(a, l->id);
	fields_push_str(a, maxlen);
	fields_push_str(a, position);
	for (size_t i = 0; i < entry.n; i++)
		fields_push(a, entry.v[i], entry.len[i]);
	fields_free(&entry);
	return run(p, t ? "stream entry" : "checkpoint");
}

enum publish_result publish_txn(struct publisher *p, const struct txn *t, struct lease *l,
                                const char *position)
{
	enum publish_result r = settle_marks(p, t);
	if (r == PUBLISH_OK)
		r = publish_invalidate_cache(p, t);
	if (r == PUBLISH_OK)
		r = append_and_checkpoint(p, t, l, position);
	return r;
}

enum publish_result publish_checkpoint(struct publisher *p, struct lease *l, const char *position)
{
	return append_and_checkpoint(p, NULL, l, position);
}

int publish_read_checkpoint(struct publisher *p, char *out, size_t cap)
{
	redisReply *rep = rlink_cmd(p->link, "GET %s", p->checkpoint_key);
	int found = -1;
	if (rep && rep->type == REDIS_REPLY_NIL) {
		found = 0;
	} else if (rep && rep->type == REDIS_REPLY_STRING && rep->len < cap) {
		memcpy(out, rep->str, rep->len);
		out[rep->len] = '\0';
		found = 1;
	}
	freeReplyObject(rep);
	return found;
}
