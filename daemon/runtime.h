/*
 * runtime.h - the daemon's loop: consume, decode, route to processors,
 * emit alerts, commit state with the input offsets.
 */
#ifndef DS_RUNTIME_H
#define DS_RUNTIME_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "processor.h"
#include "reload.h"

struct runtime_opts {
    const struct config *cfg;
    const char *brokers; /* the resolved bootstrap servers */
    const struct processor_ops *const *procs;
    size_t n_procs;
    volatile sig_atomic_t *stop; /* set by the signal handler */
    /* For the demo and tests: stop once partitions are assigned and no
     * record has arrived for this long (ms). 0: run until stopped. */
    int64_t exit_when_idle_ms;
    /* For the demo: the consumer group to join instead of kafka.group_id,
     * which still names the repartition and changelog topics. NULL: it. */
    const char *consumer_group;
    /* Optional: where the loop publishes its counters about once a second
     * for the HTTP endpoint (metrics.h). */
    struct metrics_pub *pub;
    /* Optional: set by SIGHUP. The loop clears it and reloads the config
     * from reload_src between two records (reload.h); so does a request
     * in reload_req (POST /-/reload, optional). */
    volatile sig_atomic_t *reload;
    const struct reload_source *reload_src;
    struct reload_req *reload_req;
};

struct runtime_stats {
    uint64_t events;      /* records applied */
    uint64_t dlq;         /* records sent to the DLQ */
    uint64_t alerts;      /* alerts emitted */
    uint64_t commits;     /* batches committed */
    /* Outputs that could not be produced as they were: DLQ records cut to
     * fit, alerts that failed to encode or that Kafka rejected. */
    uint64_t poison_outputs;
};

/* Runs until *stop or idle exit. 0 after a clean shutdown (final batch
 * committed), -1 on a fatal error (message logged); stats filled in both. */
int runtime_run(const struct runtime_opts *o, struct runtime_stats *stats);

#endif
