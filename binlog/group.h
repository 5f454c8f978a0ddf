/*
 * group.h - turns the binlog's event sequence into committed transactions.
 *
 * MariaDB writes each transaction as a GTID group: GTID, then (for row changes) TABLE_MAP and
 * rows events, ended by XID or a COMMIT query; DDL is a standalone group (GTID + one QUERY).
 * The group feeds every event of the stream in order and says when a group has committed; its
 * txn then holds what to publish. Nothing is published before the group's end, so a rolled-back
 * transaction (which InnoDB never writes to the binlog) publishes nothing, and a connection lost
 * mid-group loses nothing: the tailer restarts from its checkpoint, before that group.
 *
 *   IDLE --GTID--> OPEN --XID / COMMIT / ROLLBACK / XA PREPARE--> DONE --group_reset--> IDLE
 *                   |--(standalone) the QUERY--------------------> DONE
 *
 * The group owns the events it is given: TABLE_MAP events are kept until the group ends (the
 * rows events after them are decoded against them), every other event is freed at once.
 */
#pragma once

#include "decode.h"
#include "txn.h"

#include <stdbool.h>
#include <stdint.h>

enum group_state { GROUP_IDLE, GROUP_OPEN, GROUP_DONE };

struct group_map {
	uint64_t table_id;
	MARIADB_RPL_EVENT *event;
	struct decode_table table;
	bool table_ok; /* decode_table_map succeeded */
};

struct group_counters {
	uint64_t events;
	uint64_t rows;           /* row images decoded */
	uint64_t rows_undecoded; /* rows events that did not match their table map (table-wide) */
	uint64_t groups;         /* groups ended */
};

struct group {
	enum group_state state;
	bool standalone; /* the GTID said: no COMMIT follows, the next QUERY ends the group */
	struct txn txn;
	struct group_map *maps;
	size_t n_maps, cap_maps;
	struct group_counters counters;
};

void group_init(struct group *g);
void group_free(struct group *g);

/* Feeds one event (owned by the group from now on). Returns true when a group has just ended:
 * g->txn is complete, to be published before group_reset. */
bool group_feed(struct group *g, MARIADB_RPL_EVENT *ev) __attribute__((warn_unused_result));

/* After a published group, or when the stream restarts: drops the open group and its maps. */
void group_reset(struct group *g);
