#!/usr/bin/python3
"""The body of bench/binlog.sh (see there)."""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from test_binlog import Redis, primary_seq, seq_of  # noqa: E402

BIN = os.environ.get("SLUICE_BINLOG_BIN", os.path.join(ROOT, "build", "sluice-binlog"))


def stats(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/stats" % port, timeout=5) as r:
        return json.loads(r.read())


def start_tailer(prefix, tmp):
    port = harness.free_port()
    conf = os.path.join(tmp, "sluice.conf")
    with open(conf, "w") as f:
        f.write(harness.render_config({("pinning", "prefix"): prefix,
                                       ("binlog", "stats_listen"): "127.0.0.1:%d" % port}))
    log = open(os.path.join(tmp, "tailer.log"), "wb")
    proc = subprocess.Popen([BIN, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    harness.wait_until(lambda: proc.poll() is not None or harness.port_open(port), timeout=15,
                       what="the tailer's stats port")
    if proc.poll() is not None:
        sys.exit("sluice-binlog exited; log in %s" % tmp)
    harness.wait_until(lambda: stats(port)["role"] == "leader" and stats(port)["primary_up"],
                       timeout=15, what="the tailer to stream")
    return proc, port


def wait_caught_up(r, prefix, timeout=600):
    want = primary_seq()
    harness.wait_until(lambda: seq_of(r.cmd("GET", prefix + ":binlog:checkpoint")) >= want,
                       timeout=timeout, interval=0.01, what="the tailer to catch up")


def latency(r, prefix, db, n):
    """ms from each single-row commit's OK to its stream entry."""
    stream = prefix + ":inval"
    out = []
    with harness.primary_connect(database=db) as c, c.cursor() as cur:
        for i in range(1, n + 1):
            last = (r.cmd("XREVRANGE", stream, "+", "-", "COUNT", 1) or [["0-0"]])[0][0]
            cur.execute("UPDATE lat SET v = v + 1 WHERE id = %s", (i,))
            t0 = time.perf_counter()
            want = "%s.lat:%d" % (db, i)
            while True:
                reply = r.cmd("XREAD", "BLOCK", 2000, "STREAMS", stream, last)
                if not reply:
                    sys.exit("no stream entry within 2 s of commit %d" % i)
                found = False
                for eid, flat in reply[0][1]:
                    last = eid
                    found |= want in flat[1::2]
                if found:
                    out.append((time.perf_counter() - t0) * 1000)
                    break
    return out


def throughput(port, db, rows):
    """Row images decoded per second while the tailer reads one UPDATE of rows rows."""
    before = stats(port)["rows"]
    target = before + 2 * rows  # an UPDATE logs a before and an after image per row
    with harness.primary_connect(database=db, read_timeout=600) as c, c.cursor() as cur:
        cur.execute("UPDATE big SET v = v + 1")
    first = last = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        s = stats(port)["rows"]
        now = time.perf_counter()
        if s > before and first is None:
            first = (now, s)
        if s >= target:
            last = (now, s)
            break
        time.sleep(0.005)
    if not first or not last or last[0] <= first[0]:
        sys.exit("could not observe the decode (rows %s -> %s)" % (before, stats(port)["rows"]))
    return (last[1] - first[1]) / (last[0] - first[0]), last[0] - first[0]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=1000000)
    a = ap.parse_args()
    if not os.access(BIN, os.X_OK):
        print("sluice-binlog not found at %s (set SLUICE_BINLOG_BIN)" % BIN)
        return 2
    harness.require_sandbox()
    prefix = "sluicebench%d_%s" % (os.getpid(), secrets.token_hex(3))
    db = "binlog_bench_%d" % os.getpid()
    tmp = tempfile.mkdtemp(prefix="sluice-binlog-bench-")
    r = Redis()
    with harness.primary_connect() as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS " + db)
        cur.execute("USE " + db)
        cur.execute("CREATE OR REPLACE TABLE lat (id INT PRIMARY KEY, v INT)")
        cur.execute("INSERT INTO lat SELECT seq, 0 FROM seq_1_to_%d" % a.commits)
        cur.execute("CREATE OR REPLACE TABLE big (id INT PRIMARY KEY, v INT)")
        cur.execute("INSERT INTO big SELECT seq, 0 FROM seq_1_to_%d" % a.rows)
    proc, port = start_tailer(prefix, tmp)
    try:
        wait_caught_up(r, prefix)
        lat = latency(r, prefix, db, a.commits)
        wait_caught_up(r, prefix)
        rate, secs = throughput(port, db, a.rows)
        s = stats(port)
    finally:
        proc.terminate()
        proc.wait()
        r.delete_prefix(prefix)
        r.close()
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS " + db)
        shutil.rmtree(tmp, ignore_errors=True)
    p50, p99 = pct(lat, 50), pct(lat, 99)
    print("sluice-binlog benchmark (%s)" % BIN)
    print("| measure | value | target |")
    print("|---|---|---|")
    print("| commit-to-publish p50, %d single-row commits | %.2f ms | |" % (a.commits, p50))
    print("| commit-to-publish p99 | %.2f ms | < 5 ms: %s |" % (p99, "met" if p99 < 5 else "MISSED"))
    print("| commit-to-publish max | %.2f ms | |" % max(lat))
    print("| decode, UPDATE of %d rows (%d images) | %.0f row images/s (%.0f rows/s, %.2f s) "
          "| >= 200 000 rows/s: %s |" % (a.rows, 2 * a.rows, rate, rate / 2, secs,
                                         "met" if rate / 2 >= 200000 else "MISSED"))
    print("| tailer publish latency buckets (ms: count) | %s | |"
          % ", ".join("%s: %d" % (b["le_ms"], b["count"]) for b in s["publish_latency"]
                      if b["count"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
