/*
 * session.c - one client connection's commands (see session.h).
 *
 * The data path, for one command:
 *
 *   client.in ──frame──> classify ──> route ──> primary or replica ──> server.st.out ──> backend
 *   client.out <──move whole chains── server.st.in <── reply packets <─────────────────────┘
 *                      │
 *                      └ reply.c sees only the small packets that may end the reply
 *
 * Before a backend serves a command it is brought in step: the session's history (SET, USE…)
 * is replayed on it, and a prepared statement is prepared there; those are the proxy's own
 * commands (SESSION_SYNC), whose replies are read and dropped. A read that a replica fails
 * before any byte reached the client is sent again elsewhere, invisibly.
 *
 * Bytes move between evbuffers without copies (evbuffer_remove_buffer); a packet is only made
 * contiguous when something must read it. When the client's output passes the high watermark
 * the backend is no longer read until it drains, so a huge result costs a bounded buffer.
 *
 * States change only through session_set_state(); every exit goes through session_close().
 */
#include "session.h"

#include "backend.h"
#include "classify.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "packet.h"
#include "plan.h"
#include "pool.h"
#include "proxy.h"
#include "server.h"
#include "user_limits.h"
#include "worker.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLIENT_READ_CHUNK (16 * 1024)
/* Commands a client pipelines behind a running one wait in its input up to this much. */
#define MAX_PENDING_INPUT (1024 * 1024)
/* A read sent to a replica is kept, to be sent elsewhere if the replica fails, up to this. */
#define MAX_RETRY_COPY (64 * 1024)

/* Client capabilities that change what a backend sends or how it parses: a backend
 * connection must have exactly the client's, so replies pass through untouched. */
#define BACKEND_MIRRORED_CAPS                                                                      \
	(CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_NO_SCHEMA | CLIENT_ODBC |                   \
	 CLIENT_LOCAL_FILES | CLIENT_IGNORE_SPACE | CLIENT_INTERACTIVE | CLIENT_TRANSACTIONS |     \
	 CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS |                \
	 CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF)
#define BACKEND_BASE_CAPS (CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH)

static void on_server_stream(struct stream *st, enum stream_event ev, void *arg);
static void forward_reply(struct session *s);
static void forward_upload(struct session *s);

const char *session_state_str(enum session_state state)
{
	switch (state) {
	case SESSION_HANDSHAKE: return "handshake";
	case SESSION_TLS_HANDSHAKE: return "tls_handshake";
	case SESSION_AUTH_SWITCH: return "auth_switch";
	case SESSION_LOGIN_BACKEND: return "login_backend";
	case SESSION_IDLE: return "idle";
	case SESSION_CONNECT_BACKEND: return "connect_backend";
	case SESSION_QUERY: return "query";
	case SESSION_SYNC: return "sync";
	case SESSION_PIN: return "pin";
	case SESSION_RATE_WAIT: return "rate_wait";
	case SESSION_CACHE_WAIT: return "cache_wait";
	case SESSION_CLOSED: return "closed";
	}
	return "?";
}

void session_set_state(struct session *s, enum session_state next)
{
	log_debug("session %u: %s -> %s", s->id, session_state_str(s->state),
	          session_state_str(next));
	s->state = next;
}

static struct worker_counters *counters(struct session *s)
{
	return &s->worker->counters;
}

void session_send_error(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
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
	session_send_error(s, seq, e->code, e->sqlstate, "%s", e->message);
}

/* ---- backend connections ------------------------------------------------------------------ */

struct server_key session_server_key(const struct session *s)
{
	return (struct server_key){
	    .user = s->user,
	    .charset = s->charset,
	    .caps = (s->caps & BACKEND_MIRRORED_CAPS) | BACKEND_BASE_CAPS |
	            (s->ext_caps ? 0 : CLIENT_LONG_PASSWORD),
	    .ext_caps = s->ext_caps,
	};
}

/* A connection goes back to the pool in the session's database if it ran all of the session's
 * history (USE and COM_INIT_DB are recorded there); otherwise its database is unknown and the
 * pool sets one with COM_INIT_DB before reusing it. COM_RESET_CONNECTION keeps the database. */
static void give_back(struct session *s, struct server *srv, bool clean)
{
	snprintf(srv->db, sizeof(srv->db), "%s", s->db);
	srv->db_known = srv->history_applied == s->history.count;
	pool_release(&s->worker->pool, srv, clean);
}

static void release_replica(struct session *s, bool clean)
{
	struct server *srv = s->replica;
	if (!srv)
		return;
	s->replica = NULL;
	s->last_on_replica = false;
	stmt_forget_replica(&s->stmts);
	s->worker->replica_sessions[srv->backend->index]--;
	give_back(s, srv, clean);
}

static void release_primary(struct session *s, bool clean)
{
	struct server *srv = s->primary;
	if (!srv)
		return;
	s->primary = NULL;
	give_back(s, srv, clean);
}

/* A backend is reusable by the pool only between commands. */
static bool between_commands(const struct session *s, const struct server *srv)
{
	return srv->state == SERVER_READY &&
	       !(s->target == srv && (s->state == SESSION_QUERY || s->state == SESSION_SYNC));
}

static void forget_temp_tables(struct session *s)
{
	free(s->temps);
	s->temps = NULL;
	s->n_temps = 0;
}

/* Forgets everything the session's backends hold for it (COM_CHANGE_USER, reset). */
static void forget_session_state(struct session *s)
{
	history_clear(&s->history);
	stmt_clear(&s->stmts);
	forget_temp_tables(s);
	s->primary_status = SERVER_STATUS_AUTOCOMMIT;
	s->read_only_transaction = false;
	s->locked_tables = false;
	s->user_vars_assigned = false;
	pin_forget_transaction(s);
}

void session_drop_backends(struct session *s)
{
	if (s->replica)
		release_replica(s, between_commands(s, s->replica));
	if (s->primary)
		release_primary(s, between_commands(s, s->primary));
	forget_session_state(s);
}

static void adopt_server(struct session *s, struct server *srv)
{
	stream_set_owner(&srv->st, on_server_stream, s);
	stream_resume_reading(&srv->st);
}

static void on_server_ready(struct server *srv, const struct server_error *err, void *arg);

/* Asks the pool for a connection to b; the session owns it at once, ready or not. */
static struct server *acquire(struct session *s, struct backend *b)
{
	struct server_key key = session_server_key(s);
	struct server *srv = pool_acquire(&s->worker->pool, b, &key, s->db, on_server_ready, s);
	if (!srv) {
		session_send_error(s, s->reply_seq, 1040, "08004",
		                   "Out of memory opening a backend connection");
		session_close(s, "out of memory");
		return NULL;
	}
	srv->history_applied = 0;
	if (srv->state == SERVER_READY)
		adopt_server(s, srv);
	return srv;
}

/* The primary checks the database, unless it is down: then a usable replica does, so reads keep
 * working through an outage of the primary. */
bool session_open_backend_for_login(struct session *s)
{
	struct backend *primary = backends_primary(&s->worker->proxy->backends);
	struct backend *replica = NULL;
	if (atomic_load_explicit(&primary->health, memory_order_relaxed) == HEALTH_DOWN ||
	    backend_breaker_open(primary, clock_ms()))
		replica = plan_pick_replica(s);
	struct server **slot = replica ? &s->replica : &s->primary;
	if (!*slot) {
		*slot = acquire(s, replica ? replica : primary);
		if (!*slot)
			return false;
		if (replica)
			s->worker->replica_sessions[replica->index]++;
	}
	if ((*slot)->state == SERVER_READY)
		return true;
	session_set_state(s, SESSION_LOGIN_BACKEND);
	return false;
}

static void answer_waiting_command(struct session *s, const struct server_error *err)
{
	struct pkt_frame f;
	if (pkt_frame(s->client.in, SIZE_MAX, &f) == PKT_FRAME_READY)
		evbuffer_drain(s->client.in, f.wire_len);
	counter_inc(&counters(s)->queries_errors);
	send_server_error(s, 1, err);
}

static void on_server_ready(struct server *srv, const struct server_error *err, void *arg)
{
	struct session *s = arg;
	bool replica = srv == s->replica;
	if (!err) {
		adopt_server(s, srv);
		if (s->state == SESSION_LOGIN_BACKEND) {
			session_login_done(s);
			return;
		}
		session_set_state(s, SESSION_IDLE);
		session_run_commands(s);
		return;
	}
	if (replica && s->state != SESSION_LOGIN_BACKEND) {
		/* Nothing was lost: the waiting read goes to another backend. */
		s->excluded_replica = srv->backend->index;
		s->replica_failures++;
		release_replica(s, true);
		session_set_state(s, SESSION_IDLE);
		session_run_commands(s);
		return;
	}
	if (replica)
		release_replica(s, true);
	else
		release_primary(s, true);
	if (s->state == SESSION_LOGIN_BACKEND) {
		session_send_error(s, s->reply_seq, err->code, err->sqlstate, "%s", err->message);
		session_close(s, "backend refused the login");
		return;
	}
	/* The command waiting for this connection gets the error; no backend state was lost, so
	 * the session stays usable. */
	answer_waiting_command(s, err);
	if (s->state == SESSION_CLOSED)
		return;
	session_set_state(s, SESSION_IDLE);
	session_run_commands(s);
}

/* The connection a plan runs on, ready; NULL when the session must wait (or closed). */
static struct server *server_for(struct session *s, struct plan *p)
{
	/* After two replicas failed this command, the primary answers it. */
	bool want_replica =
	    route_to_replica(p->reason) && (s->replica_failures < 2 || s->read_only_transaction);
	if (want_replica && s->replica && !s->read_only_transaction &&
	    (!plan_replica_usable(s->replica->backend) ||
	     !pin_replica_allowed(s, s->replica->backend) ||
	     s->replica->backend->index == s->excluded_replica))
		release_replica(s, between_commands(s, s->replica));
	if (want_replica && !s->replica) {
		struct backend *b = plan_pick_replica(s);
		if (b) {
			s->replica = acquire(s, b);
			if (!s->replica)
				return NULL;
			s->worker->replica_sessions[b->index]++;
		} else {
			want_replica = false;
			if (s->pin.verdict ==
			    PIN_COVERED) /* no replica has the marks' writes yet */
				p->reason = ROUTE_PINNED;
		}
	}
	if (!want_replica && !s->primary) {
		s->primary = acquire(s, backends_primary(&s->worker->proxy->backends));
		if (!s->primary)
			return NULL;
	}
	struct server *srv = want_replica ? s->replica : s->primary;
	s->fallback = route_to_replica(p->reason) && srv == s->primary;
	if (srv->state != SERVER_READY) {
		session_set_state(s, SESSION_CONNECT_BACKEND);
		return NULL;
	}
	return srv;
}

/* ---- keeping a backend in step with the session -------------------------------------------- */

/* Sends one of the proxy's own commands; its reply is read and dropped (SESSION_SYNC). */
static bool send_internal(struct session *s, struct server *srv, const uint8_t *packet, size_t len)
{
	if (evbuffer_add(srv->st.out, packet, len) != 0 || !stream_flush(&srv->st))
		return false;
	s->target = srv;
	s->packet_left = 0;
	s->reply_started = false;
	reply_start(&s->reply, packet[PKT_HEADER_LEN], session_server_key(s).caps);
	session_set_state(s, SESSION_SYNC);
	return true;
}

static bool send_prepare(struct session *s, struct server *srv, const struct stmt *st)
{
	size_t len = PKT_HEADER_LEN + 1 + st->sql_len;
	uint8_t *buf = malloc(len);
	if (!buf)
		return false;
	struct pkt_writer w;
	pkt_writer_init(&w, buf, len, 0);
	pkt_put_u8(&w, COM_STMT_PREPARE);
	pkt_put_bytes(&w, st->sql, st->sql_len);
	bool ok = pkt_writer_finish(&w) && send_internal(s, srv, buf, w.len);
	s->sync_stmt = st->id;
	free(buf);
	return ok;
}

static void lost_backend(struct session *s, struct server *srv, const char *why);

/* True when srv is in step; otherwise starts the next step and returns false. */
static bool in_step(struct session *s, struct server *srv, const struct plan *p)
{
	bool sent = true;
	if (srv->history_applied < s->history.count) {
		const struct history_entry *e = history_at(&s->history, srv->history_applied);
		sent = send_internal(s, srv, e->packet, e->len);
	} else if (srv == s->replica && p->execute && p->stmt && !p->stmt->replica_id) {
		sent = send_prepare(s, srv, p->stmt);
	} else {
		return true;
	}
	if (!sent)
		lost_backend(s, srv, stream_error_str(&srv->st));
	return false;
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

static void count_statement(struct session *s, struct server *srv)
{
	if (!pkt_is_statement(s->command))
		return;
	struct worker_counters *c = counters(s);
	s->sent_us = clock_us();
	s->last_on_replica = srv == s->replica;
	counter_inc(&c->queries_total);
	counter_inc(srv == s->replica ? &c->queries_replica : &c->queries_primary);
	counter_inc(&c->routes[s->route]);
	if (s->fallback)
		counter_inc(&c->queries_fallback);
	if (s->route == ROUTE_PINNED)
		counter_inc(&c->queries_pinned);
	counter_inc(&c->backend_queries[srv->backend->index]);
}

/* Keeps what a successful reply must change in the session. */
static bool keep_effects(struct session *s, const struct pkt_frame *f, const struct plan *p)
{
	if (!p->needs_effects || f->chunked)
		return true;
	struct session_effects *e = calloc(1, sizeof(*e));
	const uint8_t *packet = evbuffer_pullup(s->client.in, (ev_ssize_t)f->wire_len);
	if (!e || !packet || !(e->packet = malloc(f->wire_len))) {
		free(e);
		return false;
	}
	memcpy(e->packet, packet, f->wire_len);
	e->packet_len = f->wire_len;
	e->cls_flags = p->cls_flags;
	e->cls_kind = p->cls_kind;
	e->prepared_reason = p->prepared_reason;
	memcpy(e->db, p->db, sizeof(e->db));
	memcpy(e->table_db, p->table_db, sizeof(e->table_db));
	memcpy(e->table, p->table, sizeof(e->table));
	if (f->first_byte == COM_INIT_DB) {
		size_t n =
		    f->payload_len - 1 < sizeof(e->db) - 1 ? f->payload_len - 1 : sizeof(e->db) - 1;
		memcpy(e->db, packet + PKT_HEADER_LEN + 1, n);
		e->db[n] = '\0';
	}
	s->effects = e;
	return true;
}

static void drop_effects(struct session *s)
{
	if (!s->effects)
		return;
	free(s->effects->packet);
	free(s->effects);
	s->effects = NULL;
}

/* An execution bound for a backend that knows the statement by another id, or lacks its
 * parameter types, is rewritten on the way: same bytes, other id, types added. */
static bool rewrite_execute(struct session *s, const struct pkt_frame *f, const struct plan *p,
                            struct server *srv)
{
	struct stmt *st = p->stmt;
	bool to_replica = srv == s->replica;
	if (p->exec.has_types) {
		if (!st->types)
			return false; /* plan_execute could not keep them (out of memory) */
		st->types_on_replica = to_replica;
		st->types_on_primary = !to_replica;
	}
	bool add_types = !p->exec.has_types && st->n_params &&
	                 !(to_replica ? st->types_on_replica : st->types_on_primary);
	if (add_types && !st->types)
		return false; /* never kept (out of memory): the session cannot go on */
	if (!to_replica && !add_types)
		return evbuffer_remove_buffer(s->client.in, srv->st.out, f->wire_len) ==
		       (int)f->wire_len;
	const uint8_t *in = evbuffer_pullup(s->client.in, (ev_ssize_t)f->wire_len);
	const uint8_t *payload = in + PKT_HEADER_LEN;
	size_t types = add_types ? 2 * (size_t)st->n_params : 0;
	size_t out_len = f->wire_len + types;
	uint8_t *out = malloc(out_len);
	if (!out || out_len - PKT_HEADER_LEN >= PKT_MAX_CHUNK) {
		free(out);
		return false;
	}
	struct pkt_writer w;
	pkt_writer_init(&w, out, out_len, f->seq);
	pkt_put_u8(&w, COM_STMT_EXECUTE);
	pkt_put_u32(&w, to_replica ? st->replica_id : st->id);
	if (add_types) {
		pkt_put_bytes(&w, payload + 5, p->exec.bound_offset - 5);
		pkt_put_u8(&w, 1);
		pkt_put_bytes(&w, st->types, types);
		pkt_put_bytes(&w, payload + p->exec.bound_offset + 1,
		              f->payload_len - p->exec.bound_offset - 1);
		if (to_replica)
			st->types_on_replica = true;
		else
			st->types_on_primary = true;
	} else {
		pkt_put_bytes(&w, payload + 5, f->payload_len - 5);
	}
	bool ok = pkt_writer_finish(&w) && evbuffer_add(srv->st.out, out, w.len) == 0;
	free(out);
	evbuffer_drain(s->client.in, f->wire_len);
	return ok;
}

/* COM_STMT_CLOSE also closes the replica's copy; neither answers. */
static void close_statement(struct session *s, struct stmt *st)
{
	if (st->replica_id && s->replica && s->replica->state == SERVER_READY) {
		uint8_t buf[PKT_HEADER_LEN + 5];
		struct pkt_writer w;
		pkt_writer_init(&w, buf, sizeof(buf), 0);
		pkt_put_u8(&w, COM_STMT_CLOSE);
		pkt_put_u32(&w, st->replica_id);
		if (!pkt_writer_finish(&w) || evbuffer_add(s->replica->st.out, buf, w.len) != 0 ||
		    !stream_flush(&s->replica->st))
			release_replica(s, false);
	}
	stmt_remove(&s->stmts, st->id);
}

/* The statement-level bookkeeping a command needs before it leaves. */
static void note_command(struct session *s, const struct plan *p)
{
	if (p->assigns_user_vars)
		s->user_vars_assigned = true;
	if (!p->stmt)
		return;
	if (s->command == COM_STMT_SEND_LONG_DATA)
		p->stmt->long_data = true;
	else if (s->command == COM_STMT_EXECUTE || s->command == COM_STMT_RESET)
		p->stmt->long_data = false;
}

/* Moves one whole command to srv and starts tracking its reply. */
static void forward_command(struct session *s, const struct pkt_frame *f, struct plan *p,
                            struct server *srv)
{
	s->command = f->first_byte;
	s->route = p->reason;
	s->target = srv;
	slowlog_command_sent(s, f);
	pin_command_sent(s);
	evbuffer_drain(s->retry, evbuffer_get_length(s->retry));
	if (srv == s->replica && f->wire_len <= MAX_RETRY_COPY) {
		const uint8_t *bytes = evbuffer_pullup(s->client.in, (ev_ssize_t)f->wire_len);
		if (bytes)
			evbuffer_add(s->retry, bytes, f->wire_len);
	}
	note_command(s, p);
	if (!keep_effects(s, f, p)) {
		session_close(s, "out of memory");
		return;
	}
	struct stmt *closing = s->command == COM_STMT_CLOSE ? p->stmt : NULL;
	bool queued = p->execute ? rewrite_execute(s, f, p, srv)
	                         : evbuffer_remove_buffer(s->client.in, srv->st.out, f->wire_len) ==
	                               (int)f->wire_len;
	if (!queued) {
		session_close(s, "cannot queue command");
		return;
	}
	if (closing)
		close_statement(s, closing);
	count_statement(s, srv);
	cache_command_sent(s, srv->backend, srv == s->replica);
	reply_start(&s->reply, s->command, session_server_key(s).caps);
	s->packet_left = 0;
	s->reply_started = false;
	if (!stream_flush(&srv->st)) {
		lost_backend(s, srv, stream_error_str(&srv->st));
		return;
	}
	if (!reply_done(&s->reply))
		session_set_state(s, SESSION_QUERY);
}

/* The cache wrote the command's answer: send it on. */
static bool answered_from_cache(struct session *s)
{
	if (stream_flush(&s->client))
		return true;
	session_close(s, "cannot write to client");
	return false;
}

void session_cache_wait_over(struct session *s)
{
	session_set_state(s, SESSION_IDLE);
	session_run_commands(s);
}

/* Handles complete commands waiting in the client's input, while the session is idle. */
void session_run_commands(struct session *s)
{
	size_t max = (size_t)proxy_config(s->worker->proxy)->proxy.max_packet_mb << 20;
	stream_resume_reading(&s->client); /* paused while busy if the client ran ahead */
	while (s->state == SESSION_IDLE) {
		struct pkt_frame f;
		switch (pkt_frame(s->client.in, max, &f)) {
		case PKT_FRAME_PARTIAL: return;
		case PKT_FRAME_TOO_LARGE:
			session_send_error(s, 1, 1153, "08S01",
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
			session_send_error(s, 1, 1047, "08S01", "Unknown command");
			session_close(s, "empty command packet");
			return;
		}
		if (f.first_byte == COM_QUIT) {
			session_close(s, "client quit");
			return;
		}
		if (f.first_byte == COM_CHANGE_USER) {
			login_change_user(s, &f);
			continue;
		}
		if (!is_forwarded(f.first_byte)) {
			evbuffer_drain(s->client.in, f.wire_len);
			session_send_error(s, 1, 1047, "08S01", "Unknown command");
			continue;
		}
		struct plan p;
		if (!limits_admit(s, &f))
			continue; /* waiting (state changed), or refused: go on with the next */
		plan_command(s, &f, &p);
		if (cache_serve_local(s, &f)) {
			if (!answered_from_cache(s))
				return;
			continue;
		}
		if (!pin_before_command(s, &p))
			return;
		switch (cache_after_lookup(s, &f)) {
		case CACHE_GO: break;
		case CACHE_SERVED:
			if (!answered_from_cache(s))
				return;
			continue;
		case CACHE_WAITING: session_set_state(s, SESSION_CACHE_WAIT); return;
		}
		struct server *srv = server_for(s, &p);
		if (!srv || !in_step(s, srv, &p))
			return;
		forward_command(s, &f, &p, srv);
	}
}

void session_login_done(struct session *s)
{
	if (!pkt_append_ok(s->client.out, s->reply_seq, PKT_OK, 0, 0, SERVER_STATUS_AUTOCOMMIT,
	                   0) ||
	    !stream_flush(&s->client)) {
		session_close(s, "cannot write to client");
		return;
	}
	s->changing_user = false;
	session_set_state(s, SESSION_IDLE);
	session_run_commands(s);
}

/* ---- replies ------------------------------------------------------------------------------- */

static void add_temp_table(struct session *s, const char *db, const char *name)
{
	if (session_has_temp_table(s, db, name))
		return;
	struct temp_table *grown = realloc(s->temps, (s->n_temps + 1) * sizeof(*grown));
	if (!grown)
		return; /* the router then misses it: the table's reads may fail on a replica */
	s->temps = grown;
	snprintf(s->temps[s->n_temps].db, HS_DB_MAX, "%s", db);
	snprintf(s->temps[s->n_temps].name, HS_DB_MAX, "%s", name);
	s->n_temps++;
}

static void remove_temp_table(struct session *s, const char *db, const char *name)
{
	for (size_t i = 0; i < s->n_temps; i++) {
		if (strcmp(s->temps[i].name, name) == 0 && strcmp(s->temps[i].db, db) == 0) {
			s->temps[i] = s->temps[--s->n_temps];
			return;
		}
	}
}

/* What a successful command changed: history, database, temporary tables, locks, statements. */
static void apply_effects(struct session *s, const struct session_effects *e)
{
	if (s->command == COM_RESET_CONNECTION) {
		release_replica(s, true);
		forget_session_state(s);
		s->primary->history_applied = 0;
		return;
	}
	if (s->command == COM_STMT_PREPARE) {
		if (!stmt_add(&s->stmts, s->reply.stmt_id, s->reply.stmt_params,
		              (uint8_t)e->prepared_reason,
		              (const char *)e->packet + PKT_HEADER_LEN + 1,
		              e->packet_len - PKT_HEADER_LEN - 1))
			log_warn("session %u: out of memory recording a prepared statement", s->id);
		return;
	}
	if (s->command == COM_INIT_DB || s->command == COM_SET_OPTION ||
	    (e->cls_flags & CLS_SESSION_STATE)) {
		/* Only pure session state can be replayed: a text that also writes (a
		 * multi-statement "SET ...; INSERT ...") must not run twice, so its session stays
		 * on the primary. */
		if (!(e->cls_flags & CLS_WRITE) &&
		    history_add(&s->history, e->packet, e->packet_len)) {
			s->target->history_applied = s->history.count;
		} else {
			s->history.overflow = true;
			release_replica(s, true); /* cannot be brought in step any more */
		}
		if (e->db[0])
			snprintf(s->db, sizeof(s->db), "%s", e->db);
	}
	if (e->cls_flags & CLS_CREATE_TEMP)
		add_temp_table(s, e->table_db, e->table);
	/* A plain DROP TABLE of a temporary table leaves its name here: its reads then go to the
	 * primary, which is merely slower. */
	if (e->cls_flags & CLS_DROP_TEMP)
		remove_temp_table(s, e->table_db, e->table);
	if (e->cls_kind == CLS_KIND_LOCK_TABLES)
		s->locked_tables = true;
	if (e->cls_kind == CLS_KIND_UNLOCK_TABLES)
		s->locked_tables = false;
}

/* The proxy's own command ended: note what it achieved and go on with the client's. */
static void sync_finished(struct session *s)
{
	struct server *srv = s->target;
	bool prepare = s->reply.kind == REPLY_PREPARE;
	session_set_state(s, SESSION_IDLE);
	if (s->reply.failed) {
		log_warn("session %u: backend %s refused a %s the primary accepted (error %u)",
		         s->id, srv->backend->name, prepare ? "prepare" : "session command",
		         s->reply.error_code);
		if (srv != s->replica) {
			session_send_error(s, 1, 1105, "HY000",
			                   "Could not restore the session on backend '%s'",
			                   srv->backend->name);
			session_close(s, "session replay failed on the primary");
			return;
		}
		s->excluded_replica = srv->backend->index;
		s->replica_failures++;
		release_replica(s, true);
	} else if (prepare) {
		struct stmt *st = stmt_find(&s->stmts, s->sync_stmt);
		if (st)
			st->replica_id = s->reply.stmt_id;
	} else {
		srv->history_applied++;
	}
	session_run_commands(s);
}

static void reply_finished(struct session *s)
{
	if (s->state == SESSION_SYNC) {
		sync_finished(s);
		return;
	}
	struct server *srv = s->target;
	if (pkt_is_statement(s->command))
		counters_observe_latency(counters(s), srv->backend->index, clock_us() - s->sent_us);
	slowlog_reply_finished(s);
	if (s->reply.failed && pkt_is_statement(s->command))
		counter_inc(&counters(s)->queries_errors);
	if (srv == s->primary && s->reply.status_known)
		s->primary_status = s->reply.status;
	if (srv == s->replica && s->route == ROUTE_READ_ONLY_TRANSACTION && s->reply.status_known)
		s->read_only_transaction = (s->reply.status & SERVER_STATUS_IN_TRANS) != 0;
	cache_reply_finished(s, reply_storable(&s->reply));
	if (s->effects && !s->reply.failed)
		apply_effects(s, s->effects);
	drop_effects(s);
	s->excluded_replica = -1;
	s->replica_failures = 0;
	if (s->worker->draining) {
		session_close(s, "shutting down");
		return;
	}
	session_set_state(s, SESSION_IDLE);
	session_run_commands(s);
}

void session_pin_answered(struct session *s)
{
	if (s->pin.stage == PIN_BEFORE) {
		s->pin.stage = PIN_ANSWERED;
		session_set_state(s, SESSION_IDLE);
		session_run_commands(s);
		return;
	}
	s->pin.stage = PIN_IDLE;
	if (!stream_flush(&s->client)) {
		session_close(s, "cannot write to client");
		return;
	}
	reply_finished(s);
}

/* srv failed or hung up. A replica that fails a read before any byte of it reached the client is
 * replaced invisibly; anything else costs the client an error and its connection, because the
 * session's state on that backend is gone. */
static void lost_backend(struct session *s, struct server *srv, const char *why)
{
	bool busy = s->target == srv && (s->state == SESSION_QUERY || s->state == SESSION_SYNC);
	bool replica = srv == s->replica && !s->read_only_transaction;
	if (replica && (!busy || (!s->reply_started && (s->state == SESSION_SYNC ||
	                                                evbuffer_get_length(s->retry) > 0)))) {
		log_info("session %u: replica %s lost (%s)%s", s->id, srv->backend->name, why,
		         busy ? ", sending the read elsewhere" : "");
		release_replica(s, false);
		if (!busy)
			return;
		s->excluded_replica = srv->backend->index;
		s->replica_failures++;
		cache_command_abandoned(s);
		if (s->state == SESSION_QUERY) {
			evbuffer_prepend_buffer(s->client.in, s->retry);
			counter_inc(&counters(s)->queries_retried);
		}
		drop_effects(s);
		session_set_state(s, SESSION_IDLE);
		session_run_commands(s);
		return;
	}
	if (busy && s->packet_left == 0 && !s->reply.continuation && s->state == SESSION_QUERY) {
		/* An error packet is only well-formed between packets. */
		uint8_t seq = (uint8_t)(s->reply_started ? s->reply_seq : 1);
		counter_inc(&counters(s)->queries_errors);
		session_send_error(s, seq, 2013, "HY000",
		                   "Lost connection to backend '%s' (%s) during query: %s",
		                   srv->backend->name, srv->backend->address, why);
	}
	session_close(s, "lost a backend");
}

/* Moves one packet (or what has arrived of it) to out, or drops it when out is NULL (the reply
 * to the proxy's own command). False on a protocol error. */
static bool forward_packet(struct session *s, struct evbuffer *in, struct evbuffer *out)
{
	uint8_t head[PKT_HEADER_LEN + 1];
	size_t avail = evbuffer_get_length(in);
	if (avail < PKT_HEADER_LEN)
		return true;
	size_t peek = avail > PKT_HEADER_LEN ? sizeof(head) : PKT_HEADER_LEN;
	evbuffer_copyout(in, head, peek);
	struct pkt_header h = pkt_header_decode(head);
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
	if (!out)
		return evbuffer_drain(in, now) == 0;
	cache_capture(s, in, now);
	s->reply_seq = (uint8_t)(h.seq + 1);
	s->reply_started = true;
	return evbuffer_remove_buffer(in, out, now) == (int)now;
}

/* Moves every complete or partial reply packet the backend has sent so far. The input holds
 * at most a few reads, since reading stops while the client is behind. */
static bool move_reply(struct session *s, struct evbuffer *in, struct evbuffer *out)
{
	for (;;) {
		size_t avail = evbuffer_get_length(in);
		if (s->packet_left > 0) {
			size_t n = avail < s->packet_left ? avail : s->packet_left;
			if (n == 0)
				return true;
			if (out)
				cache_capture(s, in, n);
			int moved =
			    out ? evbuffer_remove_buffer(in, out, n) : evbuffer_drain(in, n);
			if (out ? moved != (int)n : moved != 0)
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
}

static void forward_reply(struct session *s)
{
	struct server *srv = s->target;
	bool own = s->state == SESSION_SYNC;
	if (!move_reply(s, srv->st.in, own ? NULL : s->client.out)) {
		lost_backend(s, srv, "unexpected packet from the backend");
		return;
	}
	/* A write's end waits for the marks its reply made known (CONSISTENCY.md mechanism 1). */
	if (!own && s->packet_left == 0 && reply_done(&s->reply) && srv == s->primary &&
	    pin_after_reply(s))
		return;
	if (!own && !stream_flush(&s->client)) {
		session_close(s, "cannot write to client");
		return;
	}
	/* Checked after the flush: only a client that really lags stops the backend, and the
	 * write event that will report the drain is then armed. */
	if (!own && stream_output_full(&s->client)) {
		stream_pause_reading(&srv->st);
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
	struct stream *srv = &s->target->st;
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
		lost_backend(s, s->target, stream_error_str(srv));
		return;
	}
	if (stream_output_full(srv)) {
		stream_pause_reading(&s->client);
		stream_notify_drained(srv);
	}
}

/* ---- events -------------------------------------------------------------------------------- */

static bool busy(const struct session *s)
{
	return s->state == SESSION_QUERY || s->state == SESSION_SYNC;
}

static void on_client_readable(struct session *s)
{
	switch (s->state) {
	case SESSION_HANDSHAKE:
	case SESSION_TLS_HANDSHAKE: login_read_handshake(s); return;
	case SESSION_AUTH_SWITCH: login_read_auth_switch(s); return;
	case SESSION_IDLE: session_run_commands(s); return;
	case SESSION_QUERY:
		if (reply_awaits_client(&s->reply)) {
			forward_upload(s);
			return;
		}
		/* a pipelined command waits for the reply to end */
		__attribute__((fallthrough));
	case SESSION_SYNC:
	case SESSION_PIN:
	case SESSION_RATE_WAIT:
	case SESSION_CACHE_WAIT:
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
		if (busy(s)) {
			stream_resume_reading(&s->target->st);
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
	struct server *srv = (struct server *)st; /* the stream is a server's first member */
	bool current = busy(s) && s->target == srv;
	switch (ev) {
	case STREAM_READABLE:
		if (current)
			forward_reply(s);
		else /* a backend speaking out of turn is about to hang up (e.g. idle timeout) */
			lost_backend(s, srv, "backend sent data between commands");
		return;
	case STREAM_DRAINED:
		if (current) {
			stream_resume_reading(&s->client);
			forward_upload(s);
		}
		return;
	case STREAM_EOF: lost_backend(s, srv, "closed by the backend"); return;
	case STREAM_ERROR: lost_backend(s, srv, stream_error_str(st)); return;
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
	    .caps = login_server_caps(),
	    .ext_caps = login_server_ext_caps(),
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
	s->excluded_replica = -1;
	s->primary_status = SERVER_STATUS_AUTOCOMMIT;
	s->retry = evbuffer_new();
	format_peer(peer, s->peer, sizeof(s->peer));
	link_session(w, s);
	counter_inc(&w->counters.connections_total);
	gauge_add(&w->counters.connections_current, 1);
	if (!s->retry) {
		session_close(s, "out of memory");
		return;
	}
	if (open > proxy_config(p)->proxy.max_connections) {
		counter_inc(&w->counters.connections_rejected);
		session_send_error(s, 0, 1040, "08004", "Too many connections");
		session_close(s, "max_connections reached");
		return;
	}
	if (!auth_make_scramble(s->scramble) || !send_greeting(s)) {
		session_close(s, "cannot send greeting");
		return;
	}
	log_debug("session %u: connected from %s (worker %d)", s->id, s->peer, w->id);
}

void session_close(struct session *s, const char *reason)
{
	if (s->state == SESSION_CLOSED)
		return;
	struct worker *w = s->worker;
	log_debug("session %u: closed in state %s: %s", s->id, session_state_str(s->state), reason);
	session_drop_backends(s);
	drop_effects(s);
	pin_session_free(s);
	cache_session_free(s);
	limits_session_closed(s);
	if (!stream_flush(&s->client)) /* a last error packet, if the socket takes it */
		log_debug("session %u: final flush failed: %s", s->id,
		          stream_error_str(&s->client));
	stream_close(&s->client);
	free(s->login);
	s->login = NULL;
	if (s->retry)
		evbuffer_free(s->retry);
	s->retry = NULL;
	unlink_session(w, s);
	gauge_add(&w->counters.connections_current, -1);
	atomic_fetch_sub(&w->proxy->connections, 1);
	s->state = SESSION_CLOSED;
	worker_bury_session(w, s);
	worker_session_gone(w);
}
