/*
 * kafka_producer.c - the producer side of the librdkafka adapter (kafka.h).
 *
 * The producer is idempotent, so broker retries never duplicate alerts;
 * exactly_once makes it transactional (txn.c drives the transactions).
 * Every message carries the tag set when it was produced (the runtime's
 * batch number), handed back with its delivery report, so the runtime
 * knows which batch an acknowledgement belongs to. Topics are produced to
 * through handles kept by name (see struct kafka_producer).
 */
#include "kafka.h"
#include "kafka_conf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "now.h"

struct kafka_producer {
    rd_kafka_t *rk;
    void (*on_delivery)(void *arg, uint64_t tag, enum kafka_fail failed,
                        const char *errstr, const struct kafka_msg *m);
    void *arg;
    int inflight;
    uint64_t tag; /* carried by the messages produced from now on */
    bool in_report; /* inside on_delivery: producing must not poll */
    /* Topic handles by name: producing by name makes librdkafka find the
     * topic under its handle-wide write lock for every message. A handful
     * of topics (the alert topics and the DLQ), so a scan. */
    struct producer_topic {
        char *name;
        rd_kafka_topic_t *rkt;
    } *topics;
    size_t n_topics;
};

void *kafka_producer_handle(struct kafka_producer *p) { return p->rk; }

/* Errors that reject one message for what it is, so that producing it
 * again can never succeed while other messages still can. */
static bool rejects_message(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
           e == RD_KAFKA_RESP_ERR_INVALID_RECORD;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    struct kafka_producer *p = opaque;
    p->inflight--;
    if (!p->on_delivery)
        return;
    struct kafka_msg m = {
        .topic = rd_kafka_topic_name(rkm->rkt),
        .partition = rkm->partition,
        .offset = rkm->offset,
        .key = rkm->key,
        .klen = rkm->key_len,
        .value = rkm->payload,
        .vlen = rkm->len,
        .timestamp = -1,
        .opaque = (void *)rkm,
    };
    enum kafka_fail f = !rkm->err                 ? KAFKA_DELIVERED
                        : rejects_message(rkm->err) ? KAFKA_REJECTED
                                                    : KAFKA_FAILED;
    p->in_report = true;
    p->on_delivery(p->arg, (uint64_t)(uintptr_t)rkm->_private, f,
                   rkm->err ? rd_kafka_err2str(rkm->err) : NULL, &m);
    p->in_report = false;
}

static const char *const producer_defaults[][2] = {
    {"enable.idempotence", "true"},
    {"linger.ms", "2"},
    {"compression.codec", "lz4"},
    {"batch.num.messages", "10000"},
    /* Alerts are latency-sensitive: no Nagle delay on small requests (the
     * Java clients set TCP_NODELAY too). */
    {"socket.nagle.disable", "true"},
    {NULL, NULL}};

int kafka_producer_new(const struct kafka_producer_opts *opts,
                       struct kafka_producer **out, char *err, size_t errlen)
{
    struct kafka_producer *p = calloc(1, sizeof(*p));
    rd_kafka_conf_t *conf = kafka_conf_build(
        opts->brokers, producer_defaults, opts->properties, err, errlen);
    if (!p || !conf)
        goto fail;
    p->on_delivery = opts->on_delivery;
    p->arg = opts->arg;
    if (opts->transactional_id) {
        char tmo[24];
        snprintf(tmo, sizeof(tmo), "%d", opts->transaction_timeout_ms);
        if (kafka_conf_set(conf, "transactional.id", opts->transactional_id,
                           false, err, errlen) != 0 ||
            (opts->transaction_timeout_ms > 0 &&
             kafka_conf_set(conf, "transaction.timeout.ms", tmo, false, err,
                            errlen) != 0))
            goto fail;
    }
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    char e[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!p->rk) {
        snprintf(err, errlen, "creating the producer: %s", e);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(p);
    return -1;
}

/* The handle of topic, made on first use; NULL when it cannot be made (an
 * invalid name, or no memory: rd_kafka_last_error() says which). */
static rd_kafka_topic_t *topic_handle(struct kafka_producer *p,
                                      const char *topic)
{
    for (size_t i = 0; i < p->n_topics; i++)
        if (strcmp(p->topics[i].name, topic) == 0)
            return p->topics[i].rkt;
    struct producer_topic *t =
        realloc(p->topics, (p->n_topics + 1) * sizeof(*t));
    if (!t)
        return NULL;
    p->topics = t;
    char *name = strdup(topic);
    rd_kafka_topic_t *rkt = name ? rd_kafka_topic_new(p->rk, topic, NULL) : NULL;
    if (!rkt) {
        free(name);
        return NULL;
    }
    t[p->n_topics].name = name;
    t[p->n_topics].rkt = rkt;
    p->n_topics++;
    return rkt;
}

int kafka_producer_warm(struct kafka_producer *p, const char *const *topics,
                        size_t n, int timeout_ms, char *err, size_t errlen)
{
    int64_t until = now_mono_ms() + timeout_ms;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_t *rkt = topic_handle(p, topics[i]); /* kept */
        if (!rkt) {
            snprintf(err, errlen, "topic %s: %s", topics[i],
                     rd_kafka_err2str(rd_kafka_last_error()));
            return -1;
        }
        const struct rd_kafka_metadata *md = NULL;
        int left = (int)(until - now_mono_ms());
        rd_kafka_resp_err_t ke = rd_kafka_metadata(
            p->rk, 0, rkt, &md, left > 0 ? left : 1);
        if (ke == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
            md->topics[0].err)
            ke = md->topics[0].err;
        if (md)
            rd_kafka_metadata_destroy(md);
        if (ke) {
            snprintf(err, errlen, "metadata of %s: %s", topics[i],
                     rd_kafka_err2str(ke));
            return -1;
        }
    }
    return 0;
}

int kafka_produce(struct kafka_producer *p, const char *topic,
                  const void *key, size_t klen, const void *val, size_t vlen,
                  const struct kafka_header *hdrs, size_t n_hdrs, char *err,
                  size_t errlen)
{
    return kafka_produce_to(p, topic, RD_KAFKA_PARTITION_UA, key, klen, val,
                            vlen, hdrs, n_hdrs, err, errlen);
}

int kafka_produce_to(struct kafka_producer *p, const char *topic,
                     int32_t partition, const void *key, size_t klen,
                     const void *val, size_t vlen,
                     const struct kafka_header *hdrs, size_t n_hdrs,
                     char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = topic_handle(p, topic);
    if (!rkt) {
        snprintf(err, errlen, "producing to %s: %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    for (;;) {
        rd_kafka_headers_t *h = NULL;
        if (n_hdrs) {
            h = rd_kafka_headers_new(n_hdrs);
            for (size_t i = 0; i < n_hdrs; i++)
                rd_kafka_header_add(h, hdrs[i].name, -1, hdrs[i].value, -1);
        }
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_KEY((void *)key, klen),
            RD_KAFKA_V_VALUE((void *)val, vlen),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)p->tag), RD_KAFKA_V_END);
        if (!e) {
            p->inflight++;
            return 0;
        }
        if (h)
            rd_kafka_headers_destroy(h); /* not taken over on failure */
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || p->in_report) {
            /* From a delivery report a full queue is not waited out: that
             * would serve reports from inside one. */
            snprintf(err, errlen, "producing to %s: %s", topic,
                     rd_kafka_err2str(e));
            return rejects_message(e) ? -KAFKA_REJECTED : -KAFKA_FAILED;
        }
        rd_kafka_poll(p->rk, 100); /* make room, then try again */
    }
}

int kafka_producer_partitions(struct kafka_producer *p, const char *topic,
                              int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = topic_handle(p, topic); /* kept */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t ke =
        rkt ? rd_kafka_metadata(p->rk, 0, rkt, &md, timeout_ms)
            : rd_kafka_last_error();
    if (!ke && (md->topic_cnt != 1 || md->topics[0].err))
        ke = md->topic_cnt == 1 ? md->topics[0].err
                                : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    int n = ke ? -1 : md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (n <= 0) {
        snprintf(err, errlen, "metadata of %s: %s", topic,
                 rd_kafka_err2str(ke ? ke : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        return -1;
    }
    return n;
}

int32_t kafka_partition_of(const char *name, const void *key, size_t klen,
                           int32_t cnt)
{
    /* With a non-empty key none of these reads the topic handle. */
    static const struct {
        const char *name;
        int32_t (*fn)(const rd_kafka_topic_t *, const void *, size_t, int32_t,
                      void *, void *);
    } parts[] = {
        {"consistent", rd_kafka_msg_partitioner_consistent},
        {"consistent_random", rd_kafka_msg_partitioner_consistent_random},
        {"murmur2", rd_kafka_msg_partitioner_murmur2},
        {"murmur2_random", rd_kafka_msg_partitioner_murmur2_random},
        {"fnv1a", rd_kafka_msg_partitioner_fnv1a},
        {"fnv1a_random", rd_kafka_msg_partitioner_fnv1a_random},
    };
    if (klen == 0 || cnt <= 0)
        return -1;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (strcmp(parts[i].name, name) == 0)
            return parts[i].fn(NULL, key, klen, cnt, NULL, NULL);
    return -1;
}

void kafka_producer_set_tag(struct kafka_producer *p, uint64_t tag)
{
    p->tag = tag;
}

uint64_t kafka_producer_tag(const struct kafka_producer *p) { return p->tag; }

int64_t kafka_producer_max_message(const struct kafka_producer *p)
{
    char v[32];
    size_t n = sizeof(v);
    if (rd_kafka_conf_get(rd_kafka_conf(p->rk), "message.max.bytes", v, &n) !=
        RD_KAFKA_CONF_OK)
        return 1000000; /* librdkafka's default */
    return strtoll(v, NULL, 10);
}

int kafka_producer_poll(struct kafka_producer *p, int timeout_ms)
{
    return rd_kafka_poll(p->rk, timeout_ms);
}

int kafka_producer_inflight(const struct kafka_producer *p)
{
    return p->inflight;
}

int kafka_producer_flush(struct kafka_producer *p, int timeout_ms)
{
    return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                   p->inflight == 0
               ? 0
               : -1;
}

void kafka_producer_free(struct kafka_producer *p)
{
    if (!p)
        return;
    if (rd_kafka_flush(p->rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        LOG_ERR("kafka", "%d messages not delivered at shutdown",
                rd_kafka_outq_len(p->rk));
    for (size_t i = 0; i < p->n_topics; i++) {
        rd_kafka_topic_destroy(p->topics[i].rkt);
        free(p->topics[i].name);
    }
    free(p->topics);
    rd_kafka_destroy(p->rk);
    free(p);
}

