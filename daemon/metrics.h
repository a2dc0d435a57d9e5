/*
 * metrics.h - the counters /metrics exposes, the snapshot that carries
 * them from the processing thread to the HTTP thread, and their rendering
 * in the Prometheus text exposition format (version 0.0.4).
 *
 * The loop owns a struct metrics and bumps it without locks; about once a
 * second it copies it into a struct metrics_pub (metrics_publish). The HTTP
 * thread copies it out (metrics_read) and formats the copy, so a scrape
 * never waits on the loop and the loop never waits on a scrape.
 */
#ifndef DS_METRICS_H
#define DS_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Distinct label sets per labelled counter; beyond it, new label sets
 * count under the value "other" so a scrape stays bounded. */
#define METRICS_MAX_SERIES 64
#define METRICS_COMMIT_BUCKETS 14 /* upper bounds in metrics_commit_le */

/* Every latency histogram's bucket bounds (s): 1 ms .. 2 min. */
extern const double metrics_commit_le[METRICS_COMMIT_BUCKETS];

struct metrics_hist {
    uint64_t bucket[METRICS_COMMIT_BUCKETS]; /* not cumulative */
    uint64_t count;
    double sum; /* s */
};

struct metrics_count {
    char a[160]; /* first label value (topic, kind, result) */
    char b[64];  /* second label value (reason), "" when unused */
    uint64_t n;
};

struct metrics_set {
    size_t n;
    struct metrics_count v[METRICS_MAX_SERIES];
};

/* Lag has one series per assigned partition: more than a label set's
 * 64 (a member may own 100 partitions of 5 topics). Beyond this many,
 * the rest are left out. */
#define METRICS_MAX_LAG 1024

/* A histogram a processor declares (processor_ops.metrics) and feeds
 * through ctx_observe(): one series per value of its one label. The
 * definition is static, so the snapshot may point at it. */
#define METRICS_MAX_BUCKETS 16
#define METRICS_MAX_LHIST 4 /* processor histograms, all processors */

struct metrics_hist_def {
    const char *name;  /* dealstream_..._seconds: Prometheus' rules */
    const char *help;
    const char *label; /* the label's name */
    const double *le;  /* n upper bounds, ascending, in the name's unit */
    size_t n;          /* <= METRICS_MAX_BUCKETS */
};

struct metrics_lhist {
    const struct metrics_hist_def *def;
    size_t n; /* series; past METRICS_MAX_SERIES - 1 they count as "other" */
    struct {
        char v[64]; /* the label's value; longer ones are cut */
        uint64_t bucket[METRICS_MAX_BUCKETS]; /* not cumulative */
        uint64_t count;
        double sum;
    } s[METRICS_MAX_SERIES];
};

struct metrics_lag {
    size_t n;
    struct {
        char topic[120]; /* longer names are cut */
        int32_t partition;
        int64_t lag;
    } v[METRICS_MAX_LAG];
};

struct metrics {
    struct metrics_set consumed; /* by topic */
    struct metrics_set dlq;      /* by topic, reason */
    struct metrics_set alerts;   /* by kind */
    struct metrics_set coaching; /* coaching alerts by category, severity */
    struct metrics_set reloads;  /* by result: ok, error */
    /* State restores from the changelog (restore.h): by mode (tail, full),
     * records and bytes applied, and the one under way, if any. */
    struct metrics_set restores;
    uint64_t restored_records, restored_bytes;
    bool restoring;
    int32_t restoring_partition;
    int64_t restore_remaining; /* changelog records still to read */
    /* Standby replicas (standby.h): changelog partitions tailed, and the
     * records each is behind the changelog's end (n_standby_lag known). */
    int64_t standby_partitions;
    size_t n_standby_lag;
    struct {
        int32_t partition;
        int64_t lag;
    } standby_lag[METRICS_MAX_SERIES];
    uint64_t poison_outputs;
    uint64_t commits;            /* batches committed */
    struct metrics_hist commit;  /* batch close -> state and offsets written */
    struct metrics_hist batch;   /* batch open -> close */
    /* Input record's Kafka timestamp -> its alert produced (wall clock). */
    struct metrics_hist event_alert;
    int64_t assigned_partitions;
    bool producer_up;
    uint64_t cache_objects;      /* decoded state objects cached */
    /* Gauges and counters read once per publish (runtime.c publish()). */
    struct metrics_lag lag;      /* records behind, per assigned partition */
    uint64_t cache_hits, cache_misses; /* state gets: cached / read */
    uint64_t dirty_objects;      /* changed in the open batch */
    uint64_t unwritten_bytes;    /* encoded batches waiting to be written */
    int64_t rocks_block_cache, rocks_memtables, rocks_table_readers; /* B */
    int64_t rocks_pending_compaction; /* bytes; -1: unknown */
    double rocks_stall_seconds;       /* cumulative; < 0: unknown */
    /* Event-time order (ordering.h): records held for their group's
     * turn, waits that ended without the awaited topic, and per partition
     * group the watermark (label a: the partition; n: ms since epoch). */
    uint64_t ordering_buffered;
    uint64_t ordering_enforced;
    uint64_t ordering_lag_waits;
    struct metrics_set watermarks;
    /* Processors' histograms (processor_ops.metrics), in declaration
     * order; beyond METRICS_MAX_LHIST they are left out. */
    size_t n_lhist;
    struct metrics_lhist lhist[METRICS_MAX_LHIST];
    int64_t loop_at_ms;          /* ms, monotonic: the loop's last turn */
    int64_t started_at_ms;       /* ms, monotonic: the loop started; 0: not yet */
};

/* What the process costs, read from /proc at scrape time. */
struct metrics_process {
    int64_t rss_bytes;  /* -1: unknown */
    int64_t open_fds;   /* -1: unknown */
    double cpu_seconds; /* user + system; < 0: unknown */
};

/* The counter of a label set, created at 0; past METRICS_MAX_SERIES the
 * one of "other". Valid until the set is copied over. */
struct metrics_count *metrics_set_slot(struct metrics_set *s, const char *a,
                                       const char *b);
void metrics_set_add(struct metrics_set *s, const char *a, const char *b,
                     uint64_t by);
uint64_t metrics_set_get(const struct metrics_set *s, const char *a,
                         const char *b);
void metrics_hist_observe(struct metrics_hist *h, double seconds);
void metrics_lag_add(struct metrics_lag *l, const char *topic,
                     int32_t partition, int64_t lag);
void metrics_observe_commit(struct metrics *m, double seconds);
/* Makes def's histogram known (exposed with no series yet), once per def
 * pointer; false when METRICS_MAX_LHIST are taken. */
bool metrics_lhist_declare(struct metrics *m,
                           const struct metrics_hist_def *def);
/* Adds v to def's series of label value `label` (declaring def first);
 * past METRICS_MAX_SERIES label values, to the series "other". */
void metrics_lhist_observe(struct metrics *m,
                           const struct metrics_hist_def *def,
                           const char *label, double v);

/* Appends the exposition of m, p and build info (version) to out. */
void metrics_format(const struct metrics *m, const struct metrics_process *p,
                    const char *version, struct buf *out);

/* Fills p from /proc/self; unknown fields are left negative. */
void metrics_process_read(struct metrics_process *p);

/* The handoff between the loop and the HTTP thread. */
struct metrics_pub {
    pthread_mutex_t mu;
    struct metrics m;
    bool published; /* false until the loop's first publish */
};

void metrics_pub_init(struct metrics_pub *pub);
void metrics_pub_destroy(struct metrics_pub *pub);
void metrics_publish(struct metrics_pub *pub, const struct metrics *m);
/* Copies the last published snapshot; false if none yet (*m zeroed). */
bool metrics_read(struct metrics_pub *pub, struct metrics *m);

#endif
