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
 *
 * A receiver that closes something on event time (attribution's periods)
 * also keeps, per origin partition, the largest event time applied from it
 * (repmarks_note, encoded apart by repmarks_encode_times so the marks'
 * encoding stays as it was), and closes on the least of them over the
 * active origins (repmarks_low): the origins' partitions are fetched and
 * applied at different paces, so the largest time of any one of them says
 * nothing about the others.
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
    int64_t max_time; /* largest event time noted; INT64_MIN: none known */
    int64_t heard;    /* clock ms when last noted; in memory only, 0: not
                       * in this process */
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

/* After repmarks_apply(m, rr) returned true: the record's event time t
 * and the clock (ctx_clock_ms) now, for its origin. */
void repmarks_note(struct repmarks *m, const struct repartition_record *rr,
                   int64_t t, int64_t now);
/* The max_time of every mark, in order (after repmarks_encode). */
void repmarks_encode_times(const struct repmarks *m, struct buf *out);
/* Into m just decoded by repmarks_decode; a count that differs sets r->err. */
void repmarks_decode_times(struct repmarks *m, struct buf_reader *r);

struct repmarks_low_opts {
    const char *topic;  /* the origins counted; NULL: the first mark's */
    int32_t partitions; /* origin partitions 0..n-1 expected; 0: unknown,
                         * only the origins seen count */
    int64_t now;        /* clock ms; 0: no clock, no origin is idle */
    int64_t since;      /* clock ms the receiver was loaded: an origin not
                         * heard in this process counts from then */
    int64_t idle_ms;    /* an origin not heard for this long is idle;
                         * 0: every origin not heard just now is idle */
};

/* The event time every active origin has passed: the least max_time over
 * the origins heard within idle_ms (an expected origin never seen holds
 * it at INT64_MIN until it is idle); when every origin is idle, the
 * largest max_time. INT64_MIN when nothing is known. */
int64_t repmarks_low(const struct repmarks *m, const struct repmarks_low_opts *o);

#endif
