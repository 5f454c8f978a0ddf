/*
 * handshake.c - connection-phase packets (see handshake.h).
 */
#include "handshake.h"

#include "packet.h"

#include <event2/buffer.h>
#include <string.h>

const char *hs_result_str(enum hs_result r)
{
	switch (r) {
	case HS_OK: return "ok";
	case HS_SSL_REQUEST: return "TLS requested";
	case HS_UNSUPPORTED: return "unsupported client protocol";
	case HS_MALFORMED: return "malformed packet";
	}
	return "?";
}

static bool append_written(struct evbuffer *out, struct pkt_writer *w)
{
	return pkt_writer_finish(w) && evbuffer_add(out, w->buf, w->len) == 0;
}

bool hs_append_greeting(struct evbuffer *out, const struct hs_greeting *g)
{
	uint8_t buf[256];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, sizeof(buf), 0);
	pkt_put_u8(&w, 10); /* protocol version */
	pkt_put_nul_str(&w, g->version);
	pkt_put_u32(&w, g->conn_id);
	pkt_put_bytes(&w, g->scramble, 8);
	pkt_put_u8(&w, 0);
	pkt_put_u16(&w, (uint16_t)g->caps);
	pkt_put_u8(&w, g->charset);
	pkt_put_u16(&w, g->status);
	pkt_put_u16(&w, (uint16_t)(g->caps >> 16));
	pkt_put_u8(&w, AUTH_SCRAMBLE_LEN + 1);
	pkt_put_zeros(&w, 6);
	pkt_put_u32(&w, (g->caps & CLIENT_LONG_PASSWORD) ? 0 : g->ext_caps);
	pkt_put_bytes(&w, g->scramble + 8, AUTH_SCRAMBLE_LEN - 8);
	pkt_put_u8(&w, 0);
	pkt_put_nul_str(&w, g->plugin);
	return append_written(out, &w);
}

bool hs_parse_greeting(const uint8_t *payload, size_t len, struct hs_greeting *g)
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	uint8_t proto, auth_len, filler;
	uint16_t caps_lo, caps_hi;
	const uint8_t *part;
	memset(g, 0, sizeof(*g));
	if (!pkt_get_u8(&r, &proto) || proto != 10 ||
	    !pkt_get_nul_str_into(&r, g->version, sizeof(g->version)) ||
	    !pkt_get_u32(&r, &g->conn_id) || !pkt_get_bytes(&r, 8, &part) ||
	    !pkt_get_u8(&r, &filler) || !pkt_get_u16(&r, &caps_lo))
		return false;
	memcpy(g->scramble, part, 8);
	if (!pkt_get_u8(&r, &g->charset) || !pkt_get_u16(&r, &g->status) ||
	    !pkt_get_u16(&r, &caps_hi) || !pkt_get_u8(&r, &auth_len) || !pkt_skip(&r, 6) ||
	    !pkt_get_u32(&r, &g->ext_caps))
		return false;
	g->caps = (uint32_t)caps_lo | (uint32_t)caps_hi << 16;
	if (g->caps & CLIENT_LONG_PASSWORD)
		g->ext_caps = 0;
	if (!(g->caps & CLIENT_PROTOCOL_41) || !(g->caps & CLIENT_SECURE_CONNECTION))
		return false;
	/* The second part is max(13, auth_len - 8) bytes; the 20-byte scramble uses 12 of them. */
	size_t part2 = auth_len > 8 + 13 ? (size_t)auth_len - 8 : 13;
	if (!pkt_get_bytes(&r, part2, &part))
		return false;
	memcpy(g->scramble + 8, part, AUTH_SCRAMBLE_LEN - 8);
	if (g->caps & CLIENT_PLUGIN_AUTH) {
		const char *plugin;
		size_t plen;
		/* Some servers omit the final NUL. */
		if (!pkt_get_nul_str(&r, &plugin, &plen)) {
			plugin = (const char *)r.p;
			plen = pkt_remaining(&r);
		}
		if (plen >= sizeof(g->plugin))
			return false;
		memcpy(g->plugin, plugin, plen);
		g->plugin[plen] = '\0';
	}
	return true;
}

static bool get_auth_response(struct pkt_reader *r, uint32_t caps, struct hs_login *l)
{
	const uint8_t *data;
	size_t len;
	if (caps & CLIENT_PLUGIN_AUTH_LENENC_DATA) {
		if (!pkt_get_lenenc_str(r, &data, &len))
			return false;
	} else if (caps & CLIENT_SECURE_CONNECTION) {
		uint8_t n;
		if (!pkt_get_u8(r, &n) || !pkt_get_bytes(r, n, &data))
			return false;
		len = n;
	} else {
		const char *s;
		if (!pkt_get_nul_str(r, &s, &len))
			return false;
		data = (const uint8_t *)s;
	}
	if (len > sizeof(l->auth))
		return false;
	memcpy(l->auth, data, len);
	l->auth_len = len;
	return true;
}

/* The optional tail both login packets share: plugin name (attributes are ignored). */
static bool get_plugin(struct pkt_reader *r, uint32_t caps, struct hs_login *l)
{
	l->plugin[0] = '\0';
	if (!(caps & CLIENT_PLUGIN_AUTH) || pkt_remaining(r) == 0)
		return true;
	return pkt_get_nul_str_into(r, l->plugin, sizeof(l->plugin));
}

/* Connection attributes are not used, but their declared length must fit the packet. */
static bool skip_attributes(struct pkt_reader *r, uint32_t caps)
{
	uint64_t n;
	if (!(caps & CLIENT_CONNECT_ATTRS))
		return true;
	return pkt_get_lenenc(r, &n) && n <= pkt_remaining(r) && pkt_skip(r, (size_t)n);
}

enum hs_result hs_parse_login(const uint8_t *payload, size_t len, struct hs_login *l)
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	memset(l, 0, sizeof(*l));
	if (!pkt_get_u32(&r, &l->caps))
		return HS_MALFORMED;
	if (!(l->caps & CLIENT_PROTOCOL_41))
		return HS_UNSUPPORTED;
	if (!pkt_get_u32(&r, &l->max_packet) || !pkt_get_u8(&r, &l->charset) || !pkt_skip(&r, 19) ||
	    !pkt_get_u32(&r, &l->ext_caps))
		return HS_MALFORMED;
	if (l->caps & CLIENT_LONG_PASSWORD)
		l->ext_caps = 0;
	if (pkt_remaining(&r) == 0 && (l->caps & CLIENT_SSL))
		return HS_SSL_REQUEST;
	if (!pkt_get_nul_str_into(&r, l->user, sizeof(l->user)) ||
	    !get_auth_response(&r, l->caps, l))
		return HS_MALFORMED;
	if (l->caps & CLIENT_CONNECT_WITH_DB) {
		if (!pkt_get_nul_str_into(&r, l->db, sizeof(l->db)))
			return HS_MALFORMED;
		l->has_db = l->db[0] != '\0';
	}
	/* Like MariaDB: the plugin name may be missing, declared attributes may not. */
	if (!get_plugin(&r, l->caps, l) || !skip_attributes(&r, l->caps))
		return HS_MALFORMED;
	return HS_OK;
}

bool hs_append_login(struct evbuffer *out, uint8_t seq, const struct hs_login *l)
{
	uint8_t buf[700];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, sizeof(buf), seq);
	pkt_put_u32(&w, l->caps);
	pkt_put_u32(&w, l->max_packet);
	pkt_put_u8(&w, l->charset);
	pkt_put_zeros(&w, 19);
	pkt_put_u32(&w, (l->caps & CLIENT_LONG_PASSWORD) ? 0 : l->ext_caps);
	pkt_put_nul_str(&w, l->user);
	if (l->caps & CLIENT_PLUGIN_AUTH_LENENC_DATA) {
		pkt_put_lenenc_str(&w, l->auth, l->auth_len);
	} else {
		pkt_put_u8(&w, (uint8_t)l->auth_len);
		pkt_put_bytes(&w, l->auth, l->auth_len);
	}
	if (l->caps & CLIENT_CONNECT_WITH_DB)
		pkt_put_nul_str(&w, l->db);
	if (l->caps & CLIENT_PLUGIN_AUTH)
		pkt_put_nul_str(&w, l->plugin);
	return append_written(out, &w);
}

enum hs_result hs_parse_change_user(const uint8_t *payload, size_t len, uint32_t caps,
                                    struct hs_login *l)
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	uint8_t cmd;
	memset(l, 0, sizeof(*l));
	l->caps = caps;
	if (!pkt_get_u8(&r, &cmd) || cmd != COM_CHANGE_USER ||
	    !pkt_get_nul_str_into(&r, l->user, sizeof(l->user)) ||
	    /* COM_CHANGE_USER never uses the length-encoded form */
	    !get_auth_response(&r, caps & ~CLIENT_PLUGIN_AUTH_LENENC_DATA, l) ||
	    !pkt_get_nul_str_into(&r, l->db, sizeof(l->db)))
		return HS_MALFORMED;
	l->has_db = l->db[0] != '\0';
	if (pkt_remaining(&r) >= 2) {
		uint16_t charset;
		if (!pkt_get_u16(&r, &charset))
			return HS_MALFORMED;
		l->charset = (uint8_t)charset;
	}
	return get_plugin(&r, caps, l) ? HS_OK : HS_MALFORMED;
}

bool hs_append_auth_switch(struct evbuffer *out, uint8_t seq, const char *plugin,
                           const uint8_t scramble[AUTH_SCRAMBLE_LEN])
{
	uint8_t buf[128];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, sizeof(buf), seq);
	pkt_put_u8(&w, PKT_EOF);
	pkt_put_nul_str(&w, plugin);
	pkt_put_bytes(&w, scramble, AUTH_SCRAMBLE_LEN);
	pkt_put_u8(&w, 0);
	return append_written(out, &w);
}

bool hs_parse_auth_switch(const uint8_t *payload, size_t len, char plugin[HS_PLUGIN_MAX],
                          uint8_t scramble[AUTH_SCRAMBLE_LEN])
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	uint8_t header;
	const uint8_t *data;
	return pkt_get_u8(&r, &header) && header == PKT_EOF &&
	       pkt_get_nul_str_into(&r, plugin, HS_PLUGIN_MAX) &&
	       pkt_get_bytes(&r, AUTH_SCRAMBLE_LEN, &data) &&
	       memcpy(scramble, data, AUTH_SCRAMBLE_LEN) != NULL;
}

bool hs_append_auth_data(struct evbuffer *out, uint8_t seq, const uint8_t *data, size_t len)
{
	uint8_t buf[PKT_HEADER_LEN + HS_AUTH_MAX];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, sizeof(buf), seq);
	pkt_put_bytes(&w, data, len);
	return append_written(out, &w);
}
