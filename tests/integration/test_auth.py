#!/usr/bin/python3
"""Authentication through the proxy: MySQL's exact 1045 errors, then many good logins."""

import unittest

import pymysql

import harness
from harness import HOST, TEST_DB, mariadb_cli


def denied(user, with_password):
    return "Access denied for user '%s'@'%s' (using password: %s)" % (
        user, HOST, "YES" if with_password else "NO")


class AuthTest(harness.ProxyTestCase):

    def login_fails(self, user, password, **kw):
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.connect(user=user, password=password, **kw)
        return cm.exception.args

    def assert_still_works(self):
        with self.connect() as c, c.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), 1")
            user, one = cur.fetchone()
            self.assertEqual(one, 1)
            self.assertTrue(user.startswith("app@"), user)

    def test_wrong_password(self):
        args = self.login_fails("app", "wrong")
        self.assertEqual(args, (1045, denied("app", True)))
        self.assert_still_works()

    def test_wrong_password_with_database(self):
        args = self.login_fails("app", "wrong", database=TEST_DB)
        self.assertEqual(args, (1045, denied("app", True)))

    def test_password_prefix_and_case(self):
        for pw in ("ap", "appp", "APP", "app ", " app", "app\x00"):
            with self.subTest(password=pw):
                self.assertEqual(self.login_fails("app", pw), (1045, denied("app", True)))
        self.assert_still_works()

    def test_unknown_user(self):
        args = self.login_fails("nosuchuser", "app")
        self.assertEqual(args, (1045, denied("nosuchuser", True)))
        self.assertEqual(self.login_fails("nosuchuser", ""), (1045, denied("nosuchuser", False)))
        # user names are case-sensitive (MariaDB itself answers 1698 here, so proxy only)
        if not harness.DIRECT:
            self.assertEqual(self.login_fails("APP", "app"), (1045, denied("APP", True)))
        self.assert_still_works()

    def test_no_password(self):
        args = self.login_fails("app", "")
        self.assertEqual(args, (1045, denied("app", False)))
        self.assert_still_works()

    def test_sqlstate_via_cli(self):
        # pymysql drops the SQLSTATE; the CLI prints it
        r = mariadb_cli(self.proxy.port, "-ujunk_cli_user", "-e", "SELECT 1")  # later -u wins
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), "ERROR 1045 (28000): " + denied("junk_cli_user", True))
        r = mariadb_cli(self.proxy.port, "-pnot-the-password", "-e", "SELECT 1")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), "ERROR 1045 (28000): " + denied("app", True))
        r = mariadb_cli(self.proxy.port, "-D", TEST_DB, "-B", "-N", "-e", "SELECT 1")
        self.assertEqual((r.returncode, r.stdout), (0, "1\n"), r.stderr)

    def test_many_sequential_logins(self):
        ids = set()
        for i in range(200):
            c = self.connect(database=TEST_DB if i % 2 else None)
            try:
                with c.cursor() as cur:
                    cur.execute("SELECT %s, CONNECTION_ID()", (i,))
                    got, cid = cur.fetchone()
                    self.assertEqual(got, i, "cycle %d" % i)
                    ids.add(cid)
            finally:
                c.close()
            if i % 50 == 49:
                # interleave a failed login now and then
                self.assertEqual(self.login_fails("app", "bad%d" % i)[0], 1045)
        self.assertGreater(len(ids), 0)
        self.assert_still_works()


if __name__ == "__main__":
    unittest.main(verbosity=2)
