/*
 * harness.h - an in-memory runtime for processor unit tests.
 *
 * Real config loading (the processor's YAML section through config_load),
 * the real state store over its in-memory backend, the real context. State
 * is encoded after every event (a batch of one), so encode paths run on
 * every test; harness_restart() drops every decoded object and re-creates
 * the processor, so the next access decodes what was written.
 */
#ifndef DS_HARNESS_H
#define DS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "processor.h"

struct metrics; /* metrics.h */

struct harness;

/* section_yaml: the body of processors.<name>, unindented; "" for defaults.
 * Fails the running cmocka test on config or init errors. */
struct harness *harness_new(const struct processor_ops *ops,
                            const char *section_yaml);
/* 0 if the section is valid, else -1 and every error, one per line. */
int harness_config_check(const struct processor_ops *ops,
                         const char *section_yaml, char *errs, size_t errlen);
void harness_free(struct harness *h);
/* What the processor fed through ctx_observe() (metrics.h), kept across
 * harness_restart() as a process's counters would not be. */
struct metrics *harness_metrics(struct harness *h);
/* The processor's bound config (processors.<name>), as init() got it. */
const void *harness_config(const struct harness *h);

/* Fills ev->src (topic from the kind, partition 0, increasing offset) and
 * returns handle()'s result. */
int harness_feed(struct harness *h, struct event *ev);
void harness_timer(struct harness *h, int64_t now_ms);
/* Shows the processor's on_alert an alert another processor emitted
 * while handling ev (NULL: from a timer; the alert's provenance then set
 * by the caller), stamped as ctx_emit() does; what it repartitions is
 * handed back. handle()'s result on those, 0 without on_alert. */
int harness_observe(struct harness *h, const struct alert *a,
                    const struct event *ev);
/* The partition (0..3) of the events fed from now on; 0 at first. */
void harness_set_partition(struct harness *h, int32_t partition);
/* A rebalance: partition (0..3) is this instance's or not (ctx_owns);
 * every partition is owned at first. Calls processor_ops.on_partitions as
 * the runtime does: before a partition leaves, after it arrives; and with
 * every owned partition after harness_new() and harness_restart(). */
void harness_own(struct harness *h, int32_t partition, bool owned);

/* ctx_watermark() of every partition group from now on: wm (ms), or
 * unknown with has = false (the default, as before anything is applied). */
void harness_set_watermark(struct harness *h, bool has, int64_t wm);

/* ctx_clock_ms() from now on (0: no clock, the default) and
 * ctx_partitions() (0: unknown, the default). */
void harness_set_clock(struct harness *h, int64_t now_ms);
void harness_set_partitions(struct harness *h, int32_t n);

size_t harness_alert_count(const struct harness *h);
/* Deep copy with alert_id computed; valid until clear or free. */
const struct alert *harness_alert(const struct harness *h, size_t i);
void harness_clear_alerts(struct harness *h);

void *harness_state(struct harness *h, const char *key);
char *harness_state_json(struct harness *h, const char *key); /* malloc'd */
void harness_restart(struct harness *h);
/* Records sent with ctx_repartition() so far; harness_feed() hands each
 * back to the processor after the event that sent it. */
size_t harness_repartitioned(const struct harness *h);
/* Hands sent record i back once more, as after a crash; handle()'s result. */
int harness_resend(struct harness *h, size_t i);

#endif
