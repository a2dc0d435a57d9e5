/*
 * buf.c - byte buffer and reader for the processors' state encoding.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b) { memset(b, 0, sizeof(*b)); }

void buf_free(struct buf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void buf_reset(struct buf *b) { b->len = 0; }

void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    b->data = p;
    b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_put_u8(struct buf *b, uint8_t v) { buf_append(b, &v, 1); }

void buf_put_varint(struct buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    buf_append(b, tmp, n);
}

void buf_put_i64(struct buf *b, int64_t v)
{
    buf_put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void buf_put_double(struct buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    uint8_t tmp[8];
    for (int i = 0; i < 8; i++)
        tmp[i] = (uint8_t)(bits >> (8 * i));
    buf_append(b, tmp, 8);
}

void buf_put_str(struct buf *b, const char *s)
{
    buf_put_strn(b, s, s ? strlen(s) : 0);
}

void buf_put_strn(struct buf *b, const char *s, size_t n)
{
    /* Length + 1, so 0 can mean "absent" and "" stays distinct from NULL. */
    if (!s) {
        buf_put_varint(b, 0);
        return;
    }
    buf_put_varint(b, (uint64_t)n + 1);
    buf_append(b, s, n);
}

void buf_reader_init(struct buf_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->end = r->p + len;
    r->err = false;
}

uint8_t buf_get_u8(struct buf_reader *r)
{
    if (r->err || r->p >= r->end) {
        r->err = true;
        return 0;
    }
    return *r->p++;
}

uint64_t buf_get_varint(struct buf_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t byte = buf_get_u8(r);
        if (r->err)
            return 0;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return v;
    }
    r->err = true; /* more than 10 bytes: corrupt */
    return 0;
}

int64_t buf_get_i64(struct buf_reader *r)
{
    uint64_t z = buf_get_varint(r);
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

double buf_get_double(struct buf_reader *r)
{
    if (r->err || r->end - r->p < 8) {
        r->err = true;
        return 0;
    }
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

bool buf_get_strview(struct buf_reader *r, const char **s, size_t *n)
{
    uint64_t len = buf_get_varint(r);
    if (r->err || len == 0)
        return false;
    len--;
    if ((uint64_t)(r->end - r->p) < len) {
        r->err = true;
        return false;
    }
    *s = (const char *)r->p;
    *n = (size_t)len;
    r->p += len;
    return true;
}

char *buf_get_str(struct buf_reader *r)
{
    const char *p;
    size_t n;
    if (!buf_get_strview(r, &p, &n))
        return NULL;
    char *s = malloc(n + 1);
    if (!s) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}
