/*
 * tailer.h - the tailer's life: standby or leader, the stream, publishing, and recovery.
 *
 *   STANDBY --lease won--> CONNECTING --dump open--> STREAMING <--> (a group ended: PUBLISHING)
 *      ^                       |  primary down: back off     |  lost connection: CONNECTING
 *      +---- lease lost / fenced / Redis away too long ------+
 *
 * Streaming starts from the checkpoint in Redis, or on first use from the primary's current
 * @@gtid_binlog_pos (checkpointed at once). A checkpoint the primary no longer has (1236) is said
 * loudly and answered with an invalidate-everything entry, then streaming restarts from the
 * primary's current position. Every fault is retried (back-off for the primary and Redis); the
 * only fatal one is a primary whose binlog cannot be decoded at start-up (tailer_check_primary).
 *
 * tailer_step does a bounded amount of work (at most one fetch, which returns at least every
 * heartbeat) and says how long the caller may sleep before the next step.
 */
#pragma once

#include "backoff.h"
#include "config.h"
#include "group.h"
#include "lease.h"
#include "position.h"
#include "publish.h"
#include "reader.h"
#include "rlink.h"
#include "stats.h"

#include <stdbool.h>
#include <stdint.h>

enum tailer_state { TAILER_STANDBY, TAILER_CONNECTING, TAILER_STREAMING, TAILER_PUBLISHING };

struct tailer {
	const struct config *cfg;
	enum tailer_state state;
	struct blstats *stats;
	struct rlink redis;
	struct lease lease;
	struct publisher pub;
	struct reader reader;
	struct backoff primary_backoff;
	struct group group;
	uint64_t leadership;               /* the lease's acquisitions when streaming started */
	struct position pos;               /* after the last group read */
	char next_text[POSITION_TEXT_MAX]; /* pos, spelt: the checkpoint once its group is out */
	char pos_text[POSITION_TEXT_MAX];  /* after the last group published */
	bool have_position;                /* pos_text is this process's own, usable to resume */
	int64_t group_ended_us;            /* when the group being published ended (latency) */
};

/* Also starts the lease thread; false if it cannot. */
bool tailer_init(struct tailer *t, const struct config *cfg, struct blstats *stats)
    __attribute__((warn_unused_result));
void tailer_free(struct tailer *t);

enum tailer_check { TAILER_PRIMARY_OK, TAILER_PRIMARY_DOWN, TAILER_PRIMARY_UNFIT };
/* Connects once to check the primary's binlog settings (message logged). */
enum tailer_check tailer_check_primary(struct tailer *t);

/* One step; returns the ms the caller may sleep before the next (0: call again at once). */
int tailer_step(struct tailer *t);
/* Clean stop: closes the stream, stops the lease thread and gives up the lease. */
void tailer_shutdown(struct tailer *t);
const char *tailer_state_str(enum tailer_state s);
