/*
 * config_tree.c - the config as a tree of our own: YAML parsed with
 * libyaml's event API (libyaml stays in this file: one adapter per
 * library) and `--set a.b.c=value` grafted on, every node keeping its
 * source, line and column so each error can name its place; and the
 * errors themselves, collected and sorted by place.
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

#include <yaml.h>

#include "config_impl.h"

/* ------------------------------------------------------------------------ */
/* Errors */

__attribute__((format(printf, 1, 0))) static char *vfmt(const char *f,
                                                        va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, f, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, f, ap);
    return s;
}

char *config_fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    return s;
}

char *config_xstrdup(struct ctx *c, const char *s)
{
    char *d = strdup(s);
    if (!d)
        c->oom = true;
    return d;
}

void config_ctx_err(struct ctx *c, const struct src *s, int line, int col,
                    const char *path, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *m = vfmt(f, ap);
    va_end(ap);
    char *msg = NULL;
    if (m)
        msg = (path && *path)
                  ? config_fmt("%s:%d:%d: %s: %s", s->name, line, col, path, m)
                  : config_fmt("%s:%d:%d: %s", s->name, line, col, m);
    free(m);
    if (!msg) {
        c->oom = true;
        return;
    }
    if (c->n_errs == c->cap_errs) {
        size_t cap = c->cap_errs ? c->cap_errs * 2 : 8;
        struct cerr *v = realloc(c->errs, cap * sizeof(*v));
        if (!v) {
            free(msg);
            c->oom = true;
            return;
        }
        c->errs = v;
        c->cap_errs = cap;
    }
    c->errs[c->n_errs] = (struct cerr){.msg = msg, .rank = s->rank,
                                       .line = line, .col = col,
                                       .seq = c->n_errs};
    c->n_errs++;
}

static int cerr_cmp(const void *a, const void *b)
{
    const struct cerr *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Sorted by place, moved into the caller's list (or dropped). */
void config_ctx_flush_errors(struct ctx *c, struct config_errors *errs)
{
    if (c->n_errs > 1)
        qsort(c->errs, c->n_errs, sizeof(*c->errs), cerr_cmp);
    size_t extra = c->oom ? 1 : 0;
    char **v = NULL;
    if (errs && c->n_errs + extra > 0)
        v = realloc(errs->msgs, (errs->n + c->n_errs + extra) * sizeof(*v));
    for (size_t i = 0; i < c->n_errs; i++) {
        if (v)
            v[errs->n++] = c->errs[i].msg;
        else
            free(c->errs[i].msg);
    }
    if (v) {
        errs->msgs = v;
        if (c->oom) {
            char *m = strdup("config: out of memory");
            if (m)
                v[errs->n++] = m;
        }
    }
    free(c->errs);
    c->errs = NULL;
    c->n_errs = c->cap_errs = 0;
}

void config_errors_print(const struct config_errors *errs, FILE *fp)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->n; i++)
        fprintf(fp, "%s\n", errs->msgs[i]);
}

void config_errors_free(struct config_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = 0;
}

/* ------------------------------------------------------------------------ */
/* The node tree */

static struct node *node_new(struct ctx *c, enum nkind kind,
                             const struct src *s, int line, int col)
{
    if (c->budget == 0)
        return NULL;
    struct node *n = calloc(1, sizeof(*n));
    if (!n) {
        c->oom = true;
        return NULL;
    }
    c->budget--;
    n->kind = kind;
    n->src = s;
    n->line = line;
    n->col = col;
    return n;
}

void config_node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            config_node_free(n->keys[i]);
        config_node_free(n->vals[i]);
    }
    free(n->keys);
    free(n->vals);
    free(n->str);
    free(n);
}

/* Appends an item (key NULL: sequence) or a pair; takes both on success. */
static int node_append(struct ctx *c, struct node *n, struct node *key,
                       struct node *val)
{
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 4;
        struct node **v = realloc(n->vals, cap * sizeof(*v));
        if (!v)
            goto oom;
        n->vals = v;
        if (n->kind == NODE_MAP) {
            struct node **k = realloc(n->keys, cap * sizeof(*k));
            if (!k)
                goto oom;
            n->keys = k;
        }
        n->cap = cap;
    }
    if (n->kind == NODE_MAP)
        n->keys[n->n] = key;
    n->vals[n->n++] = val;
    return 0;
oom:
    c->oom = true;
    return -1;
}

bool config_node_is_null(const struct node *n)
{
    if (!n)
        return true;
    if (n->kind != NODE_SCALAR || !n->plain)
        return false;
    const char *s = n->str;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static long node_find(const struct node *map, const char *key)
{
    if (!map || map->kind != NODE_MAP)
        return -1;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->str, key) == 0)
            return (long)i;
    return -1;
}

struct node *config_node_get(const struct node *map, const char *key)
{
    long i = node_find(map, key);
    return i < 0 ? NULL : map->vals[i];
}

static struct node *node_copy(struct ctx *c, const struct node *n)
{
    struct node *d = node_new(c, n->kind, n->src, n->line, n->col);
    if (!d)
        return NULL;
    d->plain = n->plain;
    d->secret = n->secret;
    if (n->str && !(d->str = config_xstrdup(c, n->str)))
        goto fail;
    for (size_t i = 0; i < n->n; i++) {
        struct node *k = NULL, *v = NULL;
        if (n->kind == NODE_MAP && !(k = node_copy(c, n->keys[i])))
            goto fail;
        if (!(v = node_copy(c, n->vals[i])) || node_append(c, d, k, v) < 0) {
            config_node_free(k);
            config_node_free(v);
            goto fail;
        }
    }
    return d;
fail:
    config_node_free(d);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* YAML -> tree */

struct anchor {
    char *name;
    const struct node *node; /* in the tree being built, not owned */
};

struct pseg {
    const char *key; /* map key, or NULL: sequence index */
    size_t idx;
};

struct parser {
    yaml_parser_t yp;
    struct ctx *c;
    const struct src *src;
    int col_off; /* --set values: where the value starts in the argument */
    int one_line; /* --set values: 1 + their length; errors stay on line 1 */
    struct anchor *anchors;
    size_t n_anchors, cap_anchors;
    struct pseg stack[MAX_DEPTH + 1];
    int depth;
    /* Discarded nodes (duplicate or bad keys) live until the end of the
     * parse, since an anchor may still point into them. */
    struct node grave;
    bool failed; /* a syntax error: the event stream cannot continue */
};

/* Dotted path of the position being parsed, for errors. */
static char *parser_path(const struct parser *p)
{
    char *s = strdup("");
    for (int i = 0; s && i < p->depth; i++) {
        char *t;
        if (p->stack[i].key)
            t = config_fmt(*s ? "%s.%s" : "%s%s", s, p->stack[i].key);
        else
            t = config_fmt("%s[%zu]", s, p->stack[i].idx);
        free(s);
        s = t;
    }
    return s;
}

__attribute__((format(printf, 4, 5))) static void
perr(struct parser *p, int line0, int col0, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *m = vfmt(f, ap);
    va_end(ap);
    if (p->one_line && line0 > 0) { /* libyaml's mark past the end */
        line0 = 0;
        col0 = p->one_line - 1;
    }
    char *path = parser_path(p);
    if (m)
        config_ctx_err(p->c, p->src, line0 + 1, col0 + 1 + p->col_off, path, "%s",
                       m);
    else
        p->c->oom = true;
    free(m);
    free(path);
}

static void perr_yaml(struct parser *p)
{
    yaml_parser_t *yp = &p->yp;
    yaml_mark_t mark = yp->problem_mark;
    const char *problem = yp->problem ? yp->problem : "invalid YAML";
    p->failed = true;
    if (yp->error == YAML_MEMORY_ERROR) {
        p->c->oom = true;
        return;
    }
    if (yp->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset; mark is where the scanner is. */
        perr(p, (int)yp->mark.line, (int)yp->mark.column,
             "syntax error: %s at byte %zu", problem, yp->problem_offset);
        return;
    }
    if (yp->context)
        perr(p, (int)mark.line, (int)mark.column,
             "syntax error: %s (%s at line %d:%d)", problem, yp->context,
             (int)yp->context_mark.line + 1,
             (int)yp->context_mark.column + 1 + p->col_off);
    else
        perr(p, (int)mark.line, (int)mark.column, "syntax error: %s", problem);
}

static int next_event(struct parser *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&p->yp, ev)) {
        perr_yaml(p);
        return -1;
    }
    return 0;
}

static void anchor_add(struct parser *p, char *name, const struct node *n)
{
    if (!name)
        return;
    if (p->n_anchors == p->cap_anchors) {
        size_t cap = p->cap_anchors ? p->cap_anchors * 2 : 8;
        struct anchor *v = realloc(p->anchors, cap * sizeof(*v));
        if (!v) {
            free(name);
            p->c->oom = true;
            return;
        }
        p->anchors = v;
        p->cap_anchors = cap;
    }
    p->anchors[p->n_anchors++] = (struct anchor){.name = name, .node = n};
}

static char *anchor_dup(struct parser *p, const yaml_char_t *a)
{
    return a ? config_xstrdup(p->c, (const char *)a) : NULL;
}

static struct node *parse_node(struct parser *p, yaml_event_t *ev);

static void budget_exhausted(struct parser *p, int line0, int col0)
{
    if (!p->c->oom)
        perr(p, line0, col0,
             "document too large (over %d nodes, alias expansion included)",
             NODE_BUDGET);
    p->failed = true;
}

static struct node *parse_collection(struct parser *p, yaml_event_t *ev,
                                     enum nkind kind)
{
    int line0 = (int)ev->start_mark.line, col0 = (int)ev->start_mark.column;
    char *anchor = anchor_dup(
        p, kind == NODE_MAP ? ev->data.mapping_start.anchor
                            : ev->data.sequence_start.anchor);
    yaml_event_delete(ev);
    struct node *n = node_new(p->c, kind, p->src, line0 + 1,
                              col0 + 1 + p->col_off);
    if (!n) {
        budget_exhausted(p, line0, col0);
        free(anchor);
        return NULL;
    }
    if (p->depth >= MAX_DEPTH) {
        perr(p, line0, col0, "nesting deeper than %d levels", MAX_DEPTH);
        p->failed = true;
        goto fail;
    }
    yaml_event_type_t end =
        kind == NODE_MAP ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    for (;;) {
        yaml_event_t e;
        if (next_event(p, &e) < 0)
            goto fail;
        if (e.type == end) {
            yaml_event_delete(&e);
            break;
        }
        struct pseg *seg = &p->stack[p->depth];
        if (kind == NODE_SEQ) {
            *seg = (struct pseg){.key = NULL, .idx = n->n};
            p->depth++;
            struct node *item = parse_node(p, &e);
            p->depth--;
            if (!item || node_append(p->c, n, NULL, item) < 0) {
                config_node_free(item);
                goto fail;
            }
            continue;
        }
        struct node *key = parse_node(p, &e);
        if (!key)
            goto fail;
        bool bad_key = key->kind != NODE_SCALAR;
        if (bad_key)
            perr(p, key->line - 1, key->col - 1 - p->col_off,
                 "map keys must be plain values, not a %s",
                 key->kind == NODE_MAP ? "map" : "list");
        *seg = (struct pseg){.key = bad_key ? "?" : key->str};
        p->depth++;
        struct node *val = NULL;
        if (next_event(p, &e) == 0)
            val = parse_node(p, &e);
        p->depth--;
        if (!val) {
            config_node_free(key);
            goto fail;
        }
        long dup = bad_key ? -1 : node_find(n, key->str);
        if (dup >= 0) {
            const struct node *first = n->keys[dup];
            char *path = parser_path(p);
            char *full = path ? config_fmt(*path ? "%s.%s" : "%s%s", path, key->str)
                              : NULL;
            config_ctx_err(p->c, p->src, key->line, key->col, full ? full : "",
                           "duplicate key '%s' (first at line %d:%d)", key->str,
                           first->line, first->col);
            free(path);
            free(full);
        }
        if (bad_key || dup >= 0) {
            if (node_append(p->c, &p->grave, NULL, key) < 0)
                config_node_free(key);
            if (node_append(p->c, &p->grave, NULL, val) < 0)
                config_node_free(val);
            continue;
        }
        if (node_append(p->c, n, key, val) < 0) {
            config_node_free(key);
            config_node_free(val);
            goto fail;
        }
    }
    anchor_add(p, anchor, n);
    return n;
fail:
    free(anchor);
    config_node_free(n);
    return NULL;
}

/* Builds the node starting with `ev` (consumed). NULL after an error that
 * ends parsing (syntax, depth, budget, memory). */
static struct node *parse_node(struct parser *p, yaml_event_t *ev)
{
    int line0 = (int)ev->start_mark.line, col0 = (int)ev->start_mark.column;
    struct node *n = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        n = node_new(p->c, NODE_SCALAR, p->src, line0 + 1,
                     col0 + 1 + p->col_off);
        if (!n) {
            budget_exhausted(p, line0, col0);
            break;
        }
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->str = strndup((const char *)ev->data.scalar.value,
                         ev->data.scalar.length);
        if (!n->str) {
            p->c->oom = true;
            config_node_free(n);
            n = NULL;
            break;
        }
        anchor_add(p, anchor_dup(p, ev->data.scalar.anchor), n);
        break;
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        const struct node *target = NULL;
        for (size_t i = p->n_anchors; i-- > 0;)
            if (strcmp(p->anchors[i].name, name) == 0) {
                target = p->anchors[i].node;
                break;
            }
        if (!target) {
            /* A semantic error: keep parsing with a null in its place. */
            perr(p, line0, col0, "unknown anchor '%s'", name);
            n = node_new(p->c, NODE_SCALAR, p->src, line0 + 1,
                         col0 + 1 + p->col_off);
            if (n && !(n->str = config_xstrdup(p->c, "~"))) {
                config_node_free(n);
                n = NULL;
            }
            if (n)
                n->plain = true;
        } else {
            n = node_copy(p->c, target);
        }
        if (!n)
            budget_exhausted(p, line0, col0);
        break;
    }
    case YAML_SEQUENCE_START_EVENT:
        return parse_collection(p, ev, NODE_SEQ);
    case YAML_MAPPING_START_EVENT:
        return parse_collection(p, ev, NODE_MAP);
    default:
        perr(p, line0, col0, "syntax error: unexpected YAML event");
        p->failed = true;
        break;
    }
    yaml_event_delete(ev);
    return n;
}

/* One document (or none: *root NULL). 0, or -1 after an error. */
static int parse_stream(struct parser *p, struct node **root)
{
    yaml_event_t ev;
    *root = NULL;
    if (next_event(p, &ev) < 0)
        return -1;
    yaml_event_delete(&ev); /* STREAM_START */
    if (next_event(p, &ev) < 0)
        return -1;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0;
    }
    yaml_event_delete(&ev); /* DOCUMENT_START */
    if (next_event(p, &ev) < 0)
        return -1;
    *root = parse_node(p, &ev);
    if (!*root)
        return -1;
    if (next_event(p, &ev) < 0) /* DOCUMENT_END */
        goto fail;
    yaml_event_delete(&ev);
    if (next_event(p, &ev) < 0)
        goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        perr(p, (int)ev.start_mark.line, (int)ev.start_mark.column,
             "only one YAML document is allowed");
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev);
    return 0;
fail:
    config_node_free(*root);
    *root = NULL;
    return -1;
}

static void parser_done(struct parser *p)
{
    for (size_t i = 0; i < p->grave.n; i++)
        config_node_free(p->grave.vals[i]);
    free(p->grave.vals);
    for (size_t i = 0; i < p->n_anchors; i++)
        free(p->anchors[i].name);
    free(p->anchors);
    yaml_parser_delete(&p->yp);
}

/* Parses `text` (a default or a --set value). 0 with *out (NULL: empty), or
 * -1 after recording the error. */
int config_parse_text(struct ctx *c, const struct src *s, const char *text,
                      int col_off, struct node **out)
{
    struct parser p = {.c = c, .src = s, .col_off = col_off,
                       .grave = {.kind = NODE_SEQ}};
    if (col_off > 0 && !strchr(text, '\n'))
        p.one_line = (int)strlen(text) + 1;
    *out = NULL;
    if (!yaml_parser_initialize(&p.yp)) {
        c->oom = true;
        return -1;
    }
    yaml_parser_set_input_string(&p.yp, (const unsigned char *)text,
                                 strlen(text));
    int rc = parse_stream(&p, out);
    parser_done(&p);
    return rc;
}

int config_parse_file(struct ctx *c, const struct src *s, const char *path,
                      struct node **out)
{
    struct parser p = {.c = c, .src = s, .grave = {.kind = NODE_SEQ}};
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        config_ctx_err(c, s, 1, 1, "", "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&p.yp)) {
        fclose(fp);
        c->oom = true;
        return -1;
    }
    yaml_parser_set_input_file(&p.yp, fp);
    int rc = parse_stream(&p, out);
    parser_done(&p);
    fclose(fp);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Nodes made by hand (--set) */

struct node *config_scalar_new(struct ctx *c, const struct src *s, int col,
                               const char *str, size_t len)
{
    struct node *n = node_new(c, NODE_SCALAR, s, 1, col);
    if (!n)
        return NULL;
    n->plain = true;
    n->str = strndup(str, len);
    if (!n->str) {
        c->oom = true;
        config_node_free(n);
        return NULL;
    }
    return n;
}

bool config_all_digits(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* --set */

/* What the --set path walks through, so a key that itself contains dots
 * (a librdkafka property, a signal name in a MAP) is kept whole. */
enum set_at { AT_TABLE, AT_STRMAP, AT_ITEMS, AT_PLUGINS, AT_UNKNOWN };

static const struct config_key *table_key(const struct config_table *t,
                                          const char *name, size_t len)
{
    for (size_t i = 0; t && i < t->n_keys; i++)
        if (strlen(t->keys[i].name) == len &&
            memcmp(t->keys[i].name, name, len) == 0)
            return &t->keys[i];
    return NULL;
}

/* End of the segment starting at `seg` for a MAP of sections: the longest
 * existing item name, else all but a trailing key of the item table. */
static const char *item_name_end(const struct node *cur,
                                 const struct config_table *sub,
                                 const char *seg, const char *eq)
{
    size_t rest = (size_t)(eq - seg), best = 0;
    for (size_t i = 0; cur->kind == NODE_MAP && i < cur->n; i++) {
        size_t kl = strlen(cur->keys[i]->str);
        if (kl > best && kl <= rest && memcmp(cur->keys[i]->str, seg, kl) == 0 &&
            (kl == rest || seg[kl] == '.'))
            best = kl;
    }
    if (best)
        return seg + best;
    const char *dot = NULL;
    for (const char *p = seg; p < eq; p++)
        if (*p == '.')
            dot = p;
    if (dot && table_key(sub, dot + 1, (size_t)(eq - dot - 1)))
        return dot;
    return eq;
}

/* Grafts one "a.b.c=value" onto *rootp, creating maps on the way. */
void config_apply_set(struct ctx *c, struct node **rootp, const struct src *s,
                      const char *arg, const struct config_plugin *plugins,
                      size_t n_plugins)
{
    const char *eq = strchr(arg, '=');
    struct node *val = NULL;
    char *path = NULL;
    if (!eq) {
        config_ctx_err(c, s, 1, 1, arg, "expected KEY=VALUE, found no '='");
        return;
    }
    if (eq == arg) {
        config_ctx_err(c, s, 1, 1, "", "expected KEY=VALUE, found no key");
        return;
    }
    int vcol = (int)(eq - arg) + 1; /* 0-based column of the value + 1 */
    if (config_parse_text(c, s, eq + 1, vcol, &val) < 0)
        return;
    if (!val && !(val = config_scalar_new(c, s, vcol + 1, "", 0)))
        return;

    if (!*rootp || config_node_is_null(*rootp)) {
        config_node_free(*rootp);
        if (!(*rootp = node_new(c, NODE_MAP, s, 1, 1)))
            goto out;
    }
    struct node *cur = *rootp;
    enum set_at at = AT_TABLE;
    const struct config_table *tab = &config_root_table;
    const char *seg = arg;
    if (!(path = strdup(""))) {
        c->oom = true;
        goto out;
    }
    for (;;) {
        const char *end = seg;
        if (at == AT_STRMAP)
            end = eq;
        else if (at == AT_ITEMS && cur->kind == NODE_MAP)
            end = item_name_end(cur, tab, seg, eq);
        else
            while (end < eq && *end != '.')
                end++;
        size_t len = (size_t)(end - seg);
        int col = (int)(seg - arg) + 1;
        bool last = end == eq;
        char *p2 = config_fmt(*path ? "%s.%.*s" : "%s%.*s", path, (int)len, seg);
        if (!p2) {
            c->oom = true;
            goto out;
        }
        free(path);
        path = p2;
        if (len == 0) {
            config_ctx_err(c, s, 1, col, path, "empty key segment");
            goto out;
        }

        /* Where the next segment lands. */
        enum set_at next = AT_UNKNOWN;
        const struct config_table *next_tab = NULL;
        if (at == AT_TABLE) {
            const struct config_key *k = table_key(tab, seg, len);
            if (tab == &config_root_table && len == 10 &&
                memcmp(seg, "processors", 10) == 0)
                next = AT_PLUGINS;
            else if (k && k->type == CFG_SECTION)
                next = AT_TABLE, next_tab = k->sub;
            else if (k && k->type == CFG_STRMAP)
                next = AT_STRMAP;
            else if (k && (k->type == CFG_LIST || k->type == CFG_MAP))
                next = AT_ITEMS, next_tab = k->sub;
        } else if (at == AT_ITEMS) {
            next = AT_TABLE, next_tab = tab;
        } else if (at == AT_PLUGINS) {
            for (size_t i = 0; i < n_plugins; i++)
                if (strlen(plugins[i].name) == len &&
                    memcmp(plugins[i].name, seg, len) == 0)
                    next = AT_TABLE, next_tab = plugins[i].table;
        }

        struct node **slot = NULL;
        if (cur->kind == NODE_SEQ) {
            if (!config_all_digits(seg, len)) {
                config_ctx_err(c, s, 1, col, path, "expected a list index");
                goto out;
            }
            unsigned long idx = strtoul(seg, NULL, 10);
            if (idx >= cur->n) {
                config_ctx_err(c, s, 1, col, path,
                               "index %lu is out of range (the list has %zu items)",
                               idx, cur->n);
                goto out;
            }
            slot = &cur->vals[idx];
        } else {
            for (size_t i = 0; i < cur->n; i++)
                if (strlen(cur->keys[i]->str) == len &&
                    memcmp(cur->keys[i]->str, seg, len) == 0)
                    slot = &cur->vals[i];
            if (!slot) {
                struct node *k = config_scalar_new(c, s, col, seg, len);
                struct node *v = last ? val : node_new(c, NODE_MAP, s, 1, col);
                if (!k || !v || node_append(c, cur, k, v) < 0) {
                    config_node_free(k);
                    if (v != val)
                        config_node_free(v);
                    goto out;
                }
                if (last) {
                    val = NULL; /* now in the tree */
                    goto out;
                }
                slot = &cur->vals[cur->n - 1];
            }
        }
        if (last) {
            config_node_free(*slot);
            *slot = val;
            val = NULL;
            goto out;
        }
        if (config_node_is_null(*slot)) {
            config_node_free(*slot);
            if (!(*slot = node_new(c, NODE_MAP, s, 1, col)))
                goto out;
        } else if ((*slot)->kind == NODE_SCALAR) {
            config_ctx_err(c, s, 1, col, path,
                           "is a value, not a section: cannot set keys below it");
            goto out;
        }
        cur = *slot;
        at = next;
        tab = next_tab;
        seg = end + 1;
    }
out:
    free(path);
    config_node_free(val);
}

/* ------------------------------------------------------------------------ */
