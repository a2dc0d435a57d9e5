/*
 * runtime.c - one processing thread per instance; librdkafka has its own
 * I/O threads and the consumer group spreads partitions over instances.
 *
 * State effects exactly once: a batch's state and the offsets of the
 * records it applied go into one RocksDB WriteBatch, and on assignment each
 * partition resumes from the offset stored with it. Alerts at least once
 * with deterministic ids: produced as soon as a processor emits them, and
 * a batch is committed only after every alert it caused is acknowledged,
 * so after a crash the uncommitted batch re-emits the same ids. The loop
 * does not wait for those acknowledgements: a closed batch waits in a
 * short FIFO while the next one is applied, then goes to the commit thread
 * (committer.c), oldest first. A record that cannot be decoded or
 * processed goes to the DLQ with headers naming the reason. Outputs are in
 * runtime_output.c, batches in runtime_batch.c, partitions coming and
 * going in runtime_partitions.c; runtime_rt.h is the state they share.
 */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "changelog.h"
#include "codec.h"
#include "committer.h"
#include "ctx.h"
#include "dlq.h"
#include "kafka.h"
#include "log.h"
#include "global_table.h"
#include "now.h"
#include "ordering.h"
#include "repartition.h"
#include "restore.h"
#include "standby.h"
#include "schema_check.h"
#include "schema_registry.h"
#include "state.h"
#include "store.h"
#include "txn.h"
#include "writeback.h"

#include "runtime_rt.h"

static void warn_schema(void *arg, const char *msg)
{
    (void)arg;
    LOG_WRN("codec", "%s", msg);
}

/* ---- records ------------------------------------------------------------ */

/* The kind a topic carries, -1 for none; for a repartition topic
 * EVENT_REPARTITION and *proc, the processor it belongs to. */
static int kind_of_topic(const struct rt *rt, const char *topic, size_t *proc)
{
    for (int k = 0; k < EVENT_KIND_COUNT; k++)
        if (rt->input_topics[k] && strcmp(rt->input_topics[k], topic) == 0)
            return k;
    for (size_t i = 0; i < rt->o->n_procs; i++) {
        if (rt->repart_topics[i] && strcmp(rt->repart_topics[i], topic) == 0) {
            *proc = i;
            return EVENT_REPARTITION;
        }
    }
    return -1;
}

/* Whether processor i handles the record waiting in a. */
static bool reads(const struct rt *rt, size_t i, const struct ahead *a)
{
    const struct processor_ops *ops = rt->o->procs[i];
    if (!rt->inst[i])
        return false;
    if (a->kind == EVENT_REPARTITION && a->proc != i) /* repartition_from */
        return ops->repartition_from &&
               strcmp(ops->repartition_from, rt->o->procs[a->proc]->name) == 0;
    return (rt->inputs[i] & EVENT_MASK(a->kind)) != 0;
}

/* A record framed with a writer id the codec does not know: asks the
 * schema registry, if there is one. True when the codec knows it now. */
static bool learn_schema(struct rt *rt, struct ahead *a)
{
    int64_t id = schema_registry_frame_id(a->m.value, a->m.vlen);
    if (!rt->registry || !a->cerr.reason || id < 0 ||
        strcmp(a->cerr.reason, "unknown_schema_id") != 0)
        return false;
    char err[512];
    if (schema_registry_teach(rt->registry, rt->codec, (int32_t)id, err,
                              sizeof(err)) != 0) {
        const struct log_ids ids = {NULL, a->m.topic, a->m.partition,
                                    a->m.offset};
        LOG_RL_IDS(LOG_WARN, "codec", &ids, "%s", err);
        return false;
    }
    memset(&a->cerr, 0, sizeof(a->cerr));
    arena_reset(a->arena);
    return true;
}

/* The index of a subscribed topic: its FIFO in the chooser. */
static size_t topic_index(const struct rt *rt, const char *topic)
{
    for (size_t i = 0; i < rt->n_subscribed; i++)
        if (strcmp(rt->subscribed[i], topic) == 0)
            return i;
    return 0; /* never: the consumer only returns subscribed topics */
}

/* kind_of_topic() and topic_index() of a's record, the last answer kept:
 * polled records come in runs of one partition, so most cost one strcmp
 * instead of a scan of each topic list. */
static void resolve_topic(struct rt *rt, struct ahead *a)
{
    struct topic_memo *t = &rt->last_topic;
    if (!t->name || strcmp(t->name, a->m.topic) != 0) {
        size_t proc = 0;
        int kind = kind_of_topic(rt, a->m.topic, &proc);
        size_t index = topic_index(rt, a->m.topic);
        if (kind < 0) { /* not subscribed: never, and not kept */
            a->kind = kind;
            a->topic = index;
            return;
        }
        *t = (struct topic_memo){rt->subscribed[index], kind, proc, index};
    }
    a->kind = t->kind;
    a->proc = t->proc;
    a->topic = t->index;
}

/* Decodes a polled record and hands it to the chooser, which gives it
 * back in its partition group's event-time order. Its offset is noted
 * only when it is applied, so a record held here is never committed. */
static void hold(struct rt *rt, const struct kafka_msg *m)
{
    struct ahead *a = rt->spare;
    if (a) {
        rt->spare = a->next_spare;
    } else {
        a = calloc(1, sizeof(*a));
        /* Up to processing.max_buffered of these are held at a backlog:
         * a 4 KiB first chunk (5 KiB with its header) was ~50 MB of the
         * peak, for records that decode into < 256 bytes. A larger record
         * grows the arena once (arena_reset keeps it grown). */
        if (!a || !(a->arena = arena_new(512 - ARENA_CHUNK_HDR)))
            abort(); /* as the arena does on out-of-memory */
    }
    a->m = *m;
    resolve_topic(rt, a);
    a->n_hash = 0;
    memset(&a->cerr, 0, sizeof(a->cerr));
    arena_reset(a->arena);
    if (a->kind == EVENT_REPARTITION) {
        a->decoded = repartition_decode(m->key, m->klen, m->value, m->vlen,
                                        a->arena, &a->ev, a->cerr.message,
                                        sizeof(a->cerr.message)) == 0;
        if (!a->decoded)
            a->cerr.reason = "decode_failed";
    } else {
        a->decoded = a->kind >= 0 &&
                     codec_decode_event(rt->codec, (enum event_kind)a->kind,
                                        m->key, m->klen, m->value, m->vlen,
                                        a->arena, &a->ev, &a->cerr) == 0;
        if (!a->decoded && a->kind >= 0 && learn_schema(rt, a))
            a->decoded = codec_decode_event(rt->codec, (enum event_kind)a->kind,
                                            m->key, m->klen, m->value, m->vlen,
                                            a->arena, &a->ev, &a->cerr) == 0;
    }
    /* A record that will go to the DLQ waits for nothing. */
    ordering_push(rt->order, a->topic, m->partition,
                  a->decoded ? a->ev.event_time : INT64_MIN, a,
                  now_mono_ms());
}

/* Puts a chosen record into the look-ahead ring and starts on its state;
 * the records already waiting move a step on. */
static void take(struct rt *rt, struct ahead *a)
{
    rt->ahead[(rt->ahead_first + rt->n_ahead) % RT_AHEAD] = a;
    for (size_t i = 0; a->decoded && i < rt->o->n_procs; i++) {
        const struct processor_ops *ops = rt->o->procs[i];
        if (!ops->state_keys || !reads(rt, i, a))
            continue;
        struct state_key keys[RT_AHEAD_KEYS];
        size_t n = ops->state_keys(rt->inst[i], &a->ev, keys,
                                   RT_AHEAD_KEYS - a->n_hash);
        for (size_t k = 0; k < n; k++) {
            uint64_t h = store_key_hash(rt->store, i, &keys[k]);
            a->hash[a->n_hash++] = h;
            store_prefetch(rt->store, h, 0);
        }
    }
    rt->n_ahead++;
    /* The newest but one: its slots have arrived, ask for the entries; the
     * one before: its entries have, ask for the objects. */
    for (int step = 1; step <= 2 && (size_t)step < rt->n_ahead; step++) {
        const struct ahead *w =
            rt->ahead[(rt->ahead_first + rt->n_ahead - 1 - (size_t)step) % RT_AHEAD];
        for (size_t k = 0; k < w->n_hash; k++)
            store_prefetch(rt->store, w->hash[k], step);
    }
}

/* Records arrive in runs from one topic: the slot of the last one saves
 * a search of the label set per record. */
static void count_consumed(struct rt *rt, const char *topic)
{
    struct metrics_count *c = rt->consumed_last;
    if (!c || strcmp(c->a, topic) != 0)
        c = rt->consumed_last = metrics_set_slot(&rt->mx.consumed, topic, NULL);
    c->n++;
}

/* Applies the oldest record waiting in the look-ahead ring. */
static void apply(struct rt *rt)
{
    struct ahead *a = rt->ahead[rt->ahead_first];
    const struct kafka_msg *m = &a->m;
    if (a->kind < 0) {
        rt_to_dlq(rt, m, "route", "unknown_topic",
                  "no processor reads this topic", NULL, NULL);
        goto done;
    }
    if (!a->decoded) {
        rt_to_dlq(rt, m, "decode", a->cerr.reason, a->cerr.message, NULL,
                  NULL);
        goto done;
    }
    struct event *ev = &a->ev;
    rt->cur_ts = m->timestamp;
    ev->src.topic = m->topic;
    ev->src.partition = m->partition;
    ev->src.offset = m->offset;
    for (size_t i = 0; i < rt->o->n_procs; i++) {
        const struct processor_ops *ops = rt->o->procs[i];
        if (!reads(rt, i, a))
            continue;
        ctx_begin(&rt->ctx, i, ev);
        rt->emit_failed = false;
        if (ops->handle(rt->inst[i], &rt->ctx, ev) != 0)
            rt_to_dlq(rt, m, "process", "processor_failed",
                      ctx_failure(&rt->ctx) ? ctx_failure(&rt->ctx)
                                            : "processor failed",
                      ops->name, ev->customer_id);
        else if (rt->emit_failed)
            rt_to_dlq(rt, m, "process", "alert_encode_failed", rt->emit_fail,
                      ops->name, ev->customer_id);
    }
    rt->stats.events++;
    rt->last_event_wall = now_wall_ms();
    rt->cur_ts = -1;
    ordering_applied(rt->order, a->topic, m->partition, ev->event_time);
done:
    if (rt->first_since && m->partition >= 0 &&
        m->partition < changelog_partitions(rt->changelog) &&
        rt->first_since[m->partition])
        rt_first_applied(rt, m);
    count_consumed(rt, m->topic);
    rt_note_offset(rt, m->topic, m->partition, m->offset + 1);
    rt->batch_events++;
    kafka_msg_release(&a->m);
    a->next_spare = rt->spare;
    rt->spare = a;
    rt->ahead_first = (rt->ahead_first + 1) % RT_AHEAD;
    rt->n_ahead--;
}

/* Moves the records whose turn has come into the look-ahead ring, while
 * it has room. force: every record held (before a revoke, at shutdown). */
static void choose(struct rt *rt, bool force)
{
    struct ordering_rec r;
    while (rt->n_ahead < RT_AHEAD &&
           ordering_pop(rt->order, now_mono_ms(), force, &r) == 1)
        take(rt, r.item);
}

/* After a rebalance: the chooser forgets the groups whose partitions left
 * (drained by before_revoke), so their waits and watermark neither linger
 * in the metrics nor come back stale; a returning partition reloads its
 * watermark from the state (stored_offset). */
static void forget_moved(struct rt *rt)
{
    rt->order_pruned = rt->rebalances;
    for (size_t p = 0; p < ordering_groups(rt->order); p++)
        if (!kafka_consumer_owns(rt->consumer, rt->subscribed[0], (int32_t)p))
            ordering_forget(rt->order, (int32_t)p);
}

/* Applies every record polled so far, held ones in event-time order. */
void rt_apply_waiting(struct rt *rt)
{
    for (choose(rt, true); rt->n_ahead; choose(rt, true))
        apply(rt);
}

static void run_timers(struct rt *rt)
{
    int64_t now = now_wall_ms();
    for (size_t i = 0; i < rt->o->n_procs; i++) {
        if (!rt->inst[i] || !rt->o->procs[i]->on_timer)
            continue;
        ctx_begin(&rt->ctx, i, NULL);
        rt->emit_failed = false; /* no record to send: logged and counted */
        rt->o->procs[i]->on_timer(rt->inst[i], &rt->ctx, now);
    }
}

/* ---- set-up and the loop ------------------------------------------------ */

/* The chooser's lag look-up (ordering_opts.behind): asked only when a wait
 * for an empty topic runs out. Unknown lag (no fetch answered since the
 * assignment) ends the wait as before: KIP-695 would wait on, but a topic
 * that never has records of a partition would then cost every burst of
 * its group max_lag_wait_ms. */
static int topic_behind(void *arg, size_t topic, int32_t partition)
{
    struct rt *rt = arg;
    return rt->consumer ? kafka_consumer_behind(rt->consumer,
                                                rt->subscribed[topic],
                                                partition)
                        : -1;
}

/* ctx_global_foreach() and ctx_global_version() over rt->global. */
static void global_foreach(void *arg, enum event_kind kind,
                           int (*fn)(void *a, const struct event *ev), void *a)
{
    struct rt *rt = arg;
    global_table_foreach(rt->global, rt->codec, kind, fn, a);
}

static uint64_t global_version(void *arg, enum event_kind kind)
{
    return global_table_version(((struct rt *)arg)->global, kind);
}

/* The global tables of the enabled processors, read to their end. */
static int open_global(struct rt *rt)
{
    uint32_t kinds =
        processor_global_mask(rt->cfg, rt->o->procs, rt->o->n_procs);
    const char *topics[EVENT_KIND_COUNT] = {0};
    char err[512];
    if (!kinds)
        return 0;
    for (int k = 0; k < EVENT_KIND_COUNT; k++)
        topics[k] = rt->cfg->topics.name[records_of_event(k)->id];
    struct global_table_opts go = {.brokers = rt->o->brokers,
                                   .properties = &rt->cfg->kafka.properties,
                                   .kinds = kinds, .topics = topics,
                                   .catch_up_ms = 60000};
    if (global_table_open(&go, rt->codec, &rt->global, err, sizeof(err)) != 0) {
        LOG_ERR("global", "%s", err);
        return -1;
    }
    rt->ctx.global_foreach = global_foreach;
    rt->ctx.global_version = global_version;
    rt->ctx.global_arg = rt;
    return 0;
}

/* rt->inputs under the running config (0 for a disabled processor). */
static void rt_set_inputs(struct rt *rt)
{
    for (size_t i = 0; i < rt->o->n_procs; i++)
        rt->inputs[i] = rt->cfg->plugin_enabled[i]
                            ? processor_inputs(rt->o->procs[i],
                                               rt->cfg->plugin_cfg[i])
                            : 0;
}

static int setup(struct rt *rt)
{
    const struct config *cfg = rt->cfg;
    char err[512];
    const struct config_topics *t = &cfg->topics;
    /* The inputs some enabled processor reads under its config: a topic
     * no one reads is not subscribed to, so a deployment need not create
     * it, and its records are neither decoded nor waited for. */
    uint32_t read = processor_read_mask(cfg, rt->o->procs, rt->o->n_procs);
    rt->subscribed = calloc(EVENT_KIND_COUNT + rt->o->n_procs, sizeof(char *));
    rt->repart_topics = calloc(rt->o->n_procs ? rt->o->n_procs : 1, sizeof(char *));
    rt->inputs = calloc(rt->o->n_procs ? rt->o->n_procs : 1, sizeof(uint32_t));
    if (!rt->subscribed || !rt->repart_topics || !rt->inputs)
        return -1;
    rt_set_inputs(rt);
    for (int k = 0; k < EVENT_KIND_COUNT; k++)
        if (read & EVENT_MASK(k))
            rt->input_topics[k] = rt->subscribed[rt->n_subscribed++] =
                t->name[records_of_event(k)->id];
    for (int k = 0; k < ALERT_KIND_COUNT; k++)
        rt->alert_topics[k] = t->name[records_of_alert(k)->id];

    struct state_options so = {
        .dir = cfg->state.dir,
        .block_cache_bytes = cfg->state.block_cache_bytes,
        .write_buffer_bytes = cfg->state.write_buffer_bytes,
        .sync = cfg->state.sync_commit,
    };
    if (state_open(&so, &rt->db, err, sizeof(err)) != 0) {
        LOG_ERR("state", "%s", err);
        return -1;
    }
    if (committer_start(rt->db, RT_MAX_PENDING, &rt->committer, err,
                        sizeof(err)) != 0) {
        LOG_ERR("state", "%s", err);
        return -1;
    }
    if (codec_open(&cfg->schemas, &rt->codec, err, sizeof(err)) != 0) {
        LOG_ERR("codec", "%s", err);
        return -1;
    }
    if (cfg->schemas.registry_url && cfg->schemas.registry_url[0] &&
        schema_registry_new(cfg->schemas.registry_url,
                            cfg->schemas.registry_timeout_ms, &rt->registry,
                            err, sizeof(err)) != 0) {
        LOG_ERR("codec", "%s", err);
        return -1;
    }
    if (rt->n_subscribed == 0) {
        LOG_ERR("runtime", "no enabled processor reads any topic");
        return -1;
    }
    if (schema_check_processors(rt->codec, cfg, rt->o->procs, rt->o->n_procs,
                                warn_schema, NULL, err, sizeof(err)) != 0) {
        LOG_ERR("codec", "%s", err);
        return -1;
    }
    rt->inst = calloc(rt->o->n_procs ? rt->o->n_procs : 1, sizeof(void *));
    for (size_t i = 0; i < rt->o->n_procs; i++) {
        if (!cfg->plugin_enabled[i]) {
            LOG_INF("runtime", "processor %s disabled", rt->o->procs[i]->name);
            continue;
        }
        if (rt->o->procs[i]->init(cfg->plugin_cfg[i], &rt->inst[i], err,
                                  sizeof(err)) != 0) {
            LOG_ERR("runtime", "processor %s: %s", rt->o->procs[i]->name, err);
            return -1;
        }
    }
    rt->store = store_new(rt->o->procs, rt->o->n_procs, rt->db,
                          (size_t)cfg->state.cache_max_entries);
    /* A dirty object cannot leave the decoded cache: half of it full of
     * them is a checkpoint, so the other half still turns over. */
    writeback_init(&rt->wb, cfg->state.max_dirty_ms, cfg->state.max_dirty_bytes,
                   cfg->state.cache_max_entries > 1
                       ? (uint64_t)cfg->state.cache_max_entries / 2
                       : 1);
    store_set_warm_bytes(rt->store, (size_t)cfg->state.encoded_cache_bytes);
    /* Closed batches are encoded on a thread of their own; without it
     * (never expected) rt_seal_step() below does it a few per record. */
    if (store_seal_async(rt->store) != 0)
        LOG_WRN("state", "could not start the sealing thread; sealing on "
                "the processing thread");
    /* Room for twice the keys there are now (at least 4M: 5 MiB), so the
     * filter stays sharp while the state grows. */
    uint64_t known = 2 * state_estimate_keys(rt->db);
    if (known < (4u << 20))
        known = 4u << 20;
    if (known > (64u << 20))
        known = 64u << 20;
    if (store_filter_absent(rt->store, known) != 0)
        LOG_WRN("state", "could not start the key filter; every new "
                "object's first get reads RocksDB");
    ctx_init(&rt->ctx, rt->store, rt_sink, rt);
    ctx_set_repartition(&rt->ctx, rt_repartition_sink, rt);
    ctx_set_observer(&rt->ctx, rt_observe, rt);
    rt->ctx.metric = rt_observe_metric;
    rt->ctx.metric_arg = rt;
    for (size_t i = 0; i < rt->o->n_procs; i++) {
        const struct processor_ops *ops = rt->o->procs[i];
        for (size_t j = 0; cfg->plugin_enabled[i] && j < ops->n_metrics; j++)
            if (!metrics_lhist_declare(&rt->mx, &ops->metrics[j]))
                LOG_WRN("runtime", "%s: no room for histogram %s on /metrics",
                        ops->name, ops->metrics[j].name);
    }
    buf_init(&rt->enc);

    struct kafka_producer_opts po = {
        .brokers = rt->o->brokers,
        .properties = &cfg->kafka.properties,
        .on_delivery = rt_on_delivery,
        .arg = rt,
    };
    char txn_id[600];
    bool eos = cfg->processing.guarantee == GUARANTEE_EXACTLY_ONCE;
    if (eos) {
        if (txn_id_for_dir(cfg->state.dir, cfg->kafka.group_id, txn_id,
                           sizeof(txn_id), err, sizeof(err)) != 0) {
            LOG_ERR("txn", "%s", err);
            return -1;
        }
        po.transactional_id = txn_id;
        po.transaction_timeout_ms =
            RT_TXN_TIMEOUT_MS;
        for (size_t i = 0; i < cfg->kafka.properties.n; i++)
            if (!strcmp(cfg->kafka.properties.v[i].key,
                        "transaction.timeout.ms"))
                po.transaction_timeout_ms = 0; /* the operator's */
    }
    if (kafka_producer_new(&po, &rt->producer, err, sizeof(err)) != 0) {
        LOG_ERR("kafka", "%s", err);
        return -1;
    }
    /* Before the consumer joins and restores: fences the previous
     * incarnation of this instance and aborts what it left open, so the
     * read_committed restore is not held up by it. */
    if (eos) {
        if (txn_open(rt->producer, 60000, &rt->txn, err, sizeof(err)) != 0) {
            LOG_ERR("txn", "%s", err);
            return -1;
        }
        LOG_INF("txn", "exactly_once: one transaction per batch, "
                "transactional.id %s", txn_id);
        if (!strcmp(cfg->kafka.bootstrap_servers, "embedded"))
            LOG_WRN("txn", "the embedded development broker neither hides "
                    "aborted records from read_committed readers nor "
                    "fences old producers: exactly_once holds on Apache "
                    "Kafka only (STATE.md)");
    }
    rt->dlq_max = kafka_producer_max_message(rt->producer);
    if (cfg->runtime.dlq_max_bytes > 0 &&
        cfg->runtime.dlq_max_bytes < rt->dlq_max)
        rt->dlq_max = cfg->runtime.dlq_max_bytes;
    /* The DLQ and the topics the enabled processors write: their metadata
     * now rather than on the first alert (a disabled processor's topic
     * need not exist). Not fatal: a topic created later is learnt on
     * first use. */
    const char *out_topics[ALERT_KIND_COUNT + 1 + 32];
    size_t n_out = 0;
    uint32_t written = 0;
    for (size_t i = 0; i < rt->o->n_procs; i++)
        if (cfg->plugin_enabled[i])
            written |= rt->o->procs[i]->outputs;
    out_topics[n_out++] = t->dlq;
    for (int k = 0; k < ALERT_KIND_COUNT; k++)
        if (written & ALERT_MASK(k))
            out_topics[n_out++] = rt->alert_topics[k];
    for (size_t i = 0; i < rt->o->n_procs; i++) /* their own topics */
        if (cfg->plugin_enabled[i] && rt->o->procs[i]->output_topics)
            n_out += rt->o->procs[i]->output_topics(
                cfg->plugin_cfg[i], out_topics + n_out,
                sizeof(out_topics) / sizeof(out_topics[0]) - n_out);
    if (kafka_producer_warm(rt->producer, out_topics, n_out, 5000, err,
                            sizeof(err)) != 0)
        LOG_WRN("kafka", "%s; learnt on first use", err);
    /* A processor that reads EVENT_REPARTITION gets its repartition topic,
     * consumed like the inputs (provision.c made it with their partition
     * count). */
    for (size_t i = 0; i < rt->o->n_procs; i++) {
        const struct processor_ops *ops = rt->o->procs[i];
        char topic[512];
        if (!(rt->inputs[i] & EVENT_MASK(EVENT_REPARTITION)))
            continue;
        if (repartition_topic(cfg->kafka.group_id, ops->name, topic,
                              sizeof(topic)) != 0 ||
            !(rt->repart_topics[i] = strdup(topic))) {
            LOG_ERR("runtime", "processor %s: no repartition topic name", ops->name);
            return -1;
        }
        rt->subscribed[rt->n_subscribed++] = rt->repart_topics[i];
    }
    if (cfg->state.changelog) {
        if (changelog_open(cfg, rt->producer, rt->subscribed[0],
                           &rt->changelog, err, sizeof(err)) != 0) {
            LOG_ERR("changelog", "%s", err);
            return -1;
        }
        rt->restored_in = calloc((size_t)changelog_partitions(rt->changelog),
                                 sizeof(*rt->restored_in));
        rt->restoring = calloc((size_t)changelog_partitions(rt->changelog),
                               sizeof(*rt->restoring));
        rt->unreleased = calloc((size_t)changelog_partitions(rt->changelog),
                                sizeof(*rt->unreleased));
        rt->first_since = calloc((size_t)changelog_partitions(rt->changelog),
                                 sizeof(*rt->first_since));
        if (!rt->restored_in || !rt->restoring || !rt->unreleased ||
            !rt->first_since)
            return -1;
        if (cfg->state.standby_replicas > 0) {
            struct restore_opts sbo = {
                .db = rt->db,
                .brokers = rt->o->brokers,
                .properties = &rt->cfg->kafka.properties,
                .changelog = rt->changelog,
                .on_key = rt_restored_key,
                .arg = rt,
            };
            if (!(rt->standby = standby_new(&sbo)))
                return -1;
        }
        rt->rebalances = 1;
    }
    /* Every subscribed topic, repartition topics included, is one FIFO of
     * each partition group; only the inputs are waited for: a repartition
     * topic is fed by what this loop applies, so waiting for it would hold
     * the inputs back until the wait runs out. */
    size_t n_inputs = 0;
    for (int k = 0; k < EVENT_KIND_COUNT; k++)
        n_inputs += rt->input_topics[k] != NULL;
    struct ordering_opts oo = {
        .n_topics = rt->n_subscribed,
        .n_waited = n_inputs,
        .max_idle_ms = cfg->processing.max_idle_ms,
        .idle_topic_ms = cfg->processing.idle_topic_ms,
        .max_buffered = (size_t)cfg->processing.max_buffered,
        .behind = topic_behind,
        .behind_arg = rt,
        .max_lag_wait_ms = cfg->processing.max_lag_wait_ms,
    };
    if (!(rt->order = ordering_new(&oo)))
        return -1;
    struct kafka_consumer_opts co = {
        .brokers = rt->o->brokers,
        .group_id = rt->o->consumer_group ? rt->o->consumer_group
                                          : cfg->kafka.group_id,
        .properties = &cfg->kafka.properties,
        .topics = rt->subscribed,
        .n_topics = rt->n_subscribed,
        .rebalance = rt_rebalance_ops(rt),
        .prefetch_budget = (uint64_t)cfg->kafka.prefetch_budget,
    };
    if (kafka_consumer_new(&co, &rt->consumer, err, sizeof(err)) != 0) {
        LOG_ERR("kafka", "%s", err);
        return -1;
    }
    rt_partition_ctx(rt);
    if (open_global(rt) != 0)
        return -1;
    rt->ctx.clock_ms = now_mono_ms;
    int np = rt->changelog ? changelog_partitions(rt->changelog)
                           : kafka_producer_partitions(rt->producer, rt->subscribed[0],
                                                       2000, err, sizeof(err));
    rt->ctx.partitions = np > 0 ? np : 0; /* unknown: origins seen count */
    return 0;
}

static void teardown(struct rt *rt)
{
    kafka_consumer_close(rt->consumer);
    txn_close(rt->txn);
    global_table_free(rt->global);
    kafka_producer_free(rt->producer);
    for (int32_t p = 0;
         rt->restoring && p < changelog_partitions(rt->changelog); p++)
        restore_cancel(rt->restoring[p]);
    standby_free(rt->standby);
    changelog_free(rt->changelog);
    free(rt->restoring);
    free(rt->unreleased);
    free(rt->first_since);
    free(rt->restored_in);
    free(rt->owned);
    store_free(rt->store);
    for (size_t i = 0; rt->inst && i < rt->o->n_procs; i++)
        if (rt->inst[i] && rt->o->procs[i]->destroy)
            rt->o->procs[i]->destroy(rt->inst[i]);
    free(rt->inst);
    for (size_t i = 0; rt->repart_topics && i < rt->o->n_procs; i++)
        free(rt->repart_topics[i]);
    free(rt->repart_topics);
    free(rt->inputs);
    free((void *)rt->subscribed);
    ctx_destroy(&rt->ctx);
    /* Before the batches it may be writing are freed. */
    committer_stop(rt->committer);
    rt->committer = NULL;
    for (size_t i = 0; i < rt->n_pending; i++) {
        state_batch_free(rt->pending[i].wb); /* never written: replayed */
        free(rt->pending[i].offsets);
    }
    state_close(rt->db);
    codec_free(rt->codec);
    schema_registry_free(rt->registry);
    config_free(rt->cfg_owned);
    /* Waiting records the consumer's close did not apply (it applies them
     * when it revokes partitions): never applied, so replayed. */
    for (size_t i = 0; i < rt->n_ahead; i++) {
        struct ahead *a = rt->ahead[(rt->ahead_first + i) % RT_AHEAD];
        kafka_msg_release(&a->m);
        arena_free(a->arena);
        free(a);
    }
    struct ordering_rec r;
    while (rt->order && ordering_pop(rt->order, 0, true, &r) == 1) {
        struct ahead *a = r.item;
        kafka_msg_release(&a->m);
        arena_free(a->arena);
        free(a);
    }
    ordering_free(rt->order);
    while (rt->spare) {
        struct ahead *a = rt->spare;
        rt->spare = a->next_spare;
        arena_free(a->arena);
        free(a);
    }
    buf_free(&rt->enc);
    free(rt->offsets);
}

static void lag_of(void *arg, const char *topic, int32_t partition,
                   int64_t lag)
{
    metrics_lag_add(arg, topic, partition, lag);
}

static void standby_lag_of(void *arg, int32_t partition, int64_t lag)
{
    struct metrics *mx = arg;
    if (mx->n_standby_lag >= METRICS_MAX_SERIES)
        return;
    mx->standby_lag[mx->n_standby_lag].partition = partition;
    mx->standby_lag[mx->n_standby_lag++].lag = lag;
}

/* Lag, the state cache and RocksDB's memory, read for rt_publish(). */
static void publish_state(struct rt *rt, struct metrics *mx)
{
    struct store_stats ss;
    struct state_memory sm;
    mx->lag.n = 0;
    kafka_consumer_lag(rt->consumer, lag_of, &mx->lag);
    mx->standby_partitions = (int64_t)standby_following(rt->standby);
    mx->n_standby_lag = 0;
    standby_lag(rt->standby, standby_lag_of, mx);
    store_stats(rt->store, &ss);
    mx->cache_hits = ss.gets - ss.loads;
    mx->cache_misses = ss.loads;
    mx->dirty_objects = store_dirty_count(rt->store);
    mx->unwritten_bytes = 0;
    for (size_t i = 0; i < rt->n_pending; i++)
        if (rt->pending[i].sealed) /* the sealer is done with it */
            mx->unwritten_bytes += state_batch_bytes(rt->pending[i].wb);
    state_memory(rt->db, &sm);
    mx->rocks_block_cache = sm.block_cache;
    mx->rocks_memtables = sm.memtables;
    mx->rocks_table_readers = sm.table_readers;
    mx->rocks_pending_compaction = sm.pending_compaction;
    mx->rocks_stall_seconds = sm.stall_seconds;
}

/* Hands the HTTP thread a copy of the counters (metrics.h): about once a
 * second, so a scrape costs the loop one copy, not one lock per record. */
void rt_publish(struct rt *rt, int64_t now)
{
    if (!rt->o->pub)
        return;
    struct metrics *mx = &rt->mx;
    mx->alerts.n = 0;
    for (size_t k = 0; k < ALERT_KIND_COUNT; k++)
        metrics_set_add(&mx->alerts, alert_kind_name((enum alert_kind)k), NULL,
                        rt->alerts_by_kind[k]);
    mx->poison_outputs = rt->stats.poison_outputs;
    mx->commits = rt->stats.commits;
    mx->assigned_partitions = (int64_t)kafka_consumer_assigned(rt->consumer);
    mx->producer_up = rt->producer && !rt->delivery_failed;
    mx->cache_objects = store_cached(rt->store);
    publish_state(rt, mx);
    mx->ordering_buffered = ordering_buffered(rt->order);
    mx->ordering_enforced = ordering_enforced(rt->order);
    mx->ordering_lag_waits = ordering_lag_waits(rt->order);
    mx->watermarks.n = 0;
    for (size_t p = 0; p < ordering_groups(rt->order) &&
                       mx->watermarks.n < METRICS_MAX_SERIES - 1; p++) {
        int64_t wm;
        char part[24];
        if (ordering_watermark(rt->order, (int32_t)p, now, &wm) != 1 ||
            wm < 0)
            continue;
        snprintf(part, sizeof(part), "%zu", p);
        metrics_set_add(&mx->watermarks, part, NULL, (uint64_t)wm);
    }
    mx->loop_at_ms = now;
    metrics_publish(rt->o->pub, mx);
}

static void set_digest(struct rt *rt)
{
    snprintf(rt->cfg_digest, sizeof(rt->cfg_digest), "%016llx",
             (unsigned long long)config_digest(rt->cfg));
}

/* SIGHUP or POST /-/reload: the new generation (reload.h) is built whole,
 * then swapped in here, between two records; the records polled ahead
 * are applied first, so each record meets one config from decode to
 * alert. The old generation is freed after the swap. A reload costs a
 * commit and the decoded cache. */
static void reload(struct rt *rt)
{
    if (rt->o->reload)
        *rt->o->reload = 0;
    uint64_t upto = reload_req_take(rt->o->reload_req);
    char msg[512] = "no config file to reload";
    struct reload_gen *g = NULL;
    enum reload_result r = RELOAD_ERROR;
    LOG_INF("config", "reload: reading %s", rt->o->reload_src
            ? rt->o->reload_src->path : "(none)");
    rt_apply_waiting(rt);
    if (rt->o->reload_src)
        r = reload_prepare(rt->o->reload_src, rt->cfg, rt->o->procs,
                           rt->o->n_procs, &g, msg, sizeof(msg));
    /* Cached state objects may hold what the old config owns (names,
     * pointers a processor memoizes): every batch is written first, then
     * the decoded cache is dropped, so the new config decodes them anew
     * and the old one is freed with nothing pointing into it. */
    if (r == RELOAD_OK && rt_commit_all(rt) != 0) {
        snprintf(msg, sizeof(msg), "%s: not applied: the batches before the "
                 "swap could not be committed", rt->o->reload_src->path);
        LOG_ERR("config", "reload: %s", msg);
        reload_gen_free(g);
        g = NULL;
        r = RELOAD_ERROR;
    }
    if (r == RELOAD_OK) {
        store_drop_cache(rt->store);
        struct codec *old_codec = rt->codec;
        void **old_inst = rt->inst;
        rt->cfg = g->cfg;
        rt->codec = g->codec;
        rt->inst = g->inst;
        /* g now carries the old generation out; the first config is the
         * caller's, not ours to free. */
        g->cfg = rt->cfg_owned;
        rt->cfg_owned = (struct config *)rt->cfg;
        g->codec = old_codec;
        g->inst = old_inst;
        reload_gen_free(g);
        /* reload_prepare() refused a change of the topics subscribed to;
         * which processors read them may have changed. */
        rt_set_inputs(rt);
        rt->dlq_max = kafka_producer_max_message(rt->producer);
        if (rt->cfg->runtime.dlq_max_bytes > 0 &&
            rt->cfg->runtime.dlq_max_bytes < rt->dlq_max)
            rt->dlq_max = rt->cfg->runtime.dlq_max_bytes;
        log_setup((enum log_level)rt->cfg->log.level,
                  (enum log_format)rt->cfg->log.format);
        rt->ctx.assignment++; /* new instances index their timers anew */
        /* The new instances learn what this instance owns. */
        rt_tell_partitions(rt, rt->owned, rt->n_owned, true);
        set_digest(rt);
        LOG_INF("config", "reload: %s (config %s)", msg, rt->cfg_digest);
    }
    metrics_set_add(&rt->mx.reloads, reload_result_name(r), NULL, 1);
    reload_req_finish(rt->o->reload_req, upto, r, msg);
}

int runtime_run(const struct runtime_opts *o, struct runtime_stats *stats)
{
    struct rt rt = {.o = o, .cfg = o->cfg, .cur_ts = -1};
    int rc = -1;
    if (setup(&rt) != 0)
        goto out;
    set_digest(&rt);
    LOG_INF("runtime", "consuming from %s as group %s (%zu processors, "
            "config %s)", o->brokers, o->cfg->kafka.group_id, o->n_procs,
            rt.cfg_digest);

    int64_t now = now_mono_ms();
    int64_t last_record = now, next_timer = now, next_stats = now + 30000;
    int64_t next_publish = now;
    rt.batch_started = now;
    for (int r = RELOAD_OK; r <= RELOAD_REFUSED; r++)
        metrics_set_add(&rt.mx.reloads, reload_result_name(r), NULL, 0);
    rt.mx.started_at_ms = now;
    const struct config *cfg = rt.cfg;
    bool standby_busy = false;
    while (!*o->stop) {
        struct kafka_msg m;
        char err[512];
        /* Records waiting: only what has already arrived, else apply;
         * records held for their group's turn: until the wait ends. */
        int got = kafka_consumer_poll(
            rt.consumer,
            rt.n_ahead || rt.n_restoring || standby_busy
                ? 0
                : ordering_wait_ms(rt.order, now_mono_ms(),
                                   rt.n_pending ? RT_PENDING_TURN_MS : 100),
            &m, err, sizeof(err));
        if (got < 0) {
            LOG_ERR("kafka", "%s", err);
            goto out;
        }
        now = now_mono_ms();
        if (rt.order_pruned != rt.rebalances)
            forget_moved(&rt);
        if ((rt.n_restoring || rt.n_unreleased) &&
            rt_restore_steps(&rt, got == 1 ? 0 : 10) != 0)
            goto out;
        if (rt.standby) {
            if (rt.standby_moved)
                rt_follow_standby(&rt);
            standby_busy = standby_step(rt.standby, RT_RESTORE_STEP);
        }
        if (got == 1) {
            if (!rt.first_record_wall) {
                rt.first_record_wall = now_wall_ms();
                rt.first_record_cpu = now_thread_cpu_ms();
            }
            hold(&rt, &m);
            last_record = now;
        }
        if (rt.global)
            global_table_poll(rt.global, rt.codec, 64);
        choose(&rt, false);
        rt.idle = got == 0 && !rt.n_ahead &&
                  now - last_record >= RT_LOG_SPREAD_MS;
        if (rt.n_ahead == RT_AHEAD || (got == 0 && rt.n_ahead)) {
            apply(&rt);
            rt_seal_step(&rt, RT_SEAL_STEP);
            store_trim_step(rt.store, RT_TRIM_STEP);
        } else if (got == 0) {
            /* idle: no reason to spread it */
            rt_seal_step(&rt, SIZE_MAX);
            store_trim(rt.store);
        }
        kafka_producer_poll(rt.producer, 0);
        if (rt.delivery_failed || (rt.n_pending && rt_commit_ready(&rt) != 0))
            goto out;

        if (writeback_on(&rt.wb)) {
            /* Write-back: a checkpoint when the oldest unwritten change
             * is max_dirty_ms old or the dirty objects are too many. */
            size_t dirty = store_dirty_count(rt.store);
            if (rt.batch_events || dirty)
                writeback_note_change(&rt.wb, now);
            rt.cut_why = writeback_due(&rt.wb, now, dirty);
            if (rt.cut_why != WRITEBACK_NOT_DUE && rt_close_batch(&rt) != 0)
                goto out;
        } else if (rt.batch_events >= (uint64_t)cfg->state.batch_max_events ||
            (now - rt.batch_started >= cfg->state.batch_interval_ms &&
             (rt.batch_events || store_dirty_count(rt.store)))) {
            if (rt_close_batch(&rt) != 0)
                goto out;
        }
        if ((o->reload && *o->reload) || reload_req_pending(o->reload_req)) {
            reload(&rt);
            cfg = rt.cfg;
        }
        if (now >= next_publish) {
            rt_publish(&rt, now);
            next_publish = now + 1000;
        }
        if (now >= next_timer) {
            run_timers(&rt);
            next_timer = now + cfg->runtime.idle_check_interval_ms;
        }
        if (now >= next_stats) {
            struct store_stats ss;
            store_stats(rt.store, &ss);
            LOG_INF("runtime", "events=%llu dlq=%llu poison=%llu alerts=%llu "
                    "commits=%llu "
                    "cached=%zu (encoded %zu, %zu MiB) cache_hit=%.1f%% "
                    "state_reads=%llu (absent %llu)",
                    (unsigned long long)rt.stats.events,
                    (unsigned long long)rt.stats.dlq,
                    (unsigned long long)rt.stats.poison_outputs,
                    (unsigned long long)rt.stats.alerts,
                    (unsigned long long)rt.stats.commits,
                    store_cached(rt.store), ss.warm_entries,
                    ss.warm_bytes >> 20,
                    ss.gets ? 100.0 * (double)(ss.gets - ss.loads) /
                                  (double)ss.gets
                            : 100.0,
                    (unsigned long long)ss.loads,
                    (unsigned long long)ss.absent);
            next_stats = now + 30000;
        }
        if (o->exit_when_idle_ms > 0 &&
            kafka_consumer_assigned(rt.consumer) > 0 && !rt.n_restoring &&
            !rt.n_unreleased &&
            now - last_record >= o->exit_when_idle_ms &&
            now - rt.assigned_at >= o->exit_when_idle_ms)
            break;
    }
    rt_apply_waiting(&rt);
    run_timers(&rt);
    if (rt_commit_all(&rt) != 0)
        goto out;
    /* span_ms: from the first record to the last one applied (its alerts
     * produced), what a throughput figure divides by (bench/run reads it),
     * as the peers of bench/peers stop their clocks at the last event
     * processed. commit_span_ms runs on to the commit of the last, which
     * write-back makes up to state.max_dirty_ms later. */
    struct store_stats ss;
    store_stats(rt.store, &ss);
    int64_t t0 = rt.first_record_wall;
    LOG_INF("runtime", "stopped cleanly: events=%llu dlq=%llu alerts=%llu "
            "poison=%llu span_ms=%lld commit_span_ms=%lld first_ms=%lld "
            "last_ms=%lld commit_ms=%lld "
            "state_gets=%llu state_warm=%llu state_reads=%llu state_absent=%llu "
            "state_filtered=%llu "
            "seal_waits=%llu loop_cpu_ms=%lld seal_cpu_ms=%lld "
            "commit_cpu_ms=%lld checkpoints=%llu state_puts=%llu "
            "state_put_bytes=%llu",
            (unsigned long long)rt.stats.events,
            (unsigned long long)rt.stats.dlq,
            (unsigned long long)rt.stats.alerts,
            (unsigned long long)rt.stats.poison_outputs,
            (long long)(t0 && rt.last_event_wall ? rt.last_event_wall - t0 : 0),
            (long long)(t0 && rt.last_applied_wall ? rt.last_applied_wall - t0
                                                   : 0),
            (long long)t0, (long long)rt.last_event_wall,
            (long long)rt.last_applied_wall,
            (unsigned long long)ss.gets, (unsigned long long)ss.warm,
            (unsigned long long)ss.loads,
            (unsigned long long)ss.absent,
            (unsigned long long)ss.filtered,
            (unsigned long long)ss.seal_waits,
            (long long)(t0 ? now_thread_cpu_ms() - rt.first_record_cpu : 0),
            (long long)ss.sealer_cpu_ms,
            (long long)(rt.committer ? committer_cpu_ms(rt.committer) : -1),
            (unsigned long long)rt.wb.checkpoints,
            (unsigned long long)rt.wb.puts, (unsigned long long)rt.wb.bytes);
    rc = 0;
    rt_publish(&rt, now_mono_ms());
out:
    if (rc != 0) {
        /* Whichever call met it first (a delivery report, the changelog,
         * the commit), a fenced or failed transactional producer is named
         * once here, so an operator sees why the daemon stopped. */
        char why[512];
        if (txn_fatal(rt.txn, why, sizeof(why)))
            LOG_ERR("txn", "stopping on a %s; the restart resumes from the "
                    "last committed transaction", why);
    }
    if (stats)
        *stats = rt.stats;
    teardown(&rt);
    return rc;
}
