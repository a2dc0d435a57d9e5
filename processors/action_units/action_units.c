/*
 * action_units.c - verifies the atomic actions ("action units") of a sales
 * stage from document evidence, and flags stage claims that lack them.
 *
 * CRM stage fields are unreliable, so the processor keeps its own view of
 * each opportunity: which documents evidence which of its industry's units,
 * which stage the CRM says it is in and since when. Three rules:
 * missing_keywords (a VISIT_REPORT lacking required keywords),
 * stage_claim_unsupported (a move past a stage whose units are not all
 * evidenced) and action_units_incomplete (a stage entered `after` ago, in
 * event time, with units still missing). Texts and keywords pass through
 * the confusable canonicalisation (confusables.h) before the matcher, as
 * OCR mixes up 己/已/巳 and 0/O. The decisions behind the rules are in
 * docs/PROCESSORS.md; config, state and evidence have files of their own.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "action_units.h"
#include "log.h"
#include "strjoin.h"
#include "utf8.h"

/* ------------------------------------------------------------------ */
/* Instance                                                            */
/* ------------------------------------------------------------------ */

static void au_destroy(void *vinst)
{
    struct au_inst *inst = vinst;
    if (!inst)
        return;
    for (size_t i = 0; i < inst->n_ind; i++)
        matcher_free(inst->ind[i].m);
    free(inst->ind);
    confusables_free(inst->conf);
    buf_free(&inst->canon);
    free(inst->hit);
    hmap_free(inst->pending, free);
    hmap_free(inst->claims_due, free);
    streamtime_free(&inst->part_time);
    free(inst);
}

/* Adds `phrase`, canonicalised, under `id`. */
static int au_add_phrase(struct au_inst *inst, struct matcher_builder *mb,
                         const char *phrase, unsigned id)
{
    buf_reset(&inst->canon);
    confusables_canon(inst->conf, phrase, &inst->canon);
    return matcher_builder_add(mb, (const char *)inst->canon.data, id);
}

static int au_init(const void *vcfg, void **out, char *err, size_t errlen)
{
    const struct au_config *cfg = vcfg;
    struct au_inst *inst = au_xalloc(sizeof(*inst));
    struct matcher_builder *mb = NULL;
    int rc = -1;

    *out = NULL;
    inst->cfg = cfg;
    buf_init(&inst->canon);
    inst->pending = hmap_new();
    inst->next_due = INT64_MAX;
    inst->claims_due = hmap_new();
    inst->next_claim_due = INT64_MAX;
    streamtime_init(&inst->part_time, "action_units", au_wm_time);
    if (confusables_new((const char *const *)cfg->confusables.v,
                        cfg->confusables.n, &inst->conf, err, errlen) != 0)
        goto out;
    const struct au_industry *inds = cfg->industries.items;
    inst->ind = au_xalloc(cfg->industries.n * sizeof(*inst->ind));
    inst->n_ind = cfg->industries.n;
    size_t stride = 1;
    for (size_t i = 0; i < cfg->industries.n; i++) {
        const struct au_industry *ind = &inds[i];
        inst->ind[i].cfg = ind;
        if (au_industry_validate(ind, err, errlen))
            goto out;
        if (ind->required_keywords.n > stride)
            stride = ind->required_keywords.n;
        if (ind->scenarios.n > stride)
            stride = ind->scenarios.n;
        if (ind->units.n > stride)
            stride = ind->units.n;
        mb = matcher_builder_new();
        if (!mb) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        int bad = 0;
        for (size_t k = 0; k < ind->required_keywords.n; k++)
            bad |= au_add_phrase(inst, mb, ind->required_keywords.v[k],
                                 AU_ID(AU_ID_REQUIRED, k));
        const struct au_scenario *sc = ind->scenarios.items;
        for (size_t k = 0; k < ind->scenarios.n; k++) {
            bad |= au_add_phrase(inst, mb, sc[k].name, AU_ID(AU_ID_SCENARIO, k));
            for (size_t j = 0; j < sc[k].synonyms.n; j++)
                bad |= au_add_phrase(inst, mb, sc[k].synonyms.v[j],
                                     AU_ID(AU_ID_SCENARIO, k));
        }
        const struct au_unit *u = ind->units.items;
        for (size_t k = 0; k < ind->units.n; k++)
            for (size_t j = 0; j < u[k].keywords.n; j++)
                bad |= au_add_phrase(inst, mb, u[k].keywords.v[j],
                                     AU_ID(AU_ID_UNIT, k));
        if (bad) {
            snprintf(err, errlen,
                     "industries.%s: a keyword or synonym is empty once "
                     "normalised", ind->name);
            goto out;
        }
        char merr[256] = "";
        if (matcher_build(mb, &inst->ind[i].m, merr, sizeof(merr)) != 0) {
            snprintf(err, errlen, "industries.%s: %s", ind->name, merr);
            goto out;
        }
        matcher_builder_free(mb);
        mb = NULL;
    }
    inst->hit_stride = stride;
    inst->hit = au_xalloc(4 * stride * sizeof(*inst->hit));
    *out = inst;
    inst = NULL;
    rc = 0;
out:
    matcher_builder_free(mb);
    au_destroy(inst);
    return rc;
}

const struct au_ind_rt *au_industry_find(const struct au_inst *inst,
                                         const char *name)
{
    for (size_t i = 0; name && i < inst->n_ind; i++)
        if (strcmp(inst->ind[i].cfg->name, name) == 0)
            return &inst->ind[i];
    return NULL;
}

static const char *au_default_industry(const struct au_inst *inst)
{
    const char *d = inst->cfg->default_industry;
    return d && *d ? d : NULL;
}

/* ---- matching ---- */

struct au_scan {
    bool *hit;
    size_t stride;
};

static int au_on_hit(void *arg, unsigned id, size_t from, size_t to)
{
    (void)from;
    (void)to;
    struct au_scan *s = arg;
    unsigned kind = id >> AU_ID_SHIFT;
    size_t idx = id & ((1u << AU_ID_SHIFT) - 1);
    if (kind <= 3 && idx < s->stride)
        s->hit[kind * s->stride + idx] = true;
    return 0;
}

/* Scans text with the industry's matcher; then au_hit() tells what matched. */
static int au_match(struct au_inst *inst, const struct au_ind_rt *ind,
                    const char *text)
{
    memset(inst->hit, 0, 4 * inst->hit_stride * sizeof(*inst->hit));
    buf_reset(&inst->canon);
    confusables_canon(inst->conf, text, &inst->canon);
    struct au_scan s = {inst->hit, inst->hit_stride};
    return matcher_scan(ind->m, (const char *)inst->canon.data, NULL,
                        au_on_hit, &s);
}

static bool au_hit(const struct au_inst *inst, unsigned kind, size_t idx)
{
    return inst->hit[kind * inst->hit_stride + idx];
}

/* Chinese when CJK ideographs make at least cjk_ratio of the ideographs
 * plus Latin letters; unknown when the text has neither. */
static uint8_t au_detect_lang(const struct au_inst *inst, const char *text)
{
    size_t cjk = 0, latin = 0, k;
    uint32_t cp;
    for (const char *p = text ? text : "";
         (k = utf8_next(p, &cp)) > 0; p += k) {
        if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
            (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x2ffff))
            cjk++;
        else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                 (cp >= 0xff21 && cp <= 0xff3a) || (cp >= 0xff41 && cp <= 0xff5a))
            latin++;
    }
    if (cjk + latin == 0)
        return AU_LANG_UNKNOWN;
    return (double)cjk >= inst->cfg->cjk_ratio * (double)(cjk + latin)
               ? AU_LANG_ZH
               : AU_LANG_EN;
}

const struct au_templates *au_tpl(const struct au_inst *inst,
                                  uint8_t lang)
{
    if (lang == AU_LANG_UNKNOWN)
        lang = inst->cfg->default_language == 1 ? AU_LANG_EN : AU_LANG_ZH;
    return lang == AU_LANG_EN ? &inst->cfg->messages.en
                              : &inst->cfg->messages.zh;
}

/* ---- message rendering ---- */

/* Appends tpl with {name} replaced from vars; unknown names stay as they
 * are (the config check refuses them anyway). NUL-terminates. */
static void au_render(struct buf *out, const char *tpl,
                      const struct au_var *vars, size_t n)
{
    const char *p = tpl ? tpl : "";
    while (*p) {
        if (*p == '{') {
            const char *q = strchr(p, '}');
            bool done = false;
            for (size_t i = 0; q && i < n && !done; i++) {
                size_t len = strlen(vars[i].name);
                if ((size_t)(q - p - 1) == len &&
                    strncmp(p + 1, vars[i].name, len) == 0) {
                    const char *v = vars[i].value ? vars[i].value : "-";
                    buf_append(out, v, strlen(v));
                    p = q + 1;
                    done = true;
                }
            }
            if (done)
                continue;
        }
        buf_append(out, p, 1);
        p++;
    }
    buf_reserve(out, 1);
    out->data[out->len] = '\0';
}

char *au_render_dup(const char *tpl, const struct au_var *vars,
                    size_t n)
{
    struct buf b;
    buf_init(&b);
    au_render(&b, tpl, vars, n);
    char *s = statecodec_strdup((const char *)b.data);
    buf_free(&b);
    return s;
}

char *au_join(const struct au_strvec *sv, const char *sep)
{
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < sv->n; i++) {
        if (i)
            buf_append(&b, sep, strlen(sep));
        buf_append(&b, sv->v[i], strlen(sv->v[i]));
    }
    buf_reserve(&b, 1);
    b.data[b.len] = '\0';
    char *s = statecodec_strdup((const char *)b.data);
    buf_free(&b);
    return s;
}

/* Emits for `customer_id`. With `prov` (on_timer: no current event) the
 * alert cites prov's last event and event time `at`; without it the
 * runtime stamps the event being handled. */
static void au_emit_from(struct proc_ctx *ctx, const char *customer_id,
                         const struct au_opp *prov, int64_t at,
                         const char *dedup, bool id_from_state,
                         const struct coaching_alert *ca, char **id_out)
{
    struct alert a;
    memset(&a, 0, sizeof(a));
    a.kind = ALERT_COACHING;
    a.customer_id = customer_id;
    a.dedup_key = dedup;
    a.id_from_state = id_from_state;
    a.u.coaching = *ca;
    if (prov) {
        a.trigger_event_id = prov->last_event_id;
        a.src.topic = prov->last_topic;
        a.src.partition = prov->last_partition;
        a.src.offset = prov->last_offset;
        a.event_time = at;
    }
    if (ctx_emit(ctx, &a) != 0)
        LOG_RL(LOG_WARN, "action_units", "could not emit %s for %s",
               ca->rule, customer_id);
    if (id_out)
        *id_out = statecodec_strdup(a.alert_id);
}

void au_emit(struct proc_ctx *ctx, const struct event *ev,
             const char *dedup, const struct coaching_alert *ca)
{
    au_emit_from(ctx, ev->customer_id, NULL, 0, dedup, false, ca, NULL);
}

/* ------------------------------------------------------------------ */
/* Customer and opportunity bookkeeping                                */
/* ------------------------------------------------------------------ */

char *au_opp_key(const char *customer, const char *opp)
{
    size_t n = strlen(customer) + strlen(AU_OPP_INFIX) + strlen(opp) + 1;
    char *k = au_xalloc(n);
    strjoin3(k, n, customer, AU_OPP_INFIX, opp);
    return k;
}

const char *au_opp_industry(const struct au_inst *inst,
                            const struct au_customer *cust,
                            const struct au_opp *opp)
{
    if (opp && opp->industry)
        return opp->industry;
    if (cust->industry)
        return cust->industry;
    return au_default_industry(inst);
}

struct au_opp_ref *au_ref_find(struct au_customer *cust, const char *id)
{
    for (size_t i = 0; i < cust->n_opps; i++)
        if (strcmp(cust->opps[i].id, id) == 0)
            return &cust->opps[i];
    return NULL;
}

static void au_replace(char **field, const char *v)
{
    if (*field && v && strcmp(*field, v) == 0)
        return;
    free(*field);
    *field = statecodec_strdup(v);
}

/* ---- pending deadlines: on_timer's index ---- */

/* Stage entry + after, saturating: event times are the producers'. */
int64_t au_deadline(const struct au_inst *inst, int64_t since)
{
    int64_t after = inst->cfg->rules.action_units_incomplete.after_ms;
    return since > INT64_MAX - after ? INT64_MAX : since + after;
}

void au_pending_put(struct au_inst *inst, const char *key,
                    int64_t deadline)
{
    int64_t *v = hmap_get(inst->pending, key);
    if (!v) {
        v = au_xalloc(sizeof(*v));
        hmap_put(inst->pending, key, v);
    }
    *v = deadline;
    if (deadline < inst->next_due)
        inst->next_due = deadline;
}

void au_pending_del(struct au_inst *inst, const char *key)
{
    free(hmap_del(inst->pending, key));
}

/* Sets the customer's watch on an opportunity (stage entry to judge, or
 * -1) and mirrors it into the index. The state is the truth: the index is
 * only rebuilt from it. */
void au_watch_set(struct au_inst *inst, const char *customer_id,
                  struct au_opp_ref *ref, int64_t since)
{
    ref->watch_since = since;
    if (!inst->cfg->rules.action_units_incomplete.enabled)
        return; /* nothing will read the index */
    char *key = au_opp_key(customer_id, ref->id);
    if (since >= 0)
        au_pending_put(inst, key, au_deadline(inst, since));
    else
        au_pending_del(inst, key);
    free(key);
}

/* The opportunity's object, created and listed on the customer if new;
 * the least recently seen one is dropped beyond max_opportunities. Records
 * `ev` as its last event. */
static struct au_opp *au_opp_get(struct au_inst *inst, struct proc_ctx *ctx,
                                 const struct event *ev,
                                 struct au_customer *cust, const char *opp_id)
{
    struct au_opp_ref *ref = au_ref_find(cust, opp_id);
    if (!ref) {
        while (cust->n_opps >= (size_t)inst->cfg->max_opportunities) {
            size_t old = 0;
            for (size_t i = 1; i < cust->n_opps; i++)
                if (cust->opps[i].last_seen < cust->opps[old].last_seen)
                    old = i;
            char *k = au_opp_key(ev->customer_id, cust->opps[old].id);
            ctx_state_delete(ctx, k);
            au_pending_del(inst, k);
            free(hmap_del(inst->claims_due, k));
            free(k);
            free(cust->opps[old].id);
            au_remove(cust->opps, &cust->n_opps, sizeof(*cust->opps), old);
        }
        ref = au_push(&cust->opps, &cust->n_opps, sizeof(*cust->opps));
        ref->id = statecodec_strdup(opp_id);
        ref->last_seen = ev->event_time;
        ref->watch_since = -1;
        ref->claim_due = -1;
    }
    if (ev->event_time > ref->last_seen)
        ref->last_seen = ev->event_time;
    char *key = au_opp_key(ev->customer_id, opp_id);
    struct au_opp *opp = ctx_state(ctx, key, NULL);
    if (!opp->id)
        opp->id = statecodec_strdup(opp_id);
    if (ev->event_id && ev->src.topic) {
        au_replace(&opp->last_event_id, ev->event_id);
        au_replace(&opp->last_topic, ev->src.topic);
        opp->last_partition = ev->src.partition;
        opp->last_offset = ev->src.offset;
    }
    ctx_state_dirty(ctx, key);
    free(key);
    return opp;
}

/* Rebuilds the per-stage snapshot and the cached per-document counts of
 * `opp`, and the customer's watch on it. */
void au_opp_refresh(struct au_inst *inst, const char *customer_id,
                    struct au_customer *cust, struct au_opp *opp)
{
    struct au_evidence docs;
    au_evidence_build(inst, cust, opp, &docs);
    for (size_t i = 0; i < opp->n_docs; i++) /* its own come first */
        opp->docs[i].uncovered = docs.v[i].uncovered;
    au_status_free(opp->status, opp->n_status);
    opp->status = NULL;
    opp->n_status = 0;
    const char *iname = au_opp_industry(inst, cust, opp);
    const struct au_ind_rt *ind = au_industry_find(inst, iname);
    au_replace(&opp->status_industry, ind ? iname : NULL);
    bool current_missing = false;
    for (size_t s = 0; ind && s < ind->cfg->stages.n; s++) {
        const char *stage = ind->cfg->stages.v[s];
        struct au_stage_status *st = au_push(&opp->status, &opp->n_status,
                                             sizeof(*opp->status));
        st->name = statecodec_strdup(stage);
        st->supported = true;
        const struct au_unit *u = ind->cfg->units.items;
        for (size_t i = 0; i < ind->cfg->units.n; i++) {
            if (strcmp(u[i].stage, stage) != 0)
                continue;
            struct au_eval e;
            au_eval_unit(&u[i], &docs, &e);
            struct au_unit_status *us = au_push(&st->units, &st->n_units,
                                                sizeof(*st->units));
            us->name = statecodec_strdup(u[i].name);
            us->have = e.have;
            us->need = e.need;
            if (e.have < e.need)
                st->supported = false;
        }
        if (opp->stage && strcmp(opp->stage, stage) == 0 && !st->supported)
            current_missing = true;
    }
    au_evidence_free(&docs);
    struct au_opp_ref *ref = au_ref_find(cust, opp->id);
    if (ref)
        au_watch_set(inst, customer_id, ref,
                     current_missing &&
                             !au_strvec_has(&opp->alerted, opp->stage)
                         ? opp->stage_entered_at
                         : -1);
}


/* Refreshes every opportunity of the customer (after a change that affects
 * them all: a competitor link, a customer-level document). */
static void au_refresh_all(struct au_inst *inst, struct proc_ctx *ctx,
                           const struct event *ev, struct au_customer *cust)
{
    for (size_t i = 0; i < cust->n_docs; i++)
        cust->docs[i].uncovered = au_doc_uncovered(inst, cust, &cust->docs[i]);
    struct buf before, after;
    buf_init(&before);
    buf_init(&after);
    for (size_t i = 0; i < cust->n_opps; i++) {
        char *key = au_opp_key(ev->customer_id, cust->opps[i].id);
        struct au_opp *opp = ctx_state(ctx, key, NULL);
        if (!opp->id)
            opp->id = statecodec_strdup(cust->opps[i].id);
        buf_reset(&before);
        buf_reset(&after);
        action_units_state_encode(opp, &before);
        au_opp_refresh(inst, ev->customer_id, cust, opp);
        au_claims_recheck(inst, ctx, ev, cust, opp);
        action_units_state_encode(opp, &after);
        if (before.len != after.len ||
            memcmp(before.data, after.data, before.len) != 0)
            ctx_state_dirty(ctx, key);
        free(key);
    }
    buf_free(&before);
    buf_free(&after);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static bool au_industry_uses(const struct au_industry *ind, int doc_type)
{
    const struct au_unit *u = ind->units.items;
    for (size_t i = 0; i < ind->units.n; i++)
        if (u[i].doc_type == AU_DOC_ANY || u[i].doc_type == doc_type)
            return true;
    return false;
}

/* Records (or merges) the annotation's evidence into docs; drops the
 * oldest document beyond max_documents. Uses the hits of au_match(). */
static void au_store_doc(const struct au_inst *inst,
                         const struct au_ind_rt *ind, const struct event *ev,
                         uint8_t lang, struct au_doc **docs, size_t *n)
{
    const struct doc_annotation *an = &ev->u.annotation;
    struct au_doc *d = NULL;
    for (size_t i = 0; i < *n && !d; i++)
        if (strcmp((*docs)[i].document_id, an->document_id) == 0)
            d = &(*docs)[i];
    if (!d) {
        while (*n >= (size_t)inst->cfg->max_documents) {
            size_t old = 0;
            for (size_t i = 1; i < *n; i++)
                if ((*docs)[i].event_time < (*docs)[old].event_time)
                    old = i;
            au_doc_free(&(*docs)[old]);
            au_remove(*docs, n, sizeof(**docs), old);
        }
        d = au_push(docs, n, sizeof(**docs));
        d->document_id = statecodec_strdup(an->document_id);
        d->event_time = ev->event_time;
    }
    d->doc_type = (uint8_t)an->doc_type;
    if (an->author_role && *an->author_role)
        au_replace(&d->author_role, an->author_role);
    if (!d->industry || strcmp(d->industry, ind->cfg->name) != 0) {
        au_replace(&d->industry, ind->cfg->name);
        au_strvec_free(&d->scenarios); /* another library: start over */
        au_strvec_free(&d->kw_units);
    }
    if (lang != AU_LANG_UNKNOWN)
        d->lang = lang;
    const struct au_scenario *sc = ind->cfg->scenarios.items;
    for (size_t k = 0; k < ind->cfg->scenarios.n; k++)
        if (au_hit(inst, AU_ID_SCENARIO, k))
            au_strvec_add_unique(&d->scenarios, sc[k].name);
    const struct au_unit *u = ind->cfg->units.items;
    for (size_t k = 0; k < ind->cfg->units.n; k++)
        if (u[k].keywords.n && au_hit(inst, AU_ID_UNIT, k))
            au_strvec_add_unique(&d->kw_units, u[k].name);
}

static void au_check_keywords(const struct au_inst *inst, struct proc_ctx *ctx,
                              const struct event *ev,
                              const struct au_ind_rt *ind, uint8_t lang)
{
    const struct au_industry *ic = ind->cfg;
    const struct au_rule *rule = &inst->cfg->rules.missing_keywords;
    if (!rule->enabled || ev->u.annotation.doc_type != DOC_VISIT_REPORT ||
        ic->required_keywords.n == 0)
        return;
    struct au_strvec missing = {0};
    for (size_t k = 0; k < ic->required_keywords.n; k++)
        if (!au_hit(inst, AU_ID_REQUIRED, k))
            au_strvec_add(&missing, ic->required_keywords.v[k]);
    if (missing.n == 0)
        return;
    const struct au_templates *tpl = au_tpl(inst, lang);
    bool zh = tpl == &inst->cfg->messages.zh;
    const char *label = zh ? ic->label_zh : ic->label_en;
    if (!label || !*label)
        label = ic->name;
    char *list = au_join(&missing, tpl->keyword_separator);
    char cs[24], rs[24];
    snprintf(cs, sizeof(cs), "%zu", missing.n);
    snprintf(rs, sizeof(rs), "%zu", ic->required_keywords.n);
    const struct doc_annotation *an = &ev->u.annotation;
    const struct au_var vars[] = {{"document", an->document_id},
                                  {"industry", label},
                                  {"missing", list},
                                  {"count", cs},
                                  {"required", rs}};
    char *msg = au_render_dup(tpl->missing_keywords, vars, CFG_COUNT(vars));
    const struct metric metrics[] = {
        {"missing", (double)missing.n},
        {"required", (double)ic->required_keywords.n}};
    size_t dn = strlen(an->document_id) + 32;
    char *dedup = au_xalloc(dn);
    snprintf(dedup, dn, "missing_keywords/%s", an->document_id);
    struct coaching_alert ca = {
        .rep_id = an->rep_id,
        .opportunity_id = an->opportunity_id,
        .document_id = an->document_id,
        .rule = "missing_keywords",
        .category = CAT_MISSING_KEYWORDS,
        .severity = (enum alert_severity)rule->severity,
        .message = msg,
        .metrics = metrics,
        .n_metrics = CFG_COUNT(metrics),
        .evidence = (const char *const *)missing.v,
        .n_evidence = missing.n,
    };
    au_emit(ctx, ev, dedup, &ca);
    free(dedup);
    free(msg);
    free(list);
    au_strvec_free(&missing);
}

static void au_on_annotation(struct au_inst *inst, struct proc_ctx *ctx,
                             const struct event *ev, struct au_customer *cust)
{
    const struct doc_annotation *an = &ev->u.annotation;
    struct au_opp *opp = NULL;
    if (an->opportunity_id && *an->opportunity_id)
        opp = au_opp_get(inst, ctx, ev, cust, an->opportunity_id);
    uint8_t lang = au_detect_lang(inst, an->text);
    if (lang != AU_LANG_UNKNOWN) {
        cust->lang = lang;
        if (opp)
            opp->lang = lang;
    }
    if (opp && !opp->rep_id && an->rep_id)
        opp->rep_id = statecodec_strdup(an->rep_id);

    const struct au_ind_rt *ind =
        au_industry_find(inst, au_opp_industry(inst, cust, opp));
    if (!ind || !an->document_id)
        goto refresh;
    if (au_match(inst, ind, an->text) != 0) {
        LOG_RL(LOG_WARN, "action_units", "scan failed on document %s of %s",
               an->document_id, ev->customer_id);
        goto refresh;
    }
    au_check_keywords(inst, ctx, ev, ind, lang);
    if (au_industry_uses(ind->cfg, an->doc_type)) {
        if (opp)
            au_store_doc(inst, ind, ev, lang, &opp->docs, &opp->n_docs);
        else
            au_store_doc(inst, ind, ev, lang, &cust->docs, &cust->n_docs);
    }
refresh:
    if (opp) {
        au_opp_refresh(inst, ev->customer_id, cust, opp);
        au_claims_recheck(inst, ctx, ev, cust, opp);
    } else
        au_refresh_all(inst, ctx, ev, cust);
}

static void au_on_registry(struct au_inst *inst, struct proc_ctx *ctx,
                           const struct event *ev, struct au_customer *cust)
{
    const struct registry_change *rc = &ev->u.registry;
    if (!rc->entity_id)
        return;
    bool changed = false;
    if (rc->change_type == CHANGE_COMPETITOR_LINKED) {
        struct au_competitor *c = NULL;
        for (size_t i = 0; i < cust->n_comp && !c; i++)
            if (strcmp(cust->comp[i].id, rc->entity_id) == 0)
                c = &cust->comp[i];
        if (!c) {
            while (cust->n_comp >= (size_t)inst->cfg->max_competitors) {
                size_t old = 0;
                for (size_t i = 1; i < cust->n_comp; i++)
                    if (cust->comp[i].linked_at < cust->comp[old].linked_at)
                        old = i;
                free(cust->comp[old].id);
                free(cust->comp[old].name);
                au_remove(cust->comp, &cust->n_comp, sizeof(*cust->comp), old);
            }
            c = au_push(&cust->comp, &cust->n_comp, sizeof(*cust->comp));
            c->id = statecodec_strdup(rc->entity_id);
            c->linked_at = ev->event_time;
        }
        if (rc->entity_name)
            au_replace(&c->name, rc->entity_name);
        changed = true;
    } else if (rc->change_type == CHANGE_RELATION_REMOVED) {
        for (size_t i = 0; i < cust->n_comp; i++) {
            if (strcmp(cust->comp[i].id, rc->entity_id) == 0) {
                free(cust->comp[i].id);
                free(cust->comp[i].name);
                au_remove(cust->comp, &cust->n_comp, sizeof(*cust->comp), i);
                changed = true;
                break;
            }
        }
    }
    if (changed) {
        ctx_state_dirty(ctx, ev->customer_id);
        au_refresh_all(inst, ctx, ev, cust);
    }
}

uint8_t au_opp_lang(const struct au_customer *cust,
                    const struct au_opp *opp)
{
    return opp->lang != AU_LANG_UNKNOWN ? opp->lang : cust->lang;
}

static void au_on_opportunity(struct au_inst *inst, struct proc_ctx *ctx,
                              const struct event *ev, struct au_customer *cust)
{
    const struct opportunity_update *up = &ev->u.opportunity;
    if (!up->opportunity_id || !up->stage_to)
        return;
    struct au_opp *opp = au_opp_get(inst, ctx, ev, cust, up->opportunity_id);
    if (up->industry && *up->industry) {
        au_replace(&opp->industry, up->industry);
        au_replace(&cust->industry, up->industry);
    }
    if (up->rep_id && *up->rep_id)
        au_replace(&opp->rep_id, up->rep_id);
    const struct au_ind_rt *ind =
        au_industry_find(inst, au_opp_industry(inst, cust, opp));
    if (ind)
        au_check_claim(inst, ctx, ev, cust, opp, ind);
    if (!opp->stage || strcmp(opp->stage, up->stage_to) != 0) {
        au_replace(&opp->stage, up->stage_to);
        opp->stage_entered_at = ev->event_time;
    }
    au_opp_refresh(inst, ev->customer_id, cust, opp);
}

/*
 * Judges opportunity `key` (of customer `customer_id`) for
 * action_units_incomplete at event time `at`, which is at or past its
 * deadline, and stops watching it: the rule fires at most once per stage
 * whichever path gets here first. From the timer (`timer`) the alert cites
 * the opportunity's last event and event_time = `at`, the deadline; from an
 * event the runtime stamps that event. Either way the alert_id is derived
 * from the opportunity and stage alone (alert.id_from_state).
 */
void au_judge_incomplete(struct au_inst *inst, struct proc_ctx *ctx,
                         const char *customer_id,
                         struct au_customer *cust,
                         struct au_opp_ref *ref, const char *key,
                         struct au_opp *opp, int64_t at, bool timer)
{
    const struct au_rule_timed *rule = &inst->cfg->rules.action_units_incomplete;
    ctx_state_dirty(ctx, key);
    ctx_state_dirty(ctx, customer_id);
    au_watch_set(inst, customer_id, ref, -1);
    const struct au_ind_rt *ind =
        au_industry_find(inst, au_opp_industry(inst, cust, opp));
    if (!opp->id || !opp->stage || !ind ||
        au_strvec_has(&opp->alerted, opp->stage))
        return;
    const struct au_templates *tpl = au_tpl(inst, au_opp_lang(cust, opp));
    bool zh = tpl == &inst->cfg->messages.zh;
    struct au_strvec evid = {0};
    int64_t have = 0, need = 0;
    struct au_evidence docs;
    au_evidence_build(inst, cust, opp, &docs);
    size_t m = au_stage_gaps(ind->cfg, opp->stage, &docs, tpl, zh, &evid,
                             &have, &need);
    au_evidence_free(&docs);
    if (m) {
        int64_t days = (at - opp->stage_entered_at) / 86400000;
        char ds[24], hs[24], ns[24];
        snprintf(ds, sizeof(ds), "%lld", (long long)days);
        snprintf(hs, sizeof(hs), "%lld", (long long)have);
        snprintf(ns, sizeof(ns), "%lld", (long long)need);
        char *missing = au_join(&evid, tpl->separator);
        const struct au_var vars[] = {{"opportunity", opp->id},
                                      {"stage", opp->stage},
                                      {"days", ds},
                                      {"missing", missing},
                                      {"have", hs},
                                      {"need", ns}};
        char *msg = au_render_dup(tpl->incomplete, vars, CFG_COUNT(vars));
        const struct metric metrics[] = {{"have", (double)have},
                                         {"need", (double)need},
                                         {"units_missing", (double)m},
                                         {"days", (double)days}};
        size_t dn = strlen(opp->id) + strlen(opp->stage) + 40;
        char *dedup = au_xalloc(dn);
        snprintf(dedup, dn, "action_units_incomplete/%s/%s", opp->id,
                 opp->stage);
        struct coaching_alert ca = {
            .rep_id = opp->rep_id,
            .opportunity_id = opp->id,
            .rule = "action_units_incomplete",
            .category = CAT_ACTION_UNITS_INCOMPLETE,
            .severity = (enum alert_severity)rule->severity,
            .message = msg,
            .metrics = metrics,
            .n_metrics = CFG_COUNT(metrics),
            .evidence = (const char *const *)evid.v,
            .n_evidence = evid.n,
        };
        /* Once per opportunity and stage, by the timer or by a later
         * event, whichever comes first: which one depends on timing, so
         * the id must not (issue 26, case 4). */
        au_emit_from(ctx, customer_id, timer ? opp : NULL, at, dedup, true,
                     &ca, NULL);
        au_strvec_add(&opp->alerted, opp->stage);
        free(dedup);
        free(msg);
        free(missing);
    }
    au_strvec_free(&evid);
}

/* ACTION_UNITS_INCOMPLETE for every opportunity of the event's customer
 * whose current stage was entered at least `after` before the event (event
 * time) and still lacks units. */
static void au_check_deadlines(struct au_inst *inst, struct proc_ctx *ctx,
                               const struct event *ev,
                               struct au_customer *cust)
{
    const struct au_rule_timed *rule = &inst->cfg->rules.action_units_incomplete;
    if (!rule->enabled)
        return;
    for (size_t i = 0; i < cust->n_opps; i++) {
        struct au_opp_ref *ref = &cust->opps[i];
        if (ref->watch_since < 0 ||
            ev->event_time - ref->watch_since < rule->after_ms)
            continue;
        char *key = au_opp_key(ev->customer_id, ref->id);
        struct au_opp *opp = ctx_state(ctx, key, NULL);
        au_judge_incomplete(inst, ctx, ev->customer_id, cust, ref, key, opp,
                            ev->event_time, false);
        free(key);
    }
}

static int au_handle(void *vinst, struct proc_ctx *ctx, const struct event *ev)
{
    struct au_inst *inst = vinst;
    if (!ev->customer_id || !*ev->customer_id) {
        ctx_fail(ctx, "event without customer_id");
        return -1;
    }
    if (au_key_is_wm(ev->customer_id)) {
        ctx_fail(ctx, "customer_id starts with %s, which names a partition's "
                 "stream time in this processor's state", AU_WM_PREFIX);
        return -1;
    }
    /* Every handled event advances stream time, whatever its customer or
     * whether this processor keeps anything of it. */
    if (!inst->has_watermark || ev->event_time > inst->watermark) {
        inst->watermark = ev->event_time;
        inst->has_watermark = true;
    }
    if (streamtime_advance(&inst->part_time, ev->src.partition,
                           ev->event_time))
        streamtime_save(&inst->part_time, ctx, ev->src.partition);
    /* Registry traffic is mostly about customers this processor has no
     * business with: only a competitor link creates state. */
    if (ev->kind == EVENT_REGISTRY &&
        ev->u.registry.change_type != CHANGE_COMPETITOR_LINKED &&
        !ctx_state_find(ctx, ev->customer_id))
        return 0;
    struct au_customer *cust = ctx_state(ctx, ev->customer_id, NULL);
    switch (ev->kind) {
    case EVENT_ANNOTATION:
        ctx_state_dirty(ctx, ev->customer_id); /* language, maybe documents */
        au_on_annotation(inst, ctx, ev, cust);
        break;
    case EVENT_OPPORTUNITY:
        ctx_state_dirty(ctx, ev->customer_id);
        au_on_opportunity(inst, ctx, ev, cust);
        break;
    case EVENT_REGISTRY:
        au_on_registry(inst, ctx, ev, cust);
        break;
    default:
        return 0;
    }
    au_check_deadlines(inst, ctx, ev, cust);
    au_check_claims_due(inst, ctx, ev, cust);
    return 0;
}

/* See processor_ops.state_keys: the customer's record and the opportunity
 * the event names. */
static size_t au_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    (void)inst;
    if (!max || !ev->customer_id || !ev->customer_id[0])
        return 0;
    size_t n = 0;
    out[n++] = (struct state_key){{ev->customer_id}};
    const char *opp = ev->kind == EVENT_ANNOTATION ? ev->u.annotation.opportunity_id
                      : ev->kind == EVENT_OPPORTUNITY
                          ? ev->u.opportunity.opportunity_id
                          : NULL;
    if (opp && opp[0] && n < max)
        out[n++] = (struct state_key){{ev->customer_id, AU_OPP_INFIX, opp}};
    return n;
}

const struct processor_ops processor_action_units = {
    .name = "action_units",
    .description = "Verifies a stage's action units from document evidence: "
                   "required visit-report keywords, stage gates, unsupported "
                   "stage claims.",
    .inputs = EVENT_MASK(EVENT_ANNOTATION) | EVENT_MASK(EVENT_OPPORTUNITY) |
              EVENT_MASK(EVENT_REGISTRY),
    .config = &action_units_config_table,
    .init = au_init,
    .handle = au_handle,
    .on_timer = au_on_timer,
    .on_partitions = au_on_partitions,
    .destroy = au_destroy,
    .state_new = action_units_state_new,
    .state_encode = action_units_state_encode,
    .state_prefetch = action_units_state_prefetch,
    .state_keys = au_state_keys,
    .state_decode = action_units_state_decode,
    .state_free = action_units_state_free,
    .state_to_json = action_units_state_to_json,
    .outputs = ALERT_MASK(ALERT_COACHING),
};
