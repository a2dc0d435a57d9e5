/*
 * provision.h - the configured topics made ready on the cluster before the
 * daemon consumes: created when missing, inputs checked to be
 * co-partitioned.
 */
#ifndef DS_PROVISION_H
#define DS_PROVISION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

/* Returned when the cluster's topics are unfit for the config (missing and
 * not to be created, or inputs with different partition counts). */
enum { PROVISION_REFUSED = -2 };

/* Looks up every configured topic (waiting for an unreachable cluster
 * until *stop), creates the missing ones when `create`, and checks that the
 * input topics have equal partition counts. 0, -1 on a cluster error or a
 * stop, PROVISION_REFUSED; err says why. */
int provision_topics(const struct config *cfg, const char *brokers,
                     bool create, volatile sig_atomic_t *stop, char *err,
                     size_t errlen);

#endif
