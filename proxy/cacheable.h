/*
 * cacheable.h - may a read's answer be cached, for how long, and under which text.
 *
 * Three pure decisions for the result cache, made before a statement is sent: whether its
 * answer may be served again to any session (cacheable_inspect), the text it is cached under
 * (cacheable_normalize), and which tables the [cache] section lets the cache hold
 * (cache_tables_*). No I/O, no allocation, nothing kept between calls: safe from any thread.
 * The SQL readers read at most len bytes of the text and need no NUL. Storing, expiring and
 * invalidating entries is the cache's business, as is what the session adds to the key (user,
 * default database, character set, transaction state...).
 */
#pragma once

#include "classify.h"
#include "table_list.h"

#include <stdbool.h>
#include <stddef.h>

enum cache_hint {
	CACHE_HINT_NONE,
	CACHE_HINT_CACHE,   /* a comment saying sluice:cache [ttl=N] */
	CACHE_HINT_NOCACHE, /* a comment saying sluice:nocache; wins over sluice:cache */
};

#define CACHE_TTL_MAX 3600 /* the longest ttl=N a hint may ask for, in seconds */

struct cache_verdict {
	bool cacheable;
	/* static text saying why not ("not a SELECT", "calls NOW()", "nocache hint"...), NULL
	 * when cacheable */
	const char *why;
	enum cache_hint hint; /* filled whatever the verdict */
	unsigned ttl_s;       /* ttl=N (1..CACHE_TTL_MAX) of a sluice:cache hint, 0 when none */
};

/*
 * Decides on sql[0..len), which classify() (with the session's default database) described as
 * *c. Cacheable only if it is one plain SELECT that classify() found nothing against, reads at
 * least one table, all of them in a known database and none in a system schema, and (outside
 * strings, quoted names and comments) reads no variable, says no SQL_NO_CACHE, and calls only
 * built-in functions known to depend on nothing but their arguments and the tables. A
 * sluice:cache hint does not override any of that: the caller uses hint and ttl_s to bypass the
 * [cache] tables list and to pick the entry's lifetime. Hints are read like sluice:primary
 * (sqllex.c): the first word of an ordinary comment (not of an executable comment nor of an
 * optimizer hint), "sluice", a ':', then "cache" or "nocache".
 */
void cacheable_inspect(const char *sql, size_t len, const struct cls_result *c,
                       struct cache_verdict *out);

/*
 * The statement's text as a cache key spells it: comments dropped (each counts as whitespace),
 * but MariaDB's executable comments (slash-star-bang, slash-star-M-bang) and optimizer hints
 * (slash-star-plus) kept byte for byte, since they change the statement; runs of whitespace
 * outside strings and quoted names collapsed to one space; leading and trailing whitespace and
 * trailing ';' dropped. Strings and quoted names are kept byte for byte, and case everywhere. A
 * string or comment left open is kept as it is to the end of the text. Comments and quotes are
 * found as classify() finds them, and the key classifies as the text does (but for the hints its
 * comments held) and is its own key: so after a "--" that is no comment (no whitespace follows
 * it), the comment or one ';' that follows is kept, where a space would start a comment. The
 * key is never longer than the text. Writes no NUL. Returns the key's length, or 0 when it does
 * not fit in cap or is empty (the text was only whitespace, comments and ';').
 */
size_t cacheable_normalize(const char *sql, size_t len, char *out, size_t cap);
