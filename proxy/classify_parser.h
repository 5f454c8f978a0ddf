/*
 * classify_parser.h - the classifier's parser state, shared by classify.c and classify_verbs.c.
 *
 * Private to those two files: nothing else includes it. classify.c owns the parser's cursor,
 * tables and cls_scan(), the loop that reads the body of a statement; classify_verbs.c owns the
 * handlers that read the head of each kind of statement and hand the rest to cls_scan(). Like
 * the lexer under it, the parser never allocates: its state is one struct on classify()'s stack.
 */
#pragma once

#include "classify.h"
#include "sqllex.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- parser state ------------------------------------------------------------------------ */

#define MAX_DEPTH   32 /* parentheses followed; tables deeper in are missed (and flagged) */
#define MAX_CTES    8  /* CTE names remembered; more are taken for tables */
#define MAX_NESTING 4  /* statements inside statements */

enum clause {
	CL_EXPR,    /* expressions, select lists, anything else */
	CL_TABLES,  /* a list of tables read: FROM, JOIN, USING */
	CL_TARGETS, /* a list of tables written: UPDATE's, DELETE's */
	CL_WITH,    /* a list of common table expressions */
};

/* What is open at one depth of parentheses. */
struct frame {
	enum clause clause;
	bool select; /* a SELECT (or DELETE) is open here: FROM lists tables, not EXTRACT(...) */
	bool from_writes; /* ...and they are written (DELETE) */
};

struct parser {
	struct sqllex lx;
	struct sql_token tok; /* the current token */
	enum sql_tok prev;    /* the type of the one before it */
	struct cls_result *out;
	const char *default_db;
	uint32_t flags;    /* of the statement being classified */
	bool reading_only; /* under EXPLAIN, which writes nothing */
	int nesting;
	size_t depth;
	bool expect_table;                  /* the next name starts a table reference */
	bool expect_cte;                    /* the next name is a CTE's */
	struct frame frames[MAX_DEPTH + 1]; /* the last one stands for every deeper level */
	size_t n_ctes;
	char ctes[MAX_CTES][CLS_NAME_MAX];
};

static inline void advance(struct parser *p)
{
	p->prev = p->tok.type;
	sqllex_next(&p->lx, &p->tok);
}

/* The tokens after the current one, lexed by a copy of the lexer. */
static inline struct sql_token peek(const struct parser *p)
{
	struct sqllex ahead = p->lx;
	struct sql_token t;
	sqllex_next(&ahead, &t);
	return t;
}

static inline bool at_end(const struct parser *p)
{
	return p->tok.type == SQL_TOK_END || p->tok.type == SQL_TOK_SEMI;
}

static inline bool is(const struct parser *p, enum sql_kw kw)
{
	return p->tok.kw == kw;
}

static inline bool accept(struct parser *p, enum sql_kw kw)
{
	if (!is(p, kw))
		return false;
	advance(p);
	return true;
}

static inline bool accept_comma(struct parser *p)
{
	if (p->tok.type != SQL_TOK_COMMA)
		return false;
	advance(p);
	return true;
}

static inline void skip_rest(struct parser *p)
{
	while (!at_end(p))
		advance(p);
}

static inline bool is_name(const struct sql_token *t)
{
	return t->type == SQL_TOK_WORD || t->type == SQL_TOK_QUOTED;
}

static inline bool starts_query(const struct sql_token *t)
{
	return t->kw == SQL_KW_SELECT || t->kw == SQL_KW_WITH || t->kw == SQL_KW_VALUES ||
	       t->kw == SQL_KW_TABLE;
}

/* Statements whose rest does not matter to routing. */
static inline enum cls_kind classify_verb(struct parser *p, enum cls_kind kind)
{
	skip_rest(p);
	return kind;
}

/* ---- names and tables (classify.c) ------------------------------------------------------- */

/* Copies the name in *t into dst (CLS_NAME_MAX bytes), unquoted and cut at a character
 * boundary; false if it was cut. */
bool cls_copy_token(char *dst, const struct sql_token *t);

/* [db.]name, as written. */
struct qname {
	struct sql_token db, name;
	bool qualified;
};

/* Reads [db.]name at the current token; false, reading nothing, if there is no name. */
bool cls_read_qname(struct parser *p, struct qname *q);
/* Adds the table to the result once, not if it names a CTE; flags an overflow. */
void cls_record_table(struct parser *p, const struct qname *q, bool written);
/* A name at the current token as a table; false if there is none. */
bool cls_take_table(struct parser *p, bool written);
/* t [, u ...] */
void cls_take_table_list(struct parser *p, bool written);

/* ---- statement bodies (classify.c) ------------------------------------------------------- */

struct sys_var {
	const char *name;
	size_t len;
	bool global;
};

/* @@[global. | session. | local. | persist. | persist_only.]name */
struct sys_var cls_sys_var_of(const struct sql_token *t);

enum stop {
	STOP_AT_END,   /* the end of the statement */
	STOP_AT_COMMA, /* also a comma outside parentheses: SET's next variable */
	STOP_AT_MAIN,  /* also the statement after WITH's CTEs */
};

/* Reads the body of a statement for its tables and facts, up to stop. */
void cls_scan(struct parser *p, enum stop stop);

/* Classifies the statement at the current token, which it reads to its end (nesting allowed). */
enum cls_kind cls_statement(struct parser *p);

/* ---- statement heads (classify_verbs.c) -------------------------------------------------- */

/* Picks the handler of the statement at the current token by its first word and returns its
 * kind; the handler reads the statement to its end. */
enum cls_kind cls_dispatch(struct parser *p);
