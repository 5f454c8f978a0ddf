/*
 * packet.c - MySQL packet framing and field codecs (see packet.h).
 */
#include "packet.h"

#include <event2/buffer.h>
#include <string.h>

bool pkt_get_u8(struct pkt_reader *r, uint8_t *out)
{
	if (pkt_remaining(r) < 1)
		return false;
	*out = *r->p++;
	return true;
}

bool pkt_get_u16(struct pkt_reader *r, uint16_t *out)
{
	if (pkt_remaining(r) < 2)
		return false;
	*out = (uint16_t)(r->p[0] | r->p[1] << 8);
	r->p += 2;
	return true;
}

static uint64_t read_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

bool pkt_get_u32(struct pkt_reader *r, uint32_t *out)
{
	if (pkt_remaining(r) < 4)
		return false;
	*out = (uint32_t)read_le(r->p, 4);
	r->p += 4;
	return true;
}

bool pkt_get_lenenc(struct pkt_reader *r, uint64_t *out)
{
	uint8_t first;
	if (!pkt_get_u8(r, &first))
		return false;
	int n;
	switch (first) {
	case 0xfc: n = 2; break;
	case 0xfd: n = 3; break;
	case 0xfe: n = 8; break;
	case 0xfb: /* NULL in a text row: not an integer */
	case 0xff: return false;
	default: *out = first; return true;
	}
	if (pkt_remaining(r) < (size_t)n)
		return false;
	*out = read_le(r->p, n);
	r->p += n;
	return true;
}

bool pkt_get_bytes(struct pkt_reader *r, size_t n, const uint8_t **out)
{
	if (pkt_remaining(r) < n)
		return false;
	*out = r->p;
	r->p += n;
	return true;
}

bool pkt_skip(struct pkt_reader *r, size_t n)
{
	const uint8_t *ignored;
	return pkt_get_bytes(r, n, &ignored);
}

bool pkt_get_lenenc_str(struct pkt_reader *r, const uint8_t **out, size_t *len)
{
	uint64_t n;
	if (!pkt_get_lenenc(r, &n) || n > pkt_remaining(r))
		return false;
	*len = (size_t)n;
	return pkt_get_bytes(r, (size_t)n, out);
}

bool pkt_get_nul_str(struct pkt_reader *r, const char **out, size_t *len)
{
	const uint8_t *nul = memchr(r->p, 0, pkt_remaining(r));
	if (!nul)
		return false;
	*out = (const char *)r->p;
	*len = (size_t)(nul - r->p);
	r->p = nul + 1;
	return true;
}

bool pkt_get_nul_str_into(struct pkt_reader *r, char *dst, size_t cap)
{
	const char *s;
	size_t len;
	if (!pkt_get_nul_str(r, &s, &len) || len >= cap)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

void pkt_writer_init(struct pkt_writer *w, uint8_t *buf, size_t cap, uint8_t seq)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->failed = cap < PKT_HEADER_LEN;
	if (!w->failed) {
		memset(buf, 0, 3);
		buf[3] = seq;
		w->len = PKT_HEADER_LEN;
	}
}

void pkt_put_bytes(struct pkt_writer *w, const void *data, size_t n)
{
	if (w->failed || w->cap - w->len < n) {
		w->failed = true;
		return;
	}
	if (n)
		memcpy(w->buf + w->len, data, n);
	w->len += n;
}

static void put_le(struct pkt_writer *w, uint64_t v, int n)
{
	uint8_t b[8];
	for (int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	pkt_put_bytes(w, b, (size_t)n);
}

void pkt_put_u8(struct pkt_writer *w, uint8_t v)
{
	put_le(w, v, 1);
}

void pkt_put_u16(struct pkt_writer *w, uint16_t v)
{
	put_le(w, v, 2);
}

void pkt_put_u24(struct pkt_writer *w, uint32_t v)
{
	put_le(w, v, 3);
}

void pkt_put_u32(struct pkt_writer *w, uint32_t v)
{
	put_le(w, v, 4);
}

void pkt_put_lenenc(struct pkt_writer *w, uint64_t v)
{
	if (v < 0xfb) {
		put_le(w, v, 1);
	} else if (v <= 0xffff) {
		pkt_put_u8(w, 0xfc);
		put_le(w, v, 2);
	} else if (v <= 0xffffff) {
		pkt_put_u8(w, 0xfd);
		put_le(w, v, 3);
	} else {
		pkt_put_u8(w, 0xfe);
		put_le(w, v, 8);
	}
}

void pkt_put_zeros(struct pkt_writer *w, size_t n)
{
	if (w->failed || w->cap - w->len < n) {
		w->failed = true;
		return;
	}
	memset(w->buf + w->len, 0, n);
	w->len += n;
}

void pkt_put_nul_str(struct pkt_writer *w, const char *s)
{
	pkt_put_bytes(w, s, strlen(s) + 1);
}

void pkt_put_lenenc_str(struct pkt_writer *w, const void *data, size_t n)
{
	pkt_put_lenenc(w, n);
	pkt_put_bytes(w, data, n);
}

bool pkt_writer_finish(struct pkt_writer *w)
{
	if (w->failed || w->len - PKT_HEADER_LEN >= PKT_MAX_CHUNK)
		return false;
	size_t n = w->len - PKT_HEADER_LEN;
	w->buf[0] = (uint8_t)n;
	w->buf[1] = (uint8_t)(n >> 8);
	w->buf[2] = (uint8_t)(n >> 16);
	return true;
}

bool pkt_peek_header(struct evbuffer *buf, struct pkt_header *h)
{
	uint8_t raw[PKT_HEADER_LEN];
	if (evbuffer_copyout(buf, raw, sizeof(raw)) != (ev_ssize_t)sizeof(raw))
		return false;
	*h = pkt_header_decode(raw);
	return true;
}

enum pkt_frame_result pkt_frame(struct evbuffer *buf, size_t max_payload, struct pkt_frame *f)
{
	size_t avail = evbuffer_get_length(buf);
	size_t off = 0;
	memset(f, 0, sizeof(*f));
	for (int chunk = 0;; chunk++) {
		if (avail - off < PKT_HEADER_LEN)
			return PKT_FRAME_PARTIAL;
		uint8_t raw[PKT_HEADER_LEN + 1];
		size_t want = avail - off >= sizeof(raw) ? sizeof(raw) : PKT_HEADER_LEN;
		struct evbuffer_ptr at;
		if (evbuffer_ptr_set(buf, &at, off, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(buf, &at, raw, want) != (ev_ssize_t)want)
			return PKT_FRAME_PARTIAL;
		struct pkt_header h = pkt_header_decode(raw);
		if (chunk == 0) {
			f->seq = h.seq;
			f->first_byte =
			    h.len > 0 && want > PKT_HEADER_LEN ? raw[PKT_HEADER_LEN] : 0;
		}
		f->last_seq = h.seq;
		f->payload_len += h.len;
		f->chunked = chunk > 0;
		if (f->payload_len > max_payload)
			return PKT_FRAME_TOO_LARGE;
		off += PKT_HEADER_LEN + h.len;
		if (avail < off)
			return PKT_FRAME_PARTIAL;
		if (h.len < PKT_MAX_CHUNK) {
			f->wire_len = off;
			return PKT_FRAME_READY;
		}
	}
}

bool pkt_append_ok(struct evbuffer *out, uint8_t seq, uint8_t header, uint64_t affected,
                   uint64_t insert_id, uint16_t status, uint16_t warnings)
{
	uint8_t buf[64];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, sizeof(buf), seq);
	pkt_put_u8(&w, header);
	pkt_put_lenenc(&w, affected);
	pkt_put_lenenc(&w, insert_id);
	pkt_put_u16(&w, status);
	pkt_put_u16(&w, warnings);
	return pkt_writer_finish(&w) && evbuffer_add(out, buf, w.len) == 0;
}

bool pkt_append_err(struct evbuffer *out, uint8_t seq, uint16_t code, const char *sqlstate,
                    const char *message)
{
	uint8_t buf[600];
	struct pkt_writer w;
	size_t mlen = strlen(message);
	if (mlen > 512) /* MySQL's own limit on error message length */
		mlen = 512;
	pkt_writer_init(&w, buf, sizeof(buf), seq);
	pkt_put_u8(&w, PKT_ERR);
	pkt_put_u16(&w, code);
	pkt_put_u8(&w, '#');
	pkt_put_bytes(&w, sqlstate, 5);
	pkt_put_bytes(&w, message, mlen);
	return pkt_writer_finish(&w) && evbuffer_add(out, buf, w.len) == 0;
}

bool pkt_append_eof(struct evbuffer *out, uint8_t seq, uint16_t warnings, uint16_t status)
{
	uint8_t buf[16];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, sizeof(buf), seq);
	pkt_put_u8(&w, PKT_EOF);
	pkt_put_u16(&w, warnings);
	pkt_put_u16(&w, status);
	return pkt_writer_finish(&w) && evbuffer_add(out, buf, w.len) == 0;
}

bool pkt_parse_err(const uint8_t *payload, size_t len, struct pkt_err *err)
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	uint8_t header;
	if (!pkt_get_u8(&r, &header) || header != PKT_ERR || !pkt_get_u16(&r, &err->code))
		return false;
	memcpy(err->sqlstate, "HY000", 6);
	if (pkt_remaining(&r) >= 6 && r.p[0] == '#') {
		memcpy(err->sqlstate, r.p + 1, 5);
		r.p += 6;
	}
	err->message = (const char *)r.p;
	err->message_len = pkt_remaining(&r);
	return true;
}

bool pkt_parse_ok(const uint8_t *payload, size_t len, struct pkt_ok *ok)
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	uint8_t header;
	ok->warnings = 0;
	return pkt_get_u8(&r, &header) && (header == PKT_OK || header == PKT_EOF) &&
	       pkt_get_lenenc(&r, &ok->affected_rows) && pkt_get_lenenc(&r, &ok->last_insert_id) &&
	       pkt_get_u16(&r, &ok->status) &&
	       (pkt_remaining(&r) < 2 || pkt_get_u16(&r, &ok->warnings));
}

bool pkt_parse_eof(const uint8_t *payload, size_t len, struct pkt_ok *eof)
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	uint8_t header;
	eof->affected_rows = 0;
	eof->last_insert_id = 0;
	return pkt_get_u8(&r, &header) && header == PKT_EOF && pkt_get_u16(&r, &eof->warnings) &&
	       pkt_get_u16(&r, &eof->status);
}

#define SESSION_TRACK_SYSTEM_VARIABLES 0

/* Looks for name among the system variables of one session-state entry. */
static bool tracked_in_entry(const uint8_t *data, size_t len, const char *name, char *out,
                             size_t cap)
{
	struct pkt_reader r = pkt_reader_make(data, len);
	const uint8_t *var, *value;
	size_t var_len, value_len;
	while (pkt_get_lenenc_str(&r, &var, &var_len) &&
	       pkt_get_lenenc_str(&r, &value, &value_len)) {
		if (var_len == strlen(name) && memcmp(var, name, var_len) == 0 && value_len < cap) {
			memcpy(out, value, value_len);
			out[value_len] = '\0';
			return true;
		}
	}
	return false;
}

bool pkt_ok_tracked_variable(const uint8_t *payload, size_t len, const char *name, char *out,
                             size_t cap)
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	uint8_t header, type;
	uint64_t skip;
	uint16_t status, warnings;
	const uint8_t *info, *state, *data;
	size_t info_len, state_len, data_len;
	if (!pkt_get_u8(&r, &header) || header != PKT_OK || !pkt_get_lenenc(&r, &skip) ||
	    !pkt_get_lenenc(&r, &skip) || !pkt_get_u16(&r, &status) ||
	    !pkt_get_u16(&r, &warnings) || !(status & SERVER_SESSION_STATE_CHANGED) ||
	    !pkt_get_lenenc_str(&r, &info, &info_len) ||
	    !pkt_get_lenenc_str(&r, &state, &state_len))
		return false;
	struct pkt_reader entries = pkt_reader_make(state, state_len);
	while (pkt_get_u8(&entries, &type) && pkt_get_lenenc_str(&entries, &data, &data_len))
		if (type == SESSION_TRACK_SYSTEM_VARIABLES &&
		    tracked_in_entry(data, data_len, name, out, cap))
			return true;
	return false;
}

enum pkt_frame_result pkt_peek_whole(struct evbuffer *buf, size_t max_payload, struct pkt_header *h,
                                     const uint8_t **payload)
{
	if (!pkt_peek_header(buf, h))
		return PKT_FRAME_PARTIAL;
	if (h->len > max_payload || h->len >= PKT_MAX_CHUNK)
		return PKT_FRAME_TOO_LARGE;
	size_t total = PKT_HEADER_LEN + (size_t)h->len;
	if (evbuffer_get_length(buf) < total)
		return PKT_FRAME_PARTIAL;
	const uint8_t *p = evbuffer_pullup(buf, (ev_ssize_t)total);
	if (!p)
		return PKT_FRAME_PARTIAL;
	*payload = p + PKT_HEADER_LEN;
	return PKT_FRAME_READY;
}
