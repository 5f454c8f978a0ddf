/*
 * classify.h - what a SQL statement does, as far as read/write splitting needs to know.
 *
 * classify() reads the text of a COM_QUERY or COM_STMT_PREPARE with a small hand-written lexer
 * and reports the kind of its first statement, the facts (CLS_* flags) that decide where it may
 * run, and the tables it reads and writes. It is a pure function of its arguments: no I/O, no
 * allocation, nothing kept between calls, safe from any thread. It reads at most len bytes and
 * needs no NUL. It is not a parser: it recognises the shapes routing depends on, and whatever it
 * does not understand (an unknown statement, an unterminated string or comment, an empty text)
 * comes out as CLS_WRITE, which sends it to the primary.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLS_MAX_TABLES 16
#define CLS_NAME_MAX   65 /* identifiers up to 64 bytes + NUL; longer ones are cut and flagged */

/* X(id, name): the facts, one bit each. */
#define CLS_FLAG_LIST(X)                                                                           \
	/* may change data, schema, privileges or server state; also what is not understood */     \
	X(WRITE, "write")                                                                          \
	/* FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE */                                            \
	X(LOCKING, "locking")                                                                      \
	/* SELECT ... INTO OUTFILE / DUMPFILE / @var */                                            \
	X(SELECT_INTO, "select_into")                                                              \
	/* the answer belongs to one connection: LAST_INSERT_ID(), GET_LOCK(), FOUND_ROWS(),       \
	 * NEXT VALUE FOR, @@last_insert_id, SHOW WARNINGS, HANDLER, SQL_CALC_FOUND_ROWS... */     \
	X(SESSION_BOUND, "session_bound")                                                          \
	/* a user variable assigned outside SET: SELECT @a := 1, SELECT ... INTO @a */             \
	X(USER_VAR_ASSIGN, "user_var_assign")                                                      \
	X(USER_VAR_READ, "user_var_read")                                                          \
	/* state every backend connection of the session must share: SET (not GLOBAL / PERSIST,    \
	 * which are writes), USE, PREPARE, DEALLOCATE */                                          \
	X(SESSION_STATE, "session_state")                                                          \
	/* START TRANSACTION READ ONLY */                                                          \
	X(TXN_READ_ONLY, "txn_read_only")                                                          \
	/* SET autocommit = 0 (or any value other than 1 / ON / TRUE) and = 1 */                   \
	X(AUTOCOMMIT_OFF, "autocommit_off")                                                        \
	X(AUTOCOMMIT_ON, "autocommit_on")                                                          \
	X(CREATE_TEMP, "create_temp")                                                              \
	X(DROP_TEMP, "drop_temp")                                                                  \
	/* more than one statement (a trailing ';' and comments after it do not count) */          \
	X(MULTI, "multi")                                                                          \
	/* tables[] is incomplete: too many tables, a name cut short, nesting too deep */          \
	X(TABLES_OVERFLOW, "tables_overflow")                                                      \
	/* a comment anywhere saying sluice:primary or sluice:replica */                           \
	X(HINT_PRIMARY, "hint_primary")                                                            \
	X(HINT_REPLICA, "hint_replica")

#define CLS_FLAG_BIT(id, name) CLS_BIT_##id,
enum { CLS_FLAG_LIST(CLS_FLAG_BIT) CLS_FLAG_COUNT };
#undef CLS_FLAG_BIT

#define CLS_FLAG_VALUE(id, name) CLS_##id = 1u << CLS_BIT_##id,
enum cls_flag { CLS_FLAG_LIST(CLS_FLAG_VALUE) };
#undef CLS_FLAG_VALUE

/* Facts that keep a statement off the replicas whatever its kind (see all_plain_reads). */
#define CLS_FORCES_PRIMARY                                                                         \
	(CLS_WRITE | CLS_LOCKING | CLS_SELECT_INTO | CLS_SESSION_BOUND | CLS_USER_VAR_ASSIGN |     \
	 CLS_SESSION_STATE | CLS_HINT_PRIMARY)

/* X(id, name, flags, plain): each kind, the facts it always carries, and whether it may be a
 * plain read. Transaction control and LOCK / UNLOCK TABLES carry no fact: the router follows
 * them by kind. */
#define CLS_KIND_LIST(X)                                                                           \
	X(UNKNOWN, "unknown", CLS_WRITE, false) /* empty, only comments, not SQL, lexing error */  \
	X(SELECT, "select", 0, true)            /* also WITH ... SELECT, VALUES, TABLE t */        \
	X(INSERT, "insert", CLS_WRITE, false)                                                      \
	X(UPDATE, "update", CLS_WRITE, false)                                                      \
	X(DELETE, "delete", CLS_WRITE, false)                                                      \
	X(REPLACE, "replace", CLS_WRITE, false)                                                    \
	X(DDL, "ddl", CLS_WRITE, false) /* CREATE, ALTER, DROP, TRUNCATE, RENAME */                \
	X(SET, "set", 0, false)         /* SESSION_STATE or WRITE, by scope */                     \
	X(USE, "use", CLS_SESSION_STATE, false)                                                    \
	X(BEGIN, "begin", 0, false) /* BEGIN [WORK], START TRANSACTION */                          \
	X(COMMIT, "commit", 0, false)                                                              \
	X(ROLLBACK, "rollback", 0, false)                                                          \
	X(SAVEPOINT, "savepoint", 0, false) /* also RELEASE SAVEPOINT, ROLLBACK TO */              \
	X(LOCK_TABLES, "lock_tables", 0, false)                                                    \
	X(UNLOCK_TABLES, "unlock_tables", 0, false)                                                \
	X(CALL, "call", CLS_WRITE, false) /* a procedure may write */                              \
	X(SHOW, "show", 0, true)                                                                   \
	X(DO, "do", 0, true)                                                                       \
	X(HANDLER, "handler", CLS_SESSION_BOUND, false)                                            \
	X(XA, "xa", CLS_WRITE, false)                                                              \
	X(LOAD, "load", CLS_WRITE, false) /* LOAD DATA, LOAD XML */                                \
	X(EXPLAIN, "explain", 0, true)    /* also DESCRIBE; ANALYZE <stmt> runs it: its facts */   \
	X(PREPARE, "prepare", CLS_SESSION_STATE, false)                                            \
	X(EXECUTE, "execute", CLS_WRITE, false) /* runs a statement we cannot see */               \
	X(DEALLOCATE, "deallocate", CLS_SESSION_STATE, false)                                      \
	X(FLUSH, "flush", CLS_WRITE, false)                                                        \
	X(KILL, "kill", CLS_WRITE, false)                                                          \
	X(ACCOUNT, "account", CLS_WRITE, false) /* GRANT, REVOKE */                                \
	X(ADMIN, "admin", CLS_WRITE, false)     /* ANALYZE / OPTIMIZE / CHECK / REPAIR TABLE */    \
	X(OTHER, "other", CLS_WRITE, false)     /* known to MariaDB, not to us: RESET, PURGE... */

#define CLS_KIND_ENUM(id, name, flags, plain) CLS_KIND_##id,
enum cls_kind { CLS_KIND_LIST(CLS_KIND_ENUM) CLS_KIND_COUNT };
#undef CLS_KIND_ENUM

const char *cls_kind_str(enum cls_kind k);
/* The name of one flag (a single bit); "?" for anything else. */
const char *cls_flag_str(uint32_t flag);

struct cls_table {
	char db[CLS_NAME_MAX]; /* the default db when none is named; empty if there is none */
	char name[CLS_NAME_MAX];
	bool written;
};

struct cls_result {
	enum cls_kind kind; /* of the first statement */
	uint32_t flags;     /* CLS_* of all statements, OR-ed */
	/* every statement is a SELECT, SHOW, DO or EXPLAIN and no CLS_FORCES_PRIMARY fact is set;
	 * reading a user variable is no such fact: the router knows whether any was assigned */
	bool all_plain_reads;
	char use_db[CLS_NAME_MAX]; /* the database of the last USE; empty without one */
	size_t n_tables;
	/* read and written, in order of first appearance, de-duplicated; not CTEs nor aliases */
	struct cls_table tables[CLS_MAX_TABLES];
};

/* Classifies sql[0..len) for a session whose default database is default_db (NULL or "" for
 * none). A USE applies to the statements after it in the same text. */
void classify(const char *sql, size_t len, const char *default_db, struct cls_result *out);
