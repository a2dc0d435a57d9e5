/*
 * attribution.h - what the attribution processor's files share: its
 * config, its periods, its estimator and its state objects. Private to
 * processors/attribution/ (docs/ATTRIBUTION.md has the method).
 */
#ifndef DS_ATTRIBUTION_H
#define DS_ATTRIBUTION_H

#include <stdbool.h>
#include <stdint.h>

#include "processor.h"
#include "repmarks.h"
#include "statecodec.h"

/* ---- config (attribution_config.c) ---- */

enum at_period_kind { AT_WEEK = 0, AT_MONTH, AT_QUARTER };
enum at_language { AT_EN = 0, AT_ZH };

struct at_config {
    int period;           /* enum at_period_kind */
    char *zone;           /* "UTC", "+08:00", "-05:30" */
    int64_t grace;        /* ms after a period's end before it closes */
    int64_t origin_idle;  /* ms an origin partition may be silent */
    double level;         /* the intervals' nominal coverage */
    int64_t min_controls; /* fewer unexposed units: no estimate */
    int64_t pre_periods;  /* recent periods a trend is fitted over */
    int64_t history_periods; /* periods kept per unit */
    int64_t max_units;    /* units per panel */
    int language;         /* enum at_language */
    struct cfg_strlist closed_stages; /* stage_to values that end an opportunity */
};

extern const struct config_table attribution_config_table;

/* "UTC", "+08:00", "-0530", "+8": 0 and the offset in ms, or -1. */
int attribution_zone_parse(const char *s, int64_t *offset_ms);

/* ---- periods (attribution_period.c) ----
 * A period is a number: months and quarters counted from year 0, weeks
 * (Monday to Sunday) from the week of 1970-01-01, all in local time of a
 * fixed UTC offset. */

int32_t attribution_period_of(int kind, int64_t offset_ms, int64_t t_ms);
int64_t attribution_period_start(int kind, int64_t offset_ms, int32_t p);
/* "2026-03", "2026-Q1", "2026-W11" (ISO week) into out. */
void attribution_period_label(int kind, int32_t p, char *out, size_t n);
/* Periods per year: 12, 4, or 52 for weeks (same season a year ago). */
int32_t attribution_period_season(int kind);

/* ---- the estimator (attribution_did.c) ---- */

enum did_status {
    DID_OK = 0,
    DID_NO_HISTORY,  /* the unit lacks a value in a reference period */
    DID_FEW_CONTROLS /* fewer usable control units than min_controls */
};

struct did_in {
    int group;   /* 0: unexposed; 1..n: units exposed to the same signals share one */
    bool usable; /* has its reference value */
    double y;    /* the period's value */
    double ref;  /* its reference (own history), when usable */
};

struct did_out {
    enum did_status status;
    double baseline; /* ref + the controls' mean change */
    double effect;   /* the group's DiD estimate; 0 unexposed */
    double low, high;
    int32_t controls;
};

/* One DiD estimate per unit of a panel for one period (see the file). */
void attribution_did(const struct did_in *in, size_t n, double level,
                     int64_t min_controls, struct did_out *out);

/* Quantile p (0 < p < 1) of the standard normal and of Student's t. */
double attribution_norm_quantile(double p);
double attribution_t_quantile(double p, double dof);

/* The reference of a unit's series for period t: the mean of the same
 * season in earlier years (method same_season) when the panel reaches a
 * year back, else the value at t of a line fitted over the pre_periods
 * before t (method recent_trend). Values are looked up through `get`. */
enum did_ref_method { DID_REF_SEASON = 0, DID_REF_TREND, DID_REF_NONE };

struct did_refplan {
    enum did_ref_method method;
    int32_t periods[16]; /* the reference periods */
    size_t n;
};

void attribution_refplan(int32_t t, int32_t first, int32_t season,
                         int64_t pre_periods, struct did_refplan *plan);
/* 0 and *ref, or -1 when get() lacks one of the plan's periods. */
int attribution_ref(const struct did_refplan *plan, int32_t t,
                    int (*get)(const void *arg, int32_t p, double *v),
                    const void *arg, double *ref);

/* ---- the policy-impact simulator (attribution_sim.c) ---- */

/* One opportunity in one stage: from entering it to leaving it. */
struct sim_spell {
    const char *industry; /* NULL: unknown */
    int64_t start, end;   /* ms */
};

struct sim_signal {
    int kind; /* enum signal_kind */
    const char *const *industries;
    size_t n_industries;
    int64_t start_time, end_time; /* ms; INT64_MAX: open */
};

struct sim_estimate {
    double days;      /* expected change of a stage's duration */
    double low, high; /* interval at the level asked */
    int signals;      /* past signals it rests on */
};

/* The expected change in days of a stage of `industry` under a new signal
 * of `kind`, from the past signals of that kind that covered it. 0, or -1
 * when none of them has two spells in each of its four cells. */
int attribution_sim_estimate(const struct sim_spell *sp, size_t n_spells,
                             const struct sim_signal *past, size_t n_past,
                             int kind, const char *industry, double level,
                             struct sim_estimate *out);

/* ---- state (attribution_state.c) ----
 * Keys: "<panel>/panel" where <panel> is "<industry or ->|<metric>", and
 * AT_HUB_KEY "/hub" for the table of signals and panels. */

#define AT_HUB_KEY "~signals"
#define AT_PANEL_SUFFIX "/panel"
#define AT_HUB_SUFFIX "/hub"
#define AT_OPPS_SUFFIX "/opps" /* "<customer>/opps": for the simulator */
#define AT_MAX_OPPS 256        /* per customer; least recently moved dropped */
#define AT_MAX_SPELLS 512      /* per customer; oldest dropped */
#define AT_MAX_SIGNALS 4096
#define AT_MAX_PANELS 65536

struct at_signal {
    char *id;
    int kind; /* enum signal_kind */
    char *title;
    char **regions; /* none: all */
    size_t n_regions;
    char **industries; /* none: all */
    size_t n_industries;
    int64_t start_time, end_time; /* ms; end_time INT64_MAX: open */
    int64_t event_time;
};

struct at_cell {
    int32_t period;
    double value;
};

struct at_unit {
    char *id;
    char *region;
    struct at_cell *cells; /* by period, ascending */
    size_t n_cells;
};

/* A period closed and reported: its revision, so corrections count on. */
struct at_closed {
    int32_t period;
    int32_t revision;
};

struct at_panel {
    char *industry; /* NULL: none */
    char *metric;
    int64_t watermark; /* max event_time of the outcomes applied (any origin) */
    int32_t closed_through; /* last period closed; INT32_MIN: none */
    bool registered;   /* asked the hub for the signals */
    bool synced;       /* the hub's signals as of then have arrived */
    struct at_unit *units;
    size_t n_units;
    struct at_signal *signals;
    size_t n_signals;
    struct at_closed *closed; /* ascending */
    size_t n_closed;
    struct repmarks marks; /* per origin partition, with its max event time */
    int64_t since;         /* in memory: ctx_clock_ms() when loaded, or
                            * when outcomes came back after a pause */
    int64_t heard;         /* in memory: ctx_clock_ms() of the last outcome */
    uint64_t gver;         /* in memory: ctx_global_version() of the signals
                            * last taken from the global table */
};

struct at_hub {
    struct at_signal *signals;
    size_t n_signals;
    char **panels;
    size_t n_panels;
};

/* A customer's opportunity as the simulator needs it. */
struct at_opp {
    char *id, *rep, *industry, *stage; /* industry may be NULL */
    int64_t entered; /* ms: event time it entered its stage */
    bool open;
};

/* A stage passed: from entering to leaving it. */
struct at_spell {
    char *industry; /* NULL: unknown */
    int64_t start, end;
};

struct at_opps {
    struct at_opp *opps;
    size_t n_opps;
    struct at_spell *spells;
    size_t n_spells;
};

enum at_obj_type { AT_PANEL = 1, AT_HUB = 2, AT_OPPS = 3 };

struct at_obj {
    enum at_obj_type type;
    union {
        struct at_panel panel;
        struct at_hub hub;
        struct at_opps opps;
    } u;
};

/* The signal on the wire and in state. */
void attribution_signal_put(const struct at_signal *s, struct buf *out);
int attribution_signal_get(struct at_signal *s, struct buf_reader *r);
void attribution_signal_clear(struct at_signal *s);
/* Inserts or replaces (a newer event_time wins) a copy of s into the
 * array; 1 when it changed, 0 when it held that already. */
int attribution_signal_upsert(struct at_signal **v, size_t *n,
                              const struct at_signal *s);

void attribution_opps_clear(struct at_opps *op);

void *attribution_state_new(const char *key);
void attribution_state_encode(const void *st, struct buf *out);
int attribution_state_decode(const char *key, const uint8_t *data, size_t len,
                             void **st);
void attribution_state_free(void *st);
void attribution_state_to_json(const void *st, struct jw *w);

#endif
