#!/usr/bin/python3
"""The mariadb command-line client through the proxy.

Every result is compared with what the same command prints when run directly
against the primary (in SLUICE_DIRECT=1 mode both sides are the primary, which
still checks the test's own expectations).
"""

import hashlib
import os
import random
import subprocess
import tempfile
import unittest

import harness
from harness import PRIMARY_PORT, TEST_DB, mariadb_cli


class CliTest(harness.ProxyTestCase):
    overrides = harness.PRIMARY_ONLY

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.table = harness.unique_name("cli")
        cls.tables = [cls.table]

    @classmethod
    def tearDownClass(cls):
        try:
            with harness.primary_connect(database=TEST_DB) as c, c.cursor() as cur:
                for t in cls.tables:
                    cur.execute("DROP TABLE IF EXISTS `%s`" % t)
        finally:
            super().tearDownClass()

    def cli(self, *args, port=None, **kw):
        return mariadb_cli(port or self.proxy.port, "--default-character-set=utf8mb4", "-D", TEST_DB,
                           *args, **kw)

    def ok(self, *args, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.returncode, 0, "mariadb %s failed (rc=%d): %s"
                         % (" ".join(args)[:200], r.returncode, r.stderr))
        return r

    def same_as_direct(self, *args):
        """Run args through the proxy and directly; assert identical rc/stdout/stderr."""
        via = self.cli(*args)
        direct = self.cli(*args, port=PRIMARY_PORT)
        self.assertEqual(via.stdout, direct.stdout, "stdout differs from direct run")
        self.assertEqual(via.returncode, direct.returncode,
                         "exit code differs from direct run; stderr: %r" % via.stderr)
        self.assertEqual(via.stderr, direct.stderr, "stderr differs from direct run")
        return via

    # ------------------------------------------------------------------
    def test_01_create_insert_select(self):
        t = self.table
        self.ok("-e", "CREATE TABLE `%s` (id INT PRIMARY KEY, name VARCHAR(64), "
                "amount DECIMAL(10,2), note TEXT) DEFAULT CHARSET=utf8mb4" % t)
        self.ok("-e", "INSERT INTO `%s` VALUES (1,'alpha',1.50,NULL),(2,'béta',-2.25,'tab\\there'),"
                "(3,'gamma 🚀',0,'')" % t)
        r = self.ok("-B", "-N", "-e", "SELECT id, name, amount, note FROM `%s` ORDER BY id" % t)
        self.assertEqual(r.stdout, "1\talpha\t1.50\tNULL\n2\tbéta\t-2.25\ttab\\there\n"
                                   "3\tgamma 🚀\t0.00\t\n")
        # table format (-t) and vertical (-E) output as the server's own
        self.same_as_direct("-t", "-e", "SELECT * FROM `%s` ORDER BY id" % t)
        self.same_as_direct("-E", "-e", "SELECT * FROM `%s` ORDER BY id" % t)

    def test_02_multi_statement(self):
        t = self.table + "_m"
        self.tables.append(t)
        self.ok("-e", "CREATE TABLE `%s` (id INT PRIMARY KEY, v VARCHAR(10))" % t)
        r = self.ok("-B", "-N", "-e",
                    "SELECT 1; SELECT 2; INSERT INTO `%s` VALUES (1,'a'),(2,'b'); "
                    "SELECT COUNT(*), GROUP_CONCAT(v ORDER BY id) FROM `%s`" % (t, t))
        self.assertEqual(r.stdout, "1\n2\n2\ta,b\n")
        # one COM_QUERY carrying several statements (the client only splits on
        # its delimiter): several result sets and an OK in a single reply
        r = self.ok("-B", "-N", input="DELIMITER //\n"
                    "SELECT 10; INSERT INTO `%s` VALUES (3,'c'); SELECT 20; "
                    "SELECT COUNT(*) FROM `%s`//\n" % (t, t))
        self.assertEqual(r.stdout, "10\n20\n3\n")

    def test_03_error_mid_multi_statement(self):
        t = self.table + "_e"
        self.tables.append(t)
        self.ok("-e", "CREATE TABLE `%s` (id INT PRIMARY KEY)" % t)
        # client-split statements: stops at the error with exit code 1
        sql = "SELECT 1; SELEC 2; SELECT 3"
        r = self.same_as_direct("-B", "-N", "-e", sql)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "1\n")
        self.assertIn("ERROR 1064 (42000) at line 1", r.stderr)
        # duplicate key in the middle: same exit code, same message, nothing after it ran
        sql = ("INSERT INTO `{t}` VALUES (1); INSERT INTO `{t}` VALUES (1); "
               "INSERT INTO `{t}` VALUES (2)").format(t=t)
        via = self.cli("-e", sql)
        self.assertEqual(via.returncode, 1, via.stderr)
        self.assertIn("ERROR 1062 (23000) at line 1: Duplicate entry '1' for key 'PRIMARY'", via.stderr)
        r = self.ok("-B", "-N", "-e", "SELECT GROUP_CONCAT(id) FROM `%s`" % t)
        self.assertEqual(r.stdout, "1\n")
        # error inside a single multi-statement packet: the server stops there
        via = self.cli("-B", "-N", input="DELIMITER //\nSELECT 1; SELEC 2; SELECT 3//\nSELECT 4//\n")
        direct = self.cli("-B", "-N", port=PRIMARY_PORT,
                          input="DELIMITER //\nSELECT 1; SELEC 2; SELECT 3//\nSELECT 4//\n")
        self.assertEqual((via.returncode, via.stdout, via.stderr),
                         (direct.returncode, direct.stdout, direct.stderr))
        self.assertEqual(via.returncode, 1)
        self.assertIn("1064", via.stderr)
        # --force carries on after the error; the session must still be usable
        via = self.cli("-B", "-N", "--force", input="SELECT 1;\nSELEC 2;\nSELECT 3;\n")
        self.assertEqual(via.stdout, "1\n3\n", via.stderr)

    def test_04_load_data_local_infile(self):
        t = self.table + "_ld"
        self.tables.append(t)
        self.ok("-e", "CREATE TABLE `%s` (id INT PRIMARY KEY, label VARCHAR(32), payload VARCHAR(64))" % t)
        rng = random.Random(4)
        rows = 80000
        total_payload = 0
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
            path = f.name
            for i in range(1, rows + 1):
                payload = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                  for _ in range(rng.randint(40, 60)))
                total_payload += len(payload)
                f.write("%d\tlabel-%d\t%s\n" % (i, i % 97, payload))
        try:
            size = os.path.getsize(path)
            self.assertGreater(size, 5 * 1000 * 1000, "generated file should be ~5 MB")
            r = self.ok("--local-infile=1", "-e",
                        "LOAD DATA LOCAL INFILE '%s' INTO TABLE `%s` (id, label, payload)" % (path, t),
                        timeout=120)
            r = self.ok("-B", "-N", "-e",
                        "SELECT COUNT(*), SUM(id), SUM(LENGTH(payload)) FROM `%s`" % t)
            self.assertEqual(r.stdout.split(), [str(rows), str(rows * (rows + 1) // 2), str(total_payload)])
            # the connection that did the LOAD can go on: show warnings afterwards
            r = self.ok("--local-infile=1", "-B", "-N", "-e",
                        "LOAD DATA LOCAL INFILE '%s' IGNORE INTO TABLE `%s` (id, label, payload); "
                        "SELECT COUNT(*) FROM `%s`" % (path, t, t))
            self.assertEqual(r.stdout, "%d\n" % rows)
        finally:
            os.unlink(path)

    def test_05_show_databases(self):
        r = self.same_as_direct("-B", "-N", "-e", "SHOW DATABASES")
        self.assertIn(TEST_DB, r.stdout.split("\n"))
        r = self.ok("-B", "-N", "-e", "SELECT DATABASE()")
        self.assertEqual(r.stdout, TEST_DB + "\n")
        # USE switches the database (COM_INIT_DB) on the same session
        r = mariadb_cli(self.proxy.port, "-B", "-N", "-e",
                        "SELECT DATABASE(); USE %s; SELECT DATABASE(); USE mysql; SELECT DATABASE()" % TEST_DB)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "NULL\n%s\nmysql\n" % TEST_DB)

    def test_06_quick_large_result(self):
        n = 300000
        sql = "SELECT seq, MD5(seq), REPEAT('q', seq %% 50) FROM seq_1_to_%d" % n
        args = ["--no-defaults", "-h127.0.0.1", "--protocol=TCP", "-uapp", "-papp", "-D", TEST_DB,
                "--quick", "-B", "-N", "-e", sql]
        digests = []
        for port in (self.proxy.port, PRIMARY_PORT):
            with subprocess.Popen([harness.MARIADB] + args[:1] + ["-P%d" % port] + args[1:],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as p:
                h = hashlib.sha256()
                lines = 0
                while True:
                    chunk = p.stdout.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                    lines += chunk.count(b"\n")
                self.assertEqual(p.wait(), 0, "mariadb --quick failed on port %d" % port)
            self.assertEqual(lines, n)
            digests.append(h.hexdigest())
        self.assertEqual(digests[0], digests[1], "--quick output differs from direct run")
        # expected content, computed here (first/last rows)
        r = self.ok("--quick", "-B", "-N", "-e", sql + " LIMIT 2")
        self.assertEqual(r.stdout, "1\t%s\tq\n2\t%s\tqq\n" % (hashlib.md5(b"1").hexdigest(),
                                                          hashlib.md5(b"2").hexdigest()))

    def test_07_compress_and_refused_local_infile(self):
        # --compress: the proxy either speaks the compressed protocol or does
        # not offer it; either way the client works
        r = self.ok("--compress", "-B", "-N", "-e", "SELECT COUNT(*), SUM(seq) FROM seq_1_to_50000")
        self.assertEqual(r.stdout, "50000\t1250025000\n")
        t = self.table + "_li"
        self.tables.append(t)
        self.ok("-e", "CREATE TABLE `%s` (id INT)" % t)
        # the client refuses LOCAL INFILE / the file does not exist: the server's
        # error, and the session stays usable for the next statement
        for args, sql in (
                (["--local-infile=0"], "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE `%s`" % t),
                (["--local-infile=1"], "LOAD DATA LOCAL INFILE '/nonexistent/x.tsv' INTO TABLE `%s`" % t)):
            with self.subTest(args=args):
                via = self.cli(*args, "-B", "-N", "--force", input=sql + ";\nSELECT 'alive';\n")
                direct = self.cli(*args, "-B", "-N", "--force", port=PRIMARY_PORT,
                                  input=sql + ";\nSELECT 'alive';\n")
                self.assertEqual((via.returncode, via.stdout, via.stderr),
                                 (direct.returncode, direct.stdout, direct.stderr))
                self.assertIn("alive", via.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
