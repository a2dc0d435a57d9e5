#!/usr/bin/env bash
# Poison outputs the broker rejects (issue 26, case 2), on the paths the
# client cannot foresee: the topics' max.message.bytes are lowered below
# what the producer allows, so the rejection comes back in the delivery
# report. A MeetingSummary refused by its topic goes to the DLQ
# (output_rejected); a dead letter refused by the DLQ topic is sent again
# without its value. The daemon keeps running and stops cleanly.
# brokers: real
. "$(dirname "$0")/lib.sh"
start_broker 1
config() { # config <topic> <max.message.bytes>
  "$DS_SRC/scripts/kafka" tool org.apache.kafka.tools.ConfigCommand \
    --bootstrap-server "$BROKERS" --alter --entity-type topics \
    --entity-name "$1" --add-config "max.message.bytes=$2" >>"$WORK/tool.log" 2>&1 ||
    fail "could not set max.message.bytes of $1: $(tail -3 "$WORK/tool.log")"
}
config "$(topic sales.meeting-metrics)" 200
config "$(topic dealstream.dlq)" 3000

# 5000 bytes that are not Avro and do not compress (the producer uses lz4):
# they fit the producer, not the DLQ topic.
{ printf x; head -c 4999 /dev/urandom; } >"$WORK/bad.bin"
kcat -P -b "$BROKERS" -t "$(topic ops.iot-alerts)" -k C1 "$WORK/bad.bin" || fail "producing the bad record"
seg='{"event_id":"m-s%d","customer_id":"C9","meeting_id":"M9","rep_id":"r1","seq":%d,"speaker_id":"s%d","speaker_role":"%s","start_ms":%d,"end_ms":%d,"text":"%s","phase":null,"is_final":%s,"event_time":%d}\n'
{ printf "$seg" 0 0 0 REP 0 5000 "What matters most to you this year?" false 1793872825000
  printf "$seg" 1 1 1 CUSTOMER 5000 9000 "Uptime of the lab, mostly." true 1793872834000
} >"$WORK/meeting.jsonl"
produce sales.transcripts "$WORK/meeting.jsonl" || fail "producing the meeting"

run_until_idle state g-pb daemon.log
grep -q "stopped cleanly" "$WORK/daemon.log" || fail "no clean stop"
grep -q "rejected: .*Message size too large\|rejected: .*too large" "$WORK/daemon.log" ||
  fail "the summary was not rejected by its topic: $(grep -iE 'error|warn' "$WORK/daemon.log" | head -3)"
pass "the daemon went on past a summary and a dead letter its broker refused"

consume dealstream.dlq 10 >"$WORK/dlq.jsonl"
grep -q '"output_rejected"' "$WORK/dlq.jsonl" || fail "no output_rejected record: $(head -c 400 "$WORK/dlq.jsonl")"
grep '"output_rejected"' "$WORK/dlq.jsonl" | grep -q "\"__connect.errors.topic\":\"$(topic sales.meeting-metrics)\"" ||
  fail "the rejected summary does not name its topic"
bare=$(grep '"bad_magic"' "$WORK/dlq.jsonl" || true)
[ -n "$bare" ] || fail "the bad record never reached the DLQ"
grep -q '"dealstream.dlq.oversize":"reference"' <<<"$bare" || fail "not resent bare: ${bare:0:400}"
grep -q '"dealstream.dlq.original_value_size":"5000"' <<<"$bare" || fail "original size lost: ${bare:0:400}"
grep -q '"key":"C1"' <<<"$bare" || fail "key lost: ${bare:0:300}"
pass "summary in the DLQ as output_rejected; the dead letter resent without its value"
