#!/usr/bin/python3
"""What operators scrape and watch: /metrics (Prometheus text format 0.0.4) read by a strict
parser, the dashboard page at /, the [stats] token, and the sd_notify messages systemd waits
for. Proxy only."""

import os
import re
import socket
import unittest
import urllib.error
import urllib.request

import harness
from harness import HOST, http_get, stats

# The latency buckets the issue asks for, in seconds (`le` labels as the proxy writes them).
BUCKETS = ("0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
           "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$" % NAME)
LABEL_RE = re.compile(LABEL)
# Families that do not come from the worker counter lists of counters.h.
# numbers in /stats groups that are no sum of worker counters (and have a family of their own)
NOT_WORKER_STATS = {("cache", "local_invalidation_lag_ms")}
NOT_WORKER = re.compile(r"^sluice_(build_info|start_time_seconds|uptime_seconds|route_total|"
                        r"backend_.*|cache_local_invalidation_lag_ms)$")


class ExpositionError(AssertionError):
    pass


def parse_labels(text, where):
    """'a="1",b="x"' -> (("a","1"),("b","x")), refusing anything the format does not allow."""
    labels, pos = [], 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        if not m:
            raise ExpositionError("%s: bad label syntax at %r" % (where, text[pos:]))
        value = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(2))
        labels.append((m.group(1), value))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise ExpositionError("%s: expected ',' in labels at %r" % (where, text[pos:]))
            pos += 1
    names = [k for k, _ in labels]
    if len(set(names)) != len(names):
        raise ExpositionError("%s: repeated label in %r" % (where, text))
    return tuple(labels)


def parse_value(text, where):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", text):
        raise ExpositionError("%s: bad value %r" % (where, text))
    return float(text)


def parse_exposition(text):
    """Parses text format 0.0.4 strictly; returns {family: {"type", "help", "samples"}} where
    samples is [(name, labels tuple, value)]. Raises ExpositionError on anything off-format:
    a sample without HELP and TYPE before it, a family split in two blocks, a duplicate series,
    a histogram whose buckets are not cumulative, do not end in +Inf or disagree with _count."""
    if not text.endswith("\n"):
        raise ExpositionError("the exposition must end with a newline")
    families, current, closed, seen = {}, None, set(), set()

    def enter(family, where):
        nonlocal current
        if family != current:
            if family in closed:
                raise ExpositionError("%s: family %s appears in two blocks" % (where, family))
            if current is not None:
                closed.add(current)
            current = family
        return families.setdefault(family, {"type": None, "help": None, "samples": []})

    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % n
        if not line:
            continue
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
            if not m:
                continue                      # a plain comment
            kind, family, rest = m.groups()
            f = enter(family, where)
            if f["samples"]:
                raise ExpositionError("%s: %s for %s after its samples" % (where, kind, family))
            key = kind.lower()
            if f[key] is not None:
                raise ExpositionError("%s: second %s for %s" % (where, kind, family))
            if kind == "TYPE" and rest not in TYPES:
                raise ExpositionError("%s: unknown type %r" % (where, rest))
            f[key] = rest
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise ExpositionError("%s: not a sample: %r" % (where, line))
        name, label_text, value_text = m.group(1), m.group(2) or "", m.group(3)
        labels = parse_labels(label_text, where)
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and families.get(base, {}).get("type") == "histogram":
                family = base
        f = enter(family, where)
        if f["help"] is None or f["type"] is None:
            raise ExpositionError("%s: sample %s has no HELP and TYPE before it" % (where, name))
        if f["type"] == "histogram" and name == family:
            raise ExpositionError("%s: bare sample %s in a histogram" % (where, name))
        if f["type"] == "counter" and not name.endswith("_total"):
            raise ExpositionError("%s: counter %s does not end in _total" % (where, name))
        series = (name, tuple(sorted(labels)))
        if series in seen:
            raise ExpositionError("%s: duplicate series %r" % (where, series))
        seen.add(series)
        f["samples"].append((name, labels, parse_value(value_text, where)))
    for family, f in families.items():
        if f["type"] == "histogram":
            check_histogram(family, f["samples"])
    return families


def check_histogram(family, samples):
    by_series = {}
    for name, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels if k != "le"))
        s = by_series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if name == family + "_bucket":
            le = dict(labels).get("le")
            if le is None:
                raise ExpositionError("%s%r: bucket without le" % (family, key))
            s["buckets"].append((le, value))
        elif name == family + "_sum":
            s["sum"] = value
        else:
            s["count"] = value
    for key, s in by_series.items():
        where = "%s%r" % (family, key)
        if not s["buckets"] or s["buckets"][-1][0] != "+Inf":
            raise ExpositionError("%s: buckets do not end in +Inf" % where)
        bounds = [float(le.replace("Inf", "inf")) for le, _ in s["buckets"]]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ExpositionError("%s: bucket bounds not increasing: %r" % (where, bounds))
        counts = [v for _, v in s["buckets"]]
        if counts != sorted(counts):
            raise ExpositionError("%s: buckets not cumulative: %r" % (where, counts))
        if s["count"] is None or s["sum"] is None:
            raise ExpositionError("%s: missing _count or _sum" % where)
        if s["count"] != counts[-1]:
            raise ExpositionError("%s: _count %r != +Inf bucket %r" % (where, s["count"], counts[-1]))


def value(families, name, **labels):
    """The value of one series; AssertionError if it is not there."""
    family = families.get(name) or families.get(re.sub(r"_(bucket|sum|count)$", "", name))
    want = set(labels.items())
    for n, l, v in (family or {}).get("samples", []):
        if n == name and want <= set(l):
            return v
    raise AssertionError("no series %s%r in /metrics" % (name, labels))


def get(port, path, token=None, method="GET"):
    """(status, headers, body) for path, with a bearer token when given."""
    req = urllib.request.Request("http://%s:%d%s" % (HOST, port, path), method=method)
    if token is not None:
        req.add_header("Authorization", token if " " in token else "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class ParserTest(unittest.TestCase):
    """The parser itself refuses what it must, so a pass below means something."""

    def test_refuses_bad_expositions(self):
        good = ("# HELP sluice_x_total X\n# TYPE sluice_x_total counter\nsluice_x_total 1\n")
        parse_exposition(good)
        bad = {
            "no HELP": "# TYPE a_total counter\na_total 1\n",
            "no TYPE": "# HELP a_total A\na_total 1\n",
            "split family": good + "# HELP b B\n# TYPE b gauge\nb 1\nsluice_x_total{a=\"1\"} 2\n",
            "duplicate": good + "sluice_x_total 2\n",
            "bad label": "# HELP a A\n# TYPE a gauge\na{x=1} 1\n",
            "no newline": good.rstrip("\n"),
            "not cumulative": "# HELP h H\n# TYPE h histogram\n"
                              "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            "no +Inf": "# HELP h H\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n",
            "count differs": "# HELP h H\n# TYPE h histogram\n"
                             "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        }
        for why, text in bad.items():
            with self.subTest(why=why), self.assertRaises(ExpositionError):
                parse_exposition(text)


class MetricsTest(harness.ProxyTestCase):
    overrides = harness.PRIMARY_ONLY
    proxy_only = True

    def metrics(self):
        status, headers, body = get(self.proxy.stats_port, "/metrics")
        self.assertEqual(status, 200, body[:300])
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"),
                        headers["Content-Type"])
        return parse_exposition(body.decode("utf-8"))

    def test_exposition_is_valid(self):
        families = self.metrics()
        for family, f in families.items():
            self.assertTrue(family.startswith("sluice_"), family)
            self.assertTrue(f["help"], family)
        self.assertEqual(value(families, "sluice_build_info", version=stats(self.proxy)["version"]), 1)

    def test_everything_in_stats_is_exported(self):
        s = harness.wait_stats(self.proxy, lambda s: all(b["state"] != "unknown"
                                                         for b in s["backends"]))
        families = self.metrics()
        # every worker counter and gauge (counters.h): one sample per number in the groups of
        # /stats; a group filled from elsewhere needs its families added to NOT_WORKER
        worker_samples = sum(len(f["samples"]) for name, f in families.items()
                             if not NOT_WORKER.match(name))
        leaves = sum(1 for k, group in s.items() if isinstance(group, dict) and k != "routes"
                     for key, v in group.items()
                     if isinstance(v, int) and not isinstance(v, bool)
                     and (k, key) not in NOT_WORKER_STATS)
        self.assertEqual(worker_samples, leaves,
                         "worker counters in /metrics vs numbers in /stats groups")
        for route in ("primary", "replica"):
            value(families, "sluice_queries_total", route=route)
        for name in ("sluice_connections_total", "sluice_connections_current",
                     "sluice_queries_received_total", "sluice_queries_errors_total",
                     "sluice_pool_connects_total", "sluice_pool_idle_connections"):
            value(families, name)
        self.assertEqual(families["sluice_connections_current"]["type"], "gauge")
        for reason in s["routes"]:
            value(families, "sluice_route_total", reason=reason)
        self.assertEqual(len(families["sluice_route_total"]["samples"]), len(s["routes"]))
        for b in s["backends"]:
            labels = dict(backend=b["name"], role=b["role"])
            self.assertEqual(value(families, "sluice_backend_up", **labels),
                             1 if b["state"] == "up" else 0, b)
            self.assertEqual(value(families, "sluice_backend_state", state=b["state"], **labels), 1)
            value(families, "sluice_backend_queries_total", **labels)
            les = [dict(l)["le"] for n, l, _ in families["sluice_backend_query_duration_seconds"]["samples"]
                   if n.endswith("_bucket") and dict(l)["backend"] == b["name"]]
            self.assertEqual(tuple(les), BUCKETS, b["name"])
            if b["role"] == "replica" and b["lag_ms"] is not None:
                lag = value(families, "sluice_backend_replica_lag_seconds", backend=b["name"])
                self.assertGreaterEqual(lag, 0)
        self.assertEqual(families["sluice_backend_query_duration_seconds"]["type"], "histogram")

    def test_counters_move_after_queries(self):
        n = 30
        before = self.metrics()
        with self.connect() as c, c.cursor() as cur:
            for i in range(n):
                cur.execute("SELECT %s", (i,))
            cur.execute("SELECT SLEEP(0.02)")
        after = self.metrics()

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        self.assertGreaterEqual(delta("sluice_queries_received_total"), n + 1)
        self.assertGreaterEqual(delta("sluice_queries_total", route="primary"), n + 1)
        self.assertGreaterEqual(delta("sluice_connections_total"), 1)
        self.assertGreaterEqual(delta("sluice_backend_queries_total", backend="primary"), n + 1)
        routed = sum(v for _, _, v in after["sluice_route_total"]["samples"]) - \
            sum(v for _, _, v in before["sluice_route_total"]["samples"])
        self.assertGreaterEqual(routed, n + 1)
        # the latency histogram of the primary saw every statement, the SLEEP above 10 ms
        count = delta("sluice_backend_query_duration_seconds_count", backend="primary")
        self.assertGreaterEqual(count, n + 1, "statements observed by the latency histogram")
        slow = delta("sluice_backend_query_duration_seconds_bucket", backend="primary", le="+Inf") - \
            delta("sluice_backend_query_duration_seconds_bucket", backend="primary", le="0.01")
        self.assertGreaterEqual(slow, 1, "SELECT SLEEP(0.02) in a bucket above 10 ms")
        self.assertGreater(delta("sluice_backend_query_duration_seconds_sum", backend="primary"),
                           0.02)

    def test_dashboard_is_served_self_contained(self):
        status, headers, body = get(self.proxy.stats_port, "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"), headers["Content-Type"])
        page = body.decode("utf-8")
        self.assertIn("<canvas", page)
        self.assertIn('fetch("stats"', page)
        self.assertIsNone(re.search(r"(?i)https?://", page), "an absolute URL in the dashboard")
        self.assertIsNone(re.search(r"(?i)<(script|link|img|iframe)[^>]+(src|href)=", page),
                          "an external resource in the dashboard")

    def test_head_and_unknown_paths(self):
        self.assertEqual(get(self.proxy.stats_port, "/metrics", method="HEAD")[0], 200)
        for path in ("/nope", "/metrics/x", "/index.html"):
            with self.subTest(path=path):
                self.assertEqual(http_get(self.proxy.stats_port, path)[0], 404)


TOKEN = "s3cret-Token_42"


class TokenTest(harness.ProxyTestCase):
    overrides = {**harness.PRIMARY_ONLY, ("stats", "token"): TOKEN}
    proxy_only = True

    def test_health_stays_open(self):
        status, _, body = get(self.proxy.stats_port, "/health")
        self.assertEqual((status, body.strip()), (200, b"ok"))

    def test_every_other_path_needs_the_token(self):
        port = self.proxy.stats_port
        for path in ("/", "/stats", "/metrics", "/nope", "/stats?x=1"):
            for token in (None, "wrong", TOKEN[:-1], TOKEN + "x", "Basic " + TOKEN, "Bearer"):
                with self.subTest(path=path, token=token):
                    status, headers, _ = get(port, path, token)
                    self.assertEqual(status, 401)
                    self.assertTrue(headers.get("WWW-Authenticate", "").startswith("Bearer"),
                                    dict(headers))

    def test_the_token_opens_them(self):
        port = self.proxy.stats_port
        for path in ("/", "/stats", "/metrics"):
            with self.subTest(path=path):
                self.assertEqual(get(port, path, TOKEN)[0], 200)
        self.assertEqual(get(port, "/stats", "bearer " + TOKEN)[0], 200)
        self.assertEqual(get(port, "/nope", TOKEN)[0], 404)
        status, _, body = get(port, "/metrics", TOKEN)
        parse_exposition(body.decode("utf-8"))


class NotifyTest(unittest.TestCase):
    """Type=notify: READY=1 once the proxy serves, STOPPING=1 when SIGTERM starts the drain."""

    def test_ready_and_stopping(self):
        if harness.DIRECT:
            raise unittest.SkipTest("SLUICE_DIRECT=1: needs the proxy itself")
        harness.require_sandbox()
        name = "@sluice-notify-test-%d" % os.getpid()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind("\0" + name[1:])
            sock.settimeout(10)
            proxy = harness.Proxy(harness.PRIMARY_ONLY, env={"NOTIFY_SOCKET": name})
            with proxy:
                self.assertEqual(sock.recv(4096), b"READY=1")
                self.assertEqual(http_get(proxy.stats_port, "/health")[0], 200)
                proxy.stop()
                self.assertEqual(sock.recv(4096), b"STOPPING=1")
            self.assertEqual(proxy.returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
