/*
 * cacheable.c - which reads the result cache may answer, and under which text (see cacheable.h).
 *
 * It owns three things: the verdict on one classified statement (the classifier's facts, its
 * tables, then a pass over its tokens for variables, SQL_NO_CACHE and function calls), the cache
 * key's spelling of a statement, and the [cache] tables list. What a statement is and which
 * tables it reads is classify.c's business; storing and invalidating answers, the cache's.
 *
 * A wrong "cacheable" serves one session's answer, or a stale clock, to another; a wrong "not
 * cacheable" only costs a trip to the server. So every doubt falls on the side of no: a function
 * call must be on a list of built-ins known to depend on nothing but their arguments and the
 * tables, and a name that is not (a stored function, a UDF, a built-in we forgot) refuses the
 * statement. Likewise the key may keep two spellings of one statement apart, but must never
 * join two statements: it only drops what the server ignores (comments, extra whitespace) and
 * finds comments and quotes exactly as sqllex.c does.
 *
 * Pure: no I/O, no allocation, reads at most len bytes of the text, keeps nothing between calls.
 */
#include "cacheable.h"

#include "sqllex.h"

#include <stdio.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- function names ---------------------------------------------------------------------- */

/*
 * Built-ins whose answer hangs on the clock, the connection, the server's state or chance.
 * X(name, bare): bare ones are keywords that call themselves without parentheses.
 */
#define VOLATILE_LIST(X)                                                                           \
	X(NOW, false)                                                                              \
	X(SYSDATE, false)                                                                          \
	X(CURDATE, false)                                                                          \
	X(CURTIME, false)                                                                          \
	X(CURRENT_DATE, true)                                                                      \
	X(CURRENT_TIME, true)                                                                      \
	X(CURRENT_TIMESTAMP, true)                                                                 \
	X(LOCALTIME, true)                                                                         \
	X(LOCALTIMESTAMP, true)                                                                    \
	X(UTC_DATE, true)                                                                          \
	X(UTC_TIME, true)                                                                          \
	X(UTC_TIMESTAMP, true)                                                                     \
	X(UNIX_TIMESTAMP, false) /* without arguments it reads the clock */                        \
	X(RAND, false)                                                                             \
	X(RANDOM_BYTES, false)                                                                     \
	X(UUID, false)                                                                             \
	X(UUID_SHORT, false)                                                                       \
	X(SYS_GUID, false)                                                                         \
	X(CURRENT_USER, true)                                                                      \
	X(CURRENT_ROLE, true)                                                                      \
	X(USER, false) /* a bare USER is a column */                                               \
	X(SESSION_USER, false)                                                                     \
	X(SYSTEM_USER, false)                                                                      \
	X(CONNECTION_ID, false)                                                                    \
	X(DATABASE, false)                                                                         \
	X(SCHEMA, false)                                                                           \
	X(LAST_INSERT_ID, false)                                                                   \
	X(FOUND_ROWS, false)                                                                       \
	X(ROW_COUNT, false)                                                                        \
	X(SLEEP, false)                                                                            \
	X(BENCHMARK, false)                                                                        \
	X(GET_LOCK, false)                                                                         \
	X(RELEASE_LOCK, false)                                                                     \
	X(RELEASE_ALL_LOCKS, false)                                                                \
	X(IS_FREE_LOCK, false)                                                                     \
	X(IS_USED_LOCK, false)                                                                     \
	X(MASTER_POS_WAIT, false)                                                                  \
	X(MASTER_GTID_WAIT, false)                                                                 \
	X(SOURCE_POS_WAIT, false)                                                                  \
	X(LOAD_FILE, false)                                                                        \
	X(NEXTVAL, false)                                                                          \
	X(LASTVAL, false)                                                                          \
	X(SETVAL, false)

struct volatile_fn {
	const char *name;
	bool bare;
	const char *why_call, *why_bare;
};

#define VOLATILE_ENTRY(name, bare) {#name, bare, "calls " #name "()", "uses " #name},
static const struct volatile_fn volatile_fns[] = {VOLATILE_LIST(VOLATILE_ENTRY)};
#undef VOLATILE_ENTRY

/* Built-ins that depend only on their arguments (and the rows they aggregate). Session
 * settings some of them read (time_zone, lc_time_names, default_week_format) are the key's
 * business, as they are for plain columns. Every JSON_ and ST_ function is one too. */
static const char *const deterministic_fns[] = {
    /* aggregates and window functions */
    "any_value", "avg", "bit_and", "bit_or", "bit_xor", "count", "group_concat", "max", "median",
    "min", "percentile_cont", "percentile_disc", "std", "stddev", "stddev_pop", "stddev_samp",
    "sum", "var_pop", "var_samp", "variance", "row_number", "rank", "dense_rank", "percent_rank",
    "cume_dist", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
    /* control flow and casts */
    "if", "ifnull", "nullif", "coalesce", "nvl", "nvl2", "isnull", "greatest", "least", "interval",
    "cast", "convert", "row", "decode", "decode_oracle",
    /* strings */
    "ascii", "bin", "bit_length", "char", "char_length", "character_length", "chr", "concat",
    "concat_ws", "elt", "export_set", "field", "find_in_set", "format", "from_base64", "hex",
    "insert", "instr", "lcase", "left", "length", "lengthb", "locate", "lower", "lpad", "ltrim",
    "make_set", "match", "mid", "natural_sort_key", "oct", "octet_length", "ord", "position",
    "quote", "regexp_instr", "regexp_replace", "regexp_substr", "repeat", "replace", "reverse",
    "right", "rpad", "rtrim", "sformat", "soundex", "space", "strcmp", "substr", "substring",
    "substring_index", "to_base64", "to_char", "trim", "trim_oracle", "ucase", "unhex", "upper",
    "weight_string", "crc32", "crc32c", "md5", "sha", "sha1", "sha2", "compress", "uncompress",
    "uncompressed_length", "inet_aton", "inet_ntoa", "inet6_aton", "inet6_ntoa", "is_ipv4",
    "is_ipv4_compat", "is_ipv4_mapped", "is_ipv6", "column_check", "column_create", "column_exists",
    "column_get", "column_json", "column_list",
    /* numbers */
    "abs", "acos", "asin", "atan", "atan2", "bit_count", "ceil", "ceiling", "conv", "cos", "cot",
    "degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians",
    "round", "sign", "sin", "sqrt", "tan", "truncate",
    /* dates, without the clock */
    "add_months", "adddate", "addtime", "convert_tz", "date", "date_add", "date_format", "date_sub",
    "datediff", "day", "dayname", "dayofmonth", "dayofweek", "dayofyear", "extract", "from_days",
    "from_unixtime", "get_format", "hour", "last_day", "makedate", "maketime", "microsecond",
    "minute", "month", "monthname", "period_add", "period_diff", "quarter", "sec_to_time", "second",
    "str_to_date", "subdate", "subtime", "time", "time_format", "time_to_sec", "timediff",
    "timestamp", "timestampadd", "timestampdiff", "to_days", "to_seconds", "week", "weekday",
    "weekofyear", "year", "yearweek",
    /* geometry constructors (the ST_ functions go by prefix) */
    "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
    "geometrycollection",
    /* changes only when the server is upgraded */
    "version"};

static const char *const deterministic_prefixes[] = {"json_", "st_", "mbr"};

/*
 * Words a '(' may follow without a call: operators, clauses and constructs that take a
 * parenthesised list or subquery, and the type names of CAST, CONVERT and JSON_TABLE.
 */
static const char *const not_calls[] = {
    "against", "all", "and", "any", "as", "between", "binary", "by", "case", "columns", "distinct",
    "distinctrow", "div", "else", "escape", "except", "exists", "for", "from", "group", "having",
    "in", "index", "intersect", "into", "is", "join", "key", "lateral", "like", "limit", "minus",
    "not", "of", "offset", "on", "or", "over", "partition", "recursive", "regexp", "rlike",
    "select", "some", "straight_join", "table", "then", "union", "using", "value", "values", "when",
    "where", "with", "within", "xor",
    /* types */
    "bigint", "bit", "datetime", "dec", "decimal", "double", "fixed", "float", "int", "integer",
    "mediumint", "nchar", "numeric", "nvarchar", "real", "smallint", "tinyint", "varbinary",
    "varchar"};

static bool in_list(const struct sql_token *t, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sqllex_same_ci(t->s, t->len, list[i]))
			return true;
	return false;
}

static bool is_deterministic(const struct sql_token *t)
{
	for (size_t i = 0; i < N_OF(deterministic_prefixes); i++) {
		size_t n = strlen(deterministic_prefixes[i]);
		if (t->len > n && sqllex_same_ci(t->s, n, deterministic_prefixes[i]))
			return true;
	}
	return in_list(t, deterministic_fns, N_OF(deterministic_fns));
}

static const struct volatile_fn *find_volatile(const struct sql_token *t)
{
	for (size_t i = 0; i < N_OF(volatile_fns); i++)
		if (sqllex_same_ci(t->s, t->len, volatile_fns[i].name))
			return &volatile_fns[i];
	return NULL;
}

/* ---- the tokens of a statement ----------------------------------------------------------- */

static bool is_name(const struct sql_token *t)
{
	return t->type == SQL_TOK_WORD || t->type == SQL_TOK_QUOTED;
}

/* The token after the one just lexed, without moving lx. */
static struct sql_token peek(const struct sqllex *lx)
{
	struct sqllex ahead = *lx;
	struct sql_token t;
	sqllex_next(&ahead, &t);
	return t;
}

/* At a name whose next token is '(': is it `cte (a, b) AS (`, a CTE's column list? Reads only
 * names and commas, so the scans of all the names in a text add up to one pass. */
static bool at_cte_columns(const struct sqllex *at)
{
	struct sqllex lx = *at;
	struct sql_token t;
	sqllex_next(&lx, &t); /* the '(' */
	do {
		sqllex_next(&lx, &t);
		if (!is_name(&t))
			return false;
		sqllex_next(&lx, &t);
	} while (t.type == SQL_TOK_COMMA);
	if (t.type != SQL_TOK_RPAREN)
		return false;
	sqllex_next(&lx, &t);
	if (t.kw != SQL_KW_AS)
		return false;
	sqllex_next(&lx, &t);
	return t.type == SQL_TOK_LPAREN;
}

/* NEXT VALUE FOR s, PREVIOUS VALUE FOR s: a sequence, which moves with every call. */
static bool at_sequence(const struct sqllex *at, const struct sql_token *t)
{
	if (t->kw != SQL_KW_NEXT && t->kw != SQL_KW_PREVIOUS)
		return false;
	struct sqllex lx = *at;
	struct sql_token v, f;
	sqllex_next(&lx, &v);
	sqllex_next(&lx, &f);
	return v.kw == SQL_KW_VALUE && f.kw == SQL_KW_FOR;
}

/* A word: a keyword or name, maybe a call. lx has lexed it; prev is the token before it. */
static const char *word_why(const struct sqllex *lx, const struct sql_token *prev,
                            const struct sql_token *t)
{
	if (sqllex_same_ci(t->s, t->len, "sql_no_cache"))
		return "SQL_NO_CACHE";
	if (at_sequence(lx, t))
		return t->kw == SQL_KW_NEXT ? "uses NEXT VALUE FOR" : "uses PREVIOUS VALUE FOR";
	bool call = peek(lx).type == SQL_TOK_LPAREN;
	const struct volatile_fn *v = find_volatile(t);
	if (v && call)
		return v->why_call;
	if (v && v->bare)
		return v->why_bare;
	if (!call)
		return NULL;
	if (prev->type == SQL_TOK_DOT) /* db.f(): built-ins take no database */
		return "calls a stored function";
	if (is_deterministic(t) || in_list(t, not_calls, N_OF(not_calls)) || at_cte_columns(lx))
		return NULL;
	return "calls a function not known to be deterministic";
}

static const char *token_why(const struct sqllex *lx, const struct sql_token *prev,
                             const struct sql_token *t)
{
	switch (t->type) {
	case SQL_TOK_USER_VAR:
	case SQL_TOK_SYS_VAR: return "reads a variable";
	case SQL_TOK_OTHER: /* the '@' of 'user'@'host' */
		return t->s[0] == '@' ? "reads a variable" : NULL;
	case SQL_TOK_WORD: return word_why(lx, prev, t);
	case SQL_TOK_QUOTED: /* `f`(x) is never a built-in */
		return peek(lx).type == SQL_TOK_LPAREN && !at_cte_columns(lx)
		           ? "calls a stored function"
		           : NULL;
	default: return NULL;
	}
}

/* The first token of sql that keeps its answer from being shared, as a why; NULL if none. */
static const char *lexical_why(const char *sql, size_t len)
{
	struct sqllex lx;
	struct sql_token prev = {SQL_TOK_END, SQL_KW_NONE, sql, 0};
	struct sql_token t;
	sqllex_start(&lx, sql, len);
	for (sqllex_next(&lx, &t); t.type != SQL_TOK_END; sqllex_next(&lx, &t)) {
		const char *why = token_why(&lx, &prev, &t);
		if (why)
			return why;
		prev = t;
	}
	return NULL;
}

/* ---- spans: comments and quotes, found as sqllex.c finds them ---------------------------- */

enum span_kind {
	SPAN_CODE,  /* code outside quotes, copied as it is */
	SPAN_SPACE, /* whitespace or a comment: one space in a key */
	SPAN_KEEP,  /* a string, quoted name, executable comment or optimizer hint: kept as is */
	SPAN_OPEN,  /* a string or comment left open: the rest of the text, kept as is */
};

struct span {
	enum span_kind kind;
	const char *s, *e;
	const char *body, *body_end; /* an ordinary comment's text, for hints; else NULL */
};

static bool is_blank(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_word_char(unsigned char c)
{
	unsigned lower = c | 0x20;
	return (lower >= 'a' && lower <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
	       c >= 0x80;
}

static bool is_quote(char c)
{
	return c == '\'' || c == '"' || c == '`';
}

/* sqllex.c's starts_dash_comment: "--" then a space, a control character or the end. */
static bool starts_dash_comment(const char *p, const char *end)
{
	return end - p >= 2 && p[0] == '-' && p[1] == '-' &&
	       (end - p == 2 || (unsigned char)p[2] <= ' ' || p[2] == 0x7f);
}

static bool starts_block_comment(const char *p, const char *end)
{
	return end - p >= 2 && p[0] == '/' && p[1] == '*';
}

/* Past the closing quote of the string or name opened at open; NULL if it is not closed. As in
 * sqllex.c, a doubled quote stands for itself, and so does the byte after a backslash, except
 * in names. */
static const char *quoted_end(const char *open, const char *end)
{
	char q = *open;
	for (const char *p = open + 1; p < end; p++) {
		if (*p == '\\' && q != '`') {
			if (end - p < 2)
				return NULL;
			p++;
		} else if (*p == q) {
			if (end - p < 2 || p[1] != q)
				return p + 1;
			p++;
		}
	}
	return NULL;
}

/* Where the "star slash" closing a comment whose text starts at body is; NULL if none. */
static const char *comment_close(const char *body, const char *end)
{
	for (const char *q = body; end - q >= 2; q++)
		if (q[0] == '*' && q[1] == '/')
			return q;
	return NULL;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* Past the end of an executable comment whose code starts at p; NULL if it is not closed. Its
 * inside is code: strings and comments in it are skipped, and the first "star slash" between
 * them closes it, even after a nested opener (sqllex.c keeps one in_exec flag, not a depth). */
static const char *exec_end(const char *p, const char *end)
{
	while (p < end) {
		if (end - p >= 2 && p[0] == '*' && p[1] == '/')
			return p + 2;
		if (is_quote(*p)) {
			p = quoted_end(p, end);
		} else if (*p == '#') {
			p = line_end(p, end);
		} else if (starts_dash_comment(p, end)) {
			p = line_end(p, end);
		} else if (starts_block_comment(p, end)) {
			bool bang = end - p >= 3 &&
			            (p[2] == '!' || (p[2] == 'M' && end - p >= 4 && p[3] == '!'));
			if (bang) {
				p += 2; /* the opener is code again: it changes nothing */
			} else {
				const char *q = comment_close(p + 2, end);
				p = q ? q + 2 : NULL;
			}
		} else {
			p++;
		}
		if (!p)
			return NULL;
	}
	return NULL;
}

/* At a slash and a star: a comment, an executable comment or an optimizer hint. */
static void block_span(const char *p, const char *end, struct span *sp)
{
	const char *body = p + 2;
	size_t left = (size_t)(end - body);
	bool bang =
	    (left >= 1 && body[0] == '!') || (left >= 2 && body[0] == 'M' && body[1] == '!');
	const char *e;
	if (bang) {
		e = exec_end(body, end);
	} else {
		const char *q = comment_close(body, end);
		e = q ? q + 2 : NULL;
		if (q && !(left >= 1 && body[0] == '+')) {
			sp->kind = SPAN_SPACE;
			sp->body = body;
			sp->body_end = q;
		}
	}
	if (!e) {
		sp->kind = SPAN_OPEN;
		e = end;
	} else if (sp->kind != SPAN_SPACE) {
		sp->kind = SPAN_KEEP;
	}
	sp->e = e;
}

/* Code up to the next byte that may start whitespace, a quote or a comment. */
static const char *code_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (is_blank(c) || is_quote((char)c) || c == '#' || c == '-' || c == '/')
			break;
	}
	return p;
}

/* The span at *p, moving *p past it; false at the end of the text. */
static bool next_span(const char **pp, const char *end, struct span *sp)
{
	const char *p = *pp;
	if (p >= end)
		return false;
	*sp = (struct span){SPAN_CODE, p, p, NULL, NULL};
	if (is_blank((unsigned char)*p)) {
		sp->kind = SPAN_SPACE;
		for (sp->e = p; sp->e < end && is_blank((unsigned char)*sp->e); sp->e++)
			;
	} else if (is_quote(*p)) {
		sp->e = quoted_end(p, end);
		sp->kind = sp->e ? SPAN_KEEP : SPAN_OPEN;
		if (!sp->e)
			sp->e = end;
	} else if (*p == '#' || starts_dash_comment(p, end)) {
		sp->kind = SPAN_SPACE;
		sp->body = p + (*p == '#' ? 1 : 2);
		sp->body_end = sp->e = line_end(sp->body, end);
	} else if (starts_block_comment(p, end)) {
		block_span(p, end, sp);
	} else {
		sp->e = code_end(p, end);
	}
	*pp = sp->e;
	return true;
}

/* ---- hints ------------------------------------------------------------------------------- */


/* "ttl = N" after sluice:cache: N in 1..CACHE_TTL_MAX, else 0. */
static unsigned read_ttl(const char *s, const char *e)
{
	s = sqllex_skip_blanks(s, e);
	if (!sqllex_take_word(&s, e, "ttl"))
		return 0;
	s = sqllex_skip_blanks(s, e);
	if (s == e || *s != '=')
		return 0;
	s = sqllex_skip_blanks(s + 1, e);
	unsigned ttl = 0;
	const char *digits = s;
	for (; s < e && *s >= '0' && *s <= '9'; s++)
		if (ttl <= CACHE_TTL_MAX) /* stop counting past the limit: no overflow */
			ttl = ttl * 10 + (unsigned)(*s - '0');
	if (s == digits || (s < e && is_word_char((unsigned char)*s)) || ttl > CACHE_TTL_MAX)
		return 0;
	return ttl;
}

/* A comment's text [s, e) that says sluice:cache [ttl=N] or sluice:nocache, in any case. */
static void note_hint(const char *s, const char *e, struct cache_verdict *v)
{
	s = sqllex_hint_body(s, e);
	if (!s)
		return;
	if (sqllex_take_word(&s, e, "nocache")) {
		v->hint = CACHE_HINT_NOCACHE;
	} else if (sqllex_take_word(&s, e, "cache")) {
		if (v->hint == CACHE_HINT_NONE)
			v->hint = CACHE_HINT_CACHE;
		if (v->ttl_s == 0)
			v->ttl_s = read_ttl(s, e);
	}
}

static void read_hints(const char *sql, size_t len, struct cache_verdict *v)
{
	const char *p = sql, *end = sql + len;
	struct span sp;
	while (next_span(&p, end, &sp))
		if (sp.body)
			note_hint(sp.body, sp.body_end, v);
	if (v->hint != CACHE_HINT_CACHE)
		v->ttl_s = 0;
}

/* ---- the verdict ------------------------------------------------------------------------- */

/* The classifier's facts, most telling first. */
static const char *facts_why(const struct cls_result *c)
{
	static const struct {
		uint32_t flags;
		const char *why;
	} facts[] = {
	    {CLS_MULTI, "several statements"},
	    {CLS_TABLES_OVERFLOW, "too many tables"},
	    {CLS_HINT_PRIMARY, "primary hint"},
	    {CLS_LOCKING, "locking read"},
	    {CLS_SELECT_INTO, "SELECT ... INTO"},
	    {CLS_SESSION_BOUND, "bound to the session"},
	    {CLS_USER_VAR_ASSIGN | CLS_USER_VAR_READ, "reads a variable"},
	    {CLS_FORCES_PRIMARY, "runs on the primary"},
	};
	if (c->kind != CLS_KIND_SELECT)
		return "not a SELECT";
	for (size_t i = 0; i < N_OF(facts); i++)
		if (c->flags & facts[i].flags)
			return facts[i].why;
	return c->all_plain_reads ? NULL : "not a plain read";
}

static bool is_system_schema(const char *db)
{
	static const char *const schemas[] = {"information_schema", "mysql", "performance_schema",
	                                      "sys"};
	for (size_t i = 0; i < N_OF(schemas); i++)
		if (sqllex_same_ci(db, strlen(db), schemas[i]))
			return true;
	return false;
}

static const char *tables_why(const struct cls_result *c)
{
	if (c->n_tables == 0)
		return "reads no table";
	for (size_t i = 0; i < c->n_tables; i++) {
		if (c->tables[i].db[0] == '\0')
			return "no default database";
		if (is_system_schema(c->tables[i].db))
			return "reads a system schema";
	}
	return NULL;
}

void cacheable_inspect(const char *sql, size_t len, const struct cls_result *c,
                       struct cache_verdict *out)
{
	*out = (struct cache_verdict){.hint = CACHE_HINT_NONE};
	read_hints(sql, len, out);
	const char *why = facts_why(c);
	if (!why)
		why = tables_why(c);
	if (!why)
		why = lexical_why(sql, len);
	if (!why && out->hint == CACHE_HINT_NOCACHE)
		why = "nocache hint";
	out->why = why;
	out->cacheable = why == NULL;
}

/* ---- the cache key ----------------------------------------------------------------------- */

/* Counts every byte it is given and stores those that fit: the trailing whitespace and ';'
 * dropped at the end may be what did not fit. Remembers the last two bytes given. */
struct writer {
	char *out;
	size_t cap, n;
	char tail[2];
};

static void put(struct writer *w, const char *s, size_t len)
{
	if (w->n < w->cap) {
		size_t room = w->cap - w->n;
		memcpy(w->out + w->n, s, len < room ? len : room);
	}
	w->n += len;
	if (len >= 2)
		memcpy(w->tail, s + len - 2, 2);
	else if (len == 1)
		w->tail[0] = w->tail[1], w->tail[1] = s[0];
}

/*
 * Does the key end in "--"? That is code, not a comment, since no whitespace follows it in the
 * text; a space after it in the key would turn what follows into a comment when the key is
 * read again, so the comment or ';' that followed it is kept instead.
 */
static bool after_dashes(const struct writer *w)
{
	return w->n >= 2 && w->tail[0] == '-' && w->tail[1] == '-';
}

/* The key's length after the code span [s, e) just put, without its trailing ';' but for one
 * right after "--" (see after_dashes). before: the key's last two bytes before the span. */
static size_t solid_end(const struct writer *w, size_t solid, const char *s, const char *e,
                        const char before[2])
{
	const char *q = e;
	while (q > s && q[-1] == ';')
		q--;
	if (q == e)
		return w->n;
	size_t kept = q > s ? w->n - (size_t)(e - q) : solid;
	char b1 = q - s >= 1 ? q[-1] : before[1];
	char b0 = q - s >= 2 ? q[-2] : q - s == 1 ? before[1] : before[0];
	return b0 == '-' && b1 == '-' ? kept + 1 : kept;
}

size_t cacheable_normalize(const char *sql, size_t len, char *out, size_t cap)
{
	struct writer w = {out, cap, 0, {0, 0}};
	size_t solid = 0; /* the key's length without its trailing spaces and ';' */
	bool gap = false;
	const char *p = sql, *end = sql + len;
	struct span sp;
	while (next_span(&p, end, &sp)) {
		if (sp.kind == SPAN_SPACE) {
			if (!after_dashes(&w)) {
				gap = w.n > 0;
				continue;
			}
			/* kept: with the newline that ends it, if it is a line comment */
			if (sp.body && sp.e == sp.body_end && sp.e < end && *sp.e == '\n')
				p = ++sp.e;
		}
		if (gap)
			put(&w, " ", 1);
		gap = false;
		char before[2] = {w.tail[0], w.tail[1]};
		put(&w, sp.s, (size_t)(sp.e - sp.s));
		solid = sp.kind == SPAN_CODE ? solid_end(&w, solid, sp.s, sp.e, before) : w.n;
	}
	return solid <= cap ? solid : 0;
}
