/*
 * stats.h - the HTTP stats endpoint: /health and /stats (JSON).
 *
 * Owns the evhttp server on the main thread's event loop and the JSON shape of /stats. It
 * only reads: worker counters (summed), backend health, process uptime. Later issues add keys;
 * the existing names are a contract with operators and tests.
 */
#pragma once

#include <stdbool.h>

struct event_base;
struct proxy;
struct stats_server;

struct stats_server *stats_start(struct event_base *base, struct proxy *p)
    __attribute__((warn_unused_result));
void stats_stop(struct stats_server *s);
