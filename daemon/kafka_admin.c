/*
 * kafka_admin.c - the development broker (librdkafka's mock cluster, for
 * `dev-kafka`, the demo and the mock tests) and topic administration as
 * production creates topics (create-topics, changelogs), behind kafka.h.
 */
#include "kafka.h"
#include "kafka_conf.h"

#include <dirent.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "now.h"

struct kafka_mock {
    rd_kafka_t *rk; /* hosts the cluster */
    rd_kafka_mock_cluster_t *mc;
    char *bootstrap;
    pthread_t nodelay;
    bool nodelay_started;
    atomic_bool stopping;
};

/* ---- development broker ------------------------------------------------ */

/*
 * The mock cluster accepts connections without TCP_NODELAY. librdkafka
 * sends one ProduceRequest per partition, several in flight, and the
 * mock's small responses after the first then wait for the client's
 * delayed ACK: every produce that spans partitions took ~44 ms here
 * against ~2 ms for one partition, which no real broker (TCP_NODELAY)
 * costs and which would swamp any latency measured against dev-kafka.
 * The mock exposes no socket hook, so this thread sets TCP_NODELAY on the
 * process's TCP sockets every few milliseconds (on anything else the call
 * fails harmlessly; client sockets get what socket.nagle.disable gives).
 */
static void *mock_nodelay_main(void *arg)
{
    struct kafka_mock *m = arg;
    pthread_setname_np(pthread_self(), "ds-nodelay");
    const struct timespec tick = {0, 5 * 1000 * 1000};
    while (!atomic_load(&m->stopping)) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            struct stat sb;
            int fd = atoi(de->d_name);
            if (fd <= 2 || fd == dirfd(d) || fstat(fd, &sb) != 0 ||
                !S_ISSOCK(sb.st_mode))
                continue;
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        if (d)
            closedir(d);
        nanosleep(&tick, NULL);
    }
    return NULL;
}

int kafka_mock_start(int brokers, const char *const *topics, size_t n_topics,
                     int partitions, struct kafka_mock **out, char *err,
                     size_t errlen)
{
    struct kafka_mock *m = calloc(1, sizeof(*m));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char e[512];
    if (!m)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    /* The host handle has no bootstrap servers of its own; only errors
     * from it are of interest. */
    rd_kafka_conf_set(conf, "log_level", "3", e, sizeof(e));
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!m->rk) {
        snprintf(err, errlen, "creating the mock cluster's host: %s", e);
        goto fail;
    }
    conf = NULL;
    m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
    if (!m->mc) {
        snprintf(err, errlen, "creating the mock cluster failed");
        goto fail;
    }
    for (size_t i = 0; i < n_topics; i++) {
        rd_kafka_resp_err_t ke =
            rd_kafka_mock_topic_create(m->mc, topics[i], partitions, 1);
        if (ke) {
            snprintf(err, errlen, "creating topic %s: %s", topics[i],
                     rd_kafka_err2str(ke));
            goto fail;
        }
    }
    m->bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(m->mc));
    if (pthread_create(&m->nodelay, NULL, mock_nodelay_main, m) == 0)
        m->nodelay_started = true;
    else
        LOG_WRN("dev-kafka", "no TCP_NODELAY helper: multi-partition "
                "produce requests will wait ~40 ms for delayed ACKs");
    *out = m;
    return 0;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    kafka_mock_stop(m);
    return -1;
}

const char *kafka_mock_bootstrap(const struct kafka_mock *m)
{
    return m->bootstrap;
}

void kafka_mock_stop(struct kafka_mock *m)
{
    if (!m)
        return;
    if (m->nodelay_started) {
        atomic_store(&m->stopping, true);
        pthread_join(m->nodelay, NULL);
    }
    if (m->mc)
        rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk)
        rd_kafka_destroy(m->rk);
    free(m->bootstrap);
    free(m);
}

/* ---- admin: topics as production creates them --------------------------- */

struct kafka_admin {
    rd_kafka_t *rk;
};

static const char *const admin_defaults[][2] = {
    /* Looking a topic up must never create it with the broker's defaults. */
    {"allow.auto.create.topics", "false"},
    {NULL, NULL}};

int kafka_admin_new(const char *brokers, const struct cfg_strmap *properties,
                    struct kafka_admin **out, char *err, size_t errlen)
{
    struct kafka_admin *a = calloc(1, sizeof(*a));
    rd_kafka_conf_t *conf =
        kafka_conf_build(brokers, admin_defaults, properties, err, errlen);
    if (!a || !conf)
        goto fail;
    char e[512];
    a->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!a->rk) {
        snprintf(err, errlen, "creating the admin client: %s", e);
        goto fail;
    }
    *out = a;
    return 0;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(a);
    return -1;
}

void kafka_admin_free(struct kafka_admin *a)
{
    if (!a)
        return;
    rd_kafka_destroy(a->rk);
    free(a);
}

int kafka_admin_partitions(struct kafka_admin *a, const char *topic,
                           int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(a->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int rc = -1;
    if (!rkt) {
        snprintf(err, errlen, "topic %s: %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(a->rk, 0, rkt, &md, timeout_ms);
    if (e) {
        snprintf(err, errlen, "metadata of %s: %s", topic,
                 rd_kafka_err2str(e));
        goto out;
    }
    if (md->topic_cnt != 1) {
        snprintf(err, errlen, "metadata of %s: %d topics in the answer",
                 topic, md->topic_cnt);
        goto out;
    }
    e = md->topics[0].err;
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        rc = 0;
    else if (e)
        snprintf(err, errlen, "metadata of %s: %s", topic, rd_kafka_err2str(e));
    else
        rc = md->topics[0].partition_cnt;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

int kafka_admin_create(struct kafka_admin *a,
                       const struct kafka_topic_spec *specs, size_t n,
                       int timeout_ms, char *err, size_t errlen)
{
    int rc = -1;
    rd_kafka_NewTopic_t **nt = calloc(n ? n : 1, sizeof(*nt));
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(a->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(a->rk);
    rd_kafka_event_t *ev = NULL;
    char e[512];
    if (!nt)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct kafka_topic_spec *s = &specs[i];
        nt[i] = rd_kafka_NewTopic_new(s->name, s->partitions,
                                      s->replication_factor, e, sizeof(e));
        if (!nt[i]) {
            snprintf(err, errlen, "topic %s: %s", s->name, e);
            goto out;
        }
        for (size_t j = 0; s->configs && j < s->configs->n; j++)
            rd_kafka_NewTopic_set_config(nt[i], s->configs->v[j].key,
                                         s->configs->v[j].value);
        if (s->compact)
            rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy", "compact");
    }
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, e, sizeof(e));
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, e, sizeof(e));
    rd_kafka_CreateTopics(a->rk, nt, n, opts, q);
    ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
    if (!ev) {
        snprintf(err, errlen, "creating topics: no answer within %d ms",
                 timeout_ms + 5000);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "creating topics: %s",
                 rd_kafka_event_error_string(ev));
        goto out;
    }
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(
        rd_kafka_event_CreateTopics_result(ev), &cnt);
    rc = 0;
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t te = rd_kafka_topic_result_error(res[i]);
        const char *name = rd_kafka_topic_result_name(res[i]);
        if (te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) /* a peer won */
            continue;
        if (te) {
            const char *why = rd_kafka_topic_result_error_string(res[i]);
            snprintf(err, errlen, "creating %s: %s", name,
                     why ? why : rd_kafka_err2str(te));
            rc = -1;
            break;
        }
        LOG_INF("kafka", "created topic %s", name);
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    for (size_t i = 0; nt && i < n; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    return rc;
}
