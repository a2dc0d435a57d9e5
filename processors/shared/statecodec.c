/*
 * statecodec.c - shared readers of the processors' state encodings.
 */
#include "statecodec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t statecodec_count(struct buf_reader *r, size_t max)
{
    uint64_t n = buf_get_varint(r);
    if (n > max || n > (uint64_t)(r->end - r->p)) {
        r->err = true;
        return 0;
    }
    return (size_t)n;
}

uint32_t statecodec_u32(struct buf_reader *r)
{
    uint64_t v = buf_get_varint(r);
    if (v > UINT32_MAX)
        r->err = true;
    return (uint32_t)v;
}

char *statecodec_req_str(struct buf_reader *r)
{
    char *s = buf_get_str(r);
    if (!s)
        r->err = true;
    return s;
}

char *statecodec_strdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return d;
}
