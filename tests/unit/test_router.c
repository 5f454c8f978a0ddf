/*
 * test_router.c - where a statement runs (proxy/router.c), over real classifications.
 *
 * Each case classifies a statement (classify.c) and routes it with a given session state, so
 * the table reads like the rules in docs/routing.md.
 */
#include "check_main.h"
#include "classify.h"
#include "router.h"

#include <check.h>
#include <string.h>

enum facts {
	NONE = 0,
	IN_TXN = 1 << 0,
	RO_TXN = 1 << 1,
	LOCKED = 1 << 2,
	VARS = 1 << 3, /* a user variable was assigned by a SELECT earlier */
	FULL = 1 << 4, /* the history overflowed */
	TEMP = 1 << 5, /* the session owns temporary table db1.tmp */
};

struct route_case {
	const char *sql;
	unsigned facts;
	enum route_reason want;
};

static const struct route_case cases[] = {
	{"SELECT * FROM t WHERE id = 1", NONE, ROUTE_READ},
	{"SHOW TABLES", NONE, ROUTE_READ},
	{"DO 1", NONE, ROUTE_READ},
	{"EXPLAIN SELECT * FROM t", NONE, ROUTE_READ},
	{"SELECT 1; SELECT 2", NONE, ROUTE_READ},
	{"INSERT INTO t VALUES (1)", NONE, ROUTE_WRITE},
	{"UPDATE t SET a = 1", NONE, ROUTE_WRITE},
	{"CREATE TABLE x (a INT)", NONE, ROUTE_WRITE},
	{"CALL p()", NONE, ROUTE_WRITE},
	{"SET GLOBAL max_connections = 10", NONE, ROUTE_WRITE},
	{"SET NAMES utf8mb4", NONE, ROUTE_SESSION_STATE},
	{"SET @a = 1", NONE, ROUTE_SESSION_STATE},
	{"USE db2", NONE, ROUTE_SESSION_STATE},
	{"SET autocommit = 0", NONE, ROUTE_SESSION_STATE},
	{"BEGIN", NONE, ROUTE_TRANSACTION},
	{"START TRANSACTION", NONE, ROUTE_TRANSACTION},
	{"COMMIT", NONE, ROUTE_TRANSACTION},
	{"SELECT * FROM t", IN_TXN, ROUTE_TRANSACTION},
	{"START TRANSACTION READ ONLY", NONE, ROUTE_READ_ONLY_TRANSACTION},
	{"START TRANSACTION READ ONLY", IN_TXN, ROUTE_TRANSACTION},
	{"SELECT * FROM t", RO_TXN, ROUTE_READ_ONLY_TRANSACTION},
	{"COMMIT", RO_TXN, ROUTE_READ_ONLY_TRANSACTION},
	{"SET @x = 1", RO_TXN, ROUTE_SESSION_STATE},
	{"LOCK TABLES t READ", NONE, ROUTE_LOCK_TABLES},
	{"SELECT * FROM t", LOCKED, ROUTE_LOCK_TABLES},
	{"UNLOCK TABLES", LOCKED, ROUTE_LOCK_TABLES},
	{"SELECT * FROM t WHERE id = 1 FOR UPDATE", NONE, ROUTE_LOCKING_READ},
	{"SELECT * FROM t LOCK IN SHARE MODE", NONE, ROUTE_LOCKING_READ},
	{"SELECT a FROM t INTO OUTFILE '/tmp/x'", NONE, ROUTE_SELECT_INTO},
	{"SELECT * FROM tmp", TEMP, ROUTE_TEMPORARY_TABLE},
	{"SELECT * FROM db1.tmp JOIN t USING (id)", TEMP, ROUTE_TEMPORARY_TABLE},
	{"SELECT * FROM t", TEMP, ROUTE_READ},
	{"SELECT * FROM other.tmp", TEMP, ROUTE_READ},
	{"SELECT 1; SELECT LAST_INSERT_ID()", NONE, ROUTE_MULTI_STATEMENT},
	{"SELECT LAST_INSERT_ID()", NONE, ROUTE_SESSION_BOUND},
	{"SELECT FOUND_ROWS()", NONE, ROUTE_SESSION_BOUND},
	{"SELECT GET_LOCK('a', 1)", NONE, ROUTE_SESSION_BOUND},
	{"SHOW WARNINGS", NONE, ROUTE_SESSION_BOUND},
	{"PREPARE s FROM 'SELECT 1'", NONE, ROUTE_SESSION_STATE},
	{"EXECUTE s", NONE, ROUTE_WRITE},
	{"SELECT @a := 1", NONE, ROUTE_USER_VARIABLE},
	{"SELECT @a", NONE, ROUTE_READ},
	{"SELECT @a", VARS, ROUTE_USER_VARIABLE},
	{"SELECT * FROM t", FULL, ROUTE_HISTORY_FULL},
	/* hints: primary always wins; replica overrides only the soft reasons */
	{"/* sluice:primary */ SELECT 1", NONE, ROUTE_HINT_PRIMARY},
	{"SELECT 1 -- sluice:primary", NONE, ROUTE_HINT_PRIMARY},
	{"/* sluice:replica */ SELECT LAST_INSERT_ID()", NONE, ROUTE_HINT_REPLICA},
	{"/* sluice:replica */ SELECT * FROM t", FULL, ROUTE_HINT_REPLICA},
	{"/* sluice:replica */ UPDATE t SET a = 1", NONE, ROUTE_WRITE},
	{"/* sluice:replica */ SELECT * FROM t FOR UPDATE", NONE, ROUTE_LOCKING_READ},
	{"/* sluice:replica */ SELECT * FROM t", IN_TXN, ROUTE_TRANSACTION},
	/* keywords in strings and comments change nothing */
	{"SELECT 'DELETE FROM t' AS x", NONE, ROUTE_READ},
	{"SELECT /* FOR UPDATE */ 1", NONE, ROUTE_READ},
	{"/*!40101 SELECT 1 */", NONE, ROUTE_READ},
	{"", NONE, ROUTE_WRITE},
};

static bool is_tmp(const void *ctx, const char *db, const char *name)
{
	(void)ctx;
	return strcmp(db, "db1") == 0 && strcmp(name, "tmp") == 0;
}

START_TEST(test_route_case)
{
	const struct route_case *c = &cases[_i];
	struct cls_result cls;
	classify(c->sql, strlen(c->sql), "db1", &cls);
	struct route_session s = {
		.in_transaction = c->facts & IN_TXN,
		.read_only_transaction = c->facts & RO_TXN,
		.locked_tables = c->facts & LOCKED,
		.user_vars_assigned = c->facts & VARS,
		.history_full = c->facts & FULL,
		.has_temp_table = (c->facts & TEMP) ? is_tmp : NULL,
	};
	enum route_reason got = route_statement(&cls, &s);
	ck_assert_msg(got == c->want, "%s (facts %#x): %s, expected %s", c->sql, c->facts,
		      route_reason_str(got), route_reason_str(c->want));
}
END_TEST

START_TEST(test_reason_names_and_sides)
{
	for (int r = 0; r < ROUTE_REASON_COUNT; r++)
		ck_assert_str_ne(route_reason_str((enum route_reason)r), "?");
	ck_assert(route_to_replica(ROUTE_READ));
	ck_assert(route_to_replica(ROUTE_HINT_REPLICA));
	ck_assert(route_to_replica(ROUTE_READ_ONLY_TRANSACTION));
	ck_assert(!route_to_replica(ROUTE_WRITE));
	ck_assert(!route_to_replica(ROUTE_COMMAND));
}
END_TEST

static Suite *router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("rules");
	tcase_add_loop_test(tc, test_route_case, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_reason_names_and_sides);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(router_suite());
}
