/*
 * schema.h - what the proxy knows of the primary's tables: primary keys, for pinning by key.
 *
 * The monitor thread loads a snapshot from information_schema (schema_load) at start, after a
 * DDL statement went through the proxy (schema_mark_stale), on SIGHUP and every
 * SCHEMA_REFRESH_MS, and publishes it. Snapshots are immutable and reference counted: a worker
 * holds the current one and swaps it when the generation changes, so lookups on the query path
 * take no lock.
 */
#pragma once

#include "keys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define SCHEMA_REFRESH_MS 30000

struct schema;
typedef struct st_mysql MYSQL;

struct schema_store {
	pthread_mutex_t lock;
	struct schema *current; /* holds one reference; NULL until the first load */
	_Atomic unsigned generation;
	_Atomic bool stale; /* a reload is wanted soon */
};

void schema_store_init(struct schema_store *st);
void schema_store_free(struct schema_store *st);

/* Monitor thread: reads every user table's keys over c; NULL (and the error logged) on failure. */
struct schema *schema_load(MYSQL *c);
/* Makes s the current snapshot (taking over the caller's reference). */
void schema_publish(struct schema_store *st, struct schema *s);
/* Asks the monitor for a reload at its next round (DDL ran, config reloaded). */
void schema_mark_stale(struct schema_store *st);

/* Workers: a reference to the current snapshot (NULL before the first load), and its release. */
struct schema *schema_acquire(struct schema_store *st, unsigned *generation);
void schema_release(struct schema *s);

/* The table db.name, or NULL if it is unknown (then nothing can be keyed). */
const struct schema_table *schema_find(const struct schema *s, const char *db, const char *name);
size_t schema_table_count(const struct schema *s);
