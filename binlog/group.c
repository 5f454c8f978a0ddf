/*
 * group.c - GTID groups from the event stream (see group.h).
 */
#include "group.h"

#include "log.h"
#include "query.h"

#include <stdlib.h>
#include <string.h>

void group_init(struct group *g)
{
	memset(g, 0, sizeof(*g));
	txn_init(&g->txn);
}

static void drop_maps(struct group *g)
{
	for (size_t i = 0; i < g->n_maps; i++) {
		mariadb_free_rpl_event(g->maps[i].event);
		decode_table_free(&g->maps[i].table);
	}
	g->n_maps = 0;
}

void group_free(struct group *g)
{
	drop_maps(g);
	free(g->maps);
	txn_free(&g->txn);
	memset(g, 0, sizeof(*g));
}

void group_reset(struct group *g)
{
	drop_maps(g);
	g->state = GROUP_IDLE;
	g->standalone = false;
}

static void begin_group(struct group *g, const MARIADB_RPL_EVENT *ev)
{
	struct gtid gtid = {ev->event.gtid.domain_id, ev->server_id, ev->event.gtid.sequence_nr};
	if (g->state == GROUP_OPEN) {
		/* the previous group never ended: keep its changes, and widen them to be safe */
		log_warn("binlog: GTID %u-%u-%llu inside an open group: invalidating everything",
		         gtid.domain, gtid.server, (unsigned long long)gtid.seq);
		txn_add_all(&g->txn, "unterminated group");
		g->txn.gtid = gtid;
	} else {
		drop_maps(g);
		txn_reset(&g->txn, &gtid, ev->timestamp);
	}
	g->state = GROUP_OPEN;
	g->standalone = (ev->event.gtid.flags & FL_STANDALONE) != 0;
}

/* Keeps a TABLE_MAP event, replacing an older one with the same id. */
static void keep_map(struct group *g, MARIADB_RPL_EVENT *ev)
{
	uint64_t id = ev->event.table_map.table_id;
	struct group_map *m = NULL;
	for (size_t i = 0; i < g->n_maps && !m; i++)
		if (g->maps[i].table_id == id)
			m = &g->maps[i];
	if (m) {
		mariadb_free_rpl_event(m->event);
		decode_table_free(&m->table);
	} else {
		if (g->n_maps == g->cap_maps) {
			size_t cap = g->cap_maps ? g->cap_maps * 2 : 8;
			struct group_map *grown = realloc(g->maps, cap * sizeof(*grown));
			if (!grown) {
				mariadb_free_rpl_event(ev);
				txn_add_all(&g->txn, "out of memory");
				return;
			}
			g->maps = grown;
			g->cap_maps = cap;
		}
		m = &g->maps[g->n_maps++];
	}
	m->table_id = id;
	m->event = ev;
	/* without binlog_row_metadata=FULL the map names no key: its rows go table-wide */
	m->table_ok = decode_table_map(ev, &m->table);
}

static const struct group_map *find_map(const struct group *g, uint64_t table_id)
{
	for (size_t i = 0; i < g->n_maps; i++)
		if (g->maps[i].table_id == table_id)
			return &g->maps[i];
	return NULL;
}

static void decode_rows(struct group *g, MARIADB_RPL_EVENT *ev)
{
	const struct group_map *m = find_map(g, ev->event.rows.table_id);
	if (!m || !m->table_ok) {
		txn_add_all(&g->txn, m ? "unreadable table map" : "rows without table map");
		return;
	}
	const struct bl_table_name *name = &m->table.name;
	struct decode_rows rows;
	if (!decode_rows_event(&rows, &m->table, ev)) {
		g->counters.rows_undecoded++;
		txn_add_table(&g->txn, name, false);
		return;
	}
	struct mark_key key;
	for (;;) {
		switch (decode_rows_next(&rows, &key)) {
		case DECODE_IMAGE_KEY:
			g->counters.rows++;
			txn_add_row(&g->txn, name, &key);
			break;
		case DECODE_IMAGE_NO_KEY:
			g->counters.rows++;
			txn_add_table(&g->txn, name, false);
			break;
		case DECODE_IMAGE_MALFORMED:
			log_warn("binlog: %s.%s: a row image does not match the table map: "
			         "table-wide",
			         name->db, name->table);
			g->counters.rows_undecoded++;
			txn_add_table(&g->txn, name, false);
			return;
		case DECODE_IMAGE_END: return;
		}
	}
}

/* A QUERY event; returns true if it ends the group. */
static bool on_query(struct group *g, const MARIADB_RPL_EVENT *ev)
{
	const struct st_mariadb_rpl_query_event *q = &ev->event.query;
	struct query_info info;
	query_classify(q->database.str, q->database.length, q->statement.str, q->statement.length,
	               &info);
	switch (info.kind) {
	case QUERY_BEGIN: return false;
	case QUERY_COMMIT:
	case QUERY_ROLLBACK: return true;
	case QUERY_NO_DATA: break;
	case QUERY_TABLES:
		for (unsigned i = 0; i < info.n_tables; i++)
			txn_add_table(&g->txn, &info.tables[i], true);
		break;
	case QUERY_UNKNOWN:
		log_info("binlog: statement %.*s: invalidating everything",
		         (int)(q->statement.length > 80 ? 80 : q->statement.length),
		         q->statement.str ? q->statement.str : "");
		txn_add_all(&g->txn, "statement");
		break;
	}
	return g->standalone;
}

/* What an event does to an open group; true when the group ends. */
static bool feed_open(struct group *g, MARIADB_RPL_EVENT *ev)
{
	switch (ev->event_type) {
	case XID_EVENT:
	case XA_PREPARE_LOG_EVENT: g->txn.commit_ts = ev->timestamp; return true;
	case QUERY_EVENT:
	case QUERY_COMPRESSED_EVENT: g->txn.commit_ts = ev->timestamp; return on_query(g, ev);
	default: break;
	}
	if (decode_is_rows_event(ev))
		decode_rows(g, ev);
	return false;
}

bool group_feed(struct group *g, MARIADB_RPL_EVENT *ev)
{
	g->counters.events++;
	bool ended = false;
	if (ev->event_type == GTID_EVENT) {
		begin_group(g, ev);
	} else if (ev->event_type == TABLE_MAP_EVENT && g->state == GROUP_OPEN) {
		keep_map(g, ev);
		return false; /* kept, not freed */
	} else if (g->state == GROUP_OPEN) {
		ended = feed_open(g, ev);
	}
	/* outside a group: ROTATE, FORMAT_DESCRIPTION, GTID_LIST, BINLOG_CHECKPOINT, heartbeats */
	mariadb_free_rpl_event(ev);
	if (ended) {
		g->state = GROUP_DONE;
		g->counters.groups++;
	}
	return ended;
}
