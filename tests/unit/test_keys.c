/*
 * test_keys.c - unit tests for proxy/keys.c, the primary-key extractor behind pinning by key.
 *
 * The core is a table: one statement per row, the shape of the table it touches, the values
 * bound to its '?' markers (if any), and what keys_extract must answer: point or table-wide,
 * the keys' spellings in order, and the rows AUTO_INCREMENT numbers. Every statement is first
 * classified, as the proxy does, from a buffer of exactly its length so that AddressSanitizer
 * catches a read past the end. Then the edges: KEYS_MAX, results the proxy never passes, names
 * beyond ASCII, hostile nesting, every prefix of long statements and random text.
 */
#include "classify.h"
#include "keys.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DB "app"

/* ---- table shapes ------------------------------------------------------------------------ */

enum shape {
	ID,    /* t (id INT AUTO_INCREMENT PRIMARY KEY, name, v) */
	PLAIN, /* t (id INT PRIMARY KEY, v) */
	STR,   /* t (v, code VARCHAR PRIMARY KEY) */
	COMP,  /* t (b VARCHAR, c, a INT, PRIMARY KEY (a, b)) */
	UNIQ,  /* ID with a UNIQUE index besides */
};

static struct schema_table table_of(enum shape shape)
{
	struct schema_table t = {.db = DEFAULT_DB, .name = "t", .n_pk = 1};
	switch (shape) {
	case ID:
	case UNIQ:
		strcpy(t.pk[0], "id");
		t.n_columns = 3;
		t.auto_increment = true;
		t.other_unique = shape == UNIQ;
		break;
	case PLAIN:
		strcpy(t.pk[0], "id");
		t.n_columns = 2;
		break;
	case STR:
		strcpy(t.pk[0], "code");
		t.pk_kind[0] = SCHEMA_COL_STRING;
		t.pk_position[0] = 1;
		t.n_columns = 2;
		break;
	case COMP:
		t.n_pk = 2;
		strcpy(t.pk[0], "a");
		t.pk_position[0] = 2;
		strcpy(t.pk[1], "b");
		t.pk_kind[1] = SCHEMA_COL_STRING;
		t.pk_position[1] = 0;
		t.n_columns = 3;
		break;
	}
	return t;
}

/* ---- bound parameters -------------------------------------------------------------------- */

/* The values bound to the markers, written "i100 sAbc n": an integer, a string (no spaces), a
 * NULL. Spelt as keys.h asks of a real callback. */
static bool fake_add(const void *ctx, unsigned i, enum schema_col_kind kind, struct mark_key *k)
{
	const char *p = ctx;
	for (unsigned n = 0; n < i; n++) {
		p = strchr(p, ' ');
		if (!p)
			return false;
		p++;
	}
	size_t len = strcspn(p, " ");
	if (len == 0)
		return false;
	switch (p[0]) {
	case 'i': return kind == SCHEMA_COL_INT && mark_key_add_int(k, strtoll(p + 1, NULL, 10));
	case 's':
		if (kind == SCHEMA_COL_STRING)
			return mark_key_add_string(k, p + 1, len - 1);
		return len - 1 <= 15 && mark_key_add_int_text(k, p + 1, len - 1);
	default: return false; /* NULL */
	}
}

/* ---- the table of cases ------------------------------------------------------------------ */

struct key_case {
	enum shape shape;
	const char *sql;
	const char *params; /* NULL: no callback */
	bool point;
	const char *keys; /* each key's text, joined by '|' */
	unsigned auto_rows;
};

#define K(shape, sql, keys)                                                                        \
	{                                                                                          \
		shape, sql, NULL, true, keys, 0                                                    \
	}
#define A(shape, sql, keys, auto_rows)                                                             \
	{                                                                                          \
		shape, sql, NULL, true, keys, auto_rows                                            \
	}
#define W(shape, sql)                                                                              \
	{                                                                                          \
		shape, sql, NULL, false, "", 0                                                     \
	}
#define KP(shape, sql, params, keys)                                                               \
	{                                                                                          \
		shape, sql, params, true, keys, 0                                                  \
	}
#define AP(shape, sql, params, keys, auto_rows)                                                    \
	{                                                                                          \
		shape, sql, params, true, keys, auto_rows                                          \
	}
#define WP(shape, sql, params)                                                                     \
	{                                                                                          \
		shape, sql, params, false, "", 0                                                   \
	}

/* clang-format off */
static const struct key_case cases[] = {
    /* ---- SELECT: the forms of a key predicate ---- */
    K(ID, "SELECT * FROM t WHERE id = 5", "5"),
    K(ID, "select * from t where ID=5", "5"),
    K(ID, "SELECT * FROM t WHERE t.id = 5", "5"),
    K(ID, "SELECT * FROM app.t WHERE app.t.id = 5", "5"),
    K(ID, "SELECT * FROM t AS x WHERE x.`id` = 5", "5"),
    K(ID, "SELECT * FROM `t` x WHERE `ID` = 5", "5"),
    K(ID, "SELECT * FROM t WHERE 5 = id", "5"),
    K(ID, "SELECT * FROM t WHERE id <=> 5", "5"),
    K(ID, "SELECT * FROM t WHERE 5<=>t.id", "5"),
    K(ID, "SELECT * FROM t WHERE id IN (1, 2, 3)", "1|2|3"),
    K(ID, "SELECT * FROM t WHERE id IN(3,3,1)", "3|1"),
    W(ID, "SELECT * FROM t WHERE id < = > 5"),
    W(ID, "SELECT * FROM t WHERE id != 5"),
    W(ID, "SELECT * FROM t WHERE id <> 5"),
    W(ID, "SELECT * FROM t WHERE id >= 5"),
    W(ID, "SELECT * FROM t WHERE id <= 5"),
    W(ID, "SELECT * FROM t WHERE id == 5"),
    W(ID, "SELECT * FROM t WHERE id NOT IN (1, 2)"),
    W(ID, "SELECT * FROM t WHERE NOT id = 5"),
    W(ID, "SELECT * FROM t WHERE ! id = 5"),
    W(ID, "SELECT * FROM t WHERE id IN (1, v)"),
    W(ID, "SELECT * FROM t WHERE id IN ((1), (2))"),
    W(ID, "SELECT * FROM t WHERE id(1) = 5"),
    W(ID, "SELECT * FROM t WHERE idx = 5"),
    W(ID, "SELECT * FROM t WHERE v = 5"),
    W(ID, "SELECT * FROM t WHERE id.x = 5"),
    W(ID, "SELECT * FROM t WHERE id = id"),
    /* ---- integer literals ---- */
    K(ID, "SELECT * FROM t WHERE id = '7'", "7"),
    K(ID, "SELECT * FROM t WHERE id = 007", "7"),
    K(ID, "SELECT * FROM t WHERE id = -5", "-5"),
    K(ID, "SELECT * FROM t WHERE id = +5", "5"),
    K(ID, "SELECT * FROM t WHERE id = -0", "0"),
    K(ID, "SELECT * FROM t WHERE id = 5.0", "5"),
    K(ID, "SELECT * FROM t WHERE id = 5.", "5"),
    K(ID, "SELECT * FROM t WHERE id = '-12.00'", "-12"),
    K(ID, "SELECT * FROM t WHERE id = '900719925474099'", "900719925474099"),
    K(ID, "SELECT * FROM t WHERE id = 18446744073709551615", "18446744073709551615"),
    W(ID, "SELECT * FROM t WHERE id = '9007199254740993'"),
    W(ID, "SELECT * FROM t WHERE id = 5.5"),
    W(ID, "SELECT * FROM t WHERE id = .5"),
    W(ID, "SELECT * FROM t WHERE id = - 5"),
    W(ID, "SELECT * FROM t WHERE id = -/**/5"),
    W(ID, "SELECT * FROM t WHERE id = --5"),
    W(ID, "SELECT * FROM t WHERE id = 5 /**/.0"),
    W(ID, "SELECT * FROM t WHERE id = 0x10"),
    W(ID, "SELECT * FROM t WHERE id = x'10'"),
    W(ID, "SELECT * FROM t WHERE id = b'101'"),
    W(ID, "SELECT * FROM t WHERE id = 1e3"),
    W(ID, "SELECT * FROM t WHERE id = 1.5e3"),
    W(ID, "SELECT * FROM t WHERE id = '5abc'"),
    W(ID, "SELECT * FROM t WHERE id = ' 5'"),
    W(ID, "SELECT * FROM t WHERE id = \"5\""),
    W(ID, "SELECT * FROM t WHERE id = NULL"),
    W(ID, "SELECT * FROM t WHERE id <=> NULL"),
    W(ID, "SELECT * FROM t WHERE id = TRUE"),
    W(ID, "SELECT * FROM t WHERE id = 5 + 1"),
    W(ID, "SELECT * FROM t WHERE id = 5 - 1"),
    W(ID, "SELECT * FROM t WHERE id = 5 IS TRUE"),
    W(ID, "SELECT * FROM t WHERE id = 5 = 1"),
    W(ID, "SELECT * FROM t WHERE id = 5 COLLATE utf8mb4_bin"),
    W(ID, "SELECT * FROM t WHERE id = @a"),
    W(ID, "SELECT * FROM t WHERE id = ?"),
    /* ---- string keys ---- */
    K(STR, "SELECT * FROM t WHERE code = 'AbC'", "abc"),
    K(STR, "SELECT * FROM t WHERE code = 'abc   '", "abc"),
    K(STR, "SELECT * FROM t WHERE code = 'it''s'", "it%27s"),
    K(STR, "SELECT * FROM t WHERE code = 'a:b.c%d,e'", "a%3Ab%2Ec%25d%2Ce"),
    K(STR, "SELECT * FROM t WHERE code IN ('x', 'X ', 'y')", "x|y"),
    W(STR, "SELECT * FROM t WHERE code = 5"),
    W(STR, "SELECT * FROM t WHERE code = \"abc\""),
    W(STR, "SELECT * FROM t WHERE code = 'a\\'b'"),
    W(STR, "SELECT * FROM t WHERE code = 'a\\\\b'"),
    W(STR, "SELECT * FROM t WHERE code = 'abc' AND v = 'a\\nb'"),
    W(STR, "SELECT * FROM t WHERE code = 'caf\xc3\xa9'"),
    W(STR, "SELECT * FROM t WHERE code = _utf8mb4'abc'"),
    W(STR, "SELECT * FROM t WHERE code = N'abc'"),
    W(STR, "SELECT * FROM t WHERE code = 'ab' 'c'"),
    W(STR, "SELECT * FROM t WHERE code = 'abc' COLLATE latin1_bin"),
    W(STR, "SELECT * FROM t WHERE BINARY code = 'abc'"),
    /* ---- conjunctions ---- */
    K(ID, "SELECT * FROM t WHERE id = 5 AND name = 'x'", "5"),
    K(ID, "SELECT * FROM t WHERE name = 'x' AND id = 5 AND v > 3", "5"),
    K(ID, "SELECT * FROM t WHERE name = 'x' && id = 5", "5"),
    K(ID, "SELECT * FROM t WHERE id = 5 AND v & 1", "5"),
    K(ID, "SELECT * FROM t WHERE id = 5 AND (v = 1 OR v = 2)", "5"),
    K(ID, "SELECT * FROM t WHERE (id = 5)", "5"),
    K(ID, "SELECT * FROM t WHERE ((id = 5) AND (v = 1 OR v = 2))", "5"),
    K(ID, "SELECT * FROM t WHERE v IS NOT NULL AND (name LIKE 'a%' AND (id IN (1, 2)))", "1|2"),
    K(ID, "SELECT * FROM t WHERE id = 1 AND id = 2", "1"),
    K(ID, "SELECT * FROM t WHERE id IN (1, 2, 3) AND id IN (2, 3)", "2|3"),
    K(ID, "SELECT * FROM t WHERE id = 1.5 AND id = 2", "2"),
    K(ID, "SELECT * FROM t WHERE v BETWEEN 1 AND 5 AND id = 1", "1"),
    K(ID, "SELECT * FROM t WHERE v NOT BETWEEN (1) AND 5 AND id = 1", "1"),
    K(ID, "SELECT * FROM t WHERE id = 1 AND (CASE WHEN v AND id = 2 THEN 1 ELSE 0 END)", "1"),
    K(ID, "SELECT * FROM t WHERE id = 1 AND @a := 2", "1"),
    K(ID, "SELECT * FROM t WHERE id = 1 AND v = NEXT VALUE FOR s", "1"),
    W(ID, "SELECT * FROM t WHERE id = 5 OR name = 'x'"),
    W(ID, "SELECT * FROM t WHERE name = 'x' OR id = 5"),
    W(ID, "SELECT * FROM t WHERE id = 5 || v = 1"),
    W(ID, "SELECT * FROM t WHERE id = 5 XOR v = 1"),
    W(ID, "SELECT * FROM t WHERE id = 5 AND v | 1"),
    W(ID, "SELECT * FROM t WHERE id = 5 AND v = NEXT VALUE FOR s OR 1"),
    W(ID, "SELECT * FROM t WHERE (id = 5 OR v = 1)"),
    W(ID, "SELECT * FROM t WHERE (id = 5) = 0"),
    W(ID, "SELECT * FROM t WHERE (id = 5) IS NULL AND v = 1"),
    W(ID, "SELECT * FROM t WHERE NOT (id = 5)"),
    W(ID, "SELECT * FROM t WHERE id BETWEEN 1 AND 5"),
    W(ID, "SELECT * FROM t WHERE v BETWEEN -5 AND id = 1"),
    W(ID, "SELECT * FROM t WHERE CASE WHEN v AND id = 1 AND 1 THEN 1 END"),
    W(ID, "SELECT * FROM t WHERE id = 1 AND v = CASE WHEN 1 THEN 2 END"),
    W(ID, "SELECT * FROM t WHERE id = 1)"),
    /* ---- the rest of a SELECT ---- */
    K(ID, "SELECT * FROM t WHERE id = 1 ORDER BY v LIMIT 1", "1"),
    K(ID, "SELECT v, COUNT(*) FROM t WHERE id IN (1,2) GROUP BY v HAVING COUNT(*) > 1 OR 1", "1|2"),
    K(ID, "SELECT * FROM t WHERE id = 1 FOR UPDATE", "1"),
    K(ID, "SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE", "1"),
    K(ID, "SELECT v INTO @x FROM t WHERE id = 1", "1"),
    K(ID, "SELECT EXTRACT(YEAR FROM v), id = 2 OR 1 FROM t WHERE id = 1", "1"),
    K(ID, "SELECT * FROM t USE INDEX (PRIMARY) WHERE id = 1", "1"),
    K(ID, "SELECT * FROM t PARTITION (p0, p1) WHERE id = 1", "1"),
    K(ID, "SELECT * FROM t FOR SYSTEM_TIME ALL WHERE id = 1", "1"),
    K(ID, "SELECT ROW_NUMBER() OVER w FROM t WHERE id = 1 WINDOW w AS (ORDER BY v)", "1"),
    W(ID, "SELECT * FROM t WHERE id = 1 AND window = 2 OR 1"),
    W(ID, "DELETE FROM t WHERE id = 1 AND returning OR 1"),
    K(ID, "SELECT * FROM t WHERE id = 1;", "1"),
    K(ID, "SELECT * FROM t WHERE id = 1 ; ; -- done", "1"),
    W(ID, "SELECT * FROM t"),
    W(ID, "SELECT * FROM t LIMIT 1"),
    W(ID, "SELECT id = 1 FROM t"),
    W(ID, "SELECT * FROM t WHERE"),
    /* ---- comments and hints ---- */
    K(ID, "SELECT /* id = 2 OR */ * FROM t WHERE id = 1 -- OR 1\n", "1"),
    K(ID, "/* sluice:replica */ SELECT * FROM t WHERE id = 1 # OR 1", "1"),
    K(ID, "SELECT * FROM t WHERE id /* = 3 */ = /* OR */ 1", "1"),
    W(ID, "SELECT * FROM t WHERE id = 1 /*!99999 OR 1 */"),
    W(ID, "SELECT * FROM t WHERE v = 2 /*!50000 AND id = 1 */"),
    W(ID, "SELECT * FROM t WHERE v = 2 /*M!100100 AND id = 1 */"),
    W(ID, "/*!40001 SELECT * FROM t WHERE id = 1 */"),
    /* ---- statements that read other rows ---- */
    W(ID, "SELECT * FROM t WHERE id = 1 UNION SELECT * FROM t WHERE id = 2"),
    W(ID, "SELECT * FROM t WHERE id = 1 EXCEPT SELECT * FROM t WHERE id = 2"),
    W(ID, "SELECT * FROM t WHERE id = 1; SELECT * FROM t"),
    W(ID, "SELECT * FROM t WHERE id = 1; DO 1"),
    W(ID, "SELECT * FROM t a JOIN t b ON a.id = b.id WHERE a.id = 1"),
    W(ID, "SELECT * FROM t a STRAIGHT_JOIN t b WHERE a.id = 1"),
    W(ID, "SELECT * FROM t a, t b WHERE a.id = 1"),
    W(ID, "SELECT * FROM (SELECT * FROM t) x WHERE id = 1"),
    W(ID, "SELECT * FROM (t) WHERE id = 1"),
    W(ID, "WITH c AS (SELECT * FROM t) SELECT * FROM c WHERE id = 1"),
    W(ID, "(SELECT * FROM t WHERE id = 1)"),
    W(ID, "SELECT * FROM t WHERE id IN (SELECT id FROM t WHERE v = 1)"),
    W(ID, "SELECT * FROM t WHERE id = 1 AND EXISTS (SELECT 1 FROM t)"),
    W(ID, "SELECT (SELECT MAX(v) FROM t) FROM t WHERE id = 1"),
    W(ID, "SELECT * FROM t WHERE id = 1 AND v IN (TABLE t)"),
    W(ID, "SELECT * FROM t WHERE id = 1 GROUP BY v WITH ROLLUP"),
    W(ID, "SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t WHERE id = 1"),
    /* ---- UPDATE ---- */
    K(ID, "UPDATE t SET v = 1 WHERE id = 5", "5"),
    K(ID, "UPDATE LOW_PRIORITY IGNORE t SET v = v + 1, name = 'x' WHERE id IN (1,2) LIMIT 2", "1|2"),
    K(ID, "UPDATE t SET v = (v + 1) * 2, name = CONCAT(name, 'x') WHERE id = 5 ORDER BY id", "5"),
    K(ID, "UPDATE t AS x SET x.v = 1 WHERE x.id = 5", "5"),
    K(ID, "UPDATE app.t SET v := 1 WHERE id = 5", "5"),
    K(ID, "UPDATE t SET v = id = 1 OR 2 WHERE id = 5", "5"),
    W(ID, "UPDATE t SET id = 6 WHERE id = 5"),
    W(ID, "UPDATE t SET v = 1, t.id = 6 WHERE id = 5"),
    W(ID, "UPDATE t SET `ID` = id + 1 WHERE id = 5"),
    W(ID, "UPDATE t SET \"id\" = 6 WHERE id = 5"),
    W(ID, "UPDATE t SET v = 1"),
    W(ID, "UPDATE t SET v = 1 WHERE id = 5 OR id = 6"),
    W(ID, "UPDATE t a, t b SET a.v = 1 WHERE a.id = 5"),
    W(ID, "UPDATE t JOIN t AS b USING (id) SET t.v = 1 WHERE t.id = 1"),
    W(ID, "UPDATE t SET v = (SELECT 1) WHERE id = 5"),
    W(ID, "UPDATE t SET v = 1 WHERE id = 5; UPDATE t SET v = 2"),
    K(COMP, "UPDATE t SET c = 1 WHERE a = 1 AND b = 'x'", "1,x"),
    W(COMP, "UPDATE t SET b = 'y' WHERE a = 1 AND b = 'x'"),
    /* ---- DELETE ---- */
    K(ID, "DELETE FROM t WHERE id = 5", "5"),
    K(ID, "DELETE LOW_PRIORITY QUICK IGNORE FROM app.t WHERE id IN (5, 6) ORDER BY id LIMIT 1", "5|6"),
    K(ID, "DELETE FROM t PARTITION (p1) WHERE id = 5 RETURNING id, v", "5"),
    W(ID, "DELETE FROM t"),
    W(ID, "DELETE FROM t WHERE v = 1"),
    W(ID, "DELETE FROM t WHERE id = 5 OR 1"),
    W(ID, "DELETE t FROM t WHERE id = 5"),
    W(ID, "DELETE FROM t USING t WHERE t.id = 5"),
    W(ID, "DELETE FROM t WHERE id IN (SELECT id FROM t)"),
    W(ID, "DELETE FROM t FOR PORTION OF p FROM '2001-01-01' TO '2002-01-01' WHERE id = 5"),
    W(ID, "UPDATE t FOR PORTION OF p FROM '2001-01-01' TO '2002-01-01' SET v = 1 WHERE id = 5"),
    /* ---- composite keys ---- */
    K(COMP, "SELECT * FROM t WHERE a = 1 AND b = 'x'", "1,x"),
    K(COMP, "SELECT * FROM t WHERE b = 'X ' AND c = 3 AND a = '1'", "1,x"),
    K(COMP, "SELECT * FROM t WHERE a IN (1, 2) AND b IN ('x', 'y')", "1,x|2,x|1,y|2,y"),
    K(COMP, "SELECT * FROM t WHERE (a = 1 AND b = 'x,y')", "1,x%2Cy"),
    K(COMP, "SELECT * FROM t WHERE a = 1 AND (b = 'x' AND c = 2)", "1,x"),
    K(COMP, "SELECT * FROM t WHERE a = 1 AND b = ''", "1,"),
    W(COMP, "SELECT * FROM t WHERE a = 1"),
    W(COMP, "SELECT * FROM t WHERE b = 'x'"),
    W(COMP, "SELECT * FROM t WHERE a = 1 AND b = 5"),
    W(COMP, "SELECT * FROM t WHERE a = 'x' AND b = 'x'"),
    W(COMP, "SELECT * FROM t WHERE a = 1 AND (b = 'x' OR c = 2)"),
    W(COMP, "SELECT * FROM t WHERE (a, b) = (1, 'x')"),
    W(COMP, "SELECT * FROM t WHERE a IN (1,2,3,4,5,6) AND b IN ('a','b','c','d','e','f')"),
    /* ---- INSERT ---- */
    K(PLAIN, "INSERT INTO t VALUES (1, 'a')", "1"),
    K(PLAIN, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (1, 'c')", "1|2"),
    K(PLAIN, "INSERT t (v, id) VALUES ('a', 3)", "3"),
    K(PLAIN, "INSERT INTO t (`v`, `ID`) VALUE ('a', '4')", "4"),
    K(PLAIN, "INSERT INTO t (t.id, app.t.v) VALUES (4, 'a')", "4"),
    K(PLAIN, "INSERT INTO t(id,v)VALUES(1,CONCAT('a',(2),'b')),(2,'x' 'y')", "1|2"),
    K(PLAIN, "INSERT LOW_PRIORITY IGNORE INTO t VALUES (1, 'a')", "1"),
    K(PLAIN, "INSERT DELAYED t VALUES (-1, 'a')", "-1"),
    K(PLAIN, "INSERT HIGH_PRIORITY INTO app.t PARTITION (p0) (id, v) VALUES (1, 'a')", "1"),
    K(PLAIN, "INSERT INTO t VALUES (1, 'a') RETURNING id", "1"),
    K(PLAIN, "INSERT INTO t SET id = 5, v = 'a'", "5"),
    K(PLAIN, "INSERT INTO t SET v = 'a' OR 1, t.id = '6'", "6"),
    K(PLAIN, "INSERT INTO t VALUES (1, 'a') ON DUPLICATE KEY UPDATE v = VALUES(v)", "1"),
    K(PLAIN, "INSERT INTO t SET id = 1, v = 2 ON DUPLICATE KEY UPDATE v = v + 1 RETURNING v", "1"),
    W(PLAIN, "INSERT INTO t (v) VALUES ('a')"),
    W(PLAIN, "INSERT INTO t VALUES (NULL, 'a')"),
    W(PLAIN, "INSERT INTO t VALUES (DEFAULT, 'a')"),
    W(PLAIN, "INSERT INTO t VALUES (1 + 1, 'a')"),
    W(PLAIN, "INSERT INTO t VALUES (DEFAULT(id), 'a')"),
    W(PLAIN, "INSERT INTO t VALUES (1)"),
    W(PLAIN, "INSERT INTO t VALUES (1, 'a', 3)"),
    W(PLAIN, "INSERT INTO t (id, v) VALUES (1)"),
    W(PLAIN, "INSERT INTO t (id, id) VALUES (1, 2)"),
    W(PLAIN, "INSERT INTO t (id, v) SELECT 1, 'x'"),
    W(PLAIN, "INSERT INTO t VALUES (1, (SELECT 2))"),
    W(PLAIN, "INSERT INTO t SET v = 'a'"),
    W(PLAIN, "INSERT INTO t SET id = 5, id = 6"),
    W(PLAIN, "INSERT INTO t SET id = 5 + 1, v = 'a'"),
    W(PLAIN, "INSERT INTO t VALUES (1, 'a') ON DUPLICATE KEY UPDATE id = id + 10"),
    W(PLAIN, "INSERT INTO t VALUES (1, 'a') AS new ON DUPLICATE KEY UPDATE v = new.v"),
    W(PLAIN, "INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b')"),
    W(PLAIN, "INSERT INTO t VALUES (1.5, 'a')"),
    W(PLAIN, "INSERT INTO t VALUES (\"1\", 'a')"),
    W(PLAIN, "INSERT INTO t VALUES (1, 'a\\'b')"),
    K(UNIQ, "INSERT INTO t VALUES (1, 'a', 2)", "1"),
    W(UNIQ, "INSERT INTO t VALUES (1, 'a', 2) ON DUPLICATE KEY UPDATE v = 3"),
    /* ---- AUTO_INCREMENT ---- */
    A(ID, "INSERT INTO t (name, v) VALUES ('a', 1)", "", 1),
    A(ID, "INSERT INTO t (name, v) VALUES ('a', 1), ('b', 2)", "", 2),
    A(ID, "INSERT INTO t VALUES (NULL, 'a', 1), (DEFAULT, 'b', 2), (7, 'c', 3)", "7", 2),
    A(ID, "INSERT INTO t VALUES (0, 'a', 1)", "0", 1),
    A(ID, "INSERT INTO t (id) VALUES ('00'), (0.0)", "0", 2),
    A(ID, "INSERT INTO t () VALUES ()", "", 1),
    A(ID, "INSERT INTO t SET name = 'a'", "", 1),
    A(ID, "INSERT INTO t SET id = NULL, name = 'a'", "", 1),
    W(ID, "INSERT INTO t VALUES ()"),
    W(ID, "INSERT INTO t (id, name) VALUES (LAST_INSERT_ID() + 1, 'a')"),
    W(ID, "INSERT INTO t (id) VALUES (- 1)"),
    /* ---- REPLACE ---- */
    K(PLAIN, "REPLACE INTO t VALUES (1, 'a')", "1"),
    K(PLAIN, "REPLACE LOW_PRIORITY t (id, v) VALUES (1, 'a'), (2, 'b')", "1|2"),
    A(ID, "REPLACE t SET name = 'x'", "", 1),
    W(UNIQ, "REPLACE INTO t VALUES (1, 'a', 2)"),
    W(PLAIN, "REPLACE INTO t (id, v) SELECT 1, 'a'"),
    /* ---- composite INSERT: columns (b, c, a) ---- */
    K(COMP, "INSERT INTO t VALUES ('x', 5, 1)", "1,x"),
    K(COMP, "INSERT INTO t (a, b) VALUES (1, 'X'), (2, 'y')", "1,x|2,y"),
    K(COMP, "INSERT INTO t SET b = 'q', a = 3", "3,q"),
    W(COMP, "INSERT INTO t (a) VALUES (1)"),
    W(COMP, "INSERT INTO t (a, b) VALUES (1, 2)"),
    W(COMP, "INSERT INTO t (a, b) VALUES ('1x', 'b')"),
    W(COMP, "INSERT INTO t (a, b) VALUES (1, NULL)"),
    /* ---- '?' markers, counted in text order ---- */
    KP(ID, "SELECT * FROM t WHERE id = ?", "i100", "100"),
    KP(ID, "SELECT ?, ? FROM t WHERE id = ?", "sx sy i7", "7"),
    KP(ID, "SELECT * FROM t WHERE id IN (?, ?, 5)", "i100 s42", "100|42|5"),
    KP(ID, "SELECT * FROM t WHERE v = '?' AND id = ?", "i100", "100"),
    KP(ID, "SELECT * FROM t WHERE `?` = ? /* ? */ AND id = ? -- ?", "i1 i2", "2"),
    KP(ID, "SELECT * FROM t WHERE v = ? AND id = ? AND name = ?", "sx i3 n", "3"),
    KP(ID, "SELECT * FROM t WHERE (v = ? OR v = ?) AND id = ?", "i1 i2 i3", "3"),
    KP(ID, "SELECT * FROM t WHERE id IN (?, ?) AND id = ?", "n n i9", "9"),
    KP(ID, "SELECT * FROM t WHERE id = 1 AND id = ?", "", "1"),
    WP(ID, "SELECT * FROM t WHERE id = ?", ""),
    WP(ID, "SELECT * FROM t WHERE id = ?", "n"),
    WP(ID, "SELECT * FROM t WHERE id = ?", "sabc"),
    WP(ID, "SELECT * FROM t WHERE id = ?", "s1234567890123456"),
    WP(ID, "SELECT * FROM t WHERE id = ? + 1", "i1"),
    WP(ID, "SELECT * FROM t WHERE id = ?1", "i1"),
    KP(STR, "SELECT * FROM t WHERE v = ? AND code = ?", "i5 sAbc", "abc"),
    WP(STR, "SELECT * FROM t WHERE code = ?", "i5"),
    KP(COMP, "SELECT * FROM t WHERE a IN (?, 1) AND b = ?", "i100 sx", "100,x|1,x"),
    KP(ID, "UPDATE t SET v = ? WHERE id = ?", "sx i7", "7"),
    KP(ID, "DELETE FROM t WHERE id IN (?, ?)", "i7 i8", "7|8"),
    KP(ID, "INSERT INTO t VALUES (?, ?, ?)", "i100 sx sy", "100"),
    KP(ID, "INSERT INTO t (name, id) VALUES (?, ?), (?, ?)", "sa i1 sb s2", "1|2"),
    AP(ID, "INSERT INTO t (name, id) VALUES (?, ?), (?, ?)", "sa i0 sb i5", "0|5", 1),
    WP(ID, "INSERT INTO t VALUES (?, ?, ?)", "n sx sy"),
    KP(COMP, "INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "i1 sB i3", "1,b"),
    KP(PLAIN, "INSERT INTO t SET v = ?, id = ? ON DUPLICATE KEY UPDATE v = ?", "sx i4 sy", "4"),
};
/* clang-format on */

#define N_CASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* ---- running a case ---------------------------------------------------------------------- */

/* Classifies and extracts sql from a buffer of exactly its length (no NUL after it). */
static void extract_exact(const char *sql, size_t len, const struct schema_table *t,
                          const struct keys_params *params, struct cls_result *c,
                          struct keys_result *out)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, sql, len);
	classify(copy, len, DEFAULT_DB, c);
	keys_extract(copy, len, c, t, params, out);
	free(copy);
}

static void keys_text(const struct keys_result *r, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_keys; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? "|" : "", r->keys[i].text);
}

/* What must hold for any answer. */
static void check_invariants(const struct keys_result *r, const struct schema_table *t)
{
	ck_assert_uint_le(r->n_keys, KEYS_MAX);
	if (!r->point) {
		ck_assert_uint_eq(r->n_keys, 0);
		ck_assert_uint_eq(r->auto_rows, 0);
	}
	ck_assert_uint_le(r->n_keys + r->auto_rows, KEYS_MAX + KEYS_MAX);
	for (size_t i = 0; i < r->n_keys; i++) {
		const struct mark_key *k = &r->keys[i];
		ck_assert(k->ok);
		ck_assert_uint_eq(k->n_values, t->n_pk);
		ck_assert_uint_eq(strlen(k->text), k->len);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(r->keys[j].text, k->text);
	}
}

START_TEST(test_key_case)
{
	const struct key_case *kc = &cases[_i];
	struct schema_table t = table_of(kc->shape);
	struct keys_params params = {fake_add, kc->params};
	struct cls_result c;
	struct keys_result r;
	extract_exact(kc->sql, strlen(kc->sql), &t, kc->params ? &params : NULL, &c, &r);
	ck_assert_msg(!kc->point || (c.n_tables == 1 && !(c.flags & CLS_TABLES_OVERFLOW)),
	              "%s: the proxy would not ask (%zu tables)", kc->sql, c.n_tables);
	char got[2048];
	keys_text(&r, got, sizeof(got));
	ck_assert_msg(r.point == kc->point, "%s: point %d, want %d (keys \"%s\")", kc->sql, r.point,
	              kc->point, got);
	ck_assert_msg(strcmp(got, kc->keys) == 0, "%s: keys \"%s\", want \"%s\"", kc->sql, got,
	              kc->keys);
	ck_assert_msg(r.auto_rows == kc->auto_rows, "%s: auto_rows %u, want %u", kc->sql,
	              r.auto_rows, kc->auto_rows);
	check_invariants(&r, &t);
}
END_TEST

/* ---- edges ------------------------------------------------------------------------------- */

static void extract_str(const char *sql, const struct schema_table *t, struct keys_result *r)
{
	struct cls_result c;
	extract_exact(sql, strlen(sql), t, NULL, &c, r);
	check_invariants(r, t);
}

/* "prefix v0 sep v1 sep ... suffix" with n values from first */
static void build_list(char *sql, size_t cap, const char *prefix, const char *sep,
                       const char *suffix, int first, int n, const char *value_fmt)
{
	size_t len = (size_t)snprintf(sql, cap, "%s", prefix);
	for (int i = 0; i < n; i++) {
		if (i)
			len += (size_t)snprintf(sql + len, cap - len, "%s", sep);
		len += (size_t)snprintf(sql + len, cap - len, value_fmt, first + i);
	}
	snprintf(sql + len, cap - len, "%s", suffix);
}

START_TEST(test_keys_max)
{
	struct schema_table id = table_of(PLAIN), auto_id = table_of(ID), comp = table_of(COMP);
	struct keys_result r;
	char sql[4096];

	build_list(sql, sizeof(sql), "SELECT * FROM t WHERE id IN (", ", ", ")", 1, KEYS_MAX, "%d");
	extract_str(sql, &id, &r);
	ck_assert(r.point);
	ck_assert_uint_eq(r.n_keys, KEYS_MAX);
	ck_assert_str_eq(r.keys[KEYS_MAX - 1].text, "32");
	build_list(sql, sizeof(sql), "SELECT * FROM t WHERE id IN (", ", ", ")", 1, KEYS_MAX + 1,
	           "%d");
	extract_str(sql, &id, &r);
	ck_assert(!r.point);
	/* a list too long to keep still narrows: another predicate may name the rows */
	build_list(sql, sizeof(sql), "SELECT * FROM t WHERE id IN (", ", ", ") AND id = 7", 1,
	           KEYS_MAX + 1, "%d");
	extract_str(sql, &id, &r);
	ck_assert(r.point);
	ck_assert_uint_eq(r.n_keys, 1);

	/* 4 x 8 composite keys fit, 4 x 9 do not */
	extract_str("SELECT * FROM t WHERE a IN (1,2,3,4) AND "
	            "b IN ('a','b','c','d','e','f','g','h')",
	            &comp, &r);
	ck_assert(r.point);
	ck_assert_uint_eq(r.n_keys, 32);
	ck_assert_str_eq(r.keys[0].text, "1,a");
	ck_assert_str_eq(r.keys[31].text, "4,h");
	extract_str("SELECT * FROM t WHERE a IN (1,2,3,4) AND "
	            "b IN ('a','b','c','d','e','f','g','h','i')",
	            &comp, &r);
	ck_assert(!r.point);

	/* rows, keyed or numbered by AUTO_INCREMENT */
	build_list(sql, sizeof(sql), "INSERT INTO t VALUES ", ", ", "", 1, KEYS_MAX, "(%d, 'x')");
	extract_str(sql, &id, &r);
	ck_assert(r.point);
	ck_assert_uint_eq(r.n_keys, KEYS_MAX);
	build_list(sql, sizeof(sql), "INSERT INTO t VALUES ", ", ", "", 1, KEYS_MAX + 1,
	           "(%d, 'x')");
	extract_str(sql, &id, &r);
	ck_assert(!r.point);
	build_list(sql, sizeof(sql), "INSERT INTO t (v) VALUES ", ", ", "", 1, KEYS_MAX, "(%d)");
	extract_str(sql, &auto_id, &r);
	ck_assert(r.point);
	ck_assert_uint_eq(r.auto_rows, KEYS_MAX);
	build_list(sql, sizeof(sql), "INSERT INTO t (v) VALUES ", ", ", "", 1, KEYS_MAX + 1,
	           "(%d)");
	extract_str(sql, &auto_id, &r);
	ck_assert(!r.point);
	ck_assert_uint_eq(r.auto_rows, 0);
}
END_TEST

/* Results the proxy never passes, and tables it never asks about, are table-wide. */
START_TEST(test_outside_the_contract)
{
	struct schema_table t = table_of(ID);
	const char *sql = "SELECT * FROM t WHERE id = 1";
	struct cls_result c;
	struct keys_result r;
	classify(sql, strlen(sql), DEFAULT_DB, &c);
	keys_extract(sql, strlen(sql), &c, &t, NULL, &r);
	ck_assert(r.point);

	struct cls_result bad = c;
	bad.n_tables = 2;
	keys_extract(sql, strlen(sql), &bad, &t, NULL, &r);
	ck_assert(!r.point);
	bad = c;
	bad.flags |= CLS_TABLES_OVERFLOW;
	keys_extract(sql, strlen(sql), &bad, &t, NULL, &r);
	ck_assert(!r.point);
	bad = c;
	bad.flags |= CLS_MULTI;
	keys_extract(sql, strlen(sql), &bad, &t, NULL, &r);
	ck_assert(!r.point);
	bad = c;
	bad.kind = CLS_KIND_UPDATE; /* the text must be what the kind says */
	keys_extract(sql, strlen(sql), &bad, &t, NULL, &r);
	ck_assert(!r.point);
	bad.kind = CLS_KIND_SHOW;
	keys_extract(sql, strlen(sql), &bad, &t, NULL, &r);
	ck_assert(!r.point);

	struct schema_table no_key = t;
	no_key.n_pk = 0;
	keys_extract(sql, strlen(sql), &c, &no_key, NULL, &r);
	ck_assert(!r.point);

	/* text the lexer cannot finish, under a result that says SELECT */
	const char *open = "SELECT * FROM t WHERE id = 1 AND v = 'abc";
	keys_extract(open, strlen(open), &c, &t, NULL, &r);
	ck_assert(!r.point);
	open = "SELECT * FROM t WHERE id = 1 /* AND";
	keys_extract(open, strlen(open), &c, &t, NULL, &r);
	ck_assert(!r.point);
	/* only len bytes count */
	const char *longer = "SELECT * FROM t WHERE id = 1 OR 1";
	keys_extract(longer, strlen("SELECT * FROM t WHERE id = 1"), &c, &t, NULL, &r);
	ck_assert(r.point);
	ck_assert_str_eq(r.keys[0].text, "1");
}
END_TEST

/* A key column named like a value must be quoted; unquoted, the word is the value. */
START_TEST(test_value_words)
{
	static const char *const words[] = {"true", "null", "current_date", "default"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct schema_table t = table_of(PLAIN);
		strcpy(t.pk[0], words[i]);
		char sql[128];
		struct keys_result r;
		snprintf(sql, sizeof(sql), "SELECT * FROM t WHERE %s = 1", words[i]);
		extract_str(sql, &t, &r);
		ck_assert_msg(!r.point, "%s", sql);
		snprintf(sql, sizeof(sql), "SELECT * FROM t WHERE `%s` = 1", words[i]);
		extract_str(sql, &t, &r);
		ck_assert_msg(r.point, "%s", sql);
		snprintf(sql, sizeof(sql), "SELECT * FROM t WHERE t.%s = 1", words[i]);
		extract_str(sql, &t, &r);
		ck_assert_msg(r.point, "%s", sql);
	}
}
END_TEST

/* Names beyond ASCII: the server's folding is not ours, so only exact matches count. */
START_TEST(test_names_beyond_ascii)
{
	struct schema_table t = table_of(PLAIN);
	strcpy(t.pk[0], "cl\xc3\xa9"); /* clé */
	struct keys_result r;
	extract_str("SELECT * FROM t WHERE cl\xc3\xa9 = 5", &t, &r);
	ck_assert(r.point);
	extract_str("SELECT * FROM t WHERE CL\xc3\xa9 = 5", &t, &r);
	ck_assert(r.point);
	extract_str("SELECT * FROM t WHERE CL\xc3\x89 = 5", &t, &r); /* CLÉ: maybe, not proven */
	ck_assert(!r.point);
	extract_str("UPDATE t SET CL\xc3\x89 = 1 WHERE `cl\xc3\xa9` = 5", &t, &r);
	ck_assert(!r.point);
	extract_str("INSERT INTO t (CL\xc3\x89, v) VALUES (1, 2)", &t, &r);
	ck_assert(!r.point);
	extract_str("INSERT INTO t (cl\xc3\xa9) VALUES (1)", &t, &r);
	ck_assert(r.point);
	/* v cannot be clé, but telling which names fold together is the server's business */
	extract_str("INSERT INTO t (cl\xc3\xa9, v) VALUES (1, 2)", &t, &r);
	ck_assert(!r.point);

	/* an ASCII key: a name beyond ASCII might fold into it */
	t = table_of(PLAIN);
	extract_str("UPDATE t SET \xc3\xaf"
	            "d = 1 WHERE id = 5",
	            &t, &r); /* ïd */
	ck_assert(!r.point);
	extract_str("UPDATE t SET v = 1 WHERE id = 5", &t, &r);
	ck_assert(r.point);

	/* a name too long for any column */
	char sql[256], a70[71];
	memset(a70, 'a', 70);
	a70[70] = '\0';
	snprintf(sql, sizeof(sql), "SELECT * FROM t WHERE %s = 5 AND id = 1", a70);
	extract_str(sql, &t, &r);
	ck_assert(r.point);
}
END_TEST

START_TEST(test_hostile_nesting)
{
	enum { DEPTH = 20000 };
	struct schema_table t = table_of(ID);
	char *sql = malloc(2 * DEPTH + 64);
	struct keys_result r;
	/* past MAX_GROUPS, a group is one opaque predicate: safe, not deep */
	size_t n = (size_t)sprintf(sql, "SELECT * FROM t WHERE ");
	for (int i = 0; i < DEPTH; i++)
		sql[n++] = '(';
	n += (size_t)sprintf(sql + n, "id = 1");
	for (int i = 0; i < DEPTH; i++)
		sql[n++] = ')';
	sql[n] = '\0';
	extract_str(sql, &t, &r);
	ck_assert(!r.point);

	n = (size_t)sprintf(sql, "SELECT * FROM t WHERE ");
	for (int i = 0; i < 5; i++)
		n += (size_t)sprintf(sql + n, "(v = %d AND ", i);
	n += (size_t)sprintf(sql + n, "id = 1");
	for (int i = 0; i < 5; i++)
		sql[n++] = ')';
	sql[n] = '\0';
	extract_str(sql, &t, &r);
	ck_assert(r.point);
	ck_assert_str_eq(r.keys[0].text, "1");

	/* many groups side by side, each read as a conjunction */
	n = (size_t)sprintf(sql, "SELECT * FROM t WHERE id = 9");
	for (int i = 0; i < 2000; i++)
		n += (size_t)sprintf(sql + n, " AND (v = %d)", i % 10);
	extract_str(sql, &t, &r);
	ck_assert(r.point);
	free(sql);
}
END_TEST

static const char *const long_ones[] = {
    "/* sluice:replica */ SELECT a, `b``c`, 'q''s', EXTRACT(YEAR FROM d), ? FROM app.t AS x "
    "USE INDEX (PRIMARY) WHERE x.id IN (1, '2', ?) AND (v = 1 AND (name <=> 'z')) AND w "
    "BETWEEN -1 AND 5.0 && a = ? ORDER BY a LIMIT 1 FOR UPDATE; -- done",
    "INSERT LOW_PRIORITY IGNORE INTO app.t PARTITION (p0) (name, id, v) VALUES ('a', 1, ?), "
    "(?, DEFAULT, CONCAT('x', (1))), ('c', NULL, 3), ('d', 0, 4) ON DUPLICATE KEY UPDATE v = "
    "VALUES(v) + 1, name = 'q' RETURNING id",
    "UPDATE LOW_PRIORITY t AS x SET x.v = (v + ?) * 2, name := 'x' WHERE x.id = ? AND "
    "a IN (1,2) ORDER BY id LIMIT 3",
    "DELETE QUICK FROM app.t WHERE `id` IN (7, 8, 9) AND NOT (v = 1 OR v = 2) LIMIT 5 "
    "RETURNING *",
    "REPLACE INTO t SET name = 'x', id = '5', v = ? /* the end */",
};

START_TEST(test_every_prefix)
{
	static const enum shape shapes[] = {ID, COMP};
	struct keys_params params = {fake_add, "i1 sx i2 sy i3"};
	for (size_t i = 0; i < sizeof(long_ones) / sizeof(long_ones[0]); i++) {
		size_t len = strlen(long_ones[i]);
		for (size_t n = 0; n <= len; n++)
			for (size_t s = 0; s < 2; s++) {
				struct schema_table t = table_of(shapes[s]);
				struct cls_result c;
				struct keys_result r;
				extract_exact(long_ones[i], n, &t, &params, &c, &r);
				check_invariants(&r, &t);
			}
	}
}
END_TEST

START_TEST(test_long_ones_whole)
{
	static const char *const want[] = {"1|2|3", "1|0", "3", "7|8|9", "5"};
	static const unsigned auto_rows[] = {0, 3, 0, 0, 0};
	struct schema_table t = table_of(ID);
	struct keys_params params = {fake_add, "sx i3 i3"};
	for (size_t i = 0; i < sizeof(long_ones) / sizeof(long_ones[0]); i++) {
		struct cls_result c;
		struct keys_result r;
		extract_exact(long_ones[i], strlen(long_ones[i]), &t, &params, &c, &r);
		char got[512];
		keys_text(&r, got, sizeof(got));
		ck_assert_msg(r.point, "%s", long_ones[i]);
		ck_assert_msg(strcmp(got, want[i]) == 0, "%s: %s", long_ones[i], got);
		ck_assert_uint_eq(r.auto_rows, auto_rows[i]);
	}
}
END_TEST

/* Random text: half raw bytes, half a jumble of the pieces key predicates are made of. With
 * values for its markers an answer may only get more precise, never less. */
START_TEST(test_random_input)
{
	/* clang-format off */
	static const char *const pieces[] = {
	    "SELECT * FROM t ", "UPDATE t SET v = 1 ", "DELETE FROM t ", "INSERT INTO t ",
	    "VALUES ", "WHERE ", "id", "a", "b", "`id`", "t.", " = ", "<=>", " IN ", "(", ")", ",",
	    " AND ", "&&", " OR ", "|", "?", "'x'", "'", "\\", "1", "-", ".", "0", "NULL",
	    "DEFAULT", " BETWEEN ", "CASE ", "/*", "*/", "/*!", "--", " ", ";", "SET ",
	    " ON DUPLICATE KEY UPDATE ", "\xc3\xa9",
	};
	/* clang-format on */
	const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	static const enum shape shapes[] = {ID, PLAIN, STR, COMP, UNIQ};
	struct keys_params params = {fake_add, "i1 sx i2 sy i3 s4 i5"};
	srand(20240611);
	char buf[512];
	for (int i = 0; i < 20000; i++) {
		size_t len = 0;
		size_t want = (size_t)(rand() % 200);
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
		struct schema_table t = table_of(shapes[(size_t)i % 5]);
		struct cls_result c;
		struct keys_result bare, bound;
		extract_exact(buf, len, &t, NULL, &c, &bare);
		check_invariants(&bare, &t);
		extract_exact(buf, len, &t, &params, &c, &bound);
		check_invariants(&bound, &t);
		ck_assert(!bare.point || bound.point);
	}
}
END_TEST

static Suite *keys_suite(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("cases");
	tcase_add_loop_test(tc, test_key_case, 0, N_CASES);
	tcase_add_test(tc, test_keys_max);
	tcase_add_test(tc, test_outside_the_contract);
	tcase_add_test(tc, test_value_words);
	tcase_add_test(tc, test_names_beyond_ascii);
	tcase_add_test(tc, test_hostile_nesting);
	tcase_add_test(tc, test_every_prefix);
	tcase_add_test(tc, test_long_ones_whole);
	tcase_add_test(tc, test_random_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(keys_suite());
}
