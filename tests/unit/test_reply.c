/*
 * test_reply.c - unit tests for proxy/reply.c, the state machine that finds where a backend's
 * reply to one command ends.
 *
 * Each case is a command, the connection's capabilities and the packets the server (and, for
 * LOCAL INFILE, the client) sends, fed as the proxy does: the payload when
 * reply_wants_packet() asks for it, NULL otherwise. The reply must be done after the last
 * packet and not before, must then refuse any further packet, and must have recorded what the
 * ending packets said.
 */
#include "packet.h"
#include "reply.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

enum op {
	END,    /* end of the steps */
	OK,     /* OK: a = status, b = affected rows, c = last insert id */
	OKFE,   /* OK with a 0xFE header (CLIENT_DEPRECATE_EOF's terminator): a = status,
	         * b = bytes of info after it */
	ERR,    /* ERR: a = code */
	EOF_,   /* EOF: a = status */
	COLS,   /* column count: a */
	DEF,    /* one column (or parameter) definition */
	DEFS,   /* a definitions */
	ROW,    /* a small text row */
	BROW,   /* a small binary row (header 0x00) */
	CHUNK,  /* a packet of a bytes whose first byte is b: big rows and continuations */
	STMT,   /* COM_STMT_PREPARE's OK: a = statement id, b = columns, c = parameters */
	SHORT,  /* a statement OK cut short */
	INFILE, /* 0xFB and a file name */
	CLIENT, /* the client sends a packet of a bytes (LOCAL INFILE upload) */
	AWAIT,  /* check: reply_awaits_client() == a */
	STR,    /* COM_STATISTICS's plain string */
};

struct step {
	enum op op;
	uint32_t a;
	uint64_t b, c;
};

struct expect {
	int bad_at; /* step whose reply_feed() must return false; 0 = none (steps count from 1) */
	bool failed;
	uint16_t error_code;
	uint16_t status;
	uint64_t affected, insert_id;
	uint32_t stmt_id;
	uint16_t stmt_params;
};

/* One step each; every field spelled out. */
#define S_OK(st, aff, id)                                                                          \
	{                                                                                          \
		OK, st, aff, id                                                                    \
	}
#define S_OKFE(st)                                                                                 \
	{                                                                                          \
		OKFE, st, 0, 0                                                                     \
	}
#define S_OKFE_INFO(st, n)                                                                         \
	{                                                                                          \
		OKFE, st, n, 0                                                                     \
	} /* with n bytes of info / session state */
#define S_ERR(code)                                                                                \
	{                                                                                          \
		ERR, code, 0, 0                                                                    \
	}
#define S_EOF(st)                                                                                  \
	{                                                                                          \
		EOF_, st, 0, 0                                                                     \
	}
#define S_COLS(n)                                                                                  \
	{                                                                                          \
		COLS, n, 0, 0                                                                      \
	}
#define S_DEF                                                                                      \
	{                                                                                          \
		DEF, 0, 0, 0                                                                       \
	}
#define S_DEFS(n)                                                                                  \
	{                                                                                          \
		DEFS, n, 0, 0                                                                      \
	}
#define S_ROW                                                                                      \
	{                                                                                          \
		ROW, 0, 0, 0                                                                       \
	}
#define S_BROW                                                                                     \
	{                                                                                          \
		BROW, 0, 0, 0                                                                      \
	}
#define S_CHUNK(len, first)                                                                        \
	{                                                                                          \
		CHUNK, len, first, 0                                                               \
	}
#define S_STMT(id, cols, params)                                                                   \
	{                                                                                          \
		STMT, id, cols, params                                                             \
	}
#define S_SHORT                                                                                    \
	{                                                                                          \
		SHORT, 0, 0, 0                                                                     \
	}
#define S_INFILE                                                                                   \
	{                                                                                          \
		INFILE, 0, 0, 0                                                                    \
	}
#define S_CLIENT(len)                                                                              \
	{                                                                                          \
		CLIENT, len, 0, 0                                                                  \
	}
#define S_AWAIT(yes)                                                                               \
	{                                                                                          \
		AWAIT, yes, 0, 0                                                                   \
	}
#define S_STR                                                                                      \
	{                                                                                          \
		STR, 0, 0, 0                                                                       \
	}
#define S_END                                                                                      \
	{                                                                                          \
		END, 0, 0, 0                                                                       \
	}

#define AC     SERVER_STATUS_AUTOCOMMIT
#define MORE   SERVER_MORE_RESULTS_EXISTS
#define CURSOR SERVER_STATUS_CURSOR_EXISTS
#define DEPR   CLIENT_DEPRECATE_EOF
#define MAXC   PKT_MAX_CHUNK

static const struct tcase_def {
	const char *name;
	uint8_t cmd;
	uint32_t caps;
	struct step steps[14];
	struct expect x;
} cases[] = {
    /* ---- COM_QUERY ---- */
    {"query OK", COM_QUERY, 0, {S_OK(AC, 3, 42)}, {.status = AC, .affected = 3, .insert_id = 42}},
    {"query OK, lenenc counts",
     COM_QUERY,
     DEPR,
     {S_OK(AC | 1, 0x10000, 1ull << 40)},
     {.status = AC | 1, .affected = 0x10000, .insert_id = 1ull << 40}},
    {"query ERR", COM_QUERY, 0, {S_ERR(1064)}, {.failed = true, .error_code = 1064}},
    {"result set",
     COM_QUERY,
     0,
     {S_COLS(2), S_DEF, S_DEF, S_EOF(AC), S_ROW, S_ROW, S_EOF(AC | 0x20)},
     {.status = AC | 0x20}},
    {"result set, DEPRECATE_EOF",
     COM_QUERY,
     DEPR,
     {S_COLS(2), S_DEF, S_DEF, S_ROW, S_ROW, S_OKFE(AC | 0x20)},
     {.status = AC | 0x20}},
    {"empty result set", COM_QUERY, 0, {S_COLS(1), S_DEF, S_EOF(AC), S_EOF(AC)}, {.status = AC}},
    /* BEGIN NOT ATOMIC ... OPEN c; ... SELECT ...; END: the compound statement's own cursor
     * shows in the column EOF, but a query's rows follow (MariaDB's main.func_analyse) */
    {"query: result set while a cursor is open",
     COM_QUERY,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC | CURSOR | MORE), S_ROW, S_EOF(AC | MORE), S_OK(AC, 0, 0)},
     {.status = AC}},
    {"empty result set, DEPRECATE_EOF",
     COM_QUERY,
     DEPR,
     {S_COLS(1), S_DEF, S_OKFE(AC)},
     {.status = AC}},
    {"result set ended by ERR",
     COM_QUERY,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC), S_ROW, S_ERR(1317)},
     {.failed = true, .error_code = 1317, .status = AC /* from the column EOF */}},
    {"result set ended by ERR, DEPRECATE_EOF",
     COM_QUERY,
     DEPR,
     {S_COLS(1), S_DEF, S_ROW, S_ERR(1028)},
     {.failed = true, .error_code = 1028}},
    {"251 columns (lenenc count)",
     COM_QUERY,
     0,
     {S_COLS(251), S_DEFS(251), S_EOF(AC), S_ROW, S_EOF(AC)},
     {.status = AC}},
    {"multi: OK, OK",
     COM_QUERY,
     0,
     {S_OK(AC | MORE, 1, 0), S_OK(AC, 2, 7)},
     {.status = AC, .affected = 2, .insert_id = 7}},
    {"multi: result set (EOF with MORE), OK",
     COM_QUERY,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC), S_ROW, S_EOF(AC | MORE), S_OK(AC, 0, 0)},
     {.status = AC}},
    {"multi: result set, result set, OK (CALL)",
     COM_QUERY,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC), S_ROW, S_EOF(AC | MORE), S_COLS(1), S_DEF, S_EOF(AC),
      S_EOF(AC | MORE), S_OK(AC, 0, 0)},
     {.status = AC}},
    {"multi: result sets, DEPRECATE_EOF",
     COM_QUERY,
     DEPR,
     {S_COLS(1), S_DEF, S_ROW, S_OKFE(AC | MORE), S_COLS(2), S_DEFS(2), S_ROW, S_OKFE(AC)},
     {.status = AC}},
    {"multi: OK then ERR",
     COM_QUERY,
     0,
     {S_OK(AC | MORE, 1, 0), S_ERR(1146)},
     {.failed = true, .error_code = 1146, .status = AC | MORE, .affected = 1}},
    {"result set, DEPRECATE_EOF, OK terminator with session state",
     COM_QUERY,
     DEPR,
     {S_COLS(1), S_DEF, S_ROW, S_OKFE_INFO(AC | SERVER_SESSION_STATE_CHANGED, 40)},
     {.status = AC | SERVER_SESSION_STATE_CHANGED}},
    {"column count 0", COM_QUERY, 0, {S_COLS(0)}, {.bad_at = 1}},
    {"EOF as the first packet", COM_QUERY, 0, {S_EOF(AC)}, {.bad_at = 1}},
    {"empty packet as the first packet", COM_QUERY, 0, {S_CHUNK(0, 0)}, {.bad_at = 1}},
    {"row where the column EOF belongs", COM_QUERY, 0, {S_COLS(1), S_DEF, S_ROW}, {.bad_at = 3}},
    /* ---- LOCAL INFILE ---- */
    {"LOCAL INFILE",
     COM_QUERY,
     0,
     {S_INFILE, S_AWAIT(1), S_CLIENT(100), S_CLIENT(50), S_AWAIT(1), S_CLIENT(0), S_AWAIT(0),
      S_OK(AC, 2, 0)},
     {.status = AC, .affected = 2}},
    {"LOCAL INFILE, empty file",
     COM_QUERY,
     DEPR,
     {S_INFILE, S_CLIENT(0), S_OK(AC, 0, 0)},
     {.status = AC}},
    {"LOCAL INFILE, 0xFFFFFF chunk and empty continuation",
     COM_QUERY,
     0,
     {S_INFILE, S_CLIENT(MAXC), S_CLIENT(0), S_AWAIT(1), S_CLIENT(MAXC), S_CLIENT(7), S_AWAIT(1),
      S_CLIENT(0), S_AWAIT(0), S_OK(AC, 3, 0)},
     {.status = AC, .affected = 3}},
    {"LOCAL INFILE, ERR",
     COM_QUERY,
     0,
     {S_INFILE, S_CLIENT(10), S_CLIENT(0), S_ERR(1290)},
     {.failed = true, .error_code = 1290}},
    {"LOCAL INFILE, server talks during upload",
     COM_QUERY,
     0,
     {S_INFILE, S_CLIENT(10), S_OK(AC, 0, 0)},
     {.bad_at = 3}},
    {"LOCAL INFILE, then more results",
     COM_QUERY,
     0,
     {S_INFILE, S_CLIENT(0), S_OK(AC | MORE, 1, 0), S_OK(AC, 0, 0)},
     {.status = AC}},
    /* ---- 16 MiB rows ---- */
    {"row split, continuation starts with 0xFE",
     COM_QUERY,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC), S_CHUNK(MAXC, 0x03), S_CHUNK(5, 0xfe), S_ROW, S_EOF(AC)},
     {.status = AC}},
    {"row split, DEPRECATE_EOF, continuation starts with 0xFE",
     COM_QUERY,
     DEPR,
     {S_COLS(1), S_DEF, S_CHUNK(MAXC, 0x03), S_CHUNK(7, 0xfe), S_OKFE(AC)},
     {.status = AC}},
    {"row of 0xFE, 0xFFFFFF long",
     COM_QUERY,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC), S_CHUNK(MAXC, 0xfe), S_CHUNK(100, 0x00), S_EOF(AC)},
     {.status = AC}},
    {"row of 0xFE, DEPRECATE_EOF",
     COM_QUERY,
     DEPR,
     {S_COLS(1), S_DEF, S_CHUNK(MAXC, 0xfe), S_CHUNK(4, 0xfe), S_OKFE(AC)},
     {.status = AC}},
    {"row of exactly 0xFFFFFF, empty continuation",
     COM_QUERY,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC), S_CHUNK(MAXC, 0x03), S_CHUNK(0, 0), S_EOF(AC)},
     {.status = AC}},
    {"row of two 0xFFFFFF chunks and a tail",
     COM_QUERY,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC), S_CHUNK(MAXC, 0xfe), S_CHUNK(MAXC, 0xff), S_CHUNK(3, 0xfe),
      S_EOF(AC)},
     {.status = AC}},
    /* ---- COM_STMT_PREPARE ---- */
    {"prepare: params and columns",
     COM_STMT_PREPARE,
     0,
     {S_STMT(7, 3, 2), S_DEFS(2), S_EOF(AC), S_DEFS(3), S_EOF(AC)},
     {.stmt_id = 7, .stmt_params = 2}},
    {"prepare: params and columns, DEPRECATE_EOF",
     COM_STMT_PREPARE,
     DEPR,
     {S_STMT(7, 3, 2), S_DEFS(2), S_DEFS(3)},
     {.stmt_id = 7, .stmt_params = 2}},
    {"prepare: params only",
     COM_STMT_PREPARE,
     0,
     {S_STMT(8, 0, 2), S_DEFS(2), S_EOF(AC)},
     {.stmt_id = 8, .stmt_params = 2}},
    {"prepare: params only, DEPRECATE_EOF",
     COM_STMT_PREPARE,
     DEPR,
     {S_STMT(8, 0, 2), S_DEFS(2)},
     {.stmt_id = 8, .stmt_params = 2}},
    {"prepare: columns only",
     COM_STMT_PREPARE,
     0,
     {S_STMT(9, 2, 0), S_DEFS(2), S_EOF(AC)},
     {.stmt_id = 9}},
    {"prepare: columns only, DEPRECATE_EOF",
     COM_STMT_PREPARE,
     DEPR,
     {S_STMT(9, 2, 0), S_DEFS(2)},
     {.stmt_id = 9}},
    {"prepare: none", COM_STMT_PREPARE, 0, {S_STMT(0xfffffffe, 0, 0)}, {.stmt_id = 0xfffffffe}},
    {"prepare: none, DEPRECATE_EOF", COM_STMT_PREPARE, DEPR, {S_STMT(10, 0, 0)}, {.stmt_id = 10}},
    {"prepare: 300 params",
     COM_STMT_PREPARE,
     0,
     {S_STMT(11, 1, 300), S_DEFS(300), S_EOF(AC), S_DEF, S_EOF(AC)},
     {.stmt_id = 11, .stmt_params = 300}},
    {"prepare: ERR", COM_STMT_PREPARE, 0, {S_ERR(1064)}, {.failed = true, .error_code = 1064}},
    {"prepare: statement OK cut short", COM_STMT_PREPARE, 0, {S_SHORT}, {.bad_at = 1}},
    {"prepare: a row where the params EOF belongs",
     COM_STMT_PREPARE,
     0,
     {S_STMT(12, 1, 1), S_DEF, S_ROW},
     {.bad_at = 3, .stmt_id = 12, .stmt_params = 1}},
    /* ---- COM_STMT_EXECUTE, FETCH, BULK ---- */
    {"execute: OK",
     COM_STMT_EXECUTE,
     0,
     {S_OK(AC, 1, 99)},
     {.status = AC, .affected = 1, .insert_id = 99}},
    {"execute: binary rows",
     COM_STMT_EXECUTE,
     0,
     {S_COLS(2), S_DEFS(2), S_EOF(AC), S_BROW, S_BROW, S_EOF(AC)},
     {.status = AC}},
    {"execute: binary rows, DEPRECATE_EOF",
     COM_STMT_EXECUTE,
     DEPR,
     {S_COLS(2), S_DEFS(2), S_BROW, S_OKFE(AC)},
     {.status = AC}},
    {"execute: CALL with OUT parameters (MORE on the column EOF)",
     COM_STMT_EXECUTE,
     0,
     {S_COLS(1), S_DEF, S_EOF(AC | MORE), S_BROW, S_EOF(AC | MORE | 0x1000), S_OK(AC, 0, 0)},
     {.status = AC}},
    {"execute: cursor opened",
     COM_STMT_EXECUTE,
     0,
     {S_COLS(2), S_DEFS(2), S_EOF(AC | CURSOR)},
     {.status = AC | CURSOR}},
    {"execute: cursor opened, DEPRECATE_EOF",
     COM_STMT_EXECUTE,
     DEPR,
     {S_COLS(1), S_DEF, S_OKFE(AC | CURSOR)},
     {.status = AC | CURSOR}},
    {"fetch: rows and EOF",
     COM_STMT_FETCH,
     0,
     {S_BROW, S_BROW, S_EOF(AC | CURSOR)},
     {.status = AC | CURSOR}},
    {"fetch: last rows",
     COM_STMT_FETCH,
     0,
     {S_BROW, S_EOF(AC | SERVER_STATUS_LAST_ROW_SENT)},
     {.status = AC | SERVER_STATUS_LAST_ROW_SENT}},
    {"fetch: no rows, DEPRECATE_EOF",
     COM_STMT_FETCH,
     DEPR,
     {S_OKFE(AC | CURSOR)},
     {.status = AC | CURSOR}},
    {"fetch: ERR", COM_STMT_FETCH, 0, {S_ERR(1421)}, {.failed = true, .error_code = 1421}},
    {"fetch: big binary row",
     COM_STMT_FETCH,
     0,
     {S_CHUNK(MAXC, 0x00), S_CHUNK(2, 0xfe), S_EOF(AC)},
     {.status = AC}},
    {"bulk execute: OK",
     COM_STMT_BULK_EXECUTE,
     0,
     {S_OK(AC, 5, 10)},
     {.status = AC, .affected = 5, .insert_id = 10}},
    {"bulk execute: ERR",
     COM_STMT_BULK_EXECUTE,
     0,
     {S_ERR(1062)},
     {.failed = true, .error_code = 1062}},
    /* ---- COM_FIELD_LIST ---- */
    {"field list", COM_FIELD_LIST, 0, {S_DEFS(3), S_EOF(AC)}, {.status = AC}},
    {"field list, DEPRECATE_EOF", COM_FIELD_LIST, DEPR, {S_DEFS(2), S_OKFE(AC)}, {.status = AC}},
    {"field list, ERR", COM_FIELD_LIST, 0, {S_ERR(1146)}, {.failed = true, .error_code = 1146}},
    {"field list, EOF with MORE ends it",
     COM_FIELD_LIST,
     0,
     {S_DEF, S_EOF(AC | MORE)},
     {.status = AC | MORE}},
    /* ---- one packet ---- */
    {"statistics", COM_STATISTICS, 0, {S_STR}, {0}},
    {"ping", COM_PING, 0, {S_OK(AC, 0, 0)}, {.status = AC}},
    {"set option: EOF", COM_SET_OPTION, 0, {S_EOF(AC)}, {.status = AC}},
    {"init db: ERR", COM_INIT_DB, 0, {S_ERR(1049)}, {.failed = true, .error_code = 1049}},
    {"init db: OK", COM_INIT_DB, DEPR, {S_OK(AC | 0x4000, 0, 0)}, {.status = AC | 0x4000}},
    {"reset connection", COM_RESET_CONNECTION, 0, {S_OK(AC, 0, 0)}, {.status = AC}},
    {"statement reset", COM_STMT_RESET, 0, {S_OK(AC, 0, 0)}, {.status = AC}},
    /* ---- no reply ---- */
    {"statement close", COM_STMT_CLOSE, 0, {S_END}, {0}},
    {"send long data", COM_STMT_SEND_LONG_DATA, 0, {S_END}, {0}},
    {"quit", COM_QUIT, 0, {S_END}, {0}},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* ---- payload builders ------------------------------------------------------------------------ */

static size_t put_lenenc(uint8_t *p, uint64_t v)
{
	if (v < 251) {
		p[0] = (uint8_t)v;
		return 1;
	}
	size_t n = v <= 0xffff ? 2 : v <= 0xffffff ? 3 : 8;
	p[0] = n == 2 ? 0xfc : n == 3 ? 0xfd : 0xfe;
	for (size_t i = 0; i < n; i++)
		p[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

static size_t put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return 2;
}

static size_t ok(uint8_t *p, uint8_t header, uint16_t status, uint64_t affected, uint64_t id)
{
	size_t n = 0;
	p[n++] = header;
	n += put_lenenc(p + n, affected);
	n += put_lenenc(p + n, id);
	n += put_u16(p + n, status);
	n += put_u16(p + n, 1); /* warnings */
	return n;
}

static size_t err(uint8_t *p, uint16_t code)
{
	static const char msg[] = "#HY000boom";
	p[0] = 0xff;
	put_u16(p + 1, code);
	memcpy(p + 3, msg, sizeof(msg) - 1);
	return 3 + sizeof(msg) - 1;
}

static size_t eof(uint8_t *p, uint16_t status)
{
	p[0] = 0xfe;
	put_u16(p + 1, 0);
	put_u16(p + 3, status);
	return 5;
}

static size_t coldef(uint8_t *p)
{
	static const uint8_t def[] = {3,   'd', 'e', 'f', 2,   'd',  'b',  1, 't', 1,
	                              't', 1,   'c', 1,   'c', 0x0c, 0x21, 0, 11,  0,
	                              0,   0,   3,   0,   0,   0,    0,    0};
	memcpy(p, def, sizeof(def));
	return sizeof(def);
}

static size_t stmt_ok(uint8_t *p, uint32_t id, uint16_t cols, uint16_t params)
{
	p[0] = 0;
	for (int i = 0; i < 4; i++)
		p[1 + i] = (uint8_t)(id >> (8 * i));
	put_u16(p + 5, cols);
	put_u16(p + 7, params);
	p[9] = 0;
	put_u16(p + 10, 0);
	return 12;
}

static uint8_t *big; /* a 0xFFFFFF-byte payload for CHUNK, made on first use */

/* Builds step s's payload; returns its length and points *payload at it (owned by the caller
 * unless it is the shared big buffer). */
static uint32_t build(const struct step *s, uint8_t **payload)
{
	uint8_t buf[64];
	size_t n = 0;
	switch (s->op) {
	case OK: n = ok(buf, 0x00, (uint16_t)s->a, s->b, s->c); break;
	case OKFE:
		n = ok(buf, 0xfe, (uint16_t)s->a, 0, 0);
		memset(buf + n, 'i', s->b);
		n += s->b;
		break;
	case ERR: n = err(buf, (uint16_t)s->a); break;
	case EOF_: n = eof(buf, (uint16_t)s->a); break;
	case COLS: n = put_lenenc(buf, s->a); break;
	case DEF:
	case DEFS: n = coldef(buf); break;
	case ROW:
		memcpy(buf,
		       "\x01"
		       "1\x02"
		       "ab\xfb",
		       6);
		n = 6;
		break;
	case BROW:
		memcpy(buf, "\x00\x00\x05\x00\x00\x00", 6);
		n = 6;
		break;
	case STMT: n = stmt_ok(buf, s->a, (uint16_t)s->b, (uint16_t)s->c); break;
	case SHORT: n = stmt_ok(buf, 1, 0, 0) - 3; break;
	case INFILE:
		memcpy(buf, "\xfb/tmp/data.csv", 14);
		n = 14;
		break;
	case STR:
		memcpy(buf, "Uptime: 9  Threads: 1", 21);
		n = 21;
		break;
	case CHUNK:
		if (s->a <= sizeof(buf)) {
			memset(buf, 0x41, s->a);
			if (s->a)
				buf[0] = (uint8_t)s->b;
			n = s->a;
			break;
		}
		if (!big)
			big = calloc(1, PKT_MAX_CHUNK);
		big[0] = (uint8_t)s->b;
		*payload = big;
		return s->a;
	default: ck_abort_msg("not a server packet");
	}
	*payload = malloc(n);
	memcpy(*payload, buf, n);
	return (uint32_t)n;
}

/* Feeds one server packet the way the proxy does; returns reply_feed's answer. */
static bool feed_server(struct reply *r, const struct step *s)
{
	uint8_t *payload;
	uint32_t len = build(s, &payload);
	uint8_t first = len ? payload[0] : 0;
	bool result = reply_feed(r, len, reply_wants_packet(r, len, first) ? payload : NULL);
	if (payload != big)
		free(payload);
	return result;
}

START_TEST(test_reply_case)
{
	const struct tcase_def *tc = &cases[_i];
	struct reply r;
	reply_start(&r, tc->cmd, tc->caps);
	int n_steps = 0;
	for (const struct step *s = tc->steps; s->op != END; s++)
		n_steps++;
	for (int i = 0, k = 1; i < n_steps; i++) {
		const struct step *s = &tc->steps[i];
		if (s->op == AWAIT) {
			ck_assert_msg(reply_awaits_client(&r) == (s->a != 0),
			              "%s: step %d: awaits %d", tc->name, i + 1, !s->a);
			continue;
		}
		if (s->op == CLIENT) {
			reply_feed_client(&r, s->a);
			continue;
		}
		uint32_t repeat = s->op == DEFS ? s->a : 1;
		for (uint32_t rep = 0; rep < repeat; rep++, k++) {
			ck_assert_msg(!reply_done(&r), "%s: done before step %d", tc->name, i + 1);
			bool fed = feed_server(&r, s);
			if (tc->x.bad_at == i + 1 && rep == repeat - 1) {
				ck_assert_msg(!fed, "%s: step %d was accepted", tc->name, i + 1);
				return;
			}
			ck_assert_msg(fed, "%s: step %d (packet %d) refused", tc->name, i + 1, k);
		}
	}
	ck_assert_msg(tc->x.bad_at == 0, "%s: never refused", tc->name);
	ck_assert_msg(reply_done(&r), "%s: not done after the last packet", tc->name);
	ck_assert(!reply_awaits_client(&r));
	ck_assert_int_eq(r.failed, tc->x.failed);
	ck_assert_uint_eq(r.error_code, tc->x.error_code);
	ck_assert_uint_eq(r.status, tc->x.status);
	ck_assert_uint_eq(r.affected_rows, tc->x.affected);
	ck_assert_uint_eq(r.last_insert_id, tc->x.insert_id);
	ck_assert_uint_eq(r.stmt_id, tc->x.stmt_id);
	ck_assert_uint_eq(r.stmt_params, tc->x.stmt_params);

	/* once done, nothing more belongs to the reply */
	static const struct step extra[] = {S_OK(AC, 0, 0), S_EOF(AC), S_ERR(1), S_ROW};
	for (size_t e = 0; e < sizeof(extra) / sizeof(extra[0]); e++) {
		struct reply copy = r;
		ck_assert_msg(!feed_server(&copy, &extra[e]),
		              "%s: packet %zu after the end accepted", tc->name, e);
	}
}
END_TEST

START_TEST(test_reply_kinds)
{
	static const struct {
		uint8_t cmd;
		enum reply_kind kind;
	} kinds[] = {
	    {COM_QUERY, REPLY_RESULT},
	    {COM_STMT_EXECUTE, REPLY_RESULT},
	    {COM_STMT_BULK_EXECUTE, REPLY_RESULT},
	    {COM_STMT_FETCH, REPLY_ROWS},
	    {COM_FIELD_LIST, REPLY_FIELDS},
	    {COM_STMT_PREPARE, REPLY_PREPARE},
	    {COM_STMT_CLOSE, REPLY_NONE},
	    {COM_STMT_SEND_LONG_DATA, REPLY_NONE},
	    {COM_QUIT, REPLY_NONE},
	    {COM_PING, REPLY_ONE},
	    {COM_INIT_DB, REPLY_ONE},
	    {COM_STATISTICS, REPLY_ONE},
	    {COM_SET_OPTION, REPLY_ONE},
	    {COM_STMT_RESET, REPLY_ONE},
	    {COM_RESET_CONNECTION, REPLY_ONE},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ck_assert_int_eq(reply_kind_of(kinds[i].cmd), kinds[i].kind);
		struct reply r;
		reply_start(&r, kinds[i].cmd, 0);
		ck_assert_int_eq(r.kind, kinds[i].kind);
		ck_assert_int_eq(reply_done(&r), kinds[i].kind == REPLY_NONE);
	}
	struct reply r;
	reply_start(&r, COM_QUERY, CLIENT_DEPRECATE_EOF);
	ck_assert(r.deprecate_eof);
	reply_feed_client(&r, 0); /* not uploading: ignored */
	ck_assert(!reply_done(&r));
	ck_assert(!reply_awaits_client(&r));
}
END_TEST

static Suite *reply_suite(void)
{
	Suite *s = suite_create("reply");
	TCase *tc = tcase_create("cases");
	tcase_add_loop_test(tc, test_reply_case, 0, N_CASES);
	tcase_add_test(tc, test_reply_kinds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(reply_suite());
}
