/*
 * txn.c - one transaction's changed rows and tables (see txn.h).
 */
#include "txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void txn_init(struct txn *t)
{
	memset(t, 0, sizeof(*t));
}

void txn_free(struct txn *t)
{
	free(t->tables);
	free(t->keys);
	free(t->slots);
	txn_init(t);
}

void txn_reset(struct txn *t, const struct gtid *gtid, uint32_t commit_ts)
{
	t->gtid = *gtid;
	t->commit_ts = commit_ts;
	t->all = false;
	t->all_reason[0] = '\0';
	t->n_tables = 0;
	t->n_keys = 0;
	if (t->slots)
		memset(t->slots, 0, t->n_slots * sizeof(*t->slots));
}

void txn_add_all(struct txn *t, const char *reason)
{
	if (!t->all)
		snprintf(t->all_reason, sizeof(t->all_reason), "%s", reason);
	t->all = true;
}

/* The index of table in t->tables, added if new; -1 if it cannot be added (then: everything). */
static long table_index(struct txn *t, const struct bl_table_name *table)
{
	for (size_t i = 0; i < t->n_tables; i++)
		if (!strcmp(t->tables[i].name.table, table->table) &&
		    !strcmp(t->tables[i].name.db, table->db))
			return (long)i;
	if (t->n_tables == TXN_TABLES_MAX) {
		txn_add_all(t, "too many tables");
		return -1;
	}
	if (t->n_tables == t->cap_tables) {
		size_t cap = t->cap_tables ? t->cap_tables * 2 : 8;
		struct txn_table *grown = realloc(t->tables, cap * sizeof(*grown));
		if (!grown) {
			txn_add_all(t, "out of memory");
			return -1;
		}
		t->tables = grown;
		t->cap_tables = cap;
	}
	t->tables[t->n_tables] = (struct txn_table){.name = *table};
	return (long)t->n_tables++;
}

void txn_add_table(struct txn *t, const struct bl_table_name *table, bool schema)
{
	long i = table_index(t, table);
	if (i < 0)
		return;
	t->tables[i].whole = true;
	t->tables[i].schema |= schema;
}

static uint32_t hash_key(uint32_t table, const char *text)
{
	uint32_t h = 2166136261u ^ table; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* The slot holding (table, text), or the empty slot where it belongs. */
static uint32_t *find_slot(struct txn *t, uint32_t table, const char *text, uint32_t hash)
{
	size_t mask = t->n_slots - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		uint32_t *slot = &t->slots[i];
		if (*slot == 0)
			return slot;
		const struct txn_key *k = &t->keys[*slot - 1];
		if (k->hash == hash && k->table == table && !strcmp(k->text, text))
			return slot;
	}
}

/* Room for one more key: the arrays, and a set at most half full. */
static bool reserve_key(struct txn *t)
{
	if (!t->slots) {
		/* a power of two over twice TXN_KEYS_MAX: the set never needs to grow */
		size_t n = 1;
		while (n < 2 * TXN_KEYS_MAX)
			n *= 2;
		if (!(t->slots = calloc(n, sizeof(*t->slots))))
			return false;
		t->n_slots = n;
	}
	if (t->n_keys < t->cap_keys)
		return true;
	size_t cap = t->cap_keys ? t->cap_keys * 2 : 16;
	if (cap > TXN_KEYS_MAX)
		cap = TXN_KEYS_MAX;
	struct txn_key *grown = realloc(t->keys, cap * sizeof(*grown));
	if (!grown)
		return false;
	t->keys = grown;
	t->cap_keys = cap;
	return true;
}

void txn_add_row(struct txn *t, const struct bl_table_name *table, const struct mark_key *key)
{
	long i = table_index(t, table);
	if (i < 0 || t->tables[i].whole)
		return;
	if (!key->ok) {
		t->tables[i].whole = true;
		return;
	}
	if (t->n_keys == TXN_KEYS_MAX || !reserve_key(t)) {
		t->tables[i].whole = true;
		return;
	}
	uint32_t hash = hash_key((uint32_t)i, key->text);
	uint32_t *slot = find_slot(t, (uint32_t)i, key->text, hash);
	if (*slot)
		return; /* already there */
	struct txn_key *k = &t->keys[t->n_keys];
	k->table = (uint32_t)i;
	k->hash = hash;
	memcpy(k->text, key->text, key->len + 1);
	*slot = (uint32_t)++t->n_keys;
}

bool txn_is_empty(const struct txn *t)
{
	return !t->all && t->n_tables == 0;
}

size_t txn_live_keys(const struct txn *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_keys; i++)
		n += !t->tables[t->keys[i].table].whole;
	return n;
}
