/*
 * test_statecodec.c - the processors' shared state readers: counts that
 * cannot be genuine, 32-bit overflow and absent strings set the reader's
 * error instead of producing a huge allocation or a silent zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "statecodec.h"

static void test_count(void **state)
{
    (void)state;
    struct buf b;
    struct buf_reader r;
    buf_init(&b);
    buf_put_varint(&b, 3);
    buf_append(&b, "abc", 3);
    buf_reader_init(&r, b.data, b.len);
    assert_int_equal(statecodec_count(&r, 10), 3);
    assert_false(r.err);
    /* More than max. */
    buf_reader_init(&r, b.data, b.len);
    assert_int_equal(statecodec_count(&r, 2), 0);
    assert_true(r.err);
    /* More elements than bytes left. */
    buf_reset(&b);
    buf_put_varint(&b, 1000);
    buf_reader_init(&r, b.data, b.len);
    assert_int_equal(statecodec_count(&r, 100000), 0);
    assert_true(r.err);
    buf_free(&b);
}

static void test_u32_and_strings(void **state)
{
    (void)state;
    struct buf b;
    struct buf_reader r;
    buf_init(&b);
    buf_put_varint(&b, UINT32_MAX);
    buf_put_varint(&b, (uint64_t)UINT32_MAX + 1);
    buf_reader_init(&r, b.data, b.len);
    assert_int_equal(statecodec_u32(&r), UINT32_MAX);
    assert_false(r.err);
    (void)statecodec_u32(&r);
    assert_true(r.err);

    buf_reset(&b);
    buf_put_str(&b, "x");
    buf_put_str(&b, NULL);
    buf_reader_init(&r, b.data, b.len);
    char *s = statecodec_req_str(&r);
    assert_string_equal(s, "x");
    free(s);
    assert_false(r.err);
    assert_null(statecodec_req_str(&r));
    assert_true(r.err);
    buf_free(&b);

    assert_null(statecodec_strdup(NULL));
    s = statecodec_strdup("copy");
    assert_string_equal(s, "copy");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_u32_and_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
