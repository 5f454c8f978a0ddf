/*
 * fuzz_classify.c - the SQL classifier (proxy/classify.c) and the router on arbitrary text.
 *
 * The input is the statement text of a COM_QUERY, copied into a heap block of exactly its size
 * (no NUL after it), so a read past the end is caught. It is classified with a default
 * database, and the result routed for a few session states. Beyond not crashing, the
 * invariants test_classify.c states for any input must hold, and no statement the classifier
 * says must run on the primary may be routed to a replica outside a read-only transaction.
 * The result cache's decisions (proxy/cacheable.c) run on the same text: the verdict must agree
 * with itself and the classifier, and the cache key must be no longer than the text, its own
 * key, and classified as the text is but for the routing hints its dropped comments held.
 */
#include "cacheable.h"
#include "classify.h"
#include "router.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_DB "app"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static bool has_temp_table(const void *ctx, const char *db, const char *name)
{
	(void)ctx;
	return strcmp(db, DEFAULT_DB) == 0 && strcmp(name, "tmp") == 0;
}

static void check_result(const struct cls_result *r)
{
	CHECK(r->kind < CLS_KIND_COUNT);
	CHECK(r->n_tables <= CLS_MAX_TABLES);
	CHECK(strnlen(r->use_db, CLS_NAME_MAX) < CLS_NAME_MAX);
	for (size_t i = 0; i < r->n_tables; i++) {
		CHECK(strnlen(r->tables[i].db, CLS_NAME_MAX) < CLS_NAME_MAX);
		CHECK(strnlen(r->tables[i].name, CLS_NAME_MAX) < CLS_NAME_MAX);
	}
	CHECK(r->kind != CLS_KIND_UNKNOWN || (r->flags & CLS_WRITE));
	CHECK(!r->all_plain_reads || !(r->flags & CLS_FORCES_PRIMARY));
}

/* Facts that keep a statement on the primary whatever the hints (router.c, rule 2). */
#define HARD_PRIMARY                                                                               \
	(CLS_WRITE | CLS_LOCKING | CLS_SELECT_INTO | CLS_SESSION_STATE | CLS_HINT_PRIMARY)

static void check_route(const struct cls_result *r, const struct route_session *s)
{
	enum route_reason reason = route_statement(r, s);
	CHECK(reason < ROUTE_REASON_COUNT && strcmp(route_reason_str(reason), "?") != 0);
	if (s->read_only_transaction || !route_to_replica(reason))
		return;
	uint32_t hard = HARD_PRIMARY;
	/* START TRANSACTION READ ONLY opens rule 1's transaction on a replica: a locking read or
	 * SELECT ... INTO after it in the same text runs there, as it would if sent on its own. */
	if (r->kind == CLS_KIND_BEGIN && (r->flags & CLS_TXN_READ_ONLY))
		hard &= ~(uint32_t)(CLS_LOCKING | CLS_SELECT_INTO);
	CHECK(!(r->flags & hard) && r->kind != CLS_KIND_UNKNOWN);
}

static void check_verdict(const char *sql, size_t size, const struct cls_result *r)
{
	struct cache_verdict v;
	cacheable_inspect(sql, size, r, &v);
	CHECK(v.cacheable == (v.why == NULL));
	CHECK(v.hint <= CACHE_HINT_NOCACHE && v.ttl_s <= CACHE_TTL_MAX);
	CHECK(v.ttl_s == 0 || v.hint == CACHE_HINT_CACHE);
	if (!v.cacheable)
		return;
	CHECK(r->kind == CLS_KIND_SELECT && r->all_plain_reads && r->n_tables > 0);
	CHECK(!(r->flags & (CLS_FORCES_PRIMARY | CLS_MULTI | CLS_TABLES_OVERFLOW)));
	CHECK(v.hint != CACHE_HINT_NOCACHE);
}

/* The key, in a heap block of exactly the text's size: never longer than the text. */
static void check_key(const char *sql, size_t size, const struct cls_result *r)
{
	char *key = malloc(size ? size : 1);
	char *again = malloc(size ? size : 1);
	CHECK(key && again);
	size_t n = cacheable_normalize(sql, size, key, size);
	CHECK(n <= size);
	CHECK(cacheable_normalize(key, n, again, n) == n && memcmp(again, key, n) == 0);
	struct cls_result k;
	classify(key, n, DEFAULT_DB, &k);
	uint32_t hints = CLS_HINT_PRIMARY | CLS_HINT_REPLICA;
	CHECK(k.kind == r->kind && (k.flags & ~hints) == (r->flags & ~hints));
	CHECK(k.n_tables == r->n_tables);
	for (size_t i = 0; i < k.n_tables; i++)
		CHECK(strcmp(k.tables[i].db, r->tables[i].db) == 0 &&
		      strcmp(k.tables[i].name, r->tables[i].name) == 0);
	if (n > 0)
		CHECK(cacheable_normalize(sql, size, key, n - 1) == 0);
	free(again);
	free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sql = malloc(size ? size : 1);
	if (!sql)
		return 0;
	memcpy(sql, data, size);
	struct cls_result r;
	classify(sql, size, DEFAULT_DB, &r);
	check_result(&r);

	static const struct route_session sessions[] = {
	    {.in_transaction = false},
	    {.in_transaction = true},
	    {.read_only_transaction = true},
	    {.locked_tables = true},
	    {.user_vars_assigned = true, .history_full = true},
	    {.has_temp_table = has_temp_table},
	};
	for (size_t i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++)
		check_route(&r, &sessions[i]);
	check_verdict(sql, size, &r);
	check_key(sql, size, &r);

	/* No default database: names come out unqualified, same rules. */
	classify(sql, size, NULL, &r);
	check_result(&r);
	check_verdict(sql, size, &r);
	free(sql);
	return 0;
}
