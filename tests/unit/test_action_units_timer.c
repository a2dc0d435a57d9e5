/*
 * test_action_units_timer.c - the action-unit processor through the
 * in-memory harness: action_units_incomplete once stream time (the largest
 * event time seen) passes a stalled opportunity's deadline, on the event
 * path and from the timer, with the partition's ownership; restart, the
 * state formats, and pruning. Keywords, evidence and stage claims are in
 * test_action_units_evidence.c; what both use is in action_units_fixture.c.
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
#include "buf.h"

static void test_incomplete_after_days(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, AU_NO_GRACE "rules:\n  action_units_incomplete:\n    after: 3d\n");
    feed_opp(h, "o1", "OPP-C", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-C", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    feed_reg(h, "r1", CHANGE_SUPPLIER_LINKED, "sup-1", NULL,
             T0 + 3 * DAY_MS - 1);
    assert_int_equal(harness_alert_count(h), 0);
    /* any later event of the customer judges the deadline */
    feed_reg(h, "r2", CHANGE_TENDER_PUBLISHED, "t-1", NULL, T0 + 3 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = harness_alert(h, 0);
    assert_int_equal(a->u.coaching.category, CAT_ACTION_UNITS_INCOMPLETE);
    assert_int_equal(a->u.coaching.severity, SEV_WARNING);
    assert_string_equal(a->u.coaching.opportunity_id, "OPP-C");
    assert_string_equal(a->u.coaching.rep_id, "rep-li");
    assert_true(metric(a, "days") == 3.0);
    assert_true(metric(a, "have") == 1.0);
    assert_string_equal(a->u.coaching.evidence[0], "科室主任访谈 1/3 份");
    assert_non_null(strstr(a->u.coaching.message, "已 3 天"));
    assert_string_equal(a->dedup_key, "action_units_incomplete/OPP-C/discovery");
    /* once per opportunity and stage */
    feed_reg(h, "r3", CHANGE_TENDER_PUBLISHED, "t-2", NULL, T0 + 9 * DAY_MS);
    director(h, "a2", "OPP-C", "D-2", "无", T0 + 10 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);
}

static void test_incomplete_not_raised_when_evidenced(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
    feed_opp(h, "o1", "OPP-D", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-D", "D-1", "日间手术、院感监测", T0 + 1);
    director(h, "a2", "OPP-D", "D-2", "耗材追溯和日间手术", T0 + 2);
    director(h, "a3", "OPP-D", "D-3", "院感监测以及耗材追溯", T0 + 3);
    feed_reg(h, "r1", CHANGE_TENDER_PUBLISHED, "t-1", NULL, T0 + 30 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 0);
    /* a stage without units is never incomplete */
    feed_opp(h, "o2", "OPP-D", "medical", "discovery", "solution",
             T0 + 31 * DAY_MS);
    feed_reg(h, "r2", CHANGE_TENDER_PUBLISHED, "t-2", NULL, T0 + 60 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 0);
    /* an event older than the deadline does not judge it */
    struct harness *h2 = harness_new(OPS, AU_NO_GRACE "");
    feed_opp(h2, "o1", "OPP-E", "medical", NULL, "discovery", T0);
    feed_reg(h2, "r1", CHANGE_TENDER_PUBLISHED, "t-1", NULL, T0 + 13 * DAY_MS);
    assert_int_equal(harness_alert_count(h2), 0);
    feed_reg(h2, "r2", CHANGE_TENDER_PUBLISHED, "t-2", NULL, T0 + 14 * DAY_MS);
    assert_int_equal(harness_alert_count(h2), 1);
    harness_free(h2);
    harness_free(h);
}

/* ---- action_units_incomplete from the timer (stream-time watermark) ---- */

#define OTHER "other-hospital"

static size_t count_incomplete(struct harness *h, const char *opp)
{
    size_t n = 0;
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->u.coaching.category == CAT_ACTION_UNITS_INCOMPLETE &&
            strcmp(a->u.coaching.opportunity_id, opp) == 0)
            n++;
    }
    return n;
}

static const struct alert *find_incomplete(struct harness *h, const char *opp)
{
    for (size_t i = 0; i < harness_alert_count(h); i++) {
        const struct alert *a = harness_alert(h, i);
        if (a->u.coaching.category == CAT_ACTION_UNITS_INCOMPLETE &&
            strcmp(a->u.coaching.opportunity_id, opp) == 0)
            return a;
    }
    fail_msg("no action_units_incomplete for %s", opp);
    return NULL;
}

/* Stream time and ownership are the opportunity's partition's (issue 26):
 * another partition's events do not judge it, and while its partition is
 * another instance's this one does not either. */
static void test_timer_follows_partition(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, AU_NO_GRACE "rules:\n  action_units_incomplete:\n    after: 3d\n");
    harness_set_partition(h, 1);
    assert_int_equal(feed_opp(h, "o1", "OPP-S", "medical", NULL, "discovery",
                              T0),
                     0);
    director(h, "a1", "OPP-S", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    harness_set_partition(h, 0);
    assert_int_equal(feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED,
                                  "t-1", NULL, T0 + 10 * DAY_MS),
                     0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);

    harness_set_partition(h, 1);
    assert_int_equal(feed_reg_for(h, OTHER, "x2", CHANGE_TENDER_PUBLISHED,
                                  "t-2", NULL, T0 + 4 * DAY_MS),
                     0);
    harness_own(h, 1, false);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);

    harness_own(h, 1, true);
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-S"), 1);
    assert_int_equal(find_incomplete(h, "OPP-S")->src.partition, 1);
    harness_free(h);
}

/* The bytes stored under key, as hex. */
static void encoded_hex(struct harness *h, const char *key, char *out,
                        size_t n)
{
    const void *st = harness_state(h, key);
    assert_non_null(st);
    struct buf b;
    buf_init(&b);
    OPS->state_encode(st, &b);
    assert_true(b.len * 2 < n);
    for (size_t i = 0; i < b.len; i++)
        snprintf(out + 2 * i, 3, "%02x", b.data[i]);
    out[2 * b.len] = '\0';
    buf_free(&b);
}

/* A partition's stream time is state (on_partitions): under a key of that
 * partition, written as it advances, read back when the partition returns;
 * no customer id may take that key. */
static void test_stream_time_in_state(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, AU_NO_GRACE "rules:\n  action_units_incomplete:\n    after: 3d\n");
    harness_set_partition(h, 1);
    feed_opp(h, "o1", "OPP-S", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-S", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    assert_int_equal(feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED,
                                  "t-1", NULL, T0 + 5 * DAY_MS),
                     0);
    char want[128];
    snprintf(want, sizeof(want),
             "\"type\":\"stream_time\",\"partition\":1,\"stream_time\":%lld",
             (long long)(T0 + 5 * DAY_MS));
    char *js = harness_state_json(h, "~p1");
    assert_non_null(js);
    assert_non_null(strstr(js, want));
    free(js);
    /* Key and bytes are the state format: a state dir written before
     * must read back the same. */
    char hex[64];
    encoded_hex(h, "~p1", hex, sizeof(hex));
    assert_string_equal(hex, "03030280c0f0b4b668");
    assert_null(harness_state(h, "~p0")); /* no event there yet */
    /* an older event does not move it back */
    assert_int_equal(feed_reg_for(h, OTHER, "x2", CHANGE_TENDER_PUBLISHED,
                                  "t-2", NULL, T0 + 2 * DAY_MS),
                     0);
    js = harness_state_json(h, "~p1");
    assert_non_null(strstr(js, want));
    free(js);

    harness_own(h, 1, false);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);
    harness_restart(h); /* while away: nothing of partition 1 in memory */
    harness_own(h, 1, true); /* back: its stream time comes from state */
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-S"), 1);
    assert_int_equal(find_incomplete(h, "OPP-S")->trigger_event_id[0], 'a');

    assert_int_equal(feed_reg_for(h, "~p1", "x3", CHANGE_TENDER_PUBLISHED,
                                  "t-3", NULL, T0 + 6 * DAY_MS),
                     -1);
    harness_free(h);
}

/* The id of an alert judged from state, whatever its trigger. */
static void expect_state_alert_id(const struct alert *a, const char *cust,
                                  const char *dedup)
{
    struct alert x;
    memset(&x, 0, sizeof(x));
    x.kind = ALERT_COACHING;
    x.customer_id = cust;
    x.dedup_key = dedup;
    x.id_from_state = true;
    alert_compute_id(&x);
    assert_string_equal(a->alert_id, x.alert_id);
}

/* Replay-stable (issue 26, case 4): the same deadline judged by the timer
 * or by the customer's next event carries the same alert_id. */
static void test_incomplete_id_same_on_both_paths(void **unused)
{
    (void)unused;
    const char *yaml = AU_NO_GRACE "rules:\n  action_units_incomplete:\n    after: 3d\n";
    struct harness *timer = harness_new(OPS, yaml);
    struct harness *event = harness_new(OPS, yaml);
    struct harness *both[2] = {timer, event};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(feed_opp(both[i], "o1", "OPP-S", "medical", NULL,
                                  "discovery", T0),
                         0);
        director(both[i], "a1", "OPP-S", "D-1", "日间手术、院感监测",
                 T0 + DAY_MS);
    }
    feed_reg_for(timer, OTHER, "x1", CHANGE_TENDER_PUBLISHED, "t-1", NULL,
                 T0 + 4 * DAY_MS);
    harness_timer(timer, 0);
    feed_reg(event, "r1", CHANGE_TENDER_PUBLISHED, "t-4", NULL,
             T0 + 4 * DAY_MS);
    const struct alert *a = find_incomplete(timer, "OPP-S");
    const struct alert *b = find_incomplete(event, "OPP-S");
    assert_string_equal(a->trigger_event_id, "a1");
    assert_string_equal(b->trigger_event_id, "r1");
    assert_string_equal(a->alert_id, b->alert_id);
    harness_free(timer);
    harness_free(event);
}

static void test_timer_fires_stalled_opportunity(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, AU_NO_GRACE "rules:\n  action_units_incomplete:\n    after: 3d\n");
    assert_int_equal(feed_opp(h, "o1", "OPP-S", "medical", NULL, "discovery",
                              T0),
                     0); /* offset 0 */
    /* offset 1: the last event OPP-S will ever get */
    director(h, "a1", "OPP-S", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    /* a wall clock far past the deadline decides nothing */
    harness_timer(h, T0 + 365 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 0);

    /* stream time advanced by another customer, even by an event this
     * processor keeps nothing of: just short of the deadline */
    assert_int_equal(feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED,
                                  "t-1", NULL, T0 + 3 * DAY_MS - 1),
                     0);
    assert_null(harness_state(h, OTHER));
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);

    /* at the deadline: another customer's event does not judge OPP-S ... */
    assert_int_equal(feed_reg_for(h, OTHER, "x2", CHANGE_TENDER_PUBLISHED,
                                  "t-2", NULL, T0 + 3 * DAY_MS),
                     0);
    assert_int_equal(harness_alert_count(h), 0);
    /* ... the next tick does */
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = find_incomplete(h, "OPP-S");
    assert_string_equal(a->customer_id, CUST);
    assert_int_equal(a->u.coaching.severity, SEV_WARNING);
    assert_string_equal(a->u.coaching.rule, "action_units_incomplete");
    assert_string_equal(a->u.coaching.rep_id, "rep-li");
    /* provenance: OPP-S's last event; event time: the deadline */
    assert_string_equal(a->trigger_event_id, "a1");
    assert_string_equal(a->src.topic, event_kind_name(EVENT_ANNOTATION));
    assert_int_equal(a->src.partition, 0);
    assert_int_equal(a->src.offset, 1);
    assert_int_equal(a->event_time, T0 + 3 * DAY_MS);
    assert_string_equal(a->dedup_key,
                        "action_units_incomplete/OPP-S/discovery");
    expect_state_alert_id(a, CUST, "action_units_incomplete/OPP-S/discovery");
    assert_true(metric(a, "days") == 3.0);
    assert_true(metric(a, "have") == 1.0);
    assert_true(metric(a, "need") == 3.0);
    assert_string_equal(a->u.coaching.evidence[0], "科室主任访谈 1/3 份");
    assert_non_null(strstr(a->u.coaching.message, "已 3 天"));

    /* exactly once: more ticks, later events of both customers */
    harness_timer(h, 0);
    harness_timer(h, 0);
    feed_reg_for(h, OTHER, "x3", CHANGE_TENDER_PUBLISHED, "t-3", NULL,
                 T0 + 20 * DAY_MS);
    harness_timer(h, 0);
    feed_reg(h, "r1", CHANGE_TENDER_PUBLISHED, "t-4", NULL, T0 + 21 * DAY_MS);
    director(h, "a2", "OPP-S", "D-2", "无", T0 + 22 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-S"), 1);
    assert_int_equal(harness_alert_count(h), 1);
    json_t *j = state_json(h, CUST "/opp/OPP-S");
    json_t *al = json_object_get(j, "incomplete_alerted");
    assert_int_equal(json_array_size(al), 1);
    assert_string_equal(json_string_value(json_array_get(al, 0)), "discovery");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "last_event"), "event_id")),
                        "a2");
    json_decref(j);
    harness_free(h);
}

static void test_timer_respects_evidence(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE ""); /* after: 14d */
    feed_opp(h, "o1", "OPP-G", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-G", "D-1", "日间手术、院感监测", T0 + DAY_MS);
    director(h, "a2", "OPP-G", "D-2", "耗材追溯和日间手术", T0 + 2 * DAY_MS);
    director(h, "a3", "OPP-G", "D-3", "院感监测以及耗材追溯", T0 + 3 * DAY_MS);
    /* another customer's opportunity, stalled too, due at T0 + 44d */
    assert_int_equal(feed_opp_for(h, OTHER, "x1", "OPP-O", "medical", NULL,
                                  "discovery", T0 + 30 * DAY_MS),
                     0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0); /* OPP-G evidenced in time */
    json_t *j = state_json(h, CUST "/opp/OPP-G");
    assert_string_equal(stage_status(j, "discovery"), "supported");
    json_decref(j);
    feed_reg_for(h, "third-clinic", "y1", CHANGE_TENDER_PUBLISHED, "t-1",
                 NULL, T0 + 44 * DAY_MS - 1);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);
    /* a third customer's traffic brings the stream to OPP-O's deadline;
     * the alert cites OPP-O's last event, an update */
    feed_reg_for(h, "third-clinic", "y2", CHANGE_TENDER_PUBLISHED, "t-2",
                 NULL, T0 + 44 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = find_incomplete(h, "OPP-O");
    assert_string_equal(a->customer_id, OTHER);
    assert_string_equal(a->trigger_event_id, "x1");
    assert_string_equal(a->src.topic, event_kind_name(EVENT_OPPORTUNITY));
    assert_int_equal(a->event_time, T0 + 44 * DAY_MS);
    assert_true(metric(a, "days") == 14.0);
    assert_true(metric(a, "have") == 0.0);
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-G"), 0);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);

    /* rule off: the timer never fires */
    h = harness_new(OPS, AU_NO_GRACE "rules:\n  action_units_incomplete:\n    enabled: "
                         "false\n");
    feed_opp(h, "o1", "OPP-N", "medical", NULL, "discovery", T0);
    feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED, "t-1", NULL,
                 T0 + 100 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 0);
    harness_free(h);
}

/* The per-event path fires first; the timer then has nothing to add. */
static void test_event_path_then_timer_once(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, AU_NO_GRACE "rules:\n  action_units_incomplete:\n    after: 3d\n");
    feed_opp(h, "o1", "OPP-P", "medical", NULL, "discovery", T0);
    feed_reg(h, "r1", CHANGE_TENDER_PUBLISHED, "t-1", NULL, T0 + 3 * DAY_MS);
    assert_int_equal(count_incomplete(h, "OPP-P"), 1);
    const struct alert *a = find_incomplete(h, "OPP-P");
    assert_string_equal(a->trigger_event_id, "r1"); /* the event judged it */
    assert_int_equal(a->event_time, T0 + 3 * DAY_MS);
    feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED, "t-2", NULL,
                 T0 + 10 * DAY_MS);
    harness_timer(h, 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    /* a later stage gets its own deadline and its own alert, once */
    feed_opp(h, "o2", "OPP-P", NULL, "discovery", "solution",
             T0 + 11 * DAY_MS);
    assert_int_equal(count_rule(h, "stage_claim_unsupported"), 1);
    harness_timer(h, 0);
    assert_int_equal(count_incomplete(h, "OPP-P"), 1); /* solution has no units */
    harness_free(h);
}

static void test_timer_after_restart(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(
        OPS, AU_NO_GRACE "rules:\n  action_units_incomplete:\n    after: 3d\n");
    feed_opp(h, "o1", "OPP-S", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-S", "D-1", "日间手术", T0 + DAY_MS); /* offset 1 */
    /* the watermark passes the deadline, but no tick before the restart */
    feed_reg_for(h, OTHER, "x1", CHANGE_TENDER_PUBLISHED, "t-1", NULL,
                 T0 + 5 * DAY_MS);
    harness_restart(h);
    /* first tick: the index is rebuilt from the store and the partition's
     * stream time comes back from it too: no further event is needed (the
     * stream may have gone quiet) */
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    const struct alert *a = find_incomplete(h, "OPP-S");
    assert_string_equal(a->trigger_event_id, "a1"); /* decoded provenance */
    assert_string_equal(a->src.topic, event_kind_name(EVENT_ANNOTATION));
    assert_int_equal(a->src.offset, 1);
    assert_int_equal(a->event_time, T0 + 3 * DAY_MS);
    /* an event older than the restored stream time moves nothing */
    feed_reg_for(h, OTHER, "x2", CHANGE_TENDER_PUBLISHED, "t-2", NULL,
                 T0 + 2 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    expect_state_alert_id(a, CUST, "action_units_incomplete/OPP-S/discovery");
    /* once, across another restart */
    harness_restart(h);
    feed_reg_for(h, OTHER, "x4", CHANGE_TENDER_PUBLISHED, "t-4", NULL,
                 T0 + 30 * DAY_MS);
    harness_timer(h, 0);
    harness_timer(h, 0);
    feed_reg(h, "r1", CHANGE_TENDER_PUBLISHED, "t-5", NULL, T0 + 31 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);

    /* restart, then stream time passes the deadline before the first
     * tick: that tick rebuilds the index and fires */
    h = harness_new(OPS, AU_NO_GRACE "rules:\n  action_units_incomplete:\n    after: 3d\n");
    feed_opp(h, "o1", "OPP-T", "medical", NULL, "discovery", T0);
    harness_restart(h);
    feed_opp_for(h, OTHER, "x1", "OPP-O", "medical", NULL, "proposal",
                 T0 + 4 * DAY_MS);
    assert_int_equal(harness_alert_count(h), 0);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    a = find_incomplete(h, "OPP-T");
    assert_string_equal(a->trigger_event_id, "o1");
    assert_int_equal(a->src.offset, 0);
    assert_int_equal(a->event_time, T0 + 3 * DAY_MS);
    harness_timer(h, 0);
    assert_int_equal(harness_alert_count(h), 1);
    harness_free(h);
}

/* Format-1 records (before the provenance fields) still decode; they are
 * written back as the current format. */
static void test_decode_format_1(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
    feed_opp(h, "o1", "OPP-V", "medical", NULL, "discovery", T0);
    director(h, "a1", "OPP-V", "D-1", "日间手术", T0 + 1); /* offset 1 */
    const char *key = CUST "/opp/OPP-V";
    struct buf b, tail, b2;
    buf_init(&b);
    buf_init(&tail);
    buf_init(&b2);
    OPS->state_encode(harness_state(h, key), &b);
    assert_int_equal(b.data[0], 3);
    /* format 2 ends with the last event's provenance (format 3 adds
     * nothing to an opportunity without claims) */
    buf_put_str(&tail, "a1");
    buf_put_str(&tail, event_kind_name(EVENT_ANNOTATION));
    buf_put_i64(&tail, 0);
    buf_put_i64(&tail, 1);
    assert_true(b.len > tail.len);
    assert_memory_equal(b.data + b.len - tail.len, tail.data, tail.len);
    size_t v1len = b.len - tail.len;
    b.data[0] = 1;
    void *back = NULL;
    /* format 1 with format-2 fields behind it is not format 1 */
    assert_int_equal(OPS->state_decode(key, b.data, b.len, &back), -1);
    assert_int_equal(OPS->state_decode(key, b.data, v1len, &back), 0);
    struct jw *w = jw_new();
    OPS->state_to_json(back, w);
    char *js = jw_finish(w, false);
    jw_free(w);
    json_error_t je;
    json_t *j = json_loads(js, 0, &je);
    free(js);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "last_event")));
    assert_string_equal(json_string_value(json_object_get(j, "stage")),
                        "discovery");
    assert_int_equal(json_array_size(json_object_get(j, "documents")), 1);
    json_decref(j);
    OPS->state_encode(back, &b2);
    OPS->state_free(back);
    assert_int_equal(b2.data[0], 3);
    assert_int_equal(b2.len, v1len + 4); /* two absent strings, two zeros */
    assert_memory_equal(b2.data + 1, b.data + 1, v1len - 1);
    const uint8_t none[4] = {0, 0, 0, 0};
    assert_memory_equal(b2.data + v1len, none, 4);
    buf_free(&b);
    buf_free(&tail);
    buf_free(&b2);
    harness_free(h);
}

static void test_restart_keeps_evidence(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
    feed_opp(h, "o1", "OPP-R", "medical", NULL, "discovery", T0);
    two_good_one_short(h, "OPP-R");
    director(h, "a9", NULL, "D-C", "客户层面：日间手术", T0 + 5);
    char *before_c = harness_state_json(h, CUST);
    char *before_o = harness_state_json(h, CUST "/opp/OPP-R");
    harness_restart(h);
    char *after_c = harness_state_json(h, CUST);
    char *after_o = harness_state_json(h, CUST "/opp/OPP-R");
    assert_string_equal(before_c, after_c);
    assert_string_equal(before_o, after_o);
    free(before_c);
    free(before_o);
    free(after_c);
    free(after_o);
    /* the decoded state still knows the competitor and the documents */
    feed_opp(h, "o2", "OPP-R", NULL, "discovery", "solution", T0 + DAY_MS);
    const struct alert *a = find_rule(h, "stage_claim_unsupported");
    assert_true(metric(a, "have") == 2.0);
    assert_string_equal(a->u.coaching.evidence[1],
                        "D-17 仅提及 1 个未被竞品覆盖的场景（需 2 个）");
    harness_free(h);
}

static void test_decode_rejects_bad_bytes(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "");
    feed_opp(h, "o1", "OPP-X", "medical", NULL, "discovery", T0);
    two_good_one_short(h, "OPP-X");
    feed_opp(h, "o2", "OPP-X", NULL, "discovery", "solution", T0 + 10);
    /* the customer, the opportunity, partition 0's stream time */
    const char *keys[] = {CUST, CUST "/opp/OPP-X", "~p0"};
    for (size_t k = 0; k < 3; k++) {
        void *st = harness_state(h, keys[k]);
        assert_non_null(st);
        struct buf b, b2;
        buf_init(&b);
        buf_init(&b2);
        OPS->state_encode(st, &b);
        void *back = NULL;
        assert_int_equal(OPS->state_decode(keys[k], b.data, b.len, &back), 0);
        OPS->state_encode(back, &b2);
        assert_int_equal(b.len, b2.len);
        assert_memory_equal(b.data, b2.data, b.len);
        OPS->state_free(back);
        for (size_t n = 0; n < b.len; n++) {
            back = (void *)1;
            assert_int_equal(OPS->state_decode(keys[k], b.data, n, &back), -1);
            assert_null(back);
        }
        uint8_t version = b.data[0];
        assert_int_equal(version, 3);
        const uint8_t bad[] = {0, 4, 99}; /* unknown versions */
        for (size_t i = 0; i < sizeof(bad); i++) {
            b.data[0] = bad[i];
            assert_int_equal(OPS->state_decode(keys[k], b.data, b.len, &back),
                             -1);
        }
        b.data[0] = version;
        /* a record under another type's key */
        assert_int_equal(
            OPS->state_decode(keys[(k + 1) % 3], b.data, b.len, &back), -1);
        buf_free(&b);
        buf_free(&b2);
    }
    OPS->state_free(NULL);
    harness_free(h);
}

static void test_max_opportunities_prunes_oldest(void **unused)
{
    (void)unused;
    struct harness *h = harness_new(OPS, AU_NO_GRACE "max_opportunities: 2\n");
    feed_opp(h, "o1", "P-1", "medical", NULL, "discovery", T0);
    feed_opp(h, "o2", "P-2", "medical", NULL, "discovery", T0 + 1);
    feed_opp(h, "o3", "P-1", "medical", "discovery", "discovery", T0 + 2);
    feed_opp(h, "o4", "P-3", "medical", NULL, "discovery", T0 + 3);
    assert_null(harness_state(h, CUST "/opp/P-2"));
    assert_non_null(harness_state(h, CUST "/opp/P-1"));
    assert_non_null(harness_state(h, CUST "/opp/P-3"));
    json_t *j = state_json(h, CUST);
    assert_int_equal(json_array_size(json_object_get(j, "opportunities")), 2);
    json_decref(j);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incomplete_after_days),
        cmocka_unit_test(test_incomplete_not_raised_when_evidenced),
        cmocka_unit_test(test_timer_fires_stalled_opportunity),
        cmocka_unit_test(test_timer_follows_partition),
        cmocka_unit_test(test_incomplete_id_same_on_both_paths),
        cmocka_unit_test(test_timer_respects_evidence),
        cmocka_unit_test(test_event_path_then_timer_once),
        cmocka_unit_test(test_timer_after_restart),
        cmocka_unit_test(test_stream_time_in_state),
        cmocka_unit_test(test_decode_format_1),
        cmocka_unit_test(test_restart_keeps_evidence),
        cmocka_unit_test(test_decode_rejects_bad_bytes),
        cmocka_unit_test(test_max_opportunities_prunes_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
