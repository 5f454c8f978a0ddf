#!/usr/bin/python3
"""pymysql through the proxy: types, transactions, big values, errors, COM_* commands."""

import datetime
import decimal
import hashlib
import os
import threading
import unittest

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT

import harness
from harness import TEST_DB


class PyMySQLTest(harness.ProxyTestCase):
    overrides = harness.PRIMARY_ONLY

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.prefix = harness.unique_name("py")
        cls.tables = []

    @classmethod
    def tearDownClass(cls):
        try:
            with harness.primary_connect(database=TEST_DB) as c, c.cursor() as cur:
                for t in cls.tables:
                    cur.execute("DROP TABLE IF EXISTS `%s`" % t)
        finally:
            super().tearDownClass()

    def table(self, suffix, ddl):
        name = "%s_%s" % (self.prefix, suffix)
        self.tables.append(name)
        with self.connect(database=TEST_DB) as c, c.cursor() as cur:
            cur.execute("CREATE TABLE `%s` (%s) DEFAULT CHARSET=utf8mb4" % (name, ddl))
        return name

    def count(self, table, conn=None):
        own = conn is None
        conn = conn or self.connect(database=TEST_DB)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM `%s`" % table)
                return cur.fetchone()[0]
        finally:
            if own:
                conn.close()

    # ------------------------------------------------------------------
    def test_types_round_trip(self):
        t = self.table("types", "id INT AUTO_INCREMENT PRIMARY KEY, i INT, bi BIGINT, "
                       "ub BIGINT UNSIGNED, d DECIMAL(30,10), f DOUBLE, fl FLOAT, dt DATETIME(6), "
                       "da DATE, n VARCHAR(10) NULL, b VARBINARY(300), txt VARCHAR(200)")
        rows = [
            (0, 0, 0, decimal.Decimal("0"), 0.0, 0.0, datetime.datetime(2000, 1, 1),
             datetime.date(2000, 1, 1), None, b"", ""),
            (-2147483648, -2 ** 63, 2 ** 64 - 1, decimal.Decimal("-12345678901234567890.1234567891"),
             -1.5e-300, -3.25, datetime.datetime(1970, 1, 1, 0, 0, 0, 1),
             datetime.date(1000, 1, 1), None, bytes(range(256)), "emoji 🚀🙂 and ünïcödé ✓ 中文"),
            (2147483647, 2 ** 63 - 1, 1, decimal.Decimal("0.0000000001"), 3.141592653589793,
             1.25e10, datetime.datetime(2038, 1, 19, 3, 14, 7, 999999),
             datetime.date(9999, 12, 31), "notnull", b"\x00'\"\\\n\r\x1a%_",
             "quotes ' \" \\ ; -- /* */ %s %(x)s"),
        ]
        with self.connect(database=TEST_DB) as c, c.cursor() as cur:
            for r in rows:
                cur.execute("INSERT INTO `%s` (i, bi, ub, d, f, fl, dt, da, n, b, txt) "
                            "VALUES (%%s,%%s,%%s,%%s,%%s,%%s,%%s,%%s,%%s,%%s,%%s)" % t, r)
                self.assertEqual(cur.rowcount, 1)
                self.assertGreater(cur.lastrowid, 0)
            cur.execute("SELECT i, bi, ub, d, f, fl, dt, da, n, b, txt FROM `%s` ORDER BY id" % t)
            got = cur.fetchall()
            self.assertEqual(len(got), len(rows))
            for want, have in zip(rows, got):
                self.assertEqual(have[:5], want[:5])
                self.assertAlmostEqual(have[5], want[5], places=3)
                self.assertEqual(have[6:], want[6:])
            # parameters in a WHERE clause find the same rows
            for want in rows:
                cur.execute("SELECT COUNT(*) FROM `%s` WHERE bi = %%s AND b = %%s AND txt = %%s" % t,
                            (want[1], want[9], want[10]))
                self.assertEqual(cur.fetchone()[0], 1)
            cur.execute("SELECT %s, %s, %s, %s", (None, 1.5, "x" * 1000, -7))
            self.assertEqual(cur.fetchone(), (None, 1.5, "x" * 1000, -7))

    def test_transactions(self):
        t = self.table("tx", "id INT PRIMARY KEY, v VARCHAR(20)")
        with self.connect(database=TEST_DB) as c, self.connect(database=TEST_DB) as other:
            cur = c.cursor()
            # BEGIN / ROLLBACK leaves nothing
            cur.execute("BEGIN")
            cur.execute("INSERT INTO `%s` VALUES (1,'a'),(2,'b')" % t)
            cur.execute("SELECT COUNT(*) FROM `%s`" % t)
            self.assertEqual(cur.fetchone()[0], 2, "own uncommitted rows visible in the transaction")
            self.assertEqual(self.count(t, other), 0, "uncommitted rows visible to another session")
            cur.execute("ROLLBACK")
            self.assertEqual(self.count(t, c), 0)
            self.assertEqual(self.count(t, other), 0)
            # BEGIN / COMMIT persists
            cur.execute("START TRANSACTION")
            cur.execute("INSERT INTO `%s` VALUES (3,'c')" % t)
            cur.execute("COMMIT")
            self.assertEqual(self.count(t, other), 1)
            # autocommit off: nothing visible until commit(); rollback() undoes
            c.autocommit(False)
            cur.execute("SELECT @@autocommit")
            self.assertEqual(cur.fetchone()[0], 0)
            cur.execute("INSERT INTO `%s` VALUES (4,'d')" % t)
            self.assertEqual(self.count(t, other), 1)
            c.rollback()
            self.assertEqual(self.count(t, c), 1)
            cur.execute("INSERT INTO `%s` VALUES (5,'e')" % t)
            c.commit()
            self.assertEqual(self.count(t, other), 2)
            c.autocommit(True)
            cur.execute("SELECT GROUP_CONCAT(id ORDER BY id) FROM `%s`" % t)
            self.assertEqual(cur.fetchone()[0], "3,5")
            # a failed statement inside a transaction does not end it
            cur.execute("BEGIN")
            cur.execute("INSERT INTO `%s` VALUES (6,'f')" % t)
            with self.assertRaises(pymysql.err.IntegrityError) as cm:
                cur.execute("INSERT INTO `%s` VALUES (6,'dup')" % t)
            self.assertEqual(cm.exception.args[0], 1062)
            cur.execute("SELECT @@in_transaction")
            self.assertEqual(cur.fetchone()[0], 1)
            cur.execute("ROLLBACK")
            self.assertEqual(self.count(t, other), 2)

    def test_big_blob_20mb(self):
        t = self.table("blob", "id INT PRIMARY KEY, data LONGBLOB")
        data = os.urandom(20 * 1024 * 1024)
        want = hashlib.sha256(data).hexdigest()
        with self.connect(database=TEST_DB, max_allowed_packet=256 * 1024 * 1024) as c, c.cursor() as cur:
            cur.execute("INSERT INTO `%s` VALUES (1, %%s)" % t, (data,))
            cur.execute("SELECT LENGTH(data), SHA2(data, 256) FROM `%s` WHERE id = 1" % t)
            self.assertEqual(cur.fetchone(), (len(data), want), "server-side copy differs")
            cur.execute("SELECT data FROM `%s` WHERE id = 1" % t)
            got = cur.fetchone()[0]
            self.assertEqual(len(got), len(data))
            self.assertEqual(hashlib.sha256(got).hexdigest(), want)
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone()[0], 1)

    def test_syntax_error_keeps_connection(self):
        with self.connect() as c, c.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            cid = cur.fetchone()[0]
            for _ in range(3):
                with self.assertRaises(pymysql.err.ProgrammingError) as cm:
                    cur.execute("SELEC 1")
                self.assertEqual(cm.exception.args[0], 1064)
                self.assertIn("You have an error in your SQL syntax", cm.exception.args[1])
                cur.execute("SELECT 42")
                self.assertEqual(cur.fetchone()[0], 42)
            with self.assertRaises(pymysql.err.ProgrammingError) as cm:
                cur.execute("SELECT * FROM no_such_db_xyz.no_such_table")
            self.assertIn(cm.exception.args[0], (1146, 1049))
            cur.execute("SELECT CONNECTION_ID()")
            self.assertEqual(cur.fetchone()[0], cid, "session changed after an error")

    def test_select_100k_rows(self):
        n = 100000
        with self.connect(database=TEST_DB) as c:
            with c.cursor() as cur:
                cur.execute("SELECT seq, CONCAT('row-', seq) FROM seq_1_to_%d" % n)
                rows = cur.fetchall()
                self.assertEqual(len(rows), n)
                self.assertEqual(sum(r[0] for r in rows), n * (n + 1) // 2)
                self.assertEqual(rows[-1], (n, "row-%d" % n))
            # unbuffered (streamed) read of the same, then the session still works
            with c.cursor(pymysql.cursors.SSCursor) as cur:
                cur.execute("SELECT seq FROM seq_1_to_%d" % n)
                total = count = 0
                for (v,) in cur:
                    total += v
                    count += 1
                self.assertEqual((count, total), (n, n * (n + 1) // 2))
            with c.cursor() as cur:
                cur.execute("SELECT 7")
                self.assertEqual(cur.fetchone()[0], 7)

    def test_executemany(self):
        t = self.table("many", "id INT PRIMARY KEY, name VARCHAR(40), score DOUBLE")
        rows = [(i, "name-%d-ü" % i, i / 4) for i in range(1, 2001)]
        with self.connect(database=TEST_DB) as c, c.cursor() as cur:
            n = cur.executemany("INSERT INTO `%s` (id, name, score) VALUES (%%s, %%s, %%s)" % t, rows)
            self.assertEqual(n, len(rows))
            # non-INSERT executemany runs one statement per row
            n = cur.executemany("UPDATE `%s` SET score = score + %%s WHERE id = %%s" % t,
                                [(1, 1), (1, 2), (1, 3)])
            self.assertEqual(n, 3)
            cur.execute("SELECT COUNT(*), SUM(id), SUM(score) FROM `%s`" % t)
            cnt, sid, sscore = cur.fetchone()
            self.assertEqual((cnt, int(sid)), (2000, 2000 * 2001 // 2))
            self.assertAlmostEqual(sscore, sum(r[2] for r in rows) + 3)
            cur.execute("SELECT name FROM `%s` WHERE id = 1999" % t)
            self.assertEqual(cur.fetchone()[0], "name-1999-ü")

    def test_unknown_database(self):
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.connect(database="no_such_db_%d" % os.getpid())
        self.assertEqual(cm.exception.args[0], 1049, cm.exception.args)
        self.assertIn("Unknown database 'no_such_db_%d'" % os.getpid(), cm.exception.args[1])
        # proxy still serves
        with self.connect(database=TEST_DB) as c, c.cursor() as cur:
            cur.execute("SELECT DATABASE()")
            self.assertEqual(cur.fetchone()[0], TEST_DB)

    def test_ping_and_select_db(self):
        with self.connect(read_timeout=10) as c:
            c.ping(reconnect=False)
            with c.cursor() as cur:
                cur.execute("SELECT CONNECTION_ID(), DATABASE()")
                cid, db = cur.fetchone()
                self.assertIsNone(db)
            c.select_db(TEST_DB)
            c.ping(reconnect=False)
            with c.cursor() as cur:
                cur.execute("SELECT CONNECTION_ID(), DATABASE()")
                self.assertEqual(cur.fetchone(), (cid, TEST_DB))
                cur.execute("SELECT COUNT(*) FROM seq_1_to_5")
                self.assertEqual(cur.fetchone()[0], 5)
            c.select_db("mysql")
            with c.cursor() as cur:
                cur.execute("SELECT DATABASE()")
                self.assertEqual(cur.fetchone()[0], "mysql")
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                c.select_db("no_such_db_%d" % os.getpid())
            self.assertEqual(cm.exception.args[0], 1049)
            c.ping(reconnect=False)
            with c.cursor() as cur:
                cur.execute("SELECT DATABASE(), CONNECTION_ID()")
                self.assertEqual(cur.fetchone(), ("mysql", cid))

    def test_warnings(self):
        t = self.table("warn", "id INT PRIMARY KEY, short VARCHAR(5), num TINYINT")
        with self.connect(database=TEST_DB) as c, c.cursor() as cur:
            cur.execute("SET SESSION sql_mode = ''")
            cur.execute("INSERT INTO `%s` VALUES (1, 'much too long', 1000)" % t)
            self.assertEqual(c.affected_rows(), 1)
            self.assertEqual(cur._result.warning_count, 2, "warning count in the OK packet")
            cur.execute("SHOW WARNINGS")
            warns = cur.fetchall()
            codes = sorted(w[1] for w in warns)
            self.assertEqual(codes, [1264, 1265], warns)
            self.assertTrue(all(w[0] == "Warning" for w in warns), warns)
            cur.execute("SELECT short, num FROM `%s`" % t)
            self.assertEqual(cur.fetchone(), ("much ", 127))
            # strict mode makes it an error instead
            cur.execute("SET SESSION sql_mode = 'STRICT_TRANS_TABLES'")
            with self.assertRaises(pymysql.err.DataError) as cm:
                cur.execute("INSERT INTO `%s` VALUES (2, 'much too long', 1)" % t)
            self.assertEqual(cm.exception.args[0], 1406)

    def test_multi_statements_and_procedure(self):
        t = self.table("multi", "id INT PRIMARY KEY")
        proc = self.prefix + "_p"
        with self.connect(database=TEST_DB, client_flag=CLIENT.MULTI_STATEMENTS) as c, c.cursor() as cur:
            cur.execute("SELECT 1; INSERT INTO `%s` VALUES (1),(2); SELECT 2, 'two'; "
                        "SELECT COUNT(*) FROM `%s`" % (t, t))
            sets = [cur.fetchall()]
            while cur.nextset():
                sets.append(cur.fetchall())
            self.assertEqual(sets, [((1,),), (), ((2, "two"),), ((2,),)])
            cur.execute("DROP PROCEDURE IF EXISTS `%s`" % proc)
            cur.execute("CREATE PROCEDURE `%s`(IN n INT) BEGIN SELECT n; "
                        "SELECT seq FROM seq_1_to_3; INSERT INTO `%s` VALUES (n); END" % (proc, t))
            try:
                for n in (10, 11):     # twice: the session must be in step after a CALL
                    cur.execute("CALL `%s`(%%s)" % proc, (n,))
                    sets = [cur.fetchall()]
                    while cur.nextset():
                        sets.append(cur.fetchall())
                    self.assertEqual(sets[:2], [((n,),), ((1,), (2,), (3,))])
                cur.execute("SELECT GROUP_CONCAT(id ORDER BY id) FROM `%s`" % t)
                self.assertEqual(cur.fetchone()[0], "1,2,10,11")
            finally:
                cur.execute("DROP PROCEDURE IF EXISTS `%s`" % proc)

    def test_no_session_state_leak(self):
        # A client's session state must die with it, even if the proxy reuses
        # the backend connection for the next client.
        t = self.table("leak", "id INT PRIMARY KEY")
        for round_ in range(4):
            with self.subTest(round=round_):
                a = self.connect(database=TEST_DB)
                with a.cursor() as cur:
                    cur.execute("SET @leak = 42")
                    cur.execute("SET SESSION sql_mode = 'ANSI_QUOTES'")
                    cur.execute("SET NAMES latin1")
                    cur.execute("CREATE TEMPORARY TABLE leak_tmp (x INT)")
                    cur.execute("BEGIN")
                    cur.execute("INSERT INTO `%s` VALUES (%%s)" % t, (round_,))
                a.close()   # COM_QUIT with the transaction open: it must be rolled back
                b = self.connect()
                try:
                    with b.cursor() as cur:
                        cur.execute("SELECT @leak, @@session.sql_mode = @@global.sql_mode, "
                                    "@@character_set_client, @@in_transaction, DATABASE()")
                        self.assertEqual(cur.fetchone(), (None, 1, "utf8mb4", 0, None))
                        with self.assertRaises(pymysql.err.ProgrammingError):
                            cur.execute("SELECT * FROM %s.leak_tmp" % TEST_DB)
                finally:
                    b.close()
        self.assertEqual(self.count(t), 0, "a closed client's open transaction was committed")

    def test_database_does_not_leak(self):
        # USE or COM_INIT_DB moves a backend connection to another database, and a reset keeps
        # it there: the next client reusing that connection must still get its own database.
        for round_ in range(6):
            with self.subTest(round=round_):
                a = self.connect(database=TEST_DB)
                with a.cursor() as cur:
                    if round_ % 2:
                        cur.execute("USE mysql")
                    else:
                        a.select_db("mysql")
                    cur.execute("SELECT DATABASE()")
                    self.assertEqual(cur.fetchone()[0], "mysql")
                a.close()
                for db in (TEST_DB, None):
                    b = self.connect(database=db) if db else self.connect()
                    try:
                        with b.cursor() as cur:
                            cur.execute("SELECT DATABASE()")
                            self.assertEqual(cur.fetchone()[0], db)
                    finally:
                        b.close()

    def test_several_connections(self):
        n_threads, n_queries = 12, 60
        results, errors = {}, []

        def worker(k):
            try:
                with self.connect(database=TEST_DB) as c, c.cursor() as cur:
                    cur.execute("SELECT CONNECTION_ID()")
                    cid = cur.fetchone()[0]
                    cur.execute("SET @k = %s", (k,))
                    for q in range(n_queries):
                        cur.execute("SELECT @k, %s, CONNECTION_ID(), SUM(seq) FROM seq_1_to_100", (q,))
                        got = cur.fetchone()
                        if got != (k, q, cid, 5050):
                            errors.append("thread %d query %d: got %r" % (k, q, got))
                            return
                    results[k] = cid
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("thread %d: %r" % (k, e))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), n_threads)
        self.assertEqual(len(set(results.values())), n_threads, "sessions shared a backend connection")


if __name__ == "__main__":
    unittest.main(verbosity=2)
