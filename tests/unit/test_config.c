/*
 * test_config.c - the config loader: binding of every core key, defaults,
 * path resolution, --set overrides, plugin sections (with YAML-flow
 * defaults), every kind of error with its exact place, and the docs.
 *
 * Each test writes its YAML into a fresh temporary folder, so relative paths
 * and schema files are checked for real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* ------------------------------------------------------------------------ */
/* A plugin with every collection type, as a processor would declare it. */

struct weight {
    char *name; /* map key */
    double weight;
    int64_t half_life_ms;
};

struct rule {
    char *id;
    int64_t threshold;
    struct cfg_strlist keywords;
    int severity;
};

struct limits {
    int64_t min, max;
};

struct coach_cfg {
    struct cfg_strlist stop_words;
    struct cfg_strmap labels;
    struct cfg_array weights; /* struct weight */
    struct cfg_array rules;   /* struct rule */
    struct limits limits;
    struct limits window; /* a section with a YAML-flow default */
    char *model;
};

static const char *const severities[] = {"INFO", "WARNING", "RED", NULL};

static const struct config_key weight_keys[] = {
    CFG_KEY_RANGE(struct weight, weight, "weight", CFG_DOUBLE, "1", 0, 100,
                  "Contribution of one signal."),
    CFG_KEY(struct weight, half_life_ms, "half_life", CFG_DURATION, "30d",
            "Time for the contribution to halve."),
};
static const struct config_table weight_table = {
    .name = "weight",
    .keys = weight_keys,
    .n_keys = CFG_COUNT(weight_keys),
    .elem_size = sizeof(struct weight),
    .name_offset = offsetof(struct weight, name),
};

static const struct config_key rule_keys[] = {
    {.name = "id", .type = CFG_STRING, .offset = offsetof(struct rule, id),
     .required = true, .desc = "Rule id, copied into alerts."},
    CFG_KEY_RANGE(struct rule, threshold, "threshold", CFG_INT, "3", 1, 10,
                  "Hits before the rule fires."),
    CFG_KEY(struct rule, keywords, "keywords", CFG_STRLIST, "[]",
            "Phrases that count as hits."),
    CFG_KEY_ENUM(struct rule, severity, "severity", "WARNING", severities,
                 "Alert severity."),
};
static const struct config_table rule_table = {
    .name = "rule",
    .keys = rule_keys,
    .n_keys = CFG_COUNT(rule_keys),
    .elem_size = sizeof(struct rule),
};

static const char *limits_check(const void *obj)
{
    const struct limits *l = obj;
    return l->min > l->max ? "min must not exceed max" : NULL;
}

static const struct config_key limits_keys[] = {
    CFG_KEY(struct limits, min, "min", CFG_INT, "1", "Lower limit."),
    CFG_KEY(struct limits, max, "max", CFG_INT, "5", "Upper limit."),
};
static const struct config_table limits_table = {
    .name = "limits",
    .keys = limits_keys,
    .n_keys = CFG_COUNT(limits_keys),
    .elem_size = sizeof(struct limits),
    .check = limits_check,
};

static const struct config_key coach_keys[] = {
    {.name = "stop_words", .type = CFG_STRLIST,
     .offset = offsetof(struct coach_cfg, stop_words), .def = "[um, uh]",
     .bounded = true, .min = 0, .max = 3, .desc = "Ignored words."},
    CFG_KEY(struct coach_cfg, labels, "labels", CFG_STRMAP,
            "{RED: urgent, INFO: fyi}", "Label per severity."),
    {.name = "weights", .type = CFG_MAP,
     .offset = offsetof(struct coach_cfg, weights),
     .def = "{iot.vibration_anomaly.CRITICAL: {weight: 8, half_life: 14d}, "
            "downtime: {}}",
     .sub = &weight_table, .desc = "Signal weights by signal name."},
    {.name = "rules", .type = CFG_LIST,
     .offset = offsetof(struct coach_cfg, rules),
     .def = "[{id: talk_ratio, threshold: 2, keywords: [price, cost]}]",
     .sub = &rule_table, .bounded = true, .min = 0, .max = 4,
     .desc = "Coaching rules."},
    CFG_KEY_SUB(struct coach_cfg, limits, "limits", CFG_SECTION,
                &limits_table, "Limits."),
    {.name = "window", .type = CFG_SECTION,
     .offset = offsetof(struct coach_cfg, window), .def = "{max: 30}",
     .sub = &limits_table, .desc = "Window."},
    CFG_KEY(struct coach_cfg, model, "model", CFG_STRING, "basic|v1",
            "Model name."),
};
static const struct config_table coach_table = {
    .name = "coaching",
    .keys = coach_keys,
    .n_keys = CFG_COUNT(coach_keys),
    .elem_size = sizeof(struct coach_cfg),
    .doc = "Test plugin with every collection type.",
};

/* A plugin with a required key, used only where that is the point. */
struct strict_cfg {
    char *token;
};
static const struct config_key strict_keys[] = {
    {.name = "token", .type = CFG_STRING,
     .offset = offsetof(struct strict_cfg, token), .required = true,
     .desc = "Must be given."},
};
static const struct config_table strict_table = {
    .name = "strict",
    .keys = strict_keys,
    .n_keys = CFG_COUNT(strict_keys),
    .elem_size = sizeof(struct strict_cfg),
};

/* A plugin whose default is broken: a programming error, not a crash. */
struct broken_cfg {
    int64_t n;
    struct cfg_array items;
};
static const struct config_key broken_keys[] = {
    CFG_KEY(struct broken_cfg, n, "n", CFG_INT, "[1, 2", "Broken default."),
    {.name = "items", .type = CFG_LIST,
     .offset = offsetof(struct broken_cfg, items), .def = "[{weight: lots}]",
     .sub = &weight_table, .desc = "Item with a bad default."},
};
static const struct config_table broken_table = {
    .name = "broken",
    .keys = broken_keys,
    .n_keys = CFG_COUNT(broken_keys),
    .elem_size = sizeof(struct broken_cfg),
};

static const struct config_plugin plugins[] = {
    {.name = "coaching", .table = &coach_table},
    {.name = "lead_rating", .table = NULL},
};
#define N_PLUGINS CFG_COUNT(plugins)

/* ------------------------------------------------------------------------ */
/* Temporary folder with files */

struct tmp {
    char dir[64];
    char *files[16];
    size_t n;
};

static struct tmp T;

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof(T));
    snprintf(T.dir, sizeof(T.dir), "/tmp/test_config.XXXXXX");
    return mkdtemp(T.dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < T.n; i++) {
        unlink(T.files[i]);
        free(T.files[i]);
    }
    /* Subfolders created by tests, deepest first. */
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/schemas", T.dir);
    rmdir(sub);
    return rmdir(T.dir);
}

/* Writes `text` to <tmpdir>/<name>; returns the full path (owned by T). */
static const char *put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", T.dir, name);
    if (strchr(name, '/')) {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s/%.*s", T.dir,
                 (int)(strchr(name, '/') - name), name);
        mkdir(sub, 0700);
    }
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_true(T.n < 16);
    T.files[T.n] = strdup(path);
    return T.files[T.n++];
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* Loads expecting success; prints the errors if not. */
static struct config *load_ok(const char *path, const char *const *sets,
                              size_t n_sets)
{
    struct config *cfg = (struct config *)1;
    struct config_errors errs = {0};
    int rc = config_load(path, sets, n_sets, plugins, N_PLUGINS, &cfg, &errs);
    config_errors_print(&errs, stdout);
    assert_int_equal(rc, 0);
    assert_int_equal(errs.n, 0);
    assert_non_null(cfg);
    config_errors_free(&errs);
    return cfg;
}

/* Loads expecting failure; the caller checks and frees the errors. */
static void load_bad(const char *path, const char *const *sets, size_t n_sets,
                     const struct config_plugin *pl, size_t n_pl,
                     struct config_errors *errs)
{
    struct config *cfg = (struct config *)1;
    memset(errs, 0, sizeof(*errs));
    int rc = config_load(path, sets, n_sets, pl, n_pl, &cfg, errs);
    assert_int_equal(rc, -1);
    assert_null(cfg);
    assert_true(errs->n > 0);
}

/* errs->msgs[i] must be exactly "<path>:<rest>". */
static void err_is(const struct config_errors *errs, size_t i,
                   const char *path, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof(want), "%s:%s", path, rest);
    if (i >= errs->n || strcmp(errs->msgs[i], want) != 0) {
        print_message("want: %s\n", want);
        config_errors_print(errs, stdout);
    }
    assert_true(i < errs->n);
    assert_string_equal(errs->msgs[i], want);
}

static bool has_err(const struct config_errors *errs, const char *sub)
{
    for (size_t i = 0; i < errs->n; i++)
        if (strstr(errs->msgs[i], sub))
            return true;
    print_message("no error containing: %s\n", sub);
    config_errors_print(errs, stdout);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Good files */

static void test_good_file_binds_every_core_field(void **state)
{
    (void)state;
    put("schemas/a.avsc", "{}");
    put("b.avsc", "{}");
    const char *path = put("p.yaml",
        "kafka:\n"
        "  bootstrap_servers: k1:9092,k2:9092\n"
        "  group_id: g1\n"
        "  properties:\n"
        "    security.protocol: SSL\n"
        "    fetch.wait.max.ms: 50\n"
        "  embedded_partitions: 8\n"
        "topics:\n"
        "  transcripts: t1\n"
        "  doc_annotations: t2\n"
        "  iot_alerts: t3\n"
        "  registry_changes: t4\n"
        "  opportunity_updates: t5\n"
        "  lead_ratings: t6\n"
        "  coaching_alerts: t7\n"
        "  meeting_metrics: t8\n"
        "  dlq: t9\n"
        "schemas:\n"
        "  dir: /opt/schemas\n"
        "  ids:\n"
        "    7: schemas/a.avsc\n"
        "    0012: b.avsc\n"
        "state:\n"
        "  dir: st\n"
        "  batch_max_events: 10\n"
        "  batch_interval: 2s\n"
        "  cache_max_entries: 77\n"
        "  block_cache: 2GiB\n"
        "  write_buffer: 512KiB\n"
        "  sync_commit: yes\n"
        "log:\n"
        "  level: debug\n"
        "  format: json\n"
        "runtime:\n"
        "  idle_check_interval: 250ms\n"
        "  shutdown_timeout: 1m\n"
        "processors:\n"
        "  lead_rating:\n"
        "    enabled: off\n");
    struct config *cfg = load_ok(path, NULL, 0);
    char *real = realpath(T.dir, NULL);

    assert_string_equal(cfg->path, path);
    assert_string_equal(cfg->dir, real);
    assert_string_equal(cfg->kafka.bootstrap_servers, "k1:9092,k2:9092");
    assert_string_equal(cfg->kafka.group_id, "g1");
    assert_int_equal(cfg->kafka.properties.n, 2);
    assert_string_equal(cfg->kafka.properties.v[0].key, "security.protocol");
    assert_string_equal(cfg->kafka.properties.v[0].value, "SSL");
    assert_string_equal(cfg->kafka.properties.v[1].key, "fetch.wait.max.ms");
    assert_string_equal(cfg->kafka.properties.v[1].value, "50");
    assert_int_equal(cfg->kafka.embedded_partitions, 8);

    assert_string_equal(cfg->topics.transcripts, "t1");
    assert_string_equal(cfg->topics.doc_annotations, "t2");
    assert_string_equal(cfg->topics.iot_alerts, "t3");
    assert_string_equal(cfg->topics.registry_changes, "t4");
    assert_string_equal(cfg->topics.opportunity_updates, "t5");
    assert_string_equal(cfg->topics.lead_ratings, "t6");
    assert_string_equal(cfg->topics.coaching_alerts, "t7");
    assert_string_equal(cfg->topics.meeting_metrics, "t8");
    assert_string_equal(cfg->topics.dlq, "t9");

    assert_string_equal(cfg->schemas.dir, "/opt/schemas");
    assert_int_equal(cfg->schemas.ids.n, 2);
    char *a = join(real, "schemas/a.avsc"), *b = join(real, "b.avsc");
    assert_string_equal(cfg->schemas.ids.v[0].key, "7");
    assert_string_equal(cfg->schemas.ids.v[0].value, a);
    assert_string_equal(cfg->schemas.ids.v[1].key, "12"); /* canonical */
    assert_string_equal(cfg->schemas.ids.v[1].value, b);

    char *st = join(real, "st");
    assert_string_equal(cfg->state.dir, st);
    assert_int_equal(cfg->state.batch_max_events, 10);
    assert_int_equal(cfg->state.batch_interval_ms, 2000);
    assert_int_equal(cfg->state.cache_max_entries, 77);
    assert_int_equal(cfg->state.block_cache_bytes, INT64_C(2) << 30);
    assert_int_equal(cfg->state.write_buffer_bytes, 512 * 1024);
    assert_true(cfg->state.sync_commit);
    assert_int_equal(cfg->log.level, 3);
    assert_int_equal(cfg->log.format, 1);
    assert_int_equal(cfg->runtime.idle_check_interval_ms, 250);
    assert_int_equal(cfg->runtime.shutdown_timeout_ms, 60000);

    assert_int_equal(cfg->n_plugins, 2);
    assert_true(cfg->plugin_enabled[0]);
    assert_false(cfg->plugin_enabled[1]);
    assert_non_null(cfg->plugin_cfg[0]);
    assert_non_null(cfg->plugin_cfg[1]);
    free(a);
    free(b);
    free(st);
    free(real);
    config_free(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    const char *path = put("empty.yaml", "# nothing but a comment\n");
    struct config *cfg = load_ok(path, NULL, 0);
    char *real = realpath(T.dir, NULL);
    char *st = join(real, "var/state"), *sc = join(real, "schemas");

    assert_string_equal(cfg->kafka.bootstrap_servers, "embedded");
    assert_string_equal(cfg->kafka.group_id, "dealstream");
    assert_int_equal(cfg->kafka.properties.n, 0);
    assert_int_equal(cfg->kafka.embedded_partitions, 4);
    assert_string_equal(cfg->topics.transcripts, "sales.transcripts");
    assert_string_equal(cfg->topics.doc_annotations, "sales.doc-annotations");
    assert_string_equal(cfg->topics.iot_alerts, "ops.iot-alerts");
    assert_string_equal(cfg->topics.registry_changes, "ref.registry-changes");
    assert_string_equal(cfg->topics.opportunity_updates,
                        "crm.opportunity-updates");
    assert_string_equal(cfg->topics.lead_ratings, "sales.lead-ratings");
    assert_string_equal(cfg->topics.coaching_alerts, "sales.coaching-alerts");
    assert_string_equal(cfg->topics.meeting_metrics, "sales.meeting-metrics");
    assert_string_equal(cfg->topics.dlq, "dealstream.dlq");
    assert_string_equal(cfg->schemas.dir, sc);
    assert_int_equal(cfg->schemas.ids.n, 0);
    assert_string_equal(cfg->state.dir, st);
    assert_int_equal(cfg->state.batch_max_events, 5000);
    assert_int_equal(cfg->state.batch_interval_ms, 200);
    assert_int_equal(cfg->state.cache_max_entries, 50000);
    assert_int_equal(cfg->state.encoded_cache_bytes, 128 << 20);
    assert_int_equal(cfg->state.block_cache_bytes, 64 << 20);
    assert_int_equal(cfg->state.write_buffer_bytes, 16 << 20);
    assert_false(cfg->state.sync_commit);
    assert_int_equal(cfg->log.level, 2);
    assert_int_equal(cfg->log.format, 0);
    assert_int_equal(cfg->runtime.idle_check_interval_ms, 1000);
    assert_int_equal(cfg->runtime.shutdown_timeout_ms, 10000);

    /* Plugins absent from the file are bound with their defaults, which
     * are YAML flow text in the table. */
    assert_true(cfg->plugin_enabled[0] && cfg->plugin_enabled[1]);
    assert_non_null(cfg->plugin_cfg[1]);
    const struct coach_cfg *cc = cfg->plugin_cfg[0];
    assert_int_equal(cc->stop_words.n, 2);
    assert_string_equal(cc->stop_words.v[0], "um");
    assert_string_equal(cc->stop_words.v[1], "uh");
    assert_int_equal(cc->labels.n, 2);
    assert_string_equal(cc->labels.v[0].key, "RED");
    assert_string_equal(cc->labels.v[0].value, "urgent");
    assert_int_equal(cc->weights.n, 2);
    const struct weight *w = cc->weights.items;
    assert_string_equal(w[0].name, "iot.vibration_anomaly.CRITICAL");
    assert_true(w[0].weight == 8.0);
    assert_int_equal(w[0].half_life_ms, INT64_C(14) * 86400000);
    assert_string_equal(w[1].name, "downtime");
    assert_true(w[1].weight == 1.0);                           /* item default */
    assert_int_equal(w[1].half_life_ms, INT64_C(30) * 86400000); /* item default */
    assert_int_equal(cc->rules.n, 1);
    const struct rule *r = cc->rules.items;
    assert_string_equal(r[0].id, "talk_ratio");
    assert_int_equal(r[0].threshold, 2);
    assert_int_equal(r[0].keywords.n, 2);
    assert_string_equal(r[0].keywords.v[1], "cost");
    assert_int_equal(r[0].severity, 1);
    assert_int_equal(cc->limits.min, 1);
    assert_int_equal(cc->limits.max, 5);
    assert_int_equal(cc->window.min, 1); /* the sub-table's default */
    assert_int_equal(cc->window.max, 30); /* the section's default */
    assert_string_equal(cc->model, "basic|v1");

    free(st);
    free(sc);
    free(real);
    config_free(cfg);
}

static void test_plugin_from_file(void **state)
{
    (void)state;
    const char *path = put("p.yaml",
        "processors:\n"
        "  coaching:\n"
        "    stop_words: erm\n" /* a single scalar is a list of one */
        "    labels: {}\n"
        "    weights:\n"
        "      downtime:\n" /* no body: all item defaults */
        "      repair: {weight: 2.5, half_life: 1h30m}\n"
        "    rules:\n"
        "      - id: r1\n"
        "        keywords: [a, b, c]\n"
        "        severity: RED\n"
        "      - &base {id: r2, threshold: 9}\n"
        "      - *base\n"
        "    limits: {max: 7}\n"
        "    model: 'x'\n");
    struct config *cfg = load_ok(path, NULL, 0);
    const struct coach_cfg *cc = cfg->plugin_cfg[0];
    assert_int_equal(cc->stop_words.n, 1);
    assert_string_equal(cc->stop_words.v[0], "erm");
    assert_int_equal(cc->labels.n, 0); /* replaces the default, no merge */
    assert_int_equal(cc->weights.n, 2);
    const struct weight *w = cc->weights.items;
    assert_string_equal(w[0].name, "downtime");
    assert_true(w[0].weight == 1.0);
    assert_string_equal(w[1].name, "repair");
    assert_true(w[1].weight == 2.5);
    assert_int_equal(w[1].half_life_ms, 5400000);
    assert_int_equal(cc->rules.n, 3);
    const struct rule *r = cc->rules.items;
    assert_string_equal(r[0].id, "r1");
    assert_int_equal(r[0].threshold, 3);
    assert_int_equal(r[0].keywords.n, 3);
    assert_int_equal(r[0].severity, 2);
    assert_string_equal(r[1].id, "r2");
    assert_int_equal(r[1].threshold, 9);
    assert_string_equal(r[2].id, "r2"); /* alias */
    assert_int_equal(r[2].keywords.n, 0);
    assert_int_equal(cc->limits.min, 1);
    assert_int_equal(cc->limits.max, 7);
    assert_string_equal(cc->model, "x");
    config_free(cfg);
}

static void test_null_sections_take_defaults(void **state)
{
    (void)state;
    const char *path = put("p.yaml", "kafka:\nstate: ~\nprocessors:\n"
                                     "  coaching:\n");
    struct config *cfg = load_ok(path, NULL, 0);
    assert_string_equal(cfg->kafka.group_id, "dealstream");
    assert_int_equal(cfg->state.batch_max_events, 5000);
    assert_int_equal(((struct coach_cfg *)cfg->plugin_cfg[0])->rules.n, 1);
    config_free(cfg);
}

static void test_relative_config_path(void **state)
{
    (void)state;
    put("rel.yaml", "state: {dir: /abs/state}\nschemas: {dir: ../s}\n");
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(T.dir), 0);
    struct config *cfg = load_ok("rel.yaml", NULL, 0);
    assert_int_equal(chdir(cwd), 0);
    char *real = realpath(T.dir, NULL);
    char *s = join(real, "../s");
    assert_string_equal(cfg->path, "rel.yaml");
    assert_string_equal(cfg->dir, real);
    assert_string_equal(cfg->state.dir, "/abs/state");
    assert_string_equal(cfg->schemas.dir, s);
    free(s);
    free(real);
    config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* --set */

static void test_set_overrides(void **state)
{
    (void)state;
    put("c.avsc", "{}");
    const char *path = put("p.yaml", "kafka:\n  group_id: g1\n"
                                     "state:\n  batch_interval: 1s\n");
    const char *const sets[] = {
        "kafka.group_id=g2",                /* scalar override */
        "state.batch_interval=30s",         /* typed as in the file */
        "state.sync_commit=true",           /* new key in an existing map */
        "runtime.shutdown_timeout=3s",      /* new section */
        "schemas.ids.42=c.avsc",            /* numeric key adds an entry */
        "processors.coaching.limits.max=9", /* nested maps created */
        "processors.coaching.stop_words=[x, y]",
        "processors.lead_rating.enabled=no",
        "kafka.properties.client.id=me",    /* a map of strings: key kept whole */
        "processors.coaching.weights.iot.vibration_anomaly.CRITICAL.weight=9",
        "processors.coaching.weights.new.signal={weight: 4}",
    };
    struct config *cfg = load_ok(path, sets, CFG_COUNT(sets));
    char *real = realpath(T.dir, NULL);
    char *c = join(real, "c.avsc");
    assert_string_equal(cfg->kafka.group_id, "g2");
    assert_int_equal(cfg->state.batch_interval_ms, 30000);
    assert_true(cfg->state.sync_commit);
    assert_int_equal(cfg->runtime.shutdown_timeout_ms, 3000);
    assert_int_equal(cfg->schemas.ids.n, 1);
    assert_string_equal(cfg->schemas.ids.v[0].key, "42");
    assert_string_equal(cfg->schemas.ids.v[0].value, c);
    const struct coach_cfg *cc = cfg->plugin_cfg[0];
    assert_int_equal(cc->limits.max, 9);
    assert_int_equal(cc->limits.min, 1);
    assert_int_equal(cc->stop_words.n, 2);
    assert_string_equal(cc->stop_words.v[1], "y");
    assert_false(cfg->plugin_enabled[1]);
    assert_int_equal(cfg->kafka.properties.n, 1);
    assert_string_equal(cfg->kafka.properties.v[0].key, "client.id");
    assert_string_equal(cfg->kafka.properties.v[0].value, "me");
    /* weights was absent from the file: --set creates it, replacing the
     * default map completely. */
    assert_int_equal(cc->weights.n, 2);
    const struct weight *w = cc->weights.items;
    assert_string_equal(w[0].name, "iot.vibration_anomaly.CRITICAL");
    assert_true(w[0].weight == 9.0);
    assert_int_equal(w[0].half_life_ms, INT64_C(30) * 86400000);
    assert_string_equal(w[1].name, "new.signal");
    assert_true(w[1].weight == 4.0);
    free(c);
    free(real);
    config_free(cfg);
}

static void test_set_list_index(void **state)
{
    (void)state;
    const char *path = put("p.yaml", "processors:\n  coaching:\n    rules:\n"
                                     "      - {id: a}\n      - {id: b}\n");
    const char *const sets[] = {"processors.coaching.rules.1.threshold=7"};
    struct config *cfg = load_ok(path, sets, 1);
    const struct rule *r = ((struct coach_cfg *)cfg->plugin_cfg[0])->rules.items;
    assert_int_equal(r[0].threshold, 3);
    assert_int_equal(r[1].threshold, 7);
    config_free(cfg);
}

static void test_set_errors(void **state)
{
    (void)state;
    const char *path = put("p.yaml", "kafka:\n  group_id: g1\n"
                                     "processors:\n  coaching:\n    rules:\n"
                                     "      - {id: a}\n");
    const char *const sets[] = {
        "kafka.grop_id=x",
        "state.batch_max_events",
        "state.batch_interval=soon",
        "kafka.group_id.x=1",
        "kafka..a=1",
        "processors.coaching.rules.3.id=z",
        "log.level=[unclosed",
    };
    struct config_errors errs;
    load_bad(path, sets, CFG_COUNT(sets), plugins, N_PLUGINS, &errs);
    err_is(&errs, 0, "--set[1]",
           "1:7: kafka.grop_id: unknown key 'grop_id' (did you mean "
           "'group_id'?)");
    err_is(&errs, 1, "--set[2]",
           "1:1: state.batch_max_events: expected KEY=VALUE, found no '='");
    err_is(&errs, 2, "--set[3]",
           "1:22: state.batch_interval: expected a duration like 120s, got "
           "'soon'");
    err_is(&errs, 3, "--set[4]",
           "1:7: kafka.group_id: is a value, not a section: cannot set keys "
           "below it");
    err_is(&errs, 4, "--set[5]", "1:7: kafka.: empty key segment");
    err_is(&errs, 5, "--set[6]",
           "1:27: processors.coaching.rules.3: index 3 is out of range (the "
           "list has 1 items)");
    err_is(&errs, 6, "--set[7]",
           "1:20: syntax error: did not find expected ',' or ']' (while "
           "parsing a flow sequence at line 1:11)");
    assert_int_equal(errs.n, 7);
    config_errors_free(&errs);
}

/* ------------------------------------------------------------------------ */
/* Errors */

/* Only `range` keeps partition p of every input topic on one instance. */
static void test_assignor_pinned(void **state)
{
    (void)state;
    const char *path = put("p.yaml", "kafka:\n  group_id: g1\n");
    const char *const ok[] = {"kafka.properties.partition.assignment.strategy=range"};
    struct config *cfg = load_ok(path, ok, CFG_COUNT(ok));
    config_free(cfg);
    const char *const bad[] = {
        "kafka.properties.partition.assignment.strategy=cooperative-sticky",
        "kafka.replication_factor=0",
    };
    for (size_t i = 0; i < CFG_COUNT(bad); i++) {
        struct config_errors errs;
        load_bad(path, &bad[i], 1, plugins, N_PLUGINS, &errs);
        assert_int_equal(errs.n, 1);
        assert_non_null(strstr(errs.msgs[0], i == 0
                                                 ? "must be `range`"
                                                 : "replication_factor must be -1"));
        config_errors_free(&errs);
    }
}

/* processing.guarantee: exactly_once refuses what would break it, at the
 * place in the file that sets it. */
static void test_exactly_once_incompatible(void **state)
{
    (void)state;
    const char *path = put("eos.yaml",
                           "kafka:\n"
                           "  group_id: g1\n"
                           "  properties:\n"
                           "    enable.idempotence: \"false\"\n"
                           "    transactional.id: mine\n"
                           "    isolation.level: read_committed\n"
                           "state:\n"
                           "  changelog: false\n"
                           "processing:\n"
                           "  guarantee: exactly_once\n");
    struct config_errors errs;
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    assert_int_equal(errs.n, 3);
    assert_true(has_err(&errs, ":8:14: state.changelog: processing.guarantee "
                               "exactly_once needs state.changelog: true"));
    assert_true(has_err(&errs, ":4:25: kafka.properties: "
                               "enable.idempotence=false cannot be combined"));
    assert_true(has_err(&errs, ":5:23: kafka.properties: transactional.id=mine "
                               "cannot be combined"));
    config_errors_free(&errs);
    /* The same settings are fine at least once; exactly_once alone too, and
     * a --set is located on its own line. */
    const char *const alo[] = {"processing.guarantee=at_least_once"};
    config_free(load_ok(path, alo, 1));
    const char *ok = put("eos2.yaml", "processing:\n  guarantee: exactly_once\n");
    struct config *cfg = load_ok(ok, NULL, 0);
    assert_int_equal(cfg->processing.guarantee, GUARANTEE_EXACTLY_ONCE);
    config_free(cfg);
    const char *const off[] = {"state.changelog=false"};
    load_bad(ok, off, 1, plugins, N_PLUGINS, &errs);
    assert_int_equal(errs.n, 1);
    assert_true(has_err(&errs, "--set[1]:1:"));
    config_errors_free(&errs);
    /* A checkpoint is one transaction: it must fit the broker's timeout. */
    const char *eos3 = put("eos3.yaml", "processing:\n  guarantee: exactly_once\n"
                                        "state:\n  max_dirty_ms: 90s\n");
    load_bad(eos3, NULL, 0, plugins, N_PLUGINS, &errs);
    assert_int_equal(errs.n, 1);
    assert_true(has_err(&errs, ":4:17: state.max_dirty_ms: 90000 ms: with "
                               "processing.guarantee exactly_once"));
    config_errors_free(&errs);
    const char *const longer[] = {"kafka.properties.transaction.timeout.ms=120000"};
    config_free(load_ok(eos3, longer, 1));
    const char *const bad[] = {"processing.guarantee=twice"};
    load_bad(ok, bad, 1, plugins, N_PLUGINS, &errs);
    assert_true(has_err(&errs, "processing.guarantee"));
    config_errors_free(&errs);
}

static void test_syntax_error(void **state)
{
    (void)state;
    const char *path = put("p.yaml", "kafka:\n  group_id: g\n"
                                     "state:\n  dir: [a, b\n  x: 1\n");
    struct config_errors errs;
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    assert_int_equal(errs.n, 1);
    char want[512];
    snprintf(want, sizeof(want), "%s:5:4: state.dir: syntax error:", path);
    if (strncmp(errs.msgs[0], want, strlen(want)) != 0)
        config_errors_print(&errs, stdout);
    assert_memory_equal(errs.msgs[0], want, strlen(want));
    config_errors_free(&errs);

    path = put("q.yaml", "a: 1\n\tb: 2\n");
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.msgs[0], "syntax error"));
    assert_non_null(strstr(errs.msgs[0], "q.yaml:2:"));
    config_errors_free(&errs);
}

static void test_unknown_key_did_you_mean(void **state)
{
    (void)state;
    const char *path = put("p.yaml", "state:\n  dir: x\n"
                                     "  bach_max_events: 3\n"
                                     "procesors: {}\n"
                                     "zzz: 1\n");
    struct config_errors errs;
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    assert_int_equal(errs.n, 3);
    err_is(&errs, 0, path,
           "3:3: state.bach_max_events: unknown key 'bach_max_events' (did "
           "you mean 'batch_max_events'?)");
    err_is(&errs, 1, path,
           "4:1: procesors: unknown key 'procesors' (did you mean "
           "'processors'?)");
    err_is(&errs, 2, path, "5:1: zzz: unknown key 'zzz'");
    config_errors_free(&errs);
}

static void test_type_errors_all_in_one_run(void **state)
{
    (void)state;
    const char *path = put("p.yaml",
        "kafka:\n"
        "  embedded_partitions: 300\n"   /* 2: out of bounds */
        "  group_id: [a]\n"              /* 3: wrong kind */
        "  properties: [a]\n"            /* 4: wrong kind */
        "state:\n"
        "  batch_max_events: 12abc\n"    /* 6: not an integer */
        "  cache_max_entries: 99999999999999999999\n" /* 7: overflow */
        "  batch_interval: soon\n"       /* 8: bad duration */
        "  block_cache: 10 parsecs\n"    /* 9: bad size */
        "  sync_commit: maybe\n"         /* 10: bad bool */
        "  write_buffer: 1KiB\n"         /* 11: below bounds */
        "log:\n"
        "  level: verbose\n"             /* 13: bad enum */
        "  format: jsn\n"                /* 14: bad enum, close */
        "runtime:\n"
        "  idle_check_interval: 0ms\n"   /* 16: below bounds */
        "  shutdown_timeout:\n"          /* 17: nothing */
        "topics:\n"
        "  dlq: 'bad topic'\n");         /* check() at the section */
    struct config_errors errs;
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    size_t i = 0;
    err_is(&errs, i++, path,
           "2:24: kafka.embedded_partitions: 300 is out of range (1..256)");
    err_is(&errs, i++, path,
           "3:13: kafka.group_id: expected a string, got a list");
    err_is(&errs, i++, path,
           "4:15: kafka.properties: expected a map of strings, got a list");
    err_is(&errs, i++, path,
           "6:21: state.batch_max_events: expected an integer, got '12abc'");
    err_is(&errs, i++, path,
           "7:22: state.cache_max_entries: integer '99999999999999999999' is "
           "out of range");
    err_is(&errs, i++, path,
           "8:19: state.batch_interval: expected a duration like 120s, got "
           "'soon'");
    err_is(&errs, i++, path,
           "9:16: state.block_cache: expected a size like 64MiB, got '10 "
           "parsecs'");
    err_is(&errs, i++, path,
           "10:16: state.sync_commit: expected a boolean (true/false, yes/no, "
           "on/off), got 'maybe'");
    err_is(&errs, i++, path,
           "11:17: state.write_buffer: 1KiB is out of range (64KiB..4GiB)");
    err_is(&errs, i++, path,
           "13:10: log.level: expected one of error, warn, info, debug, got "
           "'verbose'");
    err_is(&errs, i++, path,
           "14:11: log.format: expected one of text, json, got 'jsn' (did you "
           "mean 'json'?)");
    err_is(&errs, i++, path,
           "16:24: runtime.idle_check_interval: 0ms is out of range "
           "(10ms..1h)");
    err_is(&errs, i++, path,
           "17:20: runtime.shutdown_timeout: expected a duration like 120s, "
           "got nothing");
    err_is(&errs, i++, path,
           "19:3: topics: topic names are 1 to 249 characters of "
           "[a-zA-Z0-9._-]");
    assert_int_equal(errs.n, i);
    config_errors_free(&errs);
}

static void test_duplicate_key(void **state)
{
    (void)state;
    const char *path = put("p.yaml", "state:\n  dir: a\n  dir: b\n"
                                     "log: {level: info, level: warn}\n");
    struct config_errors errs;
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    assert_int_equal(errs.n, 2);
    err_is(&errs, 0, path,
           "3:3: state.dir: duplicate key 'dir' (first at line 2:3)");
    err_is(&errs, 1, path,
           "4:20: log.level: duplicate key 'level' (first at line 4:7)");
    config_errors_free(&errs);
}

static void test_plugin_errors(void **state)
{
    (void)state;
    const char *path = put("p.yaml",
        "processors:\n"
        "  coachin: {}\n"                          /* 2: unknown plugin */
        "  coaching:\n"
        "    enabled: sometimes\n"                 /* 4 */
        "    stop_words: [a, b, c, d]\n"           /* 5: too many */
        "    weights:\n"
        "      x: {weight: 101}\n"                 /* 7: out of bounds */
        "      y: 3\n"                             /* 8: not a map */
        "    rules:\n"
        "      - {threshold: 2}\n"                 /* 10: missing id */
        "      - {id: b, severity: BLUE, treshold: 1}\n" /* 11 */
        "    limits: {min: 9, max: 2}\n"           /* 12: check() */
        "    labels: {a: [1]}\n"                   /* 13 */
        "  something_else: {}\n");                 /* 14 */
    struct config_errors errs;
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    size_t i = 0;
    err_is(&errs, i++, path,
           "2:3: processors.coachin: unknown processor 'coachin' (did you "
           "mean 'coaching'?)");
    err_is(&errs, i++, path,
           "4:14: processors.coaching.enabled: expected a boolean "
           "(true/false, yes/no, on/off), got 'sometimes'");
    err_is(&errs, i++, path,
           "5:17: processors.coaching.stop_words: has 4 entries, expected 0 "
           "to 3");
    err_is(&errs, i++, path,
           "7:19: processors.coaching.weights.x.weight: 101 is out of range "
           "(0..100)");
    err_is(&errs, i++, path,
           "8:10: processors.coaching.weights.y: expected a map, got '3'");
    err_is(&errs, i++, path,
           "10:9: processors.coaching.rules[0].id: missing required key 'id'");
    err_is(&errs, i++, path,
           "11:27: processors.coaching.rules[1].severity: expected one of "
           "INFO, WARNING, RED, got 'BLUE'");
    err_is(&errs, i++, path,
           "11:33: processors.coaching.rules[1].treshold: unknown key "
           "'treshold' (did you mean 'threshold'?)");
    err_is(&errs, i++, path,
           "12:13: processors.coaching.limits: min must not exceed max");
    err_is(&errs, i++, path,
           "13:17: processors.coaching.labels.a: expected a string value, got "
           "a list");
    err_is(&errs, i++, path,
           "14:3: processors.something_else: unknown processor "
           "'something_else'");
    assert_int_equal(errs.n, i);
    config_errors_free(&errs);
}

static void test_missing_required(void **state)
{
    (void)state;
    const struct config_plugin pl[] = {{.name = "strict",
                                        .table = &strict_table}};
    const char *path = put("p.yaml", "processors:\n  strict: {}\n");
    struct config_errors errs;
    load_bad(path, NULL, 0, pl, 1, &errs);
    assert_int_equal(errs.n, 1);
    err_is(&errs, 0, path,
           "2:11: processors.strict.token: missing required key 'token'");
    config_errors_free(&errs);

    /* Absent section: located at the processors map / top of file. */
    path = put("q.yaml", "log: {}\n");
    load_bad(path, NULL, 0, pl, 1, &errs);
    assert_int_equal(errs.n, 1);
    err_is(&errs, 0, path,
           "1:1: processors.strict.token: missing required key 'token'");
    config_errors_free(&errs);

    /* Given: fine. */
    path = put("r.yaml", "processors:\n  strict: {token: t}\n");
    struct config *cfg = NULL;
    assert_int_equal(config_load(path, NULL, 0, pl, 1, &cfg, &errs), 0);
    assert_string_equal(((struct strict_cfg *)cfg->plugin_cfg[0])->token, "t");
    config_free(cfg);
}

static void test_broken_default_does_not_crash(void **state)
{
    (void)state;
    const struct config_plugin pl[] = {{.name = "broken",
                                        .table = &broken_table}};
    const char *path = put("p.yaml", "{}\n");
    struct config_errors errs;
    load_bad(path, NULL, 0, pl, 1, &errs);
    assert_int_equal(errs.n, 2);
    assert_true(has_err(&errs, "<default of processors.broken.n>:2:1: "
                               "syntax error:"));
    assert_true(has_err(&errs, "<default of processors.broken.items>:1:"
                               "11: processors.broken.items[0].weight: "
                               "expected a number, got 'lots'"));
    config_errors_free(&errs);
}

static void test_schema_errors(void **state)
{
    (void)state;
    put("x.avsc", "{}");
    const char *path = put("p.yaml", "schemas:\n  ids:\n"
                                     "    abc: x.avsc\n"
                                     "    0: x.avsc\n"
                                     "    3000000000: x.avsc\n"
                                     "    5: missing.avsc\n"
                                     "    '05': x.avsc\n");
    struct config_errors errs;
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    char *real = realpath(T.dir, NULL);
    char rest[600];
    size_t i = 0;
    err_is(&errs, i++, path,
           "3:5: schemas.ids.abc: schema id 'abc' is not an integer from 1 to "
           "2147483647");
    err_is(&errs, i++, path,
           "4:5: schemas.ids.0: schema id '0' is not an integer from 1 to "
           "2147483647");
    err_is(&errs, i++, path,
           "5:5: schemas.ids.3000000000: schema id '3000000000' is not an "
           "integer from 1 to 2147483647");
    snprintf(rest, sizeof(rest),
             "6:8: schemas.ids.5: schema file '%s/missing.avsc' not found "
             "(No such file or directory)", real);
    err_is(&errs, i++, path, rest);
    err_is(&errs, i++, path,
           "7:5: schemas.ids.05: schema id 5 is given twice (first at line "
           "6:5)");
    assert_int_equal(errs.n, i);
    free(real);
    config_errors_free(&errs);
}

static void test_file_level_errors(void **state)
{
    (void)state;
    struct config_errors errs;
    char *missing = join(T.dir, "nope.yaml");
    load_bad(missing, NULL, 0, plugins, N_PLUGINS, &errs);
    assert_int_equal(errs.n, 1);
    err_is(&errs, 0, missing, "1:1: cannot open: No such file or directory");
    config_errors_free(&errs);
    free(missing);

    const char *path = put("list.yaml", "- a\n- b\n");
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    err_is(&errs, 0, path,
           "1:1: expected a map of sections at the top level, got a list");
    config_errors_free(&errs);

    path = put("two.yaml", "a: 1\n---\nb: 2\n");
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    err_is(&errs, 0, path, "2:1: only one YAML document is allowed");
    config_errors_free(&errs);

    path = put("alias.yaml", "log: *nope\n");
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    err_is(&errs, 0, path, "1:6: log: unknown anchor 'nope'");
    config_errors_free(&errs);

    /* An alias bomb is refused, not expanded. */
    path = put("bomb.yaml",
               "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
               "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
               "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
               "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
               "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
               "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n");
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    assert_true(has_err(&errs, "document too large"));
    config_errors_free(&errs);
}

/* ------------------------------------------------------------------------ */
/* Durations, sizes, docs, the shipped file */

static void test_parse_duration_size(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(config_parse_duration("250ms", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(config_parse_duration("120s", &v), 0);
    assert_int_equal(v, 120000);
    assert_int_equal(config_parse_duration("4m", &v), 0);
    assert_int_equal(v, 240000);
    assert_int_equal(config_parse_duration("2h", &v), 0);
    assert_int_equal(v, 7200000);
    assert_int_equal(config_parse_duration("14d", &v), 0);
    assert_int_equal(v, INT64_C(1209600000));
    assert_int_equal(config_parse_duration("1h30m", &v), 0);
    assert_int_equal(v, 5400000);
    assert_int_equal(config_parse_duration("1500", &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(config_parse_duration("0", &v), 0);
    assert_int_equal(v, 0);
    const char *bad_d[] = {"", "s", "1.5s", "-1s", "10x", "1h30", "5 s",
                           "99999999999999999999d", "9999999999999999d"};
    for (size_t i = 0; i < CFG_COUNT(bad_d); i++)
        assert_int_equal(config_parse_duration(bad_d[i], &v), -1);

    assert_int_equal(config_parse_size("512KiB", &v), 0);
    assert_int_equal(v, 512 * 1024);
    assert_int_equal(config_parse_size("64MiB", &v), 0);
    assert_int_equal(v, 64 << 20);
    assert_int_equal(config_parse_size("1GiB", &v), 0);
    assert_int_equal(v, 1 << 30);
    assert_int_equal(config_parse_size("100KB", &v), 0);
    assert_int_equal(v, 100000);
    assert_int_equal(config_parse_size("3 MB", &v), 0);
    assert_int_equal(v, 3000000);
    assert_int_equal(config_parse_size("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(config_parse_size("7B", &v), 0);
    assert_int_equal(v, 7);
    const char *bad_s[] = {"", "MiB", "1.5GiB", "-1", "10mib", "1 ",
                           "10000000000TiB"};
    for (size_t i = 0; i < CFG_COUNT(bad_s); i++)
        assert_int_equal(config_parse_size(bad_s[i], &v), -1);
}

static char *docs(const struct config_plugin *pl, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    config_write_docs(fp, pl, n);
    fclose(fp);
    return buf;
}

/* Every topic key, its default and its line in the docs come from the
 * record table; a processor's section can be off by default. */
static void test_topics_from_record_table(void **state)
{
    (void)state;
    const char *path = put("t.yaml", "topics:\n  reps: my.reps\n");
    struct config *cfg = load_ok(path, NULL, 0);
    for (size_t i = 0; i < TOPIC_COUNT; i++)
        if (i != TOPIC_reps)
            assert_string_equal(cfg->topics.name[i], records_table[i].topic);
    assert_string_equal(cfg->topics.reps, "my.reps");
    assert_ptr_equal(cfg->topics.name[TOPIC_reps], cfg->topics.reps);
    assert_ptr_equal(cfg->topics.name[TOPIC_dlq], cfg->topics.dlq);
    config_free(cfg);

    static const struct config_table off_table = {.name = "later",
                                                  .off_by_default = true};
    const struct config_plugin pl[] = {{.name = "later", .table = &off_table}};
    path = put("p.yaml", "processors:\n  later: {}\n");
    struct config_errors errs = {0};
    assert_int_equal(config_load(path, NULL, 0, pl, 1, &cfg, &errs), 0);
    assert_false(cfg->plugin_enabled[0]);
    config_free(cfg);
    const char *const on[] = {"processors.later.enabled=true"};
    assert_int_equal(config_load(path, on, 1, pl, 1, &cfg, &errs), 0);
    assert_true(cfg->plugin_enabled[0]);
    config_free(cfg);

    char *d = docs(pl, 1);
    assert_non_null(strstr(d, "| `reps` | string | `ref.reps` |  | Input: "));
    assert_non_null(strstr(d, "| `enabled` | bool | `false` |"));
    free(d);
}

static void test_docs(void **state)
{
    (void)state;
    char *d1 = docs(plugins, N_PLUGINS);
    char *d2 = docs(plugins, N_PLUGINS);
    assert_string_equal(d1, d2); /* deterministic */
    const char *want[] = {
        "## `kafka`",
        "| `embedded_partitions` | integer | `4` | 1..256 | Partitions per "
        "topic created by the embedded development broker. |",
        "| `batch_interval` | duration | `200ms` | 1ms..1m |",
        "| `block_cache` | size | `64MiB` | 1MiB..1TiB |",
        "| `level` | enum | `info` |  | Least severe level that is logged. "
        "One of `error`, `warn`, `info`, `debug`. |",
        "## `processors.coaching`",
        "Test plugin with every collection type.",
        "| `enabled` | bool | `true` |",
        "| `stop_words` | list of strings | `[um, uh]` | 0..3 entries |",
        "| `weights` | map of sections | see below |",
        "Default of `weights`:\n\n```yaml\n{iot.vibration_anomaly.CRITICAL:",
        "| `model` | string | `basic\\|v1` |",
        "### `processors.coaching.weights.<name>`",
        "| `half_life` | duration | `30d` |",
        "### `processors.coaching.rules[]`",
        "| `id` | string | *required* |",
        "### `processors.coaching.limits`",
        "## `processors.lead_rating`",
    };
    for (size_t i = 0; i < CFG_COUNT(want); i++) {
        if (!strstr(d1, want[i]))
            print_message("missing in docs: %s\n", want[i]);
        assert_non_null(strstr(d1, want[i]));
    }
    /* Core sections come before the plugins. */
    assert_true(strstr(d1, "## `runtime`") < strstr(d1, "## `processors`"));
    free(d1);
    free(d2);
}

/* ------------------------------------------------------------------------ */
/* Secrets: ${file:} and ${env:}, and what is never shown */

static bool secret_of(const struct cfg_strmap *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].key, key))
            return config_strmap_secret(m, i);
    fail_msg("no property %s", key);
    return false;
}

static const char *prop(const struct cfg_strmap *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].key, key))
            return m->v[i].value;
    fail_msg("no property %s", key);
    return NULL;
}

static void test_secret_substitution(void **state)
{
    (void)state;
    setenv("DS_TEST_USER", "alice", 1);
    put("pw.txt", "s3cret\n");
    put("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const char *yaml =
        "kafka:\n"
        "  group_id: g1\n"
        "  properties:\n"
        "    security.protocol: SASL_SSL\n"
        "    sasl.mechanism: PLAIN\n"
        "    sasl.username: ${env:DS_TEST_USER}\n"
        "    sasl.password: ${file:pw.txt}\n"
        "    ssl.ca.pem: \"${file:ca.pem}\"\n"
        "    client.id: pre-${env:DS_TEST_USER}-post\n"
        "    ssl.endpoint.identification.algorithm: a$${b}\n";
    const char *path = put("p.yaml", yaml);
    const char *const sets[] = {"kafka.properties.ssl.key.password=${env:DS_TEST_USER}"};
    struct config *cfg = load_ok(path, sets, 1);
    const struct cfg_strmap *m = &cfg->kafka.properties;
    assert_string_equal(prop(m, "sasl.username"), "alice");
    assert_string_equal(prop(m, "sasl.password"), "s3cret");
    assert_string_equal(prop(m, "ssl.ca.pem"),
                        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
    assert_string_equal(prop(m, "client.id"), "pre-alice-post");
    assert_string_equal(prop(m, "ssl.endpoint.identification.algorithm"), "a${b}");
    assert_string_equal(prop(m, "ssl.key.password"), "alice");
    /* Substituted, or named like a credential: secret. */
    assert_true(secret_of(m, "sasl.username"));
    assert_true(secret_of(m, "sasl.password"));
    assert_true(secret_of(m, "client.id"));
    assert_true(secret_of(m, "ssl.key.password"));
    assert_false(secret_of(m, "security.protocol"));
    assert_false(secret_of(m, "ssl.endpoint.identification.algorithm"));

    /* The digest never depends on a secret's value; it does on the rest. */
    uint64_t d1 = config_digest(cfg);
    config_free(cfg);
    put("pw.txt", "other\n");
    setenv("DS_TEST_USER", "bob", 1);
    cfg = load_ok(path, sets, 1);
    assert_string_equal(prop(&cfg->kafka.properties, "sasl.password"), "other");
    assert_true(config_digest(cfg) == d1);
    config_free(cfg);
    const char *const sets2[] = {"kafka.properties.security.protocol=SSL"};
    cfg = load_ok(path, sets2, 1);
    assert_true(config_digest(cfg) != d1);
    config_free(cfg);
    /* A plain password in the file is secret too (by its key's name). */
    path = put("q.yaml", "kafka:\n  properties:\n    sasl.password: plain\n"
                         "    sasl.jaas.config: x\n    ssl.keystore.location: /k\n"
                         "processors:\n  coaching:\n    labels:\n"
                         "      api_key: data\n      other: ${env:DS_TEST_USER}\n");
    cfg = load_ok(path, NULL, 0);
    assert_true(secret_of(&cfg->kafka.properties, "sasl.password"));
    assert_true(secret_of(&cfg->kafka.properties, "sasl.jaas.config"));
    assert_true(secret_of(&cfg->kafka.properties, "ssl.keystore.location"));
    /* A processor's map: by name never (data there), by substitution yes. */
    const struct coach_cfg *cc = cfg->plugin_cfg[0];
    assert_false(secret_of(&cc->labels, "api_key"));
    assert_true(secret_of(&cc->labels, "other"));
    config_free(cfg);
    unsetenv("DS_TEST_USER");
}

static void test_secret_errors(void **state)
{
    (void)state;
    unsetenv("DS_TEST_UNSET");
    setenv("DS_TEST_SECRET", "hunter2", 1);
    const char *path = put("p.yaml",
        "kafka:\n"
        "  properties:\n"
        "    sasl.password: ${file:nope.txt}\n"
        "    sasl.username: x${env:DS_TEST_UNSET}\n"
        "    a: ${vault:x}\n"
        "    b: ${env:DS_TEST_SECRET\n"
        "    c: ${env:1BAD}\n");
    struct config_errors errs;
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    char *real = realpath(T.dir, NULL);
    char want[512];
    snprintf(want, sizeof(want), "3:20: ${file:nope.txt}: cannot read %s/nope.txt: "
             "No such file or directory", real);
    err_is(&errs, 0, path, want);
    free(real);
    err_is(&errs, 1, path, "4:20: ${env:DS_TEST_UNSET}: environment variable "
                           "DS_TEST_UNSET is not set");
    err_is(&errs, 2, path, "5:8: ${vault:x}: expected ${file:PATH} or ${env:NAME} "
                           "(write '$${' for a literal '${')");
    err_is(&errs, 3, path, "6:8: unterminated '${' (write '$${' for a literal one)");
    err_is(&errs, 4, path, "7:8: ${env:1BAD}: expected ${file:PATH} or ${env:NAME} "
                           "(write '$${' for a literal '${')");
    assert_int_equal(errs.n, 5);
    config_errors_free(&errs);

    /* A secret in the wrong place: the error names the place, not the value. */
    path = put("q.yaml", "kafka:\n  group_id: g\n"
                         "runtime:\n  shutdown_timeout: ${env:DS_TEST_SECRET}\n"
                         "state:\n  batch_max_events: ${env:DS_TEST_SECRET}\n");
    load_bad(path, NULL, 0, plugins, N_PLUGINS, &errs);
    for (size_t i = 0; i < errs.n; i++) {
        if (strstr(errs.msgs[i], "hunter2"))
            print_message("leaks: %s\n", errs.msgs[i]);
        assert_null(strstr(errs.msgs[i], "hunter2"));
    }
    assert_true(has_err(&errs, "4:21: runtime.shutdown_timeout: expected"));
    assert_true(has_err(&errs, "got a secret value (<redacted>)"));
    config_errors_free(&errs);
    unsetenv("DS_TEST_SECRET");
}

/* The shipped processor.yaml: its core sections must be valid. Processor
 * sections are checked by the processors' own tests, so errors under
 * `processors.` are allowed here (the dummies have no keys). */
static void test_shipped_processor_yaml(void **state)
{
    (void)state;
    const char *schema = DS_SOURCE_DIR "/schemas/transcript_segment.avsc";
    if (access(schema, R_OK) != 0)
        skip(); /* the schema files land with the codec */
    static const struct config_table empty = {.name = "dummy"};
    const struct config_plugin pl[] = {
        {.name = "lead_rating", .table = &empty},
        {.name = "coaching", .table = &empty},
        {.name = "action_units", .table = &empty},
    };
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    int rc = config_load(DS_SOURCE_DIR "/processor.yaml", NULL, 0, pl, 3,
                         &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++) {
        if (!strstr(errs.msgs[i], ": processors."))
            print_message("%s\n", errs.msgs[i]);
        assert_non_null(strstr(errs.msgs[i], ": processors."));
    }
    if (rc == 0) {
        assert_string_equal(cfg->topics.transcripts, "sales.transcripts");
        assert_true(cfg->schemas.ids.n >= 8);
    }
    config_errors_free(&errs);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T_(test_good_file_binds_every_core_field),
        T_(test_defaults),
        T_(test_topics_from_record_table),
        T_(test_plugin_from_file),
        T_(test_null_sections_take_defaults),
        T_(test_relative_config_path),
        T_(test_set_overrides),
        T_(test_set_list_index),
        T_(test_set_errors),
        T_(test_assignor_pinned),
        T_(test_exactly_once_incompatible),
        T_(test_syntax_error),
        T_(test_unknown_key_did_you_mean),
        T_(test_type_errors_all_in_one_run),
        T_(test_duplicate_key),
        T_(test_plugin_errors),
        T_(test_missing_required),
        T_(test_broken_default_does_not_crash),
        T_(test_schema_errors),
        T_(test_file_level_errors),
        T_(test_parse_duration_size),
        T_(test_docs),
        T_(test_shipped_processor_yaml),
        T_(test_secret_substitution),
        T_(test_secret_errors),
#undef T_
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
