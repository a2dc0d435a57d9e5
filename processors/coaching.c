/*
 * coaching.c - real-time conversation coaching from meeting transcripts.
 *
 * Per meeting ("<customer>/m/<meeting_id>") the processor folds ASR segments
 * into conversation metrics (daemon/meeting.h) and judges coaching rules
 * while the meeting runs, so the rep is told during the call:
 *   UNANSWERED_OBJECTION  a customer concern from the objection library not
 *                         answered by a rep turn within `window` of meeting
 *                         time; judged on the first segment starting after
 *                         the window, or at meeting end; once per raise,
 *   SELF_FOCUS            rep product-centric phrases > ratio x customer-
 *                         centric ones, after a minimum count,
 *   DISCOVERY_TIME        the discovery phase ended (or the meeting ended in
 *                         or without it) shorter than a threshold,
 *   QUESTIONS             too few rep questions during discovery (judged
 *                         with DISCOVERY_TIME),
 *   MISSED_CONTEXT        the rep raises a topic linked to an open issue of
 *                         the customer (IoT alert, complaining document in
 *                         the last N days) and does not address the issue
 *                         within a window,
 *   MONOLOGUE             a rep turn longer than a threshold (on the spot),
 *   TALK_RATIO            rep share of talk time too high (meeting end),
 *   COMPETITOR_MENTION    the customer names a configured competitor or one
 *                         linked to it in the registry; carries the
 *                         battlecard.
 * Every rule fires at most once per meeting, objections once per raise.
 * Messages use the meeting's language: Chinese when CJK characters make up
 * at least `language_cjk_ratio` of the letters seen so far.
 *
 * The customer's context ("<customer>/ctx") is fed by IoT alerts, document
 * annotations and registry changes: open issues per context link (bounded,
 * pruned after `rules.missed_context.lookback` of the customer's event
 * time), competitors linked in the registry, and tombstones of closed
 * meetings.
 *
 * Meeting end: on is_final, or when no segment arrived for `idle_timeout` of
 * wall clock (on_timer). End-of-meeting rules run, a MeetingSummary is
 * emitted, and the meeting object is deleted at once; a tombstone (meeting
 * id, close time) stays in the customer's context for `closed_ttl` of the
 * customer's event time so late segments are dropped instead of reopening
 * the meeting or firing twice. The idle index lives in memory only: touched
 * meetings get the wall-clock time of the next timer tick, and after a
 * restart or a rebalance the first tick rebuilds the index from the store,
 * treating every meeting found as last seen then. Only meetings of
 * partitions this instance owns now are closed (ctx_owns): the store keeps
 * stale copies of meetings whose partition moved to another instance.
 *
 * Segments of a meeting must arrive in seq order (the Kafka key is the
 * customer, so one producer's order is kept); a seq not above the last one
 * is a duplicate and is ignored.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "log.h"
#include "matcher.h"
#include "meeting.h"
#include "processor.h"

#define CO_MAX_OBJECTIONS 64  /* bit sets below are 64 wide */
#define CO_MAX_COMPETITORS 64
#define CO_MAX_LINKS 32
#define CO_MAX_PENDING 8      /* open objections per meeting */
#define CO_MAX_TOPICS 8       /* context links touched per meeting */
#define CO_MAX_ISSUES 16      /* open issues per customer */
#define CO_MAX_CTX_COMPETITORS 16
#define CO_MAX_TOMBSTONES 32  /* recently closed meetings per customer */
#define CO_EVIDENCE_MAX 280   /* bytes of text kept as evidence */
#define CO_KEY_MAX 512
#define CO_STATE_VERSION 1

/* State keys: "<customer>/ctx" for a customer's context,
 * "<customer>/m/<meeting>" for a meeting (make_key, co_state_keys). */
#define CO_CTX_SUFFIX "/ctx"
#define CO_MEETING_INFIX "/m/"

/* ------------------------------------------------------------------ */
/* Configuration                                                        */
/* ------------------------------------------------------------------ */

static const char *const severity_opts[] = {"INFO", "WARNING", "RED", NULL};

struct co_rule { /* the part every rule has */
    bool enabled;
    char *id;
    int severity; /* enum alert_severity */
    char *message_zh;
    char *message_en;
};

struct co_objection {
    char *name;
    struct cfg_strlist phrases; /* what the customer says */
    struct cfg_strlist answers; /* rep keywords that answer it */
};

struct co_competitor {
    char *name;
    struct cfg_strlist names; /* how it is spoken of */
    char *battlecard;
    char *battlecard_zh; /* optional; "" falls back to battlecard */
};

struct co_link {
    char *name;
    struct cfg_strlist topics;          /* rep phrases */
    struct cfg_strlist iot_alert_types; /* IoT alerts that open the issue */
    struct cfg_strlist doc_keywords;    /* annotation text that opens it */
    struct cfg_strlist doc_types;       /* empty: any document type */
    struct cfg_strlist addressed_by;    /* rep phrases that address it */
    char *issue_zh;
    char *issue_en;
};

struct co_r_objection {
    struct co_rule r;
    int64_t window_ms;
};
struct co_r_self_focus {
    struct co_rule r;
    double ratio;
    int64_t min_count;
};
struct co_r_discovery {
    struct co_rule r;
    int64_t min_ms;
    bool fire_if_skipped;
};
struct co_r_context {
    struct co_rule r;
    int64_t window_ms;
    int64_t lookback_ms;
};
struct co_r_talk {
    struct co_rule r;
    double max_share;
    int64_t min_talk_ms;
};
struct co_r_monologue {
    struct co_rule r;
    int64_t max_ms;
};
struct co_r_questions {
    struct co_rule r;
    int64_t min_questions;
};
struct co_r_competitor {
    struct co_rule r;
    char *default_battlecard;
};

struct co_rules {
    struct co_r_objection objection;
    struct co_r_self_focus self_focus;
    struct co_r_discovery discovery;
    struct co_r_context context;
    struct co_r_talk talk;
    struct co_r_monologue monologue;
    struct co_r_questions questions;
    struct co_r_competitor competitor;
};

struct co_config {
    int64_t idle_timeout_ms; /* wall clock */
    int64_t closed_ttl_ms;   /* event time */
    double cjk_ratio;
    char *discovery_phase;
    struct cfg_strlist backchannels;
    struct cfg_strlist question_cues;
    struct cfg_strlist question_openers;
    struct cfg_strlist product_focus;
    struct cfg_strlist customer_focus;
    struct cfg_array objections;    /* struct co_objection */
    struct cfg_array competitors;   /* struct co_competitor */
    struct cfg_array context_links; /* struct co_link */
    struct co_rules rules;
};

#define RULE_KEYS(T, ID, SEV, ZH, EN)                                         \
    CFG_KEY(T, r.enabled, "enabled", CFG_BOOL, "true",                        \
            "Whether the rule runs."),                                        \
    CFG_KEY(T, r.id, "id", CFG_STRING, ID,                                    \
            "Rule id carried by the alert (CoachingAlert.rule)."),            \
    CFG_KEY_ENUM(T, r.severity, "severity", SEV, severity_opts,               \
                 "Alert severity."),                                          \
    CFG_KEY(T, r.message_zh, "message_zh", CFG_STRING, "'" ZH "'",            \
            "Message template for Chinese meetings; {name} placeholders."),   \
    CFG_KEY(T, r.message_en, "message_en", CFG_STRING, "'" EN "'",            \
            "Message template for other meetings; {name} placeholders.")

static const struct config_key objection_rule_keys[] = {
    RULE_KEYS(struct co_r_objection, "unanswered_objection", "RED",
              "客户提出的顾虑「{objection}」已超过 {window_s} 秒没有得到回应，"
              "建议围绕 {answers} 作答。",
              "The customer raised \"{objection}\" and it has gone "
              "unanswered for over {window_s} s. Address it (e.g. "
              "{answers})."),
    CFG_KEY_RANGE(struct co_r_objection, window_ms, "window", CFG_DURATION,
                  "120s", 1000, 86400000,
                  "Meeting time a rep turn has to answer an objection."),
};

static const struct config_key self_focus_rule_keys[] = {
    RULE_KEYS(struct co_r_self_focus, "self_focus", "WARNING",
              "产品导向的表述（{product} 次）是客户导向表述（{customer} 次）"
              "的 {ratio} 倍以上，多谈客户的痛点和目标。",
              "Product-centric phrasing ({product}x) outweighs "
              "customer-centric phrasing ({customer}x) by more than "
              "{ratio}:1. Talk about the customer''s challenges and goals."),
    CFG_KEY_RANGE(struct co_r_self_focus, ratio, "ratio", CFG_DOUBLE, "3",
                  1, 100,
                  "Fire when product phrases exceed this many times the "
                  "customer phrases."),
    CFG_KEY_RANGE(struct co_r_self_focus, min_count, "min_count", CFG_INT,
                  "4", 1, 1000,
                  "Product phrases needed before the rule is judged."),
};

static const struct config_key discovery_rule_keys[] = {
    RULE_KEYS(struct co_r_discovery, "discovery_time", "WARNING",
              "需求探询只进行了 {discovery_min} 分钟（建议至少 {min_min} "
              "分钟），先充分了解客户需求再介绍方案。",
              "Needs discovery lasted only {discovery_min} min (target "
              "{min_min} min). Understand the customer''s needs before "
              "presenting."),
    CFG_KEY_RANGE(struct co_r_discovery, min_ms, "min_duration",
                  CFG_DURATION, "4m", 1000, 86400000,
                  "Shortest acceptable discovery phase (meeting time)."),
    CFG_KEY(struct co_r_discovery, fire_if_skipped, "fire_if_skipped",
            CFG_BOOL, "true",
            "Fire at meeting end when phases were labelled but discovery "
            "never happened."),
};

static const struct config_key context_rule_keys[] = {
    RULE_KEYS(struct co_r_context, "missed_context", "WARNING",
              "你提到了「{topic}」，但没有联系客户最近的问题：{issue}。",
              "You mentioned \"{topic}\" but did not tie it to the "
              "customer''s recent issue: {issue}."),
    CFG_KEY_RANGE(struct co_r_context, window_ms, "window", CFG_DURATION,
                  "120s", 1000, 86400000,
                  "Meeting time the rep has, after raising the topic, to "
                  "address the issue."),
    CFG_KEY_RANGE(struct co_r_context, lookback_ms, "lookback", CFG_DURATION,
                  "7d", 60000, 31536000000.0,
                  "How long an IoT alert or document keeps an issue open "
                  "(event time)."),
};

static const struct config_key talk_rule_keys[] = {
    RULE_KEYS(struct co_r_talk, "talk_ratio", "WARNING",
              "本次会议销售发言占比 {share}%（上限 {max}%），请多倾听客户。",
              "You talked {share}% of the time (limit {max}%). Let the "
              "customer talk more."),
    CFG_KEY_RANGE(struct co_r_talk, max_share, "max_rep_share", CFG_DOUBLE,
                  "0.65", 0.05, 1, "Highest acceptable rep share of talk time."),
    CFG_KEY_RANGE(struct co_r_talk, min_talk_ms, "min_talk", CFG_DURATION,
                  "2m", 0, 86400000,
                  "Total talk time below which the ratio is not judged."),
};

static const struct config_key monologue_rule_keys[] = {
    RULE_KEYS(struct co_r_monologue, "monologue", "WARNING",
              "你已连续讲了 {monologue_s} 秒（上限 {max_s} 秒），停下来问客户"
              "一个问题。",
              "You have been talking for {monologue_s} s without a break "
              "(limit {max_s} s). Pause and ask a question."),
    CFG_KEY_RANGE(struct co_r_monologue, max_ms, "max_duration", CFG_DURATION,
                  "150s", 1000, 86400000, "Longest acceptable rep turn."),
};

static const struct config_key questions_rule_keys[] = {
    RULE_KEYS(struct co_r_questions, "questions", "INFO",
              "需求探询阶段只问了 {questions} 个问题（建议至少 {min} 个）。",
              "Only {questions} questions asked during discovery (at least "
              "{min} expected)."),
    CFG_KEY_RANGE(struct co_r_questions, min_questions, "min_questions",
                  CFG_INT, "3", 1, 1000,
                  "Fewest rep questions expected during discovery."),
};

static const struct config_key competitor_rule_keys[] = {
    RULE_KEYS(struct co_r_competitor, "competitor_mention", "INFO",
              "客户提到了竞争对手 {competitor}。应对要点：{battlecard}",
              "The customer mentioned competitor {competitor}. Battlecard: "
              "{battlecard}"),
    CFG_KEY(struct co_r_competitor, default_battlecard, "default_battlecard",
            CFG_STRING,
            "\"Ask what they like about it; steer to our differentiators.\"",
            "Battlecard for competitors known only from the registry."),
};

#define RULE_TABLE(VAR, T, NAME, KEYS, DOC)                                   \
    static const struct config_table VAR = {.name = NAME,                     \
                                            .keys = KEYS,                     \
                                            .n_keys = CFG_COUNT(KEYS),        \
                                            .elem_size = sizeof(T),           \
                                            .doc = DOC}

RULE_TABLE(objection_rule_table, struct co_r_objection, "unanswered_objection",
           objection_rule_keys,
           "A customer concern from `objections` left unanswered.");
RULE_TABLE(self_focus_rule_table, struct co_r_self_focus, "self_focus",
           self_focus_rule_keys, "Product-centric rather than customer-centric talk.");
RULE_TABLE(discovery_rule_table, struct co_r_discovery, "discovery_time",
           discovery_rule_keys, "Needs discovery cut short.");
RULE_TABLE(context_rule_table, struct co_r_context, "missed_context",
           context_rule_keys, "A topic tied to an open customer issue, issue not addressed.");
RULE_TABLE(talk_rule_table, struct co_r_talk, "talk_ratio", talk_rule_keys,
           "Rep talks too much (judged at meeting end).");
RULE_TABLE(monologue_rule_table, struct co_r_monologue, "monologue",
           monologue_rule_keys, "One rep turn too long.");
RULE_TABLE(questions_rule_table, struct co_r_questions, "questions",
           questions_rule_keys, "Too few rep questions during discovery.");
RULE_TABLE(competitor_rule_table, struct co_r_competitor, "competitor_mention",
           competitor_rule_keys, "The customer names a competitor.");

static const struct config_key rules_keys[] = {
    CFG_KEY_SUB(struct co_rules, objection, "unanswered_objection",
                CFG_SECTION, &objection_rule_table, "UNANSWERED_OBJECTION."),
    CFG_KEY_SUB(struct co_rules, self_focus, "self_focus", CFG_SECTION,
                &self_focus_rule_table, "SELF_FOCUS."),
    CFG_KEY_SUB(struct co_rules, discovery, "discovery_time", CFG_SECTION,
                &discovery_rule_table, "DISCOVERY_TIME."),
    CFG_KEY_SUB(struct co_rules, context, "missed_context", CFG_SECTION,
                &context_rule_table, "MISSED_CONTEXT."),
    CFG_KEY_SUB(struct co_rules, talk, "talk_ratio", CFG_SECTION,
                &talk_rule_table, "TALK_RATIO."),
    CFG_KEY_SUB(struct co_rules, monologue, "monologue", CFG_SECTION,
                &monologue_rule_table, "MONOLOGUE."),
    CFG_KEY_SUB(struct co_rules, questions, "questions", CFG_SECTION,
                &questions_rule_table, "QUESTIONS."),
    CFG_KEY_SUB(struct co_rules, competitor, "competitor_mention",
                CFG_SECTION, &competitor_rule_table, "COMPETITOR_MENTION."),
};

static const struct config_table rules_table = {
    .name = "rules",
    .keys = rules_keys,
    .n_keys = CFG_COUNT(rules_keys),
    .elem_size = sizeof(struct co_rules),
};

static const struct config_key objection_keys[] = {
    { .name = "phrases", .type = CFG_STRLIST,
      .offset = offsetof(struct co_objection, phrases), .required = true,
      .bounded = true, .min = 1, .max = 64,
      .desc = "What the customer says (any of these raises it)." },
    { .name = "answers", .type = CFG_STRLIST,
      .offset = offsetof(struct co_objection, answers), .required = true,
      .bounded = true, .min = 1, .max = 64,
      .desc = "Keywords of a rep turn that answers it." },
};

static const struct config_table objection_table = {
    .name = "objection",
    .keys = objection_keys,
    .n_keys = CFG_COUNT(objection_keys),
    .elem_size = sizeof(struct co_objection),
    .name_offset = offsetof(struct co_objection, name),
};

static const struct config_key competitor_keys[] = {
    { .name = "names", .type = CFG_STRLIST,
      .offset = offsetof(struct co_competitor, names), .required = true,
      .bounded = true, .min = 1, .max = 16,
      .desc = "Names and spellings of the competitor." },
    CFG_KEY(struct co_competitor, battlecard, "battlecard", CFG_STRING, "",
            "How to respond, carried by the alert."),
    CFG_KEY(struct co_competitor, battlecard_zh, "battlecard_zh", CFG_STRING,
            "", "Chinese battlecard for Chinese meetings (else battlecard)."),
};

static const struct config_table competitor_table = {
    .name = "competitor",
    .keys = competitor_keys,
    .n_keys = CFG_COUNT(competitor_keys),
    .elem_size = sizeof(struct co_competitor),
    .name_offset = offsetof(struct co_competitor, name),
};

static const char *link_check(const void *obj)
{
    const struct co_link *l = obj;
    if (l->iot_alert_types.n == 0 && l->doc_keywords.n == 0)
        return "a context link needs iot_alert_types or doc_keywords";
    return NULL;
}

static const struct config_key link_keys[] = {
    { .name = "topics", .type = CFG_STRLIST,
      .offset = offsetof(struct co_link, topics), .required = true,
      .bounded = true, .min = 1, .max = 64,
      .desc = "Rep phrases that touch the topic." },
    CFG_KEY(struct co_link, iot_alert_types, "iot_alert_types", CFG_STRLIST,
            NULL, "IotAlert.alert_type values that open the issue."),
    CFG_KEY(struct co_link, doc_keywords, "doc_keywords", CFG_STRLIST, NULL,
            "Annotation phrases that open the issue."),
    CFG_KEY(struct co_link, doc_types, "doc_types", CFG_STRLIST, NULL,
            "Document types whose annotations count (empty: all)."),
    { .name = "addressed_by", .type = CFG_STRLIST,
      .offset = offsetof(struct co_link, addressed_by), .required = true,
      .bounded = true, .min = 1, .max = 64,
      .desc = "Rep phrases that address the issue." },
    CFG_KEY(struct co_link, issue_zh, "issue_zh", CFG_STRING, "",
            "The issue in Chinese, for messages."),
    CFG_KEY(struct co_link, issue_en, "issue_en", CFG_STRING, "",
            "The issue in English, for messages."),
};

static const struct config_table link_table = {
    .name = "context_link",
    .keys = link_keys,
    .n_keys = CFG_COUNT(link_keys),
    .elem_size = sizeof(struct co_link),
    .name_offset = offsetof(struct co_link, name),
    .check = link_check,
};

static const char *config_check(const void *obj)
{
    const struct co_config *c = obj;
    if (c->rules.self_focus.r.enabled &&
        (c->product_focus.n == 0 || c->customer_focus.n == 0))
        return "rules.self_focus needs both product_focus and customer_focus";
    if (c->rules.discovery.r.enabled && !c->discovery_phase[0])
        return "discovery_phase must not be empty";
    return NULL;
}

#define DEF_OBJECTIONS                                                        \
    "{mlps_level3: {phrases: [等保三级, 等保三级合规性, 三级等保, MLPS level "  \
    "3], answers: [等保, 合规, 测评, 安全认证, MLPS]},"                       \
    " price: {phrases: [too expensive, price is too high, over budget, "      \
    "太贵, 价格太高, 超预算], answers: [ROI, return on investment, discount,"  \
    " value, payback, 投资回报, 折扣, 性价比, 回本]},"                         \
    " security: {phrases: [data security, security concern, is it secure,"    \
    " compliance, GDPR, 数据安全, 信息安全], answers: [encryption, certified,"\
    " ISO 27001, SOC 2, audit, compliant, 加密, 认证, 审计]},"                \
    " integration: {phrases: [integration, integrate with, our existing "     \
    "system, 对接, 集成, 现有系统], answers: [API, connector, integration "    \
    "team, out of the box, 接口, 对接方案, 实施团队]},"                        \
    " timeline: {phrases: [how long to implement, implementation time, "      \
    "rollout time, 上线时间, 实施周期], answers: [weeks, project plan, "       \
    "milestone, 周, 项目计划, 里程碑]}}"

#define DEF_COMPETITORS                                                       \
    "{medicore: {names: [MediCore, 迈迪科], battlecard: \"MediCore has no "   \
    "SPD consumables integration; ask about their DRG grouping roadmap.\", "  \
    "battlecard_zh: \"迈迪科不支持耗材SPD系统对接；询问其医保DRG分组规划。\"},"\
    " rivalis: {names: [Rivalis, 锐维斯], battlecard: \"Rivalis is cheaper "  \
    "up front but charges per module; compare 3-year total cost.\", "         \
    "battlecard_zh: \"锐维斯首年便宜但按模块收费；对比三年总成本。\"},"          \
    " globex: {names: [Globex], battlecard: \"Globex needs on-site staff "    \
    "for upgrades; stress our remote operations and uptime SLA.\"}}"

#define DEF_LINKS                                                             \
    "{response_time: {topics: [响应速度, 响应时间, response time, "            \
    "responsiveness], iot_alert_types: [repair_overdue], doc_keywords: "      \
    "[维修超时, 维修太慢, 报修没人, 报修响应慢, 维修响应慢, repair timeout, " \
    "repair took, overdue repair], doc_types: [EMAIL, VISIT_REPORT, INTERVIEW_NOTE, OTHER], "      \
    "addressed_by: [维修, 报修, 工单, repair, ticket], issue_zh: "             \
    "维修超时投诉, issue_en: the repair-timeout complaint}}"

static const struct config_key co_keys[] = {
    CFG_KEY_RANGE(struct co_config, idle_timeout_ms, "idle_timeout",
                  CFG_DURATION, "10m", 1000, 86400000,
                  "Wall-clock time without segments after which a meeting "
                  "without a final segment is closed."),
    CFG_KEY_RANGE(struct co_config, closed_ttl_ms, "closed_ttl",
                  CFG_DURATION, "24h", 60000, 31536000000.0,
                  "How long (customer event time) a closed meeting is "
                  "remembered so late segments are dropped."),
    CFG_KEY_RANGE(struct co_config, cjk_ratio, "language_cjk_ratio",
                  CFG_DOUBLE, "0.3", 0.01, 1,
                  "Share of CJK characters among letters from which a "
                  "meeting counts as Chinese."),
    CFG_KEY(struct co_config, discovery_phase, "discovery_phase", CFG_STRING,
            "needs_discovery", "Phase name of needs discovery."),
    CFG_KEY(struct co_config, backchannels, "backchannels", CFG_STRLIST,
            "[嗯, 嗯嗯, 嗯哼, 啊, 哦, 好, 好的, 对, 对对, 对对对, 是, 是的, 行, "
            "明白, ok, okay, right, yeah, yes, yep, sure, uh-huh, mm, mhm, "
            "hmm, i see, got it]",
            "Short acknowledgements that are not turns or interruptions."),
    CFG_KEY(struct co_config, question_cues, "question_cues", CFG_STRLIST,
            "[吗, 呢, 什么, 怎么, 如何, 为什么, 是否, 哪些, 哪个, 多少, 有没有, "
            "能不能, 是不是]",
            "Substrings that make a sentence a question."),
    CFG_KEY(struct co_config, question_openers, "question_openers",
            CFG_STRLIST,
            "[what, why, how, when, where, who, which, whose, whom, do, "
            "does, did, is, are, was, were, can, could, would, will, should,"
            " shall, may, have, has, had]",
            "First words that make an English sentence a question."),
    CFG_KEY(struct co_config, product_focus, "product_focus", CFG_STRLIST,
            "[我们的产品, 你们产品, 我们的方案, 我们的系统, 我们公司, "
            "our product, our solution, our platform, our features, we offer]",
            "Product-centric rep phrases (SELF_FOCUS)."),
    CFG_KEY(struct co_config, customer_focus, "customer_focus", CFG_STRLIST,
            "[贵院, 痛点, 您的, 你们的需求, 贵公司, 您关心, "
            "your challenge, your goal, your team, your priorities, "
            "your process]",
            "Customer-centric rep phrases (SELF_FOCUS)."),
    { .name = "objections", .type = CFG_MAP,
      .offset = offsetof(struct co_config, objections), .def = DEF_OBJECTIONS,
      .bounded = true, .min = 0, .max = CO_MAX_OBJECTIONS,
      .sub = &objection_table,
      .desc = "Objection library: name -> customer phrases and answers." },
    { .name = "competitors", .type = CFG_MAP,
      .offset = offsetof(struct co_config, competitors),
      .def = DEF_COMPETITORS, .bounded = true, .min = 0,
      .max = CO_MAX_COMPETITORS, .sub = &competitor_table,
      .desc = "Competitors: name -> spellings and battlecard." },
    { .name = "context_links", .type = CFG_MAP,
      .offset = offsetof(struct co_config, context_links), .def = DEF_LINKS,
      .bounded = true, .min = 0, .max = CO_MAX_LINKS, .sub = &link_table,
      .desc = "Rep topics linked to open customer issues (MISSED_CONTEXT)." },
    CFG_KEY_SUB(struct co_config, rules, "rules", CFG_SECTION, &rules_table,
                "The coaching rules, each with id, severity, thresholds and "
                "message templates."),
};

static const struct config_table co_table = {
    .name = "coaching",
    .keys = co_keys,
    .n_keys = CFG_COUNT(co_keys),
    .elem_size = sizeof(struct co_config),
    .check = config_check,
    .doc = "Real-time coaching from meeting transcripts (issue 4).",
};

/* ------------------------------------------------------------------ */
/* State                                                                */
/* ------------------------------------------------------------------ */

struct co_pending { /* an objection raised and not yet answered */
    char *name;        /* objection name in the config */
    int64_t raised_ms; /* meeting time: end of the raising segment */
    uint32_t raise_no; /* 1-based count of raises in the meeting */
    char *evidence;
};

struct co_topic { /* a context link touched during the meeting */
    char *name;
    int64_t topic_ms; /* meeting time the rep raised the topic; -1: not yet */
    bool addressed;
    char *evidence; /* the rep's words */
    char *issue;    /* the open issue's description */
};

struct co_meeting {
    char *customer_id;
    char *meeting_id;
    char *rep_id;
    bool has_seq;
    int32_t last_seq;
    /* provenance of the last segment, for alerts emitted from on_timer */
    char *last_event_id;
    char *last_topic;
    int32_t last_partition;
    int64_t last_offset;
    int64_t last_event_time;
    uint32_t fired; /* bit per enum coaching_category */
    struct co_pending pend[CO_MAX_PENDING];
    size_t n_pend;
    struct co_topic topics[CO_MAX_TOPICS];
    size_t n_topics;
    struct meeting_metrics mm;
};

struct co_issue {
    char *link;  /* context link name */
    char *kind;  /* "iot" or "doc" */
    char *ref;   /* device or document id */
    int64_t at;  /* event time */
    char *text;  /* what it says */
};

struct co_named {
    char *id;
    char *name;
    int64_t at; /* event time */
};

/* The arrays grow on demand up to their CO_MAX_* bound (see co_room()):
 * most customers have a context with an issue or two, and inline arrays
 * at the bounds made every cached coaching object 1.8 KiB. */
struct co_context {
    int64_t newest; /* newest event time seen for the customer */
    struct co_issue *issues;
    size_t n_issues, cap_issues;
    struct co_named *comps; /* id, name */
    size_t n_comps, cap_comps;
    struct co_named *closed; /* meeting id, closed at */
    size_t n_closed, cap_closed;
};

/* Room for one more element in arr (n used of *cap), growing by doubling
 * but never beyond max (callers keep n < max); new slots are zeroed. */
static void *co_room(void *arr, size_t n, size_t *cap, size_t elem, size_t max)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? *cap * 2 : 2;
    if (c > max)
        c = max;
    char *p = realloc(arr, c * elem);
    if (!p)
        abort(); /* as buf.c: nothing useful to do without memory */
    /* Zeroed like the inline arrays were: fields a writer leaves alone
     * (a tombstone's name) must read as NULL. */
    memset(p + *cap * elem, 0, (c - *cap) * elem);
    *cap = c;
    return p;
}
#define CO_ROOM(ctx, f, max)                                                  \
    ((ctx)->f = co_room((ctx)->f, (ctx)->n_##f, &(ctx)->cap_##f,              \
                        sizeof(*(ctx)->f), (max)))

enum co_obj_type { CO_MEETING = 1, CO_CONTEXT = 2 };

struct co_obj {
    enum co_obj_type type;
    union {
        struct co_meeting m;
        struct co_context c;
    } u;
};

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort(); /* as buf.c: nothing useful to do without memory */
    return d;
}

/* A copy cut to `max` bytes on a UTF-8 boundary, "…" marking the cut. */
static char *dup_evidence(const char *s, size_t max)
{
    size_t n = strlen(s ? s : "");
    if (n <= max)
        return xstrdup(s ? s : "");
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    char *d = malloc(max + 4);
    if (!d)
        abort();
    memcpy(d, s, max);
    memcpy(d + max, "\xe2\x80\xa6", 4);
    return d;
}

/* printf into a fresh string, then capped like dup_evidence(). */
static char *fmt_evidence(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *fmt_evidence(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return xstrdup("");
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        abort();
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    char *out = dup_evidence(tmp, CO_EVIDENCE_MAX);
    free(tmp);
    return out;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = xstrdup(s);
}

static void meeting_free_fields(struct co_meeting *m)
{
    free(m->customer_id);
    free(m->meeting_id);
    free(m->rep_id);
    free(m->last_event_id);
    free(m->last_topic);
    for (size_t i = 0; i < m->n_pend; i++) {
        free(m->pend[i].name);
        free(m->pend[i].evidence);
    }
    for (size_t i = 0; i < m->n_topics; i++) {
        free(m->topics[i].name);
        free(m->topics[i].evidence);
        free(m->topics[i].issue);
    }
    meeting_metrics_clear(&m->mm);
}

static void issue_free(struct co_issue *is)
{
    free(is->link);
    free(is->kind);
    free(is->ref);
    free(is->text);
    memset(is, 0, sizeof(*is));
}

static void named_free(struct co_named *n)
{
    free(n->id);
    free(n->name);
    memset(n, 0, sizeof(*n));
}

static void context_free_fields(struct co_context *c)
{
    for (size_t i = 0; i < c->n_issues; i++)
        issue_free(&c->issues[i]);
    for (size_t i = 0; i < c->n_comps; i++)
        named_free(&c->comps[i]);
    for (size_t i = 0; i < c->n_closed; i++)
        named_free(&c->closed[i]);
    free(c->issues);
    free(c->comps);
    free(c->closed);
}

static void co_state_free(void *st)
{
    struct co_obj *o = st;
    if (!o)
        return;
    if (o->type == CO_MEETING)
        meeting_free_fields(&o->u.m);
    else
        context_free_fields(&o->u.c);
    free(o);
}

static enum co_obj_type type_of_key(const char *key)
{
    return strstr(key, CO_MEETING_INFIX) ? CO_MEETING : CO_CONTEXT;
}

static void *co_state_new(const char *key)
{
    struct co_obj *o = calloc(1, sizeof(*o));
    if (!o)
        abort();
    o->type = type_of_key(key);
    if (o->type == CO_MEETING) {
        meeting_metrics_init(&o->u.m.mm);
        o->u.m.last_seq = -1;
    }
    return o;
}

static void co_state_encode(const void *st, struct buf *out)
{
    const struct co_obj *o = st;
    buf_put_u8(out, CO_STATE_VERSION);
    buf_put_u8(out, (uint8_t)o->type);
    if (o->type == CO_MEETING) {
        const struct co_meeting *m = &o->u.m;
        buf_put_str(out, m->customer_id);
        buf_put_str(out, m->meeting_id);
        buf_put_str(out, m->rep_id);
        buf_put_u8(out, m->has_seq);
        buf_put_i64(out, m->last_seq);
        buf_put_str(out, m->last_event_id);
        buf_put_str(out, m->last_topic);
        buf_put_i64(out, m->last_partition);
        buf_put_i64(out, m->last_offset);
        buf_put_i64(out, m->last_event_time);
        buf_put_varint(out, m->fired);
        buf_put_varint(out, m->n_pend);
        for (size_t i = 0; i < m->n_pend; i++) {
            buf_put_str(out, m->pend[i].name);
            buf_put_i64(out, m->pend[i].raised_ms);
            buf_put_varint(out, m->pend[i].raise_no);
            buf_put_str(out, m->pend[i].evidence);
        }
        buf_put_varint(out, m->n_topics);
        for (size_t i = 0; i < m->n_topics; i++) {
            buf_put_str(out, m->topics[i].name);
            buf_put_i64(out, m->topics[i].topic_ms);
            buf_put_u8(out, m->topics[i].addressed);
            buf_put_str(out, m->topics[i].evidence);
            buf_put_str(out, m->topics[i].issue);
        }
        meeting_metrics_encode(&m->mm, out);
    } else {
        const struct co_context *c = &o->u.c;
        buf_put_i64(out, c->newest);
        buf_put_varint(out, c->n_issues);
        for (size_t i = 0; i < c->n_issues; i++) {
            buf_put_str(out, c->issues[i].link);
            buf_put_str(out, c->issues[i].kind);
            buf_put_str(out, c->issues[i].ref);
            buf_put_i64(out, c->issues[i].at);
            buf_put_str(out, c->issues[i].text);
        }
        buf_put_varint(out, c->n_comps);
        for (size_t i = 0; i < c->n_comps; i++) {
            buf_put_str(out, c->comps[i].id);
            buf_put_str(out, c->comps[i].name);
            buf_put_i64(out, c->comps[i].at);
        }
        buf_put_varint(out, c->n_closed);
        for (size_t i = 0; i < c->n_closed; i++) {
            buf_put_str(out, c->closed[i].id);
            buf_put_i64(out, c->closed[i].at);
        }
    }
}

/* See processor_ops.state_prefetch: depth 0 the object's own lines and the
 * arrays and strings its first line points to, depth 1 the strings in
 * those arrays. Each is a separate, cold allocation by the time the sealer
 * encodes or frees the object. */
static void co_state_prefetch(const void *st, int depth)
{
    const struct co_obj *o = st;
    if (o->type == CO_MEETING) {
        const struct co_meeting *m = &o->u.m;
        if (depth == 0) {
            const void *first[] = {m->customer_id, m->meeting_id, m->rep_id,
                                   m->last_event_id, m->last_topic,
                                   &m->n_pend, &m->n_topics, &m->mm};
            for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
                __builtin_prefetch(first[i]);
            return;
        }
        for (size_t i = 0; i < m->n_pend; i++)
            __builtin_prefetch(m->pend[i].name);
        for (size_t i = 0; i < m->n_topics; i++)
            __builtin_prefetch(m->topics[i].name);
        __builtin_prefetch(m->mm.turn_speaker);
        __builtin_prefetch(m->mm.phase);
        return;
    }
    const struct co_context *c = &o->u.c;
    if (depth == 0) {
        __builtin_prefetch(c->issues);
        __builtin_prefetch(c->comps);
        __builtin_prefetch(c->closed);
        return;
    }
    for (size_t i = 0; i < c->n_issues && i < 8; i++) {
        __builtin_prefetch(c->issues[i].link);
        __builtin_prefetch(c->issues[i].text);
    }
    for (size_t i = 0; i < c->n_closed && i < 8; i++)
        __builtin_prefetch(c->closed[i].id);
}

/* A required string: absent counts as corrupt. */
static char *get_req_str(struct buf_reader *r)
{
    char *s = buf_get_str(r);
    if (!s)
        r->err = true;
    return s;
}

static size_t get_count(struct buf_reader *r, size_t max)
{
    uint64_t n = buf_get_varint(r);
    if (n > max) {
        r->err = true;
        return 0;
    }
    return (size_t)n;
}

static int co_state_decode(const char *key, const uint8_t *data, size_t len,
                           void **st)
{
    struct buf_reader r;
    struct co_obj *o = NULL;
    int rc = -1;

    *st = NULL;
    buf_reader_init(&r, data, len);
    if (buf_get_u8(&r) != CO_STATE_VERSION || r.err)
        goto out;
    uint8_t type = buf_get_u8(&r);
    if (type != CO_MEETING && type != CO_CONTEXT)
        goto out;
    o = co_state_new(key);
    if (o->type != type)
        goto out;
    if (o->type == CO_MEETING) {
        struct co_meeting *m = &o->u.m;
        m->customer_id = buf_get_str(&r);
        m->meeting_id = buf_get_str(&r);
        m->rep_id = buf_get_str(&r);
        m->has_seq = buf_get_u8(&r) != 0;
        m->last_seq = (int32_t)buf_get_i64(&r);
        m->last_event_id = buf_get_str(&r);
        m->last_topic = buf_get_str(&r);
        m->last_partition = (int32_t)buf_get_i64(&r);
        m->last_offset = buf_get_i64(&r);
        m->last_event_time = buf_get_i64(&r);
        m->fired = (uint32_t)buf_get_varint(&r);
        size_t n = get_count(&r, CO_MAX_PENDING);
        for (size_t i = 0; i < n && !r.err; i++) {
            struct co_pending *p = &m->pend[m->n_pend++];
            p->name = get_req_str(&r);
            p->raised_ms = buf_get_i64(&r);
            p->raise_no = (uint32_t)buf_get_varint(&r);
            p->evidence = buf_get_str(&r);
        }
        n = get_count(&r, CO_MAX_TOPICS);
        for (size_t i = 0; i < n && !r.err; i++) {
            struct co_topic *t = &m->topics[m->n_topics++];
            t->name = get_req_str(&r);
            t->topic_ms = buf_get_i64(&r);
            t->addressed = buf_get_u8(&r) != 0;
            t->evidence = buf_get_str(&r);
            t->issue = buf_get_str(&r);
        }
        if (r.err || meeting_metrics_decode(&m->mm, &r) != 0)
            goto out;
    } else {
        struct co_context *c = &o->u.c;
        c->newest = buf_get_i64(&r);
        size_t n = get_count(&r, CO_MAX_ISSUES);
        for (size_t i = 0; i < n && !r.err; i++) {
            CO_ROOM(c, issues, CO_MAX_ISSUES);
            struct co_issue *is = &c->issues[c->n_issues++];
            is->link = get_req_str(&r);
            is->kind = get_req_str(&r);
            is->ref = buf_get_str(&r);
            is->at = buf_get_i64(&r);
            is->text = buf_get_str(&r);
        }
        n = get_count(&r, CO_MAX_CTX_COMPETITORS);
        for (size_t i = 0; i < n && !r.err; i++) {
            CO_ROOM(c, comps, CO_MAX_CTX_COMPETITORS);
            struct co_named *cn = &c->comps[c->n_comps++];
            cn->id = get_req_str(&r);
            cn->name = get_req_str(&r);
            cn->at = buf_get_i64(&r);
        }
        n = get_count(&r, CO_MAX_TOMBSTONES);
        for (size_t i = 0; i < n && !r.err; i++) {
            CO_ROOM(c, closed, CO_MAX_TOMBSTONES);
            struct co_named *cn = &c->closed[c->n_closed++];
            cn->id = get_req_str(&r);
            cn->at = buf_get_i64(&r);
        }
    }
    if (r.err || r.p != r.end)
        goto out;
    rc = 0;
out:
    if (rc == 0)
        *st = o;
    else
        co_state_free(o);
    return rc;
}

static void co_state_to_json(const void *st, struct jw *w)
{
    const struct co_obj *o = st;
    jw_obj_begin(w, NULL);
    if (o->type == CO_MEETING) {
        const struct co_meeting *m = &o->u.m;
        jw_str(w, "type", "meeting");
        jw_str(w, "customer_id", m->customer_id);
        jw_str(w, "meeting_id", m->meeting_id);
        jw_str(w, "rep_id", m->rep_id);
        jw_int(w, "last_seq", m->last_seq);
        jw_str(w, "last_event_id", m->last_event_id);
        jw_int(w, "last_event_time", m->last_event_time);
        jw_arr_begin(w, "fired");
        for (int c = 0; c <= CAT_STAGE_CLAIM_UNSUPPORTED; c++)
            if (m->fired & (1u << c))
                jw_str(w, NULL, coaching_category_name((enum coaching_category)c));
        jw_arr_end(w);
        jw_arr_begin(w, "pending_objections");
        for (size_t i = 0; i < m->n_pend; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "objection", m->pend[i].name);
            jw_int(w, "raised_ms", m->pend[i].raised_ms);
            jw_int(w, "raise_no", m->pend[i].raise_no);
            jw_str(w, "evidence", m->pend[i].evidence);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_arr_begin(w, "context_topics");
        for (size_t i = 0; i < m->n_topics; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "link", m->topics[i].name);
            jw_int(w, "topic_ms", m->topics[i].topic_ms);
            jw_bool(w, "addressed", m->topics[i].addressed);
            jw_str(w, "evidence", m->topics[i].evidence);
            jw_str(w, "issue", m->topics[i].issue);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_obj_begin(w, "metrics");
        meeting_metrics_to_json(&m->mm, w);
        jw_obj_end(w);
    } else {
        const struct co_context *c = &o->u.c;
        jw_str(w, "type", "customer_context");
        jw_int(w, "newest_event_time", c->newest);
        jw_arr_begin(w, "open_issues");
        for (size_t i = 0; i < c->n_issues; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "link", c->issues[i].link);
            jw_str(w, "kind", c->issues[i].kind);
            jw_str(w, "ref", c->issues[i].ref);
            jw_int(w, "event_time", c->issues[i].at);
            jw_str(w, "text", c->issues[i].text);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_arr_begin(w, "competitors");
        for (size_t i = 0; i < c->n_comps; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "entity_id", c->comps[i].id);
            jw_str(w, "name", c->comps[i].name);
            jw_int(w, "event_time", c->comps[i].at);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_arr_begin(w, "closed_meetings");
        for (size_t i = 0; i < c->n_closed; i++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "meeting_id", c->closed[i].id);
            jw_int(w, "closed_at", c->closed[i].at);
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

/* ------------------------------------------------------------------ */
/* Instance                                                             */
/* ------------------------------------------------------------------ */

/* Matcher ids: library in the high byte, index in the config below it. */
enum co_lib {
    LIB_OBJECTION = 1,
    LIB_ANSWER,
    LIB_PRODUCT,
    LIB_CUSTOMER,
    LIB_COMPETITOR,
    LIB_TOPIC,
    LIB_ADDRESSED,
    LIB_DOC_KEYWORD,
    LIB_COUNT
};
#define LIB_ID(lib, idx) (((unsigned)(lib) << 24) | (unsigned)(idx))

struct co_idle { /* in-memory idle index entry */
    int64_t last_seen; /* wall clock, ms */
    bool touched;      /* a segment arrived since the last tick */
};

struct coaching {
    const struct co_config *cfg;
    struct matcher *matcher;
    /* normalised word lists for meeting.c */
    struct cfg_strlist bc, cues, openers;
    char **comp_norm; /* every configured competitor spelling, normalised */
    size_t n_comp_norm;
    struct meeting_lexicon lx;
    struct hmap *idle; /* meeting key -> struct co_idle */
    bool indexed;      /* the idle index was rebuilt from the store */
    uint64_t indexed_at; /* ctx_assignment() it was rebuilt at */
    struct buf norm;   /* scratch */
};

static void strlist_free(struct cfg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int norm_list(const struct cfg_strlist *in, struct cfg_strlist *out)
{
    struct buf b;
    buf_init(&b);
    out->v = calloc(in->n ? in->n : 1, sizeof(char *));
    if (!out->v)
        return -1;
    for (size_t i = 0; i < in->n; i++) {
        buf_reset(&b);
        matcher_normalize(in->v[i], &b);
        if (b.len)
            out->v[out->n++] = xstrdup((const char *)b.data);
    }
    buf_free(&b);
    return 0;
}

/* Backchannels in the form meeting.c compares them in; one that has no
 * such form (too long, or only punctuation) could never match and is left
 * out. */
static int backchannel_list(const struct cfg_strlist *in,
                            struct cfg_strlist *out)
{
    struct cfg_strlist norm = {0};
    if (norm_list(in, &norm) != 0)
        return -1;
    out->v = calloc(norm.n ? norm.n : 1, sizeof(char *));
    if (!out->v) {
        strlist_free(&norm);
        return -1;
    }
    char form[MEETING_BACKCHANNEL_MAX];
    for (size_t i = 0; i < norm.n; i++)
        if (meeting_backchannel_form(norm.v[i], form, sizeof(form)) && form[0])
            out->v[out->n++] = xstrdup(form);
    strlist_free(&norm);
    return 0;
}

static int add_list(struct matcher_builder *mb, const struct cfg_strlist *l,
                    enum co_lib lib, size_t idx, const char *what, char *err,
                    size_t errlen)
{
    for (size_t i = 0; i < l->n; i++) {
        if (matcher_builder_add(mb, l->v[i], LIB_ID(lib, idx)) != 0) {
            snprintf(err, errlen, "%s: empty phrase", what);
            return -1;
        }
    }
    return 0;
}

static void co_destroy(void *inst)
{
    struct coaching *co = inst;
    if (!co)
        return;
    matcher_free(co->matcher);
    strlist_free(&co->bc);
    strlist_free(&co->cues);
    strlist_free(&co->openers);
    for (size_t i = 0; i < co->n_comp_norm; i++)
        free(co->comp_norm[i]);
    free(co->comp_norm);
    hmap_free(co->idle, free);
    buf_free(&co->norm);
    free(co);
}

static int co_init(const void *cfgp, void **inst, char *err, size_t errlen)
{
    const struct co_config *cfg = cfgp;
    struct coaching *co = calloc(1, sizeof(*co));
    struct matcher_builder *mb = matcher_builder_new();
    int rc = -1;

    *inst = NULL;
    if (!co || !mb) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    co->cfg = cfg;
    buf_init(&co->norm);
    co->idle = hmap_new();
    if (!co->idle || backchannel_list(&cfg->backchannels, &co->bc) ||
        norm_list(&cfg->question_cues, &co->cues) ||
        norm_list(&cfg->question_openers, &co->openers)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    co->lx = (struct meeting_lexicon){
        .discovery_phase = cfg->discovery_phase,
        .backchannels = (const char *const *)co->bc.v,
        .n_backchannels = co->bc.n,
        .question_cues = (const char *const *)co->cues.v,
        .n_question_cues = co->cues.n,
        .question_openers = (const char *const *)co->openers.v,
        .n_question_openers = co->openers.n,
    };

    const struct co_objection *obj = cfg->objections.items;
    for (size_t i = 0; i < cfg->objections.n; i++)
        if (add_list(mb, &obj[i].phrases, LIB_OBJECTION, i, "objections", err,
                     errlen) ||
            add_list(mb, &obj[i].answers, LIB_ANSWER, i, "objections", err,
                     errlen))
            goto out;
    if (add_list(mb, &cfg->product_focus, LIB_PRODUCT, 0, "product_focus", err,
                 errlen) ||
        add_list(mb, &cfg->customer_focus, LIB_CUSTOMER, 0, "customer_focus",
                 err, errlen))
        goto out;
    const struct co_competitor *cp = cfg->competitors.items;
    size_t n_names = 0;
    for (size_t i = 0; i < cfg->competitors.n; i++) {
        if (add_list(mb, &cp[i].names, LIB_COMPETITOR, i, "competitors", err,
                     errlen))
            goto out;
        n_names += cp[i].names.n;
    }
    co->comp_norm = calloc(n_names ? n_names : 1, sizeof(char *));
    if (!co->comp_norm) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cfg->competitors.n; i++) {
        for (size_t k = 0; k < cp[i].names.n; k++) {
            buf_reset(&co->norm);
            matcher_normalize(cp[i].names.v[k], &co->norm);
            co->comp_norm[co->n_comp_norm++] = xstrdup((char *)co->norm.data);
        }
    }
    const struct co_link *lk = cfg->context_links.items;
    for (size_t i = 0; i < cfg->context_links.n; i++)
        if (add_list(mb, &lk[i].topics, LIB_TOPIC, i, "context_links", err,
                     errlen) ||
            add_list(mb, &lk[i].addressed_by, LIB_ADDRESSED, i,
                     "context_links", err, errlen) ||
            add_list(mb, &lk[i].doc_keywords, LIB_DOC_KEYWORD, i,
                     "context_links", err, errlen))
            goto out;
    if (matcher_build(mb, &co->matcher, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    matcher_builder_free(mb);
    if (rc == 0)
        *inst = co;
    else
        co_destroy(co);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Scanning a text                                                      */
/* ------------------------------------------------------------------ */

struct co_hits {
    uint64_t objection;  /* bit per objection */
    uint64_t answer;     /* bit per objection */
    uint64_t competitor; /* bit per configured competitor */
    uint32_t topic;      /* bit per context link */
    uint32_t addressed;
    uint32_t doc_keyword;
    uint32_t product, customer, competitor_n; /* non-overlapping counts */
    size_t last_to[LIB_COUNT];
    bool counted_any[LIB_COUNT];
};

static int on_hit(void *arg, unsigned id, size_t from, size_t to)
{
    struct co_hits *h = arg;
    unsigned lib = id >> 24, idx = id & 0xffffffu;
    if (lib == 0 || lib >= LIB_COUNT)
        return 0;
    /* Overlapping phrases of one library ("等保三级" inside
     * "等保三级合规性") count once. */
    bool overlap = h->counted_any[lib] && from < h->last_to[lib];
    if (!overlap) {
        h->counted_any[lib] = true;
        h->last_to[lib] = to;
    }
    switch (lib) {
    case LIB_OBJECTION: h->objection |= 1ull << (idx & 63); break;
    case LIB_ANSWER: h->answer |= 1ull << (idx & 63); break;
    case LIB_COMPETITOR:
        h->competitor |= 1ull << (idx & 63);
        h->competitor_n += !overlap;
        break;
    case LIB_PRODUCT: h->product += !overlap; break;
    case LIB_CUSTOMER: h->customer += !overlap; break;
    case LIB_TOPIC: h->topic |= 1u << (idx & 31); break;
    case LIB_ADDRESSED: h->addressed |= 1u << (idx & 31); break;
    case LIB_DOC_KEYWORD: h->doc_keyword |= 1u << (idx & 31); break;
    default: break;
    }
    return 0;
}

static int scan_text(struct coaching *co, const char *text, struct co_hits *h)
{
    memset(h, 0, sizeof(*h));
    return matcher_scan(co->matcher, text, &co->norm, on_hit, h);
}

/* Occurrences of normalised `name` in normalised `text`, with the same
 * Latin word-start rule as the matcher. */
static unsigned count_occurrences(const char *text, const char *name)
{
    size_t nl = strlen(name);
    unsigned n = 0;
    if (!nl)
        return 0;
    bool word = (name[0] >= 'a' && name[0] <= 'z') ||
                (name[0] >= '0' && name[0] <= '9');
    for (const char *p = strstr(text, name); p; p = strstr(p + nl, name)) {
        char b = p > text ? p[-1] : ' ';
        if (word && ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')))
            continue;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Messages and alerts                                                  */
/* ------------------------------------------------------------------ */

struct tvar {
    const char *name;
    const char *value;
};

/* Expands {name} placeholders; unknown ones are kept as written. */
static void render(struct buf *out, const char *tpl, const struct tvar *v,
                   size_t n)
{
    buf_reset(out);
    for (const char *p = tpl ? tpl : ""; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        bool done = false;
        for (size_t i = 0; close && i < n && !done; i++) {
            size_t nl = strlen(v[i].name);
            if ((size_t)(close - p - 1) == nl &&
                memcmp(p + 1, v[i].name, nl) == 0) {
                buf_append(out, v[i].value, strlen(v[i].value));
                p = close + 1;
                done = true;
            }
        }
        if (!done)
            buf_append(out, p++, 1);
    }
    buf_put_u8(out, 0);
}

/* Number formatting for templates: integers without decimals. */
static const char *fmt_num(char *b, size_t n, double v)
{
    if (v == (double)(long long)v)
        snprintf(b, n, "%lld", (long long)v);
    else
        snprintf(b, n, "%.1f", v);
    return b;
}

static bool meeting_zh(const struct coaching *co, const struct co_meeting *m)
{
    return meeting_is_chinese(&m->mm, co->cfg->cjk_ratio);
}

/* What one rule emission needs besides the rule itself. */
struct co_fire {
    enum coaching_category cat;
    const char *discriminator; /* for the dedup key; may be NULL */
    const struct tvar *vars;
    size_t n_vars;
    const struct metric *metrics;
    size_t n_metrics;
    const char *const *evidence;
    size_t n_evidence;
};

/* Emits one coaching alert for meeting `m`. `from_timer`: no current event,
 * so the provenance is the meeting's last segment. */
static void fire(struct coaching *co, struct proc_ctx *ctx,
                 struct co_meeting *m, const struct co_rule *rule,
                 const struct co_fire *f, bool from_timer)
{
    struct buf msg;
    struct alert a;

    buf_init(&msg);
    render(&msg, meeting_zh(co, m) ? rule->message_zh : rule->message_en,
           f->vars, f->n_vars);
    char dk[CO_KEY_MAX];
    snprintf(dk, sizeof(dk), "%s|%s|%s", rule->id, m->meeting_id,
             f->discriminator ? f->discriminator : "");
    memset(&a, 0, sizeof(a));
    a.kind = ALERT_COACHING;
    a.customer_id = m->customer_id;
    a.dedup_key = dk;
    a.u.coaching = (struct coaching_alert){
        .rep_id = m->rep_id,
        .meeting_id = m->meeting_id,
        .rule = rule->id,
        .category = f->cat,
        .severity = (enum alert_severity)rule->severity,
        .message = (const char *)msg.data,
        .metrics = f->metrics,
        .n_metrics = f->n_metrics,
        .evidence = f->evidence,
        .n_evidence = f->n_evidence,
    };
    if (from_timer) {
        a.trigger_event_id = m->last_event_id;
        a.src.topic = m->last_topic;
        a.src.partition = m->last_partition;
        a.src.offset = m->last_offset;
        a.event_time = m->last_event_time;
    }
    ctx_emit(ctx, &a);
    m->fired |= 1u << f->cat;
    buf_free(&msg);
}

static bool can_fire(const struct co_meeting *m, const struct co_rule *r,
                     enum coaching_category cat)
{
    return r->enabled && !(m->fired & (1u << cat));
}

static const struct co_objection *find_objection(const struct co_config *cfg,
                                                 const char *name, size_t *idx)
{
    const struct co_objection *o = cfg->objections.items;
    for (size_t i = 0; i < cfg->objections.n; i++)
        if (strcmp(o[i].name, name) == 0) {
            if (idx)
                *idx = i;
            return &o[i];
        }
    return NULL;
}

static const struct co_link *find_link(const struct co_config *cfg,
                                       const char *name, size_t *idx)
{
    const struct co_link *l = cfg->context_links.items;
    for (size_t i = 0; i < cfg->context_links.n; i++)
        if (strcmp(l[i].name, name) == 0) {
            if (idx)
                *idx = i;
            return &l[i];
        }
    return NULL;
}

/* "a / b / c" from the first few entries of a list; an entry that does not
 * fit whole is left out, so the text stays valid UTF-8. */
static void join_list(char *out, size_t n, const struct cfg_strlist *l,
                      size_t max)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->n && i < max; i++) {
        size_t need = strlen(l->v[i]) + (i ? 3 : 0);
        if (o + need >= n)
            break;
        snprintf(out + o, n - o, "%s%s", i ? " / " : "", l->v[i]);
        o += need;
    }
}

static void fire_objection(struct coaching *co, struct proc_ctx *ctx,
                           struct co_meeting *m, const struct co_pending *p,
                           int64_t now_ms, bool from_timer)
{
    const struct co_r_objection *r = &co->cfg->rules.objection;
    const struct co_objection *o = find_objection(co->cfg, p->name, NULL);
    char answers[256], win[32], disc[128];
    const char *label = o && o->phrases.n ? o->phrases.v[0] : p->name;

    if (!r->r.enabled)
        return;
    if (o)
        join_list(answers, sizeof(answers), &o->answers, 3);
    else
        answers[0] = '\0';
    fmt_num(win, sizeof(win), (double)r->window_ms / 1000.0);
    struct tvar vars[] = {{"objection", label}, {"answers", answers},
                          {"window_s", win}};
    m->mm.objections_unanswered++;
    struct metric met[] = {
        {"window_s", (double)r->window_ms / 1000.0},
        {"elapsed_s", (double)(now_ms - p->raised_ms) / 1000.0},
        {"objections_raised", m->mm.objections_raised},
        {"objections_unanswered", m->mm.objections_unanswered},
    };
    const char *ev[] = {p->evidence ? p->evidence : ""};
    snprintf(disc, sizeof(disc), "%s#%u", p->name, p->raise_no);
    struct co_fire f = {CAT_UNANSWERED_OBJECTION, disc, vars, 3, met, 4, ev,
                        1};
    fire(co, ctx, m, &r->r, &f, from_timer);
    /* Per raise, not per meeting: clear the once-per-meeting bit. */
    m->fired &= ~(1u << CAT_UNANSWERED_OBJECTION);
}

static void pending_remove(struct co_meeting *m, size_t i)
{
    free(m->pend[i].name);
    free(m->pend[i].evidence);
    memmove(&m->pend[i], &m->pend[i + 1],
            (m->n_pend - i - 1) * sizeof(m->pend[0]));
    m->n_pend--;
}

/* Objections whose window closed before `now_ms` (meeting time); all of them
 * when `all` (meeting end). */
static void judge_objections(struct coaching *co, struct proc_ctx *ctx,
                             struct co_meeting *m, int64_t now_ms, bool all,
                             bool from_timer)
{
    int64_t win = co->cfg->rules.objection.window_ms;
    for (size_t i = 0; i < m->n_pend;) {
        if (all || now_ms > m->pend[i].raised_ms + win) {
            fire_objection(co, ctx, m, &m->pend[i],
                           all ? m->mm.last_end_ms : now_ms, from_timer);
            pending_remove(m, i);
        } else {
            i++;
        }
    }
}

static void judge_context(struct coaching *co, struct proc_ctx *ctx,
                          struct co_meeting *m, int64_t now_ms, bool all,
                          bool from_timer)
{
    const struct co_r_context *r = &co->cfg->rules.context;
    if (!can_fire(m, &r->r, CAT_MISSED_CONTEXT))
        return;
    for (size_t i = 0; i < m->n_topics; i++) {
        struct co_topic *t = &m->topics[i];
        if (t->topic_ms < 0 || t->addressed)
            continue;
        if (!all && now_ms <= t->topic_ms + r->window_ms)
            continue;
        const struct co_link *l = find_link(co->cfg, t->name, NULL);
        bool zh = meeting_zh(co, m);
        const char *topic = l && l->topics.n ? l->topics.v[0] : t->name;
        if (l)
            for (size_t k = 0; k < l->topics.n; k++) {
                /* The topic in the meeting's own language when possible. */
                uint64_t cjk = 0, lat = 0;
                meeting_count_script(l->topics.v[k], &cjk, &lat);
                if ((zh && cjk) || (!zh && !cjk)) {
                    topic = l->topics.v[k];
                    break;
                }
            }
        const char *issue = l ? (zh ? l->issue_zh : l->issue_en) : "";
        if (!issue || !issue[0])
            issue = t->issue ? t->issue : "";
        struct tvar vars[] = {{"topic", topic}, {"issue", issue}};
        struct metric met[] = {
            {"window_s", (double)r->window_ms / 1000.0},
            {"elapsed_s", (double)(now_ms - t->topic_ms) / 1000.0},
        };
        const char *ev[] = {t->evidence ? t->evidence : "",
                            t->issue ? t->issue : ""};
        struct co_fire f = {CAT_MISSED_CONTEXT, t->name, vars, 2, met, 2, ev,
                            2};
        fire(co, ctx, m, &r->r, &f, from_timer);
        return; /* once per meeting */
    }
}

/* DISCOVERY_TIME and QUESTIONS, when discovery ends or the meeting does. */
static void judge_discovery(struct coaching *co, struct proc_ctx *ctx,
                            struct co_meeting *m, const char *evidence,
                            bool at_end, bool from_timer)
{
    const struct co_rules *rs = &co->cfg->rules;
    const struct meeting_metrics *mm = &m->mm;
    int64_t disc = meeting_discovery_ms(mm);
    bool judge = mm->discovery_seen ||
                 (at_end && mm->any_phase && rs->discovery.fire_if_skipped);
    char a[32], b[32];

    if (!judge)
        return;
    if (can_fire(m, &rs->discovery.r, CAT_DISCOVERY_TIME) &&
        disc < rs->discovery.min_ms) {
        struct tvar vars[] = {
            {"discovery_min", fmt_num(a, sizeof(a), (double)(disc / 6000) / 10.0)},
            {"min_min", fmt_num(b, sizeof(b),
                                (double)(rs->discovery.min_ms / 6000) / 10.0)},
        };
        struct metric met[] = {
            {"discovery_s", (double)disc / 1000.0},
            {"threshold_s", (double)rs->discovery.min_ms / 1000.0},
            {"discovery_questions", mm->rep_questions_discovery},
        };
        const char *ev[] = {evidence ? evidence : ""};
        struct co_fire f = {CAT_DISCOVERY_TIME, NULL, vars, 2, met, 3, ev,
                            evidence ? 1 : 0};
        fire(co, ctx, m, &rs->discovery.r, &f, from_timer);
    }
    if (mm->discovery_seen &&
        can_fire(m, &rs->questions.r, CAT_QUESTIONS) &&
        mm->rep_questions_discovery < (uint64_t)rs->questions.min_questions) {
        struct tvar vars[] = {
            {"questions", fmt_num(a, sizeof(a), mm->rep_questions_discovery)},
            {"min", fmt_num(b, sizeof(b), (double)rs->questions.min_questions)},
        };
        struct metric met[] = {
            {"discovery_questions", mm->rep_questions_discovery},
            {"min_questions", (double)rs->questions.min_questions},
            {"discovery_s", (double)disc / 1000.0},
        };
        struct co_fire f = {CAT_QUESTIONS, NULL, vars, 2, met, 3, NULL, 0};
        fire(co, ctx, m, &rs->questions.r, &f, from_timer);
    }
}

static void judge_self_focus(struct coaching *co, struct proc_ctx *ctx,
                             struct co_meeting *m, const char *evidence)
{
    const struct co_r_self_focus *r = &co->cfg->rules.self_focus;
    const struct meeting_metrics *mm = &m->mm;
    char a[32], b[32], c[32];
    if (!can_fire(m, &r->r, CAT_SELF_FOCUS) ||
        mm->product_focus < (uint64_t)r->min_count ||
        (double)mm->product_focus <= r->ratio * (double)mm->customer_focus)
        return;
    struct tvar vars[] = {
        {"product", fmt_num(a, sizeof(a), mm->product_focus)},
        {"customer", fmt_num(b, sizeof(b), mm->customer_focus)},
        {"ratio", fmt_num(c, sizeof(c), r->ratio)},
    };
    struct metric met[] = {
        {"product_focus", mm->product_focus},
        {"customer_focus", mm->customer_focus},
        {"ratio", mm->customer_focus
                      ? (double)mm->product_focus / mm->customer_focus
                      : (double)mm->product_focus},
        {"threshold_ratio", r->ratio},
    };
    const char *ev[] = {evidence};
    struct co_fire f = {CAT_SELF_FOCUS, NULL, vars, 3, met, 4, ev, 1};
    fire(co, ctx, m, &r->r, &f, false);
}

static void judge_monologue(struct coaching *co, struct proc_ctx *ctx,
                            struct co_meeting *m,
                            const struct meeting_delta *d,
                            const char *evidence)
{
    const struct co_r_monologue *r = &co->cfg->rules.monologue;
    char a[32], b[32];
    if (!can_fire(m, &r->r, CAT_MONOLOGUE) || d->turn_role != ROLE_REP ||
        d->turn_ms <= r->max_ms)
        return;
    struct tvar vars[] = {
        {"monologue_s", fmt_num(a, sizeof(a), (double)(d->turn_ms / 1000))},
        {"max_s", fmt_num(b, sizeof(b), (double)(r->max_ms / 1000))},
    };
    struct metric met[] = {
        {"monologue_s", (double)d->turn_ms / 1000.0},
        {"threshold_s", (double)r->max_ms / 1000.0},
    };
    const char *ev[] = {evidence};
    struct co_fire f = {CAT_MONOLOGUE, NULL, vars, 2, met, 2, ev, 1};
    fire(co, ctx, m, &r->r, &f, false);
}

static void judge_talk_ratio(struct coaching *co, struct proc_ctx *ctx,
                             struct co_meeting *m, bool from_timer)
{
    const struct co_r_talk *r = &co->cfg->rules.talk;
    const struct meeting_metrics *mm = &m->mm;
    double share = meeting_rep_share(mm);
    char a[32], b[32];
    if (!can_fire(m, &r->r, CAT_TALK_RATIO) ||
        meeting_total_talk_ms(mm) < r->min_talk_ms || share <= r->max_share)
        return;
    struct tvar vars[] = {
        {"share", fmt_num(a, sizeof(a), (double)(long long)(share * 100 + 0.5))},
        {"max", fmt_num(b, sizeof(b),
                        (double)(long long)(r->max_share * 100 + 0.5))},
    };
    struct metric met[] = {
        {"talk_ratio", share},
        {"threshold", r->max_share},
        {"rep_talk_s", (double)mm->talk_ms[ROLE_REP] / 1000.0},
        {"customer_talk_s", (double)mm->talk_ms[ROLE_CUSTOMER] / 1000.0},
    };
    struct co_fire f = {CAT_TALK_RATIO, NULL, vars, 2, met, 4, NULL, 0};
    fire(co, ctx, m, &r->r, &f, from_timer);
}

static const char *battlecard_for(const struct coaching *co,
                                  const struct co_competitor *c, bool zh)
{
    if (!c)
        return co->cfg->rules.competitor.default_battlecard;
    if (zh && c->battlecard_zh && c->battlecard_zh[0])
        return c->battlecard_zh;
    if (c->battlecard && c->battlecard[0])
        return c->battlecard;
    return co->cfg->rules.competitor.default_battlecard;
}

static void fire_competitor(struct coaching *co, struct proc_ctx *ctx,
                            struct co_meeting *m, const char *name,
                            const struct co_competitor *c,
                            const char *evidence)
{
    const struct co_r_competitor *r = &co->cfg->rules.competitor;
    if (!can_fire(m, &r->r, CAT_COMPETITOR_MENTION))
        return;
    const char *card = battlecard_for(co, c, meeting_zh(co, m));
    struct tvar vars[] = {{"competitor", name}, {"battlecard", card}};
    struct metric met[] = {
        {"competitor_mentions", m->mm.competitor_mentions},
    };
    const char *ev[] = {evidence, card};
    struct co_fire f = {CAT_COMPETITOR_MENTION, name, vars, 2, met, 1, ev, 2};
    fire(co, ctx, m, &r->r, &f, false);
}

/* ------------------------------------------------------------------ */
/* Customer context                                                     */
/* ------------------------------------------------------------------ */

static int make_key(char *out, size_t n, const char *customer,
                    const char *meeting)
{
    int w = meeting
                ? snprintf(out, n, "%s" CO_MEETING_INFIX "%s", customer, meeting)
                : snprintf(out, n, "%s" CO_CTX_SUFFIX, customer);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

static void context_prune(struct coaching *co, struct co_context *c)
{
    int64_t lookback = co->cfg->rules.context.lookback_ms;
    for (size_t i = 0; i < c->n_issues;) {
        if (c->issues[i].at < c->newest - lookback) {
            issue_free(&c->issues[i]);
            memmove(&c->issues[i], &c->issues[i + 1],
                    (c->n_issues - i - 1) * sizeof(c->issues[0]));
            c->n_issues--;
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < c->n_closed;) {
        if (c->closed[i].at < c->newest - co->cfg->closed_ttl_ms) {
            named_free(&c->closed[i]);
            memmove(&c->closed[i], &c->closed[i + 1],
                    (c->n_closed - i - 1) * sizeof(c->closed[0]));
            c->n_closed--;
        } else {
            i++;
        }
    }
}

static bool context_empty(const struct co_context *c)
{
    return c->n_issues == 0 && c->n_comps == 0 && c->n_closed == 0;
}

static void context_seen(struct co_context *c, int64_t t)
{
    if (t > c->newest)
        c->newest = t;
}

/* Adds or refreshes an open issue; the oldest goes when full. Takes
 * ownership of `text` (already capped). */
static void context_add_issue(struct co_context *c, const char *link,
                              const char *kind, const char *ref, int64_t at,
                              char *text)
{
    for (size_t i = 0; i < c->n_issues; i++) {
        struct co_issue *is = &c->issues[i];
        if (strcmp(is->link, link) == 0 && strcmp(is->kind, kind) == 0 &&
            strcmp(is->ref ? is->ref : "", ref ? ref : "") == 0) {
            if (at >= is->at) {
                is->at = at;
                free(is->text);
                is->text = text;
            } else {
                free(text);
            }
            return;
        }
    }
    if (c->n_issues == CO_MAX_ISSUES) {
        size_t old = 0;
        for (size_t i = 1; i < c->n_issues; i++)
            if (c->issues[i].at < c->issues[old].at)
                old = i;
        issue_free(&c->issues[old]);
        c->issues[old] = c->issues[--c->n_issues];
    }
    CO_ROOM(c, issues, CO_MAX_ISSUES);
    c->issues[c->n_issues++] = (struct co_issue){
        .link = xstrdup(link),
        .kind = xstrdup(kind),
        .ref = xstrdup(ref),
        .at = at,
        .text = text,
    };
}

static void ctx_save(struct coaching *co, struct proc_ctx *ctx,
                     const char *key, struct co_context *c)
{
    context_prune(co, c);
    if (context_empty(c))
        ctx_state_delete(ctx, key);
    else
        ctx_state_dirty(ctx, key);
}

static int handle_iot(struct coaching *co, struct proc_ctx *ctx,
                      const struct event *ev, const char *key)
{
    const struct iot_alert *ia = &ev->u.iot;
    const struct co_link *lk = co->cfg->context_links.items;
    struct co_obj *o = NULL;

    for (size_t i = 0; i < co->cfg->context_links.n; i++) {
        for (size_t k = 0; k < lk[i].iot_alert_types.n; k++) {
            if (strcmp(lk[i].iot_alert_types.v[k], ia->alert_type) != 0)
                continue;
            if (!o)
                o = ctx_state(ctx, key, NULL);
            context_seen(&o->u.c, ev->event_time);
            context_add_issue(&o->u.c, lk[i].name, "iot", ia->device_id,
                              ev->event_time,
                              fmt_evidence("%s %s on %s (count %d)",
                                           iot_severity_name(ia->severity),
                                           ia->alert_type, ia->device_id,
                                           (int)ia->count));
            break;
        }
    }
    if (o)
        ctx_save(co, ctx, key, &o->u.c);
    return 0;
}

static int handle_annotation(struct coaching *co, struct proc_ctx *ctx,
                             const struct event *ev, const char *key)
{
    const struct doc_annotation *da = &ev->u.annotation;
    const struct co_link *lk = co->cfg->context_links.items;
    struct co_hits h;
    struct co_obj *o = NULL;

    if (scan_text(co, da->text, &h) != 0) {
        ctx_fail(ctx, "coaching: keyword scan failed");
        return -1;
    }
    for (size_t i = 0; i < co->cfg->context_links.n; i++) {
        if (!(h.doc_keyword & (1u << i)))
            continue;
        bool type_ok = lk[i].doc_types.n == 0;
        for (size_t k = 0; k < lk[i].doc_types.n && !type_ok; k++)
            type_ok = strcmp(lk[i].doc_types.v[k],
                             doc_type_name(da->doc_type)) == 0;
        if (!type_ok)
            continue;
        if (!o)
            o = ctx_state(ctx, key, NULL);
        context_seen(&o->u.c, ev->event_time);
        context_add_issue(&o->u.c, lk[i].name, "doc", da->document_id,
                          ev->event_time,
                          fmt_evidence("%s: %s", doc_type_name(da->doc_type),
                                       da->text));
    }
    if (o)
        ctx_save(co, ctx, key, &o->u.c);
    return 0;
}

/* The registry changes the context keeps: competitors linked or unlinked. */
static bool competitor_change(const struct registry_change *rc)
{
    return rc->entity_type == ENTITY_COMPETITOR &&
           (rc->change_type == CHANGE_COMPETITOR_LINKED ||
            rc->change_type == CHANGE_RELATION_REMOVED);
}

static int handle_registry(struct coaching *co, struct proc_ctx *ctx,
                           const struct event *ev, const char *key)
{
    const struct registry_change *rc = &ev->u.registry;
    struct co_obj *o;

    if (!competitor_change(rc))
        return 0;
    o = rc->change_type == CHANGE_COMPETITOR_LINKED ? ctx_state(ctx, key, NULL)
                                                    : ctx_state_find(ctx, key);
    if (!o)
        return 0;
    struct co_context *c = &o->u.c;
    context_seen(c, ev->event_time);
    size_t i = 0;
    while (i < c->n_comps && strcmp(c->comps[i].id, rc->entity_id) != 0)
        i++;
    if (rc->change_type == CHANGE_RELATION_REMOVED) {
        if (i < c->n_comps) {
            named_free(&c->comps[i]);
            c->comps[i] = c->comps[--c->n_comps];
        }
    } else {
        const char *name = rc->entity_name ? rc->entity_name : rc->entity_id;
        if (i == c->n_comps) {
            if (c->n_comps == CO_MAX_CTX_COMPETITORS) {
                size_t old = 0;
                for (size_t k = 1; k < c->n_comps; k++)
                    if (c->comps[k].at < c->comps[old].at)
                        old = k;
                named_free(&c->comps[old]);
                c->comps[old] = c->comps[--c->n_comps];
                i = c->n_comps;
            }
            CO_ROOM(c, comps, CO_MAX_CTX_COMPETITORS);
            c->comps[i].id = xstrdup(rc->entity_id);
            c->comps[i].name = NULL;
            c->n_comps++;
        }
        set_str(&c->comps[i].name, name);
        c->comps[i].at = ev->event_time;
    }
    ctx_save(co, ctx, key, c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Meetings                                                             */
/* ------------------------------------------------------------------ */

static void summary(struct coaching *co, struct proc_ctx *ctx,
                    struct co_meeting *m, const char *closed_by,
                    bool from_timer)
{
    struct metric met[MEETING_N_METRICS];
    size_t n = meeting_metrics_export(&m->mm, met, MEETING_N_METRICS);
    char dk[CO_KEY_MAX];
    struct alert a;

    (void)co;
    snprintf(dk, sizeof(dk), "summary|%s", m->meeting_id);
    memset(&a, 0, sizeof(a));
    a.kind = ALERT_MEETING_SUMMARY;
    a.customer_id = m->customer_id;
    a.dedup_key = dk;
    a.u.summary = (struct meeting_summary){
        .meeting_id = m->meeting_id,
        .rep_id = m->rep_id,
        .closed_by = closed_by,
        .metrics = met,
        .n_metrics = n,
    };
    if (from_timer) {
        a.trigger_event_id = m->last_event_id;
        a.src.topic = m->last_topic;
        a.src.partition = m->last_partition;
        a.src.offset = m->last_offset;
        a.event_time = m->last_event_time;
    }
    ctx_emit(ctx, &a);
}

/* End-of-meeting rules, the summary, the tombstone; deletes the meeting
 * object (`m` is invalid afterwards). */
static void close_meeting(struct coaching *co, struct proc_ctx *ctx,
                          const char *mkey, struct co_meeting *m,
                          const char *closed_by, bool from_timer)
{
    char ckey[CO_KEY_MAX];

    judge_objections(co, ctx, m, m->mm.last_end_ms, true, from_timer);
    judge_context(co, ctx, m, m->mm.last_end_ms, true, from_timer);
    judge_discovery(co, ctx, m, NULL, true, from_timer);
    judge_talk_ratio(co, ctx, m, from_timer);
    summary(co, ctx, m, closed_by, from_timer);

    if (make_key(ckey, sizeof(ckey), m->customer_id, NULL) == 0) {
        struct co_obj *o = ctx_state(ctx, ckey, NULL);
        struct co_context *c = &o->u.c;
        context_seen(c, m->last_event_time);
        if (c->n_closed == CO_MAX_TOMBSTONES) {
            named_free(&c->closed[0]);
            memmove(&c->closed[0], &c->closed[1],
                    (c->n_closed - 1) * sizeof(c->closed[0]));
            c->n_closed--;
        }
        CO_ROOM(c, closed, CO_MAX_TOMBSTONES);
        c->closed[c->n_closed].id = xstrdup(m->meeting_id);
        c->closed[c->n_closed].at = m->last_event_time;
        c->n_closed++;
        ctx_save(co, ctx, ckey, c);
    }
    free(hmap_del(co->idle, mkey));
    ctx_state_delete(ctx, mkey);
}

static bool is_tombstoned(const struct co_context *c, const char *meeting_id)
{
    for (size_t i = 0; c && i < c->n_closed; i++)
        if (strcmp(c->closed[i].id, meeting_id) == 0)
            return true;
    return false;
}

static bool issue_open(const struct coaching *co, const struct co_context *c,
                       const char *link, int64_t now, const char **text)
{
    int64_t lookback = co->cfg->rules.context.lookback_ms;
    for (size_t i = 0; c && i < c->n_issues; i++)
        if (strcmp(c->issues[i].link, link) == 0 &&
            c->issues[i].at >= now - lookback) {
            *text = c->issues[i].text;
            return true;
        }
    return false;
}

static struct co_topic *topic_get(struct co_meeting *m, const char *name)
{
    for (size_t i = 0; i < m->n_topics; i++)
        if (strcmp(m->topics[i].name, name) == 0)
            return &m->topics[i];
    if (m->n_topics == CO_MAX_TOPICS)
        return NULL;
    struct co_topic *t = &m->topics[m->n_topics++];
    memset(t, 0, sizeof(*t));
    t->name = xstrdup(name);
    t->topic_ms = -1;
    return t;
}

static void rep_context(struct coaching *co, struct co_meeting *m,
                        const struct co_context *c, const struct co_hits *h,
                        const struct event *ev)
{
    const struct transcript_segment *ts = &ev->u.transcript;
    const struct co_link *lk = co->cfg->context_links.items;
    for (size_t i = 0; i < co->cfg->context_links.n; i++) {
        bool topic = h->topic & (1u << i);
        bool addr = h->addressed & (1u << i);
        const char *issue = NULL;
        if (!topic && !addr)
            continue;
        struct co_topic *t = NULL;
        if (addr) {
            t = topic_get(m, lk[i].name);
            if (t)
                t->addressed = true;
        }
        if (topic && issue_open(co, c, lk[i].name, ev->event_time, &issue)) {
            t = t ? t : topic_get(m, lk[i].name);
            if (t && t->topic_ms < 0) {
                t->topic_ms = ts->end_ms;
                free(t->evidence);
                t->evidence = dup_evidence(ts->text, CO_EVIDENCE_MAX);
                set_str(&t->issue, issue);
            }
        }
    }
}

static void customer_objections(struct coaching *co, struct co_meeting *m,
                                const struct co_hits *h,
                                const struct transcript_segment *ts)
{
    const struct co_objection *ob = co->cfg->objections.items;
    for (size_t i = 0; i < co->cfg->objections.n; i++) {
        if (!(h->objection & (1ull << i)))
            continue;
        m->mm.objections_raised++;
        bool open = false;
        for (size_t k = 0; k < m->n_pend && !open; k++)
            open = strcmp(m->pend[k].name, ob[i].name) == 0;
        if (open || m->n_pend == CO_MAX_PENDING)
            continue; /* raised again while pending: one alert */
        m->pend[m->n_pend++] = (struct co_pending){
            .name = xstrdup(ob[i].name),
            .raised_ms = ts->end_ms,
            .raise_no = m->mm.objections_raised,
            .evidence = dup_evidence(ts->text, CO_EVIDENCE_MAX),
        };
    }
}

static void rep_answers(struct co_meeting *m, const struct coaching *co,
                        const struct co_hits *h)
{
    for (size_t i = 0; i < m->n_pend;) {
        size_t idx;
        if (find_objection(co->cfg, m->pend[i].name, &idx) &&
            (h->answer & (1ull << idx)))
            pending_remove(m, i);
        else
            i++;
    }
}

/* Competitor mentions: configured names (matcher) and the customer's
 * registry-linked competitors (substring search, few names). */
static void competitors(struct coaching *co, struct proc_ctx *ctx,
                        struct co_meeting *m, const struct co_context *c,
                        const struct co_hits *h,
                        const struct transcript_segment *ts)
{
    const char *norm = (const char *)co->norm.data;
    const struct co_competitor *cp = co->cfg->competitors.items;
    const char *first = NULL;
    const struct co_competitor *first_cfg = NULL;
    unsigned n = h->competitor_n;

    for (size_t i = 0; i < co->cfg->competitors.n && !first; i++)
        if (h->competitor & (1ull << i)) {
            first = cp[i].names.v[0];
            first_cfg = &cp[i];
        }
    for (size_t i = 0; c && i < c->n_comps; i++) {
        struct buf b;
        buf_init(&b);
        matcher_normalize(c->comps[i].name, &b);
        bool configured = false;
        for (size_t k = 0; k < co->n_comp_norm && !configured; k++)
            configured = strcmp(co->comp_norm[k], (char *)b.data) == 0;
        unsigned k = configured ? 0 : count_occurrences(norm, (char *)b.data);
        buf_free(&b);
        if (k && !first)
            first = c->comps[i].name;
        n += k;
    }
    m->mm.competitor_mentions += n;
    if (first && ts->speaker_role == ROLE_CUSTOMER)
        fire_competitor(co, ctx, m, first, first_cfg, ts->text);
}

static void idle_touch(struct coaching *co, const char *key)
{
    struct co_idle *e = hmap_get(co->idle, key);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            abort();
        hmap_put(co->idle, key, e);
    }
    e->touched = true;
}

static int handle_segment(struct coaching *co, struct proc_ctx *ctx,
                          const struct event *ev, const char *ckey)
{
    const struct transcript_segment *ts = &ev->u.transcript;
    char mkey[CO_KEY_MAX];
    struct co_hits h;
    int created = 0;

    if (!ts->meeting_id || !ts->meeting_id[0] ||
        make_key(mkey, sizeof(mkey), ev->customer_id, ts->meeting_id) != 0) {
        ctx_fail(ctx, "coaching: missing or oversized meeting_id");
        return -1;
    }
    const struct co_obj *cobj = ctx_state_find(ctx, ckey);
    const struct co_context *c = cobj ? &cobj->u.c : NULL;
    if (is_tombstoned(c, ts->meeting_id)) {
        LOG_RL(LOG_DEBUG, "coaching", "late segment %d of closed meeting %s",
               (int)ts->seq, ts->meeting_id);
        return 0;
    }
    struct co_obj *o = ctx_state(ctx, mkey, &created);
    struct co_meeting *m = &o->u.m;
    if (m->has_seq && ts->seq <= m->last_seq)
        return 0; /* duplicate or out of order */
    if (created || !m->meeting_id) {
        set_str(&m->customer_id, ev->customer_id);
        set_str(&m->meeting_id, ts->meeting_id);
    }
    if (ts->rep_id && ts->rep_id[0] && !m->rep_id)
        set_str(&m->rep_id, ts->rep_id);
    m->has_seq = true;
    m->last_seq = ts->seq;
    set_str(&m->last_event_id, ev->event_id);
    set_str(&m->last_topic, ev->src.topic);
    m->last_partition = ev->src.partition;
    m->last_offset = ev->src.offset;
    m->last_event_time = ev->event_time;

    if (scan_text(co, ts->text, &h) != 0) {
        ctx_fail(ctx, "coaching: keyword scan failed");
        return -1;
    }
    const char *norm = (const char *)co->norm.data;

    /* Windows that closed before this segment began are judged first: an
     * answer in this (late) segment no longer counts. */
    judge_objections(co, ctx, m, ts->start_ms, false, false);
    judge_context(co, ctx, m, ts->start_ms, false, false);

    struct meeting_seg seg = {
        .speaker_id = ts->speaker_id,
        .role = ts->speaker_role,
        .start_ms = ts->start_ms,
        .end_ms = ts->end_ms,
        .norm = norm,
        .phase = ts->phase,
    };
    struct meeting_delta d;
    meeting_apply(&m->mm, &seg, &co->lx, &d);

    if (ts->speaker_role == ROLE_REP) {
        rep_answers(m, co, &h);
        rep_context(co, m, c, &h, ev);
        m->mm.product_focus += h.product;
        m->mm.customer_focus += h.customer;
        if (h.product)
            judge_self_focus(co, ctx, m, ts->text);
        judge_monologue(co, ctx, m, &d, ts->text);
    } else if (ts->speaker_role == ROLE_CUSTOMER) {
        customer_objections(co, m, &h, ts);
    }
    competitors(co, ctx, m, c, &h, ts);
    if (d.discovery_ended)
        judge_discovery(co, ctx, m, ts->text, false, false);

    if (ts->is_final) {
        close_meeting(co, ctx, mkey, m, "final", false);
        return 0;
    }
    ctx_state_dirty(ctx, mkey);
    idle_touch(co, mkey);
    return 0;
}

static int co_handle(void *inst, struct proc_ctx *ctx, const struct event *ev)
{
    struct coaching *co = inst;
    char ckey[CO_KEY_MAX];

    if (!ev->customer_id || !ev->customer_id[0] ||
        make_key(ckey, sizeof(ckey), ev->customer_id, NULL) != 0) {
        ctx_fail(ctx, "coaching: missing or oversized customer_id");
        return -1;
    }
    switch (ev->kind) {
    case EVENT_TRANSCRIPT: return handle_segment(co, ctx, ev, ckey);
    case EVENT_IOT: return handle_iot(co, ctx, ev, ckey);
    case EVENT_ANNOTATION: return handle_annotation(co, ctx, ev, ckey);
    case EVENT_REGISTRY: return handle_registry(co, ctx, ev, ckey);
    default: return 0;
    }
}

/* ------------------------------------------------------------------ */
/* Timer: idle meetings                                                 */
/* ------------------------------------------------------------------ */

struct keylist {
    char **v;
    size_t n, cap;
};

static void keylist_add(struct keylist *kl, const char *key)
{
    if (kl->n == kl->cap) {
        kl->cap = kl->cap ? kl->cap * 2 : 16;
        kl->v = realloc(kl->v, kl->cap * sizeof(char *));
        if (!kl->v)
            abort();
    }
    kl->v[kl->n++] = xstrdup(key);
}

static void keylist_free(struct keylist *kl)
{
    for (size_t i = 0; i < kl->n; i++)
        free(kl->v[i]);
    free(kl->v);
}

static int collect_meeting_key(void *arg, const char *key)
{
    if (type_of_key(key) == CO_MEETING)
        keylist_add(arg, key);
    return 0;
}

struct tick {
    int64_t now;
    int64_t idle_ms;
    struct keylist idle;
};

static int tick_entry(void *arg, const char *key, void *val)
{
    struct tick *t = arg;
    struct co_idle *e = val;
    if (e->touched) {
        e->touched = false;
        e->last_seen = t->now;
    } else if (t->now - e->last_seen >= t->idle_ms) {
        keylist_add(&t->idle, key);
    }
    return 0;
}

/* Whether the meeting's partition is this instance's now: another owner
 * closes it otherwise, and this copy is stale (issue 26). A meeting with
 * no provenance (none is written without one) counts as owned. */
static bool meeting_owned(const struct proc_ctx *ctx,
                          const struct co_meeting *m)
{
    return !m->last_topic || ctx_owns(ctx, m->last_topic, m->last_partition);
}

static void co_on_timer(void *inst, struct proc_ctx *ctx, int64_t now_ms)
{
    struct coaching *co = inst;
    struct tick t = {.now = now_ms, .idle_ms = co->cfg->idle_timeout_ms};

    if (!co->indexed || co->indexed_at != ctx_assignment(ctx)) {
        /* After a (re)start or a rebalance: every meeting in the store is
         * open (closed ones are deleted); those not indexed yet count as
         * seen now. Meetings of partitions owned elsewhere are dropped
         * below when they come due. */
        struct keylist kl = {0};
        ctx_state_foreach(ctx, collect_meeting_key, &kl);
        for (size_t i = 0; i < kl.n; i++)
            if (!hmap_get(co->idle, kl.v[i]))
                idle_touch(co, kl.v[i]);
        keylist_free(&kl);
        co->indexed = true;
        co->indexed_at = ctx_assignment(ctx);
    }
    hmap_each(co->idle, tick_entry, &t);
    for (size_t i = 0; i < t.idle.n; i++) {
        struct co_obj *o = ctx_state_find(ctx, t.idle.v[i]);
        if (!o || o->type != CO_MEETING || !o->u.m.meeting_id ||
            !meeting_owned(ctx, &o->u.m)) {
            free(hmap_del(co->idle, t.idle.v[i]));
            continue;
        }
        close_meeting(co, ctx, t.idle.v[i], &o->u.m, "idle", true);
    }
    keylist_free(&t.idle);
}

/* Whether handle_iot() keeps anything of an alert of this type. */
static bool iot_linked(const struct coaching *co, const char *alert_type)
{
    const struct co_link *lk = co->cfg->context_links.items;
    for (size_t i = 0; i < co->cfg->context_links.n; i++)
        for (size_t k = 0; k < lk[i].iot_alert_types.n; k++)
            if (strcmp(lk[i].iot_alert_types.v[k], alert_type) == 0)
                return true;
    return false;
}

/* See processor_ops.state_keys: make_key()'s keys, unjoined. An annotation
 * reaches the context only if its text matches, which only the scan in
 * handle() tells, so it names none. */
static size_t co_state_keys(const void *inst, const struct event *ev,
                            struct state_key *out, size_t max)
{
    const struct coaching *co = inst;
    if (!max || !ev->customer_id || !ev->customer_id[0])
        return 0;
    const struct state_key ctx_key = {{ev->customer_id, CO_CTX_SUFFIX}};
    switch (ev->kind) {
    case EVENT_TRANSCRIPT: {
        const char *meeting = ev->u.transcript.meeting_id;
        if (max < 2 || !meeting || !meeting[0])
            return 0;
        out[0] = ctx_key;
        out[1] = (struct state_key){{ev->customer_id, CO_MEETING_INFIX, meeting}};
        return 2;
    }
    case EVENT_IOT:
        if (!ev->u.iot.alert_type || !iot_linked(co, ev->u.iot.alert_type))
            return 0;
        out[0] = ctx_key;
        return 1;
    case EVENT_REGISTRY:
        if (!competitor_change(&ev->u.registry))
            return 0;
        out[0] = ctx_key;
        return 1;
    default:
        return 0;
    }
}

const struct processor_ops processor_coaching = {
    .name = "coaching",
    .description = "Real-time conversation coaching from meeting transcripts",
    .inputs = EVENT_MASK(EVENT_TRANSCRIPT) | EVENT_MASK(EVENT_ANNOTATION) |
              EVENT_MASK(EVENT_IOT) | EVENT_MASK(EVENT_REGISTRY),
    .config = &co_table,
    .init = co_init,
    .handle = co_handle,
    .on_timer = co_on_timer,
    .destroy = co_destroy,
    .state_new = co_state_new,
    .state_encode = co_state_encode,
    .state_prefetch = co_state_prefetch,
    .state_keys = co_state_keys,
    .state_decode = co_state_decode,
    .state_free = co_state_free,
    .state_to_json = co_state_to_json,
};
