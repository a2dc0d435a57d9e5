/*
 * coaching_state.c - the coaching processor's state objects, a meeting
 * ("<customer>/m/<meeting>") or a customer's context ("<customer>/ctx"):
 * creating, freeing, encoding (CO_STATE_VERSION), decoding and printing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coaching.h"


/* Room for one more element in arr (n used of *cap), growing by doubling
 * but never beyond max (callers keep n < max); new slots are zeroed. */
void *coaching_room(void *arr, size_t n, size_t *cap, size_t elem, size_t max)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? *cap * 2 : 2;
    if (c > max)
        c = max;
    char *p = realloc(arr, c * elem);
    if (!p)
        abort(); /* as buf.c: nothing useful to do without memory */
    /* Zeroed like the inline arrays were: fields a writer leaves alone
     * (a tombstone's name) must read as NULL. */
    memset(p + *cap * elem, 0, (c - *cap) * elem);
    *cap = c;
    return p;
}

/* A copy cut to `max` bytes on a UTF-8 boundary, "…" marking the cut. */
char *coaching_dup_evidence(const char *s, size_t max)
{
    size_t n = strlen(s ? s : "");
    if (n <= max)
        return statecodec_strdup(s ? s : "");
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    char *d = malloc(max + 4);
    if (!d)
        abort();
    memcpy(d, s, max);
    memcpy(d + max, "\xe2\x80\xa6", 4);
    return d;
}

/* printf into a fresh string, then capped like coaching_dup_evidence(). */
char *coaching_fmt_evidence(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return statecodec_strdup("");
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        abort();
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    char *out = coaching_dup_evidence(tmp, CO_EVIDENCE_MAX);
    free(tmp);
    return out;
}

void coaching_set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = statecodec_strdup(s);
}

static void meeting_free_fields(struct co_meeting *m)
{
    free(m->customer_id);
    free(m->meeting_id);
    free(m->rep_id);
    free(m->last_event_id);
    free(m->last_topic);
    for (size_t i = 0; i < m->n_pend; i++) {
        free(m->pend[i].name);
        free(m->pend[i].evidence);
    }
    for (size_t i = 0; i < m->n_topics; i++) {
        free(m->topics[i].name);
        free(m->topics[i].evidence);
        free(m->topics[i].issue);
    }
    meeting_metrics_clear(&m->mm);
}

void coaching_issue_free(struct co_issue *is)
{
    free(is->link);
    free(is->kind);
    free(is->ref);
    free(is->text);
    memset(is, 0, sizeof(*is));
}

void coaching_named_free(struct co_named *n)
{
    free(n->id);
    free(n->name);
    memset(n, 0, sizeof(*n));
}

static void context_free_fields(struct co_context *c)
{
    for (size_t i = 0; i < c->n_issues; i++)
        coaching_issue_free(&c->issues[i]);
    for (size_t i = 0; i < c->n_comps; i++)
        coaching_named_free(&c->comps[i]);
    for (size_t i = 0; i < c->n_closed; i++)
        coaching_named_free(&c->closed[i]);
    free(c->issues);
    free(c->comps);
    free(c->closed);
}

void coaching_state_free(void *st)
{
    struct co_obj *o = st;
    if (!o)
        return;
    if (o->type == CO_MEETING)
        meeting_free_fields(&o->u.m);
    else
        context_free_fields(&o->u.c);
    free(o);
}

enum co_obj_type coaching_type_of_key(const char *key)
{
    return strstr(key, CO_MEETING_INFIX) ? CO_MEETING : CO_CONTEXT;
}

void *coaching_state_new(const char *key)
{
    struct co_obj *o = calloc(1, sizeof(*o));
    if (!o)
        abort();
    o->type = coaching_type_of_key(key);
    if (o->type == CO_MEETING) {
        meeting_metrics_init(&o->u.m.mm);
        o->u.m.last_seq = -1;
    }
    return o;
}

void coaching_state_encode(const void *st, struct buf *out)
{
    const struct co_obj *o = st;
    buf_put_u8(out, CO_STATE_VERSION);
    buf_put_u8(out, (uint8_t)o->type);
    if (o->type == CO_MEETING) {
        const struct co_meeting *m = &o->u.m;
        buf_put_str(out, m->customer_id);
        buf_put_str(out, m->meeting_id);
        buf_put_str(out, m->rep_id);
        buf_put_u8(out, m->has_seq);
        buf_put_i64(out, m->last_seq);
        buf_put_str(out, m->last_event_id);
        buf_put_str(out, m->last_topic);
        buf_put_i64(out, m->last_partition);
        buf_put_i64(out, m->last_offset);
        buf_put_i64(out, m->last_event_time);
        buf_put_varint(out, m->fired);
        buf_put_varint(out, m->n_pend);
        for (size_t i = 0; i < m->n_pend; i++) {
            buf_put_str(out, m->pend[i].name);
            buf_put_i64(out, m->pend[i].raised_ms);
            buf_put_varint(out, m->pend[i].raise_no);
            buf_put_str(out, m->pend[i].evidence);
        }
        buf_put_varint(out, m->n_topics);
        for (size_t i = 0; i < m->n_topics; i++) {
            buf_put_str(out, m->topics[i].name);
            buf_put_i64(out, m->topics[i].topic_ms);
            buf_put_u8(out, m->topics[i].addressed);
            buf_put_str(out, m->topics[i].evidence);
            buf_put_str(out, m->topics[i].issue);
            buf_put_i64(out, m->topics[i].raised_at); /* format 2 */
        }
        meeting_metrics_encode(&m->mm, out);
    } else {
        const struct co_context *c = &o->u.c;
        buf_put_i64(out, c->newest);
        buf_put_varint(out, c->n_issues);
        for (size_t i = 0; i < c->n_issues; i++) {
            buf_put_str(out, c->issues[i].link);
            buf_put_str(out, c->issues[i].kind);
            buf_put_str(out, c->issues[i].ref);
            buf_put_i64(out, c->issues[i].at);
            buf_put_str(out, c->issues[i].text);
        }
        buf_put_varint(out, c->n_comps);
        for (size_t i = 0; i < c->n_comps; i++) {
            buf_put_str(out, c->comps[i].id);
            buf_put_str(out, c->comps[i].name);
            buf_put_i64(out, c->comps[i].at);
        }
        buf_put_varint(out, c->n_closed);
        for (size_t i = 0; i < c->n_closed; i++) {
            buf_put_str(out, c->closed[i].id);
            buf_put_i64(out, c->closed[i].at);
        }
    }
}

/* See processor_ops.state_prefetch: depth 0 the object's own lines and the
 * arrays and strings its first line points to, depth 1 the strings in
 * those arrays. Each is a separate, cold allocation by the time the sealer
 * encodes or frees the object. */
void coaching_state_prefetch(const void *st, int depth)
{
    const struct co_obj *o = st;
    if (o->type == CO_MEETING) {
        const struct co_meeting *m = &o->u.m;
        if (depth == 0) {
            const void *first[] = {m->customer_id, m->meeting_id, m->rep_id,
                                   m->last_event_id, m->last_topic,
                                   &m->n_pend, &m->n_topics, &m->mm};
            for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
                __builtin_prefetch(first[i]);
            return;
        }
        for (size_t i = 0; i < m->n_pend; i++)
            __builtin_prefetch(m->pend[i].name);
        for (size_t i = 0; i < m->n_topics; i++)
            __builtin_prefetch(m->topics[i].name);
        __builtin_prefetch(m->mm.turn_speaker);
        __builtin_prefetch(m->mm.phase);
        return;
    }
    const struct co_context *c = &o->u.c;
    if (depth == 0) {
        __builtin_prefetch(c->issues);
        __builtin_prefetch(c->comps);
        __builtin_prefetch(c->closed);
        return;
    }
    for (size_t i = 0; i < c->n_issues && i < 8; i++) {
        __builtin_prefetch(c->issues[i].link);
        __builtin_prefetch(c->issues[i].text);
    }
    for (size_t i = 0; i < c->n_closed && i < 8; i++)
        __builtin_prefetch(c->closed[i].id);
}

int coaching_state_decode(const char *key, const uint8_t *data, size_t len,
                          void **st)
{
    struct buf_reader r;
    struct co_obj *o = NULL;
    int rc = -1;

    *st = NULL;
    buf_reader_init(&r, data, len);
    uint8_t version = buf_get_u8(&r);
    if (r.err || version < CO_STATE_MIN || version > CO_STATE_VERSION)
        goto out;
    uint8_t type = buf_get_u8(&r);
    if (type != CO_MEETING && type != CO_CONTEXT)
        goto out;
    o = coaching_state_new(key);
    if (o->type != type)
        goto out;
    if (o->type == CO_MEETING) {
        struct co_meeting *m = &o->u.m;
        m->customer_id = buf_get_str(&r);
        m->meeting_id = buf_get_str(&r);
        m->rep_id = buf_get_str(&r);
        m->has_seq = buf_get_u8(&r) != 0;
        m->last_seq = (int32_t)buf_get_i64(&r);
        m->last_event_id = buf_get_str(&r);
        m->last_topic = buf_get_str(&r);
        m->last_partition = (int32_t)buf_get_i64(&r);
        m->last_offset = buf_get_i64(&r);
        m->last_event_time = buf_get_i64(&r);
        m->fired = (uint32_t)buf_get_varint(&r);
        size_t n = statecodec_count(&r, CO_MAX_PENDING);
        for (size_t i = 0; i < n && !r.err; i++) {
            struct co_pending *p = &m->pend[m->n_pend++];
            p->name = statecodec_req_str(&r);
            p->raised_ms = buf_get_i64(&r);
            p->raise_no = (uint32_t)buf_get_varint(&r);
            p->evidence = buf_get_str(&r);
        }
        n = statecodec_count(&r, CO_MAX_TOPICS);
        for (size_t i = 0; i < n && !r.err; i++) {
            struct co_topic *t = &m->topics[m->n_topics++];
            t->name = statecodec_req_str(&r);
            t->topic_ms = buf_get_i64(&r);
            t->addressed = buf_get_u8(&r) != 0;
            t->evidence = buf_get_str(&r);
            t->issue = buf_get_str(&r);
            t->raised_at = version >= 2 ? buf_get_i64(&r) : -1;
        }
        if (r.err || meeting_metrics_decode(&m->mm, &r) != 0)
            goto out;
    } else {
        struct co_context *c = &o->u.c;
        c->newest = buf_get_i64(&r);
        size_t n = statecodec_count(&r, CO_MAX_ISSUES);
        for (size_t i = 0; i < n && !r.err; i++) {
            CO_ROOM(c, issues, CO_MAX_ISSUES);
            struct co_issue *is = &c->issues[c->n_issues++];
            is->link = statecodec_req_str(&r);
            is->kind = statecodec_req_str(&r);
            is->ref = buf_get_str(&r);
            is->at = buf_get_i64(&r);
            is->text = buf_get_str(&r);
        }
        n = statecodec_count(&r, CO_MAX_CTX_COMPETITORS);
        for (size_t i = 0; i < n && !r.err; i++) {
            CO_ROOM(c, comps, CO_MAX_CTX_COMPETITORS);
            struct co_named *cn = &c->comps[c->n_comps++];
            cn->id = statecodec_req_str(&r);
            cn->name = statecodec_req_str(&r);
            cn->at = buf_get_i64(&r);
        }
        n = statecodec_count(&r, CO_MAX_TOMBSTONES);
        for (size_t i = 0; i < n && !r.err; i++) {
            CO_ROOM(c, closed, CO_MAX_TOMBSTONES);
            struct co_named *cn = &c->closed[c->n_closed++];
            cn->id = statecodec_req_str(&r);
            cn->at = buf_get_i64(&r);
        }
    }
    if (r.err || r.p != r.end)
        goto out;
    rc = 0;
out:
    if (rc == 0)
        *st = o;
    else
        coaching_state_free(o);
    return rc;
}

void coaching_state_to_json(const void *st, struct jw *w)
{
    const struct co_obj *o = st;
    jw_obj_begin(w, NULL);
    if (o->type == CO_MEETING) {
        const struct co_meeting *m = &o->u.m;
        jw_str(w, "type", "meeting");
        jw_str(w, "customer_id", m->customer_id);
        jw_str(w, "meeting_id", m->meeting_id);
        jw_str(w, "rep_id", m->rep_id);
        jw_int(w, "last_seq", m->last_seq);
        jw_str(w, "last_event_id", m->last_event_id);
        jw_int(w, "last_event_time", m->last_event_time);
        jw_arr_begin(w, "fired");
        for (int c = 0; c <= CAT_STAGE_CLAIM_UNSUPPORTED; c++)
            if (m->fired & (1u << c))
                jw_str(w, NULL, coaching_category_name((enum coaching_category)c));
        jw_arr_end(w);
        jw_arr_begin(w, "pending_objections");
        for (size_t i = 0; i < m->n_pend; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "objection", m->pend[i].name);
            jw_int(w, "raised_ms", m->pend[i].raised_ms);
            jw_int(w, "raise_no", m->pend[i].raise_no);
            jw_str(w, "evidence", m->pend[i].evidence);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_arr_begin(w, "context_topics");
        for (size_t i = 0; i < m->n_topics; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "link", m->topics[i].name);
            jw_int(w, "topic_ms", m->topics[i].topic_ms);
            jw_bool(w, "addressed", m->topics[i].addressed);
            jw_str(w, "evidence", m->topics[i].evidence);
            jw_str(w, "issue", m->topics[i].issue);
            if (m->topics[i].raised_at >= 0)
                jw_int(w, "raised_at", m->topics[i].raised_at);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_obj_begin(w, "metrics");
        meeting_metrics_to_json(&m->mm, w);
        jw_obj_end(w);
    } else {
        const struct co_context *c = &o->u.c;
        jw_str(w, "type", "customer_context");
        jw_int(w, "newest_event_time", c->newest);
        jw_arr_begin(w, "open_issues");
        for (size_t i = 0; i < c->n_issues; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "link", c->issues[i].link);
            jw_str(w, "kind", c->issues[i].kind);
            jw_str(w, "ref", c->issues[i].ref);
            jw_int(w, "event_time", c->issues[i].at);
            jw_str(w, "text", c->issues[i].text);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_arr_begin(w, "competitors");
        for (size_t i = 0; i < c->n_comps; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "entity_id", c->comps[i].id);
            jw_str(w, "name", c->comps[i].name);
            jw_int(w, "event_time", c->comps[i].at);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_arr_begin(w, "closed_meetings");
        for (size_t i = 0; i < c->n_closed; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "meeting_id", c->closed[i].id);
            jw_int(w, "closed_at", c->closed[i].at);
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
}
