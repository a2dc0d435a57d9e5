/*
 * action_units_claims.c - the stage_claim_unsupported rule: a CRM move past
 * a stage whose action units are not all evidenced. A claim is judged once
 * the group watermark has passed its time plus action_units.evidence_grace
 * (late evidence may still arrive, docs/TIME.md); one already alerted that
 * evidence later supports gets a follow-up carrying resolves_alert_id.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_units.h"
#include "log.h"

static void au_claim_free(struct au_claim *cl)
{
    free(cl->event_id);
    free(cl->from);
    free(cl->to);
    au_strvec_free(&cl->stages);
    free(cl->alert_id);
    free(cl->first);
    free(cl->topic);
}

/* A new claim at the end of opp's list; the oldest goes beyond
 * AU_MAX_CLAIMS (a pending one is then never judged). */
static struct au_claim *au_claim_add(struct au_opp *opp)
{
    if (opp->n_claims >= AU_MAX_CLAIMS) {
        au_claim_free(&opp->claims[0]);
        au_remove(opp->claims, &opp->n_claims, sizeof(*opp->claims), 0);
    }
    struct au_claim *cl = au_push(&opp->claims, &opp->n_claims,
                                  sizeof(*opp->claims));
    memset(cl, 0, sizeof(*cl));
    return cl;
}

static int64_t au_claim_due_of(const struct au_inst *inst, int64_t at)
{
    int64_t g = inst->cfg->evidence_grace_ms;
    return at > INT64_MAX - g ? INT64_MAX : at + g;
}

/* Sets the customer's claim_due for opp (its earliest pending claim's
 * due time, or -1) and mirrors it into on_timer's index. */
static void au_claim_due_sync(struct au_inst *inst, const char *customer_id,
                              struct au_customer *cust,
                              const struct au_opp *opp)
{
    struct au_opp_ref *ref = au_ref_find(cust, opp->id);
    if (!ref)
        return;
    int64_t due = -1;
    for (size_t i = 0; i < opp->n_claims; i++) {
        const struct au_claim *cl = &opp->claims[i];
        int64_t d = au_claim_due_of(inst, cl->at);
        if (cl->state == AU_CLAIM_PENDING && (due < 0 || d < due))
            due = d;
    }
    ref->claim_due = due;
    char *key = au_opp_key(customer_id, opp->id);
    if (due < 0) {
        free(hmap_del(inst->claims_due, key));
    } else {
        int64_t *v = hmap_get(inst->claims_due, key);
        if (!v) {
            v = au_xalloc(sizeof(*v));
            hmap_put(inst->claims_due, key, v);
        }
        *v = due;
        if (due < inst->next_claim_due)
            inst->next_claim_due = due;
    }
    free(key);
}

/* The stages of [first, to) that lack units now, with what is missing
 * (evid), the unit counts and the number of units missing. */
static size_t au_claim_gaps(const struct au_inst *inst,
                            const struct au_customer *cust,
                            const struct au_opp *opp,
                            const struct au_ind_rt *ind, ssize_t first,
                            ssize_t to, const struct au_templates *tpl,
                            bool zh, struct au_strvec *evid,
                            struct au_strvec *stages, int64_t *have,
                            int64_t *need)
{
    size_t units_missing = 0;
    struct au_evidence docs;
    au_evidence_build(inst, cust, opp, &docs);
    for (ssize_t s = first; s < to; s++) {
        const char *stage = ind->cfg->stages.v[s];
        size_t m = au_stage_gaps(ind->cfg, stage, &docs, tpl, zh, evid,
                                 have, need);
        if (m) {
            units_missing += m;
            au_strvec_add(stages, stage);
        }
    }
    au_evidence_free(&docs);
    return units_missing;
}

/* What a claim judgement needs to say. */
struct au_claim_call {
    const char *customer_id;
    const struct event *ev; /* the claim's own event; NULL when deferred */
    const struct au_claim *cl; /* deferred: the claim (its provenance) */
    int64_t at;             /* deferred: the event time the alert carries */
    const char *from_name, *to_name, *rep_id;
    ssize_t first, to;
};

/* Judges a stage claim now: 1 and *alert_id (malloc'd) when
 * stage_claim_unsupported was emitted, *stages the stages without units;
 * 0 when the claim is supported. On its own event (no grace) the alert_id
 * is derived from that event as it always was; a deferred judgement's from
 * the claim alone (id_from_state), since the event time it is judged at
 * depends on which later event or timer tick gets there. */
static int au_claim_judge(struct au_inst *inst, struct proc_ctx *ctx,
                          struct au_customer *cust, struct au_opp *opp,
                          const struct au_ind_rt *ind,
                          const struct au_claim_call *c,
                          struct au_strvec *stages, char **alert_id)
{
    const struct au_rule *rule = &inst->cfg->rules.stage_claim_unsupported;
    const struct au_templates *tpl = au_tpl(inst, au_opp_lang(cust, opp));
    bool zh = tpl == &inst->cfg->messages.zh;
    struct au_strvec evid = {0};
    int64_t have = 0, need = 0;
    size_t units_missing = au_claim_gaps(inst, cust, opp, ind, c->first, c->to,
                                         tpl, zh, &evid, stages, &have, &need);
    if (units_missing == 0) {
        au_strvec_free(&evid);
        return 0;
    }
    char *missing = au_join(&evid, tpl->separator);
    char *stage_list = au_join(stages, zh ? "、" : ", ");
    char hs[24], ns[24];
    snprintf(hs, sizeof(hs), "%lld", (long long)have);
    snprintf(ns, sizeof(ns), "%lld", (long long)need);
    const struct au_var vars[] = {{"opportunity", opp->id},
                                  {"from", c->from_name},
                                  {"to", c->to_name},
                                  {"stage", stage_list},
                                  {"missing", missing},
                                  {"have", hs},
                                  {"need", ns}};
    char *msg = au_render_dup(tpl->stage_claim, vars, CFG_COUNT(vars));
    const struct metric metrics[] = {
        {"have", (double)have},
        {"need", (double)need},
        {"units_missing", (double)units_missing},
        {"stages_unsupported", (double)stages->n}};
    const char *eid = c->ev ? c->ev->event_id : c->cl->event_id;
    size_t dn = strlen(opp->id) + strlen(c->to_name) +
                (c->ev ? 0 : strlen(eid ? eid : "")) + 40;
    char *dedup = au_xalloc(dn);
    if (c->ev)
        snprintf(dedup, dn, "stage_claim_unsupported/%s/%s", opp->id,
                 c->to_name);
    else
        snprintf(dedup, dn, "stage_claim_unsupported/%s/%s/%s", opp->id,
                 c->to_name, eid ? eid : "");
    struct alert a;
    memset(&a, 0, sizeof(a));
    a.kind = ALERT_COACHING;
    a.customer_id = c->customer_id;
    a.dedup_key = dedup;
    a.u.coaching = (struct coaching_alert){
        .rep_id = c->rep_id,
        .opportunity_id = opp->id,
        .rule = "stage_claim_unsupported",
        .category = CAT_STAGE_CLAIM_UNSUPPORTED,
        .severity = (enum alert_severity)rule->severity,
        .message = msg,
        .metrics = metrics,
        .n_metrics = CFG_COUNT(metrics),
        .evidence = (const char *const *)evid.v,
        .n_evidence = evid.n,
    };
    if (!c->ev) {
        a.id_from_state = true;
        a.trigger_event_id = eid ? eid : "";
        a.src.topic = c->cl->topic ? c->cl->topic : "";
        a.src.partition = c->cl->partition;
        a.src.offset = c->cl->offset;
        a.event_time = c->at;
    }
    if (ctx_emit(ctx, &a) != 0)
        LOG_RL(LOG_WARN, "action_units", "could not emit %s for %s",
               "stage_claim_unsupported", c->customer_id);
    *alert_id = statecodec_strdup(a.alert_id);
    free(dedup);
    free(msg);
    free(stage_list);
    free(missing);
    au_strvec_free(&evid);
    return 1;
}

/* Raises stage_claim_unsupported when a stage in [from, to) lacks units,
 * and records the claim so inspect can later show it supported. With
 * evidence_grace the claim waits (PENDING) for late evidence instead:
 * judged by au_claims_due() once stream time passes at + grace. */
void au_check_claim(struct au_inst *inst, struct proc_ctx *ctx,
                    const struct event *ev, struct au_customer *cust,
                    struct au_opp *opp, const struct au_ind_rt *ind)
{
    const struct opportunity_update *up = &ev->u.opportunity;
    const struct au_rule *rule = &inst->cfg->rules.stage_claim_unsupported;
    ssize_t to = au_stage_index(ind->cfg, up->stage_to);
    ssize_t a = au_stage_index(ind->cfg, up->stage_from);
    ssize_t b = au_stage_index(ind->cfg, opp->stage);
    ssize_t from = a < 0 ? b : b < 0 ? a : (a < b ? a : b);
    if (!rule->enabled || to < 0 || from < 0 || to <= from)
        return;
    const char *from_name = up->stage_from ? up->stage_from : opp->stage;
    struct au_strvec stages = {0};
    char *alert_id = NULL;
    if (inst->cfg->evidence_grace_ms > 0) {
        const struct au_templates *tpl = au_tpl(inst, au_opp_lang(cust, opp));
        struct au_strvec evid = {0};
        int64_t have = 0, need = 0;
        size_t m = au_claim_gaps(inst, cust, opp, ind, from, to, tpl,
                                 tpl == &inst->cfg->messages.zh, &evid,
                                 &stages, &have, &need);
        au_strvec_free(&evid);
        if (m == 0)
            goto out; /* the evidence is complete already */
    } else {
        struct au_claim_call c = {
            .customer_id = ev->customer_id,
            .ev = ev,
            .from_name = from_name,
            .to_name = up->stage_to,
            .rep_id = up->rep_id ? up->rep_id : opp->rep_id,
            .first = from,
            .to = to,
        };
        if (au_claim_judge(inst, ctx, cust, opp, ind, &c, &stages,
                           &alert_id) == 0)
            goto out;
    }
    struct au_claim *cl = au_claim_add(opp);
    cl->event_id = statecodec_strdup(ev->event_id);
    cl->from = statecodec_strdup(from_name);
    cl->to = statecodec_strdup(up->stage_to);
    cl->at = ev->event_time;
    cl->stages = stages;
    stages.v = NULL;
    stages.n = 0;
    cl->state = alert_id ? AU_CLAIM_ALERTED : AU_CLAIM_PENDING;
    cl->alert_id = alert_id;
    cl->first = statecodec_strdup(ind->cfg->stages.v[from]);
    cl->topic = statecodec_strdup(ev->src.topic);
    cl->partition = ev->src.partition;
    cl->offset = ev->src.offset;
    if (!alert_id)
        au_claim_due_sync(inst, ev->customer_id, cust, opp);
out:
    au_strvec_free(&stages);
}

/* Whether every stage of the claim's range has its units now, by the
 * status snapshot au_opp_refresh() just built. */
static bool au_claim_supported_now(const struct au_inst *inst,
                                   const struct au_customer *cust,
                                   const struct au_opp *opp,
                                   const struct au_claim *cl)
{
    const struct au_ind_rt *ind =
        au_industry_find(inst, au_opp_industry(inst, cust, opp));
    if (!ind)
        return false;
    ssize_t first = au_stage_index(ind->cfg, cl->first ? cl->first : cl->from);
    ssize_t to = au_stage_index(ind->cfg, cl->to);
    if (first < 0 || to <= first)
        return false;
    for (ssize_t s = first; s < to; s++)
        for (size_t k = 0; k < opp->n_status; k++)
            if (strcmp(opp->status[k].name, ind->cfg->stages.v[s]) == 0 &&
                !opp->status[k].supported)
                return false;
    return true;
}

/*
 * After opp's evidence changed (its refresh): a pending claim now
 * supported is settled without a word; an alerted one gets a follow-up
 * naming the alert it resolves, once (RESOLVED). Claims from before
 * format 3 kept no alert_id and are left alone.
 */
void au_claims_recheck(struct au_inst *inst, struct proc_ctx *ctx,
                       const struct event *ev,
                       struct au_customer *cust, struct au_opp *opp)
{
    bool pending_gone = false;
    for (size_t i = 0; i < opp->n_claims;) {
        struct au_claim *cl = &opp->claims[i];
        if ((cl->state == AU_CLAIM_PENDING ||
             (cl->state == AU_CLAIM_ALERTED && cl->alert_id)) &&
            au_claim_supported_now(inst, cust, opp, cl)) {
            if (cl->state == AU_CLAIM_PENDING) {
                au_claim_free(cl);
                au_remove(opp->claims, &opp->n_claims, sizeof(*opp->claims),
                          i);
                pending_gone = true;
                continue;
            }
            const struct au_templates *tpl =
                au_tpl(inst, au_opp_lang(cust, opp));
            bool zh = tpl == &inst->cfg->messages.zh;
            char msg[512], dedup[512];
            snprintf(msg, sizeof(msg),
                     zh ? "商机 %s 进入 %s 的阶段证据已补齐，之前的告警已解决。"
                        : "Opportunity %s: the evidence for the move to %s "
                          "has arrived; the earlier alert is resolved.",
                     opp->id, cl->to);
            snprintf(dedup, sizeof(dedup), "stage_claim_resolved/%s/%s/%s",
                     opp->id, cl->to, cl->alert_id);
            const struct metric metrics[] = {{"claim_at", (double)cl->at}};
            struct coaching_alert ca = {
                .rep_id = opp->rep_id,
                .opportunity_id = opp->id,
                .rule = "stage_claim_unsupported",
                .category = CAT_STAGE_CLAIM_UNSUPPORTED,
                .severity = SEV_INFO,
                .message = msg,
                .metrics = metrics,
                .n_metrics = CFG_COUNT(metrics),
                .resolves_alert_id = cl->alert_id,
            };
            au_emit(ctx, ev, dedup, &ca);
            cl->state = AU_CLAIM_RESOLVED;
        }
        i++;
    }
    if (pending_gone)
        au_claim_due_sync(inst, ev->customer_id, cust, opp);
}

/* Judges opp's pending claims whose due time `now` (stream time) has
 * passed: the alert when units still lack, nothing when they came. */
void au_claims_judge_due(struct au_inst *inst, struct proc_ctx *ctx,
                         const char *customer_id,
                         struct au_customer *cust, const char *key,
                         struct au_opp *opp, int64_t now)
{
    const struct au_ind_rt *ind =
        au_industry_find(inst, au_opp_industry(inst, cust, opp));
    ctx_state_dirty(ctx, key);
    ctx_state_dirty(ctx, customer_id);
    for (size_t i = 0; i < opp->n_claims;) {
        struct au_claim *cl = &opp->claims[i];
        int64_t due = au_claim_due_of(inst, cl->at);
        if (cl->state != AU_CLAIM_PENDING || due > now) {
            i++;
            continue;
        }
        ssize_t first = ind ? au_stage_index(ind->cfg, cl->first ? cl->first
                                                                 : cl->from)
                            : -1;
        ssize_t to = ind ? au_stage_index(ind->cfg, cl->to) : -1;
        struct au_strvec stages = {0};
        char *alert_id = NULL;
        struct au_claim_call c = {
            .customer_id = customer_id,
            .cl = cl,
            .at = due,
            .from_name = cl->from ? cl->from : "",
            .to_name = cl->to,
            .rep_id = opp->rep_id,
            .first = first,
            .to = to,
        };
        if (first >= 0 && to > first &&
            au_claim_judge(inst, ctx, cust, opp, ind, &c, &stages,
                           &alert_id) == 1) {
            au_strvec_free(&cl->stages);
            cl->stages = stages;
            cl->state = AU_CLAIM_ALERTED;
            cl->alert_id = alert_id;
            i++;
            continue;
        }
        au_strvec_free(&stages);
        au_claim_free(cl);
        au_remove(opp->claims, &opp->n_claims, sizeof(*opp->claims), i);
    }
    au_claim_due_sync(inst, customer_id, cust, opp);
}

/* The stream time pending claims are judged against: `t` (the event's,
 * or its partition's), held back to the partition group's watermark when
 * the runtime knows it, so evidence on a lagging topic (OCR behind the
 * CRM) is waited for until that topic too has passed the claim's time
 * plus the grace (docs/TIME.md). */
int64_t au_claim_now(struct proc_ctx *ctx, int32_t partition, int64_t t)
{
    int64_t wm;
    if (partition >= 0 && ctx_watermark(ctx, partition, &wm) == 1 && wm < t)
        return wm;
    return t;
}

/* The per-event path: the customer's claims due by this event's time. */
void au_check_claims_due(struct au_inst *inst, struct proc_ctx *ctx,
                         const struct event *ev,
                         struct au_customer *cust)
{
    /* The group's watermark only when a claim could be due: most events
     * have none pending, and it is never past the event's own time. */
    bool have_now = false;
    int64_t now = ev->event_time;
    for (size_t i = 0; i < cust->n_opps; i++) {
        struct au_opp_ref *ref = &cust->opps[i];
        if (ref->claim_due < 0 || ref->claim_due > ev->event_time)
            continue;
        if (!have_now) {
            now = au_claim_now(ctx, ev->src.partition, ev->event_time);
            have_now = true;
        }
        if (ref->claim_due > now)
            continue;
        char *key = au_opp_key(ev->customer_id, ref->id);
        struct au_opp *opp = ctx_state(ctx, key, NULL);
        if (!opp->id)
            opp->id = statecodec_strdup(ref->id);
        au_claims_judge_due(inst, ctx, ev->customer_id, cust, key, opp,
                            now);
        free(key);
    }
}
