/*
 * test_metrics.c - the exposition is what Prometheus' parser accepts:
 * HELP and TYPE before each family, escaped label values, cumulative
 * histogram buckets that end in +Inf == _count, bounded label sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static char *render(const struct metrics *m, const struct metrics_process *p,
                    struct buf *b)
{
    buf_init(b);
    metrics_format(m, p, "1.2.3", b);
    buf_append(b, "", 1);
    return (char *)b->data;
}

static struct metrics m;

static void test_counters_and_labels(void **st)
{
    (void)st;
    memset(&m, 0, sizeof(m));
    metrics_set_add(&m.consumed, "events.a", NULL, 3);
    metrics_set_add(&m.consumed, "events.a", NULL, 2);
    metrics_set_add(&m.dlq, "events.a", "bad_magic", 1);
    metrics_set_add(&m.alerts, "odd\"name\\x\n", NULL, 7);
    struct metrics_process p = {.rss_bytes = 4096, .open_fds = 9,
                                .cpu_seconds = 1.5};
    struct buf b;
    const char *s = render(&m, &p, &b);
    assert_non_null(strstr(s, "dealstream_ordering_buffered_records 0\n"));
    assert_null(strstr(s, "dealstream_partition_group_watermark_seconds"));
    metrics_set_add(&m.watermarks, "3", NULL, 1793700000123ULL);
    m.ordering_enforced = 2;
    buf_free(&b);
    s = render(&m, &p, &b);
    assert_non_null(strstr(s, "dealstream_partition_group_watermark_seconds"
                              "{partition=\"3\"} 1793700000.123\n"));
    assert_non_null(strstr(s, "dealstream_ordering_enforced_total 2\n"));
    assert_non_null(strstr(s, "dealstream_ordering_lag_waits_total 0\n"));
    assert_non_null(strstr(s, "# HELP dealstream_records_consumed_total "));
    assert_non_null(strstr(s, "# TYPE dealstream_records_consumed_total "
                              "counter\n"));
    assert_non_null(
        strstr(s, "dealstream_records_consumed_total{topic=\"events.a\"} 5\n"));
    assert_non_null(strstr(s, "dealstream_records_dlq_total{topic=\"events.a\","
                              "reason=\"bad_magic\"} 1\n"));
    assert_non_null(strstr(s, "dealstream_alerts_produced_total{kind="
                              "\"odd\\\"name\\\\x\\n\"} 7\n"));
    assert_non_null(strstr(s, "process_resident_memory_bytes 4096\n"));
    assert_non_null(strstr(s, "process_open_fds 9\n"));
    assert_non_null(strstr(s, "process_cpu_seconds_total 1.500\n"));
    assert_non_null(strstr(s, "dealstream_build_info{version=\"1.2.3\"} 1\n"));
    /* Every non-comment line's family has a TYPE line before it. */
    for (const char *l = s; *l; l = strchr(l, '\n') + 1) {
        if (*l != '#') {
            char name[128];
            size_t n = strcspn(l, "{ ");
            assert_true(n < sizeof(name) - 16);
            memcpy(name, l, n);
            name[n] = '\0';
            const char *sfx[] = {"_bucket", "_sum", "_count"};
            for (size_t i = 0; i < 3; i++) {
                size_t k = strlen(sfx[i]);
                char hist[160];
                snprintf(hist, sizeof(hist), "# TYPE %.*s histogram\n",
                         (int)(n > k ? n - k : 0), name);
                if (n > k && strcmp(name + n - k, sfx[i]) == 0 &&
                    strstr(s, hist)) {
                    name[n - k] = '\0';
                    break;
                }
            }
            char type[160];
            snprintf(type, sizeof(type), "# TYPE %s ", name);
            const char *t = strstr(s, type);
            assert_non_null(t);
            assert_true(t < l);
        }
        assert_non_null(strchr(l, '\n'));
    }
    buf_free(&b);
}

static void test_lag_state_rocksdb(void **st)
{
    (void)st;
    memset(&m, 0, sizeof(m));
    metrics_lag_add(&m.lag, "ops.iot-alerts", 3, 120);
    metrics_lag_add(&m.lag, "ops.iot-alerts", 0, 0);
    m.cache_hits = 90;
    m.cache_misses = 10;
    m.dirty_objects = 4;
    m.unwritten_bytes = 2048;
    m.rocks_block_cache = 1 << 20;
    m.rocks_memtables = 3000;
    m.rocks_table_readers = 500;
    m.rocks_pending_compaction = -1; /* unknown */
    m.rocks_stall_seconds = 1.25;
    metrics_set_add(&m.coaching, "TALK_RATIO", "WARNING", 2);
    metrics_hist_observe(&m.event_alert, 0.04);
    metrics_hist_observe(&m.batch, 0.2);
    struct metrics_process p = {-1, -1, -1};
    struct buf b;
    const char *s = render(&m, &p, &b);
    const char *want[] = {
        "dealstream_consumer_lag_records{topic=\"ops.iot-alerts\","
        "partition=\"3\"} 120\n",
        "dealstream_consumer_lag_records{topic=\"ops.iot-alerts\","
        "partition=\"0\"} 0\n",
        "dealstream_state_cache_requests_total{result=\"hit\"} 90\n",
        "dealstream_state_cache_requests_total{result=\"miss\"} 10\n",
        "dealstream_state_dirty_objects 4\n",
        "dealstream_coaching_alerts_total{category=\"TALK_RATIO\","
        "severity=\"WARNING\"} 2\n",
        "dealstream_state_unwritten_bytes 2048\n",
        "dealstream_rocksdb_memory_bytes{kind=\"block_cache\"} 1048576\n",
        "dealstream_rocksdb_memory_bytes{kind=\"memtables\"} 3000\n",
        "dealstream_rocksdb_memory_bytes{kind=\"table_readers\"} 500\n",
        "dealstream_rocksdb_stall_seconds_total 1.250\n",
        "dealstream_event_to_alert_seconds_bucket{le=\"0.05\"} 1\n",
        "dealstream_event_to_alert_seconds_bucket{le=\"0.025\"} 0\n",
        "dealstream_batch_duration_seconds_bucket{le=\"0.25\"} 1\n",
        "dealstream_batch_duration_seconds_count 1\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!strstr(s, want[i]))
            fail_msg("missing: %s", want[i]);
    }
    /* One series per partition, beyond a label set's bound. */
    m.lag.n = 0;
    for (int i = 0; i < 200; i++)
        metrics_lag_add(&m.lag, "t", i, i);
    buf_free(&b);
    s = render(&m, &p, &b);
    assert_non_null(strstr(s, "dealstream_consumer_lag_records{topic=\"t\","
                              "partition=\"199\"} 199\n"));
    assert_null(strstr(s, "other"));
    /* Unknown: left out, not reported as -1. */
    assert_null(strstr(s, "dealstream_rocksdb_pending_compaction_bytes"));
    buf_free(&b);
}

static void test_histogram_cumulative(void **st)
{
    (void)st;
    memset(&m, 0, sizeof(m));
    metrics_observe_commit(&m, 0.0005); /* first bucket */
    metrics_observe_commit(&m, 0.003);  /* le 0.005 */
    metrics_observe_commit(&m, 0.2);    /* le 0.25 */
    metrics_observe_commit(&m, 60);     /* only +Inf */
    struct metrics_process p = {-1, -1, -1};
    struct buf b;
    const char *s = render(&m, &p, &b);
    const char *h = "dealstream_commit_latency_seconds";
    char want[128];
    const char *cases[][2] = {{"0.001", "1"}, {"0.0025", "1"}, {"0.005", "2"},
                              {"0.1", "2"},   {"0.25", "3"},   {"10", "3"},
                              {"+Inf", "4"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(want, sizeof(want), "%s_bucket{le=\"%s\"} %s\n", h,
                 cases[i][0], cases[i][1]);
        assert_non_null(strstr(s, want));
    }
    snprintf(want, sizeof(want), "%s_count 4\n", h);
    assert_non_null(strstr(s, want));
    snprintf(want, sizeof(want), "%s_sum 60.2035\n", h);
    assert_non_null(strstr(s, want));
    /* Unknown process figures are left out, not reported as -1. */
    assert_null(strstr(s, "process_open_fds"));
    buf_free(&b);
}

/* Restore progress: totals always, the remaining gauge only while one
 * runs (a stale partition label would look like a stuck restore). */
static void test_restore(void **st)
{
    (void)st;
    memset(&m, 0, sizeof(m));
    struct metrics_process p = {.rss_bytes = -1, .open_fds = -1,
                                .cpu_seconds = -1};
    struct buf b;
    const char *s = render(&m, &p, &b);
    assert_non_null(strstr(s, "dealstream_restored_records_total 0\n"));
    assert_null(strstr(s, "dealstream_restore_remaining_records"));
    buf_free(&b);
    metrics_set_add(&m.restores, "full", NULL, 1);
    m.restored_records = 1200;
    m.restored_bytes = 65536;
    m.restoring = true;
    m.restoring_partition = 3;
    m.restore_remaining = 450;
    s = render(&m, &p, &b);
    assert_non_null(strstr(s, "dealstream_restores_total{mode=\"full\"} 1\n"));
    assert_non_null(strstr(s, "dealstream_restored_records_total 1200\n"));
    assert_non_null(strstr(s, "dealstream_restored_bytes_total 65536\n"));
    assert_non_null(strstr(s, "# TYPE dealstream_restore_remaining_records "
                              "gauge\n"));
    assert_non_null(strstr(s, "dealstream_restore_remaining_records"
                              "{partition=\"3\"} 450\n"));
    buf_free(&b);
}

static void test_series_bounded(void **st)
{
    (void)st;
    memset(&m, 0, sizeof(m));
    char t[32];
    for (int i = 0; i < 200; i++) {
        snprintf(t, sizeof(t), "t%d", i);
        metrics_set_add(&m.consumed, t, NULL, 1);
    }
    assert_int_equal(m.consumed.n, METRICS_MAX_SERIES);
    assert_int_equal(metrics_set_get(&m.consumed, "t0", NULL), 1);
    assert_int_equal(metrics_set_get(&m.consumed, "other", NULL),
                     200 - (METRICS_MAX_SERIES - 1));
}

/* A processor's histogram (processor_ops.metrics): declared, it is
 * exposed with no series; then one series per label value, cumulative
 * buckets on its own bounds, escaped values, bounded like a set. */
static const double lh_le[] = {60, 3600};
static const struct metrics_hist_def lh_def = {
    .name = "dealstream_test_response_seconds", .help = "Test.",
    .label = "department", .le = lh_le, .n = 2};

static void test_processor_histogram(void **st)
{
    (void)st;
    memset(&m, 0, sizeof(m));
    struct metrics_process p = {-1, -1, -1};
    struct buf b;
    assert_true(metrics_lhist_declare(&m, &lh_def));
    assert_true(metrics_lhist_declare(&m, &lh_def)); /* once */
    assert_int_equal(m.n_lhist, 1);
    const char *s = render(&m, &p, &b);
    assert_non_null(strstr(s, "# TYPE dealstream_test_response_seconds "
                              "histogram\n"));
    assert_null(strstr(s, "dealstream_test_response_seconds_count"));
    buf_free(&b);
    metrics_lhist_observe(&m, &lh_def, "legal", 600);
    metrics_lhist_observe(&m, &lh_def, "legal", 7200);
    metrics_lhist_observe(&m, &lh_def, "legal", 30);
    metrics_lhist_observe(&m, &lh_def, "fi\"n", 3600);
    s = render(&m, &p, &b);
    const char *want[] = {
        "dealstream_test_response_seconds_bucket{department=\"legal\",le=\"60\"} 1\n",
        "dealstream_test_response_seconds_bucket{department=\"legal\",le=\"3600\"} 2\n",
        "dealstream_test_response_seconds_bucket{department=\"legal\",le=\"+Inf\"} 3\n",
        "dealstream_test_response_seconds_sum{department=\"legal\"} 7830\n",
        "dealstream_test_response_seconds_count{department=\"legal\"} 3\n",
        "dealstream_test_response_seconds_bucket{department=\"fi\\\"n\",le=\"3600\"} 1\n",
        "dealstream_test_response_seconds_count{department=\"fi\\\"n\"} 1\n"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(s, want[i]))
            fail_msg("missing %s in\n%s", want[i], s);
    buf_free(&b);
    char t[32];
    for (int i = 0; i < 200; i++) {
        snprintf(t, sizeof(t), "d%d", i);
        metrics_lhist_observe(&m, &lh_def, t, 1);
    }
    assert_int_equal(m.lhist[0].n, METRICS_MAX_SERIES);
    assert_string_equal(m.lhist[0].s[METRICS_MAX_SERIES - 1].v, "other");
    assert_int_equal(m.lhist[0].s[METRICS_MAX_SERIES - 1].count,
                     200 - (METRICS_MAX_SERIES - 3)); /* 2 taken */
    /* Past METRICS_MAX_LHIST histograms, the rest are left out. */
    static struct metrics_hist_def more[METRICS_MAX_LHIST];
    for (size_t i = 0; i < METRICS_MAX_LHIST; i++)
        more[i] = lh_def;
    for (size_t i = 0; i < METRICS_MAX_LHIST - 1; i++)
        assert_true(metrics_lhist_declare(&m, &more[i]));
    assert_false(metrics_lhist_declare(&m, &more[METRICS_MAX_LHIST - 1]));
    metrics_lhist_observe(&m, &more[METRICS_MAX_LHIST - 1], "x", 1);
    assert_int_equal(m.n_lhist, METRICS_MAX_LHIST);
}

static void test_process_read(void **st)
{
    (void)st;
    struct metrics_process p;
    metrics_process_read(&p);
    assert_true(p.rss_bytes > 0);
    assert_true(p.open_fds >= 3);
    assert_true(p.cpu_seconds >= 0);
}

static void test_publish_read(void **st)
{
    (void)st;
    struct metrics_pub pub;
    struct metrics out;
    metrics_pub_init(&pub);
    assert_false(metrics_read(&pub, &out));
    memset(&m, 0, sizeof(m));
    m.commits = 42;
    metrics_publish(&pub, &m);
    assert_true(metrics_read(&pub, &out));
    assert_int_equal(out.commits, 42);
    metrics_pub_destroy(&pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_and_labels),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_lag_state_rocksdb),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_series_bounded),
        cmocka_unit_test(test_processor_histogram),
        cmocka_unit_test(test_process_read),
        cmocka_unit_test(test_publish_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
