/*
 * router.c - where a statement runs (see router.h).
 *
 * The rules, in the order they apply (the first that matches decides):
 *   1. inside START TRANSACTION READ ONLY: the replica holding it (session state excepted);
 *   2. hard reasons for the primary: a primary hint, session state (replayed elsewhere later),
 *      writes and DDL, transaction control, an open transaction, LOCK TABLES, locking reads,
 *      SELECT ... INTO, temporary tables, multi-statements that are not all plain reads;
 *   3. a replica hint (it overrides only the soft reasons below);
 *   4. soft reasons: session-bound functions, user variables assigned by a SELECT, SQL-level
 *      prepared statements, a history too long to replay on a new connection;
 *   5. plain reads (SELECT, SHOW, DO, EXPLAIN) go to a replica; anything else to the primary.
 */
#include "router.h"

const char *route_reason_str(enum route_reason r)
{
#define ROUTE_REASON_NAME(id, name)                                                                \
	case id: return name;
	switch (r) {
		ROUTE_REASONS(ROUTE_REASON_NAME)
	case ROUTE_REASON_COUNT: break;
	}
#undef ROUTE_REASON_NAME
	return "?";
}

static bool has(const struct cls_result *c, uint32_t flag)
{
	return (c->flags & flag) != 0;
}

static bool uses_temp_table(const struct cls_result *c, const struct route_session *s)
{
	if (!s->has_temp_table)
		return false;
	if (has(c, CLS_TABLES_OVERFLOW))
		return true; /* cannot tell: be safe */
	for (size_t i = 0; i < c->n_tables; i++)
		if (s->has_temp_table(s->ctx, c->tables[i].db, c->tables[i].name))
			return true;
	return false;
}

static bool is_transaction_control(enum cls_kind k)
{
	return k == CLS_KIND_BEGIN || k == CLS_KIND_COMMIT || k == CLS_KIND_ROLLBACK ||
	       k == CLS_KIND_SAVEPOINT || k == CLS_KIND_XA;
}

static bool is_plain_read(enum cls_kind k)
{
	return k == CLS_KIND_SELECT || k == CLS_KIND_SHOW || k == CLS_KIND_DO ||
	       k == CLS_KIND_EXPLAIN;
}

static enum route_reason hard_reason(const struct cls_result *c, const struct route_session *s)
{
	if (has(c, CLS_HINT_PRIMARY))
		return ROUTE_HINT_PRIMARY;
	if (has(c, CLS_SESSION_STATE))
		return ROUTE_SESSION_STATE;
	if (has(c, CLS_WRITE))
		return ROUTE_WRITE;
	if (c->kind == CLS_KIND_BEGIN && has(c, CLS_TXN_READ_ONLY) && !s->in_transaction &&
	    !s->locked_tables)
		return ROUTE_READ_ONLY_TRANSACTION;
	if (is_transaction_control(c->kind) || s->in_transaction)
		return ROUTE_TRANSACTION;
	if (c->kind == CLS_KIND_LOCK_TABLES || c->kind == CLS_KIND_UNLOCK_TABLES ||
	    s->locked_tables)
		return ROUTE_LOCK_TABLES;
	if (has(c, CLS_LOCKING))
		return ROUTE_LOCKING_READ;
	if (has(c, CLS_SELECT_INTO))
		return ROUTE_SELECT_INTO;
	if (uses_temp_table(c, s))
		return ROUTE_TEMPORARY_TABLE;
	if (has(c, CLS_MULTI) && !c->all_plain_reads)
		return ROUTE_MULTI_STATEMENT;
	return ROUTE_READ;
}

static enum route_reason soft_reason(const struct cls_result *c, const struct route_session *s)
{
	if (has(c, CLS_SESSION_BOUND) || c->kind == CLS_KIND_PREPARE ||
	    c->kind == CLS_KIND_EXECUTE || c->kind == CLS_KIND_DEALLOCATE)
		return ROUTE_SESSION_BOUND;
	if (has(c, CLS_USER_VAR_ASSIGN) || (has(c, CLS_USER_VAR_READ) && s->user_vars_assigned))
		return ROUTE_USER_VARIABLE;
	if (s->history_full)
		return ROUTE_HISTORY_FULL;
	return ROUTE_READ;
}

enum route_reason route_statement(const struct cls_result *c, const struct route_session *s)
{
	if (s->read_only_transaction)
		return has(c, CLS_SESSION_STATE) ? ROUTE_SESSION_STATE
		                                 : ROUTE_READ_ONLY_TRANSACTION;
	enum route_reason r = hard_reason(c, s);
	if (r != ROUTE_READ)
		return r;
	if (has(c, CLS_HINT_REPLICA))
		return ROUTE_HINT_REPLICA;
	r = soft_reason(c, s);
	if (r != ROUTE_READ)
		return r;
	return is_plain_read(c->kind) ? ROUTE_READ : ROUTE_COMMAND;
}
