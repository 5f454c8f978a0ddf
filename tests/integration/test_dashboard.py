#!/usr/bin/python3
"""The dashboard at / in a real browser: headless Chromium loads it from a running proxy while
clients run queries, and the page must render, poll /stats and redraw its charts. The page
publishes its state on <body> (data-polls, data-first-total, data-last-total, data-qps,
data-draws, data-backends, data-error), which is what the test reads from the DOM. A screenshot
is saved next to the sluice binary (the build directory) as dashboard.png. Proxy only.

Chromium runs with --virtual-time-budget: page time (timers, Date.now) runs ahead as fast as the
page allows, so six seconds of polling take about one real second."""

import os
import re
import shutil
import subprocess
import tempfile
import threading
import unittest

import harness

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# --no-sandbox: the tests may run as root, where Chromium's sandbox refuses to start.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--hide-scrollbars", "--window-size=1280,1000"]
BUDGET_MS = 6000


def chromium(user_dir, *args, timeout=90):
    return subprocess.run([CHROMIUM, *FLAGS, "--user-data-dir=" + user_dir, *args],
                          capture_output=True, text=True, timeout=timeout)


def chromium_problem():
    """Why Chromium cannot be used here, or None."""
    if not CHROMIUM:
        return "chromium is not installed (scripts/deps.sh installs it)"
    with tempfile.TemporaryDirectory(prefix="sluice-chromium-") as d:
        try:
            r = chromium(d, "--dump-dom", "about:blank", timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return "chromium cannot run: %s" % e
    if r.returncode != 0 or "<body" not in r.stdout:
        return "chromium cannot run (exit %d): %s" % (r.returncode, r.stderr[-500:])
    return None


def body_data(dom):
    """The data-* attributes of <body> in a dumped DOM, as a dict."""
    m = re.search(r"<body([^>]*)>", dom)
    if not m:
        raise AssertionError("no <body> in the dumped DOM: %r" % dom[:500])
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m.group(1)))


class Load:
    """Clients running SELECTs through the proxy until stopped (with)."""

    def __init__(self, proxy, clients=2):
        self.proxy, self.clients = proxy, clients
        self.stop, self.threads, self.errors = threading.Event(), [], []

    def run(self):
        try:
            with self.proxy.connect() as c, c.cursor() as cur:
                while not self.stop.is_set():
                    cur.execute("SELECT 1")
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(e)

    def __enter__(self):
        for _ in range(self.clients):
            t = threading.Thread(target=self.run, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        return False


class DashboardTest(harness.ProxyTestCase):
    proxy_only = True

    @classmethod
    def setUpClass(cls):
        problem = chromium_problem()
        if problem:
            raise unittest.SkipTest(problem)
        super().setUpClass()

    def setUp(self):
        self.user_dir = tempfile.mkdtemp(prefix="sluice-chromium-")
        self.addCleanup(shutil.rmtree, self.user_dir, ignore_errors=True)
        self.url = "http://%s:%d/" % (harness.HOST, self.proxy.stats_port)
        harness.wait_stats(self.proxy, lambda s: all(b["state"] == "up" for b in s["backends"]))

    def test_page_renders_and_charts_update_under_load(self):
        with Load(self.proxy) as load:
            harness.wait_stats(self.proxy, lambda s: s["queries"]["total"] > 0)
            r = chromium(self.user_dir, "--virtual-time-budget=%d" % BUDGET_MS, "--dump-dom",
                         self.url)
        self.assertEqual(load.errors, [])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        dom, data = r.stdout, body_data(r.stdout)
        self.assertNotIn("error", data, "the page could not read /stats: %r" % data)
        polls = int(data.get("polls", 0))
        self.assertGreaterEqual(polls, 3, "polls of /stats within %d ms: %r" % (BUDGET_MS, data))
        self.assertGreater(int(data["last-total"]), int(data["first-total"]),
                           "queries.total seen by the page did not move: %r" % data)
        self.assertGreater(float(data.get("qps", 0)), 0, data)
        # four charts, redrawn on every poll
        self.assertGreaterEqual(int(data["draws"]), 4 * polls, data)
        self.assertEqual(data["backends"], "3", data)
        self.assertIn('class="ok">live<', dom)
        for name in ("primary", "r1", "r2"):
            self.assertRegex(dom, r"<td>%s</td><td>(primary|replica)</td>" % name)
        self.assertIn('class="state up"', dom)
        legend = re.search(r'id="qps-legend">(.*?)</div>', dom, re.S).group(1)
        for route in ("primary", "replica", "fallback"):
            self.assertIn(route, legend)
        lag = re.search(r'id="lag-legend">(.*?)</div>', dom, re.S).group(1)
        self.assertIn("r1", lag)
        self.assertIn("r2", lag)
        cache = re.search(r'id="cache-value">([^<]*)<', dom).group(1)
        self.assertRegex(cache, r"^(n/a|no reads yet|\d+(\.\d)?% overall)$")

    def test_screenshot(self):
        out_dir = os.path.dirname(os.path.abspath(harness.sluice_bin()))
        path = os.path.join(out_dir, "dashboard.png")
        if os.path.exists(path):
            os.unlink(path)
        with Load(self.proxy):
            r = chromium(self.user_dir, "--virtual-time-budget=%d" % BUDGET_MS,
                         "--screenshot=" + path, self.url)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        with open(path, "rb") as f:
            png = f.read()
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG: %s" % path)
        self.assertGreater(len(png), 10000, "a suspiciously small screenshot: %s" % path)
        print("dashboard screenshot: %s" % path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
