/*
 * orchestration.h - what the orchestration processor's files share: its
 * config, its state objects and the rendering of task texts. Private to
 * processors/orchestration/.
 */
#ifndef DS_ORCHESTRATION_H
#define DS_ORCHESTRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "processor.h"
#include "repmarks.h"
#include "statecodec.h"

#define OR_MAX_TRIGGERS 64 /* a hit set is one 64-bit mask */
#define OR_MAX_WORK_ITEMS 16 /* per trigger */

/* One work item a trigger creates. */
struct or_item_cfg {
    char *department;
    char *task;     /* template: {customer_id}, {rep_id}, ... (or_render) */
    int64_t sla_ms; /* due = created + sla */
};

struct or_trigger {
    char *id; /* the map key */
    struct cfg_strlist keywords; /* customer speech and annotations */
    struct cfg_strlist sources;  /* transcripts and/or doc_annotations */
    struct cfg_strlist stages;   /* opportunity stage_to values */
    struct cfg_strlist categories; /* coaching alert categories (on_alert) */
    struct cfg_array work_items; /* struct or_item_cfg */
};

/* A department that consumes its own topic. */
struct or_department {
    char *name; /* the map key */
    char *topic;
};

struct or_config {
    struct cfg_array triggers; /* struct or_trigger, by id */
    struct cfg_array departments; /* struct or_department, by name */
    int64_t dedup_window_ms;
    int64_t max_items;        /* per customer */
    int overdue_severity;     /* enum alert_severity */
    char *overdue_message;    /* template */
    char *overdue_message_zh; /* template, for Chinese requirements */
    double cjk_ratio;         /* from this share of CJK, Chinese */
};

extern const struct config_table orchestration_config_table;

/* One work item in its customer's state. */
struct or_item {
    char *id;
    char *trigger;
    char *req_key; /* what de-duplicates it with its trigger (see .c) */
    char *department;
    char *task;
    char *requirement;
    char *opportunity_id, *meeting_id, *document_id; /* each may be NULL */
    char *rep_id;
    int64_t created; /* ms, event time of the triggering event */
    int64_t due;     /* ms */
    int64_t closed;  /* ms, event time of the DONE/REJECTED update; -1 open */
    uint8_t status;  /* enum work_item_status */
    bool acked;
    /* The triggering event: the provenance of its OVERDUE records, and
     * the partition whose stream time judges it. */
    char *event_id;
    char *topic;
    int32_t partition;
    int64_t offset;
};

/* State key "<customer_id>": the customer's work items, oldest first. */
struct or_customer {
    struct or_item *v;
    size_t n;
};

/* State key "<department>/dept", in the department's partition (through
 * the repartition topic): response times of the items it did. */
#define OR_DEPT_SUFFIX "/dept"
#define OR_DEPT_RECENT 128 /* response times kept for the median */

struct or_dept {
    int64_t done;        /* items DONE */
    int64_t sum_ms;      /* their response times (created -> DONE) */
    int64_t recent[OR_DEPT_RECENT]; /* the last ones, ms, a ring */
    size_t n_recent, next;
    int64_t last_time;   /* event time of the last DONE, ms */
    struct repmarks marks; /* the repartition records applied */
};

/* State key ctx_partition_key(p) ("~p<p>..."): partition p's stream time,
 * so a restart or the partition's next owner starts from it. No customer
 * id may start with it. */
#define OR_WM_PREFIX "~p"

/* One of the three objects; which one the key says (OR_WM_PREFIX,
 * OR_DEPT_SUFFIX, else a customer). */
struct or_obj {
    bool wm;           /* a partition's stream time: only stream_time */
    int64_t stream_time; /* ms; INT64_MIN: none */
    bool dept;
    union {
        struct or_customer c;
        struct or_dept d;
    } u;
};

/* The coaching category named so, or -1. */
int or_category(const char *name);

/* Median of the recent response times, ms; -1 with none. */
double orchestration_dept_median(const struct or_dept *d);

void *orchestration_state_new(const char *key);
void orchestration_state_encode(const void *st, struct buf *out);
int orchestration_state_decode(const char *key, const uint8_t *data,
                               size_t len, void **st);
void orchestration_state_free(void *st);
void orchestration_state_to_json(const void *st, struct jw *w);
void orchestration_item_clear(struct or_item *it);

/* Values of a template's placeholders; NULL ones render empty. */
struct or_vars {
    const char *customer_id, *rep_id, *opportunity_id, *department, *trigger,
        *requirement, *keyword, *sla, *task, *due;
};

/* Renders template t into out (reset first, NUL-terminated). */
void or_render(const char *t, const struct or_vars *v, struct buf *out);
/* Whether CJK ideographs make at least ratio of the ideographs plus Latin
 * letters of text (false with neither). */
bool or_is_chinese(const char *text, double ratio);
/* NULL when every {name} in t is a known placeholder, else a message. */
const char *or_template_check(const char *t);

#endif
