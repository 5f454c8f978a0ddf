/*
 * test_limits.c - per-user limits (proxy/user_limits.c): the token bucket's arithmetic (GCRA),
 * the table of users across reloads, and the slow-query line (proxy/slowlog.c).
 */
#include "check_main.h"
#include "config.h"
#include "slowlog.h"
#include "user_limits.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ULL

/* Takes a token at now with the given limits; returns the wait in ns, or UINT64_MAX if refused. */
static uint64_t take(uint64_t *tat, uint64_t now, int qps, int burst, uint64_t max_wait)
{
	uint64_t next, wait;
	if (!limits_take(*tat, now, limits_interval_ns(qps), limits_burst(qps, burst), max_wait,
	                 &next, &wait))
		return UINT64_MAX;
	*tat = next;
	return wait;
}

START_TEST(burst_then_rate)
{
	/* max_qps = 50, burst = 10: ten at once, then one every 20 ms. */
	uint64_t tat = 0, now = 1000 * MS;
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(take(&tat, now, 50, 10, 0), 0);
	ck_assert_uint_eq(take(&tat, now, 50, 10, 0), UINT64_MAX); /* no waiting allowed */
	ck_assert_uint_eq(take(&tat, now, 50, 10, 1000 * MS), 20 * MS);
	ck_assert_uint_eq(take(&tat, now, 50, 10, 1000 * MS), 40 * MS);
	/* 40 ms later both reserved tokens are due and the bucket is empty again. */
	ck_assert_uint_eq(take(&tat, now + 40 * MS, 50, 10, 1000 * MS), 20 * MS);
}
END_TEST

START_TEST(refill_is_capped_at_burst)
{
	uint64_t tat = 0, now = 5000 * MS;
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(take(&tat, now, 50, 10, 0), 0);
	/* A long pause refills ten tokens, not more. */
	now += 60000 * MS;
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(take(&tat, now, 50, 10, 0), 0);
	ck_assert_uint_eq(take(&tat, now, 50, 10, 0), UINT64_MAX);
	/* One interval later, exactly one more. */
	ck_assert_uint_eq(take(&tat, now + 20 * MS, 50, 10, 0), 0);
	ck_assert_uint_eq(take(&tat, now + 20 * MS, 50, 10, 0), UINT64_MAX);
}
END_TEST

START_TEST(refusal_keeps_state_and_says_wait)
{
	uint64_t tat = 0, now = 1000 * MS, next = 7, wait = 0;
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(take(&tat, now, 5, 5, 0), 0);
	/* The next token is 200 ms away; a 100 ms wait is not enough. */
	ck_assert(!limits_take(tat, now, limits_interval_ns(5), 5, 100 * MS, &next, &wait));
	ck_assert_uint_eq(next, 7);
	ck_assert_uint_eq(wait, 200 * MS);
	ck_assert(limits_take(tat, now, limits_interval_ns(5), 5, 200 * MS, &next, &wait));
	ck_assert_uint_eq(wait, 200 * MS);
}
END_TEST

START_TEST(rate_over_time)
{
	/* 200 statements in a tight loop at max_qps = 50, burst = 10 end at 3.8 s. */
	uint64_t tat = 0, start = 77 * MS, now = start;
	for (int i = 0; i < 200; i++) {
		uint64_t w = take(&tat, now, 50, 10, 10000 * MS);
		ck_assert_uint_ne(w, UINT64_MAX);
		now += w;
	}
	ck_assert_uint_eq(now - start, 3800 * MS);
}
END_TEST

START_TEST(defaults)
{
	ck_assert_uint_eq(limits_burst(50, 0), 50); /* burst 0: one second's worth */
	ck_assert_uint_eq(limits_burst(50, 7), 7);
	ck_assert_uint_eq(limits_interval_ns(50), 20 * MS);
	ck_assert_uint_eq(limits_interval_ns(100000000), 10);
}
END_TEST

START_TEST(table_follows_reloads)
{
	char err[1024];
	struct config *a = config_load_string("a.conf",
	                                      "[primary]\naddress = 127.0.0.1:3306\n"
	                                      "[user.app]\npassword = x\nmax_connections = 3\n"
	                                      "max_qps = 50\nburst = 10\n"
	                                      "[user.bob]\npassword = y\n",
	                                      err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	struct config *b = config_load_string("b.conf",
	                                      "[primary]\naddress = 127.0.0.1:3306\n"
	                                      "[user.bob]\npassword = y\nmax_qps = 7\n"
	                                      "[user.eve]\npassword = z\nmax_connections = 1\n",
	                                      err, sizeof(err));
	ck_assert_msg(b != NULL, "%s", err);
	struct limits l = {0};
	ck_assert(limits_configure(&l, a));
	struct limit_user *app = limits_find(&l, "app");
	ck_assert_ptr_nonnull(app);
	ck_assert_int_eq(atomic_load(&app->max_connections), 3);
	ck_assert_int_eq(atomic_load(&app->max_qps), 50);
	ck_assert_int_eq(atomic_load(&app->burst), 10);
	ck_assert_int_eq(atomic_load(&limits_find(&l, "bob")->max_qps), 0);
	ck_assert_ptr_null(limits_find(&l, "eve"));
	atomic_store(&app->connections, 2);
	ck_assert(limits_configure(&l, b));
	/* Entries stay where sessions point at them; a user gone from the file has no limits. */
	ck_assert_ptr_eq(limits_find(&l, "app"), app);
	ck_assert_int_eq(atomic_load(&app->max_connections), 0);
	ck_assert_int_eq(atomic_load(&app->max_qps), 0);
	ck_assert_int_eq(atomic_load(&app->connections), 2);
	ck_assert_int_eq(atomic_load(&limits_find(&l, "bob")->max_qps), 7);
	ck_assert_int_eq(atomic_load(&limits_find(&l, "eve")->max_connections), 1);
	limits_free(&l);
	ck_assert_ptr_null(limits_find(&l, "app"));
	config_free(a);
	config_free(b);
}
END_TEST

START_TEST(slow_line)
{
	char out[512];
	const char text[] = "SELECT 1\nFROM\tt\r\nWHERE x";
	ck_assert_str_eq(
	    slowlog_format(out, sizeof(out), 42, 312, "read", "r1", text, sizeof(text) - 1),
	    "slow query: session 42, 312 ms, route=read, backend=r1, "
	    "SELECT 1 FROM t  WHERE x");
	/* A short buffer cuts the line, never overflows. */
	char small[40];
	slowlog_format(small, sizeof(small), 42, 312, "read", "r1", text, sizeof(text) - 1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, refill_is_capped_at_burst);
	tcase_add_test(tc, refusal_keeps_state_and_says_wait);
	tcase_add_test(tc, rate_over_time);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, table_follows_reloads);
	tcase_add_test(tc, slow_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(limits_suite());
}
