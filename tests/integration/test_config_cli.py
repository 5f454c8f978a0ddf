#!/usr/bin/python3
"""The sluice command line and config validation. Needs only the binary, no server.

Skipped with SLUICE_DIRECT=1. Broken configs are conf/sluice.conf with one
change, written to temp files; every error must come out as one stderr line
`<file>:<line>: [<section>] <key>: <message>` (or the section / file forms).
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import SOURCE_DIR, render_config


def project_version():
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*sluice\s+VERSION\s+([0-9.]+)", f.read())
    return m.group(1) if m else None


@harness.skip_if_direct("checks the sluice binary")
class ConfigCliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.bin = harness.sluice_bin()
        if not cls.bin or not os.access(cls.bin, os.X_OK):
            raise AssertionError("sluice binary not found (SLUICE_BIN=%r)" % cls.bin)
        cls.tmp = tempfile.mkdtemp(prefix="sluice-conf-")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def sluice(self, *args, timeout=10):
        try:
            return subprocess.run([self.bin] + list(args), capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.fail("sluice %s did not exit within %d s" % (" ".join(args), timeout))

    def write(self, text):
        type(self).n += 1
        path = os.path.join(self.tmp, "case%02d.conf" % self.n)
        with open(path, "w") as f:
            f.write(text)
        return path

    @staticmethod
    def line_of(text, needle, start=0):
        """1-based number of the first line equal to needle (stripped) after line `start`."""
        for i, line in enumerate(text.splitlines(), 1):
            if i > start and line.strip() == needle:
                return i
        raise AssertionError("%r not in config" % needle)

    def check_bad(self, text, patterns, n_errors=None):
        """--check-config must exit 1 and print a stderr line matching each pattern.

        patterns use {f} for the escaped file name.
        """
        path = self.write(text)
        r = self.sluice("-c", path, "--check-config")
        self.assertEqual(r.returncode, 1, "exit status; stderr: %r" % r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        for pat in patterns:
            rx = re.compile(pat.format(f=re.escape(path)), re.IGNORECASE)
            self.assertTrue(any(rx.search(l) for l in lines),
                            "no stderr line matches %s\nstderr:\n%s" % (rx.pattern, r.stderr))
        error_lines = [l for l in lines if l.startswith(path + ":")]
        self.assertEqual(len(error_lines), n_errors or len(patterns),
                         "one line per error expected; stderr:\n%s" % r.stderr)
        return r

    # ---------------------------------------------------------------- CLI
    def test_version(self):
        r = self.sluice("--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^sluice \d+\.\d+\.\d+\S*\n?$")
        want = project_version()
        if want:
            self.assertEqual(r.stdout.split()[1], want)

    def test_help(self):
        r = self.sluice("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.lower(), r"usage")
        self.assertIn("-c", r.stdout)
        self.assertIn("--check-config", r.stdout)

    def test_bad_option(self):
        r = self.sluice("--no-such-option")
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(r.stderr.strip(), "a bad option should say something on stderr")

    def test_check_good_config(self):
        path = os.path.join(SOURCE_DIR, "conf", "sluice.conf")
        r = self.sluice("-c", path, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(path + ":", r.stderr)
        # with the harness' overrides and an extra user too
        text = render_config({("proxy", "listen"): "127.0.0.1:1", ("stats", "listen"): "127.0.0.1:2",
                              ("proxy", "shutdown_timeout_ms"): "1000"}, {"other": "pw"})
        r = self.sluice("-c", self.write(text), "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)

    # ---------------------------------------------------------- broken configs
    def test_unknown_section(self):
        text = render_config() + "\n[bogus]\nfoo = 1\n"
        n = self.line_of(text, "[bogus]")
        self.check_bad(text, [r"^{f}:%d: \[bogus\]: unknown section$" % n])

    def test_unknown_key(self):
        text = render_config({("proxy", "colour"): "blue"})
        n = self.line_of(text, "colour = blue")
        self.check_bad(text, [r"^{f}:%d: \[proxy\] colour: .*unknown" % n])

    def test_bad_integer(self):
        for value in ("abc", "12abc", "2.5", "99999999999999999999"):
            with self.subTest(threads=value):
                text = render_config({("proxy", "threads"): value})
                n = self.line_of(text, "threads = " + value)
                self.check_bad(text, [r"^{f}:%d: \[proxy\] threads: \S.*$" % n])

    def test_bad_address(self):
        for value in ("127.0.0.1:abc", "127.0.0.1:99999", "127.0.0.1:-5",
                      "127.0.0.1:"):
            with self.subTest(address=value):
                text = render_config({("primary", "address"): value})
                n = self.line_of(text, "address = " + value)
                self.check_bad(text, [r"^{f}:%d: \[primary\] address: \S.*$" % n])

    def test_missing_primary_section(self):
        lines = harness.read_config_lines()
        hdr = lines.index("[primary]")
        end = hdr + 1
        while end < len(lines) and not lines[end].startswith("["):
            end += 1
        text = "\n".join(lines[:hdr] + lines[end:]) + "\n"
        self.assertNotIn("[primary]", text)
        self.check_bad(text, [r"^{f}: \[primary\]: required section missing$"])

    def test_missing_primary_address(self):
        text = render_config({("primary", "address"): None})
        n = self.line_of(text, "[primary]")
        self.check_bad(text, [r"^{f}:%d: \[primary\] address: required key missing$" % n])

    def test_duplicate_key(self):
        lines = harness.read_config_lines()
        i = lines.index("threads = 2")
        lines.insert(i + 1, "threads = 4")
        text = "\n".join(lines) + "\n"
        self.check_bad(text, [r"^{f}:%d: \[proxy\] threads: .*duplicate" % (i + 2)])

    def test_bad_enum(self):
        text = render_config({("routing", "balance"): "sideways"})
        n = self.line_of(text, "balance = sideways")
        self.check_bad(text, [r"^{f}:%d: \[routing\] balance: \S.*$" % n])

    def test_several_errors_one_line_each(self):
        text = render_config({("proxy", "threads"): "abc", ("routing", "balance"): "sideways",
                              ("proxy", "colour"): "blue"})
        self.check_bad(text, [
            r"^{f}:%d: \[proxy\] threads: " % self.line_of(text, "threads = abc"),
            r"^{f}:%d: \[routing\] balance: " % self.line_of(text, "balance = sideways"),
            r"^{f}:%d: \[proxy\] colour: " % self.line_of(text, "colour = blue"),
        ])

    def test_missing_file(self):
        path = os.path.join(self.tmp, "does-not-exist.conf")
        r = self.sluice("-c", path, "--check-config")
        self.assertEqual(r.returncode, 1)
        self.assertIn(path, r.stderr)
        r = self.sluice("-c", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn(path, r.stderr)

    def test_bad_config_without_check_flag(self):
        # starting for real with a broken config fails the same way, at once
        text = render_config({("proxy", "listen"): "127.0.0.1:%d" % harness.free_port(),
                              ("stats", "listen"): "127.0.0.1:%d" % harness.free_port(),
                              ("routing", "balance"): "sideways"})
        path = self.write(text)
        r = self.sluice("-c", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^%s:%d: \[routing\] balance: "
                         % (re.escape(path), self.line_of(text, "balance = sideways")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
