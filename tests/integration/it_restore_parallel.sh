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
. "$(dirname "$0")/restore_fixture.sh"
restore_fixture rp-changelog

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
wait $REF_PID || fail "the reference failed"
grep -q "partition 0 restored in" "$WORK/b.log" || fail "partition 0 never restored"
grep -q "stopped cleanly: events=$N_SECOND " "$WORK/b.log" ||
  fail "B must apply exactly the second part: $(grep stopped "$WORK/b.log")"
same_state_as_ref b
pass "after the gate: partition 0 restored and resumed; B applied exactly the second part, state equals the reference's"

same_alerts_as_ref a.log b.log
pass "alerts: the $N_REF ids of the uninterrupted run, each once from A or B"
