/*
 * hmap.c - chained hash map with FNV-1a and doubling at load factor 1.
 */
#include "hmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hnode {
    struct hnode *next;
    uint64_t hash;
    void *val;
    char key[]; /* NUL-terminated copy */
};

struct hmap {
    struct hnode **b;
    size_t nb; /* power of two */
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
    m->nb = 16;
    m->b = xcalloc(m->nb, sizeof(*m->b));
    return m;
}

void hmap_free(struct hmap *m, void (*free_val)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nb; i++) {
        struct hnode *n = m->b[i];
        while (n) {
            struct hnode *next = n->next;
            if (free_val)
                free_val(n->val);
            free(n);
            n = next;
        }
    }
    free(m->b);
    free(m);
}

static struct hnode **find(const struct hmap *m, const char *key, uint64_t h)
{
    struct hnode **pp = &m->b[h & (m->nb - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

void *hmap_get(const struct hmap *m, const char *key)
{
    struct hnode *n = *find(m, key, hash_str(key));
    return n ? n->val : NULL;
}

static void grow(struct hmap *m)
{
    size_t nb = m->nb * 2;
    struct hnode **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < m->nb; i++) {
        struct hnode *n = m->b[i];
        while (n) {
            struct hnode *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void *hmap_put(struct hmap *m, const char *key, void *val)
{
    uint64_t h = hash_str(key);
    struct hnode **pp = find(m, key, h);
    if (*pp) {
        void *old = (*pp)->val;
        (*pp)->val = val;
        return old;
    }
    size_t klen = strlen(key);
    struct hnode *n = xcalloc(1, sizeof(*n) + klen + 1);
    n->hash = h;
    n->val = val;
    memcpy(n->key, key, klen + 1);
    *pp = n;
    if (++m->n > m->nb)
        grow(m);
    return NULL;
}

void *hmap_del(struct hmap *m, const char *key)
{
    struct hnode **pp = find(m, key, hash_str(key));
    struct hnode *n = *pp;
    if (!n)
        return NULL;
    void *val = n->val;
    *pp = n->next;
    free(n);
    m->n--;
    return val;
}

size_t hmap_count(const struct hmap *m) { return m->n; }

void hmap_each(const struct hmap *m,
               int (*fn)(void *arg, const char *key, void *val), void *arg)
{
    for (size_t i = 0; i < m->nb; i++)
        for (struct hnode *n = m->b[i]; n; n = n->next)
            if (fn(arg, n->key, n->val))
                return;
}
