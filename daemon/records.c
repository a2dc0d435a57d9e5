/*
 * records.c - the rows of records.h, and for each input record the fields
 * the codec stores in struct event (its decoder entry).
 */
#include "records.h"

#include <string.h>

#include "alert.h"
#include "event.h"

/* The C enums are stored through an int: make sure that is their size. */
_Static_assert(sizeof(enum role) == sizeof(int), "enum size");
_Static_assert(sizeof(enum doc_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum doc_source) == sizeof(int), "enum size");
_Static_assert(sizeof(enum iot_severity) == sizeof(int), "enum size");
_Static_assert(sizeof(enum change_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum entity_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum wi_update_status) == sizeof(int), "enum size");
_Static_assert(sizeof(enum signal_kind) == sizeof(int), "enum size");

#define ENUM_PARSER(fn, parse, type)                                          \
    static int fn(const char *s, int *out)                                    \
    {                                                                         \
        type v;                                                               \
        if (parse(s, &v) != 0)                                                \
            return -1;                                                        \
        *out = (int)v;                                                        \
        return 0;                                                             \
    }
ENUM_PARSER(p_role, role_parse, enum role)
ENUM_PARSER(p_doc_type, doc_type_parse, enum doc_type)
ENUM_PARSER(p_doc_source, doc_source_parse, enum doc_source)
ENUM_PARSER(p_iot_severity, iot_severity_parse, enum iot_severity)
ENUM_PARSER(p_change_type, change_type_parse, enum change_type)
ENUM_PARSER(p_entity_type, entity_type_parse, enum entity_type)
ENUM_PARSER(p_wi_update_status, wi_update_status_parse, enum wi_update_status)
ENUM_PARSER(p_signal_kind, signal_kind_parse, enum signal_kind)

/* Field lists, named <config key>_fields after their row. */
#define EV(f) offsetof(struct event, f)
#define COMMON_HEAD                                                           \
    {"event_id", FIELD_STR, EV(event_id), 0, NULL},                           \
    {"customer_id", FIELD_STR, EV(customer_id), 0, NULL}
#define COMMON_TAIL {"event_time", FIELD_LONG, EV(event_time), 0, NULL}

static const struct record_field transcripts_fields[] = {
    COMMON_HEAD,
    {"meeting_id", FIELD_STR, EV(u.transcript.meeting_id), 0, NULL},
    {"rep_id", FIELD_STR, EV(u.transcript.rep_id), 0, NULL},
    {"seq", FIELD_INT, EV(u.transcript.seq), 0, NULL},
    {"speaker_id", FIELD_STR, EV(u.transcript.speaker_id), 0, NULL},
    {"speaker_role", FIELD_ENUM, EV(u.transcript.speaker_role), 0, p_role},
    {"start_ms", FIELD_LONG, EV(u.transcript.start_ms), 0, NULL},
    {"end_ms", FIELD_LONG, EV(u.transcript.end_ms), 0, NULL},
    {"text", FIELD_STR, EV(u.transcript.text), 0, NULL},
    {"phase", FIELD_OPT_STR, EV(u.transcript.phase), 0, NULL},
    {"is_final", FIELD_BOOL, EV(u.transcript.is_final), 0, NULL},
    COMMON_TAIL};

static const struct record_field doc_annotations_fields[] = {
    COMMON_HEAD,
    {"rep_id", FIELD_STR, EV(u.annotation.rep_id), 0, NULL},
    {"opportunity_id", FIELD_OPT_STR, EV(u.annotation.opportunity_id), 0, NULL},
    {"document_id", FIELD_STR, EV(u.annotation.document_id), 0, NULL},
    {"doc_type", FIELD_ENUM, EV(u.annotation.doc_type), 0, p_doc_type},
    {"source", FIELD_ENUM, EV(u.annotation.source), 0, p_doc_source},
    {"author_role", FIELD_STR, EV(u.annotation.author_role), 0, NULL},
    {"text", FIELD_STR, EV(u.annotation.text), 0, NULL},
    COMMON_TAIL};

static const struct record_field iot_alerts_fields[] = {
    COMMON_HEAD,
    {"device_id", FIELD_STR, EV(u.iot.device_id), 0, NULL},
    {"alert_type", FIELD_STR, EV(u.iot.alert_type), 0, NULL},
    {"severity", FIELD_ENUM, EV(u.iot.severity), 0, p_iot_severity},
    {"count", FIELD_INT, EV(u.iot.count), 0, NULL},
    {"value", FIELD_OPT_DOUBLE, EV(u.iot.value), EV(u.iot.has_value), NULL},
    COMMON_TAIL};

static const struct record_field registry_changes_fields[] = {
    COMMON_HEAD,
    {"change_type", FIELD_ENUM, EV(u.registry.change_type), 0, p_change_type},
    {"entity_id", FIELD_STR, EV(u.registry.entity_id), 0, NULL},
    {"entity_type", FIELD_ENUM, EV(u.registry.entity_type), 0, p_entity_type},
    {"entity_name", FIELD_OPT_STR, EV(u.registry.entity_name), 0, NULL},
    {"attributes", FIELD_STRMAP, EV(u.registry.attributes),
     EV(u.registry.n_attributes), NULL},
    {"amount", FIELD_OPT_DOUBLE, EV(u.registry.amount),
     EV(u.registry.has_amount), NULL},
    COMMON_TAIL};

static const struct record_field opportunity_updates_fields[] = {
    COMMON_HEAD,
    {"opportunity_id", FIELD_STR, EV(u.opportunity.opportunity_id), 0, NULL},
    {"rep_id", FIELD_STR, EV(u.opportunity.rep_id), 0, NULL},
    {"industry", FIELD_OPT_STR, EV(u.opportunity.industry), 0, NULL},
    {"stage_from", FIELD_OPT_STR, EV(u.opportunity.stage_from), 0, NULL},
    {"stage_to", FIELD_STR, EV(u.opportunity.stage_to), 0, NULL},
    {"amount", FIELD_OPT_DOUBLE, EV(u.opportunity.amount),
     EV(u.opportunity.has_amount), NULL},
    {"device_line", FIELD_OPT_STR, EV(u.opportunity.device_line), 0, NULL},
    COMMON_TAIL};

/* Keyed by the rep, not the customer: no event_id or customer_id. */
static const struct record_field reps_fields[] = {
    {"rep_id", FIELD_STR, EV(u.rep.rep_id), 0, NULL},
    {"name", FIELD_STR, EV(u.rep.name), 0, NULL},
    {"team_id", FIELD_STR, EV(u.rep.team_id), 0, NULL},
    {"manager_id", FIELD_STR, EV(u.rep.manager_id), 0, NULL},
    {"time_zone", FIELD_OPT_STR, EV(u.rep.time_zone), 0, NULL},
    COMMON_TAIL};

static const struct record_field work_item_updates_fields[] = {
    {"event_id", FIELD_STR, EV(event_id), 0, NULL},
    {"work_item_id", FIELD_STR, EV(u.work_item_update.work_item_id), 0, NULL},
    {"customer_id", FIELD_STR, EV(customer_id), 0, NULL},
    {"status", FIELD_ENUM, EV(u.work_item_update.status), 0, p_wi_update_status},
    {"by", FIELD_STR, EV(u.work_item_update.by), 0, NULL},
    {"note", FIELD_OPT_STR, EV(u.work_item_update.note), 0, NULL},
    COMMON_TAIL};

static const struct record_field parts_orders_fields[] = {
    COMMON_HEAD,
    {"supplier_id", FIELD_OPT_STR, EV(u.parts.supplier_id), 0, NULL},
    {"part_id", FIELD_STR, EV(u.parts.part_id), 0, NULL},
    {"part_category", FIELD_OPT_STR, EV(u.parts.part_category), 0, NULL},
    {"quantity", FIELD_INT, EV(u.parts.quantity), 0, NULL},
    {"amount", FIELD_OPT_DOUBLE, EV(u.parts.amount), EV(u.parts.has_amount),
     NULL},
    {"device_id", FIELD_OPT_STR, EV(u.parts.device_id), 0, NULL},
    COMMON_TAIL};

/* Keyed by the entity, not the customer: no customer_id. */
static const struct record_field entity_events_fields[] = {
    {"event_id", FIELD_STR, EV(event_id), 0, NULL},
    {"entity_id", FIELD_STR, EV(u.entity.entity_id), 0, NULL},
    {"entity_type", FIELD_ENUM, EV(u.entity.entity_type), 0, p_entity_type},
    {"change", FIELD_STR, EV(u.entity.change), 0, NULL},
    {"magnitude", FIELD_OPT_DOUBLE, EV(u.entity.magnitude),
     EV(u.entity.has_magnitude), NULL},
    {"title", FIELD_STR, EV(u.entity.title), 0, NULL},
    {"attributes", FIELD_STRMAP, EV(u.entity.attributes),
     EV(u.entity.n_attributes), NULL},
    COMMON_TAIL};

/* Keyed by the unit credited (rep, team, territory), not the customer. */
static const struct record_field sales_outcomes_fields[] = {
    {"event_id", FIELD_STR, EV(event_id), 0, NULL},
    {"unit_id", FIELD_STR, EV(u.outcome.unit_id), 0, NULL},
    {"region", FIELD_STR, EV(u.outcome.region), 0, NULL},
    {"industry", FIELD_OPT_STR, EV(u.outcome.industry), 0, NULL},
    {"metric", FIELD_STR, EV(u.outcome.metric), 0, NULL},
    {"value", FIELD_DOUBLE, EV(u.outcome.value), 0, NULL},
    COMMON_TAIL};

/* Keyed by signal_id; read whole by every instance that needs it. */
static const struct record_field env_signals_fields[] = {
    {"event_id", FIELD_STR, EV(event_id), 0, NULL},
    {"signal_id", FIELD_STR, EV(u.signal.signal_id), 0, NULL},
    {"kind", FIELD_ENUM, EV(u.signal.kind), 0, p_signal_kind},
    {"title", FIELD_STR, EV(u.signal.title), 0, NULL},
    {"description", FIELD_OPT_STR, EV(u.signal.description), 0, NULL},
    {"regions", FIELD_STRLIST, EV(u.signal.regions), EV(u.signal.n_regions),
     NULL},
    {"industries", FIELD_STRLIST, EV(u.signal.industries),
     EV(u.signal.n_industries), NULL},
    {"start_time", FIELD_LONG, EV(u.signal.start_time), 0, NULL},
    {"end_time", FIELD_OPT_LONG, EV(u.signal.end_time),
     EV(u.signal.has_end_time), NULL},
    {"magnitude", FIELD_OPT_DOUBLE, EV(u.signal.magnitude),
     EV(u.signal.has_magnitude), NULL},
    COMMON_TAIL};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

const struct record_def records_table[TOPIC_COUNT] = {
#define DS_X_INPUT(KIND, KEY, TOPIC, REC, FILE, KEYF, DEMO, DESC)             \
    [TOPIC_##KEY] = {TOPIC_##KEY, RECORD_INPUT, KIND, #KEY, TOPIC, REC, FILE,   \
                     KEYF, DEMO, DESC, KEY##_fields, N_OF(KEY##_fields)},
#define DS_X_OTHER(DIR, KIND, KEY, TOPIC, REC, FILE, KEYF, DEMO, DESC)        \
    [TOPIC_##KEY] = {TOPIC_##KEY, DIR, KIND, #KEY, TOPIC, REC, FILE, KEYF,      \
                     DEMO, DESC, NULL, 0},
#define DS_X_OUTPUT(...) DS_X_OTHER(RECORD_OUTPUT, __VA_ARGS__)
#define DS_X_PLAIN(...) DS_X_OTHER(RECORD_PLAIN, __VA_ARGS__)
    DS_INPUT_RECORDS(DS_X_INPUT)
    DS_OUTPUT_RECORDS(DS_X_OUTPUT)
    DS_PLAIN_TOPICS(DS_X_PLAIN)
#undef DS_X_INPUT
#undef DS_X_OTHER
#undef DS_X_OUTPUT
#undef DS_X_PLAIN
};

/* Inputs first, then outputs, in kind order: records.h promises it. */
#define DS_X_CHECK_IN(KIND, KEY, ...)                                         \
    _Static_assert((int)TOPIC_##KEY == (int)(KIND), "input order");
#define DS_X_CHECK_OUT(KIND, KEY, ...)                                        \
    _Static_assert((int)TOPIC_##KEY == EVENT_KIND_COUNT + (int)(KIND),         \
                   "output order");
DS_INPUT_RECORDS(DS_X_CHECK_IN)
DS_OUTPUT_RECORDS(DS_X_CHECK_OUT)
#undef DS_X_CHECK_IN
#undef DS_X_CHECK_OUT

const struct record_def *records_of_event(int event_kind)
{
    if (event_kind < 0 || event_kind >= EVENT_KIND_COUNT)
        return NULL;
    return &records_table[event_kind];
}

const struct record_def *records_of_alert(int alert_kind)
{
    if (alert_kind < 0 || alert_kind >= ALERT_KIND_COUNT)
        return NULL;
    return &records_table[EVENT_KIND_COUNT + alert_kind];
}

#define RECORDS_NAMESPACE "dealstream."

const struct record_def *records_find(const char *record)
{
    if (!record)
        return NULL;
    if (strncmp(record, RECORDS_NAMESPACE, strlen(RECORDS_NAMESPACE)) == 0)
        record += strlen(RECORDS_NAMESPACE);
    for (size_t i = 0; i < TOPIC_COUNT; i++)
        if (records_table[i].record && strcmp(records_table[i].record, record) == 0)
            return &records_table[i];
    return NULL;
}
