/*
 * test_team_activity.c - the team_activity processor through the in-memory
 * harness, whose repartition topic hands records back in order: updates
 * reach their rep's team in two hops (waiting for ref.reps when it comes
 * late), re-sent copies count once, and the state survives a restart.
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
#include "processor.h"

extern const struct processor_ops processor_team_activity;

#define T0 1772409600000LL

static int feed_rep(struct harness *h, const char *rep, const char *team,
                    int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_REP_ASSIGNMENT;
    ev.key = rep;
    ev.event_time = t;
    ev.u.rep = (struct rep_assignment){rep, "A Rep", team, "boss", NULL};
    return harness_feed(h, &ev);
}

static int feed_update(struct harness *h, const char *id, const char *rep,
                       const char *stage, double amount, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_OPPORTUNITY;
    ev.key = ev.customer_id = "cust-1";
    ev.event_id = id;
    ev.event_time = t;
    ev.u.opportunity = (struct opportunity_update){
        .opportunity_id = "opp-1", .rep_id = rep, .stage_to = stage,
        .has_amount = amount > 0, .amount = amount};
    return harness_feed(h, &ev);
}

static void expect_team(struct harness *h, const char *team, const char *json)
{
    char key[64];
    snprintf(key, sizeof(key), "%s/team", team);
    char *got = harness_state_json(h, key);
    if (!got)
        fail_msg("no state for %s", key);
    if (!strstr(got, json))
        fail_msg("%s: '%s' lacks '%s'", key, got, json);
    free(got);
}

static void test_counts_per_team(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_team_activity, "");
    assert_int_equal(feed_rep(h, "rep-1", "north", T0), 0);
    assert_int_equal(feed_rep(h, "rep-2", "north", T0), 0);
    assert_int_equal(feed_rep(h, "rep-3", "south", T0), 0);
    assert_int_equal(feed_update(h, "e1", "rep-1", "proposal", 0, T0 + 1), 0);
    assert_int_equal(feed_update(h, "e2", "rep-2", "closed_won", 1000, T0 + 2), 0);
    assert_int_equal(feed_update(h, "e3", "rep-3", "won", 250.5, T0 + 3), 0);
    /* Three updates, two hops each. */
    assert_int_equal(harness_repartitioned(h), 6);
    expect_team(h, "north", "\"updates\":2,\"won\":1,\"won_amount\":1000");
    expect_team(h, "south", "\"updates\":1,\"won\":1,\"won_amount\":250.5");
    /* A rep ref.reps does not name yet: its updates wait in its state
     * and go to its team when the assignment comes. */
    assert_int_equal(feed_update(h, "e4", "rep-9", "proposal", 0, T0 + 4), 0);
    assert_int_equal(feed_update(h, "e6", "rep-9", "won", 3, T0 + 4), 0);
    char *rep = harness_state_json(h, "rep-9/rep");
    assert_non_null(strstr(rep, "\"pending\":{\"updates\":2,\"won\":1"));
    free(rep);
    assert_int_equal(feed_rep(h, "rep-9", "north", T0 + 1), 0);
    expect_team(h, "north", "\"updates\":4,\"won\":2,\"won_amount\":1003");
    rep = harness_state_json(h, "rep-9/rep");
    assert_non_null(strstr(rep, "\"pending\":{\"updates\":0"));
    free(rep);
    /* A later assignment moves the rep; an older one arriving late does
     * not move it back. */
    assert_int_equal(feed_rep(h, "rep-1", "south", T0 + 10), 0);
    assert_int_equal(feed_rep(h, "rep-1", "north", T0 + 5), 0);
    assert_int_equal(feed_update(h, "e5", "rep-1", "won", 10, T0 + 11), 0);
    expect_team(h, "south", "\"updates\":2,\"won\":2,\"won_amount\":260.5");
    harness_free(h);
}

static void test_copies_count_once(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_team_activity, "");
    assert_int_equal(feed_rep(h, "rep-1", "north", T0), 0);
    assert_int_equal(feed_update(h, "e1", "rep-1", "won", 100, T0 + 1), 0);
    assert_int_equal(feed_update(h, "e2", "rep-1", "proposal", 0, T0 + 2), 0);
    size_t n = harness_repartitioned(h);
    assert_int_equal(n, 4);
    /* Every record handed back again, as after a crash: nothing changes,
     * and no hop sends anything new. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(harness_resend(h, i), 0);
    assert_int_equal(harness_repartitioned(h), n);
    expect_team(h, "north", "\"updates\":2,\"won\":1,\"won_amount\":100");
    /* The marks are state: they survive a restart too. */
    harness_restart(h);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(harness_resend(h, i), 0);
    expect_team(h, "north", "\"updates\":2,\"won\":1,\"won_amount\":100");
    char *rep = harness_state_json(h, "rep-1/rep");
    assert_non_null(rep);
    assert_non_null(strstr(rep, "\"team_id\":\"north\""));
    free(rep);
    harness_free(h);
}

static void test_config(void **state)
{
    (void)state;
    char errs[512];
    assert_int_equal(harness_config_check(&processor_team_activity,
                                          "won_stages: [signed]\n", errs,
                                          sizeof(errs)),
                     0);
    assert_int_equal(harness_config_check(&processor_team_activity,
                                          "won_stage: [signed]\n", errs,
                                          sizeof(errs)),
                     -1);
    assert_non_null(strstr(errs, "won_stages"));
    struct harness *h = harness_new(&processor_team_activity,
                                    "won_stages: [signed]\n");
    assert_int_equal(feed_rep(h, "rep-1", "north", T0), 0);
    assert_int_equal(feed_update(h, "e1", "rep-1", "won", 5, T0 + 1), 0);
    assert_int_equal(feed_update(h, "e2", "rep-1", "signed", 7, T0 + 2), 0);
    expect_team(h, "north", "\"updates\":2,\"won\":1,\"won_amount\":7");
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_team),
        cmocka_unit_test(test_copies_count_once),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
