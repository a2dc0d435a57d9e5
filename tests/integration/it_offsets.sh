#!/usr/bin/env bash
# Offsets fail safe (issue 26, case 3). An offset record that cannot be
# read used to count as "no offset": the partition was replayed from its
# first record and every event applied twice. A stored offset past the
# log end (topic recreated) was reset to the earliest record without a
# word. Both now refuse the start: exit 1, a clear message, state intact.
# brokers: mock
. "$(dirname "$0")/lib.sh"
: "${DS_IT_OFFSET:?DS_IT_OFFSET must point at the ds_it_offset tool}"
start_broker 1
BROKER_PID=${PIDS[-1]}
TOPIC=ops.iot-alerts

gen() { # gen <first> <last>: CRITICAL vibration alerts for C1
  for i in $(seq "$1" "$2"); do
    printf '{"event_id":"e%d","customer_id":"C1","device_id":"D1","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":null,"event_time":%d}\n' \
      "$i" $((1767225600000 + i * 60000))
  done
}
gen 1 3 >"$WORK/a.jsonl"
produce $TOPIC "$WORK/a.jsonl" || fail "produce"
run_until_idle state g-off run1.log
"$DS_BIN" inspect -c "$CFG" $(sets state) --customer C1 >"$WORK/before.json" 2>/dev/null ||
  fail "no state for C1"

# expect_refusal <log> <message>: the daemon exits 1 (bounded) saying why.
expect_refusal() {
  local rc=0
  timeout 60 "$DS_BIN" run -c "$CFG" $(sets state g-off) --exit-when-idle 3000 \
    >"$WORK/$1" 2>&1 || rc=$?
  [ $rc -eq 1 ] || fail "want exit 1, got $rc: $(grep -E 'error|stopped' "$WORK/$1" | head -3)"
  grep -q "$2" "$WORK/$1" || fail "no '$2' in $1: $(grep error "$WORK/$1" | head -3)"
  "$DS_BIN" inspect -c "$CFG" $(sets state) --customer C1 >"$WORK/after.json" 2>/dev/null
  cmp -s "$WORK/before.json" "$WORK/after.json" ||
    fail "the state changed: $(diff "$WORK/before.json" "$WORK/after.json" | head -6)"
}

# A corrupt offset record (3 bytes instead of 8), one new event waiting.
"$DS_IT_OFFSET" "$WORK/state" $TOPIC 0 616263 || fail "writing the corrupt record"
gen 4 4 >"$WORK/b.jsonl"
produce $TOPIC "$WORK/b.jsonl" || fail "produce"
expect_refusal run2.log "corrupt offset record.*$TOPIC\|$TOPIC\[0\]: the offset stored with the state cannot be read"
pass "a corrupt offset record refuses the start; nothing replayed"

# The offset back (3: after e3), the topic recreated empty: a new broker
# holding one record, so the stored offset is past the log end.
"$DS_IT_OFFSET" "$WORK/state" $TOPIC 0 0000000000000003 || fail "restoring the offset"
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
rm -f "$WORK/bootstrap"
start_broker 1
gen 5 5 >"$WORK/c.jsonl"
produce $TOPIC "$WORK/c.jsonl" || fail "produce to the new broker"
expect_refusal run3.log "offset stored with the state (3) is past the log end (1)"
pass "an offset past the log end refuses the start instead of a silent reset"

# And with nothing amiss the same state resumes (offset 1 of the new log).
"$DS_IT_OFFSET" "$WORK/state" $TOPIC 0 0000000000000001 || fail "setting the offset"
run_until_idle state g-off run4.log
grep -q "stopped cleanly: events=0 " "$WORK/run4.log" ||
  fail "want nothing applied: $(grep stopped "$WORK/run4.log")"
pass "a sound offset resumes as before"
