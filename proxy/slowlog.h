/*
 * slowlog.h - the slow-query log: one warn line per statement slower than [proxy] slow_query_ms.
 *
 * Owns the line's format. With slow_query_ms = 0 (the default) it copies nothing: the session
 * keeps the first SLOWLOG_TEXT_MAX bytes of a statement only while the log is on. It never
 * parses the statement beyond flattening it to one line.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct session;
struct pkt_frame;

#define SLOWLOG_TEXT_MAX 200

/* forward_command(): the command f, still at the front of the client's input, is leaving. */
void slowlog_command_sent(struct session *s, const struct pkt_frame *f);
/* reply_finished(): the client's statement (not the proxy's own command) has been answered. */
void slowlog_reply_finished(struct session *s);

/* The line, pure: writes at most len bytes (NUL included) into out; returns out. text holds
 * text_len bytes, newlines and other control characters become spaces. */
char *slowlog_format(char *out, size_t len, uint32_t session, uint64_t elapsed_ms,
                     const char *route, const char *backend, const char *text, size_t text_len);
