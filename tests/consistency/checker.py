#!/usr/bin/python3
"""Read-your-writes (G1, /work/shared/CONSISTENCY.md) checker for Sluice.

Writers (threads, one pymysql connection each, autocommit, through Sluice) change random rows
of a per-run table and record, for each row, the version their OK acknowledged; readers (other
threads, on pooled or brand-new connections, through any of the Sluice ports) read rows back
and count a violation whenever a row is older than the newest version acknowledged for it
before the read began.

Versions. Every change of a row is `SET ver = LAST_INSERT_ID(ver + 1)`: the row's version only
grows (row locks serialize the updates), and the OK packet's last_insert_id is exactly the
version this statement committed, so a writer knows the version it was acknowledged without a
read. New rows start at version 1.

What is written (kinds, reported separately):
  update        UPDATE t SET ver = LAST_INSERT_ID(ver + 1) WHERE id = k
  insert        INSERT INTO t (id, ver) VALUES (new_k, 1)
  auto_insert   INSERT INTO t_auto (ver) VALUES (1)          -- id from the OK (lastrowid)
  auto_multi    INSERT INTO t_auto (ver) VALUES (1), (1), (1) -- ids lastrowid .. +2
  auto_update   UPDATE t_auto SET ver = LAST_INSERT_ID(ver + 1) WHERE id = k
  txn           BEGIN; UPDATE k1; UPDATE k2; COMMIT           -- acknowledged at COMMIT's OK
  txn_implicit  the same on an autocommit=0 connection (no BEGIN; COMMIT ends it)
  direct        UPDATE on the primary itself (--direct-port): not covered by G1, excluded
                from the violation count; reads of these rows that come back stale prove
                that unmarked rows are still read from (delayed) replicas.

What is read (kinds, reported separately):
  point         SELECT id, ver FROM t WHERE id = k
  point_and     SELECT id, ver FROM t WHERE id = k AND ver >= 0
  in            SELECT id, ver FROM t WHERE id IN (k, k2)
  between       SELECT id, ver FROM t WHERE id BETWEEN k - 2 AND k + 2
  auto_point    SELECT id, ver FROM t_auto WHERE id = k
  cold          a point read of a row nobody writes during the run (expected on a replica)
  direct        a point read of a row written around Sluice (may be stale: not counted)

Key space of t (--keys K, preloaded with ver 0): 1..K/2 written through Sluice, the next K/4
by direct writers, the last K/4 never written (cold); rows inserted during the run get ids
above K. t_auto is a second table with an AUTO_INCREMENT key.

With --cache (Sluice instances with [cache] enabled, and sluice-binlog running on the same
Redis so that writes around Sluice are invalidated too), it also checks G2/G3 for the result
cache:
  direct_stale_late  a read of a row written around Sluice that misses a version acknowledged
                     more than --g2-bound-ms before the read began (the tailer had that long to
                     invalidate): counted as a failure
  settle             after the run, all threads stopped, --settle seconds pass; then every row
                     of both tables is read through every --port (--read-port if given) by
                     --settle-reads connections each (so several workers' in-process tiers are
                     looked at), with the same statement text the readers used (so their cache
                     entries are hit), plus a sample of the non-point statements the readers
                     sent; every answer must equal the primary's. Each difference is a
                     mismatch; mismatched reads are read once more a second later to tell a slow
                     invalidation from a lost one.
The cache counters of each instance's /stats are added to stats_delta.

Exit status: 0 when there was no violation, no error and (with --cache) no late stale direct
read and no settle mismatch; 1 otherwise, 2 when it could not set up. --json prints one JSON
object with every total on stdout.
"""

import argparse
import bisect
import collections
import json
import os
import random
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request

import pymysql

HISTORY = 16           # acknowledged versions kept per row (to name the write a read missed)
STATEMENTS_KEPT = 20000  # distinct non-point read statements remembered for the settle check
RECENT_S = 8.0         # how far back readers look for recently acknowledged rows
SAMPLES = 20           # violations / errors kept verbatim in the report


def now():
    return time.monotonic()


def wall():
    """UTC wall clock to the millisecond, as in sluice's log lines (to line the two up)."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


class Acks:
    """Versions acknowledged to writers, per (table, id). Guarded by one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = {}                          # (tbl, id) -> [(ver, kind, t_ok, port), ...]
        self.recent = collections.deque()       # (t_ok, tbl, id) of the last RECENT_S seconds
        self.recent_t = collections.deque()     # t_ok alone, for bisect
        self.sluice_keys = {"t": [], "t_auto": []}   # rows with at least one ack, for reads
        self.sluice_known = set()

    def ack(self, tbl, key, ver, kind, port):
        t = now()
        with self.lock:
            h = self.rows.setdefault((tbl, key), [])
            h.append((ver, kind, t, port))
            if len(h) > HISTORY:
                del h[0]
            if (tbl, key) not in self.sluice_known:
                self.sluice_known.add((tbl, key))
                self.sluice_keys[tbl].append(key)
            self.recent.append((t, tbl, key))
            self.recent_t.append(t)
            cutoff = t - RECENT_S
            while self.recent and self.recent[0][0] < cutoff:
                self.recent.popleft()
                self.recent_t.popleft()

    def expected(self, tbl, key):
        """Newest version acknowledged so far for the row (0 if none: preloaded or unknown)."""
        with self.lock:
            h = self.rows.get((tbl, key))
            return max(v for v, _, _, _ in h) if h else 0

    def missed(self, tbl, key, got):
        """The earliest acknowledged write newer than got: the one the read failed to see."""
        with self.lock:
            for v, kind, t, port in sorted(self.rows.get((tbl, key), [])):
                if got is None or v > got:
                    return v, kind, t, port
        return None

    def pick_recent(self, rng):
        with self.lock:
            if not self.recent:
                return None
            if rng.random() < 0.4:
                return self.recent[-1][1:]
            return self.recent[rng.randrange(len(self.recent))][1:]

    def pick_any(self, rng, tbl):
        with self.lock:
            ks = self.sluice_keys[tbl]
            return ks[rng.randrange(len(ks))] if ks else None


class Totals:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = collections.Counter()
        self.violations = []
        self.errors = []

    def inc(self, name, n=1):
        with self.lock:
            self.c[name] += n

    def violation(self, v):
        with self.lock:
            self.c["violations"] += 1
            self.c["violations." + v["write_kind"] + "->" + v["read_kind"]] += 1
            if len(self.violations) < SAMPLES:
                self.violations.append(v)

    def high(self, name, value):
        with self.lock:
            self.c[name] = max(self.c[name], int(value))

    def direct_late(self, v):
        with self.lock:
            self.c["direct_stale_late"] += 1
            if len(self.violations) < SAMPLES:
                self.violations.append(dict(v, write_kind="direct", read_kind="direct_late"))

    def error(self, where, e):
        with self.lock:
            self.c["errors"] += 1
            self.c["errors." + where] += 1
            if len(self.errors) < SAMPLES:
                self.errors.append({"where": where, "error": repr(e), "at": wall()})


class Checker:
    def __init__(self, args):
        self.a = args
        self.db = args.database
        self.t = "`%s`.`%s`" % (self.db, args.table)
        self.t_auto = "`%s`.`%s_auto`" % (self.db, args.table)
        self.acks = Acks()
        self.direct_acks = {}                   # id -> newest version acked on the primary
        self.direct_hist = {}                   # id -> [(t_ok, version)], last HISTORY
        self.statements = set()                 # non-point read texts sent (for the settle)
        self.settle_report = None
        self.direct_lock = threading.Lock()
        self.tot = Totals()
        self.stop = threading.Event()
        self.next_new = args.keys + 1           # explicit ids of inserted rows
        self.new_lock = threading.Lock()
        k = args.keys
        self.sluice_range = (1, max(2, k // 2))
        self.direct_range = (self.sluice_range[1] + 1, self.sluice_range[1] + max(1, k // 4))
        self.cold_range = (self.direct_range[1] + 1, k)
        if self.cold_range[0] > self.cold_range[1]:
            raise SystemExit("--keys too small (need at least 8)")
        self.t0 = None

    # ------------------------------------------------------------ connections

    def connect(self, port, **kw):
        args = dict(host=self.a.host, port=port, user=self.a.user, password=self.a.password,
                    database=self.db, charset="utf8mb4", connect_timeout=10, read_timeout=30,
                    write_timeout=30, autocommit=True)
        args.update(kw)
        return pymysql.connect(**args)

    def primary(self):
        return self.connect(self.a.primary_port, database=None)

    # ------------------------------------------------------------ setup / teardown

    def create(self):
        with self.primary() as c, c.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS `%s`" % self.db)
            cur.execute("DROP TABLE IF EXISTS %s" % self.t)
            cur.execute("DROP TABLE IF EXISTS %s" % self.t_auto)
            cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, ver BIGINT NOT NULL, "
                        "note VARCHAR(32) NOT NULL DEFAULT '')" % self.t)
            cur.execute("CREATE TABLE %s (id INT AUTO_INCREMENT PRIMARY KEY, "
                        "ver BIGINT NOT NULL, note VARCHAR(32) NOT NULL DEFAULT '')"
                        % self.t_auto)
            for lo in range(1, self.a.keys + 1, 1000):
                hi = min(lo + 999, self.a.keys)
                cur.execute("INSERT INTO %s (id, ver) VALUES %s" % (
                    self.t, ",".join("(%d,0)" % i for i in range(lo, hi + 1))))
        self.wait_replicas()

    def wait_replicas(self, timeout=60):
        with self.primary() as c, c.cursor() as cur:
            cur.execute("SELECT @@gtid_binlog_pos")
            pos = cur.fetchone()[0]
        for port in self.a.replica_port or []:
            with self.connect(port, database=None, read_timeout=timeout + 10) as c, \
                    c.cursor() as cur:
                cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (pos, timeout))
                if cur.fetchone()[0] != 0:
                    raise RuntimeError("replica on port %d did not reach %s in %d s"
                                       % (port, pos, timeout))

    def drop(self):
        with self.primary() as c, c.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS %s" % self.t)
            cur.execute("DROP TABLE IF EXISTS %s" % self.t_auto)

    # ------------------------------------------------------------ stats

    def get_stats(self, sp):
        # The stats listener may come up a moment after the MySQL port: retry a refusal for 5 s.
        url = "http://%s:%d/stats" % (self.a.host, sp)
        deadline = now() + 5
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    return json.loads(r.read())
            except urllib.error.URLError as e:
                if not isinstance(e.reason, ConnectionRefusedError) or now() > deadline:
                    raise
                time.sleep(0.1)

    def stats(self):
        out = collections.Counter()
        for sp in self.a.stats_port or []:
            s = self.get_stats(sp)
            for group, key in (("queries", "total"), ("queries", "primary"),
                               ("queries", "replica"), ("queries", "pinned"),
                               ("queries", "errors"), ("queries", "fallback"),
                               ("pinning", "lookups"), ("pinning", "marks"),
                               ("pinning", "errors"), ("pinning", "safe_reads"),
                               ("cache", "hits"), ("cache", "local_hits"), ("cache", "misses"),
                               ("cache", "fills"), ("cache", "stale_fills_rejected"),
                               ("cache", "fills_skipped"), ("cache", "waits"),
                               ("cache", "invalidations")):
                v = s.get(group, {}).get(key)
                if isinstance(v, int) and not isinstance(v, bool):
                    out["%s.%s" % (group, key)] += v
        return out

    # ------------------------------------------------------------ writers

    def new_id(self):
        with self.new_lock:
            self.next_new += 1
            return self.next_new - 1

    def writer(self, idx):
        rng = random.Random(self.a.seed * 1000 + idx if self.a.seed else None)
        port = self.a.port[idx % len(self.a.port)]
        conn = None
        lo, hi = self.sluice_range
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = self.connect(port)
                r = rng.random()
                cur = conn.cursor()
                if r < 0.55:
                    k = rng.randint(lo, hi)
                    cur.execute("UPDATE %s SET ver = LAST_INSERT_ID(ver + 1) WHERE id = %d"
                                % (self.t, k))
                    self.acked_update(cur, "t", k, "update", port)
                elif r < 0.63:
                    k = self.new_id()
                    cur.execute("INSERT INTO %s (id, ver) VALUES (%d, 1)" % (self.t, k))
                    self.acks.ack("t", k, 1, "insert", port)
                    self.tot.inc("writes.insert")
                elif r < 0.71:
                    cur.execute("INSERT INTO %s (ver, note) VALUES (1, 'auto')" % self.t_auto)
                    self.acks.ack("t_auto", cur.lastrowid, 1, "auto_insert", port)
                    self.tot.inc("writes.auto_insert")
                elif r < 0.75:
                    cur.execute("INSERT INTO %s (ver, note) VALUES (1, 'm'), (1, 'm'), (1, 'm')"
                                % self.t_auto)
                    first = cur.lastrowid
                    for i in range(3):
                        self.acks.ack("t_auto", first + i, 1, "auto_multi", port)
                    self.tot.inc("writes.auto_multi")
                elif r < 0.82:
                    k = self.acks.pick_any(rng, "t_auto")
                    if k is None:
                        cur.close()
                        continue
                    cur.execute("UPDATE %s SET ver = LAST_INSERT_ID(ver + 1) WHERE id = %d"
                                % (self.t_auto, k))
                    self.acked_update(cur, "t_auto", k, "auto_update", port)
                elif r < 0.93:
                    self.txn(conn, rng, port, "txn")
                else:
                    self.txn_implicit(rng, port)
                cur.close()
            except pymysql.err.Error as e:
                self.tot.error("writer", e)
                conn = self.close_quietly(conn)
                time.sleep(0.05)
        self.close_quietly(conn)

    def acked_update(self, cur, tbl, k, kind, port):
        if cur.rowcount != 1 or not cur.lastrowid:
            raise pymysql.err.InternalError("UPDATE of %s id %d: rowcount %d, last_insert_id %r"
                                            % (tbl, k, cur.rowcount, cur.lastrowid))
        self.acks.ack(tbl, k, cur.lastrowid, kind, port)
        self.tot.inc("writes." + kind)

    def txn_keys(self, rng):
        lo, hi = self.sluice_range
        return sorted(rng.sample(range(lo, hi + 1), 2))     # sorted: no deadlocks between txns

    def txn(self, conn, rng, port, kind):
        keys = self.txn_keys(rng)
        vers = []
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            try:
                for k in keys:
                    cur.execute("UPDATE %s SET ver = LAST_INSERT_ID(ver + 1) WHERE id = %d"
                                % (self.t, k))
                    vers.append(cur.lastrowid)
                cur.execute("COMMIT")
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except pymysql.err.Error:
                    pass
                raise
        for k, v in zip(keys, vers):
            self.acks.ack("t", k, v, kind, port)
        self.tot.inc("writes." + kind)

    def txn_implicit(self, rng, port):
        keys = self.txn_keys(rng)
        vers = []
        with self.connect(port, autocommit=False) as c, c.cursor() as cur:
            for k in keys:
                cur.execute("UPDATE %s SET ver = LAST_INSERT_ID(ver + 1) WHERE id = %d"
                            % (self.t, k))
                vers.append(cur.lastrowid)
            cur.execute("COMMIT")
        for k, v in zip(keys, vers):
            self.acks.ack("t", k, v, "txn_implicit", port)
        self.tot.inc("writes.txn_implicit")

    def direct_writer(self, idx):
        rng = random.Random(self.a.seed * 2000 + idx if self.a.seed else None)
        conn = None
        lo, hi = self.direct_range
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = self.connect(self.a.direct_port)
                with conn.cursor() as cur:
                    k = rng.randint(lo, hi)
                    cur.execute("UPDATE %s SET ver = LAST_INSERT_ID(ver + 1) WHERE id = %d"
                                % (self.t, k))
                    t_ok = now()
                    with self.direct_lock:
                        self.direct_acks[k] = max(self.direct_acks.get(k, 0), cur.lastrowid)
                        h = self.direct_hist.setdefault(k, [])
                        h.append((t_ok, cur.lastrowid))
                        if len(h) > HISTORY:
                            del h[0]
                self.tot.inc("writes.direct")
                time.sleep(0.01)
            except pymysql.err.Error as e:
                self.tot.error("direct_writer", e)
                conn = self.close_quietly(conn)
                time.sleep(0.05)
        self.close_quietly(conn)

    # ------------------------------------------------------------ readers

    def reader(self, idx):
        rng = random.Random(self.a.seed * 3000 + idx if self.a.seed else None)
        pool = {}
        while not self.stop.is_set():
            port = rng.choice(self.a.read_port or self.a.port)
            fresh = rng.random() < self.a.new_conn_share
            conn = None
            try:
                if fresh:
                    conn = self.connect(port)
                else:
                    conn = pool.get(port)
                    if conn is None:
                        conn = pool[port] = self.connect(port)
                self.read_once(conn, rng, port, fresh)
            except pymysql.err.Error as e:
                self.tot.error("reader", e)
                if not fresh:
                    pool.pop(port, None)
                self.close_quietly(conn)
                conn = None
                time.sleep(0.05)
            finally:
                if fresh and conn is not None:
                    self.close_quietly(conn)
        for c in pool.values():
            self.close_quietly(c)

    def read_once(self, conn, rng, port, fresh):
        r = rng.random()
        direct_share = 0.15 if self.a.direct_port else 0.0
        if r < 0.08:
            lo, hi = self.cold_range
            self.read_rows(conn, "t", "cold", [rng.randint(lo, hi)], port, fresh)
            return
        if r < 0.08 + direct_share:
            lo, hi = self.direct_range
            self.read_direct(conn, rng.randint(lo, hi))
            return
        pick = self.acks.pick_recent(rng) if rng.random() < 0.7 else None
        if pick is None:
            tbl = "t_auto" if rng.random() < 0.15 else "t"
            k = self.acks.pick_any(rng, tbl)
            if k is None:
                time.sleep(0.01)
                return
            pick = (tbl, k)
        tbl, k = pick
        if tbl == "t_auto":
            self.read_rows(conn, "t_auto", "auto_point", [k], port, fresh)
            return
        s = rng.random()
        if s < 0.45:
            self.read_rows(conn, "t", "point", [k], port, fresh)
        elif s < 0.6:
            self.read_rows(conn, "t", "point_and", [k], port, fresh)
        elif s < 0.8:
            k2 = self.acks.pick_any(rng, "t") or k
            self.read_rows(conn, "t", "in", sorted({k, k2}), port, fresh)
        else:
            self.read_rows(conn, "t", "between", list(range(k - 2, k + 3)), port, fresh)

    def read_rows(self, conn, tbl, kind, keys, port, fresh):
        # The expected versions are taken before the statement is sent: only writes whose OK
        # arrived before the read began are owed to it.
        expected = {k: self.acks.expected(tbl, k) for k in keys}
        table = self.t if tbl == "t" else self.t_auto
        if kind in ("point", "cold", "auto_point"):
            sql = "SELECT id, ver FROM %s WHERE id = %d" % (table, keys[0])
        elif kind == "point_and":
            sql = "SELECT id, ver FROM %s WHERE id = %d AND ver >= 0" % (table, keys[0])
        elif kind == "in":
            sql = "SELECT id, ver FROM %s WHERE id IN (%s)" % (table, ", ".join(map(str, keys)))
        else:
            sql = "SELECT id, ver FROM %s WHERE id BETWEEN %d AND %d" % (table, keys[0], keys[-1])
        if self.a.cache and kind in ("point_and", "in", "between"):
            with self.new_lock:
                if len(self.statements) < STATEMENTS_KEPT:
                    self.statements.add(sql)
        t_start = now()
        with conn.cursor() as cur:
            cur.execute(sql)
            got = {int(i): int(v) for i, v in cur.fetchall()}
        self.tot.inc("reads")
        self.tot.inc("reads." + kind)
        for k, exp in expected.items():
            have = got.get(k)
            if exp > 0 and (have is None or have < exp):
                m = self.acks.missed(tbl, k, have)
                self.tot.violation({
                    "table": tbl, "id": k, "expected": exp, "got": have, "read_kind": kind,
                    "sql": sql, "read_port": port, "new_connection": fresh,
                    "write_kind": m[1] if m else "?", "missed_version": m[0] if m else None,
                    "write_port": m[3] if m else None,
                    "ms_since_ok": round((t_start - m[2]) * 1000, 1) if m else None,
                    "t": round(t_start - self.t0, 3), "at": wall()})

    def read_direct(self, conn, k):
        t_start = now()
        late = t_start - self.a.g2_bound_ms / 1000.0
        with self.direct_lock:
            exp = self.direct_acks.get(k, 0)
            h = self.direct_hist.get(k, [])
            exp_late = max((v for t, v in h if t <= late), default=0)
            t_late = max((t for t, v in h if t <= late), default=None)
            hist = list(h)
        sql = "SELECT id, ver FROM %s WHERE id = %d" % (self.t, k)
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
        self.tot.inc("reads")
        self.tot.inc("reads.direct")
        got = int(row[1]) if row is not None else None
        if got is not None and got < exp:
            self.tot.inc("direct_stale")       # allowed (G1 covers writes through Sluice)
            missed = [t for t, v in hist if v > got]
            if missed:
                self.tot.high("direct_stale_max_ms", (t_start - min(missed)) * 1000)
        if self.a.cache and exp_late and (got is None or got < exp_late):
            # G2: the tailer had g2_bound_ms to invalidate that version's cached answers.
            self.tot.direct_late({
                "id": k, "expected": exp_late, "got": got, "sql": sql,
                "ms_since_ok": round((t_start - t_late) * 1000, 1),
                "t": round(t_start - self.t0, 3), "at": wall()})

    # ------------------------------------------------------------ settle (--cache)

    def settle(self):
        """G3 after the writers stopped: every answer through every instance equals the
        primary's (see the module comment)."""
        time.sleep(self.a.settle)
        t_settle = now()
        point = "SELECT id, ver FROM %s WHERE id = %d"
        with self.primary() as c, c.cursor() as cur:
            truth = {}
            for tbl, table in (("t", self.t), ("t_auto", self.t_auto)):
                cur.execute("SELECT id, ver FROM %s" % table)
                truth[tbl] = {int(i): int(v) for i, v in cur.fetchall()}
            rng = random.Random(self.a.seed or None)
            stmts = sorted(self.statements)
            stmts = rng.sample(stmts, min(len(stmts), self.a.settle_statements))
            answers = {}
            for sql in stmts:
                cur.execute(sql)
                answers[sql] = tuple(sorted((int(i), int(v)) for i, v in cur.fetchall()))
        work = [(point % (self.t if tbl == "t" else self.t_auto, k),
                 ((k, ver),)) for tbl in ("t", "t_auto") for k, ver in sorted(truth[tbl].items())]
        work += list(answers.items())
        lock = threading.Lock()
        out = {"rows": sum(len(v) for v in truth.values()), "statements": len(stmts),
               "reads": 0, "mismatches": 0, "still_stale_after_1s": 0, "by_port": {},
               "mismatch_samples": []}
        bad = []

        def one(port, idx):
            n = 0
            mism = []
            try:
                with self.connect(port) as c, c.cursor() as cur:
                    for sql, want in work:
                        cur.execute(sql)
                        got = tuple(sorted((int(i), int(v)) for i, v in cur.fetchall()))
                        n += 1
                        if got != want:
                            mism.append((port, idx, sql, want, got))
            except pymysql.err.Error as e:
                self.tot.error("settle", e)
            with lock:
                out["reads"] += n
                out["by_port"][str(port)] = out["by_port"].get(str(port), 0) + len(mism)
                bad.extend(mism)

        threads = [threading.Thread(target=one, args=(p, i), daemon=True)
                   for p in (self.a.read_port or self.a.port)
                   for i in range(self.a.settle_reads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(300)
        out["mismatches"] = len(bad)
        if bad:
            time.sleep(1.0)
        for port, idx, sql, want, got in bad:
            again = None
            try:
                with self.connect(port) as c, c.cursor() as cur:
                    cur.execute(sql)
                    again = tuple(sorted((int(i), int(v)) for i, v in cur.fetchall()))
            except pymysql.err.Error as e:
                self.tot.error("settle", e)
            if again != want:
                out["still_stale_after_1s"] += 1
            if len(out["mismatch_samples"]) < SAMPLES:
                out["mismatch_samples"].append({
                    "port": port, "connection": idx, "sql": sql, "primary": want, "sluice": got,
                    "one_second_later": again, "at": wall()})
        out["seconds"] = round(now() - t_settle, 1)
        return out

    # ------------------------------------------------------------ run

    @staticmethod
    def close_quietly(conn):
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        return None

    def run(self):
        if not self.a.no_create:
            self.create()
        try:
            before = self.stats()
            self.t0 = now()
            threads = [threading.Thread(target=self.writer, args=(i,), daemon=True)
                       for i in range(self.a.writers)]
            if self.a.direct_port:
                threads += [threading.Thread(target=self.direct_writer, args=(i,), daemon=True)
                            for i in range(self.a.direct_writers)]
            threads += [threading.Thread(target=self.reader, args=(i,), daemon=True)
                        for i in range(self.a.readers)]
            for th in threads:
                th.start()
            self.stop.wait(self.a.duration)
            self.stop.set()
            for th in threads:
                th.join(60)
            elapsed = now() - self.t0
            hung = sum(th.is_alive() for th in threads)
            if hung:
                self.tot.error("main", RuntimeError("%d threads still running after 60 s" % hung))
            if self.a.cache:
                self.settle_report = self.settle()
            after = self.stats()
        finally:
            if not self.a.keep_table:
                try:
                    self.drop()
                except pymysql.err.Error as e:
                    self.tot.error("drop", e)
        return self.report(before, after, elapsed)

    def report(self, before, after, elapsed):
        c = self.tot.c
        writes = sum(v for k, v in c.items() if k.startswith("writes.") and k != "writes.direct")
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
        out = {
            "table": self.a.table, "ports": self.a.port, "seconds": round(elapsed, 1),
            "writes": writes, "writes_direct": c["writes.direct"],
            "writes_by_kind": {k[7:]: v for k, v in sorted(c.items()) if k.startswith("writes.")},
            "reads": c["reads"],
            "reads_by_kind": {k[6:]: v for k, v in sorted(c.items()) if k.startswith("reads.")},
            "direct_stale": c["direct_stale"],
            "violations": c["violations"],
            "violations_by_kind": {k[11:]: v for k, v in sorted(c.items())
                                   if k.startswith("violations.")},
            "errors": c["errors"],
            "errors_by_where": {k[7:]: v for k, v in sorted(c.items()) if k.startswith("errors.")},
            "direct_stale_late": c["direct_stale_late"],
            "direct_stale_max_ms": c["direct_stale_max_ms"],
            "stats_delta": dict(sorted(delta.items())),
            "violation_samples": self.tot.violations,
            "error_samples": self.tot.errors,
        }
        if self.settle_report is not None:
            out["settle"] = self.settle_report
        if self.a.stats_port:
            pinned = delta.get("queries.pinned", 0)
            replica = delta.get("queries.replica", 0)
            out["reads_pinned"] = pinned
            out["reads_replica"] = replica
            out["replica_share"] = round(replica / (pinned + replica), 3) if pinned + replica else 0
        return out


def print_human(r, f=sys.stdout):
    p = lambda *a: print(*a, file=f)  # noqa: E731
    p("table %s, %s s, Sluice ports %s" % (r["table"], r["seconds"], r["ports"]))
    p("writes %d (%s), direct %d" % (r["writes"], ", ".join(
        "%s %d" % kv for kv in r["writes_by_kind"].items() if kv[0] != "direct"),
        r["writes_direct"]))
    p("reads %d (%s)" % (r["reads"], ", ".join("%s %d" % kv for kv in r["reads_by_kind"].items())))
    if "reads_pinned" in r:
        p("Sluice /stats: pinned %d, replica %d (replica share %.1f%%); %s" % (
            r["reads_pinned"], r["reads_replica"], 100 * r["replica_share"],
            ", ".join("%s %+d" % kv for kv in r["stats_delta"].items())))
    p("direct rows read stale (allowed): %d, at most %d ms after the commit of the version they "
      "missed" % (r["direct_stale"], r["direct_stale_max_ms"]))
    if "settle" in r:
        st = r["settle"]
        p("cache: direct rows read stale more than --g2-bound-ms after their commit: %d"
          % r["direct_stale_late"])
        p("SETTLE MISMATCHES %d (still stale 1 s later: %d) of %d reads: %d rows, %d statements, "
          "by port %s, %.1f s" % (st["mismatches"], st["still_stale_after_1s"], st["reads"],
                                  st["rows"], st["statements"], st["by_port"], st["seconds"]))
        for m in st["mismatch_samples"]:
            p("  ", json.dumps(m))
    p("VIOLATIONS %d %s" % (r["violations"], r["violations_by_kind"] or ""))
    for v in r["violation_samples"]:
        p("  ", json.dumps(v))
    p("ERRORS %d %s" % (r["errors"], r["errors_by_where"] or ""))
    for e in r["error_samples"]:
        p("  ", json.dumps(e))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of load (30)")
    ap.add_argument("--writers", type=int, default=4, help="writer threads through Sluice (4)")
    ap.add_argument("--readers", type=int, default=8, help="reader threads (8)")
    ap.add_argument("--keys", type=int, default=1000, help="preloaded rows (1000)")
    ap.add_argument("--port", type=int, nargs="+", action="extend", required=True,
                    help="Sluice port(s); several instances must share one Redis")
    ap.add_argument("--read-port", type=int, nargs="+", action="extend",
                    help="readers use these ports instead of --port (to prove the checker "
                    "itself: writers on the primary, readers on a delayed replica)")
    ap.add_argument("--stats-port", type=int, nargs="+", action="extend",
                    help="the /stats port of each Sluice instance (for the routing totals)")
    ap.add_argument("--direct-port", type=int,
                    help="primary port for writers that go around Sluice (rows excluded)")
    ap.add_argument("--direct-writers", type=int, default=2, help="with --direct-port (2)")
    ap.add_argument("--primary-port", type=int, default=13306,
                    help="primary, for creating and dropping the table (13306)")
    ap.add_argument("--replica-port", type=int, nargs="*", action="extend",
                    help="replicas to wait for after creating the table (13307 13308)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--user", default="app")
    ap.add_argument("--password", default="app")
    ap.add_argument("--database", default="sluice_test")
    ap.add_argument("--table", help="table name (default: a new per-run name); the "
                    "AUTO_INCREMENT table is TABLE_auto")
    ap.add_argument("--no-create", action="store_true",
                    help="the tables exist already (see create_tables()); only drop them")
    ap.add_argument("--keep-table", action="store_true", help="do not drop the tables")
    ap.add_argument("--new-conn-share", type=float, default=0.2,
                    help="share of reads made on a brand-new connection (0.2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", action="store_true",
                    help="the instances cache results: count late stale direct reads and run "
                    "the settle check after the run (needs sluice-binlog on the same Redis for "
                    "--direct-port writes)")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="with --cache: seconds between the end of the writes and the settle "
                    "check (2)")
    ap.add_argument("--settle-reads", type=int, default=3,
                    help="with --cache: connections per port reading every row (3)")
    ap.add_argument("--settle-statements", type=int, default=300,
                    help="with --cache: non-point read statements replayed (300)")
    ap.add_argument("--g2-bound-ms", type=float, default=1000.0,
                    help="with --cache: a direct read older than a direct write acknowledged "
                    "this long before it is a failure (1000)")
    ap.add_argument("--json", action="store_true", help="print the report as one JSON object")
    a = ap.parse_args(argv)
    if a.replica_port is None:
        a.replica_port = [13307, 13308]
    if a.table is None:
        a.table = "ryw_%d_%s" % (os.getpid(), secrets.token_hex(3))
    if a.stats_port and len(a.stats_port) != len(a.port):
        ap.error("give one --stats-port per --port")
    return a


def create_tables(table, keys=1000, **kw):
    """For callers that create the tables ahead (e.g. before delaying replicas)."""
    argv = ["--port", "0", "--table", table, "--keys", str(keys)]
    for k, v in kw.items():
        argv += ["--" + k.replace("_", "-"), str(v)]
    Checker(parse_args(argv)).create()


def main(argv=None):
    a = parse_args(argv)
    try:
        ck = Checker(a)
        r = ck.run()
    except (pymysql.err.Error, OSError, RuntimeError) as e:
        print("checker: setup failed: %r" % (e,), file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(r))
    else:
        print_human(r)
    failed = r["violations"] or r["errors"] or r.get("direct_stale_late")
    failed = failed or r.get("settle", {}).get("mismatches")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
