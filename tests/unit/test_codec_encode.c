/*
 * test_codec_encode.c - the Avro adapter's writing side: alerts encoded and
 * read back (the direct and the generic path to the same bytes), and the
 * JSON tools' round trips and error messages.
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
                                             "pump-1", 12.5, "3 alerts"};
    r->reasons[1] = (struct rerating_reason){"registry.CONTACT_LEFT", "contact", "p-3",
                                             -4, NULL};
    r->n_reasons = 2;
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"alert_id\":\"%s\",\"customer_id\":\"c-9\",\"previous_tier\":null,"
             "\"tier\":\"B\",\"previous_score\":41.5,\"score\":63.25,\"reasons\":["
             "{\"factor\":\"iot.vibration_anomaly.CRITICAL\",\"node_type\":\"device\","
             "\"node_id\":\"pump-1\",\"contribution\":12.5,\"detail\":\"3 alerts\"},"
             "{\"factor\":\"registry.CONTACT_LEFT\",\"node_type\":\"contact\","
             "\"node_id\":\"p-3\",\"contribution\":-4,\"detail\":null}],"
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
             "\"event_time\":1714000000000,\"resolves_alert_id\":null}",
             al.alert_id);
    expect_json(f, &f->b, 7, want);
    /* A follow-up names the alert it resolves (issue 19). */
    ca->resolves_alert_id = "0123456789abcdef0123456789abcdef";
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), 0);
    char *at = strstr(want, "\"resolves_alert_id\":null");
    assert_non_null(at);
    snprintf(at, sizeof(want) - (size_t)(at - want),
             "\"resolves_alert_id\":\"%s\"}", ca->resolves_alert_id);
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

/* WorkItem goes through the generic value only; the new coaching
 * category is a symbol of the shipped schema (direct path). */
static void test_encode_work_item(void **state)
{
    struct fx *f = *state;
    struct alert al;
    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_WORK_ITEM);
    al.u.work_item = (struct work_item){
        .work_item_id = "w1", .trigger = "fx", .meeting_id = "m7",
        .rep_id = "r1", .department = "legal", .task = "Send it",
        .requirement = "多币种结算", .created_time = 1, .due_time = 2,
        .status = WI_OVERDUE};
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"alert_id\":\"%s\",\"work_item_id\":\"w1\",\"trigger\":\"fx\","
             "\"customer_id\":\"c-9\",\"opportunity_id\":null,"
             "\"meeting_id\":\"m7\",\"document_id\":null,\"rep_id\":\"r1\","
             "\"department\":\"legal\",\"task\":\"Send it\","
             "\"requirement\":\"多币种结算\",\"created_time\":1,"
             "\"due_time\":2,\"status\":\"OVERDUE\","
             "\"trigger_event_id\":\"ev-77\",\"source_topic\":\"sales.transcripts\","
             "\"source_partition\":2,\"source_offset\":12345,"
             "\"event_time\":1714000000000}",
             al.alert_id);
    expect_json(f, &f->b, 20, want);
    al.u.work_item.rep_id = NULL;
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), -1);
    assert_non_null(strstr(f->e.message, "rep_id"));

    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_COACHING);
    al.u.coaching = (struct coaching_alert){
        .rule = "fx", .category = CAT_WORK_ITEM_OVERDUE, .severity = SEV_RED,
        .message = "late"};
    assert_int_equal(codec_encode_alert(f->c, &al, &f->b, &f->e), 0);
    struct buf out;
    buf_init(&out);
    char err[256] = "";
    assert_int_equal(codec_avro_to_json(f->c, f->b.data, f->b.len, &out, err,
                                        sizeof(err)), 0);
    assert_non_null(strstr((const char *)out.data,
                           "\"category\":\"WORK_ITEM_OVERDUE\""));
    buf_free(&out);
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
                                                     tiers[1 + k % 3], (double)k - 2,
                                                     k % 2 ? "why" : NULL};
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

/* A writer schema from before Reason.detail (another producer's, or a
 * schema id kept from an older deployment): the reasons are still written,
 * without the text. */
static void test_encode_reason_without_detail(void **state)
{
    (void)state;
    struct schema_dir d;
    struct fx f = {.a = arena_new(256)};
    buf_init(&f.b);
    f.c = open_edited(&d, 5, "            },\n            {\n              \"name\": \"detail\",\n              \"type\": [\n                \"null\",\n                \"string\"\n              ],\n              \"default\": null,\n              \"doc\": \"Readable text of the factor when there is one, e.g. \\\"spare_parts orders 3.1x their 90-day rate\\\".\"", "            ");
    struct alert al;
    memset(&al, 0, sizeof(al));
    fill_provenance(&al, ALERT_LEAD_RERATING);
    al.u.rerating.tier = "C";
    al.u.rerating.reasons[0] = (struct rerating_reason){"erp.x.parts_rise", "customer",
                                                        "c", 3, "x orders 3.0x"};
    al.u.rerating.n_reasons = 1;
    if (codec_encode_alert(f.c, &al, &f.b, &f.e) != 0)
        fail_msg("encode: %s", f.e.message);
    char err[256];
    struct buf out;
    buf_init(&out);
    assert_int_equal(codec_avro_to_json(f.c, f.b.data, f.b.len, &out, err, sizeof(err)), 0);
    assert_non_null(strstr((const char *)out.data,
                           "\"node_id\":\"c\",\"contribution\":3}]"));
    buf_free(&out);
    codec_free(f.c);
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

    struct cfg_kv ids[10];
    memcpy(ids, base_ids, 9 * sizeof(ids[0])); /* the shipped schemas */
    ids[9] = (struct cfg_kv){"9", SCHEMAS "/rep_assignment.avsc"};
    codec_free(f->c);
    f->c = NULL;
    assert_int_equal(open_codec(ids, 10, &f->c, err, sizeof(err)), 0);
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
                        "\"device_line\":null,\"event_time\":9}");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_encode_rerating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_coaching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_summary, setup, teardown),
        cmocka_unit_test(test_encode_reason_without_detail),
        cmocka_unit_test_setup_teardown(test_encode_direct_matches_generic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_encode_errors, setup, teardown),
        cmocka_unit_test(test_encode_other_layout),
        cmocka_unit_test_setup_teardown(test_json_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_to_message_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avro_to_json_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rep_assignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_work_item, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
