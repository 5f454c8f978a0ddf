#!/usr/bin/python3
"""G1 and the cache's G2/G3 under load: checker.py --cache against two Sluice instances with
[cache] enabled, sharing Redis with one sluice-binlog.

Both replicas are delayed by MASTER_DELAY=3 (restored to 0 whatever happens). Writers go through
both instances and, on other rows, straight to the primary (the tailer invalidates those); readers
read through both, so their answers come from Redis, the instances' in-process tiers, the
replicas and the primary. The run (SLUICE_CONSISTENCY_CACHE_SECONDS, default 30 s) must count no
read-your-writes violation, no error, no read of a directly written row still stale G2_BOUND_MS
after its commit; then, 2 s after the writers stopped, every row read through every
instance (three connections each) must equal the primary's: no settle mismatch. First a short run
with readers on a delayed replica proves the settle check does see stale answers. The whole case
takes about a minute.
"""

import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import harness  # noqa: E402
from harness import DIRECT, stats  # noqa: E402

import checker  # noqa: E402
from test_consistency import restore, run_checker, set_replica_delay  # noqa: E402

DELAY_S = 3
SECONDS = float(os.environ.get("SLUICE_CONSISTENCY_CACHE_SECONDS", "30"))
MODE = os.environ.get("SLUICE_CONSISTENCY_CACHE_MODE", "window")   # [pinning] mode: or gtid
WINDOW_MS = "4500"
COLD_KEY = 1000
BASE = "rywc_%d" % os.getpid()
TABLES = {"selftest": BASE + "_self", "cache": BASE + "_cache"}
PREFIX = "sluiceryw%d" % os.getpid()
TAILER_SERVER_ID = 21000 + os.getpid() % 10000   # two tailers with one id evict each other
# A direct write's row read stale this long after its commit fails the run. Not the tailer's
# publish delay (about a millisecond idle, but over a second on this 2-core machine under the
# checker's load with a sanitizer build: checker.py reports direct_stale_max_ms): beyond the
# replicas' delay plus a margin a stale answer can only come from a cache entry the tailer's
# invalidation missed.
G2_BOUND_MS = DELAY_S * 1000 + 1500


def cache_config():
    return {("pinning", "mode"): MODE, ("pinning", "window_ms"): WINDOW_MS,
            ("pinning", "prefix"): PREFIX, ("monitor", "max_replica_lag_ms"): "60000",
            ("cache", "enabled"): "true",
            ("cache", "tables"): "%s.%s, %s.%s_auto" % (harness.TEST_DB, TABLES["cache"],
                                                      harness.TEST_DB, TABLES["cache"])}


class CacheConsistencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if DIRECT:
            raise unittest.SkipTest("SLUICE_DIRECT=1: the checker needs the proxy")
        if not harness.binlog_bin():
            raise unittest.SkipTest("sluice-binlog not built: set SLUICE_BINLOG_BIN")
        harness.require_sandbox()
        cls.addClassCleanup(restore, TABLES)
        for t in TABLES.values():
            checker.create_tables(t)
        set_replica_delay(DELAY_S)
        cls.redis = harness.Redis()
        cls.redis.delete_prefix(PREFIX)
        cls.addClassCleanup(cls.redis.close)
        cls.addClassCleanup(cls.redis.delete_prefix, PREFIX)
        cls.tailer = harness.Tailer(PREFIX, {("pinning", "window_ms"): WINDOW_MS,
                                             ("cache", "enabled"): "true",
                                             ("binlog", "server_id"): str(TAILER_SERVER_ID)})
        cls.addClassCleanup(cls.stop_tailer)
        cls.tailer.start()
        cls.tailer.wait_leader()

    @classmethod
    def stop_tailer(cls):
        problems = cls.tailer.stop()
        if problems:
            sys.stderr.write(cls.tailer.text()[-20000:])
            raise AssertionError("sluice-binlog: " + "; ".join(problems))

    def test_0_settle_check_sees_stale_answers(self):
        """Writers on the primary, readers and the settle check on a replica 3 s behind with a
        settle delay of 0.2 s: the last writes cannot be there yet."""
        rc, r = run_checker("--port", harness.PRIMARY_PORT,
                            "--read-port", harness.REPLICA_PORTS[0],
                            "--table", TABLES["selftest"], "--no-create", "--cache",
                            "--settle", "0.2", "--settle-reads", 1,
                            "--writers", 2, "--readers", 2, duration=2)
        self.assertEqual(rc, 1)
        self.assertGreater(r["settle"]["mismatches"], 0, r["settle"])
        self.assertEqual(r["errors"], 0, r["error_samples"])

    def wait_routing(self, proxy, table, timeout=40.0):
        with proxy.connect(database=harness.TEST_DB) as c, c.cursor() as cur:
            def on_replica():
                before = stats(proxy)["queries"]["replica"]
                cur.execute("/* sluice:nocache */ SELECT id, ver FROM `%s` WHERE id = %d"
                            % (table, COLD_KEY))
                cur.fetchall()
                return stats(proxy)["queries"]["replica"] > before
            harness.wait_until(on_replica, timeout=timeout, interval=0.2,
                               what="a read of an unwritten row to reach a replica")

    def test_1_cache(self):
        table = TABLES["cache"]
        ov = cache_config()
        with harness.Proxy(ov) as p1, harness.Proxy(ov) as p2:
            try:
                t0 = time.monotonic()
                for p in (p1, p2):
                    self.wait_routing(p, table)
                sys.stderr.write("\ncache: reads reached the replicas %.1f s after start\n"
                                 % (time.monotonic() - t0))
                rc, r = run_checker("--port", p1.port, p2.port,
                                    "--stats-port", p1.stats_port, p2.stats_port,
                                    "--direct-port", harness.PRIMARY_PORT,
                                    "--table", table, "--no-create", "--cache",
                                    "--settle", "2", "--settle-reads", 3,
                                    "--g2-bound-ms", G2_BOUND_MS, duration=SECONDS)
                d = r["stats_delta"]
                sys.stderr.write("tailer: %s\n" % json.dumps(self.tailer.stats()))
                self.assertEqual(r["violations"], 0, json.dumps(r["violation_samples"], indent=1))
                self.assertEqual(r["errors"], 0, json.dumps(r["error_samples"], indent=1))
                self.assertEqual(r["direct_stale_late"], 0,
                                 json.dumps(r["violation_samples"], indent=1))
                st = r["settle"]
                self.assertEqual(st["mismatches"], 0, json.dumps(st, indent=1))
                self.assertEqual(rc, 0)
                self.assertGreater(r["writes"], 100)
                self.assertGreater(r["writes_direct"], 20)
                self.assertGreater(r["reads"], 100)
                self.assertEqual(d.get("queries.errors", 0), 0, d)
                # The cache did work: answers were served from it, filled, and invalidated.
                self.assertGreater(d.get("cache.hits", 0), 0, d)
                self.assertGreater(d.get("cache.fills", 0), 0, d)
                self.assertGreater(d.get("cache.invalidations", 0), 0, d)
                self.assertGreater(r["reads_pinned"], 0, d)
                for p in (p1, p2):
                    self.assertEqual(stats(p)["cache"]["redis"], "up")
            except BaseException:
                p1.failed = p2.failed = True
                sys.stderr.write("\n===== sluice-binlog log (tail) =====\n%s\n"
                                 % self.tailer.text()[-8000:])
                raise


if __name__ == "__main__":
    unittest.main(verbosity=2)
