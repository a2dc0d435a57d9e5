/*
 * test_attribution_did.c - the attribution processor's arithmetic on its
 * own: quantiles against published table values, periods and their labels
 * in a fixed offset, the reference plans, a DiD panel computed by hand, the
 * refusals, and over generated panels the interval's coverage and the
 * estimate's bias.
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

#define H8 (8 * 3600000LL)

static void test_quantiles(void **state)
{
    (void)state;
    /* Student's t and normal tables. */
    assert_float_equal(attribution_norm_quantile(0.95), 1.644854, 1e-5);
    assert_float_equal(attribution_norm_quantile(0.975), 1.959964, 1e-5);
    assert_float_equal(attribution_t_quantile(0.95, 1), 6.313752, 1e-4);
    assert_float_equal(attribution_t_quantile(0.95, 4), 2.131847, 1e-5);
    assert_float_equal(attribution_t_quantile(0.975, 10), 2.228139, 1e-5);
    assert_float_equal(attribution_t_quantile(0.95, 30), 1.697261, 1e-5);
    assert_float_equal(attribution_t_quantile(0.05, 4), -2.131847, 1e-5);
}

static void label(int kind, int64_t offset, int64_t t, const char *want)
{
    char got[24];
    attribution_period_label(kind, attribution_period_of(kind, offset, t), got,
                             sizeof(got));
    assert_string_equal(got, want);
}

static void test_periods(void **state)
{
    (void)state;
    /* 2026-02-28T16:00:00Z is 2026-03-01 00:00 at +08:00. */
    int64_t t = 1772294400000LL;
    label(AT_MONTH, H8, t, "2026-03");
    label(AT_MONTH, H8, t - 1, "2026-02");
    label(AT_MONTH, 0, t, "2026-02");
    label(AT_QUARTER, H8, t, "2026-Q1");
    label(AT_QUARTER, H8, t + 31LL * 86400000, "2026-Q2");
    /* 2026-03-12 (Thursday) is ISO week 11; 2021-01-03 is 2020-W53. */
    label(AT_WEEK, 0, 1773273600000LL, "2026-W11");
    label(AT_WEEK, 0, 1609632000000LL, "2020-W53");
    label(AT_WEEK, 0, 1609718400000LL, "2021-W01");
    int32_t p = attribution_period_of(AT_MONTH, H8, t);
    assert_int_equal(attribution_period_start(AT_MONTH, H8, p), t);
    assert_int_equal(attribution_period_start(AT_MONTH, H8, p + 1), t + 31LL * 86400000);
    int32_t w = attribution_period_of(AT_WEEK, 0, 1773273600000LL);
    /* The week starts on Monday 2026-03-09 00:00 UTC. */
    assert_int_equal(attribution_period_start(AT_WEEK, 0, w), 1773014400000LL);
    int64_t off;
    assert_int_equal(attribution_zone_parse("+08:00", &off), 0);
    assert_int_equal(off, H8);
    assert_int_equal(attribution_zone_parse("-0530", &off), 0);
    assert_int_equal(off, -(5 * 3600000LL + 30 * 60000));
    assert_int_equal(attribution_zone_parse("UTC", &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(attribution_zone_parse("Asia/Shanghai", &off), -1);
    assert_int_equal(attribution_zone_parse("+25:00", &off), -1);
}

static int series_get(const void *arg, int32_t p, double *v)
{
    const double *s = arg; /* s[p] for p 0..39, NAN: none */
    if (p < 0 || p >= 40 || isnan(s[p]))
        return -1;
    *v = s[p];
    return 0;
}

static int series_get_row(const void *arg, int32_t p, double *v)
{
    const double *s = arg; /* a generated row of 10 months */
    if (p < 0 || p >= 10)
        return -1;
    *v = s[p];
    return 0;
}

static void test_refplan(void **state)
{
    (void)state;
    struct did_refplan plan;
    /* A year and more back: the same month of the earlier years. */
    attribution_refplan(30, 0, 12, 6, &plan);
    assert_int_equal(plan.method, DID_REF_SEASON);
    assert_int_equal(plan.n, 2);
    assert_int_equal(plan.periods[0], 18);
    assert_int_equal(plan.periods[1], 6);
    /* Less than a year: a line over the last pre_periods. */
    attribution_refplan(8, 0, 12, 3, &plan);
    assert_int_equal(plan.method, DID_REF_TREND);
    assert_int_equal(plan.n, 3);
    assert_int_equal(plan.periods[0], 5);
    /* Too few periods for either. */
    attribution_refplan(2, 0, 12, 3, &plan);
    assert_int_equal(plan.method, DID_REF_NONE);

    double s[40];
    for (int i = 0; i < 40; i++)
        s[i] = NAN;
    s[5] = 10, s[6] = 12, s[7] = 14;
    double ref;
    attribution_refplan(8, 0, 12, 3, &plan);
    assert_int_equal(attribution_ref(&plan, 8, series_get, s, &ref), 0);
    assert_float_equal(ref, 16, 1e-9);
    s[6] = NAN; /* a missing pre-period: no reference */
    assert_int_equal(attribution_ref(&plan, 8, series_get, s, &ref), -1);
    s[18] = 50, s[6] = 40;
    attribution_refplan(30, 0, 12, 6, &plan);
    assert_int_equal(attribution_ref(&plan, 30, series_get, s, &ref), 0);
    assert_float_equal(ref, 45, 1e-9);
}

/* Five controls changing by 1..5, two exposed units by -20 and -18:
 * delta = 3, the placebos' spread s = sqrt(2.5), tau = -19 - 3 = -22,
 * se = s * sqrt(1/2 + 1/5) = 1.322876, t(0.95, 4) = 2.131847. */
static void test_did_by_hand(void **state)
{
    (void)state;
    struct did_in in[8] = {
        {0, true, 101, 100}, {0, true, 52, 50}, {0, true, 33, 30},
        {0, true, 204, 200}, {0, true, 15, 10},
        {1, true, 80, 100},  {1, true, 42, 60},
        {0, false, 9, 0}, /* no history */
    };
    struct did_out out[8];
    attribution_did(in, 8, 0.9, 5, out);
    double hw = 2.131847 * sqrt(2.5) * sqrt(0.5 + 0.2);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(out[i].status, DID_OK);
        assert_int_equal(out[i].controls, 5);
        assert_float_equal(out[i].baseline, in[i].ref + 3, 1e-9);
    }
    for (int i = 0; i < 5; i++) {
        assert_float_equal(out[i].effect, 0, 0);
        assert_float_equal(out[i].low, 0, 0);
        assert_float_equal(out[i].high, 0, 0);
    }
    for (int i = 5; i < 7; i++) {
        assert_float_equal(out[i].effect, -22, 1e-9);
        assert_float_equal(out[i].low, -22 - hw, 1e-5);
        assert_float_equal(out[i].high, -22 + hw, 1e-5);
    }
    /* Unit 5: baseline 103, target 81, actual 80: excess -1. */
    assert_float_equal(in[5].y - (out[5].baseline + out[5].effect), -1, 1e-9);
    assert_int_equal(out[7].status, DID_NO_HISTORY);

    /* Six controls are needed: every unit with history refuses. */
    attribution_did(in, 8, 0.9, 6, out);
    for (int i = 0; i < 7; i++)
        assert_int_equal(out[i].status, DID_FEW_CONTROLS);
}

/* xorshift64* and Box-Muller: reproducible normal noise. */
static uint64_t rng_state;
static double uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}
static double normal(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

/*
 * Generated panels: 36 units in three regions over 25 months, each with
 * its own level, a common seasonal pattern and a common trend, noise of
 * sd 3 per month. In month 24 region 0 loses 23 (the article's subsidy
 * cut) and two of its units have an excess of their own (+8 and -8).
 * Over many seeds the true effect lies inside the 90% interval for about
 * 90% of exposed units, the mean estimate is within 2% of it, and the
 * unexposed units get 0.
 */
static void test_did_coverage(void **state)
{
    (void)state;
    enum { UNITS = 36, MONTHS = 25, SEEDS = 1000 };
    const double shock = -23;
    size_t covered = 0, exposed = 0;
    double sum_est = 0;
    size_t n_est = 0;
    for (int seed = 1; seed <= SEEDS; seed++) {
        rng_state = 0x9E3779B97F4A7C15ULL * (uint64_t)seed;
        double y[UNITS][MONTHS];
        for (int u = 0; u < UNITS; u++) {
            double level = 80 + 40 * uniform();
            for (int m = 0; m < MONTHS; m++)
                y[u][m] = level + 0.5 * m + 6 * sin(2 * M_PI * m / 12) + 3 * normal();
        }
        for (int u = 0; u < UNITS / 3; u++)
            y[u][24] += shock;
        y[0][24] += 8;
        y[1][24] -= 8;
        struct did_refplan plan;
        attribution_refplan(24, 0, 12, 6, &plan);
        assert_int_equal(plan.method, DID_REF_SEASON);
        struct did_in in[UNITS];
        struct did_out out[UNITS];
        for (int u = 0; u < UNITS; u++) {
            double sum = 0;
            for (size_t k = 0; k < plan.n; k++)
                sum += y[u][plan.periods[k]];
            in[u] = (struct did_in){u < UNITS / 3 ? 1 : 0, true, y[u][24],
                                    sum / (double)plan.n};
        }
        attribution_did(in, UNITS, 0.9, 5, out);
        for (int u = 0; u < UNITS; u++) {
            assert_int_equal(out[u].status, DID_OK);
            if (in[u].group == 0) {
                assert_true(out[u].effect == 0);
                continue;
            }
            exposed++;
            covered += out[u].low <= shock && shock <= out[u].high;
        }
        sum_est += out[0].effect;
        n_est++;
    }
    double coverage = (double)covered / (double)exposed;
    double bias = sum_est / (double)n_est - shock;
    print_message("coverage %.3f over %zu exposed units, bias %.3f\n", coverage,
                  exposed, bias);
    assert_true(coverage >= 0.85 && coverage <= 0.95);
    assert_true(fabs(bias) <= 0.02 * fabs(shock));
}

/* The same with the trend reference (a panel younger than a year). */
static void test_did_coverage_trend(void **state)
{
    (void)state;
    enum { UNITS = 30, MONTHS = 10, SEEDS = 1000 };
    const double shock = 11;
    size_t covered = 0, exposed = 0;
    double sum_est = 0;
    for (int seed = 1; seed <= SEEDS; seed++) {
        rng_state = 0xD1B54A32D192ED03ULL * (uint64_t)seed;
        double y[UNITS][MONTHS];
        for (int u = 0; u < UNITS; u++) {
            double level = 30 + 20 * uniform(), slope = 0.8;
            for (int m = 0; m < MONTHS; m++)
                y[u][m] = level + slope * m + 2 * normal();
        }
        for (int u = 0; u < 6; u++)
            y[u][9] += shock;
        struct did_refplan plan;
        attribution_refplan(9, 0, 12, 6, &plan);
        assert_int_equal(plan.method, DID_REF_TREND);
        struct did_in in[UNITS];
        struct did_out out[UNITS];
        for (int u = 0; u < UNITS; u++) {
            in[u] = (struct did_in){u < 6 ? 1 : 0, true, y[u][9], 0};
            assert_int_equal(attribution_ref(&plan, 9, series_get_row, y[u], &in[u].ref), 0);
        }
        attribution_did(in, UNITS, 0.9, 5, out);
        for (int u = 0; u < 6; u++) {
            exposed++;
            covered += out[u].low <= shock && shock <= out[u].high;
        }
        sum_est += out[0].effect;
    }
    double coverage = (double)covered / (double)exposed;
    double bias = sum_est / SEEDS - shock;
    print_message("trend: coverage %.3f, bias %.3f\n", coverage, bias);
    assert_true(coverage >= 0.85 && coverage <= 0.95);
    assert_true(fabs(bias) <= 0.02 * fabs(shock));
}

/*
 * The simulator's estimate: opportunities of three industries pass
 * through stages of 20 days (sd 3); while each of two past finance
 * policies was in force, finance stages took 7 days longer. A past
 * weather signal over medical is another kind and does not count. For a
 * new finance policy the estimate covers 7 days in about 90% of 300
 * generated histories; medical has no past policy and is refused.
 */
static void test_simulator(void **state)
{
    (void)state;
    enum { SPELLS = 900, SEEDS = 300 };
    const double day = 86400000.0;
    static const char *const fin[] = {"finance"}, *const med[] = {"medical"};
    static const char *const industries[] = {"finance", "medical", "retail"};
    struct sim_signal past[] = {
        {SIGNAL_POLICY, fin, 1, (int64_t)(200 * day), (int64_t)(260 * day)},
        {SIGNAL_POLICY, fin, 1, (int64_t)(500 * day), (int64_t)(560 * day)},
        {SIGNAL_WEATHER, med, 1, (int64_t)(300 * day), (int64_t)(330 * day)},
    };
    size_t covered = 0;
    double sum = 0;
    for (int seed = 1; seed <= SEEDS; seed++) {
        rng_state = 0xA0761D6478BD642FULL * (uint64_t)seed;
        static struct sim_spell sp[SPELLS];
        for (int i = 0; i < SPELLS; i++) {
            double start = 700 * uniform(), dur = 20 + 3 * normal();
            const char *ind = industries[i % 3];
            bool in_policy = (start >= 200 && start < 260) || (start >= 500 && start < 560);
            if (i % 3 == 0 && in_policy)
                dur += 7;
            sp[i] = (struct sim_spell){ind, (int64_t)(start * day),
                                       (int64_t)((start + dur) * day)};
        }
        struct sim_estimate e;
        assert_int_equal(attribution_sim_estimate(sp, SPELLS, past, 3, SIGNAL_POLICY,
                                                  "finance", 0.9, &e),
                         0);
        assert_int_equal(e.signals, 2);
        covered += e.low <= 7 && 7 <= e.high;
        sum += e.days;
        assert_int_equal(attribution_sim_estimate(sp, SPELLS, past, 3, SIGNAL_POLICY,
                                                  "medical", 0.9, &e),
                         -1);
    }
    double coverage = (double)covered / SEEDS, bias = sum / SEEDS - 7;
    print_message("simulator: coverage %.3f, bias %.3f days\n", coverage, bias);
    assert_true(coverage >= 0.85 && coverage <= 0.95);
    assert_true(fabs(bias) < 0.2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_refplan),
        cmocka_unit_test(test_did_by_hand),
        cmocka_unit_test(test_did_coverage),
        cmocka_unit_test(test_did_coverage_trend),
        cmocka_unit_test(test_simulator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
