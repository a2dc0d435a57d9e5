/*
 * streamtime.h - a processor's stream time per input partition: the
 * largest event time it handled there, for judging deadlines by their own
 * partition's time rather than by whichever partitions the instance also
 * owns.
 *
 * Each partition's time is mirrored in a state object of that partition
 * (key: ctx_partition_key(), so it is restored and moves with the
 * partition), written as it advances and read back when the partition
 * arrives (processor_ops.on_partitions), where the previous owner or this
 * instance before a restart left it. The object and its encoding are the
 * processor's; the table reaches its time through `field`. The keys are
 * exactly ctx_partition_key()'s: they are part of the state format.
 */
#ifndef DS_STREAMTIME_H
#define DS_STREAMTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "processor.h"

/* Partitions above this are refused as absurd (not from Kafka). */
#define STREAMTIME_MAX_PARTITION 65535

/* The stream-time field (ms) of the processor's state object obj (as
 * ctx_state() returns it), or NULL when obj is not a partition's stream
 * time. */
typedef int64_t *(*streamtime_field_fn)(void *obj);

struct streamtime {
    const char *subsys;        /* not owned; tags the log lines */
    streamtime_field_fn field;
    int64_t *t;  /* owned; index = partition; ms, INT64_MIN: no event yet */
    char **key;  /* owned; index = partition: its ctx_partition_key(),
                  * computed when first needed; NULL before */
    size_t n;    /* length of t and key */
};

/* An empty table (no allocation). */
void streamtime_init(struct streamtime *st, const char *subsys,
                     streamtime_field_fn field);
/* Frees what st holds and leaves it empty; accepts NULL. */
void streamtime_free(struct streamtime *st);

/* The partition's stream time in memory; INT64_MIN when none is known
 * (no event yet, or a partition the table never held). */
int64_t streamtime_of(const struct streamtime *st, int32_t partition);
/* The largest over every partition held; INT64_MIN when none. */
int64_t streamtime_max(const struct streamtime *st);

/* Moves the partition's stream time to t if t is later, in memory only;
 * whether it moved. false for a partition that is negative (an event not
 * from Kafka: tests) or above STREAMTIME_MAX_PARTITION. */
bool streamtime_advance(struct streamtime *st, int32_t partition, int64_t t);
/* Writes the partition's stream time in memory to its state object when
 * later than what the object holds (ctx_state_dirty then). Nothing when
 * the key cannot be made (logged) or the object under it is not a stream
 * time (field NULL). */
void streamtime_save(struct streamtime *st, struct proc_ctx *ctx,
                     int32_t partition);
/* For processor_ops.on_partitions: leaving partitions forget their stream
 * time (their state object keeps it for the next owner); arriving ones
 * take theirs from their state object, INT64_MIN without one. */
void streamtime_follow(struct streamtime *st, struct proc_ctx *ctx,
                       const int32_t *parts, size_t n, bool assigned);

/* The state key of the partition's stream time (ctx_partition_key(),
 * kept), or NULL when the partition is refused or no key fits (logged).
 * Valid until streamtime_free(). */
const char *streamtime_key(struct streamtime *st, struct proc_ctx *ctx,
                           int32_t partition);

#endif
