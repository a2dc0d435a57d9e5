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
 * processed goes to the DLQ with headers naming the reason.
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
    const char *input_topics[EVENT_KIND_COUNT]; /* NULL: no processor reads it */
    struct global_table *global; /* global_table.h; NULL: none */
    char **repart_topics; /* per processor: its repartition topic, or NULL */
    const char **subscribed; /* inputs, then repartition topics */
    size_t n_subscribed;
    const char *alert_topics[ALERT_KIND_COUNT];

    struct tp_offset *offsets; /* applied in the open batch */
    size_t n_offsets, cap_offsets;
    uint64_t batch_events;
    int64_t batch_started; /* ms, monotonic */
    uint64_t batch_no;     /* the open batch's number */
    int64_t inflight[RT_RING]; /* produced, unacknowledged, by batch number */
    struct pending pending[RT_MAX_PENDING]; /* [0] is the oldest */
    size_t n_pending;

    int64_t assigned_at; /* ms, monotonic: last assignment change */
    /* Input partition numbers owned now, as told to the processors
     * (processor_ops.on_partitions); tell_partitions() keeps it. */
    int32_t *owned;
    size_t n_owned, cap_owned;
    int64_t first_record; /* ms, monotonic; 0 until one arrives */
    int64_t last_applied; /* ms, monotonic: end of the last commit of events */
    /* The same two instants in ms since the epoch, so that the spans of
     * several instances (bench/run's scale-out phase) can be combined. */
    int64_t first_record_wall, last_applied_wall;
    /* The processing thread's CPU clock at the first record: what it spent
     * from there is the cost per event that bounds one instance's rate. */
    int64_t first_record_cpu;
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

/* ---- alerts and the DLQ ------------------------------------------------ */

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

static void on_delivery(void *arg, uint64_t tag, enum kafka_fail failed,
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
        LOG_ERR("runtime", "an alert or DLQ record was not delivered: %s",
                errstr);
        rt->delivery_failed = true;
    }
}

static int sink(void *arg, const struct alert *a)
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
static void observe(void *arg, struct proc_ctx *ctx, const struct alert *a)
{
    struct rt *rt = arg;
    for (size_t i = 0; i < rt->o->n_procs; i++)
        ctx_call_observer(ctx, i, rt->o->procs[i], rt->inst[i], a);
}

/* ctx_observe(): into the loop's counters, published with the rest. */
static void observe_metric(void *arg, const struct metrics_hist_def *def,
                           const char *label, double value)
{
    struct rt *rt = arg;
    metrics_lhist_observe(&rt->mx, def, label, value);
}

/* ctx_repartition(): counted with the batch like an alert, so the batch
 * is committed only once its repartition records are acknowledged. */
static int repartition_sink(void *arg, size_t proc, const char *key,
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

static void to_dlq(struct rt *rt, const struct kafka_msg *m, const char *stage,
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

/* ---- batches ------------------------------------------------------------ */

static void note_offset(struct rt *rt, const char *topic, int32_t partition,
                        int64_t next)
{
    for (size_t i = 0; i < rt->n_offsets; i++)
        if (rt->offsets[i].partition == partition &&
            strcmp(rt->offsets[i].topic, topic) == 0) {
            rt->offsets[i].next = next;
            return;
        }
    if (rt->n_offsets == rt->cap_offsets) {
        rt->cap_offsets = rt->cap_offsets ? rt->cap_offsets * 2 : 16;
        struct tp_offset *v =
            realloc(rt->offsets, rt->cap_offsets * sizeof(*v));
        if (!v)
            abort();
        rt->offsets = v;
    }
    struct tp_offset *t = &rt->offsets[rt->n_offsets++];
    snprintf(t->topic, sizeof(t->topic), "%s", topic);
    t->partition = partition;
    t->next = next;
}

/* Notes when the newest closed batch is completely encoded, and so ready
 * to commit. The store's sealing thread does the encoding; only SIZE_MAX
 * (idle, or waiting anyway) makes this thread finish it, or, should that
 * thread not run, up to `max` objects are encoded here. */
static void seal_step(struct rt *rt, size_t max)
{
    if (rt->n_pending == 0 || rt->pending[rt->n_pending - 1].sealed)
        return;
    if (store_seal_step(rt->store, max) == 0)
        rt->pending[rt->n_pending - 1].sealed = true;
}

/* Sends up to `max` of a sealed batch's state changes to the changelog,
 * counted with the batch like its alerts: it is written to RocksDB, with
 * the changelog positions of its markers, only once all are sent and
 * acknowledged. p->logged tells when the last step is done. */
static int log_batch(struct rt *rt, struct pending *p, size_t max)
{
    if (!rt->changelog) {
        p->logged = true;
        return 0;
    }
    char err[512];
    uint64_t tag = kafka_producer_tag(rt->producer);
    kafka_producer_set_tag(rt->producer, p->batch);
    int n = changelog_send_step(rt->changelog, p->batch, p->wb, &p->log_next,
                                max, &p->logged, err, sizeof(err));
    kafka_producer_set_tag(rt->producer, tag);
    if (n < 0) {
        LOG_ERR("changelog", "%s", err);
        rt->delivery_failed = true;
        return -1;
    }
    rt->inflight[p->batch % RT_RING] += n;
    return 0;
}

/* Takes the batches the commit thread has written off the front of the
 * FIFO, then hands it the next ones whose alerts are all acknowledged,
 * oldest first (a younger one never overtakes an older one: the offsets
 * must only move forward). 0, or -1 on a write or delivery failure. */
static int commit_ready(struct rt *rt)
{
    char err[512];
    uint64_t written;
    if (committer_written(rt->committer, &written, err, sizeof(err)) != 0) {
        LOG_ERR("state", "commit failed: %s", err);
        return -1;
    }
    uint64_t retired_before = rt->retired;
    while (rt->retired < written) {
        struct pending *p = &rt->pending[0];
        for (size_t i = 0; !rt->txn && i < p->n_offsets; i++)
            kafka_consumer_store_offset(rt->consumer, p->offsets[i].topic,
                                        p->offsets[i].partition,
                                        p->offsets[i].next);
        if (p->events) {
            rt->last_applied = now_mono_ms();
            rt->last_applied_wall = now_wall_ms();
        }
        LOG_DBG("runtime", "committed %llu events (batch %llu)",
                (unsigned long long)p->events, (unsigned long long)p->batch);
        state_batch_free(p->wb);
        free(p->offsets);
        rt->stats.commits++;
        metrics_observe_commit(&rt->mx, now_mono_s() - p->closed_at);
        rt->retired++;
        memmove(&rt->pending[0], &rt->pending[1],
                --rt->n_pending * sizeof(rt->pending[0]));
    }
    for (size_t i = 0; i < rt->n_pending && !rt->delivery_failed; i++) {
        struct pending *p = &rt->pending[i];
        if (p->submitted)
            continue;
        if (p->sealed && !p->logged) {
            if (log_batch(rt, p, RT_LOG_STEP) != 0)
                return -1;
            if (!p->logged)
                break; /* the next step at the next turn; in batch order */
        }
        if (!p->sealed || rt->inflight[p->batch % RT_RING] != 0 ||
            (rt->txn && !p->txn_done))
            break; /* under exactly_once, RocksDB never gets ahead of Kafka */
        if (rt->changelog)
            changelog_checkpoint(rt->changelog, p->batch, p->wb);
        /* Counted now: the commit thread clears the batch it writes. */
        writeback_written(&rt->wb, state_batch_count(p->wb),
                          state_batch_bytes(p->wb));
        committer_submit(rt->committer, p->wb);
        p->submitted = true;
    }
    if (rt->delivery_failed)
        return -1;
    /* Each closed batch is one seal of the store, in the same order. What
     * the write lets go of is trimmed a few objects per record. */
    if (retired_before != rt->retired)
        store_mark_written(rt->store, rt->retired);
    return 0;
}

/* Serves delivery reports and commit-thread progress until at most
 * `max_pending` closed batches wait, bounded at shutdown by
 * runtime.shutdown_timeout. */
static int wait_pending(struct rt *rt, size_t max_pending)
{
    int64_t start = now_mono_ms();
    int64_t warned = start;
    seal_step(rt, SIZE_MAX); /* nothing else would finish it here */
    /* Waiting anyway: the changelog steps left go out at once, in order. */
    for (size_t i = 0; i < rt->n_pending && rt->pending[i].sealed; i++)
        if (!rt->pending[i].logged &&
            log_batch(rt, &rt->pending[i], SIZE_MAX) != 0)
            return -1;
    for (;;) {
        if (commit_ready(rt) != 0)
            return -1;
        if (rt->n_pending <= max_pending)
            return 0;
        if (rt->pending[0].submitted) {
            kafka_producer_poll(rt->producer, 0);
            committer_wait(rt->committer, rt->retired, 50);
        } else {
            kafka_producer_poll(rt->producer, 50);
        }
        int64_t now = now_mono_ms();
        if (*rt->o->stop &&
            now - start > rt->cfg->runtime.shutdown_timeout_ms) {
            LOG_ERR("runtime", "%d alerts still unacknowledged at shutdown; "
                    "%zu batches are left uncommitted and will be replayed",
                    kafka_producer_inflight(rt->producer), rt->n_pending);
            return -1;
        }
        if (now - warned > 5000) {
            LOG_WRN("runtime", "waiting for %d alert deliveries; %zu "
                    "closed batches not yet written",
                    kafka_producer_inflight(rt->producer), rt->n_pending);
            warned = now;
        }
    }
}

/* exactly_once: the closed batch p (the newest) is sealed, sent to the
 * changelog, every record of it acknowledged, then its input offsets and
 * all its records are committed in its transaction, before the next batch
 * produces anything. A failure stops the daemon: an aborted transaction
 * left nothing visible, and the restart restores the state of the last
 * committed one from the changelog and resumes at its offsets. */
static int txn_batch(struct rt *rt, struct pending *p)
{
    double t0 = now_mono_s();
    while (!p->sealed)
        seal_step(rt, SIZE_MAX);
    if (!p->logged && log_batch(rt, p, SIZE_MAX) != 0)
        return -1;
    while (rt->inflight[p->batch % RT_RING] != 0 && !rt->delivery_failed)
        kafka_producer_poll(rt->producer, 5);
    double t1 = now_mono_s();
    char err[512] = "a record of the batch was not delivered";
    enum txn_outcome o = TXN_ABORT;
    if (!rt->delivery_failed) {
        struct txn_offset *offs =
            calloc(p->n_offsets ? p->n_offsets : 1, sizeof(*offs));
        if (!offs)
            abort();
        for (size_t i = 0; i < p->n_offsets; i++)
            offs[i] = (struct txn_offset){p->offsets[i].topic,
                                          p->offsets[i].partition,
                                          p->offsets[i].next};
        o = txn_commit(rt->txn, rt->consumer, offs, p->n_offsets, err,
                       sizeof(err));
        free(offs);
    } else if (!txn_fatal(rt->txn, err, sizeof(err))) {
        txn_close(rt->txn); /* aborts */
        rt->txn = NULL;
    }
    if (o == TXN_OK) {
        p->txn_done = true;
        double t2 = now_mono_s();
        LOG_DBG("txn", "batch %llu (%llu events) committed in %.1f ms: "
                "%.1f ms sealing and acknowledgements, %.1f ms offsets and "
                "commit", (unsigned long long)p->batch,
                (unsigned long long)p->events, (t2 - t0) * 1e3,
                (t1 - t0) * 1e3, (t2 - t1) * 1e3);
        return 0;
    }
    LOG_ERR("txn", "batch %llu not committed: %s; stopping: the restart "
            "resumes from the last committed transaction",
            (unsigned long long)p->batch, err);
    rt->delivery_failed = true; /* nothing else may commit now */
    return -1;
}

/* Closes the open batch: its dirty state objects are sealed into a
 * WriteBatch with the offsets it consumed (encoded by the store's sealing
 * thread from now on, see store_seal()), to be written once all are
 * encoded and its alerts acknowledged. The loop goes on with the next
 * batch meanwhile. */
static int close_batch(struct rt *rt)
{
    if (rt->batch_events == 0 && store_dirty_count(rt->store) == 0 &&
        rt->n_offsets == 0)
        return commit_ready(rt);
    if (wait_pending(rt, RT_MAX_PENDING - 1) != 0)
        return -1;
    struct pending *p = &rt->pending[rt->n_pending++];
    p->batch = rt->batch_no;
    p->wb = state_batch_new();
    LOG_DBG("state", "checkpoint of batch %llu (%s): %zu dirty objects",
            (unsigned long long)p->batch, writeback_due_name(rt->cut_why),
            store_dirty_count(rt->store));
    /* wait_pending() above has completed the previous seal. */
    store_seal(rt->store, p->wb);
    p->sealed = store_seal_step(rt->store, 0) == 0;
    p->logged = false;
    p->log_next = 0;
    int64_t now = now_mono_ms(), wm;
    for (size_t i = 0; i < rt->n_offsets; i++) {
        state_batch_offset(p->wb, rt->offsets[i].topic,
                           rt->offsets[i].partition, rt->offsets[i].next);
        /* Over the records applied, as the offsets are (TIME.md). */
        if (ordering_watermark(rt->order, rt->offsets[i].partition, now,
                               &wm) == 1 && wm >= 0)
            state_batch_watermark(p->wb, rt->offsets[i].partition, wm);
    }
    writeback_cut(&rt->wb, rt->cut_why);
    rt->cut_why = WRITEBACK_NOT_DUE;
    p->offsets = rt->offsets; /* handed over; the next batch starts anew */
    p->n_offsets = rt->n_offsets;
    p->events = rt->batch_events;
    p->submitted = false;
    p->txn_done = false;
    p->closed_at = now_mono_s();
    metrics_hist_observe(&rt->mx.batch,
                         (double)(now_mono_ms() - rt->batch_started) / 1000.0);
    rt->offsets = NULL;
    rt->n_offsets = rt->cap_offsets = 0;
    rt->batch_events = 0;
    rt->batch_started = now_mono_ms();
    rt->batch_no++;
    kafka_producer_set_tag(rt->producer, rt->batch_no);
    if (rt->txn) {
        if (txn_batch(rt, p) != 0)
            return -1;
        /* The next batch opens when this commit is done: timed from the
         * close, a commit longer than state.batch_interval would close
         * every following batch after its first record. */
        rt->batch_started = now_mono_ms();
    }
    return commit_ready(rt);
}

/* Closes the open batch and waits until everything is written. */
static int commit_all(struct rt *rt)
{
    if (close_batch(rt) != 0)
        return -1;
    return wait_pending(rt, 0);
}

static void warn_schema(void *arg, const char *msg)
{
    (void)arg;
    LOG_WRN("codec", "%s", msg);
}

/* ---- rebalance ---------------------------------------------------------- */

static void restored_key(void *arg, const void *key, size_t klen)
{
    store_note_key(((struct rt *)arg)->store, key, klen);
}

static void publish(struct rt *rt, int64_t now);

/* A long restore is progress: /healthz must not call the loop stalled,
 * and /readyz and the metrics say which partition it is at. */
static void restore_tick(void *arg, int32_t partition, int64_t remaining,
                         const struct restore_counts *so_far)
{
    struct rt *rt = arg;
    (void)so_far;
    rt->mx.restoring = true;
    rt->mx.restoring_partition = partition;
    rt->mx.restore_remaining = remaining;
    publish(rt, now_mono_ms());
}

/* The partition's restore planned once per rebalance, before any offset
 * of it is read (restore.h). One to do holds the partition
 * (KAFKA_OFFSET_HELD): it runs in steps from the loop (restore_steps)
 * while the other partitions are consumed. */
static int restore_start(struct rt *rt, int32_t partition)
{
    standby_stop(rt->standby, partition); /* one writer of its keys */
    if (partition < 0 || partition >= changelog_partitions(rt->changelog) ||
        rt->restored_in[partition] == rt->rebalances)
        return 0;
    if (rt->restoring[partition])
        return KAFKA_OFFSET_HELD; /* the partition of another input */
    struct restore_opts ro = {
        .db = rt->db,
        .brokers = rt->o->brokers,
        .properties = &rt->cfg->kafka.properties,
        .changelog = rt->changelog,
        .group = rt->consumer,
        .on_key = restored_key,
        .tick = restore_tick,
        .arg = rt,
    };
    struct restore_job *j = NULL;
    char err[512];
    if (restore_begin(&ro, partition, &j, err, sizeof(err)) != 0) {
        LOG_ERR("restore", "%s", err);
        return -1;
    }
    if (!j) {
        rt->restored_in[partition] = rt->rebalances;
        return 0;
    }
    rt->restoring[partition] = j;
    rt->n_restoring++;
    rt->mx.restoring = true;
    rt->mx.restoring_partition = partition;
    rt->mx.restore_remaining = restore_job_remaining(j);
    return KAFKA_OFFSET_HELD;
}

static void tell_partitions(struct rt *rt, const int32_t *parts, size_t n,
                            bool assigned);

/* One step of every restore under way; a finished one releases its
 * partition: the consumer seeks to the input offsets the restored state
 * reflects and resumes, then the processors are told it arrived. wait_ms:
 * how long a step may wait for changelog records. 0, or -1: the runtime
 * stops (as when an assignment is refused). */
static int restore_steps(struct rt *rt, int wait_ms)
{
    int32_t np = rt->changelog ? changelog_partitions(rt->changelog) : 0;
    for (int32_t p = 0; p < np && rt->n_restoring; p++) {
        struct restore_job *j = rt->restoring[p];
        if (!j)
            continue;
        struct restore_result res;
        char err[512];
        int rc = restore_step(j, RT_RESTORE_STEP, wait_ms, &res, err,
                              sizeof(err));
        if (rc < 0) {
            LOG_ERR("restore", "%s", err);
            return -1;
        }
        rt->mx.restoring_partition = p;
        rt->mx.restore_remaining = restore_job_remaining(j);
        if (rc == 0)
            continue;
        restore_cancel(j);
        rt->restoring[p] = NULL;
        rt->n_restoring--;
        rt->restored_in[p] = rt->rebalances;
        if (res.restored) {
            store_drop_cache(rt->store); /* nothing stale of it stays */
            metrics_set_add(&rt->mx.restores, res.full ? "full" : "tail",
                            NULL, 1);
            rt->mx.restored_records += res.counts.records;
            rt->mx.restored_bytes += res.counts.bytes;
        }
        if (kafka_consumer_release(rt->consumer, p, err, sizeof(err)) != 0) {
            LOG_ERR("kafka", "%s", err);
            return -1;
        }
        LOG_INF("restore", "partition %d restored in %lld ms; consuming it",
                p, (long long)res.ms);
        tell_partitions(rt, &p, 1, true);
        rt->ctx.assignment++;
        rt->assigned_at = now_mono_ms(); /* its consumption starts now */
    }
    rt->mx.restoring = rt->n_restoring > 0;
    return 0;
}

/* The standby follows the partitions neither owned nor restoring here. */
static void follow_standby(struct rt *rt)
{
    int32_t np = changelog_partitions(rt->changelog);
    bool *mine = calloc((size_t)np + 1, sizeof(*mine));
    if (!mine)
        abort();
    for (size_t i = 0; i < rt->n_owned; i++)
        if (rt->owned[i] >= 0 && rt->owned[i] < np)
            mine[rt->owned[i]] = true;
    for (int32_t p = 0; p < np; p++)
        mine[p] = mine[p] || rt->restoring[p];
    standby_follow(rt->standby, mine);
    free(mine);
    rt->standby_moved = false;
}

/* Restores of partitions leaving are dropped (restore_cancel: what they
 * wrote stays consistent); the partitions still restoring are removed
 * from parts, since the processors never heard they arrived. */
static size_t cancel_restores(struct rt *rt, int32_t *parts, size_t n)
{
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t p = parts[k];
        if (rt->n_restoring && p >= 0 &&
            p < changelog_partitions(rt->changelog) && rt->restoring[p]) {
            LOG_WRN("restore", "partition %d leaves while its restore is at "
                    "%lld records from the end; cancelled", p,
                    (long long)restore_job_remaining(rt->restoring[p]));
            restore_cancel(rt->restoring[p]);
            rt->restoring[p] = NULL;
            rt->n_restoring--;
            continue;
        }
        parts[kept++] = p;
    }
    rt->mx.restoring = rt->n_restoring > 0;
    return kept;
}

static bool restoring(const struct rt *rt, int32_t p)
{
    return rt->n_restoring && p >= 0 &&
           p < changelog_partitions(rt->changelog) && rt->restoring[p];
}

static int stored_offset(void *arg, const char *topic, int32_t partition,
                         int64_t *next)
{
    struct rt *rt = arg;
    char err[256];
    if (rt->changelog) {
        int held = restore_start(rt, partition);
        if (held != 0)
            return held;
    }
    int rc = state_offset_get(rt->db, topic, partition, next, err, sizeof(err));
    if (rc < 0)
        LOG_ERR("state", "offset of %s[%d]: %s", topic, partition, err);
    if (rc == 1 && rt->changelog)
        changelog_seed(rt->changelog, topic, partition, *next);
    /* The group's watermark goes on from where its state left it. */
    int64_t wm;
    int wrc = state_watermark_get(rt->db, partition, &wm, err, sizeof(err));
    if (wrc < 0)
        LOG_ERR("state", "watermark of partition %d: %s", partition, err);
    if (wrc == 1) {
        ordering_seed_watermark(rt->order, partition, wm, now_mono_ms());
        if (rt->changelog)
            changelog_seed_watermark(rt->changelog, partition, wm);
    }
    return rc;
}

static void apply_waiting(struct rt *rt);

/* Tells every processor that wants it (on_partitions) that parts arrived
 * or leave, and keeps rt->owned. */
static void tell_partitions(struct rt *rt, const int32_t *parts, size_t n,
                            bool assigned)
{
    if (!n)
        return;
    for (size_t k = 0; k < n; k++) {
        size_t j = 0;
        while (j < rt->n_owned && rt->owned[j] != parts[k])
            j++;
        if (!assigned && j < rt->n_owned) {
            rt->owned[j] = rt->owned[--rt->n_owned];
        } else if (assigned && j == rt->n_owned) {
            if (rt->n_owned == rt->cap_owned) {
                rt->cap_owned = rt->cap_owned ? 2 * rt->cap_owned : 16;
                rt->owned = realloc(rt->owned,
                                    rt->cap_owned * sizeof(*rt->owned));
                if (!rt->owned)
                    abort();
            }
            rt->owned[rt->n_owned++] = parts[k];
        }
    }
    for (size_t i = 0; i < rt->o->n_procs; i++) {
        if (!rt->inst[i] || !rt->o->procs[i]->on_partitions || !n)
            continue;
        ctx_begin(&rt->ctx, i, NULL);
        rt->o->procs[i]->on_partitions(rt->inst[i], &rt->ctx, parts, n,
                                       assigned);
    }
}

static void before_revoke(void *arg, const int32_t *revoked, size_t n)
{
    struct rt *rt = arg;
    int32_t *parts = calloc(n + 1, sizeof(*parts));
    if (!parts)
        abort();
    memcpy(parts, revoked, n * sizeof(*parts));
    n = cancel_restores(rt, parts, n);
    /* Polled while the partitions were ours: theirs to apply and commit. */
    apply_waiting(rt);
    if (commit_all(rt) != 0)
        LOG_ERR("runtime", "commit before revoke failed; the next owner "
                "replays from the last committed offset");
    tell_partitions(rt, parts, n, false);
    free(parts);
    /* A partition may come back after another member changed its state. */
    store_drop_cache(rt->store);
    rt->ctx.assignment++; /* timers rebuild their indexes (ctx_owns) */
    rt->rebalances++;
    rt->standby_moved = true;
}

static void assigned(void *arg, size_t n, const int32_t *added,
                     size_t n_added)
{
    struct rt *rt = arg;
    (void)n;
    /* Those restoring are told when their restore ends (restore_steps). */
    int32_t *now = calloc(n_added + 1, sizeof(*now));
    if (!now)
        abort();
    size_t n_now = 0;
    for (size_t k = 0; k < n_added; k++)
        if (!restoring(rt, added[k]))
            now[n_now++] = added[k];
    tell_partitions(rt, now, n_now, true);
    free(now);
    rt->assigned_at = now_mono_ms();
    rt->ctx.assignment++;
    rt->rebalances++;
    rt->standby_moved = true;
}

/* ctx_watermark(): the chooser's watermark of the partition group. */
static int group_watermark(void *arg, int32_t partition, int64_t *wm)
{
    struct rt *rt = arg;
    return rt->order ? ordering_watermark(rt->order, partition, now_mono_ms(),
                                          wm)
                     : 0;
}

/* ctx_partition_key() with the changelog: the key lands in the changelog
 * partition of `partition`, so its state is restored with the partition. */
static int partition_key(void *arg, int32_t partition, char *out, size_t n)
{
    struct rt *rt = arg;
    return changelog_partition_key(changelog_partitioner(rt->changelog),
                                   changelog_partitions(rt->changelog),
                                   partition, out, n);
}

static bool owns(void *arg, const char *topic, int32_t partition)
{
    struct rt *rt = arg;
    /* Not while restoring: timers must not act on half a state. */
    return !restoring(rt, partition) &&
           kafka_consumer_owns(rt->consumer, topic, partition);
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
    return (ops->inputs & EVENT_MASK(a->kind)) != 0;
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
        if (!a || !(a->arena = arena_new(4096)))
            abort(); /* as the arena does on out-of-memory */
    }
    a->m = *m;
    a->kind = kind_of_topic(rt, m->topic, &a->proc);
    a->topic = topic_index(rt, m->topic);
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
        to_dlq(rt, m, "route", "unknown_topic", "no processor reads this topic",
               NULL, NULL);
        goto done;
    }
    if (!a->decoded) {
        to_dlq(rt, m, "decode", a->cerr.reason, a->cerr.message, NULL, NULL);
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
            to_dlq(rt, m, "process", "processor_failed",
                   ctx_failure(&rt->ctx) ? ctx_failure(&rt->ctx)
                                         : "processor failed",
                   ops->name, ev->customer_id);
        else if (rt->emit_failed)
            to_dlq(rt, m, "process", "alert_encode_failed", rt->emit_fail,
                   ops->name, ev->customer_id);
    }
    rt->stats.events++;
    rt->cur_ts = -1;
    ordering_applied(rt->order, a->topic, m->partition, ev->event_time);
done:
    count_consumed(rt, m->topic);
    note_offset(rt, m->topic, m->partition, m->offset + 1);
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
static void apply_waiting(struct rt *rt)
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
    uint32_t kinds = 0;
    const char *topics[EVENT_KIND_COUNT] = {0};
    char err[512];
    for (size_t i = 0; i < rt->o->n_procs; i++)
        if (rt->cfg->plugin_enabled[i])
            kinds |= rt->o->procs[i]->global_inputs;
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

static int setup(struct rt *rt)
{
    const struct config *cfg = rt->cfg;
    char err[512];
    const struct config_topics *t = &cfg->topics;
    /* The inputs some enabled processor reads: a topic no one reads is
     * not subscribed to, so a deployment need not create it. */
    uint32_t read = 0;
    rt->subscribed = calloc(EVENT_KIND_COUNT + rt->o->n_procs, sizeof(char *));
    rt->repart_topics = calloc(rt->o->n_procs ? rt->o->n_procs : 1, sizeof(char *));
    if (!rt->subscribed || !rt->repart_topics)
        return -1;
    for (size_t i = 0; i < rt->o->n_procs; i++)
        if (cfg->plugin_enabled[i])
            read |= rt->o->procs[i]->inputs;
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
     * (never expected) seal_step() below does it a few per record. */
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
    ctx_init(&rt->ctx, rt->store, sink, rt);
    ctx_set_repartition(&rt->ctx, repartition_sink, rt);
    ctx_set_observer(&rt->ctx, observe, rt);
    rt->ctx.metric = observe_metric;
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
        .on_delivery = on_delivery,
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
        if (!cfg->plugin_enabled[i] || !(ops->inputs & EVENT_MASK(EVENT_REPARTITION)))
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
        if (!rt->restored_in || !rt->restoring)
            return -1;
        if (cfg->state.standby_replicas > 0) {
            struct restore_opts sbo = {
                .db = rt->db,
                .brokers = rt->o->brokers,
                .properties = &rt->cfg->kafka.properties,
                .changelog = rt->changelog,
                .on_key = restored_key,
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
        .group_id = cfg->kafka.group_id,
        .properties = &cfg->kafka.properties,
        .topics = rt->subscribed,
        .n_topics = rt->n_subscribed,
        .rebalance = {.stored_offset = stored_offset,
                      .before_revoke = before_revoke,
                      .assigned = assigned,
                      .arg = rt},
        .prefetch_budget = (uint64_t)cfg->kafka.prefetch_budget,
    };
    if (kafka_consumer_new(&co, &rt->consumer, err, sizeof(err)) != 0) {
        LOG_ERR("kafka", "%s", err);
        return -1;
    }
    ctx_set_owner(&rt->ctx, owns, rt);
    rt->ctx.watermark = group_watermark;
    rt->ctx.watermark_arg = rt;
    if (rt->changelog) {
        rt->ctx.partition_key = partition_key;
        rt->ctx.partition_key_arg = rt;
    }
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

/* Lag, the state cache and RocksDB's memory, read for publish(). */
static void publish_state(struct rt *rt, struct metrics *mx)
{
    struct store_stats ss;
    struct state_memory sm;
    mx->lag.n = 0;
    kafka_consumer_lag(rt->consumer, lag_of, &mx->lag);
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
static void publish(struct rt *rt, int64_t now)
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
    apply_waiting(rt);
    if (rt->o->reload_src)
        r = reload_prepare(rt->o->reload_src, rt->cfg, rt->o->procs,
                           rt->o->n_procs, &g, msg, sizeof(msg));
    /* Cached state objects may hold what the old config owns (names,
     * pointers a processor memoizes): every batch is written first, then
     * the decoded cache is dropped, so the new config decodes them anew
     * and the old one is freed with nothing pointing into it. */
    if (r == RELOAD_OK && commit_all(rt) != 0) {
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
        rt->dlq_max = kafka_producer_max_message(rt->producer);
        if (rt->cfg->runtime.dlq_max_bytes > 0 &&
            rt->cfg->runtime.dlq_max_bytes < rt->dlq_max)
            rt->dlq_max = rt->cfg->runtime.dlq_max_bytes;
        log_setup((enum log_level)rt->cfg->log.level,
                  (enum log_format)rt->cfg->log.format);
        rt->ctx.assignment++; /* new instances index their timers anew */
        /* The new instances learn what this instance owns. */
        tell_partitions(rt, rt->owned, rt->n_owned, true);
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
                : ordering_wait_ms(rt.order, now_mono_ms(), 100),
            &m, err, sizeof(err));
        if (got < 0) {
            LOG_ERR("kafka", "%s", err);
            goto out;
        }
        now = now_mono_ms();
        if (rt.order_pruned != rt.rebalances)
            forget_moved(&rt);
        if (rt.n_restoring && restore_steps(&rt, got == 1 ? 0 : 10) != 0)
            goto out;
        if (rt.standby) {
            if (rt.standby_moved)
                follow_standby(&rt);
            standby_busy = standby_step(rt.standby, RT_RESTORE_STEP);
        }
        if (got == 1) {
            if (!rt.first_record) {
                rt.first_record = now;
                rt.first_record_wall = now_wall_ms();
                rt.first_record_cpu = now_thread_cpu_ms();
            }
            hold(&rt, &m);
            last_record = now;
        }
        if (rt.global)
            global_table_poll(rt.global, rt.codec, 64);
        choose(&rt, false);
        if (rt.n_ahead == RT_AHEAD || (got == 0 && rt.n_ahead)) {
            apply(&rt);
            seal_step(&rt, RT_SEAL_STEP);
            store_trim_step(rt.store, RT_TRIM_STEP);
        } else if (got == 0) {
            /* idle: no reason to spread it */
            seal_step(&rt, SIZE_MAX);
            store_trim(rt.store);
        }
        kafka_producer_poll(rt.producer, 0);
        if (rt.delivery_failed || (rt.n_pending && commit_ready(&rt) != 0))
            goto out;

        if (writeback_on(&rt.wb)) {
            /* Write-back: a checkpoint when the oldest unwritten change
             * is max_dirty_ms old or the dirty objects are too many. */
            size_t dirty = store_dirty_count(rt.store);
            if (rt.batch_events || dirty)
                writeback_note_change(&rt.wb, now);
            rt.cut_why = writeback_due(&rt.wb, now, dirty);
            if (rt.cut_why != WRITEBACK_NOT_DUE && close_batch(&rt) != 0)
                goto out;
        } else if (rt.batch_events >= (uint64_t)cfg->state.batch_max_events ||
            (now - rt.batch_started >= cfg->state.batch_interval_ms &&
             (rt.batch_events || store_dirty_count(rt.store)))) {
            if (close_batch(&rt) != 0)
                goto out;
        }
        if ((o->reload && *o->reload) || reload_req_pending(o->reload_req)) {
            reload(&rt);
            cfg = rt.cfg;
        }
        if (now >= next_publish) {
            publish(&rt, now);
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
            now - last_record >= o->exit_when_idle_ms &&
            now - rt.assigned_at >= o->exit_when_idle_ms)
            break;
    }
    apply_waiting(&rt);
    run_timers(&rt);
    if (commit_all(&rt) != 0)
        goto out;
    /* span_ms: from the first record to the commit of the last, which is
     * what a throughput figure divides by (bench/run reads it). */
    struct store_stats ss;
    store_stats(rt.store, &ss);
    LOG_INF("runtime", "stopped cleanly: events=%llu dlq=%llu alerts=%llu "
            "poison=%llu span_ms=%lld first_ms=%lld last_ms=%lld "
            "state_gets=%llu state_warm=%llu state_reads=%llu state_absent=%llu "
            "state_filtered=%llu "
            "seal_waits=%llu loop_cpu_ms=%lld seal_cpu_ms=%lld "
            "commit_cpu_ms=%lld checkpoints=%llu state_puts=%llu "
            "state_put_bytes=%llu",
            (unsigned long long)rt.stats.events,
            (unsigned long long)rt.stats.dlq,
            (unsigned long long)rt.stats.alerts,
            (unsigned long long)rt.stats.poison_outputs,
            (long long)(rt.first_record ? rt.last_applied - rt.first_record
                                        : 0),
            (long long)rt.first_record_wall, (long long)rt.last_applied_wall,
            (unsigned long long)ss.gets, (unsigned long long)ss.warm,
            (unsigned long long)ss.loads,
            (unsigned long long)ss.absent,
            (unsigned long long)ss.filtered,
            (unsigned long long)ss.seal_waits,
            (long long)(rt.first_record
                            ? now_thread_cpu_ms() - rt.first_record_cpu
                            : 0),
            (long long)ss.sealer_cpu_ms,
            (long long)(rt.committer ? committer_cpu_ms(rt.committer) : -1),
            (unsigned long long)rt.wb.checkpoints,
            (unsigned long long)rt.wb.puts, (unsigned long long)rt.wb.bytes);
    rc = 0;
    publish(&rt, now_mono_ms());
out:
    if (stats)
        *stats = rt.stats;
    teardown(&rt);
    return rc;
}
