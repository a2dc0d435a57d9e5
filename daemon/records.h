/*
 * records.h - every record and topic the product knows, in one table.
 *
 * One row per topic: the config key under `topics:`, the default topic
 * name, the Avro record it carries, its reader schema file, the field that
 * is the message key, and a sentence for the docs. The event and alert
 * kinds, `struct config_topics`, the config keys and docs/CONFIG.md, the
 * codec's record list, the runtime's subscriptions and routing, the tools'
 * topic look-ups and the demo are all derived from these rows, so adding a
 * topic is a row here, its field list in records.c, its struct in event.h
 * and its schema (docs/ARCHITECTURE.md).
 */
#ifndef DS_RECORDS_H
#define DS_RECORDS_H

#include <stddef.h>

/*
 * X(KIND, config key, default topic, record, schema file, key field,
 *   demo round, description)
 *
 * Inputs, in enum event_kind order. `demo round`: 1 the customers'
 * context, 2 the meetings, 3 the departments' answers, 0 not fed by
 * `dealstream demo`; the demo feeds
 * examples/<config key>.jsonl (and, in round N, examples/roundN/).
 */
#define DS_INPUT_RECORDS(X)                                                   \
    X(EVENT_TRANSCRIPT, transcripts, "sales.transcripts",                     \
      "TranscriptSegment", "transcript_segment", "customer_id", 2,            \
      "Input: meeting transcript segments (TranscriptSegment).")              \
    X(EVENT_ANNOTATION, doc_annotations, "sales.doc-annotations",             \
      "DocumentAnnotation", "document_annotation", "customer_id", 1,          \
      "Input: annotations from documents (DocumentAnnotation).")              \
    X(EVENT_IOT, iot_alerts, "ops.iot-alerts", "IotAlert", "iot_alert",       \
      "customer_id", 1,                                                       \
      "Input: alerts from customers' devices (IotAlert).")                    \
    X(EVENT_REGISTRY, registry_changes, "ref.registry-changes",               \
      "RegistryChange", "registry_change", "customer_id", 1,                  \
      "Input: company registry and market changes (RegistryChange).")         \
    X(EVENT_OPPORTUNITY, opportunity_updates, "crm.opportunity-updates",      \
      "OpportunityUpdate", "opportunity_update", "customer_id", 1,            \
      "Input: CRM opportunity stage changes (OpportunityUpdate).")            \
    X(EVENT_REP_ASSIGNMENT, reps, "ref.reps", "RepAssignment",                \
      "rep_assignment", "rep_id", 1,                                          \
      "Input: each rep's team, manager and time zone (RepAssignment), "       \
      "keyed by rep_id.")                                                     \
    X(EVENT_WORK_ITEM_UPDATE, work_item_updates, "ops.work-item-updates",     \
      "WorkItemUpdate", "work_item_update", "customer_id", 3,                 \
      "Input: departments' answers to work items (WorkItemUpdate).")          \
    X(EVENT_PARTS_ORDER, parts_orders, "erp.parts-orders", "PartsOrder",      \
      "parts_order", "customer_id", 0,                                        \
      "Input: spare-part orders from the supply partner's ERP (PartsOrder).") \
    X(EVENT_ENTITY, entity_events, "ref.entity-events", "EntityEvent",        \
      "entity_event", "entity_id", 0,                                         \
      "Input: news about a supplier, competitor or policy (EntityEvent), "    \
      "keyed by entity_id; reaches the linked customers.")                    \
    X(EVENT_SALES_OUTCOME, sales_outcomes, "sales.outcomes", "SalesOutcome",  \
      "sales_outcome", "unit_id", 1,                                          \
      "Input: sales results per rep, team or territory (SalesOutcome), "      \
      "keyed by unit_id.")                                                    \
    X(EVENT_ENV_SIGNAL, env_signals, "env.signals", "EnvironmentSignal",      \
      "environment_signal", "signal_id", 1,                                   \
      "Input: policies, prices, weather and other outside conditions "        \
      "(EnvironmentSignal), keyed by signal_id.")

/* Outputs, in enum alert_kind order; their encoders are in the codec. */
#define DS_OUTPUT_RECORDS(X)                                                  \
    X(ALERT_LEAD_RERATING, lead_ratings, "sales.lead-ratings",                \
      "LeadRerating", "lead_rerating", "customer_id", 0,                      \
      "Output: lead re-ratings (LeadRerating).")                              \
    X(ALERT_COACHING, coaching_alerts, "sales.coaching-alerts",               \
      "CoachingAlert", "coaching_alert", "customer_id", 0,                    \
      "Output: coaching alerts for reps (CoachingAlert).")                    \
    X(ALERT_MEETING_SUMMARY, meeting_metrics, "sales.meeting-metrics",        \
      "MeetingSummary", "meeting_summary", "customer_id", 0,                  \
      "Output: one summary per finished meeting (MeetingSummary).")           \
    X(ALERT_WORK_ITEM, work_items, "ops.work-items", "WorkItem", "work_item", \
      "customer_id", 0,                                                       \
      "Output: department work items from orchestration triggers (WorkItem).")\
    X(ALERT_ATTRIBUTION, attribution, "sales.attribution",                    \
      "AttributionReport", "attribution_report", "unit_id", 0,                \
      "Output: each unit's result against its counterfactual, per closed "    \
      "period (AttributionReport), keyed by unit_id.")                       \
    X(ALERT_DAILY_DIGEST, daily_digest, "sales.daily-digest", "DailyDigest",  \
      "daily_digest", "team_id", 0,                                           \
      "Output: a manager's daily red list per team and local day "           \
      "(DailyDigest), keyed by team_id.")

/* Topics that carry no record of ours. */
#define DS_PLAIN_TOPICS(X)                                                    \
    X(0, dlq, "dealstream.dlq", NULL, NULL, NULL, 0,                 \
      "Output: records that could not be processed, with headers naming "     \
      "the error and the source.")

#define DS_TOPICS(X) DS_INPUT_RECORDS(X) DS_OUTPUT_RECORDS(X) DS_PLAIN_TOPICS(X)

/* Every topic, by config key: TOPIC_transcripts, ..., TOPIC_dlq. Inputs
 * come first (TOPIC of event kind k is k), then outputs, then the rest. */
enum topic_id {
#define DS_X_TOPIC_ID(kind, key, ...) TOPIC_##key,
    DS_TOPICS(DS_X_TOPIC_ID)
#undef DS_X_TOPIC_ID
    TOPIC_COUNT
};

enum record_dir { RECORD_INPUT = 0, RECORD_OUTPUT, RECORD_PLAIN };

/* How a field of an input record lands in struct event. */
enum record_ftype {
    FIELD_STR,        /* string -> const char * */
    FIELD_OPT_STR,    /* null|string -> const char *, NULL for null */
    FIELD_INT,        /* int -> int32_t */
    FIELD_LONG,       /* long -> int64_t */
    FIELD_BOOL,       /* boolean -> bool */
    FIELD_OPT_DOUBLE, /* null|double -> double + bool has_ at aux */
    FIELD_ENUM,       /* enum -> the C enum, by symbol name */
    FIELD_STRMAP,     /* map<string> -> const struct kv * + size_t count at aux */
    FIELD_DOUBLE,     /* double -> double */
    FIELD_OPT_LONG,   /* null|long -> int64_t + bool has_ at aux */
    FIELD_STRLIST     /* array<string> -> const char *const * + size_t count at aux */
};

struct record_field {
    const char *name;
    enum record_ftype type;
    size_t off; /* in struct event */
    size_t aux; /* FIELD_OPT_DOUBLE, FIELD_OPT_LONG: the has_ flag; FIELD_STRMAP and
                 * FIELD_STRLIST: the count */
    int (*parse)(const char *s, int *out); /* FIELD_ENUM: symbol -> value */
};

struct record_def {
    enum topic_id id;
    enum record_dir dir;
    int kind;              /* enum event_kind or enum alert_kind, by dir */
    const char *topic_key; /* config key topics.<topic_key> */
    const char *topic;     /* its default */
    const char *record;    /* Avro record name; NULL: none (the DLQ) */
    const char *schema;    /* reader schema: <schemas.dir>/<schema>.avsc */
    const char *key_field; /* the field the message key equals */
    int demo_round;
    const char *desc;
    /* Inputs: what the codec stores in struct event, in schema order. */
    const struct record_field *fields;
    size_t n_fields;
};

extern const struct record_def records_table[TOPIC_COUNT];

/* The row of an input or output kind. */
const struct record_def *records_of_event(int event_kind);
const struct record_def *records_of_alert(int alert_kind);
/* The row of a record name, short ("TranscriptSegment") or with the
 * namespace ("dealstream.TranscriptSegment"); NULL when there is none. */
const struct record_def *records_find(const char *record);

#endif
