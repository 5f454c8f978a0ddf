/*
 * server.h - one connection from the proxy to a MariaDB backend.
 *
 * Owns the client side of the connection phase (connect, greeting, native-password login,
 * auth switch), the commands the proxy itself sends (COM_INIT_DB, COM_RESET_CONNECTION), and
 * the connection's deadline. Once ready it is handed to a session, which streams commands and
 * replies through server->st; the session never logs in or resets by itself, and this file never
 * looks at a client's traffic.
 */
#pragma once

#include "handshake.h"
#include "stream.h"

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct backend;
struct cfg_user;

enum server_state {
	SERVER_CONNECTING,
	SERVER_GREETING,  /* connected; waiting for the server's HandshakeV10 */
	SERVER_AUTH,      /* login sent; waiting for OK, ERR or an auth switch */
	SERVER_INIT_DB,   /* COM_INIT_DB sent for the next session's default database */
	SERVER_RESETTING, /* COM_RESET_CONNECTION sent on the way back to the pool */
	SERVER_TRACKING,  /* gtid pinning: asking the primary to report each commit's GTID */
	SERVER_READY,     /* logged in; owned by a session */
	SERVER_IDLE,      /* logged in; parked in the pool */
	SERVER_CLOSED,
};

/* What makes two backend connections interchangeable for a session. */
struct server_key {
	const struct cfg_user *user;
	uint8_t charset;
	uint32_t caps;
	uint32_t ext_caps;
};

struct server_error {
	uint16_t code;
	char sqlstate[6];
	char message[512];
};

struct server;
/* Called once when a requested step (login, init db, reset) ends; err is NULL on success. */
typedef void (*server_step_cb)(struct server *srv, const struct server_error *err, void *arg);

struct server {
	struct stream st;
	struct worker *worker;
	struct backend *backend;
	enum server_state state;
	struct server_key key;
	char db[HS_DB_MAX];
	bool db_known;          /* false once a statement may have run USE */
	size_t history_applied; /* entries of its session's history it has run */
	uint8_t scramble[AUTH_SCRAMBLE_LEN];
	uint32_t thread_id;
	bool breaker_refused; /* never tried: the backend's breaker was open */
	uint8_t next_seq;
	server_step_cb step_cb;
	void *step_arg;
	struct event deadline;
	uint64_t idle_since_ms;
	struct server *next; /* pool lists */
	struct server *prev;
	struct server *buried_next; /* the worker's graveyard */
};

/* Starts connecting and logging in; cb follows, always from the event loop. NULL: no memory. */
struct server *server_open(struct worker *w, struct backend *b, const struct server_key *key,
                           const char *db, server_step_cb cb, void *arg)
    __attribute__((warn_unused_result));
/* Sends COM_INIT_DB db; cb follows. */
void server_init_db(struct server *srv, const char *db, server_step_cb cb, void *arg);
/* Sends COM_RESET_CONNECTION; cb follows. */
void server_reset(struct server *srv, server_step_cb cb, void *arg);
/* Closes the connection; the memory is freed once the current callback returns. */
void server_close(struct server *srv, const char *reason);
const char *server_state_str(enum server_state state);
