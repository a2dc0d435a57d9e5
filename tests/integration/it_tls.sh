#!/usr/bin/env bash
# The daemon and its tools over TLS to Apache Kafka, with the CA given as
# ${file:...} in kafka.properties: the suite's broker has an SSL listener
# certified by a throwaway CA (scripts/kafka --tls), which no system trust
# store holds, so every step below fails unless the CA text reached
# librdkafka. Admin (create-topics), producer (produce, the daemon's
# alerts) and consumers (the daemon's group, consume) all go over TLS.
# Without the CA the same command is refused.
# brokers: real
. "$(dirname "$0")/lib.sh"
[ -z "${DS_KAFKA_BOOTSTRAP:-}" ] || { echo "skipped: DS_KAFKA_BOOTSTRAP's cluster has no test CA"; exit 0; }
TLS_BOOT="$DS_KAFKA_DIR/bootstrap-tls"
[ -s "$TLS_BOOT" ] || fail "the suite's broker has no TLS listener ($TLS_BOOT)"
cp "$DS_KAFKA_DIR/tls/ca.pem" "$WORK/ca.pem"
BROKERS=$(cat "$TLS_BOOT")
# ${file:} inside a --set: single quotes keep it from the shell.
TLS_SETS='--set kafka.properties.security.protocol=SSL --set kafka.properties.ssl.ca.pem=${file:'"$WORK"'/ca.pem}'
TOPIC_SETS="$(topic_sets)$TLS_SETS "

"$DS_BIN" create-topics -c "$CFG" $(sets) --set kafka.topic_partitions=1 \
  >"$WORK/create-topics.log" 2>&1 || fail "create-topics over TLS: $(tail -3 "$WORK/create-topics.log")"
pass "create-topics (admin client) over TLS"

n_in=$(grep -c . "$DS_SRC/examples/iot_alerts.jsonl")
produce ops.iot-alerts "$DS_SRC/examples/iot_alerts.jsonl" || fail "produce over TLS: $(tail -3 "$WORK/produce.log")"
run_until_idle state g-tls daemon.log
grep -q "events=$n_in " "$WORK/daemon.log" ||
  fail "the daemon did not apply the $n_in records: $(grep -m1 'stopped' "$WORK/daemon.log")"
n=$(consume sales.lead-ratings 1 | grep -c '"customer_id"' || true)
[ "$n" -gt 0 ] || fail "no alert read back over TLS"
pass "daemon consumed $n_in records and produced alerts, read back over TLS"

# The same read without the CA: the certificate cannot be verified.
TOPIC_SETS="$(topic_sets)--set kafka.properties.security.protocol=SSL "
"$DS_BIN" consume -c "$CFG" $(sets) --topic "$(topic sales.lead-ratings)" \
  --from-beginning --max 1 --idle-exit 1500 >"$WORK/noca.out" 2>"$WORK/noca.log" || true
[ ! -s "$WORK/noca.out" ] || fail "read over TLS without the CA"
grep -qi "ssl\|certificate" "$WORK/noca.log" || fail "no TLS error without the CA: $(tail -3 "$WORK/noca.log")"
pass "without the CA nothing is read"

# A secret's value is never printed: a wrong protocol from the environment.
DS_TEST_PROTO=hunter2 "$DS_BIN" create-topics -c "$CFG" $(sets) \
  --set 'kafka.properties.security.protocol=${env:DS_TEST_PROTO}' >"$WORK/bad.log" 2>&1 &&
  fail "an invalid protocol was accepted"
grep -q 'security.protocol=<redacted>' "$WORK/bad.log" || fail "no redacted error: $(cat "$WORK/bad.log")"
! grep -q hunter2 "$WORK/bad.log" || fail "the secret was printed: $(cat "$WORK/bad.log")"
pass "an invalid secret value is refused without being printed"
