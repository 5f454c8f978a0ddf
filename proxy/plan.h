/*
 * plan.h - the plan for one command (see plan.c).
 */
#pragma once

#include "classify.h"
#include "router.h"
#include "session.h"
#include "stmt.h"

#include <stdbool.h>

struct backend;

/* Where a command goes, and what the session must remember about it. */
struct plan {
	enum route_reason reason;
	uint32_t cls_flags;
	int cls_kind;
	struct stmt *stmt; /* COM_STMT_* on a known statement */
	bool execute;      /* COM_STMT_EXECUTE of a known statement */
	struct stmt_execute exec;
	bool needs_effects;                /* the reply changes session state */
	bool assigns_user_vars;            /* it may assign user variables on the primary alone */
	enum route_reason prepared_reason; /* COM_STMT_PREPARE: its text's own reason */
	char db[HS_DB_MAX];                /* USE / COM_INIT_DB */
	char table_db[HS_DB_MAX];          /* CREATE / DROP TEMPORARY TABLE */
	char table[HS_DB_MAX];
};

/* Works out where the complete command f (at the front of the client's input) goes. */
void plan_command(struct session *s, const struct pkt_frame *f, struct plan *p);
/* The balancer's choice among usable replicas, or NULL when none is. */
struct backend *plan_pick_replica(struct session *s);
/* In the read pool: the monitor says up, not retired, and connections to it are not failing. */
bool plan_replica_usable(struct backend *b);
/* An explicit transaction is open, or autocommit is off, by the primary's last status. */
bool session_in_transaction(const struct session *s);
bool session_has_temp_table(const void *ctx, const char *db, const char *name);
