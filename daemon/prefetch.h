/*
 * prefetch.h - one memory budget for everything the consumer has fetched
 * and the daemon not yet taken, without librdkafka 2.0.2's fetch stalls.
 *
 * librdkafka 2.0.2 bounds the high-level consumer's one queue (all
 * partitions) by queued.min.messages and queued.max.messages.kbytes, but
 * once over either bound its fetcher sleeps until something else wakes
 * it: at worst its fixed 1 s poll (no property shortens it before 2.2's
 * fetch.queue.backoff.ms). A small queue then runs dry and the daemon
 * waits. So the budget is spent on librdkafka's own bounds (the plan
 * below) and a waker nudges the fetcher once a full queue is half
 * empty, by a side-effect-free request to the partition's leader, which
 * wakes that broker's thread (kafka.c supplies the request).
 *
 * Figures: docs/PERFORMANCE.md, "Where dealstream's memory goes".
 */
#ifndef DS_PREFETCH_H
#define DS_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Memory a queued record is planned at beyond its payload: librdkafka's
 * op and message structs and its share of the fetch response (bytes). */
#define PREFETCH_RECORD_OVERHEAD 512

/* The librdkafka consumer properties a budget stands for. */
struct prefetch_plan {
    uint64_t queue_kbytes;   /* queued.max.messages.kbytes */
    uint64_t queue_records;  /* queued.min.messages */
    uint64_t fetch_max_bytes; /* fetch.max.bytes: one response's share */
};

/* The plan for `budget` bytes (> 0): the queue may hold the budget in
 * payload or budget / PREFETCH_RECORD_OVERHEAD records, whichever comes
 * first, and one fetch response adds at most a quarter of the budget
 * (never below librdkafka's floor, message.max.bytes' default 1000000). */
void prefetch_plan_for(uint64_t budget, struct prefetch_plan *plan);

/* When to wake the fetcher. librdkafka stops fetching only once its
 * queue is over one of its bounds (records or payload bytes), so a wake is
 * armed once the queue is seen at half of either, and due when it is
 * under half of both again; in case the bytes were misjudged (they are
 * estimated from the sizes of the records taken) up to PREFETCH_REWAKES
 * more follow, an eighth of either bound taken apart. A queue that never
 * fills (a consumer keeping up with live traffic) wakes nothing. Pure, no
 * clock. */
#define PREFETCH_REWAKES 3

struct prefetch_pace {
    uint64_t low_records, low_bytes;   /* half the bounds */
    uint64_t gap_records, gap_bytes;   /* an eighth of the bounds */
    uint64_t since_records, since_bytes; /* taken since the last wake */
    uint64_t avg_bytes; /* payload per record, moving average, x 16 */
    bool armed;         /* seen at half: the next dip under half wakes */
    int rewakes;        /* left after that wake */
};

void prefetch_pace_init(struct prefetch_pace *pace,
                        const struct prefetch_plan *plan);
/* One record of `bytes` (key and value) taken, `queued` records left in
 * the queue: true when the fetcher should be woken now. */
bool prefetch_pace_take(struct prefetch_pace *pace, uint64_t bytes,
                        uint64_t queued);

/* The waker: a thread that runs wake(arg, topic, partition) for the
 * latest poke, so the caller never waits on the broker. Pokes that come
 * while a wake runs are merged into one. */
struct prefetch_waker;
typedef void prefetch_wake_fn(void *arg, const char *topic,
                              int32_t partition);

/* 0 and *out, or -1 with err. `arg` must outlive the waker. */
int prefetch_waker_start(prefetch_wake_fn *wake, void *arg,
                         struct prefetch_waker **out, char *err,
                         size_t errlen);
/* Never blocks on a wake in progress; `topic` is copied. */
void prefetch_waker_poke(struct prefetch_waker *w, const char *topic,
                         int32_t partition);
/* Wakes done so far (for tests and metrics). */
uint64_t prefetch_waker_wakes(struct prefetch_waker *w);
/* Waits for the wake in progress, drops a pending one, joins. Accepts
 * NULL. */
void prefetch_waker_stop(struct prefetch_waker *w);

#endif
