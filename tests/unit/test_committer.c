/*
 * test_committer.c - the commit thread against a real RocksDB in a temp
 * dir: batches are written in submission order with their offsets, the
 * loop can wait for progress, and a failed write is reported and stops
 * the thread instead of letting a younger batch overtake it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "committer.h"
#include "state.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char dir[64];
    struct state *st;
    char err[512];
};

static struct state_options opts_for(const struct fixture *f, bool ro)
{
    return (struct state_options){.dir = f->dir,
                                  .block_cache_bytes = 8 << 20,
                                  .write_buffer_bytes = 4 << 20,
                                  .read_only = ro};
}

static int setup(void **vstate)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (tmpdir_make(f->dir, sizeof(f->dir), "test_committer") != 0) {
        free(f);
        return -1;
    }
    struct state_options o = opts_for(f, false);
    if (state_open(&o, &f->st, f->err, sizeof(f->err)) != 0) {
        free(f);
        return -1;
    }
    *vstate = f;
    return 0;
}

static int teardown(void **vstate)
{
    struct fixture *f = *vstate;
    state_close(f->st);
    tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* Waits (bounded) until `want` batches are written; returns the count. */
static uint64_t wait_written(struct committer *c, uint64_t want)
{
    char err[512];
    uint64_t w = 0;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(committer_written(c, &w, err, sizeof(err)), 0);
        if (w >= want)
            break;
        committer_wait(c, w, 50);
    }
    return w;
}

static void test_batches_are_written_in_order(void **vstate)
{
    struct fixture *f = *vstate;
    struct committer *c = NULL;
    assert_int_equal(committer_start(f->st, 4, &c, f->err, sizeof(f->err)), 0);

    /* Four batches overwrite the same key and move one offset forward:
     * only submission order leaves "v3" beside offset 400. */
    struct state_batch *b[4];
    for (int i = 0; i < 4; i++) {
        char v[8];
        snprintf(v, sizeof(v), "v%d", i);
        b[i] = state_batch_new();
        state_batch_put(b[i], "k", 1, v, strlen(v));
        state_batch_offset(b[i], "t", 0, 100 * (i + 1));
        committer_submit(c, b[i]);
    }
    assert_int_equal(wait_written(c, 4), 4);
    committer_stop(c);

    void *val = NULL;
    size_t vlen = 0;
    assert_int_equal(state_get(f->st, "k", 1, &val, &vlen, f->err,
                               sizeof(f->err)), 1);
    assert_int_equal(vlen, 2);
    assert_memory_equal(val, "v3", 2);
    free(val);
    int64_t next = 0;
    assert_int_equal(state_offset_get(f->st, "t", 0, &next, f->err,
                                      sizeof(f->err)), 1);
    assert_int_equal(next, 400);
    for (int i = 0; i < 4; i++)
        state_batch_free(b[i]);
}

static void test_more_batches_than_depth_over_time(void **vstate)
{
    struct fixture *f = *vstate;
    struct committer *c = NULL;
    assert_int_equal(committer_start(f->st, 2, &c, f->err, sizeof(f->err)), 0);
    /* The ring wraps: 50 batches through a depth of 2. */
    for (int i = 0; i < 50; i++) {
        struct state_batch *b = state_batch_new();
        char k[16];
        snprintf(k, sizeof(k), "key%02d", i);
        state_batch_put(b, k, strlen(k), "x", 1);
        committer_submit(c, b);
        assert_int_equal(wait_written(c, (uint64_t)i + 1), (uint64_t)i + 1);
        state_batch_free(b);
    }
    committer_stop(c);
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof(k), "key%02d", i);
        void *val = NULL;
        size_t vlen = 0;
        assert_int_equal(state_get(f->st, k, strlen(k), &val, &vlen, f->err,
                                   sizeof(f->err)), 1);
        free(val);
    }
}

static void test_failed_write_is_reported_and_stops(void **vstate)
{
    struct fixture *f = *vstate;
    /* A read-only DB refuses every write: a real failure path. */
    state_close(f->st);
    struct state_options o = opts_for(f, true);
    assert_int_equal(state_open(&o, &f->st, f->err, sizeof(f->err)), 0);
    struct committer *c = NULL;
    assert_int_equal(committer_start(f->st, 4, &c, f->err, sizeof(f->err)), 0);
    struct state_batch *b1 = state_batch_new(), *b2 = state_batch_new();
    state_batch_put(b1, "a", 1, "1", 1);
    state_batch_put(b2, "b", 1, "2", 1);
    committer_submit(c, b1);
    committer_submit(c, b2);

    char err[512] = "";
    uint64_t w = 0;
    int rc = 0;
    for (int i = 0; i < 200 && rc == 0; i++) {
        rc = committer_written(c, &w, err, sizeof(err));
        if (rc == 0)
            committer_wait(c, w, 50);
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "read-only"));
    committer_stop(c); /* b2 was never attempted; still ours to free */
    state_batch_free(b1);
    state_batch_free(b2);
}

static void test_stop_without_work(void **vstate)
{
    struct fixture *f = *vstate;
    struct committer *c = NULL;
    assert_int_equal(committer_start(f->st, 1, &c, f->err, sizeof(f->err)), 0);
    uint64_t w = 99;
    assert_int_equal(committer_written(c, &w, f->err, sizeof(f->err)), 0);
    assert_int_equal(w, 0);
    committer_stop(c);
    committer_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches_are_written_in_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_more_batches_than_depth_over_time, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_failed_write_is_reported_and_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_without_work, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
