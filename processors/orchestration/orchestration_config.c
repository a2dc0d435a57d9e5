/*
 * orchestration_config.c - processors.orchestration: the triggers, each
 * with the work items it creates, and the de-duplication window. Off by
 * default: it reads ops.work-item-updates, which a deployment may not have.
 */
#include <stddef.h>
#include <string.h>

#include "orchestration.h"

/* The article's example (reference/, "sales as an orchestrated business
 * flow"): multi-currency settlement in South-East Asia. */
#define DEF_TRIGGERS                                                          \
    "{multi_currency_settlement: {keywords: [多币种结算, 多币种支付, "          \
    "多种货币结算, 多币种, 东南亚结算, multi-currency settlement, "             \
    "multi currency settlement, multicurrency settlement, settle in "         \
    "multiple currencies], work_items: ["                                     \
    "{department: legal, sla: 30m, task: \"Send {rep_id} the local licence "  \
    "requirements for multi-currency settlement in South-East Asia "          \
    "(customer {customer_id}).\"}, "                                          \
    "{department: engineering, sla: 1h, task: \"Send {rep_id} the API "       \
    "integration document for multi-currency settlement (customer "           \
    "{customer_id}).\"}, "                                                    \
    "{department: finance, sla: 1h, task: \"Cost the FX lock for "            \
    "{customer_id}'s multi-currency settlement and send it to {rep_id}.\"}]}}"

static const struct config_key item_keys[] = {
    {.name = "department", .type = CFG_STRING,
     .offset = offsetof(struct or_item_cfg, department), .required = true,
     .desc = "The department that must act (legal, engineering, ...)."},
    {.name = "task", .type = CFG_STRING,
     .offset = offsetof(struct or_item_cfg, task), .required = true,
     .desc = "What it must do; placeholders {customer_id}, {rep_id}, "
             "{opportunity_id}, {department}, {trigger}, {requirement}, "
             "{keyword}, {sla}."},
    {.name = "sla", .type = CFG_DURATION,
     .offset = offsetof(struct or_item_cfg, sla_ms), .required = true,
     .bounded = true, .min = 1000, .max = 31536000000.0,
     .desc = "Time from the triggering event to the due time; past it "
             "(stream time) the item turns OVERDUE."},
};

static const char *item_check(const void *obj)
{
    const struct or_item_cfg *c = obj;
    if (!c->department[0])
        return "department must not be empty";
    return or_template_check(c->task);
}

static const struct config_table item_table = {
    .name = "work_item",
    .keys = item_keys,
    .n_keys = CFG_COUNT(item_keys),
    .elem_size = sizeof(struct or_item_cfg),
    .check = item_check,
};

static const struct config_key trigger_keys[] = {
    {.name = "keywords", .type = CFG_STRLIST,
     .offset = offsetof(struct or_trigger, keywords), .bounded = true,
     .min = 0, .max = 256,
     .desc = "Phrases, Chinese or English, in what the customer says "
             "(transcript segments of speaker_role CUSTOMER) or in "
             "document annotations; matched as the keyword matcher does "
             "(case, full-width and ASR spaces tolerated)."},
    {.name = "sources", .type = CFG_STRLIST,
     .offset = offsetof(struct or_trigger, sources),
     .def = "[transcripts, doc_annotations]", .bounded = true, .min = 1,
     .max = 2, .desc = "Where the keywords are looked for: transcripts, "
                       "doc_annotations."},
    {.name = "stages", .type = CFG_STRLIST,
     .offset = offsetof(struct or_trigger, stages), .bounded = true,
     .min = 0, .max = 64,
     .desc = "Opportunity stages (stage_to) whose entry fires it."},
    {.name = "categories", .type = CFG_STRLIST,
     .offset = offsetof(struct or_trigger, categories), .bounded = true,
     .min = 0, .max = 16,
     .desc = "Coaching alert categories (DISCOVERY_TIME, "
             "COMPETITOR_MENTION, ...; not WORK_ITEM_OVERDUE) whose alerts "
             "fire it, whichever processor emits them (observed as they "
             "are produced). Once per customer, category and rule within "
             "dedup_window; the alert's message is the requirement."},
    {.name = "work_items", .type = CFG_LIST,
     .offset = offsetof(struct or_trigger, work_items), .required = true,
     .bounded = true, .min = 1, .max = OR_MAX_WORK_ITEMS, .sub = &item_table,
     .desc = "The work items it creates, one per department."},
};

static const char *trigger_check(const void *obj)
{
    const struct or_trigger *t = obj;
    if (t->keywords.n == 0 && t->stages.n == 0 && t->categories.n == 0)
        return "a trigger needs keywords, stages or categories";
    for (size_t i = 0; i < t->categories.n; i++) {
        int c = or_category(t->categories.v[i]);
        if (c < 0)
            return "categories: unknown coaching category";
        if (c == CAT_WORK_ITEM_OVERDUE)
            return "categories: WORK_ITEM_OVERDUE is this processor's own "
                   "alert and cannot fire a trigger";
    }
    for (size_t i = 0; i < t->sources.n; i++)
        if (strcmp(t->sources.v[i], "transcripts") != 0 &&
            strcmp(t->sources.v[i], "doc_annotations") != 0)
            return "sources: each must be transcripts or doc_annotations";
    for (size_t i = 0; i < t->keywords.n; i++)
        if (!t->keywords.v[i][0])
            return "keywords must not be empty strings";
    return NULL;
}

int or_category(const char *name)
{
    for (int c = 0; c <= CAT_WORK_ITEM_OVERDUE; c++)
        if (strcmp(coaching_category_name((enum coaching_category)c), name) == 0)
            return c;
    return -1;
}

static const struct config_table trigger_table = {
    .name = "trigger",
    .keys = trigger_keys,
    .n_keys = CFG_COUNT(trigger_keys),
    .elem_size = sizeof(struct or_trigger),
    .name_offset = offsetof(struct or_trigger, id),
    .check = trigger_check,
};

static const struct config_key department_keys[] = {
    {.name = "topic", .type = CFG_STRING,
     .offset = offsetof(struct or_department, topic), .required = true,
     .desc = "The topic its work items (every status) go to instead of "
             "topics.work_items. Provisioned like the other outputs; same "
             "WorkItem schema and key."},
};

static const char *department_check(const void *obj)
{
    const struct or_department *d = obj;
    return d->topic[0] ? NULL : "topic must not be empty";
}

static const struct config_table department_table = {
    .name = "department",
    .keys = department_keys,
    .n_keys = CFG_COUNT(department_keys),
    .elem_size = sizeof(struct or_department),
    .name_offset = offsetof(struct or_department, name),
    .check = department_check,
};

static const char *const severities[] = {"INFO", "WARNING", "RED", NULL};

static const struct config_key or_keys[] = {
    {.name = "triggers", .type = CFG_MAP,
     .offset = offsetof(struct or_config, triggers), .def = DEF_TRIGGERS,
     .bounded = true, .min = 0, .max = OR_MAX_TRIGGERS, .sub = &trigger_table,
     .desc = "Trigger id -> what fires it (keywords, stages) and the work "
             "items it creates. This map replaces the built-in one as a "
             "whole."},
    {.name = "departments", .type = CFG_MAP,
     .offset = offsetof(struct or_config, departments), .bounded = true,
     .min = 0, .max = 32, .sub = &department_table,
     .desc = "Department name -> its own topic: a department that consumes "
             "its own work items. One not listed gets topics.work_items "
             "(ops.work-items)."},
    CFG_KEY_RANGE(struct or_config, dedup_window_ms, "dedup_window",
                  CFG_DURATION, "7d", 0, 31536000000.0,
                  "A trigger fires once per customer and requirement within "
                  "this much event time: a customer repeating a need does "
                  "not create new work items. Closed items are forgotten "
                  "after it."),
    CFG_KEY_RANGE(struct or_config, max_items, "max_items", CFG_INT, "64", 1,
                  4096,
                  "Work items kept per customer; beyond it the oldest closed "
                  "one (else the oldest) is dropped."),
    CFG_KEY_ENUM(struct or_config, overdue_severity, "overdue_severity", "RED",
                 severities,
                 "Severity of the WORK_ITEM_OVERDUE coaching alert."),
    CFG_KEY(struct or_config, overdue_message, "overdue_message", CFG_STRING,
            "\"{department} has not done its task for {customer_id} within "
            "{sla} (due {due}): {task}\"",
            "Message of the WORK_ITEM_OVERDUE coaching alert to the rep; "
            "the task's placeholders plus {task} and {due}."),
    CFG_KEY(struct or_config, overdue_message_zh, "overdue_message_zh",
            CFG_STRING,
            "\"{department} 未在 {sla} 内完成客户 {customer_id} 的任务（截止 "
            "{due}）：{task}\"",
            "The same in Chinese, used when the requirement that fired the "
            "item is Chinese (language_cjk_ratio)."),
    CFG_KEY_RANGE(struct or_config, cjk_ratio, "language_cjk_ratio",
                  CFG_DOUBLE, "0.3", 0.01, 1,
                  "Share of CJK characters among letters from which a "
                  "requirement counts as Chinese."),
};

static const char *or_check(const void *obj)
{
    const struct or_config *c = obj;
    const char *m = or_template_check(c->overdue_message);
    return m ? m : or_template_check(c->overdue_message_zh);
}

const struct config_table orchestration_config_table = {
    .name = "orchestration",
    .keys = or_keys,
    .n_keys = CFG_COUNT(or_keys),
    .elem_size = sizeof(struct or_config),
    .check = or_check,
    .doc = "Orchestrated follow-through (issue 24): triggers on what "
           "customers ask for (keywords in transcripts and annotations), "
           "on opportunity stage changes or on coaching alert categories "
           "create work items for departments "
           "on ops.work-items; ops.work-item-updates close them; an item "
           "not DONE by its due time (stream time) turns OVERDUE once and "
           "raises a WORK_ITEM_OVERDUE coaching alert to the rep. DONE "
           "items' response times reach their department's state through "
           "the repartition topic. State per customer and per department "
           "(`inspect --customer <id>`).",
    .off_by_default = true,
};
