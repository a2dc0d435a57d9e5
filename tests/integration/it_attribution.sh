#!/usr/bin/env bash
# Counterfactual attribution through Kafka: a two-year monthly panel of 20
# units (sales.outcomes, keyed by unit) and a policy signal for one region
# (env.signals, keyed by signal) meet in the panel's partition through the
# repartition topic; every closed month gets one AttributionReport per unit
# on sales.attribution. The month of the policy shows the hand-computed
# effect; a kill -9 mid-stream and a restart change no report.
# brokers: mock
. "$(dirname "$0")/lib.sh"
EN="--set processors.attribution.enabled=true --set processors.attribution.min_controls=5"
# The member killed below leaves the group only by its session's end.
FAST="--set kafka.properties.session.timeout.ms=3000"
# Four partitions: a panel's outcomes come from all of them, fetched and
# applied at their own pace (more so around the kill -9); a period closes
# only when every partition's outcomes have passed its end plus the grace,
# so nothing that is not late becomes a correction.
"$DS_BIN" dev-kafka -c "$CFG" --set kafka.group_id=g-at $EN --partitions 4 \
  --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
PIDS+=($!)
wait_for 60 test -s "$WORK/bootstrap" || fail "dev-kafka did not write its bootstrap file"
BROKERS=$(cat "$WORK/bootstrap")

# A config without a writer id for AttributionReport loads, but run
# refuses to start while attribution is enabled.
mkdir "$WORK/old"
grep -v 'attribution_report.avsc' "$CFG" >"$WORK/old/processor.yaml"
ln -s "$DS_SRC/schemas" "$WORK/old/schemas"
rc=0
"$DS_BIN" run -c "$WORK/old/processor.yaml" $(sets old g-at) $EN --exit-when-idle 500 \
  >"$WORK/old.log" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "processor attribution writes topics.attribution, but schemas.ids names no writer for AttributionReport" "$WORK/old.log" ||
  fail "run with no writer id for AttributionReport: exit $rc, $(tail -2 "$WORK/old.log")"
pass "without a writer id for AttributionReport, run refuses to start while attribution is enabled"

# Months 2024-03 (k=0) .. 2026-04 (k=25), UTC.
for k in $(seq 0 25); do
  echo "$k $(date -u -d "2024-03-01 +$k month" +%s)000"
done >"$WORK/months"
MAR26=$(awk '$1 == 24 { print $2 }' "$WORK/months")

printf '{"event_id":"s-1","signal_id":"sig-r0-subsidy","kind":"POLICY","title":"r0 subsidy cut","description":null,"regions":["r0"],"industries":["medical"],"start_time":%s,"end_time":null,"magnitude":-0.23,"event_time":%s}\n' \
  "$MAR26" "$MAR26" >"$WORK/signals.jsonl"
produce env.signals "$WORK/signals.jsonl" || fail "produce env.signals"

# Unit u is in region r(u%4); region r0 is exposed. Two records a month;
# in 2026-03 the exposed units deviate by 0,1,-1,2,-2 and lose 23, the
# controls deviate by -1,0,1 in turn: the DiD effect is -23 exactly.
awk 'BEGIN { } { start[$1] = $2 } END {
  split("0 1 -1 2 -2", ex, " "); split("-1 0 1", co, " ")
  n = 0
  for (k = 0; k <= 25; k++)
    for (u = 0; u < 20; u++) {
      v = 100 + 5 * u + 2 * k + 1.5 * (k % 12)
      if (k == 24) v += (u % 4 == 0) ? ex[u / 4 + 1] - 23 : co[u % 3 + 1]
      for (part = 0; part < 2; part++)
        printf "{\"event_id\":\"o-%d\",\"unit_id\":\"u%d\",\"region\":\"r%d\",\"industry\":\"medical\",\"metric\":\"revenue\",\"value\":%.1f,\"event_time\":%.0f}\n",
          ++n, u, u % 4, part ? 10 : v - 10, start[k] + (9 + part) * 86400000
    }
}' "$WORK/months" >"$WORK/outcomes.jsonl"
# One partition L lags: the first year (k <= 12) of every unit goes first;
# then the rest of the units outside L, with a kill -9 mid-stream and a
# restart; only then the rest of L's units. Applied as they arrive, a
# period closing on the largest time of any partition would close 2025-03
# .. 2026-03 without L and correct them all (issue 21's defect).
awk -v y="$(awk '$1 == 13 { print $2 }' "$WORK/months")" -v a="$WORK/year1.jsonl" \
  -v b="$WORK/rest.jsonl" '{ match($0, /"event_time":[0-9]+/)
  print > (substr($0, RSTART + 13, RLENGTH - 13) + 0 < y + 0 ? a : b) }' "$WORK/outcomes.jsonl"
produce sales.outcomes "$WORK/year1.jsonl" || fail "produce sales.outcomes"
L=$(kcat -b "$BROKERS" -C -t "$(topic sales.outcomes)" -e -q -f '%k %p\n' | awk '$1 == "u0" { print $2; exit }')
[ -n "$L" ] || fail "no partition for u0"
kcat -b "$BROKERS" -C -t "$(topic sales.outcomes)" -e -q -f '%k %p\n' |
  awk -v L="$L" '$2 == L { print "\"unit_id\":\"" $1 "\"," }' | sort -u >"$WORK/late_units"
grep -vFf "$WORK/late_units" "$WORK/rest.jsonl" >"$WORK/rest_early.jsonl"
grep -Ff "$WORK/late_units" "$WORK/rest.jsonl" >"$WORK/rest_late.jsonl"
[ -s "$WORK/rest_early.jsonl" ] && [ -s "$WORK/rest_late.jsonl" ] || fail "no split by partition"
produce sales.outcomes "$WORK/rest_early.jsonl" || fail "produce sales.outcomes"

crash_mid_stream state g-at crash.log $EN $FAST
# As run_until_idle, with shorter idle waits (the reports are all there
# when the daemon has gone idle; consume reads without joining a group).
"$DS_BIN" run -c "$CFG" $(sets state g-at) --exit-when-idle 1500 $EN $FAST \
  >"$WORK/run.log" 2>&1 || fail "daemon exited non-zero (see run.log)"
grep -qE 'stopped cleanly: events=[1-9]' "$WORK/run.log" ||
  fail "the kill left no uncommitted tail to apply again"
produce sales.outcomes "$WORK/rest_late.jsonl" || fail "produce sales.outcomes"
"$DS_BIN" run -c "$CFG" $(sets state g-at) --exit-when-idle 1500 $EN $FAST \
  >"$WORK/run2.log" 2>&1 || fail "daemon exited non-zero (see run2.log)"
"$DS_BIN" consume -c "$CFG" $(sets) --topic sales.attribution --from-beginning \
  --idle-exit 1500 >"$WORK/reports.jsonl" 2>>"$WORK/consume.log" || fail "consume"
# At least once: a report sent again after the crash is the same report.
ids=$(grep -oE '"report_id":"[^"]+"' "$WORK/reports.jsonl" | sort -u | wc -l)
distinct=$(sort -u "$WORK/reports.jsonl" | wc -l)
[ "$ids" -eq 500 ] || fail "$ids distinct reports, want 25 months x 20 units"
[ "$distinct" -eq "$ids" ] || fail "$distinct distinct bodies for $ids report ids"
! grep -q '"revision":[1-9]' "$WORK/reports.jsonl" || fail "unexpected corrections"
# Exactly the expected reports: each unit u0..u19 and month 2024-03..2026-03
# once, under one report id.
for k in $(seq 0 24); do
  m=$(date -u -d "2024-03-01 +$k month" +%Y-%m)
  for u in $(seq 0 19); do echo "u$u $m"; done
done | sort >"$WORK/want"
sed -E 's/.*"report_id":"([^"]+)".*"unit_id":"([^"]+)".*"period":"([^"]+)".*/\1 \2 \3/' \
  "$WORK/reports.jsonl" | sort -u >"$WORK/got_ids"
cut -d' ' -f2,3 "$WORK/got_ids" | sort >"$WORK/got"
diff "$WORK/want" "$WORK/got" >"$WORK/ids.diff" ||
  fail "report ids are not one per unit and month: $(head -5 "$WORK/ids.diff")"
pass "25 closed months x 20 units: 500 reports, each id with one body across kill -9 and restart"

grep '"period":"2026-03"' "$WORK/reports.jsonl" | sort -u >"$WORK/mar.jsonl"
[ "$(wc -l <"$WORK/mar.jsonl")" -eq 20 ] || fail "2026-03: $(wc -l <"$WORK/mar.jsonl") reports"
awk '{
  match($0, /"unit_id":"u[0-9]+"/); u = substr($0, RSTART + 12, RLENGTH - 13) + 0
  match($0, /"environment_effect":[-0-9.e+]+/); e = substr($0, RSTART + 21, RLENGTH - 21) + 0
  match($0, /"effect_low":[-0-9.e+]+/); lo = substr($0, RSTART + 13, RLENGTH - 13) + 0
  match($0, /"effect_high":[-0-9.e+]+/); hi = substr($0, RSTART + 14, RLENGTH - 14) + 0
  if (u % 4 == 0) {
    if (e < -23.000001 || e > -22.999999 || lo > -23 || hi < -23 || $0 !~ /"signals":\["sig-r0-subsidy"\]/ ||
        $0 !~ /"method":"did_same_season"/ || $0 !~ /"controls":15/) { print "exposed: " $0; bad = 1 }
  } else if (e != 0 || $0 !~ /"signals":\[\]/) { print "unexposed: " $0; bad = 1 }
} END { exit bad }' "$WORK/mar.jsonl" || fail "2026-03 reports do not show the effect of -23"
grep -q '"unit_id":"u4".*"excess_value":1[,.]' "$WORK/mar.jsonl" ||
  fail "u4 (deviation +1) should show an excess of 1: $(grep '"u4"' "$WORK/mar.jsonl")"
pass "2026-03: the r0 units show the policy's effect -23 inside their interval, the others 0"
