/*
 * config.h - Sluice's configuration: the typed struct every component reads, and its INI parser.
 *
 * The config is parsed once into an immutable struct (config_load) and passed to whoever needs
 * it; nothing reads config through globals. Every key lives in one table in config.c, which also
 * drives defaults, validation and the generated reference (config_write_reference), so the
 * parser and docs/configuration.md cannot drift apart.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_NAME_MAX   64
#define CFG_USER_MAX   81 /* MariaDB user names are at most 80 characters */
#define CFG_SECRET_MAX 128
#define CFG_HOST_MAX   64
#define CFG_LIST_MAX   200 /* libinih reads lines of at most 200 bytes */

enum cfg_balance {
	BALANCE_ROUND_ROBIN,
	BALANCE_WEIGHTED,
	BALANCE_LEAST_CONNECTIONS,
	BALANCE_RANDOM,
	BALANCE_HASH,
};

enum cfg_pin_mode { PIN_OFF, PIN_WINDOW, PIN_GTID };

struct cfg_addr {
	char host[CFG_HOST_MAX];
	uint16_t port;
};

struct cfg_user {
	char name[CFG_USER_MAX];
	char password[CFG_SECRET_MAX];
	bool require_tls;
	int max_connections; /* 0: no limit */
	int max_qps;         /* 0: no limit */
	int burst;
};

struct cfg_backend {
	char name[CFG_NAME_MAX];
	struct cfg_addr address;
	int weight;
};

struct cfg_proxy {
	struct cfg_addr listen;
	int threads;
	int max_connections;
	int shutdown_timeout_ms;
	int connect_timeout_ms;
	int backend_idle_timeout_ms;
	int max_packet_mb;
	int log_level; /* enum log_level */
	int slow_query_ms;
	int rate_wait_ms;
	char tls_cert[CFG_LIST_MAX];
	char tls_key[CFG_LIST_MAX];
};

struct cfg_stats {
	struct cfg_addr listen;
	char token[CFG_SECRET_MAX];
};

struct cfg_monitor {
	char user[CFG_USER_MAX];
	char password[CFG_SECRET_MAX];
	int interval_ms;
	int max_replica_lag_ms;
};

struct cfg_routing {
	int balance; /* enum cfg_balance */
	int breaker_failures;
	int breaker_cooldown_ms;
};

struct cfg_pinning {
	int mode; /* enum cfg_pin_mode */
	int window_ms;
	int lag_margin_ms;
	struct cfg_addr redis;
	int redis_timeout_ms;
	int mark_timeout_ms;
	char prefix[CFG_NAME_MAX];
};

struct cfg_cache {
	bool enabled;
	int ttl_s;
	char tables[CFG_LIST_MAX];
	int max_result_bytes;
	int local_mb;
	int lease_ms;
	int hot_hits;
};

struct cfg_binlog {
	int server_id;
	char user[CFG_USER_MAX];
	char password[CFG_SECRET_MAX];
	struct cfg_addr redis;
	struct cfg_addr stats_listen;
	int stream_maxlen;
	int lease_ms;
};

/* Owned by whoever called config_load; freed with config_free. Never modified after load. */
struct config {
	char path[4096];
	struct cfg_proxy proxy;
	struct cfg_stats stats;
	struct cfg_backend primary;
	struct cfg_monitor monitor;
	struct cfg_routing routing;
	struct cfg_pinning pinning;
	struct cfg_cache cache;
	struct cfg_binlog binlog;
	struct cfg_user *users;
	size_t n_users;
	struct cfg_backend *replicas;
	size_t n_replicas;
};

/*
 * Parses the INI file at path. On success returns a new config; on failure returns NULL and
 * writes one line per problem into err ("file:line: [section] key: message").
 */
struct config *config_load(const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The same, from text in memory; name stands in for the file name in messages. */
struct config *config_load_string(const char *name, const char *text, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void config_free(struct config *cfg);

const struct cfg_user *config_find_user(const struct config *cfg, const char *name);
const char *cfg_balance_str(int balance);
const char *cfg_pin_mode_str(int mode);

/* Writes the Markdown reference of every section and key (docs/configuration.md embeds it). */
void config_write_reference(FILE *out);
