/*
 * session.h - one client connection: login, commands, and the reply stream back.
 *
 * Owns the server side of the MySQL protocol towards one client: the greeting and login
 * (native password, auth switch, COM_CHANGE_USER), command dispatch, forwarding each command to
 * the backend connection the session holds, and streaming the reply back packet by packet with
 * back-pressure. It decides nothing about routing beyond "the primary" (read/write splitting
 * comes later) and never touches a socket directly: both ends are streams.
 */
#pragma once

#include "handshake.h"
#include "reply.h"
#include "stream.h"

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct server;
struct cfg_user;

enum session_state {
	SESSION_HANDSHAKE,       /* greeting sent; waiting for the client's login */
	SESSION_AUTH_SWITCH,     /* asked the client to answer with mysql_native_password */
	SESSION_LOGIN_BACKEND,   /* login accepted; opening a backend to check the database */
	SESSION_IDLE,            /* waiting for a command */
	SESSION_CONNECT_BACKEND, /* a command waits for its backend connection */
	SESSION_QUERY,           /* a command is at the backend; its reply streams back */
	SESSION_CLOSED,
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
	struct server *server;
	struct reply reply;
	uint8_t command;
	size_t packet_left; /* bytes of a forwarded packet still to come from the backend */
	bool reply_started; /* some of the reply reached the client */
	struct session *next;
	struct session *prev;
};

/* Takes an accepted client socket; sends the greeting or, when full, error 1040. */
void session_accept(struct worker *w, int fd, const struct sockaddr *peer);
/* Closes the session; its memory is freed once the current callback returns. */
void session_close(struct session *s, const char *reason);
const char *session_state_str(enum session_state state);
