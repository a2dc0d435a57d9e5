/*
 * test_coaching.c - the coaching processor through the in-memory harness:
 * every metric and rule on hand-written Chinese, English and mixed
 * transcripts, meeting end (final and idle), restart and config errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "meeting.h"
#include "processor.h"

extern const struct processor_ops processor_coaching;

#define T0 1700000000000LL /* event time of meeting time 0 */
#define DAY 86400000LL

static char evid[64];

/* One transcript segment; times in seconds of meeting time. */
static int seg_full(struct harness *h, const char *cust, const char *mtg,
                    int seq, enum role role, const char *spk, double start_s,
                    double end_s, const char *text, const char *phase,
                    bool final)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(evid, sizeof(evid), "%s-%s-%d", cust, mtg, seq);
    ev.kind = EVENT_TRANSCRIPT;
    ev.event_id = evid;
    ev.customer_id = cust;
    ev.event_time = T0 + (int64_t)(end_s * 1000);
    ev.u.transcript = (struct transcript_segment){
        .meeting_id = mtg,
        .rep_id = "rep-7",
        .seq = seq,
        .speaker_id = spk,
        .speaker_role = role,
        .start_ms = (int64_t)(start_s * 1000),
        .end_ms = (int64_t)(end_s * 1000),
        .text = text,
        .phase = phase,
        .is_final = final,
    };
    return harness_feed(h, &ev);
}

/* Shorthand: speaker id from role. */
#define REP(h, c, m, seq, a, b, text, phase, fin)                             \
    assert_int_equal(seg_full(h, c, m, seq, ROLE_REP, "rep1", a, b, text,     \
                              phase, fin), 0)
#define CUS(h, c, m, seq, a, b, text, phase, fin)                             \
    assert_int_equal(seg_full(h, c, m, seq, ROLE_CUSTOMER, "cust1", a, b,     \
                              text, phase, fin), 0)

static size_t count_cat(struct harness *h, enum coaching_category cat)
{
    size_t n = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        n += a->kind == ALERT_COACHING && a->u.coaching.category == cat;
    }
    return n;
}

static const struct alert *find_cat(struct harness *h,
                                    enum coaching_category cat)
{
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->kind == ALERT_COACHING && a->u.coaching.category == cat)
            return a;
    }
    return NULL;
}

static const struct alert *find_summary(struct harness *h)
{
    for (size_t i = 0; i < harness_alert_count(h); i++)
        if (harness_alert(h, i)->kind == ALERT_MEETING_SUMMARY)
            return harness_alert(h, i);
    return NULL;
}

static double metric(const struct metric *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return m[i].value;
    fail_msg("metric %s missing", name);
    return -1;
}

static double smetric(const struct alert *s, const char *name)
{
    assert_non_null(s);
    return metric(s->u.summary.metrics, s->u.summary.n_metrics, name);
}

static double ametric(const struct alert *a, const char *name)
{
    assert_non_null(a);
    return metric(a->u.coaching.metrics, a->u.coaching.n_metrics, name);
}

static void feed_iot(struct harness *h, const char *cust, const char *type,
                     int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_IOT;
    ev.event_id = "iot-1";
    ev.customer_id = cust;
    ev.event_time = t;
    ev.u.iot = (struct iot_alert){.device_id = "ct-01", .alert_type = type,
                                  .severity = IOT_CRITICAL, .count = 3};
    assert_int_equal(harness_feed(h, &ev), 0);
}

static void feed_doc(struct harness *h, const char *cust, enum doc_type dt,
                     const char *text, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_ANNOTATION;
    ev.event_id = "doc-1";
    ev.customer_id = cust;
    ev.event_time = t;
    ev.u.annotation = (struct doc_annotation){
        .rep_id = "rep-7", .document_id = "mail-42", .doc_type = dt,
        .source = SOURCE_TEXT, .author_role = "department_director",
        .text = text};
    assert_int_equal(harness_feed(h, &ev), 0);
}

static void feed_registry(struct harness *h, const char *cust,
                          enum change_type ct, const char *id,
                          const char *name, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_REGISTRY;
    ev.event_id = "reg-1";
    ev.customer_id = cust;
    ev.event_time = t;
    ev.u.registry = (struct registry_change){
        .change_type = ct, .entity_id = id, .entity_type = ENTITY_COMPETITOR,
        .entity_name = name};
    assert_int_equal(harness_feed(h, &ev), 0);
}

/* ---------------------------------------------------------------- */

static void test_config(void **state)
{
    (void)state;
    char errs[2048];
    const struct processor_ops *ops = &processor_coaching;

    assert_int_equal(harness_config_check(ops, "", errs, sizeof(errs)), 0);
    assert_int_equal(harness_config_check(
                         ops, "rules:\n  unanswered_objection:\n    window: 30s\n",
                         errs, sizeof(errs)), 0);

    assert_int_equal(harness_config_check(
                         ops, "rules:\n  unanswered_objection:\n    window: -5s\n",
                         errs, sizeof(errs)), -1);
    assert_non_null(strstr(errs, "window"));
    assert_int_equal(harness_config_check(
                         ops, "rules:\n  talk_ratio:\n    max_rep_share: 1.5\n",
                         errs, sizeof(errs)), -1);
    assert_non_null(strstr(errs, "max_rep_share"));
    assert_int_equal(harness_config_check(
                         ops, "objections:\n  x:\n    phrases: []\n"
                              "    answers: [a]\n", errs, sizeof(errs)), -1);
    assert_int_equal(harness_config_check(ops, "product_focus: []\n", errs,
                                          sizeof(errs)), -1);
    assert_non_null(strstr(errs, "product_focus"));
    assert_int_equal(harness_config_check(
                         ops, "context_links:\n  x:\n    topics: [a]\n"
                              "    addressed_by: [b]\n", errs, sizeof(errs)),
                     -1);
    assert_non_null(strstr(errs, "iot_alert_types"));
    assert_int_equal(harness_config_check(ops, "idle_timout: 5m\n", errs,
                                          sizeof(errs)), -1);
    assert_int_equal(harness_config_check(
                         ops, "rules:\n  monologue:\n    severity: LOUD\n",
                         errs, sizeof(errs)), -1);
}

/* English meeting: every conversation metric, by hand. */
static void test_metrics_english(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "northwind", *m = "E1";

    REP(h, c, m, 0, 0, 10,
        "Hi, thanks for joining. What are your goals for this quarter?",
        "needs_discovery", false);
    CUS(h, c, m, 1, 10, 40, "We need faster onboarding. Our team wastes hours.",
        NULL, false);
    REP(h, c, m, 2, 40, 42, "Right.", NULL, false); /* backchannel */
    CUS(h, c, m, 3, 42, 60, "And reporting is slow.", NULL, false);
    REP(h, c, m, 4, 60, 80,
        "How do you measure onboarding today? Do you track it weekly?", NULL,
        false);
    CUS(h, c, m, 5, 80, 90, "ok", NULL, false); /* backchannel */
    REP(h, c, m, 6, 90, 100, "Could you share an example.", NULL, false);
    CUS(h, c, m, 7, 100, 130, "Sure, we use spreadsheets.", NULL, false);
    assert_int_equal(count_cat(h, CAT_DISCOVERY_TIME), 0);
    REP(h, c, m, 8, 130, 200,
        "Our product automates onboarding. Our solution has dashboards.",
        "presentation", false);
    /* Discovery (0..130 s) ended short of 4 min: judged right now. */
    const struct alert *d = find_cat(h, CAT_DISCOVERY_TIME);
    assert_non_null(d);
    assert_string_equal(d->trigger_event_id, "northwind-E1-8");
    assert_float_equal(ametric(d, "discovery_s"), 130, 1e-9);
    assert_non_null(strstr(d->u.coaching.message, "Needs discovery lasted"));
    assert_string_equal(d->u.coaching.rule, "discovery_time");
    assert_int_equal(d->u.coaching.severity, SEV_WARNING);
    /* Four questions in discovery: QUESTIONS does not fire. */
    assert_int_equal(count_cat(h, CAT_QUESTIONS), 0);
    CUS(h, c, m, 9, 200, 210, "Makes sense.", NULL, true);

    const struct alert *s = find_summary(h);
    assert_non_null(s);
    assert_string_equal(s->u.summary.closed_by, "final");
    assert_string_equal(s->u.summary.meeting_id, "E1");
    assert_string_equal(s->u.summary.rep_id, "rep-7");
    assert_string_equal(s->trigger_event_id, "northwind-E1-9");
    assert_float_equal(smetric(s, "duration_ms"), 210000, 1e-9);
    assert_float_equal(smetric(s, "segments"), 10, 1e-9);
    assert_float_equal(smetric(s, "rep_talk_ms"), 112000, 1e-9);
    assert_float_equal(smetric(s, "customer_talk_ms"), 98000, 1e-9);
    assert_float_equal(smetric(s, "talk_ratio"), 112.0 / 210.0, 1e-9);
    assert_float_equal(smetric(s, "turns"), 6, 1e-9);
    assert_float_equal(smetric(s, "rep_turns"), 3, 1e-9);
    assert_float_equal(smetric(s, "customer_turns"), 3, 1e-9);
    assert_float_equal(smetric(s, "speaker_switches"), 5, 1e-9);
    assert_float_equal(smetric(s, "switches_per_min"), 5 * 60.0 / 210, 1e-9);
    assert_float_equal(smetric(s, "longest_rep_monologue_ms"), 70000, 1e-9);
    assert_float_equal(smetric(s, "longest_customer_story_ms"), 50000, 1e-9);
    assert_float_equal(smetric(s, "rep_questions"), 4, 1e-9);
    assert_float_equal(smetric(s, "discovery_questions"), 4, 1e-9);
    assert_float_equal(smetric(s, "discovery_ms"), 130000, 1e-9);
    assert_float_equal(smetric(s, "product_focus"), 2, 1e-9);
    assert_float_equal(smetric(s, "customer_focus"), 1, 1e-9);
    assert_float_equal(smetric(s, "competitor_mentions"), 0, 1e-9);
    assert_float_equal(smetric(s, "cjk_share"), 0, 1e-9);
    /* Summary is the last alert; only DISCOVERY_TIME before it. */
    assert_int_equal(harness_alert_count(h), 2);
    /* The meeting is gone, a tombstone stays with the customer. */
    assert_null(harness_state(h, "northwind/m/E1"));
    char *js = harness_state_json(h, "northwind/ctx");
    assert_non_null(js);
    assert_non_null(strstr(js, "\"E1\""));
    free(js);
    harness_free(h);
}

/* Chinese meeting: question cues, ASR spaces, backchannels. */
static void test_metrics_chinese(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "acme-medical", *m = "Z1";

    REP(h, c, m, 0, 0, 20, "您好，请问贵院目前的 痛 点 是 什么？",
        "needs_discovery", false);
    CUS(h, c, m, 1, 20, 22, "嗯", NULL, false);
    CUS(h, c, m, 2, 22, 50, "我们门诊排队时间太长。", NULL, false);
    REP(h, c, m, 3, 50, 60, "排队一般多久呢", NULL, false);
    REP(h, c, m, 4, 60, 62, "好的", NULL, false);
    CUS(h, c, m, 5, 62, 87, "大概一个小时。是否能改善", NULL, false);
    REP(h, c, m, 6, 87, 97, "我们的产品可以解决。", "presentation", false);
    char *js = harness_state_json(h, "acme-medical/m/Z1");
    assert_non_null(js);
    assert_non_null(strstr(js, "\"phase\":\"presentation\""));
    free(js);
    CUS(h, c, m, 7, 97, 100, "好的，谢谢", NULL, true);

    const struct alert *s = find_summary(h);
    assert_float_equal(smetric(s, "rep_questions"), 2, 1e-9);
    assert_float_equal(smetric(s, "discovery_questions"), 2, 1e-9);
    assert_float_equal(smetric(s, "customer_focus"), 2, 1e-9);
    assert_float_equal(smetric(s, "product_focus"), 1, 1e-9);
    assert_float_equal(smetric(s, "turns"), 6, 1e-9);
    assert_float_equal(smetric(s, "speaker_switches"), 5, 1e-9);
    assert_float_equal(smetric(s, "longest_customer_story_ms"), 28000, 1e-9);
    assert_float_equal(smetric(s, "longest_rep_monologue_ms"), 20000, 1e-9);
    assert_float_equal(smetric(s, "discovery_ms"), 87000, 1e-9);
    assert_true(smetric(s, "cjk_share") > 0.99);
    /* Chinese messages for a Chinese meeting; 2 questions < 3. */
    const struct alert *q = find_cat(h, CAT_QUESTIONS);
    assert_non_null(q);
    assert_non_null(strstr(q->u.coaching.message, "只问了 2 个问题"));
    const struct alert *d = find_cat(h, CAT_DISCOVERY_TIME);
    assert_non_null(d);
    assert_non_null(strstr(d->u.coaching.message, "需求探询只进行了 1.4 分钟"));
    harness_free(h);
}

/* The article's scenario: 等保三级 raised, not answered within 120 s. */
static void test_unanswered_objection(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "acme-medical", *m = "M2";

    REP(h, c, m, 0, 0, 30, "您好，今天介绍一下我们的方案。", "presentation",
        false);
    CUS(h, c, m, 1, 30, 45, "你们系统能满足等 保 三 级合规性要求吗？", NULL,
        false);
    REP(h, c, m, 2, 45, 100, "我们的界面非常友好，操作简单。", NULL, false);
    CUS(h, c, m, 3, 100, 150, "界面看起来不错。", NULL, false);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 0);
    /* Starts after 45 + 120 s: the window has passed; a late answer does
     * not count. The alert comes before the final segment. */
    REP(h, c, m, 4, 170, 200, "关于等保，我们有认证。", NULL, false);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 1);
    const struct alert *a = find_cat(h, CAT_UNANSWERED_OBJECTION);
    assert_string_equal(a->trigger_event_id, "acme-medical-M2-4");
    assert_string_equal(a->customer_id, "acme-medical");
    assert_string_equal(a->u.coaching.meeting_id, "M2");
    assert_string_equal(a->u.coaching.rep_id, "rep-7");
    assert_string_equal(a->u.coaching.rule, "unanswered_objection");
    assert_int_equal(a->u.coaching.severity, SEV_RED);
    assert_non_null(strstr(a->u.coaching.message, "等保三级"));
    assert_non_null(strstr(a->u.coaching.message, "120 秒"));
    assert_int_equal(a->u.coaching.n_evidence, 1);
    assert_string_equal(a->u.coaching.evidence[0],
                        "你们系统能满足等 保 三 级合规性要求吗？");
    assert_float_equal(ametric(a, "elapsed_s"), 125, 1e-9);
    assert_float_equal(ametric(a, "window_s"), 120, 1e-9);
    assert_int_equal(strlen(a->alert_id), 32);
    CUS(h, c, m, 5, 200, 210, "好的", NULL, true);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 1);
    const struct alert *s = find_summary(h);
    assert_float_equal(smetric(s, "objections_raised"), 1, 1e-9);
    assert_float_equal(smetric(s, "objections_unanswered"), 1, 1e-9);
    harness_free(h);
}

static void test_answered_objection(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "acme-medical", *m = "M3";

    CUS(h, c, m, 0, 0, 15, "等保三级合规性你们怎么保证？", NULL, false);
    REP(h, c, m, 1, 15, 60, "我们已经通过了等保测评，有正式报告。", NULL,
        false);
    CUS(h, c, m, 2, 200, 210, "那就好。", NULL, false);
    CUS(h, c, m, 3, 400, 410, "谢谢。", NULL, true);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 0);
    assert_float_equal(smetric(find_summary(h), "objections_raised"), 1, 1e-9);

    /* English, answered in mixed language: "MLPS" is an answer keyword. */
    harness_clear_alerts(h);
    CUS(h, "northwind", "E3", 0, 0, 10, "Honestly it is too expensive for us.",
        NULL, false);
    REP(h, "northwind", "E3", 1, 10, 40,
        "Let me show the ROI: payback in 9 months.", NULL, false);
    CUS(h, "northwind", "E3", 2, 300, 310, "OK, send it over.", NULL, true);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 0);
    harness_free(h);
}

/* Once per raise: raised twice while open -> one alert; raised again after
 * it fired -> a second alert with another id, judged at meeting end. */
static void test_objection_once_per_raise(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "northwind", *m = "E4";

    CUS(h, c, m, 0, 0, 10, "What about data security?", NULL, false);
    REP(h, c, m, 1, 10, 30, "Great question, our dashboards are great.", NULL,
        false);
    CUS(h, c, m, 2, 30, 40, "I still worry about data security.", NULL, false);
    REP(h, c, m, 3, 40, 100, "Let me show you the reports.", NULL, false);
    REP(h, c, m, 4, 140, 150, "Here is the timeline view.", NULL, false);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 1);
    CUS(h, c, m, 5, 150, 160, "Data security is a must.", NULL, false);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 1);
    REP(h, c, m, 6, 160, 170, "Sure.", NULL, true);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 2);
    const struct alert *a = NULL, *b = NULL;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *x = harness_alert(h, i);
        if (x->kind != ALERT_COACHING ||
            x->u.coaching.category != CAT_UNANSWERED_OBJECTION)
            continue;
        if (!a)
            a = x;
        else
            b = x;
    }
    assert_string_not_equal(a->alert_id, b->alert_id);
    assert_string_equal(b->trigger_event_id, "northwind-E4-6");
    assert_non_null(strstr(a->u.coaching.message, "data security"));
    assert_float_equal(smetric(find_summary(h), "objections_raised"), 3, 1e-9);
    assert_float_equal(smetric(find_summary(h), "objections_unanswered"), 2,
                       1e-9);
    harness_free(h);
}

static void test_self_focus(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "acme-medical", *m = "S1";

    /* Mixed Chinese/English phrasing, ASR spaces. */
    REP(h, c, m, 0, 0, 10, "我们的产品在贵院很多科室都能用。", NULL, false);
    REP(h, c, m, 1, 10, 20, "Our solution 很成熟。", NULL, false);
    REP(h, c, m, 2, 20, 30, "我们 的 产品 支持移动端。", NULL, false);
    assert_int_equal(count_cat(h, CAT_SELF_FOCUS), 0);
    /* 4 product vs 1 customer phrase: > 3:1 after the minimum of 4. */
    REP(h, c, m, 3, 30, 40, "our solution 还有报表。", NULL, false);
    assert_int_equal(count_cat(h, CAT_SELF_FOCUS), 1);
    const struct alert *a = find_cat(h, CAT_SELF_FOCUS);
    assert_float_equal(ametric(a, "product_focus"), 4, 1e-9);
    assert_float_equal(ametric(a, "customer_focus"), 1, 1e-9);
    assert_string_equal(a->u.coaching.evidence[0], "our solution 还有报表。");
    assert_non_null(strstr(a->u.coaching.message, "4 次"));
    REP(h, c, m, 4, 40, 50, "我们的产品真的很好。", NULL, true);
    assert_int_equal(count_cat(h, CAT_SELF_FOCUS), 1);

    /* Balanced: 4 product against 2 customer phrases does not fire. */
    harness_clear_alerts(h);
    REP(h, c, "S2", 0, 0, 10, "Our product helps with your goal.", NULL, false);
    REP(h, c, "S2", 1, 10, 20, "Our product and your challenge.", NULL, false);
    REP(h, c, "S2", 2, 20, 30, "Our product, our product.", NULL, true);
    assert_int_equal(count_cat(h, CAT_SELF_FOCUS), 0);
    assert_float_equal(smetric(find_summary(h), "product_focus"), 4, 1e-9);
    harness_free(h);
}

static void test_discovery_rules(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "northwind";

    /* Long discovery with enough questions: nothing. */
    REP(h, c, "D1", 0, 0, 60, "What is your goal? Why now? Who decides?",
        "needs_discovery", false);
    CUS(h, c, "D1", 1, 60, 300, "We want growth.", NULL, false);
    REP(h, c, "D1", 2, 300, 320, "Let me show you.", "presentation", true);
    assert_int_equal(count_cat(h, CAT_DISCOVERY_TIME), 0);
    assert_int_equal(count_cat(h, CAT_QUESTIONS), 0);

    /* Phases labelled, discovery skipped: fires at the end. */
    harness_clear_alerts(h);
    REP(h, c, "D2", 0, 0, 60, "Let me present.", "presentation", false);
    REP(h, c, "D2", 1, 60, 70, "Thanks.", "closing", true);
    assert_int_equal(count_cat(h, CAT_DISCOVERY_TIME), 1);
    assert_float_equal(ametric(find_cat(h, CAT_DISCOVERY_TIME), "discovery_s"),
                       0, 1e-9);
    assert_int_equal(count_cat(h, CAT_QUESTIONS), 0);

    /* No phases at all: the discovery rules cannot judge. */
    harness_clear_alerts(h);
    REP(h, c, "D3", 0, 0, 60, "Let me present.", NULL, false);
    REP(h, c, "D3", 1, 60, 70, "Thanks.", NULL, true);
    assert_int_equal(count_cat(h, CAT_DISCOVERY_TIME), 0);

    /* Meeting ends inside discovery: judged at the end, once. */
    harness_clear_alerts(h);
    REP(h, c, "D4", 0, 0, 30, "Tell me about your team.", "needs_discovery",
        false);
    CUS(h, c, "D4", 1, 30, 60, "Five people.", NULL, true);
    assert_int_equal(count_cat(h, CAT_DISCOVERY_TIME), 1);
    assert_int_equal(count_cat(h, CAT_QUESTIONS), 1);
    assert_float_equal(ametric(find_cat(h, CAT_QUESTIONS),
                               "discovery_questions"), 0, 1e-9);
    harness_free(h);

    /* Thresholds from YAML. */
    h = harness_new(&processor_coaching,
                    "rules:\n  discovery_time:\n    min_duration: 20s\n"
                    "  questions:\n    enabled: false\n");
    REP(h, c, "D5", 0, 0, 30, "Tell me about your team.", "needs_discovery",
        false);
    REP(h, c, "D5", 1, 30, 40, "Now our demo.", "presentation", true);
    assert_int_equal(count_cat(h, CAT_DISCOVERY_TIME), 0);
    assert_int_equal(count_cat(h, CAT_QUESTIONS), 0);
    harness_free(h);
}

/* "You mentioned response speed but did not tie it to the repair-timeout
 * complaint in yesterday's email." */
static void test_missed_context(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "acme-medical";

    feed_iot(h, c, "repair_overdue", T0 - DAY);
    feed_iot(h, c, "vibration_anomaly", T0 - DAY); /* not linked */
    char *js = harness_state_json(h, "acme-medical/ctx");
    assert_non_null(js);
    assert_non_null(strstr(js, "repair_overdue"));
    assert_null(strstr(js, "vibration_anomaly"));
    free(js);

    REP(h, c, "C1", 0, 0, 20, "我们的响应速度是业内最快的。", NULL, false);
    CUS(h, c, "C1", 1, 20, 60, "听起来不错。", NULL, false);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 0);
    REP(h, c, "C1", 2, 150, 170, "我们再看看功能。", NULL, false);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 1);
    const struct alert *a = find_cat(h, CAT_MISSED_CONTEXT);
    assert_string_equal(a->trigger_event_id, "acme-medical-C1-2");
    assert_non_null(strstr(a->u.coaching.message, "响应速度"));
    assert_non_null(strstr(a->u.coaching.message, "维修超时投诉"));
    assert_int_equal(a->u.coaching.n_evidence, 2);
    assert_string_equal(a->u.coaching.evidence[0],
                        "我们的响应速度是业内最快的。");
    assert_non_null(strstr(a->u.coaching.evidence[1], "repair_overdue"));
    REP(h, c, "C1", 3, 170, 180, "响应速度很重要。", NULL, true);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 1);

    /* Addressed within the window: nothing. */
    harness_clear_alerts(h);
    REP(h, c, "C2", 0, 0, 20, "我们的响应速度是业内最快的。", NULL, false);
    REP(h, c, "C2", 1, 20, 40, "关于上次的维修工单，我们已经加派工程师。",
        NULL, false);
    REP(h, c, "C2", 2, 300, 310, "好，继续。", NULL, true);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 0);
    harness_free(h);

    /* English, from an email complaint; judged at meeting end. */
    h = harness_new(&processor_coaching, "");
    c = "northwind";
    feed_doc(h, c, DOC_EMAIL,
             "Your repair took three weeks again - repair timeout!",
             T0 - 2 * DAY);
    REP(h, c, "C3", 0, 0, 20, "Our response time is industry leading.", NULL,
        false);
    CUS(h, c, "C3", 1, 20, 30, "Fine.", NULL, true);
    a = find_cat(h, CAT_MISSED_CONTEXT);
    assert_non_null(a);
    assert_non_null(strstr(a->u.coaching.message, "repair-timeout complaint"));
    assert_non_null(strstr(a->u.coaching.evidence[1], "EMAIL"));
    /* The issue is older than 7 days for a meeting 8 days later. */
    harness_clear_alerts(h);
    assert_int_equal(seg_full(h, c, "C4", 0, ROLE_REP, "rep1", 0, 20,
                              "Our response time is great.", NULL, false), 0);
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_TRANSCRIPT;
    ev.event_id = "late-1";
    ev.customer_id = c;
    ev.event_time = T0 + 8 * DAY;
    ev.u.transcript = (struct transcript_segment){
        .meeting_id = "C5", .rep_id = "r", .seq = 0, .speaker_id = "rep1",
        .speaker_role = ROLE_REP, .start_ms = 0, .end_ms = 10000,
        .text = "Our response time is great.", .is_final = true};
    assert_int_equal(harness_feed(h, &ev), 0);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 0);
    /* A document of another type than configured does not open it. */
    harness_free(h);
    h = harness_new(&processor_coaching, "");
    feed_doc(h, c, DOC_QUOTE, "repair timeout clause", T0);
    assert_null(harness_state(h, "northwind/ctx"));
    harness_free(h);
}

/* The IoT alert behind the context applied after the segment that raises
 * its topic (earlier in event time, later to arrive: issue 19): judged
 * when the window ends as if it had come first. One opened after the
 * raise, in event time, is no missed context. */
static void test_missed_context_late_issue(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "acme-medical";
    REP(h, c, "L1", 0, 0, 20, "我们的响应速度是业内最快的。", NULL, false);
    feed_iot(h, c, "repair_overdue", T0 - DAY);
    CUS(h, c, "L1", 1, 20, 60, "听起来不错。", NULL, false);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 0);
    REP(h, c, "L1", 2, 150, 170, "我们再看看功能。", NULL, false);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 1);
    const struct alert *a = find_cat(h, CAT_MISSED_CONTEXT);
    assert_string_equal(a->trigger_event_id, "acme-medical-L1-2");
    assert_non_null(strstr(a->u.coaching.message, "维修超时投诉"));
    assert_non_null(strstr(a->u.coaching.evidence[1], "repair_overdue"));
    REP(h, c, "L1", 3, 170, 180, "好。", NULL, true);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 1);
    harness_free(h);

    h = harness_new(&processor_coaching, "");
    REP(h, c, "L2", 0, 0, 20, "我们的响应速度是业内最快的。", NULL, false);
    feed_iot(h, c, "repair_overdue", T0 + 3600000);
    REP(h, c, "L2", 1, 150, 170, "我们再看看功能。", NULL, true);
    assert_int_equal(count_cat(h, CAT_MISSED_CONTEXT), 0);
    harness_free(h);
}

static void test_talk_ratio_and_monologue(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "northwind", *m = "T1";

    REP(h, c, m, 0, 0, 100, "Let me walk you through everything.", NULL,
        false);
    CUS(h, c, m, 1, 100, 101, "mhm", NULL, false); /* no interruption */
    assert_int_equal(count_cat(h, CAT_MONOLOGUE), 0);
    REP(h, c, m, 2, 101, 160, "And there is more.", NULL, false);
    assert_int_equal(count_cat(h, CAT_MONOLOGUE), 1);
    const struct alert *a = find_cat(h, CAT_MONOLOGUE);
    assert_float_equal(ametric(a, "monologue_s"), 160, 1e-9);
    assert_string_equal(a->trigger_event_id, "northwind-T1-2");
    assert_non_null(strstr(a->u.coaching.message, "160 s"));
    CUS(h, c, m, 3, 160, 170, "I have a question.", NULL, false);
    REP(h, c, m, 4, 170, 400, "Sure, and another long part.", NULL, false);
    assert_int_equal(count_cat(h, CAT_MONOLOGUE), 1); /* once per meeting */
    assert_int_equal(count_cat(h, CAT_TALK_RATIO), 0); /* judged at end */
    CUS(h, c, m, 5, 400, 405, "Thanks.", NULL, true);
    a = find_cat(h, CAT_TALK_RATIO);
    assert_non_null(a);
    assert_float_equal(ametric(a, "talk_ratio"), 389.0 / 405.0, 1e-9);
    assert_string_equal(a->trigger_event_id, "northwind-T1-5");
    assert_non_null(strstr(a->u.coaching.message, "96%"));

    /* Balanced meeting: no TALK_RATIO. */
    harness_clear_alerts(h);
    REP(h, c, "T2", 0, 0, 60, "Tell me more.", NULL, false);
    CUS(h, c, "T2", 1, 60, 180, "Our process is manual.", NULL, true);
    assert_int_equal(count_cat(h, CAT_TALK_RATIO), 0);
    harness_free(h);
}

static void test_competitors(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "northwind", *m = "K1";

    feed_registry(h, c, CHANGE_COMPETITOR_LINKED, "comp-9", "Initech", T0);
    REP(h, c, m, 0, 0, 10, "Globex is not as good.", NULL, false);
    assert_int_equal(count_cat(h, CAT_COMPETITOR_MENTION), 0); /* rep */
    CUS(h, c, m, 1, 10, 20, "We are also talking to INITECH.", NULL, false);
    const struct alert *a = find_cat(h, CAT_COMPETITOR_MENTION);
    assert_non_null(a);
    assert_non_null(strstr(a->u.coaching.message, "Initech"));
    assert_non_null(strstr(a->u.coaching.message, "differentiators"));
    assert_string_equal(a->u.coaching.evidence[1],
                        "Ask what they like about it; steer to our "
                        "differentiators.");
    CUS(h, c, m, 2, 20, 30, "And MediCore pitched us.", NULL, true);
    assert_int_equal(count_cat(h, CAT_COMPETITOR_MENTION), 1);
    assert_float_equal(smetric(find_summary(h), "competitor_mentions"), 3,
                       1e-9);

    /* A configured competitor, in a Chinese meeting: Chinese battlecard. */
    harness_clear_alerts(h);
    CUS(h, "acme-medical", "K2", 0, 0, 10, "迈迪科也来找过我们。", NULL, true);
    a = find_cat(h, CAT_COMPETITOR_MENTION);
    assert_non_null(a);
    assert_non_null(strstr(a->u.coaching.message, "耗材SPD"));

    /* Unlinked competitor: no longer recognised. */
    harness_clear_alerts(h);
    feed_registry(h, c, CHANGE_RELATION_REMOVED, "comp-9", NULL, T0 + 1);
    CUS(h, c, "K3", 0, 0, 10, "Initech called.", NULL, true);
    assert_int_equal(count_cat(h, CAT_COMPETITOR_MENTION), 0);
    harness_free(h);
}

/* No final segment: the idle timer closes the meeting, fires pending
 * end-of-meeting rules and the summary with the last segment's provenance;
 * late segments do not reopen it. */
static void test_idle_timeout(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "idle_timeout: 5m\n");
    const char *c = "acme-medical", *m = "I1";

    CUS(h, c, m, 0, 0, 10, "等保三级怎么办？", NULL, false);
    REP(h, c, m, 1, 10, 20, "我们先看演示。", NULL, false);
    harness_timer(h, 1000000);          /* last seen: now */
    harness_timer(h, 1000000 + 299999); /* not yet idle */
    assert_int_equal(harness_alert_count(h), 0);
    assert_non_null(harness_state(h, "acme-medical/m/I1"));
    harness_timer(h, 1000000 + 300000);
    const struct alert *s = find_summary(h);
    assert_non_null(s);
    assert_string_equal(s->u.summary.closed_by, "idle");
    assert_string_equal(s->trigger_event_id, "acme-medical-I1-1");
    assert_string_equal(s->src.topic, "transcripts");
    assert_int_equal(s->src.offset, 1);
    assert_int_equal(s->event_time, T0 + 20000);
    const struct alert *a = find_cat(h, CAT_UNANSWERED_OBJECTION);
    assert_non_null(a);
    assert_string_equal(a->trigger_event_id, "acme-medical-I1-1");
    assert_null(harness_state(h, "acme-medical/m/I1"));

    /* A late segment: ignored, nothing reopened or fired. */
    harness_clear_alerts(h);
    CUS(h, c, m, 2, 20, 30, "还有问题吗？", NULL, true);
    assert_int_equal(harness_alert_count(h), 0);
    assert_null(harness_state(h, "acme-medical/m/I1"));
    harness_timer(h, 1000000 + 900000);
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);
}

/* Only the owner closes (issue 26): a meeting of a partition that moved
 * to another instance is left to it, and indexed again when the
 * partition comes back. */
static void test_idle_timer_only_owned(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "idle_timeout: 5m\n");
    const char *c = "acme-medical";

    harness_set_partition(h, 1);
    REP(h, c, "P1", 0, 0, 10, "Hello, thanks for joining.", NULL, false);
    harness_set_partition(h, 0);
    REP(h, c, "P0", 0, 0, 10, "Hello, thanks for joining.", NULL, false);
    harness_timer(h, 1000000);
    harness_own(h, 1, false); /* partition 1 moves away */
    harness_timer(h, 1000000 + 300000);
    assert_int_equal(harness_alert_count(h), 1);
    assert_string_equal(find_summary(h)->u.summary.meeting_id, "P0");
    assert_null(harness_state(h, "acme-medical/m/P0"));
    assert_non_null(harness_state(h, "acme-medical/m/P1"));
    harness_timer(h, 1000000 + 900000); /* still not ours */
    assert_int_equal(harness_alert_count(h), 1);

    harness_clear_alerts(h);
    harness_own(h, 1, true); /* back: indexed again, seen now */
    harness_timer(h, 2000000);
    assert_int_equal(harness_alert_count(h), 0);
    harness_timer(h, 2000000 + 300000);
    const struct alert *s = find_summary(h);
    assert_non_null(s);
    assert_string_equal(s->u.summary.meeting_id, "P1");
    assert_int_equal(s->src.partition, 1);
    assert_null(harness_state(h, "acme-medical/m/P1"));
    harness_free(h);
}

/* A partition that leaves and comes back (on_partitions): its meetings
 * may have gone on at the other instance meanwhile, so they count as seen
 * when it returns, not when this instance last saw them. */
static void test_idle_partition_returns(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "idle_timeout: 5m\n");
    const char *c = "acme-medical";

    harness_set_partition(h, 1);
    REP(h, c, "P1", 0, 0, 10, "Hello, thanks for joining.", NULL, false);
    harness_set_partition(h, 0);
    REP(h, c, "P0", 0, 0, 10, "Hello, thanks for joining.", NULL, false);
    harness_timer(h, 1000000); /* both last seen now */
    harness_own(h, 1, false);
    harness_timer(h, 1000000 + 100000);
    harness_own(h, 1, true);
    harness_timer(h, 1000000 + 200000); /* P1: seen now */
    harness_timer(h, 1000000 + 300000); /* P0 idle; P1 not yet */
    assert_int_equal(harness_alert_count(h), 1);
    assert_string_equal(find_summary(h)->u.summary.meeting_id, "P0");
    assert_non_null(harness_state(h, "acme-medical/m/P1"));
    harness_clear_alerts(h);
    harness_timer(h, 1000000 + 499999);
    assert_int_equal(harness_alert_count(h), 0);
    harness_timer(h, 1000000 + 500000);
    assert_int_equal(harness_alert_count(h), 1);
    assert_string_equal(find_summary(h)->u.summary.meeting_id, "P1");
    harness_timer(h, 1000000 + 900000);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);
}

/* After a restart the open meetings are indexed before the first tick
 * (on_partitions at start), each once, and only the owned partitions'. */
static void test_idle_indexed_at_start(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "idle_timeout: 5m\n");
    const char *c = "acme-medical";

    harness_set_partition(h, 2);
    REP(h, c, "P2", 0, 0, 10, "Hello, thanks for joining.", NULL, false);
    harness_set_partition(h, 3);
    REP(h, c, "P3", 0, 0, 10, "Hello, thanks for joining.", NULL, false);
    harness_own(h, 3, false);
    harness_restart(h);
    harness_timer(h, 1000000);
    harness_timer(h, 1000000 + 300000);
    assert_int_equal(harness_alert_count(h), 1);
    assert_string_equal(find_summary(h)->u.summary.meeting_id, "P2");
    assert_non_null(harness_state(h, "acme-medical/m/P3"));
    harness_free(h);
}

static void test_restart(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const char *c = "acme-medical", *m = "R1";

    REP(h, c, m, 0, 0, 30, "请问贵院的痛点是什么？", "needs_discovery", false);
    CUS(h, c, m, 1, 30, 45, "等保三级合规性是硬要求。", NULL, false);
    harness_restart(h);
    REP(h, c, m, 2, 45, 60, "我们的产品界面很好。", NULL, false);
    harness_restart(h);
    REP(h, c, m, 3, 170, 200, "再看看报表。", "presentation", false);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 1);
    assert_int_equal(count_cat(h, CAT_DISCOVERY_TIME), 1);
    /* A duplicate of seq 3 after restart changes nothing. */
    REP(h, c, m, 3, 170, 200, "再看看报表。", "presentation", false);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 1);
    assert_int_equal(count_cat(h, CAT_DISCOVERY_TIME), 1);
    harness_restart(h);
    /* Idle close after a restart: the first tick rebuilds the index. */
    harness_timer(h, 5000);
    assert_null(find_summary(h));
    harness_timer(h, 5000 + 600000);
    const struct alert *s = find_summary(h);
    assert_non_null(s);
    assert_string_equal(s->u.summary.closed_by, "idle");
    assert_float_equal(smetric(s, "segments"), 4, 1e-9);
    assert_float_equal(smetric(s, "rep_questions"), 1, 1e-9);
    assert_float_equal(smetric(s, "product_focus"), 1, 1e-9);
    assert_float_equal(smetric(s, "discovery_ms"), 60000, 1e-9);
    assert_string_equal(s->trigger_event_id, "acme-medical-R1-3");
    harness_free(h);
}

/* Same input, same alerts and ids. */
static void run_sample(struct harness *h)
{
    CUS(h, "x", "Q", 0, 0, 10, "Too expensive.", NULL, false);
    REP(h, "x", "Q", 1, 10, 20, "Our product is great.", NULL, false);
    REP(h, "x", "Q", 2, 200, 210, "Our product again.", NULL, true);
}

static void test_deterministic_ids(void **state)
{
    (void)state;
    struct harness *a = harness_new(&processor_coaching, "");
    struct harness *b = harness_new(&processor_coaching, "");
    run_sample(a);
    run_sample(b);
    assert_true(harness_alert_count(a) >= 2);
    assert_int_equal(harness_alert_count(a), harness_alert_count(b));
    for (size_t i = 0; i < harness_alert_count(a); i++)
        assert_string_equal(harness_alert(a, i)->alert_id,
                            harness_alert(b, i)->alert_id);
    harness_free(a);
    harness_free(b);
}

static void test_state_codec(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_coaching, "");
    const struct processor_ops *ops = &processor_coaching;
    CUS(h, "x", "S", 0, 0, 10, "等保三级呢？", "needs_discovery", false);
    feed_iot(h, "x", "repair_overdue", T0);
    const char *keys[] = {"x/m/S", "x/ctx"};
    for (int k = 0; k < 2; k++) {
        void *st = harness_state(h, keys[k]);
        assert_non_null(st);
        struct buf b;
        buf_init(&b);
        ops->state_encode(st, &b);
        void *back = NULL;
        assert_int_equal(ops->state_decode(keys[k], b.data, b.len, &back), 0);
        struct buf b2;
        buf_init(&b2);
        ops->state_encode(back, &b2);
        assert_int_equal(b.len, b2.len);
        assert_memory_equal(b.data, b2.data, b.len);
        ops->state_free(back);
        for (size_t n = 0; n < b.len; n++) {
            back = (void *)1;
            assert_int_equal(ops->state_decode(keys[k], b.data, n, &back), -1);
            assert_null(back);
        }
        b.data[0] = 99; /* unknown version */
        assert_int_equal(ops->state_decode(keys[k], b.data, b.len, &back), -1);
        buf_free(&b);
        buf_free(&b2);
    }
    ops->state_free(NULL);
    harness_free(h);
}

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3
                 : (*p >> 3) == 30 ? 4 : 0;
        if (!n)
            return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

/* Caps: evidence size, open objections per meeting; bad text survives. */
static void test_bounds(void **state)
{
    (void)state;
    struct harness *h = harness_new(
        &processor_coaching,
        "objections:\n"
        "  o1: {phrases: [alpha], answers: [x]}\n"
        "  o2: {phrases: [bravo], answers: [x]}\n"
        "  o3: {phrases: [charlie], answers: [x]}\n"
        "  o4: {phrases: [delta], answers: [x]}\n"
        "  o5: {phrases: [echo], answers: [x]}\n"
        "  o6: {phrases: [foxtrot], answers: [x]}\n"
        "  o7: {phrases: [golf], answers: [x]}\n"
        "  o8: {phrases: [hotel], answers: [x]}\n"
        "  o9: {phrases: [india], answers: [x]}\n"
        "  o10: {phrases: [等保三级], answers: [x]}\n");
    char text[2048] = "";
    strcat(text, "alpha bravo charlie delta echo foxtrot golf hotel india ");
    while (strlen(text) + 12 < sizeof(text))
        strcat(text, "等保三级");
    CUS(h, "b", "B1", 0, 0, 10, text, NULL, false);
    char *js = harness_state_json(h, "b/m/B1");
    assert_non_null(js);
    free(js);
    /* Invalid UTF-8 does not crash (the codec would reject it first). */
    CUS(h, "b", "B1", 1, 10, 20, "\xff\xfe alpha \xc3", NULL, false);
    REP(h, "b", "B1", 2, 20, 30, "", NULL, true);
    assert_int_equal(count_cat(h, CAT_UNANSWERED_OBJECTION), 8);
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->kind != ALERT_COACHING)
            continue;
        assert_true(strlen(a->u.coaching.evidence[0]) <= 280 + 3);
        assert_true(valid_utf8(a->u.coaching.evidence[0]));
        assert_true(valid_utf8(a->u.coaching.message));
    }
    harness_free(h);
}

/* The coaching section of the shipped processor.yaml, unindented. */
static char *shipped_section(void)
{
    FILE *fp = fopen(DS_SOURCE_DIR "/processor.yaml", "r");
    char line[4096];
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    bool in = false;
    assert_non_null(fp);
    assert_non_null(out);
    while (fgets(line, sizeof(line), fp)) {
        if (!in) {
            in = strcmp(line, "  coaching:\n") == 0;
            continue;
        }
        bool blank = strspn(line, " \n") == strlen(line);
        if (!blank && strncmp(line, "    ", 4) != 0)
            break;
        const char *body = blank ? "\n" : line + 4;
        size_t n = strlen(body);
        assert_true(len + n < cap);
        memcpy(out + len, body, n);
        len += n;
    }
    fclose(fp);
    assert_true(in);
    return out;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Feeds examples/<file>, converting each JSON line to an event. */
static void feed_examples(struct harness *h, const char *file,
                          const char *only_event_id)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/examples/%s", DS_SOURCE_DIR, file);
    FILE *fp = fopen(path, "r");
    char line[8192];
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        assert_non_null(o);
        struct event ev;
        memset(&ev, 0, sizeof(ev));
        ev.event_id = jstr(o, "event_id");
        ev.customer_id = jstr(o, "customer_id");
        ev.event_time = json_integer_value(json_object_get(o, "event_time"));
        if (only_event_id && strcmp(ev.event_id, only_event_id) != 0) {
            json_decref(o);
            continue;
        }
        if (json_object_get(o, "meeting_id")) {
            enum role r;
            assert_int_equal(role_parse(jstr(o, "speaker_role"), &r), 0);
            ev.kind = EVENT_TRANSCRIPT;
            ev.u.transcript = (struct transcript_segment){
                .meeting_id = jstr(o, "meeting_id"),
                .rep_id = jstr(o, "rep_id"),
                .seq = (int32_t)json_integer_value(json_object_get(o, "seq")),
                .speaker_id = jstr(o, "speaker_id"),
                .speaker_role = r,
                .start_ms = json_integer_value(json_object_get(o, "start_ms")),
                .end_ms = json_integer_value(json_object_get(o, "end_ms")),
                .text = jstr(o, "text"),
                .phase = jstr(o, "phase"),
                .is_final = json_is_true(json_object_get(o, "is_final")),
            };
        } else {
            enum doc_type dt;
            assert_int_equal(doc_type_parse(jstr(o, "doc_type"), &dt), 0);
            ev.kind = EVENT_ANNOTATION;
            ev.u.annotation = (struct doc_annotation){
                .rep_id = jstr(o, "rep_id"),
                .opportunity_id = jstr(o, "opportunity_id"),
                .document_id = jstr(o, "document_id"),
                .doc_type = dt,
                .source = SOURCE_TEXT,
                .author_role = jstr(o, "author_role"),
                .text = jstr(o, "text"),
            };
        }
        assert_int_equal(harness_feed(h, &ev), 0);
        json_decref(o);
    }
    fclose(fp);
}

/* The shipped config and sample data: the article's medical meeting and an
 * English one, with the alerts each is meant to show. */
static void test_shipped_config_and_examples(void **state)
{
    (void)state;
    char *section = shipped_section();
    char errs[2048];
    if (harness_config_check(&processor_coaching, section, errs,
                             sizeof(errs)) != 0)
        fail_msg("shipped coaching config refused:\n%s", errs);
    struct harness *h = harness_new(&processor_coaching, section);
    /* The visit report mentioning slow repair response opens the issue. */
    feed_examples(h, "doc_annotations.jsonl", "doc-acme-001");
    feed_examples(h, "transcripts.jsonl", NULL);

    static const struct {
        const char *customer;
        enum coaching_category cat;
        const char *trigger; /* NULL: not expected */
    } want[] = {
        {"acme-medical", CAT_DISCOVERY_TIME, "ts-M-ACME-0001-006"},
        {"acme-medical", CAT_QUESTIONS, "ts-M-ACME-0001-006"},
        {"acme-medical", CAT_SELF_FOCUS, "ts-M-ACME-0001-008"},
        {"acme-medical", CAT_UNANSWERED_OBJECTION, "ts-M-ACME-0001-011"},
        {"acme-medical", CAT_MISSED_CONTEXT, "ts-M-ACME-0001-011"},
        {"acme-medical", CAT_TALK_RATIO, "ts-M-ACME-0001-013"},
        {"acme-medical", CAT_MONOLOGUE, NULL},
        {"acme-medical", CAT_COMPETITOR_MENTION, NULL},
        {"northwind", CAT_COMPETITOR_MENTION, "ts-M-NW-0001-003"},
        {"northwind", CAT_DISCOVERY_TIME, "ts-M-NW-0001-007"},
        {"northwind", CAT_MONOLOGUE, "ts-M-NW-0001-007"},
        {"northwind", CAT_TALK_RATIO, "ts-M-NW-0001-012"},
        {"northwind", CAT_UNANSWERED_OBJECTION, NULL},
        {"northwind", CAT_QUESTIONS, NULL},
        {"northwind", CAT_SELF_FOCUS, NULL},
        /* The orchestration example's short meeting (issue 24). */
        {"seapay", CAT_DISCOVERY_TIME, "ts-M-SP-0001-003"},
        {"seapay", CAT_QUESTIONS, "ts-M-SP-0001-003"},
    };
    size_t coaching = 0, summaries = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->kind == ALERT_MEETING_SUMMARY) {
            summaries++;
            assert_string_equal(a->u.summary.closed_by, "final");
            continue;
        }
        coaching++;
        bool expected = false;
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
            if (strcmp(want[k].customer, a->customer_id) == 0 &&
                want[k].cat == a->u.coaching.category && want[k].trigger) {
                assert_string_equal(a->trigger_event_id, want[k].trigger);
                expected = true;
            }
        if (!expected)
            fail_msg("unexpected %s for %s",
                     coaching_category_name(a->u.coaching.category),
                     a->customer_id);
        /* Chinese meeting, Chinese messages; English otherwise. */
        bool zh = strcmp(a->customer_id, "acme-medical") == 0 ||
                  strcmp(a->customer_id, "seapay") == 0;
        bool has_cjk = false;
        for (const char *p = a->u.coaching.message; *p && !has_cjk; p++)
            has_cjk = (unsigned char)*p >= 0xe4 && (unsigned char)*p <= 0xe9;
        assert_true(zh == has_cjk || (!zh && a->u.coaching.category ==
                                                 CAT_COMPETITOR_MENTION));
    }
    assert_int_equal(summaries, 3);
    assert_int_equal(coaching, 12);
    harness_free(h);
    free(section);
}

/* Cues found in ASCII and in Chinese sentences alike, whichever script
 * the cue is in (an ASCII sentence skips the Chinese cues' search). */
static void test_question_cues(void **unused)
{
    (void)unused;
    const char *cues[] = {"吗", "how come"};
    const char *openers[] = {"what"};
    struct meeting_lexicon lx = {.question_cues = cues, .n_question_cues = 2,
                                 .question_openers = openers,
                                 .n_question_openers = 1};
    assert_int_equal(meeting_count_questions("你们能做吗。we are fine.", &lx), 1);
    assert_int_equal(meeting_count_questions("so how come it broke.", &lx), 1);
    assert_int_equal(meeting_count_questions("它为什么 how come 坏了", &lx), 1);
    assert_int_equal(meeting_count_questions("we are fine. 好的。", &lx), 0);
    assert_int_equal(
        meeting_count_questions("what now. fine; 行吗; how come. ok?", &lx), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_metrics_english),
        cmocka_unit_test(test_metrics_chinese),
        cmocka_unit_test(test_unanswered_objection),
        cmocka_unit_test(test_answered_objection),
        cmocka_unit_test(test_objection_once_per_raise),
        cmocka_unit_test(test_self_focus),
        cmocka_unit_test(test_discovery_rules),
        cmocka_unit_test(test_missed_context),
        cmocka_unit_test(test_missed_context_late_issue),
        cmocka_unit_test(test_talk_ratio_and_monologue),
        cmocka_unit_test(test_competitors),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_idle_timer_only_owned),
        cmocka_unit_test(test_idle_partition_returns),
        cmocka_unit_test(test_idle_indexed_at_start),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_deterministic_ids),
        cmocka_unit_test(test_state_codec),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_shipped_config_and_examples),
        cmocka_unit_test(test_question_cues),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
