/*
 * store_seal.c - the store's seal: the objects dirty at store_seal(),
 * encoded into the batch the runtime will write. Apart from the cache
 * (store.c) because this is the part the two threads share.
 *
 * Sealing may run on a thread of its own (store_seal_async). Each entry of
 * a seal carries an atomic state, pending -> claimed -> done; whichever
 * thread claims a pending entry encodes it, and the processing thread
 * claims an entry before handing it to a processor, so an object is never
 * changed while it is encoded and a seal holds each object as it was at
 * store_seal().
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* How far ahead the sealer asks for the objects it will encode or free:
 * the object SEAL_AHEAD ahead, its insides (state_prefetch depth 0) half as
 * far, their insides (depth 1) one ahead; see seal_walk(). */
#define SEAL_AHEAD 4

/* depth -1: the object itself; 0 and 1: processor_ops.state_prefetch. */
static void prefetch_obj(const struct store *s, size_t proc, const void *obj,
                         int depth)
{
    if (depth < 0)
        __builtin_prefetch(obj);
    else if (s->ops[proc]->state_prefetch)
        s->ops[proc]->state_prefetch(obj, depth);
}

/* Frees cold objects, asking for each a few ahead (see seal_walk). */
void store_free_graves(struct store *s, const struct grave *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i + SEAL_AHEAD < n)
            prefetch_obj(s, g[i + SEAL_AHEAD].proc, g[i + SEAL_AHEAD].obj, -1);
        if (i + SEAL_AHEAD / 2 < n)
            prefetch_obj(s, g[i + SEAL_AHEAD / 2].proc,
                         g[i + SEAL_AHEAD / 2].obj, 0);
        if (i + 1 < n)
            prefetch_obj(s, g[i + 1].proc, g[i + 1].obj, 1);
        s->ops[g[i].proc]->state_free(g[i].obj);
    }
}

/* Writes e, as it is now, into the batch being sealed, and marks it done.
 * The caller has claimed it; `enc` is the calling thread's buffer. */
static void seal_write(struct store *s, struct entry *e, struct buf *enc)
{
    if (e->deleted) {
        /* The tombstone stays cached, clean, until evicted: the batch
         * holding the delete may be written later (the runtime pipelines
         * commits), and until then the backend still has the old value. */
        pthread_mutex_lock(&s->batch_mu);
        store_backend_delete(s, s->seal_b, e->bkey, e->bklen);
        pthread_mutex_unlock(&s->batch_mu);
    } else {
        buf_reset(enc);
        s->ops[e->proc]->state_encode(e->obj, enc);
        /* Only a key's first put reaches the filter: each probe is a
         * cache miss (1.4 % of the process's samples when every put made
         * one, 0.4 % since). */
        if (!e->known && s->known) {
            know_key(s, e->bkey, e->bklen);
            e->known = true;
        }
        pthread_mutex_lock(&s->batch_mu);
        store_backend_put(s, s->seal_b, e->bkey, e->bklen, enc->data, enc->len);
        pthread_mutex_unlock(&s->batch_mu);
        if (may_keep_sealed(s, enc->len))
            keep_sealed(s, e, xmemdup(enc->data, enc->len), enc->len);
    }
    atomic_store_explicit(&e->seal, SEAL_NONE, memory_order_release);
    atomic_fetch_sub_explicit(&s->seal_left, 1, memory_order_release);
}

/* True when the caller now holds e (pending -> claimed) and must encode
 * it. Acquire: the claim orders the encode after store_seal()'s writes. */
static bool seal_claim(struct entry *e)
{
    int want = SEAL_PENDING;
    return atomic_compare_exchange_strong_explicit(
        &e->seal, &want, SEAL_CLAIMED, memory_order_acquire,
        memory_order_relaxed);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* On the processing thread, before e is handed out or changed: makes sure
 * the seal under way has e as it is now. If the sealer is encoding it,
 * waits for that one object (a few microseconds): spinning first, since a
 * yield on a busy machine can give the core away for milliseconds, then
 * yielding, in case the sealer itself waits for this core. */
void store_seal_first(struct store *s, struct entry *e)
{
    if (!in_seal(e))
        return;
    if (seal_claim(e)) {
        seal_write(s, e, &s->enc);
        return;
    }
    s->stats.seal_waits++;
    for (int spins = 0; in_seal(e); spins++) {
        if (spins < 4096)
            cpu_relax();
        else
            sched_yield();
    }
}

static int by_bkey(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a;
    const struct entry *y = *(struct entry *const *)b;
    return strcmp(x->bkey, y->bkey);
}

/* The sealer's walk order: by key. The database's memtable (a skip list)
 * starts each insert from where the last one with the same first byte
 * landed (state.c sets those hints), so a batch in key order goes in with
 * a few steps per key instead of a search from the top: the commit
 * thread's CPU fell by ~45 % (sorting costs the sealer ~15 %). Sorted in a
 * copy: the processing thread may walk `sealing` meanwhile. */
static struct entry **sealer_sorted(struct store *s, struct entry **v,
                                    size_t n)
{
    if (n > s->cap_sealer_order) {
        free(s->sealer_order);
        s->sealer_order = xmalloc(n * sizeof(*v));
        s->cap_sealer_order = n;
    }
    memcpy(s->sealer_order, v, n * sizeof(*v));
    qsort(s->sealer_order, n, sizeof(*v), by_bkey);
    return s->sealer_order;
}

/* Claims e for the sealer and asks for its object, which was last touched
 * a batch ago; true when the sealer now holds it. */
static bool claim_ahead(const struct store *s, struct entry *e)
{
    if (!seal_claim(e))
        return false;
    if (e->obj)
        prefetch_obj(s, e->proc, e->obj, -1);
    return true;
}

/* The sealer's walk over a seal (sorted), as a pipeline: the encode of a
 * cold object was mostly waiting for memory (the lead graph's nodes and
 * signals), so the entries 2 * SEAL_AHEAD ahead, and the objects and
 * their insides as in store_free_graves(), are asked for while the current one
 * is encoded (the sealing thread's CPU -28 %). An object is only read
 * once claimed - until then the processing thread may change or free it
 * - so the sealer claims SEAL_AHEAD entries ahead of the one it encodes;
 * a get of one of those waits as for the one being encoded. */
static void seal_walk(struct store *s, struct entry **v, size_t n)
{
    bool held[2 * SEAL_AHEAD] = {false}; /* ring, by index */
    const size_t ring = 2 * SEAL_AHEAD;
    for (size_t k = 0; k < n && k < SEAL_AHEAD; k++)
        held[k % ring] = claim_ahead(s, v[k]);
    for (size_t i = 0; i < n; i++) {
        size_t far = i + 2 * SEAL_AHEAD, ahead = i + SEAL_AHEAD,
               near = i + SEAL_AHEAD / 2;
        if (far < n)
            __builtin_prefetch(v[far]);
        if (ahead < n)
            held[ahead % ring] = claim_ahead(s, v[ahead]);
        if (near < n && held[near % ring] && v[near]->obj)
            prefetch_obj(s, v[near]->proc, v[near]->obj, 0);
        if (i + 1 < n && held[(i + 1) % ring] && v[i + 1]->obj)
            prefetch_obj(s, v[i + 1]->proc, v[i + 1]->obj, 1);
        if (held[i % ring])
            seal_write(s, v[i], &s->sealer_enc);
    }
}

static void *sealer_main(void *arg)
{
    struct store *s = arg;
    /* Named for `top -H`, perf and gdb (15 bytes at most). */
    pthread_setname_np(pthread_self(), "ds-seal");
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->job && !s->quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->quit)
            break;
        struct entry **v = s->sealing;
        size_t n = s->n_sealing;
        pthread_mutex_unlock(&s->mu);
        v = sealer_sorted(s, v, n);
        seal_walk(s, v, n);
        store_free_graves(s, s->sealer_graves, s->n_sealer_graves);
        s->n_sealer_graves = 0;
        pthread_mutex_lock(&s->mu);
        s->job = false;
        /* Release: the processing thread may reuse the array and free
         * entries once it sees this. */
        atomic_store_explicit(&s->walking, false, memory_order_release);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int store_seal_async(struct store *s)
{
    if (!s->db || s->async)
        return -1; /* the in-memory backend is read as it is written */
    if (pthread_create(&s->sealer, NULL, sealer_main, s) != 0)
        return -1;
    s->async = true;
    return 0;
}

void store_seal(struct store *s, struct state_batch *b)
{
    store_seal_step(s, SIZE_MAX); /* a caller that did not finish the last */
    /* The dirty list becomes the sealing list; the old sealing array, now
     * empty (and let go of by the sealer), is reused as the next dirty
     * list. */
    struct entry **v = s->sealing;
    size_t cap = s->cap_sealing;
    s->sealing = s->dirty;
    s->cap_sealing = s->cap_dirty;
    s->n_sealing = s->n_dirty;
    atomic_store_explicit(&s->seal_left, s->n_dirty, memory_order_relaxed);
    s->seal_pos = 0;
    s->seal_b = b;
    s->seals++;
    if (!s->db) /* the in-memory backend is written as it is encoded */
        s->written = s->seals;
    for (size_t i = 0; i < s->n_sealing; i++) {
        struct entry *e = s->sealing[i];
        e->dirty = false;
        e->sealed_in = s->seals;
        atomic_store_explicit(&e->seal, SEAL_PENDING, memory_order_relaxed);
    }
    s->dirty = v;
    s->cap_dirty = cap;
    s->n_dirty = 0;
    if (s->async && (s->n_sealing > 0 || s->n_graves > 0)) {
        /* The sealer let go of its graves with the last seal. */
        struct grave *g = s->sealer_graves;
        size_t gcap = s->cap_sealer_graves;
        s->sealer_graves = s->graves;
        s->cap_sealer_graves = s->cap_graves;
        s->n_sealer_graves = s->n_graves;
        s->graves = g;
        s->cap_graves = gcap;
        s->n_graves = 0;
        /* The mutex orders everything above before the sealer's walk. */
        pthread_mutex_lock(&s->mu);
        atomic_store_explicit(&s->walking, true, memory_order_relaxed);
        s->job = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

/* Left to do in the seal under way; the sealer still holding the array
 * counts as one. */
static size_t seal_remaining(struct store *s)
{
    size_t left = atomic_load_explicit(&s->seal_left, memory_order_acquire);
    if (s->async && atomic_load_explicit(&s->walking, memory_order_acquire))
        left++;
    return left;
}

size_t store_seal_step(struct store *s, size_t max)
{
    if (s->async) {
        if (max == SIZE_MAX) {
            /* Finish it now: encode what the sealer has not claimed yet,
             * then wait for it to let go of the array. */
            for (size_t i = 0; i < s->n_sealing && seal_remaining(s); i++)
                if (seal_claim(s->sealing[i]))
                    seal_write(s, s->sealing[i], &s->enc);
            while (seal_remaining(s))
                sched_yield();
        }
    } else {
        for (; s->seal_pos < s->n_sealing && max > 0; s->seal_pos++) {
            struct entry *e = s->sealing[s->seal_pos];
            if (!seal_claim(e))
                continue; /* touched since the seal: already written */
            seal_write(s, e, &s->enc);
            max--;
        }
    }
    size_t left = seal_remaining(s);
    if (left == 0)
        s->seal_b = NULL;
    return left;
}

size_t store_flush(struct store *s, struct state_batch *b)
{
    size_t n = s->n_dirty;
    store_seal(s, b);
    store_seal_step(s, SIZE_MAX);
    return n;
}
