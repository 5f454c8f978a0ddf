#!/usr/bin/python3
"""The result cache ([cache], docs/cache.md; CONSISTENCY.md G2, mechanisms 7-10) against the
sandbox, with both replicas delayed by MASTER_DELAY=3 (restored to 0 whatever happens).

A replica 3 s behind makes every stale answer visible: if an invalidation were lost, a read through
Sluice would keep returning the old row for seconds. The main class runs one Sluice with the cache
on and one sluice-binlog on the same key prefix (the tailer invalidates what is written around
Sluice); a second instance joins for the cross-instance cases. Other classes: the in-process tier
off (`local_mb = 0`), Redis killed and restarted (a private redis-server: the shared one is never
touched), and the configuration rules.

Each class uses a Redis key prefix of its own (sluicecache<pid>...), so entries can be counted and
are removed at the end; the cached tables live in a database of this run (cache_it_<pid>), so
`[cache] tables = cache_it_<pid>.*` names exactly them. Rows and tables are never shared between
cases: a write pins what it touched for a window, and a pinned read bypasses the cache.

Environment: SLUICE_BIN, SLUICE_BINLOG_BIN (see harness.py); SLUICE_CACHE_FRESH_MS (100): the
bound on "a row written around Sluice is read fresh through Sluice".
"""

import ctypes
import ctypes.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest


import harness
from harness import DIRECT, stats, wait_until
from test_pinning import PrivateRedis

PID = os.getpid()
DELAY_S = 3
DB = "cache_it_%d" % PID
OUT_TABLE = "`%s`.`cache_out_%d`" % (harness.TEST_DB, PID)   # not in [cache] tables
FRESH_MS = float(os.environ.get("SLUICE_CACHE_FRESH_MS", "100"))
PIN_WINDOW_MS = 4500          # the proxy's [pinning] window_ms
TAILER_WINDOW_MS = 5000       # the tailer's marks
MAX_RESULT_BYTES = 8192
# A replica server id of our own: two tailers with one id make the primary drop one of them.
TAILER_SERVER_ID = 20000 + PID % 10000
CACHE_KEYS = ("enabled", "redis", "tailer", "refreshes", "hits", "local_hits", "misses", "fills",
              "stale_fills_rejected", "fills_skipped", "waits", "invalidations", "bytes",
              "entries", "local_invalidation_lag_ms")


def set_replica_delay(seconds):
    for r in harness.REPLICAS:
        harness.sandbox_sql(r, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=%d; START SLAVE"
                            % seconds)


def cache_config(prefix, **cache):
    """Overrides for a Sluice with the cache on, window pinning on prefix, replicas in the pool
    whatever their lag."""
    o = {("pinning", "mode"): "window", ("pinning", "window_ms"): str(PIN_WINDOW_MS),
         ("pinning", "prefix"): prefix, ("monitor", "max_replica_lag_ms"): "60000",
         ("cache", "enabled"): "true", ("cache", "tables"): "%s.*" % DB,
         ("cache", "max_result_bytes"): str(MAX_RESULT_BYTES)}
    o.update({("cache", k): str(v) for k, v in cache.items()})
    return o


def setUpModule():
    if DIRECT:
        raise unittest.SkipTest("SLUICE_DIRECT=1: the cache needs the proxy")
    harness.require_sandbox()
    with harness.primary_connect() as c, c.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS `%s`" % DB)
        cur.execute("CREATE DATABASE `%s`" % DB)
        cur.execute("USE `%s`" % DB)
        cur.execute("CREATE TABLE kv (id INT PRIMARY KEY, v VARCHAR(32) NOT NULL)")
        cur.execute("INSERT INTO kv SELECT seq, CONCAT('v', seq) FROM seq_1_to_400")
        cur.execute("CREATE TABLE big (id INT PRIMARY KEY, v INT NOT NULL)")
        cur.execute("INSERT INTO big SELECT seq, seq % 7 FROM seq_1_to_3000")
        for t in ("trunc_s", "trunc_d", "alter_s", "alter_d", "local0"):
            cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(32) NOT NULL)" % t)
            cur.execute("INSERT INTO %s SELECT seq, CONCAT('r', seq) FROM seq_1_to_20" % t)
        cur.execute("DROP TABLE IF EXISTS %s" % OUT_TABLE)
        cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(32) NOT NULL)" % OUT_TABLE)
        cur.execute("INSERT INTO %s VALUES (1, 'out1'), (2, 'out2')" % OUT_TABLE)
    harness.wait_replicas_caught_up()
    set_replica_delay(DELAY_S)


def tearDownModule():
    try:
        set_replica_delay(0)
    finally:
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % DB)
            cur.execute("DROP TABLE IF EXISTS %s" % OUT_TABLE)
        harness.wait_replicas_caught_up(timeout=60)


class Ids:
    """Fresh rows of kv per case (1..400), so no case reads a row another one wrote."""
    next_id = 1

    @classmethod
    def take(cls, n=1):
        first = cls.next_id
        cls.next_id += n
        assert cls.next_id <= 401, "kv has 400 rows"
        return list(range(first, first + n)) if n > 1 else first


def primary_rows(sql, args=None):
    with harness.primary_connect(database=DB) as c, c.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall(), cur.description


def primary_exec(sql):
    with harness.primary_connect(database=DB) as c, c.cursor() as cur:
        cur.execute(sql)


def cache_of(proxy):
    s = stats(proxy)
    if "cache" not in s:
        raise AssertionError("no \"cache\" group in /stats: %s" % sorted(s))
    return s["cache"]


def diff(before, after):
    return {k: after[k] - before[k] for k in after
            if isinstance(after.get(k), int) and not isinstance(after.get(k), bool)
            and isinstance(before.get(k), int)}


def wait_tailer_seen(proxy, timeout=20.0):
    """Until every worker sees a sluice-binlog holding its lease: without one the cache stands
    aside (a write around Sluice would never reach it)."""
    wait_until(lambda: stats(proxy)["cache"]["tailer"] == "up", timeout=timeout,
               what="cache.tailer up")


def wait_routing(proxy, timeout=40.0):
    """Until a read of a row nobody writes reaches a replica: right after it connected to Redis
    an instance keeps reads on the primary for one (lag-following) window, and those reads may
    bypass the cache."""
    with proxy.connect(database=DB) as c, c.cursor() as cur:
        def on_replica():
            before = stats(proxy)["queries"]["replica"]
            cur.execute("/* sluice:nocache */ SELECT v FROM kv WHERE id = 400")
            cur.fetchall()
            return stats(proxy)["queries"]["replica"] > before
        wait_until(on_replica, timeout=timeout, interval=0.2,
                   what="a read of an unwritten row to reach a replica")


# ---------------------------------------------------------------- prepared statements (C API)

class MysqlBind(ctypes.Structure):
    """MYSQL_BIND of MariaDB Connector/C 3 (mariadb_stmt.h)."""
    _fields_ = [("length", ctypes.POINTER(ctypes.c_ulong)),
                ("is_null", ctypes.POINTER(ctypes.c_char)),
                ("buffer", ctypes.c_void_p),
                ("error", ctypes.POINTER(ctypes.c_char)),
                ("u", ctypes.c_void_p),
                ("store_param_func", ctypes.c_void_p),
                ("fetch_result", ctypes.c_void_p),
                ("skip_result", ctypes.c_void_p),
                ("buffer_length", ctypes.c_ulong),
                ("offset", ctypes.c_ulong),
                ("length_value", ctypes.c_ulong),
                ("flags", ctypes.c_uint),
                ("pack_length", ctypes.c_uint),
                ("buffer_type", ctypes.c_int),
                ("error_value", ctypes.c_char),
                ("is_unsigned", ctypes.c_char),
                ("long_data_used", ctypes.c_char),
                ("is_null_value", ctypes.c_char),
                ("extension", ctypes.c_void_p)]


MYSQL_TYPE_LONGLONG = 8
MYSQL_TYPE_STRING = 254
MYSQL_NO_DATA = 100
MYSQL_DATA_TRUNCATED = 101


def _libmariadb():
    lib = ctypes.CDLL(ctypes.util.find_library("mariadb") or "libmariadb.so.3")
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    sig = {"mysql_init": (vp, [vp]),
           "mysql_real_connect": (vp, [vp, cp, cp, cp, cp, ctypes.c_uint, cp, ctypes.c_ulong]),
           "mysql_error": (cp, [vp]), "mysql_close": (None, [vp]),
           "mysql_stmt_init": (vp, [vp]),
           "mysql_stmt_prepare": (ctypes.c_int, [vp, cp, ctypes.c_ulong]),
           "mysql_stmt_param_count": (ctypes.c_ulong, [vp]),
           "mysql_stmt_field_count": (ctypes.c_uint, [vp]),
           "mysql_stmt_bind_param": (ctypes.c_char, [vp, ctypes.POINTER(MysqlBind)]),
           "mysql_stmt_bind_result": (ctypes.c_char, [vp, ctypes.POINTER(MysqlBind)]),
           "mysql_stmt_execute": (ctypes.c_int, [vp]),
           "mysql_stmt_store_result": (ctypes.c_int, [vp]),
           "mysql_stmt_fetch": (ctypes.c_int, [vp]),
           "mysql_stmt_free_result": (ctypes.c_char, [vp]),
           "mysql_stmt_close": (ctypes.c_char, [vp]),
           "mysql_stmt_error": (cp, [vp])}
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


class CapiConn:
    """A Connector/C connection, for server-side prepared statements (COM_STMT_PREPARE /
    COM_STMT_EXECUTE, binary result rows): pymysql only speaks the text protocol."""

    lib = None

    def __init__(self, port, database=DB):
        if CapiConn.lib is None:
            CapiConn.lib = _libmariadb()
        self.m = self.lib.mysql_init(None)
        if not self.lib.mysql_real_connect(self.m, harness.HOST.encode(), harness.USER.encode(),
                                           harness.PASSWORD.encode(), database.encode(), port,
                                           None, 0):
            err = self.lib.mysql_error(self.m)
            self.lib.mysql_close(self.m)
            raise AssertionError("C API connect to %d: %s" % (port, err))

    def close(self):
        self.lib.mysql_close(self.m)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def prepare(self, sql):
        return CapiStmt(self, sql)


class CapiStmt:
    def __init__(self, conn, sql):
        self.lib = conn.lib
        self.s = self.lib.mysql_stmt_init(conn.m)
        b = sql.encode()
        if self.lib.mysql_stmt_prepare(self.s, b, len(b)):
            raise AssertionError("prepare %r: %s" % (sql, self.lib.mysql_stmt_error(self.s)))
        self.nparams = self.lib.mysql_stmt_param_count(self.s)

    def execute(self, *params):
        """Binds params (ints or strings), executes, returns every row as a tuple of str/None."""
        assert len(params) == self.nparams, (params, self.nparams)
        keep = []
        if params:
            binds = (MysqlBind * len(params))()
            for b, p in zip(binds, params):
                if isinstance(p, int):
                    v = ctypes.c_longlong(p)
                    b.buffer_type, b.buffer = MYSQL_TYPE_LONGLONG, ctypes.addressof(v)
                else:
                    raw = p.encode()
                    v = ctypes.create_string_buffer(raw, len(raw))
                    n = ctypes.c_ulong(len(raw))
                    keep.append(n)
                    b.buffer_type, b.buffer = MYSQL_TYPE_STRING, ctypes.addressof(v)
                    b.buffer_length, b.length = len(raw), ctypes.pointer(n)
                keep.append(v)
            if ord(self.lib.mysql_stmt_bind_param(self.s, binds)):
                raise AssertionError("bind_param: %s" % self.lib.mysql_stmt_error(self.s))
        if self.lib.mysql_stmt_execute(self.s):
            raise AssertionError("execute: %s" % self.lib.mysql_stmt_error(self.s))
        ncols = self.lib.mysql_stmt_field_count(self.s)
        if ncols == 0:
            return []
        binds = (MysqlBind * ncols)()
        bufs = [ctypes.create_string_buffer(4096) for _ in range(ncols)]
        lens = [ctypes.c_ulong(0) for _ in range(ncols)]
        nulls = [ctypes.c_char(b"\0") for _ in range(ncols)]
        for b, buf, n, isnull in zip(binds, bufs, lens, nulls):
            b.buffer_type, b.buffer, b.buffer_length = MYSQL_TYPE_STRING, ctypes.addressof(buf), 4096
            b.length, b.is_null = ctypes.pointer(n), ctypes.pointer(isnull)
        if ord(self.lib.mysql_stmt_bind_result(self.s, binds)):
            raise AssertionError("bind_result: %s" % self.lib.mysql_stmt_error(self.s))
        if self.lib.mysql_stmt_store_result(self.s):
            raise AssertionError("store_result: %s" % self.lib.mysql_stmt_error(self.s))
        rows = []
        while True:
            rc = self.lib.mysql_stmt_fetch(self.s)
            if rc == MYSQL_NO_DATA:
                break
            if rc not in (0, MYSQL_DATA_TRUNCATED):
                raise AssertionError("fetch (%d): %s" % (rc, self.lib.mysql_stmt_error(self.s)))
            rows.append(tuple(None if ord(isnull.value or b"\0") else buf.raw[:n.value].decode()
                              for buf, n, isnull in zip(bufs, lens, nulls)))
        self.lib.mysql_stmt_free_result(self.s)
        return rows

    def close(self):
        self.lib.mysql_stmt_close(self.s)


# ---------------------------------------------------------------- the cases

class CacheCase(harness.ProxyTestCase):
    """A Sluice with the cache on, and the sluice-binlog that invalidates it (the cache stands
    aside without one); helpers shared by the classes below."""
    tailer_server_id = TAILER_SERVER_ID
    tailer_overrides = {}

    @classmethod
    def start_tailer(cls):
        if not harness.binlog_bin():
            raise unittest.SkipTest("sluice-binlog not built: set SLUICE_BINLOG_BIN")
        ov = {("pinning", "window_ms"): str(TAILER_WINDOW_MS), ("cache", "enabled"): "true",
              ("cache", "tables"): "%s.*" % DB,
              ("binlog", "server_id"): str(cls.tailer_server_id)}
        ov.update(cls.tailer_overrides)
        cls.tailer = harness.Tailer(cls.prefix, ov)
        cls.tailer.start()
        cls.tailer.wait_leader()
        wait_tailer_seen(cls.proxy)

    @classmethod
    def delete_keys(cls):
        """The class's keys in the sandbox Redis (its prefix is its own)."""
        r = harness.Redis()
        r.delete_prefix(cls.prefix)
        r.close()

    @classmethod
    def stop_tailer(cls):
        problems = cls.tailer.stop() if hasattr(cls, "tailer") else []
        if problems:
            sys.stderr.write(cls.tailer.text()[-20000:])
            raise AssertionError("sluice-binlog: " + "; ".join(problems))

    def conn(self, proxy=None, **kw):
        return (proxy or self.proxy).connect(database=DB, **kw)

    def read(self, sql, proxy=None, conn=None):
        """(rows, description) of sql through Sluice, on conn or a new connection."""
        if conn is not None:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall(), cur.description
        with self.conn(proxy) as c, c.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall(), cur.description

    def cache(self, proxy=None):
        return cache_of(proxy or self.proxy)

    def wait_fill(self, before, proxy=None, n=1, timeout=5.0):
        """Until fills reached before + n (fills may complete after the client got its answer)."""
        s = harness.wait_stats(proxy or self.proxy,
                               lambda s: s["cache"]["fills"] >= before["fills"] + n,
                               timeout=timeout)
        self.assertGreaterEqual(s["cache"]["fills"], before["fills"] + n,
                                "no fill within %.0f s: %s" % (timeout, diff(before, s["cache"])))
        return s["cache"]

    def fill_and_hit(self, sql, proxy=None):
        """Reads sql twice on new connections: the first fills (or hits an entry another
        instance filled), the second hits. Returns the answer (rows, description)."""
        c0 = self.cache(proxy)
        first = self.read(sql, proxy)
        s = harness.wait_stats(proxy or self.proxy, lambda s: (
            s["cache"]["fills"] > c0["fills"] or s["cache"]["hits"] > c0["hits"]))
        c1 = s["cache"]
        self.assertTrue(c1["fills"] > c0["fills"] or c1["hits"] > c0["hits"],
                        "%r: neither filled nor hit within 5 s: %s" % (sql, diff(c0, c1)))
        second = self.read(sql, proxy)
        c2 = self.cache(proxy)
        self.assertEqual(c2["hits"], c1["hits"] + 1, "second read of %r was not a hit: %s"
                         % (sql, diff(c1, c2)))
        self.assertEqual(second, first)
        return second


class TailedCase(CacheCase):
    """A Sluice and its tailer on a prefix of the class's own, deleted at the end."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_tailer()
        wait_routing(cls.proxy)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stop_tailer()
            super().tearDownClass()
        finally:
            cls.delete_keys()


class CacheTest(CacheCase):
    prefix = "sluicecache%d" % PID
    overrides = cache_config(prefix, lease_ms=5000)

    @classmethod
    def setUpClass(cls):
        if not harness.binlog_bin():
            raise unittest.SkipTest("sluice-binlog not built: set SLUICE_BINLOG_BIN")
        cls.redis = harness.Redis()
        cls.redis.delete_prefix(cls.prefix)
        super().setUpClass()
        cls.start_tailer()
        wait_routing(cls.proxy)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.redis.delete_prefix(cls.prefix)
            cls.redis.close()
            cls.stop_tailer()
        finally:
            super().tearDownClass()

    def run(self, result=None):
        before = (len(result.failures) + len(result.errors)) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            if hasattr(type(self), "tailer"):
                sys.stderr.write("\n===== sluice-binlog log (tail) =====\n%s\n=====\n"
                                 % type(self).tailer.text()[-8000:])
        return out

    def entry_keys(self):
        keys, cursor = set(), "0"
        while True:
            cursor, batch = self.redis.cmd("SCAN", cursor, "MATCH", self.prefix + ":c:e:*",
                                           "COUNT", 1000)
            keys.update(batch)
            if cursor == "0":
                return keys

    def new_entry(self, before_keys):
        new = self.entry_keys() - before_keys
        self.assertEqual(len(new), 1, "expected one new entry key, got %r" % sorted(new))
        return new.pop()

    # -- stats

    def test_stats_and_metrics(self):
        c = self.cache()
        missing = [k for k in CACHE_KEYS if k not in c]
        self.assertEqual(missing, [], "cache group: %s" % json.dumps(c))
        self.assertIs(c["enabled"], True)
        self.assertEqual(c["redis"], "up")
        status, body = harness.http_get(self.proxy.stats_port, "/metrics")
        self.assertEqual(status, 200)
        names = set(re.findall(r"^(sluice_cache_[a-z_]+)", body.decode(), re.M))
        for want in ("hits", "local_hits", "misses", "fills", "stale_fills_rejected",
                     "fills_skipped", "waits", "invalidations"):
            self.assertTrue(any(n.startswith("sluice_cache_" + want) for n in names),
                            "no sluice_cache_%s* in /metrics: %s" % (want, sorted(names)))
        self.assertIn("cache_invalidations", self.tailer.stats(), "the tailer's /stats")

    # -- hits

    def test_second_identical_read_is_a_hit(self):
        k = Ids.take()
        sql = "SELECT id, v FROM kv WHERE id = %d" % k
        keys = self.entry_keys()
        rows, desc = self.fill_and_hit(sql)
        self.assertEqual(rows, ((k, "v%d" % k),))
        p_rows, p_desc = primary_rows(sql)
        self.assertEqual(rows, p_rows)
        self.assertEqual(desc, p_desc)
        # The entry, under the layout docs/cache.md gives: P:c:e:<sha256 hex>, the default ttl.
        key = self.new_entry(keys)
        self.assertRegex(key, "^%s:c:e:[0-9a-f]{64}$" % re.escape(self.prefix))
        ttl = self.redis.cmd("PTTL", key)
        self.assertTrue(0 < ttl <= 300000, "PTTL %r of %s" % (ttl, key))

    def test_hit_is_byte_identical(self):
        """The mariadb CLI's --column-type-info prints every field of every column definition
        (catalog, names, type, collation, length, flags, decimals): a hit must print exactly
        what the database's own answer prints."""
        k = Ids.take()
        sql = "SELECT id, v, id * 2 AS twice, CONCAT(v, '!') AS bang FROM kv WHERE id = %d" % k
        args = ("-D", DB, "--column-type-info", "-e", sql)
        c0 = self.cache()
        first = harness.mariadb_cli(self.proxy.port, *args)
        self.assertEqual(first.returncode, 0, first.stderr)
        c1 = self.wait_fill(c0)
        hit = harness.mariadb_cli(self.proxy.port, *args)
        self.assertEqual(hit.returncode, 0, hit.stderr)
        self.assertEqual(self.cache()["hits"], c1["hits"] + 1)
        direct = harness.mariadb_cli(harness.PRIMARY_PORT, *args)
        self.assertEqual(hit.stdout, first.stdout)
        self.assertEqual(hit.stdout, direct.stdout)

    def test_prepared_statement_hits(self):
        k1, k2 = Ids.take(2)
        sql = "SELECT id, v FROM kv WHERE id = ?"
        with CapiConn(self.proxy.port) as c:
            st = c.prepare(sql)
            c0 = self.cache()
            self.assertEqual(st.execute(k1), [(str(k1), "v%d" % k1)])
            c1 = self.wait_fill(c0)
            self.assertEqual(st.execute(k1), [(str(k1), "v%d" % k1)])
            c2 = self.cache()
            self.assertEqual(c2["hits"], c1["hits"] + 1, "execute with the same value: %s"
                             % diff(c1, c2))
            # Another bound value is another entry.
            self.assertEqual(st.execute(k2), [(str(k2), "v%d" % k2)])
            c3 = self.wait_fill(c2)
            self.assertEqual(c3["hits"], c2["hits"], "another value must miss: %s"
                             % diff(c2, c3))
            st.close()
        # Statement text + bound values: a new connection and a new prepare hit the same entry.
        with CapiConn(self.proxy.port) as c:
            st = c.prepare(sql)
            self.assertEqual(st.execute(k2), [(str(k2), "v%d" % k2)])
            st.close()
        self.assertEqual(self.cache()["hits"], c3["hits"] + 1)
        # The text protocol's answer (text rows) is another entry than the binary one.
        rows, _ = self.read("SELECT id, v FROM kv WHERE id = %d" % k2)
        self.assertEqual(rows, ((k2, "v%d" % k2),))
        rows, _ = self.read("SELECT id, v FROM kv WHERE id = %d" % k2)
        self.assertEqual(rows, ((k2, "v%d" % k2),))

    def test_prepared_statement_sees_a_write(self):
        k = Ids.take()
        with CapiConn(self.proxy.port) as c:
            st = c.prepare("SELECT v FROM kv WHERE id = ?")
            c0 = self.cache()
            st.execute(k)
            self.wait_fill(c0)
            self.assertEqual(st.execute(k), [("v%d" % k,)])
            up = c.prepare("UPDATE kv SET v = ? WHERE id = ?")
            up.execute("ps-new", k)
            self.assertEqual(st.execute(k), [("ps-new",)])
            up.close()
            st.close()

    def test_local_tier_hits(self):
        k = Ids.take()
        sql = "SELECT v FROM kv WHERE id = %d" % k
        with self.conn() as c:
            c0 = self.cache()
            self.read(sql, conn=c)
            c1 = self.wait_fill(c0)
            for _ in range(10):
                self.assertEqual(self.read(sql, conn=c)[0], (("v%d" % k,),))
            c2 = self.cache()
        d = diff(c1, c2)
        self.assertEqual(d["hits"], 10, d)
        # One connection, one worker: after at most one Redis hit, the worker's own tier.
        self.assertGreaterEqual(d["local_hits"], 9, d)
        self.assertGreater(c2["entries"], 0)
        self.assertGreater(c2["bytes"], 0)

    def test_script_flush(self):
        """LOOKUP and FILL go by SHA-1: after SCRIPT FLUSH the next lookup fails (that read goes
        to the primary, no error), the scripts are loaded again, and the cache works on."""
        k = Ids.take()
        sql = "SELECT v FROM kv WHERE id = %d" % k
        self.redis.cmd("SCRIPT", "FLUSH")
        errors = stats(self.proxy)["queries"]["errors"]
        for _ in range(3):
            self.assertEqual(self.read(sql)[0], (("v%d" % k,),))
        self.fill_and_hit(sql)
        self.assertEqual(stats(self.proxy)["queries"]["errors"], errors)

    def test_hot_entry_is_refreshed(self):
        """An entry its worker served hot_hits (10) times is re-read from the primary after a
        change: the next reader hits the new value instead of missing."""
        k = Ids.take()
        sql = "SELECT v FROM kv WHERE id = %d" % k
        with self.conn() as c:
            c0 = self.cache()
            self.read(sql, conn=c)
            self.wait_fill(c0)
            for _ in range(12):
                self.read(sql, conn=c)
            c1 = self.cache()
            with harness.primary_connect(database=DB) as p, p.cursor() as cur:
                cur.execute("UPDATE kv SET v = 'refreshed' WHERE id = %d" % k)
            # after the change's marks expire (TAILER_WINDOW_MS), one refresh
            s = harness.wait_stats(self.proxy,
                                   lambda s: s["cache"]["refreshes"] > c1["refreshes"],
                                   timeout=TAILER_WINDOW_MS / 1000.0 + 10)
            self.assertGreater(s["cache"]["refreshes"], c1["refreshes"], diff(c1, s["cache"]))
            self.assertEqual(self.read(sql, conn=c)[0], (("refreshed",),))
            c2 = self.cache()
        d = diff(s["cache"], c2)
        self.assertEqual(d["misses"], 0, "the read after the refresh missed: %s" % d)
        self.assertEqual(d["hits"], 1, d)

    # -- freshness

    def test_write_around_sluice_is_read_fresh(self):
        """Updated on the primary directly: the tailer invalidates; the next read through
        Sluice is fresh within FRESH_MS although both replicas are 3 s behind, and no read after
        it is stale (no stale fill from a lagging replica once the tailer's mark expires)."""
        k = Ids.take()
        sql = "SELECT v FROM kv WHERE id = %d" % k
        keys = self.entry_keys()
        self.fill_and_hit(sql)
        entry = self.new_entry(keys)
        tinv = self.tailer.stats().get("cache_invalidations")
        with self.conn() as c:
            self.assertEqual(self.read(sql, conn=c)[0], (("v%d" % k,),))
            with harness.primary_connect(database=DB) as p, p.cursor() as cur:
                cur.execute("UPDATE kv SET v = 'around' WHERE id = %d" % k)
            t_ok = time.monotonic()
            seen = []
            while True:
                got = self.read(sql, conn=c)[0][0][0]
                dt = (time.monotonic() - t_ok) * 1000
                seen.append((round(dt, 1), got))
                if got == "around" or dt > 5000:
                    break
            self.assertEqual(got, "around", "still stale 5 s after the commit: %s" % seen[-5:])
            sys.stderr.write("\nfresh through Sluice %.1f ms after the commit (%d reads)\n"
                             % (dt, len(seen)))
            self.assertLessEqual(dt, FRESH_MS, "fresh only %.1f ms after the commit: %s"
                                 % (dt, seen[:10]))
            self.assertEqual(self.redis.cmd("EXISTS", entry), 0, "row-tagged entry not deleted")
            if tinv is not None:        # test_stats_and_metrics says whether it is missing
                wait_until(lambda: self.tailer.stats()["cache_invalidations"] > tinv, timeout=5,
                           what="the tailer's cache_invalidations to count it")
            # The mark expires after TAILER_WINDOW_MS; the replicas apply after DELAY_S: no read
            # in between or after may see the old row again (G2: no stale fill afterwards).
            end = time.monotonic() + TAILER_WINDOW_MS / 1000.0 + 1.5
            stale = []
            while time.monotonic() < end:
                got = self.read(sql, conn=c)[0][0][0]
                if got != "around":
                    stale.append((round((time.monotonic() - t_ok) * 1000), got))
                time.sleep(0.05)
            self.assertEqual(stale, [], "stale reads after the fresh one (ms, value)")
        # and it is cached again, with the new value
        c0 = self.cache()
        self.assertEqual(self.read(sql)[0], (("around",),))
        self.assertEqual(self.read(sql)[0], (("around",),))
        self.assertGreater(self.cache()["hits"], c0["hits"], "not cached again after the window")

    def test_own_write_read_your_writes_across_instances(self):
        k = Ids.take()
        sql = "SELECT v FROM kv WHERE id = %d" % k
        with harness.Proxy(self.overrides) as second:
            wait_tailer_seen(second)
            wait_routing(second)
            self.fill_and_hit(sql)
            self.fill_and_hit(sql, proxy=second)
            with self.conn(second) as c:          # the second instance's local tier has it
                for _ in range(3):
                    self.assertEqual(self.read(sql, conn=c)[0], (("v%d" % k,),))
            with self.conn() as c, c.cursor() as cur:
                cur.execute("UPDATE kv SET v = 'mine' WHERE id = %d" % k)
            self.assertEqual(self.read(sql)[0], (("mine",),), "this instance, new connection")
            self.assertEqual(self.read(sql, proxy=second)[0], (("mine",),),
                             "the other instance, new connection")
            with self.conn(second) as c:
                for _ in range(3):
                    self.assertEqual(self.read(sql, conn=c)[0], (("mine",),))
            self.assertEqual(stats(second)["queries"]["errors"], 0)

    def test_insert_and_delete_invalidate(self):
        k = Ids.take()
        sql = "SELECT id, v FROM kv WHERE id IN (%d, %d)" % (k, 1000 + k)
        self.fill_and_hit(sql)
        with self.conn() as c, c.cursor() as cur:
            cur.execute("INSERT INTO kv VALUES (%d, 'ins')" % (1000 + k))
        self.assertEqual(self.read(sql)[0], ((k, "v%d" % k), (1000 + k, "ins")))
        with self.conn() as c, c.cursor() as cur:
            cur.execute("DELETE FROM kv WHERE id = %d" % k)
        self.assertEqual(self.read(sql)[0], ((1000 + k, "ins"),))

    def table_invalidation(self, table, change, through_sluice, expect):
        """Caches a table read and a point read of table, applies change (through Sluice or on
        the primary directly), and checks both reads come back as the primary answers them."""
        reads = ["SELECT * FROM %s ORDER BY id" % table,
                 "SELECT COUNT(*) FROM %s" % table,
                 "SELECT * FROM %s WHERE id = 3" % table]
        for sql in reads:
            self.fill_and_hit(sql)
        if through_sluice:
            with self.conn() as c, c.cursor() as cur:
                cur.execute(change)
        else:
            primary_exec(change)
        deadline = time.monotonic() + (0 if through_sluice else 2.0)
        for sql in reads:
            want = primary_rows(sql)
            while True:
                got = self.read(sql)
                if got == want or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            self.assertEqual(got, want, "%s after %r (%s)" % (
                sql, change, "through Sluice" if through_sluice else "on the primary"))
        expect(primary_rows(reads[0]))

    def test_truncate_through_sluice(self):
        self.table_invalidation("trunc_s", "TRUNCATE TABLE trunc_s", True,
                                lambda r: self.assertEqual(r[0], ()))

    def test_truncate_around_sluice(self):
        self.table_invalidation("trunc_d", "TRUNCATE TABLE trunc_d", False,
                                lambda r: self.assertEqual(r[0], ()))

    def test_alter_through_sluice(self):
        self.table_invalidation("alter_s", "ALTER TABLE alter_s ADD COLUMN w INT NOT NULL "
                                "DEFAULT 7", True,
                                lambda r: self.assertEqual(len(r[1]), 3))

    def test_alter_around_sluice(self):
        self.table_invalidation("alter_d", "ALTER TABLE alter_d ADD COLUMN w INT NOT NULL "
                                "DEFAULT 7", False,
                                lambda r: self.assertEqual(len(r[1]), 3))

    # -- what is not cached

    def assert_not_cached(self, sql, times=2, **kw):
        c0 = self.cache()
        answers = [self.read(sql, **kw) for _ in range(times)]
        time.sleep(0.1)        # a fill would be asynchronous
        c1 = self.cache()
        d = diff(c0, c1)
        self.assertEqual(d["hits"], 0, "%s: %s" % (sql, d))
        self.assertEqual(d["fills"], 0, "%s: %s" % (sql, d))
        return answers

    def test_nocache_hint(self):
        k = Ids.take()
        self.assert_not_cached("/* sluice:nocache */ SELECT v FROM kv WHERE id = %d" % k)
        self.assert_not_cached("SELECT v FROM kv WHERE id = %d -- sluice:nocache" % k)

    def test_cache_hint_caches_a_table_outside_tables(self):
        plain = "SELECT v FROM %s WHERE id = 1" % OUT_TABLE
        self.assert_not_cached(plain)
        keys = self.entry_keys()
        rows, _ = self.fill_and_hit("/* sluice:cache ttl=30 */ SELECT v FROM %s WHERE id = 2"
                                    % OUT_TABLE)
        self.assertEqual(rows, (("out2",),))
        ttl = self.redis.cmd("PTTL", self.new_entry(keys))
        self.assertTrue(0 < ttl <= 30000, "PTTL %r, want at most the hint's 30 s" % ttl)

    def test_cache_hint_does_not_override_determinism(self):
        k = Ids.take()
        self.assert_not_cached("/* sluice:cache ttl=30 */ SELECT v, NOW(6) FROM kv WHERE id = %d"
                               % k)

    def test_nondeterministic_reads_are_not_cached(self):
        k = Ids.take()
        self.fill_and_hit("SELECT v FROM kv WHERE id = %d" % k)     # for the shadowing case
        for sql in ("SELECT v, NOW() FROM kv WHERE id = %d",
                    "SELECT v, RAND() FROM kv WHERE id = %d",
                    "SELECT v, UUID() FROM kv WHERE id = %d",
                    "SELECT v, CURRENT_USER FROM kv WHERE id = %d",
                    "SELECT v, CURRENT_USER() FROM kv WHERE id = %d",
                    "SELECT v, @@server_id FROM kv WHERE id = %d",
                    "SELECT v, @x FROM kv WHERE id = %d",
                    "SELECT v FROM kv WHERE id = %d FOR UPDATE",
                    "SELECT v FROM kv WHERE id = %d LOCK IN SHARE MODE",
                    "SELECT SQL_NO_CACHE v FROM kv WHERE id = %d"):
            self.assert_not_cached(sql % k)
        self.assert_not_cached("SELECT TABLE_NAME FROM information_schema.TABLES "
                               "WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = 'kv'" % DB)
        with self.conn() as c, c.cursor() as cur:
            cur.execute("CREATE TEMPORARY TABLE kv_tmp (id INT PRIMARY KEY, v INT)")
            cur.execute("INSERT INTO kv_tmp VALUES (1, 1)")
            self.assert_not_cached("SELECT v FROM kv_tmp WHERE id = 1", conn=c)
            # a temporary table that shadows a cached table: the cached answer is not served
            cur.execute("CREATE TEMPORARY TABLE kv (id INT PRIMARY KEY, v VARCHAR(32))")
            cur.execute("INSERT INTO kv VALUES (%d, 'shadow')" % k)
            answers = self.assert_not_cached("SELECT v FROM kv WHERE id = %d" % k, conn=c)
            self.assertEqual(answers[-1][0], (("shadow",),))

    def test_reads_in_a_transaction_are_not_cached(self):
        k1, k2 = Ids.take(2)
        sql = "SELECT v FROM kv WHERE id = %d" % k1
        self.fill_and_hit(sql)
        with self.conn(autocommit=False) as c, c.cursor() as cur:
            c0 = self.cache()
            cur.execute("BEGIN")
            for _ in range(2):
                cur.execute(sql)
                self.assertEqual(cur.fetchall(), (("v%d" % k1,),))
                cur.execute("SELECT v FROM kv WHERE id = %d" % k2)
            cur.execute("COMMIT")
            time.sleep(0.1)
            d = diff(c0, self.cache())
            self.assertEqual((d["hits"], d["fills"]), (0, 0), d)

    def test_big_result_is_not_stored(self):
        sql = "SELECT id, v FROM big WHERE id <= 2000"       # about 20 KB > max_result_bytes
        c0 = self.cache()
        rows, _ = self.read(sql)
        self.assertEqual(len(rows), 2000)
        harness.wait_stats(self.proxy,
                           lambda s: s["cache"]["fills_skipped"] > c0["fills_skipped"])
        rows2, _ = self.read(sql)
        self.assertEqual(rows2, rows)
        d = diff(c0, self.cache())
        self.assertEqual(d["hits"], 0, d)
        self.assertEqual(d["fills"], 0, d)
        self.assertGreaterEqual(d["fills_skipped"], 1, d)

    # -- leases

    def slow_sql(self, tag):
        """A cacheable read of big that takes a good fraction of a second on the database."""
        n = getattr(type(self), "slow_n", None)
        if n is None:
            n = 1500
            while n < 3000:
                t0 = time.monotonic()
                primary_rows("SELECT COUNT(*) FROM big a JOIN big b "
                             "WHERE a.id <= %d AND b.id <= %d" % (n, n))
                if time.monotonic() - t0 >= 0.4:
                    break
                n += 250
            type(self).slow_n = n
        return ("SELECT COUNT(*), SUM(a.v + b.v) FROM big a JOIN big b "
                "WHERE a.id <= %d AND b.id <= %d AND a.v <> %d" % (n, n, 100 + tag))

    def run_async(self, sql, out, key):
        def go():
            try:
                t0 = time.monotonic()
                out[key] = (self.read(sql)[0], time.monotonic() - t0)
            except Exception as e:  # noqa: BLE001
                out[key] = e
        th = threading.Thread(target=go, daemon=True)
        th.start()
        return th

    def test_concurrent_misses_wait_for_one_filler(self):
        sql = self.slow_sql(1)
        out = {}
        c0 = self.cache()
        t1 = self.run_async(sql, out, 1)
        time.sleep(0.15)
        t2 = self.run_async(sql, out, 2)
        t1.join(30)
        t2.join(30)
        for i in (1, 2):
            if isinstance(out.get(i), Exception):
                raise out[i]
        self.assertEqual(out[1][0], out[2][0])
        self.assertEqual(out[1][0], primary_rows(sql)[0])
        c1 = self.wait_fill(c0)
        d = diff(c0, c1)
        sys.stderr.write("\nconcurrent misses: %s (%.2f s, %.2f s)\n" % (d, out[1][1], out[2][1]))
        self.assertEqual(d["fills"], 1, d)
        self.assertGreaterEqual(d["waits"], 1, d)

    def test_stale_fill_is_rejected(self):
        """A miss reads big (slowly) from a replica; while it runs, a row of big changes on the
        primary and the tailer invalidates the table. The miss's fill, made afterwards with the
        old answer, must not be stored (its lease was voided, or its replica is behind the
        invalidation's GTID): CONSISTENCY.md mechanisms 7 and 8."""
        sql = self.slow_sql(2)
        before = primary_rows(sql)[0]
        out = {}
        c0 = self.cache()
        th = self.run_async(sql, out, 1)
        time.sleep(0.1)
        primary_exec("UPDATE big SET v = v + 1 WHERE id = 1")
        harness.wait_checkpoint(self.redis, self.prefix, harness.primary_seq(), timeout=10)
        published_in_flight = th.is_alive()
        th.join(30)
        if isinstance(out.get(1), Exception):
            raise out[1]
        if not published_in_flight:
            self.skipTest("the slow read (%.2f s) ended before the tailer published" % out[1][1])
        self.assertEqual(out[1][0], before, "the slow read is expected to be the old answer")
        time.sleep(0.2)
        c1 = self.cache()
        d = diff(c0, c1)
        sys.stderr.write("\nstale fill: %s (read took %.2f s)\n" % (d, out[1][1]))
        self.assertEqual(d["fills"], 0, "the old answer was stored: %s" % d)
        self.assertGreaterEqual(d["stale_fills_rejected"] + d["fills_skipped"], 1, d)
        self.assertGreaterEqual(d["stale_fills_rejected"], 1,
                                "rejected, but counted as skipped: %s" % d)
        # and nobody reads the old answer afterwards
        after = primary_rows(sql)[0]
        self.assertNotEqual(after, before)
        self.assertEqual(self.read(sql)[0], after)

    def test_zz_no_client_errors(self):
        s = stats(self.proxy)
        self.assertEqual(s["queries"]["errors"], 0)
        self.assertEqual(s["cache"]["redis"], "up")


class NoLocalTierTest(TailedCase):
    """local_mb = 0: every hit comes from Redis. Also the `db.table` form of tables."""
    prefix = "sluicecache%dn" % PID
    overrides = cache_config(prefix, local_mb=0, tables="%s.local0" % DB)
    tailer_server_id = TAILER_SERVER_ID + 1

    def test_redis_hits_only(self):
        sql = "SELECT v FROM local0 WHERE id = 1"
        with self.conn() as c:
            c0 = self.cache()
            self.read(sql, conn=c)
            c1 = self.wait_fill(c0)
            for _ in range(5):
                self.assertEqual(self.read(sql, conn=c)[0], (("r1",),))
            c2 = self.cache()
        d = diff(c1, c2)
        self.assertEqual(d["hits"], 5, d)
        self.assertEqual(c2["local_hits"], 0, c2)
        self.assertEqual(c2["entries"], 0, c2)

    def test_other_tables_are_not_cached(self):
        c0 = self.cache()
        for _ in range(2):
            self.read("SELECT v FROM kv WHERE id = 400")
        time.sleep(0.1)
        d = diff(c0, self.cache())
        self.assertEqual((d["hits"], d["fills"]), (0, 0), d)


class RedisDownTest(CacheCase):
    """Redis dies: correct answers from the database, no client error, cache.redis "down", no
    hit from the in-process tier (nothing proves its entries are still current); Redis returns:
    hits again."""

    @classmethod
    def setUpClass(cls):
        cls.redis = PrivateRedis()
        cls.redis.start()
        cls.overrides = cache_config("sluice")
        cls.overrides[("pinning", "redis")] = "127.0.0.1:%d" % cls.redis.port
        cls.overrides[("pinning", "redis_timeout_ms")] = "100"
        cls.prefix = "sluice"
        cls.tailer_server_id = TAILER_SERVER_ID + 2
        cls.tailer_overrides = {("pinning", "redis"): "127.0.0.1:%d" % cls.redis.port,
                                ("binlog", "redis"): "127.0.0.1:%d" % cls.redis.port}
        super().setUpClass()
        cls.start_tailer()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stop_tailer()
            super().tearDownClass()
        finally:
            cls.redis.close()

    def test_down_and_back(self):
        k = Ids.take()
        sql = "SELECT v FROM kv WHERE id = %d" % k
        wait_until(lambda: self.cache()["redis"] == "up", what="cache.redis up")
        wait_routing(self.proxy)
        with self.conn() as c:
            c0 = self.cache()
            self.read(sql, conn=c)
            self.wait_fill(c0)
            for _ in range(3):                    # in the worker's tier too
                self.read(sql, conn=c)
            self.redis.kill()
            with self.conn() as w, w.cursor() as cur:
                cur.execute("UPDATE kv SET v = 'while-down' WHERE id = %d" % k)
            wait_until(lambda: self.cache()["redis"] == "down", timeout=10,
                       what="cache.redis down")
            hits = self.cache()["hits"]
            for _ in range(5):
                self.assertEqual(self.read(sql, conn=c)[0], (("while-down",),))
                self.assertEqual(self.read(sql)[0], (("while-down",),))
            other = Ids.take()
            self.assertEqual(self.read("SELECT v FROM kv WHERE id = %d" % other)[0],
                             (("v%d" % other,),))
            self.assertEqual(self.cache()["hits"], hits, "hits while Redis is down")
            self.redis.start()
            wait_until(lambda: self.cache()["redis"] == "up", timeout=15,
                       what="cache.redis back up")
            wait_tailer_seen(self.proxy)  # the tailer takes its lease again in the new Redis
            # An entry made before the outage must not come back from the local tier.
            for _ in range(3):
                self.assertEqual(self.read(sql, conn=c)[0], (("while-down",),))
        # hits again, once the instance trusts its marks again
        k2 = Ids.take()
        sql2 = "SELECT v FROM kv WHERE id = %d" % k2

        def hit_again():
            before = self.cache()["hits"]
            self.read(sql2)
            time.sleep(0.05)
            self.read(sql2)
            return self.cache()["hits"] > before
        wait_until(hit_again, timeout=20, interval=0.2, what="cache hits after Redis returned")
        self.assertEqual(stats(self.proxy)["queries"]["errors"], 0)


class TailerDownTest(TailedCase):
    """The tailer dies: the cache stands aside (the write it would have invalidated goes
    unseen); it comes back and republishes from its checkpoint: the cache is used again only once
    that backlog is published, so the entry of the row written meanwhile is never served."""
    prefix = "sluicecache%dd" % PID
    overrides = cache_config(prefix)
    tailer_server_id = TAILER_SERVER_ID + 3

    def test_down_and_back(self):
        k = Ids.take()
        sql = "SELECT v FROM kv WHERE id = %d" % k
        self.fill_and_hit(sql)
        self.tailer.kill9()
        wait_until(lambda: self.cache()["tailer"] == "down", timeout=10, what="cache.tailer down")
        with harness.primary_connect(database=DB) as p, p.cursor() as cur:
            cur.execute("UPDATE kv SET v = 'unseen' WHERE id = %d" % k)
        c0 = self.cache()
        for _ in range(3):
            self.read(sql)                       # the replica's, maybe stale: no tailer, no mark
        d = diff(c0, self.cache())
        self.assertEqual((d["hits"], d["misses"], d["fills"]), (0, 0, 0), d)
        self.tailer.start()
        self.tailer.wait_leader()
        wait_tailer_seen(self.proxy)
        # the UPDATE was published before the cache came back: its entry is void, its row marked
        self.assertEqual(self.read(sql)[0], (("unseen",),))
        harness.wait_replicas_caught_up()
        time.sleep(TAILER_WINDOW_MS / 1000.0)    # the republished marks expire
        self.fill_and_hit(sql)
        self.assertEqual(self.read(sql)[0], (("unseen",),))


class NoTailerTest(CacheCase):
    """No sluice-binlog holds the lease: a write around Sluice would never reach the cache, so
    the cache stands aside and says so."""
    prefix = "sluicecache%dt" % PID
    overrides = cache_config(prefix)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.delete_keys()

    def test_cache_stands_aside(self):
        wait_routing(self.proxy)
        self.assertEqual(self.cache()["tailer"], "down")
        self.reads_miss_the_cache()

    def test_tailer_without_the_cache_does_not_count(self):
        """A tailer started with [cache] enabled = false leads but would drop no entry."""
        tailer = harness.Tailer(self.prefix, {("cache", "enabled"): "false",
                                              ("binlog", "server_id"): str(TAILER_SERVER_ID + 4)})
        tailer.start()
        try:
            tailer.wait_leader()
            time.sleep(0.5)                      # two of the proxy's checks
            self.assertEqual(self.cache()["tailer"], "down")
            self.reads_miss_the_cache()
        finally:
            self.assertEqual(tailer.stop(), [])

    def reads_miss_the_cache(self):
        k = Ids.take()
        sql = "SELECT v FROM kv WHERE id = %d" % k
        c0 = self.cache()
        for _ in range(3):
            self.assertEqual(self.read(sql)[0], (("v%d" % k,),))
        d = diff(c0, self.cache())
        self.assertEqual((d["hits"], d["misses"], d["fills"]), (0, 0, 0), d)


@harness.skip_if_direct("checks the sluice binary")
class CacheConfigTest(unittest.TestCase):
    """[cache] enabled needs pinning; the keys' ranges; there is no [cache] redis any more."""

    def check(self, overrides):
        text = harness.render_config(overrides)
        d = tempfile.mkdtemp(prefix="sluice-cache-conf-")
        path = os.path.join(d, "sluice.conf")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([harness.sluice_bin(), "-c", path, "--check-config"],
                           capture_output=True, text=True, timeout=10)
        shutil.rmtree(d, ignore_errors=True)
        return r, path, text

    @staticmethod
    def line_of(text, section):
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip() == "[%s]" % section:
                return i
        return None

    def test_enabled_needs_pinning(self):
        r, path, text = self.check({("cache", "enabled"): "true", ("pinning", "mode"): "off"})
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"%s:\d+: \[cache\] enabled" % re.escape(path))
        line = int(re.search(r"%s:(\d+):" % re.escape(path), r.stderr).group(1))
        section = self.line_of(text, "cache")
        self.assertTrue(section <= line <= section + 6, (line, section, r.stderr))

    def test_good_configs(self):
        for ov in ({("cache", "enabled"): "true"},
                   {("cache", "enabled"): "true", ("pinning", "mode"): "gtid"},
                   {("cache", "enabled"): "true", ("cache", "tables"): "a.b, c.*"},
                   {("cache", "enabled"): "true", ("cache", "local_mb"): "0",
                    ("cache", "ttl_s"): "3600", ("cache", "lease_ms"): "1000",
                    ("cache", "max_result_bytes"): "1048576"}):
            r, _, _ = self.check(ov)
            self.assertEqual(r.returncode, 0, "%r: %s" % (ov, r.stderr))

    def test_bad_values(self):
        for key, value in (("ttl_s", "0"), ("ttl_s", "3601"), ("tables", "nodot"),
                           ("tables", "a.b.c"), ("local_mb", "-1"), ("redis", "127.0.0.1:1")):
            r, path, _ = self.check({("cache", "enabled"): "true", ("cache", key): value})
            self.assertEqual(r.returncode, 1, "%s = %s accepted" % (key, value))
            self.assertRegex(r.stderr, r"%s:\d+: \[cache\] %s" % (re.escape(path), key))


if __name__ == "__main__":
    unittest.main(verbosity=2)
