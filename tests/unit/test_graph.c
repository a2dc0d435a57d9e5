/*
 * test_graph.c - the lead_rating graph and scoring math, without a runtime:
 * decay, saturation, propagation, hysteresis, pruning, caps, encoding, and
 * order independence over random permutations.
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

#include "graph.h"

#define HOUR 3600000LL
#define DAY (24 * HOUR)

static struct graph_signal_spec specs[] = {
    {"registry.CAPACITY_EXPANSION", 60, 180 * DAY, 70, GRAPH_PART_FIT},
    {"registry.CONTACT_LEFT", -20, 90 * DAY, 40, GRAPH_PART_INTENT},
    {"iot.vibration_anomaly.CRITICAL", 15, 14 * DAY, 60, GRAPH_PART_INTENT},
    {"iot.*.INFO", 1, 7 * DAY, 6, GRAPH_PART_INTENT},
    {"linear.fit", 1, 10 * DAY, 1e9, GRAPH_PART_FIT},
    {"linear.intent", 1, 10 * DAY, 1e9, GRAPH_PART_INTENT},
};

static struct graph_params params(void)
{
    struct graph_params p = {
        .specs = specs,
        .n_specs = sizeof(specs) / sizeof(specs[0]),
        .hop_decay = 0.5,
        .part_weight = {0.4, 0.6},
        .cuts = {70, 45, 20},
        .hysteresis = 5,
        .node_cap = 8,
        .signal_cap = 4,
        .prune_floor = 0.01,
    };
    for (int t = 0; t < GRAPH_NODE_TYPE_COUNT; t++)
        p.edge_weight[t] = 0.8;
    p.edge_weight[GRAPH_NODE_CUSTOMER] = 1;
    return p;
}

static void assert_close(double a, double b, double rel)
{
    double d = fabs(a - b);
    double m = fmax(fabs(a), fabs(b));
    if (d > rel * (m > 1 ? m : 1))
        fail_msg("%.17g != %.17g (rel %.3g)", a, b, rel);
}

static void test_decay(void **unused)
{
    (void)unused;
    assert_close(graph_decay(8, 0, 3 * HOUR, HOUR), 1, 1e-12);
    assert_close(graph_decay(1, 3 * HOUR, 0, HOUR), 8, 1e-12);
    assert_close(graph_decay(5, 10, 10, HOUR), 5, 0);

    /* Adding at t updates value and reference; value_at(t) is the sum of
     * every amount decayed to t. */
    struct graph_params p = params();
    struct graph *g = graph_new("C1");
    struct graph_node *c = &g->nodes[0];
    assert_int_equal(graph_signal_add(g, &p, c, "linear.fit", 4, 0), 0);
    assert_int_equal(graph_signal_add(g, &p, c, "linear.fit", 1, 10 * DAY), 0);
    assert_close(c->signals[0].value, 3, 1e-12);
    assert_int_equal(c->signals[0].ref, 10 * DAY);
    /* Older than the reference: added decayed forward, ref unchanged. */
    assert_int_equal(graph_signal_add(g, &p, c, "linear.fit", 2, 0), 0);
    assert_close(c->signals[0].value, 4, 1e-12);
    assert_int_equal(c->signals[0].ref, 10 * DAY);
    assert_int_equal(c->signals[0].count, 3);
    /* Unconfigured types are not recorded. */
    assert_int_equal(graph_signal_add(g, &p, c, "nope", 1, 0), -1);
    assert_int_equal(c->n_signals, 1);
    graph_free(g);
}

static void test_saturation(void **unused)
{
    (void)unused;
    /* Slope ~ weight near zero, bounded by the saturation, monotone. */
    assert_close(graph_saturate(2, 1000, 0.001), 0.002, 1e-5);
    double prev = 0;
    for (double v = 0.5; v <= 1e6; v *= 2) {
        double c = graph_saturate(2, 6, v);
        assert_true(v > 64 ? c >= prev : c > prev);
        assert_true(c <= 6);
        prev = c;
    }
    assert_close(graph_saturate(2, 6, 1e6), 6, 1e-12);
    assert_close(graph_saturate(-20, 40, 1e6), -40, 1e-12);
    assert_true(graph_saturate(5, 10, 0) == 0);

    /* A thousand INFO alerts on many devices still cap at the saturation:
     * it applies to the spec, not per node. */
    struct graph_params p = params();
    p.node_cap = 1000;
    p.part_weight[GRAPH_PART_FIT] = 0;
    p.part_weight[GRAPH_PART_INTENT] = 1;
    struct graph *g = graph_new("C1");
    char id[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "dev-%d", i % 50);
        struct graph_node *n =
            graph_link(g, &p, GRAPH_NODE_DEVICE, id, "IOT_DEVICE", i * 1000);
        graph_observe(g, i * 1000);
        assert_int_equal(
            graph_signal_add(g, &p, n, "iot.noise.INFO", 1, i * 1000), 0);
    }
    graph_maintain(g, &p);
    assert_true(g->intent <= 6 + 1e-9);
    assert_true(g->intent > 5.9);
    assert_true(g->score <= 6 + 1e-9);
    graph_free(g);
}

static void check_lookups(const struct graph_params *p)
{
    assert_string_equal(graph_spec_find(p, "iot.noise.INFO")->name, "iot.*.INFO");
    assert_string_equal(graph_spec_find(p, "iot.vibration_anomaly.CRITICAL")->name,
                        "iot.vibration_anomaly.CRITICAL");
    assert_null(graph_spec_find(p, "iot.noise.WARNING"));
    assert_null(graph_spec_find(p, "iot.INFO"));
    assert_null(graph_spec_find(p, "other.x.INFO"));
    assert_null(graph_spec_find(p, "iot.*"));
    /* A middle too long for the index's key buffer still finds it. */
    char longer[300] = "iot.";
    memset(longer + 4, 'x', 250);
    strcpy(longer + 254, ".INFO");
    assert_string_equal(graph_spec_find(p, longer)->name, "iot.*.INFO");
}

static void test_wildcard_lookup(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    check_lookups(&p);
    graph_params_index(&p);
    assert_non_null(p.spec_by_name);
    check_lookups(&p);
    graph_params_unindex(&p);
    assert_null(p.spec_by_name);
}

static void test_lookup_first_of_equal_names(void **unused)
{
    (void)unused;
    struct graph_signal_spec dup[] = {
        {"a.b", 1, DAY, 1, GRAPH_PART_FIT},
        {"a.*.c", 2, DAY, 1, GRAPH_PART_FIT},
        {"a.b", 3, DAY, 1, GRAPH_PART_FIT},
        {"a.*.c", 4, DAY, 1, GRAPH_PART_FIT},
    };
    struct graph_params p = {.specs = dup, .n_specs = 4};
    for (int indexed = 0; indexed < 2; indexed++) {
        if (indexed)
            graph_params_index(&p);
        assert_ptr_equal(graph_spec_find(&p, "a.b"), &dup[0]);
        assert_ptr_equal(graph_spec_find(&p, "a.x.c"), &dup[1]);
    }
    graph_params_unindex(&p);
}

static void test_propagation(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    p.part_weight[GRAPH_PART_FIT] = 1;
    p.part_weight[GRAPH_PART_INTENT] = 0;
    p.edge_weight[GRAPH_NODE_SUPPLIER] = 0.6;

    /* Same signal on the customer, then on a supplier: far from
     * saturation the neighbour gives edge weight x hop decay of it. */
    struct graph *a = graph_new("C1");
    graph_observe(a, 0);
    graph_signal_add(a, &p, &a->nodes[0], "linear.fit", 10, 0);
    graph_maintain(a, &p);
    assert_close(a->score, 10, 1e-6);

    struct graph *b = graph_new("C1");
    graph_observe(b, 0);
    struct graph_node *s = graph_link(b, &p, GRAPH_NODE_SUPPLIER, "S1",
                                      "SUPPLIER_LINKED", 0);
    graph_signal_add(b, &p, s, "linear.fit", 10, 0);
    graph_maintain(b, &p);
    assert_close(b->score, 10 * 0.6 * 0.5, 1e-6);
    assert_int_equal(b->n_nodes, 2);
    assert_close(graph_contribution(b, 1, 0), 3, 1e-6);
    assert_string_equal(sstr_str(&b->nodes[1].relation), "SUPPLIER_LINKED");
    assert_close(b->nodes[1].edge_weight, 0.6, 0);

    /* Linking the customer's own id hits the customer node. */
    assert_ptr_equal(graph_link(b, &p, GRAPH_NODE_COMPANY, "C1", "X", 0),
                     &b->nodes[0]);
    assert_int_equal(b->n_nodes, 2);

    /* Unlinking removes the node and its contribution. */
    assert_int_equal(graph_unlink(b, GRAPH_NODE_SUPPLIER, "S1"), 0);
    assert_int_equal(graph_unlink(b, GRAPH_NODE_SUPPLIER, "S1"), -1);
    assert_int_equal(graph_unlink(b, GRAPH_NODE_CUSTOMER, "C1"), -1);
    graph_maintain(b, &p);
    assert_true(b->score == 0);
    graph_free(a);
    graph_free(b);
}

static void test_fit_intent_and_factors(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    struct graph *g = graph_new("C1");
    graph_observe(g, 0);
    graph_signal_add(g, &p, &g->nodes[0], "linear.fit", 50, 0);
    graph_signal_add(g, &p, &g->nodes[0], "linear.intent", 30, 0);
    struct graph_node *c =
        graph_link(g, &p, GRAPH_NODE_CONTACT, "P1", "CONTACT_LEFT", 0);
    graph_signal_add(g, &p, c, "registry.CONTACT_LEFT", 1, 0);
    graph_maintain(g, &p);

    double left = graph_saturate(-20, 40, 0.8 * 0.5);
    assert_close(g->fit, 50, 1e-6);
    assert_close(g->intent, 30 + left, 1e-6);
    assert_close(g->score, 0.4 * 50 + 0.6 * (30 + left), 1e-6);

    struct graph_factor f[5];
    size_t n = graph_factors(g, f, 5);
    assert_int_equal(n, 3);
    assert_string_equal(f[0].factor, "linear.fit");
    assert_close(f[0].contribution, 20, 1e-6);
    assert_string_equal(f[1].factor, "linear.intent");
    assert_close(f[1].contribution, 18, 1e-6);
    assert_string_equal(f[2].factor, "registry.CONTACT_LEFT");
    assert_string_equal(f[2].node_type, "contact");
    assert_string_equal(f[2].node_id, "P1");
    assert_true(f[2].contribution < 0);
    assert_close(f[2].contribution, 0.6 * left, 1e-6);
    /* The factors add up to the score (no part clamped here). */
    assert_close(f[0].contribution + f[1].contribution + f[2].contribution,
                 g->score, 1e-9);
    assert_int_equal(graph_factors(g, f, 1), 1);

    /* An overflowing part is clamped and its factors scaled to match. */
    graph_signal_add(g, &p, &g->nodes[0], "linear.fit", 150, 0);
    graph_maintain(g, &p);
    assert_close(g->fit, 100, 0);
    n = graph_factors(g, f, 5);
    double fit_pts = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].factor, "linear.fit") == 0)
            fit_pts += f[i].contribution;
    assert_close(fit_pts, 40, 1e-9);
    graph_free(g);
}

static void test_hysteresis(void **unused)
{
    (void)unused;
    struct graph_params p = params(); /* cuts 70/45/20, band 5 */
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_D, 0), GRAPH_TIER_D);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_D, 22.4), GRAPH_TIER_D);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_D, 22.5), GRAPH_TIER_C);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_D, 80), GRAPH_TIER_A);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_D, 72), GRAPH_TIER_B);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_B, 72), GRAPH_TIER_B);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_B, 72.5), GRAPH_TIER_A);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_B, 42.5), GRAPH_TIER_B);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_B, 42.4), GRAPH_TIER_C);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_A, 44), GRAPH_TIER_B);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_A, 10), GRAPH_TIER_D);
    assert_int_equal(graph_tier_next(&p, GRAPH_TIER_A, 17.6), GRAPH_TIER_C);

    /* A score wandering +-2 around the B cut never flaps once in B. */
    int tier = GRAPH_TIER_D, changes = 0;
    for (int i = 0; i < 1000; i++) {
        double s = 45 + 2 * sin(i * 0.37);
        if (i == 0)
            s = 48; /* enter B cleanly */
        int next = graph_tier_next(&p, tier, s);
        if (next != tier)
            changes++;
        tier = next;
    }
    assert_int_equal(tier, GRAPH_TIER_B);
    assert_int_equal(changes, 1);

    /* Without hysteresis the same walk flaps. */
    p.hysteresis = 0;
    tier = GRAPH_TIER_D;
    changes = 0;
    for (int i = 0; i < 1000; i++) {
        int next = graph_tier_next(&p, tier, 45 + 2 * sin(i * 0.37));
        changes += next != tier;
        tier = next;
    }
    assert_true(changes > 10);
}

static void test_pruning(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    struct graph *g = graph_new("C1");
    graph_observe(g, 0);
    struct graph_node *d =
        graph_link(g, &p, GRAPH_NODE_DEVICE, "D1", "IOT_DEVICE", 0);
    graph_signal_add(g, &p, d, "iot.noise.INFO", 1, 0);
    graph_signal_add(g, &p, &g->nodes[0], "registry.CAPACITY_EXPANSION", 1, 0);
    graph_maintain(g, &p);
    assert_int_equal(g->n_nodes, 2);
    assert_int_equal(graph_signal_count(g), 2);

    /* 7 half-lives of the INFO spec: 1/128 < 0.01 floor; the capacity
     * signal (half-life 180 d) stays. The empty device node goes too. */
    graph_observe(g, 49 * DAY);
    graph_maintain(g, &p);
    assert_int_equal(g->n_nodes, 1);
    assert_int_equal(graph_signal_count(g), 1);
    assert_string_equal(sstr_str(&g->nodes[0].signals[0].type), "registry.CAPACITY_EXPANSION");
    assert_close(g->nodes[0].signals[0].value_now, exp2(-49.0 / 180), 1e-12);

    /* A type dropped from the config is dropped from the graph. */
    struct graph_params q = p;
    q.n_specs = 0;
    graph_maintain(g, &q);
    assert_int_equal(graph_signal_count(g), 0);
    assert_true(g->score == 0);
    graph_free(g);
}

static void test_caps(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    p.node_cap = 3;
    struct graph *g = graph_new("C1");
    graph_observe(g, 0);
    char id[16];
    /* Contact k carries k units: the weakest must be evicted first. */
    for (int k = 1; k <= 6; k++) {
        snprintf(id, sizeof(id), "P%d", k);
        struct graph_node *n =
            graph_link(g, &p, GRAPH_NODE_CONTACT, id, "CONTACT_JOINED", 0);
        graph_signal_add(g, &p, n, "linear.intent", k, 0);
        graph_maintain(g, &p);
        assert_true(g->n_nodes - 1 <= 3);
    }
    assert_int_equal(g->n_nodes, 4);
    assert_non_null(graph_node_find(g, GRAPH_NODE_CONTACT, "P4"));
    assert_non_null(graph_node_find(g, GRAPH_NODE_CONTACT, "P5"));
    assert_non_null(graph_node_find(g, GRAPH_NODE_CONTACT, "P6"));
    assert_null(graph_node_find(g, GRAPH_NODE_CONTACT, "P3"));
    /* The score reflects only what was kept. */
    assert_close(g->intent, (4 + 5 + 6) * 0.8 * 0.5, 1e-6);

    /* Signal cap per node: the customer keeps its 4 strongest. */
    static struct graph_signal_spec many[8];
    static char names[8][16];
    for (int i = 0; i < 8; i++) {
        snprintf(names[i], sizeof(names[i]), "s.%d", i);
        many[i] = (struct graph_signal_spec){names[i], 1, DAY, 1e9,
                                             GRAPH_PART_FIT};
    }
    struct graph_params q = params();
    q.specs = many;
    q.n_specs = 8;
    struct graph *h = graph_new("C2");
    graph_observe(h, 0);
    for (int i = 0; i < 8; i++)
        graph_signal_add(h, &q, &h->nodes[0], names[i], i + 1, 0);
    graph_maintain(h, &q);
    assert_int_equal(h->nodes[0].n_signals, 4);
    for (size_t j = 0; j < 4; j++)
        assert_true(h->nodes[0].signals[j].value >= 5);
    graph_free(g);
    graph_free(h);
}

static struct graph *sample_graph(const struct graph_params *p)
{
    struct graph *g = graph_new("acme");
    graph_observe(g, 5 * DAY);
    graph_signal_add(g, p, &g->nodes[0], "registry.CAPACITY_EXPANSION", 1, 0);
    struct graph_node *d =
        graph_link(g, p, GRAPH_NODE_DEVICE, "mri-1", "IOT_DEVICE", 2 * DAY);
    graph_signal_add(g, p, d, "iot.vibration_anomaly.CRITICAL", 3, 2 * DAY);
    struct graph_node *c =
        graph_link(g, p, GRAPH_NODE_CONTACT, "li", "CONTACT_LEFT", 5 * DAY);
    graph_signal_add(g, p, c, "registry.CONTACT_LEFT", 1, 5 * DAY);
    graph_maintain(g, p);
    g->tier = GRAPH_TIER_C;
    g->rated = true;
    g->n_events = 3;
    return g;
}

static void test_encode_roundtrip(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    struct graph *g = sample_graph(&p);
    struct buf a, b;
    buf_init(&a);
    buf_init(&b);
    graph_encode(g, &a);

    struct graph *d = NULL;
    assert_int_equal(graph_decode(a.data, a.len, &d), 0);
    assert_non_null(d);
    graph_encode(d, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_int_equal(d->n_nodes, 3);
    assert_int_equal(d->tier, GRAPH_TIER_C);
    assert_true(d->rated);
    assert_true(d->score == g->score);
    assert_string_equal(sstr_str(&d->nodes[1].id), "mri-1");
    assert_string_equal(sstr_str(&d->nodes[1].relation), "IOT_DEVICE");
    assert_null(sstr_str(&d->nodes[0].relation));
    /* Rescoring a decoded graph gives the same score. */
    graph_maintain(d, &p);
    assert_close(d->score, g->score, 1e-12);
    graph_free(d);

    /* Every truncation is refused, as are trailing bytes, an unknown
     * version and out-of-range fields. */
    for (size_t n = 0; n < a.len; n++) {
        d = NULL;
        assert_int_equal(graph_decode(a.data, n, &d), -1);
        assert_null(d);
    }
    buf_reset(&b);
    buf_append(&b, a.data, a.len);
    buf_put_u8(&b, 0);
    assert_int_equal(graph_decode(b.data, b.len, &d), -1);

    b.len = a.len; /* back to the valid bytes, then a bad version */
    b.data[0] = 2;
    assert_int_equal(graph_decode(b.data, b.len, &d), -1);
    b.data[0] = a.data[0];
    /* Byte 0 version, then now (varint), has_now, n_events, tier. */
    size_t tier_at = 1;
    while (b.data[tier_at] & 0x80)
        tier_at++;
    tier_at += 3; /* end of now, has_now, n_events (1 byte: 3) */
    assert_int_equal(b.data[tier_at], GRAPH_TIER_C);
    b.data[tier_at] = 9;
    assert_int_equal(graph_decode(b.data, b.len, &d), -1);
    b.data[tier_at] = GRAPH_TIER_C;
    assert_int_equal(graph_decode(b.data, b.len, &d), 0);
    graph_free(d);

    /* Random corruption never crashes; whatever decodes re-encodes. */
    srand(7);
    for (int i = 0; i < 2000; i++) {
        memcpy(b.data, a.data, a.len);
        size_t at = (size_t)rand() % a.len;
        b.data[at] ^= (uint8_t)(1 + rand() % 255);
        d = NULL;
        if (graph_decode(b.data, b.len, &d) == 0) {
            struct buf c;
            buf_init(&c);
            graph_encode(d, &c);
            assert_true(c.len > 0);
            buf_free(&c);
        }
        graph_free(d);
    }
    buf_free(&a);
    buf_free(&b);
    graph_free(g);
}

/* ---- order independence --------------------------------------------- */

struct ev {
    enum graph_node_type type;
    char id[16];
    const char *signal;
    double amount;
    int64_t t;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* What the random-event tests draw from. */
static const char *const sigs[] = {
    "registry.CAPACITY_EXPANSION", "registry.CONTACT_LEFT",
    "iot.vibration_anomaly.CRITICAL", "iot.noise.INFO", "linear.fit",
    "linear.intent"};
static const enum graph_node_type types[] = {
    GRAPH_NODE_CUSTOMER, GRAPH_NODE_DEVICE, GRAPH_NODE_CONTACT,
    GRAPH_NODE_SUPPLIER};

static struct graph *apply(const struct graph_params *p, const struct ev *evs,
                           const size_t *order, size_t n)
{
    struct graph *g = graph_new("C1");
    for (size_t i = 0; i < n; i++) {
        const struct ev *e = &evs[order[i]];
        graph_observe(g, e->t);
        struct graph_node *nd = graph_link(g, p, e->type, e->id, e->signal, e->t);
        assert_int_equal(graph_signal_add(g, p, nd, e->signal, e->amount, e->t), 0);
        graph_maintain(g, p);
    }
    return g;
}

static void test_order_independence(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    p.node_cap = 100; /* caps and pruning are order dependent by nature */
    p.signal_cap = 100;
    enum { N = 150, PERMS = 40 };
    struct ev evs[N];
    size_t order[N];

    for (size_t i = 0; i < N; i++) {
        evs[i].type = types[rng() % 4];
        snprintf(evs[i].id, sizeof(evs[i].id), "n%u", (unsigned)(rng() % 5));
        evs[i].signal = sigs[rng() % 6];
        evs[i].amount = 1 + (double)(rng() % 4);
        evs[i].t = (int64_t)(rng() % (uint64_t)(10 * DAY));
        order[i] = i;
    }
    struct graph *ref = apply(&p, evs, order, N);
    assert_true(ref->score > 0);
    for (int k = 0; k < PERMS; k++) {
        for (size_t i = N - 1; i > 0; i--) {
            size_t j = (size_t)(rng() % (i + 1));
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        struct graph *g = apply(&p, evs, order, N);
        assert_close(g->score, ref->score, 1e-9);
        assert_close(g->fit, ref->fit, 1e-9);
        assert_close(g->intent, ref->intent, 1e-9);
        assert_int_equal(g->n_nodes, ref->n_nodes);
        assert_int_equal(graph_signal_count(g), graph_signal_count(ref));
        assert_int_equal(g->now, ref->now);
        graph_free(g);
    }
    graph_free(ref);
}

/* graph_maintain() reuses the values prune() decayed instead of decaying
 * again; a fresh graph_rescore() afterwards must give exactly the same
 * score and contributions, with caps biting (so the second rescore after
 * eviction runs too). */
static void test_maintain_equals_fresh_rescore(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    p.node_cap = 3;
    p.signal_cap = 2;
    struct graph *g = graph_new("C1");
    for (int i = 0; i < 400; i++) {
        char id[16];
        snprintf(id, sizeof(id), "n%u", (unsigned)(rng() % 7));
        int64_t t = (int64_t)(rng() % (uint64_t)(30 * DAY));
        const char *sig = sigs[rng() % 6];
        graph_observe(g, t);
        struct graph_node *nd =
            graph_link(g, &p, types[rng() % 4], id, sig, t);
        graph_signal_add(g, &p, nd, sig, 1 + (double)(rng() % 4), t);
        graph_maintain(g, &p);

        double score = g->score, fit = g->fit, intent = g->intent;
        double contrib[64];
        size_t n = 0;
        for (size_t a = 0; a < g->n_nodes; a++)
            for (size_t b = 0; b < g->nodes[a].n_signals && n < 64; b++)
                contrib[n++] = graph_contribution(g, a, b);
        graph_rescore(g, &p);
        assert_true(g->score == score); /* bit for bit */
        assert_true(g->fit == fit);
        assert_true(g->intent == intent);
        size_t m = 0;
        for (size_t a = 0; a < g->n_nodes; a++)
            for (size_t b = 0; b < g->nodes[a].n_signals && m < 64; b++)
                assert_true(graph_contribution(g, a, b) == contrib[m++]);
        assert_int_equal(m, n);
    }
    assert_true(g->n_nodes <= 4);
    graph_free(g);
}

/* Shares are kept per spec until read: each signal's must still be the
 * eager split of its spec's saturated total (its part scaled down when
 * over 100), whether read directly, settled into the signals, or encoded
 * and decoded. A large graph, as a hot customer's, with every spec, a
 * negative one and an overflowing part. */
static void test_shares_are_the_eager_split(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    p.node_cap = 40;
    p.signal_cap = 6;
    struct graph *g = graph_new("C1");
    const char *all[] = {"registry.CAPACITY_EXPANSION", "registry.CONTACT_LEFT",
                         "iot.vibration_anomaly.CRITICAL", "iot.pump.INFO",
                         "linear.fit", "linear.intent"};
    for (int i = 0; i < 600; i++) {
        char id[16];
        snprintf(id, sizeof(id), "n%u", (unsigned)(rng() % 30));
        int64_t t = (int64_t)(rng() % (uint64_t)(20 * DAY));
        graph_observe(g, t);
        struct graph_node *nd = graph_link(g, &p, types[rng() % 4], id, "R", t);
        graph_signal_add(g, &p, nd, all[rng() % 6], 1 + (double)(rng() % 40), t);
    }
    graph_maintain(g, &p);
    assert_true(graph_signal_count(g) > 100);
    assert_close(g->fit, 100, 0); /* linear.fit overflows its part */

    /* The reference: the split computed signal by signal. */
    double sum[6] = {0}, part_raw[GRAPH_PART_COUNT] = {0};
    for (size_t a = 0; a < g->n_nodes; a++)
        for (size_t b = 0; b < g->nodes[a].n_signals; b++) {
            const struct graph_signal *s = &g->nodes[a].signals[b];
            int k = (int)(graph_spec_find(&p, sstr_str(&s->type)) - specs);
            double prop = a == 0 ? 1 : g->nodes[a].edge_weight * p.hop_decay;
            assert_close(s->value_now,
                         graph_decay(s->value, s->ref, g->now, specs[k].half_life),
                         1e-12);
            sum[k] += s->value_now * prop;
        }
    double total[6];
    for (int k = 0; k < 6; k++) {
        total[k] = graph_saturate(specs[k].weight, specs[k].saturation, sum[k]);
        part_raw[specs[k].part] += total[k];
    }
    double wsum = p.part_weight[0] + p.part_weight[1], points = 0;
    struct buf enc = {0};
    graph_encode(g, &enc);
    struct graph *d = NULL;
    assert_int_equal(graph_decode(enc.data, enc.len, &d), 0);
    for (size_t a = 0; a < g->n_nodes; a++)
        for (size_t b = 0; b < g->nodes[a].n_signals; b++) {
            const struct graph_signal *s = &g->nodes[a].signals[b];
            int k = (int)(graph_spec_find(&p, sstr_str(&s->type)) - specs);
            int part = specs[k].part;
            double prop = a == 0 ? 1 : g->nodes[a].edge_weight * p.hop_decay;
            double scale = p.part_weight[part] / wsum *
                           (part_raw[part] > 100 ? 100 / part_raw[part] : 1);
            double want = total[k] * (s->value_now * prop) / sum[k] * scale;
            double got = graph_contribution(g, a, b);
            assert_close(got, want, 1e-12);
            assert_true(graph_contribution(d, a, b) == got);
            points += got;
        }
    assert_close(points, g->score, 1e-9);
    graph_settle(g);
    for (size_t a = 0; a < g->n_nodes; a++)
        for (size_t b = 0; b < g->nodes[a].n_signals; b++)
            assert_true(g->nodes[a].signals[b].contribution ==
                        d->nodes[a].signals[b].contribution);
    buf_free(&enc);
    graph_free(d);
    graph_free(g);
}

/* The prefetch hint reads the graph in bounds (ASan checks the loads),
 * also with no signals and with more nodes than it looks at. */
static void test_prefetch_reads_in_bounds(void **unused)
{
    (void)unused;
    struct graph_params p = params();
    struct graph *g = graph_new("C1");
    graph_prefetch(g, 0);
    graph_prefetch(g, 1);
    char id[16];
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof(id), "D%d", i);
        struct graph_node *n =
            graph_link(g, &p, GRAPH_NODE_DEVICE, id, "IOT_DEVICE", 1000 + i);
        if (i % 2)
            graph_signal_add(g, &p, n, "iot.noise.INFO", 1, 1000 + i);
    }
    assert_int_equal(g->n_nodes, 13);
    graph_prefetch(g, 0);
    graph_prefetch(g, 1);
    graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decay),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_wildcard_lookup),
        cmocka_unit_test(test_lookup_first_of_equal_names),
        cmocka_unit_test(test_propagation),
        cmocka_unit_test(test_fit_intent_and_factors),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_order_independence),
        cmocka_unit_test(test_maintain_equals_fresh_rescore),
        cmocka_unit_test(test_shares_are_the_eager_split),
        cmocka_unit_test(test_prefetch_reads_in_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
