/*
 * attribution_config.c - processors.attribution. Off by default: it reads
 * sales.outcomes and env.signals and needs its repartition topic.
 */
#include "attribution.h"

static const char *const period_names[] = {"week", "month", "quarter", NULL};
static const char *const language_names[] = {"en", "zh", NULL};

static const struct config_key at_keys[] = {
    CFG_KEY_ENUM(struct at_config, period, "period", "month", period_names,
                 "Length of the periods a unit is judged over (week: Monday "
                 "to Sunday; the same season a year back is 52 weeks back)."),
    CFG_KEY(struct at_config, zone, "zone", CFG_STRING, "UTC",
            "Time zone the periods are cut in, as a fixed UTC offset: UTC, "
            "+08:00, -05:30."),
    CFG_KEY_RANGE(struct at_config, grace, "grace", CFG_DURATION, "2d", 0,
                  366.0 * 86400000, "How far the outcomes' event time must "
                  "pass a period's end before the period closes; outcomes "
                  "after that bring a correction report."),
    CFG_KEY_RANGE(struct at_config, origin_idle, "origin_idle", CFG_DURATION,
                  "1m", 0, 86400000.0, "Wall-clock time after which an input "
                  "partition that sent a panel no outcome stops holding the "
                  "panel's periods open (the periods close on the least "
                  "event time over the other partitions); 0: a period closes "
                  "on the largest event time of any partition, as before."),
    CFG_KEY_RANGE(struct at_config, level, "level", CFG_DOUBLE, "0.9", 0.5,
                  0.999, "Nominal coverage of effect_low..effect_high."),
    CFG_KEY_RANGE(struct at_config, min_controls, "min_controls", CFG_INT, "5",
                  2, 100000, "Fewest unexposed units with history a panel "
                  "needs for an estimate; with fewer the reports refuse."),
    CFG_KEY_RANGE(struct at_config, pre_periods, "pre_periods", CFG_INT, "6",
                  3, 16, "Recent periods a unit's trend is fitted over when "
                  "the panel does not reach a year back."),
    CFG_KEY_RANGE(struct at_config, history_periods, "history_periods",
                  CFG_INT, "60", 8, 1000, "Periods kept per unit (must "
                  "cover a year and pre_periods); outcomes older than that "
                  "go to the DLQ."),
    CFG_KEY_RANGE(struct at_config, max_units, "max_units", CFG_INT, "5000",
                  1, 1000000, "Units per panel (industry and metric); "
                  "outcomes of more go to the DLQ."),
    CFG_KEY_ENUM(struct at_config, language, "language", "en", language_names,
                 "Language of the reports' explanation."),
    CFG_KEY(struct at_config, closed_stages, "closed_stages", CFG_STRLIST,
            "[closed_won, closed_lost, won, lost]",
            "Opportunity stages (stage_to) that end an opportunity: `simulate` "
            "lists only the others."),
};

static const char *at_check(const void *obj)
{
    const struct at_config *c = obj;
    int64_t off;
    if (attribution_zone_parse(c->zone, &off) != 0)
        return "zone must be UTC or an offset such as +08:00";
    int32_t season = attribution_period_season(c->period);
    if (c->history_periods <= season || c->history_periods <= c->pre_periods)
        return "history_periods must exceed a year of periods and pre_periods";
    return NULL;
}

const struct config_table attribution_config_table = {
    .name = "attribution",
    .keys = at_keys,
    .n_keys = CFG_COUNT(at_keys),
    .elem_size = sizeof(struct at_config),
    .check = at_check,
    .doc = "Counterfactual attribution (difference-in-differences, "
           "docs/ATTRIBUTION.md): each unit's outcomes are summed per period "
           "in a panel per industry and metric, reached through the "
           "repartition topic; environment signals are a global table "
           "(every instance reads all of env.signals). When the outcomes' event "
           "time passes a period's end plus `grace` in every input partition "
           "(those idle for `origin_idle` left out), every unit of the panel "
           "gets an AttributionReport on sales.attribution.",
    .off_by_default = true,
};
