/*
 * lead_rating_config.c - processors.lead_rating: signals, edges, tiers and
 * the annotation and transcript rules, with defaults tuned so that a
 * typical growing customer moves up a tier or two (see the defaults' note).
 */
#include <stdio.h>
#include <string.h>

#include "lead_rating.h"

/* ---- config --------------------------------------------------------- */

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
    "transcript.competitor: {weight: 5, half_life: 60d, saturation: 15, part: intent}\n"
    "erp.*.parts_rise: {weight: 12, half_life: 30d, saturation: 40, part: intent}\n"
    "erp.supplier_switch: {weight: -15, half_life: 60d, saturation: 30, part: intent}\n"
    "entity.SUPPLIER.BANKRUPTCY: {weight: 50, half_life: 90d, saturation: 40, part: intent}\n"
    "entity.SUPPLIER.CAPACITY_CUT: {weight: 25, half_life: 60d, saturation: 30, part: intent}\n"
    "entity.SUPPLIER.PRODUCT_RECALL: {weight: 25, half_life: 60d, saturation: 30, part: intent}\n"
    "entity.COMPETITOR.PRICE_CUT: {weight: -25, half_life: 60d, saturation: 30, part: intent}\n"
    "entity.COMPETITOR.PRODUCT_RECALL: {weight: 30, half_life: 60d, saturation: 30, part: intent}\n"
    "entity.POLICY.POLICY_PUBLISHED: {weight: 30, half_life: 180d, saturation: 30, part: fit}\n"
    "entity.POLICY.POLICY_AMENDED: {weight: 15, half_life: 180d, saturation: 20, part: fit}\n"
    "service.*.no_opportunity: {weight: 40, half_life: 30d, saturation: 40, part: intent}\n";

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

static const struct config_key erp_keys[] = {
    CFG_KEY_RANGE(struct lr_erp_config, window, "window", CFG_DURATION, "14d",
                  3600000, 3650.0 * 86400000,
                  "Time constant (mean age of the orders weighed) of a part "
                  "category's recent order rate."),
    CFG_KEY_RANGE(struct lr_erp_config, baseline, "baseline", CFG_DURATION,
                  "90d", 3600000, 3650.0 * 86400000,
                  "Time constant of the customer's own baseline rate per "
                  "part category, the \"90-day rate\" a rise is measured "
                  "against; longer than window."),
    CFG_KEY_RANGE(struct lr_erp_config, rise_ratio, "rise_ratio", CFG_DOUBLE,
                  "2", 1, 1000,
                  "Recent rate / baseline rate at which an order adds "
                  "erp.<category>.parts_rise (amount: ratio / rise_ratio, "
                  "at most 5)."),
    CFG_KEY_RANGE(struct lr_erp_config, min_orders, "min_orders", CFG_INT, "3",
                  1, 1000000,
                  "Orders in a category before a rise can count."),
    CFG_KEY_RANGE(struct lr_erp_config, min_history, "min_history",
                  CFG_DURATION, "30d", 0, 3650.0 * 86400000,
                  "Event time since a category's first order before a rise "
                  "can count: a baseline needs a history."),
    CFG_KEY_RANGE(struct lr_erp_config, max_categories, "max_categories",
                  CFG_INT, "32", 1, 4096,
                  "Part categories tracked per customer; the one ordered "
                  "least recently is forgotten first."),
};

static const char *erp_check(const void *obj)
{
    const struct lr_erp_config *e = obj;
    return e->baseline <= e->window ? "baseline must be longer than window"
                                    : NULL;
}

static const struct config_table erp_table = {
    .name = "erp",
    .keys = erp_keys,
    .n_keys = CFG_COUNT(erp_keys),
    .elem_size = sizeof(struct lr_erp_config),
    .check = erp_check,
};

static const char *const severities[] = {"INFO", "WARNING", "RED", NULL};

static const struct config_key service_keys[] = {
    CFG_KEY(struct lr_service_config, enabled, "enabled", CFG_BOOL, "false",
            "Whether repair tickets on a device line with no open "
            "opportunity raise service.<line>.no_opportunity and a "
            "CoachingAlert (rule service_ticket) to the account's rep. Off "
            "by default: it adds alerts and changes ratings of customers "
            "with tickets. OpportunityUpdates (topics.opportunity_updates) "
            "are read only while it is on; a reload that switches it is "
            "refused when that would add or drop the topic (no other "
            "enabled processor reads it)."),
    CFG_KEY_RANGE(struct lr_service_config, window, "window", CFG_DURATION,
                  "30d", 3600000, 365.0 * 86400000,
                  "Event time over which a line's tickets are counted (the "
                  "window ends at each ticket); a line alerted once is quiet "
                  "for this long."),
    CFG_KEY_RANGE(struct lr_service_config, min_tickets, "min_tickets",
                  CFG_INT, "3", 1, 64,
                  "Tickets on one line within window that raise the alert."),
    {.name = "ticket_types", .type = CFG_STRLIST,
     .offset = offsetof(struct lr_service_config, ticket_types),
     .def = "[repair_ticket, downtime]", .bounded = true, .min = 1,
     .max = 64,
     .desc = "IotAlert alert_type values that count as a ticket (exact, "
             "case-sensitive); each event is one ticket."},
    CFG_KEY(struct lr_service_config, parts_orders, "parts_orders", CFG_BOOL,
            "false",
            "Whether a parts order (erp.parts-orders) naming a device_id "
            "counts as a ticket of that device's line."),
    CFG_KEY(struct lr_service_config, line_attribute, "line_attribute",
            CFG_STRING, "device_line",
            "Attribute of a registry change about a DEVICE entity naming the "
            "device's line; a device never named is a line of its own."),
    CFG_KEY(struct lr_service_config, closed_stages, "closed_stages",
            CFG_STRLIST, "[closed_won, closed_lost, won, lost]",
            "Opportunity stages (stage_to, case-insensitive) after which it "
            "no longer covers its device_line."),
    CFG_KEY_ENUM(struct lr_service_config, severity, "severity", "WARNING",
                 severities, "Severity of the service_ticket CoachingAlert."),
    CFG_KEY_RANGE(struct lr_service_config, max_lines, "max_lines", CFG_INT,
                  "32", 1, 4096,
                  "Device lines tracked per customer; the one ticketed least "
                  "recently is forgotten first."),
};

static const char *service_check(const void *obj)
{
    const struct lr_service_config *sc = obj;
    for (size_t i = 0; i < sc->ticket_types.n; i++)
        if (!sc->ticket_types.v[i][0])
            return "ticket_types: an empty alert type never matches";
    if (!sc->line_attribute || !sc->line_attribute[0])
        return "line_attribute must not be empty";
    return NULL;
}

static const struct config_table service_table = {
    .name = "service_tickets",
    .keys = service_keys,
    .n_keys = CFG_COUNT(service_keys),
    .elem_size = sizeof(struct lr_service_config),
    .check = service_check,
    .doc = "The service-ticket template: device repair tickets and downtime "
           "on a device line that no open opportunity (OpportunityUpdate."
           "device_line) covers.",
};

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
    CFG_KEY_SUB(struct lr_config, erp, "erp", CFG_SECTION, &erp_table,
                "Spare-part orders (erp.parts-orders) against the "
                "customer's own moving baseline per part category."),
    CFG_KEY_SUB(struct lr_config, service, "service_tickets", CFG_SECTION,
                &service_table,
                "The service-ticket template: min_tickets repair tickets or "
                "downtimes on one device line within window, and no open "
                "opportunity for the line (\"3 repair tickets on line 2 in "
                "30 days; no open opportunity\")."),
};

const struct config_table lead_rating_config_table = {
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
