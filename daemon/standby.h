/*
 * standby.h - warm copies of partitions this instance does not own
 * (state.standby_replicas, docs/STATE.md).
 *
 * Each changelog partition not owned here is tailed by a plain consumer
 * (no group, assigned by partition) from the local checkpoint, and applied
 * with restore.h's bookkeeping: objects, input offsets and the checkpoint
 * are written at each commit marker, so the local copy is always a
 * consistent, slightly old state of the partition. When the partition is
 * assigned here, the restore finds the checkpoint near the changelog's
 * end and reads only the tail.
 *
 * One writer per partition's keys: the runtime stops a partition's tail
 * before it plans that partition's restore (standby_stop), and follows
 * only partitions it neither owns nor restores (standby_follow).
 */
#ifndef DS_STANDBY_H
#define DS_STANDBY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "restore.h"

struct standby;

/* o: as for a restore (db, brokers, properties, changelog, on_key); copied,
 * its pointers must outlive the standby. NULL without memory. */
struct standby *standby_new(const struct restore_opts *o);
void standby_free(struct standby *s); /* stops every tail; NULL ok */
/* owned[p] for each changelog partition: owned or restoring here. The
 * others are tailed (started from their checkpoint), these stopped. */
void standby_follow(struct standby *s, const bool *owned);
/* Stops tailing p, writing what its markers covered. */
void standby_stop(struct standby *s, int32_t p);
/* Applies up to max_records records of the tailed partitions, without
 * waiting. Returns true when some partition had more waiting. A partition
 * whose records cannot be applied is logged and no longer tailed. */
bool standby_step(struct standby *s, size_t max_records);
/* Partitions being tailed now. */
size_t standby_following(const struct standby *s);
/* Calls fn with the lag of each tailed partition whose changelog end its
 * consumer knows (as the last fetch saw it, no request to the broker):
 * the records between the copy's checkpoint (its last marker written)
 * and that end, i.e. what a fail-over of the partition would restore. */
void standby_lag(struct standby *s,
                 void (*fn)(void *arg, int32_t partition, int64_t lag),
                 void *arg);

#endif
