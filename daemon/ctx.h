/*
 * ctx.h - the runtime's side of struct proc_ctx (processor.h has the
 * processor's side).
 *
 * One context serves every processor in turn: the runtime points it at a
 * processor and an event with ctx_begin(), calls the handler, then reads
 * ctx_failure(). Emitted alerts go to a sink: the Kafka producer in the
 * daemon, a collecting array in tests.
 */
#ifndef DS_CTX_H
#define DS_CTX_H

#include "processor.h"
#include "store.h"

typedef int (*ctx_sink_fn)(void *arg, const struct alert *a);
/* Where ctx_repartition() sends: processor index, key, framed value. */
typedef int (*ctx_repartition_fn)(void *arg, size_t proc, const char *key,
                                  const void *val, size_t vlen);

struct proc_ctx {
    struct store *store;
    size_t proc; /* index of the processor being called */
    const struct event *ev; /* NULL in on_timer */
    ctx_sink_fn sink;
    void *sink_arg;
    char fail[256];
    bool failed;
    uint64_t emitted; /* alerts emitted through this context */
    ctx_repartition_fn repartition; /* NULL: ctx_repartition() fails */
    void *repartition_arg;
    uint32_t repartition_seq; /* records sent by this handle() call */
    struct buf repartition_buf;
    /* Ownership of input partitions (ctx_owns); NULL: owns everything. */
    bool (*owns)(void *arg, const char *topic, int32_t partition);
    void *owns_arg;
    uint64_t assignment; /* bumped by the runtime at every rebalance */
    /* ctx_watermark(); NULL: never known. */
    int (*watermark)(void *arg, int32_t partition, int64_t *wm);
    void *watermark_arg;
    /* Alerts produced are shown to observe() (processor_ops.on_alert),
     * up to CTX_OBSERVE_DEPTH alerts emitted from observers deep. */
    void (*observe)(void *arg, struct proc_ctx *ctx, const struct alert *a);
    void *observe_arg;
    int observe_depth;
    const struct alert *observing; /* in on_alert: the alert shown */
    /* ctx_partition_key(); NULL: "~p<partition>". */
    int (*partition_key)(void *arg, int32_t partition, char *out, size_t n);
    void *partition_key_arg;
    int64_t (*clock_ms)(void); /* ctx_clock_ms(); NULL: 0 */
    int32_t partitions;        /* ctx_partitions(); 0: unknown */
    /* ctx_global_foreach() / ctx_global_version(); NULL: no global table. */
    void (*global_foreach)(void *arg, enum event_kind kind,
                           int (*fn)(void *a, const struct event *ev), void *a);
    uint64_t (*global_version)(void *arg, enum event_kind kind);
    void *global_arg;
    /* ctx_observe(); NULL: values are dropped. */
    void (*metric)(void *arg, const struct metrics_hist_def *def,
                   const char *label, double value);
    void *metric_arg;
};

void ctx_init(struct proc_ctx *ctx, struct store *store, ctx_sink_fn sink,
              void *sink_arg);
/* Where ctx_repartition() sends its records. */
void ctx_set_repartition(struct proc_ctx *ctx, ctx_repartition_fn fn, void *arg);
#define CTX_OBSERVE_DEPTH 2
/* Where produced alerts are shown (NULL: nowhere). */
void ctx_set_observer(struct proc_ctx *ctx,
                      void (*observe)(void *arg, struct proc_ctx *ctx,
                                      const struct alert *a),
                      void *arg);
/*
 * Calls ops->on_alert(inst, ctx, a) with the context pointed at processor
 * `proc` (the emitter's event kept), then points it back; a failure the
 * observer records is logged, never the emitter's. For observe().
 */
void ctx_call_observer(struct proc_ctx *ctx, size_t proc,
                       const struct processor_ops *ops, void *inst,
                       const struct alert *a);
/* Frees what the context holds (not the store). */
void ctx_destroy(struct proc_ctx *ctx);
/* Points the context at processor `proc` handling `ev` (NULL: timer). */
void ctx_begin(struct proc_ctx *ctx, size_t proc, const struct event *ev);
/* Answers ctx_owns() with owns(owns_arg, ...) from now on. */
void ctx_set_owner(struct proc_ctx *ctx,
                   bool (*owns)(void *arg, const char *topic,
                                int32_t partition),
                   void *owns_arg);
/* The reason given with ctx_fail(), or a generic one; NULL if none. */
const char *ctx_failure(const struct proc_ctx *ctx);

#endif
