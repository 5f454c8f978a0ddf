/*
 * user_limits.c - per-user connection and statement-rate limits (see user_limits.h).
 *
 * The bucket is GCRA: one word, the time at which the bucket would be empty if no token came
 * back ("theoretical arrival time"). Taking a token moves it one interval later; a token is
 * free at once while that time is at most burst intervals ahead of now. The same word lets a
 * statement reserve a token in the future, which makes waiting statements first come, first
 * served across every worker without a queue.
 *
 * A statement must pay once however many times the session plans it again (after a Redis
 * lookup, a backend connect, a session replay): the session remembers that the statement at
 * the front of its input has its token, and a callback on that input forgets it as soon as any
 * byte leaves it, however the statement leaves (forwarded, answered with an error, served by
 * the proxy itself).
 */
#include "user_limits.h"

#include "counters.h"
#include "log.h"
#include "packet.h"
#include "proxy.h"
#include "session.h"
#include "worker.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_MS 1000000ULL
#define NS_PER_S  1000000000ULL

/* ---- the table ------------------------------------------------------------------------------ */

struct limit_user *limits_find(struct limits *l, const char *name)
{
	for (struct limit_user *u = atomic_load_explicit(&l->head, memory_order_acquire); u;
	     u = u->next)
		if (strcmp(u->name, name) == 0)
			return u;
	return NULL;
}

static void apply(struct limit_user *u, const struct cfg_user *c)
{
	atomic_store(&u->max_connections, c ? c->max_connections : 0);
	atomic_store(&u->max_qps, c ? c->max_qps : 0);
	atomic_store(&u->burst, c ? c->burst : 0);
}

bool limits_configure(struct limits *l, const struct config *cfg)
{
	bool ok = true;
	for (struct limit_user *u = atomic_load(&l->head); u; u = u->next)
		apply(u, config_find_user(cfg, u->name));
	for (size_t i = 0; i < cfg->n_users; i++) {
		const struct cfg_user *c = &cfg->users[i];
		if (limits_find(l, c->name))
			continue;
		struct limit_user *u = calloc(1, sizeof(*u));
		if (!u) {
			ok = false;
			continue;
		}
		snprintf(u->name, sizeof(u->name), "%s", c->name);
		apply(u, c);
		u->next = atomic_load(&l->head);
		atomic_store_explicit(&l->head, u, memory_order_release); /* publish it whole */
	}
	if (!ok)
		log_error("limits: out of memory; some users have no limits");
	return ok;
}

void limits_free(struct limits *l)
{
	struct limit_user *u = atomic_load(&l->head);
	atomic_store(&l->head, NULL);
	while (u) {
		struct limit_user *next = u->next;
		free(u);
		u = next;
	}
}

/* ---- the bucket ----------------------------------------------------------------------------- */

uint64_t limits_interval_ns(int max_qps)
{
	return max_qps > 0 ? NS_PER_S / (uint64_t)max_qps : 0;
}

uint64_t limits_burst(int max_qps, int burst)
{
	return (uint64_t)(burst > 0 ? burst : max_qps > 0 ? max_qps : 1);
}

bool limits_take(uint64_t tat, uint64_t now, uint64_t interval_ns, uint64_t burst,
                 uint64_t max_wait_ns, uint64_t *next_tat, uint64_t *wait_ns)
{
	uint64_t next = (tat > now ? tat : now) + interval_ns;
	uint64_t allowance = burst * interval_ns;
	uint64_t ahead = next - now;
	*wait_ns = ahead > allowance ? ahead - allowance : 0;
	if (*wait_ns > max_wait_ns)
		return false;
	*next_tat = next;
	return true;
}

static uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- sessions ------------------------------------------------------------------------------- */

static struct worker_counters *counters(struct session *s)
{
	return &s->worker->counters;
}

static void release_slot(struct session *s)
{
	if (!s->limit)
		return;
	atomic_fetch_sub(&s->limit->connections, 1);
	s->limit = NULL;
}

bool limits_login(struct session *s)
{
	release_slot(s); /* COM_CHANGE_USER: the previous user's */
	struct limit_user *u =
	    s->user ? limits_find(&s->worker->proxy->limits, s->user->name) : NULL;
	if (!u)
		return true;
	int64_t n = atomic_fetch_add(&u->connections, 1) + 1;
	int max = atomic_load(&u->max_connections);
	if (max <= 0 || n <= max) {
		s->limit = u;
		return true;
	}
	atomic_fetch_sub(&u->connections, 1);
	counter_inc(&counters(s)->limits_rejected);
	counter_inc(&counters(s)->connections_rejected);
	log_info("session %u: user '%s' from %s refused: max_connections=%d reached", s->id,
	         u->name, s->peer, max);
	session_send_error(s, s->reply_seq, LIMITS_ERROR_CODE, LIMITS_ERROR_SQLSTATE,
	                   "User '%s' has exceeded the 'max_user_connections' resource (current "
	                   "value: %d)",
	                   u->name, max);
	session_close(s, "max_connections of its user reached");
	return false;
}

static void on_input_changed(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	struct session *s = arg;
	if (info->n_deleted)
		s->rate_admitted = false; /* the paid-for statement has left (or begun to) */
}

static void on_rate_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct session *s = arg;
	if (s->state != SESSION_RATE_WAIT)
		return;
	session_set_state(s, SESSION_IDLE);
	session_run_commands(s);
}

/* The first limited statement of a session sets up what waiting needs. */
static bool prepare_session(struct session *s)
{
	if (!s->rate_cb)
		s->rate_cb = evbuffer_add_cb(s->client.in, on_input_changed, s);
	if (!s->rate_timer)
		s->rate_timer = evtimer_new(s->worker->base, on_rate_timer, s);
	return s->rate_cb && s->rate_timer;
}

static void refuse(struct session *s, const struct pkt_frame *f, struct limit_user *u, int qps,
                   uint64_t wait_ns, int rate_wait_ms)
{
	evbuffer_drain(s->client.in, f->wire_len);
	counter_inc(&counters(s)->limits_rejected);
	counter_inc(&counters(s)->queries_errors);
	uint64_t wait_ms = (wait_ns + NS_PER_MS - 1) / NS_PER_MS;
	/* Debug only: under a sustained overload this would be a line per statement. */
	log_debug("session %u: statement refused: user '%s' over max_qps=%d", s->id, u->name, qps);
	session_send_error(s, (uint8_t)(f->last_seq + 1), LIMITS_ERROR_CODE, LIMITS_ERROR_SQLSTATE,
	                   "Sluice: user '%s' exceeded max_qps=%d (next token in %llu ms, "
	                   "rate_wait_ms=%d)",
	                   u->name, qps, (unsigned long long)wait_ms, rate_wait_ms);
}

bool limits_admit(struct session *s, const struct pkt_frame *f)
{
	struct limit_user *u = s->limit;
	if (!u || s->rate_admitted || !pkt_is_statement(f->first_byte))
		return true;
	int qps = atomic_load_explicit(&u->max_qps, memory_order_relaxed);
	if (qps <= 0)
		return true;
	if (!prepare_session(s)) {
		log_warn("session %u: out of memory: statement not rate-limited", s->id);
		return true;
	}
	int rate_wait_ms = proxy_config(s->worker->proxy)->proxy.rate_wait_ms;
	uint64_t interval = limits_interval_ns(qps);
	uint64_t burst = limits_burst(qps, atomic_load_explicit(&u->burst, memory_order_relaxed));
	uint64_t now = clock_ns();
	uint64_t tat = atomic_load_explicit(&u->tat_ns, memory_order_relaxed);
	uint64_t next, wait;
	do {
		if (!limits_take(tat, now, interval, burst, (uint64_t)rate_wait_ms * NS_PER_MS,
		                 &next, &wait)) {
			refuse(s, f, u, qps, wait, rate_wait_ms);
			return false;
		}
	} while (!atomic_compare_exchange_weak_explicit(
	    &u->tat_ns, &tat, next, memory_order_relaxed, memory_order_relaxed));
	s->rate_admitted = true;
	if (wait == 0)
		return true;
	/* The token is reserved: come back when it is due. Rounded up, so it is due by then. */
	uint64_t us = (wait + 999) / 1000;
	struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
	if (evtimer_add(s->rate_timer, &tv) != 0)
		return true;
	counter_inc(&counters(s)->limits_waits);
	session_set_state(s, SESSION_RATE_WAIT);
	return false;
}

void limits_session_closed(struct session *s)
{
	release_slot(s);
	if (s->rate_timer) {
		event_free(s->rate_timer);
		s->rate_timer = NULL;
	}
	if (s->rate_cb) {
		evbuffer_remove_cb_entry(s->client.in, s->rate_cb);
		s->rate_cb = NULL;
	}
}
