/*
 * orchestration.c - triggers on what customers ask for create work items
 * for departments; departments' updates close them; items past their due
 * time in stream time turn OVERDUE once (docs/PROCESSORS.md).
 *
 * A work item lives in its customer's state (ops.work-item-updates is
 * keyed by customer_id too); a DONE item's response time goes through the
 * repartition topic to its department's state, which keeps the median. Ids are deterministic (the triggering event,
 * the trigger, the department), and the OVERDUE records' ids come from
 * the item alone, so a replay after a crash or a rebalance produces the
 * same records again rather than new ones.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "log.h"
#include "matcher.h"
#include "metrics.h"
#include "orchestration.h"
#include "streamtime.h"

struct or_inst {
    const struct or_config *cfg;
    struct matcher *matcher; /* every trigger's keywords, id = trigger */
    struct buf norm, text, msg;
    uint64_t on_transcripts, on_annotations; /* triggers, by bit */
    /* Stream time per input partition: the largest event_time handled
     * there, of any customer. Mirrored in the partition's state object
     * (OR_WM_PREFIX), read back when the partition arrives
     * (on_partitions). */
    struct streamtime part_time;
    bool wm_moved; /* since the last tick */
    /* Customer key -> struct or_due: the earliest due time of its open
     * (CREATED) items in the partitions this instance owns, mirrored from
     * the state, which is the truth; on_partitions() adds the arriving
     * partitions' customers and drops the leaving ones'. */
    struct hmap *due;
};

struct or_due {
    int64_t due; /* ms */
    int32_t partition;
};

/* The customer object of a state object, NULL for none or a department. */
static struct or_customer *cust_of(void *st)
{
    struct or_obj *o = st;
    return o && !o->dept && !o->wm ? &o->u.c : NULL;
}

/* streamtime_field_fn: the stream time of a partition's object. */
static int64_t *wm_time(void *obj)
{
    struct or_obj *o = obj;
    return o->wm ? &o->stream_time : NULL;
}

static const struct or_trigger *trigger_at(const struct or_config *cfg,
                                           size_t i)
{
    return &((const struct or_trigger *)cfg->triggers.items)[i];
}

static const struct or_item_cfg *item_cfg_at(const struct or_trigger *t,
                                             size_t i)
{
    return &((const struct or_item_cfg *)t->work_items.items)[i];
}

static void or_destroy(void *vinst)
{
    struct or_inst *inst = vinst;
    if (!inst)
        return;
    matcher_free(inst->matcher);
    buf_free(&inst->norm);
    buf_free(&inst->text);
    buf_free(&inst->msg);
    streamtime_free(&inst->part_time);
    hmap_free(inst->due, free);
    free(inst);
}

static int or_init(const void *vcfg, void **out, char *err, size_t errlen)
{
    const struct or_config *cfg = vcfg;
    struct or_inst *inst = calloc(1, sizeof(*inst));
    struct matcher_builder *mb = matcher_builder_new();
    int rc = -1;
    if (!inst || !mb) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    inst->cfg = cfg;
    streamtime_init(&inst->part_time, "orchestration", wm_time);
    if (!(inst->due = hmap_new())) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cfg->triggers.n; i++) {
        const struct or_trigger *t = trigger_at(cfg, i);
        for (size_t k = 0; k < t->sources.n; k++) {
            if (strcmp(t->sources.v[k], "transcripts") == 0)
                inst->on_transcripts |= 1ull << i;
            else
                inst->on_annotations |= 1ull << i;
        }
        for (size_t k = 0; k < t->keywords.n; k++)
            if (matcher_builder_add(mb, t->keywords.v[k], (unsigned)i) != 0) {
                snprintf(err, errlen, "triggers.%s: empty keyword", t->id);
                goto out;
            }
    }
    if (matcher_build(mb, &inst->matcher, err, errlen) != 0)
        goto out;
    *out = inst;
    inst = NULL;
    rc = 0;
out:
    matcher_builder_free(mb);
    or_destroy(inst);
    return rc;
}

/* ---- stream time ---- */

/* The partition's stream time moves to t if later, in memory and in its
 * state object. */
static void wm_advance(struct or_inst *inst, struct proc_ctx *ctx,
                       int32_t partition, int64_t t)
{
    if (!streamtime_advance(&inst->part_time, partition, t))
        return;
    inst->wm_moved = true;
    streamtime_save(&inst->part_time, ctx, partition);
}

static int64_t wm_of(const struct or_inst *inst, int32_t partition)
{
    return streamtime_of(&inst->part_time, partition);
}

/* ---- records ---- */

static void fmt_duration(int64_t ms, char *out, size_t n)
{
    if (ms % 3600000 == 0)
        snprintf(out, n, "%" PRId64 "h", ms / 3600000);
    else if (ms % 60000 == 0)
        snprintf(out, n, "%" PRId64 "min", ms / 60000);
    else
        snprintf(out, n, "%" PRId64 "s", ms / 1000);
}

/* UTC, minutes: "2026-12-04 16:30Z". */
static void fmt_time(int64_t ms, char *out, size_t n)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&s, &tm) || !strftime(out, n, "%Y-%m-%d %H:%MZ", &tm))
        snprintf(out, n, "%" PRId64, ms);
}

/* The department's own topic, NULL for topics.work_items. */
static const char *dept_topic(const struct or_config *cfg, const char *dept)
{
    const struct or_department *d = cfg->departments.items;
    for (size_t i = 0; i < cfg->departments.n; i++)
        if (strcmp(d[i].name, dept) == 0)
            return d[i].topic;
    return NULL;
}

/* processor_ops.output_topics: the departments' own topics. */
static size_t or_output_topics(const void *vcfg, const char **out, size_t max)
{
    const struct or_config *cfg = vcfg;
    const struct or_department *d = cfg->departments.items;
    size_t n = 0;
    for (size_t i = 0; i < cfg->departments.n && n < max; i++) {
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(out[k], d[i].topic) == 0;
        if (!seen)
            out[n++] = d[i].topic;
    }
    return n;
}

/* One record of it. Its provenance: the item's triggering event with
 * event_time (from_state: also an id from the item alone), or with
 * event_time 0 the event being handled (an update's). */
static int emit_item(const struct or_inst *inst, struct proc_ctx *ctx,
                     const char *customer,
                     const struct or_item *it, const char *dedup,
                     bool from_state, int64_t event_time)
{
    struct alert a = {
        .kind = ALERT_WORK_ITEM,
        .topic = dept_topic(inst->cfg, it->department),
        .customer_id = customer,
        .dedup_key = dedup,
        .id_from_state = from_state,
        .u.work_item = {
            .work_item_id = it->id,
            .trigger = it->trigger,
            .opportunity_id = it->opportunity_id,
            .meeting_id = it->meeting_id,
            .document_id = it->document_id,
            .rep_id = it->rep_id,
            .department = it->department,
            .task = it->task,
            .requirement = it->requirement,
            .created_time = it->created,
            .due_time = it->due,
            .status = (enum work_item_status)it->status,
        }};
    /* The triggering event's provenance, also when it is not the event
     * being handled (an observed alert's, from a timer); an update's
     * record (event_time 0) carries the update's. */
    if (from_state || event_time) {
        a.trigger_event_id = it->event_id;
        a.src = (struct event_source){it->topic, it->partition, it->offset};
        a.event_time = event_time;
    }
    return ctx_emit(ctx, &a);
}

/* The item turns OVERDUE: its record again, and a coaching alert to the
 * rep. Both carry the triggering event's provenance and the due time, and
 * ids from the item alone, so either path (a later event of the customer,
 * or the timer) yields the same records. */
static int overdue(struct or_inst *inst, struct proc_ctx *ctx,
                   const char *customer, struct or_item *it)
{
    it->status = WI_OVERDUE;
    char dedup[300];
    snprintf(dedup, sizeof(dedup), "overdue/%s", it->id);
    if (emit_item(inst, ctx, customer, it, dedup, true, it->due) != 0)
        return -1;
    char sla[32], due[32];
    fmt_duration(it->due - it->created, sla, sizeof(sla));
    fmt_time(it->due, due, sizeof(due));
    struct or_vars v = {customer,        it->rep_id,  it->opportunity_id,
                        it->department,  it->trigger, it->requirement,
                        NULL,            sla,         it->task,
                        due};
    or_render(or_is_chinese(it->requirement, inst->cfg->cjk_ratio)
                  ? inst->cfg->overdue_message_zh
                  : inst->cfg->overdue_message,
              &v, &inst->msg);
    struct metric m[] = {
        {"sla_minutes", (double)(it->due - it->created) / 60000.0}};
    const char *evidence[] = {it->requirement};
    snprintf(dedup, sizeof(dedup), "overdue-coaching/%s", it->id);
    struct alert a = {
        .kind = ALERT_COACHING,
        .customer_id = customer,
        .dedup_key = dedup,
        .id_from_state = true,
        .u.coaching = {
            .rep_id = it->rep_id,
            .meeting_id = it->meeting_id,
            .opportunity_id = it->opportunity_id,
            .document_id = it->document_id,
            .rule = it->trigger,
            .category = CAT_WORK_ITEM_OVERDUE,
            .severity = (enum alert_severity)inst->cfg->overdue_severity,
            .message = (const char *)inst->msg.data,
            .metrics = m,
            .n_metrics = 1,
            .evidence = evidence,
            .n_evidence = 1,
        },
        .trigger_event_id = it->event_id,
        .src = {it->topic, it->partition, it->offset},
        .event_time = it->due};
    return ctx_emit(ctx, &a);
}

/* Items of c past due in their partition's stream time turn OVERDUE, in
 * order of due time (then id), so the order does not depend on arrival.
 * Returns whether c changed; -1 on an emit error. */
static int judge(struct or_inst *inst, struct proc_ctx *ctx,
                 const char *customer, struct or_customer *c, bool timer)
{
    int changed = 0;
    for (;;) {
        struct or_item *next = NULL;
        for (size_t i = 0; i < c->n; i++) {
            struct or_item *it = &c->v[i];
            if (it->status != WI_CREATED || it->due > wm_of(inst, it->partition))
                continue;
            if (timer && !ctx_owns(ctx, it->topic, it->partition))
                continue; /* a stale copy: its partition's owner judges it */
            if (!next || it->due < next->due ||
                (it->due == next->due && strcmp(it->id, next->id) < 0))
                next = it;
        }
        if (!next)
            return changed;
        if (overdue(inst, ctx, customer, next) != 0)
            return -1;
        changed = 1;
    }
}

/* Closed items older than the dedup window, by the customer's partition's
 * stream time, are forgotten; beyond max_items the oldest closed (else
 * the oldest) go. */
static bool prune(const struct or_inst *inst, struct or_customer *c)
{
    bool changed = false;
    size_t j = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct or_item *it = &c->v[i];
        int64_t wm = wm_of(inst, it->partition);
        bool old = it->closed >= 0 && wm != INT64_MIN &&
                   it->created < wm - inst->cfg->dedup_window_ms &&
                   it->closed < wm - inst->cfg->dedup_window_ms;
        if (old) {
            orchestration_item_clear(it);
            changed = true;
            continue;
        }
        c->v[j++] = *it;
    }
    c->n = j;
    while (c->n > (size_t)inst->cfg->max_items) {
        size_t drop = 0;
        for (size_t i = 0; i < c->n; i++)
            if (c->v[i].closed >= 0) {
                drop = i;
                break;
            }
        orchestration_item_clear(&c->v[drop]);
        memmove(&c->v[drop], &c->v[drop + 1],
                (c->n - drop - 1) * sizeof(c->v[0]));
        c->n--;
        changed = true;
    }
    return changed;
}

/* Mirrors c's earliest open due time into the index (c NULL: none). */
static void index_update(struct or_inst *inst, const char *key,
                         const struct or_customer *c)
{
    struct or_due best = {INT64_MAX, -1};
    for (size_t i = 0; c && i < c->n; i++)
        if (c->v[i].status == WI_CREATED && c->v[i].due < best.due)
            best = (struct or_due){c->v[i].due, c->v[i].partition};
    if (best.due == INT64_MAX) {
        free(hmap_del(inst->due, key));
        return;
    }
    struct or_due *d = hmap_get(inst->due, key);
    if (!d) {
        if (!(d = malloc(sizeof(*d))))
            abort();
        hmap_put(inst->due, key, d);
    }
    *d = best;
}

/* ---- triggers ---- */

static int on_hit(void *arg, unsigned id, size_t from, size_t to)
{
    (void)from;
    (void)to;
    *(uint64_t *)arg |= 1ull << id;
    return 0;
}

/* Whether a trigger of this requirement fired for the customer within the
 * window (either side: events arrive out of order). */
static bool recent(const struct or_inst *inst, const struct or_customer *c,
                   const char *trigger, const char *req_key, int64_t t)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct or_item *it = &c->v[i];
        int64_t d = it->created > t ? it->created - t : t - it->created;
        if (strcmp(it->trigger, trigger) == 0 &&
            strcmp(it->req_key, req_key) == 0 &&
            d < inst->cfg->dedup_window_ms)
            return true;
    }
    return false;
}

struct fire {
    const char *rep_id, *opportunity_id, *meeting_id, *document_id;
    const char *requirement, *req_key, *keyword;
};

/* One trigger fires for the event: its work items, unless the same
 * requirement fired within the window. */
static int fire(struct or_inst *inst, struct proc_ctx *ctx,
                const struct event *ev, struct or_customer **cp,
                const struct or_trigger *t, const struct fire *f)
{
    struct or_customer *c = *cp;
    if (!c)
        c = *cp = cust_of(ctx_state(ctx, ev->customer_id, NULL));
    if (recent(inst, c, t->id, f->req_key, ev->event_time))
        return 0;
    for (size_t k = 0; k < t->work_items.n; k++) {
        const struct or_item_cfg *ic = item_cfg_at(t, k);
        struct or_item *v = realloc(c->v, (c->n + 1) * sizeof(*v));
        if (!v)
            abort();
        c->v = v;
        struct or_item *it = &c->v[c->n++];
        memset(it, 0, sizeof(*it));
        /* The id: kind, customer, triggering event, trigger, department. */
        char dedup[512];
        snprintf(dedup, sizeof(dedup), "wi/%s/%s", t->id, ic->department);
        struct alert idgen = {.kind = ALERT_WORK_ITEM,
                              .customer_id = ev->customer_id,
                              .trigger_event_id = ev->event_id,
                              .dedup_key = dedup};
        alert_compute_id(&idgen);
        it->id = statecodec_strdup(idgen.alert_id);
        it->trigger = statecodec_strdup(t->id);
        it->req_key = statecodec_strdup(f->req_key);
        it->department = statecodec_strdup(ic->department);
        it->requirement = statecodec_strdup(f->requirement);
        it->opportunity_id = statecodec_strdup(f->opportunity_id);
        it->meeting_id = statecodec_strdup(f->meeting_id);
        it->document_id = statecodec_strdup(f->document_id);
        it->rep_id = statecodec_strdup(f->rep_id);
        it->created = ev->event_time;
        it->due = ev->event_time + ic->sla_ms;
        it->closed = -1;
        it->status = WI_CREATED;
        it->event_id = statecodec_strdup(ev->event_id);
        it->topic = statecodec_strdup(ev->src.topic ? ev->src.topic : "");
        it->partition = ev->src.partition;
        it->offset = ev->src.offset;
        char sla[32];
        fmt_duration(ic->sla_ms, sla, sizeof(sla));
        struct or_vars vars = {ev->customer_id, f->rep_id,  f->opportunity_id,
                               ic->department,  t->id,      f->requirement,
                               f->keyword,      sla,        NULL,
                               NULL};
        or_render(ic->task, &vars, &inst->text);
        it->task = statecodec_strdup((const char *)inst->text.data);
        snprintf(dedup, sizeof(dedup), "created/%s", it->id);
        if (emit_item(inst, ctx, ev->customer_id, it, dedup, false, it->created) != 0)
            return -1;
    }
    ctx_state_dirty(ctx, ev->customer_id);
    return 0;
}

/* Keywords in a customer's words or an annotation. */
static int on_text(struct or_inst *inst, struct proc_ctx *ctx,
                   const struct event *ev, struct or_customer **cp,
                   const char *text, bool transcript, const struct fire *base)
{
    uint64_t hits = 0;
    if (matcher_scan(inst->matcher, text, &inst->norm, on_hit, &hits) != 0) {
        ctx_fail(ctx, "keyword matcher failed");
        return -1;
    }
    hits &= transcript ? inst->on_transcripts : inst->on_annotations;
    for (size_t i = 0; hits && i < inst->cfg->triggers.n; i++) {
        if (!(hits & (1ull << i)))
            continue;
        const struct or_trigger *t = trigger_at(inst->cfg, i);
        /* The keyword: the first of the trigger's list found in the text
         * (normalised alike), for the {keyword} placeholder. */
        const char *kw = NULL;
        for (size_t k = 0; !kw && k < t->keywords.n; k++) {
            buf_reset(&inst->msg);
            matcher_normalize(t->keywords.v[k], &inst->msg);
            if (inst->msg.len &&
                strstr((const char *)inst->norm.data, (const char *)inst->msg.data))
                kw = t->keywords.v[k];
        }
        struct fire f = *base;
        f.keyword = kw;
        f.req_key = "";
        f.requirement = text;
        if (fire(inst, ctx, ev, cp, t, &f) != 0)
            return -1;
    }
    return 0;
}

static bool listed(const struct cfg_strlist *l, const char *s)
{
    for (size_t i = 0; s && i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

/* An opportunity entering a trigger's stage: once per opportunity and
 * stage within the window. */
static int on_stage(struct or_inst *inst, struct proc_ctx *ctx,
                    const struct event *ev, struct or_customer **cp)
{
    const struct opportunity_update *up = &ev->u.opportunity;
    if (up->stage_from && strcmp(up->stage_from, up->stage_to) == 0)
        return 0;
    char req_key[512], requirement[512];
    snprintf(req_key, sizeof(req_key), "%s/%s", up->opportunity_id, up->stage_to);
    snprintf(requirement, sizeof(requirement), "stage %s -> %s",
             up->stage_from ? up->stage_from : "(none)", up->stage_to);
    for (size_t i = 0; i < inst->cfg->triggers.n; i++) {
        const struct or_trigger *t = trigger_at(inst->cfg, i);
        if (!listed(&t->stages, up->stage_to))
            continue;
        struct fire f = {.rep_id = up->rep_id,
                         .opportunity_id = up->opportunity_id,
                         .requirement = requirement,
                         .req_key = req_key,
                         .keyword = up->stage_to};
        if (fire(inst, ctx, ev, cp, t, &f) != 0)
            return -1;
    }
    return 0;
}

/*
 * A coaching alert, of whichever processor (on_alert): the triggers that
 * list its category fire, once per customer, category and rule within the
 * window. Its alert_id stands for the triggering event (ids and
 * provenance: the alert's, so a replay that emits it again finds the same
 * items), its event time is the items' creation time.
 */
static void or_on_alert(void *vinst, struct proc_ctx *ctx,
                        const struct alert *a)
{
    struct or_inst *inst = vinst;
    if (a->kind != ALERT_COACHING || !a->customer_id || !*a->customer_id ||
        a->u.coaching.category == CAT_WORK_ITEM_OVERDUE)
        return;
    const struct coaching_alert *ca = &a->u.coaching;
    const char *cat = coaching_category_name(ca->category);
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_TRANSCRIPT; /* unused: fire() reads the fields below */
    ev.key = ev.customer_id = a->customer_id;
    ev.event_id = a->alert_id;
    ev.event_time = a->event_time;
    ev.src = a->src;
    char req_key[512];
    snprintf(req_key, sizeof(req_key), "%s/%s", cat, ca->rule ? ca->rule : "");
    struct or_customer *c = cust_of(ctx_state_find(ctx, a->customer_id));
    bool fired = false;
    for (size_t i = 0; i < inst->cfg->triggers.n; i++) {
        const struct or_trigger *t = trigger_at(inst->cfg, i);
        if (!listed(&t->categories, cat))
            continue;
        struct fire f = {.rep_id = ca->rep_id,
                         .opportunity_id = ca->opportunity_id,
                         .meeting_id = ca->meeting_id,
                         .document_id = ca->document_id,
                         .requirement = ca->message ? ca->message : cat,
                         .req_key = req_key,
                         .keyword = cat};
        if (fire(inst, ctx, &ev, &c, t, &f) != 0)
            return;
        fired = true;
    }
    if (fired && c)
        index_update(inst, a->customer_id, c);
}

/* A department's answer. DONE and REJECTED close an open item (CREATED or
 * OVERDUE) and re-emit it with that status; an answer to a closed item
 * changes nothing. An unknown id cannot be applied: DLQ. */
enum { OR_TO_DEPT = 'R' };

/* A DONE item's response time goes to its department's partition. */
static int to_dept(struct or_inst *inst, struct proc_ctx *ctx,
                   const struct or_item *it)
{
    buf_reset(&inst->msg);
    buf_put_u8(&inst->msg, OR_TO_DEPT);
    buf_put_i64(&inst->msg, it->closed - it->created);
    if (ctx_repartition(ctx, it->department, inst->msg.data, inst->msg.len) != 0) {
        ctx_fail(ctx, "cannot send to the repartition topic");
        return -1;
    }
    return 0;
}

/* Response times on /metrics: 1 min .. 1 week (an SLA of 30 min to a
 * few hours; the article's 42 h before). */
static const double or_response_le[] = {60, 300, 900, 1800, 3600, 7200,
                                        14400, 28800, 86400, 172800, 604800};
static const struct metrics_hist_def or_metrics[] = {
    {.name = "dealstream_work_item_response_seconds",
     .help = "Work items' response time, created to DONE (event time), by "
             "department, counted where the department's state counts it; "
             "_count is the DONE items.",
     .label = "department",
     .le = or_response_le,
     .n = sizeof(or_response_le) / sizeof(or_response_le[0])},
};

/* Department partition: one response time, counted once. */
static int at_dept(struct proc_ctx *ctx, const struct event *ev)
{
    const struct repartition_record *rr = &ev->u.repartition;
    struct buf_reader r;
    buf_reader_init(&r, rr->data, rr->len);
    uint8_t type = buf_get_u8(&r);
    int64_t ms = buf_get_i64(&r);
    if (r.err || r.p != r.end || type != OR_TO_DEPT || !ev->key) {
        ctx_fail(ctx, "not an orchestration record");
        return -1;
    }
    char key[512];
    int w = snprintf(key, sizeof(key), "%s%s", ev->key, OR_DEPT_SUFFIX);
    if (w < 0 || (size_t)w >= sizeof(key)) {
        ctx_fail(ctx, "department name too long");
        return -1;
    }
    struct or_obj *o = ctx_state(ctx, key, NULL);
    struct or_dept *d = &o->u.d;
    if (!repmarks_apply(&d->marks, rr))
        return 0; /* a copy re-sent after a crash */
    d->done++;
    d->sum_ms += ms;
    d->recent[d->next] = ms;
    d->next = (d->next + 1) % OR_DEPT_RECENT;
    if (d->n_recent < OR_DEPT_RECENT)
        d->n_recent++;
    if (ev->event_time > d->last_time)
        d->last_time = ev->event_time;
    ctx_state_dirty(ctx, key);
    ctx_observe(ctx, &or_metrics[0], ev->key, (double)ms / 1000.0);
    return 0;
}

static int on_update(struct or_inst *inst, struct proc_ctx *ctx,
                     const struct event *ev, struct or_customer *c)
{
    const struct work_item_update *wu = &ev->u.work_item_update;
    struct or_item *it = NULL;
    for (size_t i = 0; c && i < c->n && !it; i++)
        if (strcmp(c->v[i].id, wu->work_item_id) == 0)
            it = &c->v[i];
    if (!it) {
        ctx_fail(ctx, "no open or recent work item %s for customer %s",
                 wu->work_item_id, ev->customer_id);
        return -1;
    }
    if (it->closed >= 0)
        return 0;
    if (wu->status == WIU_ACKNOWLEDGED) {
        if (!it->acked) {
            it->acked = true;
            ctx_state_dirty(ctx, ev->customer_id);
        }
        return 0;
    }
    it->status = wu->status == WIU_DONE ? WI_DONE : WI_REJECTED;
    it->closed = ev->event_time;
    ctx_state_dirty(ctx, ev->customer_id);
    char dedup[300];
    snprintf(dedup, sizeof(dedup), "closed/%s", it->id);
    if (emit_item(inst, ctx, ev->customer_id, it, dedup, false, 0) != 0)
        return -1;
    return it->status == WI_DONE ? to_dept(inst, ctx, it) : 0;
}

static int or_handle(void *vinst, struct proc_ctx *ctx, const struct event *ev)
{
    struct or_inst *inst = vinst;
    if (ev->kind == EVENT_REPARTITION)
        return at_dept(ctx, ev);
    if (!ev->customer_id || !*ev->customer_id) {
        ctx_fail(ctx, "event without customer_id");
        return -1;
    }
    size_t n = strlen(ev->customer_id), sn = strlen(OR_DEPT_SUFFIX);
    if (n >= sn && strcmp(ev->customer_id + n - sn, OR_DEPT_SUFFIX) == 0) {
        ctx_fail(ctx, "customer id ends in " OR_DEPT_SUFFIX ", which names "
                      "a department's state");
        return -1;
    }
    if (strncmp(ev->customer_id, OR_WM_PREFIX, strlen(OR_WM_PREFIX)) == 0) {
        ctx_fail(ctx, "customer id starts with " OR_WM_PREFIX ", which names "
                      "a partition's stream time in this processor's state");
        return -1;
    }
    /* Every handled event advances its partition's stream time. */
    wm_advance(inst, ctx, ev->src.partition, ev->event_time);
    struct or_customer *c = cust_of(ctx_state_find(ctx, ev->customer_id));
    int rc = 0;
    switch (ev->kind) {
    case EVENT_TRANSCRIPT: {
        const struct transcript_segment *ts = &ev->u.transcript;
        if (ts->speaker_role != ROLE_CUSTOMER)
            break;
        struct fire base = {.rep_id = ts->rep_id, .meeting_id = ts->meeting_id};
        rc = on_text(inst, ctx, ev, &c, ts->text, true, &base);
        break;
    }
    case EVENT_ANNOTATION: {
        const struct doc_annotation *da = &ev->u.annotation;
        struct fire base = {.rep_id = da->rep_id,
                            .opportunity_id = da->opportunity_id,
                            .document_id = da->document_id};
        rc = on_text(inst, ctx, ev, &c, da->text, false, &base);
        break;
    }
    case EVENT_OPPORTUNITY:
        rc = on_stage(inst, ctx, ev, &c);
        break;
    case EVENT_WORK_ITEM_UPDATE:
        rc = on_update(inst, ctx, ev, c);
        break;
    default:
        break;
    }
    if (rc != 0 || !c)
        return rc;
    int j = judge(inst, ctx, ev->customer_id, c, false);
    if (j < 0)
        return -1;
    if (j || prune(inst, c))
        ctx_state_dirty(ctx, ev->customer_id);
    index_update(inst, ev->customer_id, c);
    if (c->n == 0)
        ctx_state_delete(ctx, ev->customer_id);
    return 0;
}

/* ---- on_timer ---- */

struct due_scan {
    const struct or_inst *inst;
    char **v; /* keys due */
    size_t n;
};

static int collect_due(void *arg, const char *key, void *val)
{
    struct due_scan *d = arg;
    const struct or_due *e = val;
    if (e->due > wm_of(d->inst, e->partition))
        return 0;
    char **v = realloc(d->v, (d->n + 1) * sizeof(*v));
    if (!v)
        abort();
    d->v = v;
    d->v[d->n++] = statecodec_strdup(key);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool in_parts(const int32_t *parts, size_t n, int32_t p)
{
    for (size_t i = 0; i < n; i++)
        if (parts[i] == p)
            return true;
    return false;
}

struct moving {
    struct or_inst *inst;
    struct proc_ctx *ctx;
    const int32_t *parts;
    size_t n;
    char **keys; /* leaving: the index's keys to drop */
    size_t n_keys;
    size_t moved;
};

static int collect_leaving(void *arg, const char *key, void *val)
{
    struct moving *m = arg;
    const struct or_due *e = val;
    if (!in_parts(m->parts, m->n, e->partition))
        return 0;
    char **v = realloc(m->keys, (m->n_keys + 1) * sizeof(*v));
    if (!v)
        abort();
    m->keys = v;
    m->keys[m->n_keys++] = statecodec_strdup(key);
    return 0;
}

static int index_arriving(void *arg, const char *key)
{
    struct moving *m = arg;
    struct or_customer *c = cust_of(ctx_state_find(m->ctx, key));
    if (!c || hmap_get(m->inst->due, key))
        return 0;
    bool ours = false; /* a customer's items share its partition */
    for (size_t i = 0; i < c->n && !ours; i++)
        ours = in_parts(m->parts, m->n, c->v[i].partition);
    if (!ours)
        return 0;
    index_update(m->inst, key, c);
    m->moved += hmap_get(m->inst->due, key) != NULL;
    return 0;
}

/*
 * The index follows the partitions (processor_ops.on_partitions): the
 * leaving ones' customers leave it (their next owner judges them); the
 * arriving ones' open items come in from the state, as after a restart,
 * so the timer needs no scan of the whole state.
 */
static void or_on_partitions(void *vinst, struct proc_ctx *ctx,
                             const int32_t *parts, size_t n, bool assigned)
{
    struct moving m = {vinst, ctx, parts, n, NULL, 0, 0};
    /* Stream time: a leaving partition's goes (the state keeps it for
     * its next owner); an arriving one's comes from the state, where the
     * previous owner, or this instance before a restart, left it. */
    streamtime_follow(&m.inst->part_time, ctx, parts, n, assigned);
    if (assigned) {
        ctx_state_foreach(ctx, index_arriving, &m);
        m.inst->wm_moved = true;
        if (m.moved)
            LOG_INF("orchestration", "%zu customers with open work items "
                    "arrived with %zu partitions", m.moved, n);
        return;
    }
    hmap_each(m.inst->due, collect_leaving, &m);
    for (size_t i = 0; i < m.n_keys; i++) {
        free(hmap_del(m.inst->due, m.keys[i]));
        free(m.keys[i]);
    }
    free(m.keys);
    if (m.n_keys)
        LOG_INF("orchestration", "%zu customers with open work items left "
                "with %zu partitions", m.n_keys, n);
}

/*
 * Items whose customers have no events of their own since their due time
 * are judged here, once their partition's stream time passed it: the
 * index names the customers with an open item due by now, the state
 * decides. now_ms is unused: the decision is a function of the events.
 */
static void or_on_timer(void *vinst, struct proc_ctx *ctx, int64_t now_ms)
{
    (void)now_ms;
    struct or_inst *inst = vinst;
    if (!inst->wm_moved)
        return;
    inst->wm_moved = false;
    struct due_scan d = {inst, NULL, 0};
    hmap_each(inst->due, collect_due, &d);
    if (d.n > 1) /* an order that does not depend on the hash map */
        qsort(d.v, d.n, sizeof(*d.v), cmp_str);
    for (size_t i = 0; i < d.n; i++) {
        struct or_customer *c = cust_of(ctx_state_find(ctx, d.v[i]));
        if (c && judge(inst, ctx, d.v[i], c, true) > 0)
            ctx_state_dirty(ctx, d.v[i]);
        index_update(inst, d.v[i], c);
        free(d.v[i]);
    }
    free(d.v);
}

/* See processor_ops.state_keys: the event's customer. */
static size_t or_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    (void)inst;
    if (max && ev->kind == EVENT_REPARTITION && ev->key)
        return out[0] = (struct state_key){{ev->key, OR_DEPT_SUFFIX}}, 1;
    if (!max || !ev->customer_id || !*ev->customer_id)
        return 0;
    out[0] = (struct state_key){{ev->customer_id}};
    return 1;
}

const struct processor_ops processor_orchestration = {
    .name = "orchestration",
    .description = "Work items for departments from triggers on customer "
                   "requirements and stage changes; updates close them, "
                   "SLAs make them OVERDUE",
    .inputs = EVENT_MASK(EVENT_TRANSCRIPT) | EVENT_MASK(EVENT_ANNOTATION) |
              EVENT_MASK(EVENT_OPPORTUNITY) |
              EVENT_MASK(EVENT_WORK_ITEM_UPDATE) |
              EVENT_MASK(EVENT_REPARTITION),
    .outputs = ALERT_MASK(ALERT_WORK_ITEM) | ALERT_MASK(ALERT_COACHING),
    .config = &orchestration_config_table,
    .init = or_init,
    .handle = or_handle,
    .on_timer = or_on_timer,
    .on_partitions = or_on_partitions,
    .on_alert = or_on_alert,
    .output_topics = or_output_topics,
    .destroy = or_destroy,
    .state_new = orchestration_state_new,
    .state_encode = orchestration_state_encode,
    .state_decode = orchestration_state_decode,
    .state_free = orchestration_state_free,
    .state_keys = or_state_keys,
    .state_to_json = orchestration_state_to_json,
    .metrics = or_metrics,
    .n_metrics = sizeof(or_metrics) / sizeof(or_metrics[0]),
};
