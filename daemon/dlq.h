/*
 * dlq.h - fitting a dead-letter record under the producer's size limit.
 *
 * A record that broke the loop once must not break it again on its way to
 * the DLQ: a value over message.max.bytes made every produce fail, the
 * batch never committed, and the partition crash-looped on it (issue 26).
 * So a DLQ record over the limit keeps a prefix of its value (truncate) or
 * none of it (reference: the __connect.errors.* headers name where the
 * original is), and headers say which and how large the original was.
 * Pure arithmetic, no Kafka: the runtime produces what this decides.
 */
#ifndef DS_DLQ_H
#define DS_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include "kafka.h"

enum dlq_oversize { DLQ_TRUNCATE = 0, DLQ_REFERENCE };

/* Headers dlq_fit() may add, and their names (docs/CONTRACT-ADDITIONS.md). */
#define DLQ_HDR_OVERSIZE "dealstream.dlq.oversize" /* truncated|reference */
#define DLQ_HDR_VALUE_SIZE "dealstream.dlq.original_value_size"
#define DLQ_HDR_KEY_SIZE "dealstream.dlq.original_key_size"
#define DLQ_MAX_EXTRA_HEADERS 3

/* Room left for record framing beside key, value and headers: librdkafka
 * counts a v2 record's worst-case overhead (36 bytes of varints and
 * attributes) against message.max.bytes; the rest is margin. */
#define DLQ_FRAMING_BYTES 64
/* A header's worst-case varints (name and value lengths). */
#define DLQ_HEADER_OVERHEAD 10
/* A key is cut only when it alone would take more than this share (1/n)
 * of the room: a key is normally a short customer id. */
#define DLQ_KEY_SHARE 4

struct dlq_fit {
    size_t klen, vlen; /* prefixes of the key and value to produce */
    /* The headers to add (names static, values in the buffers below). */
    struct kafka_header extra[DLQ_MAX_EXTRA_HEADERS];
    size_t n_extra;
    char value_size[24], key_size[24];
};

/* Decides what a DLQ record with `hdrs` keeps of a key of klen and a value
 * of vlen bytes so that it weighs at most max_bytes; fills *out (as is,
 * with no extra header, when it fits). */
void dlq_fit(enum dlq_oversize mode, int64_t max_bytes,
             const struct kafka_header *hdrs, size_t n_hdrs, size_t klen,
             size_t vlen, struct dlq_fit *out);

#endif
