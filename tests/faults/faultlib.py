"""Helpers for the fault-injection suite (tests/faults/): the sandbox's processes, a pymysql
load with read-your-writes checks, a small Redis client and the binlog tailer.

The servers are found through the sandbox's pid files, in $SLUICE_SANDBOX_DIR (default
.sandbox at the repo root), and the ports through $SLUICE_SANDBOX_PORT_BASE (harness.py), so
the suite runs against whichever sandbox the environment names. It kills and restarts that
sandbox's servers: run it against a private one when others share the default
(SLUICE_SANDBOX_DIR=/tmp/sbx2 SLUICE_SANDBOX_PORT_BASE=23306 scripts/sandbox.sh up).
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import pymysql  # noqa: E402

import harness  # noqa: E402
from harness import wait_until  # noqa: E402

SANDBOX_DIR = os.path.realpath(os.environ.get("SLUICE_SANDBOX_DIR")
                               or os.path.join(harness.SOURCE_DIR, ".sandbox"))
REPORT = os.environ.get("SLUICE_FAULTS_REPORT")     # append one JSON line per case here


# ---------------------------------------------------------------- the sandbox's processes

def pidfile(name):
    if name == "redis":
        return os.path.join(SANDBOX_DIR, "redis", "redis.pid")
    return os.path.join(SANDBOX_DIR, name, "mysqld.pid")


def server_pid(name):
    with open(pidfile(name)) as f:
        return int(f.read().strip())


def wait_gone(pid, timeout=30.0):
    wait_until(lambda: not harness.pid_alive(pid), timeout=timeout, interval=0.05,
               what="pid %d to exit" % pid)


def kill_server(name, sig=signal.SIGKILL, timeout=30.0):
    """Signal the sandbox's server name (primary, r1, r2, redis) and wait until it exited."""
    pid = server_pid(name)
    os.kill(pid, sig)
    wait_gone(pid, timeout)
    return pid


def sandbox_up(timeout=150):
    """scripts/sandbox.sh up: starts whatever is not running and waits until all is healthy."""
    r = subprocess.run([harness.SANDBOX_SH, "up"], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError("sandbox.sh up failed (rc=%d): %s"
                             % (r.returncode, (r.stdout + r.stderr).strip()))


def sandbox_healthy():
    r = subprocess.run([harness.SANDBOX_SH, "status"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    return r.returncode == 0


def stream_keys(r, prefix, table):
    """Every `k` value naming table (db.table) in P:inval, and whether a `w`/`all` covered it."""
    keys, whole, start = set(), False, "-"
    while True:
        batch = r.cmd("XRANGE", prefix + ":inval", start, "+", "COUNT", 5000) or []
        for _eid, flat in batch:
            for k, v in zip(flat[0::2], flat[1::2]):
                if k == "k" and v.startswith(table + ":"):
                    keys.add(v[len(table) + 1:])
                elif (k == "w" and v == table) or k == "all":
                    whole = True
        if len(batch) < 5000:
            return keys, whole
        start = "(" + batch[-1][0]


# ---------------------------------------------------------------- the binlog tailer

def tailer(prefix, cache=False):
    """harness.Tailer with a server id of this run's own; cache: it invalidates the cache too."""
    return harness.Tailer(prefix, {("binlog", "server_id"): str(8000 + os.getpid() % 1000),
                                   ("cache", "enabled"): "true" if cache else "false"})


# ---------------------------------------------------------------- the load

def err_code(e):
    if isinstance(e, pymysql.err.MySQLError) and e.args and isinstance(e.args[0], int):
        return e.args[0]
    return None


class Load:
    """Client threads through the proxy, each on its own autocommit connection.

    readers: point reads of rows nobody writes (they may go to replicas).
    writers: UPDATE t SET ver = LAST_INSERT_ID(ver + 1) WHERE id = k on rows of their own, the
        OK's last_insert_id being the version committed; then read the row back on the same
        connection and on a second one: older than the acknowledged version is a stale read
        (a read-your-writes violation, G1).
    inserters: INSERT of fresh ids into table_ins; acknowledged ids are kept (for the tailer).
    A failed statement closes its connection; the thread reconnects. Every error is kept with
    its time and code; every statement's latency is tracked (max), so a hang shows.
    """

    def __init__(self, proxy, table, reader_keys, writer_keys, readers=4, writers=2,
                 inserters=0, table_ins=None, read_timeout=20):
        self.proxy, self.table, self.table_ins = proxy, table, table_ins
        self.reader_keys, self.writer_keys = reader_keys, writer_keys
        self.n_readers, self.n_writers, self.n_inserters = readers, writers, inserters
        self.read_timeout = read_timeout
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.threads = []
        self.reads = self.writes = self.checks = 0
        self.errors = []            # (t, who, code, text)
        self.stale = []             # (t, key, acked, seen, how)
        self.max_latency = 0.0
        self.acked_ins = set()
        self.next_ins = [1]

    def _connect(self):
        return self.proxy.connect(database=harness.TEST_DB, read_timeout=self.read_timeout,
                                  write_timeout=self.read_timeout, connect_timeout=10)

    def _timed(self, cur, sql, args=None):
        t0 = time.monotonic()
        try:
            cur.execute(sql, args)
            return cur.fetchall()
        finally:
            dt = time.monotonic() - t0
            if dt > self.max_latency:
                with self.lock:
                    self.max_latency = max(self.max_latency, dt)

    def _error(self, who, e):
        with self.lock:
            self.errors.append((time.monotonic(), who, err_code(e), str(e)[:200]))

    def _reader(self):
        conn = None
        while not self.stop_ev.is_set():
            try:
                if conn is None:
                    conn = self._connect()
                k = random.choice(self.reader_keys)
                with conn.cursor() as cur:
                    rows = self._timed(cur, "SELECT id, ver FROM %s WHERE id = %%s" % self.table,
                                       (k,))
                if not rows:
                    raise AssertionError("row %d missing" % k)
                with self.lock:
                    self.reads += 1
            except (pymysql.err.MySQLError, OSError) as e:
                self._error("read", e)
                conn = self._close(conn)
                time.sleep(0.02)
        self._close(conn)

    def _writer(self, keys):
        conn = other = None
        acked = {}
        while not self.stop_ev.is_set():
            try:
                if conn is None:
                    conn = self._connect()
                if other is None:
                    other = self._connect()
                k = random.choice(keys)
                with conn.cursor() as cur:
                    t0 = time.monotonic()
                    cur.execute("UPDATE %s SET ver = LAST_INSERT_ID(ver + 1) WHERE id = %%s"
                                % self.table, (k,))
                    self.max_latency = max(self.max_latency, time.monotonic() - t0)
                    acked[k] = cur.lastrowid
                with self.lock:
                    self.writes += 1
                for how, c in (("same", conn), ("other", other)):
                    with c.cursor() as cur:
                        rows = self._timed(cur, "SELECT ver FROM %s WHERE id = %%s" % self.table,
                                           (k,))
                    seen = rows[0][0] if rows else None
                    with self.lock:
                        self.checks += 1
                        if seen is None or seen < acked[k]:
                            self.stale.append((time.monotonic(), k, acked[k], seen, how))
            except (pymysql.err.MySQLError, OSError) as e:
                self._error("write", e)
                conn = self._close(conn)
                other = self._close(other)
                time.sleep(0.02)
        self._close(conn)
        self._close(other)

    def _inserter(self):
        conn = None
        while not self.stop_ev.is_set():
            with self.lock:
                n = self.next_ins[0]
                self.next_ins[0] += 1
            try:
                if conn is None:
                    conn = self._connect()
                with conn.cursor() as cur:
                    self._timed(cur, "INSERT INTO %s (id) VALUES (%%s)" % self.table_ins, (n,))
                with self.lock:
                    self.acked_ins.add(n)
                    self.writes += 1
            except (pymysql.err.MySQLError, OSError) as e:
                self._error("insert", e)
                conn = self._close(conn)
                time.sleep(0.02)
        self._close(conn)

    @staticmethod
    def _close(conn):
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        return None

    def start(self):
        per = max(1, len(self.writer_keys) // max(1, self.n_writers))
        targets = [(self._reader, ())] * self.n_readers
        targets += [(self._writer, (self.writer_keys[i * per:(i + 1) * per],))
                    for i in range(self.n_writers)]
        targets += [(self._inserter, ())] * self.n_inserters
        for fn, args in targets:
            t = threading.Thread(target=fn, args=args, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self, timeout=30):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout)
        return [t for t in self.threads if t.is_alive()]

    def errors_since(self, t0, who=None):
        with self.lock:
            return [e for e in self.errors if e[0] >= t0 and (who is None or e[1] == who)]

    def summary(self):
        with self.lock:
            codes = {}
            for _t, who, code, _txt in self.errors:
                codes["%s:%s" % (who, code)] = codes.get("%s:%s" % (who, code), 0) + 1
            return {"reads": self.reads, "writes": self.writes, "ryw_checks": self.checks,
                    "errors": len(self.errors), "error_codes": codes,
                    "stale": len(self.stale), "max_latency_s": round(self.max_latency, 2)}


def report(case, fields):
    line = dict(case=case, **fields)
    sys.stderr.write("FAULTS %s\n" % json.dumps(line, sort_keys=True))
    sys.stderr.flush()
    if REPORT:
        with open(REPORT, "a") as f:
            f.write(json.dumps(line, sort_keys=True) + "\n")
