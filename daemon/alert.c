/*
 * alert.c - alert names and the deterministic alert id.
 *
 * The id is a 128-bit FNV-1a-style digest (two independent 64-bit lanes) of
 * the fields that identify an alert. It need not be cryptographic: it only
 * has to be stable across runs and machines so consumers can de-duplicate an
 * alert re-emitted after a crash.
 */
#include "alert.h"
#include "hash.h"

#include <stdio.h>
#include <string.h>

static const char *const category_names[] = {
    "DISCOVERY_TIME",       "SELF_FOCUS", "UNANSWERED_OBJECTION",
    "MISSED_CONTEXT",       "TALK_RATIO", "MONOLOGUE",
    "QUESTIONS",            "COMPETITOR_MENTION", "MISSING_KEYWORDS",
    "ACTION_UNITS_INCOMPLETE", "STAGE_CLAIM_UNSUPPORTED", "WORK_ITEM_OVERDUE"};
static const char *const severity_names[] = {"INFO", "WARNING", "RED"};
static const char *const work_item_names[] = {"CREATED", "OVERDUE", "DONE",
                                              "REJECTED"};

#define NAME_OF(table, v)                                                     \
    ((size_t)(v) < sizeof(table) / sizeof((table)[0]) ? (table)[(v)] : "?")

const char *alert_kind_name(enum alert_kind k)
{
    const struct record_def *r = records_of_alert((int)k);
    return r ? r->record : "?";
}
const char *coaching_category_name(enum coaching_category c)
{
    return NAME_OF(category_names, c);
}
const char *alert_severity_name(enum alert_severity s)
{
    return NAME_OF(severity_names, s);
}
const char *work_item_status_name(enum work_item_status s)
{
    return NAME_OF(work_item_names, s);
}

struct digest {
    uint64_t a, b;
};

static void digest_feed(struct digest *d, const char *s)
{
    /* A field separator that cannot occur in UTF-8 text keeps ("ab","c")
     * and ("a","bc") apart; NULL hashes differently from "". */
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    for (; *p; p++) {
        d->a = (d->a ^ *p) * 0x100000001b3ULL;
        d->b = (d->b ^ *p) * 0x00000100000001b3ULL + 0x9e3779b97f4a7c15ULL;
    }
    unsigned char sep = s ? 0xff : 0xfe;
    d->a = (d->a ^ sep) * 0x100000001b3ULL;
    d->b = (d->b ^ sep) * 0x00000100000001b3ULL + 0x9e3779b97f4a7c15ULL;
}

void alert_compute_id(struct alert *a)
{
    struct digest d = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
    digest_feed(&d, alert_kind_name(a->kind));
    digest_feed(&d, a->customer_id);
    digest_feed(&d, a->id_from_state ? NULL : a->trigger_event_id);
    digest_feed(&d, a->dedup_key);
    snprintf(a->alert_id, sizeof(a->alert_id), "%016llx%016llx",
             (unsigned long long)hash_mix64(d.a),
             (unsigned long long)hash_mix64(d.b ^ d.a));
}
