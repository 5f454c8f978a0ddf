/*
 * fuzz_binlog.c - the tailer's own parsers on arbitrary bytes: row images (binlog/decode.c,
 * decode_rows_*) and QUERY statements (binlog/query.c).
 *
 * Input layout for the row decoder (anything shorter is only fed to the statement classifier):
 *   [0]        number of columns (1..32)
 *   [1..n]     their binlog types
 *   [n+1]      metadata length m, then m bytes of table-map metadata
 *   next       one SIGNEDNESS byte, a key length k (0..4), k key column indexes, a flags byte
 *              (bit 0: UPDATE, so images alternate between two present bitmaps)
 *   next       the present bitmap(s), (n + 7) / 8 bytes each
 *   rest       row data
 * The decoder must never read outside the buffers and must end (each image consumes bytes or
 * stops the walk); spelt keys must be NUL-terminated within their buffer.
 */
#include "decode.h"
#include "query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void fuzz_rows(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	if (len < 1 || p[0] == 0 || p[0] > 32)
		return;
	uint32_t n = p[0];
	p++;
	if ((size_t)(end - p) < n + 1)
		return;
	const uint8_t *types = p;
	p += n;
	size_t m = *p++;
	if ((size_t)(end - p) < m + 2)
		return;
	const uint8_t *meta = p;
	p += m;
	uint8_t sign = *p++;
	unsigned k = *p++ % 5;
	if ((size_t)(end - p) < k + 1)
		return;
	uint32_t key[4];
	bool uns[4] = {false};
	for (unsigned i = 0; i < k; i++)
		key[i] = p[i] % n;
	p += k;
	bool update = *p++ & 1;
	size_t bitmap = (n + 7) / 8;
	if ((size_t)(end - p) < bitmap * (update ? 2 : 1))
		return;
	const uint8_t *present = p, *after = update ? p + bitmap : NULL;
	p += bitmap * (update ? 2 : 1);
	struct decode_table t;
	if (!decode_table_build(&t, "db", "t", types, n, meta, m, &sign, 1))
		return;
	decode_table_set_pk(&t, key, uns, k);
	/* the row data in a buffer of its own size, so ASan sees any overrun */
	size_t data_len = (size_t)(end - p);
	uint8_t *data = malloc(data_len ? data_len : 1);
	memcpy(data, p, data_len);
	struct decode_rows r;
	decode_rows_begin(&r, &t, data, data_len, present, after, update);
	struct mark_key mk;
	for (size_t images = 0;; images++) {
		CHECK(images <= data_len);
		enum decode_image res = decode_rows_next(&r, &mk);
		CHECK(strnlen(mk.text, sizeof(mk.text)) < sizeof(mk.text));
		if (res == DECODE_IMAGE_END || res == DECODE_IMAGE_MALFORMED)
			break;
	}
	free(data);
	decode_table_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rows(data, size);
	struct query_info q;
	char *sql = malloc(size ? size : 1);
	memcpy(sql, data, size);
	query_classify("db", 2, sql, size, &q);
	CHECK(q.n_tables <= QUERY_TABLES_MAX);
	for (unsigned i = 0; i < q.n_tables; i++)
		CHECK(strnlen(q.tables[i].db, BL_NAME_MAX) < BL_NAME_MAX &&
		      strnlen(q.tables[i].table, BL_NAME_MAX) < BL_NAME_MAX);
	free(sql);
	return 0;
}
