/*
 * classify.c - the SQL lexer and the statement classifier (see classify.h).
 *
 * Two layers. The lexer turns bytes into tokens (words with their keyword, `quoted` names,
 * strings, numbers, variables, punctuation), skipping whitespace and comments; it notes routing
 * hints found in comments and lexes the inside of executable comments as code. The classifier
 * reads one statement at a time: its first word picks a handler, which reads the statement's head
 * (the target of INSERT, UPDATE, DDL...) and gives the rest to scan(), the one loop that finds
 * tables in FROM and JOIN lists and subqueries, CTE names, locking clauses, and the functions and
 * variables that tie a statement to one connection.
 *
 * scan() follows parentheses with a fixed stack of frames rather than by recursion, so hostile
 * nesting cannot exhaust the C stack; statements inside statements (EXPLAIN, ANALYZE, WITH,
 * SET STATEMENT ... FOR) recurse at most MAX_NESTING deep.
 */
#include "classify.h"

#include <pthread.h>
#include <string.h>

/* ---- keywords ---------------------------------------------------------------------------- */

enum {
	P_CLAUSE = 1,     /* ends a list of tables: WHERE, GROUP, SET... */
	P_SESSION_FN = 2, /* a function whose answer belongs to one connection */
	P_MODIFIER = 4,   /* LOW_PRIORITY, IGNORE...: between a verb and its table */
	P_OBJECT = 8,     /* a kind of schema object without tables: CREATE DATABASE, USER... */
};

/* X(keyword, properties): every word the classifier looks at. */
#define KEYWORD_LIST(X)                                                                            \
	X(ALTER, 0)                                                                                \
	X(ANALYZE, 0)                                                                              \
	X(AS, 0)                                                                                   \
	X(BEGIN, 0)                                                                                \
	X(CALL, 0)                                                                                 \
	X(CHECK, 0)                                                                                \
	X(CHECKSUM, 0)                                                                             \
	X(COLUMN, 0)                                                                               \
	X(COMMIT, 0)                                                                               \
	X(CONNECTION_ID, P_SESSION_FN)                                                             \
	X(COUNT, 0)                                                                                \
	X(CREATE, 0)                                                                               \
	X(DATABASE, P_OBJECT)                                                                      \
	X(DEALLOCATE, 0)                                                                           \
	X(DEFAULT, 0)                                                                              \
	X(DELAYED, P_MODIFIER)                                                                     \
	X(DELETE, 0)                                                                               \
	X(DESC, 0)                                                                                 \
	X(DESCRIBE, 0)                                                                             \
	X(DO, 0)                                                                                   \
	X(DROP, 0)                                                                                 \
	X(DUAL, 0)                                                                                 \
	X(ERRORS, 0)                                                                               \
	X(EVENT, P_OBJECT)                                                                         \
	X(EXCEPT, P_CLAUSE)                                                                        \
	X(EXECUTE, 0)                                                                              \
	X(EXISTS, 0)                                                                               \
	X(EXPLAIN, 0)                                                                              \
	X(EXTENDED, 0)                                                                             \
	X(FLUSH, 0)                                                                                \
	X(FOR, 0)                                                                                  \
	X(FORMAT, 0)                                                                               \
	X(FOUND_ROWS, P_SESSION_FN)                                                                \
	X(FROM, 0)                                                                                 \
	X(FUNCTION, P_OBJECT)                                                                      \
	X(GET_LOCK, P_SESSION_FN)                                                                  \
	X(GLOBAL, 0)                                                                               \
	X(GRANT, 0)                                                                                \
	X(GROUP, P_CLAUSE)                                                                         \
	X(HANDLER, 0)                                                                              \
	X(HAVING, P_CLAUSE)                                                                        \
	X(HIGH_PRIORITY, P_MODIFIER)                                                               \
	X(IF, 0)                                                                                   \
	X(IGNORE, P_MODIFIER)                                                                      \
	X(IN, 0)                                                                                   \
	X(INDEX, 0)                                                                                \
	X(INSERT, 0)                                                                               \
	X(INTERSECT, P_CLAUSE)                                                                     \
	X(INTO, 0)                                                                                 \
	X(IS_FREE_LOCK, P_SESSION_FN)                                                              \
	X(IS_USED_LOCK, P_SESSION_FN)                                                              \
	X(JOIN, 0)                                                                                 \
	X(KEY, 0)                                                                                  \
	X(KILL, 0)                                                                                 \
	X(LASTVAL, P_SESSION_FN)                                                                   \
	X(LAST_INSERT_ID, P_SESSION_FN)                                                            \
	X(LATERAL, 0)                                                                              \
	X(LIKE, 0)                                                                                 \
	X(LIMIT, P_CLAUSE)                                                                         \
	X(LOAD, 0)                                                                                 \
	X(LOCAL, P_MODIFIER)                                                                       \
	X(LOCK, 0)                                                                                 \
	X(LOW_PRIORITY, P_MODIFIER)                                                                \
	X(MASTER_GTID_WAIT, P_SESSION_FN)                                                          \
	X(MASTER_POS_WAIT, P_SESSION_FN)                                                           \
	X(NEXT, 0)                                                                                 \
	X(NEXTVAL, P_SESSION_FN)                                                                   \
	X(NOT, 0)                                                                                  \
	X(NO_WRITE_TO_BINLOG, P_MODIFIER)                                                          \
	X(ON, 0)                                                                                   \
	X(ONLY, 0)                                                                                 \
	X(OPEN, 0)                                                                                 \
	X(OPTIMIZE, 0)                                                                             \
	X(ORDER, P_CLAUSE)                                                                         \
	X(PACKAGE, P_OBJECT)                                                                       \
	X(PARTITIONS, 0)                                                                           \
	X(PASSWORD, 0)                                                                             \
	X(PERSIST, 0)                                                                              \
	X(PERSIST_ONLY, 0)                                                                         \
	X(PREPARE, 0)                                                                              \
	X(PREVIOUS, 0)                                                                             \
	X(PROCEDURE, P_CLAUSE | P_OBJECT)                                                          \
	X(PROFILE, 0)                                                                              \
	X(PROFILES, 0)                                                                             \
	X(QUICK, P_MODIFIER)                                                                       \
	X(READ, 0)                                                                                 \
	X(RECURSIVE, 0)                                                                            \
	X(RELEASE, 0)                                                                              \
	X(RELEASE_ALL_LOCKS, P_SESSION_FN)                                                         \
	X(RELEASE_LOCK, P_SESSION_FN)                                                              \
	X(RENAME, 0)                                                                               \
	X(REPAIR, 0)                                                                               \
	X(REPLACE, 0)                                                                              \
	X(RETURNING, P_CLAUSE)                                                                     \
	X(REVOKE, 0)                                                                               \
	X(ROLE, P_OBJECT)                                                                          \
	X(ROLLBACK, 0)                                                                             \
	X(ROW_COUNT, P_SESSION_FN)                                                                 \
	X(SAVEPOINT, 0)                                                                            \
	X(SCHEMA, P_OBJECT)                                                                        \
	X(SELECT, 0)                                                                               \
	X(SEQUENCE, 0)                                                                             \
	X(SERVER, P_OBJECT)                                                                        \
	X(SESSION, 0)                                                                              \
	X(SET, P_CLAUSE)                                                                           \
	X(SETVAL, P_SESSION_FN)                                                                    \
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
	X(TRIGGER, P_OBJECT)                                                                       \
	X(TRUNCATE, 0)                                                                             \
	X(UNION, P_CLAUSE)                                                                         \
	X(UNLOCK, 0)                                                                               \
	X(UPDATE, P_CLAUSE)                                                                        \
	X(USE, 0)                                                                                  \
	X(USER, P_OBJECT)                                                                          \
	X(USING, 0)                                                                                \
	X(VALUE, 0)                                                                                \
	X(VALUES, 0)                                                                               \
	X(VIEW, 0)                                                                                 \
	X(WARNINGS, 0)                                                                             \
	X(WHERE, P_CLAUSE)                                                                         \
	X(WINDOW, P_CLAUSE)                                                                        \
	X(WITH, 0)                                                                                 \
	X(WORK, 0)                                                                                 \
	X(WRITE, 0)                                                                                \
	X(XA, 0)

#define KW_ENUM(word, props) KW_##word,
enum kw { KW_NONE, KEYWORD_LIST(KW_ENUM) N_KEYWORDS };
#undef KW_ENUM

#define KW_MAX_LEN 20
#define KW_SLOTS   512 /* a power of two, over twice the keywords: probe runs stay short */

#define KW_FITS(word, props) _Static_assert(sizeof(#word) - 1 <= KW_MAX_LEN, #word " is too long");
KEYWORD_LIST(KW_FITS)
#undef KW_FITS
_Static_assert(N_KEYWORDS <= 255 && 2 * N_KEYWORDS <= KW_SLOTS, "resize the keyword index");

#define KW_NAME(word, props) #word,
static const char *const kw_names[N_KEYWORDS] = {"", KEYWORD_LIST(KW_NAME)};
#undef KW_NAME
#define KW_LEN(word, props) sizeof(#word) - 1,
static const uint8_t kw_lens[N_KEYWORDS] = {0, KEYWORD_LIST(KW_LEN)};
#undef KW_LEN
#define KW_PROPS(word, props) props,
static const uint8_t kw_props[N_KEYWORDS] = {0, KEYWORD_LIST(KW_PROPS)};
#undef KW_PROPS

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Is s[0..len) the word (ASCII letters compared without case)? */
static bool same_ci(const char *s, size_t len, const char *word)
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
	for (int k = 1; k < N_KEYWORDS; k++) {
		uint32_t h = 0;
		for (const char *c = kw_names[k]; *c; c++)
			h = kw_hash_step(h, (unsigned char)*c);
		uint32_t i = h & (KW_SLOTS - 1);
		while (kw_slots[i])
			i = (i + 1) & (KW_SLOTS - 1);
		kw_slots[i] = (uint8_t)k;
	}
}

static enum kw kw_find(const char *s, size_t len, uint32_t h)
{
	if (len > KW_MAX_LEN)
		return KW_NONE;
	for (uint32_t i = h & (KW_SLOTS - 1); kw_slots[i]; i = (i + 1) & (KW_SLOTS - 1)) {
		enum kw k = (enum kw)kw_slots[i];
		if (kw_lens[k] == len && same_ci(s, len, kw_names[k]))
			return k;
	}
	return KW_NONE;
}

/* ---- lexer ------------------------------------------------------------------------------- */

enum tok {
	T_END, /* the end of the text, or of what could be lexed */
	T_SEMI,
	T_WORD,   /* an unquoted identifier or keyword */
	T_QUOTED, /* a `quoted` identifier */
	T_STRING, /* 'text' or "text" */
	T_NUMBER,
	T_USER_VAR, /* @name, @'name' */
	T_SYS_VAR,  /* @@name, @@session.name */
	T_ASSIGN,   /* := */
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
	T_DOT,
	T_OTHER, /* any other operator or punctuation byte */
};

struct token {
	enum tok type;
	enum kw kw; /* for T_WORD, KW_NONE for anything else */
	const char *s;
	size_t len;
};

struct lexer {
	const char *p, *end;
	/* Where the last token ended, and whether it was a name or a string: then an '@' right
	 * after it joins user@host and starts no variable. */
	const char *prev_end;
	bool prev_glues;
	bool in_exec;   /* inside an executable comment, whose closing is not a token */
	bool failed;    /* a string, quoted name or comment was not closed */
	uint32_t hints; /* CLS_HINT_* seen in comments */
};

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

static const char *skip_blanks(const char *s, const char *e)
{
	while (s < e && is_space((unsigned char)*s))
		s++;
	return s;
}

/* Moves *s past word if [*s, e) starts with it as a whole word. */
static bool take_word(const char **s, const char *e, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(e - *s) < n || !same_ci(*s, n, word))
		return false;
	if (*s + n < e && is_word_char((unsigned char)(*s)[n]))
		return false;
	*s += n;
	return true;
}

/* A comment's text [s, e) that says "sluice:primary" or "sluice : replica", in any case. */
static void note_hint(struct lexer *lx, const char *s, const char *e)
{
	s = skip_blanks(s, e);
	if (!take_word(&s, e, "sluice"))
		return;
	s = skip_blanks(s, e);
	if (s == e || *s != ':')
		return;
	s = skip_blanks(s + 1, e);
	if (take_word(&s, e, "primary"))
		lx->hints |= CLS_HINT_PRIMARY;
	else if (take_word(&s, e, "replica"))
		lx->hints |= CLS_HINT_REPLICA;
}

static void skip_line_comment(struct lexer *lx, const char *body)
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
static bool skip_block_comment(struct lexer *lx)
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
static bool skip_gap(struct lexer *lx)
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
static bool skip_quoted(struct lexer *lx, const char *open)
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

static void lex_word(struct lexer *lx, struct token *t)
{
	const char *p = t->s;
	uint32_t h = 0;
	for (; p < lx->end && is_word_char((unsigned char)*p); p++)
		h = kw_hash_step(h, (unsigned char)*p);
	lx->p = p;
	t->type = T_WORD;
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
static bool lex_variable(struct lexer *lx, struct token *t)
{
	const char *p = t->s + 1;
	t->type = T_OTHER;
	lx->p = p;
	if (lx->prev_glues && lx->prev_end == t->s)
		return true;
	if (p < lx->end && *p == '@') {
		t->type = T_SYS_VAR;
		lx->p = skip_var_name(p + 1, lx->end);
		return true;
	}
	if (p < lx->end && (*p == '\'' || *p == '"' || *p == '`')) {
		t->type = T_USER_VAR;
		return skip_quoted(lx, p);
	}
	lx->p = skip_var_name(p, lx->end);
	if (lx->p > p)
		t->type = T_USER_VAR;
	return true;
}

static void lex_punct(struct lexer *lx, struct token *t)
{
	const char *s = t->s;
	lx->p = s + 1;
	switch (*s) {
	case ';': t->type = T_SEMI; break;
	case '(': t->type = T_LPAREN; break;
	case ')': t->type = T_RPAREN; break;
	case ',': t->type = T_COMMA; break;
	case '.': t->type = T_DOT; break;
	case ':':
		t->type = T_OTHER;
		if (lx->end - s >= 2 && s[1] == '=') {
			t->type = T_ASSIGN;
			lx->p = s + 2;
		}
		break;
	default: t->type = T_OTHER; break;
	}
}

/* Lexes the next token into *t. It fills the caller's token in place rather than returning one:
 * copying a returned struct costs a store-forwarding stall per token. */
static void lex(struct lexer *lx, struct token *t)
{
	t->type = T_END;
	t->kw = KW_NONE;
	t->s = lx->end;
	t->len = 0;
	bool ok = skip_gap(lx);
	if (ok && lx->p < lx->end) {
		t->s = lx->p;
		unsigned char c = (unsigned char)*t->s;
		if (is_digit(c)) {
			t->type = T_NUMBER; /* 1e5, 0x1F: the operators inside do not matter */
			lx->p = skip_word_chars(t->s, lx->end);
		} else if (is_word_char(c)) {
			lex_word(lx, t);
		} else if (c == '\'' || c == '"' || c == '`') {
			t->type = c == '`' ? T_QUOTED : T_STRING;
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
		t->type = T_END;
		t->kw = KW_NONE;
		t->s = lx->end;
	}
	t->len = (size_t)(lx->p - t->s);
	lx->prev_end = lx->p;
	lx->prev_glues = t->type == T_WORD || t->type == T_QUOTED || t->type == T_STRING;
}

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
	struct lexer lx;
	struct token tok; /* the current token */
	enum tok prev;    /* the type of the one before it */
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

static void advance(struct parser *p)
{
	p->prev = p->tok.type;
	lex(&p->lx, &p->tok);
}

/* The tokens after the current one, lexed by a copy of the lexer. */
static struct token peek(const struct parser *p)
{
	struct lexer ahead = p->lx;
	struct token t;
	lex(&ahead, &t);
	return t;
}

static struct token peek2(const struct parser *p)
{
	struct lexer ahead = p->lx;
	struct token t;
	lex(&ahead, &t);
	lex(&ahead, &t);
	return t;
}

static bool at_end(const struct parser *p)
{
	return p->tok.type == T_END || p->tok.type == T_SEMI;
}

static bool is(const struct parser *p, enum kw kw)
{
	return p->tok.kw == kw;
}

static bool accept(struct parser *p, enum kw kw)
{
	if (!is(p, kw))
		return false;
	advance(p);
	return true;
}

static bool accept_comma(struct parser *p)
{
	if (p->tok.type != T_COMMA)
		return false;
	advance(p);
	return true;
}

static void skip_rest(struct parser *p)
{
	while (!at_end(p))
		advance(p);
}

/* A stored program's body (CREATE PROCEDURE ... BEGIN ...; ...; END) holds semicolons that do
 * not end the statement: the client sent the whole definition as one statement. */
static void skip_to_text_end(struct parser *p)
{
	while (p->tok.type != T_END)
		advance(p);
}

static bool is_stored_program(enum kw kw)
{
	return kw == KW_PROCEDURE || kw == KW_FUNCTION || kw == KW_TRIGGER || kw == KW_EVENT ||
	       kw == KW_PACKAGE;
}

static void skip_modifiers(struct parser *p)
{
	while (kw_props[p->tok.kw] & P_MODIFIER)
		advance(p);
}

static void skip_if_exists(struct parser *p)
{
	if (accept(p, KW_IF)) {
		accept(p, KW_NOT);
		accept(p, KW_EXISTS);
	}
}

static bool is_name(const struct token *t)
{
	return t->type == T_WORD || t->type == T_QUOTED;
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

static bool copy_token(char *dst, const struct token *t)
{
	return copy_ident(dst, t->s, t->len, t->type == T_QUOTED);
}

/* [db.]name, as written. */
struct qname {
	struct token db, name;
	bool qualified;
};

static bool read_qname(struct parser *p, struct qname *q)
{
	if (!is_name(&p->tok))
		return false;
	q->name = p->tok;
	q->qualified = false;
	advance(p);
	if (p->tok.type == T_DOT) {
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

static void record_table(struct parser *p, const struct qname *q, bool written)
{
	struct cls_result *out = p->out;
	struct cls_table t;
	bool whole = copy_token(t.name, &q->name);
	if (q->qualified)
		whole &= copy_token(t.db, &q->db);
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

static bool take_table(struct parser *p, bool written)
{
	struct qname q;
	if (!read_qname(p, &q))
		return false;
	record_table(p, &q, written);
	return true;
}

static void take_table_list(struct parser *p, bool written)
{
	do {
		if (!take_table(p, written))
			return;
	} while (accept_comma(p));
}

/* ---- scanning the body of a statement ---------------------------------------------------- */

static const char *const session_sys_vars[] = {
    "last_insert_id", "identity", "last_gtid", "warning_count", "error_count",
};

struct sys_var {
	const char *name;
	size_t len;
	bool global;
};

/* @@[global. | session. | local. | persist. | persist_only.]name */
static struct sys_var sys_var_of(const struct token *t)
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
		if (v.len > n && same_ci(v.name, n, scopes[i].prefix)) {
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
	struct sys_var v = sys_var_of(&p->tok);
	for (size_t i = 0; i < sizeof(session_sys_vars) / sizeof(session_sys_vars[0]); i++)
		if (same_ci(v.name, v.len, session_sys_vars[i]))
			p->flags |= CLS_SESSION_BOUND;
	advance(p);
}

static void note_user_var(struct parser *p)
{
	p->flags |= peek(p).type == T_ASSIGN ? CLS_USER_VAR_ASSIGN : CLS_USER_VAR_READ;
	advance(p);
}

static bool starts_query(const struct token *t)
{
	return t->kw == KW_SELECT || t->kw == KW_WITH || t->kw == KW_VALUES || t->kw == KW_TABLE;
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

/* A table reference in a FROM, JOIN or UPDATE list. Its alias, if any, is a word scan()
 * passes over. */
static void take_factor(struct parser *p)
{
	p->expect_table = is(p, KW_LATERAL); /* LATERAL (SELECT ...) */
	if (p->expect_table || is(p, KW_DUAL) || peek(p).type == T_LPAREN) {
		advance(p); /* JSON_TABLE(...) and the like are no tables */
		return;
	}
	take_table(p, top(p)->clause == CL_TARGETS);
}

static void take_cte(struct parser *p)
{
	p->expect_cte = false;
	if (p->n_ctes < MAX_CTES)
		copy_token(p->ctes[p->n_ctes++], &p->tok);
	advance(p);
}

/* WITH [RECURSIVE] name [(columns)] AS: not WITH ROLLUP, WITH CHECK OPTION... */
static bool starts_cte(const struct parser *p)
{
	struct token next = peek(p);
	if (next.kw == KW_RECURSIVE)
		return true;
	if (!is_name(&next))
		return false;
	struct token after = peek2(p);
	return after.kw == KW_AS || after.type == T_LPAREN;
}

/* INTO OUTFILE / DUMPFILE / @a, @b (assigned, not read). INSERT's INTO never gets here. */
static void note_into(struct parser *p)
{
	p->flags |= CLS_SELECT_INTO;
	top(p)->clause = CL_EXPR;
	advance(p);
	while (p->tok.type == T_USER_VAR) {
		p->flags |= CLS_USER_VAR_ASSIGN;
		advance(p);
		if (!accept_comma(p))
			break;
	}
}

static void note_for(struct parser *p)
{
	enum kw next = peek(p).kw;
	if (next == KW_UPDATE || next == KW_SHARE) {
		p->flags |= CLS_LOCKING;
		top(p)->clause = CL_EXPR;
	}
	advance(p);
	/* an index hint's FOR JOIN / ORDER BY / GROUP BY neither joins nor ends the list */
	if (next == KW_JOIN || next == KW_ORDER || next == KW_GROUP)
		advance(p);
}

static void note_keyword(struct parser *p)
{
	struct frame *f = top(p);
	switch (p->tok.kw) {
	case KW_SELECT:
		f->select = true;
		f->clause = CL_EXPR;
		break;
	case KW_FROM:
		if (f->select) {
			f->clause = f->from_writes ? CL_TARGETS : CL_TABLES;
			p->expect_table = true;
		}
		break;
	case KW_JOIN:
	case KW_STRAIGHT_JOIN: /* also a SELECT modifier, where no list is open */
		p->expect_table = f->clause == CL_TABLES || f->clause == CL_TARGETS;
		break;
	case KW_USING: /* DELETE FROM t USING t JOIN u; not JOIN ... USING (column) */
		if (f->select && peek(p).type != T_LPAREN) {
			f->clause = CL_TABLES;
			p->expect_table = true;
		}
		break;
	case KW_LOCK:
		if (peek(p).kw == KW_IN) {
			p->flags |= CLS_LOCKING;
			f->clause = CL_EXPR;
		}
		break;
	case KW_NEXT:
	case KW_PREVIOUS:
		if (peek(p).kw == KW_VALUE && peek2(p).kw == KW_FOR)
			p->flags |= CLS_SESSION_BOUND;
		break;
	case KW_SQL_CALC_FOUND_ROWS: /* the FOUND_ROWS() after it must ask the same connection */
		p->flags |= CLS_SESSION_BOUND;
		break;
	default:
		if (kw_props[p->tok.kw] & P_CLAUSE)
			f->clause = CL_EXPR;
		else if ((kw_props[p->tok.kw] & P_SESSION_FN) && p->prev != T_DOT &&
		         peek(p).type == T_LPAREN)
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
	else if (is(p, KW_INTO))
		note_into(p);
	else if (is(p, KW_FOR))
		note_for(p);
	else if (is(p, KW_WITH) && starts_cte(p)) {
		top(p)->clause = CL_WITH;
		p->expect_cte = true;
		advance(p);
		accept(p, KW_RECURSIVE);
	} else
		note_keyword(p);
}

enum stop {
	STOP_AT_END,   /* the end of the statement */
	STOP_AT_COMMA, /* also a comma outside parentheses: SET's next variable */
	STOP_AT_MAIN,  /* also the statement after WITH's CTEs */
};

static bool stops_here(const struct parser *p, enum stop stop)
{
	if (p->depth > 0)
		return false;
	switch (stop) {
	case STOP_AT_COMMA: return p->tok.type == T_COMMA;
	case STOP_AT_MAIN:
		return p->frames[0].clause == CL_WITH &&
		       (is(p, KW_SELECT) || is(p, KW_INSERT) || is(p, KW_UPDATE) ||
		        is(p, KW_DELETE) || is(p, KW_REPLACE));
	case STOP_AT_END: break;
	}
	return false;
}

/* Reads the body of a statement for its tables and facts. */
static void scan(struct parser *p, enum stop stop)
{
	while (!at_end(p) && !stops_here(p, stop)) {
		switch (p->tok.type) {
		case T_LPAREN: open_paren(p); break;
		case T_RPAREN: close_paren(p); break;
		case T_COMMA: note_comma(p); break;
		case T_USER_VAR: note_user_var(p); break;
		case T_SYS_VAR: note_sys_var(p); break;
		case T_WORD:
		case T_QUOTED: note_word(p); break;
		default:
			p->expect_table = false;
			p->expect_cte = false;
			advance(p);
			break;
		}
	}
}

/* ---- statements -------------------------------------------------------------------------- */

static enum cls_kind classify_statement(struct parser *p);

/* SELECT, VALUES, (SELECT ...): scan() itself opens the query. */
static enum cls_kind classify_query(struct parser *p)
{
	scan(p, STOP_AT_END);
	return CLS_KIND_SELECT;
}

/* Statements whose rest holds expressions only: CALL, DO, PREPARE, EXECUTE. */
static enum cls_kind classify_scanned(struct parser *p, enum cls_kind kind)
{
	advance(p);
	scan(p, STOP_AT_END);
	return kind;
}

/* Statements whose rest does not matter to routing. */
static enum cls_kind classify_verb(struct parser *p, enum cls_kind kind)
{
	skip_rest(p);
	return kind;
}

static enum cls_kind classify_with(struct parser *p)
{
	p->frames[0].clause = CL_WITH;
	p->expect_cte = true;
	advance(p);
	accept(p, KW_RECURSIVE);
	scan(p, STOP_AT_MAIN);
	if (at_end(p))
		return CLS_KIND_SELECT;
	p->frames[0] = (struct frame){CL_EXPR, false, false};
	return classify_statement(p); /* the CTE names stay known */
}

static enum cls_kind classify_insert(struct parser *p, enum cls_kind kind)
{
	advance(p);
	skip_modifiers(p);
	accept(p, KW_INTO);
	take_table(p, true);
	scan(p, STOP_AT_END);
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
	scan(p, STOP_AT_END);
	return CLS_KIND_UPDATE;
}

/* DELETE FROM t, DELETE FROM t USING t JOIN u, DELETE t FROM t JOIN u. The targets listed
 * before FROM are names or aliases of tables listed after it, all of which are taken as written
 * for the same reason as UPDATE's. */
static enum cls_kind classify_delete(struct parser *p)
{
	advance(p);
	skip_modifiers(p);
	while (!at_end(p) && !is(p, KW_FROM))
		advance(p);
	p->frames[0] = (struct frame){CL_EXPR, true, true};
	scan(p, STOP_AT_END);
	return CLS_KIND_DELETE;
}

/* ALTER TABLE t ... RENAME [TO | AS] t2, EXCHANGE PARTITION p WITH TABLE t2: more targets. */
static void alter_table_rest(struct parser *p)
{
	while (!at_end(p)) {
		if (accept(p, KW_RENAME)) {
			if (is(p, KW_COLUMN) || is(p, KW_INDEX) || is(p, KW_KEY))
				continue;
			if (!accept(p, KW_TO))
				accept(p, KW_AS);
			take_table(p, true);
		} else if (accept(p, KW_TABLE)) {
			take_table(p, true);
		} else {
			advance(p);
		}
	}
}

/* At TABLE, VIEW or SEQUENCE after CREATE, ALTER or DROP. */
static void ddl_table(struct parser *p, enum kw verb, bool temporary)
{
	bool table = is(p, KW_TABLE);
	advance(p);
	skip_if_exists(p);
	if (verb == KW_DROP) {
		if (temporary)
			p->flags |= CLS_DROP_TEMP;
		take_table_list(p, true);
		skip_rest(p);
		return;
	}
	if (temporary)
		p->flags |= CLS_CREATE_TEMP;
	take_table(p, true);
	if (verb == KW_ALTER && table) {
		alter_table_rest(p);
		return;
	}
	/* CREATE TABLE t LIKE u, CREATE TABLE t (LIKE u); the rest may be AS SELECT ... */
	if (p->tok.type == T_LPAREN && peek(p).kw == KW_LIKE)
		advance(p);
	if (accept(p, KW_LIKE))
		take_table(p, false);
	scan(p, STOP_AT_END);
}

/* CREATE / ALTER / DROP: the object's keyword follows modifiers such as OR REPLACE, TEMPORARY,
 * DEFINER = ..., ONLINE; only tables, views, sequences and indexes name tables. */
static enum cls_kind classify_ddl(struct parser *p)
{
	enum kw verb = p->tok.kw;
	bool temporary = false;
	advance(p);
	if (verb == KW_DROP && is(p, KW_PREPARE))
		return classify_verb(p, CLS_KIND_DEALLOCATE);
	for (; !at_end(p); advance(p)) {
		switch (p->tok.kw) {
		case KW_TEMPORARY: temporary = true; break;
		case KW_TABLE:
		case KW_VIEW:
		case KW_SEQUENCE:
			ddl_table(p, verb, temporary && is(p, KW_TABLE));
			return CLS_KIND_DDL;
		case KW_INDEX: /* CREATE INDEX i ON t, DROP INDEX i ON t */
			while (!at_end(p) && !is(p, KW_ON))
				advance(p);
			if (accept(p, KW_ON))
				take_table(p, true);
			return classify_verb(p, CLS_KIND_DDL);
		default:
			if (verb != KW_DROP && is_stored_program(p->tok.kw)) {
				skip_to_text_end(p);
				return CLS_KIND_DDL;
			}
			if (kw_props[p->tok.kw] & P_OBJECT)
				return classify_verb(p, CLS_KIND_DDL);
			break;
		}
	}
	return CLS_KIND_DDL;
}

static enum cls_kind classify_truncate(struct parser *p)
{
	advance(p);
	accept(p, KW_TABLE);
	take_table(p, true);
	return classify_verb(p, CLS_KIND_DDL);
}

/* RENAME TABLE a TO b, c TO d; RENAME USER has no tables. */
static enum cls_kind classify_rename(struct parser *p)
{
	advance(p);
	if (accept(p, KW_TABLE) || accept(p, KW_TABLES)) {
		skip_if_exists(p);
		do {
			take_table(p, true);
			if (accept(p, KW_TO))
				take_table(p, true);
		} while (accept_comma(p));
	}
	return classify_verb(p, CLS_KIND_DDL);
}

/* The value of SET autocommit: 1, ON and TRUE turn it on; anything else may turn it off. */
static void note_autocommit(struct parser *p)
{
	const struct token *t = &p->tok;
	const char *s = t->s;
	size_t n = t->len;
	if (t->type == T_STRING) {
		s++;
		n -= 2;
	}
	bool on = same_ci(s, n, "1") || same_ci(s, n, "on") || same_ci(s, n, "true");
	p->flags |= on ? CLS_AUTOCOMMIT_ON : CLS_AUTOCOMMIT_OFF;
}

/* One assignment of SET. A scope keyword holds for the assignments after it, as in MariaDB;
 * @@global.x sets only its own scope. */
static void set_one(struct parser *p, bool *global)
{
	if (is(p, KW_GLOBAL) || is(p, KW_PERSIST) || is(p, KW_PERSIST_ONLY)) {
		*global = true;
		advance(p);
	} else if (is(p, KW_SESSION) || is(p, KW_LOCAL)) {
		*global = false;
		advance(p);
	}
	bool write = *global;
	bool autocommit = false;
	if (p->tok.type == T_SYS_VAR) {
		struct sys_var v = sys_var_of(&p->tok);
		write = v.global;
		autocommit = same_ci(v.name, v.len, "autocommit");
	} else if (p->tok.type == T_USER_VAR) {
		write = false;
	} else if (is(p, KW_TRANSACTION)) {
		p->flags |= write ? CLS_WRITE : CLS_SESSION_STATE;
		skip_rest(p); /* its characteristics are comma-separated too */
		return;
	} else {
		autocommit = p->tok.type == T_WORD && same_ci(p->tok.s, p->tok.len, "autocommit");
	}
	p->flags |= write ? CLS_WRITE : CLS_SESSION_STATE;
	advance(p);
	if ((p->tok.type == T_OTHER && *p->tok.s == '=') || p->tok.type == T_ASSIGN)
		advance(p);
	if (autocommit && !write && !at_end(p))
		note_autocommit(p);
	scan(p, STOP_AT_COMMA);
}

/* SET STATEMENT var = value [, ...] FOR statement: the variables last for that statement. */
static enum cls_kind classify_set_statement(struct parser *p)
{
	while (!at_end(p) && !is(p, KW_FOR))
		advance(p);
	if (!accept(p, KW_FOR))
		return CLS_KIND_SET;
	return classify_statement(p);
}

static enum cls_kind classify_set(struct parser *p)
{
	advance(p);
	if (accept(p, KW_STATEMENT))
		return classify_set_statement(p);
	if (is(p, KW_PASSWORD) || is(p, KW_DEFAULT)) { /* SET PASSWORD, SET DEFAULT ROLE */
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
		if (!copy_token(p->out->use_db, &p->tok))
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
	if (is(p, KW_NOT)) {
		skip_to_text_end(p);
		return CLS_KIND_OTHER;
	}
	return classify_verb(p, CLS_KIND_BEGIN);
}

/* START TRANSACTION [READ ONLY | READ WRITE | WITH CONSISTENT SNAPSHOT] [, ...] */
static enum cls_kind classify_start(struct parser *p)
{
	advance(p);
	if (!accept(p, KW_TRANSACTION))
		return classify_verb(p, CLS_KIND_OTHER);
	while (!at_end(p)) {
		if (accept(p, KW_READ) && is(p, KW_ONLY))
			p->flags |= CLS_TXN_READ_ONLY;
		else
			advance(p);
	}
	return CLS_KIND_BEGIN;
}

static enum cls_kind classify_rollback(struct parser *p)
{
	advance(p);
	accept(p, KW_WORK);
	return classify_verb(p, is(p, KW_TO) ? CLS_KIND_SAVEPOINT : CLS_KIND_ROLLBACK);
}

static enum cls_kind classify_release(struct parser *p)
{
	advance(p);
	return classify_verb(p, is(p, KW_SAVEPOINT) ? CLS_KIND_SAVEPOINT : CLS_KIND_OTHER);
}

/* LOCK TABLES t [AS a] READ [LOCAL], u [LOW_PRIORITY] WRITE: the WRITE ones are written. */
static enum cls_kind classify_lock(struct parser *p)
{
	advance(p);
	if (!accept(p, KW_TABLE) && !accept(p, KW_TABLES))
		return classify_verb(p, CLS_KIND_OTHER);
	struct qname q;
	do {
		if (!read_qname(p, &q))
			break;
		bool written = false;
		for (; !at_end(p) && p->tok.type != T_COMMA; advance(p))
			written |= is(p, KW_WRITE);
		record_table(p, &q, written);
	} while (accept_comma(p));
	return classify_verb(p, CLS_KIND_LOCK_TABLES);
}

static enum cls_kind classify_unlock(struct parser *p)
{
	advance(p);
	bool tables = is(p, KW_TABLE) || is(p, KW_TABLES);
	return classify_verb(p, tables ? CLS_KIND_UNLOCK_TABLES : CLS_KIND_OTHER);
}

/* HANDLER t OPEN names a table; HANDLER x READ ... may name an alias. */
static enum cls_kind classify_handler(struct parser *p)
{
	advance(p);
	struct qname q;
	if (read_qname(p, &q) && is(p, KW_OPEN))
		record_table(p, &q, false);
	return classify_verb(p, CLS_KIND_HANDLER);
}

/* LOAD DATA | XML ... INTO TABLE t ... */
static enum cls_kind classify_load(struct parser *p)
{
	while (!at_end(p) && !is(p, KW_INTO))
		advance(p);
	if (accept(p, KW_INTO) && accept(p, KW_TABLE))
		take_table(p, true);
	scan(p, STOP_AT_END);
	return CLS_KIND_LOAD;
}

/* SHOW WARNINGS / ERRORS / COUNT(*) WARNINGS / PROFILE(S) describe the connection's last
 * statement. No tables: SHOW COLUMNS FROM t is not a read of t's rows. */
static enum cls_kind classify_show(struct parser *p)
{
	advance(p);
	if (accept(p, KW_COUNT))
		for (int i = 0; i < 3 && !at_end(p); i++) /* (*) */
			advance(p);
	if (is(p, KW_WARNINGS) || is(p, KW_ERRORS) || is(p, KW_PROFILE) || is(p, KW_PROFILES))
		p->flags |= CLS_SESSION_BOUND;
	return classify_verb(p, CLS_KIND_SHOW);
}

/* EXTENDED, PARTITIONS, FORMAT = name */
static void skip_explain_options(struct parser *p)
{
	for (;;) {
		if (accept(p, KW_FORMAT)) {
			if (p->tok.type == T_OTHER && *p->tok.s == '=')
				advance(p);
			advance(p);
		} else if (!accept(p, KW_EXTENDED) && !accept(p, KW_PARTITIONS)) {
			return;
		}
	}
}

static bool starts_statement(const struct parser *p)
{
	return starts_query(&p->tok) || is(p, KW_INSERT) || is(p, KW_UPDATE) || is(p, KW_DELETE) ||
	       is(p, KW_REPLACE) || p->tok.type == T_LPAREN;
}

/* The statement after EXPLAIN (not run: a plain read of its tables) or after ANALYZE /
 * EXPLAIN ANALYZE (run: its own facts). */
static enum cls_kind classify_explained(struct parser *p, bool runs)
{
	bool was = p->reading_only;
	p->reading_only = was || !runs;
	classify_statement(p);
	p->reading_only = was;
	if (!runs)
		p->flags = 0;
	return CLS_KIND_EXPLAIN;
}

/* ANALYZE / OPTIMIZE / REPAIR / CHECK [NO_WRITE_TO_BINLOG | LOCAL] TABLE t [, ...] */
static enum cls_kind admin_tables(struct parser *p, bool written)
{
	skip_modifiers(p);
	if (accept(p, KW_TABLE) || accept(p, KW_TABLES))
		take_table_list(p, written);
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
	if (starts_statement(p) && !is(p, KW_TABLE))
		return classify_explained(p, true);
	return admin_tables(p, true);
}

/* EXPLAIN / DESCRIBE / DESC: a statement, or a table [column], or FOR CONNECTION n. */
static enum cls_kind classify_explain(struct parser *p)
{
	advance(p);
	skip_explain_options(p);
	bool runs = accept(p, KW_ANALYZE);
	skip_explain_options(p);
	if (starts_statement(p))
		return classify_explained(p, runs);
	if (!is(p, KW_FOR))
		take_table(p, false);
	return classify_verb(p, CLS_KIND_EXPLAIN);
}

static enum cls_kind dispatch(struct parser *p)
{
	switch (p->tok.kw) {
	case KW_SELECT:
	case KW_VALUES: return classify_query(p);
	case KW_TABLE:
		advance(p);
		take_table(p, false);
		return classify_verb(p, CLS_KIND_SELECT);
	case KW_WITH: return classify_with(p);
	case KW_INSERT: return classify_insert(p, CLS_KIND_INSERT);
	case KW_REPLACE: return classify_insert(p, CLS_KIND_REPLACE);
	case KW_UPDATE: return classify_update(p);
	case KW_DELETE: return classify_delete(p);
	case KW_CREATE:
	case KW_ALTER:
	case KW_DROP: return classify_ddl(p);
	case KW_TRUNCATE: return classify_truncate(p);
	case KW_RENAME: return classify_rename(p);
	case KW_SET: return classify_set(p);
	case KW_USE: return classify_use(p);
	case KW_BEGIN: return classify_begin(p);
	case KW_START: return classify_start(p);
	case KW_COMMIT: return classify_verb(p, CLS_KIND_COMMIT);
	case KW_ROLLBACK: return classify_rollback(p);
	case KW_SAVEPOINT: return classify_verb(p, CLS_KIND_SAVEPOINT);
	case KW_RELEASE: return classify_release(p);
	case KW_LOCK: return classify_lock(p);
	case KW_UNLOCK: return classify_unlock(p);
	case KW_CALL: return classify_scanned(p, CLS_KIND_CALL);
	case KW_SHOW: return classify_show(p);
	case KW_DO: return classify_scanned(p, CLS_KIND_DO);
	case KW_HANDLER: return classify_handler(p);
	case KW_XA: return classify_verb(p, CLS_KIND_XA);
	case KW_LOAD: return classify_load(p);
	case KW_EXPLAIN:
	case KW_DESCRIBE:
	case KW_DESC: return classify_explain(p);
	case KW_PREPARE: return classify_scanned(p, CLS_KIND_PREPARE);
	case KW_EXECUTE: return classify_scanned(p, CLS_KIND_EXECUTE);
	case KW_DEALLOCATE: return classify_verb(p, CLS_KIND_DEALLOCATE);
	case KW_FLUSH: return classify_verb(p, CLS_KIND_FLUSH);
	case KW_KILL: return classify_verb(p, CLS_KIND_KILL);
	case KW_GRANT:
	case KW_REVOKE: return classify_verb(p, CLS_KIND_ACCOUNT);
	case KW_ANALYZE: return classify_analyze(p);
	case KW_OPTIMIZE:
	case KW_REPAIR: return classify_admin(p, true);
	case KW_CHECK:
	case KW_CHECKSUM: return classify_admin(p, false);
	default: break;
	}
	if (p->tok.type == T_LPAREN)
		return classify_query(p);
	return classify_verb(p, p->tok.type == T_WORD ? CLS_KIND_OTHER : CLS_KIND_UNKNOWN);
}

#define KIND_FLAGS(id, name, flags, plain) flags,
static const uint32_t kind_flags[CLS_KIND_COUNT] = {CLS_KIND_LIST(KIND_FLAGS)};
#undef KIND_FLAGS
#define KIND_PLAIN(id, name, flags, plain) plain,
static const bool kind_plain[CLS_KIND_COUNT] = {CLS_KIND_LIST(KIND_PLAIN)};
#undef KIND_PLAIN

/* Classifies the statement at the current token, which it reads to its end. */
static enum cls_kind classify_statement(struct parser *p)
{
	if (p->nesting == MAX_NESTING)
		return classify_verb(p, CLS_KIND_UNKNOWN);
	p->nesting++;
	enum cls_kind kind = dispatch(p);
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
	pthread_once(&tables_once, tables_build);
	out->kind = CLS_KIND_UNKNOWN;
	out->flags = 0;
	out->use_db[0] = '\0';
	out->n_tables = 0;

	struct parser p;
	p.lx = (struct lexer){.p = sql, .end = sql + len};
	p.tok = (struct token){T_END, KW_NONE, sql, 0};
	p.out = out;
	p.default_db = default_db ? default_db : "";
	bool plain = true;
	size_t statements = 0;
	advance(&p);
	while (p.tok.type != T_END) {
		if (p.tok.type == T_SEMI) { /* an empty statement, or the end of one */
			advance(&p);
			continue;
		}
		start_statement(&p);
		enum cls_kind kind = classify_statement(&p);
		if (statements++ == 0)
			out->kind = kind;
		else
			out->flags |= CLS_MULTI;
		out->flags |= p.flags;
		plain = plain && kind_plain[kind];
	}
	out->flags |= p.lx.hints;
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
