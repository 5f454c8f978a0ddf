/*
 * results.c - the result cache's key names, entry values and Lua scripts (see results.h).
 */
#include "results.h"

#include "marks.h"

#include <stdio.h>
#include <string.h>

/* The stamp of KEYS[first..last]: their values joined by ',', '-' for a missing one. */
#define LUA_STAMP                                                                                  \
	"local function stamp(first, last)\n"                                                      \
	"  if last < first then return '' end\n"                                                   \
	"  local v = redis.call('MGET', unpack(KEYS, first, last))\n"                              \
	"  for i = 1, #v do if not v[i] then v[i] = '-' end end\n"                                 \
	"  return table.concat(v, ',')\n"                                                          \
	"end\n"

const char RESULTS_LUA_LOOKUP[] =
    LUA_STAMP "local m = tonumber(ARGV[1])\n"
              "if m > 0 then\n"
              "  local marks = redis.call('MGET', unpack(KEYS, 1, m))\n"
              "  for i = 1, m do if marks[i] then return {0, marks} end end\n"
              "end\n"
              "local entry, lease = KEYS[#KEYS - 1], KEYS[#KEYS]\n"
              "local now = stamp(m + 1, #KEYS - 2)\n"
              "local e = redis.call('GET', entry)\n"
              "if e then\n"
              "  local cut = string.find(e, '|', 1, true)\n"
              "  if cut and string.sub(e, 1, cut - 1) == now then\n"
              "    return {1, e, redis.call('PTTL', entry)}\n"
              "  end\n"
              "  redis.call('DEL', entry)\n"
              "end\n"
              "if redis.call('SET', lease, ARGV[2], 'NX', 'PX', ARGV[3]) then\n"
              "  return {2, now}\n"
              "end\n"
              "return {3}\n";

const char RESULTS_LUA_FILL[] =
    LUA_STAMP "local m, v = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
              "local entry, lease = KEYS[m + v + 1], KEYS[m + v + 2]\n"
              "if redis.call('GET', lease) ~= ARGV[3] then return 0 end\n"
              "redis.call('DEL', lease)\n"
              "if ARGV[6] == '' then return 2 end\n"
              "if m > 0 and redis.call('EXISTS', unpack(KEYS, 1, m)) > 0 then return -1 end\n"
              "if stamp(m + 1, m + v) ~= ARGV[4] then return -2 end\n"
              "redis.call('SET', entry, ARGV[4] .. '|' .. ARGV[6], 'PX', ARGV[5])\n"
              "for i = m + v + 3, #KEYS do\n"
              "  redis.call('SADD', KEYS[i], entry)\n"
              "  redis.call('PEXPIRE', KEYS[i], ARGV[5])\n"
              "end\n"
              "return 1\n";

const char RESULTS_LUA_INVALIDATE[] =
    "local n = tonumber(ARGV[1])\n"
    "for i = 1, n do redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[3]) end\n"
    "local dropped = 0\n"
    "for i = n + 1, #KEYS do\n"
    "  for _, e in ipairs(redis.call('SMEMBERS', KEYS[i])) do\n"
    "    dropped = dropped + redis.call('DEL', e)\n"
    "  end\n"
    "  redis.call('DEL', KEYS[i])\n"
    "end\n"
    "redis.call('PUBLISH', ARGV[4], ARGV[5])\n"
    "return dropped\n";

const char *results_dep_of_mark(const char *mark, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(mark, prefix, n) != 0 || strncmp(mark + n, ":pin:", 5) != 0)
		return NULL;
	return mark + n + 5;
}

bool results_dep_is_row(const char *dep)
{
	return dep[0] == MARK_ROW && dep[1] == ':';
}

static size_t fitted(int n, size_t cap)
{
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t results_key_name(char *out, size_t cap, const char *prefix, enum results_key kind,
                        const char *rest)
{
	return fitted(snprintf(out, cap, "%s:c:%c:%s", prefix, (char)kind, rest), cap);
}

size_t results_tag_name(char *out, size_t cap, const char *prefix, const char *dep)
{
	return fitted(snprintf(out, cap, "%s:c:g:%s", prefix, dep), cap);
}

size_t results_channel(char *out, size_t cap, const char *prefix)
{
	return fitted(snprintf(out, cap, "%s:c:drop", prefix), cap);
}

void results_digest_hex(const uint8_t digest[RESULTS_DIGEST_LEN], char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < RESULTS_DIGEST_LEN; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[RESULTS_DIGEST_HEX] = '\0';
}

/* Has the server at pos applied g? A domain pos does not list has applied nothing of it. */
static bool position_has(const struct gtid *pos, unsigned n, const struct gtid *g)
{
	for (unsigned i = 0; i < n; i++)
		if (pos[i].domain == g->domain)
			return pos[i].seq >= g->seq;
	return false;
}

bool results_stamp_covered(const char *stamp, size_t len, const char *pos)
{
	struct gtid have[MARK_GTIDS_MAX];
	unsigned n_have = 0;
	bool pos_ok = gtid_list_parse(pos, strlen(pos), have, MARK_GTIDS_MAX, &n_have);
	for (size_t at = 0; at < len;) {
		const char *comma = memchr(stamp + at, ',', len - at);
		size_t n = comma ? (size_t)(comma - (stamp + at)) : len - at;
		struct gtid g;
		if (gtid_parse(stamp + at, n, &g) && (!pos_ok || !position_has(have, n_have, &g)))
			return false;
		at += n + 1;
	}
	return true;
}

bool results_entry_split(const char *value, size_t len, size_t *stamp_len, size_t *bytes_at)
{
	const char *bar = memchr(value, '|', len);
	if (!bar)
		return false;
	*stamp_len = (size_t)(bar - value);
	*bytes_at = *stamp_len + 1;
	return true;
}
