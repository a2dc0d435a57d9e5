/*
 * attribution_did.c - the difference-in-differences estimator, pure
 * arithmetic over one panel and one period (docs/ATTRIBUTION.md).
 *
 * Each unit i has its period value y_i and a reference ref_i from its own
 * history; d_i = y_i - ref_i is its change. The unexposed units with a
 * reference are the controls C; their mean change is what the period did
 * to everyone. A group G of units exposed to the same signals has the
 * effect  tau_G = mean_G(d) - mean_C(d).  The interval comes from placebo
 * estimates: each control c, treated as if exposed, gets
 * p_c = d_c - mean_{C\c}(d), whose spread under no effect measures one
 * unit's noise; tau_G's standard error scales it by sqrt(1/|G| + 1/|C|),
 * with Student's t on |C|-1 degrees of freedom.
 */
#include <math.h>
#include <stdlib.h>

#include "attribution.h"

/* P(|T| <= t) for Student's t with nu (integer) degrees of freedom, by
 * the finite series of Abramowitz & Stegun 26.7.3-4. */
static double t_abs_cdf(double t, int nu)
{
    double th = atan(t / sqrt((double)nu)), c2 = cos(th) * cos(th);
    if (nu % 2 == 1) {
        if (nu == 1)
            return 2 * th / M_PI;
        double term = cos(th), sum = term;
        for (int k = 3; k <= nu - 2; k += 2) {
            term *= c2 * (k - 1) / k;
            sum += term;
        }
        return 2 / M_PI * (th + sin(th) * sum);
    }
    double term = 1, sum = 1;
    for (int k = 2; k <= nu - 2; k += 2) {
        term *= c2 * (k - 1) / k;
        sum += term;
    }
    return sin(th) * sum;
}

double attribution_norm_quantile(double p)
{
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(-mid / M_SQRT2) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

double attribution_t_quantile(double p, double dof)
{
    if (p == 0.5)
        return 0;
    if (p < 0.5)
        return -attribution_t_quantile(1 - p, dof);
    if (dof > 2000) /* the series would be long; t is normal by then */
        return attribution_norm_quantile(p);
    int nu = dof < 1 ? 1 : (int)dof;
    double want = 2 * p - 1, lo = 0, hi = 1;
    while (t_abs_cdf(hi, nu) < want && hi < 1e12)
        hi *= 2;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (t_abs_cdf(mid, nu) < want)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

#define MAX_SEASON_YEARS 3

void attribution_refplan(int32_t t, int32_t first, int32_t season,
                         int64_t pre_periods, struct did_refplan *plan)
{
    plan->n = 0;
    for (int k = 1; k <= MAX_SEASON_YEARS && t - (int64_t)k * season >= first; k++)
        plan->periods[plan->n++] = t - k * season;
    if (plan->n) {
        plan->method = DID_REF_SEASON;
        return;
    }
    if (pre_periods > 16)
        pre_periods = 16;
    if (t - pre_periods < first) {
        plan->method = DID_REF_NONE;
        return;
    }
    plan->method = DID_REF_TREND;
    for (int64_t k = pre_periods; k >= 1; k--)
        plan->periods[plan->n++] = (int32_t)(t - k);
}

int attribution_ref(const struct did_refplan *plan, int32_t t,
                    int (*get)(const void *arg, int32_t p, double *v),
                    const void *arg, double *ref)
{
    if (plan->method == DID_REF_NONE || !plan->n)
        return -1;
    double v[16], sum = 0;
    for (size_t i = 0; i < plan->n; i++) {
        if (get(arg, plan->periods[i], &v[i]) != 0)
            return -1;
        sum += v[i];
    }
    double mean = sum / (double)plan->n;
    if (plan->method == DID_REF_SEASON) {
        *ref = mean;
        return 0;
    }
    /* Least-squares line over the pre-periods, read at t. */
    double xbar = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < plan->n; i++)
        xbar += (double)(plan->periods[i] - t);
    xbar /= (double)plan->n;
    for (size_t i = 0; i < plan->n; i++) {
        double dx = (double)(plan->periods[i] - t) - xbar;
        sxx += dx * dx;
        sxy += dx * (v[i] - mean);
    }
    double slope = sxx > 0 ? sxy / sxx : 0;
    *ref = mean + slope * (0 - xbar);
    return 0;
}

void attribution_did(const struct did_in *in, size_t n, double level,
                     int64_t min_controls, struct did_out *out)
{
    size_t nc = 0;
    double sum_c = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i].usable && in[i].group == 0) {
            nc++;
            sum_c += in[i].y - in[i].ref;
        }
    double delta = nc ? sum_c / (double)nc : 0;
    /* The placebos' spread: s^2 = (|C|-1)/|C| * mean(p_c^2), which is
     * the sample variance of the controls' changes. */
    double s = 0;
    if (nc >= 2) {
        double sq = 0;
        for (size_t i = 0; i < n; i++) {
            if (!in[i].usable || in[i].group != 0)
                continue;
            double d = in[i].y - in[i].ref;
            double p = d - (sum_c - d) / (double)(nc - 1);
            sq += p * p;
        }
        s = sqrt((double)(nc - 1) / (double)nc * sq / (double)nc);
    }
    double q = nc >= 2 ? attribution_t_quantile((1 + level) / 2, (double)(nc - 1)) : 0;
    /* Each group's size and sum of changes, by group number (1..n). */
    size_t *ng = calloc(n + 1, sizeof(*ng));
    double *sum_g = calloc(n + 1, sizeof(*sum_g));
    if (!ng || !sum_g)
        abort();
    for (size_t i = 0; i < n; i++)
        if (in[i].usable && in[i].group > 0 && (size_t)in[i].group <= n) {
            ng[in[i].group]++;
            sum_g[in[i].group] += in[i].y - in[i].ref;
        }
    for (size_t i = 0; i < n; i++) {
        struct did_out *o = &out[i];
        *o = (struct did_out){.controls = (int32_t)nc};
        if (!in[i].usable) {
            o->status = DID_NO_HISTORY;
            continue;
        }
        if ((int64_t)nc < min_controls) {
            o->status = DID_FEW_CONTROLS;
            continue;
        }
        o->status = DID_OK;
        o->baseline = in[i].ref + delta;
        if (in[i].group == 0)
            continue;
        size_t g = (size_t)in[i].group;
        o->effect = sum_g[g] / (double)ng[g] - delta;
        double se = s * sqrt(1.0 / (double)ng[g] + 1.0 / (double)nc);
        o->low = o->effect - q * se;
        o->high = o->effect + q * se;
    }
    free(ng);
    free(sum_g);
}
