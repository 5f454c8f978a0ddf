/*
 * backoff.h - exponential back-off with jitter between reconnection attempts.
 *
 * One per thing that reconnects (the primary, Redis): after a failure the next attempt waits
 * twice as long as the last (from BACKOFF_MIN_MS to BACKOFF_MAX_MS, with up to 25 % jitter so
 * that several tailers do not retry in step); a success resets it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct backoff {
	int delay_ms;    /* the wait after the next failure */
	int64_t next_ms; /* no attempt before this (monotonic ms) */
	unsigned failures;
};

void backoff_reset(struct backoff *b);
/* May an attempt be made now? */
bool backoff_due(const struct backoff *b, int64_t now_ms);
/* An attempt failed at now_ms: schedules the next one. Returns the wait in ms. */
int backoff_failed(struct backoff *b, int64_t now_ms);

/* Monotonic clock in ms, and wall clock in ms (for commit timestamps). */
int64_t now_mono_ms(void);
int64_t now_wall_ms(void);
