/*
 * test_dlq.c - a dead-letter record always fits the limit it is given,
 * keeps as much of the original as that allows, and says what it cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dlq.h"

static const struct kafka_header hdrs[] = {
    {"__connect.errors.topic", "ops.iot-alerts"},
    {"__connect.errors.exception.class.name", "bad_magic"},
};
#define N_HDRS 2

static size_t weight(const struct dlq_fit *f)
{
    size_t w = f->klen + f->vlen + DLQ_FRAMING_BYTES;
    for (size_t i = 0; i < N_HDRS; i++)
        w += strlen(hdrs[i].name) + strlen(hdrs[i].value) + DLQ_HEADER_OVERHEAD;
    for (size_t i = 0; i < f->n_extra; i++)
        w += strlen(f->extra[i].name) + strlen(f->extra[i].value) +
             DLQ_HEADER_OVERHEAD;
    return w;
}

static const char *extra(const struct dlq_fit *f, const char *name)
{
    for (size_t i = 0; i < f->n_extra; i++)
        if (strcmp(f->extra[i].name, name) == 0)
            return f->extra[i].value;
    return NULL;
}

static void test_small_record_kept_whole(void **unused)
{
    (void)unused;
    struct dlq_fit f;
    dlq_fit(DLQ_TRUNCATE, 1000000, hdrs, N_HDRS, 2, 5000, &f);
    assert_int_equal(f.klen, 2);
    assert_int_equal(f.vlen, 5000);
    assert_int_equal(f.n_extra, 0);
}

static void test_truncate_fits_and_says_so(void **unused)
{
    (void)unused;
    struct dlq_fit f;
    dlq_fit(DLQ_TRUNCATE, 1000000, hdrs, N_HDRS, 2, 1100000, &f);
    assert_int_equal(f.klen, 2);
    assert_true(f.vlen > 990000 && f.vlen < 1000000);
    assert_true(weight(&f) <= 1000000);
    assert_string_equal(extra(&f, DLQ_HDR_OVERSIZE), "truncated");
    assert_string_equal(extra(&f, DLQ_HDR_VALUE_SIZE), "1100000");
    assert_null(extra(&f, DLQ_HDR_KEY_SIZE));
}

static void test_reference_drops_the_value(void **unused)
{
    (void)unused;
    struct dlq_fit f;
    dlq_fit(DLQ_REFERENCE, 1000000, hdrs, N_HDRS, 2, 1100000, &f);
    assert_int_equal(f.klen, 2);
    assert_int_equal(f.vlen, 0);
    assert_string_equal(extra(&f, DLQ_HDR_OVERSIZE), "reference");
    assert_string_equal(extra(&f, DLQ_HDR_VALUE_SIZE), "1100000");
}

static void test_huge_key_cut_too(void **unused)
{
    (void)unused;
    struct dlq_fit f;
    dlq_fit(DLQ_TRUNCATE, 100000, hdrs, N_HDRS, 500000, 500000, &f);
    assert_true(f.klen < 100000 / DLQ_KEY_SHARE + 1);
    assert_true(weight(&f) <= 100000);
    assert_string_equal(extra(&f, DLQ_HDR_KEY_SIZE), "500000");
    assert_string_equal(extra(&f, DLQ_HDR_VALUE_SIZE), "500000");
}

static void test_limit_below_the_headers(void **unused)
{
    (void)unused;
    struct dlq_fit f; /* nothing fits: nothing of key or value is kept */
    dlq_fit(DLQ_TRUNCATE, 10, hdrs, N_HDRS, 2, 100, &f);
    assert_int_equal(f.klen, 0);
    assert_int_equal(f.vlen, 0);
    assert_string_equal(extra(&f, DLQ_HDR_VALUE_SIZE), "100");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_record_kept_whole),
        cmocka_unit_test(test_truncate_fits_and_says_so),
        cmocka_unit_test(test_reference_drops_the_value),
        cmocka_unit_test(test_huge_key_cut_too),
        cmocka_unit_test(test_limit_below_the_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
