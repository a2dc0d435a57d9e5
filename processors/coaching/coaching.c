/*
 * coaching.c - real-time conversation coaching from meeting transcripts.
 *
 * Per meeting ("<customer>/m/<meeting_id>") the processor folds ASR segments
 * into conversation metrics (meeting.h) and judges coaching rules
 * while the meeting runs, so the rep is told during the call (the rules
 * and their alerts: coaching_rules.c).
 *
 * The customer's context ("<customer>/ctx") is fed by IoT alerts, document
 * annotations and registry changes: open issues per context link (bounded,
 * pruned after `rules.missed_context.lookback` of the customer's event
 * time), competitors linked in the registry, and tombstones of closed
 * meetings.
 *
 * Meeting end: on is_final, or when no segment arrived for `idle_timeout` of
 * wall clock (on_timer). End-of-meeting rules run, a MeetingSummary is
 * emitted, and the meeting object is deleted at once; a tombstone (meeting
 * id, close time) stays in the customer's context for `closed_ttl` of the
 * customer's event time so late segments are dropped instead of reopening
 * the meeting or firing twice. The idle index lives in memory only: touched
 * meetings get the wall-clock time of the next timer tick. It follows the
 * partitions (on_partitions): a partition that leaves takes its meetings'
 * entries with it, one that arrives (after a start, a reload or a
 * rebalance, its state restored) brings the open meetings the store holds
 * for it, each counted as last seen at the next tick. A meeting is closed
 * only while its partition is owned (ctx_owns), a last guard: the store
 * keeps stale copies of meetings whose partition moved to another
 * instance.
 *
 * Segments of a meeting must arrive in seq order (the Kafka key is the
 * customer, so one producer's order is kept); a seq not above the last one
 * is a duplicate and is ignored.
 *
 * The config table is coaching_config.c, the state objects
 * coaching_state.c, the customer's context coaching_context.c, the rules
 * coaching_rules.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coaching.h"
#include "log.h"

/* ------------------------------------------------------------------ */
/* Instance                                                             */
/* ------------------------------------------------------------------ */

static void strlist_free(struct cfg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int norm_list(const struct cfg_strlist *in, struct cfg_strlist *out)
{
    struct buf b;
    buf_init(&b);
    out->v = calloc(in->n ? in->n : 1, sizeof(char *));
    if (!out->v)
        return -1;
    for (size_t i = 0; i < in->n; i++) {
        buf_reset(&b);
        matcher_normalize(in->v[i], &b);
        if (b.len)
            out->v[out->n++] = statecodec_strdup((const char *)b.data);
    }
    buf_free(&b);
    return 0;
}

/* Backchannels in the form meeting.c compares them in; one that has no
 * such form (too long, or only punctuation) could never match and is left
 * out. */
static int backchannel_list(const struct cfg_strlist *in,
                            struct cfg_strlist *out)
{
    struct cfg_strlist norm = {0};
    if (norm_list(in, &norm) != 0)
        return -1;
    out->v = calloc(norm.n ? norm.n : 1, sizeof(char *));
    if (!out->v) {
        strlist_free(&norm);
        return -1;
    }
    char form[MEETING_BACKCHANNEL_MAX];
    for (size_t i = 0; i < norm.n; i++)
        if (meeting_backchannel_form(norm.v[i], form, sizeof(form)) && form[0])
            out->v[out->n++] = statecodec_strdup(form);
    strlist_free(&norm);
    return 0;
}

static int add_list(struct matcher_builder *mb, const struct cfg_strlist *l,
                    enum co_lib lib, size_t idx, const char *what, char *err,
                    size_t errlen)
{
    for (size_t i = 0; i < l->n; i++) {
        if (matcher_builder_add(mb, l->v[i], LIB_ID(lib, idx)) != 0) {
            snprintf(err, errlen, "%s: empty phrase", what);
            return -1;
        }
    }
    return 0;
}

static void co_destroy(void *inst)
{
    struct coaching *co = inst;
    if (!co)
        return;
    matcher_free(co->matcher);
    strlist_free(&co->bc);
    strlist_free(&co->cues);
    strlist_free(&co->openers);
    for (size_t i = 0; i < co->n_comp_norm; i++)
        free(co->comp_norm[i]);
    free(co->comp_norm);
    hmap_free(co->idle, free);
    buf_free(&co->norm);
    free(co);
}

static int co_init(const void *cfgp, void **inst, char *err, size_t errlen)
{
    const struct co_config *cfg = cfgp;
    struct coaching *co = calloc(1, sizeof(*co));
    struct matcher_builder *mb = matcher_builder_new();
    int rc = -1;

    *inst = NULL;
    if (!co || !mb) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    co->cfg = cfg;
    buf_init(&co->norm);
    co->idle = hmap_new();
    if (!co->idle || backchannel_list(&cfg->backchannels, &co->bc) ||
        norm_list(&cfg->question_cues, &co->cues) ||
        norm_list(&cfg->question_openers, &co->openers)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    co->lx = (struct meeting_lexicon){
        .discovery_phase = cfg->discovery_phase,
        .backchannels = (const char *const *)co->bc.v,
        .n_backchannels = co->bc.n,
        .question_cues = (const char *const *)co->cues.v,
        .n_question_cues = co->cues.n,
        .question_openers = (const char *const *)co->openers.v,
        .n_question_openers = co->openers.n,
    };

    const struct co_objection *obj = cfg->objections.items;
    for (size_t i = 0; i < cfg->objections.n; i++)
        if (add_list(mb, &obj[i].phrases, LIB_OBJECTION, i, "objections", err,
                     errlen) ||
            add_list(mb, &obj[i].answers, LIB_ANSWER, i, "objections", err,
                     errlen))
            goto out;
    if (add_list(mb, &cfg->product_focus, LIB_PRODUCT, 0, "product_focus", err,
                 errlen) ||
        add_list(mb, &cfg->customer_focus, LIB_CUSTOMER, 0, "customer_focus",
                 err, errlen))
        goto out;
    const struct co_competitor *cp = cfg->competitors.items;
    size_t n_names = 0;
    for (size_t i = 0; i < cfg->competitors.n; i++) {
        if (add_list(mb, &cp[i].names, LIB_COMPETITOR, i, "competitors", err,
                     errlen))
            goto out;
        n_names += cp[i].names.n;
    }
    co->comp_norm = calloc(n_names ? n_names : 1, sizeof(char *));
    if (!co->comp_norm) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cfg->competitors.n; i++) {
        for (size_t k = 0; k < cp[i].names.n; k++) {
            buf_reset(&co->norm);
            matcher_normalize(cp[i].names.v[k], &co->norm);
            co->comp_norm[co->n_comp_norm++] = statecodec_strdup((char *)co->norm.data);
        }
    }
    const struct co_link *lk = cfg->context_links.items;
    for (size_t i = 0; i < cfg->context_links.n; i++)
        if (add_list(mb, &lk[i].topics, LIB_TOPIC, i, "context_links", err,
                     errlen) ||
            add_list(mb, &lk[i].addressed_by, LIB_ADDRESSED, i,
                     "context_links", err, errlen) ||
            add_list(mb, &lk[i].doc_keywords, LIB_DOC_KEYWORD, i,
                     "context_links", err, errlen))
            goto out;
    if (matcher_build(mb, &co->matcher, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    matcher_builder_free(mb);
    if (rc == 0)
        *inst = co;
    else
        co_destroy(co);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Scanning a text                                                      */
/* ------------------------------------------------------------------ */

static int on_hit(void *arg, unsigned id, size_t from, size_t to)
{
    struct co_hits *h = arg;
    unsigned lib = id >> 24, idx = id & 0xffffffu;
    if (lib == 0 || lib >= LIB_COUNT)
        return 0;
    /* Overlapping phrases of one library ("等保三级" inside
     * "等保三级合规性") count once. */
    bool overlap = h->counted_any[lib] && from < h->last_to[lib];
    if (!overlap) {
        h->counted_any[lib] = true;
        h->last_to[lib] = to;
    }
    switch (lib) {
    case LIB_OBJECTION: h->objection |= 1ull << (idx & 63); break;
    case LIB_ANSWER: h->answer |= 1ull << (idx & 63); break;
    case LIB_COMPETITOR:
        h->competitor |= 1ull << (idx & 63);
        h->competitor_n += !overlap;
        break;
    case LIB_PRODUCT: h->product += !overlap; break;
    case LIB_CUSTOMER: h->customer += !overlap; break;
    case LIB_TOPIC: h->topic |= 1u << (idx & 31); break;
    case LIB_ADDRESSED: h->addressed |= 1u << (idx & 31); break;
    case LIB_DOC_KEYWORD: h->doc_keyword |= 1u << (idx & 31); break;
    default: break;
    }
    return 0;
}

int coaching_scan_text(struct coaching *co, const char *text, struct co_hits *h)
{
    memset(h, 0, sizeof(*h));
    return matcher_scan(co->matcher, text, &co->norm, on_hit, h);
}

/* Occurrences of normalised `name` in normalised `text`, with the same
 * Latin word-start rule as the matcher. */
static unsigned count_occurrences(const char *text, const char *name)
{
    size_t nl = strlen(name);
    unsigned n = 0;
    if (!nl)
        return 0;
    bool word = (name[0] >= 'a' && name[0] <= 'z') ||
                (name[0] >= '0' && name[0] <= '9');
    for (const char *p = strstr(text, name); p; p = strstr(p + nl, name)) {
        char b = p > text ? p[-1] : ' ';
        if (word && ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')))
            continue;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Meetings                                                             */
/* ------------------------------------------------------------------ */

static void summary(struct coaching *co, struct proc_ctx *ctx,
                    struct co_meeting *m, const char *closed_by,
                    bool from_timer)
{
    struct metric met[MEETING_N_METRICS];
    size_t n = meeting_metrics_export(&m->mm, met, MEETING_N_METRICS);
    char dk[CO_KEY_MAX];
    struct alert a;

    (void)co;
    snprintf(dk, sizeof(dk), "summary|%s", m->meeting_id);
    memset(&a, 0, sizeof(a));
    a.kind = ALERT_MEETING_SUMMARY;
    a.customer_id = m->customer_id;
    a.dedup_key = dk;
    a.u.summary = (struct meeting_summary){
        .meeting_id = m->meeting_id,
        .rep_id = m->rep_id,
        .closed_by = closed_by,
        .metrics = met,
        .n_metrics = n,
    };
    if (from_timer)
        coaching_alert_from_last(&a, m);
    ctx_emit(ctx, &a);
}

/* End-of-meeting rules, the summary, the tombstone; deletes the meeting
 * object (`m` is invalid afterwards). */
static void close_meeting(struct coaching *co, struct proc_ctx *ctx,
                          const char *mkey, struct co_meeting *m,
                          const char *closed_by, bool from_timer)
{
    char ckey[CO_KEY_MAX];
    const struct co_obj *cobj =
        coaching_make_key(ckey, sizeof(ckey), m->customer_id, NULL) == 0
            ? ctx_state_find(ctx, ckey)
            : NULL;

    coaching_judge_objections(co, ctx, m, m->mm.last_end_ms, true, from_timer);
    coaching_judge_context(co, ctx, m, cobj ? &cobj->u.c : NULL,
                           m->mm.last_end_ms, true, from_timer);
    coaching_judge_discovery(co, ctx, m, NULL, true, from_timer);
    coaching_judge_talk_ratio(co, ctx, m, from_timer);
    summary(co, ctx, m, closed_by, from_timer);

    if (coaching_make_key(ckey, sizeof(ckey), m->customer_id, NULL) == 0) {
        struct co_obj *o = ctx_state(ctx, ckey, NULL);
        struct co_context *c = &o->u.c;
        coaching_context_seen(c, m->last_event_time);
        if (c->n_closed == CO_MAX_TOMBSTONES) {
            coaching_named_free(&c->closed[0]);
            memmove(&c->closed[0], &c->closed[1],
                    (c->n_closed - 1) * sizeof(c->closed[0]));
            c->n_closed--;
        }
        CO_ROOM(c, closed, CO_MAX_TOMBSTONES);
        c->closed[c->n_closed].id = statecodec_strdup(m->meeting_id);
        c->closed[c->n_closed].at = m->last_event_time;
        c->n_closed++;
        coaching_ctx_save(co, ctx, ckey, c);
    }
    free(hmap_del(co->idle, mkey));
    ctx_state_delete(ctx, mkey);
}

static bool is_tombstoned(const struct co_context *c, const char *meeting_id)
{
    for (size_t i = 0; c && i < c->n_closed; i++)
        if (strcmp(c->closed[i].id, meeting_id) == 0)
            return true;
    return false;
}

static struct co_topic *topic_get(struct co_meeting *m, const char *name)
{
    for (size_t i = 0; i < m->n_topics; i++)
        if (strcmp(m->topics[i].name, name) == 0)
            return &m->topics[i];
    if (m->n_topics == CO_MAX_TOPICS)
        return NULL;
    struct co_topic *t = &m->topics[m->n_topics++];
    memset(t, 0, sizeof(*t));
    t->name = statecodec_strdup(name);
    t->topic_ms = -1;
    t->raised_at = -1;
    return t;
}

static void rep_context(struct coaching *co, struct co_meeting *m,
                        const struct co_context *c, const struct co_hits *h,
                        const struct event *ev)
{
    const struct transcript_segment *ts = &ev->u.transcript;
    const struct co_link *lk = co->cfg->context_links.items;
    for (size_t i = 0; i < co->cfg->context_links.n; i++) {
        bool topic = h->topic & (1u << i);
        bool addr = h->addressed & (1u << i);
        const char *issue = NULL;
        if (!topic && !addr)
            continue;
        struct co_topic *t = NULL;
        if (addr) {
            t = topic_get(m, lk[i].name);
            if (t)
                t->addressed = true;
        }
        if (!topic)
            continue;
        /* Raised without a known issue, the raise is kept all the same:
         * the issue's record may be applied later (coaching_judge_context). */
        bool open = coaching_issue_open(co, c, lk[i].name, ev->event_time,
                                        INT64_MAX, &issue);
        t = t ? t : topic_get(m, lk[i].name);
        if (t && (t->topic_ms < 0 || (!t->issue && open))) {
            t->topic_ms = ts->end_ms;
            t->raised_at = ev->event_time;
            free(t->evidence);
            t->evidence = coaching_dup_evidence(ts->text, CO_EVIDENCE_MAX);
            coaching_set_str(&t->issue, open ? issue : NULL);
        }
    }
}

static void customer_objections(struct coaching *co, struct co_meeting *m,
                                const struct co_hits *h,
                                const struct transcript_segment *ts)
{
    const struct co_objection *ob = co->cfg->objections.items;
    for (size_t i = 0; i < co->cfg->objections.n; i++) {
        if (!(h->objection & (1ull << i)))
            continue;
        m->mm.objections_raised++;
        bool open = false;
        for (size_t k = 0; k < m->n_pend && !open; k++)
            open = strcmp(m->pend[k].name, ob[i].name) == 0;
        if (open || m->n_pend == CO_MAX_PENDING)
            continue; /* raised again while pending: one alert */
        m->pend[m->n_pend++] = (struct co_pending){
            .name = statecodec_strdup(ob[i].name),
            .raised_ms = ts->end_ms,
            .raise_no = m->mm.objections_raised,
            .evidence = coaching_dup_evidence(ts->text, CO_EVIDENCE_MAX),
        };
    }
}

static void rep_answers(struct co_meeting *m, const struct coaching *co,
                        const struct co_hits *h)
{
    for (size_t i = 0; i < m->n_pend;) {
        size_t idx;
        if (coaching_find_objection(co->cfg, m->pend[i].name, &idx) &&
            (h->answer & (1ull << idx)))
            coaching_pending_remove(m, i);
        else
            i++;
    }
}

/* Competitor mentions: configured names (matcher) and the customer's
 * registry-linked competitors (substring search, few names). */
static void competitors(struct coaching *co, struct proc_ctx *ctx,
                        struct co_meeting *m, const struct co_context *c,
                        const struct co_hits *h,
                        const struct transcript_segment *ts)
{
    const char *norm = (const char *)co->norm.data;
    const struct co_competitor *cp = co->cfg->competitors.items;
    const char *first = NULL;
    const struct co_competitor *first_cfg = NULL;
    unsigned n = h->competitor_n;

    for (size_t i = 0; i < co->cfg->competitors.n && !first; i++)
        if (h->competitor & (1ull << i)) {
            first = cp[i].names.v[0];
            first_cfg = &cp[i];
        }
    for (size_t i = 0; c && i < c->n_comps; i++) {
        struct buf b;
        buf_init(&b);
        matcher_normalize(c->comps[i].name, &b);
        bool configured = false;
        for (size_t k = 0; k < co->n_comp_norm && !configured; k++)
            configured = strcmp(co->comp_norm[k], (char *)b.data) == 0;
        unsigned k = configured ? 0 : count_occurrences(norm, (char *)b.data);
        buf_free(&b);
        if (k && !first)
            first = c->comps[i].name;
        n += k;
    }
    m->mm.competitor_mentions += n;
    if (first && ts->speaker_role == ROLE_CUSTOMER)
        coaching_fire_competitor(co, ctx, m, first, first_cfg, ts->text);
}

static void idle_touch(struct coaching *co, const char *key,
                       int32_t partition)
{
    struct co_idle *e = hmap_get(co->idle, key);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            abort();
        hmap_put(co->idle, key, e);
    }
    e->touched = true;
    e->partition = partition;
}

static int handle_segment(struct coaching *co, struct proc_ctx *ctx,
                          const struct event *ev, const char *ckey)
{
    const struct transcript_segment *ts = &ev->u.transcript;
    char mkey[CO_KEY_MAX];
    struct co_hits h;
    int created = 0;

    if (!ts->meeting_id || !ts->meeting_id[0] ||
        coaching_make_key(mkey, sizeof(mkey), ev->customer_id, ts->meeting_id) != 0) {
        ctx_fail(ctx, "coaching: missing or oversized meeting_id");
        return -1;
    }
    const struct co_obj *cobj = ctx_state_find(ctx, ckey);
    const struct co_context *c = cobj ? &cobj->u.c : NULL;
    if (is_tombstoned(c, ts->meeting_id)) {
        LOG_RL(LOG_DEBUG, "coaching", "late segment %d of closed meeting %s",
               (int)ts->seq, ts->meeting_id);
        return 0;
    }
    struct co_obj *o = ctx_state(ctx, mkey, &created);
    struct co_meeting *m = &o->u.m;
    if (m->has_seq && ts->seq <= m->last_seq)
        return 0; /* duplicate or out of order */
    if (created || !m->meeting_id) {
        coaching_set_str(&m->customer_id, ev->customer_id);
        coaching_set_str(&m->meeting_id, ts->meeting_id);
    }
    if (ts->rep_id && ts->rep_id[0] && !m->rep_id)
        coaching_set_str(&m->rep_id, ts->rep_id);
    m->has_seq = true;
    m->last_seq = ts->seq;
    coaching_set_str(&m->last_event_id, ev->event_id);
    coaching_set_str(&m->last_topic, ev->src.topic);
    m->last_partition = ev->src.partition;
    m->last_offset = ev->src.offset;
    m->last_event_time = ev->event_time;

    if (coaching_scan_text(co, ts->text, &h) != 0) {
        ctx_fail(ctx, "coaching: keyword scan failed");
        return -1;
    }
    const char *norm = (const char *)co->norm.data;

    /* Windows that closed before this segment began are judged first: an
     * answer in this (late) segment no longer counts. */
    coaching_judge_objections(co, ctx, m, ts->start_ms, false, false);
    coaching_judge_context(co, ctx, m, c, ts->start_ms, false, false);

    struct meeting_seg seg = {
        .speaker_id = ts->speaker_id,
        .role = ts->speaker_role,
        .start_ms = ts->start_ms,
        .end_ms = ts->end_ms,
        .norm = norm,
        .phase = ts->phase,
    };
    struct meeting_delta d;
    meeting_apply(&m->mm, &seg, &co->lx, &d);

    if (ts->speaker_role == ROLE_REP) {
        rep_answers(m, co, &h);
        rep_context(co, m, c, &h, ev);
        m->mm.product_focus += h.product;
        m->mm.customer_focus += h.customer;
        if (h.product)
            coaching_judge_self_focus(co, ctx, m, ts->text);
        coaching_judge_monologue(co, ctx, m, &d, ts->text);
    } else if (ts->speaker_role == ROLE_CUSTOMER) {
        customer_objections(co, m, &h, ts);
    }
    competitors(co, ctx, m, c, &h, ts);
    if (d.discovery_ended)
        coaching_judge_discovery(co, ctx, m, ts->text, false, false);

    if (ts->is_final) {
        close_meeting(co, ctx, mkey, m, "final", false);
        return 0;
    }
    ctx_state_dirty(ctx, mkey);
    idle_touch(co, mkey, ev->src.partition);
    return 0;
}

static int co_handle(void *inst, struct proc_ctx *ctx, const struct event *ev)
{
    struct coaching *co = inst;
    char ckey[CO_KEY_MAX];

    if (!ev->customer_id || !ev->customer_id[0] ||
        coaching_make_key(ckey, sizeof(ckey), ev->customer_id, NULL) != 0) {
        ctx_fail(ctx, "coaching: missing or oversized customer_id");
        return -1;
    }
    switch (ev->kind) {
    case EVENT_TRANSCRIPT: return handle_segment(co, ctx, ev, ckey);
    case EVENT_IOT: return coaching_handle_iot(co, ctx, ev, ckey);
    case EVENT_ANNOTATION: return coaching_handle_annotation(co, ctx, ev, ckey);
    case EVENT_REGISTRY: return coaching_handle_registry(co, ctx, ev, ckey);
    default: return 0;
    }
}

/* ------------------------------------------------------------------ */
/* Timer: idle meetings                                                 */
/* ------------------------------------------------------------------ */

struct keylist {
    char **v;
    size_t n, cap;
};

static void keylist_add(struct keylist *kl, const char *key)
{
    if (kl->n == kl->cap) {
        kl->cap = kl->cap ? kl->cap * 2 : 16;
        kl->v = realloc(kl->v, kl->cap * sizeof(char *));
        if (!kl->v)
            abort();
    }
    kl->v[kl->n++] = statecodec_strdup(key);
}

static void keylist_free(struct keylist *kl)
{
    for (size_t i = 0; i < kl->n; i++)
        free(kl->v[i]);
    free(kl->v);
}

static int collect_meeting_key(void *arg, const char *key)
{
    if (coaching_type_of_key(key) == CO_MEETING)
        keylist_add(arg, key);
    return 0;
}

struct tick {
    int64_t now;
    int64_t idle_ms;
    struct keylist idle;
};

static int tick_entry(void *arg, const char *key, void *val)
{
    struct tick *t = arg;
    struct co_idle *e = val;
    if (e->touched) {
        e->touched = false;
        e->last_seen = t->now;
    } else if (t->now - e->last_seen >= t->idle_ms) {
        keylist_add(&t->idle, key);
    }
    return 0;
}

/* Whether the meeting's partition is this instance's now: another owner
 * closes it otherwise, and this copy is stale (issue 26). A meeting with
 * no provenance (none is written without one) counts as owned. */
static bool meeting_owned(const struct proc_ctx *ctx,
                          const struct co_meeting *m)
{
    return !m->last_topic || ctx_owns(ctx, m->last_topic, m->last_partition);
}

static void co_on_timer(void *inst, struct proc_ctx *ctx, int64_t now_ms)
{
    struct coaching *co = inst;
    struct tick t = {.now = now_ms, .idle_ms = co->cfg->idle_timeout_ms};

    hmap_each(co->idle, tick_entry, &t);
    for (size_t i = 0; i < t.idle.n; i++) {
        struct co_obj *o = ctx_state_find(ctx, t.idle.v[i]);
        if (!o || o->type != CO_MEETING || !o->u.m.meeting_id ||
            !meeting_owned(ctx, &o->u.m)) {
            free(hmap_del(co->idle, t.idle.v[i]));
            continue;
        }
        close_meeting(co, ctx, t.idle.v[i], &o->u.m, "idle", true);
    }
    keylist_free(&t.idle);
}

static bool in_parts(const int32_t *parts, size_t n, int32_t p)
{
    for (size_t i = 0; i < n; i++)
        if (parts[i] == p)
            return true;
    return false;
}

struct leaving {
    const int32_t *parts;
    size_t n;
    struct keylist keys;
};

static int collect_leaving(void *arg, const char *key, void *val)
{
    struct leaving *l = arg;
    const struct co_idle *e = val;
    if (e->partition >= 0 && in_parts(l->parts, l->n, e->partition))
        keylist_add(&l->keys, key);
    return 0;
}

/* Partitions that leave take their meetings out of the idle index: their
 * next owner closes them. Arriving ones bring their open meetings from
 * the store (every meeting there is open: closed ones are deleted), each
 * last seen at the next tick; one without provenance has no partition and
 * is indexed by whichever instance meets it (none is written without). */
static void co_on_partitions(void *inst, struct proc_ctx *ctx,
                             const int32_t *parts, size_t n, bool assigned)
{
    struct coaching *co = inst;
    if (!assigned) {
        struct leaving l = {.parts = parts, .n = n};
        hmap_each(co->idle, collect_leaving, &l);
        for (size_t i = 0; i < l.keys.n; i++)
            free(hmap_del(co->idle, l.keys.v[i]));
        if (l.keys.n)
            LOG_INF("coaching", "%zu open meetings left with %zu partitions",
                    l.keys.n, n);
        keylist_free(&l.keys);
        return;
    }
    struct keylist kl = {0};
    size_t added = 0;
    ctx_state_foreach(ctx, collect_meeting_key, &kl);
    for (size_t i = 0; i < kl.n; i++) {
        const struct co_obj *o = ctx_state_find(ctx, kl.v[i]);
        if (!o || o->type != CO_MEETING || !o->u.m.meeting_id ||
            hmap_get(co->idle, kl.v[i]))
            continue;
        int32_t p = o->u.m.last_topic ? o->u.m.last_partition : -1;
        if (p >= 0 && !in_parts(parts, n, p))
            continue; /* another partition's: owned elsewhere or indexed */
        idle_touch(co, kl.v[i], p);
        added++;
    }
    keylist_free(&kl);
    if (added)
        LOG_INF("coaching", "%zu open meetings arrived with %zu partitions",
                added, n);
}

/* Whether coaching_handle_iot() keeps anything of an alert of this type. */
static bool iot_linked(const struct coaching *co, const char *alert_type)
{
    const struct co_link *lk = co->cfg->context_links.items;
    for (size_t i = 0; i < co->cfg->context_links.n; i++)
        for (size_t k = 0; k < lk[i].iot_alert_types.n; k++)
            if (strcmp(lk[i].iot_alert_types.v[k], alert_type) == 0)
                return true;
    return false;
}

/* See processor_ops.state_keys: coaching_make_key()'s keys, unjoined. An annotation
 * reaches the context only if its text matches, which only the scan in
 * handle() tells, so it names none. */
static size_t co_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    const struct coaching *co = inst;
    if (!max || !ev->customer_id || !ev->customer_id[0])
        return 0;
    const struct state_key ctx_key = {{ev->customer_id, CO_CTX_SUFFIX}};
    switch (ev->kind) {
    case EVENT_TRANSCRIPT: {
        const char *meeting = ev->u.transcript.meeting_id;
        if (max < 2 || !meeting || !meeting[0])
            return 0;
        out[0] = ctx_key;
        out[1] = (struct state_key){{ev->customer_id, CO_MEETING_INFIX, meeting}};
        return 2;
    }
    case EVENT_IOT:
        if (!ev->u.iot.alert_type || !iot_linked(co, ev->u.iot.alert_type))
            return 0;
        out[0] = ctx_key;
        return 1;
    case EVENT_REGISTRY:
        if (!coaching_competitor_change(&ev->u.registry))
            return 0;
        out[0] = ctx_key;
        return 1;
    default:
        return 0;
    }
}

const struct processor_ops processor_coaching = {
    .name = "coaching",
    .description = "Real-time conversation coaching from meeting transcripts",
    .inputs = EVENT_MASK(EVENT_TRANSCRIPT) | EVENT_MASK(EVENT_ANNOTATION) |
              EVENT_MASK(EVENT_IOT) | EVENT_MASK(EVENT_REGISTRY),
    .config = &coaching_config_table,
    .init = co_init,
    .handle = co_handle,
    .on_timer = co_on_timer,
    .on_partitions = co_on_partitions,
    .destroy = co_destroy,
    .state_new = coaching_state_new,
    .state_encode = coaching_state_encode,
    .state_prefetch = coaching_state_prefetch,
    .state_keys = co_state_keys,
    .state_decode = coaching_state_decode,
    .state_free = coaching_state_free,
    .state_to_json = coaching_state_to_json,
    .outputs = ALERT_MASK(ALERT_COACHING) | ALERT_MASK(ALERT_MEETING_SUMMARY),
};
