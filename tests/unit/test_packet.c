/*
 * test_packet.c - unit tests for proxy/packet.c: bounds-checked readers, the sticky-failure
 * writer, length-encoded integers, framing over evbuffers and the generic OK/ERR/EOF packets.
 *
 * Inputs are copied into heap buffers of exactly their length so that ASan catches any read
 * past the end.
 */
#include "packet.h"

#include "check_main.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

/* A heap copy of exactly n bytes (ASan flags a read of byte n). */
static uint8_t *dup_exact(const void *src, size_t n)
{
	uint8_t *p = malloc(n);
	ck_assert_ptr_nonnull(p);
	if (n)
		memcpy(p, src, n);
	return p;
}

/* ---- readers on short buffers ---------------------------------------------------------------- */

enum reader_op {
	R_U8,
	R_U16,
	R_U32,
	R_LENENC,
	R_BYTES,
	R_SKIP,
	R_LENENC_STR,
	R_NUL_STR,
	R_NUL_INTO
};

static const struct {
	enum reader_op op;
	const char *name;
	const uint8_t bytes[16];
	size_t len;     /* the whole encoding: any shorter prefix must fail */
	uint64_t value; /* the integer read, or the string's length */
} reader_cases[] = {
    {R_U8, "u8", {0x7f}, 1, 0x7f},
    {R_U16, "u16", {0x34, 0x12}, 2, 0x1234},
    {R_U32, "u32", {0x78, 0x56, 0x34, 0xf2}, 4, 0xf2345678},
    {R_LENENC, "lenenc 1", {0xfa}, 1, 250},
    {R_LENENC, "lenenc fc", {0xfc, 0x01, 0x02}, 3, 0x0201},
    {R_LENENC, "lenenc fd", {0xfd, 0x01, 0x02, 0x03}, 4, 0x030201},
    {R_LENENC, "lenenc fe", {0xfe, 1, 2, 3, 4, 5, 6, 7, 8}, 9, 0x0807060504030201},
    {R_BYTES, "bytes 5", {1, 2, 3, 4, 5}, 5, 5},
    {R_SKIP, "skip 5", {1, 2, 3, 4, 5}, 5, 5},
    {R_LENENC_STR, "lenenc str", {3, 'a', 'b', 'c'}, 4, 3},
    {R_LENENC_STR, "lenenc str fc", {0xfc, 2, 0, 'a', 'b'}, 5, 2},
    {R_NUL_STR, "nul str", {'a', 'b', 'c', 0}, 4, 3},
    {R_NUL_INTO, "nul str into", {'a', 'b', 'c', 0}, 4, 3},
};

static bool run_reader(enum reader_op op, struct pkt_reader *r, uint64_t *value)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	const uint8_t *bytes;
	const char *s;
	size_t len = 5;
	char dst[8];
	bool ok = false;
	switch (op) {
	case R_U8: return pkt_get_u8(r, &u8) && (*value = u8, true);
	case R_U16: return pkt_get_u16(r, &u16) && (*value = u16, true);
	case R_U32: return pkt_get_u32(r, &u32) && (*value = u32, true);
	case R_LENENC: return pkt_get_lenenc(r, value);
	case R_BYTES: ok = pkt_get_bytes(r, 5, &bytes); break;
	case R_SKIP: ok = pkt_skip(r, 5); break;
	case R_LENENC_STR: ok = pkt_get_lenenc_str(r, &bytes, &len); break;
	case R_NUL_STR: ok = pkt_get_nul_str(r, &s, &len); break;
	case R_NUL_INTO:
		ok = pkt_get_nul_str_into(r, dst, sizeof(dst));
		len = ok ? strlen(dst) : 0;
		break;
	}
	*value = len;
	return ok;
}

START_TEST(test_reader_short)
{
	size_t n = reader_cases[_i].len;
	for (size_t cut = 0; cut <= n; cut++) {
		uint8_t *buf = dup_exact(reader_cases[_i].bytes, cut);
		struct pkt_reader r = pkt_reader_make(buf, cut);
		uint64_t value = 0;
		bool ok = run_reader(reader_cases[_i].op, &r, &value);
		ck_assert_msg(ok == (cut == n), "%s on %zu of %zu bytes returned %d",
		              reader_cases[_i].name, cut, n, ok);
		if (ok) {
			ck_assert_uint_eq(value, reader_cases[_i].value);
			ck_assert_uint_eq(pkt_remaining(&r), 0);
		}
		free(buf);
	}
}
END_TEST

/* ---- length-encoded integers ----------------------------------------------------------------- */

static const struct {
	uint64_t value;
	size_t len;
	uint8_t wire[9];
} lenenc_cases[] = {
    {0, 1, {0x00}},
    {250, 1, {0xfa}},
    {251, 3, {0xfc, 0xfb, 0x00}},
    {0xffff, 3, {0xfc, 0xff, 0xff}},
    {0x10000, 4, {0xfd, 0x00, 0x00, 0x01}},
    {0xffffff, 4, {0xfd, 0xff, 0xff, 0xff}},
    {0x1000000, 9, {0xfe, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}},
    {UINT64_MAX, 9, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
};

START_TEST(test_lenenc_round_trip)
{
	uint8_t out[32];
	struct pkt_writer w;
	pkt_writer_init(&w, out, sizeof(out), 0);
	pkt_put_lenenc(&w, lenenc_cases[_i].value);
	ck_assert(!w.failed);
	ck_assert_uint_eq(w.len, PKT_HEADER_LEN + lenenc_cases[_i].len);
	ck_assert_mem_eq(out + PKT_HEADER_LEN, lenenc_cases[_i].wire, lenenc_cases[_i].len);

	for (size_t cut = 0; cut <= lenenc_cases[_i].len; cut++) {
		uint8_t *buf = dup_exact(lenenc_cases[_i].wire, cut);
		struct pkt_reader r = pkt_reader_make(buf, cut);
		uint64_t v = 0;
		bool ok = pkt_get_lenenc(&r, &v);
		ck_assert_int_eq(ok, cut == lenenc_cases[_i].len);
		if (ok) {
			ck_assert_uint_eq(v, lenenc_cases[_i].value);
			ck_assert_uint_eq(pkt_remaining(&r), 0);
		}
		free(buf);
	}
}
END_TEST

START_TEST(test_lenenc_rejects_fb_ff)
{
	/* 0xfb is NULL in a text row and 0xff an ERR header: neither is an integer. */
	static const uint8_t bad[][9] = {{0xfb, 0, 0, 0, 0, 0, 0, 0, 0},
	                                 {0xff, 0, 0, 0, 0, 0, 0, 0, 0}};
	for (size_t i = 0; i < 2; i++) {
		struct pkt_reader r = pkt_reader_make(bad[i], sizeof(bad[i]));
		uint64_t v;
		const uint8_t *p;
		size_t len;
		ck_assert(!pkt_get_lenenc(&r, &v));
		r = pkt_reader_make(bad[i], sizeof(bad[i]));
		ck_assert(!pkt_get_lenenc_str(&r, &p, &len));
	}
}
END_TEST

START_TEST(test_lenenc_str_round_trip)
{
	static const size_t sizes[] = {0, 1, 250, 251, 300, 0xffff, 0x10000};
	uint8_t *data = malloc(0x10000);
	uint8_t *out = malloc(0x10000 + 32);
	for (size_t i = 0; i < 0x10000; i++)
		data[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct pkt_writer w;
		pkt_writer_init(&w, out, 0x10000 + 32, 1);
		pkt_put_lenenc_str(&w, data, sizes[i]);
		pkt_put_u8(&w, 0xaa);
		ck_assert(pkt_writer_finish(&w));
		struct pkt_reader r = pkt_reader_make(out + PKT_HEADER_LEN, w.len - PKT_HEADER_LEN);
		const uint8_t *p;
		size_t len;
		uint8_t tail;
		ck_assert(pkt_get_lenenc_str(&r, &p, &len));
		ck_assert_uint_eq(len, sizes[i]);
		ck_assert(len == 0 || memcmp(p, data, len) == 0);
		ck_assert(pkt_get_u8(&r, &tail));
		ck_assert_uint_eq(tail, 0xaa);
		/* the declared length is larger than what remains: refused, not over-read */
		r = pkt_reader_make(out + PKT_HEADER_LEN, w.len - PKT_HEADER_LEN - 2);
		ck_assert(sizes[i] == 0 || !pkt_get_lenenc_str(&r, &p, &len));
	}
	free(data);
	free(out);
}
END_TEST

/* ---- NUL-terminated strings ------------------------------------------------------------------ */

START_TEST(test_nul_str)
{
	const char *s;
	size_t len;
	char dst[4];
	uint8_t *buf = dup_exact("abc", 3); /* no NUL */
	struct pkt_reader r = pkt_reader_make(buf, 3);
	ck_assert(!pkt_get_nul_str(&r, &s, &len));
	ck_assert(!pkt_get_nul_str_into(&r, dst, sizeof(dst)));
	free(buf);

	buf = dup_exact("", 1); /* just the NUL */
	r = pkt_reader_make(buf, 1);
	ck_assert(pkt_get_nul_str(&r, &s, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(pkt_remaining(&r), 0);
	free(buf);

	buf = dup_exact("abc\0abcd\0", 9);
	r = pkt_reader_make(buf, 9);
	ck_assert(pkt_get_nul_str_into(&r, dst, sizeof(dst))); /* 3 + NUL fits exactly */
	ck_assert_str_eq(dst, "abc");
	ck_assert(!pkt_get_nul_str_into(&r, dst, sizeof(dst))); /* 4 + NUL does not */
	free(buf);
}
END_TEST

/* ---- the writer ------------------------------------------------------------------------------ */

START_TEST(test_writer_sticky_failure)
{
	uint8_t buf[8];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, 7, 0);
	pkt_put_u16(&w, 1); /* 6 of 7 */
	ck_assert(!w.failed);
	pkt_put_u16(&w, 2); /* would be 8 */
	ck_assert(w.failed);
	size_t len = w.len;
	pkt_put_u8(&w, 3); /* fits, but the failure sticks */
	pkt_put_zeros(&w, 0);
	pkt_put_bytes(&w, "", 0);
	ck_assert(w.failed);
	ck_assert_uint_eq(w.len, len);
	ck_assert(!pkt_writer_finish(&w));

	pkt_writer_init(&w, buf, 3, 0); /* no room for the header */
	ck_assert(w.failed);
	pkt_put_u8(&w, 1);
	ck_assert(!pkt_writer_finish(&w));

	pkt_writer_init(&w, buf, 8, 0);
	pkt_put_zeros(&w, 5);
	ck_assert(w.failed);
	pkt_writer_init(&w, buf, 8, 0);
	pkt_put_nul_str(&w, "abcd"); /* 5 bytes with the NUL */
	ck_assert(w.failed);
	pkt_writer_init(&w, buf, 8, 0);
	pkt_put_lenenc(&w, 0x10000); /* 4 bytes: fits exactly */
	ck_assert(pkt_writer_finish(&w));
}
END_TEST

START_TEST(test_writer_finish_header)
{
	uint8_t buf[400];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, sizeof(buf), 0x2a);
	pkt_put_zeros(&w, 300);
	pkt_put_u24(&w, 0x030201);
	pkt_put_u32(&w, 0x07060504);
	ck_assert(pkt_writer_finish(&w));
	ck_assert_uint_eq(w.len, 4 + 307);
	static const uint8_t hdr[] = {0x33, 0x01, 0x00, 0x2a};
	ck_assert_mem_eq(buf, hdr, 4);
	static const uint8_t tail[] = {1, 2, 3, 4, 5, 6, 7};
	ck_assert_mem_eq(buf + 4 + 300, tail, 7);

	pkt_writer_init(&w, buf, sizeof(buf), 7); /* empty payload */
	ck_assert(pkt_writer_finish(&w));
	static const uint8_t empty[] = {0, 0, 0, 7};
	ck_assert_mem_eq(buf, empty, 4);
}
END_TEST

START_TEST(test_writer_max_chunk)
{
	/* A payload of 0xFFFFFF or more needs a continuation chunk: one packet cannot hold it. */
	size_t cap = PKT_HEADER_LEN + PKT_MAX_CHUNK + 1;
	uint8_t *buf = malloc(cap);
	struct pkt_writer w;
	pkt_writer_init(&w, buf, cap, 0);
	pkt_put_zeros(&w, PKT_MAX_CHUNK - 1);
	ck_assert(pkt_writer_finish(&w));
	static const uint8_t hdr[] = {0xfe, 0xff, 0xff, 0x00};
	ck_assert_mem_eq(buf, hdr, 4);
	pkt_put_u8(&w, 0);
	ck_assert(!w.failed);
	ck_assert(!pkt_writer_finish(&w));
	pkt_put_u8(&w, 0);
	ck_assert(!pkt_writer_finish(&w));
	free(buf);
}
END_TEST

/* ---- framing --------------------------------------------------------------------------------- */

static void add_packet(struct evbuffer *b, uint32_t len, uint8_t seq, uint8_t fill)
{
	uint8_t hdr[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), seq};
	ck_assert_int_eq(evbuffer_add(b, hdr, 4), 0);
	if (len) {
		uint8_t *payload = malloc(len);
		memset(payload, fill, len);
		ck_assert_int_eq(evbuffer_add(b, payload, len), 0);
		free(payload);
	}
}

START_TEST(test_frame_small_and_partial)
{
	struct evbuffer *b = evbuffer_new();
	struct pkt_frame f;
	static const uint8_t pkt[] = {3, 0, 0, 5, 'a', 'b', 'c'};
	/* partial header, then partial payload, byte by byte */
	for (size_t n = 0; n < sizeof(pkt); n++) {
		ck_assert_int_eq(pkt_frame(b, 1024, &f), PKT_FRAME_PARTIAL);
		evbuffer_add(b, pkt + n, 1); /* each byte in its own chain segment */
	}
	ck_assert_int_eq(pkt_frame(b, 1024, &f), PKT_FRAME_READY);
	ck_assert_uint_eq(f.wire_len, 7);
	ck_assert_uint_eq(f.payload_len, 3);
	ck_assert_uint_eq(f.seq, 5);
	ck_assert_uint_eq(f.last_seq, 5);
	ck_assert_uint_eq(f.first_byte, 'a');
	ck_assert(!f.chunked);
	add_packet(b, 10, 6, 'x'); /* a second packet does not change the first frame */
	ck_assert_int_eq(pkt_frame(b, 1024, &f), PKT_FRAME_READY);
	ck_assert_uint_eq(f.wire_len, 7);
	ck_assert_uint_eq(evbuffer_get_length(b), 7 + 14); /* nothing consumed */
	evbuffer_drain(b, f.wire_len);
	ck_assert_int_eq(pkt_frame(b, 1024, &f), PKT_FRAME_READY);
	ck_assert_uint_eq(f.first_byte, 'x');
	ck_assert_uint_eq(f.seq, 6);
	evbuffer_drain(b, f.wire_len);

	add_packet(b, 0, 9, 0); /* an empty packet */
	ck_assert_int_eq(pkt_frame(b, 1024, &f), PKT_FRAME_READY);
	ck_assert_uint_eq(f.wire_len, 4);
	ck_assert_uint_eq(f.payload_len, 0);
	ck_assert_uint_eq(f.first_byte, 0);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_frame_chunked)
{
	struct evbuffer *b = evbuffer_new();
	struct pkt_frame f;
	add_packet(b, PKT_MAX_CHUNK, 3, 0xfe);
	ck_assert_int_eq(pkt_frame(b, 64u << 20, &f), PKT_FRAME_PARTIAL); /* continuation missing */
	add_packet(b, 10, 4, 0x11);
	ck_assert_int_eq(pkt_frame(b, 64u << 20, &f), PKT_FRAME_READY);
	ck_assert_uint_eq(f.wire_len, 2 * PKT_HEADER_LEN + PKT_MAX_CHUNK + 10);
	ck_assert_uint_eq(f.payload_len, PKT_MAX_CHUNK + 10);
	ck_assert(f.chunked);
	ck_assert_uint_eq(f.seq, 3);
	ck_assert_uint_eq(f.last_seq, 4);
	ck_assert_uint_eq(f.first_byte, 0xfe);
	/* a limit between the two chunks' sizes */
	ck_assert_int_eq(pkt_frame(b, PKT_MAX_CHUNK + 9, &f), PKT_FRAME_TOO_LARGE);
	ck_assert_int_eq(pkt_frame(b, PKT_MAX_CHUNK + 10, &f), PKT_FRAME_READY);
	evbuffer_drain(b, evbuffer_get_length(b));

	/* exactly 0xFFFFFF: an empty chunk says the packet is over */
	add_packet(b, PKT_MAX_CHUNK, 0, 0x01);
	ck_assert_int_eq(pkt_frame(b, 64u << 20, &f), PKT_FRAME_PARTIAL);
	add_packet(b, 0, 1, 0);
	ck_assert_int_eq(pkt_frame(b, 64u << 20, &f), PKT_FRAME_READY);
	ck_assert_uint_eq(f.wire_len, 2 * PKT_HEADER_LEN + PKT_MAX_CHUNK);
	ck_assert_uint_eq(f.payload_len, PKT_MAX_CHUNK);
	ck_assert(f.chunked);
	ck_assert_uint_eq(f.seq, 0);
	ck_assert_uint_eq(f.last_seq, 1);
	ck_assert_uint_eq(f.first_byte, 0x01);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_frame_too_large)
{
	struct evbuffer *b = evbuffer_new();
	struct pkt_frame f;
	static const uint8_t hdr[] = {101, 0, 0, 0}; /* only the header has arrived */
	evbuffer_add(b, hdr, sizeof(hdr));
	ck_assert_int_eq(pkt_frame(b, 100, &f), PKT_FRAME_TOO_LARGE);
	ck_assert_int_eq(pkt_frame(b, 101, &f), PKT_FRAME_PARTIAL);
	evbuffer_drain(b, 4);
	add_packet(b, 100, 0, 'q');
	ck_assert_int_eq(pkt_frame(b, 100, &f), PKT_FRAME_READY);
	ck_assert_int_eq(pkt_frame(b, 99, &f), PKT_FRAME_TOO_LARGE);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_peek_whole)
{
	struct evbuffer *b = evbuffer_new();
	struct pkt_header h;
	const uint8_t *payload = NULL;
	static const uint8_t part1[] = {5, 0, 0, 2, 'h', 'e'};
	static const uint8_t part2[] = {'l', 'l', 'o', 'X'};
	ck_assert_int_eq(pkt_peek_whole(b, 100, &h, &payload), PKT_FRAME_PARTIAL);
	ck_assert(!pkt_peek_header(b, &h));
	evbuffer_add(b, part1, 3);
	ck_assert_int_eq(pkt_peek_whole(b, 100, &h, &payload), PKT_FRAME_PARTIAL);
	evbuffer_add(b, part1 + 3, 3);
	ck_assert(pkt_peek_header(b, &h));
	ck_assert_uint_eq(h.len, 5);
	ck_assert_uint_eq(h.seq, 2);
	ck_assert_int_eq(pkt_peek_whole(b, 100, &h, &payload), PKT_FRAME_PARTIAL);
	evbuffer_add(b, part2, sizeof(part2)); /* a second segment, and a byte of the next packet */
	ck_assert_int_eq(pkt_peek_whole(b, 100, &h, &payload), PKT_FRAME_READY);
	ck_assert_mem_eq(payload, "hello", 5);
	ck_assert_uint_eq(evbuffer_get_length(b), 10);
	ck_assert_int_eq(pkt_peek_whole(b, 4, &h, &payload), PKT_FRAME_TOO_LARGE);
	evbuffer_drain(b, evbuffer_get_length(b));

	/* a first chunk of 0xFFFFFF is never "whole" */
	static const uint8_t big[] = {0xff, 0xff, 0xff, 0};
	evbuffer_add(b, big, 4);
	ck_assert_int_eq(pkt_peek_whole(b, 64u << 20, &h, &payload), PKT_FRAME_TOO_LARGE);
	evbuffer_free(b);
}
END_TEST

/* ---- OK / ERR / EOF -------------------------------------------------------------------------- */

/* Moves the one packet at the front of b into an exact heap copy of its payload. */
static uint8_t *take_packet(struct evbuffer *b, uint8_t seq, size_t *len)
{
	struct pkt_header h;
	ck_assert(pkt_peek_header(b, &h));
	ck_assert_uint_eq(h.seq, seq);
	ck_assert_uint_eq(evbuffer_get_length(b), PKT_HEADER_LEN + h.len);
	uint8_t *p = malloc(h.len ? h.len : 1);
	evbuffer_drain(b, PKT_HEADER_LEN);
	ck_assert_int_eq(evbuffer_remove(b, p, h.len), (int)h.len);
	*len = h.len;
	return p;
}

static const struct {
	uint8_t header;
	uint64_t affected, insert_id;
	uint16_t status, warnings;
} ok_cases[] = {
    {PKT_OK, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0},
    {PKT_OK, 250, 251, SERVER_STATUS_IN_TRANS, 1},
    {PKT_OK, 0xffff, 0x10000, SERVER_MORE_RESULTS_EXISTS, 0xffff},
    {PKT_EOF, 0xffffff, 0x1000000, SERVER_STATUS_AUTOCOMMIT | SERVER_SESSION_STATE_CHANGED, 3},
    {PKT_EOF, UINT64_MAX, UINT64_MAX, 0xffff, 0},
};

START_TEST(test_ok_round_trip)
{
	struct evbuffer *b = evbuffer_new();
	ck_assert(pkt_append_ok(b, 7, ok_cases[_i].header, ok_cases[_i].affected,
	                        ok_cases[_i].insert_id, ok_cases[_i].status,
	                        ok_cases[_i].warnings));
	size_t len;
	uint8_t *p = take_packet(b, 7, &len);
	ck_assert_uint_eq(p[0], ok_cases[_i].header);
	struct pkt_ok ok;
	ck_assert(pkt_parse_ok(p, len, &ok));
	ck_assert_uint_eq(ok.affected_rows, ok_cases[_i].affected);
	ck_assert_uint_eq(ok.last_insert_id, ok_cases[_i].insert_id);
	ck_assert_uint_eq(ok.status, ok_cases[_i].status);
	ck_assert_uint_eq(ok.warnings, ok_cases[_i].warnings);
	/* without the warnings (a pre-4.1 style tail) it still parses; shorter does not */
	ck_assert(pkt_parse_ok(p, len - 2, &ok));
	ck_assert_uint_eq(ok.warnings, 0);
	for (size_t cut = 0; cut < len - 2; cut++) {
		uint8_t *c = dup_exact(p, cut);
		ck_assert_msg(!pkt_parse_ok(c, cut, &ok), "OK cut to %zu bytes parsed", cut);
		free(c);
	}
	free(p);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_eof_round_trip)
{
	struct evbuffer *b = evbuffer_new();
	ck_assert(pkt_append_eof(b, 4, 2, SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS));
	size_t len;
	uint8_t *p = take_packet(b, 4, &len);
	ck_assert_uint_eq(len, 5);
	struct pkt_ok eof;
	ck_assert(pkt_parse_eof(p, len, &eof));
	ck_assert_uint_eq(eof.warnings, 2);
	ck_assert_uint_eq(eof.status, SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS);
	ck_assert_uint_eq(eof.affected_rows, 0);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *c = dup_exact(p, cut);
		ck_assert(!pkt_parse_eof(c, cut, &eof));
		free(c);
	}
	p[0] = PKT_OK; /* an OK is not an EOF */
	ck_assert(!pkt_parse_eof(p, len, &eof));
	p[0] = PKT_ERR;
	struct pkt_ok ok;
	ck_assert(!pkt_parse_ok(p, len, &ok));
	free(p);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_err_round_trip)
{
	struct evbuffer *b = evbuffer_new();
	char msg[700];
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	msg[511] = 'Z';
	ck_assert(pkt_append_err(b, 1, 1146, "42S02", msg));
	size_t len;
	uint8_t *p = take_packet(b, 1, &len);
	ck_assert_uint_eq(len, 1 + 2 + 6 + 512); /* the message is cut at 512 bytes */
	struct pkt_err err;
	ck_assert(pkt_parse_err(p, len, &err));
	ck_assert_uint_eq(err.code, 1146);
	ck_assert_str_eq(err.sqlstate, "42S02");
	ck_assert_uint_eq(err.message_len, 512);
	ck_assert_uint_eq((uint8_t)err.message[511], 'Z');
	free(p);

	ck_assert(pkt_append_err(b, 2, 1045, "28000", "Access denied"));
	p = take_packet(b, 2, &len);
	ck_assert(pkt_parse_err(p, len, &err));
	ck_assert_uint_eq(err.code, 1045);
	ck_assert_str_eq(err.sqlstate, "28000");
	ck_assert_uint_eq(err.message_len, 13);
	ck_assert_mem_eq(err.message, "Access denied", 13);
	free(p);

	ck_assert(pkt_append_err(b, 0, 1064, "42000", "")); /* empty message */
	p = take_packet(b, 0, &len);
	ck_assert(pkt_parse_err(p, len, &err));
	ck_assert_uint_eq(err.message_len, 0);
	free(p);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_err_without_state)
{
	/* Before 4.1 (and in some handshake errors) there is no '#' and no SQL state. */
	static const uint8_t raw[] = {0xff, 0x10, 0x04, 'T', 'o', 'o', ' ', 'm', 'a', 'n', 'y'};
	uint8_t *p = dup_exact(raw, sizeof(raw));
	struct pkt_err err;
	ck_assert(pkt_parse_err(p, sizeof(raw), &err));
	ck_assert_uint_eq(err.code, 1040);
	ck_assert_str_eq(err.sqlstate, "HY000");
	ck_assert_uint_eq(err.message_len, 8);
	ck_assert_mem_eq(err.message, "Too many", 8);
	free(p);

	static const uint8_t hash_short[] = {0xff, 0x10, 0x04, '#', 'H', 'Y'}; /* '#' but < 5 */
	p = dup_exact(hash_short, sizeof(hash_short));
	ck_assert(pkt_parse_err(p, sizeof(hash_short), &err));
	ck_assert_str_eq(err.sqlstate, "HY000");
	ck_assert_uint_eq(err.message_len, 3);
	free(p);

	for (size_t cut = 0; cut < 3; cut++) {
		p = dup_exact(raw, cut);
		ck_assert(!pkt_parse_err(p, cut, &err));
		free(p);
	}
	static const uint8_t not_err[] = {0x00, 0x10, 0x04};
	ck_assert(!pkt_parse_err(not_err, sizeof(not_err), &err));
}
END_TEST

/* An OK after an autocommit UPDATE with last_gtid tracked, as MariaDB 10.11 sends it: status
 * AUTOCOMMIT | SESSION_STATE_CHANGED, no info, one system-variables entry. */
static const uint8_t ok_with_gtid[] = {
    0x00, 0x01, 0x00, 0x02, 0x40, 0x00, 0x00, /* header, affected 1, id 0, status, warnings */
    0x00,                                     /* info: empty */
    0x13,                                     /* session state: 19 bytes */
    0x00, 0x11,                               /* SESSION_TRACK_SYSTEM_VARIABLES, 17 bytes */
    0x09, 'l',  'a',  's',  't',  '_',  'g',  't', 'i', 'd', 0x06, '0', '-', '1', '-', '4', '2'};

START_TEST(test_ok_tracked_variable)
{
	char gtid[32];
	ck_assert(pkt_ok_tracked_variable(ok_with_gtid, sizeof(ok_with_gtid), "last_gtid", gtid,
	                                  sizeof(gtid)));
	ck_assert_str_eq(gtid, "0-1-42");
	ck_assert(!pkt_ok_tracked_variable(ok_with_gtid, sizeof(ok_with_gtid), "autocommit", gtid,
	                                   sizeof(gtid)));
	ck_assert(!pkt_ok_tracked_variable(ok_with_gtid, sizeof(ok_with_gtid), "last_gtid", gtid,
	                                   4)); /* does not fit */
	for (size_t cut = 0; cut < sizeof(ok_with_gtid); cut++)
		ck_assert(
		    !pkt_ok_tracked_variable(ok_with_gtid, cut, "last_gtid", gtid, sizeof(gtid)));
	uint8_t unchanged[sizeof(ok_with_gtid)];
	memcpy(unchanged, ok_with_gtid, sizeof(unchanged));
	unchanged[4] = 0x00; /* SESSION_STATE_CHANGED clear: nothing is tracked */
	ck_assert(!pkt_ok_tracked_variable(unchanged, sizeof(unchanged), "last_gtid", gtid,
	                                   sizeof(gtid)));
}
END_TEST

static Suite *packet_suite(void)
{
	Suite *s = suite_create("packet");
	TCase *tc = tcase_create("readers");
	tcase_add_loop_test(tc, test_reader_short, 0,
	                    sizeof(reader_cases) / sizeof(reader_cases[0]));
	tcase_add_loop_test(tc, test_lenenc_round_trip, 0,
	                    sizeof(lenenc_cases) / sizeof(lenenc_cases[0]));
	tcase_add_test(tc, test_lenenc_rejects_fb_ff);
	tcase_add_test(tc, test_lenenc_str_round_trip);
	tcase_add_test(tc, test_nul_str);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_test(tc, test_writer_sticky_failure);
	tcase_add_test(tc, test_writer_finish_header);
	tcase_add_test(tc, test_writer_max_chunk);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_frame_small_and_partial);
	tcase_add_test(tc, test_frame_chunked);
	tcase_add_test(tc, test_frame_too_large);
	tcase_add_test(tc, test_peek_whole);
	suite_add_tcase(s, tc);

	tc = tcase_create("generic");
	tcase_add_loop_test(tc, test_ok_round_trip, 0, sizeof(ok_cases) / sizeof(ok_cases[0]));
	tcase_add_test(tc, test_eof_round_trip);
	tcase_add_test(tc, test_err_round_trip);
	tcase_add_test(tc, test_err_without_state);
	tcase_add_test(tc, test_ok_tracked_variable);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(packet_suite());
}
