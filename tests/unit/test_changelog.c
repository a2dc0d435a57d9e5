/*
 * test_changelog.c - the changelog's bookkeeping: which partition a state
 * key is logged to, the input offsets text its records carry, and the
 * restore of a partition from a sequence of changelog records into a real
 * RocksDB in a temp dir (markers, tombstones, unfinished batches, the
 * buffer written ahead of a marker). Then one round trip through
 * librdkafka's mock cluster: a batch sent by changelog_send_step() and read
 * back by restore_partition() yields the batch's state and offsets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "changelog.h"
#include "restore.h"
#include "standby.h"
#include "state.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- keys and offsets text ---------------------------------------------- */

static void test_topic_name(void **unused)
{
    (void)unused;
    char out[64];
    assert_int_equal(changelog_topic_name("grp", "", out, sizeof(out)), 0);
    assert_string_equal(out, "grp-state-changelog");
    assert_int_equal(changelog_topic_name("grp", "mine", out, sizeof(out)), 0);
    assert_string_equal(out, "mine");
    assert_int_equal(changelog_topic_name("a-very-long-group-name", "", out, 16),
                     -1);
}

static void test_partition_of(void **unused)
{
    (void)unused;
    const char *pn = "consistent_random";
    int32_t want = kafka_partition_of(pn, "cust-7", 6, 8);
    assert_true(want >= 0 && want < 8);
    /* The record key is the segment after the processor's name. */
    assert_int_equal(changelog_partition_of(pn, 8, "lead_rating/cust-7", 18),
                     want);
    assert_int_equal(changelog_partition_of(pn, 8, "coaching/cust-7/m/1", 19),
                     want);
    /* Not logged: quarantined copies, keys without a record key. */
    assert_int_equal(changelog_partition_of(pn, 8, "quarantine/x/cust-7", 19),
                     -1);
    assert_int_equal(changelog_partition_of(pn, 8, "nokey", 5), -1);
    /* murmur2 (Java's) spreads differently, and is followed. */
    bool differs = false;
    char key[64];
    for (int i = 0; i < 50 && !differs; i++) {
        int n = snprintf(key, sizeof(key), "p/c-%d", i);
        differs = changelog_partition_of("murmur2", 8, key, (size_t)n) !=
                  changelog_partition_of(pn, 8, key, (size_t)n);
    }
    assert_true(differs);
    assert_int_equal(kafka_partition_of("random", "k", 1, 8), -1);
}

/* ctx_partition_key() in the daemon: a key the partitioner puts in the
 * partition asked for, so per-partition state is logged and restored with
 * it; the same every time. */
static void test_partition_key(void **unused)
{
    (void)unused;
    const char *names[] = {"consistent_random", "murmur2", "fnv1a"};
    char key[64], again[64], state[80];
    for (size_t n = 0; n < 3; n++) {
        for (int32_t cnt = 1; cnt <= 12; cnt++) {
            for (int32_t p = 0; p < cnt; p++) {
                assert_int_equal(changelog_partition_key(names[n], cnt, p, key,
                                                         sizeof(key)),
                                 0);
                char prefix[16];
                snprintf(prefix, sizeof(prefix), "~p%d.", (int)p);
                assert_int_equal(strncmp(key, prefix, strlen(prefix)), 0);
                int w = snprintf(state, sizeof(state), "action_units/%s", key);
                assert_int_equal(
                    changelog_partition_of(names[n], cnt, state, (size_t)w), p);
                assert_int_equal(changelog_partition_key(names[n], cnt, p,
                                                         again, sizeof(again)),
                                 0);
                assert_string_equal(key, again);
            }
        }
    }
    assert_int_equal(changelog_partition_key("murmur2", 8, 3, key, 4), -1);
    assert_int_equal(changelog_partition_key("random", 8, 3, key, sizeof(key)),
                     -1);
}

struct seen {
    char text[256];
};

static void collect(void *arg, const char *topic, int64_t next)
{
    struct seen *s = arg;
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, "[%s=%lld]", topic,
             (long long)next);
}

static void test_offsets_text(void **unused)
{
    (void)unused;
    char t[64] = "";
    assert_int_equal(changelog_offsets_set(t, sizeof(t), "a.b", 10), 0);
    assert_string_equal(t, "a.b:10");
    assert_int_equal(changelog_offsets_set(t, sizeof(t), "c-d", 5), 0);
    assert_string_equal(t, "a.b:10,c-d:5");
    /* One entry per topic: replaced, wherever it stood. */
    assert_int_equal(changelog_offsets_set(t, sizeof(t), "a.b", 12), 0);
    assert_string_equal(t, "c-d:5,a.b:12");
    assert_int_equal(changelog_offsets_set(t, sizeof(t), "a.b", 13), 0);
    assert_string_equal(t, "c-d:5,a.b:13");
    /* Too long: refused, the text unchanged. */
    char small[12] = "x:1";
    assert_int_equal(changelog_offsets_set(small, sizeof(small), "topic", 123),
                     -1);
    assert_string_equal(small, "x:1");

    struct seen s = {""};
    assert_int_equal(changelog_offsets_each(t, collect, &s), 0);
    assert_string_equal(s.text, "[c-d=5][a.b=13]");
    memset(&s, 0, sizeof(s));
    assert_int_equal(changelog_offsets_each("", collect, &s), 0);
    assert_string_equal(s.text, "");
    assert_int_equal(changelog_offsets_each("nocolon", collect, &s), -1);
    assert_int_equal(changelog_offsets_each("t:", collect, &s), -1);
    assert_int_equal(changelog_offsets_each("t:1x", collect, &s), -1);
    assert_int_equal(changelog_offsets_each("t:-1", collect, &s), -1);
}

/* ---- restore bookkeeping ------------------------------------------------ */

static void test_plan(void **unused)
{
    (void)unused;
    /* With a checkpoint: at the end, behind, before the start, past it. */
    assert_int_equal(restore_plan(true, 50, 0, 50, false), RESTORE_NONE);
    assert_int_equal(restore_plan(true, 50, 50, 50, false), RESTORE_NONE);
    assert_int_equal(restore_plan(true, 20, 0, 50, false), RESTORE_TAIL);
    assert_int_equal(restore_plan(true, 20, 20, 50, false), RESTORE_TAIL);
    assert_int_equal(restore_plan(true, 19, 20, 50, false),
                     RESTORE_WIPE_FULL);
    assert_int_equal(restore_plan(true, 0, 30, 30, false), RESTORE_WIPE_FULL);
    assert_int_equal(restore_plan(true, 51, 0, 50, false), RESTORE_REFUSE);
    /* Without: nothing logged, an empty disk, local state of unknown age. */
    assert_int_equal(restore_plan(false, 0, 0, 0, true), RESTORE_NONE);
    assert_int_equal(restore_plan(false, 0, 7, 7, true), RESTORE_NONE);
    assert_int_equal(restore_plan(false, 0, 0, 9, false), RESTORE_FULL);
    assert_int_equal(restore_plan(false, 0, 3, 9, true), RESTORE_WIPE_FULL);
}

struct fixture {
    char dir[64];
    struct state *db;
    char err[512];
};

static int setup(void **vstate)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || tmpdir_make(f->dir, sizeof(f->dir), "test_changelog") != 0) {
        free(f);
        return -1;
    }
    struct state_options o = {.dir = f->dir,
                              .block_cache_bytes = 8 << 20,
                              .write_buffer_bytes = 4 << 20};
    if (state_open(&o, &f->db, f->err, sizeof(f->err)) != 0) {
        tmpdir_remove(f->dir);
        free(f);
        return -1;
    }
    *vstate = f;
    return 0;
}

static int teardown(void **vstate)
{
    struct fixture *f = *vstate;
    state_close(f->db);
    tmpdir_remove(f->dir);
    free(f);
    return 0;
}

#define CL "g-state-changelog"

/* Feeds one record: val "-" is a tombstone, key "M" a marker whose value
 * is "v1;" + val. */
static int feed(struct fixture *f, struct restore_run *r, int64_t off,
                const char *key, const char *val)
{
    char marker[256];
    if (strcmp(key, "M") == 0) {
        snprintf(marker, sizeof(marker), "v1;%s", val);
        return restore_run_record(r, off, CHANGELOG_MARKER_KEY,
                                  strlen(CHANGELOG_MARKER_KEY), marker,
                                  strlen(marker), f->err, sizeof(f->err));
    }
    bool tomb = strcmp(val, "-") == 0;
    return restore_run_record(r, off, key, strlen(key), tomb ? NULL : val,
                              tomb ? 0 : strlen(val), f->err, sizeof(f->err));
}

/* The stored value of key as a string, or "(absent)". */
static const char *value_of(struct fixture *f, const char *key)
{
    static char out[256];
    void *v = NULL;
    size_t n = 0;
    int rc = state_get(f->db, key, strlen(key), &v, &n, f->err, sizeof(f->err));
    assert_true(rc >= 0);
    if (rc == 0)
        snprintf(out, sizeof(out), "(absent)");
    else
        snprintf(out, sizeof(out), "%.*s", (int)n, (const char *)v);
    free(v);
    return out;
}

static int64_t offset_of(struct fixture *f, const char *topic, int32_t p)
{
    int64_t next = -1;
    int rc = state_offset_get(f->db, topic, p, &next, f->err, sizeof(f->err));
    assert_true(rc >= 0);
    return rc == 1 ? next : -1;
}

static void test_restore_markers(void **vstate)
{
    struct fixture *f = *vstate;
    /* A key that a tombstone of the changelog removes. */
    struct state_batch *b = state_batch_new();
    state_batch_put(b, "p/old", 5, "x", 1);
    assert_int_equal(state_batch_commit(f->db, b, f->err, sizeof(f->err)), 0);
    state_batch_free(b);

    struct restore_run *r = restore_run_new(f->db, CL, 3, 0);
    assert_int_equal(feed(f, r, 10, "p/a", "a1"), 0);
    assert_int_equal(feed(f, r, 11, "p/b", "b1"), 0);
    assert_int_equal(feed(f, r, 12, "M", "in.x:100"), 0);
    assert_int_equal(feed(f, r, 13, "p/a", "a2"), 0);
    assert_int_equal(feed(f, r, 14, "p/old", "-"), 0);
    assert_int_equal(feed(f, r, 15, "M",
                          "in.x:120,in.y:7," CHANGELOG_WATERMARK_ENTRY
                          ":1793700000000"), 0);
    assert_int_equal(restore_run_finish(r, f->err, sizeof(f->err)), 0);
    struct restore_counts c;
    restore_run_counts(r, &c);
    assert_int_equal(c.records, 6);
    assert_int_equal(c.objects, 4);
    assert_int_equal(c.markers, 2);
    assert_int_equal(c.checkpoint, 16);
    const char **keys;
    const size_t *klens;
    assert_int_equal(restore_run_tail(r, &keys, &klens), 0);
    restore_run_free(r);

    assert_string_equal(value_of(f, "p/a"), "a2");
    assert_string_equal(value_of(f, "p/b"), "b1");
    assert_string_equal(value_of(f, "p/old"), "(absent)");
    assert_int_equal(offset_of(f, "in.x", 3), 120);
    assert_int_equal(offset_of(f, "in.y", 3), 7);
    assert_int_equal(offset_of(f, CL, 3), 16);
    assert_int_equal(offset_of(f, "in.x", 2), -1); /* only its partition */
    /* The watermark entry is the partition group's watermark, no offset. */
    assert_int_equal(offset_of(f, CHANGELOG_WATERMARK_ENTRY, 3), -1);
    int64_t wm = -1;
    assert_int_equal(state_watermark_get(f->db, 3, &wm, f->err,
                                         sizeof(f->err)), 1);
    assert_int_equal(wm, 1793700000000LL);
}

/* on_key and prefetch_key see the keys a marker covers, each once, the
 * prefetch a few keys (RESTORE_PREFETCH_AHEAD, 8) ahead of its note; the
 * unfinished tail's keys neither. */
struct key_calls {
    char log[64][16]; /* "P<key>" or "N<key>" */
    size_t n;
};

static struct key_calls *calls_of(void *arg) { return arg; }

static void call_note(void *arg, const void *key, size_t klen)
{
    struct key_calls *c = calls_of(arg);
    assert_true(c->n < 64);
    snprintf(c->log[c->n++], 16, "N%.*s", (int)klen, (const char *)key);
}

static void call_prefetch(void *arg, const void *key, size_t klen)
{
    struct key_calls *c = calls_of(arg);
    assert_true(c->n < 64);
    snprintf(c->log[c->n++], 16, "P%.*s", (int)klen, (const char *)key);
}

static void test_restore_prefetch_keys(void **vstate)
{
    struct fixture *f = *vstate;
    struct key_calls calls = {.n = 0};
    struct restore_run *r = restore_run_new(f->db, CL, 0, 0);
    restore_run_on_key(r, call_note, &calls);
    restore_run_prefetch_key(r, call_prefetch);
    char key[16];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "p/k%02d", i);
        assert_int_equal(feed(f, r, i, key, "v"), 0);
    }
    assert_int_equal(feed(f, r, 20, "M", "in:5"), 0);
    assert_int_equal(feed(f, r, 21, "p/tail", "t"), 0);
    assert_int_equal(restore_run_finish(r, f->err, sizeof(f->err)), 0);
    restore_run_free(r);
    assert_int_equal(calls.n, 40);
    for (int i = 0; i < 20; i++) {
        char want[16];
        int pi = -1, ni = -1;
        snprintf(want, sizeof(want), "p/k%02d", i);
        for (size_t j = 0; j < calls.n; j++) {
            if (strcmp(calls.log[j] + 1, want) != 0)
                continue;
            assert_true(calls.log[j][0] == 'P' ? pi < 0 : ni < 0);
            *(calls.log[j][0] == 'P' ? &pi : &ni) = (int)j;
        }
        assert_true(pi >= 0 && ni > pi);
        /* ahead, not all at once: in between, the notes of the eight
         * keys before it and the prefetches of the eight after */
        assert_true(ni - pi <= 2 * 8 + 1);
    }
    /* the first eight prefetched before the first note */
    for (int j = 0; j < 8; j++)
        assert_int_equal(calls.log[j][0], 'P');
}

/* A writer that crashed mid-batch leaves records without a marker: they
 * are not applied, and their keys are reported for the repair. */
static void test_restore_unfinished_tail(void **vstate)
{
    struct fixture *f = *vstate;
    struct restore_run *r = restore_run_new(f->db, CL, 0, 0);
    assert_int_equal(feed(f, r, 0, "p/a", "a1"), 0);
    assert_int_equal(feed(f, r, 1, "M", "in:5"), 0);
    assert_int_equal(feed(f, r, 2, "p/a", "a-unfinished"), 0);
    assert_int_equal(feed(f, r, 3, "p/c", "c-unfinished"), 0);
    assert_int_equal(restore_run_finish(r, f->err, sizeof(f->err)), 0);
    const char **keys;
    const size_t *klens;
    assert_int_equal(restore_run_tail(r, &keys, &klens), 2);
    assert_memory_equal(keys[0], "p/a", 3);
    assert_memory_equal(keys[1], "p/c", 3);
    restore_run_free(r);
    assert_string_equal(value_of(f, "p/a"), "a1");
    assert_string_equal(value_of(f, "p/c"), "(absent)");
    assert_int_equal(offset_of(f, "in", 0), 5);
    assert_int_equal(offset_of(f, CL, 0), 2);
}

/* After a crash the next owner wrote a repair (the committed values) and
 * went on: the unfinished records in the middle are overwritten before
 * the next marker, so applying everything in order is right. */
static void test_restore_after_repair(void **vstate)
{
    struct fixture *f = *vstate;
    struct restore_run *r = restore_run_new(f->db, CL, 0, 0);
    assert_int_equal(feed(f, r, 0, "p/a", "a1"), 0);
    assert_int_equal(feed(f, r, 1, "M", "in:5"), 0);
    assert_int_equal(feed(f, r, 2, "p/a", "a-unfinished"), 0);
    assert_int_equal(feed(f, r, 3, "p/c", "c-unfinished"), 0);
    assert_int_equal(feed(f, r, 4, "p/a", "a1"), 0); /* the repair */
    assert_int_equal(feed(f, r, 5, "p/c", "-"), 0);
    assert_int_equal(feed(f, r, 6, "M", "in:5"), 0);
    assert_int_equal(feed(f, r, 7, "p/a", "a2"), 0); /* the next batch */
    assert_int_equal(feed(f, r, 8, "M", "in:6"), 0);
    assert_int_equal(restore_run_finish(r, f->err, sizeof(f->err)), 0);
    restore_run_free(r);
    assert_string_equal(value_of(f, "p/a"), "a2");
    assert_string_equal(value_of(f, "p/c"), "(absent)");
    assert_int_equal(offset_of(f, "in", 0), 6);
}

/* After compaction most records precede the one marker left: past the
 * buffer they are written ahead of it; a log that then ends without a
 * marker cannot be trusted, and says so. */
static void test_restore_buffer_ahead(void **vstate)
{
    struct fixture *f = *vstate;
    struct restore_run *r = restore_run_new(f->db, CL, 1, 256);
    char key[32];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "p/k%02d", i);
        assert_int_equal(feed(f, r, i, key, "value"), 0);
    }
    assert_int_equal(feed(f, r, 40, "M", "in:41"), 0);
    assert_int_equal(restore_run_finish(r, f->err, sizeof(f->err)), 0);
    struct restore_counts c;
    restore_run_counts(r, &c);
    assert_int_equal(c.objects, 40);
    restore_run_free(r);
    assert_string_equal(value_of(f, "p/k00"), "value");
    assert_string_equal(value_of(f, "p/k39"), "value");
    assert_int_equal(offset_of(f, "in", 1), 41);

    r = restore_run_new(f->db, CL, 2, 256);
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "p/t%02d", i);
        assert_int_equal(feed(f, r, i, key, "value"), 0);
    }
    assert_int_equal(restore_run_finish(r, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "unfinished batch"));
    restore_run_free(r);
}

static void test_restore_bad_marker(void **vstate)
{
    struct fixture *f = *vstate;
    struct restore_run *r = restore_run_new(f->db, CL, 0, 0);
    assert_int_equal(restore_run_record(r, 0, CHANGELOG_MARKER_KEY,
                                        strlen(CHANGELOG_MARKER_KEY), "v9;x",
                                        4, f->err, sizeof(f->err)),
                     -1);
    assert_int_equal(restore_run_record(r, 1, CHANGELOG_MARKER_KEY,
                                        strlen(CHANGELOG_MARKER_KEY), NULL, 0,
                                        f->err, sizeof(f->err)),
                     -1);
    assert_int_equal(feed(f, r, 2, "M", "in:x"), -1);
    restore_run_free(r);
}

/* state_wipe_partition: the partition's keys and offsets go, the rest
 * stays. */
static bool is_p1(void *arg, const void *key, size_t klen)
{
    (void)arg;
    return klen >= 4 && memcmp(key, "p1/", 3) == 0;
}

static void test_wipe_partition(void **vstate)
{
    struct fixture *f = *vstate;
    struct state_batch *b = state_batch_new();
    state_batch_put(b, "p1/a", 4, "1", 1);
    state_batch_put(b, "p2/a", 4, "2", 1);
    state_batch_offset(b, "in", 1, 10);
    state_batch_offset(b, "in", 2, 20);
    state_batch_offset(b, CL, 1, 3);
    assert_int_equal(state_batch_commit(f->db, b, f->err, sizeof(f->err)), 0);
    state_batch_free(b);
    assert_int_equal(state_wipe_partition(f->db, 1, is_p1, NULL, f->err,
                                          sizeof(f->err)),
                     0);
    assert_string_equal(value_of(f, "p1/a"), "(absent)");
    assert_string_equal(value_of(f, "p2/a"), "2");
    assert_int_equal(offset_of(f, "in", 1), -1);
    assert_int_equal(offset_of(f, CL, 1), -1);
    assert_int_equal(offset_of(f, "in", 2), 20);
}

/* ---- a round trip through librdkafka's mock cluster --------------------- */

static struct changelog *g_cl;

static void on_delivery(void *arg, uint64_t tag, enum kafka_fail failed,
                        const char *errstr, const struct kafka_msg *m)
{
    (void)arg;
    (void)errstr;
    changelog_delivered(g_cl, tag, failed == KAFKA_DELIVERED, m);
}

/* A changelog over a one-broker mock with two partitions: its topic,
 * the producer writing it (delivery reports to g_cl) and g_cl. */
struct live {
    struct kafka_mock *mock;
    const char *brokers;
    struct kafka_producer *prod;
};

static void live_start(struct live *l, const char *topic)
{
    char err[512];
    assert_int_equal(kafka_mock_start(1, &topic, 1, 2, &l->mock, err,
                                      sizeof(err)), 0);
    l->brokers = kafka_mock_bootstrap(l->mock);
    struct kafka_producer_opts po = {.brokers = l->brokers,
                                     .on_delivery = on_delivery};
    assert_int_equal(kafka_producer_new(&po, &l->prod, err, sizeof(err)), 0);
    assert_int_equal(changelog_new(l->prod, topic, 2, "consistent_random",
                                   &g_cl, err, sizeof(err)), 0);
}

static void live_stop(struct live *l)
{
    changelog_free(g_cl);
    g_cl = NULL;
    kafka_producer_free(l->prod);
    kafka_mock_stop(l->mock);
}

static struct state *open_db(char *dir, size_t n, const char *name)
{
    struct state *db = NULL;
    char err[256];
    assert_int_equal(tmpdir_make(dir, n, name), 0);
    struct state_options o = {.dir = dir,
                              .block_cache_bytes = 8 << 20,
                              .write_buffer_bytes = 4 << 20};
    assert_int_equal(state_open(&o, &db, err, sizeof(err)), 0);
    return db;
}

static void restore_both(struct state *db, const char *brokers,
                         struct kafka_consumer *group)
{
    struct restore_opts ro = {.db = db, .brokers = brokers,
                              .changelog = g_cl, .group = group};
    char err[512];
    for (int32_t p = 0; p < 2; p++) {
        struct restore_result res;
        int rc = restore_partition(&ro, p, &res, err, sizeof(err));
        if (rc != 0)
            fail_msg("restore of partition %d: %s", p, err);
        assert_true(res.restored && res.full);
    }
}

static void test_round_trip(void **unused)
{
    (void)unused;
    const char *topic = "g-state-changelog";
    struct live l = {0};
    live_start(&l, topic);
    struct kafka_producer *prod = l.prod;
    const char *brokers = l.brokers;
    struct kafka_consumer *group = NULL;
    char err[512];
    assert_int_equal(kafka_consumer_new_reader(brokers, NULL, topic, true,
                                               &group, err, sizeof(err)), 0);

    /* A batch: five customers, one deleted, offsets on both partitions. */
    struct state_batch *b = state_batch_new();
    char key[32], val[32];
    for (int i = 0; i < 5; i++) {
        int kn = snprintf(key, sizeof(key), "lead_rating/c%d", i);
        int vn = snprintf(val, sizeof(val), "v%d", i);
        state_batch_put(b, key, (size_t)kn, val, (size_t)vn);
    }
    state_batch_delete(b, "lead_rating/c4", 14);
    state_batch_offset(b, "in", 0, 30);
    state_batch_offset(b, "in", 1, 40);
    state_batch_watermark(b, 0, 3000);
    state_batch_watermark(b, 1, 4000);
    kafka_producer_set_tag(prod, 1);
    /* Sent in steps of two records, as the loop does a big checkpoint:
     * the markers only with the last step; what follows restores it. */
    size_t at = 0;
    bool done = false;
    int n = 0, send_steps = 0;
    while (!done) {
        int k = changelog_send_step(g_cl, 1, b, &at, 2, &done, err,
                                    sizeof(err));
        assert_true(k >= 0);
        assert_int_equal(k, done ? 2 + 2 : 2);
        n += k;
        send_steps++;
    }
    assert_int_equal(send_steps, 3);
    assert_int_equal(n, 6 + 2); /* records, then a marker per partition */
    assert_int_equal(kafka_producer_flush(prod, 10000), 0);
    struct state_batch *ck = state_batch_new();
    changelog_checkpoint(g_cl, 1, ck);
    char dir_a[64];
    struct state *a = open_db(dir_a, sizeof(dir_a), "test_changelog_a");
    assert_int_equal(state_batch_commit(a, ck, err, sizeof(err)), 0);
    int64_t next = -1;
    assert_int_equal(state_offset_get(a, topic, 0, &next, err, sizeof(err)), 1);
    assert_true(next > 0);
    state_batch_free(ck);

    /* The writer of the next batch dies after one record of it. */
    int32_t p1 = changelog_partition_of("consistent_random", 2,
                                        "lead_rating/c1", 14);
    assert_int_equal(kafka_produce_to(prod, topic, p1, "lead_rating/c1", 14,
                                      "unfinished", 10, NULL, 0, err,
                                      sizeof(err)), 0);
    assert_int_equal(kafka_producer_flush(prod, 10000), 0);

    /* A new owner (its changelog knows no offsets yet) with an empty disk
     * restores the batch, not the unfinished record, and writes the
     * committed value of c1 again. */
    changelog_free(g_cl);
    assert_int_equal(changelog_new(prod, topic, 2, "consistent_random", &g_cl,
                                   err, sizeof(err)), 0);
    char dir_b[64];
    struct state *db = open_db(dir_b, sizeof(dir_b), "test_changelog_b");
    restore_both(db, brokers, group);
    struct fixture f = {.db = db};
    assert_string_equal(value_of(&f, "lead_rating/c1"), "v1");
    assert_string_equal(value_of(&f, "lead_rating/c3"), "v3");
    assert_string_equal(value_of(&f, "lead_rating/c4"), "(absent)");
    assert_int_equal(offset_of(&f, "in", 0), 30);
    assert_int_equal(offset_of(&f, "in", 1), 40);
    int64_t wm = -1;
    assert_int_equal(state_watermark_get(db, 1, &wm, err, sizeof(err)), 1);
    assert_int_equal(wm, 4000); /* carried by the markers */

    /* The repair ends with a marker naming the restored offsets: after
     * compaction it may be the only one left. */
    int64_t low = 0, high = 0;
    assert_int_equal(kafka_consumer_watermarks(group, topic, p1, &low, &high,
                                               5000), 0);
    struct kafka_consumer *last = NULL;
    assert_int_equal(kafka_consumer_new_partition(brokers, NULL, topic, p1,
                                                  high - 1, &last, err,
                                                  sizeof(err)), 0);
    struct kafka_msg m;
    int got = 0;
    for (int i = 0; i < 100 && got == 0; i++)
        got = kafka_consumer_poll(last, 100, &m, err, sizeof(err));
    assert_int_equal(got, 1);
    char want[64];
    snprintf(want, sizeof(want), "v1;in:%d," CHANGELOG_WATERMARK_ENTRY ":%d",
             p1 ? 40 : 30, p1 ? 4000 : 3000);
    assert_int_equal(m.klen, strlen(CHANGELOG_MARKER_KEY));
    assert_memory_equal(m.key, CHANGELOG_MARKER_KEY, m.klen);
    assert_int_equal(m.vlen, strlen(want));
    assert_memory_equal(m.value, want, m.vlen);
    /* Only markers carry headers: the batch id, and the offsets text for
     * tools (restore reads the value). */
    const char *hname;
    const void *hval;
    size_t hlen;
    assert_int_equal(kafka_msg_header(&m, 0, &hname, &hval, &hlen), 0);
    assert_string_equal(hname, CHANGELOG_HDR_BATCH);
    assert_int_equal(kafka_msg_header(&m, 1, &hname, &hval, &hlen), 0);
    assert_string_equal(hname, CHANGELOG_HDR_OFFSETS);
    assert_int_equal(hlen, strlen(want) - strlen("v1;"));
    assert_memory_equal(hval, want + strlen("v1;"), hlen);
    assert_int_not_equal(kafka_msg_header(&m, 2, &hname, &hval, &hlen), 0);
    kafka_msg_release(&m);
    kafka_consumer_close(last);
    /* The partition's first record is a state record of batch 1: none. */
    assert_int_equal(kafka_consumer_new_partition(brokers, NULL, topic, p1,
                                                  low, &last, err,
                                                  sizeof(err)), 0);
    got = 0;
    for (int i = 0; i < 100 && got == 0; i++)
        got = kafka_consumer_poll(last, 100, &m, err, sizeof(err));
    assert_int_equal(got, 1);
    assert_true(m.klen > strlen("lead_rating/"));
    assert_memory_equal(m.key, "lead_rating/", strlen("lead_rating/"));
    assert_int_not_equal(kafka_msg_header(&m, 0, &hname, &hval, &hlen), 0);
    kafka_msg_release(&m);
    kafka_consumer_close(last);

    /* After the repair, a second empty disk finds the log in order. */
    char dir_c[64];
    struct state *dc = open_db(dir_c, sizeof(dir_c), "test_changelog_c");
    restore_both(dc, brokers, group);
    f.db = dc;
    assert_string_equal(value_of(&f, "lead_rating/c1"), "v1");
    assert_int_equal(offset_of(&f, "in", p1), p1 ? 40 : 30);
    assert_int_equal(state_watermark_get(dc, p1, &wm, err, sizeof(err)), 1);
    assert_int_equal(wm, p1 ? 4000 : 3000); /* the repair's marker too */

    /* Up to date: nothing to do. */
    struct restore_opts ro = {.db = dc, .brokers = brokers, .changelog = g_cl,
                              .group = group};
    struct restore_result res;
    assert_int_equal(restore_partition(&ro, 0, &res, err, sizeof(err)), 0);
    assert_false(res.restored);

    /* A checkpoint past the log end (the changelog was recreated): the
     * local state is not thrown away for it. */
    struct state_batch *x = state_batch_new();
    state_batch_offset(x, topic, 0, 1000);
    assert_int_equal(state_batch_commit(dc, x, err, sizeof(err)), 0);
    assert_int_equal(restore_partition(&ro, 0, &res, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "past the changelog's end"));

    /* Local state without a checkpoint: wiped (a stale object of the
     * partition goes, other partitions' stay), then restored in full. */
    char dir_d[64];
    struct state *dd = open_db(dir_d, sizeof(dir_d), "test_changelog_d");
    int32_t p0 = changelog_partition_of("consistent_random", 2,
                                        "lead_rating/c0", 14);
    struct state_batch *y = state_batch_new();
    state_batch_put(y, "lead_rating/c0", 14, "stale", 5);
    state_batch_put(y, "lead_rating/c0/x", 16, "stale", 5);
    state_batch_offset(y, "in", p0, 3);
    int32_t other = -1;
    for (int i = 0; i < 20 && other < 0; i++) {
        int kn = snprintf(key, sizeof(key), "lead_rating/o%d", i);
        if (changelog_partition_of("consistent_random", 2, key, (size_t)kn) !=
            p0) {
            state_batch_put(y, key, (size_t)kn, "kept", 4);
            other = i;
        }
    }
    assert_true(other >= 0);
    assert_int_equal(state_batch_commit(dd, y, err, sizeof(err)), 0);
    ro.db = dd;
    assert_int_equal(restore_partition(&ro, p0, &res, err, sizeof(err)), 0);
    assert_true(res.restored && res.full);
    f.db = dd;
    assert_string_equal(value_of(&f, "lead_rating/c0"), "v0");
    assert_string_equal(value_of(&f, "lead_rating/c0/x"), "(absent)");
    assert_string_equal(value_of(&f, key), "kept");
    assert_int_equal(offset_of(&f, "in", p0), p0 ? 40 : 30);
    state_batch_free(x);
    state_batch_free(y);
    state_close(dd);
    tmpdir_remove(dir_d);

    /* In steps, as the runtime runs it: one record a step; a job
     * cancelled after its first record (a revoke) leaves no checkpoint
     * and nothing half-applied; the next job restores it all. */
    char dir_e[64];
    struct state *de = open_db(dir_e, sizeof(dir_e), "test_changelog_e");
    ro.db = de;
    f.db = de;
    struct restore_job *j = NULL;
    assert_int_equal(restore_begin(&ro, p1, &j, err, sizeof(err)), 0);
    assert_non_null(j);
    assert_int_equal(restore_job_partition(j), p1);
    int64_t left = restore_job_remaining(j);
    assert_true(left > 2);
    int rc = 0;
    for (int i = 0; i < 200 && restore_job_remaining(j) == left; i++)
        rc = restore_step(j, 1, 50, &res, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_int_equal(restore_job_remaining(j), left - 1);
    restore_cancel(j);
    assert_int_equal(state_offset_get(de, topic, p1, &next, err, sizeof(err)),
                     0);
    assert_string_equal(value_of(&f, "lead_rating/c1"), "(absent)");
    j = NULL;
    assert_int_equal(restore_begin(&ro, p1, &j, err, sizeof(err)), 0);
    assert_non_null(j);
    int64_t steps = 0;
    while ((rc = restore_step(j, 1, 50, &res, err, sizeof(err))) == 0)
        steps++;
    if (rc != 1)
        fail_msg("stepped restore: %s", err);
    assert_true(steps >= left - 1); /* never more than one record a step */
    assert_true(res.restored && res.full);
    assert_int_equal((int64_t)res.counts.records, left);
    restore_cancel(j);
    assert_string_equal(value_of(&f, "lead_rating/c1"), "v1");
    assert_int_equal(offset_of(&f, "in", p1), p1 ? 40 : 30);
    state_close(de);
    tmpdir_remove(dir_e);

    state_batch_free(b);
    state_close(a);
    state_close(db);
    state_close(dc);
    tmpdir_remove(dir_a);
    tmpdir_remove(dir_b);
    tmpdir_remove(dir_c);
    kafka_consumer_close(group);
    live_stop(&l);
}

static void sum_lag(void *arg, int32_t partition, int64_t lag)
{
    int64_t *l = arg;
    assert_int_equal(partition, 0); /* the one followed */
    *l = lag;
}

/* Produces one changelog record to partition 0: a state put, or with key
 * "M" a marker naming input offset `off`. */
static void put_record(struct kafka_producer *prod, const char *topic,
                       const char *key, int off)
{
    char err[512], val[64];
    int vn = snprintf(val, sizeof(val), "v1;in.x:%d", off);
    bool marker = strcmp(key, "M") == 0;
    const char *k = marker ? CHANGELOG_MARKER_KEY : key;
    assert_int_equal(kafka_produce_to(prod, topic, 0, k, strlen(k),
                                      marker ? val : "v",
                                      marker ? (size_t)vn : 1, NULL, 0, err,
                                      sizeof(err)),
                     0);
}

/* Reads up to `want` more records one per step (a step that read one
 * returns true); returns how many it read. */
static int read_records(struct standby *s, int want)
{
    int read = 0;
    for (int i = 0; i < 1000 && read < want; i++) {
        if (standby_step(s, 1))
            read++;
        else
            usleep(10000);
    }
    return read;
}

/* The standby's lag (dealstream_standby_lag_records): the records between
 * its copy's checkpoint (last marker written) and the changelog's end -
 * what a fail-over would restore - counted as the tail reads. */
static void test_standby_lag(void **unused)
{
    (void)unused;
    const char *topic = "sb-state-changelog";
    struct live l = {0};
    live_start(&l, topic);
    struct kafka_producer *prod = l.prod;
    const char *brokers = l.brokers;
    /* Offsets 0-3 objects, 4 a marker, 5-9 objects of an open batch. */
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "lead_rating/c%d", i);
        put_record(prod, topic, i == 4 ? "M" : key, 7);
    }
    assert_int_equal(kafka_producer_flush(prod, 10000), 0);
    char dir[64];
    struct state *db = open_db(dir, sizeof(dir), "test_standby");
    struct restore_opts ro = {.db = db, .brokers = brokers, .changelog = g_cl};
    struct standby *s = standby_new(&ro);
    assert_non_null(s);
    bool owned[2] = {false, true};
    standby_follow(s, owned);
    assert_int_equal(standby_following(s), 1);

    /* Read but not covered by a marker: still to restore. */
    assert_int_equal(read_records(s, 4), 4);
    int64_t lag = -1;
    for (int i = 0; i < 500 && lag < 0; i++) {
        standby_lag(s, sum_lag, &lag);
        if (lag < 0)
            usleep(10000);
    }
    assert_int_equal(lag, 10);
    assert_int_equal(read_records(s, 1), 1); /* the marker */
    standby_lag(s, sum_lag, &lag);
    assert_int_equal(lag, 10 - 5);
    assert_int_equal(read_records(s, 5), 5);
    standby_lag(s, sum_lag, &lag);
    assert_int_equal(lag, 10 - 5);
    /* The batch's marker: the copy is complete. */
    put_record(prod, topic, "M", 9);
    assert_int_equal(kafka_producer_flush(prod, 10000), 0);
    assert_int_equal(read_records(s, 1), 1);
    for (int i = 0; i < 500 && lag != 0; i++) {
        standby_lag(s, sum_lag, &lag);
        if (lag != 0)
            usleep(10000);
    }
    assert_int_equal(lag, 0);
    assert_string_equal(value_of(&(struct fixture){.db = db},
                                 "lead_rating/c9"), "v");

    /* Owned here now: no longer followed, no lag reported. */
    owned[0] = true;
    standby_follow(s, owned);
    assert_int_equal(standby_following(s), 0);
    lag = -1;
    standby_lag(s, sum_lag, &lag);
    assert_int_equal(lag, -1);

    standby_free(s);
    state_close(db);
    tmpdir_remove(dir);
    live_stop(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_name),
        cmocka_unit_test(test_partition_of),
        cmocka_unit_test(test_partition_key),
        cmocka_unit_test(test_offsets_text),
        cmocka_unit_test(test_plan),
        cmocka_unit_test_setup_teardown(test_restore_markers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_prefetch_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restore_unfinished_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restore_after_repair, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restore_buffer_ahead, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restore_bad_marker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wipe_partition, setup, teardown),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_standby_lag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
