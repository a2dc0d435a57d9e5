/*
 * main.c - `dealstream SUBCOMMAND ...`: dispatch, and the subcommands that
 * are about the config and the daemon itself (run, check-config,
 * config-docs). The tools live in tools.c and demo.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog.h"
#include "codec.h"
#include "cli.h"
#include "http.h"
#include "log.h"
#include "provision.h"
#include "registry.h"
#include "repartition.h"
#include "runtime.h"
#include "schema_check.h"

volatile sig_atomic_t cli_stop;
volatile sig_atomic_t cli_reload;

#ifdef DS_JEMALLOC
/* Read by jemalloc at start (MALLOC_CONF in the environment still wins).
 * librdkafka makes an LZ4 frame context for every message set it
 * compresses, and LZ4 calloc()s its 64 KiB block buffer; above the thread
 * cache's default 32 KiB, jemalloc zeroes such a buffer by
 * madvise(MADV_DONTNEED), so every message set paid a syscall, TLB
 * shootdowns and 16 page faults. Cached up to 128 KiB, it is a memset.
 * Figures: docs/PERFORMANCE.md. */
const char *malloc_conf = "tcache_max:131072";
#endif

/* Only sets a flag: the loop notices within one poll interval. */
static void on_signal(int sig)
{
    if (sig == SIGHUP)
        cli_reload = 1;
    else
        cli_stop = 1;
}

void cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* `run` only: an operator's habit, SIGHUP, must not kill the daemon (it
 * did, exit 129, without the clean stop). The tools keep the default, so
 * that closing their terminal still ends them. */
static void cli_install_reload(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
}

int cli_load_config(const struct cli_common *c, struct config **cfg)
{
    struct config_errors errs = {0};
    if (!c->config_path) {
        fprintf(stderr, "dealstream: -c FILE is required\n");
        return EXIT_USAGE;
    }
    if (config_load(c->config_path, c->sets, c->n_sets, registry_plugins(),
                    registry_count, cfg, &errs) != 0) {
        config_errors_print(&errs, stderr);
        fprintf(stderr, "%s: %zu error%s; configuration refused\n",
                c->config_path, errs.n, errs.n == 1 ? "" : "s");
        config_errors_free(&errs);
        return EXIT_CONFIG;
    }
    log_setup((enum log_level)(*cfg)->log.level,
              (enum log_format)(*cfg)->log.format);
    return 0;
}

int cli_parse_long(const char *opt, const char *s, long min, long max,
                   long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "dealstream: --%s: expected a whole number in "
                "%ld..%ld, got '%s'\n", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

void cli_config_topics(const struct config *cfg, struct cli_topics *out)
{
    size_t r = 0;
    out->n = 0;
    for (size_t i = 0; i < TOPIC_COUNT; i++)
        out->name[out->n++] = cfg->topics.name[i];
    out->n_extra = 0;
    for (size_t i = 0; i < registry_count; i++) {
        const struct processor_ops *ops = registry_processors[i];
        const char *v[CLI_MAX_EXTRA];
        if (!cfg->plugin_enabled[i] || !ops->output_topics)
            continue;
        size_t k = ops->output_topics(cfg->plugin_cfg[i], v, CLI_MAX_EXTRA);
        for (size_t j = 0; j < k && out->n_extra < CLI_MAX_EXTRA; j++) {
            bool seen = false;
            for (size_t m = 0; m < out->n && !seen; m++)
                seen = strcmp(out->name[m], v[j]) == 0;
            if (!seen) {
                out->name[out->n++] = v[j];
                out->n_extra++;
            }
        }
    }
    for (size_t i = 0; i < registry_count && r < CLI_MAX_REPARTITION; i++) {
        const struct processor_ops *ops = registry_processors[i];
        if (!cfg->plugin_enabled[i] ||
            !(processor_inputs(ops, cfg->plugin_cfg[i]) &
              EVENT_MASK(EVENT_REPARTITION)) ||
            repartition_topic(cfg->kafka.group_id, ops->name, out->repartition[r],
                              sizeof(out->repartition[r])) != 0)
            continue;
        out->name[out->n++] = out->repartition[r++];
    }
    out->changelog[0] = '\0';
    if (cfg->state.changelog &&
        changelog_topic_name(cfg->kafka.group_id, cfg->state.changelog_topic,
                             out->changelog, sizeof(out->changelog)) == 0)
        out->name[out->n++] = out->changelog;
}

int cli_brokers(const struct config *cfg, bool allow_embedded,
                struct kafka_mock **mock, const char **brokers)
{
    *mock = NULL;
    if (strcmp(cfg->kafka.bootstrap_servers, "embedded") != 0) {
        *brokers = cfg->kafka.bootstrap_servers;
        return 0;
    }
    if (!allow_embedded) {
        fprintf(stderr,
                "dealstream: kafka.bootstrap_servers is \"embedded\", which "
                "lives inside one process. Start `dealstream dev-kafka "
                "--bootstrap-file F` and pass --set "
                "kafka.bootstrap_servers=$(cat F)\n");
        return EXIT_CONFIG;
    }
    struct cli_topics topics;
    cli_config_topics(cfg, &topics);
    char err[512];
    if (kafka_mock_start(1, topics.name, topics.n, (int)cfg->kafka.embedded_partitions,
                         mock, err, sizeof(err)) != 0) {
        LOG_ERR("main", "embedded broker: %s", err);
        return EXIT_RUNTIME;
    }
    *brokers = kafka_mock_bootstrap(*mock);
    LOG_INF("main", "embedded development broker on %s", *brokers);
    return 0;
}

/* Parses -c/--set (and, where idle_ms is given, --exit-when-idle MS).
 * Returns 0, -1 after --help, or EXIT_USAGE. */
static int parse_common(int argc, char **argv, struct cli_common *c,
                        const char *usage, long *idle_ms)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {"exit-when-idle", required_argument, 0, 'i'},
                                         {0, 0, 0, 0}};
    c->sets = calloc((size_t)argc, sizeof(char *));
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            c->config_path = optarg;
            break;
        case 's':
            c->sets[c->n_sets++] = optarg;
            break;
        case 'h':
            printf("usage: %s\n", usage);
            return -1;
        case 'i':
            if (!idle_ms)
                goto bad;
            if (cli_parse_long("exit-when-idle", optarg, 1, 86400000,
                               idle_ms) != 0)
                return EXIT_USAGE;
            break;
        default:
            goto bad;
        }
    }
    if (optind < argc || !c->config_path)
        goto bad;
    return 0;
bad:
    fprintf(stderr, "usage: %s\n", usage);
    return EXIT_USAGE;
}

static void warn_schema(void *arg, const char *msg)
{
    fprintf(stderr, "%s: warning: %s\n", (const char *)arg, msg);
}

int cmd_check_config(int argc, char **argv)
{
    struct cli_common c = {0};
    struct config *cfg = NULL;
    int rc = parse_common(argc, argv, &c,
                          "dealstream check-config -c FILE [--set K=V]...",
                          NULL);
    if (rc == 0)
        rc = cli_load_config(&c, &cfg);
    if (rc == 0) {
        /* The schemas too, as run would open them: a writer id naming a
         * missing file, or a record an enabled processor needs without
         * one, is a config error found here rather than at start. */
        struct codec *codec = NULL;
        char err[1024];
        if (codec_open(&cfg->schemas, &codec, err, sizeof(err)) != 0 ||
            schema_check_processors(codec, cfg, registry_processors,
                                    registry_count, warn_schema,
                                    (void *)c.config_path, err,
                                    sizeof(err)) != 0) {
            fprintf(stderr, "%s: schemas: %s\n%s: configuration refused\n",
                    c.config_path, err, c.config_path);
            rc = EXIT_CONFIG;
        } else {
            printf("%s: ok (config %016llx)\n", c.config_path,
                   (unsigned long long)config_digest(cfg));
        }
        codec_free(codec);
    }
    config_free(cfg);
    free(c.sets);
    return rc < 0 ? 0 : rc;
}

int cmd_config_docs(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    config_write_docs(stdout, registry_plugins(), registry_count);
    return 0;
}

/* One line per topic the config names: its config key (`-` for a
 * repartition topic or the state changelog, which have none), the resolved name and its role.
 * For scripts (tests, bench, ACL and topic provisioning) that need the
 * names without parsing the Markdown reference. Every row of the records
 * table is listed, so a script can rename them all; an input no enabled
 * processor reads under this config (processor_inputs(), global tables
 * included) has the role `unread`. */
int cmd_topics(int argc, char **argv)
{
    struct cli_common c = {0};
    struct config *cfg = NULL;
    int rc = parse_common(argc, argv, &c,
                          "dealstream topics -c FILE [--set K=V]...", NULL);
    if (rc == 0 && (rc = cli_load_config(&c, &cfg)) == 0) {
        static const char *const role[] = {[RECORD_INPUT] = "input",
                                           [RECORD_OUTPUT] = "output",
                                           [RECORD_PLAIN] = "output"};
        struct cli_topics t;
        cli_config_topics(cfg, &t);
        uint32_t read =
            processor_read_mask(cfg, registry_processors, registry_count) |
            processor_global_mask(cfg, registry_processors, registry_count);
        for (size_t i = 0; i < t.n; i++) {
            /* cli_config_topics lists the table's rows first, in order. */
            const struct record_def *r = i < TOPIC_COUNT ? &records_table[i]
                                                         : NULL;
            if (r)
                printf("%s\t%s\t%s\n", r->topic_key, t.name[i],
                       r->dir == RECORD_INPUT && !(read & EVENT_MASK(r->kind))
                           ? "unread" : role[r->dir]);
            else if (i < TOPIC_COUNT + t.n_extra)
                printf("-\t%s\toutput\n", t.name[i]);
            else
                printf("-\t%s\t%s\n", t.name[i],
                       t.name[i] == t.changelog ? "changelog" : "repartition");
        }
    }
    config_free(cfg);
    free(c.sets);
    return rc < 0 ? 0 : rc;
}

int cmd_run(int argc, char **argv)
{
    struct cli_common c = {0};
    struct config *cfg = NULL;
    struct kafka_mock *mock = NULL;
    struct http_server *http = NULL;
    struct metrics_pub *pub = NULL;
    struct reload_req *reload_req = NULL;
    const char *brokers = NULL;
    long idle_ms = 0;
    int rc = parse_common(argc, argv, &c,
                          "dealstream run -c FILE [--set K=V]... "
                          "[--exit-when-idle MS]",
                          &idle_ms);
    if (rc != 0)
        goto out;
    if ((rc = cli_load_config(&c, &cfg)) != 0)
        goto out;
    cli_install_signals();
    cli_install_reload();
    char err[1024];
    if (cfg->http.listen && cfg->http.listen[0]) {
        struct http_opts ho = {.listen = cfg->http.listen,
                               .stall_ms = cfg->http.stall_ms,
                               .version = DS_VERSION};
        if (!(pub = malloc(sizeof(*pub)))) {
            rc = EXIT_RUNTIME;
            goto out;
        }
        metrics_pub_init(pub);
        ho.pub = pub;
        if (cfg->http.reload) {
            if (!(reload_req = malloc(sizeof(*reload_req)))) {
                rc = EXIT_RUNTIME;
                goto out;
            }
            reload_req_init(reload_req);
            ho.reload = reload_req;
        }
        if (http_start(&ho, &http, err, sizeof(err)) != 0) {
            LOG_ERR("http", "%s", err);
            rc = EXIT_RUNTIME;
            goto out;
        }
        LOG_INF("http", "serving /metrics, /healthz, /readyz%s on %s",
                reload_req ? ", POST /-/reload" : "", cfg->http.listen);
    }
    if ((rc = cli_brokers(cfg, true, &mock, &brokers)) != 0)
        goto out;
    int prc = provision_topics(cfg, brokers, cfg->kafka.create_topics,
                               &cli_stop, err, sizeof(err));
    if (prc != 0 && cli_stop) {
        LOG_INF("main", "stopped before the cluster answered");
        goto out;
    }
    if (prc != 0) {
        LOG_ERR("kafka", "%s", err);
        rc = prc == PROVISION_REFUSED ? EXIT_CONFIG : EXIT_RUNTIME;
        goto out;
    }
    struct reload_source src = {
        .path = c.config_path,
        .sets = (const char *const *)c.sets,
        .n_sets = c.n_sets,
        .plugins = registry_plugins(),
        .n_plugins = registry_count,
    };
    struct runtime_opts o = {
        .cfg = cfg,
        .brokers = brokers,
        .procs = registry_processors,
        .n_procs = registry_count,
        .stop = &cli_stop,
        .exit_when_idle_ms = idle_ms,
        .pub = pub,
        .reload = &cli_reload,
        .reload_src = &src,
        .reload_req = reload_req,
    };
    LOG_INF("main", "dealstream %s starting with %s", DS_VERSION, c.config_path);
    rc = runtime_run(&o, NULL) == 0 ? EXIT_OK : EXIT_RUNTIME;
out:
    reload_req_close(reload_req); /* a POST waiting would hold http_stop */
    http_stop(http); /* before the snapshot it reads */
    if (pub) {
        metrics_pub_destroy(pub);
        free(pub);
    }
    if (reload_req) {
        reload_req_destroy(reload_req);
        free(reload_req);
    }
    kafka_mock_stop(mock);
    config_free(cfg);
    free(c.sets);
    return rc < 0 ? 0 : rc;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"run", cmd_run,
     "run -c FILE [--set K=V]... [--exit-when-idle MS]  the daemon"},
    {"check-config", cmd_check_config,
     "check-config -c FILE [--set K=V]... validate (exit 0 ok, 78 invalid)"},
    {"create-topics", cmd_create_topics,
     "create-topics -c FILE [--set K=V]... create missing topics, check inputs"},
    {"dev-kafka", cmd_dev_kafka,
     "dev-kafka [-c FILE] [--brokers N] [--partitions N] --bootstrap-file PATH"},
    {"produce", cmd_produce,
     "produce -c FILE --topic NAME [FILE.jsonl|-]  JSON lines -> Avro -> Kafka"},
    {"consume", cmd_consume,
     "consume -c FILE --topic NAME [--from-beginning] [--max N] [--idle-exit MS]"},
    {"inspect", cmd_inspect,
     "inspect -c FILE --customer ID|--entity ID|--partition N  state as JSON"},
    {"simulate", cmd_simulate,
     "simulate -c FILE --signal FILE.json [--json]  a signal's expected delays"},
    {"demo", cmd_demo, "demo [-c FILE]                    sample events -> alerts"},
    {"topics", cmd_topics,
     "topics -c FILE [--set K=V]...       key, name and role of every topic"},
    {"config-docs", cmd_config_docs,
     "config-docs                       Markdown reference of every key"},
};

static void usage(FILE *fp)
{
    fprintf(fp, "dealstream %s\nusage: dealstream COMMAND [OPTIONS]\n\n",
            DS_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(fp, "  %s\n", commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("dealstream %s\n", DS_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "dealstream: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
