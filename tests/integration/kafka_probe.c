/*
 * kafka_probe.c - does the librdkafka we link (Debian 12: 2.0.2) really use
 * idempotence, compression and transactions against this broker? Older
 * librdkafka misread the minimum API versions Kafka 4.x raised (KIP-896,
 * librdkafka issue 4948) and could silently turn features off, so this
 * exercises each one end to end; it_kafka_features.sh then reads the
 * broker's log segments to see what really arrived.
 *
 *   kafka_probe BOOTSTRAP PLAIN_TOPIC TXN_TOPIC
 *
 * PLAIN_TOPIC gets 100 records from an idempotent zstd producer; TXN_TOPIC
 * one aborted and one committed transaction of 10 records each, then a
 * read_committed consumer must see exactly the 10 committed ones and a
 * read_uncommitted one all 20. Exit 0 when all holds.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL: " __VA_ARGS__);                             \
            fputc('\n', stderr);                                               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers,
                          const char *const *props)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err,
                          sizeof(err)) != RD_KAFKA_CONF_OK)
        goto bad;
    for (size_t i = 0; props[i]; i += 2)
        if (rd_kafka_conf_set(conf, props[i], props[i + 1], err,
                              sizeof(err)) != RD_KAFKA_CONF_OK)
            goto bad;
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        exit(2);
    }
    return rk;
bad:
    fprintf(stderr, "config: %s\n", err);
    exit(2);
}

static void produce(rd_kafka_t *rk, const char *topic, const char *what,
                    int n)
{
    for (int i = 0; i < n; i++) {
        char v[64];
        int len = snprintf(v, sizeof(v), "%s-%d", what, i);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_VALUE(v, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END);
        CHECK(!e, "produce %s: %s", v, rd_kafka_err2str(e));
    }
}

static int txn_ok(rd_kafka_error_t *e, const char *step)
{
    if (!e)
        return 1;
    fprintf(stderr, "FAIL: %s: %s\n", step, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    failures++;
    return 0;
}

/* Reads partition 0 of topic from the start until 3 s pass with nothing
 * new; counts values starting with "committed-" and "aborted-". */
static void read_all(const char *brokers, const char *topic,
                     const char *isolation, int *committed, int *aborted)
{
    const char *props[] = {"group.id", "kafka-probe", "isolation.level",
                           isolation, "enable.auto.commit", "false", NULL};
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, brokers, props);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    *committed = *aborted = 0;
    int idle = 0;
    while (idle < 30) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        if (!m->err && m->len >= 8 && !memcmp(m->payload, "aborted-", 8))
            (*aborted)++;
        else if (!m->err && m->len >= 10 &&
                 !memcmp(m->payload, "committed-", 10))
            (*committed)++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: kafka_probe BOOTSTRAP PLAIN_TOPIC TXN_TOPIC\n");
        return 64;
    }
    const char *brokers = argv[1], *plain = argv[2], *txn = argv[3];

    /* Idempotence and compression: what arrived is read from the log. */
    const char *idem[] = {"enable.idempotence", "true", "compression.codec",
                          "zstd", "linger.ms", "50", NULL};
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, brokers, idem);
    produce(p, plain, "plain", 100);
    CHECK(rd_kafka_flush(p, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR,
          "idempotent producer: not all delivered");
    char fatal[256];
    CHECK(rd_kafka_fatal_error(p, fatal, sizeof(fatal)) == 0,
          "idempotent producer: fatal error %s", fatal);
    rd_kafka_destroy(p);

    /* Transactions: one aborted, one committed. */
    const char *tx[] = {"transactional.id", "kafka-probe-txn",
                        "compression.codec", "lz4", NULL};
    p = client(RD_KAFKA_PRODUCER, brokers, tx);
    if (txn_ok(rd_kafka_init_transactions(p, 30000), "init_transactions") &&
        txn_ok(rd_kafka_begin_transaction(p), "begin (abort)")) {
        produce(p, txn, "aborted", 10);
        rd_kafka_flush(p, 30000);
        txn_ok(rd_kafka_abort_transaction(p, 30000), "abort_transaction");
        if (txn_ok(rd_kafka_begin_transaction(p), "begin (commit)")) {
            produce(p, txn, "committed", 10);
            txn_ok(rd_kafka_commit_transaction(p, 30000),
                   "commit_transaction");
        }
    }
    rd_kafka_destroy(p);

    int committed, aborted;
    read_all(brokers, txn, "read_committed", &committed, &aborted);
    printf("read_committed: %d committed, %d aborted\n", committed, aborted);
    CHECK(committed == 10 && aborted == 0,
          "read_committed saw %d committed and %d aborted, want 10 and 0",
          committed, aborted);
    read_all(brokers, txn, "read_uncommitted", &committed, &aborted);
    printf("read_uncommitted: %d committed, %d aborted\n", committed, aborted);
    CHECK(committed == 10 && aborted == 10,
          "read_uncommitted saw %d committed and %d aborted, want 10 and 10",
          committed, aborted);
    printf("%s\n", failures ? "probe failed" : "probe ok");
    return failures ? 1 : 0;
}
