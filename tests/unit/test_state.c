/*
 * test_state.c - the RocksDB adapter against a real DB in a temp dir:
 * batches, atomic commits, offsets, restart, scans, locking, read-only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "state.h"
#include "tmpdir.h"

#include <pthread.h>
#include <rocksdb/c.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    struct state_options opts;
    struct state *st;
    char err[512];
};

static int setup(void **vstate)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (tmpdir_make(f->dir, sizeof(f->dir), "test_state") != 0) {
        free(f);
        return -1;
    }
    f->opts.dir = f->dir;
    f->opts.block_cache_bytes = 8 << 20;
    f->opts.write_buffer_bytes = 4 << 20;
    f->opts.sync = false;
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

static struct state *open_ok(struct fixture *f)
{
    struct state *st = NULL;
    int rc = state_open(&f->opts, &st, f->err, sizeof(f->err));
    if (rc != 0)
        fail_msg("state_open: %s", f->err);
    assert_non_null(st);
    return st;
}

static void assert_value(struct state *st, const char *key, const char *want)
{
    void *val = (void *)1;
    size_t vlen = 99;
    char err[256];
    int rc = state_get(st, key, strlen(key), &val, &vlen, err, sizeof(err));
    if (!want) {
        assert_int_equal(rc, 0);
        assert_null(val);
        return;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(vlen, strlen(want));
    assert_memory_equal(val, want, vlen);
    free(val);
}

static void put_str(struct state_batch *b, const char *k, const char *v)
{
    state_batch_put(b, k, strlen(k), v, strlen(v));
}

static void commit_ok(struct fixture *f, struct state_batch *b)
{
    if (state_batch_commit(f->st, b, f->err, sizeof(f->err)) != 0)
        fail_msg("commit: %s", f->err);
    assert_int_equal(state_batch_count(b), 0);
}

static void test_put_get_delete(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();

    put_str(b, "cust/1", "alpha");
    put_str(b, "cust/2", "beta");
    state_batch_put(b, "empty", 5, "", 0);
    assert_int_equal(state_batch_count(b), 3);
    /* Nothing is visible before the commit. */
    assert_value(f->st, "cust/1", NULL);
    assert_value(f->st, "empty", NULL);
    commit_ok(f, b);
    assert_value(f->st, "cust/1", "alpha");
    assert_value(f->st, "cust/2", "beta");
    assert_value(f->st, "empty", "");

    put_str(b, "cust/1", "alpha2");
    state_batch_delete(b, "cust/2", 6);
    assert_int_equal(state_batch_count(b), 2);
    assert_value(f->st, "cust/2", "beta");
    commit_ok(f, b);
    assert_value(f->st, "cust/1", "alpha2");
    assert_value(f->st, "cust/2", NULL);
    assert_value(f->st, "nope", NULL);

    /* An empty commit is a no-op and succeeds. */
    commit_ok(f, b);
    state_batch_free(b);
    state_batch_free(NULL);
}

static void test_commit_atomic_with_offsets(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    int64_t off = -1;

    put_str(b, "k", "v");
    state_batch_offset(b, "sales.transcripts", 3, 100);
    assert_int_equal(state_offset_get(f->st, "sales.transcripts", 3, &off,
                                      f->err, sizeof(f->err)),
                     0);
    assert_value(f->st, "k", NULL);
    commit_ok(f, b);
    assert_value(f->st, "k", "v");
    assert_int_equal(state_offset_get(f->st, "sales.transcripts", 3, &off,
                                      f->err, sizeof(f->err)),
                     1);
    assert_int_equal(off, 100);
    state_batch_free(b);
}

static void count_each(void *arg, const void *key, size_t klen, bool put)
{
    (void)key;
    (void)klen;
    (void)put;
    (*(int *)arg)++;
}

/* Freed batches are kept for reuse: whatever one held when it was freed,
 * written or not, a new batch starts empty. */
static void test_batch_reuse_starts_empty(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *empty = state_batch_new();
    size_t empty_bytes = state_batch_bytes(empty);
    state_batch_free(empty);

    for (int round = 0; round < 4; round++) {
        /* Two at a time, so both kept batches are reused. */
        struct state_batch *a = state_batch_new(), *b = state_batch_new();
        char key[32];
        for (int i = 0; i < 1000; i++) {
            snprintf(key, sizeof(key), "r%d/%d", round, i);
            put_str(a, key, "a value long enough to grow the batch");
            put_str(b, key, "b");
        }
        state_batch_delete(b, "gone", 4);
        state_batch_offset(a, "t.a", 0, 10 + round);
        state_batch_offset(b, "t.b", 1, 20 + round);
        state_batch_watermark(b, 2, 1000 + round);
        if (round % 2)
            commit_ok(f, a); /* written, then freed */
        state_batch_free(a); /* even rounds: freed unwritten (a replay) */
        state_batch_free(b);

        struct state_batch *c = state_batch_new(), *d = state_batch_new();
        struct state_batch *both[2] = {c, d};
        for (int k = 0; k < 2; k++) {
            int n = 0;
            assert_int_equal(state_batch_count(both[k]), 0);
            assert_int_equal(state_batch_bytes(both[k]), empty_bytes);
            state_batch_each(both[k], count_each, &n);
            assert_int_equal(n, 0);
        }
        /* Nothing of b's offsets or watermark rides along. */
        put_str(c, "fresh", "v");
        put_str(d, "fresh", "v");
        commit_ok(f, c);
        commit_ok(f, d);
        int64_t off = -1;
        assert_int_equal(state_offset_get(f->st, "t.b", 1, &off, f->err,
                                          sizeof(f->err)),
                         0);
        assert_int_equal(state_watermark_get(f->st, 2, &off, f->err,
                                             sizeof(f->err)),
                         0);
        assert_value(f->st, "fresh", "v");
        state_batch_free(c);
        state_batch_free(d);
    }
    int64_t off = -1;
    assert_int_equal(state_offset_get(f->st, "t.a", 0, &off, f->err,
                                      sizeof(f->err)),
                     1);
    assert_int_equal(off, 13);
    assert_value(f->st, "r3/999", "a value long enough to grow the batch");
    assert_value(f->st, "r2/0", NULL);
}

static void test_offsets(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    int64_t off = -1;

    /* Later calls for the same topic/partition replace the earlier one. */
    state_batch_offset(b, "t.a", 0, 10);
    state_batch_offset(b, "t.a", 1, 20);
    state_batch_offset(b, "t.b", 0, 30);
    state_batch_offset(b, "t.a", 0, 11);
    assert_int_equal(state_batch_count(b), 0); /* offsets are not counted */
    commit_ok(f, b);

    assert_int_equal(state_offset_get(f->st, "t.a", 0, &off, f->err,
                                      sizeof(f->err)),
                     1);
    assert_int_equal(off, 11);
    assert_int_equal(state_offset_get(f->st, "t.a", 1, &off, f->err,
                                      sizeof(f->err)),
                     1);
    assert_int_equal(off, 20);
    assert_int_equal(state_offset_get(f->st, "t.b", 0, &off, f->err,
                                      sizeof(f->err)),
                     1);
    assert_int_equal(off, 30);
    /* Absent: other partition, other topic, a topic that is a prefix. */
    off = -1;
    assert_int_equal(state_offset_get(f->st, "t.a", 2, &off, f->err,
                                      sizeof(f->err)),
                     0);
    assert_int_equal(state_offset_get(f->st, "t.c", 0, &off, f->err,
                                      sizeof(f->err)),
                     0);
    assert_int_equal(state_offset_get(f->st, "t.", 0, &off, f->err,
                                      sizeof(f->err)),
                     0);
    assert_int_equal(off, -1);

    /* A later batch overwrites; big values survive the 8-byte encoding. */
    state_batch_offset(b, "t.a", 1, (int64_t)1 << 40);
    commit_ok(f, b);
    assert_int_equal(state_offset_get(f->st, "t.a", 1, &off, f->err,
                                      sizeof(f->err)),
                     1);
    assert_int_equal(off, (int64_t)1 << 40);
    assert_int_equal(state_offset_get(f->st, "t.a", 0, &off, f->err,
                                      sizeof(f->err)),
                     1);
    assert_int_equal(off, 11);
    state_batch_free(b);
}

struct offset_seen {
    char topic[32];
    int32_t partition;
    int64_t next;
};

struct offset_list {
    struct offset_seen items[8];
    int n;
};

static int collect_offset(void *arg, const char *topic, int32_t partition,
                          int64_t next_offset)
{
    struct offset_list *l = arg;
    assert_true(l->n < 8);
    snprintf(l->items[l->n].topic, sizeof(l->items[l->n].topic), "%s", topic);
    l->items[l->n].partition = partition;
    l->items[l->n].next = next_offset;
    l->n++;
    return 0;
}

struct key_list {
    char keys[16][32];
    char vals[16][32];
    int n;
    int stop_after; /* 0: never */
};

static int collect_key(void *arg, const void *key, size_t klen,
                       const void *val, size_t vlen)
{
    struct key_list *l = arg;
    assert_true(l->n < 16);
    assert_true(klen < 32 && vlen < 32);
    memcpy(l->keys[l->n], key, klen);
    l->keys[l->n][klen] = '\0';
    memcpy(l->vals[l->n], val, vlen);
    l->vals[l->n][vlen] = '\0';
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

static void test_offset_scan_and_isolation(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    state_batch_offset(b, "b.topic", 2, 7);
    state_batch_offset(b, "a.topic", 300, 5);
    state_batch_offset(b, "a.topic", 1, 9);
    put_str(b, "x", "1");
    commit_ok(f, b);

    struct offset_list ol = {0};
    assert_int_equal(state_offset_scan(f->st, collect_offset, &ol, f->err,
                                       sizeof(f->err)),
                     0);
    assert_int_equal(ol.n, 3);
    /* Sorted by topic, then partition numerically (big-endian keys). */
    assert_string_equal(ol.items[0].topic, "a.topic");
    assert_int_equal(ol.items[0].partition, 1);
    assert_int_equal(ol.items[0].next, 9);
    assert_string_equal(ol.items[1].topic, "a.topic");
    assert_int_equal(ol.items[1].partition, 300);
    assert_int_equal(ol.items[1].next, 5);
    assert_string_equal(ol.items[2].topic, "b.topic");
    assert_int_equal(ol.items[2].partition, 2);
    assert_int_equal(ol.items[2].next, 7);

    /* A full caller scan sees the caller key only, never offsets. */
    struct key_list kl = {0};
    assert_int_equal(state_scan(f->st, "", 0, collect_key, &kl, f->err,
                                sizeof(f->err)),
                     0);
    assert_int_equal(kl.n, 1);
    assert_string_equal(kl.keys[0], "x");
    /* Nor through a reserved prefix or a reserved get. */
    kl.n = 0;
    assert_int_equal(state_scan(f->st, "\x00off/", 5, collect_key, &kl,
                                f->err, sizeof(f->err)),
                     0);
    assert_int_equal(kl.n, 0);
    void *val = NULL;
    size_t vlen = 0;
    assert_int_equal(state_get(f->st, "\x00off/b.topic\x00\x00\x00\x00\x02",
                               16, &val, &vlen, f->err, sizeof(f->err)),
                     0);
    state_batch_free(b);
}

static void test_reopen_keeps_state(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    put_str(b, "cust/9", "graph");
    state_batch_offset(b, "ops.iot-alerts", 4, 12345);
    commit_ok(f, b);
    put_str(b, "cust/9", "graph2");
    put_str(b, "cust/10", "other");
    state_batch_offset(b, "ops.iot-alerts", 4, 12400);
    commit_ok(f, b);
    state_batch_free(b);
    state_close(f->st);
    f->st = NULL;

    f->st = open_ok(f);
    assert_value(f->st, "cust/9", "graph2");
    assert_value(f->st, "cust/10", "other");
    int64_t off = 0;
    assert_int_equal(state_offset_get(f->st, "ops.iot-alerts", 4, &off,
                                      f->err, sizeof(f->err)),
                     1);
    assert_int_equal(off, 12400);
}

static int count_cb(void *arg, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    ++*(int *)arg;
    return 0;
}

static bool mine_none(void *arg, const void *key, size_t klen)
{
    (void)arg;
    (void)key;
    (void)klen;
    return false;
}

/* A partition group's watermark is written in the batch's one write with
 * its offsets, survives a reopen, is not a caller key, and is wiped with
 * the partition. */
static void test_watermark(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    int64_t wm = -1;
    assert_int_equal(state_watermark_get(f->st, 2, &wm, f->err,
                                         sizeof(f->err)), 0);
    state_batch_offset(b, "sales.doc-annotations", 2, 10);
    state_batch_watermark(b, 2, 1793700000000LL);
    state_batch_watermark(b, 2, 1793700000500LL); /* replaces */
    state_batch_watermark(b, 3, 7);
    /* pending: nothing stored yet */
    assert_int_equal(state_watermark_get(f->st, 2, &wm, f->err,
                                         sizeof(f->err)), 0);
    commit_ok(f, b);
    assert_int_equal(state_batch_count(b), 0);
    commit_ok(f, b); /* cleared: writes nothing again */
    state_batch_free(b);
    state_close(f->st);
    f->st = open_ok(f);
    assert_int_equal(state_watermark_get(f->st, 2, &wm, f->err,
                                         sizeof(f->err)), 1);
    assert_int_equal(wm, 1793700000500LL);
    assert_int_equal(state_watermark_get(f->st, 3, &wm, f->err,
                                         sizeof(f->err)), 1);
    assert_int_equal(wm, 7);
    int n = 0;
    assert_int_equal(state_scan(f->st, NULL, 0, count_cb, &n, f->err,
                                sizeof(f->err)), 0);
    assert_int_equal(n, 0); /* not a caller key */
    assert_int_equal(state_wipe_partition(f->st, 2, mine_none, NULL, f->err,
                                          sizeof(f->err)), 0);
    assert_int_equal(state_watermark_get(f->st, 2, &wm, f->err,
                                         sizeof(f->err)), 0);
    assert_int_equal(state_watermark_get(f->st, 3, &wm, f->err,
                                         sizeof(f->err)), 1);
}

static void test_scan_prefix(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    put_str(b, "c/2/b", "v2b");
    put_str(b, "c/1/x", "v1x");
    put_str(b, "c/2/a", "v2a");
    put_str(b, "c/2", "v2");
    put_str(b, "c/3/a", "v3a");
    put_str(b, "c/2/c", "v2c");
    put_str(b, "d/2/a", "d");
    commit_ok(f, b);
    state_batch_delete(b, "c/2/c", 5);
    commit_ok(f, b);

    struct key_list kl = {0};
    assert_int_equal(state_scan(f->st, "c/2/", 4, collect_key, &kl, f->err,
                                sizeof(f->err)),
                     0);
    assert_int_equal(kl.n, 2);
    assert_string_equal(kl.keys[0], "c/2/a");
    assert_string_equal(kl.vals[0], "v2a");
    assert_string_equal(kl.keys[1], "c/2/b");
    assert_string_equal(kl.vals[1], "v2b");

    memset(&kl, 0, sizeof(kl));
    assert_int_equal(state_scan(f->st, "c/2", 3, collect_key, &kl, f->err,
                                sizeof(f->err)),
                     0);
    assert_int_equal(kl.n, 3);
    assert_string_equal(kl.keys[0], "c/2");
    assert_string_equal(kl.keys[2], "c/2/b");

    /* fn returning non-zero stops the scan. */
    memset(&kl, 0, sizeof(kl));
    kl.stop_after = 2;
    assert_int_equal(state_scan(f->st, "c/", 2, collect_key, &kl, f->err,
                                sizeof(f->err)),
                     0);
    assert_int_equal(kl.n, 2);
    assert_string_equal(kl.keys[0], "c/1/x");
    assert_string_equal(kl.keys[1], "c/2");

    /* No match. */
    memset(&kl, 0, sizeof(kl));
    assert_int_equal(state_scan(f->st, "zz", 2, collect_key, &kl, f->err,
                                sizeof(f->err)),
                     0);
    assert_int_equal(kl.n, 0);
    state_batch_free(b);
}

static void test_scan_prefix_ff(void **vstate)
{
    /* A prefix ending in 0xff has no simple successor: the bound must still
     * include all its keys and exclude the next ones. */
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    state_batch_put(b, "a\xff\x01", 3, "1", 1);
    state_batch_put(b, "a\xff\xff", 3, "2", 1);
    state_batch_put(b, "b", 1, "3", 1);
    state_batch_put(b, "\xff\xff", 2, "4", 1);
    commit_ok(f, b);

    struct key_list kl = {0};
    assert_int_equal(state_scan(f->st, "a\xff", 2, collect_key, &kl, f->err,
                                sizeof(f->err)),
                     0);
    assert_int_equal(kl.n, 2);
    assert_string_equal(kl.vals[0], "1");
    assert_string_equal(kl.vals[1], "2");
    memset(&kl, 0, sizeof(kl));
    assert_int_equal(state_scan(f->st, "\xff", 1, collect_key, &kl, f->err,
                                sizeof(f->err)),
                     0);
    assert_int_equal(kl.n, 1);
    assert_string_equal(kl.vals[0], "4");
    state_batch_free(b);
}

static void test_read_only(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    put_str(b, "seen", "yes");
    state_batch_offset(b, "t", 0, 42);
    commit_ok(f, b);

    /* Beside the writer, as `inspect` runs beside the daemon. */
    struct state_options ro = f->opts;
    ro.read_only = true;
    struct state *rst = NULL;
    if (state_open(&ro, &rst, f->err, sizeof(f->err)) != 0)
        fail_msg("read-only open: %s", f->err);
    assert_value(rst, "seen", "yes");
    int64_t off = 0;
    assert_int_equal(state_offset_get(rst, "t", 0, &off, f->err,
                                      sizeof(f->err)),
                     1);
    assert_int_equal(off, 42);
    put_str(b, "seen", "no");
    assert_int_equal(state_batch_commit(rst, b, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "read-only"));
    assert_int_equal(state_batch_count(b), 1); /* left for a retry */
    state_close(rst);
    state_batch_free(b);

    /* A read-only open never creates the dir. */
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/missing", f->dir);
    ro.dir = missing;
    rst = NULL;
    assert_int_equal(state_open(&ro, &rst, f->err, sizeof(f->err)), -1);
    assert_null(rst);
    assert_non_null(strstr(f->err, missing));
    struct stat sb;
    assert_int_not_equal(stat(missing, &sb), 0);
}

static void test_lock_same_process(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state *st2 = NULL;
    f->err[0] = '\0';
    assert_int_equal(state_open(&f->opts, &st2, f->err, sizeof(f->err)), -1);
    assert_null(st2);
    assert_non_null(strstr(f->err, f->dir));
    assert_non_null(strstr(f->err, "lock"));
}

static char self_path[4096]; /* this executable, for re-running it */

/* Run as `test_state --try-open DIR` by test_lock_other_process: a fresh
 * process (not just a fork, which would inherit RocksDB's in-process lock
 * table) opening a dir another process holds. Exit 0 when the open fails
 * with the operator-facing lock message. */
static int try_open_child(const char *dir)
{
    struct state_options o = {.dir = dir,
                              .block_cache_bytes = 1 << 20,
                              .write_buffer_bytes = 1 << 20};
    struct state *st = NULL;
    char err[512] = "";
    int rc = state_open(&o, &st, err, sizeof(err));
    int ok = rc == -1 && !st &&
             strstr(err, "locked by another dealstream process") &&
             strstr(err, dir);
    if (!ok)
        fprintf(stderr, "child: rc=%d err=%s\n", rc, err);
    state_close(st);
    return ok ? 0 : 1;
}

static void test_lock_other_process(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(self_path, self_path, "--try-open", f->dir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_reserved_key_aborts(void **vstate)
{
    (void)vstate;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Silence the expected assertion message. */
        if (!freopen("/dev/null", "w", stderr))
            _exit(2);
        struct state_batch *b = state_batch_new();
        state_batch_put(b, "\x00off/x", 6, "v", 1);
        _exit(0); /* not reached if the invariant is checked */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_large_values(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    size_t n = 1 << 20;
    unsigned char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 2654435761u >> 13);
    struct state_batch *b = state_batch_new();
    state_batch_put(b, "big", 3, big, n);
    commit_ok(f, b);
    state_batch_free(b);

    void *val = NULL;
    size_t vlen = 0;
    assert_int_equal(state_get(f->st, "big", 3, &val, &vlen, f->err,
                               sizeof(f->err)),
                     1);
    assert_int_equal(vlen, n);
    assert_memory_equal(val, big, n);
    free(val);

    /* Also from an SST file, after a flush and a restart. */
    assert_int_equal(state_flush(f->st, f->err, sizeof(f->err)), 0);
    state_close(f->st);
    f->st = open_ok(f);
    val = NULL;
    assert_int_equal(state_get(f->st, "big", 3, &val, &vlen, f->err,
                               sizeof(f->err)),
                     1);
    assert_int_equal(vlen, n);
    assert_memory_equal(val, big, n);
    free(val);
    free(big);
}

static void test_disk_bytes(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    char key[32], v[100];
    memset(v, 'v', sizeof(v));
    for (int i = 0; i < 1000; i++) {
        int kl = snprintf(key, sizeof(key), "k/%06d", i);
        state_batch_put(b, key, (size_t)kl, v, sizeof(v));
    }
    assert_int_equal(state_batch_count(b), 1000);
    commit_ok(f, b);
    state_batch_free(b);
    assert_int_equal(state_flush(f->st, f->err, sizeof(f->err)), 0);
    uint64_t bytes = state_disk_bytes(f->st);
    /* Bounded below by the SST being non-empty and above by the raw data
     * plus generous overhead (LZ4 makes it smaller still). */
    assert_true(bytes > 0);
    assert_true(bytes < 4 << 20);
    void *val = NULL;
    size_t vlen = 0;
    assert_int_equal(state_get(f->st, "k/000999", 8, &val, &vlen, f->err,
                               sizeof(f->err)),
                     1);
    assert_int_equal(vlen, sizeof(v));
    assert_memory_equal(val, v, sizeof(v));
    free(val);
}

/* Does the OPTIONS file RocksDB wrote for the open DB hold `needle`? Its
 * own record of the options it runs with. */
static bool options_file_has(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool seen = false;
    struct dirent *de;
    while ((de = readdir(d)) && !seen) {
        if (strncmp(de->d_name, "OPTIONS-", 8) != 0)
            continue;
        char path[512], line[512];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        while (fgets(line, sizeof(line), fp))
            if (strstr(line, needle))
                seen = true;
        fclose(fp);
    }
    closedir(d);
    return seen;
}

/* The memtable insert hints are set by name (no C setter), so a typo
 * would only log a warning and slow every commit. */
static void test_memtable_insert_hints(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    assert_true(options_file_has(
        f->dir, "memtable_insert_with_hint_prefix_extractor="
                "rocksdb.FixedPrefix.1"));
}

/* L0 is written plain, every level below compressed (LZ4 where RocksDB has
 * it, as here), and compacted at 8 files (state.c says why). */
static void test_l0_options(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    assert_true(options_file_has(
        f->dir, "compression_per_level=kNoCompression:kLZ4Compression:"
                "kLZ4Compression:kLZ4Compression:kLZ4Compression:"
                "kLZ4Compression:kLZ4Compression"));
    assert_true(
        options_file_has(f->dir, "level0_file_num_compaction_trigger=8\n"));
}

/* Index and filters are partitioned, their top level pinned: whole, a
 * large file's index did not fit a block cache shard and was read again
 * by every get (state.c). */
static void test_partitioned_index(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    assert_true(options_file_has(f->dir, "index_type=kTwoLevelIndexSearch\n"));
    assert_true(options_file_has(f->dir, "partition_filters=true\n"));
    assert_true(options_file_has(f->dir, "pin_top_level_index_and_filter=true\n"));
}

/* Key comparisons RocksDB counts while this thread reads 100 keys back. */
static uint64_t comparisons_of_reads(struct fixture *f)
{
    rocksdb_perfcontext_t *pc = rocksdb_perfcontext_create(); /* this thread's */
    rocksdb_perfcontext_reset(pc);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k/%03d", i);
        assert_value(f->st, key, "v");
    }
    uint64_t n = rocksdb_perfcontext_metric(pc, rocksdb_user_key_comparison_count);
    rocksdb_perfcontext_destroy(pc);
    return n;
}

static void *count_then_quiet(void *arg)
{
    struct fixture *f = arg;
    static uint64_t counted[2];
    counted[0] = comparisons_of_reads(f); /* a new thread: RocksDB's default */
    state_thread_init();
    counted[1] = comparisons_of_reads(f);
    return counted;
}

/* A new thread counts key comparisons (RocksDB's default: the cost
 * state_thread_init removes); after state_thread_init it counts none. */
static void test_thread_init_turns_perf_counters_off(void **vstate)
{
    struct fixture *f = *vstate;
    f->st = open_ok(f);
    struct state_batch *b = state_batch_new();
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k/%03d", i);
        put_str(b, key, "v");
    }
    commit_ok(f, b);
    state_batch_free(b);
    pthread_t t;
    void *ret = NULL;
    assert_int_equal(pthread_create(&t, NULL, count_then_quiet, f), 0);
    assert_int_equal(pthread_join(t, &ret), 0);
    const uint64_t *counted = ret;
    assert_true(counted[0] > 0);
    assert_int_equal(counted[1], 0);
}

static void test_open_errors(void **vstate)
{
    struct fixture *f = *vstate;
    struct state *st = (struct state *)1;

    /* Parents are created. */
    char nested[128];
    snprintf(nested, sizeof(nested), "%s/a/b/c", f->dir);
    struct state_options o = f->opts;
    o.dir = nested;
    f->st = open_ok(&(struct fixture){.opts = o});
    struct stat sb;
    assert_int_equal(stat(nested, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));

    /* A file where the dir should be. */
    char file[128];
    snprintf(file, sizeof(file), "%s/afile", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    o.dir = file;
    assert_int_equal(state_open(&o, &st, f->err, sizeof(f->err)), -1);
    assert_null(st);
    assert_non_null(strstr(f->err, "not a directory"));

    o = f->opts;
    o.block_cache_bytes = 0;
    st = (struct state *)1;
    assert_int_equal(state_open(&o, &st, f->err, sizeof(f->err)), -1);
    assert_null(st);
    assert_non_null(strstr(f->err, "block_cache_bytes"));

    state_close(NULL);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--try-open") == 0)
        return try_open_child(argv[2]);
    /* argv[0], not /proc/self/exe, which is the tool under valgrind. */
    if (!realpath(argv[0], self_path))
        snprintf(self_path, sizeof(self_path), "%s", argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_atomic_with_offsets,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_reuse_starts_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_offset_scan_and_isolation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_watermark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_prefix_ff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_same_process, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lock_other_process, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reserved_key_aborts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l0_options, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_partitioned_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_memtable_insert_hints, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_thread_init_turns_perf_counters_off,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
