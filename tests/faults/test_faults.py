#!/usr/bin/python3
"""Fault injection under load (issue 8): each case starts a fresh Sluice, runs a pymysql load
through it (autocommit point reads, and writers that read their own writes back on the same
and on another connection), injects one fault, restores the sandbox, and reports client
errors, stale reads after own writes, lost invalidations (tailer case) and Sluice's RSS before
and after. One `FAULTS {json}` line per case goes to stderr (and to $SLUICE_FAULTS_REPORT).

It kills, stops and restarts the servers of the sandbox named by SLUICE_SANDBOX_DIR /
SLUICE_SANDBOX_PORT_BASE (default: .sandbox, 13306): never run it against a sandbox others
are using. Every server is restored in a finally block (sandbox.sh up, START SLAVE, SIGCONT).
"""

import contextlib
import os
import signal
import time
import unittest

import faultlib
from faultlib import Load, harness, kill_server, report, sandbox_up

WARM_S = 1.5          # load before the fault; the RSS baseline is taken at its end
POST_S = 2.0          # load after everything is restored; RSS "after" at its end
# RSS after the case may exceed the baseline by this much. An ASan build keeps freed memory in
# its quarantine (256 MiB by default), so its RSS climbs for a while whatever the code does:
# there the bound only catches gross leaks; a release build must come back within 4 MiB.
RSS_SLACK_KIB = 4 * 1024
RSS_SLACK_ASAN_KIB = 128 * 1024


def asan_build(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False
READER_KEYS = list(range(1, 101))
WRITER_KEYS = list(range(101, 141))


def now():
    return time.monotonic()


class Case:
    """One case: a proxy, a load, RSS readings and per-backend query counts."""

    def __init__(self, tc, name, proxy, load):
        self.tc, self.name, self.proxy, self.load = tc, name, proxy, load
        self.fields = {}

    def stats(self):
        return harness.stats(self.proxy)

    def backend_queries(self):
        s = self.stats()
        return {b["name"]: b["queries"] for b in s["backends"]}

    def wait_state(self, name, state, timeout=20):
        harness.wait_until(lambda: harness.backend_state(self.proxy, name) == state,
                           timeout=timeout, interval=0.05,
                           what="backend %s to be %s in /stats" % (name, state))

    def wait_all_up(self, timeout=30):
        for b in harness.SERVERS:
            self.wait_state(b, "up", timeout)

    def rss(self):
        return harness.rss_kb(self.proxy.pid)

    def window(self, seconds):
        """Per-backend queries served during the next `seconds` of load."""
        q0 = self.backend_queries()
        time.sleep(seconds)
        q1 = self.backend_queries()
        return {k: q1[k] - q0.get(k, 0) for k in q1}


class FaultTests(unittest.TestCase):
    table = "faults_%d" % os.getpid()
    table_ins = "faults_ins_%d" % os.getpid()
    prefix = "sluicefaults%d" % os.getpid()

    @classmethod
    def setUpClass(cls):
        harness.require_sandbox()
        if not faultlib.sandbox_healthy():
            raise RuntimeError("the sandbox in %s is not healthy (scripts/sandbox.sh status)"
                               % faultlib.SANDBOX_DIR)
        with harness.primary_connect(database=harness.TEST_DB) as c, c.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS %s, %s" % (cls.table, cls.table_ins))
            cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, ver INT NOT NULL)" % cls.table)
            cur.execute("INSERT INTO %s VALUES %s" % (cls.table, ",".join(
                "(%d, 0)" % k for k in READER_KEYS + WRITER_KEYS)))
            cur.execute("CREATE TABLE %s (id INT PRIMARY KEY)" % cls.table_ins)
        harness.wait_replicas_caught_up()

    @classmethod
    def tearDownClass(cls):
        try:
            with harness.primary_connect(database=harness.TEST_DB) as c, c.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS %s, %s" % (cls.table, cls.table_ins))
        except Exception as e:  # noqa: BLE001
            print("cleanup failed: %s" % e)
        try:
            r = harness.Redis()
            r.delete_prefix(cls.prefix)
            r.close()
        except Exception:  # noqa: BLE001
            pass

    @contextlib.contextmanager
    def case(self, name, overrides=None, inserters=0, read_timeout=20):
        ov = {("pinning", "prefix"): self.prefix}
        ov.update(overrides or {})
        with harness.Proxy(ov) as proxy:
            load = Load(proxy, self.table, READER_KEYS, WRITER_KEYS, inserters=inserters,
                        table_ins=self.table_ins, read_timeout=read_timeout)
            c = Case(self, name, proxy, load)
            c.wait_all_up()
            load.start()
            try:
                time.sleep(WARM_S)
                c.rss_base = c.rss()
                c.t_fault = now()
                yield c
                time.sleep(POST_S)
                self.assertTrue(proxy.alive(), "sluice died")
                c.rss_after = c.rss()
            finally:
                stuck = load.stop()
            self.assertEqual(stuck, [], "client threads still blocked 30 s after the load stopped")
            time.sleep(0.5)
            c.rss_idle = c.rss()
            c.fields.update(load.summary())
            c.fields.update(rss_base_kib=c.rss_base, rss_after_kib=c.rss_after,
                            rss_idle_kib=c.rss_idle, rss_hwm_kib=harness.hwm_kb(proxy.pid),
                            retried=c.stats()["queries"].get("retried"),
                            fallback=c.stats()["queries"].get("fallback"))
            report(name, c.fields)
        slack = RSS_SLACK_ASAN_KIB if asan_build(harness.sluice_bin()) else RSS_SLACK_KIB
        self.assertLess(c.rss_after - c.rss_base, slack,
                        "%s: RSS grew from %d to %d KiB" % (name, c.rss_base, c.rss_after))

    def assertClean(self, c, errors=True):
        if errors:
            self.assertEqual(c.load.errors, [], "%s: client errors: %r" % (c.name,
                                                                            c.load.errors[:5]))
        self.assertEqual(c.load.stale, [], "%s: stale reads after own write: %r"
                         % (c.name, c.load.stale[:5]))

    # ------------------------------------------------------------ replicas

    def test_kill9_replica(self):
        with self.case("kill9_replica") as c:
            try:
                kill_server("r1")
                c.fields["during_fault_queries"] = c.window(3.0)
            finally:
                sandbox_up()
            c.wait_state("r1", "up")
        self.assertClean(c)

    def test_both_replicas_stopped(self):
        with self.case("both_replicas_stopped") as c:
            try:
                kill_server("r1", signal.SIGTERM)
                kill_server("r2", signal.SIGTERM)
                c.wait_state("r1", "down")
                c.wait_state("r2", "down")
                w = c.fields["during_fault_queries"] = c.window(2.5)
            finally:
                sandbox_up()
            c.wait_all_up()
        self.assertClean(c)
        self.assertEqual((w["r1"], w["r2"]), (0, 0), "reads reached a stopped replica: %r" % w)
        self.assertGreater(w["primary"], 0)

    def test_stop_slave(self):
        with self.case("stop_slave") as c:
            try:
                harness.sandbox_sql("r1", "STOP SLAVE")
                c.wait_state("r1", "lagging", timeout=10)
                w = c.fields["during_fault_queries"] = c.window(3.0)
            finally:
                harness.sandbox_sql("r1", "START SLAVE")
            harness.wait_until(lambda: harness.replica_running("r1"), timeout=30,
                               what="r1 replicating again")
            c.wait_state("r1", "up")
        self.assertClean(c)
        self.assertEqual(w["r1"], 0, "reads reached the replica that stopped replicating: %r" % w)

    def test_sigstop_replica(self):
        """A stalled backend (SIGSTOP 5 s): statements finish or fail within bounds, reads move."""
        with self.case("sigstop_replica") as c:
            pid = faultlib.server_pid("r1")
            os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(1.5)     # the monitor's 1 s timeout, then the read pool changes
                w = c.fields["during_fault_queries"] = c.window(3.5)
            finally:
                os.kill(pid, signal.SIGCONT)
            c.wait_state("r1", "up")
        self.assertClean(c)
        self.assertGreater(w["r2"], 0, "no read reached r2 while r1 was stalled: %r" % w)
        self.assertLess(c.load.max_latency, 5.0 + 4.0, "a statement took %.1f s"
                        % c.load.max_latency)

    # ------------------------------------------------------------ Redis, the tailer

    def test_kill9_redis(self):
        with self.case("kill9_redis") as c:
            try:
                kill_server("redis")
                harness.wait_until(lambda: c.stats()["pinning"]["redis"] == "down", timeout=10,
                                   what="pinning.redis down")
                time.sleep(0.3)
                w = c.fields["during_fault_queries"] = c.window(2.5)
            finally:
                sandbox_up()
            harness.wait_until(lambda: c.stats()["pinning"]["redis"] == "up", timeout=15,
                               what="pinning.redis up again")
        self.assertClean(c)
        self.assertEqual((w["r1"], w["r2"]), (0, 0),
                         "reads reached replicas while Redis was down (no marks): %r" % w)

    def test_kill9_tailer(self):
        if not harness.binlog_bin():
            self.skipTest("sluice-binlog not built: set SLUICE_BINLOG_BIN")
        tailer = faultlib.tailer(self.prefix)
        tailer.start().wait_leader(timeout=20)
        problems = []
        try:
            with self.case("kill9_tailer", inserters=2) as c:
                time.sleep(1.0)
                tailer.kill9()
                time.sleep(1.0)
                tailer.start().wait_leader(timeout=20)
                time.sleep(1.5)
            # every acknowledged insert must be in the stream once the tailer caught up
            seq = harness.primary_seq()
            r = harness.Redis()
            try:
                harness.wait_checkpoint(r, self.prefix, seq)
                seen, whole = faultlib.stream_keys(r, self.prefix, "%s.%s" % (
                    harness.TEST_DB, self.table_ins))
            finally:
                r.close()
            lost = sorted(k for k in c.load.acked_ins if str(k) not in seen)
            c.fields.update(inserts_acked=len(c.load.acked_ins), lost_invalidations=len(lost),
                            table_wide=whole)
            report("kill9_tailer_stream", {k: c.fields[k] for k in (
                "inserts_acked", "lost_invalidations", "table_wide")})
        finally:
            problems = tailer.stop()
        self.assertClean(c)
        self.assertGreater(len(c.load.acked_ins), 0)
        self.assertEqual(lost, [], "invalidations lost for %d acknowledged inserts, e.g. %r"
                         % (len(lost), lost[:10]))
        self.assertEqual(problems, [])

    # ------------------------------------------------------------ the result cache

    CACHE = {("cache", "enabled"): "true", ("cache", "tables"): "%s.*" % harness.TEST_DB}

    def cache_hits_grow(self, c, what, timeout=20):
        h0 = c.stats()["cache"]["hits"]
        harness.wait_until(lambda: c.stats()["cache"]["hits"] > h0, timeout=timeout,
                           interval=0.1, what="cache hits %s" % what)

    def cache_hits_during(self, c, seconds):
        h0 = c.stats()["cache"]["hits"]
        time.sleep(seconds)
        return c.stats()["cache"]["hits"] - h0

    def cache_case(self, name, fault):
        """The load with the cache on (readers hit it, writers read their writes back), and a
        fault during which it must stand aside; its hits must come back afterwards."""
        if not harness.binlog_bin():
            self.skipTest("sluice-binlog not built: set SLUICE_BINLOG_BIN")
        tailer = faultlib.tailer(self.prefix, cache=True)
        tailer.start().wait_leader(timeout=20)
        try:
            with self.case(name, overrides=self.CACHE) as c:
                self.cache_hits_grow(c, "before the fault")
                c.fields["hits_during_fault"] = fault(c, tailer)
                self.cache_hits_grow(c, "after the fault")
        finally:
            problems = tailer.stop()
        self.assertClean(c)
        self.assertEqual(c.fields["hits_during_fault"], 0, "cache hits during the fault")
        self.assertEqual(problems, [])

    def test_kill9_redis_cache(self):
        def fault(c, tailer):
            try:
                kill_server("redis")
                harness.wait_until(lambda: c.stats()["cache"]["redis"] == "down", timeout=10,
                                   what="cache.redis down")
                return self.cache_hits_during(c, 2.0)
            finally:
                sandbox_up()
                harness.wait_until(lambda: c.stats()["cache"]["redis"] == "up", timeout=15,
                                   what="cache.redis up again")
        self.cache_case("kill9_redis_cache", fault)

    def test_kill9_tailer_cache(self):
        def fault(c, tailer):
            tailer.kill9()
            harness.wait_until(lambda: c.stats()["cache"]["tailer"] == "down", timeout=10,
                               what="cache.tailer down")
            hits = self.cache_hits_during(c, 1.5)
            tailer.start().wait_leader(timeout=20)
            return hits
        self.cache_case("kill9_tailer_cache", fault)

    # ------------------------------------------------------------ the primary

    CLEAN_CODES = {1053, 1927, 2003, 2006, 2013}   # shutdown, killed, can't connect, gone, lost

    def test_restart_primary(self):
        with self.case("restart_primary") as c:
            try:
                kill_server("primary", signal.SIGTERM)
                t_down = now()
                time.sleep(2.0)
            finally:
                sandbox_up()
            t_up = now()
            # a fresh client through Sluice can write and read again
            recovered = None
            deadline = t_up + 30
            while now() < deadline:
                try:
                    with c.proxy.connect(database=harness.TEST_DB, read_timeout=5) as conn, \
                            conn.cursor() as cur:
                        cur.execute("UPDATE %s SET ver = ver WHERE id = 1" % self.table)
                        cur.execute("SELECT 1")
                    recovered = now()
                    break
                except Exception:  # noqa: BLE001
                    time.sleep(0.1)
            self.assertIsNotNone(recovered, "Sluice did not serve writes 30 s after the "
                                 "primary came back")
            c.fields.update(down_s=round(t_up - t_down, 1),
                            recovery_s=round(recovered - t_up, 2))
            time.sleep(1.0)
            t_settled = now()
            c.wait_all_up()
        late = c.load.errors_since(t_settled)
        c.fields["errors_after_recovery"] = len(late)
        report("restart_primary_after", {"errors_after_recovery": len(late),
                                         "recovery_s": c.fields["recovery_s"]})
        unclean = [e for e in c.load.errors if e[2] not in self.CLEAN_CODES]
        self.assertEqual(unclean, [], "errors that are not clean MySQL errors: %r" % unclean[:5])
        self.assertLess(c.fields["recovery_s"], 10)
        self.assertEqual(late, [], "errors more than 1 s after Sluice served again: %r" % late[:5])
        self.assertLess(c.load.max_latency, 15, "a statement hung %.1f s" % c.load.max_latency)
        self.assertClean(c, errors=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
