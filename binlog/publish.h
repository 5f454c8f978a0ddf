/*
 * publish.h - what the tailer writes to Redis for each committed transaction.
 *
 * For a transaction, in this order:
 *   1. the pin marks of every changed key (EVAL MARKS_LUA_SETTLE, the commit's GTID, 0 pending):
 *      so a read through Sluice of a row written around it is routed as the proxy's own write;
 *   2. with the cache on, the invalidation of the result cache (cache/results.h): the changed
 *      deps' versions become the commit's GTID, row-tagged entries go, P:c:drop is told;
 *   3. one stream entry (XADD P:inval MAXLEN ~ N) and the checkpoint (SET P:binlog:checkpoint),
 *      together in one script that first checks that this tailer still holds the lease: a
 *      deposed leader can neither append nor move the checkpoint.
 * The checkpoint is written only after the entry, so a crash repeats a transaction, never skips
 * one (at least once). docs/binlog.md documents the entry's fields.
 *
 * The field builders are pure, for the unit tests; the publisher owns its argument buffers.
 */
#pragma once

#include "lease.h"
#include "rlink.h"
#include "txn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUBLISH_KEY_MAX 256

/* A growable list of owned strings: a Redis command's arguments. */
struct fields {
	size_t n, cap;
	char **v;
	size_t *len;
	bool failed; /* an allocation failed: the list is incomplete */
};

void fields_clear(struct fields *f);
void fields_free(struct fields *f);

/* The stream entry's field/value pairs for t (fence = the leader's token). */
bool publish_entry_fields(const struct txn *t, uint64_t fence, struct fields *out)
    __attribute__((warn_unused_result));
/* The mark names to settle for t: each row mark and its table's touched mark, each whole-table
 * mark and its touched mark (each name once). */
bool publish_mark_names(const struct txn *t, const char *prefix, struct fields *out)
    __attribute__((warn_unused_result));

struct publisher {
	struct rlink *link;
	const char *prefix;
	int window_ms;
	int maxlen;
	bool cache;
	char stream_key[PUBLISH_KEY_MAX];
	char checkpoint_key[PUBLISH_KEY_MAX];
	struct fields args;
};

enum publish_result {
	PUBLISH_OK,
	PUBLISH_FENCED, /* this tailer does not hold the lease (any more) */
	PUBLISH_FAILED, /* Redis away or refusing: retry the same transaction later */
};

/* cache: [cache] enabled, so every transaction also invalidates the result cache. */
void publisher_init(struct publisher *p, struct rlink *link, const char *prefix, int window_ms,
                    int maxlen, bool cache);
void publisher_free(struct publisher *p);

/* Marks, cache, entry and checkpoint for t; position is the GTID position after t. */
enum publish_result publish_txn(struct publisher *p, const struct txn *t, struct lease *l,
                                const char *position) __attribute__((warn_unused_result));
/* Only the checkpoint (a group that changed no data). */
enum publish_result publish_checkpoint(struct publisher *p, struct lease *l, const char *position)
    __attribute__((warn_unused_result));
/* Reads the checkpoint: 1 and the position in out, 0 if there is none, -1 if Redis failed. */
int publish_read_checkpoint(struct publisher *p, char *out, size_t cap)
    __attribute__((warn_unused_result));
