/*
 * test_schema_registry.c - the id in a frame, a registry nobody answers
 * for (an error, remembered so the next record does not wait on it
 * again), and codec_add_writer with the shipped schemas: a record framed
 * with the new id decodes, a known id or a broken schema is refused.
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
#include "codec.h"
#include "config.h"
#include "log.h"
#include "registry.h"
#include "schema_registry.h"

static void test_frame_id(void **st)
{
    (void)st;
    const unsigned char ok[] = {0, 0, 0, 0, 203, 1};
    const unsigned char big[] = {0, 0x12, 0x34, 0x56, 0x78};
    const unsigned char magic[] = {1, 0, 0, 0, 3};
    assert_int_equal(schema_registry_frame_id(ok, sizeof(ok)), 203);
    assert_int_equal(schema_registry_frame_id(big, sizeof(big)), 0x12345678);
    assert_int_equal(schema_registry_frame_id(magic, sizeof(magic)), -1);
    assert_int_equal(schema_registry_frame_id(ok, 4), -1);
    assert_int_equal(schema_registry_frame_id(NULL, 0), -1);
}

static struct codec *shipped_codec(struct config **cfg)
{
    struct config_errors errs = {0};
    assert_int_equal(config_load(DS_SOURCE_DIR "/processor.yaml", NULL, 0,
                                 registry_plugins(), registry_count, cfg,
                                 &errs),
                     0);
    struct codec *c = NULL;
    char err[512];
    assert_int_equal(codec_open(&(*cfg)->schemas, &c, err, sizeof(err)), 0);
    return c;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *s = calloc(1, 1 << 20);
    size_t n = fread(s, 1, (1 << 20) - 1, fp);
    s[n] = '\0';
    fclose(fp);
    return s;
}

static void test_unreachable(void **st)
{
    (void)st;
    struct config *cfg = NULL;
    struct codec *c = shipped_codec(&cfg);
    struct schema_registry *r = NULL;
    char err[512];
    /* Port 1 on loopback: refused at once. */
    assert_int_equal(schema_registry_new("http://127.0.0.1:1/", 500, &r, err,
                                         sizeof(err)),
                     0);
    assert_int_equal(schema_registry_teach(r, c, 777, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/schemas/ids/777"));
    assert_int_equal(schema_registry_requests(r), 2); /* one retry */
    /* Remembered: the next record with that id does not ask again. */
    assert_int_equal(schema_registry_teach(r, c, 777, err, sizeof(err)), -1);
    assert_int_equal(schema_registry_requests(r), 2);
    assert_non_null(strstr(err, "less than 60 s ago"));
    schema_registry_free(r);
    schema_registry_free(NULL);
    codec_free(c);
    config_free(cfg);
}

static void test_add_writer(void **st)
{
    (void)st;
    struct config *cfg = NULL;
    struct codec *c = shipped_codec(&cfg);
    char err[512];
    char *iot = slurp(DS_SOURCE_DIR "/schemas/iot_alert.avsc");
    /* A record framed with id 3 (shipped), re-framed as 203. */
    struct buf in, out;
    buf_init(&in);
    buf_init(&out);
    struct codec_error cerr = {0};
    const char *json = "{\"event_id\":\"e1\",\"customer_id\":\"C1\","
                       "\"device_id\":\"D1\",\"alert_type\":\"x\","
                       "\"severity\":\"INFO\",\"count\":1,\"value\":null,"
                       "\"event_time\":1767225600000}";
    assert_int_equal(codec_json_to_avro(c, "IotAlert", json, &in, err,
                                        sizeof(err)),
                     0);
    ((uint8_t *)in.data)[4] = 203; /* id 3 -> 203: big-endian low byte */
    struct arena *ar = arena_new(4096);
    struct event ev;
    assert_int_equal(codec_decode_event(c, EVENT_IOT, "C1", 2, in.data,
                                        in.len, ar, &ev, &cerr),
                     -1);
    assert_string_equal(cerr.reason, "unknown_schema_id");
    assert_int_equal(codec_add_writer(c, 203, iot, strlen(iot), err,
                                      sizeof(err)),
                     0);
    memset(&cerr, 0, sizeof(cerr));
    assert_int_equal(codec_decode_event(c, EVENT_IOT, "C1", 2, in.data,
                                        in.len, ar, &ev, &cerr),
                     0);
    assert_string_equal(ev.customer_id, "C1");
    /* Known ids and broken schemas are refused. */
    assert_int_equal(codec_add_writer(c, 203, iot, strlen(iot), err,
                                      sizeof(err)),
                     -1);
    assert_int_equal(codec_add_writer(c, 3, iot, strlen(iot), err,
                                      sizeof(err)),
                     -1);
    assert_int_equal(codec_add_writer(c, 204, "{\"type\":", 8, err,
                                      sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "schema id 204"));
    arena_free(ar);
    buf_free(&in);
    buf_free(&out);
    free(iot);
    codec_free(c);
    config_free(cfg);
}

int main(void)
{
    log_setup(LOG_ERROR, LOG_FORMAT_TEXT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_id),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_add_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
