/*
 * marks.c - spelling of pin marks: key names, canonical key values, mark values (see marks.h).
 */
#include "marks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mark_key_init(struct mark_key *k)
{
	k->len = 0;
	k->n_values = 0;
	k->ok = true;
	k->text[0] = '\0';
}

static bool is_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Appends bytes lower-cased and percent-encoded (all but [a-z0-9_-]); false if it does not fit. */
static bool append_encoded(char *out, size_t cap, size_t *len, const char *bytes, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)bytes[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		size_t need = is_plain(c) ? 1 : 3;
		if (*len + need >= cap)
			return false;
		if (need == 1) {
			out[(*len)++] = (char)c;
		} else {
			out[(*len)++] = '%';
			out[(*len)++] = hex[c >> 4];
			out[(*len)++] = hex[c & 15];
		}
	}
	out[*len] = '\0';
	return true;
}

/* Starts the next value: a ',' after the first. */
static bool begin_value(struct mark_key *k)
{
	if (!k->ok)
		return false;
	if (k->n_values > 0) {
		if (k->len + 1 >= sizeof(k->text))
			return k->ok = false;
		k->text[k->len++] = ',';
		k->text[k->len] = '\0';
	}
	k->n_values++;
	return true;
}

static bool append_raw(struct mark_key *k, const char *s, size_t n)
{
	if (k->len + n >= sizeof(k->text))
		return k->ok = false;
	memcpy(k->text + k->len, s, n);
	k->len += n;
	k->text[k->len] = '\0';
	return true;
}

bool mark_key_add_int_text(struct mark_key *k, const char *text, size_t len)
{
	size_t i = 0;
	bool negative = false;
	if (i < len && (text[i] == '+' || text[i] == '-'))
		negative = text[i++] == '-';
	size_t start = i;
	while (i < len && text[i] >= '0' && text[i] <= '9')
		i++;
	size_t end = i;
	if (end == start)
		return k->ok = false;
	if (i < len && text[i] == '.') {
		for (i++; i < len && text[i] == '0'; i++)
			;
	}
	if (i != len)
		return k->ok = false;
	while (start + 1 < end && text[start] == '0')
		start++;
	bool zero = end - start == 1 && text[start] == '0';
	if (!begin_value(k))
		return false;
	if (negative && !zero && !append_raw(k, "-", 1))
		return false;
	return append_raw(k, text + start, end - start);
}

bool mark_key_add_int(struct mark_key *k, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	return begin_value(k) && append_raw(k, buf, (size_t)n);
}

bool mark_key_add_uint(struct mark_key *k, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return begin_value(k) && append_raw(k, buf, (size_t)n);
}

bool mark_key_add_string(struct mark_key *k, const char *bytes, size_t len)
{
	while (len > 0 && bytes[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)bytes[i] >= 0x80)
			return k->ok = false;
	if (!begin_value(k))
		return false;
	if (!append_encoded(k->text, sizeof(k->text), &k->len, bytes, len))
		return k->ok = false;
	return true;
}

size_t mark_name(char *out, const char *prefix, enum mark_kind kind, const char *db,
                 const char *table, const struct mark_key *key)
{
	int n = snprintf(out, MARK_NAME_MAX, "%s:pin:%c:", prefix, (char)kind);
	if (n < 0 || n >= MARK_NAME_MAX)
		return 0;
	size_t len = (size_t)n;
	if (!append_encoded(out, MARK_NAME_MAX, &len, db, strlen(db)) || len + 1 >= MARK_NAME_MAX)
		return 0;
	out[len++] = '.';
	if (!append_encoded(out, MARK_NAME_MAX, &len, table, strlen(table)))
		return 0;
	if (kind != MARK_ROW)
		return len;
	if (!key || !key->ok || len + 1 + key->len >= MARK_NAME_MAX)
		return 0;
	out[len++] = ':';
	memcpy(out + len, key->text, key->len + 1);
	return len + key->len;
}

/* ---- values ------------------------------------------------------------------------------- */

/* Reads an unsigned decimal at *p (< end); false if there is none or it overflows. */
static bool read_number(const char **p, const char *end, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

bool gtid_parse(const char *text, size_t len, struct gtid *out)
{
	const char *p = text, *end = text + len;
	uint64_t d, s, n;
	if (!read_number(&p, end, UINT32_MAX, &d) || p == end || *p++ != '-' ||
	    !read_number(&p, end, UINT32_MAX, &s) || p == end || *p++ != '-' ||
	    !read_number(&p, end, UINT64_MAX, &n) || p != end)
		return false;
	*out = (struct gtid){(uint32_t)d, (uint32_t)s, n};
	return true;
}

bool gtid_list_parse(const char *text, size_t len, struct gtid *out, unsigned max, unsigned *n)
{
	*n = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\n'))
			p++; /* MariaDB prints ",\n" between domains in some versions */
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		if (stop == p)
			return false;
		if (*n == max || !gtid_parse(p, (size_t)(stop - p), &out[*n]))
			return false;
		(*n)++;
		if (!comma)
			break;
		p = comma + 1;
		if (p == end)
			return false; /* "0-1-5," promises a GTID that is not there */
	}
	return true;
}

bool mark_value_parse(const char *text, size_t len, struct mark_value *out)
{
	memset(out, 0, sizeof(*out));
	const char *p = text, *end = text + len;
	uint64_t pending;
	if (!read_number(&p, end, UINT32_MAX, &pending) || p == end || *p++ != '|')
		return false;
	out->pending = (unsigned)pending;
	if (end - p == 1 && *p == '*') {
		out->unknown_gtid = true;
		return true;
	}
	return gtid_list_parse(p, (size_t)(end - p), out->gtids, MARK_GTIDS_MAX, &out->n_gtids);
}

bool mark_allows(const struct mark_value *v, const char *pos)
{
	if (v->pending || v->unknown_gtid || v->n_gtids == 0 || !pos)
		return false;
	struct gtid have[64];
	unsigned n_have;
	if (!gtid_list_parse(pos, strlen(pos), have, 64, &n_have))
		return false;
	for (unsigned i = 0; i < v->n_gtids; i++) {
		bool reached = false;
		for (unsigned j = 0; j < n_have && !reached; j++)
			reached =
			    have[j].domain == v->gtids[i].domain && have[j].seq >= v->gtids[i].seq;
		if (!reached)
			return false;
	}
	return true;
}

/* Both scripts read a value as "PENDING|GTIDS"; anything else counts as "0|*" (pins). */
#define LUA_READ_MARK                                                                              \
	"local v = redis.call('GET', k)\n"                                                         \
	"local p, g = 0, ''\n"                                                                     \
	"if v then\n"                                                                              \
	"  local a, b = string.match(v, '^(%d+)|(.*)$')\n"                                         \
	"  if a then p = tonumber(a); g = b else g = '*' end\n"                                    \
	"end\n"
#define LUA_WRITE_MARK                                                                             \
	"local t = redis.call('PTTL', k)\n"                                                        \
	"if t < ttl then t = ttl end\n"                                                            \
	"redis.call('SET', k, p .. '|' .. g, 'PX', t)\n"

const char MARKS_LUA_ARM[] =
    "local ttl = tonumber(ARGV[1])\n"
    "for _, k in ipairs(KEYS) do\n" LUA_READ_MARK "p = p + 1\n" LUA_WRITE_MARK "end\n"
    "return #KEYS\n";

const char MARKS_LUA_SETTLE[] =
    "local ttl, gtid, dec = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])\n"
    "local d, _, n = string.match(gtid, '^(%d+)-(%d+)-(%d+)$')\n"
    "for _, k in ipairs(KEYS) do\n" LUA_READ_MARK "p = p - dec\n"
    "if p < 0 then p = 0 end\n"
    "if not d or g == '*' then\n"
    "  g = '*'\n"
    "else\n"
    "  local out, found = {}, false\n"
    "  for e in string.gmatch(g, '[^,]+') do\n"
    "    local ed, _, en = string.match(e, '^(%d+)-(%d+)-(%d+)$')\n"
    "    if ed == d then\n"
    "      found = true\n"
    "      if tonumber(en) < tonumber(n) then e = gtid end\n"
    "    end\n"
    "    table.insert(out, e)\n"
    "  end\n"
    "  if not found then table.insert(out, gtid) end\n"
    "  g = table.concat(out, ',')\n"
    "end\n" LUA_WRITE_MARK "end\n"
    "return #KEYS\n";
