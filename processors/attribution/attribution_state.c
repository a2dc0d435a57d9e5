/*
 * attribution_state.c - a panel ("<industry>|<metric>/panel": its units'
 * period values, the signals it knows, the periods it has reported) and
 * the hub ("~signals/hub": every signal and every panel to tell):
 * creating, freeing, encoding, decoding and printing; and the signal as it
 * travels through the repartition topic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attribution.h"

/* 2: a panel keeps the largest event time per origin partition after its
 * marks. 1 is still read: its origins' times are unknown (INT64_MIN), so
 * each holds the panel's periods until it sends again or is idle. */
#define AT_STATE_VERSION 2
#define AT_MAX_UNITS 1000000
#define AT_MAX_CELLS 1000
#define AT_MAX_LIST 1024

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort(); /* as buf.c: nothing useful to do without memory */
    return p;
}

static void strs_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void strs_put(char *const *v, size_t n, struct buf *out)
{
    buf_put_varint(out, n);
    for (size_t i = 0; i < n; i++)
        buf_put_str(out, v[i]);
}

static char **strs_get(struct buf_reader *r, size_t *n)
{
    *n = statecodec_count(r, AT_MAX_LIST);
    if (!*n)
        return NULL;
    char **v = xcalloc(*n, sizeof(*v));
    for (size_t i = 0; i < *n; i++)
        v[i] = r->err ? NULL : statecodec_req_str(r);
    return v;
}

void attribution_signal_clear(struct at_signal *s)
{
    free(s->id);
    free(s->title);
    strs_free(s->regions, s->n_regions);
    strs_free(s->industries, s->n_industries);
    memset(s, 0, sizeof(*s));
}

void attribution_signal_put(const struct at_signal *s, struct buf *out)
{
    buf_put_str(out, s->id);
    buf_put_varint(out, (uint32_t)s->kind);
    buf_put_str(out, s->title);
    strs_put(s->regions, s->n_regions, out);
    strs_put(s->industries, s->n_industries, out);
    buf_put_i64(out, s->start_time);
    buf_put_i64(out, s->end_time);
    buf_put_i64(out, s->event_time);
}

int attribution_signal_get(struct at_signal *s, struct buf_reader *r)
{
    memset(s, 0, sizeof(*s));
    s->id = statecodec_req_str(r);
    s->kind = (int)statecodec_u32(r);
    s->title = statecodec_req_str(r);
    s->regions = strs_get(r, &s->n_regions);
    s->industries = strs_get(r, &s->n_industries);
    s->start_time = buf_get_i64(r);
    s->end_time = buf_get_i64(r);
    s->event_time = buf_get_i64(r);
    return r->err ? -1 : 0;
}

static char **strs_dup(char *const *v, size_t n)
{
    if (!n)
        return NULL;
    char **c = xcalloc(n, sizeof(*c));
    for (size_t i = 0; i < n; i++)
        c[i] = statecodec_strdup(v[i]);
    return c;
}

static void signal_copy(struct at_signal *to, const struct at_signal *s)
{
    *to = *s;
    to->id = statecodec_strdup(s->id);
    to->title = statecodec_strdup(s->title);
    to->regions = strs_dup(s->regions, s->n_regions);
    to->industries = strs_dup(s->industries, s->n_industries);
}

int attribution_signal_upsert(struct at_signal **v, size_t *n,
                              const struct at_signal *s)
{
    for (size_t i = 0; i < *n; i++) {
        struct at_signal *o = &(*v)[i];
        if (strcmp(o->id, s->id) != 0)
            continue;
        if (s->event_time <= o->event_time)
            return 0; /* held already, or an older version arriving late */
        attribution_signal_clear(o);
        signal_copy(o, s);
        return 1;
    }
    if (*n >= AT_MAX_SIGNALS)
        return -1;
    struct at_signal *g = realloc(*v, (*n + 1) * sizeof(*g));
    if (!g)
        abort();
    *v = g;
    signal_copy(&g[(*n)++], s);
    return 1;
}

static void signals_free(struct at_signal *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        attribution_signal_clear(&v[i]);
    free(v);
}

static void signals_encode(const struct at_signal *v, size_t n, struct buf *out)
{
    buf_put_varint(out, n);
    for (size_t i = 0; i < n; i++)
        attribution_signal_put(&v[i], out);
}

static struct at_signal *signals_decode(struct buf_reader *r, size_t *n)
{
    size_t want = statecodec_count(r, AT_MAX_SIGNALS);
    struct at_signal *v = want ? xcalloc(want, sizeof(*v)) : NULL;
    *n = 0;
    for (size_t i = 0; i < want && !r->err; i++)
        if (attribution_signal_get(&v[(*n)++], r) != 0)
            break;
    return v;
}

void *attribution_state_new(const char *key)
{
    struct at_obj *o = xcalloc(1, sizeof(*o));
    size_t n = strlen(key), s = strlen(AT_HUB_SUFFIX);
    size_t so = strlen(AT_OPPS_SUFFIX);
    o->type = n >= s && strcmp(key + n - s, AT_HUB_SUFFIX) == 0     ? AT_HUB
              : n >= so && strcmp(key + n - so, AT_OPPS_SUFFIX) == 0 ? AT_OPPS
                                                                   : AT_PANEL;
    if (o->type == AT_PANEL) {
        o->u.panel.watermark = INT64_MIN;
        o->u.panel.closed_through = INT32_MIN;
    }
    return o;
}

static void unit_free(struct at_unit *u)
{
    free(u->id);
    free(u->region);
    free(u->cells);
}

void attribution_state_free(void *st)
{
    struct at_obj *o = st;
    if (!o)
        return;
    if (o->type == AT_PANEL) {
        struct at_panel *p = &o->u.panel;
        free(p->industry);
        free(p->metric);
        for (size_t i = 0; i < p->n_units; i++)
            unit_free(&p->units[i]);
        free(p->units);
        signals_free(p->signals, p->n_signals);
        free(p->closed);
        repmarks_free(&p->marks);
    } else if (o->type == AT_HUB) {
        signals_free(o->u.hub.signals, o->u.hub.n_signals);
        strs_free(o->u.hub.panels, o->u.hub.n_panels);
    } else {
        attribution_opps_clear(&o->u.opps);
    }
    free(o);
}

void attribution_state_encode(const void *st, struct buf *out)
{
    const struct at_obj *o = st;
    buf_put_u8(out, AT_STATE_VERSION);
    buf_put_u8(out, (uint8_t)o->type);
    if (o->type == AT_HUB) {
        signals_encode(o->u.hub.signals, o->u.hub.n_signals, out);
        buf_put_varint(out, o->u.hub.n_panels);
        for (size_t i = 0; i < o->u.hub.n_panels; i++)
            buf_put_str(out, o->u.hub.panels[i]);
        return;
    }
    if (o->type == AT_OPPS) {
        const struct at_opps *op = &o->u.opps;
        buf_put_varint(out, op->n_opps);
        for (size_t i = 0; i < op->n_opps; i++) {
            const struct at_opp *p = &op->opps[i];
            buf_put_str(out, p->id);
            buf_put_str(out, p->rep);
            buf_put_str(out, p->industry);
            buf_put_str(out, p->stage);
            buf_put_i64(out, p->entered);
            buf_put_u8(out, p->open);
        }
        buf_put_varint(out, op->n_spells);
        for (size_t i = 0; i < op->n_spells; i++) {
            buf_put_str(out, op->spells[i].industry);
            buf_put_i64(out, op->spells[i].start);
            buf_put_i64(out, op->spells[i].end);
        }
        return;
    }
    const struct at_panel *p = &o->u.panel;
    buf_put_str(out, p->industry);
    buf_put_str(out, p->metric);
    buf_put_i64(out, p->watermark);
    buf_put_i64(out, p->closed_through);
    buf_put_u8(out, (uint8_t)(p->registered | p->synced << 1));
    buf_put_varint(out, p->n_units);
    for (size_t i = 0; i < p->n_units; i++) {
        const struct at_unit *u = &p->units[i];
        buf_put_str(out, u->id);
        buf_put_str(out, u->region);
        buf_put_varint(out, u->n_cells);
        for (size_t c = 0; c < u->n_cells; c++) {
            buf_put_i64(out, u->cells[c].period);
            buf_put_double(out, u->cells[c].value);
        }
    }
    signals_encode(p->signals, p->n_signals, out);
    buf_put_varint(out, p->n_closed);
    for (size_t i = 0; i < p->n_closed; i++) {
        buf_put_i64(out, p->closed[i].period);
        buf_put_varint(out, (uint32_t)p->closed[i].revision);
    }
    repmarks_encode(&p->marks, out);
    repmarks_encode_times(&p->marks, out);
}

static void panel_decode(struct at_panel *p, struct buf_reader *r,
                         uint8_t version)
{
    p->industry = buf_get_str(r);
    p->metric = statecodec_req_str(r);
    p->watermark = buf_get_i64(r);
    p->closed_through = (int32_t)buf_get_i64(r);
    uint8_t flags = buf_get_u8(r);
    p->registered = flags & 1;
    p->synced = (flags >> 1) & 1;
    size_t n = statecodec_count(r, AT_MAX_UNITS);
    p->units = n ? xcalloc(n, sizeof(*p->units)) : NULL;
    for (size_t i = 0; i < n && !r->err; i++) {
        struct at_unit *u = &p->units[p->n_units++];
        u->id = statecodec_req_str(r);
        u->region = statecodec_req_str(r);
        size_t nc = statecodec_count(r, AT_MAX_CELLS);
        u->cells = nc ? xcalloc(nc, sizeof(*u->cells)) : NULL;
        for (size_t c = 0; c < nc && !r->err; c++) {
            u->cells[u->n_cells].period = (int32_t)buf_get_i64(r);
            u->cells[u->n_cells++].value = buf_get_double(r);
        }
    }
    p->signals = signals_decode(r, &p->n_signals);
    n = statecodec_count(r, AT_MAX_CELLS);
    p->closed = n ? xcalloc(n, sizeof(*p->closed)) : NULL;
    for (size_t i = 0; i < n && !r->err; i++) {
        p->closed[p->n_closed].period = (int32_t)buf_get_i64(r);
        p->closed[p->n_closed++].revision = (int32_t)statecodec_u32(r);
    }
    repmarks_decode(&p->marks, r);
    if (version >= 2)
        repmarks_decode_times(&p->marks, r);
}

static void opps_decode(struct at_opps *op, struct buf_reader *r)
{
    size_t n = statecodec_count(r, AT_MAX_OPPS);
    op->opps = n ? xcalloc(n, sizeof(*op->opps)) : NULL;
    for (size_t i = 0; i < n && !r->err; i++) {
        struct at_opp *p = &op->opps[op->n_opps++];
        p->id = statecodec_req_str(r);
        p->rep = statecodec_req_str(r);
        p->industry = buf_get_str(r);
        p->stage = statecodec_req_str(r);
        p->entered = buf_get_i64(r);
        p->open = buf_get_u8(r) != 0;
    }
    n = statecodec_count(r, AT_MAX_SPELLS);
    op->spells = n ? xcalloc(n, sizeof(*op->spells)) : NULL;
    for (size_t i = 0; i < n && !r->err; i++) {
        struct at_spell *s = &op->spells[op->n_spells++];
        s->industry = buf_get_str(r);
        s->start = buf_get_i64(r);
        s->end = buf_get_i64(r);
    }
}

void attribution_opps_clear(struct at_opps *op)
{
    for (size_t i = 0; i < op->n_opps; i++) {
        free(op->opps[i].id);
        free(op->opps[i].rep);
        free(op->opps[i].industry);
        free(op->opps[i].stage);
    }
    free(op->opps);
    for (size_t i = 0; i < op->n_spells; i++)
        free(op->spells[i].industry);
    free(op->spells);
    memset(op, 0, sizeof(*op));
}

int attribution_state_decode(const char *key, const uint8_t *data, size_t len,
                             void **st)
{
    struct buf_reader r;
    buf_reader_init(&r, data, len);
    struct at_obj *o = attribution_state_new(key);
    uint8_t version = buf_get_u8(&r), type = buf_get_u8(&r);
    if (version < 1 || version > AT_STATE_VERSION || type != (uint8_t)o->type) {
        r.err = true;
    } else if (o->type == AT_HUB) {
        o->u.hub.signals = signals_decode(&r, &o->u.hub.n_signals);
        o->u.hub.panels = strs_get(&r, &o->u.hub.n_panels);
    } else if (o->type == AT_OPPS) {
        opps_decode(&o->u.opps, &r);
    } else {
        panel_decode(&o->u.panel, &r, version);
    }
    if (r.err || r.p != r.end) {
        attribution_state_free(o);
        return -1;
    }
    *st = o;
    return 0;
}

static void signal_json(const struct at_signal *s, struct jw *w)
{
    jw_obj_begin(w, NULL);
    jw_str(w, "signal_id", s->id);
    jw_str(w, "kind", signal_kind_name((enum signal_kind)s->kind));
    jw_str(w, "title", s->title);
    jw_arr_begin(w, "regions");
    for (size_t i = 0; i < s->n_regions; i++)
        jw_str(w, NULL, s->regions[i]);
    jw_arr_end(w);
    jw_arr_begin(w, "industries");
    for (size_t i = 0; i < s->n_industries; i++)
        jw_str(w, NULL, s->industries[i]);
    jw_arr_end(w);
    jw_int(w, "start_time", s->start_time);
    if (s->end_time == INT64_MAX)
        jw_null(w, "end_time");
    else
        jw_int(w, "end_time", s->end_time);
    jw_obj_end(w);
}

void attribution_state_to_json(const void *st, struct jw *w)
{
    const struct at_obj *o = st;
    jw_obj_begin(w, NULL);
    if (o->type == AT_OPPS) {
        const struct at_opps *op = &o->u.opps;
        jw_str(w, "type", "opportunities");
        jw_arr_begin(w, "open");
        for (size_t i = 0; i < op->n_opps; i++) {
            const struct at_opp *p = &op->opps[i];
            if (!p->open)
                continue;
            jw_obj_begin(w, NULL);
            jw_str(w, "opportunity_id", p->id);
            jw_str(w, "rep_id", p->rep);
            jw_str(w, "industry", p->industry);
            jw_str(w, "stage", p->stage);
            jw_int(w, "entered", p->entered);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_int(w, "spells", (int64_t)op->n_spells);
        jw_obj_end(w);
        return;
    }
    if (o->type == AT_HUB) {
        jw_str(w, "type", "signals");
        jw_arr_begin(w, "signals");
        for (size_t i = 0; i < o->u.hub.n_signals; i++)
            signal_json(&o->u.hub.signals[i], w);
        jw_arr_end(w);
        jw_arr_begin(w, "panels");
        for (size_t i = 0; i < o->u.hub.n_panels; i++)
            jw_str(w, NULL, o->u.hub.panels[i]);
        jw_arr_end(w);
        jw_obj_end(w);
        return;
    }
    const struct at_panel *p = &o->u.panel;
    jw_str(w, "type", "panel");
    if (p->industry)
        jw_str(w, "industry", p->industry);
    else
        jw_null(w, "industry");
    jw_str(w, "metric", p->metric ? p->metric : "");
    jw_int(w, "watermark", p->watermark);
    jw_int(w, "closed_through", p->closed_through);
    jw_bool(w, "synced", p->synced);
    jw_arr_begin(w, "units");
    for (size_t i = 0; i < p->n_units; i++) {
        const struct at_unit *u = &p->units[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "unit_id", u->id);
        jw_str(w, "region", u->region);
        jw_obj_begin(w, "periods");
        for (size_t c = 0; c < u->n_cells; c++) {
            char k[16];
            snprintf(k, sizeof(k), "%d", (int)u->cells[c].period);
            jw_double(w, k, u->cells[c].value);
        }
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_arr_begin(w, "signals");
    for (size_t i = 0; i < p->n_signals; i++)
        signal_json(&p->signals[i], w);
    jw_arr_end(w);
    jw_arr_begin(w, "closed");
    for (size_t i = 0; i < p->n_closed; i++) {
        jw_obj_begin(w, NULL);
        jw_int(w, "period", p->closed[i].period);
        jw_int(w, "revision", p->closed[i].revision);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_arr_begin(w, "origins");
    for (size_t i = 0; i < p->marks.n; i++) {
        const struct repmark *k = &p->marks.v[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "topic", k->topic);
        jw_int(w, "partition", k->partition);
        if (k->max_time == INT64_MIN)
            jw_null(w, "max_event_time");
        else
            jw_int(w, "max_event_time", k->max_time);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}
