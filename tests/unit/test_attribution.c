/*
 * test_attribution.c - the attribution processor through the in-memory
 * harness, whose repartition topic hands records back in order: outcomes
 * reach their panel, signals reach it through the hub, periods close on
 * the outcomes' event time plus the grace, and the reports carry the
 * numbers a hand computation gives for the article's two examples. Then
 * refusals, late outcomes (corrections), late signals, re-sent copies,
 * restarts and deterministic ids.
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

#include "attribution.h"
#include "attribution_simulate.h"
#include "harness.h"
#include "processor.h"
#include "state.h"
#include <unistd.h>

extern const struct processor_ops processor_attribution;

#define DAY 86400000LL
/* 2025-03-01 00:00 at +08:00. */
#define MAR25 1740758400000LL
#define CFG "zone: \"+08:00\"\n"

static int64_t month_start(int k) /* k months after 2025-03 */
{
    return attribution_period_start(AT_MONTH, 8 * 3600000LL,
                                     attribution_period_of(AT_MONTH, 8 * 3600000LL, MAR25) + k);
}

static int feed_outcome(struct harness *h, const char *unit, const char *region,
                        const char *industry, const char *metric, double value,
                        int64_t t)
{
    static int n;
    char id[32];
    snprintf(id, sizeof(id), "o-%d", ++n);
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_SALES_OUTCOME;
    ev.key = unit;
    ev.event_id = id;
    ev.event_time = t;
    ev.u.outcome = (struct sales_outcome){unit, region, industry, metric, value};
    return harness_feed(h, &ev);
}

static int feed_signal(struct harness *h, const char *id, const char *title,
                       const char *const *regions, size_t n_regions,
                       const char *const *industries, size_t n_industries,
                       int64_t start, int64_t end, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_ENV_SIGNAL;
    ev.key = id;
    ev.event_id = id;
    ev.event_time = t;
    ev.u.signal = (struct env_signal){
        .signal_id = id, .kind = SIGNAL_POLICY, .title = title,
        .regions = regions, .n_regions = n_regions, .industries = industries,
        .n_industries = n_industries, .start_time = start,
        .has_end_time = end != 0, .end_time = end};
    return harness_feed(h, &ev);
}

static const struct attribution_report *report(struct harness *h, const char *unit,
                                               const char *period, int revision)
{
    const struct attribution_report *found = NULL;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->kind != ALERT_ATTRIBUTION)
            continue;
        const struct attribution_report *r = &a->u.attribution;
        if (strcmp(r->unit_id, unit) == 0 && strcmp(r->period, period) == 0 &&
            r->revision == revision) {
            assert_null(found); /* one report per unit, period and revision */
            found = r;
        }
    }
    if (!found)
        fail_msg("no report for %s %s r%d", unit, period, revision);
    return found;
}

static size_t count_reports(struct harness *h, const char *period)
{
    size_t n = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->kind == ALERT_ATTRIBUTION && strcmp(a->u.attribution.period, period) == 0)
            n++;
    }
    return n;
}

/*
 * The article's first example: a province's subsidy cut takes 23% off a
 * team's sales. Eight teams sell medical devices; three in Henan, five
 * elsewhere. Each grows by 2 a month from its own level; in 2026-03 the
 * others deviate by -1, 0, +1, +2, -2 and the Henan teams (level 100) by
 * 0, +1, -1, and Henan's teams lose 23 (23% of 100) to the cut.
 * By hand, against the same month a year back: the controls changed by
 * 24 on average; Henan's by 24 - 23 = 1: effect -23. The controls'
 * spread is sqrt(2.5); se = sqrt(2.5 * (1/3 + 1/5)) = 1.154701; the 90%
 * interval is -23 -/+ 2.131847 * 1.154701. Team h2: actual 102, baseline
 * 124, calibrated target 101, excess +1.
 */
static const char *const teams[] = {"h1", "h2", "h3", "c1", "c2", "c3", "c4", "c5"};
static const char *const provinces[] = {"Henan", "Henan", "Henan", "Hubei",
                                        "Hunan", "Hebei", "Anhui", "Jiangxi"};
static const double levels[] = {100, 100, 100, 80, 120, 60, 150, 90};
static const double noise[] = {0, 1, -1, -1, 0, 1, 2, -2};

static void feed_subsidy_panel(struct harness *h, int from, int to)
{
    for (int k = from; k < to; k++)
        for (int u = 0; u < 8; u++) {
            double v = levels[u] + 2 * k;
            if (k == 12)
                v += noise[u] - (u < 3 ? 23 : 0);
            /* Two records per month: a unit's value is their sum. */
            assert_int_equal(feed_outcome(h, teams[u], provinces[u], "medical",
                                          "revenue", v - 10, month_start(k) + 14 * DAY),
                             0);
            assert_int_equal(feed_outcome(h, teams[u], provinces[u], "medical",
                                          "revenue", 10, month_start(k) + 15 * DAY),
                             0);
        }
}

static const char *const henan[] = {"Henan"};
static const char *const medical[] = {"medical"};

static void feed_subsidy_signal(struct harness *h)
{
    assert_int_equal(feed_signal(h, "sig-henan-subsidy", "Henan medical subsidy cut",
                                 henan, 1, medical, 1, month_start(12), 0,
                                 month_start(12)),
                     0);
}

static void test_subsidy_cut(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_attribution, CFG);
    feed_subsidy_signal(h);
    feed_subsidy_panel(h, 0, 13);
    /* 2026-03 is open until the outcomes pass 2026-04-01 plus 2 days. */
    assert_int_equal(count_reports(h, "2026-03"), 0);
    assert_int_equal(count_reports(h, "2026-02"), 8);
    assert_int_equal(feed_outcome(h, "c1", "Hubei", "medical", "revenue", 5,
                                  month_start(13) + 2 * DAY - 1), 0);
    assert_int_equal(count_reports(h, "2026-03"), 0);
    assert_int_equal(feed_outcome(h, "c1", "Hubei", "medical", "revenue", 5,
                                  month_start(13) + 2 * DAY), 0);
    assert_int_equal(count_reports(h, "2026-03"), 8);

    double hw = 2.131847 * sqrt(2.5 * (1.0 / 3 + 1.0 / 5));
    const struct attribution_report *r = report(h, "h2", "2026-03", 0);
    assert_true(r->has_estimate);
    assert_string_equal(r->method, "did_same_season");
    assert_string_equal(r->region, "Henan");
    assert_string_equal(r->industry, "medical");
    assert_string_equal(r->metric, "revenue");
    assert_float_equal(r->actual, 102, 1e-9);
    assert_float_equal(r->baseline, 124, 1e-9);
    assert_float_equal(r->environment_effect, -23, 1e-9);
    assert_float_equal(r->effect_low, -23 - hw, 1e-5);
    assert_float_equal(r->effect_high, -23 + hw, 1e-5);
    assert_float_equal(r->adjusted_target, 101, 1e-9);
    assert_float_equal(r->excess_value, 1, 1e-9);
    assert_int_equal(r->controls, 5);
    assert_int_equal(r->n_signals, 1);
    assert_string_equal(r->signals[0], "sig-henan-subsidy");
    assert_int_equal(r->period_start, month_start(12));
    assert_int_equal(r->period_end, month_start(13));
    assert_int_equal(strlen(r->report_id), 32);
    assert_non_null(strstr(r->explanation, "Henan medical subsidy cut -23.0"));
    assert_non_null(strstr(r->explanation, "calibrated target is 101.0"));
    /* An unexposed team: effect 0, its own excess against the controls. */
    r = report(h, "c4", "2026-03", 0);
    assert_true(r->has_estimate);
    assert_float_equal(r->environment_effect, 0, 0);
    assert_float_equal(r->effect_low, 0, 0);
    assert_float_equal(r->effect_high, 0, 0);
    assert_int_equal(r->n_signals, 0);
    assert_float_equal(r->baseline, 150 + 24, 1e-9);
    assert_float_equal(r->excess_value, 2, 1e-9);
    /* Before a year of history: a trend over six months; before that,
     * refusals that say why. */
    assert_string_equal(report(h, "h1", "2026-02", 0)->method, "did_recent_trend");
    assert_float_equal(report(h, "h1", "2026-02", 0)->environment_effect, 0, 1e-9);
    r = report(h, "h1", "2025-04", 0);
    assert_false(r->has_estimate);
    assert_string_equal(r->method, "refused_no_history");
    assert_non_null(strstr(r->explanation, "no estimate"));
    harness_free(h);
}

/*
 * The article's second example: traffic control during a city's games
 * costs a rep 11 visits. One rep in Chengdu against six elsewhere; every
 * rep makes 40 visits a month plus a deviation; in the month of the games
 * the controls deviate by -1, 0, +1, +2, -2, 0 and the Chengdu rep loses
 * 11. Effect: -11 exactly; with one exposed unit the effect and the rep's
 * own excess cannot be told apart, so the excess is 0.
 */
static void test_traffic_control(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_attribution,
                                    CFG "language: zh\nmin_controls: 6\n");
    static const char *const chengdu[] = {"Chengdu"};
    const char *reps[] = {"r-cd", "r1", "r2", "r3", "r4", "r5", "r6"};
    const char *cities[] = {"Chengdu", "Xian", "Wuhan", "Hefei", "Jinan", "Fuzhou", "Nanning"};
    const double dev[] = {-11, -1, 0, 1, 2, -2, 0};
    assert_int_equal(feed_signal(h, "sig-games", "大运会交通管制", chengdu, 1, NULL, 0,
                                 month_start(12) + 5 * DAY, month_start(12) + 20 * DAY,
                                 month_start(11)),
                     0);
    for (int k = 0; k <= 13; k++)
        for (int u = 0; u < 7; u++) {
            /* one record per visit would do as well; a month's sum here */
            double v = 40 + (k == 12 ? dev[u] : 0);
            assert_int_equal(feed_outcome(h, reps[u], cities[u], NULL, "visits", v,
                                          month_start(k) + 3 * DAY), 0);
        }
    const struct attribution_report *r = report(h, "r-cd", "2026-03", 0);
    assert_true(r->has_estimate);
    assert_null(r->industry);
    assert_float_equal(r->environment_effect, -11, 1e-9);
    assert_float_equal(r->excess_value, 0, 1e-9);
    assert_float_equal(r->baseline, 40, 1e-9);
    assert_int_equal(r->controls, 6);
    assert_non_null(strstr(r->explanation, "大运会交通管制 的环境影响为 -11.0"));
    assert_non_null(strstr(r->explanation, "校准后目标 29.0"));
    /* The games were in 2026-03 only. */
    assert_int_equal(report(h, "r-cd", "2026-02", 0)->n_signals, 0);
    harness_free(h);
}

static void test_too_few_controls(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_attribution, CFG);
    feed_subsidy_signal(h);
    /* Three Henan teams and two others: fewer than min_controls (5). */
    for (int k = 0; k <= 14; k++)
        for (int u = 0; u < 5; u++)
            assert_int_equal(feed_outcome(h, teams[u], provinces[u], "medical", "revenue",
                                          levels[u] + k, month_start(k) + DAY), 0);
    const struct attribution_report *r = report(h, "h1", "2026-03", 0);
    assert_false(r->has_estimate);
    assert_string_equal(r->method, "refused_few_controls");
    assert_int_equal(r->controls, 2);
    assert_non_null(strstr(r->explanation, "only 2 control units"));
    assert_int_equal(r->n_signals, 1);
    harness_free(h);
}

/* Outcomes after their period closed correct it, as revision 1 of the
 * same lineage; a signal published late does the same. */
static void test_corrections(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_attribution, CFG);
    feed_subsidy_panel(h, 0, 14);
    /* Without the signal 2026-03 shows no effect for anyone. */
    const struct attribution_report *r0 = report(h, "h2", "2026-03", 0);
    assert_float_equal(r0->environment_effect, 0, 0);
    char id0[48];
    snprintf(id0, sizeof(id0), "%s", r0->report_id);
    assert_int_equal(feed_outcome(h, "c1", "Hubei", "medical", "revenue", 0,
                                  month_start(14) + 3 * DAY), 0);
    size_t before = harness_alert_count(h);
    feed_subsidy_signal(h); /* late: into the global table, no state yet */
    assert_int_equal(harness_alert_count(h), before);
    /* The panel's next outcome takes it: 2026-03 and 2026-04 corrected. */
    assert_int_equal(feed_outcome(h, "c1", "Hubei", "medical", "revenue", 0,
                                  month_start(14) + 4 * DAY), 0);
    assert_int_equal(harness_alert_count(h), before + 16);
    assert_float_equal(report(h, "h2", "2026-04", 1)->environment_effect, 0, 1e-9);
    const struct attribution_report *r1 = report(h, "h2", "2026-03", 1);
    assert_float_equal(r1->environment_effect, -23, 1e-9);
    char want[64];
    snprintf(want, sizeof(want), "%s-r1", id0);
    assert_string_equal(r1->report_id, want);
    /* A late outcome of a closed month: revision 2 of that month only. */
    before = harness_alert_count(h);
    assert_int_equal(feed_outcome(h, "h2", "Henan", "medical", "revenue", 3,
                                  month_start(12) + 20 * DAY), 0);
    assert_int_equal(harness_alert_count(h), before + 8);
    const struct attribution_report *r2 = report(h, "h2", "2026-03", 2);
    assert_float_equal(r2->actual, 105, 1e-9);
    assert_float_equal(r2->environment_effect, -22, 1e-9);
    /* The same signal again changes nothing. */
    before = harness_alert_count(h);
    feed_subsidy_signal(h);
    assert_int_equal(feed_outcome(h, "c1", "Hubei", "medical", "revenue", 0,
                                  month_start(14) + 5 * DAY), 0);
    assert_int_equal(harness_alert_count(h), before);
    harness_free(h);
}

/* Copies re-sent after a crash count once; a restart in the middle and a
 * second run give the same reports, ids included. */
static void test_copies_restart_ids(void **state)
{
    (void)state;
    struct harness *a = harness_new(&processor_attribution, CFG);
    feed_subsidy_signal(a);
    feed_subsidy_panel(a, 0, 7);
    size_t sent = harness_repartitioned(a);
    for (size_t i = 0; i < sent; i++)
        assert_int_equal(harness_resend(a, i), 0);
    harness_restart(a);
    feed_subsidy_panel(a, 7, 14);

    struct harness *b = harness_new(&processor_attribution, CFG);
    feed_subsidy_signal(b);
    feed_subsidy_panel(b, 0, 14);
    assert_int_equal(harness_alert_count(a), harness_alert_count(b));
    for (size_t i = 0; i < harness_alert_count(a); i++) {
        const struct alert *x = harness_alert(a, i), *y = harness_alert(b, i);
        assert_string_equal(x->alert_id, y->alert_id);
        assert_string_equal(x->u.attribution.report_id, y->u.attribution.report_id);
        assert_string_equal(x->u.attribution.explanation, y->u.attribution.explanation);
        assert_true(x->u.attribution.actual == y->u.attribution.actual);
    }
    assert_float_equal(report(a, "h2", "2026-03", 0)->environment_effect, -23, 1e-9);
    char *json = harness_state_json(a, "medical|revenue/panel");
    assert_non_null(json);
    assert_non_null(strstr(json, "\"synced\":true"));
    free(json);
    json = harness_state_json(a, "medical|revenue/panel");
    assert_non_null(strstr(json, "\"signal_id\":\"sig-henan-subsidy\""));
    free(json);
    harness_free(a);
    harness_free(b);
}

/* What cannot be kept goes to the DLQ (handle() fails) without touching
 * the panel: outcomes older than the history kept, units beyond max_units. */
static void test_bounds(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_attribution,
                                    CFG "history_periods: 14\nmax_units: 8\n");
    feed_subsidy_signal(h);
    feed_subsidy_panel(h, 0, 14);
    assert_int_equal(count_reports(h, "2026-03"), 8);
    /* 2026-03 closed; 14 periods back is 2025-01 and older. */
    assert_int_equal(feed_outcome(h, "c1", "Hubei", "medical", "revenue", 1,
                                  month_start(-2) + DAY), -1);
    assert_int_equal(feed_outcome(h, "c9", "Hubei", "medical", "revenue", 1,
                                  month_start(13) + DAY), -1);
    char *json = harness_state_json(h, "medical|revenue/panel");
    assert_non_null(json);
    assert_null(strstr(json, "c9"));
    free(json);
    /* Another metric is another panel, with room of its own. */
    assert_int_equal(feed_outcome(h, "c9", "Hubei", "medical", "orders", 1,
                                  month_start(13) + DAY), 0);
    harness_free(h);
}

static int feed_update(struct harness *h, const char *customer, const char *opp,
                       const char *rep, const char *industry, const char *stage,
                       int64_t t)
{
    static int n;
    char id[32];
    snprintf(id, sizeof(id), "u-%d", ++n);
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_OPPORTUNITY;
    ev.key = ev.customer_id = customer;
    ev.event_id = id;
    ev.event_time = t;
    ev.u.opportunity = (struct opportunity_update){
        .opportunity_id = opp, .rep_id = rep, .industry = industry, .stage_to = stage};
    return harness_feed(h, &ev);
}

static void export(struct harness *h, struct state_batch *b, const char *key)
{
    void *st = harness_state(h, key);
    assert_non_null(st);
    struct buf v;
    buf_init(&v);
    attribution_state_encode(st, &v);
    char k[700];
    snprintf(k, sizeof(k), "attribution/%s", key);
    state_batch_put(b, k, strlen(k), v.data, v.len);
    buf_free(&v);
}

/*
 * The simulator end to end but for the command line: 30 customers in
 * finance, medical and retail move opportunities through four stages of
 * about 20 days over two years; while each of two past finance policies
 * was in force, finance stages took 7 days longer. The opportunities'
 * spells and the signals are kept by the processor, written to a real
 * state store and read back read-only: a new finance policy is expected
 * to add about 7 days, and only finance's open opportunities are listed.
 */
static void test_simulate(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_attribution, CFG);
    static const char *const fin[] = {"finance"};
    const char *inds[] = {"finance", "medical", "retail"};
    const char *stages[] = {"discovery", "solution", "proposal", "negotiation"};
    int64_t t0 = MAR25 - 400 * DAY;
    assert_int_equal(feed_signal(h, "fin-2024", "finance data rule 2024", NULL, 0, fin, 1,
                                 t0 + 200 * DAY, t0 + 260 * DAY, t0), 0);
    assert_int_equal(feed_signal(h, "fin-2025", "finance data rule 2025", NULL, 0, fin, 1,
                                 t0 + 500 * DAY, t0 + 560 * DAY, t0), 0);
    uint64_t x = 12345;
    char cust[30][16], opp[16], rep[16];
    for (int c = 0; c < 30; c++) {
        snprintf(cust[c], sizeof(cust[c]), "cust-%02d", c);
        snprintf(rep, sizeof(rep), "rep-%d", c % 5);
        for (int o = 0; o < 8; o++) {
            snprintf(opp, sizeof(opp), "opp-%d", o);
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            double t = (double)(x >> 40) / (double)(1ULL << 24) * 620;
            for (int s = 0; s < 4; s++) {
                assert_int_equal(feed_update(h, cust[c], opp, rep, inds[c % 3], stages[s],
                                             t0 + (int64_t)(t * DAY)), 0);
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                double dur = 17 + 6 * (double)(x >> 40) / (double)(1ULL << 24);
                bool policy = (t >= 200 && t < 260) || (t >= 500 && t < 560);
                t += dur + (c % 3 == 0 && policy ? 7 : 0);
            }
            /* Half of them are won; the others stay open in negotiation. */
            if (o % 2)
                assert_int_equal(feed_update(h, cust[c], opp, rep, inds[c % 3], "closed_won",
                                             t0 + (int64_t)(t * DAY)), 0);
        }
    }
    char dir[] = "/tmp/ds-attr-sim-XXXXXX", err[256];
    assert_non_null(mkdtemp(dir));
    struct state_options so = {.dir = dir, .block_cache_bytes = 1 << 20,
                               .write_buffer_bytes = 1 << 20};
    struct state *db = NULL;
    assert_int_equal(state_open(&so, &db, err, sizeof(err)), 0);
    struct state_batch *b = state_batch_new();
    for (int c = 0; c < 30; c++) {
        char key[600];
        snprintf(key, sizeof(key), "%s" AT_OPPS_SUFFIX, cust[c]);
        export(h, b, key);
    }
    assert_int_equal(state_batch_commit(db, b, err, sizeof(err)), 0);
    state_batch_free(b);
    state_close(db);
    so.read_only = true;
    assert_int_equal(state_open(&so, &db, err, sizeof(err)), 0);

    static const char *const fin_med[] = {"finance", "medical"};
    struct env_signal sig = {.signal_id = "fin-2026", .kind = SIGNAL_POLICY,
                             .title = "data export rule for finance and medical",
                             .industries = fin_med, .n_industries = 2};
    char text[16384] = "";
    FILE *out = fmemopen(text, sizeof(text) - 1, "w");
    const void *cfg = NULL;
    /* The processor's bound config, as the command finds it. */
    struct at_config acfg = {.level = 0.9};
    cfg = &acfg;
    /* The past signals, as the command reads them from env.signals. */
    struct env_signal p24 = {.signal_id = "fin-2024", .kind = SIGNAL_POLICY,
                             .title = "finance data rule 2024", .industries = fin,
                             .n_industries = 1, .start_time = t0 + 200 * DAY,
                             .has_end_time = true, .end_time = t0 + 260 * DAY};
    struct env_signal p25 = p24;
    p25.signal_id = "fin-2025";
    p25.start_time = t0 + 500 * DAY;
    p25.end_time = t0 + 560 * DAY;
    const struct env_signal *past[] = {&p24, &p25};
    assert_int_equal(attribution_simulate(db, cfg, &sig, past, 2, true, out, err,
                                          sizeof(err)), 0);
    fclose(out);
    state_close(db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    print_message("%s", text);
    /* finance: an estimate covering 7 days, its 15 open opportunities. */
    const char *f = strstr(text, "\"industry\":\"finance\"");
    const char *m = strstr(text, "\"industry\":\"medical\"");
    assert_non_null(f);
    assert_non_null(m);
    double days, lo, hi;
    assert_int_equal(sscanf(strstr(f, "\"days\":"), "\"days\":%lf,\"low\":%lf,\"high\":%lf",
                            &days, &lo, &hi), 3);
    assert_true(lo <= 7 && 7 <= hi);
    assert_true(days > 5 && days < 9);
    assert_non_null(strstr(f, "\"past_signals\":2"));
    size_t listed = 0;
    for (const char *p = f; (p = strstr(p, "\"opportunity_id\"")) && p < m; p++)
        listed++;
    assert_int_equal(listed, 10 * 4); /* 10 finance customers x 4 open */
    /* Only finance customers (cust-00, 03, ...) are listed. */
    for (const char *p = text; (p = strstr(p, "\"customer_id\":\"cust-")); p++) {
        int c = atoi(p + strlen("\"customer_id\":\"cust-"));
        assert_int_equal(c % 3, 0);
    }
    /* medical had no past policy: refused, nothing listed. */
    assert_non_null(strstr(m, "\"refused\""));
    harness_free(h);
}

static void test_config(void **state)
{
    (void)state;
    char errs[512];
    assert_int_equal(harness_config_check(&processor_attribution,
                                          "period: quarter\nzone: \"-05:30\"\nlevel: 0.95\n",
                                          errs, sizeof(errs)),
                     0);
    assert_int_equal(harness_config_check(&processor_attribution,
                                          "zone: Asia/Shanghai\n", errs, sizeof(errs)),
                     -1);
    assert_non_null(strstr(errs, "zone"));
    assert_int_equal(harness_config_check(&processor_attribution, "level: 1.5\n",
                                          errs, sizeof(errs)),
                     -1);
    assert_int_equal(harness_config_check(&processor_attribution, "period: year\n",
                                          errs, sizeof(errs)),
                     -1);
    assert_int_equal(harness_config_check(&processor_attribution,
                                          "period: week\nhistory_periods: 40\n", errs,
                                          sizeof(errs)),
                     -1);
    assert_non_null(strstr(errs, "history_periods"));
}

/* Outcomes come from four input partitions, one far behind the others:
 * periods close only on the least of their event times, so what the
 * lagging one brings is not late; an origin silent for origin_idle stops
 * holding them. */
/* The subsidy panel with unit u on input partition u % 4, months
 * [from, to), only the units of partition `part` (-1: all). */
static void feed_parts(struct harness *h, int from, int to, int part)
{
    for (int k = from; k < to; k++)
        for (int u = 0; u < 8; u++) {
            if (part >= 0 && u % 4 != part)
                continue;
            double v = levels[u] + 2 * k;
            if (k == 12)
                v += noise[u] - (u < 3 ? 23 : 0);
            harness_set_partition(h, u % 4);
            assert_int_equal(feed_outcome(h, teams[u], provinces[u], "medical",
                                          "revenue", v, month_start(k) + 14 * DAY),
                             0);
        }
}

static void test_lagging_origin(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_attribution, CFG);
    harness_set_clock(h, 1000);
    harness_set_partitions(h, 4);
    feed_subsidy_signal(h);
    /* Partition 1 delivers its first month, partitions 0, 2 and 3 a year
     * and more; 1 is silent meanwhile, and nothing closes. */
    feed_parts(h, 0, 1, 1);
    for (int p = 0; p < 4; p += p == 0 ? 2 : 1)
        feed_parts(h, 0, 14, p);
    assert_int_equal(harness_alert_count(h), 0);
    char *json = harness_state_json(h, "medical|revenue/panel");
    assert_non_null(strstr(json, "\"partition\":1,\"max_event_time\":"));
    free(json);
    /* Partition 1 catches up: every month closes once, no correction. */
    feed_parts(h, 1, 14, 1);
    size_t n = harness_alert_count(h);
    assert_int_equal(n, 13 * 8);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(harness_alert(h, i)->u.attribution.revision, 0);
    assert_float_equal(report(h, "h2", "2026-03", 0)->environment_effect, -23, 1e-9);

    /* Partition 3 goes silent: a month waits for it until it has been
     * idle for origin_idle (1m), then closes on the others' time. */
    harness_set_clock(h, 30000);
    for (int p = 0; p < 3; p++)
        feed_parts(h, 14, 15, p);
    assert_int_equal(harness_alert_count(h), n);
    harness_set_clock(h, 61500); /* 3 silent since 1000, the others 31500 */
    harness_set_partition(h, 0);
    assert_int_equal(feed_outcome(h, "h1", "Henan", "medical", "revenue", 1,
                                  month_start(14) + 20 * DAY), 0);
    assert_int_equal(harness_alert_count(h), n + 8); /* 2026-04 */
    assert_non_null(report(h, "c1", "2026-04", 0));

    /* After a pause of origin_idle the first partition back does not close
     * alone: every origin is waited for afresh. */
    harness_set_clock(h, 200000);
    feed_parts(h, 15, 16, 0);
    assert_int_equal(harness_alert_count(h), n + 8);
    for (int p = 1; p < 4; p++)
        feed_parts(h, 15, 16, p);
    assert_int_equal(harness_alert_count(h), n + 14); /* 2026-05: no c1, c5 */
    for (size_t i = 0; i < harness_alert_count(h); i++)
        assert_int_equal(harness_alert(h, i)->u.attribution.revision, 0);
    harness_set_clock(h, 0);
    harness_free(h);
}

/* State format 1 (no event time per origin) is read: the origins' times
 * are unknown and hold the periods until they send again. Format 3 is
 * refused. */
static void test_state_upgrade(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_attribution, CFG);
    feed_subsidy_signal(h);
    feed_subsidy_panel(h, 0, 3);
    struct buf b, t;
    buf_init(&b);
    buf_init(&t);
    struct at_obj *o = harness_state(h, "medical|revenue/panel");
    processor_attribution.state_encode(o, &b);
    assert_int_equal(b.data[0], 2);
    /* Format 1: the same without the trailing times. */
    repmarks_encode_times(&o->u.panel.marks, &t);
    size_t v1_len = b.len - t.len;
    buf_free(&t);
    b.data[0] = 1;
    void *st = NULL;
    assert_int_equal(processor_attribution.state_decode("medical|revenue/panel", b.data,
                                                        v1_len, &st), 0);
    struct jw *w = jw_new();
    processor_attribution.state_to_json(st, w);
    char *json = jw_finish(w, false);
    jw_free(w);
    assert_non_null(strstr(json, "\"max_event_time\":null"));
    free(json);
    processor_attribution.state_free(st);
    /* A format 1 body with the times is not format 1. */
    assert_int_equal(processor_attribution.state_decode("medical|revenue/panel", b.data,
                                                        b.len, &st), -1);
    b.data[0] = 3;
    assert_int_equal(processor_attribution.state_decode("medical|revenue/panel", b.data,
                                                        b.len, &st), -1);
    buf_free(&b);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subsidy_cut),
        cmocka_unit_test(test_traffic_control),
        cmocka_unit_test(test_too_few_controls),
        cmocka_unit_test(test_corrections),
        cmocka_unit_test(test_copies_restart_ids),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_simulate),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_lagging_origin),
        cmocka_unit_test(test_state_upgrade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
