/*
 * keys.c - the rows a statement names by primary key (see keys.h).
 *
 * It owns a second, closer reading of a statement the classifier has already described: the
 * WHERE clause of a single-table SELECT, UPDATE or DELETE, read as a conjunction in which each
 * key column is held to a list of literals (`pk = v`, `v = pk`, `pk <=> v`, `pk IN (...)`), and
 * the key values of the rows an INSERT or REPLACE lists. What the statement is and which table
 * it touches is classify.c's business; how a key value is spelt, marks.c's.
 *
 * It must never name fewer rows than the server touches: a missing row is a stale read for some
 * client, an extra one only a trip to the primary. So it reads only shapes it can prove, and
 * whatever else it meets (an OR, a join, a subquery, an expression where a key value should be)
 * or whose meaning hangs on state it cannot see (sql_mode's NO_BACKSLASH_ESCAPES and
 * ANSI_QUOTES, the server version that decides whether an executable comment runs) makes the
 * answer table-wide. It reads at most len bytes through sqllex.c, does no I/O, never allocates,
 * and recurses at most MAX_GROUPS deep.
 */
#include "keys.h"

#include "marks.h"
#include "sqllex.h"

#include <string.h>

#define MAX_GROUPS 8              /* nested (a AND b) groups read; deeper ones are opaque */
#define MAX_PREDS  16             /* key predicates of one WHERE kept; more count as others */
#define MAX_VALUES (2 * KEYS_MAX) /* the values of those predicates */
/* MariaDB compares an integer column with a string as doubles, exact below 2^53: a string of at
 * most 15 characters cannot reach it */
#define MAX_INT_STRING 15

/* ---- tokens ------------------------------------------------------------------------------ */

/* The lexer, its current token, and how many '?' markers came before that token: a marker's
 * index among the statement's parameters. A cursor is a small value: a copy looks ahead, and
 * assigning the copy back takes what it read. */
struct cursor {
	struct sqllex lx;
	struct sql_token tok;
	unsigned markers;
};

static bool is_punct(const struct sql_token *t, char c)
{
	return t->type == SQL_TOK_OTHER && t->len == 1 && t->s[0] == c;
}

static bool is_marker(const struct sql_token *t)
{
	return is_punct(t, '?');
}

static bool is_word(const struct sql_token *t, const char *word)
{
	return t->type == SQL_TOK_WORD && sqllex_same_ci(t->s, t->len, word);
}

static bool is_name(const struct sql_token *t)
{
	return t->type == SQL_TOK_WORD || t->type == SQL_TOK_QUOTED;
}

static void cursor_start(struct cursor *c, const char *sql, size_t len)
{
	sqllex_start(&c->lx, sql, len);
	c->markers = 0;
	sqllex_next(&c->lx, &c->tok);
}

static void next(struct cursor *c)
{
	if (is_marker(&c->tok))
		c->markers++;
	sqllex_next(&c->lx, &c->tok);
}

/* Moves on; true if the new token starts where the last one ended (-5, 1.0, <=>, &&). */
static bool next_is_glued(struct cursor *c)
{
	const char *end = c->tok.s + c->tok.len;
	next(c);
	return c->tok.type != SQL_TOK_END && c->tok.s == end;
}

static struct sql_token peek(const struct cursor *c)
{
	struct cursor ahead = *c;
	next(&ahead);
	return ahead.tok;
}

static bool accept_kw(struct cursor *c, enum sql_kw kw)
{
	if (c->tok.kw != kw)
		return false;
	next(c);
	return true;
}

static bool accept_word(struct cursor *c, const char *word)
{
	if (!is_word(&c->tok, word))
		return false;
	next(c);
	return true;
}

static bool accept_type(struct cursor *c, enum sql_tok type)
{
	if (c->tok.type != type)
		return false;
	next(c);
	return true;
}

static bool at_statement_end(const struct cursor *c)
{
	return c->tok.type == SQL_TOK_END || c->tok.type == SQL_TOK_SEMI;
}

/* The end of a WHERE clause: a clause after it, or the end of the statement. */
static bool at_where_end(const struct cursor *c)
{
	switch (c->tok.kw) {
	case SQL_KW_GROUP:
	case SQL_KW_HAVING:
	case SQL_KW_ORDER:
	case SQL_KW_LIMIT:
	case SQL_KW_WINDOW:
	case SQL_KW_INTO:
	case SQL_KW_RETURNING:
	case SQL_KW_PROCEDURE: return true;
	case SQL_KW_FOR: { /* not NEXT VALUE FOR s, which is part of an expression */
		enum sql_kw after = peek(c).kw;
		return after == SQL_KW_UPDATE || after == SQL_KW_SHARE;
	}
	case SQL_KW_LOCK: return peek(c).kw == SQL_KW_IN;
	default: return at_statement_end(c);
	}
}

/* AND or &&, between the predicates of a conjunction. */
static bool at_and(const struct cursor *c)
{
	if (is_word(&c->tok, "and"))
		return true;
	if (!is_punct(&c->tok, '&'))
		return false;
	struct cursor ahead = *c;
	return next_is_glued(&ahead) && is_punct(&ahead.tok, '&');
}

static bool accept_and(struct cursor *c)
{
	if (!at_and(c))
		return false;
	if (is_punct(&c->tok, '&'))
		next(c);
	next(c);
	return true;
}

/* OR, XOR, || (and |, not worth telling apart): the end of any proof by conjunction. */
static bool at_disjunction(const struct cursor *c)
{
	return is_word(&c->tok, "or") || is_word(&c->tok, "xor") || is_punct(&c->tok, '|');
}

/* = or <=>: both hold a column to exactly the value (<=> also matches NULL, never a key). */
static bool accept_equality(struct cursor *c)
{
	if (is_punct(&c->tok, '=')) {
		next(c);
		return true;
	}
	struct cursor ahead = *c;
	if (!is_punct(&ahead.tok, '<') || !next_is_glued(&ahead) || !is_punct(&ahead.tok, '=') ||
	    !next_is_glued(&ahead) || !is_punct(&ahead.tok, '>'))
		return false;
	next(&ahead);
	*c = ahead;
	return true;
}

/* The '=' or ':=' of an assignment in SET or ON DUPLICATE KEY UPDATE. */
static bool accept_assign(struct cursor *c)
{
	if (!is_punct(&c->tok, '=') && c->tok.type != SQL_TOK_ASSIGN)
		return false;
	next(c);
	return true;
}

static void skip_modifiers(struct cursor *c)
{
	while (sqllex_kw_has(c->tok.kw, SQL_KWP_MODIFIER))
		next(c);
}

/* Moves past one token, counting the parentheses open in *depth; false at the end of the
 * statement, or at a ')' that closes nothing. */
static bool step(struct cursor *c, unsigned *depth)
{
	if (at_statement_end(c))
		return false;
	if (c->tok.type == SQL_TOK_LPAREN)
		++*depth;
	else if (c->tok.type == SQL_TOK_RPAREN && (*depth)-- == 0)
		return false;
	next(c);
	return true;
}

/* ( ... ) with whatever it holds; false if it does not close. */
static bool skip_parenthesised(struct cursor *c)
{
	unsigned depth = 0;
	if (c->tok.type != SQL_TOK_LPAREN)
		return false;
	do
		if (!step(c, &depth))
			return false;
	while (depth > 0);
	return true;
}

/* What ends one expression of a list: a comma or a ')' at its depth, a clause, the end. */
static bool ends_expression(const struct cursor *c)
{
	return c->tok.type == SQL_TOK_COMMA || c->tok.type == SQL_TOK_RPAREN ||
	       c->tok.kw == SQL_KW_WHERE || c->tok.kw == SQL_KW_ON || at_where_end(c);
}

/* An expression whose value does not matter, up to what ends it. */
static void skip_expression(struct cursor *c)
{
	unsigned depth = 0;
	while ((depth > 0 || !ends_expression(c)) && step(c, &depth))
		;
}

/* ---- the whole statement ----------------------------------------------------------------- */

/* Is the text one statement of a shape keys can be proven for? Not a second statement, a set
 * operation, a join, a subquery or a CTE (which read other rows); not code inside an executable
 * comment (the server skips it below the version it names, we cannot tell); not a backslash in
 * a string (NO_BACKSLASH_ESCAPES changes what it means, and where the string ends); and text the
 * lexer could read to its end. */
static bool is_simple_statement(const char *sql, size_t len)
{
	struct sqllex lx;
	struct sql_token t;
	bool first = true, ended = false;
	sqllex_start(&lx, sql, len);
	for (sqllex_next(&lx, &t); t.type != SQL_TOK_END; sqllex_next(&lx, &t), first = false) {
		if (lx.in_exec || (ended && t.type != SQL_TOK_SEMI))
			return false;
		ended |= t.type == SQL_TOK_SEMI;
		if (t.type == SQL_TOK_STRING && memchr(t.s, '\\', t.len))
			return false;
		switch (t.kw) {
		case SQL_KW_SELECT:
			if (!first)
				return false;
			break;
		case SQL_KW_UNION:
		case SQL_KW_EXCEPT:
		case SQL_KW_INTERSECT:
		case SQL_KW_JOIN:
		case SQL_KW_STRAIGHT_JOIN:
		case SQL_KW_WITH:
		case SQL_KW_TABLE: return false;
		default: break;
		}
	}
	return !lx.failed;
}

/* ---- columns ----------------------------------------------------------------------------- */

enum { NOT_KEY = -1, MAYBE_KEY = -2 };

/* The name in *t without its backquotes (`a``b` is a`b) into buf (CLS_NAME_MAX bytes); false if
 * it is longer than any name the server accepts. */
static bool unquote_name(const struct sql_token *t, char *buf)
{
	const char *s = t->s, *e = t->s + t->len;
	bool quoted = t->type == SQL_TOK_QUOTED;
	if (quoted) {
		s++;
		e--;
	}
	size_t n = 0;
	for (; s < e; s++) {
		if (quoted && *s == '`' && s + 1 < e)
			s++;
		if (n == CLS_NAME_MAX - 1)
			return false;
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return true;
}

static bool has_high_bytes(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Which key column a name is: its index, NOT_KEY, or MAYBE_KEY when a name beyond ASCII might
 * be folded into a key column's by the server's rules (case, accents), which are not ours. */
static int key_column_of(const struct schema_table *t, const struct sql_token *name)
{
	char buf[CLS_NAME_MAX];
	if (!unquote_name(name, buf))
		return NOT_KEY; /* too long to name any column: the server refuses it */
	for (unsigned j = 0; j < t->n_pk; j++)
		if (sqllex_same_ci(buf, strlen(buf), t->pk[j]))
			return (int)j;
	bool high = has_high_bytes(buf);
	for (unsigned j = 0; j < t->n_pk; j++)
		if (high || has_high_bytes(t->pk[j]))
			return MAYBE_KEY;
	return NOT_KEY;
}

/* Unquoted words the server reads as values, not as columns, even if a key column has the
 * name (it would have to be quoted). */
static bool is_value_word(const struct sql_token *t)
{
	static const char *const words[] = {
	    "null",         "true",         "false",         "default",
	    "unknown",      "current_date", "current_time",  "current_timestamp",
	    "current_user", "current_role", "localtime",     "localtimestamp",
	    "utc_date",     "utc_time",     "utc_timestamp",
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (is_word(t, words[i]))
			return true;
	return false;
}

/* [[db.]table.]column: the column's name in *column; false if there is none, or it is a
 * function's name or a value word. Qualifiers need no check: the statement has one table. */
static bool read_column(struct cursor *c, struct sql_token *column)
{
	if (!is_name(&c->tok))
		return false;
	bool qualified = false, value = is_value_word(&c->tok);
	*column = c->tok;
	next(c);
	for (int parts = 1; parts < 3 && c->tok.type == SQL_TOK_DOT; parts++) {
		next(c);
		if (!is_name(&c->tok))
			return false;
		*column = c->tok;
		qualified = true;
		next(c);
	}
	return (qualified || !value) && c->tok.type != SQL_TOK_LPAREN;
}

/* ---- values ------------------------------------------------------------------------------ */

enum value_kind { VALUE_NUMBER, VALUE_STRING, VALUE_MARKER, VALUE_NULL, VALUE_DEFAULT };

/* A key value as the statement writes it. */
struct value {
	enum value_kind kind;
	const char *s; /* NUMBER: sign, digits and dot as written; STRING: with its quotes */
	size_t len;
	unsigned marker; /* MARKER: its index */
};

/* [-|+]digits[.digits], all glued: the lexer cuts 1.5 into 1 . 5, and - 5 with a space is an
 * expression to us. */
static bool read_number(struct cursor *c, struct value *v)
{
	v->kind = VALUE_NUMBER;
	v->s = c->tok.s;
	if ((is_punct(&c->tok, '-') || is_punct(&c->tok, '+')) && !next_is_glued(c))
		return false;
	if (c->tok.type != SQL_TOK_NUMBER)
		return false;
	const char *end;
	do
		end = c->tok.s + c->tok.len;
	while (next_is_glued(c) && (c->tok.type == SQL_TOK_NUMBER || c->tok.type == SQL_TOK_DOT));
	v->len = (size_t)(end - v->s);
	return true;
}

/* A literal or a '?'. Double quotes make a string only without ANSI_QUOTES, so they are not
 * taken; neither are X'', N'', _charset'' and the like, which start with a word. */
static bool read_value(struct cursor *c, struct value *v)
{
	const struct sql_token *t = &c->tok;
	if (is_marker(t)) {
		*v = (struct value){VALUE_MARKER, t->s, t->len, c->markers};
	} else if (t->type == SQL_TOK_STRING && t->s[0] == '\'') {
		*v = (struct value){VALUE_STRING, t->s, t->len, 0};
	} else {
		return read_number(c, v);
	}
	next(c);
	return true;
}

/* A value in an INSERT: also NULL and DEFAULT, which ask AUTO_INCREMENT for a key. */
static bool read_row_value(struct cursor *c, struct value *v)
{
	enum value_kind kind;
	if (is_word(&c->tok, "null"))
		kind = VALUE_NULL;
	else if (c->tok.kw == SQL_KW_DEFAULT)
		kind = VALUE_DEFAULT;
	else
		return read_value(c, v);
	*v = (struct value){kind, c->tok.s, c->tok.len, 0};
	next(c);
	return true;
}

/* The content of a '...' literal into buf, '' read as '; false if it does not fit. The
 * statement holds no backslash in a string (is_simple_statement). */
static bool unquote_string(const struct value *v, char *buf, size_t cap, size_t *n)
{
	*n = 0;
	for (size_t i = 1; i + 1 < v->len; i++) {
		if (*n == cap)
			return false;
		buf[(*n)++] = v->s[i];
		if (v->s[i] == '\'')
			i++;
	}
	return true;
}

struct extraction {
	struct cursor cur;
	const struct schema_table *t;
	const struct keys_params *params;
	struct keys_result *out;
	unsigned rows; /* INSERT rows read */
	/* the WHERE clause's key predicates: column j in values[first, first + n) */
	struct pred {
		unsigned column;
		size_t first, n;
	} preds[MAX_PREDS];
	size_t n_preds;
	struct value values[MAX_VALUES];
	size_t n_values;
};

/* Appends v to k as key column j compares it: an integer column takes a number, or a string
 * MariaDB converts to exactly that integer; a string column only a string (against a number it
 * compares as a number, which many strings equal). */
static bool spell_value(const struct extraction *x, unsigned j, const struct value *v,
                        struct mark_key *k)
{
	enum schema_col_kind kind = x->t->pk_kind[j];
	char buf[MARK_KEY_TEXT_MAX];
	size_t n;
	switch (v->kind) {
	case VALUE_MARKER:
		return x->params && x->params->add(x->params->ctx, v->marker, kind, k) && k->ok;
	case VALUE_NUMBER: return kind == SCHEMA_COL_INT && mark_key_add_int_text(k, v->s, v->len);
	case VALUE_STRING:
		if (!unquote_string(v, buf, sizeof(buf), &n))
			return false;
		if (kind == SCHEMA_COL_STRING)
			return mark_key_add_string(k, buf, n);
		return n <= MAX_INT_STRING && mark_key_add_int_text(k, buf, n);
	case VALUE_NULL:
	case VALUE_DEFAULT: break;
	}
	return false;
}

static bool can_spell(const struct extraction *x, unsigned j, const struct value *v)
{
	struct mark_key k;
	mark_key_init(&k);
	return spell_value(x, j, v, &k);
}

/* Adds one row's key, once. */
static bool add_key(struct keys_result *out, const struct mark_key *k)
{
	if (!k->ok)
		return false;
	for (size_t i = 0; i < out->n_keys; i++)
		if (out->keys[i].len == k->len && memcmp(out->keys[i].text, k->text, k->len) == 0)
			return true;
	if (out->n_keys == KEYS_MAX)
		return false;
	out->keys[out->n_keys++] = *k;
	return true;
}

/* ---- WHERE ------------------------------------------------------------------------------- */

/* Where a predicate of a conjunction ends: an AND, or the end of the conjunction (the WHERE
 * clause's at nesting 0, a group's ')' inside one). */
static bool at_predicate_end(const struct cursor *c, unsigned nesting)
{
	if (at_and(c))
		return true;
	return nesting > 0 ? c->tok.type == SQL_TOK_RPAREN : at_where_end(c);
}

/* Keeps `column IN (values)` if every value can be spelt for it; a predicate that cannot be
 * kept still narrows the rows, so the caller reads it as any other. */
static bool keep_predicate(struct extraction *x, int column, const struct value *values, size_t n)
{
	if (column < 0 || x->n_preds == MAX_PREDS || x->n_values + n > MAX_VALUES)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!can_spell(x, (unsigned)column, &values[i]))
			return false;
	x->preds[x->n_preds++] = (struct pred){(unsigned)column, x->n_values, n};
	memcpy(&x->values[x->n_values], values, n * sizeof(*values));
	x->n_values += n;
	return true;
}

/* (v, ...) after IN. */
static bool read_value_list(struct cursor *c, struct value *values, size_t *n)
{
	*n = 0;
	if (!accept_type(c, SQL_TOK_LPAREN))
		return false;
	do {
		if (*n == KEYS_MAX || !read_value(c, &values[(*n)++]))
			return false;
	} while (accept_type(c, SQL_TOK_COMMA));
	return accept_type(c, SQL_TOK_RPAREN);
}

/* col = v, v = col, col <=> v, v <=> col, col IN (v, ...): the whole predicate, nothing more
 * (col = 1 + 2, col = 1 IS TRUE are no key predicates). */
static bool read_key_predicate(struct extraction *x, unsigned nesting)
{
	struct cursor *c = &x->cur;
	struct sql_token name;
	struct value values[KEYS_MAX];
	size_t n = 1;
	if (read_column(c, &name)) {
		if (accept_kw(c, SQL_KW_IN)) {
			if (!read_value_list(c, values, &n))
				return false;
		} else if (!accept_equality(c) || !read_value(c, &values[0])) {
			return false;
		}
	} else if (!read_value(c, &values[0]) || !accept_equality(c) || !read_column(c, &name)) {
		return false;
	}
	return at_predicate_end(c, nesting) &&
	       keep_predicate(x, key_column_of(x->t, &name), values, n);
}

static bool read_conjunction(struct extraction *x, unsigned nesting);

/* (p AND q ...) as one predicate: its key predicates count as the conjunction's own. */
static bool read_group(struct extraction *x, unsigned nesting)
{
	struct cursor *c = &x->cur;
	if (nesting == MAX_GROUPS || !accept_type(c, SQL_TOK_LPAREN))
		return false;
	return read_conjunction(x, nesting + 1) && accept_type(c, SQL_TOK_RPAREN) &&
	       at_predicate_end(c, nesting);
}

/* Any other predicate, up to its end. It only narrows the rows, whatever it says, as long as
 * it is a predicate of the conjunction: false if an OR, XOR or CASE at its depth means the text
 * is no conjunction (an AND inside CASE ... END does not separate predicates). */
static bool skip_predicate(struct cursor *c, unsigned nesting)
{
	unsigned depth = 0;
	bool between = false; /* the AND of x BETWEEN a AND b is BETWEEN's */
	do {
		if (depth > 0)
			continue;
		if (between && is_word(&c->tok, "and")) {
			between = false;
			continue;
		}
		if (at_predicate_end(c, nesting))
			return true;
		if (at_disjunction(c) || is_word(&c->tok, "case"))
			return false;
		between |= is_word(&c->tok, "between");
	} while (step(c, &depth));
	return false;
}

/* One predicate: a group, a key predicate, or any other. */
static bool read_predicate(struct extraction *x, unsigned nesting)
{
	const struct cursor start = x->cur;
	const size_t n_preds = x->n_preds, n_values = x->n_values;
	if (read_group(x, nesting))
		return true;
	x->cur = start;
	x->n_preds = n_preds; /* a group that is no conjunction keeps nothing */
	x->n_values = n_values;
	if (read_key_predicate(x, nesting))
		return true;
	x->cur = start;
	return skip_predicate(&x->cur, nesting);
}

/* p AND q AND ...; false if it is not a conjunction. */
static bool read_conjunction(struct extraction *x, unsigned nesting)
{
	do {
		if (!read_predicate(x, nesting))
			return false;
	} while (accept_and(&x->cur));
	return true;
}

/* The rows the WHERE clause names: for each key column the kept predicate with the fewest
 * values (with two, the rows meet both: either one names them all), then every combination. */
static bool add_where_keys(struct extraction *x)
{
	const struct pred *chosen[SCHEMA_PK_MAX];
	size_t combinations = 1;
	for (unsigned j = 0; j < x->t->n_pk; j++) {
		chosen[j] = NULL;
		for (size_t i = 0; i < x->n_preds; i++)
			if (x->preds[i].column == j && (!chosen[j] || x->preds[i].n < chosen[j]->n))
				chosen[j] = &x->preds[i];
		if (!chosen[j])
			return false;
		combinations *= chosen[j]->n;
		if (combinations > KEYS_MAX)
			return false;
	}
	for (size_t i = 0; i < combinations; i++) {
		struct mark_key k;
		mark_key_init(&k);
		size_t rest = i;
		for (unsigned j = 0; j < x->t->n_pk; j++) {
			const struct pred *p = chosen[j];
			if (!spell_value(x, j, &x->values[p->first + rest % p->n], &k))
				return false;
			rest /= p->n;
		}
		if (!add_key(x->out, &k))
			return false;
	}
	return true;
}

/* WINDOW and RETURNING are not reserved in MariaDB: if one is a column after all, the WHERE
 * clause goes on past what was read as its end, and an OR, XOR or || there at depth 0 could
 * widen the rows the conjunction read so far names. A real WINDOW or RETURNING clause seldom
 * holds one, so any makes the answer table-wide. */
static bool where_surely_ended(struct cursor *c)
{
	if (c->tok.kw != SQL_KW_WINDOW && c->tok.kw != SQL_KW_RETURNING)
		return true;
	unsigned depth = 0;
	do
		if (depth == 0 && at_disjunction(c))
			return false;
	while (step(c, &depth));
	return at_statement_end(c);
}

static bool read_where(struct extraction *x)
{
	return accept_kw(&x->cur, SQL_KW_WHERE) && read_conjunction(x, 0) &&
	       where_surely_ended(&x->cur) && add_where_keys(x);
}

/* The one table after FROM or UPDATE, with its partitions, alias and index hints, up to the
 * clause at depth 0 that follows it; false for a list of tables, USING, a derived table, a
 * table function, or FOR PORTION OF (which splits rows into new ones with other periods). */
static bool read_table_reference(struct cursor *c, enum sql_kw clause)
{
	if (!is_name(&c->tok) || peek(c).type == SQL_TOK_LPAREN)
		return false;
	unsigned depth = 0;
	while (depth > 0 || (c->tok.kw != clause && !at_where_end(c)))
		if (c->tok.kw == SQL_KW_USING || (c->tok.type == SQL_TOK_COMMA && depth == 0) ||
		    is_word(&c->tok, "portion") || !step(c, &depth))
			return false;
	return true;
}

/* SELECT ... FROM t WHERE ... */
static bool read_select(struct extraction *x)
{
	struct cursor *c = &x->cur;
	unsigned depth = 0;
	if (!accept_kw(c, SQL_KW_SELECT))
		return false;
	while (depth > 0 || c->tok.kw != SQL_KW_FROM) /* the select list */
		if (!step(c, &depth))
			return false;
	next(c);
	return read_table_reference(c, SQL_KW_WHERE) && read_where(x);
}

/* DELETE [modifiers] FROM t WHERE ...; not DELETE t FROM ..., a multi-table DELETE. */
static bool read_delete(struct extraction *x)
{
	struct cursor *c = &x->cur;
	if (!accept_kw(c, SQL_KW_DELETE))
		return false;
	skip_modifiers(c);
	return accept_kw(c, SQL_KW_FROM) && read_table_reference(c, SQL_KW_WHERE) && read_where(x);
}

/* col = expr, ...: false if it assigns a key column (or might), which would move the row to a
 * key the statement does not name. */
static bool read_assignments(struct cursor *c, const struct schema_table *t)
{
	do {
		struct sql_token name;
		if (!read_column(c, &name) || key_column_of(t, &name) != NOT_KEY ||
		    !accept_assign(c))
			return false;
		skip_expression(c);
	} while (accept_type(c, SQL_TOK_COMMA));
	return true;
}

/* UPDATE [modifiers] t SET ... WHERE ... */
static bool read_update(struct extraction *x)
{
	struct cursor *c = &x->cur;
	if (!accept_kw(c, SQL_KW_UPDATE))
		return false;
	skip_modifiers(c);
	return read_table_reference(c, SQL_KW_SET) && accept_kw(c, SQL_KW_SET) &&
	       read_assignments(c, x->t) && read_where(x);
}

/* ---- INSERT and REPLACE ------------------------------------------------------------------ */

/* Where each key column's value sits in a row; NO_POSITION when the column list leaves it out. */
#define NO_POSITION (-1)
struct row_layout {
	unsigned width;
	int position[SCHEMA_PK_MAX];
};

static bool is_auto_key(const struct schema_table *t)
{
	return t->auto_increment && t->n_pk == 1;
}

/* [(col, ...)]: without a list, a row holds every column in table order. */
static bool read_column_list(struct cursor *c, const struct schema_table *t,
                             struct row_layout *layout)
{
	if (!accept_type(c, SQL_TOK_LPAREN)) {
		layout->width = t->n_columns;
		for (unsigned j = 0; j < t->n_pk; j++) {
			if (t->pk_position[j] >= t->n_columns)
				return false;
			layout->position[j] = (int)t->pk_position[j];
		}
		return true;
	}
	for (unsigned j = 0; j < t->n_pk; j++)
		layout->position[j] = NO_POSITION;
	layout->width = 0;
	if (accept_type(c, SQL_TOK_RPAREN))
		return true;
	do {
		struct sql_token name;
		if (!read_column(c, &name))
			return false;
		int j = key_column_of(t, &name);
		if (j == MAYBE_KEY || (j >= 0 && layout->position[j] != NO_POSITION))
			return false;
		if (j >= 0)
			layout->position[j] = (int)layout->width;
		layout->width++;
	} while (accept_type(c, SQL_TOK_COMMA));
	return accept_type(c, SQL_TOK_RPAREN);
}

/* [db.]table */
static bool read_table_name(struct cursor *c)
{
	if (!accept_type(c, SQL_TOK_WORD) && !accept_type(c, SQL_TOK_QUOTED))
		return false;
	if (accept_type(c, SQL_TOK_DOT) && !accept_type(c, SQL_TOK_WORD) &&
	    !accept_type(c, SQL_TOK_QUOTED))
		return false;
	return true;
}

/* One row's key: added, or counted among the rows AUTO_INCREMENT numbers; false if the row's
 * key cannot be known (an expression, a key column left to its default...). */
static bool add_row(struct extraction *x, const struct value *key, const bool *given)
{
	const struct schema_table *t = x->t;
	if (++x->rows > KEYS_MAX)
		return false;
	if (is_auto_key(t) &&
	    (!given[0] || key[0].kind == VALUE_NULL || key[0].kind == VALUE_DEFAULT)) {
		x->out->auto_rows++;
		return true;
	}
	struct mark_key k;
	mark_key_init(&k);
	for (unsigned j = 0; j < t->n_pk; j++)
		if (!given[j] || !spell_value(x, j, &key[j], &k))
			return false;
	/* 0 asks AUTO_INCREMENT for a key, unless sql_mode has NO_AUTO_VALUE_ON_ZERO: count both */
	if (is_auto_key(t) && k.len == 1 && k.text[0] == '0')
		x->out->auto_rows++;
	return add_key(x->out, &k);
}

/* A key column's value: a literal, a '?', NULL or DEFAULT, and then the end of the expression
 * (not the start of one: 1 + id). */
static bool read_key_value(struct cursor *c, struct value *v)
{
	return read_row_value(c, v) && ends_expression(c);
}

static int key_at(const struct schema_table *t, const struct row_layout *layout, unsigned i)
{
	for (unsigned j = 0; j < t->n_pk; j++)
		if (layout->position[j] == (int)i)
			return (int)j;
	return NOT_KEY;
}

/* (value, ...): one row of VALUES. */
static bool read_row(struct extraction *x, const struct row_layout *layout)
{
	struct cursor *c = &x->cur;
	struct value key[SCHEMA_PK_MAX];
	bool given[SCHEMA_PK_MAX] = {false};
	unsigned width = 0;
	if (!accept_type(c, SQL_TOK_LPAREN))
		return false;
	if (c->tok.type != SQL_TOK_RPAREN) {
		do {
			int j = key_at(x->t, layout, width++);
			if (j == NOT_KEY)
				skip_expression(c);
			else if (read_key_value(c, &key[j]))
				given[j] = true;
			else
				return false;
		} while (accept_type(c, SQL_TOK_COMMA));
	}
	return accept_type(c, SQL_TOK_RPAREN) && width == layout->width && add_row(x, key, given);
}

/* INSERT ... SET col = value, ...: one row. */
static bool read_insert_set(struct extraction *x)
{
	struct cursor *c = &x->cur;
	struct value key[SCHEMA_PK_MAX];
	bool given[SCHEMA_PK_MAX] = {false};
	do {
		struct sql_token name;
		if (!read_column(c, &name))
			return false;
		int j = key_column_of(x->t, &name);
		if (j == MAYBE_KEY || !accept_assign(c))
			return false;
		if (j == NOT_KEY)
			skip_expression(c);
		else if (!given[j] && read_key_value(c, &key[j]))
			given[j] = true;
		else
			return false;
	} while (accept_type(c, SQL_TOK_COMMA));
	return add_row(x, key, given);
}

/* [ON DUPLICATE KEY UPDATE col = expr, ...] [RETURNING ...]. The update changes the row whose
 * key conflicted, one of those listed, unless another unique index can conflict instead, or it
 * assigns a key column. */
static bool read_insert_tail(struct extraction *x)
{
	struct cursor *c = &x->cur;
	if (accept_kw(c, SQL_KW_ON) &&
	    (x->t->other_unique || !accept_word(c, "duplicate") || !accept_kw(c, SQL_KW_KEY) ||
	     !accept_kw(c, SQL_KW_UPDATE) || !read_assignments(c, x->t)))
		return false;
	if (accept_kw(c, SQL_KW_RETURNING))
		while (!at_statement_end(c))
			next(c);
	return at_statement_end(c);
}

/* INSERT | REPLACE [modifiers] [INTO] t [PARTITION (...)] then [(cols)] VALUES (...), ... or
 * SET col = value, ...; not INSERT ... SELECT (is_simple_statement refuses it). A REPLACE into
 * a table with another unique index may delete rows under other keys. */
static bool read_insert(struct extraction *x, enum sql_kw verb)
{
	struct cursor *c = &x->cur;
	struct row_layout layout;
	if (!accept_kw(c, verb) || (verb == SQL_KW_REPLACE && x->t->other_unique))
		return false;
	skip_modifiers(c);
	accept_kw(c, SQL_KW_INTO);
	if (!read_table_name(c))
		return false;
	if (accept_word(c, "partition") && !skip_parenthesised(c))
		return false;
	if (accept_kw(c, SQL_KW_SET)) {
		if (!read_insert_set(x))
			return false;
	} else {
		if (!read_column_list(c, x->t, &layout) ||
		    (!accept_kw(c, SQL_KW_VALUES) && !accept_kw(c, SQL_KW_VALUE)))
			return false;
		do {
			if (!read_row(x, &layout))
				return false;
		} while (accept_type(c, SQL_TOK_COMMA));
	}
	return read_insert_tail(x);
}

/* ---- entry ------------------------------------------------------------------------------- */

static bool read_statement(struct extraction *x, enum cls_kind kind)
{
	switch (kind) {
	case CLS_KIND_SELECT: return read_select(x);
	case CLS_KIND_UPDATE: return read_update(x);
	case CLS_KIND_DELETE: return read_delete(x);
	case CLS_KIND_INSERT: return read_insert(x, SQL_KW_INSERT);
	case CLS_KIND_REPLACE: return read_insert(x, SQL_KW_REPLACE);
	default: return false;
	}
}

void keys_extract(const char *sql, size_t len, const struct cls_result *c,
                  const struct schema_table *t, const struct keys_params *params,
                  struct keys_result *out)
{
	out->point = false;
	out->n_keys = 0;
	out->auto_rows = 0;
	if (c->n_tables != 1 || (c->flags & (CLS_TABLES_OVERFLOW | CLS_MULTI)) || t->n_pk == 0 ||
	    t->n_pk > SCHEMA_PK_MAX || !is_simple_statement(sql, len))
		return;
	struct extraction x = {.t = t, .params = params, .out = out};
	cursor_start(&x.cur, sql, len);
	out->point = read_statement(&x, c->kind);
	if (!out->point) {
		out->n_keys = 0;
		out->auto_rows = 0;
	}
}
