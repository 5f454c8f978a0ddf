/*
 * fuzz_keys.c - the primary-key extractor (proxy/keys.c) on arbitrary text.
 *
 * The input is the statement text of a COM_QUERY or COM_STMT_PREPARE, copied into a heap block of
 * exactly its size (no NUL after it), so a read past the end is caught. It is classified as the
 * proxy does, and when the classifier names one table, keys are extracted for two shapes of that
 * table (an AUTO_INCREMENT integer key; a composite integer and string key), without values for
 * its '?' markers and with some. Beyond not crashing: a table-wide answer lists nothing, every key
 * is spelt in the alphabet of marks.c with one value per key column, no key is listed twice, the
 * answer does not change when asked again, and values for the markers never make a point answer
 * table-wide.
 */
#include "classify.h"
#include "keys.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_DB "app"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static struct schema_table auto_int_key(void)
{
	struct schema_table t = {.db = DEFAULT_DB, .name = "t", .n_pk = 1, .n_columns = 3};
	strcpy(t.pk[0], "id");
	t.auto_increment = true;
	return t;
}

static struct schema_table int_string_key(void)
{
	struct schema_table t = {.db = DEFAULT_DB, .name = "t", .n_pk = 2, .n_columns = 3};
	strcpy(t.pk[0], "a");
	t.pk_position[0] = 2;
	strcpy(t.pk[1], "b");
	t.pk_kind[1] = SCHEMA_COL_STRING;
	t.other_unique = true;
	return t;
}

/* Marker i is bound to the integer i, the string "vI", or NULL, in turn. */
static bool add_param(const void *ctx, unsigned i, enum schema_col_kind kind, struct mark_key *k)
{
	(void)ctx;
	char s[16];
	switch (i % 3) {
	case 0: return kind == SCHEMA_COL_INT && mark_key_add_uint(k, i);
	case 1:
		s[0] = 'v';
		s[1] = (char)('0' + i % 10);
		return kind == SCHEMA_COL_STRING && mark_key_add_string(k, s, 2);
	default: return false;
	}
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
	       c == '_' || c == '-' || c == '%' || c == ',';
}

static void check_answer(const struct keys_result *r, const struct schema_table *t)
{
	CHECK(r->n_keys <= KEYS_MAX);
	CHECK(r->point || (r->n_keys == 0 && r->auto_rows == 0));
	CHECK(r->auto_rows <= KEYS_MAX);
	for (size_t i = 0; i < r->n_keys; i++) {
		const struct mark_key *k = &r->keys[i];
		CHECK(k->ok && k->n_values == t->n_pk);
		CHECK(k->len < MARK_KEY_TEXT_MAX && strlen(k->text) == k->len);
		size_t commas = 0;
		for (size_t j = 0; j < k->len; j++) {
			CHECK(is_key_char(k->text[j]));
			commas += k->text[j] == ',';
		}
		CHECK(commas == t->n_pk - 1);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(r->keys[j].text, k->text) != 0);
	}
}

static bool same_answer(const struct keys_result *a, const struct keys_result *b)
{
	if (a->point != b->point || a->n_keys != b->n_keys || a->auto_rows != b->auto_rows)
		return false;
	for (size_t i = 0; i < a->n_keys; i++)
		if (strcmp(a->keys[i].text, b->keys[i].text) != 0)
			return false;
	return true;
}

static void extract(const char *sql, size_t size, const struct cls_result *c,
                    const struct schema_table *t)
{
	static const struct keys_params params = {add_param, NULL};
	static struct keys_result bare, bound, again; /* 9 KB each: off the stack */
	keys_extract(sql, size, c, t, NULL, &bare);
	check_answer(&bare, t);
	keys_extract(sql, size, c, t, &params, &bound);
	check_answer(&bound, t);
	CHECK(!bare.point || bound.point);
	keys_extract(sql, size, c, t, &params, &again);
	CHECK(same_answer(&bound, &again));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sql = malloc(size ? size : 1);
	if (!sql)
		return 0;
	memcpy(sql, data, size);
	struct cls_result c;
	classify(sql, size, DEFAULT_DB, &c);
	if (c.n_tables == 1 && !(c.flags & CLS_TABLES_OVERFLOW)) {
		const struct schema_table shapes[] = {auto_int_key(), int_string_key()};
		for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
			extract(sql, size, &c, &shapes[i]);
	}
	free(sql);
	return 0;
}
