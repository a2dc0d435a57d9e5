/*
 * hmap.c - open addressing with linear probing, FNV-1a, load factor <= 1/2.
 *
 * The slot array holds each key's hash beside the node pointer, so a probe
 * that passes over other keys compares hashes in the array it already has
 * in cache instead of following a chain of nodes - with the state cache's
 * hundreds of thousands of keys, each node is a cache miss. Deletion shifts
 * the following cluster back (no tombstones), so a map that churns, as the
 * cache does under eviction, never degrades.
 */
#include "hmap.h"

#include <stdbool.h>
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
    struct hnode *node; /* NULL: empty */
};

struct hmap {
    struct slot *s;
    size_t ns; /* power of two */
    size_t n;
};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return p;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

struct hmap *hmap_new(void)
{
    struct hmap *m = xcalloc(1, sizeof(*m));
    m->ns = 16;
    m->s = xcalloc(m->ns, sizeof(*m->s));
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
            free_val(m->s[i].node->val);
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
           (m->s[i].hash != h || strcmp(m->s[i].node->key, key) != 0))
        i = (i + 1) & mask;
    return i;
}

void *hmap_get(const struct hmap *m, const char *key)
{
    struct hnode *n = m->s[find(m, key, hash_str(key))].node;
    return n ? n->val : NULL;
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
    if (m->s[i].node) {
        void *old = m->s[i].node->val;
        m->s[i].node->val = val;
        return old;
    }
    size_t klen = strlen(key);
    struct hnode *n = xcalloc(1, sizeof(*n) + klen + 1);
    n->val = val;
    memcpy(n->key, key, klen + 1);
    m->s[i].hash = h;
    m->s[i].node = n;
    if (++m->n * 2 > m->ns)
        grow(m);
    return NULL;
}

void *hmap_del(struct hmap *m, const char *key)
{
    size_t mask = m->ns - 1;
    size_t i = find(m, key, hash_str(key));
    struct hnode *n = m->s[i].node;
    if (!n)
        return NULL;
    void *val = n->val;
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
        if (m->s[i].node && fn(arg, m->s[i].node->key, m->s[i].node->val))
            return;
}
