/*
 * orchestration_state.c - a customer's work items ("<customer_id>"):
 * creating, freeing, encoding, decoding and printing.
 */
#include <stdlib.h>
#include <string.h>

#include "orchestration.h"

#define OR_STATE_VERSION 1
#define OR_STATE_MAX_ITEMS 4096 /* the bound of max_items */

void *orchestration_state_new(const char *key)
{
    (void)key;
    struct or_customer *c = calloc(1, sizeof(*c));
    if (!c)
        abort(); /* as buf.c: nothing useful to do without memory */
    return c;
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
    struct or_customer *c = st;
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        orchestration_item_clear(&c->v[i]);
    free(c->v);
    free(c);
}

void orchestration_state_encode(const void *st, struct buf *out)
{
    const struct or_customer *c = st;
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
    struct or_customer *c = orchestration_state_new(key);
    if (buf_get_u8(&r) != OR_STATE_VERSION)
        r.err = true;
    size_t n = r.err ? 0 : statecodec_count(&r, OR_STATE_MAX_ITEMS);
    c->v = n ? calloc(n, sizeof(*c->v)) : NULL;
    if (n && !c->v)
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
        orchestration_state_free(c);
        return -1;
    }
    *st = c;
    return 0;
}

void orchestration_state_to_json(const void *st, struct jw *w)
{
    const struct or_customer *c = st;
    jw_obj_begin(w, NULL);
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
