/*
 * test_log.c - the log's JSON lines: every line parses, and the ids a line
 * is about (customer_id, topic, partition, offset) are fields of their own,
 * present only when known. The text format is unchanged by them.
 *
 * stderr is pointed at a temporary file while a test logs, then read back.
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
#include <jansson.h>

#include "log.h"

static char path[64];
static int saved = -1;

static void capture_begin(void)
{
    snprintf(path, sizeof(path), "/tmp/test_log.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(2);
    assert_true(dup2(fd, 2) >= 0);
    close(fd);
}

/* The captured lines, one string each (NULL-terminated; caller frees). */
static char **capture_end(size_t *n)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char **lines = calloc(64, sizeof(char *));
    char buf[4096];
    *n = 0;
    while (fgets(buf, sizeof(buf), fp) && *n < 63)
        lines[(*n)++] = strdup(buf);
    fclose(fp);
    unlink(path);
    return lines;
}

static void free_lines(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static json_t *parse(const char *line)
{
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    if (!j)
        print_message("not JSON (%s): %s", e.text, line);
    assert_non_null(j);
    assert_true(json_is_object(j));
    return j;
}

static void test_json_fields(void **state)
{
    (void)state;
    log_setup(LOG_INFO, LOG_FORMAT_JSON);
    capture_begin();
    const struct log_ids rec = {"cust-\"7\"", "sales.transcripts", 3, 42};
    const struct log_ids part = {.topic = "t", .partition = 0, .offset = -1};
    const struct log_ids cust = {.customer_id = "c1"};
    LOG_IDS(LOG_WARN, "dlq", &rec, "to the DLQ: %s", "bad\nrecord");
    LOG_IDS(LOG_ERROR, "kafka", &part, "assignment refused");
    LOG_RL_IDS(LOG_ERROR, "runtime", &cust, "alert of %s", "c1");
    LOG_INF("runtime", "plain");
    LOG_IDS(LOG_DEBUG, "dlq", &rec, "below the threshold");
    size_t n;
    char **l = capture_end(&n);
    assert_int_equal(n, 4);

    json_t *j = parse(l[0]);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "subsys")), "dlq");
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "to the DLQ: bad\nrecord");
    assert_string_equal(json_string_value(json_object_get(j, "customer_id")),
                        "cust-\"7\"");
    assert_string_equal(json_string_value(json_object_get(j, "topic")),
                        "sales.transcripts");
    assert_true(json_is_integer(json_object_get(j, "partition")));
    assert_int_equal(json_integer_value(json_object_get(j, "partition")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), 42);
    assert_non_null(json_object_get(j, "ts"));
    assert_int_equal(json_object_size(j), 8);
    json_decref(j);

    /* A partition, not a record: no offset; partition 0 is written. */
    j = parse(l[1]);
    assert_int_equal(json_integer_value(json_object_get(j, "partition")), 0);
    assert_null(json_object_get(j, "offset"));
    assert_null(json_object_get(j, "customer_id"));
    json_decref(j);

    j = parse(l[2]);
    assert_string_equal(json_string_value(json_object_get(j, "customer_id")), "c1");
    assert_null(json_object_get(j, "topic"));
    assert_null(json_object_get(j, "partition"));
    json_decref(j);

    /* A line without ids keeps the four fields it always had. */
    j = parse(l[3]);
    assert_int_equal(json_object_size(j), 4);
    json_decref(j);
    free_lines(l, n);
}

static void test_text_unchanged(void **state)
{
    (void)state;
    log_setup(LOG_INFO, LOG_FORMAT_TEXT);
    capture_begin();
    const struct log_ids rec = {"c1", "t", 1, 2};
    LOG_IDS(LOG_WARN, "dlq", &rec, "t[1]@2 -> dlq");
    size_t n;
    char **l = capture_end(&n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(l[0], " warn  [dlq] t[1]@2 -> dlq\n"));
    assert_null(strstr(l[0], "c1"));
    free_lines(l, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_text_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
