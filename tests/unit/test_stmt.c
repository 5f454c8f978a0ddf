/*
 * test_stmt.c - reading a COM_STMT_EXECUTE's bound values (stmt_param_value), which pinning
 * uses to name the rows a prepared statement reads or writes.
 */
#include "check_main.h"
#include "stmt.h"

#include <string.h>

/* COM_STMT_EXECUTE of statement 7 with 4 parameters, types sent:
 *   ? 0  LONGLONG   -5
 *   ? 1  LONG unsigned 4000000000
 *   ? 2  VAR_STRING "ab c"
 *   ? 3  NULL (bitmap bit 3) */
static const uint8_t execute_4[] = {0x17, 7,    0,    0,    0,    0,    1,    0,
                                    0,    0, /* command, id, flags, iteration count */
                                    0x08,    /* null bitmap: parameter 3 */
                                    1,       /* new params bound */
                                    8,    0,    3,    0x80, 253,  0,    8,    0,    /* types */
                                    0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* -5 */
                                    0x00, 0x28, 0x6b, 0xee,                         /* 4000000000 */
                                    4,    'a',  'b',  ' ',  'c'};

static struct stmt *stmt_of(uint16_t n_params)
{
	static struct stmt_map m;
	stmt_clear(&m);
	return stmt_add(&m, 7, n_params, 0, "SELECT 1", 8);
}

START_TEST(test_values_with_types)
{
	struct stmt *st = stmt_of(4);
	struct stmt_execute x;
	struct stmt_value v;
	ck_assert(stmt_parse_execute(execute_4, sizeof(execute_4), 4, &x));
	ck_assert(stmt_param_value(execute_4, sizeof(execute_4), st, &x, 0, &v));
	ck_assert_int_eq(v.kind, STMT_VALUE_INT);
	ck_assert_int_eq(v.i, -5);
	ck_assert(stmt_param_value(execute_4, sizeof(execute_4), st, &x, 1, &v));
	ck_assert_int_eq(v.kind, STMT_VALUE_UINT);
	ck_assert_uint_eq(v.u, 4000000000u);
	ck_assert(stmt_param_value(execute_4, sizeof(execute_4), st, &x, 2, &v));
	ck_assert_int_eq(v.kind, STMT_VALUE_BYTES);
	ck_assert_uint_eq(v.len, 4);
	ck_assert(memcmp(v.bytes, "ab c", 4) == 0);
	ck_assert(stmt_param_value(execute_4, sizeof(execute_4), st, &x, 3, &v));
	ck_assert_int_eq(v.kind, STMT_VALUE_NULL);
	ck_assert(!stmt_param_value(execute_4, sizeof(execute_4), st, &x, 4, &v));
}
END_TEST

START_TEST(test_truncated_values_fail)
{
	struct stmt *st = stmt_of(4);
	struct stmt_execute x;
	struct stmt_value v;
	ck_assert(stmt_parse_execute(execute_4, sizeof(execute_4), 4, &x));
	for (size_t cut = x.types_offset + 8; cut < sizeof(execute_4); cut++)
		ck_assert(!stmt_param_value(execute_4, cut, st, &x, 2, &v));
}
END_TEST

/* A later execution sends no types: they come from the statement, as kept by stmt_keep_types. */
START_TEST(test_values_with_kept_types)
{
	static const uint8_t types[] = {3, 0};
	static const uint8_t execute_1[] = {0x17, 7, 0,    0, 0,    0, 1, 0,
	                                    0,    0, 0x00, 0, 0x2a, 0, 0, 0};
	struct stmt *st = stmt_of(1);
	struct stmt_execute x;
	struct stmt_value v;
	ck_assert(stmt_parse_execute(execute_1, sizeof(execute_1), 1, &x));
	ck_assert(!stmt_param_value(execute_1, sizeof(execute_1), st, &x, 0, &v)); /* no types */
	ck_assert(stmt_keep_types(st, types));
	ck_assert(stmt_param_value(execute_1, sizeof(execute_1), st, &x, 0, &v));
	ck_assert_int_eq(v.kind, STMT_VALUE_INT);
	ck_assert_int_eq(v.i, 42);
}
END_TEST

static Suite *stmt_suite(void)
{
	Suite *s = suite_create("stmt");
	TCase *tc = tcase_create("bound values");
	tcase_add_test(tc, test_values_with_types);
	tcase_add_test(tc, test_truncated_values_fail);
	tcase_add_test(tc, test_values_with_kept_types);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(stmt_suite());
}
