#!/usr/bin/env bash
# Only the owner acts (issue 26, case 1). A's state holds meetings of both
# partitions; when A starts beside B it owns one. Its idle timer used to
# close the other partition's meetings too, from stale copies: a second
# MeetingSummary (another alert_id) per meeting, and a tombstone that made
# A drop the meeting's later segments once the partition came back.
# Now A closes only what it owns, and a partition that comes back is
# indexed again: one summary per meeting, no segment lost.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
start_broker 2
N=20
seg() { # seg <meeting> <seq>
  printf '{"event_id":"m%02d-s%d","customer_id":"cust-%02d","meeting_id":"M%02d","rep_id":"r1","seq":%d,"speaker_id":"s%d","speaker_role":"%s","start_ms":%d,"end_ms":%d,"text":"Point number %d about the lab.","phase":null,"is_final":false,"event_time":%d}\n' \
    "$1" "$2" "$1" "$1" "$2" $(($2 % 2)) "$([ $(($2 % 2)) -eq 1 ] && echo REP || echo CUSTOMER)" \
    $(($2 * 10000)) $(($2 * 10000 + 9000)) "$2" $((1793872825000 + $2 * 10000))
}
for m in $(seq 1 $N); do for s in 1 2 3; do seg "$m" "$s"; done; done >"$WORK/s123.jsonl"
produce sales.transcripts "$WORK/s123.jsonl" || fail "produce segments 1-3"

# Which partition each meeting is on, from the records themselves.
"$DS_BIN" consume -c "$CFG" $(sets) --topic "$(topic sales.transcripts)" --from-beginning \
  --max $((N * 3)) --idle-exit 5000 --envelope 2>>"$WORK/consume.log" |
  sed -n 's/.*"partition":\([0-9]\).*"meeting_id":"\(M[0-9]*\)".*/\2 \1/p' | sort -u >"$WORK/parts"
[ "$(wc -l <"$WORK/parts")" -eq $N ] || fail "could not map meetings to partitions: $(head -3 "$WORK/parts")"

# A applies segments 1-3 of every meeting (long idle timeout: all open).
run_until_idle a g-own a1.log
# B alone takes both partitions and applies them too.
member() { # member <state> <log> <idle-timeout>: sets DAEMON
  "$DS_BIN" run -c "$CFG" $(sets "$1" g-own) --set log.level=debug \
    --set processors.coaching.idle_timeout="$3" \
    --set runtime.idle_check_interval=200ms >"$WORK/$2" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}
committed() { grep -o 'committed [0-9]* events' "$WORK/$1" 2>/dev/null | awk '{s+=$2} END {print s+0}'; }
applied() { [ "$(committed "$1")" -ge "$2" ]; } # applied <log> <n>
member b b.log 10m
B=$DAEMON
# B has segments 1-3 by applying them, or, with the state changelog (real
# broker), by restoring A's state: then it has nothing left to apply.
has_s123() { applied b.log $((N * 3)) || grep -qs "restored .* objects" "$WORK/b.log"; }
wait_for 60 has_s123 || fail "B never applied segments 1-3"
b0=$(committed b.log || true) # no line yet: grep fails, awk says 0
# A joins with a short idle timeout and gets one partition.
member a a.log 3s
A=$DAEMON
T=$(topic sales.transcripts)
wait_for 90 grep -qsF "assigned $T[" "$WORK/a.log" || fail "A never got a partition"
PA=$(grep -F "assigned $T[" "$WORK/a.log" | tail -1 | sed 's/.*\[\([0-9]*\)\].*/\1/')
PB=$((1 - PA))
mine=$(awk -v p="$PA" '$2 == p' "$WORK/parts" | wc -l)
theirs=$(awk -v p="$PB" '$2 == p' "$WORK/parts" | wc -l)
[ "$mine" -gt 0 ] && [ "$theirs" -gt 0 ] || fail "all meetings on one partition; the test proves nothing"

summaries() { # the MeetingSummaries so far, one JSON line each
  consume sales.meeting-metrics 1000 --idle-exit 1500
}
# A closes its own partition's meetings; in the same tick the old code
# closed B's as well (all were indexed together).
count_on() { summaries | grep -c "\"source_partition\":$1" || true; }
closed_on() { [ "$(count_on "$1")" -ge "$2" ]; } # closed_on <partition> <n>
wait_for 60 closed_on "$PA" "$mine" || fail "A never closed its own $mine meetings"
n=$(count_on "$PB")
[ "$n" -eq 0 ] || fail "A closed $n meetings of partition $PB, which B owns"
pass "A closed its $mine idle meetings and none of B's $theirs"

# Segments 4-6 of B's meetings, then B leaves: A gets the partition back,
# resumes from its own offset and must apply them (no tombstone).
for m in $(awk -v p="$PB" '$2 == p {print substr($1, 2) + 0}' "$WORK/parts"); do
  for s in 4 5 6; do seg "$m" "$s"; done
done >"$WORK/s456.jsonl"
produce sales.transcripts "$WORK/s456.jsonl" || fail "produce segments 4-6"
wait_for 60 applied b.log $((b0 + theirs * 3)) || fail "B never applied segments 4-6"
kill -TERM "$B"
wait "$B" || fail "B: exit $?"
closed_at_6() { [ "$(summaries | grep -c '"trigger_event_id":"m[0-9]*-s6"')" -ge "$theirs" ]; }
wait_for 90 closed_at_6 ||
  fail "A did not close B's former meetings after segment 6: $(summaries | grep -o '"trigger_event_id":"[^"]*"' | sort | uniq -c | head -5)"
pass "the partition came back to A with its segments 4-6 applied"

summaries >"$WORK/all.jsonl"
for m in $(cut -d' ' -f1 "$WORK/parts"); do
  ids=$(grep "\"meeting_id\":\"$m\"" "$WORK/all.jsonl" | grep -o '"alert_id":"[0-9a-f]*"' | sort -u | wc -l)
  [ "$ids" -eq 1 ] || fail "meeting $m has $ids distinct summaries: $(grep "\"meeting_id\":\"$m\"" "$WORK/all.jsonl" | grep -o '"trigger_event_id":"[^"]*"')"
done
pass "exactly one summary (one alert_id) per meeting"
kill -TERM "$A"; wait "$A" || fail "A: exit $?"
