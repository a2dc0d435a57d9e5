/*
 * orchestration_state.c - a customer's work items ("<customer_id>") and a
 * department's response times ("<department>/dept") and a partition's
 * stream time ("~p<partition>..."): creating, freeing, encoding, decoding
 * and printing.
 */
#include <stdlib.h>
#include <string.h>

#include "orchestration.h"

#define OR_STATE_VERSION 1
#define OR_DEPT_VERSION 0x81
#define OR_WM_VERSION 0x82
#define OR_STATE_MAX_ITEMS 4096 /* the bound of max_items */

static bool is_dept_key(const char *key)
{
    size_t n = strlen(key), s = strlen(OR_DEPT_SUFFIX);
    return n >= s && strcmp(key + n - s, OR_DEPT_SUFFIX) == 0;
}

void *orchestration_state_new(const char *key)
{
    struct or_obj *o = calloc(1, sizeof(*o));
    if (!o)
        abort(); /* as buf.c: nothing useful to do without memory */
    o->wm = strncmp(key, OR_WM_PREFIX, strlen(OR_WM_PREFIX)) == 0;
    o->stream_time = INT64_MIN;
    o->dept = !o->wm && is_dept_key(key);
    return o;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

double orchestration_dept_median(const struct or_dept *d)
{
    if (!d->n_recent)
        return -1;
    int64_t v[OR_DEPT_RECENT];
    memcpy(v, d->recent, d->n_recent * sizeof(v[0]));
    qsort(v, d->n_recent, sizeof(v[0]), cmp_i64);
    size_t m = d->n_recent / 2;
    return d->n_recent % 2 ? (double)v[m] : ((double)v[m - 1] + (double)v[m]) / 2;
}

void orchestration_item_clear(struct or_item *it)
{
    char **s[] = {&it->id,          &it->trigger,    &it->req_key,
                  &it->department,  &it->task,       &it->requirement,
                  &it->opportunity_id, &it->meeting_id, &it->document_id,
                  &it->rep_id,      &it->event_id,   &it->topic};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
}

void orchestration_state_free(void *st)
{
    struct or_obj *o = st;
    if (!o)
        return;
    if (o->wm) {
        /* nothing but the object */
    } else if (o->dept) {
        repmarks_free(&o->u.d.marks);
    } else {
        for (size_t i = 0; i < o->u.c.n; i++)
            orchestration_item_clear(&o->u.c.v[i]);
        free(o->u.c.v);
    }
    free(o);
}

static void dept_encode(const struct or_dept *d, struct buf *out)
{
    buf_put_u8(out, OR_DEPT_VERSION);
    buf_put_i64(out, d->done);
    buf_put_i64(out, d->sum_ms);
    buf_put_i64(out, d->last_time);
    /* The ring oldest first, so decoding restarts it at 0. */
    buf_put_varint(out, d->n_recent);
    size_t first = d->n_recent < OR_DEPT_RECENT ? 0 : d->next;
    for (size_t i = 0; i < d->n_recent; i++)
        buf_put_i64(out, d->recent[(first + i) % OR_DEPT_RECENT]);
    repmarks_encode(&d->marks, out);
}

static void dept_decode(struct or_dept *d, struct buf_reader *r)
{
    if (buf_get_u8(r) != OR_DEPT_VERSION) {
        r->err = true;
        return;
    }
    d->done = buf_get_i64(r);
    d->sum_ms = buf_get_i64(r);
    d->last_time = buf_get_i64(r);
    size_t n = statecodec_count(r, OR_DEPT_RECENT);
    for (size_t i = 0; i < n && !r->err; i++)
        d->recent[d->n_recent++] = buf_get_i64(r);
    d->next = d->n_recent % OR_DEPT_RECENT;
    repmarks_decode(&d->marks, r);
}

void orchestration_state_encode(const void *st, struct buf *out)
{
    const struct or_obj *o = st;
    if (o->wm) {
        buf_put_u8(out, OR_WM_VERSION);
        buf_put_i64(out, o->stream_time);
        return;
    }
    if (o->dept) {
        dept_encode(&o->u.d, out);
        return;
    }
    const struct or_customer *c = &o->u.c;
    buf_put_u8(out, OR_STATE_VERSION);
    buf_put_varint(out, c->n);
    for (size_t i = 0; i < c->n; i++) {
        const struct or_item *it = &c->v[i];
        buf_put_str(out, it->id);
        buf_put_str(out, it->trigger);
        buf_put_str(out, it->req_key);
        buf_put_str(out, it->department);
        buf_put_str(out, it->task);
        buf_put_str(out, it->requirement);
        buf_put_str(out, it->opportunity_id);
        buf_put_str(out, it->meeting_id);
        buf_put_str(out, it->document_id);
        buf_put_str(out, it->rep_id);
        buf_put_i64(out, it->created);
        buf_put_i64(out, it->due);
        buf_put_i64(out, it->closed);
        buf_put_u8(out, it->status);
        buf_put_u8(out, it->acked);
        buf_put_str(out, it->event_id);
        buf_put_str(out, it->topic);
        buf_put_i64(out, it->partition);
        buf_put_i64(out, it->offset);
    }
}

int orchestration_state_decode(const char *key, const uint8_t *data,
                               size_t len, void **st)
{
    struct buf_reader r;
    buf_reader_init(&r, data, len);
    struct or_obj *o = orchestration_state_new(key);
    struct or_customer *c = &o->u.c;
    size_t n = 0;
    if (o->wm) {
        if (buf_get_u8(&r) != OR_WM_VERSION)
            r.err = true;
        else
            o->stream_time = buf_get_i64(&r);
    } else if (o->dept)
        dept_decode(&o->u.d, &r);
    else if (buf_get_u8(&r) != OR_STATE_VERSION)
        r.err = true;
    else
        n = statecodec_count(&r, OR_STATE_MAX_ITEMS);
    if (n && !(c->v = calloc(n, sizeof(*c->v)))) /* n is 0 for a dept */
        abort();
    for (size_t i = 0; i < n && !r.err; i++) {
        struct or_item *it = &c->v[c->n++];
        it->id = statecodec_req_str(&r);
        it->trigger = statecodec_req_str(&r);
        it->req_key = statecodec_req_str(&r);
        it->department = statecodec_req_str(&r);
        it->task = statecodec_req_str(&r);
        it->requirement = statecodec_req_str(&r);
        it->opportunity_id = buf_get_str(&r);
        it->meeting_id = buf_get_str(&r);
        it->document_id = buf_get_str(&r);
        it->rep_id = statecodec_req_str(&r);
        it->created = buf_get_i64(&r);
        it->due = buf_get_i64(&r);
        it->closed = buf_get_i64(&r);
        it->status = buf_get_u8(&r);
        it->acked = buf_get_u8(&r) != 0;
        it->event_id = statecodec_req_str(&r);
        it->topic = statecodec_req_str(&r);
        it->partition = (int32_t)buf_get_i64(&r);
        it->offset = buf_get_i64(&r);
        if (it->status > WI_REJECTED)
            r.err = true;
    }
    if (r.err || r.p != r.end) {
        orchestration_state_free(o);
        return -1;
    }
    *st = o;
    return 0;
}

static void dept_to_json(const struct or_dept *d, struct jw *w)
{
    jw_str(w, "type", "department");
    jw_int(w, "done", d->done);
    jw_double(w, "mean_response_hours",
              d->done ? (double)d->sum_ms / (double)d->done / 3600000.0 : 0);
    double med = orchestration_dept_median(d);
    if (med >= 0)
        jw_double(w, "median_response_hours", med / 3600000.0);
    else
        jw_null(w, "median_response_hours");
    jw_int(w, "median_of_last", (int64_t)d->n_recent);
    jw_int(w, "last_done_time", d->last_time);
    jw_int(w, "origins", (int64_t)d->marks.n);
}

void orchestration_state_to_json(const void *st, struct jw *w)
{
    const struct or_obj *o = st;
    jw_obj_begin(w, NULL);
    if (o->wm) {
        jw_str(w, "type", "stream_time");
        jw_int(w, "stream_time", o->stream_time);
        jw_obj_end(w);
        return;
    }
    if (o->dept) {
        dept_to_json(&o->u.d, w);
        jw_obj_end(w);
        return;
    }
    const struct or_customer *c = &o->u.c;
    jw_str(w, "type", "customer");
    jw_arr_begin(w, "work_items");
    for (size_t i = 0; i < c->n; i++) {
        const struct or_item *it = &c->v[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "work_item_id", it->id);
        jw_str(w, "trigger", it->trigger);
        jw_str(w, "department", it->department);
        jw_str(w, "status", work_item_status_name(it->status));
        jw_bool(w, "acknowledged", it->acked);
        jw_str(w, "task", it->task);
        jw_str(w, "requirement", it->requirement);
        jw_str(w, "rep_id", it->rep_id);
        jw_str(w, "opportunity_id", it->opportunity_id);
        jw_int(w, "created_time", it->created);
        jw_int(w, "due_time", it->due);
        if (it->closed >= 0)
            jw_int(w, "closed_time", it->closed);
        else
            jw_null(w, "closed_time");
        jw_str(w, "trigger_event_id", it->event_id);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}
