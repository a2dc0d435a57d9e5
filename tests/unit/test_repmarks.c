/*
 * test_repmarks.c - the marks that apply each repartition record once:
 * newer records pass, copies and older ones do not, per origin partition;
 * the oldest origin is forgotten beyond REPMARKS_MAX; the encoding reads
 * back, and a count beyond the bound is refused.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
