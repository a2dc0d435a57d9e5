/*
 * test_keyfilter.c - the key filter never forgets a key (no false
 * negatives, also with two threads adding while a third probes), and its
 * false positives stay near the design rate at capacity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "keyfilter.h"

#define N 200000

static size_t key_of(char *out, size_t cap, const char *kind, int i)
{
    return (size_t)snprintf(out, cap, "lead_rating/%s-%07d", kind, i);
}

static void test_no_false_negatives_and_rate(void **unused)
{
    (void)unused;
    struct keyfilter *f = keyfilter_new(N);
    char k[64];
    for (int i = 0; i < 1000; i++) /* empty: surely absent */
        assert_false(
            keyfilter_may_contain(f, k, key_of(k, sizeof(k), "cust", i)));
    int fresh = 0;
    for (int i = 0; i < N; i++)
        fresh += keyfilter_add(f, k, key_of(k, sizeof(k), "cust", i));
    assert_true(fresh > N - N / 50); /* all new, but for false positives */
    for (int i = 0; i < N; i++) /* again: none new */
        assert_false(keyfilter_add(f, k, key_of(k, sizeof(k), "cust", i)));
    for (int i = 0; i < N; i++) {
        size_t n = key_of(k, sizeof(k), "cust", i);
        assert_true(keyfilter_may_contain(f, k, n));
    }
    int fp = 0;
    for (int i = 0; i < N; i++) {
        size_t n = key_of(k, sizeof(k), "other", i);
        fp += keyfilter_may_contain(f, k, n);
    }
    /* 10 bits per key, 7 probes, blocked: ~1 %; 2 % leaves room for the
     * blocking's variance, and catches a broken hash (which gives far
     * more). */
    assert_true(fp < N / 50);
    assert_true(fp > 0); /* a filter that says "no" to everything fails */
    assert_int_equal(keyfilter_capacity(f), N);
    assert_true(keyfilter_bytes(f) >= N * 10 / 8);
    keyfilter_free(f);
    keyfilter_free(NULL);
}

struct adder {
    struct keyfilter *f;
    int from, to;
};

static void *add_range(void *arg)
{
    struct adder *a = arg;
    char k[64];
    for (int i = a->from; i < a->to; i++)
        keyfilter_add(a->f, k, key_of(k, sizeof(k), "cust", i));
    return NULL;
}

/* Two threads add disjoint halves while this one probes (the words are
 * shared, so lost updates would show as false negatives); run under
 * ThreadSanitizer too. */
static void test_concurrent_adds(void **unused)
{
    (void)unused;
    struct keyfilter *f = keyfilter_new(N);
    struct adder a = {f, 0, N / 2}, b = {f, N / 2, N};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, add_range, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, add_range, &b), 0);
    char k[64];
    for (int i = 0; i < N; i += 7)
        (void)keyfilter_may_contain(f, k, key_of(k, sizeof(k), "cust", i));
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    for (int i = 0; i < N; i++)
        assert_true(
            keyfilter_may_contain(f, k, key_of(k, sizeof(k), "cust", i)));
    keyfilter_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_false_negatives_and_rate),
        cmocka_unit_test(test_concurrent_adds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
