/*
 * digest.h - what the digest processor's files share: its config, its
 * state objects, the observed alert on its way to its team ("note"), the
 * ranking and the team's local day. Private to processors/digest/.
 */
#ifndef DS_DIGEST_H
#define DS_DIGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "processor.h"
#include "statecodec.h"

#define DG_MAX_HISTORY 32 /* assignments kept per rep */
#define DG_MAX_ITEMS 256  /* RED alerts kept per open day */
#define DG_MAX_SEEN 4096  /* alert ids remembered per team */
#define DG_MAX_DAYS 16    /* open days per team */
#define DG_MAX_ORIGINS 256
#define DG_MAX_AMOUNTS 16 /* opportunities remembered per customer */
#define DG_MAX_COUNTS 64  /* categories per day */
#define DG_MAX_RESP 1024  /* response times per day */

struct dg_config {
    int64_t top_n;
    int64_t grace_ms;
    int64_t active_ms;
    char *default_zone;
};

extern const struct config_table digest_config_table;

/* An observed alert, as it travels customer -> rep -> team. */
enum { DG_COUNTED = 1, DG_OVERDUE = 2, DG_DONE = 4, DG_LATE = 8 };
struct dg_note {
    char *alert_id, *kind, *category, *severity, *customer_id, *rep_id;
    char *message, *tier, *department;
    bool has_amount;
    double amount;
    int64_t time;        /* the alert's event_time, ms */
    int32_t origin;      /* the alert's source partition */
    uint8_t flags;
    int64_t response_ms; /* DG_DONE: created -> DONE */
};

void dg_note_clear(struct dg_note *n);
void dg_note_encode(const struct dg_note *n, struct buf *out);
void dg_note_decode(struct dg_note *n, struct buf_reader *r);

/* "<customer_id>": what the ranking needs, kept where the alerts are. */
struct dg_amount {
    char *opportunity_id;
    double amount;
};
struct dg_customer {
    char *tier; /* the last LeadRerating's, NULL: none */
    struct dg_amount amounts[DG_MAX_AMOUNTS];
    size_t n_amounts;
};

/* "<rep_id>/rep": the rep's assignments, by start time. */
struct dg_assign {
    int64_t from; /* ms: the RepAssignment's event_time */
    char *team, *manager, *zone;
};
#define DG_MAX_PENDING 256 /* alerts waiting for the rep's first row */
struct dg_rep {
    struct dg_assign v[DG_MAX_HISTORY];
    size_t n;
    /* Alerts that reached the rep before any ref.reps row of it (topics
     * are not ordered against each other): sent on when one arrives. */
    struct dg_note *pending;
    size_t n_pending;
};
/* The assignment in force at t: the latest starting at or before t, else
 * the earliest (an alert before the rep's first row); NULL: none. */
const struct dg_assign *dg_rep_at(const struct dg_rep *r, int64_t t);
/* Adds (or replaces, same start) an assignment; the oldest goes beyond
 * DG_MAX_HISTORY. Returns whether r changed. */
bool dg_rep_add(struct dg_rep *r, int64_t from, const char *team,
                const char *manager, const char *zone);

/* One open day of a team. */
struct dg_count {
    char *name;
    int64_t n;
};
struct dg_resp {
    char *department;
    int64_t ms;
};
struct dg_day {
    char day[11];       /* YYYY-MM-DD, local */
    int64_t start, end; /* ms, [start, end) */
    struct dg_note *items; /* RED, counted */
    size_t n_items;
    struct dg_count *counts;
    size_t n_counts;
    int32_t overdue, late;
    struct dg_resp *resp;
    size_t n_resp;
};
struct dg_origin {
    int32_t partition;
    int64_t latest; /* ms: the latest alert time from it */
};
struct dg_seen {
    char id[33];
    int64_t time;
};
/* "<team_id>/team": the open days, the origins' progress, the last day
 * closed, and the alert ids applied (copies re-sent are skipped). */
struct dg_team {
    char *manager, *zone;
    char *topic;       /* where the team's records arrive (its partition) */
    int32_t partition; /* -1: none yet */
    char closed_day[11]; /* "" none */
    int64_t closed_end;
    struct dg_day *days;
    size_t n_days;
    struct dg_origin *origins;
    size_t n_origins;
    struct dg_seen *seen; /* a ring of DG_MAX_SEEN */
    size_t n_seen, next_seen;
};

enum { DG_CUSTOMER = 0, DG_REP, DG_TEAM };
struct dg_obj {
    uint8_t type;
    union {
        struct dg_customer c;
        struct dg_rep r;
        struct dg_team t;
    } u;
};
#define DG_REP_SUFFIX "/rep"
#define DG_TEAM_SUFFIX "/team"

void *digest_state_new(const char *key);
void digest_state_encode(const void *st, struct buf *out);
int digest_state_decode(const char *key, const uint8_t *data, size_t len,
                        void **st);
void digest_state_free(void *st);
void digest_state_to_json(const void *st, struct jw *w);
void dg_day_clear(struct dg_day *d);

/* The ranking (docs/PROCESSORS.md): <0 when a is more urgent than b.
 * Severity, then tier (A first, unknown last), then amount (larger
 * first, unknown last), then age (older first), then alert_id. */
int dg_rank_cmp(const struct dg_note *a, const struct dg_note *b);
/* Why n ranked at position pos (1-based) of total, into out. */
void dg_why(const struct dg_note *n, size_t pos, size_t total, const char *zone,
            char *out, size_t len);

/* The local day of t in zone (ICU, thread-safe): its label and its
 * bounds [start, end) in ms (23 or 25 hours long on a DST change). 0, or
 * -1 for a zone ICU does not know. */
int dg_local_day(const char *zone, int64_t t, char day[11], int64_t *start,
                 int64_t *end);
/* Whether ICU knows zone. */
bool dg_zone_valid(const char *zone);
/* "HH:MM" of t in zone, into out (9 bytes at least). */
void dg_local_hm(const char *zone, int64_t t, char *out, size_t len);

#endif
