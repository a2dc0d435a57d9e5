#!/usr/bin/env bash
# Inputs that are not co-partitioned are refused: a daemon whose input
# topics have different partition counts does not start (exit 78, a message
# naming them), and instances of one group that would split partition p of
# the inputs between them refuse the assignment instead of judging a
# customer on half its events.
# brokers: real
. "$(dirname "$0")/lib.sh"
start_broker 2
ODD=$(topic odd.iot-alerts)
set +e
"$DS_BIN" create-topics -c "$CFG" $(sets) --set topics.iot_alerts="$ODD" \
  --set kafka.topic_partitions=3 >"$WORK/create.log" 2>&1; rc=$?
"$DS_BIN" run -c "$CFG" $(sets s1 g-odd) --set topics.iot_alerts="$ODD" \
  >"$WORK/odd.log" 2>&1; rc_run=$?
set -e
[ $rc -eq 78 ] || fail "create-topics: exit $rc, want 78: $(cat "$WORK/create.log")"
[ $rc_run -eq 78 ] || fail "run: exit $rc_run, want 78: $(tail -3 "$WORK/odd.log")"
grep -q "input topics are not co-partitioned: .* has 2 partitions, $ODD has 3" "$WORK/odd.log" ||
  fail "no clear message: $(tail -3 "$WORK/odd.log")"
pass "input topics with 2 and 3 partitions: refused at start, exit 78"

# Only the topics read under the config are checked (processor_inputs()):
# lead_rating alone reads the opportunity updates only with its
# service-ticket template on, so a 3-partition one is no matter while the
# template is off, and refused once it is on.
ODDO=$(topic odd.opportunity-updates)
ALONE="--set processors.coaching.enabled=false --set processors.action_units.enabled=false"
set +e
"$DS_BIN" create-topics -c "$CFG" $(sets) --set topics.opportunity_updates="$ODDO"   --set kafka.topic_partitions=3 >"$WORK/create-o.log" 2>&1; rc=$?
set -e
[ $rc -eq 78 ] || fail "create-topics of $ODDO: exit $rc, want 78: $(cat "$WORK/create-o.log")"
"$DS_BIN" create-topics -c "$CFG" $(sets) $ALONE --set topics.opportunity_updates="$ODDO"   >"$WORK/create-off.log" 2>&1 ||
  fail "template off: the unread $ODDO was checked: $(cat "$WORK/create-off.log")"
set +e
"$DS_BIN" create-topics -c "$CFG" $(sets) $ALONE --set topics.opportunity_updates="$ODDO"   --set processors.lead_rating.service_tickets.enabled=true >"$WORK/create-on.log" 2>&1; rc=$?
set -e
[ $rc -eq 78 ] && grep -q "$ODDO has 3" "$WORK/create-on.log" ||
  fail "template on: exit $rc, want 78 naming $ODDO: $(cat "$WORK/create-on.log")"
pass "lead_rating alone: the opportunity updates are co-partition-checked only with the template on"

# One group, two instances that do not subscribe the same inputs: the range
# assignor gives the topic only A reads wholly to A, so A would hold
# partition 1 of it without partition 1 of the others. Both must refuse.
OTHER=$(topic other.opportunity-updates)
"$DS_BIN" run -c "$CFG" $(sets a g-mixed) >"$WORK/a.log" 2>&1 &
A=$!; PIDS+=($A)
"$DS_BIN" run -c "$CFG" $(sets b g-mixed) --set topics.opportunity_updates="$OTHER" \
  --set kafka.topic_partitions=2 >"$WORK/b.log" 2>&1 &
B=$!; PIDS+=($B)
set +e
wait "$A"; rc_a=$?
wait "$B"; rc_b=$?
set -e
for m in a b; do
  grep -q "assignment refused: it holds .* but not " "$WORK/$m.log" ||
    fail "$m did not refuse the split assignment: $(grep -i "assign\|refused" "$WORK/$m.log" | tail -3)"
done
[ $rc_a -eq 1 ] && [ $rc_b -eq 1 ] || fail "exit codes $rc_a and $rc_b, want 1 and 1"
pass "a split assignment is refused by both instances (exit 1), nothing applied"
