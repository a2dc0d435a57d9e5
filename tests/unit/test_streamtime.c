/*
 * test_streamtime.c - the per-partition stream time over the real store
 * and context, with a probe processor's state objects: it only moves
 * forward, refuses partitions not from Kafka, is written to the state
 * only when later than what is there, leaves and comes back with its
 * partition, and lives under exactly ctx_partition_key()'s key (the state
 * format of the processors that use it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "ctx.h"
#include "store.h"
#include "streamtime.h"

/* The probe's state objects: a stream time under "~p...", else a plain
 * object that is not one. */
struct probe_obj {
    bool wm;
    int64_t t; /* ms */
};

static void *probe_new(const char *key)
{
    struct probe_obj *o = calloc(1, sizeof(*o));
    assert_non_null(o);
    o->wm = strncmp(key, "~p", 2) == 0;
    o->t = INT64_MIN;
    return o;
}

static void probe_encode(const void *st, struct buf *out)
{
    const struct probe_obj *o = st;
    buf_put_u8(out, o->wm);
    buf_put_i64(out, o->t);
}

static int probe_decode(const char *key, const uint8_t *d, size_t n, void **st)
{
    struct probe_obj *o = probe_new(key);
    struct buf_reader r;
    buf_reader_init(&r, d, n);
    o->wm = buf_get_u8(&r);
    o->t = buf_get_i64(&r);
    *st = o;
    return 0;
}

static int64_t *probe_field(void *obj)
{
    struct probe_obj *o = obj;
    return o->wm ? &o->t : NULL;
}

static const struct processor_ops probe = {
    .name = "probe",
    .state_new = probe_new,
    .state_encode = probe_encode,
    .state_decode = probe_decode,
    .state_free = free,
};

struct fixture {
    const struct processor_ops *ops[1];
    struct store *store;
    struct proc_ctx ctx;
    struct streamtime st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->ops[0] = &probe;
    f->store = store_new(f->ops, 1, NULL, 1000);
    ctx_init(&f->ctx, f->store, NULL, NULL);
    ctx_begin(&f->ctx, 0, NULL);
    streamtime_init(&f->st, "test", probe_field);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    streamtime_free(&f->st);
    streamtime_free(&f->st); /* twice: left empty */
    streamtime_free(NULL);
    ctx_destroy(&f->ctx);
    store_free(f->store);
    free(f);
    return 0;
}

/* The time the state holds under key, read back through the backend (the
 * cache dropped), or INT64_MAX without an object. */
static int64_t stored(struct fixture *f, const char *key)
{
    store_flush(f->store, NULL);
    store_drop_cache(f->store);
    const struct probe_obj *o = ctx_state_find(&f->ctx, key);
    return o ? o->t : INT64_MAX;
}

static void test_advance(void **state)
{
    struct fixture *f = *state;
    struct streamtime *st = &f->st;
    assert_int_equal(streamtime_of(st, 0), INT64_MIN);
    assert_int_equal(streamtime_max(st), INT64_MIN);
    assert_true(streamtime_advance(st, 2, 100));
    assert_false(streamtime_advance(st, 2, 100)); /* not later */
    assert_false(streamtime_advance(st, 2, 99));
    assert_true(streamtime_advance(st, 2, 101));
    assert_int_equal(streamtime_of(st, 2), 101);
    assert_int_equal(streamtime_of(st, 0), INT64_MIN); /* room made, no event */
    assert_int_equal(streamtime_of(st, 7), INT64_MIN); /* never held */
    assert_true(streamtime_advance(st, 0, 50));
    assert_int_equal(streamtime_max(st), 101);
    /* not from Kafka, or absurd: refused, nothing grows */
    assert_false(streamtime_advance(st, -1, 500));
    assert_false(streamtime_advance(st, STREAMTIME_MAX_PARTITION + 1, 500));
    assert_int_equal(streamtime_of(st, -1), INT64_MIN);
    assert_int_equal(st->n, 3);
    assert_true(streamtime_advance(st, STREAMTIME_MAX_PARTITION, 1));
    assert_int_equal(st->n, (size_t)STREAMTIME_MAX_PARTITION + 1);
    assert_int_equal(streamtime_max(st), 101);
}

static int key_calls;

/* As the daemon's, with the changelog: "~p<partition>.<salt>". */
static int salted_key(void *arg, int32_t partition, char *out, size_t n)
{
    (void)arg;
    key_calls++;
    int w = snprintf(out, n, "~p%d.%u", (int)partition, 17u);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

static int no_key(void *arg, int32_t partition, char *out, size_t n)
{
    (void)arg;
    (void)partition;
    (void)out;
    (void)n;
    return -1;
}

/* The keys are ctx_partition_key()'s, byte for byte: state written before
 * this module existed is found again. */
static void test_key_format(void **state)
{
    struct fixture *f = *state;
    const char *k = streamtime_key(&f->st, &f->ctx, 3);
    assert_string_equal(k, "~p3"); /* no changelog: no salt */
    assert_ptr_equal(streamtime_key(&f->st, &f->ctx, 3), k); /* kept */
    assert_null(streamtime_key(&f->st, &f->ctx, -1));
    assert_null(streamtime_key(&f->st, &f->ctx, STREAMTIME_MAX_PARTITION + 1));

    streamtime_free(&f->st);
    streamtime_init(&f->st, "test", probe_field);
    f->ctx.partition_key = salted_key;
    key_calls = 0;
    assert_string_equal(streamtime_key(&f->st, &f->ctx, 12), "~p12.17");
    assert_string_equal(streamtime_key(&f->st, &f->ctx, 12), "~p12.17");
    assert_int_equal(key_calls, 1); /* computed once per partition */
    assert_true(streamtime_advance(&f->st, 12, 5000));
    streamtime_save(&f->st, &f->ctx, 12);
    assert_int_equal(stored(f, "~p12.17"), 5000);
    assert_int_equal(stored(f, "~p12"), INT64_MAX);

    /* no key fits: nothing written, the time in memory still moves */
    streamtime_free(&f->st);
    streamtime_init(&f->st, "test", probe_field);
    f->ctx.partition_key = no_key;
    assert_null(streamtime_key(&f->st, &f->ctx, 4));
    assert_true(streamtime_advance(&f->st, 4, 10));
    streamtime_save(&f->st, &f->ctx, 4);
    assert_int_equal(streamtime_of(&f->st, 4), 10);
    f->ctx.partition_key = NULL;
    assert_int_equal(stored(f, "~p4"), INT64_MAX);
}

/* Written when later than the object's time only, and then marked dirty
 * (flushed); never lowered. */
static void test_save(void **state)
{
    struct fixture *f = *state;
    struct streamtime *st = &f->st;
    assert_true(streamtime_advance(st, 1, 100));
    streamtime_save(st, &f->ctx, 1);
    assert_int_equal(store_flush(f->store, NULL), 1);
    streamtime_save(st, &f->ctx, 1); /* nothing new */
    assert_int_equal(store_flush(f->store, NULL), 0);
    assert_int_equal(stored(f, "~p1"), 100);

    /* a later time already in the state (another owner's) stays */
    struct probe_obj *o = ctx_state(&f->ctx, "~p1", NULL);
    o->t = 300;
    ctx_state_dirty(&f->ctx, "~p1");
    assert_true(streamtime_advance(st, 1, 200));
    streamtime_save(st, &f->ctx, 1);
    assert_int_equal(stored(f, "~p1"), 300);
}

/* A leaving partition forgets its time, the state keeps it; arriving, it
 * comes back from the state (after a restart too); an arriving partition
 * without an object starts unknown and creates none; an object that is
 * not a stream time is left alone. */
static void test_follow(void **state)
{
    struct fixture *f = *state;
    struct streamtime *st = &f->st;
    const int32_t p1[] = {1}, p013[] = {0, 1, 3}, bad[] = {-1};
    assert_true(streamtime_advance(st, 1, 100));
    streamtime_save(st, &f->ctx, 1);
    streamtime_follow(st, &f->ctx, p1, 1, false);
    assert_int_equal(streamtime_of(st, 1), INT64_MIN);
    assert_int_equal(stored(f, "~p1"), 100);
    streamtime_follow(st, &f->ctx, p1, 1, true);
    assert_int_equal(streamtime_of(st, 1), 100);

    /* a restart: a new table over the same state */
    streamtime_free(st);
    streamtime_init(st, "test", probe_field);
    f->ctx.partition_key = salted_key;
    struct probe_obj *o = ctx_state(&f->ctx, "~p3.17", NULL);
    o->t = 700;
    o->wm = false; /* not a stream time (as the processor decoded it) */
    ctx_state_dirty(&f->ctx, "~p3.17");
    f->ctx.partition_key = NULL;
    streamtime_follow(st, &f->ctx, p013, 3, true);
    streamtime_follow(st, &f->ctx, bad, 1, true); /* ignored */
    assert_int_equal(streamtime_of(st, 0), INT64_MIN);
    assert_int_equal(streamtime_of(st, 1), 100);
    assert_int_equal(streamtime_of(st, 3), INT64_MIN); /* "~p3": none */
    assert_int_equal(stored(f, "~p0"), INT64_MAX);    /* none made */
    assert_int_equal(streamtime_max(st), 100);

    streamtime_free(st);
    streamtime_init(st, "test", probe_field);
    f->ctx.partition_key = salted_key;
    streamtime_follow(st, &f->ctx, p013, 3, true);
    assert_int_equal(streamtime_of(st, 3), INT64_MIN); /* field: NULL */
    assert_int_equal(streamtime_of(st, 1), INT64_MIN); /* "~p1.17": none */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
