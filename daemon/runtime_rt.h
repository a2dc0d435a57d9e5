/*
 * runtime_rt.h - the processing loop's own state, shared by the runtime's
 * files and by nothing else (runtime.h is the public side):
 *   runtime.c            records in, processors, set-up and the loop;
 *   runtime_output.c     alerts, repartition records and the DLQ out;
 *   runtime_batch.c      batches: offsets, seal, changelog steps, commits
 *                        and transactions;
 *   runtime_partitions.c partitions coming and going: restore, release,
 *                        standby and the rebalance callbacks.
 * One struct rt per running instance, touched only by its loop thread (the
 * callbacks run inside its polls).
 */
#ifndef DS_RUNTIME_RT_H
#define DS_RUNTIME_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "codec.h"
#include "ctx.h"
#include "kafka.h"
#include "metrics.h"
#include "runtime.h"
#include "writeback.h"

struct tp_offset {
    char topic[256];
    int32_t partition;
    int64_t next;
};

/* Closed batches waiting for their alerts to be acknowledged. Batch numbers
 * are consecutive, and at most RT_MAX_PENDING closed ones plus the open one
 * have messages in flight, so a ring of RT_RING counters indexed by batch
 * number mod RT_RING never mixes two live batches. */
#define RT_RING 8
#define RT_MAX_PENDING (RT_RING - 1)

struct pending {
    uint64_t batch;          /* its number */
    struct state_batch *wb;  /* state objects and offsets, ready to write */
    struct tp_offset *offsets; /* for Kafka's lag monitoring after the write */
    size_t n_offsets;
    uint64_t events;
    bool sealed;             /* every state object encoded into wb */
    bool logged;             /* sent to the changelog, every step */
    size_t log_next;         /* its next changelog step starts here */
    int64_t log_from;        /* ms, monotonic: its first step; 0: none yet */
    int64_t log_spread_ms;   /* its steps spread over this long (log_pace) */
    bool submitted;          /* handed to the commit thread */
    bool txn_done;           /* exactly_once: its transaction committed */
    double closed_at;        /* s, monotonic: for the commit latency */
};

/* Objects of a sealing batch encoded per record applied: ~1.4 us each, so
 * a few tens of microseconds per record instead of one long pause. Only
 * when the store's sealing thread is not running. */
#define RT_SEAL_STEP 16
/* Cached objects looked at per record to keep the decoded cache within
 * state.cache_max_entries once their batches are written: a record brings
 * in at most a few, and a written batch frees thousands at once - moved to
 * the encoded cache in one go, that was a pause of 10-20 ms per commit. */
#define RT_TRIM_STEP 16
/* Changelog records a restore reads per loop turn (restore_steps): a few
 * ms, so the partitions already consumed wait no longer than that. */
#define RT_RESTORE_STEP 2048
/* Changelog records of a closed batch produced per loop turn (~2-3 us
 * each). A write-back checkpoint holds up to half the decoded cache
 * (25k objects by default): sent in one go, that was a 50-75 ms pause of
 * the loop every checkpoint, the event-to-alert p99 (PERFORMANCE.md). */
#define RT_LOG_STEP 256
/* At most how long a closed batch's changelog records are spread over
 * (log_pace in runtime_batch.c); half the time since the previous close
 * when that is shorter, so that they never fall behind the cuts. */
#define RT_LOG_SPREAD_MS 500
/* The poll's longest wait while closed batches wait for their
 * acknowledgements and write: each step of a batch (changelog sent,
 * acknowledged, written, retired) is taken at a turn of the loop. */
#define RT_PENDING_TURN_MS 10

/* Look-ahead: a polled record is decoded at once and applied RT_AHEAD - 1
 * polls later; each poll in between moves its state one step closer
 * (store_prefetch), so the state gets of the record being applied - cache
 * misses on ~300k objects, a quarter of the processing thread - mostly find
 * their memory in cache. Order is kept: records enter the ring in the order
 * the event-time chooser (ordering.h) gives them, one waits only while
 * newer ones are coming in, and before partitions are revoked the waiting
 * records, and those the chooser holds, are applied, as they would have
 * been. */
#define RT_AHEAD 4
#define RT_AHEAD_KEYS 8 /* state keys looked ahead per record */

/* exactly_once: transaction.timeout.ms unless kafka.properties sets it. A
 * batch commits within state.batch_interval (200 ms by default); what a
 * killed instance left open blocks read_committed readers of its
 * partitions until the next incarnation's init_transactions or this. */
#define RT_TXN_TIMEOUT_MS 10000

struct ahead {
    struct ahead *next_spare; /* in rt->spare while unused */
    struct kafka_msg m;
    int kind;       /* -1: no processor reads its topic */
    size_t topic;   /* its index in rt->subscribed (the chooser's FIFO) */
    size_t proc;    /* EVENT_REPARTITION: the processor it goes back to */
    bool decoded;   /* ev holds the record; else cerr says why not */
    struct event ev;
    struct codec_error cerr;
    struct arena *arena; /* ev's strings */
    uint64_t hash[RT_AHEAD_KEYS]; /* store_key_hash of each state key */
    size_t n_hash;
};

/* What a subscribed topic resolved to (resolve_topic). */
struct topic_memo {
    const char *name; /* rt->subscribed[index]; NULL: none yet */
    int kind;
    size_t proc, index;
};

struct rt {
    const struct runtime_opts *o;
    const struct config *cfg; /* the running one: o->cfg until a reload */
    struct config *cfg_owned; /* cfg when a reload loaded it, else NULL */
    /* config_digest(cfg) in hex: every alert's dealstream.config header,
     * naming the config that produced it. */
    char cfg_digest[17];
    struct state *db;
    struct committer *committer;
    uint64_t retired; /* batches written and taken off `pending` */
    struct codec *codec;
    struct schema_registry *registry; /* NULL: schemas.registry_url unset */
    struct store *store;
    struct kafka_consumer *consumer;
    struct kafka_producer *producer;
    struct proc_ctx ctx;
    struct ahead *ahead[RT_AHEAD]; /* chosen, not applied: a ring */
    size_t ahead_first, n_ahead;
    /* Polled and decoded records wait in `order` until their partition
     * group's event-time turn (ordering.h); those not in use in `spare`. */
    struct ordering *order;
    struct ahead *spare;
    void **inst; /* per processor, NULL when disabled */
    /* Per processor: processor_inputs() under the running config, the
     * kinds handed to it; reset on reload. */
    uint32_t *inputs;
    const char *input_topics[EVENT_KIND_COUNT]; /* NULL: no processor reads it */
    struct global_table *global; /* global_table.h; NULL: none */
    char **repart_topics; /* per processor: its repartition topic, or NULL */
    const char **subscribed; /* inputs, then repartition topics */
    size_t n_subscribed;
    struct topic_memo last_topic; /* resolve_topic() */
    const char *alert_topics[ALERT_KIND_COUNT];

    struct tp_offset *offsets; /* applied in the open batch */
    size_t n_offsets, cap_offsets;
    uint64_t batch_events;
    int64_t batch_started; /* ms, monotonic */
    int64_t last_close;    /* ms, monotonic: the last batch closed */
    uint64_t batch_no;     /* the open batch's number */
    int64_t inflight[RT_RING]; /* produced, unacknowledged, by batch number */
    struct pending pending[RT_MAX_PENDING]; /* [0] is the oldest */
    size_t n_pending;

    int64_t assigned_at; /* ms, monotonic: last assignment change */
    /* Input partition numbers owned now, as told to the processors
     * (processor_ops.on_partitions); tell_partitions() keeps it. */
    int32_t *owned;
    size_t n_owned, cap_owned;
    /* In ms since the epoch (0 until it happens), so that the spans of
     * several instances (bench/run's scale-out phase) can be combined: the
     * first record's arrival, the last record applied (its alerts
     * produced) and the end of the last commit of events, which write-back
     * makes up to state.max_dirty_ms after the change. */
    int64_t first_record_wall, last_event_wall, last_applied_wall;
    /* The processing thread's CPU clock at the first record: what it spent
     * from there is the cost per event that bounds one instance's rate. */
    int64_t first_record_cpu;
    /* No record for RT_LOG_SPREAD_MS: the stream has stopped, so a closed
     * batch's changelog records go out at once (log_pace() spreads them
     * only while records flow, and a gap of a broker stall is not an end). */
    bool idle;
    bool delivery_failed;
    int64_t dlq_max; /* bytes per DLQ record (dlq_fit) */
    /* An alert of the processor being called could not be encoded: the
     * record it handles goes to the DLQ, like a processor failure. */
    bool emit_failed;
    char emit_fail[512];
    struct buf enc;
    struct runtime_stats stats;
    /* For /metrics: what runtime_stats does not say by label. */
    struct metrics mx;
    uint64_t alerts_by_kind[ALERT_KIND_COUNT];
    struct metrics_count *consumed_last; /* the last record's topic */
    /* State changes to the changelog (NULL: state.changelog off), and per
     * changelog partition the rebalance in which it was last restored. */
    struct changelog *changelog;
    struct txn *txn; /* processing.guarantee exactly_once, else NULL */
    uint64_t rebalances;
    uint64_t order_pruned; /* `rebalances` when moved groups were dropped */
    uint64_t *restored_in;
    /* Per changelog partition, its restore under way (its input partitions
     * held by the consumer), stepped from the loop; n_restoring of them. */
    struct restore_job **restoring;
    size_t n_restoring;
    /* Per changelog partition, restored but not released yet (the seek did
     * not finish): since when (ms, 0: none); n_unreleased of them. Such a
     * partition stays held and unknown to the processors until then. */
    int64_t *unreleased;
    size_t n_unreleased;
    /* Per changelog partition, when it was last assigned (ms, monotonic)
     * until its first input record is applied then (0: none waited for):
     * one log line per partition per assignment, the fail-over figure. */
    int64_t *first_since;
    /* Warm copies of the partitions not owned (NULL: standby_replicas 0);
     * standby_moved: ownership changed since they were last followed. */
    struct standby *standby;
    bool standby_moved;
    int64_t cur_ts; /* ms since epoch: Kafka timestamp of the record being
                     * applied, for event-to-alert latency; -1: none */
    /* When dirty state is written back (writeback.h), and why the next
     * close_batch() cuts a checkpoint. */
    struct writeback wb;
    enum writeback_due cut_why;
};

/* runtime_output.c: the proc_ctx's sinks and the producer's reports */
void rt_on_delivery(void *arg, uint64_t tag, enum kafka_fail failed,
                    const char *errstr, const struct kafka_msg *m);
int rt_sink(void *arg, const struct alert *a);
void rt_observe(void *arg, struct proc_ctx *ctx, const struct alert *a);
void rt_observe_metric(void *arg, const struct metrics_hist_def *def,
                       const char *label, double value);
int rt_repartition_sink(void *arg, size_t proc, const char *key,
                        const void *val, size_t vlen);
void rt_to_dlq(struct rt *rt, const struct kafka_msg *m, const char *stage,
               const char *reason, const char *message,
               const char *processor, const char *customer_id);

/* runtime_batch.c */
void rt_note_offset(struct rt *rt, const char *topic, int32_t partition,
                    int64_t next);
/* Encodes up to max objects of the sealing batch (RT_SEAL_STEP). */
void rt_seal_step(struct rt *rt, size_t max);
/* Hands the oldest closed batches whose alerts are acknowledged to the
 * commit thread and retires the written ones. 0, or -1: stop. */
int rt_commit_ready(struct rt *rt);
/* Closes the open batch (a checkpoint when write-back says so). */
int rt_close_batch(struct rt *rt);
/* Closes the open batch and waits until everything is written. */
int rt_commit_all(struct rt *rt);

/* runtime_partitions.c */
struct kafka_rebalance_ops rt_rebalance_ops(struct rt *rt);
/* The proc_ctx's owner, watermark and partition-key callbacks. */
void rt_partition_ctx(struct rt *rt);
void rt_restored_key(void *arg, const void *key, size_t klen);
int rt_restore_steps(struct rt *rt, int wait_ms);
void rt_follow_standby(struct rt *rt);
void rt_first_applied(struct rt *rt, const struct kafka_msg *m);
void rt_tell_partitions(struct rt *rt, const int32_t *parts, size_t n,
                        bool assigned);

/* runtime.c */
void rt_apply_waiting(struct rt *rt);
void rt_publish(struct rt *rt, int64_t now);

#endif
