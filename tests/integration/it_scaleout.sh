#!/usr/bin/env bash
# Scale-out: a second instance joins the consumer group, takes partitions,
# works on them and leaves. The first instance then owns everything again,
# resumes each partition from the offset stored with its own state, and ends
# with exactly the state of a single uninterrupted instance.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
start_broker 4
gen() { # gen <first-event> <last-event>: every customer's events i..j
  for c in $(seq 1 60); do
    for i in $(seq "$1" "$2"); do
      printf '{"event_id":"s-%d-%d","customer_id":"cust-%02d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":null,"event_time":%d}\n' \
        "$c" "$i" "$c" $((i % 2)) $((1793000000000 + i * 3600000 + c))
    done
  done
}
gen 1 10 >"$WORK/first.jsonl"
gen 11 20 >"$WORK/second.jsonl"
produce ops.iot-alerts "$WORK/first.jsonl" || fail "produce first"

debug_daemon() { # debug_daemon <state> <log> [args]: one group member; sets DAEMON
  "$DS_BIN" run -c "$CFG" $(sets "$1" g-scale) --set log.level=debug \
    --set state.batch_max_events=100 "${@:3}" >"$WORK/$2" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}
# A's /metrics: its partition group watermarks must follow its assignment.
for _ in $(seq 50); do
  PORT=$((20000 + RANDOM % 30000))
  (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || break
done
groups_a() { # groups_a <n>: A reports watermarks for exactly n groups
  [ "$(curl -s "http://127.0.0.1:$PORT/metrics" |
       grep -c '^dealstream_partition_group_watermark_seconds{')" = "$1" ]
}
debug_daemon a a.log --set http.listen=127.0.0.1:$PORT
A=$DAEMON
wait_for 60 grep -qs "committed" "$WORK/a.log" || fail "instance A never committed"

debug_daemon b b.log
B=$DAEMON
# B's arrival revokes A's partitions (A commits first) and splits them.
wait_for 60 grep -qs "assigned" "$WORK/b.log" || fail "instance B never got partitions"
produce ops.iot-alerts "$WORK/second.jsonl" || fail "produce second"
wait_for 60 grep -qs "committed" "$WORK/b.log" || fail "instance B never committed"
# A applied events of all 4 partitions, then gave 2 to B: their watermark
# series go (a stale one would stay).
wait_for 10 groups_a 2 || fail "A reports watermarks of partitions it gave \
away: $(curl -s "http://127.0.0.1:$PORT/metrics" | grep '^dealstream_partition_group_watermark')"
kill -TERM "$B"
wait "$B" || fail "instance B: exit $?"
grep -q "stopped cleanly" "$WORK/b.log" || fail "B did not stop cleanly"
applied_b=$(grep -o 'stopped cleanly: events=[0-9]*' "$WORK/b.log" | grep -o '[0-9]*$')
[ "$applied_b" -gt 0 ] || fail "B applied nothing; the test proves nothing"
pass "instance B joined, applied $applied_b events and left; A's watermarks followed"

kill -TERM "$A"
wait "$A" || fail "instance A: exit $?"
run_until_idle a g-scale a2.log
grep -q "from state offset" "$WORK/a2.log" || fail "A did not resume from its stored offsets"

run_until_idle ref g-ref ref.log
for c in 01 07 19 33 48 60; do
  "$DS_BIN" inspect -c "$CFG" $(sets ref) --customer "cust-$c" >"$WORK/ref-$c.json" 2>/dev/null ||
    fail "no reference state for cust-$c"
  "$DS_BIN" inspect -c "$CFG" $(sets a) --customer "cust-$c" >"$WORK/a-$c.json" 2>/dev/null ||
    fail "no state for cust-$c on A"
  cmp -s "$WORK/ref-$c.json" "$WORK/a-$c.json" ||
    fail "cust-$c differs after the scale-out: $(diff "$WORK/ref-$c.json" "$WORK/a-$c.json" | head -6)"
done
pass "after B left, A's state equals a single uninterrupted instance's"
