/*
 * monitor.c - the health monitor (see monitor.h).
 *
 * Each round, per backend: (re)connect if needed, then ask a replica for SHOW SLAVE STATUS.
 * A backend that cannot be reached is down; a replica whose threads are stopped, or whose lag
 * exceeds max_replica_lag_ms, is lagging; otherwise up. Timeouts are short so one stalled
 * backend delays a round by at most a second.
 */
#include "monitor.h"

#include "backend.h"
#include "clock.h"
#include "log.h"
#include "proxy.h"

#include <errno.h>
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MONITOR_TIMEOUT_S 1
#define MONITOR_RISE      3 /* good checks in a row before a backend rejoins the read pool */

struct monitor {
	struct proxy *proxy;
	MYSQL **conns;    /* per backend index, NULL while disconnected */
	int *good_rounds; /* per backend index: healthy checks in a row */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	bool first_round_done;
	uint64_t schema_loaded_ms; /* 0: never */
};

static void disconnect(struct monitor *m, struct backend *b)
{
	if (m->conns[b->index]) {
		mysql_close(m->conns[b->index]);
		m->conns[b->index] = NULL;
	}
}

static void learn_identity(struct monitor *m, MYSQL *c)
{
	if (mysql_query(c, "SELECT @@version, (SELECT ID FROM information_schema.COLLATIONS "
	                   "WHERE COLLATION_NAME = @@collation_server)"))
		return;
	MYSQL_RES *res = mysql_store_result(c);
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	if (row && row[0] && row[1]) {
		char version[64];
		/* MariaDB greets with a "5.5.5-" prefix that old clients rely on; @@version lacks
		 * it. */
		snprintf(version, sizeof(version), "%s%s",
		         strstr(row[0], "MariaDB") ? "5.5.5-" : "", row[0]);
		proxy_identity_learn(m->proxy, version, (uint8_t)atoi(row[1]));
	}
	mysql_free_result(res);
}

static MYSQL *connect_backend(struct monitor *m, struct backend *b)
{
	const struct cfg_monitor *cfg = &proxy_config(m->proxy)->monitor;
	MYSQL *c = mysql_init(NULL);
	unsigned timeout = MONITOR_TIMEOUT_S;
	if (!c)
		return NULL;
	mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	if (!mysql_real_connect(c, b->host, cfg->user, cfg->password, NULL, b->port, NULL, 0)) {
		if (atomic_load(&b->health) != HEALTH_DOWN)
			log_warn("monitor: backend %s (%s) unreachable: %s", b->name, b->address,
			         mysql_error(c));
		mysql_close(c);
		return NULL;
	}
	if (b->role == BACKEND_PRIMARY)
		learn_identity(m, c);
	return c;
}

static const char *field(MYSQL_RES *res, MYSQL_ROW row, const char *name)
{
	unsigned n = mysql_num_fields(res);
	MYSQL_FIELD *f = mysql_fetch_fields(res);
	for (unsigned i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return row[i];
	return NULL;
}

/* Reads @@read_only and the GTID position (binlog for the primary, applied for a replica). */
static bool check_variables(MYSQL *c, struct backend *b)
{
	const char *sql = b->role == BACKEND_PRIMARY
	                      ? "SELECT @@global.read_only, @@global.gtid_binlog_pos"
	                      : "SELECT @@global.read_only, @@global.gtid_slave_pos";
	if (mysql_query(c, sql))
		return false;
	MYSQL_RES *res = mysql_store_result(c);
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	if (row) {
		atomic_store(&b->read_only, row[0] ? atoi(row[0]) : -1);
		backend_set_gtid(b, row[1] ? row[1] : "");
	}
	mysql_free_result(res);
	return row != NULL;
}

/* Reads a replica's replication state; false if the query failed (connection trouble). */
static bool check_replication(struct monitor *m, MYSQL *c, int *health, int64_t *lag_ms)
{
	if (mysql_query(c, "SHOW SLAVE STATUS"))
		return false;
	MYSQL_RES *res = mysql_store_result(c);
	if (!res)
		return false;
	MYSQL_ROW row = mysql_fetch_row(res);
	const char *io = row ? field(res, row, "Slave_IO_Running") : NULL;
	const char *sql = row ? field(res, row, "Slave_SQL_Running") : NULL;
	const char *behind = row ? field(res, row, "Seconds_Behind_Master") : NULL;
	/* While the primary is down a replica's IO thread keeps reconnecting; what it has applied
	 * is all there is to read, and no write can be missing from it, so it keeps serving. */
	bool primary_down =
	    atomic_load(&backends_primary(&m->proxy->backends)->health) == HEALTH_DOWN;
	bool io_ok =
	    io && (strcmp(io, "Yes") == 0 || (primary_down && strcmp(io, "Connecting") == 0));
	bool running = io_ok && sql && strcmp(sql, "Yes") == 0;
	*lag_ms = running && behind ? (int64_t)atoll(behind) * 1000 : BACKEND_LAG_UNKNOWN;
	*health = running && *lag_ms <= proxy_config(m->proxy)->monitor.max_replica_lag_ms
	              ? HEALTH_UP
	              : HEALTH_LAGGING;
	mysql_free_result(res);
	return true;
}

/* A backend leaves the read pool at its first bad check but comes back only after
 * MONITOR_RISE good ones in a row, so a flapping replica does not bounce clients around. */
static void publish(struct monitor *m, struct backend *b, int health, int64_t lag_ms)
{
	int before = atomic_load(&b->health);
	int *good = &m->good_rounds[b->index];
	*good = health == HEALTH_UP ? *good + 1 : 0;
	if (health == HEALTH_UP && before != HEALTH_UP && before != HEALTH_UNKNOWN &&
	    *good < MONITOR_RISE)
		health = before;
	atomic_store(&b->lag_ms, lag_ms);
	atomic_store(&b->health, health);
	if (before != health)
		log_info("monitor: backend %s (%s) is %s%s", b->name, b->address,
		         backend_health_str(health),
		         health == HEALTH_LAGGING && lag_ms == BACKEND_LAG_UNKNOWN
		             ? " (replication stopped)"
		             : "");
}

/* Reloads the primary keys when a DDL or reload asked for it, and every SCHEMA_REFRESH_MS
 * (DDL that did not go through this proxy). */
static void refresh_schema(struct monitor *m, MYSQL *c)
{
	struct schema_store *st = &m->proxy->schema;
	uint64_t now = clock_ms();
	if (!atomic_exchange(&st->stale, false) && m->schema_loaded_ms &&
	    now - m->schema_loaded_ms < SCHEMA_REFRESH_MS)
		return;
	struct schema *s = schema_load(c);
	if (!s) {
		atomic_store(&st->stale, true);
		return;
	}
	if (!m->schema_loaded_ms)
		log_info("monitor: loaded the primary keys of %zu tables", schema_table_count(s));
	m->schema_loaded_ms = now;
	schema_publish(st, s);
}

static void check_backend(struct monitor *m, struct backend *b)
{
	if (atomic_load(&b->retired)) {
		disconnect(m, b);
		return;
	}
	MYSQL *c = m->conns[b->index];
	if (!c)
		c = m->conns[b->index] = connect_backend(m, b);
	if (!c) {
		publish(m, b, HEALTH_DOWN, BACKEND_LAG_UNKNOWN);
		return;
	}
	int health = HEALTH_UP;
	int64_t lag = 0;
	bool ok = check_variables(c, b) &&
	          (b->role == BACKEND_PRIMARY || check_replication(m, c, &health, &lag));
	if (ok && b->role == BACKEND_PRIMARY)
		refresh_schema(m, c);
	if (!ok) {
		log_warn("monitor: backend %s (%s) check failed: %s", b->name, b->address,
		         mysql_error(c));
		disconnect(m, b);
		publish(m, b, HEALTH_DOWN, BACKEND_LAG_UNKNOWN);
		return;
	}
	publish(m, b, health, lag);
}

/* Sleeps until the next round; false when asked to stop. */
static bool wait_round(struct monitor *m)
{
	int ms = proxy_config(m->proxy)->monitor.interval_ms;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&m->lock);
	m->first_round_done = true;
	pthread_cond_broadcast(&m->wake);
	while (!m->stopping && pthread_cond_timedwait(&m->wake, &m->lock, &until) != ETIMEDOUT)
		;
	bool go_on = !m->stopping;
	pthread_mutex_unlock(&m->lock);
	return go_on;
}

static void *monitor_main(void *arg)
{
	struct monitor *m = arg;
	mysql_thread_init();
	do {
		for (size_t i = 0; i < backends_count(&m->proxy->backends); i++)
			check_backend(m, &m->proxy->backends.items[i]);
	} while (wait_round(m));
	for (size_t i = 0; i < backends_count(&m->proxy->backends); i++)
		disconnect(m, &m->proxy->backends.items[i]);
	mysql_thread_end();
	return NULL;
}

struct monitor *monitor_start(struct proxy *p)
{
	struct monitor *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->proxy = p;
	m->conns = calloc(BACKENDS_MAX, sizeof(*m->conns));
	m->good_rounds = calloc(BACKENDS_MAX, sizeof(*m->good_rounds));
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	if (!m->conns || !m->good_rounds ||
	    pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
		free(m->conns);
		free(m->good_rounds);
		free(m);
		return NULL;
	}
	pthread_mutex_lock(&m->lock);
	while (!m->first_round_done)
		pthread_cond_wait(&m->wake, &m->lock);
	pthread_mutex_unlock(&m->lock);
	return m;
}

void monitor_stop(struct monitor *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wake);
	free(m->conns);
	free(m->good_rounds);
	free(m);
}
