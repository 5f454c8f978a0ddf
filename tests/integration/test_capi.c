/*
 * test_capi.c - every command a proxy must forward, driven by MariaDB Connector/C.
 *
 * Owns the "real client library" integration check: prepared statements with typed
 * parameters, server-side cursors (COM_STMT_FETCH), long data, COM_STMT_RESET/CLOSE,
 * multi-result CALLs, COM_SET_OPTION, COM_CHANGE_USER, COM_STATISTICS, COM_PING,
 * COM_INIT_DB, COM_RESET_CONNECTION, COM_FIELD_LIST and streamed result sets, each
 * checked for what a client sees. It knows nothing about the proxy and must not: it
 * connects to 127.0.0.1:$SLUICE_TEST_PORT (default 13306), so the same binary first
 * proves itself against MariaDB (ctest capi_direct) and then judges Sluice
 * (capi_proxy). Everything it creates is named capi_<pid>_* and dropped at the end,
 * even when a test failed, so runs never collide and leave nothing behind.
 *
 * Select one test with Check's own variables, e.g. CK_RUN_CASE=cursor, CK_FORK=no.
 */
#include <check.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_HOST       "127.0.0.1"
#define TEST_USER       "app"
#define TEST_PASSWORD   "app"
#define TEST_DB         "sluice_test"
#define DEFAULT_PORT    13306
#define TCASE_TIMEOUT_S 30
#define IO_TIMEOUT_S    20
#define OBJ_NAME_LEN    64
#define SQL_LEN         512

/* Set once in main() before any test forks; read-only afterwards. */
static unsigned int test_port;
static char test_prefix[32]; /* "capi_<pid>" */

/* ---- helpers -------------------------------------------------------------------- */

/* Unique object name "capi_<pid>_<what>" for tables, procedures and databases. */
static void obj_name(char *out, size_t len, const char *what)
{
	int n = snprintf(out, len, "%s_%s", test_prefix, what);
	ck_assert_msg(n > 0 && (size_t)n < len, "object name too long: %s", what);
}

__attribute__((format(printf, 3, 4))) static void fmt_sql(char *out, size_t len, const char *fmt,
                                                          ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	ck_assert_msg(n > 0 && (size_t)n < len, "SQL too long for buffer: %s", fmt);
}

/* mysql_init + timeouts, so a proxy that stops answering fails the read, not the tcase. */
static MYSQL *client_create(void)
{
	MYSQL *m = mysql_init(NULL);
	ck_assert_msg(m != NULL, "mysql_init failed");
	unsigned int timeout = IO_TIMEOUT_S;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	return m;
}

/* A connected client on TEST_DB; the caller owns it and calls mysql_close(). */
static MYSQL *client_connect(unsigned long flags)
{
	MYSQL *m = client_create();
	if (!mysql_real_connect(m, TEST_HOST, TEST_USER, TEST_PASSWORD, TEST_DB, test_port, NULL,
	                        flags))
		ck_abort_msg("connect to %s:%u failed: %u %s", TEST_HOST, test_port, mysql_errno(m),
		             mysql_error(m));
	return m;
}

#define query_ok(m, sql) query_ok_at((m), (sql), __LINE__)
static void query_ok_at(MYSQL *m, const char *sql, int line)
{
	if (mysql_query(m, sql) != 0)
		ck_abort_msg("line %d: query \"%.200s\" failed: %u %s", line, sql, mysql_errno(m),
		             mysql_error(m));
}

/* Runs sql, which must fail with errno `expect`. */
#define query_fails(m, sql, expect) query_fails_at((m), (sql), (expect), __LINE__)
static void query_fails_at(MYSQL *m, const char *sql, unsigned int expect, int line)
{
	int rc = mysql_query(m, sql);
	ck_assert_msg(rc != 0, "line %d: query \"%.200s\" succeeded, expected error %u", line, sql,
	              expect);
	ck_assert_msg(mysql_errno(m) == expect,
	              "line %d: query \"%.200s\": expected error %u, got %u %s", line, sql, expect,
	              mysql_errno(m), mysql_error(m));
}

/*
 * Runs sql, which must return exactly one row, and copies its first column into out
 * ("<NULL>" for SQL NULL).
 */
#define query_scalar(m, sql, out) query_scalar_at((m), (sql), (out), sizeof(out), __LINE__)
static void query_scalar_at(MYSQL *m, const char *sql, char *out, size_t len, int line)
{
	query_ok_at(m, sql, line);
	MYSQL_RES *res = mysql_store_result(m);
	ck_assert_msg(res != NULL, "line %d: \"%.200s\" returned no result set: %u %s", line, sql,
	              mysql_errno(m), mysql_error(m));
	ck_assert_msg(mysql_num_rows(res) == 1,
	              "line %d: \"%.200s\" returned %llu rows, expected 1", line, sql,
	              (unsigned long long)mysql_num_rows(res));
	MYSQL_ROW row = mysql_fetch_row(res);
	snprintf(out, len, "%s", row[0] ? row[0] : "<NULL>");
	mysql_free_result(res);
}

/* A statement prepared from sql; the caller owns it and calls mysql_stmt_close(). */
#define stmt_prepare(m, sql) stmt_prepare_at((m), (sql), __LINE__)
static MYSQL_STMT *stmt_prepare_at(MYSQL *m, const char *sql, int line)
{
	MYSQL_STMT *st = mysql_stmt_init(m);
	ck_assert_msg(st != NULL, "line %d: mysql_stmt_init failed: %s", line, mysql_error(m));
	if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0)
		ck_abort_msg("line %d: prepare \"%.200s\" failed: %u %s", line, sql,
		             mysql_stmt_errno(st), mysql_stmt_error(st));
	return st;
}

/* Any mysql_stmt_* call returning int or my_bool, where 0 means success. */
#define stmt_ok(st, call)                                                                          \
	do {                                                                                       \
		if ((call) != 0)                                                                   \
			ck_abort_msg("line %d: %s failed: %u %s", __LINE__, #call,                 \
			             mysql_stmt_errno(st), mysql_stmt_error(st));                  \
	} while (0)

static MYSQL_BIND bind_long(int32_t *v)
{
	return (MYSQL_BIND){.buffer_type = MYSQL_TYPE_LONG, .buffer = v};
}

static MYSQL_BIND bind_longlong(int64_t *v)
{
	return (MYSQL_BIND){.buffer_type = MYSQL_TYPE_LONGLONG, .buffer = v};
}

static MYSQL_BIND bind_bytes(enum enum_field_types type, void *buf, unsigned long cap,
                             unsigned long *len)
{
	return (MYSQL_BIND){
	    .buffer_type = type, .buffer = buf, .buffer_length = cap, .length = len};
}

/*
 * Best-effort removal of everything named capi_<pid>_*: runs in the parent after all
 * tests, so a failed test (whose child exited mid-way) leaves nothing behind. Never
 * asserts: there is no test to fail any more.
 */
static void cleanup_objects(void)
{
	MYSQL *m = mysql_init(NULL);
	if (!m)
		return;
	if (!mysql_real_connect(m, TEST_HOST, TEST_USER, TEST_PASSWORD, TEST_DB, test_port, NULL,
	                        0)) {
		fprintf(stderr, "cleanup: connect failed: %s\n", mysql_error(m));
		mysql_close(m);
		return;
	}
	char sql[1024];
	snprintf(
	    sql, sizeof sql,
	    "SELECT CONCAT('DROP TABLE IF EXISTS `', table_schema, '`.`', table_name, '`')"
	    "  FROM information_schema.tables WHERE table_name LIKE '%s\\_%%'"
	    " UNION ALL "
	    "SELECT CONCAT('DROP PROCEDURE IF EXISTS `', routine_schema, '`.`', routine_name, '`')"
	    "  FROM information_schema.routines WHERE routine_name LIKE '%s\\_%%'"
	    " UNION ALL "
	    "SELECT CONCAT('DROP DATABASE IF EXISTS `', schema_name, '`')"
	    "  FROM information_schema.schemata WHERE schema_name LIKE '%s\\_%%'",
	    test_prefix, test_prefix, test_prefix);
	if (mysql_query(m, sql) == 0) {
		MYSQL_RES *res = mysql_store_result(m);
		MYSQL_ROW row;
		while (res && (row = mysql_fetch_row(res)) != NULL) {
			if (mysql_query(m, row[0]) != 0)
				fprintf(stderr, "cleanup: %s: %s\n", row[0], mysql_error(m));
			else
				fprintf(stderr, "cleanup: %s (left by a failed test)\n", row[0]);
		}
		mysql_free_result(res);
	} else {
		fprintf(stderr, "cleanup: listing objects failed: %s\n", mysql_error(m));
	}
	mysql_close(m);
}

/* ---- prepared statements ---------------------------------------------------------- */

struct typed_row {
	int32_t i;
	int64_t b;
	double d;
	const char *s;
	unsigned char bl[8];
	unsigned long bl_len;
	MYSQL_TIME dt;
	bool null_via_type; /* NULL sent as MYSQL_TYPE_NULL (else as LONG with is_null) */
};

static const struct typed_row typed_rows[] = {
    {.i = -42,
     .b = 9007199254740993LL, /* 2^53 + 1: would be mangled by any trip through double */
     .d = 3.25,
     .s = "it's a \"quoted\" \\ string",
     .bl = {0x00, 0xff, 0x10, 0x00, 'a', 0x80, 0x00, 0x7f},
     .bl_len = 8,
     .dt = {.year = 2024,
            .month = 2,
            .day = 29,
            .hour = 13,
            .minute = 45,
            .second = 56,
            .time_type = MYSQL_TIMESTAMP_DATETIME},
     .null_via_type = true},
    {.i = INT32_MAX,
     .b = INT64_MIN,
     .d = -1.5e300,
     .s = "",
     .bl = {0xfe},
     .bl_len = 1,
     .dt = {.year = 1999,
            .month = 12,
            .day = 31,
            .hour = 23,
            .minute = 59,
            .second = 59,
            .time_type = MYSQL_TIMESTAMP_DATETIME},
     .null_via_type = false},
};

START_TEST(test_stmt_param_types)
{
	MYSQL *m = client_connect(0);
	char t[OBJ_NAME_LEN], sql[SQL_LEN];
	obj_name(t, sizeof t, "types");
	fmt_sql(sql, sizeof sql,
	        "CREATE TABLE %s (id INT AUTO_INCREMENT PRIMARY KEY, i INT, b BIGINT, d DOUBLE,"
	        " s VARCHAR(64), bl BLOB, dt DATETIME, n INT NULL) ENGINE=InnoDB",
	        t);
	query_ok(m, sql);

	fmt_sql(sql, sizeof sql,
	        "INSERT INTO %s (i, b, d, s, bl, dt, n) VALUES (?, ?, ?, ?, ?, ?, ?)", t);
	MYSQL_STMT *ins = stmt_prepare(m, sql);
	ck_assert_uint_eq(mysql_stmt_param_count(ins), 7);
	ck_assert_uint_eq(mysql_stmt_field_count(ins), 0);

	unsigned long long ids[2];
	for (size_t r = 0; r < 2; r++) {
		struct typed_row v = typed_rows[r];
		unsigned long s_len = (unsigned long)strlen(v.s);
		int32_t n_val = 0;
		my_bool yes = 1;
		MYSQL_BIND p[7] = {
		    bind_long(&v.i),
		    bind_longlong(&v.b),
		    {.buffer_type = MYSQL_TYPE_DOUBLE, .buffer = &v.d},
		    bind_bytes(MYSQL_TYPE_STRING, (void *)v.s, s_len, &s_len),
		    bind_bytes(MYSQL_TYPE_BLOB, v.bl, v.bl_len, &v.bl_len),
		    {.buffer_type = MYSQL_TYPE_DATETIME, .buffer = &v.dt},
		    bind_long(&n_val),
		};
		if (v.null_via_type)
			p[6] = (MYSQL_BIND){.buffer_type = MYSQL_TYPE_NULL};
		else
			p[6].is_null = &yes;
		/* Rebinding makes the client resend parameter types (new_params_bound = 1). */
		stmt_ok(ins, mysql_stmt_bind_param(ins, p));
		stmt_ok(ins, mysql_stmt_execute(ins));
		ck_assert_msg(mysql_stmt_affected_rows(ins) == 1,
		              "row %zu: affected rows %llu, expected 1", r,
		              (unsigned long long)mysql_stmt_affected_rows(ins));
		ids[r] = mysql_stmt_insert_id(ins);
		ck_assert_msg(ids[r] > 0, "row %zu: mysql_stmt_insert_id is 0", r);
	}
	ck_assert_msg(ids[1] > ids[0], "insert ids not increasing: %llu then %llu", ids[0], ids[1]);
	stmt_ok(ins, mysql_stmt_close(ins));

	fmt_sql(sql, sizeof sql, "SELECT id, i, b, d, s, bl, dt, n FROM %s WHERE id = ?", t);
	MYSQL_STMT *sel = stmt_prepare(m, sql);
	ck_assert_uint_eq(mysql_stmt_param_count(sel), 1);
	ck_assert_uint_eq(mysql_stmt_field_count(sel), 8);

	MYSQL_RES *meta = mysql_stmt_result_metadata(sel);
	ck_assert_msg(meta != NULL, "no result metadata: %s", mysql_stmt_error(sel));
	ck_assert_uint_eq(mysql_num_fields(meta), 8);
	static const struct {
		const char *name;
		enum enum_field_types type;
	} want_fields[] = {
	    {"id", MYSQL_TYPE_LONG},     {"i", MYSQL_TYPE_LONG},       {"b", MYSQL_TYPE_LONGLONG},
	    {"d", MYSQL_TYPE_DOUBLE},    {"s", MYSQL_TYPE_VAR_STRING}, {"bl", MYSQL_TYPE_BLOB},
	    {"dt", MYSQL_TYPE_DATETIME}, {"n", MYSQL_TYPE_LONG},
	};
	MYSQL_FIELD *fields = mysql_fetch_fields(meta);
	for (unsigned int f = 0; f < 8; f++) {
		ck_assert_msg(strcmp(fields[f].name, want_fields[f].name) == 0,
		              "field %u is named \"%s\", expected \"%s\"", f, fields[f].name,
		              want_fields[f].name);
		ck_assert_msg(fields[f].type == want_fields[f].type,
		              "field %s has type %d, expected %d", fields[f].name,
		              (int)fields[f].type, (int)want_fields[f].type);
		ck_assert_msg(strcmp(fields[f].table, t) == 0,
		              "field %s: table \"%s\", expected \"%s\"", fields[f].name,
		              fields[f].table, t);
	}
	ck_assert_msg(fields[0].flags & PRI_KEY_FLAG, "id is not flagged PRI_KEY");
	ck_assert_msg(fields[0].flags & AUTO_INCREMENT_FLAG, "id is not flagged AUTO_INCREMENT");
	ck_assert_msg(fields[5].flags & BLOB_FLAG, "bl is not flagged BLOB");
	mysql_free_result(meta);

	for (size_t r = 0; r < 2; r++) {
		const struct typed_row *want = &typed_rows[r];
		int64_t key = (int64_t)ids[r];
		MYSQL_BIND kp = bind_longlong(&key);
		stmt_ok(sel, mysql_stmt_bind_param(sel, &kp));

		int32_t g_id = 0, g_i = 0, g_n = 0;
		int64_t g_b = 0;
		double g_d = 0;
		char g_s[65];
		unsigned char g_bl[16];
		unsigned long g_s_len = 0, g_bl_len = 0;
		MYSQL_TIME g_dt;
		my_bool is_null[8] = {0};
		MYSQL_BIND out[8] = {
		    bind_long(&g_id),
		    bind_long(&g_i),
		    bind_longlong(&g_b),
		    {.buffer_type = MYSQL_TYPE_DOUBLE, .buffer = &g_d},
		    bind_bytes(MYSQL_TYPE_STRING, g_s, sizeof g_s, &g_s_len),
		    bind_bytes(MYSQL_TYPE_BLOB, g_bl, sizeof g_bl, &g_bl_len),
		    {.buffer_type = MYSQL_TYPE_DATETIME, .buffer = &g_dt},
		    bind_long(&g_n),
		};
		for (int f = 0; f < 8; f++)
			out[f].is_null = &is_null[f];

		stmt_ok(sel, mysql_stmt_execute(sel));
		stmt_ok(sel, mysql_stmt_bind_result(sel, out));
		stmt_ok(sel, mysql_stmt_store_result(sel));
		ck_assert_msg(mysql_stmt_num_rows(sel) == 1, "row %zu: %llu rows, expected 1", r,
		              (unsigned long long)mysql_stmt_num_rows(sel));
		int rc = mysql_stmt_fetch(sel);
		ck_assert_msg(rc == 0, "row %zu: fetch returned %d: %s", r, rc,
		              mysql_stmt_error(sel));

		ck_assert_int_eq(g_id, (int32_t)ids[r]);
		ck_assert_int_eq(g_i, want->i);
		ck_assert_msg(g_b == want->b, "row %zu: bigint %lld, expected %lld", r,
		              (long long)g_b, (long long)want->b);
		ck_assert_msg(g_d == want->d, "row %zu: double %.17g, expected %.17g", r, g_d,
		              want->d);
		ck_assert_msg(g_s_len == strlen(want->s) && memcmp(g_s, want->s, g_s_len) == 0,
		              "row %zu: string \"%.*s\", expected \"%s\"", r, (int)g_s_len, g_s,
		              want->s);
		ck_assert_msg(g_bl_len == want->bl_len && memcmp(g_bl, want->bl, g_bl_len) == 0,
		              "row %zu: blob of %lu bytes differs (expected %lu)", r, g_bl_len,
		              want->bl_len);
		ck_assert_msg(
		    g_dt.year == want->dt.year && g_dt.month == want->dt.month &&
		        g_dt.day == want->dt.day && g_dt.hour == want->dt.hour &&
		        g_dt.minute == want->dt.minute && g_dt.second == want->dt.second,
		    "row %zu: datetime %04u-%02u-%02u %02u:%02u:%02u, expected %04u-%02u-%02u", r,
		    g_dt.year, g_dt.month, g_dt.day, g_dt.hour, g_dt.minute, g_dt.second,
		    want->dt.year, want->dt.month, want->dt.day);
		for (int f = 0; f < 7; f++)
			ck_assert_msg(!is_null[f], "row %zu: column %d unexpectedly NULL", r, f);
		ck_assert_msg(is_null[7], "row %zu: column n should be NULL", r);
		rc = mysql_stmt_fetch(sel);
		ck_assert_msg(rc == MYSQL_NO_DATA,
		              "row %zu: second fetch returned %d, expected NO_DATA", r, rc);
		stmt_ok(sel, mysql_stmt_free_result(sel));
	}
	stmt_ok(sel, mysql_stmt_close(sel));

	/* Affected rows of UPDATE and DELETE come from the statement's OK packet. */
	fmt_sql(sql, sizeof sql, "UPDATE %s SET d = ? WHERE id >= ?", t);
	MYSQL_STMT *upd = stmt_prepare(m, sql);
	double new_d = 0.5;
	int64_t min_id = 0;
	MYSQL_BIND up[2] = {{.buffer_type = MYSQL_TYPE_DOUBLE, .buffer = &new_d},
	                    bind_longlong(&min_id)};
	stmt_ok(upd, mysql_stmt_bind_param(upd, up));
	stmt_ok(upd, mysql_stmt_execute(upd));
	ck_assert_msg(mysql_stmt_affected_rows(upd) == 2, "UPDATE affected %llu rows, expected 2",
	              (unsigned long long)mysql_stmt_affected_rows(upd));
	stmt_ok(upd, mysql_stmt_execute(upd)); /* same values again: matched but not changed */
	ck_assert_msg(mysql_stmt_affected_rows(upd) == 0,
	              "repeated UPDATE affected %llu rows, expected 0",
	              (unsigned long long)mysql_stmt_affected_rows(upd));
	stmt_ok(upd, mysql_stmt_close(upd));

	fmt_sql(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", t);
	MYSQL_STMT *del = stmt_prepare(m, sql);
	int64_t del_id = (int64_t)ids[0];
	MYSQL_BIND dp = bind_longlong(&del_id);
	stmt_ok(del, mysql_stmt_bind_param(del, &dp));
	stmt_ok(del, mysql_stmt_execute(del));
	ck_assert_msg(mysql_stmt_affected_rows(del) == 1, "DELETE affected %llu rows, expected 1",
	              (unsigned long long)mysql_stmt_affected_rows(del));
	stmt_ok(del, mysql_stmt_close(del));

	fmt_sql(sql, sizeof sql, "DROP TABLE %s", t);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

/* 500 prepare/execute/fetch/close cycles, each with a new statement id. */
START_TEST(test_stmt_cycles)
{
	MYSQL *m = client_connect(0);
	for (int i = 0; i < 500; i++) {
		char sql[SQL_LEN];
		/* Alternate between repeated and unique text: a proxy may cache either way. */
		fmt_sql(sql, sizeof sql, "SELECT ? + %d AS v", i % 2 ? i : 1);
		MYSQL_STMT *st = stmt_prepare(m, sql);
		int64_t in = (int64_t)i * 1000, out = -1;
		MYSQL_BIND p = bind_longlong(&in), r = bind_longlong(&out);
		stmt_ok(st, mysql_stmt_bind_param(st, &p));
		stmt_ok(st, mysql_stmt_execute(st));
		stmt_ok(st, mysql_stmt_bind_result(st, &r));
		int rc = mysql_stmt_fetch(st);
		ck_assert_msg(rc == 0, "cycle %d: fetch returned %d: %s", i, rc,
		              mysql_stmt_error(st));
		int64_t want = in + (i % 2 ? i : 1);
		ck_assert_msg(out == want, "cycle %d: got %lld, expected %lld", i, (long long)out,
		              (long long)want);
		ck_assert_int_eq(mysql_stmt_fetch(st), MYSQL_NO_DATA);
		stmt_ok(st, mysql_stmt_close(st));
	}
	char v[32];
	query_scalar(m, "SELECT 'still usable'", v);
	ck_assert_str_eq(v, "still usable");
	mysql_close(m);
}
END_TEST

/* 64 statements open at once, executed out of order: ids must map to the right text. */
START_TEST(test_stmt_many_open)
{
	enum { N = 64 };
	MYSQL *m = client_connect(0);
	MYSQL_STMT *st[N];
	for (int i = 0; i < N; i++) {
		char sql[SQL_LEN];
		fmt_sql(sql, sizeof sql, "SELECT %d * ? AS v", i);
		st[i] = stmt_prepare(m, sql);
	}
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < N; k++) {
			int i = round == 1 ? N - 1 - k
			                   : (k * 37 + round) % N; /* reverse, then shuffled */
			int64_t in = round + 2, out = -1;
			MYSQL_BIND p = bind_longlong(&in), r = bind_longlong(&out);
			stmt_ok(st[i], mysql_stmt_bind_param(st[i], &p));
			stmt_ok(st[i], mysql_stmt_execute(st[i]));
			stmt_ok(st[i], mysql_stmt_bind_result(st[i], &r));
			ck_assert_int_eq(mysql_stmt_fetch(st[i]), 0);
			ck_assert_msg(out == (int64_t)i * in,
			              "stmt %d round %d: got %lld, expected %lld", i, round,
			              (long long)out, (long long)i * in);
			ck_assert_int_eq(mysql_stmt_fetch(st[i]), MYSQL_NO_DATA);
		}
	}
	for (int i = 0; i < N; i++)
		stmt_ok(st[i], mysql_stmt_close(st[i]));
	mysql_close(m);
}
END_TEST

START_TEST(test_stmt_errors)
{
	MYSQL *m = client_connect(0);
	char t[OBJ_NAME_LEN], sql[SQL_LEN], v[32];

	MYSQL_STMT *st = mysql_stmt_init(m);
	ck_assert_msg(st != NULL, "mysql_stmt_init failed: %s", mysql_error(m));
	const char *bad = "SELEC 1 FROM";
	ck_assert_msg(mysql_stmt_prepare(st, bad, (unsigned long)strlen(bad)) != 0,
	              "bad SQL prepared successfully");
	ck_assert_msg(mysql_stmt_errno(st) == ER_PARSE_ERROR, "bad SQL: expected 1064, got %u %s",
	              mysql_stmt_errno(st), mysql_stmt_error(st));
	ck_assert_str_eq(mysql_stmt_sqlstate(st), "42000");
	stmt_ok(st, mysql_stmt_close(st));
	query_scalar(m, "SELECT 'after 1064'", v);
	ck_assert_str_eq(v, "after 1064");

	obj_name(t, sizeof t, "missing");
	fmt_sql(sql, sizeof sql, "SELECT * FROM %s WHERE x = ?", t);
	st = mysql_stmt_init(m);
	ck_assert_msg(mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0,
	              "prepare on a missing table succeeded");
	ck_assert_msg(mysql_stmt_errno(st) == ER_NO_SUCH_TABLE, "expected 1146, got %u %s",
	              mysql_stmt_errno(st), mysql_stmt_error(st));
	/* The same handle prepares fine afterwards. */
	const char *good = "SELECT 7";
	stmt_ok(st, mysql_stmt_prepare(st, good, (unsigned long)strlen(good)));
	int32_t out = 0;
	MYSQL_BIND r = bind_long(&out);
	stmt_ok(st, mysql_stmt_execute(st));
	stmt_ok(st, mysql_stmt_bind_result(st, &r));
	ck_assert_int_eq(mysql_stmt_fetch(st), 0);
	ck_assert_int_eq(out, 7);
	ck_assert_int_eq(mysql_stmt_fetch(st), MYSQL_NO_DATA);
	stmt_ok(st, mysql_stmt_close(st));

	/* An execute-time error leaves the statement usable. */
	obj_name(t, sizeof t, "dupkey");
	fmt_sql(sql, sizeof sql, "CREATE TABLE %s (id INT PRIMARY KEY)", t);
	query_ok(m, sql);
	fmt_sql(sql, sizeof sql, "INSERT INTO %s VALUES (?)", t);
	st = stmt_prepare(m, sql);
	int32_t id = 1;
	MYSQL_BIND p = bind_long(&id);
	stmt_ok(st, mysql_stmt_bind_param(st, &p));
	stmt_ok(st, mysql_stmt_execute(st));
	ck_assert_msg(mysql_stmt_execute(st) != 0, "duplicate key insert succeeded");
	ck_assert_msg(mysql_stmt_errno(st) == ER_DUP_ENTRY, "expected 1062, got %u %s",
	              mysql_stmt_errno(st), mysql_stmt_error(st));
	id = 2;
	stmt_ok(st, mysql_stmt_execute(st));
	ck_assert_uint_eq(mysql_stmt_affected_rows(st), 1);
	stmt_ok(st, mysql_stmt_close(st));
	fmt_sql(sql, sizeof sql, "SELECT COUNT(*) FROM %s", t);
	query_scalar(m, sql, v);
	ck_assert_str_eq(v, "2");
	fmt_sql(sql, sizeof sql, "DROP TABLE %s", t);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

/*
 * Array binding: Connector/C sends one COM_STMT_BULK_EXECUTE (0xfa) when the server
 * greeting advertises MARIADB_CLIENT_STMT_BULK_OPERATIONS, so a proxy that passes
 * that capability through must forward the command too.
 */
START_TEST(test_stmt_bulk_execute)
{
	enum { ROWS = 3 };
	MYSQL *m = client_connect(0);
	char t[OBJ_NAME_LEN], sql[SQL_LEN], v[32];
	obj_name(t, sizeof t, "bulk");
	fmt_sql(sql, sizeof sql, "CREATE TABLE %s (id INT PRIMARY KEY, s VARCHAR(8))", t);
	query_ok(m, sql);
	fmt_sql(sql, sizeof sql, "INSERT INTO %s VALUES (?, ?)", t);
	MYSQL_STMT *st = stmt_prepare(m, sql);
	int32_t ids[ROWS] = {10, 20, 30};
	/* Column-wise arrays; variable-length values are an array of pointers. */
	const char *strs[ROWS] = {"ten", "twenty", "thirty"};
	unsigned long lens[ROWS] = {3, 6, 6};
	unsigned int size = ROWS;
	stmt_ok(st, mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size));
	MYSQL_BIND p[2] = {bind_long(ids), bind_bytes(MYSQL_TYPE_STRING, strs, 0, lens)};
	stmt_ok(st, mysql_stmt_bind_param(st, p));
	stmt_ok(st, mysql_stmt_execute(st));
	ck_assert_msg(mysql_stmt_affected_rows(st) == ROWS,
	              "bulk insert affected %llu rows, expected %d",
	              (unsigned long long)mysql_stmt_affected_rows(st), ROWS);
	stmt_ok(st, mysql_stmt_close(st));
	fmt_sql(sql, sizeof sql, "SELECT GROUP_CONCAT(id, s ORDER BY id) FROM %s", t);
	query_scalar(m, sql, v);
	ck_assert_str_eq(v, "10ten,20twenty,30thirty");
	fmt_sql(sql, sizeof sql, "DROP TABLE %s", t);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

/* ---- cursors ---------------------------------------------------------------------- */

enum { CURSOR_ROWS = 20 };

/* Creates table t with ids 1..CURSOR_ROWS and v = 'row-<id>'. */
static void cursor_table_create(MYSQL *m, const char *t)
{
	char sql[2048];
	fmt_sql(sql, sizeof sql, "CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(16))", t);
	query_ok(m, sql);
	size_t off = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s VALUES ", t);
	for (int i = 1; i <= CURSOR_ROWS; i++)
		off += (size_t)snprintf(sql + off, sizeof sql - off, "%s(%d, 'row-%d')",
		                        i > 1 ? "," : "", i, i);
	ck_assert_msg(off < sizeof sql, "insert too long");
	query_ok(m, sql);
}

/* A read-only cursor over t prefetching 3 rows per COM_STMT_FETCH. */
static MYSQL_STMT *cursor_open(MYSQL *m, const char *t, int32_t *id, char *v, unsigned long *v_len)
{
	char sql[SQL_LEN];
	fmt_sql(sql, sizeof sql, "SELECT id, v FROM %s ORDER BY id", t);
	MYSQL_STMT *st = stmt_prepare(m, sql);
	unsigned long type = CURSOR_TYPE_READ_ONLY, prefetch = 3;
	stmt_ok(st, mysql_stmt_attr_set(st, STMT_ATTR_CURSOR_TYPE, &type));
	stmt_ok(st, mysql_stmt_attr_set(st, STMT_ATTR_PREFETCH_ROWS, &prefetch));
	stmt_ok(st, mysql_stmt_execute(st));
	ck_assert_msg(m->server_status & SERVER_STATUS_CURSOR_EXISTS,
	              "no cursor opened (server_status 0x%x)", m->server_status);
	MYSQL_BIND out[2] = {bind_long(id), bind_bytes(MYSQL_TYPE_STRING, v, 16, v_len)};
	stmt_ok(st, mysql_stmt_bind_result(st, out));
	return st;
}

/* id, v and v_len are the buffers bound by cursor_open(), read after the fetch. */
static void cursor_expect_row(MYSQL_STMT *st, int want, const int32_t *id, const char *v,
                              const unsigned long *v_len)
{
	int rc = mysql_stmt_fetch(st);
	ck_assert_msg(rc == 0, "cursor row %d: fetch returned %d: %u %s", want, rc,
	              mysql_stmt_errno(st), mysql_stmt_error(st));
	char want_v[16];
	snprintf(want_v, sizeof want_v, "row-%d", want);
	ck_assert_msg(*id == want && *v_len == strlen(want_v) && memcmp(v, want_v, *v_len) == 0,
	              "cursor row %d: got (%d, '%.*s')", want, *id, (int)*v_len, v);
}

START_TEST(test_cursor_fetch)
{
	MYSQL *m = client_connect(0);
	char t[OBJ_NAME_LEN], sql[SQL_LEN], v[32], cv[17];
	int32_t id;
	unsigned long v_len;
	obj_name(t, sizeof t, "cursor");
	cursor_table_create(m, t);

	/* Full walk: 20 rows in 7 COM_STMT_FETCH round trips, then end of cursor. */
	MYSQL_STMT *st = cursor_open(m, t, &id, cv, &v_len);
	for (int i = 1; i <= CURSOR_ROWS; i++)
		cursor_expect_row(st, i, &id, cv, &v_len);
	int rc = mysql_stmt_fetch(st);
	ck_assert_msg(rc == MYSQL_NO_DATA, "after %d rows fetch returned %d: %s", CURSOR_ROWS, rc,
	              mysql_stmt_error(st));

	/* The connection takes other commands after the cursor is exhausted. */
	fmt_sql(sql, sizeof sql, "SELECT COUNT(*) FROM %s", t);
	query_scalar(m, sql, v);
	ck_assert_str_eq(v, "20");

	/* Re-execute the same cursor, read part of it, abandon it with COM_STMT_RESET. */
	stmt_ok(st, mysql_stmt_execute(st));
	for (int i = 1; i <= 4; i++)
		cursor_expect_row(st, i, &id, cv, &v_len);
	stmt_ok(st, mysql_stmt_reset(st));
	query_scalar(m, "SELECT 'after reset'", v);
	ck_assert_str_eq(v, "after reset");

	/* Once more, closing it mid-way with COM_STMT_CLOSE. */
	stmt_ok(st, mysql_stmt_execute(st));
	for (int i = 1; i <= 5; i++)
		cursor_expect_row(st, i, &id, cv, &v_len);
	stmt_ok(st, mysql_stmt_close(st));

	MYSQL_STMT *other = stmt_prepare(m, "SELECT 'after close'");
	char ov[32];
	unsigned long ov_len = 0;
	MYSQL_BIND r = bind_bytes(MYSQL_TYPE_STRING, ov, sizeof ov - 1, &ov_len);
	stmt_ok(other, mysql_stmt_execute(other));
	stmt_ok(other, mysql_stmt_bind_result(other, &r));
	ck_assert_int_eq(mysql_stmt_fetch(other), 0);
	ov[ov_len] = '\0';
	ck_assert_str_eq(ov, "after close");
	stmt_ok(other, mysql_stmt_close(other));

	fmt_sql(sql, sizeof sql, "DROP TABLE %s", t);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

/*
 * While a cursor is open the connection is free for other statements; the cursor
 * then continues where it stopped. A proxy must keep the session on that backend.
 */
START_TEST(test_cursor_interleaved)
{
	MYSQL *m = client_connect(0);
	char t[OBJ_NAME_LEN], sql[SQL_LEN], v[32], cv[17], cv2[17];
	int32_t id, id2;
	unsigned long v_len, v_len2;
	obj_name(t, sizeof t, "cursor2");
	cursor_table_create(m, t);

	MYSQL_STMT *a = cursor_open(m, t, &id, cv, &v_len);
	for (int i = 1; i <= 4; i++)
		cursor_expect_row(a, i, &id, cv, &v_len);

	fmt_sql(sql, sizeof sql, "SELECT v FROM %s WHERE id = 17", t);
	query_scalar(m, sql, v);
	ck_assert_str_eq(v, "row-17");

	MYSQL_STMT *b = cursor_open(m, t, &id2, cv2, &v_len2); /* a second open cursor */
	for (int i = 5; i <= 11; i++) {
		cursor_expect_row(a, i, &id, cv, &v_len);
		cursor_expect_row(b, i - 4, &id2, cv2, &v_len2);
	}
	stmt_ok(b, mysql_stmt_close(b));
	for (int i = 12; i <= CURSOR_ROWS; i++)
		cursor_expect_row(a, i, &id, cv, &v_len);
	ck_assert_int_eq(mysql_stmt_fetch(a), MYSQL_NO_DATA);
	stmt_ok(a, mysql_stmt_close(a));

	fmt_sql(sql, sizeof sql, "DROP TABLE %s", t);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

/* ---- long data, reset ------------------------------------------------------------- */

enum { LONG_DATA_LEN = 3 * 1024 * 1024, LONG_DATA_CHUNK = 100000 };

START_TEST(test_stmt_send_long_data)
{
	MYSQL *m = client_connect(0);
	char t[OBJ_NAME_LEN], sql[SQL_LEN], v[32];
	obj_name(t, sizeof t, "longdata");
	fmt_sql(sql, sizeof sql, "CREATE TABLE %s (id INT PRIMARY KEY, b LONGBLOB)", t);
	query_ok(m, sql);

	unsigned char *data = malloc(LONG_DATA_LEN);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < LONG_DATA_LEN; i++)
		data[i] = (unsigned char)((i * 31 + i / 4096) & 0xff);

	fmt_sql(sql, sizeof sql, "INSERT INTO %s (id, b) VALUES (?, ?)", t);
	MYSQL_STMT *st = stmt_prepare(m, sql);
	int32_t id = 1;
	unsigned long b_len = 0;
	MYSQL_BIND p[2] = {bind_long(&id), bind_bytes(MYSQL_TYPE_LONG_BLOB, NULL, 0, &b_len)};
	stmt_ok(st, mysql_stmt_bind_param(st, p));
	int chunks = 0;
	for (size_t off = 0; off < LONG_DATA_LEN; off += LONG_DATA_CHUNK, chunks++) {
		size_t n =
		    LONG_DATA_LEN - off < LONG_DATA_CHUNK ? LONG_DATA_LEN - off : LONG_DATA_CHUNK;
		stmt_ok(st, mysql_stmt_send_long_data(st, 1, (const char *)data + off,
		                                      (unsigned long)n));
	}
	ck_assert_int_eq(chunks, 32);
	stmt_ok(st, mysql_stmt_execute(st));
	ck_assert_uint_eq(mysql_stmt_affected_rows(st), 1);

	/*
	 * COM_STMT_RESET must discard long data already sent: without it the server would
	 * use "junk" instead of the value in the execute packet.
	 */
	stmt_ok(st, mysql_stmt_send_long_data(st, 1, "junk", 4));
	stmt_ok(st, mysql_stmt_reset(st));
	char small[] = "short";
	id = 2;
	b_len = 5;
	p[1] = bind_bytes(MYSQL_TYPE_LONG_BLOB, small, 5, &b_len);
	stmt_ok(st, mysql_stmt_bind_param(st, p));
	stmt_ok(st, mysql_stmt_execute(st));
	ck_assert_uint_eq(mysql_stmt_affected_rows(st), 1);
	stmt_ok(st, mysql_stmt_close(st));

	fmt_sql(sql, sizeof sql, "SELECT b FROM %s WHERE id = 2", t);
	query_scalar(m, sql, v);
	ck_assert_msg(strcmp(v, "short") == 0,
	              "after reset the value is \"%s\", expected \"short\"", v);

	fmt_sql(sql, sizeof sql, "SELECT LENGTH(b), b FROM %s WHERE id = 1", t);
	query_ok(m, sql);
	MYSQL_RES *res = mysql_store_result(m);
	ck_assert_msg(res != NULL, "no result: %s", mysql_error(m));
	MYSQL_ROW row = mysql_fetch_row(res);
	ck_assert_ptr_nonnull(row);
	unsigned long *lens = mysql_fetch_lengths(res);
	ck_assert_msg(strtoul(row[0], NULL, 10) == LONG_DATA_LEN && lens[1] == LONG_DATA_LEN,
	              "stored %s bytes (fetched %lu), expected %d", row[0], lens[1], LONG_DATA_LEN);
	ck_assert_msg(memcmp(row[1], data, LONG_DATA_LEN) == 0, "long data came back corrupted");
	mysql_free_result(res);
	free(data);

	fmt_sql(sql, sizeof sql, "DROP TABLE %s", t);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

/* ---- multiple result sets --------------------------------------------------------- */

static void proc_create(MYSQL *m, const char *p)
{
	char sql[SQL_LEN];
	fmt_sql(sql, sizeof sql, "DROP PROCEDURE IF EXISTS %s", p);
	query_ok(m, sql);
	fmt_sql(sql, sizeof sql,
	        "CREATE PROCEDURE %s(IN x INT, OUT y INT) BEGIN"
	        " SELECT x AS a;"
	        " SELECT x * 2 AS b, 'two' AS c UNION ALL SELECT x * 4, 'four';"
	        " SET y = x * 3;"
	        " END",
	        p);
	query_ok(m, sql);
}

/* Reads the current text-protocol result and checks it is nrows x ncols of `want`. */
static void expect_text_result(MYSQL *m, int set, unsigned int ncols, unsigned int nrows,
                               const char *const *want)
{
	MYSQL_RES *res = mysql_store_result(m);
	ck_assert_msg(res != NULL, "result set %d missing: %u %s", set, mysql_errno(m),
	              mysql_error(m));
	ck_assert_msg(mysql_num_fields(res) == ncols && mysql_num_rows(res) == nrows,
	              "result set %d is %llu x %u, expected %u x %u", set,
	              (unsigned long long)mysql_num_rows(res), mysql_num_fields(res), nrows, ncols);
	MYSQL_ROW row;
	for (unsigned int r = 0; (row = mysql_fetch_row(res)) != NULL; r++)
		for (unsigned int c = 0; c < ncols; c++)
			ck_assert_msg(strcmp(row[c] ? row[c] : "<NULL>", want[r * ncols + c]) == 0,
			              "result set %d [%u][%u] = \"%s\", expected \"%s\"", set, r, c,
			              row[c] ? row[c] : "<NULL>", want[r * ncols + c]);
	mysql_free_result(res);
}

START_TEST(test_call_multi_results_query)
{
	MYSQL *m = client_connect(CLIENT_MULTI_RESULTS);
	char p[OBJ_NAME_LEN], sql[SQL_LEN], v[32];
	obj_name(p, sizeof p, "proc_q");
	proc_create(m, p);

	fmt_sql(sql, sizeof sql, "CALL %s(5, @y)", p);
	query_ok(m, sql);
	expect_text_result(m, 1, 1, 1, (const char *const[]){"5"});
	ck_assert_msg(mysql_more_results(m), "no more results after the first SELECT");
	int rc = mysql_next_result(m);
	ck_assert_msg(rc == 0, "next_result returned %d: %s", rc, mysql_error(m));
	expect_text_result(m, 2, 2, 2, (const char *const[]){"10", "two", "20", "four"});
	/* The CALL's own OK packet closes the sequence. */
	rc = mysql_next_result(m);
	ck_assert_msg(rc == 0, "next_result (final OK) returned %d: %s", rc, mysql_error(m));
	ck_assert_uint_eq(mysql_field_count(m), 0);
	ck_assert_msg(!mysql_more_results(m), "more results flagged after the CALL's OK");
	ck_assert_int_eq(mysql_next_result(m), -1);

	query_scalar(m, "SELECT @y", v);
	ck_assert_str_eq(v, "15");

	fmt_sql(sql, sizeof sql, "DROP PROCEDURE %s", p);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

START_TEST(test_call_multi_results_prepared)
{
	MYSQL *m = client_connect(CLIENT_MULTI_RESULTS);
	char p[OBJ_NAME_LEN], sql[SQL_LEN];
	obj_name(p, sizeof p, "proc_ps");
	proc_create(m, p);

	fmt_sql(sql, sizeof sql, "CALL %s(?, ?)", p);
	MYSQL_STMT *st = stmt_prepare(m, sql);
	int32_t x = 7, y = 0;
	MYSQL_BIND in[2] = {bind_long(&x), bind_long(&y)};
	stmt_ok(st, mysql_stmt_bind_param(st, in));
	stmt_ok(st, mysql_stmt_execute(st));

	/* Expected: SELECT a; SELECT b, c (2 rows); OUT parameters; final OK. */
	static const char *const want[][2][2] = {
	    {{"7", NULL}, {NULL, NULL}},
	    {{"14", "two"}, {"28", "four"}},
	    {{"21", NULL}, {NULL, NULL}},
	};
	static const unsigned int want_cols[] = {1, 2, 1}, want_rows[] = {1, 2, 1};
	int set = 0;
	for (;;) {
		unsigned int ncols = mysql_stmt_field_count(st);
		if (ncols == 0)
			break; /* the CALL's status OK */
		ck_assert_msg(set < 3, "unexpected result set #%d with %u columns", set + 1, ncols);
		ck_assert_msg(ncols == want_cols[set], "result set #%d has %u columns, expected %u",
		              set + 1, ncols, want_cols[set]);
		bool out_params = (m->server_status & SERVER_PS_OUT_PARAMS) != 0;
		ck_assert_msg(out_params == (set == 2),
		              "result set #%d: SERVER_PS_OUT_PARAMS is %d", set + 1, out_params);
		char buf[2][32];
		unsigned long len[2] = {0, 0};
		MYSQL_BIND out[2] = {bind_bytes(MYSQL_TYPE_STRING, buf[0], 31, &len[0]),
		                     bind_bytes(MYSQL_TYPE_STRING, buf[1], 31, &len[1])};
		stmt_ok(st, mysql_stmt_bind_result(st, out));
		stmt_ok(st, mysql_stmt_store_result(st));
		unsigned int rows = 0;
		int rc;
		while ((rc = mysql_stmt_fetch(st)) == 0) {
			ck_assert_msg(rows < want_rows[set], "result set #%d: extra row", set + 1);
			for (unsigned int c = 0; c < ncols; c++) {
				buf[c][len[c]] = '\0';
				ck_assert_msg(strcmp(buf[c], want[set][rows][c]) == 0,
				              "result set #%d [%u][%u] = \"%s\", expected \"%s\"",
				              set + 1, rows, c, buf[c], want[set][rows][c]);
			}
			rows++;
		}
		ck_assert_msg(rc == MYSQL_NO_DATA, "result set #%d: fetch returned %d: %s", set + 1,
		              rc, mysql_stmt_error(st));
		ck_assert_msg(rows == want_rows[set], "result set #%d has %u rows, expected %u",
		              set + 1, rows, want_rows[set]);
		set++;
		rc = mysql_stmt_next_result(st);
		ck_assert_msg(rc == 0, "mysql_stmt_next_result after set #%d returned %d: %u %s",
		              set, rc, mysql_stmt_errno(st), mysql_stmt_error(st));
	}
	ck_assert_msg(set == 3, "saw %d result sets, expected 3", set);
	ck_assert_int_eq(mysql_stmt_next_result(st), -1);

	/* Executing again must replay the whole sequence on the same statement id. */
	x = 1;
	stmt_ok(st, mysql_stmt_execute(st));
	int sets = 0;
	do {
		if (mysql_stmt_field_count(st) > 0) {
			stmt_ok(st, mysql_stmt_store_result(st));
			sets++;
		}
	} while (mysql_stmt_next_result(st) == 0);
	ck_assert_int_eq(sets, 3);
	stmt_ok(st, mysql_stmt_close(st));

	char v[32];
	query_scalar(m, "SELECT 'after prepared CALL'", v);
	ck_assert_str_eq(v, "after prepared CALL");
	fmt_sql(sql, sizeof sql, "DROP PROCEDURE %s", p);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

START_TEST(test_multi_statements_option)
{
	MYSQL *m = client_connect(CLIENT_MULTI_STATEMENTS);
	const char *multi = "SELECT 1 AS a; SELECT 2 AS b";
	char v[32];

	query_ok(m, multi);
	expect_text_result(m, 1, 1, 1, (const char *const[]){"1"});
	ck_assert_int_eq(mysql_next_result(m), 0);
	expect_text_result(m, 2, 1, 1, (const char *const[]){"2"});
	ck_assert_int_eq(mysql_next_result(m), -1);

	/* OK, result set and OK again, chained by SERVER_MORE_RESULTS_EXIST. */
	query_ok(m, "SET @ms = 41; SELECT @ms + 1; DO 0");
	ck_assert_uint_eq(mysql_field_count(m), 0);
	ck_assert_int_eq(mysql_next_result(m), 0);
	expect_text_result(m, 2, 1, 1, (const char *const[]){"42"});
	ck_assert_int_eq(mysql_next_result(m), 0);
	ck_assert_uint_eq(mysql_field_count(m), 0);
	ck_assert_int_eq(mysql_next_result(m), -1);

	/* An error ends the chain; the connection stays usable. */
	query_ok(m, "SELECT 1; SELEC 2; SELECT 3");
	expect_text_result(m, 1, 1, 1, (const char *const[]){"1"});
	int rc = mysql_next_result(m);
	ck_assert_msg(rc > 0 && mysql_errno(m) == ER_PARSE_ERROR,
	              "error in a multi-statement: next_result %d, errno %u %s", rc, mysql_errno(m),
	              mysql_error(m));
	query_scalar(m, "SELECT 'after error'", v);
	ck_assert_str_eq(v, "after error");

	int opt = mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
	ck_assert_msg(opt == 0, "MULTI_STATEMENTS_OFF failed: %u %s", mysql_errno(m),
	              mysql_error(m));
	query_fails(m, multi, ER_PARSE_ERROR);
	query_scalar(m, "SELECT 'single ok'", v);
	ck_assert_str_eq(v, "single ok");

	opt = mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_ON);
	ck_assert_msg(opt == 0, "MULTI_STATEMENTS_ON failed: %u %s", mysql_errno(m),
	              mysql_error(m));
	query_ok(m, multi);
	expect_text_result(m, 1, 1, 1, (const char *const[]){"1"});
	ck_assert_int_eq(mysql_next_result(m), 0);
	expect_text_result(m, 2, 1, 1, (const char *const[]){"2"});
	ck_assert_int_eq(mysql_next_result(m), -1);
	mysql_close(m);
}
END_TEST

/* ---- session commands ------------------------------------------------------------- */

START_TEST(test_change_user)
{
	MYSQL *m = client_connect(0);
	char db[OBJ_NAME_LEN], sql[SQL_LEN], v[OBJ_NAME_LEN];
	obj_name(db, sizeof db, "db");
	fmt_sql(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS %s", db);
	query_ok(m, sql);

	query_ok(m, "SET @cu = 'before'");
	query_scalar(m, "SELECT @cu", v);
	ck_assert_str_eq(v, "before");

	if (mysql_change_user(m, TEST_USER, TEST_PASSWORD, db) != 0)
		ck_abort_msg("change_user to %s failed: %u %s", db, mysql_errno(m), mysql_error(m));
	query_scalar(m, "SELECT DATABASE()", v);
	ck_assert_str_eq(v, db);
	query_scalar(m, "SELECT @cu", v);
	ck_assert_msg(strcmp(v, "<NULL>") == 0, "user variable survived change_user: %s", v);
	query_scalar(m, "SELECT CURRENT_USER() LIKE 'app@%'", v);
	ck_assert_str_eq(v, "1");

	/* Back to the test db; prepared statements work on the new session. */
	if (mysql_change_user(m, TEST_USER, TEST_PASSWORD, TEST_DB) != 0)
		ck_abort_msg("change_user back failed: %u %s", mysql_errno(m), mysql_error(m));
	query_scalar(m, "SELECT DATABASE()", v);
	ck_assert_str_eq(v, TEST_DB);
	MYSQL_STMT *st = stmt_prepare(m, "SELECT 1");
	stmt_ok(st, mysql_stmt_execute(st));
	stmt_ok(st, mysql_stmt_close(st));

	fmt_sql(sql, sizeof sql, "DROP DATABASE %s", db);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

START_TEST(test_change_user_bad_password)
{
	MYSQL *m = client_connect(0);
	int rc = mysql_change_user(m, TEST_USER, "definitely-wrong", TEST_DB);
	ck_assert_msg(rc != 0, "change_user with a wrong password succeeded");
	ck_assert_msg(mysql_errno(m) == ER_ACCESS_DENIED_ERROR, "expected 1045, got %u %s",
	              mysql_errno(m), mysql_error(m));
	mysql_close(m);

	/* The server still accepts the right credentials on a new connection. */
	m = client_connect(0);
	ck_assert_int_eq(mysql_ping(m), 0);
	mysql_close(m);
}
END_TEST

START_TEST(test_stat_ping)
{
	MYSQL *m = client_connect(0);
	const char *stat = mysql_stat(m);
	ck_assert_msg(stat != NULL, "mysql_stat failed: %u %s", mysql_errno(m), mysql_error(m));
	ck_assert_msg(strncmp(stat, "Uptime", 6) == 0, "mysql_stat returned \"%.100s\"", stat);
	ck_assert_msg(mysql_ping(m) == 0, "mysql_ping failed: %u %s", mysql_errno(m),
	              mysql_error(m));
	char v[32];
	query_scalar(m, "SELECT 'after stat'", v); /* COM_STATISTICS has no OK: framing must hold */
	ck_assert_str_eq(v, "after stat");
	ck_assert_msg(mysql_ping(m) == 0, "mysql_ping failed: %u %s", mysql_errno(m),
	              mysql_error(m));
	mysql_close(m);
}
END_TEST

START_TEST(test_select_db)
{
	MYSQL *m = client_connect(0);
	char db[OBJ_NAME_LEN], v[OBJ_NAME_LEN];
	ck_assert_msg(mysql_select_db(m, "information_schema") == 0, "select_db failed: %u %s",
	              mysql_errno(m), mysql_error(m));
	query_scalar(m, "SELECT DATABASE()", v);
	ck_assert_str_eq(v, "information_schema");
	ck_assert_msg(mysql_select_db(m, TEST_DB) == 0, "select_db failed: %u %s", mysql_errno(m),
	              mysql_error(m));
	query_scalar(m, "SELECT DATABASE()", v);
	ck_assert_str_eq(v, TEST_DB);

	obj_name(db, sizeof db, "nosuchdb");
	ck_assert_msg(mysql_select_db(m, db) != 0, "select_db on a missing database succeeded");
	ck_assert_msg(mysql_errno(m) == ER_BAD_DB_ERROR, "expected 1049, got %u %s", mysql_errno(m),
	              mysql_error(m));
	query_scalar(m, "SELECT DATABASE()", v);
	ck_assert_str_eq(v, TEST_DB);
	mysql_close(m);
}
END_TEST

START_TEST(test_reset_connection)
{
	MYSQL *m = client_connect(0);
	char v[OBJ_NAME_LEN];
	query_ok(m, "SET @rc = 'kept?'");
	query_scalar(m, "SELECT @rc", v);
	ck_assert_str_eq(v, "kept?");
	ck_assert_msg(mysql_reset_connection(m) == 0, "reset_connection failed: %u %s",
	              mysql_errno(m), mysql_error(m));
	query_scalar(m, "SELECT @rc", v);
	ck_assert_msg(strcmp(v, "<NULL>") == 0, "user variable survived reset_connection: %s", v);
	query_scalar(m, "SELECT DATABASE()", v);
	ck_assert_str_eq(v, TEST_DB);
	MYSQL_STMT *st = stmt_prepare(m, "SELECT 2");
	stmt_ok(st, mysql_stmt_execute(st));
	stmt_ok(st, mysql_stmt_close(st));
	mysql_close(m);
}
END_TEST

START_TEST(test_list_fields)
{
	MYSQL *m = client_connect(0);
	char t[OBJ_NAME_LEN], sql[SQL_LEN], v[32];
	obj_name(t, sizeof t, "fields");
	fmt_sql(sql, sizeof sql,
	        "CREATE TABLE %s (a INT NOT NULL DEFAULT 3, b VARCHAR(10), c DATETIME)", t);
	query_ok(m, sql);

	MYSQL_RES *res = mysql_list_fields(m, t, NULL);
	ck_assert_msg(res != NULL, "list_fields failed: %u %s", mysql_errno(m), mysql_error(m));
	static const char *const names[] = {"a", "b", "c"};
	static const enum enum_field_types types[] = {MYSQL_TYPE_LONG, MYSQL_TYPE_VAR_STRING,
	                                              MYSQL_TYPE_DATETIME};
	ck_assert_uint_eq(mysql_num_fields(res), 3);
	MYSQL_FIELD *f = mysql_fetch_fields(res);
	for (unsigned int i = 0; i < 3; i++) {
		ck_assert_msg(strcmp(f[i].name, names[i]) == 0,
		              "field %u is \"%s\", expected \"%s\"", i, f[i].name, names[i]);
		ck_assert_msg(f[i].type == types[i], "field %s has type %d, expected %d", f[i].name,
		              (int)f[i].type, (int)types[i]);
	}
	ck_assert_msg(f[0].def != NULL && strcmp(f[0].def, "3") == 0,
	              "field a: default \"%s\", expected \"3\"", f[0].def ? f[0].def : "(none)");
	mysql_free_result(res);

	res = mysql_list_fields(m, t, "b%");
	ck_assert_msg(res != NULL, "list_fields with wildcard failed: %u %s", mysql_errno(m),
	              mysql_error(m));
	ck_assert_uint_eq(mysql_num_fields(res), 1);
	ck_assert_str_eq(mysql_fetch_fields(res)[0].name, "b");
	mysql_free_result(res);

	query_scalar(m, "SELECT 'after field list'", v);
	ck_assert_str_eq(v, "after field list");
	fmt_sql(sql, sizeof sql, "DROP TABLE %s", t);
	query_ok(m, sql);
	mysql_close(m);
}
END_TEST

START_TEST(test_connect_unknown_db)
{
	char db[OBJ_NAME_LEN];
	obj_name(db, sizeof db, "nosuchdb");
	MYSQL *m = client_create();
	MYSQL *ok =
	    mysql_real_connect(m, TEST_HOST, TEST_USER, TEST_PASSWORD, db, test_port, NULL, 0);
	ck_assert_msg(ok == NULL, "connect with unknown database %s succeeded", db);
	ck_assert_msg(mysql_errno(m) == ER_BAD_DB_ERROR, "expected 1049, got %u %s", mysql_errno(m),
	              mysql_error(m));
	mysql_close(m);

	m = client_create();
	ck_assert_msg(mysql_real_connect(m, TEST_HOST, TEST_USER, "wrong", TEST_DB, test_port, NULL,
	                                 0) == NULL,
	              "connect with a wrong password succeeded");
	ck_assert_msg(mysql_errno(m) == ER_ACCESS_DENIED_ERROR, "expected 1045, got %u %s",
	              mysql_errno(m), mysql_error(m));
	mysql_close(m);
}
END_TEST

/* ---- result sets ------------------------------------------------------------------ */

enum { STREAM_ROWS = 50000 };

START_TEST(test_use_result_stream)
{
	MYSQL *m = client_connect(0);
	char sql[SQL_LEN], v[32];
	fmt_sql(sql, sizeof sql,
	        /* Not a recursive CTE: max_recursive_iterations (1000) truncates it silently. */
	        "WITH d(n) AS (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9))"
	        " SELECT 1 + a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n AS n,"
	        " REPEAT('x', 40) AS pad FROM d a, d b, d c, d e, d f"
	        " WHERE 1 + a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n <= %d",
	        STREAM_ROWS);
	query_ok(m, sql);
	MYSQL_RES *res = mysql_use_result(m);
	ck_assert_msg(res != NULL, "use_result failed: %u %s", mysql_errno(m), mysql_error(m));
	unsigned long long rows = 0, sum = 0;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)) != NULL) {
		rows++;
		sum += strtoull(row[0], NULL, 10);
	}
	ck_assert_msg(mysql_errno(m) == 0, "streaming stopped after %llu rows: %u %s", rows,
	              mysql_errno(m), mysql_error(m));
	ck_assert_msg(rows == STREAM_ROWS, "streamed %llu rows, expected %d", rows, STREAM_ROWS);
	ck_assert_msg(sum == (unsigned long long)STREAM_ROWS * (STREAM_ROWS + 1) / 2,
	              "sum of n is %llu", sum);
	mysql_free_result(res);

	/* Abandoning a streamed result early: the client drains the rest itself. */
	query_ok(m, sql);
	res = mysql_use_result(m);
	ck_assert_msg(res != NULL, "use_result failed: %u %s", mysql_errno(m), mysql_error(m));
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_nonnull(mysql_fetch_row(res));
	mysql_free_result(res);
	query_scalar(m, "SELECT 'after stream'", v);
	ck_assert_str_eq(v, "after stream");
	mysql_close(m);
}
END_TEST

START_TEST(test_warnings)
{
	MYSQL *m = client_connect(0);
	char v[32];
	query_ok(m, "SELECT CAST('12abc' AS SIGNED), CAST('x' AS SIGNED)");
	MYSQL_RES *res = mysql_store_result(m);
	ck_assert_ptr_nonnull(res);
	mysql_free_result(res);
	ck_assert_msg(mysql_warning_count(m) == 2, "warning count %u, expected 2",
	              mysql_warning_count(m));
	query_ok(m, "SHOW WARNINGS");
	res = mysql_store_result(m);
	ck_assert_ptr_nonnull(res);
	ck_assert_uint_eq(mysql_num_rows(res), 2);
	MYSQL_ROW row = mysql_fetch_row(res);
	ck_assert_msg(strcmp(row[1], "1292") == 0, "first warning code %s, expected 1292", row[1]);
	mysql_free_result(res);

	/* A warning carried by an OK packet (a Note) rather than an EOF. */
	query_ok(m, "DROP TABLE IF EXISTS capi_never_existed_table");
	ck_assert_msg(mysql_warning_count(m) == 1,
	              "warning count after DROP IF EXISTS %u, expected 1", mysql_warning_count(m));

	/* And through a prepared statement. */
	MYSQL_STMT *st = stmt_prepare(m, "SELECT CAST(? AS SIGNED)");
	char in[] = "7zz";
	unsigned long in_len = 3;
	MYSQL_BIND p = bind_bytes(MYSQL_TYPE_STRING, in, in_len, &in_len);
	stmt_ok(st, mysql_stmt_bind_param(st, &p));
	stmt_ok(st, mysql_stmt_execute(st));
	stmt_ok(st, mysql_stmt_store_result(st));
	ck_assert_msg(mysql_warning_count(m) == 1, "prepared: warning count %u, expected 1",
	              mysql_warning_count(m));
	stmt_ok(st, mysql_stmt_close(st));

	query_scalar(m, "SELECT 'clean'", v);
	ck_assert_uint_eq(mysql_warning_count(m), 0);
	mysql_close(m);
}
END_TEST

/* ---- runner ----------------------------------------------------------------------- */

static TCase *tcase_make(const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, TCASE_TIMEOUT_S);
	return tc;
}

static Suite *capi_suite(void)
{
	Suite *s = suite_create("capi");
	TCase *tc;

	tc = tcase_make("prepared");
	tcase_add_test(tc, test_stmt_param_types);
	tcase_add_test(tc, test_stmt_cycles);
	tcase_add_test(tc, test_stmt_many_open);
	tcase_add_test(tc, test_stmt_errors);
	tcase_add_test(tc, test_stmt_bulk_execute);
	suite_add_tcase(s, tc);

	tc = tcase_make("cursor");
	tcase_add_test(tc, test_cursor_fetch);
	tcase_add_test(tc, test_cursor_interleaved);
	suite_add_tcase(s, tc);

	tc = tcase_make("long_data");
	tcase_add_test(tc, test_stmt_send_long_data);
	suite_add_tcase(s, tc);

	tc = tcase_make("multi_results");
	tcase_add_test(tc, test_call_multi_results_query);
	tcase_add_test(tc, test_call_multi_results_prepared);
	tcase_add_test(tc, test_multi_statements_option);
	suite_add_tcase(s, tc);

	tc = tcase_make("session");
	tcase_add_test(tc, test_change_user);
	tcase_add_test(tc, test_change_user_bad_password);
	tcase_add_test(tc, test_stat_ping);
	tcase_add_test(tc, test_select_db);
	tcase_add_test(tc, test_reset_connection);
	tcase_add_test(tc, test_list_fields);
	tcase_add_test(tc, test_connect_unknown_db);
	suite_add_tcase(s, tc);

	tc = tcase_make("results");
	tcase_add_test(tc, test_use_result_stream);
	tcase_add_test(tc, test_warnings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *port = getenv("SLUICE_TEST_PORT");
	char *end = NULL;
	unsigned long p = port && *port ? strtoul(port, &end, 10) : DEFAULT_PORT;
	if ((port && *port && *end != '\0') || p == 0 || p > 65535) {
		fprintf(stderr, "test_capi: bad SLUICE_TEST_PORT \"%s\"\n", port);
		return EXIT_FAILURE;
	}
	test_port = (unsigned int)p;
	snprintf(test_prefix, sizeof test_prefix, "capi_%d", (int)getpid());
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "test_capi: mysql_library_init failed\n");
		return EXIT_FAILURE;
	}
	fprintf(stderr, "test_capi: %s:%u, Connector/C %s, objects %s_*\n", TEST_HOST, test_port,
	        mysql_get_client_info(), test_prefix);

	SRunner *sr = srunner_create(capi_suite());
	srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists every test */
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	cleanup_objects();
	mysql_library_end();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
