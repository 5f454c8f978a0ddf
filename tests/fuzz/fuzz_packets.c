/*
 * fuzz_packets.c - packet framing (proxy/packet.c) and the reply tracker (proxy/reply.c) on
 * arbitrary byte streams.
 *
 * Input layout:
 *   byte 0      the command whose reply is tracked (reply_start)
 *   bytes 1-4   the connection's capability flags, little-endian
 *   byte 5      options: bit 0 "expand", bits 1-7 the piece size
 *   the rest    the stream, as a client or a backend sends it
 *
 * The stream goes into evbuffers the way sockets fill them: in pieces of the given size (0: all
 * at once; larger if that would make over MAX_PIECES), each its own chain and its own exact-size
 * heap block, so a read past what arrived is caught by AddressSanitizer rather than hidden by a
 * chain's spare room. With "expand", a header declaring a full 16 MiB chunk (0xFFFFFF) is followed
 * by its first payload byte from the input and the rest as zeros the harness supplies (at most
 * EXPAND_MAX times), so chunked packets and continuations are reached without 16 MiB inputs.
 *
 * Three readers consume the stream: the command loop's pkt_frame(), the login code's
 * pkt_peek_whole() (each checked against the other and the raw bytes), and the session's reply
 * loop, copied from session.c's move_reply()/forward_packet()/forward_upload(), feeding the
 * tracker as the pieces arrive. Each must make progress or stop: a hang is a finding.
 */
#include "packet.h"
#include "reply.h"

#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX_LEN       6
#define OPT_EXPAND       0x01
#define EXPAND_MAX       2
#define MAX_SEGMENTS     256
#define MAX_PIECES       128 /* more chains only make every input slow (pkt_frame walks them) */
#define LOGIN_MAX_PACKET (64 * 1024) /* login.c's and server.c's limit */

static uint8_t zeros[PKT_MAX_CHUNK];
/* Where a whole 16 MiB chunk is copied: a global of exactly that size (ASan guards globals too),
 * since mapping and unmapping 16 MiB per input would be most of the run time. */
static uint8_t big_payload[PKT_MAX_CHUNK];

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* The stream as ranges of the input and runs of harness-supplied zeros. */
struct segment {
	const uint8_t *p;
	size_t len;
	bool zeros;
};

struct stream {
	struct segment seg[MAX_SEGMENTS];
	size_t n;
	size_t piece; /* 0: each segment whole */
};

static void add_segment(struct stream *s, const uint8_t *p, size_t len, bool is_zeros)
{
	if (len == 0)
		return;
	if (!is_zeros && s->n > 0 && !s->seg[s->n - 1].zeros &&
	    s->seg[s->n - 1].p + s->seg[s->n - 1].len == p) {
		s->seg[s->n - 1].len += len;
		return;
	}
	CHECK(s->n < MAX_SEGMENTS);
	s->seg[s->n++] = (struct segment){p, len, is_zeros};
}

static void build_stream(struct stream *s, const uint8_t *data, size_t size, bool expand)
{
	s->n = 0;
	size_t i = 0, expanded = 0;
	while (expand && expanded < EXPAND_MAX && size - i >= PKT_HEADER_LEN + 1) {
		struct pkt_header h = pkt_header_decode(data + i);
		if (h.len == PKT_MAX_CHUNK) {
			add_segment(s, data + i, PKT_HEADER_LEN + 1, false);
			add_segment(s, zeros, PKT_MAX_CHUNK - 1, true);
			i += PKT_HEADER_LEN + 1;
			expanded++;
			continue;
		}
		size_t n = PKT_HEADER_LEN + (size_t)h.len;
		if (n > size - i)
			n = size - i;
		add_segment(s, data + i, n, false);
		i += n;
	}
	add_segment(s, data + i, size - i, false);
}

static void free_block(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Appends n bytes as their own chain in an exact-size block. */
static void add_piece(struct evbuffer *buf, const uint8_t *p, size_t n, bool is_zeros)
{
	if (is_zeros) {
		CHECK(evbuffer_add_reference(buf, p, n, NULL, NULL) == 0);
		return;
	}
	uint8_t *copy = malloc(n);
	CHECK(copy);
	memcpy(copy, p, n);
	CHECK(evbuffer_add_reference(buf, copy, n, free_block, NULL) == 0);
}

/* Walks the stream piece by piece; load_next() appends the next piece and says if there was one. */
struct feeder {
	const struct stream *s;
	size_t seg, off;
};

static bool load_next(struct feeder *f, struct evbuffer *buf)
{
	if (f->seg == f->s->n)
		return false;
	const struct segment *sg = &f->s->seg[f->seg];
	size_t n = sg->len - f->off;
	if (!sg->zeros && f->s->piece && n > f->s->piece)
		n = f->s->piece;
	add_piece(buf, sg->p + f->off, n, sg->zeros);
	f->off += n;
	if (f->off == sg->len) {
		f->seg++;
		f->off = 0;
	}
	return true;
}

static struct evbuffer *load_all(const struct stream *s)
{
	struct evbuffer *buf = evbuffer_new();
	CHECK(buf);
	struct feeder f = {s, 0, 0};
	while (load_next(&f, buf))
		;
	return buf;
}

/* An exact-size copy of the n payload bytes at the front of buf; put_payload() releases it. */
static uint8_t *copy_payload(struct evbuffer *buf, size_t n)
{
	uint8_t *copy = n == sizeof(big_payload) ? big_payload : malloc(n ? n : 1);
	CHECK(copy);
	struct evbuffer_ptr at;
	CHECK(evbuffer_ptr_set(buf, &at, PKT_HEADER_LEN, EVBUFFER_PTR_SET) == 0);
	CHECK(evbuffer_copyout_from(buf, &at, copy, n) == (ev_ssize_t)n);
	return copy;
}

static void put_payload(uint8_t *copy)
{
	if (copy != big_payload)
		free(copy);
}

/* The generic reply packets' parsers, on one whole payload. */
static void parse_generic(const uint8_t *payload, size_t len)
{
	struct pkt_err err;
	if (pkt_parse_err(payload, len, &err))
		CHECK((const uint8_t *)err.message >= payload &&
		      (const uint8_t *)err.message + err.message_len <= payload + len &&
		      strnlen(err.sqlstate, sizeof(err.sqlstate)) < sizeof(err.sqlstate));
	struct pkt_ok ok;
	(void)pkt_parse_ok(payload, len, &ok);
	(void)pkt_parse_eof(payload, len, &ok);
}

/* The command loop (session_run_commands): whole logical packets, chunks and all. */
static void frame_all(const struct stream *s, size_t max_payload)
{
	struct evbuffer *buf = load_all(s);
	for (;;) {
		size_t avail = evbuffer_get_length(buf);
		struct pkt_frame f;
		if (pkt_frame(buf, max_payload, &f) != PKT_FRAME_READY)
			break;
		CHECK(f.wire_len >= PKT_HEADER_LEN && f.wire_len <= avail);
		CHECK(f.payload_len <= max_payload && f.payload_len < f.wire_len);
		uint8_t head[PKT_HEADER_LEN + 1];
		CHECK(evbuffer_copyout(buf, head,
		                       sizeof(head) <= avail ? sizeof(head) : PKT_HEADER_LEN) > 0);
		struct pkt_header h = pkt_header_decode(head);
		CHECK(f.seq == h.seq);
		CHECK(f.first_byte == (h.len > 0 ? head[PKT_HEADER_LEN] : 0));
		if (!f.chunked) {
			CHECK(f.wire_len == PKT_HEADER_LEN + f.payload_len && f.seq == f.last_seq);
			/* The single-chunk reader must agree, and the payload is what was sent. */
			const uint8_t *payload;
			CHECK(pkt_peek_whole(buf, max_payload, &h, &payload) == PKT_FRAME_READY);
			CHECK(h.len == f.payload_len);
			uint8_t *copy = copy_payload(buf, h.len);
			CHECK(memcmp(copy, payload, h.len) == 0);
			parse_generic(copy, h.len);
			put_payload(copy);
		}
		CHECK(evbuffer_drain(buf, f.wire_len) == 0);
	}
	evbuffer_free(buf);
}

/* The login and backend-handshake readers: single chunks below a small limit. */
static void peek_all(const struct stream *s)
{
	struct evbuffer *buf = load_all(s);
	struct pkt_header h;
	const uint8_t *payload;
	while (pkt_peek_whole(buf, LOGIN_MAX_PACKET, &h, &payload) == PKT_FRAME_READY) {
		CHECK(h.len <= LOGIN_MAX_PACKET &&
		      evbuffer_get_length(buf) >= PKT_HEADER_LEN + (size_t)h.len);
		CHECK(evbuffer_drain(buf, PKT_HEADER_LEN + (size_t)h.len) == 0);
	}
	evbuffer_free(buf);
}

/* ---- the session's reply loop, minus the sockets ------------------------------------------- */

struct tracker {
	struct reply reply;
	size_t packet_left;
};

/* session.c's forward_packet() with out == NULL: false on a protocol error. */
static bool forward_packet(struct tracker *t, struct evbuffer *in)
{
	uint8_t head[PKT_HEADER_LEN + 1];
	size_t avail = evbuffer_get_length(in);
	if (avail < PKT_HEADER_LEN)
		return true;
	size_t peek = avail > PKT_HEADER_LEN ? sizeof(head) : PKT_HEADER_LEN;
	CHECK(evbuffer_copyout(in, head, peek) == (ev_ssize_t)peek);
	struct pkt_header h = pkt_header_decode(head);
	if (h.len > 0 && peek == PKT_HEADER_LEN)
		return true;
	uint8_t first = h.len > 0 ? head[PKT_HEADER_LEN] : 0;
	size_t total = PKT_HEADER_LEN + (size_t)h.len;
	uint8_t *payload = NULL;
	if (reply_wants_packet(&t->reply, h.len, first)) {
		if (avail < total)
			return true;
		payload = copy_payload(in, h.len);
	}
	bool ok = reply_feed(&t->reply, h.len, payload);
	if (payload)
		put_payload(payload);
	if (!ok)
		return false;
	size_t now = total <= avail ? total : avail;
	t->packet_left = total - now;
	return evbuffer_drain(in, now) == 0;
}

/* session.c's forward_upload(): the client's LOAD DATA LOCAL packets, whole. */
static void forward_upload(struct tracker *t, struct evbuffer *in)
{
	while (reply_awaits_client(&t->reply)) {
		struct pkt_header h;
		if (!pkt_peek_header(in, &h))
			return;
		size_t total = PKT_HEADER_LEN + (size_t)h.len;
		if (evbuffer_get_length(in) < total)
			return;
		reply_feed_client(&t->reply, h.len);
		CHECK(evbuffer_drain(in, total) == 0);
	}
}

/* session.c's move_reply(), and the upload it hands over to: false on a protocol error. */
static bool move_reply(struct tracker *t, struct evbuffer *in)
{
	for (;;) {
		size_t avail = evbuffer_get_length(in);
		if (t->packet_left > 0) {
			size_t n = avail < t->packet_left ? avail : t->packet_left;
			if (n == 0)
				return true;
			CHECK(evbuffer_drain(in, n) == 0);
			t->packet_left -= n;
		} else if (reply_done(&t->reply)) {
			return true;
		} else if (reply_awaits_client(&t->reply)) {
			forward_upload(t, in);
			if (evbuffer_get_length(in) == avail)
				return true;
		} else {
			if (!forward_packet(t, in))
				return false;
			if (evbuffer_get_length(in) == avail)
				return true;
		}
	}
}

static void track_replies(const struct stream *s, uint8_t cmd, uint32_t caps)
{
	struct tracker t = {.packet_left = 0};
	reply_start(&t.reply, cmd, caps);
	if (reply_done(&t.reply))
		return; /* the server says nothing to this command */
	struct evbuffer *in = evbuffer_new();
	CHECK(in);
	struct feeder f = {s, 0, 0};
	while (load_next(&f, in)) {
		for (;;) {
			/* Bytes after a finished reply answer the next command: the same again. */
			if (reply_done(&t.reply) && t.packet_left == 0 &&
			    evbuffer_get_length(in) > 0)
				reply_start(&t.reply, cmd, caps);
			size_t before = evbuffer_get_length(in);
			if (!move_reply(&t, in))
				goto out; /* the session drops the backend */
			if (evbuffer_get_length(in) == before)
				break; /* waiting for the next piece */
		}
	}
out:
	evbuffer_free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < PREFIX_LEN)
		return 0;
	uint8_t cmd = data[0];
	uint32_t caps = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
	                (uint32_t)data[4] << 24;
	uint8_t opts = data[5];
	static struct stream s;
	s.piece = opts >> 1;
	if (s.piece && (size - PREFIX_LEN) / s.piece > MAX_PIECES)
		s.piece = (size - PREFIX_LEN) / MAX_PIECES + 1;
	build_stream(&s, data + PREFIX_LEN, size - PREFIX_LEN, opts & OPT_EXPAND);

	frame_all(&s, SIZE_MAX);
	frame_all(&s, (size_t)cmd << 8); /* a small max_allowed_packet */
	peek_all(&s);
	track_replies(&s, cmd, caps);
	return 0;
}
