/*
 * demo.c - `dealstream demo`: the whole product on a laptop in seconds.
 *
 * Starts an embedded broker, produces the bundled sample events
 * (examples/<input>.jsonl beside the config), runs the daemon on them with
 * a throw-away state dir until it has been idle for a moment, then reads
 * every alert topic back through Kafka and prints the alerts readably. What
 * it prints is what a downstream consumer would receive.
 *
 * Rounds, one after the other in event time too, the daemon resuming
 * each from the offsets stored with its state: the customers' context
 * (registry, IoT, documents, opportunities; Nov 2-13), the day of the
 * meetings (Nov 17: the morning's stage change, then three meetings),
 * the departments' answers that day, and the next morning: opportunity
 * updates that raise nothing but carry stream time past the team's local
 * midnight plus the digest's grace, closing the manager's day. The
 * daemon applies records as they arrive, and across topics Kafka gives
 * no order: in one round a meeting could be read before the document it
 * should have mentioned, or a stage change before its evidence, and the
 * demo would show MISSED_CONTEXT or the evidence counted only
 * sometimes. A round's events are examples/<input>.jsonl of the inputs of
 * that round (records.h), and examples/round<N>/<input>.jsonl of any
 * input.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "log.h"
#include "registry.h"
#include "runtime.h"
#include "tmpdir.h"

/* Produces the lines of file, if there is one, to topic. 0, or -1 when
 * the broker refused them. */
static int demo_file(const struct config *cfg, const char *brokers,
                     const char *topic, const char *file)
{
    FILE *in = fopen(file, "r");
    if (!in)
        return 0; /* a processor without sample data (in this round) */
    size_t produced = 0;
    int refused = cli_produce_lines(cfg, brokers, topic, in, file, &produced);
    fclose(in);
    if (refused != 0)
        return -1;
    printf("  produced %3zu sample events to %s\n", produced, topic);
    return 0;
}

/* Produces the sample events of round `round` that the config can write:
 * examples/<config key>.jsonl of the inputs whose demo round (records.h)
 * it is, and examples/round<N>/<config key>.jsonl of any input (events a
 * topic carries in a later round than its own), then runs the daemon,
 * in consumer group `group`, until it has been idle for a moment. */
static int demo_round(const struct config *cfg, struct codec *codec,
                      const char *brokers, int round, const char *group)
{
    for (size_t i = 0; i < TOPIC_COUNT; i++) {
        const struct record_def *r = &records_table[i];
        if (r->dir != RECORD_INPUT ||
            !codec_reads(codec, (enum event_kind)r->kind))
            continue; /* not an input, or the config cannot write it */
        char file[4096];
        if (r->demo_round == round) {
            snprintf(file, sizeof(file), "%s/examples/%s.jsonl", cfg->dir,
                     r->topic_key);
            if (demo_file(cfg, brokers, cfg->topics.name[i], file) != 0)
                return -1;
        }
        snprintf(file, sizeof(file), "%s/examples/round%d/%s.jsonl", cfg->dir,
                 round, r->topic_key);
        if (demo_file(cfg, brokers, cfg->topics.name[i], file) != 0)
            return -1;
    }
    struct runtime_opts o = {.cfg = cfg,
                             .brokers = brokers,
                             .procs = registry_processors,
                             .n_procs = registry_count,
                             .stop = &cli_stop,
                             .exit_when_idle_ms = 2000,
                             .consumer_group = group};
    struct runtime_stats st;
    printf("  running the daemon on them...\n");
    if (runtime_run(&o, &st) != 0)
        return -1;
    printf("  applied %llu events, %llu alerts emitted, %llu records to the "
           "DLQ\n",
           (unsigned long long)st.events, (unsigned long long)st.alerts,
           (unsigned long long)st.dlq);
    return 0;
}

/* The default config: ./processor.yaml, else the source tree's, else the
 * installed one. */
static const char *find_config(void)
{
    static const char *const candidates[] = {
        "processor.yaml", DS_SOURCE_DIR "/processor.yaml",
        "/usr/local/share/dealstream/processor.yaml",
        "/usr/share/dealstream/processor.yaml"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    return NULL;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static void print_rerating(json_t *v)
{
    printf("  LEAD RE-RATED  %-16s %s -> %s   score %.1f -> %.1f",
           str(v, "customer_id"),
           json_is_string(json_object_get(v, "previous_tier"))
               ? str(v, "previous_tier")
               : "(none)",
           str(v, "tier"), json_number_value(json_object_get(v, "previous_score")),
           json_number_value(json_object_get(v, "score")));
    if (json_is_string(json_object_get(v, "trend")))
        printf("  (%s)", str(v, "trend"));
    putchar('\n');
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(v, "reasons"), i, r)
        printf("      %+6.1f  %-38s %s %s\n",
               json_number_value(json_object_get(r, "contribution")),
               str(r, "factor"), str(r, "node_type"), str(r, "node_id"));
}

static void print_coaching(json_t *v)
{
    const char *where = json_is_string(json_object_get(v, "meeting_id"))
                            ? str(v, "meeting_id")
                        : json_is_string(json_object_get(v, "opportunity_id"))
                            ? str(v, "opportunity_id")
                            : str(v, "document_id");
    printf("  COACHING %-7s %-16s %-24s %s [%s]\n      %s\n",
           str(v, "severity"), str(v, "customer_id"), str(v, "category"), where,
           str(v, "rule"), str(v, "message"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(v, "evidence"), i, e)
        if (i < 3)
            printf("      > %s\n", json_string_value(e));
}

static void print_work_item(json_t *v)
{
    json_t *due = json_object_get(v, "due_time"), *cr = json_object_get(v, "created_time");
    printf("  WORK ITEM %-8s %-16s %-12s SLA %lld min  [%s]\n      %s\n",
           str(v, "status"), str(v, "customer_id"), str(v, "department"),
           (long long)((json_integer_value(due) - json_integer_value(cr)) / 60000),
           str(v, "work_item_id"), str(v, "task"));
    if (strcmp(str(v, "status"), "CREATED") == 0)
        printf("      > %s\n", str(v, "requirement"));
}

static void print_summary(json_t *v)
{
    printf("  MEETING ENDED  %-16s %s (closed by %s)\n     ",
           str(v, "customer_id"), str(v, "meeting_id"), str(v, "closed_by"));
    const char *k;
    json_t *m;
    int n = 0;
    json_object_foreach(json_object_get(v, "metrics"), k, m) {
        if (n++ && n % 4 == 1)
            printf("\n     ");
        double x = json_number_value(m);
        if (x == (double)(long long)x)
            printf(" %s=%lld", k, (long long)x);
        else
            printf(" %s=%.3f", k, x);
    }
    putchar('\n');
}

/* The reports of units a signal touched, in the article's words: what the
 * environment did, the calibrated target, what the unit did beyond it.
 * The other units' reports are read back and counted, not printed. */
static void print_attribution(json_t *v)
{
    if (!json_array_size(json_object_get(v, "signals")) ||
        !json_is_number(json_object_get(v, "environment_effect")))
        return;
    json_int_t rev = json_integer_value(json_object_get(v, "revision"));
    printf("  ATTRIBUTION  %-10s %s %s (%s%s%.0lld)  %s\n      %s\n",
           str(v, "unit_id"), str(v, "metric"), str(v, "period"), str(v, "method"),
           rev ? ", correction " : "", rev ? (long long)rev : 0LL, str(v, "report_id"),
           str(v, "explanation"));
    printf("      environment effect %+.1f [%+.1f, %+.1f]   calibrated target "
           "%.1f   excess %+.1f\n",
           json_number_value(json_object_get(v, "environment_effect")),
           json_number_value(json_object_get(v, "effect_low")),
           json_number_value(json_object_get(v, "effect_high")),
           json_number_value(json_object_get(v, "adjusted_target")),
           json_number_value(json_object_get(v, "excess_value")));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of JSON object o, sorted: a map's order is the order its
 * entries were added, which depends on the order alerts arrived in. */
static size_t sorted_keys(json_t *o, const char **keys, size_t max)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        (void)v;
        if (n < max)
            keys[n++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_str);
    return n;
}

/* The manager's daily red list: the top items with why they ranked
 * there, then the day's alerts by category, its overdue work items and
 * the median response per department. */
static void print_digest(json_t *v)
{
    const char *keys[64];
    json_t *counts = json_object_get(v, "counts");
    json_t *med = json_object_get(v, "median_response_hours");
    printf("  DAILY DIGEST  %s  %s (%s)  for manager %s  [%s]\n",
           str(v, "team_id"), str(v, "day"), str(v, "time_zone"),
           str(v, "manager_id"), str(v, "digest_id"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(v, "top"), i, t) {
        printf("    #%zu %-7s %-16s %-24s %s%s\n", i + 1, str(t, "severity"),
               str(t, "customer_id"), str(t, "category"), str(t, "rep_id"),
               json_is_true(json_object_get(t, "late")) ? "  (late)" : "");
        printf("       why: %s\n       %s\n", str(t, "why_ranked"),
               str(t, "message"));
    }
    if (!json_array_size(json_object_get(v, "top")))
        printf("    no RED alerts\n");
    size_t n = sorted_keys(counts, keys, 64);
    printf("    alerts by category:");
    for (i = 0; i < n; i++)
        printf("%s %s %lld", !i ? "" : i % 4 ? "," : ",\n       ", keys[i],
               (long long)json_integer_value(json_object_get(counts, keys[i])));
    printf("%s\n", n ? "" : " none");
    json_t *overdue = json_object_get(v, "overdue_work_items");
    printf("    overdue work items %lld, late alerts %lld\n",
           (long long)json_integer_value(overdue),
           (long long)json_integer_value(json_object_get(v, "late_alerts")));
    n = sorted_keys(med, keys, 64);
    if (n) {
        printf("    median response:");
        for (i = 0; i < n; i++)
            printf("%s %s %.2f h", i ? "," : "", keys[i],
                   json_number_value(json_object_get(med, keys[i])));
        putchar('\n');
    }
}

/* Reads a topic from the beginning until it has been quiet a moment. */
static size_t print_topic(const struct config *cfg, struct codec *codec,
                          const char *brokers, const char *topic,
                          void (*print)(json_t *))
{
    struct kafka_consumer *kc = NULL;
    char err[512];
    size_t n = 0;
    struct buf json;
    buf_init(&json);
    if (kafka_consumer_new_reader(brokers, &cfg->kafka.properties, topic, true,
                                  &kc, err, sizeof(err)) != 0) {
        LOG_ERR("demo", "%s", err);
        return 0;
    }
    for (int idle = 0; idle < 15;) {
        struct kafka_msg m;
        int got = kafka_consumer_poll(kc, 100, &m, err, sizeof(err));
        if (got <= 0) {
            idle++;
            continue;
        }
        idle = 0;
        if (codec_avro_to_json(codec, m.value, m.vlen, &json, err,
                               sizeof(err)) == 0) {
            json_t *v = json_loads((const char *)json.data, 0, NULL);
            if (v)
                print(v);
            json_decref(v);
            n++;
        }
        kafka_msg_release(&m);
    }
    kafka_consumer_close(kc);
    buf_free(&json);
    return n;
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {0, 0, 0, 0}};
    const char *path = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (ch != 'c') {
            fprintf(stderr, "usage: dealstream demo [-c FILE]\n");
            return EXIT_USAGE;
        }
        path = optarg;
    }
    if (!path && !(path = find_config())) {
        fprintf(stderr, "dealstream: no processor.yaml found; pass -c FILE\n");
        return EXIT_CONFIG;
    }

    char state_dir[64];
    if (tmpdir_make(state_dir, sizeof(state_dir), "demo") != 0) {
        fprintf(stderr, "dealstream: mkdtemp: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    char set_dir[sizeof(state_dir) + 16], set_level[] = "log.level=warn";
    snprintf(set_dir, sizeof(set_dir), "state.dir=%s", state_dir);
    /* Orchestration, attribution and the digest are off by default (their
     * topics may not exist in a deployment); the embedded broker has every
     * topic. Stage claims are judged on arrival here: with a grace, the
     * first event past it is the next morning's, in the round that closes
     * the claim's day, and the claim could reach the digest after the
     * close (flagged late) or before it. The sample outcomes' eight units do
     * not cover every partition, and nothing follows them to close a
     * period once a silent partition is idle: periods close on the
     * outcomes of any partition (origin_idle 0, docs/ATTRIBUTION.md). */
    const char *sets[] = {"kafka.bootstrap_servers=embedded", set_dir,
                          set_level, "processors.orchestration.enabled=true",
                          "processors.attribution.enabled=true",
                          "processors.attribution.origin_idle=0",
                          "processors.digest.enabled=true",
                          "processors.action_units.evidence_grace=0"};
    struct cli_common c = {.config_path = path, .sets = sets,
                           .n_sets = sizeof(sets) / sizeof(sets[0])};
    struct config *cfg = NULL;
    struct kafka_mock *mock = NULL;
    struct codec *codec = NULL;
    const char *brokers;
    int rc = cli_load_config(&c, &cfg);
    if (rc != 0)
        goto out;
    cli_install_signals();
    if ((rc = cli_brokers(cfg, true, &mock, &brokers)) != 0)
        goto out;

    /* A config written before attribution (or the digest) existed has
     * no schema ids for its records: the demo then runs without it. */
    char err[512];
    if (codec_open(&cfg->schemas, &codec, err, sizeof(err)) != 0) {
        LOG_ERR("demo", "%s", err);
        rc = EXIT_RUNTIME;
        goto out;
    }
    bool no_attribution = !codec_writes(codec, ALERT_ATTRIBUTION) ||
                          !codec_reads(codec, EVENT_SALES_OUTCOME) ||
                          !codec_reads(codec, EVENT_ENV_SIGNAL);
    bool no_digest = !codec_writes(codec, ALERT_DAILY_DIGEST) ||
                     !codec_reads(codec, EVENT_REP_ASSIGNMENT);
    for (size_t i = 0; i < registry_count; i++)
        if ((no_attribution &&
             strcmp(registry_processors[i]->name, "attribution") == 0) ||
            (no_digest && strcmp(registry_processors[i]->name, "digest") == 0))
            cfg->plugin_enabled[i] = false;
    printf("dealstream demo: an embedded Kafka-protocol broker on %s\n\n",
           brokers);
    const char *round_names[] = {"the customers' context",
                                 "the day of the meetings",
                                 "the departments' answers",
                                 "the next morning"};
    rc = EXIT_RUNTIME;
    /* Each round joins a consumer group of its own: rejoining the group
     * the last round just left waits seconds for the embedded broker's
     * rebalance. Where a round starts reading comes from the offsets
     * stored with the state, not from the group. kafka.group_id stays
     * as it is: it names the repartition topics, and the digest's teams
     * remember theirs (a team's day closed by the timer of a later round
     * is looked up on it). */
    for (size_t r = 0; r < sizeof(round_names) / sizeof(round_names[0]); r++) {
        char round_group[256];
        snprintf(round_group, sizeof(round_group), "%s-%zu",
                 cfg->kafka.group_id, r + 1);
        printf("%s%s:\n", r ? "\n" : "", round_names[r]);
        if (demo_round(cfg, codec, brokers, (int)r + 1, round_group) != 0)
            goto out;
    }
    printf("\n");

    /* Every output topic, with the printer of its kind (or none). */
    static void (*const printers[ALERT_KIND_COUNT])(json_t *) = {
        [ALERT_LEAD_RERATING] = print_rerating,
        [ALERT_COACHING] = print_coaching,
        [ALERT_MEETING_SUMMARY] = print_summary,
        [ALERT_WORK_ITEM] = print_work_item,
        [ALERT_ATTRIBUTION] = print_attribution,
        [ALERT_DAILY_DIGEST] = print_digest};
    size_t n = 0;
    for (int k = 0; k < ALERT_KIND_COUNT; k++) {
        const char *topic = cfg->topics.name[records_of_alert(k)->id];
        if (!printers[k])
            continue;
        printf("%s%s:\n", k ? "\n" : "", topic);
        n += print_topic(cfg, codec, brokers, topic, printers[k]);
    }
    printf("\n%zu alerts read back from Kafka.\n", n);
    rc = EXIT_OK;
out:
    codec_free(codec);
    kafka_mock_stop(mock);
    config_free(cfg);
    tmpdir_remove(state_dir);
    return rc;
}
