/*
 * rawpoll.c - the ceiling and the floor: a plain librdkafka poll loop over
 * the same topics the daemon reads.
 *
 *   ds-bench-rawpoll BROKERS EXPECTED TOPIC...
 *   ds-bench-rawpoll --latency SINCE_MS DUMP FETCH_WAIT_MS BROKERS EXPECTED
 *                    TOPIC...
 *
 * Ceiling (the first form): assigns every partition of the topics from the
 * beginning (no group rebalance to wait for), polls one message at a time
 * with rd_kafka_consumer_poll as the daemon does, touches key and value,
 * and stops when every partition has reported EOF (or EXPECTED messages
 * were read and the stream went quiet). The rate is counted from the first
 * message to the last, which is how the daemon's span is counted too.
 * Tuning: librdkafka 2.0.2's queued.min.messages (100k for the whole
 * consumer) and queued.max.messages.kbytes make the fetcher stall between
 * fetches; raised here they let the fetch threads run ahead of the poll
 * loop.
 *
 * Floor (--latency): the same loop beside the daemon in the latency phase,
 * with the daemon's consumer settings, reading the paced events as they
 * arrive. Each message with a timestamp >= SINCE_MS gives one sample, the
 * wall clock at poll minus the message's timestamp: how late a consumer
 * that does nothing receives the records, on the same broker, cores and
 * load as the daemon. Samples go to DUMP ("wall_ms latency_ms" lines); it
 * stops after EXPECTED messages (or 15 s without one).
 *
 * Either prints one JSON object.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pct.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --latency: what a sample needs. */
struct floor {
    int64_t since;
    FILE *dump;
    int64_t *lat;
    size_t n, cap;
};

static int floor_add(struct floor *f, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    if (ts < f->since)
        return 0;
    int64_t now = wall_ms();
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 65536;
        int64_t *v = realloc(f->lat, f->cap * sizeof(*v));
        if (!v)
            return -1;
        f->lat = v;
    }
    f->lat[f->n++] = now - ts;
    fprintf(f->dump, "%lld %lld\n", (long long)now, (long long)(now - ts));
    return 0;
}

static void usage(void)
{
    fputs("usage: ds-bench-rawpoll BROKERS EXPECTED TOPIC...\n"
          "       ds-bench-rawpoll --latency SINCE_MS DUMP FETCH_WAIT_MS "
          "BROKERS EXPECTED TOPIC...\n",
          stderr);
    exit(64);
}

int main(int argc, char **argv)
{
    struct floor fl = {0};
    const char *fetch_wait = "50";
    bool latency = argc > 1 && strcmp(argv[1], "--latency") == 0;
    if (latency) {
        if (argc < 8)
            usage();
        fl.since = strtoll(argv[2], NULL, 10);
        fl.dump = fopen(argv[3], "w");
        if (!fl.dump) {
            fprintf(stderr, "rawpoll: %s: %s\n", argv[3], strerror(errno));
            return 1;
        }
        fetch_wait = argv[4];
        argv += 4;
        argc -= 4;
    } else if (argc < 4) {
        usage();
    }
    const char *brokers = argv[1];
    unsigned long long expected = strtoull(argv[2], NULL, 10);
    char e[512];
    int rc = 1;
    /* The floor reads as the daemon's consumer does (daemon/kafka.c's
     * defaults), the ceiling with deeper queues. */
    const char *kv[][2] = {
        {"bootstrap.servers", brokers},
        {"group.id", latency ? "ds-bench-floor" : "ds-bench-rawpoll"},
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", latency ? "false" : "true"},
        {"queued.min.messages", latency ? "200000" : "1000000"},
        {"queued.max.messages.kbytes", latency ? "65536" : "1048576"},
        {"fetch.wait.max.ms", fetch_wait},
        {"socket.nagle.disable", latency ? "true" : "false"},
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
    while (latency ? n < expected : eofs < parts->cnt) {
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
            if (latency && floor_add(&fl, m) != 0) {
                fputs("rawpoll: out of memory\n", stderr);
                rd_kafka_message_destroy(m);
                goto out;
            }
        }
        rd_kafka_message_destroy(m);
    }
    double secs = last - first;
    if (latency) {
        pct_sort(fl.lat, fl.n);
        printf("{\"messages\":%llu,\"samples\":%zu,\"p50_ms\":%.0f,"
               "\"p99_ms\":%.0f,\"p999_ms\":%.0f,\"max_ms\":%.0f}\n",
               n, fl.n, pct_of(fl.lat, fl.n, 0.5), pct_of(fl.lat, fl.n, 0.99),
               pct_of(fl.lat, fl.n, 0.999), pct_of(fl.lat, fl.n, 1.0));
    } else
        printf("{\"messages\":%llu,\"bytes\":%llu,\"seconds\":%.3f,"
           "\"per_s\":%.0f}\n",
           n, bytes, secs, secs > 0 ? (double)n / secs : 0.0);
    rc = n == expected ? 0 : 2;
    if (rc)
        fprintf(stderr, "rawpoll: read %llu messages, expected %llu\n", n,
                expected);
out:
    if (fl.dump)
        fclose(fl.dump);
    free(fl.lat);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
