/*
 * team_activity_config.c - processors.team_activity. Off by default: it
 * reads ref.reps and needs its repartition topic.
 */
#include "team_activity.h"

static const struct config_key ta_keys[] = {
    CFG_KEY(struct ta_config, won_stages, "won_stages", CFG_STRLIST,
            "[closed_won, won]",
            "Opportunity stages (stage_to) that count as won."),
};

const struct config_table team_activity_config_table = {
    .name = "team_activity",
    .keys = ta_keys,
    .n_keys = CFG_COUNT(ta_keys),
    .elem_size = sizeof(struct ta_config),
    .doc = "Opportunity updates and wins per sales team: each update goes "
           "to its rep's partition through the repartition topic, meets the "
           "rep's team from ref.reps there, and is counted in the team's "
           "partition; updates of a rep not named yet wait in the rep's "
           "state. The state is keyed by rep and by team (`inspect "
           "--customer <team_id>`).",
    .off_by_default = true,
};
