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
 *
 * A codec reuses its Avro values between calls: use it from one thread at a
 * time (one codec per consumer thread).
 */
#ifndef DS_CODEC_H
#define DS_CODEC_H

#include <stdbool.h>
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

/* Adds the writer schema `text` (JSON, len bytes) under `id`, one the
 * config does not list (from a schema registry): records framed with it
 * decode from then on. 0, or -1 with a message (unparseable, not ours,
 * id known already). */
int codec_add_writer(struct codec *c, int32_t id, const char *text,
                     size_t len, char *err, size_t errlen);

/*
 * Decodes one input record of the kind its topic carries. The key must be
 * present, valid UTF-8 and equal to the record's customer_id. Strings go into
 * `a` (required) and stay valid until it is reset; ev->src is left as the
 * caller set it. 0, or -1 with err filled; on error *ev is unspecified and
 * must not reach a processor.
 *
 * Checks, in this order, with err->reason: missing_key, invalid_utf8 (key),
 * empty_value, bad_magic, truncated_header, unknown_schema_id,
 * wrong_record_type, decode_failed (truncated datum, trailing bytes, a length
 * beyond the bytes left, a bad union index), invalid_utf8 (any string, map
 * keys included), invalid_field (NUL in a string, enum index out of range,
 * an enum symbol the reader lacks), key_mismatch. err->message names the
 * field: "field 'text': invalid UTF-8 at byte 17".
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
 * `record` ("TranscriptSegment" or "dealstream.TranscriptSegment", ...) with
 * its current writer id, into out (reset first). Missing fields take their
 * schema default; enum symbols and unions are written naturally ("phase":
 * "closing" or null; Avro's {"string": "closing"} is accepted too). Unknown
 * fields are errors. 0, or -1 with a message naming the offending field:
 * "missing required field 'seq'", "field 'reasons[1].contribution': ...". */
int codec_json_to_avro(struct codec *c, const char *record, const char *json,
                       struct buf *out, char *err, size_t errlen);

/* The same, also copying the record's customer_id (the message key) into
 * key (NUL-terminated; an error if it does not fit keylen). */
int codec_json_to_message(struct codec *c, const char *record,
                          const char *json, struct buf *out, char *key,
                          size_t keylen, char *err, size_t errlen);

/* Tools: any framed datum (any known writer id) to one compact JSON object
 * in out (reset first): out->len bytes, followed by a NUL not counted in
 * out->len, no newline. Unions print naturally (null or the value), enums as
 * their symbol. 0, or -1 with a message (nothing in out). */
int codec_avro_to_json(struct codec *c, const void *val, size_t vlen,
                       struct buf *out, char *err, size_t errlen);

/* Whether records of input kind k can be decoded: its reader schema is in
 * schemas.dir and an id in schemas.ids names it. An input without them
 * (one added after the config was written) is not an error until
 * something reads it; its messages go to the DLQ as unknown_schema_id. */
bool codec_reads(const struct codec *c, enum event_kind k);
/* Whether alerts of kind k can be written: a reader file and a writer id. */
bool codec_writes(const struct codec *c, enum alert_kind k);

/* The record name of an alert kind: "LeadRerating", "CoachingAlert",
 * "MeetingSummary"; NULL for an invalid kind. Input records: see
 * event_record_name(). */
const char *codec_record_of_alert(enum alert_kind k);

/* Current writer id of a record name (short or full), or -1: the id in
 * schemas.ids whose file is <schemas.dir>/<record>.avsc. */
int32_t codec_writer_id(const struct codec *c, const char *record);

/* Decodes and encodes through Avro C's generic values even where a direct
 * walk applies (a writer schema equal to the reader's; an alert schema laid
 * out as the shipped one): for the tests that hold the two paths to the
 * same bytes and events. */
void codec_set_generic(struct codec *c, bool generic);

#endif
