/*
 * codec_impl.h - what the codec's files share; nothing outside the codec
 * includes it. codec.c opens and looks up, codec_datum.c walks a binary
 * datum (and frames messages), codec_decode.c fills struct event,
 * codec_encode.c writes alerts, codec_json.c serves the tools.
 */
#ifndef DS_CODEC_IMPL_H
#define DS_CODEC_IMPL_H

#include <avro.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

#define CODEC_MAX_DEPTH 32
#define CODEC_MAX_SCHEMA_BYTES (1 << 20)

/* ------------------------------------------------------------------------
 * The records: the rows of records.h that carry Avro, inputs in enum
 * event_kind order, then outputs in enum alert_kind order.
 */

enum {
    REC_INPUTS = EVENT_KIND_COUNT,
    REC_COUNT = EVENT_KIND_COUNT + ALERT_KIND_COUNT
};

#define CODEC_NAMESPACE "dealstream"

/* A reader default, converted once for the field's kind. */
struct fdefault {
    bool present;
    const char *s; /* FIELD_STR / FIELD_OPT_STR (NULL: null); owned by the json */
    int64_t i;     /* FIELD_INT / FIELD_LONG / FIELD_OPT_LONG / FIELD_ENUM */
    double d;      /* FIELD_DOUBLE / FIELD_OPT_DOUBLE */
    bool b;        /* FIELD_BOOL; FIELD_OPT_DOUBLE / FIELD_OPT_LONG: has a value */
};

struct record {
    char fullname[64]; /* dealstream.TranscriptSegment */
    char *path;        /* realpath of the reader .avsc */
    json_t *json;      /* the reader schema as JSON: defaults */
    avro_schema_t schema;
    struct fdefault *defaults; /* inputs: one per records_table field */
    int key_field;             /* inputs: the field the message key equals */
    int current;               /* index into codec.ws, -1 before resolved */
};

/* Writer enum index -> reader enum index, by symbol name. */
struct enum_map {
    avro_schema_t wenum;
    int *to_reader; /* -1: symbol unknown to the reader */
    int n;
};

/* One top-level field of a writer schema that equals its reader's. */
struct direct_field {
    const char *name;         /* the schema's; for error paths */
    avro_schema_t sc;         /* links skipped */
    const struct record_field *spec; /* what struct event takes from it; NULL: none */
    int *enum_val;            /* FIELD_ENUM: the C value per symbol index,
                               * ENUM_UNHANDLED when the parser lacks it */
};

#define ENUM_UNHANDLED INT_MIN

/* A field of an alert schema that no alert fills. */
struct other_field {
    int index;
    const json_t *def; /* its default, in the schema's JSON */
};

struct wschema {
    int32_t id;
    char *path;
    json_t *json;
    avro_schema_t schema;
    char fullname[128];
    int rec; /* index into codec.rec, -1: none of ours */
    avro_value_iface_t *iface;
    avro_value_t value; /* reused by encode and json_to_avro */
    /* Input records only: reading into the reader schema. */
    avro_schema_t eff; /* the reader minus the fields this writer lacks */
    avro_value_iface_t *reader_iface;
    avro_value_t reader_value;
    avro_value_iface_t *resolver;
    avro_value_t resolved; /* a writer-shaped view writing into reader_value */
    unsigned decodes;      /* since `resolved` was made; see fresh_resolved() */
    int *field_idx;        /* per records_table field: index in eff, -1: default */
    struct enum_map *enums;
    size_t n_enums;
    /* Writer = reader (no resolver): per writer field, how the walk stores
     * it in struct event itself. NULL with a resolver. */
    struct direct_field *direct;
    size_t n_direct;
    /* The current writer of an alert record: laid out as alert_layouts[]
     * says, encoded straight into bytes (alert_write); NULL: through the
     * generic value, where `others`, the fields no alert fills, take the
     * defaults the schema gives them. */
    struct alert_plan *plan;
    struct other_field *others;
    size_t n_others;
};

struct codec {
    bool generic; /* codec_set_generic(): no direct walks */
    struct record rec[REC_COUNT];
    struct wschema *ws; /* sorted by id */
    size_t n_ws;
    /* Writers learnt after opening (codec_add_writer: a schema registry),
     * each allocated on its own so that pointers to them stay valid. */
    struct wschema **extra;
    size_t n_extra;
    avro_writer_t writer; /* reused by every encode */
};

struct alert_plan; /* codec_encode.c */

/* ------------------------------------------------------------------------
 * codec.c: small helpers
 */

void codec_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void codec_cerr(struct codec_error *e, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
 * Returns true, or false with the offset of the first bad byte. */
bool codec_utf8_valid(const uint8_t *s, size_t n, size_t *bad);
avro_schema_t codec_skip_links(avro_schema_t s);
/* Whether s is a two-branch union of null and t. */
bool codec_is_opt_of(avro_schema_t s, avro_type_t t);
void codec_schema_fullname(avro_schema_t s, char *out, size_t n);
/* Index of a record name (short or with the namespace) among ours, or -1. */
int codec_find_record(const char *name);
struct wschema *codec_find_ws(const struct codec *c, int32_t id);
/* A field of a record's .avsc JSON, or NULL. */
const json_t *codec_json_field(const json_t *rec_json, const char *name);

/* ------------------------------------------------------------------------
 * codec_datum.c: the datum walk and the framing
 */

struct scan {
    const uint8_t *p, *end;
    struct arena *arena;       /* string copies, when feeding a value */
    const struct wschema *w;   /* enum maps, when feeding a value */
    struct buf *json;          /* JSON sink, or NULL */
    const char *path[CODEC_MAX_DEPTH + 1];
    int depth;
    bool hard;                 /* structure broken: stop */
    bool bad_utf8, bad_field;  /* first content errors, walk goes on */
    char hard_msg[256];
    char utf8_msg[256];
    char field_msg[256];
};

enum scan_err { SCAN_HARD, SCAN_UTF8, SCAN_FIELD };

/* Records the first error of each kind. Structural errors end the walk: the
 * callers return SCAN_HARD_FAIL(); content errors let it go on, so that a
 * later structural error still wins (decode_failed before invalid_utf8). */
void codec_scan_fail(struct scan *s, enum scan_err kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define SCAN_HARD_FAIL(s, ...) (codec_scan_fail((s), SCAN_HARD, __VA_ARGS__), -1)

static inline size_t codec_scan_left(const struct scan *s) { return (size_t)(s->end - s->p); }

int codec_scan_long(struct scan *s, int64_t *out);
int codec_scan_int(struct scan *s, int32_t *out);
int codec_scan_string_bytes(struct scan *s, const char *what, bool want_copy,
                            const char **str, size_t *n);
int codec_scan_double(struct scan *s, double *out);
int codec_scan_bool(struct scan *s, bool *out);
int codec_scan_branch(struct scan *s, avro_schema_t sc, int *out);
int codec_scan_enum_index(struct scan *s, avro_schema_t sc, int *out);
int codec_scan_block_count(struct scan *s, int64_t *out);
/* One value of schema sc: checked, fed to dest and/or the JSON sink. */
int codec_scan_value(struct scan *s, avro_schema_t sc, avro_value_t *dest);
/* Walks the whole datum; on return the scan's flags tell what went wrong. */
void codec_scan_datum(struct scan *s, avro_schema_t sc, avro_value_t *dest);

/* The writer of a framed value, or -1 with err. */
int codec_frame_parse(const struct codec *c, const uint8_t *v, size_t vlen,
                      struct wschema **w, struct codec_error *err);
void codec_frame_header(struct buf *out, int32_t id);
/* Frames value v of writer id into out (reset first); 0 or -1 with msg. */
int codec_frame_value(struct codec *c, int32_t id, avro_value_t *v,
                      struct buf *out, char *msg, size_t msglen);

/* ------------------------------------------------------------------------
 * codec_encode.c / codec_json.c
 */

/* The current writer w of alert kind k ready to be written; 0 or -1. */
int codec_prepare_alert_writer(struct wschema *w, enum alert_kind k,
                               char *err, size_t errlen);

struct jfill {
    const json_t *schema_json; /* the .avsc, for record defaults */
    char path[256];
    size_t plen;
    char *err;
    size_t errlen;
};

/* Fills v (schema s) from JSON js; 0, or -1 with j->err naming the field. */
int codec_jf_value(struct jfill *j, avro_value_t *v, avro_schema_t s,
                   const json_t *js);

#endif
