/*
 * propagation_config.c - processors.propagation. Off by default: it reads
 * ref.entity-events and needs its repartition topic.
 */
#include "propagation.h"

static const struct config_key pg_keys[] = {
    CFG_KEY_RANGE(struct pg_config, max_fanout, "max_fanout", CFG_INT, "1000",
                  1, 10000000,
                  "Linked customers one entity event reaches, in customer id "
                  "order; an event with more is counted in the entity's "
                  "fanout_capped (inspect) and the rest do not get it."),
    CFG_KEY_RANGE(struct pg_config, max_links, "max_links", CFG_INT, "100000",
                  1, 10000000,
                  "Customers kept in one entity's index; further links are "
                  "refused and counted (links_refused)."),
    CFG_KEY_RANGE(struct pg_config, history, "history", CFG_INT, "16", 0, 1024,
                  "Delivered signals remembered per customer for inspect "
                  "(the newest)."),
    CFG_KEY(struct pg_config, retroactive, "retroactive", CFG_BOOL, "false",
            "Whether a customer linked after the entity's latest news still "
            "receives that one news when the link arrives."),
};

const struct config_table propagation_config_table = {
    .name = "propagation",
    .keys = pg_keys,
    .n_keys = CFG_COUNT(pg_keys),
    .elem_size = sizeof(struct pg_config),
    .doc = "News about an entity (ref.entity-events) reaching the customers "
           "linked to it by SUPPLIER_LINKED, COMPETITOR_LINKED or "
           "POLICY_LINKED registry changes (RELATION_REMOVED unlinks): the "
           "links go to an index keyed by entity through the repartition "
           "topic, an entity event fans out from there to each linked "
           "customer's partition, where lead_rating adds "
           "entity.<TYPE>.<change> on the entity's node. State: "
           "`inspect --entity <entity_id>` and the customer's inbox.",
    .off_by_default = true,
};
