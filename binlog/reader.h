/*
 * reader.h - the replication connection to the primary: connect, check, stream events by GTID.
 *
 * Connects as [binlog] user, checks that the primary writes the binlog the tailer can read
 * (binlog_format=ROW, binlog_row_image=FULL), and opens a binlog dump from a GTID position the
 * way a MariaDB replica does (@slave_connect_state, @mariadb_slave_capability=4, the primary's
 * checksum), asking for heartbeats so that an idle stream still returns to the caller every
 * heartbeat_ms. Blocking calls, bounded by timeouts; the caller owns the events it fetches.
 */
#pragma once

#include "config.h"

#include <mysql.h>
/* mysql.h first */
#include <mariadb_rpl.h>
#include <stdbool.h>

#define READER_ERR_MAX 512

enum reader_status {
	READER_OK,
	READER_DOWN,   /* cannot connect or lost the connection: retry with back-off */
	READER_UNFIT,  /* the primary's binlog settings make row decoding impossible */
	READER_PURGED, /* the position is not in the primary's binlogs any more (1236) */
};

struct reader {
	const struct cfg_backend *primary;
	const struct cfg_binlog *cfg;
	int heartbeat_ms;
	MYSQL *mysql;
	MARIADB_RPL *rpl;
	char err[READER_ERR_MAX];
};

void reader_init(struct reader *r, const struct cfg_backend *primary, const struct cfg_binlog *cfg,
                 int heartbeat_ms);
/* Connects and checks the primary's settings (READER_OK, READER_DOWN or READER_UNFIT). */
enum reader_status reader_connect(struct reader *r) __attribute__((warn_unused_result));
/* The primary's @@gtid_binlog_pos (connected, before reader_open); false if it failed. */
bool reader_primary_position(struct reader *r, char *out, size_t cap)
    __attribute__((warn_unused_result));
/* Starts the dump after position (MariaDB's spelling; "" = from the oldest binlog). */
enum reader_status reader_open(struct reader *r, const char *position)
    __attribute__((warn_unused_result));
/* The next event (owned by the caller: mariadb_free_rpl_event), or NULL with *status saying
 * why (READER_DOWN or READER_PURGED). */
MARIADB_RPL_EVENT *reader_next(struct reader *r, enum reader_status *status);
void reader_close(struct reader *r);
