#!/usr/bin/env bash
# kill -9 mid-stream, then restart: nothing lost, nothing applied twice.
# The final state must equal an uninterrupted run's, and the alerts of the
# crashed run must be exactly the uninterrupted run's alerts by alert_id
# (some possibly re-emitted: at least once, same ids).
# brokers: mock real
MOCK_CHANGELOG=1 # 4 partitions: the mock's changelogs match the inputs
CRASH_WRITEBACK=1 # the crashed run writes back (state.max_dirty_ms), lib.sh
. "$(dirname "$0")/lib.sh"
start_broker 4
N_CUST=150
gen() { # IoT storms: 30 critical vibration alerts per customer over 3 days,
        # customer after customer, so the uncommitted tail holds whole storms
        # (and their tier changes)
  local t0=1793000000000
  for c in $(seq 1 $N_CUST); do
    for i in $(seq 1 30); do
      printf '{"event_id":"e-%d-%d","customer_id":"cust-%03d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":%d.5,"event_time":%d}\n' \
        "$c" "$i" "$c" $((i % 3)) "$i" $((t0 + i * 8640000 + c))
    done
  done
}
gen >"$WORK/events.jsonl"
total=$(wc -l <"$WORK/events.jsonl")
head -n $((total / 2)) "$WORK/events.jsonl" >"$WORK/first.jsonl"
tail -n +$((total / 2 + 1)) "$WORK/events.jsonl" >"$WORK/second.jsonl"
produce ops.iot-alerts "$WORK/first.jsonl" || fail "produce first half"

# Uninterrupted reference run.
run_until_idle ref g-ref ref1.log
produce ops.iot-alerts "$WORK/second.jsonl" || fail "produce second half"
run_until_idle ref g-ref ref2.log
consume sales.lead-ratings 1000000 >"$WORK/ref-alerts.jsonl"
ref_alerts=$(wc -l <"$WORK/ref-alerts.jsonl")
[ "$ref_alerts" -gt 0 ] || fail "the reference run emitted no alerts"

# The crashed run: killed once at least one checkpoint is written (write-
# back, cut when 100 objects are dirty); the tail of the stream after it is
# then applied and its alerts sent, but not written.
crash_mid_stream crash g-crash crash.log
pass "killed -9 mid-stream"
run_until_idle crash g-crash crash2.log
grep -q "stopped cleanly" "$WORK/crash2.log" || fail "restart did not finish"
grep -qE "stopped cleanly: events=[1-9]" "$WORK/crash2.log" ||
  fail "the kill left no unwritten tail to apply again; the test proves nothing"

for c in 001 002 050 099 150; do
  "$DS_BIN" inspect -c "$CFG" $(sets ref) --customer "cust-$c" >"$WORK/ref-$c.json" 2>/dev/null ||
    fail "no reference state for cust-$c"
  "$DS_BIN" inspect -c "$CFG" $(sets crash) --customer "cust-$c" >"$WORK/crash-$c.json" 2>/dev/null ||
    fail "no state for cust-$c after the restart"
  cmp -s "$WORK/ref-$c.json" "$WORK/crash-$c.json" ||
    fail "state of cust-$c differs: $(diff "$WORK/ref-$c.json" "$WORK/crash-$c.json" | head -5)"
done
pass "final state equals the uninterrupted run's"

consume sales.lead-ratings 1000000 >"$WORK/all-alerts.jsonl"
ids() { grep -o '"alert_id":"[0-9a-f]*"' "$1" | sort -u; }
ids "$WORK/ref-alerts.jsonl" >"$WORK/ref.ids"
ids "$WORK/all-alerts.jsonl" >"$WORK/all.ids"
cmp -s "$WORK/ref.ids" "$WORK/all.ids" ||
  fail "the crashed run emitted alerts the reference did not, or missed some"
# Every reference alert must also have come from the crashed run.
all=$(wc -l <"$WORK/all-alerts.jsonl")
[ "$all" -ge $((2 * ref_alerts)) ] || fail "crashed run lost alerts: $all total, $ref_alerts per run"
pass "alerts: same ids as the uninterrupted run ($ref_alerts; $((all - 2 * ref_alerts)) re-emitted)"

# Then the disk is lost: a new instance of the group with an empty state
# dir restores every partition from the changelog the crashed and the
# restarted runs wrote, has nothing left to apply (it resumes after the
# offsets the restored state reflects) and holds the same state.
run_until_idle fresh g-crash fresh.log
grep -q "restored .* objects" "$WORK/fresh.log" ||
  fail "no restore: $(grep -i "restor\|assigned" "$WORK/fresh.log" | head -3)"
grep -q "events=0 " "$WORK/fresh.log" ||
  fail "the restored instance applied records again: $(grep stopped "$WORK/fresh.log")"
for c in 001 002 050 099 150; do
  "$DS_BIN" inspect -c "$CFG" $(sets fresh) --customer "cust-$c" >"$WORK/fresh-$c.json" 2>/dev/null ||
    fail "no restored state for cust-$c"
  cmp -s "$WORK/ref-$c.json" "$WORK/fresh-$c.json" ||
    fail "restored state of cust-$c differs: $(diff "$WORK/ref-$c.json" "$WORK/fresh-$c.json" | head -5)"
done
pass "after the crash, an empty disk restored from the changelog equals the uninterrupted run"
