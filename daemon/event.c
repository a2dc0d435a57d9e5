/*
 * event.c - names of the input enums, shared by the codec, the config
 * tables and the processors so one spelling is used everywhere. The kinds'
 * names come from the table in records.c.
 */
#include "event.h"

#include <string.h>

static const char *const role_names[] = {"REP", "CUSTOMER", "OTHER", NULL};
static const char *const doc_type_names[] = {
    "VISIT_REPORT", "INTERVIEW_NOTE", "QUOTE", "PROPOSAL",
    "CONTRACT",     "EMAIL",          "OTHER", NULL};
static const char *const source_names[] = {
    "OCR_HANDWRITING", "PDF_HIGHLIGHT", "PDF_COMMENT", "TEXT", NULL};
static const char *const severity_names[] = {"INFO", "WARNING", "CRITICAL",
                                             NULL};
static const char *const change_names[] = {
    "EQUITY_CHANGE",     "TENDER_PUBLISHED",  "TENDER_AWARDED",
    "CAPACITY_EXPANSION", "CONTACT_JOINED",   "CONTACT_MOVED",
    "CONTACT_LEFT",      "SUPPLIER_LINKED",   "COMPETITOR_LINKED",
    "POLICY_LINKED",     "RELATION_REMOVED",  NULL};
static const char *const entity_names[] = {
    "COMPANY", "SUPPLIER", "COMPETITOR", "POLICY",
    "CONTACT", "DEVICE",   "TENDER",     NULL};
static const char *const wi_update_names[] = {"ACKNOWLEDGED", "DONE",
                                              "REJECTED", NULL};

static const char *const signal_kind_names[] = {
    "POLICY",   "COMPETITOR_PRICE", "WEATHER", "PUBLIC_EVENT",
    "LOCKDOWN", "MACRO",            "OTHER",   NULL};

#define NAME_OF(table, v)                                                     \
    ((size_t)(v) < sizeof(table) / sizeof((table)[0]) && (table)[(v)]        \
         ? (table)[(v)]                                                       \
         : "?")

const char *event_kind_name(enum event_kind k)
{
    const struct record_def *r = records_of_event((int)k);
    return r ? r->topic_key : "?";
}

const char *event_record_name(enum event_kind k)
{
    const struct record_def *r = records_of_event((int)k);
    return r ? r->record : "?";
}

const char *role_name(enum role r) { return NAME_OF(role_names, r); }
const char *doc_type_name(enum doc_type t) { return NAME_OF(doc_type_names, t); }
const char *doc_source_name(enum doc_source s) { return NAME_OF(source_names, s); }
const char *iot_severity_name(enum iot_severity s) { return NAME_OF(severity_names, s); }
const char *change_type_name(enum change_type t) { return NAME_OF(change_names, t); }
const char *entity_type_name(enum entity_type t) { return NAME_OF(entity_names, t); }
const char *wi_update_status_name(enum wi_update_status s)
{
    return NAME_OF(wi_update_names, s);
}
const char *signal_kind_name(enum signal_kind k) { return NAME_OF(signal_kind_names, k); }

static int lookup(const char *const *table, const char *s)
{
    for (int i = 0; s && table[i]; i++)
        if (strcmp(table[i], s) == 0)
            return i;
    return -1;
}

#define PARSER(fn, type, table)                                               \
    int fn(const char *s, type *out)                                          \
    {                                                                         \
        int i = lookup(table, s);                                             \
        if (i < 0)                                                            \
            return -1;                                                        \
        *out = (type)i;                                                       \
        return 0;                                                             \
    }

PARSER(role_parse, enum role, role_names)
PARSER(doc_type_parse, enum doc_type, doc_type_names)
PARSER(doc_source_parse, enum doc_source, source_names)
PARSER(iot_severity_parse, enum iot_severity, severity_names)
PARSER(change_type_parse, enum change_type, change_names)
PARSER(entity_type_parse, enum entity_type, entity_names)
PARSER(wi_update_status_parse, enum wi_update_status, wi_update_names)
PARSER(signal_kind_parse, enum signal_kind, signal_kind_names)
