/*
 * sqllex.c - the SQL lexer: keywords, byte classes, tokens (see sqllex.h).
 *
 * Words are looked up in an open-addressing index of the keywords by a case-blind hash computed
 * while the word is read, and every byte's class is one table entry, so the inner loops do
 * little more than one load per byte. Every read is checked against the end of the text first:
 * a string, quoted name or comment left open fails the lexer instead of running off the end.
 */
#include "sqllex.h"

#include <pthread.h>
#include <string.h>

/* ---- keywords ---------------------------------------------------------------------------- */

#define KW_MAX_LEN 20
#define KW_SLOTS   512 /* a power of two, over twice the keywords: probe runs stay short */

#define KW_FITS(word, props) _Static_assert(sizeof(#word) - 1 <= KW_MAX_LEN, #word " is too long");
SQL_KW_LIST(KW_FITS)
#undef KW_FITS
_Static_assert(SQLLEX_N_KEYWORDS <= 255 && 2 * SQLLEX_N_KEYWORDS <= KW_SLOTS,
               "resize the keyword index");

#define KW_NAME(word, props) #word,
static const char *const kw_names[SQLLEX_N_KEYWORDS] = {"", SQL_KW_LIST(KW_NAME)};
#undef KW_NAME
#define KW_LEN(word, props) sizeof(#word) - 1,
static const uint8_t kw_lens[SQLLEX_N_KEYWORDS] = {0, SQL_KW_LIST(KW_LEN)};
#undef KW_LEN
#define KW_PROPS(word, props) props,
const uint8_t sqllex_kw_props[SQLLEX_N_KEYWORDS] = {0, SQL_KW_LIST(KW_PROPS)};
#undef KW_PROPS

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool sqllex_same_ci(const char *s, size_t len, const char *word)
{
	for (size_t i = 0; i < len; i++)
		if (!word[i] || fold((unsigned char)s[i]) != fold((unsigned char)word[i]))
			return false;
	return word[len] == '\0';
}

/* Any mix that ignores ASCII case will do; c | 0x20 is the cheapest. */
static uint32_t kw_hash_step(uint32_t h, unsigned char c)
{
	return h * 31 + (c | 0x20u);
}

/* An open-addressing index from a word's hash to its keyword: looking a word up costs a probe
 * or two instead of a search of the list. */
static uint8_t kw_slots[KW_SLOTS];

static void kw_index_build(void)
{
	for (int k = 1; k < SQLLEX_N_KEYWORDS; k++) {
		uint32_t h = 0;
		for (const char *c = kw_names[k]; *c; c++)
			h = kw_hash_step(h, (unsigned char)*c);
		uint32_t i = h & (KW_SLOTS - 1);
		while (kw_slots[i])
			i = (i + 1) & (KW_SLOTS - 1);
		kw_slots[i] = (uint8_t)k;
	}
}

static enum sql_kw kw_find(const char *s, size_t len, uint32_t h)
{
	if (len > KW_MAX_LEN)
		return SQL_KW_NONE;
	for (uint32_t i = h & (KW_SLOTS - 1); kw_slots[i]; i = (i + 1) & (KW_SLOTS - 1)) {
		enum sql_kw k = (enum sql_kw)kw_slots[i];
		if (kw_lens[k] == len && sqllex_same_ci(s, len, kw_names[k]))
			return k;
	}
	return SQL_KW_NONE;
}

/* ---- byte classes ------------------------------------------------------------------------ */

enum {
	B_SPACE = 1,
	B_WORD = 2, /* may be part of an unquoted name */
	B_DIGIT = 4,
	B_GAP = 8, /* may open a comment or close an executable one: # - / * */
};

/* The class of every byte, so that the lexer's inner loops test one table entry. */
static uint8_t byte_class[256];

static uint8_t class_of(unsigned c)
{
	unsigned lower = c | 0x20;
	bool digit = c >= '0' && c <= '9';
	uint8_t cls = digit ? B_DIGIT : 0;
	if (c == ' ' || (c >= '\t' && c <= '\r'))
		cls |= B_SPACE;
	/* MariaDB takes every byte above 0x7f as part of a name: UTF-8 names need no quotes */
	if ((lower >= 'a' && lower <= 'z') || digit || c == '_' || c == '$' || c >= 0x80)
		cls |= B_WORD;
	if (c == '#' || c == '-' || c == '/' || c == '*')
		cls |= B_GAP;
	return cls;
}

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* The byte classes and the keyword index: built once, then only read. */
static void tables_build(void)
{
	for (unsigned c = 0; c < 256; c++)
		byte_class[c] = class_of(c);
	kw_index_build();
}

static bool is_space(unsigned char c)
{
	return byte_class[c] & B_SPACE;
}

static bool is_digit(unsigned char c)
{
	return byte_class[c] & B_DIGIT;
}

static bool is_word_char(unsigned char c)
{
	return byte_class[c] & B_WORD;
}

/* ---- lexer ------------------------------------------------------------------------------- */

const char *sqllex_skip_blanks(const char *s, const char *e)
{
	while (s < e && is_space((unsigned char)*s))
		s++;
	return s;
}

bool sqllex_take_word(const char **s, const char *e, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(e - *s) < n || !sqllex_same_ci(*s, n, word))
		return false;
	if (*s + n < e && is_word_char((unsigned char)(*s)[n]))
		return false;
	*s += n;
	return true;
}

const char *sqllex_hint_body(const char *s, const char *e)
{
	s = sqllex_skip_blanks(s, e);
	if (!sqllex_take_word(&s, e, "sluice"))
		return NULL;
	s = sqllex_skip_blanks(s, e);
	if (s == e || *s != ':')
		return NULL;
	return sqllex_skip_blanks(s + 1, e);
}

/* A comment's text [s, e) that says "sluice:primary" or "sluice : replica", in any case. */
static void note_hint(struct sqllex *lx, const char *s, const char *e)
{
	s = sqllex_hint_body(s, e);
	if (!s)
		return;
	if (sqllex_take_word(&s, e, "primary"))
		lx->hints |= SQLLEX_HINT_PRIMARY;
	else if (sqllex_take_word(&s, e, "replica"))
		lx->hints |= SQLLEX_HINT_REPLICA;
}

static void skip_line_comment(struct sqllex *lx, const char *body)
{
	const char *nl = memchr(body, '\n', (size_t)(lx->end - body));
	const char *stop = nl ? nl : lx->end;
	note_hint(lx, body, stop);
	lx->p = stop;
}

/* MariaDB reads "--" as a comment only before a space, a control character or the end. */
static bool starts_dash_comment(const char *p, size_t left)
{
	return left >= 2 && p[0] == '-' && p[1] == '-' &&
	       (left == 2 || (unsigned char)p[2] <= ' ' || p[2] == 0x7f);
}

/* After the '!' that opens an executable comment: a server version of five digits, or six for
 * MariaDB's. */
static const char *skip_version(const char *p, const char *end)
{
	size_t digits = 0;
	while (digits < 6 && p + digits < end && is_digit((unsigned char)p[digits]))
		digits++;
	return digits >= 5 ? p + digits : p;
}

/* At a slash and a star: a comment, or an executable comment whose inside is code (MySQL's
 * '!' or MariaDB's 'M!', then a version); false if it is not closed. */
static bool skip_block_comment(struct sqllex *lx)
{
	const char *body = lx->p + 2;
	size_t left = (size_t)(lx->end - body);
	size_t bang = left >= 1 && body[0] == '!'                     ? 1
	              : left >= 2 && body[0] == 'M' && body[1] == '!' ? 2
	                                                              : 0;
	if (bang) {
		lx->p = skip_version(body + bang, lx->end);
		lx->in_exec = true;
		return true;
	}
	for (const char *q = body; q < lx->end; q++) {
		q = memchr(q, '*', (size_t)(lx->end - q));
		if (!q || lx->end - q < 2)
			return false;
		if (q[1] == '/') {
			note_hint(lx, body, q);
			lx->p = q + 2;
			return true;
		}
	}
	return false;
}

/* Skips whitespace and comments; false if a comment is not closed. */
static bool skip_gap(struct sqllex *lx)
{
	while (lx->p < lx->end) {
		const char *p = lx->p;
		size_t left = (size_t)(lx->end - p);
		if (is_space((unsigned char)*p))
			lx->p++;
		else if (!(byte_class[(unsigned char)*p] & B_GAP))
			return true;
		else if (*p == '#')
			skip_line_comment(lx, p + 1);
		else if (starts_dash_comment(p, left))
			skip_line_comment(lx, p + 2);
		else if (left >= 2 && p[0] == '/' && p[1] == '*') {
			if (!skip_block_comment(lx))
				return false;
		} else if (left >= 2 && lx->in_exec && p[0] == '*' && p[1] == '/') {
			lx->p += 2;
			lx->in_exec = false;
		} else
			return true;
	}
	return !lx->in_exec;
}

/* Moves past the string or name whose opening quote is at open; false if it is not closed. A
 * doubled quote stands for itself, and so does the byte after a backslash, except in names. */
static bool skip_quoted(struct sqllex *lx, const char *open)
{
	char q = *open;
	for (const char *p = open + 1; p < lx->end; p++) {
		if (*p == '\\' && q != '`') {
			if (lx->end - p < 2)
				return false;
			p++;
		} else if (*p == q) {
			if (lx->end - p < 2 || p[1] != q) {
				lx->p = p + 1;
				return true;
			}
			p++;
		}
	}
	return false;
}

static const char *skip_word_chars(const char *p, const char *end)
{
	while (p < end && is_word_char((unsigned char)*p))
		p++;
	return p;
}

static void lex_word(struct sqllex *lx, struct sql_token *t)
{
	const char *p = t->s;
	uint32_t h = 0;
	for (; p < lx->end && is_word_char((unsigned char)*p); p++)
		h = kw_hash_step(h, (unsigned char)*p);
	lx->p = p;
	t->type = SQL_TOK_WORD;
	t->kw = kw_find(t->s, (size_t)(p - t->s), h);
}

/* Variable names may hold dots: @a.b, @@session.autocommit. */
static const char *skip_var_name(const char *p, const char *end)
{
	while (p < end && (is_word_char((unsigned char)*p) || *p == '.'))
		p++;
	return p;
}

/* At '@': a user or system variable, or the '@' of 'user'@'host'; false if a quoted name is not
 * closed. */
static bool lex_variable(struct sqllex *lx, struct sql_token *t)
{
	const char *p = t->s + 1;
	t->type = SQL_TOK_OTHER;
	lx->p = p;
	if (lx->prev_glues && lx->prev_end == t->s)
		return true;
	if (p < lx->end && *p == '@') {
		t->type = SQL_TOK_SYS_VAR;
		lx->p = skip_var_name(p + 1, lx->end);
		return true;
	}
	if (p < lx->end && (*p == '\'' || *p == '"' || *p == '`')) {
		t->type = SQL_TOK_USER_VAR;
		return skip_quoted(lx, p);
	}
	lx->p = skip_var_name(p, lx->end);
	if (lx->p > p)
		t->type = SQL_TOK_USER_VAR;
	return true;
}

static void lex_punct(struct sqllex *lx, struct sql_token *t)
{
	const char *s = t->s;
	lx->p = s + 1;
	switch (*s) {
	case ';': t->type = SQL_TOK_SEMI; break;
	case '(': t->type = SQL_TOK_LPAREN; break;
	case ')': t->type = SQL_TOK_RPAREN; break;
	case ',': t->type = SQL_TOK_COMMA; break;
	case '.': t->type = SQL_TOK_DOT; break;
	case ':':
		t->type = SQL_TOK_OTHER;
		if (lx->end - s >= 2 && s[1] == '=') {
			t->type = SQL_TOK_ASSIGN;
			lx->p = s + 2;
		}
		break;
	default: t->type = SQL_TOK_OTHER; break;
	}
}

/* Lexes the next token into *t. It fills the caller's token in place rather than returning one:
 * copying a returned struct costs a store-forwarding stall per token. */
void sqllex_next(struct sqllex *lx, struct sql_token *t)
{
	t->type = SQL_TOK_END;
	t->kw = SQL_KW_NONE;
	t->s = lx->end;
	t->len = 0;
	bool ok = skip_gap(lx);
	if (ok && lx->p < lx->end) {
		t->s = lx->p;
		unsigned char c = (unsigned char)*t->s;
		if (is_digit(c)) {
			t->type =
			    SQL_TOK_NUMBER; /* 1e5, 0x1F: the operators inside do not matter */
			lx->p = skip_word_chars(t->s, lx->end);
		} else if (is_word_char(c)) {
			lex_word(lx, t);
		} else if (c == '\'' || c == '"' || c == '`') {
			t->type = c == '`' ? SQL_TOK_QUOTED : SQL_TOK_STRING;
			ok = skip_quoted(lx, t->s);
		} else if (c == '@') {
			ok = lex_variable(lx, t);
		} else {
			lex_punct(lx, t);
		}
	}
	if (!ok) {
		lx->failed = true;
		lx->p = lx->end;
		t->type = SQL_TOK_END;
		t->kw = SQL_KW_NONE;
		t->s = lx->end;
	}
	t->len = (size_t)(lx->p - t->s);
	lx->prev_end = lx->p;
	lx->prev_glues =
	    t->type == SQL_TOK_WORD || t->type == SQL_TOK_QUOTED || t->type == SQL_TOK_STRING;
}

void sqllex_start(struct sqllex *lx, const char *sql, size_t len)
{
	pthread_once(&tables_once, tables_build);
	*lx = (struct sqllex){.p = sql, .end = sql + len};
}
