/*
 * matcher.c - keyword libraries on Hyperscan.
 *
 * Patterns are literals, so they are compiled with hs_compile_lit_multi():
 * no regex escaping, no surprises from phrases that contain '.' or '('.
 * Both sides are normalised to one canonical form first (see matcher.h), and
 * because the normal form is valid UTF-8 and UTF-8 is self-synchronising, a
 * byte-level literal match always starts and ends on character boundaries;
 * HS_FLAG_UTF8 is therefore not needed. Case folding is done by our own
 * normaliser (Hyperscan's CASELESS only knows ASCII).
 *
 * Hyperscan ids are pattern indexes; the caller's ids (which may repeat) and
 * the pattern lengths live in a side table, so a match's start is end - len
 * and HS_FLAG_SOM_LEFTMOST (which slows the engine down) is not needed.
 *
 * Latin word boundary: a pattern that begins with a Latin letter or digit only
 * matches where the text does not continue a word to its left, so "roi" does
 * not fire inside "heroic" and "value" not inside "evaluate". The right side
 * is left open on purpose, so "price" also matches "prices" and "pricing".
 *
 * Matches are collected, filtered and sorted by (end, start, id) before the
 * callback sees them, so the order is deterministic whatever the engine does.
 * The scratch space and the match array are allocated once per matcher
 * (single-threaded use, as documented in matcher.h).
 */
#include "matcher.h"

#include <hs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define MATCHER_MAX_PATTERNS 100000

struct pattern {
    char *norm; /* normalised phrase, owned */
    size_t len; /* bytes */
    unsigned id;
    int word_start; /* begins with a Latin letter/digit: needs a boundary */
};

struct matcher_builder {
    struct pattern *v;
    size_t n, cap;
};

struct hit {
    unsigned id;
    size_t from, to;
};

struct matcher {
    hs_database_t *db; /* NULL when there are no patterns */
    hs_scratch_t *scratch;
    struct pattern *pats; /* indexed by Hyperscan id */
    size_t n_pats;
    /* Per-scan working space, reused. */
    struct hit *hits;
    size_t n_hits, cap_hits;
    const uint8_t *text; /* normalised text during a scan */
};

/* ---- character classes (decoding: utf8.h) ---- */

static int is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 ||
           cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200b) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000 || cp == 0xfeff;
}

/* Characters around which ASR spaces carry no meaning: Han, kana, Hangul,
 * CJK punctuation and the full-width forms that do not fold to ASCII. */
static int is_cjk(uint32_t cp)
{
    return (cp >= 0x2e80 && cp <= 0x2fdf) || (cp >= 0x3001 && cp <= 0x303f) ||
           (cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x3100 && cp <= 0x31ff) ||
           (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) ||
           (cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0xf900 && cp <= 0xfaff) ||
           (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xffef) ||
           (cp >= 0x20000 && cp <= 0x3ffff);
}

/* Simple lower-casing of ASCII, Latin-1, Latin Extended-A, Greek and
 * Cyrillic capitals: what sales text in European languages needs. */
static uint32_t fold_case(uint32_t cp)
{
    if (cp >= 'A' && cp <= 'Z')
        return cp + 0x20;
    if (cp < 0xc0)
        return cp;
    if (cp <= 0xde && cp != 0xd7)
        return cp + 0x20;
    if (cp >= 0x100 && cp <= 0x137 && cp != 0x130)
        return cp | 1;
    if (cp >= 0x139 && cp <= 0x148 && (cp & 1))
        return cp + 1;
    if (cp >= 0x14a && cp <= 0x177)
        return cp | 1;
    if (cp == 0x178)
        return 0xff;
    if (cp >= 0x179 && cp <= 0x17e && (cp & 1))
        return cp + 1;
    if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
        return cp + 0x20;
    if (cp >= 0x410 && cp <= 0x42f)
        return cp + 0x20;
    if (cp >= 0x400 && cp <= 0x40f)
        return cp + 0x50;
    return cp;
}

/* A letter or digit of a Latin-script word (after folding). */
static int is_word(uint32_t cp)
{
    return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') ||
           (cp >= 'A' && cp <= 'Z') || (cp >= 0xc0 && cp <= 0x24f &&
                                        cp != 0xd7 && cp != 0xf7);
}

static inline void put_ascii(struct buf *out, uint8_t c)
{
    if (out->len == out->cap)
        buf_reserve(out, 1);
    out->data[out->len++] = c;
}

void matcher_normalize(const char *text, struct buf *out)
{
    const uint8_t *s = (const uint8_t *)(text ? text : "");
    size_t n = strlen((const char *)s);
    size_t i = 0;
    int have_prev = 0;   /* something was emitted before */
    int prev_cjk = 0;    /* the last emitted character is CJK */
    int pending_sp = 0;  /* whitespace seen since the last emitted char */

    /* ASCII, most of the text in practice, is handled inline rather than
     * through the decode and put calls. The output is at most n + 1 bytes
     * for valid UTF-8 (folding does not lengthen it, a space goes in only
     * where one was); put_ascii() still checks, for invalid bytes, which
     * become 3-byte U+FFFD. */
    buf_reserve(out, n + 1);
    while (i < n) {
        uint32_t cp = s[i];
        if (cp < 0x80) { /* as below, for a code point that is its byte */
            i++;
            if (cp == ' ' || (cp >= 0x09 && cp <= 0x0d)) {
                pending_sp = 1;
                continue;
            }
            if (cp >= 'A' && cp <= 'Z')
                cp += 0x20;
            if (pending_sp && have_prev && !prev_cjk)
                put_ascii(out, ' ');
            pending_sp = 0;
            put_ascii(out, (uint8_t)cp);
            have_prev = 1;
            prev_cjk = 0;
            continue;
        }
        i += utf8_decode(s + i, n - i, &cp);
        cp = fold_case(utf8_fold_width(cp));
        if (is_space(cp)) {
            pending_sp = 1;
            continue;
        }
        if (cp == 0)
            continue;
        int cjk = is_cjk(cp);
        if (pending_sp && have_prev && !prev_cjk && !cjk)
            buf_put_u8(out, ' ');
        pending_sp = 0;
        utf8_put(out, cp);
        have_prev = 1;
        prev_cjk = cjk;
    }
    buf_reserve(out, 1);
    out->data[out->len] = '\0';
}

/* ---- builder ---- */

struct matcher_builder *matcher_builder_new(void)
{
    return calloc(1, sizeof(struct matcher_builder));
}

void matcher_builder_free(struct matcher_builder *mb)
{
    if (!mb)
        return;
    for (size_t i = 0; i < mb->n; i++)
        free(mb->v[i].norm);
    free(mb->v);
    free(mb);
}

int matcher_builder_add(struct matcher_builder *mb, const char *phrase,
                        unsigned id)
{
    struct buf b;
    int rc = -1;

    buf_init(&b);
    if (!mb || !phrase)
        goto out;
    matcher_normalize(phrase, &b);
    if (b.len == 0 || mb->n >= MATCHER_MAX_PATTERNS)
        goto out;
    /* The same phrase twice under one id would report every hit twice. */
    for (size_t i = 0; i < mb->n; i++) {
        if (mb->v[i].id == id && mb->v[i].len == b.len &&
            memcmp(mb->v[i].norm, b.data, b.len) == 0) {
            rc = 0;
            goto out;
        }
    }
    if (mb->n == mb->cap) {
        size_t cap = mb->cap ? mb->cap * 2 : 16;
        struct pattern *v = realloc(mb->v, cap * sizeof(*v));
        if (!v)
            goto out;
        mb->v = v;
        mb->cap = cap;
    }
    uint32_t first;
    utf8_decode(b.data, b.len, &first);
    mb->v[mb->n] = (struct pattern){.norm = (char *)b.data,
                                    .len = b.len,
                                    .id = id,
                                    .word_start = is_word(first)};
    mb->n++;
    b.data = NULL; /* now owned by the builder */
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

/* ---- compile ---- */

int matcher_build(const struct matcher_builder *mb, struct matcher **out,
                  char *err, size_t errlen)
{
    struct matcher *m = NULL;
    const char **exprs = NULL;
    unsigned *flags = NULL;
    unsigned *ids = NULL;
    size_t *lens = NULL;
    hs_compile_error_t *cerr = NULL;
    int rc = -1;

    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!mb || mb->n == 0) {
        rc = 0;
        goto out;
    }
    m->pats = calloc(mb->n, sizeof(*m->pats));
    exprs = calloc(mb->n, sizeof(*exprs));
    flags = calloc(mb->n, sizeof(*flags));
    ids = calloc(mb->n, sizeof(*ids));
    lens = calloc(mb->n, sizeof(*lens));
    if (!m->pats || !exprs || !flags || !ids || !lens) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < mb->n; i++) {
        m->pats[i] = mb->v[i];
        m->pats[i].norm = NULL; /* the builder keeps the text */
        exprs[i] = mb->v[i].norm;
        lens[i] = mb->v[i].len;
        ids[i] = (unsigned)i;
        flags[i] = 0;
    }
    m->n_pats = mb->n;
    if (hs_compile_lit_multi(exprs, flags, ids, lens, (unsigned)mb->n,
                             HS_MODE_BLOCK, NULL, &m->db,
                             &cerr) != HS_SUCCESS) {
        snprintf(err, errlen, "keyword library: %s (pattern %d)",
                 cerr && cerr->message ? cerr->message : "compile error",
                 cerr ? cerr->expression : -1);
        goto out;
    }
    if (hs_alloc_scratch(m->db, &m->scratch) != HS_SUCCESS) {
        snprintf(err, errlen, "keyword library: cannot allocate scratch");
        goto out;
    }
    rc = 0;
out:
    if (cerr)
        hs_free_compile_error(cerr);
    free(exprs);
    free(flags);
    free(ids);
    free(lens);
    if (rc == 0) {
        *out = m;
    } else {
        matcher_free(m);
    }
    return rc;
}

void matcher_free(struct matcher *m)
{
    if (!m)
        return;
    if (m->scratch)
        hs_free_scratch(m->scratch);
    if (m->db)
        hs_free_database(m->db);
    free(m->pats);
    free(m->hits);
    free(m);
}

/* ---- scan ---- */

/* Whether the character ending just before byte `at` is part of a word. */
static int word_before(const uint8_t *text, size_t at)
{
    if (at == 0)
        return 0;
    size_t i = at - 1;
    while (i > 0 && (text[i] & 0xc0) == 0x80 && at - i < 4)
        i--;
    uint32_t cp;
    utf8_decode(text + i, at - i, &cp);
    return is_word(cp);
}

static int on_hs_match(unsigned int idx, unsigned long long from,
                       unsigned long long to, unsigned int flags, void *ctx)
{
    struct matcher *m = ctx;
    (void)from;
    (void)flags;
    if (idx >= m->n_pats)
        return 0;
    const struct pattern *p = &m->pats[idx];
    size_t start = (size_t)to - p->len;
    if (p->word_start && word_before(m->text, start))
        return 0;
    if (m->n_hits == m->cap_hits) {
        size_t cap = m->cap_hits ? m->cap_hits * 2 : 32;
        struct hit *v = realloc(m->hits, cap * sizeof(*v));
        if (!v)
            return 1; /* stop: reported as a scan error */
        m->hits = v;
        m->cap_hits = cap;
    }
    m->hits[m->n_hits++] = (struct hit){p->id, start, (size_t)to};
    return 0;
}

static int hit_cmp(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int matcher_scan(const struct matcher *mc, const char *text, struct buf *norm,
                 matcher_hit_fn fn, void *arg)
{
    /* The matcher is logically immutable; the scratch and hit array are
     * working space owned by it. */
    struct matcher *m = (struct matcher *)mc;
    struct buf local;
    struct buf *nb = norm ? norm : &local;
    int rc = -1;

    buf_init(&local);
    buf_reset(nb);
    matcher_normalize(text, nb);
    if (!m || !m->db || nb->len == 0) {
        rc = 0;
        goto out;
    }
    if (nb->len > UINT32_MAX)
        goto out;
    m->n_hits = 0;
    m->text = nb->data;
    hs_error_t err = hs_scan(m->db, (const char *)nb->data,
                             (unsigned int)nb->len, 0, m->scratch,
                             on_hs_match, m);
    m->text = NULL;
    if (err != HS_SUCCESS)
        goto out;
    if (m->n_hits > 1)
        qsort(m->hits, m->n_hits, sizeof(*m->hits), hit_cmp);
    for (size_t i = 0; i < m->n_hits; i++)
        if (fn && fn(arg, m->hits[i].id, m->hits[i].from, m->hits[i].to))
            break;
    rc = 0;
out:
    buf_free(&local);
    return rc;
}
