/*
 * slowlog.c - the slow-query log (see slowlog.h).
 *
 * The statement's time is the one the latency histograms use: from when it left for its
 * backend (session.sent_us) to the end of its reply. A prepared statement's execution is
 * logged with the text it was prepared from.
 */
#include "slowlog.h"

#include "backend.h"
#include "clock.h"
#include "log.h"
#include "packet.h"
#include "proxy.h"
#include "server.h"
#include "session.h"
#include "worker.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

static int slow_query_ms(struct session *s)
{
	return proxy_config(s->worker->proxy)->proxy.slow_query_ms;
}

static void keep_text(struct session *s, const void *text, size_t len, const char *prefix)
{
	int n = snprintf(s->slow_text, sizeof(s->slow_text), "%s", prefix);
	size_t room = SLOWLOG_TEXT_MAX - (size_t)n;
	if (len > room)
		len = room;
	memcpy(s->slow_text + n, text, len);
	s->slow_len = (uint16_t)((size_t)n + len);
}

void slowlog_command_sent(struct session *s, const struct pkt_frame *f)
{
	s->slow_len = 0;
	if (slow_query_ms(s) <= 0)
		return;
	uint8_t head[PKT_HEADER_LEN + 1 + SLOWLOG_TEXT_MAX];
	size_t want = f->wire_len < sizeof(head) ? f->wire_len : sizeof(head);
	ev_ssize_t got = evbuffer_copyout(s->client.in, head, want);
	if (got <= PKT_HEADER_LEN + 1)
		return;
	const uint8_t *body = head + PKT_HEADER_LEN + 1;
	size_t body_len = (size_t)got - PKT_HEADER_LEN - 1;
	if (f->first_byte == COM_QUERY) {
		keep_text(s, body, body_len, "");
	} else if ((f->first_byte == COM_STMT_EXECUTE || f->first_byte == COM_STMT_BULK_EXECUTE) &&
	           body_len >= 4) {
		uint32_t id = (uint32_t)body[0] | (uint32_t)body[1] << 8 | (uint32_t)body[2] << 16 |
		              (uint32_t)body[3] << 24;
		const struct stmt *st = stmt_find(&s->stmts, id);
		if (st)
			keep_text(s, st->sql, st->sql_len, "EXECUTE ");
	}
}

char *slowlog_format(char *out, size_t len, uint32_t session, uint64_t elapsed_ms,
                     const char *route, const char *backend, const char *text, size_t text_len)
{
	int n = snprintf(out, len, "slow query: session %u, %llu ms, route=%s, backend=%s, ",
	                 session, (unsigned long long)elapsed_ms, route, backend);
	if (n < 0 || (size_t)n >= len)
		return out;
	size_t at = (size_t)n;
	for (size_t i = 0; i < text_len && at + 1 < len; i++) {
		unsigned char c = (unsigned char)text[i];
		out[at++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[at] = '\0';
	return out;
}

void slowlog_reply_finished(struct session *s)
{
	int threshold = slow_query_ms(s);
	if (threshold <= 0 || !s->slow_len || !s->target)
		return;
	uint64_t elapsed_us = clock_us() - s->sent_us;
	if (elapsed_us <= (uint64_t)threshold * 1000) {
		s->slow_len = 0;
		return;
	}
	char line[SLOWLOG_TEXT_MAX + 256];
	log_warn("%s", slowlog_format(line, sizeof(line), s->id, elapsed_us / 1000,
	                              route_reason_str(s->route), s->target->backend->name,
	                              s->slow_text, s->slow_len));
	s->slow_len = 0;
}
