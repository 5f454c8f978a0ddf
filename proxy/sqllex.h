/*
 * sqllex.h - the SQL lexer under the classifier: keywords, byte classes and tokens.
 *
 * It owns the table of keywords the classifier looks at (with their properties), the class of
 * every byte, and the lexer proper: sqllex_next() turns the text of a statement into tokens
 * (words with their keyword, `quoted` names, strings, numbers, user and system variables,
 * punctuation), skipping whitespace and comments. The inside of an executable comment (a block
 * comment opened with MySQL's '!' or MariaDB's 'M!' and an optional version) is lexed as code;
 * other comments are searched for routing hints (sluice:primary, sluice:replica).
 *
 * It never allocates and never reads past the end: it reads at most len bytes of the text given
 * to sqllex_start() and needs no NUL. Tokens point into that text, which must outlive them. A
 * lexer is a small value: copying it is how callers look ahead. Its tables are built once, on
 * the first sqllex_start(), and only read after that, so lexers are safe from any thread. What
 * a statement means is classify.c's business, not this file's.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- keywords ---------------------------------------------------------------------------- */

enum sql_kw_prop {
	SQL_KWP_CLAUSE = 1,     /* ends a list of tables: WHERE, GROUP, SET... */
	SQL_KWP_SESSION_FN = 2, /* a function whose answer belongs to one connection */
	SQL_KWP_MODIFIER = 4,   /* LOW_PRIORITY, IGNORE...: between a verb and its table */
	SQL_KWP_OBJECT = 8, /* a kind of schema object without tables: CREATE DATABASE, USER... */
};

/* X(keyword, properties): every word the classifier looks at. */
#define SQL_KW_LIST(X)                                                                             \
	X(ALTER, 0)                                                                                \
	X(ANALYZE, 0)                                                                              \
	X(AS, 0)                                                                                   \
	X(BEGIN, 0)                                                                                \
	X(CALL, 0)                                                                                 \
	X(CHECK, 0)                                                                                \
	X(CHECKSUM, 0)                                                                             \
	X(COLUMN, 0)                                                                               \
	X(COMMIT, 0)                                                                               \
	X(CONNECTION_ID, SQL_KWP_SESSION_FN)                                                       \
	X(COUNT, 0)                                                                                \
	X(CREATE, 0)                                                                               \
	X(DATABASE, SQL_KWP_OBJECT)                                                                \
	X(DEALLOCATE, 0)                                                                           \
	X(DEFAULT, 0)                                                                              \
	X(DELAYED, SQL_KWP_MODIFIER)                                                               \
	X(DELETE, 0)                                                                               \
	X(DESC, 0)                                                                                 \
	X(DESCRIBE, 0)                                                                             \
	X(DO, 0)                                                                                   \
	X(DROP, 0)                                                                                 \
	X(DUAL, 0)                                                                                 \
	X(ERRORS, 0)                                                                               \
	X(EVENT, SQL_KWP_OBJECT)                                                                   \
	X(EXCEPT, SQL_KWP_CLAUSE)                                                                  \
	X(EXECUTE, 0)                                                                              \
	X(EXISTS, 0)                                                                               \
	X(EXPLAIN, 0)                                                                              \
	X(EXTENDED, 0)                                                                             \
	X(FLUSH, 0)                                                                                \
	X(FOR, 0)                                                                                  \
	X(FORMAT, 0)                                                                               \
	X(FOUND_ROWS, SQL_KWP_SESSION_FN)                                                          \
	X(FROM, 0)                                                                                 \
	X(FUNCTION, SQL_KWP_OBJECT)                                                                \
	X(GET_LOCK, SQL_KWP_SESSION_FN)                                                            \
	X(GLOBAL, 0)                                                                               \
	X(GRANT, 0)                                                                                \
	X(GROUP, SQL_KWP_CLAUSE)                                                                   \
	X(HANDLER, 0)                                                                              \
	X(HAVING, SQL_KWP_CLAUSE)                                                                  \
	X(HIGH_PRIORITY, SQL_KWP_MODIFIER)                                                         \
	X(IF, 0)                                                                                   \
	X(IGNORE, SQL_KWP_MODIFIER)                                                                \
	X(IN, 0)                                                                                   \
	X(INDEX, 0)                                                                                \
	X(INSERT, 0)                                                                               \
	X(INTERSECT, SQL_KWP_CLAUSE)                                                               \
	X(INTO, 0)                                                                                 \
	X(IS_FREE_LOCK, SQL_KWP_SESSION_FN)                                                        \
	X(IS_USED_LOCK, SQL_KWP_SESSION_FN)                                                        \
	X(JOIN, 0)                                                                                 \
	X(KEY, 0)                                                                                  \
	X(KILL, 0)                                                                                 \
	X(LASTVAL, SQL_KWP_SESSION_FN)                                                             \
	X(LAST_INSERT_ID, SQL_KWP_SESSION_FN)                                                      \
	X(LATERAL, 0)                                                                              \
	X(LIKE, 0)                                                                                 \
	X(LIMIT, SQL_KWP_CLAUSE)                                                                   \
	X(LOAD, 0)                                                                                 \
	X(LOCAL, SQL_KWP_MODIFIER)                                                                 \
	X(LOCK, 0)                                                                                 \
	X(LOW_PRIORITY, SQL_KWP_MODIFIER)                                                          \
	X(MASTER_GTID_WAIT, SQL_KWP_SESSION_FN)                                                    \
	X(MASTER_POS_WAIT, SQL_KWP_SESSION_FN)                                                     \
	X(NEXT, 0)                                                                                 \
	X(NEXTVAL, SQL_KWP_SESSION_FN)                                                             \
	X(NOT, 0)                                                                                  \
	X(NO_WRITE_TO_BINLOG, SQL_KWP_MODIFIER)                                                    \
	X(ON, 0)                                                                                   \
	X(ONLY, 0)                                                                                 \
	X(OPEN, 0)                                                                                 \
	X(OPTIMIZE, 0)                                                                             \
	X(ORDER, SQL_KWP_CLAUSE)                                                                   \
	X(PACKAGE, SQL_KWP_OBJECT)                                                                 \
	X(PARTITIONS, 0)                                                                           \
	X(PASSWORD, 0)                                                                             \
	X(PERSIST, 0)                                                                              \
	X(PERSIST_ONLY, 0)                                                                         \
	X(PREPARE, 0)                                                                              \
	X(PREVIOUS, 0)                                                                             \
	X(PROCEDURE, SQL_KWP_CLAUSE | SQL_KWP_OBJECT)                                              \
	X(PROFILE, 0)                                                                              \
	X(PROFILES, 0)                                                                             \
	X(QUICK, SQL_KWP_MODIFIER)                                                                 \
	X(READ, 0)                                                                                 \
	X(RECURSIVE, 0)                                                                            \
	X(RELEASE, 0)                                                                              \
	X(RELEASE_ALL_LOCKS, SQL_KWP_SESSION_FN)                                                   \
	X(RELEASE_LOCK, SQL_KWP_SESSION_FN)                                                        \
	X(RENAME, 0)                                                                               \
	X(REPAIR, 0)                                                                               \
	X(REPLACE, 0)                                                                              \
	X(RETURNING, SQL_KWP_CLAUSE)                                                               \
	X(REVOKE, 0)                                                                               \
	X(ROLE, SQL_KWP_OBJECT)                                                                    \
	X(ROLLBACK, 0)                                                                             \
	X(ROW_COUNT, SQL_KWP_SESSION_FN)                                                           \
	X(SAVEPOINT, 0)                                                                            \
	X(SCHEMA, SQL_KWP_OBJECT)                                                                  \
	X(SELECT, 0)                                                                               \
	X(SEQUENCE, 0)                                                                             \
	X(SERVER, SQL_KWP_OBJECT)                                                                  \
	X(SESSION, 0)                                                                              \
	X(SET, SQL_KWP_CLAUSE)                                                                     \
	X(SETVAL, SQL_KWP_SESSION_FN)                                                              \
	X(SHARE, 0)                                                                                \
	X(SHOW, 0)                                                                                 \
	X(SQL_CALC_FOUND_ROWS, 0)                                                                  \
	X(START, 0)                                                                                \
	X(STATEMENT, 0)                                                                            \
	X(STRAIGHT_JOIN, 0)                                                                        \
	X(TABLE, 0)                                                                                \
	X(TABLES, 0)                                                                               \
	X(TEMPORARY, 0)                                                                            \
	X(TO, 0)                                                                                   \
	X(TRANSACTION, 0)                                                                          \
	X(TRIGGER, SQL_KWP_OBJECT)                                                                 \
	X(TRUNCATE, 0)                                                                             \
	X(UNION, SQL_KWP_CLAUSE)                                                                   \
	X(UNLOCK, 0)                                                                               \
	X(UPDATE, SQL_KWP_CLAUSE)                                                                  \
	X(USE, 0)                                                                                  \
	X(USER, SQL_KWP_OBJECT)                                                                    \
	X(USING, 0)                                                                                \
	X(VALUE, 0)                                                                                \
	X(VALUES, 0)                                                                               \
	X(VIEW, 0)                                                                                 \
	X(WARNINGS, 0)                                                                             \
	X(WHERE, SQL_KWP_CLAUSE)                                                                   \
	X(WINDOW, SQL_KWP_CLAUSE)                                                                  \
	X(WITH, 0)                                                                                 \
	X(WORK, 0)                                                                                 \
	X(WRITE, 0)                                                                                \
	X(XA, 0)

/* The count is not SQL_KW_COUNT: that is the keyword COUNT. */
#define SQL_KW_ENUM(word, props) SQL_KW_##word,
enum sql_kw { SQL_KW_NONE, SQL_KW_LIST(SQL_KW_ENUM) SQLLEX_N_KEYWORDS };
#undef SQL_KW_ENUM

/* The properties (SQL_KWP_*) of each keyword; none for SQL_KW_NONE. */
extern const uint8_t sqllex_kw_props[SQLLEX_N_KEYWORDS];

static inline bool sqllex_kw_has(enum sql_kw kw, enum sql_kw_prop prop)
{
	return sqllex_kw_props[kw] & prop;
}

/* Is s[0..len) the word (ASCII letters compared without case)? */
bool sqllex_same_ci(const char *s, size_t len, const char *word);
/* [s, e) without its leading blanks. */
const char *sqllex_skip_blanks(const char *s, const char *e);
/* Moves *s past word if [*s, e) starts with it as a whole word, in any case. */
bool sqllex_take_word(const char **s, const char *e, const char *word);
/* A comment's text [s, e) past "sluice:" (any case, blanks around the colon): where a hint's
 * word starts; NULL when the comment is no sluice hint. */
const char *sqllex_hint_body(const char *s, const char *e);

/* ---- tokens ------------------------------------------------------------------------------ */

enum sql_tok {
	SQL_TOK_END, /* the end of the text, or of what could be lexed */
	SQL_TOK_SEMI,
	SQL_TOK_WORD,   /* an unquoted identifier or keyword */
	SQL_TOK_QUOTED, /* a `quoted` identifier */
	SQL_TOK_STRING, /* 'text' or "text" */
	SQL_TOK_NUMBER,
	SQL_TOK_USER_VAR, /* @name, @'name' */
	SQL_TOK_SYS_VAR,  /* @@name, @@session.name */
	SQL_TOK_ASSIGN,   /* := */
	SQL_TOK_LPAREN,
	SQL_TOK_RPAREN,
	SQL_TOK_COMMA,
	SQL_TOK_DOT,
	SQL_TOK_OTHER, /* any other operator or punctuation byte */
};

struct sql_token {
	enum sql_tok type;
	enum sql_kw kw; /* for SQL_TOK_WORD, SQL_KW_NONE for anything else */
	const char *s;
	size_t len;
};

/* The routing hints a comment may hold, one bit each in struct sqllex's hints. */
enum sqllex_hint {
	SQLLEX_HINT_PRIMARY = 1, /* sluice:primary */
	SQLLEX_HINT_REPLICA = 2, /* sluice:replica */
};

struct sqllex {
	const char *p, *end;
	/* Where the last token ended, and whether it was a name or a string: then an '@' right
	 * after it joins user@host and starts no variable. */
	const char *prev_end;
	bool prev_glues;
	bool in_exec;   /* inside an executable comment, whose closing is not a token */
	bool failed;    /* a string, quoted name or comment was not closed */
	uint32_t hints; /* SQLLEX_HINT_* seen in comments */
};

/* Starts lexing sql[0..len); builds the lexer's tables on the first call. */
void sqllex_start(struct sqllex *lx, const char *sql, size_t len);

/* Lexes the next token into *t: SQL_TOK_END at the end of the text, and from then on. A string,
 * quoted name or comment left open sets lx->failed and ends the text there. */
void sqllex_next(struct sqllex *lx, struct sql_token *t);
