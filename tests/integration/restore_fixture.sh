# restore_fixture.sh - the two-part stream of the restore tests (sourced
# after lib.sh and start_broker 4): it_restore_parallel and
# it_release_revoke hand a restored partition over under a test gate and
# compare the result with an uninterrupted run.
#
# restore_fixture <changelog-topic>: instance A (state dir a, group g-a)
# applies the first part (40 customers x 4 events) and writes the
# changelog; the second part (4 more events of those customers, and 40 new
# customers whose first events change their tier) is produced; the
# reference applies both parts in a group of its own, with its own alert
# topic and no changelog, in the background (REF_PID). Sets CL (the run
# flags of the instances under test), REF (the reference's) and N_SECOND.
restore_fixture() {
  _restore_gen 1 40 1 4 >"$WORK/first.jsonl"
  { _restore_gen 1 40 5 8; _restore_gen 41 80 1 4; } >"$WORK/second.jsonl"
  N_SECOND=$(wc -l <"$WORK/second.jsonl")
  CL="--set state.changelog_topic=$1 --exit-when-idle 1000"
  produce ops.iot-alerts "$WORK/first.jsonl" || fail "produce the first part"
  run_until_idle a g-a a.log $CL
  grep -q "events=160 " "$WORK/a.log" || fail "A: $(grep stopped "$WORK/a.log")"
  produce ops.iot-alerts "$WORK/second.jsonl" || fail "produce the second part"
  REF="--set topics.lead_ratings=ref.lead-ratings --set state.changelog=false"
  run_until_idle ref g-ref ref.log $REF --exit-when-idle 1000 &
  REF_PID=$!
}

_restore_gen() { # <first-customer> <last-customer> <first-event> <last-event>
  for i in $(seq "$3" "$4"); do
    for c in $(seq "$1" "$2"); do
      printf '{"event_id":"e-%d-%d","customer_id":"cust-%03d","device_id":"dev-%d","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":%d.5,"event_time":%d}\n' \
        "$c" "$i" "$c" $((i % 3)) "$i" $((1793000000000 + i * 8640000 + c))
    done
  done
}

# stopped_count <log> <field>: a run's clean-stop count (events, alerts).
stopped_count() {
  sed -n "s/.*stopped cleanly: .*\b$2=\([0-9]*\) .*/\1/p" "$WORK/$1" | tail -1
}

# same_state_as_ref <state-dir-name>: customers of both parts, old and new,
# inspected there equal the reference's.
same_state_as_ref() {
  local c
  for c in 001 002 017 030 039 040 041 080; do
    "$DS_BIN" inspect -c "$CFG" $(sets ref) $REF --customer "cust-$c" >"$WORK/ref-$c.json" 2>/dev/null ||
      fail "no reference state for cust-$c"
    "$DS_BIN" inspect -c "$CFG" $(sets "$1") --customer "cust-$c" >"$WORK/$1-$c.json" 2>/dev/null ||
      fail "$1 has no state for cust-$c"
    cmp -s "$WORK/ref-$c.json" "$WORK/$1-$c.json" ||
      fail "state of cust-$c differs: $(diff "$WORK/ref-$c.json" "$WORK/$1-$c.json" | head -5)"
  done
}

# same_alerts_as_ref <log>...: the alerts the runs of those logs produced
# (their clean-stop lines count them, acknowledged) have the reference's
# ids, each once. Exactly that many are read, so that a reader starting
# slowly on a loaded host cuts nothing short. Sets N_REF.
same_alerts_as_ref() {
  local n_all=0 l
  N_REF=$(stopped_count ref.log alerts)
  for l in "$@"; do n_all=$((n_all + $(stopped_count "$l" alerts))); done
  [ "$N_REF" -gt 0 ] || fail "no alerts"
  consume sales.lead-ratings "$n_all" --idle-exit 20000 >"$WORK/all.jsonl"
  consume ref.lead-ratings "$N_REF" --idle-exit 20000 >"$WORK/ref.jsonl"
  _alert_ids <"$WORK/all.jsonl" >"$WORK/all.ids"
  _alert_ids <"$WORK/ref.jsonl" >"$WORK/ref.ids"
  [ -z "$(uniq -d "$WORK/all.ids")" ] || fail "an alert id emitted twice"
  cmp -s "$WORK/ref.ids" "$WORK/all.ids" ||
    fail "the alert ids differ from the reference's: $(diff "$WORK/ref.ids" "$WORK/all.ids" | head -4)"
}

_alert_ids() { grep -o '"alert_id":"[0-9a-f]*"' | sort; }
