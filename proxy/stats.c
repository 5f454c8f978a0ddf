/*
 * stats.c - the HTTP stats endpoint (see stats.h).
 *
 * One dispatcher serves every path, so the token check sits in one place before any handler
 * runs: /health is always open, everything else needs the bearer token when one is set.
 */
#include "stats.h"

#include "backend.h"
#include "cache.h"
#include "counters.h"
#include "dashboard.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "worker.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct stats_server {
	struct evhttp *http;
	struct proxy *proxy;
};

/* Every worker's counters, added up. The caller frees the snapshot. */
static struct counters_sum *sum_counters(struct proxy *p)
{
	struct counters_sum *sum = calloc(1, sizeof(*sum));
	if (!sum)
		return NULL;
	for (int i = 0; i < p->n_workers; i++)
		counters_accumulate(sum, &p->workers[i].counters);
	return sum;
}

static json_t *group(json_t *root, const char *name)
{
	json_t *g = json_object_get(root, name);
	if (!g) {
		g = json_object();
		json_object_set_new(root, name, g);
	}
	return g;
}

static void add_counters(json_t *root, const struct counters_sum *sum)
{
#define JSON_COUNTER(field, grp, key, metric, labels, help)                                        \
	json_object_set_new(group(root, grp), key, json_integer((json_int_t)sum->field));
	WORKER_COUNTERS(JSON_COUNTER)
	WORKER_GAUGES(JSON_COUNTER)
#undef JSON_COUNTER
	json_t *routes = group(root, "routes");
	for (int r = 0; r < ROUTE_REASON_COUNT; r++)
		json_object_set_new(routes, route_reason_str((enum route_reason)r),
		                    json_integer((json_int_t)sum->routes[r]));
}

static json_t *backend_json(struct backend *b, const struct counters_sum *sum)
{
	int64_t lag = atomic_load(&b->lag_ms);
	int read_only = atomic_load(&b->read_only);
	char gtid[sizeof(b->gtid)];
	backend_get_gtid(b, gtid, sizeof(gtid));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:s}", "name", b->name, "role",
	                 backend_role_str(b->role), "address", b->address, "state",
	                 backend_health_str(atomic_load(&b->health)), "lag_ms",
	                 lag == BACKEND_LAG_UNKNOWN ? json_null() : json_integer(lag), "queries",
	                 (json_int_t)sum->backend_queries[b->index], "read_only",
	                 read_only < 0 ? json_null() : json_boolean(read_only), "gtid", gtid);
}

/* "off" with pinning off, "up" when every worker's Redis connection is, else "down". */
static const char *pinning_redis_state(struct proxy *p, const struct counters_sum *sum)
{
	if (proxy_config(p)->pinning.mode == PIN_OFF)
		return "off";
	return sum->pin_redis_up == p->n_workers ? "up" : "down";
}

/* The cache's own facts beside its counters: whether it runs, its Redis (the pinning one), and
 * the worst delivery delay of invalidations to the in-process tiers. */
static void add_cache_state(json_t *root, struct proxy *p, const struct counters_sum *sum)
{
	bool on = proxy_config(p)->cache.enabled;
	json_t *g = group(root, "cache");
	json_object_set_new(g, "enabled", json_boolean(on));
	json_object_set_new(g, "redis", json_string(on ? pinning_redis_state(p, sum) : "off"));
	json_object_set_new(g, "tailer",
	                    json_string(!on                                      ? "off"
	                                : sum->cache_tailer_seen == p->n_workers ? "up"
	                                                                         : "down"));
	json_object_set_new(g, "local_invalidation_lag_ms",
	                    json_integer((json_int_t)cache_lag_ms(p)));
}

static json_t *stats_json(struct proxy *p, const struct counters_sum *sum)
{
	json_t *root = json_object();
	json_object_set_new(root, "version", json_string(SLUICE_VERSION));
	json_object_set_new(root, "uptime_s", json_integer((json_int_t)(time(NULL) - p->started)));
	json_object_set_new(root, "pid", json_integer((json_int_t)getpid()));
	add_counters(root, sum);
	json_t *backends = json_array();
	for (size_t i = 0; i < backends_count(&p->backends); i++)
		if (!atomic_load(&p->backends.items[i].retired))
			json_array_append_new(backends, backend_json(&p->backends.items[i], sum));
	json_object_set_new(root, "backends", backends);
	json_object_set_new(group(root, "pinning"), "redis",
	                    json_string(pinning_redis_state(p, sum)));
	add_cache_state(root, p, sum);
	return root;
}

/* Sends buf (freed here) with the given status and content type; buf NULL means out of memory. */
static void reply_buffer(struct evhttp_request *req, int code, const char *reason, const char *type,
                         struct evbuffer *buf)
{
	if (!buf) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

/* Sends a copy of body. */
static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *type,
                       const char *body)
{
	struct evbuffer *buf = evbuffer_new();
	if (buf && evbuffer_add(buf, body, strlen(body)) != 0) {
		evbuffer_free(buf);
		buf = NULL;
	}
	reply_buffer(req, code, reason, type, buf);
}

static void on_health(struct stats_server *s, struct evhttp_request *req)
{
	(void)s;
	reply_text(req, 200, "OK", "text/plain", "ok\n");
}

static void on_stats(struct stats_server *s, struct evhttp_request *req)
{
	struct counters_sum *sum = sum_counters(s->proxy);
	json_t *root = sum ? stats_json(s->proxy, sum) : NULL;
	char *body = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	free(sum);
	if (!body) {
		evhttp_send_error(req, 500, "cannot encode stats");
		return;
	}
	reply_text(req, 200, "OK", "application/json", body);
	free(body);
}

static void on_metrics(struct stats_server *s, struct evhttp_request *req)
{
	struct counters_sum *sum = sum_counters(s->proxy);
	struct evbuffer *buf = evbuffer_new();
	if (buf && (!sum || !metrics_write(buf, s->proxy, sum))) {
		evbuffer_free(buf);
		buf = NULL;
	}
	free(sum);
	reply_buffer(req, 200, "OK", METRICS_CONTENT_TYPE, buf);
}

/* The page is static storage: the reply refers to it instead of copying 12 KB per request. */
static void on_dashboard(struct stats_server *s, struct evhttp_request *req)
{
	(void)s;
	struct evbuffer *buf = evbuffer_new();
	if (buf &&
	    evbuffer_add_reference(buf, dashboard_html, dashboard_html_len, NULL, NULL) != 0) {
		evbuffer_free(buf);
		buf = NULL;
	}
	reply_buffer(req, 200, "OK", "text/html; charset=utf-8", buf);
}

struct stats_path {
	const char *path;
	void (*handler)(struct stats_server *s, struct evhttp_request *req);
	bool open; /* served without the token */
};

static const struct stats_path paths[] = {
    {"/health", on_health, true},
    {"/stats", on_stats, false},
    {"/metrics", on_metrics, false},
    {"/", on_dashboard, false},
};

/* Compares through digests so the time taken tells nothing about the token, its length
 * included. */
static bool token_matches(const char *given, size_t given_len, const char *token)
{
	unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)given, given_len, a);
	SHA256((const unsigned char *)token, strlen(token), b);
	return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

/* Does the request carry `Authorization: Bearer <token>`? True when no token is configured. */
static bool authorized(struct evhttp_request *req, const char *token)
{
	if (!*token)
		return true;
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	static const char scheme[] = "Bearer ";
	if (!h || strncasecmp(h, scheme, sizeof(scheme) - 1) != 0)
		return false;
	const char *given = h + sizeof(scheme) - 1;
	size_t len = strlen(given);
	while (len > 0 && (given[len - 1] == ' ' || given[len - 1] == '\t'))
		len--;
	return token_matches(given, len, token);
}

static void refuse(struct evhttp_request *req)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
	                  "Bearer realm=\"sluice\"");
	reply_text(req, 401, "Unauthorized", "text/plain",
	           "unauthorized: send Authorization: Bearer <[stats] token>\n");
}

static const struct stats_path *find_path(struct evhttp_request *req)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (!path || !*path)
		path = "/";
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (strcmp(paths[i].path, path) == 0)
			return &paths[i];
	return NULL;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct stats_server *s = arg;
	const struct stats_path *route = find_path(req);
	if (!(route && route->open) && !authorized(req, proxy_config(s->proxy)->stats.token)) {
		refuse(req);
		return;
	}
	if (!route) {
		reply_text(req, 404, "Not Found", "text/plain",
		           "not found: try /, /health, /stats or /metrics\n");
		return;
	}
	route->handler(s, req);
}

struct stats_server *stats_start(struct event_base *base, struct proxy *p, int listen_fd)
{
	const struct cfg_addr *a = &proxy_config(p)->stats.listen;
	struct stats_server *s = calloc(1, sizeof(*s));
	if (!s) {
		close(listen_fd);
		return NULL;
	}
	s->proxy = p;
	s->http = evhttp_new(base);
	/* evhttp closes an accepted socket when freed. */
	if (!s->http || evhttp_accept_socket(s->http, listen_fd) != 0) {
		log_error("stats: cannot serve on %s:%u", a->host, a->port);
		close(listen_fd);
		stats_stop(s);
		return NULL;
	}
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(s->http, on_request, s);
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
