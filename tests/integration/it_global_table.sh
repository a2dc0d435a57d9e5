#!/usr/bin/env bash
# env.signals as a global table: two instances of one group share the four
# partitions of the inputs, and each reads every partition of env.signals
# (a consumer of its own, no group), so one signal produced to one
# partition reaches the attribution panels of both instances. A signal
# produced while they are down is read when they start again.
# brokers: mock
. "$(dirname "$0")/lib.sh"
# One unit per panel: a panel hears from one input partition only, so it
# closes on that one's time (origin_idle 0); the reports refuse an
# estimate (no controls) but list the signals that applied.
EN="--set processors.attribution.enabled=true --set processors.attribution.origin_idle=0"
FAST="--set kafka.properties.session.timeout.ms=3000"
"$DS_BIN" dev-kafka -c "$CFG" --set kafka.group_id=g-gt $EN --partitions 4 \
  --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
PIDS+=($!)
wait_for 60 test -s "$WORK/bootstrap" || fail "dev-kafka did not write its bootstrap file"
BROKERS=$(cat "$WORK/bootstrap")

ms() { echo "$(date -u -d "$1" +%s)000"; }
signal() { # signal <id> <start>
  printf '{"event_id":"e-%s","signal_id":"%s","kind":"MACRO","title":"%s","description":null,"regions":[],"industries":[],"start_time":%s,"end_time":null,"magnitude":null,"event_time":%s}\n' \
    "$1" "$1" "$1" "$(ms "$2")" "$(ms "$2")" >"$WORK/sig-$1.jsonl"
  produce env.signals "$WORK/sig-$1.jsonl" || fail "produce env.signals"
}
outcomes() { # outcomes <date>: one per panel i0..i7
  for i in $(seq 0 7); do
    printf '{"event_id":"o-%s-%s","unit_id":"u%s","region":"r0","industry":"i%s","metric":"revenue","value":10.0,"event_time":%s}\n' \
      "$1" "$i" "$i" "$i" "$(ms "$1")"
  done >"$WORK/o-$1.jsonl"
  produce sales.outcomes "$WORK/o-$1.jsonl" || fail "produce sales.outcomes"
}
start_two() { # start_two <log suffix>
  for x in a b; do
    "$DS_BIN" run -c "$CFG" $(sets "state-$x" g-gt) $EN $FAST >"$WORK/$x$1.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$x=$!"
  done
}
stop_two() {
  kill -TERM "$PID_a" "$PID_b"
  wait "$PID_a" || fail "instance a exited non-zero"
  wait "$PID_b" || fail "instance b exited non-zero"
}
have_reports() { # have_reports <n>: n distinct report ids on sales.attribution
  consume sales.attribution 1000 --idle-exit 1500 >"$WORK/reports.jsonl"
  [ "$(grep -oE '"report_id":"[^"]+"' "$WORK/reports.jsonl" | sort -u | wc -l)" -ge "$1" ]
}
reports() { # reports <n>: waits for them (a rebalance may send some twice)
  wait_for 30 have_reports "$1" ||
    fail "$(grep -oE '"report_id":"[^"]+"' "$WORK/reports.jsonl" | sort -u | wc -l) reports, want $1"
}

signal early 2026-01-01
outcomes 2026-01-10
outcomes 2026-03-10
start_two 1
reports 8
for x in a b; do
  grep -q "env.signals read: 1 rows from 4 partitions" "$WORK/${x}1.log" ||
    fail "instance $x did not read env.signals whole: $(grep global "$WORK/${x}1.log" | head -2)"
done
[ "$(grep '"period":"2026-01".*"signals":\["early"\]' "$WORK/reports.jsonl" | sort -u | wc -l)" -eq 8 ] ||
  fail "2026-01 reports without the signal: $(head -2 "$WORK/reports.jsonl")"
# Each instance owns panels (their keys are on all four partitions), and
# they hold the signal once their batch is committed.
panels_with_signal() { # panels_with_signal <instance>
  local n=0
  for i in $(seq 0 7); do
    "$DS_BIN" inspect -c "$CFG" $(sets "state-$1" g-gt) --customer "i$i|revenue" \
      2>>"$WORK/inspect.log" | grep -q '"signal_id": *"early"' && n=$((n + 1))
  done
  [ "$n" -ge 1 ]
}
for x in a b; do
  wait_for 15 panels_with_signal $x || fail "instance $x holds no panel with the signal"
done
pass "one signal on one partition reaches the panels of both instances (8 panels, 4 partitions)"

stop_two
signal late 2026-03-01 # produced while both are down
outcomes 2026-05-10
start_two 2
reports 16
[ "$(grep -E '"period":"2026-03".*"signals":\["(early","late|late","early)"\]' "$WORK/reports.jsonl" | sort -u | wc -l)" -eq 8 ] ||
  fail "2026-03 reports without both signals: $(grep 2026-03 "$WORK/reports.jsonl" | head -2)"
pass "a signal produced while the instances were down is read at their start"
stop_two
