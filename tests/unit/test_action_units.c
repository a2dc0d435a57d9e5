/*
 * test_action_units.c - the action-unit processor through the in-memory
 * harness: keyword matching (confusables, mixed scripts), unit counting,
 * competitor coverage, stage ordering, the three rules, restart, and
 * action_units_incomplete from the timer once stream time (the largest
 * event time seen) passes a stalled opportunity's deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "harness.h"

extern const struct processor_ops processor_action_units;
#define OPS (&processor_action_units)

#define DAY_MS 86400000LL
#define T0 1793577600000LL /* 2026-11-02T00:00:00Z */
#define CUST "acme-medical"

/* ---- event builders (strings are literals: they outlive the feed) ---- */

static int feed_ann(struct harness *h, const char *eid, const char *opp,
                    const char *doc, enum doc_type type, const char *author,
                    const char *text, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_ANNOTATION;
    ev.event_id = eid;
    ev.customer_id = CUST;
    ev.event_time = t;
    ev.u.annotation.rep_id = "rep-li";
    ev.u.annotation.opportunity_id = opp;
    ev.u.annotation.document_id = doc;
    ev.u.annotation.doc_type = type;
    ev.u.annotation.source = SOURCE_OCR_HANDWRITING;
    ev.u.annotation.author_role = author;
    ev.u.annotation.text = text;
    return harness_feed(h, &ev);
}

static int feed_opp_for(struct harness *h, const char *cust, const char *eid,
                        const char *opp, const char *industry,
                        const char *from, const char *to, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_OPPORTUNITY;
    ev.event_id = eid;
    ev.customer_id = cust;
    ev.event_time = t;
    ev.u.opportunity.opportunity_id = opp;
    ev.u.opportunity.rep_id = "rep-li";
    ev.u.opportunity.industry = industry;
    ev.u.opportunity.stage_from = from;
    ev.u.opportunity.stage_to = to;
    return harness_feed(h, &ev);
}

static int feed_opp(struct harness *h, const char *eid, const char *opp,
                    const char *industry, const char *from, const char *to,
                    int64_t t)
{
    return feed_opp_for(h, CUST, eid, opp, industry, from, to, t);
}

static int feed_reg_for(struct harness *h, const char *cust, const char *eid,
                        enum change_type ct, const char *id, const char *name,
                        int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_REGISTRY;
    ev.event_id = eid;
    ev.customer_id = cust;
    ev.event_time = t;
    ev.u.registry.change_type = ct;
    ev.u.registry.entity_id = id;
    ev.u.registry.entity_type = ENTITY_COMPETITOR;
    ev.u.registry.entity_name = name;
    return harness_feed(h, &ev);
}

static int feed_reg(struct harness *h, const char *eid, enum change_type ct,
                    const char *id, const char *name, int64_t t)
{
    return feed_reg_for(h, CUST, eid, ct, id, name, t);
}

/* Interview note by a department director. */
static void director(struct harness *h, const char *eid, const char *opp,
                     const char *doc, const char *text, int64_t t)
{
    assert_int_equal(feed_ann(h, eid, opp, doc, DOC_INTERVIEW_NOTE,
                              "department_director", text, t),
                     0);
}

static size_t count_rule(struct harness *h, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++)
        if (strcmp(harness_alert(h, i)->u.coaching.rule, rule) == 0)
            n++;
    return n;
}

static const struct alert *find_rule(struct harness *h, const char *rule)
{
    for (size_t i = 0; i < harness_alert_count(h); i++)
        if (strcmp(harness_alert(h, i)->u.coaching.rule, rule) == 0)
            return harness_alert(h, i);
    fail_msg("no %s alert", rule);
    return NULL;
}

static double metric(const struct alert *a, const char *name)
{
    for (size_t i = 0; i < a->u.coaching.n_metrics; i++)
        if (strcmp(a->u.coaching.metrics[i].name, name) == 0)
            return a->u.coaching.metrics[i].value;
    fail_msg("no metric %s", name);
    return -1;
}

static json_t *state_json(struct harness *h, const char *key)
{
    char *s = harness_state_json(h, key);
    assert_non_null(s);
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    free(s);
    assert_non_null(j);
    return j;
}

/* "supported"/"missing" of `stage` in the opportunity's snapshot. */
static const char *stage_status(json_t *opp, const char *stage)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(opp, "stages"), i, st) {
        if (strcmp(json_string_value(json_object_get(st, "stage")), stage) == 0)
            return json_string_value(json_object_get(st, "status"));
    }
    fail_msg("no stage %s", stage);
    return NULL;
}

/* uncovered_scenarios of document `doc` in the object's documents. */
static json_int_t doc_uncovered(json_t *obj, const char *arr, const char *doc)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(obj, arr), i, d) {
        if (strcmp(json_string_value(json_object_get(d, "document_id")), doc) == 0)
            return json_integer_value(json_object_get(d, "uncovered_scenarios"));
    }
    fail_msg("no document %s", doc);
    return -1;
}

/* ---- keywords ---- */

static void test_defaults_load(void **unused)
{
    (void)unused;
    char errs[2048] = "";
    assert_int_equal(harness_config_check(OPS, "", errs, sizeof(errs)), 0);
    struct harness *h = harness_new(OPS, "");
    harness_free(h);
}

static void test_visit_report_missing_keyword(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    assert_int_equal(feed_ann(h, "e1", "OPP-1", "VR-1", DOC_VISIT_REPORT, "rep",
                              "拜访心内科，讨论医保DRG分组对耗材的影响。", T0),
                     0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = harness_alert(h, 0);
    assert_int_equal(a->kind, ALERT_COACHING);
    assert_string_equal(a->customer_id, CUST);
    assert_int_equal(a->u.coaching.category, CAT_MISSING_KEYWORDS);
    assert_int_equal(a->u.coaching.severity, SEV_WARNING);
    assert_string_equal(a->u.coaching.document_id, "VR-1");
    assert_string_equal(a->u.coaching.opportunity_id, "OPP-1");
    assert_string_equal(a->u.coaching.rep_id, "rep-li");
    assert_int_equal(a->u.coaching.n_evidence, 1);
    assert_string_equal(a->u.coaching.evidence[0], "耗材SPD系统");
    assert_string_equal(a->u.coaching.message,
                        "拜访报告 VR-1 缺少医疗行业必备关键词：耗材SPD系统");
    assert_true(metric(a, "missing") == 1.0);
    assert_true(metric(a, "required") == 2.0);

    /* an interview note is not held to the visit-report keywords */
    harness_clear_alerts(h);
    director(h, "e2", "OPP-1", "IN-1", "没有关键词", T0 + 1);
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);
}

static void test_keywords_confusables_and_mixed_scripts(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    /* OCR wrote 巳/已 and O-for-0 style errors are not in these keywords,
     * so mix case, full width and ASR spaces instead */
    assert_int_equal(feed_ann(h, "e1", NULL, "VR-2", DOC_VISIT_REPORT, "rep",
                              "医保ｄｒｇ分组 已沟通；耗 材 SPD 系 统 上线中", T0),
                     0);
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);

    /* a keyword written with one confusable, text with another */
    h = harness_new(OPS,
                    "industries:\n"
                    "  lab:\n"
                    "    required_keywords: [已签约, POCT设备, Il1]\n"
                    "    stages: [a, b]\n"
                    "default_industry: lab\n");
    assert_int_equal(feed_ann(h, "e2", NULL, "VR-3", DOC_VISIT_REPORT, "rep",
                              "客户巳签约，采购P0CT设备，代码 lIL", T0),
                     0);
    assert_int_equal(harness_alert_count(h), 0);
    /* and a real miss is still a miss */
    assert_int_equal(feed_ann(h, "e3", NULL, "VR-4", DOC_VISIT_REPORT, "rep",
                              "客户未签约，采购PACT设备", T0 + 1),
                     0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = harness_alert(h, 0);
    assert_int_equal(a->u.coaching.n_evidence, 3);
    assert_string_equal(a->u.coaching.evidence[0], "已签约");
    assert_string_equal(a->u.coaching.evidence[1], "POCT设备");
    harness_free(h);
}

static void test_english_message_follows_document(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    assert_int_equal(
        feed_ann(h, "e1", "OPP-1", "VR-5", DOC_VISIT_REPORT, "rep",
                 "Met the head of cardiology about DRG grouping; 医保DRG分组 "
                 "is their main worry, consumables not discussed yet.",
                 T0),
        0);
    assert_int_equal(harness_alert_count(h), 1);
    assert_string_equal(
        harness_alert(h, 0)->u.coaching.message,
        "Visit report VR-5 is missing required medical keywords: 耗材SPD系统");
    harness_free(h);
}

/* ---- units, coverage, claims ---- */

/* Two good director notes and D-17 naming 日间手术 and 床旁检测, the latter
 * covered by MediSight once it is linked. */
static void two_good_one_short(struct harness *h, const char *opp)
{
    assert_int_equal(feed_reg(h, "r1", CHANGE_COMPETITOR_LINKED,
                              "comp-medisight", "MediSight", T0),
                     0);
    director(h, "a1", opp, "D-15", "主任关注日间手术和院感监测的落地", T0 + 1000);
    director(h, "a2", opp, "D-16", "讨论耗材追溯、远程会诊", T0 + 2000);
    director(h, "a3", opp, "D-17", "希望开展日间手术，并引入床旁检测", T0 + 3000);
}

static void test_two_of_three_interviews_raise_red(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    assert_int_equal(feed_opp(h, "o1", "OPP-1", "medical", NULL, "discovery",
                              T0),
                     0);
    two_good_one_short(h, "OPP-1");
    assert_int_equal(harness_alert_count(h), 0);
    assert_int_equal(feed_opp(h, "o2", "OPP-1", "medical", "discovery",
                              "solution", T0 + DAY_MS),
                     0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = harness_alert(h, 0);
    assert_int_equal(a->u.coaching.category, CAT_STAGE_CLAIM_UNSUPPORTED);
    assert_int_equal(a->u.coaching.severity, SEV_RED);
    assert_string_equal(a->u.coaching.rule, "stage_claim_unsupported");
    assert_string_equal(a->u.coaching.opportunity_id, "OPP-1");
    assert_string_equal(a->u.coaching.rep_id, "rep-li");
    assert_null(a->u.coaching.document_id);
    assert_int_equal(a->u.coaching.n_evidence, 2);
    assert_string_equal(a->u.coaching.evidence[0], "科室主任访谈 2/3 份");
    assert_string_equal(a->u.coaching.evidence[1],
                        "D-17 仅提及 1 个未被竞品覆盖的场景（需 2 个）");
    assert_true(metric(a, "have") == 2.0);
    assert_true(metric(a, "need") == 3.0);
    assert_true(metric(a, "units_missing") == 1.0);
    assert_non_null(strstr(a->u.coaching.message, "「discovery」"));
    assert_non_null(strstr(a->u.coaching.message, "科室主任访谈 2/3 份；D-17"));
    assert_string_equal(a->dedup_key, "stage_claim_unsupported/OPP-1/solution");

    json_t *j = state_json(h, CUST "/opp/OPP-1");
    assert_string_equal(stage_status(j, "discovery"), "missing");
    assert_string_equal(json_string_value(json_object_get(j, "stage")),
                        "solution");
    json_decref(j);
    harness_free(h);
}

static void test_english_evidence_wording(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_reg(h, "r1", CHANGE_COMPETITOR_LINKED, "comp-medisight", "MediSight",
             T0);
    director(h, "a1", "OPP-9", "D-15",
             "Director wants day surgery and infection surveillance", T0 + 1);
    director(h, "a2", "OPP-9", "D-16",
             "Talked about telemedicine and consumables traceability", T0 + 2);
    director(h, "a3", "OPP-9", "D-17",
             "Interested in day surgery and POCT at the bedside", T0 + 3);
    feed_opp(h, "o1", "OPP-9", "medical", "discovery", "solution", T0 + 4);
    const struct alert *a = find_rule(h, "stage_claim_unsupported");
    assert_int_equal(a->u.coaching.n_evidence, 2);
    assert_string_equal(a->u.coaching.evidence[0], "2 of 3 director interviews");
    assert_string_equal(a->u.coaching.evidence[1],
                        "note D-17 names 1 uncovered scenario(s), 2 needed");
    assert_string_equal(a->u.coaching.message,
                        "Opportunity OPP-9 moved from discovery to solution, "
                        "but the action units of discovery are not done: "
                        "2 of 3 director interviews; note D-17 names 1 "
                        "uncovered scenario(s), 2 needed");
    harness_free(h);
}

static void test_all_units_evidenced_no_alert(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-2", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-2", "D-1", "日间手术、院感监测", T0 + 1);
    director(h, "a2", "OPP-2", "D-2", "耗材追溯和日间手术", T0 + 2);
    director(h, "a3", "OPP-2", "D-3", "院内感染监测以及高值耗材追溯", T0 + 3);
    assert_int_equal(feed_opp(h, "o2", "OPP-2", "medical", "discovery",
                              "solution", T0 + 4),
                     0);
    assert_int_equal(harness_alert_count(h), 0);
    json_t *j = state_json(h, CUST "/opp/OPP-2");
    assert_string_equal(stage_status(j, "discovery"), "supported");
    json_decref(j);
    harness_free(h);
}

static void test_wrong_author_and_type_do_not_count(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-3", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-3", "D-1", "日间手术、院感监测", T0 + 1);
    director(h, "a2", "OPP-3", "D-2", "耗材追溯和日间手术", T0 + 2);
    /* by a rep, and a director's e-mail: neither is a director interview */
    feed_ann(h, "a3", "OPP-3", "D-3", DOC_INTERVIEW_NOTE, "rep",
             "日间手术、院感监测", T0 + 3);
    feed_ann(h, "a4", "OPP-3", "D-4", DOC_EMAIL, "department_director",
             "日间手术、院感监测", T0 + 4);
    /* the same document annotated twice counts once */
    director(h, "a5", "OPP-3", "D-2", "远程会诊", T0 + 5);
    feed_opp(h, "o2", "OPP-3", "medical", "discovery", "solution", T0 + 6);
    const struct alert *a = find_rule(h, "stage_claim_unsupported");
    assert_true(metric(a, "have") == 2.0);
    json_t *j = state_json(h, CUST "/opp/OPP-3");
    json_t *docs = json_object_get(j, "documents");
    assert_int_equal(json_array_size(docs), 3); /* D-1, D-2, D-3; no e-mail */
    assert_int_equal(doc_uncovered(j, "documents", "D-2"), 3);
    json_decref(j);
    harness_free(h);
}

static void test_competitor_coverage_from_registry(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-4", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-4", "D-1", "日间手术和床旁检测", T0 + 1);
    json_t *j = state_json(h, CUST "/opp/OPP-4");
    assert_int_equal(doc_uncovered(j, "documents", "D-1"), 2);
    json_decref(j);

    /* linked by name only: still matches the library's covered_by */
    feed_reg(h, "r1", CHANGE_COMPETITOR_LINKED, "x-991", "medisight", T0 + 2);
    j = state_json(h, CUST "/opp/OPP-4");
    assert_int_equal(doc_uncovered(j, "documents", "D-1"), 1);
    json_decref(j);
    j = state_json(h, CUST);
    assert_int_equal(json_array_size(json_object_get(j, "competitors")), 1);
    json_decref(j);

    /* another relation removed: no change; this one removed: back to 2 */
    feed_reg(h, "r2", CHANGE_RELATION_REMOVED, "sup-7", NULL, T0 + 3);
    j = state_json(h, CUST "/opp/OPP-4");
    assert_int_equal(doc_uncovered(j, "documents", "D-1"), 1);
    json_decref(j);
    feed_reg(h, "r3", CHANGE_RELATION_REMOVED, "x-991", NULL, T0 + 4);
    j = state_json(h, CUST "/opp/OPP-4");
    assert_int_equal(doc_uncovered(j, "documents", "D-1"), 2);
    json_decref(j);
    j = state_json(h, CUST);
    assert_int_equal(json_array_size(json_object_get(j, "competitors")), 0);
    json_decref(j);

    /* registry traffic about an unknown customer leaves no state behind */
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_REGISTRY;
    ev.event_id = "r9";
    ev.customer_id = "nobody";
    ev.event_time = T0;
    ev.u.registry.change_type = CHANGE_TENDER_PUBLISHED;
    ev.u.registry.entity_id = "t-1";
    ev.u.registry.entity_type = ENTITY_TENDER;
    assert_int_equal(harness_feed(h, &ev), 0);
    assert_null(harness_state(h, "nobody"));
    harness_free(h);
}

static void test_competitor_link_unsupports_stage(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-5", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-5", "D-1", "日间手术、远程会诊", T0 + 1);
    director(h, "a2", "OPP-5", "D-2", "耗材追溯和远程会诊", T0 + 2);
    director(h, "a3", "OPP-5", "D-3", "院感监测以及远程会诊", T0 + 3);
    json_t *j = state_json(h, CUST "/opp/OPP-5");
    assert_string_equal(stage_status(j, "discovery"), "supported");
    json_decref(j);
    feed_reg(h, "r1", CHANGE_COMPETITOR_LINKED, "comp-carelink", "CareLink",
             T0 + 4);
    j = state_json(h, CUST "/opp/OPP-5");
    assert_string_equal(stage_status(j, "discovery"), "missing");
    json_decref(j);
    feed_opp(h, "o2", "OPP-5", "medical", "discovery", "solution", T0 + 5);
    const struct alert *a = find_rule(h, "stage_claim_unsupported");
    assert_true(metric(a, "have") == 0.0);
    assert_int_equal(a->u.coaching.n_evidence, 4); /* progress + 3 notes */
    harness_free(h);
}

static void test_stage_ordering(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    /* created straight into a later stage: no claim to judge */
    feed_opp(h, "o1", "OPP-6", "medical", NULL, "solution", T0);
    assert_int_equal(harness_alert_count(h), 0);
    /* backwards, then sideways, then to an unknown stage: nothing */
    feed_opp(h, "o2", "OPP-6", "medical", "solution", "discovery", T0 + 1);
    feed_opp(h, "o3", "OPP-6", "medical", "discovery", "discovery", T0 + 2);
    feed_opp(h, "o4", "OPP-6", "medical", "discovery", "on_hold", T0 + 3);
    assert_int_equal(harness_alert_count(h), 0);
    /* on_hold -> proposal: from is unknown in the update and in the state */
    feed_opp(h, "o5", "OPP-6", "medical", "on_hold", "proposal", T0 + 4);
    assert_int_equal(harness_alert_count(h), 0);
    feed_opp(h, "o6", "OPP-6", "medical", "proposal", "discovery", T0 + 5);
    assert_int_equal(harness_alert_count(h), 0);
    /* skipping solution and proposal still passes discovery */
    feed_opp(h, "o7", "OPP-6", "medical", "discovery", "negotiation", T0 + 6);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = harness_alert(h, 0);
    assert_true(metric(a, "stages_unsupported") == 1.0);
    assert_string_equal(a->dedup_key,
                        "stage_claim_unsupported/OPP-6/negotiation");
    /* a stale stage_from does not hide a stage the state knows was passed */
    harness_clear_alerts(h);
    feed_opp(h, "o8", "OPP-6", "medical", "proposal", "discovery", T0 + 7);
    feed_opp(h, "o9", "OPP-6", "medical", "solution", "proposal", T0 + 8);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);
}

static void test_stage_gates_on_later_stages(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS,
        "industries:\n"
        "  saas:\n"
        "    stages: [lead, demo, contract]\n"
        "    units:\n"
        "      cfo_quote:\n"
        "        stage: demo\n"
        "        doc_type: QUOTE\n"
        "        author_roles: [CFO]\n"
        "        keywords: [付款条件, payment terms]\n"
        "default_industry: saas\n");
    feed_opp(h, "o1", "OPP-7", NULL, NULL, "lead", T0);
    feed_opp(h, "o2", "OPP-7", NULL, "lead", "demo", T0 + 1);
    assert_int_equal(harness_alert_count(h), 0); /* lead has no units */
    feed_ann(h, "a1", "OPP-7", "Q-1", DOC_QUOTE, "cfo",
             "Highlighted: delivery dates", T0 + 2);
    feed_opp(h, "o3", "OPP-7", NULL, "demo", "contract", T0 + 3);
    assert_int_equal(harness_alert_count(h), 1);
    assert_string_equal(harness_alert(h, 0)->u.coaching.evidence[0],
                        "0 of 1 cfo_quote");
    harness_clear_alerts(h);
    feed_opp(h, "o4", "OPP-7", NULL, "contract", "demo", T0 + 4);
    feed_ann(h, "a2", "OPP-7", "Q-1", DOC_QUOTE, "CFO",
             "Comment: Payment Terms 60 days", T0 + 5);
    feed_opp(h, "o5", "OPP-7", NULL, "demo", "contract", T0 + 6);
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);
}

static void test_evidence_after_claim_marks_supported(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-8", "medical", NULL, "discovery", T0);
    two_good_one_short(h, "OPP-8");
    feed_opp(h, "o2", "OPP-8", "medical", "discovery", "solution", T0 + 10);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    json_t *j = state_json(h, CUST "/opp/OPP-8");
    json_t *claim = json_array_get(json_object_get(j, "unsupported_claims"), 0);
    json_t *cs = json_array_get(json_object_get(claim, "stages"), 0);
    assert_false(json_is_true(json_object_get(cs, "supported_now")));
    json_decref(j);

    director(h, "a4", "OPP-8", "D-18", "远程会诊暂不考虑；重点是日间手术与耗材追溯",
             T0 + 20);
    j = state_json(h, CUST "/opp/OPP-8");
    assert_string_equal(stage_status(j, "discovery"), "supported");
    claim = json_array_get(json_object_get(j, "unsupported_claims"), 0);
    assert_string_equal(json_string_value(json_object_get(claim, "event_id")),
                        "o2");
    cs = json_array_get(json_object_get(claim, "stages"), 0);
    assert_string_equal(json_string_value(json_object_get(cs, "stage")),
                        "discovery");
    assert_true(json_is_true(json_object_get(cs, "supported_now")));
    json_decref(j);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    harness_free(h);
}

static void test_customer_level_documents_count_for_all(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-A", "medical", NULL, "discovery", T0);
    feed_opp(h, "o2", "OPP-B", "medical", NULL, "discovery", T0);
    director(h, "a1", NULL, "D-1", "日间手术、院感监测", T0 + 1);
    director(h, "a2", NULL, "D-2", "耗材追溯和日间手术", T0 + 2);
    director(h, "a3", "OPP-A", "D-3", "院感监测以及耗材追溯", T0 + 3);
    /* the same document on both levels counts once */
    director(h, "a4", "OPP-B", "D-1", "日间手术、院感监测", T0 + 4);
    feed_opp(h, "o3", "OPP-A", NULL, "discovery", "solution", T0 + 5);
    assert_int_equal(harness_alert_count(h), 0);
    feed_opp(h, "o4", "OPP-B", NULL, "discovery", "solution", T0 + 6);
    assert_int_equal(harness_alert_count(h), 1);
    assert_true(metric(harness_alert(h, 0), "have") == 2.0);
    json_t *j = state_json(h, CUST);
    assert_int_equal(
        json_array_size(json_object_get(j, "customer_documents")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "opportunities")), 2);
    json_decref(j);
    harness_free(h);
}

static void test_incomplete_after_days(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, "rules:\n  action_units_incomplete:\n    after: 3d\n");
    feed_opp(h, "o1", "OPP-C", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-C", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    feed_reg(h, "r1", CHANGE_SUPPLIER_LINKED, "sup-1", NULL,
             T0 + 3 * DAY_MS - 1);
    assert_int_equal(harness_alert_count(h), 0);
    /* any later event of the customer judges the deadline */
    feed_reg(h, "r2", CHANGE_TENDER_PUBLISHED, "t-1", NULL, T0 + 3 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = harness_alert(h, 0);
    assert_int_equal(a->u.coaching.category, CAT_ACTION_UNITS_INCOMPLETE);
    assert_int_equal(a->u.coaching.severity, SEV_WARNING);
    assert_string_equal(a->u.coaching.opportunity_id, "OPP-C");
    assert_string_equal(a->u.coaching.rep_id, "rep-li");
    assert_true(metric(a, "days") == 3.0);
    assert_true(metric(a, "have") == 1.0);
    assert_string_equal(a->u.coaching.evidence[0], "科室主任访谈 1/3 份");
    assert_non_null(strstr(a->u.coaching.message, "已 3 天"));
    assert_string_equal(a->dedup_key, "action_units_incomplete/OPP-C/discovery");
    /* once per opportunity and stage */
    feed_reg(h, "r3", CHANGE_TENDER_PUBLISHED, "t-2", NULL, T0 + 9 * DAY_MS);
    director(h, "a2", "OPP-C", "D-2", "无", T0 + 10 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);
}

static void test_incomplete_not_raised_when_evidenced(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-D", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-D", "D-1", "日间手术、院感监测", T0 + 1);
    director(h, "a2", "OPP-D", "D-2", "耗材追溯和日间手术", T0 + 2);
    director(h, "a3", "OPP-D", "D-3", "院感监测以及耗材追溯", T0 + 3);
    feed_reg(h, "r1", CHANGE_TENDER_PUBLISHED, "t-1", NULL, T0 + 30 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 0);
    /* a stage without units is never incomplete */
    feed_opp(h, "o2", "OPP-D", "medical", "discovery", "solution",
             T0 + 31 * DAY_MS);
    feed_reg(h, "r2", CHANGE_TENDER_PUBLISHED, "t-2", NULL, T0 + 60 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 0);
    /* an event older than the deadline does not judge it */
    struct harness *h2 = harness_new(OPS, "");
    feed_opp(h2, "o1", "OPP-E", "medical", NULL, "discovery", T0);
    feed_reg(h2, "r1", CHANGE_TENDER_PUBLISHED, "t-1", NULL, T0 + 13 * DAY_MS);
    assert_int_equal(harness_alert_count(h2), 0);
    feed_reg(h2, "r2", CHANGE_TENDER_PUBLISHED, "t-2", NULL, T0 + 14 * DAY_MS);
    assert_int_equal(harness_alert_count(h2), 1);
    harness_free(h2);
    harness_free(h);
}

/* ---- action_units_incomplete from the timer (stream-time watermark) ---- */

#define OTHER "other-hospital"

static size_t count_incomplete(struct harness *h, const char *opp)
{
    size_t n = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->u.coaching.category == CAT_ACTION_UNITS_INCOMPLETE &&
            strcmp(a->u.coaching.opportunity_id, opp) == 0)
            n++;
    }
    return n;
}

static const struct alert *find_incomplete(struct harness *h, const char *opp)
{
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->u.coaching.category == CAT_ACTION_UNITS_INCOMPLETE &&
            strcmp(a->u.coaching.opportunity_id, opp) == 0)
            return a;
    }
    fail_msg("no action_units_incomplete for %s", opp);
    return NULL;
}

/* Stream time and ownership are the opportunity's partition's (issue 26):
 * another partition's events do not judge it, and while its partition is
 * another instance's this one does not either. */
static void test_timer_follows_partition(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, "rules:\n  action_units_incomplete:\n    after: 3d\n");
    harness_set_partition(h, 1);
    assert_int_equal(feed_opp(h, "o1", "OPP-S", "medical", NULL, "discovery",
                              T0),
                     0);
    director(h, "a1", "OPP-S", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    harness_set_partition(h, 0);
    assert_int_equal(feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED,
                                  "t-1", NULL, T0 + 10 * DAY_MS),
                     0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);

    harness_set_partition(h, 1);
    assert_int_equal(feed_reg_for(h, OTHER, "x2", CHANGE_TENDER_PUBLISHED,
                                  "t-2", NULL, T0 + 4 * DAY_MS),
                     0);
    harness_own(h, 1, false);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);

    harness_own(h, 1, true);
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-S"), 1);
    assert_int_equal(find_incomplete(h, "OPP-S")->src.partition, 1);
    harness_free(h);
}

/* The id of an alert judged from state, whatever its trigger. */
static void expect_state_alert_id(const struct alert *a, const char *cust,
                                  const char *dedup)
{
    struct alert x;
    memset(&x, 0, sizeof(x));
    x.kind = ALERT_COACHING;
    x.customer_id = cust;
    x.dedup_key = dedup;
    x.id_from_state = true;
    alert_compute_id(&x);
    assert_string_equal(a->alert_id, x.alert_id);
}

/* Replay-stable (issue 26, case 4): the same deadline judged by the timer
 * or by the customer's next event carries the same alert_id. */
static void test_incomplete_id_same_on_both_paths(void **unused)
{
    (void)unused;
    const char *yaml = "rules:\n  action_units_incomplete:\n    after: 3d\n";
    struct harness *timer = harness_new(OPS, yaml);
    struct harness *event = harness_new(OPS, yaml);
    struct harness *both[2] = {timer, event};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(feed_opp(both[i], "o1", "OPP-S", "medical", NULL,
                                  "discovery", T0),
                         0);
        director(both[i], "a1", "OPP-S", "D-1", "日间手术、院感监测",
                 T0 + DAY_MS);
    }
    feed_reg_for(timer, OTHER, "x1", CHANGE_TENDER_PUBLISHED, "t-1", NULL,
                 T0 + 4 * DAY_MS);
    harness_timer(timer, 0);
    feed_reg(event, "r1", CHANGE_TENDER_PUBLISHED, "t-4", NULL,
             T0 + 4 * DAY_MS);
    const struct alert *a = find_incomplete(timer, "OPP-S");
    const struct alert *b = find_incomplete(event, "OPP-S");
    assert_string_equal(a->trigger_event_id, "a1");
    assert_string_equal(b->trigger_event_id, "r1");
    assert_string_equal(a->alert_id, b->alert_id);
    harness_free(timer);
    harness_free(event);
}

static void test_timer_fires_stalled_opportunity(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, "rules:\n  action_units_incomplete:\n    after: 3d\n");
    assert_int_equal(feed_opp(h, "o1", "OPP-S", "medical", NULL, "discovery",
                              T0),
                     0); /* offset 0 */
    /* offset 1: the last event OPP-S will ever get */
    director(h, "a1", "OPP-S", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    /* a wall clock far past the deadline decides nothing */
    harness_timer(h, T0 + 365 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 0);

    /* stream time advanced by another customer, even by an event this
     * processor keeps nothing of: just short of the deadline */
    assert_int_equal(feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED,
                                  "t-1", NULL, T0 + 3 * DAY_MS - 1),
                     0);
    assert_null(harness_state(h, OTHER));
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);

    /* at the deadline: another customer's event does not judge OPP-S ... */
    assert_int_equal(feed_reg_for(h, OTHER, "x2", CHANGE_TENDER_PUBLISHED,
                                  "t-2", NULL, T0 + 3 * DAY_MS),
                     0);
    assert_int_equal(harness_alert_count(h), 0);
    /* ... the next tick does */
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = find_incomplete(h, "OPP-S");
    assert_string_equal(a->customer_id, CUST);
    assert_int_equal(a->u.coaching.severity, SEV_WARNING);
    assert_string_equal(a->u.coaching.rule, "action_units_incomplete");
    assert_string_equal(a->u.coaching.rep_id, "rep-li");
    /* provenance: OPP-S's last event; event time: the deadline */
    assert_string_equal(a->trigger_event_id, "a1");
    assert_string_equal(a->src.topic, event_kind_name(EVENT_ANNOTATION));
    assert_int_equal(a->src.partition, 0);
    assert_int_equal(a->src.offset, 1);
    assert_int_equal(a->event_time, T0 + 3 * DAY_MS);
    assert_string_equal(a->dedup_key,
                        "action_units_incomplete/OPP-S/discovery");
    expect_state_alert_id(a, CUST, "action_units_incomplete/OPP-S/discovery");
    assert_true(metric(a, "days") == 3.0);
    assert_true(metric(a, "have") == 1.0);
    assert_true(metric(a, "need") == 3.0);
    assert_string_equal(a->u.coaching.evidence[0], "科室主任访谈 1/3 份");
    assert_non_null(strstr(a->u.coaching.message, "已 3 天"));

    /* exactly once: more ticks, later events of both customers */
    harness_timer(h, 0);
    harness_timer(h, 0);
    feed_reg_for(h, OTHER, "x3", CHANGE_TENDER_PUBLISHED, "t-3", NULL,
                 T0 + 20 * DAY_MS);
    harness_timer(h, 0);
    feed_reg(h, "r1", CHANGE_TENDER_PUBLISHED, "t-4", NULL, T0 + 21 * DAY_MS);
    director(h, "a2", "OPP-S", "D-2", "无", T0 + 22 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-S"), 1);
    assert_int_equal(harness_alert_count(h), 1);
    json_t *j = state_json(h, CUST "/opp/OPP-S");
    json_t *al = json_object_get(j, "incomplete_alerted");
    assert_int_equal(json_array_size(al), 1);
    assert_string_equal(json_string_value(json_array_get(al, 0)), "discovery");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "last_event"), "event_id")),
                        "a2");
    json_decref(j);
    harness_free(h);
}

static void test_timer_respects_evidence(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, ""); /* after: 14d */
    feed_opp(h, "o1", "OPP-G", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-G", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    director(h, "a2", "OPP-G", "D-2", "耗材追溯和日间手术", T0 + 2 * DAY_MS);
    director(h, "a3", "OPP-G", "D-3", "院感监测以及耗材追溯", T0 + 3 * DAY_MS);
    /* another customer's opportunity, stalled too, due at T0 + 44d */
    assert_int_equal(feed_opp_for(h, OTHER, "x1", "OPP-O", "medical", NULL,
                                  "discovery", T0 + 30 * DAY_MS),
                     0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0); /* OPP-G evidenced in time */
    json_t *j = state_json(h, CUST "/opp/OPP-G");
    assert_string_equal(stage_status(j, "discovery"), "supported");
    json_decref(j);
    feed_reg_for(h, "third-clinic", "y1", CHANGE_TENDER_PUBLISHED, "t-1",
                 NULL, T0 + 44 * DAY_MS - 1);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);
    /* a third customer's traffic brings the stream to OPP-O's deadline;
     * the alert cites OPP-O's last event, an update */
    feed_reg_for(h, "third-clinic", "y2", CHANGE_TENDER_PUBLISHED, "t-2",
                 NULL, T0 + 44 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = find_incomplete(h, "OPP-O");
    assert_string_equal(a->customer_id, OTHER);
    assert_string_equal(a->trigger_event_id, "x1");
    assert_string_equal(a->src.topic, event_kind_name(EVENT_OPPORTUNITY));
    assert_int_equal(a->event_time, T0 + 44 * DAY_MS);
    assert_true(metric(a, "days") == 14.0);
    assert_true(metric(a, "have") == 0.0);
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-G"), 0);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);

    /* rule off: the timer never fires */
    h = harness_new(OPS, "rules:\n  action_units_incomplete:\n    enabled: "
                         "false\n");
    feed_opp(h, "o1", "OPP-N", "medical", NULL, "discovery", T0);
    feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED, "t-1", NULL,
                 T0 + 100 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);
}

/* The per-event path fires first; the timer then has nothing to add. */
static void test_event_path_then_timer_once(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, "rules:\n  action_units_incomplete:\n    after: 3d\n");
    feed_opp(h, "o1", "OPP-P", "medical", NULL, "discovery", T0);
    feed_reg(h, "r1", CHANGE_TENDER_PUBLISHED, "t-1", NULL, T0 + 3 * DAY_MS);
    assert_int_equal(count_incomplete(h, "OPP-P"), 1);
    const struct alert *a = find_incomplete(h, "OPP-P");
    assert_string_equal(a->trigger_event_id, "r1"); /* the event judged it */
    assert_int_equal(a->event_time, T0 + 3 * DAY_MS);
    feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED, "t-2", NULL,
                 T0 + 10 * DAY_MS);
    harness_timer(h, 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    /* a later stage gets its own deadline and its own alert, once */
    feed_opp(h, "o2", "OPP-P", NULL, "discovery", "solution",
             T0 + 11 * DAY_MS);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-P"), 1); /* solution has no units */
    harness_free(h);
}

static void test_timer_after_restart(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, "rules:\n  action_units_incomplete:\n    after: 3d\n");
    feed_opp(h, "o1", "OPP-S", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-S", "D-1", "日间手术", T0 + DAY_MS); /* offset 1 */
    /* the watermark passes the deadline, but no tick before the restart */
    feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED, "t-1", NULL,
                 T0 + 5 * DAY_MS);
    harness_restart(h);
    /* first tick: the index is rebuilt from the store, but the watermark
     * is unknown until events arrive again */
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);
    feed_reg_for(h, OTHER, "x2", CHANGE_TENDER_PUBLISHED, "t-2", NULL,
                 T0 + 2 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);
    feed_reg_for(h, OTHER, "x3", CHANGE_TENDER_PUBLISHED, "t-3", NULL,
                 T0 + 3 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = find_incomplete(h, "OPP-S");
    assert_string_equal(a->trigger_event_id, "a1"); /* decoded provenance */
    assert_string_equal(a->src.topic, event_kind_name(EVENT_ANNOTATION));
    assert_int_equal(a->src.offset, 1);
    assert_int_equal(a->event_time, T0 + 3 * DAY_MS);
    expect_state_alert_id(a, CUST, "action_units_incomplete/OPP-S/discovery");
    /* once, across another restart */
    harness_restart(h);
    feed_reg_for(h, OTHER, "x4", CHANGE_TENDER_PUBLISHED, "t-4", NULL,
                 T0 + 30 * DAY_MS);
    harness_timer(h, 0);
    harness_timer(h, 0);
    feed_reg(h, "r1", CHANGE_TENDER_PUBLISHED, "t-5", NULL, T0 + 31 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);

    /* restart, then stream time passes the deadline before the first
     * tick: that tick rebuilds the index and fires */
    h = harness_new(OPS, "rules:\n  action_units_incomplete:\n    after: 3d\n");
    feed_opp(h, "o1", "OPP-T", "medical", NULL, "discovery", T0);
    harness_restart(h);
    feed_opp_for(h, OTHER, "x1", "OPP-O", "medical", NULL, "proposal",
                 T0 + 4 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    a = find_incomplete(h, "OPP-T");
    assert_string_equal(a->trigger_event_id, "o1");
    assert_int_equal(a->src.offset, 0);
    assert_int_equal(a->event_time, T0 + 3 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);
}

/* Format-1 records (before the provenance fields) still decode; they are
 * written back as format 2. */
static void test_decode_format_1(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-V", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-V", "D-1", "日间手术", T0 + 1); /* offset 1 */
    const char *key = CUST "/opp/OPP-V";
    struct buf b, tail, b2;
    buf_init(&b);
    buf_init(&tail);
    buf_init(&b2);
    OPS->state_encode(harness_state(h, key), &b);
    assert_int_equal(b.data[0], 2);
    /* format 2 ends with the last event's provenance */
    buf_put_str(&tail, "a1");
    buf_put_str(&tail, event_kind_name(EVENT_ANNOTATION));
    buf_put_i64(&tail, 0);
    buf_put_i64(&tail, 1);
    assert_true(b.len > tail.len);
    assert_memory_equal(b.data + b.len - tail.len, tail.data, tail.len);
    size_t v1len = b.len - tail.len;
    b.data[0] = 1;
    void *back = NULL;
    /* format 1 with format-2 fields behind it is not format 1 */
    assert_int_equal(OPS->state_decode(key, b.data, b.len, &back), -1);
    assert_int_equal(OPS->state_decode(key, b.data, v1len, &back), 0);
    struct jw *w = jw_new();
    OPS->state_to_json(back, w);
    char *js = jw_finish(w, false);
    jw_free(w);
    json_error_t je;
    json_t *j = json_loads(js, 0, &je);
    free(js);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "last_event")));
    assert_string_equal(json_string_value(json_object_get(j, "stage")),
                        "discovery");
    assert_int_equal(json_array_size(json_object_get(j, "documents")), 1);
    json_decref(j);
    OPS->state_encode(back, &b2);
    OPS->state_free(back);
    assert_int_equal(b2.data[0], 2);
    assert_int_equal(b2.len, v1len + 4); /* two absent strings, two zeros */
    assert_memory_equal(b2.data + 1, b.data + 1, v1len - 1);
    const uint8_t none[4] = {0, 0, 0, 0};
    assert_memory_equal(b2.data + v1len, none, 4);
    buf_free(&b);
    buf_free(&tail);
    buf_free(&b2);
    harness_free(h);
}

static void test_restart_keeps_evidence(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-R", "medical", NULL, "discovery", T0);
    two_good_one_short(h, "OPP-R");
    director(h, "a9", NULL, "D-C", "客户层面：日间手术", T0 + 5);
    char *before_c = harness_state_json(h, CUST);
    char *before_o = harness_state_json(h, CUST "/opp/OPP-R");
    harness_restart(h);
    char *after_c = harness_state_json(h, CUST);
    char *after_o = harness_state_json(h, CUST "/opp/OPP-R");
    assert_string_equal(before_c, after_c);
    assert_string_equal(before_o, after_o);
    free(before_c);
    free(before_o);
    free(after_c);
    free(after_o);
    /* the decoded state still knows the competitor and the documents */
    feed_opp(h, "o2", "OPP-R", NULL, "discovery", "solution", T0 + DAY_MS);
    const struct alert *a = find_rule(h, "stage_claim_unsupported");
    assert_true(metric(a, "have") == 2.0);
    assert_string_equal(a->u.coaching.evidence[1],
                        "D-17 仅提及 1 个未被竞品覆盖的场景（需 2 个）");
    harness_free(h);
}

static void test_decode_rejects_bad_bytes(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "");
    feed_opp(h, "o1", "OPP-X", "medical", NULL, "discovery", T0);
    two_good_one_short(h, "OPP-X");
    feed_opp(h, "o2", "OPP-X", NULL, "discovery", "solution", T0 + 10);
    const char *keys[] = {CUST, CUST "/opp/OPP-X"};
    for (size_t k = 0; k < 2; k++) {
        void *st = harness_state(h, keys[k]);
        assert_non_null(st);
        struct buf b, b2;
        buf_init(&b);
        buf_init(&b2);
        OPS->state_encode(st, &b);
        void *back = NULL;
        assert_int_equal(OPS->state_decode(keys[k], b.data, b.len, &back), 0);
        OPS->state_encode(back, &b2);
        assert_int_equal(b.len, b2.len);
        assert_memory_equal(b.data, b2.data, b.len);
        OPS->state_free(back);
        for (size_t n = 0; n < b.len; n++) {
            back = (void *)1;
            assert_int_equal(OPS->state_decode(keys[k], b.data, n, &back), -1);
            assert_null(back);
        }
        uint8_t version = b.data[0];
        assert_int_equal(version, 2);
        const uint8_t bad[] = {0, 3, 99}; /* unknown versions */
        for (size_t i = 0; i < sizeof(bad); i++) {
            b.data[0] = bad[i];
            assert_int_equal(OPS->state_decode(keys[k], b.data, b.len, &back),
                             -1);
        }
        b.data[0] = version;
        /* a customer record under an opportunity key, and vice versa */
        assert_int_equal(OPS->state_decode(keys[1 - k], b.data, b.len, &back),
                         -1);
        buf_free(&b);
        buf_free(&b2);
    }
    OPS->state_free(NULL);
    harness_free(h);
}

static void test_max_opportunities_prunes_oldest(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, "max_opportunities: 2\n");
    feed_opp(h, "o1", "P-1", "medical", NULL, "discovery", T0);
    feed_opp(h, "o2", "P-2", "medical", NULL, "discovery", T0 + 1);
    feed_opp(h, "o3", "P-1", "medical", "discovery", "discovery", T0 + 2);
    feed_opp(h, "o4", "P-3", "medical", NULL, "discovery", T0 + 3);
    assert_null(harness_state(h, CUST "/opp/P-2"));
    assert_non_null(harness_state(h, CUST "/opp/P-1"));
    assert_non_null(harness_state(h, CUST "/opp/P-3"));
    json_t *j = state_json(h, CUST);
    assert_int_equal(json_array_size(json_object_get(j, "opportunities")), 2);
    json_decref(j);
    harness_free(h);
}

static void test_config_validation(void **unused)
{
    (void)unused;
    char errs[4096];
    struct {
        const char *yaml;
        const char *needle;
    } bad[] = {
        {"industries:\n  x:\n    stages: [a, b]\n    units:\n      u:\n"
         "        stage: c\n"
         "default_industry: x\n",
         "stage not in"},
        {"industries:\n  x:\n    stages: [a, a]\n"
         "default_industry: x\n",
         "listed twice"},
        {"industries:\n  x:\n    stages: [a]\n    units:\n      u:\n"
         "        stage: a\n        min_scenarios: 2\n"
         "default_industry: x\n",
         "scenario"},
        {"default_industry: retail\n", "default_industry"},
        {"confusables: [己已, 已巳]\n", "two confusable groups"},
        {"messages:\n  en:\n    stage_claim: \"moved {sideways}\"\n",
         "placeholder"},
        {"rules:\n  action_units_incomplete:\n    after: 5m\n", "after"},
        {"rules:\n  stage_claim_unsupported:\n    severity: PURPLE\n",
         "severity"},
        {"industries:\n  x:\n    stages: [a]\n    unitz: {}\n"
         "default_industry: x\n",
         "unitz"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errs[0] = '\0';
        int rc = harness_config_check(OPS, bad[i].yaml, errs, sizeof(errs));
        if (rc != -1 || !strstr(errs, bad[i].needle))
            fail_msg("case %zu: rc %d, errors: %s", i, rc, errs);
    }
    errs[0] = '\0';
    assert_int_equal(
        harness_config_check(OPS,
                             "default_industry: \"\"\n"
                             "messages:\n  en:\n    stage_claim: \"{to} {x\"\n",
                             errs, sizeof(errs)),
        0);
}

/* ---- the bundled sample data ---- */

struct sample {
    json_t *j;
    struct event ev;
};

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k)); /* NULL for null */
}

static int sample_cmp(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    if (x->ev.event_time != y->ev.event_time)
        return x->ev.event_time < y->ev.event_time ? -1 : 1;
    return 0;
}

/* Loads a JSONL file of the examples into samples (events borrow from the
 * parsed JSON). */
static size_t load_samples(const char *file, enum event_kind kind,
                           struct sample *out, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/examples/%s", DS_SOURCE_DIR, file);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof(line), fp)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        assert_non_null(j);
        assert_true(n < cap);
        struct sample *s = &out[n++];
        memset(s, 0, sizeof(*s));
        s->j = j;
        s->ev.kind = kind;
        s->ev.event_id = jstr(j, "event_id");
        s->ev.customer_id = jstr(j, "customer_id");
        s->ev.event_time = json_integer_value(json_object_get(j, "event_time"));
        if (kind == EVENT_ANNOTATION) {
            struct doc_annotation *a = &s->ev.u.annotation;
            a->rep_id = jstr(j, "rep_id");
            a->opportunity_id = jstr(j, "opportunity_id");
            a->document_id = jstr(j, "document_id");
            assert_int_equal(doc_type_parse(jstr(j, "doc_type"), &a->doc_type),
                             0);
            assert_int_equal(doc_source_parse(jstr(j, "source"), &a->source), 0);
            a->author_role = jstr(j, "author_role");
            a->text = jstr(j, "text");
        } else {
            struct opportunity_update *o = &s->ev.u.opportunity;
            o->opportunity_id = jstr(j, "opportunity_id");
            o->rep_id = jstr(j, "rep_id");
            o->industry = jstr(j, "industry");
            o->stage_from = jstr(j, "stage_from");
            o->stage_to = jstr(j, "stage_to");
        }
    }
    fclose(fp);
    return n;
}

static void test_sample_data_raises_demo_alerts(void **unused)
{
    (void)unused;
    struct sample s[32];
    size_t n = load_samples("doc_annotations.jsonl", EVENT_ANNOTATION, s, 32);
    n += load_samples("opportunity_updates.jsonl", EVENT_OPPORTUNITY, s + n,
                      32 - n);
    qsort(s, n, sizeof(s[0]), sample_cmp);
    struct harness *h = harness_new(OPS, "");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(harness_feed(h, &s[i].ev), 0);
    assert_int_equal(harness_alert_count(h), 2);
    const struct alert *a = find_rule(h, "missing_keywords");
    assert_string_equal(a->customer_id, "acme-medical");
    assert_string_equal(a->u.coaching.document_id, "VR-ACME-1103");
    assert_int_equal(a->u.coaching.n_evidence, 1);
    assert_string_equal(a->u.coaching.evidence[0], "耗材SPD系统");
    a = find_rule(h, "stage_claim_unsupported");
    assert_int_equal(a->u.coaching.severity, SEV_RED);
    assert_string_equal(a->u.coaching.opportunity_id, "OPP-ACME-001");
    assert_int_equal(a->u.coaching.n_evidence, 2);
    assert_string_equal(a->u.coaching.evidence[0], "科室主任访谈 2/3 份");
    assert_string_equal(a->u.coaching.evidence[1],
                        "D-17 仅提及 1 个未被竞品覆盖的场景（需 2 个）");
    json_t *j = state_json(h, "acme-medical/opp/OPP-ACME-001");
    assert_string_equal(stage_status(j, "discovery"), "missing");
    assert_int_equal(doc_uncovered(j, "documents", "D-17"), 1);
    json_decref(j);
    harness_free(h);
    for (size_t i = 0; i < n; i++)
        json_decref(s[i].j);
}

/* The section shipped in processor.yaml loads and behaves like the defaults. */
static void test_processor_yaml_section(void **unused)
{
    (void)unused;
    char path[512];
    snprintf(path, sizeof(path), "%s/processor.yaml", DS_SOURCE_DIR);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    struct buf sec;
    buf_init(&sec);
    char line[1024];
    bool in = false;
    while (fgets(line, sizeof(line), fp)) {
        if (strcmp(line, "  action_units:\n") == 0) {
            in = true;
            continue;
        }
        /* the section ends at the next line indented 2 or less */
        if (in && line[0] != '\n' && strncmp(line, "    ", 4) != 0)
            break;
        if (in && strlen(line) > 4)
            buf_append(&sec, line + 4, strlen(line) - 4);
    }
    fclose(fp);
    assert_true(sec.len > 0);
    buf_put_u8(&sec, 0);
    char errs[2048] = "";
    if (harness_config_check(OPS, (const char *)sec.data, errs, sizeof(errs)))
        fail_msg("processor.yaml action_units: %s", errs);
    struct harness *h = harness_new(OPS, (const char *)sec.data);
    feed_ann(h, "e1", "OPP-1", "VR-1", DOC_VISIT_REPORT, "rep", "医保DRG分组",
             T0);
    assert_int_equal(count_rule(h, "missing_keywords"), 1);
    harness_free(h);
    buf_free(&sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_load),
        cmocka_unit_test(test_visit_report_missing_keyword),
        cmocka_unit_test(test_keywords_confusables_and_mixed_scripts),
        cmocka_unit_test(test_english_message_follows_document),
        cmocka_unit_test(test_two_of_three_interviews_raise_red),
        cmocka_unit_test(test_english_evidence_wording),
        cmocka_unit_test(test_all_units_evidenced_no_alert),
        cmocka_unit_test(test_wrong_author_and_type_do_not_count),
        cmocka_unit_test(test_competitor_coverage_from_registry),
        cmocka_unit_test(test_competitor_link_unsupports_stage),
        cmocka_unit_test(test_stage_ordering),
        cmocka_unit_test(test_stage_gates_on_later_stages),
        cmocka_unit_test(test_evidence_after_claim_marks_supported),
        cmocka_unit_test(test_customer_level_documents_count_for_all),
        cmocka_unit_test(test_incomplete_after_days),
        cmocka_unit_test(test_incomplete_not_raised_when_evidenced),
        cmocka_unit_test(test_timer_fires_stalled_opportunity),
        cmocka_unit_test(test_timer_follows_partition),
        cmocka_unit_test(test_incomplete_id_same_on_both_paths),
        cmocka_unit_test(test_timer_respects_evidence),
        cmocka_unit_test(test_event_path_then_timer_once),
        cmocka_unit_test(test_timer_after_restart),
        cmocka_unit_test(test_decode_format_1),
        cmocka_unit_test(test_restart_keeps_evidence),
        cmocka_unit_test(test_decode_rejects_bad_bytes),
        cmocka_unit_test(test_max_opportunities_prunes_oldest),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_sample_data_raises_demo_alerts),
        cmocka_unit_test(test_processor_yaml_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
