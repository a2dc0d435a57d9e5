/*
 * registry.c - every processor the daemon knows, in the order they run on
 * an event.
 */
#include "registry.h"

extern const struct processor_ops processor_lead_rating;
extern const struct processor_ops processor_coaching;
extern const struct processor_ops processor_action_units;
extern const struct processor_ops processor_team_activity;
extern const struct processor_ops processor_orchestration;
extern const struct processor_ops processor_propagation;
extern const struct processor_ops processor_attribution;
extern const struct processor_ops processor_digest;

/* NULL-terminated. lead_rating runs first on an event so that the graph it
 * keeps is current when the others look at the same customer. */
const struct processor_ops *const registry_processors[] = {
    &processor_lead_rating,
    &processor_coaching,
    &processor_action_units,
    &processor_team_activity,
    &processor_orchestration,
    &processor_propagation,
    &processor_attribution,
    &processor_digest,
    NULL,
};

const size_t registry_count =
    sizeof(registry_processors) / sizeof(registry_processors[0]) - 1;

const struct config_plugin *registry_plugins(void)
{
    static struct config_plugin plugins[sizeof(registry_processors) /
                                        sizeof(registry_processors[0])];
    for (size_t i = 0; i < registry_count; i++) {
        plugins[i].name = registry_processors[i]->name;
        plugins[i].table = registry_processors[i]->config;
    }
    return plugins;
}
