/*
 * coaching.h - what the coaching processor's files share: its config as
 * bound from processors.coaching, its state objects, its instance. Private
 * to processors/coaching/.
 */
#ifndef DS_COACHING_H
#define DS_COACHING_H

#include <stdbool.h>
#include <stdint.h>

#include "hmap.h"
#include "matcher.h"
#include "meeting.h"
#include "processor.h"
#include "statecodec.h"

#define CO_MAX_OBJECTIONS 64  /* bit sets below are 64 wide */
#define CO_MAX_COMPETITORS 64
#define CO_MAX_LINKS 32
#define CO_MAX_PENDING 8      /* open objections per meeting */
#define CO_MAX_TOPICS 8       /* context links touched per meeting */
#define CO_MAX_ISSUES 16      /* open issues per customer */
#define CO_MAX_CTX_COMPETITORS 16
#define CO_MAX_TOMBSTONES 32  /* recently closed meetings per customer */
#define CO_EVIDENCE_MAX 280   /* bytes of text kept as evidence */
#define CO_KEY_MAX 512
#define CO_STATE_VERSION 2
#define CO_STATE_MIN 1

/* State keys: "<customer>/ctx" for a customer's context,
 * "<customer>/m/<meeting>" for a meeting (coaching_make_key, co_state_keys). */
#define CO_CTX_SUFFIX "/ctx"
#define CO_MEETING_INFIX "/m/"

struct co_rule { /* the part every rule has */
    bool enabled;
    char *id;
    int severity; /* enum alert_severity */
    char *message_zh;
    char *message_en;
};

struct co_objection {
    char *name;
    struct cfg_strlist phrases; /* what the customer says */
    struct cfg_strlist answers; /* rep keywords that answer it */
};

struct co_competitor {
    char *name;
    struct cfg_strlist names; /* how it is spoken of */
    char *battlecard;
    char *battlecard_zh; /* optional; "" falls back to battlecard */
};

struct co_link {
    char *name;
    struct cfg_strlist topics;          /* rep phrases */
    struct cfg_strlist iot_alert_types; /* IoT alerts that open the issue */
    struct cfg_strlist doc_keywords;    /* annotation text that opens it */
    struct cfg_strlist doc_types;       /* empty: any document type */
    struct cfg_strlist addressed_by;    /* rep phrases that address it */
    char *issue_zh;
    char *issue_en;
};

struct co_r_objection {
    struct co_rule r;
    int64_t window_ms;
};
struct co_r_self_focus {
    struct co_rule r;
    double ratio;
    int64_t min_count;
};
struct co_r_discovery {
    struct co_rule r;
    int64_t min_ms;
    bool fire_if_skipped;
};
struct co_r_context {
    struct co_rule r;
    int64_t window_ms;
    int64_t lookback_ms;
};
struct co_r_talk {
    struct co_rule r;
    double max_share;
    int64_t min_talk_ms;
};
struct co_r_monologue {
    struct co_rule r;
    int64_t max_ms;
};
struct co_r_questions {
    struct co_rule r;
    int64_t min_questions;
};
struct co_r_competitor {
    struct co_rule r;
    char *default_battlecard;
};

struct co_rules {
    struct co_r_objection objection;
    struct co_r_self_focus self_focus;
    struct co_r_discovery discovery;
    struct co_r_context context;
    struct co_r_talk talk;
    struct co_r_monologue monologue;
    struct co_r_questions questions;
    struct co_r_competitor competitor;
};

struct co_config {
    int64_t idle_timeout_ms; /* wall clock */
    int64_t closed_ttl_ms;   /* event time */
    double cjk_ratio;
    char *discovery_phase;
    struct cfg_strlist backchannels;
    struct cfg_strlist question_cues;
    struct cfg_strlist question_openers;
    struct cfg_strlist product_focus;
    struct cfg_strlist customer_focus;
    struct cfg_array objections;    /* struct co_objection */
    struct cfg_array competitors;   /* struct co_competitor */
    struct cfg_array context_links; /* struct co_link */
    struct co_rules rules;
};

struct co_pending { /* an objection raised and not yet answered */
    char *name;        /* objection name in the config */
    int64_t raised_ms; /* meeting time: end of the raising segment */
    uint32_t raise_no; /* 1-based count of raises in the meeting */
    char *evidence;
};

struct co_topic { /* a context link touched during the meeting */
    char *name;
    int64_t topic_ms; /* meeting time the rep raised the topic; -1: not yet */
    bool addressed;
    char *evidence; /* the rep's words */
    char *issue;    /* the open issue's description; NULL: none known at
                     * the raise, looked up again when judged (issue 19) */
    int64_t raised_at; /* event time of the raise; -1: unknown (format 1) */
};

struct co_meeting {
    char *customer_id;
    char *meeting_id;
    char *rep_id;
    bool has_seq;
    int32_t last_seq;
    /* provenance of the last segment, for alerts emitted from on_timer */
    char *last_event_id;
    char *last_topic;
    int32_t last_partition;
    int64_t last_offset;
    int64_t last_event_time;
    uint32_t fired; /* bit per enum coaching_category */
    struct co_pending pend[CO_MAX_PENDING];
    size_t n_pend;
    struct co_topic topics[CO_MAX_TOPICS];
    size_t n_topics;
    struct meeting_metrics mm;
};

struct co_issue {
    char *link;  /* context link name */
    char *kind;  /* "iot" or "doc" */
    char *ref;   /* device or document id */
    int64_t at;  /* event time */
    char *text;  /* what it says */
};

struct co_named {
    char *id;
    char *name;
    int64_t at; /* event time */
};

/* The arrays grow on demand up to their CO_MAX_* bound (see coaching_room()):
 * most customers have a context with an issue or two, and inline arrays
 * at the bounds made every cached coaching object 1.8 KiB. */
struct co_context {
    int64_t newest; /* newest event time seen for the customer */
    struct co_issue *issues;
    size_t n_issues, cap_issues;
    struct co_named *comps; /* id, name */
    size_t n_comps, cap_comps;
    struct co_named *closed; /* meeting id, closed at */
    size_t n_closed, cap_closed;
};

enum co_obj_type { CO_MEETING = 1, CO_CONTEXT = 2 };

struct co_obj {
    enum co_obj_type type;
    union {
        struct co_meeting m;
        struct co_context c;
    } u;
};

/* Matcher ids: library in the high byte, index in the config below it. */
enum co_lib {
    LIB_OBJECTION = 1,
    LIB_ANSWER,
    LIB_PRODUCT,
    LIB_CUSTOMER,
    LIB_COMPETITOR,
    LIB_TOPIC,
    LIB_ADDRESSED,
    LIB_DOC_KEYWORD,
    LIB_COUNT
};
#define LIB_ID(lib, idx) (((unsigned)(lib) << 24) | (unsigned)(idx))

struct co_idle { /* in-memory idle index entry */
    int64_t last_seen; /* wall clock, ms */
    bool touched;      /* a segment arrived since the last tick */
    int32_t partition; /* the meeting's input partition; -1: unknown */
};

struct coaching {
    const struct co_config *cfg;
    struct matcher *matcher;
    /* normalised word lists for meeting.c */
    struct cfg_strlist bc, cues, openers;
    char **comp_norm; /* every configured competitor spelling, normalised */
    size_t n_comp_norm;
    struct meeting_lexicon lx;
    /* meeting key -> struct co_idle: the open meetings of the partitions
     * this instance owns (on_partitions keeps it so). */
    struct hmap *idle;
    struct buf norm;   /* scratch */
};

struct co_hits {
    uint64_t objection;  /* bit per objection */
    uint64_t answer;     /* bit per objection */
    uint64_t competitor; /* bit per configured competitor */
    uint32_t topic;      /* bit per context link */
    uint32_t addressed;
    uint32_t doc_keyword;
    uint32_t product, customer, competitor_n; /* non-overlapping counts */
    size_t last_to[LIB_COUNT];
    bool counted_any[LIB_COUNT];
};

extern const struct config_table coaching_config_table;

void *coaching_state_new(const char *key);

void coaching_state_encode(const void *st, struct buf *out);

int coaching_state_decode(const char *key, const uint8_t *data, size_t len,
                          void **st);

void coaching_state_free(void *st);

/* See processor_ops.state_prefetch: depth 0 the object's own lines and the
 * arrays and strings its first line points to, depth 1 the strings in
 * those arrays. Each is a separate, cold allocation by the time the sealer
 * encodes or frees the object. */
void coaching_state_prefetch(const void *st, int depth);

void coaching_state_to_json(const void *st, struct jw *w);

/* A copy cut to `max` bytes on a UTF-8 boundary, "…" marking the cut. */
char *coaching_dup_evidence(const char *s, size_t max);

/* printf into a fresh string, then capped like coaching_dup_evidence(). */
char *coaching_fmt_evidence(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

void coaching_set_str(char **dst, const char *s);

void coaching_issue_free(struct co_issue *is);

void coaching_named_free(struct co_named *n);

enum co_obj_type coaching_type_of_key(const char *key);

/* Room for one more element in arr (n used of *cap), growing by doubling
 * but never beyond max (callers keep n < max); new slots are zeroed. */
void *coaching_room(void *arr, size_t n, size_t *cap, size_t elem, size_t max);

int coaching_handle_iot(struct coaching *co, struct proc_ctx *ctx,
                        const struct event *ev, const char *key);

int coaching_handle_annotation(struct coaching *co, struct proc_ctx *ctx,
                               const struct event *ev, const char *key);

int coaching_handle_registry(struct coaching *co, struct proc_ctx *ctx,
                             const struct event *ev, const char *key);

int coaching_make_key(char *out, size_t n, const char *customer,
                      const char *meeting);

void coaching_ctx_save(struct coaching *co, struct proc_ctx *ctx,
                       const char *key, struct co_context *c);

void coaching_context_seen(struct co_context *c, int64_t t);

/* The registry changes the context keeps: competitors linked or unlinked. */
bool coaching_competitor_change(const struct registry_change *rc);

int coaching_scan_text(struct coaching *co, const char *text, struct co_hits *h);

/* An issue of `link` in the customer's context `c` (may be NULL) with
 * event time in [now - lookback, not_after]; its text in *text. */
bool coaching_issue_open(const struct coaching *co,
                         const struct co_context *c, const char *link,
                         int64_t now, int64_t not_after, const char **text);

/* For an alert raised with no current event (the idle timer): the
 * meeting's last segment is its provenance. */
void coaching_alert_from_last(struct alert *a, const struct co_meeting *m);

/* The rules (coaching_rules.c). The judge_* ones fire what is due for
 * meeting `m`; `from_timer`: no current event, the meeting's last segment
 * is the provenance. */
const struct co_objection *
coaching_find_objection(const struct co_config *cfg, const char *name,
                        size_t *idx);
void coaching_pending_remove(struct co_meeting *m, size_t i);
void coaching_judge_objections(struct coaching *co, struct proc_ctx *ctx,
                               struct co_meeting *m, int64_t now_ms, bool all,
                               bool from_timer);
void coaching_judge_context(struct coaching *co, struct proc_ctx *ctx,
                            struct co_meeting *m, const struct co_context *c,
                            int64_t now_ms, bool all, bool from_timer);
void coaching_judge_discovery(struct coaching *co, struct proc_ctx *ctx,
                              struct co_meeting *m, const char *evidence,
                              bool at_end, bool from_timer);
void coaching_judge_self_focus(struct coaching *co, struct proc_ctx *ctx,
                               struct co_meeting *m, const char *evidence);
void coaching_judge_monologue(struct coaching *co, struct proc_ctx *ctx,
                              struct co_meeting *m,
                              const struct meeting_delta *d,
                              const char *evidence);
void coaching_judge_talk_ratio(struct coaching *co, struct proc_ctx *ctx,
                               struct co_meeting *m, bool from_timer);
void coaching_fire_competitor(struct coaching *co, struct proc_ctx *ctx,
                              struct co_meeting *m, const char *name,
                              const struct co_competitor *c,
                              const char *evidence);

#define CO_ROOM(ctx, f, max)                                                  \
    ((ctx)->f = coaching_room((ctx)->f, (ctx)->n_##f, &(ctx)->cap_##f,        \
                              sizeof(*(ctx)->f), (max)))

#endif
