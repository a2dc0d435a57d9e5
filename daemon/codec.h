/*
 * codec.h - the Avro C adapter: Confluent framing, schema ids, reader/writer
 * resolution, and the mapping between Avro records and the plain structs of
 * event.h / alert.h.
 *
 * Value framing: byte 0x00, the writer schema id (big-endian int32), then the
 * Avro binary datum. Writer schemas come from config `schemas.ids`; the
 * reader schema of each record type is `<schemas.dir>/<record>.avsc`
 * (transcript_segment.avsc, ...). A writer one version ahead (an extra
 * optional field) or behind (missing a field that has a default in the
 * reader) is resolved. Everything derived from a schema (value interfaces,
 * resolvers) is built once per schema id and cached, never per message.
 */
#ifndef DS_CODEC_H
#define DS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "arena.h"
#include "buf.h"
#include "config.h"
#include "event.h"

struct codec;

/* Why a record could not be decoded. `reason` is a short machine-readable
 * class used in DLQ headers; `message` a readable explanation. */
struct codec_error {
    const char *reason; /* "empty_value", "bad_magic", "truncated_header",
                         * "unknown_schema_id", "wrong_record_type",
                         * "decode_failed", "invalid_utf8", "missing_key",
                         * "key_mismatch", "invalid_field", "encode_failed" */
    char message[256];
};

/* Loads and compiles every schema. 0 and *out, or -1 with a message. */
int codec_open(const struct config_schemas *schemas, struct codec **out,
               char *err, size_t errlen);
void codec_free(struct codec *c); /* accepts NULL */

/*
 * Decodes one input record of the kind its topic carries. The key must be
 * present, valid UTF-8 and equal to the record's customer_id. Strings go into
 * `a`. 0, or -1 with err filled; on error *ev is unspecified and must not
 * reach a processor.
 */
int codec_decode_event(struct codec *c, enum event_kind kind, const void *key,
                       size_t klen, const void *val, size_t vlen,
                       struct arena *a, struct event *ev,
                       struct codec_error *err);

/* Encodes an alert (framed, with the current writer id of its record) into
 * out (reset first). 0, or -1 with err. */
int codec_encode_alert(struct codec *c, const struct alert *al, struct buf *out,
                       struct codec_error *err);

/* Tools: one JSON object (a line of `produce` input) to a framed datum of
 * `record` ("TranscriptSegment", ...) with its current writer id. Missing
 * optional fields take their defaults; enum symbols and unions are written
 * naturally ("phase": "closing" or null). 0, or -1 with a message naming the
 * offending field. */
int codec_json_to_avro(struct codec *c, const char *record, const char *json,
                       struct buf *out, char *err, size_t errlen);

/* Tools: any framed datum (any known writer id) to one JSON line. */
int codec_avro_to_json(struct codec *c, const void *val, size_t vlen,
                       struct buf *out, char *err, size_t errlen);

/* The record name each topic role carries: "TranscriptSegment", ... */
const char *codec_record_of_alert(enum alert_kind k);

/* Current writer id of a record name, or -1. */
int32_t codec_writer_id(const struct codec *c, const char *record);

#endif
