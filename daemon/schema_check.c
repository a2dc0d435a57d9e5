/*
 * schema_check.c - the schemas the enabled processors need (schema_check.h).
 */
#include "schema_check.h"

#include <stdio.h>

#include "alert.h"
#include "records.h"

int schema_check_processors(const struct codec *c, const struct config *cfg,
                            const struct processor_ops *const *procs,
                            size_t n_procs,
                            void (*warn)(void *arg, const char *msg),
                            void *warn_arg, char *err, size_t errlen)
{
    uint32_t read = processor_read_mask(cfg, procs, n_procs);
    for (size_t i = 0; i < n_procs; i++) {
        if (!cfg->plugin_enabled[i])
            continue;
        const struct processor_ops *p = procs[i];
        uint32_t outputs = p->outputs_of && cfg->plugin_cfg
                               ? p->outputs_of(cfg->plugin_cfg[i])
                               : p->outputs;
        for (int k = 0; k < ALERT_KIND_COUNT; k++) {
            if (!(outputs & ALERT_MASK(k)) ||
                codec_writes(c, (enum alert_kind)k))
                continue;
            const struct record_def *r = records_of_alert(k);
            snprintf(err, errlen, "processor %s writes topics.%s, but "
                     "schemas.ids names no writer for %s (%s.avsc in "
                     "schemas.dir)", p->name, r->topic_key, r->record,
                     r->schema);
            return -1;
        }
    }
    for (int k = 0; warn && k < EVENT_KIND_COUNT; k++) {
        if (!(read & EVENT_MASK(k)) || codec_reads(c, (enum event_kind)k))
            continue;
        const struct record_def *r = records_of_event(k);
        char msg[512];
        snprintf(msg, sizeof(msg), "topics.%s is read, but schemas.ids names "
                 "no writer for %s (%s.avsc): its records go to the DLQ as "
                 "unknown_schema_id unless the schema registry knows their "
                 "id; add the id to read them", r->topic_key, r->record,
                 r->schema);
        warn(warn_arg, msg);
    }
    return 0;
}
