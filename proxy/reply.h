/*
 * reply.h - tracks a backend's reply to one command, packet by packet, to find where it ends.
 *
 * The proxy streams replies without parsing rows; it only needs to know when a reply is over
 * (to accept the next command and to return the backend to its pool) and a few facts from the
 * packets that end it: status flags, error code, affected rows, last insert id, a prepared
 * statement's id. reply_wants_packet() says which packets the tracker must see whole (the
 * small ones that may end a reply); everything else is fed by length only. Pure: no I/O.
 */
#pragma once

#include "packet.h"

#include <stdbool.h>
#include <stdint.h>

enum reply_kind {
	REPLY_NONE,    /* COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA: the server says nothing */
	REPLY_ONE,     /* one packet, whatever it holds: COM_PING, COM_INIT_DB, COM_STATISTICS... */
	REPLY_RESULT,  /* COM_QUERY, COM_STMT_(BULK_)EXECUTE: OK, ERR, LOCAL INFILE, results */
	REPLY_ROWS,    /* COM_STMT_FETCH: rows and a terminator */
	REPLY_FIELDS,  /* COM_FIELD_LIST: column definitions and a terminator */
	REPLY_PREPARE, /* COM_STMT_PREPARE: statement OK, parameter and column definitions */
};

enum reply_state {
	REPLY_FIRST,
	REPLY_COLUMNS,
	REPLY_COLUMNS_EOF,
	REPLY_ROWS_OR_END,
	REPLY_PARAMS,
	REPLY_PARAMS_EOF,
	REPLY_PREP_COLUMNS,
	REPLY_PREP_COLUMNS_EOF,
	REPLY_INFILE_DATA, /* the client is uploading a file; the server waits */
	REPLY_INFILE_RESULT,
	REPLY_DONE,
};

struct reply {
	enum reply_kind kind;
	enum reply_state state;
	bool deprecate_eof;
	bool continuation;        /* the next server packet continues a 16 MiB chunk */
	bool client_continuation; /* the same for the client's upload */
	uint64_t left;            /* column or parameter definitions still to come */
	uint16_t prep_columns;
	/* what the reply said */
	bool failed;
	uint16_t error_code;
	bool status_known; /* an OK or EOF carried status flags */
	uint16_t status;
	uint16_t warnings;
	uint64_t affected_rows;
	uint64_t last_insert_id;
	uint32_t stmt_id;
	uint16_t stmt_params;
	bool session_track;
	bool execute;       /* COM_STMT_EXECUTE: a cursor may hold the rows back */
	char last_gtid[64]; /* a tracked last_gtid an OK reported (session tracking), or "" */
};

/* Starts tracking the reply to command cmd on a connection with capability flags caps. */
void reply_start(struct reply *r, uint8_t cmd, uint32_t caps);
enum reply_kind reply_kind_of(uint8_t cmd);

/* An answer any session asking the same could be given as it is: no error, no warning to ask
 * about, no further result, no session state it changed. */
static inline bool reply_storable(const struct reply *r)
{
	return !r->failed && r->status_known && r->warnings == 0 &&
	       !(r->status & (SERVER_MORE_RESULTS_EXISTS | SERVER_SESSION_STATE_CHANGED));
}

static inline bool reply_done(const struct reply *r)
{
	return r->state == REPLY_DONE;
}

static inline bool reply_awaits_client(const struct reply *r)
{
	return r->state == REPLY_INFILE_DATA;
}

/* Must the next server packet (length len, first payload byte first) be fed whole? */
bool reply_wants_packet(const struct reply *r, uint32_t len, uint8_t first);

/* Feeds one server packet: its payload when reply_wants_packet() said so, else NULL.
 * Returns false when the packet cannot belong to the reply (a protocol violation). */
bool reply_feed(struct reply *r, uint32_t len, const uint8_t *payload)
    __attribute__((warn_unused_result));

/* Feeds the length of one packet of a LOCAL INFILE upload (client to server). */
void reply_feed_client(struct reply *r, uint32_t len);
