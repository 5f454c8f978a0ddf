#!/usr/bin/python3
"""Read/write splitting: which statements run on the primary and which on a replica.

Each server holds a different row in a marker table (harness.WhereMarker), so a
read through the proxy names the server that answered it; statements that are
not reads are checked by their effect on each server, by a file they write, or
by the per-backend query counters of /stats.

With SLUICE_DIRECT=1 every statement runs on the primary: the cases then check
that the statements, the marker and the expected values hold against MariaDB.
"""

import os
import time
import unittest

from pymysql.constants import CLIENT

import harness
from harness import DIRECT, TEST_DB, stats

PID = os.getpid()
REPLICA_SET = frozenset(harness.REPLICAS)
ONLY = "only_%d_" % PID      # table only_<pid>_<server> exists on that server alone


def server_name(v):
    """A marker value ("primary"/"r1"/"r2") or an @@server_id, as a server name."""
    if isinstance(v, int):
        return harness.SERVER_BY_ID.get(v, "server_id=%d" % v)
    if isinstance(v, str) and v.startswith(ONLY):
        return v[len(ONLY):]
    return v


class RoutingTest(harness.ProxyTestCase):
    # The splitting rules alone: with pinning on, a read right after a write (or SHOW after a
    # DDL) rightly goes to the primary for the window. test_pinning.py covers that.
    overrides = {("pinning", "mode"): "off"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marker = harness.WhereMarker()
        cls.m = cls.marker.table
        cls.sel = cls.marker.select
        cls.rw = "`%s`.`rw_%d`" % (TEST_DB, PID)
        cls.seq = "`%s`.`seq_%d`" % (TEST_DB, PID)
        cls.only = ONLY
        cls.files = []
        try:
            cls.marker.create()
            with harness.primary_connect() as c, c.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS %s" % cls.rw)
                cur.execute("CREATE TABLE %s (id INT AUTO_INCREMENT PRIMARY KEY, v INT, "
                            "note VARCHAR(32))" % cls.rw)
                cur.execute("DROP SEQUENCE IF EXISTS %s" % cls.seq)
                cur.execute("CREATE SEQUENCE %s" % cls.seq)
            for name in harness.SERVERS:
                with harness.server_connect(name) as c, c.cursor() as cur:
                    cur.execute("SET SESSION sql_log_bin=0")
                    cur.execute("CREATE TABLE IF NOT EXISTS `%s`.`%s%s` (a INT)"
                                % (TEST_DB, cls.only, name))
            harness.wait_replicas_caught_up()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.stats0 = None if DIRECT else stats(cls.proxy)

    @classmethod
    def tearDownClass(cls):
        try:
            for f in cls.files:
                if os.path.exists(f):
                    os.unlink(f)
            for name in harness.SERVERS:
                with harness.server_connect(name) as c, c.cursor() as cur:
                    cur.execute("SET SESSION sql_log_bin=0")
                    cur.execute("DROP TABLE IF EXISTS `%s`.`%s%s`" % (TEST_DB, cls.only, name))
            with harness.primary_connect() as c, c.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS %s" % cls.rw)
                cur.execute("DROP SEQUENCE IF EXISTS %s" % cls.seq)
            cls.marker.drop()
        finally:
            super().tearDownClass()

    # ------------------------------------------------------------ helpers

    def setUp(self):
        self.sticky = {}      # connection -> the replica its reads went to

    def conn(self, **kw):
        kw.setdefault("database", TEST_DB)
        c = self.connect(**kw)
        self.addCleanup(c.close)
        return c

    def assert_server(self, conn, sql, got, expected):
        """expected: "primary" or "replica"; got: a server name."""
        if DIRECT or expected == "primary":
            want = {"primary"}
        else:
            want = REPLICA_SET
        self.assertIn(got, want, "%r: expected %s, ran on %s" % (sql, expected, got))
        if not DIRECT and got in REPLICA_SET:
            first = self.sticky.setdefault(id(conn), got)
            self.assertEqual(got, first, "%r: the session's reads went to %s before, now to %s "
                             "(a session keeps its replica while it is healthy)" % (sql, first, got))

    def on(self, cur, sql, expected, col=0, args=None):
        """Run sql, take the server name from column col of its first row, check it.

        Returns the first row (None if the statement failed)."""
        with self.subTest(sql=sql, expected=expected):
            cur.execute(sql, args)
            rows = cur.fetchall()
            self.assertTrue(rows, "%r returned no rows" % sql)
            self.assert_server(cur.connection, sql, server_name(rows[0][col]), expected)
            return rows[0]
        return None

    def read(self, cur, expected="replica"):
        return self.on(cur, self.sel, expected)

    def on_primary(self, sql, args=None):
        with harness.primary_connect(database=TEST_DB) as c, c.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()

    def on_each_replica(self, sql, args=None):
        harness.wait_replicas_caught_up()
        out = {}
        for name in harness.REPLICAS:
            with harness.server_connect(name, database=TEST_DB) as c, c.cursor() as cur:
                cur.execute(sql, args)
                out[name] = cur.fetchall()
        return out

    def backend_queries(self):
        return {b["name"]: b["queries"] for b in stats(self.proxy)["backends"]}

    def ran_on(self, cur, sql):
        """Backends whose /stats query counter grew while sql ran (proxy only, quiet proxy)."""
        q0 = self.backend_queries()
        cur.execute(sql)
        cur.fetchall()
        while cur.nextset():
            cur.fetchall()
        deadline = time.monotonic() + 2.0
        while True:
            q1 = self.backend_queries()
            grew = {n for n in q1 if q1[n] > q0.get(n, 0)}
            if grew or time.monotonic() > deadline:
                return grew
            time.sleep(0.05)

    # ------------------------------------------------------------ cases

    def test_00_marker(self):
        """The marker names each server when asked directly."""
        self.assertEqual(self.marker.check(), {n: n for n in harness.SERVERS})
        for name in harness.SERVERS:
            with harness.server_connect(name) as c, c.cursor() as cur:
                cur.execute("SELECT @@server_id")
                self.assertEqual(server_name(cur.fetchone()[0]), name)
                cur.execute("SHOW TABLES FROM `%s` LIKE '%s%%'" % (TEST_DB, self.only))
                self.assertEqual([r[0] for r in cur.fetchall()], [self.only + name])

    def test_plain_reads(self):
        c = self.conn()
        with c.cursor() as cur:
            self.read(cur)
            self.on(cur, self.sel.lower().replace(self.m.lower(), self.m), "replica")
            self.on(cur, "  \n\t" + self.sel, "replica")
            self.on(cur, "SELECT @@server_id", "replica")
            self.on(cur, "SELECT server, @@server_id FROM %s WHERE id=1" % self.m, "replica", col=1)
            # keywords inside strings, identifiers and comments are not statements
            self.on(cur, "SELECT 'DELETE' AS x, server FROM %s WHERE id=1" % self.m, "replica", col=1)
            self.on(cur, "SELECT 'x FOR UPDATE' AS `update`, server FROM %s WHERE id=1" % self.m,
                    "replica", col=1)
            self.on(cur, "SELECT server /* FOR UPDATE */ FROM %s WHERE id=1" % self.m, "replica")
            self.on(cur, "SELECT server FROM %s WHERE id=1 -- FOR UPDATE\n" % self.m, "replica")
            self.on(cur, "SELECT server FROM %s WHERE id=1 # LAST_INSERT_ID()\n" % self.m, "replica")
            self.on(cur, "SELECT \"insert\" AS x, server FROM %s WHERE id=1" % self.m, "replica", col=1)
            # a versioned comment MariaDB executes
            self.on(cur, "/*!40101 %s */" % self.sel, "replica")
            self.on(cur, "SHOW TABLES FROM `%s` LIKE '%s%%'" % (TEST_DB, self.only), "replica")
            self.on(cur, "SHOW TABLES LIKE '%s%%'" % self.only, "replica")    # current database
            cur.execute("SHOW VARIABLES LIKE 'server_id'")
            self.assert_server(c, "SHOW VARIABLES LIKE 'server_id'",
                               server_name(int(cur.fetchone()[1])), "replica")

    @harness.skip_if_direct("checks /stats per-backend counters")
    def test_do_explain_show_by_counters(self):
        c = self.conn()
        with c.cursor() as cur:
            replica = server_name(self.read(cur)[0])
            for sql in ("DO 1", "DO (SELECT COUNT(*) FROM %s)" % self.m,
                        "EXPLAIN %s" % self.sel, "SHOW TABLES", "SHOW DATABASES",
                        "SELECT 1"):
                with self.subTest(sql=sql):
                    grew = self.ran_on(cur, sql)
                    self.assertEqual(grew, {replica}, "%r: expected the session's replica %s, "
                                     "the query counters of %s grew" % (sql, replica, sorted(grew)))
            # and a write only touches the primary
            grew = self.ran_on(cur, "UPDATE %s SET v=v WHERE id=-1" % self.rw)
            self.assertEqual(grew, {"primary"}, "UPDATE: counters of %s grew" % sorted(grew))

    def test_locking_reads(self):
        c = self.conn()
        with c.cursor() as cur:
            self.read(cur)
            self.on(cur, self.sel + " FOR UPDATE", "primary")
            self.on(cur, self.sel + "\n  for\tupdate", "primary")
            self.on(cur, self.sel + " LOCK IN SHARE MODE", "primary")
            self.on(cur, self.sel + " FOR UPDATE NOWAIT", "primary")
            self.on(cur, self.sel + " /*!50000 FOR UPDATE */", "primary")
            # FOR SHARE is MySQL 8 syntax; MariaDB 10.11 rejects it, so it is not exercised
            self.read(cur)

    def test_select_into(self):
        c = self.conn()
        with c.cursor() as cur:
            self.read(cur)
            cur.execute("SELECT server INTO @s FROM %s WHERE id=1" % self.m)
            with self.subTest(sql="SELECT @s after SELECT ... INTO @s"):
                cur.execute("SELECT @s, @@server_id")
                val, sid = cur.fetchone()
                self.assertEqual(val, "primary", "SELECT @s after SELECT server INTO @s (which must "
                                 "run on the primary) gave %r, read on %s" % (val, server_name(sid)))
            for kind in ("OUTFILE", "DUMPFILE"):
                path = "/tmp/sluice_route_%d_%s.txt" % (PID, kind.lower())
                type(self).files.append(path)
                if os.path.exists(path):
                    os.unlink(path)
                sql = "%s INTO %s '%s'" % (self.sel, kind, path)
                with self.subTest(sql=sql):
                    cur.execute(sql)
                    with open(path) as f:
                        got = f.read().strip()
                    self.assert_server(c, sql, got, "primary")
            self.read(cur)

    def test_session_bound_functions(self):
        c = self.conn()
        lock = "sluice_route_%d" % PID
        with c.cursor() as cur:
            self.read(cur)
            cur.execute("INSERT INTO %s (v, note) VALUES (0, 'lii')" % self.rw)
            new_id = cur.lastrowid
            row = self.on(cur, "SELECT LAST_INSERT_ID(), server FROM %s WHERE id=1" % self.m,
                          "primary", col=1)
            self.assertEqual(row and row[0], new_id, "LAST_INSERT_ID()")
            row = self.on(cur, "SELECT GET_LOCK('%s', 0), server FROM %s WHERE id=1" % (lock, self.m),
                          "primary", col=1)
            self.assertEqual(row and row[0], 1, "GET_LOCK")
            row = self.on(cur, "SELECT IS_USED_LOCK('%s') IS NOT NULL, server FROM %s WHERE id=1"
                          % (lock, self.m), "primary", col=1)
            self.assertEqual(row and row[0], 1, "IS_USED_LOCK sees the lock")
            row = self.on(cur, "SELECT RELEASE_LOCK('%s'), server FROM %s WHERE id=1"
                          % (lock, self.m), "primary", col=1)
            self.assertEqual(row and row[0], 1, "RELEASE_LOCK")
            cur.execute("SELECT SQL_CALC_FOUND_ROWS id FROM %s LIMIT 0" % self.rw)
            self.on(cur, "SELECT FOUND_ROWS(), server FROM %s WHERE id=1" % self.m, "primary", col=1)
            self.on(cur, "SELECT ROW_COUNT(), server FROM %s WHERE id=1" % self.m, "primary", col=1)
            self.on(cur, "SELECT CONNECTION_ID(), server FROM %s WHERE id=1" % self.m, "primary", col=1)
            row = self.on(cur, "SELECT NEXTVAL(%s), server FROM %s WHERE id=1" % (self.seq, self.m),
                          "primary", col=1)
            row2 = self.on(cur, "SELECT LASTVAL(%s), server FROM %s WHERE id=1" % (self.seq, self.m),
                           "primary", col=1)
            self.assertEqual(row2 and row2[0], row and row[0], "LASTVAL after NEXTVAL")
            self.on(cur, "SELECT NEXT VALUE FOR %s, server FROM %s WHERE id=1" % (self.seq, self.m),
                    "primary", col=1)
            self.on(cur, "SELECT MASTER_GTID_WAIT('', 0), server FROM %s WHERE id=1" % self.m,
                    "primary", col=1)
            self.read(cur)
        # the sequence moved on the primary only: 1, (LASTVAL), 2, now 3
        prim = self.on_primary("SELECT NEXTVAL(%s)" % self.seq)[0][0]
        self.assertEqual(prim, 3, "NEXTVAL, NEXT VALUE FOR and this one, all on the primary")

    def test_user_variable_assignment(self):
        c = self.conn()
        with c.cursor() as cur:
            self.read(cur)
            row = self.on(cur, "SELECT @a := 7, server FROM %s WHERE id=1" % self.m, "primary", col=1)
            self.assertEqual(row and row[0], 7)
            row = self.on(cur, "SELECT @a, server FROM %s WHERE id=1" % self.m, "primary", col=1)
            self.assertEqual(row and row[0], 7, "@a read back after SELECT @a := 7")
            row = self.on(cur, "SELECT @a + 1 AS b, @@server_id", "primary", col=1)
            self.assertEqual(row and row[0], 8)
            self.read(cur)       # reads without user variables still go to a replica

    def test_writes(self):
        c = self.conn()
        note = "w%d" % PID
        with c.cursor() as cur:
            self.read(cur)
            with self.subTest(sql="INSERT"):
                self.assertEqual(cur.execute("INSERT INTO %s (v, note) VALUES (1, %%s)" % self.rw,
                                             (note,)), 1)
                self.assertEqual(self.on_primary("SELECT COUNT(*), MAX(v) FROM %s WHERE note=%%s"
                                                 % self.rw, (note,)), ((1, 1),))
            with self.subTest(sql="UPDATE"):
                self.assertEqual(cur.execute("UPDATE %s SET v=v+1 WHERE note=%%s" % self.rw,
                                             (note,)), 1)
                self.assertEqual(self.on_primary("SELECT v FROM %s WHERE note=%%s" % self.rw,
                                                 (note,)), ((2,),))
            with self.subTest(sql="INSERT ... SELECT"):
                self.assertEqual(cur.execute("INSERT INTO %s (v, note) SELECT v, 'copy%d' FROM %s "
                                             "WHERE note=%%s" % (self.rw, PID, self.rw), (note,)), 1)
            with self.subTest(sql="REPLACE"):
                cur.execute("REPLACE INTO %s (id, v, note) SELECT id, 10, note FROM %s WHERE note=%%s"
                            % (self.rw, self.rw), ("copy%d" % PID,))
            with self.subTest(sql="DELETE"):
                self.assertEqual(cur.execute("DELETE FROM %s WHERE note=%%s" % self.rw,
                                             ("copy%d" % PID,)), 1)
            self.assertEqual(self.on_primary("SELECT note, v FROM %s WHERE note IN (%%s, %%s) "
                                             "ORDER BY id" % self.rw, (note, "copy%d" % PID)), (("w%d" % PID, 2),))
            # the replicas got each write once, by replication
            for name, rows in self.on_each_replica("SELECT note, v FROM %s WHERE note IN (%%s, %%s) "
                                                   "ORDER BY id" % self.rw,
                                                   (note, "copy%d" % PID)).items():
                self.assertEqual(rows, (("w%d" % PID, 2),), "rows on %s" % name)
            # DDL runs on the primary
            ddl = "`%s`.`ddl_%d`" % (TEST_DB, PID)
            try:
                cur.execute("CREATE TABLE %s (a INT)" % ddl)
                self.assertEqual(self.on_primary("SHOW TABLES LIKE 'ddl_%d'" % PID), (("ddl_%d" % PID,),))
                cur.execute("ALTER TABLE %s ADD COLUMN b INT" % ddl)
                self.assertEqual(len(self.on_primary("SHOW COLUMNS FROM %s" % ddl)), 2)
            finally:
                cur.execute("DROP TABLE IF EXISTS %s" % ddl)
            self.assertEqual(self.on_primary("SHOW TABLES LIKE 'ddl_%d'" % PID), ())
            self.read(cur)

    def test_ddl_with_bodies_not_replayed(self):
        """DDL whose text holds SET/SELECT (routine and trigger bodies, views, CREATE ... SELECT)
        runs once, on the primary, and is never replayed on a replica.

        The session runs with sql_log_bin=0 (session state, so replayed on its replica
        connection too): nothing it does replicates, and a statement wrongly run on a
        replica cannot break replication with a GTID of the replica's own. So each object
        must then exist on the primary and on no replica."""
        objs = [("PROCEDURE", "p_%d" % PID,
                 "CREATE PROCEDURE p_%d(IN x INT, OUT y INT) BEGIN SELECT x AS a; "
                 "SET y = x * 3; END" % PID),
                ("FUNCTION", "f_%d" % PID,
                 "CREATE FUNCTION f_%d(x INT) RETURNS INT DETERMINISTIC BEGIN SET @fx = x; "
                 "RETURN (SELECT x + 1); END" % PID),
                ("TRIGGER", "tr_%d" % PID,
                 "CREATE TRIGGER tr_%d BEFORE INSERT ON %s FOR EACH ROW SET NEW.v = NEW.v + 100"
                 % (PID, self.rw)),
                ("VIEW", "v_%d" % PID, "CREATE VIEW v_%d AS SELECT server FROM %s" % (PID, self.m)),
                ("TABLE", "ctas_%d" % PID,
                 "CREATE TABLE ctas_%d AS SELECT server FROM %s WHERE id=1" % (PID, self.m))]
        exists = {
            "PROCEDURE": "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=%s "
                         "AND ROUTINE_NAME=%s",
            "FUNCTION": "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=%s "
                        "AND ROUTINE_NAME=%s",
            "TRIGGER": "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA=%s "
                       "AND TRIGGER_NAME=%s",
            "VIEW": "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                    "AND TABLE_NAME=%s",
            "TABLE": "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                     "AND TABLE_NAME=%s"}

        def cleanup():
            for name in harness.SERVERS:
                with harness.server_connect(name, database=TEST_DB) as cc, cc.cursor() as cur:
                    cur.execute("SET SESSION sql_log_bin=0")
                    for kind, obj, _ in objs:
                        cur.execute("DROP %s IF EXISTS %s" % (kind, obj))
        cleanup()
        self.addCleanup(cleanup)
        c = self.conn()
        with c.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin=0")
            cur.execute("SELECT @@sql_log_bin, @@server_id")
            row = cur.fetchone()
            if row[0] != 0:
                self.fail("SET SESSION sql_log_bin=0 not in effect where reads run (%r): not "
                          "running DDL that could break replication" % (row,))
            self.read(cur)
            for kind, obj, sql in objs:
                with self.subTest(sql=sql):
                    cur.execute(sql)
                    self.read(cur)          # the replica connection is brought up to date
            c2 = self.conn()                # a session whose replica connection opens later
            with c2.cursor() as cur2:
                cur2.execute("SET SESSION sql_log_bin=0")
                cur2.execute("CREATE OR REPLACE VIEW v_%d AS SELECT id, server FROM %s" % (PID, self.m))
                self.read(cur2)
        for kind, obj, sql in objs:
            with self.subTest(kind=kind, obj=obj):
                where = {}
                for name in harness.SERVERS:
                    with harness.server_connect(name) as cc, cc.cursor() as cur:
                        cur.execute(exists[kind], (TEST_DB, obj))
                        where[name] = cur.fetchone()[0]
                self.assertEqual(where, {"primary": 1, "r1": 0, "r2": 0},
                                 "%s %s through the proxy must exist on the primary only "
                                 "(replicas have it => it ran or was replayed there): %r"
                                 % (kind, obj, where))

    def test_warnings_come_from_the_backend_that_ran_the_statement(self):
        # mysqltest and ORMs read SHOW WARNINGS after a statement: the replica that ran a read
        # holds its warnings; the primary would answer with an empty list.
        c = self.conn(autocommit=True)
        with c.cursor() as cur:
            self.on(cur, "SELECT (%s), 1 + 'a'" % self.sel, "replica")
            cur.execute("SHOW WARNINGS")
            rows = cur.fetchall()
            self.assertEqual([r[1] for r in rows], [1292], "SHOW WARNINGS after a replica read")
            cur.execute("SHOW COUNT(*) WARNINGS")
            self.assertEqual(cur.fetchone()[0], 1)

    def test_transaction(self):
        c = self.conn()
        with c.cursor() as cur:
            self.read(cur)
            cur.execute("BEGIN")
            self.read(cur, "primary")
            self.on(cur, "SELECT @@server_id", "primary")
            cur.execute("COMMIT")
            self.read(cur)
            cur.execute("START TRANSACTION")
            self.read(cur, "primary")
            cur.execute("ROLLBACK")
            self.read(cur)
            c.begin()                                   # pymysql: BEGIN
            self.read(cur, "primary")
            c.commit()
            self.read(cur)
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            self.read(cur, "primary")
            cur.execute("COMMIT")
            self.read(cur)

    def test_autocommit_off(self):
        c = self.conn()
        with c.cursor() as cur:
            self.read(cur)
            cur.execute("SET autocommit=0")
            self.read(cur, "primary")
            self.read(cur, "primary")
            cur.execute("COMMIT")
            self.read(cur, "primary")               # still no autocommit: a new transaction
            cur.execute("SET autocommit=1")
            self.read(cur)
            cur.execute("SET @@session.autocommit = OFF")
            self.read(cur, "primary")
            cur.execute("SET SESSION autocommit = ON")
            self.read(cur)
        c2 = self.conn(autocommit=False)             # pymysql sets autocommit=0 at connect
        with c2.cursor() as cur:
            self.read(cur, "primary")
            c2.commit()
            self.read(cur, "primary")
            c2.autocommit(True)
            self.read(cur)

    def test_read_only_transaction(self):
        seen = set()
        for _ in range(4):                           # new sessions: both replicas should serve
            c = self.conn()
            with c.cursor() as cur:
                cur.execute("START TRANSACTION READ ONLY")
                first = self.read(cur)
                self.on(cur, "SELECT @@server_id", "replica")
                self.on(cur, "SELECT server, COUNT(*) FROM %s WHERE id=1 GROUP BY server" % self.m,
                        "replica")
                self.read(cur)
                cur.execute("COMMIT")
                self.read(cur)
                if first:
                    seen.add(first[0])
        if not DIRECT:
            self.assertTrue(seen <= REPLICA_SET and seen, seen)

    def test_lock_tables(self):
        for mode in ("READ", "WRITE"):
            c = self.conn()
            with c.cursor() as cur:
                self.read(cur)
                cur.execute("LOCK TABLES %s %s" % (self.m, mode))
                self.read(cur, "primary")
                self.on(cur, "SELECT @@server_id", "primary")
                cur.execute("UNLOCK TABLES")
                self.read(cur)

    def test_temporary_table(self):
        c = self.conn()
        tmp = "tmp_route_%d" % PID
        with c.cursor() as cur:
            self.read(cur)
            cur.execute("CREATE TEMPORARY TABLE %s (a INT)" % tmp)
            cur.execute("INSERT INTO %s VALUES (1), (2)" % tmp)
            row = self.on(cur, "SELECT COUNT(*), (%s) FROM %s" % (self.sel, tmp), "primary", col=1)
            self.assertEqual(row and row[0], 2)
            self.on(cur, "SELECT a, @@server_id FROM %s WHERE a=1" % tmp, "primary", col=1)
            self.read(cur)                           # other tables still go to a replica
            cur.execute("DROP TEMPORARY TABLE %s" % tmp)
            self.read(cur)
        # a temporary table hiding a real one: reads of that name must see the temporary one
        c = self.conn()
        with c.cursor() as cur:
            self.read(cur)
            cur.execute("CREATE TEMPORARY TABLE %s (id INT PRIMARY KEY, server VARCHAR(16))" % self.m)
            cur.execute("INSERT INTO %s VALUES (1, 'temporary')" % self.m)
            with self.subTest(sql=self.sel + " (shadowed by a temporary table)"):
                cur.execute(self.sel)
                self.assertEqual(cur.fetchone()[0], "temporary")
            cur.execute("DROP TEMPORARY TABLE %s" % self.m)
            self.read(cur)

    def test_multi_statements(self):
        c = self.conn(client_flag=CLIENT.MULTI_STATEMENTS)
        note = "ms%d" % PID
        with c.cursor() as cur:
            cur.execute("INSERT INTO %s (v, note) VALUES (0, %%s)" % self.rw, (note,))
            sql = "%s; SELECT @@server_id" % self.sel
            with self.subTest(sql=sql):
                cur.execute(sql)
                a = cur.fetchone()[0]
                self.assertTrue(cur.nextset())
                b = server_name(cur.fetchone()[0])
                self.assertEqual(a, b, "both parts of one multi-statement ran on one server")
                self.assert_server(c, sql, a, "replica")
            sql = "%s; UPDATE %s SET v=v+1 WHERE note='%s'" % (self.sel, self.rw, note)
            with self.subTest(sql=sql):
                cur.execute(sql)
                a = cur.fetchone()[0]
                self.assertTrue(cur.nextset())
                self.assertEqual(cur.rowcount, 1)
                self.assert_server(c, sql, a, "primary")
            sql = "%s; SELECT LAST_INSERT_ID(), @@server_id" % self.sel
            with self.subTest(sql=sql):
                cur.execute(sql)
                a = cur.fetchone()[0]
                self.assertTrue(cur.nextset())
                b = server_name(cur.fetchone()[1])
                self.assertEqual(a, b, "both parts of one multi-statement ran on one server")
                self.assert_server(c, sql, a, "primary")
            sql = "%s; %s FOR UPDATE" % (self.sel, self.sel)
            with self.subTest(sql=sql):
                cur.execute(sql)
                a = cur.fetchone()[0]
                self.assertTrue(cur.nextset())
                self.assert_server(c, sql, a, "primary")
            self.read(cur)
        self.assertEqual(self.on_primary("SELECT v FROM %s WHERE note=%%s" % self.rw, (note,)), ((1,),))
        for name, rows in self.on_each_replica("SELECT v FROM %s WHERE note=%%s" % self.rw,
                                               (note,)).items():
            self.assertEqual(rows, ((1,),), "the UPDATE applied once, on %s" % name)

    def test_multi_statement_write_with_set_not_replayed(self):
        """A multi-statement that writes and also sets session state runs once, on the
        primary: the write must not be replayed on the session's replica connections (the
        session may instead stay on the primary), and the state it set is still seen.

        As in test_ddl_with_bodies_not_replayed the session has sql_log_bin=0, so a write
        wrongly run on a replica shows up there without breaking replication."""
        t = "`%s`.`ms_%d`" % (TEST_DB, PID)
        with harness.primary_connect() as c, c.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS %s (a INT)" % t)
        harness.wait_replicas_caught_up()

        def cleanup():
            with harness.primary_connect() as c, c.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS %s" % t)
        self.addCleanup(cleanup)
        c = self.conn(client_flag=CLIENT.MULTI_STATEMENTS)
        with c.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin=0")
            cur.execute("SELECT @@sql_log_bin, @@server_id")
            row = cur.fetchone()
            if row[0] != 0:
                self.fail("SET SESSION sql_log_bin=0 not in effect where reads run (%r)" % (row,))
            self.read(cur)
            for sql in ("INSERT INTO %s VALUES (1); SET @q = 1" % t,
                        "SET @r = 2; INSERT INTO %s VALUES (2)" % t,
                        "UPDATE %s SET a = a + 10; SET SESSION sql_mode = DEFAULT" % t):
                with self.subTest(sql=sql):
                    cur.execute(sql)
                    while cur.nextset():
                        pass
                    # a read: a replica connection, if the session still uses one, is brought
                    # up to date now (staying on the primary from here on is fine too)
                    cur.execute(self.sel)
                    cur.fetchall()
            cur.execute("SELECT @q, @r, @@server_id")
            row = cur.fetchone()
            self.assertEqual(tuple(row[:2]), (1, 2), "@q, @r set by the multi-statements, read "
                             "on %s" % server_name(row[2]))
        c2 = self.conn()                    # a session whose replica connection opens later
        with c2.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin=0")
            self.read(cur)
        got = {}
        for name in harness.SERVERS:
            with harness.server_connect(name) as cc, cc.cursor() as cur:
                cur.execute("SELECT a FROM %s ORDER BY a" % t)
                got[name] = [r[0] for r in cur.fetchall()]
        self.assertEqual(got, {"primary": [11, 12], "r1": [], "r2": []},
                         "rows written by multi-statements (with SET) through the proxy, per server: "
                         "a replica with rows ran or replayed the write")

    def test_hints(self):
        c = self.conn()
        note = "h%d" % PID
        with c.cursor() as cur:
            cur.execute("INSERT INTO %s (v, note) VALUES (0, %%s)" % self.rw, (note,))
            self.read(cur)
            self.on(cur, "/* sluice:primary */ " + self.sel, "primary")
            self.on(cur, "/* sluice:primary */ SELECT @@server_id", "primary")
            self.on(cur, "/*SLUICE:PRIMARY*/ " + self.sel, "primary")
            self.on(cur, self.sel + " -- sluice:primary", "primary")
            self.on(cur, self.sel + " # sluice:primary", "primary")
            self.read(cur)
            # replica hint: soft reasons (session-bound functions) are overridden ...
            self.on(cur, "/* sluice:replica */ SELECT CONNECTION_ID(), server FROM %s WHERE id=1"
                    % self.m, "replica", col=1)
            self.on(cur, "/* sluice:replica */ SELECT LAST_INSERT_ID(), server FROM %s WHERE id=1"
                    % self.m, "replica", col=1)
            # ... but never for a write, a locking read or a transaction
            self.on(cur, "/* sluice:replica */ %s FOR UPDATE" % self.sel, "primary")
            with self.subTest(sql="/* sluice:replica */ UPDATE"):
                self.assertEqual(cur.execute("/* sluice:replica */ UPDATE %s SET v=v+1 WHERE note=%%s"
                                             % self.rw, (note,)), 1)
                self.assertEqual(self.on_primary("SELECT v FROM %s WHERE note=%%s" % self.rw,
                                                 (note,)), ((1,),))
            cur.execute("BEGIN")
            self.on(cur, "/* sluice:replica */ " + self.sel, "primary")
            cur.execute("COMMIT")
            self.read(cur)

    @harness.skip_if_direct("checks /stats")
    def test_zz_stats(self):
        """Runs last: the counters grew by what the cases above did."""
        s0 = type(self).stats0
        want = ("read", "write", "transaction", "read_only_transaction", "lock_tables",
                "locking_read", "select_into", "temporary_table", "multi_statement",
                "session_bound", "user_variable", "hint_primary", "hint_replica")
        s1 = harness.wait_stats(self.proxy, lambda s: all(
            s.get("routes", {}).get(r, 0) > s0.get("routes", {}).get(r, 0) for r in want))
        q0, q1 = s0["queries"], s1["queries"]
        self.assertGreaterEqual(q1["replica"] - q0["replica"], 30, (q0, q1))
        self.assertGreaterEqual(q1["primary"] - q0["primary"], 30, (q0, q1))
        r0, r1 = s0.get("routes", {}), s1.get("routes", {})
        missing = [r for r in want if r1.get(r, 0) <= r0.get(r, 0)]
        self.assertEqual(missing, [], "routes reasons that did not grow: %r (routes before %r, "
                         "after %r)" % (missing, r0, r1))
        self.assertEqual(q1.get("fallback", 0) - q0.get("fallback", 0), 0,
                         "no read fell back to the primary while both replicas were up")
        for name in harness.REPLICAS:
            self.assertGreater(harness.backend(s1, name)["queries"],
                               harness.backend(s0, name)["queries"], "%s served reads" % name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
