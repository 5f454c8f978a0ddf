/*
 * router.h - where a statement runs: the primary or a replica, and why.
 *
 * A pure decision over the statement's class (classify.h) and a few facts about the session
 * (open transaction, read-only transaction, LOCK TABLES, user variables set by a SELECT,
 * temporary tables, whether its history still fits). No I/O and no health: choosing which
 * replica, and falling back when none is healthy, is the session's and balance.c's business.
 * Every reason has a name, reported in logs and counted in /stats.
 */
#pragma once

#include "classify.h"

#include <stdbool.h>

/* X(id, name): the replica reasons first, up to ROUTE_FIRST_PRIMARY. */
#define ROUTE_REASONS(X)                                                                           \
	X(ROUTE_READ, "read")                                                                      \
	X(ROUTE_HINT_REPLICA, "hint_replica")                                                      \
	X(ROUTE_READ_ONLY_TRANSACTION, "read_only_transaction")                                    \
	/* SHOW WARNINGS / ERRORS / PROFILE(S) after a statement a replica ran: that replica */    \
	X(ROUTE_DIAGNOSTICS, "diagnostics")                                                        \
	X(ROUTE_WRITE, "write")                                                                    \
	X(ROUTE_HINT_PRIMARY, "hint_primary")                                                      \
	X(ROUTE_SESSION_STATE, "session_state")                                                    \
	X(ROUTE_TRANSACTION, "transaction")                                                        \
	X(ROUTE_LOCK_TABLES, "lock_tables")                                                        \
	X(ROUTE_LOCKING_READ, "locking_read")                                                      \
	X(ROUTE_SELECT_INTO, "select_into")                                                        \
	X(ROUTE_TEMPORARY_TABLE, "temporary_table")                                                \
	X(ROUTE_MULTI_STATEMENT, "multi_statement")                                                \
	X(ROUTE_SESSION_BOUND, "session_bound")                                                    \
	X(ROUTE_USER_VARIABLE, "user_variable")                                                    \
	X(ROUTE_HISTORY_FULL, "history_full")                                                      \
	X(ROUTE_PINNED, "pinned") /* reads a row or table written within the window */             \
	X(ROUTE_PREPARED_CURSOR, "prepared_cursor")                                                \
	X(ROUTE_LONG_DATA, "long_data")                                                            \
	X(ROUTE_COMMAND, "command")

#define ROUTE_REASON_ENUM(id, name) id,
enum route_reason { ROUTE_REASONS(ROUTE_REASON_ENUM) ROUTE_REASON_COUNT };
#undef ROUTE_REASON_ENUM

#define ROUTE_FIRST_PRIMARY ROUTE_WRITE

static inline bool route_to_replica(enum route_reason r)
{
	return r < ROUTE_FIRST_PRIMARY;
}

const char *route_reason_str(enum route_reason r);

/* What the router needs to know about the session. */
struct route_session {
	bool in_transaction;        /* an explicit one, or autocommit is off */
	bool read_only_transaction; /* START TRANSACTION READ ONLY is open on the replica */
	bool locked_tables;
	bool user_vars_assigned; /* a statement other than SET assigned a user variable */
	bool history_full;
	/* Does the session own a temporary table of this name? (NULL: it has none.) */
	bool (*has_temp_table)(const void *ctx, const char *db, const char *name);
	const void *ctx;
};

enum route_reason route_statement(const struct cls_result *c, const struct route_session *s);
