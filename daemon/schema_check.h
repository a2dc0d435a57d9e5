/*
 * schema_check.h - whether a codec has a schema for every record the
 * enabled processors read and write.
 *
 * An output an enabled processor writes needs a writer id in schemas.ids:
 * without one nothing could be produced, so run, a reload and check-config
 * refuse it alike. An input without a writer id is allowed, as for a
 * config written before the record existed: its records go to the DLQ as
 * unknown_schema_id (or are read with the writer the schema registry
 * names), and each such input is reported through `warn`.
 */
#ifndef DS_SCHEMA_CHECK_H
#define DS_SCHEMA_CHECK_H

#include <stddef.h>

#include "codec.h"
#include "config.h"
#include "processor.h"

/* 0, or -1 with err naming the first output missing and its processor.
 * warn (optional) gets one message per input read without a writer id. */
int schema_check_processors(const struct codec *c, const struct config *cfg,
                            const struct processor_ops *const *procs,
                            size_t n_procs,
                            void (*warn)(void *arg, const char *msg),
                            void *warn_arg, char *err, size_t errlen);

#endif
