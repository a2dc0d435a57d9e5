/*
 * test_txn.c - processing.guarantee exactly_once's pieces that stand
 * alone: what a transaction error means (retry, abort, stop), the
 * transactional.id kept in the state dir, and a transaction's life on
 * librdkafka's mock cluster (commit, abort, fencing of a previous
 * incarnation). What read_committed readers see is tested on Apache Kafka
 * (it_exactly_once.sh). librdkafka 2.0's mock cluster does not check
 * producer epochs at EndTxn, so the fencing assertion runs only against a
 * real broker: DS_TXN_BROKERS=host:port DS_TXN_TOPIC=<an existing topic>
 * ./test_txn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"
#include "txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_classify(void **unused)
{
    (void)unused;
    /* fatal wins over everything: the producer is unusable (fenced) */
    assert_int_equal(txn_classify(1, 1, 1), TXN_FATAL);
    assert_int_equal(txn_classify(0, 0, 1), TXN_FATAL);
    /* abortable wins over retriable: retrying cannot save it */
    assert_int_equal(txn_classify(1, 1, 0), TXN_ABORT);
    assert_int_equal(txn_classify(0, 1, 0), TXN_ABORT);
    assert_int_equal(txn_classify(1, 0, 0), TXN_RETRY);
    /* an error none of the flags explains is not taken as harmless */
    assert_int_equal(txn_classify(0, 0, 0), TXN_FATAL);
}

static void test_id_for_dir(void **unused)
{
    (void)unused;
    char a[64], b[64], id1[128], id2[128], id3[128], err[256];
    assert_int_equal(tmpdir_make(a, sizeof(a), "test_txn_a"), 0);
    assert_int_equal(tmpdir_make(b, sizeof(b), "test_txn_b"), 0);
    assert_int_equal(txn_id_for_dir(a, "grp", id1, sizeof(id1), err,
                                    sizeof(err)), 0);
    assert_int_equal(strlen(id1), strlen("grp-") + 16);
    assert_memory_equal(id1, "grp-", 4);
    /* the same disk: the same id, across restarts */
    assert_int_equal(txn_id_for_dir(a, "grp", id2, sizeof(id2), err,
                                    sizeof(err)), 0);
    assert_string_equal(id1, id2);
    /* another disk: another instance, another id */
    assert_int_equal(txn_id_for_dir(b, "grp", id3, sizeof(id3), err,
                                    sizeof(err)), 0);
    assert_string_not_equal(id1, id3);
    /* a damaged file is refused, not replaced silently */
    char path[128];
    snprintf(path, sizeof(path), "%s/DEALSTREAM-TXN-ID", b);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not hex\n", f);
    fclose(f);
    assert_int_equal(txn_id_for_dir(b, "grp", id3, sizeof(id3), err,
                                    sizeof(err)), -1);
    assert_non_null(strstr(err, "not a transactional id"));
    /* no room for group + id */
    assert_int_equal(txn_id_for_dir(a, "grp", id3, 10, err, sizeof(err)), -1);
    /* a missing dir */
    char gone[160];
    snprintf(gone, sizeof(gone), "%s/none/deeper", a);
    assert_int_equal(txn_id_for_dir(gone, "grp", id3, sizeof(id3), err,
                                     sizeof(err)), -1);
    tmpdir_remove(a);
    tmpdir_remove(b);
}

static int delivered, failed;
static const char *g_topic = "out";

static void on_delivery(void *arg, uint64_t tag, enum kafka_fail f,
                        const char *errstr, const struct kafka_msg *m)
{
    (void)arg;
    (void)tag;
    (void)errstr;
    (void)m;
    if (f == KAFKA_DELIVERED)
        delivered++;
    else
        failed++;
}

static struct kafka_producer *producer(const char *brokers, const char *id)
{
    struct kafka_producer_opts po = {.brokers = brokers,
                                     .on_delivery = on_delivery,
                                     .transactional_id = id,
                                     .transaction_timeout_ms = 10000};
    struct kafka_producer *p = NULL;
    char err[512];
    if (kafka_producer_new(&po, &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return p;
}

static void send_n(struct kafka_producer *p, int n)
{
    char err[256];
    for (int i = 0; i < n; i++)
        assert_int_equal(kafka_produce(p, g_topic, "k", 1, "v", 1, NULL, 0, err,
                                       sizeof(err)), 0);
    while (kafka_producer_inflight(p) > 0)
        kafka_producer_poll(p, 10);
}

static void test_mock_life(void **unused)
{
    (void)unused;
    const char *topic = "out";
    struct kafka_mock *mock = NULL;
    char err[512];
    const char *brokers = getenv("DS_TXN_BROKERS");
    if (getenv("DS_TXN_TOPIC"))
        g_topic = getenv("DS_TXN_TOPIC");
    if (!brokers || !*brokers) {
        assert_int_equal(kafka_mock_start(3, &topic, 1, 1, &mock, err,
                                          sizeof(err)), 0);
        brokers = kafka_mock_bootstrap(mock);
    }
    struct kafka_producer *p1 = producer(brokers, "g-0123456789abcdef");
    struct txn *t1 = NULL;
    if (txn_open(p1, 10000, &t1, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    send_n(p1, 3);
    assert_int_equal(delivered, 3);
    assert_int_equal(txn_commit(t1, NULL, NULL, 0, err, sizeof(err)), TXN_OK);
    struct txn_counts c;
    txn_counts(t1, &c);
    assert_int_equal(c.committed, 1);
    /* the next transaction was begun: producing goes on */
    send_n(p1, 2);
    assert_int_equal(delivered, 5);

    /* The next incarnation (same transactional.id) fences this one: its
     * commit is fatal, never a silent success. */
    struct kafka_producer *p2 = producer(brokers, "g-0123456789abcdef");
    struct txn *t2 = NULL;
    if (txn_open(p2, 10000, &t2, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    enum txn_outcome o = txn_commit(t1, NULL, NULL, 0, err, sizeof(err));
    if (!mock) {
        print_message("fenced: %s\n", err);
        assert_int_equal(o, TXN_FATAL);
    }
    txn_close(t1);
    kafka_producer_free(p1);

    /* The new one commits and aborts on close. */
    send_n(p2, 1);
    assert_int_equal(txn_commit(t2, NULL, NULL, 0, err, sizeof(err)), TXN_OK);
    send_n(p2, 1);
    txn_close(t2); /* aborts the open one */
    kafka_producer_free(p2);
    assert_int_equal(failed, 0);
    kafka_mock_stop(mock); /* accepts NULL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_id_for_dir),
        cmocka_unit_test(test_mock_life),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
