/*
 * confusables.c - canonicalisation of OCR-confusable characters.
 *
 * The map is a sorted array of (member -> canonical) code point pairs,
 * searched with bsearch: groups are few (tens), texts are short, and a
 * sorted array keeps the module free of hashing and allocation per call.
 */
#include "confusables.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

struct cf_pair {
    uint32_t from;
    uint32_t to;
    size_t group; /* index of the group, to detect a member of two groups */
};

struct confusables {
    struct cf_pair *pairs; /* sorted by from; canonical chars map to themselves */
    size_t n;
};

/* The matcher's folding, so canonical forms agree with what it compares. */
static uint32_t fold(uint32_t cp)
{
    cp = utf8_fold_width(cp);
    if (cp >= 'A' && cp <= 'Z')
        cp += 'a' - 'A';
    return cp;
}

static int pair_cmp(const void *a, const void *b)
{
    const struct cf_pair *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return x->group < y->group ? -1 : x->group > y->group;
}

/*
 * Collects the (member -> canonical) pairs of all groups, sorted and with
 * in-group repeats removed. Returns NULL when the groups are valid (then
 * pairs and np are set; the array is malloc'd, NULL when empty), else
 * a constant message and nothing allocated.
 */
static const char *collect(const char *const *groups, size_t n,
                           struct cf_pair **pairs, size_t *np)
{
    const char *msg = NULL;
    size_t cap = 0, cnt = 0;
    struct cf_pair *v = NULL;

    for (size_t g = 0; g < n; g++) {
        const char *s = groups[g] ? groups[g] : "";
        uint32_t canon = 0, cp;
        size_t distinct = 0, k;
        for (; (k = utf8_next(s, &cp)) > 0; s += k) {
            if (cp == 0xfffd && k == 1) { /* a real U+FFFD takes 3 bytes */
                msg = "a confusable group is not valid UTF-8";
                goto out;
            }
            cp = fold(cp);
            if (cp == ' ' || cp == '\t' || cp == '\n') {
                msg = "a confusable group must not contain spaces";
                goto out;
            }
            if (distinct == 0)
                canon = cp;
            bool seen = false;
            for (size_t i = cnt - distinct; i < cnt; i++)
                if (v[i].from == cp)
                    seen = true;
            if (seen)
                continue;
            if (cnt == cap) {
                cap = cap ? cap * 2 : 32;
                struct cf_pair *nv = realloc(v, cap * sizeof(*v));
                if (!nv) {
                    fputs("dealstream: out of memory\n", stderr);
                    abort();
                }
                v = nv;
            }
            v[cnt++] = (struct cf_pair){.from = cp, .to = canon, .group = g};
            distinct++;
        }
        if (distinct < 2) {
            msg = "a confusable group needs at least two distinct characters";
            goto out;
        }
    }
    if (cnt)
        qsort(v, cnt, sizeof(*v), pair_cmp);
    for (size_t i = 1; i < cnt; i++) {
        if (v[i].from == v[i - 1].from) {
            msg = "a character belongs to two confusable groups";
            goto out;
        }
    }
out:
    if (msg) {
        free(v);
        return msg;
    }
    *pairs = v;
    *np = cnt;
    return NULL;
}

const char *confusables_check(const char *const *groups, size_t n)
{
    struct cf_pair *pairs = NULL;
    size_t np = 0;
    const char *msg = collect(groups, n, &pairs, &np);
    free(pairs);
    return msg;
}

int confusables_new(const char *const *groups, size_t n,
                    struct confusables **out, char *err, size_t errlen)
{
    *out = NULL;
    struct confusables *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *msg = collect(groups, n, &c->pairs, &c->n);
    if (msg) {
        snprintf(err, errlen, "%s", msg);
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void confusables_free(struct confusables *c)
{
    if (!c)
        return;
    free(c->pairs);
    free(c);
}

static int find_cmp(const void *key, const void *elem)
{
    uint32_t k = *(const uint32_t *)key;
    const struct cf_pair *p = elem;
    return k < p->from ? -1 : k > p->from;
}

void confusables_canon(const struct confusables *c, const char *text,
                       struct buf *out)
{
    const char *s = text ? text : "";
    size_t k;
    uint32_t cp;
    buf_reserve(out, strlen(s) + 1);
    for (; (k = utf8_next(s, &cp)) > 0; s += k) {
        if (cp == 0xfffd && k == 1) {
            buf_append(out, s, 1); /* not UTF-8: keep the byte as it is */
            continue;
        }
        cp = fold(cp);
        if (c && c->n) {
            const struct cf_pair *p =
                bsearch(&cp, c->pairs, c->n, sizeof(*c->pairs), find_cmp);
            if (p)
                cp = p->to;
        }
        utf8_put(out, cp);
    }
    buf_reserve(out, 1);
    out->data[out->len] = '\0';
}
