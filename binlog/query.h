/*
 * query.h - what a QUERY event's statement means to the tailer.
 *
 * Row-based binlogs still carry statements as QUERY events: the BEGIN / COMMIT / ROLLBACK that
 * frame a non-transactional group, DDL, and account management. This module reads the
 * statement text just far enough to say which of these it is and, for DDL, which tables it
 * changes. It is pure (no I/O, no allocation) and errs towards invalidating more: a statement it
 * cannot read is QUERY_UNKNOWN, which the tailer answers by invalidating everything.
 */
#pragma once

#include "names.h"

#include <stdbool.h>
#include <stddef.h>

#define QUERY_TABLES_MAX 16

enum query_kind {
	QUERY_BEGIN,    /* opens a group; nothing to do */
	QUERY_COMMIT,   /* ends a group: publish it */
	QUERY_ROLLBACK, /* ends a group whose non-transactional changes stay: publish it too */
	QUERY_NO_DATA,  /* changes no row any query reads: SAVEPOINT, GRANT, CREATE USER, ... */
	QUERY_TABLES,   /* DDL on the tables listed: table-wide invalidation, schema notice */
	QUERY_UNKNOWN,  /* anything else (statement-format DML, DROP DATABASE, ...): everything */
};

struct query_info {
	enum query_kind kind;
	unsigned n_tables;
	struct bl_table_name tables[QUERY_TABLES_MAX];
};

/* Classifies sql (len bytes, not NUL-terminated); unqualified table names belong to default_db
 * (the event's database, may be empty). */
void query_classify(const char *default_db, size_t db_len, const char *sql, size_t len,
                    struct query_info *out);
const char *query_kind_str(enum query_kind kind);
