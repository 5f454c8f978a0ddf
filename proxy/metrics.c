/*
 * metrics.c - the Prometheus text exposition of the proxy's counters (see metrics.h).
 *
 * Each family is written as one block: `# HELP`, `# TYPE`, then its samples, because the
 * format forbids a family's samples to be split. Worker counters and gauges come from the
 * X-macro lists in counters.h, route reasons from router.h, backends from the backend table, so
 * nothing here has to be edited when a counter is added to those lists. This file must not
 * sum counters or touch the network: it formats what it is given.
 */
#include "metrics.h"

#include "backend.h"
#include "cache.h"
#include "counters.h"
#include "proxy.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* backend="NAME",role="ROLE" with NAME escaped: at most twice the name plus the rest. */
#define LABELS_MAX (2 * CFG_NAME_MAX + 64)

/* A sticky-failure writer: the first failed append is remembered and checked once at the end. */
struct prom {
	struct evbuffer *out;
	const char *family; /* the family whose block is open, so a repeated name adds samples */
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void emit(struct prom *w, const char *fmt, ...)
{
	if (w->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (evbuffer_add_vprintf(w->out, fmt, ap) < 0)
		w->failed = true;
	va_end(ap);
}

/* Opens family sluice_<name> unless it is the one already open. */
static void open_family(struct prom *w, const char *name, const char *type, const char *help)
{
	if (w->family && strcmp(w->family, name) == 0)
		return;
	w->family = name;
	emit(w, "# HELP sluice_%s %s\n# TYPE sluice_%s %s\n", name, help, name, type);
}

static void sample_u64(struct prom *w, const char *name, const char *labels, uint64_t v)
{
	emit(w, "sluice_%s%s%s%s %" PRIu64 "\n", name, *labels ? "{" : "", labels,
	     *labels ? "}" : "", v);
}

static void sample_i64(struct prom *w, const char *name, const char *labels, int64_t v)
{
	emit(w, "sluice_%s%s%s%s %" PRId64 "\n", name, *labels ? "{" : "", labels,
	     *labels ? "}" : "", v);
}

static void sample_seconds(struct prom *w, const char *name, const char *labels, double v)
{
	emit(w, "sluice_%s%s%s%s %.6f\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", v);
}

/* Writes value into out as a label value: backslash, double quote and newline escaped. */
static void escape_label_value(char *out, size_t len, const char *value)
{
	size_t n = 0;
	for (const char *c = value; *c && n + 3 < len; c++) {
		if (*c == '\\' || *c == '"' || *c == '\n')
			out[n++] = '\\';
		out[n++] = *c == '\n' ? 'n' : *c;
	}
	out[n] = '\0';
}

static void backend_labels(char *out, size_t len, const struct backend *b)
{
	char name[2 * CFG_NAME_MAX + 1];
	escape_label_value(name, sizeof(name), b->name);
	snprintf(out, len, "backend=\"%s\",role=\"%s\"", name, backend_role_str(b->role));
}

static void write_process(struct prom *w, struct proxy *p)
{
	open_family(w, "build_info", "gauge", "Always 1; the version as a label");
	emit(w, "sluice_build_info{version=\"%s\"} 1\n", SLUICE_VERSION);
	open_family(w, "start_time_seconds", "gauge", "When the process started, in Unix time");
	sample_i64(w, "start_time_seconds", "", (int64_t)p->started);
	open_family(w, "uptime_seconds", "gauge", "Seconds since the process started");
	sample_i64(w, "uptime_seconds", "", (int64_t)(time(NULL) - p->started));
}

static void write_cache_lag(struct prom *w, struct proxy *p)
{
	open_family(w, "cache_local_invalidation_lag_ms", "gauge",
	            "Delivery delay of the last invalidation to the in-process cache tiers (worst "
	            "worker)");
	sample_i64(w, "cache_local_invalidation_lag_ms", "", (int64_t)cache_lag_ms(p));
}

static void write_worker_counters(struct prom *w, const struct counters_sum *sum)
{
#define WRITE_COUNTER(field, group, key, metric, labels, help)                                     \
	open_family(w, metric, "counter", help);                                                   \
	sample_u64(w, metric, labels, sum->field);
	WORKER_COUNTERS(WRITE_COUNTER)
#undef WRITE_COUNTER
#define WRITE_GAUGE(field, group, key, metric, labels, help)                                       \
	open_family(w, metric, "gauge", help);                                                     \
	sample_i64(w, metric, labels, sum->field);
	WORKER_GAUGES(WRITE_GAUGE)
#undef WRITE_GAUGE
}

static void write_routes(struct prom *w, const struct counters_sum *sum)
{
	open_family(w, "route_total", "counter",
	            "Statements by the rule that chose primary or replica (docs/routing.md)");
	for (int r = 0; r < ROUTE_REASON_COUNT; r++)
		emit(w, "sluice_route_total{reason=\"%s\"} %" PRIu64 "\n",
		     route_reason_str((enum route_reason)r), sum->routes[r]);
}

static bool backend_listed(struct backend *b)
{
	return !atomic_load(&b->retired);
}

static void write_backend_health(struct prom *w, struct backend_table *t)
{
	char labels[LABELS_MAX];
	size_t n = backends_count(t);
	open_family(w, "backend_up", "gauge", "1 when the monitor sees the backend up, else 0");
	for (size_t i = 0; i < n; i++) {
		struct backend *b = &t->items[i];
		if (!backend_listed(b))
			continue;
		backend_labels(labels, sizeof(labels), b);
		sample_u64(w, "backend_up", labels, atomic_load(&b->health) == HEALTH_UP);
	}
	open_family(w, "backend_state", "gauge",
	            "1 for the backend's current health state (unknown, up, down, lagging)");
	for (size_t i = 0; i < n; i++) {
		struct backend *b = &t->items[i];
		if (!backend_listed(b))
			continue;
		backend_labels(labels, sizeof(labels), b);
		int health = atomic_load(&b->health);
#define WRITE_STATE(id, name)                                                                      \
	emit(w, "sluice_backend_state{%s,state=\"%s\"} %d\n", labels, name, health == id);
		BACKEND_HEALTH_LIST(WRITE_STATE)
#undef WRITE_STATE
	}
	open_family(w, "backend_replica_lag_seconds", "gauge",
	            "Seconds_Behind_Master as last seen by the monitor (absent while unknown)");
	for (size_t i = 0; i < n; i++) {
		struct backend *b = &t->items[i];
		int64_t lag = atomic_load(&b->lag_ms);
		if (!backend_listed(b) || b->role != BACKEND_REPLICA || lag == BACKEND_LAG_UNKNOWN)
			continue;
		backend_labels(labels, sizeof(labels), b);
		sample_seconds(w, "backend_replica_lag_seconds", labels, (double)lag / 1000.0);
	}
	open_family(w, "backend_read_only", "gauge",
	            "@@read_only as last seen by the monitor (absent while unknown)");
	for (size_t i = 0; i < n; i++) {
		struct backend *b = &t->items[i];
		int read_only = atomic_load(&b->read_only);
		if (!backend_listed(b) || read_only < 0)
			continue;
		backend_labels(labels, sizeof(labels), b);
		sample_i64(w, "backend_read_only", labels, read_only);
	}
}

static void write_backend_queries(struct prom *w, struct backend_table *t,
                                  const struct counters_sum *sum)
{
	char labels[LABELS_MAX];
	size_t n = backends_count(t);
	open_family(w, "backend_queries_total", "counter", "Statements sent to the backend");
	for (size_t i = 0; i < n; i++) {
		struct backend *b = &t->items[i];
		if (!backend_listed(b))
			continue;
		backend_labels(labels, sizeof(labels), b);
		sample_u64(w, "backend_queries_total", labels, sum->backend_queries[b->index]);
	}
}

/* One histogram per backend: cumulative buckets up to +Inf, then _sum and _count. */
static void write_backend_latency(struct prom *w, struct backend_table *t,
                                  const struct counters_sum *sum)
{
	char labels[LABELS_MAX];
	size_t n = backends_count(t);
	open_family(w, "backend_query_duration_seconds", "histogram",
	            "Time from sending a statement to the backend to the end of its reply");
	for (size_t i = 0; i < n; i++) {
		struct backend *b = &t->items[i];
		if (!backend_listed(b))
			continue;
		backend_labels(labels, sizeof(labels), b);
		const uint64_t *buckets = sum->backend_latency[b->index].buckets;
		uint64_t cumulative = 0;
		for (int k = 0; k <= LATENCY_BUCKETS; k++) {
			cumulative += buckets[k];
			char le[32] = "+Inf";
			if (k < LATENCY_BUCKETS)
				snprintf(le, sizeof(le), "%g", (double)latency_bound_us(k) / 1e6);
			emit(w,
			     "sluice_backend_query_duration_seconds_bucket{%s,le=\"%s\"} %" PRIu64
			     "\n",
			     labels, le, cumulative);
		}
		emit(w, "sluice_backend_query_duration_seconds_sum{%s} %.6f\n", labels,
		     (double)sum->backend_latency[b->index].sum_us / 1e6);
		emit(w, "sluice_backend_query_duration_seconds_count{%s} %" PRIu64 "\n", labels,
		     cumulative);
	}
}

/*
 * The sections, in output order. Per-worker counters need no code here: a line in
 * WORKER_COUNTERS or WORKER_GAUGES is enough. Values kept elsewhere (pinning's Redis up/down,
 * the cache, the binlog tailer) get a write_* function of their own, called below, that opens
 * its families with open_family() and writes samples with sample_*().
 */
bool metrics_write(struct evbuffer *out, struct proxy *p, const struct counters_sum *sum)
{
	struct prom w = {.out = out};
	write_process(&w, p);
	write_cache_lag(&w, p);
	write_worker_counters(&w, sum);
	write_routes(&w, sum);
	write_backend_health(&w, &p->backends);
	write_backend_queries(&w, &p->backends, sum);
	write_backend_latency(&w, &p->backends, sum);
	return !w.failed;
}
