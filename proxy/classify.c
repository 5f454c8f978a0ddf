/*
 * classify.c - the statement classifier (see classify.h), on top of the lexer in sqllex.c.
 *
 * It reads one statement at a time: its first word picks a handler (classify_verbs.c), which
 * reads the statement's head (the target of INSERT, UPDATE, DDL...) and gives the rest to
 * cls_scan(), the one loop that finds tables in FROM and JOIN lists and subqueries, CTE names,
 * locking clauses, and the functions and variables that tie a statement to one connection. This
 * file owns that loop, the recording of tables, and classify(), which strings the statements of
 * a text together; it does no I/O and keeps nothing between calls.
 *
 * cls_scan() follows parentheses with a fixed stack of frames rather than by recursion, so hostile
 * nesting cannot exhaust the C stack; statements inside statements (EXPLAIN, ANALYZE, WITH,
 * SET STATEMENT ... FOR) recurse at most MAX_NESTING deep.
 */
#include "classify.h"

#include "classify_parser.h"
#include "sqllex.h"

#include <string.h>

/* ---- parser cursor ----------------------------------------------------------------------- */

static struct sql_token peek2(const struct parser *p)
{
	struct sqllex ahead = p->lx;
	struct sql_token t;
	sqllex_next(&ahead, &t);
	sqllex_next(&ahead, &t);
	return t;
}

static struct frame *top(struct parser *p)
{
	return &p->frames[p->depth < MAX_DEPTH ? p->depth : MAX_DEPTH];
}

/* ---- names and tables -------------------------------------------------------------------- */

static bool is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Copies the name s[0..len) into dst, unquoted (`a``b` is a`b) and cut to CLS_NAME_MAX - 1
 * bytes at a character boundary; false if it was cut. */
static bool copy_ident(char *dst, const char *s, size_t len, bool backticked)
{
	const char *e = s + len;
	if (backticked) {
		s++;
		e--;
	}
	size_t n = 0;
	for (; s < e; s++) {
		if (backticked && *s == '`' && s + 1 < e)
			s++;
		if (n == CLS_NAME_MAX - 1) {
			if (is_continuation((unsigned char)*s)) {
				while (n > 0 && is_continuation((unsigned char)dst[n - 1]))
					n--;
				if (n > 0)
					n--; /* the character's first byte */
			}
			dst[n] = '\0';
			return false;
		}
		dst[n++] = *s;
	}
	dst[n] = '\0';
	return true;
}

bool cls_copy_token(char *dst, const struct sql_token *t)
{
	return copy_ident(dst, t->s, t->len, t->type == SQL_TOK_QUOTED);
}

bool cls_read_qname(struct parser *p, struct qname *q)
{
	if (!is_name(&p->tok))
		return false;
	q->name = p->tok;
	q->qualified = false;
	advance(p);
	if (p->tok.type == SQL_TOK_DOT) {
		advance(p);
		if (is_name(&p->tok)) {
			q->db = q->name;
			q->name = p->tok;
			q->qualified = true;
			advance(p);
		}
	}
	return true;
}

static bool is_cte(const struct parser *p, const char *name)
{
	for (size_t i = 0; i < p->n_ctes; i++)
		if (strcmp(p->ctes[i], name) == 0)
			return true;
	return false;
}

void cls_record_table(struct parser *p, const struct qname *q, bool written)
{
	struct cls_result *out = p->out;
	struct cls_table t;
	bool whole = cls_copy_token(t.name, &q->name);
	if (q->qualified)
		whole &= cls_copy_token(t.db, &q->db);
	else if (is_cte(p, t.name))
		return;
	else
		whole &= copy_ident(t.db, p->default_db, strlen(p->default_db), false);
	if (!whole)
		out->flags |= CLS_TABLES_OVERFLOW;
	t.written = written && !p->reading_only;
	for (size_t i = 0; i < out->n_tables; i++) {
		struct cls_table *seen = &out->tables[i];
		if (strcmp(seen->name, t.name) == 0 && strcmp(seen->db, t.db) == 0) {
			seen->written |= t.written;
			return;
		}
	}
	if (out->n_tables == CLS_MAX_TABLES)
		out->flags |= CLS_TABLES_OVERFLOW;
	else
		out->tables[out->n_tables++] = t;
}

bool cls_take_table(struct parser *p, bool written)
{
	struct qname q;
	if (!cls_read_qname(p, &q))
		return false;
	cls_record_table(p, &q, written);
	return true;
}

void cls_take_table_list(struct parser *p, bool written)
{
	do {
		if (!cls_take_table(p, written))
			return;
	} while (accept_comma(p));
}

/* ---- scanning the body of a statement ---------------------------------------------------- */

static const char *const session_sys_vars[] = {
    "last_insert_id", "identity", "last_gtid", "warning_count", "error_count",
};

/* @@[global. | session. | local. | persist. | persist_only.]name */
struct sys_var cls_sys_var_of(const struct sql_token *t)
{
	static const struct {
		const char *prefix;
		bool global;
	} scopes[] = {{"global.", true},
	              {"persist.", true},
	              {"persist_only.", true},
	              {"session.", false},
	              {"local.", false}};
	struct sys_var v = {t->s + 2, t->len - 2, false};
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		size_t n = strlen(scopes[i].prefix);
		if (v.len > n && sqllex_same_ci(v.name, n, scopes[i].prefix)) {
			v.name += n;
			v.len -= n;
			v.global = scopes[i].global;
			break;
		}
	}
	return v;
}

static void note_sys_var(struct parser *p)
{
	struct sys_var v = cls_sys_var_of(&p->tok);
	for (size_t i = 0; i < sizeof(session_sys_vars) / sizeof(session_sys_vars[0]); i++)
		if (sqllex_same_ci(v.name, v.len, session_sys_vars[i]))
			p->flags |= CLS_SESSION_BOUND;
	advance(p);
}

static void note_user_var(struct parser *p)
{
	p->flags |= peek(p).type == SQL_TOK_ASSIGN ? CLS_USER_VAR_ASSIGN : CLS_USER_VAR_READ;
	advance(p);
}

static void open_paren(struct parser *p)
{
	enum clause outer = top(p)->clause;
	bool factor = p->expect_table;
	advance(p);
	if (++p->depth == MAX_DEPTH)
		p->out->flags |= CLS_TABLES_OVERFLOW;
	struct frame *f = top(p);
	*f = (struct frame){CL_EXPR, false, false};
	p->expect_cte = false;
	/* "FROM (a JOIN b)" lists tables; "FROM (SELECT ...) x" is a query of its own */
	if (factor && !starts_query(&p->tok))
		f->clause = outer;
	else
		p->expect_table = false;
}

static void close_paren(struct parser *p)
{
	if (p->depth > 0)
		p->depth--;
	p->expect_table = false;
	p->expect_cte = false;
	advance(p);
}

static void note_comma(struct parser *p)
{
	enum clause c = top(p)->clause;
	p->expect_table = c == CL_TABLES || c == CL_TARGETS;
	p->expect_cte = c == CL_WITH;
	advance(p);
}

/* A table reference in a FROM, JOIN or UPDATE list. Its alias, if any, is a word cls_scan()
 * passes over. */
static void take_factor(struct parser *p)
{
	p->expect_table = is(p, SQL_KW_LATERAL); /* LATERAL (SELECT ...) */
	if (p->expect_table || is(p, SQL_KW_DUAL) || peek(p).type == SQL_TOK_LPAREN) {
		advance(p); /* JSON_TABLE(...) and the like are no tables */
		return;
	}
	cls_take_table(p, top(p)->clause == CL_TARGETS);
}

static void take_cte(struct parser *p)
{
	p->expect_cte = false;
	if (p->n_ctes < MAX_CTES)
		cls_copy_token(p->ctes[p->n_ctes++], &p->tok);
	advance(p);
}

/* WITH [RECURSIVE] name [(columns)] AS: not WITH ROLLUP, WITH CHECK OPTION... */
static bool starts_cte(const struct parser *p)
{
	struct sql_token next = peek(p);
	if (next.kw == SQL_KW_RECURSIVE)
		return true;
	if (!is_name(&next))
		return false;
	struct sql_token after = peek2(p);
	return after.kw == SQL_KW_AS || after.type == SQL_TOK_LPAREN;
}

/* INTO OUTFILE / DUMPFILE / @a, @b (assigned, not read). INSERT's INTO never gets here. */
static void note_into(struct parser *p)
{
	p->flags |= CLS_SELECT_INTO;
	top(p)->clause = CL_EXPR;
	advance(p);
	while (p->tok.type == SQL_TOK_USER_VAR) {
		p->flags |= CLS_USER_VAR_ASSIGN;
		advance(p);
		if (!accept_comma(p))
			break;
	}
}

static void note_for(struct parser *p)
{
	enum sql_kw next = peek(p).kw;
	if (next == SQL_KW_UPDATE || next == SQL_KW_SHARE) {
		p->flags |= CLS_LOCKING;
		top(p)->clause = CL_EXPR;
	}
	advance(p);
	/* an index hint's FOR JOIN / ORDER BY / GROUP BY neither joins nor ends the list */
	if (next == SQL_KW_JOIN || next == SQL_KW_ORDER || next == SQL_KW_GROUP)
		advance(p);
}

static void note_keyword(struct parser *p)
{
	struct frame *f = top(p);
	switch (p->tok.kw) {
	case SQL_KW_SELECT:
		f->select = true;
		f->clause = CL_EXPR;
		break;
	case SQL_KW_FROM:
		if (f->select) {
			f->clause = f->from_writes ? CL_TARGETS : CL_TABLES;
			p->expect_table = true;
		}
		break;
	case SQL_KW_JOIN:
	case SQL_KW_STRAIGHT_JOIN: /* also a SELECT modifier, where no list is open */
		p->expect_table = f->clause == CL_TABLES || f->clause == CL_TARGETS;
		break;
	case SQL_KW_USING: /* DELETE FROM t USING t JOIN u; not JOIN ... USING (column) */
		if (f->select && peek(p).type != SQL_TOK_LPAREN) {
			f->clause = CL_TABLES;
			p->expect_table = true;
		}
		break;
	case SQL_KW_LOCK:
		if (peek(p).kw == SQL_KW_IN) {
			p->flags |= CLS_LOCKING;
			f->clause = CL_EXPR;
		}
		break;
	case SQL_KW_NEXT:
	case SQL_KW_PREVIOUS:
		if (peek(p).kw == SQL_KW_VALUE && peek2(p).kw == SQL_KW_FOR)
			p->flags |= CLS_SESSION_BOUND;
		break;
	/* the FOUND_ROWS() after SQL_CALC_FOUND_ROWS must ask the same connection */
	case SQL_KW_SQL_CALC_FOUND_ROWS: p->flags |= CLS_SESSION_BOUND; break;
	default:
		if (sqllex_kw_has(p->tok.kw, SQL_KWP_CLAUSE))
			f->clause = CL_EXPR;
		else if (sqllex_kw_has(p->tok.kw, SQL_KWP_SESSION_FN) && p->prev != SQL_TOK_DOT &&
		         peek(p).type == SQL_TOK_LPAREN)
			p->flags |= CLS_SESSION_BOUND;
		break;
	}
	advance(p);
}

static void note_word(struct parser *p)
{
	if (p->expect_cte)
		take_cte(p);
	else if (p->expect_table)
		take_factor(p);
	else if (is(p, SQL_KW_INTO))
		note_into(p);
	else if (is(p, SQL_KW_FOR))
		note_for(p);
	else if (is(p, SQL_KW_WITH) && starts_cte(p)) {
		top(p)->clause = CL_WITH;
		p->expect_cte = true;
		advance(p);
		accept(p, SQL_KW_RECURSIVE);
	} else
		note_keyword(p);
}

static bool stops_here(const struct parser *p, enum stop stop)
{
	if (p->depth > 0)
		return false;
	switch (stop) {
	case STOP_AT_COMMA: return p->tok.type == SQL_TOK_COMMA;
	case STOP_AT_MAIN:
		return p->frames[0].clause == CL_WITH &&
		       (is(p, SQL_KW_SELECT) || is(p, SQL_KW_INSERT) || is(p, SQL_KW_UPDATE) ||
		        is(p, SQL_KW_DELETE) || is(p, SQL_KW_REPLACE));
	case STOP_AT_END: break;
	}
	return false;
}

/* Reads the body of a statement for its tables and facts. */
void cls_scan(struct parser *p, enum stop stop)
{
	while (!at_end(p) && !stops_here(p, stop)) {
		switch (p->tok.type) {
		case SQL_TOK_LPAREN: open_paren(p); break;
		case SQL_TOK_RPAREN: close_paren(p); break;
		case SQL_TOK_COMMA: note_comma(p); break;
		case SQL_TOK_USER_VAR: note_user_var(p); break;
		case SQL_TOK_SYS_VAR: note_sys_var(p); break;
		case SQL_TOK_WORD:
		case SQL_TOK_QUOTED: note_word(p); break;
		default:
			p->expect_table = false;
			p->expect_cte = false;
			advance(p);
			break;
		}
	}
}

/* ---- classification ---------------------------------------------------------------------- */

#define KIND_FLAGS(id, name, flags, plain) flags,
static const uint32_t kind_flags[CLS_KIND_COUNT] = {CLS_KIND_LIST(KIND_FLAGS)};
#undef KIND_FLAGS
#define KIND_PLAIN(id, name, flags, plain) plain,
static const bool kind_plain[CLS_KIND_COUNT] = {CLS_KIND_LIST(KIND_PLAIN)};
#undef KIND_PLAIN

/* Classifies the statement at the current token, which it reads to its end. */
enum cls_kind cls_statement(struct parser *p)
{
	if (p->nesting == MAX_NESTING)
		return classify_verb(p, CLS_KIND_UNKNOWN);
	p->nesting++;
	enum cls_kind kind = cls_dispatch(p);
	p->nesting--;
	p->flags |= kind_flags[kind];
	return kind;
}

static void start_statement(struct parser *p)
{
	p->flags = 0;
	p->reading_only = false;
	p->nesting = 0;
	p->depth = 0;
	p->expect_table = false;
	p->expect_cte = false;
	p->frames[0] = (struct frame){CL_EXPR, false, false};
	p->n_ctes = 0;
}

void classify(const char *sql, size_t len, const char *default_db, struct cls_result *out)
{
	out->kind = CLS_KIND_UNKNOWN;
	out->flags = 0;
	out->use_db[0] = '\0';
	out->n_tables = 0;

	struct parser p;
	sqllex_start(&p.lx, sql, len);
	p.tok = (struct sql_token){SQL_TOK_END, SQL_KW_NONE, sql, 0};
	p.out = out;
	p.default_db = default_db ? default_db : "";
	bool plain = true;
	size_t statements = 0;
	advance(&p);
	while (p.tok.type != SQL_TOK_END) {
		if (p.tok.type == SQL_TOK_SEMI) { /* an empty statement, or the end of one */
			advance(&p);
			continue;
		}
		start_statement(&p);
		enum cls_kind kind = cls_statement(&p);
		if (statements++ == 0)
			out->kind = kind;
		else
			out->flags |= CLS_MULTI;
		out->flags |= p.flags;
		plain = plain && kind_plain[kind];
	}
	if (p.lx.hints & SQLLEX_HINT_PRIMARY)
		out->flags |= CLS_HINT_PRIMARY;
	if (p.lx.hints & SQLLEX_HINT_REPLICA)
		out->flags |= CLS_HINT_REPLICA;
	if (statements == 0 || p.lx.failed) {
		out->kind = CLS_KIND_UNKNOWN;
		out->flags |= CLS_WRITE;
	}
	out->all_plain_reads = plain && !(out->flags & CLS_FORCES_PRIMARY);
}

const char *cls_kind_str(enum cls_kind k)
{
#define KIND_NAME(id, name, flags, plain) name,
	static const char *const names[CLS_KIND_COUNT] = {CLS_KIND_LIST(KIND_NAME)};
#undef KIND_NAME
	return (unsigned)k < CLS_KIND_COUNT ? names[k] : "?";
}

const char *cls_flag_str(uint32_t flag)
{
#define FLAG_NAME(id, name)                                                                        \
	case CLS_##id: return name;
	switch (flag) {
		CLS_FLAG_LIST(FLAG_NAME)
	}
#undef FLAG_NAME
	return "?";
}
