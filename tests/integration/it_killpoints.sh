#!/usr/bin/env bash
# Write-back under kill -9 at 20 random points of one run (issue 20): the
# stream arrives in 20 chunks; after each, the daemon (write-back on, a
# random state.max_dirty_ms) starts on the same state dir and is killed -9
# after a random delay - before its assignment, while restoring, between
# applying and its checkpoint, between the checkpoint's changelog records
# and its RocksDB write, or after. A last run applies what is left. The
# final state of every customer, the input offsets the state reflects and
# the set of alert ids must equal an uninterrupted run's; then an empty
# disk restored from the changelog the 21 runs wrote must too. Seeded:
# DS_KILL_SEED=<n> repeats a run (the seed is printed).
# brokers: mock
MOCK_CHANGELOG=1 # 4 partitions: the mock's changelogs match the inputs
. "$(dirname "$0")/lib.sh"
start_broker 4
SEED=${DS_KILL_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed: $SEED (DS_KILL_SEED=$SEED repeats it)"
RANDOM=$SEED
N_CUST=60
CHUNKS=20
gen() { # 20 IoT alerts per customer, customers interleaved: every chunk
        # changes most customers' state again (hot objects)
  local t0=1793000000000
  for i in $(seq 1 20); do
    for c in $(seq 1 $N_CUST); do
      printf '{"event_id":"k-%d-%d","customer_id":"cust-%03d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"%s","count":1,"value":%d.5,"event_time":%d}\n' \
        "$c" "$i" "$c" $((i % 3)) "$([ $(( (c + i) % 4 )) = 0 ] && echo WARNING || echo CRITICAL)" "$i" $((t0 + i * 8640000 + c))
    done
  done
}
gen >"$WORK/events.jsonl"
total=$(wc -l <"$WORK/events.jsonl")
per=$(( (total + CHUNKS - 1) / CHUNKS ))
split -l "$per" -d -a 2 "$WORK/events.jsonl" "$WORK/chunk."

# The uninterrupted reference: everything at once, its own group and dir.
produce ops.iot-alerts "$WORK/events.jsonl" || fail "produce"
run_until_idle ref g-ref ref.log --exit-when-idle 1000
consume sales.lead-ratings 1000000 >"$WORK/ref-alerts.jsonl"
ref_alerts=$(wc -l <"$WORK/ref-alerts.jsonl")
[ "$ref_alerts" -gt 0 ] || fail "the reference run emitted no alerts"

# The same stream again on a topic of its own, a chunk at a time, one
# kill -9 per chunk. A member killed -9 stays in its group until its
# session times out (10 s), so each run joins a group of its own (the
# offsets it resumes from are the ones stored with the state, never the
# group's) and all share one changelog topic. Most kills come at a random
# instant after the assignment (apply, checkpoint, commit); one in five at
# a random instant of the start (join, open, restore).
KT=ops.iot-alerts-k
KSET="--set topics.iot_alerts=$(topic $KT) --set state.changelog_topic=$(topic g-crash-changelog)"
killed_mid=0 # runs that cut a checkpoint before their kill
killed_cut=0 # of which killed between a cut and its write
for k in $(seq 0 $((CHUNKS - 1))); do
  f=$(printf '%s/chunk.%02d' "$WORK" "$k")
  [ -f "$f" ] || break
  "$DS_BIN" produce -c "$CFG" $(sets) $KSET --topic "$(topic $KT)" "$f" \
    2>>"$WORK/produce.log" || fail "produce chunk $k"
  dirty=$((30 + RANDOM % 400))
  delay=$((RANDOM % 1200))
  early=$((RANDOM % 5 == 0))
  log="$WORK/crash-$k.log"
  "$DS_BIN" run -c "$CFG" $(sets crash "g-crash-$k") $KSET \
    --set state.max_dirty_ms=${dirty}ms --set log.level=debug >"$log" 2>&1 &
  pid=$!
  PIDS+=($pid)
  if [ $early = 1 ]; then
    delay=$((delay * 5 / 2))
    when="after $delay ms"
  else
    wait_for 30 grep -qs "assignment:" "$log" || fail "run $k was never assigned"
    when="$delay ms after its assignment"
  fi
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 $pid 2>/dev/null || fail "run $k ended before its kill: $(tail -3 "$log")"
  wait $pid 2>/dev/null || true
  cut=$(grep -c 'checkpoint of batch' "$log" || true)
  written=$(grep -c 'committed' "$log" || true)
  [ "$cut" -gt 0 ] && killed_mid=$((killed_mid + 1))
  [ "$cut" -gt "$written" ] && killed_cut=$((killed_cut + 1))
  echo "kill $((k + 1)): $when, max_dirty_ms=${dirty}: $cut checkpoints cut, $written written, $(grep -c 'restored ' "$log" || true) partitions restored"
done
[ "$killed_mid" -ge 3 ] ||
  fail "only $killed_mid of the killed runs got as far as a checkpoint; the test proves little"
run_until_idle crash g-crash-end crash-end.log $KSET --exit-when-idle 1000
grep -q "stopped cleanly" "$WORK/crash-end.log" || fail "the last run did not finish"
pass "killed -9 at $CHUNKS points ($killed_mid after a checkpoint, $killed_cut of them between a checkpoint and its write)"

same_state() { # same_state <dir-name> <what>
  for c in $(seq -f '%03g' 1 $N_CUST); do
    "$DS_BIN" inspect -c "$CFG" $(sets "$1") $KSET --customer "cust-$c" >"$WORK/$1-$c.json" 2>/dev/null ||
      fail "$2: no state for cust-$c"
    cmp -s "$WORK/ref-$c.json" "$WORK/$1-$c.json" ||
      fail "$2: state of cust-$c differs: $(diff "$WORK/ref-$c.json" "$WORK/$1-$c.json" | head -5)"
  done
  for p in 0 1 2 3; do # the input offsets the state reflects
    a=$("$DS_BIN" inspect -c "$CFG" $(sets ref) --partition $p | grep -o "\"$(topic ops.iot-alerts)\":[0-9]*" | cut -d: -f2)
    b=$("$DS_BIN" inspect -c "$CFG" $(sets "$1") $KSET --partition $p | grep -o "\"$(topic $KT)\":[0-9]*" | cut -d: -f2)
    [ "$a" = "$b" ] || fail "$2: partition $p reflects offset '$b', the reference '$a'"
  done
}
for c in $(seq -f '%03g' 1 $N_CUST); do
  "$DS_BIN" inspect -c "$CFG" $(sets ref) --customer "cust-$c" >"$WORK/ref-$c.json" 2>/dev/null ||
    fail "no reference state for cust-$c"
done
same_state crash "after the kills"
pass "final state of $N_CUST customers and the offsets equal the uninterrupted run's"

consume sales.lead-ratings 1000000 >"$WORK/all-alerts.jsonl"
ids() { grep -o '"alert_id":"[0-9a-f]*"' "$1" | sort -u; }
ids "$WORK/ref-alerts.jsonl" >"$WORK/ref.ids"
ids "$WORK/all-alerts.jsonl" >"$WORK/all.ids"
cmp -s "$WORK/ref.ids" "$WORK/all.ids" ||
  fail "the killed runs emitted alert ids the reference did not, or missed some: $(diff "$WORK/ref.ids" "$WORK/all.ids" | head -5)"
all=$(wc -l <"$WORK/all-alerts.jsonl")
pass "alerts: the same $(wc -l <"$WORK/ref.ids") ids ($((all - 2 * ref_alerts)) re-emitted after kills)"

# The changelog the killed runs wrote restores the same state on an empty
# disk, with nothing left to apply: every marker claimed only offsets whose
# effects were logged before it.
run_until_idle fresh g-crash-fresh fresh.log $KSET --exit-when-idle 1000
grep -q "events=0 " "$WORK/fresh.log" ||
  fail "the restored instance applied records again: $(grep stopped "$WORK/fresh.log")"
same_state fresh "restored on an empty disk"
pass "an empty disk restored from the changelog equals the uninterrupted run"
