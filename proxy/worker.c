/*
 * worker.c - one event-loop thread (see worker.h).
 *
 * Every worker listens on the same socket; whichever loop wakes first accepts. Sessions and
 * server connections are never freed inside their own callbacks: they are buried here and the
 * reaper event frees them once the loop has unwound.
 */
#include "worker.h"

#include "balance.h"
#include "cache.h"
#include "clock.h"
#include "log.h"
#include "proxy.h"
#include "server.h"
#include "session.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JANITOR_INTERVAL_MS 1000

static void follow_reload(struct worker *w);

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int addrlen, void *arg)
{
	(void)l;
	(void)addrlen;
	session_accept(arg, fd, addr);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	struct worker *w = arg;
	int err = EVUTIL_SOCKET_ERROR();
	evconnlistener_disable(w->listener);
	/* EINVAL: the main thread shut the socket down for shutdown. Anything else (EMFILE…):
	 * keep serving the sessions we have; the janitor re-enables accepting. */
	if (err == EINVAL)
		return;
	log_warn("worker %d: accept failed: %s", w->id, evutil_socket_error_to_string(err));
}

static void close_all_sessions(struct worker *w, bool idle_only)
{
	struct session *next;
	for (struct session *s = w->sessions; s; s = next) {
		next = s->next;
		bool busy = s->state == SESSION_QUERY || s->state == SESSION_CONNECT_BACKEND ||
		            s->state == SESSION_LOGIN_BACKEND;
		if (!idle_only || !busy)
			session_close(s, "shutting down");
	}
}

static void finish_if_drained(struct worker *w)
{
	if ((w->draining || w->handed_over) && !w->sessions) {
		pool_close_all(&w->pool);
		event_base_loopexit(w->base, NULL);
	}
}

static void on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker *w = arg;
	follow_reload(w);
	int cmd = atomic_load(&w->command);
	if (cmd == WORKER_RUN)
		return;
	evconnlistener_disable(w->listener);
	if (cmd == WORKER_HANDOVER) {
		w->handed_over = true;
		finish_if_drained(w);
		return;
	}
	w->draining = true;
	close_all_sessions(w, cmd == WORKER_DRAIN);
	pool_close_all(&w->pool);
	finish_if_drained(w);
}

static void on_janitor(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker *w = arg;
	pool_prune(&w->pool, clock_ms(),
	           (uint64_t)proxy_config(w->proxy)->proxy.backend_idle_timeout_ms);
	if (!w->draining && !w->handed_over)
		evconnlistener_enable(w->listener);
}

static void free_buried(struct worker *w)
{
	while (w->dead_sessions) {
		struct session *s = w->dead_sessions;
		w->dead_sessions = s->next;
		free(s);
	}
	while (w->dead_servers) {
		struct server *srv = w->dead_servers;
		w->dead_servers = srv->buried_next;
		free(srv);
	}
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	free_buried(arg);
}

void worker_bury_session(struct worker *w, struct session *s)
{
	s->next = w->dead_sessions;
	w->dead_sessions = s;
	event_active(&w->reaper, 0, 0);
}

void worker_bury_server(struct worker *w, struct server *srv)
{
	srv->buried_next = w->dead_servers;
	w->dead_servers = srv;
	event_active(&w->reaper, 0, 0);
}

void worker_session_gone(struct worker *w)
{
	finish_if_drained(w);
}

/* The replicas' current weights, by replica position (backend index - 1); retired ones 0. */
static size_t replica_weights(struct worker *w, int weights[BACKENDS_MAX])
{
	struct backend_table *t = &w->proxy->backends;
	size_t n = backends_count(t) - 1;
	for (size_t i = 0; i < n; i++) {
		struct backend *b = &t->items[i + 1];
		weights[i] = atomic_load(&b->retired) ? 0 : atomic_load(&b->weight);
	}
	return n;
}

static bool create_balancer(struct worker *w)
{
	int weights[BACKENDS_MAX];
	size_t n = replica_weights(w, weights);
	w->config_generation = atomic_load(&w->proxy->config_generation);
	/* Each worker its own seed, so random choices differ between workers. */
	w->balancer = balance_create(proxy_config(w->proxy)->routing.balance, weights, n,
	                             (uint64_t)time(NULL) ^ ((uint64_t)w->id << 32));
	return w->balancer != NULL;
}

/* After SIGHUP: replicas or weights may have changed. */
static void follow_reload(struct worker *w)
{
	unsigned gen = atomic_load(&w->proxy->config_generation);
	if (gen == w->config_generation)
		return;
	int weights[BACKENDS_MAX];
	size_t n = replica_weights(w, weights);
	if (balance_set_weights(w->balancer, weights, n))
		w->config_generation = gen;
	else
		log_warn("worker %d: out of memory applying new replica weights", w->id);
}

bool worker_init(struct worker *w, struct proxy *p, int id)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->proxy = p;
	atomic_init(&w->command, WORKER_RUN);
	w->counters.backend_queries = calloc(BACKENDS_MAX, sizeof(_Atomic uint64_t));
	w->counters.backend_latency = calloc(BACKENDS_MAX, sizeof(struct latency_histogram));
	w->replica_sessions = calloc(BACKENDS_MAX, sizeof(int));
	w->base = event_base_new();
	if (!w->counters.backend_queries || !w->counters.backend_latency || !w->replica_sessions ||
	    !w->base || !pool_init(&w->pool, w, BACKENDS_MAX) || !create_balancer(w))
		return false;
	w->pinner = pinner_new(w);
	if (!w->pinner)
		return false;
	w->cache = cache_worker_new(w);
	if (proxy_config(p)->cache.enabled && !w->cache)
		return false;
	w->listener =
	    evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_EXEC, -1, p->listen_fd);
	if (!w->listener)
		return false;
	evconnlistener_set_error_cb(w->listener, on_accept_error);
	event_assign(&w->wakeup, w->base, -1, 0, on_wakeup, w);
	event_assign(&w->reaper, w->base, -1, 0, on_reap, w);
	event_assign(&w->janitor, w->base, -1, EV_PERSIST, on_janitor, w);
	struct timeval tv = {JANITOR_INTERVAL_MS / 1000, (JANITOR_INTERVAL_MS % 1000) * 1000};
	return event_add(&w->janitor, &tv) == 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	event_base_dispatch(w->base);
	free_buried(w);
	atomic_store(&w->finished, true);
	log_debug("worker %d: stopped", w->id);
	return NULL;
}

bool worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0;
}

static void send_command(struct worker *w, enum worker_command cmd)
{
	atomic_store(&w->command, cmd);
	event_active(&w->wakeup, 0, 0);
}

void worker_drain(struct worker *w)
{
	send_command(w, WORKER_DRAIN);
}

void worker_handover(struct worker *w)
{
	send_command(w, WORKER_HANDOVER);
}

void worker_reload(struct worker *w)
{
	event_active(&w->wakeup, 0, 0);
}

void worker_stop(struct worker *w)
{
	send_command(w, WORKER_STOP);
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void worker_free(struct worker *w)
{
	if (w->listener)
		evconnlistener_free(w->listener);
	pinner_free(w->pinner); /* its events live on the base; it answers pending fills first */
	w->pinner = NULL;
	cache_worker_free(w->cache);
	w->cache = NULL;
	schema_release(w->schema);
	w->schema = NULL;
	if (w->base) {
		event_del(&w->janitor);
		event_del(&w->wakeup);
		event_del(&w->reaper);
		event_base_free(w->base);
	}
	pool_free(&w->pool);
	balance_destroy(w->balancer);
	free(w->replica_sessions);
	free((void *)w->counters.backend_queries);
	free(w->counters.backend_latency);
	w->base = NULL;
	w->listener = NULL;
}

const struct schema *worker_schema(struct worker *w)
{
	struct schema_store *st = &w->proxy->schema;
	if (atomic_load_explicit(&st->generation, memory_order_acquire) != w->schema_generation) {
		schema_release(w->schema);
		w->schema = schema_acquire(st, &w->schema_generation);
	}
	return w->schema;
}
