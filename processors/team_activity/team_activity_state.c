/*
 * team_activity_state.c - a rep ("<rep_id>/rep": its team, and the marks
 * of what it forwarded) and a team ("<team_id>/team": its counts and
 * marks): creating, freeing, encoding, decoding and printing.
 */
#include <stdlib.h>
#include <string.h>

#include "team_activity.h"

#define TA_STATE_VERSION 1

void *team_activity_state_new(const char *key)
{
    struct ta_obj *o = calloc(1, sizeof(*o));
    if (!o)
        abort();
    size_t n = strlen(key), s = strlen(TA_TEAM_SUFFIX);
    o->type = n >= s && strcmp(key + n - s, TA_TEAM_SUFFIX) == 0 ? TA_TEAM : TA_REP;
    return o;
}

void team_activity_state_free(void *st)
{
    struct ta_obj *o = st;
    if (!o)
        return;
    if (o->type == TA_REP) {
        free(o->u.rep.team_id);
        free(o->u.rep.name);
        repmarks_free(&o->u.rep.marks);
    } else {
        repmarks_free(&o->u.team.marks);
    }
    free(o);
}

void team_activity_counts_put(const struct ta_counts *c, struct buf *out)
{
    buf_put_i64(out, c->updates);
    buf_put_i64(out, c->won);
    buf_put_double(out, c->won_amount);
}

void team_activity_counts_get(struct ta_counts *c, struct buf_reader *r)
{
    c->updates = buf_get_i64(r);
    c->won = buf_get_i64(r);
    c->won_amount = buf_get_double(r);
}


static void counts_json(const char *name, const struct ta_counts *c, struct jw *w)
{
    if (name)
        jw_obj_begin(w, name);
    jw_int(w, "updates", c->updates);
    jw_int(w, "won", c->won);
    jw_double(w, "won_amount", c->won_amount);
    if (name)
        jw_obj_end(w);
}

void team_activity_state_encode(const void *st, struct buf *out)
{
    const struct ta_obj *o = st;
    buf_put_u8(out, TA_STATE_VERSION);
    buf_put_u8(out, (uint8_t)o->type);
    if (o->type == TA_REP) {
        buf_put_str(out, o->u.rep.team_id);
        buf_put_str(out, o->u.rep.name);
        buf_put_i64(out, o->u.rep.assigned_at);
        team_activity_counts_put(&o->u.rep.pending, out);
        repmarks_encode(&o->u.rep.marks, out);
    } else {
        team_activity_counts_put(&o->u.team.counts, out);
        buf_put_i64(out, o->u.team.last_event_time);
        repmarks_encode(&o->u.team.marks, out);
    }
}

int team_activity_state_decode(const char *key, const uint8_t *data, size_t len,
                               void **st)
{
    struct buf_reader r;
    buf_reader_init(&r, data, len);
    struct ta_obj *o = team_activity_state_new(key);
    uint8_t version = buf_get_u8(&r), type = buf_get_u8(&r);
    if (version != TA_STATE_VERSION || type != (uint8_t)o->type)
        r.err = true;
    else if (o->type == TA_REP) {
        o->u.rep.team_id = buf_get_str(&r);
        o->u.rep.name = buf_get_str(&r);
        o->u.rep.assigned_at = buf_get_i64(&r);
        team_activity_counts_get(&o->u.rep.pending, &r);
        repmarks_decode(&o->u.rep.marks, &r);
    } else {
        team_activity_counts_get(&o->u.team.counts, &r);
        o->u.team.last_event_time = buf_get_i64(&r);
        repmarks_decode(&o->u.team.marks, &r);
    }
    if (r.err || r.p != r.end) {
        team_activity_state_free(o);
        return -1;
    }
    *st = o;
    return 0;
}

void team_activity_state_to_json(const void *st, struct jw *w)
{
    const struct ta_obj *o = st;
    jw_obj_begin(w, NULL);
    if (o->type == TA_REP) {
        jw_str(w, "type", "rep");
        if (o->u.rep.team_id)
            jw_str(w, "team_id", o->u.rep.team_id);
        else
            jw_null(w, "team_id");
        if (o->u.rep.name)
            jw_str(w, "name", o->u.rep.name);
        else
            jw_null(w, "name");
        jw_int(w, "assigned_at", o->u.rep.assigned_at);
        counts_json("pending", &o->u.rep.pending, w);
    } else {
        jw_str(w, "type", "team");
        counts_json(NULL, &o->u.team.counts, w);
        jw_int(w, "last_event_time", o->u.team.last_event_time);
    }
    const struct repmarks *m = o->type == TA_REP ? &o->u.rep.marks : &o->u.team.marks;
    jw_int(w, "origins", (int64_t)m->n);
    jw_obj_end(w);
}
