/*
 * attribution_simulate.c - `dealstream simulate`: what a would-be
 * environment signal is expected to do to the stages of open
 * opportunities, from what past signals of its kind did (the estimate is
 * attribution_sim.c's). It reads the attribution processor's state
 * read-only, as `inspect` does: the stage spells and open opportunities
 * kept per customer ("<customer>/opps") and the signals of the hub or of
 * any panel. Only the state of this instance's partitions is seen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attribution.h"
#include "attribution_simulate.h"
#include "state.h"

struct sim_open {
    const char *customer; /* owned by sim_walk.customers */
    const struct at_opp *opp;
};

struct sim_walk {
    struct at_obj **objs; /* decoded, freed at the end */
    size_t n_objs;
    char **customers;
    size_t n_customers;
    struct at_signal *signals; /* copies, by id */
    size_t n_signals;
    struct sim_spell *spells;
    size_t n_spells;
    struct sim_open *open;
    size_t n_open;
};

#define GROW(arr, n)                                                          \
    do {                                                                      \
        void *g_ = realloc((arr), ((n) + 1) * sizeof(*(arr)));                \
        if (!g_)                                                              \
            abort();                                                          \
        (arr) = g_;                                                           \
    } while (0)

static int walk_one(void *arg, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    struct sim_walk *sw = arg;
    size_t plen = strlen("attribution/");
    char skey[1024];
    if (klen <= plen || klen - plen >= sizeof(skey))
        return 0;
    memcpy(skey, (const char *)key + plen, klen - plen);
    skey[klen - plen] = '\0';
    void *st = NULL;
    if (attribution_state_decode(skey, val, vlen, &st) != 0)
        return 0; /* inspect shows it; nothing to learn from it here */
    struct at_obj *o = st;
    GROW(sw->objs, sw->n_objs);
    sw->objs[sw->n_objs++] = o;
    const struct at_signal *sigs = NULL;
    size_t n_sigs = 0;
    if (o->type == AT_HUB) {
        sigs = o->u.hub.signals;
        n_sigs = o->u.hub.n_signals;
    } else if (o->type == AT_PANEL) {
        sigs = o->u.panel.signals;
        n_sigs = o->u.panel.n_signals;
    } else {
        const struct at_opps *op = &o->u.opps;
        GROW(sw->customers, sw->n_customers);
        char *customer = strndup(skey, strlen(skey) - strlen(AT_OPPS_SUFFIX));
        if (!customer)
            abort();
        sw->customers[sw->n_customers++] = customer;
        for (size_t i = 0; i < op->n_spells; i++) {
            GROW(sw->spells, sw->n_spells);
            sw->spells[sw->n_spells++] = (struct sim_spell){
                op->spells[i].industry, op->spells[i].start, op->spells[i].end};
        }
        for (size_t i = 0; i < op->n_opps; i++) {
            if (!op->opps[i].open)
                continue;
            GROW(sw->open, sw->n_open);
            sw->open[sw->n_open++] = (struct sim_open){customer, &op->opps[i]};
        }
    }
    for (size_t i = 0; i < n_sigs; i++)
        if (attribution_signal_upsert(&sw->signals, &sw->n_signals, &sigs[i]) < 0)
            break;
    return 0;
}

static bool in_strs(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* The industries to report: the signal's, or every one seen. */
static size_t industries_of(const struct env_signal *sig, const struct sim_walk *sw,
                            const char **out, size_t max)
{
    size_t n = 0;
    if (sig->n_industries) {
        for (size_t i = 0; i < sig->n_industries && n < max; i++)
            if (!in_strs(out, n, sig->industries[i]))
                out[n++] = sig->industries[i];
        return n;
    }
    for (size_t i = 0; i < sw->n_open && n < max; i++)
        if (sw->open[i].opp->industry && !in_strs(out, n, sw->open[i].opp->industry))
            out[n++] = sw->open[i].opp->industry;
    for (size_t i = 0; i < sw->n_spells && n < max; i++)
        if (sw->spells[i].industry && !in_strs(out, n, sw->spells[i].industry))
            out[n++] = sw->spells[i].industry;
    return n;
}

static void report(const struct env_signal *sig, const struct sim_walk *sw,
                   const struct sim_signal *past, double level, bool json, FILE *out)
{
    const char *inds[256];
    size_t n_inds = industries_of(sig, sw, inds, 256);
    int pct = (int)(level * 100 + 0.5);
    struct jw *w = json ? jw_new() : NULL;
    if (w) {
        jw_obj_begin(w, NULL);
        jw_str(w, "signal_id", sig->signal_id);
        jw_str(w, "kind", signal_kind_name(sig->kind));
        jw_double(w, "level", level);
        jw_arr_begin(w, "industries");
    } else {
        fprintf(out, "Simulated %s signal %s: %s\n", signal_kind_name(sig->kind),
                sig->signal_id, sig->title);
    }
    for (size_t k = 0; k < n_inds; k++) {
        struct sim_estimate e;
        int rc = attribution_sim_estimate(sw->spells, sw->n_spells, past,
                                          sw->n_signals, (int)sig->kind, inds[k],
                                          level, &e);
        if (w) {
            jw_obj_begin(w, NULL);
            jw_str(w, "industry", inds[k]);
        }
        if (rc != 0) {
            if (w) {
                jw_str(w, "refused", "no past signal of this kind covered the "
                                     "industry with two stage spells in each window");
                jw_obj_end(w);
            } else {
                fprintf(out, "  %s: no estimate: no past %s signal covered it with "
                             "enough stage history\n",
                        inds[k], signal_kind_name(sig->kind));
            }
            continue;
        }
        if (w) {
            jw_double(w, "days", e.days);
            jw_double(w, "low", e.low);
            jw_double(w, "high", e.high);
            jw_int(w, "past_signals", e.signals);
            jw_arr_begin(w, "opportunities");
        } else {
            fprintf(out, "  %s: expected to extend the signing cycle by %.1f days "
                         "per stage (%d%% interval %.1f to %.1f; %d past %s signals)\n",
                    inds[k], e.days, pct, e.low, e.high, e.signals,
                    signal_kind_name(sig->kind));
        }
        for (size_t i = 0; i < sw->n_open; i++) {
            const struct at_opp *p = sw->open[i].opp;
            if (!p->industry || strcmp(p->industry, inds[k]) != 0)
                continue;
            if (w) {
                jw_obj_begin(w, NULL);
                jw_str(w, "customer_id", sw->open[i].customer);
                jw_str(w, "opportunity_id", p->id);
                jw_str(w, "rep_id", p->rep);
                jw_str(w, "stage", p->stage);
                jw_double(w, "days", e.days);
                jw_double(w, "low", e.low);
                jw_double(w, "high", e.high);
                jw_obj_end(w);
            } else {
                fprintf(out, "    %-16s %-16s %-12s %-14s %+.1f days [%.1f, %.1f]\n",
                        sw->open[i].customer, p->id, p->rep, p->stage, e.days,
                        e.low, e.high);
            }
        }
        if (w) {
            jw_arr_end(w);
            jw_obj_end(w);
        }
    }
    if (w) {
        jw_arr_end(w);
        jw_obj_end(w);
        char *doc = jw_finish(w, false);
        fprintf(out, "%s\n", doc);
        free(doc);
        jw_free(w);
    }
}

int attribution_simulate(struct state *db, const void *cfg,
                         const struct env_signal *sig,
                         const struct env_signal *const *given, size_t n_given,
                         bool json, FILE *out, char *err, size_t errlen)
{
    const struct at_config *c = cfg;
    struct sim_walk sw = {0};
    int rc = state_scan(db, "attribution/", strlen("attribution/"), walk_one, &sw,
                        err, errlen);
    for (size_t i = 0; i < n_given; i++) {
        const struct env_signal *es = given[i];
        struct at_signal s = {
            .id = (char *)es->signal_id,
            .kind = (int)es->kind,
            .title = (char *)es->title,
            .regions = (char **)es->regions,
            .n_regions = es->n_regions,
            .industries = (char **)es->industries,
            .n_industries = es->n_industries,
            .start_time = es->start_time,
            .end_time = es->has_end_time ? es->end_time : INT64_MAX,
        };
        if (attribution_signal_upsert(&sw.signals, &sw.n_signals, &s) < 0)
            break;
    }
    struct sim_signal *past = calloc(sw.n_signals + 1, sizeof(*past));
    if (!past)
        abort();
    for (size_t i = 0; i < sw.n_signals; i++)
        past[i] = (struct sim_signal){sw.signals[i].kind,
                                      (const char *const *)sw.signals[i].industries,
                                      sw.signals[i].n_industries,
                                      sw.signals[i].start_time, sw.signals[i].end_time};
    if (rc == 0)
        report(sig, &sw, past, c->level, json, out);
    free(past);
    for (size_t i = 0; i < sw.n_signals; i++)
        attribution_signal_clear(&sw.signals[i]);
    free(sw.signals);
    for (size_t i = 0; i < sw.n_objs; i++)
        attribution_state_free(sw.objs[i]);
    free(sw.objs);
    for (size_t i = 0; i < sw.n_customers; i++)
        free(sw.customers[i]);
    free(sw.customers);
    free(sw.spells);
    free(sw.open);
    return rc;
}
