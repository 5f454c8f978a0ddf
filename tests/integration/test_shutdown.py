#!/usr/bin/python3
"""Graceful shutdown on SIGTERM/SIGINT. Proxy only; one fresh proxy per case."""

import signal
import socket
import threading
import time
import unittest

import pymysql

import harness
from harness import HOST


@harness.skip_if_direct()
class ShutdownTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        harness.require_sandbox()

    def run_query_in_thread(self, conn, sql):
        box = {}

        def run():
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    box["rows"] = cur.fetchall()
            except Exception as e:  # noqa: BLE001 - examined by the test
                box["error"] = e
            box["done"] = time.monotonic()

        th = threading.Thread(target=run)
        th.start()
        return th, box

    def assert_refused(self, port):
        """A connect attempt must be refused (listener closed), or at least not be served."""
        try:
            s = socket.create_connection((HOST, port), timeout=2)
        except ConnectionRefusedError:
            return
        try:
            s.settimeout(2)
            data = s.recv(1024)
        except (ConnectionResetError, socket.timeout):
            data = b""
        finally:
            s.close()
        self.fail("connect after SIGTERM was accepted (got %r) instead of refused" % data[:40])

    def wait_exit(self, proxy, timeout):
        t0 = time.monotonic()
        while proxy.proc.poll() is None and time.monotonic() - t0 < timeout:
            time.sleep(0.02)
        return proxy.proc.poll()

    def test_running_statement_finishes(self):
        with harness.Proxy() as p:
            conn = p.connect()
            th, box = self.run_query_in_thread(conn, "SELECT SLEEP(2), 'done'")
            time.sleep(0.5)
            t_sig = time.monotonic()
            p.proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            self.assert_refused(p.port)
            rc = self.wait_exit(p, 5.0)
            elapsed = time.monotonic() - t_sig
            th.join(10)
            self.assertNotIn("error", box, "running query was cut: %r" % box.get("error"))
            self.assertEqual(box.get("rows"), ((0, "done"),))
            self.assertEqual(rc, 0, "exit status after SIGTERM")
            self.assertLess(elapsed, 3.0, "proxy took %.2f s to exit" % elapsed)
            self.assertLessEqual(box["done"], time.monotonic())
            conn.close()

    def test_idle_client_does_not_delay_exit(self):
        with harness.Proxy() as p:
            idle = p.connect()
            with idle.cursor() as cur:
                cur.execute("SELECT 1")
            in_tx = p.connect(autocommit=False)
            with in_tx.cursor() as cur:
                cur.execute("SELECT 1")     # idle inside a transaction
            t_sig = time.monotonic()
            p.proc.send_signal(signal.SIGTERM)
            rc = self.wait_exit(p, 5.0)
            elapsed = time.monotonic() - t_sig
            self.assertEqual(rc, 0)
            self.assertLess(elapsed, 1.5, "idle clients delayed exit by %.2f s" % elapsed)
            with self.assertRaises(pymysql.err.OperationalError):
                with idle.cursor() as cur:
                    cur.execute("SELECT 1")
            idle.close()
            in_tx.close()

    def test_sigint(self):
        with harness.Proxy() as p:
            with p.connect() as c, c.cursor() as cur:
                cur.execute("SELECT 1")
            t_sig = time.monotonic()
            p.proc.send_signal(signal.SIGINT)
            rc = self.wait_exit(p, 5.0)
            self.assertEqual(rc, 0, "exit status after SIGINT")
            self.assertLess(time.monotonic() - t_sig, 1.5)

    def test_shutdown_timeout_cuts_long_statement(self):
        with harness.Proxy(overrides={("proxy", "shutdown_timeout_ms"): "1000"}) as p:
            conn = p.connect(read_timeout=30)
            th, box = self.run_query_in_thread(conn, "SELECT SLEEP(10)")
            time.sleep(0.5)
            t_sig = time.monotonic()
            p.proc.send_signal(signal.SIGTERM)
            rc = self.wait_exit(p, 8.0)
            elapsed = time.monotonic() - t_sig
            th.join(15)
            self.assertEqual(rc, 0, "exit status after SIGTERM with a statement cut")
            self.assertLess(elapsed, 2.0, "exit took %.2f s with shutdown_timeout_ms = 1000" % elapsed)
            self.assertIn("error", box, "SLEEP(10) was not cut: %r" % box)
            self.assertLess(box["done"] - t_sig, 3.0, "client only learned %.2f s later"
                            % (box["done"] - t_sig))
            conn.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
