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

/* MYSQL_TYPE_* as the binary protocol sends them. */
enum {
	TYPE_TINY = 1,
	TYPE_SHORT = 2,
	TYPE_LONG = 3,
	TYPE_FLOAT = 4,
	TYPE_DOUBLE = 5,
	TYPE_NULL = 6,
	TYPE_TIMESTAMP = 7,
	TYPE_LONGLONG = 8,
	TYPE_INT24 = 9,
	TYPE_DATE = 10,
	TYPE_TIME = 11,
	TYPE_DATETIME = 12,
	TYPE_YEAR = 13,
	TYPE_UNSIGNED_FLAG = 0x80, /* in a type's second byte */
};

/* Bytes of a fixed-size value, 0 for a length-prefixed one (strings, decimals, blobs...). */
static size_t fixed_size(uint8_t type)
{
	switch (type) {
	case TYPE_NULL: return 0;
	case TYPE_TINY: return 1;
	case TYPE_SHORT:
	case TYPE_YEAR: return 2;
	case TYPE_LONG:
	case TYPE_INT24:
	case TYPE_FLOAT: return 4;
	case TYPE_LONGLONG:
	case TYPE_DOUBLE: return 8;
	default: return 0;
	}
}

static bool is_temporal(uint8_t type)
{
	return type == TYPE_TIMESTAMP || type == TYPE_DATE || type == TYPE_TIME ||
	       type == TYPE_DATETIME;
}

/* Reads one value of type at r into out (or skips it when out is NULL). */
static bool read_value(struct pkt_reader *r, uint8_t type, bool is_unsigned, struct stmt_value *out)
{
	const uint8_t *p;
	size_t n = fixed_size(type);
	if (type == TYPE_NULL) {
		if (out)
			out->kind = STMT_VALUE_NULL;
		return true;
	}
	if (is_temporal(type)) {
		uint8_t len;
		if (out)
			out->kind = STMT_VALUE_OTHER;
		return pkt_get_u8(r, &len) && pkt_skip(r, len);
	}
	if (n == 0) {
		size_t len;
		if (!pkt_get_lenenc_str(r, &p, &len))
			return false;
		if (out)
			*out =
			    (struct stmt_value){.kind = STMT_VALUE_BYTES, .bytes = p, .len = len};
		return true;
	}
	if (!pkt_get_bytes(r, n, &p))
		return false;
	if (!out)
		return true;
	if (type == TYPE_FLOAT || type == TYPE_DOUBLE) {
		out->kind = STMT_VALUE_OTHER;
		return true;
	}
	uint64_t u = 0;
	for (size_t k = 0; k < n; k++)
		u |= (uint64_t)p[k] << (8 * k);
	if (is_unsigned) {
		*out = (struct stmt_value){.kind = STMT_VALUE_UINT, .u = u};
	} else {
		unsigned shift = (unsigned)(64 - 8 * n); /* sign-extend */
		*out = (struct stmt_value){.kind = STMT_VALUE_INT,
		                           .i = (int64_t)(u << shift) >> shift};
	}
	return true;
}

bool stmt_param_value(const uint8_t *payload, size_t len, const struct stmt *st,
                      const struct stmt_execute *x, unsigned i, struct stmt_value *out)
{
	if (i >= st->n_params || x->bound_offset == 0)
		return false;
	const uint8_t *types = x->has_types ? payload + x->types_offset : st->types;
	size_t values =
	    x->has_types ? x->types_offset + 2 * (size_t)st->n_params : x->bound_offset + 1;
	if (!types || values > len)
		return false;
	const uint8_t *nulls = payload + x->bound_offset - ((size_t)st->n_params + 7) / 8;
	struct pkt_reader r = pkt_reader_make(payload + values, len - values);
	for (unsigned k = 0; k <= i; k++) {
		bool null = nulls[k / 8] & (1u << (k % 8));
		bool is_unsigned = types[2 * k + 1] & TYPE_UNSIGNED_FLAG;
		uint8_t type = null ? TYPE_NULL : types[2 * k];
		if (!read_value(&r, type, is_unsigned, k == i ? out : NULL))
			return false;
	}
	return true;
}
