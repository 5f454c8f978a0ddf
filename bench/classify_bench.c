/*
 * classify_bench.c - how long classify() takes on the statements a proxy really sees.
 *
 * Classifies each statement of a fixed corpus (sysbench's OLTP statements, ORM-style queries
 * with joins and subqueries, session set-up, transaction control, a 2 KB IN-list) over and over
 * for about a second each, and prints the nanoseconds one classification took, then the mean
 * and the slowest. It reports and does not judge (the target is < 1 us for a typical statement).
 *
 *   classify_bench [seconds per statement, default 1]
 */
#include "classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IN_LIST_BYTES 2048

static const char *const corpus[] = {
    /* sysbench oltp_read_write */
    "SELECT c FROM sbtest1 WHERE id=4999",
    "SELECT c FROM sbtest3 WHERE id BETWEEN 4999 AND 5098",
    "SELECT SUM(k) FROM sbtest2 WHERE id BETWEEN 4999 AND 5098",
    "SELECT c FROM sbtest4 WHERE id BETWEEN 4999 AND 5098 ORDER BY c",
    "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 4999 AND 5098 ORDER BY c",
    "UPDATE sbtest1 SET k=k+1 WHERE id=5012",
    "UPDATE sbtest2 SET c='41579429577-33471178823-44838464366-54474213337-86361426542-"
    "09722398744-23405946580-53325779578-84633577843-29282406116' WHERE id=4877",
    "DELETE FROM sbtest3 WHERE id=5010",
    "INSERT INTO sbtest3 (id, k, c, pad) VALUES (5010, 4993, '03795420911-43218925423-"
    "81349862337-39463498839-19866496627-65393880652-58066346826-81393883488-68419399773-"
    "61434592326', '23093937485-44524588545-21530513590-58958384296-65496545898')",
    "BEGIN",
    "COMMIT",
    /* ORM-style reads */
    "select user0_.id as id1_0_, user0_.email as email2_0_, user0_.name as name3_0_, "
    "orders1_.id as id1_1_1_, orders1_.total as total2_1_1_ from users user0_ left outer join "
    "orders orders1_ on user0_.id=orders1_.user_id where user0_.id=42",
    "SELECT `auth_user`.`id`, `auth_user`.`password`, `auth_user`.`last_login`, "
    "`auth_user`.`username`, `auth_user`.`email` FROM `auth_user` INNER JOIN "
    "`auth_user_groups` ON (`auth_user`.`id` = `auth_user_groups`.`user_id`) WHERE "
    "`auth_user_groups`.`group_id` = 1 LIMIT 21",
    "SELECT `posts`.* FROM `posts` INNER JOIN `comments` ON `comments`.`post_id` = "
    "`posts`.`id` WHERE `posts`.`published` = TRUE ORDER BY `posts`.`created_at` DESC LIMIT 20 "
    "OFFSET 40",
    "SELECT anon_1.id, anon_1.name FROM (SELECT users.id AS id, users.name AS name FROM users "
    "WHERE users.active = 1) AS anon_1 ORDER BY anon_1.id",
    "SELECT p.id, p.title FROM posts p WHERE EXISTS (SELECT 1 FROM tags t JOIN post_tags pt ON "
    "pt.tag_id = t.id WHERE pt.post_id = p.id AND t.name = 'c')",
    "SELECT COUNT(*) AS count FROM orders WHERE user_id = 5 AND status IN ('paid', 'shipped')",
    "WITH recent AS (SELECT user_id, MAX(created_at) AS last FROM orders GROUP BY user_id) "
    "SELECT u.name, r.last FROM users u JOIN recent r ON r.user_id = u.id",
    "SELECT * FROM accounts WHERE id = 7 FOR UPDATE",
    "/* sluice:replica */ SELECT id, name FROM products WHERE category_id = 3",
    /* ORM-style writes */
    "INSERT INTO `orders` (`user_id`, `total`, `created_at`) VALUES (5, 19.99, "
    "'2024-01-01 10:00:00')",
    "INSERT INTO events (kind, payload) VALUES ('click', '{}'), ('view', '{}'), ('buy', '{}')",
    "UPDATE `users` SET `last_login` = '2024-06-01 12:00:00', `login_count` = `login_count` + "
    "1 WHERE `users`.`id` = 42",
    /* session set-up and connection-bound reads */
    "SET NAMES utf8mb4",
    "SET autocommit=0",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
    "START TRANSACTION READ ONLY",
    "SELECT LAST_INSERT_ID()",
    "SELECT @@version_comment LIMIT 1",
    "SHOW WARNINGS",
};

#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* SELECT id, name FROM products WHERE id IN (1, 2, ...) of about IN_LIST_BYTES bytes. */
static char *make_in_list(void)
{
	char *sql = malloc(IN_LIST_BYTES + 32);
	size_t n = (size_t)sprintf(sql, "SELECT id, name FROM products WHERE id IN (1");
	for (int id = 2; n < IN_LIST_BYTES - 8; id++)
		n += (size_t)sprintf(sql + n, ", %d", id);
	sprintf(sql + n, ")");
	return sql;
}

/* Nanoseconds per classification of sql, measured for about seconds. */
static double measure(const char *sql, double seconds)
{
	size_t len = strlen(sql);
	struct cls_result r;
	uint64_t budget = (uint64_t)(seconds * 1e9), sink = 0, runs = 0, batch = 1000;
	uint64_t start = now_ns(), elapsed = 0;
	while (elapsed < budget) {
		for (uint64_t i = 0; i < batch; i++) {
			classify(sql, len, "app", &r);
			sink += r.flags + r.n_tables;
		}
		runs += batch;
		elapsed = now_ns() - start;
	}
	if (sink == 1) /* never: keeps the results alive */
		puts("");
	return (double)elapsed / (double)runs;
}

static void print_row(const char *sql, double ns)
{
	char head[51];
	size_t n = 0;
	for (; n < sizeof(head) - 1 && sql[n]; n++)
		head[n] = sql[n] == '\n' ? ' ' : sql[n];
	head[n] = '\0';
	printf("%-50s  %8.0f\n", head, ns);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	if (seconds <= 0) {
		fprintf(stderr, "usage: %s [seconds per statement]\n", argv[0]);
		return 2;
	}
	char *in_list = make_in_list();
	printf("%-50s  %8s\n", "statement", "ns/op");
	double sum = 0, max = 0, typical_sum = 0;
	for (size_t i = 0; i <= N_CORPUS; i++) {
		const char *sql = i < N_CORPUS ? corpus[i] : in_list;
		double ns = measure(sql, seconds);
		print_row(sql, ns);
		sum += ns;
		typical_sum += i < N_CORPUS ? ns : 0;
		max = ns > max ? ns : max;
	}
	printf("\n%zu statements: mean %.0f ns, mean without the %zu-byte IN-list %.0f ns, "
	       "max %.0f ns\n",
	       N_CORPUS + 1, sum / (double)(N_CORPUS + 1), strlen(in_list),
	       typical_sum / (double)N_CORPUS, max);
	free(in_list);
	return 0;
}
