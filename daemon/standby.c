/*
 * standby.c - warm copies of partitions not owned (see standby.h).
 */
#include "standby.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "log.h"

/* librdkafka's logical "first record" (RD_KAFKA_OFFSET_BEGINNING). */
#define FROM_LOG_START (-2)

struct tail {
    struct kafka_consumer *c;
    struct restore_run *r;
    int64_t from; /* where the tail started; FROM_LOG_START: the log start */
    int64_t last; /* offset of the last record read; -1 none */
    bool on;
};

struct standby {
    struct restore_opts o;
    int32_t n;
    struct tail *t;
};

struct standby *standby_new(const struct restore_opts *o)
{
    struct standby *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->o = *o;
    s->n = changelog_partitions(o->changelog);
    s->t = calloc((size_t)s->n + 1, sizeof(*s->t));
    if (!s->t) {
        free(s);
        return NULL;
    }
    return s;
}

void standby_stop(struct standby *s, int32_t p)
{
    if (!s || p < 0 || p >= s->n || !s->t[p].on)
        return;
    struct tail *t = &s->t[p];
    char err[512];
    if (restore_run_flush(t->r, err, sizeof(err)) != 0)
        LOG_ERR("standby", "%s[%d]: %s", changelog_topic(s->o.changelog), p,
                err);
    kafka_consumer_close(t->c);
    restore_run_free(t->r);
    memset(t, 0, sizeof(*t));
    LOG_INF("standby", "%s[%d]: no longer followed (owned here now, or "
            "stopping)", changelog_topic(s->o.changelog), p);
}

void standby_free(struct standby *s)
{
    if (!s)
        return;
    for (int32_t p = 0; p < s->n; p++)
        standby_stop(s, p);
    free(s->t);
    free(s);
}

static int start(struct standby *s, int32_t p, char *err, size_t errlen)
{
    const char *topic = changelog_topic(s->o.changelog);
    int64_t ckpt = 0;
    int stored = state_offset_get(s->o.db, topic, p, &ckpt, err, errlen);
    if (stored < 0)
        return -1;
    if (!stored) {
        /* Local state of unknown age: left to the restore, which wipes
         * it, rather than updated in place. */
        bool local = false;
        if (restore_has_local(&s->o, p, &local, err, errlen) != 0)
            return -1;
        if (local) {
            LOG_WRN("standby", "%s[%d]: local state without a changelog "
                    "checkpoint; not followed", topic, p);
            return 0;
        }
    }
    struct tail *t = &s->t[p];
    t->r = restore_run_new(s->o.db, topic, p, 0);
    restore_run_on_key(t->r, s->o.on_key, s->o.arg);
    if (kafka_consumer_new_partition(s->o.brokers, s->o.properties, topic, p,
                                     stored ? ckpt : FROM_LOG_START, &t->c,
                                     err, errlen) != 0) {
        restore_run_free(t->r);
        t->r = NULL;
        return -1;
    }
    t->on = true;
    t->from = stored ? ckpt : FROM_LOG_START;
    t->last = -1;
    LOG_INF("standby", "%s[%d]: following from %s %" PRId64
            " (a warm copy for a fail-over)", topic, p,
            stored ? "the local checkpoint" : "the log start",
            stored ? ckpt : (int64_t)0);
    return 0;
}

void standby_follow(struct standby *s, const bool *owned)
{
    for (int32_t p = 0; s && p < s->n; p++) {
        if (owned[p]) {
            standby_stop(s, p);
        } else if (!s->t[p].on) {
            char err[512];
            if (start(s, p, err, sizeof(err)) != 0)
                LOG_ERR("standby", "%s[%d]: %s; not followed",
                        changelog_topic(s->o.changelog), p, err);
        }
    }
}

bool standby_step(struct standby *s, size_t max_records)
{
    bool more = false;
    for (int32_t p = 0; s && p < s->n; p++) {
        struct tail *t = &s->t[p];
        if (!t->on)
            continue;
        char err[512];
        size_t n = 0;
        int rc = 0;
        while (n < max_records) {
            struct kafka_msg m;
            int got = kafka_consumer_poll(t->c, 0, &m, err, sizeof(err));
            if (got <= 0) {
                rc = got;
                break;
            }
            t->last = m.offset;
            rc = restore_run_record(t->r, m.offset, m.key, m.klen, m.value,
                                    m.vlen, err, sizeof(err));
            kafka_msg_release(&m);
            n++;
            if (rc != 0)
                break;
        }
        if (rc == 0 && n)
            rc = restore_run_flush(t->r, err, sizeof(err));
        if (rc != 0) {
            LOG_ERR("standby", "%s[%d]: %s; no longer followed",
                    changelog_topic(s->o.changelog), p, err);
            kafka_consumer_close(t->c);
            restore_run_free(t->r);
            memset(t, 0, sizeof(*t));
            continue;
        }
        more = more || n == max_records;
    }
    return more;
}

size_t standby_following(const struct standby *s)
{
    size_t n = 0;
    for (int32_t p = 0; s && p < s->n; p++)
        n += s->t[p].on;
    return n;
}

void standby_lag(struct standby *s,
                 void (*fn)(void *arg, int32_t partition, int64_t lag),
                 void *arg)
{
    const char *topic = s ? changelog_topic(s->o.changelog) : NULL;
    for (int32_t p = 0; s && p < s->n; p++) {
        struct tail *t = &s->t[p];
        if (!t->on)
            continue;
        int64_t lo = -1, hi = -1;
        if (rd_kafka_get_watermark_offsets(kafka_consumer_handle(t->c), topic,
                                           p, &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        /* From the copy's checkpoint (its last marker written), not from
         * what was read: records after the last marker are held in memory
         * only, and a fail-over reads them again. */
        struct restore_counts c;
        restore_run_counts(t->r, &c);
        int64_t pos = c.checkpoint >= 0 ? c.checkpoint
                      : t->from == FROM_LOG_START ? lo
                                                  : t->from;
        /* Nothing read after the checkpoint: what the consumer skipped
         * past it (transaction markers) is not to restore either. */
        int64_t read = kafka_consumer_position(t->c, topic, p);
        if (t->last < pos && read > pos)
            pos = read;
        if (pos < 0)
            continue;
        fn(arg, p, hi > pos ? hi - pos : 0);
    }
}
