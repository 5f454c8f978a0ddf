/*
 * test_auth.c - unit tests for proxy/auth.c (mysql_native_password).
 *
 * The expected tokens were computed independently with Python's hashlib:
 *   SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))
 * and one is the token the real mariadb CLI (Connector/C 3.3.20) sent in
 * fixtures/login_mariadb_cli_db.bin for the scramble of fixtures/mariadb_10.11_greeting.bin.
 */
#include "auth.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *password;
	uint8_t scramble[AUTH_SCRAMBLE_LEN];
	uint8_t token[AUTH_TOKEN_LEN];
} known[] = {
    {"app",
     {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
      0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14},
     {0x12, 0x32, 0x80, 0x35, 0xee, 0x49, 0x5d, 0xa7, 0xa7, 0x00,
      0xc0, 0xf1, 0x72, 0xe9, 0x11, 0x70, 0x66, 0x41, 0xab, 0xc5}},
    {"s3cr\xc3\xa9t pass", /* UTF-8 and a space */
     {0x59, 0x2a, 0x62, 0x32, 0x6f, 0x5a, 0x55, 0x7a, 0x27, 0x50,
      0x3d, 0x22, 0x32, 0x72, 0x69, 0x38, 0x78, 0x76, 0x67, 0x24},
     {0xac, 0xc0, 0x95, 0x2f, 0x0a, 0x07, 0x64, 0xf5, 0x22, 0x97,
      0xce, 0xfc, 0xa3, 0x3c, 0x6a, 0xac, 0x3d, 0x0a, 0xad, 0xb5}},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", /* 100 bytes */
     {0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
      0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f},
     {0xc1, 0xb0, 0xe4, 0xbe, 0xa3, 0xb3, 0x4a, 0xbd, 0x30, 0xc4,
      0x5f, 0x6e, 0xbb, 0x25, 0xec, 0x5a, 0xe4, 0xc4, 0xbb, 0xfe}},
    {"monitor",
     {0x01, 0x26, 0x4b, 0x70, 0x16, 0x3b, 0x60, 0x06, 0x2b, 0x50,
      0x75, 0x1b, 0x40, 0x65, 0x0b, 0x30, 0x55, 0x7a, 0x20, 0x45},
     {0x35, 0xd1, 0x0d, 0x1d, 0x1a, 0xdf, 0x34, 0x92, 0x4b, 0x8f,
      0xbe, 0x9c, 0x99, 0xc0, 0x4a, 0xda, 0xae, 0x4d, 0x06, 0x5e}},
    {"app", /* "Y*b2oZUz'P=\"2ri8xvg$": what the mariadb CLI answered */
     {0x59, 0x2a, 0x62, 0x32, 0x6f, 0x5a, 0x55, 0x7a, 0x27, 0x50,
      0x3d, 0x22, 0x32, 0x72, 0x69, 0x38, 0x78, 0x76, 0x67, 0x24},
     {0xff, 0x20, 0x48, 0x53, 0x29, 0xb5, 0x02, 0x7c, 0x38, 0x05,
      0x88, 0xe3, 0xb8, 0x95, 0x44, 0x08, 0x36, 0x31, 0xdb, 0x65}},
};

#define N_KNOWN (sizeof(known) / sizeof(known[0]))

START_TEST(test_token_known_answer)
{
	uint8_t token[AUTH_TOKEN_LEN];
	ck_assert_uint_eq(auth_native_token(known[_i].password, known[_i].scramble, token),
	                  AUTH_TOKEN_LEN);
	ck_assert_mem_eq(token, known[_i].token, AUTH_TOKEN_LEN);
}
END_TEST

START_TEST(test_verify_known_answer)
{
	const char *pw = known[_i].password;
	const uint8_t *scramble = known[_i].scramble;
	uint8_t *token = malloc(AUTH_TOKEN_LEN + 1); /* exact-size heap copies for ASan */
	memcpy(token, known[_i].token, AUTH_TOKEN_LEN);
	token[AUTH_TOKEN_LEN] = 0;
	ck_assert(auth_native_verify(pw, scramble, token, AUTH_TOKEN_LEN));
	/* any single flipped bit */
	for (size_t bit = 0; bit < AUTH_TOKEN_LEN * 8; bit++) {
		token[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(!auth_native_verify(pw, scramble, token, AUTH_TOKEN_LEN),
		              "accepted a token with bit %zu flipped", bit);
		token[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* wrong lengths: a prefix, one byte too many, nothing */
	ck_assert(!auth_native_verify(pw, scramble, token, AUTH_TOKEN_LEN - 1));
	ck_assert(!auth_native_verify(pw, scramble, token, AUTH_TOKEN_LEN + 1));
	ck_assert(!auth_native_verify(pw, scramble, token, 0));
	ck_assert(!auth_native_verify(pw, scramble, NULL, 0));
	/* the right token for another password or another scramble */
	ck_assert(!auth_native_verify("App", scramble, token, AUTH_TOKEN_LEN));
	ck_assert(!auth_native_verify("", scramble, token, AUTH_TOKEN_LEN));
	uint8_t other[AUTH_SCRAMBLE_LEN];
	memcpy(other, scramble, sizeof(other));
	other[19] = other[19] == 1 ? 2 : 1;
	ck_assert(!auth_native_verify(pw, other, token, AUTH_TOKEN_LEN));
	free(token);
}
END_TEST

START_TEST(test_empty_password)
{
	uint8_t token[AUTH_TOKEN_LEN];
	memset(token, 0xaa, sizeof(token));
	ck_assert_uint_eq(auth_native_token("", known[0].scramble, token), 0);
	/* an empty password is an empty token: nothing else */
	ck_assert(auth_native_verify("", known[0].scramble, token, 0));
	ck_assert(auth_native_verify("", known[0].scramble, NULL, 0));
	ck_assert(!auth_native_verify("", known[0].scramble, token, AUTH_TOKEN_LEN));
	ck_assert(!auth_native_verify("", known[0].scramble, token, 1));
	/* and a non-empty password never accepts an empty token */
	ck_assert(!auth_native_verify("app", known[0].scramble, NULL, 0));
}
END_TEST

START_TEST(test_make_scramble)
{
	uint8_t a[AUTH_SCRAMBLE_LEN], b[AUTH_SCRAMBLE_LEN];
	ck_assert(auth_make_scramble(a));
	ck_assert(auth_make_scramble(b));
	ck_assert_msg(memcmp(a, b, sizeof(a)) != 0, "two scrambles are equal");
	/* every byte in 1..127 (no NUL, 7-bit), over many draws; and both ends are reachable */
	unsigned seen[128] = {0};
	for (int round = 0; round < 2000; round++) {
		ck_assert(auth_make_scramble(a));
		for (size_t i = 0; i < sizeof(a); i++) {
			ck_assert_msg(a[i] >= 1 && a[i] <= 127, "scramble byte %u", a[i]);
			seen[a[i]]++;
		}
	}
	ck_assert_uint_gt(seen[1], 0);
	ck_assert_uint_gt(seen[127], 0);
	/* a token from a fresh scramble verifies */
	uint8_t token[AUTH_TOKEN_LEN];
	ck_assert_uint_eq(auth_native_token("app", a, token), AUTH_TOKEN_LEN);
	ck_assert(auth_native_verify("app", a, token, sizeof(token)));
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("native");
	tcase_add_loop_test(tc, test_token_known_answer, 0, N_KNOWN);
	tcase_add_loop_test(tc, test_verify_known_answer, 0, N_KNOWN);
	tcase_add_test(tc, test_empty_password);
	tcase_add_test(tc, test_make_scramble);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(auth_suite());
}
