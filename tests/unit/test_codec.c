/*
 * test_codec.c - the Avro adapter's reading side: opening the schemas,
 * JSON -> Avro -> event round trips for every input, reader/writer
 * resolution both ways, and every bad-input class with its reason. Alerts
 * and the JSON tools are in test_codec_encode.c; both stand on
 * codec_fixture.c, whose independent little encoder checks the decoder
 * against the Avro binary format and not only against its own encoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_fixture.h"
#include "tmpdir.h"

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

    /* An output without a current writer id opens (a config written
     * before the record existed), but cannot be written: the runtime
     * refuses to start while an enabled processor emits it. */
    err[0] = '\0';
    assert_int_equal(open_codec(base_ids, 7, &c, err, sizeof(err)), 0);
    assert_false(codec_writes(c, ALERT_MEETING_SUMMARY));
    assert_true(codec_writes(c, ALERT_COACHING));
    assert_false(codec_writes(c, ALERT_ATTRIBUTION));
    struct alert al = {.kind = ALERT_MEETING_SUMMARY};
    struct buf out;
    struct codec_error cerr = {0};
    buf_init(&out);
    assert_int_equal(codec_encode_alert(c, &al, &out, &cerr), -1);
    assert_non_null(strstr(cerr.message, "MeetingSummary has no writer schema id"));
    buf_free(&out);
    codec_free(c);
    c = NULL;

    /* A writer that lacks a field with no default cannot be read. */
    struct cfg_kv ids[10];
    memcpy(ids, base_ids, 9 * sizeof(ids[0]));
    ids[9] = (struct cfg_kv){"104", FIXTURES "/transcript_segment_no_text.avsc"};
    err[0] = '\0';
    assert_int_equal(open_codec(ids, 10, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'text'"));
    assert_non_null(strstr(err, "no default"));

    /* Bad id and missing file. */
    ids[9] = (struct cfg_kv){"x1", FIXTURES "/transcript_segment_v2.avsc"};
    assert_int_equal(open_codec(ids, 10, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "x1"));
    ids[9] = (struct cfg_kv){"9", FIXTURES "/does_not_exist.avsc"};
    assert_int_equal(open_codec(ids, 10, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does_not_exist.avsc"));

    /* The same file under two ids is ambiguous. */
    ids[9] = (struct cfg_kv){"9", SCHEMAS "/iot_alert.avsc"};
    assert_int_equal(open_codec(ids, 10, &c, err, sizeof(err)), -1);
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
    assert_null(o->device_line); /* absent in the JSON: the default */

    to_avro(f, "OpportunityUpdate",
            "{\"event_id\":\"e8\",\"customer_id\":\"c1\",\"opportunity_id\":\"o1\","
            "\"rep_id\":\"r1\",\"stage_to\":\"proposal\",\"device_line\":\"2\","
            "\"event_time\":9}");
    assert_int_equal(decode(f, EVENT_OPPORTUNITY, "c1", &f->b), 0);
    assert_string_equal(f->ev.u.opportunity.device_line, "2");
}

/* A producer still on the OpportunityUpdate schema from before device_line
 * (writer 105, bytes built by hand): read, with device_line null. */
static void test_opportunity_writer_without_device_line(void **state)
{
    struct fx *f = *state;
    static const uint8_t msg[] = {
        0x00, 0, 0, 0, 105,      /* framing, writer id 105 */
        4, 'e', '9',             /* event_id */
        4, 'c', '1',             /* customer_id */
        4, 'o', '1',             /* opportunity_id */
        4, 'r', '1',             /* rep_id */
        0,                       /* industry: null */
        0,                       /* stage_from: null */
        6, 'w', 'o', 'n',        /* stage_to */
        0,                       /* amount: null */
        18,                      /* event_time 9 */
    };
    buf_reset(&f->b);
    buf_append(&f->b, msg, sizeof(msg));
    assert_int_equal(decode(f, EVENT_OPPORTUNITY, "c1", &f->b), 0);
    const struct opportunity_update *o = &f->ev.u.opportunity;
    assert_string_equal(o->stage_to, "won");
    assert_null(o->device_line);
    assert_true(f->ev.event_time == 9);
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
        cmocka_unit_test_setup_teardown(test_opportunity_writer_without_device_line,
                                        setup, teardown),
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
