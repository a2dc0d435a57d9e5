/*
 * repmarks.h - what a processor keeps to apply each record of its
 * repartition topic once.
 *
 * Delivery through the repartition topic is at least once: after a crash
 * a batch is applied again and sends its records again with the same
 * origin (topic, partition, offset) and sequence number (processor.h).
 * A receiving state object keeps, per origin partition, the last record
 * it applied; one at or below that is a copy. The encoding is part of the
 * processors' state formats: keep it.
 */
#ifndef DS_REPMARKS_H
#define DS_REPMARKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"

#define REPMARKS_MAX 256 /* origin partitions remembered per object */

struct repmark {
    char *topic; /* owned */
    int32_t partition;
    int64_t offset;
    uint32_t seq;
};

struct repmarks {
    struct repmark *v; /* owned */
    size_t n;
};

/* Whether rr is newer than what m holds for its origin partition; if so
 * it is recorded. false: a copy already applied. Beyond REPMARKS_MAX
 * origins the oldest entry is forgotten. */
bool repmarks_apply(struct repmarks *m, const struct repartition_record *rr);
void repmarks_free(struct repmarks *m); /* leaves it empty */
void repmarks_encode(const struct repmarks *m, struct buf *out);
/* Into an empty m; errors set r->err (the caller checks it once). */
void repmarks_decode(struct repmarks *m, struct buf_reader *r);

#endif
