/*
 * keyfilter.h - a Bloom filter of keys, safe to add to from several threads.
 *
 * The state store asks it before reading RocksDB for an object it has not
 * cached: "not in the filter" means the key was never written, so a new
 * customer's first events need no database read (each such read was ~2 us
 * of the processing thread, and a run from empty state makes one per
 * object). A "maybe" still goes to the database, so a false positive costs
 * only the read it would have made anyway.
 *
 * Blocked layout: a key's bits all fall in one 64-byte block, so a probe
 * is one cache miss. 10 bits per key of capacity: ~1 % false positives at
 * capacity, degrading gracefully beyond it.
 */
#ifndef DS_KEYFILTER_H
#define DS_KEYFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyfilter;

/* A filter sized for `capacity` keys (at least 1). Aborts on OOM. */
struct keyfilter *keyfilter_new(uint64_t capacity);
void keyfilter_free(struct keyfilter *f); /* accepts NULL */
/* Thread-safe against other adds and against probes. True when the key
 * was surely not in the filter before (a bit of it was unset): counting
 * those counts distinct keys, less the rare false positive. */
bool keyfilter_add(struct keyfilter *f, const void *key, size_t len);
/* False: the key was never added. Sees every add that happens-before it. */
bool keyfilter_may_contain(const struct keyfilter *f, const void *key,
                           size_t len);
/* Asks the CPU for the block a key probes, given its hash_fnv1a(). */
void keyfilter_prefetch(const struct keyfilter *f, uint64_t fnv);
uint64_t keyfilter_capacity(const struct keyfilter *f);
size_t keyfilter_bytes(const struct keyfilter *f);

#endif
