/*
 * keys.h - which rows a statement reads or writes, by primary key (for pinning and the cache).
 *
 * keys_extract() looks again at a statement the classifier has already read (classify.h) and,
 * when it touches exactly one table whose primary key is known (struct schema_table), finds the
 * rows it names: `WHERE pk = c` / `pk IN (...)` (composite keys too, ANDed with anything else),
 * and the key values of `INSERT` / `REPLACE ... VALUES` rows. Whatever it cannot prove (an OR, an
 * expression, a join, a UNION, an UPDATE of a key column, ON DUPLICATE KEY UPDATE on a table with
 * another unique key...) makes the answer table-wide, which is always safe. Pure: no I/O, no
 * allocation, safe from any thread; reads at most len bytes.
 */
#pragma once

#include "classify.h"
#include "marks.h"

#include <stdbool.h>
#include <stddef.h>

#define SCHEMA_PK_MAX 8  /* key columns kept; tables with wider keys are not keyed */
#define KEYS_MAX      32 /* rows named by one statement; more makes the answer table-wide */

enum schema_col_kind { SCHEMA_COL_INT, SCHEMA_COL_STRING };

/* What the proxy knows of one table, loaded from information_schema (schema.c). */
struct schema_table {
	char db[CLS_NAME_MAX];
	char name[CLS_NAME_MAX];
	unsigned n_pk; /* 0: no primary key, or one of a type keys are not kept for */
	char pk[SCHEMA_PK_MAX][CLS_NAME_MAX];
	enum schema_col_kind pk_kind[SCHEMA_PK_MAX];
	unsigned pk_position[SCHEMA_PK_MAX]; /* 0-based column position in the table */
	unsigned n_columns;
	bool auto_increment; /* a single-column key filled by AUTO_INCREMENT */
	bool other_unique;   /* a UNIQUE index besides the primary key */
	bool has_triggers;   /* a write may run code that assigns user variables */
	bool base_table;     /* not a view nor a sequence: the binlog names its changes */
};

struct keys_result {
	/* true: the statement reads or writes only the rows keys[] (and auto_rows new ones) of the
	 * table; false: it may touch any row of the tables it names */
	bool point;
	size_t n_keys;
	struct mark_key keys[KEYS_MAX];
	/* INSERT / REPLACE rows whose key the server assigns (key omitted, NULL, DEFAULT or 0 for
	 * an AUTO_INCREMENT key): their ids come from the OK packet's last_insert_id */
	unsigned auto_rows;
};

/* The values bound to a prepared statement's '?' markers, for keys_extract at execution. */
struct keys_params {
	/* Appends the value bound to marker i (0-based, in text order) to k, as a key column of
	 * the given kind compares it; false if it cannot be spelt. The kind matters because MariaDB
	 * compares mixed types as numbers: an integer column takes an integer, or a string that
	 * mark_key_add_int_text accepts and that has at most 15 characters (compared as a double,
	 * a longer one may equal several integers); a string column takes only a string (against
	 * a number, '5', '05' and '5x' all match). NULL and other types: false. */
	bool (*add)(const void *ctx, unsigned i, enum schema_col_kind kind, struct mark_key *k);
	const void *ctx;
};

/* sql[0..len) is a statement classify() described as c, with c->n_tables == 1 and t the
 * schema of c->tables[0]. params supplies '?' values (NULL: a '?' where a key value should be
 * makes the answer table-wide). Fills out; out->point is false whenever the rows cannot be
 * proven, and then n_keys and auto_rows are 0. keys[] holds each row once, its values in the
 * order of t->pk[]. What it cannot see and so trusts: that sql_mode is strict (a non-strict
 * INSERT may clip an out-of-range key to another value), and that no trigger rewrites a key
 * column and no foreign key of the table on itself cascades to other rows. */
void keys_extract(const char *sql, size_t len, const struct cls_result *c,
                  const struct schema_table *t, const struct keys_params *params,
                  struct keys_result *out);
