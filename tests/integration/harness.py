"""Shared helpers for Sluice's integration tests (tests/integration/test_*.py).

Each test file starts one fresh proxy (`Proxy`) on free loopback ports, pointed at
the sandbox (MariaDB primary 127.0.0.1:13306, replicas 13307/13308, Redis 16379,
started by scripts/sandbox.sh), drives it with real clients and, on exit, checks
that the proxy stopped cleanly on SIGTERM with nothing from the sanitizers in its
log. The log is printed to stderr whenever anything failed.

Environment:
  SLUICE_BIN         path to the sluice binary (falls back to build-test/ or build/)
  SLUICE_SOURCE_DIR  repo root (for conf/sluice.conf); defaults to this file's ../..
  SLUICE_DIRECT=1    start nothing and talk to the primary directly, to check the
                     tests' own logic against MariaDB; proxy-only tests skip.
  SLUICE_SANDBOX_PORT_BASE  the sandbox's primary port, as for scripts/sandbox.sh (default
                     13306: replicas base+1 and base+2, Redis base+3073); with another base,
                     render_config() points [primary], [replica.*] and the Redis of
                     [pinning]/[cache]/[binlog] at that sandbox.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import pymysql

SOURCE_DIR = os.environ.get("SLUICE_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRECT = os.environ.get("SLUICE_DIRECT", "") not in ("", "0")
HOST = "127.0.0.1"
DEFAULT_PORT_BASE = 13306
PORT_BASE = int(os.environ.get("SLUICE_SANDBOX_PORT_BASE") or DEFAULT_PORT_BASE)
PRIMARY_PORT = PORT_BASE
REPLICA_PORTS = (PORT_BASE + 1, PORT_BASE + 2)
REDIS_PORT = PORT_BASE + 3073
TEST_DB = "sluice_test"
USER = "app"
PASSWORD = "app"
MARIADB = "/usr/bin/mariadb"
# Replicas out of the read pool (weight 0), so reads stay on the primary: for tests of the protocol
# itself, which should not depend on routing or on pinning (test_pinning.py covers that).
PRIMARY_ONLY = {("replica.r1", "weight"): "0", ("replica.r2", "weight"): "0"}
SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")
LOG_TAIL_BYTES = 256 * 1024


def _find_bin(env_var, name):
    """$env_var, else build-test/name or build/name under the source tree, or None."""
    env = os.environ.get(env_var)
    if env:
        return env
    for sub in ("build-test", "build"):
        cand = os.path.join(SOURCE_DIR, sub, name)
        if os.access(cand, os.X_OK):
            return cand
    return None


def sluice_bin():
    """Path of the sluice binary, or None if none can be found."""
    return _find_bin("SLUICE_BIN", "sluice")


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies (e.g. a ctest timeout)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def skip_if_direct(reason="needs the proxy itself"):
    return unittest.skipIf(DIRECT, "SLUICE_DIRECT=1: " + reason)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_open(port, host=HOST, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unique_name(prefix="t"):
    return "%s_%d_%s" % (prefix, os.getpid(), secrets.token_hex(3))


# ---------------------------------------------------------------- config

def read_config_lines(path=None):
    path = path or os.path.join(SOURCE_DIR, "conf", "sluice.conf")
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


# The sandbox addresses in conf/sluice.conf, by section and key, and the port each stands for
# in another sandbox (SLUICE_SANDBOX_PORT_BASE).
_SANDBOX_ADDRESS_KEYS = {"primary": "address", "replica.r1": "address", "replica.r2": "address",
                         "pinning": "redis", "binlog": "redis"}
_SANDBOX_PORT_MAP = {DEFAULT_PORT_BASE + d: PORT_BASE + d for d in (0, 1, 2, 3073)}


def _retarget_sandbox(lines):
    """lines with the default sandbox's ports replaced by this sandbox's (PORT_BASE)."""
    if PORT_BASE == DEFAULT_PORT_BASE:
        return lines
    out, section = [], None
    for line in lines:
        m = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        if m:
            section = m.group(1).strip()
        m = re.match(r"^(\s*([A-Za-z0-9_.\-]+)\s*[=:]\s*127\.0\.0\.1:)(\d+)(\s*)$", line)
        if (m and _SANDBOX_ADDRESS_KEYS.get(section) == m.group(2)
                and int(m.group(3)) in _SANDBOX_PORT_MAP):
            line = "%s%d%s" % (m.group(1), _SANDBOX_PORT_MAP[int(m.group(3))], m.group(4))
        out.append(line)
    return out


def render_config(overrides=None, extra_users=None, base_lines=None):
    """Return sluice.conf text with overrides applied.

    overrides: {(section, key): value}; value None removes the key, and (section, None)
    the whole section; a missing
    key is appended at the end of its section, a missing section at the end.
    extra_users: {name: password} added as [user.NAME] sections.
    """
    lines = _retarget_sandbox(list(base_lines if base_lines is not None else read_config_lines()))
    overrides = dict(overrides or {})
    for user, pw in (extra_users or {}).items():
        overrides[("user." + user, "password")] = pw

    def section_spans():
        spans, cur, start = {}, None, None
        for i, line in enumerate(lines):
            m = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
            if m:
                if cur is not None:
                    spans[cur] = (start, i)
                cur, start = m.group(1).strip(), i
        if cur is not None:
            spans[cur] = (start, len(lines))
        return spans

    for (section, key), value in overrides.items():
        spans = section_spans()
        if key is None:                 # (section, None): None removes the whole section
            if section in spans:
                start, end = spans[section]
                del lines[start:end]
            continue
        if section not in spans:
            if value is None:
                continue
            if lines and lines[-1].strip():
                lines.append("")
            lines.append("[%s]" % section)
            lines.append("%s = %s" % (key, value))
            continue
        start, end = spans[section]
        found = None
        for i in range(start + 1, end):
            m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*[=:]", lines[i])
            if m and m.group(1) == key:
                found = i
                break
        if found is not None:
            if value is None:
                del lines[found]
            else:
                lines[found] = "%s = %s" % (key, value)
        elif value is not None:
            last = end
            while last - 1 > start and not lines[last - 1].strip():
                last -= 1
            lines.insert(last, "%s = %s" % (key, value))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- proxy

class Proxy:
    """A sluice process on free ports, as a context manager.

    with Proxy() as p:
        conn = p.connect(database="sluice_test")
    """

    def __init__(self, overrides=None, extra_users=None, start_timeout=10.0, env=None):
        self.overrides = dict(overrides or {})
        self.env = dict(env or {})
        self.extra_users = extra_users
        self.start_timeout = start_timeout
        self.direct = DIRECT
        self.host = HOST
        self.port = None
        self.stats_port = None
        self.pid = None
        self.proc = None
        self.tmpdir = None
        self.log_path = None
        self.conf_path = None
        self.failed = False         # set by tests (ProxyTestCase) when a case failed
        self.returncode = None
        self.stop_elapsed = None
        self.killed = False
        self._log_file = None

    # -- lifecycle
    def start(self):
        if self.direct:
            self.port = PRIMARY_PORT
            return self
        binary = sluice_bin()
        if not binary or not os.access(binary, os.X_OK):
            raise RuntimeError("sluice binary not found: set SLUICE_BIN (got %r)" % binary)
        self.port = free_port()
        self.stats_port = free_port()
        while self.stats_port == self.port:
            self.stats_port = free_port()
        ov = dict(self.overrides)
        ov.setdefault(("proxy", "listen"), "%s:%d" % (HOST, self.port))
        ov.setdefault(("stats", "listen"), "%s:%d" % (HOST, self.stats_port))
        self.tmpdir = tempfile.mkdtemp(prefix="sluice-it-")
        self.conf_path = os.path.join(self.tmpdir, "sluice.conf")
        self.log_path = os.path.join(self.tmpdir, "sluice.log")
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(render_config(ov, self.extra_users))
        env = dict(os.environ)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        env.update(self.env)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "-c", self.conf_path], stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                self.failed = True
                rc = self.proc.returncode
                self._finish(None)
                raise RuntimeError("sluice exited with status %s during startup" % rc)
            if port_open(self.port):
                return self
            if time.monotonic() > deadline:
                self.failed = True
                self.proc.kill()
                self.proc.wait()
                self._finish(None)
                raise RuntimeError("sluice did not accept TCP on port %d within %.0f s"
                                   % (self.port, self.start_timeout))
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Send sig (if still running) and wait up to timeout s; returns the exit status.

        If it does not exit in time it is killed, self.killed is set and None returned.
        """
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait()
            self.stop_elapsed = time.monotonic() - t0
        if self.killed:
            return None
        self.returncode = self.proc.returncode
        return self.returncode

    def log_text(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def print_log(self, why):
        text = self.log_text()
        if len(text) > LOG_TAIL_BYTES:
            text = "[... %d bytes cut ...]\n" % (len(text) - LOG_TAIL_BYTES) + text[-LOG_TAIL_BYTES:]
        sys.stderr.write("\n===== sluice log (%s) %s =====\n%s\n===== end of sluice log =====\n"
                         % (why, self.log_path, text))
        sys.stderr.flush()

    def check_exit(self):
        """Stop the proxy (if running) and return a list of problems."""
        problems = []
        if self.direct or self.proc is None:
            return problems
        rc = self.stop()
        if self.killed:
            problems.append("sluice did not exit within 15 s of SIGTERM (killed)")
        elif rc != 0:
            problems.append("sluice exit status %r, expected 0" % (rc,))
        bad = [l for l in self.log_text().splitlines() if SANITIZER_RE.search(l)]
        if bad:
            problems.append("sanitizer report in log: %s" % bad[0].strip())
        return problems

    def _finish(self, problems):
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        if self.direct:
            return
        if self.failed or problems:
            self.print_log("; ".join(problems) if problems else "test failed")
            sys.stderr.write("(sluice temp dir kept: %s)\n" % self.tmpdir)
        elif self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        problems = self.check_exit()
        self._finish(problems)
        if problems and exc_type is None:
            raise AssertionError("; ".join(problems))
        return False

    # -- clients
    def connect(self, **kw):
        args = dict(host=self.host, port=self.port, user=USER, password=PASSWORD,
                    charset="utf8mb4", connect_timeout=10, read_timeout=30,
                    write_timeout=30, autocommit=True)
        args.update(kw)
        return pymysql.connect(**args)


class ProxyTestCase(unittest.TestCase):
    """One fresh Proxy per test class (setUpClass/tearDownClass).

    Subclasses may set `overrides` / `extra_users`. A failing case marks the
    proxy as failed so its log is printed when the class tears down.
    """
    overrides = None
    extra_users = None
    proxy_env = None
    proxy = None
    proxy_only = False

    @classmethod
    def setUpClass(cls):
        if cls.proxy_only and DIRECT:
            raise unittest.SkipTest("SLUICE_DIRECT=1: needs the proxy itself")
        require_sandbox()
        cls.proxy = Proxy(cls.overrides, cls.extra_users, env=cls.proxy_env)
        cls.proxy.start()

    @classmethod
    def tearDownClass(cls):
        p, cls.proxy = cls.proxy, None
        if p is not None:
            problems = p.check_exit()
            p._finish(problems)
            if problems:
                raise AssertionError("; ".join(problems))

    def run(self, result=None):
        before = (len(result.failures) + len(result.errors)) if result is not None else 0
        out = super().run(result)
        res = result if result is not None else out
        if res is not None and len(res.failures) + len(res.errors) > before:
            if type(self).proxy is not None:
                type(self).proxy.failed = True
        return out

    def connect(self, **kw):
        return self.proxy.connect(**kw)


# ---------------------------------------------------------------- helpers

def require_sandbox():
    if not port_open(PRIMARY_PORT):
        raise RuntimeError("MariaDB primary not reachable on %s:%d; run scripts/sandbox.sh up"
                           % (HOST, PRIMARY_PORT))


def primary_connect(**kw):
    """Direct connection to the sandbox primary, bypassing the proxy."""
    args = dict(host=HOST, port=PRIMARY_PORT, user=USER, password=PASSWORD,
                charset="utf8mb4", connect_timeout=10, autocommit=True)
    args.update(kw)
    return pymysql.connect(**args)


def mariadb_cli(port, *args, input=None, timeout=120, text=None):
    """Run the mariadb CLI as app/app against 127.0.0.1:port."""
    if text is None:
        text = not isinstance(input, (bytes, bytearray))
    cmd = [MARIADB, "--no-defaults", "-h" + HOST, "-P%d" % port, "--protocol=TCP",
           "-u" + USER, "-p" + PASSWORD] + list(args)
    return subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, text=text)


def http_get(port, path, timeout=5.0):
    """GET http://127.0.0.1:port/path -> (status, body bytes).

    A refused connection is retried for 2 s: the stats listener may come up
    a moment after the MySQL port the harness waits for.
    """
    url = "http://%s:%d%s" % (HOST, port, path)
    deadline = time.monotonic() + 2.0
    while True:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except urllib.error.URLError as e:
            if not isinstance(e.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stats(proxy):
    status, body = http_get(proxy.stats_port, "/stats")
    if status != 200:
        raise AssertionError("/stats returned HTTP %d: %r" % (status, body[:200]))
    return json.loads(body)


def _proc_status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def rss_kb(pid):
    return _proc_status_kb(pid, "VmRSS")


def hwm_kb(pid):
    return _proc_status_kb(pid, "VmHWM")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); look at /proc
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------- read/write splitting

SERVERS = ("primary", "r1", "r2")
REPLICAS = ("r1", "r2")
SERVER_PORTS = {"primary": PRIMARY_PORT, "r1": REPLICA_PORTS[0], "r2": REPLICA_PORTS[1]}
SERVER_BY_ID = {1: "primary", 2: "r1", 3: "r2"}     # @@server_id of each sandbox server
SANDBOX_SH = os.path.join(SOURCE_DIR, "scripts", "sandbox.sh")


def server_connect(name, **kw):
    """Direct connection as app to one sandbox server: "primary", "r1" or "r2"."""
    args = dict(port=SERVER_PORTS[name])
    args.update(kw)
    return primary_connect(**args)


def sandbox_sql(name, sql, timeout=60):
    """scripts/sandbox.sh sql NAME SQL (root over the unix socket); returns stdout."""
    r = subprocess.run([SANDBOX_SH, "sql", name, sql], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("sandbox.sh sql %s %r failed (rc=%d): %s"
                           % (name, sql, r.returncode, (r.stdout + r.stderr).strip()))
    return r.stdout


def wait_until(pred, timeout=10.0, interval=0.1, what="condition"):
    """Poll pred() until it returns something truthy (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def wait_stats(proxy, pred, timeout=5.0, interval=0.05):
    """Poll /stats until pred(snapshot) is true; return the last snapshot either way."""
    deadline = time.monotonic() + timeout
    while True:
        s = stats(proxy)
        if pred(s) or time.monotonic() > deadline:
            return s
        time.sleep(interval)


def backend(snapshot, name):
    """The backends[] entry called name in a /stats snapshot."""
    for b in snapshot.get("backends", []):
        if b.get("name") == name:
            return b
    raise AssertionError("no backend %r in /stats: %r" % (name, snapshot.get("backends")))


def backend_state(proxy, name):
    return backend(stats(proxy), name).get("state")


def replica_status(name):
    """SHOW SLAVE STATUS of replica name as a dict ({} if not configured)."""
    with server_connect(name, cursorclass=pymysql.cursors.DictCursor) as c, c.cursor() as cur:
        cur.execute("SHOW SLAVE STATUS")
        return cur.fetchone() or {}


def replica_running(name):
    try:
        st = replica_status(name)
    except pymysql.err.Error:
        return False
    return st.get("Slave_IO_Running") == "Yes" and st.get("Slave_SQL_Running") == "Yes"


def wait_replicas_caught_up(timeout=30.0, replicas=REPLICAS):
    """Wait until every replica has applied everything the primary has binlogged so far."""
    with primary_connect() as c, c.cursor() as cur:
        cur.execute("SELECT @@gtid_binlog_pos")
        pos = cur.fetchone()[0]
    for name in replicas:
        with server_connect(name, read_timeout=timeout + 10) as c, c.cursor() as cur:
            cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (pos, timeout))
            if cur.fetchone()[0] != 0:
                raise AssertionError("%s did not reach the primary's GTID %s within %.0f s (%r)"
                                     % (name, pos, timeout, replica_status(name)))


class WhereMarker:
    """A table whose row id=1 differs on each server, so a read names the server it ran on.

    Created on the primary (it replicates); each server then gets its own row with
    sql_log_bin=0, which keeps replication intact. `drop()` on the primary removes it
    everywhere.

        m = WhereMarker(); m.create()
        cur.execute(m.select)    # -> ("primary",) or ("r1",) or ("r2",)
    """

    def __init__(self, db=TEST_DB, name=None):
        self.db = db
        self.name = name or "where_marker_%d" % os.getpid()
        self.table = "`%s`.`%s`" % (db, self.name)
        self.select = "SELECT server FROM %s WHERE id=1" % self.table

    def create(self, timeout=30.0):
        with primary_connect() as c, c.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS `%s`" % self.db)
            cur.execute("DROP TABLE IF EXISTS %s" % self.table)
            cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, server VARCHAR(16))" % self.table)
        wait_replicas_caught_up(timeout)
        for name in SERVERS:
            with server_connect(name) as c, c.cursor() as cur:
                cur.execute("SET SESSION sql_log_bin=0")
                cur.execute("REPLACE INTO %s VALUES (1, %%s)" % self.table, (name,))
        got = self.check()
        if got != {n: n for n in SERVERS}:
            raise AssertionError("where marker not set up as expected: %r" % got)
        return self

    def check(self):
        """{server: what the marker select answers there}, straight from each server."""
        out = {}
        for name in SERVERS:
            with server_connect(name) as c, c.cursor() as cur:
                cur.execute(self.select)
                row = cur.fetchone()
                out[name] = row[0] if row else None
        return out

    def drop(self):
        with primary_connect() as c, c.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS %s" % self.table)


# ---------------------------------------------------------------- sysbench

def sysbench(tc, workload, port, db, command, *extra, tables=2, table_size=1000, timeout=120):
    """Runs `sysbench WORKLOAD ... COMMAND` as app against port; fails tc unless it exits 0
    without a FATAL line. Returns its output."""
    cmd = ["sysbench", workload, "--db-driver=mysql", "--mysql-host=127.0.0.1",
           "--mysql-port=%d" % port, "--mysql-user=app", "--mysql-password=app",
           "--mysql-db=%s" % db, "--tables=%d" % tables, "--table-size=%d" % table_size]
    r = subprocess.run(cmd + list(extra) + [command], capture_output=True, text=True,
                       timeout=timeout)
    out = r.stdout + r.stderr
    tc.assertEqual(r.returncode, 0, "sysbench %s failed (rc=%d):\n%s" % (command, r.returncode, out))
    tc.assertNotIn("FATAL", out, out)
    return out


def sysbench_stat(out, name):
    """A counter from sysbench's report, e.g. "errors" or "reconnects"."""
    m = re.search(r"^\s*%s:\s+(\d+)" % re.escape(name), out, re.M)
    if not m:
        raise AssertionError("no %r in sysbench output:\n%s" % (name, out))
    return int(m.group(1))


# ---------------------------------------------------------------- Redis and the binlog tailer

class RedisError(Exception):
    pass


class Redis:
    """Just enough RESP2 for the tests (no redis-py on this machine)."""

    def __init__(self, port=None):
        self.sock = socket.create_connection((HOST, port or REDIS_PORT), timeout=10)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError("bad reply %r" % line)

    def delete_prefix(self, prefix):
        cursor = "0"
        while True:
            cursor, keys = self.cmd("SCAN", cursor, "MATCH", prefix + ":*", "COUNT", 1000)
            if keys:
                self.cmd("DEL", *keys)
            if cursor == "0":
                return


def binlog_bin():
    """The sluice-binlog binary (SLUICE_BINLOG_BIN, else build*/sluice-binlog), or None."""
    return _find_bin("SLUICE_BINLOG_BIN", "sluice-binlog")


def seq_of(position, domain=0):
    """The sequence number of domain in a GTID position ("0-1-100,1-2-7"); 0 if absent."""
    for g in (position or "").split(","):
        if g.strip():
            d, _, n = g.strip().split("-")
            if int(d) == domain:
                return int(n)
    return 0


def primary_seq():
    with primary_connect() as c, c.cursor() as cur:
        cur.execute("SELECT @@gtid_binlog_pos")
        return seq_of(cur.fetchone()[0])


def wait_checkpoint(r, prefix, seq, timeout=30):
    wait_until(lambda: seq_of(r.cmd("GET", prefix + ":binlog:checkpoint")) >= seq,
               timeout=timeout, interval=0.05, what="the checkpoint to reach %d" % seq)


class Tailer:
    """sluice-binlog on a config of its own: key prefix, stats port, lease, and overrides."""

    def __init__(self, prefix, overrides=None, lease_ms=600):
        self.prefix = prefix
        self.stats_port = free_port()
        ov = {("pinning", "prefix"): prefix,
              ("binlog", "stats_listen"): "%s:%d" % (HOST, self.stats_port),
              ("binlog", "lease_ms"): str(lease_ms),
              ("binlog", "stream_maxlen"): "10000000"}
        ov.update(overrides or {})
        self.dir = tempfile.mkdtemp(prefix="sluice-binlog-it-")
        self.conf = os.path.join(self.dir, "sluice.conf")
        with open(self.conf, "w") as f:
            f.write(render_config(ov))
        self.log_path = os.path.join(self.dir, "tailer.log")
        self.proc = None
        self.log = None

    def start(self):
        """Starts it and waits for its /health (not for it to lead: see wait_leader)."""
        env = dict(os.environ)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([binlog_bin(), "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                     preexec_fn=_die_with_parent)
        wait_until(lambda: self.proc.poll() is not None or self.health(), timeout=15,
                   what="the tailer's /health")
        if self.proc.poll() is not None:
            raise AssertionError("sluice-binlog exited (%s):\n%s" % (self.proc.returncode,
                                                                      self.text()))
        return self

    def health(self):
        try:
            return http_get(self.stats_port, "/health", timeout=1)[0] == 200
        except OSError:
            return False

    def stats(self):
        status, body = http_get(self.stats_port, "/stats")
        assert status == 200, body
        return json.loads(body)

    def leading(self):
        """It holds the lease and streams from the primary."""
        try:
            s = self.stats()
        except (OSError, ValueError, AssertionError):
            return False
        return s.get("role") == "leader" and s.get("primary_up")

    def wait_leader(self, timeout=10):
        wait_until(lambda: self.proc.poll() is not None or self.leading(), timeout=timeout,
                   interval=0.05, what="the tailer to lead and stream")
        if self.proc.poll() is not None:
            raise AssertionError("sluice-binlog exited (%s):\n%s" % (self.proc.returncode,
                                                                      self.text()))

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self):
        """SIGTERM; returns a list of problems (exit status, sanitizer reports)."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append("did not exit within 10 s of SIGTERM")
            if self.proc.returncode not in (0, None) and not problems:
                problems.append("exit status %s" % self.proc.returncode)
        if self.log and not self.log.closed:
            self.log.close()
        bad = [l for l in self.text().splitlines() if SANITIZER_RE.search(l)]
        if bad:
            problems.append("sanitizer: " + bad[0])
        return problems

    def text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""
