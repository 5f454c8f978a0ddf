#!/usr/bin/python3
"""The primary unreachable or its connection killed: the client gets an error, the proxy lives on.

Proxy only (skipped with SLUICE_DIRECT=1), except the KILL case, whose client
side also holds against MariaDB directly.
"""

import threading
import time
import unittest

import pymysql

import harness
from harness import TEST_DB, http_get, stats

CLOSED_PORT = harness.free_port()     # bound once then released: nothing listens there
DEAD_ADDRESS = "127.0.0.1:%d" % CLOSED_PORT


@harness.skip_if_direct()
class PrimaryUnreachableTest(harness.ProxyTestCase):
    # reads too must need the primary, or a healthy replica would answer them
    overrides = {**harness.PRIMARY_ONLY, ("primary", "address"): DEAD_ADDRESS}

    def assert_2003(self, exc):
        code, msg = exc.args[0], exc.args[1] if len(exc.args) > 1 else ""
        self.assertEqual(code, 2003, exc.args)
        self.assertIn("primary", msg, "error message should name the backend: %r" % msg)
        self.assertIn(DEAD_ADDRESS, msg, "error message should give the address: %r" % msg)

    def test_01_query_without_db(self):
        t0 = time.monotonic()
        c = self.connect(read_timeout=20)     # no database: the login itself is the proxy's
        try:
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                with c.cursor() as cur:
                    cur.execute("SELECT 1")
            self.assert_2003(cm.exception)
            self.assertLess(time.monotonic() - t0, 10, "error took too long")
        finally:
            c.close()

    def test_02_connect_with_db(self):
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.connect(database=TEST_DB, read_timeout=20)
        self.assert_2003(cm.exception)

    def test_03_stays_up(self):
        for _ in range(5):
            c = self.connect(read_timeout=20)
            try:
                with self.assertRaises(pymysql.err.OperationalError) as cm:
                    with c.cursor() as cur:
                        cur.execute("SELECT 1")
                self.assertEqual(cm.exception.args[0], 2003)
            finally:
                c.close()
        self.assertTrue(harness.pid_alive(self.proxy.pid))
        status, body = http_get(self.proxy.stats_port, "/health")
        self.assertEqual(status, 200)
        s = stats(self.proxy)
        self.assertIn("primary", [b["name"] for b in s["backends"]])

    def test_04_circuit_breaker(self):
        # breaker_failures (5) failed connects in a row open the primary's breaker: later
        # statements fail at once, saying so, until breaker_cooldown_ms lets one probe through
        def failure():
            c = self.connect(read_timeout=20)
            try:
                with self.assertRaises(pymysql.err.OperationalError) as cm:
                    with c.cursor() as cur:
                        cur.execute("SELECT 1")
                return cm.exception
            finally:
                c.close()
        messages = [failure().args[1] for _ in range(8)]
        self.assertTrue(any("circuit breaker open" in m for m in messages), messages)
        time.sleep(2.2)                        # past the default 2000 ms cool-down
        probe = failure()
        self.assertEqual(probe.args[0], 2003)
        self.assertNotIn("circuit breaker", probe.args[1], "the probe really tried to connect")
        self.assertIn("circuit breaker open", failure().args[1], "a failed probe re-opens it")


class BackendKilledTest(harness.ProxyTestCase):
    overrides = harness.PRIMARY_ONLY

    def test_kill_backend_connection(self):
        victim = self.connect(read_timeout=30)
        bystander = self.connect(database=TEST_DB)
        with victim.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            cid = cur.fetchone()[0]
        box = {}

        def run():
            t = time.monotonic()
            try:
                with victim.cursor() as cur:
                    cur.execute("SELECT SLEEP(5)")
                    box["rows"] = cur.fetchall()
            except Exception as e:  # noqa: BLE001 - examined below
                box["error"] = e
            box["elapsed"] = time.monotonic() - t

        th = threading.Thread(target=run)
        th.start()
        time.sleep(0.5)
        t_kill = time.monotonic()
        with harness.primary_connect() as admin, admin.cursor() as cur:
            cur.execute("KILL %d" % cid)
        th.join(15)
        self.assertFalse(th.is_alive(), "client still waiting 15 s after the KILL")
        self.assertIn("error", box, "client got %r instead of an error" % box.get("rows"))
        err = box["error"]
        self.assertIsInstance(err, pymysql.err.MySQLError, repr(err))
        self.assertLess(box["elapsed"], 3.0, "error only after %.2f s" % box["elapsed"])
        self.assertLess(time.monotonic() - t_kill, 3.0)
        if err.args and err.args[0] == 2013 and not harness.DIRECT:
            self.assertIn("Lost connection to backend", str(err.args[1:]), err.args)
        victim.close()
        # the others carry on
        with bystander.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM seq_1_to_3")
            self.assertEqual(cur.fetchone()[0], 3)
        bystander.close()
        with self.connect(database=TEST_DB) as c, c.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID() <> %s, 1", (cid,))
            self.assertEqual(cur.fetchone(), (1, 1))
        if self.proxy.pid:
            self.assertTrue(harness.pid_alive(self.proxy.pid))

    def test_kill_idle_backend_connection(self):
        # the backend goes away while the client is idle: next statement errors
        # (or is transparently retried on a new backend connection), never hangs
        victim = self.connect(read_timeout=10)
        with victim.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            cid = cur.fetchone()[0]
        with harness.primary_connect() as admin, admin.cursor() as cur:
            cur.execute("KILL %d" % cid)
        time.sleep(0.3)
        t = time.monotonic()
        try:
            with victim.cursor() as cur:
                cur.execute("SELECT 1")
                self.assertEqual(cur.fetchone()[0], 1)
        except pymysql.err.MySQLError:
            pass
        self.assertLess(time.monotonic() - t, 5.0)
        victim.close()
        with self.connect() as c, c.cursor() as cur:
            cur.execute("SELECT 2")
            self.assertEqual(cur.fetchone()[0], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
