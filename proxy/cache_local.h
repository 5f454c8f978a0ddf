/*
 * cache_local.h - the in-process tier of the result cache: a bounded LRU map, one per worker.
 *
 * In front of the shared Redis tier each worker thread keeps a small map from an entry's digest
 * (SHA-256 of its identity) to a copy of the stored result, with the Redis key names of the pin
 * marks the result depends on ("deps"), so that a write seen by this worker can drop every
 * entry it invalidates by naming one dep. The tier is a pure data structure: no I/O, no clock
 * (callers pass times in ms), no locks (one thread only) and no global state.
 *
 * Everything it holds counts against max_bytes: result bytes, dep names, entry and link
 * structs, hash-table slot arrays, and an estimate of malloc's own header per block. Only the
 * struct cache_local itself is not counted, so cache_local_bytes() is 0 when the tier is empty.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_DIGEST_LEN 32 /* SHA-256 of the entry's identity */

struct cache_local;

/* A read-only view of one entry, owned by the tier. */
struct cache_local_entry {
	const uint8_t *bytes; /* the stored result, len bytes */
	size_t len;
	uint32_t hits; /* times cache_local_get returned it (stops at UINT32_MAX) */
	uint64_t expires_ms;
};

/* A tier holding at most max_bytes (see above); 0 makes a disabled tier: get always misses and
 * put always refuses. NULL when out of memory. cache_local_free() frees it with its entries. */
struct cache_local *cache_local_new(size_t max_bytes);
void cache_local_free(struct cache_local *t);

/* The entry stored under digest, or NULL: absent, or expired at now_ms (now_ms >= expires_ms),
 * and then it is dropped. A hit counts (hits++) and becomes the most recently used entry. The
 * pointer and its bytes stay valid until the next call that changes the tier (get, put, drop*,
 * clear, free). */
const struct cache_local_entry *
cache_local_get(struct cache_local *t, const uint8_t digest[CACHE_DIGEST_LEN], uint64_t now_ms);

/* Stores a copy of bytes[0..len) under digest, replacing any entry there, as the most recently
 * used entry, evicting least recently used entries until it fits. deps holds exactly n_deps
 * NUL-terminated names packed back to back in deps[0..deps_len) (Redis key names such as
 * "sluice:pin:k:db.t:5"; a name listed twice counts once; deps may be NULL when n_deps is 0).
 * False, with nothing stored and any previous entry under digest removed, when the entry
 * cannot fit even in an empty tier, when deps is not shaped as described, or when memory runs
 * out (the tier stays consistent; entries evicted to make room stay evicted). Expiry is not
 * checked here: an entry already expired is stored and dropped by the next get. */
bool cache_local_put(struct cache_local *t, const uint8_t digest[CACHE_DIGEST_LEN],
                     const uint8_t *bytes, size_t len, const char *deps, size_t deps_len,
                     unsigned n_deps, uint64_t expires_ms);

/* Drops every entry that has dep[0..dep_len) (exact bytes, no NUL) among its deps; returns how
 * many. Costs in proportion to the entries dropped, not to the size of the tier. */
size_t cache_local_drop_dep(struct cache_local *t, const char *dep, size_t dep_len);
/* Drops the entry under digest, if any. */
void cache_local_drop(struct cache_local *t, const uint8_t digest[CACHE_DIGEST_LEN]);
/* Drops every entry; afterwards cache_local_bytes() is 0. */
void cache_local_clear(struct cache_local *t);

size_t cache_local_bytes(const struct cache_local *t); /* accounted bytes held, <= max_bytes */
size_t cache_local_count(const struct cache_local *t); /* entries held */

/* ---- diagnostics (tests, debugging) ---------------------------------------------------------- */

/* The entry under digest, or NULL, without counting a hit, touching the LRU order or looking at
 * expiry. Valid as cache_local_get's answer is. */
const struct cache_local_entry *cache_local_peek(const struct cache_local *t,
                                                 const uint8_t digest[CACHE_DIGEST_LEN]);
/* Walks every structure and checks that they agree (tables, LRU list, dep lists, counts, the
 * accounted bytes recomputed from scratch, the bound). O(size of the tier): for tests. */
bool cache_local_verify(const struct cache_local *t);
