/*
 * digest_config.c - processors.digest: how many RED alerts a manager's
 * day shows (the digest.top_n), the grace after local midnight,
 * and the zone of teams whose reps name none. Off by default: it needs
 * ref.reps and its repartition topic.
 */
#include <stddef.h>
#include <string.h>

#include "digest.h"

static const struct config_key dg_keys[] = {
    CFG_KEY_RANGE(struct dg_config, top_n, "top_n", CFG_INT, "3", 1, 50,
                  "RED alerts in a team's digest, most urgent first (the "
                  "issue's digest.top_n)."),
    CFG_KEY_RANGE(struct dg_config, grace_ms, "grace", CFG_DURATION, "1h", 0,
                  604800000.0,
                  "A team's day closes once the alerts reaching the team, "
                  "from every origin partition active that day, are this "
                  "far past its local midnight; later alerts of that day go "
                  "into the next day's digest, flagged late."),
    CFG_KEY_RANGE(struct dg_config, active_ms, "active_window", CFG_DURATION,
                  "1d", 60000, 2592000000.0,
                  "An origin partition holds a team's close back only while "
                  "its latest alert for the team is within this much of the "
                  "newest one; a quiet partition stops holding it."),
    CFG_KEY(struct dg_config, default_zone, "default_zone", CFG_STRING,
            "UTC",
            "IANA time zone of a team whose RepAssignment has none."),
};

static const char *dg_check(const void *obj)
{
    const struct dg_config *c = obj;
    return dg_zone_valid(c->default_zone)
               ? NULL
               : "default_zone: not an IANA time zone ICU knows";
}

const struct config_table digest_config_table = {
    .name = "digest",
    .keys = dg_keys,
    .n_keys = CFG_COUNT(dg_keys),
    .elem_size = sizeof(struct dg_config),
    .check = dg_check,
    .doc = "The manager's daily red list (issue 24): every alert the "
           "instance produces is observed (processor_ops.on_alert), goes "
           "through the repartition topic to its rep (ref.reps history: the "
           "team as of the alert's time) and on to its team; when the "
           "team's local day closes, one DailyDigest on sales.daily-digest "
           "with the top RED alerts ranked (severity, tier, amount, age), "
           "counts by category, overdue work items and median response per "
           "department. State per customer, rep and team (`inspect "
           "--customer <team_id>`).",
    .off_by_default = true,
};
