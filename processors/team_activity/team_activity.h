/*
 * team_activity.h - what the team_activity processor's files share: its
 * config, its state objects and the records it sends itself. Private to
 * processors/team_activity/.
 */
#ifndef DS_TEAM_ACTIVITY_H
#define DS_TEAM_ACTIVITY_H

#include <stdbool.h>
#include <stdint.h>

#include "processor.h"
#include "repmarks.h"
#include "statecodec.h"

struct ta_config {
    struct cfg_strlist won_stages; /* stage_to values that count as won */
};

extern const struct config_table team_activity_config_table;

/* State keys: "<rep_id>/rep" in the rep's partition, "<team_id>/team" in
 * the team's. */
#define TA_REP_SUFFIX "/rep"
#define TA_TEAM_SUFFIX "/team"


/* Opportunity updates: how many, how many won, the amount won. */
struct ta_counts {
    int64_t updates;
    int64_t won;
    double won_amount;
};

struct ta_rep {
    char *team_id; /* NULL until ref.reps names it */
    char *name;
    int64_t assigned_at; /* event time of the assignment held */
    /* Updates that arrived before ref.reps named the team (the two topics
     * are not ordered): sent on when it does. */
    struct ta_counts pending;
    struct repmarks marks;
};

struct ta_team {
    struct ta_counts counts;
    int64_t last_event_time;
    struct repmarks marks;
};

enum ta_obj_type { TA_REP = 1, TA_TEAM = 2 };

struct ta_obj {
    enum ta_obj_type type;
    union {
        struct ta_rep rep;
        struct ta_team team;
    } u;
};


/* The counts on the wire and in state. */
void team_activity_counts_put(const struct ta_counts *c, struct buf *out);
void team_activity_counts_get(struct ta_counts *c, struct buf_reader *r);

void *team_activity_state_new(const char *key);
void team_activity_state_encode(const void *st, struct buf *out);
int team_activity_state_decode(const char *key, const uint8_t *data, size_t len,
                               void **st);
void team_activity_state_free(void *st);
void team_activity_state_to_json(const void *st, struct jw *w);

#endif
