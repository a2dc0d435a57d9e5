/*
 * reload.c - a changed processor.yaml applied live: loaded, compared with
 * the running config, built whole beside it (reload.h). The handoff
 * that lets POST /-/reload ask the loop for one is in reload_req.c.
 *
 * What may change live is an allow-list: a key is live only once someone
 * has made sure the loop reads it from the current config (or it belongs
 * to what the generation rebuilds), so a key a later branch adds is
 * refused, and named, until it is listed here.
 */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "records.h"
#include "schema_check.h"

static void warn_schema(void *arg, const char *msg)
{
    (void)arg;
    LOG_WRN("reload", "%s", msg);
}

/* Core keys the loop reads from the current config on every use. */
static const char *const live_core[] = {
    "schemas.ids", "schemas.dir", /* the generation's codec */
    "log.level", "log.format",
    "state.batch_max_events", "state.batch_interval",
    "runtime.idle_check_interval", "runtime.shutdown_timeout",
    "runtime.dlq_oversize", "runtime.dlq_max_bytes",
};

bool reload_key_is_live(const char *path)
{
    if (strncmp(path, "processors.", 11) == 0) {
        /* Everything of a processor but whether it runs: that changes
         * the topics subscribed to (as may a key that switches a feature
         * with inputs of its own: diff_inputs() checks those). */
        const char *dot = strchr(path + 11, '.');
        return dot && dot[1] && strcmp(dot + 1, "enabled") != 0;
    }
    for (size_t i = 0; i < sizeof(live_core) / sizeof(live_core[0]); i++)
        if (strcmp(path, live_core[i]) == 0)
            return true;
    return false;
}

/* The differing keys, split into live and fixed, as "a, b, c" lists. */
struct changes {
    char live[1024], fixed[1024];
    size_t n_live, n_fixed;
};

static void list_add(char *list, size_t len, const char *path)
{
    size_t o = strlen(list);
    if (o + 1 >= len)
        return;
    if (o + strlen(path) + 8 >= len) {
        if (!strstr(list, ", ..."))
            snprintf(list + o, len - o, ", ...");
        return;
    }
    snprintf(list + o, len - o, "%s%s", o ? ", " : "", path);
}

static void on_change(void *arg, const char *path)
{
    struct changes *c = arg;
    if (reload_key_is_live(path)) {
        c->n_live++;
        list_add(c->live, sizeof(c->live), path);
    } else {
        c->n_fixed++;
        list_add(c->fixed, sizeof(c->fixed), path);
    }
}

/* A processor's own output topics (processor_ops.output_topics) are
 * provisioned and warmed at start, like the topics.* keys: a reload that
 * changes them is refused the same way, named by the processor. */
static void diff_output_topics(const struct config *a, const struct config *b,
                               const struct processor_ops *const *procs,
                               size_t n_procs, struct changes *ch)
{
    enum { MAX = 32 };
    for (size_t i = 0; i < n_procs; i++) {
        if (!procs[i]->output_topics || !a->plugin_enabled[i] ||
            !b->plugin_enabled[i])
            continue;
        const char *ta[MAX], *tb[MAX];
        size_t na = procs[i]->output_topics(a->plugin_cfg[i], ta, MAX);
        size_t nb = procs[i]->output_topics(b->plugin_cfg[i], tb, MAX);
        bool same = na == nb;
        for (size_t k = 0; same && k < na; k++) {
            bool found = false;
            for (size_t m = 0; m < nb && !found; m++)
                found = strcmp(ta[k], tb[m]) == 0;
            same = found;
        }
        if (!same) {
            char path[160];
            snprintf(path, sizeof(path), "processors.%s (its output topics)",
                     procs[i]->name);
            ch->n_fixed++;
            list_add(ch->fixed, sizeof(ch->fixed), path);
        }
    }
}

/* The topics subscribed to are fixed at start (runtime.c's setup()): a
 * change of a processor's inputs under its config (processor_inputs())
 * that would add or drop one is refused, named by the processor and the
 * topics. One that only changes which processors read a topic some
 * other processor keeps reading applies (the loop resets its masks). */
static void diff_inputs(const struct config *a, const struct config *b,
                        const struct processor_ops *const *procs,
                        size_t n_procs, struct changes *ch)
{
    uint32_t ra = processor_read_mask(a, procs, n_procs);
    uint32_t rb = processor_read_mask(b, procs, n_procs);
    for (size_t i = 0; i < n_procs; i++) {
        if (!a->plugin_enabled[i] || !b->plugin_enabled[i])
            continue; /* `enabled` itself is refused */
        uint32_t moved = (processor_inputs(procs[i], a->plugin_cfg[i]) ^
                          processor_inputs(procs[i], b->plugin_cfg[i])) &
                         ((ra ^ rb) | EVENT_MASK(EVENT_REPARTITION));
        if (!moved)
            continue;
        char path[256];
        size_t o = (size_t)snprintf(path, sizeof(path),
                                    "processors.%s (its inputs:",
                                    procs[i]->name);
        for (int k = 0; k <= EVENT_REPARTITION && o < sizeof(path); k++)
            if (moved & EVENT_MASK(k))
                o += (size_t)snprintf(path + o, sizeof(path) - o, " %s%s",
                                      k == EVENT_REPARTITION
                                          ? "its repartition topic"
                                          : "topics.",
                                      k == EVENT_REPARTITION
                                          ? ""
                                          : records_of_event(k)->topic_key);
        if (o < sizeof(path))
            snprintf(path + o, sizeof(path) - o, ")");
        ch->n_fixed++;
        list_add(ch->fixed, sizeof(ch->fixed), path);
    }
}

void reload_gen_free(struct reload_gen *g)
{
    if (!g)
        return;
    for (size_t i = 0; g->inst && i < g->n_procs; i++)
        if (g->inst[i] && g->procs[i]->destroy)
            g->procs[i]->destroy(g->inst[i]);
    free(g->inst);
    codec_free(g->codec);
    config_free(g->cfg);
    free(g);
}

/* The codec and instances of cfg into g; 0, or -1 with err. */
static int build(struct reload_gen *g, char *err, size_t errlen)
{
    const struct config *cfg = g->cfg;
    char e[512];
    if (codec_open(&cfg->schemas, &g->codec, e, sizeof(e)) != 0) {
        snprintf(err, errlen, "schemas: %s", e);
        return -1;
    }
    if (schema_check_processors(g->codec, cfg, g->procs, g->n_procs,
                                warn_schema, NULL, err, errlen) != 0)
        return -1;
    if (!(g->inst = calloc(g->n_procs ? g->n_procs : 1, sizeof(void *)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < g->n_procs; i++) {
        if (!cfg->plugin_enabled[i])
            continue;
        if (g->procs[i]->init(cfg->plugin_cfg[i], &g->inst[i], e,
                              sizeof(e)) != 0) {
            g->inst[i] = NULL;
            snprintf(err, errlen, "processor %s: %s", g->procs[i]->name, e);
            return -1;
        }
    }
    return 0;
}

enum reload_result reload_prepare(const struct reload_source *src,
                                  const struct config *running,
                                  const struct processor_ops *const *procs,
                                  size_t n_procs, struct reload_gen **out,
                                  char *msg, size_t msglen)
{
    struct config_errors errs = {0};
    struct config *next = NULL;
    struct reload_gen *g = NULL;
    struct changes *ch = NULL;
    enum reload_result rc = RELOAD_ERROR;
    *out = NULL;
    if (config_load(src->path, src->sets, src->n_sets, src->plugins,
                    src->n_plugins, &next, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            LOG_ERR("config", "%s", errs.msgs[i]);
        snprintf(msg, msglen, "%s: %zu error%s; the running config is kept",
                 src->path, errs.n, errs.n == 1 ? "" : "s");
        LOG_ERR("config", "reload: %s", msg);
        goto out;
    }
    if (!(ch = calloc(1, sizeof(*ch))))
        goto oom;
    config_diff(running, next, on_change, ch);
    diff_output_topics(running, next, procs, n_procs, ch);
    diff_inputs(running, next, procs, n_procs, ch);
    if (ch->n_fixed) {
        snprintf(msg, msglen, "%s: refused, %zu key%s cannot change without "
                 "a restart: %s; the running config is kept", src->path,
                 ch->n_fixed, ch->n_fixed == 1 ? "" : "s", ch->fixed);
        LOG_ERR("config", "reload: %s", msg);
        rc = RELOAD_REFUSED;
        goto out;
    }
    if (!(g = calloc(1, sizeof(*g))))
        goto oom;
    g->cfg = next;
    next = NULL;
    g->procs = procs;
    g->n_procs = n_procs;
    char err[768];
    if (build(g, err, sizeof(err)) != 0) {
        snprintf(msg, msglen, "%s: %s; the running config is kept", src->path,
                 err);
        LOG_ERR("config", "reload: %s", msg);
        goto out;
    }
    if (ch->n_live)
        snprintf(msg, msglen, "%s: applied, %zu key%s changed: %s", src->path,
                 ch->n_live, ch->n_live == 1 ? "" : "s", ch->live);
    else
        snprintf(msg, msglen, "%s: applied, no key changed (schemas and "
                 "keyword libraries reloaded)", src->path);
    *out = g;
    g = NULL;
    rc = RELOAD_OK;
    goto out;
oom:
    snprintf(msg, msglen, "%s: out of memory; the running config is kept",
             src->path);
    LOG_ERR("config", "reload: %s", msg);
out:
    reload_gen_free(g);
    config_free(next);
    config_errors_free(&errs);
    free(ch);
    return rc;
}
