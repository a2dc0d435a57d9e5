/*
 * attribution_simulate.h - the one entry of the attribution processor
 * the command line calls: `dealstream simulate` (daemon/simulate.c).
 */
#ifndef DS_ATTRIBUTION_SIMULATE_H
#define DS_ATTRIBUTION_SIMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "event.h"

struct state;

/* Prints to `out` (text, or one JSON object when json) what `sig` is
 * expected to do to the stages of the open opportunities in db, read
 * only. `cfg` is the bound processors.attribution section. The past
 * signals are `past` (env.signals, read as the global table) and those
 * the panels in db hold. 0, or -1 with err when the state cannot be read. */
int attribution_simulate(struct state *db, const void *cfg,
                         const struct env_signal *sig,
                         const struct env_signal *const *past, size_t n_past,
                         bool json, FILE *out, char *err, size_t errlen);

#endif
