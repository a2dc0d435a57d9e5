/*
 * test_lead_rating_service.c - issue 25's service-ticket template in the
 * lead_rating processor, through the in-memory harness: repair tickets and
 * downtime on a device line with no open opportunity raise one
 * CoachingAlert per line and window and a re-rating reason; an open
 * opportunity for the line (OpportunityUpdate.device_line) silences it.
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
#include "lead_rating.h"

extern const struct processor_ops processor_lead_rating;

#define HOUR 3600000LL
#define DAY (24 * HOUR)
#define T0 1772409600000LL /* 2026-03-02T00:00:00Z */

static int seq;

static struct event base(enum event_kind kind, const char *cust, int64_t t)
{
    static char ids[1024][24];
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    char *id = ids[seq++ % 1024];
    snprintf(id, 24, "sv-%d", seq);
    ev.kind = kind;
    ev.key = cust;
    ev.event_id = id;
    ev.customer_id = cust;
    ev.event_time = t;
    return ev;
}

static int ticket(struct harness *h, const char *cust, const char *device,
                  const char *type, int64_t t)
{
    struct event ev = base(EVENT_IOT, cust, t);
    ev.u.iot.device_id = device;
    ev.u.iot.alert_type = type;
    ev.u.iot.severity = IOT_WARNING;
    ev.u.iot.count = 1;
    return harness_feed(h, &ev);
}

/* A DEVICE registry change naming the device's line. */
static int device_line(struct harness *h, const char *cust, const char *device,
                       const char *line, int64_t t)
{
    static struct kv attr[1];
    struct event ev = base(EVENT_REGISTRY, cust, t);
    attr[0] = (struct kv){"device_line", line};
    ev.u.registry.change_type = CHANGE_CAPACITY_EXPANSION;
    ev.u.registry.entity_id = device;
    ev.u.registry.entity_type = ENTITY_DEVICE;
    ev.u.registry.attributes = attr;
    ev.u.registry.n_attributes = 1;
    return harness_feed(h, &ev);
}

static int opportunity(struct harness *h, const char *cust, const char *opp,
                       const char *rep, const char *stage, const char *line,
                       int64_t t)
{
    struct event ev = base(EVENT_OPPORTUNITY, cust, t);
    ev.u.opportunity.opportunity_id = opp;
    ev.u.opportunity.rep_id = rep;
    ev.u.opportunity.stage_to = stage;
    ev.u.opportunity.device_line = line;
    return harness_feed(h, &ev);
}

/* The coaching alerts so far, in order, into out; how many. */
static size_t coaching(struct harness *h, const struct alert **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->kind == ALERT_COACHING && n < max)
            out[n++] = a;
    }
    return n;
}

/* Only the template's signal, so a tier change is its doing. */
static const char svc_yaml[] =
    "signals:\n"
    "  service.*.no_opportunity: {weight: 100, half_life: 30d, saturation: 100, part: intent}\n"
    "annotation_rules: {}\ntranscript_rules: {}\n"
    "service_tickets: {enabled: true}\n";

/* dev-a and dev-b on line 2; an open opportunity on line 1 only. */
static void line_2(struct harness *h, const char *cust)
{
    assert_int_equal(device_line(h, cust, "dev-a", "2", T0 - 9 * DAY), 0);
    assert_int_equal(device_line(h, cust, "dev-b", "2", T0 - 9 * DAY), 0);
    assert_int_equal(device_line(h, cust, "dev-c", "1", T0 - 9 * DAY), 0);
    assert_int_equal(opportunity(h, cust, "o-1", "rep-7", "proposal", "1",
                                 T0 - 8 * DAY),
                     0);
}

static void test_fires_once_per_line_and_window(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, svc_yaml);
    const struct alert *c[8];
    line_2(h, "c1");
    assert_int_equal(ticket(h, "c1", "dev-a", "repair_ticket", T0), 0);
    assert_int_equal(ticket(h, "c1", "dev-b", "downtime", T0 + 5 * DAY), 0);
    /* Other lines and other alert types do not count on line 2. */
    assert_int_equal(ticket(h, "c1", "dev-c", "repair_ticket", T0 + 6 * DAY), 0);
    assert_int_equal(ticket(h, "c1", "dev-a", "vibration_anomaly", T0 + 7 * DAY),
                     0);
    assert_int_equal(coaching(h, c, 8), 0);
    assert_int_equal(harness_alert_count(h), 0);

    assert_int_equal(ticket(h, "c1", "dev-a", "repair_ticket", T0 + 10 * DAY), 0);
    assert_int_equal(coaching(h, c, 8), 1);
    const struct coaching_alert *ca = &c[0]->u.coaching;
    assert_string_equal(ca->message, "1 downtime and 2 repair tickets on line 2 "
                                     "in 30 days; no open opportunity");
    assert_string_equal(ca->rule, "service_ticket");
    assert_int_equal(ca->category, CAT_MISSED_CONTEXT);
    assert_int_equal(ca->severity, SEV_WARNING);
    assert_string_equal(ca->rep_id, "rep-7"); /* the account's rep */
    assert_int_equal(ca->n_evidence, 2);
    assert_string_equal(ca->evidence[0], "dev-a");
    assert_string_equal(ca->evidence[1], "dev-b");
    assert_true(c[0]->event_time == T0 + 10 * DAY);
    char first[33];
    memcpy(first, c[0]->alert_id, sizeof(first));

    /* The LeadRerating that follows names the template with its text. */
    const struct alert *r = harness_alert(h, harness_alert_count(h) - 1);
    assert_int_equal(r->kind, ALERT_LEAD_RERATING);
    assert_string_equal(r->u.rerating.reasons[0].factor,
                        "service.2.no_opportunity");
    assert_string_equal(r->u.rerating.reasons[0].node_type, "customer");
    assert_string_equal(r->u.rerating.reasons[0].detail, ca->message);

    /* More tickets within the window: no second alert. */
    assert_int_equal(ticket(h, "c1", "dev-b", "repair_ticket", T0 + 12 * DAY), 0);
    assert_int_equal(ticket(h, "c1", "dev-a", "repair_ticket", T0 + 20 * DAY), 0);
    assert_int_equal(ticket(h, "c1", "dev-a", "repair_ticket", T0 + 39 * DAY), 0);
    assert_int_equal(coaching(h, c, 8), 1);
    /* A window after the alert, still three within 30 days: the next. */
    assert_int_equal(ticket(h, "c1", "dev-b", "repair_ticket", T0 + 41 * DAY), 0);
    assert_int_equal(coaching(h, c, 8), 2);
    assert_string_equal(c[1]->u.coaching.message,
                        "4 repair tickets on line 2 in 30 days; no open "
                        "opportunity");
    assert_string_not_equal(c[1]->alert_id, first);

    char *json = harness_state_json(h, "c1/svc");
    assert_non_null(strstr(json, "\"rep_id\":\"rep-7\""));
    assert_non_null(strstr(json, "\"line\":\"2\""));
    assert_non_null(strstr(json, "\"text\":\"4 repair tickets on line 2"));
    free(json);
    harness_free(h);
}

/* The same input, once straight and once with restarts between every
 * event: the same alert ids (one per line and window). */
static void feed_story(struct harness *h, bool restarts)
{
    line_2(h, "c2");
    for (int i = 0; i < 8; i++) {
        assert_int_equal(ticket(h, "c2", i % 2 ? "dev-a" : "dev-b",
                                "repair_ticket", T0 + i * 7 * DAY),
                         0);
        if (restarts)
            harness_restart(h);
    }
}

static void test_ids_deterministic_across_restarts(void **unused)
{
    (void)unused;
    struct harness *a = harness_new(&processor_lead_rating, svc_yaml);
    struct harness *b = harness_new(&processor_lead_rating, svc_yaml);
    feed_story(a, false);
    feed_story(b, true);
    const struct alert *ca[8], *cb[8];
    size_t na = coaching(a, ca, 8), nb = coaching(b, cb, 8);
    /* Tickets weekly for 8 weeks: alerts at weeks 2 and 7 (after 30d). */
    assert_int_equal(na, 2);
    assert_int_equal(nb, 2);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(ca[i]->alert_id, cb[i]->alert_id);
    assert_true(ca[0]->event_time == T0 + 14 * DAY);
    assert_true(ca[1]->event_time == T0 + 49 * DAY);
    harness_free(a);
    harness_free(b);
}

static void test_open_opportunity_covers_the_line(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, svc_yaml);
    const struct alert *c[8];
    line_2(h, "c3");
    assert_int_equal(opportunity(h, "c3", "o-2", "rep-8", "proposal", "2", T0),
                     0);
    /* An opportunity for no line covers none. */
    assert_int_equal(opportunity(h, "c3", "o-3", "rep-8", "proposal", NULL, T0),
                     0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ticket(h, "c3", "dev-a", "repair_ticket",
                                T0 + (i + 1) * DAY),
                         0);
    assert_int_equal(coaching(h, c, 8), 0);
    /* An update without the field keeps its line; closing it uncovers it. */
    assert_int_equal(opportunity(h, "c3", "o-2", "rep-9", "Closed_Lost", NULL,
                                 T0 + 6 * DAY),
                     0);
    assert_int_equal(ticket(h, "c3", "dev-a", "repair_ticket", T0 + 7 * DAY), 0);
    assert_int_equal(coaching(h, c, 8), 1);
    assert_string_equal(c[0]->u.coaching.rep_id, "rep-9");
    assert_string_equal(c[0]->u.coaching.message,
                        "5 repair tickets on line 2 in 30 days; no open "
                        "opportunity");
    harness_free(h);
}

/* A device no registry change placed on a line is a line of its own; with
 * parts_orders, its parts orders count as tickets. */
static void test_unmapped_device_and_parts_orders(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating,
                                    "annotation_rules: {}\n"
                                    "transcript_rules: {}\n"
                                    "service_tickets: {enabled: true, "
                                    "parts_orders: true, min_tickets: 2, "
                                    "window: 7d, severity: RED}\n");
    const struct alert *c[8];
    assert_int_equal(ticket(h, "c4", "press-7", "repair_ticket", T0), 0);
    struct event ev = base(EVENT_PARTS_ORDER, "c4", T0 + DAY);
    ev.u.parts.part_id = "p-1";
    ev.u.parts.quantity = 1;
    ev.u.parts.device_id = "press-7";
    assert_int_equal(harness_feed(h, &ev), 0);
    assert_int_equal(coaching(h, c, 8), 1);
    assert_string_equal(c[0]->u.coaching.message,
                        "1 parts order and 1 repair ticket on device press-7 "
                        "in 7 days; no open opportunity");
    assert_int_equal(c[0]->u.coaching.severity, SEV_RED);
    assert_null(c[0]->u.coaching.rep_id); /* no opportunity update seen */
    harness_free(h);
}

static void test_off_by_default(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, "");
    for (int i = 0; i < 5; i++)
        assert_int_equal(ticket(h, "c5", "dev-a", "repair_ticket", T0 + i * DAY),
                         0);
    assert_int_equal(opportunity(h, "c5", "o-1", "r", "proposal", "2", T0), 0);
    const struct alert *c[8];
    assert_int_equal(coaching(h, c, 8), 0);
    assert_null(harness_state(h, "c5/svc"));
    harness_free(h);
}

/* OpportunityUpdates feed only the template (processor_ops.inputs_of):
 * without it lead_rating does not read them, so a deployment of it alone
 * neither subscribes to crm.opportunity-updates nor waits for it. */
static void test_opportunities_read_only_with_template(void **unused)
{
    (void)unused;
    const uint32_t opp = EVENT_MASK(EVENT_OPPORTUNITY);
    const uint32_t graph = EVENT_MASK(EVENT_REGISTRY) | EVENT_MASK(EVENT_IOT) |
                           EVENT_MASK(EVENT_ANNOTATION) |
                           EVENT_MASK(EVENT_TRANSCRIPT) |
                           EVENT_MASK(EVENT_PARTS_ORDER);
    struct harness *h = harness_new(&processor_lead_rating, "");
    uint32_t in = processor_inputs(&processor_lead_rating, harness_config(h));
    assert_int_equal(in & opp, 0);
    assert_int_equal(in & graph, graph);
    harness_free(h);
    h = harness_new(&processor_lead_rating, svc_yaml);
    in = processor_inputs(&processor_lead_rating, harness_config(h));
    assert_int_equal(in & opp, opp);
    assert_int_equal(in & graph, graph);
    harness_free(h);
    /* Without a config: the static mask, the upper bound. */
    assert_int_equal(processor_inputs(&processor_lead_rating, NULL),
                     processor_lead_rating.inputs);
}

static void test_corrupt_svc_refused(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(&processor_lead_rating, svc_yaml);
    line_2(h, "c6");
    for (int i = 0; i < 3; i++)
        assert_int_equal(ticket(h, "c6", "dev-a", "repair_ticket", T0 + i * DAY),
                         0);
    struct buf b;
    buf_init(&b);
    processor_lead_rating.state_encode(harness_state(h, "c6/svc"), &b);
    void *st = NULL;
    assert_int_equal(processor_lead_rating.state_decode("c6/svc", b.data, b.len,
                                                        &st), 0);
    processor_lead_rating.state_free(st);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(processor_lead_rating.state_decode("c6/svc", b.data, n,
                                                            &st), -1);
    buf_free(&b);
    harness_free(h);
}

static void test_config_refused(void **unused)
{
    (void)unused;
    char errs[4096];
    assert_int_equal(harness_config_check(&processor_lead_rating,
                                          "service_tickets:\n"
                                          "  min_tickets: 0\n"
                                          "  window: 10m\n"
                                          "  severity: LOUD\n"
                                          "  ticket_types: []\n",
                                          errs, sizeof(errs)),
                     -1);
    /* Each at its line and column (the harness nests the section two
     * lines and four columns deep). */
    assert_non_null(strstr(errs, ":4:20: processors.lead_rating.service_tickets"
                                 ".min_tickets: 0 is out of range"));
    assert_non_null(strstr(errs, ":5:15: processors.lead_rating.service_tickets"
                                 ".window: 10m is out of range"));
    assert_non_null(strstr(errs, ":6:17: processors.lead_rating.service_tickets"
                                 ".severity: expected one of"));
    assert_non_null(strstr(errs, ":7:21: processors.lead_rating.service_tickets"
                                 ".ticket_types: has 0 entries"));
    assert_int_equal(harness_config_check(&processor_lead_rating,
                                          "service_tickets: {ticket_types: "
                                          "[\"\"]}\n",
                                          errs, sizeof(errs)),
                     -1);
    assert_non_null(strstr(errs, "an empty alert type never matches"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fires_once_per_line_and_window),
        cmocka_unit_test(test_ids_deterministic_across_restarts),
        cmocka_unit_test(test_open_opportunity_covers_the_line),
        cmocka_unit_test(test_unmapped_device_and_parts_orders),
        cmocka_unit_test(test_off_by_default),
        cmocka_unit_test(test_opportunities_read_only_with_template),
        cmocka_unit_test(test_corrupt_svc_refused),
        cmocka_unit_test(test_config_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
