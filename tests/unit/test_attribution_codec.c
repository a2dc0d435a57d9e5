/*
 * test_attribution_codec.c - the attribution records through the codec:
 * SalesOutcome and EnvironmentSignal (double, null|long and array<string>
 * fields) on the direct path and, from a writer one field ahead, on the
 * generic one; an AttributionReport written and read back as JSON, with
 * and without estimates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alert.h"
#include "arena.h"
#include "buf.h"
#include "codec.h"
#include "config.h"
#include "event.h"

#define SCHEMAS DS_SOURCE_DIR "/schemas"

struct fx {
    struct codec *c;
    struct arena *a;
    struct buf b, json;
    char dir[256], ahead[512];
};

/* A writer of EnvironmentSignal with one more field, last, defaulted. */
static void write_ahead(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/ds-attr-codec-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->ahead, sizeof(f->ahead), "%s/environment_signal_v2.avsc", f->dir);
    FILE *in = fopen(SCHEMAS "/environment_signal.avsc", "r");
    assert_non_null(in);
    char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, in);
    fclose(in);
    text[n] = '\0';
    char *end = strrchr(text, ']'); /* the end of "fields" */
    assert_non_null(end);
    FILE *out = fopen(f->ahead, "w");
    assert_non_null(out);
    fprintf(out, "%.*s, {\"name\": \"source\", \"type\": \"string\", \"default\": \"\"}%s",
            (int)(end - text), text, end);
    fclose(out);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    write_ahead(f);
    struct cfg_kv ids[] = {
        {"20", SCHEMAS "/sales_outcome.avsc"},
        {"21", SCHEMAS "/environment_signal.avsc"},
        {"22", SCHEMAS "/attribution_report.avsc"},
        {"121", f->ahead},
    };
    struct config_schemas sc = {.ids = {.v = ids, .n = 4}, .dir = SCHEMAS};
    char err[512];
    if (codec_open(&sc, &f->c, err, sizeof(err)) != 0)
        fail_msg("codec_open: %s", err);
    f->a = arena_new(4096);
    buf_init(&f->b);
    buf_init(&f->json);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    codec_free(f->c);
    arena_free(f->a);
    buf_free(&f->b);
    buf_free(&f->json);
    unlink(f->ahead);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void decode(struct fx *f, enum event_kind k, const char *record,
                   const char *json, struct event *ev)
{
    char key[128], err[512];
    if (codec_json_to_message(f->c, record, json, &f->b, key, sizeof(key), err,
                              sizeof(err)) != 0)
        fail_msg("%s", err);
    struct codec_error e;
    memset(ev, 0, sizeof(*ev));
    if (codec_decode_event(f->c, k, key, strlen(key), f->b.data, f->b.len, f->a,
                           ev, &e) != 0)
        fail_msg("%s: %s", e.reason, e.message);
}

static void test_outcome(void **state)
{
    struct fx *f = *state;
    struct event ev;
    decode(f, EVENT_SALES_OUTCOME, "SalesOutcome",
           "{\"event_id\":\"o1\",\"unit_id\":\"rep-7\",\"region\":\"Henan\","
           "\"industry\":null,\"metric\":\"visits\",\"value\":2.5,"
           "\"event_time\":1772409600000}",
           &ev);
    assert_string_equal(ev.key, "rep-7");
    assert_string_equal(ev.event_id, "o1");
    assert_null(ev.customer_id);
    assert_string_equal(ev.u.outcome.unit_id, "rep-7");
    assert_string_equal(ev.u.outcome.region, "Henan");
    assert_null(ev.u.outcome.industry);
    assert_string_equal(ev.u.outcome.metric, "visits");
    assert_true(ev.u.outcome.value == 2.5);
    assert_int_equal(ev.event_time, 1772409600000LL);
}

static void check_signal(const struct event *ev, bool open)
{
    const struct env_signal *s = &ev->u.signal;
    assert_string_equal(ev->key, "sig-1");
    assert_string_equal(s->signal_id, "sig-1");
    assert_int_equal(s->kind, SIGNAL_PUBLIC_EVENT);
    assert_string_equal(s->title, "games");
    assert_null(s->description);
    assert_int_equal(s->n_regions, 2);
    assert_string_equal(s->regions[0], "Chengdu");
    assert_string_equal(s->regions[1], "Mianyang");
    assert_int_equal(s->n_industries, 0);
    assert_int_equal(s->start_time, 1000);
    assert_int_equal(s->has_end_time, !open);
    if (!open)
        assert_int_equal(s->end_time, 2000);
    assert_true(s->has_magnitude);
    assert_true(s->magnitude == -0.23);
}

static const char *signal_json(bool open)
{
    return open ? "{\"event_id\":\"e1\",\"signal_id\":\"sig-1\",\"kind\":\"PUBLIC_EVENT\","
                  "\"title\":\"games\",\"regions\":[\"Chengdu\",\"Mianyang\"],"
                  "\"start_time\":1000,\"magnitude\":-0.23,\"event_time\":5}"
                : "{\"event_id\":\"e1\",\"signal_id\":\"sig-1\",\"kind\":\"PUBLIC_EVENT\","
                  "\"title\":\"games\",\"regions\":[\"Chengdu\",\"Mianyang\"],"
                  "\"start_time\":1000,\"end_time\":2000,\"magnitude\":-0.23,"
                  "\"event_time\":5}";
}

static void test_signal(void **state)
{
    struct fx *f = *state;
    struct event ev;
    decode(f, EVENT_ENV_SIGNAL, "EnvironmentSignal", signal_json(false), &ev);
    check_signal(&ev, false);
    decode(f, EVENT_ENV_SIGNAL, "EnvironmentSignal", signal_json(true), &ev);
    check_signal(&ev, true);
}

/* The same datum from a writer one field ahead: resolved generically. */
static void test_signal_writer_ahead(void **state)
{
    struct fx *f = *state;
    for (int open = 0; open <= 1; open++) {
        char key[64], err[512];
        assert_int_equal(codec_json_to_message(f->c, "EnvironmentSignal",
                                               signal_json(open), &f->b, key,
                                               sizeof(key), err, sizeof(err)),
                         0);
        /* Header: magic, id 121; then the datum and "source": "x". */
        struct buf v;
        buf_init(&v);
        uint8_t head[5] = {0, 0, 0, 0, 121};
        buf_append(&v, head, 5);
        buf_append(&v, f->b.data + 5, f->b.len - 5);
        uint8_t src[2] = {2, 'x'};
        buf_append(&v, src, 2);
        struct event ev;
        struct codec_error e;
        memset(&ev, 0, sizeof(ev));
        if (codec_decode_event(f->c, EVENT_ENV_SIGNAL, key, strlen(key), v.data,
                               v.len, f->a, &ev, &e) != 0)
            fail_msg("%s: %s", e.reason, e.message);
        check_signal(&ev, open);
        buf_free(&v);
    }
}

static void test_report(void **state)
{
    struct fx *f = *state;
    const char *sigs[] = {"sig-a", "sig-b"};
    struct alert a = {.kind = ALERT_ATTRIBUTION, .customer_id = "team-3",
                      .event_time = 1775001600000LL};
    struct attribution_report *r = &a.u.attribution;
    snprintf(r->report_id, sizeof(r->report_id), "0123456789abcdef0123456789abcdef-r1");
    r->unit_id = "team-3";
    r->region = "Henan";
    r->industry = "medical";
    r->metric = "revenue";
    r->period = "2026-03";
    r->period_start = 1772294400000LL;
    r->period_end = 1775001600000LL;
    r->actual = 77;
    r->has_estimate = true;
    r->baseline = 100;
    r->environment_effect = -23;
    r->effect_low = -25.5;
    r->effect_high = -20.5;
    r->adjusted_target = 77;
    r->excess_value = 0;
    r->signals = sigs;
    r->n_signals = 2;
    r->controls = 5;
    r->method = "did_same_season";
    r->explanation = "team-3 revenue 2026-03: ...";
    r->revision = 1;
    struct codec_error e;
    char err[256];
    assert_int_equal(codec_encode_alert(f->c, &a, &f->b, &e), 0);
    assert_int_equal(codec_avro_to_json(f->c, f->b.data, f->b.len, &f->json, err,
                                        sizeof(err)),
                     0);
    const char *want =
        "{\"report_id\":\"0123456789abcdef0123456789abcdef-r1\",\"unit_id\":\"team-3\","
        "\"region\":\"Henan\",\"industry\":\"medical\",\"metric\":\"revenue\","
        "\"period\":\"2026-03\",\"period_start\":1772294400000,"
        "\"period_end\":1775001600000,\"actual\":77";
    if (strncmp((const char *)f->json.data, want, strlen(want)) != 0)
        fail_msg("got %s", (const char *)f->json.data);
    const char *json = (const char *)f->json.data;
    assert_non_null(strstr(json, "\"environment_effect\":-23"));
    assert_non_null(strstr(json, "\"signals\":[\"sig-a\",\"sig-b\"]"));
    assert_non_null(strstr(json, "\"controls\":5"));
    assert_non_null(strstr(json, "\"revision\":1"));
    /* A refusal: no numbers. */
    r->has_estimate = false;
    r->n_signals = 0;
    r->method = "refused_few_controls";
    assert_int_equal(codec_encode_alert(f->c, &a, &f->b, &e), 0);
    assert_int_equal(codec_avro_to_json(f->c, f->b.data, f->b.len, &f->json, err,
                                        sizeof(err)),
                     0);
    json = (const char *)f->json.data;
    assert_non_null(strstr(json, "\"baseline\":null,\"environment_effect\":null"));
    assert_non_null(strstr(json, "\"excess_value\":null,\"signals\":[]"));
    /* Bad UTF-8 in the explanation is refused, not written. */
    r->explanation = "bad \xff";
    assert_int_equal(codec_encode_alert(f->c, &a, &f->b, &e), -1);
    assert_non_null(strstr(e.message, "explanation"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcome),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_signal_writer_ahead),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
