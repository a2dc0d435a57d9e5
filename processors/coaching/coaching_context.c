/*
 * coaching_context.c - a customer's context for coaching: open issues from
 * IoT alerts and documents, competitors linked in the registry, pruned by
 * the customer's event time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coaching.h"
#include "strjoin.h"

int coaching_make_key(char *out, size_t n, const char *customer,
                      const char *meeting)
{
    if (!customer)
        customer = "(null)"; /* what snprintf's %s made of it */
    size_t w = meeting ? strjoin3(out, n, customer, CO_MEETING_INFIX, meeting)
                       : strjoin2(out, n, customer, CO_CTX_SUFFIX);
    return w >= n ? -1 : 0;
}

static void context_prune(struct coaching *co, struct co_context *c)
{
    int64_t lookback = co->cfg->rules.context.lookback_ms;
    for (size_t i = 0; i < c->n_issues;) {
        if (c->issues[i].at < c->newest - lookback) {
            coaching_issue_free(&c->issues[i]);
            memmove(&c->issues[i], &c->issues[i + 1],
                    (c->n_issues - i - 1) * sizeof(c->issues[0]));
            c->n_issues--;
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < c->n_closed;) {
        if (c->closed[i].at < c->newest - co->cfg->closed_ttl_ms) {
            coaching_named_free(&c->closed[i]);
            memmove(&c->closed[i], &c->closed[i + 1],
                    (c->n_closed - i - 1) * sizeof(c->closed[0]));
            c->n_closed--;
        } else {
            i++;
        }
    }
}

static bool context_empty(const struct co_context *c)
{
    return c->n_issues == 0 && c->n_comps == 0 && c->n_closed == 0;
}

void coaching_context_seen(struct co_context *c, int64_t t)
{
    if (t > c->newest)
        c->newest = t;
}

/* Adds or refreshes an open issue; the oldest goes when full. Takes
 * ownership of `text` (already capped). */
static void context_add_issue(struct co_context *c, const char *link,
                              const char *kind, const char *ref, int64_t at,
                              char *text)
{
    for (size_t i = 0; i < c->n_issues; i++) {
        struct co_issue *is = &c->issues[i];
        if (strcmp(is->link, link) == 0 && strcmp(is->kind, kind) == 0 &&
            strcmp(is->ref ? is->ref : "", ref ? ref : "") == 0) {
            if (at >= is->at) {
                is->at = at;
                free(is->text);
                is->text = text;
            } else {
                free(text);
            }
            return;
        }
    }
    if (c->n_issues == CO_MAX_ISSUES) {
        size_t old = 0;
        for (size_t i = 1; i < c->n_issues; i++)
            if (c->issues[i].at < c->issues[old].at)
                old = i;
        coaching_issue_free(&c->issues[old]);
        c->issues[old] = c->issues[--c->n_issues];
    }
    CO_ROOM(c, issues, CO_MAX_ISSUES);
    c->issues[c->n_issues++] = (struct co_issue){
        .link = statecodec_strdup(link),
        .kind = statecodec_strdup(kind),
        .ref = statecodec_strdup(ref),
        .at = at,
        .text = text,
    };
}

void coaching_ctx_save(struct coaching *co, struct proc_ctx *ctx,
                       const char *key, struct co_context *c)
{
    context_prune(co, c);
    if (context_empty(c))
        ctx_state_delete(ctx, key);
    else
        ctx_state_dirty(ctx, key);
}

int coaching_handle_iot(struct coaching *co, struct proc_ctx *ctx,
                        const struct event *ev, const char *key)
{
    const struct iot_alert *ia = &ev->u.iot;
    const struct co_link *lk = co->cfg->context_links.items;
    struct co_obj *o = NULL;

    for (size_t i = 0; i < co->cfg->context_links.n; i++) {
        for (size_t k = 0; k < lk[i].iot_alert_types.n; k++) {
            if (strcmp(lk[i].iot_alert_types.v[k], ia->alert_type) != 0)
                continue;
            if (!o)
                o = ctx_state(ctx, key, NULL);
            coaching_context_seen(&o->u.c, ev->event_time);
            context_add_issue(&o->u.c, lk[i].name, "iot", ia->device_id,
                              ev->event_time,
                              coaching_fmt_evidence("%s %s on %s (count %d)",
                                                    iot_severity_name(ia->severity),
                                                    ia->alert_type, ia->device_id,
                                                    (int)ia->count));
            break;
        }
    }
    if (o)
        coaching_ctx_save(co, ctx, key, &o->u.c);
    return 0;
}

int coaching_handle_annotation(struct coaching *co, struct proc_ctx *ctx,
                               const struct event *ev, const char *key)
{
    const struct doc_annotation *da = &ev->u.annotation;
    const struct co_link *lk = co->cfg->context_links.items;
    struct co_hits h;
    struct co_obj *o = NULL;

    if (coaching_scan_text(co, da->text, &h) != 0) {
        ctx_fail(ctx, "coaching: keyword scan failed");
        return -1;
    }
    for (size_t i = 0; i < co->cfg->context_links.n; i++) {
        if (!(h.doc_keyword & (1u << i)))
            continue;
        bool type_ok = lk[i].doc_types.n == 0;
        for (size_t k = 0; k < lk[i].doc_types.n && !type_ok; k++)
            type_ok = strcmp(lk[i].doc_types.v[k],
                             doc_type_name(da->doc_type)) == 0;
        if (!type_ok)
            continue;
        if (!o)
            o = ctx_state(ctx, key, NULL);
        coaching_context_seen(&o->u.c, ev->event_time);
        context_add_issue(&o->u.c, lk[i].name, "doc", da->document_id,
                          ev->event_time,
                          coaching_fmt_evidence("%s: %s", doc_type_name(da->doc_type),
                                                da->text));
    }
    if (o)
        coaching_ctx_save(co, ctx, key, &o->u.c);
    return 0;
}

/* The registry changes the context keeps: competitors linked or unlinked. */
bool coaching_competitor_change(const struct registry_change *rc)
{
    return rc->entity_type == ENTITY_COMPETITOR &&
           (rc->change_type == CHANGE_COMPETITOR_LINKED ||
            rc->change_type == CHANGE_RELATION_REMOVED);
}

int coaching_handle_registry(struct coaching *co, struct proc_ctx *ctx,
                             const struct event *ev, const char *key)
{
    const struct registry_change *rc = &ev->u.registry;
    struct co_obj *o;

    if (!coaching_competitor_change(rc))
        return 0;
    o = rc->change_type == CHANGE_COMPETITOR_LINKED ? ctx_state(ctx, key, NULL)
                                                    : ctx_state_find(ctx, key);
    if (!o)
        return 0;
    struct co_context *c = &o->u.c;
    coaching_context_seen(c, ev->event_time);
    size_t i = 0;
    while (i < c->n_comps && strcmp(c->comps[i].id, rc->entity_id) != 0)
        i++;
    if (rc->change_type == CHANGE_RELATION_REMOVED) {
        if (i < c->n_comps) {
            coaching_named_free(&c->comps[i]);
            c->comps[i] = c->comps[--c->n_comps];
        }
    } else {
        const char *name = rc->entity_name ? rc->entity_name : rc->entity_id;
        if (i == c->n_comps) {
            if (c->n_comps == CO_MAX_CTX_COMPETITORS) {
                size_t old = 0;
                for (size_t k = 1; k < c->n_comps; k++)
                    if (c->comps[k].at < c->comps[old].at)
                        old = k;
                coaching_named_free(&c->comps[old]);
                c->comps[old] = c->comps[--c->n_comps];
                i = c->n_comps;
            }
            CO_ROOM(c, comps, CO_MAX_CTX_COMPETITORS);
            c->comps[i].id = statecodec_strdup(rc->entity_id);
            c->comps[i].name = NULL;
            c->n_comps++;
        }
        coaching_set_str(&c->comps[i].name, name);
        c->comps[i].at = ev->event_time;
    }
    coaching_ctx_save(co, ctx, key, c);
    return 0;
}

/* An issue of `link` with event time in [now - lookback, not_after]. */
bool coaching_issue_open(const struct coaching *co,
                         const struct co_context *c, const char *link,
                         int64_t now, int64_t not_after, const char **text)
{
    int64_t lookback = co->cfg->rules.context.lookback_ms;
    for (size_t i = 0; c && i < c->n_issues; i++)
        if (strcmp(c->issues[i].link, link) == 0 &&
            c->issues[i].at >= now - lookback &&
            c->issues[i].at <= not_after) {
            *text = c->issues[i].text;
            return true;
        }
    return false;
}
