/*
 * lead_rating.c - Shift 1: re-rates customers from a per-customer behaviour
 * graph and explains every tier change.
 *
 * Registry changes, IoT alerts, document annotations and transcript segments
 * become signals on the nodes of the customer's graph (graph.h does
 * the decay, propagation, saturation, fit/intent split and hysteresis). This
 * file only maps events to (node, signal) pairs and emits a LeadRerating
 * when the tier changes; the config table is lead_rating_config.c, the
 * state object lead_rating_state.c.
 *
 * Event to signal mapping (signal types are keys of `signals`):
 *   RegistryChange  EQUITY_CHANGE, CAPACITY_EXPANSION: "registry.<change>" on
 *                   the customer node (they describe the customer itself);
 *                   RELATION_REMOVED: removes the entity's node;
 *                   TENDER_AWARDED whose `tender_winner_attribute` names a
 *                   competitor node: "registry.TENDER_AWARDED_TO_COMPETITOR";
 *                   every other change: "registry.<change>" on the entity's
 *                   node (contact, supplier, tender, ...), linked to the
 *                   customer by an edge weighted per entity type.
 *   IotAlert        "iot.<alert_type>.<SEVERITY>" on the device node, amount
 *                   = count (at least 1). "iot.*.<SEVERITY>" catches types
 *                   not listed.
 *   DocumentAnnotation  each matching annotation rule (doc type, author role,
 *                   keyword) adds its signal on the customer node.
 *   TranscriptSegment   each matching transcript rule (speaker role, keyword,
 *                   case-insensitive substring) adds its signal on the
 *                   customer node, or with attach: competitor on a
 *                   competitor node named by the matched keyword.
 *   PartsOrder      "erp.<category>.parts_rise", "erp.supplier_switch"
 *                   (lead_rating_erp.c).
 *   propagation's signal records (repartition_from): "entity.<TYPE>.
 *                   <change>" on the entity's node (lead_rating_entity.c).
 *   service_tickets (off by default): tickets on a device line that no
 *                   open opportunity covers, "service.<line>.
 *                   no_opportunity" and a CoachingAlert
 *                   (lead_rating_service.c); OpportunityUpdates only feed
 *                   it and never touch the graph, so they are read only
 *                   while it is on (lr_inputs_of).
 * Signal types absent from the config are ignored.
 *
 * State: one graph per customer, keyed by the customer id, bounded by
 * node_cap neighbours x signal_cap signals plus prune_floor pruning. The
 * score is evaluated at the latest event time seen for the customer, so it
 * is deterministic and replayable; the first event that leaves the implicit
 * D emits with previous_tier null.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "entity_signal.h"
#include "lead_rating.h"
#include "strjoin.h"

/* ---- instance ------------------------------------------------------- */

struct lr_inst {
    const struct lr_config *cfg;
    struct graph_params params;
    uint32_t *ann_doc_mask; /* per annotation rule: doc_type bits, 0: any */
    uint32_t *tr_role_mask; /* per transcript rule: role bits, 0: any */
    /* Per rule, its keywords in ASCII lower case, and the text of the event
     * at hand lowered once: a keyword is then a strstr(), not a strcasestr()
     * that prepares the needle again on every call (~2 % of the processing
     * thread). Same matches: strcasestr in the C locale folds only A-Z. */
    struct cfg_strlist *ann_kw, *tr_kw;
    struct buf lower;
};

static void free_lists(struct cfg_strlist *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        for (size_t j = 0; j < l[i].n; j++)
            free(l[i].v[j]);
        free(l[i].v);
    }
    free(l);
}

static void ascii_lower(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] - 'A' + 'a')
                                                : src[i];
}

/* The lowered copy of `in`, into out (zeroed); -1 on OOM. */
static int lower_list(const struct cfg_strlist *in, struct cfg_strlist *out)
{
    out->v = calloc(in->n + 1, sizeof(char *));
    if (!out->v)
        return -1;
    for (; out->n < in->n; out->n++) {
        size_t len = strlen(in->v[out->n]);
        char *k = malloc(len + 1);
        if (!k)
            return -1;
        ascii_lower(k, in->v[out->n], len + 1);
        out->v[out->n] = k;
    }
    return 0;
}

/* text in lower case, in inst->lower until the next call. */
static const char *lowered(struct lr_inst *inst, const char *text)
{
    size_t len = strlen(text);
    buf_reset(&inst->lower);
    buf_reserve(&inst->lower, len + 1);
    ascii_lower((char *)inst->lower.data, text, len + 1);
    return (const char *)inst->lower.data;
}

static void lr_destroy(void *vinst)
{
    struct lr_inst *inst = vinst;
    if (!inst)
        return;
    graph_params_unindex(&inst->params);
    free_lists(inst->ann_kw, inst->cfg->annotation_rules.n);
    free_lists(inst->tr_kw, inst->cfg->transcript_rules.n);
    buf_free(&inst->lower);
    free(inst->ann_doc_mask);
    free(inst->tr_role_mask);
    free(inst);
}

static int lr_init(const void *vcfg, void **out, char *err, size_t errlen)
{
    const struct lr_config *cfg = vcfg;
    struct lr_inst *inst = calloc(1, sizeof(*inst));
    int rc = -1;

    *out = NULL;
    if (!inst)
        goto oom;
    inst->cfg = cfg;
    inst->ann_doc_mask = calloc(cfg->annotation_rules.n + 1, sizeof(uint32_t));
    inst->tr_role_mask = calloc(cfg->transcript_rules.n + 1, sizeof(uint32_t));
    inst->ann_kw = calloc(cfg->annotation_rules.n + 1, sizeof(*inst->ann_kw));
    inst->tr_kw = calloc(cfg->transcript_rules.n + 1, sizeof(*inst->tr_kw));
    if (!inst->ann_doc_mask || !inst->tr_role_mask || !inst->ann_kw ||
        !inst->tr_kw)
        goto oom;

    struct graph_params *p = &inst->params;
    p->specs = cfg->signals.items;
    p->n_specs = cfg->signals.n;
    p->edge_weight[GRAPH_NODE_CUSTOMER] = 1;
    p->edge_weight[GRAPH_NODE_COMPANY] = cfg->edges.company;
    p->edge_weight[GRAPH_NODE_SUPPLIER] = cfg->edges.supplier;
    p->edge_weight[GRAPH_NODE_COMPETITOR] = cfg->edges.competitor;
    p->edge_weight[GRAPH_NODE_POLICY] = cfg->edges.policy;
    p->edge_weight[GRAPH_NODE_CONTACT] = cfg->edges.contact;
    p->edge_weight[GRAPH_NODE_DEVICE] = cfg->edges.device;
    p->edge_weight[GRAPH_NODE_TENDER] = cfg->edges.tender;
    p->hop_decay = cfg->hop_decay;
    p->part_weight[GRAPH_PART_FIT] = cfg->fit_weight;
    p->part_weight[GRAPH_PART_INTENT] = cfg->intent_weight;
    p->cuts[GRAPH_TIER_A] = cfg->tiers.a;
    p->cuts[GRAPH_TIER_B] = cfg->tiers.b;
    p->cuts[GRAPH_TIER_C] = cfg->tiers.c;
    p->hysteresis = cfg->tiers.hysteresis;
    p->node_cap = (size_t)cfg->node_cap;
    p->signal_cap = (size_t)cfg->signal_cap;
    p->prune_floor = cfg->prune_floor;
    graph_params_index(p);

    /* Parse the enum names once here, not per event (validated by the
     * table checks, so a failed parse cannot happen). */
    const struct lr_annotation_rule *ar = cfg->annotation_rules.items;
    for (size_t i = 0; i < cfg->annotation_rules.n; i++) {
        if (lower_list(&ar[i].keywords, &inst->ann_kw[i]) != 0)
            goto oom;
        for (size_t j = 0; j < ar[i].doc_types.n; j++) {
            enum doc_type dt;
            if (doc_type_parse(ar[i].doc_types.v[j], &dt) == 0)
                inst->ann_doc_mask[i] |= 1u << dt;
        }
    }
    const struct lr_transcript_rule *tr = cfg->transcript_rules.items;
    for (size_t i = 0; i < cfg->transcript_rules.n; i++) {
        if (lower_list(&tr[i].keywords, &inst->tr_kw[i]) != 0)
            goto oom;
        for (size_t j = 0; j < tr[i].speaker_roles.n; j++) {
            enum role ro;
            if (role_parse(tr[i].speaker_roles.v[j], &ro) == 0)
                inst->tr_role_mask[i] |= 1u << ro;
        }
    }
    *out = inst;
    inst = NULL;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "lead_rating: out of memory");
out:
    lr_destroy(inst);
    return rc;
}

/* ---- events -> signals ---------------------------------------------- */

static const char *attr_get(const struct registry_change *rc, const char *key)
{
    for (size_t i = 0; key && i < rc->n_attributes; i++)
        if (rc->attributes[i].key && strcmp(rc->attributes[i].key, key) == 0)
            return rc->attributes[i].value;
    return NULL;
}

static void apply_registry(struct lr_inst *inst, struct graph *g,
                           const struct event *ev)
{
    const struct registry_change *rc = &ev->u.registry;
    const struct graph_params *p = &inst->params;
    enum graph_node_type nt = graph_node_type_of_entity(rc->entity_type);
    const char *change = change_type_name(rc->change_type);
    char signal[64];
    struct graph_node *n;

    switch (rc->change_type) {
    case CHANGE_RELATION_REMOVED:
        graph_unlink(g, nt, rc->entity_id ? rc->entity_id : "");
        return;
    case CHANGE_EQUITY_CHANGE:
    case CHANGE_CAPACITY_EXPANSION:
        n = &g->nodes[0];
        break;
    default:
        n = graph_link(g, p, nt, rc->entity_id, change, ev->event_time);
        break;
    }
    strjoin2(signal, sizeof(signal), "registry.", change);
    if (rc->change_type == CHANGE_TENDER_AWARDED) {
        const char *winner = attr_get(rc, inst->cfg->tender_winner_attribute);
        if (winner && graph_node_find(g, GRAPH_NODE_COMPETITOR, winner))
            snprintf(signal, sizeof(signal),
                     "registry.TENDER_AWARDED_TO_COMPETITOR");
    }
    graph_signal_add(g, p, n, signal, 1, ev->event_time);
}

static void apply_iot(struct lr_inst *inst, struct graph *g,
                      const struct event *ev)
{
    const struct iot_alert *ia = &ev->u.iot;
    char signal[160];
    char sev[40];
    strjoin2(sev, sizeof(sev), ".", iot_severity_name(ia->severity));
    strjoin3(signal, sizeof(signal), "iot.",
             ia->alert_type ? ia->alert_type : "", sev);
    /* Resolve first: an unconfigured type must not create a device node. */
    if (!graph_spec_find(&inst->params, signal))
        return;
    struct graph_node *n = graph_link(g, &inst->params, GRAPH_NODE_DEVICE,
                                      ia->device_id, "IOT_DEVICE",
                                      ev->event_time);
    double amount = ia->count > 1 ? (double)ia->count : 1;
    graph_signal_add(g, &inst->params, n, signal, amount, ev->event_time);
}

/* Lowered text and keywords (struct lr_inst). */
static bool text_has_any(const char *lower, const struct cfg_strlist *kw,
                         bool empty_matches)
{
    if (kw->n == 0)
        return empty_matches;
    for (size_t i = 0; lower && i < kw->n; i++)
        if (kw->v[i][0] && strstr(lower, kw->v[i]))
            return true;
    return false;
}

static void apply_annotation(struct lr_inst *inst, struct graph *g,
                             const struct event *ev)
{
    const struct doc_annotation *da = &ev->u.annotation;
    const struct lr_annotation_rule *r = inst->cfg->annotation_rules.items;
    const char *lower = da->text ? lowered(inst, da->text) : NULL;
    for (size_t i = 0; i < inst->cfg->annotation_rules.n; i++) {
        uint32_t mask = inst->ann_doc_mask[i];
        if (mask && !(mask & (1u << da->doc_type)))
            continue;
        bool role_ok = r[i].author_roles.n == 0;
        for (size_t j = 0; !role_ok && j < r[i].author_roles.n; j++)
            role_ok = da->author_role &&
                      strcasecmp(da->author_role, r[i].author_roles.v[j]) == 0;
        if (!role_ok || !text_has_any(lower, &inst->ann_kw[i], true))
            continue;
        graph_signal_add(g, &inst->params, &g->nodes[0], r[i].signal, 1,
                         ev->event_time);
    }
}

static void apply_transcript(struct lr_inst *inst, struct graph *g,
                             const struct event *ev)
{
    const struct transcript_segment *ts = &ev->u.transcript;
    const struct lr_transcript_rule *r = inst->cfg->transcript_rules.items;
    if (!ts->text)
        return;
    const char *lower = lowered(inst, ts->text);
    for (size_t i = 0; i < inst->cfg->transcript_rules.n; i++) {
        uint32_t mask = inst->tr_role_mask[i];
        if (mask && !(mask & (1u << ts->speaker_role)))
            continue;
        for (size_t j = 0; j < r[i].keywords.n; j++) {
            const char *kw = r[i].keywords.v[j]; /* as configured: names a node */
            if (!kw[0] || !strstr(lower, inst->tr_kw[i].v[j]))
                continue;
            if (r[i].attach == LR_ATTACH_CUSTOMER) {
                graph_signal_add(g, &inst->params, &g->nodes[0], r[i].signal,
                                 1, ev->event_time);
                break; /* once per segment */
            }
            struct graph_node *n =
                graph_link(g, &inst->params, GRAPH_NODE_COMPETITOR, kw,
                           "MENTIONED", ev->event_time);
            graph_signal_add(g, &inst->params, n, r[i].signal, 1,
                             ev->event_time);
        }
    }
}

/* ---- handle --------------------------------------------------------- */

static int emit_rerating(struct lr_inst *inst, struct proc_ctx *ctx,
                         const char *customer, struct graph *g,
                         int prev_tier, double prev_score)
{
    struct alert a;
    struct graph_factor f[ALERT_MAX_REASONS];
    char dedup[32], xkey[512], skey[512], detail[ALERT_MAX_REASONS][512];

    memset(&a, 0, sizeof(a));
    a.kind = ALERT_LEAD_RERATING;
    a.customer_id = customer;
    snprintf(dedup, sizeof(dedup), "rerating:%s", graph_tier_name(g->tier));
    a.dedup_key = dedup;

    struct lead_rerating *r = &a.u.rerating;
    r->previous_tier = g->rated ? graph_tier_name(prev_tier) : NULL;
    r->tier = graph_tier_name(g->tier);
    r->previous_score = prev_score;
    r->score = g->score;
    r->trend = g->tier < prev_tier ? "improving" : "declining";
    r->fit_score = g->fit;
    r->intent_score = g->intent;
    size_t max = (size_t)inst->cfg->max_reasons;
    if (max > ALERT_MAX_REASONS)
        max = ALERT_MAX_REASONS;
    r->n_reasons = graph_factors(g, f, max);
    size_t w = strjoin2(xkey, sizeof(xkey), customer, LR_EXT_SUFFIX);
    const struct lr_ext *x =
        w > 0 && w < sizeof(xkey) ? ctx_state_find(ctx, xkey) : NULL;
    w = strjoin2(skey, sizeof(skey), customer, LR_SVC_SUFFIX);
    const struct lr_svc *sv =
        w > 0 && w < sizeof(skey) ? ctx_state_find(ctx, skey) : NULL;
    for (size_t i = 0; i < r->n_reasons; i++) {
        if (lead_rating_erp_detail(x, f[i].factor, detail[i],
                                   sizeof(detail[i])) ||
            lead_rating_service_detail(sv, f[i].factor, detail[i],
                                       sizeof(detail[i])))
            r->reasons[i].detail = detail[i];
        r->reasons[i].factor = f[i].factor;
        r->reasons[i].node_type = f[i].node_type;
        r->reasons[i].node_id = f[i].node_id;
        r->reasons[i].contribution = f[i].contribution;
    }
    g->rated = true;
    if (ctx_emit(ctx, &a) != 0) {
        ctx_fail(ctx, "lead_rating: could not emit the re-rating of %s",
                 customer);
        return -1;
    }
    return 0;
}

/* The customer's object `suffix` (ext: ERP rates, propagated signals;
 * svc: the service-ticket template). */
static void *obj_state(struct proc_ctx *ctx, const char *customer,
                       const char *suffix, char *key, size_t n)
{
    if (strjoin2(key, n, customer, suffix) >= n) {
        ctx_fail(ctx, "lead_rating: customer id too long");
        return NULL;
    }
    return ctx_state(ctx, key, NULL);
}

static int lr_handle(void *vinst, struct proc_ctx *ctx, const struct event *ev)
{
    struct lr_inst *inst = vinst;
    char xkey[512], skey[512];
    struct lr_ext *x = NULL;
    struct lr_svc *sv = NULL;

    bool rec = ev->kind == EVENT_REPARTITION;
    /* propagation's records: only its signals to customers are ours. */
    if (rec && (!ev->u.repartition.len ||
                ev->u.repartition.data[0] != ENTITY_SIGNAL_TAG))
        return 0;
    const char *customer = rec ? ev->key : ev->customer_id;
    if (!customer || !customer[0]) {
        ctx_fail(ctx, "lead_rating: event %s has no customer_id",
                 ev->event_id ? ev->event_id : "?");
        return -1;
    }
    if (!rec && lead_rating_service_wants(inst->cfg, ev)) {
        sv = obj_state(ctx, customer, LR_SVC_SUFFIX, skey, sizeof(skey));
        if (!sv)
            return -1;
        ctx_state_dirty(ctx, skey);
    }
    if (ev->kind == EVENT_OPPORTUNITY) /* the template's only */
        return sv ? lead_rating_service_apply(inst->cfg, &inst->params, NULL,
                                              sv, ctx, ev)
                  : 0;
    if (rec || ev->kind == EVENT_PARTS_ORDER) {
        x = obj_state(ctx, customer, LR_EXT_SUFFIX, xkey, sizeof(xkey));
        if (!x)
            return -1;
    }
    struct graph *g = ctx_state(ctx, customer, NULL);
    int prev_tier = g->tier;
    double prev_score = g->score;

    graph_observe(g, ev->event_time);
    switch (ev->kind) {
    case EVENT_REGISTRY: apply_registry(inst, g, ev); break;
    case EVENT_IOT: apply_iot(inst, g, ev); break;
    case EVENT_ANNOTATION: apply_annotation(inst, g, ev); break;
    case EVENT_TRANSCRIPT: apply_transcript(inst, g, ev); break;
    case EVENT_PARTS_ORDER:
        lead_rating_erp_apply(inst->cfg, &inst->params, g, x, ev);
        ctx_state_dirty(ctx, xkey);
        break;
    case EVENT_REPARTITION: {
        int rc = lead_rating_entity_deliver(&inst->params, g, x, ev);
        if (rc < 0) {
            ctx_fail(ctx, "lead_rating: bad signal record");
            return -1;
        }
        if (rc == 1)
            return 0; /* a copy re-sent after a crash */
        ctx_state_dirty(ctx, xkey);
        break;
    }
    default: break;
    }
    if (sv && lead_rating_service_apply(inst->cfg, &inst->params, g, sv, ctx,
                                        ev) != 0)
        return -1;
    /* Every event rescoring at the latest event time is what lets an old
     * storm decay: the tier falls on the next event, whatever it is. */
    graph_maintain(g, &inst->params);
    g->n_events++;
    g->tier = graph_tier_next(&inst->params, prev_tier, g->score);
    ctx_state_dirty(ctx, customer);
    if (g->tier == prev_tier)
        return 0;
    return emit_rerating(inst, ctx, customer, g, prev_tier, prev_score);
}

/* ---- state ---------------------------------------------------------- */

/* See processor_ops.state_keys: the customer's graph, and its ext object
 * for parts orders and propagated signals. */
static size_t lr_state_keys(const void *vinst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    const struct lr_inst *inst = vinst;
    if (!max)
        return 0;
    if (ev->kind == EVENT_REPARTITION) {
        if (!ev->key || !ev->key[0] || !ev->u.repartition.len ||
            ev->u.repartition.data[0] != ENTITY_SIGNAL_TAG)
            return 0;
        out[0] = (struct state_key){{ev->key, LR_EXT_SUFFIX}};
        if (max > 1)
            out[1] = (struct state_key){{ev->key}};
        return max > 1 ? 2 : 1;
    }
    if (!ev->customer_id || !ev->customer_id[0])
        return 0;
    size_t n = 0;
    if (lead_rating_service_wants(inst->cfg, ev))
        out[n++] = (struct state_key){{ev->customer_id, LR_SVC_SUFFIX}};
    if (ev->kind == EVENT_OPPORTUNITY)
        return n;
    if (n < max)
        out[n++] = (struct state_key){{ev->customer_id}};
    if (ev->kind == EVENT_PARTS_ORDER && n < max)
        out[n++] = (struct state_key){{ev->customer_id, LR_EXT_SUFFIX}};
    return n;
}

/* CoachingAlert only while the service-ticket template is on: a config
 * from before it, without CoachingAlert's writer id, keeps starting. */
static uint32_t lr_outputs_of(const void *vcfg)
{
    const struct lr_config *cfg = vcfg;
    uint32_t out = ALERT_MASK(ALERT_LEAD_RERATING);
    if (!cfg || cfg->service.enabled)
        out |= ALERT_MASK(ALERT_COACHING);
    return out;
}

#define LR_INPUTS                                                          \
    (EVENT_MASK(EVENT_REGISTRY) | EVENT_MASK(EVENT_IOT) |                  \
     EVENT_MASK(EVENT_ANNOTATION) | EVENT_MASK(EVENT_TRANSCRIPT) |         \
     EVENT_MASK(EVENT_PARTS_ORDER) | EVENT_MASK(EVENT_OPPORTUNITY))

/* OpportunityUpdates only while the service-ticket template is on: they
 * feed nothing else, so a deployment without it neither subscribes to
 * them nor holds event-time ordering back for them. */
static uint32_t lr_inputs_of(const void *vcfg)
{
    const struct lr_config *cfg = vcfg;
    return cfg->service.enabled ? LR_INPUTS
                                : LR_INPUTS & ~EVENT_MASK(EVENT_OPPORTUNITY);
}

const struct processor_ops processor_lead_rating = {
    .name = "lead_rating",
    .description = "Re-rates customers (tiers A-D) from a per-customer "
                   "behaviour graph and explains each tier change.",
    .inputs = LR_INPUTS, /* OpportunityUpdate: the service tickets' */
    .inputs_of = lr_inputs_of,
    /* Signals propagation sends to customers (lead_rating_entity.c); its
     * other records reach us too and are ignored. */
    .repartition_from = "propagation",
    .config = &lead_rating_config_table,
    .init = lr_init,
    .handle = lr_handle,
    .destroy = lr_destroy,
    .state_new = lead_rating_state_new,
    .state_encode = lead_rating_state_encode,
    .state_prefetch = lead_rating_state_prefetch,
    .state_keys = lr_state_keys,
    .state_decode = lead_rating_state_decode,
    .state_free = lead_rating_state_free,
    .state_to_json = lead_rating_state_to_json,
    /* CoachingAlert: the service-ticket template's, to the rep. */
    .outputs = ALERT_MASK(ALERT_LEAD_RERATING) | ALERT_MASK(ALERT_COACHING),
    .outputs_of = lr_outputs_of,
};
