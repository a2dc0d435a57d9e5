/*
 * test_utf8.c - the shared UTF-8 primitives: decoding valid and broken
 * input without over-reading, encoding round trips, the width fold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static void test_next_on_strings(void **unused)
{
    (void)unused;
    uint32_t cp;
    assert_int_equal(utf8_next("", &cp), 0);
    assert_int_equal(cp, 0);
    assert_int_equal(utf8_next("a", &cp), 1);
    assert_int_equal(cp, 'a');
    assert_int_equal(utf8_next("已", &cp), 3);
    assert_int_equal(cp, 0x5df2);
    assert_int_equal(utf8_next("\xf0\x9f\x98\x80", &cp), 4);
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(utf8_next("\xc0\xaf", &cp), 1); /* overlong */
    assert_int_equal(cp, 0xfffd);
    assert_int_equal(utf8_next("\xed\xa0\x80", &cp), 1); /* surrogate */
    assert_int_equal(cp, 0xfffd);
    assert_int_equal(utf8_next("\xf4\x90\x80\x80", &cp), 1); /* > U+10FFFF */
    assert_int_equal(cp, 0xfffd);
    assert_int_equal(utf8_next("\xe5\x00", &cp), 1); /* truncated at NUL */
    assert_int_equal(cp, 0xfffd);
    assert_int_equal(utf8_next("\x80", &cp), 1); /* stray continuation */
    assert_int_equal(cp, 0xfffd);
}

static void test_decode_is_bounded(void **unused)
{
    (void)unused;
    uint32_t cp;
    const uint8_t han[] = {0xe5, 0xb7, 0xb2};
    assert_int_equal(utf8_decode(han, 3, &cp), 3);
    assert_int_equal(cp, 0x5df2);
    /* The same bytes cut short by the bound: one replacement byte. */
    assert_int_equal(utf8_decode(han, 2, &cp), 1);
    assert_int_equal(cp, 0xfffd);
}

static void test_put_round_trips(void **unused)
{
    (void)unused;
    const uint32_t cps[] = {0x24, 0xa2, 0x20ac, 0x5df2, 0xffe5, 0x1f600,
                            0x10ffff};
    const size_t lens[] = {1, 2, 3, 3, 3, 4, 4};
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
        buf_reset(&b);
        utf8_put(&b, cps[i]);
        assert_int_equal(b.len, lens[i]);
        uint32_t back;
        assert_int_equal(utf8_decode(b.data, b.len, &back), lens[i]);
        assert_int_equal(back, cps[i]);
    }
    buf_free(&b);
}

static void test_fold_width(void **unused)
{
    (void)unused;
    assert_int_equal(utf8_fold_width(0xff1f), '?'); /* ？ */
    assert_int_equal(utf8_fold_width(0xff21), 'A'); /* Ａ */
    assert_int_equal(utf8_fold_width(0xff10), '0'); /* ０ */
    assert_int_equal(utf8_fold_width(0x3000), ' '); /* ideographic space */
    assert_int_equal(utf8_fold_width(0xff5f), 0xff5f); /* past the range */
    assert_int_equal(utf8_fold_width(0x5df2), 0x5df2);
    assert_int_equal(utf8_fold_width('a'), 'a');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_on_strings),
        cmocka_unit_test(test_decode_is_bounded),
        cmocka_unit_test(test_put_round_trips),
        cmocka_unit_test(test_fold_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
