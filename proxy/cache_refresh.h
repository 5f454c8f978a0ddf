/*
 * cache_refresh.h - re-reads hot entries once after they are invalidated, so a hot key does not
 * send every one of its readers to the database at once.
 *
 * A worker keeps the recipe of entries its in-process tier has served hot_hits times: the
 * command as the client sent it, who sent it (user, charset, capabilities) and in which
 * database. When an invalidation names one of an entry's deps, the refresher waits until the
 * marks of that change have expired (reads bypass the cache until then anyway), takes the
 * entry's lease like a miss would, runs the command on the primary (which has every change),
 * and fills the entry like a miss would: the lease and stamp rules apply unchanged, so a refresh
 * can never store an answer an invalidation has overtaken.
 *
 * Only plain-text commands of sessions without session state (no SET, USE... in their history)
 * have recipes: the refresher has no session to replay state on.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct session;
struct cache_refresher;

struct cache_refresher *cache_refresher_new(struct worker *w);
void cache_refresher_free(struct cache_refresher *r);
/* A cached answer to s's command (packet[0..len), header included) was just served from the
 * in-process tier for the hits-th time; keeps the recipe once hits reaches hot_hits. */
void cache_refresher_note_hit(struct cache_refresher *r, struct session *s, const uint8_t *packet,
                              size_t len, uint32_t hits);
/* An invalidation named dep ("all": everything): refresh the hot entries depending on it. */
void cache_refresher_dep_changed(struct cache_refresher *r, const char *dep, size_t len);
