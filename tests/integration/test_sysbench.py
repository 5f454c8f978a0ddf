#!/usr/bin/python3
"""sysbench oltp_read_write through the proxy: prepare, run (prepared statements
and plain queries), cleanup; no errors, no reconnects.

Runs in a database of its own (sbtest_it_<pid>) so a benchmark using sbtest at
the same time is not disturbed; the database is dropped even on failure.
"""

import os
import unittest

import harness


class SysbenchTest(harness.ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = "sbtest_it_%d" % os.getpid()

    @classmethod
    def tearDownClass(cls):
        try:
            with harness.primary_connect() as c, c.cursor() as cur:
                cur.execute("DROP DATABASE IF EXISTS `%s`" % cls.db)
        finally:
            super().tearDownClass()

    def sysbench(self, command, *extra):
        return harness.sysbench(self, "oltp_read_write", self.proxy.port, self.db, command,
                                "--mysql-ignore-errors=1213", *extra, table_size=2000,
                                timeout=90)

    def check_run(self, out):
        # Only deadlocks (1213) are ignored (--mysql-ignore-errors below); any
        # other error stops sysbench with FATAL and a non-zero exit. MariaDB
        # itself reports a few deadlocks with 8 threads on 2 x 2000 rows, so
        # they are bounded rather than forbidden.
        tx = harness.sysbench_stat(out, "transactions")
        self.assertGreater(tx, 0, out)
        self.assertGreater(harness.sysbench_stat(out, "queries"), 0, out)
        self.assertEqual(harness.sysbench_stat(out, "reconnects"), 0, out)
        self.assertLessEqual(harness.sysbench_stat(out, "ignored errors"), max(5, tx // 50),
                             "too many deadlocks:\n" + out)

    def test_oltp_read_write(self):
        with self.connect() as c, c.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS `%s`" % self.db)
        self.sysbench("prepare", "--threads=2")
        try:
            with self.connect(database=self.db) as c, c.cursor() as cur:
                cur.execute("/* sluice:primary */ SELECT COUNT(*) FROM sbtest1")
                self.assertEqual(cur.fetchone()[0], 2000)
            out = self.sysbench("run", "--threads=8", "--time=10")
            self.check_run(out)
            # the same without server-side prepared statements
            out = self.sysbench("run", "--threads=8", "--time=5", "--db-ps-mode=disable")
            self.check_run(out)
            with self.connect(database=self.db) as c, c.cursor() as cur:
                cur.execute("/* sluice:primary */ SELECT COUNT(*) FROM sbtest2")
                self.assertEqual(cur.fetchone()[0], 2000, "oltp_read_write keeps the row count")
        finally:
            self.sysbench("cleanup")
        with self.connect(database=self.db) as c, c.cursor() as cur:
            # on the primary: a replica may not have applied the DROPs yet
            cur.execute("/* sluice:primary */ SHOW TABLES")
            self.assertEqual(cur.fetchall(), ())


if __name__ == "__main__":
    unittest.main(verbosity=2)
