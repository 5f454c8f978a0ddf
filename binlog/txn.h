/*
 * txn.h - the changes of one committed transaction, as the tailer will publish them.
 *
 * A txn collects, for one GTID group, the rows it changed (table + spelt primary key), the
 * tables it changed as a whole (rows it could not name, DDL) and whether it must invalidate
 * everything. Keys are deduplicated (an UPDATE's before and after images usually name the same
 * row). Memory is bounded: past TXN_KEYS_MAX keys, a table that gains a new key is invalidated
 * as a whole instead. No I/O; the txn owns its arrays (txn_free releases them).
 */
#pragma once

#include "marks.h"
#include "names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TXN_KEYS_MAX   1000 /* row keys kept per transaction */
#define TXN_TABLES_MAX 256  /* tables named per transaction; beyond, everything */
#define TXN_REASON_MAX 64

struct txn_table {
	struct bl_table_name name;
	bool whole;  /* invalidated table-wide: its row keys are not published */
	bool schema; /* its definition changed (DDL): a schema-change notice */
};

struct txn_key {
	uint32_t table; /* index into tables */
	uint32_t hash;
	char text[MARK_KEY_TEXT_MAX];
};

struct txn {
	struct gtid gtid;
	uint32_t commit_ts; /* seconds, from the binlog */
	bool all;           /* invalidate everything */
	char all_reason[TXN_REASON_MAX];
	struct txn_table *tables;
	size_t n_tables, cap_tables;
	struct txn_key *keys;
	size_t n_keys, cap_keys;
	uint32_t *slots; /* open-addressing set over keys: index + 1, 0 = empty */
	size_t n_slots;
};

void txn_init(struct txn *t);
void txn_free(struct txn *t);
/* Empties t for a new transaction (keeps its memory). */
void txn_reset(struct txn *t, const struct gtid *gtid, uint32_t commit_ts);

/* One row, named by its key; may turn its table table-wide (TXN_KEYS_MAX, no memory). */
void txn_add_row(struct txn *t, const struct bl_table_name *table, const struct mark_key *key);
/* A whole table; schema = its definition changed. */
void txn_add_table(struct txn *t, const struct bl_table_name *table, bool schema);
/* Everything (reason is logged and published). */
void txn_add_all(struct txn *t, const char *reason);

/* Nothing to publish (the group changed no data, e.g. GRANT). */
bool txn_is_empty(const struct txn *t);
/* How many row keys will be published (keys of whole tables are not). */
size_t txn_live_keys(const struct txn *t);
