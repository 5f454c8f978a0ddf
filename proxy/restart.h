/*
 * restart.h - graceful restart: SIGUSR2 starts the new binary on the same listening sockets.
 *
 * Owns both ends of the hand-over. The old process forks and execs the binary it was started
 * from (its /proc/self/exe path as resolved at start, or $SLUICE_RESTART_BIN) with the same
 * arguments; the listening sockets travel by fd inheritance, named in the environment
 * (SLUICE_LISTEN_FD, SLUICE_STATS_FD), with a pipe (SLUICE_READY_FD) on which the new process
 * writes one byte once its workers accept. Only then does the old one stop accepting; until
 * then both accept from the same sockets, so no connection is refused. A new process that
 * exits, or stays silent for RESTART_READY_TIMEOUT_MS, is reaped and the old one keeps serving.
 * It must not touch sessions: main.c decides what the old process does next.
 */
#pragma once

#include "config.h"

#include <stdbool.h>
#include <sys/types.h>

#define RESTART_LISTEN_ENV       "SLUICE_LISTEN_FD"
#define RESTART_STATS_ENV        "SLUICE_STATS_FD"
#define RESTART_READY_ENV        "SLUICE_READY_FD"
#define RESTART_BIN_ENV          "SLUICE_RESTART_BIN" /* overrides the binary (tests) */
#define RESTART_READY_TIMEOUT_MS 30000

struct event_base;
struct restart;

/* ok: the new process (pid) is ready; otherwise it failed and is gone. */
typedef void (*restart_done_cb)(void *arg, pid_t pid, bool ok);

/* At start: remembers the binary and argv (copied). NULL when out of memory. */
struct restart *restart_create(struct event_base *base, int argc, char **argv);
void restart_free(struct restart *r);
/* Starts the new binary handing it listen_fd and stats_fd; done is called once, later, from
 * base's loop. False (logged) when it could not even be started, or one is already starting. */
bool restart_begin(struct restart *r, int listen_fd, int stats_fd, restart_done_cb done, void *arg)
    __attribute__((warn_unused_result));
bool restart_pending(const struct restart *r);
/* SIGTERM during a restart: kills the new process before it serves; done is not called. */
void restart_cancel(struct restart *r);

/* ---- in the new process -------------------------------------------------------------------- */

/* The listening socket named by env (then removed from the environment) if it is one and is
 * bound to a's port, made non-blocking and close-on-exec; else -1 (an unusable one is closed). */
int restart_inherited_fd(const char *env, const struct cfg_addr *a);
/* Tells the old process this one serves (the byte on SLUICE_READY_FD); no-op without one. */
void restart_signal_ready(void);
