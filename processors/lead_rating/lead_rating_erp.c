/*
 * lead_rating_erp.c - spare-part orders (erp.parts-orders) as signals on
 * the customer's graph.
 *
 * Per part category the customer's ext object keeps two exponentially
 * decayed sums of the quantities ordered: `recent` with time constant
 * (mean age) tau = erp.window and `base` with tau = erp.baseline, the
 * "90-day rate". A decayed sum over an age A (since the category's first
 * order) estimates a rate as sum / (tau (1 - e^(-A/tau))); the correction for A makes both estimates
 * equal for a steady rate however young the history, so a new customer's
 * first orders are not a "rise". The ratio recent/baseline at an order is
 * the customer against its own moving baseline: at erp.rise_ratio or more,
 * with erp.min_orders orders and erp.min_history behind it, the order adds
 * "erp.<category>.parts_rise" (amount: ratio / rise_ratio, at most 5) to
 * the customer node. An order from another supplier than the category's
 * previous one adds "erp.supplier_switch" on the new supplier, linked as a
 * competitor node. Both decay and saturate as any configured signal;
 * absent from `signals`, they are ignored (the rates are kept anyway).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lead_rating.h"

#define ERP_UNCATEGORISED "uncategorised"
#define ERP_MAX_AMOUNT 5.0

/* The category as it appears in a signal name: dots would split it. */
static void category_name(const char *in, char *out, size_t n)
{
    if (!in || !*in)
        in = ERP_UNCATEGORISED;
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = in[i] == '.' ? '_' : in[i];
    out[i] = '\0';
}

/* The rate per ms a sum decayed with time constant `window` (ms) stands
 * for, over an age of age_ms. */
static double rate(double sum, int64_t window, int64_t age_ms)
{
    double tau = (double)window;
    double age = age_ms > 0 ? (double)age_ms : 1;
    double span = tau * -expm1(-age / tau);
    return span > 0 ? sum / span : 0;
}

/* The category's entry, created (the oldest dropped at the cap). */
static struct lr_erp_cat *category(const struct lr_config *cfg,
                                   struct lr_ext *x, const char *name)
{
    for (size_t i = 0; i < x->n_cats; i++)
        if (strcmp(x->cats[i].category, name) == 0)
            return &x->cats[i];
    if (x->n_cats >= (size_t)cfg->erp.max_categories) {
        size_t old = 0;
        for (size_t i = 1; i < x->n_cats; i++)
            if (x->cats[i].ref < x->cats[old].ref)
                old = i;
        free(x->cats[old].category);
        free(x->cats[old].supplier);
        x->cats[old] = x->cats[--x->n_cats];
    }
    struct lr_erp_cat *v = realloc(x->cats, (x->n_cats + 1) * sizeof(*v));
    if (!v)
        abort();
    x->cats = v;
    struct lr_erp_cat *c = &x->cats[x->n_cats++];
    memset(c, 0, sizeof(*c));
    c->category = statecodec_strdup(name);
    return c;
}

/* Adds amount at t to a sum decayed to *ref (order independent, as
 * graph_signal_add). */
static void add_decayed(double *sum, int64_t ref, int64_t t, double amount,
                        int64_t window)
{
    int64_t half_life = (int64_t)((double)window * M_LN2);
    if (t >= ref)
        *sum = graph_decay(*sum, ref, t, half_life) + amount;
    else
        *sum += graph_decay(amount, t, ref, half_life);
}

void lead_rating_erp_apply(const struct lr_config *cfg,
                           const struct graph_params *p, struct graph *g,
                           struct lr_ext *x, const struct event *ev)
{
    const struct parts_order *po = &ev->u.parts;
    const struct lr_erp_config *ec = &cfg->erp;
    int64_t t = ev->event_time;
    char cat[96], signal[160];

    category_name(po->part_category, cat, sizeof(cat));
    struct lr_erp_cat *c = category(cfg, x, cat);
    x->baseline = ec->baseline;
    double qty = po->quantity > 0 ? (double)po->quantity : 1;
    if (c->orders == 0) {
        c->since = c->ref = t;
    } else if (t < c->since) {
        c->since = t;
    }
    int64_t ref = c->ref;
    add_decayed(&c->recent, ref, t, qty, ec->window);
    add_decayed(&c->base, ref, t, qty, ec->baseline);
    if (t > c->ref)
        c->ref = t;
    c->orders++;
    int64_t age = c->ref - c->since;
    double base = rate(c->base, ec->baseline, age);
    c->ratio = base > 0 ? rate(c->recent, ec->window, age) / base : 0;

    if (c->ratio >= ec->rise_ratio && c->orders >= (uint64_t)ec->min_orders &&
        age >= ec->min_history && t == c->ref) {
        snprintf(signal, sizeof(signal), "erp.%s.parts_rise", cat);
        double amount = c->ratio / ec->rise_ratio;
        if (amount > ERP_MAX_AMOUNT)
            amount = ERP_MAX_AMOUNT;
        graph_signal_add(g, p, &g->nodes[0], signal, amount, t);
    }

    if (!po->supplier_id || !*po->supplier_id || t < c->supplier_at)
        return;
    bool switched = c->supplier && strcmp(c->supplier, po->supplier_id) != 0;
    if (!c->supplier || switched) {
        free(c->supplier);
        c->supplier = statecodec_strdup(po->supplier_id);
    }
    c->supplier_at = t;
    /* Resolve first: an unconfigured signal must not create a node. */
    if (switched && graph_spec_find(p, "erp.supplier_switch")) {
        struct graph_node *n =
            graph_link(g, p, GRAPH_NODE_COMPETITOR, po->supplier_id,
                       "ERP_SUPPLIER_SWITCH", t);
        graph_signal_add(g, p, n, "erp.supplier_switch", 1, t);
    }
}

bool lead_rating_erp_detail(const struct lr_ext *x, const char *factor,
                            char *out, size_t n)
{
    static const char head[] = "erp.", tail[] = ".parts_rise";
    size_t fl = strlen(factor), hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
    if (!x || fl <= hl + tl || strncmp(factor, head, hl) != 0 ||
        strcmp(factor + fl - tl, tail) != 0)
        return false;
    for (size_t i = 0; i < x->n_cats; i++) {
        const struct lr_erp_cat *c = &x->cats[i];
        if (strlen(c->category) == fl - hl - tl &&
            strncmp(factor + hl, c->category, fl - hl - tl) == 0) {
            lead_rating_erp_explain(x, c, out, n);
            return true;
        }
    }
    return false;
}

void lead_rating_erp_explain(const struct lr_ext *x, const struct lr_erp_cat *c,
                             char *out, size_t n)
{
    snprintf(out, n, "%s orders %.1fx their %lld-day rate", c->category,
             c->ratio, (long long)(x->baseline / 86400000));
}
