/*
 * user_limits.h - per-user limits: connections held at once and statements per second.
 *
 * Owns one entry per configured user (struct limit_user), shared by every worker of this
 * instance: an atomic count of the user's open sessions behind [user.NAME] max_connections, and
 * a token bucket behind max_qps / burst kept as one atomic word (GCRA's "theoretical arrival
 * time"), so taking a token is one compare-and-swap and no lock. Entries are created by the main
 * thread at start and on SIGHUP and never freed before exit, so a session keeps a pointer to
 * its user's entry for its whole life; a reload changes the limits in place.
 *
 * A statement over the rate reserves the next free slot if it falls within [proxy]
 * rate_wait_ms and waits for it on its worker's loop (SESSION_RATE_WAIT); otherwise it is
 * refused at once with error 1226, since waiting could not help. Limits are per instance:
 * cluster-wide limits (through Redis) are not implemented.
 */
#pragma once

#include "config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct session;
struct pkt_frame;

/* MySQL's ER_USER_LIMIT_REACHED: both limits answer with it. */
#define LIMITS_ERROR_CODE     1226
#define LIMITS_ERROR_SQLSTATE "42000"

struct limit_user {
	char name[CFG_USER_MAX];
	_Atomic int max_connections; /* 0: no limit */
	_Atomic int max_qps;         /* 0: no limit */
	_Atomic int burst;           /* tokens the bucket holds; 0: max_qps */
	_Atomic int64_t connections; /* sessions logged in as this user now */
	_Atomic uint64_t tat_ns;     /* the bucket: when it is next empty (GCRA) */
	struct limit_user *next;     /* immutable once published */
};

/* The table, owned by struct proxy. Written by the main thread only; read by every worker. */
struct limits {
	_Atomic(struct limit_user *) head;
};

/* Creates entries for users new in cfg and applies cfg's limits to every entry (a user gone
 * from cfg gets none). Main thread; false when out of memory (some users then stay unlimited). */
bool limits_configure(struct limits *l, const struct config *cfg)
    __attribute__((warn_unused_result));
struct limit_user *limits_find(struct limits *l, const char *name);
void limits_free(struct limits *l);

/*
 * The token bucket's arithmetic, pure: tokens refill one per interval_ns up to burst, as GCRA.
 * tat is the bucket's state, now the time. Taking a token that is wait_ns away is allowed when
 * wait_ns <= max_wait_ns: true, with *next_tat the new state (the token is then reserved) and
 * *wait_ns how long to wait for it (0: at once). False leaves the state as it was and still
 * says in *wait_ns how far the next token is.
 */
bool limits_take(uint64_t tat, uint64_t now, uint64_t interval_ns, uint64_t burst,
                 uint64_t max_wait_ns, uint64_t *next_tat, uint64_t *wait_ns);
/* The bucket's interval for max_qps statements a second, and its size for burst (0: max_qps). */
uint64_t limits_interval_ns(int max_qps);
uint64_t limits_burst(int max_qps, int burst);

/* ---- the session's side (session.c, login.c) --------------------------------------------- */

/* At a successful login or COM_CHANGE_USER, once s->user is set: takes one of the user's
 * connection slots. Over max_connections: error 1226, the session is closed, false. */
bool limits_login(struct session *s) __attribute__((warn_unused_result));
/*
 * Before a command at the front of the client's input is planned: true when it may run now.
 * False when it must wait (state SESSION_RATE_WAIT; the session later runs its commands again)
 * or was refused (answered with error 1226, the session idle and usable, or closed if the
 * client could not be written to).
 */
bool limits_admit(struct session *s, const struct pkt_frame *f) __attribute__((warn_unused_result));
/* From session_close: gives the slot back and drops the timer. */
void limits_session_closed(struct session *s);
