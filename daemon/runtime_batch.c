/*
 * runtime_batch.c - the loop's batches: the offsets a batch applied, the
 * seal of its state (in steps, or by the store's sealing thread), its
 * changelog records (RT_LOG_STEP per loop turn), and its commit - to the
 * commit thread (committer.c) once every alert it caused is acknowledged,
 * or, with exactly_once, one transaction with its outputs and offsets
 * before RocksDB is written (txn.c). With write-back a batch closes as a
 * checkpoint only when writeback.h says one is due (docs/STATE.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog.h"
#include "committer.h"
#include "log.h"
#include "now.h"
#include "ordering.h"
#include "runtime_rt.h"
#include "state.h"
#include "store.h"
#include "txn.h"

void rt_note_offset(struct rt *rt, const char *topic, int32_t partition,
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
void rt_seal_step(struct rt *rt, size_t max)
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

/* How many of a closed batch's changelog records may go out now: sent as
 * fast as the loop turns, a checkpoint of 25k objects (~10 MB) queued
 * ahead of the alerts on the producer's connection and loaded the broker
 * all at once. The p99 event-to-alert was 120-170 ms in the 400 ms after
 * each cut, 11-12 ms between cuts and with the changelog off
 * (PERFORMANCE.md, "Where write-back's tail comes from"). So a batch's
 * records are spread evenly over p->log_spread_ms, RT_LOG_STEP at most a
 * turn; a few go at once, so every step sends something. */
static size_t log_pace(struct pending *p)
{
    int64_t now = now_mono_ms();
    if (!p->log_from)
        p->log_from = now;
    int64_t spent = now - p->log_from;
    if (spent >= p->log_spread_ms)
        return RT_LOG_STEP;
    double share = (double)spent / (double)p->log_spread_ms;
    size_t due = (size_t)(share * (double)state_batch_count(p->wb)) + 64;
    if (due <= p->log_next)
        return 0;
    return due - p->log_next < RT_LOG_STEP ? due - p->log_next : RT_LOG_STEP;
}

/* Takes the batches the commit thread has written off the front of the
 * FIFO, then hands it the next ones whose alerts are all acknowledged,
 * oldest first (a younger one never overtakes an older one: the offsets
 * must only move forward). 0, or -1 on a write or delivery failure. */
int rt_commit_ready(struct rt *rt)
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
        if (p->events)
            rt->last_applied_wall = now_wall_ms();
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
            size_t step = rt->idle ? SIZE_MAX : log_pace(p);
            if (step && log_batch(rt, p, step) != 0)
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
    rt_seal_step(rt, SIZE_MAX); /* nothing else would finish it here */
    /* Waiting anyway: the changelog steps left go out at once, in order. */
    for (size_t i = 0; i < rt->n_pending && rt->pending[i].sealed; i++)
        if (!rt->pending[i].logged &&
            log_batch(rt, &rt->pending[i], SIZE_MAX) != 0)
            return -1;
    for (;;) {
        if (rt_commit_ready(rt) != 0)
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
        rt_seal_step(rt, SIZE_MAX);
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
    char why[512];
    if (!txn_fatal(rt->txn, why, sizeof(why))) /* else named at the stop */
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
int rt_close_batch(struct rt *rt)
{
    if (rt->batch_events == 0 && store_dirty_count(rt->store) == 0 &&
        rt->n_offsets == 0)
        return rt_commit_ready(rt);
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
    p->log_from = 0;
    p->log_spread_ms = (now - rt->last_close) / 2 < RT_LOG_SPREAD_MS
                           ? (now - rt->last_close) / 2
                           : RT_LOG_SPREAD_MS;
    rt->last_close = now;
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
    return rt_commit_ready(rt);
}

/* Closes the open batch and waits until everything is written. */
int rt_commit_all(struct rt *rt)
{
    if (rt_close_batch(rt) != 0)
        return -1;
    return wait_pending(rt, 0);
}
