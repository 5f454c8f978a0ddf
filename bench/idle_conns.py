#!/usr/bin/python3
"""Memory cost of idle client connections in Sluice.

Starts Sluice (${SLUICE_BIN:-build/sluice}) with a copy of conf/sluice.conf on
free loopback ports, reads its RSS and open fd count, opens --count client
connections that finish the MySQL handshake and log in as app/app without a
default database and then send nothing, waits, reads RSS and fds again, and
prints the difference per connection against the issue's target (<= 8 KiB).

It reports, it does not fail: exit 0 whatever the numbers are; exit 2 only when
the measurement could not be made (no binary, proxy did not start).
Use Debian's /usr/bin/python3, which has pymysql.
"""

import argparse
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pymysql

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"
USER = "app"
PASSWORD = "app"
TARGET_KIB = 8


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def write_conf(template, out, proxy_port, stats_port):
    """Copy the template, rewriting the listen key of [proxy] and [stats]."""
    section = None
    with open(template) as src, open(out, "w") as dst:
        for line in src:
            m = re.match(r"\s*\[([^\]]+)\]", line)
            if m:
                section = m.group(1).strip()
            elif re.match(r"\s*listen\s*=", line) and section in ("proxy", "stats"):
                port = proxy_port if section == "proxy" else stats_port
                line = f"listen = {HOST}:{port}\n"
            dst.write(line)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def connect(port, timeout=10):
    # autocommit=None: pymysql would otherwise send SET AUTOCOMMIT after login,
    # and the point is a connection that has sent nothing but its login.
    return pymysql.connect(host=HOST, port=port, user=USER, password=PASSWORD,
                           autocommit=None, connect_timeout=timeout)


def wait_ready(proc, port, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited with status {proc.returncode}"
        try:
            connect(port, timeout=2).close()
            return None
        except pymysql.err.MySQLError as e:
            last = e
        time.sleep(0.2)
    return f"no successful login within {timeout} s (last error: {last})"


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return soft
    if hard != resource.RLIM_INFINITY and hard < need:
        try:  # root may raise the hard limit too
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return need
        except (ValueError, OSError):
            need = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return need


def stop(proc, grace=10):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        print(f"sluice (pid {proc.pid}) ignored SIGTERM for {grace} s, killing it",
              file=sys.stderr)
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=2000, help="idle connections (2000)")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds to wait before each RSS reading (2)")
    ap.add_argument("--sluice-bin", default=os.environ.get("SLUICE_BIN", "build/sluice"))
    ap.add_argument("--conf", default=os.environ.get("SLUICE_CONF", "conf/sluice.conf"),
                    help="config template (conf/sluice.conf)")
    args = ap.parse_args()
    os.chdir(ROOT)

    if not (os.path.isfile(args.sluice_bin) and os.access(args.sluice_bin, os.X_OK)):
        print(f"idle_conns.py: sluice binary {args.sluice_bin} not found; nothing to measure",
              file=sys.stderr)
        return 2

    # Client sockets live in this process; Sluice inherits the limit and needs
    # one fd per client plus its backends.
    need = 2 * args.count + 100
    got = raise_nofile(need)
    if got < need:
        print(f"idle_conns.py: warning: RLIMIT_NOFILE is {got}, wanted {need}", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="sluice-idle.") as tmp:
        port, stats_port = free_port(), free_port()
        while stats_port == port:
            stats_port = free_port()
        conf = os.path.join(tmp, "sluice.conf")
        write_conf(args.conf, conf, port, stats_port)
        log_path = os.path.join(tmp, "sluice.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([args.sluice_bin, "-c", conf], stdout=log,
                                    stderr=subprocess.STDOUT)
        conns = []
        try:
            why = wait_ready(proc, port, 20)
            if why:
                print(f"idle_conns.py: sluice did not come up: {why}; its log:", file=sys.stderr)
                with open(log_path) as f:
                    sys.stderr.write("".join(f.readlines()[-30:]))
                return 2

            time.sleep(args.settle)
            rss0, fds0 = rss_kib(proc.pid), fd_count(proc.pid)

            t0 = time.monotonic()
            failed = 0
            first_error = None
            for _ in range(args.count):
                try:
                    conns.append(connect(port))
                except pymysql.err.MySQLError as e:
                    failed += 1
                    first_error = first_error or e
            elapsed = time.monotonic() - t0
            if failed:
                print(f"idle_conns.py: {failed} of {args.count} logins failed "
                      f"(first: {first_error})", file=sys.stderr)

            time.sleep(args.settle)
            if proc.poll() is not None:
                print(f"idle_conns.py: sluice exited with status {proc.returncode} "
                      "while connections were open", file=sys.stderr)
                return 2
            rss1, fds1 = rss_kib(proc.pid), fd_count(proc.pid)

            n = len(conns)
            per = (rss1 - rss0) / n if n else float("nan")
            verdict = "PASS" if n and per <= TARGET_KIB else "MISS"
            print(f"idle connections: {n}, rss before: {rss0} KiB, after: {rss1} KiB, "
                  f"per connection: {per:.1f} KiB (target <= {TARGET_KIB} KiB): {verdict}")
            fd_per = (fds1 - fds0) / n if n else float("nan")
            print(f"proxy fds before: {fds0}, after: {fds1}, per connection: {fd_per:.2f} "
                  "(1.00 = no backend connection held per idle client)")
            print(f"logins: {n} in {elapsed:.1f} s ({n / elapsed if elapsed else 0:.0f}/s)")
        finally:
            for c in conns:
                try:
                    c.close()
                except Exception:
                    pass
            stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
