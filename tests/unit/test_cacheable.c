/*
 * test_cacheable.c - unit tests for proxy/cacheable.c: which reads the result cache may answer,
 * the text it keys them by, and the [cache] tables list.
 *
 * The core is a table of statements, each classified as the proxy does (default database "app")
 * from a buffer of exactly its length, so that AddressSanitizer catches a read past the end,
 * with the verdict it must get: cacheable or the exact why, and the hint and TTL. Every rule is
 * there both ways, and so are the realistic reads a cache exists for (sysbench's among them).
 * Then the cache key (a table of texts and keys, the key's invariants over every case, cap
 * edges), the tables list (errors and matching), and every prefix of long statements and random
 * text for the invariants any input must keep.
 */
#include "cacheable.h"
#include "classify.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DB "app"

/* Classifies and inspects sql from a buffer of exactly its length (no NUL after it). */
static void inspect_exact(const char *sql, size_t len, const char *db, struct cache_verdict *v)
{
	char *copy = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, sql, len);
	struct cls_result c;
	classify(copy, len, db, &c);
	cacheable_inspect(copy, len, &c, v);
	free(copy);
}

/* Normalizes sql from a buffer of exactly its length into one of exactly cap bytes. */
static size_t normalize_exact(const char *sql, size_t len, char *out, size_t cap)
{
	char *copy = malloc(len ? len : 1);
	char *dst = malloc(cap ? cap : 1);
	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_nonnull(dst);
	memcpy(copy, sql, len);
	size_t n = cacheable_normalize(copy, len, dst, cap);
	ck_assert_uint_le(n, cap);
	memcpy(out, dst, n);
	free(copy);
	free(dst);
	return n;
}

/* What any verdict must be, whatever the input. */
static void check_verdict(const struct cache_verdict *v)
{
	ck_assert(v->cacheable == (v->why == NULL));
	ck_assert_int_le(v->hint, CACHE_HINT_NOCACHE);
	ck_assert_uint_le(v->ttl_s, CACHE_TTL_MAX);
	ck_assert(v->ttl_s == 0 || v->hint == CACHE_HINT_CACHE);
	ck_assert(!v->cacheable || v->hint != CACHE_HINT_NOCACHE);
}

/* ---- the table of verdicts --------------------------------------------------------------- */

struct verdict_case {
	const char *sql;
	const char *why; /* NULL: cacheable */
	enum cache_hint hint;
	unsigned ttl_s;
};

#define Y(sql)                                                                                     \
	{                                                                                          \
		sql, NULL, CACHE_HINT_NONE, 0                                                      \
	}
#define N(sql, why)                                                                                \
	{                                                                                          \
		sql, why, CACHE_HINT_NONE, 0                                                       \
	}
#define H(sql, why, hint, ttl)                                                                     \
	{                                                                                          \
		sql, why, CACHE_HINT_##hint, ttl                                                   \
	}

#define UNKNOWN_FN "calls a function not known to be deterministic"
#define STORED_FN  "calls a stored function"
#define VARIABLE   "reads a variable"
#define NO_TABLE   "reads no table"
#define SYSTEM     "reads a system schema"
#define NOT_SELECT "not a SELECT"
#define BOUND      "bound to the session"

/* clang-format off */
static const struct verdict_case cases[] = {
    /* ---- sysbench oltp_read_only / oltp_point_select ---- */
    Y("SELECT c FROM sbtest1 WHERE id=?"),
    Y("SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?"),
    Y("SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?"),
    Y("SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c"),
    Y("SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c"),
    Y("SELECT c FROM sbtest1 WHERE id=42"),
    Y("SELECT c FROM sbtest12 WHERE id BETWEEN 10 AND 109"),
    /* ---- realistic reads ---- */
    Y("SELECT * FROM users WHERE id = 42"),
    Y("select name, email from app.users where id in (1, 2, 3)"),
    Y("SELECT COUNT(*) FROM orders WHERE status = 'open'"),
    Y("SELECT COUNT(DISTINCT user_id) FROM orders"),
    Y("SELECT u.name, o.total FROM users u JOIN orders o ON (o.user_id = u.id) WHERE o.total > 100"),
    Y("SELECT * FROM a LEFT JOIN b USING (id) RIGHT JOIN c ON (c.id = b.id)"),
    Y("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id)"),
    Y("SELECT * FROM t WHERE id NOT IN (SELECT t_id FROM u) AND NOT EXISTS(SELECT 1 FROM v)"),
    Y("SELECT status, COUNT(*), AVG(total), MIN(total), MAX(total) FROM orders GROUP BY status "
      "HAVING COUNT(*) > 1 ORDER BY 2 DESC LIMIT 10"),
    Y("SELECT DATE_FORMAT(created_at, '%Y-%m') AS m, SUM(total) FROM orders GROUP BY m"),
    Y("SELECT * FROM events WHERE created_at > DATE_SUB('2024-01-01', INTERVAL 7 DAY)"),
    Y("SELECT * FROM events WHERE created_at > '2024-01-01' - INTERVAL (2 * 3) DAY"),
    Y("SELECT DATEDIFF(shipped_at, created_at), TIMESTAMPDIFF(SECOND, a, b) FROM orders WHERE id = ?"),
    Y("SELECT YEAR(d), MONTH(d), DAY(d), WEEKDAY(d), LAST_DAY(d), DATE(d), TIME(d) FROM t"),
    Y("SELECT STR_TO_DATE('2024-01-01', '%Y-%m-%d'), DATE_ADD(d, INTERVAL 1 MONTH) FROM t"),
    Y("SELECT IF(a > 0, 'pos', 'neg'), IFNULL(b, 0), COALESCE(c, d, 0), NULLIF(e, '') FROM t"),
    Y("SELECT CASE WHEN a = 1 THEN 'one' WHEN (a = 2) THEN 'two' ELSE (a) END FROM t"),
    Y("SELECT CAST(price AS DECIMAL(10,2)), CAST(d AS DATETIME(6)), CONVERT(name USING utf8mb4), "
      "CONVERT(x, CHAR(10)), CAST(y AS UNSIGNED) FROM products"),
    Y("SELECT JSON_EXTRACT(doc, '$.a'), JSON_UNQUOTE(JSON_EXTRACT(doc, '$.b')) FROM docs "
      "WHERE JSON_CONTAINS(tags, '\"x\"')"),
    Y("SELECT JSON_ARRAYAGG(id), JSON_OBJECTAGG(k, v), JSON_OBJECT('a', 1) FROM kv"),
    Y("SELECT jt.a FROM docs, JSON_TABLE(docs.doc, '$[*]' COLUMNS (id FOR ORDINALITY, "
      "a INT PATH '$.a', b VARCHAR(10) PATH '$.b', NESTED PATH '$.c[*]' COLUMNS (c DECIMAL(5,2) "
      "PATH '$'))) AS jt"),
    Y("SELECT id, ROW_NUMBER() OVER (PARTITION BY cat ORDER BY price DESC) AS rn FROM products"),
    Y("SELECT id, RANK() OVER w, SUM(x) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
      "FROM t WINDOW w AS (ORDER BY id)"),
    Y("SELECT NTILE(4) OVER (ORDER BY x), LAG(x, 1) OVER (ORDER BY x), DENSE_RANK() OVER () FROM t"),
    Y("WITH recent AS (SELECT * FROM orders WHERE id > 100) SELECT COUNT(*) FROM recent"),
    Y("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 10) "
      "SELECT n FROM seq JOIN t ON t.id = seq.n"),
    Y("WITH cte (a, b) AS (SELECT 1, 2), `c2`(x) AS (SELECT 3) SELECT * FROM cte JOIN t ON t.a = cte.a"),
    Y("SELECT * FROM (SELECT id, name FROM users) AS x WHERE x.id > 5"),
    Y("SELECT a FROM t1 UNION SELECT a FROM t2 EXCEPT (SELECT a FROM t3)"),
    Y("(SELECT a FROM t1) UNION ALL (SELECT a FROM t2) ORDER BY a"),
    Y("SELECT CONCAT(first, ' ', last), UPPER(city), SUBSTRING(zip, 1, 3), "
      "TRIM(BOTH ' ' FROM name), REPLACE(a, 'x', 'y'), LEFT(b, 2) FROM people"),
    Y("SELECT GROUP_CONCAT(tag ORDER BY tag SEPARATOR ',') FROM tags WHERE post_id = ?"),
    Y("SELECT ROUND(AVG(score), 2), FLOOR(x), CEIL(y), ABS(z), MOD(a, 3), a DIV 2 FROM t"),
    Y("SELECT * FROM t FORCE INDEX (idx_a) WHERE a = 1"),
    Y("SELECT * FROM t USE INDEX FOR JOIN (i) JOIN u IGNORE KEY (k) ON t.id = u.id"),
    Y("SELECT SQL_CACHE id FROM t"),
    Y("SELECT `select`, `from` FROM `my db`.`my table`"),
    Y("SELECT * FROM t WHERE name LIKE 'abc%' ESCAPE '!'"),
    Y("SELECT * FROM t WHERE MATCH (title, body) AGAINST ('database' IN BOOLEAN MODE)"),
    Y("SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4)) AND ROW(a, b) = ROW(1, 2)"),
    Y("SELECT * FROM t WHERE a = ANY (SELECT b FROM u) OR a > ALL(SELECT c FROM v) OR a = SOME (SELECT 1)"),
    Y("SELECT /*+ MAX_EXECUTION_TIME(1000) */ id FROM t"),
    Y("SELECT /*! STRAIGHT_JOIN */ a FROM t, u WHERE t.id = u.id"),
    Y("SELECT * FROM t LIMIT 10 OFFSET 20"),
    Y("SELECT a FROM t WHERE b IS NOT NULL AND (c = 1 OR NOT (d = 2)) XOR (e BETWEEN (1) AND (2))"),
    Y("SELECT HEX(x), MD5(y), SHA2(z, 256), CRC32(w), LENGTH(v), CHAR_LENGTH(u) FROM t"),
    Y("SELECT id FROM t ORDER BY FIELD(status, 'new', 'open', 'closed')"),
    Y("SELECT DISTINCT(c) FROM t"),
    Y("SELECT a FROM t WHERE b IN(1,2) AND c IN('x') AND d REGEXP ('^a')"),
    Y("SELECT * FROM t PARTITION (p0, p1)"),
    Y("TABLE t"),
    Y("SELECT 1 FROM t;"),
    Y("SELECT c FROM sbtest1 WHERE id=? -- fetch the row\n"),
    Y("SELECT x.* FROM t AS x INNER JOIN u ON x.id = u.id WHERE u.v = 'a;b'"),
    Y("SELECT 'NOW()', \"rand()\", `uuid`, 'x@y' FROM t"),
    Y("SELECT * FROM t /* @x NOW() myfn(1) */ WHERE id = 1 # RAND()\n"),
    Y("SELECT user, host, schema_name FROM app.accounts"),
    Y("SELECT VERSION() FROM t"),
    Y("SELECT LEAST(a, b), GREATEST(a, b), ST_Distance(ST_GeomFromText('POINT(1 1)'), pt) FROM places"),
    Y("SELECT count (*) FROM t"),
    Y("SELECT a FROM t WHERE t.b = (SELECT MAX(b) FROM t)"),
    Y("SELECT a FROM shop.items i STRAIGHT_JOIN shop.prices p ON (i.id = p.id) WHERE i.id = ?"),
    Y("SELECT * FROM t1 NATURAL JOIN (t2, t3)"),
    Y("SELECT 0x1F, 1e-5, .5, b'101', X'ff', _utf8mb4'x' COLLATE utf8mb4_bin FROM t"),
    Y("SELECT a FROM t WHERE a <=> NULL OR a = BINARY 'x' OR BINARY(a) = 'y'"),
    Y("select Count(*), sum(k), Json_Length(j) from T"),
    Y("SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x) OVER (PARTITION BY g) FROM t"),
    Y("select `users`.* from `users` where `users`.`id` = ? and `users`.`deleted_at` is null limit 1"),
    Y("SELECT user0_.id AS id1_0_, user0_.name AS name2_0_ FROM users user0_ WHERE user0_.id=?"),
    Y("SELECT SUM(CASE WHEN s = 'a' THEN 1 ELSE 0 END) AS n FROM t WHERE d >= ? AND d < ?"),
    Y("SELECT EXISTS(SELECT 1 FROM t WHERE a = ?) AS e"),
    Y("SELECT * FROM t WHERE a LIKE CONCAT('%', ?, '%') ORDER BY id DESC LIMIT ?, ?"),
    /* ---- what the classifier found ---- */
    N("INSERT INTO t VALUES (1)", NOT_SELECT),
    N("UPDATE t SET a = 1 WHERE id = 2", NOT_SELECT),
    N("DELETE FROM t WHERE id = 2", NOT_SELECT),
    N("SHOW TABLES", NOT_SELECT),
    N("EXPLAIN SELECT * FROM t", NOT_SELECT),
    N("DO 1", NOT_SELECT),
    N("SET @a = 1", NOT_SELECT),
    N("CALL p()", NOT_SELECT),
    N("", NOT_SELECT),
    N("SELECT 'abc FROM t", NOT_SELECT),
    N("SELECT 1 FROM t /* open", NOT_SELECT),
    N("SELECT 1 FROM t; SELECT 2 FROM t", "several statements"),
    N("SELECT 1 FROM t; UPDATE t SET a = 1", "several statements"),
    N("/* sluice:primary */ SELECT * FROM t", "primary hint"),
    N("SELECT * FROM t FOR UPDATE", "locking read"),
    N("SELECT * FROM t LOCK IN SHARE MODE", "locking read"),
    N("SELECT * FROM t FOR SHARE", "locking read"),
    N("SELECT * FROM t INTO OUTFILE '/tmp/x'", "SELECT ... INTO"),
    N("SELECT a INTO @x FROM t", "SELECT ... INTO"),
    N("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1", BOUND),
    N("SELECT LAST_INSERT_ID() FROM t", BOUND),
    N("SELECT NEXT VALUE FOR s FROM t", BOUND),
    N("SELECT @@last_insert_id FROM t", BOUND),
    N("SELECT @a FROM t", VARIABLE),
    N("SELECT * FROM t WHERE id = @id", VARIABLE),
    N("SELECT @a := 1 FROM t", VARIABLE),
    /* ---- tables ---- */
    N("SELECT 1", NO_TABLE),
    N("SELECT 1 FROM DUAL", NO_TABLE),
    N("VALUES (1), (2)", NO_TABLE),
    N("SELECT * FROM (SELECT 1) x", NO_TABLE),
    N("WITH c AS (SELECT 1) SELECT * FROM c", NO_TABLE),
    N("SELECT * FROM information_schema.tables", SYSTEM),
    N("SELECT * FROM Information_Schema.TABLES", SYSTEM),
    N("SELECT user FROM mysql.user", SYSTEM),
    N("SELECT * FROM t JOIN performance_schema.threads p ON t.id = p.thread_id", SYSTEM),
    N("SELECT * FROM SYS.x", SYSTEM),
    N("SELECT * FROM `mysql`.`db`", SYSTEM),
    Y("SELECT * FROM mysqlx.t JOIN system.u ON 1"),
    /* ---- variables and SQL_NO_CACHE ---- */
    N("SELECT @@version FROM t", VARIABLE),
    N("SELECT * FROM t WHERE a = @@session.sql_mode", VARIABLE),
    N("SELECT 'u'@'h' FROM t", VARIABLE),
    N("SELECT SQL_NO_CACHE * FROM t", "SQL_NO_CACHE"),
    N("select sql_no_cache a from t", "SQL_NO_CACHE"),
    N("SELECT /*!40001 SQL_NO_CACHE */ * FROM t", "SQL_NO_CACHE"),
    /* ---- the clock, the connection, chance ---- */
    N("SELECT NOW() FROM t", "calls NOW()"),
    N("SELECT * FROM t WHERE d > now ( )", "calls NOW()"),
    N("SELECT * FROM t WHERE d > CURRENT_TIMESTAMP", "uses CURRENT_TIMESTAMP"),
    N("SELECT * FROM t WHERE d > CURRENT_TIMESTAMP()", "calls CURRENT_TIMESTAMP()"),
    N("SELECT * FROM t WHERE d = current_date", "uses CURRENT_DATE"),
    N("SELECT CURRENT_TIME FROM t", "uses CURRENT_TIME"),
    N("SELECT LOCALTIME FROM t", "uses LOCALTIME"),
    N("SELECT LOCALTIMESTAMP FROM t", "uses LOCALTIMESTAMP"),
    N("SELECT UTC_DATE FROM t", "uses UTC_DATE"),
    N("SELECT UTC_TIME FROM t", "uses UTC_TIME"),
    N("SELECT UTC_TIMESTAMP FROM t", "uses UTC_TIMESTAMP"),
    N("SELECT * FROM t WHERE owner = CURRENT_USER", "uses CURRENT_USER"),
    N("SELECT * FROM t WHERE role = CURRENT_ROLE", "uses CURRENT_ROLE"),
    N("SELECT * FROM t WHERE owner = CURRENT_USER()", "calls CURRENT_USER()"),
    N("SELECT UNIX_TIMESTAMP() FROM t", "calls UNIX_TIMESTAMP()"),
    N("SELECT UNIX_TIMESTAMP(d) FROM t", "calls UNIX_TIMESTAMP()"),
    N("SELECT * FROM t ORDER BY RAND() LIMIT 1", "calls RAND()"),
    N("SELECT * FROM t WHERE d < DATE_SUB(NOW(), INTERVAL 1 DAY)", "calls NOW()"),
    N("SELECT * FROM t WHERE d = CURDATE()", "calls CURDATE()"),
    N("SELECT USER() FROM t", "calls USER()"),
    N("SELECT DATABASE() FROM t", "calls DATABASE()"),
    N("SELECT SCHEMA() FROM t", "calls SCHEMA()"),
    N("SELECT UUID() FROM t", "calls UUID()"),
    N("SELECT SLEEP(1) FROM t", "calls SLEEP()"),
    N("SELECT LOAD_FILE('/etc/passwd') FROM t", "calls LOAD_FILE()"),
    N("SELECT * FROM t WHERE id = 1 /*!50000 AND NOW() > 0 */", "calls NOW()"),
    N("SELECT * FROM t FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP", "uses CURRENT_TIMESTAMP"),
    N("SELECT t.current_date FROM t", "uses CURRENT_DATE"), /* over-cautious, never wrong */
    /* ---- calls not known to be deterministic ---- */
    N("SELECT myfunc(a) FROM t", UNKNOWN_FN),
    N("SELECT a FROM t WHERE f (a) = 1", UNKNOWN_FN),
    N("SELECT DEFAULT(a) FROM t", UNKNOWN_FN),
    N("SELECT ENCRYPT('x') FROM t", UNKNOWN_FN),
    N("SELECT * FROM t WHERE a = json(1)", UNKNOWN_FN),
    N("SELECT app.myfunc(a) FROM t", STORED_FN),
    N("SELECT app.count(a) FROM t", STORED_FN),
    N("SELECT `myfunc`(a) FROM t", STORED_FN),
    N("SELECT `app`.`f`(a) FROM t", STORED_FN),
    N("SELECT `count`(*) FROM t", STORED_FN),
    N("SELECT f(a) AS x FROM t", UNKNOWN_FN),
    N("SELECT * FROM (SELECT a FROM t) AS dt (a)", UNKNOWN_FN), /* a derived column list: refused */
    /* ---- hints ---- */
    H("/* sluice:cache */ SELECT * FROM t", NULL, CACHE, 0),
    H("/* sluice:cache ttl=60 */ SELECT * FROM t", NULL, CACHE, 60),
    H("SELECT * FROM t /*SLUICE : Cache TTL = 3600*/", NULL, CACHE, 3600),
    H("SELECT * FROM t /* sluice:cache ttl=1 */", NULL, CACHE, 1),
    H("SELECT * FROM t /* sluice:cache ttl=3601 */", NULL, CACHE, 0),
    H("SELECT * FROM t /* sluice:cache ttl=0 */", NULL, CACHE, 0),
    H("SELECT * FROM t /* sluice:cache ttl=abc */", NULL, CACHE, 0),
    H("SELECT * FROM t /* sluice:cache ttl=60s */", NULL, CACHE, 0),
    H("SELECT * FROM t /* sluice:cache ttl= */", NULL, CACHE, 0),
    H("SELECT * FROM t /* sluice:cache ttl=-5 */", NULL, CACHE, 0),
    H("SELECT * FROM t /* sluice:cache ttl=99999999999999999999999 */", NULL, CACHE, 0),
    H("SELECT * FROM t /* sluice:cache ttl=0060 */", NULL, CACHE, 60),
    H("-- sluice:cache ttl=5\nSELECT * FROM t", NULL, CACHE, 5),
    H("# sluice:cache ttl=7\nSELECT * FROM t", NULL, CACHE, 7),
    H("SELECT * FROM t -- sluice:cache ttl=9", NULL, CACHE, 9),
    H("SELECT * FROM t; /* sluice:cache ttl=11 */", NULL, CACHE, 11),
    H("/* sluice:cache ttl=60 */ SELECT NOW() FROM t", "calls NOW()", CACHE, 60),
    H("/* sluice:cache */ SELECT * FROM mysql.user", SYSTEM, CACHE, 0),
    H("/* sluice:cache */ INSERT INTO t VALUES (1)", NOT_SELECT, CACHE, 0),
    H("/* sluice:nocache */ SELECT * FROM t", "nocache hint", NOCACHE, 0),
    H("SELECT * FROM t -- SLUICE:NOCACHE", "nocache hint", NOCACHE, 0),
    H("/* sluice:nocache */ SELECT NOW() FROM t", "calls NOW()", NOCACHE, 0),
    H("/* sluice:cache ttl=5 */ SELECT * FROM t /* sluice:nocache */", "nocache hint", NOCACHE, 0),
    H("/* sluice:nocache */ SELECT * FROM t /* sluice:cache ttl=5 */", "nocache hint", NOCACHE, 0),
    H("/* sluice:cache */ SELECT * FROM t /* sluice:cache ttl=8 */", NULL, CACHE, 8),
    H("/* sluice:replica */ /* sluice:cache ttl=2 */ SELECT * FROM t", NULL, CACHE, 2),
    H("SELECT * FROM t /* sluice:cachex */", NULL, NONE, 0),
    H("SELECT * FROM t /* sluice:nocache_please */", NULL, NONE, 0),
    H("SELECT * FROM t /* please sluice:nocache */", NULL, NONE, 0),
    H("SELECT * FROM t /*+ sluice:nocache */", NULL, NONE, 0),
    H("SELECT 'sluice:nocache', `sluice:nocache` FROM t", NULL, NONE, 0),
    H("SELECT * FROM t /* sluice:primary */", "primary hint", NONE, 0),
    H("SELECT * FROM t /* sluice:replica */", NULL, NONE, 0),
};
/* clang-format on */

#define N_CASES ((int)(sizeof(cases) / sizeof(cases[0])))

START_TEST(test_verdict_case)
{
	const struct verdict_case *c = &cases[_i];
	struct cache_verdict v;
	inspect_exact(c->sql, strlen(c->sql), DEFAULT_DB, &v);
	check_verdict(&v);
	if (c->why)
		ck_assert_msg(v.why && strcmp(v.why, c->why) == 0, "%s: why \"%s\", want \"%s\"",
		              c->sql, v.why ? v.why : "(cacheable)", c->why);
	else
		ck_assert_msg(v.cacheable, "%s: not cacheable: %s", c->sql, v.why);
	ck_assert_msg(v.hint == c->hint, "%s: hint %d, want %d", c->sql, v.hint, c->hint);
	ck_assert_msg(v.ttl_s == c->ttl_s, "%s: ttl %u, want %u", c->sql, v.ttl_s, c->ttl_s);
}
END_TEST

/* Every built-in the rules name, called: never cacheable, whatever else the statement is. */
START_TEST(test_volatile_calls)
{
	static const char *const names[] = {"NOW",
	                                    "SYSDATE",
	                                    "CURDATE",
	                                    "CURTIME",
	                                    "CURRENT_DATE",
	                                    "CURRENT_TIME",
	                                    "CURRENT_TIMESTAMP",
	                                    "LOCALTIME",
	                                    "LOCALTIMESTAMP",
	                                    "UTC_DATE",
	                                    "UTC_TIME",
	                                    "UTC_TIMESTAMP",
	                                    "UNIX_TIMESTAMP",
	                                    "RAND",
	                                    "RANDOM_BYTES",
	                                    "UUID",
	                                    "UUID_SHORT",
	                                    "SYS_GUID",
	                                    "CURRENT_USER",
	                                    "CURRENT_ROLE",
	                                    "USER",
	                                    "SESSION_USER",
	                                    "SYSTEM_USER",
	                                    "CONNECTION_ID",
	                                    "DATABASE",
	                                    "SCHEMA",
	                                    "LAST_INSERT_ID",
	                                    "FOUND_ROWS",
	                                    "ROW_COUNT",
	                                    "SLEEP",
	                                    "BENCHMARK",
	                                    "GET_LOCK",
	                                    "RELEASE_LOCK",
	                                    "IS_FREE_LOCK",
	                                    "IS_USED_LOCK",
	                                    "MASTER_POS_WAIT",
	                                    "MASTER_GTID_WAIT",
	                                    "LOAD_FILE",
	                                    "NEXTVAL",
	                                    "LASTVAL",
	                                    "SETVAL",
	                                    "now",
	                                    "Rand"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "SELECT a FROM t WHERE b = %s(1)", names[i]);
		struct cache_verdict v;
		inspect_exact(sql, strlen(sql), DEFAULT_DB, &v);
		check_verdict(&v);
		ck_assert_msg(!v.cacheable, "%s is cacheable", sql);
		/* with a sluice:cache hint too: the hint overrides only the tables list */
		snprintf(sql, sizeof(sql), "/* sluice:cache ttl=9 */ SELECT %s() FROM t", names[i]);
		inspect_exact(sql, strlen(sql), DEFAULT_DB, &v);
		ck_assert_msg(!v.cacheable && v.hint == CACHE_HINT_CACHE && v.ttl_s == 9, "%s",
		              sql);
	}
	/* and the sequence forms, which take no parentheses */
	static const char *const sequences[] = {"SELECT NEXT VALUE FOR s FROM t",
	                                        "SELECT PREVIOUS VALUE FOR s FROM t",
	                                        "SELECT a FROM t WHERE b = next value for app.s"};
	for (size_t i = 0; i < sizeof(sequences) / sizeof(sequences[0]); i++) {
		struct cache_verdict v;
		inspect_exact(sequences[i], strlen(sequences[i]), DEFAULT_DB, &v);
		ck_assert_msg(!v.cacheable, "%s is cacheable", sequences[i]);
	}
}
END_TEST

/* The lexical rules on their own, with a classification that lets everything else through:
 * whatever the classifier makes of these texts, the token pass must refuse them. */
START_TEST(test_lexical_alone)
{
	static const struct {
		const char *sql, *why;
	} rows[] = {
	    {"SELECT NEXT VALUE FOR s FROM t", "uses NEXT VALUE FOR"},
	    {"SELECT PREVIOUS VALUE FOR s FROM t", "uses PREVIOUS VALUE FOR"},
	    {"SELECT LAST_INSERT_ID() FROM t", "calls LAST_INSERT_ID()"},
	    {"SELECT GET_LOCK('a', 1) FROM t", "calls GET_LOCK()"},
	    {"SELECT @a FROM t", VARIABLE},
	    {"SELECT @@identity FROM t", VARIABLE},
	    {"SELECT SQL_NO_CACHE 1 FROM t", "SQL_NO_CACHE"},
	    {"SELECT db.f() FROM t", STORED_FN},
	    {"SELECT a FROM t", NULL},
	};
	struct cls_result c = {.kind = CLS_KIND_SELECT, .all_plain_reads = true, .n_tables = 1};
	strcpy(c.tables[0].db, "app");
	strcpy(c.tables[0].name, "t");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cache_verdict v;
		cacheable_inspect(rows[i].sql, strlen(rows[i].sql), &c, &v);
		check_verdict(&v);
		if (rows[i].why)
			ck_assert_msg(v.why && strcmp(v.why, rows[i].why) == 0, "%s: %s",
			              rows[i].sql, v.why ? v.why : "(cacheable)");
		else
			ck_assert_msg(v.cacheable, "%s: %s", rows[i].sql, v.why);
	}
}
END_TEST

/* Each fact the classifier may report, alone on an otherwise cacheable read. */
START_TEST(test_facts)
{
	static const struct {
		uint32_t flags;
		bool plain;
		const char *why;
	} rows[] = {
	    {0, true, NULL},
	    {0, false, "not a plain read"},
	    {CLS_MULTI, true, "several statements"},
	    {CLS_TABLES_OVERFLOW, true, "too many tables"},
	    {CLS_HINT_PRIMARY, false, "primary hint"},
	    {CLS_LOCKING, false, "locking read"},
	    {CLS_SELECT_INTO, false, "SELECT ... INTO"},
	    {CLS_SESSION_BOUND, false, BOUND},
	    {CLS_USER_VAR_READ, true, VARIABLE},
	    {CLS_USER_VAR_ASSIGN, false, VARIABLE},
	    {CLS_WRITE, false, "runs on the primary"},
	    {CLS_SESSION_STATE, false, "runs on the primary"},
	    {CLS_HINT_REPLICA, true, NULL},
	};
	const char *sql = "SELECT a FROM t";
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cls_result c = {.kind = CLS_KIND_SELECT,
		                       .flags = rows[i].flags,
		                       .all_plain_reads = rows[i].plain,
		                       .n_tables = 1};
		strcpy(c.tables[0].db, "app");
		strcpy(c.tables[0].name, "t");
		struct cache_verdict v;
		cacheable_inspect(sql, strlen(sql), &c, &v);
		check_verdict(&v);
		if (rows[i].why)
			ck_assert_msg(v.why && strcmp(v.why, rows[i].why) == 0, "row %zu: %s", i,
			              v.why ? v.why : "(cacheable)");
		else
			ck_assert_msg(v.cacheable, "row %zu: %s", i, v.why);
	}
	/* a kind other than SELECT, even one of the plain reads */
	struct cls_result c = {.kind = CLS_KIND_SHOW, .all_plain_reads = true, .n_tables = 1};
	strcpy(c.tables[0].db, "app");
	struct cache_verdict v;
	cacheable_inspect(sql, strlen(sql), &c, &v);
	ck_assert_str_eq(v.why, NOT_SELECT);
}
END_TEST

START_TEST(test_no_default_db)
{
	struct cache_verdict v;
	const char *sql = "SELECT c FROM sbtest1 WHERE id = ?";
	inspect_exact(sql, strlen(sql), NULL, &v);
	ck_assert_str_eq(v.why, "no default database");
	inspect_exact(sql, strlen(sql), "", &v);
	ck_assert_str_eq(v.why, "no default database");
	sql = "SELECT c FROM sbtest.sbtest1 WHERE id = ?";
	inspect_exact(sql, strlen(sql), NULL, &v);
	ck_assert(v.cacheable);
	sql = "SELECT * FROM sbtest.sbtest1 JOIN sbtest2 USING (id)";
	inspect_exact(sql, strlen(sql), NULL, &v);
	ck_assert_str_eq(v.why, "no default database");
	/* USE in the same text would be a second statement */
	sql = "USE sbtest; SELECT c FROM sbtest1";
	inspect_exact(sql, strlen(sql), NULL, &v);
	ck_assert_str_eq(v.why, NOT_SELECT);
}
END_TEST

START_TEST(test_many_tables)
{
	char sql[1024] = "SELECT * FROM t0";
	for (int i = 1; i < CLS_MAX_TABLES; i++)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " JOIN t%d ON 1", i);
	struct cache_verdict v;
	inspect_exact(sql, strlen(sql), DEFAULT_DB, &v);
	ck_assert_msg(v.cacheable, "%s", v.why); /* 16 tables: all listed */
	strcat(sql, " JOIN t99 ON 1");
	inspect_exact(sql, strlen(sql), DEFAULT_DB, &v);
	ck_assert_str_eq(v.why, "too many tables");
}
END_TEST

/* ---- the cache key ----------------------------------------------------------------------- */

struct key_case {
	const char *sql;
	const char *key; /* "" for none (0) */
};

/* clang-format off */
static const struct key_case keys[] = {
    {"SELECT 1", "SELECT 1"},
    {"SELECT  1", "SELECT 1"},
    {"  SELECT\t\n1  ;  ", "SELECT 1"},
    {"SELECT 1;;", "SELECT 1"},
    {"SELECT 1 ; ; -- bye\n", "SELECT 1"},
    {"SELECT 1;\n", "SELECT 1"},
    {"a\r\n\t\v\fb", "a b"},
    {"select A from T", "select A from T"},
    /* comments count as whitespace */
    {"SELECT /* c */ 1", "SELECT 1"},
    {"SELECT/**/1", "SELECT 1"},
    {"SELECT 1-/**/-1", "SELECT 1- -1"},
    {"SELECT 1 # c\nFROM t", "SELECT 1 FROM t"},
    {"SELECT 1 -- c\nFROM t", "SELECT 1 FROM t"},
    {"SELECT 1 --\tc\nFROM t", "SELECT 1 FROM t"},
    {"SELECT 1 -- c", "SELECT 1"},
    {"SELECT 1--1 FROM t", "SELECT 1--1 FROM t"},
    {"SELECT 1 --x FROM t", "SELECT 1 --x FROM t"},
    /* "--" that is no comment keeps what follows it: a space would make one */
    {"SELECT 1 --#c\n FROM t", "SELECT 1 --#c\n FROM t"},
    {"SELECT 1 --/* c */2", "SELECT 1 --/* c */2"},
    {"SELECT 1 --;", "SELECT 1 --;"},
    {"SELECT 1 --;; ", "SELECT 1 --;"},
    {"SELECT 1 - -;", "SELECT 1 - -"},
    {"SELECT 1 -/**/-;", "SELECT 1 - -"},
    {"/* sluice:cache ttl=5 */ SELECT a FROM t", "SELECT a FROM t"},
    {"SELECT a FROM t /* x */ /* y */ WHERE b", "SELECT a FROM t WHERE b"},
    {"SELECT a /* it's */ FROM t", "SELECT a FROM t"},
    {"SELECT a /* *** **/ FROM t", "SELECT a FROM t"},
    {"SELECT 1 /* x */;", "SELECT 1"},
    /* executable comments and optimizer hints are kept byte for byte */
    {"SELECT /*! STRAIGHT_JOIN */  a", "SELECT /*! STRAIGHT_JOIN */ a"},
    {"SELECT /*!50000  SQL_NO_CACHE  */ a", "SELECT /*!50000  SQL_NO_CACHE  */ a"},
    {"SELECT  /*M!100000  x\n*/  a", "SELECT /*M!100000  x\n*/ a"},
    {"SELECT /*+  BKA(t)  NO_ICP(t) */ a  FROM t", "SELECT /*+  BKA(t)  NO_ICP(t) */ a FROM t"},
    {"SELECT /*! a '*/' b */  c", "SELECT /*! a '*/' b */ c"},
    {"SELECT /*! a /* x */  b */  c", "SELECT /*! a /* x */  b */ c"},
    {"SELECT /*! a # */\n */  c", "SELECT /*! a # */\n */ c"},
    {"/*!40101 SET NAMES utf8 */;", "/*!40101 SET NAMES utf8 */"},
    /* strings and quoted names are kept byte for byte */
    {"SELECT 'a  b' ,  \"c  d\"", "SELECT 'a  b' , \"c  d\""},
    {"SELECT 'it''s  x'  ,  1", "SELECT 'it''s  x' , 1"},
    {"SELECT 'it\\'s  x'  ,  1", "SELECT 'it\\'s  x' , 1"},
    {"SELECT '\\\\'  ,  1", "SELECT '\\\\' , 1"},
    {"SELECT \"a\\\"  b\"  x", "SELECT \"a\\\"  b\" x"},
    {"SELECT `a  b` FROM `t``  x`  WHERE 1", "SELECT `a  b` FROM `t``  x` WHERE 1"},
    {"SELECT `a\\`  FROM t", "SELECT `a\\` FROM t"},
    {"SELECT '/* no */  -- no' ;", "SELECT '/* no */  -- no'"},
    {"SELECT 'a;'", "SELECT 'a;'"},
    {"SELECT 'a' ;", "SELECT 'a'"},
    {"SELECT `a;` ;", "SELECT `a;`"},
    {"SELECT 'a  ;'  ;  ", "SELECT 'a  ;'"},
    {"SELECT @'a  b'  FROM t", "SELECT @'a  b' FROM t"},
    {"SELECT 'x'  'y'", "SELECT 'x' 'y'"},
    /* open strings and comments are kept to the end */
    {"SELECT 'abc  ;  ", "SELECT 'abc  ;  "},
    {"SELECT  1 /* open  ", "SELECT 1 /* open  "},
    {"SELECT  /*! open  ", "SELECT /*! open  "},
    {"SELECT `a ", "SELECT `a "},
    /* nothing left */
    {"", ""},
    {"   ", ""},
    {"  ;  /* x */ ; -- y", ""},
    /* a ';' that is not trailing stays */
    {"; SELECT 1", "; SELECT 1"},
    {"SELECT 1; SELECT  2;", "SELECT 1; SELECT 2"},
};
/* clang-format on */

#define N_KEYS ((int)(sizeof(keys) / sizeof(keys[0])))

START_TEST(test_key_case)
{
	const struct key_case *k = &keys[_i];
	size_t len = strlen(k->sql), want = strlen(k->key);
	char out[256];
	size_t n = normalize_exact(k->sql, len, out, sizeof(out));
	ck_assert_msg(n == want && memcmp(out, k->key, n) == 0, "\"%s\": got \"%.*s\", want \"%s\"",
	              k->sql, (int)n, out, k->key);
	/* exactly enough room is enough, one byte less is not */
	ck_assert_uint_eq(normalize_exact(k->sql, len, out, want), want);
	if (want > 0)
		ck_assert_uint_eq(normalize_exact(k->sql, len, out, want - 1), 0);
}
END_TEST

/* Classifies a text, and its key, the same way: kind, facts but the routing hints, tables. */
static void check_same_classification(const char *sql, size_t len)
{
	char *key = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(key);
	size_t n = normalize_exact(sql, len, key, len);
	ck_assert_uint_le(n, len);
	struct cls_result a, b;
	classify(sql, len, DEFAULT_DB, &a);
	classify(key, n, DEFAULT_DB, &b);
	uint32_t hints = CLS_HINT_PRIMARY | CLS_HINT_REPLICA;
	ck_assert_msg(a.kind == b.kind && (a.flags & ~hints) == (b.flags & ~hints),
	              "\"%.*s\" and its key \"%.*s\" classify apart", (int)len, sql, (int)n, key);
	ck_assert_uint_eq(a.n_tables, b.n_tables);
	for (size_t i = 0; i < a.n_tables; i++) {
		ck_assert_str_eq(a.tables[i].db, b.tables[i].db);
		ck_assert_str_eq(a.tables[i].name, b.tables[i].name);
	}
	if (!(a.flags & hints))
		ck_assert(a.all_plain_reads == b.all_plain_reads);
	/* a key is its own key */
	char *again = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(again);
	ck_assert_uint_eq(normalize_exact(key, n, again, n), n);
	ck_assert(memcmp(again, key, n) == 0);
	free(again);
	free(key);
}

START_TEST(test_key_keeps_meaning)
{
	for (int i = 0; i < N_CASES; i++)
		check_same_classification(cases[i].sql, strlen(cases[i].sql));
	for (int i = 0; i < N_KEYS; i++)
		check_same_classification(keys[i].sql, strlen(keys[i].sql));
}
END_TEST

START_TEST(test_key_cap)
{
	char out[16];
	const char *sql = "SELECT 1;   ";
	ck_assert_uint_eq(cacheable_normalize(sql, strlen(sql), out, 8), 8);
	ck_assert(memcmp(out, "SELECT 1", 8) == 0);
	ck_assert_uint_eq(cacheable_normalize(sql, strlen(sql), out, 7), 0);
	ck_assert_uint_eq(cacheable_normalize(sql, strlen(sql), out, 0), 0);
	ck_assert_uint_eq(cacheable_normalize(sql, 0, out, sizeof(out)), 0);
	/* nothing is written past cap */
	memset(out, 'z', sizeof(out));
	ck_assert_uint_eq(cacheable_normalize("SELECT  123456789", 17, out, 4), 0);
	for (size_t i = 4; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 'z');
	/* the same statement spelt two ways has one key */
	char a[64], b[64];
	const char *s1 = "SELECT c\n  FROM sbtest1 /* point */ WHERE id=?;";
	const char *s2 = "  SELECT c FROM\tsbtest1 WHERE id=? -- again";
	size_t na = cacheable_normalize(s1, strlen(s1), a, sizeof(a));
	size_t nb = cacheable_normalize(s2, strlen(s2), b, sizeof(b));
	ck_assert_uint_eq(na, nb);
	ck_assert(memcmp(a, b, na) == 0);
	/* and two statements two keys, down to a space in a string or the case of a name */
	const char *s3 = "SELECT c FROM sbtest1 WHERE id='a b'";
	const char *s4 = "SELECT c FROM sbtest1 WHERE id='a  b'";
	const char *s5 = "SELECT c FROM SBTEST1 WHERE id='a b'";
	na = cacheable_normalize(s3, strlen(s3), a, sizeof(a));
	nb = cacheable_normalize(s4, strlen(s4), b, sizeof(b));
	ck_assert(na != nb || memcmp(a, b, na) != 0);
	nb = cacheable_normalize(s5, strlen(s5), b, sizeof(b));
	ck_assert(na != nb || memcmp(a, b, na) != 0);
}
END_TEST

/* ---- the [cache] tables list ------------------------------------------------------------- */

static bool parse(const char *list, struct cache_tables *t, char *err)
{
	err[0] = '\0';
	return cache_tables_parse(list, t, err, 256);
}

START_TEST(test_tables_parse)
{
	static struct cache_tables t; /* 8 KiB: off the stack */
	char err[256];
	ck_assert(parse("", &t, err) && t.n == 0 && !t.any);
	ck_assert(parse("  \t ", &t, err) && t.n == 0 && !t.any);
	ck_assert(parse("app.users", &t, err) && t.n == 1 && !t.any);
	ck_assert_str_eq(t.item[0].db, "app");
	ck_assert_str_eq(t.item[0].table, "users");
	ck_assert(parse(" app.users , app.orders,shop.* ", &t, err) && t.n == 3);
	ck_assert_str_eq(t.item[1].table, "orders");
	ck_assert_str_eq(t.item[2].db, "shop");
	ck_assert_str_eq(t.item[2].table, "*");
	ck_assert(parse("*", &t, err) && t.any && t.n == 0);
	ck_assert(parse("app.t, * ", &t, err) && t.any && t.n == 1);
	ck_assert(parse("caf\xc3\xa9.men\xc3\xba", &t, err) && t.n == 1);
}
END_TEST

START_TEST(test_tables_errors)
{
	static struct cache_tables t;
	static const struct {
		const char *list, *needle; /* the error must name the item */
	} bad[] = {
	    {"app.users,,x.y", "item 2"},
	    {"app.users,", "item 2"},
	    {",a.b", "item 1"},
	    {"app.users, users", "users"},
	    {".t", "'.t'"},
	    {"app.", "'app.'"},
	    {"a.b.c", "'a.b.c'"},
	    {"a b.c", "'a b.c'"},
	    {"`a`.b", "'`a`.b'"},
	    {"*.t", "'*.t'"},
	    {"a.t*", "'a.t*'"},
	    {"a.*x", "'a.*x'"},
	    {"a. t", "'a. t'"},
	    {"app.users, ", "item 2"},
	    {"**", "'**'"},
	};
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!parse(bad[i].list, &t, err), "\"%s\" parsed", bad[i].list);
		ck_assert_msg(strstr(err, bad[i].needle), "\"%s\": %s", bad[i].list, err);
	}
	/* names: 64 bytes fit, 65 do not */
	char list[512], name[80];
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(list, sizeof(list), "%s.%s", name, name);
	ck_assert_msg(parse(list, &t, err), "%s", err);
	ck_assert_uint_eq(strlen(t.item[0].table), 64);
	snprintf(list, sizeof(list), "app.%sx", name);
	ck_assert(!parse(list, &t, err) && strstr(err, "64 bytes"));
	snprintf(list, sizeof(list), "%sx.t", name);
	ck_assert(!parse(list, &t, err) && strstr(err, "64 bytes"));
	/* items: 64 fit, 65 do not */
	char many[2048] = "";
	for (int i = 0; i < CACHE_TABLES_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sd.t%d", i ? "," : "",
		         i);
	ck_assert_msg(parse(many, &t, err), "%s", err);
	ck_assert_uint_eq(t.n, CACHE_TABLES_MAX);
	strcat(many, ",d.t64");
	ck_assert(!parse(many, &t, err) && strstr(err, "item 65") && strstr(err, "64 items"));
	/* a long bad item is cut in the message, which always ends in NUL */
	char longbad[400];
	memset(longbad, 'x', sizeof(longbad) - 1);
	longbad[sizeof(longbad) - 1] = '\0';
	ck_assert(!parse(longbad, &t, err) && strlen(err) < 200);
	char tiny[8];
	ck_assert(!cache_tables_parse("nodot", &t, tiny, sizeof(tiny)));
	ck_assert_uint_eq(strlen(tiny), sizeof(tiny) - 1);
}
END_TEST

START_TEST(test_tables_match)
{
	static struct cache_tables t;
	char err[256];
	ck_assert(parse("app.users, shop.*", &t, err));
	ck_assert(cache_tables_match(&t, "app", "users"));
	ck_assert(cache_tables_match(&t, "APP", "Users"));
	ck_assert(!cache_tables_match(&t, "app", "orders"));
	ck_assert(!cache_tables_match(&t, "app", "user"));
	ck_assert(!cache_tables_match(&t, "app", "users2"));
	ck_assert(!cache_tables_match(&t, "other", "users"));
	ck_assert(!cache_tables_match(&t, "", "users"));
	ck_assert(cache_tables_match(&t, "shop", "anything"));
	ck_assert(cache_tables_match(&t, "SHOP", "x"));
	ck_assert(!cache_tables_match(&t, "shopx", "x"));
	ck_assert(!cache_tables_match(&t, "sho", "x"));
	ck_assert(parse("", &t, err));
	ck_assert(!cache_tables_match(&t, "app", "users"));
	ck_assert(parse("*", &t, err));
	ck_assert(cache_tables_match(&t, "any", "thing"));
	ck_assert(parse("a.t", &t, err));
	ck_assert(!cache_tables_match(&t, "a", "*")); /* a table named '*' is no wildcard */
}
END_TEST

/* ---- any input --------------------------------------------------------------------------- */

static void check_any(const char *sql, size_t len)
{
	struct cache_verdict v;
	inspect_exact(sql, len, DEFAULT_DB, &v);
	check_verdict(&v);
	inspect_exact(sql, len, NULL, &v);
	check_verdict(&v);
	check_same_classification(sql, len);
}

START_TEST(test_every_prefix)
{
	static const char *const long_ones[] = {
	    "/* sluice:cache ttl=60 */ WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM "
	    "s) "
	    "SELECT `a``b`, 'x\\'y', \"q\"\"r\", COUNT(*) OVER (PARTITION BY c) FROM app.t "
	    "/*! STRAIGHT_JOIN */ JOIN u USING (id) WHERE d > NOW() -- tail\n;",
	    "SELECT /*+ BKA(t) */ a FROM t /*M!100000 WHERE b = @x */ # c\n AND f(1) ; ; ",
	    "SELECT NEXT VALUE FOR s, CURRENT_TIMESTAMP, `f`(1), db.g(2), cte(a, b) AS (1) FROM t",
	    "SLAST_INSERT_IDELECT  dMODE;1 --#ne", /* found by fuzz_classify */
	    "SELECT 1 --/* a */ --# b\n--;;",
	};
	for (size_t i = 0; i < sizeof(long_ones) / sizeof(long_ones[0]); i++)
		for (size_t n = 0; n <= strlen(long_ones[i]); n++)
			check_any(long_ones[i], n);
}
END_TEST

START_TEST(test_random_input)
{
	static const char *const pieces[] = {
	    "SELECT ", "FROM ",    "t ",
	    "(",       ")",        ",",
	    ";",       "'",        "\"",
	    "`",       "\\",       "/*",
	    "*/",      "/*!",      "/*+",
	    "-- ",     "#",        "\n",
	    "@",       "@@",       "NOW",
	    "now()",   "count(",   " ",
	    "  ",      ".",        "AS ",
	    "WITH ",   "sluice",   ":",
	    "cache",   "nocache ", "ttl",
	    "=",       "60",       "M!",
	    "NEXT ",   "VALUE ",   "FOR ",
	    "?",       "*",        "-",
	    "\t",      "f(",       "db.",
	    "\xc3",    "\x80",     "\0",
	    "x",       "IN ",      "SQL_NO_CACHE ",
	};
	size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	srand(20240601);
	for (int i = 0; i < 4000; i++) {
		char buf[256];
		size_t len = 0;
		int parts = rand() % 24;
		for (int k = 0; k < parts; k++) {
			const char *piece = pieces[(size_t)rand() % n_pieces];
			size_t n = piece[0] ? strlen(piece) : 1;
			if (len + n > sizeof(buf))
				break;
			memcpy(buf + len, piece, n);
			len += n;
		}
		check_any(buf, len);
	}
}
END_TEST

static Suite *cacheable_suite(void)
{
	Suite *s = suite_create("cacheable");
	TCase *tc = tcase_create("verdicts");
	tcase_add_loop_test(tc, test_verdict_case, 0, N_CASES);
	tcase_add_test(tc, test_volatile_calls);
	tcase_add_test(tc, test_lexical_alone);
	tcase_add_test(tc, test_facts);
	tcase_add_test(tc, test_no_default_db);
	tcase_add_test(tc, test_many_tables);
	suite_add_tcase(s, tc);
	tc = tcase_create("keys");
	tcase_add_loop_test(tc, test_key_case, 0, N_KEYS);
	tcase_add_test(tc, test_key_keeps_meaning);
	tcase_add_test(tc, test_key_cap);
	suite_add_tcase(s, tc);
	tc = tcase_create("tables");
	tcase_add_test(tc, test_tables_parse);
	tcase_add_test(tc, test_tables_errors);
	tcase_add_test(tc, test_tables_match);
	suite_add_tcase(s, tc);
	tc = tcase_create("any input");
	tcase_add_test(tc, test_every_prefix);
	tcase_add_test(tc, test_random_input);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cacheable_suite());
}
