/*
 * metrics.c - counters, their handoff between threads, and the Prometheus
 * text format. Names follow Prometheus' conventions: the dealstream_
 * prefix, _total on counters, base units (seconds, bytes).
 */
#include "metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const double metrics_commit_le[METRICS_COMMIT_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
    30, 120};

struct metrics_count *metrics_set_slot(struct metrics_set *s, const char *a,
                                       const char *b)
{
    if (!b)
        b = "";
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].a, a) == 0 && strcmp(s->v[i].b, b) == 0)
            return &s->v[i];
    /* The last slot is kept for "other": what does not fit counts there. */
    if (s->n >= METRICS_MAX_SERIES - 1 && (strcmp(a, "other") != 0 || *b))
        return metrics_set_slot(s, "other", "");
    struct metrics_count *c = &s->v[s->n++];
    snprintf(c->a, sizeof(c->a), "%s", a);
    snprintf(c->b, sizeof(c->b), "%s", b);
    c->n = 0;
    return c;
}

void metrics_set_add(struct metrics_set *s, const char *a, const char *b,
                     uint64_t by)
{
    metrics_set_slot(s, a, b)->n += by;
}

uint64_t metrics_set_get(const struct metrics_set *s, const char *a,
                         const char *b)
{
    if (!b)
        b = "";
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].a, a) == 0 && strcmp(s->v[i].b, b) == 0)
            return s->v[i].n;
    return 0;
}

void metrics_hist_observe(struct metrics_hist *h, double seconds)
{
    for (size_t i = 0; i < METRICS_COMMIT_BUCKETS; i++)
        if (seconds <= metrics_commit_le[i]) {
            h->bucket[i]++;
            break;
        }
    h->count++;
    h->sum += seconds;
}

void metrics_lag_add(struct metrics_lag *l, const char *topic,
                     int32_t partition, int64_t lag)
{
    if (l->n == METRICS_MAX_LAG)
        return;
    snprintf(l->v[l->n].topic, sizeof(l->v[l->n].topic), "%s", topic);
    l->v[l->n].partition = partition;
    l->v[l->n].lag = lag;
    l->n++;
}

void metrics_observe_commit(struct metrics *m, double seconds)
{
    metrics_hist_observe(&m->commit, seconds);
}

bool metrics_lhist_declare(struct metrics *m,
                           const struct metrics_hist_def *def)
{
    for (size_t i = 0; i < m->n_lhist; i++)
        if (m->lhist[i].def == def)
            return true;
    if (m->n_lhist == METRICS_MAX_LHIST || def->n > METRICS_MAX_BUCKETS)
        return false;
    struct metrics_lhist *h = &m->lhist[m->n_lhist++];
    h->def = def;
    h->n = 0;
    return true;
}

void metrics_lhist_observe(struct metrics *m,
                           const struct metrics_hist_def *def,
                           const char *label, double v)
{
    if (!metrics_lhist_declare(m, def))
        return;
    struct metrics_lhist *h = m->lhist;
    while (h->def != def)
        h++;
    size_t i = 0;
    while (i < h->n && strncmp(h->s[i].v, label, sizeof(h->s[i].v) - 1) != 0)
        i++;
    if (i == h->n) {
        /* The last slot is kept for "other", as in metrics_set_slot(). */
        if (h->n >= METRICS_MAX_SERIES - 1 && strcmp(label, "other") != 0) {
            metrics_lhist_observe(m, def, "other", v);
            return;
        }
        memset(&h->s[i], 0, sizeof(h->s[i]));
        snprintf(h->s[i].v, sizeof(h->s[i].v), "%s", label);
        h->n++;
    }
    for (size_t b = 0; b < def->n; b++)
        if (v <= def->le[b]) {
            h->s[i].bucket[b]++;
            break;
        }
    h->s[i].count++;
    h->s[i].sum += v;
}

/* ---- the text format ---------------------------------------------------- */

static void put(struct buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct buf *out, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_append(out, tmp, (size_t)n < sizeof(tmp) ? (size_t)n
                                                      : sizeof(tmp) - 1);
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(struct buf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_append(out, "\\", 1);
        if (*v == '\n')
            buf_append(out, "\\n", 2);
        else
            buf_append(out, v, 1);
    }
}

static void header(struct buf *out, const char *name, const char *type,
                   const char *help)
{
    put(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_set(struct buf *out, const char *name, const char *help,
                    const struct metrics_set *s, const char *la,
                    const char *lb)
{
    header(out, name, "counter", help);
    for (size_t i = 0; i < s->n; i++) {
        put(out, "%s{%s=\"", name, la);
        put_label(out, s->v[i].a);
        if (lb) {
            put(out, "\",%s=\"", lb);
            put_label(out, s->v[i].b);
        }
        put(out, "\"} %llu\n", (unsigned long long)s->v[i].n);
    }
}

static void put_hist(struct buf *out, const char *h, const char *help,
                     const struct metrics_hist *x)
{
    header(out, h, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; i < METRICS_COMMIT_BUCKETS; i++) {
        cum += x->bucket[i];
        put(out, "%s_bucket{le=\"%g\"} %llu\n", h, metrics_commit_le[i],
            (unsigned long long)cum);
    }
    put(out, "%s_bucket{le=\"+Inf\"} %llu\n", h, (unsigned long long)x->count);
    put(out, "%s_sum %.9g\n%s_count %llu\n", h, x->sum, h,
        (unsigned long long)x->count);
}

static void put_lhist(struct buf *out, const struct metrics_lhist *h)
{
    const struct metrics_hist_def *d = h->def;
    header(out, d->name, "histogram", d->help);
    for (size_t i = 0; i < h->n; i++) {
        uint64_t cum = 0;
        for (size_t b = 0; b <= d->n; b++) {
            cum += b < d->n ? h->s[i].bucket[b] : 0;
            put(out, "%s_bucket{%s=\"", d->name, d->label);
            put_label(out, h->s[i].v);
            if (b < d->n)
                put(out, "\",le=\"%g\"} %llu\n", d->le[b],
                    (unsigned long long)cum);
            else
                put(out, "\",le=\"+Inf\"} %llu\n",
                    (unsigned long long)h->s[i].count);
        }
        put(out, "%s_sum{%s=\"", d->name, d->label);
        put_label(out, h->s[i].v);
        put(out, "\"} %.9g\n%s_count{%s=\"", h->s[i].sum, d->name, d->label);
        put_label(out, h->s[i].v);
        put(out, "\"} %llu\n", (unsigned long long)h->s[i].count);
    }
}

static void put_i64(struct buf *out, const char *name, const char *type,
                    const char *help, int64_t v)
{
    char s[32];
    if (v < 0)
        return; /* unknown: left out rather than reported as -1 */
    snprintf(s, sizeof(s), "%lld", (long long)v);
    header(out, name, type, help);
    put(out, "%s %s\n", name, s);
}

static void put_one(struct buf *out, const char *name, const char *type,
                    const char *help, const char *value)
{
    header(out, name, type, help);
    put(out, "%s %s\n", name, value);
}

void metrics_format(const struct metrics *m, const struct metrics_process *p,
                    const char *version, struct buf *out)
{
    char v[64];
    put_set(out, "dealstream_records_consumed_total",
            "Input records taken from Kafka, by topic.", &m->consumed,
            "topic", NULL);
    put_set(out, "dealstream_records_dlq_total",
            "Input records sent to the dead-letter topic, by input topic "
            "and reason.",
            &m->dlq, "topic", "reason");
    put_set(out, "dealstream_alerts_produced_total",
            "Alerts produced, by kind.", &m->alerts, "kind", NULL);
    put_set(out, "dealstream_coaching_alerts_total",
            "Coaching alerts produced, by category and severity.",
            &m->coaching, "category", "severity");
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->poison_outputs);
    put_one(out, "dealstream_poison_outputs_total", "counter",
            "Outputs that could not be produced as they were (cut DLQ "
            "records, alerts that failed to encode or were rejected).",
            v);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->commits);
    put_one(out, "dealstream_batches_committed_total", "counter",
            "Batches whose state and offsets were written.", v);

    put_hist(out, "dealstream_commit_latency_seconds",
             "From a batch's close to its state and offsets written.",
             &m->commit);
    put_hist(out, "dealstream_batch_duration_seconds",
             "From a batch's opening (the previous close) to its close.", &m->batch);
    put_hist(out, "dealstream_event_to_alert_seconds",
             "From an input record's Kafka timestamp to an alert it caused "
             "being produced (wall clock).",
             &m->event_alert);

    put_set(out, "dealstream_config_reloads_total",
            "Config reloads (SIGHUP, POST /-/reload) by result: ok applied, "
            "error the file does not load, refused a key that cannot "
            "change live differs.",
            &m->reloads, "result", NULL);
    put_set(out, "dealstream_restores_total",
            "Partitions whose state was restored from the changelog, by "
            "mode: tail (after the local checkpoint) or full (empty or "
            "wiped local state).",
            &m->restores, "mode", NULL);
    put_i64(out, "dealstream_restored_records_total", "counter",
            "Changelog records read by restores.",
            (int64_t)m->restored_records);
    put_i64(out, "dealstream_restored_bytes_total", "counter",
            "Bytes of state objects written by restores.",
            (int64_t)m->restored_bytes);
    if (m->restoring) {
        const char *g = "dealstream_restore_remaining_records";
        header(out, g, "gauge",
               "Changelog records the restore under way has still to read, "
               "by partition (present only while one runs; the partition's "
               "inputs wait for it).");
        put(out, "%s{partition=\"%d\"} %lld\n", g, m->restoring_partition,
            (long long)m->restore_remaining);
    }
    snprintf(v, sizeof(v), "%lld", (long long)m->standby_partitions);
    put_one(out, "dealstream_standby_partitions", "gauge",
            "Changelog partitions this instance follows as a standby "
            "(state.standby_replicas): warm copies of partitions it does "
            "not own.", v);
    if (m->n_standby_lag) {
        const char *g = "dealstream_standby_lag_records";
        header(out, g, "gauge",
               "Changelog records a standby copy is behind the changelog's "
               "end, by partition followed (as the last fetch saw the end).");
        for (size_t i = 0; i < m->n_standby_lag; i++)
            put(out, "%s{partition=\"%d\"} %lld\n", g,
                m->standby_lag[i].partition,
                (long long)m->standby_lag[i].lag);
    }
    snprintf(v, sizeof(v), "%lld", (long long)m->assigned_partitions);
    put_one(out, "dealstream_consumer_assigned_partitions", "gauge",
            "Partitions assigned to this member of the group.", v);
    put_one(out, "dealstream_producer_up", "gauge",
            "1 while the producer runs and no delivery has failed.",
            m->producer_up ? "1" : "0");
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->cache_objects);
    put_one(out, "dealstream_state_cache_objects", "gauge",
            "Decoded state objects held in the cache.", v);
    const char *g = "dealstream_consumer_lag_records";
    header(out, g, "gauge",
           "Records between this member's position and the high "
           "watermark, by assigned partition.");
    for (size_t i = 0; i < m->lag.n; i++) {
        put(out, "%s{topic=\"", g);
        put_label(out, m->lag.v[i].topic);
        put(out, "\",partition=\"%d\"} %lld\n", m->lag.v[i].partition,
            (long long)m->lag.v[i].lag);
    }
    g = "dealstream_state_cache_requests_total";
    header(out, g, "counter",
           "State gets, by result: hit (in memory) or miss (read from "
           "RocksDB).");
    put(out, "%s{result=\"hit\"} %llu\n%s{result=\"miss\"} %llu\n", g,
        (unsigned long long)m->cache_hits, g,
        (unsigned long long)m->cache_misses);
    put_i64(out, "dealstream_state_dirty_objects", "gauge",
            "State objects changed in the open batch, not yet encoded.",
            (int64_t)m->dirty_objects);
    put_i64(out, "dealstream_state_unwritten_bytes", "gauge",
            "Encoded state of closed batches waiting to be written.",
            (int64_t)m->unwritten_bytes);
    if (m->rocks_block_cache >= 0) {
        g = "dealstream_rocksdb_memory_bytes";
        header(out, g, "gauge",
               "RocksDB memory by use: block_cache, memtables, "
               "table_readers (indexes and filters).");
        put(out, "%s{kind=\"block_cache\"} %lld\n", g,
            (long long)m->rocks_block_cache);
        put(out, "%s{kind=\"memtables\"} %lld\n", g,
            (long long)m->rocks_memtables);
        put(out, "%s{kind=\"table_readers\"} %lld\n", g,
            (long long)m->rocks_table_readers);
    }
    put_i64(out, "dealstream_rocksdb_pending_compaction_bytes", "gauge",
            "Bytes RocksDB estimates compaction must rewrite.",
            m->rocks_pending_compaction);
    if (m->rocks_stall_seconds >= 0) {
        snprintf(v, sizeof(v), "%.3f", m->rocks_stall_seconds);
        put_one(out, "dealstream_rocksdb_stall_seconds_total", "counter",
                "Time RocksDB held writes back (slowed or stopped) to let "
                "compaction catch up.",
                v);
    }
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->ordering_buffered);
    put_one(out, "dealstream_ordering_buffered_records", "gauge",
            "Records polled and held until their partition group's "
            "event-time turn.", v);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->ordering_enforced);
    put_one(out, "dealstream_ordering_enforced_total", "counter",
            "Waits for an empty input topic that ended after "
            "processing.max_idle_ms without its record.", v);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->ordering_lag_waits);
    put_one(out, "dealstream_ordering_lag_waits_total", "counter",
            "Waits for an empty input topic prolonged because the broker "
            "held records of it not fetched yet "
            "(processing.max_lag_wait_ms).", v);
    if (m->watermarks.n) {
        const char *w = "dealstream_partition_group_watermark_seconds";
        header(out, w, "gauge",
               "Per partition group: the minimum over its input topics of "
               "the largest event time applied (s since the epoch); topics "
               "idle for processing.idle_topic_ms left out.");
        for (size_t i = 0; i < m->watermarks.n; i++) {
            put(out, "%s{partition=\"", w);
            put_label(out, m->watermarks.v[i].a);
            put(out, "\"} %.3f\n", (double)m->watermarks.v[i].n / 1000.0);
        }
    }

    for (size_t i = 0; i < m->n_lhist; i++)
        put_lhist(out, &m->lhist[i]);

    if (p->rss_bytes >= 0) {
        snprintf(v, sizeof(v), "%lld", (long long)p->rss_bytes);
        put_one(out, "process_resident_memory_bytes", "gauge",
                "Resident memory size in bytes.", v);
    }
    if (p->open_fds >= 0) {
        snprintf(v, sizeof(v), "%lld", (long long)p->open_fds);
        put_one(out, "process_open_fds", "gauge",
                "Number of open file descriptors.", v);
    }
    if (p->cpu_seconds >= 0) {
        snprintf(v, sizeof(v), "%.3f", p->cpu_seconds);
        put_one(out, "process_cpu_seconds_total", "counter",
                "Total user and system CPU time spent in seconds.", v);
    }
    header(out, "dealstream_build_info", "gauge",
           "The running build; the value is always 1.");
    put(out, "dealstream_build_info{version=\"");
    put_label(out, version);
    put(out, "\"} 1\n");
}

void metrics_process_read(struct metrics_process *p)
{
    p->rss_bytes = -1;
    p->open_fds = -1;
    p->cpu_seconds = -1;
    long page = sysconf(_SC_PAGESIZE), tck = sysconf(_SC_CLK_TCK);
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        long long size, res;
        if (fscanf(fp, "%lld %lld", &size, &res) == 2)
            p->rss_bytes = res * page;
        fclose(fp);
    }
    fp = fopen("/proc/self/stat", "r");
    if (fp) {
        char line[1024];
        if (fgets(line, sizeof(line), fp)) {
            /* Fields after the command, which may hold spaces: from the
             * last ')'. utime and stime are fields 14 and 15. */
            const char *s = strrchr(line, ')');
            unsigned long long ut, st;
            if (s && sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                   "%*u %llu %llu",
                            &ut, &st) == 2 && tck > 0)
                p->cpu_seconds = (double)(ut + st) / (double)tck;
        }
        fclose(fp);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int64_t n = 0;
        while (readdir(d))
            n++;
        closedir(d);
        p->open_fds = n - 3; /* ".", ".." and the directory's own fd */
    }
}

/* ---- handoff ------------------------------------------------------------ */

void metrics_pub_init(struct metrics_pub *pub)
{
    memset(pub, 0, sizeof(*pub));
    pthread_mutex_init(&pub->mu, NULL);
}

void metrics_pub_destroy(struct metrics_pub *pub)
{
    pthread_mutex_destroy(&pub->mu);
}

void metrics_publish(struct metrics_pub *pub, const struct metrics *m)
{
    pthread_mutex_lock(&pub->mu);
    pub->m = *m;
    pub->published = true;
    pthread_mutex_unlock(&pub->mu);
}

bool metrics_read(struct metrics_pub *pub, struct metrics *m)
{
    pthread_mutex_lock(&pub->mu);
    bool ok = pub->published;
    *m = pub->m;
    pthread_mutex_unlock(&pub->mu);
    return ok;
}
