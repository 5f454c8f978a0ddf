/*
 * decode.c - primary keys out of row images (see decode.h).
 *
 * A TABLE_MAP gives each column's binlog type and metadata (packed per type, in column order) and,
 * with binlog_row_metadata=FULL, optional metadata: SIGNEDNESS (one bit per numeric column, most
 * significant bit first, set = UNSIGNED; FLOAT, DECIMAL and YEAR count as numeric - checked against
 * MariaDB 10.11 with tests/unit/fixtures/binlog/ints.bin) and SIMPLE_PRIMARY_KEY (packed column
 * indexes). A rows event carries a columns-present bitmap (a second one for UPDATE's after
 * images) and then images: a NULL bitmap over the present columns, then each present non-NULL
 * value in column order, whose length follows from its type and metadata.
 */
#include "decode.h"

#include <stdlib.h>
#include <string.h>

/* MariaDB types Connector/C 3.3's enum lacks */
#define TYPE_VARCHAR_COMPRESSED 140
#define TYPE_BLOB_COMPRESSED    141
#define TYPE_JSON               245

/* ---- the table ----------------------------------------------------------------------------- */

/* A packed integer (length-encoded, as in the client protocol); false past end. */
static bool read_packed(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
	if (*p >= end)
		return false;
	unsigned char c = *(*p)++;
	size_t n = c < 251 ? 0 : c == 252 ? 2 : c == 253 ? 3 : c == 254 ? 8 : 99;
	if (n == 99 || (size_t)(end - *p) < n)
		return false;
	uint64_t v = n == 0 ? c : 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)(*p)[i] << (8 * i);
	*p += n;
	*out = v;
	return true;
}

static bool copy_name(char *out, const char *s, size_t len)
{
	if (!s || len == 0 || len >= BL_NAME_MAX || memchr(s, 0, len))
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

static bool is_numeric_type(uint8_t type)
{
	switch (type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL:
	case MYSQL_TYPE_YEAR: return true;
	default: return false;
	}
}

/* How many metadata bytes a type has in the map. */
static size_t meta_size(uint8_t type)
{
	switch (type) {
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
	case MYSQL_TYPE_BLOB:
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_GEOMETRY:
	case TYPE_JSON:
	case TYPE_BLOB_COMPRESSED:
	case MYSQL_TYPE_TIMESTAMP2:
	case MYSQL_TYPE_DATETIME2:
	case MYSQL_TYPE_TIME2: return 1;
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_VAR_STRING:
	case TYPE_VARCHAR_COMPRESSED:
	case MYSQL_TYPE_BIT:
	case MYSQL_TYPE_NEWDECIMAL:
	case MYSQL_TYPE_STRING:
	case MYSQL_TYPE_ENUM:
	case MYSQL_TYPE_SET: return 2;
	default: return 0;
	}
}

/* Reads one column's metadata; STRING becomes ENUM or SET (meta = value size) or stays STRING
 * (meta = maximum byte length), as the server packs them into two bytes. */
static bool read_meta(struct decode_column *c, const uint8_t **p, const uint8_t *end)
{
	size_t n = meta_size(c->type);
	if ((size_t)(end - *p) < n)
		return false;
	const uint8_t *m = *p;
	*p += n;
	if (n == 1) {
		c->meta = m[0];
	} else if (n == 2 && (c->type == MYSQL_TYPE_STRING || c->type == MYSQL_TYPE_ENUM ||
	                      c->type == MYSQL_TYPE_SET)) {
		uint8_t real = m[0];
		uint16_t len = m[1];
		if ((real & 0x30) !=
		    0x30) { /* lengths over 255: two high bits folded into the type */
			len |= (uint16_t)(((real & 0x30) ^ 0x30) << 4);
			real |= 0x30;
		}
		c->type =
		    real == MYSQL_TYPE_ENUM || real == MYSQL_TYPE_SET ? real : MYSQL_TYPE_STRING;
		c->meta = c->type == MYSQL_TYPE_STRING ? len : m[1];
	} else if (n == 2) {
		c->meta = (uint16_t)(m[0] | m[1] << 8);
	}
	return true;
}

/* The key from SIMPLE_PRIMARY_KEY; left unknown if there is none or it is malformed. */
static void read_simple_pk(struct decode_table *t, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	uint32_t cols[DECODE_PK_MAX];
	bool uns[DECODE_PK_MAX];
	unsigned n = 0;
	while (p < end) {
		uint64_t col;
		if (n == DECODE_PK_MAX || !read_packed(&p, end, &col) || col >= t->n_columns)
			return;
		cols[n] = (uint32_t)col;
		uns[n] = t->columns[col].is_unsigned;
		n++;
	}
	decode_table_set_pk(t, cols, uns, n);
}

bool decode_table_build(struct decode_table *out, const char *db, const char *table,
                        const uint8_t *types, uint32_t n_columns, const uint8_t *metadata,
                        size_t metadata_len, const uint8_t *signedness, size_t signedness_len)
{
	memset(out, 0, sizeof(*out));
	if (!copy_name(out->name.db, db, db ? strlen(db) : 0) ||
	    !copy_name(out->name.table, table, table ? strlen(table) : 0) || n_columns == 0 ||
	    n_columns > DECODE_COLUMNS_MAX)
		return false;
	if (!(out->columns = calloc(n_columns, sizeof(*out->columns))))
		return false;
	out->n_columns = n_columns;
	const uint8_t *p = metadata, *end = metadata + metadata_len;
	uint32_t nth_numeric = 0;
	for (uint32_t i = 0; i < n_columns; i++) {
		struct decode_column *c = &out->columns[i];
		c->type = types[i];
		c->key_index = -1;
		if (is_numeric_type(c->type)) {
			uint32_t byte = nth_numeric / 8;
			c->is_unsigned = signedness && byte < signedness_len &&
			                 (signedness[byte] & (0x80 >> (nth_numeric % 8)));
			nth_numeric++;
		}
		if (!read_meta(c, &p, end)) {
			decode_table_free(out);
			return false;
		}
	}
	return true;
}

bool decode_table_map(const MARIADB_RPL_EVENT *tm, struct decode_table *out)
{
	memset(out, 0, sizeof(*out));
	if (tm->event_type != TABLE_MAP_EVENT)
		return false;
	const struct st_mariadb_rpl_table_map_event *m = &tm->event.table_map;
	char db[BL_NAME_MAX], table[BL_NAME_MAX];
	if (!copy_name(db, m->database.str, m->database.length) ||
	    !copy_name(table, m->table.str, m->table.length) || !m->column_types.str ||
	    m->column_types.length < m->column_count)
		return false;
	/* Connector/C keeps no length for SIGNEDNESS: the server writes one bit per numeric
	 * column, so that many bytes are there */
	uint32_t n_numeric = 0;
	for (uint32_t i = 0; i < m->column_count; i++)
		n_numeric += is_numeric_type((uint8_t)m->column_types.str[i]);
	if (!decode_table_build(out, db, table, (const uint8_t *)m->column_types.str,
	                        m->column_count, (const uint8_t *)m->metadata.str,
	                        m->metadata.length, m->signed_indicator, (n_numeric + 7) / 8))
		return false;
	out->full_metadata = m->column_names.length > 0;
	/* a key on a column prefix (PRIMARY KEY (text_col(10))) cannot be spelt from the value */
	if (!out->full_metadata || m->prefixed_primary_keys.length > 0)
		return true;
	read_simple_pk(out, m->simple_primary_keys.data, m->simple_primary_keys.length);
	return true;
}

void decode_table_free(struct decode_table *t)
{
	free(t->columns);
	t->columns = NULL;
	t->n_columns = 0;
	t->pk_known = false;
}

void decode_table_set_pk(struct decode_table *t, const uint32_t *columns, const bool *is_unsigned,
                         unsigned n)
{
	for (uint32_t i = 0; i < t->n_columns; i++)
		t->columns[i].key_index = -1;
	t->pk_known = false;
	t->n_pk = 0;
	if (n == 0 || n > DECODE_PK_MAX)
		return;
	for (unsigned i = 0; i < n; i++) {
		if (columns[i] >= t->n_columns || t->columns[columns[i]].key_index >= 0) {
			for (unsigned j = 0; j < i; j++)
				t->columns[columns[j]].key_index = -1;
			return; /* out of range, or one column twice */
		}
		t->columns[columns[i]].key_index = (int8_t)i;
	}
	for (unsigned i = 0; i < n; i++)
		t->columns[columns[i]].is_unsigned = is_unsigned[i];
	t->n_pk = n;
	t->pk_known = true;
}

/* ---- values -------------------------------------------------------------------------------- */

static uint64_t read_le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static size_t decimal_size(unsigned precision, unsigned scale)
{
	static const size_t dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
	if (precision == 0 || precision > 65 || scale > 30 || scale > precision)
		return 0;
	unsigned intg = precision - scale;
	return (intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 + dig2bytes[scale % 9];
}

/* A value: where its payload starts, how long the payload is, and how many bytes it takes. */
struct span {
	const unsigned char *data;
	size_t len;
	size_t total;
};

/* A payload after a little-endian length of prefix bytes. */
static bool prefixed(const unsigned char *p, const unsigned char *end, size_t prefix,
                     struct span *s)
{
	if ((size_t)(end - p) < prefix)
		return false;
	uint64_t len = read_le(p, prefix);
	if ((uint64_t)(end - p) - prefix < len)
		return false;
	*s = (struct span){p + prefix, (size_t)len, prefix + (size_t)len};
	return true;
}

static bool fixed(const unsigned char *p, const unsigned char *end, size_t n, struct span *s)
{
	if (n == 0 || (size_t)(end - p) < n)
		return false;
	*s = (struct span){p, n, n};
	return true;
}

/* The span of the value of column c at p; false if it overruns end or the type is unknown. */
static bool value_span(const struct decode_column *c, const unsigned char *p,
                       const unsigned char *end, struct span *s)
{
	switch (c->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_YEAR: return fixed(p, end, 1, s);
	case MYSQL_TYPE_SHORT: return fixed(p, end, 2, s);
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_NEWDATE:
	case MYSQL_TYPE_TIME: return fixed(p, end, 3, s);
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_TIMESTAMP: return fixed(p, end, 4, s);
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_DATETIME: return fixed(p, end, 8, s);
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE: return fixed(p, end, c->meta, s);
	case MYSQL_TYPE_TIMESTAMP2: return fixed(p, end, 4 + (c->meta + 1) / 2, s);
	case MYSQL_TYPE_DATETIME2: return fixed(p, end, 5 + (c->meta + 1) / 2, s);
	case MYSQL_TYPE_TIME2: return fixed(p, end, 3 + (c->meta + 1) / 2, s);
	case MYSQL_TYPE_NEWDECIMAL:
		return fixed(p, end, decimal_size(c->meta & 0xff, c->meta >> 8), s);
	case MYSQL_TYPE_BIT: return fixed(p, end, (c->meta >> 8) + ((c->meta & 0xff) ? 1 : 0), s);
	case MYSQL_TYPE_ENUM:
	case MYSQL_TYPE_SET: return fixed(p, end, c->meta, s);
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_VAR_STRING:
	case TYPE_VARCHAR_COMPRESSED:
	case MYSQL_TYPE_STRING: return prefixed(p, end, c->meta > 255 ? 2 : 1, s);
	case MYSQL_TYPE_BLOB:
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_GEOMETRY:
	case TYPE_JSON:
	case TYPE_BLOB_COMPRESSED:
		return c->meta >= 1 && c->meta <= 4 && prefixed(p, end, c->meta, s);
	default: return false; /* the old DECIMAL, or a type this tailer does not know */
	}
}

static unsigned int_bytes(uint8_t type)
{
	switch (type) {
	case MYSQL_TYPE_TINY: return 1;
	case MYSQL_TYPE_SHORT: return 2;
	case MYSQL_TYPE_INT24: return 3;
	case MYSQL_TYPE_LONG: return 4;
	case MYSQL_TYPE_LONGLONG: return 8;
	default: return 0;
	}
}

/* Appends one key column's value to key; false if it cannot be spelt. */
static bool spell_value(struct mark_key *key, const struct decode_column *c, const struct span *v)
{
	unsigned n = int_bytes(c->type);
	if (n) {
		uint64_t raw = read_le(v->data, n);
		if (c->is_unsigned)
			return mark_key_add_uint(key, raw);
		unsigned bits = 8 * n;
		if (bits < 64 && (raw >> (bits - 1)) & 1)
			raw |= ~((UINT64_C(1) << bits) - 1); /* sign-extend */
		return mark_key_add_int(key, (int64_t)raw);
	}
	if (c->type == MYSQL_TYPE_VARCHAR || c->type == MYSQL_TYPE_VAR_STRING ||
	    c->type == MYSQL_TYPE_STRING) {
		/* BINARY(n) pads with NUL bytes, which a literal in the proxy never has */
		if (memchr(v->data, 0, v->len))
			return false;
		return mark_key_add_string(key, (const char *)v->data, v->len);
	}
	return false; /* dates, decimals, floats, enums, blobs: table-wide */
}

/* ---- row images ---------------------------------------------------------------------------- */

static bool bit_set(const unsigned char *bitmap, uint32_t i)
{
	return (bitmap[i / 8] >> (i % 8)) & 1;
}

bool decode_rows_event(struct decode_rows *r, const struct decode_table *t,
                       const MARIADB_RPL_EVENT *ev)
{
	const struct st_mariadb_rpl_rows_event *rows = &ev->event.rows;
	bool update = rows->type == UPDATE_ROWS;
	if (!IS_ROW_EVENT(ev) || rows->column_count != t->n_columns || !rows->column_bitmap ||
	    (update && !rows->column_update_bitmap))
		return false;
	decode_rows_begin(r, t, rows->row_data, rows->row_data ? rows->row_data_size : 0,
	                  rows->column_bitmap, rows->column_update_bitmap, update);
	return true;
}

void decode_rows_begin(struct decode_rows *r, const struct decode_table *t,
                       const unsigned char *data, size_t len, const unsigned char *present,
                       const unsigned char *present_after, bool update)
{
	*r = (struct decode_rows){.table = t,
	                          .p = data,
	                          .end = data + len,
	                          .present = {present, update ? present_after : present},
	                          .update = update};
}

enum decode_image decode_rows_next(struct decode_rows *r, struct mark_key *key)
{
	mark_key_init(key);
	if (r->p >= r->end)
		return DECODE_IMAGE_END;
	const struct decode_table *t = r->table;
	const unsigned char *present = r->present[r->update && (r->image & 1)];
	r->image++;
	uint32_t n_present = 0;
	for (uint32_t i = 0; i < t->n_columns; i++)
		n_present += bit_set(present, i);
	size_t null_bytes = (n_present + 7) / 8;
	if ((size_t)(r->end - r->p) < null_bytes)
		return DECODE_IMAGE_MALFORMED;
	const unsigned char *nulls = r->p;
	const unsigned char *p = r->p + null_bytes;
	struct span key_values[DECODE_PK_MAX];
	unsigned found = 0;
	bool key_null = false;
	uint32_t nth = 0;
	for (uint32_t i = 0; i < t->n_columns; i++) {
		if (!bit_set(present, i))
			continue;
		const struct decode_column *c = &t->columns[i];
		if (bit_set(nulls, nth++)) {
			key_null |= c->key_index >= 0;
			continue;
		}
		struct span v;
		if (!value_span(c, p, r->end, &v))
			return DECODE_IMAGE_MALFORMED;
		p += v.total;
		if (c->key_index >= 0) {
			key_values[c->key_index] = v;
			found++;
		}
	}
	if (p == r->p)
		return DECODE_IMAGE_MALFORMED; /* no column present: the walk would never end */
	r->p = p;
	if (!t->pk_known || key_null || found != t->n_pk)
		return DECODE_IMAGE_NO_KEY;
	for (unsigned k = 0; k < t->n_pk; k++) {
		uint32_t col = 0;
		while (t->columns[col].key_index != (int8_t)k)
			col++;
		if (!spell_value(key, &t->columns[col], &key_values[k]))
			return DECODE_IMAGE_NO_KEY;
	}
	return key->ok ? DECODE_IMAGE_KEY : DECODE_IMAGE_NO_KEY;
}

bool decode_is_rows_event(const MARIADB_RPL_EVENT *ev)
{
	return IS_ROW_EVENT(ev);
}
