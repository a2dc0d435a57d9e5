/*
 * tools.c - the operator's tools around the daemon: a development broker,
 * JSON lines in and out of Avro topics, and a look at one customer's state.
 *
 * The tools read JSON with jansson directly: they sit at the edge of the
 * product, and the daemon core never parses JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "log.h"
#include "registry.h"
#include "schema_registry.h"
#include "state.h"

/* ---- dev-kafka ---------------------------------------------------------- */

/* Writes the file whole or not at all, so a reader never sees half. */
static int write_atomically(const char *path, const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *fp = fopen(tmp, "w");
    if (!fp)
        return -1;
    int ok = fputs(text, fp) >= 0 && fputc('\n', fp) != EOF;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cmd_dev_kafka(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"set", required_argument, 0, 's'},
        {"brokers", required_argument, 0, 'b'},
        {"partitions", required_argument, 0, 'p'},
        {"bootstrap-file", required_argument, 0, 'f'},
        {"topic", required_argument, 0, 't'},
        {0, 0, 0, 0}};
    const char *usage = "dealstream dev-kafka [-c FILE] [--set K=V]... "
                        "[--brokers N] [--partitions N] [--topic NAME]... "
                        "--bootstrap-file PATH";
    struct cli_common c = {.sets = calloc((size_t)argc, sizeof(char *))};
    /* Topics beside the config's, e.g. the changelogs of other groups: the
     * mock has no admin API, and a topic it was not started with it
     * creates on first mention with 4 partitions, which the inputs'
     * co-partition check then refuses. */
    const char **extra = calloc((size_t)argc, sizeof(char *));
    size_t n_extra = 0;
    const char *bootstrap_file = NULL;
    long brokers = 1, partitions = 4;
    int ch, rc = EXIT_USAGE;
    struct config *cfg = NULL;
    struct kafka_mock *mock = NULL;
    if (!c.sets || !extra) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': c.config_path = optarg; break;
        case 's': c.sets[c.n_sets++] = optarg; break;
        case 'b':
            if (cli_parse_long("brokers", optarg, 1, 16, &brokers) != 0)
                goto out;
            break;
        case 'p':
            if (cli_parse_long("partitions", optarg, 1, 1024, &partitions) != 0)
                goto out;
            break;
        case 'f': bootstrap_file = optarg; break;
        case 't': extra[n_extra++] = optarg; break;
        default: goto usage;
        }
    }
    if (!bootstrap_file || optind < argc)
        goto usage;

    struct cli_topics topics = {.n = 0};
    if (c.config_path) {
        if ((rc = cli_load_config(&c, &cfg)) != 0)
            goto out;
        cli_config_topics(cfg, &topics);
    } else {
        for (; topics.n < TOPIC_COUNT; topics.n++)
            topics.name[topics.n] = records_table[topics.n].topic;
    }
    size_t n = topics.n;
    const char **names = calloc(n + n_extra + 1, sizeof(char *));
    if (!names) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    memcpy(names, topics.name, n * sizeof(char *));
    for (size_t i = 0; i < n_extra; i++) {
        size_t j = 0;
        while (j < n && strcmp(names[j], extra[i]) != 0)
            j++;
        if (j == n)
            names[n++] = extra[i];
    }
    cli_install_signals();
    char err[512];
    int started = kafka_mock_start((int)brokers, names, n, (int)partitions,
                                   &mock, err, sizeof(err));
    free(names);
    if (started != 0) {
        LOG_ERR("dev-kafka", "%s", err);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (write_atomically(bootstrap_file, kafka_mock_bootstrap(mock)) != 0) {
        LOG_ERR("dev-kafka", "writing %s: %s", bootstrap_file, strerror(errno));
        rc = EXIT_RUNTIME;
        goto out;
    }
    LOG_INF("dev-kafka", "development broker on %s (%ld brokers, %zu topics x "
            "%ld partitions); in memory only, ~5 MiB kept per partition",
            kafka_mock_bootstrap(mock), brokers, n, partitions);
    while (!cli_stop)
        pause();
    LOG_INF("dev-kafka", "stopping");
    rc = EXIT_OK;
    goto out;
usage:
    fprintf(stderr, "usage: %s\n", usage);
out:
    kafka_mock_stop(mock);
    config_free(cfg);
    free(c.sets);
    free(extra);
    return rc;
}

/* ---- produce ------------------------------------------------------------ */

/* The record a topic carries, from the config's topic names. */
static const char *record_of_topic(const struct config *cfg, const char *topic)
{
    for (size_t i = 0; i < TOPIC_COUNT; i++)
        if (records_table[i].record && strcmp(cfg->topics.name[i], topic) == 0)
            return records_table[i].record;
    return NULL;
}

int cli_produce_lines(const struct config *cfg, const char *brokers,
                      const char *topic, FILE *in, const char *in_name,
                      size_t *produced)
{
    return cli_produce_lines_as(cfg, brokers, topic, in, in_name, produced,
                                -1);
}

/* What the produce tool's deliveries came to. */
struct delivery_count {
    size_t failed;
    char first_error[256];
};

static void count_delivery(void *arg, uint64_t tag, enum kafka_fail failed,
                           const char *errstr, const struct kafka_msg *m)
{
    struct delivery_count *dc = arg;
    (void)tag;
    (void)m;
    if (failed == KAFKA_DELIVERED)
        return;
    if (dc->failed++ == 0)
        snprintf(dc->first_error, sizeof(dc->first_error), "%s",
                 errstr ? errstr : "failed");
}

int cli_produce_lines_as(const struct config *cfg, const char *brokers,
                         const char *topic, FILE *in, const char *in_name,
                         size_t *produced, int64_t frame_id)
{
    int refused = -1;
    char err[512];
    struct codec *codec = NULL;
    struct kafka_producer *p = NULL;
    struct buf out;
    buf_init(&out);
    char *line = NULL;
    size_t cap = 0;
    *produced = 0;

    const char *record = record_of_topic(cfg, topic);
    if (!record) {
        fprintf(stderr, "dealstream: topic %s is not one of the config's "
                "record topics\n", topic);
        goto out;
    }
    if (codec_open(&cfg->schemas, &codec, err, sizeof(err)) != 0) {
        fprintf(stderr, "dealstream: %s\n", err);
        goto out;
    }
    struct delivery_count dc = {0};
    struct kafka_producer_opts po = {.brokers = brokers,
                                     .properties = &cfg->kafka.properties,
                                     .on_delivery = count_delivery,
                                     .arg = &dc};
    if (kafka_producer_new(&po, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "dealstream: %s\n", err);
        goto out;
    }
    refused = 0;
    ssize_t len;
    for (long lineno = 1; (len = getline(&line, &cap, in)) >= 0; lineno++) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *s = line + strspn(line, " \t");
        if (!*s || *s == '#')
            continue;
        /* The key is the record's key field (records.h): the customer id on
         * most topics. */
        char key[1024];
        if (codec_json_to_message(codec, record, s, &out, key, sizeof(key), err,
                                  sizeof(err)) != 0) {
            fprintf(stderr, "%s:%ld: %s\n", in_name, lineno, err);
            refused++;
            continue;
        }
        if (frame_id >= 0) { /* bytes 1-4 of the framing: the id, big-endian */
            uint8_t *f = out.data;
            f[1] = (uint8_t)((uint32_t)frame_id >> 24);
            f[2] = (uint8_t)((uint32_t)frame_id >> 16);
            f[3] = (uint8_t)((uint32_t)frame_id >> 8);
            f[4] = (uint8_t)frame_id;
        }
        if (kafka_produce(p, topic, key, strlen(key), out.data, out.len, NULL,
                          0, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s:%ld: %s\n", in_name, lineno, err);
            refused = -1;
            goto out;
        }
        (*produced)++;
        kafka_producer_poll(p, 0);
    }
    /* Until each record is delivered or has failed: librdkafka gives a
     * record up after message.timeout.ms (5 min unless kafka.properties
     * says otherwise), so a broker that is restarting is waited for, as
     * the daemon's producer waits for it. */
    while (kafka_producer_inflight(p) > 0 && !cli_stop)
        kafka_producer_poll(p, 200);
    if (kafka_producer_inflight(p) > 0 || dc.failed) {
        fprintf(stderr, "dealstream: %zu of %zu records not delivered to %s%s%s\n",
                dc.failed + (size_t)kafka_producer_inflight(p), *produced,
                brokers, dc.first_error[0] ? ": " : "", dc.first_error);
        refused = -1;
    }
out:
    free(line);
    buf_free(&out);
    kafka_producer_free(p);
    codec_free(codec);
    return refused;
}

/* --register: the topic's record schema (its reader .avsc, which is the
 * config's current writer) registered under "<topic>-value" in
 * schemas.registry_url; *id is what the registry calls it. */
static int register_schema(const struct config *cfg, const char *topic,
                           int64_t *id)
{
    const struct record_def *rd = NULL;
    for (size_t i = 0; i < TOPIC_COUNT && !rd; i++)
        if (records_table[i].record && strcmp(cfg->topics.name[i], topic) == 0)
            rd = &records_table[i];
    if (!cfg->schemas.registry_url || !cfg->schemas.registry_url[0] || !rd) {
        fprintf(stderr, "dealstream: --register needs schemas.registry_url "
                "and a record topic of the config\n");
        return EXIT_USAGE;
    }
    char path[4096], subject[512], err[4400];
    snprintf(path, sizeof(path), "%s/%s.avsc", cfg->schemas.dir, rd->schema);
    snprintf(subject, sizeof(subject), "%s-value", topic);
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    struct schema_registry *r = NULL;
    int32_t got = -1;
    int rc = EXIT_RUNTIME;
    if (!text)
        snprintf(err, sizeof(err), "%s: %s", path, je.text);
    else if (schema_registry_new(cfg->schemas.registry_url,
                                 cfg->schemas.registry_timeout_ms, &r, err,
                                 sizeof(err)) == 0 &&
             schema_registry_register(r, subject, text, &got, err,
                                      sizeof(err)) == 0) {
        fprintf(stderr, "registered %s as %s: id %d\n", path, subject,
                (int)got);
        *id = got;
        rc = 0;
    }
    if (rc != 0)
        fprintf(stderr, "dealstream: %s\n", err);
    schema_registry_free(r);
    free(text);
    json_decref(doc);
    return rc;
}

int cmd_produce(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {"topic", required_argument, 0, 't'},
                                         {"register", no_argument, 0, 'r'},
                                         {0, 0, 0, 0}};
    const char *usage =
        "dealstream produce -c FILE [--set K=V]... --topic NAME [--register] "
        "[FILE.jsonl|-]";
    bool reg = false;
    int64_t frame_id = -1;
    struct cli_common c = {.sets = calloc((size_t)argc, sizeof(char *))};
    const char *topic = NULL, *input = "-";
    struct config *cfg = NULL;
    struct kafka_mock *mock = NULL;
    FILE *in = NULL;
    int ch, rc = EXIT_USAGE;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:t:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': c.config_path = optarg; break;
        case 's': c.sets[c.n_sets++] = optarg; break;
        case 't': topic = optarg; break;
        case 'r': reg = true; break;
        default: goto usage;
        }
    }
    if (!topic || !c.config_path || argc - optind > 1)
        goto usage;
    if (optind < argc)
        input = argv[optind];
    if ((rc = cli_load_config(&c, &cfg)) != 0)
        goto out;
    if (reg && (rc = register_schema(cfg, topic, &frame_id)) != 0)
        goto out;
    const char *brokers;
    if ((rc = cli_brokers(cfg, false, &mock, &brokers)) != 0)
        goto out;
    in = strcmp(input, "-") == 0 ? stdin : fopen(input, "r");
    if (!in) {
        fprintf(stderr, "dealstream: %s: %s\n", input, strerror(errno));
        rc = EXIT_RUNTIME;
        goto out;
    }
    size_t produced = 0;
    int refused = cli_produce_lines_as(cfg, brokers, topic, in,
                                       in == stdin ? "<stdin>" : input,
                                       &produced, frame_id);
    fprintf(stderr, "produced %zu records to %s", produced, topic);
    if (refused > 0)
        fprintf(stderr, "; refused %d lines", refused);
    fputc('\n', stderr);
    rc = refused == 0 ? EXIT_OK : EXIT_RUNTIME;
    goto out;
usage:
    fprintf(stderr, "usage: %s\n", usage);
out:
    if (in && in != stdin)
        fclose(in);
    kafka_mock_stop(mock);
    config_free(cfg);
    free(c.sets);
    return rc;
}

/* ---- consume ------------------------------------------------------------ */

/* One record with its metadata and headers; the value decoded when it can
 * be, else as hex (the DLQ holds bytes that did not decode). */
static void print_envelope(struct codec *codec, const struct kafka_msg *m,
                           struct buf *json)
{
    json_t *o = json_object();
    json_object_set_new(o, "topic", json_string(m->topic));
    json_object_set_new(o, "partition", json_integer(m->partition));
    json_object_set_new(o, "offset", json_integer(m->offset));
    json_object_set_new(o, "key", m->key ? json_stringn_nocheck(m->key, m->klen)
                                         : json_null());
    json_t *h = json_object();
    const char *name;
    const void *val;
    size_t len;
    for (size_t i = 0; kafka_msg_header(m, i, &name, &val, &len) == 0; i++)
        json_object_set_new(h, name, json_stringn_nocheck(val ? val : "", len));
    json_object_set_new(o, "headers", h);
    char err[256];
    json_t *v = NULL;
    if (codec_avro_to_json(codec, m->value, m->vlen, json, err, sizeof(err)) == 0)
        v = json_loads((const char *)json->data, 0, NULL);
    if (v) {
        json_object_set_new(o, "value", v);
    } else {
        char *hex = malloc(m->vlen * 2 + 1);
        for (size_t i = 0; i < m->vlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)m->value)[i]);
        hex[m->vlen * 2] = '\0';
        json_object_set_new(o, "value_hex", json_string(hex));
        free(hex);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    puts(s);
    free(s);
    json_decref(o);
}

int cmd_consume(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"set", required_argument, 0, 's'},
        {"topic", required_argument, 0, 't'},
        {"from-beginning", no_argument, 0, 'b'},
        {"max", required_argument, 0, 'm'},
        {"idle-exit", required_argument, 0, 'i'},
        {"envelope", no_argument, 0, 'e'},
        {0, 0, 0, 0}};
    const char *usage = "dealstream consume -c FILE [--set K=V]... --topic NAME "
                        "[--from-beginning] [--max N] [--idle-exit MS] "
                        "[--envelope]";
    struct cli_common c = {.sets = calloc((size_t)argc, sizeof(char *))};
    const char *topic = NULL;
    bool from_beginning = false, envelope = false;
    long max = -1, idle_exit = -1;
    struct config *cfg = NULL;
    struct kafka_mock *mock = NULL;
    struct kafka_consumer *kc = NULL;
    struct codec *codec = NULL;
    struct buf json;
    buf_init(&json);
    int ch, rc = EXIT_USAGE;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:t:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': c.config_path = optarg; break;
        case 's': c.sets[c.n_sets++] = optarg; break;
        case 't': topic = optarg; break;
        case 'b': from_beginning = true; break;
        case 'm':
            if (cli_parse_long("max", optarg, 0, LONG_MAX, &max) != 0)
                goto out;
            break;
        case 'i':
            if (cli_parse_long("idle-exit", optarg, 0, 86400000, &idle_exit) != 0)
                goto out;
            break;
        case 'e': envelope = true; break;
        default: goto usage;
        }
    }
    if (!topic || !c.config_path || optind < argc)
        goto usage;
    if ((rc = cli_load_config(&c, &cfg)) != 0)
        goto out;
    const char *brokers;
    if ((rc = cli_brokers(cfg, false, &mock, &brokers)) != 0)
        goto out;
    char err[512];
    rc = EXIT_RUNTIME;
    if (codec_open(&cfg->schemas, &codec, err, sizeof(err)) != 0 ||
        kafka_consumer_new_reader(brokers, &cfg->kafka.properties, topic,
                                  from_beginning, &kc, err, sizeof(err)) != 0) {
        fprintf(stderr, "dealstream: %s\n", err);
        goto out;
    }
    /* The DLQ holds bytes that may not be Avro: always show them whole. */
    if (strcmp(topic, cfg->topics.dlq) == 0)
        envelope = true;
    cli_install_signals();
    long seen = 0;
    int64_t idle = 0;
    while (!cli_stop && (max < 0 || seen < max)) {
        struct kafka_msg m;
        int got = kafka_consumer_poll(kc, 100, &m, err, sizeof(err));
        if (got < 0) {
            fprintf(stderr, "dealstream: %s\n", err);
            goto out;
        }
        if (got == 0) {
            idle += 100;
            if (idle_exit >= 0 && idle >= idle_exit)
                break;
            continue;
        }
        idle = 0;
        if (envelope) {
            print_envelope(codec, &m, &json);
        } else if (codec_avro_to_json(codec, m.value, m.vlen, &json, err,
                                      sizeof(err)) == 0) {
            puts((const char *)json.data);
        } else {
            fprintf(stderr, "%s[%d]@%lld: %s\n", m.topic, m.partition,
                    (long long)m.offset, err);
        }
        fflush(stdout);
        kafka_msg_release(&m);
        seen++;
    }
    rc = EXIT_OK;
    goto out;
usage:
    fprintf(stderr, "usage: %s\n", usage);
out:
    kafka_consumer_close(kc);
    codec_free(codec);
    buf_free(&json);
    kafka_mock_stop(mock);
    config_free(cfg);
    free(c.sets);
    return rc;
}

/* ---- inspect ------------------------------------------------------------ */

struct inspect_walk {
    const struct processor_ops *ops;
    const char *customer;
    struct jw *w;
    size_t found;
};

/* Keys of one customer are "<proc>/<customer>" and "<proc>/<customer>/...". */
static int inspect_one(void *arg, const void *key, size_t klen,
                       const void *val, size_t vlen)
{
    struct inspect_walk *iw = arg;
    size_t plen = strlen(iw->ops->name) + 1 + strlen(iw->customer);
    const char *rest = (const char *)key + plen;
    if (klen > plen && *rest != '/')
        return 0; /* another customer whose id starts with this one */
    char skey[1024];
    size_t n = klen - (strlen(iw->ops->name) + 1);
    if (n >= sizeof(skey))
        return 0;
    memcpy(skey, (const char *)key + strlen(iw->ops->name) + 1, n);
    skey[n] = '\0';
    void *st = NULL;
    if (iw->ops->state_decode(skey, val, vlen, &st) != 0) {
        jw_str(iw->w, skey, "<state that does not decode>");
        return 0;
    }
    jw_key(iw->w, skey); /* state_to_json writes one object, key NULL */
    iw->ops->state_to_json(st, iw->w);
    iw->ops->state_free(st);
    iw->found++;
    return 0;
}

struct inspect_offsets {
    int32_t partition;
    struct jw *w;
    size_t found;
};

static int inspect_offset(void *arg, const char *topic, int32_t partition,
                          int64_t next)
{
    struct inspect_offsets *io = arg;
    if (partition == io->partition) {
        jw_int(io->w, topic, next);
        io->found++;
    }
    return 0;
}

/* --partition: what the state of partition group p reflects: its
 * stream-time watermark and the next offset of each topic (the changelog's
 * checkpoint among them). */
static int inspect_partition(struct state *db, int32_t p, struct jw *w,
                             size_t *found, char *err, size_t errlen)
{
    int64_t wm;
    int rc = state_watermark_get(db, p, &wm, err, errlen);
    if (rc < 0)
        return -1;
    jw_int(w, "partition", p);
    if (rc == 1) {
        time_t s = (time_t)(wm / 1000);
        struct tm tm;
        char iso[40];
        if (gmtime_r(&s, &tm) &&
            strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm)) {
            size_t n = strlen(iso);
            snprintf(iso + n, sizeof(iso) - n, ".%03dZ", (int)(wm % 1000));
            jw_str(w, "watermark", iso);
        }
        jw_int(w, "watermark_ms", wm);
        ++*found;
    } else {
        jw_null(w, "watermark");
    }
    struct inspect_offsets io = {p, w, 0};
    jw_obj_begin(w, "offsets");
    if (state_offset_scan(db, inspect_offset, &io, err, errlen) != 0)
        return -1;
    jw_obj_end(w);
    *found += io.found;
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {"customer", required_argument, 0, 'u'},
                                         {"entity", required_argument, 0, 'e'},
                                         {"partition", required_argument, 0, 'p'},
                                         {0, 0, 0, 0}};
    const char *usage =
        "dealstream inspect -c FILE [--set K=V]... --customer ID | --entity ID"
        " | --partition N";
    /* --entity: the same walk over an entity's keys (propagation's index
     * of the customers linked to it), labelled as an entity. */
    const char *label = "customer_id";
    struct cli_common c = {.sets = calloc((size_t)argc, sizeof(char *))};
    const char *customer = NULL;
    long partition = -1;
    char *end;
    struct config *cfg = NULL;
    struct state *db = NULL;
    struct jw *w = NULL;
    int ch, rc = EXIT_USAGE;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:u:e:p:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': c.config_path = optarg; break;
        case 's': c.sets[c.n_sets++] = optarg; break;
        case 'u': customer = optarg; break;
        case 'e': customer = optarg; label = "entity_id"; break;
        case 'p':
            partition = strtol(optarg, &end, 10);
            if (end == optarg || *end || partition < 0 || partition > INT32_MAX)
                goto usage;
            break;
        default: goto usage;
        }
    }
    if ((!customer) == (partition < 0) || !c.config_path || optind < argc)
        goto usage;
    if ((rc = cli_load_config(&c, &cfg)) != 0)
        goto out;
    char err[512];
    struct state_options so = {.dir = cfg->state.dir,
                               .block_cache_bytes = 8 << 20,
                               .write_buffer_bytes = 4 << 20,
                               .read_only = true};
    rc = EXIT_RUNTIME;
    if (access(cfg->state.dir, F_OK) != 0) {
        fprintf(stderr, "dealstream: no state under %s yet\n", cfg->state.dir);
        goto out;
    }
    if (state_open(&so, &db, err, sizeof(err)) != 0) {
        fprintf(stderr, "dealstream: %s\n", err);
        goto out;
    }
    w = jw_new();
    jw_obj_begin(w, NULL);
    size_t found = 0;
    if (partition >= 0) {
        if (inspect_partition(db, (int32_t)partition, w, &found, err,
                              sizeof(err)) != 0) {
            fprintf(stderr, "dealstream: %s\n", err);
            goto out;
        }
        jw_obj_end(w);
        char *doc = jw_finish(w, true);
        puts(doc);
        free(doc);
        if (!found)
            fprintf(stderr, "dealstream: no state for partition %ld\n",
                    partition);
        rc = found ? EXIT_OK : EXIT_RUNTIME;
        goto out;
    }
    jw_str(w, label, customer);
    for (size_t i = 0; i < registry_count; i++) {
        struct inspect_walk iw = {registry_processors[i], customer, w, 0};
        char prefix[1024];
        snprintf(prefix, sizeof(prefix), "%s/%s", iw.ops->name, customer);
        jw_obj_begin(w, iw.ops->name);
        if (state_scan(db, prefix, strlen(prefix), inspect_one, &iw, err,
                       sizeof(err)) != 0) {
            fprintf(stderr, "dealstream: %s\n", err);
            goto out;
        }
        jw_obj_end(w);
        found += iw.found;
    }
    jw_obj_end(w);
    char *doc = jw_finish(w, true);
    puts(doc);
    free(doc);
    if (!found)
        fprintf(stderr, "dealstream: no state for %s %s\n",
                label[0] == 'e' ? "entity" : "customer", customer);
    rc = found ? EXIT_OK : EXIT_RUNTIME;
    goto out;
usage:
    fprintf(stderr, "usage: %s\n", usage);
out:
    jw_free(w);
    state_close(db);
    config_free(cfg);
    free(c.sets);
    return rc;
}
