#!/usr/bin/python3
"""The stats HTTP endpoint: /health, /stats shape and counters, 404s. Proxy only."""

import numbers
import socket
import time
import unittest

import pymysql

import harness
from harness import HOST, http_get, stats


def is_number(v):
    return isinstance(v, numbers.Number) and not isinstance(v, bool)


class StatsTest(harness.ProxyTestCase):
    overrides = harness.PRIMARY_ONLY
    proxy_only = True

    def wait_for(self, pred, timeout=3.0):
        """Poll /stats until pred(stats) is true; return the last snapshot."""
        deadline = time.monotonic() + timeout
        while True:
            s = stats(self.proxy)
            if pred(s) or time.monotonic() > deadline:
                return s
            time.sleep(0.05)

    def test_health(self):
        status, body = http_get(self.proxy.stats_port, "/health")
        self.assertEqual(status, 200)
        self.assertEqual(body.strip(), b"ok")

    def test_stats_shape(self):
        s = stats(self.proxy)
        self.assertIsInstance(s, dict)
        self.assertTrue(is_number(s.get("uptime_s")), "uptime_s: %r" % s.get("uptime_s"))
        self.assertGreaterEqual(s["uptime_s"], 0)
        for key, fields in (("connections", ("current", "total")),
                            ("queries", ("total", "primary", "replica", "errors"))):
            self.assertIsInstance(s.get(key), dict, "%s: %r" % (key, s.get(key)))
            for f in fields:
                v = s[key].get(f)
                self.assertTrue(is_number(v) and v >= 0, "%s.%s: %r" % (key, f, v))
        backends = s.get("backends")
        self.assertIsInstance(backends, list)
        by_name = {b.get("name"): b for b in backends}
        self.assertEqual(len(backends), 3, backends)
        self.assertEqual(set(by_name), {"primary", "r1", "r2"})
        want = {"primary": ("primary", "127.0.0.1:13306"), "r1": ("replica", "127.0.0.1:13307"),
                "r2": ("replica", "127.0.0.1:13308")}
        for name, (role, address) in want.items():
            b = by_name[name]
            self.assertEqual(b.get("role"), role, b)
            self.assertEqual(b.get("address"), address, b)
            self.assertIn(b.get("state"), ("up", "down", "lagging"), b)
            self.assertTrue(b.get("lag_ms") is None or is_number(b["lag_ms"]), b)
            self.assertIn("lag_ms", b)
            self.assertTrue(is_number(b.get("queries")) and b["queries"] >= 0, b)
        # the primary of the sandbox answers; give the monitor a moment
        s = self.wait_for(lambda s: any(b["name"] == "primary" and b["state"] == "up"
                                        for b in s["backends"]))
        self.assertEqual([b["state"] for b in s["backends"] if b["name"] == "primary"], ["up"])

    def test_uptime_advances(self):
        a = stats(self.proxy)["uptime_s"]
        time.sleep(1.2)
        b = stats(self.proxy)["uptime_s"]
        self.assertGreaterEqual(b - a, 1, (a, b))

    def test_query_counters(self):
        n = 25
        before = stats(self.proxy)
        prim_before = {b["name"]: b["queries"] for b in before["backends"]}["primary"]
        with self.connect() as c, c.cursor() as cur:
            for i in range(n):
                cur.execute("SELECT %s", (i,))
            with self.assertRaises(pymysql.err.ProgrammingError):
                cur.execute("SELEC 1")
        after = self.wait_for(lambda s: s["queries"]["total"] >= before["queries"]["total"] + n + 1)
        q0, q1 = before["queries"], after["queries"]
        self.assertGreaterEqual(q1["total"] - q0["total"], n + 1, (q0, q1))
        self.assertGreaterEqual(q1["primary"] - q0["primary"], n, (q0, q1))
        self.assertGreaterEqual(q1["errors"] - q0["errors"], 1, "queries.errors after a 1064: %r" % ((q0, q1),))
        prim_after = {b["name"]: b["queries"] for b in after["backends"]}["primary"]
        self.assertGreaterEqual(prim_after - prim_before, n, "backends[primary].queries")

    def test_connection_counters(self):
        # earlier cases' clients are closed, but the proxy may not have seen their FIN yet
        before = self.wait_for(lambda s: s["connections"]["current"] == 0)
        cur0, tot0 = before["connections"]["current"], before["connections"]["total"]
        conns = [self.connect() for _ in range(5)]
        try:
            for c in conns:
                c.ping(reconnect=False)
            s = self.wait_for(lambda s: s["connections"]["current"] >= cur0 + 5)
            self.assertEqual(s["connections"]["current"], cur0 + 5, s["connections"])
            self.assertGreaterEqual(s["connections"]["total"], tot0 + 5, s["connections"])
        finally:
            for c in conns:
                c.close()
        # closing (COM_QUIT) and dropping the socket both bring it back
        raw = socket.create_connection((HOST, self.proxy.port), timeout=5)
        raw.recv(1024)
        self.wait_for(lambda s: s["connections"]["current"] >= cur0 + 1)
        raw.close()
        s = self.wait_for(lambda s: s["connections"]["current"] == cur0)
        self.assertEqual(s["connections"]["current"], cur0, "connections.current after closing")
        self.assertGreaterEqual(s["connections"]["total"], tot0 + 6)
        # a failed login is a connection too, and goes away
        with self.assertRaises(pymysql.err.OperationalError):
            self.connect(password="wrong")
        s = self.wait_for(lambda s: s["connections"]["current"] == cur0)
        self.assertEqual(s["connections"]["current"], cur0, "connections.current after failed login")

    def test_unknown_path(self):
        for path in ("/nope", "/stats/x", "/healthz"):
            with self.subTest(path=path):
                status, _ = http_get(self.proxy.stats_port, path)
                self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
