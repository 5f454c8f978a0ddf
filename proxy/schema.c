/*
 * schema.c - snapshots of the primary's primary keys (see schema.h).
 */
#include "schema.h"

#include "log.h"

#include <mysql.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct schema {
	_Atomic int refs;
	size_t n_tables;
	size_t n_slots; /* a power of two, at least twice n_tables */
	struct schema_table *tables;
	struct schema_table **slots; /* open addressing by table_hash */
};

void schema_store_init(struct schema_store *st)
{
	pthread_mutex_init(&st->lock, NULL);
	st->current = NULL;
	atomic_init(&st->generation, 0);
	atomic_init(&st->stale, true);
}

static void schema_free(struct schema *s)
{
	free(s->tables);
	free(s->slots);
	free(s);
}

void schema_release(struct schema *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		schema_free(s);
}

void schema_store_free(struct schema_store *st)
{
	schema_release(st->current);
	st->current = NULL;
	pthread_mutex_destroy(&st->lock);
}

void schema_publish(struct schema_store *st, struct schema *s)
{
	pthread_mutex_lock(&st->lock);
	struct schema *old = st->current;
	st->current = s;
	atomic_fetch_add(&st->generation, 1);
	pthread_mutex_unlock(&st->lock);
	schema_release(old);
}

void schema_mark_stale(struct schema_store *st)
{
	atomic_store(&st->stale, true);
}

struct schema *schema_acquire(struct schema_store *st, unsigned *generation)
{
	pthread_mutex_lock(&st->lock);
	struct schema *s = st->current;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	*generation = atomic_load(&st->generation);
	pthread_mutex_unlock(&st->lock);
	return s;
}

/* FNV-1a over "db\0name". */
static uint64_t table_hash(const char *db, const char *name)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = db; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	h *= 1099511628211ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

const struct schema_table *schema_find(const struct schema *s, const char *db, const char *name)
{
	if (!s || s->n_slots == 0)
		return NULL;
	size_t mask = s->n_slots - 1;
	for (size_t i = table_hash(db, name) & mask;; i = (i + 1) & mask) {
		const struct schema_table *t = s->slots[i];
		if (!t)
			return NULL;
		if (strcmp(t->name, name) == 0 && strcmp(t->db, db) == 0)
			return t;
	}
}

size_t schema_table_count(const struct schema *s)
{
	return s ? s->n_tables : 0;
}

/* ---- loading --------------------------------------------------------------------------------- */

#define USER_SCHEMAS "NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"

/* Every user table (and view) with its column count and whether it is a base table, then every
 * column of a unique index (the primary key first), in key order. */
static const char TABLES_SQL[] =
    "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, COUNT(*), MAX(t.TABLE_TYPE) = 'BASE TABLE' "
    "FROM information_schema.COLUMNS c JOIN information_schema.TABLES t "
    "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
    "WHERE c.TABLE_SCHEMA " USER_SCHEMAS " GROUP BY c.TABLE_SCHEMA, c.TABLE_NAME";
static const char KEYS_SQL[] =
    "SELECT s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, s.COLUMN_NAME, c.ORDINAL_POSITION, "
    "c.DATA_TYPE, c.EXTRA "
    "FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c "
    "ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME "
    "AND c.COLUMN_NAME = s.COLUMN_NAME "
    "WHERE s.NON_UNIQUE = 0 AND s.TABLE_SCHEMA " USER_SCHEMAS
    " ORDER BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME <> 'PRIMARY', s.INDEX_NAME, "
    "s.SEQ_IN_INDEX";

static bool kind_of_type(const char *type, enum schema_col_kind *kind)
{
	static const char *const ints[] = {"tinyint", "smallint", "mediumint", "int", "bigint"};
	static const char *const strings[] = {"char", "varchar", "binary", "varbinary"};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (strcmp(type, ints[i]) == 0)
			return *kind = SCHEMA_COL_INT, true;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (strcmp(type, strings[i]) == 0)
			return *kind = SCHEMA_COL_STRING, true;
	return false;
}

static bool fits(const char *s)
{
	return s && strlen(s) < CLS_NAME_MAX;
}

static void index_tables(struct schema *s)
{
	size_t mask = s->n_slots - 1;
	for (size_t k = 0; k < s->n_tables; k++) {
		struct schema_table *t = &s->tables[k];
		size_t i = table_hash(t->db, t->name) & mask;
		while (s->slots[i])
			i = (i + 1) & mask;
		s->slots[i] = t;
	}
}

static struct schema *load_tables(MYSQL *c)
{
	if (mysql_query(c, TABLES_SQL))
		return NULL;
	MYSQL_RES *res = mysql_store_result(c);
	if (!res)
		return NULL;
	struct schema *s = calloc(1, sizeof(*s));
	size_t rows = mysql_num_rows(res);
	size_t slots = 16;
	while (slots < 2 * rows)
		slots *= 2;
	if (s) {
		s->tables = calloc(rows ? rows : 1, sizeof(*s->tables));
		s->slots = calloc(slots, sizeof(*s->slots));
		s->n_slots = slots;
		atomic_init(&s->refs, 1);
	}
	if (!s || !s->tables || !s->slots) {
		mysql_free_result(res);
		if (s)
			schema_free(s);
		return NULL;
	}
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		if (!fits(row[0]) || !fits(row[1]))
			continue;
		struct schema_table *t = &s->tables[s->n_tables++];
		snprintf(t->db, sizeof(t->db), "%s", row[0]);
		snprintf(t->name, sizeof(t->name), "%s", row[1]);
		t->n_columns = row[2] ? (unsigned)atoi(row[2]) : 0;
		t->base_table = row[3] && strcmp(row[3], "1") == 0;
	}
	mysql_free_result(res);
	index_tables(s);
	return s;
}

/* Adds one key column; a column keys cannot be kept for leaves the table unkeyed (n_pk = 0). */
static void add_key_column(struct schema_table *t, MYSQL_ROW row, bool *unkeyable)
{
	enum schema_col_kind kind;
	if (*unkeyable)
		return;
	if (t->n_pk == SCHEMA_PK_MAX || !fits(row[3]) || !row[4] || !row[5] ||
	    !kind_of_type(row[5], &kind)) {
		*unkeyable = true;
		t->n_pk = 0;
		return;
	}
	unsigned i = t->n_pk++;
	snprintf(t->pk[i], sizeof(t->pk[i]), "%s", row[3]);
	t->pk_kind[i] = kind;
	t->pk_position[i] = (unsigned)atoi(row[4]) - 1;
	t->auto_increment = t->n_pk == 1 && row[6] && strstr(row[6], "auto_increment");
}

static const char TRIGGERS_SQL[] =
    "SELECT DISTINCT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS";

static bool load_triggers(MYSQL *c, struct schema *s)
{
	if (mysql_query(c, TRIGGERS_SQL))
		return false;
	MYSQL_RES *res = mysql_store_result(c);
	if (!res)
		return false;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		if (!fits(row[0]) || !fits(row[1]))
			continue;
		struct schema_table *t = (struct schema_table *)schema_find(s, row[0], row[1]);
		if (t)
			t->has_triggers = true;
	}
	mysql_free_result(res);
	return true;
}

static bool load_keys(MYSQL *c, struct schema *s)
{
	if (mysql_query(c, KEYS_SQL))
		return false;
	MYSQL_RES *res = mysql_store_result(c);
	if (!res)
		return false;
	MYSQL_ROW row;
	struct schema_table *t = NULL;
	bool unkeyable = false;
	while ((row = mysql_fetch_row(res))) {
		if (!fits(row[0]) || !fits(row[1]) || !row[2])
			continue;
		struct schema_table *this = (struct schema_table *)schema_find(s, row[0], row[1]);
		if (!this)
			continue; /* created since the first query */
		if (this != t) {
			t = this;
			unkeyable = false;
		}
		if (strcmp(row[2], "PRIMARY") == 0)
			add_key_column(t, row, &unkeyable);
		else
			t->other_unique = true;
	}
	mysql_free_result(res);
	for (size_t i = 0; i < s->n_tables; i++)
		if (s->tables[i].n_pk > 1)
			s->tables[i].auto_increment = false;
	return true;
}

struct schema *schema_load(MYSQL *c)
{
	struct schema *s = load_tables(c);
	if (!s || !load_keys(c, s) || !load_triggers(c, s)) {
		log_warn("schema: cannot load primary keys from information_schema: %s",
		         mysql_error(c));
		if (s)
			schema_free(s);
		return NULL;
	}
	return s;
}
