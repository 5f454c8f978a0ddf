/*
 * test_results.c - the result cache's names and stamps (cache/results.c). The Lua scripts run
 * against a real Redis in tests/integration/test_cache.py.
 */
#include "check_main.h"
#include "results.h"

#include <string.h>

START_TEST(test_dep_of_mark)
{
	ck_assert_str_eq(results_dep_of_mark("sluice:pin:k:db.t:5", "sluice"), "k:db.t:5");
	ck_assert_str_eq(results_dep_of_mark("p:pin:w:db.t", "p"), "w:db.t");
	ck_assert_ptr_null(results_dep_of_mark("sluice:pin:k:db.t:5", "other"));
	ck_assert_ptr_null(results_dep_of_mark("sluicex:pin:k:db.t:5", "sluice"));
	ck_assert_ptr_null(results_dep_of_mark("sluice:c:v:k:db.t:5", "sluice"));
}
END_TEST

START_TEST(test_row_deps)
{
	ck_assert(results_dep_is_row("k:db.t:5"));
	ck_assert(!results_dep_is_row("w:db.t"));
	ck_assert(!results_dep_is_row("t:db.t"));
	ck_assert(!results_dep_is_row(RESULTS_DEP_ALL));
	ck_assert(!results_dep_is_row("k"));
}
END_TEST

START_TEST(test_key_names)
{
	char out[64];
	ck_assert_uint_eq(results_key_name(out, sizeof(out), "s", RESULTS_VERSION, "k:d.t:1"), 13);
	ck_assert_str_eq(out, "s:c:v:k:d.t:1");
	results_key_name(out, sizeof(out), "s", RESULTS_ENTRY, "ab");
	ck_assert_str_eq(out, "s:c:e:ab");
	results_key_name(out, sizeof(out), "s", RESULTS_LEASE, "ab");
	ck_assert_str_eq(out, "s:c:l:ab");
	results_tag_name(out, sizeof(out), "s", "k:d.t:1");
	ck_assert_str_eq(out, "s:c:g:k:d.t:1");
	results_channel(out, sizeof(out), "s");
	ck_assert_str_eq(out, "s:c:drop");
	ck_assert_uint_eq(results_key_name(out, 8, "s", RESULTS_ENTRY, "abcdef"), 0);
	ck_assert_uint_eq(results_channel(out, 8, "s"), 0); /* "s:c:drop" needs 9 */
}
END_TEST

START_TEST(test_digest_hex)
{
	uint8_t d[RESULTS_DIGEST_LEN];
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i * 17);
	char hex[RESULTS_DIGEST_HEX + 1];
	results_digest_hex(d, hex);
	ck_assert_uint_eq(strlen(hex), RESULTS_DIGEST_HEX);
	ck_assert(strncmp(hex, "00112233445566778899aabbccddeeff", 32) == 0);
}
END_TEST

static bool covered(const char *stamp, const char *pos)
{
	return results_stamp_covered(stamp, strlen(stamp), pos);
}

START_TEST(test_stamp_covered)
{
	/* nothing invalidated yet, or only by the proxy: any replica may fill */
	ck_assert(covered("", ""));
	ck_assert(covered("-,-,-", "0-1-5"));
	ck_assert(covered("xabc.1,-", ""));
	/* the tailer's GTIDs must be applied, per domain */
	ck_assert(covered("0-1-100,-", "0-1-100"));
	ck_assert(covered("0-1-100,-", "0-1-101"));
	ck_assert(!covered("0-1-100,-", "0-1-99"));
	ck_assert(!covered("0-1-100", ""));
	ck_assert(!covered("1-1-5", "0-1-100"));
	ck_assert(covered("1-1-5,0-1-7", "0-1-100,1-2-6"));
	ck_assert(!covered("1-1-5,0-1-7", "0-1-100,1-2-4"));
	ck_assert(!covered("0-1-100", "garbage"));
}
END_TEST

START_TEST(test_entry_split)
{
	size_t stamp_len, at;
	const char v[] = "0-1-5,-|\x01\x00\x00\x01\xfb";
	ck_assert(results_entry_split(v, sizeof(v) - 1, &stamp_len, &at));
	ck_assert_uint_eq(stamp_len, 7);
	ck_assert_uint_eq(at, 8);
	ck_assert(results_entry_split("|x", 2, &stamp_len, &at));
	ck_assert_uint_eq(stamp_len, 0);
	ck_assert(!results_entry_split("no bar", 6, &stamp_len, &at));
}
END_TEST

static Suite *results_suite(void)
{
	Suite *s = suite_create("results");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_dep_of_mark);
	tcase_add_test(tc, test_row_deps);
	tcase_add_test(tc, test_key_names);
	tcase_add_test(tc, test_digest_hex);
	tcase_add_test(tc, test_stamp_covered);
	tcase_add_test(tc, test_entry_split);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(results_suite());
}
