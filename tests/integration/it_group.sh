#!/usr/bin/env bash
# Three instances join and leave one consumer group while records arrive
# on two input topics. No record is applied twice to state and none is
# lost, and partition p of every input topic always belongs to one instance
# (a customer's IoT alerts and registry changes meet one state): the daemon
# refuses any other assignment, and every assignment in the logs is checked
# here as well.
# brokers: real
. "$(dirname "$0")/lib.sh"
start_broker 6
N_CUST=48
gen() { # gen <round>: per customer 6 IoT alerts and 2 registry changes
  for c in $(seq 1 $N_CUST); do
    for i in $(seq 1 6); do
      printf '{"event_id":"g-%d-%d-%d","customer_id":"cust-%02d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"WARNING","count":1,"value":null,"event_time":%d}\n' \
        "$1" "$c" "$i" "$c" "$i" $((1793000000000 + $1 * 86400000 + i * 60000 + c)) >>"$WORK/iot-$1.jsonl"
    done
    for i in 1 2; do
      printf '{"event_id":"r-%d-%d-%d","customer_id":"cust-%02d","change_type":"CONTACT_JOINED","entity_id":"contact-%d-%d","entity_type":"CONTACT","entity_name":null,"attributes":{"role":"engineer"},"amount":null,"event_time":%d}\n' \
        "$1" "$c" "$i" "$c" "$1" "$i" $((1793000000000 + $1 * 86400000 + i * 90000 + c)) >>"$WORK/reg-$1.jsonl"
    done
  done
}
ROUNDS=5
for r in $(seq $ROUNDS); do gen "$r"; done
feed() { # feed <round>
  produce ops.iot-alerts "$WORK/iot-$1.jsonl" || fail "produce iot round $1"
  produce ref.registry-changes "$WORK/reg-$1.jsonl" || fail "produce registry round $1"
}
member() { # member <name>: one instance of the group g-three; sets DAEMON
  "$DS_BIN" run -c "$CFG" $(sets "$1" g-three) --set state.batch_max_events=50 \
    --set log.level=debug >>"$WORK/$1.log" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}
committed() { grep -qs "committed" "$WORK/$1.log"; }
# A member that joins restores its partitions' state from the changelog and
# may have nothing left to apply: an assignment is what shows it took part.
joined() { grep -qs "assignment:" "$WORK/$1.log"; }

feed 1
member a; A=$DAEMON
wait_for 60 committed a || fail "A never committed"
member b; B=$DAEMON
feed 2
member c; C=$DAEMON
wait_for 60 joined b || fail "B never got partitions"
wait_for 60 joined c || fail "C never got partitions"
feed 3
kill -TERM "$B"; wait "$B" || fail "B: exit $?"
feed 4
kill -9 "$C"; wait "$C" 2>/dev/null || true
pass "A, B, C joined; B left cleanly, C was killed (-9), all while records arrived"
member b; B=$DAEMON
feed 5
wait_for 60 committed b || fail "B never committed after rejoining"
kill -TERM "$B"; wait "$B" || fail "B (second life): exit $?"
kill -TERM "$A"; wait "$A" || fail "A: exit $?"

# Every assignment, of every instance: partition p of both topics or neither.
for m in a b c; do
  grep -q "assignment refused" "$WORK/$m.log" && fail "$m refused an assignment: $(grep -m1 refused "$WORK/$m.log")"
  awk -v iot="$(topic ops.iot-alerts)" -v reg="$(topic ref.registry-changes)" '
    / assigned / {  # one line per partition, then the "assignment:" line
      split($0, w, " assigned "); split(w[2], tp, "[][]")
      if (tp[1] == iot) has["iot", tp[2]] = 1
      if (tp[1] == reg) has["reg", tp[2]] = 1
      parts[tp[2]] = 1
    }
    / assignment: / {
      for (p in parts)
        if (has["iot", p] != has["reg", p]) {
          printf "%s: partition %s of one topic without the other\n", $1, p; bad = 1 }
      delete has; delete parts; n++
    }
    END { if (n == 0) { print "no assignment logged"; bad = 1 }; exit bad }' "$WORK/$m.log" ||
    fail "$m: an assignment split partition p across instances"
done
n_assign=$(cat "$WORK"/[abc].log | grep -c " assigned " || true)
pass "every assignment ($n_assign partition grants) kept partition p of both topics together"

# One instance applies what is left; then every customer's state must hold
# every record exactly once: 6 IoT alerts and 2 registry changes per round.
run_until_idle a g-three final.log
want=$((ROUNDS * 8))
for c in $(seq -w 1 $N_CUST); do
  "$DS_BIN" inspect -c "$CFG" $(sets a) --customer "cust-$c" >"$WORK/s.json" ||
    fail "no state for cust-$c"
  got=$(grep -o '"events": [0-9]*' "$WORK/s.json" | head -1 | grep -o '[0-9]*$')
  [ "$got" = "$want" ] || fail "cust-$c: $got events applied, want $want (lost or applied twice)"
done
pass "all $N_CUST customers hold exactly $want events: none lost, none applied twice"
