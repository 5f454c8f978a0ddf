/*
 * balance.c - which replica serves a read (see balance.h).
 *
 * Every mode walks the same candidates and honours the same filter, is_eligible(): the replica
 * is in the read pool, has a weight above 0 and is not the one being retried away from. What
 * differs is only how an eligible replica is preferred:
 *   round-robin        the next eligible one after the last pick
 *   weighted           nginx's smooth weighted round-robin
 *   least-connections  the lowest active/weight, ties going round-robin
 *   random             weighted random from a per-balancer splitmix64
 *   hash               ketama-style consistent hashing over a ring of virtual nodes
 * The weights and what is derived from them (the smooth scores, the ring) live together in
 * struct weights so that a reload can build the new set before giving up the old one.
 */
#include "balance.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Ring points per replica of average weight. A replica's share of the key space strays from its
 * weight's by about 1/sqrt(points): ketama's 160 left one of 10 equal replicas 15% off (measured
 * over the exact arcs of this hash's ring), 1000 keeps them within ~5%, for 16 bytes a point.
 */
#define RING_POINTS_PER_REPLICA 1000

struct ring_point {
	uint64_t hash;
	size_t replica;
};

struct weights {
	size_t n;
	int *weight;             /* per replica; 0 = never chosen */
	int64_t *current;        /* smooth weighted round-robin's running score per replica */
	struct ring_point *ring; /* BALANCE_HASH only: sorted by hash */
	size_t n_points;
};

struct balancer {
	enum cfg_balance mode;
	struct weights w;
	size_t cursor; /* where round-robin resumes; least-connections breaks ties from there too */
	uint64_t rng;  /* splitmix64 state */
};

/* Always allocates at least one element, so that NULL means out of memory even when count is 0. */
static void *allocate_zeroed(size_t count, size_t size)
{
	return calloc(count ? count : 1, size);
}

/*
 * murmur3's 64-bit finalizer. FNV-1a alone avalanches poorly in the last bytes of short inputs:
 * ring labels that differ only at the end ("1-158", "1-159") and neighbouring client addresses
 * land on correlated ring positions, clustering one replica's points: without the finalizer one
 * of 3 equal replicas owned 60% more or less than its third of the ring. The finalizer makes
 * every input bit flip about half of the output bits.
 */
static uint64_t mix_bits(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* FNV-1a for its simplicity over a few bytes of address, finalized by mix_bits() (see above). */
uint64_t balance_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return mix_bits(h);
}

/* splitmix64: one 64-bit state, any seed (0 included) is fine, and it passes BigCrush. */
static uint64_t next_random(struct balancer *b)
{
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int compare_points(const void *a, const void *b)
{
	const struct ring_point *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	/* Colliding points are ordered by replica so the ring never depends on qsort's whims. */
	return (x->replica > y->replica) - (x->replica < y->replica);
}

/*
 * A replica's points are in proportion to its share of the total weight, scaled so the average
 * replica gets RING_POINTS_PER_REPLICA (ketama's normalisation): weights 1:2 and 100:200 build
 * the same ring, and its size does not grow with the numbers in the config.
 */
static size_t points_for(int weight, int64_t total, size_t weighted)
{
	if (weight <= 0)
		return 0;
	uint64_t points =
	    (uint64_t)RING_POINTS_PER_REPLICA * weighted * (uint64_t)weight / (uint64_t)total;
	return points ? points : 1;
}

/*
 * Each point hashes the label "replica-vnode", so a replica's points depend on nothing but its
 * index and its own point count: taking a replica out of the pool moves only its own keys.
 */
static bool build_ring(struct weights *w)
{
	int64_t total = 0;
	size_t weighted = 0;
	for (size_t i = 0; i < w->n; i++) {
		total += w->weight[i];
		weighted += w->weight[i] > 0;
	}
	size_t n_points = 0;
	for (size_t i = 0; i < w->n; i++)
		n_points += points_for(w->weight[i], total, weighted);
	w->ring = allocate_zeroed(n_points, sizeof(*w->ring));
	if (!w->ring)
		return false;
	for (size_t i = 0; i < w->n; i++) {
		size_t points = points_for(w->weight[i], total, weighted);
		for (size_t v = 0; v < points; v++) {
			char label[48];
			int len = snprintf(label, sizeof(label), "%zu-%zu", i, v);
			w->ring[w->n_points++] =
			    (struct ring_point){balance_hash(label, (size_t)len), i};
		}
	}
	qsort(w->ring, w->n_points, sizeof(*w->ring), compare_points);
	return true;
}

static void free_weights(struct weights *w)
{
	free(w->weight);
	free(w->current);
	free(w->ring);
}

/* Builds a complete set of weights and what derives from them, or nothing at all. */
static bool build_weights(struct weights *w, enum cfg_balance mode, const int *weights, size_t n)
{
	*w = (struct weights){.n = n};
	if (n > INT_MAX) /* balance_pick() returns an int index */
		return false;
	w->weight = allocate_zeroed(n, sizeof(*w->weight));
	w->current = allocate_zeroed(n, sizeof(*w->current));
	if (!w->weight || !w->current) {
		free_weights(w);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		w->weight[i] = weights[i] > 0 ? weights[i] : 0;
	if (mode == BALANCE_HASH && !build_ring(w)) {
		free_weights(w);
		return false;
	}
	return true;
}

struct balancer *balance_create(enum cfg_balance mode, const int *weights, size_t n, uint64_t seed)
{
	struct balancer *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->mode = mode;
	b->rng = seed;
	if (!build_weights(&b->w, mode, weights, n)) {
		free(b);
		return NULL;
	}
	return b;
}

void balance_destroy(struct balancer *b)
{
	if (!b)
		return;
	free_weights(&b->w);
	free(b);
}

bool balance_set_weights(struct balancer *b, const int *weights, size_t n)
{
	struct weights fresh;
	if (!build_weights(&fresh, b->mode, weights, n))
		return false;
	free_weights(&b->w);
	b->w = fresh;
	return true;
}

static bool is_eligible(const struct balancer *b, const struct balance_candidate *c, size_t i,
                        int exclude)
{
	return c[i].usable && b->w.weight[i] > 0 && (exclude < 0 || i != (size_t)exclude);
}

static int pick_round_robin(struct balancer *b, const struct balance_candidate *c, int exclude)
{
	for (size_t k = 0; k < b->w.n; k++) {
		size_t i = (b->cursor + k) % b->w.n;
		if (is_eligible(b, c, i, exclude)) {
			b->cursor = i + 1;
			return (int)i;
		}
	}
	return -1;
}

/*
 * nginx's smooth weighted round-robin: every eligible replica earns its weight, the richest is
 * picked and pays back the total. Over one cycle each replica is picked weight times, and the
 * picks are interleaved (5,1,1 gives a a b a c a a) instead of bunched (a a a a a b c).
 */
static int pick_weighted(struct balancer *b, const struct balance_candidate *c, int exclude)
{
	int64_t total = 0;
	int best = -1;
	for (size_t i = 0; i < b->w.n; i++) {
		if (!is_eligible(b, c, i, exclude))
			continue;
		b->w.current[i] += b->w.weight[i];
		total += b->w.weight[i];
		if (best < 0 || b->w.current[i] > b->w.current[best])
			best = (int)i;
	}
	if (best >= 0)
		b->w.current[best] -= total;
	return best;
}

/* Is replica x less loaded than y, relative to their weights? Cross-multiplied: no rounding. */
static bool is_less_loaded(const struct balancer *b, const struct balance_candidate *c, size_t x,
                           size_t y)
{
	return (int64_t)c[x].active * b->w.weight[y] < (int64_t)c[y].active * b->w.weight[x];
}

/* The scan starts at the round-robin cursor and keeps the first of equals, so ties take turns. */
static int pick_least_connections(struct balancer *b, const struct balance_candidate *c,
                                  int exclude)
{
	int best = -1;
	for (size_t k = 0; k < b->w.n; k++) {
		size_t i = (b->cursor + k) % b->w.n;
		if (is_eligible(b, c, i, exclude) &&
		    (best < 0 || is_less_loaded(b, c, i, (size_t)best)))
			best = (int)i;
	}
	if (best >= 0)
		b->cursor = (size_t)best + 1;
	return best;
}

/* The modulo's bias is at most total / 2^64: far below anything a read balancer could notice. */
static int pick_random(struct balancer *b, const struct balance_candidate *c, int exclude)
{
	int64_t total = 0;
	for (size_t i = 0; i < b->w.n; i++)
		if (is_eligible(b, c, i, exclude))
			total += b->w.weight[i];
	if (total == 0)
		return -1;
	int64_t r = (int64_t)(next_random(b) % (uint64_t)total);
	for (size_t i = 0; i < b->w.n; i++) {
		if (!is_eligible(b, c, i, exclude))
			continue;
		if (r < b->w.weight[i])
			return (int)i;
		r -= b->w.weight[i];
	}
	return -1;
}

/* The first ring point at or after key, wrapping past the end to the start. */
static size_t first_point_from(const struct weights *w, uint64_t key)
{
	size_t lo = 0, hi = w->n_points;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->ring[mid].hash < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == w->n_points ? 0 : lo;
}

/*
 * Clockwise from the key to the first point of an eligible replica. The ring itself never
 * changes with health, so a key whose replica is usable always stays on it, and the keys of an
 * unusable one spread over the others in proportion to their points.
 */
static int pick_hash(const struct balancer *b, const struct balance_candidate *c, uint64_t key,
                     int exclude)
{
	size_t start = first_point_from(&b->w, key);
	for (size_t k = 0; k < b->w.n_points; k++) {
		size_t replica = b->w.ring[(start + k) % b->w.n_points].replica;
		if (is_eligible(b, c, replica, exclude))
			return (int)replica;
	}
	return -1;
}

int balance_pick(struct balancer *b, const struct balance_candidate *c, uint64_t key, int exclude)
{
	switch (b->mode) {
	case BALANCE_ROUND_ROBIN: return pick_round_robin(b, c, exclude);
	case BALANCE_WEIGHTED: return pick_weighted(b, c, exclude);
	case BALANCE_LEAST_CONNECTIONS: return pick_least_connections(b, c, exclude);
	case BALANCE_RANDOM: return pick_random(b, c, exclude);
	case BALANCE_HASH: return pick_hash(b, c, key, exclude);
	}
	abort(); /* a mode the config parser cannot produce */
}
