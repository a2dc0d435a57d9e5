/*
 * test_http.c - the probes' answers from a snapshot (/healthz: the loop
 * turned recently; /readyz: partitions and producer), and a real server
 * on a loopback port that refuses a bad address and stops cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

static void test_healthz(void **st)
{
    (void)st;
    struct metrics m = {0};
    char body[512];
    assert_int_equal(http_healthz(NULL, 1000, 30000, body, sizeof(body)), 503);
    assert_non_null(strstr(body, "\"starting\""));
    m.started_at_ms = 1;
    m.loop_at_ms = 10000;
    assert_int_equal(http_healthz(&m, 39000, 30000, body, sizeof(body)), 200);
    assert_string_equal(body, "{\"status\":\"ok\"}\n");
    assert_int_equal(http_healthz(&m, 41000, 30000, body, sizeof(body)), 503);
    assert_non_null(strstr(body, "\"stalled\""));
    assert_non_null(strstr(body, "31000 ms"));
}

static void test_readyz(void **st)
{
    (void)st;
    struct metrics m = {0};
    char body[512];
    assert_int_equal(http_readyz(NULL, body, sizeof(body)), 503);
    m.started_at_ms = 1;
    assert_int_equal(http_readyz(&m, body, sizeof(body)), 503);
    assert_string_equal(body, "{\"status\":\"not ready\",\"missing\":["
                              "\"no partitions assigned\","
                              "\"the producer is not up\"]}\n");
    m.assigned_partitions = 4;
    assert_int_equal(http_readyz(&m, body, sizeof(body)), 503);
    assert_string_equal(body, "{\"status\":\"not ready\",\"missing\":["
                              "\"the producer is not up\"]}\n");
    m.producer_up = true;
    m.restoring = true;
    m.restoring_partition = 7;
    assert_int_equal(http_readyz(&m, body, sizeof(body)), 503);
    assert_string_equal(body, "{\"status\":\"not ready\",\"missing\":["
                              "\"partition 7 is being restored from the "
                              "changelog\"]}\n");
    m.restoring = false;
    assert_int_equal(http_readyz(&m, body, sizeof(body)), 200);
    assert_string_equal(body, "{\"status\":\"ready\"}\n");
}

static void test_start_stop(void **st)
{
    (void)st;
    struct metrics_pub pub;
    struct http_server *s = NULL;
    char err[256];
    metrics_pub_init(&pub);
    struct http_opts o = {.listen = "127.0.0.1:0", .stall_ms = 1000,
                          .pub = &pub, .version = "t"};
    assert_int_equal(http_start(&o, &s, err, sizeof(err)), 0);
    assert_non_null(s);
    http_stop(s);
    s = NULL;
    const char *bad[] = {"9464", "127.0.0.1:", "127.0.0.1:notaport",
                         ":9464x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.listen = bad[i];
        assert_int_equal(http_start(&o, &s, err, sizeof(err)), -1);
        assert_null(s);
        assert_non_null(strstr(err, "http.listen"));
    }
    http_stop(NULL);
    metrics_pub_destroy(&pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_start_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
