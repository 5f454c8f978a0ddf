/*
 * table_list.h - the [cache] tables list: which tables a cache may hold reads of.
 *
 * Parsed once by the config loader (which reports a bad item with its file and line) and again
 * by each proxy worker, with the same code. Pure: no I/O, no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TABLE_NAME_MAX 65 /* identifiers up to 64 bytes + NUL */

/* The [cache] tables list: a comma list of `db.table`, `db.*` or `*` (spaces around items
 * allowed), names unquoted. `*` sets any and takes no item. */
#define CACHE_TABLES_MAX 64
struct cache_tables {
	unsigned n;
	struct {
		char db[TABLE_NAME_MAX];
		char table[TABLE_NAME_MAX]; /* "*": any table of db */
	} item[CACHE_TABLES_MAX];
	bool any;
};

/*
 * Parses list into *out. An empty or blank list is valid and matches nothing (only hinted
 * statements are cached). false, with a message in err naming the bad item, for an empty item,
 * a missing dot, an empty database or table name, a name with a space, backtick, '*' or second
 * dot in it, a name longer than 64 bytes, or more than CACHE_TABLES_MAX items.
 */
bool cache_tables_parse(const char *list, struct cache_tables *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Does the list cover db.table? ASCII case-insensitive: over-matching only costs a cache
 * entry, never a wrong answer. */
bool cache_tables_match(const struct cache_tables *t, const char *db, const char *table);
