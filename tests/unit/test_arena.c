/*
 * test_arena.c - the bump allocator: alignment, large allocations, reset
 * coalescing into one chunk, and string copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static void test_alignment_and_contents(void **state)
{
    (void)state;
    struct arena *a = arena_new(64);
    assert_non_null(a);
    char *prev = NULL;
    for (size_t n = 0; n < 200; n++) {
        char *p = arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_ptr_not_equal(p, prev);
        memset(p, (int)(n & 0xff), n); /* ASan checks the bounds */
        prev = p;
    }
    arena_free(a);
}

static void test_large_and_reset(void **state)
{
    (void)state;
    struct arena *a = arena_new(128);
    char *big = arena_alloc(a, 10000); /* larger than a chunk */
    memset(big, 'x', 10000);
    char *small = arena_alloc(a, 8);
    memset(small, 'y', 8);
    assert_int_equal(big[9999], 'x');
    arena_reset(a);
    /* After a reset the coalesced chunk holds the same demand again
     * without growing: both allocations are contiguous in one chunk. */
    char *p1 = arena_alloc(a, 10000);
    char *p2 = arena_alloc(a, 8);
    assert_ptr_equal(p2, p1 + 10000);
    arena_reset(a);
    assert_ptr_equal(arena_alloc(a, 1), p1);
    arena_free(a);
    arena_free(NULL);
}

static void test_strndup(void **state)
{
    (void)state;
    struct arena *a = arena_new(0); /* default chunk size */
    char *s = arena_strndup(a, "hello world", 5);
    assert_string_equal(s, "hello");
    char *e = arena_strndup(a, "", 0);
    assert_string_equal(e, "");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_contents),
        cmocka_unit_test(test_large_and_reset),
        cmocka_unit_test(test_strndup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
