/*
 * registry.c - every processor the daemon knows, in the order they run on
 * an event.
 */
#include "registry.h"

const struct processor_ops *const registry_processors[] = {
    NULL, /* keeps the array non-empty while none is registered */
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
