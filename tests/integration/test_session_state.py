#!/usr/bin/python3
"""Session state follows the session to every backend connection it uses.

One "ORM-style" pymysql session (autocommit off, a transaction, then SET NAMES,
user variables, USE / COM_INIT_DB, sql_mode, time_zone, COM_SET_OPTION, a
temporary table) runs straight against the primary and then through the proxy:
every answer must be the same. Through the proxy the reads that carry no
primary-only fact must also have run on a replica (their @@server_id says so),
so the test proves the state was replayed there, not merely that everything
went to the primary. SQL-level PREPARE/EXECUTE is driven by the mariadb CLI.
"""

import os
import struct
import unittest

from pymysql.constants import COMMAND

import harness
from harness import DIRECT, TEST_DB

PID = os.getpid()
P, R = "primary", "replica"


class SessionStateTest(harness.ProxyTestCase):
    # The session writes its table and reads it back at once to see where the read ran: with
    # pinning such reads rightly stay on the primary (test_pinning.py covers that).
    overrides = {("pinning", "mode"): "off"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marker = harness.WhereMarker()
        cls.other_db = "sluice_ss_%d" % PID
        cls.t = "ss_%d" % PID                   # in TEST_DB
        try:
            cls.marker.create()
            with harness.primary_connect() as c, c.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS `%s`.`%s`" % (TEST_DB, cls.t))
                cur.execute("CREATE TABLE `%s`.`%s` (id INT AUTO_INCREMENT PRIMARY KEY, "
                            "note VARCHAR(32))" % (TEST_DB, cls.t))
                cur.execute("INSERT INTO `%s`.`%s` (note) VALUES ('first')" % (TEST_DB, cls.t))
                cur.execute("CREATE DATABASE IF NOT EXISTS `%s`" % cls.other_db)
                cur.execute("CREATE TABLE IF NOT EXISTS `%s`.t (v VARCHAR(16))" % cls.other_db)
                cur.execute("DELETE FROM `%s`.t" % cls.other_db)
                cur.execute("INSERT INTO `%s`.t VALUES ('other')" % cls.other_db)
            harness.wait_replicas_caught_up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            with harness.primary_connect() as c, c.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS `%s`.`%s`" % (TEST_DB, cls.t))
                cur.execute("DROP DATABASE IF EXISTS `%s`" % cls.other_db)
            cls.marker.drop()
        finally:
            super().tearDownClass()

    # ------------------------------------------------------------ the session

    def orm_session(self, connect, note):
        """Run the session on connections from connect(**kw).

        Returns [(label, where, answer, server)]: where is the expected server
        ("primary"/"replica") of a read, answer its rows without the trailing
        @@server_id column, server the name that column gives.
        """
        out = []

        def read(cur, label, where, sql, args=None):
            cur.execute(sql, args)
            rows = cur.fetchall()
            sids = {r[-1] for r in rows}
            server = harness.SERVER_BY_ID.get(sids.pop(), "?") if len(sids) == 1 else repr(sids)
            out.append((label, where, tuple(tuple(r[:-1]) for r in rows), server))

        t, other = self.t, self.other_db
        c = connect(database=TEST_DB, autocommit=False)
        try:
            with c.cursor() as cur:
                # -- an ORM unit of work: autocommit off, read, write, read, commit
                read(cur, "count in transaction", P,
                     "SELECT COUNT(*), @@server_id FROM %s WHERE note='first'" % t)
                cur.execute("INSERT INTO %s (note) VALUES (%%s)" % t, (note,))
                read(cur, "own write visible", P,
                     "SELECT COUNT(*), @@server_id FROM %s WHERE note=%%s" % t, (note,))
                cur.execute("SET @early = 'set in a transaction'")
                cur.execute("SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_TRANS_TABLES'")
                c.commit()
                read(cur, "autocommit=0 after commit", P,
                     "SELECT COUNT(*), @@server_id FROM %s WHERE note=%%s" % t, (note,))
                c.commit()
                c.autocommit(True)
                # -- the first replica read: its connection opens now and must get the
                #    state set so far replayed
                read(cur, "state replayed on a new connection", R,
                     "SELECT @early, @@sql_mode, DATABASE(), @@server_id")
                read(cur, "committed row", R,
                     "SELECT COUNT(*), @@server_id FROM %s WHERE note=%%s" % t, (note,))
                read(cur, "ANSI_QUOTES", R, 'SELECT "note", @@server_id FROM %s WHERE id=1' % t)
                # -- state changed while the replica connection exists
                cur.execute("SET NAMES latin1")
                read(cur, "SET NAMES latin1", R,
                     "SELECT @@character_set_client, @@character_set_connection, "
                     "@@character_set_results, LENGTH(CONVERT('é' USING latin1)), HEX('é'), "
                     "@@server_id")
                cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_bin")
                read(cur, "SET NAMES ... COLLATE", R,
                     "SELECT @@collation_connection, 'a' = 'A', HEX('é'), @@server_id")
                cur.execute("SET @x = 42")
                read(cur, "SET @x", R, "SELECT @x, @@server_id")
                cur.execute("SET @y := 'why', @z = NULL, @x = @x + 1")
                read(cur, "SET several @vars", R, "SELECT @x, @y, @z, @@server_id")
                cur.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")
                read(cur, "SET SESSION sql_mode", R,
                     'SELECT @@sql_mode, @@SESSION.sql_mode, "note", @@server_id FROM %s WHERE id=1' % t)
                cur.execute("SET time_zone = '+05:00'")
                read(cur, "SET time_zone", R, "SELECT @@time_zone, FROM_UNIXTIME(0), @@server_id")
                cur.execute("SET @@session.group_concat_max_len = 5, SESSION div_precision_increment = 2")
                read(cur, "SET @@session.var", R,
                     "SELECT GROUP_CONCAT(n), 1/3, @@server_id FROM "
                     "(SELECT 'abcdefgh' AS n) AS d GROUP BY NULL")
                # -- current database: USE and COM_INIT_DB
                cur.execute("USE `%s`" % other)
                read(cur, "USE", R, "SELECT v, DATABASE(), @@server_id FROM t")
                c.select_db(TEST_DB)
                read(cur, "COM_INIT_DB", R,
                     "SELECT DATABASE(), COUNT(*), @@server_id FROM %s WHERE note=%%s" % t, (note,))
                # -- COM_SET_OPTION: multi-statements on, then a read-only multi-statement
                c._execute_command(COMMAND.COM_SET_OPTION, struct.pack("<H", 0))
                pkt = c._read_packet()
                self.assertTrue(pkt.is_eof_packet() or pkt.is_ok_packet(), pkt._data)
                cur.execute("SELECT 'one', @@server_id; SELECT 'two', @@server_id")
                first = cur.fetchall()
                self.assertTrue(cur.nextset(), "second result of the multi-statement")
                second = cur.fetchall()
                sids = {r[-1] for r in first + second}
                out.append(("COM_SET_OPTION multi-statement", R,
                            (first[0][:-1], second[0][:-1]),
                            harness.SERVER_BY_ID.get(sids.pop(), "?") if len(sids) == 1 else repr(sids)))
                c._execute_command(COMMAND.COM_SET_OPTION, struct.pack("<H", 1))
                c._read_packet()
                # -- a temporary table round trip
                cur.execute("CREATE TEMPORARY TABLE tt_%d (a INT)" % PID)
                cur.execute("INSERT INTO tt_%d VALUES (1), (2), (3)" % PID)
                read(cur, "temporary table", P, "SELECT SUM(a), @@server_id FROM tt_%d" % PID)
                cur.execute("DROP TEMPORARY TABLE tt_%d" % PID)
                read(cur, "after the temporary table", R, "SELECT @x, @y, @@server_id")
        finally:
            c.close()

        # -- state given at the handshake: charset, database, init_command
        c = connect(database=other, charset="latin1", init_command="SET @init = 'yes'")
        try:
            with c.cursor() as cur:
                read(cur, "handshake charset, db, init_command", R,
                     "SELECT @@character_set_client, @@character_set_results, DATABASE(), @init, "
                     "LENGTH(CONVERT('é' USING latin1)), v, @@server_id FROM t")
        finally:
            c.close()
        return out

    # ------------------------------------------------------------ cases

    def test_orm_session(self):
        direct = self.orm_session(harness.primary_connect, "direct_%d" % PID)
        proxied = self.orm_session(self.connect, "proxy_%d" % PID)
        self.assertEqual([x[0] for x in direct], [x[0] for x in proxied])
        for (label, where, want, _), (_, _, got, server) in zip(direct, proxied):
            with self.subTest(step=label):
                # the note differs between the two runs; counts of it do not
                self.assertEqual(got, want, "%s: through the proxy %r (on %s), directly %r"
                                 % (label, got, server, want))
        if DIRECT:
            return
        for label, where, got, server in proxied:
            with self.subTest(step=label, where=where):
                ok = {"primary"} if where == P else set(harness.REPLICAS)
                self.assertIn(server, ok, "%s: expected a %s, ran on %s" % (label, where, server))

    def cli(self, port, sql):
        r = harness.mariadb_cli(port, "-N", "-B", "--database=" + TEST_DB, input=sql)
        return r.returncode, r.stdout, r.stderr

    def test_sql_prepare_cli(self):
        m = self.marker.table
        sql = ("SET @id = 1;\n"
               "PREPARE s FROM 'SELECT server FROM %s WHERE id = ?';\n"
               "EXECUTE s USING @id;\n"
               "SELECT server FROM %s WHERE id = 1;\n"        # a plain read in between
               "PREPARE s2 FROM 'SELECT ? + 1, @@server_id';\n"
               "EXECUTE s2 USING @id;\n"
               "EXECUTE s USING @id;\n"
               "DEALLOCATE PREPARE s;\n"
               "DEALLOCATE PREPARE s2;\n"
               "SELECT server FROM %s WHERE id = @id;\n") % (m, m, m)
        rc_d, out_d, err_d = self.cli(harness.PRIMARY_PORT, sql)
        self.assertEqual((rc_d, err_d), (0, ""), out_d)
        self.assertEqual(out_d.split(), ["primary", "primary", "2", "1", "primary", "primary"])
        rc, out, err = self.cli(self.proxy.port, sql)
        self.assertEqual((rc, err), (0, ""), "mariadb CLI through the proxy:\n%s" % out)
        lines = out.split()
        self.assertEqual(len(lines), 6, out)
        # EXECUTE runs where PREPARE did: the primary
        self.assertEqual(lines[0], "primary", "EXECUTE s (SQL-level prepared statement)")
        self.assertEqual(lines[2:4], ["2", "1"], "EXECUTE s2: ? + 1 and @@server_id")
        self.assertEqual(lines[4], "primary", "EXECUTE s again")
        if not DIRECT:
            self.assertIn(lines[1], harness.REPLICAS, "the plain read between prepares")
            self.assertIn(lines[5], harness.REPLICAS, "SELECT ... WHERE id = @id (SET @id replayed)")

    def test_set_state_then_new_replica_connection_each_time(self):
        """Fresh sessions whose first statement sets state: every read lands on a replica
        and sees it, whichever replica the balancer picks."""
        seen = set()
        for i in range(4):
            c = self.connect(database=TEST_DB)
            try:
                with c.cursor() as cur:
                    cur.execute("SET @v = %s, NAMES latin1", (i,))
                    cur.execute("SELECT @v, @@character_set_client, HEX('é'), @@server_id")
                    v, cs, hx, sid = cur.fetchone()
                    self.assertEqual((v, cs, hx), (i, "latin1", "C3A9"))
                    seen.add(harness.SERVER_BY_ID.get(sid))
            finally:
                c.close()
        if not DIRECT:
            self.assertTrue(seen <= set(harness.REPLICAS), seen)


if __name__ == "__main__":
    unittest.main(verbosity=2)
