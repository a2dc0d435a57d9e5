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
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

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

void metrics_observe_commit(struct metrics *m, double seconds)
{
    for (size_t i = 0; i < METRICS_COMMIT_BUCKETS; i++)
        if (seconds <= metrics_commit_le[i]) {
            m->commit_bucket[i]++;
            break;
        }
    m->commit_count++;
    m->commit_sum += seconds;
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
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->poison_outputs);
    put_one(out, "dealstream_poison_outputs_total", "counter",
            "Outputs that could not be produced as they were (cut DLQ "
            "records, alerts that failed to encode or were rejected).",
            v);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->commits);
    put_one(out, "dealstream_batches_committed_total", "counter",
            "Batches whose state and offsets were written.", v);

    const char *h = "dealstream_commit_latency_seconds";
    header(out, h, "histogram",
           "From a batch's close to its state and offsets written.");
    uint64_t cum = 0;
    for (size_t i = 0; i < METRICS_COMMIT_BUCKETS; i++) {
        cum += m->commit_bucket[i];
        put(out, "%s_bucket{le=\"%g\"} %llu\n", h, metrics_commit_le[i],
            (unsigned long long)cum);
    }
    put(out, "%s_bucket{le=\"+Inf\"} %llu\n", h,
        (unsigned long long)m->commit_count);
    put(out, "%s_sum %.9g\n%s_count %llu\n", h, m->commit_sum, h,
        (unsigned long long)m->commit_count);

    put_set(out, "dealstream_config_reloads_total",
            "Config reloads on SIGHUP, by result (ok: validated; error: "
            "refused).",
            &m->reloads, "result", NULL);
    snprintf(v, sizeof(v), "%lld", (long long)m->assigned_partitions);
    put_one(out, "dealstream_consumer_assigned_partitions", "gauge",
            "Partitions assigned to this member of the group.", v);
    put_one(out, "dealstream_producer_up", "gauge",
            "1 while the producer runs and no delivery has failed.",
            m->producer_up ? "1" : "0");
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->cache_objects);
    put_one(out, "dealstream_state_cache_objects", "gauge",
            "Decoded state objects held in the cache.", v);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->ordering_buffered);
    put_one(out, "dealstream_ordering_buffered_records", "gauge",
            "Records polled and held until their partition group's "
            "event-time turn.", v);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)m->ordering_enforced);
    put_one(out, "dealstream_ordering_enforced_total", "counter",
            "Waits for an empty input topic that ended after "
            "processing.max_idle_ms without its record.", v);
    if (m->watermarks.n) {
        const char *w = "dealstream_partition_group_watermark_seconds";
        header(out, w, "gauge",
               "Per partition group: the minimum over its input topics of "
               "the largest event time seen (s since the epoch); topics "
               "idle for processing.idle_topic_ms left out.");
        for (size_t i = 0; i < m->watermarks.n; i++) {
            put(out, "%s{partition=\"", w);
            put_label(out, m->watermarks.v[i].a);
            put(out, "\"} %.3f\n", (double)m->watermarks.v[i].n / 1000.0);
        }
    }

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
