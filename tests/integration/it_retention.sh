#!/usr/bin/env bash
# Retention deletes input records while the daemon is down. On restart it
# resumes from the offsets stored with its state and says so; records that
# were deleted before it applied them are logged as a gap with their count
# (never skipped silently), and it goes on from the log start.
# brokers: real
. "$(dirname "$0")/lib.sh"
start_broker 1
IOT=$(topic ops.iot-alerts)
configs() { # configs <ConfigCommand args...> on the input topic
  "$DS_SRC/scripts/kafka" tool org.apache.kafka.tools.ConfigCommand \
    --bootstrap-server "$BROKERS" --entity-type topics --entity-name "$IOT" "$@" \
    2>>"$WORK/tool.log"
}
# The log start and end offsets (ListOffsets for earliest -2 and latest -1).
log_start() { kcat -Q -b "$BROKERS" -t "$IOT:0:-2" 2>/dev/null | awk '{ print $NF }'; }
log_end() { kcat -Q -b "$BROKERS" -t "$IOT:0:-1" 2>/dev/null | awk '{ print $NF }'; }
gen() { # gen <customer> <n>: n critical IoT alerts of one customer
  for i in $(seq "$2"); do
    printf '{"event_id":"%s-%d","customer_id":"%s","device_id":"dev-1","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":null,"event_time":%d}\n' \
      "$1" "$i" "$1" $((1793000000000 + i * 60000))
  done
}
gen cust-before 10 >"$WORK/a.jsonl"   # applied before the stop
gen cust-lost 10 >"$WORK/b.jsonl"     # deleted by retention while down
gen cust-after 10 >"$WORK/c.jsonl"    # produced after the deletion

produce ops.iot-alerts "$WORK/a.jsonl" || fail "produce A"
run_until_idle state g-ret first.log
grep -q "events=10 " "$WORK/first.log" || fail "first run: $(grep stopped "$WORK/first.log")"

# Down: B arrives and retention (2 s) deletes A and B.
configs --alter --add-config retention.ms=2000 >/dev/null || fail "setting retention"
produce ops.iot-alerts "$WORK/b.jsonl" || fail "produce B"
log_start_is() { [ "$(log_start)" = "$1" ]; }
wait_for 60 log_start_is 20 ||
  fail "retention did not delete offsets 0-19 (log start $(log_start))"
configs --alter --delete-config retention.ms >/dev/null || fail "restoring retention"
retention_gone() { configs --describe >"$WORK/configs.txt" && ! grep -q "retention.ms=" "$WORK/configs.txt"; }
wait_for 30 retention_gone || fail "retention.ms still set: $(cat "$WORK/configs.txt")"
produce ops.iot-alerts "$WORK/c.jsonl" || fail "produce C"
[ "$(log_start)" = 20 ] && [ "$(log_end)" = 30 ] ||
  fail "want offsets 20-29 on the log, have $(log_start)..$(log_end)"
pass "offsets 10-19 deleted by retention while the daemon was down"

run_until_idle state g-ret second.log
grep -q "stored offset 10 is below the log start 20: 10 records were deleted" "$WORK/second.log" ||
  fail "the gap was not logged: $(grep -i "assigned\|below" "$WORK/second.log")"
grep -q "events=10 " "$WORK/second.log" ||
  fail "want exactly the 10 records after the gap applied: $(grep stopped "$WORK/second.log")"
pass "restart logged the gap (10 records lost to retention) and went on from the log start"

ins() { "$DS_BIN" inspect -c "$CFG" $(sets) --customer "$1" >"$WORK/$1.json" 2>/dev/null; }
ins cust-before || fail "state of the records applied before the stop is gone"
ins cust-after || fail "the records after the gap were not applied"
grep -q '"events": 10' "$WORK/cust-after.json" || fail "cust-after: $(head -c 300 "$WORK/cust-after.json")"
ins cust-lost && fail "records deleted by retention appear in the state"
pass "state holds what was applied and what came after the gap, nothing else"
