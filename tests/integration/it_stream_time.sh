#!/usr/bin/env bash
# action_units' stream time survives a restart (issue 20). Run 1 applies an
# opportunity that enters discovery with no unit evidenced, then another
# customer's event 5 days later on the same partition: stream time passes
# the deadline (3d), but ACTION_UNITS_INCOMPLETE is off, so nothing fires.
# Run 2 turns it on and gets no event at all: only the partition's stream
# time kept in state (read back on assignment) lets its timer judge the
# deadline; before, the stream time was unknown until the next event.
# brokers: mock
. "$(dirname "$0")/lib.sh"
start_broker 1
T0=1793700000000
DAY=86400000
opp() { # opp <customer> <from|null> <to> <day>
  local from=null; [ "$2" = null ] || from="\"$2\""
  printf '{"event_id":"%s-opp-%d","customer_id":"%s","opportunity_id":"OPP-%s","rep_id":"rep-1","industry":"medical","stage_from":%s,"stage_to":"%s","amount":500000.0,"event_time":%d}\n' \
    "$1" "$4" "$1" "$1" "$from" "$3" $((T0 + $4 * DAY))
}
{ opp hosp-a null discovery 0; opp hosp-z null discovery 5; } >"$WORK/opps.jsonl"
produce crm.opportunity-updates "$WORK/opps.jsonl" || fail "produce opportunities"
AU="--exit-when-idle 1000 --set processors.action_units.evidence_grace=0 --set processors.action_units.rules.action_units_incomplete.after=3d --set runtime.idle_check_interval=200ms"

run_until_idle state g-st run1.log $AU \
  --set processors.action_units.rules.action_units_incomplete.enabled=false
grep -q "stopped cleanly: events=2 dlq=0 alerts=0 " "$WORK/run1.log" ||
  fail "run 1 did not apply the two events alone: $(grep -i "stopped\|error" "$WORK/run1.log" | head -3)"
pass "run 1: stream time past hosp-a's deadline, rule off, nothing fired"

# Another group: the offsets live with the state, and the mock would make
# a rejoin of g-st wait ~9 s for the member that left.
run_until_idle state g-st2 run2.log $AU
grep -q "events=0 " "$WORK/run2.log" ||
  fail "run 2 applied events: $(grep stopped "$WORK/run2.log")"
consume sales.coaching-alerts 100 --idle-exit 1500 >"$WORK/alerts2.jsonl"
inc=$(grep '"category":"ACTION_UNITS_INCOMPLETE"' "$WORK/alerts2.jsonl" || true)
[ "$(grep -c . <<<"$inc")" -eq 1 ] ||
  fail "want one ACTION_UNITS_INCOMPLETE after the restart, got: ${inc:-none}"
grep -q '"customer_id":"hosp-a"' <<<"$inc" || fail "not for hosp-a: $inc"
grep -q '"trigger_event_id":"hosp-a-opp-0"' <<<"$inc" || fail "not the opportunity's last event: $inc"
pass "run 2, no events: the restored stream time fired hosp-a's deadline once"
