#!/usr/bin/env bash
# processing.guarantee: exactly_once (docs/STATE.md). A batch's alerts,
# changelog records and input offsets are one Kafka transaction: a daemon
# killed -9 with a batch open leaves alerts that read_uncommitted readers
# see and read_committed readers never do; after several kills mid-stream
# a read_committed reader sees every alert_id of an uninterrupted run
# exactly once, and the final state equals that run's.
# brokers: real
. "$(dirname "$0")/lib.sh"
start_broker 4
N_CUST=120
gen() { # IoT storms, customer after customer (as it_restart)
  local t0=1793000000000
  for c in $(seq 1 $N_CUST); do
    for i in $(seq 1 30); do
      printf '{"event_id":"e-%d-%d","customer_id":"cust-%03d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":%d.5,"event_time":%d}\n' \
        "$c" "$i" "$c" $((i % 3)) "$i" $((t0 + i * 8640000 + c))
    done
  done
}
gen >"$WORK/events.jsonl"
split -n l/4 -d "$WORK/events.jsonl" "$WORK/chunk."
# A killed member holds its partitions until its session times out: the
# broker's smallest session keeps the restarts short.
EOS="--set processing.guarantee=exactly_once --set kafka.properties.session.timeout.ms=6000"
cons() { consume "$@" --idle-exit 1500; }
ids() { grep -o '"alert_id":"[0-9a-f]*"' "$1" | sort; }

# 1. Killed with a batch open (large batches, 1 s after the first commit):
# its alerts were produced in a transaction that never commits.
produce ops.iot-alerts "$WORK/chunk.00" || fail "produce"
crash_mid_stream eos g-eos crash1.log $EOS
grep -q "exactly_once: one transaction per batch" "$WORK/crash1.log" ||
  fail "not transactional: $(grep -m3 txn "$WORK/crash1.log")"
cons sales.lead-ratings 1000000 >"$WORK/c1-committed.jsonl"
cons sales.lead-ratings 1000000 \
  --set kafka.properties.isolation.level=read_uncommitted >"$WORK/c1-all.jsonl"
committed=$(ids "$WORK/c1-committed.jsonl" | wc -l)
all=$(ids "$WORK/c1-all.jsonl" | wc -l)
[ "$all" -gt "$committed" ] ||
  fail "the open batch sent no alerts before the kill ($all, $committed committed)"
pass "killed with a batch open: $((all - committed)) alerts written, not visible read_committed"

# 2. Two more kills, each with a new part of the stream: batches of 150
# commit, the last one stays open (30 s) and is killed at a random moment.
for k in 1 2; do
  produce ops.iot-alerts "$WORK/chunk.0$k" || fail "produce"
  "$DS_BIN" run -c "$CFG" $(sets eos g-eos) $EOS --set state.batch_max_events=150 \
    --set state.batch_interval=30s --set log.level=debug >"$WORK/crash$((k + 1)).log" 2>&1 &
  pid=$!
  PIDS+=($pid)
  wait_for 60 grep -qs "committed [1-9]" "$WORK/crash$((k + 1)).log" ||
    fail "run $((k + 1)) never committed"
  sleep "0.$((RANDOM % 5))"
  kill -9 $pid
  wait $pid 2>/dev/null || true
done
pass "killed -9 three times mid-stream"
produce ops.iot-alerts "$WORK/chunk.03" || fail "produce"
run_until_idle eos g-eos final.log $EOS
grep -q "stopped cleanly" "$WORK/final.log" || fail "the last run did not finish"

# The uninterrupted reference over the whole stream, its alerts to a
# topic of its own (at least once: nothing crashes, so each alert once).
run_until_idle ref g-ref ref.log --set topics.lead_ratings="$(topic ref-lead-ratings)"
cons ref-lead-ratings 1000000 >"$WORK/ref-alerts.jsonl"
ids "$WORK/ref-alerts.jsonl" >"$WORK/ref.ids"
[ -s "$WORK/ref.ids" ] || fail "the reference run emitted no alerts"
[ -z "$(uniq -d "$WORK/ref.ids")" ] || fail "the reference run repeated alerts"
cons sales.lead-ratings 1000000 >"$WORK/eos-alerts.jsonl"
ids "$WORK/eos-alerts.jsonl" >"$WORK/eos.ids"
dups=$(uniq -d "$WORK/eos.ids" | wc -l)
[ "$dups" -eq 0 ] || fail "$dups alert ids seen more than once read_committed"
cmp -s "$WORK/ref.ids" "$WORK/eos.ids" ||
  fail "alerts differ from the uninterrupted run: $(diff "$WORK/ref.ids" "$WORK/eos.ids" | head -4)"
cons sales.lead-ratings 1000000 \
  --set kafka.properties.isolation.level=read_uncommitted >"$WORK/eos-all.jsonl"
raw=$(ids "$WORK/eos-all.jsonl" | wc -l)
pass "read_committed: each of $(wc -l <"$WORK/eos.ids") alert ids once ($((raw - $(wc -l <"$WORK/eos.ids"))) aborted copies hidden)"

for c in 001 002 040 077 120; do
  "$DS_BIN" inspect -c "$CFG" $(sets ref g-ref) --customer "cust-$c" >"$WORK/ref-$c.json" 2>/dev/null ||
    fail "no reference state for cust-$c"
  "$DS_BIN" inspect -c "$CFG" $(sets eos g-eos) --customer "cust-$c" >"$WORK/eos-$c.json" 2>/dev/null ||
    fail "no state for cust-$c"
  cmp -s "$WORK/ref-$c.json" "$WORK/eos-$c.json" ||
    fail "state of cust-$c differs: $(diff "$WORK/ref-$c.json" "$WORK/eos-$c.json" | head -5)"
done
pass "final state equals the uninterrupted run's"

# 3. A copy of the state dir (same transactional.id; only the id file is
# copied, the rest it restores) started beside the original fences it:
# the original's next commit fails and it stops, loudly.
mkdir -p "$WORK/eos-copy"
cp "$WORK/eos/DEALSTREAM-TXN-ID" "$WORK/eos-copy/"
"$DS_BIN" run -c "$CFG" $(sets eos g-eos) $EOS --set state.batch_interval=100ms \
  >"$WORK/fenced.log" 2>&1 &
A=$!
PIDS+=($A)
wait_for 60 grep -qs "assignment: " "$WORK/fenced.log" || fail "A was not assigned"
"$DS_BIN" run -c "$CFG" $(sets eos-copy g-eos) $EOS >"$WORK/copy.log" 2>&1 &
B=$!
PIDS+=($B)
wait_for 60 grep -qs "exactly_once: one transaction" "$WORK/copy.log" || fail "B did not start"
# Both rebalance; then records for every partition, so that A meets one.
wait_for 60 grep -qs "assignment: " "$WORK/copy.log" || fail "B was not assigned"
sed 's/"e-/"f-/' "$WORK/chunk.00" >"$WORK/more.jsonl"
produce ops.iot-alerts "$WORK/more.jsonl" || fail "produce"
rc=0
wait_for 60 bash -c "! kill -0 $A 2>/dev/null" || fail "A went on after being fenced"
wait $A || rc=$?
[ $rc -ne 0 ] || fail "A stopped with exit code 0"
grep -q "stopping on a fatal producer error: .*fenced" "$WORK/fenced.log" ||
  fail "A did not say it was fenced: $(grep -m3 "txn\|error" "$WORK/fenced.log")"
kill $B 2>/dev/null || true
wait $B 2>/dev/null || true
pass "a copy of the state dir fences the original, which stops (exit $rc)"
