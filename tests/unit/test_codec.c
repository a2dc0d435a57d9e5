/*
 * test_codec.c - the Avro adapter: JSON -> Avro -> event round trips for every
 * input, alerts encoded and read back, every bad-input class with its reason,
 * reader/writer resolution both ways, and the JSON tools' error messages.
 *
 * Some datums are built by hand with an independent little encoder below, so
 * the decoder is checked against the Avro binary format and not only against
 * its own encoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "buf.h"
#include "codec.h"
#include "tmpdir.h"

#define SCHEMAS DS_SOURCE_DIR "/schemas"
#define FIXTURES DS_SOURCE_DIR "/tests/unit/data/codec"

/* ------------------------------------------------------------------------
 * Fixture: a codec over the real schemas plus test writer versions.
 */

struct fx {
    struct codec *c;
    struct arena *a;
    struct buf b;
    struct event ev;
    struct codec_error e;
};

static struct cfg_kv base_ids[] = {
    {"1", SCHEMAS "/transcript_segment.avsc"},
    {"2", SCHEMAS "/document_annotation.avsc"},
    {"3", SCHEMAS "/iot_alert.avsc"},
    {"4", SCHEMAS "/registry_change.avsc"},
    {"5", SCHEMAS "/opportunity_update.avsc"},
    {"6", SCHEMAS "/lead_rerating.avsc"},
    {"7", SCHEMAS "/coaching_alert.avsc"},
    {"8", SCHEMAS "/meeting_summary.avsc"},
    {"101", FIXTURES "/transcript_segment_v2.avsc"},
    {"102", FIXTURES "/transcript_segment_v0.avsc"},
    {"103", FIXTURES "/transcript_segment_enum_reordered.avsc"},
};

static int open_codec(struct cfg_kv *ids, size_t n, struct codec **c, char *err,
                      size_t errlen)
{
    struct config_schemas sc = {.ids = {.v = ids, .n = n}, .dir = SCHEMAS};
    return codec_open(&sc, c, err, errlen);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[512] = "";
    if (!f)
        return -1;
    if (open_codec(base_ids, sizeof(base_ids) / sizeof(base_ids[0]), &f->c, err,
                   sizeof(err)) != 0) {
        fprintf(stderr, "codec_open: %s\n", err);
        free(f);
        return -1;
    }
    f->a = arena_new(256); /* small: exercises chunk growth */
    buf_init(&f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    codec_free(f->c);
    arena_free(f->a);
    buf_free(&f->b);
    free(f);
    return 0;
}

/* JSON -> framed Avro (current writer id) into f->b; asserts success. */
static void to_avro(struct fx *f, const char *record, const char *json)
{
    char err[256] = "";
    int rc = codec_json_to_avro(f->c, record, json, &f->b, err, sizeof(err));
    if (rc != 0)
        fail_msg("codec_json_to_avro(%s): %s", record, err);
}

static int decode(struct fx *f, enum event_kind k, const char *key,
                  const struct buf *val)
{
    arena_reset(f->a);
    memset(&f->ev, 0, sizeof(f->ev));
    memset(&f->e, 0, sizeof(f->e));
    return codec_decode_event(f->c, k, key, key ? strlen(key) : 0, val->data,
                              val->len, f->a, &f->ev, &f->e);
}

static void expect_error(struct fx *f, enum event_kind k, const char *key,
                         const void *val, size_t vlen, const char *reason,
                         const char *needle)
{
    arena_reset(f->a);
    memset(&f->e, 0, sizeof(f->e));
    int rc = codec_decode_event(f->c, k, key, key ? strlen(key) : 0, val, vlen,
                                f->a, &f->ev, &f->e);
    assert_int_equal(rc, -1);
    assert_non_null(f->e.reason);
    if (strcmp(f->e.reason, reason) != 0)
        fail_msg("expected %s, got %s: %s", reason, f->e.reason, f->e.message);
    if (needle && !strstr(f->e.message, needle))
        fail_msg("message '%s' lacks '%s'", f->e.message, needle);
}

/* ------------------------------------------------------------------------
 * An independent Avro binary encoder for hand-built datums.
 */

static void av_header(struct buf *b, int32_t id)
{
    buf_reset(b);
    uint8_t h[5] = {0, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
                    (uint8_t)id};
    buf_append(b, h, 5);
}
static void av_long(struct buf *b, int64_t v) { buf_put_i64(b, v); }
static void av_bytes(struct buf *b, const char *s, size_t n)
{
    av_long(b, (int64_t)n);
    buf_append(b, s, n);
}
static void av_str(struct buf *b, const char *s) { av_bytes(b, s, strlen(s)); }
static void av_bool(struct buf *b, int v) { buf_put_u8(b, (uint8_t)v); }

/* A RegistryChange (id 4) of customer c1 up to its entity_type. */
static void av_registry_head(struct buf *b, int64_t change_type,
                             int64_t entity_type)
{
    av_header(b, 4);
    av_str(b, "e");
    av_str(b, "c1");
    av_long(b, change_type);
    av_str(b, "x");
    av_long(b, entity_type);
}

enum ts_variant { TS_V1, TS_V2, TS_V0, TS_REORDERED };

/* A TranscriptSegment in the field order of the given writer version;
 * `text` is raw bytes so tests can put invalid UTF-8 in it. */
static void av_transcript(struct buf *b, enum ts_variant v, const char *text,
                          size_t text_len, int64_t role_index)
{
    static const int32_t ids[] = {1, 101, 102, 103};
    av_header(b, ids[v]);
    av_str(b, "ev-1");
    av_str(b, "cust-1");
    av_str(b, "m-1");
    av_str(b, "rep-1");
    av_long(b, 3);          /* seq */
    av_str(b, "spk-2");
    av_long(b, role_index); /* speaker_role */
    av_long(b, 1000);       /* start_ms */
    av_long(b, 4500);       /* end_ms */
    if (v == TS_V2) {       /* sentiment: union branch 1 (double) */
        av_long(b, 1);
        buf_put_double(b, -0.25);
    }
    av_bytes(b, text, text_len);
    if (v != TS_V0) { /* phase: "closing" */
        av_long(b, 1);
        av_str(b, "closing");
    }
    av_bool(b, 1);                /* is_final */
    av_long(b, 1700000000123LL);  /* event_time */
    if (v != TS_V0) {             /* language: null */
        av_long(b, 0);
    }
    if (v == TS_V2) { /* tags: one block of 2, then the end */
        av_long(b, 2);
        av_str(b, "hot");
        av_str(b, "vip");
        av_long(b, 0);
    }
}

/* ------------------------------------------------------------------------
 * Opening
 */

static void test_writer_ids(void **state)
{
    struct fx *f = *state;
    assert_int_equal(codec_writer_id(f->c, "TranscriptSegment"), 1);
    assert_int_equal(codec_writer_id(f->c, "dealstream.OpportunityUpdate"), 5);
    assert_int_equal(codec_writer_id(f->c, "MeetingSummary"), 8);
    assert_int_equal(codec_writer_id(f->c, "NoSuchRecord"), -1);
    assert_string_equal(codec_record_of_alert(ALERT_LEAD_RERATING), "LeadRerating");
    assert_string_equal(codec_record_of_alert(ALERT_COACHING), "CoachingAlert");
    assert_string_equal(codec_record_of_alert(ALERT_MEETING_SUMMARY), "MeetingSummary");
    assert_null(codec_record_of_alert(ALERT_KIND_COUNT));
}

static void test_open_errors(void **state)
{
    (void)state;
    struct codec *c = NULL;
    char err[512];

    /* A record without a current writer id. */
    err[0] = '\0';
    assert_int_equal(open_codec(base_ids, 7, &c, err, sizeof(err)), -1);
    assert_null(c);
    assert_non_null(strstr(err, "meeting_summary.avsc"));

    /* A writer that lacks a field with no default cannot be read. */
    struct cfg_kv ids[9];
    memcpy(ids, base_ids, 8 * sizeof(ids[0]));
    ids[8] = (struct cfg_kv){"104", FIXTURES "/transcript_segment_no_text.avsc"};
    err[0] = '\0';
    assert_int_equal(open_codec(ids, 9, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'text'"));
    assert_non_null(strstr(err, "no default"));

    /* Bad id and missing file. */
    ids[8] = (struct cfg_kv){"x1", FIXTURES "/transcript_segment_v2.avsc"};
    assert_int_equal(open_codec(ids, 9, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "x1"));
    ids[8] = (struct cfg_kv){"9", FIXTURES "/does_not_exist.avsc"};
    assert_int_equal(open_codec(ids, 9, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does_not_exist.avsc"));

    /* The same file under two ids is ambiguous. */
    ids[8] = (struct cfg_kv){"9", SCHEMAS "/iot_alert.avsc"};
    assert_int_equal(open_codec(ids, 9, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "both name"));
    codec_free(NULL);
}

/* ------------------------------------------------------------------------
 * Round trips: JSON -> Avro -> event
 */

static void test_roundtrip_transcript(void **state)
{
    struct fx *f = *state;
    to_avro(f, "TranscriptSegment",
            "{\"event_id\":\"e1\",\"customer_id\":\"c-42\",\"meeting_id\":\"m7\","
            "\"rep_id\":\"r1\",\"seq\":12,\"speaker_id\":\"s2\","
            "\"speaker_role\":\"CUSTOMER\",\"start_ms\":61000,\"end_ms\":65500,"
            "\"text\":\"\xe6\x88\x91\xe4\xbb\xac\xe7\x9a\x84\xe9\xa2\x84\xe7\xae\x97\","
            "\"is_final\":false,\"event_time\":1714000000000,\"language\":\"zh\"}");
    assert_int_equal(f->b.data[0], 0);
    assert_int_equal(f->b.data[4], 1); /* current writer id */
    assert_int_equal(decode(f, EVENT_TRANSCRIPT, "c-42", &f->b), 0);
    const struct transcript_segment *t = &f->ev.u.transcript;
    assert_int_equal(f->ev.kind, EVENT_TRANSCRIPT);
    assert_string_equal(f->ev.event_id, "e1");
    assert_string_equal(f->ev.customer_id, "c-42");
    assert_true(f->ev.event_time == 1714000000000LL);
    assert_string_equal(t->meeting_id, "m7");
    assert_string_equal(t->rep_id, "r1");
    assert_int_equal(t->seq, 12);
    assert_string_equal(t->speaker_id, "s2");
    assert_int_equal(t->speaker_role, ROLE_CUSTOMER);
    assert_true(t->start_ms == 61000 && t->end_ms == 65500);
    assert_string_equal(t->text, "\xe6\x88\x91\xe4\xbb\xac\xe7\x9a\x84\xe9\xa2\x84\xe7\xae\x97");
    assert_null(t->phase); /* absent -> default null */
    assert_false(t->is_final);
}

static void test_roundtrip_annotation(void **state)
{
    struct fx *f = *state;
    to_avro(f, "DocumentAnnotation",
            "{\"event_id\":\"e2\",\"customer_id\":\"c1\",\"rep_id\":\"r9\","
            "\"opportunity_id\":{\"string\":\"opp-3\"},\"document_id\":\"d1\","
            "\"doc_type\":\"VISIT_REPORT\",\"source\":\"OCR_HANDWRITING\","
            "\"author_role\":\"CFO\",\"text\":\"budget frozen until Q3\","
            "\"event_time\":5}");
    assert_int_equal(decode(f, EVENT_ANNOTATION, "c1", &f->b), 0);
    const struct doc_annotation *d = &f->ev.u.annotation;
    assert_string_equal(d->rep_id, "r9");
    assert_string_equal(d->opportunity_id, "opp-3");
    assert_string_equal(d->document_id, "d1");
    assert_int_equal(d->doc_type, DOC_VISIT_REPORT);
    assert_int_equal(d->source, SOURCE_OCR_HANDWRITING);
    assert_string_equal(d->author_role, "CFO");
    assert_string_equal(d->text, "budget frozen until Q3");
    assert_true(f->ev.event_time == 5);
}

static void test_roundtrip_iot(void **state)
{
    struct fx *f = *state;
    to_avro(f, "IotAlert",
            "{\"event_id\":\"e3\",\"customer_id\":\"c1\",\"device_id\":\"pump-1\","
            "\"alert_type\":\"vibration_anomaly\",\"severity\":\"CRITICAL\","
            "\"count\":4,\"value\":7.25,\"event_time\":99}");
    assert_int_equal(decode(f, EVENT_IOT, "c1", &f->b), 0);
    const struct iot_alert *i = &f->ev.u.iot;
    assert_string_equal(i->device_id, "pump-1");
    assert_string_equal(i->alert_type, "vibration_anomaly");
    assert_int_equal(i->severity, IOT_CRITICAL);
    assert_int_equal(i->count, 4);
    assert_true(i->has_value);
    assert_true(i->value == 7.25);

    to_avro(f, "IotAlert",
            "{\"event_id\":\"e4\",\"customer_id\":\"c1\",\"device_id\":\"pump-1\","
            "\"alert_type\":\"downtime\",\"severity\":\"INFO\",\"count\":1,"
            "\"value\":null,\"event_time\":100}");
    assert_int_equal(decode(f, EVENT_IOT, "c1", &f->b), 0);
    assert_false(f->ev.u.iot.has_value);
    assert_int_equal(f->ev.u.iot.severity, IOT_INFO);
}

static void test_roundtrip_registry(void **state)
{
    struct fx *f = *state;
    to_avro(f, "RegistryChange",
            "{\"event_id\":\"e5\",\"customer_id\":\"c1\","
            "\"change_type\":\"CONTACT_MOVED\",\"entity_id\":\"p-7\","
            "\"entity_type\":\"CONTACT\",\"entity_name\":\"Li Wei\","
            "\"attributes\":{\"from\":\"ACME\",\"role\":\"CFO\"},"
            "\"amount\":null,\"event_time\":7}");
    assert_int_equal(decode(f, EVENT_REGISTRY, "c1", &f->b), 0);
    const struct registry_change *r = &f->ev.u.registry;
    assert_int_equal(r->change_type, CHANGE_CONTACT_MOVED);
    assert_string_equal(r->entity_id, "p-7");
    assert_int_equal(r->entity_type, ENTITY_CONTACT);
    assert_string_equal(r->entity_name, "Li Wei");
    assert_int_equal(r->n_attributes, 2);
    assert_string_equal(r->attributes[0].key, "from");
    assert_string_equal(r->attributes[0].value, "ACME");
    assert_string_equal(r->attributes[1].key, "role");
    assert_string_equal(r->attributes[1].value, "CFO");
    assert_false(r->has_amount);

    /* attributes omitted: its default {} applies. */
    to_avro(f, "RegistryChange",
            "{\"event_id\":\"e6\",\"customer_id\":\"c1\","
            "\"change_type\":\"TENDER_PUBLISHED\",\"entity_id\":\"t-1\","
            "\"entity_type\":\"TENDER\",\"amount\":2500000,\"event_time\":8}");
    assert_int_equal(decode(f, EVENT_REGISTRY, "c1", &f->b), 0);
    assert_int_equal(f->ev.u.registry.n_attributes, 0);
    assert_null(f->ev.u.registry.entity_name);
    assert_true(f->ev.u.registry.has_amount);
    assert_true(f->ev.u.registry.amount == 2500000.0);
}

static void test_roundtrip_opportunity(void **state)
{
    struct fx *f = *state;
    to_avro(f, "OpportunityUpdate",
            "{\"event_id\":\"e7\",\"customer_id\":\"c1\",\"opportunity_id\":\"o1\","
            "\"rep_id\":\"r1\",\"industry\":\"chemicals\",\"stage_from\":null,"
            "\"stage_to\":\"proposal\",\"amount\":120000.5,\"event_time\":9}");
    assert_int_equal(decode(f, EVENT_OPPORTUNITY, "c1", &f->b), 0);
    const struct opportunity_update *o = &f->ev.u.opportunity;
    assert_string_equal(o->opportunity_id, "o1");
    assert_string_equal(o->rep_id, "r1");
    assert_string_equal(o->industry, "chemicals");
    assert_null(o->stage_from);
    assert_string_equal(o->stage_to, "proposal");
    assert_true(o->has_amount && o->amount == 120000.5);
}

/* The decoder reads bytes built by an independent encoder, and reuses its
 * values and readers across many messages. */
static void test_hand_encoded_and_reuse(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 200; i++) {
        char text[64];
        snprintf(text, sizeof(text), "segment number %d", i);
        av_transcript(&f->b, TS_V1, text, strlen(text), i % 3);
        assert_int_equal(decode(f, EVENT_TRANSCRIPT, "cust-1", &f->b), 0);
        assert_string_equal(f->ev.u.transcript.text, text);
        assert_int_equal(f->ev.u.transcript.speaker_role, i % 3);
        assert_string_equal(f->ev.u.transcript.phase, "closing");
        assert_true(f->ev.u.transcript.is_final);
        assert_true(f->ev.event_time == 1700000000123LL);
    }
}

/* Maps stay right across many decodes, including past the point where the
 * codec replaces Avro C's resolved value (it caches every map entry ever
 * decoded otherwise): entry counts vary so stale entries would show. */
static void test_map_decodes_stay_exact(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 700; i++) {
        char json[512];
        int n = i % 4;
        int len = snprintf(json, sizeof(json),
                           "{\"event_id\":\"m%d\",\"customer_id\":\"c1\","
                           "\"change_type\":\"EQUITY_CHANGE\",\"entity_id\":\"x\","
                           "\"entity_type\":\"COMPANY\",\"attributes\":{",
                           i);
        for (int k = 0; k < n; k++)
            len += snprintf(json + len, sizeof(json) - (size_t)len,
                            "%s\"k%d\":\"v%d-%d\"", k ? "," : "", k, i, k);
        snprintf(json + len, sizeof(json) - (size_t)len,
                 "},\"amount\":null,\"event_time\":%d}", i);
        to_avro(f, "RegistryChange", json);
        assert_int_equal(decode(f, EVENT_REGISTRY, "c1", &f->b), 0);
        const struct registry_change *r = &f->ev.u.registry;
        assert_int_equal(r->n_attributes, n);
        for (int k = 0; k < n; k++) {
            char want[32];
            snprintf(want, sizeof(want), "v%d-%d", i, k);
            assert_string_equal(r->attributes[k].value, want);
        }
    }
}

/* The Avro spec lets a writer split a map into blocks, a block's count
 * negative when its byte size follows: Avro C writes one block, so these
 * are built by hand. */
static void test_map_in_blocks(void **state)
{
    struct fx *f = *state;
    av_registry_head(&f->b, 1, 0);
    av_long(&f->b, 1); /* entity_name: "acme" */
    av_str(&f->b, "acme");
    av_long(&f->b, 2); /* attributes: a block of 2 ... */
    av_str(&f->b, "k0");
    av_str(&f->b, "v0");
    av_str(&f->b, "k1");
    av_str(&f->b, "v1");
    av_long(&f->b, -1); /* ... one of 1 with its size (1+2 + 1+2 bytes) ... */
    av_long(&f->b, 6);
    av_str(&f->b, "k2");
    av_str(&f->b, "v2");
    av_long(&f->b, 0); /* ... and the end */
    av_long(&f->b, 1); /* amount: 2.5 */
    buf_put_double(&f->b, 2.5);
    av_long(&f->b, 42); /* event_time */
    assert_int_equal(decode(f, EVENT_REGISTRY, "c1", &f->b), 0);
    const struct registry_change *r = &f->ev.u.registry;
    assert_string_equal(r->entity_name, "acme");
    assert_int_equal(r->n_attributes, 3);
    for (int k = 0; k < 3; k++) {
        char key[8], val[8];
        snprintf(key, sizeof(key), "k%d", k);
        snprintf(val, sizeof(val), "v%d", k);
        assert_string_equal(r->attributes[k].key, key);
        assert_string_equal(r->attributes[k].value, val);
    }
    assert_true(r->has_amount && r->amount == 2.5);
    assert_true(f->ev.event_time == 42);
}

static void test_bad_boolean(void **state)
{
    struct fx *f = *state;
    av_transcript(&f->b, TS_V1, "x", 1, 0);
    /* is_final is the byte before event_time and language (1 byte). */
    struct buf t;
    buf_init(&t);
    av_long(&t, 1700000000123LL);
    size_t at = f->b.len - 1 - t.len - 1;
    buf_free(&t);
    assert_int_equal(f->b.data[at], 1);
    assert_int_equal(decode(f, EVENT_TRANSCRIPT, "cust-1", &f->b), 0);
    f->b.data[at] = 2;
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len,
                 "invalid_field", "field 'is_final': boolean byte 2");
}

/* Copies src to dst, replacing the first `from` with `to`. */
static void copy_replacing(const char *src, const char *dst, const char *from,
                           const char *to)
{
    FILE *in = fopen(src, "r");
    assert_non_null(in);
    char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, in);
    fclose(in);
    text[n] = '\0';
    char *at = from ? strstr(text, from) : NULL;
    FILE *out = fopen(dst, "w");
    assert_non_null(out);
    if (at) {
        fwrite(text, 1, (size_t)(at - text), out);
        fputs(to, out);
        fputs(at + strlen(from), out);
    } else {
        fputs(text, out);
    }
    fclose(out);
}

/* Copies the shipped schemas into a fresh directory, replacing `from` with
 * `to` in the file of files[which]; ids 1..8 name them. */
static const char *const schema_files[] = {
    "transcript_segment", "document_annotation", "iot_alert",
    "registry_change",    "opportunity_update",  "lead_rerating",
    "coaching_alert",     "meeting_summary"};
enum { N_SCHEMAS = sizeof(schema_files) / sizeof(schema_files[0]) };

struct schema_dir {
    char dir[64], path[N_SCHEMAS][512], id[N_SCHEMAS][4];
    struct cfg_kv ids[N_SCHEMAS];
};

/* The codec over the edited copy, or NULL with its error in err. */
static struct codec *open_edited_err(struct schema_dir *d, size_t which,
                                     const char *from, const char *to,
                                     char *err, size_t errlen)
{
    char src[512];
    assert_int_equal(tmpdir_make(d->dir, sizeof(d->dir), "test_codec"), 0);
    for (size_t i = 0; i < N_SCHEMAS; i++) {
        snprintf(src, sizeof(src), "%s/%s.avsc", SCHEMAS, schema_files[i]);
        snprintf(d->path[i], sizeof(d->path[i]), "%s/%s.avsc", d->dir,
                 schema_files[i]);
        copy_replacing(src, d->path[i], i == which ? from : NULL, to);
        snprintf(d->id[i], sizeof(d->id[i]), "%zu", i + 1);
        d->ids[i] = (struct cfg_kv){d->id[i], d->path[i]};
    }
    struct config_schemas sc = {.ids = {.v = d->ids, .n = N_SCHEMAS},
                                .dir = d->dir};
    struct codec *c = NULL;
    return codec_open(&sc, &c, err, errlen) == 0 ? c : NULL;
}

static struct codec *open_edited(struct schema_dir *d, size_t which,
                                 const char *from, const char *to)
{
    char err[512] = "";
    struct codec *c = open_edited_err(d, which, from, to, err, sizeof(err));
    if (!c)
        fail_msg("codec_open: %s", err);
    return c;
}


/* A reader schema may name an enum symbol this build cannot handle (a newer
 * schema deployed before the code): the record is refused by name. */
static void test_unhandled_reader_symbol(void **state)
{
    (void)state;
    struct schema_dir d;
    struct fx f = {.a = arena_new(256)};
    buf_init(&f.b);
    f.c = open_edited(&d, 0, "\"OTHER\"", "\"OTHER\", \"OBSERVER\"");
    av_transcript(&f.b, TS_V1, "x", 1, 2);
    assert_int_equal(decode(&f, EVENT_TRANSCRIPT, "cust-1", &f.b), 0);
    assert_int_equal(f.ev.u.transcript.speaker_role, ROLE_OTHER);
    av_transcript(&f.b, TS_V1, "x", 1, 3);
    expect_error(&f, EVENT_TRANSCRIPT, "cust-1", f.b.data, f.b.len,
                 "invalid_field",
                 "field 'speaker_role': symbol 'OBSERVER' is not handled");
    codec_free(f.c);
    arena_free(f.a);
    buf_free(&f.b);
    tmpdir_remove(d.dir);
}

/* ------------------------------------------------------------------------
 * Schema resolution
 */

static void test_resolution_writer_ahead(void **state)
{
    struct fx *f = *state;
    av_transcript(&f->b, TS_V2, "hello", 5, 0);
    assert_int_equal(decode(f, EVENT_TRANSCRIPT, "cust-1", &f->b), 0);
    const struct transcript_segment *t = &f->ev.u.transcript;
    assert_string_equal(t->text, "hello");
    assert_string_equal(t->phase, "closing");
    assert_int_equal(t->speaker_role, ROLE_REP);
    assert_int_equal(t->seq, 3);
    assert_true(t->end_ms == 4500);
    assert_true(f->ev.event_time == 1700000000123LL);
}

static void test_resolution_writer_behind(void **state)
{
    struct fx *f = *state;
    av_transcript(&f->b, TS_V0, "older producer", 14, 1);
    assert_int_equal(decode(f, EVENT_TRANSCRIPT, "cust-1", &f->b), 0);
    const struct transcript_segment *t = &f->ev.u.transcript;
    assert_string_equal(t->text, "older producer");
    assert_null(t->phase); /* the reader's default */
    assert_int_equal(t->speaker_role, ROLE_CUSTOMER);
    assert_true(t->is_final);
}

static void test_resolution_enum_by_symbol(void **state)
{
    struct fx *f = *state;
    /* Writer 103 lists OTHER, CUSTOMER, REP: index 0 means OTHER. */
    av_transcript(&f->b, TS_REORDERED, "x", 1, 0);
    assert_int_equal(decode(f, EVENT_TRANSCRIPT, "cust-1", &f->b), 0);
    assert_int_equal(f->ev.u.transcript.speaker_role, ROLE_OTHER);
    av_transcript(&f->b, TS_REORDERED, "x", 1, 2);
    assert_int_equal(decode(f, EVENT_TRANSCRIPT, "cust-1", &f->b), 0);
    assert_int_equal(f->ev.u.transcript.speaker_role, ROLE_REP);
}

/* ------------------------------------------------------------------------
 * Bad input
 */

static void test_bad_framing(void **state)
{
    struct fx *f = *state;
    static const uint8_t garbage[] = {0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d};
    static const uint8_t short_hdr[] = {0, 0, 0};
    static const uint8_t unknown[] = {0, 0, 0, 3, 0xe7, 2, 'x'};
    static const uint8_t only_hdr[] = {0, 0, 0, 0, 1};
    static const uint8_t header_garbage[] = {0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};

    expect_error(f, EVENT_TRANSCRIPT, "c1", garbage, sizeof(garbage), "bad_magic", "0x7b");
    expect_error(f, EVENT_TRANSCRIPT, "c1", "", 0, "empty_value", NULL);
    expect_error(f, EVENT_TRANSCRIPT, "c1", NULL, 0, "empty_value", NULL);
    expect_error(f, EVENT_TRANSCRIPT, "c1", short_hdr, sizeof(short_hdr),
                 "truncated_header", NULL);
    expect_error(f, EVENT_TRANSCRIPT, "c1", unknown, sizeof(unknown),
                 "unknown_schema_id", "999");
    expect_error(f, EVENT_TRANSCRIPT, "c1", only_hdr, sizeof(only_hdr), "decode_failed",
                 "event_id");
    expect_error(f, EVENT_TRANSCRIPT, "c1", header_garbage, sizeof(header_garbage),
                 "decode_failed", NULL);
}

static void test_bad_key(void **state)
{
    struct fx *f = *state;
    av_transcript(&f->b, TS_V1, "hi", 2, 0);
    expect_error(f, EVENT_TRANSCRIPT, NULL, f->b.data, f->b.len, "missing_key", NULL);
    expect_error(f, EVENT_TRANSCRIPT, "", f->b.data, f->b.len, "missing_key", NULL);
    expect_error(f, EVENT_TRANSCRIPT, "cu\xc3\x28", f->b.data, f->b.len,
                 "invalid_utf8", "key");
    expect_error(f, EVENT_TRANSCRIPT, "cust-2", f->b.data, f->b.len, "key_mismatch",
                 "cust-2");
    /* The key is checked before the value: missing key wins over bad magic. */
    expect_error(f, EVENT_TRANSCRIPT, NULL, "\x05", 1, "missing_key", NULL);
}

static void test_wrong_record_type(void **state)
{
    struct fx *f = *state;
    to_avro(f, "IotAlert",
            "{\"event_id\":\"e3\",\"customer_id\":\"c1\",\"device_id\":\"d\","
            "\"alert_type\":\"downtime\",\"severity\":\"INFO\",\"count\":1,"
            "\"event_time\":1}");
    expect_error(f, EVENT_TRANSCRIPT, "c1", f->b.data, f->b.len, "wrong_record_type",
                 "dealstream.IotAlert");
    /* An output record arriving on an input topic. */
    static const uint8_t lead[] = {0, 0, 0, 0, 6, 0};
    expect_error(f, EVENT_IOT, "c1", lead, sizeof(lead), "wrong_record_type",
                 "LeadRerating");
}

static void test_truncated_and_trailing(void **state)
{
    struct fx *f = *state;
    av_transcript(&f->b, TS_V1, "some text here", 14, 1);
    /* Every strict prefix of the datum is an error, never a crash. */
    for (size_t len = 5; len < f->b.len; len++)
        expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, len, "decode_failed",
                     NULL);
    /* Trailing garbage after a complete datum. */
    buf_put_u8(&f->b, 0x42);
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len, "decode_failed",
                 "1 trailing byte");
}

static void test_huge_lengths(void **state)
{
    struct fx *f = *state;
    /* A string declaring 2^62 bytes in a 20-byte message. */
    av_header(&f->b, 1);
    av_long(&f->b, (int64_t)1 << 62);
    buf_append(&f->b, "abcdefghijklmno", 15);
    expect_error(f, EVENT_TRANSCRIPT, "c1", f->b.data, f->b.len, "decode_failed",
                 "exceeds");
    /* Negative length. */
    av_header(&f->b, 1);
    av_long(&f->b, -5);
    expect_error(f, EVENT_TRANSCRIPT, "c1", f->b.data, f->b.len, "decode_failed",
                 "negative");
    /* A map block declaring 2^40 entries. */
    av_registry_head(&f->b, 0, 0);
    av_long(&f->b, 0); /* entity_name: null */
    av_long(&f->b, (int64_t)1 << 40);
    av_str(&f->b, "k");
    expect_error(f, EVENT_REGISTRY, "c1", f->b.data, f->b.len, "decode_failed",
                 "attributes");
    /* A varint that never ends. */
    av_header(&f->b, 1);
    for (int i = 0; i < 12; i++)
        buf_put_u8(&f->b, 0x80);
    expect_error(f, EVENT_TRANSCRIPT, "c1", f->b.data, f->b.len, "decode_failed",
                 NULL);
}

static void test_invalid_utf8_fields(void **state)
{
    struct fx *f = *state;
    /* Bad continuation at byte 17 of text. */
    char text[] = "0123456789abcdefg\xe4\xbd" "x";
    av_transcript(&f->b, TS_V1, text, strlen(text), 0);
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len, "invalid_utf8",
                 "field 'text': invalid UTF-8 at byte 17");
    /* Overlong encoding and a surrogate are rejected too. */
    av_transcript(&f->b, TS_V1, "\xc0\xaf", 2, 0);
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len, "invalid_utf8",
                 "byte 0");
    av_transcript(&f->b, TS_V1, "a\xed\xa0\x80", 4, 0);
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len, "invalid_utf8",
                 "byte 1");
    /* A NUL inside a string. */
    av_transcript(&f->b, TS_V1, "ab\0cd", 5, 0);
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len, "invalid_field",
                 "NUL");
    /* Structure errors win over content errors found earlier. */
    av_transcript(&f->b, TS_V1, "\xff", 1, 0);
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len - 3,
                 "decode_failed", NULL);

    /* In a map key and in a map value. */
    for (int in_value = 0; in_value < 2; in_value++) {
        av_registry_head(&f->b, 1, 2);
        av_long(&f->b, 0);
        av_long(&f->b, 1);
        av_str(&f->b, in_value ? "k" : "k\xff");
        av_str(&f->b, in_value ? "v\xfe" : "v");
        av_long(&f->b, 0);
        av_long(&f->b, 0); /* amount: null */
        av_long(&f->b, 1);
        expect_error(f, EVENT_REGISTRY, "c1", f->b.data, f->b.len, "invalid_utf8",
                     in_value ? "field 'attributes[]': invalid UTF-8 at byte 1"
                              : "field 'attributes': map key: invalid UTF-8 at byte 1");
    }
}

static void test_invalid_indexes(void **state)
{
    struct fx *f = *state;
    av_transcript(&f->b, TS_V1, "x", 1, 7); /* Role has 3 symbols */
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len, "invalid_field",
                 "field 'speaker_role': enum index 7");
    av_transcript(&f->b, TS_V1, "x", 1, -1);
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len, "invalid_field",
                 "speaker_role");

    /* Union branch 5 of phase (null|string). */
    av_header(&f->b, 1);
    av_str(&f->b, "ev-1");
    av_str(&f->b, "cust-1");
    av_str(&f->b, "m");
    av_str(&f->b, "r");
    av_long(&f->b, 0);
    av_str(&f->b, "s");
    av_long(&f->b, 0);
    av_long(&f->b, 0);
    av_long(&f->b, 0);
    av_str(&f->b, "t");
    av_long(&f->b, 5);
    expect_error(f, EVENT_TRANSCRIPT, "cust-1", f->b.data, f->b.len, "decode_failed",
                 "field 'phase': union branch 5");
}

/* ------------------------------------------------------------------------
 * Alerts
 */

static void fill_provenance(struct alert *al, enum alert_kind k)
{
    al->kind = k;
    al->customer_id = "c-9";
    al->dedup_key = "k";
    al->trigger_event_id = "ev-77";
    al->src = (struct event_source){.topic = "sales.transcripts", .partition = 2,
                                    .offset = 12345};
    al->event_time = 1714000000000LL;
    alert_compute_id(al);
}

static void expect_json(struct fx *f, const struct buf *framed, int32_t id,
                        const char *json)
{
    char err[256] = "";
    struct buf out;
    buf_init(&out);
    assert_int_equal(framed->data[0], 0);
    assert_int_equal(((int32_t)framed->data[1] << 24) | (framed->data[2] << 16) |
                         (framed->data[3] << 8) | framed->data[4],
                     id);
    int rc = codec_avro_to_json(f->c, framed->data, framed->len, &out, err, sizeof(err));
    if (rc != 0)
        fail_msg("codec_avro_to_json: %s", err);
    assert_int_equal(strlen((const char *)out.data), out.len);
    assert_string_equal((const char *)out.data, json);
    buf_free(&out);
}

static void test_encode_rerating(void **state)
{
    struct fx *f = *state;
    struct alert al;
    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_LEAD_RERATING);
    struct lead_rerating *r = &al.u.rerating;
    r->previous_tier = NULL;
    r->tier = "B";
    r->previous_score = 41.5;
    r->score = 63.25;
    r->trend = "improving";
    r->fit_score = 70;
    r->intent_score = 0.1;
    r->reasons[0] = (struct rerating_reason){"iot.vibration_anomaly.CRITICAL", "device",
                                             "pump-1", 12.5};
    r->reasons[1] = (struct rerating_reason){"registry.CONTACT_LEFT", "contact", "p-3",
                                             -4};
    r->n_reasons = 2;
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"alert_id\":\"%s\",\"customer_id\":\"c-9\",\"previous_tier\":null,"
             "\"tier\":\"B\",\"previous_score\":41.5,\"score\":63.25,\"reasons\":["
             "{\"factor\":\"iot.vibration_anomaly.CRITICAL\",\"node_type\":\"device\","
             "\"node_id\":\"pump-1\",\"contribution\":12.5},"
             "{\"factor\":\"registry.CONTACT_LEFT\",\"node_type\":\"contact\","
             "\"node_id\":\"p-3\",\"contribution\":-4}],"
             "\"trigger_event_id\":\"ev-77\",\"source_topic\":\"sales.transcripts\","
             "\"source_partition\":2,\"source_offset\":12345,"
             "\"event_time\":1714000000000,\"trend\":\"improving\",\"fit_score\":70,"
             "\"intent_score\":0.1}",
             al.alert_id);
    expect_json(f, &f->b, 6, want);

    /* The same value is reused: a second, smaller alert has no leftovers. */
    r->n_reasons = 0;
    r->previous_tier = "B";
    r->trend = NULL;
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), 0);
    char err[256];
    struct buf out;
    buf_init(&out);
    assert_int_equal(codec_avro_to_json(f->c, f->b.data, f->b.len, &out, err, sizeof(err)),
                     0);
    assert_non_null(strstr((const char *)out.data, "\"reasons\":[]"));
    assert_non_null(strstr((const char *)out.data, "\"previous_tier\":\"B\""));
    assert_non_null(strstr((const char *)out.data, "\"trend\":null"));
    buf_free(&out);
}

static void test_encode_coaching(void **state)
{
    struct fx *f = *state;
    struct alert al;
    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_COACHING);
    struct coaching_alert *ca = &al.u.coaching;
    static const struct metric m[] = {{"talk_ratio", 0.82}, {"rep_ms", 410000}};
    static const char *const ev[] = {"\xe4\xbb\xb7\xe6\xa0\xbc\xe5\xa4\xaa\xe9\xab\x98",
                                     "quote \"2\"\n"};
    ca->rep_id = "r1";
    ca->meeting_id = "m7";
    ca->rule = "talk_ratio_high";
    ca->category = CAT_TALK_RATIO;
    ca->severity = SEV_RED;
    ca->message = "You spoke 82% of the time.";
    ca->metrics = m;
    ca->n_metrics = 2;
    ca->evidence = ev;
    ca->n_evidence = 2;
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"alert_id\":\"%s\",\"customer_id\":\"c-9\",\"rep_id\":\"r1\","
             "\"meeting_id\":\"m7\",\"opportunity_id\":null,\"document_id\":null,"
             "\"rule\":\"talk_ratio_high\",\"category\":\"TALK_RATIO\","
             "\"severity\":\"RED\",\"message\":\"You spoke 82%% of the time.\","
             "\"metrics\":{\"talk_ratio\":0.82,\"rep_ms\":410000},"
             "\"evidence\":[\"\xe4\xbb\xb7\xe6\xa0\xbc\xe5\xa4\xaa\xe9\xab\x98\","
             "\"quote \\\"2\\\"\\n\"],"
             "\"trigger_event_id\":\"ev-77\",\"source_topic\":\"sales.transcripts\","
             "\"source_partition\":2,\"source_offset\":12345,"
             "\"event_time\":1714000000000}",
             al.alert_id);
    expect_json(f, &f->b, 7, want);
}

static void test_encode_summary(void **state)
{
    struct fx *f = *state;
    struct alert al;
    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_MEETING_SUMMARY);
    static const struct metric m[] = {{"questions", 7}};
    al.u.summary = (struct meeting_summary){
        .meeting_id = "m7", .rep_id = NULL, .closed_by = "idle", .metrics = m,
        .n_metrics = 1};
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), 0);
    char want[512];
    snprintf(want, sizeof(want),
             "{\"alert_id\":\"%s\",\"customer_id\":\"c-9\",\"meeting_id\":\"m7\","
             "\"rep_id\":null,\"closed_by\":\"idle\",\"metrics\":{\"questions\":7},"
             "\"trigger_event_id\":\"ev-77\",\"source_topic\":\"sales.transcripts\","
             "\"source_partition\":2,\"source_offset\":12345,"
             "\"event_time\":1714000000000}",
             al.alert_id);
    expect_json(f, &f->b, 8, want);
}

/* Encodes al both ways - straight into bytes and through Avro C's generic
 * value - and asserts the same bytes, or the same error. */
static void same_both_ways(struct fx *f, const struct alert *al)
{
    struct buf direct;
    struct codec_error de = {0};
    buf_init(&direct);
    codec_set_generic(f->c, false);
    int drc = codec_encode_alert(f->c, al, &direct, &de);
    codec_set_generic(f->c, true);
    memset(&f->e, 0, sizeof(f->e));
    int grc = codec_encode_alert(f->c, al, &f->b, &f->e);
    codec_set_generic(f->c, false);
    assert_int_equal(drc, grc);
    if (grc == 0) {
        assert_int_equal(direct.len, f->b.len);
        assert_memory_equal(direct.data, f->b.data, f->b.len);
    } else {
        assert_string_equal(de.reason, f->e.reason);
        assert_string_equal(de.message, f->e.message);
    }
    buf_free(&direct);
}

static void test_encode_direct_matches_generic(void **state)
{
    struct fx *f = *state;
    static const char *const tiers[] = {NULL, "A", "B", "\xc3\xa9t\xc3\xa9"};
    static const struct metric metrics[] = {
        {"talk_ratio", 0.625}, {"questions", 3}, {"talk_ratio", 0.5},
        {"\xe6\x8f\x90\xe9\x97\xae", -1e300}, {"zero", 0}};
    static const char *const evidence[] = {"said \"price\"", "", "\xe5\x9b\x9e\xe5\xa4\x8d"};
    struct alert al;
    for (int i = 0; i < 64; i++) {
        memset(&al, 0, sizeof(al));
        fill_provenance(&al, ALERT_LEAD_RERATING);
        al.src.offset = (int64_t)i * 1000003 - 7;
        al.src.partition = i % 5;
        al.event_time = -i;
        struct lead_rerating *r = &al.u.rerating;
        r->previous_tier = tiers[i % 4];
        r->tier = tiers[1 + i % 3];
        r->previous_score = i * 0.25;
        r->score = 100 - i;
        r->trend = i % 3 ? "steady" : NULL;
        r->fit_score = -i;
        r->intent_score = 1.0 / (i + 1);
        r->n_reasons = (size_t)i % (ALERT_MAX_REASONS + 1);
        for (size_t k = 0; k < r->n_reasons; k++)
            r->reasons[k] = (struct rerating_reason){"iot.x.CRITICAL", "device",
                                                     tiers[1 + k % 3], (double)k - 2};
        same_both_ways(f, &al);

        memset(&al, 0, sizeof(al));
        fill_provenance(&al, ALERT_COACHING);
        struct coaching_alert *ca = &al.u.coaching;
        ca->rep_id = i % 2 ? "rep-1" : NULL;
        ca->meeting_id = i % 3 ? "m-1" : NULL;
        ca->opportunity_id = i % 5 ? NULL : "opp-9";
        ca->document_id = i % 7 ? NULL : "doc-2";
        ca->rule = "unanswered_objection";
        ca->category = (enum coaching_category)(i % 11);
        ca->severity = (enum alert_severity)(i % 3);
        ca->message = tiers[3];
        ca->metrics = metrics;
        ca->n_metrics = (size_t)i % 6;
        ca->evidence = evidence;
        ca->n_evidence = (size_t)i % 4;
        same_both_ways(f, &al);

        memset(&al, 0, sizeof(al));
        fill_provenance(&al, ALERT_MEETING_SUMMARY);
        al.u.summary.meeting_id = "m-7";
        al.u.summary.rep_id = i % 2 ? NULL : "rep-2";
        al.u.summary.closed_by = i % 2 ? "idle" : "final";
        al.u.summary.metrics = metrics;
        al.u.summary.n_metrics = (size_t)i % 6;
        same_both_ways(f, &al);
    }

    /* One bad field at a time: the same error both ways. */
    static const char *const bad_ev[] = {"ok", NULL};
    static const struct metric bad_m[] = {{"ok", 1}, {NULL, 2}};
    static const struct metric bad_utf8_m[] = {{"\xff", 1}};
    for (int c = 0; c < 9; c++) {
        memset(&al, 0, sizeof(al));
        fill_provenance(&al, ALERT_COACHING);
        struct coaching_alert *ca = &al.u.coaching;
        ca->rule = "r";
        ca->message = "m";
        switch (c) {
        case 0: ca->rule = NULL; break;
        case 1: ca->message = "bad \xc3"; break;
        case 2: ca->evidence = bad_ev; ca->n_evidence = 2; break;
        case 3: ca->n_evidence = 1; break;
        case 4: ca->metrics = bad_m; ca->n_metrics = 2; break;
        case 5: ca->metrics = bad_utf8_m; ca->n_metrics = 1; break;
        case 6: ca->category = (enum coaching_category)99; break;
        case 7: ca->rep_id = "\xed\xa0\x80"; break;
        default: al.customer_id = NULL; break;
        }
        same_both_ways(f, &al);
        assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), -1);
    }
    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_LEAD_RERATING);
    al.u.rerating.tier = "A";
    al.u.rerating.n_reasons = 1; /* a reason without a factor */
    same_both_ways(f, &al);
    al.u.rerating.n_reasons = ALERT_MAX_REASONS + 1;
    same_both_ways(f, &al);
}

/* An alert schema laid out otherwise than the shipped one (here, fields
 * more, as another producer of the topic might add) is encoded through the
 * generic value, the fields no alert carries taking their defaults. */
static void test_encode_other_layout(void **state)
{
    (void)state;
    struct schema_dir d;
    struct fx f = {.a = arena_new(256)};
    buf_init(&f.b);
    f.c = open_edited(&d, 5,
                      "      \"doc\": \"What the customer is doing now, 0..100.\"\n    }",
                      "      \"doc\": \"What the customer is doing now, 0..100.\"\n    },\n"
                      "    {\"name\": \"churn_score\", \"type\": \"double\", "
                      "\"default\": 0.5},\n"
                      "    {\"name\": \"region\", \"type\": [\"null\", \"string\"], "
                      "\"default\": null}");
    struct alert al;
    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_LEAD_RERATING);
    al.u.rerating.tier = "C";
    al.u.rerating.score = 12.5;
    if (codec_encode_alert(f.c, &al, &f.b, &f.e) != 0)
        fail_msg("encode: %s", f.e.message);
    char err[256];
    struct buf out;
    buf_init(&out);
    assert_int_equal(codec_avro_to_json(f.c, f.b.data, f.b.len, &out, err, sizeof(err)), 0);
    const char *json = (const char *)out.data;
    assert_non_null(strstr(json, "\"tier\":\"C\",\"previous_score\":0,\"score\":12.5"));
    assert_non_null(
        strstr(json, "\"intent_score\":0,\"churn_score\":0.5,\"region\":null}"));
    buf_free(&out);
    codec_free(f.c);
    tmpdir_remove(d.dir);

    /* A field no alert carries and without a default: refused at start,
     * naming the file and the field. */
    assert_null(open_edited_err(&d, 5,
                                "      \"doc\": \"What the customer is doing now, "
                                "0..100.\"\n    }",
                                "      \"doc\": \"What the customer is doing now, "
                                "0..100.\"\n    },\n"
                                "    {\"name\": \"region\", \"type\": \"string\"}",
                                err, sizeof(err)));
    assert_non_null(strstr(err, "lead_rerating.avsc: field 'region' is not one "
                                "dealstream fills, and has no default"));
    arena_free(f.a);
    buf_free(&f.b);
    tmpdir_remove(d.dir);
}

static void test_encode_errors(void **state)
{
    struct fx *f = *state;
    struct alert al;
    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_LEAD_RERATING);
    al.u.rerating.tier = NULL;
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), -1);
    assert_string_equal(f->e.reason, "encode_failed");
    assert_non_null(strstr(f->e.message, "'tier'"));

    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_COACHING);
    static const char *const ev[] = {"cut in the middle \xe4\xbb"};
    al.u.coaching.rule = "r";
    al.u.coaching.message = "m";
    al.u.coaching.evidence = ev;
    al.u.coaching.n_evidence = 1;
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), -1);
    assert_string_equal(f->e.reason, "encode_failed");
    assert_non_null(strstr(f->e.message, "evidence"));

    al.u.coaching.n_evidence = 0;
    al.trigger_event_id = NULL;
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), -1);
    assert_non_null(strstr(f->e.message, "trigger_event_id"));
}

/* ------------------------------------------------------------------------
 * JSON tools
 */

static void expect_json_error(struct fx *f, const char *record, const char *json,
                              const char *needle)
{
    char err[256] = "";
    assert_int_equal(codec_json_to_avro(f->c, record, json, &f->b, err, sizeof(err)), -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
}

#define TS_BASE                                                               \
    "\"event_id\":\"e\",\"customer_id\":\"c\",\"meeting_id\":\"m\","          \
    "\"rep_id\":\"r\",\"speaker_id\":\"s\",\"speaker_role\":\"REP\","         \
    "\"start_ms\":0,\"end_ms\":1,\"text\":\"t\",\"is_final\":true,"           \
    "\"event_time\":1"

static void test_json_errors(void **state)
{
    struct fx *f = *state;
    expect_json_error(f, "TranscriptSegment", "{" TS_BASE "}",
                      "missing required field 'seq'");
    expect_json_error(f, "TranscriptSegment", "{" TS_BASE ",\"seq\":\"x\"}",
                      "field 'seq': expected an integer");
    expect_json_error(f, "TranscriptSegment", "{" TS_BASE ",\"seq\":4294967296}",
                      "field 'seq'");
    expect_json_error(f, "TranscriptSegment", "{" TS_BASE ",\"seq\":1,\"colour\":1}",
                      "unknown field 'colour'");
    expect_json_error(f, "TranscriptSegment",
                      "{" TS_BASE ",\"seq\":1,\"phase\":42}", "field 'phase'");
    expect_json_error(f, "TranscriptSegment", "{" TS_BASE ",\"seq\":1,\"seq\":2}",
                      "duplicate");
    expect_json_error(f, "TranscriptSegment", "[1]", "expected a JSON object");
    expect_json_error(f, "TranscriptSegment", "{\"event_id\":", "invalid JSON");
    expect_json_error(f, "Nope", "{}", "unknown record 'Nope'");
    expect_json_error(f, "IotAlert",
                      "{\"event_id\":\"e\",\"customer_id\":\"c\",\"device_id\":\"d\","
                      "\"alert_type\":\"a\",\"severity\":\"HUGE\",\"count\":1,"
                      "\"event_time\":1}",
                      "field 'severity': unknown symbol 'HUGE'");
    expect_json_error(f, "LeadRerating",
                      "{\"alert_id\":\"a\",\"customer_id\":\"c\",\"tier\":\"A\","
                      "\"previous_score\":1,\"score\":2,\"reasons\":["
                      "{\"factor\":\"f\",\"node_type\":\"n\",\"node_id\":\"i\","
                      "\"contribution\":1},{\"factor\":\"f\",\"node_type\":\"n\","
                      "\"node_id\":\"i\",\"contribution\":\"lots\"}],"
                      "\"trigger_event_id\":\"t\",\"source_topic\":\"s\","
                      "\"source_partition\":0,\"source_offset\":0,\"event_time\":0}",
                      "field 'reasons[1].contribution'");
    expect_json_error(f, "RegistryChange",
                      "{\"event_id\":\"e\",\"customer_id\":\"c\","
                      "\"change_type\":\"EQUITY_CHANGE\",\"entity_id\":\"x\","
                      "\"entity_type\":\"COMPANY\",\"attributes\":{\"k\":1},"
                      "\"event_time\":1}",
                      "field 'attributes[\"k\"]'");
}

static void test_json_to_message_key(void **state)
{
    struct fx *f = *state;
    char key[16], err[256];
    const char *line = "{\"event_id\":\"e7\",\"customer_id\":\"cust-88\","
                       "\"opportunity_id\":\"o1\",\"rep_id\":\"r1\","
                       "\"stage_to\":\"won\",\"event_time\":9}\n";
    assert_int_equal(codec_json_to_message(f->c, "OpportunityUpdate", line, &f->b, key,
                                           sizeof(key), err, sizeof(err)),
                     0);
    assert_string_equal(key, "cust-88");
    assert_int_equal(decode(f, EVENT_OPPORTUNITY, key, &f->b), 0);
    assert_null(f->ev.u.opportunity.industry);
    assert_false(f->ev.u.opportunity.has_amount);
    assert_int_equal(codec_json_to_message(f->c, "OpportunityUpdate", line, &f->b, key,
                                           4, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "customer_id"));
}

/* A record keyed by something other than the customer: the key is checked
 * against its key field, and the config written before it still loads. */
static void test_rep_assignment(void **state)
{
    struct fx *f = *state;
    char key[16], err[256] = "";
    const char *line = "{\"rep_id\":\"rep-7\",\"name\":\"Ada\","
                       "\"team_id\":\"north\",\"manager_id\":\"rep-1\","
                       "\"event_time\":5}";
    /* The fixture names no writer for RepAssignment. */
    assert_false(codec_reads(f->c, EVENT_REP_ASSIGNMENT));
    assert_true(codec_reads(f->c, EVENT_TRANSCRIPT));
    assert_int_equal(codec_json_to_message(f->c, "RepAssignment", line, &f->b, key,
                                           sizeof(key), err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "rep_assignment.avsc"));

    struct cfg_kv ids[9];
    memcpy(ids, base_ids, 8 * sizeof(ids[0])); /* the shipped schemas */
    ids[8] = (struct cfg_kv){"9", SCHEMAS "/rep_assignment.avsc"};
    codec_free(f->c);
    f->c = NULL;
    assert_int_equal(open_codec(ids, 9, &f->c, err, sizeof(err)), 0);
    assert_true(codec_reads(f->c, EVENT_REP_ASSIGNMENT));
    assert_int_equal(codec_json_to_message(f->c, "RepAssignment", line, &f->b, key,
                                           sizeof(key), err, sizeof(err)),
                     0);
    assert_string_equal(key, "rep-7");
    assert_int_equal(decode(f, EVENT_REP_ASSIGNMENT, key, &f->b), 0);
    assert_string_equal(f->ev.key, "rep-7");
    assert_null(f->ev.event_id);
    assert_null(f->ev.customer_id);
    assert_string_equal(f->ev.u.rep.name, "Ada");
    assert_string_equal(f->ev.u.rep.team_id, "north");
    assert_string_equal(f->ev.u.rep.manager_id, "rep-1");
    assert_null(f->ev.u.rep.time_zone);
    assert_int_equal(f->ev.event_time, 5);
    expect_error(f, EVENT_REP_ASSIGNMENT, "rep-8", f->b.data, f->b.len,
                 "key_mismatch", "differs from rep_id 'rep-7'");
    expect_error(f, EVENT_REP_ASSIGNMENT, NULL, f->b.data, f->b.len,
                 "missing_key", "rep_id");
    /* Customer-keyed records name their key as before. */
    assert_int_equal(decode(f, EVENT_TRANSCRIPT, "cust-1", &f->b), -1);
    assert_string_equal(f->e.reason, "wrong_record_type");
}

static void test_avro_to_json_inputs(void **state)
{
    struct fx *f = *state;
    char err[256] = "";
    struct buf out;
    buf_init(&out);
    /* A newer writer's record prints with its own fields. */
    av_transcript(&f->b, TS_V2, "a\tb", 3, 1);
    assert_int_equal(codec_avro_to_json(f->c, f->b.data, f->b.len, &out, err, sizeof(err)),
                     0);
    assert_string_equal((const char *)out.data,
                        "{\"event_id\":\"ev-1\",\"customer_id\":\"cust-1\","
                        "\"meeting_id\":\"m-1\",\"rep_id\":\"rep-1\",\"seq\":3,"
                        "\"speaker_id\":\"spk-2\",\"speaker_role\":\"CUSTOMER\","
                        "\"start_ms\":1000,\"end_ms\":4500,\"sentiment\":-0.25,"
                        "\"text\":\"a\\tb\",\"phase\":\"closing\",\"is_final\":true,"
                        "\"event_time\":1700000000123,\"language\":null,"
                        "\"tags\":[\"hot\",\"vip\"]}");
    /* Errors are reported, not printed. */
    assert_int_equal(codec_avro_to_json(f->c, f->b.data, f->b.len - 1, &out, err,
                                        sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(codec_avro_to_json(f->c, "\x01", 1, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad_magic"));

    /* JSON -> Avro -> JSON keeps the values. */
    to_avro(f, "OpportunityUpdate",
            "{\"event_id\":\"e7\",\"customer_id\":\"c1\",\"opportunity_id\":\"o1\","
            "\"rep_id\":\"r1\",\"stage_to\":\"won\",\"amount\":{\"double\":1e21},"
            "\"event_time\":9}");
    assert_int_equal(codec_avro_to_json(f->c, f->b.data, f->b.len, &out, err, sizeof(err)),
                     0);
    assert_string_equal((const char *)out.data,
                        "{\"event_id\":\"e7\",\"customer_id\":\"c1\","
                        "\"opportunity_id\":\"o1\",\"rep_id\":\"r1\",\"industry\":null,"
                        "\"stage_from\":null,\"stage_to\":\"won\",\"amount\":1e+21,"
                        "\"event_time\":9}");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_ids, setup, teardown),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test_setup_teardown(test_roundtrip_transcript, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_annotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_iot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_opportunity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_decodes_stay_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hand_encoded_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_in_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_boolean, setup, teardown),
        cmocka_unit_test(test_unhandled_reader_symbol),
        cmocka_unit_test_setup_teardown(test_resolution_writer_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolution_writer_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolution_enum_by_symbol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_record_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_trailing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_rerating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_coaching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_direct_matches_generic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_encode_errors, setup, teardown),
        cmocka_unit_test(test_encode_other_layout),
        cmocka_unit_test_setup_teardown(test_json_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_to_message_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avro_to_json_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rep_assignment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
