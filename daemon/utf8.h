/*
 * utf8.h - the UTF-8 primitives the text modules share (matcher,
 * confusables, meeting metrics): one decoder, one encoder, one width fold,
 * so normalised text means the same thing everywhere.
 *
 * Decoding never fails and never over-reads: an invalid, overlong,
 * surrogate or truncated sequence decodes as U+FFFD consuming one byte.
 * (The codec has its own validator: it must report where a string is bad,
 * not repair it.)
 */
#ifndef DS_UTF8_H
#define DS_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* One code point from s[0..n), n >= 1. Returns its byte length (>= 1). */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
/* The same over a NUL-terminated string: 0 (and *cp = 0) at its end. Reads
 * no byte past the NUL. */
size_t utf8_next(const char *s, uint32_t *cp);
/* Appends cp (<= U+10FFFF) encoded. */
void utf8_put(struct buf *out, uint32_t cp);
/* Full-width ASCII forms (U+FF01..FF5E) and the ideographic space fold to
 * ASCII; everything else is returned as it is. */
uint32_t utf8_fold_width(uint32_t cp);

#endif
