#!/usr/bin/python3
"""Runs the MariaDB main-suite cases of tests/mtr/cases.txt through a fresh Sluice.

Sluice runs with conf/sluice.conf's routing and pinning (window mode, both replicas in the
read pool), so every plain read of these cases may go to a replica right after the statement
that wrote it: each case must still pass, as it does directly against the primary. Prints the
pass count and Sluice's /stats deltas (where the reads went, how many were pinned) and fails
if any case did not pass.

    tests/mtr/run_through_sluice.py                 # what ctest runs
    tests/mtr/run_through_sluice.py --pinning off   # by hand: how many fail without pinning
    tests/mtr/run_through_sluice.py --direct        # the same cases straight at the primary
    tests/mtr/run_through_sluice.py main.insert     # some cases only

Environment: as tests/integration/harness.py (SLUICE_BIN, SLUICE_SOURCE_DIR,
SLUICE_SANDBOX_PORT_BASE); MTR_DIR (default /usr/share/mysql/mysql-test).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402

MTR_DIR = os.environ.get("MTR_DIR", "/usr/share/mysql/mysql-test")
CASES = os.path.join(HERE, "cases.txt")
RESULT_RE = re.compile(r"^(main\.\S+)(?:\s+'[^']*')?\s+\[ (\w+) \]\s*(\d+)?")
STAT_KEYS = [("queries", "total"), ("queries", "primary"), ("queries", "replica"),
             ("queries", "pinned"), ("queries", "fallback"), ("queries", "retried"),
             ("queries", "errors"), ("pinning", "lookups"), ("pinning", "marks"),
             ("pinning", "safe_reads"), ("pinning", "errors")]


def read_cases(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
    return out


def ensure_test_db():
    """The cases use database `test`: create it on the primary and let the replicas have it."""
    with harness.primary_connect() as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS test")
    harness.wait_replicas_caught_up()


def run_mtr(port, cases, vardir, timeout):
    cmd = ["./mariadb-test-run", "--extern", "host=127.0.0.1", "--extern", "port=%d" % port,
           "--extern", "user=%s" % harness.USER, "--extern", "password=%s" % harness.PASSWORD,
           "--vardir=%s" % os.path.join(vardir, "var"), "--force", "--max-test-fail=0", "--retry=1",
           "--testcase-timeout=2"] + cases
    env = dict(os.environ, MYSQL_TEST=os.path.join(HERE, "mysqltest.sh"))
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=MTR_DIR, env=env, capture_output=True, text=True,
                       errors="replace", timeout=timeout)
    return r.returncode, r.stdout + r.stderr, time.monotonic() - t0


def parse(out):
    """{case: result} ("pass", "fail", "skipped"...) and {case: its report} for failures."""
    results, reports, cur = {}, {}, None
    for line in out.splitlines():
        m = RESULT_RE.match(line)
        if m:
            name, res = m.group(1), m.group(2)
            # a case with combinations passes only if every combination did
            if results.get(name, "pass") == "pass":
                results[name] = res
            cur = name if res != "pass" else None
            if cur:
                reports.setdefault(cur, []).append(line)
            continue
        if line.startswith("-----") or line.startswith("The servers were restarted"):
            cur = None
        if cur:
            reports[cur].append(line)
    return results, reports


def stat_deltas(before, after):
    rows = []
    for g, k in STAT_KEYS:
        b = before.get(g, {}).get(k, 0) or 0
        a = after.get(g, {}).get(k, 0) or 0
        rows.append(("%s.%s" % (g, k), a - b))
    for be in after.get("backends", []):
        name = be.get("name")
        b = next((x.get("queries", 0) for x in before.get("backends", []) if x.get("name") == name), 0)
        rows.append(("backends.%s.queries" % name, (be.get("queries") or 0) - (b or 0)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*", help="cases to run (default: those of cases.txt)")
    ap.add_argument("--cases-file", default=CASES)
    ap.add_argument("--pinning", choices=("window", "gtid", "off"), default=None,
                    help="[pinning] mode (default: conf/sluice.conf's, window)")
    ap.add_argument("--direct", action="store_true", help="no Sluice: straight at the primary")
    ap.add_argument("--keep", action="store_true", help="keep mtr's vardir")
    args = ap.parse_args()

    if not os.access(os.path.join(MTR_DIR, "mariadb-test-run"), os.X_OK):
        sys.exit("run_through_sluice: %s/mariadb-test-run not found: install mariadb-test "
                 "(scripts/deps.sh)" % MTR_DIR)
    cases = args.cases or read_cases(args.cases_file)
    harness.require_sandbox()
    ensure_test_db()
    vardir = tempfile.mkdtemp(prefix="sluice-mtr-")
    ok = False
    try:
        if args.direct:
            rc, out, elapsed = run_mtr(harness.PRIMARY_PORT, cases, vardir, 280)
            before = after = None
        else:
            overrides = {}
            if args.pinning:
                overrides[("pinning", "mode")] = args.pinning
            with harness.Proxy(overrides) as proxy:
                before = harness.stats(proxy)
                try:
                    rc, out, elapsed = run_mtr(proxy.port, cases, vardir, 280)
                except subprocess.TimeoutExpired:
                    proxy.failed = True
                    raise
                after = harness.stats(proxy)
                results, _ = parse(out)
                if rc != 0 or any(results.get(c) != "pass" for c in cases):
                    proxy.failed = True     # its log is printed when it stops
        results, reports = parse(out)
        if not results:
            print(out[-4000:])
        passed = [c for c in cases if results.get(c) == "pass"]
        bad = [c for c in cases if results.get(c) != "pass"]
        for c in bad:
            sys.stdout.write("\n".join(reports.get(c, ["%s: %s" % (c, results.get(c, "no result"))]))
                             + "\n\n")
        where = "directly on the primary" if args.direct else \
            "through Sluice (pinning %s)" % (args.pinning or "as in conf/sluice.conf")
        print("mtr: %d/%d cases passed %s in %.1f s" % (len(passed), len(cases), where, elapsed))
        if bad:
            print("mtr: not passed: %s" % " ".join("%s(%s)" % (c, results.get(c, "?")) for c in bad))
        if before is not None:
            print("sluice /stats deltas over the run:")
            deltas = stat_deltas(before, after)
            for k, v in deltas:
                print("  %-28s %d" % (k, v))
            d = dict(deltas)
            if d["queries.replica"] <= 0:
                print("mtr: FAIL: no statement went to a replica: the run proves nothing")
                bad.append("(no replica reads)")
            if args.pinning in (None, "window", "gtid") and d["queries.pinned"] <= 0:
                print("mtr: FAIL: no read was pinned")
                bad.append("(no pinned reads)")
        if not bad and rc != 0:
            print(out[-4000:])
            print("mtr: FAIL: mariadb-test-run exited with %d" % rc)
            bad.append("(mtr rc)")
        ok = not bad
    finally:
        if args.keep or not ok:
            print("mtr vardir kept: %s" % vardir)
        else:
            shutil.rmtree(vardir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
