/*
 * table_list.c - the [cache] tables list (see table_list.h).
 */
#include "table_list.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_blank(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static const char *skip_blanks(const char *s, const char *e)
{
	while (s < e && is_blank((unsigned char)*s))
		s++;
	return s;
}

static bool fail(char *err, size_t errlen, unsigned index, const char *s, const char *e,
                 const char *what)
{
	int shown = e - s > 80 ? 80 : (int)(e - s);
	snprintf(err, errlen, "item %u '%.*s'%s: %s", index, shown, s, e - s > 80 ? "..." : "",
	         what);
	return false;
}

/* Checks and copies one name of an item; NULL if fine, else what is wrong. */
static const char *take_name(char *dst, const char *s, const char *e, bool star_ok)
{
	if (s == e)
		return "empty database or table name";
	if (star_ok && e - s == 1 && *s == '*') {
		strcpy(dst, "*");
		return NULL;
	}
	for (const char *q = s; q < e; q++) {
		if (is_blank((unsigned char)*q) || *q == '`' || *q == '*' || *q == '.')
			return "a name is db.table, db.* or *, unquoted";
	}
	if (e - s > TABLE_NAME_MAX - 1)
		return "a name is longer than 64 bytes";
	memcpy(dst, s, (size_t)(e - s));
	dst[e - s] = '\0';
	return NULL;
}

static bool parse_item(const char *s, const char *e, unsigned index, struct cache_tables *out,
                       char *err, size_t errlen)
{
	s = skip_blanks(s, e);
	while (e > s && is_blank((unsigned char)e[-1]))
		e--;
	if (s == e)
		return fail(err, errlen, index, s, e, "empty item");
	if (e - s == 1 && *s == '*') {
		out->any = true;
		return true;
	}
	const char *dot = memchr(s, '.', (size_t)(e - s));
	if (!dot)
		return fail(err, errlen, index, s, e, "no dot: write db.table, db.* or *");
	if (out->n == CACHE_TABLES_MAX)
		return fail(err, errlen, index, s, e, "more than 64 items");
	const char *why = take_name(out->item[out->n].db, s, dot, false);
	if (!why)
		why = take_name(out->item[out->n].table, dot + 1, e, true);
	if (why)
		return fail(err, errlen, index, s, e, why);
	out->n++;
	return true;
}

bool cache_tables_parse(const char *list, struct cache_tables *out, char *err, size_t errlen)
{
	out->n = 0;
	out->any = false;
	const char *end = list + strlen(list);
	if (skip_blanks(list, end) == end)
		return true;
	for (unsigned index = 1;; index++) {
		const char *comma = memchr(list, ',', (size_t)(end - list));
		const char *e = comma ? comma : end;
		if (!parse_item(list, e, index, out, err, errlen))
			return false;
		if (!comma)
			return true;
		list = comma + 1;
	}
}

static bool same_name(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool cache_tables_match(const struct cache_tables *t, const char *db, const char *table)
{
	if (t->any)
		return true;
	for (unsigned i = 0; i < t->n; i++) {
		if (same_name(t->item[i].db, db) &&
		    (strcmp(t->item[i].table, "*") == 0 || same_name(t->item[i].table, table)))
			return true;
	}
	return false;
}
