/*
 * team_activity.c - opportunity updates and wins per sales team, the first
 * processor whose state is keyed by something other than the customer.
 *
 * An OpportunityUpdate arrives keyed by its customer; the rep's team is in
 * ref.reps, keyed by rep, and the count belongs to the team. So it takes
 * two hops through the repartition topic (repartition.h): the update goes
 * to its rep's partition ('O'), where ref.reps has put the rep's team, and
 * from there to the team's partition ('T'), where it is counted. Each hop
 * remembers per origin partition the last record it applied
 * (repmarks_apply), so a record re-sent after a crash counts once.
 * ref.reps and the repartition topic are not ordered against each other:
 * updates of a rep not named yet wait in the rep's state, summed, and go
 * on when the assignment arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "team_activity.h"

enum { TA_TO_REP = 'O', TA_TO_TEAM = 'T' };

struct ta_inst {
    const struct ta_config *cfg;
    struct buf out; /* a record being sent */
};

static int ta_init(const void *cfg, void **inst, char *err, size_t errlen)
{
    struct ta_inst *ta = calloc(1, sizeof(*ta));
    if (!ta) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ta->cfg = cfg;
    buf_init(&ta->out);
    *inst = ta;
    return 0;
}

static void ta_destroy(void *inst)
{
    struct ta_inst *ta = inst;
    if (!ta)
        return;
    buf_free(&ta->out);
    free(ta);
}

static int state_key(char *out, size_t n, const char *id, const char *suffix)
{
    int w = snprintf(out, n, "%s%s", id, suffix);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

static bool is_won(const struct ta_config *cfg, const char *stage)
{
    for (size_t i = 0; stage && i < cfg->won_stages.n; i++)
        if (strcmp(cfg->won_stages.v[i], stage) == 0)
            return true;
    return false;
}

static int send(struct proc_ctx *ctx, const char *key, const struct buf *b)
{
    if (ctx_repartition(ctx, key, b->data, b->len) != 0) {
        ctx_fail(ctx, "cannot send to the repartition topic");
        return -1;
    }
    return 0;
}

/* Customer partition: the update goes to its rep. */
static int to_rep(struct ta_inst *ta, struct proc_ctx *ctx, const struct event *ev)
{
    const struct opportunity_update *up = &ev->u.opportunity;
    if (!up->rep_id || !*up->rep_id)
        return 0;
    bool won = is_won(ta->cfg, up->stage_to);
    struct ta_counts c = {1, won, won && up->has_amount ? up->amount : 0};
    buf_reset(&ta->out);
    buf_put_u8(&ta->out, TA_TO_REP);
    team_activity_counts_put(&c, &ta->out);
    return send(ctx, up->rep_id, &ta->out);
}

/* Rep partition: counts go on to the rep's team. */
static int to_team(struct ta_inst *ta, struct proc_ctx *ctx, const char *team,
                   const struct ta_counts *c)
{
    buf_reset(&ta->out);
    buf_put_u8(&ta->out, TA_TO_TEAM);
    team_activity_counts_put(c, &ta->out);
    return send(ctx, team, &ta->out);
}

static void add(struct ta_counts *to, const struct ta_counts *c)
{
    to->updates += c->updates;
    to->won += c->won;
    to->won_amount += c->won_amount;
}

static struct ta_obj *rep_state(struct proc_ctx *ctx, const char *rep, char *key,
                                size_t n)
{
    if (state_key(key, n, rep, TA_REP_SUFFIX) != 0) {
        ctx_fail(ctx, "rep id too long");
        return NULL;
    }
    return ctx_state(ctx, key, NULL);
}

/* Rep partition: ref.reps names the rep's team; the latest assignment by
 * event time holds. Updates that waited for it go on now. */
static int assign(struct ta_inst *ta, struct proc_ctx *ctx, const struct event *ev)
{
    const struct rep_assignment *ra = &ev->u.rep;
    char key[512];
    struct ta_obj *o = rep_state(ctx, ev->key, key, sizeof(key));
    if (!o)
        return -1;
    struct ta_rep *rep = &o->u.rep;
    if (rep->team_id && ev->event_time < rep->assigned_at)
        return 0; /* an older assignment arriving late */
    free(rep->team_id);
    free(rep->name);
    rep->team_id = statecodec_strdup(ra->team_id);
    rep->name = statecodec_strdup(ra->name);
    rep->assigned_at = ev->event_time;
    ctx_state_dirty(ctx, key);
    if (!rep->pending.updates)
        return 0;
    struct ta_counts c = rep->pending;
    rep->pending = (struct ta_counts){0};
    return to_team(ta, ctx, rep->team_id, &c);
}

/* Rep partition: an update of the rep, on to its team or waiting for it. */
static int at_rep(struct ta_inst *ta, struct proc_ctx *ctx, const struct event *ev,
                  const struct ta_counts *c)
{
    char key[512];
    struct ta_obj *o = rep_state(ctx, ev->key, key, sizeof(key));
    if (!o)
        return -1;
    if (!repmarks_apply(&o->u.rep.marks, &ev->u.repartition))
        return 0; /* a copy re-sent after a crash */
    ctx_state_dirty(ctx, key);
    if (!o->u.rep.team_id) {
        add(&o->u.rep.pending, c);
        return 0;
    }
    return to_team(ta, ctx, o->u.rep.team_id, c);
}

/* Team partition: counted. */
static int at_team(struct proc_ctx *ctx, const struct event *ev,
                   const struct ta_counts *c)
{
    char key[512];
    if (state_key(key, sizeof(key), ev->key, TA_TEAM_SUFFIX) != 0) {
        ctx_fail(ctx, "team id too long");
        return -1;
    }
    struct ta_obj *o = ctx_state(ctx, key, NULL);
    struct ta_team *t = &o->u.team;
    if (!repmarks_apply(&t->marks, &ev->u.repartition))
        return 0;
    add(&t->counts, c);
    if (ev->event_time > t->last_event_time)
        t->last_event_time = ev->event_time;
    ctx_state_dirty(ctx, key);
    return 0;
}

static int ta_handle(void *inst, struct proc_ctx *ctx, const struct event *ev)
{
    struct ta_inst *ta = inst;
    switch (ev->kind) {
    case EVENT_OPPORTUNITY:
        return to_rep(ta, ctx, ev);
    case EVENT_REP_ASSIGNMENT:
        return assign(ta, ctx, ev);
    case EVENT_REPARTITION: {
        struct buf_reader r;
        struct ta_counts c;
        buf_reader_init(&r, ev->u.repartition.data, ev->u.repartition.len);
        uint8_t type = buf_get_u8(&r);
        team_activity_counts_get(&c, &r);
        if (r.err || r.p != r.end || (type != TA_TO_REP && type != TA_TO_TEAM)) {
            ctx_fail(ctx, "not a team_activity record");
            return -1;
        }
        return type == TA_TO_REP ? at_rep(ta, ctx, ev, &c) : at_team(ctx, ev, &c);
    }
    default:
        return 0;
    }
}

/* See processor_ops.state_keys: the rep or the team the event is for. */
static size_t ta_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    (void)inst;
    const char *suffix = NULL;
    if (ev->kind == EVENT_REP_ASSIGNMENT)
        suffix = TA_REP_SUFFIX;
    else if (ev->kind == EVENT_REPARTITION && ev->u.repartition.len)
        suffix = ev->u.repartition.data[0] == TA_TO_REP    ? TA_REP_SUFFIX
                 : ev->u.repartition.data[0] == TA_TO_TEAM ? TA_TEAM_SUFFIX
                                                           : NULL;
    if (!max || !suffix || !ev->key)
        return 0;
    out[0] = (struct state_key){{ev->key, suffix}};
    return 1;
}

const struct processor_ops processor_team_activity = {
    .name = "team_activity",
    .description = "Opportunity updates and wins per sales team, through "
                   "the rep's team in ref.reps",
    .inputs = EVENT_MASK(EVENT_OPPORTUNITY) | EVENT_MASK(EVENT_REP_ASSIGNMENT) |
              EVENT_MASK(EVENT_REPARTITION),
    .config = &team_activity_config_table,
    .init = ta_init,
    .handle = ta_handle,
    .destroy = ta_destroy,
    .state_new = team_activity_state_new,
    .state_encode = team_activity_state_encode,
    .state_decode = team_activity_state_decode,
    .state_free = team_activity_state_free,
    .state_keys = ta_state_keys,
    .state_to_json = team_activity_state_to_json,
};
