#!/usr/bin/python3
"""sluice-binlog against the sandbox: stream entries and marks per change, kill -9 and restart
without loss, leader failover, Redis and primary outages.

Each test runs its own tailer(s) with a Redis key prefix of its own (sluicetest<pid>_<hex>), so
the shared Redis is never flushed; the tailer sees every change on the primary, including other
tests', and the assertions only look at this test's database (binlog_it_<pid>). The Redis and
primary outages use a private redis-server and a TCP relay in front of the primary, so nobody
else's sandbox is disturbed.

Environment: SLUICE_BINLOG_BIN (the binary; falls back to build*/sluice-binlog).
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import (HOST, Redis, Tailer, primary_connect, primary_seq, seq_of,
                     wait_checkpoint, wait_until)

LEASE_MS = 600
WINDOW_MS = "5000"  # the marks' TTL (checked by test_changes_make_entries_and_marks)


def binlog_bin():
    path = harness.binlog_bin()
    if not path:
        raise unittest.SkipTest("sluice-binlog not built: set SLUICE_BINLOG_BIN")
    return path


def entries(r, prefix, db):
    """Every stream entry that names db: [(id, {field: [values]})], oldest first."""
    out, start = [], "-"
    while True:
        batch = r.cmd("XRANGE", prefix + ":inval", start, "+", "COUNT", 5000)
        for eid, flat in batch:
            fields = {}
            for k, v in zip(flat[0::2], flat[1::2]):
                fields.setdefault(k, []).append(v)
            if any(v.startswith(db + ".") for k in ("k", "w", "ddl") for v in fields.get(k, [])):
                out.append((eid, fields))
        if len(batch) < 5000:
            return out
        start = "(" + batch[-1][0]


class TcpRelay:
    """A TCP relay to the primary that the test can cut (close everything, refuse) and restore."""

    def __init__(self, target_port=harness.PRIMARY_PORT):
        self.target = target_port
        self.port = harness.free_port()
        self.conns = []
        self.lock = threading.Lock()
        self.listener = None
        self.open()

    def open(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                a, _ = listener.accept()
            except OSError:
                return
            try:
                b = socket.create_connection((HOST, self.target))
            except OSError:
                a.close()
                continue
            with self.lock:
                self.conns += [a, b]
            for x, y in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(x, y), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.listener.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.conns = []


# ---------------------------------------------------------------- tests

class BinlogTest(unittest.TestCase):
    def setUp(self):
        harness.require_sandbox()
        self.prefix = "sluicetest%d_%s" % (os.getpid(), secrets.token_hex(3))
        self.db = "binlog_it_%d" % os.getpid()
        self.redis = Redis()
        self.tailers = []
        with primary_connect() as c, c.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS " + self.db)

    def tearDown(self):
        problems = []
        for t in self.tailers:
            p = t.stop()
            if p or self._failed():
                sys.stderr.write("\n===== tailer log %s =====\n%s\n"
                                 % (t.log_path, t.text()[-20000:]))
            problems += p
            shutil.rmtree(t.dir, ignore_errors=True)
        self.redis.delete_prefix(self.prefix)
        self.redis.close()
        with primary_connect() as c, c.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS " + self.db)
        self.assertEqual(problems, [])

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        errors = getattr(outcome, "errors", None) or []
        return any(exc for _, exc in errors)

    def tailer(self, overrides=None):
        binlog_bin()
        ov = {("pinning", "window_ms"): WINDOW_MS}
        ov.update(overrides or {})
        t = Tailer(self.prefix, ov, lease_ms=LEASE_MS)
        self.tailers.append(t)
        return t

    def sql(self, *statements):
        with primary_connect(database=self.db) as c, c.cursor() as cur:
            for s in statements:
                cur.execute(s)

    def settle(self, r=None, prefix=None):
        wait_checkpoint(r or self.redis, prefix or self.prefix, primary_seq())

    def deps(self, since=0):
        """The deps of each entry naming this test's db, from entry number since on."""
        got = []
        for _, f in entries(self.redis, self.prefix, self.db)[since:]:
            got.append(sorted("%s %s" % (k, v) for k in ("k", "w", "ddl") for v in f.get(k, [])))
        return got

    def test_changes_make_entries_and_marks(self):
        self.sql("CREATE OR REPLACE TABLE t (id INT PRIMARY KEY, v INT)")
        t = self.tailer().start()
        t.wait_leader()
        self.settle()
        d = self.db
        cases = [
            (["INSERT INTO t VALUES (1, 1)"], [["k %s.t:1" % d]]),
            (["UPDATE t SET v = 2 WHERE id = 1"], [["k %s.t:1" % d]]),
            (["DELETE FROM t WHERE id = 1"], [["k %s.t:1" % d]]),
            (["INSERT INTO t VALUES (2, 0), (3, 0), (4, 0)"],
             [["k %s.t:2" % d, "k %s.t:3" % d, "k %s.t:4" % d]]),
            (["UPDATE t SET id = 5 WHERE id = 4"], [["k %s.t:4" % d, "k %s.t:5" % d]]),
            (["BEGIN", "INSERT INTO t VALUES (99, 0)", "ROLLBACK"], []),
            (["TRUNCATE TABLE t"], [["ddl %s.t" % d, "w %s.t" % d]]),
            (["ALTER TABLE t ADD COLUMN c INT"], [["ddl %s.t" % d, "w %s.t" % d]]),
        ]
        seen = len(self.deps())
        for statements, want in cases:
            self.sql(*statements)
            self.settle()
            got = self.deps(seen)
            self.assertEqual(got, want, statements)
            seen += len(got)
        # marks: the row and touched marks of a row change, whole-table after DDL
        self.sql("INSERT INTO t VALUES (7, 0, 0)")
        self.settle()
        eid, fields = entries(self.redis, self.prefix, self.db)[-1]
        gtid = fields["gtid"][0]
        self.assertEqual(fields["v"], ["1"])
        self.assertEqual(fields["fence"], [str(t.stats()["fence"])])
        row = self.redis.cmd("GET", "%s:pin:k:%s.t:7" % (self.prefix, d))
        self.assertEqual(row, "0|" + gtid)
        self.assertIsNotNone(self.redis.cmd("GET", "%s:pin:t:%s.t" % (self.prefix, d)))
        self.assertIsNotNone(self.redis.cmd("GET", "%s:pin:w:%s.t" % (self.prefix, d)))
        ttl = self.redis.cmd("PTTL", "%s:pin:k:%s.t:7" % (self.prefix, d))
        self.assertTrue(0 < ttl <= 5000, ttl)
        settled = primary_seq()
        self.settle()
        s = t.stats()
        self.assertEqual(s["role"], "leader")
        self.assertGreaterEqual(s["transactions"], 8)
        # other sandbox users keep writing: the checkpoint, read after /stats, is at or past it
        checkpoint = self.redis.cmd("GET", self.prefix + ":binlog:checkpoint")
        self.assertGreaterEqual(seq_of(s["gtid"]), settled)
        self.assertLessEqual(seq_of(s["gtid"]), seq_of(checkpoint))
        self.assertIsNotNone(s["lag_ms"])
        self.assertEqual(len(s["publish_latency"]), 10)

    def load(self, ids):
        """One autocommitted UPDATE per id."""
        with primary_connect(database=self.db) as c, c.cursor() as cur:
            for i in ids:
                cur.execute("UPDATE k SET v = v + 1 WHERE id = %s", (i,))

    def prepare_keys(self, n):
        self.sql("CREATE OR REPLACE TABLE k (id INT PRIMARY KEY, v INT)")
        values = ",".join("(%d, 0)" % i for i in range(1, n + 1))
        self.sql("INSERT INTO k VALUES " + values)

    def keys_in_stream(self):
        got = set()
        for _, f in entries(self.redis, self.prefix, self.db):
            for v in f.get("k", []):
                if v.startswith(self.db + ".k:"):
                    got.add(int(v.split(":")[1]))
        return got

    def test_kill9_and_restart_loses_nothing(self):
        n = 10000
        self.prepare_keys(n)
        t = self.tailer().start()
        t.wait_leader()
        self.settle()
        writer = threading.Thread(target=self.load, args=(range(1, n + 1),))
        writer.start()
        wait_until(lambda: len(self.keys_in_stream()) > 2000, timeout=60,
                   what="2000 updates in the stream")
        self.assertTrue(writer.is_alive(), "the load ended before the kill")
        t.kill9()
        time.sleep(0.3)
        t.start()  # a new process: it takes the lease once the dead one's expires
        writer.join()
        self.settle()
        missing = set(range(1, n + 1)) - self.keys_in_stream()
        self.assertEqual(missing, set(), "%d updated keys missing from the stream" % len(missing))

    def test_standby_takes_over(self):
        n = 3000
        self.prepare_keys(n)
        a = self.tailer().start()
        a.wait_leader()
        b = self.tailer().start()
        time.sleep(LEASE_MS / 1000.0)
        self.assertEqual(b.stats()["role"], "standby")
        self.settle()
        writer = threading.Thread(target=self.load, args=(range(1, n + 1),))
        writer.start()
        wait_until(lambda: len(self.keys_in_stream()) > 500, timeout=60, what="500 updates")
        a.kill9()
        killed = time.monotonic()
        wait_until(lambda: b.stats()["role"] == "leader", timeout=10, interval=0.02,
                   what="the standby to take over")
        took = time.monotonic() - killed
        self.assertLess(took, 2 * LEASE_MS / 1000.0 + 0.25, "takeover took %.2f s" % took)
        writer.join()
        self.settle()
        self.assertEqual(set(range(1, n + 1)) - self.keys_in_stream(), set())
        fences = sorted({int(f["fence"][0]) for _, f in entries(self.redis, self.prefix, self.db)})
        self.assertGreaterEqual(len(fences), 2, fences)

    def test_survives_redis_restart(self):
        port = harness.free_port()
        rdir = tempfile.mkdtemp(prefix="sluice-binlog-redis-")
        cmd = ["redis-server", "--port", str(port), "--bind", HOST, "--save", "",
               "--appendonly", "no", "--dir", rdir]
        redis_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: harness.port_open(port), timeout=10, what="private redis")
            r = Redis(port)
            self.sql("CREATE OR REPLACE TABLE t (id INT PRIMARY KEY)")
            t = self.tailer({("binlog", "redis"): "%s:%d" % (HOST, port)}).start()
            t.wait_leader()
            wait_checkpoint(r, self.prefix, primary_seq())
            r.close()
            redis_proc.kill()
            redis_proc.wait()
            self.sql("INSERT INTO t VALUES (1)")  # while Redis is away
            time.sleep(1.5)
            self.assertIsNone(t.proc.poll(), "the tailer exited while Redis was away")
            self.assertEqual(t.stats()["redis_up"], False)
            redis_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
            wait_until(lambda: harness.port_open(port), timeout=10, what="private redis again")
            r = Redis(port)
            # Redis lost everything (no persistence): the tailer resumes from its own position,
            # so the insert made while Redis was away is published too
            t.wait_leader(timeout=15)
            self.sql("INSERT INTO t VALUES (2)")
            wait_checkpoint(r, self.prefix, primary_seq())
            keys = {v for _, f in entries(r, self.prefix, self.db) for v in f.get("k", [])}
            self.assertTrue({"%s.t:1" % self.db, "%s.t:2" % self.db} <= keys, keys)
            r.close()
        finally:
            redis_proc.kill()
            redis_proc.wait()
            shutil.rmtree(rdir, ignore_errors=True)

    def test_checkpoint_not_on_primary_invalidates_everything(self):
        # a GTID the primary never wrote answers the dump with 1236, as a purged one does
        self.redis.cmd("SET", self.prefix + ":binlog:checkpoint", "0-1-99999999999")
        t = self.tailer().start()
        t.wait_leader()
        self.settle()
        first = self.redis.cmd("XRANGE", self.prefix + ":inval", "-", "+", "COUNT", 1)
        flat = first[0][1]
        fields = dict(zip(flat[0::2], flat[1::2]))
        self.assertEqual(fields.get("all"), "binlog purged", fields)
        self.assertIn("not in the primary's binlogs", t.text())
        self.assertGreaterEqual(t.stats()["everything"], 1)  # others may DROP DATABASE

    def test_survives_primary_unreachable(self):
        relay = TcpRelay()
        self.sql("CREATE OR REPLACE TABLE t (id INT PRIMARY KEY)")
        t = self.tailer({("primary", "address"): "%s:%d" % (HOST, relay.port)}).start()
        t.wait_leader()
        self.settle()
        relay.cut()
        self.sql("INSERT INTO t VALUES (1)")  # while the tailer cannot reach the primary
        wait_until(lambda: not t.stats()["primary_up"], timeout=10, what="primary_up false")
        time.sleep(1.0)
        self.assertIsNone(t.proc.poll(), "the tailer exited while the primary was away")
        relay.open()
        t.wait_leader(timeout=20)
        self.sql("INSERT INTO t VALUES (2)")
        self.settle()
        keys = {v for _, f in entries(self.redis, self.prefix, self.db) for v in f.get("k", [])}
        self.assertTrue({"%s.t:1" % self.db, "%s.t:2" % self.db} <= keys, keys)
        relay.cut()


if __name__ == "__main__":
    unittest.main(verbosity=2)
