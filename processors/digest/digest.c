/*
 * digest.c - the manager's daily red list (docs/PROCESSORS.md, "digest").
 *
 * Every alert the instance produces is observed (on_alert) where it is
 * raised, at its customer's partition, with the customer's tier and the
 * opportunity's amount as known there. It goes through the repartition
 * topic to its rep ("<rep>/rep": the ref.reps history gives the team as
 * of the alert's time) and on to its team ("<team>/team"), which keeps the
 * team's open local days. A day closes when the alerts from every origin
 * partition active for the team are past its local midnight plus the
 * grace (the least over the origins, never the largest: a slower
 * partition's alerts of that day are then still to come); it yields one
 * DailyDigest whose id hashes team and day. Copies re-sent after a crash
 * are skipped by alert_id (the origin of a timer's alert can be older
 * than records already sent, so repartition marks would not do).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "hmap.h"
#include "log.h"

struct dg_inst {
    const struct dg_config *cfg;
    struct buf buf;
    /* "<team>/team" -> its partition (int32_t *), for the teams of the
     * partitions this instance owns that have open days: what on_timer
     * looks at, rather than the whole state. Follows the partitions
     * (on_partitions); the state is the truth. */
    struct hmap *teams;
};

enum { DG_TO_REP = 'R', DG_TO_TEAM = 'T' };

static int dg_init(const void *cfg, void **out, char *err, size_t errlen)
{
    struct dg_inst *inst = calloc(1, sizeof(*inst));
    if (!inst) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    inst->cfg = cfg;
    if (!(inst->teams = hmap_new())) {
        free(inst);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *out = inst;
    return 0;
}

static void dg_destroy(void *vinst)
{
    struct dg_inst *inst = vinst;
    if (!inst)
        return;
    buf_free(&inst->buf);
    hmap_free(inst->teams, free);
    free(inst);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool bad_customer(const char *c)
{
    return !c || !*c || ends_with(c, DG_REP_SUFFIX) || ends_with(c, DG_TEAM_SUFFIX);
}

static struct dg_customer *customer_of(void *st)
{
    struct dg_obj *o = st;
    return o && o->type == DG_CUSTOMER ? &o->u.c : NULL;
}

/* ---- at the customer's partition ---- */

static void set_tier(struct proc_ctx *ctx, const char *customer, const char *tier)
{
    struct dg_customer *c = customer_of(ctx_state(ctx, customer, NULL));
    if (!c || !tier || (c->tier && strcmp(c->tier, tier) == 0))
        return;
    free(c->tier);
    c->tier = statecodec_strdup(tier);
    ctx_state_dirty(ctx, customer);
}

static void set_amount(struct proc_ctx *ctx, const char *customer,
                       const char *opp, double amount)
{
    struct dg_customer *c = customer_of(ctx_state(ctx, customer, NULL));
    if (!c || !opp)
        return;
    for (size_t i = 0; i < c->n_amounts; i++)
        if (strcmp(c->amounts[i].opportunity_id, opp) == 0) {
            c->amounts[i].amount = amount;
            ctx_state_dirty(ctx, customer);
            return;
        }
    if (c->n_amounts == DG_MAX_AMOUNTS) { /* the oldest goes */
        free(c->amounts[0].opportunity_id);
        memmove(&c->amounts[0], &c->amounts[1],
                (DG_MAX_AMOUNTS - 1) * sizeof(c->amounts[0]));
        c->n_amounts--;
    }
    c->amounts[c->n_amounts++] =
        (struct dg_amount){statecodec_strdup(opp), amount};
    ctx_state_dirty(ctx, customer);
}

/* The alert's opportunity's amount, else the customer's largest. */
static void amount_of(const struct dg_customer *c, const char *opp,
                      struct dg_note *n)
{
    for (size_t i = 0; c && i < c->n_amounts; i++) {
        if (opp && strcmp(c->amounts[i].opportunity_id, opp) == 0) {
            n->has_amount = true;
            n->amount = c->amounts[i].amount;
            return;
        }
        if (!opp && (!n->has_amount || c->amounts[i].amount > n->amount)) {
            n->has_amount = true;
            n->amount = c->amounts[i].amount;
        }
    }
}

static void dg_on_alert(void *vinst, struct proc_ctx *ctx, const struct alert *a)
{
    struct dg_inst *inst = vinst;
    if (bad_customer(a->customer_id))
        return;
    struct dg_note n = {0};
    const char *rep = NULL, *opp = NULL, *cat = NULL, *sev = NULL, *msg = NULL;
    char label[64];
    switch (a->kind) {
    case ALERT_LEAD_RERATING:
        /* No rep to reach a team by: it only tells the ranking the tier. */
        set_tier(ctx, a->customer_id, a->u.rerating.tier);
        return;
    case ALERT_COACHING:
        rep = a->u.coaching.rep_id;
        opp = a->u.coaching.opportunity_id;
        cat = coaching_category_name(a->u.coaching.category);
        sev = alert_severity_name(a->u.coaching.severity);
        msg = a->u.coaching.message;
        n.flags = DG_COUNTED;
        break;
    case ALERT_WORK_ITEM: {
        const struct work_item *w = &a->u.work_item;
        if (w->status == WI_OVERDUE)
            n.flags = DG_OVERDUE;
        else if (w->status == WI_DONE) {
            n.flags = DG_DONE;
            n.response_ms = a->event_time - w->created_time;
        } else
            return;
        rep = w->rep_id;
        opp = w->opportunity_id;
        snprintf(label, sizeof(label), "WORK_ITEM_%s",
                 work_item_status_name(w->status));
        cat = label;
        sev = "INFO";
        msg = w->task;
        n.department = (char *)w->department;
        break;
    }
    default:
        return;
    }
    if (!rep || !*rep)
        return;
    const struct dg_customer *c = customer_of(ctx_state_find(ctx, a->customer_id));
    n.alert_id = (char *)a->alert_id;
    n.kind = (char *)records_of_alert(a->kind)->record;
    n.category = (char *)cat;
    n.severity = (char *)sev;
    n.customer_id = (char *)a->customer_id;
    n.rep_id = (char *)rep;
    n.message = (char *)(msg ? msg : "");
    n.tier = c ? c->tier : NULL;
    amount_of(c, opp, &n);
    n.time = a->event_time;
    n.origin = a->src.partition;
    buf_reset(&inst->buf);
    buf_put_u8(&inst->buf, DG_TO_REP);
    dg_note_encode(&n, &inst->buf);
    if (ctx_repartition(ctx, rep, inst->buf.data, inst->buf.len) != 0)
        ctx_fail(ctx, "alert %s: cannot send it to rep %s's partition",
                 a->alert_id, rep);
}

/* ---- at the rep's partition ---- */

/* n on to the team of the rep's assignment at its time. */
static int to_team(struct dg_inst *inst, struct proc_ctx *ctx,
                   const struct dg_assign *as, const struct dg_note *n)
{
    buf_reset(&inst->buf);
    buf_put_u8(&inst->buf, DG_TO_TEAM);
    buf_put_str(&inst->buf, as->manager);
    buf_put_str(&inst->buf, as->zone);
    dg_note_encode(n, &inst->buf);
    if (ctx_repartition(ctx, as->team, inst->buf.data, inst->buf.len) != 0) {
        ctx_fail(ctx, "cannot send to team %s's partition", as->team);
        return -1;
    }
    return 0;
}

static int at_rep(struct dg_inst *inst, struct proc_ctx *ctx,
                  const struct event *ev, struct buf_reader *r)
{
    struct dg_note n = {0};
    dg_note_decode(&n, r);
    char key[512];
    snprintf(key, sizeof(key), "%s" DG_REP_SUFFIX, ev->key);
    struct dg_obj *o = ctx_state(ctx, key, NULL);
    struct dg_rep *rep = o->type == DG_REP ? &o->u.r : NULL;
    const struct dg_assign *as = rep ? dg_rep_at(rep, n.time) : NULL;
    int rc = 0;
    if (r->err || !rep) {
        ctx_fail(ctx, "undecodable digest record");
        rc = -1;
    } else if (as) {
        rc = to_team(inst, ctx, as, &n);
    } else if (rep->n_pending == DG_MAX_PENDING) {
        ctx_fail(ctx, "rep %s has no assignment in ref.reps and %d alerts "
                 "wait already: alert %s reaches no team", ev->key,
                 DG_MAX_PENDING, n.alert_id);
        rc = -1;
    } else { /* its ref.reps row is still to come */
        struct dg_note *v = realloc(rep->pending,
                                    (rep->n_pending + 1) * sizeof(*v));
        if (!v)
            abort();
        rep->pending = v;
        rep->pending[rep->n_pending++] = n;
        memset(&n, 0, sizeof(n));
        ctx_state_dirty(ctx, key);
    }
    dg_note_clear(&n);
    return rc;
}

/* ---- at the team's partition ---- */

static bool seen(struct dg_team *t, const char *id, int64_t time)
{
    for (size_t i = 0; i < t->n_seen; i++)
        if (strcmp(t->seen[i].id, id) == 0)
            return true;
    if (!t->seen && !(t->seen = calloc(DG_MAX_SEEN, sizeof(*t->seen))))
        abort();
    struct dg_seen *s = &t->seen[t->next_seen];
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->time = time;
    t->next_seen = (t->next_seen + 1) % DG_MAX_SEEN;
    if (t->n_seen < DG_MAX_SEEN)
        t->n_seen++;
    return false;
}

static void origin_advance(struct dg_team *t, int32_t partition, int64_t time)
{
    for (size_t i = 0; i < t->n_origins; i++)
        if (t->origins[i].partition == partition) {
            if (time > t->origins[i].latest)
                t->origins[i].latest = time;
            return;
        }
    if (t->n_origins == DG_MAX_ORIGINS)
        return;
    struct dg_origin *v = realloc(t->origins, (t->n_origins + 1) * sizeof(*v));
    if (!v)
        abort();
    t->origins = v;
    t->origins[t->n_origins++] = (struct dg_origin){partition, time};
}

/* The open day labelled day (created, in start order). */
static struct dg_day *day_of(struct dg_team *t, const char *day, int64_t start,
                             int64_t end)
{
    size_t i = 0;
    for (; i < t->n_days; i++) {
        if (strcmp(t->days[i].day, day) == 0)
            return &t->days[i];
        if (t->days[i].start > start)
            break;
    }
    if (t->n_days == DG_MAX_DAYS)
        return NULL;
    struct dg_day *v = realloc(t->days, (t->n_days + 1) * sizeof(*v));
    if (!v)
        abort();
    t->days = v;
    memmove(&t->days[i + 1], &t->days[i], (t->n_days - i) * sizeof(*v));
    t->n_days++;
    memset(&t->days[i], 0, sizeof(*v));
    snprintf(t->days[i].day, sizeof(t->days[i].day), "%s", day);
    t->days[i].start = start;
    t->days[i].end = end;
    return &t->days[i];
}

static int cmp_note(const void *a, const void *b)
{
    return dg_rank_cmp(a, b);
}

/* Takes n's fields (n is left empty). */
static void day_add(struct dg_day *d, struct dg_note *n)
{
    if (n->flags & DG_LATE)
        d->late++;
    if (n->flags & DG_OVERDUE)
        d->overdue++;
    if ((n->flags & DG_DONE) && n->department && d->n_resp < DG_MAX_RESP) {
        struct dg_resp *v = realloc(d->resp, (d->n_resp + 1) * sizeof(*v));
        if (!v)
            abort();
        d->resp = v;
        d->resp[d->n_resp++] = (struct dg_resp){statecodec_strdup(n->department),
                                                n->response_ms};
    }
    if (n->flags & DG_COUNTED) {
        size_t i = 0;
        while (i < d->n_counts && strcmp(d->counts[i].name, n->category) != 0)
            i++;
        if (i == d->n_counts && d->n_counts < DG_MAX_COUNTS) {
            struct dg_count *v = realloc(d->counts, (d->n_counts + 1) * sizeof(*v));
            if (!v)
                abort();
            d->counts = v;
            d->counts[d->n_counts++] = (struct dg_count){statecodec_strdup(n->category), 0};
        }
        if (i < d->n_counts)
            d->counts[i].n++;
    }
    if (!(n->flags & DG_COUNTED) || strcmp(n->severity, "RED") != 0) {
        dg_note_clear(n);
        return;
    }
    if (d->n_items == DG_MAX_ITEMS) { /* the least urgent goes */
        qsort(d->items, d->n_items, sizeof(*d->items), cmp_note);
        if (dg_rank_cmp(n, &d->items[d->n_items - 1]) >= 0) {
            dg_note_clear(n);
            return;
        }
        dg_note_clear(&d->items[--d->n_items]);
    }
    struct dg_note *v = realloc(d->items, (d->n_items + 1) * sizeof(*v));
    if (!v)
        abort();
    d->items = v;
    d->items[d->n_items++] = *n;
    memset(n, 0, sizeof(*n));
}

static int cmp_resp(const void *a, const void *b)
{
    const struct dg_resp *x = a, *y = b;
    int c = strcmp(x->department, y->department);
    return c ? c : (x->ms > y->ms) - (x->ms < y->ms);
}

static int emit_day(struct dg_inst *inst, struct proc_ctx *ctx,
                    const struct event *ev, const char *team_id,
                    const struct dg_team *t, struct dg_day *d)
{
    if (d->n_items > 1)
        qsort(d->items, d->n_items, sizeof(*d->items), cmp_note);
    if (d->n_resp > 1)
        qsort(d->resp, d->n_resp, sizeof(*d->resp), cmp_resp);
    size_t n_top = d->n_items < (size_t)inst->cfg->top_n ? d->n_items
                                                          : (size_t)inst->cfg->top_n;
    struct digest_item *top = calloc(n_top + 1, sizeof(*top));
    char(*why)[384] = calloc(n_top + 1, sizeof(*why));
    struct metric *counts = calloc(d->n_counts + 1, sizeof(*counts));
    struct metric *med = calloc(d->n_resp + 1, sizeof(*med));
    if (!top || !why || !counts || !med)
        abort();
    const char *zone = t->zone ? t->zone : inst->cfg->default_zone;
    for (size_t i = 0; i < n_top; i++) {
        const struct dg_note *n = &d->items[i];
        dg_why(n, i + 1, d->n_items, zone, why[i], sizeof(why[i]));
        top[i] = (struct digest_item){
            .alert_id = n->alert_id, .kind = n->kind, .category = n->category,
            .severity = n->severity, .customer_id = n->customer_id,
            .rep_id = n->rep_id, .message = n->message, .tier = n->tier,
            .has_amount = n->has_amount, .amount = n->amount,
            .alert_time = n->time, .late = (n->flags & DG_LATE) != 0,
            .why_ranked = why[i]};
    }
    for (size_t i = 0; i < d->n_counts; i++)
        counts[i] = (struct metric){d->counts[i].name, (double)d->counts[i].n};
    size_t n_med = 0;
    for (size_t i = 0; i < d->n_resp;) {
        size_t j = i;
        while (j < d->n_resp && strcmp(d->resp[j].department, d->resp[i].department) == 0)
            j++;
        size_t k = j - i;
        double ms = k % 2 ? (double)d->resp[i + k / 2].ms
                          : ((double)d->resp[i + k / 2 - 1].ms +
                             (double)d->resp[i + k / 2].ms) / 2.0;
        med[n_med++] = (struct metric){d->resp[i].department, ms / 3600000.0};
        i = j;
    }
    char dedup[64];
    snprintf(dedup, sizeof(dedup), "digest/%s", d->day);
    struct alert a = {
        .kind = ALERT_DAILY_DIGEST,
        .customer_id = team_id,
        .dedup_key = dedup,
        .id_from_state = true, /* team and day: whichever record closes it */
        .u.digest = {.team_id = team_id,
                     .manager_id = t->manager ? t->manager : "",
                     .day = d->day, .time_zone = zone,
                     .top = top, .n_top = n_top,
                     .counts = counts, .n_counts = d->n_counts,
                     .overdue_work_items = d->overdue,
                     .late_alerts = d->late,
                     .median_response_hours = med, .n_medians = n_med},
        .trigger_event_id = ev ? ev->event_id : dedup,
        .src = ev ? ev->src
                  : (struct event_source){t->topic, t->partition, -1},
        .event_time = d->end};
    int rc = ctx_emit(ctx, &a);
    free(top);
    free(why);
    free(counts);
    free(med);
    return rc;
}

/* An origin's time: its latest alert for the team, or its partition
 * group's watermark when this instance knows a later one (it owns the
 * partition): a partition with no alert after midnight has still moved
 * on. */
static int64_t origin_time(struct proc_ctx *ctx, const struct dg_origin *o)
{
    int64_t wm;
    if (ctx_watermark(ctx, o->partition, &wm) == 1 && wm > o->latest)
        return wm;
    return o->latest;
}

/* Days whose end plus the grace the least active origin has passed are
 * closed, oldest first: one digest each. */
static int close_days(struct dg_inst *inst, struct proc_ctx *ctx,
                      const struct event *ev, const char *team_id,
                      struct dg_team *t)
{
    int64_t newest = INT64_MIN, low = INT64_MAX;
    for (size_t i = 0; i < t->n_origins; i++) {
        int64_t ot = origin_time(ctx, &t->origins[i]);
        if (ot > newest)
            newest = ot;
    }
    for (size_t i = 0; i < t->n_origins; i++) {
        int64_t ot = origin_time(ctx, &t->origins[i]);
        if (ot >= newest - inst->cfg->active_ms && ot < low)
            low = ot;
    }
    if (!t->n_origins)
        return 0;
    while (t->n_days && t->days[0].end + inst->cfg->grace_ms <= low) {
        struct dg_day *d = &t->days[0];
        if (emit_day(inst, ctx, ev, team_id, t, d) != 0)
            return -1;
        if (d->end > t->closed_end) {
            t->closed_end = d->end;
            snprintf(t->closed_day, sizeof(t->closed_day), "%s", d->day);
        }
        dg_day_clear(d);
        memmove(&t->days[0], &t->days[1], (t->n_days - 1) * sizeof(*t->days));
        t->n_days--;
    }
    return 0;
}

/* Mirrors whether team key has open days into the timer's index. */
static void team_index(struct dg_inst *inst, const char *key,
                       const struct dg_team *t)
{
    if (!t || !t->n_days) {
        free(hmap_del(inst->teams, key));
        return;
    }
    int32_t *p = hmap_get(inst->teams, key);
    if (!p) {
        if (!(p = malloc(sizeof(*p))))
            abort();
        hmap_put(inst->teams, key, p);
    }
    *p = t->partition;
}

static void set_str(char **dst, const char *s)
{
    if (s && (!*dst || strcmp(*dst, s) != 0)) {
        free(*dst);
        *dst = statecodec_strdup(s);
    }
}

static int at_team(struct dg_inst *inst, struct proc_ctx *ctx,
                   const struct event *ev, struct buf_reader *r)
{
    char *manager = buf_get_str(r), *zone = buf_get_str(r);
    struct dg_note n = {0};
    dg_note_decode(&n, r);
    int rc = 0;
    char key[512];
    snprintf(key, sizeof(key), "%s" DG_TEAM_SUFFIX, ev->key);
    struct dg_obj *o = ctx_state(ctx, key, NULL);
    struct dg_team *t = o->type == DG_TEAM ? &o->u.t : NULL;
    if (r->err || !t) {
        ctx_fail(ctx, "undecodable digest record");
        rc = -1;
        goto out;
    }
    set_str(&t->manager, manager);
    set_str(&t->topic, ev->src.topic);
    t->partition = ev->src.partition;
    if (zone && !dg_zone_valid(zone)) {
        LOG_RL(LOG_WARN, "digest", "team %s: time zone %s unknown; %s used",
               ev->key, zone, inst->cfg->default_zone);
        free(zone);
        zone = NULL;
    }
    set_str(&t->zone, zone ? zone : inst->cfg->default_zone);
    ctx_state_dirty(ctx, key);
    if (seen(t, n.alert_id, n.time))
        goto out; /* a copy re-sent after a crash */
    origin_advance(t, n.origin, n.time);
    char day[11];
    int64_t start, end;
    int64_t at = n.time;
    if (t->closed_end && n.time < t->closed_end) {
        n.flags |= DG_LATE; /* its day is out: the next day's digest */
        at = t->closed_end;
    }
    struct dg_day *d = dg_local_day(t->zone, at, day, &start, &end) == 0
                           ? day_of(t, day, start, end)
                           : NULL;
    if (!d)
        LOG_RL(LOG_WARN, "digest", "team %s: alert %s has no open day "
               "(more than %d open)", ev->key, n.alert_id, DG_MAX_DAYS);
    else
        day_add(d, &n);
    rc = close_days(inst, ctx, ev, ev->key, t);
    team_index(inst, key, t);
out:
    dg_note_clear(&n);
    free(manager);
    free(zone);
    return rc;
}

/* ---- on_timer: days the watermarks closed without an alert ---- */

struct keys {
    char **v;
    size_t n;
    const int32_t *parts; /* on_partitions: of these partitions only */
    size_t n_parts;
};

static void keys_add(struct keys *k, const char *key)
{
    char **v = realloc(k->v, (k->n + 1) * sizeof(*v));
    if (!v)
        abort();
    k->v = v;
    k->v[k->n++] = statecodec_strdup(key);
}

static bool in_parts(const struct keys *k, int32_t p)
{
    for (size_t i = 0; i < k->n_parts; i++)
        if (k->parts[i] == p)
            return true;
    return false;
}

static int collect_indexed(void *arg, const char *key, void *val)
{
    struct keys *k = arg;
    if (!k->parts || in_parts(k, *(const int32_t *)val))
        keys_add(k, key);
    return 0;
}

static int collect_team(void *arg, const char *key)
{
    if (ends_with(key, DG_TEAM_SUFFIX))
        keys_add(arg, key);
    return 0;
}

/* The index follows the partitions: a leaving partition's teams go (their
 * next owner closes their days), an arriving one's teams with open days
 * come from the state (at start too). */
static void dg_on_partitions(void *vinst, struct proc_ctx *ctx,
                             const int32_t *parts, size_t n, bool assigned)
{
    struct dg_inst *inst = vinst;
    struct keys k = {.parts = parts, .n_parts = n};
    if (!assigned)
        hmap_each(inst->teams, collect_indexed, &k);
    else
        ctx_state_foreach(ctx, collect_team, &k);
    for (size_t i = 0; i < k.n; i++) {
        if (!assigned) {
            free(hmap_del(inst->teams, k.v[i]));
        } else {
            struct dg_obj *o = ctx_state_find(ctx, k.v[i]);
            const struct dg_team *t = o && o->type == DG_TEAM ? &o->u.t : NULL;
            if (t && in_parts(&k, t->partition))
                team_index(inst, k.v[i], t);
        }
        free(k.v[i]);
    }
    free(k.v);
}

/* Each team of a partition this instance owns, whose oldest open day the
 * origins' watermarks have closed. The digest is the one a record would
 * have closed: its id is the team's and day's. */
static void dg_on_timer(void *vinst, struct proc_ctx *ctx, int64_t now_ms)
{
    (void)now_ms;
    struct dg_inst *inst = vinst;
    struct keys k = {0};
    hmap_each(inst->teams, collect_indexed, &k);
    for (size_t i = 0; i < k.n; i++) {
        struct dg_obj *o = ctx_state_find(ctx, k.v[i]);
        struct dg_team *t = o && o->type == DG_TEAM ? &o->u.t : NULL;
        if (t && t->n_days && t->topic &&
            ctx_owns(ctx, t->topic, t->partition)) {
            size_t before = t->n_days;
            char team[512];
            size_t len = strlen(k.v[i]) - strlen(DG_TEAM_SUFFIX);
            snprintf(team, sizeof(team), "%.*s", (int)len, k.v[i]);
            if (close_days(inst, ctx, NULL, team, t) != 0)
                LOG_RL(LOG_ERROR, "digest", "team %s: digest not emitted", team);
            if (t->n_days != before)
                ctx_state_dirty(ctx, k.v[i]);
            team_index(inst, k.v[i], t);
        }
        free(k.v[i]);
    }
    free(k.v);
}

static int dg_handle(void *vinst, struct proc_ctx *ctx, const struct event *ev)
{
    struct dg_inst *inst = vinst;
    switch (ev->kind) {
    case EVENT_OPPORTUNITY:
        if (bad_customer(ev->customer_id)) {
            ctx_fail(ctx, "customer id ends in " DG_REP_SUFFIX " or "
                     DG_TEAM_SUFFIX ", which name the digest's state");
            return -1;
        }
        if (ev->u.opportunity.has_amount)
            set_amount(ctx, ev->customer_id, ev->u.opportunity.opportunity_id,
                       ev->u.opportunity.amount);
        return 0;
    case EVENT_REP_ASSIGNMENT: {
        const struct rep_assignment *ra = &ev->u.rep;
        char key[512];
        snprintf(key, sizeof(key), "%s" DG_REP_SUFFIX, ra->rep_id);
        struct dg_obj *o = ctx_state(ctx, key, NULL);
        if (o->type != DG_REP ||
            !dg_rep_add(&o->u.r, ev->event_time, ra->team_id, ra->manager_id,
                        ra->time_zone))
            return 0;
        ctx_state_dirty(ctx, key);
        /* Alerts that waited for the rep's first row go on now. */
        struct dg_rep *rep = &o->u.r;
        for (size_t i = 0; i < rep->n_pending; i++)
            if (to_team(inst, ctx, dg_rep_at(rep, rep->pending[i].time),
                        &rep->pending[i]) != 0)
                return -1;
        for (size_t i = 0; i < rep->n_pending; i++)
            dg_note_clear(&rep->pending[i]);
        free(rep->pending);
        rep->pending = NULL;
        rep->n_pending = 0;
        return 0;
    }
    case EVENT_REPARTITION: {
        const struct repartition_record *rr = &ev->u.repartition;
        struct buf_reader r;
        buf_reader_init(&r, rr->data, rr->len);
        uint8_t tag = buf_get_u8(&r);
        if (tag == DG_TO_REP)
            return at_rep(inst, ctx, ev, &r);
        if (tag == DG_TO_TEAM)
            return at_team(inst, ctx, ev, &r);
        ctx_fail(ctx, "unknown digest record");
        return -1;
    }
    default:
        return 0;
    }
}

static size_t dg_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    (void)inst;
    if (!max)
        return 0;
    if (ev->kind == EVENT_OPPORTUNITY && ev->customer_id && *ev->customer_id &&
        ev->u.opportunity.has_amount)
        return out[0] = (struct state_key){{ev->customer_id}}, 1;
    if (ev->kind == EVENT_REP_ASSIGNMENT && ev->u.rep.rep_id)
        return out[0] = (struct state_key){{ev->u.rep.rep_id, DG_REP_SUFFIX}}, 1;
    return 0;
}

const struct processor_ops processor_digest = {
    .name = "digest",
    .description = "The manager's daily red list: alerts re-keyed by team "
                   "(ref.reps as of their time), one DailyDigest per team "
                   "and local day",
    .inputs = EVENT_MASK(EVENT_OPPORTUNITY) | EVENT_MASK(EVENT_REP_ASSIGNMENT) |
              EVENT_MASK(EVENT_REPARTITION),
    .outputs = ALERT_MASK(ALERT_DAILY_DIGEST),
    .config = &digest_config_table,
    .init = dg_init,
    .handle = dg_handle,
    .on_timer = dg_on_timer,
    .on_partitions = dg_on_partitions,
    .destroy = dg_destroy,
    .on_alert = dg_on_alert,
    .state_new = digest_state_new,
    .state_encode = digest_state_encode,
    .state_decode = digest_state_decode,
    .state_free = digest_state_free,
    .state_keys = dg_state_keys,
    .state_to_json = digest_state_to_json,
};
