/*
 * store_impl.h - what the store's files share; nothing outside them
 * includes it (store.h is the public side):
 *   store.c       the cache: tiers, gets, eviction, the backend and the
 *                 key filter;
 *   store_seal.c  the seal: encoding a batch's dirty objects, on the
 *                 processing thread or on a sealer thread of its own.
 * Both threads touch an entry; who may, and when, is its `seal` state.
 */
#ifndef DS_STORE_IMPL_H
#define DS_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hmap.h"
#include "keyfilter.h"
#include "store.h"

/* One per cached object, hot or warm, and most are warm: 58 bytes before
 * the key (a 96-byte allocation with a typical key, where 128 were), so
 * state.encoded_cache, which counts them, holds more objects. */
struct entry {
    void *obj;         /* hot: the object; NULL once deleted, or absent */
    /* The object's encoded bytes, as in the backend. Warm: the object
     * (NULL when absent or deleted). Hot and clean: the bytes it was last
     * sealed (or read) as, for the move to the warm tier; NULL none. */
    uint8_t *bytes;
    struct entry *prev, *next; /* LRU of its tier: head = most recent */
    uint64_t sealed_in; /* the seal that last wrote it (1..), 0 none */
    uint32_t bytes_len;
    uint32_t bklen;    /* strlen(bkey): the sealer's strlen of a cold key was
                        * ~3 % of its thread */
    atomic_int seal;   /* enum seal_state: where it is in the seal under way */
    uint16_t proc;
    bool dirty;        /* on the dirty list */
    bool deleted;
    bool warm;         /* on the warm list: obj NULL */
    bool known;        /* bkey is in the key filter, or the backend had it
                        * (then the filter's start-up scan adds it): its
                        * puts need not probe the filter again */
    char bkey[];       /* backend key "<proc>/<key>": the cache map's key */
};

/* Bytes an entry takes with its key. */
#define ENTRY_SIZE(bklen) (offsetof(struct entry, bkey) + (bklen) + 1)

enum seal_state {
    SEAL_NONE = 0, /* not in the seal under way, or already encoded into it */
    SEAL_PENDING,  /* in it, not yet encoded */
    SEAL_CLAIMED,  /* being encoded by one of the two threads */
};

struct membytes {
    size_t len;
    uint8_t data[];
};

struct store {
    const struct processor_ops *const *ops;
    size_t n_ops;
    struct state *db;   /* NULL: `mem` is the backend */
    struct hmap *mem;   /* bkey -> struct membytes */
    struct hmap *cache; /* bkey -> struct entry */
    struct entry *head, *tail;   /* hot tier */
    size_t n_hot;
    struct entry *whead, *wtail; /* warm tier */
    size_t warm_bytes, warm_max;
    /* Sealed bytes kept on hot entries; the sealer adds to it too. With
     * warm_bytes it is what state.encoded_cache bounds. */
    atomic_size_t sealed_bytes;
    struct entry **dirty;
    size_t n_dirty, cap_dirty;
    /* The seal in progress: entries dirty at store_seal(), encoded into
     * seal_b from seal_pos on (or by the sealer), or earlier when touched
     * again. */
    struct entry **sealing;
    size_t n_sealing, cap_sealing, seal_pos;
    atomic_size_t seal_left;
    struct state_batch *seal_b;
    pthread_mutex_t batch_mu; /* seal_b's writes: both threads encode */
    /* The sealer thread, when started: it walks each seal once (`walking`
     * until it has let go of the sealing array). */
    bool async;
    pthread_t sealer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool job, quit; /* under mu */
    atomic_bool walking;
    struct buf sealer_enc;
    /* Decoded objects moved to the warm tier, freed by the sealer: freeing
     * a graph walks its cold allocations, which is what the move costs
     * once it needs no encode. `graves` fills on the processing thread;
     * store_seal() hands it over as `sealer_graves` with the seal. */
    struct grave { size_t proc; void *obj; } *graves, *sealer_graves;
    size_t n_graves, cap_graves, n_sealer_graves, cap_sealer_graves;
    /* Keys ever written (store_filter_absent): trusted once the scan of
     * the backend that fills it is done. */
    struct keyfilter *known;
    atomic_bool known_ready, known_quit;
    atomic_uint_fast64_t known_added; /* distinct keys, about */
    bool known_full; /* saturated: said once */
    pthread_t known_scan;
    struct entry **sealer_order; /* the sealer's copy of `sealing`, by key */
    size_t cap_sealer_order;
    uint64_t seals;   /* store_seal() calls so far */
    uint64_t written; /* of which the backend holds the batches */
    size_t max_entries;
    /* The entry store_get() found or made last: a processor marks dirty
     * the object it just got, and store_dirty() then skips hashing the
     * key and probing the map again. Cleared when evicted. */
    struct entry *last;
    struct buf enc; /* reused encode buffer */
    struct buf kbuf; /* reused key buffer */
    uint64_t *ns_hash; /* per processor: FNV-1a of "<name>/" */
    size_t *ns_len;    /* per processor: strlen("<name>/") */
    struct store_stats stats;
};

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return p;
}

/* A copy of n bytes (an allocation even for 0). */
static inline void *xmemdup(const void *p, size_t n)
{
    return memcpy(xmalloc(n ? n : 1), p, n);
}

/* Sealed bytes: the object as the backend has it (or will, once its
 * batch is written), kept while it stays clean so that moving it to the
 * warm tier needs no second encode (that encode was ~14 % of the
 * processing thread). Any change drops them. */
static inline void keep_sealed(struct store *s, struct entry *e,
                               uint8_t *bytes, size_t len)
{
    free(e->bytes);
    atomic_fetch_sub_explicit(&s->sealed_bytes, e->bytes_len,
                              memory_order_relaxed);
    e->bytes = bytes;
    e->bytes_len = (uint32_t)len;
    atomic_fetch_add_explicit(&s->sealed_bytes, len, memory_order_relaxed);
}

/* Sealed bytes take at most half the budget, so that the warm tier keeps
 * the other half whatever the hot tier's size. Either thread may ask. */
static inline bool may_keep_sealed(const struct store *s, size_t len)
{
    return len <= UINT32_MAX &&
           atomic_load_explicit(&s->sealed_bytes, memory_order_relaxed) +
                   len <=
               s->warm_max / 2;
}

static inline void know_key(struct store *s, const void *key, size_t len)
{
    /* Counted only when new: a key rewritten every batch is one key. */
    if (s->known && keyfilter_add(s->known, key, len))
        atomic_fetch_add_explicit(&s->known_added, 1, memory_order_relaxed);
}

static inline bool in_seal(const struct entry *e)
{
    return atomic_load_explicit(&e->seal, memory_order_acquire) != SEAL_NONE;
}

/* store.c: the backend's writes, for a seal's batch (b: NULL for the
 * in-memory backend). */
void store_backend_put(struct store *s, struct state_batch *b,
                       const char *bkey, size_t bklen, const void *val,
                       size_t len);
void store_backend_delete(struct store *s, struct state_batch *b,
                          const char *bkey, size_t bklen);

/* store_seal.c: see there. */
void store_free_graves(struct store *s, const struct grave *g, size_t n);
void store_seal_first(struct store *s, struct entry *e);

#endif
