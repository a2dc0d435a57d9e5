/*
 * hmap.c - open addressing with linear probing, FNV-1a, load factor <= 1/2.
 *
 * The slot array holds each key's hash beside the node pointer, so a probe
 * that passes over other keys compares hashes in the array it already has
 * in cache instead of following a chain of nodes - with the state cache's
 * hundreds of thousands of keys, each node is a cache miss. Deletion shifts
 * the following cluster back (no tombstones), so a map that churns, as the
 * cache does under eviction, never degrades.
 *
 * A slot points at an item holding the key at a fixed offset: a node the
 * map allocates (key copied after the value pointer), or, in an intrusive
 * map, the caller's value itself.
 */
#include "hmap.h"
#include "hash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hnode {
    void *val;
    char key[]; /* NUL-terminated copy */
};

struct slot {
    uint64_t hash;
    void *node; /* an hnode, or the value (intrusive); NULL: empty */
};

struct hmap {
    struct slot *s;
    size_t ns; /* power of two */
    size_t n;
    bool intrusive;
    size_t key_off; /* of the key in a node */
};

static const char *node_key(const struct hmap *m, const void *node)
{
    return (const char *)node + m->key_off;
}

static void *node_val(const struct hmap *m, void *node)
{
    return m->intrusive ? node : ((struct hnode *)node)->val;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return p;
}

static uint64_t fold(uint64_t fnv)
{
    return fnv ^ (fnv >> 29); /* low bits pick the slot: fold high ones in */
}

static uint64_t hash_str(const char *s) { return fold(hash_fnv1a_str(s)); }

struct hmap *hmap_new(void)
{
    struct hmap *m = xcalloc(1, sizeof(*m));
    m->ns = 16;
    m->s = xcalloc(m->ns, sizeof(*m->s));
    m->key_off = offsetof(struct hnode, key);
    return m;
}

struct hmap *hmap_new_intrusive(size_t key_offset)
{
    struct hmap *m = hmap_new();
    m->intrusive = true;
    m->key_off = key_offset;
    return m;
}

void hmap_free(struct hmap *m, void (*free_val)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ns; i++) {
        if (!m->s[i].node)
            continue;
        if (free_val)
            free_val(node_val(m, m->s[i].node));
        if (!m->intrusive)
            free(m->s[i].node);
    }
    free(m->s);
    free(m);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const struct hmap *m, const char *key, uint64_t h)
{
    size_t mask = m->ns - 1;
    size_t i = h & mask;
    while (m->s[i].node &&
           (m->s[i].hash != h || strcmp(node_key(m, m->s[i].node), key) != 0))
        i = (i + 1) & mask;
    return i;
}

void *hmap_get(const struct hmap *m, const char *key)
{
    void *n = m->s[find(m, key, hash_str(key))].node;
    return n ? node_val(m, n) : NULL;
}

void hmap_prefetch_slot(const struct hmap *m, uint64_t fnv)
{
    __builtin_prefetch(&m->s[fold(fnv) & (m->ns - 1)]);
}

void *hmap_peek(const struct hmap *m, uint64_t fnv)
{
    uint64_t h = fold(fnv);
    size_t mask = m->ns - 1;
    for (size_t i = h & mask; m->s[i].node; i = (i + 1) & mask)
        if (m->s[i].hash == h)
            return node_val(m, m->s[i].node);
    return NULL;
}

static void grow(struct hmap *m)
{
    size_t ns = m->ns * 2;
    struct slot *s = xcalloc(ns, sizeof(*s));
    for (size_t i = 0; i < m->ns; i++) {
        if (!m->s[i].node)
            continue;
        size_t j = m->s[i].hash & (ns - 1);
        while (s[j].node)
            j = (j + 1) & (ns - 1);
        s[j] = m->s[i];
    }
    free(m->s);
    m->s = s;
    m->ns = ns;
}

void *hmap_put(struct hmap *m, const char *key, void *val)
{
    uint64_t h = hash_str(key);
    size_t i = find(m, key, h);
    bool exists = m->s[i].node != NULL;
    void *old = exists ? node_val(m, m->s[i].node) : NULL;
    if (m->intrusive) {
        m->s[i].node = val;
    } else if (exists) {
        ((struct hnode *)m->s[i].node)->val = val;
    } else {
        size_t klen = strlen(key);
        struct hnode *n = xcalloc(1, sizeof(*n) + klen + 1);
        n->val = val;
        memcpy(n->key, key, klen + 1);
        m->s[i].node = n;
    }
    m->s[i].hash = h;
    if (exists)
        return old;
    if (++m->n * 2 > m->ns)
        grow(m);
    return NULL;
}

void *hmap_del(struct hmap *m, const char *key)
{
    size_t mask = m->ns - 1;
    size_t i = find(m, key, hash_str(key));
    void *n = m->s[i].node;
    if (!n)
        return NULL;
    void *val = node_val(m, n);
    if (!m->intrusive)
        free(n);
    m->n--;
    /* Backward shift: move each later member of the cluster into the hole
     * unless its home slot lies cyclically in (hole, its position]. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->s[j].node; j = (j + 1) & mask) {
        size_t home = m->s[j].hash & mask;
        bool stays = hole <= j ? (home > hole && home <= j)
                               : (home > hole || home <= j);
        if (stays)
            continue;
        m->s[hole] = m->s[j];
        hole = j;
    }
    m->s[hole].node = NULL;
    m->s[hole].hash = 0;
    return val;
}

size_t hmap_count(const struct hmap *m) { return m->n; }

void hmap_each(const struct hmap *m,
               int (*fn)(void *arg, const char *key, void *val), void *arg)
{
    for (size_t i = 0; i < m->ns; i++)
        if (m->s[i].node &&
            fn(arg, node_key(m, m->s[i].node), node_val(m, m->s[i].node)))
            return;
}
