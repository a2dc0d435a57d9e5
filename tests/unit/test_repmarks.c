/*
 * test_repmarks.c - the marks that apply each repartition record once:
 * newer records pass, copies and older ones do not, per origin partition;
 * the oldest origin is forgotten beyond REPMARKS_MAX; the encoding reads
 * back, and a count beyond the bound is refused. The largest event time
 * per origin: the least over active origins, idle ones left out, expected
 * origins never seen hold it, the times' encoding reads back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "repmarks.h"

static struct repartition_record rec(const char *topic, int32_t part,
                                     int64_t off, uint32_t seq)
{
    return (struct repartition_record){.origin = {topic, part, off}, .seq = seq};
}

static void test_apply(void **state)
{
    (void)state;
    struct repmarks m = {0};
    struct repartition_record r = rec("t", 0, 10, 0);
    assert_true(repmarks_apply(&m, &r));
    assert_false(repmarks_apply(&m, &r)); /* the copy */
    r = rec("t", 0, 10, 1);
    assert_true(repmarks_apply(&m, &r)); /* the same origin's next record */
    r = rec("t", 0, 9, 5);
    assert_false(repmarks_apply(&m, &r)); /* older */
    r = rec("t", 1, 3, 0);
    assert_true(repmarks_apply(&m, &r)); /* another partition */
    r = rec("u", 0, 3, 0);
    assert_true(repmarks_apply(&m, &r)); /* another topic */
    assert_int_equal(m.n, 3);

    struct buf b;
    buf_init(&b);
    repmarks_encode(&m, &b);
    struct buf_reader rd;
    buf_reader_init(&rd, b.data, b.len);
    struct repmarks back = {0};
    repmarks_decode(&back, &rd);
    assert_false(rd.err);
    assert_int_equal(back.n, 3);
    assert_string_equal(back.v[0].topic, "t");
    assert_int_equal(back.v[0].offset, 10);
    assert_int_equal(back.v[0].seq, 1);
    r = rec("t", 0, 10, 1);
    assert_false(repmarks_apply(&back, &r));
    repmarks_free(&back);
    repmarks_free(&m);
    assert_int_equal(m.n, 0);

    /* A count beyond the bound cannot be genuine. */
    buf_reset(&b);
    buf_put_varint(&b, REPMARKS_MAX + 1);
    buf_reader_init(&rd, b.data, b.len);
    repmarks_decode(&back, &rd);
    assert_true(rd.err);
    repmarks_free(&back);
    buf_free(&b);
}

static void test_bounded(void **state)
{
    (void)state;
    struct repmarks m = {0};
    for (int32_t p = 0; p <= REPMARKS_MAX; p++) {
        struct repartition_record r = rec("t", p, 1, 0);
        assert_true(repmarks_apply(&m, &r));
    }
    assert_int_equal(m.n, REPMARKS_MAX);
    /* Partition 0 was forgotten: its copy passes again. */
    struct repartition_record r = rec("t", 0, 1, 0);
    assert_true(repmarks_apply(&m, &r));
    repmarks_free(&m);
}

static void note(struct repmarks *m, int32_t part, int64_t off, int64_t t,
                 int64_t now)
{
    struct repartition_record r = rec("o", part, off, 0);
    assert_true(repmarks_apply(m, &r));
    repmarks_note(m, &r, t, now);
}

static void test_low(void **state)
{
    (void)state;
    struct repmarks m = {0};
    struct repmarks_low_opts o = {.now = 0, .since = 0, .idle_ms = 1000};
    assert_int_equal(repmarks_low(&m, &o), INT64_MIN); /* nothing known */

    note(&m, 0, 1, 500, 100);
    note(&m, 1, 1, 200, 100);
    note(&m, 0, 2, 900, 150);
    note(&m, 0, 3, 300, 160); /* older: the largest stays */
    assert_int_equal(repmarks_low(&m, &o), 200); /* no clock: none idle */
    o.now = 1000;
    assert_int_equal(repmarks_low(&m, &o), 200); /* both heard within 1000 */
    o.now = 1120;
    assert_int_equal(repmarks_low(&m, &o), 900); /* 1 idle since 100 */
    o.now = 5000;
    assert_int_equal(repmarks_low(&m, &o), 900); /* all idle: the largest */

    /* Four partitions expected: 2 and 3, never seen, hold it while the
     * receiver has been loaded for less than idle_ms. */
    o.partitions = 4;
    o.since = 4500;
    o.now = 5000;
    assert_int_equal(repmarks_low(&m, &o), INT64_MIN);
    o.now = 5600;
    assert_int_equal(repmarks_low(&m, &o), 900);
    o.partitions = 0;

    /* idle_ms 0: only the origin heard just now counts. */
    o.idle_ms = 0;
    o.since = 0;
    note(&m, 1, 2, 250, 7000);
    o.now = 7000;
    assert_int_equal(repmarks_low(&m, &o), 250);

    /* Times read back beside the marks; after a decode nothing is heard. */
    struct buf b;
    buf_init(&b);
    repmarks_encode(&m, &b);
    repmarks_encode_times(&m, &b);
    struct buf_reader rd;
    buf_reader_init(&rd, b.data, b.len);
    struct repmarks back = {0};
    repmarks_decode(&back, &rd);
    repmarks_decode_times(&back, &rd);
    assert_false(rd.err);
    assert_true(rd.p == rd.end);
    o = (struct repmarks_low_opts){.now = 0, .idle_ms = 1000};
    assert_int_equal(repmarks_low(&back, &o), 250);
    o = (struct repmarks_low_opts){.now = 9000, .since = 8500, .idle_ms = 1000};
    assert_int_equal(repmarks_low(&back, &o), 250); /* all since the load */
    repmarks_free(&back);

    /* Marks of the old encoding alone: times unknown, they hold it. */
    buf_reset(&b);
    repmarks_encode(&m, &b);
    buf_reader_init(&rd, b.data, b.len);
    repmarks_decode(&back, &rd);
    assert_false(rd.err);
    o = (struct repmarks_low_opts){.now = 0, .idle_ms = 1000};
    assert_int_equal(repmarks_low(&back, &o), INT64_MIN);
    repmarks_free(&back);
    /* A times list of another length is refused. */
    buf_reset(&b);
    repmarks_encode(&m, &b);
    buf_put_varint(&b, 1);
    buf_put_i64(&b, 1);
    buf_reader_init(&rd, b.data, b.len);
    repmarks_decode(&back, &rd);
    repmarks_decode_times(&back, &rd);
    assert_true(rd.err);
    repmarks_free(&back);
    buf_free(&b);
    repmarks_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_low),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
