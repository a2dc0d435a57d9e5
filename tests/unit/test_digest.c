/*
 * test_digest.c - the digest processor: a team's local day in its zone
 * (ICU; 23 hours on the spring DST change), the ranking rule, the rep's
 * assignment history, and through the harness a team's alerts over two
 * days from two origin partitions: one digest per day with the expected
 * top 3 and counts, closed on the least time over the origins, a late
 * alert in the next day's digest, copies and a restart changing nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "digest.h"
#include "harness.h"

extern const struct processor_ops processor_digest;

#define MIN 60000LL
#define HOUR 3600000LL
/* 2026-03-02 00:00 in Asia/Shanghai (UTC+8) = 2026-03-01 16:00Z. */
#define SH_DAY1 1772380800000LL

static void test_local_day(void **state)
{
    (void)state;
    char day[11];
    int64_t s, e;
    assert_int_equal(dg_local_day("Asia/Shanghai", SH_DAY1 + 10 * HOUR, day, &s, &e), 0);
    assert_string_equal(day, "2026-03-02");
    assert_int_equal(s, SH_DAY1);
    assert_int_equal(e - s, 24 * HOUR);
    /* 23:59 local is still that day; midnight is the next. */
    assert_int_equal(dg_local_day("Asia/Shanghai", SH_DAY1 - 1, day, &s, &e), 0);
    assert_string_equal(day, "2026-03-01");
    /* New York springs forward on 2026-03-08: a 23-hour day; falls back
     * on 2026-11-01: 25 hours. */
    int64_t ny = 1772946000000LL; /* 2026-03-08 05:00Z = 00:00 EST */
    assert_int_equal(dg_local_day("America/New_York", ny + 12 * HOUR, day, &s, &e), 0);
    assert_string_equal(day, "2026-03-08");
    assert_int_equal(s, ny);
    assert_int_equal(e - s, 23 * HOUR);
    assert_int_equal(dg_local_day("America/New_York", 1793505600000LL + 12 * HOUR,
                                  day, &s, &e), 0);
    assert_string_equal(day, "2026-11-01");
    assert_int_equal(e - s, 25 * HOUR);
    assert_int_equal(dg_local_day("Mars/Olympus", ny, day, &s, &e), -1);
    assert_false(dg_zone_valid("Mars/Olympus"));
    assert_true(dg_zone_valid("Europe/Berlin"));
}

static void test_rank(void **state)
{
    (void)state;
    struct dg_note a = {.alert_id = "a", .severity = "RED", .tier = "B",
                        .has_amount = true, .amount = 10, .time = 5};
    struct dg_note b = a, c = a, d = a, w = a;
    b.alert_id = "b";
    b.tier = "A"; /* better tier first, whatever the amount */
    b.amount = 1;
    c.alert_id = "c";
    c.amount = 20; /* same tier: the larger amount first */
    d.alert_id = "d";
    d.time = 1; /* same tier and amount: the older first */
    w.alert_id = "w";
    w.severity = "WARNING";
    w.tier = "A";
    assert_true(dg_rank_cmp(&b, &a) < 0);
    assert_true(dg_rank_cmp(&c, &a) < 0);
    assert_true(dg_rank_cmp(&d, &a) < 0);
    assert_true(dg_rank_cmp(&a, &w) < 0); /* severity before all */
    struct dg_note u = a; /* unknown tier and amount: last */
    u.alert_id = "u";
    u.tier = NULL;
    assert_true(dg_rank_cmp(&a, &u) < 0);
    u.tier = "B";
    u.has_amount = false;
    assert_true(dg_rank_cmp(&a, &u) < 0);
    char why[256];
    dg_why(&b, 1, 4, "Asia/Shanghai", why, sizeof(why));
    if (!strstr(why, "#1 of 4 RED: customer tier A, opportunity amount 1"))
        fail_msg("why: %s", why);
}

static void test_rep_history(void **state)
{
    (void)state;
    struct dg_obj *o = digest_state_new("rep-1/rep");
    assert_int_equal(o->type, DG_REP);
    struct dg_rep *r = &o->u.r;
    assert_null(dg_rep_at(r, 0));
    assert_true(dg_rep_add(r, 1000, "north", "m1", "Asia/Shanghai"));
    assert_true(dg_rep_add(r, 5000, "south", "m2", NULL)); /* moves mid-day */
    assert_true(dg_rep_add(r, 3000, "east", "m3", NULL));  /* out of order */
    assert_string_equal(dg_rep_at(r, 500)->team, "north"); /* before the first */
    assert_string_equal(dg_rep_at(r, 1000)->team, "north");
    assert_string_equal(dg_rep_at(r, 4999)->team, "east");
    assert_string_equal(dg_rep_at(r, 5000)->team, "south");
    assert_true(dg_rep_add(r, 5000, "west", "m4", NULL)); /* corrected row */
    assert_string_equal(dg_rep_at(r, 9000)->team, "west");
    assert_int_equal(r->n, 3);
    struct buf b = {0};
    digest_state_encode(o, &b);
    void *back = NULL;
    assert_int_equal(digest_state_decode("rep-1/rep", b.data, b.len, &back), 0);
    assert_string_equal(dg_rep_at(&((struct dg_obj *)back)->u.r, 4000)->team, "east");
    digest_state_free(back);
    digest_state_free(o);
    buf_free(&b);
}

/* ---- through the harness ---- */

static int64_t next_offset = 100;

static void rep_row(struct harness *h, const char *rep, const char *team,
                    const char *zone, int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_REP_ASSIGNMENT;
    ev.key = rep;
    ev.event_id = rep;
    ev.event_time = t;
    ev.u.rep = (struct rep_assignment){.rep_id = rep, .name = rep,
                                       .team_id = team, .manager_id = "mgr-1",
                                       .time_zone = zone};
    assert_int_equal(harness_feed(h, &ev), 0);
}

static void opp(struct harness *h, const char *cust, const char *opp_id,
                double amount)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_OPPORTUNITY;
    ev.key = ev.customer_id = cust;
    ev.event_id = opp_id;
    ev.event_time = SH_DAY1;
    ev.u.opportunity = (struct opportunity_update){
        .opportunity_id = opp_id, .rep_id = "rep-1", .stage_to = "proposal",
        .has_amount = true, .amount = amount};
    assert_int_equal(harness_feed(h, &ev), 0);
}

static void tier(struct harness *h, const char *cust, const char *t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_OPPORTUNITY;
    ev.key = ev.customer_id = cust;
    ev.event_id = "tier";
    ev.src = (struct event_source){"crm.opportunity-updates", 0, next_offset++};
    struct alert a = {.kind = ALERT_LEAD_RERATING, .customer_id = cust,
                      .dedup_key = t, .u.rerating = {.tier = t}};
    assert_int_equal(harness_observe(h, &a, &ev), 0);
}

/* A coaching alert raised at `partition` by event `id` at time t. */
static void coach(struct harness *h, const char *id, const char *cust,
                  const char *rep, enum coaching_category cat,
                  enum alert_severity sev, const char *opp_id, int32_t partition,
                  int64_t t)
{
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_TRANSCRIPT;
    ev.key = ev.customer_id = cust;
    ev.event_id = id;
    ev.event_time = t;
    ev.src = (struct event_source){"sales.transcripts", partition, next_offset++};
    struct alert a = {.kind = ALERT_COACHING, .customer_id = cust,
                      .dedup_key = id,
                      .u.coaching = {.rep_id = rep, .opportunity_id = opp_id,
                                     .rule = "r", .category = cat,
                                     .severity = sev, .message = id}};
    assert_int_equal(harness_observe(h, &a, &ev), 0);
}

static const struct alert *digest_n(struct harness *h, size_t k)
{
    for (size_t i = 0; i < harness_alert_count(h); i++)
        if (harness_alert(h, i)->kind == ALERT_DAILY_DIGEST && k-- == 0)
            return harness_alert(h, i);
    return NULL;
}

static size_t digests(struct harness *h)
{
    size_t n = 0;
    while (digest_n(h, n))
        n++;
    return n;
}

static double count_of(const struct daily_digest *d, const char *name)
{
    for (size_t i = 0; i < d->n_counts; i++)
        if (strcmp(d->counts[i].name, name) == 0)
            return d->counts[i].value;
    return -1;
}

static void test_team_days(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_digest, "");
    rep_row(h, "rep-1", "team-a", "Asia/Shanghai", SH_DAY1 - 48 * HOUR);
    rep_row(h, "rep-2", "team-a", "Asia/Shanghai", SH_DAY1 - 48 * HOUR);
    /* rep-3 moves from team-b to team-a at 12:00 on day 1. */
    rep_row(h, "rep-3", "team-b", "Asia/Shanghai", SH_DAY1 - 48 * HOUR);
    rep_row(h, "rep-3", "team-a", "Asia/Shanghai", SH_DAY1 + 12 * HOUR);
    opp(h, "acme", "o-acme", 500000);
    opp(h, "bolt", "o-bolt", 900000);
    opp(h, "cyan", "o-cyan", 100000);
    tier(h, "acme", "A");
    tier(h, "bolt", "B");
    tier(h, "cyan", "A");
    /* Day 1 (2026-03-02 local), from partitions 1 and 2. */
    coach(h, "e1", "bolt", "rep-1", CAT_UNANSWERED_OBJECTION, SEV_RED, "o-bolt", 1, SH_DAY1 + 9 * HOUR);
    coach(h, "e2", "acme", "rep-2", CAT_STAGE_CLAIM_UNSUPPORTED, SEV_RED, "o-acme", 2, SH_DAY1 + 10 * HOUR);
    coach(h, "e3", "cyan", "rep-1", CAT_WORK_ITEM_OVERDUE, SEV_RED, NULL, 1, SH_DAY1 + 11 * HOUR);
    coach(h, "e4", "acme", "rep-2", CAT_TALK_RATIO, SEV_WARNING, NULL, 2, SH_DAY1 + 11 * HOUR);
    coach(h, "e5", "dune", "rep-1", CAT_MONOLOGUE, SEV_RED, NULL, 1, SH_DAY1 + 12 * HOUR);
    coach(h, "e6", "dune", "rep-3", CAT_MONOLOGUE, SEV_RED, NULL, 2, SH_DAY1 + 11 * HOUR); /* team-b then */
    coach(h, "e7", "dune", "rep-3", CAT_QUESTIONS, SEV_INFO, NULL, 2, SH_DAY1 + 13 * HOUR); /* team-a now */
    assert_int_equal(digests(h), 0);
    /* Partition 1 goes past midnight + grace; partition 2 has not: no
     * close (the least over the origins, not the largest). */
    coach(h, "e8", "bolt", "rep-1", CAT_QUESTIONS, SEV_INFO, NULL, 1, SH_DAY1 + 26 * HOUR);
    assert_int_equal(digests(h), 0);
    harness_restart(h);
    /* A copy of a record re-sent after a crash: skipped by alert_id. */
    assert_int_equal(harness_resend(h, 3), 0);
    /* Partition 2 passes too: day 1 closes, once. */
    coach(h, "e9", "acme", "rep-2", CAT_QUESTIONS, SEV_INFO, NULL, 2, SH_DAY1 + 25 * HOUR + 30 * MIN);
    assert_int_equal(digests(h), 1);
    const struct alert *a = digest_n(h, 0);
    const struct daily_digest *d = &a->u.digest;
    assert_string_equal(a->customer_id, "team-a");
    assert_string_equal(d->day, "2026-03-02");
    assert_string_equal(d->time_zone, "Asia/Shanghai");
    assert_string_equal(d->manager_id, "mgr-1");
    assert_int_equal(a->event_time, SH_DAY1 + 24 * HOUR);
    /* Tier A with the larger amount, tier A, tier B, then tier unknown. */
    assert_int_equal(d->n_top, 3);
    assert_string_equal(d->top[0].message, "e2");
    assert_string_equal(d->top[1].message, "e3");
    assert_string_equal(d->top[2].message, "e1");
    assert_string_equal(d->top[0].tier, "A");
    assert_true(d->top[0].has_amount);
    assert_non_null(strstr(d->top[0].why_ranked, "#1 of 4 RED"));
    assert_false(d->top[0].late);
    assert_true(count_of(d, "MONOLOGUE") == 1); /* e6 went to team-b */
    assert_true(count_of(d, "QUESTIONS") == 1);
    assert_true(count_of(d, "TALK_RATIO") == 1);
    assert_true(count_of(d, "UNANSWERED_OBJECTION") == 1);
    assert_int_equal(d->late_alerts, 0);
    char id1[33];
    snprintf(id1, sizeof(id1), "%s", a->alert_id);
    /* A late alert of day 1 goes into day 2's digest, flagged. */
    coach(h, "e10", "bolt", "rep-1", CAT_MISSED_CONTEXT, SEV_RED, "o-bolt", 1, SH_DAY1 + 20 * HOUR);
    coach(h, "e11", "bolt", "rep-1", CAT_QUESTIONS, SEV_INFO, NULL, 1, SH_DAY1 + 50 * HOUR);
    coach(h, "e12", "acme", "rep-2", CAT_QUESTIONS, SEV_INFO, NULL, 2, SH_DAY1 + 50 * HOUR);
    assert_int_equal(digests(h), 2);
    d = &digest_n(h, 1)->u.digest;
    assert_string_equal(d->day, "2026-03-03");
    assert_int_equal(d->late_alerts, 1);
    assert_int_equal(d->n_top, 1);
    assert_true(d->top[0].late);
    assert_non_null(strstr(d->top[0].why_ranked, "late"));
    /* The same team and day always give the same digest id. */
    struct alert again = {.kind = ALERT_DAILY_DIGEST, .customer_id = "team-a",
                          .dedup_key = "digest/2026-03-02", .id_from_state = true};
    alert_compute_id(&again);
    assert_string_equal(again.alert_id, id1);
    harness_free(h);
}

/* Work items: OVERDUE ones counted, DONE ones' response times give the
 * median per department; an alert of a rep with no ref.reps row fails. */
static void test_work_items(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_digest, "top_n: 2\n");
    rep_row(h, "rep-1", "team-z", NULL, 0); /* default zone: UTC */
    struct event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = EVENT_WORK_ITEM_UPDATE;
    ev.key = ev.customer_id = "acme";
    ev.event_time = 10 * HOUR;
    ev.src = (struct event_source){"ops.work-item-updates", 0, 1};
    const char *ids[] = {"u1", "u2", "u3", "u4"};
    int64_t resp[] = {30 * MIN, 90 * MIN, 60 * MIN};
    for (int i = 0; i < 3; i++) {
        ev.event_id = ids[i];
        struct alert a = {.kind = ALERT_WORK_ITEM, .customer_id = "acme",
                          .dedup_key = ids[i],
                          .u.work_item = {.work_item_id = ids[i],
                                          .rep_id = "rep-1",
                                          .department = "legal",
                                          .created_time = 10 * HOUR - resp[i],
                                          .status = WI_DONE}};
        assert_int_equal(harness_observe(h, &a, &ev), 0);
    }
    ev.event_id = ids[3];
    struct alert o = {.kind = ALERT_WORK_ITEM, .customer_id = "acme",
                      .dedup_key = "o", .u.work_item = {.work_item_id = "w",
                      .rep_id = "rep-1", .department = "finance",
                      .status = WI_OVERDUE}};
    assert_int_equal(harness_observe(h, &o, &ev), 0);
    ev.event_time = 26 * HOUR;
    ev.event_id = "late";
    struct alert q = {.kind = ALERT_COACHING, .customer_id = "acme",
                      .dedup_key = "q", .u.coaching = {.rep_id = "rep-1",
                      .rule = "r", .category = CAT_QUESTIONS,
                      .severity = SEV_INFO, .message = "q"}};
    assert_int_equal(harness_observe(h, &q, &ev), 0);
    assert_int_equal(digests(h), 1);
    const struct daily_digest *d = &digest_n(h, 0)->u.digest;
    assert_string_equal(d->day, "1970-01-01");
    assert_string_equal(d->time_zone, "UTC");
    assert_int_equal(d->overdue_work_items, 1);
    assert_int_equal(d->n_top, 0);
    assert_int_equal(d->n_medians, 1);
    assert_string_equal(d->median_response_hours[0].name, "legal");
    assert_true(d->median_response_hours[0].value == 1.0);
    /* No counts for work items themselves: their coaching alerts count. */
    assert_int_equal(d->n_counts, 0);
    /* A rep whose ref.reps row comes after the alert: it waits at the
     * rep (across a restart), then reaches the team with the row. */
    q.u.coaching.rep_id = "newbie";
    q.u.coaching.severity = SEV_RED;
    q.dedup_key = "q2";
    ev.event_time = 30 * HOUR;
    assert_int_equal(harness_observe(h, &q, &ev), 0);
    char *js = harness_state_json(h, "newbie/rep");
    assert_non_null(strstr(js, "\"pending_alerts\":1"));
    free(js);
    harness_restart(h);
    rep_row(h, "newbie", "team-z", NULL, 29 * HOUR);
    js = harness_state_json(h, "newbie/rep");
    assert_non_null(strstr(js, "\"pending_alerts\":0"));
    free(js);
    js = harness_state_json(h, "team-z/team");
    if (!strstr(js, "\"day\":\"1970-01-02\""))
        fail_msg("team-z: %s", js);
    assert_non_null(strstr(js, "\"rep_id\":\"newbie\""));
    free(js);
    harness_free(h);
}

/* With no alert after midnight, the origins' watermarks close the day
 * (on_timer), with the same digest id a record would have given. */
static void test_timer_close(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_digest, "");
    rep_row(h, "rep-1", "team-a", "Asia/Shanghai", 0);
    coach(h, "e1", "bolt", "rep-1", CAT_UNANSWERED_OBJECTION, SEV_RED, NULL, 1,
          SH_DAY1 + 9 * HOUR);
    harness_timer(h, 0);
    assert_int_equal(digests(h), 0);
    harness_set_watermark(h, true, SH_DAY1 + 24 * HOUR + 59 * MIN); /* < grace */
    harness_timer(h, 0);
    assert_int_equal(digests(h), 0);
    harness_set_watermark(h, true, SH_DAY1 + 25 * HOUR);
    harness_own(h, 0, false); /* the team's partition is another's */
    harness_timer(h, 0);
    assert_int_equal(digests(h), 0);
    harness_own(h, 0, true);
    harness_restart(h);
    harness_timer(h, 0);
    assert_int_equal(digests(h), 1);
    harness_timer(h, 0);
    assert_int_equal(digests(h), 1);
    const struct alert *a = digest_n(h, 0);
    assert_string_equal(a->u.digest.day, "2026-03-02");
    assert_int_equal(a->u.digest.n_top, 1);
    struct alert again = {.kind = ALERT_DAILY_DIGEST, .customer_id = "team-a",
                          .dedup_key = "digest/2026-03-02", .id_from_state = true};
    alert_compute_id(&again);
    assert_string_equal(again.alert_id, a->alert_id);
    harness_free(h);
}

/* Two teams in different zones: the same stream time closes Shanghai's
 * day (UTC+8) hours before Berlin's (UTC+1); each team gets its own. */
static void test_two_zones(void **state)
{
    (void)state;
    struct harness *h = harness_new(&processor_digest, "grace: 30m\n");
    rep_row(h, "rep-sh", "team-sh", "Asia/Shanghai", 0);
    rep_row(h, "rep-be", "team-be", "Europe/Berlin", 0);
    /* 2026-03-02 10:00Z: 18:00 in Shanghai, 11:00 in Berlin. */
    int64_t t = SH_DAY1 + 18 * HOUR;
    coach(h, "s1", "c1", "rep-sh", CAT_MONOLOGUE, SEV_RED, NULL, 1, t);
    coach(h, "b1", "c2", "rep-be", CAT_MONOLOGUE, SEV_RED, NULL, 1, t);
    /* 17:00Z: past Shanghai's midnight + 30 min, not Berlin's. */
    harness_set_watermark(h, true, SH_DAY1 + 25 * HOUR);
    harness_timer(h, 0);
    assert_int_equal(digests(h), 1);
    assert_string_equal(digest_n(h, 0)->customer_id, "team-sh");
    assert_string_equal(digest_n(h, 0)->u.digest.day, "2026-03-02");
    /* 2026-03-03 00:00 Berlin is 23:00Z on the 2nd; + 30 min. */
    harness_set_watermark(h, true, SH_DAY1 + 31 * HOUR + 29 * MIN);
    harness_timer(h, 0);
    assert_int_equal(digests(h), 1);
    harness_set_watermark(h, true, SH_DAY1 + 31 * HOUR + 30 * MIN);
    harness_timer(h, 0);
    assert_int_equal(digests(h), 2);
    assert_string_equal(digest_n(h, 1)->customer_id, "team-be");
    assert_string_equal(digest_n(h, 1)->u.digest.day, "2026-03-02");
    assert_string_equal(digest_n(h, 1)->u.digest.time_zone, "Europe/Berlin");
    harness_free(h);
}

/* New York's spring-forward day is 23 hours: it closes at 04:00Z the next
 * day (midnight EDT), not 05:00Z, and the digest's time is that end. */
static void test_dst_close(void **state)
{
    (void)state;
    int64_t ny = 1772946000000LL; /* 2026-03-08 00:00 EST = 05:00Z */
    struct harness *h = harness_new(&processor_digest, "grace: 0s\n");
    rep_row(h, "rep-ny", "team-ny", "America/New_York", 0);
    coach(h, "n1", "c1", "rep-ny", CAT_MONOLOGUE, SEV_RED, NULL, 1, ny + 12 * HOUR);
    harness_set_watermark(h, true, ny + 23 * HOUR - 1);
    harness_timer(h, 0);
    assert_int_equal(digests(h), 0);
    harness_set_watermark(h, true, ny + 23 * HOUR);
    harness_timer(h, 0);
    assert_int_equal(digests(h), 1);
    assert_string_equal(digest_n(h, 0)->u.digest.day, "2026-03-08");
    assert_int_equal(digest_n(h, 0)->event_time, ny + 23 * HOUR);
    harness_free(h);
}

static void test_config(void **state)
{
    (void)state;
    char errs[1024];
    assert_int_equal(harness_config_check(&processor_digest,
                                          "default_zone: Mars/Olympus\n",
                                          errs, sizeof(errs)), -1);
    assert_non_null(strstr(errs, "default_zone"));
    assert_int_equal(harness_config_check(&processor_digest, "top_n: 0\n",
                                          errs, sizeof(errs)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_day),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_rep_history),
        cmocka_unit_test(test_team_days),
        cmocka_unit_test(test_work_items),
        cmocka_unit_test(test_timer_close),
        cmocka_unit_test(test_two_zones),
        cmocka_unit_test(test_dst_close),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
