/*
 * history.c - a session's state-changing commands (see history.h).
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>

bool history_add(struct history *h, const uint8_t *packet, size_t len)
{
	if (h->overflow)
		return false;
	if (h->count >= HISTORY_MAX_ENTRIES || h->bytes + len > HISTORY_MAX_BYTES) {
		h->overflow = true;
		return false;
	}
	struct history_entry *e = malloc(sizeof(*e) + len);
	if (!e) {
		h->overflow = true;
		return false;
	}
	e->next = NULL;
	e->len = len;
	memcpy(e->packet, packet, len);
	if (h->tail)
		h->tail->next = e;
	else
		h->head = e;
	h->tail = e;
	h->count++;
	h->bytes += len;
	return true;
}

const struct history_entry *history_at(const struct history *h, size_t i)
{
	const struct history_entry *e = h->head;
	while (e && i--)
		e = e->next;
	return e;
}

void history_clear(struct history *h)
{
	struct history_entry *e = h->head;
	while (e) {
		struct history_entry *next = e->next;
		free(e);
		e = next;
	}
	memset(h, 0, sizeof(*h));
}
