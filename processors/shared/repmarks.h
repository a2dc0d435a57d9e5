/*
 * repmarks.h - what a receiver of repartitioned records remembers so that
 * a record re-sent after a crash applies once: per origin partition, the
 * last (offset, seq) applied (processor.h, ctx_repartition). Records from
 * one origin partition arrive in order, so anything at or below the mark
 * is a copy.
 */
#ifndef DS_REPMARKS_H
#define DS_REPMARKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"

#define REPMARKS_MAX 256 /* origin partitions remembered */

struct repmark {
    char *topic;
    int32_t partition;
    int64_t offset;
    uint32_t seq;
};

struct repmarks {
    struct repmark *v;
    size_t n;
};

/* Whether rr is newer than what m holds from its origin; if so it is
 * recorded. false: a copy already applied. */
bool repmarks_take(struct repmarks *m, const struct repartition_record *rr);
void repmarks_free(struct repmarks *m); /* the contents; m is reusable */
void repmarks_put(const struct repmarks *m, struct buf *out);
/* Reads what repmarks_put wrote into an empty m; errors go to r->err. */
void repmarks_get(struct repmarks *m, struct buf_reader *r);

#endif
