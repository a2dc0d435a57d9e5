/*
 * test_confusables.c - the OCR confusable canonicalisation on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "confusables.h"

static const char *const groups[] = {"己已巳", "未末", "戊戍戌", "0O〇",
                                     "1lI|丨"};

static struct confusables *build(void)
{
    struct confusables *c = NULL;
    char err[128] = "";
    assert_int_equal(confusables_new(groups, 5, &c, err, sizeof(err)), 0);
    assert_non_null(c);
    return c;
}

/* Canonical form of s, as a malloc'd string. */
static char *canon(const struct confusables *c, const char *s)
{
    struct buf b;
    buf_init(&b);
    confusables_canon(c, s, &b);
    char *r = strdup((const char *)b.data);
    buf_free(&b);
    return r;
}

static void assert_same_canon(const struct confusables *c, const char *a,
                              const char *b)
{
    char *x = canon(c, a), *y = canon(c, b);
    assert_string_equal(x, y);
    free(x);
    free(y);
}

static void test_cjk_groups_map_to_first(void **unused)
{
    (void)unused;
    struct confusables *c = build();
    char *s = canon(c, "已经签约，巳时");
    assert_string_equal(s, "己经签约,己时"); /* full-width comma folds too */
    free(s);
    s = canon(c, "末来戍戌");
    assert_string_equal(s, "未来戊戊");
    free(s);
    /* characters outside every group stay as they are */
    s = canon(c, "医保DRG分组");
    assert_string_equal(s, "医保drg分组");
    free(s);
    confusables_free(c);
}

static void test_latin_folding_is_consistent(void **unused)
{
    (void)unused;
    struct confusables *c = build();
    /* case and full width fold before the lookup, so every spelling of a
     * Latin word lands on the same canonical form */
    assert_same_canon(c, "ICU", "icu");
    assert_same_canon(c, "ICU", "ＩＣＵ");
    assert_same_canon(c, "POCT", "P0CT");
    assert_same_canon(c, "POCT", "p〇ct");
    assert_same_canon(c, "Il1", "111");
    char *s = canon(c, "Ｏ　l");
    assert_string_equal(s, "0 1");
    free(s);
    confusables_free(c);
}

static void test_null_map_folds_only(void **unused)
{
    (void)unused;
    char *s = canon(NULL, "ＡＢc 已");
    assert_string_equal(s, "abc 已");
    free(s);
}

static void test_invalid_utf8_is_copied(void **unused)
{
    (void)unused;
    struct confusables *c = build();
    char *s = canon(c, "a\xff" "O\xe5");
    assert_int_equal(strlen(s), 4);
    assert_memory_equal(s, "a\xff" "0\xe5", 4);
    free(s);
    confusables_free(c);
}

static void test_appends_to_existing_buffer(void **unused)
{
    (void)unused;
    struct buf b;
    buf_init(&b);
    buf_append(&b, "x:", 2);
    confusables_canon(NULL, "Y", &b);
    assert_int_equal(b.len, 3);
    assert_string_equal((const char *)b.data, "x:y");
    buf_free(&b);
}

static void test_check_rejects_bad_groups(void **unused)
{
    (void)unused;
    const char *dup[] = {"己已", "已巳"};
    assert_non_null(confusables_check(dup, 2));
    const char *single[] = {"己"};
    assert_non_null(confusables_check(single, 1));
    /* "oO" folds to one character */
    const char *same[] = {"oO"};
    assert_non_null(confusables_check(same, 1));
    const char *space[] = {"a b"};
    assert_non_null(confusables_check(space, 1));
    const char *bad[] = {"a\xff"};
    assert_non_null(confusables_check(bad, 1));
    assert_null(confusables_check(groups, 5));
    assert_null(confusables_check(NULL, 0));

    struct confusables *c = (struct confusables *)1;
    char err[128] = "";
    assert_int_equal(confusables_new(dup, 2, &c, err, sizeof(err)), -1);
    assert_null(c);
    assert_non_null(strstr(err, "two confusable groups"));
    confusables_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cjk_groups_map_to_first),
        cmocka_unit_test(test_latin_folding_is_consistent),
        cmocka_unit_test(test_null_map_folds_only),
        cmocka_unit_test(test_invalid_utf8_is_copied),
        cmocka_unit_test(test_appends_to_existing_buffer),
        cmocka_unit_test(test_check_rejects_bad_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
