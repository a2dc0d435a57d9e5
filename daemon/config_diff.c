/*
 * config_diff.c - which keys differ between two loaded configs, and a
 * digest of one, walked with the same tables that bound them (config_tables.c and each
 * processor's own), so a key added to a table is compared without a
 * change here. The reload (reload.c) decides from these paths whether a
 * new file can be applied live.
 *
 * Scalars are reported by their own path; a list or map of sections whose
 * items differ in number, names or content is reported once, by the path
 * of the list: what changes live is decided per key, not per item.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config_impl.h"

struct diff {
    void (*fn)(void *arg, const char *path);
    void *arg;
    size_t n;
};

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool table_eq(const struct config_table *t, const char *a,
                     const char *b);

/* Whether the field of key k is the same in a and b. */
static bool field_eq(const struct config_key *k, const char *fa,
                     const char *fb)
{
    switch (k->type) {
    case CFG_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case CFG_INT:
    case CFG_DURATION:
    case CFG_SIZE:
        return *(const int64_t *)fa == *(const int64_t *)fb;
    case CFG_DOUBLE: {
        double x = *(const double *)fa, y = *(const double *)fb;
        return x == y || (isnan(x) && isnan(y));
    }
    case CFG_ENUM:
        return *(const int *)fa == *(const int *)fb;
    case CFG_STRING:
    case CFG_PATH:
        return str_eq(*(char *const *)fa, *(char *const *)fb);
    case CFG_STRLIST: {
        const struct cfg_strlist *x = (const void *)fa, *y = (const void *)fb;
        if (x->n != y->n)
            return false;
        for (size_t i = 0; i < x->n; i++)
            if (!str_eq(x->v[i], y->v[i]))
                return false;
        return true;
    }
    case CFG_STRMAP: {
        const struct cfg_strmap *x = (const void *)fa, *y = (const void *)fb;
        if (x->n != y->n)
            return false;
        for (size_t i = 0; i < x->n; i++)
            if (!str_eq(x->v[i].key, y->v[i].key) ||
                !str_eq(x->v[i].value, y->v[i].value))
                return false;
        return true;
    }
    case CFG_SECTION:
        return table_eq(k->sub, fa, fb);
    case CFG_LIST:
    case CFG_MAP: {
        const struct cfg_array *x = (const void *)fa, *y = (const void *)fb;
        if (x->n != y->n)
            return false;
        if (!k->sub)
            return true;
        size_t esz = k->sub->elem_size ? k->sub->elem_size : 1;
        for (size_t i = 0; i < x->n; i++) {
            const char *ia = (const char *)x->items + i * esz;
            const char *ib = (const char *)y->items + i * esz;
            if (k->type == CFG_MAP &&
                !str_eq(*(char *const *)(ia + k->sub->name_offset),
                        *(char *const *)(ib + k->sub->name_offset)))
                return false;
            if (!table_eq(k->sub, ia, ib))
                return false;
        }
        return true;
    }
    }
    return false;
}

static bool table_eq(const struct config_table *t, const char *a,
                     const char *b)
{
    for (size_t i = 0; t && i < t->n_keys; i++)
        if (!field_eq(&t->keys[i], a + t->keys[i].offset,
                      b + t->keys[i].offset))
            return false;
    return true;
}

/* Reports the differing keys of table t under `prefix`: sections are
 * walked into, everything else reported whole. */
static void table_diff(struct diff *d, const struct config_table *t,
                       const char *prefix, const char *a, const char *b)
{
    for (size_t i = 0; t && i < t->n_keys; i++) {
        const struct config_key *k = &t->keys[i];
        char path[512];
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "",
                 k->name);
        if (k->type == CFG_SECTION) {
            table_diff(d, k->sub, path, a + k->offset, b + k->offset);
            continue;
        }
        if (field_eq(k, a + k->offset, b + k->offset))
            continue;
        d->n++;
        if (d->fn)
            d->fn(d->arg, path);
    }
}

size_t config_diff(const struct config *a, const struct config *b,
                   void (*fn)(void *arg, const char *path), void *arg)
{
    struct diff d = {.fn = fn, .arg = arg};
    table_diff(&d, &config_root_table, "", (const char *)a, (const char *)b);
    size_t n = a->n_plugins < b->n_plugins ? a->n_plugins : b->n_plugins;
    for (size_t i = 0; i < n; i++) {
        char path[256];
        const char *name = a->plugins[i].name;
        if (strcmp(name, b->plugins[i].name) != 0 ||
            a->plugins[i].table != b->plugins[i].table) {
            /* Never from one binary; said rather than compared wrong. */
            snprintf(path, sizeof(path), "processors");
            d.n++;
            if (fn)
                fn(arg, path);
            return d.n;
        }
        snprintf(path, sizeof(path), "processors.%s.enabled", name);
        if (a->plugin_enabled[i] != b->plugin_enabled[i]) {
            d.n++;
            if (fn)
                fn(arg, path);
        }
        snprintf(path, sizeof(path), "processors.%s", name);
        if (a->plugin_cfg[i] && b->plugin_cfg[i])
            table_diff(&d, a->plugins[i].table, path, a->plugin_cfg[i],
                       b->plugin_cfg[i]);
    }
    return d.n;
}

/* ---- digest ------------------------------------------------------------- */

/* FNV-1a 64 over every key's path and value, in table order: the same
 * values give the same digest whatever the file's layout or comments. */
struct digest {
    uint64_t h;
};

static void mix(struct digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 1099511628211ull;
    }
}

static void mix_str(struct digest *d, const char *s)
{
    mix(d, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void table_digest(struct digest *d, const struct config_table *t,
                         const char *obj);

static void field_digest(struct digest *d, const struct config_key *k,
                         const char *f)
{
    char num[64];
    mix_str(d, k->name);
    switch (k->type) {
    case CFG_BOOL:
        mix_str(d, *(const bool *)f ? "1" : "0");
        break;
    case CFG_INT:
    case CFG_DURATION:
    case CFG_SIZE:
        snprintf(num, sizeof(num), "%lld", (long long)*(const int64_t *)f);
        mix_str(d, num);
        break;
    case CFG_DOUBLE:
        snprintf(num, sizeof(num), "%.17g", *(const double *)f);
        mix_str(d, num);
        break;
    case CFG_ENUM:
        snprintf(num, sizeof(num), "%d", *(const int *)f);
        mix_str(d, num);
        break;
    case CFG_STRING:
    case CFG_PATH:
        mix_str(d, *(char *const *)f);
        break;
    case CFG_STRLIST: {
        const struct cfg_strlist *l = (const void *)f;
        for (size_t i = 0; i < l->n; i++)
            mix_str(d, l->v[i]);
        break;
    }
    case CFG_STRMAP: {
        const struct cfg_strmap *m = (const void *)f;
        for (size_t i = 0; i < m->n; i++) {
            mix_str(d, m->v[i].key);
            /* The digest is printed and sent in every alert's header: a
             * fast hash of a password would let it be guessed offline. */
            mix_str(d, config_strmap_secret(m, i) ? CONFIG_REDACTED : m->v[i].value);
        }
        break;
    }
    case CFG_SECTION:
        table_digest(d, k->sub, f);
        break;
    case CFG_LIST:
    case CFG_MAP: {
        const struct cfg_array *a = (const void *)f;
        size_t esz = k->sub && k->sub->elem_size ? k->sub->elem_size : 1;
        for (size_t i = 0; k->sub && i < a->n; i++) {
            const char *item = (const char *)a->items + i * esz;
            if (k->type == CFG_MAP)
                mix_str(d, *(char *const *)(item + k->sub->name_offset));
            table_digest(d, k->sub, item);
        }
        break;
    }
    }
    mix(d, "}", 1); /* the end of a key's value */
}

static void table_digest(struct digest *d, const struct config_table *t,
                         const char *obj)
{
    for (size_t i = 0; t && i < t->n_keys; i++)
        field_digest(d, &t->keys[i], obj + t->keys[i].offset);
}

uint64_t config_digest(const struct config *cfg)
{
    struct digest d = {.h = 1469598103934665603ull};
    table_digest(&d, &config_root_table, (const char *)cfg);
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        mix_str(&d, cfg->plugins[i].name);
        mix_str(&d, cfg->plugin_enabled[i] ? "1" : "0");
        if (cfg->plugin_cfg[i])
            table_digest(&d, cfg->plugins[i].table, cfg->plugin_cfg[i]);
    }
    return d.h;
}
