/*
 * fuzz_handshake.c - the connection-phase parsers (proxy/handshake.c) on arbitrary payloads.
 *
 * The input is one packet's payload (no 4-byte header). It goes whole to the login, greeting
 * and AuthSwitchRequest parsers; COM_CHANGE_USER gets the bytes after the first four, which
 * are the session's negotiated capability flags (little-endian), since its layout depends on
 * them. Beyond not crashing: what a parser accepts must fit its fixed-size fields, and a
 * greeting or AuthSwitchRequest we accept must come back unchanged through our own writer.
 */
#include "handshake.h"

#include "packet.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

/* A parsed string field must be NUL-terminated inside its array. */
static void check_str(const char *s, size_t cap)
{
	if (strnlen(s, cap) >= cap)
		abort();
}

static void check_login(enum hs_result r, const struct hs_login *l)
{
	if (r != HS_OK)
		return;
	check_str(l->user, sizeof(l->user));
	check_str(l->db, sizeof(l->db));
	check_str(l->plugin, sizeof(l->plugin));
	if (l->auth_len > sizeof(l->auth) || l->has_db != (l->db[0] != '\0'))
		abort();
	/* The backend login is written from a parsed one: the writer must have room for it. */
	struct evbuffer *out = evbuffer_new();
	if (!out || !hs_append_login(out, 1, l))
		abort();
	evbuffer_free(out);
}

/* Copies the payload of the one packet in out into an exact-size buffer (freed by the caller). */
static uint8_t *written_payload(struct evbuffer *out, size_t *len)
{
	size_t total = evbuffer_get_length(out);
	if (total < PKT_HEADER_LEN)
		abort();
	uint8_t *buf = malloc(total);
	if (!buf || evbuffer_remove(out, buf, total) != (int)total)
		abort();
	*len = total - PKT_HEADER_LEN;
	memmove(buf, buf + PKT_HEADER_LEN, *len);
	return buf;
}

static void round_trip_greeting(const struct hs_greeting *g)
{
	check_str(g->version, sizeof(g->version));
	check_str(g->plugin, sizeof(g->plugin));
	struct evbuffer *out = evbuffer_new();
	if (!out || !hs_append_greeting(out, g))
		abort();
	size_t len;
	uint8_t *payload = written_payload(out, &len);
	struct hs_greeting again;
	if (!hs_parse_greeting(payload, len, &again) || memcmp(g, &again, sizeof(again)) != 0)
		abort();
	free(payload);
	evbuffer_free(out);
}

static void round_trip_auth_switch(const char *plugin, const uint8_t *scramble)
{
	check_str(plugin, HS_PLUGIN_MAX);
	struct evbuffer *out = evbuffer_new();
	if (!out || !hs_append_auth_switch(out, 2, plugin, scramble))
		abort();
	size_t len;
	uint8_t *payload = written_payload(out, &len);
	char plugin2[HS_PLUGIN_MAX];
	uint8_t scramble2[AUTH_SCRAMBLE_LEN];
	if (!hs_parse_auth_switch(payload, len, plugin2, scramble2) ||
	    strcmp(plugin, plugin2) != 0 || memcmp(scramble, scramble2, AUTH_SCRAMBLE_LEN) != 0)
		abort();
	free(payload);
	evbuffer_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_login l;
	check_login(hs_parse_login(data, size, &l), &l);

	struct hs_greeting g;
	if (hs_parse_greeting(data, size, &g))
		round_trip_greeting(&g);

	char plugin[HS_PLUGIN_MAX];
	uint8_t scramble[AUTH_SCRAMBLE_LEN];
	if (hs_parse_auth_switch(data, size, plugin, scramble))
		round_trip_auth_switch(plugin, scramble);

	if (size >= 4) {
		uint32_t caps = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
		                (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
		check_login(hs_parse_change_user(data + 4, size - 4, caps, &l), &l);
	}
	return 0;
}
