/*
 * simulate.c - `dealstream simulate -c FILE --signal FILE.json [--json]`:
 * a would-be EnvironmentSignal (one JSON object, as `produce` takes it)
 * against the attribution processor's state, read only beside a running
 * daemon as `inspect` reads it. The estimate is the processor's
 * (processors/attribution/attribution_simulate.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "attribution_simulate.h"
#include "cli.h"
#include "codec.h"
#include "global_table.h"
#include "kafka.h"
#include "records.h"
#include "registry.h"
#include "state.h"

/* The whole file, NUL-terminated (malloc'd), or NULL with errno. */
/* The past signals: env.signals read as the global table is. */
struct past {
    struct arena *a;
    const struct env_signal **v;
    size_t n;
};

static const char *const *copy_strs(struct arena *a, const char *const *v, size_t n)
{
    const char **c = arena_alloc(a, (n ? n : 1) * sizeof(*c));
    for (size_t i = 0; i < n; i++)
        c[i] = arena_strndup(a, v[i], strlen(v[i]));
    return c;
}

static int take_past(void *arg, const struct event *ev)
{
    struct past *p = arg;
    const struct env_signal *s = &ev->u.signal;
    struct env_signal *c = arena_alloc(p->a, sizeof(*c));
    *c = *s;
    c->signal_id = arena_strndup(p->a, s->signal_id, strlen(s->signal_id));
    c->title = arena_strndup(p->a, s->title, strlen(s->title));
    c->description = NULL;
    c->regions = copy_strs(p->a, s->regions, s->n_regions);
    c->industries = copy_strs(p->a, s->industries, s->n_industries);
    const struct env_signal **v = realloc(p->v, (p->n + 1) * sizeof(*v));
    if (!v)
        abort();
    p->v = v;
    p->v[p->n++] = c;
    return 0;
}

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    struct buf b;
    buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    buf_append(&b, "", 1);
    return (char *)b.data; /* the buffer's memory, handed over */
}

int cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {"signal", required_argument, 0, 'g'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    const char *usage =
        "dealstream simulate -c FILE [--set K=V]... --signal FILE.json [--json]";
    struct cli_common c = {.sets = calloc((size_t)argc, sizeof(char *))};
    const char *signal_path = NULL;
    bool json = false;
    struct config *cfg = NULL;
    struct codec *codec = NULL;
    struct state *db = NULL;
    struct arena *a = arena_new(4096);
    struct past past = {.a = arena_new(4096)};
    struct global_table *gt = NULL;
    struct kafka_mock *mock = NULL;
    struct buf avro;
    buf_init(&avro);
    char *text = NULL;
    int ch, rc = EXIT_USAGE;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:s:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': c.config_path = optarg; break;
        case 's': c.sets[c.n_sets++] = optarg; break;
        case 'g': signal_path = optarg; break;
        case 'j': json = true; break;
        default: goto usage;
        }
    }
    if (!signal_path || !c.config_path || optind < argc)
        goto usage;
    if ((rc = cli_load_config(&c, &cfg)) != 0)
        goto out;
    rc = EXIT_RUNTIME;
    char err[512], key[512];
    if (!(text = read_file(signal_path))) {
        fprintf(stderr, "dealstream: %s: %s\n", signal_path, strerror(errno));
        goto out;
    }
    /* The signal is checked as a producer's would be: through its schema. */
    struct event ev = {.kind = EVENT_ENV_SIGNAL};
    struct codec_error cerr;
    if (codec_open(&cfg->schemas, &codec, err, sizeof(err)) != 0 ||
        codec_json_to_message(codec, "EnvironmentSignal", text, &avro, key,
                              sizeof(key), err, sizeof(err)) != 0) {
        fprintf(stderr, "dealstream: %s: %s\n", signal_path, err);
        rc = EXIT_CONFIG;
        goto out;
    }
    if (codec_decode_event(codec, EVENT_ENV_SIGNAL, key, strlen(key), avro.data,
                           avro.len, a, &ev, &cerr) != 0) {
        fprintf(stderr, "dealstream: %s: %s\n", signal_path, cerr.message);
        rc = EXIT_CONFIG;
        goto out;
    }
    const void *at_cfg = NULL;
    for (size_t i = 0; i < registry_count; i++)
        if (strcmp(registry_processors[i]->name, "attribution") == 0)
            at_cfg = cfg->plugin_cfg[i];
    struct state_options so = {.dir = cfg->state.dir,
                               .block_cache_bytes = 8 << 20,
                               .write_buffer_bytes = 4 << 20,
                               .read_only = true};
    if (!at_cfg || access(cfg->state.dir, F_OK) != 0) {
        fprintf(stderr, "dealstream: no state under %s yet\n", cfg->state.dir);
        goto out;
    }
    /* Past signals: env.signals, read to its end as the daemon's global
     * table does, and those the panels in the state hold. */
    const char *topics[EVENT_KIND_COUNT] = {0};
    topics[EVENT_ENV_SIGNAL] = cfg->topics.name[records_of_event(EVENT_ENV_SIGNAL)->id];
    struct global_table_opts go = {.kinds = EVENT_MASK(EVENT_ENV_SIGNAL),
                                   .properties = &cfg->kafka.properties,
                                   .topics = topics, .catch_up_ms = 10000};
    if (cli_brokers(cfg, false, &mock, &go.brokers) != 0 ||
        global_table_open(&go, codec, &gt, err, sizeof(err)) != 0) {
        fprintf(stderr, "dealstream: %s: %s\n", topics[EVENT_ENV_SIGNAL],
                go.brokers ? err : "no brokers");
        goto out;
    }
    global_table_foreach(gt, codec, EVENT_ENV_SIGNAL, take_past, &past);
    if (state_open(&so, &db, err, sizeof(err)) != 0 ||
        attribution_simulate(db, at_cfg, &ev.u.signal, past.v, past.n, json,
                             stdout, err, sizeof(err)) != 0) {
        fprintf(stderr, "dealstream: %s\n", err);
        goto out;
    }
    rc = EXIT_OK;
    goto out;
usage:
    fprintf(stderr, "usage: %s\n", usage);
out:
    global_table_free(gt);
    kafka_mock_stop(mock);
    free(past.v);
    arena_free(past.a);
    state_close(db);
    codec_free(codec);
    config_free(cfg);
    arena_free(a);
    buf_free(&avro);
    free(text);
    free(c.sets);
    return rc;
}
