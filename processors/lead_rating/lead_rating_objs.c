/*
 * lead_rating_objs.c - the lead_rating state beside a customer's graph:
 * the ext object ("<customer>/ext": ERP order rates per part category,
 * lead_rating_erp.c, and the marks of the propagated signals applied,
 * lead_rating_entity.c) and the svc object ("<customer>/svc": the
 * service-ticket template, lead_rating_service.c). Creating, freeing,
 * encoding, decoding, printing.
 */
#include <stdlib.h>
#include <string.h>

#include "lead_rating.h"

#define LR_OBJS_VERSION 1
#define LR_MAX_ITEMS 1000000 /* sanity bound of a decoded count */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort(); /* as buf.c: nothing useful to do without memory */
    return p;
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

/* An optional string: a presence byte, then the string. */
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

/* ---- a customer's ext object ---------------------------------------- */

void *lead_rating_ext_new(void)
{
    struct lr_ext *x = xcalloc(1, sizeof(*x));
    x->obj_kind = LR_OBJ_EXT;
    return x;
}

void lead_rating_ext_free(struct lr_ext *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n_cats; i++) {
        free(x->cats[i].category);
        free(x->cats[i].supplier);
    }
    free(x->cats);
    repmarks_free(&x->marks);
    free(x);
}

void lead_rating_ext_encode(const struct lr_ext *x, struct buf *out)
{
    buf_put_u8(out, LR_OBJS_VERSION);
    buf_put_u8(out, LR_OBJ_EXT);
    buf_put_varint(out, x->n_cats);
    for (size_t i = 0; i < x->n_cats; i++) {
        const struct lr_erp_cat *c = &x->cats[i];
        buf_put_str(out, c->category);
        buf_put_double(out, c->recent);
        buf_put_double(out, c->base);
        buf_put_i64(out, c->ref);
        buf_put_i64(out, c->since);
        buf_put_varint(out, c->orders);
        buf_put_double(out, c->ratio);
        put_opt_str(out, c->supplier);
        buf_put_i64(out, c->supplier_at);
    }
    buf_put_i64(out, x->baseline);
    repmarks_encode(&x->marks, out);
}

int lead_rating_ext_decode(const uint8_t *data, size_t len, struct lr_ext **out)
{
    struct buf_reader r;
    struct lr_ext *x = lead_rating_ext_new();
    buf_reader_init(&r, data, len);
    if (buf_get_u8(&r) != LR_OBJS_VERSION || buf_get_u8(&r) != LR_OBJ_EXT)
        goto bad;
    size_t n = statecodec_count(&r, LR_MAX_ITEMS);
    x->cats = xcalloc(n, sizeof(*x->cats));
    for (x->n_cats = 0; x->n_cats < n && !r.err; x->n_cats++) {
        struct lr_erp_cat *c = &x->cats[x->n_cats];
        c->category = statecodec_req_str(&r);
        c->recent = buf_get_double(&r);
        c->base = buf_get_double(&r);
        c->ref = buf_get_i64(&r);
        c->since = buf_get_i64(&r);
        c->orders = buf_get_varint(&r);
        c->ratio = buf_get_double(&r);
        c->supplier = get_opt_str(&r);
        c->supplier_at = buf_get_i64(&r);
    }
    x->baseline = buf_get_i64(&r);
    repmarks_decode(&x->marks, &r);
    if (r.err || r.p != r.end)
        goto bad;
    *out = x;
    return 0;
bad:
    lead_rating_ext_free(x);
    return -1;
}

void lead_rating_ext_to_json(const struct lr_ext *x, struct jw *w)
{
    jw_obj_begin(w, NULL);
    jw_arr_begin(w, "erp_categories");
    for (size_t i = 0; i < x->n_cats; i++) {
        const struct lr_erp_cat *c = &x->cats[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "category", c->category);
        jw_int(w, "orders", (int64_t)c->orders);
        jw_double(w, "ratio", c->ratio);
        char text[256];
        lead_rating_erp_explain(x, c, text, sizeof(text));
        jw_str(w, "text", text);
        jw_double(w, "recent", c->recent);
        jw_double(w, "baseline", c->base);
        jw_int(w, "ref", c->ref);
        jw_int(w, "since", c->since);
        if (c->supplier)
            jw_str(w, "supplier", c->supplier);
        else
            jw_null(w, "supplier");
        jw_obj_end(w);
    }
    jw_arr_end(w);
    json_marks(&x->marks, w);
    jw_obj_end(w);
}

/* ---- a customer's svc object ---------------------------------------- */

void *lead_rating_svc_new(void)
{
    struct lr_svc *s = xcalloc(1, sizeof(*s));
    s->obj_kind = LR_OBJ_SVC;
    return s;
}

void lead_rating_svc_free(struct lr_svc *s)
{
    if (!s)
        return;
    free(s->rep_id);
    for (size_t i = 0; i < s->n_devices; i++) {
        free(s->devices[i].device);
        free(s->devices[i].line);
    }
    free(s->devices);
    for (size_t i = 0; i < s->n_opps; i++) {
        free(s->opps[i].opportunity);
        free(s->opps[i].line);
    }
    free(s->opps);
    for (size_t i = 0; i < s->n_lines; i++) {
        struct lr_svc_line *l = &s->lines[i];
        for (size_t j = 0; j < l->n_tickets; j++) {
            free(l->tickets[j].kind);
            free(l->tickets[j].device);
        }
        free(l->tickets);
        free(l->line);
        free(l->alert_text);
    }
    free(s->lines);
    free(s);
}

void lead_rating_svc_encode(const struct lr_svc *s, struct buf *out)
{
    buf_put_u8(out, LR_OBJS_VERSION);
    buf_put_u8(out, LR_OBJ_SVC);
    put_opt_str(out, s->rep_id);
    buf_put_i64(out, s->rep_at);
    buf_put_varint(out, s->n_devices);
    for (size_t i = 0; i < s->n_devices; i++) {
        buf_put_str(out, s->devices[i].device);
        buf_put_str(out, s->devices[i].line);
        buf_put_i64(out, s->devices[i].time);
    }
    buf_put_varint(out, s->n_opps);
    for (size_t i = 0; i < s->n_opps; i++) {
        buf_put_str(out, s->opps[i].opportunity);
        buf_put_str(out, s->opps[i].line);
        buf_put_u8(out, s->opps[i].open);
        buf_put_i64(out, s->opps[i].time);
    }
    buf_put_varint(out, s->n_lines);
    for (size_t i = 0; i < s->n_lines; i++) {
        const struct lr_svc_line *l = &s->lines[i];
        buf_put_str(out, l->line);
        buf_put_u8(out, l->by_device);
        buf_put_i64(out, l->last);
        buf_put_u8(out, l->alerted);
        buf_put_i64(out, l->alerted_at);
        put_opt_str(out, l->alert_text);
        buf_put_varint(out, l->n_tickets);
        for (size_t j = 0; j < l->n_tickets; j++) {
            buf_put_i64(out, l->tickets[j].time);
            buf_put_str(out, l->tickets[j].kind);
            buf_put_str(out, l->tickets[j].device);
        }
    }
}

int lead_rating_svc_decode(const uint8_t *data, size_t len, struct lr_svc **out)
{
    struct buf_reader r;
    struct lr_svc *s = lead_rating_svc_new();
    buf_reader_init(&r, data, len);
    if (buf_get_u8(&r) != LR_OBJS_VERSION || buf_get_u8(&r) != LR_OBJ_SVC)
        goto bad;
    s->rep_id = get_opt_str(&r);
    s->rep_at = buf_get_i64(&r);
    size_t n = statecodec_count(&r, LR_MAX_ITEMS);
    s->devices = xcalloc(n, sizeof(*s->devices));
    for (; s->n_devices < n && !r.err; s->n_devices++) {
        struct lr_svc_device *d = &s->devices[s->n_devices];
        d->device = statecodec_req_str(&r);
        d->line = statecodec_req_str(&r);
        d->time = buf_get_i64(&r);
    }
    n = statecodec_count(&r, LR_MAX_ITEMS);
    s->opps = xcalloc(n, sizeof(*s->opps));
    for (; s->n_opps < n && !r.err; s->n_opps++) {
        struct lr_svc_opp *o = &s->opps[s->n_opps];
        o->opportunity = statecodec_req_str(&r);
        o->line = statecodec_req_str(&r);
        o->open = buf_get_u8(&r) != 0;
        o->time = buf_get_i64(&r);
    }
    n = statecodec_count(&r, LR_MAX_ITEMS);
    s->lines = xcalloc(n, sizeof(*s->lines));
    for (; s->n_lines < n && !r.err; s->n_lines++) {
        struct lr_svc_line *l = &s->lines[s->n_lines];
        l->line = statecodec_req_str(&r);
        l->by_device = buf_get_u8(&r) != 0;
        l->last = buf_get_i64(&r);
        l->alerted = buf_get_u8(&r) != 0;
        l->alerted_at = buf_get_i64(&r);
        l->alert_text = get_opt_str(&r);
        size_t nt = statecodec_count(&r, LR_MAX_ITEMS);
        l->tickets = xcalloc(nt, sizeof(*l->tickets));
        for (; l->n_tickets < nt && !r.err; l->n_tickets++) {
            struct lr_svc_ticket *t = &l->tickets[l->n_tickets];
            t->time = buf_get_i64(&r);
            t->kind = statecodec_req_str(&r);
            t->device = statecodec_req_str(&r);
        }
    }
    if (r.err || r.p != r.end)
        goto bad;
    *out = s;
    return 0;
bad:
    lead_rating_svc_free(s);
    return -1;
}

void lead_rating_svc_to_json(const struct lr_svc *s, struct jw *w)
{
    jw_obj_begin(w, NULL);
    jw_obj_begin(w, "service");
    if (s->rep_id)
        jw_str(w, "rep_id", s->rep_id);
    else
        jw_null(w, "rep_id");
    jw_arr_begin(w, "devices");
    for (size_t i = 0; i < s->n_devices; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "device_id", s->devices[i].device);
        jw_str(w, "device_line", s->devices[i].line);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_arr_begin(w, "opportunities");
    for (size_t i = 0; i < s->n_opps; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "opportunity_id", s->opps[i].opportunity);
        jw_str(w, "device_line", s->opps[i].line);
        jw_bool(w, "open", s->opps[i].open);
        jw_int(w, "time", s->opps[i].time);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_arr_begin(w, "lines");
    for (size_t i = 0; i < s->n_lines; i++) {
        const struct lr_svc_line *l = &s->lines[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "line", l->line);
        jw_bool(w, "by_device", l->by_device);
        jw_int(w, "last", l->last);
        if (l->alerted)
            jw_int(w, "alerted_at", l->alerted_at);
        else
            jw_null(w, "alerted_at");
        if (l->alert_text)
            jw_str(w, "text", l->alert_text);
        else
            jw_null(w, "text");
        jw_arr_begin(w, "tickets");
        for (size_t j = 0; j < l->n_tickets; j++) {
            jw_obj_begin(w, NULL);
            jw_int(w, "time", l->tickets[j].time);
            jw_str(w, "kind", l->tickets[j].kind);
            jw_str(w, "device_id", l->tickets[j].device);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
    jw_obj_end(w);
}
