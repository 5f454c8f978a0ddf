/*
 * metrics.h - /metrics: the Prometheus text exposition (format 0.0.4) of what /stats reports.
 *
 * Owns the metric names, types and help texts. It only writes text: the caller (stats.c) sums
 * the workers' counters, owns the buffer and serves it. Names follow Prometheus conventions:
 * a `sluice_` prefix, `_total` on counters, seconds for times, labels for dimensions.
 */
#pragma once

#include <stdbool.h>

struct counters_sum;
struct evbuffer;
struct proxy;

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends every metric to out (owned by the caller). False if out ran out of memory. */
bool metrics_write(struct evbuffer *out, struct proxy *p, const struct counters_sum *sum)
    __attribute__((warn_unused_result));
