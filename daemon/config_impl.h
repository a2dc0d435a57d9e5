/*
 * config_impl.h - what the config engine's files share; private to them.
 * config_tree.c: errors, the node tree, YAML and --set into it;
 * config_bind.c: scalars, did-you-mean, binding a tree with the tables;
 * config_tables.c: the product's core tables; config.c: loading and docs.
 */
#ifndef DS_CONFIG_IMPL_H
#define DS_CONFIG_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define MAX_DEPTH 64          /* nesting; also bounds our recursion */
#define NODE_BUDGET 500000    /* nodes per load, against alias bombs */
#define DOC_INLINE_DEFAULT 60 /* longer defaults go below the docs table */

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

enum nkind { NODE_SCALAR, NODE_MAP, NODE_SEQ };

struct node {
    enum nkind kind;
    const struct src *src;
    int line, col;       /* 1-based */
    bool plain;          /* unquoted scalar: "", "~", "null" mean null */
    bool secret;         /* text from ${file:}/${env:}: never shown */
    char *str;           /* scalar text, owned */
    struct node **keys;  /* map: scalar key nodes, owned */
    struct node **vals;  /* map values / sequence items, owned */
    size_t n, cap;
};

struct suggest {
    const char *name;
    const char *best;
    size_t score;
};

bool config_all_digits(const char *s, size_t len);

/* Grafts one "a.b.c=value" onto *rootp, creating maps on the way. */
void config_apply_set(struct ctx *c, struct node **rootp, const struct src *s,
                      const char *arg, const struct config_plugin *plugins,
                      size_t n_plugins);

/*
 * Binds `map` (NULL: absent, all defaults) into `obj` with table `t`.
 * `loc` locates errors about the whole section (missing keys, check()).
 * `extra`, if given, is one more accepted key whose value is handed back
 * in *extra_val, for keys the caller binds itself ("processors", "enabled").
 */
void config_bind_table(struct ctx *c, const struct config_table *t, char *obj,
                       const struct node *map, const struct node *loc,
                       const char *path, const char *extra,
                       const struct node **extra_val);

/* Binds node `n` (present, maybe null) into the field of key `k`. */
void config_bind_value(struct ctx *c, const struct config_key *k, char *field,
                       const struct node *n, const char *path);

/* Sorted by place, moved into the caller's list (or dropped). */
void config_ctx_flush_errors(struct ctx *c, struct config_errors *errs);

/* A bound or value in the key's own notation. */
void config_fmt_value(char *buf, size_t len, enum cfg_type t, double v);

/* Frees what binding `t` into `obj` may have allocated. */
void config_free_fields(const struct config_table *t, char *obj);

bool config_is_scalar_type(enum cfg_type t);

char *config_join_path(struct ctx *c, const char *dir, const char *p);

void config_node_free(struct node *n);

struct node *config_node_get(const struct node *map, const char *key);

bool config_node_is_null(const struct node *n);

const char *config_node_what(const struct node *n, char *buf, size_t len);

int config_parse_file(struct ctx *c, const struct src *s, const char *path,
                      struct node **out);

/* 0, -1 not an integer, -2 out of int64 range. */
int config_parse_int(const char *s, int64_t *v);

/* Resolves ${file:PATH} and ${env:NAME} in every value under `n` (not in
 * keys) and marks those values secret. -1 after recording errors. */
int config_substitute(struct ctx *c, struct node *n);

/* Parses `text` (a default or a --set value). 0 with *out (NULL: empty), or
 * -1 after recording the error. */
int config_parse_text(struct ctx *c, const struct src *s, const char *text,
                      int col_off, struct node **out);

struct node *config_scalar_new(struct ctx *c, const struct src *s, int col,
                               const char *str, size_t len);

char *config_sub_path(struct ctx *c, const char *path, const char *key);

/* Edit distance <= 2 wins; else a prefix either way (3+ chars). */
void config_suggest_try(struct suggest *sg, const char *cand);

char *config_xstrdup(struct ctx *c, const char *s);

/* Records an error at a place; path names the key ("" for none). */
void config_ctx_err(struct ctx *c, const struct src *s, int line, int col,
                    const char *path, const char *f, ...)
    __attribute__((format(printf, 6, 7)));

char *config_fmt(const char *f, ...)
    __attribute__((format(printf, 1, 2)));

/* config_tables.c: processor.yaml's root, and the `enabled` key every
 * processor section has. */
extern const struct config_table config_root_table;
extern const struct config_key config_enabled_key;
/* The same for a processor that is off by default. */
extern const struct config_key config_enabled_off_key;

#endif
