/*
 * config.c - processor.yaml: libyaml -> node tree -> --set -> tables -> structs.
 *
 * Three stages, so each error can name a place: the YAML becomes a tree of
 * our own (config_tree.c), `--set` arguments are grafted onto it and
 * located as `--set[N]:1:col`, and the tree is bound with the tables
 * (config_bind.c), every error collected. Loading is all-or-nothing. The
 * same tables produce docs/CONFIG.md (config_write_docs), so the reference
 * cannot drift from what the loader accepts.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_impl.h"

/* Loading */

/* Schema ids must be integers (canonicalized, unique) and their files must
 * exist; the generic STRMAP binding cannot say that, so it is checked here
 * with the nodes at hand for the places. */
static void check_schema_ids(struct ctx *c, struct config *cfg,
                             const struct node *root)
{
    const struct node *ids = config_node_get(config_node_get(root, "schemas"), "ids");
    struct cfg_strmap *m = &cfg->schemas.ids;
    if (!ids || ids->kind != NODE_MAP || ids->n != m->n)
        return;
    for (size_t i = 0; i < m->n; i++) {
        const struct node *kn = ids->keys[i], *vn = ids->vals[i];
        char *path = config_fmt("schemas.ids.%s", kn->str);
        if (!path || !m->v[i].key || !m->v[i].value) {
            free(path);
            continue;
        }
        int64_t id;
        if (!config_all_digits(kn->str, strlen(kn->str)) ||
            config_parse_int(kn->str, &id) < 0 || id < 1 || id > INT32_MAX) {
            config_ctx_err(c, kn->src, kn->line, kn->col, path,
                           "schema id '%s' is not an integer from 1 to 2147483647",
                           kn->str);
        } else {
            char *canon = config_fmt("%lld", (long long)id);
            if (canon) {
                free(m->v[i].key);
                m->v[i].key = canon;
            } else {
                c->oom = true;
            }
            for (size_t j = 0; j < i; j++)
                if (m->v[j].key && strcmp(m->v[j].key, m->v[i].key) == 0)
                    config_ctx_err(c, kn->src, kn->line, kn->col, path,
                                   "schema id %lld is given twice (first at line "
                                   "%d:%d)", (long long)id, ids->keys[j]->line,
                                   ids->keys[j]->col);
        }
        char *file = config_join_path(c, c->dir, m->v[i].value);
        struct stat st;
        if (file && stat(file, &st) != 0)
            config_ctx_err(c, vn->src, vn->line, vn->col, path,
                           "schema file '%s' not found (%s)", file, strerror(errno));
        else if (file && !S_ISREG(st.st_mode))
            config_ctx_err(c, vn->src, vn->line, vn->col, path,
                           "schema file '%s' is not a regular file", file);
        if (file) {
            free(m->v[i].value);
            m->v[i].value = file;
        }
        free(path);
    }
}

/* processing.guarantee: exactly_once needs the changelog (restore is how
 * local state catches up with the last committed transaction) and leaves
 * the transactional settings to the daemon (docs/STATE.md). */
static void check_guarantee(struct ctx *c, const struct config *cfg,
                            const struct node *root)
{
    if (cfg->processing.guarantee != GUARANTEE_EXACTLY_ONCE)
        return;
    const struct node *g =
        config_node_get(config_node_get(root, "processing"), "guarantee");
    const struct node *at = g ? g : root;
    if (!at)
        return;
    if (!cfg->state.changelog) {
        const struct node *n =
            config_node_get(config_node_get(root, "state"), "changelog");
        if (!n)
            n = at;
        config_ctx_err(c, n->src, n->line, n->col, "state.changelog",
                       "processing.guarantee exactly_once needs "
                       "state.changelog: true (a restart restores the local "
                       "state to the last committed transaction from it)");
    }
    /* One transaction spans one write-back checkpoint (STATE.md): one that
     * may stay open past the broker's timeout would be aborted under it. */
    int64_t txn_timeout_ms = 60000; /* librdkafka's transaction.timeout.ms */
    for (size_t i = 0; i < cfg->kafka.properties.n; i++)
        if (strcmp(cfg->kafka.properties.v[i].key, "transaction.timeout.ms") ==
            0)
            txn_timeout_ms = strtoll(cfg->kafka.properties.v[i].value, NULL,
                                     10);
    if (cfg->state.max_dirty_ms >= txn_timeout_ms) {
        const struct node *n =
            config_node_get(config_node_get(root, "state"), "max_dirty_ms");
        if (!n)
            n = at;
        config_ctx_err(c, n->src, n->line, n->col, "state.max_dirty_ms",
                       "%lld ms: with processing.guarantee exactly_once a "
                       "checkpoint is one transaction, which must commit "
                       "within transaction.timeout.ms (%lld ms)",
                       (long long)cfg->state.max_dirty_ms,
                       (long long)txn_timeout_ms);
    }
    static const char *const refused[][2] = {
        {"transactional.id", NULL}, /* derived per instance: STATE.md */
        {"enable.idempotence", "false"},
        {"isolation.level", "read_uncommitted"},
        {"enable.auto.commit", "true"},
    };
    const struct node *props =
        config_node_get(config_node_get(root, "kafka"), "properties");
    const struct cfg_strmap *m = &cfg->kafka.properties;
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < sizeof(refused) / sizeof(refused[0]); j++) {
            if (strcmp(m->v[i].key, refused[j][0]) != 0 ||
                (refused[j][1] && strcmp(m->v[i].value, refused[j][1]) != 0))
                continue;
            const struct node *n = config_node_get(props, m->v[i].key);
            if (!n)
                n = at;
            config_ctx_err(c, n->src, n->line, n->col, "kafka.properties",
                           "%s=%s cannot be combined with "
                           "processing.guarantee exactly_once%s",
                           m->v[i].key, m->v[i].value,
                           refused[j][1] ? "" : " (the daemon derives it "
                                                "per instance, STATE.md)");
        }
}

static void bind_plugins(struct ctx *c, struct config *cfg,
                         const struct node *procs, const struct node *top,
                         const struct config_plugin *plugins, size_t n)
{
    if (procs && config_node_is_null(procs))
        procs = NULL;
    if (procs && procs->kind != NODE_MAP) {
        char wb[64];
        config_ctx_err(c, procs->src, procs->line, procs->col, "processors",
                       "expected a map of processor name -> section, got %s",
                       config_node_what(procs, wb, sizeof(wb)));
        procs = NULL;
    }
    for (size_t i = 0; procs && i < procs->n; i++) {
        const char *name = procs->keys[i]->str;
        bool known = false;
        struct suggest sg = {.name = name, .score = SIZE_MAX};
        for (size_t j = 0; !known && j < n; j++) {
            known = strcmp(plugins[j].name, name) == 0;
            config_suggest_try(&sg, plugins[j].name);
        }
        if (known)
            continue;
        const struct node *kn = procs->keys[i];
        char *p = config_sub_path(c, "processors", name);
        if (sg.best)
            config_ctx_err(c, kn->src, kn->line, kn->col, p ? p : "processors",
                           "unknown processor '%s' (did you mean '%s'?)", name,
                           sg.best);
        else
            config_ctx_err(c, kn->src, kn->line, kn->col, p ? p : "processors",
                           "unknown processor '%s'", name);
        free(p);
    }
    for (size_t i = 0; i < n; i++) {
        const struct config_table *t = plugins[i].table;
        size_t esz = t && t->elem_size ? t->elem_size : 1;
        cfg->plugin_enabled[i] = !(t && t->off_by_default);
        if (!(cfg->plugin_cfg[i] = calloc(1, esz))) {
            c->oom = true;
            continue;
        }
        char *path = config_sub_path(c, "processors", plugins[i].name);
        if (!path)
            continue;
        const struct node *sec = config_node_get(procs, plugins[i].name);
        const struct node *en = NULL;
        static const struct config_table empty = {.name = ""};
        if (sec && !config_node_is_null(sec) && sec->kind != NODE_MAP) {
            char wb[64];
            config_ctx_err(c, sec->src, sec->line, sec->col, path,
                           "expected a map, got %s", config_node_what(sec, wb, sizeof(wb)));
        } else {
            config_bind_table(c, t ? t : &empty, cfg->plugin_cfg[i],
                              config_node_is_null(sec) ? NULL : sec,
                              sec ? sec : procs ? procs : top, path, "enabled", &en);
        }
        char *ep = config_sub_path(c, path, "enabled");
        if (ep && en)
            config_bind_value(c, t && t->off_by_default ? &config_enabled_off_key
                              : &config_enabled_key,
                              (char *)&cfg->plugin_enabled[i], en, ep);
        free(ep);
        free(path);
    }
}

static char *abs_dir_of(struct ctx *c, const char *path)
{
    char *copy = config_xstrdup(c, path);
    if (!copy)
        return NULL;
    char *slash = strrchr(copy, '/');
    const char *d = ".";
    if (slash == copy)
        d = "/";
    else if (slash) {
        *slash = '\0';
        d = copy;
    }
    char *r = realpath(d, NULL);
    free(copy);
    return r;
}

int config_load(const char *path, const char *const *sets, size_t n_sets,
                const struct config_plugin *plugins, size_t n_plugins,
                struct config **out, struct config_errors *errs)
{
    struct ctx c = {.budget = NODE_BUDGET};
    struct src file = {.name = (char *)path, .rank = 0};
    struct src *set_src = NULL;
    struct node *root = NULL;
    struct config *cfg = NULL;
    int rc = -1;
    *out = NULL;

    if (config_parse_file(&c, &file, path, &root) < 0)
        goto out;
    if (root && !config_node_is_null(root) && root->kind != NODE_MAP) {
        char wb[64];
        config_ctx_err(&c, root->src, root->line, root->col, "",
                       "expected a map of sections at the top level, got %s",
                       config_node_what(root, wb, sizeof(wb)));
        goto out;
    }
    if (n_sets && !(set_src = calloc(n_sets, sizeof(*set_src)))) {
        c.oom = true;
        goto out;
    }
    for (size_t i = 0; i < n_sets; i++) {
        set_src[i].rank = (int)(i < INT_MAX - 1 ? i + 1 : INT_MAX - 1);
        if (!(set_src[i].name = config_fmt("--set[%zu]", i + 1))) {
            c.oom = true;
            goto out;
        }
        config_apply_set(&c, &root, &set_src[i], sets[i], plugins, n_plugins);
    }
    if (root && config_node_is_null(root)) {
        config_node_free(root);
        root = NULL;
    }

    if (!(cfg = calloc(1, sizeof(*cfg))) ||
        !(cfg->path = config_xstrdup(&c, path))) {
        c.oom = true;
        goto out;
    }
    if (!(cfg->dir = abs_dir_of(&c, path))) {
        config_ctx_err(&c, &file, 1, 1, "", "cannot resolve the file's folder: %s",
                       strerror(errno));
        goto out;
    }
    c.dir = cfg->dir;
    /* Before binding, so every key may take a secret; after --set, so an
     * override may too. An unresolved value would only add confusing
     * type errors, so stop here. */
    if (config_substitute(&c, root) < 0)
        goto out;
    if (n_plugins) {
        cfg->plugin_cfg = calloc(n_plugins, sizeof(*cfg->plugin_cfg));
        cfg->plugin_enabled = calloc(n_plugins, sizeof(*cfg->plugin_enabled));
        cfg->plugins = calloc(n_plugins, sizeof(*cfg->plugins));
        if (!cfg->plugin_cfg || !cfg->plugin_enabled || !cfg->plugins) {
            c.oom = true;
            goto out;
        }
        memcpy(cfg->plugins, plugins, n_plugins * sizeof(*plugins));
        cfg->n_plugins = n_plugins;
    }

    const struct node *procs = NULL;
    struct node top = {.kind = NODE_MAP, .src = &file, .line = 1, .col = 1};
    config_bind_table(&c, &config_root_table, (char *)cfg, root, root ? root : &top, "",
                      "processors", &procs);
    check_schema_ids(&c, cfg, root);
    if (c.n_errs == 0)
        check_guarantee(&c, cfg, root);
    bind_plugins(&c, cfg, procs, root ? root : &top, plugins, n_plugins);
    if (c.n_errs == 0 && !c.oom) {
        *out = cfg;
        cfg = NULL;
        rc = 0;
    }
out:
    if (rc < 0 && c.n_errs == 0 && !c.oom)
        config_ctx_err(&c, &file, 1, 1, "", "invalid configuration");
    config_ctx_flush_errors(&c, errs);
    config_free(cfg);
    config_node_free(root);
    for (size_t i = 0; set_src && i < n_sets; i++)
        free(set_src[i].name);
    free(set_src);
    return rc;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    config_free_fields(&config_root_table, (char *)cfg);
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        if (cfg->plugin_cfg[i] && cfg->plugins[i].table)
            config_free_fields(cfg->plugins[i].table, cfg->plugin_cfg[i]);
        free(cfg->plugin_cfg[i]);
    }
    free(cfg->plugin_cfg);
    free(cfg->plugin_enabled);
    free(cfg->plugins);
    free(cfg->path);
    free(cfg->dir);
    free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Docs */

static const char *type_name(enum cfg_type t)
{
    switch (t) {
    case CFG_BOOL: return "bool";
    case CFG_INT: return "integer";
    case CFG_DOUBLE: return "number";
    case CFG_STRING: return "string";
    case CFG_PATH: return "path";
    case CFG_DURATION: return "duration";
    case CFG_SIZE: return "size";
    case CFG_ENUM: return "enum";
    case CFG_STRLIST: return "list of strings";
    case CFG_STRMAP: return "map of strings";
    case CFG_SECTION: return "section";
    case CFG_LIST: return "list of sections";
    case CFG_MAP: return "map of sections";
    }
    return "?";
}

/* Table cells cannot hold '|' or newlines. */
static void put_cell(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", fp);
        else if (*s == '\n')
            fputc(' ', fp);
        else
            fputc(*s, fp);
    }
}

static void put_code_cell(FILE *fp, const char *s)
{
    /* A backtick inside needs a longer fence. */
    const char *fence = strchr(s, '`') ? "`` " : "`";
    const char *close = strchr(s, '`') ? " ``" : "`";
    fputs(fence, fp);
    put_cell(fp, s);
    fputs(close, fp);
}

static bool default_inline(const struct config_key *k)
{
    return !k->def || strlen(k->def) <= DOC_INLINE_DEFAULT;
}

static void write_default_cell(FILE *fp, const struct config_key *k)
{
    if (k->required) {
        fputs("*required*", fp);
        return;
    }
    if (k->def) {
        if (!default_inline(k))
            fputs("see below", fp);
        else if (!*k->def)
            fputs("`\"\"`", fp);
        else
            put_code_cell(fp, k->def);
        return;
    }
    /* No default: the zero value of the field. */
    switch (k->type) {
    case CFG_BOOL: fputs("`false`", fp); break;
    case CFG_INT:
    case CFG_DOUBLE:
    case CFG_DURATION:
    case CFG_SIZE: fputs("`0`", fp); break;
    case CFG_ENUM:
        if (k->options && k->options[0])
            put_code_cell(fp, k->options[0]);
        break;
    case CFG_STRLIST:
    case CFG_LIST: fputs("`[]`", fp); break;
    case CFG_STRMAP:
    case CFG_MAP: fputs("`{}`", fp); break;
    case CFG_SECTION: fputs("see below", fp); break;
    default: fputs("(none)", fp); break;
    }
}

static void write_key_row(FILE *fp, const struct config_key *k,
                          const char *path)
{
    fputs("| `", fp);
    put_cell(fp, k->name);
    fputs("` | ", fp);
    fputs(type_name(k->type), fp);
    fputs(" | ", fp);
    write_default_cell(fp, k);
    fputs(" | ", fp);
    if (k->bounded) {
        char lo[32], hi[32];
        bool count = !config_is_scalar_type(k->type);
        config_fmt_value(lo, sizeof(lo), count ? CFG_INT : k->type, k->min);
        config_fmt_value(hi, sizeof(hi), count ? CFG_INT : k->type, k->max);
        fprintf(fp, "%s..%s%s", lo, hi, count ? " entries" : "");
    }
    fputs(" | ", fp);
    put_cell(fp, k->desc ? k->desc : "");
    if (k->type == CFG_ENUM && k->options) {
        fputs(k->desc && *k->desc ? " One of " : "One of ", fp);
        for (size_t i = 0; k->options[i]; i++)
            fprintf(fp, "%s`%s`", i ? ", " : "", k->options[i]);
        fputs(".", fp);
    }
    if ((k->type == CFG_SECTION || k->type == CFG_LIST ||
         k->type == CFG_MAP) && k->sub) {
        fprintf(fp, " See `%s%s`.", path,
                k->type == CFG_LIST ? "[]"
                : k->type == CFG_MAP ? ".<name>"
                                     : "");
    }
    fputs(" |\n", fp);
}

static void write_table(FILE *fp, const struct config_table *t,
                        const char *path, int level,
                        const struct config_key *extra)
{
    if (level > 6)
        level = 6;
    fprintf(fp, "\n%.*s `%s`\n\n", level, "######", path);
    if (t && t->doc)
        fprintf(fp, "%s\n\n", t->doc);
    size_t n = t ? t->n_keys : 0;
    if (n == 0 && !extra) {
        fputs("No keys.\n", fp);
        return;
    }
    fputs("| key | type | default | bounds | description |\n"
          "|---|---|---|---|---|\n",
          fp);
    if (extra)
        write_key_row(fp, extra, path);
    char *sub = NULL;
    for (size_t i = 0; i < n; i++) {
        sub = config_fmt("%s.%s", path, t->keys[i].name);
        if (sub)
            write_key_row(fp, &t->keys[i], sub);
        free(sub);
    }
    for (size_t i = 0; i < n; i++) {
        const struct config_key *k = &t->keys[i];
        if (default_inline(k))
            continue;
        fprintf(fp, "\nDefault of `%s`:\n\n```yaml\n%s\n```\n", k->name,
                k->def);
    }
    for (size_t i = 0; i < n; i++) {
        const struct config_key *k = &t->keys[i];
        if (!k->sub || (k->type != CFG_SECTION && k->type != CFG_LIST &&
                        k->type != CFG_MAP))
            continue;
        sub = config_fmt("%s.%s%s", path, k->name,
                         k->type == CFG_LIST ? "[]"
                         : k->type == CFG_MAP ? ".<name>"
                         : "");
        if (sub)
            write_table(fp, k->sub, sub, level + 1, NULL);
        free(sub);
    }
}

void config_write_docs(FILE *fp, const struct config_plugin *plugins,
                       size_t n_plugins)
{
    fputs("# Configuration reference\n\n"
          "<!-- Generated from the tables in the code by config_write_docs() "
          "(`dealstream config-docs`); do not edit by hand. -->\n\n"
          "The daemon reads one YAML file (`processor.yaml`). Check an edit "
          "with `dealstream check-config -c FILE`: every error is reported, "
          "as `file:line:col: key.path: message`, and nothing is applied "
          "unless the whole file is valid. Unknown keys are errors.\n\n"
          "Any key can be overridden on the command line with "
          "`--set dotted.key=value` (repeatable). The value is read as YAML, "
          "so it means what it would in the file; missing sections are "
          "created; a numeric segment under a map adds or replaces that key "
          "(`--set schemas.ids.42=schemas/x.avsc`), under a list it selects "
          "an item. A key given in the file or by `--set` replaces its "
          "default completely; lists and maps are not merged.\n\n"
          "Value formats:\n\n"
          "- **duration**: an integer with a unit, `ms`, `s`, `m`, `h` or "
          "`d` (`250ms`, `120s`, `4m`, `14d`), units may be combined "
          "(`1h30m`); a bare integer is milliseconds.\n"
          "- **size**: an integer with `B`, `KiB`, `MiB`, `GiB`, `TiB` "
          "(powers of 1024) or `kB`/`KB`, `MB`, `GB`, `TB` (powers of "
          "1000); a bare integer is bytes.\n"
          "- **bool**: `true`/`false`, `yes`/`no`, `on`/`off`.\n"
          "- **integer**: decimal, no fraction or suffix.\n"
          "- **path**: relative paths resolve against the folder of the "
          "config file.\n"
          "- **list of strings**: a YAML sequence; a single value is a list "
          "of one.\n"
          "- **bounds** apply to the value, or to the number of entries of "
          "a list or map.\n"
          "- **secrets**: any value may contain `${file:PATH}` (the file's "
          "text, one trailing newline dropped; a relative PATH resolves "
          "against the config file's folder) or `${env:NAME}` (an "
          "environment variable), resolved once at load; a missing file or "
          "variable is an error. `$${` is a literal `${`. Such values, and "
          "`properties`/`topic_configs` entries whose key names a "
          "credential, are never printed (see OPERATIONS.md, Security).\n",
          fp);
    for (size_t i = 0; i < config_root_table.n_keys; i++)
        write_table(fp, config_root_table.keys[i].sub, config_root_table.keys[i].name, 2, NULL);
    fputs("\n## `processors`\n\n"
          "One section per processor, `processors.<name>`. Every processor "
          "is configured, with its defaults, even when its section is "
          "absent; `enabled: false` turns it off.\n",
          fp);
    for (size_t i = 0; i < n_plugins; i++) {
        char *path = config_fmt("processors.%s", plugins[i].name);
        if (path)
            write_table(fp, plugins[i].table, path, 2,
                        plugins[i].table && plugins[i].table->off_by_default
                            ? &config_enabled_off_key
                            : &config_enabled_key);
        free(path);
    }
}
