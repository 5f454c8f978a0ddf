/*
 * cache_local.c - the per-worker in-process cache tier (see cache_local.h).
 *
 * It owns the entries, their dep names and the three structures over them; it must not do I/O,
 * read a clock, take a lock or keep global state. Which results to cache, their digests and
 * their deps are the callers' business.
 *
 *   entries table: digest -> entry          deps table: name -> dep
 *
 *   newest <-> entry <-> entry <-> ... <-> oldest      the LRU list; eviction takes the oldest
 *                |          |
 *             links[]    links[]        one link per (entry, dep), threaded on that dep's list:
 *                |          |
 *   dep "p:pin:k:db.t:5": link <-> link                drop_dep walks only this list
 *
 * An entry is one allocation: the struct, its links, then its result bytes. A dep is another,
 * shared by every entry that names it and freed with the last link to it, so dep names are
 * stored once. Both tables chain through a node embedded in the entry or dep, double when full
 * and halve when a quarter full (and free their slots when empty), so the tier has no capacity
 * but max_bytes. Every allocation is charged to t->bytes with an estimate of malloc's header.
 */
#include "cache_local.h"

#include <stdlib.h>
#include <string.h>

#define MALLOC_OVERHEAD 16 /* a block's header and rounding in glibc malloc, charged per block */
#define TABLE_MIN_SLOTS 16 /* a power of two */

/* A hash-table node, embedded in what the table indexes. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

/* A chained hash table of n_slots (0, or a power of two) slots. */
struct table {
	struct hnode **slots;
	size_t n_slots;
	size_t count;
};

struct dep;
struct entry;

/* An entry's membership in one dep's list. */
struct link {
	struct link *prev;
	struct link *next;
	struct dep *dep;
	struct entry *entry;
};

/* A dep name and the list of every entry naming it; never empty while it is in the table. */
struct dep {
	struct hnode node;
	struct link *head;
	size_t len;
	char name[]; /* len bytes, not NUL-terminated */
};

struct entry {
	struct cache_local_entry view; /* what get hands out */
	struct hnode node;             /* in t->entries; hash: the digest's first 8 bytes */
	struct entry *newer;
	struct entry *older;
	size_t charge;    /* accounted for this allocation */
	unsigned n_links; /* links[] in use: the entry's distinct deps */
	uint8_t digest[CACHE_DIGEST_LEN];
	struct link links[]; /* then the result bytes */
};

struct cache_local {
	size_t max_bytes;
	size_t bytes;
	struct table entries;
	struct table deps;
	struct entry *newest;
	struct entry *oldest;
};

#define ENTRY_OF(n) ((struct entry *)(void *)((char *)(n)-offsetof(struct entry, node)))
#define DEP_OF(n)   ((struct dep *)(void *)((char *)(n)-offsetof(struct dep, node)))

/* ---- sizes ------------------------------------------------------------------------------- */

/* Sizes from the caller may be huge: saturate rather than wrap, and SIZE_MAX never fits. */
static size_t add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t mul_sat(size_t a, size_t b)
{
	return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static size_t slots_cost(size_t n_slots)
{
	return n_slots ? n_slots * sizeof(struct hnode *) + MALLOC_OVERHEAD : 0;
}

static size_t dep_charge(size_t name_len)
{
	return sizeof(struct dep) + name_len + MALLOC_OVERHEAD;
}

/* The most that adding k nodes to tb can add to the accounted bytes, by growing its slots. */
static size_t grow_cost(const struct table *tb, size_t k)
{
	size_t want = add_sat(tb->count, k);
	if (want <= tb->n_slots)
		return 0;
	size_t n = tb->n_slots ? tb->n_slots : TABLE_MIN_SLOTS;
	while (n < want) {
		if (n > SIZE_MAX / 2 / sizeof(struct hnode *))
			return SIZE_MAX;
		n *= 2;
	}
	return slots_cost(n) - slots_cost(tb->n_slots);
}

/* ---- hash tables ------------------------------------------------------------------------- */

static bool table_resize(struct table *tb, size_t n_slots, size_t *bytes)
{
	struct hnode **slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i < tb->n_slots; i++) {
		struct hnode *h = tb->slots[i];
		while (h) {
			struct hnode *next = h->next;
			struct hnode **slot = &slots[h->hash & (n_slots - 1)];
			h->next = *slot;
			*slot = h;
			h = next;
		}
	}
	free(tb->slots);
	*bytes = *bytes - slots_cost(tb->n_slots) + slots_cost(n_slots);
	tb->slots = slots;
	tb->n_slots = n_slots;
	return true;
}

/* False only when the table has no slots and none can be allocated; a failed growth just leaves
 * the chains longer. */
static bool table_insert(struct table *tb, struct hnode *h, size_t *bytes)
{
	if (tb->count + 1 > tb->n_slots) {
		size_t n = tb->n_slots ? tb->n_slots * 2 : TABLE_MIN_SLOTS;
		if (!table_resize(tb, n, bytes) && !tb->slots)
			return false;
	}
	struct hnode **slot = &tb->slots[h->hash & (tb->n_slots - 1)];
	h->next = *slot;
	*slot = h;
	tb->count++;
	return true;
}

/* h must be in tb. An empty table frees its slots, so an empty tier holds no bytes. */
static void table_remove(struct table *tb, struct hnode *h, size_t *bytes)
{
	struct hnode **p = &tb->slots[h->hash & (tb->n_slots - 1)];
	while (*p != h)
		p = &(*p)->next;
	*p = h->next;
	tb->count--;
	if (tb->count == 0) {
		free(tb->slots);
		*bytes -= slots_cost(tb->n_slots);
		tb->slots = NULL;
		tb->n_slots = 0;
	} else if (tb->n_slots > TABLE_MIN_SLOTS && tb->count < tb->n_slots / 4) {
		table_resize(tb, tb->n_slots / 2,
		             bytes); /* on failure the slots stay as they are */
	}
}

static struct hnode *table_chain(const struct table *tb, uint64_t hash)
{
	return tb->n_slots ? tb->slots[hash & (tb->n_slots - 1)] : NULL;
}

/* ---- lookups ----------------------------------------------------------------------------- */

/* The digest is a SHA-256 already: any 8 of its bytes are a uniform hash. */
static uint64_t digest_hash(const uint8_t digest[CACHE_DIGEST_LEN])
{
	uint64_t h;
	memcpy(&h, digest, sizeof(h));
	return h;
}

/* FNV-1a, then MurmurHash3's finalizer so that the low bits (the slot) depend on every byte.
 * Not seeded: dep names come from the proxy's own key spelling, bounded by max_bytes. */
static uint64_t name_hash(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 0x100000001b3u;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	return h;
}

static struct entry *entry_find(const struct cache_local *t, const uint8_t digest[CACHE_DIGEST_LEN])
{
	uint64_t hash = digest_hash(digest);
	for (struct hnode *h = table_chain(&t->entries, hash); h; h = h->next) {
		struct entry *e = ENTRY_OF(h);
		if (h->hash == hash && memcmp(e->digest, digest, CACHE_DIGEST_LEN) == 0)
			return e;
	}
	return NULL;
}

static struct dep *dep_find(const struct cache_local *t, const char *name, size_t len,
                            uint64_t hash)
{
	for (struct hnode *h = table_chain(&t->deps, hash); h; h = h->next) {
		struct dep *d = DEP_OF(h);
		if (h->hash == hash && d->len == len &&
		    (len == 0 || memcmp(d->name, name, len) == 0))
			return d;
	}
	return NULL;
}

/* ---- LRU list ---------------------------------------------------------------------------- */

static void lru_unlink(struct cache_local *t, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
}

static void lru_push_newest(struct cache_local *t, struct entry *e)
{
	e->newer = NULL;
	e->older = t->newest;
	if (t->newest)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

/* ---- deps -------------------------------------------------------------------------------- */

/* Adds e to the list of dep name[0..len), creating the dep if it is new. Only while e is being
 * put: its links then go to the head of each list, so a name e repeats is found there. */
static bool dep_link(struct cache_local *t, struct entry *e, const char *name, size_t len)
{
	uint64_t hash = name_hash(name, len);
	struct dep *d = dep_find(t, name, len, hash);
	if (!d) {
		d = malloc(sizeof(*d) + len);
		if (!d)
			return false;
		d->node.hash = hash;
		d->head = NULL;
		d->len = len;
		memcpy(d->name, name, len);
		if (!table_insert(&t->deps, &d->node, &t->bytes)) {
			free(d);
			return false;
		}
		t->bytes += dep_charge(len);
	} else if (d->head->entry == e) {
		return true;
	}
	struct link *l = &e->links[e->n_links++];
	l->dep = d;
	l->entry = e;
	l->prev = NULL;
	l->next = d->head;
	if (d->head)
		d->head->prev = l;
	d->head = l;
	return true;
}

/* Takes l off its dep's list, freeing the dep when that was its last entry. */
static void dep_unlink(struct cache_local *t, struct link *l)
{
	struct dep *d = l->dep;
	if (l->prev)
		l->prev->next = l->next;
	else
		d->head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	if (!d->head) {
		table_remove(&t->deps, &d->node, &t->bytes);
		t->bytes -= dep_charge(d->len);
		free(d);
	}
}

/* True if deps[0..deps_len) is exactly n_deps NUL-terminated names. */
static bool deps_valid(const char *deps, size_t deps_len, unsigned n_deps)
{
	if (n_deps == 0)
		return deps_len == 0;
	const char *p = deps;
	const char *end = deps + deps_len;
	for (unsigned i = 0; i < n_deps; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			return false;
		p = nul + 1;
	}
	return p == end;
}

/* ---- entries ----------------------------------------------------------------------------- */

static size_t entry_size(size_t len, size_t n_deps)
{
	return add_sat(sizeof(struct entry), add_sat(mul_sat(n_deps, sizeof(struct link)), len));
}

/* Removes e from every structure and frees it. */
static void entry_destroy(struct cache_local *t, struct entry *e)
{
	table_remove(&t->entries, &e->node, &t->bytes);
	lru_unlink(t, e);
	for (unsigned i = 0; i < e->n_links; i++)
		dep_unlink(t, &e->links[i]);
	t->bytes -= e->charge;
	free(e);
}

/* ---- the tier ---------------------------------------------------------------------------- */

struct cache_local *cache_local_new(size_t max_bytes)
{
	struct cache_local *t = calloc(1, sizeof(*t));
	if (t)
		t->max_bytes = max_bytes;
	return t;
}

void cache_local_free(struct cache_local *t)
{
	if (!t)
		return;
	cache_local_clear(t);
	free(t);
}

const struct cache_local_entry *
cache_local_get(struct cache_local *t, const uint8_t digest[CACHE_DIGEST_LEN], uint64_t now_ms)
{
	struct entry *e = entry_find(t, digest);
	if (!e)
		return NULL;
	if (now_ms >= e->view.expires_ms) {
		entry_destroy(t, e);
		return NULL;
	}
	if (e->view.hits < UINT32_MAX)
		e->view.hits++;
	if (t->newest != e) {
		lru_unlink(t, e);
		lru_push_newest(t, e);
	}
	return &e->view;
}

/*
 * Room is made before anything is allocated, for the most the entry can cost: its block, a new
 * dep for every name (some may exist already) and the growth of both tables. So the bound holds
 * after the put whatever is shared, at the price of evicting a little early when deps are
 * shared; and an entry refused as too big for an empty tier evicts nothing.
 */
bool cache_local_put(struct cache_local *t, const uint8_t digest[CACHE_DIGEST_LEN],
                     const uint8_t *bytes, size_t len, const char *deps, size_t deps_len,
                     unsigned n_deps, uint64_t expires_ms)
{
	struct entry *old = entry_find(t, digest);
	if (old)
		entry_destroy(t, old);
	if (len > t->max_bytes || deps_len > t->max_bytes || !deps_valid(deps, deps_len, n_deps))
		return false;

	size_t size = entry_size(len, n_deps);
	size_t charge = add_sat(size, MALLOC_OVERHEAD);
	/* every name but its NUL, plus a dep struct each */
	size_t names = deps_len - n_deps;
	size_t fixed = add_sat(charge, add_sat(names, mul_sat(n_deps, dep_charge(0))));
	const struct table empty = {0};
	size_t alone = add_sat(fixed, add_sat(grow_cost(&empty, 1), grow_cost(&empty, n_deps)));
	if (alone > t->max_bytes)
		return false;
	while (t->oldest) {
		size_t growth = add_sat(grow_cost(&t->entries, 1), grow_cost(&t->deps, n_deps));
		if (add_sat(t->bytes, add_sat(fixed, growth)) <= t->max_bytes)
			break;
		entry_destroy(t, t->oldest);
	}

	struct entry *e = malloc(size);
	if (!e)
		return false;
	e->view.bytes = (const uint8_t *)(e->links + n_deps);
	e->view.len = len;
	e->view.hits = 0;
	e->view.expires_ms = expires_ms;
	e->node.hash = digest_hash(digest);
	e->charge = charge;
	e->n_links = 0;
	memcpy(e->digest, digest, CACHE_DIGEST_LEN);
	if (len)
		memcpy(e->links + n_deps, bytes, len);
	t->bytes += charge;

	const char *name = deps;
	for (unsigned i = 0; i < n_deps; i++) {
		size_t name_len = strlen(name); /* deps_valid found its NUL */
		if (!dep_link(t, e, name, name_len))
			goto fail;
		name += name_len + 1;
	}
	if (!table_insert(&t->entries, &e->node, &t->bytes))
		goto fail;
	lru_push_newest(t, e);
	return true;

fail:
	for (unsigned i = 0; i < e->n_links; i++)
		dep_unlink(t, &e->links[i]);
	t->bytes -= charge;
	free(e);
	return false;
}

/* Each entry has one link per distinct dep, so destroying the entry of the head link removes
 * exactly that link; the last one frees d, which must not be read after. */
size_t cache_local_drop_dep(struct cache_local *t, const char *dep, size_t dep_len)
{
	struct dep *d = dep_find(t, dep, dep_len, name_hash(dep, dep_len));
	if (!d)
		return 0;
	size_t dropped = 0;
	bool last;
	do {
		struct link *l = d->head;
		last = l->next == NULL;
		entry_destroy(t, l->entry);
		dropped++;
	} while (!last);
	return dropped;
}

void cache_local_drop(struct cache_local *t, const uint8_t digest[CACHE_DIGEST_LEN])
{
	struct entry *e = entry_find(t, digest);
	if (e)
		entry_destroy(t, e);
}

/* Everything goes, so nothing is unlinked: free the blocks, then the tables. */
void cache_local_clear(struct cache_local *t)
{
	struct entry *e = t->newest;
	while (e) {
		struct entry *older = e->older;
		free(e);
		e = older;
	}
	for (size_t i = 0; i < t->deps.n_slots; i++) {
		struct hnode *h = t->deps.slots[i];
		while (h) {
			struct hnode *next = h->next;
			free(DEP_OF(h));
			h = next;
		}
	}
	free(t->entries.slots);
	free(t->deps.slots);
	t->entries = (struct table){0};
	t->deps = (struct table){0};
	t->newest = NULL;
	t->oldest = NULL;
	t->bytes = 0;
}

size_t cache_local_bytes(const struct cache_local *t)
{
	return t->bytes;
}

size_t cache_local_count(const struct cache_local *t)
{
	return t->entries.count;
}

/* ---- diagnostics ------------------------------------------------------------------------- */

const struct cache_local_entry *cache_local_peek(const struct cache_local *t,
                                                 const uint8_t digest[CACHE_DIGEST_LEN])
{
	struct entry *e = entry_find(t, digest);
	return e ? &e->view : NULL;
}

/* Every node in its slot, as many as counted; adds the slots' cost to *bytes. */
static bool table_verify(const struct table *tb, size_t *bytes)
{
	if ((tb->n_slots == 0) != (tb->slots == NULL) || (tb->n_slots & (tb->n_slots - 1)) ||
	    (tb->n_slots && tb->n_slots < TABLE_MIN_SLOTS) || (tb->count && !tb->n_slots))
		return false;
	size_t seen = 0;
	for (size_t i = 0; i < tb->n_slots; i++) {
		for (struct hnode *h = tb->slots[i]; h; h = h->next) {
			if ((h->hash & (tb->n_slots - 1)) != i || ++seen > tb->count)
				return false;
		}
	}
	*bytes += slots_cost(tb->n_slots);
	return seen == tb->count;
}

static bool entry_verify(const struct cache_local *t, const struct entry *e, size_t *links)
{
	/* the result bytes follow the links allocated for every name put, distinct or not */
	const uint8_t *first = (const uint8_t *)e->links;
	if (e->view.bytes < first || (size_t)(e->view.bytes - first) % sizeof(struct link))
		return false;
	size_t n_deps = (size_t)(e->view.bytes - first) / sizeof(struct link);
	if (entry_find(t, e->digest) != e || e->node.hash != digest_hash(e->digest) ||
	    e->n_links > n_deps || e->charge != entry_size(e->view.len, n_deps) + MALLOC_OVERHEAD)
		return false;
	for (unsigned i = 0; i < e->n_links; i++) {
		const struct link *l = &e->links[i];
		if (l->entry != e ||
		    dep_find(t, l->dep->name, l->dep->len, l->dep->node.hash) != l->dep)
			return false;
		for (unsigned j = 0; j < i; j++) {
			if (e->links[j].dep == l->dep)
				return false;
		}
	}
	*links += e->n_links;
	return true;
}

static bool dep_verify(const struct dep *d, size_t *links)
{
	if (!d->head || d->head->prev || d->node.hash != name_hash(d->name, d->len))
		return false;
	for (const struct link *l = d->head; l; l = l->next) {
		if (l->dep != d || (l->next && l->next->prev != l) || *links == 0)
			return false;
		const struct entry *e = l->entry;
		if (l < e->links || l >= e->links + e->n_links)
			return false;
		(*links)--;
	}
	return true;
}

bool cache_local_verify(const struct cache_local *t)
{
	size_t bytes = 0;
	if (!table_verify(&t->entries, &bytes) || !table_verify(&t->deps, &bytes))
		return false;
	size_t n = 0, links = 0;
	const struct entry *newer = NULL;
	for (const struct entry *e = t->newest; e; e = e->older) {
		if (e->newer != newer || ++n > t->entries.count || !entry_verify(t, e, &links))
			return false;
		bytes += e->charge;
		newer = e;
	}
	if (t->oldest != newer || n != t->entries.count)
		return false;
	for (size_t i = 0; i < t->deps.n_slots; i++) {
		for (const struct hnode *h = t->deps.slots[i]; h; h = h->next) {
			const struct dep *d = DEP_OF(h);
			if (!dep_verify(d, &links))
				return false;
			bytes += dep_charge(d->len);
		}
	}
	return links == 0 && bytes == t->bytes && bytes <= t->max_bytes &&
	       (t->entries.count || bytes == 0);
}
