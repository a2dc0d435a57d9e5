/*
 * test_prefetch.c - the prefetch budget without a broker: the properties
 * a budget stands for, when the fetcher is woken (once a queue seen at
 * half of either bound is under half of both, and a few times more), that
 * a queue that never fills wakes nothing, and that the
 * waker runs the latest poke on its own thread and stops cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "prefetch.h"

static void test_plan(void **st)
{
    (void)st;
    struct prefetch_plan p;
    prefetch_plan_for(8u << 20, &p);
    assert_int_equal(p.queue_kbytes, 8192);
    assert_int_equal(p.queue_records, (8u << 20) / PREFETCH_RECORD_OVERHEAD);
    assert_int_equal(p.fetch_max_bytes, 2u << 20);
    /* Small budgets keep librdkafka's floors. */
    prefetch_plan_for(64 * 1024, &p);
    assert_int_equal(p.queue_kbytes, 64);
    assert_int_equal(p.queue_records, 1000);
    assert_int_equal(p.fetch_max_bytes, 1000000);
    prefetch_plan_for(1, &p);
    assert_int_equal(p.queue_kbytes, 1);
}

static struct prefetch_pace pace_of(uint64_t records, uint64_t kbytes)
{
    struct prefetch_plan p = {.queue_records = records,
                              .queue_kbytes = kbytes,
                              .fetch_max_bytes = 1000000};
    struct prefetch_pace pace;
    prefetch_pace_init(&pace, &p);
    return pace;
}

/* Small records: the record bound rules. */
static void test_pace_records(void **st)
{
    (void)st;
    struct prefetch_pace pace = pace_of(1000, 1024); /* 1 MiB of payload */
    /* A queue that never reaches half its bound (live traffic) wakes
     * nothing, however many records are taken. */
    for (int i = 0; i < 5000; i++)
        assert_false(prefetch_pace_take(&pace, 100, (uint64_t)i % 500));
    /* Full, then draining: no wake while at half or more... */
    for (uint64_t q = 1000; q >= 500; q--)
        assert_false(prefetch_pace_take(&pace, 100, q));
    /* ...one just under half... */
    assert_true(prefetch_pace_take(&pace, 100, 499));
    /* ...then up to three more, an eighth of the bound (125) apart, in
     * case the first found the fetcher still over a bound. */
    for (int w = 0; w < PREFETCH_REWAKES; w++) {
        for (int i = 0; i < 124; i++)
            assert_false(prefetch_pace_take(&pace, 100, 400));
        assert_true(prefetch_pace_take(&pace, 100, 400));
    }
    /* Then none, down to an empty queue and long after. */
    for (int i = 0; i < 5000; i++)
        assert_false(prefetch_pace_take(&pace, 100, 0));
    /* The fetcher filled it again: the next dip wakes again. */
    assert_false(prefetch_pace_take(&pace, 100, 700));
    assert_true(prefetch_pace_take(&pace, 100, 450));
    /* A refill to half, even between rewakes, rearms them all. */
    assert_false(prefetch_pace_take(&pace, 100, 500));
    assert_true(prefetch_pace_take(&pace, 100, 10));
}

/* Large records: the byte bound fills first, with few records queued. A
 * pace on records alone would never wake: the queue never holds half its
 * record bound. */
static void test_pace_bytes(void **st)
{
    (void)st;
    struct prefetch_pace pace = pace_of(100000, 1024); /* 1 MiB */
    /* 10 KiB records: the byte bound holds ~100 of them. Over half of it
     * (60 queued, ~600 KiB): no wake. */
    for (int i = 0; i < 100; i++)
        assert_false(prefetch_pace_take(&pace, 10240, 60));
    /* Under half (40 queued, ~400 KiB): a wake. */
    assert_true(prefetch_pace_take(&pace, 10240, 40));
    /* A rewake after an eighth of the bytes (128 KiB = 13 records), long
     * before an eighth of the record bound (12,500). */
    int taken = 0;
    while (!prefetch_pace_take(&pace, 10240, 10))
        taken++;
    assert_int_equal(taken, 12);
}

/* A mixed stream: the average follows the sizes taken lately. */
static void test_pace_average(void **st)
{
    (void)st;
    struct prefetch_pace pace = pace_of(100000, 1024);
    for (int i = 0; i < 200; i++)
        (void)prefetch_pace_take(&pace, 100, 100000); /* armed */
    /* 5000 queued of ~100 B: 500,000 bytes, under half of 1 MiB
     * (524,288): a wake. */
    assert_true(prefetch_pace_take(&pace, 100, 5000));
    /* After large records, the same count is far over the byte mark. */
    for (int i = 0; i < 200; i++)
        (void)prefetch_pace_take(&pace, 10000, 100000);
    assert_false(prefetch_pace_take(&pace, 10000, 5000));
}

struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char topic[64];
    int32_t partition;
    int calls;
    pthread_t thread;
    bool block;            /* the next wake waits for `release` */
    bool release;
};

static void wake(void *arg, const char *topic, int32_t partition)
{
    struct seen *s = arg;
    pthread_mutex_lock(&s->mu);
    snprintf(s->topic, sizeof(s->topic), "%s", topic);
    s->partition = partition;
    s->calls++;
    s->thread = pthread_self();
    pthread_cond_broadcast(&s->cv);
    while (s->block && !s->release)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void wait_calls(struct seen *s, int n)
{
    pthread_mutex_lock(&s->mu);
    while (s->calls < n)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void test_waker(void **st)
{
    (void)st;
    struct seen s = {.mu = PTHREAD_MUTEX_INITIALIZER,
                     .cv = PTHREAD_COND_INITIALIZER};
    struct prefetch_waker *w = NULL;
    char err[256];
    assert_int_equal(prefetch_waker_start(wake, &s, &w, err, sizeof(err)), 0);
    prefetch_waker_poke(w, "in.a", 3);
    wait_calls(&s, 1);
    assert_string_equal(s.topic, "in.a");
    assert_int_equal(s.partition, 3);
    assert_false(pthread_equal(s.thread, pthread_self()));

    /* While a wake runs, pokes merge into one: the latest. */
    pthread_mutex_lock(&s.mu);
    s.block = true;
    pthread_mutex_unlock(&s.mu);
    prefetch_waker_poke(w, "in.b", 1);
    wait_calls(&s, 2); /* running, blocked */
    for (int i = 0; i < 10; i++)
        prefetch_waker_poke(w, "in.c", i); /* never blocks */
    pthread_mutex_lock(&s.mu);
    s.block = false;
    s.release = true;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    wait_calls(&s, 3);
    assert_string_equal(s.topic, "in.c");
    assert_int_equal(s.partition, 9);
    prefetch_waker_stop(w);
    assert_int_equal(s.calls, 3);
    prefetch_waker_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_pace_records),
        cmocka_unit_test(test_pace_bytes),
        cmocka_unit_test(test_pace_average),
        cmocka_unit_test(test_waker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
