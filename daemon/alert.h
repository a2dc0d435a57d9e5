/*
 * alert.h - the output records (records.h) as plain C structs.
 *
 * A processor fills one of these and hands it to ctx_emit(); the runtime
 * stamps the provenance (trigger event, source topic/partition/offset, event
 * time) and the deterministic alert_id, and the codec encodes it. All
 * pointers are borrowed: they need to stay valid only for the ctx_emit() call.
 */
#ifndef DS_ALERT_H
#define DS_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* One per output row of records.h, in its order. */
enum alert_kind {
#define DS_X_ALERT_KIND(kind, ...) kind,
    DS_OUTPUT_RECORDS(DS_X_ALERT_KIND)
#undef DS_X_ALERT_KIND
    ALERT_KIND_COUNT
};

enum coaching_category {
    CAT_DISCOVERY_TIME = 0,
    CAT_SELF_FOCUS,
    CAT_UNANSWERED_OBJECTION,
    CAT_MISSED_CONTEXT,
    CAT_TALK_RATIO,
    CAT_MONOLOGUE,
    CAT_QUESTIONS,
    CAT_COMPETITOR_MENTION,
    CAT_MISSING_KEYWORDS,
    CAT_ACTION_UNITS_INCOMPLETE,
    CAT_STAGE_CLAIM_UNSUPPORTED,
    CAT_WORK_ITEM_OVERDUE /* last: codec_encode.c's CAT_COUNT */
};

enum alert_severity { SEV_INFO = 0, SEV_WARNING, SEV_RED };

struct metric {
    const char *name;
    double value;
};

#define ALERT_MAX_REASONS 5

struct rerating_reason {
    const char *factor;    /* signal type, e.g. "iot.vibration_anomaly.CRITICAL" */
    const char *node_type; /* "customer", "contact", "device", ... */
    const char *node_id;
    double contribution; /* score points, may be negative */
    const char *detail;  /* readable text ("... 3.1x their 90-day rate"); may be NULL */
};

struct lead_rerating {
    const char *previous_tier; /* NULL for a customer's first rating */
    const char *tier;          /* "A".."D" */
    double previous_score;
    double score;        /* 0..100 */
    const char *trend;   /* "improving", "declining", "steady"; may be NULL */
    double fit_score;    /* who the customer is, 0..100 */
    double intent_score; /* what it is doing now, 0..100 */
    struct rerating_reason reasons[ALERT_MAX_REASONS];
    size_t n_reasons;
};

struct coaching_alert {
    const char *rep_id;         /* each of these four may be NULL */
    const char *meeting_id;
    const char *opportunity_id;
    const char *document_id;
    const char *rule; /* the rule's id in the config */
    enum coaching_category category;
    enum alert_severity severity;
    const char *message;
    const struct metric *metrics;
    size_t n_metrics;
    const char *const *evidence;
    size_t n_evidence;
    /* Optional: the alert_id of an earlier alert this one says is
     * resolved (late evidence supported a stage claim after all). */
    const char *resolves_alert_id;
};

struct meeting_summary {
    const char *meeting_id;
    const char *rep_id;
    const char *closed_by; /* "final" or "idle" */
    const struct metric *metrics;
    size_t n_metrics;
};

enum work_item_status { WI_CREATED = 0, WI_OVERDUE, WI_DONE, WI_REJECTED };

/* A department's task (ops.work-items); one record per status change. */
struct work_item {
    const char *work_item_id;
    const char *trigger;        /* the trigger's id in the config */
    const char *opportunity_id; /* each of these three may be NULL */
    const char *meeting_id;
    const char *document_id;
    const char *rep_id;
    const char *department;
    const char *task;
    const char *requirement;
    int64_t created_time; /* ms since epoch */
    int64_t due_time;     /* ms since epoch */
    enum work_item_status status;
};

/* A unit's result against its counterfactual for one closed period
 * (processors/attribution/). The estimates are absent (has_estimate false)
 * when the estimator refused; the explanation then says why. */
struct attribution_report {
    char report_id[48]; /* deterministic; "-r<N>" for correction N */
    const char *unit_id;
    const char *region;
    const char *industry; /* NULL when absent */
    const char *metric;
    const char *period;   /* "2026-03", "2026-W11", "2026-Q1" */
    int64_t period_start; /* ms since epoch, inclusive */
    int64_t period_end;   /* ms since epoch, exclusive */
    double actual;
    bool has_estimate;
    double baseline;
    double environment_effect;
    double effect_low, effect_high;
    double adjusted_target;
    double excess_value;
    const char *const *signals;
    size_t n_signals;
    int32_t controls;
    const char *method;
    const char *explanation;
    int32_t revision; /* 0, then 1, 2, ... for corrections */
};

/* One ranked RED alert of a daily digest. */
struct digest_item {
    const char *alert_id, *kind, *category, *severity, *customer_id, *rep_id;
    const char *message;
    const char *tier; /* NULL: unknown */
    bool has_amount;
    double amount;
    int64_t alert_time;
    bool late;
    const char *why_ranked;
};

/* A team's day (processors/digest/); keyed by team_id (customer_id). */
struct daily_digest {
    const char *team_id, *manager_id, *day, *time_zone;
    const struct digest_item *top;
    size_t n_top;
    const struct metric *counts; /* values are whole numbers */
    size_t n_counts;
    int32_t overdue_work_items;
    int32_t late_alerts;
    const struct metric *median_response_hours;
    size_t n_medians;
};

struct alert {
    enum alert_kind kind;
    const char *customer_id;
    /* Set by the processor: what makes this alert distinct among those the
     * same trigger event can cause (e.g. the rule id plus the objection). The
     * alert_id is a hash of kind, customer, trigger event id and this. */
    const char *dedup_key;
    /* Set by the processor for a judgement of state that fires once,
     * whichever path gets there first (a deadline judged by a later event
     * or by the timer): the alert_id then hashes kind, customer and
     * dedup_key only, so a replay or a rebalance that takes the other path
     * yields the same id. trigger_event_id still names the provenance. */
    bool id_from_state;
    /* Optional: the topic to write to instead of the kind's (one of the
     * processor's output_topics); NULL for the kind's. */
    const char *topic;
    union {
        struct lead_rerating rerating;
        struct coaching_alert coaching;
        struct meeting_summary summary;
        struct work_item work_item;
        struct attribution_report attribution;
        struct daily_digest digest;
    } u;

    /* Stamped by the runtime in ctx_emit(); processors leave them zero. */
    char alert_id[33]; /* 32 hex digits + NUL */
    const char *trigger_event_id;
    struct event_source src;
    int64_t event_time; /* ms since epoch */
};

#define ALERT_MASK(kind) (1u << (kind))

const char *alert_kind_name(enum alert_kind k);
const char *coaching_category_name(enum coaching_category c);
const char *alert_severity_name(enum alert_severity s);
const char *work_item_status_name(enum work_item_status s);

/* Fills a->alert_id from kind, customer id, trigger event id (unless
 * id_from_state) and dedup key: the same input always yields the same id. */
void alert_compute_id(struct alert *a);

#endif
