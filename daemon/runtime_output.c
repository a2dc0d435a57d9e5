/*
 * runtime_output.c - where the loop's outputs go: alerts (with their
 * config and latency headers), repartition records and the DLQ, each DLQ
 * record cut to fit so that a poison record never fails its own
 * dead-lettering; and the producer's delivery reports, counted against the
 * batch that produced each message (runtime_rt.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog.h"
#include "codec.h"
#include "dlq.h"
#include "log.h"
#include "now.h"
#include "repartition.h"
#include "runtime_rt.h"
#include "store.h"

/* Produces a DLQ record with headers h, cut to fit (dlq.h) so that a
 * poison record never fails its own dead-lettering. 0, or -1 when it could
 * not be produced all the same (the batch must then not commit). */
static int dlq_produce(struct rt *rt, enum dlq_oversize mode, const void *key,
                       size_t klen, const void *val, size_t vlen,
                       const struct kafka_header *h, size_t n)
{
    struct dlq_fit fit;
    struct kafka_header all[16];
    if (n + DLQ_MAX_EXTRA_HEADERS > sizeof(all) / sizeof(all[0]))
        abort(); /* our own call sites pass at most a dozen */
    dlq_fit(mode, rt->dlq_max, h, n, klen, vlen, &fit);
    memcpy(all, h, n * sizeof(*h));
    memcpy(all + n, fit.extra, fit.n_extra * sizeof(*h));
    if (fit.n_extra) {
        rt->stats.poison_outputs++;
        LOG_RL(LOG_WARN, "dlq", "a dead-letter record of %zu bytes (key %zu) "
               "is over %lld bytes: %s", vlen, klen, (long long)rt->dlq_max,
               fit.vlen == vlen ? "key truncated"
               : fit.vlen       ? "value truncated"
               : mode == DLQ_REFERENCE ? "value replaced by a reference"
                                       : "no room left for the value");
    }
    char err[256];
    if (kafka_produce(rt->producer, rt->cfg->topics.dlq, key, fit.klen, val,
                      fit.vlen, all, n + fit.n_extra, err, sizeof(err)) != 0) {
        LOG_ERR("dlq", "%s", err);
        return -1;
    }
    rt->inflight[kafka_producer_tag(rt->producer) % RT_RING]++;
    return 0;
}

/* An output Kafka will never take as it is (too large, invalid): it goes
 * to the DLQ, encoded, with the reason, rather than fail every batch that
 * meets it again. Its own source_* fields name the record that caused it. */
static int output_to_dlq(struct rt *rt, const char *topic, const void *key,
                         size_t klen, const void *val, size_t vlen,
                         const char *errstr)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "a record for %s was rejected: %s", topic,
             errstr ? errstr : "unknown error");
    struct kafka_header h[4] = {
        {"__connect.errors.topic", topic},
        {"__connect.errors.stage", "produce"},
        {"__connect.errors.exception.class.name", "output_rejected"},
        {"__connect.errors.exception.message", msg},
    };
    rt->stats.poison_outputs++;
    rt->stats.dlq++;
    metrics_set_add(&rt->mx.dlq, topic, "output_rejected", 1);
    LOG_RL(LOG_ERROR, "dlq", "%s; sent to %s instead", msg,
           rt->cfg->topics.dlq);
    return dlq_produce(rt, (enum dlq_oversize)rt->cfg->runtime.dlq_oversize,
                       key, klen, val, vlen, h, 4);
}

/* A DLQ record the broker rejected although it fits dlq_max (the topic's
 * max.message.bytes is lower): once more with its key and headers but no
 * value. 0, or -1 when there is nothing left to cut. */
static int dlq_retry_bare(struct rt *rt, const struct kafka_msg *m)
{
    if (m->vlen == 0)
        return -1;
    struct kafka_header h[12];
    char vals[10][256], size[24];
    size_t n = 0;
    const char *name;
    const void *v;
    size_t len;
    snprintf(size, sizeof(size), "%zu", m->vlen);
    for (size_t i = 0; kafka_msg_header(m, i, &name, &v, &len) == 0; i++) {
        if (strcmp(name, DLQ_HDR_VALUE_SIZE) == 0)
            snprintf(size, sizeof(size), "%.*s", (int)len,
                     v ? (const char *)v : "");
        if (strncmp(name, "dealstream.dlq.", 15) == 0 || n == 10)
            continue; /* set anew below */
        snprintf(vals[n], sizeof(vals[n]), "%.*s", (int)len,
                 v ? (const char *)v : "");
        h[n] = (struct kafka_header){name, vals[n]};
        n++;
    }
    h[n++] = (struct kafka_header){DLQ_HDR_OVERSIZE, "reference"};
    h[n++] = (struct kafka_header){DLQ_HDR_VALUE_SIZE, size};
    rt->stats.poison_outputs++;
    LOG_RL(LOG_WARN, "dlq", "the broker rejected a dead-letter record of %zu "
           "bytes; sent again without its value (set runtime.dlq_max_bytes "
           "below the topic's max.message.bytes)", m->vlen);
    char err[256];
    if (kafka_produce(rt->producer, rt->cfg->topics.dlq, m->key, m->klen, "",
                      0, h, n, err, sizeof(err)) != 0) {
        LOG_ERR("dlq", "%s", err);
        return -1;
    }
    rt->inflight[kafka_producer_tag(rt->producer) % RT_RING]++;
    return 0;
}

void rt_on_delivery(void *arg, uint64_t tag, enum kafka_fail failed,
                    const char *errstr, const struct kafka_msg *m)
{
    struct rt *rt = arg;
    bool logged = rt->changelog &&
                  strcmp(m->topic, changelog_topic(rt->changelog)) == 0;
    if (logged) {
        changelog_delivered(rt->changelog, tag, failed == KAFKA_DELIVERED, m);
        if (tag == CHANGELOG_TAG_REPAIR)
            return; /* restore.c waits for those itself */
    }
    if (failed == KAFKA_REJECTED && !rt->delivery_failed && !logged) {
        /* The replacement belongs to the same batch, which must wait for
         * it: produced under its tag, counted before this one is off. */
        uint64_t tag_now = kafka_producer_tag(rt->producer);
        kafka_producer_set_tag(rt->producer, tag);
        int rc = strcmp(m->topic, rt->cfg->topics.dlq) == 0
                     ? dlq_retry_bare(rt, m)
                     : output_to_dlq(rt, m->topic, m->key, m->klen, m->value,
                                     m->vlen, errstr);
        kafka_producer_set_tag(rt->producer, tag_now);
        if (rc == 0)
            failed = KAFKA_DELIVERED;
    }
    rt->inflight[tag % RT_RING]--;
    if (failed) {
        /* The batch must not be committed: its records will be applied and
         * its alerts produced again after the restart. */
        LOG_RL(LOG_ERROR, "runtime", "an alert or DLQ record was not "
               "delivered: %s", errstr);
        rt->delivery_failed = true;
    }
}

int rt_sink(void *arg, const struct alert *a)
{
    struct rt *rt = arg;
    struct codec_error cerr = {0};
    if (codec_encode_alert(rt->codec, a, &rt->enc, &cerr) != 0) {
        const struct log_ids ids = {.customer_id = a->customer_id};
        LOG_RL_IDS(LOG_ERROR, "runtime", &ids, "alert %s of %s not encodable: %s",
                   alert_kind_name(a->kind), a->customer_id, cerr.message);
        rt->stats.poison_outputs++;
        rt->emit_failed = true;
        snprintf(rt->emit_fail, sizeof(rt->emit_fail), "%s %s: %s",
                 alert_kind_name(a->kind), a->alert_id, cerr.message);
        return -1;
    }
    char err[256];
    const char *cid = a->customer_id ? a->customer_id : "";
    const char *topic = a->topic ? a->topic : rt->alert_topics[a->kind];
    const struct kafka_header h = {"dealstream.config", rt->cfg_digest};
    int rc = kafka_produce(rt->producer, topic, cid,
                           strlen(cid), rt->enc.data, rt->enc.len, &h, 1,
                           err, sizeof(err));
    if (rc == -KAFKA_REJECTED) {
        if (output_to_dlq(rt, topic, cid, strlen(cid),
                          rt->enc.data, rt->enc.len, err) != 0)
            rt->delivery_failed = true;
        return -1;
    }
    if (rc != 0) {
        LOG_RL(LOG_ERROR, "runtime", "%s", err);
        rt->delivery_failed = true;
        return -1;
    }
    rt->inflight[rt->batch_no % RT_RING]++;
    rt->stats.alerts++;
    rt->alerts_by_kind[a->kind]++;
    if (a->kind == ALERT_COACHING)
        metrics_set_add(&rt->mx.coaching,
                        coaching_category_name(a->u.coaching.category),
                        alert_severity_name(a->u.coaching.severity), 1);
    if (rt->cur_ts > 0)
        metrics_hist_observe(&rt->mx.event_alert,
                             (double)(now_wall_ms() - rt->cur_ts) / 1000.0);
    LOG_DBG("runtime", "alert %s %s for %s", alert_kind_name(a->kind),
            a->alert_id, cid);
    return 0;
}

/* processor_ops.on_alert: every enabled processor that wants it sees the
 * alert, in registry order. */
void rt_observe(void *arg, struct proc_ctx *ctx, const struct alert *a)
{
    struct rt *rt = arg;
    for (size_t i = 0; i < rt->o->n_procs; i++)
        ctx_call_observer(ctx, i, rt->o->procs[i], rt->inst[i], a);
}

/* ctx_observe(): into the loop's counters, published with the rest. */
void rt_observe_metric(void *arg, const struct metrics_hist_def *def,
                       const char *label, double value)
{
    struct rt *rt = arg;
    metrics_lhist_observe(&rt->mx, def, label, value);
}

/* ctx_repartition(): counted with the batch like an alert, so the batch
 * is committed only once its repartition records are acknowledged. */
int rt_repartition_sink(void *arg, size_t proc, const char *key,
                        const void *val, size_t vlen)
{
    struct rt *rt = arg;
    char err[256];
    if (!rt->repart_topics[proc]) {
        LOG_RL(LOG_ERROR, "runtime", "processor %s has no repartition topic "
               "(its inputs lack EVENT_REPARTITION)", rt->o->procs[proc]->name);
        return -1;
    }
    if (kafka_produce(rt->producer, rt->repart_topics[proc], key, strlen(key),
                      val, vlen, NULL, 0, err, sizeof(err)) != 0) {
        LOG_RL(LOG_ERROR, "runtime", "%s", err);
        rt->delivery_failed = true;
        return -1;
    }
    rt->inflight[rt->batch_no % RT_RING]++;
    return 0;
}

void rt_to_dlq(struct rt *rt, const struct kafka_msg *m, const char *stage,
               const char *reason, const char *message,
               const char *processor, const char *customer_id)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof(partition), "%d", m->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)m->offset);
    struct kafka_header h[7] = {
        {"__connect.errors.topic", m->topic},
        {"__connect.errors.partition", partition},
        {"__connect.errors.offset", offset},
        {"__connect.errors.stage", stage},
        {"__connect.errors.exception.class.name", reason},
        {"__connect.errors.exception.message", message},
        {"__connect.errors.processor", processor ? processor : ""},
    };
    size_t n = processor ? 7 : 6;
    rt->stats.dlq++;
    metrics_set_add(&rt->mx.dlq, m->topic, reason, 1);
    const struct log_ids ids = {customer_id, m->topic, m->partition,
                                m->offset};
    LOG_RL_IDS(LOG_WARN, "dlq", &ids, "%s[%d]@%lld -> %s: %s: %s", m->topic,
           m->partition, (long long)m->offset, rt->cfg->topics.dlq, reason,
           message);
    if (dlq_produce(rt, (enum dlq_oversize)rt->cfg->runtime.dlq_oversize,
                    m->key, m->klen, m->value, m->vlen, h, n) != 0)
        rt->delivery_failed = true;
}
