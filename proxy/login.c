/*
 * login.c - a session's connection phase: the client's login and COM_CHANGE_USER.
 *
 * Owns the checks that decide who the client is: parsing its HandshakeResponse41, verifying the
 * native-password token against [user.NAME], asking clients that started with another plugin to
 * switch, and COM_CHANGE_USER later on. It answers with MySQL's own error texts and codes, and
 * leaves everything after a successful login to session.c.
 *
 * TLS: with [proxy] tls_cert the greeting offers CLIENT_SSL. A client that takes it sends an
 * SSLRequest (the first 32 bytes of a HandshakeResponse41, CLIENT_SSL set); the client stream
 * then switches to TLS (stream.c does the work) while the session waits in
 * SESSION_TLS_HANDSHAKE, and the full HandshakeResponse41 arrives encrypted with the next
 * sequence id. Users with require_tls are refused when they logged in without it.
 */
#include "config.h"
#include "counters.h"
#include "log.h"
#include "packet.h"
#include "proxy.h"
#include "session.h"
#include "tls.h"
#include "worker.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOGIN_PACKET (64 * 1024)

/* What the proxy understands from clients. The greeting clears CLIENT_LONG_PASSWORD, which
 * MariaDB reads as "CLIENT_MYSQL off: extended capabilities follow" (see PROXY_EXT_CAPS). */
#define PROXY_CAPS                                                                                 \
	(CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |    \
	 CLIENT_NO_SCHEMA | CLIENT_ODBC | CLIENT_LOCAL_FILES | CLIENT_IGNORE_SPACE |               \
	 CLIENT_PROTOCOL_41 | CLIENT_INTERACTIVE | CLIENT_IGNORE_SIGPIPE | CLIENT_TRANSACTIONS |   \
	 CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |               \
	 CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS |                     \
	 CLIENT_PLUGIN_AUTH_LENENC_DATA | CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF)

/* MariaDB extensions the proxy relays: array binding, and extended column metadata (column
 * definitions are never parsed). Not PROGRESS (its packets look like errors mid-reply) nor
 * CACHE_METADATA (it changes the column-count packet). */
#define PROXY_EXT_CAPS (MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_EXTENDED_METADATA)

uint32_t login_server_caps(void)
{
	/* Offered to clients only: backends are always spoken to in plain text. */
	return (PROXY_CAPS & ~CLIENT_LONG_PASSWORD) | (tls_server_ctx() ? CLIENT_SSL : 0);
}

uint32_t login_server_ext_caps(void)
{
	return PROXY_EXT_CAPS;
}

static void deny_access(struct session *s, const struct hs_login *l, uint8_t seq)
{
	counter_inc(&s->worker->counters.connections_rejected);
	log_info("session %u: access denied for user '%s' from %s", s->id, l->user, s->peer);
	session_send_error(s, seq, 1045, "28000",
	                   "Access denied for user '%s'@'%s' (using password: %s)", l->user,
	                   s->peer, l->auth_len ? "YES" : "NO");
}

static void forget_login(struct session *s)
{
	free(s->login);
	s->login = NULL;
}

/* The login is proven: adopt its user, database and character set. */
static void login_accepted(struct session *s, uint8_t seq)
{
	struct hs_login *l = s->login;
	if (s->changing_user) {
		session_drop_backends(s);
	} else {
		s->caps = l->caps & PROXY_CAPS;
		s->ext_caps = l->ext_caps & PROXY_EXT_CAPS;
	}
	s->user = config_find_user(proxy_config(s->worker->proxy), l->user);
	if (l->charset)
		s->charset = l->charset;
	snprintf(s->db, sizeof(s->db), "%s", l->has_db ? l->db : "");
	s->reply_seq = seq;
	forget_login(s);
	if (!limits_login(s)) /* [user.NAME] max_connections; answered and closed */
		return;
	/* A default database must exist: let a backend say so before the client gets its OK. */
	if (s->db[0] && !session_open_backend_for_login(s))
		return;
	session_login_done(s);
}

/* What follows a refusal sent to the client. */
static void login_refused(struct session *s)
{
	if (s->state == SESSION_CLOSED)
		return;
	if (s->changing_user) { /* like MariaDB: the session stays as it was */
		forget_login(s);
		s->changing_user = false;
		session_set_state(s, SESSION_IDLE);
		return;
	}
	session_close(s, "access denied");
}

static void login_rejected(struct session *s, uint8_t seq)
{
	deny_access(s, s->login, seq);
	login_refused(s);
}

/* The password is right; the transport may still not be. MariaDB answers an account with
 * REQUIRE SSL that logged in plainly with 1045 too (3159, ER_SECURE_TRANSPORT_REQUIRED, is
 * MySQL's for the server-wide require_secure_transport); the text says what to change. */
static void login_proven(struct session *s, const struct cfg_user *u, uint8_t seq)
{
	if (!u->require_tls || stream_is_tls(&s->client)) {
		login_accepted(s, seq);
		return;
	}
	counter_inc(&s->worker->counters.connections_rejected);
	log_info("session %u: user '%s' requires TLS; refused a login without it from %s", s->id,
	         s->login->user, s->peer);
	session_send_error(s, seq, 1045, "28000",
	                   "Access denied for user '%s'@'%s': this user requires a TLS connection "
	                   "(connect with SSL/TLS enabled)",
	                   s->login->user, s->peer);
	login_refused(s);
}

static bool plugin_is_native(const char *plugin)
{
	return plugin[0] == '\0' || strcmp(plugin, AUTH_NATIVE_PLUGIN) == 0;
}

/* Checks a login (from the handshake or COM_CHANGE_USER) whose packet had sequence id seq. */
static void check_login(struct session *s, uint8_t seq)
{
	struct hs_login *l = s->login;
	const struct cfg_user *u = config_find_user(proxy_config(s->worker->proxy), l->user);
	if (!u) {
		login_rejected(s, (uint8_t)(seq + 1));
		return;
	}
	if (!plugin_is_native(l->plugin)) {
		/* Ask the client to answer our scramble the native way. */
		if (!hs_append_auth_switch(s->client.out, (uint8_t)(seq + 1), AUTH_NATIVE_PLUGIN,
		                           s->scramble) ||
		    !stream_flush(&s->client)) {
			session_close(s, "cannot write to client");
			return;
		}
		session_set_state(s, SESSION_AUTH_SWITCH);
		return;
	}
	if (auth_native_verify(u->password, s->scramble, l->auth, l->auth_len))
		login_proven(s, u, (uint8_t)(seq + 1));
	else
		login_rejected(s, (uint8_t)(seq + 1));
}

/* The client's SSLRequest (sequence id seq): switch its stream to TLS and wait for the real
 * HandshakeResponse41 over it. */
static void start_tls(struct session *s, uint8_t seq)
{
	forget_login(s);
	struct ssl_ctx_st *ctx = tls_server_ctx();
	if (!ctx) { /* the greeting did not offer it */
		counter_inc(&s->worker->counters.connections_rejected);
		session_send_error(s, (uint8_t)(seq + 1), 1045, "28000",
		                   "TLS was requested but the proxy does not offer it");
		session_close(s, "client asked for TLS");
		return;
	}
	if (stream_is_tls(&s->client)) {
		counter_inc(&s->worker->counters.connections_rejected);
		session_send_error(s, (uint8_t)(seq + 1), 1043, "08S01",
		                   "Bad handshake (TLS requested twice)");
		session_close(s, "bad handshake");
		return;
	}
	if (!stream_start_tls(&s->client, ctx)) {
		session_close(s, "cannot start TLS");
		return;
	}
	session_set_state(s, SESSION_TLS_HANDSHAKE);
}

void login_read_handshake(struct session *s)
{
	struct pkt_header h;
	const uint8_t *payload;
	/* Decrypted bytes: the TLS handshake is over, the login itself follows. */
	if (s->state == SESSION_TLS_HANDSHAKE) {
		session_set_state(s, SESSION_HANDSHAKE);
		if (log_get_level() >= LOG_DEBUG) {
			char tls[128];
			stream_tls_describe(&s->client, tls, sizeof(tls));
			log_debug("session %u: TLS established (%s)", s->id, tls);
		}
	}
	switch (pkt_peek_whole(s->client.in, MAX_LOGIN_PACKET, &h, &payload)) {
	case PKT_FRAME_PARTIAL: return;
	case PKT_FRAME_TOO_LARGE:
		session_send_error(s, 2, 1153, "08S01",
		                   "Got a packet bigger than the login allows");
		session_close(s, "oversized login packet");
		return;
	case PKT_FRAME_READY: break;
	}
	s->login = calloc(1, sizeof(*s->login));
	if (!s->login) {
		session_close(s, "out of memory");
		return;
	}
	enum hs_result r = hs_parse_login(payload, h.len, s->login);
	uint8_t seq = h.seq;
	evbuffer_drain(s->client.in, PKT_HEADER_LEN + h.len);
	if (r == HS_SSL_REQUEST) {
		start_tls(s, seq);
		return;
	}
	if (r != HS_OK) {
		counter_inc(&s->worker->counters.connections_rejected);
		session_send_error(s, (uint8_t)(seq + 1), 1043, "08S01", "Bad handshake (%s)",
		                   hs_result_str(r));
		session_close(s, "bad handshake");
		return;
	}
	check_login(s, seq);
}

void login_read_auth_switch(struct session *s)
{
	struct pkt_header h;
	const uint8_t *payload;
	switch (pkt_peek_whole(s->client.in, MAX_LOGIN_PACKET, &h, &payload)) {
	case PKT_FRAME_PARTIAL: return;
	case PKT_FRAME_TOO_LARGE: session_close(s, "oversized auth packet"); return;
	case PKT_FRAME_READY: break;
	}
	const struct cfg_user *u = config_find_user(proxy_config(s->worker->proxy), s->login->user);
	bool ok = u && h.len <= sizeof(s->login->auth) &&
	          auth_native_verify(u->password, s->scramble, payload, h.len);
	s->login->auth_len = h.len; /* only "using password: YES/NO" reads it from here */
	uint8_t seq = h.seq;
	evbuffer_drain(s->client.in, PKT_HEADER_LEN + h.len);
	if (ok)
		login_proven(s, u, (uint8_t)(seq + 1));
	else
		login_rejected(s, (uint8_t)(seq + 1));
}

void login_change_user(struct session *s, const struct pkt_frame *f)
{
	if (f->chunked || f->payload_len > MAX_LOGIN_PACKET) {
		session_send_error(s, 1, 1043, "08S01",
		                   "Bad handshake (COM_CHANGE_USER too large)");
		session_close(s, "oversized COM_CHANGE_USER");
		return;
	}
	const uint8_t *p = evbuffer_pullup(s->client.in, (ev_ssize_t)f->wire_len);
	s->login = calloc(1, sizeof(*s->login));
	if (!p || !s->login) {
		session_close(s, "out of memory");
		return;
	}
	enum hs_result r =
	    hs_parse_change_user(p + PKT_HEADER_LEN, f->payload_len, s->caps, s->login);
	evbuffer_drain(s->client.in, f->wire_len);
	if (r != HS_OK) {
		forget_login(s);
		session_send_error(s, 1, 1043, "08S01", "Bad handshake (%s)", hs_result_str(r));
		session_close(s, "bad COM_CHANGE_USER");
		return;
	}
	s->changing_user = true;
	check_login(s, f->seq);
}
