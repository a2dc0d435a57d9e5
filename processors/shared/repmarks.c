/*
 * repmarks.c - the last repartition record applied per origin partition
 * (repmarks.h), shared by the processors that receive such records.
 */
#include "repmarks.h"

#include <stdlib.h>
#include <string.h>

#include "statecodec.h"

bool repmarks_apply(struct repmarks *m, const struct repartition_record *rr)
{
    const struct event_source *o = &rr->origin;
    for (size_t i = 0; i < m->n; i++) {
        struct repmark *k = &m->v[i];
        if (k->partition != o->partition || strcmp(k->topic, o->topic) != 0)
            continue;
        if (o->offset < k->offset || (o->offset == k->offset && rr->seq <= k->seq))
            return false;
        k->offset = o->offset;
        k->seq = rr->seq;
        return true;
    }
    if (m->n == REPMARKS_MAX) { /* more origins than partitions: forget one */
        free(m->v[0].topic);
        memmove(&m->v[0], &m->v[1], (m->n - 1) * sizeof(m->v[0]));
        m->n--;
    }
    struct repmark *v = realloc(m->v, (m->n + 1) * sizeof(*v));
    if (!v)
        abort(); /* as buf.c: nothing useful to do without memory */
    m->v = v;
    m->v[m->n++] = (struct repmark){statecodec_strdup(o->topic), o->partition,
                                    o->offset, rr->seq, INT64_MIN, 0};
    return true;
}

void repmarks_free(struct repmarks *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].topic);
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

void repmarks_encode(const struct repmarks *m, struct buf *out)
{
    buf_put_varint(out, m->n);
    for (size_t i = 0; i < m->n; i++) {
        buf_put_str(out, m->v[i].topic);
        buf_put_varint(out, (uint32_t)m->v[i].partition);
        buf_put_i64(out, m->v[i].offset);
        buf_put_varint(out, m->v[i].seq);
    }
}

void repmarks_decode(struct repmarks *m, struct buf_reader *r)
{
    size_t n = statecodec_count(r, REPMARKS_MAX);
    m->v = n ? calloc(n, sizeof(*m->v)) : NULL;
    if (n && !m->v)
        abort();
    for (size_t i = 0; i < n && !r->err; i++) {
        struct repmark *k = &m->v[m->n++];
        k->topic = statecodec_req_str(r);
        k->partition = (int32_t)statecodec_u32(r);
        k->offset = buf_get_i64(r);
        k->seq = statecodec_u32(r);
        k->max_time = INT64_MIN;
    }
}

static struct repmark *find(const struct repmarks *m, const char *topic,
                            int32_t partition)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].partition == partition && strcmp(m->v[i].topic, topic) == 0)
            return &m->v[i];
    return NULL;
}

void repmarks_note(struct repmarks *m, const struct repartition_record *rr,
                   int64_t t, int64_t now)
{
    struct repmark *k = find(m, rr->origin.topic, rr->origin.partition);
    if (!k)
        return;
    if (t > k->max_time)
        k->max_time = t;
    k->heard = now;
}

void repmarks_encode_times(const struct repmarks *m, struct buf *out)
{
    buf_put_varint(out, m->n);
    for (size_t i = 0; i < m->n; i++)
        buf_put_i64(out, m->v[i].max_time);
}

void repmarks_decode_times(struct repmarks *m, struct buf_reader *r)
{
    size_t n = statecodec_count(r, REPMARKS_MAX);
    if (n != m->n) {
        r->err = true;
        return;
    }
    for (size_t i = 0; i < n && !r->err; i++)
        m->v[i].max_time = buf_get_i64(r);
}

static bool active(const struct repmarks_low_opts *o, int64_t heard)
{
    if (o->now <= 0)
        return true; /* no clock: nothing is idle */
    if (heard == o->now)
        return true; /* the record being applied */
    if (heard < o->since)
        heard = o->since;
    return o->now - heard < o->idle_ms;
}

int64_t repmarks_low(const struct repmarks *m, const struct repmarks_low_opts *o)
{
    const char *topic = o->topic ? o->topic : m->n ? m->v[0].topic : NULL;
    if (!topic)
        return INT64_MIN;
    int64_t low = INT64_MAX, high = INT64_MIN;
    bool any = false;
    for (size_t i = 0; i < m->n; i++) {
        const struct repmark *k = &m->v[i];
        if (strcmp(k->topic, topic) != 0)
            continue;
        if (k->max_time > high)
            high = k->max_time;
        if (active(o, k->heard)) {
            any = true;
            if (k->max_time < low)
                low = k->max_time;
        }
    }
    for (int32_t p = 0; p < o->partitions && low != INT64_MIN; p++)
        if (!find(m, topic, p) && active(o, 0)) {
            any = true; /* expected, never seen, not idle yet */
            low = INT64_MIN;
        }
    return any ? low : high;
}
