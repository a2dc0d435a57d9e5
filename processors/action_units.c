/*
 * action_units.c - verifies the atomic actions ("action units") of a sales
 * stage from document evidence, and flags stage claims that lack them.
 *
 * CRM stage fields are unreliable (DOMAIN.md, Shift 2), so this processor
 * keeps its own view of each opportunity: which documents evidence which of
 * its industry's action units, which stage the CRM says it is in and since
 * when. Three rules come out of that:
 *   - missing_keywords: a VISIT_REPORT lacking the industry's required
 *     keywords (WARNING, naming what is missing);
 *   - stage_claim_unsupported: an OpportunityUpdate that moves past a stage
 *     whose units are not all evidenced (RED, with exactly what is missing);
 *   - action_units_incomplete: a stage entered N days ago (event time) with
 *     units still missing (WARNING, once per opportunity and stage).
 *
 * Matching. Texts come from OCR of handwriting, PDF highlights and typed
 * notes, so both the text and every keyword pass through the confusable
 * canonicalisation (daemon/confusables.h: 己/已/巳, 0/O, ...) before the
 * multi-pattern matcher (daemon/matcher.h), which adds case, full-width and
 * ASR-space tolerance. One matcher per industry holds the required
 * keywords, every scenario synonym and every unit keyword.
 *
 * Decisions worth knowing:
 *   - An annotation without opportunity_id is attached to the customer and
 *     counts as evidence for every opportunity of that customer (a director
 *     interview informs all of the customer's deals). A document id seen on
 *     both levels counts once.
 *   - Several annotations of one document (a highlight and a comment) merge
 *     into one evidence record: the union of what each named. The keyword
 *     rule judges each annotation on its own.
 *   - Which scenarios a document names is fixed when it arrives; whether
 *     they are "uncovered" is judged at evaluation time against the
 *     competitors linked to the customer then (COMPETITOR_LINKED adds,
 *     RELATION_REMOVED removes), so a later link can un-support a stage.
 *   - A move is checked from the lower of the update's stage_from and the
 *     stage last seen up to stage_to: skipping stages counts as passing
 *     them; moving backwards or sideways raises nothing; an update with no
 *     known previous stage is the opportunity's creation and raises nothing.
 *   - action_units_incomplete is judged on event time only, never the wall
 *     clock, so replays decide alike. Two paths, either fires once per
 *     opportunity and stage (opp->alerted): a later event of the customer
 *     at or past the deadline (stage entry + `after`), or on_timer once the
 *     stream-time watermark passes it. The watermark is the largest
 *     event_time of any event of the opportunity's input partition this
 *     instance handled, of any customer; it only grows and lives in
 *     memory: after a restart it is unknown (no timer firing) until events
 *     arrive again and rebuild it. on_timer judges only opportunities of
 *     partitions this instance owns now (ctx_owns); the others' copies are
 *     stale and their new owner judges them. A stalled opportunity gets
 *     no events of its own, which is why the second path exists. on_timer
 *     reads an in-memory index of pending deadlines (opportunity key ->
 *     deadline, mirroring the customers' watch_since), returns at once
 *     while its smallest deadline is past the watermark, and is rebuilt
 *     with ctx_state_foreach on the first tick after a start or a
 *     rebalance. Its alerts carry the provenance of the opportunity's last
 *     event (kept in its state) and event_time = the deadline. Residual
 *     order dependence: evidence arriving after the watermark passed the
 *     deadline counts if it is handled before the tick that judges it.
 *   - Messages follow the language of the documents: the CJK share of the
 *     annotation's text, or of the latest document for opportunity alerts.
 *
 * State: one object per customer (key "<customer>") with the linked
 * competitors, customer-level documents and the list of opportunities, and
 * one per opportunity (key "<customer>/opp/<id>") with its documents, stage,
 * alerts already raised, the provenance of its last event (format 2; absent
 * in format-1 records until the opportunity's next event, and on_timer
 * leaves such opportunities to the per-event path) and a per-stage status
 * snapshot for `inspect`.
 * Bounded by max_opportunities (least recently seen dropped), max_documents
 * per level (oldest dropped), max_competitors, AU_MAX_CLAIMS claims.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "confusables.h"
#include "hmap.h"
#include "log.h"
#include "matcher.h"
#include "processor.h"
#include "utf8.h"

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

#define AU_DOC_ANY (DOC_OTHER + 1)

static const char *const au_doc_type_opts[] = {
    "VISIT_REPORT", "INTERVIEW_NOTE", "QUOTE", "PROPOSAL", "CONTRACT",
    "EMAIL",        "OTHER",          "ANY",   NULL};
static const char *const au_severity_opts[] = {"INFO", "WARNING", "RED", NULL};
static const char *const au_lang_opts[] = {"zh", "en", NULL};

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
    struct cfg_strlist confusables;
    struct cfg_array industries; /* struct au_industry */
    struct au_rules rules;
    struct au_messages messages;
};

/* Placeholders each template may use; anything else is a config error. */
static const char *const au_ph_missing_keywords[] = {
    "document", "industry", "missing", "count", "required", NULL};
static const char *const au_ph_stage_claim[] = {
    "opportunity", "from", "to", "stage", "missing", "have", "need", NULL};
static const char *const au_ph_incomplete[] = {
    "opportunity", "stage", "days", "missing", "have", "need", NULL};
static const char *const au_ph_unit_progress[] = {"unit", "stage", "have",
                                                  "need", NULL};
static const char *const au_ph_doc_short[] = {"document", "unit", "count",
                                              "need", NULL};
static const char *const au_ph_none[] = {NULL};

/* true when every {name} in tpl is one of `allowed`. A brace not followed
 * by [a-z_]+ and '}' is literal text. */
static bool au_template_ok(const char *tpl, const char *const *allowed)
{
    for (const char *p = tpl ? tpl : ""; *p; p++) {
        if (*p != '{')
            continue;
        const char *q = p + 1;
        while ((*q >= 'a' && *q <= 'z') || *q == '_')
            q++;
        if (*q != '}' || q == p + 1)
            continue;
        bool known = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strlen(allowed[i]) == (size_t)(q - p - 1) &&
                strncmp(allowed[i], p + 1, (size_t)(q - p - 1)) == 0)
                known = true;
        if (!known)
            return false;
        p = q;
    }
    return true;
}

static const char *au_templates_check(const void *obj)
{
    const struct au_templates *t = obj;
    if (!au_template_ok(t->missing_keywords, au_ph_missing_keywords))
        return "missing_keywords: unknown placeholder (allowed: {document} "
               "{industry} {missing} {count} {required})";
    if (!au_template_ok(t->stage_claim, au_ph_stage_claim))
        return "stage_claim: unknown placeholder (allowed: {opportunity} "
               "{from} {to} {stage} {missing} {have} {need})";
    if (!au_template_ok(t->incomplete, au_ph_incomplete))
        return "incomplete: unknown placeholder (allowed: {opportunity} "
               "{stage} {days} {missing} {have} {need})";
    if (!au_template_ok(t->unit_progress, au_ph_unit_progress))
        return "unit_progress: unknown placeholder (allowed: {unit} {stage} "
               "{have} {need})";
    if (!au_template_ok(t->doc_short, au_ph_doc_short))
        return "doc_short: unknown placeholder (allowed: {document} {unit} "
               "{count} {need})";
    if (!au_template_ok(t->separator, au_ph_none) ||
        !au_template_ok(t->keyword_separator, au_ph_none))
        return "separators take no placeholders";
    return NULL;
}

static ssize_t au_stage_index(const struct au_industry *ind, const char *stage)
{
    for (size_t i = 0; stage && i < ind->stages.n; i++)
        if (strcmp(ind->stages.v[i], stage) == 0)
            return (ssize_t)i;
    return -1;
}

static bool au_list_empty_entry(const struct cfg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        bool blank = true;
        for (const char *p = l->v[i]; p && *p; p++)
            if (!isspace((unsigned char)*p))
                blank = false;
        if (blank)
            return true;
    }
    return false;
}

/*
 * Cross-field rules of one industry. Returns NULL or a constant message;
 * with `err` also a detailed one naming the culprit (for init()).
 */
static const char *au_industry_validate(const struct au_industry *ind,
                                        char *err, size_t errlen)
{
    const char *msg = NULL;
    const char *what = "";
    for (size_t i = 0; i < ind->stages.n && !msg; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(ind->stages.v[i], ind->stages.v[j]) == 0) {
                msg = "a stage is listed twice";
                what = ind->stages.v[i];
            }
    if (!msg && au_list_empty_entry(&ind->required_keywords))
        msg = "a required keyword is empty";
    const struct au_scenario *sc = ind->scenarios.items;
    for (size_t i = 0; i < ind->scenarios.n && !msg; i++)
        if (au_list_empty_entry(&sc[i].synonyms)) {
            msg = "a scenario synonym is empty";
            what = sc[i].name;
        }
    const struct au_unit *u = ind->units.items;
    for (size_t i = 0; i < ind->units.n && !msg; i++) {
        what = u[i].name;
        if (au_stage_index(ind, u[i].stage) < 0)
            msg = "an action unit references a stage not in this industry's "
                  "stages";
        else if (u[i].min_scenarios > 0 && ind->scenarios.n == 0)
            msg = "an action unit needs scenarios but the industry's "
                  "scenario library is empty";
        else if (u[i].min_scenarios > (int64_t)ind->scenarios.n)
            msg = "an action unit needs more scenarios than the library has";
        else if (au_list_empty_entry(&u[i].keywords))
            msg = "an action unit keyword is empty";
    }
    if (msg && err)
        snprintf(err, errlen, "industries.%s: %s%s%s%s", ind->name, msg,
                 *what ? " (" : "", what, *what ? ")" : "");
    return msg;
}

static const char *au_industry_check(const void *obj)
{
    return au_industry_validate(obj, NULL, 0);
}

static const char *au_config_check(const void *obj)
{
    const struct au_config *cfg = obj;
    const char *msg = confusables_check((const char *const *)cfg->confusables.v,
                                        cfg->confusables.n);
    if (msg)
        return msg;
    if (cfg->default_industry && *cfg->default_industry) {
        const struct au_industry *ind = cfg->industries.items;
        bool found = false;
        for (size_t i = 0; i < cfg->industries.n; i++)
            if (strcmp(ind[i].name, cfg->default_industry) == 0)
                found = true;
        if (!found)
            return "default_industry names no entry of industries";
    }
    return NULL;
}

static const struct config_key au_scenario_keys[] = {
    CFG_KEY(struct au_scenario, synonyms, "synonyms", CFG_STRLIST, NULL,
            "Other phrasings of the scenario (Chinese or English); the name "
            "itself always matches."),
    CFG_KEY(struct au_scenario, covered_by, "covered_by", CFG_STRLIST, NULL,
            "Competitors (registry entity ids or names) whose offering covers "
            "this scenario; it does not count as uncovered while one of them "
            "is linked to the customer."),
};

static const struct config_table au_scenario_table = {
    .name = "action_units scenario",
    .keys = au_scenario_keys,
    .n_keys = CFG_COUNT(au_scenario_keys),
    .elem_size = sizeof(struct au_scenario),
    .name_offset = offsetof(struct au_scenario, name),
    .doc = "A clinical or business scenario a document can name, keyed by "
           "its canonical name.",
};

static const struct config_key au_unit_keys[] = {
    {.name = "stage", .type = CFG_STRING, .required = true,
     .offset = offsetof(struct au_unit, stage),
     .desc = "The stage this unit belongs to; leaving that stage requires "
             "the unit. Must be one of the industry's stages."},
    CFG_KEY_ENUM(struct au_unit, doc_type, "doc_type", "INTERVIEW_NOTE",
                 au_doc_type_opts,
                 "Document type that evidences the unit (ANY: every type)."),
    CFG_KEY(struct au_unit, author_roles, "author_roles", CFG_STRLIST, NULL,
            "Author roles that count (case-insensitive); empty: any author."),
    CFG_KEY_RANGE(struct au_unit, min_docs, "min_docs", CFG_INT, "1", 1, 1000,
                  "Qualifying documents needed."),
    CFG_KEY_RANGE(struct au_unit, min_scenarios, "min_scenarios", CFG_INT,
                  "0", 0, 256,
                  "Scenarios not covered by any linked competitor that each "
                  "document must name (0: no scenario requirement)."),
    CFG_KEY(struct au_unit, keywords, "keywords", CFG_STRLIST, NULL,
            "If given, a document qualifies only when it contains at least "
            "one of these phrases."),
    CFG_KEY(struct au_unit, label_zh, "label_zh", CFG_STRING, NULL,
            "How Chinese messages name the unit (default: its key)."),
    CFG_KEY(struct au_unit, label_en, "label_en", CFG_STRING, NULL,
            "How English messages name the unit (default: its key)."),
};

static const struct config_table au_unit_table = {
    .name = "action_units unit",
    .keys = au_unit_keys,
    .n_keys = CFG_COUNT(au_unit_keys),
    .elem_size = sizeof(struct au_unit),
    .name_offset = offsetof(struct au_unit, name),
    .doc = "An action unit: N documents of a type, by given authors, each "
           "naming enough uncovered scenarios and/or a keyword.",
};

static const struct config_key au_industry_keys[] = {
    CFG_KEY(struct au_industry, label_zh, "label_zh", CFG_STRING, NULL,
            "The industry's name in Chinese messages (default: its key)."),
    CFG_KEY(struct au_industry, label_en, "label_en", CFG_STRING, NULL,
            "The industry's name in English messages (default: its key)."),
    {.name = "required_keywords", .type = CFG_STRLIST, .bounded = true,
     .min = 0, .max = 256,
     .offset = offsetof(struct au_industry, required_keywords),
     .desc = "Phrases every VISIT_REPORT must contain (rule "
             "missing_keywords)."},
    {.name = "stages", .type = CFG_STRLIST, .required = true, .bounded = true,
     .min = 1, .max = 32, .offset = offsetof(struct au_industry, stages),
     .desc = "The opportunity stages in order, as the CRM names them."},
    {.name = "scenarios", .type = CFG_MAP, .bounded = true, .min = 0,
     .max = 256, .offset = offsetof(struct au_industry, scenarios),
     .sub = &au_scenario_table,
     .desc = "Scenario library: name -> synonyms and covering competitors."},
    {.name = "units", .type = CFG_MAP, .bounded = true, .min = 0, .max = 64,
     .offset = offsetof(struct au_industry, units), .sub = &au_unit_table,
     .desc = "Action units: name -> the stage it gates and what evidences "
             "it."},
};

static const struct config_table au_industry_table = {
    .name = "action_units industry",
    .keys = au_industry_keys,
    .n_keys = CFG_COUNT(au_industry_keys),
    .elem_size = sizeof(struct au_industry),
    .name_offset = offsetof(struct au_industry, name),
    .check = au_industry_check,
    .doc = "Per-industry keyword library, stages, scenario library and "
           "action units.",
};

#define AU_RULE_KEYS(DEF_SEV, WHAT)                                           \
    CFG_KEY(struct au_rule, enabled, "enabled", CFG_BOOL, "true",             \
            "Whether the rule raises alerts."),                               \
        CFG_KEY_ENUM(struct au_rule, severity, "severity", DEF_SEV,           \
                     au_severity_opts, "Severity of the alerts " WHAT ".")

static const struct config_key au_rule_mk_keys[] = {
    AU_RULE_KEYS("WARNING", "about a visit report missing required keywords"),
};
static const struct config_table au_rule_mk_table = {
    .name = "action_units rules.missing_keywords",
    .keys = au_rule_mk_keys,
    .n_keys = CFG_COUNT(au_rule_mk_keys),
    .elem_size = sizeof(struct au_rule),
};

static const struct config_key au_rule_sc_keys[] = {
    AU_RULE_KEYS("RED", "about a stage advance without its action units"),
};
static const struct config_table au_rule_sc_table = {
    .name = "action_units rules.stage_claim_unsupported",
    .keys = au_rule_sc_keys,
    .n_keys = CFG_COUNT(au_rule_sc_keys),
    .elem_size = sizeof(struct au_rule),
};

static const struct config_key au_rule_ai_keys[] = {
    CFG_KEY(struct au_rule_timed, enabled, "enabled", CFG_BOOL, "true",
            "Whether the rule raises alerts."),
    CFG_KEY_ENUM(struct au_rule_timed, severity, "severity", "WARNING",
                 au_severity_opts,
                 "Severity of the alerts about a stage whose units are still "
                 "missing."),
    CFG_KEY_RANGE(struct au_rule_timed, after_ms, "after", CFG_DURATION,
                  "14d", 3600000.0, 3650.0 * 86400000.0,
                  "How long after entering a stage (event time) its units "
                  "must be evidenced; judged when a later event of the "
                  "customer arrives, or by the idle check once events of "
                  "any customer on the same input partition carry event "
                  "time past the deadline."),
};
static const struct config_table au_rule_ai_table = {
    .name = "action_units rules.action_units_incomplete",
    .keys = au_rule_ai_keys,
    .n_keys = CFG_COUNT(au_rule_ai_keys),
    .elem_size = sizeof(struct au_rule_timed),
};

static const struct config_key au_rules_keys[] = {
    CFG_KEY_SUB(struct au_rules, missing_keywords, "missing_keywords",
                CFG_SECTION, &au_rule_mk_table,
                "MISSING_KEYWORDS: a VISIT_REPORT lacks required keywords."),
    CFG_KEY_SUB(struct au_rules, stage_claim_unsupported,
                "stage_claim_unsupported", CFG_SECTION, &au_rule_sc_table,
                "STAGE_CLAIM_UNSUPPORTED: an opportunity moved past a stage "
                "whose action units are not all evidenced."),
    CFG_KEY_SUB(struct au_rules, action_units_incomplete,
                "action_units_incomplete", CFG_SECTION, &au_rule_ai_table,
                "ACTION_UNITS_INCOMPLETE: a stage's units still missing some "
                "time after entering it."),
};
static const struct config_table au_rules_table = {
    .name = "action_units rules",
    .keys = au_rules_keys,
    .n_keys = CFG_COUNT(au_rules_keys),
    .elem_size = sizeof(struct au_rules),
};

#define AU_TEMPLATE_KEYS(MK, SC, AI, UP, DS, SEP, KSEP)                       \
    CFG_KEY(struct au_templates, missing_keywords, "missing_keywords",        \
            CFG_STRING, MK,                                                   \
            "Message of missing_keywords; {document} {industry} {missing} "   \
            "{count} {required}."),                                           \
        CFG_KEY(struct au_templates, stage_claim, "stage_claim", CFG_STRING,  \
                SC,                                                           \
                "Message of stage_claim_unsupported; {opportunity} {from} "   \
                "{to} {stage} {missing} {have} {need}."),                     \
        CFG_KEY(struct au_templates, incomplete, "incomplete", CFG_STRING,    \
                AI,                                                           \
                "Message of action_units_incomplete; {opportunity} {stage} "  \
                "{days} {missing} {have} {need}."),                           \
        CFG_KEY(struct au_templates, unit_progress, "unit_progress",          \
                CFG_STRING, UP,                                               \
                "Evidence line for a unit short of documents; {unit} "        \
                "{stage} {have} {need}."),                                    \
        CFG_KEY(struct au_templates, doc_short, "doc_short", CFG_STRING, DS,  \
                "Evidence line for a document naming too few uncovered "      \
                "scenarios; {document} {unit} {count} {need}."),              \
        CFG_KEY(struct au_templates, separator, "separator", CFG_STRING, SEP, \
                "Joins evidence lines into {missing}."),                      \
        CFG_KEY(struct au_templates, keyword_separator, "keyword_separator",  \
                CFG_STRING, KSEP, "Joins missing keywords into {missing}.")

static const struct config_key au_zh_keys[] = {AU_TEMPLATE_KEYS(
    "\"拜访报告 {document} 缺少{industry}行业必备关键词：{missing}\"",
    "\"商机 {opportunity} 从「{from}」推进到「{to}」，但「{stage}」阶段的"
    "行动单元未完成：{missing}\"",
    "\"商机 {opportunity} 进入「{stage}」阶段已 {days} 天，行动单元仍未完成："
    "{missing}\"",
    "\"{unit} {have}/{need} 份\"",
    "\"{document} 仅提及 {count} 个未被竞品覆盖的场景（需 {need} 个）\"",
    "\"；\"", "\"、\"")};
static const struct config_table au_zh_table = {
    .name = "action_units messages.zh",
    .keys = au_zh_keys,
    .n_keys = CFG_COUNT(au_zh_keys),
    .elem_size = sizeof(struct au_templates),
    .check = au_templates_check,
};

static const struct config_key au_en_keys[] = {AU_TEMPLATE_KEYS(
    "\"Visit report {document} is missing required {industry} keywords: "
    "{missing}\"",
    "\"Opportunity {opportunity} moved from {from} to {to}, but the action "
    "units of {stage} are not done: {missing}\"",
    "\"Opportunity {opportunity} entered {stage} {days} days ago and its "
    "action units are still missing: {missing}\"",
    "\"{have} of {need} {unit}\"",
    "\"note {document} names {count} uncovered scenario(s), {need} needed\"",
    "\"; \"", "\", \"")};
static const struct config_table au_en_table = {
    .name = "action_units messages.en",
    .keys = au_en_keys,
    .n_keys = CFG_COUNT(au_en_keys),
    .elem_size = sizeof(struct au_templates),
    .check = au_templates_check,
};

static const struct config_key au_messages_keys[] = {
    CFG_KEY_SUB(struct au_messages, zh, "zh", CFG_SECTION, &au_zh_table,
                "Templates used when the documents are mostly Chinese."),
    CFG_KEY_SUB(struct au_messages, en, "en", CFG_SECTION, &au_en_table,
                "Templates used when the documents are mostly not Chinese."),
};
static const struct config_table au_messages_table = {
    .name = "action_units messages",
    .keys = au_messages_keys,
    .n_keys = CFG_COUNT(au_messages_keys),
    .elem_size = sizeof(struct au_messages),
};

/* The article's medical example; competitor ids are the registry's. */
#define AU_DEFAULT_INDUSTRIES                                                 \
    "{medical: {label_zh: 医疗, label_en: medical, "                          \
    "required_keywords: [医保DRG分组, 耗材SPD系统], "                         \
    "stages: [discovery, solution, proposal, negotiation, closing], "         \
    "scenarios: {"                                                            \
    "日间手术: {synonyms: [日间外科, 日间病房, day surgery, "                 \
    "ambulatory surgery]}, "                                                  \
    "床旁检测: {synonyms: [即时检验, POCT, point-of-care testing, "           \
    "bedside testing], covered_by: [comp-medisight, MediSight]}, "            \
    "耗材追溯: {synonyms: [高值耗材追溯, 耗材溯源, consumables traceability, " \
    "implant traceability]}, "                                                \
    "院感监测: {synonyms: [院内感染监测, 感控监测, infection surveillance, "  \
    "infection control monitoring]}, "                                        \
    "远程会诊: {synonyms: [远程医疗会诊, 远程诊疗, telemedicine, "            \
    "remote consultation], covered_by: [comp-carelink, CareLink]}}, "         \
    "units: {director_interviews: {stage: discovery, doc_type: "              \
    "INTERVIEW_NOTE, author_roles: [department_director], min_docs: 3, "      \
    "min_scenarios: 2, label_zh: 科室主任访谈, "                              \
    "label_en: director interviews}}}}"

static const struct config_key au_config_keys[] = {
    CFG_KEY(struct au_config, default_industry, "default_industry",
            CFG_STRING, "medical",
            "Industry assumed until an OpportunityUpdate names one for the "
            "opportunity or customer (empty: no rules until then)."),
    CFG_KEY_ENUM(struct au_config, default_language, "default_language", "zh",
                 au_lang_opts,
                 "Message language when no document text is known yet."),
    CFG_KEY_RANGE(struct au_config, cjk_ratio, "cjk_ratio", CFG_DOUBLE, "0.3",
                  0.0, 1.0,
                  "A text whose CJK characters make at least this share of "
                  "its CJK characters plus Latin letters is Chinese."),
    CFG_KEY_RANGE(struct au_config, max_opportunities, "max_opportunities",
                  CFG_INT, "64", 1, 10000,
                  "Opportunities tracked per customer; the least recently "
                  "seen is dropped beyond this."),
    CFG_KEY_RANGE(struct au_config, max_documents, "max_documents", CFG_INT,
                  "64", 1, 10000,
                  "Evidence documents kept per opportunity (and per customer "
                  "for documents without opportunity); oldest dropped."),
    CFG_KEY_RANGE(struct au_config, max_competitors, "max_competitors",
                  CFG_INT, "64", 1, 10000,
                  "Linked competitors kept per customer; oldest dropped."),
    {.name = "confusables", .type = CFG_STRLIST, .bounded = true, .min = 0,
     .max = 1024, .offset = offsetof(struct au_config, confusables),
     .def = "[己已巳, 未末, 土士, 日曰, 人入, 千干, 戊戍戌, 一ー, 0O〇, "
            "\"1lI|丨\"]",
     .desc = "Groups of characters OCR confuses, each a string whose first "
             "character is the canonical one; text and keywords are mapped "
             "to it before matching."},
    {.name = "industries", .type = CFG_MAP, .bounded = true, .min = 0,
     .max = 64, .offset = offsetof(struct au_config, industries),
     .def = AU_DEFAULT_INDUSTRIES, .sub = &au_industry_table,
     .desc = "Per industry (OpportunityUpdate.industry): required keywords, "
             "stages, scenario library and action units. Giving this key "
             "replaces the whole default library."},
    CFG_KEY_SUB(struct au_config, rules, "rules", CFG_SECTION,
                &au_rules_table, "The three rules: on/off, severity, timing."),
    CFG_KEY_SUB(struct au_config, messages, "messages", CFG_SECTION,
                &au_messages_table,
                "Message and evidence templates per language."),
};

static const struct config_table au_config_table = {
    .name = "action_units",
    .keys = au_config_keys,
    .n_keys = CFG_COUNT(au_config_keys),
    .elem_size = sizeof(struct au_config),
    .check = au_config_check,
    .doc = "Action-unit verification (DOMAIN.md Shift 2): document evidence "
           "per opportunity, required visit-report keywords, stage gates.",
};

/* ------------------------------------------------------------------ */
/* State objects                                                       */
/* ------------------------------------------------------------------ */

/* 2 appended the opportunity's last-event provenance; 1 is still read. */
#define AU_FORMAT_VERSION 2
#define AU_FORMAT_MIN 1
#define AU_OBJ_CUSTOMER 1
#define AU_OBJ_OPP 2
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

struct au_claim {
    char *event_id;
    char *from; /* NULL when only the state knew it */
    char *to;
    int64_t at;
    struct au_strvec stages; /* passed without their units */
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

static void *au_xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *au_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = au_xalloc(n + 1);
    memcpy(d, s, n);
    return d;
}

/* Grows *v (n elements of `size`) by one zeroed element; returns it. */
static void *au_push(void *vp, size_t *n, size_t size)
{
    void **v = vp;
    void *nv = realloc(*v, (*n + 1) * size);
    if (!nv) {
        fputs("dealstream: out of memory\n", stderr);
        abort();
    }
    *v = nv;
    void *e = (char *)nv + *n * size;
    memset(e, 0, size);
    (*n)++;
    return e;
}

/* Removes element i of v (n elements of `size`), keeping the order. */
static void au_remove(void *v, size_t *n, size_t size, size_t i)
{
    char *b = v;
    memmove(b + i * size, b + (i + 1) * size, (*n - i - 1) * size);
    (*n)--;
}

static void au_strvec_free(struct au_strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

static bool au_strvec_has(const struct au_strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}

static void au_strvec_add(struct au_strvec *sv, const char *s)
{
    char **slot = au_push(&sv->v, &sv->n, sizeof(*sv->v));
    *slot = au_strdup(s);
}

static void au_strvec_add_unique(struct au_strvec *sv, const char *s)
{
    if (!au_strvec_has(sv, s))
        au_strvec_add(sv, s);
}

static void au_doc_free(struct au_doc *d)
{
    free(d->document_id);
    free(d->author_role);
    free(d->industry);
    au_strvec_free(&d->scenarios);
    au_strvec_free(&d->kw_units);
}

static void au_docs_free(struct au_doc *docs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        au_doc_free(&docs[i]);
    free(docs);
}

static void au_status_free(struct au_stage_status *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(st[i].name);
        for (size_t j = 0; j < st[i].n_units; j++)
            free(st[i].units[j].name);
        free(st[i].units);
    }
    free(st);
}

static void au_customer_free(struct au_customer *c)
{
    for (size_t i = 0; i < c->n_comp; i++) {
        free(c->comp[i].id);
        free(c->comp[i].name);
    }
    free(c->comp);
    au_docs_free(c->docs, c->n_docs);
    for (size_t i = 0; i < c->n_opps; i++)
        free(c->opps[i].id);
    free(c->opps);
    free(c->industry);
    free(c);
}

static void au_opp_free(struct au_opp *o)
{
    free(o->id);
    free(o->industry);
    free(o->rep_id);
    free(o->stage);
    au_docs_free(o->docs, o->n_docs);
    au_strvec_free(&o->alerted);
    for (size_t i = 0; i < o->n_claims; i++) {
        free(o->claims[i].event_id);
        free(o->claims[i].from);
        free(o->claims[i].to);
        au_strvec_free(&o->claims[i].stages);
    }
    free(o->claims);
    free(o->status_industry);
    au_status_free(o->status, o->n_status);
    free(o->last_event_id);
    free(o->last_topic);
    free(o);
}

static void au_state_free(void *st)
{
    if (!st)
        return;
    if (*(uint8_t *)st == AU_OBJ_OPP)
        au_opp_free(st);
    else
        au_customer_free(st);
}

static bool au_key_is_opp(const char *key)
{
    return key && strstr(key, AU_OPP_INFIX) != NULL;
}

static void *au_state_new(const char *key)
{
    if (au_key_is_opp(key)) {
        struct au_opp *o = au_xalloc(sizeof(*o));
        o->type = AU_OBJ_OPP;
        o->id = au_strdup(strstr(key, AU_OPP_INFIX) + strlen(AU_OPP_INFIX));
        return o;
    }
    struct au_customer *c = au_xalloc(sizeof(*c));
    c->type = AU_OBJ_CUSTOMER;
    return c;
}

/* ---- encoding: version byte, type byte, then the fields in order ---- */

static void au_enc_strvec(struct buf *b, const struct au_strvec *sv)
{
    buf_put_varint(b, sv->n);
    for (size_t i = 0; i < sv->n; i++)
        buf_put_str(b, sv->v[i]);
}

static void au_enc_docs(struct buf *b, const struct au_doc *d, size_t n)
{
    buf_put_varint(b, n);
    for (size_t i = 0; i < n; i++) {
        buf_put_str(b, d[i].document_id);
        buf_put_str(b, d[i].author_role);
        buf_put_str(b, d[i].industry);
        buf_put_i64(b, d[i].event_time);
        buf_put_u8(b, d[i].doc_type);
        buf_put_u8(b, d[i].lang);
        buf_put_i64(b, d[i].uncovered);
        au_enc_strvec(b, &d[i].scenarios);
        au_enc_strvec(b, &d[i].kw_units);
    }
}

static void au_state_encode(const void *st, struct buf *b)
{
    buf_put_u8(b, AU_FORMAT_VERSION);
    if (*(const uint8_t *)st == AU_OBJ_OPP) {
        const struct au_opp *o = st;
        buf_put_u8(b, AU_OBJ_OPP);
        buf_put_str(b, o->id);
        buf_put_str(b, o->industry);
        buf_put_str(b, o->rep_id);
        buf_put_str(b, o->stage);
        buf_put_i64(b, o->stage_entered_at);
        buf_put_u8(b, o->lang);
        au_enc_docs(b, o->docs, o->n_docs);
        au_enc_strvec(b, &o->alerted);
        buf_put_varint(b, o->n_claims);
        for (size_t i = 0; i < o->n_claims; i++) {
            buf_put_str(b, o->claims[i].event_id);
            buf_put_str(b, o->claims[i].from);
            buf_put_str(b, o->claims[i].to);
            buf_put_i64(b, o->claims[i].at);
            au_enc_strvec(b, &o->claims[i].stages);
        }
        buf_put_str(b, o->status_industry);
        buf_put_varint(b, o->n_status);
        for (size_t i = 0; i < o->n_status; i++) {
            buf_put_str(b, o->status[i].name);
            buf_put_u8(b, o->status[i].supported);
            buf_put_varint(b, o->status[i].n_units);
            for (size_t j = 0; j < o->status[i].n_units; j++) {
                buf_put_str(b, o->status[i].units[j].name);
                buf_put_i64(b, o->status[i].units[j].have);
                buf_put_i64(b, o->status[i].units[j].need);
            }
        }
        /* format 2 */
        buf_put_str(b, o->last_event_id);
        buf_put_str(b, o->last_topic);
        buf_put_i64(b, o->last_partition);
        buf_put_i64(b, o->last_offset);
        return;
    }
    const struct au_customer *c = st;
    buf_put_u8(b, AU_OBJ_CUSTOMER);
    buf_put_str(b, c->industry);
    buf_put_u8(b, c->lang);
    buf_put_varint(b, c->n_comp);
    for (size_t i = 0; i < c->n_comp; i++) {
        buf_put_str(b, c->comp[i].id);
        buf_put_str(b, c->comp[i].name);
        buf_put_i64(b, c->comp[i].linked_at);
    }
    au_enc_docs(b, c->docs, c->n_docs);
    buf_put_varint(b, c->n_opps);
    for (size_t i = 0; i < c->n_opps; i++) {
        buf_put_str(b, c->opps[i].id);
        buf_put_i64(b, c->opps[i].last_seen);
        buf_put_i64(b, c->opps[i].watch_since);
    }
}

/* See processor_ops.state_prefetch: depth 0 the strings and arrays the
 * object points to, depth 1 the strings of its documents and references
 * (each a separate, cold allocation when the sealer gets to it). */
static void au_state_prefetch(const void *st, int depth)
{
    if (*(const uint8_t *)st == AU_OBJ_OPP) {
        const struct au_opp *o = st;
        if (depth == 0) {
            const void *first[] = {o->id, o->industry, o->rep_id, o->stage,
                                   o->docs, o->claims, o->status,
                                   o->last_event_id, o->last_topic};
            for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
                __builtin_prefetch(first[i]);
            return;
        }
        for (size_t i = 0; i < o->n_docs && i < 8; i++)
            __builtin_prefetch(o->docs[i].document_id);
        for (size_t i = 0; i < o->n_status && i < 8; i++)
            __builtin_prefetch(o->status[i].name);
        return;
    }
    const struct au_customer *c = st;
    if (depth == 0) {
        __builtin_prefetch(c->industry);
        __builtin_prefetch(c->comp);
        __builtin_prefetch(c->docs);
        __builtin_prefetch(c->opps);
        return;
    }
    for (size_t i = 0; i < c->n_docs && i < 8; i++)
        __builtin_prefetch(c->docs[i].document_id);
    for (size_t i = 0; i < c->n_opps && i < 8; i++)
        __builtin_prefetch(c->opps[i].id);
}

/* A count read from the wire; sets err when it cannot be genuine. */
static size_t au_get_count(struct buf_reader *r)
{
    uint64_t n = buf_get_varint(r);
    if (n > AU_HARD_CAP || n > (uint64_t)(r->end - r->p)) {
        r->err = true; /* every element takes at least one byte */
        return 0;
    }
    return (size_t)n;
}

/* A string that must be present. */
static char *au_get_req(struct buf_reader *r)
{
    char *s = buf_get_str(r);
    if (!s)
        r->err = true;
    return s;
}

static void au_dec_strvec(struct buf_reader *r, struct au_strvec *sv)
{
    size_t n = au_get_count(r);
    for (size_t i = 0; i < n && !r->err; i++) {
        char *s = au_get_req(r);
        if (!s)
            break;
        char **slot = au_push(&sv->v, &sv->n, sizeof(*sv->v));
        *slot = s;
    }
}

static void au_dec_docs(struct buf_reader *r, struct au_doc **docs, size_t *nd)
{
    size_t n = au_get_count(r);
    for (size_t i = 0; i < n && !r->err; i++) {
        struct au_doc *d = au_push(docs, nd, sizeof(**docs));
        d->document_id = au_get_req(r);
        d->author_role = buf_get_str(r);
        d->industry = buf_get_str(r);
        d->event_time = buf_get_i64(r);
        d->doc_type = buf_get_u8(r);
        d->lang = buf_get_u8(r);
        d->uncovered = buf_get_i64(r);
        au_dec_strvec(r, &d->scenarios);
        au_dec_strvec(r, &d->kw_units);
        if (d->doc_type > AU_DOC_ANY || d->lang > AU_LANG_EN)
            r->err = true;
    }
}

static int au_state_decode(const char *key, const uint8_t *data, size_t len,
                           void **out)
{
    struct buf_reader r;
    void *st = NULL;
    *out = NULL;
    buf_reader_init(&r, data, len);
    uint8_t version = buf_get_u8(&r);
    uint8_t type = buf_get_u8(&r);
    if (r.err || version < AU_FORMAT_MIN || version > AU_FORMAT_VERSION ||
        type != (au_key_is_opp(key) ? AU_OBJ_OPP : AU_OBJ_CUSTOMER))
        return -1;
    if (type == AU_OBJ_OPP) {
        struct au_opp *o = au_xalloc(sizeof(*o));
        st = o;
        o->type = AU_OBJ_OPP;
        o->id = au_get_req(&r);
        o->industry = buf_get_str(&r);
        o->rep_id = buf_get_str(&r);
        o->stage = buf_get_str(&r);
        o->stage_entered_at = buf_get_i64(&r);
        o->lang = buf_get_u8(&r);
        au_dec_docs(&r, &o->docs, &o->n_docs);
        au_dec_strvec(&r, &o->alerted);
        size_t nc = au_get_count(&r);
        for (size_t i = 0; i < nc && !r.err; i++) {
            struct au_claim *cl = au_push(&o->claims, &o->n_claims,
                                          sizeof(*o->claims));
            cl->event_id = buf_get_str(&r);
            cl->from = buf_get_str(&r);
            cl->to = au_get_req(&r);
            cl->at = buf_get_i64(&r);
            au_dec_strvec(&r, &cl->stages);
        }
        o->status_industry = buf_get_str(&r);
        size_t ns = au_get_count(&r);
        for (size_t i = 0; i < ns && !r.err; i++) {
            struct au_stage_status *s = au_push(&o->status, &o->n_status,
                                                sizeof(*o->status));
            s->name = au_get_req(&r);
            s->supported = buf_get_u8(&r) != 0;
            size_t nu = au_get_count(&r);
            for (size_t j = 0; j < nu && !r.err; j++) {
                struct au_unit_status *u = au_push(&s->units, &s->n_units,
                                                   sizeof(*s->units));
                u->name = au_get_req(&r);
                u->have = buf_get_i64(&r);
                u->need = buf_get_i64(&r);
            }
        }
        if (version >= 2) {
            o->last_event_id = buf_get_str(&r);
            o->last_topic = buf_get_str(&r);
            int64_t part = buf_get_i64(&r);
            o->last_offset = buf_get_i64(&r);
            /* both or neither; a partition is an int32 */
            if (!o->last_event_id != !o->last_topic || part < INT32_MIN ||
                part > INT32_MAX)
                r.err = true;
            o->last_partition = (int32_t)part;
        }
        if (o->lang > AU_LANG_EN)
            r.err = true;
    } else {
        struct au_customer *c = au_xalloc(sizeof(*c));
        st = c;
        c->type = AU_OBJ_CUSTOMER;
        c->industry = buf_get_str(&r);
        c->lang = buf_get_u8(&r);
        size_t nc = au_get_count(&r);
        for (size_t i = 0; i < nc && !r.err; i++) {
            struct au_competitor *k = au_push(&c->comp, &c->n_comp,
                                              sizeof(*c->comp));
            k->id = au_get_req(&r);
            k->name = buf_get_str(&r);
            k->linked_at = buf_get_i64(&r);
        }
        au_dec_docs(&r, &c->docs, &c->n_docs);
        size_t no = au_get_count(&r);
        for (size_t i = 0; i < no && !r.err; i++) {
            struct au_opp_ref *o = au_push(&c->opps, &c->n_opps,
                                           sizeof(*c->opps));
            o->id = au_get_req(&r);
            o->last_seen = buf_get_i64(&r);
            o->watch_since = buf_get_i64(&r);
        }
        if (c->lang > AU_LANG_EN)
            r.err = true;
    }
    if (r.err || r.p != r.end) {
        au_state_free(st);
        return -1;
    }
    *out = st;
    return 0;
}

static const char *au_lang_name(uint8_t lang)
{
    return lang == AU_LANG_ZH ? "zh" : lang == AU_LANG_EN ? "en" : NULL;
}

static void au_json_docs(struct jw *w, const char *key, const struct au_doc *d,
                         size_t n)
{
    jw_arr_begin(w, key);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "document_id", d[i].document_id);
        jw_str(w, "doc_type", d[i].doc_type == AU_DOC_ANY
                                  ? "ANY"
                                  : doc_type_name(d[i].doc_type));
        jw_str(w, "author_role", d[i].author_role);
        jw_str(w, "industry", d[i].industry);
        jw_int(w, "event_time", d[i].event_time);
        jw_str(w, "language", au_lang_name(d[i].lang));
        jw_arr_begin(w, "scenarios");
        for (size_t j = 0; j < d[i].scenarios.n; j++)
            jw_str(w, NULL, d[i].scenarios.v[j]);
        jw_arr_end(w);
        jw_int(w, "scenario_count", (int64_t)d[i].scenarios.n);
        jw_int(w, "uncovered_scenarios", d[i].uncovered);
        jw_arr_begin(w, "keyword_units");
        for (size_t j = 0; j < d[i].kw_units.n; j++)
            jw_str(w, NULL, d[i].kw_units.v[j]);
        jw_arr_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static void au_state_to_json(const void *st, struct jw *w)
{
    jw_obj_begin(w, NULL);
    if (*(const uint8_t *)st == AU_OBJ_OPP) {
        const struct au_opp *o = st;
        jw_str(w, "type", "opportunity");
        jw_str(w, "opportunity_id", o->id);
        jw_str(w, "industry", o->industry);
        jw_str(w, "rep_id", o->rep_id);
        jw_str(w, "stage", o->stage);
        if (o->stage)
            jw_int(w, "stage_entered_at", o->stage_entered_at);
        else
            jw_null(w, "stage_entered_at");
        jw_str(w, "language", au_lang_name(o->lang));
        jw_str(w, "status_industry", o->status_industry);
        jw_arr_begin(w, "stages");
        for (size_t i = 0; i < o->n_status; i++) {
            const struct au_stage_status *s = &o->status[i];
            jw_obj_begin(w, NULL);
            jw_str(w, "stage", s->name);
            jw_str(w, "status", s->supported ? "supported" : "missing");
            jw_bool(w, "current", o->stage && strcmp(o->stage, s->name) == 0);
            jw_arr_begin(w, "units");
            for (size_t j = 0; j < s->n_units; j++) {
                jw_obj_begin(w, NULL);
                jw_str(w, "unit", s->units[j].name);
                jw_int(w, "have", s->units[j].have);
                jw_int(w, "need", s->units[j].need);
                jw_bool(w, "done", s->units[j].have >= s->units[j].need);
                jw_obj_end(w);
            }
            jw_arr_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        au_json_docs(w, "documents", o->docs, o->n_docs);
        jw_arr_begin(w, "unsupported_claims");
        for (size_t i = 0; i < o->n_claims; i++) {
            const struct au_claim *cl = &o->claims[i];
            jw_obj_begin(w, NULL);
            jw_str(w, "event_id", cl->event_id);
            jw_str(w, "from", cl->from);
            jw_str(w, "to", cl->to);
            jw_int(w, "at", cl->at);
            jw_arr_begin(w, "stages");
            for (size_t j = 0; j < cl->stages.n; j++) {
                bool now = false;
                for (size_t k = 0; k < o->n_status; k++)
                    if (strcmp(o->status[k].name, cl->stages.v[j]) == 0)
                        now = o->status[k].supported;
                jw_obj_begin(w, NULL);
                jw_str(w, "stage", cl->stages.v[j]);
                jw_bool(w, "supported_now", now);
                jw_obj_end(w);
            }
            jw_arr_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_arr_begin(w, "incomplete_alerted");
        for (size_t i = 0; i < o->alerted.n; i++)
            jw_str(w, NULL, o->alerted.v[i]);
        jw_arr_end(w);
        if (o->last_event_id) {
            jw_obj_begin(w, "last_event");
            jw_str(w, "event_id", o->last_event_id);
            jw_str(w, "topic", o->last_topic);
            jw_int(w, "partition", o->last_partition);
            jw_int(w, "offset", o->last_offset);
            jw_obj_end(w);
        } else {
            jw_null(w, "last_event");
        }
        jw_obj_end(w);
        return;
    }
    const struct au_customer *c = st;
    jw_str(w, "type", "customer");
    jw_str(w, "industry", c->industry);
    jw_str(w, "language", au_lang_name(c->lang));
    jw_arr_begin(w, "competitors");
    for (size_t i = 0; i < c->n_comp; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "entity_id", c->comp[i].id);
        jw_str(w, "entity_name", c->comp[i].name);
        jw_int(w, "linked_at", c->comp[i].linked_at);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    au_json_docs(w, "customer_documents", c->docs, c->n_docs);
    jw_arr_begin(w, "opportunities");
    for (size_t i = 0; i < c->n_opps; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "opportunity_id", c->opps[i].id);
        jw_int(w, "last_seen", c->opps[i].last_seen);
        if (c->opps[i].watch_since >= 0)
            jw_int(w, "incomplete_since", c->opps[i].watch_since);
        else
            jw_null(w, "incomplete_since");
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

/* ------------------------------------------------------------------ */
/* Instance                                                            */
/* ------------------------------------------------------------------ */

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
     * time, not by whichever partitions this instance also handles. Index
     * = partition; INT64_MIN: no event yet. */
    int64_t *part_wm;
    size_t n_part_wm;
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
};

static void au_destroy(void *vinst)
{
    struct au_inst *inst = vinst;
    if (!inst)
        return;
    for (size_t i = 0; i < inst->n_ind; i++)
        matcher_free(inst->ind[i].m);
    free(inst->ind);
    confusables_free(inst->conf);
    buf_free(&inst->canon);
    free(inst->hit);
    hmap_free(inst->pending, free);
    free(inst->part_wm);
    free(inst);
}

/* Adds `phrase`, canonicalised, under `id`. */
static int au_add_phrase(struct au_inst *inst, struct matcher_builder *mb,
                         const char *phrase, unsigned id)
{
    buf_reset(&inst->canon);
    confusables_canon(inst->conf, phrase, &inst->canon);
    return matcher_builder_add(mb, (const char *)inst->canon.data, id);
}

static int au_init(const void *vcfg, void **out, char *err, size_t errlen)
{
    const struct au_config *cfg = vcfg;
    struct au_inst *inst = au_xalloc(sizeof(*inst));
    struct matcher_builder *mb = NULL;
    int rc = -1;

    *out = NULL;
    inst->cfg = cfg;
    buf_init(&inst->canon);
    inst->pending = hmap_new();
    inst->next_due = INT64_MAX;
    if (confusables_new((const char *const *)cfg->confusables.v,
                        cfg->confusables.n, &inst->conf, err, errlen) != 0)
        goto out;
    const struct au_industry *inds = cfg->industries.items;
    inst->ind = au_xalloc(cfg->industries.n * sizeof(*inst->ind));
    inst->n_ind = cfg->industries.n;
    size_t stride = 1;
    for (size_t i = 0; i < cfg->industries.n; i++) {
        const struct au_industry *ind = &inds[i];
        inst->ind[i].cfg = ind;
        if (au_industry_validate(ind, err, errlen))
            goto out;
        if (ind->required_keywords.n > stride)
            stride = ind->required_keywords.n;
        if (ind->scenarios.n > stride)
            stride = ind->scenarios.n;
        if (ind->units.n > stride)
            stride = ind->units.n;
        mb = matcher_builder_new();
        if (!mb) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        int bad = 0;
        for (size_t k = 0; k < ind->required_keywords.n; k++)
            bad |= au_add_phrase(inst, mb, ind->required_keywords.v[k],
                                 AU_ID(AU_ID_REQUIRED, k));
        const struct au_scenario *sc = ind->scenarios.items;
        for (size_t k = 0; k < ind->scenarios.n; k++) {
            bad |= au_add_phrase(inst, mb, sc[k].name, AU_ID(AU_ID_SCENARIO, k));
            for (size_t j = 0; j < sc[k].synonyms.n; j++)
                bad |= au_add_phrase(inst, mb, sc[k].synonyms.v[j],
                                     AU_ID(AU_ID_SCENARIO, k));
        }
        const struct au_unit *u = ind->units.items;
        for (size_t k = 0; k < ind->units.n; k++)
            for (size_t j = 0; j < u[k].keywords.n; j++)
                bad |= au_add_phrase(inst, mb, u[k].keywords.v[j],
                                     AU_ID(AU_ID_UNIT, k));
        if (bad) {
            snprintf(err, errlen,
                     "industries.%s: a keyword or synonym is empty once "
                     "normalised", ind->name);
            goto out;
        }
        char merr[256] = "";
        if (matcher_build(mb, &inst->ind[i].m, merr, sizeof(merr)) != 0) {
            snprintf(err, errlen, "industries.%s: %s", ind->name, merr);
            goto out;
        }
        matcher_builder_free(mb);
        mb = NULL;
    }
    inst->hit_stride = stride;
    inst->hit = au_xalloc(4 * stride * sizeof(*inst->hit));
    *out = inst;
    inst = NULL;
    rc = 0;
out:
    matcher_builder_free(mb);
    au_destroy(inst);
    return rc;
}

static const struct au_ind_rt *au_industry_find(const struct au_inst *inst,
                                                const char *name)
{
    for (size_t i = 0; name && i < inst->n_ind; i++)
        if (strcmp(inst->ind[i].cfg->name, name) == 0)
            return &inst->ind[i];
    return NULL;
}

static const char *au_default_industry(const struct au_inst *inst)
{
    const char *d = inst->cfg->default_industry;
    return d && *d ? d : NULL;
}

/* ---- matching ---- */

struct au_scan {
    bool *hit;
    size_t stride;
};

static int au_on_hit(void *arg, unsigned id, size_t from, size_t to)
{
    (void)from;
    (void)to;
    struct au_scan *s = arg;
    unsigned kind = id >> AU_ID_SHIFT;
    size_t idx = id & ((1u << AU_ID_SHIFT) - 1);
    if (kind <= 3 && idx < s->stride)
        s->hit[kind * s->stride + idx] = true;
    return 0;
}

/* Scans text with the industry's matcher; then au_hit() tells what matched. */
static int au_match(struct au_inst *inst, const struct au_ind_rt *ind,
                    const char *text)
{
    memset(inst->hit, 0, 4 * inst->hit_stride * sizeof(*inst->hit));
    buf_reset(&inst->canon);
    confusables_canon(inst->conf, text, &inst->canon);
    struct au_scan s = {inst->hit, inst->hit_stride};
    return matcher_scan(ind->m, (const char *)inst->canon.data, NULL,
                        au_on_hit, &s);
}

static bool au_hit(const struct au_inst *inst, unsigned kind, size_t idx)
{
    return inst->hit[kind * inst->hit_stride + idx];
}

/* Chinese when CJK ideographs make at least cjk_ratio of the ideographs
 * plus Latin letters; unknown when the text has neither. */
static uint8_t au_detect_lang(const struct au_inst *inst, const char *text)
{
    size_t cjk = 0, latin = 0, k;
    uint32_t cp;
    for (const char *p = text ? text : "";
         (k = utf8_next(p, &cp)) > 0; p += k) {
        if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
            (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x2ffff))
            cjk++;
        else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                 (cp >= 0xff21 && cp <= 0xff3a) || (cp >= 0xff41 && cp <= 0xff5a))
            latin++;
    }
    if (cjk + latin == 0)
        return AU_LANG_UNKNOWN;
    return (double)cjk >= inst->cfg->cjk_ratio * (double)(cjk + latin)
               ? AU_LANG_ZH
               : AU_LANG_EN;
}

static const struct au_templates *au_tpl(const struct au_inst *inst,
                                         uint8_t lang)
{
    if (lang == AU_LANG_UNKNOWN)
        lang = inst->cfg->default_language == 1 ? AU_LANG_EN : AU_LANG_ZH;
    return lang == AU_LANG_EN ? &inst->cfg->messages.en
                              : &inst->cfg->messages.zh;
}

/* ---- message rendering ---- */

struct au_var {
    const char *name;
    const char *value;
};

/* Appends tpl with {name} replaced from vars; unknown names stay as they
 * are (the config check refuses them anyway). NUL-terminates. */
static void au_render(struct buf *out, const char *tpl,
                      const struct au_var *vars, size_t n)
{
    const char *p = tpl ? tpl : "";
    while (*p) {
        if (*p == '{') {
            const char *q = strchr(p, '}');
            bool done = false;
            for (size_t i = 0; q && i < n && !done; i++) {
                size_t len = strlen(vars[i].name);
                if ((size_t)(q - p - 1) == len &&
                    strncmp(p + 1, vars[i].name, len) == 0) {
                    const char *v = vars[i].value ? vars[i].value : "-";
                    buf_append(out, v, strlen(v));
                    p = q + 1;
                    done = true;
                }
            }
            if (done)
                continue;
        }
        buf_append(out, p, 1);
        p++;
    }
    buf_reserve(out, 1);
    out->data[out->len] = '\0';
}

static char *au_render_dup(const char *tpl, const struct au_var *vars,
                           size_t n)
{
    struct buf b;
    buf_init(&b);
    au_render(&b, tpl, vars, n);
    char *s = au_strdup((const char *)b.data);
    buf_free(&b);
    return s;
}

static char *au_join(const struct au_strvec *sv, const char *sep)
{
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < sv->n; i++) {
        if (i)
            buf_append(&b, sep, strlen(sep));
        buf_append(&b, sv->v[i], strlen(sv->v[i]));
    }
    buf_reserve(&b, 1);
    b.data[b.len] = '\0';
    char *s = au_strdup((const char *)b.data);
    buf_free(&b);
    return s;
}

/* Emits for `customer_id`. With `prov` (on_timer: no current event) the
 * alert cites prov's last event and event time `at`; without it the
 * runtime stamps the event being handled. */
static void au_emit_from(struct proc_ctx *ctx, const char *customer_id,
                         const struct au_opp *prov, int64_t at,
                         const char *dedup, bool id_from_state,
                         const struct coaching_alert *ca)
{
    struct alert a;
    memset(&a, 0, sizeof(a));
    a.kind = ALERT_COACHING;
    a.customer_id = customer_id;
    a.dedup_key = dedup;
    a.id_from_state = id_from_state;
    a.u.coaching = *ca;
    if (prov) {
        a.trigger_event_id = prov->last_event_id;
        a.src.topic = prov->last_topic;
        a.src.partition = prov->last_partition;
        a.src.offset = prov->last_offset;
        a.event_time = at;
    }
    if (ctx_emit(ctx, &a) != 0)
        LOG_RL(LOG_WARN, "action_units", "could not emit %s for %s",
               ca->rule, customer_id);
}

static void au_emit(struct proc_ctx *ctx, const struct event *ev,
                    const char *dedup, const struct coaching_alert *ca)
{
    au_emit_from(ctx, ev->customer_id, NULL, 0, dedup, false, ca);
}

/* ------------------------------------------------------------------ */
/* Evidence evaluation                                                 */
/* ------------------------------------------------------------------ */

static bool au_comp_matches(const struct au_competitor *c, const char *entry)
{
    return strcasecmp(c->id, entry) == 0 ||
           (c->name && strcasecmp(c->name, entry) == 0);
}

/* Scenarios of `d` that no competitor linked to the customer covers. */
static int64_t au_doc_uncovered(const struct au_inst *inst,
                                const struct au_customer *cust,
                                const struct au_doc *d)
{
    const struct au_ind_rt *ind = au_industry_find(inst, d->industry);
    if (!ind)
        return 0;
    int64_t n = 0;
    const struct au_scenario *sc = ind->cfg->scenarios.items;
    for (size_t i = 0; i < d->scenarios.n; i++) {
        const struct au_scenario *s = NULL;
        for (size_t k = 0; k < ind->cfg->scenarios.n && !s; k++)
            if (strcmp(sc[k].name, d->scenarios.v[i]) == 0)
                s = &sc[k];
        if (!s)
            continue; /* renamed or removed from the library */
        bool covered = false;
        for (size_t c = 0; c < cust->n_comp && !covered; c++)
            for (size_t e = 0; e < s->covered_by.n && !covered; e++)
                covered = au_comp_matches(&cust->comp[c], s->covered_by.v[e]);
        if (!covered)
            n++;
    }
    return n;
}

struct au_near {
    const char *doc_id;
    int64_t count;
};

struct au_eval {
    int64_t have, need;
    struct au_near near[AU_MAX_NEAR]; /* right type and author, too few scenarios */
    size_t n_near;
};

static bool au_role_ok(const struct au_unit *u, const char *role)
{
    if (u->author_roles.n == 0)
        return true;
    for (size_t i = 0; role && i < u->author_roles.n; i++)
        if (strcasecmp(u->author_roles.v[i], role) == 0)
            return true;
    return false;
}

/* d, with `unc` of its scenarios uncovered, as evidence for unit u. */
static void au_eval_doc(const struct au_unit *u, const struct au_doc *d,
                        int64_t unc, struct au_eval *e)
{
    if (u->doc_type != AU_DOC_ANY && d->doc_type != u->doc_type)
        return;
    if (!au_role_ok(u, d->author_role))
        return;
    if (u->keywords.n && !au_strvec_has(&d->kw_units, u->name))
        return;
    if (unc >= u->min_scenarios) {
        e->have++;
    } else if (e->n_near < AU_MAX_NEAR) {
        e->near[e->n_near].doc_id = d->document_id;
        e->near[e->n_near].count = unc;
        e->n_near++;
    }
}

static bool au_docs_have(const struct au_doc *docs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(docs[i].document_id, id) == 0)
            return true;
    return false;
}

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

/* `opp` NULL: the customer's documents only. Free with au_evidence_free. */
static void au_evidence_build(const struct au_inst *inst,
                              const struct au_customer *cust,
                              const struct au_opp *opp,
                              struct au_evidence *ev)
{
    size_t n_opp = opp ? opp->n_docs : 0;
    ev->v = au_xalloc((n_opp + cust->n_docs) * sizeof(*ev->v));
    ev->n = 0;
    for (size_t i = 0; i < n_opp; i++)
        ev->v[ev->n++] = (struct au_evdoc){&opp->docs[i], 0};
    for (size_t i = 0; i < cust->n_docs; i++)
        if (!opp || !au_docs_have(opp->docs, opp->n_docs,
                                  cust->docs[i].document_id))
            ev->v[ev->n++] = (struct au_evdoc){&cust->docs[i], 0};
    for (size_t i = 0; i < ev->n; i++)
        ev->v[i].uncovered = au_doc_uncovered(inst, cust, ev->v[i].d);
}

static void au_evidence_free(struct au_evidence *ev)
{
    free(ev->v);
    ev->v = NULL;
    ev->n = 0;
}

/* Evidence for unit u among `docs`. */
static void au_eval_unit(const struct au_unit *u,
                         const struct au_evidence *docs, struct au_eval *e)
{
    memset(e, 0, sizeof(*e));
    e->need = u->min_docs;
    for (size_t i = 0; i < docs->n; i++)
        au_eval_doc(u, docs->v[i].d, docs->v[i].uncovered, e);
}

/*
 * What the stage `stage` lacks, appended to `ev` as readable lines
 * (unit progress, then the documents that fell short). Adds to *have and
 * *need; returns the number of units not done.
 */
static size_t au_stage_gaps(const struct au_industry *ind, const char *stage,
                            const struct au_evidence *docs,
                            const struct au_templates *tpl, bool zh,
                            struct au_strvec *ev, int64_t *have, int64_t *need)
{
    size_t missing = 0;
    const struct au_unit *u = ind->units.items;
    for (size_t i = 0; i < ind->units.n; i++) {
        if (strcmp(u[i].stage, stage) != 0)
            continue;
        struct au_eval e;
        au_eval_unit(&u[i], docs, &e);
        *have += e.have < e.need ? e.have : e.need;
        *need += e.need;
        if (e.have >= e.need)
            continue;
        missing++;
        if (!ev)
            continue;
        const char *label = zh ? u[i].label_zh : u[i].label_en;
        if (!label || !*label)
            label = u[i].name;
        char hs[24], ns[24], ms[24];
        snprintf(hs, sizeof(hs), "%lld", (long long)e.have);
        snprintf(ns, sizeof(ns), "%lld", (long long)e.need);
        snprintf(ms, sizeof(ms), "%lld", (long long)u[i].min_scenarios);
        const struct au_var pv[] = {
            {"unit", label}, {"stage", stage}, {"have", hs}, {"need", ns}};
        char **slot = au_push(&ev->v, &ev->n, sizeof(*ev->v));
        *slot = au_render_dup(tpl->unit_progress, pv, CFG_COUNT(pv));
        for (size_t k = 0; k < e.n_near; k++) {
            char cs[24];
            snprintf(cs, sizeof(cs), "%lld", (long long)e.near[k].count);
            const struct au_var dv[] = {{"document", e.near[k].doc_id},
                                        {"unit", label},
                                        {"count", cs},
                                        {"need", ms}};
            slot = au_push(&ev->v, &ev->n, sizeof(*ev->v));
            *slot = au_render_dup(tpl->doc_short, dv, CFG_COUNT(dv));
        }
    }
    return missing;
}

/* ------------------------------------------------------------------ */
/* Customer and opportunity bookkeeping                                */
/* ------------------------------------------------------------------ */

static char *au_opp_key(const char *customer, const char *opp)
{
    size_t n = strlen(customer) + strlen(AU_OPP_INFIX) + strlen(opp) + 1;
    char *k = au_xalloc(n);
    snprintf(k, n, "%s%s%s", customer, AU_OPP_INFIX, opp);
    return k;
}

static const char *au_opp_industry(const struct au_inst *inst,
                                   const struct au_customer *cust,
                                   const struct au_opp *opp)
{
    if (opp && opp->industry)
        return opp->industry;
    if (cust->industry)
        return cust->industry;
    return au_default_industry(inst);
}

static struct au_opp_ref *au_ref_find(struct au_customer *cust, const char *id)
{
    for (size_t i = 0; i < cust->n_opps; i++)
        if (strcmp(cust->opps[i].id, id) == 0)
            return &cust->opps[i];
    return NULL;
}

static void au_replace(char **field, const char *v)
{
    if (*field && v && strcmp(*field, v) == 0)
        return;
    free(*field);
    *field = au_strdup(v);
}

/* ---- pending deadlines: on_timer's index ---- */

/* Stage entry + after, saturating: event times are the producers'. */
static int64_t au_deadline(const struct au_inst *inst, int64_t since)
{
    int64_t after = inst->cfg->rules.action_units_incomplete.after_ms;
    return since > INT64_MAX - after ? INT64_MAX : since + after;
}

static void au_pending_put(struct au_inst *inst, const char *key,
                           int64_t deadline)
{
    int64_t *v = hmap_get(inst->pending, key);
    if (!v) {
        v = au_xalloc(sizeof(*v));
        hmap_put(inst->pending, key, v);
    }
    *v = deadline;
    if (deadline < inst->next_due)
        inst->next_due = deadline;
}

static void au_pending_del(struct au_inst *inst, const char *key)
{
    free(hmap_del(inst->pending, key));
}

/* Sets the customer's watch on an opportunity (stage entry to judge, or
 * -1) and mirrors it into the index. The state is the truth: the index is
 * only rebuilt from it. */
static void au_watch_set(struct au_inst *inst, const char *customer_id,
                         struct au_opp_ref *ref, int64_t since)
{
    ref->watch_since = since;
    if (!inst->cfg->rules.action_units_incomplete.enabled)
        return; /* nothing will read the index */
    char *key = au_opp_key(customer_id, ref->id);
    if (since >= 0)
        au_pending_put(inst, key, au_deadline(inst, since));
    else
        au_pending_del(inst, key);
    free(key);
}

/* The opportunity's object, created and listed on the customer if new;
 * the least recently seen one is dropped beyond max_opportunities. Records
 * `ev` as its last event. */
static struct au_opp *au_opp_get(struct au_inst *inst, struct proc_ctx *ctx,
                                 const struct event *ev,
                                 struct au_customer *cust, const char *opp_id)
{
    struct au_opp_ref *ref = au_ref_find(cust, opp_id);
    if (!ref) {
        while (cust->n_opps >= (size_t)inst->cfg->max_opportunities) {
            size_t old = 0;
            for (size_t i = 1; i < cust->n_opps; i++)
                if (cust->opps[i].last_seen < cust->opps[old].last_seen)
                    old = i;
            char *k = au_opp_key(ev->customer_id, cust->opps[old].id);
            ctx_state_delete(ctx, k);
            au_pending_del(inst, k);
            free(k);
            free(cust->opps[old].id);
            au_remove(cust->opps, &cust->n_opps, sizeof(*cust->opps), old);
        }
        ref = au_push(&cust->opps, &cust->n_opps, sizeof(*cust->opps));
        ref->id = au_strdup(opp_id);
        ref->last_seen = ev->event_time;
        ref->watch_since = -1;
    }
    if (ev->event_time > ref->last_seen)
        ref->last_seen = ev->event_time;
    char *key = au_opp_key(ev->customer_id, opp_id);
    struct au_opp *opp = ctx_state(ctx, key, NULL);
    if (!opp->id)
        opp->id = au_strdup(opp_id);
    if (ev->event_id && ev->src.topic) {
        au_replace(&opp->last_event_id, ev->event_id);
        au_replace(&opp->last_topic, ev->src.topic);
        opp->last_partition = ev->src.partition;
        opp->last_offset = ev->src.offset;
    }
    ctx_state_dirty(ctx, key);
    free(key);
    return opp;
}

/* Rebuilds the per-stage snapshot and the cached per-document counts of
 * `opp`, and the customer's watch on it. */
static void au_opp_refresh(struct au_inst *inst, const char *customer_id,
                           struct au_customer *cust, struct au_opp *opp)
{
    struct au_evidence docs;
    au_evidence_build(inst, cust, opp, &docs);
    for (size_t i = 0; i < opp->n_docs; i++) /* its own come first */
        opp->docs[i].uncovered = docs.v[i].uncovered;
    au_status_free(opp->status, opp->n_status);
    opp->status = NULL;
    opp->n_status = 0;
    const char *iname = au_opp_industry(inst, cust, opp);
    const struct au_ind_rt *ind = au_industry_find(inst, iname);
    au_replace(&opp->status_industry, ind ? iname : NULL);
    bool current_missing = false;
    for (size_t s = 0; ind && s < ind->cfg->stages.n; s++) {
        const char *stage = ind->cfg->stages.v[s];
        struct au_stage_status *st = au_push(&opp->status, &opp->n_status,
                                             sizeof(*opp->status));
        st->name = au_strdup(stage);
        st->supported = true;
        const struct au_unit *u = ind->cfg->units.items;
        for (size_t i = 0; i < ind->cfg->units.n; i++) {
            if (strcmp(u[i].stage, stage) != 0)
                continue;
            struct au_eval e;
            au_eval_unit(&u[i], &docs, &e);
            struct au_unit_status *us = au_push(&st->units, &st->n_units,
                                                sizeof(*st->units));
            us->name = au_strdup(u[i].name);
            us->have = e.have;
            us->need = e.need;
            if (e.have < e.need)
                st->supported = false;
        }
        if (opp->stage && strcmp(opp->stage, stage) == 0 && !st->supported)
            current_missing = true;
    }
    au_evidence_free(&docs);
    struct au_opp_ref *ref = au_ref_find(cust, opp->id);
    if (ref)
        au_watch_set(inst, customer_id, ref,
                     current_missing &&
                             !au_strvec_has(&opp->alerted, opp->stage)
                         ? opp->stage_entered_at
                         : -1);
}

/* Refreshes every opportunity of the customer (after a change that affects
 * them all: a competitor link, a customer-level document). */
static void au_refresh_all(struct au_inst *inst, struct proc_ctx *ctx,
                           const struct event *ev, struct au_customer *cust)
{
    for (size_t i = 0; i < cust->n_docs; i++)
        cust->docs[i].uncovered = au_doc_uncovered(inst, cust, &cust->docs[i]);
    struct buf before, after;
    buf_init(&before);
    buf_init(&after);
    for (size_t i = 0; i < cust->n_opps; i++) {
        char *key = au_opp_key(ev->customer_id, cust->opps[i].id);
        struct au_opp *opp = ctx_state(ctx, key, NULL);
        if (!opp->id)
            opp->id = au_strdup(cust->opps[i].id);
        buf_reset(&before);
        buf_reset(&after);
        au_state_encode(opp, &before);
        au_opp_refresh(inst, ev->customer_id, cust, opp);
        au_state_encode(opp, &after);
        if (before.len != after.len ||
            memcmp(before.data, after.data, before.len) != 0)
            ctx_state_dirty(ctx, key);
        free(key);
    }
    buf_free(&before);
    buf_free(&after);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static bool au_industry_uses(const struct au_industry *ind, int doc_type)
{
    const struct au_unit *u = ind->units.items;
    for (size_t i = 0; i < ind->units.n; i++)
        if (u[i].doc_type == AU_DOC_ANY || u[i].doc_type == doc_type)
            return true;
    return false;
}

/* Records (or merges) the annotation's evidence into docs; drops the
 * oldest document beyond max_documents. Uses the hits of au_match(). */
static void au_store_doc(const struct au_inst *inst,
                         const struct au_ind_rt *ind, const struct event *ev,
                         uint8_t lang, struct au_doc **docs, size_t *n)
{
    const struct doc_annotation *an = &ev->u.annotation;
    struct au_doc *d = NULL;
    for (size_t i = 0; i < *n && !d; i++)
        if (strcmp((*docs)[i].document_id, an->document_id) == 0)
            d = &(*docs)[i];
    if (!d) {
        while (*n >= (size_t)inst->cfg->max_documents) {
            size_t old = 0;
            for (size_t i = 1; i < *n; i++)
                if ((*docs)[i].event_time < (*docs)[old].event_time)
                    old = i;
            au_doc_free(&(*docs)[old]);
            au_remove(*docs, n, sizeof(**docs), old);
        }
        d = au_push(docs, n, sizeof(**docs));
        d->document_id = au_strdup(an->document_id);
        d->event_time = ev->event_time;
    }
    d->doc_type = (uint8_t)an->doc_type;
    if (an->author_role && *an->author_role)
        au_replace(&d->author_role, an->author_role);
    if (!d->industry || strcmp(d->industry, ind->cfg->name) != 0) {
        au_replace(&d->industry, ind->cfg->name);
        au_strvec_free(&d->scenarios); /* another library: start over */
        au_strvec_free(&d->kw_units);
    }
    if (lang != AU_LANG_UNKNOWN)
        d->lang = lang;
    const struct au_scenario *sc = ind->cfg->scenarios.items;
    for (size_t k = 0; k < ind->cfg->scenarios.n; k++)
        if (au_hit(inst, AU_ID_SCENARIO, k))
            au_strvec_add_unique(&d->scenarios, sc[k].name);
    const struct au_unit *u = ind->cfg->units.items;
    for (size_t k = 0; k < ind->cfg->units.n; k++)
        if (u[k].keywords.n && au_hit(inst, AU_ID_UNIT, k))
            au_strvec_add_unique(&d->kw_units, u[k].name);
}

static void au_check_keywords(const struct au_inst *inst, struct proc_ctx *ctx,
                              const struct event *ev,
                              const struct au_ind_rt *ind, uint8_t lang)
{
    const struct au_industry *ic = ind->cfg;
    const struct au_rule *rule = &inst->cfg->rules.missing_keywords;
    if (!rule->enabled || ev->u.annotation.doc_type != DOC_VISIT_REPORT ||
        ic->required_keywords.n == 0)
        return;
    struct au_strvec missing = {0};
    for (size_t k = 0; k < ic->required_keywords.n; k++)
        if (!au_hit(inst, AU_ID_REQUIRED, k))
            au_strvec_add(&missing, ic->required_keywords.v[k]);
    if (missing.n == 0)
        return;
    const struct au_templates *tpl = au_tpl(inst, lang);
    bool zh = tpl == &inst->cfg->messages.zh;
    const char *label = zh ? ic->label_zh : ic->label_en;
    if (!label || !*label)
        label = ic->name;
    char *list = au_join(&missing, tpl->keyword_separator);
    char cs[24], rs[24];
    snprintf(cs, sizeof(cs), "%zu", missing.n);
    snprintf(rs, sizeof(rs), "%zu", ic->required_keywords.n);
    const struct doc_annotation *an = &ev->u.annotation;
    const struct au_var vars[] = {{"document", an->document_id},
                                  {"industry", label},
                                  {"missing", list},
                                  {"count", cs},
                                  {"required", rs}};
    char *msg = au_render_dup(tpl->missing_keywords, vars, CFG_COUNT(vars));
    const struct metric metrics[] = {
        {"missing", (double)missing.n},
        {"required", (double)ic->required_keywords.n}};
    size_t dn = strlen(an->document_id) + 32;
    char *dedup = au_xalloc(dn);
    snprintf(dedup, dn, "missing_keywords/%s", an->document_id);
    struct coaching_alert ca = {
        .rep_id = an->rep_id,
        .opportunity_id = an->opportunity_id,
        .document_id = an->document_id,
        .rule = "missing_keywords",
        .category = CAT_MISSING_KEYWORDS,
        .severity = (enum alert_severity)rule->severity,
        .message = msg,
        .metrics = metrics,
        .n_metrics = CFG_COUNT(metrics),
        .evidence = (const char *const *)missing.v,
        .n_evidence = missing.n,
    };
    au_emit(ctx, ev, dedup, &ca);
    free(dedup);
    free(msg);
    free(list);
    au_strvec_free(&missing);
}

static void au_on_annotation(struct au_inst *inst, struct proc_ctx *ctx,
                             const struct event *ev, struct au_customer *cust)
{
    const struct doc_annotation *an = &ev->u.annotation;
    struct au_opp *opp = NULL;
    if (an->opportunity_id && *an->opportunity_id)
        opp = au_opp_get(inst, ctx, ev, cust, an->opportunity_id);
    uint8_t lang = au_detect_lang(inst, an->text);
    if (lang != AU_LANG_UNKNOWN) {
        cust->lang = lang;
        if (opp)
            opp->lang = lang;
    }
    if (opp && !opp->rep_id && an->rep_id)
        opp->rep_id = au_strdup(an->rep_id);

    const struct au_ind_rt *ind =
        au_industry_find(inst, au_opp_industry(inst, cust, opp));
    if (!ind || !an->document_id)
        goto refresh;
    if (au_match(inst, ind, an->text) != 0) {
        LOG_RL(LOG_WARN, "action_units", "scan failed on document %s of %s",
               an->document_id, ev->customer_id);
        goto refresh;
    }
    au_check_keywords(inst, ctx, ev, ind, lang);
    if (au_industry_uses(ind->cfg, an->doc_type)) {
        if (opp)
            au_store_doc(inst, ind, ev, lang, &opp->docs, &opp->n_docs);
        else
            au_store_doc(inst, ind, ev, lang, &cust->docs, &cust->n_docs);
    }
refresh:
    if (opp)
        au_opp_refresh(inst, ev->customer_id, cust, opp);
    else
        au_refresh_all(inst, ctx, ev, cust);
}

static void au_on_registry(struct au_inst *inst, struct proc_ctx *ctx,
                           const struct event *ev, struct au_customer *cust)
{
    const struct registry_change *rc = &ev->u.registry;
    if (!rc->entity_id)
        return;
    bool changed = false;
    if (rc->change_type == CHANGE_COMPETITOR_LINKED) {
        struct au_competitor *c = NULL;
        for (size_t i = 0; i < cust->n_comp && !c; i++)
            if (strcmp(cust->comp[i].id, rc->entity_id) == 0)
                c = &cust->comp[i];
        if (!c) {
            while (cust->n_comp >= (size_t)inst->cfg->max_competitors) {
                size_t old = 0;
                for (size_t i = 1; i < cust->n_comp; i++)
                    if (cust->comp[i].linked_at < cust->comp[old].linked_at)
                        old = i;
                free(cust->comp[old].id);
                free(cust->comp[old].name);
                au_remove(cust->comp, &cust->n_comp, sizeof(*cust->comp), old);
            }
            c = au_push(&cust->comp, &cust->n_comp, sizeof(*cust->comp));
            c->id = au_strdup(rc->entity_id);
            c->linked_at = ev->event_time;
        }
        if (rc->entity_name)
            au_replace(&c->name, rc->entity_name);
        changed = true;
    } else if (rc->change_type == CHANGE_RELATION_REMOVED) {
        for (size_t i = 0; i < cust->n_comp; i++) {
            if (strcmp(cust->comp[i].id, rc->entity_id) == 0) {
                free(cust->comp[i].id);
                free(cust->comp[i].name);
                au_remove(cust->comp, &cust->n_comp, sizeof(*cust->comp), i);
                changed = true;
                break;
            }
        }
    }
    if (changed) {
        ctx_state_dirty(ctx, ev->customer_id);
        au_refresh_all(inst, ctx, ev, cust);
    }
}

static uint8_t au_opp_lang(const struct au_customer *cust,
                           const struct au_opp *opp)
{
    return opp->lang != AU_LANG_UNKNOWN ? opp->lang : cust->lang;
}

/* Raises stage_claim_unsupported when a stage in [from, to) lacks units,
 * and records the claim so inspect can later show it supported. */
static void au_check_claim(struct au_inst *inst, struct proc_ctx *ctx,
                           const struct event *ev, struct au_customer *cust,
                           struct au_opp *opp, const struct au_ind_rt *ind)
{
    const struct opportunity_update *up = &ev->u.opportunity;
    const struct au_rule *rule = &inst->cfg->rules.stage_claim_unsupported;
    ssize_t to = au_stage_index(ind->cfg, up->stage_to);
    ssize_t a = au_stage_index(ind->cfg, up->stage_from);
    ssize_t b = au_stage_index(ind->cfg, opp->stage);
    ssize_t from = a < 0 ? b : b < 0 ? a : (a < b ? a : b);
    if (!rule->enabled || to < 0 || from < 0 || to <= from)
        return;

    const struct au_templates *tpl = au_tpl(inst, au_opp_lang(cust, opp));
    bool zh = tpl == &inst->cfg->messages.zh;
    struct au_strvec evid = {0}, stages = {0};
    int64_t have = 0, need = 0;
    size_t units_missing = 0;
    struct au_evidence docs;
    au_evidence_build(inst, cust, opp, &docs);
    for (ssize_t s = from; s < to; s++) {
        const char *stage = ind->cfg->stages.v[s];
        size_t m = au_stage_gaps(ind->cfg, stage, &docs, tpl, zh, &evid,
                                 &have, &need);
        if (m) {
            units_missing += m;
            au_strvec_add(&stages, stage);
        }
    }
    au_evidence_free(&docs);
    if (units_missing == 0)
        goto out;

    char *missing = au_join(&evid, tpl->separator);
    char *stage_list = au_join(&stages, zh ? "、" : ", ");
    char hs[24], ns[24];
    snprintf(hs, sizeof(hs), "%lld", (long long)have);
    snprintf(ns, sizeof(ns), "%lld", (long long)need);
    const char *from_name = up->stage_from ? up->stage_from : opp->stage;
    const struct au_var vars[] = {{"opportunity", opp->id},
                                  {"from", from_name},
                                  {"to", up->stage_to},
                                  {"stage", stage_list},
                                  {"missing", missing},
                                  {"have", hs},
                                  {"need", ns}};
    char *msg = au_render_dup(tpl->stage_claim, vars, CFG_COUNT(vars));
    const struct metric metrics[] = {
        {"have", (double)have},
        {"need", (double)need},
        {"units_missing", (double)units_missing},
        {"stages_unsupported", (double)stages.n}};
    size_t dn = strlen(opp->id) + strlen(up->stage_to) + 40;
    char *dedup = au_xalloc(dn);
    snprintf(dedup, dn, "stage_claim_unsupported/%s/%s", opp->id,
             up->stage_to);
    struct coaching_alert ca = {
        .rep_id = up->rep_id ? up->rep_id : opp->rep_id,
        .opportunity_id = opp->id,
        .rule = "stage_claim_unsupported",
        .category = CAT_STAGE_CLAIM_UNSUPPORTED,
        .severity = (enum alert_severity)rule->severity,
        .message = msg,
        .metrics = metrics,
        .n_metrics = CFG_COUNT(metrics),
        .evidence = (const char *const *)evid.v,
        .n_evidence = evid.n,
    };
    au_emit(ctx, ev, dedup, &ca);

    if (opp->n_claims >= AU_MAX_CLAIMS) {
        struct au_claim *old = &opp->claims[0];
        free(old->event_id);
        free(old->from);
        free(old->to);
        au_strvec_free(&old->stages);
        au_remove(opp->claims, &opp->n_claims, sizeof(*opp->claims), 0);
    }
    struct au_claim *cl = au_push(&opp->claims, &opp->n_claims,
                                  sizeof(*opp->claims));
    cl->event_id = au_strdup(ev->event_id);
    cl->from = au_strdup(from_name);
    cl->to = au_strdup(up->stage_to);
    cl->at = ev->event_time;
    cl->stages = stages;
    stages.v = NULL;
    stages.n = 0;
    free(dedup);
    free(msg);
    free(stage_list);
    free(missing);
out:
    au_strvec_free(&evid);
    au_strvec_free(&stages);
}

static void au_on_opportunity(struct au_inst *inst, struct proc_ctx *ctx,
                              const struct event *ev, struct au_customer *cust)
{
    const struct opportunity_update *up = &ev->u.opportunity;
    if (!up->opportunity_id || !up->stage_to)
        return;
    struct au_opp *opp = au_opp_get(inst, ctx, ev, cust, up->opportunity_id);
    if (up->industry && *up->industry) {
        au_replace(&opp->industry, up->industry);
        au_replace(&cust->industry, up->industry);
    }
    if (up->rep_id && *up->rep_id)
        au_replace(&opp->rep_id, up->rep_id);
    const struct au_ind_rt *ind =
        au_industry_find(inst, au_opp_industry(inst, cust, opp));
    if (ind)
        au_check_claim(inst, ctx, ev, cust, opp, ind);
    if (!opp->stage || strcmp(opp->stage, up->stage_to) != 0) {
        au_replace(&opp->stage, up->stage_to);
        opp->stage_entered_at = ev->event_time;
    }
    au_opp_refresh(inst, ev->customer_id, cust, opp);
}

/*
 * Judges opportunity `key` (of customer `customer_id`) for
 * action_units_incomplete at event time `at`, which is at or past its
 * deadline, and stops watching it: the rule fires at most once per stage
 * whichever path gets here first. From the timer (`timer`) the alert cites
 * the opportunity's last event and event_time = `at`, the deadline; from an
 * event the runtime stamps that event. Either way the alert_id is derived
 * from the opportunity and stage alone (alert.id_from_state).
 */
static void au_judge_incomplete(struct au_inst *inst, struct proc_ctx *ctx,
                                const char *customer_id,
                                struct au_customer *cust,
                                struct au_opp_ref *ref, const char *key,
                                struct au_opp *opp, int64_t at, bool timer)
{
    const struct au_rule_timed *rule = &inst->cfg->rules.action_units_incomplete;
    ctx_state_dirty(ctx, key);
    ctx_state_dirty(ctx, customer_id);
    au_watch_set(inst, customer_id, ref, -1);
    const struct au_ind_rt *ind =
        au_industry_find(inst, au_opp_industry(inst, cust, opp));
    if (!opp->id || !opp->stage || !ind ||
        au_strvec_has(&opp->alerted, opp->stage))
        return;
    const struct au_templates *tpl = au_tpl(inst, au_opp_lang(cust, opp));
    bool zh = tpl == &inst->cfg->messages.zh;
    struct au_strvec evid = {0};
    int64_t have = 0, need = 0;
    struct au_evidence docs;
    au_evidence_build(inst, cust, opp, &docs);
    size_t m = au_stage_gaps(ind->cfg, opp->stage, &docs, tpl, zh, &evid,
                             &have, &need);
    au_evidence_free(&docs);
    if (m) {
        int64_t days = (at - opp->stage_entered_at) / 86400000;
        char ds[24], hs[24], ns[24];
        snprintf(ds, sizeof(ds), "%lld", (long long)days);
        snprintf(hs, sizeof(hs), "%lld", (long long)have);
        snprintf(ns, sizeof(ns), "%lld", (long long)need);
        char *missing = au_join(&evid, tpl->separator);
        const struct au_var vars[] = {{"opportunity", opp->id},
                                      {"stage", opp->stage},
                                      {"days", ds},
                                      {"missing", missing},
                                      {"have", hs},
                                      {"need", ns}};
        char *msg = au_render_dup(tpl->incomplete, vars, CFG_COUNT(vars));
        const struct metric metrics[] = {{"have", (double)have},
                                         {"need", (double)need},
                                         {"units_missing", (double)m},
                                         {"days", (double)days}};
        size_t dn = strlen(opp->id) + strlen(opp->stage) + 40;
        char *dedup = au_xalloc(dn);
        snprintf(dedup, dn, "action_units_incomplete/%s/%s", opp->id,
                 opp->stage);
        struct coaching_alert ca = {
            .rep_id = opp->rep_id,
            .opportunity_id = opp->id,
            .rule = "action_units_incomplete",
            .category = CAT_ACTION_UNITS_INCOMPLETE,
            .severity = (enum alert_severity)rule->severity,
            .message = msg,
            .metrics = metrics,
            .n_metrics = CFG_COUNT(metrics),
            .evidence = (const char *const *)evid.v,
            .n_evidence = evid.n,
        };
        /* Once per opportunity and stage, by the timer or by a later
         * event, whichever comes first: which one depends on timing, so
         * the id must not (issue 26, case 4). */
        au_emit_from(ctx, customer_id, timer ? opp : NULL, at, dedup, true,
                     &ca);
        au_strvec_add(&opp->alerted, opp->stage);
        free(dedup);
        free(msg);
        free(missing);
    }
    au_strvec_free(&evid);
}

/* ACTION_UNITS_INCOMPLETE for every opportunity of the event's customer
 * whose current stage was entered at least `after` before the event (event
 * time) and still lacks units. */
static void au_check_deadlines(struct au_inst *inst, struct proc_ctx *ctx,
                               const struct event *ev,
                               struct au_customer *cust)
{
    const struct au_rule_timed *rule = &inst->cfg->rules.action_units_incomplete;
    if (!rule->enabled)
        return;
    for (size_t i = 0; i < cust->n_opps; i++) {
        struct au_opp_ref *ref = &cust->opps[i];
        if (ref->watch_since < 0 ||
            ev->event_time - ref->watch_since < rule->after_ms)
            continue;
        char *key = au_opp_key(ev->customer_id, ref->id);
        struct au_opp *opp = ctx_state(ctx, key, NULL);
        au_judge_incomplete(inst, ctx, ev->customer_id, cust, ref, key, opp,
                            ev->event_time, false);
        free(key);
    }
}

/* ---- on_timer: deadlines passed by the stream-time watermark ---- */

struct au_due {
    char *key;
    int64_t deadline;
};

struct au_due_scan {
    int64_t watermark;
    int64_t next; /* smallest deadline not yet due */
    struct au_due *v;
    size_t n;
};

static int au_collect_due(void *arg, const char *key, void *val)
{
    struct au_due_scan *d = arg;
    int64_t deadline = *(const int64_t *)val;
    if (deadline > d->watermark) {
        if (deadline < d->next)
            d->next = deadline;
        return 0;
    }
    struct au_due *e = au_push(&d->v, &d->n, sizeof(*d->v));
    e->key = au_strdup(key);
    e->deadline = deadline;
    return 0;
}

/* Deadline, then key: the emission order does not depend on the hash map. */
static int au_due_cmp(const void *pa, const void *pb)
{
    const struct au_due *a = pa, *b = pb;
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline ? -1 : 1;
    return strcmp(a->key, b->key);
}

struct au_rebuild {
    struct au_inst *inst;
    struct proc_ctx *ctx;
};

/* One key of the namespace: a customer's watched opportunities go into
 * the index (opportunity objects themselves are not loaded). */
static int au_rebuild_key(void *arg, const char *key)
{
    struct au_rebuild *rb = arg;
    if (au_key_is_opp(key))
        return 0;
    struct au_customer *cust = ctx_state_find(rb->ctx, key);
    if (!cust || cust->type != AU_OBJ_CUSTOMER)
        return 0;
    for (size_t i = 0; i < cust->n_opps; i++)
        if (cust->opps[i].watch_since >= 0)
            au_watch_set(rb->inst, key, &cust->opps[i],
                         cust->opps[i].watch_since);
    return 0;
}

/* Stream time for a deadline of opp: its partition's, or the instance's
 * without provenance (format-1 records). */
static int64_t au_stream_time(const struct au_inst *inst,
                              const struct au_opp *opp)
{
    if (opp && opp->last_topic && opp->last_partition >= 0 &&
        (size_t)opp->last_partition < inst->n_part_wm)
        return inst->part_wm[opp->last_partition];
    return opp && opp->last_topic ? INT64_MIN : inst->watermark;
}

static void au_stream_time_advance(struct au_inst *inst, int32_t partition,
                                   int64_t event_time)
{
    if (partition < 0 || partition > 65535)
        return; /* not from Kafka (tests) or absurd: the global one serves */
    if ((size_t)partition >= inst->n_part_wm) {
        size_t n = (size_t)partition + 1;
        int64_t *v = realloc(inst->part_wm, n * sizeof(*v));
        if (!v)
            abort();
        for (size_t i = inst->n_part_wm; i < n; i++)
            v[i] = INT64_MIN;
        inst->part_wm = v;
        inst->n_part_wm = n;
    }
    if (event_time > inst->part_wm[partition])
        inst->part_wm[partition] = event_time;
}

/* A due index entry: re-checked against the state, which is the truth. */
static void au_timer_judge(struct au_inst *inst, struct proc_ctx *ctx,
                           const char *key)
{
    const char *sep = strstr(key, AU_OPP_INFIX);
    if (!sep) {
        au_pending_del(inst, key);
        return;
    }
    size_t cn = (size_t)(sep - key);
    char *cid = au_xalloc(cn + 1);
    memcpy(cid, key, cn);
    struct au_customer *cust = ctx_state_find(ctx, cid);
    struct au_opp_ref *ref = NULL;
    if (cust && cust->type == AU_OBJ_CUSTOMER)
        ref = au_ref_find(cust, sep + strlen(AU_OPP_INFIX));
    if (!ref || ref->watch_since < 0) {
        au_pending_del(inst, key); /* judged or dropped meanwhile */
        goto out;
    }
    struct au_opp *opp = ctx_state_find(ctx, key);
    if (opp && opp->last_topic &&
        !ctx_owns(ctx, opp->last_topic, opp->last_partition)) {
        /* Its partition moved to another instance, which judges it; this
         * copy is stale. Back in the index if the partition returns. */
        au_pending_del(inst, key);
        goto out;
    }
    int64_t deadline = au_deadline(inst, ref->watch_since);
    if (deadline > au_stream_time(inst, opp)) {
        au_pending_put(inst, key, deadline); /* stale entry */
        goto out;
    }
    if (!opp || !opp->last_event_id) {
        /* No event to cite (a format-1 record untouched since the
         * upgrade): left to the per-event path, which still watches it. */
        au_pending_del(inst, key);
        LOG_RL(LOG_INFO, "action_units",
               "%s: no last event recorded; deadline left to the next event "
               "of the customer", key);
        goto out;
    }
    au_judge_incomplete(inst, ctx, cid, cust, ref, key, opp, deadline, true);
out:
    free(cid);
}

/*
 * Fires action_units_incomplete for every watched opportunity whose
 * deadline the stream-time watermark has passed. now_ms (wall clock) is
 * deliberately unused: the decision is a function of the events alone.
 */
static void au_on_timer(void *vinst, struct proc_ctx *ctx, int64_t now_ms)
{
    (void)now_ms;
    struct au_inst *inst = vinst;
    if (!inst->cfg->rules.action_units_incomplete.enabled)
        return;
    if (!inst->indexed || inst->indexed_at != ctx_assignment(ctx)) {
        /* First tick since init: the index knows only what events touched
         * since; the state knows every watch. Entries already there are
         * overwritten with the same values. */
        struct au_rebuild rb = {inst, ctx};
        ctx_state_foreach(ctx, au_rebuild_key, &rb);
        inst->indexed = true;
        inst->indexed_at = ctx_assignment(ctx);
    }
    if (!inst->has_watermark || inst->next_due > inst->watermark)
        return;
    struct au_due_scan d = {.watermark = inst->watermark, .next = INT64_MAX};
    hmap_each(inst->pending, au_collect_due, &d);
    inst->next_due = d.next; /* re-lowered by any entry put back below */
    if (d.n > 1)
        qsort(d.v, d.n, sizeof(*d.v), au_due_cmp);
    for (size_t i = 0; i < d.n; i++) {
        au_timer_judge(inst, ctx, d.v[i].key);
        free(d.v[i].key);
    }
    free(d.v);
}

static int au_handle(void *vinst, struct proc_ctx *ctx, const struct event *ev)
{
    struct au_inst *inst = vinst;
    if (!ev->customer_id || !*ev->customer_id) {
        ctx_fail(ctx, "event without customer_id");
        return -1;
    }
    /* Every handled event advances stream time, whatever its customer or
     * whether this processor keeps anything of it. */
    if (!inst->has_watermark || ev->event_time > inst->watermark) {
        inst->watermark = ev->event_time;
        inst->has_watermark = true;
    }
    au_stream_time_advance(inst, ev->src.partition, ev->event_time);
    /* Registry traffic is mostly about customers this processor has no
     * business with: only a competitor link creates state. */
    if (ev->kind == EVENT_REGISTRY &&
        ev->u.registry.change_type != CHANGE_COMPETITOR_LINKED &&
        !ctx_state_find(ctx, ev->customer_id))
        return 0;
    struct au_customer *cust = ctx_state(ctx, ev->customer_id, NULL);
    switch (ev->kind) {
    case EVENT_ANNOTATION:
        ctx_state_dirty(ctx, ev->customer_id); /* language, maybe documents */
        au_on_annotation(inst, ctx, ev, cust);
        break;
    case EVENT_OPPORTUNITY:
        ctx_state_dirty(ctx, ev->customer_id);
        au_on_opportunity(inst, ctx, ev, cust);
        break;
    case EVENT_REGISTRY:
        au_on_registry(inst, ctx, ev, cust);
        break;
    default:
        return 0;
    }
    au_check_deadlines(inst, ctx, ev, cust);
    return 0;
}

/* See processor_ops.state_keys: the customer's record and the opportunity
 * the event names. */
static size_t au_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    (void)inst;
    if (!max || !ev->customer_id || !ev->customer_id[0])
        return 0;
    size_t n = 0;
    out[n++] = (struct state_key){{ev->customer_id}};
    const char *opp = ev->kind == EVENT_ANNOTATION ? ev->u.annotation.opportunity_id
                      : ev->kind == EVENT_OPPORTUNITY
                          ? ev->u.opportunity.opportunity_id
                          : NULL;
    if (opp && opp[0] && n < max)
        out[n++] = (struct state_key){{ev->customer_id, AU_OPP_INFIX, opp}};
    return n;
}

const struct processor_ops processor_action_units = {
    .name = "action_units",
    .description = "Verifies a stage's action units from document evidence: "
                   "required visit-report keywords, stage gates, unsupported "
                   "stage claims.",
    .inputs = EVENT_MASK(EVENT_ANNOTATION) | EVENT_MASK(EVENT_OPPORTUNITY) |
              EVENT_MASK(EVENT_REGISTRY),
    .config = &au_config_table,
    .init = au_init,
    .handle = au_handle,
    .on_timer = au_on_timer,
    .destroy = au_destroy,
    .state_new = au_state_new,
    .state_encode = au_state_encode,
    .state_prefetch = au_state_prefetch,
    .state_keys = au_state_keys,
    .state_decode = au_state_decode,
    .state_free = au_state_free,
    .state_to_json = au_state_to_json,
};
