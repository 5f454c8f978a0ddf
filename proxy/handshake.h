/*
 * handshake.h - the connection-phase packets of the MySQL protocol, in both directions.
 *
 * Owns encoding and decoding of HandshakeV10 (server greeting), HandshakeResponse41 (client
 * login), AuthSwitchRequest and COM_CHANGE_USER. The front end uses them as a server towards
 * clients, the backend code as a client towards MariaDB. Pure functions: no I/O, no policy
 * (which capabilities to offer and which user may log in are decided by the callers).
 */
#pragma once

#include "auth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define HS_VERSION_MAX 64
#define HS_PLUGIN_MAX  64
#define HS_USER_MAX    81
#define HS_DB_MAX      257 /* 64 characters of up to 4 bytes, and the NUL */
#define HS_AUTH_MAX    255

/* What a server says first (both ours to clients and a backend's to us). ext_caps are
 * MariaDB's extended capabilities, present when CLIENT_LONG_PASSWORD ("CLIENT_MYSQL") is clear. */
struct hs_greeting {
	char version[HS_VERSION_MAX];
	uint32_t conn_id;
	uint8_t scramble[AUTH_SCRAMBLE_LEN];
	uint32_t caps;
	uint32_t ext_caps;
	uint8_t charset;
	uint16_t status;
	char plugin[HS_PLUGIN_MAX];
};

/* What a client sends to log in (HandshakeResponse41 or COM_CHANGE_USER). */
struct hs_login {
	uint32_t caps;
	uint32_t ext_caps;
	uint32_t max_packet;
	uint8_t charset;
	char user[HS_USER_MAX];
	uint8_t auth[HS_AUTH_MAX];
	size_t auth_len;
	bool has_db;
	char db[HS_DB_MAX];
	char plugin[HS_PLUGIN_MAX];
};

enum hs_result { HS_OK, HS_SSL_REQUEST, HS_UNSUPPORTED, HS_MALFORMED };
const char *hs_result_str(enum hs_result r);

/* Appends the greeting as packet seq 0. */
bool hs_append_greeting(struct evbuffer *out, const struct hs_greeting *g)
    __attribute__((warn_unused_result));
bool hs_parse_greeting(const uint8_t *payload, size_t len, struct hs_greeting *g)
    __attribute__((warn_unused_result));

enum hs_result hs_parse_login(const uint8_t *payload, size_t len, struct hs_login *l);
bool hs_append_login(struct evbuffer *out, uint8_t seq, const struct hs_login *l)
    __attribute__((warn_unused_result));

/* COM_CHANGE_USER's payload (command byte included); caps are the session's negotiated ones. */
enum hs_result hs_parse_change_user(const uint8_t *payload, size_t len, uint32_t caps,
                                    struct hs_login *l);

/* AuthSwitchRequest: 0xFE, plugin name, plugin data (the scramble and a NUL). */
bool hs_append_auth_switch(struct evbuffer *out, uint8_t seq, const char *plugin,
                           const uint8_t scramble[AUTH_SCRAMBLE_LEN])
    __attribute__((warn_unused_result));
bool hs_parse_auth_switch(const uint8_t *payload, size_t len, char plugin[HS_PLUGIN_MAX],
                          uint8_t scramble[AUTH_SCRAMBLE_LEN]) __attribute__((warn_unused_result));
/* A bare packet carrying auth data (the answer to an AuthSwitchRequest). */
bool hs_append_auth_data(struct evbuffer *out, uint8_t seq, const uint8_t *data, size_t len)
    __attribute__((warn_unused_result));
