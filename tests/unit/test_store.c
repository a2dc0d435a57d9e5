/*
 * test_store.c - the decoded-state cache over both backends: write-back
 * once per flush, eviction of clean objects only, the warm tier of encoded
 * objects, deletes, key listing, quarantine of undecodable bytes, and the
 * context's alert stamping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctx.h"
#include "state.h"
#include "store.h"
#include "tmpdir.h"

/* A processor whose state is one counter. */
struct counter {
    int64_t n;
};

/* Atomic: the sealer thread encodes too. */
static atomic_int encodes, decodes;

static void *c_new(const char *key)
{
    (void)key;
    return calloc(1, sizeof(struct counter));
}
static void c_encode(const void *st, struct buf *out)
{
    encodes++;
    buf_put_u8(out, 1);
    buf_put_i64(out, ((const struct counter *)st)->n);
}
static int c_decode(const char *key, const uint8_t *d, size_t len, void **st)
{
    (void)key;
    struct buf_reader r;
    buf_reader_init(&r, d, len);
    if (buf_get_u8(&r) != 1)
        return -1;
    struct counter *c = c_new(NULL);
    c->n = buf_get_i64(&r);
    if (r.err || r.p != r.end) {
        free(c);
        return -1;
    }
    decodes++;
    *st = c;
    return 0;
}
static void c_json(const void *st, struct jw *w)
{
    jw_int(w, "n", ((const struct counter *)st)->n);
}

static const struct processor_ops counter_ops = {
    .name = "counter",
    .state_new = c_new,
    .state_encode = c_encode,
    .state_decode = c_decode,
    .state_free = free,
    .state_to_json = c_json,
};
static const struct processor_ops *const ops[] = {&counter_ops};

static void bump(struct store *s, const char *key, int64_t by)
{
    struct counter *c = store_get(s, 0, key, true, NULL);
    c->n += by;
    store_dirty(s, 0, key);
}

static int64_t value_of(struct store *s, const char *key)
{
    struct counter *c = store_get(s, 0, key, false, NULL);
    return c ? c->n : -1;
}

static void test_write_back_once_per_flush(void **unused)
{
    (void)unused;
    struct store *s = store_new(ops, 1, NULL, 100);
    encodes = 0;
    for (int i = 0; i < 50; i++)
        bump(s, "C1", 1);
    assert_int_equal(store_dirty_count(s), 1);
    assert_int_equal(store_flush(s, NULL), 1);
    assert_int_equal(encodes, 1); /* 50 updates, one encode */
    store_drop_cache(s);
    decodes = 0;
    assert_int_equal(value_of(s, "C1"), 50);
    assert_int_equal(decodes, 1);
    store_free(s);
}

static void test_absent_and_created(void **unused)
{
    (void)unused;
    struct store *s = store_new(ops, 1, NULL, 100);
    bool created = false;
    assert_null(store_get(s, 0, "nobody", false, NULL));
    assert_non_null(store_get(s, 0, "C2", true, &created));
    assert_true(created);
    assert_non_null(store_get(s, 0, "C2", true, &created));
    assert_false(created);
    store_free(s);
}

/* A probe for an object that does not exist reads the backend once; the
 * absence is cached like an object, and creating it later needs no read. */
static void test_absence_is_remembered(void **unused)
{
    (void)unused;
    struct store *s = store_new(ops, 1, NULL, 100);
    struct store_stats st;
    bool created = false;
    assert_null(store_get(s, 0, "ghost", false, NULL));
    assert_null(store_get(s, 0, "ghost", false, NULL));
    store_stats(s, &st);
    assert_int_equal(st.gets, 2);
    assert_int_equal(st.loads, 1);
    assert_int_equal(st.absent, 1);
    assert_int_equal(store_dirty_count(s), 0); /* nothing to write */

    assert_non_null(store_get(s, 0, "ghost", true, &created));
    assert_true(created);
    store_stats(s, &st);
    assert_int_equal(st.loads, 1);
    bump(s, "ghost", 4);
    store_flush(s, NULL);
    /* A dropped cache forgets absences too (another instance may have
     * written meanwhile) and reads again. */
    store_drop_cache(s);
    assert_int_equal(value_of(s, "ghost"), 4);
    assert_null(store_get(s, 0, "other", false, NULL));
    store_drop_cache(s);
    assert_null(store_get(s, 0, "other", false, NULL));
    store_stats(s, &st);
    assert_int_equal(st.loads, 4);
    assert_int_equal(st.absent, 3);
    store_free(s);
}

static void test_only_clean_objects_are_evicted(void **unused)
{
    (void)unused;
    struct store *s = store_new(ops, 1, NULL, 2);
    bump(s, "A", 1);
    bump(s, "B", 2);
    bump(s, "C", 3);
    store_trim(s); /* all dirty: nothing may go */
    assert_int_equal(store_cached(s), 3);
    store_flush(s, NULL);
    store_trim(s);
    assert_int_equal(store_cached(s), 2);
    /* The evicted one comes back from the backend intact. */
    assert_int_equal(value_of(s, "A"), 1);
    assert_int_equal(value_of(s, "B"), 2);
    assert_int_equal(value_of(s, "C"), 3);
    store_free(s);
}

/* store_dirty() marks the object it names, whether or not it was the last
 * one got, and never the entry of a key evicted since (ASan would see the
 * freed entry). */
static void test_dirty_names_its_object(void **unused)
{
    (void)unused;
    struct store *s = store_new(ops, 1, NULL, 1);
    struct counter *a = store_get(s, 0, "A", true, NULL);
    assert_non_null(store_get(s, 0, "B", true, NULL));
    a->n = 5;
    store_dirty(s, 0, "A"); /* B was got last */
    assert_int_equal(store_flush(s, NULL), 1);
    store_drop_cache(s);
    assert_int_equal(value_of(s, "A"), 5);
    assert_int_equal(value_of(s, "B"), -1); /* never marked: never written */

    bump(s, "X", 1);
    store_flush(s, NULL);
    assert_null(store_get(s, 0, "Y", false, NULL)); /* remembers an absence */
    store_trim(s); /* one entry at most: X, the older, goes */
    store_dirty(s, 0, "X");
    assert_int_equal(store_dirty_count(s), 0);
    assert_int_equal(value_of(s, "X"), 1);
    store_free(s);
}

static void test_delete_and_keys(void **unused)
{
    (void)unused;
    struct store *s = store_new(ops, 1, NULL, 100);
    bump(s, "C1", 1);
    bump(s, "C1/m/1", 1);
    bump(s, "C2", 1);
    store_flush(s, NULL);
    store_delete(s, 0, "C2");
    bump(s, "C3", 1); /* only in the cache so far */
    size_t n = 0;
    char **keys = store_keys(s, 0, &n);
    assert_int_equal(n, 3);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(keys[i], "C2");
        if (!strcmp(keys[i], "C1") || !strcmp(keys[i], "C1/m/1") ||
            !strcmp(keys[i], "C3"))
            seen++;
    }
    assert_int_equal(seen, 3);
    store_keys_free(keys, n);
    store_flush(s, NULL);
    store_drop_cache(s);
    assert_int_equal(value_of(s, "C2"), -1);
    store_free(s);
}

static struct state *open_db(const char *dir)
{
    struct state_options o = {.dir = dir,
                              .block_cache_bytes = 1 << 20,
                              .write_buffer_bytes = 1 << 20};
    struct state *db = NULL;
    char err[256];
    if (state_open(&o, &db, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return db;
}

/* The tests over RocksDB: a fresh database in a scratch folder, closed and
 * removed after the test whether it passed or not. */
struct dbfix {
    char dir[64];
    struct state *db;
};

static int db_setup(void **vstate)
{
    struct dbfix *f = calloc(1, sizeof(*f));
    if (!f || tmpdir_make(f->dir, sizeof(f->dir), "test_store") != 0) {
        free(f);
        return -1;
    }
    f->db = open_db(f->dir);
    *vstate = f;
    return 0;
}

static int db_teardown(void **vstate)
{
    struct dbfix *f = *vstate;
    state_close(f->db);
    tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* State and offsets committed together survive a reopen; what was never
 * committed is gone, as after kill -9. */
static void test_rocksdb_commit_and_reopen(void **vstate)
{
    struct dbfix *f = *vstate;
    char err[256];
    struct state *db = f->db;
    struct store *s = store_new(ops, 1, db, 100);
    struct state_batch *b = state_batch_new();
    bump(s, "C1", 7);
    store_flush(s, b);
    state_batch_offset(b, "t", 0, 42);
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
    bump(s, "C1", 100); /* applied but never committed */
    store_free(s);
    state_batch_free(b);
    state_close(db);
    f->db = NULL; /* not closed twice if the reopen fails */

    db = f->db = open_db(f->dir);
    s = store_new(ops, 1, db, 100);
    assert_int_equal(value_of(s, "C1"), 7);
    int64_t next = 0;
    assert_int_equal(state_offset_get(db, "t", 0, &next, err, sizeof(err)), 1);
    assert_int_equal(next, 42);
    store_free(s);
}

/* The runtime writes a flushed batch only once its alerts are acknowledged,
 * so between flush and write the backend still holds old values: a deleted
 * object must not come back from it meanwhile. */
static void test_delete_not_undone_before_the_write(void **vstate)
{
    struct dbfix *f = *vstate;
    char err[256];
    struct state *db = f->db;
    struct store *s = store_new(ops, 1, db, 1);
    struct state_batch *b = state_batch_new();
    bump(s, "C1", 5);
    store_flush(s, b);
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);

    store_delete(s, 0, "C1");
    bump(s, "C2", 1);
    store_flush(s, b); /* not written yet */
    assert_int_equal(value_of(s, "C1"), -1);
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
    store_mark_written(s, 2);
    store_trim(s);
    store_drop_cache(s);
    assert_int_equal(value_of(s, "C1"), -1);
    assert_int_equal(value_of(s, "C2"), 1);
    store_free(s);
    state_batch_free(b);
}

static int64_t stored_value(struct state *db, const char *bkey)
{
    char err[256];
    void *val = NULL;
    size_t len = 0;
    int rc = state_get(db, bkey, strlen(bkey), &val, &len, err, sizeof(err));
    assert_true(rc >= 0);
    if (rc == 0)
        return -1;
    struct counter *c = NULL;
    assert_int_equal(c_decode(NULL, val, len, (void **)&c), 0);
    int64_t n = c->n;
    free(c);
    free(val);
    return n;
}

static bool has_key(char **keys, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

/* Objects pushed out of the hot tier are kept encoded: reading one back
 * decodes those bytes without a backend read; an absence is kept as a key.
 * Only written objects go warm; the warm tier keeps to its bytes; changes
 * and deletes of a warm object reach the backend; dropping the cache drops
 * it. Over RocksDB, so "no backend read" is a real claim. */
static void test_warm_tier(void **vstate)
{
    struct dbfix *f = *vstate;
    char err[256];
    struct state *db = f->db;
    struct store *s = store_new(ops, 1, db, 2);
    store_set_warm_bytes(s, 1 << 20);
    struct state_batch *b = state_batch_new();
    struct store_stats st;

    assert_null(store_get(s, 0, "ghost", false, NULL)); /* read: absent */
    bump(s, "A", 1);
    bump(s, "B", 2);
    bump(s, "C", 3);
    store_flush(s, b);
    store_trim(s); /* A, B, C sealed, not written: only ghost goes warm */
    store_stats(s, &st);
    assert_int_equal(st.hot, 3);
    assert_int_equal(st.warm_entries, 1);
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
    store_mark_written(s, 1);
    store_trim(s); /* A, least recent, goes warm */
    store_stats(s, &st);
    assert_int_equal(st.hot, 2);
    assert_int_equal(st.warm_entries, 2);
    assert_true(st.warm_bytes > 0);

    /* Listing: the warm A is live, the warm absence hides nothing. */
    size_t n = 0;
    char **keys = store_keys(s, 0, &n);
    assert_int_equal(n, 3);
    assert_true(has_key(keys, n, "A"));
    assert_false(has_key(keys, n, "ghost"));
    store_keys_free(keys, n);

    uint64_t loads = st.loads;
    decodes = 0;
    assert_int_equal(value_of(s, "A"), 1);
    assert_null(store_get(s, 0, "ghost", false, NULL));
    store_stats(s, &st);
    assert_int_equal(st.loads, loads); /* no backend read for either */
    assert_int_equal(st.warm, 2);
    assert_int_equal(decodes, 1);

    /* A change and a delete of objects that were warm reach the backend. */
    store_mark_written(s, 1);
    store_trim(s); /* B, C go warm now */
    store_stats(s, &st);
    assert_int_equal(st.warm_entries, 2);
    bump(s, "B", 40);
    store_delete(s, 0, "C");
    store_flush(s, b);
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
    store_mark_written(s, 2);
    assert_int_equal(stored_value(db, "counter/B"), 42);
    assert_int_equal(stored_value(db, "counter/C"), -1);
    assert_int_equal(value_of(s, "B"), 42);
    assert_int_equal(value_of(s, "C"), -1);

    /* Bound by bytes: with room for none, nothing stays warm. */
    store_set_warm_bytes(s, 1);
    store_trim(s);
    store_stats(s, &st);
    assert_int_equal(st.warm_entries, 0);
    assert_int_equal(st.warm_bytes, 0);
    assert_int_equal(st.hot, 2);

    /* Dropping the cache drops the warm tier: reads go to the backend. */
    store_set_warm_bytes(s, 1 << 20);
    store_trim(s);
    store_drop_cache(s);
    store_stats(s, &st);
    assert_int_equal(st.hot + st.warm_entries, 0);
    loads = st.loads;
    assert_int_equal(value_of(s, "A"), 1);
    store_stats(s, &st);
    assert_int_equal(st.loads, loads + 1);

    store_free(s);
    state_batch_free(b);
}

/* Sealed bytes: a clean object moves to the warm tier (and back, and
 * out again) with the bytes it was sealed as, not a second encode; a change
 * drops them; they take at most half of the encoded budget. */
static void test_sealed_bytes(void **unused)
{
    (void)unused;
    struct store_stats st;
    struct store *s = store_new(ops, 1, NULL, 1);
    store_set_warm_bytes(s, 1 << 20);
    encodes = 0;
    bump(s, "A", 1);
    bump(s, "B", 2);
    store_flush(s, NULL);
    assert_int_equal(encodes, 2);
    store_trim(s); /* A goes warm with its sealed bytes */
    store_stats(s, &st);
    assert_int_equal(st.hot, 1);
    assert_int_equal(st.warm_entries, 1);
    assert_int_equal(value_of(s, "A"), 1); /* back: B goes warm */
    store_trim(s);
    assert_int_equal(value_of(s, "B"), 2); /* back: A goes warm again */
    store_trim(s);
    assert_int_equal(encodes, 2);

    bump(s, "B", 10); /* its sealed bytes are stale now */
    store_flush(s, NULL);
    assert_int_equal(encodes, 3);
    assert_int_equal(value_of(s, "A"), 1);
    store_trim(s); /* B goes warm as sealed: 12 */
    assert_int_equal(encodes, 3);
    assert_int_equal(value_of(s, "B"), 12);
    store_free(s);

    /* A budget of 6 bytes leaves 3 for sealed bytes: one object's 2 (a
     * version byte and a one-byte varint). */
    s = store_new(ops, 1, NULL, 10);
    store_set_warm_bytes(s, 6);
    bump(s, "X", 1);
    bump(s, "Y", 2);
    store_flush(s, NULL);
    store_stats(s, &st);
    assert_int_equal(st.warm_entries, 0);
    assert_int_equal(st.warm_bytes, 2);
    bump(s, "X", 1);
    bump(s, "Y", 1);
    store_stats(s, &st);
    assert_int_equal(st.warm_bytes, 0); /* both changed */
    store_flush(s, NULL);
    store_set_warm_bytes(s, 0); /* no budget: none kept */
    store_stats(s, &st);
    assert_int_equal(st.warm_bytes, 0);
    store_free(s);
}

/* Trimming a piece at a time: no more entries moved than asked, and a
 * step stops at an entry that cannot go yet (its batch is not written). */
static void test_trim_in_steps(void **unused)
{
    (void)unused;
    struct store *s = store_new(ops, 1, NULL, 2);
    store_set_warm_bytes(s, 1 << 20);
    struct store_stats st;
    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "K%d", i);
        bump(s, key, i);
    }
    assert_int_equal(store_trim_step(s, 3), 0); /* all dirty: none can go */
    store_flush(s, NULL); /* in memory: written at once */
    assert_int_not_equal(store_trim_step(s, 3), 0);
    store_stats(s, &st);
    assert_int_equal(st.hot, 7);
    assert_int_equal(st.warm_entries, 3);
    assert_int_equal(store_trim_step(s, SIZE_MAX), 0);
    store_stats(s, &st);
    assert_int_equal(st.hot, 2);
    assert_int_equal(value_of(s, "K0"), 0); /* from warm: three hot */
    bump(s, "K8", 1); /* K9 is now the tail, clean */
    assert_int_equal(store_trim_step(s, 1), 0);
    store_stats(s, &st);
    assert_int_equal(st.hot, 2);
    assert_int_equal(value_of(s, "K9"), 9);
    store_free(s);
}

/* A sealed batch holds every object as it was at the seal, even when an
 * object is changed or deleted before the step that would encode it; the
 * change goes to the next batch. Nothing sealing is evicted. */
static void test_seal_keeps_the_state_at_the_seal(void **vstate)
{
    struct dbfix *f = *vstate;
    char err[256];
    struct state *db = f->db;
    struct store *s = store_new(ops, 1, db, 1);
    struct state_batch *b = state_batch_new();
    bump(s, "C1", 5);
    bump(s, "C2", 7);
    bump(s, "C3", 3);
    store_seal(s, b);
    assert_int_equal(store_dirty_count(s), 0);
    store_trim(s); /* all three wait in the seal */
    assert_int_equal(store_cached(s), 3);

    bump(s, "C1", 10);         /* sealed as 5 before the change */
    store_delete(s, 0, "C3");  /* sealed as 3 before the delete */
    assert_int_equal(store_dirty_count(s), 2);
    assert_int_equal(store_seal_step(s, 0), 1); /* only C2 is left */
    assert_int_equal(store_seal_step(s, 8), 0);
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
    assert_int_equal(stored_value(db, "counter/C1"), 5);
    assert_int_equal(stored_value(db, "counter/C2"), 7);
    assert_int_equal(stored_value(db, "counter/C3"), 3);

    /* The next batch carries what happened after the seal. */
    store_seal(s, b);
    assert_int_equal(store_seal_step(s, SIZE_MAX), 0);
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
    assert_int_equal(stored_value(db, "counter/C1"), 15);
    assert_int_equal(stored_value(db, "counter/C3"), -1);
    store_trim(s); /* nothing written as far as the store knows */
    assert_int_equal(store_cached(s), 3);
    store_mark_written(s, 1);
    store_trim(s); /* C2 was last sealed in the first, written batch */
    assert_int_equal(store_cached(s), 2);
    store_mark_written(s, 2);
    store_trim(s);
    assert_int_equal(store_cached(s), 1);
    store_free(s);
    state_batch_free(b);
}

#define RACE_KEYS 2000

/* n random changes to the race's keys, mirrored in model[] (-1 absent):
 * one in ten a delete of a present key, else a bump by base + k % spread. */
static void race_changes(struct store *s, int64_t *model, int n, int64_t base,
                         int spread)
{
    char key[32];
    for (int i = 0; i < n; i++) {
        int k = rand() % RACE_KEYS;
        snprintf(key, sizeof(key), "K%d", k);
        if (rand() % 10 == 0 && model[k] >= 0) {
            store_delete(s, 0, key);
            model[k] = -1;
        } else {
            bump(s, key, base + k % spread);
            model[k] = (model[k] < 0 ? 0 : model[k]) + base + k % spread;
        }
    }
}

/* The sealer thread against the processing thread: rounds of changes,
 * each sealed while more changes (and deletes) race the sealer for the same
 * objects. After each batch is committed the database must hold every
 * object exactly as it was at that seal, and objects read back from the
 * warm tier their latest value. Run under ThreadSanitizer too. */
static void test_async_seal_races(void **vstate)
{
    struct dbfix *f = *vstate;
    char err[256];
    struct state *db = f->db;
    struct store *s = store_new(ops, 1, db, RACE_KEYS / 4);
    store_set_warm_bytes(s, 1 << 20);
    assert_int_equal(store_seal_async(s), 0);
    assert_int_equal(store_seal_async(s), -1); /* once */
    static int64_t model[RACE_KEYS], at_seal[RACE_KEYS];
    for (int k = 0; k < RACE_KEYS; k++)
        model[k] = -1; /* absent */
    srand(11);
    char key[32], bkey[48];
    for (int round = 0; round < 40; round++) {
        struct state_batch *b = state_batch_new();
        store_seal(s, b); /* what changed in the race of the last round */
        race_changes(s, model, 1500, 1, 7);
        assert_int_equal(store_seal_step(s, SIZE_MAX), 0);
        assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
        state_batch_free(b);

        /* Seal this round's changes and race the sealer with more. */
        memcpy(at_seal, model, sizeof(model));
        b = state_batch_new();
        store_seal(s, b);
        race_changes(s, model, 800, 100, 1);
        assert_int_equal(store_seal_step(s, SIZE_MAX), 0);
        assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
        state_batch_free(b);
        store_mark_written(s, (uint64_t)(round + 1) * 2);
        /* Most objects go warm: some a few at a time, their decoded
         * objects left to the sealer to free, the rest at once. */
        for (int i = 0; i < 20; i++)
            store_trim_step(s, 16);
        store_trim(s);
        for (int k = 0; k < RACE_KEYS; k++) {
            snprintf(bkey, sizeof(bkey), "counter/K%d", k);
            assert_int_equal(stored_value(db, bkey), at_seal[k]);
        }
    }
    for (int k = 0; k < RACE_KEYS; k++) {
        snprintf(key, sizeof(key), "K%d", k);
        assert_int_equal(value_of(s, key), model[k]);
    }
    store_free(s);
}

struct key_order {
    char last[64];
    size_t n;
    bool sorted;
};

static void check_order(void *arg, const void *key, size_t klen, bool put)
{
    struct key_order *o = arg;
    char k[64];
    assert_true(put && klen < sizeof(k));
    memcpy(k, key, klen);
    k[klen] = 0;
    if (o->n++ > 0 && strcmp(o->last, k) >= 0)
        o->sorted = false;
    strcpy(o->last, k);
}

/* The sealer writes a batch in backend key order (RocksDB then inserts it
 * into the memtable from where the previous key landed, instead of
 * searching). The objects are made dirty in a shuffled order and left
 * alone while sealed. Keys shorter than, exactly and longer than the 16
 * bytes the sort compares first, sharing those 16 bytes, under two
 * processors. */
static void test_sealer_writes_in_key_order(void **vstate)
{
    struct dbfix *f = *vstate;
    /* A second processor whose backend keys sort before the first's
     * although its name is longer: "counter-x/" < "counter/" ('-' < '/'). */
    struct processor_ops counter_x_ops = counter_ops;
    counter_x_ops.name = "counter-x";
    const struct processor_ops *const two_ops[] = {&counter_ops,
                                                   &counter_x_ops};
    struct store *s = store_new(two_ops, 2, f->db, 1000);
    assert_int_equal(store_seal_async(s), 0);
    int order[500];
    for (int i = 0; i < 500; i++)
        order[i] = i;
    srand(5);
    for (int i = 499; i > 0; i--) {
        int j = rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    char key[48];
    for (int i = 0; i < 500; i++) {
        int k = order[i];
        switch (k % 4) {
        case 0: snprintf(key, sizeof(key), "K%d", k); break;
        case 1: snprintf(key, sizeof(key), "meeting-2026-11-%d", k); break;
        case 2: snprintf(key, sizeof(key), "meeting-2026-%03d", k); break;
        default: snprintf(key, sizeof(key), "meeting-2026-11-27/%d/x", k);
        }
        size_t proc = (size_t)(k / 4) % 2;
        struct counter *c = store_get(s, proc, key, true, NULL);
        c->n++;
        store_dirty(s, proc, key);
    }
    struct state_batch *b = state_batch_new();
    store_seal(s, b);
    while (store_seal_step(s, 0) > 0) /* waits without taking any over */
        usleep(1000);
    struct key_order o = {.sorted = true};
    state_batch_each(b, check_order, &o);
    assert_int_equal(o.n, 500);
    assert_true(o.sorted);
    store_free(s);
    state_batch_free(b);
}

static void wait_filter_ready(struct store *s)
{
    for (int i = 0; i < 5000 && !store_filter_ready(s); i++)
        usleep(1000);
    assert_true(store_filter_ready(s));
}

/* Seals everything dirty into b, writes it to the database and tells the
 * store that seal number `seal` is written. */
static void write_seal(struct dbfix *f, struct store *s, struct state_batch *b,
                       uint64_t seal)
{
    char err[256];
    store_flush(s, b);
    assert_int_equal(state_batch_commit(f->db, b, err, sizeof(err)), 0);
    store_mark_written(s, seal);
}

/* The key filter: keys in the database before the store started (found by
 * its scan) and keys written since (added by the puts) are read from the
 * database; keys never written are answered without a read. */
static void test_key_filter(void **vstate)
{
    struct dbfix *f = *vstate;
    char err[256], key[32];
    struct store_stats st;
    struct state_batch *b = state_batch_new();
    struct store *s = store_new(ops, 1, f->db, 1000);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "old%d", i);
        bump(s, key, i + 1);
    }
    store_flush(s, b);
    assert_int_equal(state_batch_commit(f->db, b, err, sizeof(err)), 0);
    store_free(s);

    s = store_new(ops, 1, f->db, 1000);
    assert_int_equal(store_filter_absent(s, 1000), 0);
    assert_int_equal(store_filter_absent(s, 1000), -1); /* once */
    wait_filter_ready(s);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "old%d", i);
        assert_int_equal(value_of(s, key), i + 1);
    }
    store_stats(s, &st);
    assert_int_equal(st.loads, 300);
    assert_int_equal(st.filtered, 0);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "new%d", i);
        assert_int_equal(value_of(s, key), -1);
    }
    store_stats(s, &st);
    /* ~1 % false positives at capacity; far fewer at 60 % of it. */
    assert_true(st.filtered >= 290);
    assert_int_equal(st.loads + st.filtered, 600);
    assert_int_equal(st.absent, st.loads - 300);

    /* Written after the scan: the put added it. */
    bump(s, "new7", 70);
    write_seal(f, s, b, 1);
    store_drop_cache(s);
    assert_int_equal(value_of(s, "new7"), 70);
    store_free(s);
    state_batch_free(b);
}

/* A key read from the database before the filter existed is not put
 * into it again (the scan finds it), but once deleted the scan may miss
 * it: written again, it must be added, or a later read would be answered
 * "absent" and the value lost. */
static void test_key_filter_after_delete(void **vstate)
{
    struct dbfix *f = *vstate;
    char err[256];
    struct state_batch *b = state_batch_new();
    struct store *s = store_new(ops, 1, f->db, 1000);
    bump(s, "k", 1);
    bump(s, "kept", 2);
    store_flush(s, b);
    assert_int_equal(state_batch_commit(f->db, b, err, sizeof(err)), 0);
    store_free(s);

    s = store_new(ops, 1, f->db, 1000);
    assert_int_equal(value_of(s, "k"), 1); /* read from the database */
    assert_int_equal(value_of(s, "kept"), 2);
    store_delete(s, 0, "k");
    write_seal(f, s, b, 1);
    assert_int_equal(store_filter_absent(s, 1000), 0);
    wait_filter_ready(s); /* its scan saw "kept", not "k" */

    bump(s, "k", 5); /* the same cache entry, written again */
    bump(s, "kept", 1);
    write_seal(f, s, b, 2);
    store_drop_cache(s);
    assert_int_equal(value_of(s, "k"), 5);
    assert_int_equal(value_of(s, "kept"), 3);
    struct store_stats st;
    store_stats(s, &st);
    assert_int_equal(st.filtered, 0);
    store_free(s);
    state_batch_free(b);
}

static void test_corrupt_state_is_quarantined(void **vstate)
{
    struct dbfix *f = *vstate;
    char err[256];
    struct state *db = f->db;
    struct state_batch *b = state_batch_new();
    state_batch_put(b, "counter/C9", 10, "\x07garbage", 8);
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
    struct store *s = store_new(ops, 1, db, 100);
    bool created = false;
    struct counter *c = store_get(s, 0, "C9", true, &created);
    assert_non_null(c);
    assert_true(created);
    assert_int_equal(c->n, 0);
    void *val = NULL;
    size_t len = 0;
    assert_int_equal(state_get(db, "quarantine/counter/C9", 21, &val, &len,
                               err, sizeof(err)),
                     1);
    assert_int_equal(len, 8);
    assert_memory_equal(val, "\x07garbage", 8);
    free(val);
    store_free(s);
    state_batch_free(b);
}

static struct alert last;
static int captured;
static int capture(void *arg, const struct alert *a)
{
    (void)arg;
    last = *a;
    captured++;
    return 0;
}

static void test_ctx_stamps_provenance_and_id(void **unused)
{
    (void)unused;
    struct store *s = store_new(ops, 1, NULL, 100);
    struct proc_ctx ctx;
    ctx_init(&ctx, s, capture, NULL);
    struct event ev = {.kind = EVENT_IOT,
                       .event_id = "e1",
                       .customer_id = "C1",
                       .event_time = 1000,
                       .src = {"ops.iot-alerts", 3, 99}};
    ctx_begin(&ctx, 0, &ev);
    struct alert a = {.kind = ALERT_COACHING, .customer_id = "C1",
                      .dedup_key = "rule-x"};
    assert_int_equal(ctx_emit(&ctx, &a), 0);
    assert_int_equal(captured, 1);
    assert_string_equal(last.trigger_event_id, "e1");
    assert_int_equal(last.src.partition, 3);
    assert_int_equal(last.src.offset, 99);
    assert_int_equal(last.event_time, 1000);
    assert_int_equal(strlen(last.alert_id), 32);
    char first[33];
    memcpy(first, last.alert_id, 33);
    /* Same input, same id; another discriminator, another id. */
    struct alert b = {.kind = ALERT_COACHING, .customer_id = "C1",
                      .dedup_key = "rule-x"};
    ctx_emit(&ctx, &b);
    assert_string_equal(last.alert_id, first);
    struct alert d = {.kind = ALERT_COACHING, .customer_id = "C1",
                      .dedup_key = "rule-y"};
    ctx_emit(&ctx, &d);
    assert_string_not_equal(last.alert_id, first);

    ctx_fail(&ctx, "bad %s", "thing");
    assert_string_equal(ctx_failure(&ctx), "bad thing");
    ctx_begin(&ctx, 0, &ev);
    assert_null(ctx_failure(&ctx));
    store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_back_once_per_flush),
        cmocka_unit_test(test_absent_and_created),
        cmocka_unit_test(test_absence_is_remembered),
        cmocka_unit_test(test_only_clean_objects_are_evicted),
        cmocka_unit_test(test_dirty_names_its_object),
        cmocka_unit_test(test_delete_and_keys),
        cmocka_unit_test_setup_teardown(test_rocksdb_commit_and_reopen, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_delete_not_undone_before_the_write, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_seal_keeps_the_state_at_the_seal, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_async_seal_races, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_sealer_writes_in_key_order,
                                        db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_key_filter, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_key_filter_after_delete, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_warm_tier, db_setup,
                                        db_teardown),
        cmocka_unit_test(test_sealed_bytes),
        cmocka_unit_test(test_trim_in_steps),
        cmocka_unit_test_setup_teardown(test_corrupt_state_is_quarantined, db_setup,
                                        db_teardown),
        cmocka_unit_test(test_ctx_stamps_provenance_and_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
