#!/usr/bin/python3
"""Graceful restart on SIGUSR2 (proxy/restart.c). Proxy only; one fresh proxy per case.

Under sysbench oltp_read_only and a stream of new connections, SIGUSR2 starts a new process on
the same sockets: no connection is refused, no statement fails, the old process exits 0 once
its clients left, the new one serves (its pid in /stats). A new binary that fails leaves the
old process serving, and SIGHUP still reloads.
"""

import os
import signal
import stat
import subprocess
import tempfile
import threading
import time
import unittest

import pymysql

import harness


class Connector(threading.Thread):
    """Opens a new connection every few ms, runs one statement, closes it; counts failures."""

    def __init__(self, proxy):
        super().__init__(daemon=True)
        self.proxy = proxy
        self.stop_flag = threading.Event()
        self.ok = 0
        self.errors = []

    def run(self):
        while not self.stop_flag.is_set():
            try:
                c = self.proxy.connect(connect_timeout=5, read_timeout=10)
                try:
                    with c.cursor() as cur:
                        cur.execute("SELECT 1")
                        if cur.fetchone() != (1,):
                            raise AssertionError("SELECT 1 answered wrongly")
                finally:
                    c.close()
                self.ok += 1
            except Exception as e:  # noqa: BLE001 - counted and reported by the test
                self.errors.append("%.3f %r" % (time.monotonic(), e))
            time.sleep(0.003)

    def finish(self):
        self.stop_flag.set()
        self.join(15)


def kill_and_wait(pid, sig=signal.SIGTERM, timeout=15.0):
    """Signals a process that is not our child and waits until it is gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while harness.pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return False
        time.sleep(0.05)
    return True


@harness.skip_if_direct()
class RestartTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        harness.require_sandbox()

    def stats_pid(self, p):
        return harness.stats(p)["pid"]

    def sysbench_tables(self):
        """Its own database, prepared directly on the primary and replicated, dropped after."""
        db = "sbtest_rs_%d" % os.getpid()
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % db)
            cur.execute("CREATE DATABASE `%s`" % db)
        self.addCleanup(self.drop_database, db)
        harness.sysbench(self, "oltp_read_only", harness.PRIMARY_PORT, db, "prepare",
                         tables=4, table_size=10000)
        harness.wait_replicas_caught_up()
        return db

    @staticmethod
    def drop_database(db):
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % db)

    def test_restart_under_load(self):
        db = self.sysbench_tables()
        p = harness.Proxy(overrides={("proxy", "shutdown_timeout_ms"): "30000"})
        p.start()
        new_pid = None
        try:
            old_pid = p.pid
            self.assertEqual(self.stats_pid(p), old_pid)
            cmd = ["sysbench", "oltp_read_only", "--db-driver=mysql", "--mysql-host=127.0.0.1",
                   "--mysql-port=%d" % p.port, "--mysql-user=app", "--mysql-password=app",
                   "--mysql-db=%s" % db, "--tables=4", "--table-size=10000", "--threads=4",
                   "--time=10", "--skip-trx=on", "--mysql-ignore-errors=none", "run"]
            bench = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
            conns = Connector(p)
            conns.start()
            time.sleep(3)
            p.proc.send_signal(signal.SIGUSR2)
            new_pid = harness.wait_until(
                lambda: (lambda n: n if n != old_pid else None)(self.stats_pid(p)),
                timeout=20, what="a new process answering /stats")
            self.assertTrue(harness.pid_alive(new_pid))
            # The old process keeps serving sysbench's connections until sysbench ends.
            out, _ = bench.communicate(timeout=60)
            rc = p.proc.wait(timeout=20)
            self.assertEqual(rc, 0, "old process exit status")
            time.sleep(0.5)     # new connections keep coming after the old one left
            conns.finish()
            self.assertEqual(bench.returncode, 0, out)
            self.assertNotIn("FATAL", out, out)
            self.assertEqual(harness.sysbench_stat(out, "ignored errors"), 0, out)
            self.assertEqual(harness.sysbench_stat(out, "reconnects"), 0, out)
            self.assertGreater(harness.sysbench_stat(out, "transactions"), 0, out)
            self.assertEqual(conns.errors, [], "connections failed around the restart")
            self.assertGreater(conns.ok, 100)
            self.assertEqual(self.stats_pid(p), new_pid)
            with p.connect() as c, c.cursor() as cur:
                cur.execute("SELECT 1")
                self.assertEqual(cur.fetchone(), (1,))
            log = p.log_text()
            self.assertIn("restart: new process %d is ready" % new_pid, log)
            self.assertIn("took over the listening socket", log)
        except BaseException:
            p.failed = True
            raise
        finally:
            if new_pid:
                self.assertTrue(kill_and_wait(new_pid), "new process ignored SIGTERM")
            problems = p.check_exit()
            p._finish(problems)
        self.assertEqual(problems, [])

    def test_failed_restart_keeps_serving(self):
        tmp = tempfile.mkdtemp(prefix="sluice-restart-")
        fake = os.path.join(tmp, "broken-sluice")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho 'broken-sluice: refusing to start' >&2\nexit 1\n")
        os.chmod(fake, stat.S_IRWXU)
        with harness.Proxy(env={"SLUICE_RESTART_BIN": fake}) as p:
            conns = Connector(p)
            conns.start()
            time.sleep(0.3)
            p.proc.send_signal(signal.SIGUSR2)
            harness.wait_until(lambda: "restart: failed" in p.log_text(), timeout=10,
                               what="the failed restart in the log")
            time.sleep(0.3)
            conns.finish()
            self.assertEqual(conns.errors, [])
            self.assertTrue(p.alive())
            self.assertEqual(self.stats_pid(p), p.pid)
            log = p.log_text()
            self.assertIn("broken-sluice: refusing to start", log)
            self.assertIn("exited before it was ready, exit status 1", log)
            # Still the same process, still accepting, and SIGHUP still reloads.
            with p.connect() as c, c.cursor() as cur:
                cur.execute("SELECT 2")
                self.assertEqual(cur.fetchone(), (2,))
            p.proc.send_signal(signal.SIGHUP)
            harness.wait_until(lambda: "reload: " in p.log_text() and "applied" in p.log_text(),
                               timeout=10, what="the reload")
            # A second attempt is allowed after a failure.
            p.proc.send_signal(signal.SIGUSR2)
            harness.wait_until(lambda: p.log_text().count("restart: failed") >= 2, timeout=10,
                               what="the second failed restart")
            self.assertTrue(p.alive())


if __name__ == "__main__":
    unittest.main()
