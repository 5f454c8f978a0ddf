/*
 * stats.h - the HTTP stats endpoint: /health, /stats (JSON), /metrics (Prometheus), / (dashboard).
 *
 * Owns the evhttp server on the main thread's event loop, the JSON shape of /stats and the
 * bearer-token check ([stats] token) in front of every path but /health. It only reads: worker
 * counters (summed), backend health, process uptime; metrics.c formats /metrics and
 * dashboard.html is the page at /. Later issues add keys; the existing names are a contract
 * with operators and tests.
 */
#pragma once

#include <stdbool.h>

struct event_base;
struct proxy;
struct stats_server;

/* Serves on listen_fd, a listening socket it owns from now on (closed by stats_stop, or here on
 * failure): main.c opens it, or inherits it from the process it replaces (restart.c). */
struct stats_server *stats_start(struct event_base *base, struct proxy *p, int listen_fd)
    __attribute__((warn_unused_result));
void stats_stop(struct stats_server *s);
