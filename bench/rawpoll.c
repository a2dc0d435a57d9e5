/*
 * rawpoll.c - the ceiling: a plain librdkafka poll loop, tuned for
 * throughput, over the same topics the daemon reads.
 *
 *   ds-bench-rawpoll BROKERS EXPECTED TOPIC...
 *
 * Assigns every partition of the topics from the beginning (no group
 * rebalance to wait for), polls one message at a time with
 * rd_kafka_consumer_poll as the daemon does, touches key and value, and
 * stops when every partition has reported EOF (or EXPECTED messages were
 * read and the stream went quiet). The rate is counted from the first
 * message to the last, which is how the daemon's span is counted too.
 *
 * Tuning: librdkafka 2.0.2's queued.min.messages (100k for the whole
 * consumer) and queued.max.messages.kbytes make the fetcher stall between
 * fetches; raised here they let the fetch threads run ahead of the poll
 * loop. Prints one JSON object.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fputs("usage: ds-bench-rawpoll BROKERS EXPECTED TOPIC...\n", stderr);
        return 64;
    }
    const char *brokers = argv[1];
    unsigned long long expected = strtoull(argv[2], NULL, 10);
    char e[512];
    int rc = 1;
    const char *kv[][2] = {
        {"bootstrap.servers", brokers},
        {"group.id", "ds-bench-rawpoll"},
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "true"},
        {"queued.min.messages", "1000000"},
        {"queued.max.messages.kbytes", "1048576"},
        {"fetch.wait.max.ms", "50"},
        {NULL, NULL}};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (size_t i = 0; kv[i][0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], e, sizeof(e))) {
            fprintf(stderr, "rawpoll: %s\n", e);
            rd_kafka_conf_destroy(conf);
            return 1;
        }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!rk) {
        fprintf(stderr, "rawpoll: %s\n", e);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(256);
    for (int t = 3; t < argc; t++) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[t], NULL);
        rd_kafka_resp_err_t ke = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        if (ke || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "rawpoll: metadata of %s failed\n", argv[t]);
            if (md)
                rd_kafka_metadata_destroy(md);
            goto out;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, argv[t], p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
    }
    if (rd_kafka_assign(rk, parts)) {
        fputs("rawpoll: assign failed\n", stderr);
        goto out;
    }
    unsigned long long n = 0, bytes = 0;
    int eofs = 0;
    double first = 0, last = 0, idle = mono_s();
    while (eofs < parts->cnt) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        double now = mono_s();
        if (!m) {
            /* Every partition EOFs once; a quiet stream after all the
             * expected records (or none at all for long) ends the run. */
            if ((n >= expected && now - idle > 1) || now - idle > 15)
                break;
            continue;
        }
        idle = now;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (!m->err) {
            if (n == 0)
                first = now;
            last = now;
            n++;
            bytes += m->len + m->key_len;
        }
        rd_kafka_message_destroy(m);
    }
    double secs = last - first;
    printf("{\"messages\":%llu,\"bytes\":%llu,\"seconds\":%.3f,"
           "\"per_s\":%.0f}\n",
           n, bytes, secs, secs > 0 ? (double)n / secs : 0.0);
    rc = n == expected ? 0 : 2;
    if (rc)
        fprintf(stderr, "rawpoll: read %llu messages, expected %llu\n", n,
                expected);
out:
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
