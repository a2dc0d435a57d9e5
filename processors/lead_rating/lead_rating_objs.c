/*
 * lead_rating_objs.c - a customer's ext object ("<customer>/ext"), the
 * lead_rating state beside the graph: ERP order rates per part category
 * (lead_rating_erp.c) and the marks of the propagated signals applied
 * (lead_rating_entity.c). Creating, freeing, encoding, decoding, printing.
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
