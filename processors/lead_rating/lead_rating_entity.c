/*
 * lead_rating_entity.c - a signal the propagation processor sent to this
 * customer (entity_signal.h; lead_rating reads those records through
 * processor_ops.repartition_from) onto the customer's graph: the signal
 * "entity.<TYPE>.<change>" (amount 1) on the entity's node, linked again
 * with the relation that linked it if the graph pruned it. It then reaches
 * the score like any neighbour's signal, through the edge weight and
 * hop_decay, and may re-rate the customer. Unconfigured signal types are
 * ignored. The ext object's marks make a copy re-sent after a crash apply
 * once.
 */
#include <stdio.h>

#include "entity_signal.h"
#include "lead_rating.h"

int lead_rating_entity_deliver(const struct graph_params *p, struct graph *g,
                               struct lr_ext *x, const struct event *ev)
{
    const struct repartition_record *rr = &ev->u.repartition;
    struct entity_signal s;
    char signal[192];

    if (entity_signal_decode(rr->data, rr->len, &s) != 0)
        return -1;
    int rc = 1;
    if (!repmarks_apply(&x->marks, rr))
        goto out;
    rc = 0;
    enum entity_type et = (enum entity_type)s.entity_type;
    snprintf(signal, sizeof(signal), "entity.%s.%s", entity_type_name(et),
             s.change);
    if (!graph_spec_find(p, signal))
        goto out;
    enum graph_node_type nt = graph_node_type_of_entity(et);
    struct graph_node *n = graph_node_find(g, nt, s.entity_id);
    if (!n)
        n = graph_link(g, p, nt, s.entity_id, s.relation, ev->event_time);
    graph_signal_add(g, p, n, signal, 1, ev->event_time);
out:
    entity_signal_clear(&s);
    return rc;
}
