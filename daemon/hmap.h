/*
 * hmap.h - a string-keyed hash map (open addressing, power-of-two slots).
 *
 * Used by the state cache and the in-memory state backend. Keys are copied
 * (or, in an intrusive map, kept in the values); values are the caller's.
 */
#ifndef DS_HMAP_H
#define DS_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap;

struct hmap *hmap_new(void);
/* A map of values that hold their own keys, NUL-terminated, key_offset
 * bytes into each value (a flexible array member at the end, say): no key
 * is copied, and a lookup's compare reads the value it is about to return
 * instead of a separate copy (one cache miss less per hit on a large map).
 * hmap_put's key must be the value's own; the key must not change while
 * the value is in the map. */
struct hmap *hmap_new_intrusive(size_t key_offset);
/* Frees the map; calls free_val on each value when given. Accepts NULL. */
void hmap_free(struct hmap *m, void (*free_val)(void *));
void *hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *hmap_put(struct hmap *m, const char *key, void *val);
/* Removes; returns the value or NULL. */
void *hmap_del(struct hmap *m, const char *key);
size_t hmap_count(const struct hmap *m);
/* Look-ahead, for a key whose hash_fnv1a_str() is fnv: ask the CPU for
 * its slot; later, once that has arrived, hmap_peek() for the value. A
 * hint, not a lookup: hmap_peek compares hashes only, so it may return
 * another key's value (or NULL) - only prefetch through it. */
void hmap_prefetch_slot(const struct hmap *m, uint64_t fnv);
void *hmap_peek(const struct hmap *m, uint64_t fnv);
/* Calls fn for each entry, in no particular order; the map must not be
 * changed meanwhile. fn returns non-zero to stop. */
void hmap_each(const struct hmap *m,
               int (*fn)(void *arg, const char *key, void *val), void *arg);

#endif
