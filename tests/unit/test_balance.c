/*
 * test_balance.c - unit tests for proxy/balance.c, the choice of which replica serves a read.
 *
 * Two tables drive most of it. Sequences: a mode, weights and a fixed snapshot of the replicas,
 * and the exact picks that must follow (round-robin order, nginx's smooth weighted order,
 * least-connections' choice and tie-breaking, exclusion, -1 when nothing is usable). Shares: many
 * picks (or, for hash, many client keys) and the fraction each replica must get, within a
 * tolerance. Consistent hashing's promises (a key stays put, removing a replica moves only its
 * keys) and reloading the weights have their own tests.
 *
 * Loops of thousands of picks check into counters and assert once at the end: every passing
 * ck_assert is a message to Check's runner, and thousands of them would cost seconds.
 */
#include "balance.h"

#include "check_main.h"

#include <check.h>
#include <limits.h>
#include <stdlib.h>

#define MAX_REPLICAS 8
#define STOP         INT_MIN /* ends a sequence; -1 is a real answer */
#define NOT_USABLE   -1      /* in active[]: the replica is out of the read pool */

static struct balancer *create_or_fail(enum cfg_balance mode, const int *weights, size_t n,
                                       uint64_t seed)
{
	struct balancer *b = balance_create(mode, weights, n, seed);
	ck_assert_ptr_nonnull(b);
	return b;
}

/* active[i] is replica i's session count, or NOT_USABLE. */
static void fill_candidates(struct balance_candidate *c, const int *active, size_t n)
{
	for (size_t i = 0; i < n; i++)
		c[i] = (struct balance_candidate){active[i] != NOT_USABLE,
		                                  active[i] > 0 ? active[i] : 0};
}

static uint64_t key_of(uint32_t client)
{
	return balance_hash(&client, sizeof(client));
}

/* ---- exact sequences ---- */

struct sequence_case {
	const char *name;
	enum cfg_balance mode;
	size_t n;
	int weights[MAX_REPLICAS];
	int active[MAX_REPLICAS];
	int exclude;
	int picks[16]; /* ends with STOP */
};

#define RR   BALANCE_ROUND_ROBIN
#define SWRR BALANCE_WEIGHTED
#define LC   BALANCE_LEAST_CONNECTIONS
#define RAND BALANCE_RANDOM
#define HASH BALANCE_HASH
#define NU   NOT_USABLE
#define NONE -1

static const struct sequence_case sequences[] = {
    /* round-robin */
    {"rr: three replicas in turn", RR, 3, {1, 1, 1}, {0}, NONE, {0, 1, 2, 0, 1, 2, STOP}},
    {"rr: weights do not skew it", RR, 3, {5, 1, 1}, {0}, NONE, {0, 1, 2, 0, 1, 2, STOP}},
    {"rr: skips an unusable one", RR, 3, {1, 1, 1}, {0, NU, 0}, NONE, {0, 2, 0, 2, STOP}},
    {"rr: skips weight 0", RR, 3, {1, 0, 1}, {0}, NONE, {0, 2, 0, 2, STOP}},
    {"rr: exclude", RR, 3, {1, 1, 1}, {0}, 0, {1, 2, 1, 2, STOP}},
    /* nginx's smooth weighted round-robin */
    {"swrr: 5,1,1",
     SWRR,
     3,
     {5, 1, 1},
     {0},
     NONE,
     {0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0, STOP}},
    {"swrr: 2,1", SWRR, 2, {2, 1}, {0}, NONE, {0, 1, 0, 0, 1, 0, STOP}},
    {"swrr: skips an unusable one", SWRR, 3, {5, 1, 1}, {NU, 0, 0}, NONE, {1, 2, 1, 2, STOP}},
    {"swrr: skips weight 0", SWRR, 3, {0, 1, 1}, {0}, NONE, {1, 2, 1, 2, STOP}},
    {"swrr: exclude the heaviest", SWRR, 3, {5, 1, 1}, {0}, 0, {1, 2, 1, 2, STOP}},
    /* least-connections */
    {"lc: the least loaded", LC, 3, {1, 1, 1}, {3, 1, 2}, NONE, {1, 1, 1, STOP}},
    {"lc: relative to weight", LC, 2, {1, 3}, {2, 3}, NONE, {1, 1, STOP}},
    {"lc: relative to weight, other way", LC, 2, {1, 3}, {1, 6}, NONE, {0, 0, STOP}},
    {"lc: ties take turns", LC, 3, {1, 1, 1}, {0, 0, 0}, NONE, {0, 1, 2, 0, 1, 2, STOP}},
    {"lc: weighted ties take turns", LC, 3, {1, 2, 1}, {1, 2, 5}, NONE, {0, 1, 0, 1, STOP}},
    {"lc: skips an unusable idle one", LC, 3, {1, 1, 1}, {NU, 4, 2}, NONE, {2, 2, STOP}},
    {"lc: skips weight 0", LC, 2, {0, 1}, {0, 9}, NONE, {1, 1, STOP}},
    {"lc: exclude the least loaded", LC, 3, {1, 1, 1}, {3, 1, 2}, 1, {2, 2, STOP}},
    /* random, where only one answer is possible */
    {"random: one usable", RAND, 3, {1, 1, 1}, {NU, 0, NU}, NONE, {1, 1, 1, STOP}},
    {"random: exclude leaves one", RAND, 2, {1, 1}, {0}, 0, {1, 1, 1, STOP}},
    {"random: weight 0 leaves one", RAND, 2, {0, 1}, {0}, NONE, {1, 1, 1, STOP}},
    /* hash, where only one answer is possible */
    {"hash: one usable", HASH, 3, {1, 1, 1}, {NU, NU, 0}, NONE, {2, 2, STOP}},
    {"hash: exclude leaves one", HASH, 2, {1, 1}, {0}, 1, {0, 0, STOP}},
    /* nothing usable: every mode says -1 */
    {"rr: all unusable", RR, 2, {1, 1}, {NU, NU}, NONE, {-1, -1, STOP}},
    {"swrr: all unusable", SWRR, 2, {1, 1}, {NU, NU}, NONE, {-1, -1, STOP}},
    {"lc: all unusable", LC, 2, {1, 1}, {NU, NU}, NONE, {-1, -1, STOP}},
    {"random: all unusable", RAND, 2, {1, 1}, {NU, NU}, NONE, {-1, -1, STOP}},
    {"hash: all unusable", HASH, 2, {1, 1}, {NU, NU}, NONE, {-1, -1, STOP}},
    {"rr: all weight 0", RR, 2, {0, 0}, {0}, NONE, {-1, STOP}},
    {"hash: all weight 0", HASH, 2, {0, 0}, {0}, NONE, {-1, STOP}},
    {"rr: no replicas", RR, 0, {0}, {0}, NONE, {-1, STOP}},
    {"hash: no replicas", HASH, 0, {0}, {0}, NONE, {-1, STOP}},
    /* the excluded one is the only usable one: -1, not the excluded one */
    {"rr: only the excluded", RR, 2, {1, 1}, {0, NU}, 0, {-1, -1, STOP}},
    {"swrr: only the excluded", SWRR, 2, {1, 1}, {0, NU}, 0, {-1, -1, STOP}},
    {"lc: only the excluded", LC, 2, {1, 1}, {0, NU}, 0, {-1, -1, STOP}},
    {"random: only the excluded", RAND, 2, {1, 1}, {0, NU}, 0, {-1, -1, STOP}},
    {"hash: only the excluded", HASH, 2, {1, 1}, {0, NU}, 0, {-1, -1, STOP}},
};
#define N_SEQUENCES ((int)(sizeof(sequences) / sizeof(sequences[0])))

START_TEST(test_balance_sequence)
{
	const struct sequence_case *tc = &sequences[_i];
	struct balancer *b = create_or_fail(tc->mode, tc->weights, tc->n, 42);
	struct balance_candidate c[MAX_REPLICAS];
	fill_candidates(c, tc->active, tc->n);
	for (size_t k = 0; tc->picks[k] != STOP; k++) {
		int got = balance_pick(b, c, key_of((uint32_t)k), tc->exclude);
		ck_assert_msg(got == tc->picks[k], "%s: pick %zu is %d, expected %d", tc->name, k,
		              got, tc->picks[k]);
	}
	balance_destroy(b);
}
END_TEST

/* ---- shares over many picks ---- */

struct share_case {
	const char *name;
	enum cfg_balance mode;
	size_t n;
	int weights[MAX_REPLICAS];
	int active[MAX_REPLICAS];
	int picks;
	bool hold;     /* every pick opens a session that stays: active[pick] += 1 */
	int tolerance; /* per cent of each expected count */
};

static const struct share_case shares[] = {
    {"rr: even over 3", RR, 3, {1, 1, 1}, {0}, 300, false, 0},
    {"rr: even over the usable 3 of 4", RR, 4, {1, 1, 1, 1}, {0, 0, NU, 0}, 300, false, 0},
    {"swrr: 3,2,1", SWRR, 3, {3, 2, 1}, {0}, 600, false, 0},
    {"swrr: weight 0 never chosen", SWRR, 3, {3, 0, 1}, {0}, 400, false, 0},
    {"lc: long sessions fill by weight", LC, 3, {3, 2, 1}, {0}, 600, true, 1},
    {"random: 1,2,3", RAND, 3, {1, 2, 3}, {0}, 100000, false, 5},
    {"random: weight 0 never chosen", RAND, 3, {1, 0, 3}, {0}, 100000, false, 5},
    {"random: unusable never chosen", RAND, 3, {1, 9, 1}, {0, NU, 0}, 100000, false, 5},
    {"hash: 10000 clients over 3", HASH, 3, {1, 1, 1}, {0}, 10000, false, 15},
    {"hash: 10000 clients over 1,2", HASH, 2, {1, 2}, {0}, 10000, false, 15},
    {"hash: weight 0 never chosen", HASH, 3, {1, 0, 1}, {0}, 10000, false, 15},
};
#define N_SHARES ((int)(sizeof(shares) / sizeof(shares[0])))

static int usable_weight(const struct share_case *tc, size_t i)
{
	return tc->active[i] == NOT_USABLE ? 0 : tc->weights[i];
}

START_TEST(test_balance_share)
{
	const struct share_case *tc = &shares[_i];
	struct balancer *b = create_or_fail(tc->mode, tc->weights, tc->n, 7);
	struct balance_candidate c[MAX_REPLICAS];
	fill_candidates(c, tc->active, tc->n);
	int counts[MAX_REPLICAS] = {0}, bad = 0;
	for (int k = 0; k < tc->picks; k++) {
		int got = balance_pick(b, c, key_of((uint32_t)k), NONE);
		if (got < 0 || (size_t)got >= tc->n) {
			bad++;
			continue;
		}
		counts[got]++;
		c[got].active += tc->hold;
	}
	ck_assert_msg(bad == 0, "%s: %d picks out of range", tc->name, bad);
	int total = 0;
	for (size_t i = 0; i < tc->n; i++)
		total += usable_weight(tc, i);
	for (size_t i = 0; i < tc->n; i++) {
		long expected = (long)tc->picks * usable_weight(tc, i) / total;
		long slack = expected * tc->tolerance / 100;
		ck_assert_msg(labs(counts[i] - expected) <= slack,
		              "%s: replica %zu got %d picks, expected %ld +- %ld", tc->name, i,
		              counts[i], expected, slack);
	}
	balance_destroy(b);
}
END_TEST

/* ---- consistent hashing ---- */

#define CLIENTS 10000

/* Every client's replica with all n usable. */
static void map_clients(struct balancer *b, const struct balance_candidate *c, int exclude,
                        int *replica)
{
	for (uint32_t k = 0; k < CLIENTS; k++)
		replica[k] = balance_pick(b, c, key_of(k), exclude);
}

START_TEST(test_hash_is_stable)
{
	const int weights[] = {1, 1, 1};
	const struct balance_candidate c[] = {{true, 0}, {true, 5}, {true, 9}};
	struct balancer *b = create_or_fail(BALANCE_HASH, weights, 3, 1);
	/* Another worker thread's balancer, with its own seed: clients must map the same there. */
	struct balancer *other = create_or_fail(BALANCE_HASH, weights, 3, 2);
	int first[CLIENTS], again[CLIENTS], elsewhere[CLIENTS];
	map_clients(b, c, NONE, first);
	map_clients(b, c, NONE, again);
	map_clients(other, c, NONE, elsewhere);
	int moved = 0;
	for (int k = 0; k < CLIENTS; k++)
		moved += again[k] != first[k] || elsewhere[k] != first[k];
	ck_assert_int_eq(moved, 0);
	balance_destroy(b);
	balance_destroy(other);
}
END_TEST

START_TEST(test_hash_removal_moves_only_its_clients)
{
	const int weights[] = {1, 1, 1, 1};
	struct balance_candidate c[] = {{true, 0}, {true, 0}, {true, 0}, {true, 0}};
	struct balancer *b = create_or_fail(BALANCE_HASH, weights, 4, 1);
	int before[CLIENTS], after[CLIENTS], restored[CLIENTS];
	map_clients(b, c, NONE, before);
	c[2].usable = false;
	map_clients(b, c, NONE, after);
	c[2].usable = true;
	map_clients(b, c, NONE, restored);
	int moved = 0, others_moved = 0, lost = 0, not_back = 0;
	for (int k = 0; k < CLIENTS; k++) {
		moved += before[k] == 2;
		others_moved += before[k] != 2 && after[k] != before[k];
		lost += after[k] == -1 || after[k] == 2;
		not_back += restored[k] != before[k];
	}
	ck_assert_int_eq(others_moved, 0);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(not_back, 0);
	/* About a quarter of the clients were on replica 2 (within the same +-15%). */
	ck_assert_msg(moved >= CLIENTS / 4 * 85 / 100 && moved <= CLIENTS / 4 * 115 / 100,
	              "%d of %d clients moved", moved, CLIENTS);
	balance_destroy(b);
}
END_TEST

/* A retry away from a client's replica goes where the client would go if that replica left. */
START_TEST(test_hash_exclude_follows_the_ring)
{
	const int weights[] = {1, 1, 1, 1};
	struct balance_candidate c[] = {{true, 0}, {true, 0}, {true, 0}, {true, 0}};
	struct balancer *b = create_or_fail(BALANCE_HASH, weights, 4, 1);
	int home[CLIENTS];
	map_clients(b, c, NONE, home);
	int wrong = 0;
	for (uint32_t k = 0; k < CLIENTS; k++) {
		int retry = balance_pick(b, c, key_of(k), home[k]);
		c[home[k]].usable = false;
		int without_home = balance_pick(b, c, key_of(k), NONE);
		c[home[k]].usable = true;
		wrong += retry == -1 || retry == home[k] || retry != without_home;
	}
	ck_assert_int_eq(wrong, 0);
	balance_destroy(b);
}
END_TEST

/* ---- exclusion in the modes whose picks are not fixed ---- */

START_TEST(test_exclude_is_never_picked)
{
	static const enum cfg_balance modes[] = {RR, SWRR, LC, RAND, HASH};
	const int weights[] = {1, 3, 2};
	const struct balance_candidate c[] = {{true, 2}, {true, 0}, {true, 1}};
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct balancer *b = create_or_fail(modes[m], weights, 3, 3);
		int wrong = 0;
		for (uint32_t k = 0; k < 1000; k++) {
			int exclude = (int)(k % 3);
			int got = balance_pick(b, c, key_of(k), exclude);
			wrong += got < 0 || got == exclude;
		}
		ck_assert_msg(wrong == 0, "mode %d: %d bad picks", (int)modes[m], wrong);
		balance_destroy(b);
	}
}
END_TEST

/* ---- reloading the weights ---- */

static void count_picks(struct balancer *b, const struct balance_candidate *c, int picks,
                        int *counts)
{
	int none = 0;
	for (int k = 0; k < picks; k++) {
		int got = balance_pick(b, c, key_of((uint32_t)k), NONE);
		if (got < 0)
			none++;
		else
			counts[got]++;
	}
	ck_assert_int_eq(none, 0);
}

START_TEST(test_set_weights_changes_shares)
{
	const int even[] = {1, 1, 1}, skewed[] = {1, 0, 3}, five[] = {1, 1, 1, 1, 1};
	const struct balance_candidate c[] = {
	    {true, 0}, {true, 0}, {true, 0}, {true, 0}, {true, 0}};
	struct balancer *b = create_or_fail(BALANCE_WEIGHTED, even, 3, 1);
	int counts[5] = {0};
	count_picks(b, c, 300, counts);
	ck_assert(counts[0] == 100 && counts[1] == 100 && counts[2] == 100);

	ck_assert(balance_set_weights(b, skewed, 3));
	int skewed_counts[5] = {0};
	count_picks(b, c, 400, skewed_counts);
	ck_assert(skewed_counts[0] == 100 && skewed_counts[1] == 0 && skewed_counts[2] == 300);

	ck_assert(balance_set_weights(b, five, 5)); /* a replica count change */
	int five_counts[5] = {0};
	count_picks(b, c, 500, five_counts);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(five_counts[i], 100);
	balance_destroy(b);
}
END_TEST

START_TEST(test_set_weights_rebuilds_the_ring)
{
	const int three[] = {1, 1, 1}, four[] = {1, 1, 1, 1}, without_fourth[] = {1, 1, 1, 0};
	const struct balance_candidate c[] = {{true, 0}, {true, 0}, {true, 0}, {true, 0}};
	struct balancer *b = create_or_fail(BALANCE_HASH, three, 3, 1);
	int before[CLIENTS], grown[CLIENTS], dropped[CLIENTS];
	map_clients(b, c, NONE, before);
	/* A fourth equal replica takes clients only for itself, about a quarter of them. */
	ck_assert(balance_set_weights(b, four, 4));
	map_clients(b, c, NONE, grown);
	int to_new = 0, to_old = 0;
	for (int k = 0; k < CLIENTS; k++) {
		to_new += grown[k] == 3;
		to_old += grown[k] != before[k] && grown[k] != 3;
	}
	ck_assert_int_eq(to_old, 0);
	ck_assert_msg(to_new >= CLIENTS / 4 * 85 / 100 && to_new <= CLIENTS / 4 * 115 / 100,
	              "%d of %d clients moved to the new replica", to_new, CLIENTS);
	/* Weight 0 takes it off the ring: everyone is back where they were with three. */
	ck_assert(balance_set_weights(b, without_fourth, 4));
	map_clients(b, c, NONE, dropped);
	int moved = 0;
	for (int k = 0; k < CLIENTS; k++)
		moved += dropped[k] != before[k];
	ck_assert_int_eq(moved, 0);
	balance_destroy(b);
}
END_TEST

START_TEST(test_set_weights_changes_random_shares)
{
	const int even[] = {1, 1}, skewed[] = {9, 1};
	const struct balance_candidate c[] = {{true, 0}, {true, 0}};
	struct balancer *b = create_or_fail(BALANCE_RANDOM, even, 2, 11);
	ck_assert(balance_set_weights(b, skewed, 2));
	int counts[2] = {0};
	count_picks(b, c, 100000, counts);
	ck_assert_msg(abs(counts[0] - 90000) <= 4500 && abs(counts[1] - 10000) <= 500,
	              "got %d and %d", counts[0], counts[1]);
	balance_destroy(b);
}
END_TEST

static Suite *balance_suite(void)
{
	Suite *s = suite_create("balance");
	TCase *tc = tcase_create("cases");
	tcase_add_loop_test(tc, test_balance_sequence, 0, N_SEQUENCES);
	tcase_add_loop_test(tc, test_balance_share, 0, N_SHARES);
	tcase_add_test(tc, test_hash_is_stable);
	tcase_add_test(tc, test_hash_removal_moves_only_its_clients);
	tcase_add_test(tc, test_hash_exclude_follows_the_ring);
	tcase_add_test(tc, test_exclude_is_never_picked);
	tcase_add_test(tc, test_set_weights_changes_shares);
	tcase_add_test(tc, test_set_weights_rebuilds_the_ring);
	tcase_add_test(tc, test_set_weights_changes_random_shares);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(balance_suite());
}
