#!/usr/bin/python3
"""Read-your-writes pinning with both replicas delayed by MASTER_DELAY=3.

A write through Sluice marks its rows in Redis before it is sent; a read of a marked row (or,
for reads that are not point reads, of a touched table) goes to the primary. Rows written
around Sluice are not marked, so reading one shows the replicas' stale copy: that proves
unmarked reads still go to the replicas. Both modes run the same cases; a second instance on
another port shares the marks; a private Redis is killed and restarted for safe mode.
"""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

from pymysql.constants import CLIENT

import harness
from harness import DIRECT, TEST_DB, stats

PID = os.getpid()
DELAY_S = 3
KV = "`%s`.`pin_kv_%d`" % (TEST_DB, PID)
AUTO = "`%s`.`pin_auto_%d`" % (TEST_DB, PID)


def set_replica_delay(seconds):
    for r in harness.REPLICAS:
        harness.sandbox_sql(r, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=%d; START SLAVE"
                            % seconds)


def pinning(mode, **extra):
    o = {("pinning", "mode"): mode, ("pinning", "window_ms"): "4500",
         ("monitor", "max_replica_lag_ms"): "60000"}
    o.update({("pinning", k): v for k, v in extra.items()})
    return o


def setUpModule():
    if DIRECT:
        raise unittest.SkipTest("SLUICE_DIRECT=1: pinning needs the proxy")
    harness.require_sandbox()
    with harness.primary_connect() as c, c.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS %s" % KV)
        cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(32))" % KV)
        cur.execute("INSERT INTO %s VALUES %s" % (KV, ",".join(
            "(%d, 'v%d')" % (i, i) for i in range(1, 200))))
        cur.execute("DROP TABLE IF EXISTS %s" % AUTO)
        cur.execute("CREATE TABLE %s (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32))" % AUTO)
        c.commit()
    harness.wait_replicas_caught_up()
    set_replica_delay(DELAY_S)


def tearDownModule():
    set_replica_delay(0)
    with harness.primary_connect() as c, c.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS %s" % KV)
        cur.execute("DROP TABLE IF EXISTS %s" % AUTO)
    harness.wait_replicas_caught_up()


class Ids:
    """Fresh row ids per case, so no case reads a row another one marked."""
    next_id = 1

    @classmethod
    def take(cls, n=1):
        first = cls.next_id
        cls.next_id += n
        return range(first, first + n) if n > 1 else first


class PinningCases:
    """The cases both modes must pass; mixed into a ProxyTestCase."""

    def conn(self, proxy=None):
        return (proxy or self.proxy).connect(database=TEST_DB, autocommit=True)

    def read_v(self, key, proxy=None, table=KV):
        with self.conn(proxy) as c, c.cursor() as cur:
            cur.execute("SELECT v FROM %s WHERE id = %d" % (table, key))
            row = cur.fetchone()
            return row[0] if row else None

    def counter(self, group, key, proxy=None):
        return stats(proxy or self.proxy)[group][key]

    def test_update_then_read_on_a_new_connection(self):
        key = Ids.take()
        pinned = self.counter("queries", "pinned")
        with self.conn() as c, c.cursor() as cur:
            cur.execute("UPDATE %s SET v = 'fresh' WHERE id = %d" % (KV, key))
        self.assertEqual(self.read_v(key), "fresh")
        self.assertGreater(self.counter("queries", "pinned"), pinned)

    def test_insert_then_read(self):
        key = 1000 + Ids.take()
        with self.conn() as c, c.cursor() as cur:
            cur.execute("INSERT INTO %s VALUES (%d, 'new')" % (KV, key))
        self.assertEqual(self.read_v(key), "new")

    def test_auto_increment_insert_then_read(self):
        with self.conn() as c, c.cursor() as cur:
            cur.execute("INSERT INTO %s (v) VALUES ('a1'), ('a2')" % AUTO)
            first = cur.lastrowid
        self.assertEqual(self.read_v(first, table=AUTO), "a1")
        self.assertEqual(self.read_v(first + 1, table=AUTO), "a2")

    def test_transaction_commit_then_read(self):
        keys = Ids.take(2)
        with self.proxy.connect(database=TEST_DB, autocommit=False) as c, c.cursor() as cur:
            for k in keys:
                cur.execute("UPDATE %s SET v = 'txn' WHERE id = %d" % (KV, k))
            c.commit()
        for k in keys:
            self.assertEqual(self.read_v(k), "txn")

    def test_table_read_after_a_write_is_pinned(self):
        key = Ids.take()
        value = "scan-%s" % type(self).__name__[:20]
        with self.conn() as c, c.cursor() as cur:
            cur.execute("UPDATE %s SET v = '%s' WHERE id = %d" % (KV, value, key))
        with self.conn() as c, c.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM %s WHERE v = '%s'" % (KV, value))
            self.assertEqual(cur.fetchone()[0], 1)

    def test_unmarked_row_is_read_from_a_replica(self):
        key, other = Ids.take(2)
        with self.conn() as c, c.cursor() as cur:
            cur.execute("UPDATE %s SET v = 'marked' WHERE id = %d" % (KV, other))
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("UPDATE %s SET v = 'around' WHERE id = %d" % (KV, key))
            c.commit()
        replica = self.counter("queries", "replica")
        # Written around Sluice, not marked: a delayed replica still has the old value.
        self.assertEqual(self.read_v(key), "v%d" % key)
        self.assertGreater(self.counter("queries", "replica"), replica)
        self.assertEqual(self.read_v(other), "marked")

    def test_catalog_reads_after_ddl(self):
        name = "pin_ddl_%d_%s" % (PID, type(self).__name__[:6].lower())
        with self.conn() as c, c.cursor() as cur:
            cur.execute("CREATE TABLE `%s` (id INT PRIMARY KEY)" % name)
            try:
                cur.execute("SHOW TABLES LIKE '%s'" % name)
                self.assertEqual(cur.fetchall(), ((name,),))
                cur.execute("SELECT COUNT(*) FROM information_schema.TABLES "
                            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (TEST_DB, name))
                self.assertEqual(cur.fetchone()[0], 1)
            finally:
                cur.execute("DROP TABLE `%s`" % name)
            cur.execute("SHOW TABLES LIKE '%s'" % name)  # replicas still have it for 3 s
            self.assertEqual(cur.fetchall(), ())

    def test_a_second_instance_sees_the_marks(self):
        key = Ids.take()
        with harness.Proxy(self.overrides) as second:
            with self.conn() as c, c.cursor() as cur:
                cur.execute("UPDATE %s SET v = 'seen' WHERE id = %d" % (KV, key))
            self.assertEqual(self.read_v(key, proxy=second), "seen")

    def test_no_client_errors(self):
        # pinning.errors may count a lookup slower than redis_timeout_ms on a loaded machine:
        # that read went to the primary, which is no error for the client.
        self.assertEqual(self.counter("queries", "errors"), 0)


class WindowPinningTest(PinningCases, harness.ProxyTestCase):
    overrides = pinning("window")


class GtidPinningTest(PinningCases, harness.ProxyTestCase):
    # A window far longer than the replicas' delay: only the GTID can release a mark early.
    overrides = pinning("gtid", window_ms="20000")

    def tracked_conn(self):
        # Session tracking lets the proxy read each commit's GTID from the OK packet.
        return self.proxy.connect(database=TEST_DB, autocommit=True,
                                  client_flag=CLIENT.SESSION_TRACK)

    def test_marked_row_returns_to_replicas_once_they_caught_up(self):
        key = Ids.take()
        with self.tracked_conn() as c, c.cursor() as cur:
            cur.execute("UPDATE %s SET v = 'gtid' WHERE id = %d" % (KV, key))
        pinned = self.counter("queries", "pinned")
        self.assertEqual(self.read_v(key), "gtid")  # replicas are 3 s behind: the primary
        self.assertGreater(self.counter("queries", "pinned"), pinned)
        harness.wait_replicas_caught_up()
        time.sleep(0.5)  # the monitor's next look at gtid_slave_pos
        replica = self.counter("queries", "replica")
        self.assertEqual(self.read_v(key), "gtid")
        self.assertGreater(self.counter("queries", "replica"), replica,
                           "the mark still pins although every replica has the write")

    def test_untracked_client_stays_pinned_for_the_window(self):
        key = Ids.take()
        with self.conn() as c, c.cursor() as cur:  # no session tracking: GTID unknown
            cur.execute("UPDATE %s SET v = 'untracked' WHERE id = %d" % (KV, key))
        harness.wait_replicas_caught_up()
        time.sleep(0.5)
        pinned = self.counter("queries", "pinned")
        self.assertEqual(self.read_v(key), "untracked")
        self.assertGreater(self.counter("queries", "pinned"), pinned)


class TailerMarksTest(harness.ProxyTestCase):
    """A write made around Sluice is pinned once sluice-binlog has published it: the tailer sets
    the same marks (CONSISTENCY.md mechanism 6)."""
    prefix = "sluicepin%d" % PID
    overrides = pinning("window", prefix=prefix)

    @classmethod
    def setUpClass(cls):
        if not harness.binlog_bin():
            raise unittest.SkipTest("sluice-binlog not built: set SLUICE_BINLOG_BIN")
        super().setUpClass()
        cls.tailer = harness.Tailer(cls.prefix, {("pinning", "window_ms"): "5000"}).start()
        cls.tailer.wait_leader()
        cls.redis = harness.Redis()

    @classmethod
    def tearDownClass(cls):
        try:
            problems = cls.tailer.stop()
            cls.redis.delete_prefix(cls.prefix + ":")
            cls.redis.close()
            if problems:
                raise AssertionError("sluice-binlog: " + "; ".join(problems))
        finally:
            super().tearDownClass()

    def test_write_around_sluice_is_pinned_after_the_tailer_published_it(self):
        key = Ids.take()
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("UPDATE %s SET v = 'via-binlog' WHERE id = %d" % (KV, key))
            c.commit()
        harness.wait_checkpoint(self.redis, self.prefix, harness.primary_seq())
        pinned = stats(self.proxy)["queries"]["pinned"]
        with self.proxy.connect(database=TEST_DB, autocommit=True) as c, c.cursor() as cur:
            cur.execute("SELECT v FROM %s WHERE id = %d" % (KV, key))
            self.assertEqual(cur.fetchone()[0], "via-binlog")  # replicas are 3 s behind
        self.assertGreater(stats(self.proxy)["queries"]["pinned"], pinned)


def redis_server_bin():
    return shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that can be killed and restarted."""

    def __init__(self):
        self.port = harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="sluice-redis-")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [redis_server_bin(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_until(lambda: harness.port_open(self.port), what="redis-server")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisDownTest(harness.ProxyTestCase):
    """Redis dies: reads that could be marked go to the primary, writes go on, no client sees
    an error; Redis returns: after one window, reads go back to the replicas."""

    @classmethod
    def setUpClass(cls):
        cls.redis = PrivateRedis()
        cls.redis.start()
        cls.overrides = pinning("window", redis="127.0.0.1:%d" % cls.redis.port,
                                window_ms="1000", redis_timeout_ms="100")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.redis.close()

    def conn(self):
        return self.proxy.connect(database=TEST_DB, autocommit=True)

    def read(self, key):
        with self.conn() as c, c.cursor() as cur:
            cur.execute("SELECT v FROM %s WHERE id = %d" % (KV, key))
            return cur.fetchone()[0]

    def test_safe_mode_and_back(self):
        key, around = Ids.take(2)
        harness.wait_until(lambda: stats(self.proxy)["pinning"]["redis"] == "up",
                           what="Redis connected")
        self.redis.kill()
        with self.conn() as c, c.cursor() as cur:
            cur.execute("UPDATE %s SET v = 'while-down' WHERE id = %d" % (KV, key))
        safe = stats(self.proxy)["pinning"]["safe_reads"]
        for _ in range(5):
            self.assertEqual(self.read(key), "while-down")
        s = stats(self.proxy)
        self.assertEqual(s["pinning"]["redis"], "down")
        self.assertGreaterEqual(s["pinning"]["safe_reads"], safe + 5)
        self.redis.start()
        harness.wait_until(lambda: stats(self.proxy)["pinning"]["redis"] == "up", timeout=15,
                           what="Redis reconnected")
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("UPDATE %s SET v = 'around' WHERE id = %d" % (KV, around))
            c.commit()
        # After the safe window, an unmarked row is read from a (delayed) replica again.
        harness.wait_until(lambda: self.read(around) == "v%d" % around, timeout=15,
                           what="reads back on the replicas")
        self.assertEqual(stats(self.proxy)["queries"]["errors"], 0)


if __name__ == "__main__":
    unittest.main()
