/*
 * propagation_state.c - an entity's index ("<entity_id>/entity": the
 * customers linked to it, counters, its latest news) and a customer's
 * inbox ("<customer_id>/inbox": the signals delivered to it and where they
 * came from): creating, freeing, encoding, decoding and printing.
 */
#include <stdlib.h>
#include <string.h>

#include "propagation.h"

#define PG_STATE_VERSION 1
#define PG_MAX_ITEMS 10000000 /* sanity bound of a decoded count */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort(); /* as buf.c: nothing useful to do without memory */
    return p;
}

static int obj_kind(const void *st) { return *(const int *)st; }

static bool has_suffix(const char *key, const char *suffix)
{
    size_t n = strlen(key), s = strlen(suffix);
    return n > s && strcmp(key + n - s, suffix) == 0;
}

static void put_opt_str(struct buf *out, const char *s)
{
    buf_put_u8(out, s != NULL);
    if (s)
        buf_put_str(out, s);
}

static char *get_opt_str(struct buf_reader *r)
{
    return buf_get_u8(r) ? statecodec_req_str(r) : NULL;
}

void *propagation_state_new(const char *key)
{
    if (has_suffix(key, PG_INBOX_SUFFIX)) {
        struct pg_inbox *in = xcalloc(1, sizeof(*in));
        in->obj_kind = PG_OBJ_INBOX;
        return in;
    }
    struct pg_entity *e = xcalloc(1, sizeof(*e));
    e->obj_kind = PG_OBJ_ENTITY;
    return e;
}

static void news_clear(struct pg_news *n)
{
    free(n->event_id);
    free(n->change);
    memset(n, 0, sizeof(*n));
}

void propagation_state_free(void *st)
{
    if (!st)
        return;
    if (obj_kind(st) == PG_OBJ_INBOX) {
        struct pg_inbox *in = st;
        for (size_t i = 0; i < in->n; i++) {
            free(in->v[i].entity_id);
            free(in->v[i].signal);
            free(in->v[i].event_id);
            free(in->v[i].relation);
        }
        free(in->v);
        repmarks_free(&in->marks);
        free(in);
        return;
    }
    struct pg_entity *e = st;
    for (size_t i = 0; i < e->n_links; i++) {
        free(e->links[i].customer_id);
        free(e->links[i].relation);
    }
    free(e->links);
    news_clear(&e->last);
    repmarks_free(&e->marks);
    free(e);
}

void propagation_state_encode(const void *st, struct buf *out)
{
    buf_put_u8(out, PG_STATE_VERSION);
    buf_put_u8(out, (uint8_t)obj_kind(st));
    if (obj_kind(st) == PG_OBJ_INBOX) {
        const struct pg_inbox *in = st;
        buf_put_varint(out, in->n);
        for (size_t i = 0; i < in->n; i++) {
            const struct pg_delivered *d = &in->v[i];
            buf_put_str(out, d->entity_id);
            buf_put_str(out, d->signal);
            buf_put_str(out, d->event_id);
            buf_put_str(out, d->relation);
            buf_put_i64(out, d->time);
            buf_put_double(out, d->magnitude);
        }
        buf_put_varint(out, in->total);
        repmarks_encode(&in->marks, out);
        return;
    }
    const struct pg_entity *e = st;
    buf_put_varint(out, (uint32_t)e->entity_type);
    buf_put_varint(out, e->n_links);
    for (size_t i = 0; i < e->n_links; i++) {
        buf_put_str(out, e->links[i].customer_id);
        buf_put_str(out, e->links[i].relation);
        buf_put_i64(out, e->links[i].linked_at);
    }
    buf_put_varint(out, e->events);
    buf_put_varint(out, e->delivered);
    buf_put_varint(out, e->capped);
    buf_put_varint(out, e->links_refused);
    put_opt_str(out, e->last.event_id);
    if (e->last.event_id) {
        buf_put_str(out, e->last.change);
        buf_put_u8(out, e->last.has_magnitude);
        buf_put_double(out, e->last.magnitude);
        buf_put_i64(out, e->last.time);
    }
    repmarks_encode(&e->marks, out);
}

static int decode_inbox(struct buf_reader *r, struct pg_inbox *in)
{
    size_t n = statecodec_count(r, PG_MAX_ITEMS);
    in->v = xcalloc(n, sizeof(*in->v));
    for (in->n = 0; in->n < n && !r->err; in->n++) {
        struct pg_delivered *d = &in->v[in->n];
        d->entity_id = statecodec_req_str(r);
        d->signal = statecodec_req_str(r);
        d->event_id = statecodec_req_str(r);
        d->relation = statecodec_req_str(r);
        d->time = buf_get_i64(r);
        d->magnitude = buf_get_double(r);
    }
    in->total = buf_get_varint(r);
    repmarks_decode(&in->marks, r);
    return r->err ? -1 : 0;
}

static int decode_entity(struct buf_reader *r, struct pg_entity *e)
{
    uint32_t t = statecodec_u32(r);
    e->entity_type = (int)t;
    size_t n = statecodec_count(r, PG_MAX_ITEMS);
    e->links = xcalloc(n, sizeof(*e->links));
    for (e->n_links = 0; e->n_links < n && !r->err; e->n_links++) {
        struct pg_link *l = &e->links[e->n_links];
        l->customer_id = statecodec_req_str(r);
        l->relation = statecodec_req_str(r);
        l->linked_at = buf_get_i64(r);
    }
    e->events = buf_get_varint(r);
    e->delivered = buf_get_varint(r);
    e->capped = buf_get_varint(r);
    e->links_refused = buf_get_varint(r);
    e->last.event_id = get_opt_str(r);
    if (e->last.event_id) {
        e->last.change = statecodec_req_str(r);
        e->last.has_magnitude = buf_get_u8(r) != 0;
        e->last.magnitude = buf_get_double(r);
        e->last.time = buf_get_i64(r);
    }
    repmarks_decode(&e->marks, r);
    return r->err || t > ENTITY_TENDER ? -1 : 0;
}

int propagation_state_decode(const char *key, const uint8_t *data, size_t len,
                             void **st)
{
    struct buf_reader r;
    void *o = propagation_state_new(key);
    buf_reader_init(&r, data, len);
    int rc = -1;
    if (buf_get_u8(&r) != PG_STATE_VERSION ||
        buf_get_u8(&r) != (uint8_t)obj_kind(o))
        goto out;
    rc = obj_kind(o) == PG_OBJ_INBOX ? decode_inbox(&r, o)
                                      : decode_entity(&r, o);
    if (rc == 0 && r.p != r.end)
        rc = -1;
out:
    if (rc != 0) {
        propagation_state_free(o);
        return -1;
    }
    *st = o;
    return 0;
}

static void json_marks(const struct repmarks *m, struct jw *w)
{
    jw_arr_begin(w, "marks");
    for (size_t i = 0; i < m->n; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "topic", m->v[i].topic);
        jw_int(w, "partition", m->v[i].partition);
        jw_int(w, "offset", m->v[i].offset);
        jw_int(w, "seq", m->v[i].seq);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

void propagation_state_to_json(const void *st, struct jw *w)
{
    jw_obj_begin(w, NULL);
    if (obj_kind(st) == PG_OBJ_INBOX) {
        const struct pg_inbox *in = st;
        jw_str(w, "kind", "inbox");
        jw_int(w, "propagated_total", (int64_t)in->total);
        jw_arr_begin(w, "propagated");
        for (size_t i = 0; i < in->n; i++) {
            const struct pg_delivered *d = &in->v[i];
            jw_obj_begin(w, NULL);
            jw_str(w, "signal", d->signal);
            jw_str(w, "from_entity", d->entity_id);
            jw_str(w, "relation", d->relation);
            jw_str(w, "event_id", d->event_id);
            jw_int(w, "time", d->time);
            jw_double(w, "magnitude", d->magnitude);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        json_marks(&in->marks, w);
        jw_obj_end(w);
        return;
    }
    const struct pg_entity *e = st;
    jw_str(w, "kind", "entity");
    jw_str(w, "entity_type", entity_type_name((enum entity_type)e->entity_type));
    jw_int(w, "linked_customers", (int64_t)e->n_links);
    jw_int(w, "events", (int64_t)e->events);
    jw_int(w, "delivered", (int64_t)e->delivered);
    jw_int(w, "fanout_capped", (int64_t)e->capped);
    jw_int(w, "links_refused", (int64_t)e->links_refused);
    if (e->last.event_id) {
        jw_obj_begin(w, "last_news");
        jw_str(w, "event_id", e->last.event_id);
        jw_str(w, "change", e->last.change);
        jw_int(w, "time", e->last.time);
        jw_obj_end(w);
    } else {
        jw_null(w, "last_news");
    }
    jw_arr_begin(w, "links");
    for (size_t i = 0; i < e->n_links; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "customer_id", e->links[i].customer_id);
        jw_str(w, "relation", e->links[i].relation);
        jw_int(w, "linked_at", e->links[i].linked_at);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    json_marks(&e->marks, w);
    jw_obj_end(w);
}
