/*
 * test_classify.c - unit tests for proxy/classify.c, the SQL classifier behind read/write
 * splitting.
 *
 * The core is a table: one statement per row with the kind, the exact set of facts and
 * all_plain_reads it must get, and for many rows the tables (with the default database "app")
 * it must list. Then the edges: names cut at 64 bytes, no default database, hostile nesting,
 * every prefix of long statements and random bytes, each in a buffer of exactly its length so
 * that AddressSanitizer catches a read past the end.
 */
#include "classify.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Short names for the facts, to keep each case on one line. */
#define WRITE  CLS_WRITE
#define LOCK   CLS_LOCKING
#define INTO   CLS_SELECT_INTO
#define BOUND  CLS_SESSION_BOUND
#define ASSIGN CLS_USER_VAR_ASSIGN
#define VREAD  CLS_USER_VAR_READ
#define STATE  CLS_SESSION_STATE
#define RONLY  CLS_TXN_READ_ONLY
#define AC_OFF CLS_AUTOCOMMIT_OFF
#define AC_ON  CLS_AUTOCOMMIT_ON
#define CTEMP  CLS_CREATE_TEMP
#define DTEMP  CLS_DROP_TEMP
#define MULTI  CLS_MULTI
#define OVER   CLS_TABLES_OVERFLOW
#define HPRI   CLS_HINT_PRIMARY
#define HREP   CLS_HINT_REPLICA

#define PLAIN true /* all_plain_reads */
#define NOT   false

#define DEFAULT_DB "app"
#define E_ACUTE    "\xc3\xa9" /* two bytes of UTF-8 */

struct case_def {
	const char *sql;
	enum cls_kind kind;
	uint32_t flags;
	bool plain;
	/* NULL: not checked; else "db.name" words in order, '!' after a written one */
	const char *tables;
	const char *use_db; /* NULL: must be empty */
};

#define C(sql, kind, flags, plain, tables)                                                         \
	{                                                                                          \
		sql, CLS_KIND_##kind, flags, plain, tables, NULL                                   \
	}
#define U(sql, kind, flags, plain, tables, use_db)                                                 \
	{                                                                                          \
		sql, CLS_KIND_##kind, flags, plain, tables, use_db                                 \
	}

/* clang-format off */
static const struct case_def cases[] = {
    /* ---- strings, comments and quoting hide keywords ---- */
    C("SELECT 1", SELECT, 0, PLAIN, ""),
    C("select * from t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT 'DELETE FROM t'", SELECT, 0, PLAIN, ""),
    C("SELECT /* UPDATE */ 1", SELECT, 0, PLAIN, ""),
    C("SELECT \"last_insert_id()\"", SELECT, 0, PLAIN, ""),
    C("SELECT 'it''s', \"say \"\"hi\"\"\", 'a\\'b FOR UPDATE' FROM t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT 'a\\\\' FROM t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT `from` FROM `t`", SELECT, 0, PLAIN, "app.t"),
    C("SELECT a FROM `we``ird`", SELECT, 0, PLAIN, "app.we`ird"),
    C("SELECT * FROM t -- FOR UPDATE", SELECT, 0, PLAIN, "app.t"),
    C("SELECT * FROM t # FOR UPDATE\n", SELECT, 0, PLAIN, "app.t"),
    C("SELECT 1 --x FROM t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT 1 --\tFROM t", SELECT, 0, PLAIN, ""),
    C("SELECT 1 --'", UNKNOWN, WRITE, NOT, NULL),
    C("SELECT 1 --", SELECT, 0, PLAIN, ""),
    C("SELECT 0x1F, 1e-5, .5, 1.5e+3 FROM t WHERE a = ?", SELECT, 0, PLAIN, "app.t"),
    C("SELECT 'u'@'h'", SELECT, 0, PLAIN, ""),
    C("SELECT 'u' @'h'", SELECT, VREAD, PLAIN, ""),
    /* ---- executable comments are code ---- */
    C("/*!40101 SET NAMES utf8 */", SET, STATE, NOT, ""),
    C("/*!40101 SET NAMES utf8 */;", SET, STATE, NOT, ""),
    C("/*M!100101 SELECT 1 */", SELECT, 0, PLAIN, ""),
    C("/*!50100 UPDATE t SET a = 1 */", UPDATE, WRITE, NOT, "app.t!"),
    C("SELECT /*! STRAIGHT_JOIN */ a FROM t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT * FROM t /*!999999 FOR UPDATE */", SELECT, LOCK, NOT, "app.t"),
    C("SELECT * FROM t /*M!100500 FOR UPDATE*/", SELECT, LOCK, NOT, "app.t"),
    C("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", SET, STATE, NOT, ""),
    /* ---- nothing to run, or text that does not end: the primary ---- */
    C("", UNKNOWN, WRITE, NOT, ""),
    C("  \n\t ", UNKNOWN, WRITE, NOT, ""),
    C("/* only a comment */", UNKNOWN, WRITE, NOT, ""),
    C("-- sluice:replica", UNKNOWN, WRITE | HREP, NOT, ""),
    C(";", UNKNOWN, WRITE, NOT, ""),
    C("42", UNKNOWN, WRITE, NOT, ""),
    C("SELECT 'abc", UNKNOWN, WRITE, NOT, NULL),
    C("SELECT \"abc\\\"", UNKNOWN, WRITE, NOT, NULL),
    C("SELECT `abc", UNKNOWN, WRITE, NOT, NULL),
    C("SELECT 1 /* abc", UNKNOWN, WRITE, NOT, NULL),
    C("/*! SELECT 1", UNKNOWN, WRITE, NOT, NULL),
    C("SELECT @'abc", UNKNOWN, WRITE, NOT, NULL),
    C("SELECT 1; SELECT 'x", UNKNOWN, WRITE | MULTI, NOT, NULL),
    /* ---- routing hints ---- */
    C("/* sluice:primary */ SELECT 1", SELECT, HPRI, NOT, ""),
    C("SELECT 1 -- sluice:replica", SELECT, HREP, PLAIN, ""),
    C("# sluice:replica\nSELECT 1", SELECT, HREP, PLAIN, ""),
    C("SELECT 1 /*SLUICE : Primary*/", SELECT, HPRI, NOT, ""),
    C("SELECT 1 /*  sluice:replica   */", SELECT, HREP, PLAIN, ""),
    C("SELECT '/* sluice:primary */'", SELECT, 0, PLAIN, ""),
    C("SELECT 1 /* sluice:primaryx */", SELECT, 0, PLAIN, ""),
    C("SELECT 1 /* not sluice:primary */", SELECT, 0, PLAIN, ""),
    /* ---- locking reads ---- */
    C("SELECT * FROM (SELECT id FROM a) x FOR UPDATE", SELECT, LOCK, NOT, "app.a"),
    C("SELECT a FROM t UNION SELECT b FROM u LOCK IN SHARE MODE", SELECT, LOCK, NOT, "app.t app.u"),
    C("SELECT * FROM t FOR SHARE", SELECT, LOCK, NOT, "app.t"),
    C("SELECT * FROM t WHERE id = 1 FOR UPDATE NOWAIT", SELECT, LOCK, NOT, "app.t"),
    C("(SELECT a FROM t) UNION (SELECT a FROM u FOR UPDATE)", SELECT, LOCK, NOT, "app.t app.u"),
    /* ---- connection-bound functions and variables ---- */
    C("SELECT LAST_INSERT_ID()", SELECT, BOUND, NOT, ""),
    C("select last_insert_id ()", SELECT, BOUND, NOT, ""),
    C("SELECT last_insert_id /* x */ ()", SELECT, BOUND, NOT, ""),
    C("SELECT last_insert_id FROM t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT db.last_insert_id()", SELECT, 0, PLAIN, ""),
    C("SELECT GET_LOCK('a', 1)", SELECT, BOUND, NOT, ""),
    C("SELECT RELEASE_LOCK('a')", SELECT, BOUND, NOT, ""),
    C("SELECT RELEASE_ALL_LOCKS()", SELECT, BOUND, NOT, ""),
    C("SELECT IS_USED_LOCK('a'), 1", SELECT, BOUND, NOT, ""),
    C("SELECT is_free_lock('a')", SELECT, BOUND, NOT, ""),
    C("SELECT FOUND_ROWS()", SELECT, BOUND, NOT, ""),
    C("SELECT ROW_COUNT()", SELECT, BOUND, NOT, ""),
    C("SELECT CONNECTION_ID()", SELECT, BOUND, NOT, ""),
    C("SELECT NEXTVAL(s)", SELECT, BOUND, NOT, ""),
    C("SELECT LASTVAL(s)", SELECT, BOUND, NOT, ""),
    C("SELECT SETVAL(s, 10)", SELECT, BOUND, NOT, ""),
    C("SELECT MASTER_GTID_WAIT('0-1-100', 1)", SELECT, BOUND, NOT, ""),
    C("SELECT MASTER_POS_WAIT('log.000001', 4)", SELECT, BOUND, NOT, ""),
    C("SELECT NEXT VALUE FOR s", SELECT, BOUND, NOT, ""),
    C("SELECT previous value for db.s", SELECT, BOUND, NOT, ""),
    C("SELECT next FROM t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT @@last_insert_id", SELECT, BOUND, NOT, ""),
    C("SELECT @@IDENTITY", SELECT, BOUND, NOT, ""),
    C("SELECT @@last_gtid", SELECT, BOUND, NOT, ""),
    C("SELECT @@session.warning_count, @@error_count", SELECT, BOUND, NOT, ""),
    C("SELECT @@version, @@global.read_only", SELECT, 0, PLAIN, ""),
    C("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1", SELECT, BOUND, NOT, "app.t"),
    /* ---- user variables ---- */
    C("SELECT @a", SELECT, VREAD, PLAIN, ""),
    C("SELECT @a := 1", SELECT, ASSIGN, NOT, ""),
    C("SELECT @a:=@a + 1", SELECT, ASSIGN | VREAD, NOT, ""),
    C("SELECT @'my var', @`other`, @\"x\", @a.b", SELECT, VREAD, PLAIN, ""),
    C("SELECT * FROM t WHERE a = @a", SELECT, VREAD, PLAIN, "app.t"),
    C("SELECT a INTO @x FROM t", SELECT, INTO | ASSIGN, NOT, "app.t"),
    C("SELECT a, b FROM t INTO @x, @y", SELECT, INTO | ASSIGN, NOT, "app.t"),
    C("SELECT * FROM t INTO OUTFILE '/tmp/x'", SELECT, INTO, NOT, "app.t"),
    C("SELECT * INTO DUMPFILE '/tmp/x' FROM t", SELECT, INTO, NOT, "app.t"),
    /* ---- several statements ---- */
    C("SELECT 1; SELECT 2", SELECT, MULTI, PLAIN, ""),
    C("SELECT 1; UPDATE t SET a=1", SELECT, MULTI | WRITE, NOT, "app.t!"),
    C("SELECT * FROM t; SHOW TABLES; DO 1", SELECT, MULTI, PLAIN, "app.t"),
    C("SELECT 1; SELECT @a := 2", SELECT, MULTI | ASSIGN, NOT, ""),
    C("SELECT 1;", SELECT, 0, PLAIN, ""),
    C("SELECT 1; -- done", SELECT, 0, PLAIN, ""),
    C("SELECT 1 ; /* x */ ;\n", SELECT, 0, PLAIN, ""),
    C("SELECT ';'", SELECT, 0, PLAIN, ""),
    C("BEGIN; SELECT 1", BEGIN, MULTI, NOT, ""),
    U("USE db; SELECT * FROM t", USE, MULTI | STATE, NOT, "db.t", "db"),
    /* ---- FROM and JOIN lists ---- */
    C("SELECT * FROM db1.t1 JOIN `db2`.`t2` ON t1.id = t2.id", SELECT, 0, PLAIN, "db1.t1 db2.t2"),
    C("SELECT * FROM db . t", SELECT, 0, PLAIN, "db.t"),
    C("SELECT u.id, o.total FROM users u INNER JOIN orders o ON o.user_id = u.id LEFT JOIN addresses a ON a.user_id = u.id WHERE u.id = 5", SELECT, 0, PLAIN, "app.users app.orders app.addresses"),
    C("SELECT * FROM (t1, t2) JOIN t3 ON 1", SELECT, 0, PLAIN, "app.t1 app.t2 app.t3"),
    C("SELECT * FROM t FOR SYSTEM_TIME ALL, u", SELECT, 0, PLAIN, "app.t app.u"),
    C("SELECT * FROM t1, t2 AS b, t3 c WHERE b.x = c.x", SELECT, 0, PLAIN, "app.t1 app.t2 app.t3"),
    C("SELECT * FROM t1 LEFT JOIN t2 USING (id) RIGHT OUTER JOIN t3 ON 1 STRAIGHT_JOIN t4 CROSS JOIN t5 NATURAL JOIN t6", SELECT, 0, PLAIN, "app.t1 app.t2 app.t3 app.t4 app.t5 app.t6"),
    C("SELECT * FROM t1 JOIN t2 ON t1.a = (SELECT max(a) FROM t3), t4", SELECT, 0, PLAIN, "app.t1 app.t2 app.t3 app.t4"),
    C("SELECT * FROM t1 LEFT JOIN (t2 JOIN t3 ON t2.a = t3.a) ON t1.a = t2.a", SELECT, 0, PLAIN, "app.t1 app.t2 app.t3"),
    C("SELECT * FROM t1 WHERE EXISTS (SELECT 1 FROM t2) AND a IN (SELECT a FROM t3)", SELECT, 0, PLAIN, "app.t1 app.t2 app.t3"),
    C("SELECT EXTRACT(YEAR FROM d), TRIM(LEADING 'x' FROM s) FROM t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT * FROM t1 FORCE INDEX FOR JOIN (i1) JOIN t2 USE INDEX (i2), t3", SELECT, 0, PLAIN, "app.t1 app.t2 app.t3"),
    C("SELECT * FROM t1 IGNORE INDEX FOR ORDER BY (i) JOIN t2", SELECT, 0, PLAIN, "app.t1 app.t2"),
    C("SELECT * FROM t PARTITION (p0, p1) AS x, u", SELECT, 0, PLAIN, "app.t app.u"),
    C("SELECT * FROM JSON_TABLE('[]', '$[*]' COLUMNS (a INT PATH '$')) AS jt, t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT 1 FROM DUAL", SELECT, 0, PLAIN, ""),
    C("SELECT * FROM t1, LATERAL (SELECT * FROM t2) x", SELECT, 0, PLAIN, "app.t1 app.t2"),
    C("(SELECT a FROM t) UNION (SELECT a FROM u) ORDER BY a", SELECT, 0, PLAIN, "app.t app.u"),
    C("SELECT a FROM t EXCEPT SELECT a FROM u INTERSECT SELECT a FROM v", SELECT, 0, PLAIN, "app.t app.u app.v"),
    C("SELECT COALESCE((SELECT max(a) FROM t), 0)", SELECT, 0, PLAIN, "app.t"),
    C("SELECT a, b FROM t ORDER BY a, b LIMIT 1, 2", SELECT, 0, PLAIN, "app.t"),
    C("SELECT a, SUM(b) FROM t GROUP BY a WITH ROLLUP", SELECT, 0, PLAIN, "app.t"),
    C("SELECT * FROM t JOIN t AS t2 JOIN app.t", SELECT, 0, PLAIN, "app.t"),
    C("SELECT * FROM t WHERE CONVERT(a USING utf8) = 'x'", SELECT, 0, PLAIN, "app.t"),
    C("VALUES (1, 2), (3, 4)", SELECT, 0, PLAIN, ""),
    C("TABLE t", SELECT, 0, PLAIN, "app.t"),
    /* ---- common table expressions ---- */
    C("WITH c AS (SELECT * FROM t) SELECT * FROM c", SELECT, 0, PLAIN, "app.t"),
    C("WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r", SELECT, 0, PLAIN, ""),
    C("WITH a AS (SELECT 1), b AS (SELECT * FROM a JOIN t) SELECT * FROM b, u", SELECT, 0, PLAIN, "app.t app.u"),
    C("WITH c AS (SELECT id FROM t) UPDATE u JOIN c ON u.id = c.id SET u.a = 1", UPDATE, WRITE, NOT, "app.t app.u!"),
    C("WITH c AS (SELECT id FROM t) DELETE FROM u WHERE id IN (SELECT id FROM c)", DELETE, WRITE, NOT, "app.t app.u!"),
    C("WITH c AS (SELECT 1) INSERT INTO u SELECT * FROM c", INSERT, WRITE, NOT, "app.u!"),
    C("WITH c AS (SELECT a FROM t) SELECT * FROM c FOR UPDATE", SELECT, LOCK, NOT, "app.t"),
    C("SELECT * FROM (WITH c AS (SELECT a FROM t) SELECT * FROM c) x", SELECT, 0, PLAIN, "app.t"),
    C("INSERT INTO t WITH c AS (SELECT a FROM u) SELECT * FROM c", INSERT, WRITE, NOT, "app.t! app.u"),
    /* ---- INSERT and REPLACE ---- */
    C("INSERT INTO t VALUES (1)", INSERT, WRITE, NOT, "app.t!"),
    C("insert into db.t (a, b) values (1, 2), (3, 4)", INSERT, WRITE, NOT, "db.t!"),
    C("INSERT LOW_PRIORITY IGNORE INTO t SET a = 1", INSERT, WRITE, NOT, "app.t!"),
    C("INSERT t VALUES (1)", INSERT, WRITE, NOT, "app.t!"),
    C("INSERT INTO t SELECT * FROM u", INSERT, WRITE, NOT, "app.t! app.u"),
    C("INSERT INTO t (a) SELECT a FROM u WHERE b IN (SELECT b FROM v)", INSERT, WRITE, NOT, "app.t! app.u app.v"),
    C("INSERT INTO t (SELECT * FROM u)", INSERT, WRITE, NOT, "app.t! app.u"),
    C("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a), b = 2", INSERT, WRITE, NOT, "app.t!"),
    C("INSERT INTO t SELECT * FROM u ON DUPLICATE KEY UPDATE a = u.a, b = 2", INSERT, WRITE, NOT, "app.t! app.u"),
    C("INSERT INTO t SELECT * FROM t", INSERT, WRITE, NOT, "app.t!"),
    C("INSERT INTO t VALUES (LAST_INSERT_ID())", INSERT, WRITE | BOUND, NOT, "app.t!"),
    C("REPLACE INTO t VALUES (1)", REPLACE, WRITE, NOT, "app.t!"),
    C("REPLACE DELAYED t SELECT * FROM u", REPLACE, WRITE, NOT, "app.t! app.u"),
    /* ---- UPDATE and DELETE ---- */
    C("UPDATE t SET a = 1 WHERE id = 2", UPDATE, WRITE, NOT, "app.t!"),
    C("UPDATE LOW_PRIORITY IGNORE db.t AS x SET x.a = 1", UPDATE, WRITE, NOT, "db.t!"),
    C("UPDATE t1, t2 SET t1.a = t2.a", UPDATE, WRITE, NOT, "app.t1! app.t2!"),
    C("UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = (SELECT max(b) FROM t3)", UPDATE, WRITE, NOT, "app.t1! app.t2! app.t3"),
    C("UPDATE t JOIN (SELECT id FROM u) AS d ON d.id = t.id SET t.a = 1", UPDATE, WRITE, NOT, "app.t! app.u"),
    C("UPDATE t SET a = @x := @x + 1", UPDATE, WRITE | ASSIGN | VREAD, NOT, "app.t!"),
    C("DELETE FROM t WHERE id = 1", DELETE, WRITE, NOT, "app.t!"),
    C("DELETE LOW_PRIORITY QUICK IGNORE FROM t", DELETE, WRITE, NOT, "app.t!"),
    C("DELETE FROM t WHERE id IN (SELECT id FROM u)", DELETE, WRITE, NOT, "app.t! app.u"),
    C("DELETE t1, t2 FROM t1 JOIN t2 ON t1.id = t2.id", DELETE, WRITE, NOT, "app.t1! app.t2!"),
    C("DELETE a FROM t1 AS a JOIN t2 AS b ON a.id = b.id", DELETE, WRITE, NOT, "app.t1! app.t2!"),
    C("DELETE FROM t1 USING t1 JOIN t2 ON t1.id = t2.id", DELETE, WRITE, NOT, "app.t1! app.t2"),
    C("DELETE FROM t RETURNING id", DELETE, WRITE, NOT, "app.t!"),
    /* ---- SET ---- */
    C("SET @a = 1", SET, STATE, NOT, ""),
    C("SET @a := 1, @b = @a", SET, STATE | VREAD, NOT, ""),
    C("SET @id = LAST_INSERT_ID()", SET, STATE | BOUND, NOT, ""),
    C("SET @m = (SELECT max(id) FROM t)", SET, STATE, NOT, "app.t"),
    C("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci", SET, STATE, NOT, ""),
    C("SET CHARACTER SET utf8", SET, STATE, NOT, ""),
    C("SET SESSION sql_mode = 'ANSI'", SET, STATE, NOT, ""),
    C("SET ROLE r", SET, STATE, NOT, ""),
    C("SET GLOBAL max_connections = 100", SET, WRITE, NOT, ""),
    C("SET @@global.max_connections = 100", SET, WRITE, NOT, ""),
    C("SET PERSIST x = 1", SET, WRITE, NOT, ""),
    C("SET PERSIST_ONLY x = 1", SET, WRITE, NOT, ""),
    C("SET GLOBAL a = 1, b = 2", SET, WRITE, NOT, ""),
    C("SET GLOBAL a = 1, SESSION b = 2", SET, WRITE | STATE, NOT, ""),
    C("SET @@global.a = 1, b = 2", SET, WRITE | STATE, NOT, ""),
    C("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", SET, STATE, NOT, ""),
    C("SET TRANSACTION READ ONLY", SET, STATE, NOT, ""),
    C("SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", SET, WRITE, NOT, ""),
    C("SET autocommit = 0", SET, STATE | AC_OFF, NOT, ""),
    C("SET autocommit=1", SET, STATE | AC_ON, NOT, ""),
    C("SET AUTOCOMMIT = OFF", SET, STATE | AC_OFF, NOT, ""),
    C("set autocommit = on", SET, STATE | AC_ON, NOT, ""),
    C("SET autocommit = TRUE", SET, STATE | AC_ON, NOT, ""),
    C("SET autocommit = false", SET, STATE | AC_OFF, NOT, ""),
    C("SET autocommit = 'ON'", SET, STATE | AC_ON, NOT, ""),
    C("SET autocommit := @x", SET, STATE | AC_OFF | VREAD, NOT, ""),
    C("SET @@autocommit = 0", SET, STATE | AC_OFF, NOT, ""),
    C("SET @@session.autocommit=OFF", SET, STATE | AC_OFF, NOT, ""),
    C("SET @@LOCAL.autocommit = 1", SET, STATE | AC_ON, NOT, ""),
    C("SET SESSION autocommit = 1", SET, STATE | AC_ON, NOT, ""),
    C("SET LOCAL autocommit = 0", SET, STATE | AC_OFF, NOT, ""),
    C("SET sql_mode = '', autocommit = 1", SET, STATE | AC_ON, NOT, ""),
    C("SET GLOBAL autocommit = 0", SET, WRITE, NOT, ""),
    C("SET @@global.autocommit = 0", SET, WRITE, NOT, ""),
    C("SET @autocommit = 0", SET, STATE, NOT, ""),
    C("SET PASSWORD = PASSWORD('x')", SET, WRITE, NOT, ""),
    C("SET PASSWORD FOR 'u'@'%' = 'x'", SET, WRITE, NOT, ""),
    C("SET DEFAULT ROLE r FOR u", SET, WRITE, NOT, ""),
    C("SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t", SELECT, 0, PLAIN, "app.t"),
    C("SET STATEMENT sql_mode = '' FOR UPDATE t SET a = 1", UPDATE, WRITE, NOT, "app.t!"),
    /* ---- USE ---- */
    U("USE db", USE, STATE, NOT, "", "db"),
    U("use `my db`", USE, STATE, NOT, "", "my db"),
    U("USE a; USE b", USE, STATE | MULTI, NOT, "", "b"),
    /* ---- transactions ---- */
    C("BEGIN", BEGIN, 0, NOT, ""),
    C("BEGIN WORK", BEGIN, 0, NOT, ""),
    C("START TRANSACTION", BEGIN, 0, NOT, ""),
    C("START TRANSACTION READ ONLY", BEGIN, RONLY, NOT, ""),
    C("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", BEGIN, RONLY, NOT, ""),
    C("start transaction read only, with consistent snapshot", BEGIN, RONLY, NOT, ""),
    C("START TRANSACTION READ WRITE", BEGIN, 0, NOT, ""),
    C("COMMIT", COMMIT, 0, NOT, ""),
    C("COMMIT WORK AND NO CHAIN", COMMIT, 0, NOT, ""),
    C("ROLLBACK", ROLLBACK, 0, NOT, ""),
    C("ROLLBACK WORK", ROLLBACK, 0, NOT, ""),
    C("ROLLBACK TO SAVEPOINT a", SAVEPOINT, 0, NOT, ""),
    C("ROLLBACK WORK TO a", SAVEPOINT, 0, NOT, ""),
    C("SAVEPOINT a", SAVEPOINT, 0, NOT, ""),
    C("RELEASE SAVEPOINT a", SAVEPOINT, 0, NOT, ""),
    /* compound statements and stored programs: one statement to the end of the text, so the
     * SETs and SELECTs of a body are never mistaken for session state or reads */
    C("BEGIN NOT ATOMIC SELECT 1; SET @a = 2; END", OTHER, WRITE, NOT, ""),
    C("CREATE PROCEDURE p(IN x INT, OUT y INT) BEGIN SELECT x; SET y = x * 3; END", DDL, WRITE,
      NOT, ""),
    C("CREATE FUNCTION f(x INT) RETURNS INT BEGIN SET @fx = x; RETURN x + 1; END", DDL, WRITE,
      NOT, ""),
    C("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.v = 1; END", DDL, WRITE,
      NOT, ""),
    C("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; SET @x = 1; END", DDL,
      WRITE, NOT, ""),
    C("XA START 'x'", XA, WRITE, NOT, ""),
    C("XA COMMIT 'x' ONE PHASE", XA, WRITE, NOT, ""),
    /* ---- table locks ---- */
    C("LOCK TABLES t READ", LOCK_TABLES, 0, NOT, "app.t"),
    C("LOCK TABLE t WRITE", LOCK_TABLES, 0, NOT, "app.t!"),
    C("LOCK TABLES t AS a READ LOCAL, db.u WRITE, v LOW_PRIORITY WRITE", LOCK_TABLES, 0, NOT, "app.t db.u! app.v!"),
    C("UNLOCK TABLES", UNLOCK_TABLES, 0, NOT, ""),
    C("LOCK INSTANCE FOR BACKUP", OTHER, WRITE, NOT, ""),
    /* ---- CALL, SHOW, DO, HANDLER, LOAD ---- */
    C("CALL p()", CALL, WRITE, NOT, ""),
    C("CALL db.p(@a, 1)", CALL, WRITE | VREAD, NOT, ""),
    C("SHOW TABLES", SHOW, 0, PLAIN, ""),
    C("SHOW FULL PROCESSLIST", SHOW, 0, PLAIN, ""),
    C("SHOW COLUMNS FROM warnings", SHOW, 0, PLAIN, ""),
    C("SHOW WARNINGS", SHOW, BOUND, NOT, ""),
    C("show errors limit 1", SHOW, BOUND, NOT, ""),
    C("SHOW COUNT(*) WARNINGS", SHOW, BOUND, NOT, ""),
    C("SHOW PROFILES", SHOW, BOUND, NOT, ""),
    C("SHOW PROFILE CPU FOR QUERY 1", SHOW, BOUND, NOT, ""),
    C("DO SLEEP(1)", DO, 0, PLAIN, ""),
    C("DO GET_LOCK('a', 1)", DO, BOUND, NOT, ""),
    C("DO @a := 1", DO, ASSIGN, NOT, ""),
    C("HANDLER t OPEN", HANDLER, BOUND, NOT, "app.t"),
    C("HANDLER db.t OPEN AS h", HANDLER, BOUND, NOT, "db.t"),
    C("HANDLER h READ FIRST", HANDLER, BOUND, NOT, ""),
    C("LOAD DATA INFILE '/tmp/x' INTO TABLE t", LOAD, WRITE, NOT, "app.t!"),
    C("LOAD DATA LOCAL INFILE 'x' REPLACE INTO TABLE db.t FIELDS TERMINATED BY ','", LOAD, WRITE, NOT, "db.t!"),
    C("LOAD XML INFILE 'x' INTO TABLE t ROWS IDENTIFIED BY '<row>'", LOAD, WRITE, NOT, "app.t!"),
    /* ---- EXPLAIN, ANALYZE and the admin statements ---- */
    C("EXPLAIN SELECT * FROM t", EXPLAIN, 0, PLAIN, "app.t"),
    C("EXPLAIN UPDATE t SET a = 1", EXPLAIN, 0, PLAIN, "app.t"),
    C("EXPLAIN FORMAT=JSON DELETE FROM t", EXPLAIN, 0, PLAIN, "app.t"),
    C("EXPLAIN EXTENDED SELECT LAST_INSERT_ID()", EXPLAIN, 0, PLAIN, ""),
    C("EXPLAIN FOR CONNECTION 5", EXPLAIN, 0, PLAIN, ""),
    C("DESCRIBE t", EXPLAIN, 0, PLAIN, "app.t"),
    C("DESC db.t a", EXPLAIN, 0, PLAIN, "db.t"),
    C("EXPLAIN ANALYZE SELECT * FROM t", EXPLAIN, 0, PLAIN, "app.t"),
    C("ANALYZE SELECT * FROM t", EXPLAIN, 0, PLAIN, "app.t"),
    C("ANALYZE UPDATE t SET a = 1", EXPLAIN, WRITE, NOT, "app.t!"),
    C("ANALYZE FORMAT=JSON DELETE FROM t", EXPLAIN, WRITE, NOT, "app.t!"),
    C("ANALYZE TABLE t", ADMIN, WRITE, NOT, "app.t!"),
    C("ANALYZE NO_WRITE_TO_BINLOG TABLE t, u", ADMIN, WRITE, NOT, "app.t! app.u!"),
    C("OPTIMIZE TABLE t", ADMIN, WRITE, NOT, "app.t!"),
    C("REPAIR LOCAL TABLE t QUICK", ADMIN, WRITE, NOT, "app.t!"),
    C("CHECK TABLE t FOR UPGRADE", ADMIN, WRITE, NOT, "app.t"),
    C("CHECKSUM TABLE t, db.u", ADMIN, WRITE, NOT, "app.t db.u"),
    /* ---- SQL-level prepared statements ---- */
    C("PREPARE s FROM 'SELECT * FROM t'", PREPARE, STATE, NOT, ""),
    C("PREPARE s FROM @sql", PREPARE, STATE | VREAD, NOT, ""),
    C("EXECUTE s", EXECUTE, WRITE, NOT, ""),
    C("EXECUTE s USING @a, @b", EXECUTE, WRITE | VREAD, NOT, ""),
    C("DEALLOCATE PREPARE s", DEALLOCATE, STATE, NOT, ""),
    C("DROP PREPARE s", DEALLOCATE, STATE, NOT, ""),
    /* ---- server and account statements ---- */
    C("FLUSH TABLES", FLUSH, WRITE, NOT, ""),
    C("FLUSH TABLES t WITH READ LOCK", FLUSH, WRITE, NOT, ""),
    C("KILL QUERY 5", KILL, WRITE, NOT, ""),
    C("GRANT SELECT ON db.* TO 'u'@'%'", ACCOUNT, WRITE, NOT, ""),
    C("REVOKE ALL ON *.* FROM u", ACCOUNT, WRITE, NOT, ""),
    C("RESET QUERY CACHE", OTHER, WRITE, NOT, ""),
    C("PURGE BINARY LOGS TO 'x'", OTHER, WRITE, NOT, ""),
    C("START SLAVE", OTHER, WRITE, NOT, ""),
    /* ---- DDL ---- */
    C("CREATE TABLE t (a INT)", DDL, WRITE, NOT, "app.t!"),
    C("CREATE TEMPORARY TABLE tt (a int)", DDL, WRITE | CTEMP, NOT, "app.tt!"),
    C("CREATE TEMPORARY TABLE IF NOT EXISTS db.tt SELECT * FROM u", DDL, WRITE | CTEMP, NOT, "db.tt! app.u"),
    C("CREATE OR REPLACE TABLE t LIKE u", DDL, WRITE, NOT, "app.t! app.u"),
    C("CREATE TABLE t (LIKE u)", DDL, WRITE, NOT, "app.t! app.u"),
    C("CREATE TABLE t AS SELECT a FROM u JOIN v", DDL, WRITE, NOT, "app.t! app.u app.v"),
    C("CREATE TABLE t (id INT, FOREIGN KEY (id) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)", DDL, WRITE, NOT, "app.t!"),
    C("CREATE TABLE t (a INT) WITH SYSTEM VERSIONING", DDL, WRITE, NOT, "app.t!"),
    C("CREATE VIEW v AS SELECT * FROM t", DDL, WRITE, NOT, "app.v! app.t"),
    C("CREATE OR REPLACE DEFINER = 'u'@'%' SQL SECURITY INVOKER VIEW v AS SELECT 1", DDL, WRITE, NOT, "app.v!"),
    C("CREATE INDEX i ON t (a)", DDL, WRITE, NOT, "app.t!"),
    C("CREATE UNIQUE INDEX i USING BTREE ON db.t (a)", DDL, WRITE, NOT, "db.t!"),
    C("DROP INDEX i ON t", DDL, WRITE, NOT, "app.t!"),
    C("CREATE SEQUENCE s START WITH 1", DDL, WRITE, NOT, "app.s!"),
    C("CREATE DATABASE d", DDL, WRITE, NOT, ""),
    C("CREATE USER 'u'@'%' IDENTIFIED BY 'x'", DDL, WRITE, NOT, ""),
    C("CREATE DEFINER = CURRENT_USER() PROCEDURE p() SELECT * FROM t", DDL, WRITE, NOT, ""),
    C("ALTER TABLE t ADD COLUMN b INT", DDL, WRITE, NOT, "app.t!"),
    C("ALTER ONLINE IGNORE TABLE t RENAME TO u", DDL, WRITE, NOT, "app.t! app.u!"),
    C("ALTER TABLE t RENAME COLUMN a TO b", DDL, WRITE, NOT, "app.t!"),
    C("ALTER TABLE t EXCHANGE PARTITION p WITH TABLE db.u", DDL, WRITE, NOT, "app.t! db.u!"),
    C("ALTER VIEW v AS SELECT * FROM t", DDL, WRITE, NOT, "app.v! app.t"),
    C("ALTER DATABASE d CHARACTER SET utf8", DDL, WRITE, NOT, ""),
    C("DROP TABLE t", DDL, WRITE, NOT, "app.t!"),
    C("DROP TABLE IF EXISTS t, db.u CASCADE", DDL, WRITE, NOT, "app.t! db.u!"),
    C("DROP TEMPORARY TABLE tt", DDL, WRITE | DTEMP, NOT, "app.tt!"),
    C("DROP VIEW IF EXISTS v", DDL, WRITE, NOT, "app.v!"),
    C("DROP DATABASE d", DDL, WRITE, NOT, ""),
    C("TRUNCATE TABLE t", DDL, WRITE, NOT, "app.t!"),
    C("truncate db.t", DDL, WRITE, NOT, "db.t!"),
    C("RENAME TABLE a TO b, c TO db.d", DDL, WRITE, NOT, "app.a! app.b! app.c! db.d!"),
    C("RENAME USER u TO v", DDL, WRITE, NOT, ""),
};
/* clang-format on */

#define N_CASES ((int)(sizeof(cases) / sizeof(cases[0])))

static void flags_text(uint32_t flags, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int bit = 0; bit < CLS_FLAG_COUNT; bit++)
		if (flags & (1u << bit))
			n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "|" : "",
			                      cls_flag_str(1u << bit));
	if (n == 0)
		snprintf(buf, cap, "-");
}

static void tables_text(const struct cls_result *r, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_tables; i++)
		n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s.%s%s", i ? " " : "",
		                      r->tables[i].db, r->tables[i].name,
		                      r->tables[i].written ? "!" : "");
}

/* Classifies sql from a buffer of exactly its length (no NUL after it). */
static void classify_exact(const char *sql, size_t len, const char *db, struct cls_result *r)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, sql, len);
	classify(copy, len, db, r);
	free(copy);
}

START_TEST(test_classify_case)
{
	const struct case_def *c = &cases[_i];
	struct cls_result r;
	classify_exact(c->sql, strlen(c->sql), DEFAULT_DB, &r);
	ck_assert_msg(r.kind == c->kind, "%s: kind %s, want %s", c->sql, cls_kind_str(r.kind),
	              cls_kind_str(c->kind));
	char got[256], want[256];
	flags_text(r.flags, got, sizeof(got));
	flags_text(c->flags, want, sizeof(want));
	ck_assert_msg(r.flags == c->flags, "%s: flags %s, want %s", c->sql, got, want);
	ck_assert_msg(r.all_plain_reads == c->plain, "%s: all_plain_reads %d", c->sql,
	              r.all_plain_reads);
	if (c->tables) {
		char tables[1024];
		tables_text(&r, tables, sizeof(tables));
		ck_assert_msg(strcmp(tables, c->tables) == 0, "%s: tables \"%s\", want \"%s\"",
		              c->sql, tables, c->tables);
	}
	const char *use_db = c->use_db ? c->use_db : "";
	ck_assert_msg(strcmp(r.use_db, use_db) == 0, "%s: use_db \"%s\"", c->sql, r.use_db);
}
END_TEST

START_TEST(test_names)
{
	for (int k = 0; k < CLS_KIND_COUNT; k++)
		ck_assert_str_ne(cls_kind_str((enum cls_kind)k), "?");
	ck_assert_str_eq(cls_kind_str(CLS_KIND_LOCK_TABLES), "lock_tables");
	ck_assert_str_eq(cls_kind_str(CLS_KIND_COUNT), "?");
	for (int a = 0; a < CLS_FLAG_COUNT; a++) {
		ck_assert_str_ne(cls_flag_str(1u << a), "?");
		for (int b = 0; b < a; b++)
			ck_assert_str_ne(cls_flag_str(1u << a), cls_flag_str(1u << b));
	}
	ck_assert_str_eq(cls_flag_str(CLS_SELECT_INTO), "select_into");
	ck_assert_str_eq(cls_flag_str(CLS_WRITE | CLS_MULTI), "?");
}
END_TEST

static void classify_str(const char *sql, const char *db, struct cls_result *r)
{
	classify_exact(sql, strlen(sql), db, r);
}

START_TEST(test_default_db)
{
	struct cls_result r;
	classify_str("SELECT * FROM t JOIN d.u", NULL, &r);
	ck_assert_uint_eq(r.n_tables, 2);
	ck_assert_str_eq(r.tables[0].db, "");
	ck_assert_str_eq(r.tables[0].name, "t");
	ck_assert_str_eq(r.tables[1].db, "d");
	classify_str("SELECT * FROM t", "", &r);
	ck_assert_str_eq(r.tables[0].db, "");
	/* only len bytes count: no "tx", no second statement */
	const char *sql = "SELECT * FROM tx; DROP TABLE y";
	classify(sql, strlen("SELECT * FROM t"), DEFAULT_DB, &r);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_uint_eq(r.n_tables, 1);
	ck_assert_str_eq(r.tables[0].name, "t");
}
END_TEST

START_TEST(test_long_names)
{
	char a64[65], a100[101], sql[300];
	memset(a64, 'a', 64);
	a64[64] = '\0';
	memset(a100, 'a', 100);
	a100[100] = '\0';
	struct cls_result r;

	snprintf(sql, sizeof(sql), "SELECT * FROM `%s`", a64); /* fits exactly */
	classify_str(sql, DEFAULT_DB, &r);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_str_eq(r.tables[0].name, a64);

	snprintf(sql, sizeof(sql), "SELECT * FROM %sbcdef", a64);
	classify_str(sql, DEFAULT_DB, &r);
	ck_assert_uint_eq(r.flags, CLS_TABLES_OVERFLOW);
	ck_assert(r.all_plain_reads);
	ck_assert_str_eq(r.tables[0].name, a64);

	snprintf(sql, sizeof(sql), "INSERT INTO %sb.t VALUES (1)", a64);
	classify_str(sql, DEFAULT_DB, &r);
	ck_assert_uint_eq(r.flags, CLS_WRITE | CLS_TABLES_OVERFLOW);
	ck_assert_str_eq(r.tables[0].db, a64);

	snprintf(sql, sizeof(sql), "USE `%sb`", a64);
	classify_str(sql, DEFAULT_DB, &r);
	ck_assert_uint_eq(r.flags, CLS_SESSION_STATE | CLS_TABLES_OVERFLOW);
	ck_assert_str_eq(r.use_db, a64);

	/* a character across the limit is left out whole, one before it is kept */
	snprintf(sql, sizeof(sql), "SELECT * FROM `%.63s%s`", a64, E_ACUTE);
	classify_str(sql, DEFAULT_DB, &r);
	ck_assert_uint_eq(r.flags, CLS_TABLES_OVERFLOW);
	ck_assert_str_eq(r.tables[0].name, a64 + 1);
	snprintf(sql, sizeof(sql), "SELECT * FROM `%.62s%sb`", a64, E_ACUTE);
	classify_str(sql, DEFAULT_DB, &r);
	ck_assert_uint_eq(r.flags, CLS_TABLES_OVERFLOW);
	ck_assert_uint_eq(strlen(r.tables[0].name), 64);
	ck_assert_str_eq(r.tables[0].name + 62, E_ACUTE);

	classify_str("SELECT * FROM t", a100, &r); /* an over-long default database */
	ck_assert_uint_eq(r.flags, CLS_TABLES_OVERFLOW);
	ck_assert_str_eq(r.tables[0].db, a64);
}
END_TEST

START_TEST(test_many_tables)
{
	char sql[512] = "SELECT * FROM t0";
	for (int i = 1; i <= CLS_MAX_TABLES; i++)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), ", t%d", i);
	struct cls_result r;
	classify_exact(sql, strlen(sql), DEFAULT_DB, &r);
	ck_assert_uint_eq(r.n_tables, CLS_MAX_TABLES);
	ck_assert_uint_eq(r.flags, CLS_TABLES_OVERFLOW);
	ck_assert_str_eq(r.tables[CLS_MAX_TABLES - 1].name, "t15");
	ck_assert(r.all_plain_reads);

	/* the same table over and over takes one slot */
	strcpy(sql, "SELECT * FROM t");
	for (int i = 0; i < 30; i++)
		strcat(sql, " JOIN t");
	classify_exact(sql, strlen(sql), DEFAULT_DB, &r);
	ck_assert_uint_eq(r.n_tables, 1);
	ck_assert_uint_eq(r.flags, 0);
}
END_TEST

START_TEST(test_hostile_nesting)
{
	enum { DEPTH = 20000 };
	char *sql = malloc(2 * DEPTH + 64);
	size_t n = (size_t)sprintf(sql, "SELECT * FROM ");
	for (int i = 0; i < DEPTH; i++)
		sql[n++] = '(';
	n += (size_t)sprintf(sql + n, "SELECT 1 FROM t");
	for (int i = 0; i < DEPTH; i++)
		sql[n++] = ')';
	struct cls_result r;
	classify_exact(sql, n, DEFAULT_DB, &r);
	ck_assert_int_eq(r.kind, CLS_KIND_SELECT);
	ck_assert(r.flags & CLS_TABLES_OVERFLOW); /* t is too deep to be seen */

	/* statements inside statements give up at a small depth: safe, not deep */
	n = 0;
	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(sql + n, "SET STATEMENT a=1 FOR ");
	n += (size_t)sprintf(sql + n, "SELECT 1");
	classify_exact(sql, n, DEFAULT_DB, &r);
	ck_assert_int_eq(r.kind, CLS_KIND_UNKNOWN);
	ck_assert_uint_eq(r.flags, CLS_WRITE);
	free(sql);
}
END_TEST

/* What must hold for any input at all. */
static void check_invariants(const struct cls_result *r)
{
	ck_assert_int_lt(r->kind, CLS_KIND_COUNT);
	ck_assert_uint_le(r->n_tables, CLS_MAX_TABLES);
	ck_assert_uint_lt(strnlen(r->use_db, CLS_NAME_MAX), CLS_NAME_MAX);
	for (size_t i = 0; i < r->n_tables; i++) {
		ck_assert_uint_lt(strnlen(r->tables[i].db, CLS_NAME_MAX), CLS_NAME_MAX);
		ck_assert_uint_lt(strnlen(r->tables[i].name, CLS_NAME_MAX), CLS_NAME_MAX);
	}
	ck_assert(r->kind != CLS_KIND_UNKNOWN || (r->flags & CLS_WRITE));
	ck_assert(!r->all_plain_reads || !(r->flags & CLS_FORCES_PRIMARY));
}

START_TEST(test_every_prefix)
{
	static const char *const long_ones[] = {
	    "/* sluice:primary */ WITH RECURSIVE c (n) AS (SELECT 1 UNION SELECT n + 1 FROM c) "
	    "SELECT `a``b`.x, 'q''\\'s', \"d\", @v := @@session.last_insert_id, NEXT VALUE FOR s "
	    "FROM db.t1 AS a LEFT JOIN (SELECT * FROM t2 FOR UPDATE) b USING (id), t3 "
	    "WHERE x IN (1, 2) INTO @r; # trailing\nSELECT 1 -- done",
	    "/*!40101 SET @OLD = @@CHARACTER_SET_CLIENT */; /*M!100101 SET autocommit = 0, "
	    "GLOBAL x = 'y' */; INSERT INTO t (a) SELECT LAST_INSERT_ID() FROM u ON DUPLICATE "
	    "KEY UPDATE a = VALUES(a); LOCK TABLES t READ, u WRITE; UNLOCK TABLES;",
	    "CREATE TEMPORARY TABLE IF NOT EXISTS `tt` (LIKE src); ALTER TABLE x RENAME TO y; "
	    "DELETE t1 FROM t1 JOIN t2 USING (id) WHERE t2.a = 'x'; EXPLAIN FORMAT=JSON UPDATE t "
	    "SET a = 1; START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY; SHOW COUNT(*) "
	    "WARNINGS; DROP PREPARE s; LOAD DATA INFILE 'f' INTO TABLE z",
	};
	for (size_t i = 0; i < sizeof(long_ones) / sizeof(long_ones[0]); i++) {
		size_t len = strlen(long_ones[i]);
		for (size_t n = 0; n <= len; n++) {
			struct cls_result r;
			classify_exact(long_ones[i], n, DEFAULT_DB, &r);
			check_invariants(&r);
		}
	}
}
END_TEST

/* Random text: half raw bytes, half a jumble of SQL's sharp edges. */
START_TEST(test_random_input)
{
	/* clang-format off */
	static const char *const pieces[] = {
	    "SELECT ", "FROM ", "t", "`", "'", "\"", "\\", "/*", "*/", "/*!", "/*M!1001 ", "--",
	    "-- ", "#", "\n", "@", "@@", ":=", "(", ")", ",", ";", ".", " ", "WITH ", "JOIN ",
	    "FOR ", "UPDATE ", "SET ", "INTO ", "LOCK ", "IN ", "USE ", "EXPLAIN ", "DELETE ",
	    "LAST_INSERT_ID", "NEXT VALUE FOR ", "sluice:primary", E_ACUTE, "1",
	};
	/* clang-format on */
	const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	srand(20240607);
	char buf[512];
	for (int i = 0; i < 10000; i++) {
		size_t len = 0;
		size_t want = (size_t)(rand() % 300);
		while (len < want) {
			if (i % 2) {
				buf[len++] = (char)(rand() & 0xff);
				continue;
			}
			const char *piece = pieces[(size_t)rand() % n_pieces];
			size_t n = strlen(piece);
			if (len + n > sizeof(buf))
				break;
			memcpy(buf + len, piece, n);
			len += n;
		}
		struct cls_result r;
		classify_exact(buf, len, i % 3 ? DEFAULT_DB : NULL, &r);
		check_invariants(&r);
	}
}
END_TEST

static Suite *classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc = tcase_create("cases");
	tcase_add_loop_test(tc, test_classify_case, 0, N_CASES);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_default_db);
	tcase_add_test(tc, test_long_names);
	tcase_add_test(tc, test_many_tables);
	tcase_add_test(tc, test_hostile_nesting);
	tcase_add_test(tc, test_every_prefix);
	tcase_add_test(tc, test_random_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(classify_suite());
}
