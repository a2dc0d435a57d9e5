/*
 * coaching_config.c - processors.coaching: the rules, the objection and
 * competitor libraries and the context links, with their defaults.
 */
#include <string.h>

#include "coaching.h"


static const char *const severity_opts[] = {"INFO", "WARNING", "RED", NULL};

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

const struct config_table coaching_config_table = {
    .name = "coaching",
    .keys = co_keys,
    .n_keys = CFG_COUNT(co_keys),
    .elem_size = sizeof(struct co_config),
    .check = config_check,
    .doc = "Real-time coaching from meeting transcripts (issue 4).",
};
