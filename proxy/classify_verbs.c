/*
 * classify_verbs.c - the heads of statements: one handler per kind, picked by the first word.
 *
 * Each handler reads what routing needs from its statement's head (the table INSERT writes, the
 * scope and variable of SET, READ ONLY after START TRANSACTION, the table of a DDL, the statement
 * under EXPLAIN...) and either hands the rest to cls_scan() or skips it. Handlers only move the
 * parser of classify_parser.h forward and set its facts and tables; they do no I/O and never
 * allocate. Whatever a handler does not recognise falls to a kind that keeps it on the primary.
 */
#include "classify.h"

#include "classify_parser.h"
#include "sqllex.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* A stored program's body (CREATE PROCEDURE ... BEGIN ...; ...; END) holds semicolons that do
 * not end the statement: the client sent the whole definition as one statement. */
static void skip_to_text_end(struct parser *p)
{
	while (p->tok.type != SQL_TOK_END)
		advance(p);
}

static bool is_stored_program(enum sql_kw kw)
{
	return kw == SQL_KW_PROCEDURE || kw == SQL_KW_FUNCTION || kw == SQL_KW_TRIGGER ||
	       kw == SQL_KW_EVENT || kw == SQL_KW_PACKAGE;
}

static void skip_modifiers(struct parser *p)
{
	while (sqllex_kw_has(p->tok.kw, SQL_KWP_MODIFIER))
		advance(p);
}

static void skip_if_exists(struct parser *p)
{
	if (accept(p, SQL_KW_IF)) {
		accept(p, SQL_KW_NOT);
		accept(p, SQL_KW_EXISTS);
	}
}

/* ---- statements -------------------------------------------------------------------------- */

/* SELECT, VALUES, (SELECT ...): cls_scan() itself opens the query. */
static enum cls_kind classify_query(struct parser *p)
{
	cls_scan(p, STOP_AT_END);
	return CLS_KIND_SELECT;
}

/* Statements whose rest holds expressions only: CALL, DO, PREPARE, EXECUTE. */
static enum cls_kind classify_scanned(struct parser *p, enum cls_kind kind)
{
	advance(p);
	cls_scan(p, STOP_AT_END);
	return kind;
}

static enum cls_kind classify_with(struct parser *p)
{
	p->frames[0].clause = CL_WITH;
	p->expect_cte = true;
	advance(p);
	accept(p, SQL_KW_RECURSIVE);
	cls_scan(p, STOP_AT_MAIN);
	if (at_end(p))
		return CLS_KIND_SELECT;
	p->frames[0] = (struct frame){CL_EXPR, false, false};
	return cls_statement(p); /* the CTE names stay known */
}

static enum cls_kind classify_insert(struct parser *p, enum cls_kind kind)
{
	advance(p);
	skip_modifiers(p);
	accept(p, SQL_KW_INTO);
	cls_take_table(p, true);
	cls_scan(p, STOP_AT_END);
	return kind;
}

/* Every table of a multi-table UPDATE is taken as written: telling which ones its SET
 * assigns would need their aliases. */
static enum cls_kind classify_update(struct parser *p)
{
	advance(p);
	skip_modifiers(p);
	p->frames[0].clause = CL_TARGETS;
	p->expect_table = true;
	cls_scan(p, STOP_AT_END);
	return CLS_KIND_UPDATE;
}

/* DELETE FROM t, DELETE FROM t USING t JOIN u, DELETE t FROM t JOIN u. The targets listed
 * before FROM are names or aliases of tables listed after it, all of which are taken as written
 * for the same reason as UPDATE's. */
static enum cls_kind classify_delete(struct parser *p)
{
	advance(p);
	skip_modifiers(p);
	while (!at_end(p) && !is(p, SQL_KW_FROM))
		advance(p);
	p->frames[0] = (struct frame){CL_EXPR, true, true};
	cls_scan(p, STOP_AT_END);
	return CLS_KIND_DELETE;
}

/* ALTER TABLE t ... RENAME [TO | AS] t2, EXCHANGE PARTITION p WITH TABLE t2: more targets. */
static void alter_table_rest(struct parser *p)
{
	while (!at_end(p)) {
		if (accept(p, SQL_KW_RENAME)) {
			if (is(p, SQL_KW_COLUMN) || is(p, SQL_KW_INDEX) || is(p, SQL_KW_KEY))
				continue;
			if (!accept(p, SQL_KW_TO))
				accept(p, SQL_KW_AS);
			cls_take_table(p, true);
		} else if (accept(p, SQL_KW_TABLE)) {
			cls_take_table(p, true);
		} else {
			advance(p);
		}
	}
}

/* At TABLE, VIEW or SEQUENCE after CREATE, ALTER or DROP. */
static void ddl_table(struct parser *p, enum sql_kw verb, bool temporary)
{
	bool table = is(p, SQL_KW_TABLE);
	advance(p);
	skip_if_exists(p);
	if (verb == SQL_KW_DROP) {
		if (temporary)
			p->flags |= CLS_DROP_TEMP;
		cls_take_table_list(p, true);
		skip_rest(p);
		return;
	}
	if (temporary)
		p->flags |= CLS_CREATE_TEMP;
	cls_take_table(p, true);
	if (verb == SQL_KW_ALTER && table) {
		alter_table_rest(p);
		return;
	}
	/* CREATE TABLE t LIKE u, CREATE TABLE t (LIKE u); the rest may be AS SELECT ... */
	if (p->tok.type == SQL_TOK_LPAREN && peek(p).kw == SQL_KW_LIKE)
		advance(p);
	if (accept(p, SQL_KW_LIKE))
		cls_take_table(p, false);
	cls_scan(p, STOP_AT_END);
}

/* CREATE / ALTER / DROP: the object's keyword follows modifiers such as OR REPLACE, TEMPORARY,
 * DEFINER = ..., ONLINE; only tables, views, sequences and indexes name tables. */
static enum cls_kind classify_ddl(struct parser *p)
{
	enum sql_kw verb = p->tok.kw;
	bool temporary = false;
	advance(p);
	if (verb == SQL_KW_DROP && is(p, SQL_KW_PREPARE))
		return classify_verb(p, CLS_KIND_DEALLOCATE);
	for (; !at_end(p); advance(p)) {
		switch (p->tok.kw) {
		case SQL_KW_TEMPORARY: temporary = true; break;
		case SQL_KW_TABLE:
		case SQL_KW_VIEW:
		case SQL_KW_SEQUENCE:
			ddl_table(p, verb, temporary && is(p, SQL_KW_TABLE));
			return CLS_KIND_DDL;
		case SQL_KW_INDEX: /* CREATE INDEX i ON t, DROP INDEX i ON t */
			while (!at_end(p) && !is(p, SQL_KW_ON))
				advance(p);
			if (accept(p, SQL_KW_ON))
				cls_take_table(p, true);
			return classify_verb(p, CLS_KIND_DDL);
		default:
			if (verb != SQL_KW_DROP && is_stored_program(p->tok.kw)) {
				skip_to_text_end(p);
				return CLS_KIND_DDL;
			}
			if (sqllex_kw_has(p->tok.kw, SQL_KWP_OBJECT))
				return classify_verb(p, CLS_KIND_DDL);
			break;
		}
	}
	return CLS_KIND_DDL;
}

static enum cls_kind classify_truncate(struct parser *p)
{
	advance(p);
	accept(p, SQL_KW_TABLE);
	cls_take_table(p, true);
	return classify_verb(p, CLS_KIND_DDL);
}

/* RENAME TABLE a TO b, c TO d; RENAME USER has no tables. */
static enum cls_kind classify_rename(struct parser *p)
{
	advance(p);
	if (accept(p, SQL_KW_TABLE) || accept(p, SQL_KW_TABLES)) {
		skip_if_exists(p);
		do {
			cls_take_table(p, true);
			if (accept(p, SQL_KW_TO))
				cls_take_table(p, true);
		} while (accept_comma(p));
	}
	return classify_verb(p, CLS_KIND_DDL);
}

/* The value of SET autocommit: 1, ON and TRUE turn it on; anything else may turn it off. */
static void note_autocommit(struct parser *p)
{
	const struct sql_token *t = &p->tok;
	const char *s = t->s;
	size_t n = t->len;
	if (t->type == SQL_TOK_STRING) {
		s++;
		n -= 2;
	}
	bool on =
	    sqllex_same_ci(s, n, "1") || sqllex_same_ci(s, n, "on") || sqllex_same_ci(s, n, "true");
	p->flags |= on ? CLS_AUTOCOMMIT_ON : CLS_AUTOCOMMIT_OFF;
}

/* One assignment of SET. A scope keyword holds for the assignments after it, as in MariaDB;
 * @@global.x sets only its own scope. */
static void set_one(struct parser *p, bool *global)
{
	if (is(p, SQL_KW_GLOBAL) || is(p, SQL_KW_PERSIST) || is(p, SQL_KW_PERSIST_ONLY)) {
		*global = true;
		advance(p);
	} else if (is(p, SQL_KW_SESSION) || is(p, SQL_KW_LOCAL)) {
		*global = false;
		advance(p);
	}
	bool write = *global;
	bool autocommit = false;
	if (p->tok.type == SQL_TOK_SYS_VAR) {
		struct sys_var v = cls_sys_var_of(&p->tok);
		write = v.global;
		autocommit = sqllex_same_ci(v.name, v.len, "autocommit");
	} else if (p->tok.type == SQL_TOK_USER_VAR) {
		write = false;
	} else if (is(p, SQL_KW_TRANSACTION)) {
		p->flags |= write ? CLS_WRITE : CLS_SESSION_STATE;
		skip_rest(p); /* its characteristics are comma-separated too */
		return;
	} else {
		autocommit = p->tok.type == SQL_TOK_WORD &&
		             sqllex_same_ci(p->tok.s, p->tok.len, "autocommit");
	}
	p->flags |= write ? CLS_WRITE : CLS_SESSION_STATE;
	advance(p);
	if ((p->tok.type == SQL_TOK_OTHER && *p->tok.s == '=') || p->tok.type == SQL_TOK_ASSIGN)
		advance(p);
	if (autocommit && !write && !at_end(p))
		note_autocommit(p);
	cls_scan(p, STOP_AT_COMMA);
}

/* SET STATEMENT var = value [, ...] FOR statement: the variables last for that statement. */
static enum cls_kind classify_set_statement(struct parser *p)
{
	while (!at_end(p) && !is(p, SQL_KW_FOR))
		advance(p);
	if (!accept(p, SQL_KW_FOR))
		return CLS_KIND_SET;
	return cls_statement(p);
}

static enum cls_kind classify_set(struct parser *p)
{
	advance(p);
	if (accept(p, SQL_KW_STATEMENT))
		return classify_set_statement(p);
	if (is(p, SQL_KW_PASSWORD) || is(p, SQL_KW_DEFAULT)) { /* SET PASSWORD, SET DEFAULT ROLE */
		p->flags |= CLS_WRITE;
		return classify_verb(p, CLS_KIND_SET);
	}
	bool global = false;
	do
		set_one(p, &global);
	while (accept_comma(p));
	return classify_verb(p, CLS_KIND_SET);
}

/* USE db: later statements of the same text read it as their default database. */
static enum cls_kind classify_use(struct parser *p)
{
	advance(p);
	if (is_name(&p->tok)) {
		if (!cls_copy_token(p->out->use_db, &p->tok))
			p->out->flags |= CLS_TABLES_OVERFLOW;
		p->default_db = p->out->use_db;
	}
	return classify_verb(p, CLS_KIND_USE);
}

static enum cls_kind classify_begin(struct parser *p)
{
	advance(p);
	/* BEGIN NOT ATOMIC ... END is a compound statement, not a transaction: one statement to
	 * the end of the text, whatever semicolons it holds */
	if (is(p, SQL_KW_NOT)) {
		skip_to_text_end(p);
		return CLS_KIND_OTHER;
	}
	return classify_verb(p, CLS_KIND_BEGIN);
}

/* START TRANSACTION [READ ONLY | READ WRITE | WITH CONSISTENT SNAPSHOT] [, ...] */
static enum cls_kind classify_start(struct parser *p)
{
	advance(p);
	if (!accept(p, SQL_KW_TRANSACTION))
		return classify_verb(p, CLS_KIND_OTHER);
	while (!at_end(p)) {
		if (accept(p, SQL_KW_READ) && is(p, SQL_KW_ONLY))
			p->flags |= CLS_TXN_READ_ONLY;
		else
			advance(p);
	}
	return CLS_KIND_BEGIN;
}

static enum cls_kind classify_rollback(struct parser *p)
{
	advance(p);
	accept(p, SQL_KW_WORK);
	return classify_verb(p, is(p, SQL_KW_TO) ? CLS_KIND_SAVEPOINT : CLS_KIND_ROLLBACK);
}

static enum cls_kind classify_release(struct parser *p)
{
	advance(p);
	return classify_verb(p, is(p, SQL_KW_SAVEPOINT) ? CLS_KIND_SAVEPOINT : CLS_KIND_OTHER);
}

/* LOCK TABLES t [AS a] READ [LOCAL], u [LOW_PRIORITY] WRITE: the WRITE ones are written. */
static enum cls_kind classify_lock(struct parser *p)
{
	advance(p);
	if (!accept(p, SQL_KW_TABLE) && !accept(p, SQL_KW_TABLES))
		return classify_verb(p, CLS_KIND_OTHER);
	struct qname q;
	do {
		if (!cls_read_qname(p, &q))
			break;
		bool written = false;
		for (; !at_end(p) && p->tok.type != SQL_TOK_COMMA; advance(p))
			written |= is(p, SQL_KW_WRITE);
		cls_record_table(p, &q, written);
	} while (accept_comma(p));
	return classify_verb(p, CLS_KIND_LOCK_TABLES);
}

static enum cls_kind classify_unlock(struct parser *p)
{
	advance(p);
	bool tables = is(p, SQL_KW_TABLE) || is(p, SQL_KW_TABLES);
	return classify_verb(p, tables ? CLS_KIND_UNLOCK_TABLES : CLS_KIND_OTHER);
}

/* HANDLER t OPEN names a table; HANDLER x READ ... may name an alias. */
static enum cls_kind classify_handler(struct parser *p)
{
	advance(p);
	struct qname q;
	if (cls_read_qname(p, &q) && is(p, SQL_KW_OPEN))
		cls_record_table(p, &q, false);
	return classify_verb(p, CLS_KIND_HANDLER);
}

/* LOAD DATA | XML ... INTO TABLE t ... */
static enum cls_kind classify_load(struct parser *p)
{
	while (!at_end(p) && !is(p, SQL_KW_INTO))
		advance(p);
	if (accept(p, SQL_KW_INTO) && accept(p, SQL_KW_TABLE))
		cls_take_table(p, true);
	cls_scan(p, STOP_AT_END);
	return CLS_KIND_LOAD;
}

/* SHOW WARNINGS / ERRORS / COUNT(*) WARNINGS / PROFILE(S) describe the connection's last
 * statement. No tables: SHOW COLUMNS FROM t is not a read of t's rows. */
static enum cls_kind classify_show(struct parser *p)
{
	advance(p);
	if (accept(p, SQL_KW_COUNT))
		for (int i = 0; i < 3 && !at_end(p); i++) /* (*) */
			advance(p);
	if (is(p, SQL_KW_WARNINGS) || is(p, SQL_KW_ERRORS) || is(p, SQL_KW_PROFILE) ||
	    is(p, SQL_KW_PROFILES))
		p->flags |= CLS_SESSION_BOUND;
	return classify_verb(p, CLS_KIND_SHOW);
}

/* EXTENDED, PARTITIONS, FORMAT = name */
static void skip_explain_options(struct parser *p)
{
	for (;;) {
		if (accept(p, SQL_KW_FORMAT)) {
			if (p->tok.type == SQL_TOK_OTHER && *p->tok.s == '=')
				advance(p);
			advance(p);
		} else if (!accept(p, SQL_KW_EXTENDED) && !accept(p, SQL_KW_PARTITIONS)) {
			return;
		}
	}
}

static bool starts_statement(const struct parser *p)
{
	return starts_query(&p->tok) || is(p, SQL_KW_INSERT) || is(p, SQL_KW_UPDATE) ||
	       is(p, SQL_KW_DELETE) || is(p, SQL_KW_REPLACE) || p->tok.type == SQL_TOK_LPAREN;
}

/* The statement after EXPLAIN (not run: a plain read of its tables) or after ANALYZE /
 * EXPLAIN ANALYZE (run: its own facts). */
static enum cls_kind classify_explained(struct parser *p, bool runs)
{
	bool was = p->reading_only;
	p->reading_only = was || !runs;
	cls_statement(p);
	p->reading_only = was;
	if (!runs)
		p->flags = 0;
	return CLS_KIND_EXPLAIN;
}

/* ANALYZE / OPTIMIZE / REPAIR / CHECK [NO_WRITE_TO_BINLOG | LOCAL] TABLE t [, ...] */
static enum cls_kind admin_tables(struct parser *p, bool written)
{
	skip_modifiers(p);
	if (accept(p, SQL_KW_TABLE) || accept(p, SQL_KW_TABLES))
		cls_take_table_list(p, written);
	return classify_verb(p, CLS_KIND_ADMIN);
}

static enum cls_kind classify_admin(struct parser *p, bool written)
{
	advance(p);
	return admin_tables(p, written);
}

static enum cls_kind classify_analyze(struct parser *p)
{
	advance(p);
	skip_explain_options(p);
	if (starts_statement(p) && !is(p, SQL_KW_TABLE))
		return classify_explained(p, true);
	return admin_tables(p, true);
}

/* EXPLAIN / DESCRIBE / DESC: a statement, or a table [column], or FOR CONNECTION n. */
static enum cls_kind classify_explain(struct parser *p)
{
	advance(p);
	skip_explain_options(p);
	bool runs = accept(p, SQL_KW_ANALYZE);
	skip_explain_options(p);
	if (starts_statement(p))
		return classify_explained(p, runs);
	if (!is(p, SQL_KW_FOR))
		cls_take_table(p, false);
	return classify_verb(p, CLS_KIND_EXPLAIN);
}

enum cls_kind cls_dispatch(struct parser *p)
{
	switch (p->tok.kw) {
	case SQL_KW_SELECT:
	case SQL_KW_VALUES: return classify_query(p);
	case SQL_KW_TABLE:
		advance(p);
		cls_take_table(p, false);
		return classify_verb(p, CLS_KIND_SELECT);
	case SQL_KW_WITH: return classify_with(p);
	case SQL_KW_INSERT: return classify_insert(p, CLS_KIND_INSERT);
	case SQL_KW_REPLACE: return classify_insert(p, CLS_KIND_REPLACE);
	case SQL_KW_UPDATE: return classify_update(p);
	case SQL_KW_DELETE: return classify_delete(p);
	case SQL_KW_CREATE:
	case SQL_KW_ALTER:
	case SQL_KW_DROP: return classify_ddl(p);
	case SQL_KW_TRUNCATE: return classify_truncate(p);
	case SQL_KW_RENAME: return classify_rename(p);
	case SQL_KW_SET: return classify_set(p);
	case SQL_KW_USE: return classify_use(p);
	case SQL_KW_BEGIN: return classify_begin(p);
	case SQL_KW_START: return classify_start(p);
	case SQL_KW_COMMIT: return classify_verb(p, CLS_KIND_COMMIT);
	case SQL_KW_ROLLBACK: return classify_rollback(p);
	case SQL_KW_SAVEPOINT: return classify_verb(p, CLS_KIND_SAVEPOINT);
	case SQL_KW_RELEASE: return classify_release(p);
	case SQL_KW_LOCK: return classify_lock(p);
	case SQL_KW_UNLOCK: return classify_unlock(p);
	case SQL_KW_CALL: return classify_scanned(p, CLS_KIND_CALL);
	case SQL_KW_SHOW: return classify_show(p);
	case SQL_KW_DO: return classify_scanned(p, CLS_KIND_DO);
	case SQL_KW_HANDLER: return classify_handler(p);
	case SQL_KW_XA: return classify_verb(p, CLS_KIND_XA);
	case SQL_KW_LOAD: return classify_load(p);
	case SQL_KW_EXPLAIN:
	case SQL_KW_DESCRIBE:
	case SQL_KW_DESC: return classify_explain(p);
	case SQL_KW_PREPARE: return classify_scanned(p, CLS_KIND_PREPARE);
	case SQL_KW_EXECUTE: return classify_scanned(p, CLS_KIND_EXECUTE);
	case SQL_KW_DEALLOCATE: return classify_verb(p, CLS_KIND_DEALLOCATE);
	case SQL_KW_FLUSH: return classify_verb(p, CLS_KIND_FLUSH);
	case SQL_KW_KILL: return classify_verb(p, CLS_KIND_KILL);
	case SQL_KW_GRANT:
	case SQL_KW_REVOKE: return classify_verb(p, CLS_KIND_ACCOUNT);
	case SQL_KW_ANALYZE: return classify_analyze(p);
	case SQL_KW_OPTIMIZE:
	case SQL_KW_REPAIR: return classify_admin(p, true);
	case SQL_KW_CHECK:
	case SQL_KW_CHECKSUM: return classify_admin(p, false);
	default: break;
	}
	if (p->tok.type == SQL_TOK_LPAREN)
		return classify_query(p);
	return classify_verb(p, p->tok.type == SQL_TOK_WORD ? CLS_KIND_OTHER : CLS_KIND_UNKNOWN);
}
