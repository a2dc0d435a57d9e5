/*
 * state.h - the RocksDB adapter: durable state and the input offsets it
 * reflects, committed together.
 *
 * Keys are opaque byte strings chosen by the store above (state objects);
 * they are never empty and never start with byte 0x00, which is reserved for
 * the input offsets and partition-group watermarks this module keeps beside
 * them (checked, aborts).
 *
 * A batch collects puts and deletes and the offsets of the records it
 * consumed; state_batch_commit() writes all of it in one RocksDB WriteBatch,
 * so after a crash the stored offsets always match the stored state and
 * replay neither loses nor double-applies an event.
 *
 * Memory is bounded by configuration: one LRU block cache and bounded write
 * buffers for the whole DB, whatever the number of partitions.
 */
#ifndef DS_STATE_H
#define DS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct state;       /* an open DB */
struct state_batch; /* pending writes */

struct state_options {
    const char *dir;           /* created if missing */
    int64_t block_cache_bytes; /* shared LRU block cache */
    int64_t write_buffer_bytes; /* memtable size; also bounds the total */
    bool sync;                 /* fsync the WAL on commit */
    bool read_only;            /* for `inspect` beside a running daemon */
};

/* 0 and *out, or -1 with a message in err (e.g. the DB is locked by another
 * process). */
int state_open(const struct state_options *opts, struct state **out,
               char *err, size_t errlen);
void state_close(struct state *st); /* accepts NULL */
/* Turns RocksDB's perf counters off for the calling thread. They are per
 * thread and on by default, and cost a thread-local lookup per key
 * comparison: ~13 % of the commit thread's memtable inserts. Called by
 * each of our threads that reads or writes the database (open, commit,
 * key scan); RocksDB's own threads keep theirs. */
void state_thread_init(void);

/* 1 and a malloc'd copy in *val, *vlen (caller frees, never NULL even for an
 * empty value), 0 when absent, -1 on a read error (message in err). */
int state_get(struct state *st, const void *key, size_t klen, void **val,
              size_t *vlen, char *err, size_t errlen);

/* Calls fn for each key starting with prefix, in key order; fn returns
 * non-zero to stop. An empty prefix visits every caller key; offsets are
 * never visited. key/val are valid only during the call. 0, or -1 with a
 * message in err. */
int state_scan(struct state *st, const void *prefix, size_t plen,
               int (*fn)(void *arg, const void *key, size_t klen,
                         const void *val, size_t vlen),
               void *arg, char *err, size_t errlen);

/* The offset of the next record to consume for topic/partition, as committed
 * with the state: 1 and *next_offset, 0 when none is stored, -1 with err. */
int state_offset_get(struct state *st, const char *topic, int32_t partition,
                     int64_t *next_offset, char *err, size_t errlen);
/* Calls fn for every stored offset, by topic then partition (for `inspect`
 * and assignment); fn returns non-zero to stop. 0, or -1 with err. */
int state_offset_scan(struct state *st,
                      int (*fn)(void *arg, const char *topic,
                                int32_t partition, int64_t next_offset),
                      void *arg, char *err, size_t errlen);

/* The stream-time watermark of a partition group (partition p of every
 * input topic), as committed with the state: 1 and *wm (ms since epoch),
 * 0 when none is stored, -1 with err. */
int state_watermark_get(struct state *st, int32_t partition, int64_t *wm,
                        char *err, size_t errlen);

struct state_batch *state_batch_new(void);
void state_batch_free(struct state_batch *b); /* accepts NULL */
void state_batch_put(struct state_batch *b, const void *key, size_t klen,
                     const void *val, size_t vlen);
void state_batch_delete(struct state_batch *b, const void *key, size_t klen);
/* Records that everything before next_offset of topic/partition is applied;
 * a later call for the same topic/partition replaces the value. */
void state_batch_offset(struct state_batch *b, const char *topic,
                        int32_t partition, int64_t next_offset);
/* The watermark of partition group `partition` as of this batch (wm >= 0,
 * ms since epoch), written with it like its offsets; a later call for the
 * same partition replaces the value. */
void state_batch_watermark(struct state_batch *b, int32_t partition,
                           int64_t wm);
/* Puts + deletes pending (offsets and watermarks not counted). */
size_t state_batch_count(const struct state_batch *b);
/* Bytes the batch's writes take, encoded (RocksDB's WriteBatch). */
size_t state_batch_bytes(const struct state_batch *b);
/* Calls fn for each put and delete pending, in the order they were added
 * (which is the order RocksDB inserts them); for tests and tools. */
void state_batch_each(const struct state_batch *b,
                      void (*fn)(void *arg, const void *key, size_t klen,
                                 bool put),
                      void *arg);
/* The same with the values: val is NULL for a delete. */
void state_batch_each_value(const struct state_batch *b,
                            void (*fn)(void *arg, const void *key,
                                       size_t klen, const void *val,
                                       size_t vlen),
                            void *arg);
/* Calls fn for each offset pending (topic, partition, next offset). */
void state_batch_each_offset(const struct state_batch *b,
                             void (*fn)(void *arg, const char *topic,
                                        int32_t partition, int64_t next),
                             void *arg);
/* Calls fn for each watermark pending. */
void state_batch_each_watermark(const struct state_batch *b,
                                void (*fn)(void *arg, int32_t partition,
                                           int64_t wm),
                                void *arg);
/* Writes the batch atomically and clears it. 0, or -1 with err; on failure
 * the batch is left as it was. */
int state_batch_commit(struct state *st, struct state_batch *b, char *err,
                       size_t errlen);

/* Deletes every offset stored for `partition` (of any topic), its
 * watermark, and every key for which `mine` returns true, in one write:
 * the local state of a partition wiped before a full restore. 0, or -1
 * with err. */
int state_wipe_partition(struct state *st, int32_t partition,
                         bool (*mine)(void *arg, const void *key, size_t klen),
                         void *arg, char *err, size_t errlen);

/* Flushes the memtables to SST files and waits (shutdown, tests, bench); a
 * no-op when read-only. 0, or -1 with err. */
int state_flush(struct state *st, char *err, size_t errlen);

/* Approximate live data size in bytes (live SST files + memtables, whose
 * content is in the WAL), for metrics and the bench. */
uint64_t state_disk_bytes(struct state *st);
/* RocksDB's estimate of the keys it holds (offsets included); 0 unknown. */
uint64_t state_estimate_keys(struct state *st);

/* What RocksDB holds in memory and how far compaction lags; each field
 * -1 (stall_seconds < 0) when RocksDB does not say. Any thread. */
struct state_memory {
    int64_t block_cache;   /* bytes in the shared LRU block cache */
    int64_t memtables;     /* bytes in active and immutable memtables */
    int64_t table_readers; /* bytes of SST indexes and filters */
    int64_t pending_compaction; /* bytes compaction estimates to rewrite */
    double stall_seconds;  /* writes slowed or stopped, since open */
};
void state_memory(struct state *st, struct state_memory *out);

#endif
