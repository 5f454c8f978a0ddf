/*
 * cache_redis.h - the cache's requests to Redis, as argument lists for the scripts of
 * cache/results.h, and their sending on the worker's pin connection.
 *
 * Used by the sessions (cache.c) and by the refresher (cache_refresh.c), which name an entry the
 * same way: its read's pin marks, and its digest.
 */
#pragma once

#include "results.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct pin_names;
struct redisAsyncContext;
typedef void(redisCallbackFn)(struct redisAsyncContext *, void *, void *);

/* A Redis command's arguments, built one by one; `failed` once memory ran out. */
struct cache_args {
	char *buf; /* the arguments back to back */
	size_t len, cap;
	size_t *at, *lens;
	int n, cap_n;
	bool failed;
};

/* The entry a read names: the marks its pin lookup names, and its digest. */
struct cache_read {
	const char *prefix; /* [pinning] prefix */
	const struct pin_names *marks;
	const uint8_t *digest;
};

/* LOOKUP of r: the caller holds token as the lease if it is granted for lease_ms. */
void cache_args_lookup(struct cache_args *a, const struct cache_read *r, const char *token,
                       int lease_ms);
/* FILL of r with bytes[0..len) under stamp (the lookup's), or with nothing to give the lease
 * back (bytes NULL). */
void cache_args_fill(struct cache_args *a, const struct cache_read *r, const char *token,
                     const char *stamp, size_t stamp_len, uint64_t ttl_ms, const uint8_t *bytes,
                     size_t len);
/* INVALIDATE of the deps of marks with a new version; the message for the in-process tiers is
 * stamped now_ms. Returns the number of deps (0: nothing to send). */
unsigned cache_args_invalidate(struct cache_args *a, const char *prefix,
                               const struct pin_names *marks, const char *version, uint64_t now_ms);
/* The argv of a, pointing into it (valid until a changes), or NULL; free() it. */
const char **cache_args_argv(struct cache_args *a);
/* Sends a on w's pin connection; false when it is down or memory ran out. */
bool cache_args_send(struct worker *w, struct cache_args *a, redisCallbackFn *cb, void *privdata);
void cache_args_free(struct cache_args *a);

/* LOOKUP and FILL are sent by SHA-1: the connection loads them whenever it comes up, and again
 * when a reply says Redis lost them (cache_script_missing). */
struct redisReply;
void cache_scripts_load(struct redisAsyncContext *ac);
bool cache_script_missing(const struct redisReply *r);

/* The NUL-separated names of a pin_names list, one by one. */
#define FOR_EACH_NAME(list, name)                                                                  \
	for (const char *name = (list)->buf; name && name < (list)->buf + (list)->len;             \
	     name += strlen(name) + 1)
