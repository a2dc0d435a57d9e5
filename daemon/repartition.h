/*
 * repartition.h - a processor's intermediate records on their way to the
 * key that owns them.
 *
 * State keyed by something other than the customer (a rep, a team, an
 * entity) must live with the partition of that key. A processor hands such
 * records to ctx_repartition() with their new key; the runtime produces
 * them to `<group_id>-<processor>-repartition`, which has the inputs'
 * partition count, and consumes that topic like any input, so offsets,
 * restore and the batch commit treat it the same way. Only that processor
 * reads it (EVENT_REPARTITION).
 *
 * A value is this module's framing around the processor's bytes: a magic
 * byte, the origin (topic, partition, offset, sequence number), the event
 * id and time of the record that caused it, then the payload.
 */
#ifndef DS_REPARTITION_H
#define DS_REPARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "event.h"

/* The topic of processor `proc` in consumer group `group`, into out (NUL
 * terminated); 0, or -1 when it does not fit. */
int repartition_topic(const char *group, const char *proc, char *out,
                      size_t n);

/* Frames payload for the repartition topic into out (reset first). */
void repartition_encode(struct buf *out, const struct event_source *origin,
                        uint32_t seq, const char *event_id,
                        int64_t event_time, const void *payload,
                        size_t len);

/*
 * Reads a repartition message into ev (kind EVENT_REPARTITION): the key
 * becomes ev->key, strings and the payload are copied into `a`. 0, or -1
 * with a reason in err (the record then goes to the DLQ).
 */
int repartition_decode(const void *key, size_t klen, const void *val,
                       size_t vlen, struct arena *a, struct event *ev,
                       char *err, size_t errlen);

#endif
