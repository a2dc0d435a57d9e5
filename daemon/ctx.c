/*
 * ctx.c - what a processor may do: state through the store, alerts through
 * the sink, failure reasons for the DLQ.
 */
#include "ctx.h"

#include "log.h"
#include "repartition.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ctx_init(struct proc_ctx *ctx, struct store *store, ctx_sink_fn sink,
              void *sink_arg)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->store = store;
    ctx->sink = sink;
    ctx->sink_arg = sink_arg;
}

void ctx_set_repartition(struct proc_ctx *ctx, ctx_repartition_fn fn, void *arg)
{
    ctx->repartition = fn;
    ctx->repartition_arg = arg;
}

void ctx_destroy(struct proc_ctx *ctx) { buf_free(&ctx->repartition_buf); }

void ctx_begin(struct proc_ctx *ctx, size_t proc, const struct event *ev)
{
    ctx->proc = proc;
    ctx->ev = ev;
    ctx->repartition_seq = 0;
    ctx->failed = false;
    ctx->fail[0] = '\0';
}

void ctx_observe(struct proc_ctx *ctx, const struct metrics_hist_def *def,
                 const char *label, double value)
{
    if (ctx->metric)
        ctx->metric(ctx->metric_arg, def, label, value);
}

const char *ctx_failure(const struct proc_ctx *ctx)
{
    if (!ctx->failed)
        return NULL;
    return ctx->fail[0] ? ctx->fail : "processor rejected the event";
}

void *ctx_state(struct proc_ctx *ctx, const char *key, int *created)
{
    bool c = false;
    void *obj = store_get(ctx->store, ctx->proc, key, true, &c);
    if (created)
        *created = c;
    return obj;
}

void *ctx_state_find(struct proc_ctx *ctx, const char *key)
{
    return store_get(ctx->store, ctx->proc, key, false, NULL);
}

void ctx_state_dirty(struct proc_ctx *ctx, const char *key)
{
    store_dirty(ctx->store, ctx->proc, key);
}

void ctx_state_delete(struct proc_ctx *ctx, const char *key)
{
    store_delete(ctx->store, ctx->proc, key);
}

const void *ctx_state_peek(struct proc_ctx *ctx, const char *processor,
                           const char *key)
{
    int idx = store_proc_index(ctx->store, processor);
    if (idx < 0)
        return NULL;
    return store_get(ctx->store, (size_t)idx, key, false, NULL);
}

void ctx_state_foreach(struct proc_ctx *ctx,
                       int (*fn)(void *arg, const char *key), void *arg)
{
    size_t n = 0;
    char **keys = store_keys(ctx->store, ctx->proc, &n);
    for (size_t i = 0; i < n; i++)
        if (fn(arg, keys[i]))
            break;
    store_keys_free(keys, n);
}

int ctx_emit(struct proc_ctx *ctx, struct alert *a)
{
    if (!a->trigger_event_id && ctx->ev) {
        a->trigger_event_id = ctx->ev->event_id;
        a->src = ctx->ev->src;
        a->event_time = ctx->ev->event_time;
    }
    alert_compute_id(a);
    ctx->emitted++;
    int rc = ctx->sink ? ctx->sink(ctx->sink_arg, a) : 0;
    if (rc == 0 && ctx->observe) {
        if (ctx->observe_depth >= CTX_OBSERVE_DEPTH) {
            LOG_RL(LOG_WARN, "runtime", "alert %s emitted %d observers deep "
                   "is not observed", a->alert_id, ctx->observe_depth);
            return rc;
        }
        ctx->observe_depth++;
        ctx->observe(ctx->observe_arg, ctx, a);
        ctx->observe_depth--;
    }
    return rc;
}

void ctx_set_observer(struct proc_ctx *ctx,
                      void (*observe)(void *arg, struct proc_ctx *ctx,
                                      const struct alert *a),
                      void *arg)
{
    ctx->observe = observe;
    ctx->observe_arg = arg;
}

void ctx_call_observer(struct proc_ctx *ctx, size_t proc,
                       const struct processor_ops *ops, void *inst,
                       const struct alert *a)
{
    if (!ops->on_alert || !inst)
        return;
    size_t was = ctx->proc;
    const struct alert *was_observing = ctx->observing;
    bool failed = ctx->failed;
    char fail[sizeof(ctx->fail)];
    memcpy(fail, ctx->fail, sizeof(fail));
    ctx->proc = proc;
    ctx->failed = false;
    ctx->fail[0] = '\0';
    ctx->observing = a;
    ops->on_alert(inst, ctx, a);
    ctx->observing = was_observing;
    if (ctx->failed)
        LOG_RL(LOG_ERROR, ops->name, "on alert %s (%s of %s): %s", a->alert_id,
               alert_kind_name(a->kind), a->customer_id ? a->customer_id : "",
               ctx->fail);
    ctx->proc = was;
    ctx->failed = failed;
    memcpy(ctx->fail, fail, sizeof(fail));
}

int ctx_repartition(struct proc_ctx *ctx, const char *key, const void *data,
                    size_t len)
{
    if (!ctx->repartition || !key || !*key)
        return -1;
    if (ctx->ev)
        repartition_encode(&ctx->repartition_buf, &ctx->ev->src,
                           ctx->repartition_seq++, ctx->ev->event_id,
                           ctx->ev->event_time, data, len);
    else if (ctx->observing && ctx->observing->trigger_event_id &&
             ctx->observing->src.topic)
        /* An alert a timer emitted: its provenance is the origin. Its
         * offset can be older than records already sent from that
         * partition, so a receiver de-duplicates such records by content
         * (the alert_id), not with repmarks (processor.h). */
        repartition_encode(&ctx->repartition_buf, &ctx->observing->src,
                           ctx->repartition_seq++,
                           ctx->observing->trigger_event_id,
                           ctx->observing->event_time, data, len);
    else
        return -1;
    return ctx->repartition(ctx->repartition_arg, ctx->proc, key,
                            ctx->repartition_buf.data,
                            ctx->repartition_buf.len);
}

void ctx_fail(struct proc_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->fail, sizeof(ctx->fail), fmt, ap);
    va_end(ap);
    ctx->failed = true;
}

const struct event *ctx_event(const struct proc_ctx *ctx) { return ctx->ev; }

void ctx_set_owner(struct proc_ctx *ctx,
                   bool (*owns)(void *arg, const char *topic,
                                int32_t partition),
                   void *owns_arg)
{
    ctx->owns = owns;
    ctx->owns_arg = owns_arg;
}

bool ctx_owns(const struct proc_ctx *ctx, const char *topic,
              int32_t partition)
{
    return !ctx->owns || ctx->owns(ctx->owns_arg, topic, partition);
}

uint64_t ctx_assignment(const struct proc_ctx *ctx) { return ctx->assignment; }

int ctx_watermark(const struct proc_ctx *ctx, int32_t partition, int64_t *wm)
{
    return ctx->watermark ? ctx->watermark(ctx->watermark_arg, partition, wm)
                          : 0;
}

int ctx_partition_key(const struct proc_ctx *ctx, int32_t partition,
                      char *out, size_t outlen)
{
    if (ctx->partition_key)
        return ctx->partition_key(ctx->partition_key_arg, partition, out,
                                  outlen);
    int w = snprintf(out, outlen, "~p%d", (int)partition);
    return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

int64_t ctx_clock_ms(const struct proc_ctx *ctx)
{
    return ctx->clock_ms ? ctx->clock_ms() : 0;
}

int32_t ctx_partitions(const struct proc_ctx *ctx) { return ctx->partitions; }

void ctx_global_foreach(struct proc_ctx *ctx, enum event_kind kind,
                        int (*fn)(void *arg, const struct event *ev),
                        void *arg)
{
    if (ctx->global_foreach)
        ctx->global_foreach(ctx->global_arg, kind, fn, arg);
}

uint64_t ctx_global_version(const struct proc_ctx *ctx, enum event_kind kind)
{
    return ctx->global_version ? ctx->global_version(ctx->global_arg, kind) : 0;
}
