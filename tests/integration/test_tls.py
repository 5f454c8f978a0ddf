#!/usr/bin/python3
"""TLS between clients and the proxy ([proxy] tls_cert / tls_key, [user.NAME] require_tls).

A self-signed certificate for 127.0.0.1 is made with the openssl CLI at start. Through a proxy
that has it: the mariadb CLI and pymysql switch to TLS and run queries, a 10 MB result and a
4 MB upload cross it intact, plain clients keep working alongside, and garbage after an
SSLRequest closes that connection only. A proxy whose users require TLS refuses plain logins
with 1045 and a clear text; a bad certificate or key stops --check-config and start-up with
"file: reason"; a proxy without a certificate does not offer TLS.

Proxy only (skipped with SLUICE_DIRECT=1: the sandbox's MariaDB has its own TLS settings).
"""

import hashlib
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import pymysql

import harness
from harness import HOST, PASSWORD, TEST_DB, USER, mariadb_cli

CLIENT_SSL = 0x800
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_LONG_FLAG = 0x4
CLIENT_TRANSACTIONS = 0x2000
SSL_REQUEST_CAPS = (CLIENT_SSL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_LONG_FLAG
                    | CLIENT_TRANSACTIONS | CLIENT_PLUGIN_AUTH)
TIMEOUT = 5.0
TLS_REFUSED = "this user requires a TLS connection"

CERTS = None   # tempdir with cert.pem / key.pem / other_key.pem / garbage.pem


def make_certs():
    d = tempfile.mkdtemp(prefix="sluice-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", os.path.join(d, "other_key.pem")],
                   check=True, capture_output=True)
    with open(os.path.join(d, "garbage.pem"), "w") as f:
        f.write("this is not a certificate\n")
    return d


def setUpModule():
    global CERTS
    if harness.DIRECT:
        raise unittest.SkipTest("SLUICE_DIRECT=1: TLS is the proxy's")
    CERTS = make_certs()


def tearDownModule():
    if CERTS:
        shutil.rmtree(CERTS, ignore_errors=True)


def cert_path(name="cert.pem"):
    return os.path.join(CERTS, name)


def tls_overrides(extra=None):
    ov = dict(harness.PRIMARY_ONLY)
    ov[("proxy", "tls_cert")] = cert_path()
    ov[("proxy", "tls_key")] = cert_path("key.pem")
    ov.update(extra or {})
    return ov


def ssl_verified():
    return {"ca": cert_path(), "check_hostname": True}


def ssl_unverified():
    return {"check_hostname": False, "verify_mode": ssl.CERT_NONE}


# ------------------------------------------------------------ raw protocol

def packet(payload, seq):
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xff]) + payload


def read_packet(sock):
    hdr = b""
    while len(hdr) < 4:
        chunk = sock.recv(4 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    n = hdr[0] | hdr[1] << 8 | hdr[2] << 16
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def greeting_caps(g):
    """Capability flags of a HandshakeV10 payload."""
    ver_end = g.index(b"\0", 1)
    p = ver_end + 1 + 4 + 8 + 1
    lo = struct.unpack_from("<H", g, p)[0]
    hi = struct.unpack_from("<H", g, p + 2 + 1 + 2)[0]
    return lo | hi << 16


def ssl_request(seq=1):
    return packet(struct.pack("<IIB", SSL_REQUEST_CAPS, 1 << 24, 45) + b"\0" * 23, seq)


def closed_or_error(sock):
    """True if the peer closes (or answers an ERR packet) within TIMEOUT."""
    sock.settimeout(TIMEOUT)
    try:
        data = sock.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    if not data:
        return True
    if len(data) >= 5 and data[4] == 0xFF:
        return True
    # Not plain data: maybe a TLS alert; the close must follow.
    try:
        while True:
            more = sock.recv(4096)
            if not more:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class TLSTest(harness.ProxyTestCase):
    proxy_only = True

    @classmethod
    def setUpClass(cls):
        cls.overrides = tls_overrides()
        super().setUpClass()

    def cli(self, *args, **kw):
        return mariadb_cli(self.proxy.port, *args, **kw)

    def assert_usable(self, conn):
        with conn.cursor() as cur:
            cur.execute("SELECT 1 + 1, CURRENT_USER()")
            two, user = cur.fetchone()
            self.assertEqual(two, 2)
            self.assertTrue(user.startswith(USER + "@"), user)

    # -- clients

    def test_greeting_offers_tls(self):
        with socket.create_connection((HOST, self.proxy.port), timeout=TIMEOUT) as s:
            self.assertTrue(greeting_caps(read_packet(s)) & CLIENT_SSL)

    def test_cli_ssl(self):
        r = self.cli("--ssl", "-D", TEST_DB, "-e", "status; SELECT 'over tls'", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"SSL:\s+Cipher in use is \S+", r.stdout)
        self.assertIn("over tls", r.stdout)

    def test_cli_ssl_verified(self):
        r = self.cli("--ssl-ca=" + cert_path(), "--ssl-verify-server-cert", "-B", "-N", "-e",
                     "SELECT 40 + 2", timeout=60)
        self.assertEqual((r.returncode, r.stdout), (0, "42\n"), r.stderr)

    def test_cli_plain_alongside(self):
        r = self.cli("--skip-ssl", "-e", "status; SELECT 'plain'", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"SSL:\s+Not in use")
        self.assertIn("plain", r.stdout)

    def test_pymysql_ssl(self):
        for how in (ssl_verified(), ssl_unverified()):
            with self.subTest(ssl=how), self.connect(ssl=how, database=TEST_DB) as c:
                self.assertIsInstance(c._sock, ssl.SSLSocket)
                self.assertTrue(c._sock.cipher())
                self.assert_usable(c)
                with c.cursor() as cur:   # a few round trips, a pipelined-ish multi-statement
                    for i in range(50):
                        cur.execute("SELECT %s", (i,))
                        self.assertEqual(cur.fetchone(), (i,))
                c.select_db(TEST_DB)
                c.ping()

    def test_plain_and_tls_interleaved(self):
        plain = self.connect()
        tls = self.connect(ssl=ssl_unverified())
        try:
            self.assertNotIsInstance(plain._sock, ssl.SSLSocket)
            self.assertIsInstance(tls._sock, ssl.SSLSocket)
            with plain.cursor() as pc, tls.cursor() as tc:
                for i in range(20):
                    pc.execute("SELECT %s, 'plain'", (i,))
                    tc.execute("SELECT %s, 'tls'", (i,))
                    self.assertEqual(pc.fetchone(), (i, "plain"))
                    self.assertEqual(tc.fetchone(), (i, "tls"))
        finally:
            plain.close()
            tls.close()

    def test_many_tls_connections_in_parallel(self):
        errors = []

        def worker(n):
            try:
                for i in range(5):
                    with self.connect(ssl=ssl_unverified()) as c, c.cursor() as cur:
                        cur.execute("SELECT %s", (n * 100 + i,))
                        if cur.fetchone() != (n * 100 + i,):
                            errors.append("wrong answer")
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    # -- volume

    def test_big_result_over_tls(self):
        # 10 000 rows of 1 000 bytes: 10 MB, through the stream's encrypt path
        with self.connect(ssl=ssl_unverified(), read_timeout=120, database=TEST_DB) as c, \
                c.cursor() as cur:
            cur.execute("SELECT seq, REPEAT(CHAR(65 + seq % 26 USING ascii), 1000) "
                        "FROM seq_1_to_10000")
            rows = cur.fetchall()
        self.assertEqual(len(rows), 10000)
        self.assertEqual(sum(len(r[1]) for r in rows), 10_000_000)
        self.assertEqual(rows[-1], (10000, chr(65 + 10000 % 26) * 1000))

    def test_big_result_cli(self):
        r = self.cli("--ssl", "-D", TEST_DB, "-B", "-N", "-e",
                     "SELECT REPEAT('x', 1000) FROM seq_1_to_10000", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 10000)
        self.assertTrue(all(l == "x" * 1000 for l in lines))

    def test_big_upload_over_tls(self):
        table = "`%s`.`%s`" % (TEST_DB, harness.unique_name("tls_blob"))
        with self.connect(ssl=ssl_unverified(), read_timeout=120) as c, c.cursor() as cur:
            # 4 MB, or what the (shared) sandbox's max_allowed_packet lets through
            cur.execute("SELECT @@max_allowed_packet")
            blob = os.urandom(min(4 * 1024 * 1024, cur.fetchone()[0] // 2))
            cur.execute("CREATE TABLE %s (id INT PRIMARY KEY, b LONGBLOB)" % table)
            try:
                cur.execute("INSERT INTO %s VALUES (1, %%s)" % table, (blob,))
                cur.execute("SELECT MD5(b), LENGTH(b) FROM %s WHERE id = 1" % table)
                self.assertEqual(cur.fetchone(), (hashlib.md5(blob).hexdigest(), len(blob)))
                cur.execute("SELECT b FROM %s WHERE id = 1" % table)
                self.assertEqual(cur.fetchone()[0], blob)
            finally:
                cur.execute("DROP TABLE IF EXISTS %s" % table)

    def test_slow_reader_over_tls(self):
        """Back-pressure still holds with TLS: a client that reads slowly gets every byte."""
        c = self.connect(ssl=ssl_unverified(), read_timeout=120, database=TEST_DB,
                         cursorclass=pymysql.cursors.SSCursor)
        try:
            with c.cursor() as cur:
                cur.execute("SELECT seq, REPEAT('y', 2000) FROM seq_1_to_10000")
                n = 0
                for row in cur:
                    n += 1
                    if n % 1000 == 0:
                        time.sleep(0.05)
                    if row[1] != "y" * 2000:
                        self.fail("row %d damaged" % n)
                self.assertEqual(n, 10000)
        finally:
            c.close()

    # -- hostile clients

    def test_garbage_after_ssl_request(self):
        cases = {
            "plain text": b"GET / HTTP/1.0\r\n\r\n" * 4,
            "zeros": b"\0" * 300,
            "fake record": b"\x16\x03\x01\xff\xff" + b"A" * 64,
            "plain login": packet(b"\x00" * 64, 2),
            "nothing then close": b"",
        }
        for name, junk in cases.items():
            for together in (True, False):
                with self.subTest(case=name, same_write=together):
                    s = socket.create_connection((HOST, self.proxy.port), timeout=TIMEOUT)
                    try:
                        read_packet(s)
                        if together:
                            s.sendall(ssl_request() + junk)
                        else:
                            s.sendall(ssl_request())
                            time.sleep(0.05)
                            if junk:
                                s.sendall(junk)
                        if not junk:
                            s.shutdown(socket.SHUT_WR)
                        self.assertTrue(closed_or_error(s), "connection left open")
                    finally:
                        s.close()
        self.assertTrue(self.proxy.alive())
        with self.connect(ssl=ssl_unverified()) as c:
            self.assert_usable(c)

    def test_truncated_tls_handshake(self):
        s = socket.create_connection((HOST, self.proxy.port), timeout=TIMEOUT)
        try:
            read_packet(s)
            s.sendall(ssl_request())
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(inc, out)
            with self.assertRaises(ssl.SSLWantReadError):
                obj.do_handshake()
            hello = out.read()
            s.sendall(hello[:len(hello) // 2])   # half a ClientHello, then hang up
        finally:
            s.close()
        time.sleep(0.2)
        self.assertTrue(self.proxy.alive())
        with self.connect(ssl=ssl_unverified()) as c:
            self.assert_usable(c)

    def test_garbage_over_tls(self):
        """After the TLS handshake, nonsense inside TLS is a bad handshake, not a crash."""
        raw = socket.create_connection((HOST, self.proxy.port), timeout=TIMEOUT)
        read_packet(raw)
        raw.sendall(ssl_request())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(raw)
        try:
            s.sendall(packet(b"\xff" * 40, 2))
            reply = read_packet(s)
            self.assertIsNotNone(reply)
            self.assertEqual(reply[0], 0xFF)
            self.assertEqual(struct.unpack_from("<H", reply, 1)[0], 1043)
        finally:
            s.close()
        self.assertTrue(self.proxy.alive())

    def test_ssl_request_twice(self):
        raw = socket.create_connection((HOST, self.proxy.port), timeout=TIMEOUT)
        read_packet(raw)
        raw.sendall(ssl_request())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(raw)
        try:
            s.sendall(ssl_request(2))
            reply = read_packet(s)
            self.assertIsNotNone(reply)
            self.assertEqual(struct.unpack_from("<H", reply, 1)[0], 1043)
        finally:
            s.close()


class RequireTLSTest(harness.ProxyTestCase):
    """[user.app] require_tls = true: plain logins refused, TLS logins served."""
    proxy_only = True

    @classmethod
    def setUpClass(cls):
        cls.overrides = tls_overrides({("user.app", "require_tls"): "true"})
        super().setUpClass()

    def test_plain_login_refused(self):
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.connect()
        code, msg = cm.exception.args
        self.assertEqual(code, 1045)
        self.assertIn("Access denied for user '%s'@'%s'" % (USER, HOST), msg)
        self.assertIn(TLS_REFUSED, msg)

    def test_wrong_password_still_plain_denial(self):
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.connect(password="wrong")
        self.assertEqual(cm.exception.args,
                         (1045, "Access denied for user '%s'@'%s' (using password: YES)"
                          % (USER, HOST)))

    def test_cli_plain_refused(self):
        r = mariadb_cli(self.proxy.port, "--skip-ssl", "-e", "SELECT 1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERROR 1045 (28000)", r.stderr)
        self.assertIn(TLS_REFUSED, r.stderr)

    def test_tls_login_accepted(self):
        with self.connect(ssl=ssl_unverified(), database=TEST_DB) as c, c.cursor() as cur:
            cur.execute("SELECT DATABASE()")
            self.assertEqual(cur.fetchone(), (TEST_DB,))
        r = mariadb_cli(self.proxy.port, "--ssl", "-B", "-N", "-e", "SELECT 7")
        self.assertEqual((r.returncode, r.stdout), (0, "7\n"), r.stderr)


class NoTLSTest(harness.ProxyTestCase):
    """Without a certificate nothing changes: no CLIENT_SSL, and a client insisting is told."""
    proxy_only = True
    overrides = harness.PRIMARY_ONLY

    def test_greeting_without_tls(self):
        with socket.create_connection((HOST, self.proxy.port), timeout=TIMEOUT) as s:
            self.assertFalse(greeting_caps(read_packet(s)) & CLIENT_SSL)

    def test_ssl_request_refused(self):
        with socket.create_connection((HOST, self.proxy.port), timeout=TIMEOUT) as s:
            read_packet(s)
            s.sendall(ssl_request())
            reply = read_packet(s)
            self.assertEqual(reply[0], 0xFF)
            self.assertEqual(struct.unpack_from("<H", reply, 1)[0], 1045)
            self.assertIn(b"TLS was requested but the proxy does not offer it", reply)

    def test_client_insisting_on_tls(self):
        r = mariadb_cli(self.proxy.port, "--ssl-verify-server-cert", "-e", "SELECT 1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SSL", r.stderr)

    def test_plain_clients(self):
        with self.connect() as c, c.cursor() as cur:
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone(), (1,))
        with self.connect(ssl=ssl_unverified()) as c:  # pymysql falls back to plain text
            self.assertNotIsInstance(c._sock, ssl.SSLSocket)


class BadCertTest(unittest.TestCase):
    """A certificate or key that cannot be used stops the proxy before it listens."""

    @classmethod
    def setUpClass(cls):
        if harness.DIRECT:
            raise unittest.SkipTest("SLUICE_DIRECT=1")
        cls.dir = tempfile.mkdtemp(prefix="sluice-tls-conf-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_sluice(self, cert, key, *args):
        conf = os.path.join(self.dir, "sluice.conf")
        ov = {("proxy", "listen"): "%s:%d" % (HOST, harness.free_port()),
              ("stats", "listen"): "%s:%d" % (HOST, harness.free_port()),
              ("proxy", "tls_cert"): cert, ("proxy", "tls_key"): key}
        with open(conf, "w") as f:
            f.write(harness.render_config(ov))
        return subprocess.run([harness.sluice_bin(), "-c", conf] + list(args),
                              capture_output=True, text=True, timeout=30)

    def assert_refused(self, cert, key, expect):
        for args in (["--check-config"], []):
            with self.subTest(args=args, cert=cert, key=key):
                r = self.run_sluice(cert, key, *args)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn(expect, r.stderr)
                self.assertNotIn("listening", r.stderr)

    def test_good_cert_checks(self):
        r = self.run_sluice(cert_path(), cert_path("key.pem"), "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_missing_cert(self):
        missing = os.path.join(self.dir, "nope.pem")
        self.assert_refused(missing, cert_path("key.pem"),
                            missing + ": cannot load [proxy] tls_cert: No such file or directory")

    def test_missing_key(self):
        missing = os.path.join(self.dir, "nokey.pem")
        self.assert_refused(cert_path(), missing,
                            missing + ": cannot load [proxy] tls_key: No such file or directory")

    def test_garbage_cert(self):
        self.assert_refused(cert_path("garbage.pem"), cert_path("key.pem"),
                            cert_path("garbage.pem") + ": cannot load [proxy] tls_cert: ")

    def test_key_not_matching(self):
        self.assert_refused(cert_path(), cert_path("other_key.pem"),
                            cert_path("other_key.pem") + ": ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
