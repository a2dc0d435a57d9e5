/*
 * repmarks.c - marks of the repartitioned records applied (repmarks.h).
 */
#include "repmarks.h"

#include <stdlib.h>
#include <string.h>

#include "statecodec.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort(); /* as buf.c: nothing useful to do without memory */
    return p;
}

bool repmarks_take(struct repmarks *m, const struct repartition_record *rr)
{
    const struct event_source *o = &rr->origin;
    for (size_t i = 0; i < m->n; i++) {
        struct repmark *k = &m->v[i];
        if (k->partition != o->partition || strcmp(k->topic, o->topic) != 0)
            continue;
        if (o->offset < k->offset ||
            (o->offset == k->offset && rr->seq <= k->seq))
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
        abort();
    m->v = v;
    m->v[m->n++] = (struct repmark){statecodec_strdup(o->topic), o->partition,
                                    o->offset, rr->seq};
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

void repmarks_put(const struct repmarks *m, struct buf *out)
{
    buf_put_varint(out, m->n);
    for (size_t i = 0; i < m->n; i++) {
        buf_put_str(out, m->v[i].topic);
        buf_put_varint(out, (uint32_t)m->v[i].partition);
        buf_put_i64(out, m->v[i].offset);
        buf_put_varint(out, m->v[i].seq);
    }
}

void repmarks_get(struct repmarks *m, struct buf_reader *r)
{
    size_t n = statecodec_count(r, REPMARKS_MAX);
    m->v = xcalloc(n, sizeof(*m->v));
    for (m->n = 0; m->n < n && !r->err; m->n++) {
        struct repmark *k = &m->v[m->n];
        k->topic = statecodec_req_str(r);
        k->partition = (int32_t)statecodec_u32(r);
        k->offset = buf_get_i64(r);
        k->seq = statecodec_u32(r);
        if (!k->topic)
            break;
    }
}
