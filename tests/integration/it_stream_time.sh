#!/usr/bin/env bash
# action_units' stream time survives a restart and an empty disk (issue 20).
# Run 1 applies an opportunity that enters discovery with no unit
# evidenced, then a second opportunity of the customer 5 days later: the
# partition's stream time passes the first one's deadline (3d), but
# ACTION_UNITS_INCOMPLETE is off, so nothing fires. Run 2 starts on an
# empty disk, restores the state from the changelog, turns the rule on and
# gets no event at all: only the partition's stream time kept in state
# (restored with the partition, read back on assignment) lets its timer
# judge the deadline; before, the stream time was unknown until the next
# event.
# brokers: mock
MOCK_CHANGELOG=1 # 4 partitions: the mock's changelog matches the inputs
. "$(dirname "$0")/lib.sh"
start_broker 4
T0=1793700000000
DAY=86400000
opp() { # opp <opportunity> <day>: created in discovery
  printf '{"event_id":"hosp-a-opp-%d","customer_id":"hosp-a","opportunity_id":"OPP-%s","rep_id":"rep-1","industry":"medical","stage_from":null,"stage_to":"discovery","amount":500000.0,"event_time":%d}\n' \
    "$2" "$1" $((T0 + $2 * DAY))
}
{ opp 1 0; opp 2 5; } >"$WORK/opps.jsonl"
produce crm.opportunity-updates "$WORK/opps.jsonl" || fail "produce opportunities"
# One changelog for both groups (its default name follows the group).
AU="--exit-when-idle 1000 --set state.changelog_topic=st-changelog --set processors.action_units.evidence_grace=0 --set processors.action_units.rules.action_units_incomplete.after=3d --set runtime.idle_check_interval=200ms"

run_until_idle state g-st run1.log $AU \
  --set processors.action_units.rules.action_units_incomplete.enabled=false
grep -q "stopped cleanly: events=2 dlq=0 alerts=0 " "$WORK/run1.log" ||
  fail "run 1 did not apply the two events alone: $(grep -i "stopped\|error" "$WORK/run1.log" | head -3)"
pass "run 1: stream time past hosp-a's deadline, rule off, nothing fired"

# Another group: the offsets live with the state, and the mock would make
# a rejoin of g-st wait ~9 s for the member that left.
run_until_idle fresh g-st2 run2.log $AU
grep -q "restored .* objects" "$WORK/run2.log" ||
  fail "run 2 restored nothing: $(grep -i "restor" "$WORK/run2.log" | head -3)"
grep -q "events=0 " "$WORK/run2.log" ||
  fail "run 2 applied events: $(grep stopped "$WORK/run2.log")"
consume sales.coaching-alerts 100 --idle-exit 1500 >"$WORK/alerts2.jsonl"
inc=$(grep '"category":"ACTION_UNITS_INCOMPLETE"' "$WORK/alerts2.jsonl" || true)
[ "$(grep -c . <<<"$inc")" -eq 1 ] ||
  fail "want one ACTION_UNITS_INCOMPLETE after the restart, got: ${inc:-none}"
grep -q '"customer_id":"hosp-a"' <<<"$inc" || fail "not for hosp-a: $inc"
grep -q '"opportunity_id":"OPP-1"' <<<"$inc" || fail "not OPP-1: $inc"
grep -q '"trigger_event_id":"hosp-a-opp-0"' <<<"$inc" || fail "not the opportunity's last event: $inc"
pass "run 2, empty disk, no events: the restored stream time fired OPP-1's deadline once"
