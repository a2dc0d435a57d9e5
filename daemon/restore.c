/*
 * restore.c - state rebuilt from the changelog (see restore.h).
 *
 * Records since the last marker are held in memory and written when the
 * next marker arrives, with the input offsets it names and the checkpoint,
 * in RocksDB batches of a few thousand objects. After compaction a
 * partition's records mostly precede one marker; past max_buffer they are
 * written ahead of it (only an unfinished batch at the very end could make
 * that wrong, and one is far smaller: that case fails the restore).
 */
#include "restore.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "now.h"

#define RESTORE_BUFFER_DEFAULT (64u << 20)
#define RESTORE_COMMIT_EVERY 8192 /* objects per RocksDB write */
#define RESTORE_IDLE_MS 60000     /* no record for this long: give up */
#define RESTORE_LOG_MS 2000
/* Keys prefetched ahead of on_key: enough misses in flight to hide one
 * (~100 ns) behind the puts of the keys between. */
#define RESTORE_PREFETCH_AHEAD 8

struct held {
    char *key;
    size_t klen;
    void *val; /* NULL: tombstone */
    size_t vlen;
};

struct restore_run {
    struct state *db;
    char *topic;
    int32_t partition;
    size_t max_buffer;
    struct held *held;
    size_t n_held, cap_held, held_bytes;
    bool ahead; /* records since the last marker already written */
    struct state_batch *b;
    struct restore_counts counts;
    const char **tail_keys; /* after finish */
    size_t *tail_klens;
    size_t n_tail;
    void (*on_key)(void *arg, const void *key, size_t klen);
    void (*prefetch_key)(void *arg, const void *key, size_t klen);
    void *on_key_arg;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return p;
}

struct restore_run *restore_run_new(struct state *db, const char *topic,
                                    int32_t partition, size_t max_buffer)
{
    struct restore_run *r = xmalloc(sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->db = db;
    r->topic = xmalloc(strlen(topic) + 1);
    memcpy(r->topic, topic, strlen(topic) + 1);
    r->partition = partition;
    r->max_buffer = max_buffer ? max_buffer : RESTORE_BUFFER_DEFAULT;
    r->b = state_batch_new();
    r->counts.checkpoint = -1;
    return r;
}

static void drop_held(struct restore_run *r)
{
    for (size_t i = 0; i < r->n_held; i++) {
        free(r->held[i].key);
        free(r->held[i].val);
    }
    r->n_held = 0;
    r->held_bytes = 0;
}

void restore_run_free(struct restore_run *r)
{
    if (!r)
        return;
    drop_held(r);
    free(r->held);
    free(r->tail_keys);
    free(r->tail_klens);
    state_batch_free(r->b);
    free(r->topic);
    free(r);
}

int restore_run_flush(struct restore_run *r, char *err, size_t errlen)
{
    if (state_batch_count(r->b) == 0)
        return 0;
    return state_batch_commit(r->db, r->b, err, errlen);
}

static void set_on_key(struct restore_run *r,
                       void (*fn)(void *arg, const void *key, size_t klen),
                       void *arg)
{
    r->on_key = fn;
    r->on_key_arg = arg;
}

static int commit(struct restore_run *r, char *err, size_t errlen)
{
    return state_batch_commit(r->db, r->b, err, errlen);
}

/* The held records into the pending RocksDB batch. */
static int write_held(struct restore_run *r, char *err, size_t errlen)
{
    bool pf = r->on_key && r->prefetch_key;
    for (size_t i = 0; pf && i < r->n_held && i < RESTORE_PREFETCH_AHEAD; i++)
        r->prefetch_key(r->on_key_arg, r->held[i].key, r->held[i].klen);
    for (size_t i = 0; i < r->n_held; i++) {
        const struct held *h = &r->held[i];
        if (pf && i + RESTORE_PREFETCH_AHEAD < r->n_held) {
            const struct held *a = &r->held[i + RESTORE_PREFETCH_AHEAD];
            r->prefetch_key(r->on_key_arg, a->key, a->klen);
        }
        if (h->val)
            state_batch_put(r->b, h->key, h->klen, h->val, h->vlen);
        else
            state_batch_delete(r->b, h->key, h->klen);
        if (r->on_key)
            r->on_key(r->on_key_arg, h->key, h->klen);
        r->counts.objects++;
        r->counts.bytes += h->klen + h->vlen;
    }
    drop_held(r);
    if (state_batch_count(r->b) >= RESTORE_COMMIT_EVERY)
        return commit(r, err, errlen);
    return 0;
}

static void marker_offset(void *arg, const char *topic, int64_t next)
{
    struct restore_run *r = arg;
    if (strcmp(topic, CHANGELOG_WATERMARK_ENTRY) == 0)
        state_batch_watermark(r->b, r->partition, next);
    else
        state_batch_offset(r->b, topic, r->partition, next);
}

static int on_marker(struct restore_run *r, int64_t offset, const void *val,
                     size_t vlen, char *err, size_t errlen)
{
    static const char prefix[] = "v1;";
    char text[4096 + sizeof(prefix)];
    if (!val || vlen < sizeof(prefix) - 1 || vlen >= sizeof(text) ||
        memcmp(val, prefix, sizeof(prefix) - 1) != 0) {
        snprintf(err, errlen, "%s[%d] offset %" PRId64 ": not a commit "
                 "marker this version reads", r->topic, r->partition, offset);
        return -1;
    }
    memcpy(text, (const char *)val + sizeof(prefix) - 1,
           vlen - (sizeof(prefix) - 1));
    text[vlen - (sizeof(prefix) - 1)] = '\0';
    /* Offsets after the records: state_batch_offset replaces per topic. */
    if (write_held(r, err, errlen) != 0)
        return -1;
    if (changelog_offsets_each(text, marker_offset, r) != 0) {
        snprintf(err, errlen, "%s[%d] offset %" PRId64 ": malformed input "
                 "offsets in a commit marker", r->topic, r->partition, offset);
        return -1;
    }
    state_batch_offset(r->b, r->topic, r->partition, offset + 1);
    r->counts.checkpoint = offset + 1;
    r->counts.markers++;
    r->ahead = false;
    return 0;
}

int restore_run_record(struct restore_run *r, int64_t offset, const void *key,
                       size_t klen, const void *val, size_t vlen, char *err,
                       size_t errlen)
{
    r->counts.records++;
    if (klen == strlen(CHANGELOG_MARKER_KEY) &&
        memcmp(key, CHANGELOG_MARKER_KEY, klen) == 0)
        return on_marker(r, offset, val, vlen, err, errlen);
    if (klen == 0 || ((const uint8_t *)key)[0] == 0x00) {
        LOG_RL(LOG_WARN, "restore", "%s[%d] offset %" PRId64 ": not a state "
               "key; skipped", r->topic, r->partition, offset);
        return 0;
    }
    if (r->n_held == r->cap_held) {
        r->cap_held = r->cap_held ? 2 * r->cap_held : 256;
        struct held *v = realloc(r->held, r->cap_held * sizeof(*v));
        if (!v) {
            fputs("dealstream: out of memory\n", stderr);
            abort();
        }
        r->held = v;
    }
    struct held *h = &r->held[r->n_held++];
    h->key = xmalloc(klen);
    memcpy(h->key, key, klen);
    h->klen = klen;
    h->val = NULL;
    h->vlen = 0;
    if (val) {
        h->val = xmalloc(vlen);
        memcpy(h->val, val, vlen);
        h->vlen = vlen;
    }
    r->held_bytes += klen + vlen + sizeof(*h);
    if (r->held_bytes > r->max_buffer) {
        r->ahead = true;
        if (write_held(r, err, errlen) != 0 || commit(r, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int restore_run_finish(struct restore_run *r, char *err, size_t errlen)
{
    if (r->ahead) {
        snprintf(err, errlen, "%s[%d]: the log ends with an unfinished batch "
                 "larger than the restore buffer (%zu bytes), part of which "
                 "is already written: wipe state.dir for this partition and "
                 "restore again", r->topic, r->partition, r->max_buffer);
        return -1;
    }
    if (commit(r, err, errlen) != 0)
        return -1;
    r->n_tail = r->n_held;
    r->tail_keys = xmalloc(r->n_tail * sizeof(*r->tail_keys));
    r->tail_klens = xmalloc(r->n_tail * sizeof(*r->tail_klens));
    for (size_t i = 0; i < r->n_held; i++) {
        r->tail_keys[i] = r->held[i].key;
        r->tail_klens[i] = r->held[i].klen;
    }
    return 0;
}

size_t restore_run_tail(const struct restore_run *r, const char ***keys,
                        const size_t **klens)
{
    *keys = r->tail_keys;
    *klens = r->tail_klens;
    return r->n_tail;
}

void restore_run_counts(const struct restore_run *r, struct restore_counts *c)
{
    *c = r->counts;
}

/* ---- against Kafka ----------------------------------------------------- */

struct mine_ctx {
    const struct changelog *cl;
    int32_t partition;
    bool found;
};

static bool key_is_mine(void *arg, const void *key, size_t klen)
{
    struct mine_ctx *m = arg;
    return changelog_partition_of(changelog_partitioner(m->cl),
                                  changelog_partitions(m->cl), key,
                                  klen) == m->partition;
}

static int has_input_offset(void *arg, const char *topic, int32_t partition,
                            int64_t next)
{
    (void)next;
    struct mine_ctx *m = arg;
    if (partition == m->partition &&
        strcmp(topic, changelog_topic(m->cl)) != 0)
        m->found = true;
    return m->found;
}

struct seed_ctx {
    struct changelog *cl;
    int32_t partition;
};

static int seed_offset(void *arg, const char *topic, int32_t partition,
                       int64_t next)
{
    struct seed_ctx *s = arg;
    if (partition == s->partition && strcmp(topic, changelog_topic(s->cl)))
        changelog_seed(s->cl, topic, partition, next);
    return 0;
}

/* The current values of the unfinished batch's keys, written again, with a
 * marker that names the input offsets the restored state reflects: it may
 * become the one marker compaction keeps. */
static int repair(const struct restore_opts *o, int32_t p,
                  struct restore_run *r, char *err, size_t errlen)
{
    const char **keys;
    const size_t *klens;
    size_t n = restore_run_tail(r, &keys, &klens);
    if (n == 0)
        return 0;
    struct seed_ctx sc = {o->changelog, p};
    if (state_offset_scan(o->db, seed_offset, &sc, err, errlen) != 0)
        return -1;
    int64_t wm;
    int wrc = state_watermark_get(o->db, p, &wm, err, errlen);
    if (wrc < 0)
        return -1;
    if (wrc == 1)
        changelog_seed_watermark(o->changelog, p, wm);
    void **vals = xmalloc(n * sizeof(*vals));
    size_t *vlens = xmalloc(n * sizeof(*vlens));
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        vals[i] = NULL;
        vlens[i] = 0;
        if (rc == 0 && state_get(o->db, keys[i], klens[i], &vals[i], &vlens[i],
                                 err, errlen) < 0)
            rc = -1;
    }
    LOG_WRN("restore", "%s[%d]: the log ends with %zu records of an "
            "unfinished batch (its writer stopped before its marker); left "
            "out, and their keys' committed values written again",
            changelog_topic(o->changelog), p, n);
    if (rc == 0)
        rc = changelog_repair(o->changelog, p, keys, klens,
                              (const void *const *)vals, vlens, n, 30000, err,
                              errlen);
    for (size_t i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
    free(vlens);
    return rc;
}

static void progress(const char *topic, int32_t p, const struct restore_run *r,
                     int64_t start_ms, int64_t from, int64_t pos, int64_t high,
                     bool done)
{
    struct restore_counts c;
    restore_run_counts(r, &c);
    double s = (double)(now_mono_ms() - start_ms) / 1000.0;
    double rate = s > 0 ? (double)c.records / s : 0;
    double left = rate > 0 ? (double)(high - pos) / rate : 0;
    (void)from;
    LOG_INF("restore", "%s[%d]: %s %" PRIu64 " objects, %.1f MiB, %" PRIu64
            " records at %.0f rec/s, offset %" PRId64 " of %" PRId64
            ", ETA %.1f s",
            topic, p, done ? "restored" : "restoring", c.objects,
            (double)c.bytes / 1048576.0, c.records, rate, pos, high,
            done ? 0.0 : left);
}

enum restore_plan restore_plan(bool stored, int64_t ckpt, int64_t low,
                               int64_t high, bool has_local)
{
    if (stored) {
        if (ckpt == high)
            return RESTORE_NONE;
        if (ckpt > high)
            return RESTORE_REFUSE;
        return ckpt < low ? RESTORE_WIPE_FULL : RESTORE_TAIL;
    }
    if (high == low)
        return RESTORE_NONE;
    return has_local ? RESTORE_WIPE_FULL : RESTORE_FULL;
}

struct restore_job {
    struct restore_opts o;
    int32_t p;
    int64_t start_ms, from, pos, high;
    int64_t last_progress, logged, ticked;
    struct restore_run *r;
    struct kafka_consumer *c;
    struct restore_result res;
    uint64_t steps, empty; /* steps taken, steps that found no record */
    int64_t step_ms;       /* time spent in the steps */
    int64_t step_cpu_us;   /* this thread's CPU in them: per record, the
                            * cost a loaded host does not blur */
};

static int64_t thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool restore_test_gate(const char *var, int32_t p)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return false;
    char *end = (char *)v + 1;
    long hp = *v == '*' ? p : strtol(v, &end, 10);
    return *end == ':' && hp == p && access(end + 1, F_OK) == 0;
}

int restore_begin(const struct restore_opts *o, int32_t p,
                  struct restore_job **out, char *err, size_t errlen)
{
    const char *topic = changelog_topic(o->changelog);
    *out = NULL;
    int64_t start_ms = now_mono_ms();
    int64_t ckpt = 0, low = 0, high = 0;
    int stored = state_offset_get(o->db, topic, p, &ckpt, err, errlen);
    if (stored < 0)
        return -1;
    /* A changelog just created (or a broker just restarted) has no leader
     * for a moment: retried, within RESTORE_IDLE_MS. */
    int64_t until = now_mono_ms() + RESTORE_IDLE_MS;
    while (kafka_consumer_watermarks(o->group, topic, p, &low, &high, 5000) !=
           0) {
        if (now_mono_ms() >= until) {
            snprintf(err, errlen, "%s[%d]: cannot read the changelog's log "
                     "start and end", topic, p);
            return -1;
        }
        LOG_RL(LOG_WARN, "restore", "%s[%d]: log start and end not known "
               "yet; retrying", topic, p);
        usleep(200 * 1000);
    }
    struct mine_ctx mine = {o->changelog, p, false};
    if (!stored && high > low &&
        state_offset_scan(o->db, has_input_offset, &mine, err, errlen) != 0)
        return -1;
    enum restore_plan plan = restore_plan(stored, ckpt, low, high, mine.found);
    if (plan == RESTORE_NONE)
        return 0; /* up to date, or nothing logged: the local state stands */
    if (plan == RESTORE_REFUSE) {
        snprintf(err, errlen, "%s[%d]: the local checkpoint %" PRId64 " is "
                 "past the changelog's end %" PRId64 ": the changelog was "
                 "recreated or lost records. Refusing to replace the local "
                 "state with it; move state.dir aside to restore from what "
                 "the changelog holds now", topic, p, ckpt, high);
        return -1;
    }
    bool wipe = plan == RESTORE_WIPE_FULL;
    if (wipe && stored)
        LOG_ERR("restore", "%s[%d]: the local checkpoint %" PRId64 " is "
                "before the changelog's log start %" PRId64 ": records it "
                "never saw were deleted - is the changelog's retention "
                "misconfigured (cleanup.policy must be compact)? Wiping the "
                "partition's local state and restoring it in full",
                topic, p, ckpt, low);
    else if (wipe)
        LOG_WRN("restore", "%s[%d]: local state without a changelog "
                "checkpoint; wiped and replaced by the changelog's", topic, p);
    if (wipe && state_wipe_partition(o->db, p, key_is_mine, &mine, err,
                                     errlen) != 0)
        return -1;
    struct restore_job *j = xmalloc(sizeof(*j));
    memset(j, 0, sizeof(*j));
    j->o = *o;
    j->p = p;
    j->start_ms = start_ms;
    j->from = stored && !wipe ? ckpt : low;
    j->pos = j->from;
    j->high = high;
    j->res.restored = true;
    j->res.full = j->from == low;
    j->res.counts.checkpoint = -1;
    LOG_INF("restore", "%s[%d]: restoring from offset %" PRId64 " to %" PRId64
            " (%s) before consuming the partition", topic, p, j->from, high,
            j->res.full ? "in full" : "the records after the local checkpoint");
    j->r = restore_run_new(o->db, topic, p, 0);
    set_on_key(j->r, o->on_key, o->arg);
    restore_run_prefetch_key(j->r, o->prefetch_key);
    if (j->from < high &&
        kafka_consumer_new_partition(o->brokers, o->properties, topic, p,
                                     j->from, &j->c, err, errlen) != 0) {
        restore_cancel(j);
        return -1;
    }
    j->last_progress = j->logged = j->ticked = now_mono_ms();
    *out = j;
    return 0;
}

int32_t restore_job_partition(const struct restore_job *j)
{
    return j->p;
}

int64_t restore_job_remaining(const struct restore_job *j)
{
    return j->high - j->pos;
}

void restore_cancel(struct restore_job *j)
{
    if (!j)
        return;
    kafka_consumer_close(j->c);
    restore_run_free(j->r);
    free(j);
}

/* The end: what the last marker covers written, the unfinished tail
 * repaired. */
static int finish(struct restore_job *j, struct restore_result *res, char *err,
                  size_t errlen)
{
    const char *topic = changelog_topic(j->o.changelog);
    if (restore_run_finish(j->r, err, errlen) != 0)
        return -1;
    restore_run_counts(j->r, &j->res.counts);
    if (repair(&j->o, j->p, j->r, err, errlen) != 0)
        return -1;
    progress(topic, j->p, j->r, j->start_ms, j->from, j->high, j->high, true);
    *res = j->res;
    res->ms = now_mono_ms() - j->start_ms;
    return 0;
}

int restore_step(struct restore_job *j, size_t max_records, int wait_ms,
                 struct restore_result *res, char *err, size_t errlen)
{
    const char *topic = changelog_topic(j->o.changelog);
    if (restore_test_gate("DS_TEST_RESTORE_HOLD", j->p)) {
        j->last_progress = now_mono_ms();
        usleep((useconds_t)wait_ms * 1000); /* as if waiting for records */
        return 0;
    }
    int64_t t0 = now_mono_ms(), cpu0 = thread_cpu_us();
    j->steps++;
    for (size_t n = 0; j->pos < j->high && n < max_records; n++) {
        struct kafka_msg m;
        int got = kafka_consumer_poll(j->c, n == 0 ? wait_ms : 0, &m, err,
                                      errlen);
        if (got < 0)
            return -1;
        int64_t now = now_mono_ms();
        if (got == 0) {
            /* Transaction markers and aborted records (exactly_once
             * writers) take offsets that no record returned covers: the
             * position says when they are passed. */
            int64_t at = kafka_consumer_position(j->c, topic, j->p);
            if (at >= j->high) {
                j->pos = at;
                break;
            }
            j->empty += n == 0;
            j->step_ms += now - t0;
            j->step_cpu_us += thread_cpu_us() - cpu0;
            if (now - j->last_progress > RESTORE_IDLE_MS) {
                snprintf(err, errlen, "%s[%d]: no changelog record for %d s "
                         "at offset %" PRId64 " of %" PRId64, topic, j->p,
                         RESTORE_IDLE_MS / 1000, j->pos, j->high);
                return -1;
            }
            return 0; /* nothing fetched yet: the caller comes back */
        }
        j->last_progress = now;
        int mrc = restore_run_record(j->r, m.offset, m.key, m.klen, m.value,
                                     m.vlen, err, errlen);
        j->pos = m.offset + 1;
        kafka_msg_release(&m);
        if (mrc != 0)
            return -1;
        if (j->o.tick && now - j->ticked >= 1000) {
            struct restore_counts so_far;
            restore_run_counts(j->r, &so_far);
            j->o.tick(j->o.arg, j->p, j->high - j->pos, &so_far);
            j->ticked = now;
        }
        if (now - j->logged >= RESTORE_LOG_MS) {
            progress(topic, j->p, j->r, j->start_ms, j->from, j->pos, j->high,
                     false);
            j->logged = now;
        }
    }
    j->step_ms += now_mono_ms() - t0;
    if (j->pos < j->high) {
        j->step_cpu_us += thread_cpu_us() - cpu0;
        return 0;
    }
    if (finish(j, res, err, errlen) != 0)
        return -1;
    j->step_cpu_us += thread_cpu_us() - cpu0;
    LOG_INF("restore", "%s[%d]: %" PRIu64 " steps (%" PRIu64 " found no "
            "record), %" PRId64 " ms in them, %.2f us CPU per record", topic,
            j->p, j->steps, j->empty, j->step_ms,
            res->counts.records
                ? (double)j->step_cpu_us / (double)res->counts.records
                : 0.0);
    return 1;
}

int restore_partition(const struct restore_opts *o, int32_t p,
                      struct restore_result *res, char *err, size_t errlen)
{
    struct restore_job *j = NULL;
    int64_t start_ms = now_mono_ms();
    memset(res, 0, sizeof(*res));
    res->counts.checkpoint = -1;
    if (restore_begin(o, p, &j, err, errlen) != 0)
        return -1;
    int rc = 0;
    while (j && (rc = restore_step(j, SIZE_MAX, 200, res, err, errlen)) == 0)
        ;
    restore_cancel(j);
    res->ms = now_mono_ms() - start_ms;
    return rc < 0 ? -1 : 0;
}

void restore_run_prefetch_key(struct restore_run *r,
                              void (*fn)(void *arg, const void *key,
                                         size_t klen))
{
    r->prefetch_key = fn;
}

void restore_run_on_key(struct restore_run *r,
                        void (*fn)(void *arg, const void *key, size_t klen),
                        void *arg)
{
    set_on_key(r, fn, arg);
}

int restore_has_local(const struct restore_opts *o, int32_t p, bool *found,
                      char *err, size_t errlen)
{
    struct mine_ctx mine = {o->changelog, p, false};
    if (state_offset_scan(o->db, has_input_offset, &mine, err, errlen) != 0)
        return -1;
    *found = mine.found;
    return 0;
}
