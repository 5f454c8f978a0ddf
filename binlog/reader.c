/*
 * reader.c - the replication connection (see reader.h).
 */
#include "reader.h"

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The primary answers a dump request it cannot serve with this error (binlog purged, GTID not
 * in its binlogs, position from another history). */
#define ER_MASTER_FATAL_ERROR_READING_BINLOG 1236

void reader_init(struct reader *r, const struct cfg_backend *primary, const struct cfg_binlog *cfg,
                 int heartbeat_ms)
{
	memset(r, 0, sizeof(*r));
	r->primary = primary;
	r->cfg = cfg;
	r->heartbeat_ms = heartbeat_ms;
}

void reader_close(struct reader *r)
{
	if (r->rpl)
		mariadb_rpl_close(r->rpl);
	if (r->mysql)
		mysql_close(r->mysql);
	r->rpl = NULL;
	r->mysql = NULL;
}

static enum reader_status fail(struct reader *r, enum reader_status s, const char *what)
{
	snprintf(r->err, sizeof(r->err), "%s: %s", what, r->mysql ? mysql_error(r->mysql) : "");
	reader_close(r);
	return s;
}

/* One row of one query, first column into out; false on error or no row. */
static bool query_value(struct reader *r, const char *sql, char *out, size_t cap)
{
	if (mysql_query(r->mysql, sql))
		return false;
	MYSQL_RES *res = mysql_store_result(r->mysql);
	if (!res)
		return false;
	MYSQL_ROW row = mysql_fetch_row(res);
	bool ok = row && mysql_num_fields(res) >= 1;
	if (ok)
		snprintf(out, cap, "%s", row[0] ? row[0] : "");
	mysql_free_result(res);
	return ok;
}

/* Row decoding needs ROW format with full row images; anything else is refused. */
static enum reader_status check_settings(struct reader *r)
{
	char format[32], image[32];
	if (!query_value(r, "SELECT @@global.binlog_format", format, sizeof(format)) ||
	    !query_value(r, "SELECT @@global.binlog_row_image", image, sizeof(image)))
		return fail(r, READER_DOWN, "reading binlog settings");
	if (strcasecmp(format, "ROW") != 0) {
		snprintf(r->err, sizeof(r->err),
		         "the primary's binlog_format is %s; sluice-binlog needs binlog_format=ROW "
		         "(SET GLOBAL binlog_format=ROW and in my.cnf)",
		         format);
		reader_close(r);
		return READER_UNFIT;
	}
	if (strcasecmp(image, "FULL") != 0) {
		snprintf(r->err, sizeof(r->err),
		         "the primary's binlog_row_image is %s; sluice-binlog needs "
		         "binlog_row_image=FULL (key columns of every image)",
		         image);
		reader_close(r);
		return READER_UNFIT;
	}
	return READER_OK;
}

enum reader_status reader_connect(struct reader *r)
{
	reader_close(r);
	r->err[0] = '\0';
	if (!(r->mysql = mysql_init(NULL)))
		return fail(r, READER_DOWN, "mysql_init");
	unsigned int connect_timeout = 2;
	/* a stream idle longer than a few heartbeats is a dead primary */
	unsigned int read_timeout = (unsigned)(3 * r->heartbeat_ms / 1000) + 2;
	mysql_optionsv(r->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
	mysql_optionsv(r->mysql, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
	mysql_optionsv(r->mysql, MYSQL_OPT_WRITE_TIMEOUT, &read_timeout);
	const struct cfg_addr *a = &r->primary->address;
	if (!mysql_real_connect(r->mysql, a->host, r->cfg->user, r->cfg->password, NULL, a->port,
	                        NULL, 0))
		return fail(r, READER_DOWN, "connect");
	return check_settings(r);
}

bool reader_primary_position(struct reader *r, char *out, size_t cap)
{
	return r->mysql && query_value(r, "SELECT @@global.gtid_binlog_pos", out, cap);
}

/* The session variables a MariaDB replica sets before its dump request. */
static bool set_dump_variables(struct reader *r, const char *position)
{
	char sql[2 * 4096 + 128], escaped[2 * 4096 + 1];
	if (strlen(position) > 4096)
		return false;
	mysql_real_escape_string(r->mysql, escaped, position, (unsigned long)strlen(position));
	snprintf(sql, sizeof(sql), "SET @slave_connect_state = '%s'", escaped);
	if (mysql_query(r->mysql, sql) ||
	    mysql_query(r->mysql, "SET @mariadb_slave_capability = 4") ||
	    mysql_query(r->mysql, "SET @master_binlog_checksum = @@global.binlog_checksum"))
		return false;
	/* nanoseconds; the primary then sends a heartbeat whenever it has nothing else to send */
	snprintf(sql, sizeof(sql), "SET @master_heartbeat_period = %lld",
	         (long long)r->heartbeat_ms * 1000000LL);
	return mysql_query(r->mysql, sql) == 0;
}

enum reader_status reader_open(struct reader *r, const char *position)
{
	if (!r->mysql)
		return READER_DOWN;
	if (!set_dump_variables(r, position))
		return fail(r, READER_DOWN, "preparing the dump");
	if (!(r->rpl = mariadb_rpl_init(r->mysql)))
		return fail(r, READER_DOWN, "mariadb_rpl_init");
	mariadb_rpl_optionsv(r->rpl, MARIADB_RPL_SERVER_ID, (unsigned)r->cfg->server_id);
	mariadb_rpl_optionsv(r->rpl, MARIADB_RPL_START, 4UL);
	mariadb_rpl_optionsv(r->rpl, MARIADB_RPL_UNCOMPRESS, 1);
	if (mariadb_rpl_open(r->rpl))
		return fail(r, READER_DOWN, "opening the binlog dump");
	return READER_OK;
}

MARIADB_RPL_EVENT *reader_next(struct reader *r, enum reader_status *status)
{
	*status = READER_OK;
	if (!r->rpl) {
		*status = READER_DOWN;
		return NULL;
	}
	MARIADB_RPL_EVENT *ev = mariadb_rpl_fetch(r->rpl, NULL);
	if (ev)
		return ev;
	unsigned err = mysql_errno(r->mysql);
	*status = err == ER_MASTER_FATAL_ERROR_READING_BINLOG ? READER_PURGED : READER_DOWN;
	fail(r, *status, "reading the binlog");
	if (err == 0) /* an EOF packet: the primary ended the dump (e.g. shutting down) */
		snprintf(r->err, sizeof(r->err), "the primary ended the binlog dump");
	return NULL;
}
