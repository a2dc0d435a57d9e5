/*
 * buf.h - growable byte buffer and a bounds-checked reader.
 *
 * The state encoding of processors is built on these: varints, zigzag ints,
 * little-endian doubles and length-prefixed strings. A reader never reads past
 * its end; the first short read sets `err` and every later read returns zero,
 * so a decoder checks once at the end instead of after every field.
 */
#ifndef DS_BUF_H
#define DS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data; /* owned; NULL until the first write */
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b); /* accepts a zeroed buf */
void buf_reset(struct buf *b); /* len = 0, keeps the memory */
/* Aborts on out-of-memory: callers cannot do anything useful about it. */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_put_u8(struct buf *b, uint8_t v);
void buf_put_varint(struct buf *b, uint64_t v);
void buf_put_i64(struct buf *b, int64_t v); /* zigzag varint */
void buf_put_double(struct buf *b, double v);
void buf_put_str(struct buf *b, const char *s); /* NULL encodes as absent */
/* buf_put_str of n bytes whose length the caller knows (no strlen). */
void buf_put_strn(struct buf *b, const char *s, size_t n);

struct buf_reader {
    const uint8_t *p;
    const uint8_t *end;
    bool err;
};

void buf_reader_init(struct buf_reader *r, const void *data, size_t len);
uint8_t buf_get_u8(struct buf_reader *r);
uint64_t buf_get_varint(struct buf_reader *r);
int64_t buf_get_i64(struct buf_reader *r);
double buf_get_double(struct buf_reader *r);
/* Returns a malloc'd copy (caller frees), or NULL when absent or on error. */
char *buf_get_str(struct buf_reader *r);
/* The string in place, no copy: true with *s (not NUL-terminated) and *n,
 * false when absent or on error (r->err tells which). */
bool buf_get_strview(struct buf_reader *r, const char **s, size_t *n);

#endif
