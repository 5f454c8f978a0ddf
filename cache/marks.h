/*
 * marks.h - the pin marks in Redis: their key names, their values, and how keys are spelt.
 *
 * Shared by the proxy (which sets marks before it forwards a write and looks them up before a
 * read) and the binlog tailer (which sets the same marks for every row it sees change), so both
 * must spell a row's key identically. This file owns that spelling and nothing else: it does no
 * I/O. docs/pinning.md documents the layout.
 *
 * Key names, with P the configured prefix ([pinning] prefix):
 *   P:pin:k:DB.TABLE:KEY   one row, KEY its primary-key values (mark_key_*)
 *   P:pin:w:DB.TABLE       the whole table: a write whose rows could not be named
 *   P:pin:t:DB.TABLE       the table was touched by any write (pins reads that are not point reads)
 * DB and TABLE are lower-cased and percent-encoded like string key values.
 *
 * Values: "PENDING|GTIDS". PENDING counts writes sent but not yet settled by their OK; GTIDS is
 * a comma list of domain-server-seq, the highest per domain, or "*" when a write's GTID is not
 * known. Window mode writes "0|*": any mark pins. Gtid mode arms a mark (+1 pending) before the
 * write and settles it (-1 pending, merge the commit's GTID) after the OK; a reader may use a
 * replica only when nothing is pending and the replica's position covers every GTID.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MARK_KEY_TEXT_MAX 256  /* spelt key values of one row */
#define MARK_NAME_MAX     1024 /* a whole Redis key name */
#define MARK_GTIDS_MAX    8    /* domains a mark value tracks */

/* One row's primary-key values, spelt canonically: values joined by ','. */
struct mark_key {
	char text[MARK_KEY_TEXT_MAX];
	size_t len;
	unsigned n_values;
	bool ok; /* false once a value could not be spelt (too long, not canonical): the row has no
	          * key name, and the caller must fall back to a table-wide mark */
};

void mark_key_init(struct mark_key *k);
/* An integer written as SQL digits: optional sign, digits, optionally ".0..." (1.0 is 1).
 * Leading zeros and '+' are dropped, -0 is 0. Anything else (hex, exponent, fraction) fails. */
bool mark_key_add_int_text(struct mark_key *k, const char *text, size_t len);
bool mark_key_add_int(struct mark_key *k, int64_t v);
bool mark_key_add_uint(struct mark_key *k, uint64_t v);
/* A string value, as stored or as the unescaped content of an SQL string literal. Collations
 * may treat 'A' and 'a ' as one key, so ASCII is lower-cased and trailing spaces dropped (over-
 * pinning is safe, under-pinning is not). A value with a byte >= 0x80 fails: a collation may fold
 * it in ways this cannot reproduce. */
bool mark_key_add_string(struct mark_key *k, const char *bytes, size_t len);

enum mark_kind { MARK_ROW = 'k', MARK_WHOLE = 'w', MARK_TOUCHED = 't' };

/* Writes the Redis key name of a mark into out (MARK_NAME_MAX bytes); key is NULL except for
 * MARK_ROW. Returns its length, or 0 if it does not fit. */
size_t mark_name(char *out, const char *prefix, enum mark_kind kind, const char *db,
                 const char *table, const struct mark_key *key);

/* ---- values ------------------------------------------------------------------------------- */

struct gtid {
	uint32_t domain;
	uint32_t server;
	uint64_t seq;
};

struct mark_value {
	unsigned pending;
	bool unknown_gtid; /* "*": some write's GTID is not known */
	unsigned n_gtids;
	struct gtid gtids[MARK_GTIDS_MAX];
};

/* The value window mode writes, and that a write whose GTID is never learnt leaves. */
#define MARK_VALUE_WINDOW "0|*"

/* Parses a mark's value; false for anything malformed (the caller treats it as pinning). */
bool mark_value_parse(const char *text, size_t len, struct mark_value *out);
/* Parses a GTID list as MariaDB prints it ("0-1-100,1-2-7"); false if malformed or too long. */
bool gtid_list_parse(const char *text, size_t len, struct gtid *out, unsigned max, unsigned *n);
/* Parses one GTID "d-s-n". */
bool gtid_parse(const char *text, size_t len, struct gtid *out);
/* May a server whose position is pos (gtid_slave_pos text) serve a read under mark v? Only
 * when nothing is pending, every GTID is known, and pos has reached each one in its domain. */
bool mark_allows(const struct mark_value *v, const char *pos);

/* Lua scripts, for EVAL with the mark names as KEYS.
 * ARM:    ARGV[1] = ttl ms. Adds one pending write to each mark; a mark's ttl only grows.
 * SETTLE: ARGV[1] = ttl ms, ARGV[2] = GTID or "*", ARGV[3] = pending writes to remove (1 for
 *         the proxy's own write, 0 for the tailer). Merges the GTID, keeping the highest per
 *         domain. */
extern const char MARKS_LUA_ARM[];
extern const char MARKS_LUA_SETTLE[];
