/*
 * action_units_fixture.c - see action_units_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "action_units_fixture.h"

/* ---- event builders (strings are literals: they outlive the feed) ---- */

int feed_ann(struct harness *h, const char *eid, const char *opp,
                    const char *doc, enum doc_type type, const char *author,
                    const char *text, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_ANNOTATION;
    ev.event_id = eid;
    ev.customer_id = CUST;
    ev.event_time = t;
    ev.u.annotation.rep_id = "rep-li";
    ev.u.annotation.opportunity_id = opp;
    ev.u.annotation.document_id = doc;
    ev.u.annotation.doc_type = type;
    ev.u.annotation.source = SOURCE_OCR_HANDWRITING;
    ev.u.annotation.author_role = author;
    ev.u.annotation.text = text;
    return harness_feed(h, &ev);
}

int feed_opp_for(struct harness *h, const char *cust, const char *eid,
                        const char *opp, const char *industry,
                        const char *from, const char *to, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_OPPORTUNITY;
    ev.event_id = eid;
    ev.customer_id = cust;
    ev.event_time = t;
    ev.u.opportunity.opportunity_id = opp;
    ev.u.opportunity.rep_id = "rep-li";
    ev.u.opportunity.industry = industry;
    ev.u.opportunity.stage_from = from;
    ev.u.opportunity.stage_to = to;
    return harness_feed(h, &ev);
}

int feed_opp(struct harness *h, const char *eid, const char *opp,
                    const char *industry, const char *from, const char *to,
                    int64_t t)
{
    return feed_opp_for(h, CUST, eid, opp, industry, from, to, t);
}

int feed_reg_for(struct harness *h, const char *cust, const char *eid,
                        enum change_type ct, const char *id, const char *name,
                        int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_REGISTRY;
    ev.event_id = eid;
    ev.customer_id = cust;
    ev.event_time = t;
    ev.u.registry.change_type = ct;
    ev.u.registry.entity_id = id;
    ev.u.registry.entity_type = ENTITY_COMPETITOR;
    ev.u.registry.entity_name = name;
    return harness_feed(h, &ev);
}

int feed_reg(struct harness *h, const char *eid, enum change_type ct,
                    const char *id, const char *name, int64_t t)
{
    return feed_reg_for(h, CUST, eid, ct, id, name, t);
}

/* Interview note by a department director. */
void director(struct harness *h, const char *eid, const char *opp,
                     const char *doc, const char *text, int64_t t)
{
    assert_int_equal(feed_ann(h, eid, opp, doc, DOC_INTERVIEW_NOTE,
                              "department_director", text, t),
                     0);
}

size_t count_rule(struct harness *h, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++)
        if (strcmp(harness_alert(h, i)->u.coaching.rule, rule) == 0)
            n++;
    return n;
}

const struct alert *find_rule(struct harness *h, const char *rule)
{
    for (size_t i = 0; i < harness_alert_count(h); i++)
        if (strcmp(harness_alert(h, i)->u.coaching.rule, rule) == 0)
            return harness_alert(h, i);
    fail_msg("no %s alert", rule);
    return NULL;
}

double metric(const struct alert *a, const char *name)
{
    for (size_t i = 0; i < a->u.coaching.n_metrics; i++)
        if (strcmp(a->u.coaching.metrics[i].name, name) == 0)
            return a->u.coaching.metrics[i].value;
    fail_msg("no metric %s", name);
    return -1;
}

json_t *state_json(struct harness *h, const char *key)
{
    char *s = harness_state_json(h, key);
    assert_non_null(s);
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    free(s);
    assert_non_null(j);
    return j;
}

/* "supported"/"missing" of `stage` in the opportunity's snapshot. */
const char *stage_status(json_t *opp, const char *stage)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(opp, "stages"), i, st) {
        if (strcmp(json_string_value(json_object_get(st, "stage")), stage) == 0)
            return json_string_value(json_object_get(st, "status"));
    }
    fail_msg("no stage %s", stage);
    return NULL;
}

/* Two good director notes and D-17 naming 日间手术 and 床旁检测, the latter
 * covered by MediSight once it is linked. */
void two_good_one_short(struct harness *h, const char *opp)
{
    assert_int_equal(feed_reg(h, "r1", CHANGE_COMPETITOR_LINKED,
                              "comp-medisight", "MediSight", T0),
                     0);
    director(h, "a1", opp, "D-15", "主任关注日间手术和院感监测的落地", T0 + 1000);
    director(h, "a2", opp, "D-16", "讨论耗材追溯、远程会诊", T0 + 2000);
    director(h, "a3", opp, "D-17", "希望开展日间手术，并引入床旁检测", T0 + 3000);
}
