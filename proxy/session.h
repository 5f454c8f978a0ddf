/*
 * session.h - one client connection: login, routing, commands, and the reply stream back.
 *
 * Owns the server side of the MySQL protocol towards one client and the up to two backend
 * connections it holds (the primary and one replica). login.c handles the connection phase;
 * session.c dispatches commands, asks plan.c (router.c, balance.c) where each runs, keeps the
 * session's state in step on both backends (history.c, stmt.c), forwards the command and
 * streams the reply back packet by packet with back-pressure. None of them touches a socket:
 * both ends are streams.
 */
#pragma once

#include "cache.h"
#include "handshake.h"
#include "history.h"
#include "pin.h"
#include "reply.h"
#include "router.h"
#include "slowlog.h"
#include "stmt.h"
#include "stream.h"

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct server_key;
struct server;
struct cfg_user;
struct evbuffer;
struct pkt_frame;
struct limit_user;
struct event;
struct evbuffer_cb_entry;

enum session_state {
	SESSION_HANDSHAKE,       /* greeting sent; waiting for the client's login */
	SESSION_TLS_HANDSHAKE,   /* the client asked for TLS; its stream is negotiating it */
	SESSION_AUTH_SWITCH,     /* asked the client to answer with mysql_native_password */
	SESSION_LOGIN_BACKEND,   /* login accepted; opening a backend to check the database */
	SESSION_IDLE,            /* waiting for a command */
	SESSION_CONNECT_BACKEND, /* a command waits for its backend connection */
	SESSION_QUERY,           /* a command is at a backend; its reply streams back */
	SESSION_SYNC, /* the proxy's own command (replay, prepare) runs before the client's */
	SESSION_PIN,  /* waiting for Redis: pin marks before a command, or before its reply ends */
	SESSION_RATE_WAIT,  /* a statement waits for its user's max_qps token (user_limits.c) */
	SESSION_CACHE_WAIT, /* a read waits for another session to fill its cache entry */
	SESSION_CLOSED,
};

/* What a successful command changes in the session, kept only while such a command runs. */
struct session_effects {
	uint8_t *packet; /* the command, to record in the history or to prepare elsewhere */
	size_t packet_len;
	uint32_t cls_flags;
	int cls_kind;
	int prepared_reason;      /* COM_STMT_PREPARE: enum route_reason of its text */
	char db[HS_DB_MAX];       /* USE's or COM_INIT_DB's database */
	char table_db[HS_DB_MAX]; /* a temporary table created or dropped */
	char table[HS_DB_MAX];
};

struct temp_table {
	char db[HS_DB_MAX];
	char name[HS_DB_MAX];
};

struct session {
	struct stream client;
	struct worker *worker;
	uint32_t id;
	enum session_state state;
	char peer[48];
	uint8_t scramble[AUTH_SCRAMBLE_LEN];
	const struct cfg_user *user;
	uint32_t caps;
	uint32_t ext_caps;
	uint8_t charset;
	char db[HS_DB_MAX];
	struct hs_login *login; /* a login in progress (handshake or COM_CHANGE_USER) */
	bool changing_user;
	uint8_t reply_seq; /* sequence id of the proxy's next packet to the client */
	/* backends */
	struct server *primary;
	struct server *replica;
	struct server *target; /* where the running command went */
	int excluded_replica;  /* a replica that failed the waiting command, or -1 */
	int replica_failures;  /* replicas that failed the waiting command */
	/* the running command */
	struct reply reply;
	uint8_t command;
	enum route_reason route;
	bool fallback;          /* meant for a replica, sent to the primary: none was usable */
	bool last_on_replica;   /* the last statement ran on the replica the session still holds */
	uint64_t sent_us;       /* clock_us() when the running statement left for its backend */
	size_t packet_left;     /* bytes of a forwarded packet still to come from the backend */
	bool reply_started;     /* some of the reply reached the client */
	struct evbuffer *retry; /* a copy of a read sent to a replica, to send elsewhere */
	struct session_effects *effects;
	uint32_t sync_stmt; /* the statement a SESSION_SYNC prepare is for */
	/* session state the router needs */
	uint16_t primary_status; /* SERVER_STATUS_* of the primary's last OK/EOF */
	bool read_only_transaction;
	bool locked_tables;
	bool user_vars_assigned;
	struct history history;
	struct stmt_map stmts;
	struct temp_table *temps;
	size_t n_temps;
	struct pin_session pin;
	struct cache_session cache;
	/* per-user limits (user_limits.c) and the slow-query log (slowlog.c) */
	struct limit_user *limit;          /* the user's entry while the session holds a slot */
	struct event *rate_timer;          /* SESSION_RATE_WAIT: when the reserved token is due */
	struct evbuffer_cb_entry *rate_cb; /* forgets rate_admitted once the statement leaves */
	bool rate_admitted;                /* the statement at the front of the input has paid */
	uint16_t slow_len;                 /* bytes in slow_text; 0: nothing to log */
	char slow_text[SLOWLOG_TEXT_MAX];  /* the running statement's start, when the log is on */
	struct session *next;
	struct session *prev;
};

/* Takes an accepted client socket; sends the greeting or, when full, error 1040. */
void session_accept(struct worker *w, int fd, const struct sockaddr *peer);
/* Closes the session; its memory is freed once the current callback returns. */
void session_close(struct session *s, const char *reason);
const char *session_state_str(enum session_state state);

/* ---- shared by session.c and login.c --------------------------------------------------------- */

void session_set_state(struct session *s, enum session_state next);
void session_send_error(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Sends OK (seq) to a completed login and starts serving commands. */
void session_login_done(struct session *s);
/* What a backend connection for s must be logged in as (user, charset, capabilities). */
struct server_key session_server_key(const struct session *s);
/* Drops both backends (back to the pool when between commands) and the state tied to them. */
void session_drop_backends(struct session *s);
/* Makes sure the session holds a ready backend to check its database on (the primary, or a
 * replica while the primary is down); false if it must wait (state LOGIN_BACKEND). */
bool session_open_backend_for_login(struct session *s);
void session_run_commands(struct session *s);

/* login.c */
void login_read_handshake(struct session *s);
void login_read_auth_switch(struct session *s);
void login_change_user(struct session *s, const struct pkt_frame *f);
uint32_t login_server_caps(void);
uint32_t login_server_ext_caps(void);
