/*
 * action_units_state.c - the processor's state objects, a customer
 * ("<customer>") and an opportunity ("<customer>/opp/<id>"): creating,
 * freeing, encoding (AU_FORMAT_VERSION, reading back AU_FORMAT_MIN on),
 * decoding and printing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_units.h"


void *au_xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return p;
}

/* Grows *v (n elements of `size`) by one zeroed element; returns it. */
void *au_push(void *vp, size_t *n, size_t size)
{
    void **v = vp;
    void *nv = realloc(*v, (*n + 1) * size);
    if (!nv) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    *v = nv;
    void *e = (char *)nv + *n * size;
    memset(e, 0, size);
    (*n)++;
    return e;
}

/* Removes element i of v (n elements of `size`), keeping the order. */
void au_remove(void *v, size_t *n, size_t size, size_t i)
{
    char *b = v;
    memmove(b + i * size, b + (i + 1) * size, (*n - i - 1) * size);
    (*n)--;
}

void au_strvec_free(struct au_strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

bool au_strvec_has(const struct au_strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}

void au_strvec_add(struct au_strvec *sv, const char *s)
{
    char **slot = au_push(&sv->v, &sv->n, sizeof(*sv->v));
    *slot = statecodec_strdup(s);
}

void au_strvec_add_unique(struct au_strvec *sv, const char *s)
{
    if (!au_strvec_has(sv, s))
        au_strvec_add(sv, s);
}

void au_doc_free(struct au_doc *d)
{
    free(d->document_id);
    free(d->author_role);
    free(d->industry);
    au_strvec_free(&d->scenarios);
    au_strvec_free(&d->kw_units);
}

static void au_docs_free(struct au_doc *docs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        au_doc_free(&docs[i]);
    free(docs);
}

void au_status_free(struct au_stage_status *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(st[i].name);
        for (size_t j = 0; j < st[i].n_units; j++)
            free(st[i].units[j].name);
        free(st[i].units);
    }
    free(st);
}

static void au_customer_free(struct au_customer *c)
{
    for (size_t i = 0; i < c->n_comp; i++) {
        free(c->comp[i].id);
        free(c->comp[i].name);
    }
    free(c->comp);
    au_docs_free(c->docs, c->n_docs);
    for (size_t i = 0; i < c->n_opps; i++)
        free(c->opps[i].id);
    free(c->opps);
    free(c->industry);
    free(c);
}

static void au_opp_free(struct au_opp *o)
{
    free(o->id);
    free(o->industry);
    free(o->rep_id);
    free(o->stage);
    au_docs_free(o->docs, o->n_docs);
    au_strvec_free(&o->alerted);
    for (size_t i = 0; i < o->n_claims; i++) {
        free(o->claims[i].event_id);
        free(o->claims[i].from);
        free(o->claims[i].to);
        au_strvec_free(&o->claims[i].stages);
        free(o->claims[i].alert_id);
        free(o->claims[i].first);
        free(o->claims[i].topic);
    }
    free(o->claims);
    free(o->status_industry);
    au_status_free(o->status, o->n_status);
    free(o->last_event_id);
    free(o->last_topic);
    free(o);
}

void action_units_state_free(void *st)
{
    if (!st)
        return;
    if (*(uint8_t *)st == AU_OBJ_OPP)
        au_opp_free(st);
    else if (*(uint8_t *)st == AU_OBJ_WATERMARK)
        free(st);
    else
        au_customer_free(st);
}

bool au_key_is_opp(const char *key)
{
    return key && strstr(key, AU_OPP_INFIX) != NULL;
}

bool au_key_is_wm(const char *key)
{
    return key && strncmp(key, AU_WM_PREFIX, strlen(AU_WM_PREFIX)) == 0;
}

/* The object type a key holds. */
static uint8_t au_type_of_key(const char *key)
{
    return au_key_is_wm(key)    ? AU_OBJ_WATERMARK
           : au_key_is_opp(key) ? AU_OBJ_OPP
                                : AU_OBJ_CUSTOMER;
}

void *action_units_state_new(const char *key)
{
    if (au_key_is_wm(key)) {
        struct au_wm *w = au_xalloc(sizeof(*w));
        w->type = AU_OBJ_WATERMARK;
        w->partition = (int32_t)strtol(key + strlen(AU_WM_PREFIX), NULL, 10);
        w->stream_time = INT64_MIN;
        return w;
    }
    if (au_key_is_opp(key)) {
        struct au_opp *o = au_xalloc(sizeof(*o));
        o->type = AU_OBJ_OPP;
        o->id = statecodec_strdup(strstr(key, AU_OPP_INFIX) + strlen(AU_OPP_INFIX));
        return o;
    }
    struct au_customer *c = au_xalloc(sizeof(*c));
    c->type = AU_OBJ_CUSTOMER;
    return c;
}

/* ---- encoding: version byte, type byte, then the fields in order ---- */

static void au_enc_strvec(struct buf *b, const struct au_strvec *sv)
{
    buf_put_varint(b, sv->n);
    for (size_t i = 0; i < sv->n; i++)
        buf_put_str(b, sv->v[i]);
}

static void au_enc_docs(struct buf *b, const struct au_doc *d, size_t n)
{
    buf_put_varint(b, n);
    for (size_t i = 0; i < n; i++) {
        buf_put_str(b, d[i].document_id);
        buf_put_str(b, d[i].author_role);
        buf_put_str(b, d[i].industry);
        buf_put_i64(b, d[i].event_time);
        buf_put_u8(b, d[i].doc_type);
        buf_put_u8(b, d[i].lang);
        buf_put_i64(b, d[i].uncovered);
        au_enc_strvec(b, &d[i].scenarios);
        au_enc_strvec(b, &d[i].kw_units);
    }
}

void action_units_state_encode(const void *st, struct buf *b)
{
    buf_put_u8(b, AU_FORMAT_VERSION);
    if (*(const uint8_t *)st == AU_OBJ_WATERMARK) {
        const struct au_wm *w = st;
        buf_put_u8(b, AU_OBJ_WATERMARK);
        buf_put_i64(b, w->partition);
        buf_put_i64(b, w->stream_time);
        return;
    }
    if (*(const uint8_t *)st == AU_OBJ_OPP) {
        const struct au_opp *o = st;
        buf_put_u8(b, AU_OBJ_OPP);
        buf_put_str(b, o->id);
        buf_put_str(b, o->industry);
        buf_put_str(b, o->rep_id);
        buf_put_str(b, o->stage);
        buf_put_i64(b, o->stage_entered_at);
        buf_put_u8(b, o->lang);
        au_enc_docs(b, o->docs, o->n_docs);
        au_enc_strvec(b, &o->alerted);
        buf_put_varint(b, o->n_claims);
        for (size_t i = 0; i < o->n_claims; i++) {
            buf_put_str(b, o->claims[i].event_id);
            buf_put_str(b, o->claims[i].from);
            buf_put_str(b, o->claims[i].to);
            buf_put_i64(b, o->claims[i].at);
            au_enc_strvec(b, &o->claims[i].stages);
        }
        buf_put_str(b, o->status_industry);
        buf_put_varint(b, o->n_status);
        for (size_t i = 0; i < o->n_status; i++) {
            buf_put_str(b, o->status[i].name);
            buf_put_u8(b, o->status[i].supported);
            buf_put_varint(b, o->status[i].n_units);
            for (size_t j = 0; j < o->status[i].n_units; j++) {
                buf_put_str(b, o->status[i].units[j].name);
                buf_put_i64(b, o->status[i].units[j].have);
                buf_put_i64(b, o->status[i].units[j].need);
            }
        }
        /* format 2 */
        buf_put_str(b, o->last_event_id);
        buf_put_str(b, o->last_topic);
        buf_put_i64(b, o->last_partition);
        buf_put_i64(b, o->last_offset);
        /* format 3: what became of each claim */
        for (size_t i = 0; i < o->n_claims; i++) {
            const struct au_claim *cl = &o->claims[i];
            buf_put_u8(b, cl->state);
            buf_put_str(b, cl->alert_id);
            buf_put_str(b, cl->first);
            buf_put_str(b, cl->topic);
            buf_put_i64(b, cl->partition);
            buf_put_i64(b, cl->offset);
        }
        return;
    }
    const struct au_customer *c = st;
    buf_put_u8(b, AU_OBJ_CUSTOMER);
    buf_put_str(b, c->industry);
    buf_put_u8(b, c->lang);
    buf_put_varint(b, c->n_comp);
    for (size_t i = 0; i < c->n_comp; i++) {
        buf_put_str(b, c->comp[i].id);
        buf_put_str(b, c->comp[i].name);
        buf_put_i64(b, c->comp[i].linked_at);
    }
    au_enc_docs(b, c->docs, c->n_docs);
    buf_put_varint(b, c->n_opps);
    for (size_t i = 0; i < c->n_opps; i++) {
        buf_put_str(b, c->opps[i].id);
        buf_put_i64(b, c->opps[i].last_seen);
        buf_put_i64(b, c->opps[i].watch_since);
    }
    for (size_t i = 0; i < c->n_opps; i++) /* format 3 */
        buf_put_i64(b, c->opps[i].claim_due);
}

/* See processor_ops.state_prefetch: depth 0 the strings and arrays the
 * object points to, depth 1 the strings of its documents and references
 * (each a separate, cold allocation when the sealer gets to it). */
void action_units_state_prefetch(const void *st, int depth)
{
    if (*(const uint8_t *)st == AU_OBJ_WATERMARK)
        return; /* points to nothing */
    if (*(const uint8_t *)st == AU_OBJ_OPP) {
        const struct au_opp *o = st;
        if (depth == 0) {
            const void *first[] = {o->id, o->industry, o->rep_id, o->stage,
                                   o->docs, o->claims, o->status,
                                   o->last_event_id, o->last_topic};
            for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
                __builtin_prefetch(first[i]);
            return;
        }
        for (size_t i = 0; i < o->n_docs && i < 8; i++)
            __builtin_prefetch(o->docs[i].document_id);
        for (size_t i = 0; i < o->n_status && i < 8; i++)
            __builtin_prefetch(o->status[i].name);
        return;
    }
    const struct au_customer *c = st;
    if (depth == 0) {
        __builtin_prefetch(c->industry);
        __builtin_prefetch(c->comp);
        __builtin_prefetch(c->docs);
        __builtin_prefetch(c->opps);
        return;
    }
    for (size_t i = 0; i < c->n_docs && i < 8; i++)
        __builtin_prefetch(c->docs[i].document_id);
    for (size_t i = 0; i < c->n_opps && i < 8; i++)
        __builtin_prefetch(c->opps[i].id);
}

static void au_dec_strvec(struct buf_reader *r, struct au_strvec *sv)
{
    size_t n = statecodec_count(r, AU_HARD_CAP);
    for (size_t i = 0; i < n && !r->err; i++) {
        char *s = statecodec_req_str(r);
        if (!s)
            break;
        char **slot = au_push(&sv->v, &sv->n, sizeof(*sv->v));
        *slot = s;
    }
}

static void au_dec_docs(struct buf_reader *r, struct au_doc **docs, size_t *nd)
{
    size_t n = statecodec_count(r, AU_HARD_CAP);
    for (size_t i = 0; i < n && !r->err; i++) {
        struct au_doc *d = au_push(docs, nd, sizeof(**docs));
        d->document_id = statecodec_req_str(r);
        d->author_role = buf_get_str(r);
        d->industry = buf_get_str(r);
        d->event_time = buf_get_i64(r);
        d->doc_type = buf_get_u8(r);
        d->lang = buf_get_u8(r);
        d->uncovered = buf_get_i64(r);
        au_dec_strvec(r, &d->scenarios);
        au_dec_strvec(r, &d->kw_units);
        if (d->doc_type > AU_DOC_ANY || d->lang > AU_LANG_EN)
            r->err = true;
    }
}

int action_units_state_decode(const char *key, const uint8_t *data, size_t len,
                              void **out)
{
    struct buf_reader r;
    void *st = NULL;
    *out = NULL;
    buf_reader_init(&r, data, len);
    uint8_t version = buf_get_u8(&r);
    uint8_t type = buf_get_u8(&r);
    if (r.err || version < AU_FORMAT_MIN || version > AU_FORMAT_VERSION ||
        type != au_type_of_key(key))
        return -1;
    if (type == AU_OBJ_WATERMARK) {
        struct au_wm *w = au_xalloc(sizeof(*w));
        st = w;
        w->type = AU_OBJ_WATERMARK;
        int64_t part = buf_get_i64(&r);
        w->stream_time = buf_get_i64(&r);
        if (part < 0 || part > INT32_MAX)
            r.err = true;
        w->partition = (int32_t)part;
    } else if (type == AU_OBJ_OPP) {
        struct au_opp *o = au_xalloc(sizeof(*o));
        st = o;
        o->type = AU_OBJ_OPP;
        o->id = statecodec_req_str(&r);
        o->industry = buf_get_str(&r);
        o->rep_id = buf_get_str(&r);
        o->stage = buf_get_str(&r);
        o->stage_entered_at = buf_get_i64(&r);
        o->lang = buf_get_u8(&r);
        au_dec_docs(&r, &o->docs, &o->n_docs);
        au_dec_strvec(&r, &o->alerted);
        size_t nc = statecodec_count(&r, AU_HARD_CAP);
        for (size_t i = 0; i < nc && !r.err; i++) {
            struct au_claim *cl = au_push(&o->claims, &o->n_claims,
                                          sizeof(*o->claims));
            cl->event_id = buf_get_str(&r);
            cl->from = buf_get_str(&r);
            cl->to = statecodec_req_str(&r);
            cl->at = buf_get_i64(&r);
            au_dec_strvec(&r, &cl->stages);
        }
        o->status_industry = buf_get_str(&r);
        size_t ns = statecodec_count(&r, AU_HARD_CAP);
        for (size_t i = 0; i < ns && !r.err; i++) {
            struct au_stage_status *s = au_push(&o->status, &o->n_status,
                                                sizeof(*o->status));
            s->name = statecodec_req_str(&r);
            s->supported = buf_get_u8(&r) != 0;
            size_t nu = statecodec_count(&r, AU_HARD_CAP);
            for (size_t j = 0; j < nu && !r.err; j++) {
                struct au_unit_status *u = au_push(&s->units, &s->n_units,
                                                   sizeof(*s->units));
                u->name = statecodec_req_str(&r);
                u->have = buf_get_i64(&r);
                u->need = buf_get_i64(&r);
            }
        }
        if (version >= 2) {
            o->last_event_id = buf_get_str(&r);
            o->last_topic = buf_get_str(&r);
            int64_t part = buf_get_i64(&r);
            o->last_offset = buf_get_i64(&r);
            /* both or neither; a partition is an int32 */
            if (!o->last_event_id != !o->last_topic || part < INT32_MIN ||
                part > INT32_MAX)
                r.err = true;
            o->last_partition = (int32_t)part;
        }
        for (size_t i = 0; version >= 3 && i < o->n_claims && !r.err; i++) {
            struct au_claim *cl = &o->claims[i];
            cl->state = buf_get_u8(&r);
            cl->alert_id = buf_get_str(&r);
            cl->first = buf_get_str(&r);
            cl->topic = buf_get_str(&r);
            int64_t part = buf_get_i64(&r);
            cl->offset = buf_get_i64(&r);
            if (cl->state > AU_CLAIM_RESOLVED || part < INT32_MIN ||
                part > INT32_MAX)
                r.err = true;
            cl->partition = (int32_t)part;
        }
        if (o->lang > AU_LANG_EN)
            r.err = true;
    } else {
        struct au_customer *c = au_xalloc(sizeof(*c));
        st = c;
        c->type = AU_OBJ_CUSTOMER;
        c->industry = buf_get_str(&r);
        c->lang = buf_get_u8(&r);
        size_t nc = statecodec_count(&r, AU_HARD_CAP);
        for (size_t i = 0; i < nc && !r.err; i++) {
            struct au_competitor *k = au_push(&c->comp, &c->n_comp,
                                              sizeof(*c->comp));
            k->id = statecodec_req_str(&r);
            k->name = buf_get_str(&r);
            k->linked_at = buf_get_i64(&r);
        }
        au_dec_docs(&r, &c->docs, &c->n_docs);
        size_t no = statecodec_count(&r, AU_HARD_CAP);
        for (size_t i = 0; i < no && !r.err; i++) {
            struct au_opp_ref *o = au_push(&c->opps, &c->n_opps,
                                           sizeof(*c->opps));
            o->id = statecodec_req_str(&r);
            o->last_seen = buf_get_i64(&r);
            o->watch_since = buf_get_i64(&r);
            o->claim_due = -1;
        }
        for (size_t i = 0; version >= 3 && i < c->n_opps && !r.err; i++)
            c->opps[i].claim_due = buf_get_i64(&r);
        if (c->lang > AU_LANG_EN)
            r.err = true;
    }
    if (r.err || r.p != r.end) {
        action_units_state_free(st);
        return -1;
    }
    *out = st;
    return 0;
}

static const char *au_lang_name(uint8_t lang)
{
    return lang == AU_LANG_ZH ? "zh" : lang == AU_LANG_EN ? "en" : NULL;
}

static void au_json_docs(struct jw *w, const char *key, const struct au_doc *d,
                         size_t n)
{
    jw_arr_begin(w, key);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "document_id", d[i].document_id);
        jw_str(w, "doc_type", d[i].doc_type == AU_DOC_ANY
                                  ? "ANY"
                                  : doc_type_name(d[i].doc_type));
        jw_str(w, "author_role", d[i].author_role);
        jw_str(w, "industry", d[i].industry);
        jw_int(w, "event_time", d[i].event_time);
        jw_str(w, "language", au_lang_name(d[i].lang));
        jw_arr_begin(w, "scenarios");
        for (size_t j = 0; j < d[i].scenarios.n; j++)
            jw_str(w, NULL, d[i].scenarios.v[j]);
        jw_arr_end(w);
        jw_int(w, "scenario_count", (int64_t)d[i].scenarios.n);
        jw_int(w, "uncovered_scenarios", d[i].uncovered);
        jw_arr_begin(w, "keyword_units");
        for (size_t j = 0; j < d[i].kw_units.n; j++)
            jw_str(w, NULL, d[i].kw_units.v[j]);
        jw_arr_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

void action_units_state_to_json(const void *st, struct jw *w)
{
    jw_obj_begin(w, NULL);
    if (*(const uint8_t *)st == AU_OBJ_WATERMARK) {
        const struct au_wm *m = st;
        jw_str(w, "type", "stream_time");
        jw_int(w, "partition", m->partition);
        if (m->stream_time == INT64_MIN)
            jw_null(w, "stream_time");
        else
            jw_int(w, "stream_time", m->stream_time);
        jw_obj_end(w);
        return;
    }
    if (*(const uint8_t *)st == AU_OBJ_OPP) {
        const struct au_opp *o = st;
        jw_str(w, "type", "opportunity");
        jw_str(w, "opportunity_id", o->id);
        jw_str(w, "industry", o->industry);
        jw_str(w, "rep_id", o->rep_id);
        jw_str(w, "stage", o->stage);
        if (o->stage)
            jw_int(w, "stage_entered_at", o->stage_entered_at);
        else
            jw_null(w, "stage_entered_at");
        jw_str(w, "language", au_lang_name(o->lang));
        jw_str(w, "status_industry", o->status_industry);
        jw_arr_begin(w, "stages");
        for (size_t i = 0; i < o->n_status; i++) {
            const struct au_stage_status *s = &o->status[i];
            jw_obj_begin(w, NULL);
            jw_str(w, "stage", s->name);
            jw_str(w, "status", s->supported ? "supported" : "missing");
            jw_bool(w, "current", o->stage && strcmp(o->stage, s->name) == 0);
            jw_arr_begin(w, "units");
            for (size_t j = 0; j < s->n_units; j++) {
                jw_obj_begin(w, NULL);
                jw_str(w, "unit", s->units[j].name);
                jw_int(w, "have", s->units[j].have);
                jw_int(w, "need", s->units[j].need);
                jw_bool(w, "done", s->units[j].have >= s->units[j].need);
                jw_obj_end(w);
            }
            jw_arr_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        au_json_docs(w, "documents", o->docs, o->n_docs);
        jw_arr_begin(w, "unsupported_claims");
        for (size_t i = 0; i < o->n_claims; i++) {
            const struct au_claim *cl = &o->claims[i];
            jw_obj_begin(w, NULL);
            jw_str(w, "event_id", cl->event_id);
            jw_str(w, "from", cl->from);
            jw_str(w, "to", cl->to);
            jw_int(w, "at", cl->at);
            jw_str(w, "state", cl->state == AU_CLAIM_PENDING ? "pending"
                               : cl->state == AU_CLAIM_RESOLVED ? "resolved"
                                                                : "alerted");
            if (cl->alert_id)
                jw_str(w, "alert_id", cl->alert_id);
            jw_arr_begin(w, "stages");
            for (size_t j = 0; j < cl->stages.n; j++) {
                bool now = false;
                for (size_t k = 0; k < o->n_status; k++)
                    if (strcmp(o->status[k].name, cl->stages.v[j]) == 0)
                        now = o->status[k].supported;
                jw_obj_begin(w, NULL);
                jw_str(w, "stage", cl->stages.v[j]);
                jw_bool(w, "supported_now", now);
                jw_obj_end(w);
            }
            jw_arr_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_arr_begin(w, "incomplete_alerted");
        for (size_t i = 0; i < o->alerted.n; i++)
            jw_str(w, NULL, o->alerted.v[i]);
        jw_arr_end(w);
        if (o->last_event_id) {
            jw_obj_begin(w, "last_event");
            jw_str(w, "event_id", o->last_event_id);
            jw_str(w, "topic", o->last_topic);
            jw_int(w, "partition", o->last_partition);
            jw_int(w, "offset", o->last_offset);
            jw_obj_end(w);
        } else {
            jw_null(w, "last_event");
        }
        jw_obj_end(w);
        return;
    }
    const struct au_customer *c = st;
    jw_str(w, "type", "customer");
    jw_str(w, "industry", c->industry);
    jw_str(w, "language", au_lang_name(c->lang));
    jw_arr_begin(w, "competitors");
    for (size_t i = 0; i < c->n_comp; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "entity_id", c->comp[i].id);
        jw_str(w, "entity_name", c->comp[i].name);
        jw_int(w, "linked_at", c->comp[i].linked_at);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    au_json_docs(w, "customer_documents", c->docs, c->n_docs);
    jw_arr_begin(w, "opportunities");
    for (size_t i = 0; i < c->n_opps; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "opportunity_id", c->opps[i].id);
        jw_int(w, "last_seen", c->opps[i].last_seen);
        if (c->opps[i].watch_since >= 0)
            jw_int(w, "incomplete_since", c->opps[i].watch_since);
        if (c->opps[i].claim_due >= 0)
            jw_int(w, "claim_due", c->opps[i].claim_due);
        else
            jw_null(w, "incomplete_since");
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}
