/*
 * ordering.h - event-time order across the co-partitioned input topics.
 *
 * Records of partition p of every input topic form a partition group (one
 * customer's events meet there). Polled records wait here, one FIFO per
 * topic and partition, and ordering_pop() hands out, per group, the
 * buffered record with the smallest event time. While one topic of a group
 * has nothing buffered the group waits for it, at most max_idle_ms: a quiet
 * topic delays its group once, never the other groups. The model, and
 * what it cannot promise, is in docs/TIME.md.
 *
 * Items are the caller's: the module keeps pointers and never frees them.
 */
#ifndef DS_ORDERING_H
#define DS_ORDERING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ordering;

struct ordering_opts {
    size_t n_topics;       /* co-partitioned topics, indexed 0..n_topics-1 */
    /* Topics 0..n_waited-1 are waited for; the others (derived topics such
     * as repartition topics, fed by what this loop applies) are merged by
     * event time but never waited for and stay out of the watermark.
     * 0: all are waited for. */
    size_t n_waited;
    int64_t max_idle_ms;   /* longest wait for an empty topic; 0: none */
    int64_t idle_topic_ms; /* a topic silent this long leaves the watermark */
    size_t max_buffered;   /* beyond this many records nothing waits */
    /* Lag-aware waiting (KIP-695): when a wait for an empty topic runs
     * out, `behind` is asked whether the broker holds records of it not
     * consumed yet (1), it is caught up (0) or cannot tell (-1). While it
     * is behind, the wait goes on, max_idle_ms at a time, up to
     * max_lag_wait_ms from its start. NULL or 0: no lag look-ups. */
    int (*behind)(void *arg, size_t topic, int32_t partition);
    void *behind_arg;
    int64_t max_lag_wait_ms;
};

/* One record handed out by ordering_pop(). */
struct ordering_rec {
    void *item;
    size_t topic;
    int32_t partition;
    int64_t event_time; /* ms since epoch */
};

/* NULL when out of memory. */
struct ordering *ordering_new(const struct ordering_opts *opts);
/* Frees the module, not the items still buffered (pop them first with
 * force). Accepts NULL. */
void ordering_free(struct ordering *o);

/* Buffers `item`, a record of topic index `topic` and `partition` polled at
 * now_ms (monotonic). Records of one topic and partition leave in the order
 * they came, whatever their event times. Aborts on out-of-memory. */
void ordering_push(struct ordering *o, size_t topic, int32_t partition,
                   int64_t event_time, void *item, int64_t now_ms);

/* The next record to apply: 1 and *out, 0 when every group with records
 * waits for one of its topics (or nothing is buffered). force: wait for
 * nothing (draining before a revoke or at shutdown). */
int ordering_pop(struct ordering *o, int64_t now_ms, bool force,
                 struct ordering_rec *out);

/* One more than the largest partition seen: groups are 0..n-1. */
size_t ordering_groups(const struct ordering *o);

/* Records buffered in all groups. */
size_t ordering_buffered(const struct ordering *o);

/* How long the caller may block in poll without missing a deadline: ms
 * until the earliest wait of a group ends, capped at `cap`; `cap` when no
 * group waits. Valid after an ordering_pop() that returned 0. */
int ordering_wait_ms(const struct ordering *o, int64_t now_ms, int cap);

/* Waits that ended without the topic's record: each is one decision taken
 * on incomplete input (a metric). */
uint64_t ordering_enforced(const struct ordering *o);

/* Times a wait was prolonged because the broker had records of the empty
 * topic still to fetch (a metric). */
uint64_t ordering_lag_waits(const struct ordering *o);

/* Notes that a record handed out by ordering_pop() has been applied: its
 * event time counts for the watermark from now on. */
void ordering_applied(struct ordering *o, size_t topic, int32_t partition,
                      int64_t event_time);

/* The group's watermark: the minimum over its waited-for topics of the
 * largest event time applied, leaving out topics that brought nothing for
 * idle_topic_ms (all of them silent: the largest). It never goes back: a
 * smaller value (a silent topic back with older records) leaves it where
 * it was. Held records do not count, so the value fits the offsets of
 * what was applied (it is persisted with them). 1 and *wm, 0 when the
 * group has neither applied a record nor been seeded. */
int ordering_watermark(struct ordering *o, int32_t partition, int64_t now_ms,
                       int64_t *wm);

/* Raises the group's watermark to at least wm: the value stored with the
 * partition's state, reloaded on assignment. */
void ordering_seed_watermark(struct ordering *o, int32_t partition,
                             int64_t wm, int64_t now_ms);

/* Drops everything kept for a partition group (waits, watermark) once its
 * partitions have left this instance, so that nothing stale is reported
 * and a group that comes back starts afresh. 0, or -1 (nothing dropped)
 * while it still holds records. */
int ordering_forget(struct ordering *o, int32_t partition);

#endif
