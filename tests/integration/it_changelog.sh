#!/usr/bin/env bash
# Disk loss: instance A applies the first half of a stream, then its state
# dir is deleted and retention removes that half from the input topic.
# Instance B (same group, empty disk) takes over: it restores the state from
# the compacted changelog before consuming, resumes exactly after the input
# offsets the restored state reflects, and its state and alerts equal an
# uninterrupted run's. Without the changelog the first half is gone for good.
# brokers: real
. "$(dirname "$0")/lib.sh"
start_broker 2
IOT=$(topic ops.iot-alerts)
N_CUST=60
gen() { # gen <from> <to>: events i in [from, to] of every customer
  local t0=1793000000000
  for i in $(seq "$1" "$2"); do
    for c in $(seq 1 $N_CUST); do
      printf '{"event_id":"e-%d-%d","customer_id":"cust-%03d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":%d.5,"event_time":%d}\n' \
        "$c" "$i" "$c" $((i % 3)) "$i" $((t0 + i * 8640000 + c))
    done
  done
}
gen 1 12 >"$WORK/first.jsonl"
gen 13 20 >"$WORK/second.jsonl"
n_first=$(wc -l <"$WORK/first.jsonl")

produce ops.iot-alerts "$WORK/first.jsonl" || fail "produce the first half"
# The uninterrupted reference, and A, each in its own group and state dir.
run_until_idle ref g-ref ref1.log &
ref_pid=$!
run_until_idle a g-ab a.log
wait $ref_pid || fail "the reference's first run failed"
grep -q "events=$n_first " "$WORK/a.log" || fail "A: $(grep stopped "$WORK/a.log")"
grep -q "state changes also to $PREFIX" "$WORK/a.log" ||
  fail "A wrote no changelog: $(grep -i changelog "$WORK/a.log" | head -3)"

# A's disk is lost; while no one runs, retention deletes the first half.
rm -rf "$WORK/a"
configs() {
  "$DS_SRC/scripts/kafka" tool org.apache.kafka.tools.ConfigCommand \
    --bootstrap-server "$BROKERS" --entity-type topics --entity-name "$IOT" "$@" \
    2>>"$WORK/tool.log"
}
offset_of() { kcat -Q -b "$BROKERS" -t "$IOT:$1:$2" 2>/dev/null | awk '{ print $NF }'; }
configs --alter --add-config retention.ms=2000 >/dev/null || fail "setting retention"
all_deleted() {
  for p in 0 1; do [ "$(offset_of $p -2)" = "$(offset_of $p -1)" ] || return 1; done
}
wait_for 60 all_deleted || fail "retention did not delete the first half"
configs --alter --delete-config retention.ms >/dev/null || fail "restoring retention"
retention_gone() { configs --describe >"$WORK/configs.txt" && ! grep -q "retention.ms=" "$WORK/configs.txt"; }
wait_for 30 retention_gone || fail "retention.ms still set"
pass "A's state dir deleted, the first half deleted by retention"

produce ops.iot-alerts "$WORK/second.jsonl" || fail "produce the second half"
# The reference goes on meanwhile; B: same group as A, empty disk.
run_until_idle ref g-ref ref2.log &
ref_pid=$!
# B's /metrics, scraped until it exits: the last scrape is kept.
PORT=$(free_port)
( while :; do
    curl -fsS "http://127.0.0.1:$PORT/metrics" >"$WORK/b.scrape" 2>/dev/null &&
      mv "$WORK/b.scrape" "$WORK/b.metrics"
    sleep 0.2
  done ) &
scraper=$!
PIDS+=($scraper)
run_until_idle b g-ab b.log --set http.listen=127.0.0.1:$PORT
kill $scraper 2>/dev/null || true
wait $ref_pid || fail "the reference's second run failed"
grep -q "restored .* objects" "$WORK/b.log" ||
  fail "B did not restore: $(grep -i "restor\|assigned" "$WORK/b.log" | head -5)"
grep -q "events=$(wc -l <"$WORK/second.jsonl") " "$WORK/b.log" ||
  fail "B must apply exactly the second half: $(grep stopped "$WORK/b.log")"
pass "B restored from the changelog and applied exactly the second half"
[ -s "$WORK/b.metrics" ] || fail "no scrape of B's /metrics"
metric() { awk -v m="$1" '$1 == m { print $2 }' "$WORK/b.metrics"; }
[ "$(metric 'dealstream_restores_total{mode="full"}')" = 2 ] ||
  fail "want 2 full restores (one per partition): $(grep restore "$WORK/b.metrics")"
[ "$(metric dealstream_restored_records_total)" -gt 0 ] ||
  fail "no restored records counted: $(grep restore "$WORK/b.metrics")"
grep -q '^dealstream_restore_remaining_records' "$WORK/b.metrics" &&
  fail "a restore still shown as under way after it ended"
pass "B's /metrics counts the two full restores and their records"

for c in 001 002 017 030 059 060; do
  "$DS_BIN" inspect -c "$CFG" $(sets ref) --customer "cust-$c" >"$WORK/ref-$c.json" 2>/dev/null ||
    fail "no reference state for cust-$c"
  "$DS_BIN" inspect -c "$CFG" $(sets b) --customer "cust-$c" >"$WORK/b-$c.json" 2>/dev/null ||
    fail "B has no state for cust-$c"
  cmp -s "$WORK/ref-$c.json" "$WORK/b-$c.json" ||
    fail "state of cust-$c differs: $(diff "$WORK/ref-$c.json" "$WORK/b-$c.json" | head -5)"
done
pass "B's state equals the uninterrupted run's"

# Alerts: the reference's ids once each, and A's plus B's are the same set,
# with nothing emitted twice (clean stops: at least once is exactly once).
consume sales.lead-ratings 1000000 >"$WORK/all-alerts.jsonl"
ids() { grep -o '"alert_id":"[0-9a-f]*"' | sort; }
ids <"$WORK/all-alerts.jsonl" | uniq -c | awk '$1 != 2 { bad++ } END { exit bad > 0 }' ||
  fail "an alert id was not emitted once by the reference and once by A or B"
n=$(ids <"$WORK/all-alerts.jsonl" | sort -u | wc -l)
[ "$n" -gt 0 ] || fail "no alerts at all"
pass "alerts: the $n ids of the uninterrupted run, each once from A or B"
