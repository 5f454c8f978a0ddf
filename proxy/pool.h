/*
 * pool.h - a worker's idle backend connections, reused across client sessions.
 *
 * Owns every server connection that no session holds: it parks them after a
 * COM_RESET_CONNECTION, hands a matching one to the next session (same user, character set and
 * capabilities; the default database is fixed with COM_INIT_DB when needed), closes the ones
 * that die while parked, and prunes those idle longer than backend_idle_timeout_ms. One pool
 * per worker, so it needs no lock.
 */
#pragma once

#include "server.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backend;
struct worker;

struct pool {
	struct worker *worker;
	struct server **idle;     /* per backend index: most recently parked first */
	struct server *resetting; /* released, waiting for their reset's OK */
	size_t n_backends;
};

bool pool_init(struct pool *p, struct worker *w, size_t n_backends)
    __attribute__((warn_unused_result));

/*
 * Finds or opens a connection to b for a session (user, charset, caps in key; db may be empty).
 * Returns a server in SERVER_READY (usable now, cb is not called) or one still logging in or
 * changing database (cb follows from the event loop), or NULL when out of memory.
 */
struct server *pool_acquire(struct pool *p, struct backend *b, const struct server_key *key,
                            const char *db, server_step_cb cb, void *arg)
    __attribute__((warn_unused_result));
/* Takes back a server a session no longer needs: reset and park it, or close it if it is not
 * between commands (clean = the last reply was read to its end). */
void pool_release(struct pool *p, struct server *srv, bool clean);
void pool_prune(struct pool *p, uint64_t now_ms, uint64_t max_idle_ms);
void pool_close_all(struct pool *p);
void pool_free(struct pool *p);
