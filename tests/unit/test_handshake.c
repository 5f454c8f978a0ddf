/*
 * test_handshake.c - unit tests for proxy/handshake.c: greeting, login, COM_CHANGE_USER and
 * auth switch packets, on bytes captured from the sandbox (fixtures/, see its README.md) and on
 * round trips through the module's own writers.
 *
 * Every parser input is an exact-size heap copy, so ASan catches a read past the end.
 */
#include "handshake.h"
#include "packet.h"

#include "check_main.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The captured greeting's scramble, and the token user app / password app answered with. */
static const uint8_t fixture_scramble[AUTH_SCRAMBLE_LEN] = "Y*b2oZUz'P=\"2ri8xvg$";
static const uint8_t fixture_token[AUTH_TOKEN_LEN] = {0xff, 0x20, 0x48, 0x53, 0x29, 0xb5, 0x02,
                                                      0x7c, 0x38, 0x05, 0x88, 0xe3, 0xb8, 0x95,
                                                      0x44, 0x08, 0x36, 0x31, 0xdb, 0x65};

static uint8_t *dup_exact(const void *src, size_t n)
{
	uint8_t *p = malloc(n);
	ck_assert_ptr_nonnull(p);
	if (n)
		memcpy(p, src, n);
	return p;
}

/* Reads fixtures/name (one packet, header included) and returns an exact copy of its payload. */
static uint8_t *load_fixture(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", SLUICE_FIXTURES, name);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	uint8_t buf[4096];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_uint_ge(n, PKT_HEADER_LEN);
	struct pkt_header h = pkt_header_decode(buf);
	ck_assert_uint_eq(h.len, n - PKT_HEADER_LEN);
	*len = h.len;
	return dup_exact(buf + PKT_HEADER_LEN, h.len);
}

/* Takes the one packet in b out as an exact heap copy of its payload. */
static uint8_t *take_packet(struct evbuffer *b, uint8_t seq, size_t *len)
{
	struct pkt_header h;
	ck_assert(pkt_peek_header(b, &h));
	ck_assert_uint_eq(h.seq, seq);
	ck_assert_uint_eq(evbuffer_get_length(b), PKT_HEADER_LEN + h.len);
	uint8_t *p = malloc(h.len);
	evbuffer_drain(b, PKT_HEADER_LEN);
	ck_assert_int_eq(evbuffer_remove(b, p, h.len), (int)h.len);
	*len = h.len;
	return p;
}

/* ---- greeting -------------------------------------------------------------------------------- */

START_TEST(test_greeting_fixture)
{
	size_t len;
	uint8_t *p = load_fixture("mariadb_10.11_greeting.bin", &len);
	struct hs_greeting g;
	ck_assert(hs_parse_greeting(p, len, &g));
	ck_assert_str_eq(g.version, "5.5.5-10.11.19-MariaDB-0+deb12u1-log");
	ck_assert_uint_eq(g.conn_id, 0x1331);
	ck_assert_mem_eq(g.scramble, fixture_scramble, AUTH_SCRAMBLE_LEN);
	ck_assert_uint_eq(g.caps, 0x81fff7fe);
	ck_assert(g.caps & CLIENT_PROTOCOL_41);
	ck_assert(!(g.caps & CLIENT_LONG_PASSWORD)); /* MariaDB: extended capabilities follow */
	ck_assert_uint_eq(g.ext_caps, 0x1d);
	ck_assert_uint_eq(g.charset, 8);
	ck_assert_uint_eq(g.status, SERVER_STATUS_AUTOCOMMIT);
	ck_assert_str_eq(g.plugin, AUTH_NATIVE_PLUGIN);

	/* written back, it is byte for byte what the server sent */
	struct evbuffer *b = evbuffer_new();
	ck_assert(hs_append_greeting(b, &g));
	size_t len2;
	uint8_t *p2 = take_packet(b, 0, &len2);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(p2, p, len);
	free(p2);
	evbuffer_free(b);

	/* any cut before the plugin name (which servers may leave unterminated) is refused */
	size_t plugin_at = len - sizeof(AUTH_NATIVE_PLUGIN);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *c = dup_exact(p, cut);
		bool ok = hs_parse_greeting(c, cut, &g);
		ck_assert_msg(cut >= plugin_at || !ok, "greeting cut to %zu bytes parsed", cut);
		free(c);
	}
	p[0] = 9; /* protocol version */
	ck_assert(!hs_parse_greeting(p, len, &g));
	free(p);
}
END_TEST

static const struct {
	const char *name;
	uint32_t caps;
	uint32_t ext_caps, expect_ext;
} greeting_cases[] = {
    {"MariaDB: ext caps carried",
     CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH,
     MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_PROGRESS, 0x5},
    {"MySQL: LONG_PASSWORD hides ext caps",
     CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH,
     MARIADB_CLIENT_STMT_BULK_OPERATIONS, 0},
    {"all the high bits", 0xffffffffu, 0x1d, 0},
    {"without PLUGIN_AUTH", CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_DEPRECATE_EOF,
     0x1c, 0x1c},
};

START_TEST(test_greeting_round_trip)
{
	struct hs_greeting in = {.conn_id = 0xdeadbeef,
	                         .caps = greeting_cases[_i].caps,
	                         .ext_caps = greeting_cases[_i].ext_caps,
	                         .charset = 45,
	                         .status = SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS};
	snprintf(in.version, sizeof(in.version), "5.5.5-10.11.0-Sluice");
	snprintf(in.plugin, sizeof(in.plugin), "%s", AUTH_NATIVE_PLUGIN);
	for (int i = 0; i < AUTH_SCRAMBLE_LEN; i++)
		in.scramble[i] = (uint8_t)(i * 5 + 1);
	struct evbuffer *b = evbuffer_new();
	ck_assert(hs_append_greeting(b, &in));
	size_t len;
	uint8_t *p = take_packet(b, 0, &len);
	/* the 4 bytes after the 6-byte filler hold the ext caps, or zeros */
	size_t ext_at = 1 + strlen(in.version) + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 6;
	uint32_t wire_ext = (uint32_t)p[ext_at] | (uint32_t)p[ext_at + 1] << 8 |
	                    (uint32_t)p[ext_at + 2] << 16 | (uint32_t)p[ext_at + 3] << 24;
	ck_assert_uint_eq(wire_ext, greeting_cases[_i].expect_ext);

	struct hs_greeting out;
	ck_assert(hs_parse_greeting(p, len, &out));
	ck_assert_str_eq(out.version, in.version);
	ck_assert_uint_eq(out.conn_id, in.conn_id);
	ck_assert_mem_eq(out.scramble, in.scramble, AUTH_SCRAMBLE_LEN);
	ck_assert_uint_eq(out.caps, in.caps);
	ck_assert_uint_eq(out.ext_caps, greeting_cases[_i].expect_ext);
	ck_assert_uint_eq(out.charset, in.charset);
	ck_assert_uint_eq(out.status, in.status);
	ck_assert_str_eq(out.plugin, (in.caps & CLIENT_PLUGIN_AUTH) ? AUTH_NATIVE_PLUGIN : "");
	free(p);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_greeting_requires_41)
{
	static const uint32_t bad_caps[] = {CLIENT_SECURE_CONNECTION, CLIENT_PROTOCOL_41};
	for (size_t i = 0; i < 2; i++) {
		struct hs_greeting in = {.caps = bad_caps[i]};
		snprintf(in.version, sizeof(in.version), "4.0.0");
		struct evbuffer *b = evbuffer_new();
		ck_assert(hs_append_greeting(b, &in));
		size_t len;
		uint8_t *p = take_packet(b, 0, &len);
		struct hs_greeting out;
		ck_assert(!hs_parse_greeting(p, len, &out));
		free(p);
		evbuffer_free(b);
	}
}
END_TEST

/* ---- login ----------------------------------------------------------------------------------- */

static const struct {
	const char *file;
	uint32_t caps, max_packet, ext_caps;
	uint8_t charset;
	const char *db; /* NULL: none */
} login_fixtures[] = {
    {"login_mariadb_cli_db.bin", 0x00bfa28c, 0x100000, 0x1d, 33, "appdb"},
    {"login_mariadb_cli_nodb.bin", 0x00bfa284, 0x100000, 0x1d, 33, NULL},
    {"login_pymysql_db.bin", 0x003aa20d, 0xffffff, 0, 45, "appdb"},
    {"login_pymysql_nodb.bin", 0x003aa205, 0xffffff, 0, 45, NULL},
};

START_TEST(test_login_fixture)
{
	size_t len;
	uint8_t *p = load_fixture(login_fixtures[_i].file, &len);
	struct hs_login l;
	ck_assert_int_eq(hs_parse_login(p, len, &l), HS_OK);
	ck_assert_uint_eq(l.caps, login_fixtures[_i].caps);
	ck_assert_uint_eq(l.max_packet, login_fixtures[_i].max_packet);
	ck_assert_uint_eq(l.ext_caps, login_fixtures[_i].ext_caps);
	ck_assert_uint_eq(l.charset, login_fixtures[_i].charset);
	ck_assert_str_eq(l.user, "app");
	ck_assert_uint_eq(l.auth_len, AUTH_TOKEN_LEN);
	ck_assert_mem_eq(l.auth, fixture_token, AUTH_TOKEN_LEN);
	ck_assert_int_eq(l.has_db, login_fixtures[_i].db != NULL);
	ck_assert_str_eq(l.db, login_fixtures[_i].db ? login_fixtures[_i].db : "");
	ck_assert_str_eq(l.plugin, AUTH_NATIVE_PLUGIN);
	free(p);
}
END_TEST

/*
 * Every real login above sets CLIENT_CONNECT_ATTRS, so every shorter prefix of it is malformed,
 * and MariaDB 10.11 answers each with 1043 "Bad handshake" (checked against the sandbox
 * primary). The failure message lists every wrongly accepted length.
 */
START_TEST(test_login_fixture_truncated)
{
	size_t len;
	uint8_t *p = load_fixture(login_fixtures[_i].file, &len);
	char accepted[512] = ""; /* as ranges: "57 63 85-212" */
	size_t used = 0, n_accepted = 0, run_start = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		enum hs_result r = HS_MALFORMED;
		if (cut < len) {
			uint8_t *c = dup_exact(p, cut);
			struct hs_login l;
			r = hs_parse_login(c, cut, &l);
			free(c);
		}
		bool ok = r == HS_OK;
		n_accepted += ok;
		if (ok && !run_start)
			run_start = cut + 1; /* 1-based so 0 means "no run" */
		if (!ok && run_start) {
			size_t first = run_start - 1, last = cut - 1;
			used += (size_t)snprintf(accepted + used, sizeof(accepted) - used,
			                         first == last ? " %zu" : " %zu-%zu", first, last);
			run_start = 0;
			ck_assert_uint_lt(used, sizeof(accepted));
		}
	}
	ck_assert_msg(n_accepted == 0, "%s (%zu bytes): HS_OK for %zu shorter lengths:%s",
	              login_fixtures[_i].file, len, n_accepted, accepted);
	free(p);
}
END_TEST

#define BASE_CAPS                                                                                  \
	(CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH |                      \
	 CLIENT_TRANSACTIONS | CLIENT_MULTI_RESULTS)
#define DB     CLIENT_CONNECT_WITH_DB
#define LENENC CLIENT_PLUGIN_AUTH_LENENC_DATA

static const struct {
	const char *name;
	uint32_t caps;
	size_t auth_len;
	const char *db;
	bool has_db;
	uint32_t expect_ext; /* ext_caps 0x1d is offered every time */
} login_cases[] = {
    {"lenenc auth, db", BASE_CAPS | LENENC | DB, 20, "appdb", true, 0x1d},
    {"1-byte auth, db", BASE_CAPS | DB, 20, "appdb", true, 0x1d},
    {"lenenc auth, no db", BASE_CAPS | LENENC, 20, "", false, 0x1d},
    {"1-byte auth, no db", BASE_CAPS, 20, "", false, 0x1d},
    {"lenenc auth of 251 (0xfc prefix)", BASE_CAPS | LENENC | DB, 251, "d", true, 0x1d},
    {"1-byte auth of 255", BASE_CAPS | DB, 255, "d", true, 0x1d},
    {"empty auth, lenenc", BASE_CAPS | LENENC | DB, 0, "d", true, 0x1d},
    {"empty auth, 1-byte", BASE_CAPS, 0, "", false, 0x1d},
    {"CONNECT_WITH_DB with an empty db", BASE_CAPS | LENENC | DB, 20, "", false, 0x1d},
    {"LONG_PASSWORD hides ext caps", BASE_CAPS | LENENC | CLIENT_LONG_PASSWORD, 20, "", false, 0},
    {"no PLUGIN_AUTH", (BASE_CAPS & ~CLIENT_PLUGIN_AUTH) | DB, 20, "x", true, 0x1d},
    {"longest user, db and plugin", BASE_CAPS | LENENC | DB, 20,
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
     true, 0x1d},
};

static void make_login(size_t i, struct hs_login *l)
{
	memset(l, 0, sizeof(*l));
	l->caps = login_cases[i].caps;
	l->ext_caps = 0x1d;
	l->max_packet = 1u << 30;
	l->charset = 45;
	l->auth_len = login_cases[i].auth_len;
	for (size_t k = 0; k < l->auth_len; k++)
		l->auth[k] = (uint8_t)(k * 3); /* includes NUL bytes */
	snprintf(l->db, sizeof(l->db), "%s", login_cases[i].db);
	l->has_db = login_cases[i].has_db;
	if (i == sizeof(login_cases) / sizeof(login_cases[0]) - 1) {
		memset(l->user, 'u', HS_USER_MAX - 1);
		memset(l->plugin, 'p', HS_PLUGIN_MAX - 1);
	} else {
		snprintf(l->user, sizeof(l->user), "app");
		snprintf(l->plugin, sizeof(l->plugin), "%s", AUTH_NATIVE_PLUGIN);
	}
}

START_TEST(test_login_round_trip)
{
	struct hs_login in, out;
	make_login((size_t)_i, &in);
	struct evbuffer *b = evbuffer_new();
	ck_assert(hs_append_login(b, 1, &in));
	size_t len;
	uint8_t *p = take_packet(b, 1, &len);
	ck_assert_int_eq(hs_parse_login(p, len, &out), HS_OK);
	ck_assert_uint_eq(out.caps, in.caps);
	ck_assert_uint_eq(out.ext_caps, login_cases[_i].expect_ext);
	ck_assert_uint_eq(out.max_packet, in.max_packet);
	ck_assert_uint_eq(out.charset, in.charset);
	ck_assert_str_eq(out.user, in.user);
	ck_assert_uint_eq(out.auth_len, in.auth_len);
	ck_assert(in.auth_len == 0 || memcmp(out.auth, in.auth, in.auth_len) == 0);
	ck_assert_int_eq(out.has_db, login_cases[_i].has_db);
	ck_assert_str_eq(out.db, (in.caps & DB) ? in.db : "");
	ck_assert_str_eq(out.plugin, (in.caps & CLIENT_PLUGIN_AUTH) ? in.plugin : "");
	free(p);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_login_ssl_request)
{
	size_t len;
	uint8_t *p = load_fixture("login_mariadb_cli_db.bin", &len);
	struct hs_login l;
	uint8_t *c = dup_exact(p, 32);
	ck_assert_int_eq(hs_parse_login(c, 32, &l), HS_MALFORMED); /* no CLIENT_SSL: no user */
	c[1] |= CLIENT_SSL >> 8;
	ck_assert_int_eq(hs_parse_login(c, 32, &l), HS_SSL_REQUEST);
	ck_assert(l.caps & CLIENT_SSL);
	ck_assert_uint_eq(l.charset, 33);
	ck_assert_uint_eq(l.ext_caps, 0x1d);
	free(c);
	c = dup_exact(p, 31); /* one byte short of an SSL request */
	c[1] |= CLIENT_SSL >> 8;
	ck_assert_int_eq(hs_parse_login(c, 31, &l), HS_MALFORMED);
	free(c);
	free(p);
	ck_assert_str_eq(hs_result_str(HS_SSL_REQUEST), "TLS requested");
}
END_TEST

START_TEST(test_login_pre41)
{
	/* 4.0: caps(2) max_packet(3) user NUL scramble(8): no CLIENT_PROTOCOL_41 */
	static const uint8_t old[] = {0x85, 0xa4, 0x00, 0x00, 0x01, 'b', 'o', 'b', 0,
	                              'A',  'B',  'C',  'D',  'E',  'F', 'G', 'H'};
	uint8_t *p = dup_exact(old, sizeof(old));
	struct hs_login l;
	ck_assert_int_eq(hs_parse_login(p, sizeof(old), &l), HS_UNSUPPORTED);
	ck_assert_int_eq(hs_parse_login(p, 3, &l), HS_MALFORMED);
	free(p);
}
END_TEST

/* ---- COM_CHANGE_USER ------------------------------------------------------------------------- */

START_TEST(test_change_user_fixture)
{
	static const char *const files[] = {"change_user_capi_db.bin", "change_user_capi_nodb.bin"};
	size_t len;
	uint8_t *p = load_fixture(files[_i], &len);
	const char *db = _i == 0 ? "appdb" : "";
	struct hs_login l;
	/* the caps the mariadb CLI negotiated; the length-encoded auth flag must not apply */
	ck_assert_int_eq(hs_parse_change_user(p, len, 0x00bfa28c, &l), HS_OK);
	ck_assert_str_eq(l.user, "app");
	ck_assert_uint_eq(l.auth_len, AUTH_TOKEN_LEN);
	ck_assert_mem_eq(l.auth, fixture_token, AUTH_TOKEN_LEN);
	ck_assert_int_eq(l.has_db, _i == 0);
	ck_assert_str_eq(l.db, db);
	ck_assert_uint_eq(l.charset, 45);
	ck_assert_str_eq(l.plugin, AUTH_NATIVE_PLUGIN);
	ck_assert_uint_eq(l.caps, 0x00bfa28c);

	/* cut anywhere before the end of the db name: malformed (the rest is optional) */
	size_t db_end = 1 + 4 + 1 + 20 + strlen(db) + 1;
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *c = dup_exact(p, cut);
		enum hs_result r = hs_parse_change_user(c, cut, 0x00bfa28c, &l);
		ck_assert_msg(cut >= db_end || r != HS_OK, "%s cut to %zu: HS_OK", files[_i], cut);
		free(c);
	}
	p[0] = COM_QUERY;
	ck_assert_int_eq(hs_parse_change_user(p, len, 0x00bfa28c, &l), HS_MALFORMED);
	free(p);
}
END_TEST

START_TEST(test_change_user_by_hand)
{
	/* from the protocol docs: 0x11, user NUL, auth (1-byte length with SECURE_CONNECTION,
	 * else NUL-terminated), db NUL, [charset u16], [plugin NUL] */
	static const uint8_t secure[] = {0x11, 'b', 'o', 'b', 0, 3, 0, 1, 2, 'd', 'b', 0, 0x21, 0};
	static const uint8_t old[] = {0x11, 'b', 'o', 'b', 0, 'x', 'y', 0, 0};
	struct hs_login l;
	uint8_t *p = dup_exact(secure, sizeof(secure));
	ck_assert_int_eq(
	    hs_parse_change_user(p, sizeof(secure), BASE_CAPS & ~CLIENT_PLUGIN_AUTH, &l), HS_OK);
	ck_assert_str_eq(l.user, "bob");
	ck_assert_uint_eq(l.auth_len, 3);
	ck_assert_uint_eq(l.auth[0], 0);
	ck_assert_str_eq(l.db, "db");
	ck_assert(l.has_db);
	ck_assert_uint_eq(l.charset, 0x21);
	ck_assert_str_eq(l.plugin, "");
	free(p);
	p = dup_exact(old, sizeof(old));
	ck_assert_int_eq(hs_parse_change_user(p, sizeof(old), CLIENT_PROTOCOL_41, &l), HS_OK);
	ck_assert_uint_eq(l.auth_len, 2);
	ck_assert_mem_eq(l.auth, "xy", 2);
	ck_assert(!l.has_db);
	ck_assert_uint_eq(l.charset, 0);
	free(p);
}
END_TEST

/* ---- auth switch ----------------------------------------------------------------------------- */

START_TEST(test_auth_switch_round_trip)
{
	struct evbuffer *b = evbuffer_new();
	ck_assert(hs_append_auth_switch(b, 2, AUTH_NATIVE_PLUGIN, fixture_scramble));
	size_t len;
	uint8_t *p = take_packet(b, 2, &len);
	ck_assert_uint_eq(len, 1 + sizeof(AUTH_NATIVE_PLUGIN) + AUTH_SCRAMBLE_LEN + 1);
	ck_assert_uint_eq(p[0], 0xfe);
	ck_assert_uint_eq(p[len - 1], 0);
	char plugin[HS_PLUGIN_MAX];
	uint8_t scramble[AUTH_SCRAMBLE_LEN];
	ck_assert(hs_parse_auth_switch(p, len, plugin, scramble));
	ck_assert_str_eq(plugin, AUTH_NATIVE_PLUGIN);
	ck_assert_mem_eq(scramble, fixture_scramble, AUTH_SCRAMBLE_LEN);
	for (size_t cut = 0; cut < len - 1; cut++) { /* the trailing NUL is optional */
		uint8_t *c = dup_exact(p, cut);
		ck_assert_msg(!hs_parse_auth_switch(c, cut, plugin, scramble), "cut to %zu", cut);
		free(c);
	}
	p[0] = PKT_OK;
	ck_assert(!hs_parse_auth_switch(p, len, plugin, scramble));
	free(p);

	/* the client's answer: bare auth data, up to HS_AUTH_MAX bytes */
	uint8_t data[HS_AUTH_MAX + 1];
	memset(data, 0x5a, sizeof(data));
	ck_assert(hs_append_auth_data(b, 3, fixture_token, AUTH_TOKEN_LEN));
	p = take_packet(b, 3, &len);
	ck_assert_uint_eq(len, AUTH_TOKEN_LEN);
	ck_assert_mem_eq(p, fixture_token, AUTH_TOKEN_LEN);
	free(p);
	ck_assert(hs_append_auth_data(b, 3, data, 0));
	p = take_packet(b, 3, &len);
	ck_assert_uint_eq(len, 0);
	free(p);
	ck_assert(hs_append_auth_data(b, 3, data, HS_AUTH_MAX));
	evbuffer_drain(b, evbuffer_get_length(b));
	ck_assert(!hs_append_auth_data(b, 3, data, HS_AUTH_MAX + 1));
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}
END_TEST

static Suite *handshake_suite(void)
{
	Suite *s = suite_create("handshake");
	TCase *tc = tcase_create("greeting");
	tcase_add_test(tc, test_greeting_fixture);
	tcase_add_loop_test(tc, test_greeting_round_trip, 0,
	                    sizeof(greeting_cases) / sizeof(greeting_cases[0]));
	tcase_add_test(tc, test_greeting_requires_41);
	suite_add_tcase(s, tc);

	tc = tcase_create("login");
	tcase_add_loop_test(tc, test_login_fixture, 0,
	                    sizeof(login_fixtures) / sizeof(login_fixtures[0]));
	tcase_add_loop_test(tc, test_login_round_trip, 0,
	                    sizeof(login_cases) / sizeof(login_cases[0]));
	tcase_add_test(tc, test_login_ssl_request);
	tcase_add_test(tc, test_login_pre41);
	suite_add_tcase(s, tc);

	tc = tcase_create("login_truncated");
	tcase_add_loop_test(tc, test_login_fixture_truncated, 0,
	                    sizeof(login_fixtures) / sizeof(login_fixtures[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("change_user");
	tcase_add_loop_test(tc, test_change_user_fixture, 0, 2);
	tcase_add_test(tc, test_change_user_by_hand);
	tcase_add_test(tc, test_auth_switch_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(handshake_suite());
}
