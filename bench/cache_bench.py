#!/usr/bin/python3
"""The body of bench/cache.sh (see there and bench/README.md)."""

import argparse
import os
import re
import secrets
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))
os.environ.setdefault("SLUICE_BINLOG_BIN", os.path.join(ROOT, "build", "sluice-binlog"))

import harness  # noqa: E402
from harness import Redis, stats  # noqa: E402

DB = "sbcache"
HOST = "127.0.0.1"
PS_MODES = ("disable", "auto")
CACHE_COUNTERS = ("hits", "local_hits", "misses", "fills", "fills_skipped",
                  "stale_fills_rejected", "waits")


def log(*a):
    print("==", *a, flush=True)


def sysbench(port, command, a, extra=(), seconds=None, ps_mode="disable", timeout=None):
    cmd = ["sysbench", "oltp_point_select", "--db-driver=mysql", "--mysql-host=" + HOST,
           "--mysql-port=%d" % port, "--mysql-user=app", "--mysql-password=app",
           "--mysql-db=" + DB, "--tables=1", "--table-size=%d" % a.table_size]
    if command == "run":
        cmd += ["--threads=%d" % a.threads, "--time=%d" % seconds, "--db-ps-mode=" + ps_mode,
                "--report-interval=0", "--percentile=95", "--mysql-ignore-errors=none"]
    cmd += list(extra) + [command]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=timeout or (seconds or 0) + 300)
    out = r.stdout + r.stderr
    if r.returncode != 0 or "FATAL" in out:
        raise RuntimeError("sysbench %s on port %d failed (rc=%d):\n%s"
                           % (command, port, r.returncode, out[-3000:]))
    return out


def qps_p95(out):
    q = re.search(r"^\s*queries:\s+\d+\s+\(([\d.]+) per sec", out, re.M)
    p = re.search(r"95th percentile:\s+([\d.]+)", out)
    return (float(q.group(1)) if q else None), (float(p.group(1)) if p else None)


def prepare(a):
    with harness.primary_connect() as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS " + DB)
        try:
            cur.execute("SELECT COUNT(*) FROM %s.sbtest1" % DB)
            have = cur.fetchone()[0]
        except Exception:  # noqa: BLE001 - no table yet
            have = -1
    if have != a.table_size:
        log("preparing %s.sbtest1 (%d rows) on the primary" % (DB, a.table_size))
        if have >= 0:
            sysbench(harness.PRIMARY_PORT, "cleanup", a, timeout=120)
        sysbench(harness.PRIMARY_PORT, "prepare", a, timeout=600)
    with harness.primary_connect(database=DB) as c, c.cursor() as cur:
        cur.execute("CREATE OR REPLACE TABLE lat (id INT PRIMARY KEY, v INT NOT NULL)")
        cur.execute("INSERT INTO lat SELECT seq, 0 FROM seq_1_to_%d" % (2 * a.commits))
    harness.wait_replicas_caught_up(timeout=600)


def cache_conf(prefix, **cache):
    o = {("pinning", "prefix"): prefix, ("cache", "enabled"): "true",
         ("cache", "tables"): DB + ".*"}
    o.update({("cache", k): str(v) for k, v in cache.items()})
    return o


def delta(before, after):
    b, c = before.get("cache", {}), after.get("cache", {})
    return {k: c.get(k, 0) - b.get(k, 0) for k in CACHE_COUNTERS if isinstance(c.get(k), int)}


def throughput(a, targets, res):
    """Fills res: {(ps_mode, target): (qps, p95, cache delta or None)}."""
    for mode in PS_MODES:
        for name, port, proxy in targets:
            log("%s, --db-ps-mode=%s: warm-up %d s, run %d s" % (name, mode, a.warmup, a.time))
            try:
                if a.warmup:
                    sysbench(port, "run", a, seconds=a.warmup, ps_mode=mode)
                if proxy and not proxy.alive():
                    raise RuntimeError("%s is not running any more" % name)
                before = stats(proxy) if proxy else None
                out = sysbench(port, "run", a, seconds=a.time, ps_mode=mode)
                after = stats(proxy) if proxy else None
            except RuntimeError as e:
                print(str(e), file=sys.stderr)
                res[(mode, name)] = (None, None, None)
                continue
            q, p = qps_p95(out)
            d = delta(before, after) if proxy and after.get("cache") else None
            res[(mode, name)] = (q, p, d)
            log("   qps %s p95 %s ms%s" % (q, p, "" if d is None else ", cache %s" % d))


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def entry_keys(r, prefix):
    keys, cursor = set(), "0"
    while True:
        cursor, batch = r.cmd("SCAN", cursor, "MATCH", prefix + ":c:e:*", "COUNT", 1000)
        keys.update(batch)
        if cursor == "0":
            return keys


class WriteLoad:
    """Direct UPDATEs on the primary (around Sluice) of random sbtest1 rows at a given rate: the
    tailer has other transactions to decode and invalidate while the latency is measured."""

    def __init__(self, a, threads=2):
        self.a = a
        self.stop = threading.Event()
        self.count = 0
        self.errors = 0
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]
        self.rate = a.write_rate / max(1, threads)

    def run(self, idx):
        import random
        rng = random.Random(idx)
        with harness.primary_connect(database=DB) as c, c.cursor() as cur:
            nxt = time.monotonic()
            while not self.stop.is_set():
                try:
                    cur.execute("UPDATE sbtest1 SET k = k + 1 WHERE id = %d"
                                % rng.randint(1, self.a.table_size))
                    self.count += 1
                except Exception:  # noqa: BLE001
                    self.errors += 1
                nxt += 1.0 / self.rate
                time.sleep(max(0.0, nxt - time.monotonic()))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(10)


def invalidation_latency(a, proxy, prefix):
    """ms from each single-row commit's OK on the primary to (1) its cache entry gone from Redis,
    (2) the first read through Sluice that returns the new value."""
    r = Redis()
    gone, fresh, lost = [], [], 0
    try:
        with WriteLoad(a) as load, proxy.connect(database=DB) as sc, sc.cursor() as scur, \
                harness.primary_connect(database=DB) as pc, pc.cursor() as pcur:
            # (1) the entry in Redis, rows 1..commits
            for i in range(1, a.commits + 1):
                sql = "SELECT id, v FROM lat WHERE id = %d" % i
                before = entry_keys(r, prefix)
                scur.execute(sql)
                scur.fetchall()
                key = None
                deadline = time.monotonic() + 2
                while key is None and time.monotonic() < deadline:
                    new = entry_keys(r, prefix) - before
                    key = new.pop() if len(new) == 1 else None
                    if key is None:
                        time.sleep(0.002)
                if key is None:
                    lost += 1
                    continue
                pcur.execute("UPDATE lat SET v = v + 1 WHERE id = %d" % i)
                t0 = time.perf_counter()
                while r.cmd("EXISTS", key):
                    if time.perf_counter() - t0 > 5:
                        raise RuntimeError("entry %s still there 5 s after the commit" % key)
                gone.append((time.perf_counter() - t0) * 1000)
            # (2) a read through Sluice, rows commits+1..2*commits (filled, then hit once)
            for i in range(a.commits + 1, 2 * a.commits + 1):
                sql = "SELECT v FROM lat WHERE id = %d" % i
                for _ in range(3):
                    scur.execute(sql)
                    old = scur.fetchone()[0]
                    time.sleep(0.002)
                pcur.execute("UPDATE lat SET v = v + 1 WHERE id = %d" % i)
                t0 = time.perf_counter()
                while True:
                    scur.execute(sql)
                    if scur.fetchone()[0] != old:
                        break
                    if time.perf_counter() - t0 > 5:
                        raise RuntimeError("row %d still stale through Sluice 5 s after the "
                                           "commit" % i)
                fresh.append((time.perf_counter() - t0) * 1000)
        writes = load.count
    finally:
        r.close()
    return gone, fresh, lost, writes


def start_tailer(prefix, server_id_base):
    """A sluice-binlog invalidating the cache under prefix, leading (a replica server id of its
    own: two tailers with one id make the primary drop one of them)."""
    tailer = harness.Tailer(prefix, {("cache", "enabled"): "true", ("binlog", "server_id"):
                                     str(server_id_base + os.getpid() % 10000)}).start()
    tailer.wait_leader(timeout=15)
    return tailer


def stop_tailer(tailer):
    problems = tailer.stop()
    if problems:
        print("sluice-binlog: %s" % "; ".join(problems), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", type=int, default=20, help="seconds per measured run (20)")
    ap.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per run (5)")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--table-size", type=int, default=10000)
    ap.add_argument("--commits", type=int, default=300,
                    help="single-row commits per invalidation latency measure (300)")
    ap.add_argument("--write-rate", type=float, default=200,
                    help="background direct UPDATEs per second during the latency runs (200)")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    a = ap.parse_args()
    for b in (os.environ["SLUICE_BIN"], os.environ["SLUICE_BINLOG_BIN"]):
        if not os.access(b, os.X_OK):
            print("cache.sh: %s not found (set SLUICE_BIN / SLUICE_BINLOG_BIN)" % b)
            return 2
    try:
        harness.require_sandbox()
    except RuntimeError as e:
        print("cache.sh: %s" % e)
        return 2
    tag = "%d_%s" % (os.getpid(), secrets.token_hex(2))
    pfx_tp, pfx_lat = "sluicebenchc%s" % tag, "sluicebenchl%s" % tag
    prepare(a)
    lines = []
    notes = []
    res = {}
    lat = None
    r = Redis()
    try:
        if not a.skip_throughput:
            # the cache stands aside without a sluice-binlog holding its lease
            tailer = start_tailer(pfx_tp, 33000)
            try:
                with harness.Proxy({("cache", "enabled"): "false"}) as nocache, \
                        harness.Proxy(cache_conf(pfx_tp, local_mb=0)) as redis_only, \
                        harness.Proxy(cache_conf(pfx_tp)) as cached:
                    for p in (redis_only, cached):
                        harness.wait_until(lambda: stats(p)["cache"]["tailer"] == "up",
                                           timeout=20, what="cache.tailer up")
                    targets = [("direct_primary", harness.PRIMARY_PORT, None),
                               ("direct_replica", harness.REPLICA_PORTS[0], None),
                               ("sluice_nocache", nocache.port, nocache),
                               ("sluice_cache_redis", redis_only.port, redis_only),
                               ("sluice_cache", cached.port, cached)]
                    throughput(a, targets, res)
            except (AssertionError, RuntimeError) as e:
                notes.append("# a Sluice instance failed during the throughput runs: %s "
                             "(its log is printed above)" % e)
            finally:
                stop_tailer(tailer)
        if not a.skip_latency:
            tailer = start_tailer(pfx_lat, 32000)
            try:
                with harness.Proxy(cache_conf(pfx_lat)) as p:
                    harness.wait_until(lambda: stats(p)["cache"]["tailer"] == "up", timeout=20,
                                       what="cache.tailer up")
                    time.sleep(1)   # past the instance's first pinning window
                    log("invalidation latency: %d commits x 2 under %.0f direct writes/s"
                        % (a.commits, a.write_rate))
                    lat = invalidation_latency(a, p, pfx_lat)
                    lag = stats(p).get("cache", {}).get("local_invalidation_lag_ms")
            finally:
                stop_tailer(tailer)
    finally:
        for pfx in (pfx_tp, pfx_lat):
            r.delete_prefix(pfx)
        r.close()

    def ratio(x, y):
        return "%.2f" % (x / y) if x and y else "-"

    lines.append("# bench/cache.sh %s, %d cores, oltp_point_select, 1 table x %d rows, %d threads, "
                 "%d s runs after %d s warm-up; Sluice %s" % (
                     time.strftime("%Y-%m-%dT%H:%M:%S"), os.cpu_count(), a.table_size,
                     a.threads, a.time, a.warmup, os.environ["SLUICE_BIN"]))
    lines.extend(notes)
    if res:
        lines.append("# sluice_cache_redis: [cache] local_mb = 0 (every hit from Redis); "
                     "sluice_cache: the in-process tier on (64 MB per worker)")
        lines.append("%-9s %-19s %10s %8s %11s %11s %8s %8s" % (
            "ps_mode", "target", "qps", "p95_ms", "vs_primary", "vs_replica", "hit%",
            "local%"))
        for mode in PS_MODES:
            qp = res.get((mode, "direct_primary"), (None,))[0]
            qr = res.get((mode, "direct_replica"), (None,))[0]
            for (m, name), (q, p, d) in res.items():
                if m != mode:
                    continue
                hit = local = "-"
                if d and d.get("hits", 0) + d.get("misses", 0):
                    lookups = d["hits"] + d["misses"]
                    hit = "%.1f" % (100.0 * d["hits"] / lookups)
                    local = "%.1f" % (100.0 * d.get("local_hits", 0) / lookups)
                lines.append("%-9s %-19s %10s %8s %11s %11s %8s %8s" % (
                    mode, name, "%.0f" % q if q else "ERR", p if p is not None else "ERR",
                    ratio(q, qp), ratio(q, qr), hit, local))
        for mode in PS_MODES:
            q = res.get((mode, "sluice_cache"), (None,))[0]
            qp = res.get((mode, "direct_primary"), (None,))[0]
            verdict = ("NOT MEASURED" if not (q and qp) else
                       "PASS (%.2f)" % (q / qp) if q >= 1.5 * qp else "MISS (%.2f)" % (q / qp))
            lines.append("target: sluice_cache >= 1.5 x direct_primary qps, --db-ps-mode=%s: %s"
                         % (mode, verdict))
    if lat:
        gone, fresh, lost, writes = lat
        lines.append("invalidation latency, %d single-row commits on the primary each, under %d "
                     "direct writes in the background:" % (a.commits, writes))
        lines.append("  commit OK -> entry gone from Redis:       p50 %.2f ms  p99 %.2f ms  "
                     "max %.2f ms%s" % (pct(gone, 50), pct(gone, 99), max(gone or [0]),
                                        "  (%d entries not found)" % lost if lost else ""))
        lines.append("  commit OK -> fresh read through Sluice:   p50 %.2f ms  p99 %.2f ms  "
                     "max %.2f ms" % (pct(fresh, 50), pct(fresh, 99), max(fresh or [0])))
        lines.append("  cache.local_invalidation_lag_ms at the end: %s" % lag)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results",
                        "cache-%s.txt" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("== written to %s" % os.path.relpath(path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
