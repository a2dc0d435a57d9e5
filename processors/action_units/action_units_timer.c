/*
 * action_units_timer.c - what runs on stream time rather than on an event:
 * the per-partition stream time following its partition (the table and
 * its state objects: processors/shared/streamtime.c), and on_timer, which
 * judges the deadlines and pending claims the watermark has passed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_units.h"
#include "log.h"

struct au_due {
    char *key;
    int64_t deadline;
};

struct au_due_scan {
    int64_t watermark;
    int64_t next; /* smallest deadline not yet due */
    struct au_due *v;
    size_t n;
};

static int au_collect_due(void *arg, const char *key, void *val)
{
    struct au_due_scan *d = arg;
    int64_t deadline = *(const int64_t *)val;
    if (deadline > d->watermark) {
        if (deadline < d->next)
            d->next = deadline;
        return 0;
    }
    struct au_due *e = au_push(&d->v, &d->n, sizeof(*d->v));
    e->key = statecodec_strdup(key);
    e->deadline = deadline;
    return 0;
}

/* Deadline, then key: the emission order does not depend on the hash map. */
static int au_due_cmp(const void *pa, const void *pb)
{
    const struct au_due *a = pa, *b = pb;
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline ? -1 : 1;
    return strcmp(a->key, b->key);
}

struct au_rebuild {
    struct au_inst *inst;
    struct proc_ctx *ctx;
};

/* One key of the namespace: a customer's watched opportunities go into
 * the index (opportunity objects themselves are not loaded). */
static int au_rebuild_key(void *arg, const char *key)
{
    struct au_rebuild *rb = arg;
    if (au_key_is_opp(key))
        return 0;
    struct au_customer *cust = ctx_state_find(rb->ctx, key);
    if (!cust || cust->type != AU_OBJ_CUSTOMER)
        return 0;
    for (size_t i = 0; i < cust->n_opps; i++) {
        struct au_opp_ref *ref = &cust->opps[i];
        if (ref->watch_since >= 0)
            au_watch_set(rb->inst, key, ref, ref->watch_since);
        if (ref->claim_due >= 0) {
            char *k = au_opp_key(key, ref->id);
            int64_t *v = hmap_get(rb->inst->claims_due, k);
            if (!v) {
                v = au_xalloc(sizeof(*v));
                hmap_put(rb->inst->claims_due, k, v);
            }
            *v = ref->claim_due;
            if (ref->claim_due < rb->inst->next_claim_due)
                rb->inst->next_claim_due = ref->claim_due;
            free(k);
        }
    }
    return 0;
}

/* Stream time for a deadline of opp: its partition's, or the instance's
 * without provenance (format-1 records). */
static int64_t au_stream_time(const struct au_inst *inst,
                              const struct au_opp *opp)
{
    if (opp && opp->last_topic)
        return streamtime_of(&inst->part_time, opp->last_partition);
    return inst->watermark;
}

int64_t *au_wm_time(void *obj)
{
    struct au_wm *w = obj;
    return w->type == AU_OBJ_WATERMARK ? &w->stream_time : NULL;
}

/* Leaving partitions take their stream time with them (the state keeps
 * it for their next owner); arriving ones bring theirs from the state,
 * where the previous owner or this instance before a restart left it.
 * The instance's watermark (a gate for on_timer's scans, and the stream
 * time of opportunities without provenance) is then the largest of the
 * partitions it owns. */
void au_on_partitions(void *vinst, struct proc_ctx *ctx,
                      const int32_t *parts, size_t n, bool assigned)
{
    struct au_inst *inst = vinst;
    streamtime_follow(&inst->part_time, ctx, parts, n, assigned);
    inst->watermark = streamtime_max(&inst->part_time);
    inst->has_watermark = inst->watermark != INT64_MIN;
    /* Deadlines a restored stream time already passed are judged at the
     * next tick. */
    inst->next_due = INT64_MIN;
    inst->next_claim_due = INT64_MIN;
}

/* A due index entry: re-checked against the state, which is the truth. */
static void au_timer_judge(struct au_inst *inst, struct proc_ctx *ctx,
                           const char *key)
{
    const char *sep = strstr(key, AU_OPP_INFIX);
    if (!sep) {
        au_pending_del(inst, key);
        return;
    }
    size_t cn = (size_t)(sep - key);
    char *cid = au_xalloc(cn + 1);
    memcpy(cid, key, cn);
    struct au_customer *cust = ctx_state_find(ctx, cid);
    struct au_opp_ref *ref = NULL;
    if (cust && cust->type == AU_OBJ_CUSTOMER)
        ref = au_ref_find(cust, sep + strlen(AU_OPP_INFIX));
    if (!ref || ref->watch_since < 0) {
        au_pending_del(inst, key); /* judged or dropped meanwhile */
        goto out;
    }
    struct au_opp *opp = ctx_state_find(ctx, key);
    if (opp && opp->last_topic &&
        !ctx_owns(ctx, opp->last_topic, opp->last_partition)) {
        /* Its partition moved to another instance, which judges it; this
         * copy is stale. Back in the index if the partition returns. */
        au_pending_del(inst, key);
        goto out;
    }
    int64_t deadline = au_deadline(inst, ref->watch_since);
    if (deadline > au_stream_time(inst, opp)) {
        au_pending_put(inst, key, deadline); /* stale entry */
        goto out;
    }
    if (!opp || !opp->last_event_id) {
        /* No event to cite (a format-1 record untouched since the
         * upgrade): left to the per-event path, which still watches it. */
        au_pending_del(inst, key);
        LOG_RL(LOG_INFO, "action_units",
               "%s: no last event recorded; deadline left to the next event "
               "of the customer", key);
        goto out;
    }
    au_judge_incomplete(inst, ctx, cid, cust, ref, key, opp, deadline, true);
out:
    free(cid);
}

/* A due entry of claims_due: re-checked against the state. */
static void au_claim_timer_judge(struct au_inst *inst, struct proc_ctx *ctx,
                                 const char *key)
{
    const char *sep = strstr(key, AU_OPP_INFIX);
    if (!sep) {
        free(hmap_del(inst->claims_due, key));
        return;
    }
    size_t cn = (size_t)(sep - key);
    char *cid = au_xalloc(cn + 1);
    memcpy(cid, key, cn);
    struct au_customer *cust = ctx_state_find(ctx, cid);
    struct au_opp_ref *ref = NULL;
    if (cust && cust->type == AU_OBJ_CUSTOMER)
        ref = au_ref_find(cust, sep + strlen(AU_OPP_INFIX));
    struct au_opp *opp = ref ? ctx_state_find(ctx, key) : NULL;
    if (!ref || ref->claim_due < 0 || !opp ||
        (opp->last_topic &&
         !ctx_owns(ctx, opp->last_topic, opp->last_partition))) {
        /* judged, dropped, or another instance's now */
        free(hmap_del(inst->claims_due, key));
        goto out;
    }
    int64_t now = au_claim_now(ctx, opp->last_topic ? opp->last_partition : -1,
                               au_stream_time(inst, opp));
    if (ref->claim_due > now) {
        /* Not due in its own partition's stream time: stays indexed. */
        if (ref->claim_due < inst->next_claim_due)
            inst->next_claim_due = ref->claim_due;
        goto out;
    }
    au_claims_judge_due(inst, ctx, cid, cust, key, opp, now);
out:
    free(cid);
}

/* Deferred stage claims whose due time stream time has passed. */
static void au_claims_on_timer(struct au_inst *inst, struct proc_ctx *ctx)
{
    if (inst->next_claim_due > inst->watermark)
        return;
    struct au_due_scan d = {.watermark = inst->watermark, .next = INT64_MAX};
    hmap_each(inst->claims_due, au_collect_due, &d);
    inst->next_claim_due = d.next;
    if (d.n > 1)
        qsort(d.v, d.n, sizeof(*d.v), au_due_cmp);
    for (size_t i = 0; i < d.n; i++) {
        au_claim_timer_judge(inst, ctx, d.v[i].key);
        free(d.v[i].key);
    }
    free(d.v);
}

/*
 * Fires action_units_incomplete for every watched opportunity whose
 * deadline the stream-time watermark has passed, and judges the deferred
 * stage claims due. now_ms (wall clock) is deliberately unused: the
 * decision is a function of the events alone.
 */
void au_on_timer(void *vinst, struct proc_ctx *ctx, int64_t now_ms)
{
    (void)now_ms;
    struct au_inst *inst = vinst;
    bool claims = inst->cfg->evidence_grace_ms > 0 &&
                  inst->cfg->rules.stage_claim_unsupported.enabled;
    if (!inst->cfg->rules.action_units_incomplete.enabled && !claims)
        return;
    if (!inst->indexed || inst->indexed_at != ctx_assignment(ctx)) {
        /* First tick since init: the index knows only what events touched
         * since; the state knows every watch. Entries already there are
         * overwritten with the same values. */
        struct au_rebuild rb = {inst, ctx};
        ctx_state_foreach(ctx, au_rebuild_key, &rb);
        inst->indexed = true;
        inst->indexed_at = ctx_assignment(ctx);
    }
    if (!inst->has_watermark)
        return;
    if (claims)
        au_claims_on_timer(inst, ctx);
    if (!inst->cfg->rules.action_units_incomplete.enabled ||
        inst->next_due > inst->watermark)
        return;
    struct au_due_scan d = {.watermark = inst->watermark, .next = INT64_MAX};
    hmap_each(inst->pending, au_collect_due, &d);
    inst->next_due = d.next; /* re-lowered by any entry put back below */
    if (d.n > 1)
        qsort(d.v, d.n, sizeof(*d.v), au_due_cmp);
    for (size_t i = 0; i < d.n; i++) {
        au_timer_judge(inst, ctx, d.v[i].key);
        free(d.v[i].key);
    }
    free(d.v);
}
