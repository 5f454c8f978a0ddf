/*
 * fuzz_classify.c - the SQL classifier (proxy/classify.c) and the router on arbitrary text.
 *
 * The input is the statement text of a COM_QUERY, copied into a heap block of exactly its size
 * (no NUL after it), so a read past the end is caught. It is classified with a default
 * database, and the result routed for a few session states. Beyond not crashing, the
 * invariants test_classify.c states for any input must hold, and no statement the classifier
 * says must run on the primary may be routed to a replica outside a read-only transaction.
 */
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

	/* No default database: names come out unqualified, same rules. */
	classify(sql, size, NULL, &r);
	check_result(&r);
	free(sql);
	return 0;
}
