/*
 * balance.h - the choice of which replica serves a read.
 *
 * A balancer knows the replicas only by index and weight; the caller passes, for every pick, a
 * snapshot of which replicas are in the read pool and how busy they are, and gets back an index.
 * Pure: no I/O, no clock, no libc rand(), and no locks. Each worker thread owns its own
 * balancer and never shares it, so the round-robin cursor, the smooth weighted scores and the
 * PRNG state are plain fields. Replica health, lag and connection counts are the monitor's and
 * the pool's business; this module only reads the candidates it is handed.
 */
#pragma once

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the caller knows about one replica at the moment of a pick. */
struct balance_candidate {
	bool usable; /* in the read pool now: healthy and not too far behind */
	int active;  /* sessions currently using it; read by least-connections only */
};

struct balancer;

/*
 * Creates a balancer for n replicas in the given mode. weights[i] is replica i's relative share
 * (0 = never chosen; negative counts as 0); the balancer keeps its own copy. seed feeds the PRNG
 * of BALANCE_RANDOM, so tests and threads get reproducible, independent sequences. Returns NULL
 * when out of memory. The caller frees it with balance_destroy().
 */
struct balancer *balance_create(enum cfg_balance mode, const int *weights, size_t n, uint64_t seed)
    __attribute__((warn_unused_result));
void balance_destroy(struct balancer *b);

/*
 * Replaces the weights (SIGHUP): n may differ from before, and from then on balance_pick() reads
 * n candidates. Rebuilds what depends on the weights (the hash ring, the smooth weighted
 * scores). Returns false when out of memory, leaving the balancer as it was.
 */
bool balance_set_weights(struct balancer *b, const int *weights, size_t n)
    __attribute__((warn_unused_result));

/*
 * Returns the index of the replica to use, or -1 when none is usable (the caller falls back to
 * the primary). c holds one entry per replica the balancer was last given weights for. key is
 * balance_hash() of the client's address, read by BALANCE_HASH only. exclude is a replica to
 * avoid (a retry after it failed), or -1; when it is the only usable replica the result is -1.
 */
int balance_pick(struct balancer *b, const struct balance_candidate *c, uint64_t key, int exclude);

/*
 * The hash of a client's address for BALANCE_HASH's key, and of the ring's points: FNV-1a 64
 * with a murmur3 finalizer (see balance.c for why both).
 */
uint64_t balance_hash(const void *data, size_t len);
