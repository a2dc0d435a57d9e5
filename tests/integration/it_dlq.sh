#!/usr/bin/env bash
# Bad input never stops the loop: each kind of broken record lands in the
# DLQ with its original key and value and __connect.errors.* headers, and
# the good records around them are applied.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
start_broker 1
TOPIC=$(topic ops.iot-alerts)

cat >"$WORK/good.jsonl" <<'J'
{"event_id":"g1","customer_id":"C1","device_id":"DEVXX","alert_type":"vibration_anomaly","severity":"WARNING","count":1,"value":null,"event_time":1767225600000}
J
produce ops.iot-alerts "$WORK/good.jsonl" || fail "producing the good record"
# The exact bytes of a valid record, to break in controlled ways.
kcat -C -b "$BROKERS" -t $TOPIC -o beginning -c 1 -e -f '%s' >"$WORK/valid.bin" 2>/dev/null
[ -s "$WORK/valid.bin" ] || fail "could not read the valid record back"
size=$(stat -c %s "$WORK/valid.bin")

printf 'this is not avro' >"$WORK/bad_magic.bin"
printf '\000\000' >"$WORK/short.bin"
{ printf '\000\000\000\003\347'; tail -c +6 "$WORK/valid.bin"; } >"$WORK/unknown_id.bin"
head -c $((size / 2)) "$WORK/valid.bin" >"$WORK/truncated.bin"
LC_ALL=C sed 's/DEVXX/DEV\xff\xfe/' "$WORK/valid.bin" >"$WORK/utf8.bin"
cmp -s "$WORK/valid.bin" "$WORK/utf8.bin" && fail "could not corrupt the UTF-8"

send() { # send <file> [key]
  if [ $# -ge 2 ]; then kcat -P -b "$BROKERS" -t $TOPIC -k "$2" "$1"
  else kcat -P -b "$BROKERS" -t $TOPIC "$1"; fi
}
send "$WORK/bad_magic.bin" C1
printf 'C1:\n' | kcat -P -b "$BROKERS" -t $TOPIC -K:   # an empty value
send "$WORK/short.bin" C1
send "$WORK/unknown_id.bin" C1
send "$WORK/truncated.bin" C1
send "$WORK/utf8.bin" C1
send "$WORK/valid.bin"          # no key
send "$WORK/valid.bin" C2       # key is not the record's customer
produce ops.iot-alerts "$WORK/good.jsonl" || fail "producing the second good record"

run_until_idle state g-dlq daemon.log
grep -q "events=2 dlq=8" "$WORK/daemon.log" ||
  fail "want 2 applied and 8 in the DLQ: $(grep stopped "$WORK/daemon.log")"
pass "loop survived 8 bad records; 2 good ones applied"

consume dealstream.dlq 8 >"$WORK/dlq.jsonl"
[ "$(wc -l <"$WORK/dlq.jsonl")" -eq 8 ] || fail "DLQ holds $(wc -l <"$WORK/dlq.jsonl") records, want 8"
for reason in bad_magic empty_value truncated_header unknown_schema_id \
              decode_failed invalid_utf8 missing_key key_mismatch; do
  grep -q "\"__connect.errors.exception.class.name\":\"$reason\"" "$WORK/dlq.jsonl" ||
    fail "no DLQ record with reason $reason"
done
pass "every reason present in the DLQ headers"

line=$(grep '"bad_magic"' "$WORK/dlq.jsonl")
grep -q "\"__connect.errors.topic\":\"$TOPIC\"" <<<"$line" || fail "no topic header: $line"
grep -q '"__connect.errors.partition":"0"' <<<"$line" || fail "no partition header"
grep -q '"__connect.errors.offset":"1"' <<<"$line" || fail "offset header is not 1: $line"
grep -q '"key":"C1"' <<<"$line" || fail "original key lost"
want=$(od -An -tx1 -v "$WORK/bad_magic.bin" | tr -d ' \n')
grep -q "\"value_hex\":\"$want\"" <<<"$line" || fail "original value lost"
grep -q '"key":null' <(grep '"missing_key"' "$WORK/dlq.jsonl") || fail "missing key not kept as null"
pass "original key, value, topic, partition and offset kept"
