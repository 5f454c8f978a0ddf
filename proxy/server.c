/*
 * server.c - one connection from the proxy to a MariaDB backend (see server.h).
 *
 *   server_open ─connect─> CONNECTING ─> GREETING ─login─> AUTH ─OK─> READY (a session's)
 *                                                  ▲        │ auth switch: answer, stay
 *   pool: IDLE <─OK─ RESETTING <─server_reset─ READY          └ ERR/EOF/deadline: CLOSED
 *         IDLE ─server_init_db─> INIT_DB ─OK─> READY
 *   gtid pinning, on the primary: AUTH / RESETTING ─OK─> TRACKING ─OK─> as above
 */
#include "server.h"

#include "backend.h"
#include "clock.h"
#include "log.h"
#include "packet.h"
#include "proxy.h"
#include "worker.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_READ_CHUNK       (64 * 1024)
#define SERVER_MAX_LOGIN_PACKET (64 * 1024)

const char *server_state_str(enum server_state state)
{
	switch (state) {
	case SERVER_CONNECTING: return "connecting";
	case SERVER_GREETING: return "greeting";
	case SERVER_AUTH: return "auth";
	case SERVER_INIT_DB: return "init_db";
	case SERVER_RESETTING: return "resetting";
	case SERVER_TRACKING: return "tracking";
	case SERVER_READY: return "ready";
	case SERVER_IDLE: return "idle";
	case SERVER_CLOSED: return "closed";
	}
	return "?";
}

static void set_error(struct server_error *e, uint16_t code, const char *sqlstate, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct server_error *e, uint16_t code, const char *sqlstate, const char *fmt,
                      ...)
{
	e->code = code;
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", sqlstate);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

static void error_from_packet(struct server_error *e, const uint8_t *payload, size_t len)
{
	struct pkt_err err;
	if (!pkt_parse_err(payload, len, &err)) {
		set_error(e, 2027, "HY000", "Malformed error packet from backend");
		return;
	}
	set_error(e, err.code, err.sqlstate, "%.*s", (int)err.message_len, err.message);
}

/* Ends the pending step. A failed login closes the connection first; a failed COM_INIT_DB or
 * reset leaves it open for the callback to decide. */
static bool logging_in(const struct server *srv)
{
	return srv->state == SERVER_CONNECTING || srv->state == SERVER_GREETING ||
	       srv->state == SERVER_AUTH;
}

/* Tells the backend's circuit breaker how a login ended. Any answer from the server (even an
 * error such as an unknown database) shows it is reachable; only the network errors the proxy
 * makes up itself (2003, 2013) count as failures. An attempt the breaker refused is not one. */
static void report_login(struct server *srv, const struct server_error *err)
{
	if (!logging_in(srv) || srv->breaker_refused)
		return;
	bool reached = !err || (err->code != 2003 && err->code != 2013);
	backend_connect_result(srv->backend, reached, clock_ms());
}

static void finish_step(struct server *srv, const struct server_error *err, bool fatal)
{
	report_login(srv, err);
	server_step_cb cb = srv->step_cb;
	void *arg = srv->step_arg;
	srv->step_cb = NULL;
	srv->step_arg = NULL;
	event_del(&srv->deadline);
	if (fatal)
		server_close(srv, err->message);
	else
		srv->state = SERVER_READY;
	if (cb)
		cb(srv, err, arg);
}

static void fail(struct server *srv, uint16_t code, const char *what)
{
	struct server_error e;
	set_error(&e, code, "HY000", "%s backend '%s' (%s)%s%s",
	          code == 2003 ? "Can't connect to" : "Lost connection to", srv->backend->name,
	          srv->backend->address, what ? ": " : "", what ? what : "");
	counter_inc(&srv->worker->counters.backend_connect_errors);
	finish_step(srv, &e, true);
}

/* Capabilities that shape the replies must match the client's exactly, or bytes cannot pass
 * through untouched: a backend lacking one is refused. */
static bool lacks_capabilities(const struct server *srv, const struct hs_greeting *g)
{
	return (srv->key.caps & ~g->caps & ~CLIENT_LONG_PASSWORD) != 0 ||
	       (srv->key.ext_caps & ~g->ext_caps) != 0;
}

static bool send_login(struct server *srv, const struct hs_greeting *g)
{
	struct hs_login login = {
	    .caps = srv->key.caps & g->caps,
	    .ext_caps = srv->key.ext_caps,
	    .max_packet = 1u << 30,
	    .charset = srv->key.charset,
	    .has_db = srv->db[0] != '\0',
	};
	if (login.has_db)
		login.caps |= CLIENT_CONNECT_WITH_DB;
	else
		login.caps &= ~CLIENT_CONNECT_WITH_DB;
	snprintf(login.user, sizeof(login.user), "%s", srv->key.user->name);
	snprintf(login.db, sizeof(login.db), "%s", srv->db);
	snprintf(login.plugin, sizeof(login.plugin), "%s", AUTH_NATIVE_PLUGIN);
	login.auth_len = auth_native_token(srv->key.user->password, g->scramble, login.auth);
	return hs_append_login(srv->st.out, srv->next_seq++, &login) && stream_flush(&srv->st);
}

static void on_greeting(struct server *srv, const uint8_t *payload, size_t len, uint8_t seq)
{
	struct hs_greeting g;
	if (len > 0 && payload[0] == PKT_ERR) {
		struct server_error e;
		error_from_packet(&e, payload, len);
		counter_inc(&srv->worker->counters.backend_connect_errors);
		finish_step(srv, &e, true);
		return;
	}
	if (!hs_parse_greeting(payload, len, &g)) {
		fail(srv, 2013, "unreadable greeting");
		return;
	}
	if (lacks_capabilities(srv, &g)) {
		struct server_error e;
		set_error(&e, 1043, "08S01",
		          "Backend '%s' (%s) lacks protocol capabilities the client negotiated",
		          srv->backend->name, srv->backend->address);
		finish_step(srv, &e, true);
		return;
	}
	memcpy(srv->scramble, g.scramble, sizeof(srv->scramble));
	srv->thread_id = g.conn_id;
	srv->next_seq = (uint8_t)(seq + 1);
	if (!send_login(srv, &g)) {
		fail(srv, 2013, "cannot send login");
		return;
	}
	srv->state = SERVER_AUTH;
}

static void on_auth_switch(struct server *srv, const uint8_t *payload, size_t len, uint8_t seq)
{
	char plugin[HS_PLUGIN_MAX];
	uint8_t scramble[AUTH_SCRAMBLE_LEN], token[AUTH_TOKEN_LEN];
	if (!hs_parse_auth_switch(payload, len, plugin, scramble) ||
	    strcmp(plugin, AUTH_NATIVE_PLUGIN) != 0) {
		struct server_error e;
		set_error(&e, 1251, "08004",
		          "Backend '%s' asks for an authentication method the proxy does not speak "
		          "(only mysql_native_password)",
		          srv->backend->name);
		finish_step(srv, &e, true);
		return;
	}
	memcpy(srv->scramble, scramble, sizeof(scramble));
	size_t n = auth_native_token(srv->key.user->password, scramble, token);
	if (!hs_append_auth_data(srv->st.out, (uint8_t)(seq + 1), token, n) ||
	    !stream_flush(&srv->st))
		fail(srv, 2013, "cannot answer auth switch");
}

/* The answer to a login, COM_INIT_DB or COM_RESET_CONNECTION. */
static void send_command(struct server *srv, enum server_state state, uint8_t cmd, const char *arg,
                         server_step_cb cb, void *cb_arg);

/* gtid pinning reads each commit's GTID from the OK packet (CONSISTENCY.md mechanism 4): the
 * primary must track last_gtid, which a login or COM_RESET_CONNECTION leaves untracked. Only a
 * connection whose client takes session tracking can carry it through unchanged. */
static bool wants_gtid_tracking(const struct server *srv)
{
	return (srv->state == SERVER_AUTH || srv->state == SERVER_RESETTING) &&
	       srv->backend->role == BACKEND_PRIMARY && (srv->key.caps & CLIENT_SESSION_TRACK) &&
	       proxy_config(srv->worker->proxy)->pinning.mode == PIN_GTID;
}

static void start_gtid_tracking(struct server *srv)
{
	report_login(srv, NULL);
	send_command(srv, SERVER_TRACKING, COM_QUERY,
	             "SET SESSION session_track_system_variables = "
	             "CONCAT(@@session_track_system_variables, ',last_gtid')",
	             srv->step_cb, srv->step_arg);
}

static void on_answer(struct server *srv, const uint8_t *payload, size_t len, uint8_t seq)
{
	uint8_t first = len ? payload[0] : 0;
	struct server_error e;
	if (first == PKT_OK) {
		if (srv->state == SERVER_AUTH)
			counter_inc(&srv->worker->counters.backend_connects);
		srv->db_known = true;
		if (wants_gtid_tracking(srv)) {
			start_gtid_tracking(srv);
			return;
		}
		finish_step(srv, NULL, false);
	} else if (first == PKT_ERR) {
		error_from_packet(&e, payload, len);
		if (srv->state == SERVER_AUTH)
			counter_inc(&srv->worker->counters.backend_connect_errors);
		finish_step(srv, &e, srv->state == SERVER_AUTH);
	} else if (first == PKT_EOF && srv->state == SERVER_AUTH) {
		on_auth_switch(srv, payload, len, seq);
	} else {
		set_error(&e, 2027, "HY000", "Unexpected packet 0x%02x from backend '%s' (%s)",
		          first, srv->backend->name, server_state_str(srv->state));
		finish_step(srv, &e, true);
	}
}

static void read_packets(struct server *srv)
{
	while (srv->state != SERVER_CLOSED && srv->step_cb) {
		struct pkt_header h;
		const uint8_t *payload;
		switch (pkt_peek_whole(srv->st.in, SERVER_MAX_LOGIN_PACKET, &h, &payload)) {
		case PKT_FRAME_PARTIAL: return;
		case PKT_FRAME_TOO_LARGE: fail(srv, 2013, "oversized packet during login"); return;
		case PKT_FRAME_READY: break;
		}
		if (srv->state == SERVER_GREETING)
			on_greeting(srv, payload, h.len, h.seq);
		else
			on_answer(srv, payload, h.len, h.seq);
		if (srv->st.in) /* closed streams have no buffer */
			evbuffer_drain(srv->st.in, PKT_HEADER_LEN + h.len);
	}
}

static void on_stream(struct stream *st, enum stream_event ev, void *arg)
{
	struct server *srv = arg;
	(void)st;
	switch (ev) {
	case STREAM_CONNECTED: srv->state = SERVER_GREETING; return;
	case STREAM_READABLE: read_packets(srv); return;
	case STREAM_DRAINED: return;
	case STREAM_EOF:
		fail(srv, srv->state == SERVER_GREETING ? 2003 : 2013, "closed by the backend");
		return;
	case STREAM_ERROR:
		fail(srv, srv->state == SERVER_CONNECTING ? 2003 : 2013,
		     stream_error_str(&srv->st));
		return;
	}
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct server *srv = arg;
	if (srv->breaker_refused)
		fail(srv, 2003, "circuit breaker open after repeated connection failures");
	else if (srv->st.error && srv->state == SERVER_CONNECTING)
		fail(srv, 2003, stream_error_str(&srv->st)); /* connect() failed at once */
	else
		fail(srv, srv->state == SERVER_CONNECTING ? 2003 : 2013, "timed out");
}

static void arm_deadline(struct server *srv)
{
	int ms = proxy_config(srv->worker->proxy)->proxy.connect_timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(&srv->deadline, &tv);
}

struct server *server_open(struct worker *w, struct backend *b, const struct server_key *key,
                           const char *db, server_step_cb cb, void *arg)
{
	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->worker = w;
	srv->backend = b;
	srv->key = *key;
	srv->state = SERVER_CONNECTING;
	srv->step_cb = cb;
	srv->step_arg = arg;
	snprintf(srv->db, sizeof(srv->db), "%s", db ? db : "");
	event_assign(&srv->deadline, w->base, -1, 0, on_deadline, srv);
	if (!backend_may_connect(b, clock_ms())) {
		srv->st.fd = -1;
		srv->breaker_refused = true;
		event_active(&srv->deadline, EV_TIMEOUT, 1);
		return srv;
	}
	if (!stream_connect(&srv->st, w->base, (const struct sockaddr *)&b->addr, b->addrlen,
	                    SERVER_READ_CHUNK, on_stream, srv)) {
		if (!srv->st.error)
			srv->st.error = errno ? errno : EIO;
		/* Report from the loop, never from inside the caller's own call. */
		event_active(&srv->deadline, EV_TIMEOUT, 1);
		return srv;
	}
	arm_deadline(srv);
	return srv;
}

static void send_command(struct server *srv, enum server_state state, uint8_t cmd, const char *arg,
                         server_step_cb cb, void *cb_arg)
{
	uint8_t buf[PKT_HEADER_LEN + 1 + HS_DB_MAX];
	struct pkt_writer w;
	pkt_writer_init(&w, buf, sizeof(buf), 0);
	pkt_put_u8(&w, cmd);
	if (arg)
		pkt_put_bytes(&w, arg, strlen(arg));
	srv->state = state;
	srv->step_cb = cb;
	srv->step_arg = cb_arg;
	stream_set_owner(&srv->st, on_stream, srv);
	stream_resume_reading(&srv->st);
	if (!pkt_writer_finish(&w) || evbuffer_add(srv->st.out, buf, w.len) != 0 ||
	    !stream_flush(&srv->st)) {
		fail(srv, 2013, "cannot send command");
		return;
	}
	arm_deadline(srv);
}

void server_init_db(struct server *srv, const char *db, server_step_cb cb, void *arg)
{
	snprintf(srv->db, sizeof(srv->db), "%s", db);
	srv->db_known = false;
	send_command(srv, SERVER_INIT_DB, COM_INIT_DB, db, cb, arg);
}

void server_reset(struct server *srv, server_step_cb cb, void *arg)
{
	send_command(srv, SERVER_RESETTING, COM_RESET_CONNECTION, NULL, cb, arg);
}

void server_close(struct server *srv, const char *reason)
{
	if (srv->state == SERVER_CLOSED)
		return;
	log_debug("backend %s connection %u closed: %s", srv->backend->name, srv->thread_id,
	          reason);
	srv->state = SERVER_CLOSED;
	event_del(&srv->deadline);
	stream_close(&srv->st);
	worker_bury_server(srv->worker, srv);
}
