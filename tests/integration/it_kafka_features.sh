#!/usr/bin/env bash
# What librdkafka 2.0.2 really does against Apache Kafka 4.x, read from the
# broker's own log segments (older librdkafka misread the raised minimum API
# versions and could turn features off, librdkafka issue 4948): idempotent
# producing (a producer id on every batch), compression (the codec in the
# batch header), transactions (commit and abort markers; read_committed
# hides the aborted records) - for a probe client and for the daemon's own
# alert producer.
# brokers: real
. "$(dirname "$0")/lib.sh"
: "${DS_KAFKA_PROBE:?}"
start_broker 1
[ -z "${DS_KAFKA_BOOTSTRAP:-}" ] || { echo "skipped: the log segments of DS_KAFKA_BOOTSTRAP's cluster are not on this machine"; exit 0; }
DATA="$DS_KAFKA_DIR/data"
kafka_tool() { "$DS_SRC/scripts/kafka" tool "$@" 2>>"$WORK/tool.log"; }
count() { # count <file> <awk-condition>: batch header lines that match
  awk "/baseOffset:/ && ($2) { n++ } END { print n + 0 }" "$1"
}
dump() { # dump <topic>: the batch headers of partition 0's first segment
  kafka_tool org.apache.kafka.tools.DumpLogSegments \
    --files "$DATA/$1-0/00000000000000000000.log" --print-data-log
}

PLAIN=$(topic probe.plain) TXN=$(topic probe.txn)
for t in "$PLAIN" "$TXN"; do
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKERS" \
    --create --topic "$t" --partitions 1 >/dev/null || fail "creating $t"
done
"$DS_KAFKA_PROBE" "$BROKERS" "$PLAIN" "$TXN" >"$WORK/probe.log" 2>&1 ||
  fail "probe: $(cat "$WORK/probe.log")"
pass "transactions: read_committed saw the committed 10, none of the aborted 10"

dump "$PLAIN" >"$WORK/plain.dump"
grep -q "baseOffset: 0 " "$WORK/plain.dump" || fail "no batch in the dump: $(head -5 "$WORK/plain.dump")"
[ "$(count "$WORK/plain.dump" '/producerId: -1 /')" -eq 0 ] ||
  fail "a batch without producer id: idempotence is off"
[ "$(count "$WORK/plain.dump" '!/compresscodec: zstd/')" -eq 0 ] ||
  fail "a batch that is not zstd-compressed: $(grep -m1 baseOffset "$WORK/plain.dump")"
pass "idempotence and zstd compression active: $(count "$WORK/plain.dump" 1) batches, all with a producer id"

dump "$TXN" >"$WORK/txn.dump"
grep -q "endTxnMarker: ABORT" "$WORK/txn.dump" || fail "no abort marker in the log"
grep -q "endTxnMarker: COMMIT" "$WORK/txn.dump" || fail "no commit marker in the log"
[ "$(count "$WORK/txn.dump" '/isControl: false/ && /isTransactional: true/')" -gt 0 ] ||
  fail "the records were not written as a transaction"
pass "transaction markers (ABORT, COMMIT) in the log"

# The daemon's alert producer: idempotent and lz4, as kafka.c configures it.
produce ops.iot-alerts "$DS_SRC/examples/iot_alerts.jsonl" || fail "produce"
run_until_idle state g-features daemon.log
dump "$(topic sales.lead-ratings)" >"$WORK/alerts.dump"
n=$(count "$WORK/alerts.dump" 1)
[ "$n" -gt 0 ] || fail "the daemon wrote no alert batches"
[ "$(count "$WORK/alerts.dump" '/producerId: -1 /')" -eq 0 ] ||
  fail "an alert batch without producer id"
[ "$(count "$WORK/alerts.dump" '!/compresscodec: lz4/')" -eq 0 ] ||
  fail "an alert batch that is not lz4: $(grep -m1 baseOffset "$WORK/alerts.dump")"
pass "the daemon's alerts: $n batches, idempotent and lz4"
