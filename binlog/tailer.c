/*
 * tailer.c - the tailer's state machine (see tailer.h).
 *
 * Data path, one transaction:
 *
 *   primary --COM_BINLOG_DUMP--> reader_next --event--> group_feed --(group ended)--> txn
 *        txn --> publish_txn: marks (EVAL), [cache], XADD + checkpoint (fenced EVAL) --> Redis
 *
 * The checkpoint only moves after the entry is in Redis, and the stream is only read again
 * after that, so at most the one group being published is ever in flight.
 */
#include "tailer.h"

#include "log.h"

#include <string.h>
#include <time.h>

#define STANDBY_SLEEP_MAX_MS 50
#define REDIS_TIMEOUT_MS     1000

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Heartbeats every lease_ms / 4 (at most 500 ms): a blocked fetch returns in time to renew the
 * lease and to notice a signal. */
static int heartbeat_ms(const struct config *cfg)
{
	int ms = cfg->binlog.lease_ms / 4;
	return ms > 500 ? 500 : ms < 25 ? 25 : ms;
}

bool tailer_init(struct tailer *t, const struct config *cfg, struct blstats *stats)
{
	memset(t, 0, sizeof(*t));
	t->cfg = cfg;
	t->stats = stats;
	rlink_init(&t->redis, &cfg->binlog.redis, REDIS_TIMEOUT_MS);
	lease_init(&t->lease, cfg->pinning.prefix, cfg->binlog.lease_ms, &cfg->binlog.redis,
	           cfg->cache.enabled);
	publisher_init(&t->pub, &t->redis, cfg->pinning.prefix, cfg->pinning.window_ms,
	               cfg->binlog.stream_maxlen, cfg->cache.enabled);
	reader_init(&t->reader, &cfg->primary, &cfg->binlog, heartbeat_ms(cfg));
	backoff_reset(&t->primary_backoff);
	group_init(&t->group);
	return lease_start(&t->lease);
}

void tailer_free(struct tailer *t)
{
	lease_stop(&t->lease);
	reader_close(&t->reader);
	group_free(&t->group);
	publisher_free(&t->pub);
	rlink_close(&t->redis);
}

static void set_state(struct tailer *t, enum tailer_state s)
{
	if (t->state != s)
		log_debug("binlog: %s -> %s", tailer_state_str(t->state), tailer_state_str(s));
	t->state = s;
	atomic_store(&t->stats->leader, s != TAILER_STANDBY);
}

enum tailer_check tailer_check_primary(struct tailer *t)
{
	enum reader_status s = reader_connect(&t->reader);
	reader_close(&t->reader);
	if (s == READER_UNFIT) {
		log_error("binlog: %s", t->reader.err);
		return TAILER_PRIMARY_UNFIT;
	}
	if (s != READER_OK) {
		log_warn("binlog: primary %s:%u: %s", t->cfg->primary.address.host,
		         t->cfg->primary.address.port, t->reader.err);
		return TAILER_PRIMARY_DOWN;
	}
	return TAILER_PRIMARY_OK;
}

/* Leaves the stream (lease lost or fenced): the next leader resumes from the checkpoint. */
static void stand_down(struct tailer *t)
{
	reader_close(&t->reader);
	group_reset(&t->group);
	atomic_store(&t->stats->primary_up, false);
	set_state(t, TAILER_STANDBY);
}

static int primary_failed(struct tailer *t, const char *what)
{
	blstats_add(&t->stats->primary_failures, 1);
	atomic_store(&t->stats->primary_up, false);
	int wait = backoff_failed(&t->primary_backoff, now_mono_ms());
	log_warn("binlog: %s: %s; retrying in %d ms", what, t->reader.err, wait);
	reader_close(&t->reader);
	group_reset(&t->group);
	set_state(t, TAILER_CONNECTING);
	return 0;
}

/* The position after the last published group: what this tailer would resume from. */
static void set_position(struct tailer *t, const char *text)
{
	snprintf(t->pos_text, sizeof(t->pos_text), "%s", text);
	t->have_position = true;
	blstats_set_position(t->stats, text);
}

/* The checkpoint is gone from the primary's binlogs: nobody can say what changed since. */
static bool restart_after_purge(struct tailer *t)
{
	log_error("binlog: the checkpoint %s is not in the primary's binlogs any more (purged, or "
	          "another history): %s. Publishing INVALIDATE EVERYTHING and restarting from the "
	          "primary's current position",
	          t->pos_text, t->reader.err);
	char now[POSITION_TEXT_MAX];
	if (reader_connect(&t->reader) != READER_OK ||
	    !reader_primary_position(&t->reader, now, sizeof(now)) || !position_parse(&t->pos, now))
		return false;
	struct txn all;
	txn_init(&all);
	struct gtid g = t->pos.n ? t->pos.gtids[0] : (struct gtid){0, 0, 0};
	txn_reset(&all, &g, (uint32_t)(now_wall_ms() / 1000));
	txn_add_all(&all, "binlog purged");
	enum publish_result r = publish_txn(&t->pub, &all, &t->lease, now);
	txn_free(&all);
	if (r != PUBLISH_OK)
		return false;
	blstats_add(&t->stats->everything, 1);
	set_position(t, now);
	return true;
}

/* Where to start: the checkpoint; without one, this process's own last published position (Redis
 * lost its data: resuming there loses nothing), else (first use) the primary's position. */
static bool start_position(struct tailer *t)
{
	char text[POSITION_TEXT_MAX];
	int found = publish_read_checkpoint(&t->pub, text, sizeof(text));
	if (found < 0)
		return false;
	if (found == 0 && t->have_position) {
		log_warn("binlog: the checkpoint is gone from Redis (restarted without its data?): "
		         "resuming from this tailer's own position %s",
		         t->pos_text);
		snprintf(text, sizeof(text), "%s", t->pos_text);
		if (publish_checkpoint(&t->pub, &t->lease, text) != PUBLISH_OK)
			return false;
	} else if (found == 0) {
		if (!reader_primary_position(&t->reader, text, sizeof(text)))
			return false;
		log_info("binlog: no checkpoint: starting from the primary's position %s", text);
		if (publish_checkpoint(&t->pub, &t->lease, text) != PUBLISH_OK)
			return false;
	}
	if (!position_parse(&t->pos, text)) {
		log_error("binlog: checkpoint %s is not a GTID position", text);
		return false;
	}
	set_position(t, text);
	return true;
}

static int connect_stream(struct tailer *t)
{
	int64_t now = now_mono_ms();
	if (!backoff_due(&t->primary_backoff, now))
		return (int)(t->primary_backoff.next_ms - now);
	if (!rlink_ready(&t->redis, now))
		return STANDBY_SLEEP_MAX_MS;
	t->leadership = atomic_load(&t->lease.acquisitions);
	enum reader_status s = reader_connect(&t->reader);
	if (s == READER_UNFIT)
		log_error("binlog: %s", t->reader.err);
	if (s != READER_OK)
		return primary_failed(t, "connecting to the primary");
	if (!start_position(t)) {
		reader_close(&t->reader);
		return STANDBY_SLEEP_MAX_MS; /* Redis away: the lease decides what comes next */
	}
	if (reader_open(&t->reader, t->pos_text) != READER_OK)
		return primary_failed(t, "opening the binlog dump");
	log_info("binlog: streaming from %s", t->pos_text[0] ? t->pos_text : "the first binlog");
	blstats_add(&t->stats->primary_connects, 1);
	atomic_store(&t->stats->primary_up, true);
	backoff_reset(&t->primary_backoff);
	group_reset(&t->group);
	set_state(t, TAILER_STREAMING);
	return 0;
}

static void count_published(struct tailer *t, const struct txn *x)
{
	struct blstats *s = t->stats;
	if (txn_is_empty(x)) {
		blstats_add(&s->transactions_empty, 1);
		return;
	}
	blstats_add(&s->transactions, 1);
	if (t->cfg->cache.enabled)
		blstats_add(&s->cache_invalidations, 1);
	blstats_add(&s->keys, txn_live_keys(x));
	size_t whole = 0;
	for (size_t i = 0; i < x->n_tables; i++)
		whole += x->tables[i].whole;
	blstats_add(&s->tables, whole);
	blstats_add(&s->everything, x->all);
	blstats_observe_latency(s, now_us() - t->group_ended_us);
	int64_t lag = now_wall_ms() - (int64_t)x->commit_ts * 1000;
	atomic_store(&s->lag_ms, lag < 0 ? 0 : lag);
	atomic_store(&s->last_commit_ts, (int64_t)x->commit_ts);
}

static int publish_group(struct tailer *t)
{
	const struct txn *x = &t->group.txn;
	if (!rlink_ready(&t->redis, now_mono_ms()))
		return 20;
	enum publish_result r = txn_is_empty(x)
	                            ? publish_checkpoint(&t->pub, &t->lease, t->next_text)
	                            : publish_txn(&t->pub, x, &t->lease, t->next_text);
	if (r == PUBLISH_FENCED) {
		blstats_add(&t->stats->fenced, 1);
		log_warn("binlog: publish refused: this tailer no longer holds the lease");
		lease_lost(&t->lease);
		stand_down(t);
		return 0;
	}
	if (r == PUBLISH_FAILED) {
		blstats_add(&t->stats->publish_failures, 1);
		return 20; /* retry the same group; if Redis stays away, the lease lapses */
	}
	count_published(t, x);
	set_position(t, t->next_text);
	group_reset(&t->group);
	set_state(t, TAILER_STREAMING);
	return 0;
}

static int read_event(struct tailer *t)
{
	enum reader_status s;
	MARIADB_RPL_EVENT *ev = reader_next(&t->reader, &s);
	if (!ev) {
		if (s == READER_PURGED) {
			reader_close(&t->reader);
			if (!restart_after_purge(t))
				return primary_failed(t, "restarting after a purged checkpoint");
			set_state(t, TAILER_CONNECTING);
			return 0;
		}
		return primary_failed(t, "binlog stream");
	}
	blstats_add(&t->stats->events, 1);
	if (ev->event_type == HEARTBEAT_LOG_EVENT && t->group.state == GROUP_IDLE)
		atomic_store(&t->stats->lag_ms, 0); /* caught up: the primary had nothing to send */
	uint64_t rows_before = t->group.counters.rows;
	uint64_t undecoded_before = t->group.counters.rows_undecoded;
	bool ended = group_feed(&t->group, ev);
	blstats_add(&t->stats->rows, t->group.counters.rows - rows_before);
	blstats_add(&t->stats->rows_undecoded, t->group.counters.rows_undecoded - undecoded_before);
	if (!ended)
		return 0;
	t->group_ended_us = now_us();
	if (!position_advance(&t->pos, &t->group.txn.gtid))
		txn_add_all(&t->group.txn, "too many GTID domains");
	position_format(&t->pos, t->next_text, sizeof(t->next_text));
	set_state(t, TAILER_PUBLISHING);
	return publish_group(t);
}

/* Leading with the same lease as when the stream started (a lease lost and won again meanwhile
 * means another tailer may have published: start over from the checkpoint). */
static bool still_leading(struct tailer *t)
{
	if (!lease_held(&t->lease))
		return false;
	return t->state == TAILER_STANDBY || t->state == TAILER_CONNECTING ||
	       atomic_load(&t->lease.acquisitions) == t->leadership;
}

int tailer_step(struct tailer *t)
{
	atomic_store(&t->stats->redis_up, atomic_load(&t->lease.redis_up));
	atomic_store(&t->stats->fence, atomic_load(&t->lease.fence));
	atomic_store(&t->stats->leaderships, atomic_load(&t->lease.acquisitions));
	atomic_store(&t->stats->redis_connects, t->redis.reconnects);
	if (!still_leading(t)) {
		if (t->state != TAILER_STANDBY)
			stand_down(t);
		return STANDBY_SLEEP_MAX_MS / 5;
	}
	switch (t->state) {
	case TAILER_STANDBY: set_state(t, TAILER_CONNECTING); return 0;
	case TAILER_CONNECTING: {
		int wait = connect_stream(t);
		return wait > STANDBY_SLEEP_MAX_MS ? STANDBY_SLEEP_MAX_MS : wait;
	}
	case TAILER_STREAMING: return read_event(t);
	case TAILER_PUBLISHING: return publish_group(t);
	}
	log_error("binlog: impossible tailer state %d", (int)t->state);
	return 0;
}

void tailer_shutdown(struct tailer *t)
{
	reader_close(&t->reader);
	group_reset(&t->group);
	lease_stop(&t->lease);
	set_state(t, TAILER_STANDBY);
}

const char *tailer_state_str(enum tailer_state s)
{
	switch (s) {
	case TAILER_STANDBY: return "standby";
	case TAILER_CONNECTING: return "connecting";
	case TAILER_STREAMING: return "streaming";
	case TAILER_PUBLISHING: return "publishing";
	}
	return "?";
}
