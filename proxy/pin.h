/*
 * pin.h - read-your-writes pinning: marks in Redis for what a session writes, and lookups of
 * them before a read may go to a replica (docs/pinning.md, CONSISTENCY.md mechanisms 1-6, 12).
 *
 * A write's marks are set in Redis before the write is forwarded; a read that could go to a
 * replica first asks Redis whether anything it reads is marked. Each worker holds one hiredis
 * async connection on its own event loop (struct pinner), so a lookup costs the session one
 * Redis round trip and the worker no blocking. When Redis is unreachable or slower than
 * redis_timeout_ms, reads that could be marked go to the primary (safe mode) and writes go on
 * unmarked; safe mode lasts one window after Redis returns, so the marks missed meanwhile cannot
 * be relied on being absent.
 */
#pragma once

#include "classify.h"
#include "marks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct session;
struct plan;
struct pin_request;

/* The touched mark of the catalog: SHOW, information_schema and mysql.* reads look it up; DDL
 * and account statements set it. */
#define PIN_CATALOG_DB    "*"
#define PIN_CATALOG_TABLE "catalog"

/* A list of Redis key names, NUL-separated, owned by its holder. */
struct pin_names {
	char *buf;
	size_t len, cap;
	unsigned n;
};

enum pin_op {
	PIN_OP_NONE,  /* nothing to mark or look up */
	PIN_OP_READ,  /* look up cmd's marks: may the read use a replica? */
	PIN_OP_WRITE, /* set cmd's marks before forwarding */
};

/* What the lookup concluded about a read. */
enum pin_verdict {
	PIN_FREE,    /* nothing marked: any replica */
	PIN_COVERED, /* gtid mode: a replica whose position covers `need` */
	PIN_PINNED,  /* marked: the primary */
	PIN_SAFE,    /* Redis down or too slow: the primary */
};

/* Where a session is with pinning for its current command. */
enum pin_stage {
	PIN_IDLE,
	PIN_BEFORE,   /* waiting for Redis before the command may leave */
	PIN_ANSWERED, /* Redis answered; the command is planned again and goes */
	PIN_AFTER,    /* waiting for Redis before the reply's end reaches the client */
};

struct pin_session {
	enum pin_stage stage;
	enum pin_op op;
	struct pin_names cmd; /* the current command's marks */
	struct pin_names txn; /* marks written in the open transaction, re-armed at its end */
	struct pin_request *req;
	enum pin_verdict verdict;
	struct mark_value need; /* PIN_COVERED: what a replica must have applied */
	bool in_txn;            /* the command runs inside a transaction */
	bool ends_txn;          /* the command commits (or rolls back) what txn holds */
	bool rolls_back;
	/* an INSERT's AUTO_INCREMENT rows, marked from the OK packet */
	unsigned auto_rows;
	char auto_db[CLS_NAME_MAX];
	char auto_table[CLS_NAME_MAX];
};

/* ---- the worker's Redis connection --------------------------------------------------------- */

struct pinner *pinner_new(struct worker *w);
void pinner_free(struct pinner *p);
/* "up", "down" or "off" (mode = off), for /stats. */
const char *pinner_state_str(const struct pinner *p);
/* How long a mark lives now: max(window_ms, worst replica lag + lag_margin_ms). */
uint64_t pin_window_ms(struct worker *w);
/* The connection, while it is up (else NULL), for requests no session waits for. */
typedef struct redisAsyncContext redisAsyncContext;
redisAsyncContext *pinner_connection(struct pinner *p);
/* cache.c: sends the cache's LOOKUP as s's pin lookup (its answer: cache_lookup_answered). */
bool pin_send_cache_lookup(struct session *s, int argc, const char **argv, const size_t *lens);

/* ---- sessions ------------------------------------------------------------------------------ */

/* plan.c: the command has nothing to mark or look up (until pin_plan says otherwise). */
void pin_plan_reset(struct session *s);
/* plan.c: works out the marks of a statement classified as c (text sql[0..len), or NULL; a
 * prepared statement's '?' values from params, or NULL) and sets p's pin op. */
struct keys_params;
void pin_plan(struct session *s, const struct cls_result *c, const char *sql, size_t len,
              const struct keys_params *params, struct plan *p);
/* session.c, before a planned command leaves: true when it may go now (p->reason may have
 * become ROUTE_PINNED); false when it waits for Redis (stage PIN_BEFORE), after which
 * session_pin_answered() runs. */
bool pin_before_command(struct session *s, struct plan *p);
/* session.c: the command left; the verdict was used. */
void pin_command_sent(struct session *s);
/* session.c, when a reply has ended but before it is flushed to the client: true when the
 * client must wait for marks set from the reply (stage PIN_AFTER), after which
 * session_pin_answered() runs. */
bool pin_after_reply(struct session *s);
/* Forgets the transaction's marks (a reset connection or changed user rolled it back). */
void pin_forget_transaction(struct session *s);
void pin_session_free(struct session *s);
/* gtid mode: may the session's read under a PIN_COVERED verdict use replica b? */
struct backend;
bool pin_replica_allowed(const struct session *s, struct backend *b);

/* Defined in session.c: Redis answered (or timed out) for stage PIN_BEFORE or PIN_AFTER. */
void session_pin_answered(struct session *s);
