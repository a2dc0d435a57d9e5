/*
 * graph.c - per-customer behaviour graph and scoring (see graph.h).
 *
 * Everything here is plain arithmetic over the graph and a borrowed
 * graph_params: no config, no I/O, no clock. Arrays are small (a node cap of
 * tens, a few signals per node), so lookups in them are linear scans (the
 * config's signal specs, looked up per signal, are hashed); what matters
 * is that nothing grows without bound and that every choice (eviction order,
 * factor order) is deterministic.
 */
#include "graph.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

#define GRAPH_FORMAT_VERSION 1

static const char *const node_type_names[GRAPH_NODE_TYPE_COUNT] = {
    "customer", "company", "supplier", "competitor",
    "policy",   "contact", "device",   "tender"};
static const char *const tier_names[GRAPH_TIER_COUNT] = {"A", "B", "C", "D"};
static const char *const part_names[GRAPH_PART_COUNT] = {"fit", "intent"};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n, size_t size)
{
    void *q = reallocarray(p, n ? n : 1, size);
    if (!q) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return q;
}

/* A buffer of n elements of `size` bytes, zeroed: on the stack when small,
 * as it is for the usual few dozen specs (a double or a bool each) and for
 * a signal type; on the heap otherwise. */
struct scratch {
    double small[64]; /* doubles: aligned for every use here */
    void *v;
};

static void *scratch_init(struct scratch *b, size_t n, size_t size)
{
    b->v = n <= sizeof(b->small) / size ? b->small : xrealloc(NULL, n, size);
    memset(b->v, 0, n * size);
    return b->v;
}

static void scratch_done(struct scratch *b)
{
    if (b->v != b->small)
        free(b->v);
}

const char *graph_node_type_name(enum graph_node_type t)
{
    return (unsigned)t < GRAPH_NODE_TYPE_COUNT ? node_type_names[t] : "?";
}

enum graph_node_type graph_node_type_of_entity(enum entity_type e)
{
    int t = (int)e + 1;
    return t > 0 && t < GRAPH_NODE_TYPE_COUNT ? (enum graph_node_type)t
                                              : GRAPH_NODE_COMPANY;
}

const char *graph_tier_name(int tier)
{
    return tier >= 0 && tier < GRAPH_TIER_COUNT ? tier_names[tier] : "?";
}

const char *graph_part_name(int part)
{
    return part >= 0 && part < GRAPH_PART_COUNT ? part_names[part] : "?";
}

double graph_decay(double value, int64_t from_ms, int64_t to_ms,
                   int64_t half_life_ms)
{
    if (half_life_ms <= 0 || from_ms == to_ms)
        return value;
    double dt = (double)to_ms - (double)from_ms;
    return value * exp2(-dt / (double)half_life_ms);
}

double graph_saturate(double weight, double saturation, double v)
{
    if (saturation <= 0 || v <= 0 || weight == 0)
        return 0;
    double c = saturation * -expm1(-fabs(weight) * v / saturation);
    return weight < 0 ? -c : c;
}

void graph_params_index(struct graph_params *p)
{
    graph_params_unindex(p);
    p->spec_by_name = hmap_new();
    for (size_t i = 0; i < p->n_specs; i++) {
        const char *n = p->specs[i].name;
        if (n && !hmap_get(p->spec_by_name, n))
            hmap_put(p->spec_by_name, n, (void *)(uintptr_t)(i + 1));
    }
}

void graph_params_unindex(struct graph_params *p)
{
    hmap_free(p->spec_by_name, NULL);
    p->spec_by_name = NULL;
}

/* The index of the spec named n, or -1. */
static int spec_named(const struct graph_params *p, const char *n)
{
    if (p->spec_by_name) {
        uintptr_t v = (uintptr_t)hmap_get(p->spec_by_name, n);
        return v ? (int)(v - 1) : -1;
    }
    for (size_t i = 0; i < p->n_specs; i++)
        if (p->specs[i].name && strcmp(p->specs[i].name, n) == 0)
            return (int)i;
    return -1;
}

static int spec_index(const struct graph_params *p, const char *type)
{
    int i = spec_named(p, type);
    if (i >= 0)
        return i;
    /* "iot.<anything>.CRITICAL" falls back to "iot.*.CRITICAL". */
    const char *d1 = strchr(type, '.');
    const char *d2 = d1 ? strrchr(type, '.') : NULL;
    if (!d1 || d2 == d1)
        return -1;
    size_t head = (size_t)(d1 - type) + 1; /* "iot." */
    size_t tail = strlen(d2);              /* ".CRITICAL" */
    struct scratch wb;
    char *wild = scratch_init(&wb, head + 1 + tail + 1, 1);
    memcpy(wild, type, head);
    wild[head] = '*';
    memcpy(wild + head + 1, d2, tail + 1);
    i = spec_named(p, wild);
    scratch_done(&wb);
    return i;
}

/* The spec index of s under p, looked up once per object and params. */
static int signal_spec(const struct graph_params *p, struct graph_signal *s)
{
    if (s->spec_table != p->specs || s->spec_count != p->n_specs) {
        s->spec = spec_index(p, sstr_str(&s->type));
        s->spec_table = p->specs;
        s->spec_count = p->n_specs;
    }
    return s->spec;
}

const struct graph_signal_spec *graph_spec_find(const struct graph_params *p,
                                                const char *type)
{
    int i = spec_index(p, type);
    return i < 0 ? NULL : &p->specs[i];
}

/* ---- nodes ---------------------------------------------------------- */

static void node_clear(struct graph_node *n)
{
    for (size_t i = 0; i < n->n_signals; i++)
        sstr_free(&n->signals[i].type);
    free(n->signals);
    sstr_free(&n->id);
    sstr_free(&n->relation);
    memset(n, 0, sizeof(*n));
}

static struct graph_node *node_append(struct graph *g)
{
    if (g->n_nodes == g->cap_nodes) {
        /* From one: most graphs never get past the customer node, and
         * up to state.cache_max_entries new ones are held at a time (at
         * 128 bytes a node, a first capacity of 4 was ~30 MB of the peak
         * at 1M customers). */
        g->cap_nodes = g->cap_nodes ? g->cap_nodes * 2 : 1;
        g->nodes = xrealloc(g->nodes, g->cap_nodes, sizeof(*g->nodes));
    }
    struct graph_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof(*n));
    return n;
}

static void node_remove_at(struct graph *g, size_t i)
{
    node_clear(&g->nodes[i]);
    memmove(&g->nodes[i], &g->nodes[i + 1],
            (g->n_nodes - i - 1) * sizeof(*g->nodes));
    g->n_nodes--;
}

static void signal_remove_at(struct graph_node *n, size_t i)
{
    sstr_free(&n->signals[i].type);
    memmove(&n->signals[i], &n->signals[i + 1],
            (n->n_signals - i - 1) * sizeof(*n->signals));
    n->n_signals--;
}

struct graph *graph_new(const char *customer_id)
{
    struct graph *g = xcalloc(1, sizeof(*g));
    g->tier = GRAPH_TIER_D;
    struct graph_node *c = node_append(g);
    c->type = GRAPH_NODE_CUSTOMER;
    sstr_set_cstr(&c->id, customer_id ? customer_id : "");
    sstr_set_null(&c->relation);
    c->edge_weight = 1;
    return g;
}

void graph_free(struct graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_nodes; i++)
        node_clear(&g->nodes[i]);
    free(g->nodes);
    free(g->share);
    free(g);
}

void graph_observe(struct graph *g, int64_t t_ms)
{
    if (!g->has_now || t_ms > g->now) {
        g->now = t_ms;
        g->has_now = true;
    }
}

struct graph_node *graph_node_find(struct graph *g, enum graph_node_type t,
                                   const char *id)
{
    if (t == GRAPH_NODE_CUSTOMER)
        return &g->nodes[0];
    size_t len = strlen(id);
    for (size_t i = 1; i < g->n_nodes; i++)
        if (g->nodes[i].type == t && sstr_eq(&g->nodes[i].id, id, len))
            return &g->nodes[i];
    return NULL;
}

struct graph_node *graph_link(struct graph *g, const struct graph_params *p,
                              enum graph_node_type t, const char *id,
                              const char *relation, int64_t t_ms)
{
    if (t == GRAPH_NODE_CUSTOMER || !id || !*id ||
        strcmp(id, sstr_str(&g->nodes[0].id)) == 0)
        return &g->nodes[0];
    struct graph_node *n = graph_node_find(g, t, id);
    if (!n) {
        n = node_append(g);
        n->type = t;
        sstr_set_cstr(&n->id, id);
        sstr_set_null(&n->relation);
        n->edge_time = t_ms;
    }
    if (!relation)
        relation = "";
    /* The latest event names the edge; an older one arriving late must not
     * overwrite it, or the result would depend on arrival order. */
    bool newer = t_ms >= n->edge_time;
    if (newer)
        n->edge_time = t_ms;
    if (newer || !sstr_str(&n->relation)) {
        size_t rlen = strlen(relation);
        if (!sstr_eq(&n->relation, relation, rlen))
            sstr_set(&n->relation, relation, rlen);
    }
    n->edge_weight = p->edge_weight[t];
    return n;
}

int graph_unlink(struct graph *g, enum graph_node_type t, const char *id)
{
    if (t == GRAPH_NODE_CUSTOMER)
        return -1;
    size_t len = strlen(id);
    for (size_t i = 1; i < g->n_nodes; i++) {
        if (g->nodes[i].type == t && sstr_eq(&g->nodes[i].id, id, len)) {
            node_remove_at(g, i);
            return 0;
        }
    }
    return -1;
}

/* ---- signals -------------------------------------------------------- */

int graph_signal_add(struct graph *g, const struct graph_params *p,
                     struct graph_node *n, const char *type, double amount,
                     int64_t t_ms)
{
    (void)g;
    const struct graph_signal_spec *spec = graph_spec_find(p, type);
    if (!spec || !(amount >= 0) || !isfinite(amount))
        return -1;
    struct graph_signal *s = NULL;
    size_t len = strlen(type);
    for (size_t i = 0; i < n->n_signals; i++) {
        if (sstr_eq(&n->signals[i].type, type, len)) {
            s = &n->signals[i];
            break;
        }
    }
    if (!s) {
        if (n->n_signals == n->cap_signals) {
            /* From one, as the nodes: most nodes carry one signal. */
            n->cap_signals = n->cap_signals ? n->cap_signals * 2 : 1;
            n->signals =
                xrealloc(n->signals, n->cap_signals, sizeof(*n->signals));
        }
        s = &n->signals[n->n_signals++];
        memset(s, 0, sizeof(*s));
        sstr_set(&s->type, type, len);
        s->value = amount;
        s->ref = t_ms;
        s->count = 1;
        s->spec = (int)(spec - p->specs);
        s->spec_table = p->specs;
        s->spec_count = p->n_specs;
        return 0;
    }
    if (t_ms >= s->ref) {
        s->value = graph_decay(s->value, s->ref, t_ms, spec->half_life) + amount;
        s->ref = t_ms;
    } else {
        s->value += graph_decay(amount, t_ms, s->ref, spec->half_life);
    }
    s->count++;
    return 0;
}

size_t graph_signal_count(const struct graph *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        n += g->nodes[i].n_signals;
    return n;
}

/* ---- scoring -------------------------------------------------------- */

/* What a signal on node `node_index` counts for at the customer; `hop` is
 * the params' hop_decay (or the copy a graph keeps for its shares). */
static double propagation(double hop, size_t node_index,
                          const struct graph_node *n)
{
    return node_index == 0 ? 1.0 : n->edge_weight * hop;
}

static double clamp100(double v)
{
    return v < 0 ? 0 : v > 100 ? 100 : v;
}

/* Keeps the factors of a rescore (share[k] for spec k, computed where
 * `fed`, exactly +0 elsewhere) in g: see struct graph. */
static void keep_shares(struct graph *g, const struct graph_params *p,
                        const double *share, const bool *fed)
{
    size_t n = 0;
    uint64_t mask = 0;
    g->share_dense = p->n_specs > 64;
    if (g->share_dense) {
        n = p->n_specs;
    } else {
        for (size_t k = 0; k < p->n_specs; k++)
            if (fed[k]) {
                mask |= (uint64_t)1 << k;
                n++;
            }
    }
    if (n > g->cap_share) {
        g->share = xrealloc(g->share, n, sizeof(double));
        g->cap_share = (uint32_t)n;
    }
    if (g->share_dense) {
        memcpy(g->share, share, n * sizeof(double));
    } else {
        size_t j = 0;
        for (size_t k = 0; k < p->n_specs; k++)
            if (fed[k])
                g->share[j++] = share[k];
    }
    g->share_mask = mask;
    g->n_kept = (uint32_t)n;
    if (g->n_share < p->n_specs)
        g->n_share = (uint32_t)p->n_specs;
}

/* The factor of spec k (< n_share) kept by the last rescore. */
static double share_factor(const struct graph *g, size_t k)
{
    if (g->share_dense)
        return k < g->n_kept ? g->share[k] : 0;
    if (k >= 64 || !(g->share_mask >> k & 1))
        return 0;
    uint64_t below = g->share_mask & (((uint64_t)1 << k) - 1);
    return g->share[__builtin_popcountll(below)];
}

/* The saturated total of each spec, the parts, the score, and per spec the
 * factor that turns a signal's propagated value into its share (kept in
 * g->share until a share is read, see graph_contribution()). `sum[k]` is
 * spec k's decayed, propagated value over all nodes. A part's raw value is
 * the sum of its specs' totals: the shares of one spec add up to its
 * total, so the score needs no walk over the signals. */
static void score_sums(struct graph *g, const struct graph_params *p,
                       const double *sum)
{
    struct scratch sb, fb;
    double *share = scratch_init(&sb, p->n_specs, sizeof(double));
    bool *fed = scratch_init(&fb, p->n_specs, sizeof(bool));
    double part_raw[GRAPH_PART_COUNT] = {0};
    for (size_t k = 0; k < p->n_specs; k++) {
        int part = p->specs[k].part;
        fed[k] = sum[k] > 0 && part >= 0 && part < GRAPH_PART_COUNT;
        if (fed[k]) {
            share[k] = graph_saturate(p->specs[k].weight,
                                      p->specs[k].saturation, sum[k]);
            part_raw[part] += share[k];
        }
    }
    /* Parts are clamped to 0..100; when a part overflows, its factors are
     * scaled so they still add up to what the part contributes. */
    double wsum = p->part_weight[GRAPH_PART_FIT] + p->part_weight[GRAPH_PART_INTENT];
    if (wsum <= 0)
        wsum = 1;
    double scale[GRAPH_PART_COUNT];
    for (int k = 0; k < GRAPH_PART_COUNT; k++) {
        scale[k] = p->part_weight[k] / wsum;
        if (part_raw[k] > 100)
            scale[k] *= 100 / part_raw[k];
    }
    for (size_t k = 0; k < p->n_specs; k++)
        if (share[k] != 0)
            share[k] *= scale[p->specs[k].part] / sum[k];
    keep_shares(g, p, share, fed);
    scratch_done(&fb);
    scratch_done(&sb);
    g->share_hop = p->hop_decay;
    g->shares_pending = true;
    g->fit = clamp100(part_raw[GRAPH_PART_FIT]);
    g->intent = clamp100(part_raw[GRAPH_PART_INTENT]);
    g->score = clamp100((p->part_weight[GRAPH_PART_FIT] * g->fit +
                         p->part_weight[GRAPH_PART_INTENT] * g->intent) /
                        wsum);
}

void graph_rescore(struct graph *g, const struct graph_params *p)
{
    struct scratch b;
    double *sum = scratch_init(&b, p->n_specs, sizeof(double));
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct graph_node *n = &g->nodes[i];
        double prop = propagation(p->hop_decay, i, n);
        for (size_t j = 0; j < n->n_signals; j++) {
            struct graph_signal *s = &n->signals[j];
            int k = signal_spec(p, s);
            if (k < 0) {
                s->value_now = s->value; /* no half-life known */
                continue;
            }
            s->value_now = graph_decay(s->value, s->ref, g->now,
                                       p->specs[k].half_life);
            sum[k] += s->value_now * prop;
        }
    }
    score_sums(g, p, sum);
    scratch_done(&b);
}

static double share_of(const struct graph *g, size_t i,
                       const struct graph_node *n,
                       const struct graph_signal *s)
{
    if (!g->shares_pending)
        return s->contribution;
    if (s->spec < 0 || (size_t)s->spec >= g->n_share)
        return 0;
    return share_factor(g, (size_t)s->spec) *
           (s->value_now * propagation(g->share_hop, i, n));
}

double graph_contribution(const struct graph *g, size_t i, size_t j)
{
    return share_of(g, i, &g->nodes[i], &g->nodes[i].signals[j]);
}

void graph_settle(struct graph *g)
{
    if (!g->shares_pending)
        return;
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct graph_node *n = &g->nodes[i];
        for (size_t j = 0; j < n->n_signals; j++)
            n->signals[j].contribution = share_of(g, i, n, &n->signals[j]);
    }
    g->shares_pending = false;
}

/* ---- bounds --------------------------------------------------------- */

static double node_weight(const struct graph_node *n)
{
    double w = 0;
    for (size_t j = 0; j < n->n_signals; j++)
        w += fabs(n->signals[j].contribution);
    return w;
}

/* Is a a better candidate for eviction than b? Least contributing, then
 * oldest, then by name: never dependent on array order. */
static bool evict_before_signal(const struct graph_signal *a,
                                const struct graph_signal *b)
{
    double ca = fabs(a->contribution), cb = fabs(b->contribution);
    if (ca != cb)
        return ca < cb;
    if (a->ref != b->ref)
        return a->ref < b->ref;
    return sstr_cmp(&a->type, &b->type) < 0;
}

static bool evict_before_node(const struct graph_node *a,
                              const struct graph_node *b)
{
    double ca = node_weight(a), cb = node_weight(b);
    if (ca != cb)
        return ca < cb;
    if (a->edge_time != b->edge_time)
        return a->edge_time < b->edge_time;
    if (a->type != b->type)
        return a->type < b->type;
    return sstr_cmp(&a->id, &b->id) < 0;
}

/* Removes the neighbours left without signals (never the customer). */
static void drop_bare_neighbours(struct graph *g)
{
    for (size_t i = g->n_nodes; i-- > 1;)
        if (g->nodes[i].n_signals == 0)
            node_remove_at(g, i);
}

#define PRUNE_AHEAD 3

/* Removes the signals decayed under the floor (and those whose type the
 * config dropped) and the neighbours left without any, and sums what is
 * left per spec as graph_rescore() does: one walk over the signals per
 * event. */
static void prune(struct graph *g, const struct graph_params *p, double *sum)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct graph_node *n = &g->nodes[i];
        /* Each node's signals are an allocation of their own, a cache miss
         * each on a hot graph's ~60 nodes: ask for them ahead. */
        if (i + PRUNE_AHEAD < g->n_nodes)
            __builtin_prefetch(g->nodes[i + PRUNE_AHEAD].signals);
        double prop = propagation(p->hop_decay, i, n);
        for (size_t j = 0; j < n->n_signals;) {
            struct graph_signal *s = &n->signals[j];
            int k = signal_spec(p, s);
            /* A type dropped from the config can no longer be scored. */
            double value_now = k < 0 ? 0
                                     : graph_decay(s->value, s->ref, g->now,
                                                   p->specs[k].half_life);
            if (k < 0 || value_now < p->prune_floor) {
                signal_remove_at(n, j);
            } else {
                s->value_now = value_now;
                sum[k] += value_now * prop;
                j++;
            }
        }
    }
    /* A neighbour without signals adds nothing to the score. */
    drop_bare_neighbours(g);
}

static bool over_caps(const struct graph *g, const struct graph_params *p)
{
    if (g->n_nodes > 1 && g->n_nodes - 1 > p->node_cap)
        return true;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].n_signals > p->signal_cap)
            return true;
    return false;
}

/* Evicts by the shares of the last rescore, settled into the signals. */
static void enforce_caps(struct graph *g, const struct graph_params *p)
{
    graph_settle(g);
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct graph_node *n = &g->nodes[i];
        while (n->n_signals > p->signal_cap && n->n_signals > 0) {
            size_t worst = 0;
            for (size_t j = 1; j < n->n_signals; j++)
                if (evict_before_signal(&n->signals[j], &n->signals[worst]))
                    worst = j;
            signal_remove_at(n, worst);
        }
    }
    while (g->n_nodes > 1 && g->n_nodes - 1 > p->node_cap) {
        size_t worst = 1;
        for (size_t i = 2; i < g->n_nodes; i++)
            if (evict_before_node(&g->nodes[i], &g->nodes[worst]))
                worst = i;
        node_remove_at(g, worst);
    }
    drop_bare_neighbours(g); /* the signal cap may have emptied some */
}

void graph_maintain(struct graph *g, const struct graph_params *p)
{
    struct scratch b;
    prune(g, p, scratch_init(&b, p->n_specs, sizeof(double)));
    score_sums(g, p, b.v);
    scratch_done(&b);
    if (over_caps(g, p)) {
        enforce_caps(g, p); /* removes signals, changes no value */
        graph_rescore(g, p);
    }
}

/* ---- tiers ---------------------------------------------------------- */

int graph_tier_next(const struct graph_params *p, int current, double score)
{
    double h = p->hysteresis / 2;
    if (current < GRAPH_TIER_A || current > GRAPH_TIER_D)
        current = GRAPH_TIER_D;
    /* Up: the best better tier whose cut the score clears by h. */
    for (int t = GRAPH_TIER_A; t < current; t++)
        if (score >= p->cuts[t] + h)
            return t;
    /* Hold while not more than h under the current cut. */
    if (current == GRAPH_TIER_D || score >= p->cuts[current] - h)
        return current;
    /* Down: the best worse tier still held by the same rule. */
    for (int t = current + 1; t < GRAPH_TIER_D; t++)
        if (score >= p->cuts[t] - h)
            return t;
    return GRAPH_TIER_D;
}

/* ---- factors -------------------------------------------------------- */

static int factor_cmp(const void *va, const void *vb)
{
    const struct graph_factor *a = va, *b = vb;
    double ca = fabs(a->contribution), cb = fabs(b->contribution);
    if (ca != cb)
        return ca > cb ? -1 : 1;
    int c = strcmp(a->factor, b->factor);
    if (c)
        return c;
    c = strcmp(a->node_type, b->node_type);
    if (c)
        return c;
    return strcmp(a->node_id, b->node_id);
}

size_t graph_factors(const struct graph *g, struct graph_factor *out,
                     size_t max)
{
    size_t total = graph_signal_count(g);
    if (total == 0 || max == 0)
        return 0;
    struct graph_factor *all = xcalloc(total, sizeof(*all));
    size_t n = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct graph_node *nd = &g->nodes[i];
        for (size_t j = 0; j < nd->n_signals; j++) {
            double c = share_of(g, i, nd, &nd->signals[j]);
            if (c == 0)
                continue;
            all[n].factor = sstr_str(&nd->signals[j].type);
            all[n].node_type = graph_node_type_name(nd->type);
            all[n].node_id = sstr_str(&nd->id);
            all[n].contribution = c;
            n++;
        }
    }
    qsort(all, n, sizeof(*all), factor_cmp);
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof(*out));
    free(all);
    return n;
}

/* ---- encoding ------------------------------------------------------- */

void graph_prefetch(const struct graph *g, int depth)
{
    if (depth == 0) {
        const char *p = (const char *)g->nodes;
        size_t bytes = g->n_nodes * sizeof(*g->nodes);
        for (size_t off = 0; off < bytes && off < 512; off += 64)
            __builtin_prefetch(p + off);
        return;
    }
    for (size_t i = 0; i < g->n_nodes && i < 8; i++)
        if (g->nodes[i].signals)
            __builtin_prefetch(g->nodes[i].signals);
}

void graph_encode(const struct graph *g, struct buf *out)
{
    buf_put_u8(out, GRAPH_FORMAT_VERSION);
    buf_put_i64(out, g->now);
    buf_put_u8(out, g->has_now ? 1 : 0);
    buf_put_varint(out, g->n_events);
    buf_put_u8(out, (uint8_t)g->tier);
    buf_put_u8(out, g->rated ? 1 : 0);
    buf_put_double(out, g->score);
    buf_put_double(out, g->fit);
    buf_put_double(out, g->intent);
    buf_put_varint(out, g->n_nodes);
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct graph_node *n = &g->nodes[i];
        buf_put_u8(out, (uint8_t)n->type);
        buf_put_strn(out, sstr_str(&n->id), sstr_len(&n->id));
        buf_put_strn(out, sstr_str(&n->relation), sstr_len(&n->relation));
        buf_put_double(out, n->edge_weight);
        buf_put_i64(out, n->edge_time);
        buf_put_varint(out, n->n_signals);
        for (size_t j = 0; j < n->n_signals; j++) {
            const struct graph_signal *s = &n->signals[j];
            buf_put_strn(out, sstr_str(&s->type), sstr_len(&s->type));
            buf_put_double(out, s->value);
            buf_put_i64(out, s->ref);
            buf_put_varint(out, s->count);
            buf_put_double(out, s->value_now);
            buf_put_double(out, share_of(g, i, n, s));
        }
    }
}

static bool flag_ok(uint8_t v) { return v <= 1; }

/* Reads a string into s: true when present, false when absent or on error
 * (r->err tells which), s then absent. */
static bool get_sstr(struct buf_reader *r, struct sstr *s)
{
    const char *p;
    size_t n;
    if (!buf_get_strview(r, &p, &n)) {
        sstr_set_null(s);
        return false;
    }
    sstr_set(s, p, n);
    return true;
}

int graph_decode(const uint8_t *data, size_t len, struct graph **out)
{
    struct buf_reader r;
    struct graph *g = NULL;
    int rc = -1;

    *out = NULL;
    buf_reader_init(&r, data, len);
    if (buf_get_u8(&r) != GRAPH_FORMAT_VERSION || r.err)
        goto out;
    g = xcalloc(1, sizeof(*g));
    g->now = buf_get_i64(&r);
    uint8_t has_now = buf_get_u8(&r);
    g->has_now = has_now == 1;
    g->n_events = buf_get_varint(&r);
    uint8_t tier = buf_get_u8(&r);
    uint8_t rated = buf_get_u8(&r);
    g->tier = tier;
    g->rated = rated == 1;
    g->score = buf_get_double(&r);
    g->fit = buf_get_double(&r);
    g->intent = buf_get_double(&r);
    uint64_t n_nodes = buf_get_varint(&r);
    if (r.err || !flag_ok(has_now) || !flag_ok(rated) ||
        tier >= GRAPH_TIER_COUNT || !isfinite(g->score) ||
        !isfinite(g->fit) || !isfinite(g->intent) || n_nodes == 0 ||
        n_nodes > (uint64_t)(r.end - r.p)) /* a node takes > 1 byte */
        goto out;
    g->nodes = xcalloc((size_t)n_nodes, sizeof(*g->nodes));
    g->cap_nodes = (size_t)n_nodes;
    for (uint64_t i = 0; i < n_nodes; i++) {
        struct graph_node *n = &g->nodes[g->n_nodes++];
        uint8_t type = buf_get_u8(&r);
        n->type = type;
        bool has_id = get_sstr(&r, &n->id);
        get_sstr(&r, &n->relation);
        n->edge_weight = buf_get_double(&r);
        n->edge_time = buf_get_i64(&r);
        uint64_t n_sig = buf_get_varint(&r);
        if (r.err || type >= GRAPH_NODE_TYPE_COUNT || !has_id ||
            (i == 0) != (type == GRAPH_NODE_CUSTOMER) ||
            !isfinite(n->edge_weight) || n_sig > (uint64_t)(r.end - r.p))
            goto out;
        if (n_sig) {
            n->signals = xcalloc((size_t)n_sig, sizeof(*n->signals));
            n->cap_signals = (size_t)n_sig;
        }
        for (uint64_t j = 0; j < n_sig; j++) {
            struct graph_signal *s = &n->signals[n->n_signals++];
            bool has_type = get_sstr(&r, &s->type);
            s->value = buf_get_double(&r);
            s->ref = buf_get_i64(&r);
            s->count = buf_get_varint(&r);
            s->value_now = buf_get_double(&r);
            s->contribution = buf_get_double(&r);
            s->spec = -1;
            if (r.err || !has_type || !isfinite(s->value) || s->value < 0 ||
                !isfinite(s->value_now) || !isfinite(s->contribution))
                goto out;
        }
    }
    if (r.err || r.p != r.end) /* trailing bytes: not what we wrote */
        goto out;
    *out = g;
    g = NULL;
    rc = 0;
out:
    graph_free(g);
    return rc;
}
