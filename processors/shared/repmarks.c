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
    }
}
