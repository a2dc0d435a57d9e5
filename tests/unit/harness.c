/*
 * harness.c - see harness.h.
 */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "config.h"
#include "ctx.h"
#include "hash.h"
#include "metrics.h"
#include "repartition.h"
#include "store.h"

struct copied {
    struct alert a;
    void **allocs; /* everything the copy owns */
    size_t n_allocs;
};

struct harness {
    const struct processor_ops *ops;
    const struct processor_ops *ops_arr[1];
    struct config *cfg;
    void *inst;
    struct store *store;
    struct proc_ctx ctx;
    struct copied *alerts;
    size_t n_alerts, cap_alerts;
    int64_t next_offset;
    /* Every record sent to the repartition topic, in order; [delivered]
     * onwards are still to be handed back. */
    struct sent {
        char *key;
        struct buf val;
    } *sent;
    size_t n_sent, delivered;
    struct arena *arena;
    int32_t partition; /* of the events fed from now on */
    bool disowned[4];  /* ctx_owns() false for these partitions */
    bool has_wm;       /* ctx_watermark(): wm, or unknown */
    int64_t wm;
    /* Global tables (processor_ops.global_inputs): the latest event per
     * key, copied into garena; gversion counts changes. */
    struct event *global;
    size_t n_global;
    struct arena *garena;
    uint64_t gversion;
    struct metrics *mx; /* what ctx_observe() fed (harness_metrics) */
};

static void harness_metric(void *arg, const struct metrics_hist_def *def,
                           const char *label, double value)
{
    struct harness *h = arg;
    metrics_lhist_observe(h->mx, def, label, value);
}

struct metrics *harness_metrics(struct harness *h) { return h->mx; }

static void harness_global_foreach(void *arg, enum event_kind kind,
                                   int (*fn)(void *a, const struct event *ev),
                                   void *a);
static uint64_t harness_global_version(void *arg, enum event_kind kind);

static void *own(struct copied *c, void *p)
{
    c->allocs = realloc(c->allocs, (c->n_allocs + 1) * sizeof(void *));
    assert_non_null(c->allocs);
    c->allocs[c->n_allocs++] = p;
    return p;
}

static const char *dup_str(struct copied *c, const char *s)
{
    return s ? own(c, strdup(s)) : NULL;
}

static int collect(void *arg, const struct alert *a)
{
    struct harness *h = arg;
    if (h->n_alerts == h->cap_alerts) {
        h->cap_alerts = h->cap_alerts ? h->cap_alerts * 2 : 16;
        h->alerts = realloc(h->alerts, h->cap_alerts * sizeof(*h->alerts));
        assert_non_null(h->alerts);
    }
    /* A processor declares what it emits (the runtime checks schemas). */
    if (!(h->ops->outputs & ALERT_MASK(a->kind)))
        fail_msg("%s emits %s, not in its outputs", h->ops->name,
                 alert_kind_name(a->kind));
    struct copied *c = &h->alerts[h->n_alerts++];
    memset(c, 0, sizeof(*c));
    c->a = *a;
    c->a.customer_id = dup_str(c, a->customer_id);
    c->a.dedup_key = dup_str(c, a->dedup_key);
    c->a.trigger_event_id = dup_str(c, a->trigger_event_id);
    c->a.src.topic = dup_str(c, a->src.topic);
    switch (a->kind) {
    case ALERT_LEAD_RERATING: {
        struct lead_rerating *r = &c->a.u.rerating;
        r->previous_tier = dup_str(c, r->previous_tier);
        r->tier = dup_str(c, r->tier);
        r->trend = dup_str(c, r->trend);
        for (size_t i = 0; i < r->n_reasons; i++) {
            r->reasons[i].factor = dup_str(c, r->reasons[i].factor);
            r->reasons[i].node_type = dup_str(c, r->reasons[i].node_type);
            r->reasons[i].node_id = dup_str(c, r->reasons[i].node_id);
            r->reasons[i].detail = dup_str(c, r->reasons[i].detail);
        }
        break;
    }
    case ALERT_COACHING: {
        struct coaching_alert *ca = &c->a.u.coaching;
        ca->rep_id = dup_str(c, ca->rep_id);
        ca->meeting_id = dup_str(c, ca->meeting_id);
        ca->opportunity_id = dup_str(c, ca->opportunity_id);
        ca->document_id = dup_str(c, ca->document_id);
        ca->rule = dup_str(c, ca->rule);
        ca->message = dup_str(c, ca->message);
        struct metric *m = own(c, calloc(ca->n_metrics + 1, sizeof(*m)));
        for (size_t i = 0; i < ca->n_metrics; i++) {
            m[i].name = dup_str(c, ca->metrics[i].name);
            m[i].value = ca->metrics[i].value;
        }
        ca->metrics = m;
        const char **ev = own(c, calloc(ca->n_evidence + 1, sizeof(*ev)));
        for (size_t i = 0; i < ca->n_evidence; i++)
            ev[i] = dup_str(c, ca->evidence[i]);
        ca->evidence = ev;
        break;
    }
    case ALERT_MEETING_SUMMARY: {
        struct meeting_summary *s = &c->a.u.summary;
        s->meeting_id = dup_str(c, s->meeting_id);
        s->rep_id = dup_str(c, s->rep_id);
        s->closed_by = dup_str(c, s->closed_by);
        struct metric *m = own(c, calloc(s->n_metrics + 1, sizeof(*m)));
        for (size_t i = 0; i < s->n_metrics; i++) {
            m[i].name = dup_str(c, s->metrics[i].name);
            m[i].value = s->metrics[i].value;
        }
        s->metrics = m;
        break;
    }
    case ALERT_WORK_ITEM: {
        struct work_item *w = &c->a.u.work_item;
        w->work_item_id = dup_str(c, w->work_item_id);
        w->trigger = dup_str(c, w->trigger);
        w->opportunity_id = dup_str(c, w->opportunity_id);
        w->meeting_id = dup_str(c, w->meeting_id);
        w->document_id = dup_str(c, w->document_id);
        w->rep_id = dup_str(c, w->rep_id);
        w->department = dup_str(c, w->department);
        w->task = dup_str(c, w->task);
        w->requirement = dup_str(c, w->requirement);
        break;
    }
    case ALERT_ATTRIBUTION: {
        struct attribution_report *r = &c->a.u.attribution;
        r->unit_id = dup_str(c, r->unit_id);
        r->region = dup_str(c, r->region);
        r->industry = dup_str(c, r->industry);
        r->metric = dup_str(c, r->metric);
        r->period = dup_str(c, r->period);
        r->method = dup_str(c, r->method);
        r->explanation = dup_str(c, r->explanation);
        const char **sv = own(c, calloc(r->n_signals + 1, sizeof(*sv)));
        for (size_t i = 0; i < r->n_signals; i++)
            sv[i] = dup_str(c, r->signals[i]);
        r->signals = sv;
        break;
    }
    case ALERT_DAILY_DIGEST: {
        struct daily_digest *d = &c->a.u.digest;
        d->team_id = dup_str(c, d->team_id);
        d->manager_id = dup_str(c, d->manager_id);
        d->day = dup_str(c, d->day);
        d->time_zone = dup_str(c, d->time_zone);
        struct digest_item *t = own(c, calloc(d->n_top + 1, sizeof(*t)));
        for (size_t i = 0; i < d->n_top; i++) {
            t[i] = d->top[i];
            t[i].alert_id = dup_str(c, t[i].alert_id);
            t[i].kind = dup_str(c, t[i].kind);
            t[i].category = dup_str(c, t[i].category);
            t[i].severity = dup_str(c, t[i].severity);
            t[i].customer_id = dup_str(c, t[i].customer_id);
            t[i].rep_id = dup_str(c, t[i].rep_id);
            t[i].message = dup_str(c, t[i].message);
            t[i].tier = dup_str(c, t[i].tier);
            t[i].why_ranked = dup_str(c, t[i].why_ranked);
        }
        d->top = t;
        struct metric *m = own(c, calloc(d->n_counts + 1, sizeof(*m)));
        for (size_t i = 0; i < d->n_counts; i++)
            m[i] = (struct metric){dup_str(c, d->counts[i].name), d->counts[i].value};
        d->counts = m;
        m = own(c, calloc(d->n_medians + 1, sizeof(*m)));
        for (size_t i = 0; i < d->n_medians; i++)
            m[i] = (struct metric){dup_str(c, d->median_response_hours[i].name),
                                   d->median_response_hours[i].value};
        d->median_response_hours = m;
        break;
    }
    default:
        fail_msg("unknown alert kind %d", (int)a->kind);
    }
    return 0;
}

/* Writes a config file holding only this processor's section. */
static char *write_config(const struct processor_ops *ops,
                          const char *section_yaml)
{
    char *path = strdup("/tmp/ds-harness-XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    assert_non_null(fp);
    fprintf(fp, "processors:\n  %s:\n", ops->name);
    /* Indent the section body under processors.<name>. */
    const char *p = section_yaml;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(fp, "    %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
    fclose(fp);
    return path;
}

static int load(const struct processor_ops *ops, const char *section_yaml,
                struct config **cfg, struct config_errors *errs)
{
    char *path = write_config(ops, section_yaml);
    struct config_plugin plugin = {ops->name, ops->config};
    int rc = config_load(path, NULL, 0, &plugin, 1, cfg, errs);
    unlink(path);
    free(path);
    return rc;
}

int harness_config_check(const struct processor_ops *ops,
                         const char *section_yaml, char *errs, size_t errlen)
{
    struct config *cfg = NULL;
    struct config_errors e = {0};
    int rc = load(ops, section_yaml, &cfg, &e);
    size_t used = 0;
    if (errlen)
        errs[0] = '\0';
    for (size_t i = 0; i < e.n && used < errlen; i++) {
        int n = snprintf(errs + used, errlen - used, "%s\n", e.msgs[i]);
        if (n > 0)
            used += (size_t)n;
    }
    config_errors_free(&e);
    config_free(cfg);
    return rc;
}

static void tell_owned(struct harness *h);

static void start(struct harness *h)
{
    char err[256] = "";
    if (h->ops->init(h->cfg->plugin_cfg[0], &h->inst, err, sizeof(err)) != 0)
        fail_msg("%s init failed: %s", h->ops->name, err);
}

/* ctx_repartition(): kept, and delivered by harness_feed() once the
 * record that sent it is handled, as the repartition topic would. */
static int queue_repartition(void *arg, size_t proc, const char *key,
                             const void *val, size_t vlen)
{
    struct harness *h = arg;
    (void)proc;
    h->sent = realloc(h->sent, (h->n_sent + 1) * sizeof(*h->sent));
    assert_non_null(h->sent);
    struct sent *s = &h->sent[h->n_sent++];
    s->key = strdup(key);
    assert_non_null(s->key);
    buf_init(&s->val);
    buf_append(&s->val, val, vlen);
    return 0;
}

static void check_state_keys(struct harness *h, const struct event *ev);

/* Hands sent record i back to the processor, from partition 0 of its
 * repartition topic at offset i. */
static int deliver(struct harness *h, size_t i)
{
    struct event ev;
    char err[256];
    arena_reset(h->arena);
    struct sent *s = &h->sent[i];
    if (repartition_decode(s->key, strlen(s->key), s->val.data, s->val.len,
                           h->arena, &ev, err, sizeof(err)) != 0)
        fail_msg("repartition record %zu: %s", i, err);
    ev.src.topic = "repartition";
    ev.src.partition = 0;
    ev.src.offset = (int64_t)i;
    ctx_begin(&h->ctx, 0, &ev);
    int rc = h->ops->handle(h->inst, &h->ctx, &ev);
    if (rc == 0)
        check_state_keys(h, &ev);
    store_flush(h->store, NULL);
    return rc;
}

size_t harness_repartitioned(const struct harness *h) { return h->n_sent; }

int harness_resend(struct harness *h, size_t i)
{
    assert_true(i < h->n_sent);
    return deliver(h, i);
}

/* As in the daemon, the processor sees its own alerts (on_alert). */
static void observe_own(void *arg, struct proc_ctx *ctx, const struct alert *a)
{
    struct harness *h = arg;
    ctx_call_observer(ctx, 0, h->ops, h->inst, a);
}

int harness_observe(struct harness *h, const struct alert *a,
                    const struct event *ev)
{
    if (!h->ops->on_alert)
        return 0;
    struct alert copy = *a;
    if (!copy.trigger_event_id && ev) {
        copy.trigger_event_id = ev->event_id;
        copy.src = ev->src;
        copy.event_time = ev->event_time;
    }
    alert_compute_id(&copy);
    ctx_begin(&h->ctx, 0, ev);
    ctx_call_observer(&h->ctx, 0, h->ops, h->inst, &copy);
    store_flush(h->store, NULL);
    int rc = 0;
    while (rc == 0 && h->delivered < h->n_sent)
        rc = deliver(h, h->delivered++);
    return rc;
}

struct harness *harness_new(const struct processor_ops *ops,
                            const char *section_yaml)
{
    struct harness *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->ops = ops;
    h->ops_arr[0] = ops;
    struct config_errors e = {0};
    if (load(ops, section_yaml, &h->cfg, &e) != 0) {
        config_errors_print(&e, stderr);
        config_errors_free(&e);
        fail_msg("config of %s refused", ops->name);
    }
    start(h);
    h->store = store_new(h->ops_arr, 1, NULL, 1000000);
    ctx_init(&h->ctx, h->store, collect, h);
    ctx_set_repartition(&h->ctx, queue_repartition, h);
    ctx_set_observer(&h->ctx, observe_own, h);
    h->mx = calloc(1, sizeof(*h->mx));
    assert_non_null(h->mx);
    h->ctx.metric = harness_metric;
    h->ctx.metric_arg = h;
    h->arena = arena_new(4096);
    h->ctx.global_foreach = harness_global_foreach;
    h->ctx.global_version = harness_global_version;
    h->ctx.global_arg = h;
    tell_owned(h);
    return h;
}

void harness_clear_alerts(struct harness *h)
{
    for (size_t i = 0; i < h->n_alerts; i++) {
        for (size_t j = 0; j < h->alerts[i].n_allocs; j++)
            free(h->alerts[i].allocs[j]);
        free(h->alerts[i].allocs);
    }
    h->n_alerts = 0;
}

void harness_free(struct harness *h)
{
    if (!h)
        return;
    harness_clear_alerts(h);
    free(h->alerts);
    for (size_t i = 0; i < h->n_sent; i++) {
        free(h->sent[i].key);
        buf_free(&h->sent[i].val);
    }
    free(h->sent);
    arena_free(h->arena);
    arena_free(h->garena);
    free(h->global);
    ctx_destroy(&h->ctx);
    store_free(h->store);
    if (h->ops->destroy)
        h->ops->destroy(h->inst);
    config_free(h->cfg);
    free(h->mx);
    free(h);
}

/* The runtime's look-ahead asks for the state of the keys state_keys()
 * names: each must be one handle() just asked for (so its entry is cached
 * and a get reads nothing), and store_key_hash() must hash it as the cache
 * map hashes "<processor>/<key>" - else the look-ahead silently misses. */
static void check_state_keys(struct harness *h, const struct event *ev)
{
    if (!h->ops->state_keys)
        return;
    struct state_key keys[8];
    size_t n = h->ops->state_keys(h->inst, ev, keys, 8);
    assert_true(n <= 8);
    for (size_t k = 0; k < n; k++) {
        char key[512] = "";
        for (size_t i = 0; i < 3 && keys[k].part[i]; i++)
            strncat(key, keys[k].part[i], sizeof(key) - strlen(key) - 1);
        char bkey[600];
        snprintf(bkey, sizeof(bkey), "%s/%s", h->ops->name, key);
        assert_true(store_key_hash(h->store, 0, &keys[k]) ==
                    hash_fnv1a_str(bkey));
        struct store_stats before, after;
        store_stats(h->store, &before);
        (void)store_get(h->store, 0, key, false, NULL);
        store_stats(h->store, &after);
        if (after.loads != before.loads)
            fail_msg("%s: state_keys names '%s' for a %s event, which handle() "
                     "did not ask for",
                     h->ops->name, key, event_kind_name(ev->kind));
    }
}

static const char *gstr(struct harness *h, const char *v)
{
    return v ? arena_strndup(h->garena, v, strlen(v)) : NULL;
}

static const char *const *gstrs(struct harness *h, const char *const *v, size_t n)
{
    const char **c = arena_alloc(h->garena, (n ? n : 1) * sizeof(*c));
    for (size_t i = 0; i < n; i++)
        c[i] = gstr(h, v[i]);
    return c;
}

/* A record of a global table: kept as the runtime's table would. */
static int feed_global(struct harness *h, const struct event *ev)
{
    assert_int_equal(ev->kind, EVENT_ENV_SIGNAL); /* the only one so far */
    assert_non_null(ev->key);
    if (!h->garena)
        h->garena = arena_new(4096);
    struct event c = *ev;
    c.key = gstr(h, ev->key);
    c.event_id = gstr(h, ev->event_id);
    struct env_signal *s = &c.u.signal;
    s->signal_id = gstr(h, s->signal_id);
    s->title = gstr(h, s->title);
    s->description = gstr(h, s->description);
    s->regions = gstrs(h, s->regions, s->n_regions);
    s->industries = gstrs(h, s->industries, s->n_industries);
    size_t i = 0;
    while (i < h->n_global && strcmp(h->global[i].key, ev->key) != 0)
        i++;
    if (i == h->n_global) {
        h->global = realloc(h->global, (h->n_global + 1) * sizeof(*h->global));
        assert_non_null(h->global);
        h->n_global++;
    }
    h->global[i] = c;
    h->gversion++;
    return 0;
}

static void harness_global_foreach(void *arg, enum event_kind kind,
                                   int (*fn)(void *a, const struct event *ev),
                                   void *a)
{
    struct harness *h = arg;
    for (size_t i = 0; i < h->n_global; i++)
        if (h->global[i].kind == kind && fn(a, &h->global[i]))
            break;
}

static uint64_t harness_global_version(void *arg, enum event_kind kind)
{
    (void)kind;
    return ((struct harness *)arg)->gversion;
}

int harness_feed(struct harness *h, struct event *ev)
{
    if (h->ops->global_inputs & EVENT_MASK(ev->kind))
        return feed_global(h, ev);
    /* As the runtime: a kind it does not read under its config never
     * reaches it (repartition_from's records do, outside its inputs). */
    if (ev->kind != EVENT_REPARTITION &&
        !(processor_inputs(h->ops, h->cfg->plugin_cfg[0]) &
          EVENT_MASK(ev->kind)))
        return 0;
    ev->src.topic = event_kind_name(ev->kind);
    ev->src.partition = h->partition;
    ev->src.offset = h->next_offset++;
    ctx_begin(&h->ctx, 0, ev);
    int rc = h->ops->handle(h->inst, &h->ctx, ev);
    if (rc == 0)
        check_state_keys(h, ev);
    store_flush(h->store, NULL);
    /* What it sent to its repartition topic comes back now, and what
     * that sends in turn. */
    while (rc == 0 && h->delivered < h->n_sent)
        rc = deliver(h, h->delivered++);
    return rc;
}

/* processor_ops.on_partitions, as the runtime calls it (a processor that
 * changed state there anyway: written like a batch of its own). */
static void tell(struct harness *h, const int32_t *parts, size_t n,
                 bool assigned)
{
    if (!h->ops->on_partitions || !n)
        return;
    ctx_begin(&h->ctx, 0, NULL);
    h->ops->on_partitions(h->inst, &h->ctx, parts, n, assigned);
    store_flush(h->store, NULL);
}

/* Every partition owned now told as assigned, as after a (re)start. */
static void tell_owned(struct harness *h)
{
    int32_t parts[4];
    size_t n = 0;
    for (int32_t p = 0; p < 4; p++)
        if (!h->disowned[p])
            parts[n++] = p;
    tell(h, parts, n, true);
}

static bool harness_owns(void *arg, const char *topic, int32_t partition)
{
    const struct harness *h = arg;
    (void)topic;
    return partition < 0 || partition >= 4 || !h->disowned[partition];
}

static int harness_watermark(void *arg, int32_t partition, int64_t *wm)
{
    const struct harness *h = arg;
    (void)partition;
    if (!h->has_wm)
        return 0;
    *wm = h->wm;
    return 1;
}

void harness_set_watermark(struct harness *h, bool has, int64_t wm)
{
    h->has_wm = has;
    h->wm = wm;
    h->ctx.watermark = harness_watermark;
    h->ctx.watermark_arg = h;
}

static int64_t harness_now; /* one clock for every harness: tests run one at a time */
static int64_t harness_clock(void) { return harness_now; }

void harness_set_clock(struct harness *h, int64_t now_ms)
{
    harness_now = now_ms;
    h->ctx.clock_ms = now_ms ? harness_clock : NULL;
}

void harness_set_partitions(struct harness *h, int32_t n) { h->ctx.partitions = n; }

void harness_set_partition(struct harness *h, int32_t partition)
{
    assert_true(partition >= 0 && partition < 4);
    h->partition = partition;
}

void harness_own(struct harness *h, int32_t partition, bool owned)
{
    assert_true(partition >= 0 && partition < 4);
    if (h->disowned[partition] == !owned)
        return; /* no change: the runtime tells nothing either */
    if (!owned) /* told while still owned, after its last batch */
        tell(h, &partition, 1, false);
    h->disowned[partition] = !owned;
    ctx_set_owner(&h->ctx, harness_owns, h);
    h->ctx.assignment++;
    if (owned)
        tell(h, &partition, 1, true);
}

void harness_timer(struct harness *h, int64_t now_ms)
{
    if (!h->ops->on_timer)
        return;
    ctx_begin(&h->ctx, 0, NULL);
    h->ops->on_timer(h->inst, &h->ctx, now_ms);
    store_flush(h->store, NULL);
}

size_t harness_alert_count(const struct harness *h) { return h->n_alerts; }

const struct alert *harness_alert(const struct harness *h, size_t i)
{
    assert_true(i < h->n_alerts);
    return &h->alerts[i].a;
}

void *harness_state(struct harness *h, const char *key)
{
    return store_get(h->store, 0, key, false, NULL);
}

char *harness_state_json(struct harness *h, const char *key)
{
    void *st = harness_state(h, key);
    if (!st)
        return NULL;
    struct jw *w = jw_new();
    h->ops->state_to_json(st, w);
    char *out = jw_finish(w, false);
    jw_free(w);
    return out;
}

void harness_restart(struct harness *h)
{
    store_flush(h->store, NULL);
    store_drop_cache(h->store);
    if (h->ops->destroy)
        h->ops->destroy(h->inst);
    h->inst = NULL;
    start(h);
    tell_owned(h);
}

const void *harness_config(const struct harness *h)
{
    return h->cfg->plugin_cfg[0];
}
