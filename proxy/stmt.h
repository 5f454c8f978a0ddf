/*
 * stmt.h - a session's prepared statements, as the client sees them and as each backend does.
 *
 * Every statement is prepared on the primary, whose id the client keeps for the statement's
 * whole life. A statement that may run on a replica is prepared there lazily, on its first
 * execution there, under another id; the execute packet's id is rewritten on the way. The map
 * also keeps what an execution needs to move between backends: the text (to prepare again),
 * the parameter types (a client sends them only with the first execution after binding), and
 * whether long data was sent (that execution must stay where the data went: the primary).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stmt {
	struct stmt *next;
	uint32_t id;         /* the client's, which is the primary's */
	uint32_t replica_id; /* 0 while not prepared on the held replica connection */
	uint16_t n_params;
	uint8_t reason; /* enum route_reason of its text when prepared, transactions aside */
	bool long_data; /* COM_STMT_SEND_LONG_DATA since the last execution */
	bool types_on_primary;
	bool types_on_replica;
	uint8_t *types; /* 2 * n_params bytes, once an execution has carried them */
	size_t sql_len;
	char sql[]; /* not NUL-terminated */
};

struct stmt_map {
	struct stmt *head;
	size_t count;
};

struct stmt *stmt_add(struct stmt_map *m, uint32_t id, uint16_t n_params, uint8_t reason,
                      const char *sql, size_t sql_len);
struct stmt *stmt_find(struct stmt_map *m, uint32_t id);
void stmt_remove(struct stmt_map *m, uint32_t id);
/* The held replica connection went away: no statement is prepared there any more. */
void stmt_forget_replica(struct stmt_map *m);
void stmt_clear(struct stmt_map *m);

/* What a COM_STMT_EXECUTE payload says about parameters (payload starts at the command). */
struct stmt_execute {
	uint32_t id;
	uint8_t flags;       /* cursor type */
	bool has_types;      /* new_params_bound */
	size_t types_offset; /* of the types in the payload, when has_types */
	size_t bound_offset; /* of the new_params_bound byte */
};
bool stmt_parse_execute(const uint8_t *payload, size_t len, uint16_t n_params,
                        struct stmt_execute *out) __attribute__((warn_unused_result));
/* One bound parameter of an execution, as far as keys need it. */
enum stmt_value_kind {
	STMT_VALUE_NULL,
	STMT_VALUE_INT,
	STMT_VALUE_UINT,
	STMT_VALUE_BYTES,
	STMT_VALUE_OTHER
};
struct stmt_value {
	enum stmt_value_kind kind;
	int64_t i;
	uint64_t u;
	const uint8_t *bytes; /* into the payload */
	size_t len;
};
/* The value bound to parameter i of the execution payload[0..len) that stmt_parse_execute read
 * as x; false if the payload is malformed, its types unknown or i out of range. */
bool stmt_param_value(const uint8_t *payload, size_t len, const struct stmt *st,
                      const struct stmt_execute *x, unsigned i, struct stmt_value *out)
    __attribute__((warn_unused_result));
/* Remembers the types an execution carried. False when out of memory. */
bool stmt_keep_types(struct stmt *st, const uint8_t *types) __attribute__((warn_unused_result));
