/*
 * propagation.c - news about an entity reaching the customers linked to
 * it: Kafka Streams' foreign-key join, through the repartition topic.
 *
 * 1. Customer partition: a RegistryChange SUPPLIER_LINKED,
 *    COMPETITOR_LINKED or POLICY_LINKED (RELATION_REMOVED) of a company,
 *    supplier, competitor or policy goes to the entity's partition as a
 *    link (unlink) record.
 * 2. Entity partition: the index "<entity>/entity" holds the linked
 *    customers, sorted by id, at most max_links. An EntityEvent (keyed by
 *    entity_id, so in the same partition as the index) sends a signal
 *    record (entity_signal.h) to each customer linked at or before its
 *    event time, in customer id order, at most max_fanout of them; an event
 *    with more is counted (fanout_capped). Only the latest news is kept:
 *    a customer linked later receives it only with `retroactive`.
 * 3. Customer partition: the signal record reaches lead_rating (its
 *    repartition_from names this processor), which puts
 *    "entity.<TYPE>.<change>" on the entity's node of the customer's graph,
 *    and this processor, which keeps it in the customer's inbox for
 *    inspect.
 * Records to one customer from one entity keep the entity events' order
 * (one origin partition). Each receiver keeps marks per origin partition
 * (repmarks.h), so a record re-sent after a crash applies once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "propagation.h"

struct pg_inst {
    const struct pg_config *cfg;
    struct buf out; /* a record being sent */
};

static int pg_init(const void *cfg, void **inst, char *err, size_t errlen)
{
    struct pg_inst *pg = calloc(1, sizeof(*pg));
    if (!pg) {
        snprintf(err, errlen, "propagation: out of memory");
        return -1;
    }
    pg->cfg = cfg;
    buf_init(&pg->out);
    *inst = pg;
    return 0;
}

static void pg_destroy(void *inst)
{
    struct pg_inst *pg = inst;
    if (!pg)
        return;
    buf_free(&pg->out);
    free(pg);
}

static int send(struct proc_ctx *ctx, const char *key, const struct buf *b)
{
    if (ctx_repartition(ctx, key, b->data, b->len) != 0) {
        ctx_fail(ctx, "propagation: cannot send to the repartition topic");
        return -1;
    }
    return 0;
}

static int obj_key(struct proc_ctx *ctx, const char *id, const char *suffix,
                   char *out, size_t n)
{
    int w = snprintf(out, n, "%s%s", id, suffix);
    if (w < 0 || (size_t)w >= n) {
        ctx_fail(ctx, "propagation: id too long");
        return -1;
    }
    return 0;
}

/* Entity kinds that have news. */
static bool is_news_entity(enum entity_type t)
{
    return t == ENTITY_COMPANY || t == ENTITY_SUPPLIER ||
           t == ENTITY_COMPETITOR || t == ENTITY_POLICY;
}

/* 1. Customer partition: links and unlinks go to the entity. */
static int forward(struct pg_inst *pg, struct proc_ctx *ctx,
                   const struct event *ev)
{
    const struct registry_change *rc = &ev->u.registry;
    uint8_t type;
    switch (rc->change_type) {
    case CHANGE_SUPPLIER_LINKED:
    case CHANGE_COMPETITOR_LINKED:
    case CHANGE_POLICY_LINKED: type = PG_REC_LINK; break;
    case CHANGE_RELATION_REMOVED: type = PG_REC_UNLINK; break;
    default: return 0;
    }
    if (!rc->entity_id || !*rc->entity_id || !is_news_entity(rc->entity_type) ||
        !ev->customer_id || !*ev->customer_id)
        return 0;
    buf_reset(&pg->out);
    buf_put_u8(&pg->out, type);
    buf_put_str(&pg->out, ev->customer_id);
    buf_put_varint(&pg->out, (uint32_t)rc->entity_type);
    buf_put_str(&pg->out, change_type_name(rc->change_type));
    return send(ctx, rc->entity_id, &pg->out);
}

/* Index of customer in e's sorted links, or where it would go. */
static size_t link_find(const struct pg_entity *e, const char *customer,
                        bool *found)
{
    size_t lo = 0, hi = e->n_links;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(e->links[mid].customer_id, customer);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* The signal record of e's news `change` for one link, sent. */
static int send_signal(struct pg_inst *pg, struct proc_ctx *ctx,
                       const struct pg_entity *e, const char *entity,
                       const struct pg_link *l, const char *change,
                       bool has_magnitude, double magnitude)
{
    struct entity_signal s = {
        .entity_id = (char *)entity,
        .entity_type = e->entity_type,
        .change = (char *)change,
        .relation = l->relation,
        .has_magnitude = has_magnitude,
        .magnitude = magnitude,
    };
    entity_signal_encode(&s, &pg->out);
    return send(ctx, l->customer_id, &pg->out);
}

/* 2a. Entity partition: a link or an unlink. */
static int link(struct pg_inst *pg, struct proc_ctx *ctx, const struct event *ev)
{
    const struct repartition_record *rr = &ev->u.repartition;
    struct buf_reader r;
    char key[512];

    buf_reader_init(&r, rr->data, rr->len);
    uint8_t type = buf_get_u8(&r);
    char *customer = statecodec_req_str(&r);
    uint32_t etype = statecodec_u32(&r);
    char *relation = statecodec_req_str(&r);
    int rc = -1;
    if (r.err || r.p != r.end || etype > ENTITY_TENDER || !*customer) {
        ctx_fail(ctx, "propagation: bad link record");
        goto out;
    }
    if (obj_key(ctx, ev->key, PG_ENTITY_SUFFIX, key, sizeof(key)) != 0)
        goto out;
    struct pg_entity *e = ctx_state(ctx, key, NULL);
    rc = 0;
    if (!repmarks_apply(&e->marks, rr))
        goto out; /* a copy re-sent after a crash */
    ctx_state_dirty(ctx, key);
    bool found;
    size_t i = link_find(e, customer, &found);
    if (type == PG_REC_UNLINK) {
        if (found) {
            free(e->links[i].customer_id);
            free(e->links[i].relation);
            memmove(&e->links[i], &e->links[i + 1],
                    (e->n_links - i - 1) * sizeof(e->links[0]));
            e->n_links--;
        }
        goto out;
    }
    e->entity_type = (int)etype;
    if (found) { /* linked again: the latest relation holds */
        free(e->links[i].relation);
        e->links[i].relation = relation;
        relation = NULL;
        if (ev->event_time > e->links[i].linked_at)
            e->links[i].linked_at = ev->event_time;
        goto out;
    }
    if (e->n_links >= (size_t)pg->cfg->max_links) {
        e->links_refused++;
        goto out;
    }
    struct pg_link *v = realloc(e->links, (e->n_links + 1) * sizeof(*v));
    if (!v)
        abort();
    e->links = v;
    memmove(&e->links[i + 1], &e->links[i], (e->n_links - i) * sizeof(*v));
    e->links[i] = (struct pg_link){customer, relation, ev->event_time};
    e->n_links++;
    customer = relation = NULL;
    if (pg->cfg->retroactive && e->last.event_id)
        rc = send_signal(pg, ctx, e, ev->key, &e->links[i], e->last.change,
                         e->last.has_magnitude, e->last.magnitude);
out:
    free(customer);
    free(relation);
    return rc;
}

/* 2b. Entity partition: news fans out to the linked customers. */
static int fan_out(struct pg_inst *pg, struct proc_ctx *ctx,
                   const struct event *ev)
{
    const struct entity_event *ee = &ev->u.entity;
    char key[512];
    if (!ev->key || !*ev->key) {
        ctx_fail(ctx, "propagation: entity event without a key");
        return -1;
    }
    if (!ee->change || !*ee->change) {
        ctx_fail(ctx, "propagation: entity event %s has no change",
                 ev->event_id ? ev->event_id : "?");
        return -1;
    }
    if (obj_key(ctx, ev->key, PG_ENTITY_SUFFIX, key, sizeof(key)) != 0)
        return -1;
    /* No index: nobody is linked, and none is made for it unless a later
     * link is to receive the news. */
    struct pg_entity *e = pg->cfg->retroactive ? ctx_state(ctx, key, NULL)
                                               : ctx_state_find(ctx, key);
    if (!e)
        return 0;
    size_t sent = 0, eligible = 0;
    for (size_t i = 0; i < e->n_links; i++) {
        const struct pg_link *l = &e->links[i];
        if (l->linked_at > ev->event_time)
            continue; /* linked after the news */
        if (eligible++ >= (size_t)pg->cfg->max_fanout)
            continue;
        if (send_signal(pg, ctx, e, ev->key, l, ee->change, ee->has_magnitude,
                        ee->magnitude) != 0)
            return -1;
        sent++;
    }
    e->events++;
    e->delivered += sent;
    if (eligible > sent) {
        e->capped++;
        LOG_RL(LOG_WARN, "propagation",
               "entity %s: news %s reached %zu of %zu linked customers "
               "(propagation.max_fanout)",
               ev->key, ev->event_id ? ev->event_id : "?", sent, eligible);
    }
    if (!e->last.event_id || ev->event_time >= e->last.time) {
        free(e->last.event_id);
        free(e->last.change);
        e->last = (struct pg_news){
            statecodec_strdup(ev->event_id ? ev->event_id : ""),
            statecodec_strdup(ee->change), ee->has_magnitude, ee->magnitude,
            ev->event_time};
    }
    ctx_state_dirty(ctx, key);
    return 0;
}

/* 3. Customer partition: kept in the inbox (lead_rating scores it). */
static int receive(struct pg_inst *pg, struct proc_ctx *ctx,
                   const struct event *ev)
{
    const struct repartition_record *rr = &ev->u.repartition;
    struct entity_signal s;
    char key[512], signal[192];
    if (entity_signal_decode(rr->data, rr->len, &s) != 0) {
        ctx_fail(ctx, "propagation: bad signal record");
        return -1;
    }
    int rc = -1;
    if (obj_key(ctx, ev->key, PG_INBOX_SUFFIX, key, sizeof(key)) != 0)
        goto out;
    struct pg_inbox *in = ctx_state(ctx, key, NULL);
    rc = 0;
    if (!repmarks_apply(&in->marks, rr))
        goto out;
    ctx_state_dirty(ctx, key);
    in->total++;
    size_t max = (size_t)pg->cfg->history;
    if (!max)
        goto out;
    if (in->n == max) {
        struct pg_delivered *d = &in->v[0];
        free(d->entity_id);
        free(d->signal);
        free(d->event_id);
        free(d->relation);
        memmove(&in->v[0], &in->v[1], (in->n - 1) * sizeof(*d));
        in->n--;
    }
    struct pg_delivered *v = realloc(in->v, (in->n + 1) * sizeof(*v));
    if (!v)
        abort();
    in->v = v;
    snprintf(signal, sizeof(signal), "entity.%s.%s",
             entity_type_name((enum entity_type)s.entity_type), s.change);
    v[in->n++] = (struct pg_delivered){
        s.entity_id, statecodec_strdup(signal),
        statecodec_strdup(ev->event_id ? ev->event_id : ""), s.relation,
        ev->event_time, s.has_magnitude ? s.magnitude : 0};
    s.entity_id = s.relation = NULL;
out:
    entity_signal_clear(&s);
    return rc;
}

static int pg_handle(void *inst, struct proc_ctx *ctx, const struct event *ev)
{
    struct pg_inst *pg = inst;
    switch (ev->kind) {
    case EVENT_REGISTRY:
        return forward(pg, ctx, ev);
    case EVENT_ENTITY:
        return fan_out(pg, ctx, ev);
    case EVENT_REPARTITION: {
        uint8_t type = ev->u.repartition.len ? ev->u.repartition.data[0] : 0;
        if (type == PG_REC_LINK || type == PG_REC_UNLINK)
            return link(pg, ctx, ev);
        if (type == PG_REC_SIGNAL)
            return receive(pg, ctx, ev);
        ctx_fail(ctx, "propagation: not a propagation record");
        return -1;
    }
    default:
        return 0;
    }
}

/* See processor_ops.state_keys: the entity's index or the customer's
 * inbox. Entity events name none: without `retroactive` handle() only
 * looks for the index. */
static size_t pg_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    (void)inst;
    if (!max || ev->kind != EVENT_REPARTITION || !ev->key ||
        !ev->u.repartition.len)
        return 0;
    uint8_t type = ev->u.repartition.data[0];
    const char *suffix = type == PG_REC_SIGNAL ? PG_INBOX_SUFFIX
                         : type == PG_REC_LINK || type == PG_REC_UNLINK
                             ? PG_ENTITY_SUFFIX
                             : NULL;
    if (!suffix)
        return 0;
    out[0] = (struct state_key){{ev->key, suffix}};
    return 1;
}

const struct processor_ops processor_propagation = {
    .name = "propagation",
    .description = "News about suppliers, competitors and policies reaching "
                   "the customers linked to them, through an index keyed by "
                   "entity",
    .inputs = EVENT_MASK(EVENT_REGISTRY) | EVENT_MASK(EVENT_ENTITY) |
              EVENT_MASK(EVENT_REPARTITION),
    .config = &propagation_config_table,
    .init = pg_init,
    .handle = pg_handle,
    .destroy = pg_destroy,
    .state_new = propagation_state_new,
    .state_encode = propagation_state_encode,
    .state_decode = propagation_state_decode,
    .state_free = propagation_state_free,
    .state_keys = pg_state_keys,
    .state_to_json = propagation_state_to_json,
};
