/*
 * rlink.h - the tailer's one Redis connection (hiredis, synchronous), and its reconnection.
 *
 * The tailer is a single loop, so a blocking context with timeouts is all it needs. A command
 * that fails on the wire drops the context; the next rlink_ready() reconnects, no sooner than
 * the back-off allows. Replies are the caller's to free (freeReplyObject).
 */
#pragma once

#include "backoff.h"
#include "config.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rlink {
	redisContext *ctx;
	struct cfg_addr addr;
	int timeout_ms;
	struct backoff backoff;
	uint64_t reconnects;
	bool was_up; /* for logging transitions once */
};

void rlink_init(struct rlink *l, const struct cfg_addr *addr, int timeout_ms);
void rlink_close(struct rlink *l);
/* Connected, connecting now if the back-off allows; false while Redis is away. */
bool rlink_ready(struct rlink *l, int64_t now_ms);
/* One command; NULL if the connection failed (it is then closed). Error replies are returned. */
redisReply *rlink_argv(struct rlink *l, int argc, const char **argv, const size_t *lens)
    __attribute__((warn_unused_result));
/* The same for a printf-style command without binary arguments. */
redisReply *rlink_cmd(struct rlink *l, const char *fmt, ...) __attribute__((warn_unused_result));
