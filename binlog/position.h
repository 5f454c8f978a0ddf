/*
 * position.h - a GTID position: the last GTID applied in each replication domain.
 *
 * This is what the tailer checkpoints and what it asks the primary to resume from
 * (@slave_connect_state), in MariaDB's own spelling: "0-1-100,1-2-7". Pure.
 */
#pragma once

#include "marks.h"

#include <stdbool.h>
#include <stddef.h>

#define POSITION_DOMAINS_MAX 64
#define POSITION_TEXT_MAX    (POSITION_DOMAINS_MAX * 64)

struct position {
	unsigned n;
	struct gtid gtids[POSITION_DOMAINS_MAX];
};

/* Parses MariaDB's spelling ("" is the empty position); false if malformed. */
bool position_parse(struct position *p, const char *text);
/* Records gtid as the last one of its domain; false if there are too many domains. */
bool position_advance(struct position *p, const struct gtid *gtid);
/* Writes the position into out (POSITION_TEXT_MAX bytes). */
void position_format(const struct position *p, char *out, size_t cap);
