/*
 * decode.h - from TABLE_MAP and rows events, the primary keys of the changed rows.
 *
 * Connector/C frames the events (mariadb_rpl_fetch: headers, checksums, decompression of the
 * compressed rows events); this module reads the row images themselves. Connector/C 3.3's
 * mariadb_rpl_extract_rows cannot be used: it fails on CHAR columns and on tables whose columns
 * carry no metadata (e.g. only INTs), and it ignores the sign of integers. So decode walks each
 * row image with bounds checks, stepping over every column by its binlog type and metadata and
 * keeping only the key columns' values. It is pure (no I/O; a table's column array is its only
 * allocation) and its byte-level entry point (decode_rows_begin/next) is what the fuzzer feeds.
 *
 * A key is spelt with cache/marks.h's mark_key_* as the proxy spells a point write's literal:
 * integers by value (signed or unsigned per the table map's SIGNEDNESS), strings as stored. A row
 * whose key cannot be spelt (no primary key, a key column of another type, a non-ASCII string, a
 * prefix key, a NUL byte) has no name: the caller invalidates its table.
 */
#pragma once

#include "marks.h"
#include "names.h"

#include <mysql.h>
/* mysql.h first: mariadb_rpl.h uses its types */
#include <mariadb_rpl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DECODE_PK_MAX      16
#define DECODE_COLUMNS_MAX 4096 /* MariaDB's own limit */

struct decode_column {
	uint8_t type;     /* binlog type (enum_field_types; STRING's real type resolved) */
	uint16_t meta;    /* type metadata, as read from the map */
	bool is_unsigned; /* per SIGNEDNESS */
	int8_t key_index; /* position in the primary key, or -1 */
};

/* One table as a TABLE_MAP event (and, without full metadata, information_schema) describes it.
 * Owns columns (decode_table_free). */
struct decode_table {
	struct bl_table_name name;
	uint32_t n_columns;
	struct decode_column *columns;
	bool full_metadata; /* the map carried column names (binlog_row_metadata=FULL) */
	bool pk_known;      /* false: every row of this table is invalidated table-wide */
	unsigned n_pk;
};

/* Reads a TABLE_MAP event. With full metadata the primary key comes from the map; without it,
 * pk_known stays false until decode_table_set_pk. False if the event is malformed, a name does
 * not fit or memory runs out (then the caller invalidates everything). */
bool decode_table_map(const MARIADB_RPL_EVENT *tm, struct decode_table *out)
    __attribute__((warn_unused_result));
/* The same from the map's parts (the fuzzer's and the tests' way in). */
bool decode_table_build(struct decode_table *out, const char *db, const char *table,
                        const uint8_t *types, uint32_t n_columns, const uint8_t *metadata,
                        size_t metadata_len, const uint8_t *signedness, size_t signedness_len)
    __attribute__((warn_unused_result));
void decode_table_free(struct decode_table *t);
/* Sets the primary key learnt elsewhere: n column indexes, whether each is unsigned (that also
 * overrides SIGNEDNESS). n == 0 or a column out of range leaves the key unknown. */
void decode_table_set_pk(struct decode_table *t, const uint32_t *columns, const bool *is_unsigned,
                         unsigned n);

/* A walk over the row images of one rows event. */
struct decode_rows {
	const struct decode_table *table;
	const unsigned char *p, *end;
	const unsigned char *present[2]; /* columns-present bitmaps: image 0, and after images */
	bool update;                     /* images alternate before / after */
	unsigned image;                  /* images read so far */
};

enum decode_image {
	DECODE_IMAGE_KEY,       /* key spelt */
	DECODE_IMAGE_NO_KEY,    /* a well-formed image whose key cannot be spelt */
	DECODE_IMAGE_END,       /* no more images */
	DECODE_IMAGE_MALFORMED, /* the bytes do not match the table: stop, invalidate the table */
};

/* Starts on a rows event (WRITE/UPDATE/DELETE, V1, compressed or not); false if the event does
 * not belong to this table's shape. */
bool decode_rows_event(struct decode_rows *r, const struct decode_table *t,
                       const MARIADB_RPL_EVENT *ev) __attribute__((warn_unused_result));
/* The same from raw parts: row data, the present bitmaps (after = NULL unless update). */
void decode_rows_begin(struct decode_rows *r, const struct decode_table *t,
                       const unsigned char *data, size_t len, const unsigned char *present,
                       const unsigned char *present_after, bool update);
enum decode_image decode_rows_next(struct decode_rows *r, struct mark_key *key);

/* Whether a rows event writes (WRITE/UPDATE/DELETE, compressed or not; V1 as MariaDB writes). */
bool decode_is_rows_event(const MARIADB_RPL_EVENT *ev);
