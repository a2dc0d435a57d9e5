/*
 * action_units_fixture.h - what the action-unit processor's two test files
 * share: the processor's ops, the clock and customer of the scenarios, event
 * builders that feed the in-memory harness, and readers of alerts and state.
 */
#ifndef DS_ACTION_UNITS_FIXTURE_H
#define DS_ACTION_UNITS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "harness.h"

extern const struct processor_ops processor_action_units;
#define OPS (&processor_action_units)

#define DAY_MS 86400000LL
#define T0 1793577600000LL /* 2026-11-02T00:00:00Z */
#define CUST "acme-medical"
/* The tests written before evidence_grace judge claims on arrival. */
#define AU_NO_GRACE "evidence_grace: 0\n"

/* ---- event builders (strings are literals: they outlive the feed) ---- */

int feed_ann(struct harness *h, const char *eid, const char *opp,
             const char *doc, enum doc_type type, const char *author,
             const char *text, int64_t t);

int feed_opp_for(struct harness *h, const char *cust, const char *eid,
                 const char *opp, const char *industry,
                 const char *from, const char *to, int64_t t);

int feed_opp(struct harness *h, const char *eid, const char *opp,
             const char *industry, const char *from, const char *to,
             int64_t t);

int feed_reg_for(struct harness *h, const char *cust, const char *eid,
                 enum change_type ct, const char *id, const char *name,
                 int64_t t);

int feed_reg(struct harness *h, const char *eid, enum change_type ct,
             const char *id, const char *name, int64_t t);

/* Interview note by a department director. */
void director(struct harness *h, const char *eid, const char *opp,
              const char *doc, const char *text, int64_t t);

/* Two good director notes and D-17 naming 日间手术 and 床旁检测, the latter
 * covered by MediSight once it is linked. */
void two_good_one_short(struct harness *h, const char *opp);

/* ---- alerts and state ---- */

size_t count_rule(struct harness *h, const char *rule);

const struct alert *find_rule(struct harness *h, const char *rule);

double metric(const struct alert *a, const char *name);

json_t *state_json(struct harness *h, const char *key);

/* "supported"/"missing" of `stage` in the opportunity's snapshot. */
const char *stage_status(json_t *opp, const char *stage);

#endif
