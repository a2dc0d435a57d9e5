/*
 * writeback.h - when the dirty state is written back (docs/STATE.md,
 * "Write-back").
 *
 * With write-back on (state.max_dirty_ms > 0) dirty objects stay in the
 * decoded cache across many batches' worth of events and are written back
 * - to RocksDB and the changelog, with the input offsets they reflect - by
 * a checkpoint that is due when
 *   - the oldest change not yet written is max_dirty_ms old (age),
 *   - the dirty objects' estimated encoded size reaches max_dirty_bytes
 *     (bytes), or
 *   - the dirty objects reach max_dirty_objects, which the runtime sets to
 *     half the decoded cache: a dirty object cannot be evicted, so a cache
 *     full of them is written back to make room (evict).
 * A checkpoint is a consistent cut (the store seals every dirty object as
 * it is at that instant, store_seal()), so the offsets written with it, and
 * the changelog markers that carry them, claim exactly the events whose
 * every effect is in it: no change is ever written ahead of its offsets, and
 * input offsets are committed only up to the first change not yet written.
 * A hot object changed by thousands of events between two checkpoints is
 * encoded and written once. After a kill -9 the replay is what came after
 * the last written checkpoint: at most max_dirty_ms of input (plus the
 * checkpoint's own write latency), or less when a size bound fired first.
 *
 * This module only decides; it holds no objects and does no I/O, so the
 * rule is unit-tested apart from the loop (tests/unit/test_writeback.c).
 */
#ifndef DS_WRITEBACK_H
#define DS_WRITEBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum writeback_due {
    WRITEBACK_NOT_DUE = 0,
    WRITEBACK_AGE,     /* the oldest unwritten change is max_dirty_ms old */
    WRITEBACK_BYTES,   /* estimated dirty bytes reached max_dirty_bytes */
    WRITEBACK_OBJECTS, /* dirty objects reached max_dirty_objects */
};

struct writeback {
    int64_t max_dirty_ms;      /* 0: write-back off (a checkpoint per batch) */
    int64_t max_dirty_bytes;   /* 0: no bound */
    uint64_t max_dirty_objects; /* 0: no bound */
    int64_t first_change_ms;   /* oldest unwritten change; -1: none */
    double bytes_per_object;   /* running estimate, from written checkpoints */
    /* Counters since writeback_init: what the write-back buys. */
    uint64_t checkpoints;
    uint64_t puts;         /* state objects written (puts and deletes) */
    uint64_t bytes;        /* their encoded bytes, as RocksDB takes them */
    uint64_t by_reason[4]; /* checkpoints by enum writeback_due */
};

/* The estimate before any checkpoint was written (bytes per object). */
#define WRITEBACK_FIRST_GUESS 512.0

void writeback_init(struct writeback *wb, int64_t max_dirty_ms,
                    int64_t max_dirty_bytes, uint64_t max_dirty_objects);
static inline bool writeback_on(const struct writeback *wb)
{
    return wb->max_dirty_ms > 0;
}
/* Something changed at now_ms (an event applied, a timer's change): starts
 * the age clock when nothing was unwritten. Cheap, call per record. */
void writeback_note_change(struct writeback *wb, int64_t now_ms);
/* Whether a checkpoint is due now with `dirty` objects unwritten. */
enum writeback_due writeback_due(const struct writeback *wb, int64_t now_ms,
                                 uint64_t dirty);
/* The dirty objects' estimated encoded bytes. */
uint64_t writeback_dirty_bytes(const struct writeback *wb, uint64_t dirty);
/* A checkpoint was cut (for `why`): every change so far is in it; the age
 * clock restarts with the next change. */
void writeback_cut(struct writeback *wb, enum writeback_due why);
/* A checkpoint of `objects` puts/deletes taking `bytes` was written:
 * counted, and the bytes-per-object estimate follows it. */
void writeback_written(struct writeback *wb, uint64_t objects,
                       uint64_t bytes);
const char *writeback_due_name(enum writeback_due why);

#endif
