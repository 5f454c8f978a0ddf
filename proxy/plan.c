/*
 * plan.c - the plan for one command: which backend runs it, and what its reply will change.
 *
 * Reads the command (classifying SQL text, looking up prepared statements), asks router.c
 * where it goes given the session's state, and picks a replica with the worker's balancer.
 * It decides only: opening connections, replaying state and forwarding are session.c's.
 */
#include "plan.h"

#include "backend.h"
#include "balance.h"
#include "cache.h"
#include "clock.h"
#include "keys.h"
#include "log.h"
#include "packet.h"
#include "pin.h"
#include "proxy.h"
#include "worker.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

bool session_in_transaction(const struct session *s)
{
	return (s->primary_status & SERVER_STATUS_IN_TRANS) ||
	       !(s->primary_status & SERVER_STATUS_AUTOCOMMIT);
}

/* In the read pool: the monitor says up, and connections to it are not failing. */
bool plan_replica_usable(struct backend *b)
{
	return atomic_load_explicit(&b->health, memory_order_relaxed) == HEALTH_UP &&
	       !atomic_load_explicit(&b->retired, memory_order_relaxed) &&
	       !backend_breaker_open(b, clock_ms());
}

/* The balancer's choice among healthy replicas, or NULL when none is usable. */
struct backend *plan_pick_replica(struct session *s)
{
	struct worker *w = s->worker;
	struct backend_table *t = &w->proxy->backends;
	size_t n = backends_count(t) - 1;
	if (n == 0)
		return NULL;
	struct balance_candidate c[n];
	for (size_t i = 0; i < n; i++) {
		c[i].usable = plan_replica_usable(&t->items[i + 1]) &&
		              pin_replica_allowed(s, &t->items[i + 1]);
		c[i].active = w->replica_sessions[i + 1];
	}
	int exclude = s->excluded_replica > 0 ? s->excluded_replica - 1 : -1;
	uint64_t key = balance_hash(s->peer, strlen(s->peer));
	int pick = balance_pick(w->balancer, c, key, exclude);
	return pick < 0 ? NULL : &t->items[pick + 1];
}

bool session_has_temp_table(const void *ctx, const char *db, const char *name)
{
	const struct session *s = ctx;
	for (size_t i = 0; i < s->n_temps; i++)
		if (strcmp(s->temps[i].name, name) == 0 && strcmp(s->temps[i].db, db) == 0)
			return true;
	return false;
}

static struct route_session route_facts(const struct session *s)
{
	return (struct route_session){
	    .in_transaction = session_in_transaction(s),
	    .read_only_transaction = s->read_only_transaction,
	    .locked_tables = s->locked_tables,
	    .user_vars_assigned = s->user_vars_assigned,
	    .history_full = s->history.overflow,
	    .has_temp_table = s->n_temps ? session_has_temp_table : NULL,
	    .ctx = s,
	};
}

/* The text of a single-chunk COM_QUERY or COM_STMT_PREPARE, or NULL (a 16 MiB+ statement). */
static const char *command_text(struct session *s, const struct pkt_frame *f, size_t *len)
{
	if (f->chunked)
		return NULL;
	const uint8_t *p = evbuffer_pullup(s->client.in, (ev_ssize_t)f->wire_len);
	if (!p)
		return NULL;
	*len = f->payload_len - 1;
	return (const char *)p + PKT_HEADER_LEN + 1;
}

static bool needs_effects(const struct cls_result *c)
{
	return (c->flags & (CLS_SESSION_STATE | CLS_CREATE_TEMP | CLS_DROP_TEMP)) ||
	       c->kind == CLS_KIND_LOCK_TABLES || c->kind == CLS_KIND_UNLOCK_TABLES;
}

/* SHOW WARNINGS, ERRORS, COUNT(*) WARNINGS, PROFILE(S): the connection's own account of its last
 * statement, which only the backend that ran it can give. */
static bool describes_last_statement(const struct cls_result *c, enum route_reason r)
{
	return r == ROUTE_SESSION_BOUND && c->kind == CLS_KIND_SHOW && !(c->flags & CLS_MULTI);
}

/* SELECT @a := ..., CALL (a procedure may SET @x), DDL (CREATE TRIGGER: the schema snapshot
 * learns of the trigger only later), and writes to a table that has triggers. A table the
 * snapshot does not know yet counts as trigger-free, and asks for a reload. */
static bool may_assign_user_vars(struct session *s, const struct cls_result *c)
{
	bool temporary = (c->flags & (CLS_CREATE_TEMP | CLS_DROP_TEMP)) != 0;
	if ((c->flags & CLS_USER_VAR_ASSIGN) || c->kind == CLS_KIND_CALL ||
	    (c->kind == CLS_KIND_DDL && !temporary))
		return true;
	if (!(c->flags & CLS_WRITE))
		return false;
	const struct schema *snapshot = worker_schema(s->worker);
	bool triggers = (c->flags & CLS_TABLES_OVERFLOW) != 0;
	for (size_t i = 0; i < c->n_tables; i++) {
		if (!c->tables[i].written)
			continue;
		const struct schema_table *t =
		    schema_find(snapshot, c->tables[i].db, c->tables[i].name);
		if (!t)
			schema_mark_stale(&s->worker->proxy->schema);
		triggers = triggers || (t && t->has_triggers);
	}
	return triggers;
}

static void plan_query(struct session *s, const struct pkt_frame *f, struct plan *p)
{
	size_t len;
	const char *sql = command_text(s, f, &len);
	if (!sql) {
		p->reason = ROUTE_WRITE; /* only bulk writes are this long */
		return;
	}
	struct cls_result c;
	classify(sql, len, s->db, &c);
	struct route_session facts = route_facts(s);
	p->reason = route_statement(&c, &facts);
	if (describes_last_statement(&c, p->reason) && s->last_on_replica && s->replica)
		p->reason = ROUTE_DIAGNOSTICS;
	p->cls_flags = c.flags;
	p->cls_kind = c.kind;
	p->needs_effects = needs_effects(&c);
	p->assigns_user_vars = may_assign_user_vars(s, &c);
	snprintf(p->db, sizeof(p->db), "%s", c.use_db);
	if (c.n_tables) {
		snprintf(p->table_db, sizeof(p->table_db), "%s", c.tables[0].db);
		snprintf(p->table, sizeof(p->table), "%s", c.tables[0].name);
	}
	pin_plan(s, &c, sql, len, NULL, p);
	cache_plan(s, &c, sql, len, NULL);
}

/* A statement's own reason, at prepare time: transactions and locks are judged per execution. */
static enum route_reason prepared_reason(struct session *s, const struct pkt_frame *f)
{
	size_t len;
	const char *sql = command_text(s, f, &len);
	if (!sql)
		return ROUTE_WRITE;
	struct cls_result c;
	classify(sql, len, s->db, &c);
	struct route_session facts = route_facts(s);
	facts.in_transaction = false;
	facts.read_only_transaction = false;
	facts.locked_tables = false;
	return route_statement(&c, &facts);
}

static enum route_reason execute_reason(struct session *s, const struct stmt *st,
                                        const struct stmt_execute *x)
{
	if (s->read_only_transaction)
		return ROUTE_READ_ONLY_TRANSACTION;
	if (!route_to_replica(st->reason))
		return st->reason;
	if (session_in_transaction(s))
		return ROUTE_TRANSACTION;
	if (s->locked_tables)
		return ROUTE_LOCK_TABLES;
	if (s->history.overflow)
		return ROUTE_HISTORY_FULL;
	if (x->flags != 0)
		return ROUTE_PREPARED_CURSOR; /* fetches must find the cursor: keep it on the
		                                 primary */
	if (st->long_data)
		return ROUTE_LONG_DATA;
	/* An execution without types can only go where the types are known or can be added. */
	if (!x->has_types && st->n_params && !st->types_on_replica && !st->types)
		return ROUTE_COMMAND;
	return st->reason;
}

/* An execution's bound parameters, for keys_extract (see keys_params). */
struct bound_values {
	const uint8_t *payload;
	size_t len;
	const struct stmt *st;
	const struct stmt_execute *exec;
};

/* Spells parameter i as a key value of a column of the given kind, as MariaDB compares them. */
static bool add_bound_value(const void *ctx, unsigned i, enum schema_col_kind kind,
                            struct mark_key *k)
{
	const struct bound_values *b = ctx;
	struct stmt_value v;
	if (!stmt_param_value(b->payload, b->len, b->st, b->exec, i, &v))
		return false;
	switch (v.kind) {
	case STMT_VALUE_INT: return kind == SCHEMA_COL_INT && mark_key_add_int(k, v.i);
	case STMT_VALUE_UINT: return kind == SCHEMA_COL_INT && mark_key_add_uint(k, v.u);
	case STMT_VALUE_BYTES:
		if (kind == SCHEMA_COL_STRING)
			return mark_key_add_string(k, (const char *)v.bytes, v.len);
		/* a longer string is compared as a double and may equal several integers */
		return v.len <= 15 && mark_key_add_int_text(k, (const char *)v.bytes, v.len);
	default: return false;
	}
}

/* An execution's parameters as its cache entry is named by: the types from the packet or, when
 * it does not repeat them, from the first execution that did. */
static bool execution_bytes(const struct stmt *st, const struct stmt_execute *x,
                            const uint8_t *payload, size_t len, struct cache_params *out)
{
	const size_t nulls_at = 10; /* command, id, flags, iteration count */
	size_t types_len = 2 * (size_t)st->n_params;
	if (st->n_params == 0) {
		*out = (struct cache_params){0};
		return true;
	}
	const uint8_t *types = x->has_types ? payload + x->types_offset : st->types;
	size_t values_at = x->bound_offset + 1 + (x->has_types ? types_len : 0);
	if (!types || values_at > len || x->bound_offset < nulls_at)
		return false;
	*out =
	    (struct cache_params){payload + nulls_at, x->bound_offset - nulls_at, types,
	                          types_len,          payload + values_at,        len - values_at};
	return true;
}

static void plan_execute(struct session *s, const struct pkt_frame *f, struct plan *p)
{
	p->reason = ROUTE_COMMAND;
	const uint8_t *buf =
	    f->chunked ? NULL : evbuffer_pullup(s->client.in, (ev_ssize_t)f->wire_len);
	uint32_t id;
	if (!buf || f->payload_len < 5)
		return;
	memcpy(&id, buf + PKT_HEADER_LEN + 1, 4); /* little-endian on the wire and here */
	p->stmt = stmt_find(&s->stmts, id);
	if (!p->stmt || !stmt_parse_execute(buf + PKT_HEADER_LEN, f->payload_len, p->stmt->n_params,
	                                    &p->exec)) {
		p->stmt = NULL;
		return;
	}
	p->execute = true;
	/* Kept here, where every execution passes (a cache hit answers one without a backend):
	 * the next execution may leave the types out. rewrite_execute relies on it. */
	if (p->exec.has_types &&
	    !stmt_keep_types(p->stmt, buf + PKT_HEADER_LEN + p->exec.types_offset))
		log_warn("session %u: out of memory keeping a statement's types", s->id);
	p->reason = execute_reason(s, p->stmt, &p->exec);
	p->assigns_user_vars = p->stmt->reason == ROUTE_WRITE; /* its text is not classified here */
	if (proxy_config(s->worker->proxy)->pinning.mode != PIN_OFF) {
		struct cls_result c;
		struct bound_values bound = {buf + PKT_HEADER_LEN, f->payload_len, p->stmt,
		                             &p->exec};
		struct keys_params params = {add_bound_value, &bound};
		classify(p->stmt->sql, p->stmt->sql_len, s->db, &c);
		pin_plan(s, &c, p->stmt->sql, p->stmt->sql_len, &params, p);
		struct cache_params bound_bytes;
		if (execution_bytes(p->stmt, &p->exec, buf + PKT_HEADER_LEN, f->payload_len,
		                    &bound_bytes))
			cache_plan(s, &c, p->stmt->sql, p->stmt->sql_len, &bound_bytes);
	}
}

/* The statement a COM_STMT_CLOSE / RESET / SEND_LONG_DATA names. */
static struct stmt *named_stmt(struct session *s, const struct pkt_frame *f)
{
	uint8_t head[PKT_HEADER_LEN + 5];
	uint32_t id;
	if (f->payload_len < 5 || evbuffer_copyout(s->client.in, head, sizeof(head)) < 9)
		return NULL;
	memcpy(&id, head + PKT_HEADER_LEN + 1, 4);
	return stmt_find(&s->stmts, id);
}

void plan_command(struct session *s, const struct pkt_frame *f, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	p->reason = ROUTE_COMMAND;
	pin_plan_reset(s);
	switch (f->first_byte) {
	case COM_QUERY: plan_query(s, f, p); return;
	case COM_STMT_EXECUTE: plan_execute(s, f, p); return;
	case COM_STMT_PREPARE:
		p->prepared_reason = prepared_reason(s, f);
		p->needs_effects = true;
		return;
	case COM_INIT_DB:
	case COM_SET_OPTION:
	case COM_RESET_CONNECTION: p->needs_effects = true; return;
	case COM_STMT_CLOSE:
	case COM_STMT_RESET:
	case COM_STMT_SEND_LONG_DATA: p->stmt = named_stmt(s, f); return;
	case COM_PING:
		/* Any held connection answers a ping; do not open the primary for it. */
		if (!s->primary && s->replica && !s->read_only_transaction)
			p->reason = ROUTE_READ;
		return;
	default: return;
	}
}
