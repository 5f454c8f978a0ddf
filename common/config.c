/*
 * config.c - the table of every configuration key, and the INI parser built on libinih.
 *
 * One table (config_keys) names each key with its section, type, default, bounds and help text;
 * parsing, defaults, validation and the generated reference all walk it. libinih does the INI
 * syntax; a small line reader in front of it counts lines and notices section headers, so every
 * error can name the file, line, section and key, and empty sections still get validated.
 * This file must not know what the keys mean beyond their types and bounds.
 */
#include "config.h"

#include "table_list.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { CFG_ADDR, CFG_INT, CFG_BOOL, CFG_STR, CFG_ENUM, CFG_TABLES };

/* Sections: singletons live inside struct config; named ones ([user.NAME]) are array elements. */
enum cfg_section_id {
	SEC_PROXY,
	SEC_STATS,
	SEC_USER,
	SEC_PRIMARY,
	SEC_REPLICA,
	SEC_MONITOR,
	SEC_ROUTING,
	SEC_PINNING,
	SEC_CACHE,
	SEC_BINLOG,
	SEC_COUNT
};

struct cfg_section_def {
	const char *name;
	bool named;
	bool required;
	size_t offset; /* of the singleton inside struct config */
	const char *help;
};

static const struct cfg_section_def sections[SEC_COUNT] = {
    [SEC_PROXY] = {"proxy", false, false, offsetof(struct config, proxy),
                   "The MySQL front end that applications connect to."},
    [SEC_STATS] = {"stats", false, false, offsetof(struct config, stats),
                   "The HTTP stats endpoint: /health, /stats, /metrics and the dashboard at /."},
    [SEC_USER] = {"user", true, true, 0,
                  "One section per client user, `[user.NAME]`. The proxy authenticates clients "
                  "with this password and logs in to the backends as the same user."},
    [SEC_PRIMARY] = {"primary", false, true, offsetof(struct config, primary),
                     "The primary server; writes (and, until read/write splitting, everything) "
                     "go here."},
    [SEC_REPLICA] = {"replica", true, false, 0, "One section per replica, `[replica.NAME]`."},
    [SEC_MONITOR] = {"monitor", false, false, offsetof(struct config, monitor),
                     "The health monitor's credentials and thresholds."},
    [SEC_ROUTING] = {"routing", false, false, offsetof(struct config, routing),
                     "How reads are balanced over replicas."},
    [SEC_PINNING] = {"pinning", false, false, offsetof(struct config, pinning),
                     "Read-your-writes pinning of recently written keys (Redis)."},
    [SEC_CACHE] = {"cache", false, false, offsetof(struct config, cache),
                   "The result cache in Redis."},
    [SEC_BINLOG] = {"binlog", false, false, offsetof(struct config, binlog),
                    "The binlog tailer (sluice-binlog)."},
};

static const char *const balance_names[] = {"round-robin", "weighted", "least-connections",
                                            "random",      "hash",     NULL};
static const char *const pin_mode_names[] = {"off", "window", "gtid", NULL};
static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};

struct cfg_key {
	enum cfg_section_id section;
	const char *name;
	enum cfg_type type;
	size_t offset;   /* inside the section's struct */
	size_t size;     /* of a CFG_STR buffer */
	const char *def; /* NULL: required */
	long min, max;
	const char *const *choices;
	const char *help;
};

#define KEY_ADDR(sec, st, field, def, help)                                                        \
	{                                                                                          \
		sec, #field, CFG_ADDR, offsetof(st, field), 0, def, 0, 0, NULL, help               \
	}
#define KEY_INT(sec, st, field, def, lo, hi, help)                                                 \
	{                                                                                          \
		sec, #field, CFG_INT, offsetof(st, field), 0, def, lo, hi, NULL, help              \
	}
#define KEY_BOOL(sec, st, field, def, help)                                                        \
	{                                                                                          \
		sec, #field, CFG_BOOL, offsetof(st, field), 0, def, 0, 1, NULL, help               \
	}
/* A string in a char array; type CFG_STR, or a string with a syntax of its own. */
#define KEY_STRING(sec, st, field, type, def, help)                                                \
	{                                                                                          \
		sec, #field, type, offsetof(st, field), sizeof(((st *)0)->field), def, 0, 0, NULL, \
		    help                                                                           \
	}
#define KEY_STR(sec, st, field, def, help) KEY_STRING(sec, st, field, CFG_STR, def, help)
/* A comma list of table patterns: `db.table`, `db.*` or `*`. */
#define KEY_TABLES(sec, st, field, def, help) KEY_STRING(sec, st, field, CFG_TABLES, def, help)
#define KEY_ENUM(sec, st, field, def, names, help)                                                 \
	{                                                                                          \
		sec, #field, CFG_ENUM, offsetof(st, field), 0, def, 0, 0, names, help              \
	}

static const struct cfg_key config_keys[] = {
    KEY_ADDR(SEC_PROXY, struct cfg_proxy, listen, "127.0.0.1:6033",
             "Address (`host:port`) the MySQL protocol front end listens on."),
    KEY_INT(SEC_PROXY, struct cfg_proxy, threads, "2", 1, 64,
            "Worker threads, each with its own event loop, client sessions and backend pool."),
    KEY_INT(SEC_PROXY, struct cfg_proxy, max_connections, "10000", 1, 1000000,
            "Client connections accepted at once; more get error 1040 (Too many connections)."),
    KEY_INT(SEC_PROXY, struct cfg_proxy, shutdown_timeout_ms, "5000", 0, 3600000,
            "On SIGTERM/SIGINT, how long running statements may take to finish before their "
            "sessions are closed."),
    KEY_INT(SEC_PROXY, struct cfg_proxy, connect_timeout_ms, "3000", 1, 600000,
            "Time allowed to connect and log in to a backend before the client gets an error."),
    KEY_INT(SEC_PROXY, struct cfg_proxy, backend_idle_timeout_ms, "60000", 1000, 86400000,
            "Idle pooled backend connections older than this are closed."),
    KEY_INT(SEC_PROXY, struct cfg_proxy, max_packet_mb, "64", 1, 1024,
            "Largest client command accepted (like the server's max_allowed_packet); a larger "
            "one gets error 1153 and the connection is closed."),
    KEY_ENUM(SEC_PROXY, struct cfg_proxy, log_level, "info", log_level_names,
             "Least severe log level written to stderr."),
    KEY_INT(SEC_PROXY, struct cfg_proxy, slow_query_ms, "0", 0, 86400000,
            "Log every statement slower than this, with its route and backend (0: off)."),
    KEY_INT(SEC_PROXY, struct cfg_proxy, rate_wait_ms, "1000", 0, 600000,
            "How long a statement over its user's max_qps waits for a token before it is "
            "refused with an error."),
    KEY_STR(SEC_PROXY, struct cfg_proxy, tls_cert, "",
            "PEM certificate (chain) offered to clients that ask for TLS; empty: no TLS."),
    KEY_STR(SEC_PROXY, struct cfg_proxy, tls_key, "", "PEM private key of tls_cert."),

    KEY_ADDR(SEC_STATS, struct cfg_stats, listen, "127.0.0.1:6080",
             "Address of the HTTP stats endpoint. Keep it on loopback unless protected."),
    KEY_STR(SEC_STATS, struct cfg_stats, token, "",
            "When set, every path but `/health` requires `Authorization: Bearer <token>`."),

    KEY_STR(SEC_USER, struct cfg_user, password, NULL,
            "The user's password (may be empty). The backends must know the same user and "
            "password (`mysql_native_password`)."),
    KEY_BOOL(SEC_USER, struct cfg_user, require_tls, "false",
             "Refuse this user's logins that did not switch to TLS."),
    KEY_INT(SEC_USER, struct cfg_user, max_connections, "0", 0, 1000000,
            "Client connections this user may hold at once on this instance (0: no limit)."),
    KEY_INT(SEC_USER, struct cfg_user, max_qps, "0", 0, 100000000,
            "Statements per second this user may run on this instance, as a token bucket "
            "(0: no limit)."),
    KEY_INT(SEC_USER, struct cfg_user, burst, "0", 0, 100000000,
            "Statements the token bucket lets through at once above max_qps (0: max_qps)."),

    KEY_ADDR(SEC_PRIMARY, struct cfg_backend, address, NULL, "`host:port` of the primary."),

    KEY_ADDR(SEC_REPLICA, struct cfg_backend, address, NULL, "`host:port` of the replica."),
    KEY_INT(SEC_REPLICA, struct cfg_backend, weight, "1", 0, 1000,
            "Relative share of reads for weighted balancing; 0 keeps the replica out of the "
            "read pool."),

    KEY_STR(SEC_MONITOR, struct cfg_monitor, user, "monitor",
            "User the health monitor logs in as (needs REPLICATION CLIENT / SLAVE MONITOR)."),
    KEY_STR(SEC_MONITOR, struct cfg_monitor, password, "", "The monitor user's password."),
    KEY_INT(SEC_MONITOR, struct cfg_monitor, interval_ms, "200", 10, 60000,
            "How often every backend is checked."),
    KEY_INT(SEC_MONITOR, struct cfg_monitor, max_replica_lag_ms, "1000", 0, 86400000,
            "A replica further behind than this is reported as `lagging`."),

    KEY_ENUM(SEC_ROUTING, struct cfg_routing, balance, "round-robin", balance_names,
             "How reads are spread over healthy replicas."),
    KEY_INT(SEC_ROUTING, struct cfg_routing, breaker_failures, "5", 1, 1000,
            "Consecutive failed connection attempts after which a backend's circuit breaker "
            "opens: no new connection is tried until the cool-down ends."),
    KEY_INT(SEC_ROUTING, struct cfg_routing, breaker_cooldown_ms, "2000", 10, 3600000,
            "How long an open circuit breaker waits before letting one probe connection "
            "through."),

    KEY_ENUM(SEC_PINNING, struct cfg_pinning, mode, "window", pin_mode_names,
             "Read-your-writes pinning: `off`, `window` (marks live window_ms) or `gtid`."),
    KEY_INT(SEC_PINNING, struct cfg_pinning, window_ms, "500", 1, 3600000,
            "How long a written key stays pinned to the primary (an upper bound in gtid mode)."),
    KEY_INT(SEC_PINNING, struct cfg_pinning, lag_margin_ms, "200", 0, 3600000,
            "In window mode a mark lives max(window_ms, worst replica lag + lag_margin_ms), so "
            "the window follows the lag the monitor sees."),
    KEY_ADDR(SEC_PINNING, struct cfg_pinning, redis, "127.0.0.1:6379",
             "Redis that holds the pin marks, shared by every Sluice instance."),
    KEY_INT(SEC_PINNING, struct cfg_pinning, redis_timeout_ms, "100", 1, 60000,
            "A mark lookup slower than this sends its read to the primary (safe)."),
    KEY_INT(SEC_PINNING, struct cfg_pinning, mark_timeout_ms, "1000", 1, 60000,
            "How long a write waits for Redis to store its marks. After that Redis counts as "
            "down: the write goes on unmarked and this worker's reads go to the primary for a "
            "window after Redis returns."),
    KEY_STR(SEC_PINNING, struct cfg_pinning, prefix, "sluice",
            "Prefix of every Redis key Sluice, the tailer and the cache write, so several "
            "clusters can share one Redis."),

    KEY_BOOL(SEC_CACHE, struct cfg_cache, enabled, "false",
             "Turns the result cache on (docs/cache.md). It needs [pinning] mode `window` or "
             "`gtid` and shares the pinning Redis: a read of something recently written must "
             "bypass the cache, and only the marks say so. Cache invalidations come from "
             "sluice-binlog, which must publish to the same Redis."),
    KEY_INT(SEC_CACHE, struct cfg_cache, ttl_s, "300", 1, 3600,
            "Default lifetime of a cached result; a `/* sluice:cache ttl=N */` hint overrides "
            "it. At most an hour: the tailer keeps the versions entries are checked against "
            "for two."),
    KEY_TABLES(SEC_CACHE, struct cfg_cache, tables, "*",
               "Comma list of `db.table`, `db.*` or `*`: tables whose reads may be cached. A "
               "`/* sluice:cache */` hint caches a read of any table."),
    KEY_INT(SEC_CACHE, struct cfg_cache, max_result_bytes, "1048576", 64, 16777216,
            "Larger results are passed through and not cached."),
    KEY_INT(SEC_CACHE, struct cfg_cache, local_mb, "64", 0, 65536,
            "Size of each worker's in-process tier in front of Redis (LRU); 0 turns it off."),
    KEY_INT(SEC_CACHE, struct cfg_cache, lease_ms, "1000", 10, 60000,
            "How long a miss holds the right to fill its entry. Concurrent misses on the same "
            "entry wait up to this long for that fill instead of all reading the database."),
    KEY_INT(SEC_CACHE, struct cfg_cache, hot_hits, "10", 0, 1000000,
            "An entry served this often from a worker's in-process tier is hot: after an "
            "invalidation that worker re-reads it once from the primary and fills it again, so "
            "its readers do not all miss at once. 0 turns refreshing off."),

    KEY_INT(SEC_BINLOG, struct cfg_binlog, server_id, "9001", 1, INT_MAX,
            "Server id the tailer uses towards the primary; unique among its replicas."),
    KEY_STR(SEC_BINLOG, struct cfg_binlog, user, "repl",
            "User the tailer reads the binlog as (REPLICATION SLAVE, BINLOG MONITOR)."),
    KEY_STR(SEC_BINLOG, struct cfg_binlog, password, "", "The tailer user's password."),
    KEY_ADDR(SEC_BINLOG, struct cfg_binlog, redis, "127.0.0.1:6379",
             "Redis the tailer publishes invalidations to."),
    KEY_ADDR(SEC_BINLOG, struct cfg_binlog, stats_listen, "127.0.0.1:6081",
             "`host:port` of the tailer's HTTP stats endpoint (`/health`, `/stats`)."),
    KEY_INT(SEC_BINLOG, struct cfg_binlog, stream_maxlen, "100000", 100, 100000000,
            "Approximate length the invalidation stream is trimmed to (`XADD MAXLEN ~`)."),
    KEY_INT(SEC_BINLOG, struct cfg_binlog, lease_ms, "3000", 100, 600000,
            "Leader lease of the tailer: a standby takes over within 2 x lease_ms of the "
            "leader's death."),
};

#define N_KEYS        (sizeof(config_keys) / sizeof(config_keys[0]))
#define MAX_INSTANCES 1024

/* One section instance met in the file: where it is stored and which keys it set. */
struct instance {
	enum cfg_section_id section;
	size_t index; /* into users/replicas for named sections */
	int line;
	bool set[N_KEYS];
};

struct parser {
	const char *name;
	struct config *cfg;
	char *err;
	size_t errlen;
	size_t errused;
	int errors;
	/* the line reader */
	FILE *in;
	int line;
	/* the current section; cur < 0 while in an unknown section (its keys are not reported) */
	struct instance *instances;
	size_t n_instances;
	long cur;
	bool in_unknown;
};

__attribute__((format(printf, 2, 3))) static void report(struct parser *p, const char *fmt, ...)
{
	p->errors++;
	if (p->errused + 1 >= p->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(p->err + p->errused, p->errlen - p->errused - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	p->errused += (size_t)n;
	if (p->errused > p->errlen - 2)
		p->errused = p->errlen - 2;
	p->err[p->errused++] = '\n';
	p->err[p->errused] = '\0';
}

static void *section_base(struct config *cfg, const struct instance *in)
{
	switch (in->section) {
	case SEC_USER: return &cfg->users[in->index];
	case SEC_REPLICA: return &cfg->replicas[in->index];
	default: return (char *)cfg + sections[in->section].offset;
	}
}

static bool parse_long(const char *value, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool parse_addr(const char *value, struct cfg_addr *out)
{
	const char *colon = strrchr(value, ':');
	if (!colon || colon == value)
		return false;
	const char *host = value;
	size_t hostlen = (size_t)(colon - value);
	if (host[0] == '[') { /* [v6]:port */
		if (hostlen < 3 || host[hostlen - 1] != ']')
			return false;
		host++;
		hostlen -= 2;
	}
	long port;
	if (hostlen == 0 || hostlen >= sizeof(out->host) || !parse_long(colon + 1, &port) ||
	    port < 1 || port > 65535)
		return false;
	memcpy(out->host, host, hostlen);
	out->host[hostlen] = '\0';
	out->port = (uint16_t)port;
	return true;
}

static bool parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(value, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

static int find_choice(const char *const *choices, const char *value)
{
	for (int i = 0; choices[i]; i++)
		if (strcmp(choices[i], value) == 0)
			return i;
	return -1;
}

/* Stores value into key's field; returns NULL or a message saying what a valid value is. */
static const char *store_value(const struct cfg_key *key, void *base, const char *value, char *why,
                               size_t whylen)
{
	char *field = (char *)base + key->offset;
	long v;
	switch (key->type) {
	case CFG_ADDR:
		if (!parse_addr(value, (struct cfg_addr *)field))
			return "must be host:port with a port from 1 to 65535";
		return NULL;
	case CFG_INT:
		if (!parse_long(value, &v) || v < key->min || v > key->max) {
			snprintf(why, whylen, "must be an integer from %ld to %ld", key->min,
			         key->max);
			return why;
		}
		*(int *)field = (int)v;
		return NULL;
	case CFG_BOOL:
		if (!parse_bool(value, (bool *)field))
			return "must be true or false";
		return NULL;
	case CFG_TABLES: {
		struct cache_tables tables;
		char err[200];
		if (!cache_tables_parse(value, &tables, err, sizeof(err))) {
			snprintf(why, whylen, "%s", err);
			return why;
		}
	}
		__attribute__((fallthrough)); /* stored as the string it is */
	case CFG_STR:
		if (strlen(value) >= key->size) {
			snprintf(why, whylen, "is longer than %zu characters", key->size - 1);
			return why;
		}
		strcpy(field, value);
		return NULL;
	case CFG_ENUM: {
		int i = find_choice(key->choices, value);
		if (i < 0) {
			size_t used = (size_t)snprintf(why, whylen, "must be one of");
			for (int c = 0; key->choices[c] && used < whylen; c++)
				used += (size_t)snprintf(why + used, whylen - used, "%s %s",
				                         c ? "," : "", key->choices[c]);
			return why;
		}
		*(int *)field = i;
		return NULL;
	}
	}
	return "has an unknown type";
}

static long find_key(enum cfg_section_id section, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (config_keys[i].section == section && strcmp(config_keys[i].name, name) == 0)
			return (long)i;
	return -1;
}

static bool append_named(struct parser *p, enum cfg_section_id sec, const char *name, size_t *index)
{
	struct config *cfg = p->cfg;
	size_t *n = sec == SEC_USER ? &cfg->n_users : &cfg->n_replicas;
	size_t elem = sec == SEC_USER ? sizeof(struct cfg_user) : sizeof(struct cfg_backend);
	void **arr = sec == SEC_USER ? (void **)&cfg->users : (void **)&cfg->replicas;
	size_t namecap = sec == SEC_USER ? CFG_USER_MAX : CFG_NAME_MAX;
	if (strlen(name) >= namecap)
		return false;
	void *grown = realloc(*arr, (*n + 1) * elem);
	if (!grown)
		return false;
	*arr = grown;
	char *slot = (char *)grown + *n * elem;
	memset(slot, 0, elem);
	strcpy(slot, name); /* name is the first member of both structs */
	*index = (*n)++;
	return true;
}

static const char *instance_name(const struct config *cfg, const struct instance *in)
{
	switch (in->section) {
	case SEC_USER: return cfg->users[in->index].name;
	case SEC_REPLICA: return cfg->replicas[in->index].name;
	default: return NULL;
	}
}

static bool duplicate_instance(struct parser *p, enum cfg_section_id sec, const char *name)
{
	for (size_t i = 0; i < p->n_instances; i++) {
		const struct instance *in = &p->instances[i];
		const char *other = instance_name(p->cfg, in);
		if (in->section == sec && (!other || strcmp(other, name) == 0))
			return true;
	}
	return false;
}

static int find_section(const char *base, size_t len)
{
	for (int id = 0; id < SEC_COUNT; id++)
		if (strlen(sections[id].name) == len && strncmp(sections[id].name, base, len) == 0)
			return id;
	return -1;
}

/* Called by the line reader for every "[header]" line: starts a new section instance. */
static void open_section(struct parser *p, const char *header)
{
	p->cur = -1;
	p->in_unknown = true;
	char sec[256];
	size_t len = strcspn(header, "]");
	if (len >= sizeof(sec))
		len = sizeof(sec) - 1;
	memcpy(sec, header, len);
	sec[len] = '\0';

	const char *dot = strchr(sec, '.');
	const char *name = dot ? dot + 1 : NULL;
	int id = find_section(sec, dot ? (size_t)(dot - sec) : len);
	if (id < 0 || (name && !sections[id].named)) {
		report(p, "%s:%d: [%s]: unknown section", p->name, p->line, sec);
		return;
	}
	if (sections[id].named && (!name || !*name)) {
		report(p, "%s:%d: [%s]: needs a name, as in [%s.NAME]", p->name, p->line, sec,
		       sections[id].name);
		return;
	}
	if (duplicate_instance(p, (enum cfg_section_id)id, name)) {
		report(p, "%s:%d: [%s]: duplicate section", p->name, p->line, sec);
		return;
	}
	if (p->n_instances == MAX_INSTANCES) {
		report(p, "%s:%d: [%s]: too many sections", p->name, p->line, sec);
		return;
	}
	struct instance *in = &p->instances[p->n_instances];
	memset(in, 0, sizeof(*in));
	in->section = (enum cfg_section_id)id;
	in->line = p->line;
	if (name && !append_named(p, in->section, name, &in->index)) {
		report(p, "%s:%d: [%s]: name too long", p->name, p->line, sec);
		return;
	}
	p->cur = (long)p->n_instances++;
	p->in_unknown = false;
}

/* libinih's line reader: counts lines and spots section headers before inih parses them. */
static char *read_line(char *str, int num, void *stream)
{
	struct parser *p = stream;
	if (!fgets(str, num, p->in))
		return NULL;
	p->line++;
	size_t len = strlen(str);
	if (len > 0 && str[len - 1] != '\n' && !feof(p->in)) {
		/* libinih's line buffer is fixed (INI_MAX_LINE); drop the rest so lines still count
		 */
		report(p, "%s:%d: line longer than %d characters", p->name, p->line, num - 2);
		int c;
		while ((c = fgetc(p->in)) != EOF && c != '\n')
			;
		str[0] = '\0';
		return str;
	}
	const char *s = str;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '[')
		open_section(p, s + 1);
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	if (p->in_unknown)
		return 1; /* already reported at the header */
	if (p->cur < 0) {
		report(p, "%s:%d: %s: key outside any section", p->name, p->line, name);
		return 1;
	}
	struct instance *in = &p->instances[p->cur];
	long k = find_key(in->section, name);
	if (k < 0) {
		report(p, "%s:%d: [%s] %s: unknown key", p->name, p->line, section, name);
		return 1;
	}
	if (in->set[k]) {
		report(p, "%s:%d: [%s] %s: duplicate key", p->name, p->line, section, name);
		return 1;
	}
	char why[256];
	const char *msg =
	    store_value(&config_keys[k], section_base(p->cfg, in), value, why, sizeof(why));
	in->set[k] = true; /* even when invalid: one error per key is enough */
	if (msg) {
		report(p, "%s:%d: [%s] %s: %s (got \"%s\")", p->name, p->line, section, name, msg,
		       value);
		return 1;
	}
	return 1;
}

static void apply_defaults(struct parser *p, struct instance *in)
{
	char why[256];
	for (size_t k = 0; k < N_KEYS; k++) {
		const struct cfg_key *key = &config_keys[k];
		if (key->section != in->section || in->set[k])
			continue;
		if (!key->def) {
			const char *name = instance_name(p->cfg, in);
			report(p, "%s:%d: [%s%s%s] %s: required key missing", p->name, in->line,
			       sections[in->section].name, name ? "." : "", name ? name : "",
			       key->name);
			continue;
		}
		if (store_value(key, section_base(p->cfg, in), key->def, why, sizeof(why)))
			report(p, "%s: [%s] %s: bad built-in default", p->name,
			       sections[in->section].name, key->name);
	}
}

/* The cache needs the marks: a read of something just written must bypass it. */
static void check_cache_needs_pinning(struct parser *p)
{
	if (!p->cfg->cache.enabled || p->cfg->pinning.mode != PIN_OFF)
		return;
	int line = 0;
	for (size_t i = 0; i < p->n_instances; i++)
		if (p->instances[i].section == SEC_CACHE)
			line = p->instances[i].line;
	report(p, "%s:%d: [cache] enabled: needs [pinning] mode window or gtid", p->name, line);
}

/* Defaults for singleton sections the file leaves out, and required-section checks. */
static void finish(struct parser *p)
{
	for (size_t i = 0; i < p->n_instances; i++)
		apply_defaults(p, &p->instances[i]);
	for (int id = 0; id < SEC_COUNT; id++) {
		bool seen = false;
		for (size_t i = 0; i < p->n_instances; i++)
			seen = seen || p->instances[i].section == (enum cfg_section_id)id;
		if (seen)
			continue;
		if (sections[id].required) {
			report(p, "%s: [%s%s]: required section missing", p->name,
			       sections[id].name, sections[id].named ? ".NAME" : "");
			continue;
		}
		if (sections[id].named)
			continue;
		struct instance in = {.section = (enum cfg_section_id)id, .line = 0};
		apply_defaults(p, &in);
	}
	strcpy(p->cfg->primary.name, "primary");
	p->cfg->primary.weight = 0;
	check_cache_needs_pinning(p);
}

static struct config *parse_stream(const char *name, FILE *in, char *err, size_t errlen)
{
	struct parser p = {.name = name, .err = err, .errlen = errlen, .in = in, .cur = -1};
	if (errlen)
		err[0] = '\0';
	p.cfg = calloc(1, sizeof(*p.cfg));
	p.instances = calloc(MAX_INSTANCES, sizeof(*p.instances));
	if (!p.cfg || !p.instances) {
		report(&p, "%s: out of memory", name);
		free(p.instances);
		config_free(p.cfg);
		return NULL;
	}
	snprintf(p.cfg->path, sizeof(p.cfg->path), "%s", name);
	int rc = ini_parse_stream(read_line, &p, on_key, &p);
	if (rc > 0)
		report(&p, "%s:%d: syntax error (expected [section] or key = value)", name, rc);
	else if (rc < 0)
		report(&p, "%s: could not be read", name);
	else
		finish(&p);
	free(p.instances);
	if (p.errors) {
		config_free(p.cfg);
		return NULL;
	}
	return p.cfg;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	FILE *in = fopen(path, "r");
	if (!in) {
		snprintf(err, errlen, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	struct config *cfg = parse_stream(path, in, err, errlen);
	fclose(in);
	return cfg;
}

struct config *config_load_string(const char *name, const char *text, char *err, size_t errlen)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	if (!in) {
		snprintf(err, errlen, "%s: cannot read: %s\n", name, strerror(errno));
		return NULL;
	}
	struct config *cfg = parse_stream(name, in, err, errlen);
	fclose(in);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->users);
	free(cfg->replicas);
	free(cfg);
}

const struct cfg_user *config_find_user(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_users; i++)
		if (strcmp(cfg->users[i].name, name) == 0)
			return &cfg->users[i];
	return NULL;
}

const char *cfg_balance_str(int balance)
{
	return balance >= 0 && balance < 5 ? balance_names[balance] : "?";
}

const char *cfg_pin_mode_str(int mode)
{
	return mode >= 0 && mode < 3 ? pin_mode_names[mode] : "?";
}

static void write_key_type(FILE *out, const struct cfg_key *key)
{
	switch (key->type) {
	case CFG_ADDR: fputs("host:port", out); return;
	case CFG_INT: fprintf(out, "integer %ld–%ld", key->min, key->max); return;
	case CFG_BOOL: fputs("boolean", out); return;
	case CFG_STR: fputs("string", out); return;
	case CFG_TABLES: fputs("table list", out); return;
	case CFG_ENUM:
		for (int c = 0; key->choices[c]; c++)
			fprintf(out, "%s`%s`", c ? ", " : "", key->choices[c]);
		return;
	}
}

void config_write_reference(FILE *out)
{
	for (int id = 0; id < SEC_COUNT; id++) {
		const struct cfg_section_def *sec = &sections[id];
		fprintf(out, "%s### `[%s%s]`%s\n\n%s\n\n", id ? "\n" : "", sec->name,
		        sec->named ? ".NAME" : "", sec->required ? " (required)" : "", sec->help);
		fputs("| key | type | default | meaning |\n|---|---|---|---|\n", out);
		for (size_t k = 0; k < N_KEYS; k++) {
			const struct cfg_key *key = &config_keys[k];
			if (key->section != (enum cfg_section_id)id)
				continue;
			fprintf(out, "| `%s` | ", key->name);
			write_key_type(out, key);
			if (key->def)
				fprintf(out, " | `%s` | %s |\n", key->def, key->help);
			else
				fprintf(out, " | required | %s |\n", key->help);
		}
	}
}
