/*
 * digest_state.c - the digest's state objects: a customer's tier and
 * amounts ("<customer_id>"), a rep's assignments ("<rep_id>/rep"), a
 * team's open days ("<team_id>/team"): creating, freeing, encoding,
 * decoding and printing.
 */
#include <stdlib.h>
#include <string.h>

#include "digest.h"

#define DG_VERSION 1

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

void *digest_state_new(const char *key)
{
    struct dg_obj *o = calloc(1, sizeof(*o));
    if (!o)
        abort();
    o->type = ends_with(key, DG_TEAM_SUFFIX)  ? DG_TEAM
              : ends_with(key, DG_REP_SUFFIX) ? DG_REP
                                              : DG_CUSTOMER;
    if (o->type == DG_TEAM)
        o->u.t.partition = -1;
    return o;
}

void dg_note_clear(struct dg_note *n)
{
    free(n->alert_id);
    free(n->kind);
    free(n->category);
    free(n->severity);
    free(n->customer_id);
    free(n->rep_id);
    free(n->message);
    free(n->tier);
    free(n->department);
    memset(n, 0, sizeof(*n));
}

void dg_day_clear(struct dg_day *d)
{
    for (size_t i = 0; i < d->n_items; i++)
        dg_note_clear(&d->items[i]);
    free(d->items);
    for (size_t i = 0; i < d->n_counts; i++)
        free(d->counts[i].name);
    free(d->counts);
    for (size_t i = 0; i < d->n_resp; i++)
        free(d->resp[i].department);
    free(d->resp);
    memset(d, 0, sizeof(*d));
}

void digest_state_free(void *st)
{
    struct dg_obj *o = st;
    if (!o)
        return;
    switch (o->type) {
    case DG_CUSTOMER:
        free(o->u.c.tier);
        for (size_t i = 0; i < o->u.c.n_amounts; i++)
            free(o->u.c.amounts[i].opportunity_id);
        break;
    case DG_REP:
        for (size_t i = 0; i < o->u.r.n; i++) {
            free(o->u.r.v[i].team);
            free(o->u.r.v[i].manager);
            free(o->u.r.v[i].zone);
        }
        for (size_t i = 0; i < o->u.r.n_pending; i++)
            dg_note_clear(&o->u.r.pending[i]);
        free(o->u.r.pending);
        break;
    default: {
        struct dg_team *t = &o->u.t;
        free(t->manager);
        free(t->zone);
        free(t->topic);
        for (size_t i = 0; i < t->n_days; i++)
            dg_day_clear(&t->days[i]);
        free(t->days);
        free(t->origins);
        free(t->seen);
        break;
    }
    }
    free(o);
}

const struct dg_assign *dg_rep_at(const struct dg_rep *r, int64_t t)
{
    const struct dg_assign *best = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].from <= t)
            best = &r->v[i]; /* sorted by from */
    return best ? best : r->n ? &r->v[0] : NULL;
}

bool dg_rep_add(struct dg_rep *r, int64_t from, const char *team,
                const char *manager, const char *zone)
{
    size_t i = 0;
    while (i < r->n && r->v[i].from < from)
        i++;
    struct dg_assign *a;
    if (i < r->n && r->v[i].from == from) {
        a = &r->v[i];
        free(a->team);
        free(a->manager);
        free(a->zone);
    } else {
        if (r->n == DG_MAX_HISTORY) { /* the oldest goes */
            if (i == 0)
                return false;
            free(r->v[0].team);
            free(r->v[0].manager);
            free(r->v[0].zone);
            memmove(&r->v[0], &r->v[1], (r->n - 1) * sizeof(r->v[0]));
            r->n--;
            i--;
        }
        memmove(&r->v[i + 1], &r->v[i], (r->n - i) * sizeof(r->v[0]));
        r->n++;
        a = &r->v[i];
    }
    a->from = from;
    a->team = statecodec_strdup(team);
    a->manager = statecodec_strdup(manager);
    a->zone = statecodec_strdup(zone);
    return true;
}

void dg_note_encode(const struct dg_note *n, struct buf *out)
{
    buf_put_str(out, n->alert_id);
    buf_put_str(out, n->kind);
    buf_put_str(out, n->category);
    buf_put_str(out, n->severity);
    buf_put_str(out, n->customer_id);
    buf_put_str(out, n->rep_id);
    buf_put_str(out, n->message);
    buf_put_str(out, n->tier);
    buf_put_str(out, n->department);
    buf_put_u8(out, n->has_amount);
    buf_put_double(out, n->amount);
    buf_put_i64(out, n->time);
    buf_put_i64(out, n->origin);
    buf_put_u8(out, n->flags);
    buf_put_i64(out, n->response_ms);
}

void dg_note_decode(struct dg_note *n, struct buf_reader *r)
{
    n->alert_id = statecodec_req_str(r);
    n->kind = statecodec_req_str(r);
    n->category = statecodec_req_str(r);
    n->severity = statecodec_req_str(r);
    n->customer_id = statecodec_req_str(r);
    n->rep_id = statecodec_req_str(r);
    n->message = statecodec_req_str(r);
    n->tier = buf_get_str(r);
    n->department = buf_get_str(r);
    n->has_amount = buf_get_u8(r);
    n->amount = buf_get_double(r);
    n->time = buf_get_i64(r);
    n->origin = (int32_t)buf_get_i64(r);
    n->flags = buf_get_u8(r);
    n->response_ms = buf_get_i64(r);
}

static void day_encode(const struct dg_day *d, struct buf *out)
{
    buf_put_str(out, d->day);
    buf_put_i64(out, d->start);
    buf_put_i64(out, d->end);
    buf_put_varint(out, d->n_items);
    for (size_t i = 0; i < d->n_items; i++)
        dg_note_encode(&d->items[i], out);
    buf_put_varint(out, d->n_counts);
    for (size_t i = 0; i < d->n_counts; i++) {
        buf_put_str(out, d->counts[i].name);
        buf_put_i64(out, d->counts[i].n);
    }
    buf_put_i64(out, d->overdue);
    buf_put_i64(out, d->late);
    buf_put_varint(out, d->n_resp);
    for (size_t i = 0; i < d->n_resp; i++) {
        buf_put_str(out, d->resp[i].department);
        buf_put_i64(out, d->resp[i].ms);
    }
}

static void copy_label(char dst[11], struct buf_reader *r)
{
    char *s = statecodec_req_str(r);
    snprintf(dst, 11, "%s", s ? s : "");
    free(s);
}

static void day_decode(struct dg_day *d, struct buf_reader *r)
{
    copy_label(d->day, r);
    d->start = buf_get_i64(r);
    d->end = buf_get_i64(r);
    size_t n = statecodec_count(r, DG_MAX_ITEMS);
    if (n && !(d->items = calloc(n, sizeof(*d->items))))
        abort();
    for (size_t i = 0; i < n && !r->err; i++)
        dg_note_decode(&d->items[d->n_items++], r);
    n = statecodec_count(r, DG_MAX_COUNTS);
    if (n && !(d->counts = calloc(n, sizeof(*d->counts))))
        abort();
    for (size_t i = 0; i < n && !r->err; i++) {
        d->counts[d->n_counts].name = statecodec_req_str(r);
        d->counts[d->n_counts++].n = buf_get_i64(r);
    }
    d->overdue = (int32_t)buf_get_i64(r);
    d->late = (int32_t)buf_get_i64(r);
    n = statecodec_count(r, DG_MAX_RESP);
    if (n && !(d->resp = calloc(n, sizeof(*d->resp))))
        abort();
    for (size_t i = 0; i < n && !r->err; i++) {
        d->resp[d->n_resp].department = statecodec_req_str(r);
        d->resp[d->n_resp++].ms = buf_get_i64(r);
    }
}

void digest_state_encode(const void *st, struct buf *out)
{
    const struct dg_obj *o = st;
    buf_put_u8(out, DG_VERSION);
    buf_put_u8(out, o->type);
    switch (o->type) {
    case DG_CUSTOMER:
        buf_put_str(out, o->u.c.tier);
        buf_put_varint(out, o->u.c.n_amounts);
        for (size_t i = 0; i < o->u.c.n_amounts; i++) {
            buf_put_str(out, o->u.c.amounts[i].opportunity_id);
            buf_put_double(out, o->u.c.amounts[i].amount);
        }
        break;
    case DG_REP:
        buf_put_varint(out, o->u.r.n);
        for (size_t i = 0; i < o->u.r.n; i++) {
            const struct dg_assign *a = &o->u.r.v[i];
            buf_put_i64(out, a->from);
            buf_put_str(out, a->team);
            buf_put_str(out, a->manager);
            buf_put_str(out, a->zone);
        }
        buf_put_varint(out, o->u.r.n_pending);
        for (size_t i = 0; i < o->u.r.n_pending; i++)
            dg_note_encode(&o->u.r.pending[i], out);
        break;
    default: {
        const struct dg_team *t = &o->u.t;
        buf_put_str(out, t->manager);
        buf_put_str(out, t->zone);
        buf_put_str(out, t->topic);
        buf_put_i64(out, t->partition);
        buf_put_str(out, t->closed_day);
        buf_put_i64(out, t->closed_end);
        buf_put_varint(out, t->n_days);
        for (size_t i = 0; i < t->n_days; i++)
            day_encode(&t->days[i], out);
        buf_put_varint(out, t->n_origins);
        for (size_t i = 0; i < t->n_origins; i++) {
            buf_put_i64(out, t->origins[i].partition);
            buf_put_i64(out, t->origins[i].latest);
        }
        buf_put_varint(out, t->n_seen);
        buf_put_varint(out, t->next_seen);
        for (size_t i = 0; i < t->n_seen; i++) {
            buf_put_str(out, t->seen[i].id);
            buf_put_i64(out, t->seen[i].time);
        }
        break;
    }
    }
}

int digest_state_decode(const char *key, const uint8_t *data, size_t len,
                        void **st)
{
    struct buf_reader r;
    buf_reader_init(&r, data, len);
    struct dg_obj *o = digest_state_new(key);
    if (buf_get_u8(&r) != DG_VERSION || buf_get_u8(&r) != o->type)
        r.err = true;
    size_t n;
    switch (r.err ? 255 : o->type) {
    case DG_CUSTOMER:
        o->u.c.tier = buf_get_str(&r);
        n = statecodec_count(&r, DG_MAX_AMOUNTS);
        for (size_t i = 0; i < n && !r.err; i++) {
            struct dg_amount *a = &o->u.c.amounts[o->u.c.n_amounts++];
            a->opportunity_id = statecodec_req_str(&r);
            a->amount = buf_get_double(&r);
        }
        break;
    case DG_REP:
        n = statecodec_count(&r, DG_MAX_HISTORY);
        for (size_t i = 0; i < n && !r.err; i++) {
            struct dg_assign *a = &o->u.r.v[o->u.r.n++];
            a->from = buf_get_i64(&r);
            a->team = statecodec_req_str(&r);
            a->manager = buf_get_str(&r);
            a->zone = buf_get_str(&r);
        }
        n = statecodec_count(&r, DG_MAX_PENDING);
        if (n && !(o->u.r.pending = calloc(n, sizeof(*o->u.r.pending))))
            abort();
        for (size_t i = 0; i < n && !r.err; i++)
            dg_note_decode(&o->u.r.pending[o->u.r.n_pending++], &r);
        break;
    case DG_TEAM: {
        struct dg_team *t = &o->u.t;
        t->manager = buf_get_str(&r);
        t->zone = buf_get_str(&r);
        t->topic = buf_get_str(&r);
        t->partition = (int32_t)buf_get_i64(&r);
        char *cd = buf_get_str(&r);
        snprintf(t->closed_day, sizeof(t->closed_day), "%s", cd ? cd : "");
        free(cd);
        t->closed_end = buf_get_i64(&r);
        n = statecodec_count(&r, DG_MAX_DAYS);
        if (n && !(t->days = calloc(n, sizeof(*t->days))))
            abort();
        for (size_t i = 0; i < n && !r.err; i++)
            day_decode(&t->days[t->n_days++], &r);
        n = statecodec_count(&r, DG_MAX_ORIGINS);
        if (n && !(t->origins = calloc(n, sizeof(*t->origins))))
            abort();
        for (size_t i = 0; i < n && !r.err; i++) {
            t->origins[t->n_origins].partition = (int32_t)buf_get_i64(&r);
            t->origins[t->n_origins++].latest = buf_get_i64(&r);
        }
        n = statecodec_count(&r, DG_MAX_SEEN);
        t->next_seen = statecodec_count(&r, DG_MAX_SEEN);
        if (!(t->seen = calloc(DG_MAX_SEEN, sizeof(*t->seen))))
            abort();
        for (size_t i = 0; i < n && !r.err; i++) {
            char *id = statecodec_req_str(&r);
            snprintf(t->seen[t->n_seen].id, sizeof(t->seen[0].id), "%s",
                     id ? id : "");
            free(id);
            t->seen[t->n_seen++].time = buf_get_i64(&r);
        }
        break;
    }
    default:
        break;
    }
    if (r.err) {
        digest_state_free(o);
        return -1;
    }
    *st = o;
    return 0;
}

static void note_json(const struct dg_note *n, struct jw *w)
{
    jw_obj_begin(w, NULL);
    jw_str(w, "alert_id", n->alert_id);
    jw_str(w, "category", n->category);
    jw_str(w, "severity", n->severity);
    jw_str(w, "customer_id", n->customer_id);
    jw_str(w, "rep_id", n->rep_id);
    jw_int(w, "time", n->time);
    jw_obj_end(w);
}

void digest_state_to_json(const void *st, struct jw *w)
{
    const struct dg_obj *o = st;
    jw_obj_begin(w, NULL);
    switch (o->type) {
    case DG_CUSTOMER:
        jw_str(w, "type", "digest_customer");
        jw_str(w, "tier", o->u.c.tier);
        jw_int(w, "opportunities", (int64_t)o->u.c.n_amounts);
        break;
    case DG_REP:
        jw_str(w, "type", "digest_rep");
        jw_arr_begin(w, "assignments");
        for (size_t i = 0; i < o->u.r.n; i++) {
            jw_obj_begin(w, NULL);
            jw_int(w, "from", o->u.r.v[i].from);
            jw_str(w, "team_id", o->u.r.v[i].team);
            jw_str(w, "manager_id", o->u.r.v[i].manager);
            jw_str(w, "time_zone", o->u.r.v[i].zone);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_int(w, "pending_alerts", (int64_t)o->u.r.n_pending);
        break;
    default: {
        const struct dg_team *t = &o->u.t;
        jw_str(w, "type", "digest_team");
        jw_str(w, "manager_id", t->manager);
        jw_str(w, "time_zone", t->zone);
        jw_str(w, "closed_day", t->closed_day);
        jw_arr_begin(w, "open_days");
        for (size_t i = 0; i < t->n_days; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "day", t->days[i].day);
            jw_int(w, "end", t->days[i].end);
            jw_arr_begin(w, "red");
            for (size_t k = 0; k < t->days[i].n_items; k++)
                note_json(&t->days[i].items[k], w);
            jw_arr_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_int(w, "alerts_remembered", (int64_t)t->n_seen);
        break;
    }
    }
    jw_obj_end(w);
}
