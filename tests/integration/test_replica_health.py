#!/usr/bin/python3
"""Replica health and the read pool: balancing, lagging and stopped replicas, no
replica at all (fallback to the primary), and a replica killed under load.

Proxy only. The cases stop replication, delay it and kill a replica's mariadbd;
each restores the sandbox in `finally`, and tearDownClass restores it again
(START SLAVE, MASTER_DELAY=0, scripts/sandbox.sh up) so later tests find it healthy.
"""

import collections
import os
import signal
import subprocess
import threading
import time
import unittest

import pymysql

import harness
from harness import SANDBOX_SH, SOURCE_DIR, TEST_DB, stats

PID = os.getpid()
DELAY_S = 30        # MASTER_DELAY for the lagging case: lag grows ~1 s/s from the next write


def mariadbd_pid(name):
    """pid of the sandbox server name, or None if it does not run."""
    path = os.path.join(SOURCE_DIR, ".sandbox", name, "mysqld.pid")
    try:
        with open(path) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/comm" % pid) as f:
            comm = f.read().strip()
    except (OSError, ValueError):
        return None
    return pid if comm == "mariadbd" and harness.pid_alive(pid) else None


def restore_sandbox():
    """Every server running, both replicas replicating without delay, caught up."""
    if not all(mariadbd_pid(n) and harness.port_open(harness.SERVER_PORTS[n])
               for n in harness.SERVERS):
        r = subprocess.run([SANDBOX_SH, "up"], capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            raise RuntimeError("sandbox.sh up failed: %s" % (r.stdout + r.stderr))
    for name in harness.REPLICAS:
        st = harness.replica_status(name)
        if (st.get("SQL_Delay") or 0) != 0:
            harness.sandbox_sql(name, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE")
        elif not harness.replica_running(name):
            harness.sandbox_sql(name, "START SLAVE")
    for name in harness.REPLICAS:
        harness.wait_until(lambda: harness.replica_running(name), 30,
                           what="replication Yes/Yes on %s" % name)
    harness.wait_replicas_caught_up(60)


class ReplicaHealthTest(harness.ProxyTestCase):
    proxy_only = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marker = harness.WhereMarker()
        cls.beat = "`%s`.`health_%d`" % (TEST_DB, PID)
        cls.sbdb = "sbtest_health_%d" % PID
        try:
            restore_sandbox()
            cls.marker.create()
            with harness.primary_connect() as c, c.cursor() as cur:
                cur.execute("CREATE TABLE IF NOT EXISTS %s (id INT AUTO_INCREMENT PRIMARY KEY, "
                            "at TIMESTAMP(6))" % cls.beat)
            harness.wait_replicas_caught_up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            restore_sandbox()
            with harness.primary_connect() as c, c.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS %s" % cls.beat)
                cur.execute("DROP DATABASE IF EXISTS `%s`" % cls.sbdb)
            cls.marker.drop()
        finally:
            super().tearDownClass()

    # ------------------------------------------------------------ helpers

    def read_once(self, conn=None):
        """The server a marker read lands on: on conn, or on a new connection."""
        c = conn or self.connect()
        try:
            with c.cursor() as cur:
                cur.execute(self.marker.select)
                return cur.fetchone()[0]
        finally:
            if conn is None:
                c.close()

    def reads(self, n):
        return collections.Counter(self.read_once() for _ in range(n))

    def wait_state(self, name, state, timeout=10.0):
        s = harness.wait_stats(self.proxy, lambda s: harness.backend(s, name)["state"] == state,
                               timeout=timeout)
        b = harness.backend(s, name)
        self.assertEqual(b["state"], state, "/stats backend %s after %.0f s: %r (replication: %r)"
                         % (name, timeout, b, self.slave_summary(name)))
        return s

    @staticmethod
    def slave_summary(name):
        try:
            st = harness.replica_status(name)
        except pymysql.err.Error as e:
            return "unreachable: %s" % e
        return {k: st.get(k) for k in ("Slave_IO_Running", "Slave_SQL_Running",
                                       "Seconds_Behind_Master", "SQL_Delay")}

    def assert_serves_again(self, name, timeout=5.0):
        """name is back in the read pool: new sessions land on it again.

        Polled for a few seconds: besides the monitor's three good checks, a circuit
        breaker opened while it was down may keep it out for breaker_cooldown_ms."""
        deadline = time.monotonic() + timeout
        while self.reads(4)[name] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        got = self.reads(10)
        self.assertGreaterEqual(got[name], 3, "%s serves reads again: %r" % (name, dict(got)))

    def write_on_primary(self):
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("INSERT INTO %s (at) VALUES (NOW(6))" % self.beat)

    def all_up(self):
        for name in harness.SERVERS:
            self.wait_state(name, "up")

    # ------------------------------------------------------------ cases

    def test_1_round_robin(self):
        self.all_up()
        got = self.reads(20)
        self.assertEqual(set(got), {"r1", "r2"}, "20 new sessions' reads: %r" % dict(got))
        for name in harness.REPLICAS:
            self.assertGreaterEqual(got[name], 7, "round-robin over 2 replicas: %r" % dict(got))
        s = stats(self.proxy)
        for name in harness.REPLICAS:
            b = harness.backend(s, name)
            self.assertIn("lag_ms", b)
            self.assertTrue(b.get("read_only") in (True, 1), "%s read_only: %r" % (name, b))
            self.assertTrue(b.get("gtid"), "%s gtid: %r" % (name, b))

    def test_2_lagging_replica(self):
        self.all_up()
        held = self.connect()
        try:
            # a session whose reads are on r1 before r1 falls behind
            for _ in range(6):
                if self.read_once(held) == "r1":
                    break
                held.close()
                held = self.connect()
            self.assertEqual(self.read_once(held), "r1", "no session landed on r1")
            harness.sandbox_sql("r1", "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=%d; START SLAVE"
                                % DELAY_S)
            harness.wait_until(lambda: harness.replica_running("r1"), 10, what="r1 replicating")
            self.write_on_primary()
            s = self.wait_state("r1", "lagging", timeout=10)
            lag = harness.backend(s, "r1").get("lag_ms")
            self.assertTrue(lag is None or lag > 1000, "r1 lagging with lag_ms %r" % lag)
            self.assertEqual(harness.backend(s, "r2")["state"], "up")
            got = self.reads(10)
            self.assertEqual(dict(got), {"r2": 10}, "reads while r1 lags (%r)"
                             % self.slave_summary("r1"))
            self.assertEqual(self.read_once(held), "r2",
                             "the session that was on r1 moves off it once r1 lags")
            harness.sandbox_sql("r1", "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE")
            self.wait_state("r1", "up", timeout=15)
            self.assert_serves_again("r1")
        finally:
            held.close()
            restore_sandbox()

    def test_3_stopped_replica(self):
        self.all_up()
        try:
            harness.sandbox_sql("r2", "STOP SLAVE")
            self.wait_state("r2", "lagging", timeout=5)
            got = self.reads(10)
            self.assertEqual(dict(got), {"r1": 10}, "reads while r2's replication is stopped")
            harness.sandbox_sql("r2", "START SLAVE")
            self.wait_state("r2", "up", timeout=10)
            self.assert_serves_again("r2")
        finally:
            restore_sandbox()

    def test_4_no_healthy_replica(self):
        self.all_up()
        held = self.connect()
        try:
            self.assertIn(self.read_once(held), ("r1", "r2"))
            for name in harness.REPLICAS:
                harness.sandbox_sql(name, "STOP SLAVE")
            for name in harness.REPLICAS:
                self.wait_state(name, "lagging", timeout=5)
            s0 = stats(self.proxy)
            got = self.reads(6)
            self.assertEqual(dict(got), {"primary": 6}, "reads with no healthy replica")
            self.assertEqual(self.read_once(held), "primary", "an existing session's read")
            s1 = harness.wait_stats(self.proxy, lambda s: s["queries"].get("fallback", 0)
                                    >= s0["queries"].get("fallback", 0) + 7)
            self.assertGreaterEqual(s1["queries"].get("fallback", 0)
                                    - s0["queries"].get("fallback", 0), 7,
                                    "queries.fallback: %r -> %r" % (s0["queries"], s1["queries"]))
            self.assertEqual(s1["queries"]["errors"], s0["queries"]["errors"])
            for name in harness.REPLICAS:
                harness.sandbox_sql(name, "START SLAVE")
            for name in harness.REPLICAS:
                self.wait_state(name, "up", timeout=10)
            f0 = stats(self.proxy)["queries"].get("fallback", 0)
            got = self.reads(6)
            self.assertEqual(set(got), {"r1", "r2"}, "reads after replication restarted: %r"
                             % dict(got))
            self.assertEqual(stats(self.proxy)["queries"].get("fallback", 0), f0)
        finally:
            held.close()
            restore_sandbox()

    def sysbench(self, port, command, *extra, timeout=120):
        return harness.sysbench(self, "oltp_read_only", port, self.sbdb, command, *extra,
                                timeout=timeout)

    def test_5_replica_killed_under_load(self):
        self.all_up()
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % self.sbdb)
            cur.execute("CREATE DATABASE `%s`" % self.sbdb)
        self.sysbench(harness.PRIMARY_PORT, "prepare")
        harness.wait_replicas_caught_up()
        box = {}
        seen_down = []
        runner = None
        try:
            s0 = stats(self.proxy)
            # --skip-trx: without it every read of oltp_read_only runs inside BEGIN..COMMIT,
            # hence on the primary, and the replicas would see no load at all.
            runner = threading.Thread(target=lambda: box.update(out=self._run_sysbench(box)))
            runner.start()
            # wait until r1 carries part of the load, then kill it
            harness.wait_until(lambda: harness.backend(stats(self.proxy), "r1")["queries"]
                               > harness.backend(s0, "r1")["queries"] + 100, 8,
                               what="r1 serving sysbench reads")
            time.sleep(1.0)
            pid = mariadbd_pid("r1")
            self.assertIsNotNone(pid, "r1's mariadbd pid")
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            s = harness.wait_stats(self.proxy, lambda s: harness.backend(s, "r1")["state"] == "down",
                                   timeout=5)
            seen_down.append((harness.backend(s, "r1")["state"], time.monotonic() - killed_at))
            runner.join(60)
            self.assertFalse(runner.is_alive(), "sysbench still running after 60 s")
            if "error" in box:
                raise box["error"]
            out = box["out"]
            self.assertEqual(seen_down[0][0], "down", "/stats r1 within 5 s of kill -9: %r"
                             % (seen_down,))
            self.assertGreater(harness.sysbench_stat(out, "queries"), 0, out)
            self.assertEqual(harness.sysbench_stat(out, "ignored errors"), 0, out)
            self.assertEqual(harness.sysbench_stat(out, "reconnects"), 0, out)
            s1 = stats(self.proxy)
            q0, q1 = s0["queries"], s1["queries"]
            self.assertEqual(q1["errors"] - q0["errors"], 0, "queries.errors: %r -> %r" % (q0, q1))
            self.assertGreater(q1.get("retried", 0) - q0.get("retried", 0), 0,
                               "reads in flight on r1 when it died were retried: %r -> %r" % (q0, q1))
            self.assertGreater(harness.backend(s1, "r2")["queries"],
                               harness.backend(s0, "r2")["queries"])
        finally:
            if runner is not None:
                runner.join(90)
            restore_sandbox()
        # r1 is back (sandbox.sh up): the monitor sees it and reads reach it again
        self.wait_state("r1", "up", timeout=20)
        self.assert_serves_again("r1")

    def _run_sysbench(self, box):
        try:
            return self.sysbench(self.proxy.port, "run", "--threads=8", "--time=10",
                                 "--mysql-ignore-errors=none", "--skip-trx=on", timeout=90)
        except BaseException as e:   # noqa: BLE001 - re-raised in the test thread
            box["error"] = e
            return None


if __name__ == "__main__":
    unittest.main(verbosity=2)
