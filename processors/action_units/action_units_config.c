/*
 * action_units_config.c - processors.action_units: per industry its stages,
 * action units, required keywords and scenarios, the three rules and the
 * message templates, with the article's medical example as default.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_units.h"


static const char *const au_doc_type_opts[] = {
    "VISIT_REPORT", "INTERVIEW_NOTE", "QUOTE", "PROPOSAL", "CONTRACT",
    "EMAIL",        "OTHER",          "ANY",   NULL};
static const char *const au_severity_opts[] = {"INFO", "WARNING", "RED", NULL};
static const char *const au_lang_opts[] = {"zh", "en", NULL};

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

ssize_t au_stage_index(const struct au_industry *ind, const char *stage)
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
const char *au_industry_validate(const struct au_industry *ind,
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
    CFG_KEY_RANGE(struct au_config, evidence_grace_ms, "evidence_grace",
                  CFG_DURATION, "10m", 0, 2592000000.0,
                  "How long, in stream time (event time, not the wall "
                  "clock), a stage claim that lacks units waits for "
                  "evidence before stage_claim_unsupported is judged: it is "
                  "judged once the partition's stream time passes the "
                  "claim's event time plus this, or at once when the "
                  "evidence is complete. Evidence arriving after the alert "
                  "was sent brings a follow-up (INFO, resolves_alert_id set "
                  "to the alert's id). 0: judged on arrival. See TIME.md."),
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

const struct config_table action_units_config_table = {
    .name = "action_units",
    .keys = au_config_keys,
    .n_keys = CFG_COUNT(au_config_keys),
    .elem_size = sizeof(struct au_config),
    .check = au_config_check,
    .doc = "Action-unit verification: document evidence "
           "per opportunity, required visit-report keywords, stage gates.",
};
