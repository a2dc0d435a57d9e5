/*
 * test_orchestration.c - the orchestration processor through the in-memory
 * harness: keyword and stage triggers create work items with stable ids,
 * a repeated requirement within the window creates none, updates close
 * them, stream time (not the wall clock) makes them OVERDUE once on either
 * path, state survives a restart, and bad triggers are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "metrics.h"
#include "processor.h"
#include "repartition.h"

extern const struct processor_ops processor_orchestration;

#define T0 1772409600000LL
#define MIN 60000LL
#define HOUR 3600000LL

static int feed_segment(struct harness *h, const char *id, const char *cust,
                        enum role role, const char *text, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_TRANSCRIPT;
    ev.key = ev.customer_id = cust;
    ev.event_id = id;
    ev.event_time = t;
    ev.u.transcript = (struct transcript_segment){
        .meeting_id = "m-1", .rep_id = "rep-1", .seq = 1,
        .speaker_id = role == ROLE_CUSTOMER ? "c" : "r", .speaker_role = role,
        .text = text};
    return harness_feed(h, &ev);
}

static int feed_annotation(struct harness *h, const char *id, const char *cust,
                           const char *text, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_ANNOTATION;
    ev.key = ev.customer_id = cust;
    ev.event_id = id;
    ev.event_time = t;
    ev.u.annotation = (struct doc_annotation){
        .rep_id = "rep-2", .opportunity_id = "opp-9", .document_id = "doc-1",
        .doc_type = DOC_EMAIL, .source = SOURCE_TEXT, .author_role = "CFO",
        .text = text};
    return harness_feed(h, &ev);
}

static int feed_stage(struct harness *h, const char *id, const char *cust,
                      const char *opp, const char *from, const char *to,
                      int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_OPPORTUNITY;
    ev.key = ev.customer_id = cust;
    ev.event_id = id;
    ev.event_time = t;
    ev.u.opportunity = (struct opportunity_update){
        .opportunity_id = opp, .rep_id = "rep-3", .stage_from = from,
        .stage_to = to};
    return harness_feed(h, &ev);
}

static int feed_update(struct harness *h, const char *id, const char *cust,
                       const char *wid, enum wi_update_status st, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_WORK_ITEM_UPDATE;
    ev.key = ev.customer_id = cust;
    ev.event_id = id;
    ev.event_time = t;
    ev.u.work_item_update = (struct work_item_update){
        .work_item_id = wid, .status = st, .by = "someone"};
    return harness_feed(h, &ev);
}

static const struct work_item *item(struct harness *h, size_t i)
{
    const struct alert *a = harness_alert(h, i);
    assert_int_equal(a->kind, ALERT_WORK_ITEM);
    return &a->u.work_item;
}

/* The article's example with the built-in trigger: a customer's words, in
 * Chinese with ASR spaces, create three items with their SLAs. */
static void test_keyword_creates_items(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_orchestration, "");
    /* The rep saying it fires nothing: the trigger listens to customers. */
    assert_int_equal(feed_segment(h, "s0", "c1", ROLE_REP,
                                  "我们支持多币种结算", T0), 0);
    assert_int_equal(harness_alert_count(h), 0);
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER,
                                  "我们在东南亚需要 多 币 种 结 算", T0 + 1), 0);
    assert_int_equal(harness_alert_count(h), 3);
    const char *dept[] = {"legal", "engineering", "finance"};
    const int64_t sla[] = {30 * MIN, HOUR, HOUR};
    for (size_t i = 0; i < 3; i++) {
        const struct work_item *w = item(h, i);
        assert_string_equal(w->department, dept[i]);
        assert_string_equal(w->trigger, "multi_currency_settlement");
        assert_int_equal(w->status, WI_CREATED);
        assert_int_equal(w->created_time, T0 + 1);
        assert_int_equal(w->due_time, T0 + 1 + sla[i]);
        assert_string_equal(w->rep_id, "rep-1");
        assert_string_equal(w->meeting_id, "m-1");
        assert_null(w->opportunity_id);
        assert_string_equal(w->requirement, "我们在东南亚需要 多 币 种 结 算");
        assert_non_null(strstr(w->task, "rep-1"));
        assert_non_null(strstr(w->task, "c1"));
        assert_string_equal(harness_alert(h, i)->trigger_event_id, "s1");
        assert_int_equal(strlen(w->work_item_id), 32);
    }
    assert_string_not_equal(item(h, 0)->work_item_id, item(h, 1)->work_item_id);
    assert_string_not_equal(item(h, 1)->work_item_id, item(h, 2)->work_item_id);
    /* Same input, same ids. */
    struct harness *h2 = harness_new(&processor_orchestration, "");
    assert_int_equal(feed_segment(h2, "s1", "c1", ROLE_CUSTOMER,
                                  "我们在东南亚需要 多 币 种 结 算", T0 + 1), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(item(h, i)->work_item_id, item(h2, i)->work_item_id);
        assert_string_equal(harness_alert(h, i)->alert_id,
                            harness_alert(h2, i)->alert_id);
    }
    /* English, in an annotation (any author), fires too. */
    assert_int_equal(feed_annotation(h2, "a1", "c2",
                                     "Do you support Multi-Currency "
                                     "Settlement for our SEA entities?",
                                     T0 + 2), 0);
    assert_int_equal(harness_alert_count(h2), 6);
    assert_string_equal(item(h2, 3)->document_id, "doc-1");
    assert_string_equal(item(h2, 3)->opportunity_id, "opp-9");
    assert_string_equal(item(h2, 3)->rep_id, "rep-2");
    harness_free(h2);
    harness_free(h);
}

static size_t created(struct harness *h)
{
    size_t n = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++)
        if (harness_alert(h, i)->kind == ALERT_WORK_ITEM &&
            item(h, i)->status == WI_CREATED)
            n++;
    return n;
}

/* A customer repeating the need within the window creates nothing new;
 * another customer does, and so does the same customer after it. */
static void test_dedup_window(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_orchestration,
                                    "dedup_window: 2d\n");
    const char *need = "we need multi-currency settlement";
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER, need, T0), 0);
    assert_int_equal(feed_segment(h, "s2", "c1", ROLE_CUSTOMER, need, T0 + HOUR), 0);
    assert_int_equal(feed_segment(h, "s3", "c1", ROLE_CUSTOMER,
                                  "多币种结算什么时候能好", T0 + 47 * HOUR), 0);
    /* Out of order, before the first: still within the window. */
    assert_int_equal(feed_segment(h, "s0", "c1", ROLE_CUSTOMER, need,
                                  T0 - HOUR), 0);
    assert_int_equal(created(h), 3);
    assert_int_equal(feed_segment(h, "s4", "c2", ROLE_CUSTOMER, need, T0 + HOUR), 0);
    assert_int_equal(created(h), 6);
    harness_clear_alerts(h);
    /* Past the window. */
    assert_int_equal(feed_segment(h, "s5", "c1", ROLE_CUSTOMER, need, T0 + 49 * HOUR), 0);
    assert_int_equal(created(h), 3);
    harness_free(h);
}

#define STAGE_CFG                                                             \
    "triggers:\n"                                                             \
    "  contract_review:\n"                                                    \
    "    stages: [contract_negotiation]\n"                                    \
    "    work_items:\n"                                                       \
    "      - {department: legal, sla: 4h, task: \"Review {opportunity_id} "   \
    "({requirement}) for {customer_id}\"}\n"

/* A stage entry fires once per opportunity and stage. */
static void test_stage_trigger(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_orchestration, STAGE_CFG);
    assert_int_equal(feed_stage(h, "o1", "c1", "opp-1", "demo",
                                "contract_negotiation", T0), 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct work_item *w = item(h, 0);
    assert_string_equal(w->task, "Review opp-1 (stage demo -> contract_negotiation) for c1");
    assert_string_equal(w->opportunity_id, "opp-1");
    assert_int_equal(w->due_time, T0 + 4 * HOUR);
    /* The same stage again, a non-move, another stage: nothing. */
    assert_int_equal(feed_stage(h, "o2", "c1", "opp-1", "demo",
                                "contract_negotiation", T0 + MIN), 0);
    assert_int_equal(feed_stage(h, "o3", "c1", "opp-1", "contract_negotiation",
                                "contract_negotiation", T0 + 2 * MIN), 0);
    assert_int_equal(feed_stage(h, "o4", "c1", "opp-1", "contract_negotiation",
                                "closing", T0 + 3 * MIN), 0);
    assert_int_equal(harness_alert_count(h), 1);
    /* Another opportunity of the customer does fire. */
    assert_int_equal(feed_stage(h, "o5", "c1", "opp-2", NULL,
                                "contract_negotiation", T0 + 4 * MIN), 0);
    assert_int_equal(harness_alert_count(h), 2);
    /* Keywords of the built-in trigger are gone: the map replaced it. */
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER,
                                  "multi-currency settlement", T0 + 5 * MIN), 0);
    assert_int_equal(harness_alert_count(h), 2);
    harness_free(h);
}

/* `sources` narrows a trigger to transcripts; {keyword} names the phrase
 * found (the first of the list, as written in the config). */
static void test_sources_and_keyword(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_orchestration,
        "triggers:\n"
        "  mlps:\n"
        "    keywords: [等保三级, MLPS level 3]\n"
        "    sources: [transcripts]\n"
        "    work_items:\n"
        "      - {department: security, sla: 2h, task: \"Send {customer_id} our "
        "{keyword} certificate ({trigger}, {sla})\"}\n");
    assert_int_equal(feed_annotation(h, "a1", "c1", "需要等保三级证明", T0), 0);
    assert_int_equal(harness_alert_count(h), 0);
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER,
                                  "你们有 等 保 三 级 吗？", T0 + 1), 0);
    assert_int_equal(harness_alert_count(h), 1);
    assert_string_equal(item(h, 0)->task, "Send c1 our 等保三级 certificate (mlps, 2h)");
    assert_string_equal(item(h, 0)->department, "security");
    harness_free(h);
}

/* DONE closes an item once, with its id; ACKNOWLEDGED emits nothing; an
 * unknown id goes to the DLQ; a closed item never turns OVERDUE. */
static void test_updates_close(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_orchestration, "");
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER,
                                  "multi-currency settlement", T0), 0);
    char legal[33], eng[33];
    snprintf(legal, sizeof(legal), "%s", item(h, 0)->work_item_id);
    snprintf(eng, sizeof(eng), "%s", item(h, 1)->work_item_id);
    harness_clear_alerts(h);
    assert_int_equal(feed_update(h, "u1", "c1", legal, WIU_ACKNOWLEDGED, T0 + MIN), 0);
    assert_int_equal(harness_alert_count(h), 0);
    assert_int_equal(feed_update(h, "u2", "c1", legal, WIU_DONE, T0 + 20 * MIN), 0);
    assert_int_equal(harness_alert_count(h), 1);
    assert_string_equal(item(h, 0)->work_item_id, legal);
    assert_int_equal(item(h, 0)->status, WI_DONE);
    assert_string_equal(harness_alert(h, 0)->trigger_event_id, "u2");
    assert_int_equal(feed_update(h, "u3", "c1", legal, WIU_DONE, T0 + 21 * MIN), 0);
    assert_int_equal(feed_update(h, "u4", "c1", eng, WIU_REJECTED, T0 + 22 * MIN), 0);
    assert_int_equal(harness_alert_count(h), 2);
    assert_int_equal(item(h, 1)->status, WI_REJECTED);
    assert_int_equal(feed_update(h, "u5", "c1", "nope", WIU_DONE, T0 + 23 * MIN), -1);
    assert_int_equal(feed_update(h, "u6", "c9", legal, WIU_DONE, T0 + 23 * MIN), -1);
    /* Stream time past every due: only finance's item turns OVERDUE. */
    harness_clear_alerts(h);
    assert_int_equal(feed_segment(h, "s2", "c1", ROLE_CUSTOMER, "ok", T0 + 2 * HOUR), 0);
    assert_int_equal(harness_alert_count(h), 2);
    assert_string_equal(item(h, 0)->department, "finance");
    assert_int_equal(item(h, 0)->status, WI_OVERDUE);
    harness_free(h);
}

/* The ids of every alert, joined, in order. */
static char *ids(struct harness *h)
{
    size_t n = harness_alert_count(h);
    char *s = calloc(n * 33 + 1, 1);
    for (size_t i = 0; i < n; i++)
        strcat(s, harness_alert(h, i)->alert_id);
    return s;
}

/* OVERDUE by stream time only: an event of another customer in the same
 * partition moves it, the timer judges (the wall clock does nothing), once;
 * the customer's own event judges it alike, with the same ids. */
static void test_overdue_stream_time(void **state)
{
    (void)state;
    const char *need = "multi-currency settlement";
    /* Path 1: the timer, after another customer's event. */
    struct harness *h = harness_new(&processor_orchestration, "");
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER, need, T0), 0);
    harness_clear_alerts(h);
    harness_timer(h, T0 + 100 * HOUR); /* wall clock: nothing */
    assert_int_equal(harness_alert_count(h), 0);
    assert_int_equal(feed_segment(h, "x1", "other", ROLE_REP, "hi", T0 + 40 * MIN), 0);
    assert_int_equal(harness_alert_count(h), 0);
    harness_timer(h, 0);
    /* Legal's (30 min) is due: its record and a coaching alert. */
    assert_int_equal(harness_alert_count(h), 2);
    const struct work_item *w = item(h, 0);
    assert_string_equal(w->department, "legal");
    assert_int_equal(w->status, WI_OVERDUE);
    assert_int_equal(harness_alert(h, 0)->event_time, T0 + 30 * MIN);
    assert_string_equal(harness_alert(h, 0)->trigger_event_id, "s1");
    const struct alert *ca = harness_alert(h, 1);
    assert_int_equal(ca->kind, ALERT_COACHING);
    assert_int_equal(ca->u.coaching.category, CAT_WORK_ITEM_OVERDUE);
    assert_int_equal(ca->u.coaching.severity, SEV_RED);
    assert_string_equal(ca->u.coaching.rep_id, "rep-1");
    assert_string_equal(ca->u.coaching.rule, "multi_currency_settlement");
    assert_non_null(strstr(ca->u.coaching.message, "legal has not done"));
    harness_timer(h, 0);
    assert_int_equal(feed_segment(h, "x2", "other", ROLE_REP, "hi", T0 + 50 * MIN), 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 2); /* once */
    /* Another partition's stream time does not judge partition 0's. */
    harness_set_partition(h, 1);
    assert_int_equal(feed_segment(h, "x3", "p1", ROLE_REP, "hi", T0 + 9 * HOUR), 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 2);
    /* A partition this instance no longer owns is left to its owner. */
    harness_set_partition(h, 0);
    harness_own(h, 0, false);
    assert_int_equal(feed_segment(h, "x4", "other", ROLE_REP, "hi", T0 + 2 * HOUR), 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 2);
    harness_own(h, 0, true);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 6);
    char *a = ids(h);

    /* Path 2: the customer's own later event; same records, same ids. */
    struct harness *h2 = harness_new(&processor_orchestration, "");
    assert_int_equal(feed_segment(h2, "s1", "c1", ROLE_CUSTOMER, need, T0), 0);
    harness_clear_alerts(h2);
    assert_int_equal(feed_segment(h2, "y1", "c1", ROLE_REP, "hi", T0 + 40 * MIN), 0);
    assert_int_equal(feed_segment(h2, "y2", "c1", ROLE_REP, "hi", T0 + 2 * HOUR), 0);
    char *b = ids(h2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    harness_free(h2);
    harness_free(h);
}

/* Work items survive a restart (encoded, decoded) and are still closed
 * and judged after it; a restart emits nothing by itself. */
static void test_restart(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_orchestration, "");
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER,
                                  "多币种结算", T0), 0);
    char legal[33];
    snprintf(legal, sizeof(legal), "%s", item(h, 0)->work_item_id);
    harness_restart(h);
    harness_clear_alerts(h);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);
    char *js = harness_state_json(h, "c1");
    assert_non_null(js);
    assert_non_null(strstr(js, legal));
    assert_non_null(strstr(js, "\"status\":\"CREATED\""));
    free(js);
    assert_int_equal(feed_update(h, "u1", "c1", legal, WIU_DONE, T0 + 10 * MIN), 0);
    assert_int_equal(harness_alert_count(h), 1);
    assert_int_equal(feed_segment(h, "s2", "c1", ROLE_REP, "x", T0 + 3 * HOUR), 0);
    assert_int_equal(harness_alert_count(h), 1 + 4); /* two OVERDUE x 2 */
    /* The requirement was Chinese: so is the rep's message. */
    const struct alert *ca = harness_alert(h, 2);
    assert_int_equal(ca->kind, ALERT_COACHING);
    if (!strstr(ca->u.coaching.message, "engineering 未在 1h 内完成客户 c1 的任务"))
        fail_msg("message: %s", ca->u.coaching.message);
    harness_restart(h);
    js = harness_state_json(h, "c1");
    assert_non_null(strstr(js, "\"status\":\"DONE\""));
    assert_non_null(strstr(js, "\"status\":\"OVERDUE\""));
    free(js);
    /* Closed and open items older than the window: closed ones forgotten. */
    harness_clear_alerts(h);
    assert_int_equal(feed_segment(h, "s3", "c1", ROLE_REP, "x", T0 + 8 * 24 * HOUR), 0);
    js = harness_state_json(h, "c1");
    assert_null(strstr(js, legal));
    assert_non_null(strstr(js, "\"status\":\"OVERDUE\""));
    free(js);
    harness_free(h);
}

/* A DONE item's response time reaches its department's state through the
 * repartition topic, once even when the record is re-sent; the median is
 * over the department's items of every customer; REJECTED is no response. */
static void test_department_response(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_orchestration, "");
    const char *need = "multi-currency settlement";
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER, need, T0), 0);
    assert_int_equal(feed_segment(h, "s2", "c2", ROLE_CUSTOMER, need, T0), 0);
    assert_int_equal(feed_segment(h, "s3", "c3", ROLE_CUSTOMER, need, T0), 0);
    char w[9][33];
    for (size_t i = 0; i < 9; i++)
        snprintf(w[i], sizeof(w[i]), "%s", item(h, i)->work_item_id);
    /* legal: c1 in 10 min, c2 in 20, c3 in 60 (late, after OVERDUE). */
    assert_int_equal(feed_update(h, "u1", "c1", w[0], WIU_DONE, T0 + 10 * MIN), 0);
    assert_int_equal(feed_update(h, "u2", "c2", w[3], WIU_DONE, T0 + 20 * MIN), 0);
    assert_int_equal(feed_update(h, "u3", "c3", w[6], WIU_DONE, T0 + 60 * MIN), 0);
    /* finance: c1 rejected. */
    assert_int_equal(feed_update(h, "u4", "c1", w[2], WIU_REJECTED, T0 + 5 * MIN), 0);
    assert_int_equal(harness_repartitioned(h), 3);
    assert_int_equal(harness_resend(h, 0), 0); /* a copy: counted once */
    char *js = harness_state_json(h, "legal/dept");
    assert_non_null(js);
    if (!strstr(js, "\"done\":3,") || !strstr(js, "\"median_response_hours\":0.333"))
        fail_msg("legal: %s", js);
    free(js);
    assert_null(harness_state_json(h, "finance/dept"));
    /* /metrics: the same three, once; finance has no series. */
    const struct metrics *mx = harness_metrics(h);
    assert_int_equal(mx->n_lhist, 1);
    const struct metrics_lhist *lh = &mx->lhist[0];
    assert_string_equal(lh->def->name, "dealstream_work_item_response_seconds");
    assert_string_equal(lh->def->label, "department");
    assert_int_equal(lh->n, 1);
    assert_string_equal(lh->s[0].v, "legal");
    assert_int_equal(lh->s[0].count, 3);
    assert_true(lh->s[0].sum == 90 * 60.0);
    uint64_t in_le[3] = {0};
    for (size_t b = 0; b < lh->def->n; b++)
        for (size_t k = 0; k < 3; k++)
            if (lh->def->le[b] == (double[]){900, 1800, 3600}[k])
                in_le[k] = lh->s[0].bucket[b];
    assert_int_equal(in_le[0], 1); /* 10 min */
    assert_int_equal(in_le[1], 1); /* 20 min */
    assert_int_equal(in_le[2], 1); /* 60 min */
    harness_restart(h);
    js = harness_state_json(h, "legal/dept");
    if (!strstr(js, "\"done\":3,") || !strstr(js, "\"median_of_last\":3"))
        fail_msg("legal after a restart: %s", js);
    free(js);
    /* The timer leaves department objects alone. */
    harness_clear_alerts(h);
    harness_timer(h, 0);
    harness_free(h);
}

static void expect_refused(const char *yaml, const char *msg)
{
    char errs[2048];
    assert_int_equal(harness_config_check(&processor_orchestration, yaml, errs,
                                          sizeof(errs)), -1);
    if (!strstr(errs, msg))
        fail_msg("errors '%s' lack '%s'", errs, msg);
}

static void test_config(void **state)
{
    (void)state;
    char errs[2048];
    assert_int_equal(harness_config_check(&processor_orchestration, "", errs,
                                          sizeof(errs)), 0);
    assert_int_equal(harness_config_check(&processor_orchestration, STAGE_CFG,
                                          errs, sizeof(errs)), 0);
    expect_refused("triggers:\n  t:\n    work_items:\n"
                   "      - {department: legal, sla: 1h, task: x}\n",
                   "needs keywords, stages or categories");
    expect_refused("triggers:\n  t:\n    keywords: [a]\n    sources: [email]\n"
                   "    work_items:\n      - {department: legal, sla: 1h, task: x}\n",
                   "sources");
    expect_refused("triggers:\n  t:\n    keywords: [a]\n    work_items:\n"
                   "      - {department: legal, sla: 1h, task: \"{nope}\"}\n",
                   "unknown placeholder");
    expect_refused("triggers:\n  t:\n    keywords: [a]\n    work_items:\n"
                   "      - {department: legal, task: x}\n",
                   "sla");
    expect_refused("triggers:\n  t:\n    keywords: [a]\n    work_items: []\n",
                   "work_items");
    expect_refused("overdue_severity: PURPLE\n", "overdue_severity");
    expect_refused("triggers:\n  t:\n    categories: [NOPE]\n    work_items:\n"
                   "      - {department: legal, sla: 1h, task: x}\n",
                   "unknown coaching category");
    expect_refused("triggers:\n  t:\n    categories: [WORK_ITEM_OVERDUE]\n"
                   "    work_items:\n"
                   "      - {department: legal, sla: 1h, task: x}\n",
                   "own alert");
}

/* The timer's index follows the partitions (on_partitions): after a
 * restart the owned partitions' open items are judged by the timer with
 * no event of their customers; a partition not owned waits until it
 * arrives, and then its items are judged too. */
static void test_index_follows_partitions(void **state)
{
    (void)state;
    const char *need = "多币种结算";
    struct harness *h = harness_new(&processor_orchestration, "");
    harness_set_partition(h, 1);
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER, need, T0), 0);
    harness_set_partition(h, 2);
    assert_int_equal(feed_segment(h, "s2", "c2", ROLE_CUSTOMER, need, T0), 0);
    harness_own(h, 2, false);
    harness_restart(h);
    harness_clear_alerts(h);
    /* Stream time passes every due time in both partitions, through
     * other customers: only the timer can judge c1 and c2. */
    harness_set_partition(h, 1);
    assert_int_equal(feed_segment(h, "x1", "o1", ROLE_REP, "hi", T0 + 2 * HOUR), 0);
    harness_set_partition(h, 2);
    assert_int_equal(feed_segment(h, "x2", "o2", ROLE_REP, "hi", T0 + 2 * HOUR), 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 6); /* c1's three, x 2 */
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(harness_alert(h, i)->customer_id, "c1");
    harness_own(h, 2, true);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 12);
    for (size_t i = 6; i < 12; i++)
        assert_string_equal(harness_alert(h, i)->customer_id, "c2");
    /* Leaving and coming back judges nothing twice. */
    harness_own(h, 1, false);
    harness_own(h, 1, true);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 12);
    harness_free(h);
}

/* A coaching alert of a listed category fires a trigger (on_alert),
 * from another processor's event or from a timer: the alert's id and
 * provenance are the triggering event's; the same category and rule
 * again within the window fires nothing; other categories and this
 * processor's own alerts fire nothing. */
static void test_category_trigger(void **state)
{
    (void)state;
    const char *cfg =
        "triggers:\n  competitor:\n    categories: [COMPETITOR_MENTION]\n"
        "    work_items:\n      - {department: marketing, sla: 2h, "
        "task: \"Battle card for {customer_id}: {requirement}\"}\n"
        "departments:\n  marketing: {topic: ops.marketing-items}\n"
        "  legal: {topic: ops.legal-items}\n";
    struct harness *h = harness_new(&processor_orchestration, cfg);
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_TRANSCRIPT;
    ev.key = ev.customer_id = "c1";
    ev.event_id = "seg-7";
    ev.event_time = T0;
    ev.src = (struct event_source){"sales.transcripts", 2, 70};
    struct alert a = {
        .kind = ALERT_COACHING, .customer_id = "c1", .dedup_key = "r/x",
        .u.coaching = {.rep_id = "rep-4", .meeting_id = "m-4",
                       .rule = "competitor_mention",
                       .category = CAT_COMPETITOR_MENTION,
                       .severity = SEV_WARNING,
                       .message = "The customer named Competitor X."}};
    assert_int_equal(harness_observe(h, &a, &ev), 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *w = harness_alert(h, 0);
    assert_int_equal(w->kind, ALERT_WORK_ITEM);
    assert_string_equal(w->u.work_item.department, "marketing");
    assert_non_null(w->topic); /* the department's own topic */
    assert_string_equal(w->topic, "ops.marketing-items");
    const char *tv[4];
    assert_int_equal(processor_orchestration.output_topics(
                         harness_config(h), tv, 4), 2);
    assert_string_equal(tv[0], "ops.marketing-items");
    assert_string_equal(w->u.work_item.rep_id, "rep-4");
    assert_string_equal(w->u.work_item.meeting_id, "m-4");
    assert_string_equal(w->u.work_item.task,
                        "Battle card for c1: The customer named Competitor X.");
    assert_int_equal(w->u.work_item.due_time, T0 + 2 * HOUR);
    assert_int_equal(w->src.partition, 2);
    assert_int_equal(w->src.offset, 70);
    /* Its triggering event is the coaching alert. */
    struct alert stamped = a;
    stamped.trigger_event_id = ev.event_id;
    stamped.src = ev.src;
    stamped.event_time = ev.event_time;
    alert_compute_id(&stamped);
    assert_string_equal(w->trigger_event_id, stamped.alert_id);
    /* The same rule again within the window; another category. */
    ev.event_id = "seg-8";
    ev.event_time = T0 + HOUR;
    assert_int_equal(harness_observe(h, &a, &ev), 0);
    a.u.coaching.category = CAT_MONOLOGUE;
    assert_int_equal(harness_observe(h, &a, &ev), 0);
    assert_int_equal(harness_alert_count(h), 1);
    /* A replay of the first alert after a restart: nothing new. */
    harness_restart(h);
    a.u.coaching.category = CAT_COMPETITOR_MENTION;
    ev.event_id = "seg-7";
    ev.event_time = T0;
    assert_int_equal(harness_observe(h, &a, &ev), 0);
    assert_int_equal(harness_alert_count(h), 1);
    /* From a timer (no event): the alert's provenance is the item's;
     * past its due time in stream time it turns OVERDUE, and this
     * processor's own WORK_ITEM_OVERDUE alert fires nothing. */
    struct alert t = a;
    t.customer_id = "c2";
    t.trigger_event_id = "seg-9";
    t.src = (struct event_source){"sales.transcripts", 1, 90};
    t.event_time = T0;
    assert_int_equal(harness_observe(h, &t, NULL), 0);
    assert_int_equal(harness_alert_count(h), 2);
    assert_string_equal(harness_alert(h, 1)->customer_id, "c2");
    assert_int_equal(harness_alert(h, 1)->src.offset, 90);
    assert_int_equal(harness_alert(h, 1)->event_time, T0);
    harness_set_partition(h, 1);
    assert_int_equal(feed_segment(h, "x", "o", ROLE_REP, "hi", T0 + 3 * HOUR), 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 4); /* OVERDUE + coaching */
    assert_int_equal(harness_alert(h, 3)->u.coaching.category,
                     CAT_WORK_ITEM_OVERDUE);
    assert_null(harness_alert(h, 3)->topic);
    assert_string_equal(harness_alert(h, 2)->topic, "ops.marketing-items");
    assert_string_equal(harness_alert(h, 2)->u.work_item.work_item_id,
                        harness_alert(h, 1)->u.work_item.work_item_id);
    harness_free(h);
}

/* A partition's stream time is state: after a restart the timer judges
 * items whose due time it had passed before, with no new event; a
 * partition that leaves and comes back brings its stream time back from
 * the state; a customer id that would name it is refused. */
static void test_stream_time_restored(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_orchestration, "");
    harness_set_partition(h, 1);
    assert_int_equal(feed_segment(h, "s1", "c1", ROLE_CUSTOMER, "多币种结算", T0), 0);
    /* Another customer moves partition 1's stream time past 30 min only. */
    assert_int_equal(feed_segment(h, "x1", "o1", ROLE_REP, "hi", T0 + 40 * MIN), 0);
    harness_restart(h);
    harness_clear_alerts(h);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 2); /* legal: record + coaching */
    assert_string_equal(harness_alert(h, 0)->u.work_item.department, "legal");
    char *js = harness_state_json(h, "~p1");
    assert_non_null(js);
    assert_non_null(strstr(js, "\"stream_time\""));
    free(js);
    /* Key and bytes are the state format: a state dir written before
     * must read back the same. */
    struct buf b;
    buf_init(&b);
    processor_orchestration.state_encode(harness_state(h, "~p1"), &b);
    char hex[64] = "";
    for (size_t i = 0; i < b.len && 2 * i + 2 < sizeof(hex); i++)
        snprintf(hex + 2 * i, 3, "%02x", b.data[i]);
    buf_free(&b);
    assert_string_equal(hex, "8280dce6bf9567");
    /* Stream time passes the other two due times, then the partition
     * moves away and back before any tick: its stream time comes back. */
    assert_int_equal(feed_segment(h, "x2", "o1", ROLE_REP, "hi", T0 + 61 * MIN), 0);
    harness_own(h, 1, false);
    harness_own(h, 1, true);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 6);
    assert_int_equal(feed_segment(h, "x3", "~p9", ROLE_REP, "hi", T0), -1);
    harness_free(h);
}

/* ---- the runtime's side of on_alert, through a probe processor ---- */

static char probe_seen[4][64]; /* what came back through the topic */
static size_t probe_n;
static int64_t probe_time[4];

static int probe_handle(void *inst, struct proc_ctx *ctx, const struct event *ev)
{
    (void)inst;
    (void)ctx;
    if (ev->kind == EVENT_REPARTITION && probe_n < 4) {
        const struct repartition_record *rr = &ev->u.repartition;
        snprintf(probe_seen[probe_n], sizeof(probe_seen[0]), "%s %s %.*s",
                 ev->key, rr->origin.topic ? rr->origin.topic : "-",
                 (int)rr->len, (const char *)rr->data);
        probe_time[probe_n++] = ev->event_time;
    }
    return 0;
}

/* Sends every alert's id to the key "team-1". */
static void probe_on_alert(void *inst, struct proc_ctx *ctx,
                           const struct alert *a)
{
    (void)inst;
    if (ctx_repartition(ctx, "team-1", a->alert_id, strlen(a->alert_id)) != 0)
        ctx_fail(ctx, "cannot send");
}

static void *probe_new(const char *key) { (void)key; return calloc(1, 1); }
static void probe_encode(const void *st, struct buf *out) { (void)st; buf_put_u8(out, 0); }
static int probe_decode(const char *key, const uint8_t *d, size_t n, void **st)
{
    (void)d;
    (void)n;
    *st = probe_new(key);
    return 0;
}

static const struct config_table probe_table = {
    .name = "probe", .keys = NULL, .n_keys = 0, .elem_size = 8};

static int probe_init(const void *cfg, void **inst, char *err, size_t n)
{
    (void)cfg;
    (void)err;
    (void)n;
    *inst = calloc(1, 1);
    return 0;
}

static const struct processor_ops probe = {
    .name = "probe",
    .inputs = EVENT_MASK(EVENT_REPARTITION),
    .config = &probe_table,
    .init = probe_init,
    .handle = probe_handle,
    .destroy = free,
    .on_alert = probe_on_alert,
    .state_new = probe_new,
    .state_encode = probe_encode,
    .state_decode = probe_decode,
    .state_free = free,
};

/* An observer may repartition: from another processor's event (its
 * origin), and from an alert a timer emitted (no event: the alert's
 * provenance is the origin, its event_time the record's). */
static void test_observer_repartition(void **state)
{
    (void)state;
    probe_n = 0;
    struct harness *h = harness_new(&probe, "");
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_TRANSCRIPT;
    ev.key = ev.customer_id = "c1";
    ev.event_id = "seg-1";
    ev.event_time = T0;
    ev.src = (struct event_source){"sales.transcripts", 3, 30};
    struct alert a = {.kind = ALERT_COACHING, .customer_id = "c1",
                      .dedup_key = "x",
                      .u.coaching = {.rule = "r", .message = "m"}};
    assert_int_equal(harness_observe(h, &a, &ev), 0);
    struct alert t = a;
    t.trigger_event_id = "seg-0";
    t.src = (struct event_source){"sales.transcripts", 2, 7};
    t.event_time = T0 + HOUR;
    assert_int_equal(harness_observe(h, &t, NULL), 0);
    /* Without provenance from a timer there is no origin: refused. */
    struct alert bare = a;
    assert_int_equal(harness_observe(h, &bare, NULL), 0);
    assert_int_equal(probe_n, 2);
    struct alert stamped = a;
    stamped.trigger_event_id = ev.event_id;
    stamped.src = ev.src;
    stamped.event_time = ev.event_time;
    alert_compute_id(&stamped);
    char want[64];
    snprintf(want, sizeof(want), "team-1 sales.transcripts %s", stamped.alert_id);
    assert_string_equal(probe_seen[0], want);
    assert_int_equal(probe_time[0], T0);
    alert_compute_id(&t);
    snprintf(want, sizeof(want), "team-1 sales.transcripts %s", t.alert_id);
    assert_string_equal(probe_seen[1], want);
    assert_int_equal(probe_time[1], T0 + HOUR);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_creates_items),
        cmocka_unit_test(test_dedup_window),
        cmocka_unit_test(test_stage_trigger),
        cmocka_unit_test(test_sources_and_keyword),
        cmocka_unit_test(test_updates_close),
        cmocka_unit_test(test_overdue_stream_time),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_index_follows_partitions),
        cmocka_unit_test(test_category_trigger),
        cmocka_unit_test(test_stream_time_restored),
        cmocka_unit_test(test_observer_repartition),
        cmocka_unit_test(test_department_response),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
