/*
 * action_units.h - what the action_units processor's files share: its
 * config as bound from processors.action_units, its state objects, its
 * instance. Private to processors/action_units/.
 */
#ifndef DS_ACTION_UNITS_H
#define DS_ACTION_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include "confusables.h"
#include "hmap.h"
#include "matcher.h"
#include "processor.h"
#include "statecodec.h"
#include "streamtime.h"

#define AU_DOC_ANY (DOC_OTHER + 1)

enum au_lang { AU_LANG_UNKNOWN = 0, AU_LANG_ZH = 1, AU_LANG_EN = 2 };

struct au_scenario {
    char *name;
    struct cfg_strlist synonyms;
    struct cfg_strlist covered_by; /* competitor entity ids or names */
};

struct au_unit {
    char *name;
    char *stage;
    int doc_type; /* enum doc_type, or AU_DOC_ANY */
    struct cfg_strlist author_roles;
    int64_t min_docs;
    int64_t min_scenarios;
    struct cfg_strlist keywords;
    char *label_zh;
    char *label_en;
};

struct au_industry {
    char *name;
    char *label_zh;
    char *label_en;
    struct cfg_strlist required_keywords;
    struct cfg_strlist stages;
    struct cfg_array scenarios; /* struct au_scenario */
    struct cfg_array units;     /* struct au_unit */
};

struct au_rule {
    bool enabled;
    int severity; /* enum alert_severity */
};

struct au_rule_timed {
    bool enabled;
    int severity;
    int64_t after_ms;
};

struct au_rules {
    struct au_rule missing_keywords;
    struct au_rule stage_claim_unsupported;
    struct au_rule_timed action_units_incomplete;
};

struct au_templates {
    char *missing_keywords;
    char *stage_claim;
    char *incomplete;
    char *unit_progress;
    char *doc_short;
    char *separator;
    char *keyword_separator;
};

struct au_messages {
    struct au_templates zh;
    struct au_templates en;
};

struct au_config {
    char *default_industry;
    int default_language; /* 0 zh, 1 en */
    double cjk_ratio;
    int64_t max_opportunities;
    int64_t max_documents;
    int64_t max_competitors;
    int64_t evidence_grace_ms; /* stream time a stage claim waits for units */
    struct cfg_strlist confusables;
    struct cfg_array industries; /* struct au_industry */
    struct au_rules rules;
    struct au_messages messages;
};

/* 2 appended the opportunity's last-event provenance; 1 is still read. */
#define AU_FORMAT_VERSION 3
#define AU_FORMAT_MIN 1
#define AU_OBJ_CUSTOMER 1
#define AU_OBJ_OPP 2
/* A partition's stream time, under a key from ctx_partition_key() (it
 * starts with AU_WM_PREFIX, which no customer id may). */
#define AU_OBJ_WATERMARK 3
#define AU_WM_PREFIX "~p"
#define AU_MAX_CLAIMS 16
#define AU_MAX_NEAR 5   /* near-miss documents named per unit in evidence */
#define AU_HARD_CAP 100000 /* decoded counts beyond this are corrupt */
#define AU_OPP_INFIX "/opp/"

struct au_strvec {
    char **v;
    size_t n;
};

struct au_doc {
    char *document_id;
    char *author_role;
    char *industry; /* whose scenario library named the scenarios */
    int64_t event_time; /* ms since epoch, of the first annotation */
    uint8_t doc_type;
    uint8_t lang;
    int64_t uncovered; /* cached for inspect: named and not covered */
    struct au_strvec scenarios; /* canonical scenario names */
    struct au_strvec kw_units;  /* units whose keywords it contains */
};

struct au_competitor {
    char *id;
    char *name; /* NULL when the registry gave none */
    int64_t linked_at;
};

struct au_opp_ref {
    char *id;
    int64_t last_seen;   /* ms, event time */
    int64_t watch_since; /* stage entry to judge for incompleteness, or -1 */
    /* Format 3: the earliest event time at which a deferred stage claim
     * of the opportunity is judged (its event time + evidence_grace), or
     * -1 when none waits. */
    int64_t claim_due;
};

struct au_customer {
    uint8_t type; /* AU_OBJ_CUSTOMER; first member of both objects */
    char *industry; /* last named by an OpportunityUpdate */
    uint8_t lang;   /* of the latest document */
    struct au_competitor *comp;
    size_t n_comp;
    struct au_doc *docs; /* documents without opportunity_id */
    size_t n_docs;
    struct au_opp_ref *opps;
    size_t n_opps;
};

struct au_unit_status {
    char *name;
    int64_t have, need;
};

struct au_stage_status {
    char *name;
    bool supported;
    struct au_unit_status *units;
    size_t n_units;
};

/* What became of a stage claim (format 3; earlier claims were all
 * ALERTED, with no alert_id kept). */
#define AU_CLAIM_ALERTED 0  /* stage_claim_unsupported was sent */
#define AU_CLAIM_PENDING 1  /* lacking units; judged at at + evidence_grace */
#define AU_CLAIM_RESOLVED 2 /* alerted, then late evidence supported it */

struct au_claim {
    char *event_id;
    char *from; /* NULL when only the state knew it */
    char *to;
    int64_t at;
    struct au_strvec stages; /* passed without their units */
    /* format 3 */
    uint8_t state;  /* AU_CLAIM_* */
    char *alert_id; /* the alert sent (ALERTED, RESOLVED); else NULL */
    char *first;    /* first stage of the range judged; NULL: `from` */
    char *topic;    /* provenance of the claim's event; NULL: unknown */
    int32_t partition;
    int64_t offset;
};

struct au_opp {
    uint8_t type; /* AU_OBJ_OPP */
    char *id;
    char *industry; /* NULL until an OpportunityUpdate names it */
    char *rep_id;
    char *stage;
    int64_t stage_entered_at;
    uint8_t lang;
    struct au_doc *docs;
    size_t n_docs;
    struct au_strvec alerted; /* stages action_units_incomplete fired for */
    struct au_claim *claims;
    size_t n_claims;
    char *status_industry; /* industry the snapshot was computed with */
    struct au_stage_status *status;
    size_t n_status;
    /* Provenance of the last event naming this opportunity: on_timer has
     * no current event, so its alerts cite this one. NULL event id: none
     * yet (a format-1 record). */
    char *last_event_id;
    char *last_topic;
    int32_t last_partition;
    int64_t last_offset;
};

/* Matcher ids: kind in the high bits, index in the industry's list. */
#define AU_ID_SHIFT 20
#define AU_ID_REQUIRED 1u
#define AU_ID_SCENARIO 2u
#define AU_ID_UNIT 3u
#define AU_ID(kind, idx) (((kind) << AU_ID_SHIFT) | (unsigned)(idx))

struct au_ind_rt {
    const struct au_industry *cfg;
    struct matcher *m;
};

struct au_inst {
    const struct au_config *cfg;
    struct confusables *conf;
    struct au_ind_rt *ind;
    size_t n_ind;
    struct buf canon;   /* scratch: canonical text */
    bool *hit;          /* scratch: one flag per matcher id slot */
    size_t hit_stride;  /* slots per kind */
    /* Stream time, for on_timer: the largest event_time handled; unknown
     * (has_watermark false) after a start until the first event. */
    int64_t watermark;
    bool has_watermark;
    /* The same per input partition number (the customer's events of every
     * topic share it): a deadline is judged by its own partition's stream
     * time, not by whichever partitions this instance also handles. Kept
     * in struct au_wm objects. */
    struct streamtime part_time;
    uint64_t indexed_at; /* ctx_assignment() the index was rebuilt at */
    /* Pending action_units_incomplete deadlines: opportunity key ->
     * malloc'd int64_t (stage entry + after, event time). One entry per
     * opportunity whose customer watches it (watch_since >= 0), so it is
     * bounded like the state. Rebuilt from the store on the first tick. */
    struct hmap *pending;
    bool indexed;
    /* <= every deadline in `pending` (exact after each due scan, a lower
     * bound after removals): on_timer returns while it is > watermark. */
    int64_t next_due;
    /* Deferred stage claims (evidence_grace): opportunity key -> malloc'd
     * int64_t, the customer's claim_due for it; rebuilt like `pending`. */
    struct hmap *claims_due;
    int64_t next_claim_due; /* <= every value in claims_due */
};

/* A partition's stream time kept in state, so it survives a restart and
 * moves with the partition (key: ctx_partition_key()). */
struct au_wm {
    uint8_t type; /* AU_OBJ_WATERMARK */
    int32_t partition;
    int64_t stream_time;
};

struct au_var {
    const char *name;
    const char *value;
};

struct au_near {
    const char *doc_id;
    int64_t count;
};

struct au_eval {
    int64_t have, need;
    struct au_near near[AU_MAX_NEAR]; /* right type and author, too few scenarios */
    size_t n_near;
};

/* The documents an opportunity's units are judged on - its own, then the
 * customer's not filed under it as well - each with its uncovered
 * scenarios counted once. Every unit of every stage reads the same
 * counts; counted per unit, the scenario-name and competitor compares
 * made au_opp_refresh 11.5 % of the processing thread under Zipf keys
 * (6.8 % since). */
struct au_evidence {
    struct au_evdoc {
        const struct au_doc *d;
        int64_t uncovered;
    } *v;
    size_t n;
};

extern const struct config_table action_units_config_table;

void *action_units_state_new(const char *key);

void action_units_state_encode(const void *st, struct buf *b);

int action_units_state_decode(const char *key, const uint8_t *data, size_t len,
                              void **out);

void action_units_state_free(void *st);

/* See processor_ops.state_prefetch: depth 0 the strings and arrays the
 * object points to, depth 1 the strings of its documents and references
 * (each a separate, cold allocation when the sealer gets to it). */
void action_units_state_prefetch(const void *st, int depth);

void action_units_state_to_json(const void *st, struct jw *w);

void au_doc_free(struct au_doc *d);

/* Scenarios of `d` that no competitor linked to the customer covers. */
int64_t au_doc_uncovered(const struct au_inst *inst,
                         const struct au_customer *cust,
                         const struct au_doc *d);

/* Evidence for unit u among `docs`. */
void au_eval_unit(const struct au_unit *u,
                  const struct au_evidence *docs, struct au_eval *e);

/* `opp` NULL: the customer's documents only. Free with au_evidence_free. */
void au_evidence_build(const struct au_inst *inst,
                       const struct au_customer *cust,
                       const struct au_opp *opp,
                       struct au_evidence *ev);

void au_evidence_free(struct au_evidence *ev);

const struct au_ind_rt *au_industry_find(const struct au_inst *inst,
                                         const char *name);

/*
 * Cross-field rules of one industry. Returns NULL or a constant message;
 * with `err` also a detailed one naming the culprit (for init()).
 */
const char *au_industry_validate(const struct au_industry *ind,
                                 char *err, size_t errlen);

bool au_key_is_opp(const char *key);
bool au_key_is_wm(const char *key);

/* Rebuilds the per-stage snapshot and the cached per-document counts of
 * `opp`, and the customer's watch on it. */
void au_opp_refresh(struct au_inst *inst, const char *customer_id,
                    struct au_customer *cust, struct au_opp *opp);

/* Grows *v (n elements of `size`) by one zeroed element; returns it. */
void *au_push(void *vp, size_t *n, size_t size);

/* Removes element i of v (n elements of `size`), keeping the order. */
void au_remove(void *v, size_t *n, size_t size, size_t i);

char *au_render_dup(const char *tpl, const struct au_var *vars,
                    size_t n);

/*
 * What the stage `stage` lacks, appended to `ev` as readable lines
 * (unit progress, then the documents that fell short). Adds to *have and
 * *need; returns the number of units not done.
 */
size_t au_stage_gaps(const struct au_industry *ind, const char *stage,
                     const struct au_evidence *docs,
                     const struct au_templates *tpl, bool zh,
                     struct au_strvec *ev, int64_t *have, int64_t *need);

ssize_t au_stage_index(const struct au_industry *ind, const char *stage);

void au_status_free(struct au_stage_status *st, size_t n);

void au_strvec_add(struct au_strvec *sv, const char *s);

void au_strvec_add_unique(struct au_strvec *sv, const char *s);

void au_strvec_free(struct au_strvec *sv);

bool au_strvec_has(const struct au_strvec *sv, const char *s);

void *au_xalloc(size_t n);

/* ---- action_units.c: rendering and the opportunity index ---- */

void au_emit(struct proc_ctx *ctx, const struct event *ev,
             const char *dedup, const struct coaching_alert *ca);
char *au_join(const struct au_strvec *sv, const char *sep);
const char *au_opp_industry(const struct au_inst *inst,
                            const struct au_customer *cust,
                            const struct au_opp *opp);
char *au_opp_key(const char *customer, const char *opp);
uint8_t au_opp_lang(const struct au_customer *cust,
                    const struct au_opp *opp);
struct au_opp_ref *au_ref_find(struct au_customer *cust, const char *id);
const struct au_templates *au_tpl(const struct au_inst *inst,
                                  uint8_t lang);
int64_t au_deadline(const struct au_inst *inst, int64_t since);
void au_judge_incomplete(struct au_inst *inst, struct proc_ctx *ctx,
                         const char *customer_id,
                         struct au_customer *cust,
                         struct au_opp_ref *ref, const char *key,
                         struct au_opp *opp, int64_t at, bool timer);
void au_pending_del(struct au_inst *inst, const char *key);
void au_pending_put(struct au_inst *inst, const char *key,
                    int64_t deadline);
void au_watch_set(struct au_inst *inst, const char *customer_id,
                  struct au_opp_ref *ref, int64_t since);

/* ---- action_units_claims.c: stage claims ---- */

void au_check_claim(struct au_inst *inst, struct proc_ctx *ctx,
                    const struct event *ev, struct au_customer *cust,
                    struct au_opp *opp, const struct au_ind_rt *ind);
void au_check_claims_due(struct au_inst *inst, struct proc_ctx *ctx,
                         const struct event *ev,
                         struct au_customer *cust);
int64_t au_claim_now(struct proc_ctx *ctx, int32_t partition, int64_t t);
void au_claims_judge_due(struct au_inst *inst, struct proc_ctx *ctx,
                         const char *customer_id,
                         struct au_customer *cust, const char *key,
                         struct au_opp *opp, int64_t now);
void au_claims_recheck(struct au_inst *inst, struct proc_ctx *ctx,
                       const struct event *ev,
                       struct au_customer *cust, struct au_opp *opp);

/* ---- action_units_timer.c: stream time and on_timer ---- */

void au_on_partitions(void *vinst, struct proc_ctx *ctx,
                      const int32_t *parts, size_t n, bool assigned);
void au_on_timer(void *vinst, struct proc_ctx *ctx, int64_t now_ms);
/* streamtime_field_fn of the state objects: an au_wm's stream_time. */
int64_t *au_wm_time(void *obj);

#endif
