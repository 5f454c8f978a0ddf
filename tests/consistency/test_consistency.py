#!/usr/bin/python3
"""G1 read-your-writes under load: checker.py against two Sluice instances sharing Redis.

Both replicas are delayed by MASTER_DELAY=3 (restored to 0 whatever happens). Two Sluice
instances share the sandbox Redis; checker.py runs writers and readers through both, plus
writers that go straight to the primary on other rows. It must count no violation and no
error, and a meaningful share of reads must still reach the replicas (the rows written around
Sluice, and rows nobody writes), so the test cannot pass by pinning everything. First a short
run with readers on a delayed replica and writers on the primary proves the checker does see
stale reads. Window mode runs SLUICE_CONSISTENCY_SECONDS (30) seconds, gtid mode half that.
"""

import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import harness  # noqa: E402
from harness import DIRECT, stats  # noqa: E402

import checker  # noqa: E402

CHECKER = os.path.join(HERE, "checker.py")
DELAY_S = 3
SECONDS = float(os.environ.get("SLUICE_CONSISTENCY_SECONDS", "30"))
MIN_REPLICA_SHARE = 0.05
COLD_KEY = 1000                  # checker.py's default --keys: its last row is never written
BASE = "ryw_%d" % os.getpid()
TABLES = {"selftest": BASE + "_self", "window": BASE + "_win", "gtid": BASE + "_gtid"}


def set_replica_delay(seconds):
    for r in harness.REPLICAS:
        harness.sandbox_sql(r, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=%d; START SLAVE"
                            % seconds)


def pinning(mode):
    return {("pinning", "mode"): mode, ("pinning", "window_ms"): "4500",
            ("monitor", "max_replica_lag_ms"): "60000"}


def run_checker(*args, duration):
    cmd = [sys.executable, CHECKER, "--json", "--duration", str(duration)] + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    if r.returncode not in (0, 1) or not r.stdout.strip():
        raise AssertionError("checker failed (rc=%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
    report = json.loads(r.stdout)
    sys.stderr.write("\n--- checker %s\n" % " ".join(map(str, args)))
    checker.print_human(report, sys.stderr)
    if r.stderr.strip():
        sys.stderr.write(r.stderr)
    sys.stderr.flush()
    return r.returncode, report


def drop_tables(tables):
    with harness.primary_connect() as c, c.cursor() as cur:
        for t in tables.values():
            cur.execute("DROP TABLE IF EXISTS `%s`.`%s`" % (harness.TEST_DB, t))
            cur.execute("DROP TABLE IF EXISTS `%s`.`%s_auto`" % (harness.TEST_DB, t))


def restore(tables=TABLES):
    """Replicas undelayed and caught up, the run's tables dropped."""
    try:
        set_replica_delay(0)
    finally:
        drop_tables(tables)
        harness.wait_replicas_caught_up(timeout=60)


class ConsistencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if DIRECT:
            raise unittest.SkipTest("SLUICE_DIRECT=1: the checker needs the proxy")
        harness.require_sandbox()
        cls.addClassCleanup(restore)          # runs even if setUpClass fails half way
        for t in TABLES.values():              # created while the replicas are not delayed
            checker.create_tables(t)
        set_replica_delay(DELAY_S)

    def test_0_checker_sees_stale_replica_reads(self):
        """Writers on the primary, readers on a delayed replica: the checker must complain."""
        rc, r = run_checker("--port", harness.PRIMARY_PORT,
                            "--read-port", harness.REPLICA_PORTS[0],
                            "--table", TABLES["selftest"], "--no-create",
                            "--writers", 2, "--readers", 2, duration=2)
        self.assertEqual(rc, 1)
        self.assertGreater(r["violations"], 0)
        self.assertEqual(r["errors"], 0, r["error_samples"])

    def wait_routing(self, proxy, table, timeout=40.0):
        """Until a read of a row nobody writes goes to a replica: after connecting to Redis a
        fresh instance keeps reads on the primary for one window (marks it may have missed),
        and that window follows the replicas' lag."""
        t0 = time.monotonic()
        with proxy.connect(database=harness.TEST_DB) as c, c.cursor() as cur:
            def on_replica():
                before = stats(proxy)["queries"]["replica"]
                cur.execute("SELECT id, ver FROM `%s` WHERE id = %d" % (table, COLD_KEY))
                cur.fetchall()
                return stats(proxy)["queries"]["replica"] > before
            harness.wait_until(on_replica, timeout=timeout, interval=0.2,
                               what="a read of an unwritten row to reach a replica")
        return time.monotonic() - t0

    def run_mode(self, mode, duration):
        ov = pinning(mode)
        with harness.Proxy(ov) as p1, harness.Proxy(ov) as p2:
            try:
                waited = [self.wait_routing(p, TABLES[mode]) for p in (p1, p2)]
                sys.stderr.write("\n%s: reads reached the replicas %.1f s / %.1f s after start\n"
                                 % (mode, waited[0], waited[1]))
                rc, r = run_checker("--port", p1.port, p2.port,
                                    "--stats-port", p1.stats_port, p2.stats_port,
                                    "--direct-port", harness.PRIMARY_PORT,
                                    "--table", TABLES[mode], "--no-create", duration=duration)
                self.assertEqual(r["violations"], 0, json.dumps(r["violation_samples"], indent=1))
                self.assertEqual(r["errors"], 0, json.dumps(r["error_samples"], indent=1))
                self.assertEqual(rc, 0)
                self.assertGreater(r["writes"], 100)
                self.assertGreater(r["reads"], 100)
                d = r["stats_delta"]
                self.assertEqual(d.get("queries.errors", 0), 0, d)
                # pinning.errors (Redis answers later than redis_timeout_ms on this shared, busy
                # Redis) are not asserted: their effect on reads is what the violations count.
                self.assertGreater(r["reads_pinned"], 0, "nothing pinned: %r" % d)
                # Not everything pinned: rows written around Sluice and rows nobody writes are
                # read from the replicas, and some of those answers are visibly stale.
                self.assertGreater(r["reads_replica"], 0, d)
                self.assertGreaterEqual(r["replica_share"], MIN_REPLICA_SHARE, d)
                self.assertGreater(r["direct_stale"], 0,
                                   "no stale read of a row written around Sluice: did any "
                                   "read reach a delayed replica?")
            except BaseException:
                p1.failed = p2.failed = True
                raise

    def test_1_window(self):
        self.run_mode("window", SECONDS)

    def test_2_gtid(self):
        self.run_mode("gtid", max(5.0, SECONDS / 2))


if __name__ == "__main__":
    unittest.main(verbosity=2)
