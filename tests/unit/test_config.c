/*
 * test_config.c - unit tests for common/config.c: the sandbox's file parsed into every field,
 * defaults, each documented error line (with its line number), config_load, config_find_user
 * and the generated reference.
 */
#include "config.h"
#include "log.h"

#include "check_main.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* conf/sluice.conf, verbatim. */
static const char sandbox_conf[] =
    "; Sluice configuration for the local sandbox (scripts/sandbox.sh).\n"
    "; Every key is documented in docs/configuration.md.\n"
    "\n"
    "[proxy]\n"
    "listen = 127.0.0.1:6033\n"
    "threads = 2\n"
    "max_connections = 10000\n"
    "shutdown_timeout_ms = 5000\n"
    "\n"
    "[stats]\n"
    "listen = 127.0.0.1:6080\n"
    "\n"
    "[user.app]\n"
    "password = app\n"
    "\n"
    "[primary]\n"
    "address = 127.0.0.1:13306\n"
    "\n"
    "[replica.r1]\n"
    "address = 127.0.0.1:13307\n"
    "weight = 1\n"
    "\n"
    "[replica.r2]\n"
    "address = 127.0.0.1:13308\n"
    "weight = 1\n"
    "\n"
    "[monitor]\n"
    "user = monitor\n"
    "password = monitor\n"
    "interval_ms = 200\n"
    "max_replica_lag_ms = 1000\n"
    "\n"
    "[routing]\n"
    "balance = round-robin\n"
    "\n"
    "[pinning]\n"
    "mode = window\n"
    "window_ms = 500\n"
    "redis = 127.0.0.1:16379\n"
    "\n"
    "[cache]\n"
    "enabled = false\n"
    "ttl_s = 300\n"
    "tables = *\n"
    "\n"
    "[binlog]\n"
    "server_id = 9001\n"
    "redis = 127.0.0.1:16379\n";

/* The smallest valid file: the two required sections. */
#define MINIMAL "[user.app]\npassword = app\n[primary]\naddress = 127.0.0.1:13306\n"

static char err[4096];

static struct config *load(const char *text)
{
	memset(err, 'X', sizeof(err));
	return config_load_string("t.conf", text, err, sizeof(err));
}

#define ck_addr(a, h, p)                                                                           \
	do {                                                                                       \
		ck_assert_str_eq((a).host, h);                                                     \
		ck_assert_uint_eq((a).port, p);                                                    \
	} while (0)

START_TEST(test_sandbox_file)
{
	struct config *c = load(sandbox_conf);
	ck_assert_msg(c != NULL, "errors: %s", err);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c->path, "t.conf");
	ck_addr(c->proxy.listen, "127.0.0.1", 6033);
	ck_assert_int_eq(c->proxy.threads, 2);
	ck_assert_int_eq(c->proxy.max_connections, 10000);
	ck_assert_int_eq(c->proxy.shutdown_timeout_ms, 5000);
	ck_assert_int_eq(c->proxy.connect_timeout_ms, 3000); /* defaults for keys left out */
	ck_assert_int_eq(c->proxy.backend_idle_timeout_ms, 60000);
	ck_assert_int_eq(c->proxy.max_packet_mb, 64);
	ck_assert_int_eq(c->proxy.log_level, LOG_INFO);
	ck_addr(c->stats.listen, "127.0.0.1", 6080);
	ck_assert_uint_eq(c->n_users, 1);
	ck_assert_str_eq(c->users[0].name, "app");
	ck_assert_str_eq(c->users[0].password, "app");
	ck_assert_str_eq(c->primary.name, "primary");
	ck_addr(c->primary.address, "127.0.0.1", 13306);
	ck_assert_int_eq(c->primary.weight, 0);
	ck_assert_uint_eq(c->n_replicas, 2);
	ck_assert_str_eq(c->replicas[0].name, "r1");
	ck_addr(c->replicas[0].address, "127.0.0.1", 13307);
	ck_assert_int_eq(c->replicas[0].weight, 1);
	ck_assert_str_eq(c->replicas[1].name, "r2");
	ck_addr(c->replicas[1].address, "127.0.0.1", 13308);
	ck_assert_int_eq(c->replicas[1].weight, 1);
	ck_assert_str_eq(c->monitor.user, "monitor");
	ck_assert_str_eq(c->monitor.password, "monitor");
	ck_assert_int_eq(c->monitor.interval_ms, 200);
	ck_assert_int_eq(c->monitor.max_replica_lag_ms, 1000);
	ck_assert_int_eq(c->routing.balance, BALANCE_ROUND_ROBIN);
	ck_assert_int_eq(c->pinning.mode, PIN_WINDOW);
	ck_assert_int_eq(c->pinning.window_ms, 500);
	ck_addr(c->pinning.redis, "127.0.0.1", 16379);
	ck_assert(!c->cache.enabled);
	ck_assert_int_eq(c->cache.ttl_s, 300);
	ck_assert_str_eq(c->cache.tables, "*");
	ck_assert_int_eq(c->binlog.server_id, 9001);
	ck_addr(c->binlog.redis, "127.0.0.1", 16379);
	ck_assert_str_eq(cfg_balance_str(c->routing.balance), "round-robin");
	ck_assert_str_eq(cfg_pin_mode_str(c->pinning.mode), "window");
	config_free(c);
}
END_TEST

START_TEST(test_defaults)
{
	struct config *c = load(MINIMAL);
	ck_assert_msg(c != NULL, "errors: %s", err);
	ck_addr(c->proxy.listen, "127.0.0.1", 6033);
	ck_assert_int_eq(c->proxy.threads, 2);
	ck_assert_int_eq(c->proxy.max_connections, 10000);
	ck_assert_int_eq(c->proxy.shutdown_timeout_ms, 5000);
	ck_assert_int_eq(c->proxy.connect_timeout_ms, 3000);
	ck_assert_int_eq(c->proxy.log_level, LOG_INFO);
	ck_addr(c->stats.listen, "127.0.0.1", 6080);
	ck_assert_uint_eq(c->n_replicas, 0);
	ck_assert_str_eq(c->monitor.user, "monitor");
	ck_assert_str_eq(c->monitor.password, "");
	ck_assert_int_eq(c->monitor.interval_ms, 200);
	ck_assert_int_eq(c->routing.balance, BALANCE_ROUND_ROBIN);
	ck_assert_int_eq(c->pinning.mode, PIN_WINDOW);
	ck_addr(c->pinning.redis, "127.0.0.1", 6379);
	ck_assert(!c->cache.enabled);
	ck_assert_int_eq(c->cache.ttl_s, 300);
	ck_assert_str_eq(c->cache.tables, "*");
	ck_assert_int_eq(c->binlog.server_id, 9001);
	config_free(c);
}
END_TEST

/* Values that must be accepted, each checked by a predicate on the result. */
static const struct {
	const char *text;
	const char *what;
} good_cases[] = {
    {MINIMAL "[proxy]\nlisten = [::1]:6033\n", "v6 listen"},
    {MINIMAL "[proxy]\nlisten = 0.0.0.0:65535\nthreads = 64\nlog_level = debug\n", "limits"},
    {MINIMAL "[cache]\nenabled = YES\n", "bool yes"},
    {MINIMAL "[cache]\nenabled = on\n", "bool on"},
    {MINIMAL "[cache]\nenabled = 1\n", "bool 1"},
    {MINIMAL "[routing]\nbalance = least-connections\n[pinning]\nmode = gtid\n", "enums"},
    {"[user.a]\npassword =\n[user.b]\npassword = x ; comment\n[primary]\naddress = db:1\n",
     "two users, an empty password"},
    {MINIMAL "[replica.r1]\naddress = h:2\nweight = 0\n", "weight 0"},
};

START_TEST(test_good_values)
{
	struct config *c = load(good_cases[_i].text);
	ck_assert_msg(c != NULL, "%s: %s", good_cases[_i].what, err);
	switch (_i) {
	case 0: ck_addr(c->proxy.listen, "::1", 6033); break;
	case 1:
		ck_addr(c->proxy.listen, "0.0.0.0", 65535);
		ck_assert_int_eq(c->proxy.threads, 64);
		ck_assert_int_eq(c->proxy.log_level, LOG_DEBUG);
		break;
	case 2:
	case 3:
	case 4: ck_assert(c->cache.enabled); break;
	case 5:
		ck_assert_int_eq(c->routing.balance, BALANCE_LEAST_CONNECTIONS);
		ck_assert_int_eq(c->pinning.mode, PIN_GTID);
		break;
	case 6:
		ck_assert_uint_eq(c->n_users, 2);
		ck_assert_ptr_nonnull(config_find_user(c, "a"));
		ck_assert_str_eq(config_find_user(c, "a")->password, "");
		ck_assert_str_eq(config_find_user(c, "b")->password, "x");
		ck_assert_ptr_null(config_find_user(c, "c"));
		ck_assert_ptr_null(config_find_user(c, "A"));
		ck_assert_ptr_null(config_find_user(c, ""));
		ck_addr(c->primary.address, "db", 1);
		break;
	case 7: ck_assert_int_eq(c->replicas[0].weight, 0); break;
	}
	config_free(c);
}
END_TEST

/* A line of n characters (key = value, no newline) for the line-length cases. */
#define LINE_198                                                                                   \
	"tables = " /* and 189 more: 198 characters */                                             \
	"*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,"         \
	"*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,*,"         \
	"*,*,*,*,*,*,*,*,*,*,*,*,*,*,*"

_Static_assert(sizeof(LINE_198) - 1 == 198, "LINE_198 must be 198 characters");

static const struct {
	const char *name;
	const char *text;
	int n_errors;
	const char *lines[4]; /* each must appear as a whole line of err */
} bad_cases[] = {
    {"unknown key", MINIMAL "[proxy]\nbogus = 1\n", 1, {"t.conf:6: [proxy] bogus: unknown key"}},
    {"unknown key in a named section",
     "[user.app]\npassword = a\nweight = 1\n[primary]\naddress = h:1\n",
     1,
     {"t.conf:3: [user.app] weight: unknown key"}},
    {"unknown section",
     "[nosuch]\nkey = 1\nother = 2\n" MINIMAL,
     1,
     {"t.conf:1: [nosuch]: unknown section"}},
    {"name on a singleton section",
     MINIMAL "[proxy.x]\nthreads = 1\n",
     1,
     {"t.conf:5: [proxy.x]: unknown section"}},
    {"bad integer",
     MINIMAL "[proxy]\nthreads = abc\n",
     1,
     {"t.conf:6: [proxy] threads: must be an integer from 1 to 64 (got \"abc\")"}},
    {"integer with junk",
     MINIMAL "[proxy]\nthreads = 4x\n",
     1,
     {"t.conf:6: [proxy] threads: must be an integer from 1 to 64 (got \"4x\")"}},
    {"integer above range",
     MINIMAL "[proxy]\nthreads = 65\n",
     1,
     {"t.conf:6: [proxy] threads: must be an integer from 1 to 64 (got \"65\")"}},
    {"integer below range",
     MINIMAL "[proxy]\nthreads = 0\n",
     1,
     {"t.conf:6: [proxy] threads: must be an integer from 1 to 64 (got \"0\")"}},
    {"integer overflow",
     MINIMAL "[binlog]\nserver_id = 99999999999999999999\n",
     1,
     {"t.conf:6: [binlog] server_id: must be an integer from 1 to 2147483647 "
      "(got \"99999999999999999999\")"}},
    {"address without port",
     MINIMAL "[proxy]\nlisten = 127.0.0.1\n",
     1,
     {"t.conf:6: [proxy] listen: must be host:port with a port from 1 to 65535 "
      "(got \"127.0.0.1\")"}},
    {"address port 0",
     MINIMAL "[stats]\nlisten = 127.0.0.1:0\n",
     1,
     {"t.conf:6: [stats] listen: must be host:port with a port from 1 to 65535 "
      "(got \"127.0.0.1:0\")"}},
    {"address port 70000",
     MINIMAL "[pinning]\nredis = h:70000\n",
     1,
     {"t.conf:6: [pinning] redis: must be host:port with a port from 1 to 65535 "
      "(got \"h:70000\")"}},
    {"address without host",
     "[user.app]\npassword = a\n[primary]\naddress = :3306\n",
     1,
     {"t.conf:4: [primary] address: must be host:port with a port from 1 to 65535 "
      "(got \":3306\")"}},
    {"v6 address without ]",
     MINIMAL "[proxy]\nlisten = [::1:6033\n",
     1,
     {"t.conf:6: [proxy] listen: must be host:port with a port from 1 to 65535 "
      "(got \"[::1:6033\")"}},
    {"bad bool",
     MINIMAL "[cache]\nenabled = maybe\n",
     1,
     {"t.conf:6: [cache] enabled: must be true or false (got \"maybe\")"}},
    {"bad table list",
     MINIMAL "[cache]\ntables = shop.*, orders\n",
     1,
     {"t.conf:6: [cache] tables: item 2 'orders': no dot: write db.table, db.* or * "
      "(got \"shop.*, orders\")"}},
    {"cache without pinning",
     MINIMAL "[pinning]\nmode = off\n[cache]\nenabled = true\n",
     1,
     {"t.conf:7: [cache] enabled: needs [pinning] mode window or gtid"}},
    {"bad enum",
     MINIMAL "[routing]\nbalance = fastest\n",
     1,
     {"t.conf:6: [routing] balance: must be one of round-robin, weighted, "
      "least-connections, random, hash (got \"fastest\")"}},
    {"bad log level",
     MINIMAL "[proxy]\nlog_level = verbose\n",
     1,
     {"t.conf:6: [proxy] log_level: must be one of error, warn, info, debug "
      "(got \"verbose\")"}},
    {"duplicate key",
     MINIMAL "[proxy]\nthreads = 2\nthreads = 3\n",
     1,
     {"t.conf:7: [proxy] threads: duplicate key"}},
    {"duplicate section",
     MINIMAL "[proxy]\nthreads = 2\n[proxy]\nthreads = 3\n",
     1,
     {"t.conf:7: [proxy]: duplicate section"}},
    {"duplicate named section",
     MINIMAL "[replica.r1]\naddress = h:1\n[replica.r1]\naddress = h:2\n",
     1,
     {"t.conf:7: [replica.r1]: duplicate section"}},
    {"user without a name",
     "[user]\npassword = a\n[primary]\naddress = h:1\n",
     2,
     {"t.conf:1: [user]: needs a name, as in [user.NAME]",
      "t.conf: [user.NAME]: required section missing"}},
    {"primary without address",
     "[user.app]\npassword = a\n\n[primary]\n; none\n",
     1,
     {"t.conf:4: [primary] address: required key missing"}},
    {"user without password",
     "[primary]\naddress = h:1\n[user.bob]\n",
     1,
     {"t.conf:3: [user.bob] password: required key missing"}},
    {"replica without address",
     MINIMAL "\n[replica.r9]\nweight = 2\n",
     1,
     {"t.conf:6: [replica.r9] address: required key missing"}},
    {"missing primary",
     "[user.app]\npassword = a\n",
     1,
     {"t.conf: [primary]: required section missing"}},
    {"missing user",
     "[primary]\naddress = h:1\n",
     1,
     {"t.conf: [user.NAME]: required section missing"}},
    {"empty file",
     "",
     2,
     {"t.conf: [user.NAME]: required section missing",
      "t.conf: [primary]: required section missing"}},
    {"key before any section",
     "threads = 4\n" MINIMAL,
     1,
     {"t.conf:1: threads: key outside any section"}},
    {"line of 199 characters",
     "[proxy]\n\n[cache]\n" LINE_198 "t\n" MINIMAL "[proxy.z]\n",
     2,
     {"t.conf:4: line longer than 198 characters", "t.conf:9: [proxy.z]: unknown section"}},
    {"line of 400 characters",
     "[cache]\n" LINE_198 LINE_198 "tt\n\nbogus = 1\n" MINIMAL,
     2,
     {"t.conf:2: line longer than 198 characters", "t.conf:4: [cache] bogus: unknown key"}},
    {"string too long",
     MINIMAL "[monitor]\nuser = "
             "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\n",
     1,
     {"t.conf:6: [monitor] user: is longer than 80 characters (got "
      "\"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\")"}},
    {"section name too long",
     MINIMAL "[replica."
             "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr]\naddress = h:1\n",
     1,
     {"t.conf:5: [replica.rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr]: "
      "name too long"}},
    {"syntax error",
     MINIMAL "[proxy]\njust words\n",
     1,
     {"t.conf:6: syntax error (expected [section] or key = value)"}},
    {"several errors at once",
     "[proxy]\nthreads = 0\nbogus = 1\n[cache]\nenabled = perhaps\n"
     "[primary]\n[user.a]\npassword = x\n",
     4,
     {"t.conf:2: [proxy] threads: must be an integer from 1 to 64 (got \"0\")",
      "t.conf:3: [proxy] bogus: unknown key",
      "t.conf:5: [cache] enabled: must be true or false (got \"perhaps\")",
      "t.conf:6: [primary] address: required key missing"}},
};

/* Does err hold line as one whole line? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

START_TEST(test_bad_config)
{
	struct config *c = load(bad_cases[_i].text);
	ck_assert_msg(c == NULL, "%s: accepted", bad_cases[_i].name);
	int lines = 0;
	for (const char *p = err; *p; p++)
		lines += *p == '\n';
	ck_assert_msg(lines == bad_cases[_i].n_errors, "%s: %d lines, not %d:\n%s",
	              bad_cases[_i].name, lines, bad_cases[_i].n_errors, err);
	for (int i = 0; i < 4 && bad_cases[_i].lines[i]; i++)
		ck_assert_msg(has_line(err, bad_cases[_i].lines[i]), "%s: no line\n  %s\nin\n%s",
		              bad_cases[_i].name, bad_cases[_i].lines[i], err);
	/* one error line before the other, in file order, when there are several */
	if (bad_cases[_i].n_errors == 4)
		for (int i = 1; i < 4; i++)
			ck_assert(strstr(err, bad_cases[_i].lines[i - 1]) <
			          strstr(err, bad_cases[_i].lines[i]));
}
END_TEST

START_TEST(test_line_of_198_is_fine)
{
	struct config *c = load(MINIMAL "[cache]\n" LINE_198 "\n[proxy]\nthreads = 3\n");
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(strlen(c->cache.tables), 189);
	ck_assert_int_eq(c->proxy.threads, 3);
	config_free(c);
}
END_TEST

START_TEST(test_small_error_buffer)
{
	/* Many errors into a small buffer: cut, still terminated, never overrun (ASan). */
	for (size_t cap = 1; cap < 64; cap++) {
		char *small = malloc(cap);
		struct config *c = config_load_string("t.conf", "[a]\n[b]\n[c]\n[d]\n", small, cap);
		ck_assert_ptr_null(c);
		ck_assert_uint_lt(strlen(small), cap);
		free(small);
	}
}
END_TEST

START_TEST(test_load_file)
{
	char err2[256];
	struct config *c = config_load("/nonexistent/dir/sluice.conf", err2, sizeof(err2));
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err2,
	                 "/nonexistent/dir/sluice.conf: cannot open: No such file or directory\n");

	char path[] = "/tmp/sluice-test-config-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, sandbox_conf, sizeof(sandbox_conf) - 1),
	                 (ssize_t)(sizeof(sandbox_conf) - 1));
	close(fd);
	c = config_load(path, err2, sizeof(err2));
	ck_assert_msg(c != NULL, "%s", err2);
	ck_assert_str_eq(c->path, path);
	ck_assert_uint_eq(c->n_replicas, 2);
	ck_assert_ptr_nonnull(config_find_user(c, "app"));
	ck_assert_ptr_null(config_find_user(c, "monitor")); /* [monitor] is not a client user */
	config_free(c);

	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "[bogus]\n", 8), 8);
	close(fd);
	c = config_load(path, err2, sizeof(err2));
	ck_assert_ptr_null(c);
	int n_lines = 0;
	for (const char *p = sandbox_conf; *p; p++)
		n_lines += *p == '\n';
	ck_assert_int_eq(n_lines, 48);
	char want[128];
	snprintf(want, sizeof(want), "%s:%d: [bogus]: unknown section\n", path, n_lines + 1);
	ck_assert_str_eq(err2, want);
	unlink(path);
	config_free(NULL);
}
END_TEST

START_TEST(test_reference)
{
	static const struct {
		const char *section;
		const char *keys[9];
	} ref[] = {
	    {"[proxy]",
	     {"listen", "threads", "max_connections", "shutdown_timeout_ms", "connect_timeout_ms",
	      "backend_idle_timeout_ms", "max_packet_mb", "log_level"}},
	    {"[stats]", {"listen"}},
	    {"[user.NAME]", {"password"}},
	    {"[primary]", {"address"}},
	    {"[replica.NAME]", {"address", "weight"}},
	    {"[monitor]", {"user", "password", "interval_ms", "max_replica_lag_ms"}},
	    {"[routing]", {"balance"}},
	    {"[pinning]", {"mode", "window_ms", "redis"}},
	    {"[cache]", {"enabled", "ttl_s", "tables", "max_result_bytes", "local_mb", "lease_ms"}},
	    {"[binlog]", {"server_id", "redis"}},
	};
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	config_write_reference(out);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(text, "required"));
	for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++) {
		char head[64];
		snprintf(head, sizeof(head), "### `%s`", ref[i].section);
		const char *start = strstr(text, head);
		ck_assert_msg(start != NULL, "no section %s", ref[i].section);
		const char *next = strstr(start + 1, "### ");
		size_t len = next ? (size_t)(next - start) : strlen(start);
		char *block = strndup(start, len);
		for (size_t k = 0; k < 9 && ref[i].keys[k]; k++) {
			char row[64];
			snprintf(row, sizeof(row), "| `%s` |", ref[i].keys[k]);
			ck_assert_msg(strstr(block, row) != NULL, "%s lacks %s", ref[i].section,
			              row);
		}
		bool required = i == 2 || i == 3;
		ck_assert_int_eq(strstr(block, "(required)") != NULL, required);
		free(block);
	}
	ck_assert_ptr_nonnull(strstr(text, "| `address` | host:port | required |"));
	ck_assert_ptr_nonnull(strstr(text, "| `connect_timeout_ms` | integer 1–600000 | `3000` |"));
	ck_assert_ptr_nonnull(strstr(text, "`round-robin`, `weighted`"));
	free(text);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("valid");
	tcase_add_test(tc, test_sandbox_file);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_good_values, 0, sizeof(good_cases) / sizeof(good_cases[0]));
	tcase_add_test(tc, test_line_of_198_is_fine);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_bad_config, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_small_error_buffer);
	tcase_add_test(tc, test_load_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("reference");
	tcase_add_test(tc, test_reference);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(config_suite());
}
