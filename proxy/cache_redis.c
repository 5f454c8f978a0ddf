/*
 * cache_redis.c - the cache's Redis requests (see cache_redis.h).
 */
#include "cache_redis.h"

#include "config.h"
#include "marks.h"
#include "pin.h"
#include "worker.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void args_push(struct cache_args *a, const void *bytes, size_t len)
{
	if (a->failed)
		return;
	if (a->n == a->cap_n) {
		int cap = a->cap_n ? 2 * a->cap_n : 32;
		size_t *at = realloc(a->at, (size_t)cap * sizeof(*at));
		size_t *lens = at ? realloc(a->lens, (size_t)cap * sizeof(*lens)) : NULL;
		if (at)
			a->at = at;
		if (!lens) {
			a->failed = true;
			return;
		}
		a->lens = lens;
		a->cap_n = cap;
	}
	if (a->len + len > a->cap) {
		size_t cap = a->cap ? a->cap : 1024;
		while (cap < a->len + len)
			cap *= 2;
		char *buf = realloc(a->buf, cap);
		if (!buf) {
			a->failed = true;
			return;
		}
		a->buf = buf;
		a->cap = cap;
	}
	if (len > 0) /* an empty argument may come as NULL */
		memcpy(a->buf + a->len, bytes, len);
	a->at[a->n] = a->len;
	a->lens[a->n++] = len;
	a->len += len;
}

static void args_push_str(struct cache_args *a, const char *s)
{
	args_push(a, s, strlen(s));
}

static void args_push_u64(struct cache_args *a, uint64_t v)
{
	char num[24];
	args_push(a, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, v));
}

void cache_args_free(struct cache_args *a)
{
	free(a->buf);
	free(a->at);
	free(a->lens);
}

/* The argv the arguments make: pointers into a->buf, valid until a changes. */
const char **cache_args_argv(struct cache_args *a)
{
	const char **argv = a->failed ? NULL : malloc((size_t)a->n * sizeof(*argv));
	for (int i = 0; argv && i < a->n; i++)
		argv[i] = a->buf + a->at[i];
	return argv;
}

/* Sends a on the worker's pin connection, answered to cb(privdata); false if it could not be. */
bool cache_args_send(struct worker *w, struct cache_args *a, redisCallbackFn *cb, void *privdata)
{
	redisAsyncContext *ac = pinner_connection(w->pinner);
	const char **argv = ac ? cache_args_argv(a) : NULL;
	bool sent =
	    argv && redisAsyncCommandArgv(ac, cb, privdata, a->n, argv, a->lens) == REDIS_OK;
	free(argv);
	return sent;
}

static void push_version(struct cache_args *a, const char *prefix, const char *dep)
{
	char key[MARK_NAME_MAX + 32];
	size_t n = results_key_name(key, sizeof(key), prefix, RESULTS_VERSION, dep);
	if (n == 0)
		a->failed = true;
	args_push(a, key, n);
}

/* KEYS of LOOKUP and FILL: marks, versions (and "all"), the entry, the lease. *m and *v count
 * the first two groups. */
static void push_read_keys(struct cache_args *a, const struct cache_read *r, unsigned *m,
                           unsigned *v)
{
	*m = r->marks->n;
	*v = r->marks->n + 1;
	FOR_EACH_NAME(r->marks, name)
	args_push_str(a, name);
	FOR_EACH_NAME(r->marks, name)
	{
		const char *dep = results_dep_of_mark(name, r->prefix);
		if (!dep)
			a->failed = true;
		else
			push_version(a, r->prefix, dep);
	}
	push_version(a, r->prefix, RESULTS_DEP_ALL);
	char hex[RESULTS_DIGEST_HEX + 1], key[CFG_NAME_MAX + RESULTS_DIGEST_HEX + 16];
	results_digest_hex(r->digest, hex);
	args_push(a, key, results_key_name(key, sizeof(key), r->prefix, RESULTS_ENTRY, hex));
	args_push(a, key, results_key_name(key, sizeof(key), r->prefix, RESULTS_LEASE, hex));
}

/* The tag sets of the row deps among marks. */
static unsigned push_tags(struct cache_args *a, const char *prefix, const struct pin_names *marks)
{
	unsigned n = 0;
	FOR_EACH_NAME(marks, name)
	{
		const char *dep = results_dep_of_mark(name, prefix);
		if (!dep || !results_dep_is_row(dep))
			continue;
		char key[MARK_NAME_MAX + 32];
		size_t len = results_tag_name(key, sizeof(key), prefix, dep);
		if (len == 0)
			a->failed = true;
		args_push(a, key, len);
		n++;
	}
	return n;
}

static void set_numkeys(struct cache_args *a, int index, unsigned n)
{
	char num[16];
	int len = snprintf(num, sizeof(num), "%u", n);
	/* numkeys was pushed as a 10-character placeholder: overwrite it in place */
	memset(a->buf + a->at[index], ' ', a->lens[index]);
	memcpy(a->buf + a->at[index], num, (size_t)len);
	a->lens[index] = (size_t)len;
}

/* ---- scripts by their SHA-1 -------------------------------------------------------------- */

/* LOOKUP and FILL go as EVALSHA: one per cacheable read would otherwise send the script's text
 * and make Redis hash it again. INVALIDATE keeps EVAL: losing one to a flushed script cache
 * would lose an invalidation, where a failed lookup or fill only costs a miss. */
static const char *const by_sha[] = {RESULTS_LUA_LOOKUP, RESULTS_LUA_FILL};
static char shas[2][41];
static pthread_once_t shas_once = PTHREAD_ONCE_INIT;

static void compute_shas(void)
{
	for (size_t i = 0; i < 2; i++) {
		uint8_t md[20];
		unsigned n = 0;
		if (!EVP_Digest(by_sha[i], strlen(by_sha[i]), md, &n, EVP_sha1(), NULL) || n != 20)
			abort(); /* OpenSSL without SHA-1: nothing here can work */
		for (unsigned j = 0; j < 20; j++)
			snprintf(shas[i] + 2 * j, 3, "%02x", md[j]);
	}
}

static const char *sha_of(const char *script)
{
	pthread_once(&shas_once, compute_shas);
	return shas[script == RESULTS_LUA_FILL];
}

void cache_scripts_load(struct redisAsyncContext *ac)
{
	for (size_t i = 0; i < 2; i++)
		redisAsyncCommand(ac, NULL, NULL, "SCRIPT LOAD %s", by_sha[i]);
}

bool cache_script_missing(const struct redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* EVAL script <numkeys> (EVALSHA for LOOKUP and FILL): numkeys is filled in by set_numkeys once
 * the keys are pushed. */
static int push_eval(struct cache_args *a, const char *script)
{
	bool sha = script == RESULTS_LUA_LOOKUP || script == RESULTS_LUA_FILL;
	args_push_str(a, sha ? "EVALSHA" : "EVAL");
	args_push_str(a, sha ? sha_of(script) : script);
	args_push_str(a, "0000000000");
	return a->n - 1;
}

void cache_args_lookup(struct cache_args *a, const struct cache_read *r, const char *token,
                       int lease_ms)
{
	int numkeys = push_eval(a, RESULTS_LUA_LOOKUP);
	unsigned m, v;
	push_read_keys(a, r, &m, &v);
	if (!a->failed)
		set_numkeys(a, numkeys, m + v + 2);
	args_push_u64(a, m);
	args_push_str(a, token);
	args_push_u64(a, (uint64_t)lease_ms);
}

void cache_args_fill(struct cache_args *a, const struct cache_read *r, const char *token,
                     const char *stamp, size_t stamp_len, uint64_t ttl_ms, const uint8_t *bytes,
                     size_t len)
{
	int numkeys = push_eval(a, RESULTS_LUA_FILL);
	unsigned m, v;
	push_read_keys(a, r, &m, &v);
	unsigned tags = push_tags(a, r->prefix, r->marks);
	if (!a->failed)
		set_numkeys(a, numkeys, m + v + 2 + tags);
	args_push_u64(a, m);
	args_push_u64(a, v);
	args_push_str(a, token);
	args_push(a, stamp, stamp_len);
	args_push_u64(a, ttl_ms);
	args_push(a, bytes, bytes ? len : 0);
}

unsigned cache_args_invalidate(struct cache_args *a, const char *prefix,
                               const struct pin_names *marks, const char *version, uint64_t now_ms)
{
	struct cache_args msg = {0};
	int numkeys = push_eval(a, RESULTS_LUA_INVALIDATE);
	unsigned n = 0;
	char head[24], channel[CFG_NAME_MAX + 16];
	args_push(&msg, head, (size_t)snprintf(head, sizeof(head), "%" PRIu64, now_ms));
	FOR_EACH_NAME(marks, name)
	{
		const char *dep = results_dep_of_mark(name, prefix);
		if (!dep)
			continue;
		push_version(a, prefix, dep);
		args_push(&msg, " ", 1);
		args_push_str(&msg, dep);
		n++;
	}
	unsigned tags = push_tags(a, prefix, marks);
	if (!a->failed)
		set_numkeys(a, numkeys, n + tags);
	args_push_u64(a, n);
	args_push_str(a, version);
	args_push_u64(a, RESULTS_VERSION_TTL_MS);
	args_push(a, channel, results_channel(channel, sizeof(channel), prefix));
	args_push(a, msg.buf, msg.len);
	a->failed = a->failed || msg.failed;
	cache_args_free(&msg);
	return n;
}
