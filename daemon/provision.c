/*
 * provision.c - the topics the config names, on the cluster, before anything
 * is consumed: missing ones created through the admin API with the
 * configured partitions, replication factor and topic configs (as a platform
 * team's tooling would), and the input topics checked to be co-partitioned,
 * since partition p of every input must meet one instance's state.
 */
#include "provision.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "now.h"
#include "registry.h"

enum { PROVISION_TIMEOUT_MS = 30000, LOOKUP_TIMEOUT_MS = 2000,
       MAX_TOPICS = TOPIC_COUNT + CLI_MAX_EXTRA + CLI_MAX_REPARTITION + 1 };

/* What a topic is to the daemon. Inputs and repartition topics are what
 * the consumer subscribes to (runtime.c's setup()); the changelog is
 * partitioned like them and compacted. */
/* ROLE_GLOBAL: read whole by every instance (processor_ops.global_inputs),
 * so not co-partitioned with the inputs. */
enum topic_role { ROLE_OUTPUT, ROLE_INPUT, ROLE_REPARTITION, ROLE_CHANGELOG,
                  ROLE_GLOBAL };

/* The topics this config uses, into out[] with their roles: the outputs
 * and the DLQ, the inputs an enabled processor reads under its config
 * (processor_inputs(): a deployment need not have the others) and the
 * repartition topics. */
static size_t used_topics(const struct config *cfg, const struct cli_topics *t,
                          const char **out, enum topic_role *role)
{
    uint32_t read = processor_read_mask(cfg, registry_processors,
                                        registry_count);
    uint32_t global = processor_global_mask(cfg, registry_processors,
                                            registry_count);
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct record_def *r = i < TOPIC_COUNT ? &records_table[i] : NULL;
        if (r && r->dir == RECORD_INPUT && !((read | global) & EVENT_MASK(r->kind)))
            continue;
        if (!r && i < TOPIC_COUNT + t->n_extra) { /* a processor's own */
            role[n] = ROLE_OUTPUT;
            out[n++] = t->name[i];
            continue;
        }
        role[n] = !r ? (t->changelog[0] && strcmp(t->name[i], t->changelog) == 0
                            ? ROLE_CHANGELOG : ROLE_REPARTITION)
                     : r->dir != RECORD_INPUT ? ROLE_OUTPUT
                     : read & EVENT_MASK(r->kind) ? ROLE_INPUT : ROLE_GLOBAL;
        out[n++] = t->name[i];
    }
    return n;
}

/* Partition counts of topics[], retried while a topic just created is not
 * yet in the metadata. */
static int partition_counts(struct kafka_admin *a, const char **topics,
                            size_t n, int *counts, int64_t wait_ms,
                            char *err, size_t errlen)
{
    int64_t deadline = now_mono_ms() + wait_ms;
    for (size_t i = 0; i < n; i++) {
        for (;;) {
            counts[i] = kafka_admin_partitions(a, topics[i],
                                               LOOKUP_TIMEOUT_MS, err, errlen);
            if (counts[i] != 0 || now_mono_ms() >= deadline)
                break;
            usleep(100 * 1000);
        }
        if (counts[i] < 0)
            return -1;
    }
    return 0;
}

static int check_copartitioned(const char **inputs,
                               size_t n, const int *counts, char *err,
                               size_t errlen)
{
    for (size_t i = 1; i < n; i++) {
        if (counts[i] == counts[0])
            continue;
        snprintf(err, errlen,
                 "input topics are not co-partitioned: %s has %d partitions, "
                 "%s has %d; a customer's events must meet one state, so every "
                 "input topic needs the same partition count",
                 inputs[0], counts[0], inputs[i], counts[i]);
        return PROVISION_REFUSED;
    }
    return 0;
}

int provision_topics(const struct config *cfg, const char *brokers,
                     bool create, volatile sig_atomic_t *stop, char *err,
                     size_t errlen)
{
    struct cli_topics t;
    const char *topics[MAX_TOPICS];
    enum topic_role role[MAX_TOPICS];
    int counts[MAX_TOPICS];
    struct kafka_topic_spec missing[MAX_TOPICS];
    size_t n_missing = 0;
    struct kafka_admin *a = NULL;
    cli_config_topics(cfg, &t);
    size_t n = used_topics(cfg, &t, topics, role);
    int rc = -1;

    if (kafka_admin_new(brokers, &cfg->kafka.properties, &a, err, errlen) != 0)
        goto out;
    /* A cluster that is down at start is waited for, as the consumer
     * would wait for it. */
    while (partition_counts(a, topics, n, counts, 0, err, errlen) != 0) {
        if (*stop)
            goto out;
        LOG_RL(LOG_WARN, "kafka", "waiting for the cluster: %s", err);
        usleep(500 * 1000);
    }
    /* A repartition topic must match the inputs: it takes the partition
     * count of the first existing one. */
    int32_t like = (int32_t)cfg->kafka.topic_partitions;
    for (size_t i = 0; i < n; i++)
        if (role[i] == ROLE_INPUT && counts[i] > 0) {
            like = counts[i];
            break;
        }
    for (size_t i = 0; i < n; i++) {
        if (counts[i] > 0)
            continue;
        missing[n_missing++] = (struct kafka_topic_spec){
            .name = topics[i],
            .partitions = role[i] == ROLE_REPARTITION ||
                                  role[i] == ROLE_CHANGELOG
                              ? like
                              : (int32_t)cfg->kafka.topic_partitions,
            .replication_factor = (int16_t)cfg->kafka.replication_factor,
            .configs = &cfg->kafka.topic_configs,
            .compact = role[i] == ROLE_CHANGELOG,
        };
    }
    if (n_missing && !create) {
        snprintf(err, errlen, "topic %s does not exist (and %zu more); create "
                 "it, or set kafka.create_topics: true",
                 missing[0].name, n_missing - 1);
        rc = PROVISION_REFUSED;
        goto out;
    }
    if (n_missing) {
        if (kafka_admin_create(a, missing, n_missing, PROVISION_TIMEOUT_MS,
                               err, errlen) != 0)
            goto out;
        if (partition_counts(a, topics, n, counts, PROVISION_TIMEOUT_MS, err,
                             errlen) != 0)
            goto out;
    }
    const char *inputs[MAX_TOPICS];
    int in_counts[MAX_TOPICS];
    size_t n_inputs = 0;
    for (size_t i = 0; i < n; i++) {
        if (role[i] == ROLE_OUTPUT || role[i] == ROLE_GLOBAL)
            continue;
        inputs[n_inputs] = topics[i];
        in_counts[n_inputs++] = counts[i];
    }
    rc = check_copartitioned(inputs, n_inputs, in_counts, err, errlen);
    if (rc == 0)
        LOG_INF("kafka", "%zu topics ready (%zu created); %zu input topics "
                "with %d partitions each",
                n, n_missing, n_inputs, in_counts[0]);
out:
    kafka_admin_free(a);
    return rc;
}

int cmd_create_topics(int argc, char **argv)
{
    static const char usage[] =
        "dealstream create-topics -c FILE [--set K=V]...";
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct cli_common c = {.sets = calloc((size_t)argc, sizeof(char *))};
    struct config *cfg = NULL;
    struct kafka_mock *mock = NULL;
    const char *brokers = NULL;
    char err[1024];
    int rc = EXIT_USAGE, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        if (ch == 'c') {
            c.config_path = optarg;
        } else if (ch == 's') {
            c.sets[c.n_sets++] = optarg;
        } else {
            fprintf(ch == 'h' ? stdout : stderr, "usage: %s\n", usage);
            rc = ch == 'h' ? EXIT_OK : EXIT_USAGE;
            goto out;
        }
    }
    if (optind < argc || !c.config_path) {
        fprintf(stderr, "usage: %s\n", usage);
        goto out;
    }
    if ((rc = cli_load_config(&c, &cfg)) != 0)
        goto out;
    if ((rc = cli_brokers(cfg, false, &mock, &brokers)) != 0)
        goto out;
    cli_install_signals();
    int prc = provision_topics(cfg, brokers, true, &cli_stop, err,
                               sizeof(err));
    if (prc != 0) {
        fprintf(stderr, "dealstream: %s\n", err);
        rc = prc == PROVISION_REFUSED ? EXIT_CONFIG : EXIT_RUNTIME;
    }
out:
    kafka_mock_stop(mock);
    config_free(cfg);
    free(c.sets);
    return rc;
}
