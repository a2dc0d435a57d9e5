/*
 * codec_encode.c - alerts into framed Avro.
 *
 * A writer schema laid out as the shipped one is written straight into
 * bytes (alert_write); any other through Avro C's generic value, where the
 * fields no alert fills take their schema defaults. The tests hold the two
 * paths to the same bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec_impl.h"

/* ------------------------------------------------------------------------
 * Encoding alerts
 */

struct enc {
    struct codec_error *err;
};

static int enc_fail(struct enc *e, const char *field, const char *what)
{
    codec_cerr(e->err, "encode_failed", "field '%s': %s", field, what);
    return -1;
}

static int enc_field(struct enc *e, avro_value_t *rec, const char *name,
                     avro_value_t *f)
{
    if (avro_value_get_by_name(rec, name, f, NULL) != 0)
        return enc_fail(e, name, "not in the writer schema");
    return 0;
}

static int enc_check_strn(struct enc *e, const char *name, const char *s,
                          size_t n)
{
    size_t bad;
    if (!codec_utf8_valid((const uint8_t *)s, n, &bad)) {
        char what[64];
        snprintf(what, sizeof(what), "invalid UTF-8 at byte %zu", bad);
        return enc_fail(e, name, what);
    }
    return 0;
}

static int enc_check_str(struct enc *e, const char *name, const char *s)
{
    return enc_check_strn(e, name, s, strlen(s));
}

static int enc_str(struct enc *e, avro_value_t *rec, const char *name,
                   const char *s)
{
    avro_value_t f;
    if (!s)
        return enc_fail(e, name, "required but NULL");
    if (enc_field(e, rec, name, &f) < 0 || enc_check_str(e, name, s) < 0)
        return -1;
    if (avro_value_set_string(&f, s) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

/* Field f of a null|T union: selects the branch of type `type` (present)
 * or null, found by type, not assumed, into *b. 1 when f is no union
 * (the caller writes it plainly), 0, or -1. */
static int enc_opt_branch(struct enc *e, avro_value_t *f, const char *name,
                          avro_type_t type, bool present, avro_value_t *b)
{
    avro_schema_t us = avro_value_get_schema(f);
    if (avro_typeof(us) != AVRO_UNION)
        return 1;
    int want = -1;
    for (size_t i = 0; i < avro_schema_union_size(us); i++) {
        avro_type_t t = avro_typeof(codec_skip_links(avro_schema_union_branch(us, (int)i)));
        if ((present && t == type) || (!present && t == AVRO_NULL)) {
            want = (int)i;
            break;
        }
    }
    if (want < 0)
        return enc_fail(e, name, "union has no branch for this value");
    if (avro_value_set_branch(f, want, b) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

/* null|string. */
static int enc_opt_str(struct enc *e, avro_value_t *rec, const char *name,
                       const char *s)
{
    avro_value_t f, b;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    int rc = enc_opt_branch(e, &f, name, AVRO_STRING, s != NULL, &b);
    if (rc == 1)
        return s ? enc_str(e, rec, name, s) : enc_fail(e, name, "required but NULL");
    if (rc < 0 || (s && enc_check_str(e, name, s) < 0))
        return -1;
    if ((s ? avro_value_set_string(&b, s) : avro_value_set_null(&b)) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

static int enc_double(struct enc *e, avro_value_t *rec, const char *name,
                      double d)
{
    avro_value_t f;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    if (avro_value_set_double(&f, d) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

static int enc_enum(struct enc *e, avro_value_t *rec, const char *name,
                    const char *sym)
{
    avro_value_t f;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    int idx = avro_schema_enum_get_by_name(avro_value_get_schema(&f), sym);
    if (idx < 0)
        return enc_fail(e, name, "value is not a symbol of the enum");
    if (avro_value_set_enum(&f, idx) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

static int enc_metrics(struct enc *e, avro_value_t *rec, const char *name,
                       const struct metric *m, size_t n)
{
    avro_value_t f, child;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    if (n && !m)
        return enc_fail(e, name, "NULL metrics with a nonzero count");
    for (size_t i = 0; i < n; i++) {
        if (!m[i].name)
            return enc_fail(e, name, "metric without a name");
        if (enc_check_str(e, name, m[i].name) < 0)
            return -1;
        if (avro_value_add(&f, m[i].name, &child, NULL, NULL) != 0 ||
            avro_value_set_double(&child, m[i].value) != 0)
            return enc_fail(e, name, avro_strerror());
    }
    return 0;
}

static int enc_provenance(struct enc *e, avro_value_t *v, const struct alert *al)
{
    avro_value_t f;
    if (enc_str(e, v, "alert_id", al->alert_id) < 0 ||
        enc_str(e, v, "customer_id", al->customer_id) < 0 ||
        enc_str(e, v, "trigger_event_id", al->trigger_event_id) < 0 ||
        enc_str(e, v, "source_topic", al->src.topic) < 0)
        return -1;
    if (enc_field(e, v, "source_partition", &f) < 0 ||
        avro_value_set_int(&f, al->src.partition) != 0)
        return enc_fail(e, "source_partition", "cannot set");
    if (enc_field(e, v, "source_offset", &f) < 0 ||
        avro_value_set_long(&f, al->src.offset) != 0)
        return enc_fail(e, "source_offset", "cannot set");
    if (enc_field(e, v, "event_time", &f) < 0 ||
        avro_value_set_long(&f, al->event_time) != 0)
        return enc_fail(e, "event_time", "cannot set");
    return 0;
}

static int enc_rerating(struct enc *e, avro_value_t *v, const struct lead_rerating *r)
{
    avro_value_t arr, item;
    if (enc_opt_str(e, v, "previous_tier", r->previous_tier) < 0 ||
        enc_str(e, v, "tier", r->tier) < 0 ||
        enc_double(e, v, "previous_score", r->previous_score) < 0 ||
        enc_double(e, v, "score", r->score) < 0 ||
        enc_opt_str(e, v, "trend", r->trend) < 0 ||
        enc_double(e, v, "fit_score", r->fit_score) < 0 ||
        enc_double(e, v, "intent_score", r->intent_score) < 0 ||
        enc_field(e, v, "reasons", &arr) < 0)
        return -1;
    if (r->n_reasons > ALERT_MAX_REASONS)
        return enc_fail(e, "reasons", "more than ALERT_MAX_REASONS");
    for (size_t i = 0; i < r->n_reasons; i++) {
        const struct rerating_reason *rr = &r->reasons[i];
        if (avro_value_append(&arr, &item, NULL) != 0)
            return enc_fail(e, "reasons", avro_strerror());
        if (enc_str(e, &item, "factor", rr->factor) < 0 ||
            enc_str(e, &item, "node_type", rr->node_type) < 0 ||
            enc_str(e, &item, "node_id", rr->node_id) < 0 ||
            enc_double(e, &item, "contribution", rr->contribution) < 0)
            return -1;
        /* A writer schema from before `detail` has no such field. */
        avro_value_t df;
        if (avro_value_get_by_name(&item, "detail", &df, NULL) == 0 &&
            enc_opt_str(e, &item, "detail", rr->detail) < 0)
            return -1;
    }
    return 0;
}

static int enc_coaching(struct enc *e, avro_value_t *v, const struct coaching_alert *ca)
{
    avro_value_t arr, item;
    if (enc_opt_str(e, v, "rep_id", ca->rep_id) < 0 ||
        enc_opt_str(e, v, "meeting_id", ca->meeting_id) < 0 ||
        enc_opt_str(e, v, "opportunity_id", ca->opportunity_id) < 0 ||
        enc_opt_str(e, v, "document_id", ca->document_id) < 0 ||
        enc_str(e, v, "rule", ca->rule) < 0 ||
        enc_enum(e, v, "category", coaching_category_name(ca->category)) < 0 ||
        enc_enum(e, v, "severity", alert_severity_name(ca->severity)) < 0 ||
        enc_str(e, v, "message", ca->message) < 0 ||
        enc_metrics(e, v, "metrics", ca->metrics, ca->n_metrics) < 0 ||
        enc_field(e, v, "evidence", &arr) < 0)
        return -1;
    /* Optional field: a writer schema from before it still encodes every
     * alert, a resolution without its link (the message says it). */
    avro_value_t rf;
    if (avro_value_get_by_name(v, "resolves_alert_id", &rf, NULL) == 0 &&
        enc_opt_str(e, v, "resolves_alert_id", ca->resolves_alert_id) < 0)
        return -1;
    if (ca->n_evidence && !ca->evidence)
        return enc_fail(e, "evidence", "NULL evidence with a nonzero count");
    for (size_t i = 0; i < ca->n_evidence; i++) {
        const char *s = ca->evidence[i];
        if (!s)
            return enc_fail(e, "evidence", "NULL item");
        if (enc_check_str(e, "evidence", s) < 0)
            return -1;
        if (avro_value_append(&arr, &item, NULL) != 0 ||
            avro_value_set_string(&item, s) != 0)
            return enc_fail(e, "evidence", avro_strerror());
    }
    return 0;
}

static int enc_long(struct enc *e, avro_value_t *rec, const char *name,
                    int64_t l)
{
    avro_value_t f;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    if (avro_value_set_long(&f, l) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

/* WorkItem has no direct layout: a few per work item, the generic value
 * is fast enough. */
static int enc_work_item(struct enc *e, avro_value_t *v, const struct work_item *wi)
{
    if (enc_str(e, v, "work_item_id", wi->work_item_id) < 0 ||
        enc_str(e, v, "trigger", wi->trigger) < 0 ||
        enc_opt_str(e, v, "opportunity_id", wi->opportunity_id) < 0 ||
        enc_opt_str(e, v, "meeting_id", wi->meeting_id) < 0 ||
        enc_opt_str(e, v, "document_id", wi->document_id) < 0 ||
        enc_str(e, v, "rep_id", wi->rep_id) < 0 ||
        enc_str(e, v, "department", wi->department) < 0 ||
        enc_str(e, v, "task", wi->task) < 0 ||
        enc_str(e, v, "requirement", wi->requirement) < 0 ||
        enc_long(e, v, "created_time", wi->created_time) < 0 ||
        enc_long(e, v, "due_time", wi->due_time) < 0 ||
        enc_enum(e, v, "status", work_item_status_name(wi->status)) < 0)
        return -1;
    return 0;
}

static int enc_summary(struct enc *e, avro_value_t *v, const struct meeting_summary *ms)
{
    if (enc_str(e, v, "meeting_id", ms->meeting_id) < 0 ||
        enc_opt_str(e, v, "rep_id", ms->rep_id) < 0 ||
        enc_str(e, v, "closed_by", ms->closed_by) < 0 ||
        enc_metrics(e, v, "metrics", ms->metrics, ms->n_metrics) < 0)
        return -1;
    return 0;
}

static int enc_opt_double(struct enc *e, avro_value_t *rec, const char *name,
                          bool has, double d)
{
    avro_value_t f, b;
    if (enc_field(e, rec, name, &f) < 0)
        return -1;
    int rc = enc_opt_branch(e, &f, name, AVRO_DOUBLE, has, &b);
    if (rc == 1)
        return has ? enc_double(e, rec, name, d) : enc_fail(e, name, "required but absent");
    if (rc < 0)
        return -1;
    if ((has ? avro_value_set_double(&b, d) : avro_value_set_null(&b)) != 0)
        return enc_fail(e, name, avro_strerror());
    return 0;
}

static int enc_int(struct enc *e, avro_value_t *rec, const char *name,
                   int32_t i)
{
    avro_value_t f;
    if (enc_field(e, rec, name, &f) < 0 || avro_value_set_int(&f, i) != 0)
        return enc_fail(e, name, "cannot set");
    return 0;
}

/* An AttributionReport carries no alert provenance: its id is report_id
 * and its time the period's end (the report is a judgement of state). */
static int enc_attribution(struct enc *e, avro_value_t *v, const struct alert *al)
{
    const struct attribution_report *r = &al->u.attribution;
    bool h = r->has_estimate;
    avro_value_t arr, item;
    if (enc_str(e, v, "report_id", r->report_id) < 0 ||
        enc_str(e, v, "unit_id", r->unit_id) < 0 ||
        enc_str(e, v, "region", r->region) < 0 ||
        enc_opt_str(e, v, "industry", r->industry) < 0 ||
        enc_str(e, v, "metric", r->metric) < 0 ||
        enc_str(e, v, "period", r->period) < 0 ||
        enc_long(e, v, "period_start", r->period_start) < 0 ||
        enc_long(e, v, "period_end", r->period_end) < 0 ||
        enc_double(e, v, "actual", r->actual) < 0 ||
        enc_opt_double(e, v, "baseline", h, r->baseline) < 0 ||
        enc_opt_double(e, v, "environment_effect", h, r->environment_effect) < 0 ||
        enc_opt_double(e, v, "effect_low", h, r->effect_low) < 0 ||
        enc_opt_double(e, v, "effect_high", h, r->effect_high) < 0 ||
        enc_opt_double(e, v, "adjusted_target", h, r->adjusted_target) < 0 ||
        enc_opt_double(e, v, "excess_value", h, r->excess_value) < 0 ||
        enc_field(e, v, "signals", &arr) < 0)
        return -1;
    if (r->n_signals && !r->signals)
        return enc_fail(e, "signals", "NULL signals with a nonzero count");
    for (size_t i = 0; i < r->n_signals; i++) {
        if (!r->signals[i])
            return enc_fail(e, "signals", "NULL item");
        if (enc_check_str(e, "signals", r->signals[i]) < 0)
            return -1;
        if (avro_value_append(&arr, &item, NULL) != 0 ||
            avro_value_set_string(&item, r->signals[i]) != 0)
            return enc_fail(e, "signals", avro_strerror());
    }
    if (enc_int(e, v, "controls", r->controls) < 0 ||
        enc_str(e, v, "method", r->method) < 0 ||
        enc_str(e, v, "explanation", r->explanation) < 0 ||
        enc_long(e, v, "event_time", al->event_time) < 0 ||
        enc_int(e, v, "revision", r->revision) < 0)
        return -1;
    return 0;
}

/* A DailyDigest: no alert provenance either; digest_id is the alert id
 * (a hash of team and day), event_time the day's end. */
static int enc_digest(struct enc *e, avro_value_t *v, const struct alert *al)
{
    const struct daily_digest *d = &al->u.digest;
    avro_value_t arr, item, f, b;
    if (enc_str(e, v, "digest_id", al->alert_id) < 0 ||
        enc_str(e, v, "team_id", d->team_id) < 0 ||
        enc_str(e, v, "manager_id", d->manager_id) < 0 ||
        enc_str(e, v, "day", d->day) < 0 ||
        enc_str(e, v, "time_zone", d->time_zone) < 0 ||
        enc_field(e, v, "top", &arr) < 0)
        return -1;
    if (d->n_top && !d->top)
        return enc_fail(e, "top", "NULL items with a nonzero count");
    for (size_t i = 0; i < d->n_top; i++) {
        const struct digest_item *t = &d->top[i];
        if (avro_value_append(&arr, &item, NULL) != 0)
            return enc_fail(e, "top", avro_strerror());
        if (enc_str(e, &item, "alert_id", t->alert_id) < 0 ||
            enc_str(e, &item, "kind", t->kind) < 0 ||
            enc_str(e, &item, "category", t->category) < 0 ||
            enc_str(e, &item, "severity", t->severity) < 0 ||
            enc_str(e, &item, "customer_id", t->customer_id) < 0 ||
            enc_str(e, &item, "rep_id", t->rep_id) < 0 ||
            enc_str(e, &item, "message", t->message) < 0 ||
            enc_opt_str(e, &item, "tier", t->tier) < 0 ||
            enc_opt_double(e, &item, "amount", t->has_amount, t->amount) < 0 ||
            enc_long(e, &item, "alert_time", t->alert_time) < 0 ||
            enc_str(e, &item, "why_ranked", t->why_ranked) < 0)
            return -1;
        if (enc_field(e, &item, "late", &b) < 0 ||
            avro_value_set_boolean(&b, t->late) != 0)
            return enc_fail(e, "late", "cannot set");
    }
    if (enc_field(e, v, "counts", &f) < 0)
        return -1;
    for (size_t i = 0; i < d->n_counts; i++) {
        if (enc_check_str(e, "counts", d->counts[i].name) < 0)
            return -1;
        if (avro_value_add(&f, d->counts[i].name, &b, NULL, NULL) != 0 ||
            avro_value_set_long(&b, (int64_t)d->counts[i].value) != 0)
            return enc_fail(e, "counts", avro_strerror());
    }
    if (enc_int(e, v, "overdue_work_items", d->overdue_work_items) < 0 ||
        enc_int(e, v, "late_alerts", d->late_alerts) < 0 ||
        enc_metrics(e, v, "median_response_hours", d->median_response_hours,
                    d->n_medians) < 0 ||
        enc_long(e, v, "event_time", al->event_time) < 0)
        return -1;
    return 0;
}

/*
 * The direct encoder. Building Avro C's generic value field by field (a
 * lookup by name each) and then walking it twice (sizeof, write) cost
 * ~2.5 us per alert. A writer schema whose fields are exactly those of
 * alert_layouts[] - names, types and order, as the shipped schemas have
 * them - is written straight into bytes instead; any other goes through
 * the generic value (the enc_* functions above). The tests hold the two
 * to the same bytes, and to the same error for one bad field (with
 * several, each path names the first it meets: the direct one goes in
 * schema order, the generic one provenance first).
 */

enum aslot { A_STR, A_OPT_STR, A_DOUBLE, A_INT, A_LONG, A_ENUM, A_METRICS,
             A_EVIDENCE, A_REASONS };

/* Where a field's value comes from. */
enum asrc {
    S_ALERT_ID, S_CUSTOMER_ID, S_TRIGGER, S_TOPIC, S_PARTITION, S_OFFSET,
    S_EVENT_TIME,
    S_R_PREV_TIER, S_R_TIER, S_R_PREV_SCORE, S_R_SCORE, S_R_TREND, S_R_FIT,
    S_R_INTENT, S_R_REASONS,
    S_C_REP, S_C_MEETING, S_C_OPP, S_C_DOC, S_C_RULE, S_C_CATEGORY,
    S_C_SEVERITY, S_C_MESSAGE, S_C_METRICS, S_C_EVIDENCE, S_C_RESOLVES,
    S_M_MEETING, S_M_REP, S_M_CLOSED_BY, S_M_METRICS,
    S_F_FACTOR, S_F_NODE_TYPE, S_F_NODE_ID, S_F_CONTRIBUTION, S_F_DETAIL,
};

struct afield {
    const char *name;
    enum aslot slot;
    enum asrc src;
};

#define PROVENANCE_HEAD {"alert_id", A_STR, S_ALERT_ID}, \
    {"customer_id", A_STR, S_CUSTOMER_ID}
#define PROVENANCE_TAIL {"trigger_event_id", A_STR, S_TRIGGER}, \
    {"source_topic", A_STR, S_TOPIC}, {"source_partition", A_INT, S_PARTITION}, \
    {"source_offset", A_LONG, S_OFFSET}, {"event_time", A_LONG, S_EVENT_TIME}

static const struct afield rerating_layout[] = {
    PROVENANCE_HEAD,
    {"previous_tier", A_OPT_STR, S_R_PREV_TIER}, {"tier", A_STR, S_R_TIER},
    {"previous_score", A_DOUBLE, S_R_PREV_SCORE}, {"score", A_DOUBLE, S_R_SCORE},
    {"reasons", A_REASONS, S_R_REASONS},
    PROVENANCE_TAIL,
    {"trend", A_OPT_STR, S_R_TREND}, {"fit_score", A_DOUBLE, S_R_FIT},
    {"intent_score", A_DOUBLE, S_R_INTENT}};

static const struct afield coaching_layout[] = {
    PROVENANCE_HEAD,
    {"rep_id", A_OPT_STR, S_C_REP}, {"meeting_id", A_OPT_STR, S_C_MEETING},
    {"opportunity_id", A_OPT_STR, S_C_OPP}, {"document_id", A_OPT_STR, S_C_DOC},
    {"rule", A_STR, S_C_RULE}, {"category", A_ENUM, S_C_CATEGORY},
    {"severity", A_ENUM, S_C_SEVERITY}, {"message", A_STR, S_C_MESSAGE},
    {"metrics", A_METRICS, S_C_METRICS}, {"evidence", A_EVIDENCE, S_C_EVIDENCE},
    PROVENANCE_TAIL, {"resolves_alert_id", A_OPT_STR, S_C_RESOLVES}};

static const struct afield summary_layout[] = {
    PROVENANCE_HEAD,
    {"meeting_id", A_STR, S_M_MEETING}, {"rep_id", A_OPT_STR, S_M_REP},
    {"closed_by", A_STR, S_M_CLOSED_BY}, {"metrics", A_METRICS, S_M_METRICS},
    PROVENANCE_TAIL};

/* Names only: WorkItem goes through the generic value (generic_only), so
 * the slots are not used to write it. */
static const struct afield work_item_layout[] = {
    PROVENANCE_HEAD,
    {"work_item_id", A_STR, S_ALERT_ID}, {"trigger", A_STR, S_ALERT_ID},
    {"opportunity_id", A_OPT_STR, S_ALERT_ID}, {"meeting_id", A_OPT_STR, S_ALERT_ID},
    {"document_id", A_OPT_STR, S_ALERT_ID}, {"rep_id", A_STR, S_ALERT_ID},
    {"department", A_STR, S_ALERT_ID}, {"task", A_STR, S_ALERT_ID},
    {"requirement", A_STR, S_ALERT_ID}, {"created_time", A_LONG, S_ALERT_ID},
    {"due_time", A_LONG, S_ALERT_ID}, {"status", A_ENUM, S_ALERT_ID},
    PROVENANCE_TAIL};

/* Names only: an AttributionReport always takes the generic path (a few
 * reports per unit and period do not pay for a direct writer), so this
 * list serves codec_prepare_alert_writer's check of the fields it fills. */
static const struct afield attribution_layout[] = {
    {"report_id", A_STR, 0}, {"unit_id", A_STR, 0}, {"region", A_STR, 0},
    {"industry", A_OPT_STR, 0}, {"metric", A_STR, 0}, {"period", A_STR, 0},
    {"period_start", A_LONG, 0}, {"period_end", A_LONG, 0},
    {"actual", A_DOUBLE, 0}, {"baseline", A_DOUBLE, 0},
    {"environment_effect", A_DOUBLE, 0}, {"effect_low", A_DOUBLE, 0},
    {"effect_high", A_DOUBLE, 0}, {"adjusted_target", A_DOUBLE, 0},
    {"excess_value", A_DOUBLE, 0}, {"signals", A_EVIDENCE, 0},
    {"controls", A_INT, 0}, {"method", A_STR, 0}, {"explanation", A_STR, 0},
    {"event_time", A_LONG, 0}, {"revision", A_INT, 0}};

/* Names only: a DailyDigest takes the generic path (one per team and
 * day). */
static const struct afield digest_layout[] = {
    {"digest_id", A_STR, 0}, {"team_id", A_STR, 0}, {"manager_id", A_STR, 0},
    {"day", A_STR, 0}, {"time_zone", A_STR, 0}, {"top", A_EVIDENCE, 0},
    {"counts", A_METRICS, 0}, {"overdue_work_items", A_INT, 0},
    {"late_alerts", A_INT, 0}, {"median_response_hours", A_METRICS, 0},
    {"event_time", A_LONG, 0}};

/* The items of a rerating's reasons. */
static const struct afield reason_layout[] = {
    {"factor", A_STR, S_F_FACTOR}, {"node_type", A_STR, S_F_NODE_TYPE},
    {"node_id", A_STR, S_F_NODE_ID}, {"contribution", A_DOUBLE, S_F_CONTRIBUTION},
    {"detail", A_OPT_STR, S_F_DETAIL}};

#define LAYOUT(a) a, sizeof(a) / sizeof((a)[0])
static const struct {
    const struct afield *fields;
    size_t n;
    bool generic_only; /* never written directly (no plan) */
} alert_layouts[ALERT_KIND_COUNT] = {
    [ALERT_LEAD_RERATING] = {LAYOUT(rerating_layout), false},
    [ALERT_COACHING] = {LAYOUT(coaching_layout), false},
    [ALERT_MEETING_SUMMARY] = {LAYOUT(summary_layout), false},
    [ALERT_WORK_ITEM] = {LAYOUT(work_item_layout), true},
    [ALERT_ATTRIBUTION] = {LAYOUT(attribution_layout), true},
    [ALERT_DAILY_DIGEST] = {LAYOUT(digest_layout), true}};

#define CAT_COUNT (CAT_WORK_ITEM_OVERDUE + 1)
#define SEV_COUNT (SEV_RED + 1)

/* What a writer schema adds to its layout: union branches and enum
 * indexes (-1: the schema lacks the symbol). */
struct alert_plan {
    enum alert_kind kind;
    int8_t null_branch[32], str_branch[32]; /* A_OPT_STR fields, by index */
    int category[CAT_COUNT], severity[SEV_COUNT];
};

/* Whether schema field sc fits slot (and, for A_OPT_STR, its branches). */
static bool aslot_fits(avro_schema_t sc, enum aslot slot, int8_t *null_b,
                       int8_t *str_b)
{
    sc = codec_skip_links(sc);
    switch (slot) {
    case A_STR: return avro_typeof(sc) == AVRO_STRING;
    case A_OPT_STR:
        if (!codec_is_opt_of(sc, AVRO_STRING))
            return false;
        *null_b = avro_typeof(codec_skip_links(avro_schema_union_branch(sc, 0))) ==
                          AVRO_NULL
                      ? 0
                      : 1;
        *str_b = (int8_t)(1 - *null_b);
        return true;
    case A_DOUBLE: return avro_typeof(sc) == AVRO_DOUBLE;
    case A_INT: return avro_typeof(sc) == AVRO_INT32;
    case A_LONG: return avro_typeof(sc) == AVRO_INT64;
    case A_ENUM: return avro_typeof(sc) == AVRO_ENUM;
    case A_METRICS:
        return avro_typeof(sc) == AVRO_MAP &&
               avro_typeof(codec_skip_links(avro_schema_map_values(sc))) == AVRO_DOUBLE;
    case A_EVIDENCE:
        return avro_typeof(sc) == AVRO_ARRAY &&
               avro_typeof(codec_skip_links(avro_schema_array_items(sc))) == AVRO_STRING;
    case A_REASONS: {
        if (avro_typeof(sc) != AVRO_ARRAY)
            return false;
        avro_schema_t item = codec_skip_links(avro_schema_array_items(sc));
        size_t n = sizeof(reason_layout) / sizeof(reason_layout[0]);
        if (avro_typeof(item) != AVRO_RECORD || avro_schema_record_size(item) != n)
            return false;
        for (size_t i = 0; i < n; i++)
            if (strcmp(avro_schema_record_field_name(item, (int)i),
                       reason_layout[i].name) != 0 ||
                !aslot_fits(avro_schema_record_field_get_by_index(item, (int)i),
                            reason_layout[i].slot, null_b, str_b))
                return false;
        return true;
    }
    }
    return false;
}

/* The plan for writer w of alert kind k, or NULL when its schema is not
 * laid out as alert_layouts[k] (then the generic path encodes it). */
static struct alert_plan *alert_plan_new(const struct wschema *w,
                                         enum alert_kind k)
{
    const struct afield *f = alert_layouts[k].fields;
    size_t n = alert_layouts[k].n;
    struct alert_plan p = {.kind = k};
    if (alert_layouts[k].generic_only || n > sizeof(p.null_branch) || avro_typeof(w->schema) != AVRO_RECORD ||
        avro_schema_record_size(w->schema) != n)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        avro_schema_t sc = avro_schema_record_field_get_by_index(w->schema, (int)i);
        if (strcmp(avro_schema_record_field_name(w->schema, (int)i), f[i].name) != 0 ||
            !aslot_fits(sc, f[i].slot, &p.null_branch[i], &p.str_branch[i]))
            return NULL;
        if (f[i].slot != A_ENUM)
            continue;
        sc = codec_skip_links(sc);
        bool cat = f[i].src == S_C_CATEGORY;
        for (int v = 0; v < (cat ? CAT_COUNT : SEV_COUNT); v++) {
            const char *sym = cat ? coaching_category_name((enum coaching_category)v)
                                  : alert_severity_name((enum alert_severity)v);
            (cat ? p.category : p.severity)[v] =
                avro_schema_enum_get_by_name(sc, sym);
        }
    }
    struct alert_plan *out = malloc(sizeof(*out));
    if (out)
        *out = p;
    return out;
}

static int aw_str(struct enc *e, struct buf *out, const char *name, const char *s)
{
    if (!s)
        return enc_fail(e, name, "required but NULL");
    size_t n = strlen(s);
    if (enc_check_strn(e, name, s, n) < 0)
        return -1;
    buf_put_i64(out, (int64_t)n);
    buf_append(out, s, n);
    return 0;
}

static int aw_opt_str(struct enc *e, struct buf *out, const struct alert_plan *p,
                      size_t i, const char *name, const char *s)
{
    if (!s) {
        buf_put_i64(out, p->null_branch[i]);
        return 0;
    }
    buf_put_i64(out, p->str_branch[i]);
    return aw_str(e, out, name, s);
}

/* Whether m[i]'s name came before it. */
static bool metric_seen(const struct metric *m, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(m[j].name, m[i].name) == 0)
            return true;
    return false;
}

static int aw_metrics(struct enc *e, struct buf *out, const char *name,
                      const struct metric *m, size_t n)
{
    if (n && !m)
        return enc_fail(e, name, "NULL metrics with a nonzero count");
    /* A map holds a name once: as the generic value does, a repeated name
     * keeps its first place and takes its last value. */
    size_t uniq = 0;
    for (size_t i = 0; i < n; i++) {
        if (!m[i].name)
            return enc_fail(e, name, "metric without a name");
        if (!metric_seen(m, i))
            uniq++;
    }
    if (uniq)
        buf_put_i64(out, (int64_t)uniq);
    for (size_t i = 0; i < n; i++) {
        if (metric_seen(m, i))
            continue;
        double v = m[i].value;
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(m[j].name, m[i].name) == 0)
                v = m[j].value;
        if (aw_str(e, out, name, m[i].name) < 0)
            return -1;
        buf_put_double(out, v);
    }
    buf_put_i64(out, 0);
    return 0;
}

static int aw_evidence(struct enc *e, struct buf *out, const char *const *ev,
                       size_t n)
{
    if (n && !ev)
        return enc_fail(e, "evidence", "NULL evidence with a nonzero count");
    if (n)
        buf_put_i64(out, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        if (!ev[i])
            return enc_fail(e, "evidence", "NULL item");
        if (aw_str(e, out, "evidence", ev[i]) < 0)
            return -1;
    }
    buf_put_i64(out, 0);
    return 0;
}

/* The reasons, field i of the layout: the plan's branches of field i are
 * those of the items' optional `detail`. */
static int aw_reasons(struct enc *e, struct buf *out, const struct alert_plan *p,
                      size_t i_field, const struct lead_rerating *r)
{
    if (r->n_reasons > ALERT_MAX_REASONS)
        return enc_fail(e, "reasons", "more than ALERT_MAX_REASONS");
    if (r->n_reasons)
        buf_put_i64(out, (int64_t)r->n_reasons);
    for (size_t i = 0; i < r->n_reasons; i++) {
        const struct rerating_reason *rr = &r->reasons[i];
        if (aw_str(e, out, "factor", rr->factor) < 0 ||
            aw_str(e, out, "node_type", rr->node_type) < 0 ||
            aw_str(e, out, "node_id", rr->node_id) < 0)
            return -1;
        buf_put_double(out, rr->contribution);
        if (aw_opt_str(e, out, p, i_field, "detail", rr->detail) < 0)
            return -1;
    }
    buf_put_i64(out, 0);
    return 0;
}

/* A string field's value, by source. */
static const char *astr(const struct alert *al, enum asrc src)
{
    const struct lead_rerating *r = &al->u.rerating;
    const struct coaching_alert *ca = &al->u.coaching;
    const struct meeting_summary *ms = &al->u.summary;
    switch (src) {
    case S_ALERT_ID: return al->alert_id;
    case S_CUSTOMER_ID: return al->customer_id;
    case S_TRIGGER: return al->trigger_event_id;
    case S_TOPIC: return al->src.topic;
    case S_R_PREV_TIER: return r->previous_tier;
    case S_R_TIER: return r->tier;
    case S_R_TREND: return r->trend;
    case S_C_REP: return ca->rep_id;
    case S_C_MEETING: return ca->meeting_id;
    case S_C_OPP: return ca->opportunity_id;
    case S_C_DOC: return ca->document_id;
    case S_C_RULE: return ca->rule;
    case S_C_MESSAGE: return ca->message;
    case S_C_RESOLVES: return ca->resolves_alert_id;
    case S_M_MEETING: return ms->meeting_id;
    case S_M_REP: return ms->rep_id;
    case S_M_CLOSED_BY: return ms->closed_by;
    default: return NULL;
    }
}

static double adouble(const struct alert *al, enum asrc src)
{
    const struct lead_rerating *r = &al->u.rerating;
    switch (src) {
    case S_R_PREV_SCORE: return r->previous_score;
    case S_R_SCORE: return r->score;
    case S_R_FIT: return r->fit_score;
    default: return r->intent_score;
    }
}

static int alert_write(const struct alert_plan *p, const struct alert *al,
                       struct enc *e, struct buf *out)
{
    const struct afield *f = alert_layouts[p->kind].fields;
    for (size_t i = 0; i < alert_layouts[p->kind].n; i++) {
        int rc = 0;
        switch (f[i].slot) {
        case A_STR: rc = aw_str(e, out, f[i].name, astr(al, f[i].src)); break;
        case A_OPT_STR:
            rc = aw_opt_str(e, out, p, i, f[i].name, astr(al, f[i].src));
            break;
        case A_DOUBLE: buf_put_double(out, adouble(al, f[i].src)); break;
        case A_INT: buf_put_i64(out, al->src.partition); break;
        case A_LONG:
            buf_put_i64(out, f[i].src == S_OFFSET ? al->src.offset : al->event_time);
            break;
        case A_ENUM: {
            const struct coaching_alert *ca = &al->u.coaching;
            bool cat = f[i].src == S_C_CATEGORY;
            unsigned v = cat ? (unsigned)ca->category : (unsigned)ca->severity;
            int idx = v < (cat ? CAT_COUNT : SEV_COUNT)
                          ? (cat ? p->category : p->severity)[v]
                          : -1;
            if (idx < 0)
                return enc_fail(e, f[i].name, "value is not a symbol of the enum");
            buf_put_i64(out, idx);
            break;
        }
        case A_METRICS:
            rc = f[i].src == S_C_METRICS
                     ? aw_metrics(e, out, f[i].name, al->u.coaching.metrics,
                                  al->u.coaching.n_metrics)
                     : aw_metrics(e, out, f[i].name, al->u.summary.metrics,
                                  al->u.summary.n_metrics);
            break;
        case A_EVIDENCE:
            rc = aw_evidence(e, out, al->u.coaching.evidence,
                             al->u.coaching.n_evidence);
            break;
        case A_REASONS: rc = aw_reasons(e, out, p, i, &al->u.rerating); break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

void codec_set_generic(struct codec *c, bool generic) { c->generic = generic; }

static int fill_other_fields(struct wschema *w, avro_value_t *v,
                             struct codec_error *err);

int codec_encode_alert(struct codec *c, const struct alert *al, struct buf *out,
                       struct codec_error *err)
{
    struct enc e = {.err = err};
    if ((unsigned)al->kind >= ALERT_KIND_COUNT) {
        codec_cerr(err, "encode_failed", "no such alert kind %d", (int)al->kind);
        return -1;
    }
    int r = REC_INPUTS + (int)al->kind;
    if (c->rec[r].current < 0) {
        codec_cerr(err, "encode_failed", "%s has no writer schema id",
                   records_table[r].record);
        return -1;
    }
    struct wschema *w = &c->ws[c->rec[r].current];
    if (w->plan && !c->generic) {
        buf_reset(out);
        codec_frame_header(out, w->id);
        return alert_write(w->plan, al, &e, out);
    }
    avro_value_t *v = &w->value;
    if (avro_value_reset(v) != 0) {
        codec_cerr(err, "encode_failed", "cannot reset the value: %s", avro_strerror());
        return -1;
    }
    if (fill_other_fields(w, v, err) < 0)
        return -1;
    int rc = al->kind == ALERT_ATTRIBUTION    ? enc_attribution(&e, v, al)
             : al->kind == ALERT_DAILY_DIGEST ? enc_digest(&e, v, al)
                                              : enc_provenance(&e, v, al);
    if (rc == 0) {
        switch (al->kind) {
        case ALERT_LEAD_RERATING: rc = enc_rerating(&e, v, &al->u.rerating); break;
        case ALERT_COACHING: rc = enc_coaching(&e, v, &al->u.coaching); break;
        case ALERT_WORK_ITEM: rc = enc_work_item(&e, v, &al->u.work_item); break;
        case ALERT_ATTRIBUTION: break;
        case ALERT_DAILY_DIGEST: break;
        default: rc = enc_summary(&e, v, &al->u.summary); break;
        }
    }
    if (rc < 0)
        return -1;
    char msg[sizeof(err->message)];
    if (codec_frame_value(c, w->id, v, out, msg, sizeof(msg)) < 0) {
        codec_cerr(err, "encode_failed", "%s", msg);
        return -1;
    }
    return 0;
}


/* Whether alert kind k carries a top-level field of this name. */
static bool alert_has_field(enum alert_kind k, const char *name)
{
    for (size_t i = 0; i < alert_layouts[k].n; i++)
        if (strcmp(alert_layouts[k].fields[i].name, name) == 0)
            return true;
    return false;
}

/* The current writer w of alert kind k: its plan, when laid out as the
 * shipped schema, and the fields no alert fills (one added for another
 * producer of the topic, say), each with its default. A field without
 * one is refused here, or no alert could be sent. */
int codec_prepare_alert_writer(struct wschema *w, enum alert_kind k,
                               char *err, size_t errlen)
{
    w->plan = alert_plan_new(w, k);
    size_t n = avro_schema_record_size(w->schema);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(w->schema, (int)i);
        if (alert_has_field(k, name))
            continue;
        const json_t *jf = codec_json_field(w->json, name);
        const json_t *d = jf ? json_object_get(jf, "default") : NULL;
        if (!d) {
            codec_errf(err, errlen,
                       "%s: field '%s' is not one dealstream fills, and has no default",
                       w->path, name);
            return -1;
        }
        struct other_field *o =
            realloc(w->others, (w->n_others + 1) * sizeof(*w->others));
        if (!o) {
            codec_errf(err, errlen, "out of memory");
            return -1;
        }
        w->others = o;
        w->others[w->n_others++] = (struct other_field){(int)i, d};
    }
    return 0;
}

/* The generic path's value for w: the fields no alert fills get their
 * defaults (the enc_* functions set the rest). */
static int fill_other_fields(struct wschema *w, avro_value_t *v,
                             struct codec_error *err)
{
    for (size_t i = 0; i < w->n_others; i++) {
        int idx = w->others[i].index;
        const char *name = avro_schema_record_field_name(w->schema, idx);
        char msg[200] = "cannot reach the field";
        struct jfill j = {.schema_json = w->json, .err = msg, .errlen = sizeof(msg)};
        avro_value_t f;
        if (avro_value_get_by_index(v, (size_t)idx, &f, NULL) != 0 ||
            codec_jf_value(&j, &f, avro_schema_record_field_get_by_index(w->schema, idx),
                           w->others[i].def) < 0) {
            codec_cerr(err, "encode_failed", "field '%s': its default: %s", name, msg);
            return -1;
        }
    }
    return 0;
}
