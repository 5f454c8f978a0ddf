/*
 * monitor.h - the health monitor: a thread that polls every backend with Connector/C.
 *
 * Owns the monitor's own connections (the [monitor] user) and is the only writer of each
 * backend's health and lag. It also learns the primary's version and character set for the
 * proxy's greeting. Blocking calls are fine here: the thread runs nothing else.
 */
#pragma once

#include <stdbool.h>

struct proxy;
struct monitor;

/* Starts polling; returns once the first round has finished, so health is known at start. */
struct monitor *monitor_start(struct proxy *p) __attribute__((warn_unused_result));
void monitor_stop(struct monitor *m);
