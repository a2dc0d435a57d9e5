/*
 * prefetch.c - the consumer's prefetch budget: the plan of librdkafka
 * properties, the pace of fetcher wakes, and the thread that does them.
 * Why: prefetch.h.
 */
#include "prefetch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* librdkafka refuses a fetch.max.bytes below message.max.bytes, whose
 * default this is. */
#define FETCH_FLOOR 1000000u
/* Fewer queued records than this and a fetch response would not cover
 * the time to wake the fetcher at ~200k records/s. */
#define RECORDS_FLOOR 1000u

void prefetch_plan_for(uint64_t budget, struct prefetch_plan *plan)
{
    plan->queue_kbytes = budget / 1024 ? budget / 1024 : 1;
    plan->queue_records = budget / PREFETCH_RECORD_OVERHEAD;
    if (plan->queue_records < RECORDS_FLOOR)
        plan->queue_records = RECORDS_FLOOR;
    plan->fetch_max_bytes = budget / 4;
    if (plan->fetch_max_bytes < FETCH_FLOOR)
        plan->fetch_max_bytes = FETCH_FLOOR;
}

static uint64_t at_least_1(uint64_t v) { return v ? v : 1; }

void prefetch_pace_init(struct prefetch_pace *pace,
                        const struct prefetch_plan *plan)
{
    uint64_t bytes = plan->queue_kbytes * 1024;
    *pace = (struct prefetch_pace){
        .low_records = at_least_1(plan->queue_records / 2),
        .low_bytes = at_least_1(bytes / 2),
        .gap_records = at_least_1(plan->queue_records / 8),
        .gap_bytes = at_least_1(bytes / 8),
    };
}

bool prefetch_pace_take(struct prefetch_pace *pace, uint64_t bytes,
                        uint64_t queued)
{
    /* avg_bytes holds 16x the average: an exponential average over about
     * 16 records, in integers. */
    pace->avg_bytes = pace->avg_bytes
                          ? pace->avg_bytes - pace->avg_bytes / 16 + bytes
                          : bytes * 16;
    pace->since_records++;
    pace->since_bytes += bytes;
    if (queued >= pace->low_records ||
        queued * (pace->avg_bytes / 16) >= pace->low_bytes) {
        pace->armed = true;
        pace->rewakes = PREFETCH_REWAKES;
        return false;
    }
    if (pace->armed) {
        pace->armed = false;
    } else if (pace->rewakes > 0 &&
               (pace->since_records >= pace->gap_records ||
                pace->since_bytes >= pace->gap_bytes)) {
        pace->rewakes--;
    } else {
        return false;
    }
    pace->since_records = 0;
    pace->since_bytes = 0;
    return true;
}

struct prefetch_waker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    prefetch_wake_fn *wake;
    void *arg;
    bool pending;  /* a poke not yet run */
    bool stopping;
    char topic[256];
    int32_t partition;
    uint64_t wakes; /* under mu */
};

static void *waker_main(void *p)
{
    struct prefetch_waker *w = p;
    char topic[sizeof(w->topic)];
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stopping)
            break;
        memcpy(topic, w->topic, sizeof(topic));
        int32_t partition = w->partition;
        w->pending = false;
        pthread_mutex_unlock(&w->mu);
        w->wake(w->arg, topic, partition);
        pthread_mutex_lock(&w->mu);
        w->wakes++;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int prefetch_waker_start(prefetch_wake_fn *wake, void *arg,
                         struct prefetch_waker **out, char *err,
                         size_t errlen)
{
    struct prefetch_waker *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "prefetch waker: out of memory");
        return -1;
    }
    w->wake = wake;
    w->arg = arg;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int e = pthread_create(&w->thread, NULL, waker_main, w);
    if (e) {
        snprintf(err, errlen, "prefetch waker: starting its thread: %s",
                 strerror(e));
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void prefetch_waker_poke(struct prefetch_waker *w, const char *topic,
                         int32_t partition)
{
    pthread_mutex_lock(&w->mu);
    snprintf(w->topic, sizeof(w->topic), "%s", topic);
    w->partition = partition;
    w->pending = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

uint64_t prefetch_waker_wakes(struct prefetch_waker *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->wakes;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void prefetch_waker_stop(struct prefetch_waker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
