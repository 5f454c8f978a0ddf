/*
 * cache.h - the result cache on the proxy's side: which reads it answers, and how a session looks
 * an answer up, serves it, and fills it (docs/cache.md, CONSISTENCY.md mechanisms 7-10).
 *
 * A cacheable read first asks the worker's in-process tier (cache_local.c), then Redis: the
 * lookup script replaces the read's pin lookup, so one round trip both checks the read's marks and
 * finds its entry (cache/results.h). A marked read bypasses the cache and is routed by its marks.
 * A hit is written to the client as the backend once sent it. A miss holds the entry's lease: its
 * reply is copied while it streams to the client, and stored afterwards if nothing invalidated it
 * meanwhile and its backend had applied the last invalidation of everything it read. Misses that
 * find the lease taken wait (up to lease_ms) for that fill rather than all reading the database.
 *
 * Every write the proxy forwards also invalidates what it writes (versions, row-tagged entries,
 * the in-process tiers), right behind its pin marks on the same Redis connection.
 */
#pragma once

#include "cache_local.h"
#include "classify.h"
#include "results.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct worker;
struct plan;
struct pkt_frame;
struct pin_names;
struct evbuffer;
typedef struct redisReply redisReply;

/* A reply copied on its way to the client (a miss's) or from the primary (a refresh's), to be
 * stored if it is whole. */
struct cache_copy {
	uint8_t *bytes; /* owned */
	size_t len, cap;
	bool whole; /* false once it outgrew max_result_bytes or memory ran out */
};

/* Starts a copy (keeping any buffer it had). */
void cache_copy_start(struct cache_copy *c);
/* Room for n more bytes, which the caller fills; NULL once the copy is not whole (it would
 * exceed max bytes, or memory ran out), after which nothing more is kept. */
uint8_t *cache_copy_reserve(struct cache_copy *c, size_t n, size_t max);
void cache_copy_free(struct cache_copy *c);

/* Where a session's current command is with the cache. */
enum cache_stage {
	CACHE_IDLE,    /* not a cacheable read */
	CACHE_PLANNED, /* cacheable: the in-process tier missed, Redis is asked with the pin lookup
	                */
	CACHE_HIT,     /* Redis returned the entry: it answers the command */
	CACHE_MISS,    /* this session holds the lease: the reply is copied and filled */
	CACHE_BUSY,    /* another session holds the lease: wait for its fill, then look again */
	CACHE_BYPASS,  /* marked, Redis slow or down, waited too long: the reply only passes */
};

struct cache_session {
	enum cache_stage stage;
	uint8_t digest[RESULTS_DIGEST_LEN];
	unsigned ttl_s;
	uint64_t wait_until_ms; /* CACHE_BUSY: when waiting for another fill stops */
	uint64_t feed_epoch;    /* invalidations the worker had applied when Redis was asked */
	char token[64];         /* the lease token of CACHE_MISS */
	char *value;            /* CACHE_HIT: the entry; CACHE_MISS: the stamp */
	size_t value_len;
	size_t bytes_at; /* CACHE_HIT: where the result starts in value */
	uint64_t pttl_ms;
	struct cache_copy capture; /* CACHE_MISS: the reply as it streams to the client */
	bool from_replica;         /* the reply comes from a replica at position source_pos */
	char source_pos[256];
	struct event *wait_timer;
};

/* ---- the worker's share --------------------------------------------------------------------- */

/* Each worker's in-process tier, invalidation feed and table filter; NULL when the cache is off. */
struct cache_worker *cache_worker_new(struct worker *w);
void cache_worker_free(struct cache_worker *cw);
/* The worst delivery delay, over the workers, of the last invalidation their tiers applied, in
 * ms; safe from the stats thread. */
struct proxy;
uint64_t cache_lag_ms(struct proxy *p);

/* ---- planning (plan.c) ---------------------------------------------------------------------- */

/* Binary parameters of an execution, part of its entry's identity. */
struct cache_params {
	const uint8_t *nulls; /* the null bitmap */
	size_t nulls_len;
	const uint8_t *types; /* 2 bytes per parameter */
	size_t types_len;
	const uint8_t *values; /* as sent */
	size_t values_len;
};

/* After pin_plan: decides whether the read (text sql[0..len) classified as c; params for an
 * execution, else NULL) is answered through the cache, and names its entry. A re-plan of the
 * same command (after Redis answered) keeps what the first plan decided. */
void cache_plan(struct session *s, const struct cls_result *c, const char *sql, size_t len,
                const struct cache_params *params);

/* ---- the command's way through (session.c, pin.c) ------------------------------------------- */

/* Before the pin lookup: true when the in-process tier answered the command f. */
bool cache_serve_local(struct session *s, const struct pkt_frame *f);
/* pin.c: true when the pin lookup is to be the cache's LOOKUP; builds and sends it. */
bool cache_wants_lookup(const struct session *s);
bool cache_send_lookup(struct session *s);
/* pin.c: Redis answered the lookup (r NULL: failed or too slow). Returns the mark values to judge
 * when the read is marked, NULL when nothing is marked, and r itself when the answer makes no
 * sense (judged, it sends the read to the primary). */
const redisReply *cache_lookup_answered(struct session *s, const redisReply *r);

enum cache_next { CACHE_GO, CACHE_SERVED, CACHE_WAITING };
/* After the pin verdict: serves a Redis hit, or makes the session wait for another fill, or lets
 * the command go to its backend. */
enum cache_next cache_after_lookup(struct session *s, const struct pkt_frame *f);
/* forward_command: the command left for backend b (a replica, or the primary). */
struct backend;
void cache_command_sent(struct session *s, struct backend *b, bool replica);
/* Copies n reply bytes at the front of in, about to be moved to the client. */
void cache_capture(struct session *s, struct evbuffer *in, size_t n);
/* The reply ended (ok: without error and storable status): fills or releases the entry. */
void cache_reply_finished(struct session *s, bool ok);
/* The command is being re-sent elsewhere (its replica failed): it fills nothing. */
void cache_command_abandoned(struct session *s);
void cache_session_free(struct session *s);

/* pin.c: a write is about to be forwarded with these marks: invalidate what they name. */
void cache_invalidate_marks(struct session *s, const struct pin_names *marks);

/* Defined in session.c: the session waited for another fill; look again. */
void session_cache_wait_over(struct session *s);
