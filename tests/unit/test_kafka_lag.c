/*
 * test_kafka_lag.c - kafka_consumer_behind(), the chooser's lag look-up,
 * against librdkafka's mock cluster: behind while records the broker holds
 * have not been returned, caught up once they all have, and "cannot tell"
 * for a partition nothing was fetched from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kafka.h"

static int poll_one(struct kafka_consumer *c)
{
    char err[256];
    struct kafka_msg m;
    for (int i = 0; i < 100; i++) {
        int got = kafka_consumer_poll(c, 100, &m, err, sizeof(err));
        assert_true(got >= 0);
        if (got == 1) {
            kafka_msg_release(&m);
            return 1;
        }
    }
    return 0;
}

static void test_behind(void **unused)
{
    (void)unused;
    const char *topic = "sales.doc-annotations";
    struct kafka_mock *mock = NULL;
    struct kafka_producer *prod = NULL;
    struct kafka_consumer *c = NULL;
    char err[512];
    assert_int_equal(kafka_mock_start(1, &topic, 1, 2, &mock, err,
                                      sizeof(err)), 0);
    const char *brokers = kafka_mock_bootstrap(mock);
    struct kafka_producer_opts po = {.brokers = brokers};
    assert_int_equal(kafka_producer_new(&po, &prod, err, sizeof(err)), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kafka_produce_to(prod, topic, 0, "k", 1, "v", 1,
                                          NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(kafka_producer_flush(prod, 10000), 0);

    assert_int_equal(kafka_consumer_new_partition(brokers, NULL, topic, 0, 0,
                                                  &c, err, sizeof(err)), 0);
    /* Fetched but nothing returned yet: it starts at 0, 3 are there. */
    for (int i = 0; i < 100 && kafka_consumer_behind(c, topic, 0) != 1; i++)
        usleep(20000);
    assert_int_equal(kafka_consumer_behind(c, topic, 0), 1);
    assert_int_equal(poll_one(c), 1);
    assert_int_equal(kafka_consumer_behind(c, topic, 0), 1); /* 2 to go */
    assert_int_equal(poll_one(c), 1);
    assert_int_equal(poll_one(c), 1);
    assert_int_equal(kafka_consumer_behind(c, topic, 0), 0); /* caught up */
    /* A partition not assigned: cannot tell. */
    assert_int_equal(kafka_consumer_behind(c, topic, 1), -1);
    /* An empty partition is caught up once a fetch has answered. */
    struct kafka_consumer *e = NULL;
    assert_int_equal(kafka_consumer_new_partition(brokers, NULL, topic, 1, 0,
                                                  &e, err, sizeof(err)), 0);
    assert_int_equal(kafka_consumer_behind(e, topic, 1), -1);
    struct kafka_msg m;
    assert_int_equal(kafka_consumer_poll(e, 1000, &m, err, sizeof(err)), 0);
    for (int i = 0; i < 100 && kafka_consumer_behind(e, topic, 1) != 0; i++)
        usleep(20000);
    assert_int_equal(kafka_consumer_behind(e, topic, 1), 0);
    kafka_consumer_close(e);

    kafka_consumer_close(c);
    kafka_producer_free(prod);
    kafka_mock_stop(mock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
