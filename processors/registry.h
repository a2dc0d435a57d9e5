/*
 * registry.h - the one static list of processors. Adding a processor is
 * one file in processors/ plus one line in registry.c.
 */
#ifndef DS_REGISTRY_H
#define DS_REGISTRY_H

#include <stddef.h>

#include "config.h"
#include "processor.h"

extern const struct processor_ops *const registry_processors[];
extern const size_t registry_count;

/* The processors' config sections, for config_load() and the docs. Static
 * storage; registry_count entries. */
const struct config_plugin *registry_plugins(void);

#endif
