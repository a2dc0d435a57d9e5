/*
 * global_table.h - input topics read as global tables (Kafka Streams'
 * GlobalKTable): every instance reads every partition of them, with a
 * consumer of its own that joins no group, to the end before the loop
 * applies any record, then as records arrive. The table keeps the latest
 * record per key (a null value deletes it). It is kept in memory and not
 * changelogged: it restores by re-reading the topic at every start.
 * Processors declare such inputs in processor_ops.global_inputs and read
 * them with ctx_global_foreach() (docs/ARCHITECTURE.md, "Global tables").
 */
#ifndef DS_GLOBAL_TABLE_H
#define DS_GLOBAL_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "config.h"
#include "event.h"

struct global_table;

struct global_table_opts {
    const char *brokers;
    const struct cfg_strmap *properties;
    uint32_t kinds;            /* EVENT_MASK() bits of the global inputs */
    const char *const *topics; /* by event kind */
    int64_t catch_up_ms;       /* at most this long reading to the end */
};

/* Opens the readers and reads every partition to the high watermark it
 * had at the start. 0 and *out, or -1 with a message in err (no reader
 * schema for a kind, the topic unknown). */
int global_table_open(const struct global_table_opts *o, struct codec *codec,
                      struct global_table **out, char *err, size_t errlen);
/* Applies what has arrived, at most max records; returns how many. */
size_t global_table_poll(struct global_table *g, struct codec *codec,
                         size_t max);
/* Calls fn with each row of `kind` decoded (valid during the call), in
 * key order of arrival; fn returns non-zero to stop. */
void global_table_foreach(struct global_table *g, struct codec *codec,
                          enum event_kind kind,
                          int (*fn)(void *arg, const struct event *ev),
                          void *arg);
/* Changes whenever the rows of `kind` do; 0 before any. */
uint64_t global_table_version(const struct global_table *g,
                              enum event_kind kind);
size_t global_table_rows(const struct global_table *g, enum event_kind kind);
void global_table_free(struct global_table *g); /* accepts NULL */

#endif
