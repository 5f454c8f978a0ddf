/*
 * results.h - the result cache's layout in Redis: key names, the value of an entry, and the Lua
 * scripts that look entries up, fill them and invalidate them (docs/cache.md, CONSISTENCY.md
 * mechanisms 7-10).
 *
 * Shared by the proxy (lookups, fills, and the invalidation each write it forwards makes) and the
 * binlog tailer (the invalidation of every committed change), so both name a dependency the same
 * way. No I/O.
 *
 * A dep is what an answer depends on, spelt like a pin mark without its "P:pin:" head:
 *   k:DB.TABLE:KEY   one row (point reads depend on their rows and on w:DB.TABLE)
 *   w:DB.TABLE       the whole table (TRUNCATE, ALTER, writes whose rows are unknown)
 *   t:DB.TABLE       any change to the table (what every other read depends on)
 *   all              everything (the tailer lost its place in the binlog)
 * A read's deps are exactly the marks it looks up, plus "all".
 *
 * Keys, P being [pinning] prefix:
 *   P:c:e:DIGEST  an entry: STAMP "|" the result bytes, PX its ttl
 *   P:c:l:DIGEST  the lease on an entry: the token of the one miss allowed to fill it
 *   P:c:v:DEP     a dep's version: the GTID (tailer) or a token (proxy) of its last
 *                 invalidation, PX RESULTS_VERSION_TTL_MS
 *   P:c:g:DEP     row deps only: the set of entry keys that depend on the row
 * and the pub/sub channel P:c:drop, where every invalidation publishes
 * "<unix ms> <dep> <dep>..." for the in-process tiers.
 *
 * STAMP is the deps' versions at lookup time, joined by ',' ('-' for none). An entry is served
 * only while its stamp equals the current one, and a fill is stored only if the stamp did not
 * change since its lookup: an invalidation that passed in between changed a version, and so voids
 * the lease (the Facebook memcache lease, with the version as the token's second half).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESULTS_DIGEST_LEN 32 /* SHA-256 */
#define RESULTS_DIGEST_HEX (2 * RESULTS_DIGEST_LEN)
/* Versions outlive every entry stamped with them (ttl_s is at most an hour), so an expired
 * version can never make an old stamp current again. */
#define RESULTS_VERSION_TTL_MS 7200000
#define RESULTS_DEP_ALL        "all"
/* The end of the leader lease's value (P:binlog:leader) of a tailer that invalidates the cache:
 * a proxy uses the cache only while such a tailer leads. */
#define RESULTS_TAILER_CACHE "+cache"

enum results_key { RESULTS_ENTRY = 'e', RESULTS_LEASE = 'l', RESULTS_VERSION = 'v' };

/* The dep of a pin mark name ("P:pin:k:db.t:5" -> "k:db.t:5"), pointing into mark; NULL if mark
 * is not one of prefix's marks. */
const char *results_dep_of_mark(const char *mark, const char *prefix);
/* Is dep a row dep (the only kind with a tag set)? */
bool results_dep_is_row(const char *dep);
/* "P:c:<kind>:<rest>" into out; its length, or 0 if it does not fit in cap. */
size_t results_key_name(char *out, size_t cap, const char *prefix, enum results_key kind,
                        const char *rest);
/* "P:c:g:<dep>". */
size_t results_tag_name(char *out, size_t cap, const char *prefix, const char *dep);
/* "P:c:drop". */
size_t results_channel(char *out, size_t cap, const char *prefix);
/* The digest in lower-case hex, NUL-terminated (RESULTS_DIGEST_HEX + 1 bytes). */
void results_digest_hex(const uint8_t digest[RESULTS_DIGEST_LEN], char *out);

/* May a fill from a replica whose position is pos (gtid_slave_pos text) be stored under stamp?
 * Only if pos has reached every GTID among the versions (CONSISTENCY.md mechanism 8). Versions
 * the proxy wrote (not GTIDs) do not count: the marks of the write that wrote them keep reads
 * off the cache until replicas have it. */
bool results_stamp_covered(const char *stamp, size_t len, const char *pos);

/* Where the result bytes start in an entry's value; false if the value is malformed. */
bool results_entry_split(const char *value, size_t len, size_t *stamp_len, size_t *bytes_at);

/*
 * LOOKUP. KEYS = M mark names, V version keys, the entry, the lease.
 *         ARGV = M, the lease token, lease ms.
 * Returns {0, {mark values}} when a mark exists (the read bypasses the cache and routes by the
 * marks), {1, value, pttl} on a hit, {2, stamp} on a miss whose lease this caller now holds, {3}
 * when another miss holds the lease.
 */
extern const char RESULTS_LUA_LOOKUP[];
/*
 * FILL.   KEYS = the lookup's M marks, V versions, entry, lease; then the tag sets of the row deps.
 *         ARGV = M, V, token, stamp, ttl ms, value bytes ("" releases the lease, stores nothing).
 * Returns 1 stored, 2 released, 0 the lease is gone (expired), -1 a dep is marked now,
 * -2 the stamp changed (an invalidation passed since the lookup).
 */
extern const char RESULTS_LUA_FILL[];
/*
 * INVALIDATE. KEYS = N version keys, then the tag sets of the row deps among them.
 *             ARGV = N, new version, version ttl ms, channel, message.
 * Sets each version, deletes the entries tagged with a row, publishes the message. Returns the
 * number of entries deleted. Idempotent but for the version's value: running it twice is safe.
 */
extern const char RESULTS_LUA_INVALIDATE[];

/* Results of FILL. */
enum results_fill {
	RESULTS_FILL_STORED = 1,
	RESULTS_FILL_RELEASED = 2,
	RESULTS_FILL_LEASE_LOST = 0,
	RESULTS_FILL_MARKED = -1,
	RESULTS_FILL_STALE = -2,
};
