#!/usr/bin/python3
"""Big results and big packets: ~1 GB streamed in bounded memory, 16 MiB packet edges.

In SLUICE_DIRECT=1 mode only the byte counts and contents are checked.
"""

import hashlib
import os
import select
import subprocess
import time
import unittest

import harness
from harness import TEST_DB

MiB = 1024 * 1024
MAX_PAYLOAD = 0xFFFFFF          # a payload of exactly this size is followed by an empty packet
HWM_BUDGET_KB = 64 * 1024
STALL_S = 20                    # a result stream with no byte for this long has hung


class BigResultTest(harness.ProxyTestCase):
    # ASan keeps freed blocks in a quarantine (256 MB by default), which would
    # show up as resident memory that the proxy does not really hold.
    proxy_env = {"ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""),
                                                         "quarantine_size_mb=8"]))}

    def hwm(self):
        return None if harness.DIRECT else harness.hwm_kb(self.proxy.pid)

    def assert_hwm_growth(self, before, what):
        if before is None:
            return
        after = self.hwm()
        grew = after - before
        self.assertLess(grew, HWM_BUDGET_KB, "%s: proxy VmHWM grew by %d MB (%d -> %d kB)"
                        % (what, grew // 1024, before, after))

    def stream_cli(self, sql, expect, rate_limit=None):
        """Run mariadb --quick -N through the proxy, count stdout bytes; returns (bytes, x_count)."""
        cmd = [harness.MARIADB, "--no-defaults", "-h" + harness.HOST, "-P%d" % self.proxy.port,
               "--protocol=TCP", "-u" + harness.USER, "-p" + harness.PASSWORD, "-D", TEST_DB,
               "--max-allowed-packet=64M", "--quick", "-N", "-B", "-e", sql]
        total = xs = 0
        t0 = last = time.monotonic()
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as p:
            fd = p.stdout.fileno()
            while True:
                ready, _, _ = select.select([fd], [], [], 1.0)
                if not ready:
                    if time.monotonic() - last > STALL_S:
                        p.kill()
                        self.fail("result stream stalled: no byte for %d s after %d of %d bytes"
                                  % (STALL_S, total, expect))
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                last = time.monotonic()
                total += len(chunk)
                xs += chunk.count(b"x")
                if rate_limit:
                    # slow consumer: stay under rate_limit bytes/s
                    ahead = total / rate_limit - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
            err = p.stderr.read()
            rc = p.wait()
        self.assertEqual(rc, 0, "mariadb failed: %s" % err.decode(errors="replace"))
        return total, xs

    def test_01_one_gigabyte_stream(self):
        before = self.hwm()
        rows = 1024
        t0 = time.monotonic()
        total, xs = self.stream_cli("SELECT REPEAT('x', 1048576) FROM seq_1_to_%d" % rows,
                                    rows * (MiB + 1))
        dt = time.monotonic() - t0
        self.assertEqual(total, rows * (MiB + 1))
        self.assertEqual(xs, rows * MiB)
        self.assert_hwm_growth(before, "1 GB result (%.1f s)" % dt)

    def test_02_slow_consumer(self):
        # the client reads at ~40 MB/s: the proxy must stop reading the backend, not buffer
        before = self.hwm()
        rows = 256
        total, xs = self.stream_cli("SELECT REPEAT('x', 1048576) FROM seq_1_to_%d" % rows,
                                    rows * (MiB + 1), rate_limit=40 * MiB)
        self.assertEqual(total, rows * (MiB + 1))
        self.assert_hwm_growth(before, "256 MB result to a slow client")

    def test_03_single_20mb_row(self):
        n = 20 * MiB
        with self.connect(max_allowed_packet=64 * MiB) as c, c.cursor() as cur:
            cur.execute("SELECT REPEAT('z', %s), 'after', %s", (n, n))
            big, after, nn = cur.fetchone()
            self.assertEqual((len(big), after, nn), (n, "after", n))
            self.assertEqual(big.count("z"), n)
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone()[0], 1)

    def test_04_row_packets_at_16mb_boundary(self):
        # a row packet holding one string of L bytes is 4 + L bytes (0xfd + 3-byte length)
        with self.connect(max_allowed_packet=64 * MiB) as c, c.cursor() as cur:
            for payload in (MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2 * MAX_PAYLOAD,
                            2 * MAX_PAYLOAD + 1):
                n = payload - (4 if payload - 4 < (1 << 24) else 9)
                with self.subTest(row_payload=payload):
                    cur.execute("SELECT REPEAT('b', %s)" % n)
                    (v,) = cur.fetchone()
                    self.assertEqual(len(v), n)
                    cur.execute("SELECT %s" % payload)
                    self.assertEqual(cur.fetchone()[0], payload, "session out of step after the row")

    def test_05_query_text_20mb(self):
        want = "q" * (20 * MiB - 7) + "🚀'\"\\x"
        literal = want.replace("\\", "\\\\").replace("'", "\\'")
        with self.connect(max_allowed_packet=64 * MiB) as c, c.cursor() as cur:
            cur.execute("SELECT LENGTH('%s'), MD5('%s'), 'tail'" % (literal, literal))
            length, md5, tail = cur.fetchone()
            self.assertEqual(length, len(want.encode()))
            self.assertEqual(md5, hashlib.md5(want.encode()).hexdigest())
            self.assertEqual(tail, "tail")
            cur.execute("SELECT 2")
            self.assertEqual(cur.fetchone()[0], 2)

    def test_06_query_packets_at_16mb_boundary(self):
        # COM_QUERY payload = 1 + len(sql); exactly 0xFFFFFF needs a trailing empty packet
        base = "SELECT LENGTH('')"
        with self.connect(max_allowed_packet=64 * MiB) as c, c.cursor() as cur:
            for payload in (MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2 * MAX_PAYLOAD):
                n = payload - 1 - len(base)
                sql = "SELECT LENGTH('%s')" % ("a" * n)
                self.assertEqual(1 + len(sql), payload)
                with self.subTest(query_payload=payload):
                    cur.execute(sql)
                    self.assertEqual(cur.fetchone()[0], n)
                    cur.execute("SELECT 3")
                    self.assertEqual(cur.fetchone()[0], 3, "session out of step after the query")


if __name__ == "__main__":
    unittest.main(verbosity=2)
