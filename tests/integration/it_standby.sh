#!/usr/bin/env bash
# Standby replicas (issue 20): with state.standby_replicas=1, B keeps a warm
# copy of the partitions A owns by tailing their changelog. A is killed
# (-9); B takes A's partitions over and restores only the changelog's tail
# after its standby's checkpoint - no partition in full - and its state
# then equals an uninterrupted run's.
# brokers: mock
MOCK_CHANGELOG=1 # 4 partitions: the mock's changelog matches the inputs
. "$(dirname "$0")/lib.sh"
start_broker 4
N_CUST=40
gen() { # gen <round>: every customer's 3 IoT alerts of that round
  for i in 1 2 3; do
    for c in $(seq 1 $N_CUST); do
      printf '{"event_id":"e-%d-%d-%d","customer_id":"cust-%02d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":%d.5,"event_time":%d}\n' \
        "$1" "$c" "$i" "$c" "$i" "$i" $((1793000000000 + $1 * 86400000 + i * 60000 + c))
    done
  done >"$WORK/round-$1.jsonl"
}
for r in 1 2 3; do gen "$r"; done
SB="--set state.changelog_topic=sb-changelog --set state.standby_replicas=1 --set kafka.properties.session.timeout.ms=3000 --set state.batch_max_events=50 --set log.level=debug"
member() { # member <name> [args]; sets DAEMON
  "$DS_BIN" run -c "$CFG" $(sets "$1" g-sb) $SB "${@:2}" >>"$WORK/$1.log" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}
PORT=$(free_port)
member a; A=$DAEMON
member b --set http.listen=127.0.0.1:$PORT; B=$DAEMON
two_members() { grep -qs "assignment: 12 partitions" "$WORK/a.log" && grep -qs "assignment: 12 partitions" "$WORK/b.log"; }
wait_for 60 two_members || fail "A and B did not share the partitions"
produce ops.iot-alerts "$WORK/round-1.jsonl" || fail "produce round 1"
produce ops.iot-alerts "$WORK/round-2.jsonl" || fail "produce round 2"
wait_for 60 grep -qs "committed" "$WORK/a.log" || fail "A never committed"
# A's partitions, as B's standby follows them.
a_parts=$(grep -o "assigned $(topic ops.iot-alerts)\[[0-9]\]" "$WORK/a.log" | grep -o "[0-9]\]" | tr -d ']' | sort -u)
[ -n "$a_parts" ] || fail "A owns nothing"
for p in $a_parts; do
  grep -q "sb-changelog\[$p\]: following from" "$WORK/b.log" ||
    fail "B does not follow A's partition $p: $(grep standby "$WORK/b.log" | head -3)"
done
# Wait until B's copy holds what A committed: A idle, and B's standby read
# to the changelog's end (no record waiting for a while: its log is quiet).
settled() {
  local n; n=$(grep -c "committed" "$WORK/a.log")
  sleep 1
  [ "$n" = "$(grep -c "committed" "$WORK/a.log")" ]
}
wait_for 30 settled || fail "A kept committing"
# B's /metrics: the partitions it follows (A's), each read to the
# changelog's end now that A is idle; none of B's own.
n_a=$(wc -w <<<"$a_parts")
standby_caught_up() {
  curl -fsS "http://127.0.0.1:$PORT/metrics" >"$WORK/b.metrics" 2>/dev/null || return 1
  grep -q "^dealstream_standby_partitions $n_a$" "$WORK/b.metrics" || return 1
  for p in $a_parts; do
    grep -q "^dealstream_standby_lag_records{partition=\"$p\"} 0$" "$WORK/b.metrics" || return 1
  done
  [ "$(grep -c '^dealstream_standby_lag_records' "$WORK/b.metrics")" = "$n_a" ]
}
wait_for 30 standby_caught_up ||
  fail "B's standby metrics: $(grep standby_ "$WORK/b.metrics")"
kill -9 "$A"; wait "$A" 2>/dev/null || true
pass "B followed A's partitions ($(echo $a_parts)) as a standby, lag 0 on /metrics; A killed (-9)"

produce ops.iot-alerts "$WORK/round-3.jsonl" || fail "produce round 3"
took_over() { grep -qs "assignment: 24 partitions" "$WORK/b.log"; }
wait_for 60 took_over || fail "B never took A's partitions"
caught_up() {
  curl -fsS "http://127.0.0.1:$PORT/metrics" >"$WORK/b.metrics" 2>/dev/null || return 1
  grep -q '^dealstream_restore_remaining_records' "$WORK/b.metrics" && return 1
  # A's partitions got round 3 after the takeover: read to their end.
  for p in $a_parts; do
    grep -q "^dealstream_consumer_lag_records{topic=\"$(topic ops.iot-alerts)\",partition=\"$p\"} 0$" \
      "$WORK/b.metrics" || return 1
  done
}
wait_for 60 caught_up || fail "B did not catch up: $(grep lag_records "$WORK/b.metrics")"
after=$(awk '/revoking 12 partitions/ { on = 1 } on' "$WORK/b.log")
grep -q "(in full)" <<<"$after" && fail "B restored a partition in full: $(grep "(in full)" <<<"$after" | head -2)"
for p in $a_parts; do
  grep -q "sb-changelog\[$p\]: restoring from offset [1-9][0-9]* to .*(the records after the local checkpoint)" <<<"$after" ||
    grep -q "assigned $(topic ops.iot-alerts)\[$p\] from state offset [1-9]" <<<"$after" ||
    fail "partition $p: neither a tail restore nor the standby's offsets: $(grep "\[$p\]" <<<"$after" | head -3)"
done
grep -q '^dealstream_standby_partitions 0$' "$WORK/b.metrics" ||
  fail "B still follows partitions it owns: $(grep standby_ "$WORK/b.metrics")"
grep -q '^dealstream_standby_lag_records' "$WORK/b.metrics" &&
  fail "a standby lag for an owned partition: $(grep standby_lag "$WORK/b.metrics")"
grep -q 'dealstream_restores_total{mode="full"} [1-9]' "$WORK/b.metrics" &&
  fail "B counts a full restore: $(grep restores_total "$WORK/b.metrics")"
kill -TERM "$B"; wait "$B" || fail "B: exit $?"
n_tail=$(grep -c "restoring from offset" <<<"$after" || true)
pass "B took A's partitions over: $n_tail tail restores, none in full (0: the standby was up to date)"

run_until_idle ref g-ref ref.log --set state.changelog=false --exit-when-idle 1000
for c in $(seq -w 1 3 $N_CUST); do
  "$DS_BIN" inspect -c "$CFG" $(sets ref) --customer "cust-$c" >"$WORK/ref.json" 2>/dev/null ||
    fail "no reference state for cust-$c"
  "$DS_BIN" inspect -c "$CFG" $(sets b) --customer "cust-$c" >"$WORK/b.json" 2>/dev/null ||
    fail "B has no state for cust-$c"
  cmp -s "$WORK/ref.json" "$WORK/b.json" ||
    fail "state of cust-$c differs: $(diff "$WORK/ref.json" "$WORK/b.json" | head -5)"
done
pass "B's state equals the uninterrupted run's"
