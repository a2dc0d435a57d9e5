#!/usr/bin/env bash
# The broker is killed (-9) mid-stream and started again on its data dir.
# The daemon rides it out: it keeps running, its alerts are retried (the
# idempotent producer keeps them single), and the final state and alert ids
# equal those of a run that never saw the broker go.
# brokers: real
# alone: it kills the suite's broker, which the other real tests share
. "$(dirname "$0")/lib.sh"
[ -z "${DS_KAFKA_BOOTSTRAP:-}" ] || { echo "skipped: will not kill the broker of DS_KAFKA_BOOTSTRAP"; exit 0; }
start_broker 4
KAFKA=("$DS_SRC/scripts/kafka")
broker_pid() { cat "$DS_KAFKA_DIR/pid"; }
# Whatever happens, the suite's broker is left running for the next test.
ON_EXIT+=('"${KAFKA[@]}" start --dir "$DS_KAFKA_DIR" >/dev/null 2>&1')

N_CUST=80
gen() { # gen <first> <last>: every customer's IoT alerts first..last
  for c in $(seq 1 $N_CUST); do
    for i in $(seq "$1" "$2"); do
      printf '{"event_id":"b-%d-%d","customer_id":"cust-%03d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":null,"event_time":%d}\n' \
        "$c" "$i" "$c" $((i % 3)) $((1793000000000 + i * 8640000 + c))
    done
  done
}
gen 1 15 >"$WORK/first.jsonl"
gen 16 30 >"$WORK/second.jsonl"
produce ops.iot-alerts "$WORK/first.jsonl" || fail "produce first half"

"$DS_BIN" run -c "$CFG" $(sets live g-live) --set state.batch_max_events=100 \
  --set log.level=debug >"$WORK/live.log" 2>&1 &
LIVE=$!
PIDS+=($LIVE)
wait_for 60 grep -qs "committed" "$WORK/live.log" || fail "the daemon never committed"

kill -9 "$(broker_pid)"
pass "broker killed (-9) while the daemon was applying"
# The second half is produced while the broker is down: it waits, then goes.
produce ops.iot-alerts "$WORK/second.jsonl" &
PRODUCER=$!
sleep 3
kill -0 "$LIVE" || fail "the daemon died with the broker"
"${KAFKA[@]}" start --dir "$DS_KAFKA_DIR" 2>>"$WORK/broker-restart.log" ||
  fail "the broker did not start again: $(tail -5 "$WORK/broker-restart.log")"
[ "$(cat "$DS_KAFKA_DIR/bootstrap")" = "$BROKERS" ] || fail "the broker came back on another address"
wait "$PRODUCER" || fail "producing across the broker restart failed"
kcat -L -b "$BROKERS" -t "$(topic ops.iot-alerts)" 2>/dev/null | grep -q "4 partitions" ||
  fail "the input topic did not survive the restart"
pass "broker back on the same data dir and address, topics kept"

total=$((N_CUST * 30))
applied() { # events applied by the live daemon so far (its committed offsets)
  "$DS_BIN" inspect -c "$CFG" $(sets live) --customer "cust-$(printf %03d $N_CUST)" 2>/dev/null |
    grep -o '"events": [0-9]*' | head -1 | grep -o '[0-9]*$'
}
last_is_done() { [ "$(applied)" = 30 ]; }
wait_for 120 last_is_done || fail "the live daemon did not catch up after the restart"
kill -TERM "$LIVE"
wait "$LIVE" || fail "the live daemon exited $? after riding out the restart"
grep -q "stopped cleanly" "$WORK/live.log" || fail "no clean stop"
pass "the daemon rode out the broker restart and stopped cleanly"

# The run that never saw the broker go: its own group, state and outputs.
REF_OUT="--set topics.lead_ratings=$(topic ref.lead-ratings) --set topics.coaching_alerts=$(topic ref.coaching) --set topics.meeting_metrics=$(topic ref.metrics) --set topics.dlq=$(topic ref.dlq)"
"$DS_BIN" run -c "$CFG" $(sets ref g-ref) $REF_OUT --exit-when-idle 3000 >"$WORK/ref.log" 2>&1 ||
  fail "reference run failed"
grep -q "events=$total " "$WORK/ref.log" || fail "reference: $(grep stopped "$WORK/ref.log")"
# And the live state once more from its stored offsets: nothing left to apply.
run_until_idle live g-live after.log
grep -q "events=0 " "$WORK/after.log" || fail "records left unapplied: $(grep stopped "$WORK/after.log")"

for c in 001 002 027 040 080; do
  "$DS_BIN" inspect -c "$CFG" $(sets ref) --customer "cust-$c" >"$WORK/ref-$c.json" ||
    fail "no reference state for cust-$c"
  "$DS_BIN" inspect -c "$CFG" $(sets live) --customer "cust-$c" >"$WORK/live-$c.json" ||
    fail "no live state for cust-$c"
  cmp -s "$WORK/ref-$c.json" "$WORK/live-$c.json" ||
    fail "cust-$c differs: $(diff "$WORK/ref-$c.json" "$WORK/live-$c.json" | head -6)"
done
pass "final state equals the uninterrupted run's"

ids() { grep -o '"alert_id":"[^"]*"' | sort -u; }
consume sales.lead-ratings 100000 | ids >"$WORK/live-ids"
"$DS_BIN" consume -c "$CFG" $(sets) --topic "$(topic ref.lead-ratings)" --from-beginning \
  --idle-exit 5000 2>>"$WORK/consume.log" | ids >"$WORK/ref-ids"
[ -s "$WORK/ref-ids" ] || fail "the reference run emitted no alerts"
cmp -s "$WORK/ref-ids" "$WORK/live-ids" ||
  fail "alert ids differ: $(diff "$WORK/ref-ids" "$WORK/live-ids" | head -6)"
pass "the same $(wc -l <"$WORK/ref-ids") alert ids as the uninterrupted run"
