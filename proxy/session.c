/*
 * session.c - one client connection (see session.h).
 *
 * The data path, for one command:
 *
 *   client.in ──frame──> command byte ──> server.st.out ─────────────> backend
 *   client.out <──move whole chains── server.st.in <── reply packets <─┘
 *                      │
 *                      └ reply.c sees only the small packets that may end the reply
 *
 * Bytes move between evbuffers without copies (evbuffer_remove_buffer); a packet is only made
 * contiguous when the tracker must read it. When the client's output passes the high watermark
 * the backend is no longer read until it drains, so a huge result costs a bounded buffer.
 *
 * States change only through set_state(); every exit goes through session_close().
 */
#include "session.h"

#include "backend.h"
#include "config.h"
#include "log.h"
#include "packet.h"
#include "pool.h"
#include "proxy.h"
#include "server.h"
#include "worker.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLIENT_READ_CHUNK (16 * 1024)
#define MAX_LOGIN_PACKET  (64 * 1024)
/* Commands a client pipelines behind a running one wait in its input up to this much. */
#define MAX_PENDING_INPUT (1024 * 1024)

/* What the proxy understands from clients. The greeting clears CLIENT_LONG_PASSWORD, which
 * MariaDB reads as "CLIENT_MYSQL off: extended capabilities follow" (see PROXY_EXT_CAPS). */
#define PROXY_CAPS                                                                                 \
	(CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |    \
	 CLIENT_NO_SCHEMA | CLIENT_ODBC | CLIENT_LOCAL_FILES | CLIENT_IGNORE_SPACE |               \
	 CLIENT_PROTOCOL_41 | CLIENT_INTERACTIVE | CLIENT_IGNORE_SIGPIPE | CLIENT_TRANSACTIONS |   \
	 CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |               \
	 CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS |                     \
	 CLIENT_PLUGIN_AUTH_LENENC_DATA | CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF)

/* Client capabilities that change what a backend sends or how it parses: a backend
 * connection must have exactly the client's, so replies pass through untouched. */
#define BACKEND_MIRRORED_CAPS                                                                      \
	(CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_NO_SCHEMA | CLIENT_ODBC |                   \
	 CLIENT_LOCAL_FILES | CLIENT_IGNORE_SPACE | CLIENT_INTERACTIVE | CLIENT_TRANSACTIONS |     \
	 CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS |                \
	 CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF)
#define BACKEND_BASE_CAPS (CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH)

/* MariaDB extensions the proxy relays: array binding, and extended column metadata (column
 * definitions are never parsed). Not PROGRESS (its packets look like errors mid-reply) nor
 * CACHE_METADATA (it changes the column-count packet). Offering any of them means clearing
 * CLIENT_LONG_PASSWORD, which MariaDB reads as "not a plain MySQL peer". */
#define PROXY_EXT_CAPS (MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_EXTENDED_METADATA)

static void on_client_stream(struct stream *st, enum stream_event ev, void *arg);
static void on_server_stream(struct stream *st, enum stream_event ev, void *arg);
static void run_commands(struct session *s);
static void forward_reply(struct session *s);
static void forward_upload(struct session *s);

const char *session_state_str(enum session_state state)
{
	switch (state) {
	case SESSION_HANDSHAKE: return "handshake";
	case SESSION_AUTH_SWITCH: return "auth_switch";
	case SESSION_LOGIN_BACKEND: return "login_backend";
	case SESSION_IDLE: return "idle";
	case SESSION_CONNECT_BACKEND: return "connect_backend";
	case SESSION_QUERY: return "query";
	case SESSION_CLOSED: return "closed";
	}
	return "?";
}

static void set_state(struct session *s, enum session_state next)
{
	log_debug("session %u: %s -> %s", s->id, session_state_str(s->state),
	          session_state_str(next));
	s->state = next;
}

static struct worker_counters *counters(struct session *s)
{
	return &s->worker->counters;
}

/* Queues an error packet for the client and sends what can be sent. */
static void send_error(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void send_error(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                       const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!pkt_append_err(s->client.out, seq, code, sqlstate, msg) || !stream_flush(&s->client))
		session_close(s, "cannot write to client");
}

static void send_server_error(struct session *s, uint8_t seq, const struct server_error *e)
{
	send_error(s, seq, e->code, e->sqlstate, "%s", e->message);
}

static bool send_ok(struct session *s, uint8_t seq)
{
	return pkt_append_ok(s->client.out, seq, PKT_OK, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0) &&
	       stream_flush(&s->client);
}

/* ---- backend connection ------------------------------------------------------------------ */

static struct server_key server_key_for(const struct session *s)
{
	return (struct server_key){
	    .user = s->user,
	    .charset = s->charset,
	    .caps = (s->caps & BACKEND_MIRRORED_CAPS) | BACKEND_BASE_CAPS |
	            (s->ext_caps ? 0 : CLIENT_LONG_PASSWORD),
	    .ext_caps = s->ext_caps,
	};
}

static void release_server(struct session *s, bool clean)
{
	if (!s->server)
		return;
	struct server *srv = s->server;
	s->server = NULL;
	pool_release(&s->worker->pool, srv, clean);
}

static void adopt_server(struct session *s, struct server *srv)
{
	s->server = srv;
	stream_set_owner(&srv->st, on_server_stream, s);
	stream_resume_reading(&srv->st);
}

static void login_done(struct session *s);

static void on_server_ready(struct server *srv, const struct server_error *err, void *arg)
{
	struct session *s = arg;
	if (err) {
		s->server = NULL; /* the pool closed it, or will on release */
		if (srv->state != SERVER_CLOSED)
			pool_release(&s->worker->pool, srv, true);
		if (s->state == SESSION_LOGIN_BACKEND) {
			send_error(s, s->reply_seq, err->code, err->sqlstate, "%s", err->message);
			session_close(s, "backend refused the login");
			return;
		}
		/* A command waited for this connection: answer it with the error, drop it, and
		 * stay usable, since no backend state was lost. */
		struct pkt_frame f;
		if (pkt_frame(s->client.in, SIZE_MAX, &f) == PKT_FRAME_READY)
			evbuffer_drain(s->client.in, f.wire_len);
		counter_inc(&counters(s)->queries_errors);
		send_server_error(s, 1, err);
		if (s->state == SESSION_CLOSED)
			return;
		set_state(s, SESSION_IDLE);
		run_commands(s);
		return;
	}
	adopt_server(s, srv);
	if (s->state == SESSION_LOGIN_BACKEND) {
		login_done(s);
		return;
	}
	set_state(s, SESSION_IDLE);
	run_commands(s);
}

/* Makes sure the session holds a ready backend; false if it must wait (state changes). */
static bool ensure_server(struct session *s, enum session_state waiting)
{
	if (s->server)
		return true;
	struct backend *primary = backends_primary(&s->worker->proxy->backends);
	struct server_key key = server_key_for(s);
	struct server *srv =
	    pool_acquire(&s->worker->pool, primary, &key, s->db, on_server_ready, s);
	if (!srv) {
		send_error(s, s->reply_seq, 1040, "08004",
		           "Out of memory opening a backend connection");
		session_close(s, "out of memory");
		return false;
	}
	if (srv->state == SERVER_READY) {
		adopt_server(s, srv);
		return true;
	}
	s->server = srv; /* still logging in; owned here so session_close can drop it */
	set_state(s, waiting);
	return false;
}

/* ---- login --------------------------------------------------------------------------------- */

static void deny_access(struct session *s, const struct hs_login *l, uint8_t seq)
{
	counter_inc(&counters(s)->connections_rejected);
	send_error(s, seq, 1045, "28000", "Access denied for user '%s'@'%s' (using password: %s)",
	           l->user, s->peer, l->auth_len ? "YES" : "NO");
}

/* The login is proven: adopt its user, database and character set. */
static void login_accepted(struct session *s, uint8_t seq)
{
	struct hs_login *l = s->login;
	if (s->changing_user)
		release_server(s, true);
	else {
		s->caps = l->caps & PROXY_CAPS;
		s->ext_caps = l->ext_caps & PROXY_EXT_CAPS;
	}
	s->user = config_find_user(s->worker->proxy->cfg, l->user);
	if (l->charset)
		s->charset = l->charset;
	snprintf(s->db, sizeof(s->db), "%s", l->has_db ? l->db : "");
	s->reply_seq = seq;
	free(s->login);
	s->login = NULL;
	/* A default database must exist: let a backend say so before the client gets its OK. */
	if (s->db[0] && !ensure_server(s, SESSION_LOGIN_BACKEND))
		return;
	login_done(s);
}

static void login_done(struct session *s)
{
	if (!send_ok(s, s->reply_seq)) {
		session_close(s, "cannot write to client");
		return;
	}
	s->changing_user = false;
	set_state(s, SESSION_IDLE);
	run_commands(s);
}

static void login_rejected(struct session *s, uint8_t seq)
{
	deny_access(s, s->login, seq);
	if (s->state == SESSION_CLOSED)
		return;
	if (s->changing_user) { /* like MariaDB: the session stays as it was */
		free(s->login);
		s->login = NULL;
		s->changing_user = false;
		set_state(s, SESSION_IDLE);
		return;
	}
	session_close(s, "access denied");
}

static bool plugin_is_native(const char *plugin)
{
	return plugin[0] == '\0' || strcmp(plugin, AUTH_NATIVE_PLUGIN) == 0;
}

/* Checks a login (from the handshake or COM_CHANGE_USER) whose packet had sequence id seq. */
static void check_login(struct session *s, uint8_t seq)
{
	struct hs_login *l = s->login;
	const struct cfg_user *u = config_find_user(s->worker->proxy->cfg, l->user);
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
		set_state(s, SESSION_AUTH_SWITCH);
		return;
	}
	if (auth_native_verify(u->password, s->scramble, l->auth, l->auth_len))
		login_accepted(s, (uint8_t)(seq + 1));
	else
		login_rejected(s, (uint8_t)(seq + 1));
}

static void read_login(struct session *s)
{
	struct pkt_header h;
	const uint8_t *payload;
	switch (pkt_peek_whole(s->client.in, MAX_LOGIN_PACKET, &h, &payload)) {
	case PKT_FRAME_PARTIAL: return;
	case PKT_FRAME_TOO_LARGE:
		send_error(s, 2, 1153, "08S01", "Got a packet bigger than the login allows");
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
		send_error(s, (uint8_t)(seq + 1), 1045, "28000",
		           "TLS was requested but the proxy does not offer it");
		session_close(s, "client asked for TLS");
		return;
	}
	if (r != HS_OK) {
		counter_inc(&counters(s)->connections_rejected);
		send_error(s, (uint8_t)(seq + 1), 1043, "08S01", "Bad handshake (%s)",
		           hs_result_str(r));
		session_close(s, "bad handshake");
		return;
	}
	check_login(s, seq);
}

static void read_auth_switch_answer(struct session *s)
{
	struct pkt_header h;
	const uint8_t *payload;
	switch (pkt_peek_whole(s->client.in, MAX_LOGIN_PACKET, &h, &payload)) {
	case PKT_FRAME_PARTIAL: return;
	case PKT_FRAME_TOO_LARGE: session_close(s, "oversized auth packet"); return;
	case PKT_FRAME_READY: break;
	}
	const struct cfg_user *u = config_find_user(s->worker->proxy->cfg, s->login->user);
	bool ok = u && h.len <= sizeof(s->login->auth) &&
	          auth_native_verify(u->password, s->scramble, payload, h.len);
	s->login->auth_len = h.len; /* only "using password: YES/NO" reads it from here */
	uint8_t seq = h.seq;
	evbuffer_drain(s->client.in, PKT_HEADER_LEN + h.len);
	if (ok)
		login_accepted(s, (uint8_t)(seq + 1));
	else
		login_rejected(s, (uint8_t)(seq + 1));
}

static void change_user(struct session *s, const struct pkt_frame *f)
{
	if (f->chunked || f->payload_len > MAX_LOGIN_PACKET) {
		send_error(s, 1, 1043, "08S01", "Bad handshake (COM_CHANGE_USER too large)");
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
		free(s->login);
		s->login = NULL;
		send_error(s, 1, 1043, "08S01", "Bad handshake (%s)", hs_result_str(r));
		session_close(s, "bad COM_CHANGE_USER");
		return;
	}
	s->changing_user = true;
	check_login(s, f->seq);
}

/* ---- commands ------------------------------------------------------------------------------ */

static bool is_forwarded(uint8_t cmd)
{
	switch (cmd) {
	case COM_INIT_DB:
	case COM_QUERY:
	case COM_FIELD_LIST:
	case COM_STATISTICS:
	case COM_PING:
	case COM_STMT_PREPARE:
	case COM_STMT_EXECUTE:
	case COM_STMT_SEND_LONG_DATA:
	case COM_STMT_CLOSE:
	case COM_STMT_RESET:
	case COM_SET_OPTION:
	case COM_STMT_FETCH:
	case COM_RESET_CONNECTION:
	case COM_STMT_BULK_EXECUTE: return true;
	default: return false;
	}
}

/* Commands counted as statements in /stats. */
static bool is_statement(uint8_t cmd)
{
	return cmd == COM_QUERY || cmd == COM_STMT_EXECUTE || cmd == COM_STMT_BULK_EXECUTE;
}

static bool is_word_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

/* Could this statement run USE? Errs towards yes: a false alarm only costs a COM_INIT_DB when
 * the connection is reused. (The SQL classifier will answer exactly.) */
static bool may_change_db(struct evbuffer *in, const struct pkt_frame *f)
{
	if (f->chunked)
		return true;
	const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)f->wire_len);
	if (!p)
		return true;
	const uint8_t *sql = p + PKT_HEADER_LEN + 1;
	size_t n = f->payload_len - 1;
	for (size_t i = 0; i + 3 <= n; i++) {
		if ((sql[i] | 0x20) == 'u' && (sql[i + 1] | 0x20) == 's' &&
		    (sql[i + 2] | 0x20) == 'e' && (i == 0 || !is_word_char(sql[i - 1])) &&
		    (i + 3 == n || !is_word_char(sql[i + 3])))
			return true;
	}
	return false;
}

static void count_statement(struct session *s)
{
	if (!is_statement(s->command))
		return;
	struct worker_counters *c = counters(s);
	counter_inc(&c->queries_total);
	counter_inc(&c->queries_primary);
	counter_inc(&c->backend_queries[s->server->backend->index]);
}

/* Moves one whole command to the held backend and starts tracking its reply. */
static void forward_command(struct session *s, const struct pkt_frame *f)
{
	struct server *srv = s->server;
	s->command = f->first_byte;
	if (s->command == COM_QUERY && may_change_db(s->client.in, f))
		srv->db_known = false;
	if (s->command == COM_INIT_DB) {
		/* The name is the rest of the packet; it becomes the known db when the OK arrives.
		 */
		size_t n = f->payload_len - 1 < sizeof(srv->db) - 1 ? f->payload_len - 1
		                                                    : sizeof(srv->db) - 1;
		const uint8_t *p = evbuffer_pullup(s->client.in, (ev_ssize_t)f->wire_len);
		srv->db_known = false;
		if (p && !f->chunked) {
			memcpy(srv->db, p + PKT_HEADER_LEN + 1, n);
			srv->db[n] = '\0';
		}
	}
	if (evbuffer_remove_buffer(s->client.in, srv->st.out, f->wire_len) != (int)f->wire_len) {
		session_close(s, "cannot queue command");
		return;
	}
	if (!stream_flush(&srv->st)) {
		struct server_error e = {.code = 2013, .sqlstate = "HY000"};
		snprintf(e.message, sizeof(e.message), "Lost connection to backend '%s' (%s): %s",
		         srv->backend->name, srv->backend->address, stream_error_str(&srv->st));
		send_server_error(s, 1, &e);
		session_close(s, "backend write failed");
		return;
	}
	count_statement(s);
	reply_start(&s->reply, s->command, server_key_for(s).caps);
	s->packet_left = 0;
	s->reply_started = false;
	if (!reply_done(&s->reply))
		set_state(s, SESSION_QUERY);
}

/* Handles complete commands waiting in the client's input, while the session is idle. */
static void run_commands(struct session *s)
{
	size_t max = (size_t)s->worker->proxy->cfg->proxy.max_packet_mb << 20;
	stream_resume_reading(&s->client); /* paused while busy if the client ran ahead */
	while (s->state == SESSION_IDLE) {
		struct pkt_frame f;
		switch (pkt_frame(s->client.in, max, &f)) {
		case PKT_FRAME_PARTIAL: return;
		case PKT_FRAME_TOO_LARGE:
			send_error(s, 1, 1153, "08S01",
			           "Got a packet bigger than 'max_allowed_packet' bytes");
			session_close(s, "oversized packet");
			return;
		case PKT_FRAME_READY: break;
		}
		if (s->worker->draining) {
			session_close(s, "shutting down");
			return;
		}
		if (f.payload_len == 0) {
			send_error(s, 1, 1047, "08S01", "Unknown command");
			session_close(s, "empty command packet");
			return;
		}
		if (f.first_byte == COM_QUIT) {
			session_close(s, "client quit");
			return;
		}
		if (f.first_byte == COM_CHANGE_USER) {
			change_user(s, &f);
			continue;
		}
		if (!is_forwarded(f.first_byte)) {
			evbuffer_drain(s->client.in, f.wire_len);
			send_error(s, 1, 1047, "08S01", "Unknown command");
			continue;
		}
		if (!ensure_server(s, SESSION_CONNECT_BACKEND))
			return;
		forward_command(s, &f);
	}
}

/* ---- replies ------------------------------------------------------------------------------- */

static void lost_backend(struct session *s, const char *why)
{
	struct server *srv = s->server;
	/* An error packet is only well-formed between packets. */
	if (s->packet_left == 0 && !s->reply.continuation) {
		uint8_t seq = (uint8_t)(s->reply_started ? s->reply_seq : 1);
		counter_inc(&counters(s)->queries_errors);
		send_error(s, seq, 2013, "HY000",
		           "Lost connection to backend '%s' (%s) during query: %s",
		           srv->backend->name, srv->backend->address, why);
	}
	session_close(s, "lost the backend");
}

static void reply_finished(struct session *s)
{
	if (s->reply.failed && is_statement(s->command))
		counter_inc(&counters(s)->queries_errors);
	if (s->command == COM_INIT_DB && !s->reply.failed) {
		s->server->db_known = true;
		snprintf(s->db, sizeof(s->db), "%s", s->server->db);
	}
	if (s->worker->draining) {
		session_close(s, "shutting down");
		return;
	}
	set_state(s, SESSION_IDLE);
	run_commands(s);
}

/* Moves one packet (or what has arrived of it) to the client. False on a protocol error. */
static bool forward_packet(struct session *s, struct evbuffer *in, struct evbuffer *out)
{
	struct pkt_header h;
	uint8_t head[PKT_HEADER_LEN + 1];
	size_t avail = evbuffer_get_length(in);
	if (avail < PKT_HEADER_LEN)
		return true;
	size_t peek = avail > PKT_HEADER_LEN ? sizeof(head) : PKT_HEADER_LEN;
	evbuffer_copyout(in, head, peek);
	h = pkt_header_decode(head);
	if (h.len > 0 && peek == PKT_HEADER_LEN)
		return true; /* need the first payload byte */
	uint8_t first = h.len > 0 ? head[PKT_HEADER_LEN] : 0;
	size_t total = PKT_HEADER_LEN + (size_t)h.len;
	const uint8_t *payload = NULL;
	if (reply_wants_packet(&s->reply, h.len, first)) {
		if (avail < total)
			return true;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)total);
		if (!p)
			return false;
		payload = p + PKT_HEADER_LEN;
	}
	if (!reply_feed(&s->reply, h.len, payload))
		return false;
	size_t now = total <= avail ? total : avail;
	s->packet_left = total - now;
	s->reply_seq = (uint8_t)(h.seq + 1);
	s->reply_started = true;
	return evbuffer_remove_buffer(in, out, now) == (int)now;
}

/* Moves every complete or partial reply packet the backend has sent so far. The input holds
 * at most a few reads, since reading stops while the client is behind. */
static bool move_reply(struct session *s, struct evbuffer *in, struct evbuffer *out)
{
	while (s->state == SESSION_QUERY) {
		size_t avail = evbuffer_get_length(in);
		if (s->packet_left > 0) {
			size_t n = avail < s->packet_left ? avail : s->packet_left;
			if (n == 0)
				return true;
			if (evbuffer_remove_buffer(in, out, n) != (int)n)
				return false;
			s->packet_left -= n;
		} else if (reply_done(&s->reply) || reply_awaits_client(&s->reply)) {
			return true;
		} else {
			if (!forward_packet(s, in, out))
				return false;
			if (evbuffer_get_length(in) == avail)
				return true; /* waiting for more of the packet */
		}
	}
	return true;
}

static void forward_reply(struct session *s)
{
	if (!move_reply(s, s->server->st.in, s->client.out)) {
		lost_backend(s, "unexpected packet from the backend");
		return;
	}
	if (!stream_flush(&s->client)) {
		session_close(s, "cannot write to client");
		return;
	}
	/* Checked after the flush: only a client that really lags stops the backend, and the
	 * write event that will report the drain is then armed. */
	if (stream_output_full(&s->client)) {
		stream_pause_reading(&s->server->st);
		stream_notify_drained(&s->client);
		return;
	}
	if (s->packet_left == 0 && reply_done(&s->reply))
		reply_finished(s);
	else if (reply_awaits_client(&s->reply))
		forward_upload(s); /* the upload may already be waiting */
}

/* LOAD DATA LOCAL INFILE: the client's file goes to the backend until its empty packet. */
static void forward_upload(struct session *s)
{
	struct evbuffer *in = s->client.in;
	struct stream *srv = &s->server->st;
	while (reply_awaits_client(&s->reply)) {
		struct pkt_header h;
		if (!pkt_peek_header(in, &h))
			break;
		size_t total = PKT_HEADER_LEN + (size_t)h.len;
		if (evbuffer_get_length(in) < total)
			break;
		reply_feed_client(&s->reply, h.len);
		if (evbuffer_remove_buffer(in, srv->out, total) != (int)total) {
			session_close(s, "cannot queue upload");
			return;
		}
	}
	if (!stream_flush(srv)) {
		lost_backend(s, stream_error_str(srv));
		return;
	}
	if (stream_output_full(srv)) {
		stream_pause_reading(&s->client);
		stream_notify_drained(srv);
	}
}

/* ---- events -------------------------------------------------------------------------------- */

static void on_client_readable(struct session *s)
{
	switch (s->state) {
	case SESSION_HANDSHAKE: read_login(s); return;
	case SESSION_AUTH_SWITCH: read_auth_switch_answer(s); return;
	case SESSION_IDLE: run_commands(s); return;
	case SESSION_QUERY:
		if (reply_awaits_client(&s->reply)) {
			forward_upload(s);
			return;
		}
		/* a pipelined command waits for the reply to end */
		__attribute__((fallthrough));
	case SESSION_LOGIN_BACKEND:
	case SESSION_CONNECT_BACKEND:
		if (evbuffer_get_length(s->client.in) > MAX_PENDING_INPUT)
			stream_pause_reading(&s->client);
		return;
	case SESSION_CLOSED: return;
	}
}

static void on_client_stream(struct stream *st, enum stream_event ev, void *arg)
{
	struct session *s = arg;
	(void)st;
	switch (ev) {
	case STREAM_READABLE: on_client_readable(s); return;
	case STREAM_DRAINED:
		if (s->state == SESSION_QUERY) {
			stream_resume_reading(&s->server->st);
			forward_reply(s);
		}
		return;
	case STREAM_EOF: session_close(s, "client closed the connection"); return;
	case STREAM_ERROR: session_close(s, stream_error_str(&s->client)); return;
	case STREAM_CONNECTED: return;
	}
}

static void on_server_stream(struct stream *st, enum stream_event ev, void *arg)
{
	struct session *s = arg;
	switch (ev) {
	case STREAM_READABLE:
		if (s->state == SESSION_QUERY)
			forward_reply(s);
		else /* a backend speaking out of turn is about to hang up (e.g. idle timeout) */
			session_close(s, "backend sent data between commands");
		return;
	case STREAM_DRAINED:
		if (s->state == SESSION_QUERY) {
			stream_resume_reading(&s->client);
			forward_upload(s);
		}
		return;
	case STREAM_EOF:
	case STREAM_ERROR:
		if (s->state == SESSION_QUERY)
			lost_backend(s, ev == STREAM_EOF ? "closed by the backend"
			                                 : stream_error_str(st));
		else
			session_close(s, "backend connection closed");
		return;
	case STREAM_CONNECTED: return;
	}
}

/* ---- life cycle ---------------------------------------------------------------------------- */

static void format_peer(const struct sockaddr *sa, char *out, size_t len)
{
	const void *addr = sa->sa_family == AF_INET6
	                       ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
	                       : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (!inet_ntop(sa->sa_family, addr, out, (socklen_t)len))
		snprintf(out, len, "unknown");
}

static bool send_greeting(struct session *s)
{
	struct hs_greeting g = {
	    .conn_id = s->id,
	    .caps = PROXY_CAPS & ~CLIENT_LONG_PASSWORD,
	    .ext_caps = PROXY_EXT_CAPS,
	    .status = SERVER_STATUS_AUTOCOMMIT,
	};
	proxy_identity_get(s->worker->proxy, g.version, sizeof(g.version), &g.charset);
	s->charset = g.charset;
	snprintf(g.plugin, sizeof(g.plugin), "%s", AUTH_NATIVE_PLUGIN);
	memcpy(g.scramble, s->scramble, sizeof(g.scramble));
	return hs_append_greeting(s->client.out, &g) && stream_flush(&s->client);
}

static void link_session(struct worker *w, struct session *s)
{
	s->prev = NULL;
	s->next = w->sessions;
	if (w->sessions)
		w->sessions->prev = s;
	w->sessions = s;
}

static void unlink_session(struct worker *w, struct session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

void session_accept(struct worker *w, int fd, const struct sockaddr *peer)
{
	struct proxy *p = w->proxy;
	int64_t open = atomic_fetch_add(&p->connections, 1) + 1;
	struct session *s = calloc(1, sizeof(*s));
	if (!s || !stream_accept(&s->client, w->base, fd, CLIENT_READ_CHUNK, on_client_stream, s)) {
		if (!s)
			close(fd);
		free(s);
		atomic_fetch_sub(&p->connections, 1);
		return;
	}
	s->worker = w;
	s->id = atomic_fetch_add(&p->next_session_id, 1);
	s->state = SESSION_HANDSHAKE;
	format_peer(peer, s->peer, sizeof(s->peer));
	link_session(w, s);
	counter_inc(&w->counters.connections_total);
	gauge_add(&w->counters.connections_current, 1);
	if (open > p->cfg->proxy.max_connections) {
		counter_inc(&w->counters.connections_rejected);
		send_error(s, 0, 1040, "08004", "Too many connections");
		session_close(s, "max_connections reached");
		return;
	}
	if (!auth_make_scramble(s->scramble) || !send_greeting(s)) {
		session_close(s, "cannot send greeting");
		return;
	}
	log_debug("session %u: connected from %s", s->id, s->peer);
}

void session_close(struct session *s, const char *reason)
{
	if (s->state == SESSION_CLOSED)
		return;
	struct worker *w = s->worker;
	log_debug("session %u: closed in state %s: %s", s->id, session_state_str(s->state), reason);
	bool clean = s->server && s->server->state == SERVER_READY && s->state != SESSION_QUERY;
	release_server(s, clean);
	if (!stream_flush(&s->client)) /* a last error packet, if the socket takes it */
		log_debug("session %u: final flush failed: %s", s->id,
		          stream_error_str(&s->client));
	stream_close(&s->client);
	free(s->login);
	s->login = NULL;
	unlink_session(w, s);
	gauge_add(&w->counters.connections_current, -1);
	atomic_fetch_sub(&w->proxy->connections, 1);
	s->state = SESSION_CLOSED;
	worker_bury_session(w, s);
	worker_session_gone(w);
}
