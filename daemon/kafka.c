/*
 * kafka.c - librdkafka behind our own types.
 *
 * Choices that matter:
 *  - rd_kafka_consumer_poll() one message at a time: 2.0.x's batch-consume
 *    calls lose messages around pause/seek/rebalance.
 *  - enable.auto.offset.store=false: only offsets whose effects are in the
 *    state are stored, and only for lag monitoring; on assignment we start
 *    from the offset committed with the state, never from Kafka's.
 *  - Both the eager and the cooperative rebalance protocols are handled.
 *  - The prefetch queue is bounded by kafka.prefetch_budget, and its
 *    fetcher woken once a full queue is half empty (prefetch.h): 2.0.2's
 *    fetcher otherwise sleeps up to 1 s once the queue is full, so small
 *    bounds stall and large ones cost hundreds of MiB. Budget 0: the
 *    raised queued.min.messages / kbytes below (with the library's own
 *    defaults fetching stalls at a third of the possible rate).
 *  - socket.nagle.disable on both clients: alerts are small, latency-bound
 *    requests (the producer: kafka_producer.c; the development broker and
 *    topic admin: kafka_admin.c; what they share: kafka_conf.h).
 */
#include "kafka.h"
#include "kafka_conf.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "now.h"
#include "prefetch.h"

struct kafka_consumer {
    rd_kafka_t *rk;
    /* The log-bound lookups of a rebalance or a release (log_bounds): on
     * rk's connection each waits behind the fetch the broker holds there
     * for fetch.wait.max.ms, so they go over a client of their own. NULL
     * (it could not be made): over rk. */
    rd_kafka_t *lookup;
    struct kafka_rebalance_ops rb;
    size_t assigned;
    const char *const *topics; /* subscribed; the caller's, outlive us */
    size_t n_topics;
    /* Why an assignment was refused (co-partitioning, offsets); the
     * next poll returns it as a fatal error. Empty while all is well. */
    char refused[512];
    /* The partition it is about, for the log line's fields; topic points
     * into the rebalance callback's list, so only valid inside it. */
    struct log_ids refused_at;
    /* The partitions owned now, read back after every rebalance. */
    rd_kafka_topic_partition_list_t *owned;
    /* Assigned but paused until the runtime releases them (their state is
     * being restored: stored_offset said KAFKA_OFFSET_HELD). */
    rd_kafka_topic_partition_list_t *held;
    /* Released partitions and the offset their first record must have
     * (kafka_consumer_poll checks it; opaque set: sought again once). */
    rd_kafka_topic_partition_list_t *expect;
    /* The prefetch budget (prefetch.h): NULL waker when there is none. */
    rd_kafka_queue_t *cq; /* the consumer queue, for its length */
    struct prefetch_pace pace;
    struct prefetch_waker *waker;
    uint64_t wakes; /* asked for */
};

void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                  const char *buf)
{
    (void)rk;
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    enum log_level l = level <= 3 ? LOG_ERROR
                       : level == 4 ? LOG_WARN
                       : level <= 6 ? LOG_INFO
                                    : LOG_DEBUG;
    LOG_RL(l, "kafka", "%s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    /* Transport errors repeat every retry while a broker is down; the
     * rate limit keeps the journal readable. */
    LOG_RL(LOG_WARN, "kafka", "%s (%s); retrying",
           reason, rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
                   bool secret, char *err, size_t errlen)
{
    char e[512];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        /* librdkafka quotes the value in some messages: drop those. */
        if (secret && *v && strstr(e, v))
            snprintf(e, sizeof(e), "invalid value");
        snprintf(err, errlen, "kafka property %s=%s: %s", k,
                 secret ? CONFIG_REDACTED : v, e);
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *kafka_conf_build(const char *brokers,
                                  const char *const defaults[][2],
                                  const struct cfg_strmap *props, char *err,
                                  size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    if (kafka_conf_set(conf, "bootstrap.servers", brokers, false, err,
                       errlen) != 0)
        goto fail;
    for (size_t i = 0; defaults[i][0]; i++)
        if (kafka_conf_set(conf, defaults[i][0], defaults[i][1], false, err,
                           errlen) != 0)
            goto fail;
    for (size_t i = 0; props && i < props->n; i++)
        if (kafka_conf_set(conf, props->v[i].key, props->v[i].value,
                           config_strmap_secret(props, i), err, errlen) != 0)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- consumer ---------------------------------------------------------- */

/* How a partition of an assignment starts (set_start_offsets). */
enum start_how {
    START_BEGINNING, /* no offset stored with the state */
    START_STORED,    /* at the offset stored with the state */
    START_HELD,      /* paused until kafka_consumer_release() */
};

/* One ListOffsets round per leader for the partitions `pick` selects, at
 * timestamp `at` (RD_KAFKA_OFFSET_BEGINNING: the log start, _END: the log
 * end), over c->lookup: one request for them all, not one per partition,
 * on a connection with no fetch held (with six inputs, one lookup per
 * topic on the group consumer's connection was ~300 ms per release). */
static rd_kafka_topic_partition_list_t *
log_bounds(struct kafka_consumer *c,
           const rd_kafka_topic_partition_list_t *parts,
           const enum start_how *how, bool (*pick)(enum start_how, int64_t),
           int64_t at, rd_kafka_resp_err_t *err)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        if (pick(how[i], parts->elems[i].offset))
            rd_kafka_topic_partition_list_add(l, parts->elems[i].topic,
                                              parts->elems[i].partition)
                ->offset = at;
    *err = l->cnt ? rd_kafka_offsets_for_times(c->lookup ? c->lookup : c->rk,
                                               l, 10000)
                  : RD_KAFKA_RESP_ERR_NO_ERROR;
    return l;
}

static bool stored(enum start_how h, int64_t offset)
{
    (void)offset;
    return h == START_STORED;
}

/* Stored offsets past 0 are checked against the log end; held partitions
 * start at it. */
static bool needs_end(enum start_how h, int64_t offset)
{
    return h == START_HELD || (h == START_STORED && offset > 0);
}

/* A stored offset below the log start means records were deleted (by
 * retention) before this group applied them: say how many, never skip them
 * silently, and go on from the log start. */
static void skip_retention_gaps(struct kafka_consumer *c,
                                rd_kafka_topic_partition_list_t *parts,
                                const enum start_how *how)
{
    rd_kafka_resp_err_t e;
    rd_kafka_topic_partition_list_t *starts =
        log_bounds(c, parts, how, stored, RD_KAFKA_OFFSET_BEGINNING, &e);
    for (int i = 0; i < starts->cnt; i++) {
        const rd_kafka_topic_partition_t *low = &starts->elems[i];
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
            parts, low->topic, low->partition);
        int64_t next = tp->offset;
        if (e || low->err || low->offset < 0) {
            LOG_WRN("kafka", "%s[%d]: log start unknown (%s); resuming at "
                    "%lld", tp->topic, tp->partition,
                    rd_kafka_err2str(e ? e : low->err), (long long)next);
            continue;
        }
        if (next >= low->offset)
            continue;
        const struct log_ids ids = {
            .topic = tp->topic, .partition = tp->partition, .offset = next};
        LOG_IDS(LOG_WARN, "kafka", &ids,
                "%s[%d]: stored offset %lld is below the log start "
                "%lld: %lld records were deleted (retention) before they "
                "were applied; resuming from the log start",
                tp->topic, tp->partition, (long long)next,
                (long long)low->offset, (long long)(low->offset - next));
        tp->offset = low->offset;
    }
    rd_kafka_topic_partition_list_destroy(starts);
}

/* Held partitions start at their log end now: an absolute start, not a
 * logical one, since the answer to a logical offset's lookup could land
 * after kafka_consumer_release()'s seek and move the partition on (seen
 * on Apache Kafka). Stored offsets past their partition's log end are
 * refused: librdkafka would answer OFFSET_OUT_OF_RANGE with
 * auto.offset.reset, replaying the partition from the start (or skipping
 * it) without a word. A topic recreated under the same name or an unclean
 * leader election is for an operator to judge. 0, or -1 with c->refused
 * set, also when the log ends cannot be learnt. */
static int check_log_ends(struct kafka_consumer *c,
                          rd_kafka_topic_partition_list_t *parts,
                          const enum start_how *how)
{
    rd_kafka_resp_err_t e;
    rd_kafka_topic_partition_list_t *ends =
        log_bounds(c, parts, how, needs_end, RD_KAFKA_OFFSET_END, &e);
    int rc = 0;
    for (int i = 0; i < ends->cnt && rc == 0; i++) {
        const rd_kafka_topic_partition_t *end = &ends->elems[i];
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
            parts, end->topic, end->partition);
        bool known = !e && !end->err && end->offset >= 0;
        if (how[tp - parts->elems] == START_HELD) {
            tp->offset = known ? end->offset : RD_KAFKA_OFFSET_END;
        } else if (!known) {
            c->refused_at = (struct log_ids){
                .topic = tp->topic, .partition = tp->partition, .offset = -1};
            snprintf(c->refused, sizeof(c->refused),
                     "%s[%d]: could not read the log end to check the offset "
                     "stored with the state (%s); refusing the assignment "
                     "rather than risk a silent reset",
                     end->topic, end->partition,
                     rd_kafka_err2str(e ? e : end->err));
            rc = -1;
        } else if (tp->offset > end->offset) {
            c->refused_at = (struct log_ids){.topic = tp->topic,
                                             .partition = tp->partition,
                                             .offset = tp->offset};
            snprintf(c->refused, sizeof(c->refused),
                     "%s[%d]: the offset stored with the state (%lld) is past "
                     "the log end (%lld): the topic was recreated or records "
                     "were lost (unclean leader election). Refusing to reset "
                     "it; move state.dir aside to rebuild the state from what "
                     "the topic holds now",
                     end->topic, end->partition, (long long)tp->offset,
                     (long long)end->offset);
            rc = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(ends);
    return rc;
}

/* 0, or -1 with c->refused set: the assignment must not be taken. */
static int set_start_offsets(struct kafka_consumer *c,
                             rd_kafka_topic_partition_list_t *parts)
{
    enum start_how *how = calloc((size_t)parts->cnt + 1, sizeof(*how));
    if (!how)
        abort();
    int rc = 0;
    for (int i = 0; i < parts->cnt && rc == 0; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t next = 0;
        int got = c->rb.stored_offset
                      ? c->rb.stored_offset(c->rb.arg, tp->topic,
                                            tp->partition, &next)
                      : 0;
        if (got < 0) {
            /* Not "no offset": that would apply every event again. */
            c->refused_at = (struct log_ids){
                .topic = tp->topic, .partition = tp->partition, .offset = -1};
            snprintf(c->refused, sizeof(c->refused),
                     "%s[%d]: the offset stored with the state cannot be "
                     "read; refusing the assignment rather than replay the "
                     "partition from its first record",
                     tp->topic, tp->partition);
            rc = -1;
            break;
        }
        how[i] = got == KAFKA_OFFSET_HELD ? START_HELD
                 : got == 1               ? START_STORED
                                          : START_BEGINNING;
        tp->offset = how[i] == START_STORED ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    if (rc == 0) {
        skip_retention_gaps(c, parts, how);
        rc = check_log_ends(c, parts, how);
    }
    for (int i = 0; i < parts->cnt && rc == 0; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (how[i] == START_HELD) {
            /* Paused once assigned; kafka_consumer_release() seeks. */
            rd_kafka_topic_partition_list_add(c->held, tp->topic,
                                              tp->partition);
            LOG_INF("kafka", "assigned %s[%d], held until its state is "
                    "restored", tp->topic, tp->partition);
        } else {
            LOG_INF("kafka", "assigned %s[%d] from %s %lld", tp->topic,
                    tp->partition,
                    how[i] == START_STORED ? "state offset" : "the beginning",
                    how[i] == START_STORED ? (long long)tp->offset : 0LL);
        }
    }
    free(how);
    return rc;
}

/* Keeps c->owned current for kafka_consumer_owns(): read back from
 * librdkafka after each change rather than mirrored, so the eager and
 * cooperative protocols and a lost assignment all come out right. */
static void track_assignment(struct kafka_consumer *c)
{
    rd_kafka_topic_partition_list_t *now = NULL;
    if (rd_kafka_assignment(c->rk, &now) != RD_KAFKA_RESP_ERR_NO_ERROR)
        now = rd_kafka_topic_partition_list_new(0); /* owns nothing */
    if (c->owned)
        rd_kafka_topic_partition_list_destroy(c->owned);
    c->owned = now;
}

/* A customer's events must meet one state: partition p of every subscribed
 * topic belongs to the same instance. 0, or -1 with c->refused set. */
static int check_copartitioned(struct kafka_consumer *c,
                               const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        for (size_t t = 0; t < c->n_topics; t++) {
            bool found = false;
            for (int j = 0; j < parts->cnt && !found; j++)
                found = parts->elems[j].partition == p &&
                        strcmp(parts->elems[j].topic, c->topics[t]) == 0;
            if (!found) {
                c->refused_at = (struct log_ids){.topic = c->topics[t],
                                                 .partition = p,
                                                 .offset = -1};
                snprintf(c->refused, sizeof(c->refused),
                         "assignment refused: it holds %s[%d] but not %s[%d]; "
                         "co-partitioned topics must move together (all "
                         "instances of the group need the same input topics "
                         "with the same partition counts and the range "
                         "assignor)",
                         parts->elems[i].topic, p, c->topics[t], p);
                return -1;
            }
        }
    }
    return 0;
}

/* The distinct partition numbers of parts, into out (parts->cnt room). */
static size_t partition_numbers(const rd_kafka_topic_partition_list_t *parts,
                                int32_t *out)
{
    size_t n = 0;
    for (int i = 0; i < parts->cnt; i++) {
        size_t k = 0;
        while (k < n && out[k] != parts->elems[i].partition)
            k++;
        if (k == n)
            out[n++] = parts->elems[i].partition;
    }
    return n;
}

static bool is_held(const struct kafka_consumer *c, const char *topic,
                    int32_t partition)
{
    return c->held && c->held->cnt &&
           rd_kafka_topic_partition_list_find(c->held, topic, partition);
}

/* Held partitions leaving (`parts`, NULL: all) are resumed: the
 * application's pause outlives an unassign in librdkafka, and a partition
 * that comes back without a restore must not stay paused. */
static void unhold(struct kafka_consumer *c,
                   const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *go =
        rd_kafka_topic_partition_list_new(c->held->cnt + 1);
    for (int i = 0; i < c->held->cnt; i++) {
        const rd_kafka_topic_partition_t *h = &c->held->elems[i];
        if (!parts || rd_kafka_topic_partition_list_find(parts, h->topic,
                                                         h->partition))
            rd_kafka_topic_partition_list_add(go, h->topic, h->partition);
    }
    for (int i = c->expect->cnt - 1; i >= 0; i--)
        if (!parts || rd_kafka_topic_partition_list_find(
                          parts, c->expect->elems[i].topic,
                          c->expect->elems[i].partition))
            rd_kafka_topic_partition_list_del_by_idx(c->expect, i);
    if (go->cnt) {
        rd_kafka_resume_partitions(c->rk, go);
        for (int i = 0; i < go->cnt; i++)
            rd_kafka_topic_partition_list_del(c->held, go->elems[i].topic,
                                              go->elems[i].partition);
    }
    rd_kafka_topic_partition_list_destroy(go);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_consumer *c = opaque;
    bool cooperative =
        strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (!cooperative)
            unhold(c, NULL);
        if (check_copartitioned(c, parts) != 0 ||
            set_start_offsets(c, parts) != 0) {
            /* Nothing of it is consumed; the poll reports c->refused. */
            LOG_IDS(LOG_ERROR, "kafka", &c->refused_at, "%s", c->refused);
            return;
        }
        LOG_INF("kafka", "assignment: %d partitions, partition p of all %zu "
                "input topics together", parts->cnt, c->n_topics);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rerr = rd_kafka_assign(rk, parts);
        if (c->held->cnt)
            rd_kafka_pause_partitions(rk, c->held);
        c->assigned = cooperative ? c->assigned + (size_t)parts->cnt
                                  : (size_t)parts->cnt;
        if (c->rb.assigned) {
            int32_t *nums = calloc((size_t)parts->cnt + 1, sizeof(*nums));
            if (!nums)
                abort();
            track_assignment(c); /* owned before the runtime is told */
            c->rb.assigned(c->rb.arg, c->assigned, nums,
                           partition_numbers(parts, nums));
            free(nums);
        }
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        if (rd_kafka_assignment_lost(rk))
            LOG_WRN("kafka", "assignment lost (%d partitions): another "
                    "member may already own them", parts->cnt);
        else
            LOG_INF("kafka", "revoking %d partitions", parts->cnt);
        /* Commit what was applied while we still own the partitions. */
        if (c->rb.before_revoke) {
            int32_t *nums = calloc((size_t)parts->cnt + 1, sizeof(*nums));
            if (!nums)
                abort();
            c->rb.before_revoke(c->rb.arg, nums,
                                partition_numbers(parts, nums));
            free(nums);
        }
        unhold(c, cooperative ? parts : NULL);
        if (cooperative) {
            error = rd_kafka_incremental_unassign(rk, parts);
            c->assigned -= (size_t)parts->cnt < c->assigned
                               ? (size_t)parts->cnt
                               : c->assigned;
        } else {
            rerr = rd_kafka_assign(rk, NULL);
            c->assigned = 0;
        }
    } else {
        LOG_ERR("kafka", "rebalance failed: %s", rd_kafka_err2str(err));
        unhold(c, NULL);
        rd_kafka_assign(rk, NULL);
        c->assigned = 0;
    }
    if (error) {
        LOG_ERR("kafka", "incremental (un)assign: %s",
                rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (rerr) {
        LOG_ERR("kafka", "assign: %s", rd_kafka_err2str(rerr));
    }
    track_assignment(c);
}

static const char *const consumer_defaults[][2] = {
    {"enable.auto.offset.store", "false"},
    {"enable.auto.commit", "true"},
    {"auto.commit.interval.ms", "1000"},
    {"auto.offset.reset", "earliest"},
    {"enable.partition.eof", "false"},
    {"queued.min.messages", "200000"},
    {"queued.max.messages.kbytes", "65536"},
    {"fetch.wait.max.ms", "50"},
    {"socket.nagle.disable", "true"},
    {"session.timeout.ms", "10000"},
    {"heartbeat.interval.ms", "1000"},
    /* Range gives partition p of every topic to one member when the
     * partition counts are equal; cooperative-sticky does not promise it. */
    {"partition.assignment.strategy", "range"},
    {NULL, NULL}};

static bool prop_given(const struct cfg_strmap *props, const char *k)
{
    for (size_t i = 0; props && i < props->n; i++)
        if (strcmp(props->v[i].key, k) == 0)
            return true;
    return false;
}

/* The budget's properties, where the operator's do not say otherwise;
 * *eff: the queue's bounds in force, for the pace of wakes. */
static int prefetch_conf(rd_kafka_conf_t *conf, uint64_t budget,
                         const struct cfg_strmap *props,
                         struct prefetch_plan *eff, char *err,
                         size_t errlen)
{
    struct prefetch_plan plan;
    prefetch_plan_for(budget, &plan);
    const struct {
        const char *key;
        uint64_t v;
    } set[] = {{"queued.max.messages.kbytes", plan.queue_kbytes},
               {"queued.min.messages", plan.queue_records},
               {"fetch.max.bytes", plan.fetch_max_bytes}};
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
        char v[32];
        snprintf(v, sizeof(v), "%llu", (unsigned long long)set[i].v);
        if (!prop_given(props, set[i].key) &&
            kafka_conf_set(conf, set[i].key, v, false, err, errlen) != 0)
            return -1;
    }
    /* An operator's message.max.bytes is librdkafka's floor for it. */
    char v0[32];
    size_t v0len = sizeof(v0);
    if (prop_given(props, "message.max.bytes") &&
        !prop_given(props, "fetch.max.bytes") &&
        rd_kafka_conf_get(conf, "message.max.bytes", v0, &v0len) ==
            RD_KAFKA_CONF_OK &&
        strtoull(v0, NULL, 10) > plan.fetch_max_bytes &&
        kafka_conf_set(conf, "fetch.max.bytes", v0, false, err, errlen) != 0)
        return -1;
    /* The bounds in force, the operator's where given. */
    *eff = plan;
    char v[32];
    size_t vlen = sizeof(v);
    if (rd_kafka_conf_get(conf, "queued.min.messages", v, &vlen) ==
        RD_KAFKA_CONF_OK)
        eff->queue_records = strtoull(v, NULL, 10);
    vlen = sizeof(v);
    if (rd_kafka_conf_get(conf, "queued.max.messages.kbytes", v, &vlen) ==
        RD_KAFKA_CONF_OK)
        eff->queue_kbytes = strtoull(v, NULL, 10);
    return 0;
}

/* Runs on the waker's thread: a ListOffsets request to the partition's
 * leader goes through that broker thread's op queue, which wakes it, and
 * its fetcher looks at its partitions again. Nothing else changes. */
static void prefetch_wake(void *arg, const char *topic, int32_t partition)
{
    struct kafka_consumer *c = arg;
    int64_t lo, hi;
    (void)rd_kafka_query_watermark_offsets(c->rk, topic, partition, &lo, &hi,
                                           1000);
}

/* The client of log_bounds' lookups: no group, never fetches. NULL, with
 * a warning, when the operator's properties do not make one. */
static rd_kafka_t *lookup_client(const char *brokers,
                                 const struct cfg_strmap *props)
{
    static const char *const lookup_defaults[][2] = {
        {"allow.auto.create.topics", "false"},
        {"socket.nagle.disable", "true"},
        {NULL, NULL}};
    char err[512];
    rd_kafka_conf_t *conf =
        kafka_conf_build(brokers, lookup_defaults, props, err, sizeof(err));
    rd_kafka_t *rk =
        conf ? rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)) : NULL;
    if (!rk) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        LOG_WRN("kafka", "offset lookups share the group consumer's "
                "connection (slower releases): %s", err);
    }
    return rk;
}

int kafka_consumer_new(const struct kafka_consumer_opts *opts,
                       struct kafka_consumer **out, char *err, size_t errlen)
{
    int rc = -1;
    struct kafka_consumer *c = calloc(1, sizeof(*c));
    rd_kafka_topic_partition_list_t *subs = NULL;
    rd_kafka_conf_t *conf =
        kafka_conf_build(opts->brokers, consumer_defaults, opts->properties,
                         err, errlen);
    if (!c || !conf)
        goto out;
    if (kafka_conf_set(conf, "group.id", opts->group_id, false, err,
                       errlen) != 0)
        goto out;
    struct prefetch_plan plan = {0};
    if (opts->prefetch_budget &&
        prefetch_conf(conf, opts->prefetch_budget, opts->properties, &plan,
                      err, errlen) != 0)
        goto out;
    c->rb = opts->rebalance;
    c->held = rd_kafka_topic_partition_list_new(8);
    c->expect = rd_kafka_topic_partition_list_new(8);
    c->topics = opts->topics;
    c->n_topics = opts->n_topics;
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);

    char e[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!c->rk) {
        snprintf(err, errlen, "creating the consumer: %s", e);
        goto out;
    }
    conf = NULL; /* owned by the handle now */
    rd_kafka_poll_set_consumer(c->rk);
    c->lookup = lookup_client(opts->brokers, opts->properties);

    subs = rd_kafka_topic_partition_list_new((int)opts->n_topics);
    for (size_t i = 0; i < opts->n_topics; i++)
        rd_kafka_topic_partition_list_add(subs, opts->topics[i],
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(c->rk, subs);
    if (kerr) {
        snprintf(err, errlen, "subscribing: %s", rd_kafka_err2str(kerr));
        goto out;
    }
    if (opts->prefetch_budget) {
        c->cq = rd_kafka_queue_get_consumer(c->rk);
        prefetch_pace_init(&c->pace, &plan);
        if (prefetch_waker_start(prefetch_wake, c, &c->waker, err, errlen))
            goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (subs)
        rd_kafka_topic_partition_list_destroy(subs);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c) {
        if (c->cq)
            rd_kafka_queue_destroy(c->cq);
        if (c->rk)
            rd_kafka_destroy(c->rk);
        if (c->lookup)
            rd_kafka_destroy(c->lookup);
        free(c);
    }
    return rc;
}

int kafka_consumer_new_reader(const char *brokers,
                              const struct cfg_strmap *properties,
                              const char *topic, bool from_beginning,
                              struct kafka_consumer **out, char *err,
                              size_t errlen)
{
    static const char *const reader_defaults[][2] = {
        {"group.id", "dealstream-tools"},
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "false"},
        {NULL, NULL}};
    int rc = -1;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_topic_t *rkt = NULL;
    struct kafka_consumer *c = calloc(1, sizeof(*c));
    rd_kafka_conf_t *conf =
        kafka_conf_build(brokers, reader_defaults, properties, err, errlen);
    if (!c || !conf)
        goto out;
    char e[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!c->rk) {
        snprintf(err, errlen, "creating the consumer: %s", e);
        goto out;
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(c->rk);
    rkt = rd_kafka_topic_new(c->rk, topic, NULL);
    rd_kafka_resp_err_t kerr =
        rd_kafka_metadata(c->rk, 0, rkt, &md, 10000);
    if (kerr || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "metadata of topic %s: %s", topic,
                 rd_kafka_err2str(kerr ? kerr : md->topics[0].err));
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic,
                                          md->topics[0].partitions[i].id)
            ->offset = from_beginning ? RD_KAFKA_OFFSET_BEGINNING
                                      : RD_KAFKA_OFFSET_END;
    c->assigned = (size_t)parts->cnt;
    kerr = rd_kafka_assign(c->rk, parts);
    if (kerr) {
        snprintf(err, errlen, "assign: %s", rd_kafka_err2str(kerr));
        goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c) {
        if (c->rk)
            rd_kafka_destroy(c->rk);
        free(c);
    }
    return rc;
}

int kafka_consumer_new_partition(const char *brokers,
                                 const struct cfg_strmap *properties,
                                 const char *topic, int32_t partition,
                                 int64_t offset, struct kafka_consumer **out,
                                 char *err, size_t errlen)
{
    static const char *const restore_defaults[][2] = {
        {"group.id", "dealstream-restore"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "false"},
        {"isolation.level", "read_committed"},
        /* A restore reads records that are all there: no long polls. */
        {"fetch.wait.max.ms", "10"},
        {NULL, NULL}};
    struct kafka_consumer *c = calloc(1, sizeof(*c));
    rd_kafka_conf_t *conf =
        kafka_conf_build(brokers, restore_defaults, properties, err, errlen);
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (!c || !conf)
        goto fail;
    char e[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!c->rk) {
        snprintf(err, errlen, "creating the consumer: %s", e);
        goto fail;
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(c->rk);
    parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = offset;
    rd_kafka_resp_err_t kerr = rd_kafka_assign(c->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (kerr) {
        snprintf(err, errlen, "assign %s[%d]: %s", topic, partition,
                 rd_kafka_err2str(kerr));
        goto fail;
    }
    c->assigned = 1;
    *out = c;
    return 0;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c && c->rk)
        rd_kafka_destroy(c->rk);
    free(c);
    return -1;
}

/* A released partition's first record must be the one it was sought to:
 * one from before the seek is dropped; a later one means the position
 * moved past it (a late answer to an earlier offset lookup), so it is
 * sought again, once (a transaction marker can legitimately sit there). */
static bool first_as_expected(struct kafka_consumer *c,
                              const rd_kafka_message_t *rkm)
{
    if (!c->expect || !c->expect->cnt)
        return true;
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    rd_kafka_topic_partition_t *e =
        rd_kafka_topic_partition_list_find(c->expect, topic, rkm->partition);
    if (!e)
        return true;
    if (rkm->offset < e->offset)
        return false; /* fetched before the seek */
    if (rkm->offset == e->offset || e->opaque) {
        rd_kafka_topic_partition_list_del(c->expect, topic, rkm->partition);
        return true;
    }
    LOG_WRN("kafka", "%s[%d]: resumed at %lld, not at %lld where it was "
            "sought after its restore; seeking again", topic, rkm->partition,
            (long long)rkm->offset, (long long)e->offset);
    e->opaque = (void *)1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, rkm->partition)->offset =
        e->offset;
    rd_kafka_error_t *err = rd_kafka_seek_partitions(c->rk, l, 5000);
    if (err) { /* the next poll fails: records would be skipped */
        snprintf(c->refused, sizeof(c->refused), "%s[%d]: seeking again to "
                 "%lld: %s", topic, rkm->partition, (long long)e->offset,
                 rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return false;
}

/* Wakes the leader of the record's partition (its broker's fetcher is
 * likely the one that stopped) and, every other time, that of the next
 * owned partition in turn, so that with several brokers each is woken. */
static void wake_fetcher(struct kafka_consumer *c,
                         const rd_kafka_message_t *rkm)
{
    const rd_kafka_topic_partition_t *tp = NULL;
    if ((c->wakes++ & 1) && c->owned && c->owned->cnt)
        tp = &c->owned->elems[(c->wakes / 2) % (uint64_t)c->owned->cnt];
    prefetch_waker_poke(c->waker,
                        tp ? tp->topic : rd_kafka_topic_name(rkm->rkt),
                        tp ? tp->partition : rkm->partition);
}

int kafka_consumer_poll(struct kafka_consumer *c, int timeout_ms,
                        struct kafka_msg *m, char *err, size_t errlen)
{
    rd_kafka_message_t *rkm =
        c->refused[0] ? NULL : rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (c->refused[0]) { /* set by the rebalance callback in that poll */
        if (rkm)
            rd_kafka_message_destroy(rkm);
        snprintf(err, errlen, "%s", c->refused);
        return -1;
    }
    if (!rkm)
        return 0;
    if (rkm->err) {
        rd_kafka_resp_err_t e = rkm->err;
        const char *topic = rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "-";
        char msg[512];
        snprintf(msg, sizeof(msg), "%s [%s[%d]]", rd_kafka_message_errstr(rkm),
                 topic, rkm->partition);
        rd_kafka_message_destroy(rkm);
        if (e == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return 0;
        if (e == RD_KAFKA_RESP_ERR__FATAL) {
            char fatal[512];
            rd_kafka_fatal_error(c->rk, fatal, sizeof(fatal));
            snprintf(err, errlen, "fatal consumer error: %s", fatal);
            return -1;
        }
        /* Unknown topic, transport trouble: librdkafka keeps retrying. */
        LOG_RL(LOG_WARN, "kafka", "consumer: %s", msg);
        return 0;
    }
    if (c->waker &&
        prefetch_pace_take(&c->pace, rkm->key_len + rkm->len,
                           rd_kafka_queue_length(c->cq)))
        wake_fetcher(c, rkm);
    if (is_held(c, rd_kafka_topic_name(rkm->rkt), rkm->partition) ||
        !first_as_expected(c, rkm)) {
        rd_kafka_message_destroy(rkm);
        return 0;
    }
    m->topic = rd_kafka_topic_name(rkm->rkt);
    m->partition = rkm->partition;
    m->offset = rkm->offset;
    m->key = rkm->key;
    m->klen = rkm->key_len;
    m->value = rkm->payload;
    m->vlen = rkm->len;
    rd_kafka_timestamp_type_t tstype;
    m->timestamp = rd_kafka_message_timestamp(rkm, &tstype);
    m->opaque = rkm;
    return 1;
}

void kafka_msg_release(struct kafka_msg *m)
{
    if (m->opaque)
        rd_kafka_message_destroy(m->opaque);
    m->opaque = NULL;
}

int kafka_msg_header(const struct kafka_msg *m, size_t idx, const char **name,
                     const void **val, size_t *len)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m->opaque, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    return rd_kafka_header_get_all(hdrs, idx, name, val, len) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR
               ? 0
               : -1;
}

void kafka_consumer_store_offset(struct kafka_consumer *c, const char *topic,
                                 int32_t partition, int64_t next_offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset =
        next_offset;
    /* Fails harmlessly for a partition revoked meanwhile. */
    rd_kafka_offsets_store(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

size_t kafka_consumer_assigned(const struct kafka_consumer *c)
{
    return c->assigned;
}

bool kafka_consumer_owns(const struct kafka_consumer *c, const char *topic,
                         int32_t partition)
{
    return c->owned &&
           rd_kafka_topic_partition_list_find(c->owned, topic, partition);
}

void *kafka_consumer_handle(struct kafka_consumer *c) { return c->rk; }

int64_t kafka_consumer_position(struct kafka_consumer *c, const char *topic,
                                int32_t partition)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_add(l, topic, partition);
    int64_t pos = -1;
    if (rd_kafka_position(c->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        !tp->err && tp->offset >= 0)
        pos = tp->offset;
    rd_kafka_topic_partition_list_destroy(l);
    return pos;
}

int kafka_consumer_behind(struct kafka_consumer *c, const char *topic,
                          int32_t partition)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_add(l, topic, partition);
    int64_t lo = -1, hi = -1, pos = -1;
    if (rd_kafka_position(c->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR && !tp->err)
        pos = tp->offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (rd_kafka_get_watermark_offsets(c->rk, topic, partition, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
        return -1; /* no fetch answered since assignment */
    if (pos < 0) {
        /* Nothing returned yet: it starts where it was assigned. */
        rd_kafka_topic_partition_list_t *a = NULL;
        if (rd_kafka_assignment(c->rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const rd_kafka_topic_partition_t *at =
                rd_kafka_topic_partition_list_find(a, topic, partition);
            if (at)
                pos = at->offset == RD_KAFKA_OFFSET_BEGINNING ? lo
                                                              : at->offset;
        }
        if (a)
            rd_kafka_topic_partition_list_destroy(a);
    }
    return pos < 0 ? -1 : pos < hi;
}

int kafka_consumer_watermarks(struct kafka_consumer *c, const char *topic,
                              int32_t partition, int64_t *low, int64_t *high,
                              int timeout_ms)
{
    return rd_kafka_query_watermark_offsets(c->rk, topic, partition, low, high,
                                            timeout_ms) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR
               ? 0
               : -1;
}

void kafka_consumer_lag(struct kafka_consumer *c,
                        void (*fn)(void *arg, const char *topic,
                                   int32_t partition, int64_t lag),
                        void *arg)
{
    if (!c->owned || c->owned->cnt == 0)
        return;
    rd_kafka_topic_partition_list_t *pos =
        rd_kafka_topic_partition_list_copy(c->owned);
    if (rd_kafka_position(c->rk, pos) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < pos->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &pos->elems[i];
            int64_t lo, hi;
            if (p->offset < 0 ||
                rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition,
                                               &lo, &hi) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR ||
                hi < 0)
                continue;
            fn(arg, p->topic, p->partition, hi > p->offset ? hi - p->offset : 0);
        }
    }
    rd_kafka_topic_partition_list_destroy(pos);
}

void kafka_consumer_close(struct kafka_consumer *c)
{
    if (!c)
        return;
    if (c->waker)
        LOG_INF("kafka", "prefetch: %llu fetcher wakes",
                (unsigned long long)prefetch_waker_wakes(c->waker));
    prefetch_waker_stop(c->waker); /* it uses the handle */
    c->waker = NULL;
    if (c->cq)
        rd_kafka_queue_destroy(c->cq);
    c->cq = NULL;
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
    if (e)
        LOG_WRN("kafka", "closing the consumer: %s", rd_kafka_err2str(e));
    rd_kafka_destroy(c->rk);
    if (c->lookup)
        rd_kafka_destroy(c->lookup);
    if (c->owned)
        rd_kafka_topic_partition_list_destroy(c->owned);
    if (c->held)
        rd_kafka_topic_partition_list_destroy(c->held);
    if (c->expect)
        rd_kafka_topic_partition_list_destroy(c->expect);
    free(c);
}

int kafka_consumer_release(struct kafka_consumer *c, int32_t partition,
                           char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(c->held->cnt + 1);
    for (int i = 0; i < c->held->cnt; i++)
        if (c->held->elems[i].partition == partition)
            rd_kafka_topic_partition_list_add(l, c->held->elems[i].topic,
                                              partition);
    int rc = 0;
    if (l->cnt && set_start_offsets(c, l) != 0) {
        snprintf(err, errlen, "%s", c->refused);
        rc = -1;
    }
    /* One attempt, bounded, so that the loop goes on polling: a partition
     * whose fetcher has not started yet answers "state", and a seek can
     * stay unanswered for seconds while the group rebalances (its pending
     * partitions stay "in progress"). Those are "not yet" (1): the runtime
     * polls, which serves a revoke, and asks again. Seeking again to the
     * same offsets is harmless; an older seek answered late is dropped by
     * librdkafka's op version. */
    if (rc == 0 && l->cnt) {
        for (int i = 0; i < l->cnt; i++)
            l->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
        rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, 1000);
        rd_kafka_resp_err_t perr = RD_KAFKA_RESP_ERR_NO_ERROR;
        for (int i = 0; i < l->cnt && !perr; i++)
            perr = l->elems[i].err;
        rd_kafka_resp_err_t why = e ? rd_kafka_error_code(e) : perr;
        if (e || perr) {
            bool later = perr == RD_KAFKA_RESP_ERR__STATE ||
                         perr == RD_KAFKA_RESP_ERR__IN_PROGRESS ||
                         perr == RD_KAFKA_RESP_ERR__TIMED_OUT ||
                         (!perr && why == RD_KAFKA_RESP_ERR__TIMED_OUT);
            snprintf(err, errlen, "seeking the restored partition %d: %s",
                     partition, e ? rd_kafka_error_string(e)
                                  : rd_kafka_err2str(perr));
            rc = later ? 1 : -1;
        }
        if (e)
            rd_kafka_error_destroy(e);
    }
    if (rc == 0 && l->cnt) {
        for (int i = 0; i < l->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &l->elems[i];
            rd_kafka_topic_partition_list_del(c->expect, tp->topic, partition);
            if (tp->offset >= 0)
                rd_kafka_topic_partition_list_add(c->expect, tp->topic,
                                                  partition)
                    ->offset = tp->offset;
        }
        rd_kafka_resume_partitions(c->rk, l);
        for (int i = 0; i < l->cnt; i++)
            rd_kafka_topic_partition_list_del(c->held, l->elems[i].topic,
                                              partition);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

