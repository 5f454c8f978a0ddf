/*
 * test_cache_local.c - unit tests for proxy/cache_local.c, the per-worker in-process cache tier.
 *
 * The cases: storing, replacing and reading entries; the LRU order and eviction when the bytes
 * run out, and entries too big for the tier; expiry and hit counts; dropping by dep (deps shared
 * by several entries, entries with several deps, names listed twice, exact-match names); drop
 * and clear, with the accounting back at 0. Sizes are never hard-coded: a test that needs room
 * for exactly n entries measures what one costs first. Last, a randomized run against a
 * reference model that checks every answer, the count, the bound, that evictions take the least
 * recently used entries, and cache_local_verify()'s walk of the internal structures.
 */
#include "cache_local.h"

#include "check_main.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG    (1024 * 1024) /* a tier nothing in these tests fills */
#define NEVER  UINT64_MAX    /* an expiry no test reaches */
#define RESULT 1000          /* a result's length where size does not matter */

/* ck_assert reports every check that passes to the runner, a system call each: far too slow for
 * millions of checks. This one calls into Check only when the condition fails. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                      \
	} while (0)

static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Digest number i: random-looking, as a SHA-256 is. */
static const uint8_t *digest(unsigned i)
{
	static uint8_t d[CACHE_DIGEST_LEN];
	uint64_t state = i;
	for (size_t off = 0; off < sizeof(d); off += 8) {
		uint64_t v = splitmix(&state);
		memcpy(d + off, &v, 8);
	}
	return d;
}

/* A result of len bytes that says which one it is. */
static const uint8_t *result(unsigned seed, size_t len)
{
	static uint8_t buf[64 * 1024];
	CHECK(len <= sizeof(buf));
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i);
	return buf;
}

static bool is_result(const struct cache_local_entry *e, unsigned seed, size_t len)
{
	return e && e->len == len && (len == 0 || memcmp(e->bytes, result(seed, len), len) == 0);
}

/* Puts result(i, len) under digest(i) with the deps given as one string of "\0"-separated
 * names ending in "\0" (a C literal "a\0b\0" has sizeof 5: pass it with the macro below). */
static bool put_deps(struct cache_local *t, unsigned i, size_t len, const char *deps,
                     size_t deps_len, unsigned n_deps, uint64_t expires)
{
	return cache_local_put(t, digest(i), result(i, len), len, deps, deps_len, n_deps, expires);
}

#define PUT_DEPS(t, i, deps, n) put_deps(t, i, RESULT, deps, sizeof(deps) - 1, n, NEVER)

static bool put(struct cache_local *t, unsigned i, size_t len)
{
	return put_deps(t, i, len, NULL, 0, 0, NEVER);
}

static const struct cache_local_entry *get(struct cache_local *t, unsigned i)
{
	return cache_local_get(t, digest(i), 0);
}

static bool has(const struct cache_local *t, unsigned i)
{
	return cache_local_peek(t, digest(i)) != NULL;
}

static size_t drop_dep(struct cache_local *t, const char *name)
{
	return cache_local_drop_dep(t, name, strlen(name));
}

/* What the first entry of len bytes costs (with the tables' slots), and each next one. */
static void measure(size_t len, size_t *first, size_t *next)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(put(t, 1, len));
	*first = cache_local_bytes(t);
	ck_assert(put(t, 2, len));
	*next = cache_local_bytes(t) - *first;
	cache_local_free(t);
}

/* ---- storing and reading ----------------------------------------------------------------- */

START_TEST(empty_tier)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(cache_local_count(t), 0);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	ck_assert_ptr_null(get(t, 1));
	ck_assert_uint_eq(drop_dep(t, "a"), 0);
	cache_local_drop(t, digest(1));
	cache_local_clear(t);
	ck_assert(cache_local_verify(t));
	cache_local_free(t);
	cache_local_free(NULL);
}
END_TEST

START_TEST(put_then_get)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(put_deps(t, 1, 300, "sluice:pin:k:db.t:5\0", 20, 1, 5000));
	ck_assert_uint_eq(cache_local_count(t), 1);
	/* at least the result, the dep name and the structs around them */
	ck_assert_uint_gt(cache_local_bytes(t), 300 + 19 + 64);
	const struct cache_local_entry *e = cache_local_get(t, digest(1), 100);
	ck_assert(is_result(e, 1, 300));
	ck_assert_uint_eq(e->expires_ms, 5000);
	ck_assert_uint_eq(e->hits, 1);
	ck_assert_ptr_null(get(t, 2));
	ck_assert(cache_local_verify(t));
	cache_local_free(t);
}
END_TEST

START_TEST(put_copies_the_bytes)
{
	struct cache_local *t = cache_local_new(BIG);
	uint8_t mine[4] = {1, 2, 3, 4};
	ck_assert(cache_local_put(t, digest(1), mine, sizeof(mine), NULL, 0, 0, NEVER));
	memset(mine, 0, sizeof(mine));
	const struct cache_local_entry *e = get(t, 1);
	ck_assert_uint_eq(e->len, 4);
	ck_assert_uint_eq(e->bytes[0], 1);
	ck_assert_uint_eq(e->bytes[3], 4);
	cache_local_free(t);
}
END_TEST

START_TEST(empty_result)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(cache_local_put(t, digest(1), NULL, 0, "d\0", 2, 1, NEVER));
	const struct cache_local_entry *e = get(t, 1);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->len, 0);
	ck_assert_uint_eq(drop_dep(t, "d"), 1);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

START_TEST(replace)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(put(t, 1, 100));
	ck_assert_ptr_nonnull(get(t, 1));
	ck_assert(put(t, 2, 100));
	size_t two_small = cache_local_bytes(t);
	/* the replacement's own content under the same digest; its hits start again */
	ck_assert(cache_local_put(t, digest(1), result(7, 900), 900, NULL, 0, 0, 42));
	ck_assert_uint_eq(cache_local_count(t), 2);
	ck_assert_uint_eq(cache_local_bytes(t), two_small + 800);
	const struct cache_local_entry *e = cache_local_get(t, digest(1), 0);
	ck_assert(is_result(e, 7, 900));
	ck_assert_uint_eq(e->hits, 1);
	ck_assert_uint_eq(e->expires_ms, 42);
	ck_assert(put(t, 1, 100));
	ck_assert_uint_eq(cache_local_bytes(t), two_small);
	ck_assert(cache_local_verify(t));
	cache_local_free(t);
}
END_TEST

/* Digests whose first 8 bytes (the hash) agree are still told apart. */
START_TEST(same_hash_other_digest)
{
	struct cache_local *t = cache_local_new(BIG);
	uint8_t a[CACHE_DIGEST_LEN] = {0}, b[CACHE_DIGEST_LEN] = {0};
	b[CACHE_DIGEST_LEN - 1] = 1;
	ck_assert(cache_local_put(t, a, result(1, 10), 10, NULL, 0, 0, NEVER));
	ck_assert(cache_local_put(t, b, result(2, 20), 20, NULL, 0, 0, NEVER));
	ck_assert(is_result(cache_local_get(t, a, 0), 1, 10));
	ck_assert(is_result(cache_local_get(t, b, 0), 2, 20));
	cache_local_drop(t, a);
	ck_assert_ptr_null(cache_local_get(t, a, 0));
	ck_assert(is_result(cache_local_get(t, b, 0), 2, 20));
	cache_local_free(t);
}
END_TEST

START_TEST(disabled_tier)
{
	struct cache_local *t = cache_local_new(0);
	ck_assert(!put(t, 1, 10));
	ck_assert(!put(t, 1, 0));
	ck_assert_ptr_null(get(t, 1));
	ck_assert_uint_eq(cache_local_count(t), 0);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

/* ---- hits and expiry --------------------------------------------------------------------- */

START_TEST(hits_count)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(put(t, 1, 10));
	ck_assert_uint_eq(cache_local_peek(t, digest(1))->hits, 0);
	for (unsigned i = 1; i <= 5; i++)
		ck_assert_uint_eq(get(t, 1)->hits, i);
	ck_assert_uint_eq(cache_local_peek(t, digest(1))->hits, 5); /* a peek is no hit */
	ck_assert_ptr_null(get(t, 2));                              /* nor is a miss */
	ck_assert_uint_eq(get(t, 1)->hits, 6);
	cache_local_free(t);
}
END_TEST

START_TEST(expiry)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(put_deps(t, 1, 10, "a\0", 2, 1, 1000));
	ck_assert(put_deps(t, 2, 10, "a\0", 2, 1, 2000));
	ck_assert_ptr_nonnull(cache_local_get(t, digest(1), 0));
	ck_assert_ptr_nonnull(cache_local_get(t, digest(1), 999));
	/* expired from expires_ms on, and dropped by the get that finds it so */
	ck_assert_ptr_null(cache_local_get(t, digest(1), 1000));
	ck_assert_uint_eq(cache_local_count(t), 1);
	ck_assert(!has(t, 1));
	ck_assert_ptr_nonnull(cache_local_get(t, digest(2), 1999));
	/* an expired entry not yet read still holds its place (and its dep) */
	ck_assert_uint_eq(drop_dep(t, "a"), 1);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	/* an entry stored already expired is stored, and dropped by the next get */
	ck_assert(put_deps(t, 3, 10, NULL, 0, 0, 0));
	ck_assert(has(t, 3));
	ck_assert_ptr_null(cache_local_get(t, digest(3), 0));
	ck_assert_uint_eq(cache_local_count(t), 0);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

/* ---- LRU and the bound ------------------------------------------------------------------- */

START_TEST(lru_eviction)
{
	size_t first, next;
	measure(RESULT, &first, &next);
	/* room for three entries, not four */
	struct cache_local *t = cache_local_new(first + 2 * next + next / 2);
	ck_assert(put(t, 1, RESULT));
	ck_assert(put(t, 2, RESULT));
	ck_assert(put(t, 3, RESULT));
	ck_assert_uint_eq(cache_local_count(t), 3);
	ck_assert_ptr_nonnull(get(t, 1)); /* 2 is now the least recently used */
	ck_assert(put(t, 4, RESULT));
	ck_assert_uint_eq(cache_local_count(t), 3);
	ck_assert(has(t, 1) && !has(t, 2) && has(t, 3) && has(t, 4));
	ck_assert(put(t, 5, RESULT)); /* then 3 */
	ck_assert(has(t, 1) && !has(t, 3) && has(t, 4) && has(t, 5));
	ck_assert(put(t, 4, RESULT)); /* replacing 4 makes it the newest: 1 goes next */
	ck_assert(put(t, 6, RESULT));
	ck_assert(!has(t, 1) && has(t, 4) && has(t, 5) && has(t, 6));
	/* a bigger entry takes as many as it needs, oldest first */
	ck_assert(put(t, 7, 2 * RESULT));
	ck_assert(!has(t, 5) && !has(t, 4) && has(t, 6) && has(t, 7));
	ck_assert_uint_le(cache_local_bytes(t), first + 2 * next + next / 2);
	ck_assert(cache_local_verify(t));
	cache_local_free(t);
}
END_TEST

START_TEST(larger_than_the_tier)
{
	size_t first, next;
	measure(RESULT, &first, &next);
	size_t max = first + 2 * next;
	struct cache_local *t = cache_local_new(max);
	ck_assert(put(t, 1, RESULT));
	ck_assert(put(t, 2, RESULT));
	size_t bytes = cache_local_bytes(t);
	/* too big even alone: refused, evicting nothing, but the old entry under 1 is gone */
	ck_assert(!put(t, 1, max));
	ck_assert(!has(t, 1) && has(t, 2));
	ck_assert_uint_eq(cache_local_bytes(t), bytes - next);
	ck_assert(!cache_local_put(t, digest(3), NULL, SIZE_MAX, NULL, 0, 0, NEVER));
	ck_assert(!cache_local_put(t, digest(3), NULL, 0, "x\0", SIZE_MAX, 1, NEVER));
	ck_assert(has(t, 2));
	/* the biggest that fits alone evicts everything else */
	ck_assert(!put(t, 4, max - first + RESULT + 1));
	ck_assert(put(t, 4, max - first + RESULT));
	ck_assert_uint_eq(cache_local_count(t), 1);
	ck_assert_uint_eq(cache_local_bytes(t), max);
	ck_assert(cache_local_verify(t));
	cache_local_free(t);
}
END_TEST

START_TEST(bound_holds_with_deps)
{
	/* many entries, each with its own deps and shared ones: the tables grow and the deps'
	 * names count, yet the bytes never pass the bound */
	const size_t max = 40000;
	struct cache_local *t = cache_local_new(max);
	char deps[256];
	for (unsigned i = 0; i < 3000; i++) {
		int n = snprintf(deps, sizeof(deps), "sluice:pin:t:db.t%u%c%s%c", i % 7, 0,
		                 "sluice:pin:k:db.t:", 0);
		n += snprintf(deps + n, sizeof(deps) - (size_t)n, "sluice:pin:k:db.u:%u", i) + 1;
		ck_assert(put_deps(t, i, i % 300, deps, (size_t)n, 3, NEVER));
		ck_assert_uint_le(cache_local_bytes(t), max);
		if (i % 97 == 0)
			ck_assert(cache_local_verify(t));
	}
	ck_assert(cache_local_verify(t));
	cache_local_free(t);
}
END_TEST

/* ---- deps -------------------------------------------------------------------------------- */

START_TEST(dep_shared_by_several)
{
	struct cache_local *t = cache_local_new(BIG);
	char deps[64];
	for (unsigned i = 0; i < 5; i++) {
		int n = snprintf(deps, sizeof(deps), "t%cr%u", 0, i) + 1;
		ck_assert(put_deps(t, i, 50, deps, (size_t)n, 2, NEVER));
	}
	ck_assert(put(t, 9, 50)); /* no deps at all */
	ck_assert_uint_eq(drop_dep(t, "r3"), 1);
	ck_assert(!has(t, 3));
	ck_assert_uint_eq(drop_dep(t, "r3"), 0);
	ck_assert_uint_eq(drop_dep(t, "t"), 4);
	ck_assert_uint_eq(drop_dep(t, "t"), 0);
	ck_assert_uint_eq(drop_dep(t, "r1"), 0);
	ck_assert_uint_eq(cache_local_count(t), 1);
	ck_assert(has(t, 9));
	ck_assert(cache_local_verify(t));
	cache_local_drop(t, digest(9));
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

START_TEST(entry_with_several_deps)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(PUT_DEPS(t, 1, "a\0b\0c\0", 3));
	ck_assert_uint_eq(drop_dep(t, "a"), 1);
	/* gone from b's and c's lists too: a new entry under b is all b holds */
	ck_assert_uint_eq(drop_dep(t, "b"), 0);
	ck_assert(PUT_DEPS(t, 2, "b\0", 1));
	ck_assert_uint_eq(drop_dep(t, "c"), 0);
	ck_assert(has(t, 2));
	ck_assert_uint_eq(drop_dep(t, "b"), 1);
	ck_assert_uint_eq(cache_local_bytes(t), 0);

	/* the same entry put again, next to another sharing one dep */
	ck_assert(PUT_DEPS(t, 1, "a\0b\0c\0", 3));
	ck_assert(PUT_DEPS(t, 2, "b\0", 1));
	ck_assert(PUT_DEPS(t, 3, "c\0d\0", 2));
	ck_assert_uint_eq(drop_dep(t, "c"), 2);
	ck_assert(!has(t, 1) && has(t, 2) && !has(t, 3));
	ck_assert_uint_eq(drop_dep(t, "a"), 0);
	ck_assert_uint_eq(drop_dep(t, "d"), 0);
	ck_assert_uint_eq(drop_dep(t, "b"), 1);
	ck_assert_uint_eq(cache_local_count(t), 0);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

START_TEST(replace_changes_deps)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(PUT_DEPS(t, 1, "a\0", 1));
	ck_assert(PUT_DEPS(t, 1, "b\0", 1));
	ck_assert_uint_eq(drop_dep(t, "a"), 0);
	ck_assert(has(t, 1));
	ck_assert_uint_eq(drop_dep(t, "b"), 1);
	ck_assert(!has(t, 1));
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

/* A name listed twice links the entry once: dropping by it drops one entry, and the dep and its
 * name are charged once. */
START_TEST(dep_listed_twice)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(PUT_DEPS(t, 1, "a\0b\0a\0", 3));
	ck_assert(PUT_DEPS(t, 2, "a\0", 1));
	ck_assert(cache_local_verify(t));
	ck_assert_uint_eq(drop_dep(t, "a"), 2);
	ck_assert_uint_eq(drop_dep(t, "b"), 0);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	ck_assert(PUT_DEPS(t, 1, "a\0a\0", 2));
	ck_assert(PUT_DEPS(t, 2, "a\0", 1));
	cache_local_drop(t, digest(2));
	ck_assert_uint_eq(drop_dep(t, "a"), 1);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

START_TEST(dep_names_match_exactly)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(PUT_DEPS(t, 1, "sluice:pin:k:db.t:5\0", 1));
	ck_assert(PUT_DEPS(t, 2, "sluice:pin:k:db.t:50\0", 1));
	ck_assert(PUT_DEPS(t, 3, "\0", 1)); /* an empty name is a name */
	ck_assert_uint_eq(drop_dep(t, "sluice:pin:k:db.t:"), 0);
	ck_assert_uint_eq(drop_dep(t, "sluice:pin:k:db.t:5 "), 0);
	ck_assert_uint_eq(drop_dep(t, "SLUICE:pin:k:db.t:5"), 0);
	ck_assert_uint_eq(cache_local_drop_dep(t, "sluice:pin:k:db.t:5", 20), 0); /* with its NUL */
	ck_assert_uint_eq(drop_dep(t, "sluice:pin:k:db.t:5"), 1);
	ck_assert(!has(t, 1) && has(t, 2) && has(t, 3));
	ck_assert_uint_eq(cache_local_drop_dep(t, NULL, 0), 1);
	ck_assert(!has(t, 3));
	ck_assert_uint_eq(drop_dep(t, "sluice:pin:k:db.t:50"), 1);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

START_TEST(malformed_deps_refused)
{
	struct cache_local *t = cache_local_new(BIG);
	const char deps[] = "a\0b\0";
	ck_assert(put(t, 1, 10));
	ck_assert(put(t, 2, 10));
	ck_assert(!put_deps(t, 1, 10, deps, 3, 2, NEVER)); /* the last name has no NUL */
	ck_assert(!has(t, 1));
	ck_assert(!put_deps(t, 2, 10, deps, 4, 1, NEVER)); /* bytes after the last name */
	ck_assert(!put_deps(t, 2, 10, deps, 4, 3, NEVER)); /* fewer names than said */
	ck_assert(!put_deps(t, 2, 10, deps, 4, 0, NEVER));
	ck_assert_uint_eq(cache_local_count(t), 0);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	ck_assert(put_deps(t, 2, 10, deps, 4, 2, NEVER));
	ck_assert_uint_eq(drop_dep(t, "b"), 1);
	cache_local_free(t);
}
END_TEST

/* drop_dep costs what it drops: a dep of one entry among many is found by the index. */
START_TEST(many_entries_one_dep)
{
	struct cache_local *t = cache_local_new(64 * 1024 * 1024);
	char deps[64];
	const unsigned n = 20000;
	for (unsigned i = 0; i < n; i++) {
		int len = snprintf(deps, sizeof(deps), "all%crow:%u", 0, i) + 1;
		ck_assert(put_deps(t, i, 16, deps, (size_t)len, 2, NEVER));
	}
	ck_assert_uint_eq(cache_local_count(t), n);
	ck_assert(cache_local_verify(t));
	for (unsigned i = 0; i < n; i += 2) {
		snprintf(deps, sizeof(deps), "row:%u", i);
		ck_assert_uint_eq(drop_dep(t, deps), 1);
	}
	ck_assert_uint_eq(cache_local_count(t), n / 2);
	ck_assert(cache_local_verify(t));
	ck_assert_uint_eq(drop_dep(t, "all"), n / 2);
	ck_assert_uint_eq(cache_local_count(t), 0);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

/* ---- drop and clear ---------------------------------------------------------------------- */

START_TEST(drop)
{
	struct cache_local *t = cache_local_new(BIG);
	ck_assert(PUT_DEPS(t, 1, "a\0", 1));
	ck_assert(PUT_DEPS(t, 2, "a\0", 1));
	size_t one = cache_local_bytes(t);
	cache_local_drop(t, digest(1));
	cache_local_drop(t, digest(3)); /* absent: nothing happens */
	ck_assert(!has(t, 1) && has(t, 2));
	ck_assert_uint_lt(cache_local_bytes(t), one);
	ck_assert_uint_eq(drop_dep(t, "a"), 1);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

START_TEST(clear)
{
	struct cache_local *t = cache_local_new(BIG);
	char deps[64];
	for (unsigned i = 0; i < 500; i++) {
		int n = snprintf(deps, sizeof(deps), "t%u%cr%u", i % 10, 0, i) + 1;
		ck_assert(put_deps(t, i, i, deps, (size_t)n, 2, NEVER));
	}
	ck_assert_uint_gt(cache_local_bytes(t), 0);
	cache_local_clear(t);
	ck_assert_uint_eq(cache_local_count(t), 0);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	ck_assert_ptr_null(get(t, 7));
	ck_assert_uint_eq(drop_dep(t, "t7"), 0);
	ck_assert(cache_local_verify(t));
	/* and it works as before */
	ck_assert(PUT_DEPS(t, 7, "t7\0", 1));
	ck_assert(is_result(get(t, 7), 7, RESULT));
	ck_assert_uint_eq(drop_dep(t, "t7"), 1);
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

/* Grown tables shrink back as entries go: the same entries cost the same bytes again. */
START_TEST(tables_grow_and_shrink)
{
	struct cache_local *t = cache_local_new(BIG * 16);
	ck_assert(PUT_DEPS(t, 0, "a\0", 1));
	size_t one = cache_local_bytes(t);
	char deps[32];
	for (unsigned i = 1; i < 5000; i++) {
		int n = snprintf(deps, sizeof(deps), "d%u", i) + 1;
		ck_assert(put_deps(t, i, RESULT, deps, (size_t)n, 1, NEVER));
	}
	ck_assert(cache_local_verify(t));
	for (unsigned i = 4999; i > 0; i--) {
		cache_local_drop(t, digest(i));
		if (i % 500 == 0)
			ck_assert(cache_local_verify(t));
	}
	ck_assert_uint_eq(cache_local_bytes(t), one);
	cache_local_drop(t, digest(0));
	ck_assert_uint_eq(cache_local_bytes(t), 0);
	cache_local_free(t);
}
END_TEST

/* ---- randomized, against a model --------------------------------------------------------- */

#define MODEL_DIGESTS 256
#define MODEL_DEPS    24

struct model_entry {
	bool present;
	unsigned seed; /* its bytes are result(seed, len) */
	size_t len;
	uint32_t deps; /* a bit per dep name */
	uint64_t expires;
	uint32_t hits;
	uint64_t used; /* when last put or hit, for the LRU order */
};

struct model {
	struct model_entry e[MODEL_DIGESTS];
	size_t count;
	uint64_t clock;
	size_t expired; /* gets that found an entry expired */
};

static void dep_name(char *out, size_t size, unsigned d)
{
	snprintf(out, size, "sluice:pin:k:db.t:%u", d);
}

static void model_remove(struct model *m, unsigned i)
{
	CHECK(m->e[i].present);
	m->e[i].present = false;
	m->count--;
}

/* After each step: everything the model holds is held alike, unless a put evicted it, and then
 * only entries less recently used than every one kept. */
static void model_check(struct model *m, const struct cache_local *t, bool was_put, size_t max)
{
	uint64_t newest_evicted = 0, oldest_kept = UINT64_MAX;
	for (unsigned i = 0; i < MODEL_DIGESTS; i++) {
		struct model_entry *me = &m->e[i];
		if (!me->present) {
			CHECK(!has(t, i));
			continue;
		}
		const struct cache_local_entry *e = cache_local_peek(t, digest(i));
		if (!e) {
			CHECK(was_put); /* only a put evicts */
			if (me->used > newest_evicted)
				newest_evicted = me->used;
			model_remove(m, i);
			continue;
		}
		CHECK(e->len == me->len);
		CHECK(e->hits == me->hits);
		CHECK(e->expires_ms == me->expires);
		if (me->len)
			CHECK(e->bytes[me->len - 1] == (uint8_t)(me->seed * 31 + me->len - 1));
		if (me->used < oldest_kept)
			oldest_kept = me->used;
	}
	CHECK(newest_evicted < oldest_kept);
	CHECK(cache_local_count(t) == m->count);
	CHECK(cache_local_bytes(t) <= max);
	CHECK((cache_local_bytes(t) == 0) == (m->count == 0));
}

static void step_put(struct model *m, struct cache_local *t, uint64_t *rng, uint64_t now,
                     size_t max)
{
	unsigned i = (unsigned)(splitmix(rng) % MODEL_DIGESTS);
	size_t len = splitmix(rng) % 4 == 0 ? splitmix(rng) % 6000 : splitmix(rng) % 400;
	bool too_big = splitmix(rng) % 100 == 0;
	if (too_big)
		len = max + splitmix(rng) % 100;
	char deps[MODEL_DEPS * 32];
	size_t deps_len = 0;
	unsigned n_deps = (unsigned)(splitmix(rng) % 6);
	uint32_t mask = 0;
	for (unsigned k = 0; k < n_deps; k++) {
		/* skewed, so that some deps are shared by many entries; repeats happen */
		unsigned d = (unsigned)(splitmix(rng) % MODEL_DEPS);
		d = d % (1 + (unsigned)(splitmix(rng) % MODEL_DEPS));
		dep_name(deps + deps_len, sizeof(deps) - deps_len, d);
		deps_len += strlen(deps + deps_len) + 1;
		mask |= 1u << d;
	}
	unsigned seed = (unsigned)splitmix(rng);
	uint64_t expires = now + 1 + splitmix(rng) % 5000;
	bool ok = cache_local_put(t, digest(i), too_big ? NULL : result(seed, len), len, deps,
	                          deps_len, n_deps, expires);
	CHECK(ok == !too_big);
	if (m->e[i].present)
		model_remove(m, i);
	if (ok) {
		m->e[i] = (struct model_entry){.present = true,
		                               .seed = seed,
		                               .len = len,
		                               .deps = mask,
		                               .expires = expires,
		                               .used = ++m->clock};
		m->count++;
	}
}

static void step_get(struct model *m, struct cache_local *t, uint64_t *rng, uint64_t now)
{
	unsigned i = (unsigned)(splitmix(rng) % MODEL_DIGESTS);
	struct model_entry *me = &m->e[i];
	const struct cache_local_entry *e = cache_local_get(t, digest(i), now);
	if (!me->present) {
		CHECK(e == NULL);
	} else if (now >= me->expires) {
		CHECK(e == NULL);
		model_remove(m, i);
		m->expired++;
	} else {
		CHECK(is_result(e, me->seed, me->len));
		me->hits++;
		CHECK(e->hits == me->hits);
		me->used = ++m->clock;
	}
}

static void step_drop_dep(struct model *m, struct cache_local *t, uint64_t *rng)
{
	unsigned d = (unsigned)(splitmix(rng) % MODEL_DEPS);
	char name[32];
	dep_name(name, sizeof(name), d);
	size_t expect = 0;
	for (unsigned i = 0; i < MODEL_DIGESTS; i++) {
		if (m->e[i].present && m->e[i].deps & (1u << d)) {
			model_remove(m, i);
			expect++;
		}
	}
	CHECK(drop_dep(t, name) == expect);
}

START_TEST(randomized_against_model)
{
	const size_t max = 32 * 1024;
	struct cache_local *t = cache_local_new(max);
	static struct model m;
	memset(&m, 0, sizeof(m));
	uint64_t rng = 20240601, now = 0;
	size_t puts = 0, evicting = 0;
	for (unsigned op = 0; op < 100000; op++) {
		unsigned r = (unsigned)(splitmix(&rng) % 100);
		now += splitmix(&rng) % 20;
		if (r < 50) {
			step_put(&m, t, &rng, now, max);
			puts++;
		} else if (r < 88) {
			step_get(&m, t, &rng, now);
		} else if (r < 93) {
			step_drop_dep(&m, t, &rng);
		} else if (r < 99) {
			unsigned i = (unsigned)(splitmix(&rng) % MODEL_DIGESTS);
			cache_local_drop(t, digest(i));
			if (m.e[i].present)
				model_remove(&m, i);
		} else if (splitmix(&rng) % 20 == 0) {
			cache_local_clear(t);
			for (unsigned i = 0; i < MODEL_DIGESTS; i++)
				m.e[i].present = false;
			m.count = 0;
		}
		size_t after_op = m.count;
		model_check(&m, t, r < 50, max);
		if (m.count < after_op)
			evicting++;
		if (op % 64 == 0)
			CHECK(cache_local_verify(t));
	}
	/* the run did exercise eviction and expiry */
	ck_assert_uint_gt(evicting, puts / 10);
	ck_assert_uint_gt(m.expired, 100);
	CHECK(cache_local_verify(t));
	cache_local_clear(t);
	CHECK(cache_local_bytes(t) == 0);
	cache_local_free(t);
}
END_TEST

static Suite *cache_local_suite(void)
{
	Suite *s = suite_create("cache_local");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, empty_tier);
	tcase_add_test(tc, put_then_get);
	tcase_add_test(tc, put_copies_the_bytes);
	tcase_add_test(tc, empty_result);
	tcase_add_test(tc, replace);
	tcase_add_test(tc, same_hash_other_digest);
	tcase_add_test(tc, disabled_tier);
	tcase_add_test(tc, hits_count);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, lru_eviction);
	tcase_add_test(tc, larger_than_the_tier);
	tcase_add_test(tc, bound_holds_with_deps);
	tcase_add_test(tc, dep_shared_by_several);
	tcase_add_test(tc, entry_with_several_deps);
	tcase_add_test(tc, replace_changes_deps);
	tcase_add_test(tc, dep_listed_twice);
	tcase_add_test(tc, dep_names_match_exactly);
	tcase_add_test(tc, malformed_deps_refused);
	tcase_add_test(tc, many_entries_one_dep);
	tcase_add_test(tc, drop);
	tcase_add_test(tc, clear);
	tcase_add_test(tc, tables_grow_and_shrink);
	suite_add_tcase(s, tc);
	TCase *stress = tcase_create("stress");
	tcase_set_timeout(stress, 60);
	tcase_add_test(stress, randomized_against_model);
	suite_add_tcase(s, stress);
	return s;
}

int main(void)
{
	return run_suite(cache_local_suite());
}
