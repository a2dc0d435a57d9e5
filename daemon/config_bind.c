/*
 * config_bind.c - binding a node tree to C structs with the declarative
 * tables: scalars converted (durations, sizes, enums...), defaults parsed
 * exactly like file content, unknown keys answered with a did-you-mean.
 * Binding never stops at the first error.
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

/* Durations, sizes and other scalars */

static int parse_u64(const char **sp, int64_t *v)
{
    const char *s = *sp;
    int64_t acc = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++)
        if (__builtin_mul_overflow(acc, 10, &acc) ||
            __builtin_add_overflow(acc, *s - '0', &acc))
            return -1;
    *sp = s;
    *v = acc;
    return 0;
}

int config_parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1},         {"s", 1000},        {"m", 60000},
                 {"h", 3600000},    {"d", 86400000}};
    int64_t total = 0, v;
    if (!s || !*s)
        return -1;
    const char *p = s;
    if (parse_u64(&p, &v) < 0)
        return -1;
    if (*p == '\0') {
        *ms = v;
        return 0;
    }
    for (;;) {
        size_t ul = 0;
        while ((p[ul] >= 'a' && p[ul] <= 'z'))
            ul++;
        int64_t mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strlen(units[i].unit) == ul &&
                memcmp(units[i].unit, p, ul) == 0)
                mult = units[i].ms;
        if (!mult || __builtin_mul_overflow(v, mult, &v) ||
            __builtin_add_overflow(total, v, &total))
            return -1;
        p += ul;
        if (*p == '\0')
            break;
        if (parse_u64(&p, &v) < 0)
            return -1;
    }
    *ms = total;
    return 0;
}

int config_parse_size(const char *s, int64_t *bytes)
{
    static const struct {
        const char *unit;
        int64_t mult;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KiB", INT64_C(1) << 10},
                 {"MiB", INT64_C(1) << 20},
                 {"GiB", INT64_C(1) << 30},
                 {"TiB", INT64_C(1) << 40},
                 {"kB", 1000},
                 {"KB", 1000},
                 {"MB", 1000000},
                 {"GB", 1000000000},
                 {"TB", INT64_C(1000000000000)}};
    int64_t v;
    if (!s)
        return -1;
    const char *p = s;
    if (parse_u64(&p, &v) < 0)
        return -1;
    if (*p == ' ' && p[1] != '\0')
        p++; /* "64 MiB" reads naturally */
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(units[i].unit, p) == 0) {
            if (__builtin_mul_overflow(v, units[i].mult, &v))
                return -1;
            *bytes = v;
            return 0;
        }
    return -1;
}

static void fmt_duration(char *buf, size_t len, double v)
{
    int64_t ms = (int64_t)v;
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    if (ms != 0)
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (ms % units[i].ms == 0) {
                snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms),
                         units[i].unit);
                return;
            }
    snprintf(buf, len, "%lldms", (long long)ms);
}

static void fmt_size(char *buf, size_t len, double v)
{
    int64_t b = (int64_t)v;
    static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; b != 0 && i < 4; i++) {
        int64_t m = INT64_C(1) << (10 * (4 - i));
        if (b % m == 0) {
            snprintf(buf, len, "%lld%s", (long long)(b / m), units[i]);
            return;
        }
    }
    snprintf(buf, len, "%lld", (long long)b);
}

/* A bound or value in the key's own notation. */
void config_fmt_value(char *buf, size_t len, enum cfg_type t, double v)
{
    if (t == CFG_DURATION)
        fmt_duration(buf, len, v);
    else if (t == CFG_SIZE)
        fmt_size(buf, len, v);
    else if (t == CFG_DOUBLE)
        snprintf(buf, len, "%g", v);
    else
        snprintf(buf, len, "%.0f", v);
}

static int parse_bool(const char *s, bool *b)
{
    static const char *const t[] = {"true", "yes", "on"};
    static const char *const f[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(s, t[i]) == 0) {
            *b = true;
            return 0;
        }
        if (strcasecmp(s, f[i]) == 0) {
            *b = false;
            return 0;
        }
    }
    return -1;
}

/* 0, -1 not an integer, -2 out of int64 range. */
int config_parse_int(const char *s, int64_t *v)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (*end != '\0')
        return -1;
    if (errno == ERANGE)
        return -2;
    *v = x;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Did you mean */

static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Edit distance <= 2 wins; else a prefix either way (3+ chars). */
void config_suggest_try(struct suggest *sg, const char *cand)
{
    size_t d = levenshtein(sg->name, cand);
    size_t ln = strlen(sg->name), lc = strlen(cand);
    size_t score = SIZE_MAX;
    if (d <= 2 && d < ln)
        score = d;
    else if ((ln >= 3 && strncmp(cand, sg->name, ln) == 0) ||
             (lc >= 3 && strncmp(cand, sg->name, lc) == 0))
        score = 3;
    if (score < sg->score) {
        sg->score = score;
        sg->best = cand;
    }
}

/* ------------------------------------------------------------------------ */
/* Binding */

static const char *type_expect(const struct config_key *k, char *buf,
                               size_t len)
{
    switch (k->type) {
    case CFG_BOOL: return "a boolean (true/false, yes/no, on/off)";
    case CFG_INT: return "an integer";
    case CFG_DOUBLE: return "a number";
    case CFG_STRING: return "a string";
    case CFG_PATH: return "a path";
    case CFG_DURATION: return "a duration like 120s";
    case CFG_SIZE: return "a size like 64MiB";
    case CFG_ENUM: {
        size_t o = (size_t)snprintf(buf, len, "one of");
        for (size_t i = 0; k->options && k->options[i] && o < len; i++)
            o += (size_t)snprintf(buf + o, len - o, "%s %s", i ? "," : "",
                                  k->options[i]);
        return buf;
    }
    case CFG_STRLIST: return "a list of strings";
    case CFG_STRMAP: return "a map of strings";
    case CFG_SECTION: return "a map";
    case CFG_LIST: return "a list of maps";
    case CFG_MAP: return "a map of maps";
    }
    return "?";
}

const char *config_node_what(const struct node *n, char *buf, size_t len)
{
    if (config_node_is_null(n))
        return "nothing";
    if (n->kind == NODE_MAP)
        return "a map";
    if (n->kind == NODE_SEQ)
        return "a list";
    if (n->secret)
        return "a secret value (" CONFIG_REDACTED ")";
    if (strlen(n->str) > 40)
        snprintf(buf, len, "'%.40s...'", n->str);
    else
        snprintf(buf, len, "'%s'", n->str);
    return buf;
}

static void err_expect(struct ctx *c, const struct config_key *k,
                       const struct node *n, const char *path)
{
    char eb[256], wb[64];
    config_ctx_err(c, n->src, n->line, n->col, path, "expected %s, got %s",
                   type_expect(k, eb, sizeof(eb)), config_node_what(n, wb, sizeof(wb)));
}

char *config_join_path(struct ctx *c, const char *dir, const char *p)
{
    if (p[0] == '/')
        return config_xstrdup(c, p);
    size_t dl = strlen(dir);
    char *r = config_fmt("%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", p);
    if (!r)
        c->oom = true;
    return r;
}

char *config_sub_path(struct ctx *c, const char *path, const char *key)
{
    char *r = config_fmt(*path ? "%s.%s" : "%s%s", path, key);
    if (!r)
        c->oom = true;
    return r;
}


bool config_is_scalar_type(enum cfg_type t)
{
    return t <= CFG_ENUM;
}

static void check_count(struct ctx *c, const struct config_key *k,
                        const struct node *n, const char *path, size_t count)
{
    if (!k->bounded || ((double)count >= k->min && (double)count <= k->max))
        return;
    config_ctx_err(c, n->src, n->line, n->col, path,
                   "has %zu entries, expected %.0f to %.0f", count, k->min, k->max);
}

static void bind_scalar(struct ctx *c, const struct config_key *k, char *field,
                        const struct node *n, const char *path)
{
    const char *s = n->str;
    char lo[32], hi[32];
    double dv = 0;
    switch (k->type) {
    case CFG_BOOL:
        if (parse_bool(s, (bool *)field) < 0)
            err_expect(c, k, n, path);
        return;
    case CFG_INT: {
        int64_t v;
        int rc = config_parse_int(s, &v);
        if (rc == -2) {
            config_ctx_err(c, n->src, n->line, n->col, path,
                           "integer '%s' is out of range",
                           n->secret ? CONFIG_REDACTED : s);
            return;
        }
        if (rc < 0) {
            err_expect(c, k, n, path);
            return;
        }
        *(int64_t *)field = v;
        dv = (double)v;
        break;
    }
    case CFG_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || *end != '\0' || !isfinite(v)) {
            err_expect(c, k, n, path);
            return;
        }
        *(double *)field = v;
        dv = v;
        break;
    }
    case CFG_STRING: {
        char *d = config_xstrdup(c, s);
        if (d) {
            free(*(char **)field);
            *(char **)field = d;
        }
        return;
    }
    case CFG_PATH: {
        if (!*s) {
            err_expect(c, k, n, path);
            return;
        }
        char *d = config_join_path(c, c->dir, s);
        if (d) {
            free(*(char **)field);
            *(char **)field = d;
        }
        return;
    }
    case CFG_DURATION:
    case CFG_SIZE: {
        int64_t v;
        if ((k->type == CFG_DURATION ? config_parse_duration(s, &v)
                                     : config_parse_size(s, &v)) < 0) {
            err_expect(c, k, n, path);
            return;
        }
        *(int64_t *)field = v;
        dv = (double)v;
        break;
    }
    case CFG_ENUM: {
        struct suggest sg = {.name = s, .score = SIZE_MAX};
        for (int i = 0; k->options && k->options[i]; i++) {
            if (strcmp(k->options[i], s) == 0) {
                *(int *)field = i;
                return;
            }
            config_suggest_try(&sg, k->options[i]);
        }
        char eb[256], wb[64];
        if (sg.best)
            config_ctx_err(c, n->src, n->line, n->col, path,
                           "expected %s, got %s (did you mean '%s'?)",
                           type_expect(k, eb, sizeof(eb)),
                           config_node_what(n, wb, sizeof(wb)), sg.best);
        else
            err_expect(c, k, n, path);
        return;
    }
    default:
        return;
    }
    if (k->bounded && (dv < k->min || dv > k->max)) {
        config_fmt_value(lo, sizeof(lo), k->type, k->min);
        config_fmt_value(hi, sizeof(hi), k->type, k->max);
        config_ctx_err(c, n->src, n->line, n->col, path,
                       "%s is out of range (%s..%s)",
                       n->secret ? CONFIG_REDACTED : s, lo, hi);
    }
}

/* Binds node `n` (present, maybe null) into the field of key `k`. */
void config_bind_value(struct ctx *c, const struct config_key *k, char *field,
                       const struct node *n, const char *path)
{
    bool null = config_node_is_null(n);
    if (config_is_scalar_type(k->type)) {
        if (n->kind != NODE_SCALAR || null)
            err_expect(c, k, n, path);
        else
            bind_scalar(c, k, field, n, path);
        return;
    }
    switch (k->type) {
    case CFG_STRLIST: {
        struct cfg_strlist *l = (struct cfg_strlist *)field;
        size_t cnt = null ? 0 : n->kind == NODE_SEQ ? n->n : 1;
        if (n->kind == NODE_MAP) {
            err_expect(c, k, n, path);
            return;
        }
        if (cnt && !(l->v = calloc(cnt, sizeof(*l->v)))) {
            c->oom = true;
            return;
        }
        l->n = cnt;
        for (size_t i = 0; i < cnt; i++) {
            const struct node *it = n->kind == NODE_SEQ ? n->vals[i] : n;
            if (it->kind != NODE_SCALAR || config_node_is_null(it)) {
                char wb[64];
                config_ctx_err(c, it->src, it->line, it->col, path,
                               "expected a string as list item %zu, got %s", i + 1,
                               config_node_what(it, wb, sizeof(wb)));
                continue;
            }
            l->v[i] = config_xstrdup(c, it->str);
        }
        check_count(c, k, n, path, cnt);
        return;
    }
    case CFG_STRMAP: {
        struct cfg_strmap *m = (struct cfg_strmap *)field;
        if (!null && n->kind != NODE_MAP) {
            err_expect(c, k, n, path);
            return;
        }
        size_t cnt = null ? 0 : n->n;
        if (cnt && (!(m->v = calloc(cnt, sizeof(*m->v))) ||
                    !(m->secret = calloc(cnt, sizeof(*m->secret))))) {
            c->oom = true;
            return;
        }
        m->n = cnt;
        for (size_t i = 0; i < cnt; i++) {
            const struct node *v = n->vals[i];
            m->v[i].key = config_xstrdup(c, n->keys[i]->str);
            if (v->kind != NODE_SCALAR || config_node_is_null(v)) {
                char wb[64];
                char *p = config_sub_path(c, path, n->keys[i]->str);
                config_ctx_err(c, v->src, v->line, v->col, p ? p : path,
                               "expected a string value, got %s",
                               config_node_what(v, wb, sizeof(wb)));
                free(p);
                continue;
            }
            m->v[i].value = config_xstrdup(c, v->str);
            /* By name only in the librdkafka maps: elsewhere a key like
             * "key_account" is data, and hiding it would blind the digest. */
            m->secret[i] = v->secret ||
                           (path && !strncmp(path, "kafka.", 6) &&
                            config_key_is_secret(m->v[i].key));
        }
        check_count(c, k, n, path, cnt);
        return;
    }
    case CFG_SECTION:
        if (!null && n->kind != NODE_MAP) {
            err_expect(c, k, n, path);
            return;
        }
        if (k->sub)
            config_bind_table(c, k->sub, field, null ? NULL : n, n, path, NULL, NULL);
        return;
    case CFG_LIST:
    case CFG_MAP: {
        struct cfg_array *a = (struct cfg_array *)field;
        enum nkind want = k->type == CFG_LIST ? NODE_SEQ : NODE_MAP;
        if (!k->sub || (!null && n->kind != want)) {
            err_expect(c, k, n, path);
            return;
        }
        size_t cnt = null ? 0 : n->n;
        size_t esz = k->sub->elem_size ? k->sub->elem_size : 1;
        if (cnt && !(a->items = calloc(cnt, esz))) {
            c->oom = true;
            return;
        }
        a->n = cnt;
        for (size_t i = 0; i < cnt; i++) {
            char *item = (char *)a->items + i * esz;
            const struct node *v = n->vals[i];
            char *p = k->type == CFG_LIST
                          ? config_fmt("%s[%zu]", path, i)
                          : config_sub_path(c, path, n->keys[i]->str);
            if (!p) {
                c->oom = true;
                return;
            }
            if (k->type == CFG_MAP)
                *(char **)(item + k->sub->name_offset) =
                    config_xstrdup(c, n->keys[i]->str);
            bool vnull = config_node_is_null(v);
            /* A MAP entry with no body takes all defaults ("rule_x:"), a
             * LIST item with none is more likely a mistake. */
            if (v->kind != NODE_MAP && (k->type == CFG_LIST || !vnull)) {
                char wb[64];
                config_ctx_err(c, v->src, v->line, v->col, p,
                               "expected a map, got %s",
                               config_node_what(v, wb, sizeof(wb)));
            } else {
                config_bind_table(c, k->sub, item, vnull ? NULL : v, v, p, NULL,
                                  NULL);
            }
            free(p);
        }
        check_count(c, k, n, path, cnt);
        return;
    }
    default:
        return;
    }
}

/* Binds the default of `k` (YAML text) or zero/section defaults. */
static void bind_default(struct ctx *c, const struct config_key *k,
                         char *field, const char *path)
{
    if (!k->def) {
        if (k->type == CFG_SECTION && k->sub)
            config_bind_table(c, k->sub, field, NULL, NULL, path, NULL, NULL);
        return;
    }
    if (k->def[0] == '\0' && k->type == CFG_STRING) {
        char *d = config_xstrdup(c, "");
        if (d)
            *(char **)field = d;
        return;
    }
    struct src s = {.name = config_fmt("<default of %s>", path), .rank = INT_MAX};
    struct node *n = NULL;
    if (!s.name) {
        c->oom = true;
        return;
    }
    if (config_parse_text(c, &s, k->def, 0, &n) == 0) {
        if (!n)
            n = config_scalar_new(c, &s, 1, "", 0);
        if (n)
            config_bind_value(c, k, field, n, path);
    }
    config_node_free(n);
    free(s.name);
}

/*
 * Binds `map` (NULL: absent, all defaults) into `obj` with table `t`.
 * `loc` locates errors about the whole section (missing keys, check()).
 * `extra`, if given, is one more accepted key whose value is handed back
 * in *extra_val, for keys the caller binds itself ("processors", "enabled").
 */
void config_bind_table(struct ctx *c, const struct config_table *t, char *obj,
                       const struct node *map, const struct node *loc,
                       const char *path, const char *extra,
                       const struct node **extra_val)
{
    if (map) {
        for (size_t i = 0; i < map->n; i++) {
            const char *name = map->keys[i]->str;
            bool known = extra && strcmp(name, extra) == 0;
            if (known) {
                *extra_val = map->vals[i];
                continue;
            }
            for (size_t j = 0; !known && j < t->n_keys; j++)
                known = strcmp(t->keys[j].name, name) == 0;
            if (known)
                continue;
            struct suggest sg = {.name = name, .score = SIZE_MAX};
            for (size_t j = 0; j < t->n_keys; j++)
                config_suggest_try(&sg, t->keys[j].name);
            if (extra)
                config_suggest_try(&sg, extra);
            const struct node *kn = map->keys[i];
            char *p = config_sub_path(c, path, name);
            if (sg.best)
                config_ctx_err(c, kn->src, kn->line, kn->col, p ? p : path,
                               "unknown key '%s' (did you mean '%s'?)", name,
                               sg.best);
            else
                config_ctx_err(c, kn->src, kn->line, kn->col, p ? p : path,
                               "unknown key '%s'", name);
            free(p);
        }
    }
    for (size_t j = 0; j < t->n_keys; j++) {
        const struct config_key *k = &t->keys[j];
        char *field = obj + k->offset;
        char *p = config_sub_path(c, path, k->name);
        if (!p)
            return;
        const struct node *v = config_node_get(map, k->name);
        if (v)
            config_bind_value(c, k, field, v, p);
        else if (k->required && loc)
            config_ctx_err(c, loc->src, loc->line, loc->col, p,
                           "missing required key '%s'", k->name);
        else if (k->required) /* a default section with a required key */
            config_ctx_err(c, &(struct src){.name = "<defaults>", .rank = INT_MAX},
                           1, 1, p, "missing required key '%s'", k->name);
        else
            bind_default(c, k, field, p);
        free(p);
    }
    if (t->check) {
        const char *msg = t->check(obj);
        if (msg && loc)
            config_ctx_err(c, loc->src, loc->line, loc->col, path, "%s", msg);
        else if (msg)
            config_ctx_err(c, &(struct src){.name = "<defaults>", .rank = INT_MAX},
                           1, 1, path, "%s", msg);
    }
}

/* Frees what binding `t` into `obj` may have allocated. */
void config_free_fields(const struct config_table *t, char *obj)
{
    if (!t)
        return;
    for (size_t j = 0; j < t->n_keys; j++) {
        const struct config_key *k = &t->keys[j];
        char *field = obj + k->offset;
        switch (k->type) {
        case CFG_STRING:
        case CFG_PATH:
            free(*(char **)field);
            *(char **)field = NULL;
            break;
        case CFG_STRLIST: {
            struct cfg_strlist *l = (struct cfg_strlist *)field;
            for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
            free(l->v);
            *l = (struct cfg_strlist){0};
            break;
        }
        case CFG_STRMAP: {
            struct cfg_strmap *m = (struct cfg_strmap *)field;
            for (size_t i = 0; i < m->n; i++) {
                free(m->v[i].key);
                free(m->v[i].value);
            }
            free(m->v);
            free(m->secret);
            *m = (struct cfg_strmap){0};
            break;
        }
        case CFG_SECTION:
            config_free_fields(k->sub, field);
            break;
        case CFG_LIST:
        case CFG_MAP: {
            struct cfg_array *a = (struct cfg_array *)field;
            size_t esz = k->sub && k->sub->elem_size ? k->sub->elem_size : 1;
            for (size_t i = 0; k->sub && i < a->n; i++) {
                char *item = (char *)a->items + i * esz;
                config_free_fields(k->sub, item);
                if (k->type == CFG_MAP)
                    free(*(char **)(item + k->sub->name_offset));
            }
            free(a->items);
            *a = (struct cfg_array){0};
            break;
        }
        default:
            break;
        }
    }
}

/* ------------------------------------------------------------------------ */
