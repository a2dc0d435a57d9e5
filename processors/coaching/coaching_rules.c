/*
 * coaching_rules.c - the coaching rules: each judged on a meeting, while it
 * runs or when it ends, and fired as one coaching alert (message, metrics,
 * evidence). coaching.c decides when, from segments and meeting end.
 *   UNANSWERED_OBJECTION  a customer concern from the objection library not
 *                         answered by a rep turn within `window` of meeting
 *                         time; judged on the first segment starting after
 *                         the window, or at meeting end; once per raise,
 *   SELF_FOCUS            rep product-centric phrases > ratio x customer-
 *                         centric ones, after a minimum count,
 *   DISCOVERY_TIME        the discovery phase ended (or the meeting ended in
 *                         or without it) shorter than a threshold,
 *   QUESTIONS             too few rep questions during discovery (judged
 *                         with DISCOVERY_TIME),
 *   MISSED_CONTEXT        the rep raises a topic linked to an open issue of
 *                         the customer (IoT alert, complaining document in
 *                         the last N days) and does not address the issue
 *                         within a window,
 *   MONOLOGUE             a rep turn longer than a threshold (on the spot),
 *   TALK_RATIO            rep share of talk time too high (meeting end),
 *   COMPETITOR_MENTION    the customer names a configured competitor or one
 *                         linked to it in the registry; carries the
 *                         battlecard.
 * Every rule fires at most once per meeting, objections once per raise.
 * Messages use the meeting's language: Chinese when CJK characters make up
 * at least `language_cjk_ratio` of the letters seen so far.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coaching.h"

struct tvar {
    const char *name;
    const char *value;
};

/* Expands {name} placeholders; unknown ones are kept as written. */
static void render(struct buf *out, const char *tpl, const struct tvar *v,
                   size_t n)
{
    buf_reset(out);
    for (const char *p = tpl ? tpl : ""; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        bool done = false;
        for (size_t i = 0; close && i < n && !done; i++) {
            size_t nl = strlen(v[i].name);
            if ((size_t)(close - p - 1) == nl &&
                memcmp(p + 1, v[i].name, nl) == 0) {
                buf_append(out, v[i].value, strlen(v[i].value));
                p = close + 1;
                done = true;
            }
        }
        if (!done)
            buf_append(out, p++, 1);
    }
    buf_put_u8(out, 0);
}

/* Number formatting for templates: integers without decimals. */
static const char *fmt_num(char *b, size_t n, double v)
{
    if (v == (double)(long long)v)
        snprintf(b, n, "%lld", (long long)v);
    else
        snprintf(b, n, "%.1f", v);
    return b;
}

static bool meeting_zh(const struct coaching *co, const struct co_meeting *m)
{
    return meeting_is_chinese(&m->mm, co->cfg->cjk_ratio);
}

/* What one rule emission needs besides the rule itself. */
struct co_fire {
    enum coaching_category cat;
    const char *discriminator; /* for the dedup key; may be NULL */
    const struct tvar *vars;
    size_t n_vars;
    const struct metric *metrics;
    size_t n_metrics;
    const char *const *evidence;
    size_t n_evidence;
};

void coaching_alert_from_last(struct alert *a, const struct co_meeting *m)
{
    a->trigger_event_id = m->last_event_id;
    a->src.topic = m->last_topic;
    a->src.partition = m->last_partition;
    a->src.offset = m->last_offset;
    a->event_time = m->last_event_time;
}

/* Emits one coaching alert for meeting `m`. `from_timer`: no current event,
 * so the provenance is the meeting's last segment. */
static void fire(struct coaching *co, struct proc_ctx *ctx,
                 struct co_meeting *m, const struct co_rule *rule,
                 const struct co_fire *f, bool from_timer)
{
    struct buf msg;
    struct alert a;

    buf_init(&msg);
    render(&msg, meeting_zh(co, m) ? rule->message_zh : rule->message_en,
           f->vars, f->n_vars);
    char dk[CO_KEY_MAX];
    snprintf(dk, sizeof(dk), "%s|%s|%s", rule->id, m->meeting_id,
             f->discriminator ? f->discriminator : "");
    memset(&a, 0, sizeof(a));
    a.kind = ALERT_COACHING;
    a.customer_id = m->customer_id;
    a.dedup_key = dk;
    a.u.coaching = (struct coaching_alert){
        .rep_id = m->rep_id,
        .meeting_id = m->meeting_id,
        .rule = rule->id,
        .category = f->cat,
        .severity = (enum alert_severity)rule->severity,
        .message = (const char *)msg.data,
        .metrics = f->metrics,
        .n_metrics = f->n_metrics,
        .evidence = f->evidence,
        .n_evidence = f->n_evidence,
    };
    if (from_timer)
        coaching_alert_from_last(&a, m);
    ctx_emit(ctx, &a);
    m->fired |= 1u << f->cat;
    buf_free(&msg);
}

static bool can_fire(const struct co_meeting *m, const struct co_rule *r,
                     enum coaching_category cat)
{
    return r->enabled && !(m->fired & (1u << cat));
}

const struct co_objection *
coaching_find_objection(const struct co_config *cfg, const char *name,
                        size_t *idx)
{
    const struct co_objection *o = cfg->objections.items;
    for (size_t i = 0; i < cfg->objections.n; i++)
        if (strcmp(o[i].name, name) == 0) {
            if (idx)
                *idx = i;
            return &o[i];
        }
    return NULL;
}

static const struct co_link *find_link(const struct co_config *cfg,
                                       const char *name, size_t *idx)
{
    const struct co_link *l = cfg->context_links.items;
    for (size_t i = 0; i < cfg->context_links.n; i++)
        if (strcmp(l[i].name, name) == 0) {
            if (idx)
                *idx = i;
            return &l[i];
        }
    return NULL;
}

/* "a / b / c" from the first few entries of a list; an entry that does not
 * fit whole is left out, so the text stays valid UTF-8. */
static void join_list(char *out, size_t n, const struct cfg_strlist *l,
                      size_t max)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->n && i < max; i++) {
        size_t need = strlen(l->v[i]) + (i ? 3 : 0);
        if (o + need >= n)
            break;
        snprintf(out + o, n - o, "%s%s", i ? " / " : "", l->v[i]);
        o += need;
    }
}

static void fire_objection(struct coaching *co, struct proc_ctx *ctx,
                           struct co_meeting *m, const struct co_pending *p,
                           int64_t now_ms, bool from_timer)
{
    const struct co_r_objection *r = &co->cfg->rules.objection;
    const struct co_objection *o =
        coaching_find_objection(co->cfg, p->name, NULL);
    char answers[256], win[32], disc[128];
    const char *label = o && o->phrases.n ? o->phrases.v[0] : p->name;

    if (!r->r.enabled)
        return;
    if (o)
        join_list(answers, sizeof(answers), &o->answers, 3);
    else
        answers[0] = '\0';
    fmt_num(win, sizeof(win), (double)r->window_ms / 1000.0);
    struct tvar vars[] = {{"objection", label}, {"answers", answers},
                          {"window_s", win}};
    m->mm.objections_unanswered++;
    struct metric met[] = {
        {"window_s", (double)r->window_ms / 1000.0},
        {"elapsed_s", (double)(now_ms - p->raised_ms) / 1000.0},
        {"objections_raised", m->mm.objections_raised},
        {"objections_unanswered", m->mm.objections_unanswered},
    };
    const char *ev[] = {p->evidence ? p->evidence : ""};
    snprintf(disc, sizeof(disc), "%s#%u", p->name, p->raise_no);
    struct co_fire f = {CAT_UNANSWERED_OBJECTION, disc, vars, 3, met, 4, ev,
                        1};
    fire(co, ctx, m, &r->r, &f, from_timer);
    /* Per raise, not per meeting: clear the once-per-meeting bit. */
    m->fired &= ~(1u << CAT_UNANSWERED_OBJECTION);
}

void coaching_pending_remove(struct co_meeting *m, size_t i)
{
    free(m->pend[i].name);
    free(m->pend[i].evidence);
    memmove(&m->pend[i], &m->pend[i + 1],
            (m->n_pend - i - 1) * sizeof(m->pend[0]));
    m->n_pend--;
}

/* Objections whose window closed before `now_ms` (meeting time); all of them
 * when `all` (meeting end). */
void coaching_judge_objections(struct coaching *co, struct proc_ctx *ctx,
                               struct co_meeting *m, int64_t now_ms, bool all,
                               bool from_timer)
{
    int64_t win = co->cfg->rules.objection.window_ms;
    for (size_t i = 0; i < m->n_pend;) {
        if (all || now_ms > m->pend[i].raised_ms + win) {
            fire_objection(co, ctx, m, &m->pend[i],
                           all ? m->mm.last_end_ms : now_ms, from_timer);
            coaching_pending_remove(m, i);
        } else {
            i++;
        }
    }
}

/* MISSED_CONTEXT once a raised topic's window has passed unaddressed. A
 * topic raised before its issue was known (the IoT alert or document
 * applied after the segment, though earlier in event time) looks the
 * issue up again here, in the customer's context `c` (may be NULL): an
 * issue at or before the raise, within the lookback, counts. */
void coaching_judge_context(struct coaching *co, struct proc_ctx *ctx,
                            struct co_meeting *m, const struct co_context *c,
                            int64_t now_ms, bool all, bool from_timer)
{
    const struct co_r_context *r = &co->cfg->rules.context;
    if (!can_fire(m, &r->r, CAT_MISSED_CONTEXT))
        return;
    for (size_t i = 0; i < m->n_topics; i++) {
        struct co_topic *t = &m->topics[i];
        if (t->topic_ms < 0 || t->addressed)
            continue;
        if (!all && now_ms <= t->topic_ms + r->window_ms)
            continue;
        const char *known = t->issue;
        if (!known) {
            int64_t at = t->raised_at >= 0 ? t->raised_at : m->last_event_time;
            if (!coaching_issue_open(co, c, t->name, at, at, &known))
                continue; /* no issue (yet): a late one may still come */
        }
        const struct co_link *l = find_link(co->cfg, t->name, NULL);
        bool zh = meeting_zh(co, m);
        const char *topic = l && l->topics.n ? l->topics.v[0] : t->name;
        if (l)
            for (size_t k = 0; k < l->topics.n; k++) {
                /* The topic in the meeting's own language when possible. */
                uint64_t cjk = 0, lat = 0;
                meeting_count_script(l->topics.v[k], &cjk, &lat);
                if ((zh && cjk) || (!zh && !cjk)) {
                    topic = l->topics.v[k];
                    break;
                }
            }
        const char *issue = l ? (zh ? l->issue_zh : l->issue_en) : "";
        if (!issue || !issue[0])
            issue = known;
        struct tvar vars[] = {{"topic", topic}, {"issue", issue}};
        struct metric met[] = {
            {"window_s", (double)r->window_ms / 1000.0},
            {"elapsed_s", (double)(now_ms - t->topic_ms) / 1000.0},
        };
        const char *ev[] = {t->evidence ? t->evidence : "", known};
        struct co_fire f = {CAT_MISSED_CONTEXT, t->name, vars, 2, met, 2, ev,
                            2};
        fire(co, ctx, m, &r->r, &f, from_timer);
        return; /* once per meeting */
    }
}

/* DISCOVERY_TIME and QUESTIONS, when discovery ends or the meeting does. */
void coaching_judge_discovery(struct coaching *co, struct proc_ctx *ctx,
                              struct co_meeting *m, const char *evidence,
                              bool at_end, bool from_timer)
{
    const struct co_rules *rs = &co->cfg->rules;
    const struct meeting_metrics *mm = &m->mm;
    int64_t disc = meeting_discovery_ms(mm);
    bool judge = mm->discovery_seen ||
                 (at_end && mm->any_phase && rs->discovery.fire_if_skipped);
    char a[32], b[32];

    if (!judge)
        return;
    if (can_fire(m, &rs->discovery.r, CAT_DISCOVERY_TIME) &&
        disc < rs->discovery.min_ms) {
        struct tvar vars[] = {
            {"discovery_min", fmt_num(a, sizeof(a), (double)(disc / 6000) / 10.0)},
            {"min_min", fmt_num(b, sizeof(b),
                                (double)(rs->discovery.min_ms / 6000) / 10.0)},
        };
        struct metric met[] = {
            {"discovery_s", (double)disc / 1000.0},
            {"threshold_s", (double)rs->discovery.min_ms / 1000.0},
            {"discovery_questions", mm->rep_questions_discovery},
        };
        const char *ev[] = {evidence ? evidence : ""};
        struct co_fire f = {CAT_DISCOVERY_TIME, NULL, vars, 2, met, 3, ev,
                            evidence ? 1 : 0};
        fire(co, ctx, m, &rs->discovery.r, &f, from_timer);
    }
    if (mm->discovery_seen &&
        can_fire(m, &rs->questions.r, CAT_QUESTIONS) &&
        mm->rep_questions_discovery < (uint64_t)rs->questions.min_questions) {
        struct tvar vars[] = {
            {"questions", fmt_num(a, sizeof(a), mm->rep_questions_discovery)},
            {"min", fmt_num(b, sizeof(b), (double)rs->questions.min_questions)},
        };
        struct metric met[] = {
            {"discovery_questions", mm->rep_questions_discovery},
            {"min_questions", (double)rs->questions.min_questions},
            {"discovery_s", (double)disc / 1000.0},
        };
        struct co_fire f = {CAT_QUESTIONS, NULL, vars, 2, met, 3, NULL, 0};
        fire(co, ctx, m, &rs->questions.r, &f, from_timer);
    }
}

void coaching_judge_self_focus(struct coaching *co, struct proc_ctx *ctx,
                               struct co_meeting *m, const char *evidence)
{
    const struct co_r_self_focus *r = &co->cfg->rules.self_focus;
    const struct meeting_metrics *mm = &m->mm;
    char a[32], b[32], c[32];
    if (!can_fire(m, &r->r, CAT_SELF_FOCUS) ||
        mm->product_focus < (uint64_t)r->min_count ||
        (double)mm->product_focus <= r->ratio * (double)mm->customer_focus)
        return;
    struct tvar vars[] = {
        {"product", fmt_num(a, sizeof(a), mm->product_focus)},
        {"customer", fmt_num(b, sizeof(b), mm->customer_focus)},
        {"ratio", fmt_num(c, sizeof(c), r->ratio)},
    };
    struct metric met[] = {
        {"product_focus", mm->product_focus},
        {"customer_focus", mm->customer_focus},
        {"ratio", mm->customer_focus
                      ? (double)mm->product_focus / mm->customer_focus
                      : (double)mm->product_focus},
        {"threshold_ratio", r->ratio},
    };
    const char *ev[] = {evidence};
    struct co_fire f = {CAT_SELF_FOCUS, NULL, vars, 3, met, 4, ev, 1};
    fire(co, ctx, m, &r->r, &f, false);
}

void coaching_judge_monologue(struct coaching *co, struct proc_ctx *ctx,
                              struct co_meeting *m,
                              const struct meeting_delta *d,
                              const char *evidence)
{
    const struct co_r_monologue *r = &co->cfg->rules.monologue;
    char a[32], b[32];
    if (!can_fire(m, &r->r, CAT_MONOLOGUE) || d->turn_role != ROLE_REP ||
        d->turn_ms <= r->max_ms)
        return;
    struct tvar vars[] = {
        {"monologue_s", fmt_num(a, sizeof(a), (double)(d->turn_ms / 1000))},
        {"max_s", fmt_num(b, sizeof(b), (double)(r->max_ms / 1000))},
    };
    struct metric met[] = {
        {"monologue_s", (double)d->turn_ms / 1000.0},
        {"threshold_s", (double)r->max_ms / 1000.0},
    };
    const char *ev[] = {evidence};
    struct co_fire f = {CAT_MONOLOGUE, NULL, vars, 2, met, 2, ev, 1};
    fire(co, ctx, m, &r->r, &f, false);
}

void coaching_judge_talk_ratio(struct coaching *co, struct proc_ctx *ctx,
                               struct co_meeting *m, bool from_timer)
{
    const struct co_r_talk *r = &co->cfg->rules.talk;
    const struct meeting_metrics *mm = &m->mm;
    double share = meeting_rep_share(mm);
    char a[32], b[32];
    if (!can_fire(m, &r->r, CAT_TALK_RATIO) ||
        meeting_total_talk_ms(mm) < r->min_talk_ms || share <= r->max_share)
        return;
    struct tvar vars[] = {
        {"share", fmt_num(a, sizeof(a), (double)(long long)(share * 100 + 0.5))},
        {"max", fmt_num(b, sizeof(b),
                        (double)(long long)(r->max_share * 100 + 0.5))},
    };
    struct metric met[] = {
        {"talk_ratio", share},
        {"threshold", r->max_share},
        {"rep_talk_s", (double)mm->talk_ms[ROLE_REP] / 1000.0},
        {"customer_talk_s", (double)mm->talk_ms[ROLE_CUSTOMER] / 1000.0},
    };
    struct co_fire f = {CAT_TALK_RATIO, NULL, vars, 2, met, 4, NULL, 0};
    fire(co, ctx, m, &r->r, &f, from_timer);
}

static const char *battlecard_for(const struct coaching *co,
                                  const struct co_competitor *c, bool zh)
{
    if (!c)
        return co->cfg->rules.competitor.default_battlecard;
    if (zh && c->battlecard_zh && c->battlecard_zh[0])
        return c->battlecard_zh;
    if (c->battlecard && c->battlecard[0])
        return c->battlecard;
    return co->cfg->rules.competitor.default_battlecard;
}

void coaching_fire_competitor(struct coaching *co, struct proc_ctx *ctx,
                              struct co_meeting *m, const char *name,
                              const struct co_competitor *c,
                              const char *evidence)
{
    const struct co_r_competitor *r = &co->cfg->rules.competitor;
    if (!can_fire(m, &r->r, CAT_COMPETITOR_MENTION))
        return;
    const char *card = battlecard_for(co, c, meeting_zh(co, m));
    struct tvar vars[] = {{"competitor", name}, {"battlecard", card}};
    struct metric met[] = {
        {"competitor_mentions", m->mm.competitor_mentions},
    };
    const char *ev[] = {evidence, card};
    struct co_fire f = {CAT_COMPETITOR_MENTION, name, vars, 2, met, 1, ev, 2};
    fire(co, ctx, m, &r->r, &f, false);
}
