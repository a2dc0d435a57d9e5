#!/usr/bin/env bash
# Restoring one partition does not stall the others (issue 20). A applies
# a first stream and writes the changelog; B starts on an empty disk with
# partition 0's restore held by the test's gate (DS_TEST_RESTORE_HOLD):
# while it is held, B's other partitions are restored, consumed and alert,
# and nothing of partition 0 is applied. Once the gate opens, partition 0
# is restored, sought to the input offsets its state reflects and resumed:
# state and alert ids equal an uninterrupted run's. No timing is asserted:
# partition 0 cannot finish while the gate file exists.
# brokers: mock
MOCK_CHANGELOG=1 # 4 partitions: the mock's changelog matches the inputs
. "$(dirname "$0")/lib.sh"
start_broker 4
gen() { # gen <first-customer> <last-customer> <first-event> <last-event>
  for i in $(seq "$3" "$4"); do
    for c in $(seq "$1" "$2"); do
      printf '{"event_id":"e-%d-%d","customer_id":"cust-%03d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":%d.5,"event_time":%d}\n' \
        "$c" "$i" "$c" $((i % 3)) "$i" $((1793000000000 + i * 8640000 + c))
    done
  done
}
gen 1 40 1 4 >"$WORK/first.jsonl"
# The second part: more events of the same customers, and new customers,
# whose first events change their tier (alerts whatever the partition).
{ gen 1 40 5 8; gen 41 80 1 4; } >"$WORK/second.jsonl"
CL="--set state.changelog_topic=rp-changelog --exit-when-idle 1000"

produce ops.iot-alerts "$WORK/first.jsonl" || fail "produce the first part"
run_until_idle a g-a a.log $CL
grep -q "events=160 " "$WORK/a.log" || fail "A: $(grep stopped "$WORK/a.log")"
produce ops.iot-alerts "$WORK/second.jsonl" || fail "produce the second part"
# The uninterrupted reference meanwhile: its own group, state and alert
# topic, no changelog.
REF="--set topics.lead_ratings=ref.lead-ratings --set state.changelog=false"
run_until_idle ref g-ref ref.log $REF --exit-when-idle 1000 &
ref_pid=$!

touch "$WORK/hold"
DS_TEST_RESTORE_HOLD="0:$WORK/hold" "$DS_BIN" run -c "$CFG" $(sets b g-b) $CL \
  >"$WORK/b.log" 2>&1 &
B=$!
PIDS+=($B)
wait_for 60 grep -qs "restoring from offset .* (in full)" "$WORK/b.log" ||
  fail "B restores nothing: $(grep -i "restor\|assigned" "$WORK/b.log" | head -5)"
# The assignment lines follow the plan's, topic by topic: wait for them.
wait_for 10 grep -qs "assigned $(topic ops.iot-alerts)\[0\], held until its state is restored" "$WORK/b.log" ||
  fail "partition 0 not held: $(grep assigned "$WORK/b.log" | head -5)"
rerated() { # rerated <partition-regex>: B's second-part alerts of those partitions
  consume sales.lead-ratings 100000 --idle-exit 1000 |
    grep -E "\"source_partition\":$1[,}]" |
    grep -E '"trigger_event_id":"e-([0-9]+-[5-8]|(4[1-9]|[5-7][0-9]|80)-[0-9]+)"' || true
}
others_alerted() { [ -n "$(rerated '[123]')" ]; }
wait_for 60 others_alerted || fail "no alert of partitions 1-3 while partition 0 was held"
[ -e "$WORK/hold" ] || fail "the gate is gone"
grep -q "partition 0 restored" "$WORK/b.log" && fail "partition 0 restored through the gate"
[ -z "$(rerated 0)" ] || fail "partition 0 alerted while its restore was held: $(rerated 0 | head -2)"
grep -q "partition [123] restored in" "$WORK/b.log" ||
  fail "partitions 1-3 were not restored meanwhile: $(grep -i restor "$WORK/b.log" | head -5)"
pass "partition 0 held in its restore; partitions 1-3 restored, consumed and alerted meanwhile"

rm -f "$WORK/hold"
wait "$B" || fail "B exited non-zero"
wait $ref_pid || fail "the reference failed"
grep -q "partition 0 restored in" "$WORK/b.log" || fail "partition 0 never restored"
n_second=$(wc -l <"$WORK/second.jsonl")
grep -q "stopped cleanly: events=$n_second " "$WORK/b.log" ||
  fail "B must apply exactly the second part: $(grep stopped "$WORK/b.log")"
for c in 001 002 017 030 039 040 041 080; do
  "$DS_BIN" inspect -c "$CFG" $(sets ref) $REF --customer "cust-$c" >"$WORK/ref-$c.json" 2>/dev/null ||
    fail "no reference state for cust-$c"
  "$DS_BIN" inspect -c "$CFG" $(sets b) --customer "cust-$c" >"$WORK/b-$c.json" 2>/dev/null ||
    fail "B has no state for cust-$c"
  cmp -s "$WORK/ref-$c.json" "$WORK/b-$c.json" ||
    fail "state of cust-$c differs: $(diff "$WORK/ref-$c.json" "$WORK/b-$c.json" | head -5)"
done
pass "after the gate: partition 0 restored and resumed; B applied exactly the second part, state equals the reference's"

consume sales.lead-ratings 1000000 --idle-exit 1000 >"$WORK/ab.jsonl"
consume ref.lead-ratings 1000000 --idle-exit 1000 >"$WORK/ref.jsonl"
ids() { grep -o '"alert_id":"[0-9a-f]*"' | sort; }
[ -z "$(ids <"$WORK/ab.jsonl" | uniq -d)" ] || fail "an alert id emitted twice by A and B"
ids <"$WORK/ref.jsonl" >"$WORK/ref.ids"
ids <"$WORK/ab.jsonl" >"$WORK/ab.ids"
cmp -s "$WORK/ref.ids" "$WORK/ab.ids" ||
  fail "A's and B's alert ids differ from the reference's: $(diff "$WORK/ref.ids" "$WORK/ab.ids" | head -4)"
n=$(wc -l <"$WORK/ref.ids")
[ "$n" -gt 0 ] || fail "no alerts"
pass "alerts: the $n ids of the uninterrupted run, each once from A or B"
