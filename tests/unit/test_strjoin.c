/*
 * test_strjoin.c - strjoin2/3 give snprintf's bytes and length for every
 * buffer size, including the cut ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "strjoin.h"

#include <stdio.h>
#include <string.h>

static void check(const char *a, const char *b, const char *c)
{
    size_t total = strlen(a) + strlen(b) + strlen(c);
    for (size_t n = 0; n <= total + 2; n++) {
        char want[64], got[64];
        memset(want, 'x', sizeof(want));
        memset(got, 'x', sizeof(got));
        int w = snprintf(want, n, "%s%s%s", a, b, c);
        size_t g = strjoin3(got, n, a, b, c);
        assert_int_equal(g, (size_t)w);
        /* Same bytes written, none past them. */
        assert_memory_equal(got, want, sizeof(got));
        if (!*c) {
            memset(got, 'x', sizeof(got));
            assert_int_equal(strjoin2(got, n, a, b), (size_t)w);
            assert_memory_equal(got, want, sizeof(got));
        }
    }
}

static void test_matches_snprintf(void **state)
{
    (void)state;
    check("", "", "");
    check("cust-1", "", "");
    check("cust-1", "/ctx", "");
    check("cust-1", "/m/", "meeting-9");
    check("iot.", "OVERHEAT", ".RED");
    check("", "b", "");
    check("abcdefghij", "klmnopqrst", "uvwxyz0123");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
