/*
 * processor.h - what a processor is, and what it may ask of the runtime.
 *
 * A processor is a folder processors/<name>/ exporting one
 * `const struct processor_ops`. Its logic is pure over (event, state, config)
 * -> (state', alerts): it reads and writes its state and emits alerts only
 * through the `struct proc_ctx` it is handed, so it is unit-tested with an
 * in-memory store and no Kafka, RocksDB or sleeps.
 *
 * State is a set of objects in the processor's own namespace, keyed by a
 * string the processor chooses; the key must start with the event's key
 * (ev->key: the customer id on customer topics) followed by '/' or end
 * there, so a key's state lives with its partition. State keyed by
 * anything else gets there through ctx_repartition(). The processor owns the object's type: it supplies
 * new/encode/decode/free/to_json. The runtime caches decoded objects and
 * writes dirty ones back once per batch, in the same RocksDB WriteBatch as
 * the input offsets.
 */
#ifndef DS_PROCESSOR_H
#define DS_PROCESSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"
#include "config.h"
#include "event.h"
#include "jsonw.h"

struct proc_ctx; /* owned by the runtime */
struct metrics_hist_def; /* metrics.h */

/* A state key in up to three pieces, joined in order (unused ones NULL),
 * so that naming a composite key needs no copy. */
struct state_key {
    const char *part[3];
};

struct processor_ops {
    const char *name; /* config section processors.<name>, state namespace */
    const char *description;
    /* EVENT_MASK() bits of the kinds it handles: every kind it can read
     * under some config. The upper bound of inputs_of(). */
    uint32_t inputs;
    /* Optional: the part of inputs it reads under its bound config (a
     * kind only an optional feature handles), so that a topic only that
     * feature needs is not subscribed to, provisioned, ordered on or
     * handed to it while the feature is off. NULL: inputs. Bits outside
     * inputs are ignored. Read where inputs were (processor_inputs()):
     * at start for the subscription, by `topics` and create-topics; on
     * reload, a change that would add or drop a subscribed topic is
     * refused (reload.c), one that only changes which processors see a
     * topic applies. */
    uint32_t (*inputs_of)(const void *cfg);
    const struct config_table *config; /* elem_size = sizeof its config */
    /* Optional: the name of another processor whose repartition records
     * this one handles too (as EVENT_REPARTITION, in registry order), so
     * state keyed by something else can come back to this processor's
     * state of the key it reaches. Needs no EVENT_REPARTITION in inputs
     * (that would give this processor a topic of its own); the records
     * arrive only while the other processor is enabled. */
    const char *repartition_from;

    /* Builds an instance from its bound config (owned by the config, valid
     * for the instance's life). 0, or -1 with a message in err. */
    int (*init)(const void *cfg, void **inst, char *err, size_t errlen);
    /* One event. 0, or -1 when the event cannot be processed (it then goes
     * to the DLQ with the reason the processor logged in ctx_fail()). */
    int (*handle)(void *inst, struct proc_ctx *ctx, const struct event *ev);
    /* Optional. Called every runtime.idle_check_interval with wall-clock
     * now (ms since epoch): close idle meetings and the like. */
    void (*on_timer)(void *inst, struct proc_ctx *ctx, int64_t now_ms);
    void (*destroy)(void *inst); /* optional; accepts NULL */
    /* Optional (NULL: not interested). Partitions of the inputs (partition
     * numbers: partition p of every input topic moves together) that became
     * this instance's (assigned true: their state is restored, no record of
     * them applied yet; also right after init while partitions are owned,
     * as after a restart or a reload) or are about to leave it (false:
     * their last batch is applied and committed; the store still holds
     * their objects, which are another instance's from now on). For
     * in-memory indexes over the state: drop the leaving partitions'
     * entries, rebuild the arriving ones' from the state. Reads state,
     * never changes it (no batch is open: on revoke the last one is
     * committed); emits nothing. ctx_event() is NULL. */
    void (*on_partitions)(void *inst, struct proc_ctx *ctx,
                          const int32_t *partitions, size_t n, bool assigned);

    /* Optional (NULL: not interested). Sees every alert this instance
     * produces, of every processor, its own included, once the runtime
     * stamped it (provenance, alert_id) and handed it to the producer;
     * alerts that could not be encoded are not shown. The context is
     * this processor's (its state as in handle()), ctx_event() the
     * emitter's event, NULL when a timer emitted it (the alert's
     * provenance then says where it comes from). May emit alerts, which
     * are observed in turn up to CTX_OBSERVE_DEPTH (ctx.h) deep, and
     * ctx_repartition(): with the emitter's event as the origin, or, for
     * an alert a timer emitted, the alert's provenance (source topic,
     * partition, offset, trigger_event_id, event_time). Such an origin
     * can be older than records already sent from its partition, so the
     * receiver must skip copies by the alert_id it carries, not with
     * repmarks (which would take it for a copy). A ctx_fail() here is
     * logged; the emitter's event is not failed for it. State it touches
     * must be keyed as handle()'s (the alert's customer). */
    void (*on_alert)(void *inst, struct proc_ctx *ctx, const struct alert *a);

    /* State objects of this processor. state_encode and state_free may run
     * on the store's sealing thread, on an object no other code holds:
     * they must touch nothing but the object. */
    void *(*state_new)(const char *key);
    void (*state_encode)(const void *st, struct buf *out);
    /* 0 and *st, or -1 on bytes it cannot read. */
    int (*state_decode)(const char *key, const uint8_t *data, size_t len,
                        void **st);
    void (*state_free)(void *st);
    /* Optional: asks the CPU (__builtin_prefetch) for the parts of a cold
     * object that encoding or freeing it reads: depth 0 what the object
     * points to, depth 1 what those point to. The sealing thread calls it
     * a few objects ahead of the one it works on, depth 0 first, on
     * objects it holds; it must not write. */
    void (*state_prefetch)(const void *st, int depth);
    /* Optional: keys handle() will ask state for when given ev, at most
     * max of them in out; returns how many. The runtime decodes a few
     * records ahead of the one it applies and brings their state into the
     * CPU cache meanwhile. Only a hint: a key left out costs time, never
     * correctness; name none that handle() would not ask for (the unit
     * harness checks). Must not look at state or change inst. */
    size_t (*state_keys)(const void *inst, const struct event *ev,
                         struct state_key *out, size_t max);
    void (*state_to_json)(const void *st, struct jw *w); /* one object */
    /* ALERT_MASK() bits of the kinds it emits: the runtime refuses to
     * start while one of them has no writer schema. */
    uint32_t outputs;
    /* Optional: the part of outputs it can emit under its bound config
     * (a kind only an optional feature writes), so a config from before
     * that feature, without its writer id, still starts while it is off. */
    uint32_t (*outputs_of)(const void *cfg);
    /* EVENT_MASK() bits of kinds read as global tables (Kafka Streams'
     * GlobalKTable): not subscribed by the group, never passed to
     * handle(); every instance reads every partition of their topics, to
     * the end before any record is applied, then as they come, and keeps
     * the latest record per key. Read with ctx_global_foreach(). */
    uint32_t global_inputs;
    /* Optional: output topics its config names besides its kinds' topics
     * (alert.topic), at most max into out; returns how many. They are
     * provisioned, warmed and listed like the kinds' topics. cfg is its
     * bound config. */
    size_t (*output_topics)(const void *cfg, const char **out, size_t max);
    /* Optional: histograms it feeds with ctx_observe(), n_metrics of
     * them, exposed on /metrics from the start while it is enabled. */
    const struct metrics_hist_def *metrics;
    size_t n_metrics;
};

/* The kinds ops reads under its bound config cfg (processor_ops.inputs_of
 * within inputs); inputs when it has no inputs_of or cfg is NULL. */
static inline uint32_t processor_inputs(const struct processor_ops *ops,
                                        const void *cfg)
{
    return ops->inputs_of && cfg ? ops->inputs_of(cfg) & ops->inputs
                                 : ops->inputs;
}

/* The union of processor_inputs() over the processors cfg enables (procs
 * in the config's plugin order): the kinds some processor reads, with
 * EVENT_MASK(EVENT_REPARTITION) when one reads its repartition topic. */
static inline uint32_t processor_read_mask(const struct config *cfg,
                                           const struct processor_ops *const *procs,
                                           size_t n_procs)
{
    uint32_t read = 0;
    for (size_t i = 0; i < n_procs; i++)
        if (cfg->plugin_enabled[i])
            read |= processor_inputs(procs[i], cfg->plugin_cfg ? cfg->plugin_cfg[i]
                                                               : NULL);
    return read;
}

/* The union of global_inputs over the processors cfg enables: the kinds
 * every instance reads whole, as global tables. */
static inline uint32_t processor_global_mask(const struct config *cfg,
                                             const struct processor_ops *const *procs,
                                             size_t n_procs)
{
    uint32_t kinds = 0;
    for (size_t i = 0; i < n_procs; i++)
        if (cfg->plugin_enabled[i])
            kinds |= procs[i]->global_inputs;
    return kinds;
}

/*
 * The processor's state object for `key`: loaded from the store or, when
 * there is none, created with state_new() (then *created is set to 1, if
 * `created` is given). Never NULL. The pointer is valid until the handler
 * returns. Call ctx_state_dirty() after changing it.
 */
void *ctx_state(struct proc_ctx *ctx, const char *key, int *created);
/* The object for `key` if one exists, else NULL; read-only use. */
void *ctx_state_find(struct proc_ctx *ctx, const char *key);
void ctx_state_dirty(struct proc_ctx *ctx, const char *key);
void ctx_state_delete(struct proc_ctx *ctx, const char *key);
/* Read-only view of another processor's state object, or NULL. */
const void *ctx_state_peek(struct proc_ctx *ctx, const char *processor,
                           const char *key);
/* Calls fn for every key of this processor's namespace (store and cache);
 * meant for on_timer housekeeping, not the per-event path. fn returns
 * non-zero to stop. */
void ctx_state_foreach(struct proc_ctx *ctx,
                       int (*fn)(void *arg, const char *key), void *arg);

/*
 * Emits an alert. During handle() the runtime stamps the current event's
 * provenance unless a->trigger_event_id is already set; from on_timer() the
 * processor sets trigger_event_id, src and event_time itself. The alert is
 * encoded and produced at once; everything it points to is borrowed.
 */
int ctx_emit(struct proc_ctx *ctx, struct alert *a);

/*
 * Sends `len` bytes of the processor's own encoding to its repartition
 * topic under `key` (repartition.h); they come back to its handle() as an
 * event of kind EVENT_REPARTITION whose key is `key`, in the partition
 * that owns it. During handle(), and in on_alert() (processor_ops). Delivery is at least once: after a
 * crash the batch that sent a record is applied again and sends it again,
 * with the same origin and seq, so the receiving side can skip copies it
 * has applied. 0, or -1 when it cannot be sent.
 */
int ctx_repartition(struct proc_ctx *ctx, const char *key, const void *data,
                    size_t len);

/*
 * Adds `value` to the series `label` of histogram `def` (one of
 * processor_ops.metrics) on /metrics. Counts per process, like every
 * counter there: call it where the state counts the thing once (copies
 * skipped), so that only a replay after a crash, in a new process, sees
 * it again. Nothing outside the daemon unless a test asks (harness).
 */
void ctx_observe(struct proc_ctx *ctx, const struct metrics_hist_def *def,
                 const char *label, double value);

/* Records why handle() is about to return -1 (for the DLQ headers). */
void ctx_fail(struct proc_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The event being handled, or NULL in on_timer(). */
const struct event *ctx_event(const struct proc_ctx *ctx);

/*
 * Whether this instance owns input partition topic/partition now. Events
 * reach a processor only from partitions it owns, but on_timer() sees the
 * whole local state, which keeps objects of partitions that moved to
 * another instance: a timer must act only on objects whose partition
 * (the provenance kept in the object) is owned, or two instances act on
 * one object. True outside the daemon (unit tests).
 */
bool ctx_owns(const struct proc_ctx *ctx, const char *topic,
              int32_t partition);
/*
 * A record key (NUL-terminated in out) that the inputs' partitioner puts in
 * input partition `partition`, for state that belongs to a partition rather
 * than to one customer (a stream-time watermark): a state key that starts
 * with it is restored with the partition and moves with it. "~p<partition>"
 * followed by a salt the partitioner needs; "~p<partition>" when the state
 * has no changelog (unit tests). The same for the same partition count and
 * partitioner. 0, or -1 when it does not fit in outlen.
 */
int ctx_partition_key(const struct proc_ctx *ctx, int32_t partition,
                      char *out, size_t outlen);
/*
 * The event-time watermark of input partition group `partition` (ms since
 * the epoch): over the group's input topics, the least of the largest
 * event time applied, topics idle for processing.idle_topic_ms left out
 * (docs/TIME.md). A judgement that a lagging topic's records could
 * overturn waits until this passes its time. 1 with *wm set; 0 when
 * nothing of the group has been applied yet, or outside the daemon (unit
 * tests, unless the harness sets one).
 */
int ctx_watermark(const struct proc_ctx *ctx, int32_t partition, int64_t *wm);
/* A monotonic clock (ms) for rules on how long something has not been
 * heard from (an idle origin partition); never an event's time, never
 * stored. 0 when there is none (unit tests, unless the harness sets one):
 * then nothing is ever idle. */
int64_t ctx_clock_ms(const struct proc_ctx *ctx);
/* Calls fn with every row (the latest record per key) of the global table
 * of `kind` (processor_ops.global_inputs), decoded, valid during the call;
 * fn returns non-zero to stop. Nothing when there is none. */
void ctx_global_foreach(struct proc_ctx *ctx, enum event_kind kind,
                        int (*fn)(void *arg, const struct event *ev),
                        void *arg);
/* A number that changes whenever the global table of `kind` does (0: no
 * row yet): a processor that copies rows looks again only then. */
uint64_t ctx_global_version(const struct proc_ctx *ctx, enum event_kind kind);
/* The input topics' partition count (they are co-partitioned, repartition
 * topics included), or 0 when unknown (unit tests). */
int32_t ctx_partitions(const struct proc_ctx *ctx);
/* A number that changes whenever the set of owned partitions does: an
 * index a timer builds from the state is rebuilt when this differs from
 * the value it was built at. */
uint64_t ctx_assignment(const struct proc_ctx *ctx);

#endif
