/*
 * sstr.c - short strings held in place (see sstr.h).
 */
#include "sstr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void release(struct sstr *s)
{
    if (s->heap)
        free(s->u.ptr);
    s->heap = false;
    s->null = false;
    s->len = 0;
    s->u.in[0] = '\0';
}

void sstr_set(struct sstr *s, const char *p, size_t len)
{
    if (len > UINT32_MAX) {
        fputs("dealstream: string too long\n", stderr);
        abort();
    }
    release(s);
    char *dst = s->u.in;
    if (len >= SSTR_INLINE) {
        dst = malloc(len + 1);
        if (!dst) {
            fputs("dealstream: out of memory\n", stderr);
            abort();
        }
        s->u.ptr = dst;
        s->heap = true;
    }
    memcpy(dst, p, len);
    dst[len] = '\0';
    s->len = (uint32_t)len;
}

void sstr_set_cstr(struct sstr *s, const char *p)
{
    if (!p)
        sstr_set_null(s);
    else
        sstr_set(s, p, strlen(p));
}

void sstr_set_null(struct sstr *s)
{
    release(s);
    s->null = true;
}

void sstr_free(struct sstr *s) { release(s); }

bool sstr_eq(const struct sstr *s, const char *p, size_t len)
{
    return !s->null && s->len == len && memcmp(sstr_str(s), p, len) == 0;
}

int sstr_cmp(const struct sstr *a, const struct sstr *b)
{
    if (a->null || b->null)
        return a->null == b->null ? 0 : a->null ? -1 : 1;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(sstr_str(a), sstr_str(b), n);
    if (c)
        return c;
    return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}
