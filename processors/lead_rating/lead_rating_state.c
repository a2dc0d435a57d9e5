/*
 * lead_rating_state.c - a customer's graph as the processor's state object:
 * graph.c encodes and decodes it; this checks it belongs to the key and
 * prints it for `inspect`.
 */
#include <stdlib.h>
#include <string.h>

#include "lead_rating.h"

/* The kind of a state object: every one starts with an int naming it. */
static int obj_kind(const void *st) { return *(const int *)st; }

static bool has_suffix(const char *key, const char *suffix)
{
    size_t n = strlen(key), s = strlen(suffix);
    return n > s && strcmp(key + n - s, suffix) == 0;
}

void *lead_rating_state_new(const char *key)
{
    if (has_suffix(key, LR_EXT_SUFFIX))
        return lead_rating_ext_new();
    if (has_suffix(key, LR_SVC_SUFFIX))
        return lead_rating_svc_new();
    return graph_new(key);
}

void lead_rating_state_encode(const void *st, struct buf *out)
{
    switch (obj_kind(st)) {
    case LR_OBJ_EXT: lead_rating_ext_encode(st, out); break;
    case LR_OBJ_SVC: lead_rating_svc_encode(st, out); break;
    default: graph_encode(st, out); break;
    }
}

int lead_rating_state_decode(const char *key, const uint8_t *data, size_t len,
                             void **st)
{
    if (has_suffix(key, LR_EXT_SUFFIX))
        return lead_rating_ext_decode(data, len, (struct lr_ext **)st);
    if (has_suffix(key, LR_SVC_SUFFIX))
        return lead_rating_svc_decode(data, len, (struct lr_svc **)st);
    struct graph *g = NULL;
    if (graph_decode(data, len, &g) != 0)
        return -1;
    /* Bytes of another customer. */
    if (!sstr_eq(&g->nodes[0].id, key, strlen(key))) {
        graph_free(g);
        return -1;
    }
    *st = g;
    return 0;
}

void lead_rating_state_free(void *st)
{
    if (!st)
        return;
    switch (obj_kind(st)) {
    case LR_OBJ_EXT: lead_rating_ext_free(st); break;
    case LR_OBJ_SVC: lead_rating_svc_free(st); break;
    default: graph_free(st); break;
    }
}

void lead_rating_state_prefetch(const void *st, int depth)
{
    if (obj_kind(st) == LR_OBJ_GRAPH)
        graph_prefetch(st, depth);
}

void lead_rating_state_to_json(const void *st, struct jw *w)
{
    if (obj_kind(st) == LR_OBJ_EXT) {
        lead_rating_ext_to_json(st, w);
        return;
    }
    if (obj_kind(st) == LR_OBJ_SVC) {
        lead_rating_svc_to_json(st, w);
        return;
    }
    const struct graph *g = st;
    jw_obj_begin(w, NULL);
    jw_str(w, "customer_id", sstr_str(&g->nodes[0].id));
    if (g->has_now)
        jw_int(w, "now", g->now);
    else
        jw_null(w, "now");
    jw_int(w, "events", (int64_t)g->n_events);
    jw_str(w, "tier", graph_tier_name(g->tier));
    jw_bool(w, "rated", g->rated);
    jw_double(w, "score", g->score);
    jw_double(w, "fit", g->fit);
    jw_double(w, "intent", g->intent);

    jw_arr_begin(w, "nodes");
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct graph_node *n = &g->nodes[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "type", graph_node_type_name(n->type));
        jw_str(w, "id", sstr_str(&n->id));
        jw_arr_begin(w, "signals");
        for (size_t j = 0; j < n->n_signals; j++) {
            const struct graph_signal *s = &n->signals[j];
            jw_obj_begin(w, NULL);
            jw_str(w, "type", sstr_str(&s->type));
            jw_double(w, "value_now", s->value_now);
            jw_double(w, "contribution", graph_contribution(g, i, j));
            jw_double(w, "value", s->value);
            jw_int(w, "ref", s->ref);
            jw_int(w, "count", (int64_t)s->count);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);

    jw_arr_begin(w, "edges");
    for (size_t i = 1; i < g->n_nodes; i++) {
        const struct graph_node *n = &g->nodes[i];
        jw_obj_begin(w, NULL);
        jw_str(w, "from", sstr_str(&g->nodes[0].id));
        jw_str(w, "to", sstr_str(&n->id));
        jw_str(w, "to_type", graph_node_type_name(n->type));
        jw_str(w, "relation", sstr_str(&n->relation));
        jw_double(w, "weight", n->edge_weight);
        jw_int(w, "time", n->edge_time);
        jw_obj_end(w);
    }
    jw_arr_end(w);

    jw_arr_begin(w, "factors");
    size_t total = graph_signal_count(g);
    struct graph_factor *f = total ? calloc(total, sizeof(*f)) : NULL;
    size_t nf = f ? graph_factors(g, f, total) : 0;
    for (size_t i = 0; i < nf; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "factor", f[i].factor);
        jw_str(w, "node_type", f[i].node_type);
        jw_str(w, "node_id", f[i].node_id);
        jw_double(w, "contribution", f[i].contribution);
        jw_obj_end(w);
    }
    free(f);
    jw_arr_end(w);
    jw_obj_end(w);
}
