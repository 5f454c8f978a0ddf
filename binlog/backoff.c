/*
 * backoff.c - reconnection back-off and the clocks (see backoff.h).
 */
#include "backoff.h"

#include <stdlib.h>
#include <time.h>

void backoff_reset(struct backoff *b)
{
	b->delay_ms = BACKOFF_MIN_MS;
	b->next_ms = 0;
	b->failures = 0;
}

bool backoff_due(const struct backoff *b, int64_t now_ms)
{
	return now_ms >= b->next_ms;
}

int backoff_failed(struct backoff *b, int64_t now_ms)
{
	if (b->delay_ms < BACKOFF_MIN_MS)
		b->delay_ms = BACKOFF_MIN_MS;
	int wait = b->delay_ms + (int)(random() % (b->delay_ms / 4 + 1));
	b->next_ms = now_ms + wait;
	b->failures++;
	b->delay_ms = b->delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b->delay_ms * 2;
	return wait;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t now_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}
