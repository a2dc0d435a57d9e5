/*
 * test_action_units_evidence.c - the action-unit processor through the
 * in-memory harness: keyword matching (confusables, mixed scripts), unit
 * counting, competitor coverage, stage ordering and stage claims, config
 * validation, and the bundled sample data. The deadline, timer, restart
 * and state-format tests are in test_action_units_timer.c; what both use
 * is in action_units_fixture.c.
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

#include "action_units_fixture.h"
#include "buf.h"

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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
    harness_free(h);
}

static void test_visit_report_missing_keyword(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
    /* OCR wrote 巳/已 and O-for-0 style errors are not in these keywords,
     * so mix case, full width and ASR spaces instead */
    assert_int_equal(feed_ann(h, "e1", NULL, "VR-2", DOC_VISIT_REPORT, "rep",
                              "医保ｄｒｇ分组 已沟通；耗 材 SPD 系 统 上线中", T0),
                     0);
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);

    /* a keyword written with one confusable, text with another */
    h = harness_new(OPS,
                    AU_NO_GRACE "industries:\n"
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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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

static void test_two_of_three_interviews_raise_red(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
        AU_NO_GRACE
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
    /* only the follow-up resolving the first claim's alert */
    assert_int_equal(harness_alert_count(h), 1);
    assert_int_equal(harness_alert(h, 0)->u.coaching.severity, SEV_INFO);
    assert_non_null(harness_alert(h, 0)->u.coaching.resolves_alert_id);
    harness_free(h);
}

static void test_evidence_after_claim_marks_supported(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    assert_string_equal(json_string_value(json_object_get(claim, "state")),
                        "resolved");
    json_decref(j);
    /* the RED, then its resolution naming it (issue 19) */
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 2);
    const struct alert *red = harness_alert(h, 0), *fix = harness_alert(h, 1);
    assert_int_equal(red->u.coaching.severity, SEV_RED);
    assert_null(red->u.coaching.resolves_alert_id);
    assert_int_equal(fix->u.coaching.severity, SEV_INFO);
    assert_string_equal(fix->u.coaching.resolves_alert_id, red->alert_id);
    assert_string_equal(fix->trigger_event_id, "a4");
    /* more evidence: resolved once */
    director(h, "a5", "OPP-8", "D-19", "日间手术与耗材追溯", T0 + 30);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 2);
    harness_free(h);
}

static void test_customer_level_documents_count_for_all(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
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
    /* The stage change comes with the demo's second round, on the day of
     * the meetings, after its evidence. */
    n += load_samples("round2/opportunity_updates.jsonl", EVENT_OPPORTUNITY,
                      s + n, 32 - n);
    qsort(s, n, sizeof(s[0]), sample_cmp);
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(harness_feed(h, &s[i].ev), 0);
    assert_int_equal(harness_alert_count(h), 2);
    const struct alert *a = find_rule(h, "missing_keywords");
    assert_string_equal(a->customer_id, "acme-medical");
    assert_string_equal(a->u.coaching.document_id, "VR-ACME-1113");
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
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_sample_data_raises_demo_alerts),
        cmocka_unit_test(test_processor_yaml_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
