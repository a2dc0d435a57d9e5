/*
 * test_lead_rating.c - the lead_rating processor through the in-memory
 * harness: the three default behaviours of issue 3 with the shipped config,
 * the event -> signal mapping, determinism, restart, and config refusal.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "graph.h"
#include "harness.h"
#include "processor.h"

extern const struct processor_ops processor_lead_rating;

#define HOUR 3600000LL
#define DAY (24 * HOUR)
#define T0 1772409600000LL /* 2026-03-02T00:00:00Z */

static int seq;

static struct event base(enum event_kind kind, const char *cust, int64_t t)
{
    static char ids[4096][24];
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    char *id = ids[seq++ % 4096];
    snprintf(id, 24, "ev-%d", seq);
    ev.kind = kind;
    ev.event_id = id;
    ev.customer_id = cust;
    ev.event_time = t;
    return ev;
}

static int feed_registry(struct harness *h, const char *cust,
                         enum change_type ct, const char *entity,
                         enum entity_type et, int64_t t)
{
    struct event ev = base(EVENT_REGISTRY, cust, t);
    ev.u.registry.change_type = ct;
    ev.u.registry.entity_id = entity;
    ev.u.registry.entity_type = et;
    return harness_feed(h, &ev);
}

static int feed_iot(struct harness *h, const char *cust, const char *dev,
                    const char *type, enum iot_severity sev, int count,
                    int64_t t)
{
    struct event ev = base(EVENT_IOT, cust, t);
    ev.u.iot.device_id = dev;
    ev.u.iot.alert_type = type;
    ev.u.iot.severity = sev;
    ev.u.iot.count = count;
    return harness_feed(h, &ev);
}

/* Default behaviour (1): capacity expansion, a purchasing contact moving to
 * a new business unit, three days of critical vibration anomalies. */
static void acme_story(struct harness *h, int64_t t0)
{
    assert_int_equal(feed_registry(h, "acme-medical", CHANGE_CAPACITY_EXPANSION,
                                   "acme-medical", ENTITY_COMPANY, t0),
                     0);
    assert_int_equal(feed_registry(h, "acme-medical", CHANGE_CONTACT_MOVED,
                                   "c-li-wei", ENTITY_CONTACT, t0 + DAY),
                     0);
    for (int d = 0; d < 3; d++) {
        for (int k = 0; k < 2; k++) {
            int64_t t = t0 + (5 + d) * DAY + k * 6 * HOUR;
            assert_int_equal(feed_iot(h, "acme-medical", "mri-01",
                                      "vibration_anomaly", IOT_CRITICAL, 1, t),
                             0);
            assert_int_equal(feed_iot(h, "acme-medical", "ct-02",
                                      "vibration_anomaly", IOT_CRITICAL, 1,
                                      t + HOUR),
                             0);
        }
    }
}

static const struct graph *state_of(struct harness *h, const char *cust)
{
    const struct graph *g = harness_state(h, cust);
    assert_non_null(g);
    return g;
}

static void test_default_story_reaches_a_or_b(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, "");
    acme_story(h, T0);

    const struct graph *g = state_of(h, "acme-medical");
    assert_true(g->tier == GRAPH_TIER_A || g->tier == GRAPH_TIER_B);
    assert_true(g->fit > 0 && g->intent > 0);

    size_t n = harness_alert_count(h);
    assert_true(n >= 1);
    /* The first rating leaves the implicit D: previous_tier is null. */
    const struct alert *first = harness_alert(h, 0);
    assert_int_equal(first->kind, ALERT_LEAD_RERATING);
    assert_null(first->u.rerating.previous_tier);
    assert_string_equal(first->customer_id, "acme-medical");
    for (size_t i = 1; i < n; i++)
        assert_non_null(harness_alert(h, i)->u.rerating.previous_tier);

    const struct alert *last = harness_alert(h, n - 1);
    const struct lead_rerating *r = &last->u.rerating;
    assert_string_equal(r->tier, graph_tier_name(g->tier));
    assert_string_equal(r->trend, "improving");
    assert_true(r->score > r->previous_score);
    assert_true(r->score >= 45 + 2.5);
    assert_true(g->score >= r->score); /* the storm went on after the change */
    assert_true(r->n_reasons >= 3 && r->n_reasons <= 5);
    bool iot = false;
    for (size_t i = 0; i < r->n_reasons; i++) {
        if (strcmp(r->reasons[i].factor, "iot.vibration_anomaly.CRITICAL") == 0) {
            iot = true;
            assert_string_equal(r->reasons[i].node_type, "device");
            assert_true(r->reasons[i].contribution > 0);
        }
        if (i > 0)
            assert_true(fabs(r->reasons[i].contribution) <=
                        fabs(r->reasons[i - 1].contribution));
    }
    assert_true(iot);
    /* Provenance and a deterministic id are stamped. */
    assert_non_null(last->trigger_event_id);
    assert_string_equal(last->dedup_key, "rerating:B");
    assert_int_equal(strlen(last->alert_id), 32);
    assert_non_null(last->src.topic);
    harness_free(h);
}

static void test_info_alerts_cannot_buy_an_a(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, "");
    assert_int_equal(feed_iot(h, "quiet-labs", "pump-1", "vibration_anomaly",
                              IOT_INFO, 1, T0),
                     0);
    assert_int_equal(harness_alert_count(h), 0);
    const struct graph *g = state_of(h, "quiet-labs");
    assert_int_equal(g->tier, GRAPH_TIER_D);
    assert_true(g->score > 0);

    /* A thousand INFO alerts over a day, on many devices. */
    char dev[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(dev, sizeof(dev), "dev-%d", i % 40);
        assert_int_equal(feed_iot(h, "noisy-corp", dev, i % 2 ? "temp" : "door",
                                  IOT_INFO, 1, T0 + i * 60000),
                         0);
    }
    g = state_of(h, "noisy-corp");
    assert_true(g->tier != GRAPH_TIER_A);
    assert_true(g->score < 20);
    for (size_t i = 0; i < harness_alert_count(h); i++)
        assert_string_not_equal(harness_alert(h, i)->u.rerating.tier, "A");
    harness_free(h);
}

static void test_old_storm_decays(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, "");
    acme_story(h, T0);
    const struct graph *g = state_of(h, "acme-medical");
    int tier = g->tier;
    double score = g->score;
    assert_true(tier <= GRAPH_TIER_B);
    harness_clear_alerts(h);

    /* Two years later one quiet event arrives: the tier falls with it. */
    assert_int_equal(feed_iot(h, "acme-medical", "mri-01", "door", IOT_INFO, 1,
                              T0 + 730 * DAY),
                     0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct lead_rerating *r = &harness_alert(h, 0)->u.rerating;
    assert_string_equal(r->previous_tier, graph_tier_name(tier));
    assert_string_equal(r->tier, "D");
    assert_string_equal(r->trend, "declining");
    assert_true(fabs(r->previous_score - score) < 1e-9);
    assert_true(r->score < 10);
    g = state_of(h, "acme-medical");
    assert_int_equal(g->tier, GRAPH_TIER_D);
    /* The vibration signals were pruned; capacity expansion (180 d
     * half-life) survives at 1/16. */
    const struct graph_node *dev = graph_node_find((struct graph *)g,
                                                   GRAPH_NODE_DEVICE, "ct-02");
    assert_null(dev);
    harness_free(h);
}

static void test_restart_keeps_state(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, "");
    acme_story(h, T0);
    char *before = harness_state_json(h, "acme-medical");
    assert_non_null(before);
    assert_non_null(strstr(before, "\"factors\""));
    assert_non_null(strstr(before, "\"edges\""));
    assert_non_null(strstr(before, "iot.vibration_anomaly.CRITICAL"));
    assert_non_null(strstr(before, "\"relation\":\"CONTACT_MOVED\""));
    harness_restart(h);
    char *after = harness_state_json(h, "acme-medical");
    assert_non_null(after);
    assert_string_equal(before, after);

    /* And it keeps working after the restart, from the decoded state. */
    assert_int_equal(feed_iot(h, "acme-medical", "mri-01", "door", IOT_INFO, 1,
                              T0 + 730 * DAY),
                     0);
    assert_int_equal(state_of(h, "acme-medical")->tier, GRAPH_TIER_D);
    free(before);
    free(after);
    harness_free(h);
}

static void test_deterministic_alert_ids(void **unused)
{
    (void)unused;
    struct harness *a = harness_new(&processor_lead_rating, "");
    struct harness *b = harness_new(&processor_lead_rating, "");
    int s = seq;
    acme_story(a, T0);
    seq = s; /* same event ids */
    acme_story(b, T0);
    assert_int_equal(harness_alert_count(a), harness_alert_count(b));
    assert_true(harness_alert_count(a) > 0);
    for (size_t i = 0; i < harness_alert_count(a); i++)
        assert_string_equal(harness_alert(a, i)->alert_id,
                            harness_alert(b, i)->alert_id);
    harness_free(a);
    harness_free(b);
}

static void test_out_of_order_same_score(void **unused)
{
    (void)unused;
    struct harness *a = harness_new(&processor_lead_rating, "");
    struct harness *b = harness_new(&processor_lead_rating, "");
    acme_story(a, T0);
    /* The same story, IoT first and newest first. */
    for (int d = 2; d >= 0; d--) {
        for (int k = 1; k >= 0; k--) {
            int64_t t = T0 + (5 + d) * DAY + k * 6 * HOUR;
            feed_iot(b, "acme-medical", "ct-02", "vibration_anomaly",
                     IOT_CRITICAL, 1, t + HOUR);
            feed_iot(b, "acme-medical", "mri-01", "vibration_anomaly",
                     IOT_CRITICAL, 1, t);
        }
    }
    feed_registry(b, "acme-medical", CHANGE_CONTACT_MOVED, "c-li-wei",
                  ENTITY_CONTACT, T0 + DAY);
    feed_registry(b, "acme-medical", CHANGE_CAPACITY_EXPANSION, "acme-medical",
                  ENTITY_COMPANY, T0);
    const struct graph *ga = state_of(a, "acme-medical");
    const struct graph *gb = state_of(b, "acme-medical");
    assert_true(fabs(ga->score - gb->score) <= 1e-9 * ga->score);
    assert_true(fabs(ga->fit - gb->fit) <= 1e-9 * ga->fit);
    assert_true(fabs(ga->intent - gb->intent) <= 1e-9 * ga->intent);
    harness_free(a);
    harness_free(b);
}

/* The signal, its contribution settled from the last rescore. */
static const struct graph_signal *find_signal(const struct graph *g,
                                              enum graph_node_type t,
                                              const char *id, const char *type)
{
    graph_settle((struct graph *)g);
    const struct graph_node *n =
        graph_node_find((struct graph *)g, t, id);
    for (size_t i = 0; n && i < n->n_signals; i++)
        if (strcmp(sstr_str(&n->signals[i].type), type) == 0)
            return &n->signals[i];
    return NULL;
}

static void test_annotation_and_transcript(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, "");
    struct event ev = base(EVENT_ANNOTATION, "C1", T0);
    ev.u.annotation.doc_type = DOC_QUOTE;
    ev.u.annotation.author_role = "cfo";
    ev.u.annotation.document_id = "Q-1";
    ev.u.annotation.text = "Please revisit the Payment Terms: net 60";
    assert_int_equal(harness_feed(h, &ev), 0);
    const struct graph *g = state_of(h, "C1");
    const struct graph_signal *s = find_signal(
        g, GRAPH_NODE_CUSTOMER, "C1", "annotation.quote.cfo_payment_terms");
    assert_non_null(s);
    assert_int_equal(s->count, 1);

    /* Wrong doc type or author: no signal. */
    ev = base(EVENT_ANNOTATION, "C1", T0 + 1);
    ev.u.annotation.doc_type = DOC_EMAIL;
    ev.u.annotation.author_role = "CFO";
    ev.u.annotation.text = "payment terms";
    harness_feed(h, &ev);
    ev = base(EVENT_ANNOTATION, "C1", T0 + 2);
    ev.u.annotation.doc_type = DOC_QUOTE;
    ev.u.annotation.author_role = "rep";
    ev.u.annotation.text = "payment terms";
    harness_feed(h, &ev);
    g = state_of(h, "C1");
    assert_int_equal(find_signal(g, GRAPH_NODE_CUSTOMER, "C1",
                                 "annotation.quote.cfo_payment_terms")->count,
                     1);

    /* Customer speech: budget on the customer, a named competitor on its
     * own node; the rep saying the same words counts for nothing. */
    ev = base(EVENT_TRANSCRIPT, "C1", T0 + 3);
    ev.u.transcript.speaker_role = ROLE_CUSTOMER;
    ev.u.transcript.text = "Our BUDGET is approved, but siemens offered more";
    harness_feed(h, &ev);
    ev = base(EVENT_TRANSCRIPT, "C1", T0 + 4);
    ev.u.transcript.speaker_role = ROLE_REP;
    ev.u.transcript.text = "what budget and deadline do you have?";
    harness_feed(h, &ev);
    g = state_of(h, "C1");
    s = find_signal(g, GRAPH_NODE_CUSTOMER, "C1", "transcript.budget");
    assert_non_null(s);
    assert_int_equal(s->count, 1);
    assert_null(find_signal(g, GRAPH_NODE_CUSTOMER, "C1", "transcript.timeline"));
    s = find_signal(g, GRAPH_NODE_COMPETITOR, "Siemens", "transcript.competitor");
    assert_non_null(s);
    assert_true(s->contribution > 0);

    /* Bytes beyond ASCII match as they are; lower case folds only A-Z. */
    ev = base(EVENT_TRANSCRIPT, "C2", T0 + 5);
    ev.u.transcript.speaker_role = ROLE_CUSTOMER;
    ev.u.transcript.text = "我们希望年底前上线，GO-LIVE 很关键";
    harness_feed(h, &ev);
    g = state_of(h, "C2");
    assert_int_equal(find_signal(g, GRAPH_NODE_CUSTOMER, "C2",
                                 "transcript.timeline")->count, 1);
    assert_null(find_signal(g, GRAPH_NODE_CUSTOMER, "C2", "transcript.need"));
    harness_free(h);
}

static void test_registry_mapping(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, "");
    feed_registry(h, "C1", CHANGE_COMPETITOR_LINKED, "rival", ENTITY_COMPETITOR, T0);
    feed_registry(h, "C1", CHANGE_TENDER_PUBLISHED, "T-9", ENTITY_TENDER, T0 + 1);
    feed_registry(h, "C1", CHANGE_SUPPLIER_LINKED, "S-1", ENTITY_SUPPLIER, T0 + 2);
    const struct graph *g = state_of(h, "C1");
    assert_int_equal(g->n_nodes, 4);
    assert_non_null(find_signal(g, GRAPH_NODE_TENDER, "T-9",
                                "registry.TENDER_PUBLISHED"));
    /* A competitor's link weighs negatively. */
    assert_true(find_signal(g, GRAPH_NODE_COMPETITOR, "rival",
                            "registry.COMPETITOR_LINKED")->contribution < 0);

    /* The tender goes to the competitor: a negative fit factor. */
    struct kv attrs[] = {{"winner", "rival"}};
    struct event ev = base(EVENT_REGISTRY, "C1", T0 + 3);
    ev.u.registry.change_type = CHANGE_TENDER_AWARDED;
    ev.u.registry.entity_id = "T-9";
    ev.u.registry.entity_type = ENTITY_TENDER;
    ev.u.registry.attributes = attrs;
    ev.u.registry.n_attributes = 1;
    assert_int_equal(harness_feed(h, &ev), 0);
    g = state_of(h, "C1");
    const struct graph_signal *s = find_signal(
        g, GRAPH_NODE_TENDER, "T-9", "registry.TENDER_AWARDED_TO_COMPETITOR");
    assert_non_null(s);
    assert_true(s->contribution < 0);

    /* RELATION_REMOVED drops the node and what it contributed. */
    double before = g->fit;
    feed_registry(h, "C1", CHANGE_RELATION_REMOVED, "S-1", ENTITY_SUPPLIER, T0 + 4);
    g = state_of(h, "C1");
    assert_null(graph_node_find((struct graph *)g, GRAPH_NODE_SUPPLIER, "S-1"));
    assert_true(g->fit < before);

    /* Unconfigured IoT type with no wildcard (severity is always covered
     * by defaults, so use a custom config): no device node. */
    harness_free(h);
    h = harness_new(&processor_lead_rating,
                    "signals:\n"
                    "  iot.vibration_anomaly.CRITICAL: {weight: 15, "
                    "half_life: 14d, saturation: 60, part: intent}\n"
                    "annotation_rules: {}\n"
                    "transcript_rules: {}\n");
    feed_iot(h, "C2", "d1", "door", IOT_CRITICAL, 1, T0);
    assert_int_equal(state_of(h, "C2")->n_nodes, 1);
    feed_iot(h, "C2", "d1", "vibration_anomaly", IOT_CRITICAL, 3, T0);
    g = state_of(h, "C2");
    assert_int_equal(g->n_nodes, 2);
    assert_true(find_signal(g, GRAPH_NODE_DEVICE, "d1",
                            "iot.vibration_anomaly.CRITICAL")->value == 3);

    /* No customer: refused. */
    struct event bad = base(EVENT_IOT, "", T0);
    bad.u.iot.device_id = "x";
    bad.u.iot.alert_type = "y";
    assert_int_equal(harness_feed(h, &bad), -1);
    harness_free(h);
}

static void test_tuned_config(void **unused)
{
    (void)unused;
    /* Lower cut-offs and a tiny node cap through YAML. */
    struct harness *h = harness_new(&processor_lead_rating,
                                    "tiers: {a: 30, b: 15, c: 5, hysteresis: 2}\n"
                                    "node_cap: 2\n");
    acme_story(h, T0);
    const struct graph *g = state_of(h, "acme-medical");
    assert_int_equal(g->tier, GRAPH_TIER_A);
    /* Customer + two neighbours. The contact outweighs any one device; of
     * two devices with equal alerts the staler contributes less (decay), so
     * the device of the latest alert is the one kept. */
    assert_int_equal(g->n_nodes, 3);
    assert_non_null(graph_node_find((struct graph *)g, GRAPH_NODE_CONTACT,
                                    "c-li-wei"));
    assert_non_null(graph_node_find((struct graph *)g, GRAPH_NODE_DEVICE,
                                    "ct-02"));
    assert_null(graph_node_find((struct graph *)g, GRAPH_NODE_DEVICE, "mri-01"));
    harness_free(h);
}

static void expect_invalid(const char *yaml, const char *needle)
{
    char errs[4096];
    errs[0] = '\0';
    assert_int_equal(
        harness_config_check(&processor_lead_rating, yaml, errs, sizeof(errs)),
        -1);
    if (!strstr(errs, needle))
        fail_msg("expected '%s' in errors:\n%s", needle, errs);
}

static void test_config_refused(void **unused)
{
    (void)unused;
    char errs[4096];
    assert_int_equal(
        harness_config_check(&processor_lead_rating, "", errs, sizeof(errs)), 0);
    expect_invalid("tiers: {a: 40, b: 45}\n", "descending");
    expect_invalid("tiers: {hysteresis: 30}\n", "hysteresis");
    expect_invalid("hop_decay: 1.5\n", "hop_decay");
    expect_invalid("fit_weight: 0\nintent_weight: 0\n", "above 0");
    expect_invalid("signals:\n  x.y: {weight: 1, part: sideways}\n", "part");
    expect_invalid("signals:\n  x.y: {weight: 1, saturation: 0, part: fit}\n",
                   "saturation");
    expect_invalid("signals:\n  x.y: {weight: 1}\n", "missing required key 'part'");
    expect_invalid("transcript_rules:\n  transcript.nope: {keywords: [x]}\n",
                   "missing from signals");
    expect_invalid("annotation_rules:\n"
                   "  annotation.quote.cfo_payment_terms: {doc_types: [MEMO]}\n",
                   "doc type");
    expect_invalid("node_kap: 3\n", "node_cap");
    /* Errors are located: file:line:col (the harness puts the section body
     * at line 3). */
    expect_invalid("node_cap: 0\n", ":3:");
}

/* Feeds one examples/ JSON-lines file (the demo's sample data) to h. */
static void feed_example(struct harness *h, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/examples/%s", DS_SOURCE_DIR, name);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[4096];
    while (fgets(line, sizeof(line), fp)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (!o)
            fail_msg("%s: %s", path, jerr.text);
        struct event ev;
        memset(&ev, 0, sizeof(ev));
        ev.event_id = json_string_value(json_object_get(o, "event_id"));
        ev.customer_id = json_string_value(json_object_get(o, "customer_id"));
        ev.event_time = json_integer_value(json_object_get(o, "event_time"));
        struct kv attrs[16];
        if (json_object_get(o, "change_type")) {
            struct registry_change *rc = &ev.u.registry;
            ev.kind = EVENT_REGISTRY;
            assert_int_equal(change_type_parse(json_string_value(json_object_get(
                                                   o, "change_type")),
                                               &rc->change_type),
                             0);
            assert_int_equal(entity_type_parse(json_string_value(json_object_get(
                                                   o, "entity_type")),
                                               &rc->entity_type),
                             0);
            rc->entity_id = json_string_value(json_object_get(o, "entity_id"));
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(o, "attributes"), k, v)
            {
                assert_true(rc->n_attributes < 16);
                attrs[rc->n_attributes].key = k;
                attrs[rc->n_attributes++].value = json_string_value(v);
            }
            rc->attributes = attrs;
        } else {
            struct iot_alert *ia = &ev.u.iot;
            ev.kind = EVENT_IOT;
            ia->device_id = json_string_value(json_object_get(o, "device_id"));
            ia->alert_type = json_string_value(json_object_get(o, "alert_type"));
            assert_int_equal(iot_severity_parse(json_string_value(json_object_get(
                                                    o, "severity")),
                                                &ia->severity),
                             0);
            ia->count = (int32_t)json_integer_value(json_object_get(o, "count"));
        }
        assert_non_null(ev.event_id);
        assert_non_null(ev.customer_id);
        assert_int_equal(harness_feed(h, &ev), 0);
        json_decref(o);
    }
    fclose(fp);
}

static void check_example_outcome(struct harness *h)
{
    const struct graph *g = state_of(h, "acme-medical");
    assert_true(g->tier == GRAPH_TIER_A || g->tier == GRAPH_TIER_B);
    g = state_of(h, "quiet-labs");
    assert_int_equal(g->tier, GRAPH_TIER_D);
    bool named_iot = false;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        assert_string_equal(a->customer_id, "acme-medical");
        const struct lead_rerating *r = &a->u.rerating;
        for (size_t j = 0; j < r->n_reasons; j++)
            named_iot |= strcmp(r->reasons[j].factor,
                                "iot.vibration_anomaly.CRITICAL") == 0;
    }
    assert_true(named_iot);
}

/* The shipped sample data tells default behaviour (1), whichever topic the
 * demo produces first. */
static void test_examples_tell_the_story(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, "");
    feed_example(h, "registry_changes.jsonl");
    feed_example(h, "iot_alerts.jsonl");
    check_example_outcome(h);
    double score = state_of(h, "acme-medical")->score;
    harness_free(h);

    h = harness_new(&processor_lead_rating, "");
    feed_example(h, "iot_alerts.jsonl");
    feed_example(h, "registry_changes.jsonl");
    check_example_outcome(h);
    assert_true(fabs(state_of(h, "acme-medical")->score - score) <= 1e-9 * score);
    harness_free(h);
}

/* processors.lead_rating of the shipped processor.yaml, unindented. */
static char *shipped_section(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/processor.yaml", DS_SOURCE_DIR);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    char line[1024];
    bool in = false;
    while (fgets(line, sizeof(line), fp)) {
        if (!in) {
            in = strcmp(line, "  lead_rating:\n") == 0;
            continue;
        }
        if (line[0] != '\n' && strncmp(line, "    ", 4) != 0)
            break; /* the next section */
        const char *body = line[0] == '\n' ? line : line + 4;
        size_t n = strlen(body);
        assert_true(len + n < cap);
        memcpy(out + len, body, n);
        len += n;
    }
    fclose(fp);
    assert_true(in);
    assert_true(len > 0);
    return out;
}

/* The shipped section is valid and says what the built-in defaults say. */
static void test_shipped_yaml_matches_defaults(void **unused)
{
    (void)unused;
    char *yaml = shipped_section();
    char errs[4096];
    if (harness_config_check(&processor_lead_rating, yaml, errs, sizeof(errs)))
        fail_msg("processor.yaml lead_rating section:\n%s", errs);
    struct harness *a = harness_new(&processor_lead_rating, "");
    struct harness *b = harness_new(&processor_lead_rating, yaml);
    struct event ev;
    for (int i = 0; i < 2; i++) {
        struct harness *h = i ? b : a;
        acme_story(h, T0);
        ev = base(EVENT_TRANSCRIPT, "acme-medical", T0 + 8 * DAY);
        ev.u.transcript.speaker_role = ROLE_CUSTOMER;
        ev.u.transcript.text = "预算 approved, we need it before the deadline; "
                               "Philips quoted too";
        assert_int_equal(harness_feed(h, &ev), 0);
        ev = base(EVENT_ANNOTATION, "acme-medical", T0 + 9 * DAY);
        ev.u.annotation.doc_type = DOC_QUOTE;
        ev.u.annotation.author_role = "CFO";
        ev.u.annotation.text = "账期 90 days?";
        assert_int_equal(harness_feed(h, &ev), 0);
    }
    char *ja = harness_state_json(a, "acme-medical");
    char *jb = harness_state_json(b, "acme-medical");
    assert_string_equal(ja, jb);
    assert_non_null(strstr(ja, "transcript.budget"));
    assert_non_null(strstr(ja, "transcript.timeline"));
    assert_non_null(strstr(ja, "\"Philips\""));
    assert_non_null(strstr(ja, "annotation.quote.cfo_payment_terms"));
    /* Every intent signal on top of the story: an A. */
    assert_non_null(strstr(ja, "\"tier\":\"A\""));
    free(ja);
    free(jb);
    free(yaml);
    harness_free(a);
    harness_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_story_reaches_a_or_b),
        cmocka_unit_test(test_info_alerts_cannot_buy_an_a),
        cmocka_unit_test(test_old_storm_decays),
        cmocka_unit_test(test_restart_keeps_state),
        cmocka_unit_test(test_deterministic_alert_ids),
        cmocka_unit_test(test_out_of_order_same_score),
        cmocka_unit_test(test_annotation_and_transcript),
        cmocka_unit_test(test_registry_mapping),
        cmocka_unit_test(test_tuned_config),
        cmocka_unit_test(test_config_refused),
        cmocka_unit_test(test_examples_tell_the_story),
        cmocka_unit_test(test_shipped_yaml_matches_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
