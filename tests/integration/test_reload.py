#!/usr/bin/python3
"""SIGHUP reloads replicas, weights and users without dropping sessions.

One proxy; its config file is rewritten and SIGHUP sent, while a session stays open across
every reload and must keep working with its state (a user variable) intact.
"""

import os
import signal
import time
import unittest

import pymysql

import harness
from harness import HOST, stats


class ReloadTest(harness.ProxyTestCase):
    def rewrite(self, overrides):
        """Writes the proxy's config with overrides, sends SIGHUP, waits for the log line."""
        text = harness.render_config({
            **overrides,
            ("proxy", "listen"): "%s:%d" % (HOST, self.proxy.port),
            ("stats", "listen"): "%s:%d" % (HOST, self.proxy.stats_port)})
        with open(self.proxy.conf_path, "w", encoding="utf-8") as f:
            f.write(text)
        before = self.proxy.log_text().count("reload: ")
        os.kill(self.proxy.pid, signal.SIGHUP)
        harness.wait_until(lambda: self.proxy.log_text().count("reload: ") > before + 1, 5,
                           what="the reload to be logged")

    def reads(self, n=12):
        """@@server_id of n plain reads, each on a new autocommit connection."""
        ids = []
        for _ in range(n):
            with self.connect(autocommit=True) as c, c.cursor() as cur:
                cur.execute("SELECT @@server_id")
                ids.append(cur.fetchone()[0])
        return ids

    def test_reload_replicas_weights_users(self):
        held = self.connect(autocommit=True)
        self.addCleanup(held.close)
        with held.cursor() as cur:
            cur.execute("SET @kept = 42")
        self.assertEqual(set(self.reads()), {2, 3}, "both replicas serve reads at first")

        # r1 out of the read pool by weight
        self.rewrite({("replica.r1", "weight"): "0"})
        self.assertEqual(set(self.reads()), {3}, "weight 0 keeps r1 out")

        # r2 removed from the file entirely: no replica left, reads fall back to the primary
        self.rewrite({("replica.r1", "weight"): "0", ("replica.r2", None): None})
        names = [b["name"] for b in stats(self.proxy)["backends"]]
        self.assertNotIn("r2", names, "a removed replica leaves /stats")
        self.assertEqual(set(self.reads(4)), {1}, "no usable replica: the primary answers")

        # r1 back, and a new replica r3 (the old r2 server) added; a new user appears
        self.rewrite({("replica.r2", None): None,
                      ("replica.r3", "address"): "127.0.0.1:13308",
                      ("replica.r3", "weight"): "1",
                      ("user.nosuch", "password"): "x"})
        harness.wait_until(lambda: harness.backend(stats(self.proxy), "r3")["state"] == "up",
                           5, what="r3 up")
        self.assertEqual(set(self.reads()), {2, 3}, "r1 and the added r3 serve reads")

        # the session opened before the first reload never noticed
        with held.cursor() as cur:
            cur.execute("SELECT @kept")
            self.assertEqual(cur.fetchone()[0], 42)

        # a broken file is refused and the running config stays
        with open(self.proxy.conf_path, "w", encoding="utf-8") as f:
            f.write("[proxy]\nthreads = lots\n")
        os.kill(self.proxy.pid, signal.SIGHUP)
        harness.wait_until(lambda: "keeping the running configuration" in self.proxy.log_text(),
                           5, what="the refusal to be logged")
        self.assertEqual(set(self.reads(6)), {2, 3})
        self.assertIn("threads: must be an integer", self.proxy.log_text())

    def test_reload_users(self):
        # a user removed by a reload can no longer log in; sessions already in keep working
        held = self.connect(autocommit=True)
        self.addCleanup(held.close)
        self.rewrite({("user.app", None): None, ("user.other", "password"): "x"})
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.connect()
        self.assertEqual(cm.exception.args[0], 1045)
        with held.cursor() as cur:
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone()[0], 1)
        self.rewrite({})
        time.sleep(0.1)
        with self.connect() as c, c.cursor() as cur:
            cur.execute("SELECT 1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
