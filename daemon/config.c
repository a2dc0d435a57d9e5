/*
 * config.c - processor.yaml: libyaml -> node tree -> --set -> tables -> structs.
 *
 * Three stages, so each error can name a place:
 *  1. libyaml's event parser builds a small tree of our own (scalar, map,
 *     sequence), every node carrying its source, line and column. Duplicate
 *     keys are caught here, since the tree keeps only one of them.
 *  2. `--set a.b.c=value` arguments are grafted onto the tree. The value is
 *     parsed as YAML, so it means what it would mean in the file, and the
 *     grafted nodes are located as `--set[N]:1:col`.
 *  3. The tree is bound with the declarative `struct config_table`s: every
 *     key is converted into its field, defaults (YAML text in the table) are
 *     parsed and bound exactly like file content, unknown keys get a
 *     did-you-mean. Binding never stops at the first error: all of them are
 *     collected, sorted by place, and the half-built config is freed.
 *
 * libyaml stays in this file (STYLE: one adapter per library). The same
 * tables produce docs/CONFIG.md in config_write_docs(), so the reference
 * cannot drift from what the loader accepts.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_DEPTH 64          /* nesting; also bounds our recursion */
#define NODE_BUDGET 500000    /* nodes per load, against alias bombs */
#define DOC_INLINE_DEFAULT 60 /* longer defaults go below the docs table */

/* ------------------------------------------------------------------------ */
/* Errors */

/* Where nodes come from: the file, one --set, or a key's default text. */
struct src {
    char *name; /* "processor.yaml", "--set[2]", "<default of state.dir>" */
    int rank;   /* sort order of errors: file 0, --set N, defaults last */
};

struct cerr {
    char *msg;
    int rank, line, col;
    size_t seq;
};

struct ctx {
    struct cerr *errs;
    size_t n_errs, cap_errs;
    bool oom;          /* an allocation failed; reported once at the end */
    const char *dir;   /* absolute folder of the config file */
    size_t budget;     /* nodes left for this load */
};

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

__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    return s;
}

static char *xstrdup(struct ctx *c, const char *s)
{
    char *d = strdup(s);
    if (!d)
        c->oom = true;
    return d;
}

__attribute__((format(printf, 6, 7))) static void
ctx_err(struct ctx *c, const struct src *s, int line, int col,
        const char *path, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *m = vfmt(f, ap);
    va_end(ap);
    char *msg = NULL;
    if (m)
        msg = (path && *path)
                  ? fmt("%s:%d:%d: %s: %s", s->name, line, col, path, m)
                  : fmt("%s:%d:%d: %s", s->name, line, col, m);
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
static void ctx_flush_errors(struct ctx *c, struct config_errors *errs)
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

enum nkind { NODE_SCALAR, NODE_MAP, NODE_SEQ };

struct node {
    enum nkind kind;
    const struct src *src;
    int line, col;       /* 1-based */
    bool plain;          /* unquoted scalar: "", "~", "null" mean null */
    char *str;           /* scalar text, owned */
    struct node **keys;  /* map: scalar key nodes, owned */
    struct node **vals;  /* map values / sequence items, owned */
    size_t n, cap;
};

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

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            node_free(n->keys[i]);
        node_free(n->vals[i]);
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

static bool node_is_null(const struct node *n)
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

static struct node *node_get(const struct node *map, const char *key)
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
    if (n->str && !(d->str = xstrdup(c, n->str)))
        goto fail;
    for (size_t i = 0; i < n->n; i++) {
        struct node *k = NULL, *v = NULL;
        if (n->kind == NODE_MAP && !(k = node_copy(c, n->keys[i])))
            goto fail;
        if (!(v = node_copy(c, n->vals[i])) || node_append(c, d, k, v) < 0) {
            node_free(k);
            node_free(v);
            goto fail;
        }
    }
    return d;
fail:
    node_free(d);
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
            t = fmt(*s ? "%s.%s" : "%s%s", s, p->stack[i].key);
        else
            t = fmt("%s[%zu]", s, p->stack[i].idx);
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
        ctx_err(p->c, p->src, line0 + 1, col0 + 1 + p->col_off, path, "%s",
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
    return a ? xstrdup(p->c, (const char *)a) : NULL;
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
                node_free(item);
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
            node_free(key);
            goto fail;
        }
        long dup = bad_key ? -1 : node_find(n, key->str);
        if (dup >= 0) {
            const struct node *first = n->keys[dup];
            char *path = parser_path(p);
            char *full = path ? fmt(*path ? "%s.%s" : "%s%s", path, key->str)
                              : NULL;
            ctx_err(p->c, p->src, key->line, key->col, full ? full : "",
                    "duplicate key '%s' (first at line %d:%d)", key->str,
                    first->line, first->col);
            free(path);
            free(full);
        }
        if (bad_key || dup >= 0) {
            if (node_append(p->c, &p->grave, NULL, key) < 0)
                node_free(key);
            if (node_append(p->c, &p->grave, NULL, val) < 0)
                node_free(val);
            continue;
        }
        if (node_append(p->c, n, key, val) < 0) {
            node_free(key);
            node_free(val);
            goto fail;
        }
    }
    anchor_add(p, anchor, n);
    return n;
fail:
    free(anchor);
    node_free(n);
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
            node_free(n);
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
            if (n && !(n->str = xstrdup(p->c, "~"))) {
                node_free(n);
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
    node_free(*root);
    *root = NULL;
    return -1;
}

static void parser_done(struct parser *p)
{
    for (size_t i = 0; i < p->grave.n; i++)
        node_free(p->grave.vals[i]);
    free(p->grave.vals);
    for (size_t i = 0; i < p->n_anchors; i++)
        free(p->anchors[i].name);
    free(p->anchors);
    yaml_parser_delete(&p->yp);
}

/* Parses `text` (a default or a --set value). 0 with *out (NULL: empty), or
 * -1 after recording the error. */
static int parse_text(struct ctx *c, const struct src *s, const char *text,
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

static int parse_file(struct ctx *c, const struct src *s, const char *path,
                      struct node **out)
{
    struct parser p = {.c = c, .src = s, .grave = {.kind = NODE_SEQ}};
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        ctx_err(c, s, 1, 1, "", "cannot open: %s", strerror(errno));
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

static struct node *scalar_new(struct ctx *c, const struct src *s, int col,
                               const char *str, size_t len)
{
    struct node *n = node_new(c, NODE_SCALAR, s, 1, col);
    if (!n)
        return NULL;
    n->plain = true;
    n->str = strndup(str, len);
    if (!n->str) {
        c->oom = true;
        node_free(n);
        return NULL;
    }
    return n;
}

static bool all_digits(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
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
static void fmt_value(char *buf, size_t len, enum cfg_type t, double v)
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
static int parse_int(const char *s, int64_t *v)
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

struct suggest {
    const char *name;
    const char *best;
    size_t score;
};

/* Edit distance <= 2 wins; else a prefix either way (3+ chars). */
static void suggest_try(struct suggest *sg, const char *cand)
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

static const char *node_what(const struct node *n, char *buf, size_t len)
{
    if (node_is_null(n))
        return "nothing";
    if (n->kind == NODE_MAP)
        return "a map";
    if (n->kind == NODE_SEQ)
        return "a list";
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
    ctx_err(c, n->src, n->line, n->col, path, "expected %s, got %s",
            type_expect(k, eb, sizeof(eb)), node_what(n, wb, sizeof(wb)));
}

static char *join_path(struct ctx *c, const char *dir, const char *p)
{
    if (p[0] == '/')
        return xstrdup(c, p);
    size_t dl = strlen(dir);
    char *r = fmt("%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", p);
    if (!r)
        c->oom = true;
    return r;
}

static char *sub_path(struct ctx *c, const char *path, const char *key)
{
    char *r = fmt(*path ? "%s.%s" : "%s%s", path, key);
    if (!r)
        c->oom = true;
    return r;
}

static void bind_table(struct ctx *c, const struct config_table *t, char *obj,
                       const struct node *map, const struct node *loc,
                       const char *path, const char *extra,
                       const struct node **extra_val);

static bool is_scalar_type(enum cfg_type t)
{
    return t <= CFG_ENUM;
}

static void check_count(struct ctx *c, const struct config_key *k,
                        const struct node *n, const char *path, size_t count)
{
    if (!k->bounded || ((double)count >= k->min && (double)count <= k->max))
        return;
    ctx_err(c, n->src, n->line, n->col, path,
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
        int rc = parse_int(s, &v);
        if (rc == -2) {
            ctx_err(c, n->src, n->line, n->col, path,
                    "integer '%s' is out of range", s);
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
        char *d = xstrdup(c, s);
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
        char *d = join_path(c, c->dir, s);
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
            suggest_try(&sg, k->options[i]);
        }
        char eb[256], wb[64];
        if (sg.best)
            ctx_err(c, n->src, n->line, n->col, path,
                    "expected %s, got %s (did you mean '%s'?)",
                    type_expect(k, eb, sizeof(eb)),
                    node_what(n, wb, sizeof(wb)), sg.best);
        else
            err_expect(c, k, n, path);
        return;
    }
    default:
        return;
    }
    if (k->bounded && (dv < k->min || dv > k->max)) {
        fmt_value(lo, sizeof(lo), k->type, k->min);
        fmt_value(hi, sizeof(hi), k->type, k->max);
        ctx_err(c, n->src, n->line, n->col, path,
                "%s is out of range (%s..%s)", s, lo, hi);
    }
}

/* Binds node `n` (present, maybe null) into the field of key `k`. */
static void bind_value(struct ctx *c, const struct config_key *k, char *field,
                       const struct node *n, const char *path)
{
    bool null = node_is_null(n);
    if (is_scalar_type(k->type)) {
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
            if (it->kind != NODE_SCALAR || node_is_null(it)) {
                char wb[64];
                ctx_err(c, it->src, it->line, it->col, path,
                        "expected a string as list item %zu, got %s", i + 1,
                        node_what(it, wb, sizeof(wb)));
                continue;
            }
            l->v[i] = xstrdup(c, it->str);
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
        if (cnt && !(m->v = calloc(cnt, sizeof(*m->v)))) {
            c->oom = true;
            return;
        }
        m->n = cnt;
        for (size_t i = 0; i < cnt; i++) {
            const struct node *v = n->vals[i];
            m->v[i].key = xstrdup(c, n->keys[i]->str);
            if (v->kind != NODE_SCALAR || node_is_null(v)) {
                char wb[64];
                char *p = sub_path(c, path, n->keys[i]->str);
                ctx_err(c, v->src, v->line, v->col, p ? p : path,
                        "expected a string value, got %s",
                        node_what(v, wb, sizeof(wb)));
                free(p);
                continue;
            }
            m->v[i].value = xstrdup(c, v->str);
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
            bind_table(c, k->sub, field, null ? NULL : n, n, path, NULL, NULL);
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
                          ? fmt("%s[%zu]", path, i)
                          : sub_path(c, path, n->keys[i]->str);
            if (!p) {
                c->oom = true;
                return;
            }
            if (k->type == CFG_MAP)
                *(char **)(item + k->sub->name_offset) =
                    xstrdup(c, n->keys[i]->str);
            bool vnull = node_is_null(v);
            /* A MAP entry with no body takes all defaults ("rule_x:"), a
             * LIST item with none is more likely a mistake. */
            if (v->kind != NODE_MAP && (k->type == CFG_LIST || !vnull)) {
                char wb[64];
                ctx_err(c, v->src, v->line, v->col, p,
                        "expected a map, got %s",
                        node_what(v, wb, sizeof(wb)));
            } else {
                bind_table(c, k->sub, item, vnull ? NULL : v, v, p, NULL,
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
            bind_table(c, k->sub, field, NULL, NULL, path, NULL, NULL);
        return;
    }
    if (k->def[0] == '\0' && k->type == CFG_STRING) {
        char *d = xstrdup(c, "");
        if (d)
            *(char **)field = d;
        return;
    }
    struct src s = {.name = fmt("<default of %s>", path), .rank = INT_MAX};
    struct node *n = NULL;
    if (!s.name) {
        c->oom = true;
        return;
    }
    if (parse_text(c, &s, k->def, 0, &n) == 0) {
        if (!n)
            n = scalar_new(c, &s, 1, "", 0);
        if (n)
            bind_value(c, k, field, n, path);
    }
    node_free(n);
    free(s.name);
}

/*
 * Binds `map` (NULL: absent, all defaults) into `obj` with table `t`.
 * `loc` locates errors about the whole section (missing keys, check()).
 * `extra`, if given, is one more accepted key whose value is handed back
 * in *extra_val, for keys the caller binds itself ("processors", "enabled").
 */
static void bind_table(struct ctx *c, const struct config_table *t, char *obj,
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
                suggest_try(&sg, t->keys[j].name);
            if (extra)
                suggest_try(&sg, extra);
            const struct node *kn = map->keys[i];
            char *p = sub_path(c, path, name);
            if (sg.best)
                ctx_err(c, kn->src, kn->line, kn->col, p ? p : path,
                        "unknown key '%s' (did you mean '%s'?)", name,
                        sg.best);
            else
                ctx_err(c, kn->src, kn->line, kn->col, p ? p : path,
                        "unknown key '%s'", name);
            free(p);
        }
    }
    for (size_t j = 0; j < t->n_keys; j++) {
        const struct config_key *k = &t->keys[j];
        char *field = obj + k->offset;
        char *p = sub_path(c, path, k->name);
        if (!p)
            return;
        const struct node *v = node_get(map, k->name);
        if (v)
            bind_value(c, k, field, v, p);
        else if (k->required && loc)
            ctx_err(c, loc->src, loc->line, loc->col, p,
                    "missing required key '%s'", k->name);
        else if (k->required) /* a default section with a required key */
            ctx_err(c, &(struct src){.name = "<defaults>", .rank = INT_MAX},
                    1, 1, p, "missing required key '%s'", k->name);
        else
            bind_default(c, k, field, p);
        free(p);
    }
    if (t->check) {
        const char *msg = t->check(obj);
        if (msg && loc)
            ctx_err(c, loc->src, loc->line, loc->col, path, "%s", msg);
        else if (msg)
            ctx_err(c, &(struct src){.name = "<defaults>", .rank = INT_MAX},
                    1, 1, path, "%s", msg);
    }
}

/* Frees what binding `t` into `obj` may have allocated. */
static void free_fields(const struct config_table *t, char *obj)
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
            *m = (struct cfg_strmap){0};
            break;
        }
        case CFG_SECTION:
            free_fields(k->sub, field);
            break;
        case CFG_LIST:
        case CFG_MAP: {
            struct cfg_array *a = (struct cfg_array *)field;
            size_t esz = k->sub && k->sub->elem_size ? k->sub->elem_size : 1;
            for (size_t i = 0; k->sub && i < a->n; i++) {
                char *item = (char *)a->items + i * esz;
                free_fields(k->sub, item);
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
/* The core tables */

static const char *const log_levels[] = {"error", "warn", "info", "debug",
                                         NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const dlq_oversize_modes[] = {"truncate", "reference",
                                                 NULL};

static const char *kafka_check(const void *obj)
{
    const struct config_kafka *k = obj;
    if (k->bootstrap_servers && !*k->bootstrap_servers)
        return "bootstrap_servers must not be empty (use 'embedded' for the "
               "development broker)";
    if (k->group_id && !*k->group_id)
        return "group_id must not be empty";
    if (k->replication_factor == 0)
        return "replication_factor must be -1 (the broker's default) or at "
               "least 1";
    for (size_t i = 0; i < k->properties.n; i++)
        if (!strcmp(k->properties.v[i].key, "partition.assignment.strategy") &&
            strcmp(k->properties.v[i].value, "range") != 0)
            return "properties.partition.assignment.strategy must be `range`: "
                   "only it keeps partition p of every input topic on one "
                   "instance, where a customer's events meet its state";
    return NULL;
}

static const struct config_key kafka_keys[] = {
    CFG_KEY(struct config_kafka, bootstrap_servers, "bootstrap_servers",
            CFG_STRING, "embedded",
            "Kafka brokers as host:port[,host:port...]; `embedded` starts an "
            "in-process development broker instead."),
    CFG_KEY(struct config_kafka, group_id, "group_id", CFG_STRING,
            "dealstream",
            "Consumer group id; instances sharing it split the input "
            "partitions between them."),
    CFG_KEY(struct config_kafka, properties, "properties", CFG_STRMAP, "{}",
            "Extra librdkafka properties (for example `security.protocol`), "
            "passed through unchanged."),
    CFG_KEY_RANGE(struct config_kafka, embedded_partitions,
                  "embedded_partitions", CFG_INT, "4", 1, 256,
                  "Partitions per topic created by the embedded development "
                  "broker."),
    CFG_KEY(struct config_kafka, create_topics, "create_topics", CFG_BOOL,
            "true",
            "Create missing topics through the admin API at start (and with "
            "`dealstream create-topics`), with the partitions, replication "
            "factor and topic configs below. Input topics must have equal "
            "partition counts either way, or the daemon refuses to start."),
    CFG_KEY_RANGE(struct config_kafka, topic_partitions, "topic_partitions",
                  CFG_INT, "12", 1, 100000,
                  "Partitions of each topic it creates; the most instances of "
                  "the group that can share the work."),
    CFG_KEY_RANGE(struct config_kafka, replication_factor,
                  "replication_factor", CFG_INT, "-1", -1, 32,
                  "Replication factor of each topic it creates; -1 takes the "
                  "broker's `default.replication.factor`."),
    CFG_KEY(struct config_kafka, topic_configs, "topic_configs", CFG_STRMAP,
            "{}",
            "Topic configs of each topic it creates (for example "
            "`min.insync.replicas`, `retention.ms`), passed through unchanged."),
};

static const struct config_table kafka_table = {
    .name = "kafka",
    .keys = kafka_keys,
    .n_keys = CFG_COUNT(kafka_keys),
    .elem_size = sizeof(struct config_kafka),
    .check = kafka_check,
    .doc = "Connection to the Kafka cluster the daemon consumes from and "
           "produces to.",
};

/* Kafka's own rule for topic names. */
static bool topic_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

static const char *topics_check(const void *obj)
{
    const struct config_topics *t = obj;
    const char *const all[] = {t->transcripts,        t->doc_annotations,
                               t->iot_alerts,         t->registry_changes,
                               t->opportunity_updates, t->lead_ratings,
                               t->coaching_alerts,    t->meeting_metrics,
                               t->dlq};
    for (size_t i = 0; i < CFG_COUNT(all); i++)
        if (all[i] && !topic_name_ok(all[i]))
            return "topic names are 1 to 249 characters of [a-zA-Z0-9._-]";
    return NULL;
}

#define TOPIC_KEY(F, DEF, DESC) \
    CFG_KEY(struct config_topics, F, #F, CFG_STRING, DEF, DESC)

static const struct config_key topics_keys[] = {
    TOPIC_KEY(transcripts, "sales.transcripts",
              "Input: meeting transcript segments (TranscriptSegment)."),
    TOPIC_KEY(doc_annotations, "sales.doc-annotations",
              "Input: annotations from documents (DocumentAnnotation)."),
    TOPIC_KEY(iot_alerts, "ops.iot-alerts",
              "Input: alerts from customers' devices (IotAlert)."),
    TOPIC_KEY(registry_changes, "ref.registry-changes",
              "Input: company registry and market changes (RegistryChange)."),
    TOPIC_KEY(opportunity_updates, "crm.opportunity-updates",
              "Input: CRM opportunity stage changes (OpportunityUpdate)."),
    TOPIC_KEY(lead_ratings, "sales.lead-ratings",
              "Output: lead re-ratings (LeadRerating)."),
    TOPIC_KEY(coaching_alerts, "sales.coaching-alerts",
              "Output: coaching alerts for reps (CoachingAlert)."),
    TOPIC_KEY(meeting_metrics, "sales.meeting-metrics",
              "Output: one summary per finished meeting (MeetingSummary)."),
    TOPIC_KEY(dlq, "dealstream.dlq",
              "Output: records that could not be processed, with headers "
              "naming the error and the source."),
};

static const struct config_table topics_table = {
    .name = "topics",
    .keys = topics_keys,
    .n_keys = CFG_COUNT(topics_keys),
    .elem_size = sizeof(struct config_topics),
    .check = topics_check,
    .doc = "Kafka topic names; inputs are consumed, outputs produced.",
};

static const struct config_key schemas_keys[] = {
    CFG_KEY(struct config_schemas, dir, "dir", CFG_PATH, "schemas",
            "Folder of the reader schemas, one `<record>.avsc` per record "
            "name."),
    CFG_KEY(struct config_schemas, ids, "ids", CFG_STRMAP, "{}",
            "Writer schemas by id: each key is the integer id (1 to "
            "2147483647) carried in a message's framing, each value the "
            "`.avsc` file, which must exist."),
};

static const struct config_table schemas_table = {
    .name = "schemas",
    .keys = schemas_keys,
    .n_keys = CFG_COUNT(schemas_keys),
    .elem_size = sizeof(struct config_schemas),
    .doc = "Avro schemas: messages name their writer schema by id, records "
           "are read with the reader schema of the same record name.",
};

static const struct config_key state_keys[] = {
    CFG_KEY(struct config_state, dir, "dir", CFG_PATH, "var/state",
            "Folder of the local state store (RocksDB)."),
    CFG_KEY_RANGE(struct config_state, batch_max_events, "batch_max_events",
                  CFG_INT, "5000", 1, 1000000,
                  "A batch is committed after this many events."),
    CFG_KEY_RANGE(struct config_state, batch_interval_ms, "batch_interval",
                  CFG_DURATION, "200ms", 1, 60000,
                  "A batch is committed at the latest this long after its "
                  "first event."),
    CFG_KEY_RANGE(struct config_state, cache_max_entries, "cache_max_entries",
                  CFG_INT, "50000", 1, 100000000,
                  "Decoded state objects kept in memory between batches."),
    CFG_KEY_RANGE(struct config_state, encoded_cache_bytes, "encoded_cache",
                  CFG_SIZE, "128MiB", 0, 1099511627776.0,
                  "Memory for state objects pushed out of the decoded cache, "
                  "kept encoded so reading one back needs no RocksDB read; "
                  "up to half of it also holds decoded objects' last "
                  "written bytes (0: off)."),
    CFG_KEY_RANGE(struct config_state, block_cache_bytes, "block_cache",
                  CFG_SIZE, "64MiB", 1 << 20, 1099511627776.0,
                  "Size of the block cache shared by all partitions."),
    CFG_KEY_RANGE(struct config_state, write_buffer_bytes, "write_buffer",
                  CFG_SIZE, "16MiB", 1 << 16, 4294967296.0,
                  "Memtable size before RocksDB flushes it to disk."),
    CFG_KEY(struct config_state, sync_commit, "sync_commit", CFG_BOOL,
            "false",
            "Fsync the write-ahead log at every batch commit (survives power "
            "loss, costs latency)."),
};

static const struct config_table state_table = {
    .name = "state",
    .keys = state_keys,
    .n_keys = CFG_COUNT(state_keys),
    .elem_size = sizeof(struct config_state),
    .doc = "Local state and how often it is committed together with the "
           "input offsets.",
};

static const struct config_key log_keys[] = {
    CFG_KEY_ENUM(struct config_log, level, "level", "info", log_levels,
                 "Least severe level that is logged."),
    CFG_KEY_ENUM(struct config_log, format, "format", "text", log_formats,
                 "Line format on stderr: readable text or one JSON object "
                 "per line."),
};

static const struct config_table log_table = {
    .name = "log",
    .keys = log_keys,
    .n_keys = CFG_COUNT(log_keys),
    .elem_size = sizeof(struct config_log),
    .doc = "Logging to stderr.",
};

static const struct config_key runtime_keys[] = {
    CFG_KEY_RANGE(struct config_runtime, idle_check_interval_ms,
                  "idle_check_interval", CFG_DURATION, "1s", 10, 3600000,
                  "How often processors check for idle meetings and periods "
                  "(wall clock)."),
    CFG_KEY_RANGE(struct config_runtime, shutdown_timeout_ms,
                  "shutdown_timeout", CFG_DURATION, "10s", 0, 3600000,
                  "Longest time spent draining and committing at shutdown."),
    CFG_KEY_ENUM(struct config_runtime, dlq_oversize, "dlq_oversize",
                 "truncate", dlq_oversize_modes,
                 "What a dead-letter record too large to produce keeps of "
                 "its value: `truncate` the first bytes that fit, "
                 "`reference` none (its __connect.errors.* headers say where "
                 "the original is). Either way the headers "
                 "dealstream.dlq.oversize and "
                 "dealstream.dlq.original_value_size say so."),
    CFG_KEY_RANGE(struct config_runtime, dlq_max_bytes, "dlq_max_bytes",
                  CFG_SIZE, "0", 0, 2147483647.0,
                  "Largest dead-letter record (key, value, headers); 0: the "
                  "producer's message.max.bytes. Set it below the DLQ "
                  "topic's max.message.bytes when that is smaller."),
};

static const struct config_table runtime_table = {
    .name = "runtime",
    .keys = runtime_keys,
    .n_keys = CFG_COUNT(runtime_keys),
    .elem_size = sizeof(struct config_runtime),
    .doc = "The processing loop.",
};

static const struct config_key root_keys[] = {
    CFG_KEY_SUB(struct config, kafka, "kafka", CFG_SECTION, &kafka_table,
                "Kafka connection."),
    CFG_KEY_SUB(struct config, topics, "topics", CFG_SECTION, &topics_table,
                "Topic names."),
    CFG_KEY_SUB(struct config, schemas, "schemas", CFG_SECTION,
                &schemas_table, "Avro schemas."),
    CFG_KEY_SUB(struct config, state, "state", CFG_SECTION, &state_table,
                "Local state."),
    CFG_KEY_SUB(struct config, log, "log", CFG_SECTION, &log_table,
                "Logging."),
    CFG_KEY_SUB(struct config, runtime, "runtime", CFG_SECTION,
                &runtime_table, "Processing loop."),
};

static const struct config_table root_table = {
    .name = "",
    .keys = root_keys,
    .n_keys = CFG_COUNT(root_keys),
    .elem_size = sizeof(struct config),
};

static const struct config_key enabled_key = {
    .name = "enabled",
    .type = CFG_BOOL,
    .def = "true",
    .desc = "Run this processor; `false` keeps it configured but idle.",
};

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
static void apply_set(struct ctx *c, struct node **rootp, const struct src *s,
                      const char *arg, const struct config_plugin *plugins,
                      size_t n_plugins)
{
    const char *eq = strchr(arg, '=');
    struct node *val = NULL;
    char *path = NULL;
    if (!eq) {
        ctx_err(c, s, 1, 1, arg, "expected KEY=VALUE, found no '='");
        return;
    }
    if (eq == arg) {
        ctx_err(c, s, 1, 1, "", "expected KEY=VALUE, found no key");
        return;
    }
    int vcol = (int)(eq - arg) + 1; /* 0-based column of the value + 1 */
    if (parse_text(c, s, eq + 1, vcol, &val) < 0)
        return;
    if (!val && !(val = scalar_new(c, s, vcol + 1, "", 0)))
        return;

    if (!*rootp || node_is_null(*rootp)) {
        node_free(*rootp);
        if (!(*rootp = node_new(c, NODE_MAP, s, 1, 1)))
            goto out;
    }
    struct node *cur = *rootp;
    enum set_at at = AT_TABLE;
    const struct config_table *tab = &root_table;
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
        char *p2 = fmt(*path ? "%s.%.*s" : "%s%.*s", path, (int)len, seg);
        if (!p2) {
            c->oom = true;
            goto out;
        }
        free(path);
        path = p2;
        if (len == 0) {
            ctx_err(c, s, 1, col, path, "empty key segment");
            goto out;
        }

        /* Where the next segment lands. */
        enum set_at next = AT_UNKNOWN;
        const struct config_table *next_tab = NULL;
        if (at == AT_TABLE) {
            const struct config_key *k = table_key(tab, seg, len);
            if (tab == &root_table && len == 10 &&
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
            if (!all_digits(seg, len)) {
                ctx_err(c, s, 1, col, path, "expected a list index");
                goto out;
            }
            unsigned long idx = strtoul(seg, NULL, 10);
            if (idx >= cur->n) {
                ctx_err(c, s, 1, col, path,
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
                struct node *k = scalar_new(c, s, col, seg, len);
                struct node *v = last ? val : node_new(c, NODE_MAP, s, 1, col);
                if (!k || !v || node_append(c, cur, k, v) < 0) {
                    node_free(k);
                    if (v != val)
                        node_free(v);
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
            node_free(*slot);
            *slot = val;
            val = NULL;
            goto out;
        }
        if (node_is_null(*slot)) {
            node_free(*slot);
            if (!(*slot = node_new(c, NODE_MAP, s, 1, col)))
                goto out;
        } else if ((*slot)->kind == NODE_SCALAR) {
            ctx_err(c, s, 1, col, path,
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
    node_free(val);
}

/* ------------------------------------------------------------------------ */
/* Loading */

/* Schema ids must be integers (canonicalized, unique) and their files must
 * exist; the generic STRMAP binding cannot say that, so it is checked here
 * with the nodes at hand for the places. */
static void check_schema_ids(struct ctx *c, struct config *cfg,
                             const struct node *root)
{
    const struct node *ids = node_get(node_get(root, "schemas"), "ids");
    struct cfg_strmap *m = &cfg->schemas.ids;
    if (!ids || ids->kind != NODE_MAP || ids->n != m->n)
        return;
    for (size_t i = 0; i < m->n; i++) {
        const struct node *kn = ids->keys[i], *vn = ids->vals[i];
        char *path = fmt("schemas.ids.%s", kn->str);
        if (!path || !m->v[i].key || !m->v[i].value) {
            free(path);
            continue;
        }
        int64_t id;
        if (!all_digits(kn->str, strlen(kn->str)) ||
            parse_int(kn->str, &id) < 0 || id < 1 || id > INT32_MAX) {
            ctx_err(c, kn->src, kn->line, kn->col, path,
                    "schema id '%s' is not an integer from 1 to 2147483647",
                    kn->str);
        } else {
            char *canon = fmt("%lld", (long long)id);
            if (canon) {
                free(m->v[i].key);
                m->v[i].key = canon;
            } else {
                c->oom = true;
            }
            for (size_t j = 0; j < i; j++)
                if (m->v[j].key && strcmp(m->v[j].key, m->v[i].key) == 0)
                    ctx_err(c, kn->src, kn->line, kn->col, path,
                            "schema id %lld is given twice (first at line "
                            "%d:%d)", (long long)id, ids->keys[j]->line,
                            ids->keys[j]->col);
        }
        char *file = join_path(c, c->dir, m->v[i].value);
        struct stat st;
        if (file && stat(file, &st) != 0)
            ctx_err(c, vn->src, vn->line, vn->col, path,
                    "schema file '%s' not found (%s)", file, strerror(errno));
        else if (file && !S_ISREG(st.st_mode))
            ctx_err(c, vn->src, vn->line, vn->col, path,
                    "schema file '%s' is not a regular file", file);
        if (file) {
            free(m->v[i].value);
            m->v[i].value = file;
        }
        free(path);
    }
}

static void bind_plugins(struct ctx *c, struct config *cfg,
                         const struct node *procs, const struct node *top,
                         const struct config_plugin *plugins, size_t n)
{
    if (procs && node_is_null(procs))
        procs = NULL;
    if (procs && procs->kind != NODE_MAP) {
        char wb[64];
        ctx_err(c, procs->src, procs->line, procs->col, "processors",
                "expected a map of processor name -> section, got %s",
                node_what(procs, wb, sizeof(wb)));
        procs = NULL;
    }
    for (size_t i = 0; procs && i < procs->n; i++) {
        const char *name = procs->keys[i]->str;
        bool known = false;
        struct suggest sg = {.name = name, .score = SIZE_MAX};
        for (size_t j = 0; !known && j < n; j++) {
            known = strcmp(plugins[j].name, name) == 0;
            suggest_try(&sg, plugins[j].name);
        }
        if (known)
            continue;
        const struct node *kn = procs->keys[i];
        char *p = sub_path(c, "processors", name);
        if (sg.best)
            ctx_err(c, kn->src, kn->line, kn->col, p ? p : "processors",
                    "unknown processor '%s' (did you mean '%s'?)", name,
                    sg.best);
        else
            ctx_err(c, kn->src, kn->line, kn->col, p ? p : "processors",
                    "unknown processor '%s'", name);
        free(p);
    }
    for (size_t i = 0; i < n; i++) {
        const struct config_table *t = plugins[i].table;
        size_t esz = t && t->elem_size ? t->elem_size : 1;
        cfg->plugin_enabled[i] = true;
        if (!(cfg->plugin_cfg[i] = calloc(1, esz))) {
            c->oom = true;
            continue;
        }
        char *path = sub_path(c, "processors", plugins[i].name);
        if (!path)
            continue;
        const struct node *sec = node_get(procs, plugins[i].name);
        const struct node *en = NULL;
        static const struct config_table empty = {.name = ""};
        if (sec && !node_is_null(sec) && sec->kind != NODE_MAP) {
            char wb[64];
            ctx_err(c, sec->src, sec->line, sec->col, path,
                    "expected a map, got %s", node_what(sec, wb, sizeof(wb)));
        } else {
            bind_table(c, t ? t : &empty, cfg->plugin_cfg[i],
                       node_is_null(sec) ? NULL : sec,
                       sec ? sec : procs ? procs : top, path, "enabled", &en);
        }
        char *ep = sub_path(c, path, "enabled");
        if (ep && en)
            bind_value(c, &enabled_key, (char *)&cfg->plugin_enabled[i], en,
                       ep);
        free(ep);
        free(path);
    }
}

static char *abs_dir_of(struct ctx *c, const char *path)
{
    char *copy = xstrdup(c, path);
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

    if (parse_file(&c, &file, path, &root) < 0)
        goto out;
    if (root && !node_is_null(root) && root->kind != NODE_MAP) {
        char wb[64];
        ctx_err(&c, root->src, root->line, root->col, "",
                "expected a map of sections at the top level, got %s",
                node_what(root, wb, sizeof(wb)));
        goto out;
    }
    if (n_sets && !(set_src = calloc(n_sets, sizeof(*set_src)))) {
        c.oom = true;
        goto out;
    }
    for (size_t i = 0; i < n_sets; i++) {
        set_src[i].rank = (int)(i < INT_MAX - 1 ? i + 1 : INT_MAX - 1);
        if (!(set_src[i].name = fmt("--set[%zu]", i + 1))) {
            c.oom = true;
            goto out;
        }
        apply_set(&c, &root, &set_src[i], sets[i], plugins, n_plugins);
    }
    if (root && node_is_null(root)) {
        node_free(root);
        root = NULL;
    }

    if (!(cfg = calloc(1, sizeof(*cfg))) ||
        !(cfg->path = xstrdup(&c, path))) {
        c.oom = true;
        goto out;
    }
    if (!(cfg->dir = abs_dir_of(&c, path))) {
        ctx_err(&c, &file, 1, 1, "", "cannot resolve the file's folder: %s",
                strerror(errno));
        goto out;
    }
    c.dir = cfg->dir;
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
    bind_table(&c, &root_table, (char *)cfg, root, root ? root : &top, "",
               "processors", &procs);
    check_schema_ids(&c, cfg, root);
    bind_plugins(&c, cfg, procs, root ? root : &top, plugins, n_plugins);
    if (c.n_errs == 0 && !c.oom) {
        *out = cfg;
        cfg = NULL;
        rc = 0;
    }
out:
    if (rc < 0 && c.n_errs == 0 && !c.oom)
        ctx_err(&c, &file, 1, 1, "", "invalid configuration");
    ctx_flush_errors(&c, errs);
    config_free(cfg);
    node_free(root);
    for (size_t i = 0; set_src && i < n_sets; i++)
        free(set_src[i].name);
    free(set_src);
    return rc;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free_fields(&root_table, (char *)cfg);
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        if (cfg->plugin_cfg[i] && cfg->plugins[i].table)
            free_fields(cfg->plugins[i].table, cfg->plugin_cfg[i]);
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
        bool count = !is_scalar_type(k->type);
        fmt_value(lo, sizeof(lo), count ? CFG_INT : k->type, k->min);
        fmt_value(hi, sizeof(hi), count ? CFG_INT : k->type, k->max);
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
        sub = fmt("%s.%s", path, t->keys[i].name);
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
        sub = fmt("%s.%s%s", path, k->name,
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
          "a list or map.\n",
          fp);
    for (size_t i = 0; i < root_table.n_keys; i++)
        write_table(fp, root_keys[i].sub, root_keys[i].name, 2, NULL);
    fputs("\n## `processors`\n\n"
          "One section per processor, `processors.<name>`. Every processor "
          "is configured, with its defaults, even when its section is "
          "absent; `enabled: false` turns it off.\n",
          fp);
    for (size_t i = 0; i < n_plugins; i++) {
        char *path = fmt("processors.%s", plugins[i].name);
        if (path)
            write_table(fp, plugins[i].table, path, 2, &enabled_key);
        free(path);
    }
}
