/*
 * query.c - classification of the statements QUERY events carry (see query.h).
 *
 * A small tokenizer (words, `quoted` names, punctuation; comments skipped, the content of
 * versioned comments such as slash-star-bang-50001 read as SQL) and a parser that looks only at
 * the statement's head: its verb, the object it names (TABLE, VIEW, INDEX, DATABASE, USER...)
 * and the table names that follow. Whatever it does not recognise is QUERY_UNKNOWN.
 */
#include "query.h"

#include <string.h>
#include <strings.h>

enum tok_kind { TOK_END, TOK_WORD, TOK_QUOTED, TOK_DOT, TOK_COMMA, TOK_OTHER };

struct tok {
	enum tok_kind kind;
	const char *text;
	size_t len;
};

struct lexer {
	const char *p, *end;
	bool in_versioned; /* inside a versioned comment, whose closing star-slash is skipped */
};

static bool is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

static bool starts(const struct lexer *lx, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(lx->end - lx->p) >= n && memcmp(lx->p, s, n) == 0;
}

/* Skips blanks and comments; a versioned comment's marker is skipped and its content kept. */
static void skip_space(struct lexer *lx)
{
	while (lx->p < lx->end) {
		unsigned char c = (unsigned char)*lx->p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
			lx->p++;
		} else if (starts(lx, "/*!") || starts(lx, "/*M!")) {
			lx->p += lx->p[2] == 'M' ? 4 : 3;
			while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9')
				lx->p++;
			lx->in_versioned = true;
		} else if (lx->in_versioned && starts(lx, "*/")) {
			lx->p += 2;
			lx->in_versioned = false;
		} else if (starts(lx, "/*")) {
			const char *close =
			    memmem(lx->p + 2, (size_t)(lx->end - lx->p - 2), "*/", 2);
			lx->p = close ? close + 2 : lx->end;
		} else if (c == '#' || starts(lx, "-- ")) {
			const char *nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
			lx->p = nl ? nl + 1 : lx->end;
		} else {
			return;
		}
	}
}

static struct tok next_tok(struct lexer *lx)
{
	skip_space(lx);
	struct tok t = {TOK_END, lx->p, 0};
	if (lx->p >= lx->end)
		return t;
	unsigned char c = (unsigned char)*lx->p;
	if (c == '`') {
		/* `name`, with `` standing for one backtick; text keeps the doubled form */
		const char *s = ++lx->p;
		while (lx->p < lx->end) {
			if (*lx->p == '`' && (lx->p + 1 >= lx->end || lx->p[1] != '`'))
				break;
			lx->p += *lx->p == '`' ? 2 : 1;
		}
		t = (struct tok){TOK_QUOTED, s, (size_t)(lx->p - s)};
		if (lx->p < lx->end)
			lx->p++;
		return t;
	}
	if (is_word_byte(c)) {
		const char *s = lx->p;
		while (lx->p < lx->end && is_word_byte((unsigned char)*lx->p))
			lx->p++;
		return (struct tok){TOK_WORD, s, (size_t)(lx->p - s)};
	}
	lx->p++;
	t.len = 1;
	t.kind = c == '.' ? TOK_DOT : c == ',' ? TOK_COMMA : TOK_OTHER;
	return t;
}

static bool tok_is(const struct tok *t, const char *word)
{
	return t->kind == TOK_WORD && t->len == strlen(word) &&
	       strncasecmp(t->text, word, t->len) == 0;
}

static bool tok_is_name(const struct tok *t)
{
	return t->kind == TOK_WORD || t->kind == TOK_QUOTED;
}

/* Copies a name token, undoubling `` in quoted names; false if it does not fit. */
static bool copy_name(char *out, const struct tok *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->len; i++) {
		if (n + 1 >= BL_NAME_MAX)
			return false;
		out[n++] = t->text[i];
		if (t->kind == TOK_QUOTED && t->text[i] == '`')
			i++;
	}
	out[n] = '\0';
	return n > 0;
}

struct parser {
	struct lexer lx;
	struct tok tok; /* the current token */
	const char *default_db;
	size_t db_len;
	struct query_info *out;
};

static void advance(struct parser *ps)
{
	ps->tok = next_tok(&ps->lx);
}

static bool accept_word(struct parser *ps, const char *word)
{
	if (!tok_is(&ps->tok, word))
		return false;
	advance(ps);
	return true;
}

/* Reads [db.]table at the current token into out->tables; false if there is none, it does not
 * fit, or it is unqualified while the statement has no default database. */
static bool read_table_name(struct parser *ps)
{
	struct query_info *q = ps->out;
	if (!tok_is_name(&ps->tok) || q->n_tables == QUERY_TABLES_MAX)
		return false;
	struct bl_table_name *t = &q->tables[q->n_tables];
	struct tok first = ps->tok;
	advance(ps);
	if (ps->tok.kind == TOK_DOT) {
		advance(ps);
		if (!tok_is_name(&ps->tok) || !copy_name(t->db, &first) ||
		    !copy_name(t->table, &ps->tok))
			return false;
		advance(ps);
	} else {
		if (ps->db_len == 0 || ps->db_len >= BL_NAME_MAX || !copy_name(t->table, &first))
			return false;
		memcpy(t->db, ps->default_db, ps->db_len);
		t->db[ps->db_len] = '\0';
	}
	q->n_tables++;
	return true;
}

static enum query_kind tables_or_unknown(bool ok, const struct query_info *q)
{
	return ok && q->n_tables > 0 ? QUERY_TABLES : QUERY_UNKNOWN;
}

/* name {, name}: DROP TABLE, TRUNCATE, the names after ALTER TABLE */
static bool read_table_list(struct parser *ps)
{
	do {
		if (!read_table_name(ps))
			return false;
	} while (ps->tok.kind == TOK_COMMA && (advance(ps), true));
	return true;
}

static void skip_if_exists(struct parser *ps)
{
	if (accept_word(ps, "IF")) {
		accept_word(ps, "NOT");
		accept_word(ps, "EXISTS");
	}
}

/* The object word of CREATE / ALTER / DROP, skipping what may come between (OR REPLACE,
 * TEMPORARY, DEFINER = ..., ALGORITHM = ..., UNIQUE, ONLINE...). */
static const char *const objects[] = {
    "TABLE",  "VIEW",       "SEQUENCE", "INDEX",   "DATABASE",  "SCHEMA",
    "USER",   "ROLE",       "TRIGGER",  "EVENT",   "PROCEDURE", "FUNCTION",
    "SERVER", "TABLESPACE", "LOGFILE",  "PACKAGE", "SYNONYM",
};

static const char *find_object(struct parser *ps)
{
	for (int guard = 0; guard < 24 && ps->tok.kind != TOK_END; guard++) {
		for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
			if (tok_is(&ps->tok, objects[i])) {
				advance(ps);
				return objects[i];
			}
		advance(ps);
	}
	return NULL;
}

/* ALTER TABLE t ... RENAME [TO|AS] t2: the new name is a table too. */
static bool read_alter_rename(struct parser *ps)
{
	while (ps->tok.kind != TOK_END) {
		if (accept_word(ps, "RENAME")) {
			if (!accept_word(ps, "TO"))
				accept_word(ps, "AS");
			if (tok_is(&ps->tok, "INDEX") || tok_is(&ps->tok, "KEY") ||
			    tok_is(&ps->tok, "COLUMN"))
				continue;
			return read_table_name(ps);
		}
		advance(ps);
	}
	return true;
}

/* CREATE/DROP INDEX name ON table */
static bool read_index_table(struct parser *ps)
{
	while (ps->tok.kind != TOK_END && !tok_is(&ps->tok, "ON"))
		advance(ps);
	return accept_word(ps, "ON") && read_table_name(ps);
}

static enum query_kind classify_ddl(struct parser *ps, const char *verb)
{
	const char *object = find_object(ps);
	if (!object)
		return QUERY_UNKNOWN;
	bool table_like =
	    !strcmp(object, "TABLE") || !strcmp(object, "VIEW") || !strcmp(object, "SEQUENCE");
	if (table_like) {
		skip_if_exists(ps);
		bool ok = read_table_list(ps);
		if (ok && !strcmp(verb, "ALTER"))
			ok = read_alter_rename(ps);
		return tables_or_unknown(ok, ps->out);
	}
	if (!strcmp(object, "INDEX"))
		return tables_or_unknown(read_index_table(ps), ps->out);
	if (!strcmp(object, "DATABASE") || !strcmp(object, "SCHEMA"))
		return !strcmp(verb, "DROP") ? QUERY_UNKNOWN : QUERY_NO_DATA;
	return QUERY_NO_DATA; /* users, roles, routines, triggers, events: no rows change */
}

/* RENAME TABLE a TO b {, c TO d} */
static enum query_kind classify_rename(struct parser *ps)
{
	if (accept_word(ps, "USER"))
		return QUERY_NO_DATA;
	if (!accept_word(ps, "TABLE") && !accept_word(ps, "TABLES"))
		return QUERY_UNKNOWN;
	skip_if_exists(ps);
	do {
		if (!read_table_name(ps))
			return QUERY_UNKNOWN;
		if (!accept_word(ps, "TO") || !read_table_name(ps))
			return QUERY_UNKNOWN;
	} while (ps->tok.kind == TOK_COMMA && (advance(ps), true));
	return QUERY_TABLES;
}

/* XA START opens, XA END and XA ROLLBACK change nothing; XA COMMIT makes a group prepared
 * earlier visible, whose rows this tailer no longer knows: everything. */
static enum query_kind classify_xa(struct parser *ps)
{
	if (tok_is(&ps->tok, "START") || tok_is(&ps->tok, "BEGIN"))
		return QUERY_BEGIN;
	if (tok_is(&ps->tok, "END") || tok_is(&ps->tok, "ROLLBACK"))
		return QUERY_NO_DATA;
	return QUERY_UNKNOWN;
}

static const char *const no_data_verbs[] = {
    "SAVEPOINT", "RELEASE", "GRANT", "REVOKE",  "FLUSH",     "ANALYZE",
    "OPTIMIZE",  "REPAIR",  "CHECK", "INSTALL", "UNINSTALL", "CHECKSUM",
};

static enum query_kind classify(struct parser *ps)
{
	struct tok verb = ps->tok;
	advance(ps);
	if (tok_is(&verb, "BEGIN"))
		return QUERY_BEGIN;
	if (tok_is(&verb, "START"))
		return tok_is(&ps->tok, "TRANSACTION") ? QUERY_BEGIN : QUERY_UNKNOWN;
	if (tok_is(&verb, "COMMIT"))
		return QUERY_COMMIT;
	if (tok_is(&verb, "ROLLBACK")) /* ROLLBACK TO SAVEPOINT keeps the group open */
		return tok_is(&ps->tok, "TO") ? QUERY_NO_DATA : QUERY_ROLLBACK;
	if (tok_is(&verb, "XA"))
		return classify_xa(ps);
	for (size_t i = 0; i < sizeof(no_data_verbs) / sizeof(no_data_verbs[0]); i++)
		if (tok_is(&verb, no_data_verbs[i]))
			return QUERY_NO_DATA;
	if (tok_is(&verb, "SET")) /* SET STATEMENT ... FOR may carry any statement */
		return tok_is(&ps->tok, "PASSWORD") || tok_is(&ps->tok, "ROLE") ||
		               tok_is(&ps->tok, "DEFAULT")
		           ? QUERY_NO_DATA
		           : QUERY_UNKNOWN;
	if (tok_is(&verb, "CREATE"))
		return classify_ddl(ps, "CREATE");
	if (tok_is(&verb, "ALTER"))
		return classify_ddl(ps, "ALTER");
	if (tok_is(&verb, "DROP"))
		return classify_ddl(ps, "DROP");
	if (tok_is(&verb, "RENAME"))
		return classify_rename(ps);
	if (tok_is(&verb, "TRUNCATE")) {
		accept_word(ps, "TABLE");
		return tables_or_unknown(read_table_list(ps), ps->out);
	}
	return QUERY_UNKNOWN;
}

void query_classify(const char *default_db, size_t db_len, const char *sql, size_t len,
                    struct query_info *out)
{
	memset(out, 0, sizeof(*out));
	struct parser ps = {.lx = {sql, sql + len, false},
	                    .default_db = default_db,
	                    .db_len = default_db ? db_len : 0,
	                    .out = out};
	advance(&ps);
	out->kind = classify(&ps);
	if (out->kind != QUERY_TABLES)
		out->n_tables = 0;
}

const char *query_kind_str(enum query_kind kind)
{
	switch (kind) {
	case QUERY_BEGIN: return "begin";
	case QUERY_COMMIT: return "commit";
	case QUERY_ROLLBACK: return "rollback";
	case QUERY_NO_DATA: return "no-data";
	case QUERY_TABLES: return "tables";
	case QUERY_UNKNOWN: return "unknown";
	}
	return "?";
}
