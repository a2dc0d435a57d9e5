/*
 * test_sstr.c - short strings held in place: the inline/heap boundary,
 * absent vs empty, replacing a heap string with an inline one and back
 * (ASan sees a leak or a stale pointer), embedded NUL bytes, moving an
 * array of them with memmove, and the byte order of sstr_cmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sstr.h"

static void fill(char *p, size_t n, char c)
{
    memset(p, c, n);
    p[n] = '\0';
}

static void test_boundary(void **state)
{
    (void)state;
    char text[SSTR_INLINE + 2];
    /* The longest inline string, then one byte more (heap). */
    for (size_t n = SSTR_INLINE - 2; n <= SSTR_INLINE + 1; n++) {
        struct sstr s = {0};
        fill(text, n, 'x');
        sstr_set(&s, text, n);
        assert_int_equal(sstr_len(&s), n);
        assert_string_equal(sstr_str(&s), text);
        assert_int_equal(s.heap, n >= SSTR_INLINE);
        assert_true(sstr_eq(&s, text, n));
        assert_false(sstr_eq(&s, text, n - 1));
        sstr_free(&s);
        assert_string_equal(sstr_str(&s), "");
        assert_int_equal(sstr_len(&s), 0);
    }
}

static void test_absent_and_empty(void **state)
{
    (void)state;
    struct sstr z = {0}, e = {0}, a = {0};
    assert_string_equal(sstr_str(&z), ""); /* zeroed: empty */
    sstr_set_cstr(&e, "");
    sstr_set_cstr(&a, NULL);
    assert_non_null(sstr_str(&e));
    assert_null(sstr_str(&a));
    assert_true(sstr_eq(&e, "", 0));
    assert_false(sstr_eq(&a, "", 0)); /* absent equals nothing */
    assert_true(sstr_cmp(&a, &e) < 0);
    assert_true(sstr_cmp(&e, &a) > 0);
    assert_int_equal(sstr_cmp(&a, &a), 0);
    sstr_set_cstr(&a, "back");
    assert_string_equal(sstr_str(&a), "back");
    sstr_free(&e);
    sstr_free(&a);
}

/* Every transition releases what was held: ASan reports a leak or a use of
 * freed memory if one does not. */
static void test_replace(void **state)
{
    (void)state;
    char longer[SSTR_INLINE * 3];
    fill(longer, sizeof(longer) - 1, 'L');
    struct sstr s = {0};
    sstr_set_cstr(&s, "short");
    sstr_set_cstr(&s, longer);
    assert_string_equal(sstr_str(&s), longer);
    sstr_set_cstr(&s, longer + 1); /* heap to heap */
    assert_string_equal(sstr_str(&s), longer + 1);
    sstr_set_null(&s);
    assert_null(sstr_str(&s));
    sstr_set_cstr(&s, longer);
    sstr_set_cstr(&s, "tiny"); /* heap to inline */
    assert_string_equal(sstr_str(&s), "tiny");
    assert_false(s.heap);
    sstr_free(&s);
}

static void test_embedded_nul(void **state)
{
    (void)state;
    struct sstr s = {0}, t = {0};
    sstr_set(&s, "ab\0cd", 5);
    sstr_set(&t, "ab\0ce", 5);
    assert_int_equal(sstr_len(&s), 5);
    assert_memory_equal(sstr_str(&s), "ab\0cd", 6);
    assert_true(sstr_eq(&s, "ab\0cd", 5));
    assert_false(sstr_eq(&s, "ab", 2));
    assert_true(sstr_cmp(&s, &t) < 0); /* decided after the NUL */
    sstr_free(&s);
    sstr_free(&t);
}

/* No pointer into itself: an array of sstr survives memmove and realloc,
 * as graph nodes do when one is removed or the array grows. */
static void test_move(void **state)
{
    (void)state;
    char longer[SSTR_INLINE + 10];
    fill(longer, sizeof(longer) - 1, 'h');
    struct sstr *v = calloc(3, sizeof(*v));
    assert_non_null(v);
    sstr_set_cstr(&v[0], "zero");
    sstr_set_cstr(&v[1], longer);
    sstr_set_cstr(&v[2], "two");
    sstr_free(&v[0]);
    memmove(&v[0], &v[1], 2 * sizeof(*v));
    v = realloc(v, 8 * sizeof(*v));
    assert_non_null(v);
    assert_string_equal(sstr_str(&v[0]), longer);
    assert_string_equal(sstr_str(&v[1]), "two");
    sstr_free(&v[0]);
    sstr_free(&v[1]);
    free(v);
}

static void test_order(void **state)
{
    (void)state;
    struct sstr a = {0}, b = {0};
    const char *words[] = {"", "a", "ab", "abc", "abd", "b", "iot.x.CRITICAL"};
    size_t n = sizeof(words) / sizeof(words[0]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            sstr_set_cstr(&a, words[i]);
            sstr_set_cstr(&b, words[j]);
            int want = strcmp(words[i], words[j]);
            int got = sstr_cmp(&a, &b);
            assert_int_equal(want < 0, got < 0);
            assert_int_equal(want > 0, got > 0);
        }
    }
    sstr_free(&a);
    sstr_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_absent_and_empty),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
