/*
 * config.h - processor.yaml, declared rather than parsed ad hoc.
 *
 * Every section is a `struct config_table`: a list of keys, each with a type,
 * a default, bounds, the offset of its field in a C struct and a description.
 * One walk over a table validates the YAML, fills the struct with defaults
 * and values, reports unknown keys with a did-you-mean, and generates the
 * operator documentation (docs/CONFIG.md). Processors declare their own
 * section the same way and get their struct back bound and validated.
 *
 * Errors read like a compiler's, `file:line:col: key.path: message`, and all
 * of them are collected in one run. `--set a.b=v` overrides are applied to the
 * YAML tree before binding, so they are checked by the same tables; their
 * errors are located as `--set[N]:1:col`.
 *
 * Loading is all-or-nothing: on any error nothing is returned, so a bad edit
 * can never be half applied.
 */
#ifndef DS_CONFIG_H
#define DS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "records.h"

enum cfg_type {
    CFG_BOOL = 0, /* bool */
    CFG_INT,      /* int64_t */
    CFG_DOUBLE,   /* double */
    CFG_STRING,   /* char * (owned by the config) */
    CFG_PATH,     /* char *, resolved against the config file's folder */
    CFG_DURATION, /* int64_t ms; "250ms", "120s", "4m", "2h", "14d" or a bare ms number */
    CFG_SIZE,     /* int64_t bytes; "512KiB", "64MiB", "1GiB" or a bare number */
    CFG_ENUM,     /* int: index into `options` */
    CFG_STRLIST,  /* struct cfg_strlist: a YAML sequence of strings (a single scalar is a list of one) */
    CFG_STRMAP,   /* struct cfg_strmap: a YAML map of scalar -> scalar */
    CFG_SECTION,  /* a nested map bound by `sub` into the struct at `offset` */
    CFG_LIST,     /* struct cfg_array: a YAML sequence of maps, each bound by `sub` */
    CFG_MAP       /* struct cfg_array: a YAML map name -> map, each bound by `sub`;
                   * the name goes to the char * at sub->name_offset */
};

struct cfg_strlist {
    char **v; /* owned */
    size_t n;
};

struct cfg_kv {
    char *key;   /* owned */
    char *value; /* owned */
};

struct cfg_strmap {
    struct cfg_kv *v; /* owned, in file order */
    size_t n;
    /* owned, n flags or NULL (none): v[i].value came from ${file:} or
     * ${env:}, or v[i].key names a credential; never shown */
    bool *secret;
};

/* Shown instead of a secret value (config_secret.c). */
#define CONFIG_REDACTED "<redacted>"

/* True when a key's name marks a credential (password, secret, token,
 * key, sasl.jaas...): its value is never shown. */
bool config_key_is_secret(const char *name);

/* Whether m->v[i].value is secret. */
static inline bool config_strmap_secret(const struct cfg_strmap *m, size_t i)
{
    return m->secret && i < m->n && m->secret[i];
}

struct cfg_array {
    void *items; /* owned: n elements of sub->elem_size bytes */
    size_t n;
};

struct config_table;

struct config_key {
    const char *name;
    enum cfg_type type;
    size_t offset;        /* of the field in the table's struct */
    const char *def;      /* default, written as in YAML; NULL: none (zero/empty) */
    bool required;        /* must be present (def is then ignored) */
    bool bounded;         /* min/max apply: INT, DOUBLE, DURATION, SIZE, and the
                           * element count of STRLIST/LIST/MAP */
    double min, max;
    const char *const *options;     /* CFG_ENUM: NULL-terminated */
    const struct config_table *sub; /* CFG_SECTION, CFG_LIST, CFG_MAP */
    const char *desc;               /* one sentence for the docs */
};

struct config_table {
    const char *name; /* for the docs, e.g. "kafka" or "objection" */
    const struct config_key *keys;
    size_t n_keys;
    size_t elem_size;   /* sizeof the bound struct (LIST/MAP items, plugin sections) */
    size_t name_offset; /* CFG_MAP items: offset of the char * receiving the key */
    /* Optional cross-field check after binding; returns NULL when fine, or a
     * static/constant message reported at the section's location. */
    const char *(*check)(const void *obj);
    const char *doc; /* optional paragraph for the docs */
    /* A processor's section: processors.<name>.enabled defaults to false,
     * for a processor that needs topics a deployment may not have. */
    bool off_by_default;
};

/* Helpers for declaring keys. `T` is the struct, `F` the field. */
#define CFG_OFF(T, F) offsetof(T, F)
#define CFG_KEY(T, F, NAME, TYPE, DEF, DESC)                                  \
    { .name = (NAME), .type = (TYPE), .offset = offsetof(T, F), .def = (DEF), \
      .desc = (DESC) }
#define CFG_KEY_RANGE(T, F, NAME, TYPE, DEF, MIN, MAX, DESC)                  \
    { .name = (NAME), .type = (TYPE), .offset = offsetof(T, F), .def = (DEF), \
      .bounded = true, .min = (MIN), .max = (MAX), .desc = (DESC) }
#define CFG_KEY_ENUM(T, F, NAME, DEF, OPTS, DESC)                             \
    { .name = (NAME), .type = CFG_ENUM, .offset = offsetof(T, F),             \
      .def = (DEF), .options = (OPTS), .desc = (DESC) }
#define CFG_KEY_SUB(T, F, NAME, TYPE, SUB, DESC)                              \
    { .name = (NAME), .type = (TYPE), .offset = offsetof(T, F), .sub = (SUB), \
      .desc = (DESC) }
#define CFG_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A section owned by a plugin (a processor): bound from processors.<name>. */
struct config_plugin {
    const char *name;
    const struct config_table *table; /* elem_size = sizeof its struct */
};

/* The core sections. Field comments give the YAML key. */
struct config_kafka {
    char *bootstrap_servers; /* "embedded" starts an in-process dev broker */
    char *group_id;
    struct cfg_strmap properties; /* passed to librdkafka as they are */
    int64_t embedded_partitions;  /* partitions per topic of the embedded broker */
    bool create_topics;           /* create missing topics at start */
    int64_t topic_partitions;     /* of the topics it creates */
    int64_t replication_factor;   /* of the topics it creates; -1: broker's */
    struct cfg_strmap topic_configs; /* topic configs of the topics it creates */
    int64_t prefetch_budget; /* bytes fetched, not yet taken; 0: librdkafka's */
};

/* One topic name per row of records.h: by config key (topics.transcripts)
 * or by enum topic_id (topics.name[TOPIC_transcripts]). */
struct config_topics {
    union {
        struct {
#define DS_X_TOPIC_FIELD(kind, key, ...) char *key;
            DS_TOPICS(DS_X_TOPIC_FIELD)
#undef DS_X_TOPIC_FIELD
        };
        char *name[TOPIC_COUNT];
    };
};

struct config_schemas {
    struct cfg_strmap ids; /* "<id>" -> .avsc path (resolved) */
    char *dir;             /* reader schemas: <dir>/<record>.avsc */
    char *registry_url;    /* "": no schema registry */
    int64_t registry_timeout_ms;
};

struct config_state {
    char *dir;
    int64_t batch_max_events;  /* commit after this many events ... */
    int64_t batch_interval_ms; /* ... or this long, whichever comes first */
    int64_t max_dirty_ms;      /* write-back: 0 off, else the age bound */
    int64_t max_dirty_bytes;   /* write-back: dirty size bound, 0 none */
    int64_t cache_max_entries; /* decoded hot state kept in memory */
    int64_t encoded_cache_bytes; /* then kept encoded (store's warm tier) */
    int64_t block_cache_bytes;
    int64_t write_buffer_bytes;
    bool sync_commit; /* fsync the WAL on every batch commit */
    bool changelog;   /* state changes also to the changelog topic */
    char *changelog_topic; /* "" : "<group_id>-state-changelog" */
    int64_t standby_replicas; /* > 0: warm copies of partitions not owned */
};

struct config_log {
    int level;  /* enum log_level */
    int format; /* enum log_format */
};

struct config_runtime {
    int64_t idle_check_interval_ms; /* how often on_timer runs (wall clock) */
    int64_t shutdown_timeout_ms;    /* bound on draining at SIGTERM */
    int dlq_oversize;               /* enum dlq_oversize (dlq.h) */
    int64_t dlq_max_bytes; /* bytes per DLQ record; 0: message.max.bytes */
};

/* Event-time order across the input topics (ordering.h, docs/TIME.md). */
struct config_processing {
    int64_t max_idle_ms;   /* longest wait for an empty topic of a group */
    int64_t idle_topic_ms; /* silent this long: out of the watermark */
    int64_t max_buffered;  /* records held for ordering, all groups */
    int64_t max_lag_wait_ms; /* longest wait for a topic the broker has
                              * records of; 0: no lag look-ups */
    int guarantee; /* enum processing_guarantee (docs/STATE.md) */
};

enum processing_guarantee {
    GUARANTEE_AT_LEAST_ONCE = 0,
    GUARANTEE_EXACTLY_ONCE = 1, /* one Kafka transaction per batch (txn.h) */
};

struct config_http {
    char *listen;           /* host:port; "" (default): no HTTP endpoint */
    int64_t stall_ms;       /* /healthz fails when the loop is older */
    bool reload;            /* POST /-/reload reloads the config */
};

struct config {
    char *path; /* as given */
    char *dir;  /* absolute folder of the file; relative paths resolve here */
    struct config_kafka kafka;
    struct config_topics topics;
    struct config_schemas schemas;
    struct config_state state;
    struct config_log log;
    struct config_runtime runtime;
    struct config_processing processing;
    struct config_http http;
    /* One bound struct per plugin, in the order given to config_load();
     * plugin_enabled[i] comes from processors.<name>.enabled (default true). */
    void **plugin_cfg;
    bool *plugin_enabled;
    size_t n_plugins;
    /* Owned copy of the array given to config_load() (the tables it points
     * to are static), so config_free() can walk each plugin's table. */
    struct config_plugin *plugins;
};

struct config_errors {
    char **msgs; /* owned, each "file:line:col: key: message" */
    size_t n;
};

/*
 * Loads and validates `path` with the `sets` overrides ("a.b.c=value") applied.
 * On success returns 0 and *out (caller frees with config_free). On failure
 * returns -1, leaves *out NULL and appends every error found to `errs` (which
 * the caller zero-initializes and frees with config_errors_free; may be NULL).
 * Each --set value is parsed as YAML, so "12", "true", "4m" or "[a, b]" mean
 * what they mean in the file; a numeric segment indexes into a list.
 */
int config_load(const char *path, const char *const *sets, size_t n_sets,
                const struct config_plugin *plugins, size_t n_plugins,
                struct config **out, struct config_errors *errs);
void config_free(struct config *cfg); /* accepts NULL */

void config_errors_print(const struct config_errors *errs, FILE *fp);
void config_errors_free(struct config_errors *errs);

/* Calls fn (optional) with the path of every key whose value differs
 * between a and b, loaded with the same plugins ("state.batch_interval",
 * "processors.coaching.rules": a list of sections is reported whole);
 * returns how many. For the live reload (reload.c). */
size_t config_diff(const struct config *a, const struct config *b,
                   void (*fn)(void *arg, const char *path), void *arg);

/* A digest of every value of cfg (not of the file's text): two configs
 * that mean the same have the same one. Alerts carry it in their
 * dealstream.config header; check-config prints it. */
uint64_t config_digest(const struct config *cfg);

/* Markdown reference of every key (core and plugins): docs/CONFIG.md. */
void config_write_docs(FILE *fp, const struct config_plugin *plugins,
                       size_t n_plugins);

/* Parses a duration ("120s") or size ("64MiB") as the tables do; 0 or -1.
 * Durations: non-negative integers with ms, s, m, h or d, concatenated
 * ("1h30m"); a bare integer is milliseconds. Sizes: a non-negative integer
 * with B, KiB, MiB, GiB, TiB (powers of 1024) or kB/KB, MB, GB, TB (powers
 * of 1000); a bare integer is bytes. */
int config_parse_duration(const char *s, int64_t *ms);
int config_parse_size(const char *s, int64_t *bytes);

#endif
