/*
 * test_lead_rating_ext.c - issue 25 in the lead_rating processor, through
 * the in-memory harness: spare-part order rates against the customer's own
 * baseline (erp.parts-orders), a supplier switch, and the signals the
 * propagation processor sends to a customer becoming graph signals, once
 * each (test_propagation.c has the fan-out).
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

#include "entity_signal.h"
#include "harness.h"
#include "lead_rating.h"

extern const struct processor_ops processor_lead_rating;

#define HOUR 3600000LL
#define DAY (24 * HOUR)
#define T0 1772409600000LL /* 2026-03-02T00:00:00Z */

static int seq;

static struct event base(enum event_kind kind, const char *cust, int64_t t)
{
    static char ids[4096][24];
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    char *id = ids[seq++ % 4096];
    snprintf(id, 24, "ev-%d", seq);
    ev.kind = kind;
    ev.key = cust;
    ev.event_id = id;
    ev.customer_id = cust;
    ev.event_time = t;
    return ev;
}

static int order(struct harness *h, const char *cust, const char *cat,
                 const char *supplier, int qty, int64_t t)
{
    struct event ev = base(EVENT_PARTS_ORDER, cust, t);
    ev.u.parts.part_id = "p-1";
    ev.u.parts.part_category = cat;
    ev.u.parts.supplier_id = supplier;
    ev.u.parts.quantity = qty;
    return harness_feed(h, &ev);
}

static int registry(struct harness *h, const char *cust, enum change_type ct,
                    const char *entity, enum entity_type et, int64_t t)
{
    struct event ev = base(EVENT_REGISTRY, cust, t);
    ev.u.registry.change_type = ct;
    ev.u.registry.entity_id = entity;
    ev.u.registry.entity_type = et;
    return harness_feed(h, &ev);
}

/* The signal `type` on node (nt, id) of cust's graph, or NULL. */
static const struct graph_signal *signal_of(struct harness *h, const char *cust,
                                            enum graph_node_type nt,
                                            const char *id, const char *type)
{
    struct graph *g = harness_state(h, cust);
    if (!g)
        return NULL;
    struct graph_node *n = graph_node_find(g, nt, id);
    for (size_t j = 0; n && j < n->n_signals; j++)
        if (strcmp(sstr_str(&n->signals[j].type), type) == 0)
            return &n->signals[j];
    return NULL;
}

static const char erp_yaml[] =
    "signals:\n"
    "  erp.*.parts_rise: {weight: 40, half_life: 30d, saturation: 100, part: intent}\n"
    "  erp.supplier_switch: {weight: -10, half_life: 60d, saturation: 30, part: intent}\n"
    "annotation_rules: {}\ntranscript_rules: {}\n";

/* A steady order every 10 days for 120 days: no rise. */
static int64_t steady(struct harness *h, const char *cust)
{
    int64_t t = T0;
    for (int i = 0; i < 13; i++, t += 10 * DAY)
        assert_int_equal(order(h, cust, "spare.parts", "sup-1", 2, t), 0);
    return t;
}

static void test_erp_rise_rerates_with_reason(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, erp_yaml);
    int64_t t = steady(h, "c1");
    const struct lr_ext *x = harness_state(h, "c1/ext");
    assert_non_null(x);
    assert_int_equal(x->n_cats, 1);
    assert_string_equal(x->cats[0].category, "spare_parts");
    assert_true(x->cats[0].ratio > 0.6 && x->cats[0].ratio < 1.6);
    assert_int_equal(harness_alert_count(h), 0);
    assert_null(signal_of(h, "c1", GRAPH_NODE_CUSTOMER, "c1",
                          "erp.spare_parts.parts_rise"));

    /* Then six orders in six days: about 5x the steady rate. */
    for (int i = 0; i < 6; i++)
        assert_int_equal(order(h, "c1", "spare.parts", "sup-1", 2,
                               t + i * DAY),
                         0);
    x = harness_state(h, "c1/ext");
    assert_true(x->cats[0].ratio >= 2);
    assert_non_null(signal_of(h, "c1", GRAPH_NODE_CUSTOMER, "c1",
                              "erp.spare_parts.parts_rise"));
    assert_true(harness_alert_count(h) >= 1);
    const struct alert *a = harness_alert(h, harness_alert_count(h) - 1);
    assert_int_equal(a->kind, ALERT_LEAD_RERATING);
    assert_string_equal(a->customer_id, "c1");
    assert_string_equal(a->u.rerating.reasons[0].factor,
                        "erp.spare_parts.parts_rise");
    assert_string_equal(a->u.rerating.reasons[0].node_type, "customer");
    /* Named with its ratio against the customer's own baseline. */
    const char *d = a->u.rerating.reasons[0].detail;
    assert_non_null(d);
    assert_non_null(strstr(d, "spare_parts orders "));
    assert_non_null(strstr(d, "x their 90-day rate"));

    char *json = harness_state_json(h, "c1/ext");
    assert_non_null(strstr(json, "\"text\":\"spare_parts orders "));
    assert_non_null(strstr(json, "x their 90-day rate\""));
    free(json);
    harness_free(h);
}

/* A new customer's first burst is its baseline, not a rise. */
static void test_erp_young_history_is_no_rise(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, erp_yaml);
    for (int i = 0; i < 8; i++)
        assert_int_equal(order(h, "c2", NULL, NULL, 5, T0 + i * HOUR), 0);
    const struct lr_ext *x = harness_state(h, "c2/ext");
    assert_string_equal(x->cats[0].category, "uncategorised");
    assert_true(fabs(x->cats[0].ratio - 1) < 0.1);
    assert_null(signal_of(h, "c2", GRAPH_NODE_CUSTOMER, "c2",
                          "erp.uncategorised.parts_rise"));
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);
}

static void test_erp_supplier_switch(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, erp_yaml);
    assert_int_equal(order(h, "c3", "filters", "sup-1", 1, T0), 0);
    assert_int_equal(order(h, "c3", "filters", "sup-1", 1, T0 + DAY), 0);
    assert_null(signal_of(h, "c3", GRAPH_NODE_COMPETITOR, "sup-2",
                          "erp.supplier_switch"));
    assert_int_equal(order(h, "c3", "filters", "sup-2", 1, T0 + 2 * DAY), 0);
    harness_restart(h);
    const struct graph_signal *s =
        signal_of(h, "c3", GRAPH_NODE_COMPETITOR, "sup-2", "erp.supplier_switch");
    assert_non_null(s);
    assert_int_equal(s->count, 1);
    /* Another category is tracked on its own. */
    assert_int_equal(order(h, "c3", "belts", "sup-1", 1, T0 + 3 * DAY), 0);
    const struct lr_ext *x = harness_state(h, "c3/ext");
    assert_int_equal(x->n_cats, 2);
    assert_string_equal(x->cats[0].supplier, "sup-2");
    harness_free(h);
}

static const char prop_yaml[] =
    "signals:\n"
    "  entity.SUPPLIER.BANKRUPTCY: {weight: 300, half_life: 90d, saturation: 100, part: intent}\n"
    "annotation_rules: {}\ntranscript_rules: {}\n";

/* A record of the propagation processor's repartition topic, as the
 * runtime hands it to lead_rating (repartition_from). */
static int propagated(struct harness *h, const char *cust, const void *data,
                      size_t len, int64_t offset, int64_t t)
{
    struct event ev = base(EVENT_REPARTITION, NULL, t);
    ev.key = cust;
    ev.u.repartition.data = data;
    ev.u.repartition.len = len;
    ev.u.repartition.origin =
        (struct event_source){"g-propagation-repartition", 0, offset};
    return harness_feed(h, &ev);
}

static void test_propagated_signal_rerates(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, prop_yaml);
    assert_int_equal(registry(h, "c1", CHANGE_SUPPLIER_LINKED, "sup-x",
                              ENTITY_SUPPLIER, T0), 0);
    harness_clear_alerts(h);

    struct buf b;
    buf_init(&b);
    struct entity_signal s = {.entity_id = "sup-x",
                              .entity_type = ENTITY_SUPPLIER,
                              .change = "BANKRUPTCY",
                              .relation = "SUPPLIER_LINKED"};
    entity_signal_encode(&s, &b);
    assert_int_equal(propagated(h, "c1", b.data, b.len, 7, T0 + DAY), 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = harness_alert(h, 0);
    assert_string_equal(a->customer_id, "c1");
    const struct lead_rerating *r = &a->u.rerating;
    assert_string_equal(r->reasons[0].factor, "entity.SUPPLIER.BANKRUPTCY");
    assert_string_equal(r->reasons[0].node_type, "supplier");
    assert_string_equal(r->reasons[0].node_id, "sup-x");
    assert_true(r->reasons[0].contribution > 0);
    assert_null(r->reasons[0].detail);

    /* A copy re-sent after a crash (same origin and seq) counts once,
     * across a restart too. */
    harness_restart(h);
    assert_int_equal(propagated(h, "c1", b.data, b.len, 7, T0 + DAY), 0);
    const struct graph_signal *g = signal_of(h, "c1", GRAPH_NODE_SUPPLIER,
                                             "sup-x", "entity.SUPPLIER.BANKRUPTCY");
    assert_non_null(g);
    assert_int_equal(g->count, 1);

    /* A supplier the graph no longer has is linked again by the signal. */
    assert_int_equal(registry(h, "c2", CHANGE_EQUITY_CHANGE, "c2",
                              ENTITY_COMPANY, T0), 0);
    assert_int_equal(propagated(h, "c2", b.data, b.len, 8, T0 + DAY), 0);
    assert_non_null(signal_of(h, "c2", GRAPH_NODE_SUPPLIER, "sup-x",
                              "entity.SUPPLIER.BANKRUPTCY"));

    /* propagation's other records are not lead_rating's business; bad
     * signal bytes are refused. */
    const uint8_t link[] = {'L', 0};
    assert_int_equal(propagated(h, "sup-x", link, sizeof(link), 9, T0), 0);
    assert_null(harness_state(h, "sup-x"));
    const uint8_t bad[] = {'S', 1, 2};
    assert_int_equal(propagated(h, "c1", bad, sizeof(bad), 10, T0), -1);
    buf_free(&b);
    harness_free(h);
}

/* An ext object's bytes cut anywhere are refused. */
static void test_corrupt_ext_refused(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, erp_yaml);
    assert_int_equal(order(h, "c9", "filters", "sup-1", 1, T0), 0);
    struct buf b;
    buf_init(&b);
    processor_lead_rating.state_encode(harness_state(h, "c9/ext"), &b);
    void *st = NULL;
    assert_int_equal(processor_lead_rating.state_decode("c9/ext", b.data, b.len,
                                                        &st), 0);
    processor_lead_rating.state_free(st);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(processor_lead_rating.state_decode("c9/ext", b.data, n,
                                                            &st), -1);
    buf_free(&b);
    harness_free(h);
}

static void test_config_refused(void **unused)
{
    (void)unused;
    char errs[2048];
    assert_int_equal(harness_config_check(&processor_lead_rating,
                                          "erp: {window: 90d, baseline: 30d}\n",
                                          errs, sizeof(errs)),
                     -1);
    assert_non_null(strstr(errs, "baseline must be longer than window"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_erp_rise_rerates_with_reason),
        cmocka_unit_test(test_erp_young_history_is_no_rise),
        cmocka_unit_test(test_erp_supplier_switch),
        cmocka_unit_test(test_propagated_signal_rerates),
        cmocka_unit_test(test_corrupt_ext_refused),
        cmocka_unit_test(test_config_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
