/*
 * lead_rating.c - Shift 1: re-rates customers from a per-customer behaviour
 * graph and explains every tier change.
 *
 * Registry changes, IoT alerts, document annotations and transcript segments
 * become signals on the nodes of the customer's graph (daemon/graph.h does
 * the decay, propagation, saturation, fit/intent split and hysteresis). This
 * file only maps events to (node, signal) pairs, holds the config table, and
 * emits a LeadRerating when the tier changes.
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

#include "graph.h"
#include "processor.h"

/* ---- config --------------------------------------------------------- */

struct lr_edges {
    double company, supplier, competitor, policy, contact, device, tender;
};

struct lr_tiers {
    double a, b, c;
    double hysteresis;
};

struct lr_annotation_rule {
    char *signal; /* the map key */
    struct cfg_strlist doc_types;
    struct cfg_strlist author_roles;
    struct cfg_strlist keywords;
};

enum lr_attach { LR_ATTACH_CUSTOMER = 0, LR_ATTACH_COMPETITOR };

struct lr_transcript_rule {
    char *signal; /* the map key */
    struct cfg_strlist keywords;
    struct cfg_strlist speaker_roles;
    int attach; /* enum lr_attach */
};

struct lr_config {
    struct cfg_array signals; /* struct graph_signal_spec */
    struct lr_edges edges;
    double hop_decay;
    double fit_weight;
    double intent_weight;
    struct lr_tiers tiers;
    int64_t node_cap;
    int64_t signal_cap;
    double prune_floor;
    int64_t max_reasons;
    char *tender_winner_attribute;
    struct cfg_array annotation_rules;  /* struct lr_annotation_rule */
    struct cfg_array transcript_rules;  /* struct lr_transcript_rule */
};

static const char *const part_options[] = {"fit", "intent", NULL};
static const char *const attach_options[] = {"customer", "competitor", NULL};

static const struct config_key signal_keys[] = {
    {.name = "weight", .type = CFG_DOUBLE,
     .offset = offsetof(struct graph_signal_spec, weight), .required = true,
     .bounded = true, .min = -1000, .max = 1000,
     .desc = "Score points one unit of this signal adds while far from "
             "saturation; negative for signals that lower the rating."},
    CFG_KEY_RANGE(struct graph_signal_spec, half_life, "half_life",
                  CFG_DURATION, "30d", 60000, 3650.0 * 86400000,
                  "Event time after which a unit of this signal counts half."),
    CFG_KEY_RANGE(struct graph_signal_spec, saturation, "saturation",
                  CFG_DOUBLE, "30", 0.001, 1000,
                  "Most points this signal type can contribute in total, "
                  "however many events or nodes carry it."),
    {.name = "part", .type = CFG_ENUM,
     .offset = offsetof(struct graph_signal_spec, part), .required = true,
     .options = part_options,
     .desc = "fit: who the customer is; intent: what it is doing now."},
};

static const struct config_table signal_table = {
    .name = "signal",
    .keys = signal_keys,
    .n_keys = CFG_COUNT(signal_keys),
    .elem_size = sizeof(struct graph_signal_spec),
    .name_offset = offsetof(struct graph_signal_spec, name),
    .doc = "One signal type: registry.<CHANGE_TYPE>, "
           "iot.<alert_type>.<SEVERITY> (iot.*.<SEVERITY> matches any "
           "type), or the signal of an annotation/transcript rule.",
};

#define EDGE_KEY(F, NAME, DEF)                                                \
    CFG_KEY_RANGE(struct lr_edges, F, NAME, CFG_DOUBLE, DEF, 0, 1,            \
                  "Weight of the edge from the customer to a " NAME           \
                  " node (0..1).")

static const struct config_key edge_keys[] = {
    EDGE_KEY(company, "company", "0.5"),
    EDGE_KEY(supplier, "supplier", "0.6"),
    EDGE_KEY(competitor, "competitor", "0.8"),
    EDGE_KEY(policy, "policy", "0.5"),
    EDGE_KEY(contact, "contact", "0.9"),
    EDGE_KEY(device, "device", "1.0"),
    EDGE_KEY(tender, "tender", "0.9"),
};

static const struct config_table edge_table = {
    .name = "edges",
    .keys = edge_keys,
    .n_keys = CFG_COUNT(edge_keys),
    .elem_size = sizeof(struct lr_edges),
};

static const char *tiers_check(const void *obj)
{
    const struct lr_tiers *t = obj;
    if (!(t->a > t->b && t->b > t->c))
        return "tier cut-offs must be descending: a > b > c";
    if (t->a - t->b <= t->hysteresis || t->b - t->c <= t->hysteresis)
        return "hysteresis must be smaller than the gap between adjacent "
               "cut-offs";
    if (t->c - t->hysteresis / 2 <= 0)
        return "c - hysteresis/2 must be above 0, or C could never fall to D";
    if (t->a + t->hysteresis / 2 > 100)
        return "a + hysteresis/2 must be at most 100, or A is unreachable";
    return NULL;
}

static const struct config_key tier_keys[] = {
    CFG_KEY_RANGE(struct lr_tiers, a, "a", CFG_DOUBLE, "70", 0, 100,
                  "Score cut-off of tier A."),
    CFG_KEY_RANGE(struct lr_tiers, b, "b", CFG_DOUBLE, "45", 0, 100,
                  "Score cut-off of tier B."),
    CFG_KEY_RANGE(struct lr_tiers, c, "c", CFG_DOUBLE, "20", 0, 100,
                  "Score cut-off of tier C; below it a customer is D."),
    CFG_KEY_RANGE(struct lr_tiers, hysteresis, "hysteresis", CFG_DOUBLE, "5",
                  0, 50,
                  "Width of the band around each cut-off, in score points: "
                  "a tier is entered from below at cut + hysteresis/2 and "
                  "held down to cut - hysteresis/2."),
};

static const struct config_table tier_table = {
    .name = "tiers",
    .keys = tier_keys,
    .n_keys = CFG_COUNT(tier_keys),
    .elem_size = sizeof(struct lr_tiers),
    .check = tiers_check,
};

/* check() returns a message that must outlive the call; naming the
 * offending value needs formatting, hence one buffer per thread. */
static _Thread_local char check_msg[256];

static const char *annotation_rule_check(const void *obj)
{
    const struct lr_annotation_rule *r = obj;
    enum doc_type dt;
    for (size_t i = 0; i < r->doc_types.n; i++) {
        if (doc_type_parse(r->doc_types.v[i], &dt) != 0) {
            snprintf(check_msg, sizeof(check_msg),
                     "unknown doc type '%s' (VISIT_REPORT, INTERVIEW_NOTE, "
                     "QUOTE, PROPOSAL, CONTRACT, EMAIL, OTHER)",
                     r->doc_types.v[i]);
            return check_msg;
        }
    }
    return NULL;
}

static const struct config_key annotation_keys[] = {
    CFG_KEY(struct lr_annotation_rule, doc_types, "doc_types", CFG_STRLIST,
            "[]", "Document types the rule applies to; empty: any."),
    CFG_KEY(struct lr_annotation_rule, author_roles, "author_roles",
            CFG_STRLIST, "[]",
            "Author roles (case-insensitive, e.g. CFO); empty: any."),
    CFG_KEY(struct lr_annotation_rule, keywords, "keywords", CFG_STRLIST,
            "[]",
            "Any of these in the annotation text (case-insensitive "
            "substring) matches; empty: any text."),
};

static const struct config_table annotation_table = {
    .name = "annotation_rule",
    .keys = annotation_keys,
    .n_keys = CFG_COUNT(annotation_keys),
    .elem_size = sizeof(struct lr_annotation_rule),
    .name_offset = offsetof(struct lr_annotation_rule, signal),
    .check = annotation_rule_check,
    .doc = "Keyed by the signal type it adds (which must be in signals), "
           "once per matching annotation, on the customer node.",
};

static const char *transcript_rule_check(const void *obj)
{
    const struct lr_transcript_rule *r = obj;
    enum role ro;
    for (size_t i = 0; i < r->speaker_roles.n; i++) {
        if (role_parse(r->speaker_roles.v[i], &ro) != 0) {
            snprintf(check_msg, sizeof(check_msg),
                     "unknown speaker role '%s' (REP, CUSTOMER, OTHER)",
                     r->speaker_roles.v[i]);
            return check_msg;
        }
    }
    return NULL;
}

static const struct config_key transcript_keys[] = {
    {.name = "keywords", .type = CFG_STRLIST,
     .offset = offsetof(struct lr_transcript_rule, keywords), .def = "[]",
     .bounded = true, .min = 1, .max = 1000,
     .desc = "Phrases to find in a segment's text (case-insensitive "
             "substring)."},
    CFG_KEY(struct lr_transcript_rule, speaker_roles, "speaker_roles",
            CFG_STRLIST, "[CUSTOMER]",
            "Speaker roles whose segments count: customer-stated needs, not "
            "the rep's pitch."),
    CFG_KEY_ENUM(struct lr_transcript_rule, attach, "attach", "customer",
                 attach_options,
                 "customer: the signal goes on the customer node; "
                 "competitor: on a competitor node named by the keyword."),
};

static const struct config_table transcript_table = {
    .name = "transcript_rule",
    .keys = transcript_keys,
    .n_keys = CFG_COUNT(transcript_keys),
    .elem_size = sizeof(struct lr_transcript_rule),
    .name_offset = offsetof(struct lr_transcript_rule, signal),
    .check = transcript_rule_check,
    .doc = "Keyed by the signal type it adds (which must be in signals), "
           "once per segment (per named competitor with attach: "
           "competitor).",
};

static bool signal_configured(const struct lr_config *c, const char *name)
{
    const struct graph_signal_spec *s = c->signals.items;
    for (size_t i = 0; i < c->signals.n; i++)
        if (s[i].name && strcmp(s[i].name, name) == 0)
            return true;
    return false;
}

static const char *lr_check(const void *obj)
{
    const struct lr_config *c = obj;
    if (c->fit_weight + c->intent_weight <= 0)
        return "fit_weight + intent_weight must be above 0";
    /* A rule whose signal has no weight would silently do nothing. */
    const char *kind = NULL, *name = NULL;
    const struct lr_annotation_rule *ar = c->annotation_rules.items;
    for (size_t i = 0; !name && i < c->annotation_rules.n; i++)
        if (ar[i].signal && !signal_configured(c, ar[i].signal)) {
            kind = "annotation_rules";
            name = ar[i].signal;
        }
    const struct lr_transcript_rule *tr = c->transcript_rules.items;
    for (size_t i = 0; !name && i < c->transcript_rules.n; i++)
        if (tr[i].signal && !signal_configured(c, tr[i].signal)) {
            kind = "transcript_rules";
            name = tr[i].signal;
        }
    if (!name)
        return NULL;
    snprintf(check_msg, sizeof(check_msg),
             "%s.%s is missing from signals (add it there, or drop the rule; "
             "a signals map replaces the built-in one as a whole)",
             kind, name);
    return check_msg;
}

/* Defaults tuned so that (with fit 0.4 / intent 0.6): capacity expansion +
 * a purchasing contact moving + a few days of critical vibration anomalies
 * lands in B; INFO alerts saturate at 6 intent points (3.6 score); the
 * intent signals are gone after two years and capacity expansion is at
 * 1/16. See tests/unit/test_lead_rating.c. */
static const char signals_default[] =
    "registry.CAPACITY_EXPANSION: {weight: 60, half_life: 180d, saturation: 70, part: fit}\n"
    "registry.EQUITY_CHANGE: {weight: 20, half_life: 180d, saturation: 30, part: fit}\n"
    "registry.TENDER_PUBLISHED: {weight: 40, half_life: 90d, saturation: 60, part: fit}\n"
    "registry.TENDER_AWARDED: {weight: 10, half_life: 180d, saturation: 20, part: fit}\n"
    "registry.TENDER_AWARDED_TO_COMPETITOR: {weight: -30, half_life: 180d, saturation: 40, part: fit}\n"
    "registry.SUPPLIER_LINKED: {weight: 15, half_life: 365d, saturation: 30, part: fit}\n"
    "registry.POLICY_LINKED: {weight: 20, half_life: 365d, saturation: 30, part: fit}\n"
    "registry.COMPETITOR_LINKED: {weight: -10, half_life: 365d, saturation: 25, part: fit}\n"
    "registry.CONTACT_JOINED: {weight: 15, half_life: 90d, saturation: 30, part: intent}\n"
    "registry.CONTACT_MOVED: {weight: 40, half_life: 90d, saturation: 50, part: intent}\n"
    "registry.CONTACT_LEFT: {weight: -20, half_life: 90d, saturation: 40, part: intent}\n"
    "iot.vibration_anomaly.CRITICAL: {weight: 15, half_life: 14d, saturation: 60, part: intent}\n"
    "iot.vibration_anomaly.WARNING: {weight: 6, half_life: 14d, saturation: 30, part: intent}\n"
    "iot.downtime.CRITICAL: {weight: 12, half_life: 14d, saturation: 50, part: intent}\n"
    "iot.*.CRITICAL: {weight: 8, half_life: 14d, saturation: 30, part: intent}\n"
    "iot.*.WARNING: {weight: 3, half_life: 14d, saturation: 15, part: intent}\n"
    "iot.*.INFO: {weight: 1, half_life: 7d, saturation: 6, part: intent}\n"
    "annotation.quote.cfo_payment_terms: {weight: 25, half_life: 30d, saturation: 30, part: intent}\n"
    "transcript.need: {weight: 10, half_life: 30d, saturation: 30, part: intent}\n"
    "transcript.budget: {weight: 15, half_life: 30d, saturation: 25, part: intent}\n"
    "transcript.timeline: {weight: 10, half_life: 30d, saturation: 20, part: intent}\n"
    "transcript.competitor: {weight: 5, half_life: 60d, saturation: 15, part: intent}\n";

static const char annotation_default[] =
    "{annotation.quote.cfo_payment_terms: {doc_types: [QUOTE], "
    "author_roles: [CFO], keywords: [payment terms, payment schedule, "
    "net 30, net 60, installment, 付款条件, 付款方式, 账期, 分期付款]}}";

static const char transcript_default[] =
    "transcript.need: {keywords: [we need, we are looking for, looking to "
    "replace, pain point, 需要, 痛点, 急需]}\n"
    "transcript.budget: {keywords: [budget, funding approved, approved "
    "funding, 预算, 资金到位]}\n"
    "transcript.timeline: {keywords: [next quarter, end of the year, "
    "deadline, go-live, 年底前, 下个季度, 上线时间]}\n"
    "transcript.competitor: {keywords: [Siemens, GE Healthcare, Philips, "
    "Mindray, 西门子, 飞利浦, 迈瑞], attach: competitor}\n";

static const struct config_key lr_keys[] = {
    {.name = "signals", .type = CFG_MAP,
     .offset = offsetof(struct lr_config, signals), .def = signals_default,
     .sub = &signal_table,
     .desc = "Signal type -> weight, half_life, saturation, part. Giving "
             "this map replaces the built-in one as a whole."},
    CFG_KEY_SUB(struct lr_config, edges, "edges", CFG_SECTION, &edge_table,
                "Edge weight per neighbour type: how much of a neighbour's "
                "signals reaches the customer (times hop_decay)."),
    CFG_KEY_RANGE(struct lr_config, hop_decay, "hop_decay", CFG_DOUBLE,
                  "0.8", 0, 1,
                  "Factor applied to every signal that travels one edge."),
    CFG_KEY_RANGE(struct lr_config, fit_weight, "fit_weight", CFG_DOUBLE,
                  "0.4", 0, 1,
                  "Weight of the fit part (0..100) in the score."),
    CFG_KEY_RANGE(struct lr_config, intent_weight, "intent_weight",
                  CFG_DOUBLE, "0.6", 0, 1,
                  "Weight of the intent part (0..100) in the score; the "
                  "score is the weighted mean of the two parts."),
    CFG_KEY_SUB(struct lr_config, tiers, "tiers", CFG_SECTION, &tier_table,
                "Tier cut-offs and hysteresis."),
    CFG_KEY_RANGE(struct lr_config, node_cap, "node_cap", CFG_INT, "64", 1,
                  4096,
                  "Most neighbour nodes kept per customer; the least "
                  "contributing is dropped first."),
    CFG_KEY_RANGE(struct lr_config, signal_cap, "signal_cap", CFG_INT, "16",
                  1, 256,
                  "Most signal types kept per node; the least contributing "
                  "is dropped first."),
    CFG_KEY_RANGE(struct lr_config, prune_floor, "prune_floor", CFG_DOUBLE,
                  "0.01", 0, 1000,
                  "A signal whose decayed value (in event units) falls "
                  "below this is removed; a neighbour left without signals "
                  "goes with it."),
    CFG_KEY_RANGE(struct lr_config, max_reasons, "max_reasons", CFG_INT, "5",
                  1, ALERT_MAX_REASONS,
                  "Factors listed in a re-rating alert, by |contribution|."),
    CFG_KEY(struct lr_config, tender_winner_attribute,
            "tender_winner_attribute", CFG_STRING, "winner",
            "Attribute of a TENDER_AWARDED change naming the winner; when it "
            "is a competitor node of the customer the signal is "
            "registry.TENDER_AWARDED_TO_COMPETITOR."),
    {.name = "annotation_rules", .type = CFG_MAP,
     .offset = offsetof(struct lr_config, annotation_rules),
     .def = annotation_default, .sub = &annotation_table,
     .desc = "Signal type -> which document annotations raise it "
             "(e.g. a CFO highlighting payment terms in a QUOTE)."},
    {.name = "transcript_rules", .type = CFG_MAP,
     .offset = offsetof(struct lr_config, transcript_rules),
     .def = transcript_default, .sub = &transcript_table,
     .desc = "Signal type -> keywords in customer-stated transcript "
             "segments (needs, budget, timeline, competitors named)."},
};

static const struct config_table lr_table = {
    .name = "lead_rating",
    .keys = lr_keys,
    .n_keys = CFG_COUNT(lr_keys),
    .elem_size = sizeof(struct lr_config),
    .check = lr_check,
    .doc = "Lead re-rating from a per-customer behaviour graph. Signals "
           "decay with event time, neighbour signals reach the customer "
           "along edges (edge weight x hop_decay), each signal type "
           "saturates, fit and intent are scored 0..100 and combined; a "
           "tier change emits a LeadRerating with the top factors.",
};

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
    snprintf(signal, sizeof(signal), "registry.%s", change);
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
    snprintf(signal, sizeof(signal), "iot.%s.%s",
             ia->alert_type ? ia->alert_type : "",
             iot_severity_name(ia->severity));
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
                         struct graph *g, const struct event *ev,
                         int prev_tier, double prev_score)
{
    struct alert a;
    struct graph_factor f[ALERT_MAX_REASONS];
    char dedup[32];

    memset(&a, 0, sizeof(a));
    a.kind = ALERT_LEAD_RERATING;
    a.customer_id = ev->customer_id;
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
    for (size_t i = 0; i < r->n_reasons; i++) {
        r->reasons[i].factor = f[i].factor;
        r->reasons[i].node_type = f[i].node_type;
        r->reasons[i].node_id = f[i].node_id;
        r->reasons[i].contribution = f[i].contribution;
    }
    g->rated = true;
    if (ctx_emit(ctx, &a) != 0) {
        ctx_fail(ctx, "lead_rating: could not emit the re-rating of %s",
                 ev->customer_id);
        return -1;
    }
    return 0;
}

static int lr_handle(void *vinst, struct proc_ctx *ctx, const struct event *ev)
{
    struct lr_inst *inst = vinst;
    if (!ev->customer_id || !ev->customer_id[0]) {
        ctx_fail(ctx, "lead_rating: event %s has no customer_id",
                 ev->event_id ? ev->event_id : "?");
        return -1;
    }
    struct graph *g = ctx_state(ctx, ev->customer_id, NULL);
    int prev_tier = g->tier;
    double prev_score = g->score;

    graph_observe(g, ev->event_time);
    switch (ev->kind) {
    case EVENT_REGISTRY: apply_registry(inst, g, ev); break;
    case EVENT_IOT: apply_iot(inst, g, ev); break;
    case EVENT_ANNOTATION: apply_annotation(inst, g, ev); break;
    case EVENT_TRANSCRIPT: apply_transcript(inst, g, ev); break;
    default: break;
    }
    /* Every event rescoring at the latest event time is what lets an old
     * storm decay: the tier falls on the next event, whatever it is. */
    graph_maintain(g, &inst->params);
    g->n_events++;
    g->tier = graph_tier_next(&inst->params, prev_tier, g->score);
    ctx_state_dirty(ctx, ev->customer_id);
    if (g->tier == prev_tier)
        return 0;
    return emit_rerating(inst, ctx, g, ev, prev_tier, prev_score);
}

/* ---- state ---------------------------------------------------------- */

/* See processor_ops.state_keys: the customer's graph. */
static size_t lr_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    (void)inst;
    if (!max || !ev->customer_id || !ev->customer_id[0])
        return 0;
    out[0] = (struct state_key){{ev->customer_id}};
    return 1;
}

static void *lr_state_new(const char *key) { return graph_new(key); }

static void lr_state_encode(const void *st, struct buf *out)
{
    graph_encode(st, out);
}

static int lr_state_decode(const char *key, const uint8_t *data, size_t len,
                           void **st)
{
    struct graph *g = NULL;
    if (graph_decode(data, len, &g) != 0)
        return -1;
    /* Bytes of another customer. */
    if (!sstr_eq(&g->nodes[0].id, key, strlen(key))) {
        graph_free(g);
        return -1;
    }
    *st = g;
    return 0;
}

static void lr_state_free(void *st) { graph_free(st); }

static void lr_state_prefetch(const void *st, int depth)
{
    graph_prefetch(st, depth);
}

static void lr_state_to_json(const void *st, struct jw *w)
{
    const struct graph *g = st;
    jw_obj_begin(w, NULL);
    jw_str(w, "customer_id", sstr_str(&g->nodes[0].id));
    if (g->has_now)
        jw_int(w, "now", g->now);
    else
        jw_null(w, "now");
    jw_int(w, "events", (int64_t)g->n_events);
    jw_str(w, "tier", graph_tier_name(g->tier));
    jw_bool(w, "rated", g->rated);
    jw_double(w, "score", g->score);
    jw_double(w, "fit", g->fit);
    jw_double(w, "intent", g->intent);

    jw_arr_begin(w, "nodes");
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct graph_node *n = &g->nodes[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "type", graph_node_type_name(n->type));
        jw_str(w, "id", sstr_str(&n->id));
        jw_arr_begin(w, "signals");
        for (size_t j = 0; j < n->n_signals; j++) {
            const struct graph_signal *s = &n->signals[j];
            jw_obj_begin(w, NULL);
            jw_str(w, "type", sstr_str(&s->type));
            jw_double(w, "value_now", s->value_now);
            jw_double(w, "contribution", graph_contribution(g, i, j));
            jw_double(w, "value", s->value);
            jw_int(w, "ref", s->ref);
            jw_int(w, "count", (int64_t)s->count);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);

    jw_arr_begin(w, "edges");
    for (size_t i = 1; i < g->n_nodes; i++) {
        const struct graph_node *n = &g->nodes[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "from", sstr_str(&g->nodes[0].id));
        jw_str(w, "to", sstr_str(&n->id));
        jw_str(w, "to_type", graph_node_type_name(n->type));
        jw_str(w, "relation", sstr_str(&n->relation));
        jw_double(w, "weight", n->edge_weight);
        jw_int(w, "time", n->edge_time);
        jw_obj_end(w);
    }
    jw_arr_end(w);

    jw_arr_begin(w, "factors");
    size_t total = graph_signal_count(g);
    struct graph_factor *f = total ? calloc(total, sizeof(*f)) : NULL;
    size_t nf = f ? graph_factors(g, f, total) : 0;
    for (size_t i = 0; i < nf; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "factor", f[i].factor);
        jw_str(w, "node_type", f[i].node_type);
        jw_str(w, "node_id", f[i].node_id);
        jw_double(w, "contribution", f[i].contribution);
        jw_obj_end(w);
    }
    free(f);
    jw_arr_end(w);
    jw_obj_end(w);
}

const struct processor_ops processor_lead_rating = {
    .name = "lead_rating",
    .description = "Re-rates customers (tiers A-D) from a per-customer "
                   "behaviour graph and explains each tier change.",
    .inputs = EVENT_MASK(EVENT_REGISTRY) | EVENT_MASK(EVENT_IOT) |
              EVENT_MASK(EVENT_ANNOTATION) | EVENT_MASK(EVENT_TRANSCRIPT),
    .config = &lr_table,
    .init = lr_init,
    .handle = lr_handle,
    .destroy = lr_destroy,
    .state_new = lr_state_new,
    .state_encode = lr_state_encode,
    .state_prefetch = lr_state_prefetch,
    .state_keys = lr_state_keys,
    .state_decode = lr_state_decode,
    .state_free = lr_state_free,
    .state_to_json = lr_state_to_json,
};
