/*
 * restore.h - a partition's state rebuilt from its changelog (changelog.h)
 * before any input record of it is applied.
 *
 * On assignment the local checkpoint (the changelog position stored with
 * the state) is compared with the changelog's log start and end: equal to
 * the end, nothing to do; between, the records after it are applied;
 * missing, or outside the log (retention deleted records the local state
 * never saw, the topic was recreated), the partition's local state is
 * wiped - loudly - and restored in full. Records count only up to the last
 * commit marker; the input offsets the state reflects, read from that
 * marker, are written with it, so the consumer resumes exactly after them.
 * An unfinished batch at the end of the log (its writer crashed) is left
 * out, and its keys get their committed values written again (a repair),
 * so compaction can never keep the unfinished value instead.
 *
 * The bookkeeping (struct restore_run) is apart from Kafka, for tests.
 */
#ifndef DS_RESTORE_H
#define DS_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changelog.h"
#include "kafka.h"
#include "state.h"

/* ---- bookkeeping ------------------------------------------------------- */

struct restore_run;

/* Records of changelog `topic`, partition `partition` into `db`. `max_buffer`:
 * bytes of records held between two markers before they are written
 * ahead of their marker (0: a default of 64 MiB). */
struct restore_run *restore_run_new(struct state *db, const char *topic,
                                    int32_t partition, size_t max_buffer);
void restore_run_free(struct restore_run *r); /* accepts NULL */
/* One changelog record in log order: a state put (val), a tombstone (val
 * NULL) or a marker (key CHANGELOG_MARKER_KEY). 0, or -1 with err (a
 * malformed marker, a write error). */
int restore_run_record(struct restore_run *r, int64_t offset, const void *key,
                       size_t klen, const void *val, size_t vlen, char *err,
                       size_t errlen);
/* Writes what the last marker covers, its input offsets and the
 * checkpoint. 0, or -1 with err: also when records written ahead of a
 * marker turn out to be an unfinished batch. */
int restore_run_finish(struct restore_run *r, char *err, size_t errlen);
/* Writes what the markers read so far cover (a standby's copy stays
 * consistent between two reads); records after the last marker stay held.
 * 0, or -1 with err. */
int restore_run_flush(struct restore_run *r, char *err, size_t errlen);
void restore_run_on_key(struct restore_run *r,
                        void (*fn)(void *arg, const void *key, size_t klen),
                        void *arg);
/* Called for each key RESTORE_PREFETCH_AHEAD keys before its on_key. */
void restore_run_prefetch_key(struct restore_run *r,
                              void (*fn)(void *arg, const void *key,
                                         size_t klen));
/* After finish: the records after the last marker (an unfinished batch),
 * their keys in log order, duplicates possible. */
size_t restore_run_tail(const struct restore_run *r, const char ***keys,
                        const size_t **klens);
/* Counters: records read, state objects written, their bytes, markers. */
struct restore_counts {
    uint64_t records, objects, bytes, markers;
    int64_t checkpoint; /* the changelog position written; -1 none */
};
void restore_run_counts(const struct restore_run *r, struct restore_counts *c);

/* What a partition's local state needs, from its checkpoint (`stored`:
 * one exists, `ckpt` its value), the changelog's log start `low` and end
 * `high`, and `has_local`: input offsets of the partition exist locally
 * (only asked without a checkpoint and with a non-empty changelog). */
enum restore_plan {
    RESTORE_NONE,      /* up to date, or nothing logged yet */
    RESTORE_TAIL,      /* the records from the checkpoint on */
    RESTORE_FULL,      /* empty disk: the whole log */
    RESTORE_WIPE_FULL, /* the partition's local state wiped, then full */
    RESTORE_REFUSE,    /* checkpoint past the log end: for an operator */
};
enum restore_plan restore_plan(bool stored, int64_t ckpt, int64_t low,
                               int64_t high, bool has_local);

/* ---- against Kafka ----------------------------------------------------- */

struct restore_opts {
    struct state *db;
    const char *brokers;
    const struct cfg_strmap *properties; /* optional */
    struct changelog *changelog;         /* topic, partitioning, repair */
    struct kafka_consumer *group;        /* for the watermarks */
    /* Called for every key written (the store's key filter); optional. */
    void (*on_key)(void *arg, const void *key, size_t klen);
    /* Called for a key a few keys before on_key, so that on_key finds
     * what it touches in the cache (the key filter); optional. */
    void (*prefetch_key)(void *arg, const void *key, size_t klen);
    /* Called about once a second while records are read, with the
     * partition, the changelog records still to read and the counts so
     * far, so the liveness probe and the metrics see progress (the
     * restore runs on the loop's thread); optional. */
    void (*tick)(void *arg, int32_t partition, int64_t remaining,
                 const struct restore_counts *so_far);
    void *arg;
};

struct restore_result {
    bool restored;  /* something was read or wiped */
    bool full;      /* from the log start, after a wipe or on empty disk */
    struct restore_counts counts;
    int64_t ms;
};

/* Brings `partition`'s local state up to its changelog, in one go (the
 * steps below until done). 0, or -1 with err: the partition must then not
 * be consumed. */
int restore_partition(const struct restore_opts *o, int32_t partition,
                      struct restore_result *res, char *err, size_t errlen);

/* The same in bounded steps, so the caller's loop goes on with its other
 * partitions meanwhile (the runtime pauses only the restoring one).
 * restore_begin plans: 0 with *job NULL when there is nothing to do (any
 * wipe already done), 0 with *job, or -1 with err. Only the plan's
 * watermark query blocks (briefly; up to a minute for a changelog without
 * a leader yet). */
/* Whether the local state holds input offsets of `partition` (state of
 * unknown age when there is no checkpoint). 0, or -1 with err. */
int restore_has_local(const struct restore_opts *o, int32_t partition,
                      bool *found, char *err, size_t errlen);

struct restore_job;
int restore_begin(const struct restore_opts *o, int32_t partition,
                  struct restore_job **job, char *err, size_t errlen);
/* Reads at most max_records changelog records, waiting at most wait_ms for
 * the first: 0 not done yet, 1 done (res filled, the job still to be freed
 * with restore_cancel), -1 with err. */
int restore_step(struct restore_job *job, size_t max_records, int wait_ms,
                 struct restore_result *res, char *err, size_t errlen);
/* Frees the job; unfinished, what it wrote stays consistent: objects are
 * written with the marker that covers them and the checkpoint, so the
 * next restore of the partition goes on from that checkpoint. NULL ok. */
void restore_cancel(struct restore_job *job);
int32_t restore_job_partition(const struct restore_job *job);
/* A test's gate (docs/TESTING.md), read from the environment only:
 * var=<p>:<path> (or *:<path>, every partition) is closed for partition p
 * while the file exists, so a test can hold one step of a restore without
 * timing anything. DS_TEST_RESTORE_HOLD holds the restore itself,
 * DS_TEST_RELEASE_HOLD its release (as an unfinished seek does). */
bool restore_test_gate(const char *var, int32_t p);
int64_t restore_job_remaining(const struct restore_job *job); /* records */

#endif
