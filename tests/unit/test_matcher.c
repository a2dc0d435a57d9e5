/*
 * test_matcher.c - the keyword matcher: normalisation and multi-pattern
 * scanning over Chinese, English and mixed text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "matcher.h"

#define MAX_HITS 32

struct hits {
    unsigned id[MAX_HITS];
    size_t from[MAX_HITS], to[MAX_HITS];
    size_t n;
    size_t stop_after; /* 0: never stop */
};

static int collect(void *arg, unsigned id, size_t from, size_t to)
{
    struct hits *h = arg;
    if (h->n < MAX_HITS) {
        h->id[h->n] = id;
        h->from[h->n] = from;
        h->to[h->n] = to;
    }
    h->n++;
    return h->stop_after && h->n >= h->stop_after;
}

static struct matcher *build(const char *const *phrases, const unsigned *ids,
                             size_t n)
{
    struct matcher_builder *mb = matcher_builder_new();
    struct matcher *m = NULL;
    char err[256];
    assert_non_null(mb);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(matcher_builder_add(mb, phrases[i], ids[i]), 0);
    assert_int_equal(matcher_build(mb, &m, err, sizeof(err)), 0);
    matcher_builder_free(mb);
    assert_non_null(m);
    return m;
}

static void scan(const struct matcher *m, const char *text, struct hits *h)
{
    memset(h, 0, sizeof(*h));
    assert_int_equal(matcher_scan(m, text, NULL, collect, h), 0);
}

static void norm_is(const char *in, const char *want)
{
    struct buf b;
    buf_init(&b);
    matcher_normalize(in, &b);
    assert_int_equal(b.len, strlen(want));
    assert_string_equal((const char *)b.data, want);
    buf_free(&b);
}

static void test_normalize(void **state)
{
    (void)state;
    norm_is("Our PRODUCT", "our product");
    norm_is("  our \t\n  product  ", "our product");
    norm_is("等 保 三 级", "等保三级");
    norm_is("等保 三级 MLPS 认证", "等保三级mlps认证");
    norm_is("ＡＢＣ？１２３！", "abc?123!");
    norm_is("好的\u3000谢谢", "好的谢谢");
    norm_is("Ça VA Über", "ça va über");
    norm_is("we use ROI  analysis", "we use roi analysis");
    norm_is("", "");
    norm_is("   ", "");
    /* Both ways across the ASCII fast path's edges. */
    norm_is("认证 MLPS 认证", "认证mlps认证");
    norm_is("Über ROI\tÜber", "über roi über");
    /* Invalid bytes grow (U+FFFD is 3 bytes) past what the text's length
     * reserved (and the buffer's first 64 bytes); the ASCII after them
     * must still fit. */
    char in[512] = "", want[1024] = "";
    for (int i = 0; i < 100; i++) {
        strcat(in, "\xff");
        strcat(want, "\xef\xbf\xbd");
    }
    strcat(in, " ");
    strcat(want, " ");
    for (int i = 0; i < 300; i++) {
        strcat(in, "A");
        strcat(want, "a");
    }
    norm_is(in, want);
}

static void test_chinese(void **state)
{
    (void)state;
    const char *p[] = {"等保三级", "等保三级合规性", "贵院"};
    unsigned ids[] = {1, 1, 2};
    struct matcher *m = build(p, ids, 3);
    struct hits h;

    scan(m, "请问你们是否满足等保三级合规性要求？", &h);
    /* Overlapping phrases of one id: both are reported, shorter end first. */
    assert_int_equal(h.n, 2);
    assert_int_equal(h.id[0], 1);
    assert_int_equal(h.id[1], 1);
    assert_true(h.to[0] < h.to[1]);
    assert_int_equal(h.from[0], h.from[1]);

    /* ASR spaces between characters and full-width punctuation. */
    scan(m, "贵 院 的 等 保 三 级 ， 怎么办", &h);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.id[0], 2);
    assert_int_equal(h.id[1], 1);

    scan(m, "等保二级就够了", &h);
    assert_int_equal(h.n, 0);
    matcher_free(m);
}

static void test_english_case_and_boundary(void **state)
{
    (void)state;
    const char *p[] = {"Our Product", "ROI", "price", "value"};
    unsigned ids[] = {10, 11, 12, 13};
    struct matcher *m = build(p, ids, 4);
    struct hits h;

    scan(m, "OUR PRODUCT has great roi.", &h);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.id[0], 10);
    assert_int_equal(h.from[0], 0);
    assert_int_equal(h.to[0], 11);
    assert_int_equal(h.id[1], 11);

    /* No match inside a Latin word, nor across a removed space. */
    scan(m, "That was heroic; let me evaluate ourproduct", &h);
    assert_int_equal(h.n, 0);

    /* The right side is open: inflections match. */
    scan(m, "Prices went up, pricing too", &h);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.id[0], 12);

    /* Multiple spaces and a full-width letter in the text. */
    scan(m, "our    ｐroduct", &h);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.id[0], 10);
    matcher_free(m);
}

static void test_mixed(void **state)
{
    (void)state;
    const char *p[] = {"MLPS", "安全认证", "our solution", "测评"};
    unsigned ids[] = {5, 5, 6, 5};
    struct matcher *m = build(p, ids, 4);
    struct hits h;
    struct buf norm;

    buf_init(&norm);
    memset(&h, 0, sizeof(h));
    assert_int_equal(matcher_scan(m, "我们有MLPS 安全 认证, and Our  Solution 已通过测评",
                                  &norm, collect, &h), 0);
    assert_string_equal((const char *)norm.data,
                        "我们有mlps安全认证, and our solution已通过测评");
    assert_int_equal(h.n, 4);
    assert_int_equal(h.id[0], 5);
    assert_memory_equal(norm.data + h.from[0], "mlps", 4);
    assert_int_equal(h.id[1], 5);
    assert_int_equal(h.id[2], 6);
    assert_int_equal(h.id[3], 5);
    for (size_t i = 1; i < h.n; i++)
        assert_true(h.to[i - 1] <= h.to[i]);

    /* Stop early. */
    memset(&h, 0, sizeof(h));
    h.stop_after = 2;
    assert_int_equal(matcher_scan(m, "MLPS MLPS MLPS MLPS", NULL, collect, &h),
                     0);
    assert_int_equal(h.n, 2);
    buf_free(&norm);
    matcher_free(m);
}

static void test_repeats_and_shared_ids(void **state)
{
    (void)state;
    const char *p[] = {"你们产品", "我们的产品", "你们产品", "产品"};
    unsigned ids[] = {1, 1, 1, 2};
    struct matcher *m = build(p, ids, 4);
    struct hits h;

    /* The duplicate phrase under the same id is reported once per
     * occurrence; "产品" (another id) overlaps both and, ending at the same
     * byte but starting later, comes second. */
    scan(m, "你们产品很好，我们的产品更好", &h);
    assert_int_equal(h.n, 4);
    assert_int_equal(h.id[0], 1);
    assert_int_equal(h.id[1], 2);
    assert_int_equal(h.id[2], 1);
    assert_int_equal(h.id[3], 2);
    assert_int_equal(h.to[0], h.to[1]);
    assert_true(h.from[0] < h.from[1]);
    matcher_free(m);
}

static void test_empty_and_invalid(void **state)
{
    (void)state;
    struct matcher_builder *mb = matcher_builder_new();
    struct matcher *m = NULL;
    char err[128];
    struct hits h;

    assert_int_equal(matcher_builder_add(mb, "", 1), -1);
    assert_int_equal(matcher_builder_add(mb, "  \u3000 ", 1), -1);
    assert_int_equal(matcher_builder_add(mb, NULL, 1), -1);
    assert_int_equal(matcher_build(mb, &m, err, sizeof(err)), 0);
    assert_non_null(m);
    scan(m, "anything at all", &h);
    assert_int_equal(h.n, 0);
    matcher_free(m);
    matcher_builder_free(mb);

    /* Invalid UTF-8 in the text does not crash and still matches around. */
    const char *p[] = {"price"};
    unsigned ids[] = {3};
    m = build(p, ids, 1);
    scan(m, "\xff\xfe price \xc3 \xe4\xb8 price\xf0\x9f", &h);
    assert_int_equal(h.n, 2);
    struct buf b;
    buf_init(&b);
    matcher_normalize("a\xffz", &b);
    assert_string_equal((const char *)b.data, "a\xef\xbf\xbdz");
    buf_free(&b);
    matcher_free(m);
    matcher_free(NULL);
    matcher_builder_free(NULL);
    /* A NULL matcher never matches. */
    scan(NULL, "price", &h);
    assert_int_equal(h.n, 0);
}

static void test_many_patterns(void **state)
{
    (void)state;
    struct matcher_builder *mb = matcher_builder_new();
    struct matcher *m = NULL;
    char err[128], w[32];
    struct hits h;

    for (unsigned i = 0; i < 2000; i++) {
        snprintf(w, sizeof(w), "kw%u", i);
        assert_int_equal(matcher_builder_add(mb, w, i), 0);
    }
    assert_int_equal(matcher_build(mb, &m, err, sizeof(err)), 0);
    matcher_builder_free(mb);
    scan(m, "kw1999 and kw7", &h);
    /* kw1, kw19, kw199, kw1999 share a start; then kw7. */
    assert_int_equal(h.n, 5);
    assert_int_equal(h.id[0], 1);
    assert_int_equal(h.id[3], 1999);
    assert_int_equal(h.id[4], 7);
    matcher_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_chinese),
        cmocka_unit_test(test_english_case_and_boundary),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_repeats_and_shared_ids),
        cmocka_unit_test(test_empty_and_invalid),
        cmocka_unit_test(test_many_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
