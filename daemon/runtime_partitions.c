/*
 * runtime_partitions.c - partitions coming to and leaving the instance.
 * A partition whose local state is missing or behind the changelog is
 * assigned held (paused), restored in steps from the loop while the others
 * are consumed, then released: the consumer seeks to the input offsets its
 * state reflects and resumes, and only then are the processors told it
 * arrived (on_partitions). A release the consumer cannot finish yet (a
 * seek left unanswered during a rebalance) is asked again from a later
 * loop turn; a revoke drops it. Standby copies follow the partitions not
 * owned. Timers and watermarks act only on partitions owned and not
 * restoring (docs/STATE.md, "Restore").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog.h"
#include "log.h"
#include "now.h"
#include "ordering.h"
#include "restore.h"
#include "runtime_rt.h"
#include "standby.h"
#include "state.h"
#include "store.h"

void rt_restored_key(void *arg, const void *key, size_t klen)
{
    store_note_key(((struct rt *)arg)->store, key, klen);
}

static void prefetch_key(void *arg, const void *key, size_t klen)
{
    store_prefetch_key(((struct rt *)arg)->store, key, klen);
}

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
    rt_publish(rt, now_mono_ms());
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
    if (rt->restoring[partition] || rt->unreleased[partition])
        return KAFKA_OFFSET_HELD; /* the partition of another input */
    struct restore_opts ro = {
        .db = rt->db,
        .brokers = rt->o->brokers,
        .properties = &rt->cfg->kafka.properties,
        .changelog = rt->changelog,
        .group = rt->consumer,
        .on_key = rt_restored_key,
        .prefetch_key = prefetch_key,
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

/* How long a restored partition may wait for its release (the consumer's
 * seek) before the daemon gives up and stops; the restart restores. */
#define RT_RELEASE_MAX_MS 60000

/* The restored partition p is released: the consumer seeks to the input
 * offsets its state reflects and resumes it, then the processors are told
 * it arrived. A release not done yet is asked again from a later loop
 * turn, after a poll that may revoke the partition (cancel_restores). */
static int release_restored(struct rt *rt, int32_t p)
{
    char err[512];
    int64_t t0 = now_mono_ms();
    int rc = restore_test_gate("DS_TEST_RELEASE_HOLD", p)
                 ? (snprintf(err, sizeof(err), "held by DS_TEST_RELEASE_HOLD"),
                    1)
                 : kafka_consumer_release(rt->consumer, p, err, sizeof(err));
    int64_t now = now_mono_ms();
    if (rc < 0) {
        LOG_ERR("kafka", "%s", err);
        return -1;
    }
    if (rc == 1 && !rt->unreleased[p]) {
        LOG_WRN("restore", "partition %d restored, its release waits: %s", p,
                err);
        rt->unreleased[p] = now;
        rt->n_unreleased++;
    } else if (rc == 1 && now - rt->unreleased[p] > RT_RELEASE_MAX_MS) {
        LOG_ERR("kafka", "%s, after %d s of trying", err,
                RT_RELEASE_MAX_MS / 1000);
        return -1;
    }
    if (rc == 1)
        return 0;
    if (rt->unreleased[p]) {
        LOG_INF("restore", "partition %d released after %lld ms; consuming "
                "it", p, (long long)(now - rt->unreleased[p]));
        rt->unreleased[p] = 0;
        rt->n_unreleased--;
    } else {
        /* The seek's broker round trips, on the loop: PERFORMANCE.md,
         * "Restore: CPU per record". */
        LOG_INF("restore", "partition %d released (%lld ms); consuming it",
                p, (long long)(now - t0));
    }
    rt_tell_partitions(rt, &p, 1, true);
    rt->ctx.assignment++;
    rt->assigned_at = now; /* its consumption starts now */
    return 0;
}

/* One step of every restore under way; a finished one releases its
 * partition (release_restored), and releases not done yet are asked
 * again. wait_ms: how long a step may wait for changelog records. 0, or
 * -1: the runtime stops (as when an assignment is refused). */
int rt_restore_steps(struct rt *rt, int wait_ms)
{
    int32_t np = rt->changelog ? changelog_partitions(rt->changelog) : 0;
    for (int32_t p = 0; p < np && (rt->n_restoring || rt->n_unreleased);
         p++) {
        if (rt->unreleased[p]) {
            if (release_restored(rt, p) != 0)
                return -1;
            continue;
        }
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
        LOG_INF("restore", "partition %d restored in %lld ms", p,
                (long long)res.ms);
        if (release_restored(rt, p) != 0)
            return -1;
    }
    rt->mx.restoring = rt->n_restoring + rt->n_unreleased > 0;
    return 0;
}

/* The first input record of a partition applied since its assignment:
 * restore (or standby) and release included, the fail-over time. */
void rt_first_applied(struct rt *rt, const struct kafka_msg *m)
{
    LOG_INF("runtime", "partition %d: first record applied %lld ms after its "
            "assignment (%s offset %lld)", m->partition,
            (long long)(now_mono_ms() - rt->first_since[m->partition]),
            m->topic, (long long)m->offset);
    rt->first_since[m->partition] = 0;
}

/* The standby follows the partitions neither owned nor restoring here. */
void rt_follow_standby(struct rt *rt)
{
    int32_t np = changelog_partitions(rt->changelog);
    bool *mine = calloc((size_t)np + 1, sizeof(*mine));
    if (!mine)
        abort();
    for (size_t i = 0; i < rt->n_owned; i++)
        if (rt->owned[i] >= 0 && rt->owned[i] < np)
            mine[rt->owned[i]] = true;
    for (int32_t p = 0; p < np; p++)
        mine[p] = mine[p] || rt->restoring[p] || rt->unreleased[p];
    standby_follow(rt->standby, mine);
    free(mine);
    rt->standby_moved = false;
}

/* Where partition p is between its assignment and its first record. */
enum handover { HANDOVER_NONE, HANDOVER_RESTORING, HANDOVER_UNRELEASED };

static enum handover handover_of(const struct rt *rt, int32_t p)
{
    if (!(rt->n_restoring || rt->n_unreleased) || p < 0 ||
        p >= changelog_partitions(rt->changelog))
        return HANDOVER_NONE;
    return rt->restoring[p]    ? HANDOVER_RESTORING
           : rt->unreleased[p] ? HANDOVER_UNRELEASED
                               : HANDOVER_NONE;
}

/* Restores of partitions leaving are dropped (restore_cancel: what they
 * wrote stays consistent); the partitions still restoring are removed
 * from parts, since the processors never heard they arrived. */
static size_t cancel_restores(struct rt *rt, int32_t *parts, size_t n)
{
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t p = parts[k];
        switch (handover_of(rt, p)) {
        case HANDOVER_RESTORING:
            LOG_WRN("restore", "partition %d leaves while its restore is at "
                    "%lld records from the end; cancelled", p,
                    (long long)restore_job_remaining(rt->restoring[p]));
            restore_cancel(rt->restoring[p]);
            rt->restoring[p] = NULL;
            rt->n_restoring--;
            break;
        case HANDOVER_UNRELEASED:
            LOG_WRN("restore", "partition %d leaves before its release", p);
            rt->unreleased[p] = 0;
            rt->n_unreleased--;
            break;
        case HANDOVER_NONE:
            parts[kept++] = p;
            break;
        }
    }
    rt->mx.restoring = rt->n_restoring + rt->n_unreleased > 0;
    return kept;
}

static bool restoring(const struct rt *rt, int32_t p)
{
    return handover_of(rt, p) != HANDOVER_NONE;
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

/* Tells every processor that wants it (on_partitions) that parts arrived
 * or leave, and keeps rt->owned. */
void rt_tell_partitions(struct rt *rt, const int32_t *parts, size_t n,
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
    for (size_t k = 0; rt->first_since && k < n; k++)
        if (parts[k] >= 0 && parts[k] < changelog_partitions(rt->changelog))
            rt->first_since[parts[k]] = 0;
    n = cancel_restores(rt, parts, n);
    /* Polled while the partitions were ours: theirs to apply and commit. */
    rt_apply_waiting(rt);
    if (rt_commit_all(rt) != 0)
        LOG_ERR("runtime", "commit before revoke failed; the next owner "
                "replays from the last committed offset");
    rt_tell_partitions(rt, parts, n, false);
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
    rt_tell_partitions(rt, now, n_now, true);
    free(now);
    rt->assigned_at = now_mono_ms();
    for (size_t k = 0; rt->first_since && k < n_added; k++)
        if (added[k] >= 0 && added[k] < changelog_partitions(rt->changelog))
            rt->first_since[added[k]] = rt->assigned_at;
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

struct kafka_rebalance_ops rt_rebalance_ops(struct rt *rt)
{
    return (struct kafka_rebalance_ops){.stored_offset = stored_offset,
                                        .before_revoke = before_revoke,
                                        .assigned = assigned,
                                        .arg = rt};
}

void rt_partition_ctx(struct rt *rt)
{
    ctx_set_owner(&rt->ctx, owns, rt);
    rt->ctx.watermark = group_watermark;
    rt->ctx.watermark_arg = rt;
    if (rt->changelog) {
        rt->ctx.partition_key = partition_key;
        rt->ctx.partition_key_arg = rt;
    }
}
