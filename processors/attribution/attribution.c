/*
 * attribution.c - counterfactual attribution: each unit's period result
 * against what it would have been without the environment signals that
 * touched it (difference-in-differences, docs/ATTRIBUTION.md).
 *
 * Outcomes arrive keyed by unit; the comparison needs every unit of an
 * industry and metric in one place, the panel. So an outcome goes through
 * the repartition topic to its panel's key ('O'). Signals are a global
 * table (processor_ops.global_inputs): every instance reads all of
 * env.signals, and a panel copies the signals it lacks before it applies
 * an outcome. (Records of the hub protocol an older build used - 'S' and
 * 'R' to the hub key, 'G' and 'Y' from it - are still handled.) A panel
 * closes a period once the outcomes' event time has passed the
 * period's end plus the grace in every input partition the outcomes come
 * from (the least of their largest event times; partitions silent for
 * origin_idle left out), and emits one report per unit. Outcomes or
 * signals reaching a closed period bring a correction (revision + 1) of
 * that period for every unit of the panel. Outcomes count once: the panel
 * keeps per origin partition the last record applied (repmarks_apply);
 * signals and registrations are idempotent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attribution.h"

enum { AT_OUTCOME = 'O', AT_SIGNAL = 'S', AT_REGISTER = 'R', AT_COPY = 'G',
       AT_SYNCED = 'Y' };

struct at_inst {
    const struct at_config *cfg;
    int64_t offset_ms; /* of cfg->zone */
    struct buf out;    /* a record being sent */
};

static int at_init(const void *cfg, void **inst, char *err, size_t errlen)
{
    const struct at_config *c = cfg;
    struct at_inst *at = calloc(1, sizeof(*at));
    if (!at) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (attribution_zone_parse(c->zone, &at->offset_ms) != 0) {
        snprintf(err, errlen, "zone: not UTC or an offset such as +08:00");
        free(at);
        return -1;
    }
    at->cfg = c;
    buf_init(&at->out);
    *inst = at;
    return 0;
}

static void at_destroy(void *inst)
{
    struct at_inst *at = inst;
    if (!at)
        return;
    buf_free(&at->out);
    free(at);
}

static int send(struct proc_ctx *ctx, const char *key, const struct buf *b)
{
    if (ctx_repartition(ctx, key, b->data, b->len) != 0) {
        ctx_fail(ctx, "cannot send to the repartition topic");
        return -1;
    }
    return 0;
}

static int join_key(char *out, size_t n, const char *a, const char *b)
{
    int w = snprintf(out, n, "%s%s", a, b);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * At the source partitions
 */

/* A unit's outcome goes to the panel of its industry and metric. */
static int outcome_to_panel(struct at_inst *at, struct proc_ctx *ctx,
                            const struct event *ev)
{
    const struct sales_outcome *so = &ev->u.outcome;
    char panel[512];
    if (snprintf(panel, sizeof(panel), "%s|%s", so->industry ? so->industry : "-",
                 so->metric) >= (int)sizeof(panel) - (int)sizeof(AT_PANEL_SUFFIX)) {
        ctx_fail(ctx, "industry and metric too long");
        return -1;
    }
    buf_reset(&at->out);
    buf_put_u8(&at->out, AT_OUTCOME);
    buf_put_str(&at->out, so->unit_id);
    buf_put_str(&at->out, so->region);
    buf_put_str(&at->out, so->industry);
    buf_put_str(&at->out, so->metric);
    buf_put_double(&at->out, so->value);
    buf_put_i64(&at->out, ev->event_time);
    return send(ctx, panel, &at->out);
}

/* ------------------------------------------------------------------------
 * The hub
 */

static int send_signal(struct at_inst *at, struct proc_ctx *ctx,
                       const char *panel, const struct at_signal *s)
{
    buf_reset(&at->out);
    buf_put_u8(&at->out, AT_COPY);
    attribution_signal_put(s, &at->out);
    return send(ctx, panel, &at->out);
}

static struct at_hub *hub_state(struct proc_ctx *ctx)
{
    struct at_obj *o = ctx_state(ctx, AT_HUB_KEY AT_HUB_SUFFIX, NULL);
    return &o->u.hub;
}

static int hub_signal(struct at_inst *at, struct proc_ctx *ctx,
                      const struct at_signal *s)
{
    struct at_hub *h = hub_state(ctx);
    int rc = attribution_signal_upsert(&h->signals, &h->n_signals, s);
    if (rc < 0) {
        ctx_fail(ctx, "more than %d environment signals", AT_MAX_SIGNALS);
        return -1;
    }
    if (rc == 0)
        return 0;
    ctx_state_dirty(ctx, AT_HUB_KEY AT_HUB_SUFFIX);
    for (size_t i = 0; i < h->n_panels; i++)
        if (send_signal(at, ctx, h->panels[i], s) != 0)
            return -1;
    return 0;
}

static int hub_register(struct at_inst *at, struct proc_ctx *ctx,
                        const char *panel)
{
    struct at_hub *h = hub_state(ctx);
    size_t i = 0;
    while (i < h->n_panels && strcmp(h->panels[i], panel) != 0)
        i++;
    if (i == h->n_panels) {
        if (h->n_panels >= AT_MAX_PANELS) {
            ctx_fail(ctx, "more than %d attribution panels", AT_MAX_PANELS);
            return -1;
        }
        char **v = realloc(h->panels, (h->n_panels + 1) * sizeof(*v));
        if (!v)
            abort();
        h->panels = v;
        h->panels[h->n_panels++] = statecodec_strdup(panel);
        ctx_state_dirty(ctx, AT_HUB_KEY AT_HUB_SUFFIX);
    }
    for (size_t s = 0; s < h->n_signals; s++)
        if (send_signal(at, ctx, panel, &h->signals[s]) != 0)
            return -1;
    buf_reset(&at->out);
    buf_put_u8(&at->out, AT_SYNCED);
    return send(ctx, panel, &at->out);
}

/* ------------------------------------------------------------------------
 * The panel: periods, estimates, reports
 */

static struct at_unit *unit_find(struct at_panel *p, const char *id)
{
    for (size_t i = 0; i < p->n_units; i++)
        if (strcmp(p->units[i].id, id) == 0)
            return &p->units[i];
    return NULL;
}

static struct at_cell *cell_find(const struct at_unit *u, int32_t period)
{
    for (size_t i = 0; i < u->n_cells; i++)
        if (u->cells[i].period == period)
            return &u->cells[i];
    return NULL;
}

static void cell_add(struct at_unit *u, int32_t period, double v)
{
    struct at_cell *c = cell_find(u, period);
    if (c) {
        c->value += v;
        return;
    }
    struct at_cell *g = realloc(u->cells, (u->n_cells + 1) * sizeof(*g));
    if (!g)
        abort();
    u->cells = g;
    size_t i = u->n_cells;
    while (i > 0 && g[i - 1].period > period) {
        g[i] = g[i - 1];
        i--;
    }
    g[i] = (struct at_cell){period, v};
    u->n_cells++;
}

static int cell_get(const void *arg, int32_t period, double *v)
{
    const struct at_cell *c = cell_find(arg, period);
    if (!c)
        return -1;
    *v = c->value;
    return 0;
}

static int32_t first_period(const struct at_panel *p)
{
    int32_t first = INT32_MAX;
    for (size_t i = 0; i < p->n_units; i++)
        if (p->units[i].n_cells && p->units[i].cells[0].period < first)
            first = p->units[i].cells[0].period;
    return first;
}

static bool in_list(char *const *v, size_t n, const char *s)
{
    if (!n)
        return true; /* empty: all */
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static bool signal_applies(const struct at_signal *s, const struct at_panel *p,
                           int64_t start, int64_t end)
{
    return s->start_time < end && s->end_time > start &&
           in_list(s->industries, s->n_industries, p->industry);
}

static struct at_closed *closed_find(struct at_panel *p, int32_t period)
{
    for (size_t i = 0; i < p->n_closed; i++)
        if (p->closed[i].period == period)
            return &p->closed[i];
    return NULL;
}

/* One period's estimate for every unit with a value in it. */
struct at_run {
    struct at_inst *at;
    struct proc_ctx *ctx;
    const struct event *ev;
    struct at_panel *p;
    int32_t period;
    int32_t revision;
    int64_t start, end;
    char label[24];
    struct did_refplan plan;
    /* per unit of the panel: */
    struct did_in *in;
    struct did_out *out;
    size_t *unit; /* index into p->units */
    uint64_t *exposure; /* bit j: active signal j (the first 64) */
    size_t n;
    size_t active[64]; /* indexes into p->signals */
    size_t n_active;
};

static void fmt_signals(const struct at_run *r, uint64_t exp, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t j = 0; j < r->n_active && len < n; j++) {
        if (!(exp >> j & 1))
            continue;
        const struct at_signal *s = &r->p->signals[r->active[j]];
        int w = snprintf(out + len, n - len, "%s%s", len ? (r->at->cfg->language == AT_ZH ? "、" : ", ") : "",
                         s->title);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static void explain(const struct at_run *r, size_t k, char *out, size_t n)
{
    const struct at_unit *u = &r->p->units[r->unit[k]];
    const struct did_out *o = &r->out[k];
    bool zh = r->at->cfg->language == AT_ZH;
    const char *metric = r->p->metric;
    double y = r->in[k].y;
    if (o->status == DID_NO_HISTORY) {
        snprintf(out, n,
                 zh ? "%s %s %s：实际 %.1f；缺少参照期的数据，无法估计环境影响。"
                    : "%s %s %s: actual %.1f; no estimate, as the unit has no value "
                      "in a reference period of its own history.",
                 u->id, metric, r->label, y);
        return;
    }
    if (o->status == DID_FEW_CONTROLS) {
        snprintf(out, n,
                 zh ? "%s %s %s：实际 %.1f；对照单位仅 %d 个（至少需要 %lld 个），无法估计环境影响。"
                    : "%s %s %s: actual %.1f; no estimate, as only %d control units "
                      "are available (at least %lld needed).",
                 u->id, metric, r->label, y, (int)o->controls,
                 (long long)r->at->cfg->min_controls);
        return;
    }
    double target = o->baseline + o->effect, excess = y - target;
    if (!r->exposure[k]) {
        snprintf(out, n,
                 zh ? "%s %s %s：实际 %.1f，未受环境信号影响；按 %d 个对照单位校准的目标为 %.1f，超额 %+.1f。"
                    : "%s %s %s: actual %.1f, no environment signal applied; the "
                      "target calibrated on %d control units is %.1f, excess %+.1f.",
                 u->id, metric, r->label, y, (int)o->controls, target, excess);
        return;
    }
    char sig[400];
    fmt_signals(r, r->exposure[k], sig, sizeof(sig));
    int pct = (int)(r->at->cfg->level * 100 + 0.5);
    snprintf(out, n,
             zh ? "%s %s %s：实际 %.1f；若无环境因素预期为 %.1f；%s 的环境影响为 %+.1f"
                  "（%d%% 区间 %+.1f 至 %+.1f，%d 个对照单位），校准后目标 %.1f，超额 %+.1f。"
                : "%s %s %s: actual %.1f against %.1f expected without the "
                  "conditions; environment effect of %s %+.1f (%d%% interval %+.1f "
                  "to %+.1f, %d control units), so the calibrated target is %.1f "
                  "and the excess %+.1f.",
             u->id, metric, r->label, y, o->baseline, sig, o->effect, pct, o->low,
             o->high, (int)o->controls, target, excess);
}

static int emit_report(const struct at_run *r, size_t k)
{
    const struct at_unit *u = &r->p->units[r->unit[k]];
    const struct did_out *o = &r->out[k];
    char dedup[600], explanation[1400];
    const char *ind = r->p->industry ? r->p->industry : "-";
    /* The lineage id: unit, industry, metric, period. */
    struct alert id = {.kind = ALERT_ATTRIBUTION, .customer_id = u->id,
                       .id_from_state = true, .dedup_key = dedup};
    snprintf(dedup, sizeof(dedup), "%s|%s|%s", ind, r->p->metric, r->label);
    alert_compute_id(&id);

    const char *sigs[64];
    size_t n_sigs = 0;
    for (size_t j = 0; j < r->n_active; j++)
        if (r->exposure[k] >> j & 1)
            sigs[n_sigs++] = r->p->signals[r->active[j]].id;
    explain(r, k, explanation, sizeof(explanation));

    struct alert a = {.kind = ALERT_ATTRIBUTION, .customer_id = u->id,
                      .id_from_state = true};
    struct attribution_report *rep = &a.u.attribution;
    if (r->revision)
        snprintf(rep->report_id, sizeof(rep->report_id), "%s-r%d", id.alert_id,
                 (int)r->revision);
    else
        snprintf(rep->report_id, sizeof(rep->report_id), "%s", id.alert_id);
    char dedup_rev[640];
    snprintf(dedup_rev, sizeof(dedup_rev), "%s|r%d", dedup, (int)r->revision);
    a.dedup_key = dedup_rev;
    rep->unit_id = u->id;
    rep->region = u->region;
    rep->industry = r->p->industry;
    rep->metric = r->p->metric;
    rep->period = r->label;
    rep->period_start = r->start;
    rep->period_end = r->end;
    rep->actual = r->in[k].y;
    rep->has_estimate = o->status == DID_OK;
    if (rep->has_estimate) {
        rep->baseline = o->baseline;
        rep->environment_effect = o->effect;
        rep->effect_low = o->low;
        rep->effect_high = o->high;
        rep->adjusted_target = o->baseline + o->effect;
        rep->excess_value = rep->actual - rep->adjusted_target;
    }
    rep->signals = sigs;
    rep->n_signals = n_sigs;
    rep->controls = o->controls;
    rep->method = o->status == DID_FEW_CONTROLS ? "refused_few_controls"
                  : o->status == DID_NO_HISTORY ? "refused_no_history"
                  : r->plan.method == DID_REF_SEASON ? "did_same_season"
                                                     : "did_recent_trend";
    rep->explanation = explanation;
    rep->revision = r->revision;
    a.trigger_event_id = r->ev->event_id ? r->ev->event_id : "";
    a.src = r->ev->src;
    a.event_time = r->end;
    return ctx_emit(r->ctx, &a);
}

/* Estimates `period` for every unit with a value in it and reports. */
static int run_period(struct at_inst *at, struct proc_ctx *ctx,
                      const struct event *ev, struct at_panel *p,
                      int32_t period, int32_t revision)
{
    const struct at_config *cfg = at->cfg;
    struct at_run r = {.at = at, .ctx = ctx, .ev = ev, .p = p, .period = period,
                       .revision = revision};
    r.start = attribution_period_start(cfg->period, at->offset_ms, period);
    r.end = attribution_period_start(cfg->period, at->offset_ms, period + 1);
    attribution_period_label(cfg->period, period, r.label, sizeof(r.label));
    attribution_refplan(period, first_period(p), attribution_period_season(cfg->period),
                        cfg->pre_periods, &r.plan);
    for (size_t j = 0; j < p->n_signals && r.n_active < 64; j++)
        if (signal_applies(&p->signals[j], p, r.start, r.end))
            r.active[r.n_active++] = j;

    size_t cap = p->n_units ? p->n_units : 1;
    r.in = calloc(cap, sizeof(*r.in));
    r.out = calloc(cap, sizeof(*r.out));
    r.unit = calloc(cap, sizeof(*r.unit));
    r.exposure = calloc(cap, sizeof(*r.exposure));
    if (!r.in || !r.out || !r.unit || !r.exposure)
        abort();
    for (size_t i = 0; i < p->n_units; i++) {
        const struct at_unit *u = &p->units[i];
        const struct at_cell *c = cell_find(u, period);
        if (!c)
            continue;
        size_t k = r.n++;
        r.unit[k] = i;
        r.in[k].y = c->value;
        r.in[k].usable = attribution_ref(&r.plan, period, cell_get, u, &r.in[k].ref) == 0;
        for (size_t j = 0; j < r.n_active; j++) {
            const struct at_signal *s = &p->signals[r.active[j]];
            if (in_list(s->regions, s->n_regions, u->region))
                r.exposure[k] |= 1ull << j;
        }
    }
    /* Units exposed to the same signals form a group. */
    for (size_t k = 0; k < r.n; k++) {
        r.in[k].group = 0;
        if (!r.exposure[k])
            continue;
        r.in[k].group = (int)k + 1;
        for (size_t j = 0; j < k; j++)
            if (r.exposure[j] == r.exposure[k]) {
                r.in[k].group = r.in[j].group;
                break;
            }
    }
    attribution_did(r.in, r.n, cfg->level, cfg->min_controls, r.out);
    int rc = 0;
    for (size_t k = 0; k < r.n && rc == 0; k++)
        rc = emit_report(&r, k);
    free(r.in);
    free(r.out);
    free(r.unit);
    free(r.exposure);
    return rc;
}

/* Records `period` as reported at `revision`; drops what history no
 * longer covers. */
static void mark_closed(const struct at_config *cfg, struct at_panel *p,
                        int32_t period, int32_t revision)
{
    struct at_closed *c = closed_find(p, period);
    if (c) {
        c->revision = revision;
        return;
    }
    struct at_closed *v = realloc(p->closed, (p->n_closed + 1) * sizeof(*v));
    if (!v)
        abort();
    p->closed = v;
    p->closed[p->n_closed++] = (struct at_closed){period, revision};
    int32_t oldest = period - (int32_t)cfg->history_periods;
    size_t keep = 0;
    for (size_t i = 0; i < p->n_closed; i++)
        if (p->closed[i].period > oldest)
            p->closed[keep++] = p->closed[i];
    p->n_closed = keep;
    for (size_t i = 0; i < p->n_units; i++) {
        struct at_unit *u = &p->units[i];
        size_t drop = 0;
        while (drop < u->n_cells && u->cells[drop].period <= oldest)
            drop++;
        if (drop) {
            memmove(u->cells, u->cells + drop, (u->n_cells - drop) * sizeof(*u->cells));
            u->n_cells -= drop;
        }
    }
}

/* The event time every active origin partition of the panel's outcomes
 * has passed (repmarks_low): the partitions are fetched and applied at
 * their own pace, so one ahead of the others proves nothing about them. */
static int64_t panel_low(const struct at_config *cfg, struct proc_ctx *ctx,
                         const struct at_panel *p)
{
    const struct repmarks_low_opts o = {
        .partitions = ctx_partitions(ctx),
        .now = ctx_clock_ms(ctx),
        .since = p->since,
        .idle_ms = cfg->origin_idle,
    };
    return repmarks_low(&p->marks, &o);
}

/* Closes every period whose end plus the grace every active origin has
 * passed. */
static int close_periods(struct at_inst *at, struct proc_ctx *ctx,
                         const struct event *ev, struct at_panel *p)
{
    const struct at_config *cfg = at->cfg;
    if (!p->synced || p->watermark == INT64_MIN)
        return 0;
    int64_t low = panel_low(cfg, ctx, p);
    if (low == INT64_MIN)
        return 0;
    int32_t first = first_period(p);
    if (first == INT32_MAX)
        return 0;
    int32_t t = p->closed_through == INT32_MIN ? first : p->closed_through + 1;
    for (;; t++) {
        int64_t end = attribution_period_start(cfg->period, at->offset_ms, t + 1);
        if (end > INT64_MAX - cfg->grace || end + cfg->grace > low)
            break;
        if (run_period(at, ctx, ev, p, t, 0) != 0)
            return -1;
        p->closed_through = t;
        mark_closed(cfg, p, t, 0);
    }
    return 0;
}

static int correct(struct at_inst *at, struct proc_ctx *ctx,
                   const struct event *ev, struct at_panel *p, int32_t period)
{
    struct at_closed *c = closed_find(p, period);
    int32_t rev = c ? c->revision + 1 : 1;
    if (run_period(at, ctx, ev, p, period, rev) != 0)
        return -1;
    mark_closed(at->cfg, p, period, rev);
    return 0;
}

static struct at_panel *panel_state(struct proc_ctx *ctx, const char *panel,
                                    char *key, size_t n)
{
    if (join_key(key, n, panel, AT_PANEL_SUFFIX) != 0) {
        ctx_fail(ctx, "panel key too long");
        return NULL;
    }
    struct at_obj *o = ctx_state(ctx, key, NULL);
    if (!o->u.panel.since)
        o->u.panel.since = ctx_clock_ms(ctx);
    return &o->u.panel;
}

static int panel_sync(struct at_inst *at, struct proc_ctx *ctx,
                      const struct event *ev, struct at_panel *p,
                      const char *key);

static int panel_outcome(struct at_inst *at, struct proc_ctx *ctx,
                         const struct event *ev, struct buf_reader *r)
{
    const struct at_config *cfg = at->cfg;
    char *unit = buf_get_str(r), *region = buf_get_str(r);
    char *industry = buf_get_str(r), *metric = buf_get_str(r);
    double value = buf_get_double(r);
    int64_t t = buf_get_i64(r);
    int rc = -1;
    char key[600];
    if (r->err || r->p != r->end || !unit || !region || !metric) {
        ctx_fail(ctx, "not an attribution outcome record");
        goto out;
    }
    struct at_panel *p = panel_state(ctx, ev->key, key, sizeof(key));
    if (!p)
        goto out;
    int32_t period = attribution_period_of(cfg->period, at->offset_ms, t);
    if (p->closed_through != INT32_MIN &&
        period <= p->closed_through - (int32_t)cfg->history_periods) {
        ctx_fail(ctx, "outcome of %s older than the %lld periods kept",
                 unit, (long long)cfg->history_periods);
        goto out;
    }
    struct at_unit *u = unit_find(p, unit);
    if (!u && (int64_t)p->n_units >= cfg->max_units) {
        ctx_fail(ctx, "panel %s has %lld units already", ev->key,
                 (long long)cfg->max_units);
        goto out;
    }
    rc = 0;
    if (!repmarks_apply(&p->marks, &ev->u.repartition))
        goto out; /* a copy re-sent after a crash */
    int64_t now = ctx_clock_ms(ctx);
    /* Outcomes back after a pause of origin_idle: every origin is waited
     * for afresh, as the chooser does (TIME.md), else the partition
     * fetched first after the pause would close periods alone. */
    if (now && p->heard && now - p->heard >= cfg->origin_idle)
        p->since = now;
    p->heard = now;
    repmarks_note(&p->marks, &ev->u.repartition, t, now);
    ctx_state_dirty(ctx, key);
    if (!p->metric) {
        p->metric = statecodec_strdup(metric);
        p->industry = statecodec_strdup(industry);
    }
    /* Signals come from the global table, which the runtime read to its
     * end before this record (registered and synced: as a panel of the
     * hub was once the hub had answered). */
    if (!p->synced)
        p->registered = p->synced = true;
    if ((rc = panel_sync(at, ctx, ev, p, key)) != 0)
        goto out;
    if (!u) {
        struct at_unit *v = realloc(p->units, (p->n_units + 1) * sizeof(*v));
        if (!v)
            abort();
        p->units = v;
        u = &p->units[p->n_units++];
        *u = (struct at_unit){.id = statecodec_strdup(unit)};
    }
    if (!u->region || strcmp(u->region, region) != 0) {
        free(u->region);
        u->region = statecodec_strdup(region);
    }
    cell_add(u, period, value);
    if (t > p->watermark)
        p->watermark = t;
    if (p->closed_through != INT32_MIN && period <= p->closed_through)
        rc = correct(at, ctx, ev, p, period); /* a late outcome */
    if (rc == 0)
        rc = close_periods(at, ctx, ev, p);
out:
    free(unit);
    free(region);
    free(industry);
    free(metric);
    return rc;
}

/* A signal the panel lacks or has older: closed periods it overlaps are
 * corrected. */
static int panel_take(struct at_inst *at, struct proc_ctx *ctx,
                      const struct event *ev, struct at_panel *p,
                      const char *key, const struct at_signal *s)
{
    int rc = attribution_signal_upsert(&p->signals, &p->n_signals, s);
    if (rc < 0) {
        ctx_fail(ctx, "more than %d environment signals", AT_MAX_SIGNALS);
        return -1;
    }
    if (rc == 0)
        return 0;
    ctx_state_dirty(ctx, key);
    if (!p->synced || !p->metric)
        return 0;
    for (size_t i = 0; i < p->n_closed; i++) {
        int32_t period = p->closed[i].period;
        int64_t start = attribution_period_start(at->cfg->period, at->offset_ms, period);
        int64_t end = attribution_period_start(at->cfg->period, at->offset_ms, period + 1);
        if (signal_applies(s, p, start, end) && correct(at, ctx, ev, p, period) != 0)
            return -1;
    }
    return 0;
}

/* A signal from the hub (records of the repartition topic written before
 * env.signals became a global table). */
static int panel_signal(struct at_inst *at, struct proc_ctx *ctx,
                        const struct event *ev, const struct at_signal *s)
{
    char key[600];
    struct at_panel *p = panel_state(ctx, ev->key, key, sizeof(key));
    if (!p)
        return -1;
    return panel_take(at, ctx, ev, p, key, s);
}

struct sync_arg {
    struct at_inst *at;
    struct proc_ctx *ctx;
    const struct event *ev;
    struct at_panel *p;
    const char *key;
    int rc;
};

static int sync_one(void *arg, const struct event *sev)
{
    struct sync_arg *a = arg;
    const struct env_signal *es = &sev->u.signal;
    struct at_signal s = {
        .id = (char *)es->signal_id,
        .kind = (int)es->kind,
        .title = (char *)es->title,
        .regions = (char **)es->regions,
        .n_regions = es->n_regions,
        .industries = (char **)es->industries,
        .n_industries = es->n_industries,
        .start_time = es->start_time,
        .end_time = es->has_end_time ? es->end_time : INT64_MAX,
        .event_time = sev->event_time,
    };
    a->rc = panel_take(a->at, a->ctx, a->ev, a->p, a->key, &s);
    return a->rc != 0;
}

/* Takes the signals of the global table (env.signals) the panel lacks,
 * when the table changed since it last looked. */
static int panel_sync(struct at_inst *at, struct proc_ctx *ctx,
                      const struct event *ev, struct at_panel *p,
                      const char *key)
{
    uint64_t v = ctx_global_version(ctx, EVENT_ENV_SIGNAL);
    if (v == p->gver)
        return 0;
    struct sync_arg a = {at, ctx, ev, p, key, 0};
    ctx_global_foreach(ctx, EVENT_ENV_SIGNAL, sync_one, &a);
    if (a.rc == 0)
        p->gver = v;
    return a.rc;
}

static int panel_synced(struct at_inst *at, struct proc_ctx *ctx,
                        const struct event *ev)
{
    char key[600];
    struct at_panel *p = panel_state(ctx, ev->key, key, sizeof(key));
    if (!p)
        return -1;
    if (p->synced)
        return 0;
    p->synced = true;
    ctx_state_dirty(ctx, key);
    return close_periods(at, ctx, ev, p);
}

static int at_repartitioned(struct at_inst *at, struct proc_ctx *ctx,
                            const struct event *ev)
{
    struct buf_reader r;
    buf_reader_init(&r, ev->u.repartition.data, ev->u.repartition.len);
    uint8_t type = buf_get_u8(&r);
    if (type == AT_OUTCOME)
        return panel_outcome(at, ctx, ev, &r);
    if (type == AT_SYNCED) {
        if (r.err || r.p != r.end)
            goto bad;
        return panel_synced(at, ctx, ev);
    }
    if (type == AT_REGISTER) {
        char *panel = buf_get_str(&r);
        int rc = -1;
        if (r.err || r.p != r.end || !panel) {
            ctx_fail(ctx, "not an attribution record");
        } else {
            rc = hub_register(at, ctx, panel);
        }
        free(panel);
        return rc;
    }
    if (type == AT_SIGNAL || type == AT_COPY) {
        struct at_signal s;
        int rc = -1;
        if (attribution_signal_get(&s, &r) != 0 || r.p != r.end)
            ctx_fail(ctx, "not an attribution signal record");
        else
            rc = type == AT_SIGNAL ? hub_signal(at, ctx, &s)
                                   : panel_signal(at, ctx, ev, &s);
        attribution_signal_clear(&s);
        return rc;
    }
bad:
    ctx_fail(ctx, "not an attribution record");
    return -1;
}

/* ------------------------------------------------------------------------
 * Opportunities, for the simulator: each stage passed becomes a spell
 */

static bool is_closed(const struct at_config *cfg, const char *stage)
{
    for (size_t i = 0; i < cfg->closed_stages.n; i++)
        if (strcmp(cfg->closed_stages.v[i], stage) == 0)
            return true;
    return false;
}

static int opportunity(struct at_inst *at, struct proc_ctx *ctx,
                       const struct event *ev)
{
    const struct opportunity_update *up = &ev->u.opportunity;
    char key[600];
    if (join_key(key, sizeof(key), ev->key, AT_OPPS_SUFFIX) != 0) {
        ctx_fail(ctx, "customer id too long");
        return -1;
    }
    struct at_obj *o = ctx_state(ctx, key, NULL);
    struct at_opps *op = &o->u.opps;
    struct at_opp *p = NULL;
    for (size_t i = 0; i < op->n_opps && !p; i++)
        if (strcmp(op->opps[i].id, up->opportunity_id) == 0)
            p = &op->opps[i];
    if (!p) {
        if (op->n_opps == AT_MAX_OPPS) { /* the least recently moved goes */
            size_t old = 0;
            for (size_t i = 1; i < op->n_opps; i++)
                if (op->opps[i].entered < op->opps[old].entered)
                    old = i;
            struct at_opp *gone = &op->opps[old];
            free(gone->id);
            free(gone->rep);
            free(gone->industry);
            free(gone->stage);
            *gone = op->opps[--op->n_opps];
        }
        struct at_opp *v = realloc(op->opps, (op->n_opps + 1) * sizeof(*v));
        if (!v)
            abort();
        op->opps = v;
        p = &op->opps[op->n_opps++];
        *p = (struct at_opp){.id = statecodec_strdup(up->opportunity_id),
                             .rep = statecodec_strdup(up->rep_id),
                             .stage = statecodec_strdup(up->stage_to),
                             .entered = ev->event_time};
    } else if (strcmp(p->stage, up->stage_to) != 0 && ev->event_time >= p->entered) {
        if (op->n_spells == AT_MAX_SPELLS) {
            free(op->spells[0].industry);
            memmove(op->spells, op->spells + 1, (op->n_spells - 1) * sizeof(*op->spells));
            op->n_spells--;
        }
        struct at_spell *v = realloc(op->spells, (op->n_spells + 1) * sizeof(*v));
        if (!v)
            abort();
        op->spells = v;
        const char *ind = up->industry ? up->industry : p->industry;
        op->spells[op->n_spells++] = (struct at_spell){statecodec_strdup(ind), p->entered,
                                                       ev->event_time};
        free(p->stage);
        p->stage = statecodec_strdup(up->stage_to);
        p->entered = ev->event_time;
    }
    if (up->industry && (!p->industry || strcmp(p->industry, up->industry) != 0)) {
        free(p->industry);
        p->industry = statecodec_strdup(up->industry);
    }
    if (strcmp(p->rep, up->rep_id) != 0) {
        free(p->rep);
        p->rep = statecodec_strdup(up->rep_id);
    }
    p->open = !is_closed(at->cfg, p->stage);
    ctx_state_dirty(ctx, key);
    return 0;
}

static int at_handle(void *inst, struct proc_ctx *ctx, const struct event *ev)
{
    struct at_inst *at = inst;
    switch (ev->kind) {
    case EVENT_SALES_OUTCOME:
        return outcome_to_panel(at, ctx, ev);
    case EVENT_OPPORTUNITY:
        return opportunity(at, ctx, ev);
    case EVENT_REPARTITION:
        return at_repartitioned(at, ctx, ev);
    default:
        return 0;
    }
}

/* See processor_ops.state_keys: the panel or the hub a record is for. */
static size_t at_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    (void)inst;
    if (max && ev->kind == EVENT_OPPORTUNITY && ev->key) {
        out[0] = (struct state_key){{ev->key, AT_OPPS_SUFFIX}};
        return 1;
    }
    if (!max || ev->kind != EVENT_REPARTITION || !ev->u.repartition.len || !ev->key)
        return 0;
    uint8_t type = ev->u.repartition.data[0];
    const char *suffix = type == AT_OUTCOME || type == AT_COPY || type == AT_SYNCED
                             ? AT_PANEL_SUFFIX
                         : type == AT_SIGNAL || type == AT_REGISTER ? AT_HUB_SUFFIX
                                                                    : NULL;
    if (!suffix)
        return 0;
    out[0] = (struct state_key){{ev->key, suffix}};
    return 1;
}

const struct processor_ops processor_attribution = {
    .name = "attribution",
    .description = "Counterfactual attribution: each sales unit's period "
                   "result against difference-in-differences baselines",
    .inputs = EVENT_MASK(EVENT_SALES_OUTCOME) | EVENT_MASK(EVENT_OPPORTUNITY) |
              EVENT_MASK(EVENT_REPARTITION),
    .global_inputs = EVENT_MASK(EVENT_ENV_SIGNAL),
    .config = &attribution_config_table,
    .init = at_init,
    .handle = at_handle,
    .destroy = at_destroy,
    .state_new = attribution_state_new,
    .state_encode = attribution_state_encode,
    .state_decode = attribution_state_decode,
    .state_free = attribution_state_free,
    .state_keys = at_state_keys,
    .state_to_json = attribution_state_to_json,
    .outputs = ALERT_MASK(ALERT_ATTRIBUTION),
};
