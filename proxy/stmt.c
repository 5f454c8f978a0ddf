/*
 * stmt.c - a session's prepared statements (see stmt.h).
 */
#include "stmt.h"

#include "packet.h"

#include <stdlib.h>
#include <string.h>

struct stmt *stmt_add(struct stmt_map *m, uint32_t id, uint16_t n_params, uint8_t reason,
                      const char *sql, size_t sql_len)
{
	stmt_remove(m, id); /* a server never reuses a live id; be safe if it does */
	struct stmt *st = calloc(1, sizeof(*st) + sql_len);
	if (!st)
		return NULL;
	st->id = id;
	st->n_params = n_params;
	st->reason = reason;
	st->sql_len = sql_len;
	memcpy(st->sql, sql, sql_len);
	st->next = m->head;
	m->head = st;
	m->count++;
	return st;
}

struct stmt *stmt_find(struct stmt_map *m, uint32_t id)
{
	for (struct stmt *st = m->head; st; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

static void stmt_free(struct stmt *st)
{
	free(st->types);
	free(st);
}

void stmt_remove(struct stmt_map *m, uint32_t id)
{
	for (struct stmt **at = &m->head; *at; at = &(*at)->next) {
		if ((*at)->id == id) {
			struct stmt *st = *at;
			*at = st->next;
			stmt_free(st);
			m->count--;
			return;
		}
	}
}

void stmt_forget_replica(struct stmt_map *m)
{
	for (struct stmt *st = m->head; st; st = st->next) {
		st->replica_id = 0;
		st->types_on_replica = false;
	}
}

void stmt_clear(struct stmt_map *m)
{
	while (m->head) {
		struct stmt *st = m->head;
		m->head = st->next;
		stmt_free(st);
	}
	m->count = 0;
}

bool stmt_parse_execute(const uint8_t *payload, size_t len, uint16_t n_params,
                        struct stmt_execute *out)
{
	struct pkt_reader r = pkt_reader_make(payload, len);
	uint8_t cmd, bound = 0;
	uint32_t iterations;
	memset(out, 0, sizeof(*out));
	if (!pkt_get_u8(&r, &cmd) || cmd != COM_STMT_EXECUTE || !pkt_get_u32(&r, &out->id) ||
	    !pkt_get_u8(&r, &out->flags) || !pkt_get_u32(&r, &iterations))
		return false;
	if (n_params == 0)
		return true;
	if (!pkt_skip(&r, ((size_t)n_params + 7) / 8))
		return false;
	out->bound_offset = (size_t)(r.p - payload);
	if (!pkt_get_u8(&r, &bound))
		return false;
	out->has_types = bound == 1;
	out->types_offset = (size_t)(r.p - payload);
	return !out->has_types || pkt_remaining(&r) >= 2 * (size_t)n_params;
}

bool stmt_keep_types(struct stmt *st, const uint8_t *types)
{
	size_t n = 2 * (size_t)st->n_params;
	if (!st->types) {
		st->types = malloc(n ? n : 1);
		if (!st->types)
			return false;
	}
	memcpy(st->types, types, n);
	return true;
}
