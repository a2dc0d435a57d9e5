/*
 * test_ordering.c - the event-time chooser without a broker: merges across
 * topics, FIFO within a topic, the bounded wait for an empty topic (once
 * per quiet spell, per group, never for the other groups), the buffer cap,
 * watermarks, and the property that any arrival interleaving of the same
 * per-topic sequences is applied in the same order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ordering.h"

#define IDLE 300

static struct ordering *mk(size_t n_topics, int64_t idle, size_t cap)
{
    struct ordering_opts oo = {.n_topics = n_topics,
                               .max_idle_ms = idle,
                               .idle_topic_ms = 10000,
                               .max_buffered = cap};
    struct ordering *o = ordering_new(&oo);
    assert_non_null(o);
    return o;
}

/* Items are small integers carried in the pointer. */
#define ITEM(i) ((void *)(uintptr_t)(i))
#define ID(r) ((int)(uintptr_t)(r).item)

/* Pops and applies, as the runtime does. */
static int pop_id(struct ordering *o, int64_t now, bool force)
{
    struct ordering_rec r;
    if (ordering_pop(o, now, force, &r) != 1)
        return -1;
    ordering_applied(o, r.topic, r.partition, r.event_time);
    return ID(r);
}

/* Everything buffered: the smallest event time first across topics, but a
 * topic's own late record keeps its place behind the ones before it. */
static void test_merge_and_fifo(void **state)
{
    (void)state;
    struct ordering *o = mk(2, IDLE, 0);
    ordering_push(o, 0, 0, 100, ITEM(1), 0);
    ordering_push(o, 0, 0, 50, ITEM(2), 0); /* late within topic 0 */
    ordering_push(o, 0, 0, 300, ITEM(3), 0);
    ordering_push(o, 1, 0, 80, ITEM(4), 0);
    ordering_push(o, 1, 0, 200, ITEM(5), 0);
    /* 4 (80) < 1 (100); then 1; then 2 (50) < 5 (200); then 5; topic 1 is
     * empty now, so 3 waits for it. */
    assert_int_equal(pop_id(o, 0, false), 4);
    assert_int_equal(pop_id(o, 0, false), 1);
    assert_int_equal(pop_id(o, 0, false), 2);
    assert_int_equal(pop_id(o, 0, false), 5);
    assert_int_equal(pop_id(o, 0, false), -1);
    assert_int_equal(pop_id(o, 0, true), 3);
    assert_int_equal(ordering_buffered(o), 0);
    ordering_free(o);
}

/* The race: the stage change (day 10) is polled before the
 * interviews (days 1-3), which come within the wait. */
static void test_waits_for_empty_topic(void **state)
{
    (void)state;
    struct ordering *o = mk(2, IDLE, 0);
    ordering_push(o, 1, 3, 10 * 86400000LL, ITEM(10), 1000);
    assert_int_equal(pop_id(o, 1000, false), -1);
    assert_int_equal(ordering_wait_ms(o, 1000, 100), 100);
    assert_int_equal(ordering_wait_ms(o, 1250, 100), 50);
    ordering_push(o, 0, 3, 1 * 86400000LL, ITEM(1), 1100);
    ordering_push(o, 0, 3, 2 * 86400000LL, ITEM(2), 1100);
    ordering_push(o, 0, 3, 3 * 86400000LL, ITEM(3), 1100);
    assert_int_equal(pop_id(o, 1100, false), 1);
    assert_int_equal(pop_id(o, 1100, false), 2);
    assert_int_equal(pop_id(o, 1100, false), 3);
    /* topic 0 drained: the stage change waits for it afresh... */
    assert_int_equal(pop_id(o, 1100, false), -1);
    /* ...but not longer than max_idle. */
    assert_int_equal(pop_id(o, 1100 + IDLE, false), 10);
    assert_int_equal(ordering_enforced(o), 1);
    ordering_free(o);
}

/* A topic that never delivers costs its group one wait; records arriving
 * right after are applied at once, until the group has been quiet for
 * max_idle, when a new burst waits again. */
static void test_idle_topic_waits_once(void **state)
{
    (void)state;
    struct ordering *o = mk(2, IDLE, 0);
    ordering_push(o, 0, 0, 1, ITEM(1), 0);
    assert_int_equal(pop_id(o, 0, false), -1);
    assert_int_equal(pop_id(o, IDLE - 1, false), -1);
    assert_int_equal(pop_id(o, IDLE, false), 1);
    for (int i = 0; i < 50; i++) {
        int64_t now = IDLE + 1 + i;
        ordering_push(o, 0, 0, 10 + i, ITEM(100 + i), now);
        assert_int_equal(pop_id(o, now, false), 100 + i);
    }
    assert_int_equal(ordering_enforced(o), 1);
    /* quiet for max_idle: the next record waits for its siblings again */
    int64_t later = IDLE + 50 + IDLE;
    ordering_push(o, 0, 0, 500, ITEM(7), later);
    assert_int_equal(pop_id(o, later, false), -1);
    assert_int_equal(pop_id(o, later + IDLE, false), 7);
    assert_int_equal(ordering_enforced(o), 2);
    ordering_free(o);
}

/* A waiting group never holds up another. */
static void test_groups_independent(void **state)
{
    (void)state;
    struct ordering *o = mk(2, IDLE, 0);
    ordering_push(o, 0, 0, 5, ITEM(1), 0);     /* group 0 waits */
    ordering_push(o, 0, 1, 9, ITEM(2), 0);     /* group 1 has both */
    ordering_push(o, 1, 1, 7, ITEM(3), 0);
    assert_int_equal(pop_id(o, 0, false), 3);
    assert_int_equal(pop_id(o, 0, false), -1); /* both wait now */
    ordering_push(o, 1, 1, 8, ITEM(4), 10);
    assert_int_equal(pop_id(o, 10, false), 4); /* 8 < 9 */
    assert_int_equal(pop_id(o, 10, false), -1);
    assert_int_equal(pop_id(o, IDLE, false), 1);
    /* group 1 started waiting for topic 1 at 10 */
    assert_int_equal(pop_id(o, IDLE, false), -1);
    assert_int_equal(ordering_wait_ms(o, IDLE, 100), 10);
    assert_int_equal(pop_id(o, IDLE + 10, false), 2);
    ordering_free(o);
}

/* Nothing waits once max_buffered records are held. */
static void test_buffer_cap(void **state)
{
    (void)state;
    struct ordering *o = mk(2, IDLE, 3);
    ordering_push(o, 0, 0, 1, ITEM(1), 0);
    ordering_push(o, 0, 0, 2, ITEM(2), 0);
    assert_int_equal(pop_id(o, 0, false), -1);
    ordering_push(o, 0, 0, 3, ITEM(3), 0);
    assert_int_equal(pop_id(o, 0, false), 1);
    assert_int_equal(pop_id(o, 0, false), -1);
    ordering_free(o);
}

/* max_idle 0: no waiting at all (the behaviour before this module). */
static void test_no_idle(void **state)
{
    (void)state;
    struct ordering *o = mk(2, 0, 0);
    ordering_push(o, 1, 0, 9, ITEM(1), 0);
    assert_int_equal(pop_id(o, 0, false), 1);
    assert_int_equal(ordering_enforced(o), 0);
    ordering_free(o);
}

/* A derived topic (repartition) is merged but never waited for, and stays
 * out of the watermark. */
static void test_derived_topic_not_waited(void **state)
{
    (void)state;
    struct ordering_opts oo = {.n_topics = 2, .n_waited = 1,
                               .max_idle_ms = IDLE, .idle_topic_ms = 10000};
    struct ordering *o = ordering_new(&oo);
    ordering_push(o, 0, 0, 50, ITEM(1), 0);
    assert_int_equal(pop_id(o, 0, false), 1); /* topic 1 not awaited */
    ordering_push(o, 1, 0, 40, ITEM(2), 0);
    assert_int_equal(pop_id(o, 0, false), -1); /* topic 0 is */
    ordering_push(o, 0, 0, 45, ITEM(3), 1);
    assert_int_equal(pop_id(o, 1, false), 2); /* merged by event time */
    assert_int_equal(pop_id(o, 1, false), 3);
    int64_t wm;
    assert_int_equal(ordering_watermark(o, 0, 1, &wm), 1);
    assert_int_equal(wm, 50);
    assert_int_equal(ordering_enforced(o), 0);
    ordering_free(o);
}

/* The watermark counts applied records only (it is stored with the
 * offsets of what was applied), leaves silent topics out, and never goes
 * back. */
static void test_watermark(void **state)
{
    (void)state;
    struct ordering *o = mk(2, IDLE, 0);
    int64_t wm;
    assert_int_equal(ordering_watermark(o, 0, 0, &wm), 0);
    ordering_push(o, 0, 0, 500, ITEM(1), 0);
    ordering_push(o, 1, 0, 200, ITEM(2), 0);
    assert_int_equal(ordering_watermark(o, 0, 0, &wm), 0); /* only held */
    assert_int_equal(pop_id(o, 0, false), 2);
    assert_int_equal(ordering_watermark(o, 0, 0, &wm), 1);
    assert_int_equal(wm, 200);
    ordering_push(o, 1, 0, 100, ITEM(3), 0); /* late: topic 1's max stays */
    assert_int_equal(pop_id(o, 0, false), 3);
    assert_int_equal(pop_id(o, 0, true), 1);
    assert_int_equal(ordering_watermark(o, 0, 0, &wm), 1);
    assert_int_equal(wm, 200); /* min(500, 200) */
    /* topic 1 silent past idle_topic_ms: out of the minimum */
    ordering_push(o, 0, 0, 900, ITEM(4), 20000);
    assert_int_equal(pop_id(o, 20000, true), 4);
    assert_int_equal(ordering_watermark(o, 0, 20000, &wm), 1);
    assert_int_equal(wm, 900);
    /* back with older records: the watermark does not go back */
    ordering_push(o, 1, 0, 300, ITEM(5), 20001);
    assert_int_equal(pop_id(o, 20001, true), 5);
    assert_int_equal(ordering_watermark(o, 0, 20001, &wm), 1);
    assert_int_equal(wm, 900);
    assert_int_equal(ordering_watermark(o, 1, 0, &wm), 0);
    ordering_free(o);
}

/* Seeded from the state on assignment; forgotten when the partitions
 * leave, but never while the group still holds records. */
static void test_watermark_seed_and_forget(void **state)
{
    (void)state;
    struct ordering *o = mk(2, IDLE, 0);
    int64_t wm;
    ordering_seed_watermark(o, 3, 1000, 0);
    assert_int_equal(ordering_watermark(o, 3, 0, &wm), 1);
    assert_int_equal(wm, 1000);
    ordering_push(o, 0, 3, 800, ITEM(1), 0);
    ordering_push(o, 1, 3, 1200, ITEM(2), 0);
    assert_int_equal(pop_id(o, 0, false), 1);
    assert_int_equal(ordering_watermark(o, 3, 0, &wm), 1);
    assert_int_equal(wm, 1000); /* 800 is below the stored value */
    assert_int_equal(ordering_forget(o, 3), -1); /* record 2 still held */
    assert_int_equal(ordering_buffered(o), 1);
    assert_int_equal(pop_id(o, 0, true), 2);
    assert_int_equal(ordering_watermark(o, 3, 0, &wm), 1);
    assert_int_equal(wm, 1000); /* min(800, 1200) is still below it */
    assert_int_equal(ordering_forget(o, 3), 0);
    assert_int_equal(ordering_watermark(o, 3, 0, &wm), 0);
    assert_int_equal(ordering_forget(o, 3), 0);  /* twice: harmless */
    assert_int_equal(ordering_forget(o, 40), 0); /* never seen */
    /* A group that comes back starts afresh: it waits again. */
    ordering_push(o, 0, 3, 50, ITEM(3), 1);
    assert_int_equal(pop_id(o, 1, false), -1);
    assert_int_equal(pop_id(o, 1 + IDLE, false), 3);
    ordering_free(o);
}

struct lag {
    int answer; /* what behind() says */
    int asked;
};

static int behind(void *arg, size_t topic, int32_t partition)
{
    struct lag *l = arg;
    (void)topic;
    (void)partition;
    l->asked++;
    return l->answer;
}

static struct ordering *mk_lag(struct lag *l, int64_t max_lag_wait)
{
    struct ordering_opts oo = {.n_topics = 2,
                               .max_idle_ms = IDLE,
                               .idle_topic_ms = 10000,
                               .behind = behind,
                               .behind_arg = l,
                               .max_lag_wait_ms = max_lag_wait};
    struct ordering *o = ordering_new(&oo);
    assert_non_null(o);
    return o;
}

/* KIP-695: the broker has records of the empty topic still to fetch, so
 * the group waits past max_idle_ms, max_idle_ms at a time, and never past
 * max_lag_wait_ms from the wait's start. */
static void test_lag_wait_bounded(void **state)
{
    (void)state;
    struct lag l = {.answer = 1};
    struct ordering *o = mk_lag(&l, 1000);
    ordering_push(o, 0, 0, 100, ITEM(1), 0);
    assert_int_equal(pop_id(o, 0, false), -1);
    assert_int_equal(l.asked, 0); /* not before the wait runs out */
    assert_int_equal(pop_id(o, IDLE, false), -1); /* behind: waits on */
    assert_int_equal(l.asked, 1);
    assert_int_equal(ordering_wait_ms(o, IDLE, 5000), IDLE);
    assert_int_equal(pop_id(o, 2 * IDLE, false), -1);
    assert_int_equal(pop_id(o, 3 * IDLE, false), -1);
    assert_int_equal(ordering_wait_ms(o, 3 * IDLE, 5000), 1000 - 3 * IDLE);
    assert_int_equal(pop_id(o, 999, false), -1);
    assert_int_equal(pop_id(o, 1000, false), 1); /* the bound */
    assert_int_equal(ordering_lag_waits(o), 3);
    assert_int_equal(ordering_enforced(o), 1);
    /* the record it waited for arrives in time: merged in order */
    ordering_push(o, 0, 1, 300, ITEM(2), 2000);
    assert_int_equal(pop_id(o, 2000 + IDLE, false), -1); /* behind */
    ordering_push(o, 1, 1, 200, ITEM(3), 2000 + IDLE + 50);
    assert_int_equal(pop_id(o, 2000 + IDLE + 50, false), 3);
    assert_int_equal(pop_id(o, 2000 + IDLE + 50, true), 2);
    ordering_free(o);
}

/* Caught up: no longer than max_idle_ms, one look-up per wait. */
static void test_lag_caught_up(void **state)
{
    (void)state;
    struct lag l = {.answer = 0};
    struct ordering *o = mk_lag(&l, 1000);
    ordering_push(o, 0, 0, 100, ITEM(1), 0);
    assert_int_equal(pop_id(o, 0, false), -1); /* the wait starts */
    assert_int_equal(pop_id(o, IDLE - 1, false), -1);
    assert_int_equal(pop_id(o, IDLE, false), 1);
    ordering_push(o, 0, 0, 101, ITEM(2), IDLE + 1);
    assert_int_equal(pop_id(o, IDLE + 1, false), 2); /* spent: no wait */
    assert_int_equal(l.asked, 1);
    l.answer = -1; /* cannot tell: as caught up */
    ordering_push(o, 0, 3, 100, ITEM(3), 0);
    assert_int_equal(pop_id(o, 0, false), -1);
    assert_int_equal(pop_id(o, IDLE, false), 3);
    assert_int_equal(ordering_lag_waits(o), 0);
    ordering_free(o);
}

/* Property: per-topic sequences pushed in any interleaving, with pops in
 * between (no time passes, so nothing is enforced) and a forced drain at
 * the end, come out in one and the same order. */
#define PT 3
#define PN 40
static void test_any_interleaving_same_order(void **state)
{
    (void)state;
    int64_t times[PT][PN];
    srand(19);
    for (int t = 0; t < PT; t++)
        for (int i = 0; i < PN; i++)
            times[t][i] = rand() % 1000; /* out of order within a topic too */
    int ref[PT * PN], got[PT * PN];
    for (int run = 0; run < 200; run++) {
        struct ordering *o = mk(PT, IDLE, 0);
        int next[PT] = {0}, n = 0, left = PT * PN;
        while (left) {
            int t = rand() % PT;
            if (next[t] == PN)
                continue;
            int i = next[t]++;
            ordering_push(o, (size_t)t, 0, times[t][i], ITEM(t * PN + i), 0);
            left--;
            int id;
            while (rand() % 2 && (id = pop_id(o, 0, false)) >= 0)
                got[n++] = id;
        }
        int id;
        while ((id = pop_id(o, 0, false)) >= 0)
            got[n++] = id;
        while ((id = pop_id(o, 0, true)) >= 0)
            got[n++] = id;
        assert_int_equal(n, PT * PN);
        assert_int_equal(ordering_enforced(o), 0);
        if (run == 0)
            memcpy(ref, got, sizeof(ref));
        else
            assert_memory_equal(ref, got, sizeof(ref));
        ordering_free(o);
    }
    /* and per topic, the order it came in */
    int last[PT] = {-1, -1, -1};
    for (int k = 0; k < PT * PN; k++) {
        int t = ref[k] / PN, i = ref[k] % PN;
        assert_true(i > last[t]);
        last[t] = i;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_and_fifo),
        cmocka_unit_test(test_waits_for_empty_topic),
        cmocka_unit_test(test_idle_topic_waits_once),
        cmocka_unit_test(test_groups_independent),
        cmocka_unit_test(test_buffer_cap),
        cmocka_unit_test(test_no_idle),
        cmocka_unit_test(test_derived_topic_not_waited),
        cmocka_unit_test(test_watermark),
        cmocka_unit_test(test_watermark_seed_and_forget),
        cmocka_unit_test(test_lag_wait_bounded),
        cmocka_unit_test(test_lag_caught_up),
        cmocka_unit_test(test_any_interleaving_same_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
