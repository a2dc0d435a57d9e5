/*
 * lead_rating_service.c - the service-ticket template (issue 25): repair
 * tickets and downtime piling up on a customer's device line that no open
 * opportunity covers are a sale nobody is making.
 *
 * Tickets are IoT alerts whose alert_type is in service_tickets.
 * ticket_types (and, with parts_orders, parts orders naming a device). A
 * ticket counts on its device's line, named by the latest DEVICE registry
 * change carrying the line_attribute; a device with none is its own line.
 * Opportunity updates say which lines are covered (device_line, open until
 * stage_to is a closed stage) and who the account's rep is (the latest
 * update's rep_id). A ticket that makes min_tickets on its line within
 * window (ending at the ticket's event time), while no opportunity opened
 * by then is open for the line, adds "service.<line>.no_opportunity" on
 * the customer node and emits one CoachingAlert (rule service_ticket,
 * category MISSED_CONTEXT) to the rep. Then the line is quiet for one
 * window of event time: one alert per line and window, its id from the
 * line and the firing ticket's time alone (id_from_state).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lead_rating.h"

#define SVC_RULE "service_ticket"
#define SVC_PARTS_KIND "parts_order"
#define SVC_MAX_TICKETS 64   /* per line: beyond any sane min_tickets */
#define SVC_MAX_DEVICES 1024 /* device -> line mappings per customer */
#define SVC_MAX_OPPS 256     /* opportunities for a line per customer */
#define SVC_MAX_EVIDENCE 8   /* devices named in an alert */
#define DAY_MS 86400000LL

static void *xrealloc(void *p, size_t n, size_t size)
{
    p = realloc(p, (n ? n : 1) * size);
    if (!p)
        abort(); /* as buf.c: nothing useful to do without memory */
    return p;
}

static void replace_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? statecodec_strdup(src) : NULL;
}

static bool in_list(const struct cfg_strlist *l, const char *s, bool nocase)
{
    for (size_t i = 0; s && i < l->n; i++)
        if (nocase ? strcasecmp(l->v[i], s) == 0 : strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static const char *attr_get(const struct registry_change *rc, const char *key)
{
    for (size_t i = 0; key && i < rc->n_attributes; i++)
        if (rc->attributes[i].key && strcmp(rc->attributes[i].key, key) == 0)
            return rc->attributes[i].value;
    return NULL;
}

/* The device a ticket event is about, or NULL when it is no ticket. */
static const char *ticket_device(const struct lr_service_config *sc,
                                 const struct event *ev, const char **kind)
{
    switch (ev->kind) {
    case EVENT_IOT:
        if (!ev->u.iot.device_id || !*ev->u.iot.device_id ||
            !in_list(&sc->ticket_types, ev->u.iot.alert_type, false))
            return NULL;
        *kind = ev->u.iot.alert_type;
        return ev->u.iot.device_id;
    case EVENT_PARTS_ORDER:
        if (!sc->parts_orders || !ev->u.parts.device_id ||
            !*ev->u.parts.device_id)
            return NULL;
        *kind = SVC_PARTS_KIND;
        return ev->u.parts.device_id;
    default:
        return NULL;
    }
}

bool lead_rating_service_wants(const struct lr_config *cfg,
                               const struct event *ev)
{
    const struct lr_service_config *sc = &cfg->service;
    const char *kind;
    if (!sc->enabled)
        return false;
    switch (ev->kind) {
    case EVENT_OPPORTUNITY:
        return true;
    case EVENT_REGISTRY: {
        const struct registry_change *rc = &ev->u.registry;
        if (rc->entity_type != ENTITY_DEVICE || !rc->entity_id)
            return false;
        const char *line = attr_get(rc, sc->line_attribute);
        return rc->change_type == CHANGE_RELATION_REMOVED || (line && *line);
    }
    default:
        return ticket_device(sc, ev, &kind) != NULL;
    }
}

/* ---- devices and opportunities -------------------------------------- */

static struct lr_svc_device *device_find(struct lr_svc *s, const char *device)
{
    for (size_t i = 0; i < s->n_devices; i++)
        if (strcmp(s->devices[i].device, device) == 0)
            return &s->devices[i];
    return NULL;
}

static void apply_registry(const struct lr_service_config *sc, struct lr_svc *s,
                           const struct event *ev)
{
    const struct registry_change *rc = &ev->u.registry;
    struct lr_svc_device *d = device_find(s, rc->entity_id);
    if (d && ev->event_time < d->time)
        return; /* an older change than the one applied */
    if (rc->change_type == CHANGE_RELATION_REMOVED) {
        if (d) {
            free(d->device);
            free(d->line);
            *d = s->devices[--s->n_devices];
        }
        return;
    }
    if (!d) {
        if (s->n_devices >= SVC_MAX_DEVICES) { /* the oldest goes */
            size_t old = 0;
            for (size_t i = 1; i < s->n_devices; i++)
                if (s->devices[i].time < s->devices[old].time)
                    old = i;
            free(s->devices[old].device);
            free(s->devices[old].line);
            s->devices[old] = s->devices[--s->n_devices];
        }
        s->devices = xrealloc(s->devices, s->n_devices + 1, sizeof(*d));
        d = &s->devices[s->n_devices++];
        memset(d, 0, sizeof(*d));
        d->device = statecodec_strdup(rc->entity_id);
    }
    replace_str(&d->line, attr_get(rc, sc->line_attribute));
    d->time = ev->event_time;
}

static void apply_opportunity(const struct lr_service_config *sc,
                              struct lr_svc *s, const struct event *ev)
{
    const struct opportunity_update *ou = &ev->u.opportunity;
    int64_t t = ev->event_time;
    if (ou->rep_id && (!s->rep_id || t >= s->rep_at)) {
        replace_str(&s->rep_id, ou->rep_id);
        s->rep_at = t;
    }
    struct lr_svc_opp *o = NULL;
    for (size_t i = 0; i < s->n_opps && !o; i++)
        if (strcmp(s->opps[i].opportunity, ou->opportunity_id) == 0)
            o = &s->opps[i];
    bool has_line = ou->device_line && *ou->device_line;
    if (o && t < o->time)
        return; /* an older update than the one applied */
    if (!o) {
        /* An opportunity for no line covers none: not kept. */
        if (!has_line)
            return;
        if (s->n_opps >= SVC_MAX_OPPS) { /* the oldest closed, else oldest */
            size_t old = 0;
            for (size_t i = 1; i < s->n_opps; i++) {
                const struct lr_svc_opp *a = &s->opps[i], *b = &s->opps[old];
                if (a->open != b->open ? !a->open : a->time < b->time)
                    old = i;
            }
            free(s->opps[old].opportunity);
            free(s->opps[old].line);
            s->opps[old] = s->opps[--s->n_opps];
        }
        s->opps = xrealloc(s->opps, s->n_opps + 1, sizeof(*o));
        o = &s->opps[s->n_opps++];
        memset(o, 0, sizeof(*o));
        o->opportunity = statecodec_strdup(ou->opportunity_id);
    }
    /* An update without the field keeps the line named before. */
    if (has_line)
        replace_str(&o->line, ou->device_line);
    o->open = !in_list(&sc->closed_stages, ou->stage_to, true);
    o->time = t;
}

static bool line_covered(const struct lr_svc *s, const char *line, int64_t t)
{
    for (size_t i = 0; i < s->n_opps; i++)
        if (s->opps[i].open && s->opps[i].time <= t &&
            strcmp(s->opps[i].line, line) == 0)
            return true;
    return false;
}

/* ---- tickets -------------------------------------------------------- */

static void line_clear(struct lr_svc_line *l)
{
    for (size_t j = 0; j < l->n_tickets; j++) {
        free(l->tickets[j].kind);
        free(l->tickets[j].device);
    }
    free(l->tickets);
    free(l->line);
    free(l->alert_text);
}

/* The line's entry, created (the least recently ticketed dropped at the
 * cap). */
static struct lr_svc_line *line_get(const struct lr_service_config *sc,
                                    struct lr_svc *s, const char *name,
                                    bool by_device)
{
    for (size_t i = 0; i < s->n_lines; i++)
        if (strcmp(s->lines[i].line, name) == 0 &&
            s->lines[i].by_device == by_device)
            return &s->lines[i];
    if (s->n_lines >= (size_t)sc->max_lines) {
        size_t old = 0;
        for (size_t i = 1; i < s->n_lines; i++)
            if (s->lines[i].last < s->lines[old].last)
                old = i;
        line_clear(&s->lines[old]);
        s->lines[old] = s->lines[--s->n_lines];
    }
    s->lines = xrealloc(s->lines, s->n_lines + 1, sizeof(*s->lines));
    struct lr_svc_line *l = &s->lines[s->n_lines++];
    memset(l, 0, sizeof(*l));
    l->line = statecodec_strdup(name);
    l->by_device = by_device;
    return l;
}

/* Inserts a ticket in time order and forgets those a window older than the
 * newest (and the oldest beyond SVC_MAX_TICKETS). */
static void ticket_add(const struct lr_service_config *sc,
                       struct lr_svc_line *l, int64_t t, const char *kind,
                       const char *device)
{
    size_t at = l->n_tickets;
    while (at > 0 && l->tickets[at - 1].time > t)
        at--;
    l->tickets = xrealloc(l->tickets, l->n_tickets + 1, sizeof(*l->tickets));
    memmove(&l->tickets[at + 1], &l->tickets[at],
            (l->n_tickets - at) * sizeof(*l->tickets));
    l->tickets[at] = (struct lr_svc_ticket){t, statecodec_strdup(kind),
                                            statecodec_strdup(device)};
    l->n_tickets++;
    if (t > l->last)
        l->last = t;
    size_t drop = 0;
    while (drop < l->n_tickets &&
           (l->tickets[drop].time <= l->last - sc->window ||
            l->n_tickets - drop > SVC_MAX_TICKETS)) {
        free(l->tickets[drop].kind);
        free(l->tickets[drop].device);
        drop++;
    }
    memmove(l->tickets, &l->tickets[drop],
            (l->n_tickets - drop) * sizeof(*l->tickets));
    l->n_tickets -= drop;
}

/* "2 repair tickets and 1 downtime": counts per kind of the tickets in
 * [from, to] (by kind name, so the text does not depend on arrival). */
static size_t describe(const struct lr_svc_line *l, size_t from, size_t to,
                       char *out, size_t n)
{
    const char *kinds[SVC_MAX_TICKETS];
    size_t counts[SVC_MAX_TICKETS], nk = 0, total = 0, w = 0;
    for (size_t i = from; i < to; i++, total++) {
        size_t k = 0;
        while (k < nk && strcmp(kinds[k], l->tickets[i].kind) != 0)
            k++;
        if (k == nk) {
            size_t at = nk++;
            while (at > 0 && strcmp(kinds[at - 1], l->tickets[i].kind) > 0) {
                kinds[at] = kinds[at - 1];
                counts[at] = counts[at - 1];
                at--;
            }
            kinds[at] = l->tickets[i].kind;
            counts[at] = 0;
            k = at;
        }
        counts[k]++;
    }
    out[0] = '\0';
    for (size_t k = 0; k < nk && w < n; k++) {
        const char *sep = k == 0 ? "" : k + 1 == nk ? " and " : ", ";
        int c = snprintf(out + w, n - w, "%s%zu ", sep, counts[k]);
        w += c > 0 ? (size_t)c : 0;
        for (const char *p = kinds[k]; *p && w + 1 < n; p++)
            out[w++] = *p == '_' ? ' ' : *p;
        if (counts[k] != 1 && w + 1 < n)
            out[w++] = 's';
        out[w < n ? w : n - 1] = '\0';
    }
    return total;
}

static void window_text(int64_t window, char *out, size_t n)
{
    if (window % DAY_MS == 0)
        snprintf(out, n, "%lld days", (long long)(window / DAY_MS));
    else
        snprintf(out, n, "%lld hours", (long long)(window / 3600000));
}

static int fire(const struct lr_config *cfg, const struct graph_params *p,
                struct graph *g, struct lr_svc *s, struct lr_svc_line *l,
                size_t from, size_t to, struct proc_ctx *ctx,
                const struct event *ev)
{
    const struct lr_service_config *sc = &cfg->service;
    char what[256], span[32], msg[512], dedup[320], signal[320];
    size_t total = describe(l, from, to, what, sizeof(what));
    window_text(sc->window, span, sizeof(span));
    snprintf(msg, sizeof(msg), "%s on %s %s in %s; no open opportunity", what,
             l->by_device ? "device" : "line", l->line, span);
    l->alerted = true;
    l->alerted_at = ev->event_time;
    replace_str(&l->alert_text, msg);

    snprintf(signal, sizeof(signal), "service.%s.no_opportunity", l->line);
    if (g && graph_spec_find(p, signal))
        graph_signal_add(g, p, &g->nodes[0], signal, 1, ev->event_time);

    /* The devices behind it, sorted, at most SVC_MAX_EVIDENCE. */
    const char *devices[SVC_MAX_EVIDENCE];
    size_t nd = 0;
    for (size_t i = from; i < to; i++) {
        const char *d = l->tickets[i].device;
        size_t at = 0;
        while (at < nd && strcmp(devices[at], d) < 0)
            at++;
        if ((at < nd && strcmp(devices[at], d) == 0) ||
            at >= SVC_MAX_EVIDENCE)
            continue;
        if (nd == SVC_MAX_EVIDENCE)
            nd--; /* the greatest goes */
        memmove(&devices[at + 1], &devices[at], (nd - at) * sizeof(*devices));
        devices[at] = d;
        nd++;
    }
    struct metric m[] = {
        {"tickets", (double)total},
        {"min_tickets", (double)sc->min_tickets},
        {"window_days", (double)sc->window / DAY_MS},
    };
    snprintf(dedup, sizeof(dedup), SVC_RULE "/%s%s/%lld",
             l->by_device ? "device:" : "", l->line,
             (long long)ev->event_time);
    struct alert a = {
        .kind = ALERT_COACHING,
        .customer_id = ev->customer_id,
        .dedup_key = dedup,
        .id_from_state = true,
        .u.coaching = {
            .rep_id = s->rep_id,
            .rule = SVC_RULE,
            .category = CAT_MISSED_CONTEXT,
            .severity = (enum alert_severity)sc->severity,
            .message = msg,
            .metrics = m,
            .n_metrics = sizeof(m) / sizeof(m[0]),
            .evidence = devices,
            .n_evidence = nd,
        },
    };
    if (ctx_emit(ctx, &a) != 0) {
        ctx_fail(ctx, "lead_rating: could not emit the service-ticket alert "
                      "of %s", ev->customer_id);
        return -1;
    }
    return 0;
}

static int apply_ticket(const struct lr_config *cfg,
                        const struct graph_params *p, struct graph *g,
                        struct lr_svc *s, struct proc_ctx *ctx,
                        const struct event *ev, const char *device,
                        const char *kind)
{
    const struct lr_service_config *sc = &cfg->service;
    int64_t t = ev->event_time;
    const struct lr_svc_device *d = device_find(s, device);
    struct lr_svc_line *l =
        d ? line_get(sc, s, d->line, false) : line_get(sc, s, device, true);
    ticket_add(sc, l, t, kind, device);

    /* The window ending at this ticket: (t - window, t]. */
    size_t from = 0, to = 0;
    while (from < l->n_tickets && l->tickets[from].time <= t - sc->window)
        from++;
    to = from;
    while (to < l->n_tickets && l->tickets[to].time <= t)
        to++;
    if (to - from < (size_t)sc->min_tickets ||
        (l->alerted && t < l->alerted_at + sc->window) ||
        line_covered(s, l->line, t))
        return 0;
    return fire(cfg, p, g, s, l, from, to, ctx, ev);
}

int lead_rating_service_apply(const struct lr_config *cfg,
                              const struct graph_params *p, struct graph *g,
                              struct lr_svc *s, struct proc_ctx *ctx,
                              const struct event *ev)
{
    const char *kind = NULL, *device;
    switch (ev->kind) {
    case EVENT_OPPORTUNITY:
        apply_opportunity(&cfg->service, s, ev);
        return 0;
    case EVENT_REGISTRY:
        apply_registry(&cfg->service, s, ev);
        return 0;
    default:
        device = ticket_device(&cfg->service, ev, &kind);
        return device ? apply_ticket(cfg, p, g, s, ctx, ev, device, kind) : 0;
    }
}

bool lead_rating_service_detail(const struct lr_svc *s, const char *factor,
                                char *out, size_t n)
{
    static const char head[] = "service.", tail[] = ".no_opportunity";
    size_t fl = strlen(factor), hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
    if (!s || fl <= hl + tl || strncmp(factor, head, hl) != 0 ||
        strcmp(factor + fl - tl, tail) != 0)
        return false;
    /* The line alerted latest, when a device and a line share a name. */
    const struct lr_svc_line *best = NULL;
    for (size_t i = 0; i < s->n_lines; i++) {
        const struct lr_svc_line *l = &s->lines[i];
        if (l->alert_text && strlen(l->line) == fl - hl - tl &&
            strncmp(factor + hl, l->line, fl - hl - tl) == 0 &&
            (!best || l->alerted_at > best->alerted_at))
            best = l;
    }
    if (!best)
        return false;
    snprintf(out, n, "%s", best->alert_text);
    return true;
}
