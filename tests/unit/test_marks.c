/*
 * test_marks.c - unit tests for cache/marks.c, the spelling of pin marks shared by the proxy
 * and the binlog tailer.
 *
 * Both sides must spell a row's key byte for byte alike, so the canonical forms are pinned down
 * here: integers (signs, leading zeros, ".0"), strings (case, trailing spaces, percent-encoding,
 * limits), the Redis key names of the three kinds of mark, and the parsing of mark values, GTIDs
 * and gtid_slave_pos lists behind mark_allows(), which must only ever err towards the primary.
 */
#include "marks.h"

#include "check_main.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- integers ---------------------------------------------------------------------------- */

static const struct {
	const char *text, *want; /* want NULL: refused */
} ints[] = {
    {"5", "5"},
    {"+5", "5"},
    {"-5", "-5"},
    {"007", "7"},
    {"-007", "-7"},
    {"0", "0"},
    {"000", "0"},
    {"-0", "0"},
    {"+0", "0"},
    {"-0.000", "0"},
    {"1.0", "1"},
    {"1.000", "1"},
    {"12.", "12"},
    {"10", "10"},
    {"100", "100"},
    {"18446744073709551616", "18446744073709551616"}, /* beyond 64 bits: no such row, no harm */
    {"-000123456789012345678901234567890", "-123456789012345678901234567890"},
    {"1.5", NULL},
    {"1.05", NULL},
    {"0x10", NULL},
    {"0b1", NULL},
    {"1e3", NULL},
    {"1E3", NULL},
    {"", NULL},
    {"-", NULL},
    {"+", NULL},
    {"--5", NULL},
    {"+-5", NULL},
    {" 5", NULL},
    {"5 ", NULL},
    {".5", NULL},
    {"5..0", NULL},
    {"1.0.0", NULL},
    {"abc", NULL},
    {"5a", NULL},
};

START_TEST(test_int_text)
{
	struct mark_key k;
	mark_key_init(&k);
	bool ok = mark_key_add_int_text(&k, ints[_i].text, strlen(ints[_i].text));
	if (!ints[_i].want) {
		ck_assert_msg(!ok && !k.ok, "\"%s\" accepted as %s", ints[_i].text, k.text);
		return;
	}
	ck_assert_msg(ok && k.ok, "\"%s\" refused", ints[_i].text);
	ck_assert_str_eq(k.text, ints[_i].want);
	ck_assert_uint_eq(k.len, strlen(ints[_i].want));
	ck_assert_uint_eq(k.n_values, 1);
}
END_TEST

START_TEST(test_int_binary)
{
	struct mark_key k;
	mark_key_init(&k);
	ck_assert(mark_key_add_int(&k, INT64_MIN));
	ck_assert(mark_key_add_int(&k, 0));
	ck_assert(mark_key_add_uint(&k, UINT64_MAX));
	ck_assert_str_eq(k.text, "-9223372036854775808,0,18446744073709551615");
	ck_assert_uint_eq(k.n_values, 3);

	/* the text and binary spellings of one value agree: the proxy reads one, the tailer the
	 * other */
	struct mark_key a, b;
	mark_key_init(&a);
	mark_key_init(&b);
	ck_assert(mark_key_add_int_text(&a, "-0042.0", 7));
	ck_assert(mark_key_add_int(&b, -42));
	ck_assert_str_eq(a.text, b.text);
}
END_TEST

START_TEST(test_int_too_long)
{
	char digits[MARK_KEY_TEXT_MAX + 1];
	memset(digits, '7', sizeof(digits));
	struct mark_key k;
	mark_key_init(&k);
	ck_assert(mark_key_add_int_text(&k, digits, MARK_KEY_TEXT_MAX - 1)); /* fits exactly */
	ck_assert_uint_eq(k.len, MARK_KEY_TEXT_MAX - 1);
	mark_key_init(&k);
	ck_assert(!mark_key_add_int_text(&k, digits, MARK_KEY_TEXT_MAX));
	ck_assert(!k.ok);

	/* no room for the ',' before a second value */
	mark_key_init(&k);
	ck_assert(mark_key_add_int_text(&k, digits, MARK_KEY_TEXT_MAX - 1));
	ck_assert(!mark_key_add_int(&k, 1));
	ck_assert(!k.ok);
}
END_TEST

/* Once a value fails, the key has no name: every later value fails too. */
START_TEST(test_failure_sticks)
{
	struct mark_key k;
	mark_key_init(&k);
	ck_assert(mark_key_add_int(&k, 1));
	ck_assert(!mark_key_add_int_text(&k, "1.5", 3));
	ck_assert(!k.ok);
	ck_assert(!mark_key_add_int(&k, 2));
	ck_assert(!mark_key_add_uint(&k, 2));
	ck_assert(!mark_key_add_string(&k, "a", 1));
	ck_assert(!mark_key_add_int_text(&k, "3", 1));
	ck_assert(!k.ok);

	mark_key_init(&k); /* and init starts afresh */
	ck_assert(k.ok);
	ck_assert_uint_eq(k.len, 0);
	ck_assert_uint_eq(k.n_values, 0);
	ck_assert_str_eq(k.text, "");
}
END_TEST

/* ---- strings ----------------------------------------------------------------------------- */

static const struct {
	const char *bytes;
	size_t len;
	const char *want; /* NULL: refused */
} strs[] = {
#define S(lit, want)                                                                               \
	{                                                                                          \
		lit, sizeof(lit) - 1, want                                                         \
	}
    S("abc", "abc"),
    S("AbC", "abc"),
    S("abc   ", "abc"),
    S("   ", ""),
    S("", ""),
    S("  a", "%20%20a"),
    S("a b", "a%20b"),
    S("a\t", "a%09"),
    S("a_b-c09", "a_b-c09"),
    S("a,b", "a%2Cb"),
    S("a:b", "a%3Ab"),
    S("a%b", "a%25b"),
    S("a.b", "a%2Eb"),
    S("it's", "it%27s"),
    S("a/b\\c", "a%2Fb%5Cc"),
    S("a\0b", "a%00b"),
    S("Z~", "z%7E"),
    S("caf\xc3\xa9", NULL),
    S("\x80", NULL),
    S("abc\xff   ", NULL),
#undef S
};

START_TEST(test_string)
{
	struct mark_key k;
	mark_key_init(&k);
	bool ok = mark_key_add_string(&k, strs[_i].bytes, strs[_i].len);
	if (!strs[_i].want) {
		ck_assert_msg(!ok && !k.ok, "case %d accepted as %s", _i, k.text);
		return;
	}
	ck_assert_msg(ok && k.ok, "case %d refused", _i);
	ck_assert_str_eq(k.text, strs[_i].want);
	ck_assert_uint_eq(k.len, strlen(strs[_i].want));
	ck_assert_uint_eq(k.n_values, 1);
}
END_TEST

START_TEST(test_string_limits)
{
	char a[MARK_KEY_TEXT_MAX + 1];
	memset(a, 'a', sizeof(a));
	struct mark_key k;
	mark_key_init(&k);
	ck_assert(mark_key_add_string(&k, a, MARK_KEY_TEXT_MAX - 1)); /* 255 bytes and a NUL */
	ck_assert_uint_eq(k.len, MARK_KEY_TEXT_MAX - 1);
	mark_key_init(&k);
	ck_assert(!mark_key_add_string(&k, a, MARK_KEY_TEXT_MAX));
	ck_assert(!k.ok);

	/* trailing spaces do not count against the limit */
	char spaced[2 * MARK_KEY_TEXT_MAX];
	memset(spaced, ' ', sizeof(spaced));
	memcpy(spaced, a, 10);
	mark_key_init(&k);
	ck_assert(mark_key_add_string(&k, spaced, sizeof(spaced)));
	ck_assert_uint_eq(k.len, 10);

	/* encoded bytes take three: 85 commas fit, 86 do not */
	char commas[86];
	memset(commas, ',', sizeof(commas));
	mark_key_init(&k);
	ck_assert(mark_key_add_string(&k, commas, 85));
	ck_assert_uint_eq(k.len, 255);
	mark_key_init(&k);
	ck_assert(!mark_key_add_string(&k, commas, 86));
}
END_TEST

/* Values are joined by ','; a ',' inside a string is encoded, so no two keys spell alike. */
START_TEST(test_composite)
{
	struct mark_key k, l;
	mark_key_init(&k);
	ck_assert(mark_key_add_int(&k, 5));
	ck_assert(mark_key_add_string(&k, "X,y", 3));
	ck_assert(mark_key_add_string(&k, "", 0));
	ck_assert(mark_key_add_int_text(&k, "-0", 2));
	ck_assert_str_eq(k.text, "5,x%2Cy,,0");
	ck_assert_uint_eq(k.n_values, 4);

	mark_key_init(&k);
	mark_key_init(&l);
	ck_assert(mark_key_add_string(&k, "a,b", 3));
	ck_assert(mark_key_add_string(&l, "a", 1));
	ck_assert(mark_key_add_string(&l, "b", 1));
	ck_assert_str_ne(k.text, l.text);
}
END_TEST

/* ---- names ------------------------------------------------------------------------------- */

START_TEST(test_mark_name)
{
	char out[MARK_NAME_MAX];
	struct mark_key k;
	mark_key_init(&k);
	ck_assert(mark_key_add_int(&k, 5));
	ck_assert(mark_key_add_string(&k, "Ab", 2));

	size_t n = mark_name(out, "sluice", MARK_ROW, "App", "Users", &k);
	ck_assert_str_eq(out, "sluice:pin:k:app.users:5,ab");
	ck_assert_uint_eq(n, strlen(out));
	n = mark_name(out, "sluice", MARK_WHOLE, "App", "Users", NULL);
	ck_assert_str_eq(out, "sluice:pin:w:app.users");
	ck_assert_uint_eq(n, strlen(out));
	n = mark_name(out, "s", MARK_TOUCHED, "app", "users", &k); /* the key is ignored */
	ck_assert_str_eq(out, "s:pin:t:app.users");
	ck_assert_uint_eq(n, strlen(out));

	/* names are encoded like string values: a '.' or ':' in them cannot shift the parts */
	n = mark_name(out, "p", MARK_WHOLE, "my.db", "Tab:le%", NULL);
	ck_assert_str_eq(out, "p:pin:w:my%2Edb.tab%3Ale%25");
	n = mark_name(out, "p", MARK_WHOLE, "caf\xc3\xa9", "t", NULL);
	ck_assert_str_eq(out, "p:pin:w:caf%C3%A9.t");
	n = mark_name(out, "p", MARK_WHOLE, "", "t", NULL);
	ck_assert_str_eq(out, "p:pin:w:.t");

	/* a row mark needs a key that could be spelt */
	ck_assert_uint_eq(mark_name(out, "p", MARK_ROW, "d", "t", NULL), 0);
	struct mark_key bad;
	mark_key_init(&bad);
	mark_key_add_string(&bad, "\xc3\xa9", 2);
	ck_assert_uint_eq(mark_name(out, "p", MARK_ROW, "d", "t", &bad), 0);
}
END_TEST

START_TEST(test_mark_name_too_long)
{
	char out[MARK_NAME_MAX], prefix[MARK_NAME_MAX + 1], name[400];
	memset(prefix, 'p', sizeof(prefix) - 1);
	prefix[MARK_NAME_MAX] = '\0';
	ck_assert_uint_eq(mark_name(out, prefix, MARK_WHOLE, "d", "t", NULL), 0);

	/* 400 dots encode to 1200 bytes */
	memset(name, '.', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_uint_eq(mark_name(out, "p", MARK_WHOLE, name, "t", NULL), 0);
	ck_assert_uint_eq(mark_name(out, "p", MARK_WHOLE, "d", name, NULL), 0);

	/* the longest whole name that fits, and one byte more */
	size_t head = strlen("p:pin:w:d.");
	char table[MARK_NAME_MAX];
	memset(table, 't', sizeof(table));
	table[MARK_NAME_MAX - 1 - head] = '\0';
	size_t n = mark_name(out, "p", MARK_WHOLE, "d", table, NULL);
	ck_assert_uint_eq(n, MARK_NAME_MAX - 1);
	ck_assert_uint_eq(strlen(out), MARK_NAME_MAX - 1);
	table[MARK_NAME_MAX - 1 - head] = 't';
	table[MARK_NAME_MAX - head] = '\0';
	ck_assert_uint_eq(mark_name(out, "p", MARK_WHOLE, "d", table, NULL), 0);

	/* a row key after a long table name: ":12345" fills the name exactly, one more byte
	 * does not fit ("k" and "w" have the same length) */
	struct mark_key k;
	mark_key_init(&k);
	ck_assert(mark_key_add_int(&k, 12345));
	table[MARK_NAME_MAX - 1 - head - 6] = '\0';
	n = mark_name(out, "p", MARK_ROW, "d", table, &k);
	ck_assert_uint_eq(n, MARK_NAME_MAX - 1);
	ck_assert_uint_eq(strlen(out), n);
	ck_assert_str_eq(out + n - 6, ":12345");
	table[MARK_NAME_MAX - 1 - head - 6] = 't';
	table[MARK_NAME_MAX - 1 - head - 5] = '\0';
	ck_assert_uint_eq(mark_name(out, "p", MARK_ROW, "d", table, &k), 0);
}
END_TEST

/* ---- values ------------------------------------------------------------------------------ */

static bool parse_value(const char *text, struct mark_value *v)
{
	return mark_value_parse(text, strlen(text), v);
}

START_TEST(test_value_parse)
{
	struct mark_value v;
	ck_assert(parse_value(MARK_VALUE_WINDOW, &v));
	ck_assert_uint_eq(v.pending, 0);
	ck_assert(v.unknown_gtid);
	ck_assert_uint_eq(v.n_gtids, 0);

	ck_assert(parse_value("2|0-1-5,1-2-7", &v));
	ck_assert_uint_eq(v.pending, 2);
	ck_assert(!v.unknown_gtid);
	ck_assert_uint_eq(v.n_gtids, 2);
	ck_assert_uint_eq(v.gtids[0].domain, 0);
	ck_assert_uint_eq(v.gtids[0].server, 1);
	ck_assert_uint_eq(v.gtids[0].seq, 5);
	ck_assert_uint_eq(v.gtids[1].domain, 1);
	ck_assert_uint_eq(v.gtids[1].server, 2);
	ck_assert_uint_eq(v.gtids[1].seq, 7);

	ck_assert(parse_value("1|", &v)); /* ARM on a new mark: pending, no GTID yet */
	ck_assert_uint_eq(v.pending, 1);
	ck_assert_uint_eq(v.n_gtids, 0);
	ck_assert(parse_value("4294967295|0-4294967295-18446744073709551615", &v));
	ck_assert_uint_eq(v.pending, UINT32_MAX);
	ck_assert_uint_eq(v.gtids[0].server, UINT32_MAX);
	ck_assert_uint_eq(v.gtids[0].seq, UINT64_MAX);
	ck_assert(parse_value("0|1-1-1,2-1-1,3-1-1,4-1-1,5-1-1,6-1-1,7-1-1,8-1-1", &v));
	ck_assert_uint_eq(v.n_gtids, MARK_GTIDS_MAX);
}
END_TEST

START_TEST(test_value_malformed)
{
	static const char *const bad[] = {
	    "",
	    "|*",
	    "*",
	    "0",
	    "0*",
	    "x|*",
	    "-1|*",
	    " 0|*",
	    "0 |*",
	    "0|*x",
	    "0|**",
	    "0|* ",
	    "0|*,0-1-2",
	    "0|0-1",
	    "0|0-1-2-3",
	    "0|a-b-c",
	    "0|0-1-5,",
	    "0|0-1-5,,1-1-1",
	    "0|,0-1-5",
	    "0|0-1-5;1-1-1",
	    "4294967296|*",
	    "0|4294967296-1-1",
	    "0|0-4294967296-1",
	    "0|0-1-18446744073709551616",
	    "0|1-1-1,2-1-1,3-1-1,4-1-1,5-1-1,6-1-1,7-1-1,8-1-1,9-1-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mark_value v;
		ck_assert_msg(!parse_value(bad[i], &v), "\"%s\" parsed", bad[i]);
	}
	/* only len bytes count */
	struct mark_value v;
	ck_assert(mark_value_parse("0|*garbage", 3, &v));
	ck_assert(v.unknown_gtid);
}
END_TEST

START_TEST(test_gtid_parse)
{
	struct gtid g;
	ck_assert(gtid_parse("0-1-100", 7, &g));
	ck_assert_uint_eq(g.domain, 0);
	ck_assert_uint_eq(g.server, 1);
	ck_assert_uint_eq(g.seq, 100);
	ck_assert(gtid_parse("00-01-0100", 10, &g));
	ck_assert_uint_eq(g.seq, 100);
	static const char *const bad[] = {"",       "0",      "0-1",     "0-1-",   "-1-1",
	                                  "0--1",   "0-1-1x", "+0-1-1",  "0-1-+1", " 0-1-1",
	                                  "0-1-1 ", "a-1-1",  "0-1-1-1", "0.1.1",  "0-1-1,"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!gtid_parse(bad[i], strlen(bad[i]), &g), "\"%s\" parsed", bad[i]);
}
END_TEST

START_TEST(test_gtid_list_parse)
{
	struct gtid g[4];
	unsigned n;
	const char *list = "0-1-100,1-2-7";
	ck_assert(gtid_list_parse(list, strlen(list), g, 4, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(g[1].domain, 1);
	ck_assert_uint_eq(g[1].seq, 7);
	/* as some MariaDB versions print it */
	list = "0-1-100,\n1-2-7, 2-3-9";
	ck_assert(gtid_list_parse(list, strlen(list), g, 4, &n));
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(g[2].server, 3);
	ck_assert(gtid_list_parse("", 0, g, 4, &n)); /* a replica that replicated nothing yet */
	ck_assert_uint_eq(n, 0);

	list = "1-1-1,2-1-1,3-1-1";
	ck_assert(!gtid_list_parse(list, strlen(list), g, 2, &n)); /* more than max */
	ck_assert(gtid_list_parse(list, strlen(list), g, 3, &n));
	static const char *const bad[] = {"0-1-1,",  ",0-1-1", "0-1-1,,1-1-1", " ", "0-1-1 ",
	                                  "0-1-1\n", "x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!gtid_list_parse(bad[i], strlen(bad[i]), g, 4, &n), "\"%s\" parsed",
		              bad[i]);
}
END_TEST

/* ---- mark_allows ------------------------------------------------------------------------- */

static bool allows(const char *value, const char *pos)
{
	struct mark_value v;
	ck_assert_msg(parse_value(value, &v), "%s", value);
	return mark_allows(&v, pos);
}

START_TEST(test_mark_allows)
{
	/* a write in flight, or one whose GTID is not known, pins */
	ck_assert(!allows("1|0-1-5", "0-1-9"));
	ck_assert(!allows("0|*", "0-1-9"));
	ck_assert(!allows(MARK_VALUE_WINDOW, "0-1-999999"));
	ck_assert(!allows("0|", "0-1-9"));
	ck_assert(!allows("0|0-1-5", NULL));
	ck_assert(!allows("0|0-1-5", ""));

	/* the replica's position against the mark's, per domain, whatever the server id */
	ck_assert(!allows("0|0-1-5", "0-1-4"));
	ck_assert(allows("0|0-1-5", "0-1-5"));
	ck_assert(allows("0|0-1-5", "0-1-6"));
	ck_assert(allows("0|0-1-5", "0-2-9"));
	ck_assert(!allows("0|0-1-5", "1-1-9"));

	/* every domain of the mark must be reached */
	ck_assert(!allows("0|0-1-5,1-1-3", "0-1-9"));
	ck_assert(!allows("0|0-1-5,1-1-3", "0-1-9,1-1-2"));
	ck_assert(allows("0|0-1-5,1-1-3", "0-1-9,1-2-3"));
	ck_assert(allows("0|0-1-5,1-1-3", "2-1-1,1-1-30,\n0-1-5"));
	ck_assert(allows("0|0-1-5", "1-1-1,0-1-5,2-1-1"));

	/* a position that cannot be read pins */
	ck_assert(!allows("0|0-1-5", "0-1-9,"));
	ck_assert(!allows("0|0-1-5", "garbage"));
	char many[64 * 12 + 16];
	size_t n = 0;
	for (int d = 0; d <= 64; d++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s%d-1-9", d ? "," : "", d);
	ck_assert(!allows("0|0-1-5", many)); /* 65 domains: more than it reads */
	many[strrchr(many, ',') - many] = '\0';
	ck_assert(allows("0|0-1-5", many));
}
END_TEST

START_TEST(test_lua_scripts)
{
	/* both read and write "PENDING|GTIDS" and never shorten a mark's life */
	ck_assert_ptr_nonnull(strstr(MARKS_LUA_ARM, "p = p + 1"));
	ck_assert_ptr_nonnull(strstr(MARKS_LUA_ARM, "'PX', t"));
	ck_assert_ptr_nonnull(strstr(MARKS_LUA_SETTLE, "p = p - dec"));
	ck_assert_ptr_nonnull(strstr(MARKS_LUA_SETTLE, "if p < 0 then p = 0 end"));
	ck_assert_ptr_nonnull(strstr(MARKS_LUA_SETTLE, "'PX', t"));
}
END_TEST

static Suite *marks_suite(void)
{
	Suite *s = suite_create("marks");
	TCase *tc = tcase_create("marks");
	tcase_add_loop_test(tc, test_int_text, 0, (int)(sizeof(ints) / sizeof(ints[0])));
	tcase_add_test(tc, test_int_binary);
	tcase_add_test(tc, test_int_too_long);
	tcase_add_test(tc, test_failure_sticks);
	tcase_add_loop_test(tc, test_string, 0, (int)(sizeof(strs) / sizeof(strs[0])));
	tcase_add_test(tc, test_string_limits);
	tcase_add_test(tc, test_composite);
	tcase_add_test(tc, test_mark_name);
	tcase_add_test(tc, test_mark_name_too_long);
	tcase_add_test(tc, test_value_parse);
	tcase_add_test(tc, test_value_malformed);
	tcase_add_test(tc, test_gtid_parse);
	tcase_add_test(tc, test_gtid_list_parse);
	tcase_add_test(tc, test_mark_allows);
	tcase_add_test(tc, test_lua_scripts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(marks_suite());
}
