/*
 * history.h - a session's state-changing commands, kept to replay on its other backends.
 *
 * A session may hold a primary and a replica connection, and open either later. Statements
 * that change session state (SET, USE, COM_INIT_DB, COM_SET_OPTION) run on the primary, are
 * recorded here as the raw command packets, and are replayed, in order, on every other backend
 * connection before it serves the session (as MaxScale does). Each server connection remembers
 * how many entries it has applied. The history is bounded; past the bound it overflows and the
 * session stops using replicas, since a new connection could no longer be brought up to date.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_MAX_ENTRIES 256
#define HISTORY_MAX_BYTES   (256 * 1024)

struct history_entry {
	struct history_entry *next;
	size_t len; /* of the packet, header included */
	uint8_t packet[];
};

struct history {
	struct history_entry *head;
	struct history_entry *tail;
	size_t count;
	size_t bytes;
	bool overflow;
};

/* Records a whole command packet (header included); false once the history has overflowed. */
bool history_add(struct history *h, const uint8_t *packet, size_t len);
/* The entry at position i (0-based), or NULL. */
const struct history_entry *history_at(const struct history *h, size_t i);
void history_clear(struct history *h);
