/*
 * changelog.c - state changes to the changelog topic (see changelog.h).
 *
 * Why markers: a batch's records reach the log one by one, and a crash can
 * leave part of one there. A restore applies records only up to the last
 * marker, so the state it builds and the input offsets it resumes from
 * always describe the same events. Why cumulative offsets: compaction keeps
 * one marker per partition, the newest, and it must name every input.
 */
#include "changelog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "now.h"

/* Offsets text per partition: a handful of inputs of <= 249 bytes each. */
#define CHANGELOG_OFFSETS_MAX 4096
#define CHANGELOG_MARKER_PREFIX "v1;"

struct marker_pos {
    uint64_t batch;
    int32_t partition;
    int64_t next; /* the marker's offset + 1 */
};

struct changelog {
    struct kafka_producer *producer;
    char *topic;
    char *partitioner;
    int32_t partitions;
    char **offsets;  /* per partition: cumulative offsets text, or NULL */
    bool *touched;   /* per partition, scratch of changelog_send_step */
    /* The batch being sent in steps: its state records, pointing into its
     * WriteBatch, which nothing changes until the batch is acknowledged. */
    struct send_rec {
        const void *key, *val; /* val NULL: a tombstone */
        size_t klen, vlen;
    } *recs;
    size_t n_recs, cap_recs;
    struct marker_pos *delivered;
    size_t n_delivered, cap_delivered;
    uint64_t instance; /* makes batch ids unique across instances */
    int repair_pending, repair_failed;
    bool warned_partition;
};

int changelog_topic_name(const char *group, const char *configured, char *out,
                         size_t n)
{
    int w = configured && configured[0]
                ? snprintf(out, n, "%s", configured)
                : snprintf(out, n, "%s-state-changelog", group);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int32_t changelog_partition_of(const char *partitioner, int32_t partitions,
                               const void *key, size_t klen)
{
    const char *k = key;
    const char *slash = memchr(k, '/', klen);
    if (!slash || ((size_t)(slash - k) == strlen("quarantine") &&
                   memcmp(k, "quarantine", strlen("quarantine")) == 0))
        return -1;
    const char *rk = slash + 1;
    size_t left = klen - (size_t)(rk - k);
    const char *end = memchr(rk, '/', left);
    size_t rklen = end ? (size_t)(end - rk) : left;
    return kafka_partition_of(partitioner, rk, rklen, partitions);
}

int changelog_partition_key(const char *partitioner, int32_t partitions,
                            int32_t partition, char *out, size_t n)
{
    /* Each try lands in `partition` with chance 1/partitions: the bound
     * is never reached by a partitioner that spreads keys at all. */
    for (unsigned salt = 0; salt < 1u << 20; salt++) {
        int w = snprintf(out, n, "~p%d.%u", (int)partition, salt);
        if (w < 0 || (size_t)w >= n)
            return -1;
        int32_t got = kafka_partition_of(partitioner, out, (size_t)w,
                                         partitions);
        if (got == partition)
            return 0;
        if (got < 0)
            return -1; /* no key determines it */
    }
    return -1;
}

int changelog_offsets_set(char *out, size_t n, const char *topic,
                          int64_t next)
{
    size_t tlen = strlen(topic);
    char *p = out;
    while (*p) {
        char *colon = strchr(p, ':');
        char *comma = strchr(p, ',');
        if (!colon)
            return -1;
        if ((size_t)(colon - p) == tlen && memcmp(p, topic, tlen) == 0) {
            /* Cut the old entry out, then append the new one. */
            char *rest = comma ? comma + 1 : p + strlen(p);
            memmove(p, rest, strlen(rest) + 1);
            size_t len = strlen(out);
            if (len && out[len - 1] == ',')
                out[len - 1] = '\0';
            break;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    size_t len = strlen(out);
    int w = snprintf(out + len, n - len, "%s%s:%" PRId64, len ? "," : "",
                     topic, next);
    if (w < 0 || (size_t)w >= n - len) {
        out[len] = '\0';
        return -1;
    }
    return 0;
}

int changelog_offsets_each(const char *text,
                           void (*fn)(void *arg, const char *topic,
                                      int64_t next),
                           void *arg)
{
    const char *p = text;
    while (*p) {
        const char *colon = strchr(p, ':');
        const char *comma = strchr(p, ',');
        if (!colon || (comma && comma < colon) || colon == p ||
            colon - p >= 256)
            return -1;
        char topic[256];
        memcpy(topic, p, (size_t)(colon - p));
        topic[colon - p] = '\0';
        char *endp;
        long long next = strtoll(colon + 1, &endp, 10);
        if (endp == colon + 1 || next < 0 || (*endp && *endp != ','))
            return -1;
        fn(arg, topic, (int64_t)next);
        if (!*endp)
            break;
        p = endp + 1;
    }
    return 0;
}

int changelog_new(struct kafka_producer *producer, const char *topic,
                  int32_t partitions, const char *partitioner,
                  struct changelog **out, char *err, size_t errlen)
{
    if (kafka_partition_of(partitioner, "k", 1, 1) < 0) {
        snprintf(err, errlen, "kafka.properties.partitioner %s: the changelog "
                 "needs a partitioner that the key determines "
                 "(consistent_random, murmur2_random, ...)", partitioner);
        return -1;
    }
    struct changelog *cl = calloc(1, sizeof(*cl));
    if (!cl)
        goto oom;
    cl->producer = producer;
    cl->partitions = partitions;
    cl->topic = strdup(topic);
    cl->partitioner = strdup(partitioner);
    cl->offsets = calloc((size_t)partitions, sizeof(*cl->offsets));
    cl->touched = calloc((size_t)partitions, sizeof(*cl->touched));
    if (!cl->topic || !cl->partitioner || !cl->offsets || !cl->touched)
        goto oom;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cl->instance = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
                   ((uint64_t)getpid() << 16);
    *out = cl;
    return 0;
oom:
    changelog_free(cl);
    snprintf(err, errlen, "out of memory");
    return -1;
}

int changelog_open(const struct config *cfg, struct kafka_producer *producer,
                   const char *input, struct changelog **out, char *err,
                   size_t errlen)
{
    char topic[256];
    const char *partitioner = "consistent_random"; /* librdkafka's default */
    for (size_t i = 0; i < cfg->kafka.properties.n; i++)
        if (strcmp(cfg->kafka.properties.v[i].key, "partitioner") == 0)
            partitioner = cfg->kafka.properties.v[i].value;
    if (changelog_topic_name(cfg->kafka.group_id, cfg->state.changelog_topic,
                             topic, sizeof(topic)) != 0) {
        snprintf(err, errlen, "state.changelog_topic: name too long");
        return -1;
    }
    int n = kafka_producer_partitions(producer, topic, 10000, err, errlen);
    int in = n > 0 ? kafka_producer_partitions(producer, input, 10000, err,
                                               errlen)
                   : -1;
    if (n <= 0 || in <= 0)
        return -1;
    if (n != in) {
        snprintf(err, errlen, "%s has %d partitions, %s has %d: the "
                 "changelog needs the inputs' partition count", topic, n,
                 input, in);
        return -1;
    }
    if (changelog_new(producer, topic, n, partitioner, out, err, errlen) != 0)
        return -1;
    LOG_INF("changelog", "state changes also to %s (%d partitions, keys "
            "partitioned by %s)", topic, n, partitioner);
    return 0;
}

void changelog_free(struct changelog *cl)
{
    if (!cl)
        return;
    for (int32_t p = 0; cl->offsets && p < cl->partitions; p++)
        free(cl->offsets[p]);
    free(cl->offsets);
    free(cl->touched);
    free(cl->recs);
    free(cl->delivered);
    free(cl->topic);
    free(cl->partitioner);
    free(cl);
}

const char *changelog_topic(const struct changelog *cl) { return cl->topic; }
int32_t changelog_partitions(const struct changelog *cl)
{
    return cl->partitions;
}
const char *changelog_partitioner(const struct changelog *cl)
{
    return cl->partitioner;
}

static char *offsets_of(struct changelog *cl, int32_t p)
{
    if (!cl->offsets[p]) {
        cl->offsets[p] = calloc(1, CHANGELOG_OFFSETS_MAX);
        if (!cl->offsets[p]) {
            fputs("dealstream: out of memory\n", stderr);
            abort();
        }
    }
    return cl->offsets[p];
}

static bool partition_ok(struct changelog *cl, const char *topic, int32_t p)
{
    if (p >= 0 && p < cl->partitions)
        return true;
    if (!cl->warned_partition)
        LOG_ERR("changelog", "%s[%d] has no partition in %s (%d partitions): "
                "the changelog needs the inputs' partition count", topic, p,
                cl->topic, cl->partitions);
    cl->warned_partition = true;
    return false;
}

void changelog_seed(struct changelog *cl, const char *topic,
                    int32_t partition, int64_t next)
{
    if (partition_ok(cl, topic, partition) &&
        changelog_offsets_set(offsets_of(cl, partition),
                              CHANGELOG_OFFSETS_MAX, topic, next) != 0)
        LOG_ERR("changelog", "too many inputs for the offsets header");
}

void changelog_seed_watermark(struct changelog *cl, int32_t partition,
                              int64_t wm)
{
    changelog_seed(cl, CHANGELOG_WATERMARK_ENTRY, partition, wm);
}

struct send_ctx {
    struct changelog *cl;
    char batch_id[48];
    int produced;
    int failed;
    char *err;
    size_t errlen;
};

/* State records go without headers: restore reads only the markers, and
 * two headers per record (~190 bytes with five inputs, against ~300 of
 * key and value) cost 3-5 % of the CPU per event (docs/PERFORMANCE.md). */
static int produce(struct send_ctx *s, int32_t p, const void *key,
                   size_t klen, const void *val, size_t vlen,
                   const struct kafka_header *h, size_t n_hdrs)
{
    struct changelog *cl = s->cl;
    if (kafka_produce_to(cl->producer, cl->topic, p, key, klen, val, vlen, h,
                         n_hdrs, s->err, s->errlen) != 0) {
        s->failed = 1;
        return -1;
    }
    s->produced++;
    return 0;
}

static void send_offset(void *arg, const char *topic, int32_t p, int64_t next)
{
    struct send_ctx *s = arg;
    if (!partition_ok(s->cl, topic, p))
        return;
    changelog_seed(s->cl, topic, p, next);
    s->cl->touched[p] = true;
}

/* A watermark only moves with offsets of the same partition, so the
 * partition is touched already: it rides in the markers' text. */
static void send_watermark(void *arg, int32_t p, int64_t wm)
{
    struct send_ctx *s = arg;
    if (partition_ok(s->cl, CHANGELOG_WATERMARK_ENTRY, p))
        changelog_seed_watermark(s->cl, p, wm);
}

static void send_value(void *arg, const void *key, size_t klen,
                       const void *val, size_t vlen)
{
    struct send_ctx *s = arg;
    if (s->failed)
        return;
    int32_t p = changelog_partition_of(s->cl->partitioner, s->cl->partitions,
                                       key, klen);
    if (p < 0)
        return;
    s->cl->touched[p] = true;
    produce(s, p, key, klen, val, vlen, NULL, 0);
}

static int send_marker(struct send_ctx *s, int32_t p)
{
    char val[CHANGELOG_OFFSETS_MAX + sizeof(CHANGELOG_MARKER_PREFIX)];
    int w = snprintf(val, sizeof(val), "%s%s", CHANGELOG_MARKER_PREFIX,
                     offsets_of(s->cl, p));
    const struct kafka_header h[2] = {
        {CHANGELOG_HDR_BATCH, s->batch_id},
        {CHANGELOG_HDR_OFFSETS, offsets_of(s->cl, p)},
    };
    return produce(s, p, CHANGELOG_MARKER_KEY, strlen(CHANGELOG_MARKER_KEY),
                   val, (size_t)w, h, 2);
}

static void collect(void *arg, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    struct changelog *cl = arg;
    if (cl->n_recs == cl->cap_recs) {
        cl->cap_recs = cl->cap_recs ? 2 * cl->cap_recs : 1024;
        cl->recs = realloc(cl->recs, cl->cap_recs * sizeof(*cl->recs));
        if (!cl->recs)
            abort();
    }
    cl->recs[cl->n_recs++] = (struct send_rec){key, val, klen, vlen};
}

int changelog_send_step(struct changelog *cl, uint64_t batch,
                        const struct state_batch *b, size_t *next, size_t max,
                        bool *done, char *err, size_t errlen)
{
    struct send_ctx s = {.cl = cl, .err = err, .errlen = errlen};
    snprintf(s.batch_id, sizeof(s.batch_id), "%016" PRIx64 "-%" PRIu64,
             cl->instance, batch);
    if (*next == 0) {
        memset(cl->touched, 0, (size_t)cl->partitions * sizeof(*cl->touched));
        /* Offsets first: the batch's markers carry where it ends. */
        state_batch_each_offset(b, send_offset, &s);
        state_batch_each_watermark(b, send_watermark, &s);
        cl->n_recs = 0;
        state_batch_each_value(b, collect, cl);
    }
    size_t end = max > cl->n_recs - *next ? cl->n_recs : *next + max;
    for (size_t i = *next; i < end && !s.failed; i++)
        send_value(&s, cl->recs[i].key, cl->recs[i].klen, cl->recs[i].val,
                   cl->recs[i].vlen);
    *next = end;
    *done = end == cl->n_recs;
    for (int32_t p = 0; *done && p < cl->partitions && !s.failed; p++)
        if (cl->touched[p])
            send_marker(&s, p);
    return s.failed ? -1 : s.produced;
}

int changelog_repair(struct changelog *cl, int32_t partition,
                     const char *const *keys, const size_t *klens,
                     const void *const *vals, const size_t *vlens, size_t n,
                     int timeout_ms, char *err, size_t errlen)
{
    struct send_ctx s = {.cl = cl, .err = err, .errlen = errlen};
    snprintf(s.batch_id, sizeof(s.batch_id), "%016" PRIx64 "-repair",
             cl->instance);
    uint64_t tag = kafka_producer_tag(cl->producer);
    kafka_producer_set_tag(cl->producer, CHANGELOG_TAG_REPAIR);
    cl->repair_failed = 0;
    for (size_t i = 0; i < n && !s.failed; i++)
        produce(&s, partition, keys[i], klens[i], vals[i], vlens[i], NULL, 0);
    if (!s.failed)
        send_marker(&s, partition);
    kafka_producer_set_tag(cl->producer, tag);
    cl->repair_pending += s.produced;
    int64_t until = now_mono_ms() + timeout_ms;
    while (cl->repair_pending > 0 && now_mono_ms() < until)
        kafka_producer_poll(cl->producer, 50);
    if (s.failed)
        return -1;
    if (cl->repair_pending > 0 || cl->repair_failed) {
        snprintf(err, errlen, "%s[%d]: the repair of an unfinished batch was "
                 "not delivered (%d pending, %d failed)", cl->topic,
                 partition, cl->repair_pending, cl->repair_failed);
        return -1;
    }
    return 0;
}

void changelog_delivered(struct changelog *cl, uint64_t tag, bool ok,
                         const struct kafka_msg *m)
{
    if (tag == CHANGELOG_TAG_REPAIR) {
        cl->repair_pending--;
        cl->repair_failed += !ok;
        return;
    }
    if (!ok || m->klen != strlen(CHANGELOG_MARKER_KEY) ||
        memcmp(m->key, CHANGELOG_MARKER_KEY, m->klen) != 0)
        return;
    if (cl->n_delivered == cl->cap_delivered) {
        size_t cap = cl->cap_delivered ? 2 * cl->cap_delivered : 64;
        struct marker_pos *v = realloc(cl->delivered, cap * sizeof(*v));
        if (!v) {
            fputs("dealstream: out of memory\n", stderr);
            abort();
        }
        cl->delivered = v;
        cl->cap_delivered = cap;
    }
    cl->delivered[cl->n_delivered++] =
        (struct marker_pos){tag, m->partition, m->offset + 1};
}

void changelog_checkpoint(struct changelog *cl, uint64_t batch,
                          struct state_batch *b)
{
    size_t keep = 0;
    for (size_t i = 0; i < cl->n_delivered; i++) {
        const struct marker_pos *d = &cl->delivered[i];
        if (d->batch == batch)
            state_batch_offset(b, cl->topic, d->partition, d->next);
        else
            cl->delivered[keep++] = *d;
    }
    cl->n_delivered = keep;
}
