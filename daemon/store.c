/*
 * store.c - decoded-state cache with LRU eviction of clean objects and a
 * dirty list flushed once per batch.
 *
 * Two tiers: hot entries hold the decoded object; a clean, written entry
 * pushed out of the hot tier becomes warm, kept as its encoded bytes, so a
 * later get decodes them instead of reading RocksDB and the same memory
 * covers several times the objects (docs/PERFORMANCE.md has the costs).
 *
 * The seal, which encodes each batch's dirty objects for the backend and
 * may run on a thread of its own, is store_seal.c; a get or a change of an
 * object in a seal under way goes through it first (store_seal_first).
 */
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hmap.h"
#include "keyfilter.h"
#include "log.h"
#include "now.h"
#include "store_impl.h"

static char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s) + 1);
}

struct store *store_new(const struct processor_ops *const *ops, size_t n,
                        struct state *db, size_t max_entries)
{
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->ops = ops;
    s->n_ops = n;
    s->db = db;
    s->mem = db ? NULL : hmap_new();
    s->cache = hmap_new_intrusive(offsetof(struct entry, bkey));
    s->max_entries = max_entries ? max_entries : 1;
    if (n > UINT16_MAX) /* struct entry's proc */
        abort();
    s->ns_hash = xmalloc((n ? n : 1) * sizeof(*s->ns_hash));
    s->ns_len = xmalloc((n ? n : 1) * sizeof(*s->ns_len));
    for (size_t i = 0; i < n; i++) {
        s->ns_hash[i] = hash_fnv1a_more(hash_fnv1a_str(ops[i]->name), "/");
        s->ns_len[i] = strlen(ops[i]->name) + 1;
    }
    pthread_mutex_init(&s->batch_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    buf_init(&s->sealer_enc);
    buf_init(&s->enc);
    buf_init(&s->kbuf);
    return s;
}

static void lru_unlink(struct store *s, struct entry *e)
{
    struct entry **head = e->warm ? &s->whead : &s->head;
    struct entry **tail = e->warm ? &s->wtail : &s->tail;
    if (e->prev)
        e->prev->next = e->next;
    else
        *head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        *tail = e->prev;
    e->prev = e->next = NULL;
    if (!e->warm)
        s->n_hot--;
}

static void lru_push_front(struct store *s, struct entry *e)
{
    struct entry **head = e->warm ? &s->whead : &s->head;
    struct entry **tail = e->warm ? &s->wtail : &s->tail;
    e->prev = NULL;
    e->next = *head;
    if (*head)
        (*head)->prev = e;
    *head = e;
    if (!*tail)
        *tail = e;
    if (!e->warm)
        s->n_hot++;
}

/* What a warm entry costs, roughly: its bytes, the entry with its key,
 * and the map's slot (at most half the slots are used). */
static size_t warm_cost(const struct entry *e)
{
    return e->bytes_len + ENTRY_SIZE(e->bklen) + 48;
}

/* The processor's key, inside bkey. */
static const char *entry_key(const struct store *s, const struct entry *e)
{
    return e->bkey + s->ns_len[e->proc];
}

/* Hot entries only: a warm entry's bytes are the object. */
static void drop_sealed(struct store *s, struct entry *e)
{
    if (e->bytes)
        keep_sealed(s, e, NULL, 0);
}

/* The encoded bytes held in memory, which state.encoded_cache bounds. */
static size_t encoded_bytes(const struct store *s)
{
    return s->warm_bytes +
           atomic_load_explicit(&s->sealed_bytes, memory_order_relaxed);
}

static void entry_free(struct store *s, struct entry *e)
{
    if (e->obj)
        s->ops[e->proc]->state_free(e->obj);
    if (e->warm) {
        s->warm_bytes -= warm_cost(e);
        free(e->bytes);
    } else {
        drop_sealed(s, e);
    }
    free(e);
}

void store_free(struct store *s)
{
    if (!s)
        return;
    if (s->async) {
        pthread_mutex_lock(&s->mu);
        s->quit = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->sealer, NULL);
    }
    if (s->known) {
        atomic_store(&s->known_quit, true);
        pthread_join(s->known_scan, NULL);
        keyfilter_free(s->known);
    }
    pthread_mutex_destroy(&s->batch_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    buf_free(&s->sealer_enc);
    store_free_graves(s, s->graves, s->n_graves);
    /* A job not run: */
    store_free_graves(s, s->sealer_graves, s->n_sealer_graves);
    free(s->graves);
    free(s->sealer_graves);
    free(s->sealer_order);
    for (int tier = 0; tier < 2; tier++) {
        struct entry *e = tier ? s->whead : s->head;
        while (e) {
            struct entry *next = e->next;
            entry_free(s, e);
            e = next;
        }
    }
    hmap_free(s->cache, NULL); /* the entries, freed above, held the keys */
    hmap_free(s->mem, free);
    free(s->dirty);
    free(s->sealing);
    buf_free(&s->enc);
    buf_free(&s->kbuf);
    free(s->ns_hash);
    free(s->ns_len);
    free(s);
}

/* Builds "<proc>/<key>" in s->kbuf; valid until the next call. */
static const char *backend_key(struct store *s, size_t proc, const char *key)
{
    buf_reset(&s->kbuf);
    const char *name = s->ops[proc]->name;
    buf_append(&s->kbuf, name, strlen(name));
    buf_put_u8(&s->kbuf, '/');
    buf_append(&s->kbuf, key, strlen(key) + 1);
    return (const char *)s->kbuf.data;
}

static void mark_dirty(struct store *s, struct entry *e)
{
    if (e->dirty)
        return;
    if (s->n_dirty == s->cap_dirty) {
        s->cap_dirty = s->cap_dirty ? s->cap_dirty * 2 : 256;
        struct entry **d = realloc(s->dirty, s->cap_dirty * sizeof(*d));
        if (!d)
            abort();
        s->dirty = d;
    }
    s->dirty[s->n_dirty++] = e;
    e->dirty = true;
    drop_sealed(s, e); /* about to change */
}

static struct entry *entry_new(struct store *s, size_t proc, const char *bkey)
{
    size_t klen = strlen(bkey);
    struct entry *e = calloc(1, ENTRY_SIZE(klen));
    if (!e || klen > UINT32_MAX)
        abort();
    memcpy(e->bkey, bkey, klen + 1);
    e->bklen = (uint32_t)klen;
    e->proc = (uint16_t)proc;
    hmap_put(s->cache, e->bkey, e);
    lru_push_front(s, e);
    return e;
}

/* Loads the encoded value: 1 found, 0 absent, -1 read error. */
static int backend_load(struct store *s, const char *bkey, void **val,
                        size_t *len)
{
    if (!s->db) {
        struct membytes *mb = hmap_get(s->mem, bkey);
        if (!mb)
            return 0;
        *val = xmemdup(mb->data, mb->len);
        *len = mb->len;
        return 1;
    }
    char err[256];
    int rc = state_get(s->db, bkey, strlen(bkey), val, len, err, sizeof(err));
    if (rc < 0)
        LOG_ERR("store", "reading %s: %s", bkey, err);
    return rc;
}

void store_note_key(struct store *s, const void *bkey, size_t len)
{
    know_key(s, bkey, len);
}

void store_prefetch_key(const struct store *s, const void *bkey, size_t len)
{
    if (s->known)
        keyfilter_prefetch(s->known, hash_fnv1a(bkey, len));
}

/* True when the backend surely has no value for bkey: the filter is
 * filled and not saturated (4x its capacity: ~30 % false positives), and
 * bkey was never written. */
static bool known_absent(struct store *s, const char *bkey)
{
    if (!s->known ||
        !atomic_load_explicit(&s->known_ready, memory_order_acquire))
        return false;
    if (atomic_load_explicit(&s->known_added, memory_order_relaxed) >
        4 * keyfilter_capacity(s->known)) {
        if (!s->known_full) {
            s->known_full = true;
            LOG_WRN("store", "key filter full (%llu keys): no longer used "
                    "until the next start, which sizes it afresh",
                    (unsigned long long)atomic_load(&s->known_added));
        }
        return false;
    }
    return !keyfilter_may_contain(s->known, bkey, strlen(bkey));
}

void store_backend_put(struct store *s, struct state_batch *b,
                       const char *bkey, size_t bklen, const void *val,
                       size_t len)
{
    if (s->db) {
        state_batch_put(b, bkey, bklen, val, len);
        return;
    }
    struct membytes *mb = xmalloc(sizeof(*mb) + len);
    mb->len = len;
    memcpy(mb->data, val, len);
    free(hmap_put(s->mem, bkey, mb));
}

void store_backend_delete(struct store *s, struct state_batch *b,
                          const char *bkey, size_t bklen)
{
    if (s->db)
        state_batch_delete(b, bkey, bklen);
    else
        free(hmap_del(s->mem, bkey));
}

static int know_one(void *arg, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    struct store *s = arg;
    know_key(s, key, klen);
    return atomic_load_explicit(&s->known_quit, memory_order_relaxed);
}

/* Every key the backend holds goes into the filter, from a snapshot taken
 * after the filter existed: a key written since was added by its put. */
static void *known_scan_main(void *arg)
{
    struct store *s = arg;
    pthread_setname_np(pthread_self(), "ds-keyscan");
    state_thread_init();
    char err[256];
    int64_t t0 = now_mono_ms();
    if (state_scan(s->db, "", 0, know_one, s, err, sizeof(err)) != 0) {
        LOG_WRN("store", "key filter not used: %s", err);
        return NULL;
    }
    if (atomic_load(&s->known_quit))
        return NULL;
    atomic_store_explicit(&s->known_ready, true, memory_order_release);
    LOG_INF("store",
            "key filter ready: %llu keys in %lld ms (%zu KiB, for %llu)",
            (unsigned long long)atomic_load(&s->known_added),
            (long long)(now_mono_ms() - t0),
            keyfilter_bytes(s->known) / 1024,
            (unsigned long long)keyfilter_capacity(s->known));
    return NULL;
}

int store_filter_absent(struct store *s, uint64_t capacity)
{
    if (!s->db || s->known)
        return -1;
    s->known = keyfilter_new(capacity);
    if (pthread_create(&s->known_scan, NULL, known_scan_main, s) != 0) {
        keyfilter_free(s->known);
        s->known = NULL;
        return -1;
    }
    return 0;
}

bool store_filter_ready(const struct store *s)
{
    return s->known &&
           atomic_load_explicit(&s->known_ready, memory_order_acquire);
}

/* Decodes bytes read for e (backend or warm tier) into *obj. Bytes that do
 * not decode are parked under "quarantine/<bkey>" for an operator and the
 * object starts afresh: returns 0 then, else 1. */
static int decode_bytes(struct store *s, size_t proc, const char *key,
                        const char *bkey, const void *val, size_t len,
                        void **obj)
{
    if (s->ops[proc]->state_decode(key, val, len, obj) == 0)
        return 1;
    LOG_RL(LOG_ERROR, "store",
           "state of %s does not decode (%zu bytes); kept under "
           "quarantine/ and started afresh",
           bkey, len);
    /* Raw bytes cannot go through the dirty path: write them straight to
     * the backend map or in a one-off batch. */
    char qkey[1024];
    snprintf(qkey, sizeof(qkey), "quarantine/%s", bkey);
    if (s->db) {
        struct state_batch *qb = state_batch_new();
        char err[256];
        state_batch_put(qb, qkey, strlen(qkey), val, len);
        if (state_batch_commit(s->db, qb, err, sizeof(err)) != 0)
            LOG_ERR("store", "quarantining %s: %s", bkey, err);
        state_batch_free(qb);
    } else {
        store_backend_put(s, NULL, qkey, strlen(qkey), val, len);
    }
    *obj = NULL;
    return 0;
}

/* Back to the hot tier, decoding the bytes a warm entry kept. */
static void promote(struct store *s, struct entry *e)
{
    lru_unlink(s, e);
    s->warm_bytes -= warm_cost(e);
    e->warm = false;
    lru_push_front(s, e);
    uint8_t *enc = e->bytes;
    size_t len = e->bytes_len;
    e->bytes = NULL;
    e->bytes_len = 0;
    if (enc) {
        /* Decoded as they are, the bytes are the object's sealed bytes. */
        if (decode_bytes(s, e->proc, entry_key(s, e), e->bkey, enc, len,
                         &e->obj) == 1 &&
            may_keep_sealed(s, len))
            keep_sealed(s, e, enc, len);
        else
            free(enc);
    }
}

/* The object of e for a get: NULL when absent and !create. */
static void *hit(struct store *s, struct entry *e, bool create,
                 bool *created)
{
    if (e->warm) {
        s->stats.warm++;
        promote(s, e);
    } else {
        /* About to change: the sealed batch gets it as it was. */
        store_seal_first(s, e);
        lru_unlink(s, e);
        lru_push_front(s, e);
    }
    if (e->obj || !create)
        return e->obj;
    /* Absent, or deleted in this batch, and now wanted: start afresh. */
    e->obj = s->ops[e->proc]->state_new(entry_key(s, e));
    e->deleted = false;
    mark_dirty(s, e);
    if (created)
        *created = true;
    return e->obj;
}

uint64_t store_key_hash(const struct store *s, size_t proc,
                        const struct state_key *key)
{
    uint64_t h = s->ns_hash[proc];
    for (size_t i = 0; i < 3 && key->part[i]; i++)
        h = hash_fnv1a_more(h, key->part[i]);
    return h;
}

void store_prefetch(const struct store *s, uint64_t hash, int step)
{
    if (step == 0) {
        hmap_prefetch_slot(s->cache, hash);
        return;
    }
    const struct entry *e = hmap_peek(s->cache, hash);
    if (step == 1) {
        if (e) {
            __builtin_prefetch(e);
            __builtin_prefetch((const char *)e + 64);
        } else if (s->known &&
                   atomic_load_explicit(&s->known_ready, memory_order_acquire)) {
            keyfilter_prefetch(s->known, hash);
        }
        return;
    }
    if (!e)
        return;
    /* hit() unlinks it from its LRU list: its neighbours are written. */
    if (e->prev)
        __builtin_prefetch(e->prev, 1);
    if (e->next)
        __builtin_prefetch(e->next, 1);
    if (e->obj) {
        __builtin_prefetch(e->obj);
    } else if (e->warm && e->bytes) {
        /* Decoded from the front: the first lines, the rest streams. */
        size_t n = e->bytes_len < 256 ? e->bytes_len : 256;
        for (size_t off = 0; off < n; off += 64)
            __builtin_prefetch(e->bytes + off);
    }
}

void *store_get(struct store *s, size_t proc, const char *key, bool create,
                bool *created)
{
    const struct processor_ops *ops = s->ops[proc];
    const char *bkey = backend_key(s, proc, key);
    if (created)
        *created = false;
    s->stats.gets++;

    struct entry *e = hmap_get(s->cache, bkey);
    if (e) {
        s->last = e;
        return hit(s, e, create, created);
    }

    void *val = NULL;
    size_t len = 0;
    void *obj = NULL;
    int rc;
    if (known_absent(s, bkey)) {
        rc = 0;
        s->stats.filtered++;
    } else {
        rc = backend_load(s, bkey, &val, &len);
        s->stats.loads++;
        if (rc == 0)
            s->stats.absent++;
    }
    bool stored = rc == 1;
    if (rc == 1)
        rc = decode_bytes(s, proc, key, bkey, val, len, &obj);
    free(val);
    if (rc < 0 && !create)
        return NULL;
    if (rc == 0 && !create) {
        /* Remember the absence: processors probe for objects most
         * customers never get (a meeting's context, an opportunity), and
         * each probe would otherwise be a RocksDB get. The entry holds no
         * object and is evicted like any clean one. */
        entry_new(s, proc, backend_key(s, proc, key));
        return NULL;
    }
    if (rc != 1) {
        obj = ops->state_new(key);
        if (created)
            *created = true;
    }
    bkey = backend_key(s, proc, key); /* kbuf may have been reused */
    e = entry_new(s, proc, bkey);
    e->obj = obj;
    e->known = stored;
    s->last = e;
    return obj;
}

void store_dirty(struct store *s, size_t proc, const char *key)
{
    struct entry *e = s->last;
    if (!e || e->proc != proc || strcmp(entry_key(s, e), key) != 0)
        e = hmap_get(s->cache, backend_key(s, proc, key));
    if (e && e->obj) { /* a warm entry has no object a caller could change */
        store_seal_first(s, e);
        mark_dirty(s, e);
    }
}

void store_delete(struct store *s, size_t proc, const char *key)
{
    const char *bkey = backend_key(s, proc, key);
    struct entry *e = hmap_get(s->cache, bkey);
    if (!e)
        e = entry_new(s, proc, bkey);
    else if (e->warm)
        promote(s, e);
    store_seal_first(s, e);
    if (e->obj) {
        s->ops[proc]->state_free(e->obj);
        e->obj = NULL;
    }
    e->deleted = true;
    /* The filter's scan may run after this delete is written and miss the
     * key: a later put must add it again. */
    e->known = false;
    mark_dirty(s, e);
}

static void evict(struct store *s, struct entry *e)
{
    if (s->last == e)
        s->last = NULL;
    hmap_del(s->cache, e->bkey);
    lru_unlink(s, e);
    entry_free(s, e);
}

/* Safe to drop: not dirty, not waiting in a seal, and the backend already
 * holds what it was last sealed as (else a reload would read older bytes). */
static bool evictable(const struct store *s, const struct entry *e)
{
    return !e->dirty && !in_seal(e) && e->sealed_in <= s->written;
}

/* Frees a decoded object, or with `defer` (and the sealer running) queues
 * it for the sealing thread, which frees it after the next seal. */
static void bury(struct store *s, size_t proc, void *obj, bool defer)
{
    if (!s->async || !defer) {
        s->ops[proc]->state_free(obj);
        return;
    }
    if (s->n_graves == s->cap_graves) {
        s->cap_graves = s->cap_graves ? 2 * s->cap_graves : 1024;
        s->graves = realloc(s->graves, s->cap_graves * sizeof(*s->graves));
        if (!s->graves)
            abort();
    }
    s->graves[s->n_graves++] = (struct grave){proc, obj};
}

/* From the hot tier to the warm one; e must be evictable, so its object is
 * what the backend holds: its sealed bytes, when kept, or encoding it now
 * give the same bytes. With `defer` the sealer frees the object. */
static void demote(struct store *s, struct entry *e, bool defer)
{
    if (s->warm_max == 0) {
        evict(s, e);
        return;
    }
    if (e->obj && !e->bytes) {
        buf_reset(&s->enc);
        s->ops[e->proc]->state_encode(e->obj, &s->enc);
        if (s->enc.len > UINT32_MAX) { /* never: too large to keep */
            evict(s, e);
            return;
        }
        e->bytes = xmemdup(s->enc.data, s->enc.len);
        e->bytes_len = (uint32_t)s->enc.len;
    } else if (e->obj) {
        /* The sealed bytes become the warm object: moved, not copied. */
        atomic_fetch_sub_explicit(&s->sealed_bytes, e->bytes_len,
                                  memory_order_relaxed);
    } else {
        drop_sealed(s, e); /* never: an entry without object has none */
    }
    lru_unlink(s, e);
    if (e->obj) {
        bury(s, e->proc, e->obj, defer);
        e->obj = NULL;
    }
    e->warm = true;
    s->warm_bytes += warm_cost(e);
    lru_push_front(s, e);
}

void store_mark_written(struct store *s, uint64_t seals)
{
    if (seals > s->written && seals <= s->seals)
        s->written = seals;
}

size_t store_trim_step(struct store *s, size_t max)
{
    /* The LRU tail is the oldest touch; objects of batches not yet written
     * were touched after every written one, so once the tail cannot go,
     * nothing behind it can until the next write lands: stop there rather
     * than walk over them again at every record. */
    size_t done = 0;
    while (done < max && s->n_hot > s->max_entries && evictable(s, s->tail)) {
        demote(s, s->tail, true);
        done++;
    }
    while (done < max && s->wtail && encoded_bytes(s) > s->warm_max) {
        evict(s, s->wtail);
        done++;
    }
    return (s->n_hot > s->max_entries && evictable(s, s->tail)) ||
           (s->wtail && encoded_bytes(s) > s->warm_max);
}

void store_trim(struct store *s)
{
    struct entry *e = s->tail;
    while (e && s->n_hot > s->max_entries) {
        struct entry *prev = e->prev;
        if (evictable(s, e))
            demote(s, e, false);
        e = prev;
    }
    while (s->wtail && encoded_bytes(s) > s->warm_max)
        evict(s, s->wtail);
}

void store_drop_cache(struct store *s)
{
    while (s->wtail)
        evict(s, s->wtail);
    struct entry *e = s->tail;
    while (e) {
        struct entry *prev = e->prev;
        if (evictable(s, e))
            evict(s, e);
        e = prev;
    }
}

void store_set_warm_bytes(struct store *s, size_t max)
{
    s->warm_max = max;
    /* A smaller budget: sealed bytes over its half go, least recently used
     * first (not those of a seal under way: the sealer may be at them). */
    for (struct entry *e = s->tail;
         e && atomic_load_explicit(&s->sealed_bytes, memory_order_relaxed) >
                  max / 2;
         e = e->prev)
        if (!in_seal(e))
            drop_sealed(s, e);
    store_trim(s);
}

size_t store_cached(const struct store *s) { return hmap_count(s->cache); }
size_t store_dirty_count(const struct store *s) { return s->n_dirty; }

void store_stats(const struct store *s, struct store_stats *out)
{
    *out = s->stats;
    out->hot = s->n_hot;
    out->warm_entries = hmap_count(s->cache) - s->n_hot;
    out->warm_bytes = encoded_bytes(s);
    out->sealer_cpu_ms = s->async ? now_cpu_ms_of(s->sealer) : -1;
}

int store_proc_index(const struct store *s, const char *processor)
{
    for (size_t i = 0; i < s->n_ops; i++)
        if (strcmp(s->ops[i]->name, processor) == 0)
            return (int)i;
    return -1;
}

/* Collecting keys: the cache decides for the keys it holds (live or
 * deleted); the backend supplies the rest. */
struct keyset {
    struct store *s;
    size_t proc;
    size_t plen;
    struct hmap *seen;
    char **v;
    size_t n, cap;
};

static void keyset_add(struct keyset *ks, const char *key)
{
    if (hmap_get(ks->seen, key))
        return;
    hmap_put(ks->seen, key, (void *)1);
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? ks->cap * 2 : 16;
        char **v = realloc(ks->v, ks->cap * sizeof(*v));
        if (!v)
            abort();
        ks->v = v;
    }
    ks->v[ks->n++] = xstrdup(key);
}

static int collect_cached(void *arg, const char *bkey, void *val)
{
    struct keyset *ks = arg;
    struct entry *e = val;
    (void)bkey;
    if (e->proc != ks->proc)
        return 0;
    const char *key = entry_key(ks->s, e);
    if (e->obj || (e->warm && e->bytes))
        keyset_add(ks, key);
    else /* absent or deleted: hide a backend copy not yet overwritten */
        hmap_put(ks->seen, key, (void *)1);
    return 0;
}

static int collect_backend(void *arg, const void *key, size_t klen,
                           const void *val, size_t vlen)
{
    struct keyset *ks = arg;
    (void)val;
    (void)vlen;
    char tmp[1024];
    size_t n = klen - ks->plen;
    if (n >= sizeof(tmp))
        return 0; /* keys this long are not made by our processors */
    memcpy(tmp, (const char *)key + ks->plen, n);
    tmp[n] = '\0';
    keyset_add(ks, tmp);
    return 0;
}

static int collect_mem(void *arg, const char *bkey, void *val)
{
    struct keyset *ks = arg;
    const char *name = ks->s->ops[ks->proc]->name;
    if (strncmp(bkey, name, ks->plen - 1) == 0 && bkey[ks->plen - 1] == '/')
        return collect_backend(arg, bkey, strlen(bkey), val, 0);
    return 0;
}

char **store_keys(struct store *s, size_t proc, size_t *n)
{
    struct keyset ks = {.s = s, .proc = proc, .seen = hmap_new()};
    const char *name = s->ops[proc]->name;
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s/", name);
    ks.plen = strlen(prefix);

    hmap_each(s->cache, collect_cached, &ks);
    if (s->db) {
        char err[256];
        if (state_scan(s->db, prefix, ks.plen, collect_backend, &ks, err,
                       sizeof(err)) != 0)
            LOG_ERR("store", "listing %s state: %s", name, err);
    } else {
        hmap_each(s->mem, collect_mem, &ks);
    }
    hmap_free(ks.seen, NULL);
    *n = ks.n;
    return ks.v;
}

void store_keys_free(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}
