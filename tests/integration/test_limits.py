#!/usr/bin/python3
"""Per-user limits ([user.NAME] max_connections, max_qps, burst; [proxy] rate_wait_ms) and the
slow-query log ([proxy] slow_query_ms). Proxy only; a fresh proxy per class.

The limited user is `app`, the one the backends know: the proxy logs in to them as the client.
"""

import re
import signal
import time
import unittest

import pymysql

import harness

ER_USER_LIMIT_REACHED = 1226


class MaxConnectionsTest(harness.ProxyTestCase):
    proxy_only = True
    overrides = {("user.app", "max_connections"): "3"}

    def test_limit_refuses_the_next_login_only(self):
        conns = [self.connect() for _ in range(3)]
        try:
            with self.assertRaises(pymysql.err.OperationalError) as ctx:
                self.connect()
            self.assertEqual(ctx.exception.args[0], ER_USER_LIMIT_REACHED)
            self.assertEqual(ctx.exception.args[1],
                             "User 'app' has exceeded the 'max_user_connections' resource "
                             "(current value: 3)")
            for i, c in enumerate(conns):       # the others are unaffected
                with c.cursor() as cur:
                    cur.execute("SELECT %s", (i,))
                    self.assertEqual(cur.fetchone(), (i,))
            conns.pop().close()                 # a disconnect frees a slot

            def login():
                try:
                    return self.connect()
                except pymysql.err.OperationalError as e:
                    if e.args[0] != ER_USER_LIMIT_REACHED:
                        raise
                    return None
            conns.append(harness.wait_until(login, timeout=5, what="a freed slot"))
            with conns[-1].cursor() as cur:
                cur.execute("SELECT 1")
            snap = harness.stats(self.proxy)
            self.assertGreaterEqual(snap["limits"]["rejected"], 1)
        finally:
            for c in conns:
                c.close()

    def test_reload_changes_the_limit(self):
        # The other case's connections are closed, but the proxy may not have seen it yet.
        harness.wait_stats(self.proxy, lambda st: st["connections"]["current"] == 0)
        conns = [self.connect() for _ in range(3)]
        try:
            with self.assertRaises(pymysql.err.OperationalError):
                self.connect()
            with open(self.proxy.conf_path, "w") as f:
                ov = dict(self.overrides)
                ov[("proxy", "listen")] = "%s:%d" % (harness.HOST, self.proxy.port)
                ov[("stats", "listen")] = "%s:%d" % (harness.HOST, self.proxy.stats_port)
                ov[("user.app", "max_connections")] = "4"
                f.write(harness.render_config(ov))
            self.proxy.proc.send_signal(signal.SIGHUP)
            harness.wait_until(lambda: "applied" in self.proxy.log_text(), timeout=5,
                               what="the reload")
            conns.append(self.connect())
            with self.assertRaises(pymysql.err.OperationalError) as ctx:
                self.connect()
            self.assertIn("(current value: 4)", ctx.exception.args[1])
        finally:
            for c in conns:
                c.close()


class MaxQpsWaitTest(harness.ProxyTestCase):
    proxy_only = True
    overrides = {("user.app", "max_qps"): "50", ("user.app", "burst"): "10",
                 ("proxy", "rate_wait_ms"): "10000"}

    def loop(self, proxy):
        with proxy.connect() as c, c.cursor() as cur:
            # pymysql's connect ran one statement (SET AUTOCOMMIT): it took the first token.
            t0 = time.monotonic()
            for i in range(200):
                cur.execute("SELECT %d" % i)
                self.assertEqual(cur.fetchone(), (i,))
            return time.monotonic() - t0

    def test_statements_wait_for_their_tokens(self):
        # The same loop without limits: what the statements themselves cost on this machine.
        with harness.Proxy() as free:
            baseline = self.loop(free)
        elapsed = self.loop(self.proxy)
        # 10 tokens at once, then one per 20 ms: (201 - 10) x 20 ms = 3.82 s. Statements run
        # while the next token comes, so only a slow machine adds to it (at most the baseline).
        self.assertGreater(elapsed, 3.6, "too fast: %.2f s" % elapsed)
        self.assertLess(elapsed, 3.82 + baseline + 0.4,
                        "too slow: %.2f s (%.2f s without limits)" % (elapsed, baseline))
        snap = harness.stats(self.proxy)
        self.assertGreater(snap["limits"]["waits"], 0)
        self.assertEqual(snap["limits"]["rejected"], 0)
        self.assertEqual(snap["queries"]["errors"], 0)


class MaxQpsRefuseTest(harness.ProxyTestCase):
    proxy_only = True
    overrides = {("user.app", "max_qps"): "50", ("user.app", "burst"): "10",
                 ("proxy", "rate_wait_ms"): "0"}

    def test_over_the_rate_fails_clearly_and_the_session_survives(self):
        ok, refused = 0, []
        with self.connect() as c, c.cursor() as cur:
            for i in range(200):
                try:
                    cur.execute("SELECT %d" % i)
                    self.assertEqual(cur.fetchone(), (i,))
                    ok += 1
                except pymysql.err.OperationalError as e:
                    refused.append(e)
            self.assertGreaterEqual(ok, 9)
            self.assertGreater(len(refused), 100)
            for e in refused:
                self.assertEqual(e.args[0], ER_USER_LIMIT_REACHED)
                self.assertRegex(e.args[1], r"^Sluice: user 'app' exceeded max_qps=50 "
                                            r"\(next token in \d+ ms, rate_wait_ms=0\)$")
            time.sleep(0.1)
            cur.execute("SELECT 'still here'")
            self.assertEqual(cur.fetchone(), ("still here",))
        snap = harness.stats(self.proxy)
        self.assertEqual(snap["limits"]["rejected"], len(refused))


class SlowQueryLogTest(harness.ProxyTestCase):
    proxy_only = True
    overrides = {("proxy", "slow_query_ms"): "100"}

    def slow_lines(self):
        return [l for l in self.proxy.log_text().splitlines() if "slow query:" in l]

    def test_slow_statement_logs_one_line(self):
        before = len(self.slow_lines())
        with self.connect() as c, c.cursor() as cur:
            cur.execute("/* sluice:primary */ SELECT\nSLEEP(0.3)")
            sid = c.thread_id()
        lines = harness.wait_until(lambda: self.slow_lines()[before:] or None, timeout=5,
                                   what="the slow-query line")
        time.sleep(0.2)
        lines = self.slow_lines()[before:]
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0],
                         r" WARN  slow query: session %d, (\d+) ms, route=hint_primary, "
                         r"backend=primary, /\* sluice:primary \*/ SELECT SLEEP\(0\.3\)$" % sid)
        ms = int(re.search(r", (\d+) ms,", lines[0]).group(1))
        self.assertGreaterEqual(ms, 300)

    def test_fast_statement_logs_none(self):
        before = len(self.slow_lines())
        took = {}
        with self.connect() as c, c.cursor() as cur:
            for i in range(20):
                t0 = time.monotonic()
                cur.execute("SELECT %d /* fast */" % i)
                took[i] = time.monotonic() - t0
        time.sleep(0.2)
        logged = [int(re.search(r"SELECT (\d+) /\* fast", l).group(1))
                  for l in self.slow_lines()[before:]]
        # A statement the client saw answered within 100 ms cannot have taken longer in the
        # proxy; on a loaded machine one may really be slow, and then it is logged.
        self.assertEqual([i for i in logged if took[i] < 0.1], [], (logged, took))
        self.assertLess(len(logged), 20)

    def test_long_statement_is_cut(self):
        before = len(self.slow_lines())
        pad = "x" * 500
        with self.connect() as c, c.cursor() as cur:
            cur.execute("/* sluice:primary */ SELECT SLEEP(0.2), '%s'" % pad)
        harness.wait_until(lambda: self.slow_lines()[before:] or None, timeout=5,
                           what="the slow-query line")
        line = self.slow_lines()[before]
        text = line.split("backend=primary, ", 1)[1]
        self.assertEqual(len(text), 200)


if __name__ == "__main__":
    unittest.main()
