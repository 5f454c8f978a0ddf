/*
 * stats.c - the tailer's counters and its /stats endpoint (see stats.h).
 */
#include "stats.h"

#include "log.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const int64_t latency_bounds_us[BLSTATS_LATENCY_BUCKETS - 1] = BLSTATS_LATENCY_BOUNDS_US;

void blstats_init(struct blstats *s)
{
	memset(s, 0, sizeof(*s));
	atomic_store(&s->lag_ms, -1);
	s->started = time(NULL);
	pthread_mutex_init(&s->lock, NULL);
}

void blstats_destroy(struct blstats *s)
{
	pthread_mutex_destroy(&s->lock);
}

void blstats_observe_latency(struct blstats *s, int64_t us)
{
	int i = 0;
	while (i < BLSTATS_LATENCY_BUCKETS - 1 && us > latency_bounds_us[i])
		i++;
	blstats_add(&s->latency[i], 1);
}

void blstats_set_position(struct blstats *s, const char *position)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->position, sizeof(s->position), "%s", position);
	pthread_mutex_unlock(&s->lock);
}

static uint64_t read_counter(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static json_t *latency_json(struct blstats *s)
{
	json_t *buckets = json_array();
	for (int i = 0; i < BLSTATS_LATENCY_BUCKETS; i++) {
		json_t *le = i < BLSTATS_LATENCY_BUCKETS - 1
		                 ? json_real((double)latency_bounds_us[i] / 1000.0)
		                 : json_string("+inf");
		json_array_append_new(buckets, json_pack("{s:o, s:I}", "le_ms", le, "count",
		                                         (json_int_t)read_counter(&s->latency[i])));
	}
	return buckets;
}

static json_t *stats_json(struct blstats *s)
{
	json_t *root = json_object();
	json_object_set_new(root, "version", json_string(SLUICE_VERSION));
	json_object_set_new(root, "uptime_s", json_integer((json_int_t)(time(NULL) - s->started)));
	bool leader = atomic_load(&s->leader);
	json_object_set_new(root, "role", json_string(leader ? "leader" : "standby"));
	json_object_set_new(root, "fence", json_integer((json_int_t)atomic_load(&s->fence)));
	json_object_set_new(root, "primary_up", json_boolean(atomic_load(&s->primary_up)));
	json_object_set_new(root, "redis_up", json_boolean(atomic_load(&s->redis_up)));
	pthread_mutex_lock(&s->lock);
	json_object_set_new(root, "gtid", json_string(s->position));
	pthread_mutex_unlock(&s->lock);
	int64_t lag = atomic_load(&s->lag_ms);
	json_object_set_new(root, "lag_ms", lag < 0 ? json_null() : json_integer(lag));
	int64_t ts = atomic_load(&s->last_commit_ts);
	json_object_set_new(root, "last_commit_ts", ts ? json_integer(ts) : json_null());
#define COUNTER_JSON(name, help)                                                                   \
	json_object_set_new(root, #name, json_integer((json_int_t)read_counter(&s->name)));
	BLSTATS_COUNTERS(COUNTER_JSON)
#undef COUNTER_JSON
	json_object_set_new(root, "publish_latency", latency_json(s));
	return root;
}

struct blstats_server {
	struct blstats *stats;
	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
};

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
	struct blstats_server *srv = arg;
	json_t *root = stats_json(srv->stats);
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

static void *serve(void *arg)
{
	struct blstats_server *srv = arg;
	event_base_dispatch(srv->base);
	return NULL;
}

struct blstats_server *blstats_start(struct blstats *s, const struct cfg_addr *addr)
{
	evthread_use_pthreads();
	struct blstats_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->stats = s;
	srv->base = event_base_new();
	srv->http = srv->base ? evhttp_new(srv->base) : NULL;
	if (!srv->http || evhttp_bind_socket(srv->http, addr->host, addr->port) != 0) {
		log_error("stats: cannot listen on %s:%u", addr->host, addr->port);
		if (srv->http)
			evhttp_free(srv->http);
		if (srv->base)
			event_base_free(srv->base);
		free(srv);
		return NULL;
	}
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(srv->http, "/health", on_health, srv);
	evhttp_set_cb(srv->http, "/stats", on_stats, srv);
	evhttp_set_gencb(srv->http, on_other, srv);
	if (pthread_create(&srv->thread, NULL, serve, srv) != 0) {
		log_error("stats: cannot start its thread");
		evhttp_free(srv->http);
		event_base_free(srv->base);
		free(srv);
		return NULL;
	}
	return srv;
}

void blstats_stop(struct blstats_server *srv)
{
	if (!srv)
		return;
	event_base_loopbreak(srv->base);
	pthread_join(srv->thread, NULL);
	evhttp_free(srv->http);
	event_base_free(srv->base);
	free(srv);
}
