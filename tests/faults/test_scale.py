#!/usr/bin/python3
"""Connection scale (issue 8): 10 000 concurrent client connections through one Sluice, each
logged in as app (greeting, HandshakeResponse41 with a mysql_native_password token, OK) and
then idle, with a few pymysql clients querying meanwhile. Reports Sluice's RSS and fd count
per idle connection; fails if a login fails, an active query errs, or Sluice dies.

The idle clients are raw non-blocking sockets driven by one epoll loop (what an idle client
costs Sluice is its socket and session, not a client library). RLIMIT_NOFILE is raised in
this process, and Sluice, started by the harness, inherits it.

Environment: SLUICE_SCALE_CONNS (default 10000), plus harness.py's.
"""

import hashlib
import os
import resource
import selectors
import socket
import struct
import threading
import time
import unittest

import faultlib
from faultlib import harness, report

CONNS = int(os.environ.get("SLUICE_SCALE_CONNS", "10000"))
ACTIVE = 4
SETTLE_S = 2.0

CLIENT_LONG_PASSWORD = 0x1
CLIENT_PROTOCOL_41 = 0x200
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
CAPS = (CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
        | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH)


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(need, hard)
                                                    if hard != resource.RLIM_INFINITY else hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def native_token(password, scramble):
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(scramble + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


def handshake_response(greeting):
    """HandshakeResponse41 for a HandshakeV10 payload (login as app, no database)."""
    p = greeting
    if p[0] != 10:
        raise ValueError("not a HandshakeV10: %r" % p[:16])
    i = p.index(b"\0", 1) + 1 + 4                      # server version, connection id
    part1 = p[i:i + 8]
    i += 8 + 1 + 2 + 1 + 2 + 2                          # filler, caps, charset, status, caps
    auth_len = p[i]
    i += 1 + 10
    part2 = p[i:i + max(13, auth_len - 8)]
    scramble = (part1 + part2)[:20]
    body = struct.pack("<IIB23x", CAPS, 16 * 1024 * 1024, 45)
    token = native_token(harness.PASSWORD, scramble)
    body += harness.USER.encode() + b"\0" + bytes([len(token)]) + token
    body += b"mysql_native_password\0"
    return struct.pack("<I", len(body))[:3] + b"\x01" + body


class Idle:
    """Opens n logged-in idle connections with one selector loop."""

    def __init__(self, port):
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.failed = []

    def open(self, n, batch=250, timeout=60):
        deadline = time.monotonic() + timeout
        done = 0
        while done < n:
            k = min(batch, n - done)
            pending = {}
            for _ in range(k):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex((harness.HOST, self.port))
                pending[s.fileno()] = [s, b"", "greeting"]
                self.sel.register(s, selectors.EVENT_READ)
            while pending:
                if time.monotonic() > deadline:
                    states = {}
                    for st in pending.values():
                        states[st[2]] = states.get(st[2], 0) + 1
                    raise AssertionError("%d logins still pending after %d s (%d done): %r"
                                         % (len(pending), timeout, len(self.socks), states))
                for key, _ in self.sel.select(1.0):
                    st = pending.get(key.fd)
                    if st is None:
                        continue
                    s = st[0]
                    try:
                        data = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError as e:
                        data, st[2] = b"", "error %s" % e
                    if not data:
                        self._drop(pending, key.fd, st[2] if st[2].startswith("error")
                                   else "closed during " + st[2])
                        continue
                    st[1] += data
                    if len(st[1]) < 4 or len(st[1]) < 4 + int.from_bytes(st[1][:3], "little"):
                        continue
                    payload = st[1][4:4 + int.from_bytes(st[1][:3], "little")]
                    st[1] = b""
                    if st[2] == "greeting":
                        if payload[0] == 0xFF:
                            self._drop(pending, key.fd, "greeting ERR %r" % payload[:80])
                            continue
                        s.setblocking(True)
                        s.sendall(handshake_response(payload))
                        s.setblocking(False)
                        st[2] = "login"
                    elif payload[0] == 0x00:
                        self.sel.unregister(s)
                        self.socks.append(s)
                        del pending[key.fd]
                    else:
                        self._drop(pending, key.fd, "login reply %r" % payload[:80])
            done += k
        return len(self.socks)

    def _drop(self, pending, fd, why):
        s = pending.pop(fd)[0]
        self.sel.unregister(s)
        s.close()
        self.failed.append(why)

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []
        self.sel.close()


class ScaleTest(unittest.TestCase):
    def test_10k_idle_connections(self):
        nofile = raise_nofile(2 * CONNS + 1000)
        if nofile < CONNS + 500:
            self.skipTest("RLIMIT_NOFILE %d too low for %d connections" % (nofile, CONNS))
        ov = {("proxy", "max_connections"): str(2 * CONNS),
              ("proxy", "log_level"): "warn"}
        with harness.Proxy(ov, start_timeout=20) as proxy:
            pid = proxy.pid
            with proxy.connect() as c, c.cursor() as cur:
                cur.execute("SELECT 1")
            time.sleep(0.5)
            rss0, fds0 = harness.rss_kb(pid), len(os.listdir("/proc/%d/fd" % pid))

            stop = threading.Event()
            active = {"queries": 0, "errors": [], "max_latency": 0.0}
            lock = threading.Lock()

            def querier():
                try:
                    conn = proxy.connect(database=harness.TEST_DB)
                except Exception as e:  # noqa: BLE001
                    with lock:
                        active["errors"].append(repr(e))
                    return
                with conn:
                    while not stop.is_set():
                        t0 = time.monotonic()
                        try:
                            with conn.cursor() as cur:
                                cur.execute("SELECT COUNT(*) FROM information_schema.schemata")
                                cur.fetchall()
                        except Exception as e:  # noqa: BLE001
                            with lock:
                                active["errors"].append(repr(e))
                            return
                        with lock:
                            active["queries"] += 1
                            active["max_latency"] = max(active["max_latency"],
                                                        time.monotonic() - t0)
                        time.sleep(0.01)

            threads = [threading.Thread(target=querier, daemon=True) for _ in range(ACTIVE)]
            for t in threads:
                t.start()
            idle = Idle(proxy.port)
            try:
                t0 = time.monotonic()
                n = idle.open(CONNS)
                login_s = time.monotonic() - t0
                time.sleep(SETTLE_S)
                self.assertTrue(proxy.alive(), "sluice died holding %d connections" % n)
                rss1, fds1 = harness.rss_kb(pid), len(os.listdir("/proc/%d/fd" % pid))
                conns_stat = harness.stats(proxy).get("connections")
            finally:
                stop.set()
                for t in threads:
                    t.join(30)
                idle.close()
            time.sleep(SETTLE_S)
            rss2, fds2 = harness.rss_kb(pid), len(os.listdir("/proc/%d/fd" % pid))
            fields = dict(connections=n, failed=len(self.failed_sample(idle)),
                          login_s=round(login_s, 1), logins_per_s=round(n / login_s),
                          rss_base_kib=rss0, rss_held_kib=rss1, rss_closed_kib=rss2,
                          rss_per_conn_kib=round((rss1 - rss0) / max(1, n), 2),
                          fds_base=fds0, fds_held=fds1, fds_closed=fds2,
                          active_queries=active["queries"], active_errors=len(active["errors"]),
                          active_max_latency_s=round(active["max_latency"], 2),
                          stats_connections=conns_stat)
            report("scale_%d" % CONNS, fields)
        self.assertEqual(idle.failed, [], "%d logins failed, e.g. %r"
                         % (len(idle.failed), idle.failed[:3]))
        self.assertEqual(n, CONNS)
        self.assertEqual(active["errors"], [])
        self.assertGreater(active["queries"], 0)
        self.assertLess(fds2, fds0 + 50, "fds not released after the clients closed")

    @staticmethod
    def failed_sample(idle):
        return idle.failed


if __name__ == "__main__":
    unittest.main(verbosity=2)
