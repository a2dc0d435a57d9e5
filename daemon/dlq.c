/*
 * dlq.c - see dlq.h. The limit counts key, value, every header's name and
 * value, and DLQ_FRAMING_BYTES; when that is over max_bytes the value goes
 * first (cut or dropped), the key only when it alone is unreasonable.
 */
#include "dlq.h"

#include <stdio.h>
#include <string.h>

static size_t header_bytes(const struct kafka_header *h, size_t n)
{
    size_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += strlen(h[i].name) + strlen(h[i].value) + DLQ_HEADER_OVERHEAD;
    return sum;
}

void dlq_fit(enum dlq_oversize mode, int64_t max_bytes,
             const struct kafka_header *hdrs, size_t n_hdrs, size_t klen,
             size_t vlen, struct dlq_fit *out)
{
    memset(out, 0, sizeof(*out));
    out->klen = klen;
    out->vlen = vlen;
    /* The extra headers' worst case counts from the start, so adding them
     * never pushes a record that was cut over the limit. */
    size_t fixed = header_bytes(hdrs, n_hdrs) + DLQ_FRAMING_BYTES +
                   (sizeof(DLQ_HDR_OVERSIZE) + sizeof(DLQ_HDR_VALUE_SIZE) +
                    sizeof(DLQ_HDR_KEY_SIZE) + 3 * (24 + DLQ_HEADER_OVERHEAD));
    size_t room = max_bytes > 0 && (uint64_t)max_bytes > fixed
                      ? (size_t)max_bytes - fixed
                      : 0;
    if (klen + vlen <= room && klen <= room)
        return;
    if (klen > room / DLQ_KEY_SHARE) {
        out->klen = room / DLQ_KEY_SHARE;
        snprintf(out->key_size, sizeof(out->key_size), "%zu", klen);
        out->extra[out->n_extra++] =
            (struct kafka_header){DLQ_HDR_KEY_SIZE, out->key_size};
    }
    out->vlen = mode == DLQ_TRUNCATE && vlen > 0 ? room - out->klen : 0;
    if (out->vlen > vlen)
        out->vlen = vlen;
    if (out->vlen == vlen)
        return; /* only the key was cut */
    snprintf(out->value_size, sizeof(out->value_size), "%zu", vlen);
    out->extra[out->n_extra++] = (struct kafka_header){
        DLQ_HDR_OVERSIZE, mode == DLQ_TRUNCATE ? "truncated" : "reference"};
    out->extra[out->n_extra++] =
        (struct kafka_header){DLQ_HDR_VALUE_SIZE, out->value_size};
}
