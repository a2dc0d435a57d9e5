/*
 * attribution_sim.c - the policy-impact simulator's estimate, pure
 * arithmetic over the stage spells kept in state (docs/ATTRIBUTION.md).
 *
 * For an industry X and a would-be signal of kind K, every past signal of
 * kind K that covered X (and not every industry) is a natural experiment:
 * the spells (one opportunity in one stage) of X that began while it was
 * in force, against those of X that began in as long a window before it,
 * differenced with the same two windows of the industries it did not
 * cover. Each past signal gives an effect in days and a variance from
 * the four cells' spreads; they are pooled by inverse variance.
 */
#include <math.h>
#include <string.h>

#include "attribution.h"

#define DAY_MS 86400000.0
#define OPEN_WINDOW_MS (90 * 86400000LL) /* a signal with no end */

static bool has(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

struct cell {
    size_t n;
    double sum, sq;
};

static void add(struct cell *c, double x)
{
    c->n++;
    c->sum += x;
    c->sq += x * x;
}

static double mean(const struct cell *c) { return c->sum / (double)c->n; }

static double var_of_mean(const struct cell *c)
{
    double m = mean(c);
    double v = (c->sq - (double)c->n * m * m) / (double)(c->n - 1);
    return (v > 0 ? v : 0) / (double)c->n;
}

int attribution_sim_estimate(const struct sim_spell *sp, size_t n_spells,
                             const struct sim_signal *past, size_t n_past,
                             int kind, const char *industry, double level,
                             struct sim_estimate *out)
{
    double wsum = 0, wx = 0;
    *out = (struct sim_estimate){0};
    for (size_t j = 0; j < n_past; j++) {
        const struct sim_signal *p = &past[j];
        if (p->kind != kind || !p->n_industries ||
            !has(p->industries, p->n_industries, industry))
            continue;
        int64_t end = p->end_time > p->start_time && p->end_time != INT64_MAX
                          ? p->end_time
                          : p->start_time + OPEN_WINDOW_MS;
        int64_t len = end - p->start_time;
        struct cell ed = {0}, eb = {0}, cd = {0}, cb = {0};
        for (size_t i = 0; i < n_spells; i++) {
            const struct sim_spell *s = &sp[i];
            bool during = s->start >= p->start_time && s->start < end;
            bool before = s->start >= p->start_time - len && s->start < p->start_time;
            if (!during && !before)
                continue;
            double d = (double)(s->end - s->start) / DAY_MS;
            bool exposed = s->industry && strcmp(s->industry, industry) == 0;
            bool control = !s->industry || !has(p->industries, p->n_industries, s->industry);
            if (exposed)
                add(during ? &ed : &eb, d);
            else if (control)
                add(during ? &cd : &cb, d);
        }
        if (ed.n < 2 || eb.n < 2 || cd.n < 2 || cb.n < 2)
            continue;
        double e = (mean(&ed) - mean(&eb)) - (mean(&cd) - mean(&cb));
        double v = var_of_mean(&ed) + var_of_mean(&eb) + var_of_mean(&cd) +
                   var_of_mean(&cb);
        double w = 1 / (v > 1e-12 ? v : 1e-12);
        wsum += w;
        wx += w * e;
        out->signals++;
    }
    if (!out->signals)
        return -1;
    out->days = wx / wsum;
    double half = attribution_norm_quantile((1 + level) / 2) * sqrt(1 / wsum);
    out->low = out->days - half;
    out->high = out->days + half;
    return 0;
}
