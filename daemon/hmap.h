/*
 * hmap.h - a string-keyed hash map (open addressing, power-of-two slots).
 *
 * Used by the state cache and the in-memory state backend. Keys are copied;
 * values are the caller's.
 */
#ifndef DS_HMAP_H
#define DS_HMAP_H

#include <stddef.h>

struct hmap;

struct hmap *hmap_new(void);
/* Frees the map; calls free_val on each value when given. Accepts NULL. */
void hmap_free(struct hmap *m, void (*free_val)(void *));
void *hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *hmap_put(struct hmap *m, const char *key, void *val);
/* Removes; returns the value or NULL. */
void *hmap_del(struct hmap *m, const char *key);
size_t hmap_count(const struct hmap *m);
/* Calls fn for each entry, in no particular order; the map must not be
 * changed meanwhile. fn returns non-zero to stop. */
void hmap_each(const struct hmap *m,
               int (*fn)(void *arg, const char *key, void *val), void *arg);

#endif
