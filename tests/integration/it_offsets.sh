#!/usr/bin/env bash
# Offsets fail safe (issue 26, case 3). An offset record that cannot be
# read used to count as "no offset": the partition was replayed from its
# first record and every event applied twice. A stored offset past the
# log end (topic recreated, unclean leader election) was reset to the
# earliest record without a word. Both now refuse the start: exit 1, a
# clear message, the state intact; a sound offset resumes as before.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
: "${DS_IT_OFFSET:?DS_IT_OFFSET must point at the ds_it_offset tool}"
start_broker 1
TOPIC=$(topic ops.iot-alerts)

gen() { # gen <first> <last>: CRITICAL vibration alerts for C1
  for i in $(seq "$1" "$2"); do
    printf '{"event_id":"e%d","customer_id":"C1","device_id":"D1","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":null,"event_time":%d}\n' \
      "$i" $((1767225600000 + i * 60000))
  done
}
gen 1 3 >"$WORK/a.jsonl"
produce ops.iot-alerts "$WORK/a.jsonl" || fail "produce"
run_until_idle state g-off run1.log
"$DS_BIN" inspect -c "$CFG" $(sets state) --customer C1 >"$WORK/before.json" 2>/dev/null ||
  fail "no state for C1"
gen 4 4 >"$WORK/b.jsonl"
produce ops.iot-alerts "$WORK/b.jsonl" || fail "produce" # waiting: offset 3

# expect_refusal <log> <message>: the daemon exits 1 (bounded) saying why.
expect_refusal() {
  local rc=0
  timeout 90 "$DS_BIN" run -c "$CFG" $(sets state g-off) --exit-when-idle 3000 \
    >"$WORK/$1" 2>&1 || rc=$?
  [ $rc -eq 1 ] || fail "want exit 1, got $rc: $(grep -E 'error|stopped' "$WORK/$1" | head -3)"
  grep -qF "$2" "$WORK/$1" || fail "no '$2' in $1: $(grep error "$WORK/$1" | head -3)"
  "$DS_BIN" inspect -c "$CFG" $(sets state) --customer C1 >"$WORK/after.json" 2>/dev/null
  cmp -s "$WORK/before.json" "$WORK/after.json" ||
    fail "the state changed: $(diff "$WORK/before.json" "$WORK/after.json" | head -6)"
}

# A corrupt offset record (3 bytes instead of 8).
"$DS_IT_OFFSET" "$WORK/state" "$TOPIC" 0 616263 || fail "writing the corrupt record"
expect_refusal run2.log "$TOPIC[0]: the offset stored with the state cannot be read"
pass "a corrupt offset record refuses the start; nothing replayed"

# An offset past the log end (4 records), as after the topic was recreated.
"$DS_IT_OFFSET" "$WORK/state" "$TOPIC" 0 00000000000003e8 || fail "writing offset 1000"
expect_refusal run3.log "$TOPIC[0]: the offset stored with the state (1000) is past the log end (4)"
pass "an offset past the log end refuses the start instead of a silent reset"

# The true offset back (3, after e3): only e4 is applied.
"$DS_IT_OFFSET" "$WORK/state" "$TOPIC" 0 0000000000000003 || fail "restoring the offset"
run_until_idle state g-off run4.log
grep -q "stopped cleanly: events=1 " "$WORK/run4.log" ||
  fail "want e4 alone applied: $(grep stopped "$WORK/run4.log")"
pass "a sound offset resumes as before"
