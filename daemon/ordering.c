/*
 * ordering.c - the per-partition-group event-time chooser (ordering.h).
 *
 * Modelled on what Kafka Streams' PartitionGroup does (KIP-353, KIP-695):
 * an empty topic of a group with records gets a deadline max_idle_ms away;
 * until then the group waits, after it the group goes on with what it
 * has - unless the caller's lag look-up says the broker holds records of
 * that topic not fetched yet: then the deadline moves on, bounded by
 * max_lag_wait_ms from the wait's start. The deadline stays spent until the topic
 * receives a record, so a topic that went quiet costs its group one wait,
 * not one per record. A group that had nothing buffered for max_idle_ms
 * waits afresh for its quiet topics: a burst after a pause (a claim and
 * its evidence produced a moment apart) is merged in event-time order.
 */
#include "ordering.h"

#include <stdio.h>
#include <stdlib.h>

#define ORD_UNSET INT64_MIN /* the topic is not being waited for */

struct ord_node {
    struct ord_node *next;
    void *item;
    int64_t event_time;
};

struct ord_queue {
    struct ord_node *head, *tail;
    size_t n;
    int64_t deadline;     /* ms, monotonic; ORD_UNSET: not waited for */
    int64_t wait_from;    /* ms, monotonic: when the wait began */
    bool enforced;        /* its spent deadline has been counted */
    bool applied;         /* max_applied is valid */
    int64_t max_applied;  /* ms since epoch: largest event time applied */
    int64_t last_arrival; /* ms, monotonic */
};

struct ord_group {
    struct ord_queue *q; /* n_topics; NULL until the partition's first record */
    size_t n;            /* records buffered */
    int64_t emptied_at;  /* ms, monotonic: when n last became 0 */
    int64_t wm;          /* ms since epoch: the watermark's high mark (it
                          * never goes back), ORD_UNSET: none yet */
};

struct ordering {
    struct ordering_opts opts;
    struct ord_group *g; /* indexed by partition */
    size_t n_groups;
    size_t buffered;
    size_t cursor;       /* the group served last */
    int64_t next_wake;   /* earliest deadline seen by the last idle scan */
    uint64_t enforced;
    uint64_t lag_waits;
    struct ord_node *spare;
};

static void ord_oom(void)
{
    fputs("dealstream: out of memory (ordering)\n", stderr);
    abort();
}

struct ordering *ordering_new(const struct ordering_opts *opts)
{
    struct ordering *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->opts = *opts;
    if (o->opts.n_topics == 0)
        o->opts.n_topics = 1;
    if (o->opts.n_waited == 0 || o->opts.n_waited > o->opts.n_topics)
        o->opts.n_waited = o->opts.n_topics;
    o->next_wake = INT64_MAX;
    return o;
}

static void nodes_free(struct ord_node *n)
{
    while (n) {
        struct ord_node *next = n->next;
        free(n);
        n = next;
    }
}

void ordering_free(struct ordering *o)
{
    if (!o)
        return;
    for (size_t p = 0; p < o->n_groups; p++) {
        for (size_t t = 0; o->g[p].q && t < o->opts.n_topics; t++)
            nodes_free(o->g[p].q[t].head);
        free(o->g[p].q);
    }
    free(o->g);
    nodes_free(o->spare);
    free(o);
}

static struct ord_group *ord_group(struct ordering *o, int32_t partition,
                                   int64_t now_ms)
{
    size_t p = partition < 0 ? 0 : (size_t)partition;
    if (p >= o->n_groups) {
        size_t n = o->n_groups ? o->n_groups : 8;
        while (n <= p)
            n *= 2;
        struct ord_group *g = realloc(o->g, n * sizeof(*g));
        if (!g)
            ord_oom();
        for (size_t i = o->n_groups; i < n; i++)
            g[i] = (struct ord_group){0};
        o->g = g;
        o->n_groups = n;
    }
    struct ord_group *g = &o->g[p];
    if (!g->q) {
        g->q = calloc(o->opts.n_topics, sizeof(*g->q));
        if (!g->q)
            ord_oom();
        for (size_t t = 0; t < o->opts.n_topics; t++)
            g->q[t].deadline = ORD_UNSET;
        g->emptied_at = now_ms;
        g->wm = ORD_UNSET;
    }
    return g;
}

void ordering_push(struct ordering *o, size_t topic, int32_t partition,
                   int64_t event_time, void *item, int64_t now_ms)
{
    if (topic >= o->opts.n_topics)
        abort(); /* a caller bug: the topic index comes from its own table */
    struct ord_group *g = ord_group(o, partition, now_ms);
    if (g->n == 0 && now_ms - g->emptied_at >= o->opts.max_idle_ms)
        for (size_t t = 0; t < o->opts.n_topics; t++) {
            g->q[t].deadline = ORD_UNSET;
            g->q[t].enforced = false;
        }
    struct ord_node *n = o->spare;
    if (n)
        o->spare = n->next;
    else if (!(n = malloc(sizeof(*n))))
        ord_oom();
    n->next = NULL;
    n->item = item;
    n->event_time = event_time;
    struct ord_queue *q = &g->q[topic];
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->n++;
    g->n++;
    o->buffered++;
    q->deadline = ORD_UNSET; /* alive: waited for again when it empties */
    q->enforced = false;
    q->last_arrival = now_ms;
}

/* Whether a wait that ran out goes on: the broker has records of the
 * topic this consumer has not fetched yet, and the wait is young enough.
 * Asked only when a deadline passes and never again once the group went
 * on without the topic, so a caught-up topic costs one look-up per wait. */
static bool ord_behind(struct ordering *o, const struct ord_queue *q,
                       size_t t, const struct ord_group *g, int64_t now_ms)
{
    if (!o->opts.behind || o->opts.max_lag_wait_ms <= 0 || q->enforced ||
        now_ms - q->wait_from >= o->opts.max_lag_wait_ms)
        return false;
    return o->opts.behind(o->opts.behind_arg, t,
                          (int32_t)(g - o->g)) == 1;
}

/* The topic whose head the group applies next, or -1 while it waits for an
 * empty topic (*until: when that wait ends) or has nothing. Ties go to the
 * lower topic index, so the merge is the same for any arrival order. */
static long ord_choose(struct ordering *o, struct ord_group *g,
                       int64_t now_ms, bool force, int64_t *until)
{
    long best = -1;
    bool waiting = false;
    for (size_t t = 0; t < o->opts.n_topics; t++) {
        struct ord_queue *q = &g->q[t];
        if (q->n) {
            if (best < 0 || q->head->event_time < g->q[best].head->event_time)
                best = (long)t;
            continue;
        }
        if (force || o->opts.max_idle_ms <= 0 || t >= o->opts.n_waited)
            continue;
        if (q->deadline == ORD_UNSET) {
            q->deadline = now_ms + o->opts.max_idle_ms;
            q->wait_from = now_ms;
        }
        if (now_ms >= q->deadline && ord_behind(o, q, t, g, now_ms)) {
            int64_t end = q->wait_from + o->opts.max_lag_wait_ms;
            q->deadline = now_ms + o->opts.max_idle_ms < end
                              ? now_ms + o->opts.max_idle_ms
                              : end;
            o->lag_waits++;
        }
        if (now_ms < q->deadline) {
            waiting = true;
            if (q->deadline < *until)
                *until = q->deadline;
        }
    }
    if (best < 0 || waiting)
        return -1;
    /* Going on without a topic whose wait is spent: counted once per wait. */
    for (size_t t = 0; !force && t < o->opts.n_topics; t++) {
        struct ord_queue *q = &g->q[t];
        if (!q->n && q->deadline != ORD_UNSET && !q->enforced) {
            q->enforced = true;
            o->enforced++;
        }
    }
    return best;
}

int ordering_pop(struct ordering *o, int64_t now_ms, bool force,
                 struct ordering_rec *out)
{
    if (o->buffered == 0 || o->n_groups == 0) {
        o->next_wake = INT64_MAX;
        return 0;
    }
    if (o->opts.max_buffered && o->buffered >= o->opts.max_buffered)
        force = true;
    int64_t until = INT64_MAX;
    for (size_t i = 0; i < o->n_groups; i++) {
        size_t p = (o->cursor + i) % o->n_groups;
        struct ord_group *g = &o->g[p];
        if (g->n == 0)
            continue;
        long t = ord_choose(o, g, now_ms, force, &until);
        if (t < 0)
            continue;
        struct ord_queue *q = &g->q[t];
        struct ord_node *n = q->head;
        q->head = n->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
        if (--g->n == 0)
            g->emptied_at = now_ms;
        o->buffered--;
        o->cursor = p;
        *out = (struct ordering_rec){.item = n->item,
                                     .topic = (size_t)t,
                                     .partition = (int32_t)p,
                                     .event_time = n->event_time};
        n->next = o->spare;
        o->spare = n;
        return 1;
    }
    o->next_wake = until;
    return 0;
}

size_t ordering_groups(const struct ordering *o)
{
    return o->n_groups;
}

size_t ordering_buffered(const struct ordering *o)
{
    return o->buffered;
}

int ordering_wait_ms(const struct ordering *o, int64_t now_ms, int cap)
{
    if (o->buffered == 0 || o->next_wake == INT64_MAX)
        return cap;
    int64_t d = o->next_wake - now_ms;
    if (d < 0)
        return 0;
    return d < cap ? (int)d : cap;
}

uint64_t ordering_enforced(const struct ordering *o)
{
    return o->enforced;
}

uint64_t ordering_lag_waits(const struct ordering *o)
{
    return o->lag_waits;
}

void ordering_applied(struct ordering *o, size_t topic, int32_t partition,
                      int64_t event_time)
{
    if (topic >= o->opts.n_topics || partition < 0 ||
        (size_t)partition >= o->n_groups || !o->g[partition].q)
        return; /* not handed out by this module */
    struct ord_queue *q = &o->g[partition].q[topic];
    if (!q->applied || event_time > q->max_applied)
        q->max_applied = event_time;
    q->applied = true;
}

int ordering_watermark(struct ordering *o, int32_t partition, int64_t now_ms,
                       int64_t *wm)
{
    if (partition < 0 || (size_t)partition >= o->n_groups ||
        !o->g[partition].q)
        return 0;
    struct ord_group *g = &o->g[partition];
    bool any = false, any_active = false;
    int64_t min_active = INT64_MAX, max_all = INT64_MIN;
    for (size_t t = 0; t < o->opts.n_waited; t++) {
        const struct ord_queue *q = &g->q[t];
        if (!q->applied)
            continue;
        any = true;
        if (q->max_applied > max_all)
            max_all = q->max_applied;
        if (o->opts.idle_topic_ms > 0 &&
            now_ms - q->last_arrival >= o->opts.idle_topic_ms)
            continue;
        any_active = true;
        if (q->max_applied < min_active)
            min_active = q->max_applied;
    }
    if (any) {
        int64_t v = any_active ? min_active : max_all;
        if (g->wm == ORD_UNSET || v > g->wm)
            g->wm = v;
    }
    if (g->wm == ORD_UNSET)
        return 0;
    *wm = g->wm;
    return 1;
}

void ordering_seed_watermark(struct ordering *o, int32_t partition,
                             int64_t wm, int64_t now_ms)
{
    struct ord_group *g = ord_group(o, partition, now_ms);
    if (g->wm == ORD_UNSET || wm > g->wm)
        g->wm = wm;
}

int ordering_forget(struct ordering *o, int32_t partition)
{
    if (partition < 0 || (size_t)partition >= o->n_groups ||
        !o->g[partition].q)
        return 0;
    struct ord_group *g = &o->g[partition];
    if (g->n)
        return -1;
    free(g->q);
    *g = (struct ord_group){0};
    return 0;
}
