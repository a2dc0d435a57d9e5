/*
 * event.h - the input records (records.h) as plain C structs.
 *
 * The codec decodes Avro into these, so processors never see Avro. Every
 * string is valid UTF-8 (the codec rejects anything else to the DLQ) and lives
 * in the arena the event was decoded into: it is valid until the runtime
 * resets that arena, after the processors have handled the event. Optional
 * Avro unions (null|string) arrive as NULL; optional doubles carry a has_ flag.
 */
#ifndef DS_EVENT_H
#define DS_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

/* One per input row of records.h, in its order. */
enum event_kind {
#define DS_X_EVENT_KIND(kind, ...) kind,
    DS_INPUT_RECORDS(DS_X_EVENT_KIND)
#undef DS_X_EVENT_KIND
    EVENT_KIND_COUNT,
    /* Not a topic of the table: a processor's own records read back from
     * its repartition topic (ctx_repartition()); only that processor
     * sees them, when its inputs include EVENT_MASK(EVENT_REPARTITION). */
    EVENT_REPARTITION = EVENT_KIND_COUNT
};

#define EVENT_MASK(kind) (1u << (kind))

enum role { ROLE_REP = 0, ROLE_CUSTOMER, ROLE_OTHER };

enum doc_type {
    DOC_VISIT_REPORT = 0,
    DOC_INTERVIEW_NOTE,
    DOC_QUOTE,
    DOC_PROPOSAL,
    DOC_CONTRACT,
    DOC_EMAIL,
    DOC_OTHER
};

enum doc_source {
    SOURCE_OCR_HANDWRITING = 0,
    SOURCE_PDF_HIGHLIGHT,
    SOURCE_PDF_COMMENT,
    SOURCE_TEXT
};

enum iot_severity { IOT_INFO = 0, IOT_WARNING, IOT_CRITICAL };

enum change_type {
    CHANGE_EQUITY_CHANGE = 0,
    CHANGE_TENDER_PUBLISHED,
    CHANGE_TENDER_AWARDED,
    CHANGE_CAPACITY_EXPANSION,
    CHANGE_CONTACT_JOINED,
    CHANGE_CONTACT_MOVED,
    CHANGE_CONTACT_LEFT,
    CHANGE_SUPPLIER_LINKED,
    CHANGE_COMPETITOR_LINKED,
    CHANGE_POLICY_LINKED,
    CHANGE_RELATION_REMOVED
};

enum entity_type {
    ENTITY_COMPANY = 0,
    ENTITY_SUPPLIER,
    ENTITY_COMPETITOR,
    ENTITY_POLICY,
    ENTITY_CONTACT,
    ENTITY_DEVICE,
    ENTITY_TENDER
};

struct transcript_segment {
    const char *meeting_id;
    const char *rep_id;
    int32_t seq;
    const char *speaker_id;
    enum role speaker_role;
    int64_t start_ms; /* ms from the meeting's start */
    int64_t end_ms;   /* ms from the meeting's start */
    const char *text;
    const char *phase; /* NULL when absent */
    bool is_final;
};

struct doc_annotation {
    const char *rep_id;
    const char *opportunity_id; /* NULL when absent */
    const char *document_id;
    enum doc_type doc_type;
    enum doc_source source;
    const char *author_role;
    const char *text;
};

struct iot_alert {
    const char *device_id;
    const char *alert_type;
    enum iot_severity severity;
    int32_t count;
    bool has_value;
    double value;
};

struct kv {
    const char *key;
    const char *value;
};

struct registry_change {
    enum change_type change_type;
    const char *entity_id;
    enum entity_type entity_type;
    const char *entity_name; /* NULL when absent */
    const struct kv *attributes;
    size_t n_attributes;
    bool has_amount;
    double amount;
};

struct opportunity_update {
    const char *opportunity_id;
    const char *rep_id;
    const char *industry;   /* NULL when absent */
    const char *stage_from; /* NULL when absent */
    const char *stage_to;
    bool has_amount;
    double amount;
    const char *device_line; /* NULL when absent (issue 25) */
};

/* Who a rep reports to; keyed by rep_id (ref.reps). */
struct rep_assignment {
    const char *rep_id;
    const char *name;
    const char *team_id;
    const char *manager_id;
    const char *time_zone; /* NULL when absent; an IANA name, "Europe/Berlin" */
};

/* A department's answer to a work item (ops.work-item-updates). */
enum wi_update_status { WIU_ACKNOWLEDGED = 0, WIU_DONE, WIU_REJECTED };

struct work_item_update {
    const char *work_item_id;
    enum wi_update_status status;
    const char *by;
    const char *note; /* NULL when absent */
};

/* A spare-part order from the supply partner's ERP (erp.parts-orders). */
struct parts_order {
    const char *supplier_id;   /* NULL when absent */
    const char *part_id;
    const char *part_category; /* NULL when absent */
    int32_t quantity;
    bool has_amount;
    double amount;
    const char *device_id; /* NULL when absent */
};

/* News about an entity, not about one customer (ref.entity-events); keyed
 * by entity_id, customer_id NULL. */
struct entity_event {
    const char *entity_id;
    enum entity_type entity_type; /* COMPANY, SUPPLIER, COMPETITOR, POLICY */
    const char *change;           /* PRICE_CUT, BANKRUPTCY, ... */
    bool has_magnitude;
    double magnitude;
    const char *title;
    const struct kv *attributes;
    size_t n_attributes;
};

/* What kind of outside condition an EnvironmentSignal describes. */
enum signal_kind {
    SIGNAL_POLICY = 0,
    SIGNAL_COMPETITOR_PRICE,
    SIGNAL_WEATHER,
    SIGNAL_PUBLIC_EVENT,
    SIGNAL_LOCKDOWN,
    SIGNAL_MACRO,
    SIGNAL_OTHER
};

/* One sales result of a unit (rep, team, territory); keyed by unit_id. */
struct sales_outcome {
    const char *unit_id;
    const char *region;
    const char *industry; /* NULL when absent */
    const char *metric;   /* "revenue", "orders", "visits", ... */
    double value;
};

/* An outside condition over regions and industries; keyed by signal_id. */
struct env_signal {
    const char *signal_id;
    enum signal_kind kind;
    const char *title;
    const char *description;    /* NULL when absent */
    const char *const *regions; /* none: every region */
    size_t n_regions;
    const char *const *industries; /* none: every industry */
    size_t n_industries;
    int64_t start_time; /* ms since epoch */
    bool has_end_time;  /* false: still in force */
    int64_t end_time;   /* ms since epoch, exclusive */
    bool has_magnitude;
    double magnitude;
};

/* Where a record came from; alerts carry it back to their consumers. */
struct event_source {
    const char *topic;
    int32_t partition;
    int64_t offset;
};

/* A record a processor sent itself through its repartition topic, keyed
 * by something other than the customer; the bytes are its own encoding. */
struct repartition_record {
    const uint8_t *data;
    size_t len;
    /* The input record whose handling sent it, and its number among the
     * records that handling sent (from 0): together they identify it, so
     * a copy re-sent after a crash can be recognised. */
    struct event_source origin;
    uint32_t seq;
};

struct event {
    enum event_kind kind;
    /* The message key: the value of the record's key field (records.h),
     * the customer id on most topics. Set by the codec. */
    const char *key;
    const char *event_id;    /* NULL for records without one (RepAssignment) */
    const char *customer_id; /* NULL for records not keyed by customer */
    int64_t event_time; /* ms since epoch */
    struct event_source src;
    union {
        struct transcript_segment transcript;
        struct doc_annotation annotation;
        struct iot_alert iot;
        struct registry_change registry;
        struct opportunity_update opportunity;
        struct rep_assignment rep;
        struct work_item_update work_item_update;
        struct parts_order parts;
        struct entity_event entity;
        struct sales_outcome outcome;
        struct env_signal signal;
        struct repartition_record repartition;
    } u;
};

/* Names as they appear in the Avro enums (and therefore in config keys). */
const char *event_kind_name(enum event_kind k);    /* "transcripts", ... */
const char *event_record_name(enum event_kind k);  /* "TranscriptSegment" */
const char *role_name(enum role r);
const char *doc_type_name(enum doc_type t);
const char *doc_source_name(enum doc_source s);
const char *iot_severity_name(enum iot_severity s);
const char *change_type_name(enum change_type t);
const char *entity_type_name(enum entity_type t);
const char *signal_kind_name(enum signal_kind k);

/* Reverse look-ups: 0 and *out set, or -1 when the name is unknown. */
int role_parse(const char *s, enum role *out);
int doc_type_parse(const char *s, enum doc_type *out);
int doc_source_parse(const char *s, enum doc_source *out);
int iot_severity_parse(const char *s, enum iot_severity *out);
int change_type_parse(const char *s, enum change_type *out);
int entity_type_parse(const char *s, enum entity_type *out);
const char *wi_update_status_name(enum wi_update_status s);
int wi_update_status_parse(const char *s, enum wi_update_status *out);
int signal_kind_parse(const char *s, enum signal_kind *out);

#endif
