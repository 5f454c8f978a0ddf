/*
 * reply.c - where a backend's reply ends (see reply.h).
 *
 * The grammar, per kind (ERR may replace any first packet and end the reply):
 *   RESULT  := OK [more] | LOCAL_INFILE upload (OK|ERR) [more]
 *            | column_count coldef* [EOF] row* (EOF|OK|ERR) [more]
 *   ROWS    := row* (EOF|OK|ERR)
 *   FIELDS  := coldef* (EOF|OK)
 *   PREPARE := STMT_OK paramdef* [EOF] coldef* [EOF]
 * "[EOF]" is absent with CLIENT_DEPRECATE_EOF; "[more]" is SERVER_MORE_RESULTS_EXISTS, after
 * which the grammar starts again. A cursor (SERVER_STATUS_CURSOR_EXISTS on the column EOF)
 * ends an execute's reply before any row.
 */
#include "reply.h"

#include "packet.h"

#include <string.h>

enum reply_kind reply_kind_of(uint8_t cmd)
{
	switch (cmd) {
	case COM_QUERY:
	case COM_STMT_EXECUTE:
	case COM_STMT_BULK_EXECUTE: return REPLY_RESULT;
	case COM_STMT_FETCH: return REPLY_ROWS;
	case COM_FIELD_LIST: return REPLY_FIELDS;
	case COM_STMT_PREPARE: return REPLY_PREPARE;
	case COM_STMT_CLOSE:
	case COM_STMT_SEND_LONG_DATA:
	case COM_QUIT: return REPLY_NONE;
	default: return REPLY_ONE;
	}
}

void reply_start(struct reply *r, uint8_t cmd, uint32_t caps)
{
	memset(r, 0, sizeof(*r));
	r->kind = reply_kind_of(cmd);
	r->deprecate_eof = (caps & CLIENT_DEPRECATE_EOF) != 0;
	r->session_track = (caps & CLIENT_SESSION_TRACK) != 0;
	r->execute = cmd == COM_STMT_EXECUTE;
	switch (r->kind) {
	case REPLY_NONE: r->state = REPLY_DONE; break;
	case REPLY_ROWS:
	case REPLY_FIELDS: r->state = REPLY_ROWS_OR_END; break;
	default: r->state = REPLY_FIRST; break;
	}
}

static bool is_terminator(uint32_t len, uint8_t first)
{
	return first == PKT_ERR || (first == PKT_EOF && len < PKT_MAX_CHUNK);
}

bool reply_wants_packet(const struct reply *r, uint32_t len, uint8_t first)
{
	if (r->continuation)
		return false;
	switch (r->state) {
	case REPLY_COLUMNS:
	case REPLY_PARAMS:
	case REPLY_PREP_COLUMNS: return false;
	case REPLY_ROWS_OR_END: return is_terminator(len, first);
	default: return true;
	}
}

static void record_error(struct reply *r, const uint8_t *payload, uint32_t len)
{
	struct pkt_err err;
	r->failed = true;
	r->error_code = pkt_parse_err(payload, len, &err) ? err.code : 0;
	r->state = REPLY_DONE;
}

/* An OK or EOF that may be followed by another result (multi-statements, CALL). */
static bool record_end(struct reply *r, const uint8_t *payload, uint32_t len, bool eof_format)
{
	struct pkt_ok ok;
	if (eof_format ? !pkt_parse_eof(payload, len, &ok) : !pkt_parse_ok(payload, len, &ok))
		return false;
	r->status = ok.status;
	r->status_known = true;
	r->warnings = ok.warnings;
	if (!eof_format) {
		r->affected_rows = ok.affected_rows;
		r->last_insert_id = ok.last_insert_id;
		/* Only an OK that says the session state changed carries tracked variables. */
		if (!r->session_track || !(ok.status & SERVER_SESSION_STATE_CHANGED) ||
		    !pkt_ok_tracked_variable(payload, len, "last_gtid", r->last_gtid,
		                             sizeof(r->last_gtid)))
			r->last_gtid[0] = '\0';
	}
	bool more = (ok.status & SERVER_MORE_RESULTS_EXISTS) && r->kind == REPLY_RESULT;
	r->state = more ? REPLY_FIRST : REPLY_DONE;
	return true;
}

static bool feed_prepare_ok(struct reply *r, const uint8_t *payload, uint32_t len)
{
	struct pkt_reader rd = pkt_reader_make(payload, len);
	uint8_t header, filler;
	uint16_t columns;
	if (!pkt_get_u8(&rd, &header) || !pkt_get_u32(&rd, &r->stmt_id) ||
	    !pkt_get_u16(&rd, &columns) || !pkt_get_u16(&rd, &r->stmt_params) ||
	    !pkt_get_u8(&rd, &filler) || !pkt_get_u16(&rd, &r->warnings))
		return false;
	r->prep_columns = columns;
	if (r->stmt_params) {
		r->left = r->stmt_params;
		r->state = REPLY_PARAMS;
	} else if (columns) {
		r->left = columns;
		r->state = REPLY_PREP_COLUMNS;
	} else {
		r->state = REPLY_DONE;
	}
	return true;
}

static bool feed_first(struct reply *r, const uint8_t *payload, uint32_t len)
{
	if (len == 0)
		return false;
	uint8_t first = payload[0];
	if (first == PKT_ERR) {
		record_error(r, payload, len);
		return true;
	}
	switch (r->kind) {
	case REPLY_ONE:
		/* OK, EOF (COM_SET_OPTION) or, for COM_STATISTICS, a plain string */
		if (first == PKT_OK)
			(void)record_end(r, payload, len, false);
		else if (first == PKT_EOF && len < 9)
			(void)record_end(r, payload, len, true);
		r->state = REPLY_DONE;
		return true;
	case REPLY_PREPARE: return first == PKT_OK && feed_prepare_ok(r, payload, len);
	case REPLY_RESULT: break;
	default: return false;
	}
	if (first == PKT_OK)
		return record_end(r, payload, len, false);
	if (first == PKT_LOCAL_INFILE) {
		r->state = REPLY_INFILE_DATA;
		r->client_continuation = false;
		return true;
	}
	struct pkt_reader rd = pkt_reader_make(payload, len);
	if (!pkt_get_lenenc(&rd, &r->left) || r->left == 0)
		return false;
	r->state = REPLY_COLUMNS;
	return true;
}

/* After a run of definitions: the EOF that closes it, or what follows directly. */
static enum reply_state after_definitions(const struct reply *r, enum reply_state eof_state,
                                          enum reply_state next)
{
	return r->deprecate_eof ? next : eof_state;
}

static bool feed_packet(struct reply *r, uint32_t len, const uint8_t *payload)
{
	switch (r->state) {
	case REPLY_FIRST:
	case REPLY_INFILE_RESULT: return feed_first(r, payload, len);
	case REPLY_COLUMNS:
		if (--r->left == 0)
			r->state = after_definitions(r, REPLY_COLUMNS_EOF, REPLY_ROWS_OR_END);
		return true;
	case REPLY_COLUMNS_EOF:
		if (len == 0 || payload[0] != PKT_EOF || !record_end(r, payload, len, true))
			return false;
		/* An execute that opened a cursor stops here; rows come with COM_STMT_FETCH. A
		 * query's rows always follow: a compound statement (BEGIN NOT ATOMIC) that holds a
		 * cursor of its own shows the flag too. */
		r->state = r->execute && (r->status & SERVER_STATUS_CURSOR_EXISTS)
		               ? REPLY_DONE
		               : REPLY_ROWS_OR_END;
		return true;
	case REPLY_ROWS_OR_END:
		if (!payload)
			return true; /* a row */
		if (payload[0] == PKT_ERR) {
			record_error(r, payload, len);
			return true;
		}
		return record_end(r, payload, len, !r->deprecate_eof);
	case REPLY_PARAMS:
		if (--r->left == 0) {
			enum reply_state next = r->prep_columns ? REPLY_PREP_COLUMNS : REPLY_DONE;
			r->state = after_definitions(r, REPLY_PARAMS_EOF, next);
			r->left = r->prep_columns;
		}
		return true;
	case REPLY_PARAMS_EOF:
		r->left = r->prep_columns;
		r->state = r->prep_columns ? REPLY_PREP_COLUMNS : REPLY_DONE;
		return len > 0 && payload[0] == PKT_EOF;
	case REPLY_PREP_COLUMNS:
		if (--r->left == 0)
			r->state = after_definitions(r, REPLY_PREP_COLUMNS_EOF, REPLY_DONE);
		return true;
	case REPLY_PREP_COLUMNS_EOF: r->state = REPLY_DONE; return len > 0 && payload[0] == PKT_EOF;
	case REPLY_INFILE_DATA:
	case REPLY_DONE: return false;
	}
	return false;
}

bool reply_feed(struct reply *r, uint32_t len, const uint8_t *payload)
{
	if (r->continuation) {
		r->continuation = len == PKT_MAX_CHUNK;
		return true;
	}
	if (!feed_packet(r, len, payload))
		return false;
	r->continuation = len == PKT_MAX_CHUNK;
	return true;
}

void reply_feed_client(struct reply *r, uint32_t len)
{
	if (r->state != REPLY_INFILE_DATA)
		return;
	if (!r->client_continuation && len == 0)
		r->state = REPLY_INFILE_RESULT;
	r->client_continuation = len == PKT_MAX_CHUNK;
}
