/*
 * test_propagation.c - the propagation processor through the in-memory
 * harness, which hands every repartitioned record back: links reach the
 * entity's index, news reaches exactly the linked customers' inboxes,
 * once each (a re-sent copy, a restart), unlinking stops it, a customer
 * linked later gets only later news (or the latest with retroactive), and
 * max_fanout holds for an entity linked to 10,000 customers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "propagation.h"

extern const struct processor_ops processor_propagation;

#define HOUR 3600000LL
#define DAY (24 * HOUR)
#define T0 1772409600000LL /* 2026-03-02T00:00:00Z */

static int seq;

static struct event base(enum event_kind kind, const char *key, int64_t t)
{
    static char ids[4096][24];
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    char *id = ids[seq++ % 4096];
    snprintf(id, 24, "ev-%d", seq);
    ev.kind = kind;
    ev.key = key;
    ev.event_id = id;
    ev.event_time = t;
    return ev;
}

static int registry(struct harness *h, const char *cust, enum change_type ct,
                    const char *entity, enum entity_type et, int64_t t)
{
    struct event ev = base(EVENT_REGISTRY, cust, t);
    ev.customer_id = cust;
    ev.u.registry.change_type = ct;
    ev.u.registry.entity_id = entity;
    ev.u.registry.entity_type = et;
    return harness_feed(h, &ev);
}

static int news(struct harness *h, const char *entity, enum entity_type et,
                const char *change, int64_t t)
{
    struct event ev = base(EVENT_ENTITY, entity, t);
    ev.u.entity.entity_id = entity;
    ev.u.entity.entity_type = et;
    ev.u.entity.change = change;
    ev.u.entity.has_magnitude = true;
    ev.u.entity.magnitude = 0.15;
    ev.u.entity.title = "price cut";
    return harness_feed(h, &ev);
}

static const struct pg_entity *index_of(struct harness *h, const char *entity)
{
    char key[128];
    snprintf(key, sizeof(key), "%s/entity", entity);
    return harness_state(h, key);
}

/* Signals of `entity` in cust's inbox. */
static size_t received(struct harness *h, const char *cust, const char *entity)
{
    char key[128];
    snprintf(key, sizeof(key), "%s/inbox", cust);
    const struct pg_inbox *in = harness_state(h, key);
    size_t n = 0;
    for (size_t i = 0; in && i < in->n; i++)
        n += strcmp(in->v[i].entity_id, entity) == 0;
    return n;
}

static const char yaml[] = "enabled: true\nmax_fanout: 100\n";

static void test_price_cut_reaches_exactly_the_linked(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_propagation, yaml);
    assert_int_equal(registry(h, "c1", CHANGE_COMPETITOR_LINKED, "rival",
                              ENTITY_COMPETITOR, T0), 0);
    harness_set_partition(h, 1);
    assert_int_equal(registry(h, "c2", CHANGE_COMPETITOR_LINKED, "rival",
                              ENTITY_COMPETITOR, T0), 0);
    assert_int_equal(registry(h, "c3", CHANGE_COMPETITOR_LINKED, "other",
                              ENTITY_COMPETITOR, T0), 0);
    assert_int_equal(registry(h, "c4", CHANGE_COMPETITOR_LINKED, "rival",
                              ENTITY_COMPETITOR, T0), 0);
    assert_int_equal(registry(h, "c4", CHANGE_RELATION_REMOVED, "rival",
                              ENTITY_COMPETITOR, T0 + HOUR), 0);
    /* Contacts have no news: not indexed. */
    assert_int_equal(registry(h, "c5", CHANGE_CONTACT_JOINED, "rival",
                              ENTITY_CONTACT, T0), 0);
    harness_restart(h);

    const struct pg_entity *e = index_of(h, "rival");
    assert_non_null(e);
    assert_int_equal(e->n_links, 2);
    assert_string_equal(e->links[0].customer_id, "c1");
    assert_string_equal(e->links[0].relation, "COMPETITOR_LINKED");
    assert_string_equal(e->links[1].customer_id, "c2");
    assert_int_equal(e->entity_type, ENTITY_COMPETITOR);

    size_t before = harness_repartitioned(h);
    assert_int_equal(news(h, "rival", ENTITY_COMPETITOR, "PRICE_CUT", T0 + DAY), 0);
    assert_int_equal(harness_repartitioned(h) - before, 2);
    assert_int_equal(received(h, "c1", "rival"), 1);
    assert_int_equal(received(h, "c2", "rival"), 1);
    assert_int_equal(received(h, "c3", "rival"), 0);
    assert_int_equal(received(h, "c4", "rival"), 0);
    assert_int_equal(received(h, "c5", "rival"), 0);
    const struct pg_inbox *in = harness_state(h, "c1/inbox");
    assert_string_equal(in->v[0].signal, "entity.COMPETITOR.PRICE_CUT");
    assert_string_equal(in->v[0].relation, "COMPETITOR_LINKED");
    assert_true(in->v[0].magnitude == 0.15);
    assert_int_equal(in->v[0].time, T0 + DAY);

    /* A signal record re-sent after a crash counts once. */
    assert_int_equal(harness_resend(h, harness_repartitioned(h) - 1), 0);
    assert_int_equal(received(h, "c2", "rival"), 1);
    /* So does a link record: re-linking after the unlink would be wrong. */
    e = index_of(h, "rival");
    assert_int_equal(e->events, 1);
    assert_int_equal(e->delivered, 2);
    assert_int_equal(e->capped, 0);

    /* Unlinking stops it; a customer linked after the news does not get
     * it, only later news. */
    assert_int_equal(registry(h, "c1", CHANGE_RELATION_REMOVED, "rival",
                              ENTITY_COMPETITOR, T0 + 2 * DAY), 0);
    assert_int_equal(registry(h, "c6", CHANGE_COMPETITOR_LINKED, "rival",
                              ENTITY_COMPETITOR, T0 + 2 * DAY), 0);
    assert_int_equal(received(h, "c6", "rival"), 0);
    before = harness_repartitioned(h);
    assert_int_equal(news(h, "rival", ENTITY_COMPETITOR, "PRICE_CUT", T0 + 3 * DAY), 0);
    assert_int_equal(harness_repartitioned(h) - before, 2); /* c2, c6 */
    assert_int_equal(received(h, "c1", "rival"), 1);
    assert_int_equal(received(h, "c2", "rival"), 2);
    assert_int_equal(received(h, "c6", "rival"), 1);

    /* News about an entity nobody links makes no index. */
    assert_int_equal(news(h, "nobody", ENTITY_SUPPLIER, "BANKRUPTCY", T0), 0);
    assert_null(index_of(h, "nobody"));
    harness_free(h);
}

static void test_resent_link_after_unlink_stays_unlinked(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_propagation, yaml);
    assert_int_equal(registry(h, "c1", CHANGE_SUPPLIER_LINKED, "sup",
                              ENTITY_SUPPLIER, T0), 0);
    size_t link = harness_repartitioned(h) - 1;
    assert_int_equal(registry(h, "c1", CHANGE_RELATION_REMOVED, "sup",
                              ENTITY_SUPPLIER, T0 + HOUR), 0);
    assert_int_equal(harness_resend(h, link), 0);
    assert_int_equal(index_of(h, "sup")->n_links, 0);
    harness_free(h);
}

static void test_retroactive(void **unused)
{
    (void)unused;
    struct harness *h =
        harness_new(&processor_propagation, "enabled: true\nretroactive: true\n");
    assert_int_equal(news(h, "pol-7", ENTITY_POLICY, "POLICY_PUBLISHED", T0), 0);
    assert_int_equal(registry(h, "c1", CHANGE_POLICY_LINKED, "pol-7",
                              ENTITY_POLICY, T0 + DAY), 0);
    assert_int_equal(received(h, "c1", "pol-7"), 1);
    /* Linked again: not a new link, nothing re-sent. */
    assert_int_equal(registry(h, "c1", CHANGE_POLICY_LINKED, "pol-7",
                              ENTITY_POLICY, T0 + 2 * DAY), 0);
    assert_int_equal(received(h, "c1", "pol-7"), 1);
    harness_free(h);
}

static void test_fanout_cap_holds_for_10k(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_propagation, yaml);
    char id[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "c%05d", i);
        assert_int_equal(registry(h, id, CHANGE_COMPETITOR_LINKED, "giant",
                                  ENTITY_COMPETITOR, T0), 0);
    }
    assert_int_equal(index_of(h, "giant")->n_links, 10000);
    size_t before = harness_repartitioned(h);
    assert_int_equal(news(h, "giant", ENTITY_COMPETITOR, "PRICE_CUT", T0 + DAY), 0);
    assert_int_equal(harness_repartitioned(h) - before, 100);
    const struct pg_entity *e = index_of(h, "giant");
    assert_int_equal(e->capped, 1);
    assert_int_equal(e->delivered, 100);
    /* The first 100 by customer id, each once. */
    assert_int_equal(received(h, "c00000", "giant"), 1);
    assert_int_equal(received(h, "c00099", "giant"), 1);
    assert_int_equal(received(h, "c00100", "giant"), 0);
    harness_free(h);
}

static void test_max_links(void **unused)
{
    (void)unused;
    struct harness *h =
        harness_new(&processor_propagation, "enabled: true\nmax_links: 2\n");
    const char *c[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(registry(h, c[i], CHANGE_SUPPLIER_LINKED, "sup",
                                  ENTITY_SUPPLIER, T0), 0);
    const struct pg_entity *e = index_of(h, "sup");
    assert_int_equal(e->n_links, 2);
    assert_int_equal(e->links_refused, 1);
    char *json = harness_state_json(h, "sup/entity");
    assert_non_null(strstr(json, "\"links_refused\":1"));
    free(json);
    harness_free(h);
}

/* State bytes cut anywhere, or of the other kind, are refused. */
static void test_corrupt_state_refused(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_propagation, yaml);
    assert_int_equal(registry(h, "c1", CHANGE_SUPPLIER_LINKED, "sup",
                              ENTITY_SUPPLIER, T0), 0);
    assert_int_equal(news(h, "sup", ENTITY_SUPPLIER, "BANKRUPTCY", T0 + DAY), 0);
    const char *keys[] = {"sup/entity", "c1/inbox"};
    for (size_t k = 0; k < 2; k++) {
        struct buf b;
        buf_init(&b);
        processor_propagation.state_encode(harness_state(h, keys[k]), &b);
        void *st = NULL;
        assert_int_equal(processor_propagation.state_decode(keys[k], b.data,
                                                            b.len, &st), 0);
        processor_propagation.state_free(st);
        for (size_t n = 0; n < b.len; n++)
            assert_int_equal(processor_propagation.state_decode(keys[k], b.data,
                                                                n, &st), -1);
        assert_int_equal(processor_propagation.state_decode(keys[1 - k], b.data,
                                                            b.len, &st), -1);
        buf_free(&b);
    }
    harness_free(h);
}

static void test_config_refused(void **unused)
{
    (void)unused;
    char errs[2048];
    assert_int_equal(harness_config_check(&processor_propagation,
                                          "max_fanout: 0\n", errs, sizeof(errs)),
                     -1);
    assert_non_null(strstr(errs, "max_fanout"));
    assert_int_equal(harness_config_check(&processor_propagation,
                                          "max_fanuot: 5\n", errs, sizeof(errs)),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_price_cut_reaches_exactly_the_linked),
        cmocka_unit_test(test_resent_link_after_unlink_stays_unlinked),
        cmocka_unit_test(test_retroactive),
        cmocka_unit_test(test_fanout_cap_holds_for_10k),
        cmocka_unit_test(test_max_links),
        cmocka_unit_test(test_corrupt_state_refused),
        cmocka_unit_test(test_config_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
