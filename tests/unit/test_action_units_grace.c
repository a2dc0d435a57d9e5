/*
 * test_action_units_grace.c - stage claims judged in stream time (issue
 * 19): with evidence_grace a claim that lacks units waits for evidence
 * produced before it in event time but applied after it; past the grace
 * it is judged by a later event of the customer or by the timer, with one
 * alert_id either way; evidence later still resolves the alert with a
 * follow-up naming it; a pending claim survives a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "action_units_fixture.h"

#define GRACE "evidence_grace: 10m\n"
#define MIN_MS 60000LL

/* The three director interviews of the issue: discovery fully supported
 * (no competitor linked, so each names two uncovered scenarios). */
static void three_interviews(struct harness *h, const char *opp, int64_t t)
{
    director(h, "a1", opp, "D-15", "主任关注日间手术和院感监测的落地", t);
    director(h, "a2", opp, "D-16", "讨论耗材追溯、远程会诊", t + DAY_MS);
    director(h, "a3", opp, "D-17", "希望开展日间手术，并引入床旁检测",
             t + 2 * DAY_MS);
}

static const char *claim_state(struct harness *h, const char *key)
{
    static char st[32];
    json_t *j = state_json(h, key);
    json_t *c = json_array_get(json_object_get(j, "unsupported_claims"), 0);
    const char *s = c ? json_string_value(json_object_get(c, "state")) : NULL;
    snprintf(st, sizeof(st), "%s", s ? s : "none");
    json_decref(j);
    return st;
}

/* The race: the move to solution (day 10) applied before the
 * interviews of days 1-3. No RED with the grace; with grace 0 a RED, then
 * its resolution once the interviews arrive. */
static void test_claim_before_its_evidence(void **unused)
{
    (void)unused;
    const char *cfgs[2] = {GRACE, AU_NO_GRACE};
    for (int g = 0; g < 2; g++) {
        struct harness *h = harness_new(OPS, cfgs[g]);
        feed_opp(h, "o1", "OPP-1", "medical", NULL, "discovery", T0);
        feed_opp(h, "o2", "OPP-1", "medical", "discovery", "solution",
                 T0 + 10 * DAY_MS);
        three_interviews(h, "OPP-1", T0 + DAY_MS);
        feed_opp(h, "o3", "OPP-1", NULL, "solution", "solution",
                 T0 + 11 * DAY_MS);
        harness_timer(h, 0);
        if (g == 0) {
            assert_int_equal(count_rule(h, "stage_claim_unsupported"), 0);
            assert_string_equal(claim_state(h, CUST "/opp/OPP-1"), "none");
        } else {
            assert_int_equal(count_rule(h, "stage_claim_unsupported"), 2);
            const struct alert *red = harness_alert(h, 0);
            const struct alert *fix = harness_alert(h, 1);
            assert_int_equal(red->u.coaching.severity, SEV_RED);
            assert_int_equal(fix->u.coaching.severity, SEV_INFO);
            assert_string_equal(fix->u.coaching.resolves_alert_id,
                                red->alert_id);
            /* the interview that completed the evidence */
            assert_string_equal(fix->trigger_event_id, "a3");
            assert_string_equal(claim_state(h, CUST "/opp/OPP-1"), "resolved");
        }
        harness_free(h);
    }
}

/* Complete evidence at the claim: judged at once, nothing pending. */
static void test_complete_evidence_judged_at_once(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, GRACE);
    feed_opp(h, "o1", "OPP-2", "medical", NULL, "discovery", T0);
    three_interviews(h, "OPP-2", T0 + DAY_MS);
    feed_opp(h, "o2", "OPP-2", NULL, "discovery", "solution",
             T0 + 10 * DAY_MS);
    assert_string_equal(claim_state(h, CUST "/opp/OPP-2"), "none");
    json_t *j = state_json(h, CUST);
    json_t *ref = json_array_get(json_object_get(j, "opportunities"), 0);
    assert_non_null(ref);
    assert_null(json_object_get(ref, "claim_due"));
    json_decref(j);
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);
}

/* An unsupported claim: nothing inside the grace, the RED once an event
 * of the customer passes it (event time = the due time, cited event = the
 * claim), and a resolution when the evidence comes later still. */
static void test_unsupported_after_grace_then_resolved(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, GRACE);
    feed_opp(h, "o1", "OPP-3", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-3", "D-15", "主任关注日间手术和院感监测的落地",
             T0 + 1);
    int64_t at = T0 + 10 * DAY_MS;
    feed_opp(h, "o2", "OPP-3", NULL, "discovery", "solution", at);
    assert_string_equal(claim_state(h, CUST "/opp/OPP-3"), "pending");
    feed_reg(h, "r1", CHANGE_SUPPLIER_LINKED, "sup-1", NULL,
             at + 10 * MIN_MS - 1);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 0);
    feed_reg(h, "r2", CHANGE_SUPPLIER_LINKED, "sup-2", NULL,
             at + 10 * MIN_MS);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    const struct alert *red = harness_alert(h, 0);
    assert_int_equal(red->u.coaching.severity, SEV_RED);
    assert_string_equal(red->trigger_event_id, "o2");
    assert_int_equal(red->event_time, at + 10 * MIN_MS);
    assert_null(red->u.coaching.resolves_alert_id);
    char red_id[33];
    snprintf(red_id, sizeof(red_id), "%s", red->alert_id);
    assert_string_equal(claim_state(h, CUST "/opp/OPP-3"), "alerted");
    /* judged once */
    feed_reg(h, "r3", CHANGE_SUPPLIER_LINKED, "sup-3", NULL, at + DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    /* the OCR pipeline catches up: the two other interviews */
    director(h, "a2", "OPP-3", "D-16", "讨论耗材追溯、远程会诊", T0 + 2);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    director(h, "a3", "OPP-3", "D-17", "希望开展日间手术，并引入床旁检测",
             T0 + 3);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 2);
    const struct alert *fix = harness_alert(h, harness_alert_count(h) - 1);
    assert_int_equal(fix->u.coaching.severity, SEV_INFO);
    assert_string_equal(fix->u.coaching.resolves_alert_id, red_id);
    assert_string_equal(claim_state(h, CUST "/opp/OPP-3"), "resolved");
    harness_free(h);
}

/* The partition group's watermark holds the judgement back: a later event
 * past the grace does not judge the claim while the evidence topic is
 * still behind (OCR lagging the CRM); once the watermark passes the due
 * time, the timer judges it with the alert the unheld path gives. */
static void test_watermark_holds_claims(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, GRACE);
    feed_opp(h, "o1", "OPP-5", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-5", "D-15", "主任关注日间手术和院感监测的落地",
             T0 + 1);
    int64_t at = T0 + 10 * DAY_MS;
    harness_set_watermark(h, true, T0 + 1); /* the annotations' topic */
    feed_opp(h, "o2", "OPP-5", NULL, "discovery", "solution", at);
    feed_reg(h, "r1", CHANGE_SUPPLIER_LINKED, "sup-1", NULL, at + DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 0);
    assert_string_equal(claim_state(h, CUST "/opp/OPP-5"), "pending");
    harness_set_watermark(h, true, at + 10 * MIN_MS - 1);
    harness_timer(h, 0);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 0);
    harness_set_watermark(h, true, at + 10 * MIN_MS);
    harness_timer(h, 0);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    const struct alert *red = harness_alert(h, 0);
    assert_int_equal(red->u.coaching.severity, SEV_RED);
    assert_string_equal(red->trigger_event_id, "o2");
    assert_int_equal(red->event_time, at + 10 * MIN_MS);
    assert_string_equal(claim_state(h, CUST "/opp/OPP-5"), "alerted");
    harness_free(h);
}

/* The timer judges a claim whose customer gets no more events, once the
 * partition's stream time passes it; the alert_id equals the one the
 * per-event path gives. A pending claim survives a restart. */
static void test_timer_and_event_paths_agree(void **unused)
{
    (void)unused;
    char ids[2][33];
    for (int path = 0; path < 2; path++) {
        struct harness *h = harness_new(OPS, GRACE);
        int64_t at = T0 + 10 * DAY_MS;
        feed_opp(h, "o1", "OPP-4", "medical", NULL, "discovery", T0);
        feed_opp(h, "o2", "OPP-4", NULL, "discovery", "solution", at);
        harness_restart(h);
        if (path == 0) {
            /* another customer of the partition moves stream time on */
            feed_opp_for(h, "other", "x1", "OPP-Z", "medical", NULL,
                         "discovery", at + 10 * MIN_MS - 1);
            harness_timer(h, 0);
            assert_int_equal(count_rule(h, "stage_claim_unsupported"), 0);
            feed_opp_for(h, "other", "x2", "OPP-Z", NULL, NULL, "discovery",
                         at + 11 * MIN_MS);
            harness_timer(h, 0);
        } else {
            feed_reg(h, "r1", CHANGE_SUPPLIER_LINKED, "sup-1", NULL,
                     at + 11 * MIN_MS);
        }
        assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
        const struct alert *a = find_rule(h, "stage_claim_unsupported");
        assert_string_equal(a->trigger_event_id, "o2");
        assert_int_equal(a->event_time, at + 10 * MIN_MS);
        snprintf(ids[path], sizeof(ids[path]), "%s", a->alert_id);
        harness_timer(h, 0);
        assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
        harness_free(h);
    }
    assert_string_equal(ids[0], ids[1]);
}

/* The timer judges a claim by its own partition's stream time, and only
 * while this instance owns that partition. */
static void test_timer_follows_partition(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, GRACE);
    int64_t at = T0 + 10 * DAY_MS;
    harness_set_partition(h, 1);
    feed_opp(h, "o1", "OPP-5", "medical", NULL, "discovery", T0);
    feed_opp(h, "o2", "OPP-5", NULL, "discovery", "solution", at);
    harness_set_partition(h, 0); /* another partition's time means nothing */
    feed_opp_for(h, "other", "x1", "OPP-Z", "medical", NULL, "discovery",
                 at + DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 0);
    harness_set_partition(h, 1);
    feed_opp_for(h, "other", "x2", "OPP-Y", "medical", NULL, "discovery",
                 at + 10 * MIN_MS);
    harness_own(h, 1, false);
    harness_timer(h, 0);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 0);
    harness_own(h, 1, true);
    harness_restart(h); /* a rebalance: the index is rebuilt */
    feed_opp_for(h, "other", "x3", "OPP-Y", NULL, NULL, "discovery",
                 at + 10 * MIN_MS);
    harness_timer(h, 0);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    assert_int_equal(find_rule(h, "stage_claim_unsupported")->src.partition,
                     1);
    harness_free(h);
}

static void test_grace_config(void **unused)
{
    (void)unused;
    char errs[2048] = "";
    assert_int_equal(harness_config_check(OPS, "evidence_grace: 2h\n", errs,
                                          sizeof(errs)),
                     0);
    assert_int_not_equal(harness_config_check(OPS, "evidence_grace: soon\n",
                                              errs, sizeof(errs)),
                         0);
    assert_non_null(strstr(errs, "evidence_grace"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_before_its_evidence),
        cmocka_unit_test(test_complete_evidence_judged_at_once),
        cmocka_unit_test(test_unsupported_after_grace_then_resolved),
        cmocka_unit_test(test_watermark_holds_claims),
        cmocka_unit_test(test_timer_and_event_paths_agree),
        cmocka_unit_test(test_timer_follows_partition),
        cmocka_unit_test(test_grace_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
