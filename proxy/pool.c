/*
 * pool.c - a worker's idle backend connections (see pool.h).
 */
#include "pool.h"

#include "backend.h"
#include "clock.h"
#include "log.h"
#include "worker.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

bool pool_init(struct pool *p, struct worker *w, size_t n_backends)
{
	p->worker = w;
	p->n_backends = n_backends;
	p->idle = calloc(n_backends, sizeof(*p->idle));
	return p->idle != NULL;
}

static void push(struct server **head, struct server *srv)
{
	srv->prev = NULL;
	srv->next = *head;
	if (*head)
		(*head)->prev = srv;
	*head = srv;
}

static void unlink_from(struct server **head, struct server *srv)
{
	if (srv->prev)
		srv->prev->next = srv->next;
	else
		*head = srv->next;
	if (srv->next)
		srv->next->prev = srv->prev;
	srv->next = srv->prev = NULL;
}

static void unlink_idle(struct pool *p, struct server *srv)
{
	unlink_from(&p->idle[srv->backend->index], srv);
	gauge_add(&p->worker->counters.pool_idle, -1);
}

static void park(struct pool *p, struct server *srv);

/* A parked connection must stay silent; anything it says means it is going away. */
static void on_idle_stream(struct stream *st, enum stream_event ev, void *arg)
{
	struct server *srv = arg;
	(void)st;
	if (ev == STREAM_DRAINED)
		return;
	unlink_idle(&srv->worker->pool, srv);
	server_close(srv, ev == STREAM_EOF ? "closed by the backend while idle"
	                                   : "unexpected data while idle");
}

static void on_reset(struct server *srv, const struct server_error *err, void *arg)
{
	struct pool *p = arg;
	unlink_from(&p->resetting, srv);
	if (err) {
		server_close(srv, err->message); /* no-op if the failure already closed it */
		return;
	}
	park(p, srv);
}

static void park(struct pool *p, struct server *srv)
{
	srv->state = SERVER_IDLE;
	srv->idle_since_ms = clock_ms();
	push(&p->idle[srv->backend->index], srv);
	stream_set_owner(&srv->st, on_idle_stream, srv);
	gauge_add(&p->worker->counters.pool_idle, 1);
}

static bool same_key(const struct server_key *a, const struct server_key *b)
{
	return a->user == b->user && a->charset == b->charset && a->caps == b->caps;
}

/* The best parked match: one already in db, else (if db is set) any that COM_INIT_DB can move. */
static struct server *find_idle(struct pool *p, struct backend *b, const struct server_key *key,
                                const char *db)
{
	struct server *movable = NULL;
	for (struct server *s = p->idle[b->index]; s; s = s->next) {
		if (!same_key(&s->key, key))
			continue;
		if (s->db_known && strcmp(s->db, db) == 0)
			return s;
		if (!movable && db[0] != '\0')
			movable = s;
	}
	return movable;
}

struct server *pool_acquire(struct pool *p, struct backend *b, const struct server_key *key,
                            const char *db, server_step_cb cb, void *arg)
{
	struct server *srv = find_idle(p, b, key, db);
	if (!srv)
		return server_open(p->worker, b, key, db, cb, arg);
	unlink_idle(p, srv);
	counter_inc(&p->worker->counters.backend_reuses);
	if (srv->db_known && strcmp(srv->db, db) == 0) {
		srv->state = SERVER_READY;
		return srv;
	}
	server_init_db(srv, db, cb, arg);
	return srv;
}

void pool_release(struct pool *p, struct server *srv, bool clean)
{
	if (srv->state == SERVER_CLOSED)
		return;
	if (!clean || srv->worker->draining || evbuffer_get_length(srv->st.in) > 0) {
		server_close(srv, clean ? "not reusable" : "released mid-command");
		return;
	}
	push(&p->resetting, srv);
	server_reset(srv, on_reset, p);
}

void pool_prune(struct pool *p, uint64_t now, uint64_t max_idle_ms)
{
	for (size_t i = 0; i < p->n_backends; i++) {
		struct server *next;
		for (struct server *s = p->idle[i]; s; s = next) {
			next = s->next;
			if (now - s->idle_since_ms >= max_idle_ms) {
				unlink_idle(p, s);
				server_close(s, "idle timeout");
			}
		}
	}
}

void pool_close_all(struct pool *p)
{
	while (p->resetting) {
		struct server *s = p->resetting;
		unlink_from(&p->resetting, s);
		server_close(s, "shutdown");
	}
	for (size_t i = 0; i < p->n_backends; i++)
		while (p->idle[i]) {
			struct server *s = p->idle[i];
			unlink_idle(p, s);
			server_close(s, "shutdown");
		}
}

void pool_free(struct pool *p)
{
	free(p->idle);
	p->idle = NULL;
}
