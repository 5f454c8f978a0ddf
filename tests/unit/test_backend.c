/*
 * test_backend.c - the backend table: circuit breaker and reload (proxy/backend.c).
 */
#include "backend.h"
#include "check_main.h"
#include "config.h"

#include <check.h>
#include <stdlib.h>

static const char *const base_config =
    "[user.app]\npassword = app\n"
    "[primary]\naddress = 127.0.0.1:13306\n"
    "[replica.r1]\naddress = 127.0.0.1:13307\n"
    "[replica.r2]\naddress = 127.0.0.1:13308\nweight = 2\n"
    "[routing]\nbreaker_failures = 3\nbreaker_cooldown_ms = 100\n";

static struct config *load(const char *text)
{
	char err[1024];
	struct config *cfg = config_load_string("test.conf", text, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	return cfg;
}

static void init_table(struct backend_table *t, const struct config *cfg)
{
	char err[256];
	ck_assert_msg(backends_init(t, cfg, err, sizeof(err)), "%s", err);
}

START_TEST(test_breaker_opens_after_failures_and_probes_once)
{
	struct config *cfg = load(base_config);
	struct backend_table t;
	init_table(&t, cfg);
	struct backend *b = &t.items[1];
	ck_assert(backend_may_connect(b, 1000));
	backend_connect_result(b, false, 1000);
	backend_connect_result(b, false, 1001);
	ck_assert(!backend_breaker_open(b, 1002)); /* two failures: still closed */
	ck_assert(backend_may_connect(b, 1002));
	backend_connect_result(b, false, 1002); /* the third opens it for 100 ms */
	ck_assert(backend_breaker_open(b, 1050));
	ck_assert(!backend_may_connect(b, 1050));
	/* after the cool-down exactly one probe goes through */
	ck_assert(backend_may_connect(b, 1103));
	ck_assert(!backend_may_connect(b, 1104));
	backend_connect_result(b, false, 1105); /* the probe failed: open again */
	ck_assert(!backend_may_connect(b, 1150));
	ck_assert(backend_may_connect(b, 1206));
	backend_connect_result(b, true, 1207); /* the probe worked: closed */
	ck_assert(!backend_breaker_open(b, 1208));
	ck_assert(backend_may_connect(b, 1208));
	ck_assert(backend_may_connect(b, 1209));
	backends_free(&t);
	config_free(cfg);
}
END_TEST

START_TEST(test_success_resets_the_count)
{
	struct config *cfg = load(base_config);
	struct backend_table t;
	init_table(&t, cfg);
	struct backend *b = &t.items[0];
	for (int i = 0; i < 10; i++) {
		backend_connect_result(b, false, 10);
		backend_connect_result(b, true, 11); /* never three in a row */
	}
	ck_assert(!backend_breaker_open(b, 12));
	backends_free(&t);
	config_free(cfg);
}
END_TEST

START_TEST(test_reload_updates_appends_and_retires)
{
	struct config *cfg = load(base_config);
	struct backend_table t;
	init_table(&t, cfg);
	ck_assert_uint_eq(backends_count(&t), 3);
	struct backend *r1 = &t.items[1], *r2 = &t.items[2];
	/* r1's weight changes, r2 moves to another address (retired, re-added), r3 is new */
	struct config *next = load("[user.app]\npassword = app\n"
	                           "[primary]\naddress = 127.0.0.1:13306\n"
	                           "[replica.r1]\naddress = 127.0.0.1:13307\nweight = 5\n"
	                           "[replica.r2]\naddress = 127.0.0.1:23308\n"
	                           "[replica.r3]\naddress = 127.0.0.1:13309\n");
	ck_assert_int_eq(backends_reload(&t, next), 4);
	ck_assert_uint_eq(backends_count(&t), 5);
	ck_assert(t.items[1].index == 1 && r1 == &t.items[1]); /* slots never move */
	ck_assert_int_eq(atomic_load(&r1->weight), 5);
	ck_assert(!atomic_load(&r1->retired));
	ck_assert(atomic_load(&r2->retired));
	ck_assert_str_eq(t.items[3].name, "r2");
	ck_assert_uint_eq(t.items[3].port, 23308);
	ck_assert_str_eq(t.items[4].name, "r3");
	/* the same config again changes nothing */
	ck_assert_int_eq(backends_reload(&t, next), 0);
	backends_free(&t);
	config_free(next);
	config_free(cfg);
}
END_TEST

static Suite *backend_suite(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tcase_create("breaker");
	tcase_add_test(tc, test_breaker_opens_after_failures_and_probes_once);
	tcase_add_test(tc, test_success_resets_the_count);
	suite_add_tcase(s, tc);
	tc = tcase_create("reload");
	tcase_add_test(tc, test_reload_updates_appends_and_retires);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(backend_suite());
}
