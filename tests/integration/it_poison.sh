#!/usr/bin/env bash
# A poison output never stops the stream (issue 26, case 2): a record
# whose value is over librdkafka's message.max.bytes cannot go to the DLQ
# as it is. It used to fail the produce, the batch, the daemon, and again
# after every restart, so the good record behind it was never applied.
# Now the DLQ record is cut to fit, with headers saying so, and the loop
# goes on; `reference` keeps headers only.
# brokers: mock
. "$(dirname "$0")/lib.sh"
start_broker 1
TOPIC=ops.iot-alerts

# 1.1 MB that are not Avro (bad magic), key C1; the broker takes it, the
# daemon's producer (message.max.bytes 1000000) would not.
head -c 1100000 /dev/zero | tr '\0' 'x' >"$WORK/poison.bin"
kcat -P -b "$BROKERS" -t $TOPIC -k C1 -X message.max.bytes=2000000 \
  "$WORK/poison.bin" || fail "producing the poison record"
cat >"$WORK/good.jsonl" <<'J'
{"event_id":"good-1","customer_id":"C1","device_id":"D1","alert_type":"vibration_anomaly","severity":"CRITICAL","count":3,"value":null,"event_time":1767225600000}
J
produce $TOPIC "$WORK/good.jsonl" || fail "producing the good record"

run_until_idle state g-poison daemon.log
grep -q "stopped cleanly: events=1 dlq=1 " "$WORK/daemon.log" ||
  fail "want 1 applied and 1 in the DLQ: $(grep -E 'stopped|not delivered|ERROR' "$WORK/daemon.log" | head -3)"
grep -q "poison=1 " "$WORK/daemon.log" || fail "the poison counter did not rise"
grep -q "value truncated" "$WORK/daemon.log" || fail "no log line for the cut record"
pass "the daemon kept running past a 1.1 MB poison record"

"$DS_BIN" inspect -c "$CFG" $(sets state) --customer C1 >"$WORK/c1.json" 2>/dev/null ||
  fail "no state for C1"
grep -q 'vibration_anomaly' "$WORK/c1.json" ||
  fail "the good record behind the poison was not applied: $(head -c 400 "$WORK/c1.json")"
pass "the good record behind it was applied"

consume dealstream.dlq 1 >"$WORK/dlq.jsonl"
line=$(cat "$WORK/dlq.jsonl")
grep -q '"dealstream.dlq.oversize":"truncated"' <<<"$line" || fail "no truncation header: ${line:0:400}"
grep -q '"dealstream.dlq.original_value_size":"1100000"' <<<"$line" || fail "no original size header"
grep -q '"__connect.errors.exception.class.name":"bad_magic"' <<<"$line" || fail "reason lost"
grep -q '"__connect.errors.offset":"0"' <<<"$line" || fail "source offset lost"
hex=$(grep -o '"value_hex":"[0-9a-f]*"' <<<"$line" | cut -d'"' -f4)
[ ${#hex} -gt 1000000 ] && [ ${#hex} -lt 2000000 ] ||
  fail "want a truncated value of 500k..1M bytes, got $(( ${#hex} / 2 ))"
[ "${hex:0:8}" = 78787878 ] || fail "the kept prefix is not the original's"
pass "DLQ record truncated to $(( ${#hex} / 2 )) bytes, headers say so"

# reference: the same record, another group and state; no value at all.
"$DS_BIN" run -c "$CFG" $(sets ref g-ref) --set runtime.dlq_oversize=reference \
  --set topics.dlq=dealstream.dlq --exit-when-idle 3000 >"$WORK/ref.log" 2>&1 ||
  fail "daemon (reference) exited non-zero"
consume dealstream.dlq 2 >"$WORK/dlq2.jsonl"
line=$(sed -n 2p "$WORK/dlq2.jsonl")
grep -q '"dealstream.dlq.oversize":"reference"' <<<"$line" || fail "no reference header: ${line:0:400}"
grep -q '"value_hex":""' <<<"$line" || fail "reference mode kept a value: ${line:0:300}"
pass "reference mode keeps headers only"

# An alert Kafka refuses for its size (a producer limit of 1000 bytes,
# librdkafka's least, below this MeetingSummary: its rep id is long)
# goes to the DLQ with the reason; the loop goes on and the batch commits.
REP="rep-$(head -c 1200 /dev/zero | tr '\0' 'x')"
seg='{"event_id":"m1-s%d","customer_id":"C9","meeting_id":"M9","rep_id":"%s","seq":%d,"speaker_id":"s%d","speaker_role":"%s","start_ms":%d,"end_ms":%d,"text":"%s","phase":null,"is_final":%s,"event_time":%d}\n'
{ printf "$seg" 0 "$REP" 0 0 REP 0 5000 "What matters most to you this year?" false 1793872825000
  printf "$seg" 1 "$REP" 1 1 CUSTOMER 5000 9000 "Uptime of the lab, mostly." true 1793872834000
} >"$WORK/meeting.jsonl"
produce sales.transcripts "$WORK/meeting.jsonl" || fail "producing the meeting"
"$DS_BIN" run -c "$CFG" $(sets small g-small) --set kafka.properties.message.max.bytes=1000 \
  --exit-when-idle 3000 >"$WORK/small.log" 2>&1 || fail "daemon (small limit) exited non-zero"
grep -q "a record for sales.meeting-metrics was rejected" "$WORK/small.log" ||
  fail "no rejected summary logged: $(grep -E 'error|stopped' "$WORK/small.log" | head -3)"
consume dealstream.dlq 100 >"$WORK/dlq3.jsonl"
line=$(grep '"output_rejected"' "$WORK/dlq3.jsonl" | head -1)
[ -n "$line" ] || fail "no output_rejected record in the DLQ"
grep -q '"__connect.errors.topic":"sales.meeting-metrics"' <<<"$line" || fail "topic header: ${line:0:300}"
grep -q '"__connect.errors.stage":"produce"' <<<"$line" || fail "stage header: ${line:0:300}"
grep -q '"key":"C9"' <<<"$line" || fail "key: ${line:0:300}"
pass "a MeetingSummary over the producer's limit is in the DLQ; the daemon went on"
