#!/usr/bin/env bash
# An alert that fails to encode sends its record to the DLQ (issue 26,
# case 5) instead of being dropped while the batch commits. Here the
# configured MeetingSummary writer schema knows only closed_by "idle", so
# the summary of a meeting closed by its final segment cannot be written.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
start_broker 1

cp -r "$DS_SRC/schemas" "$WORK/schemas"
sed -i '/"name": "closed_by"/{n;s/"type": "string"/"type": {"type": "enum", "name": "ClosedBy", "symbols": ["idle"]}/}' \
  "$WORK/schemas/meeting_summary.avsc"
grep -q '"ClosedBy"' "$WORK/schemas/meeting_summary.avsc" || fail "could not edit the schema"
# Every shipped id now names the copy (the reader files live there too).
SCHEMAS="--set schemas.dir=$WORK/schemas"
while read -r id file; do
  SCHEMAS="$SCHEMAS --set schemas.ids.$id=$WORK/$file"
done < <(sed -n 's/^ *\([0-9][0-9]*\): \(schemas\/.*\.avsc\).*$/\1 \2/p' "$CFG")
[ "$(grep -o 'schemas.ids' <<<"$SCHEMAS" | wc -l)" -ge 8 ] || fail "could not read the schema ids: $SCHEMAS"

cat >"$WORK/seg.jsonl" <<'J'
{"event_id":"s1","customer_id":"C1","meeting_id":"M1","rep_id":"r1","seq":0,"speaker_id":"r1","speaker_role":"REP","start_ms":0,"end_ms":5000,"text":"Hello, what matters most to you this year?","phase":null,"is_final":false,"event_time":1793872825000}
{"event_id":"s2","customer_id":"C1","meeting_id":"M1","rep_id":"r1","seq":1,"speaker_id":"c1","speaker_role":"CUSTOMER","start_ms":5000,"end_ms":9000,"text":"Uptime of the lab, mostly.","phase":null,"is_final":true,"event_time":1793872834000}
J
"$DS_BIN" produce -c "$CFG" $(sets) $SCHEMAS --topic "$(topic sales.transcripts)" "$WORK/seg.jsonl" \
  2>>"$WORK/produce.log" || fail "producing the segments"
"$DS_BIN" run -c "$CFG" $(sets state g-enc) $SCHEMAS --exit-when-idle 3000 \
  >"$WORK/daemon.log" 2>&1 || fail "daemon exited non-zero"
grep -q "not encodable" "$WORK/daemon.log" || fail "the summary did encode: the test proves nothing"
grep -q "stopped cleanly: events=2 dlq=1 " "$WORK/daemon.log" ||
  fail "want the final segment in the DLQ: $(grep stopped "$WORK/daemon.log")"

consume dealstream.dlq 1 >"$WORK/dlq.jsonl"
line=$(cat "$WORK/dlq.jsonl")
grep -q '"__connect.errors.exception.class.name":"alert_encode_failed"' <<<"$line" || fail "reason: $line"
grep -q '"__connect.errors.processor":"coaching"' <<<"$line" || fail "processor header: $line"
grep -q '"__connect.errors.offset":"1"' <<<"$line" || fail "not the final segment: $line"
grep -q '"__connect.errors.exception.message":"MeetingSummary' <<<"$line" || fail "message: $line"
pass "the record whose alert failed to encode is in the DLQ, reason alert_encode_failed"
