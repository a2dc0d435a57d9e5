/*
 * global_table.c - input topics read as global tables (global_table.h).
 *
 * One group-less reader per topic (kafka_consumer_new_reader: every
 * partition, from the beginning, no offsets committed). At open the high
 * watermark of each partition is taken and the reader polled until every
 * partition has returned the record before it (or catch_up_ms passed: a
 * warning, and the loop goes on with what it has). Afterwards the runtime
 * polls it once per loop turn. A record is kept only if it decodes, so a
 * bad one never reaches a processor (it is counted and logged, not sent to
 * the DLQ: every instance reads it). Rows are few (signals, reference
 * data); a lookup is a scan.
 */
#include "global_table.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "kafka.h"
#include "log.h"
#include "now.h"

struct gt_row {
    char *key;
    size_t klen;
    void *val;
    size_t vlen;
};

struct gt_topic {
    enum event_kind kind;
    const char *topic;
    struct kafka_consumer *c;
    size_t n_parts;
    int64_t *high; /* at open */
    int64_t *next; /* next offset seen */
    struct gt_row *rows;
    size_t n_rows;
    uint64_t version;
};

struct global_table {
    struct gt_topic t[EVENT_KIND_COUNT];
    size_t n;
    struct arena *arena;
    uint64_t bad;
};

static struct gt_topic *topic_of_kind(const struct global_table *g,
                                      enum event_kind k)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->t[i].kind == k)
            return (struct gt_topic *)&g->t[i];
    return NULL;
}

static void row_free(struct gt_row *r)
{
    free(r->key);
    free(r->val);
}

static void apply(struct global_table *g, struct gt_topic *t,
                  struct codec *codec, const struct kafka_msg *m)
{
    if ((size_t)m->partition < t->n_parts)
        t->next[m->partition] = m->offset + 1;
    if (!m->key || !m->klen) {
        g->bad++;
        LOG_RL(LOG_WARN, "global", "%s[%d]@%lld: no key, ignored", m->topic,
               m->partition, (long long)m->offset);
        return;
    }
    size_t i = 0;
    while (i < t->n_rows && !(t->rows[i].klen == m->klen &&
                              memcmp(t->rows[i].key, m->key, m->klen) == 0))
        i++;
    if (!m->value || !m->vlen) { /* a tombstone */
        if (i < t->n_rows) {
            row_free(&t->rows[i]);
            t->rows[i] = t->rows[--t->n_rows];
            t->version++;
        }
        return;
    }
    struct event ev;
    struct codec_error ce = {0};
    arena_reset(g->arena);
    if (codec_decode_event(codec, t->kind, m->key, m->klen, m->value, m->vlen,
                           g->arena, &ev, &ce) != 0) {
        g->bad++;
        LOG_RL(LOG_WARN, "global", "%s[%d]@%lld: %s: %s, ignored", m->topic,
               m->partition, (long long)m->offset, ce.reason, ce.message);
        return;
    }
    if (i == t->n_rows) {
        struct gt_row *v = realloc(t->rows, (t->n_rows + 1) * sizeof(*v));
        if (!v)
            abort();
        t->rows = v;
        t->rows[t->n_rows++] = (struct gt_row){0};
    } else if (t->rows[i].vlen == m->vlen &&
               memcmp(t->rows[i].val, m->value, m->vlen) == 0) {
        return; /* the same record again */
    }
    struct gt_row *r = &t->rows[i];
    row_free(r);
    r->key = malloc(m->klen);
    r->val = malloc(m->vlen);
    if (!r->key || !r->val)
        abort();
    memcpy(r->key, m->key, m->klen);
    memcpy(r->val, m->value, m->vlen);
    r->klen = m->klen;
    r->vlen = m->vlen;
    t->version++;
}

static size_t poll_topic(struct global_table *g, struct gt_topic *t,
                         struct codec *codec, size_t max, int timeout_ms)
{
    size_t n = 0;
    while (n < max) {
        struct kafka_msg m;
        char err[256];
        int got = kafka_consumer_poll(t->c, n ? 0 : timeout_ms, &m, err,
                                      sizeof(err));
        if (got < 0)
            LOG_RL(LOG_ERROR, "global", "%s: %s", t->topic, err);
        if (got != 1)
            break;
        apply(g, t, codec, &m);
        kafka_msg_release(&m);
        n++;
    }
    return n;
}

static bool caught_up(const struct gt_topic *t)
{
    for (size_t p = 0; p < t->n_parts; p++)
        if (t->next[p] < t->high[p])
            return false;
    return true;
}

int global_table_open(const struct global_table_opts *o, struct codec *codec,
                      struct global_table **out, char *err, size_t errlen)
{
    struct global_table *g = calloc(1, sizeof(*g));
    if (!g || !(g->arena = arena_new(4096))) {
        free(g);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int k = 0; k < EVENT_KIND_COUNT; k++) {
        if (!(o->kinds & EVENT_MASK(k)))
            continue;
        struct gt_topic *t = &g->t[g->n++];
        t->kind = (enum event_kind)k;
        t->topic = o->topics[k];
        if (!codec_reads(codec, t->kind)) {
            snprintf(err, errlen, "global table %s: schemas.ids names no "
                     "reader for %s", t->topic, event_record_name(t->kind));
            goto fail;
        }
        if (kafka_consumer_new_reader(o->brokers, o->properties, t->topic, true,
                                      &t->c, err, errlen) != 0)
            goto fail;
        t->n_parts = kafka_consumer_assigned(t->c);
        t->high = calloc(t->n_parts ? t->n_parts : 1, sizeof(*t->high));
        t->next = calloc(t->n_parts ? t->n_parts : 1, sizeof(*t->next));
        if (!t->high || !t->next)
            goto fail;
        for (size_t p = 0; p < t->n_parts; p++) {
            int64_t lo = 0, hi = 0;
            if (kafka_consumer_watermarks(t->c, t->topic, (int32_t)p, &lo, &hi,
                                          10000) != 0) {
                snprintf(err, errlen, "global table %s[%zu]: no watermarks",
                         t->topic, p);
                goto fail;
            }
            t->high[p] = hi;
            t->next[p] = lo;
        }
    }
    int64_t deadline = now_mono_ms() + o->catch_up_ms;
    for (size_t i = 0; i < g->n; i++) {
        struct gt_topic *t = &g->t[i];
        while (!caught_up(t) && now_mono_ms() < deadline)
            poll_topic(g, t, codec, 1000, 100);
        if (!caught_up(t))
            LOG_WRN("global", "%s not read to its end within %lld ms; "
                    "going on with %zu rows", t->topic,
                    (long long)o->catch_up_ms, t->n_rows);
        else
            LOG_INF("global", "%s read: %zu rows from %zu partitions",
                    t->topic, t->n_rows, t->n_parts);
    }
    *out = g;
    return 0;
fail:
    global_table_free(g);
    return -1;
}

size_t global_table_poll(struct global_table *g, struct codec *codec,
                         size_t max)
{
    size_t n = 0;
    for (size_t i = 0; g && i < g->n; i++)
        n += poll_topic(g, &g->t[i], codec, max, 0);
    return n;
}

void global_table_foreach(struct global_table *g, struct codec *codec,
                          enum event_kind kind,
                          int (*fn)(void *arg, const struct event *ev),
                          void *arg)
{
    struct gt_topic *t = g ? topic_of_kind(g, kind) : NULL;
    for (size_t i = 0; t && i < t->n_rows; i++) {
        struct event ev;
        struct codec_error ce = {0};
        arena_reset(g->arena);
        /* It decoded when it arrived; a reload may have changed the
         * schemas since: then it is skipped. */
        if (codec_decode_event(codec, kind, t->rows[i].key, t->rows[i].klen,
                               t->rows[i].val, t->rows[i].vlen, g->arena,
                               &ev, &ce) != 0)
            continue;
        ev.src = (struct event_source){.topic = t->topic, .partition = -1,
                                       .offset = -1};
        if (fn(arg, &ev))
            break;
    }
}

uint64_t global_table_version(const struct global_table *g,
                              enum event_kind kind)
{
    const struct gt_topic *t = g ? topic_of_kind(g, kind) : NULL;
    return t ? t->version : 0;
}

size_t global_table_rows(const struct global_table *g, enum event_kind kind)
{
    const struct gt_topic *t = g ? topic_of_kind(g, kind) : NULL;
    return t ? t->n_rows : 0;
}

void global_table_free(struct global_table *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        struct gt_topic *t = &g->t[i];
        kafka_consumer_close(t->c);
        for (size_t r = 0; r < t->n_rows; r++)
            row_free(&t->rows[r]);
        free(t->rows);
        free(t->high);
        free(t->next);
    }
    arena_free(g->arena);
    free(g);
}
