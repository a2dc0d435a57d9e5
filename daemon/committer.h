/*
 * committer.h - a thread that writes closed batches to RocksDB, in order.
 *
 * The RocksDB write of a batch (memtable inserts and the WAL append) is
 * moved off the processing thread, so the loop applies the next batch
 * while the previous one is written. Batches are written strictly in the
 * order they were submitted: the offsets stored with them only move
 * forward.
 *
 * Ownership: a submitted batch stays the caller's, but the caller must not
 * touch it until committer_written() has counted it.
 */
#ifndef DS_COMMITTER_H
#define DS_COMMITTER_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

struct committer;

/* Starts the thread. `db` must outlive the committer; at most `depth`
 * batches may be submitted and not yet written. 0 and *out, or -1 with a
 * message in err. */
int committer_start(struct state *db, size_t depth, struct committer **out,
                    char *err, size_t errlen);
/* Stops the thread after the write in progress, if any; batches submitted
 * but not written stay unwritten (the caller frees them and their records
 * are replayed). Accepts NULL. */
void committer_stop(struct committer *c);

/* Queues `b` behind every batch submitted before it. Aborts when `depth`
 * batches are already waiting (a caller bug). */
void committer_submit(struct committer *c, struct state_batch *b);
/* How many batches have been written since the start, in submission
 * order: 0 and *written, or -1 with the write error in err once a write has
 * failed (the thread then writes nothing more). Lock-free; cheap enough to
 * call per record. */
int committer_written(struct committer *c, uint64_t *written, char *err,
                      size_t errlen);
/* Blocks until more than `seen` batches are written, a write fails, or
 * timeout_ms pass. */
void committer_wait(struct committer *c, uint64_t seen, int timeout_ms);
/* CPU time the writing thread has used so far, ms (-1 unknown). */
int64_t committer_cpu_ms(struct committer *c);

#endif
