/*
 * stats.c - the HTTP stats endpoint (see stats.h).
 */
#include "stats.h"

#include "backend.h"
#include "counters.h"
#include "log.h"
#include "proxy.h"
#include "worker.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct stats_server {
	struct evhttp *http;
	struct proxy *proxy;
};

static json_t *group(json_t *root, const char *name)
{
	json_t *g = json_object_get(root, name);
	if (!g) {
		g = json_object();
		json_object_set_new(root, name, g);
	}
	return g;
}

static void add_counters(json_t *root, struct proxy *p)
{
#define SUM_COUNTER(field, grp, key, help)                                                         \
	{                                                                                          \
		uint64_t sum = 0;                                                                  \
		for (int i = 0; i < p->n_workers; i++)                                             \
			sum += counter_read(&p->workers[i].counters.field);                        \
		json_object_set_new(group(root, grp), key, json_integer((json_int_t)sum));         \
	}
	WORKER_COUNTERS(SUM_COUNTER)
#undef SUM_COUNTER
	int64_t current = 0, idle = 0;
	for (int i = 0; i < p->n_workers; i++) {
		current += atomic_load_explicit(&p->workers[i].counters.connections_current,
		                                memory_order_relaxed);
		idle +=
		    atomic_load_explicit(&p->workers[i].counters.pool_idle, memory_order_relaxed);
	}
	json_object_set_new(group(root, "connections"), "current", json_integer(current));
	json_t *routes = group(root, "routes");
	for (int r = 0; r < ROUTE_REASON_COUNT; r++) {
		uint64_t sum = 0;
		for (int i = 0; i < p->n_workers; i++)
			sum += counter_read(&p->workers[i].counters.routes[r]);
		json_object_set_new(routes, route_reason_str((enum route_reason)r),
		                    json_integer((json_int_t)sum));
	}
	json_object_set_new(group(root, "pool"), "idle", json_integer(idle));
}

static json_t *backend_json(struct proxy *p, struct backend *b)
{
	uint64_t queries = 0;
	for (int i = 0; i < p->n_workers; i++)
		queries += counter_read(&p->workers[i].counters.backend_queries[b->index]);
	int64_t lag = atomic_load(&b->lag_ms);
	int read_only = atomic_load(&b->read_only);
	char gtid[sizeof(b->gtid)];
	backend_get_gtid(b, gtid, sizeof(gtid));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:s}", "name", b->name, "role",
	                 backend_role_str(b->role), "address", b->address, "state",
	                 backend_health_str(atomic_load(&b->health)), "lag_ms",
	                 lag == BACKEND_LAG_UNKNOWN ? json_null() : json_integer(lag), "queries",
	                 (json_int_t)queries, "read_only",
	                 read_only < 0 ? json_null() : json_boolean(read_only), "gtid", gtid);
}

static json_t *stats_json(struct proxy *p)
{
	json_t *root = json_object();
	json_object_set_new(root, "version", json_string(SLUICE_VERSION));
	json_object_set_new(root, "uptime_s", json_integer((json_int_t)(time(NULL) - p->started)));
	add_counters(root, p);
	json_t *backends = json_array();
	for (size_t i = 0; i < backends_count(&p->backends); i++)
		if (!atomic_load(&p->backends.items[i].retired))
			json_array_append_new(backends, backend_json(p, &p->backends.items[i]));
	json_object_set_new(root, "backends", backends);
	return root;
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *type,
                       const char *body)
{
	struct evbuffer *buf = evbuffer_new();
	if (!buf) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(buf, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

static void on_health(struct evhttp_request *req, void *arg)
{
	(void)arg;
	reply_text(req, 200, "OK", "text/plain", "ok\n");
}

static void on_stats(struct evhttp_request *req, void *arg)
{
	struct stats_server *s = arg;
	json_t *root = stats_json(s->proxy);
	char *body = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!body) {
		evhttp_send_error(req, 500, "cannot encode stats");
		return;
	}
	reply_text(req, 200, "OK", "application/json", body);
	free(body);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	reply_text(req, 404, "Not Found", "text/plain", "not found: try /health or /stats\n");
}

struct stats_server *stats_start(struct event_base *base, struct proxy *p)
{
	const struct cfg_addr *a = &proxy_config(p)->stats.listen;
	struct stats_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->proxy = p;
	s->http = evhttp_new(base);
	if (!s->http || evhttp_bind_socket(s->http, a->host, a->port) != 0) {
		log_error("stats: cannot listen on %s:%u", a->host, a->port);
		stats_stop(s);
		return NULL;
	}
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(s->http, "/health", on_health, s);
	evhttp_set_cb(s->http, "/stats", on_stats, s);
	evhttp_set_gencb(s->http, on_other, s);
	return s;
}

void stats_stop(struct stats_server *s)
{
	if (!s)
		return;
	if (s->http)
		evhttp_free(s->http);
	free(s);
}
