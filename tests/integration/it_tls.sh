#!/usr/bin/env bash
# The daemon and its tools over TLS to Apache Kafka, with the CA given as
# ${file:...} in kafka.properties: the suite's broker has an SSL listener
# certified by a throwaway CA (scripts/kafka --tls), which no system trust
# store holds, so every step below fails unless the CA text reached
# librdkafka. Admin (create-topics), producer (produce, the daemon's
# alerts) and consumers (the daemon's group, consume) all go over TLS.
# Without the CA the same command is refused. SASL/PLAIN (the broker's
# SASL_SSL listener) with the password from ${env:}.
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

# Without the CA the broker's certificate cannot be verified (kcat: the
# same librdkafka, with a short metadata timeout).
! timeout 20 kcat -b "$BROKERS" -X security.protocol=SSL -L -m 2 >"$WORK/noca.log" 2>&1 ||
  fail "metadata over TLS without the CA"
grep -qi "certificate" "$WORK/noca.log" || fail "no certificate error without the CA: $(tail -3 "$WORK/noca.log")"
pass "without the CA nothing is read"

# SASL/PLAIN over TLS, the password from the environment; a wrong one is
# refused by the broker, and neither is printed.
BROKERS=$(cat "$DS_KAFKA_DIR/bootstrap-sasl")
SASL_SETS='--set kafka.properties.security.protocol=SASL_SSL --set kafka.properties.sasl.mechanism=PLAIN --set kafka.properties.sasl.username=dealstream --set kafka.properties.sasl.password=${env:DS_IT_KAFKA_PASSWORD}'
TOPIC_SETS="$(topic_sets)$TLS_SETS $SASL_SETS "
PW=$(cat "$DS_KAFKA_DIR/tls/password")
n=$(DS_IT_KAFKA_PASSWORD=$PW consume sales.lead-ratings 1 | grep -c '"customer_id"' || true)
[ "$n" -gt 0 ] || fail "no alert read over SASL_SSL: $(tail -3 "$WORK/consume.log")"
DS_IT_KAFKA_PASSWORD=wrong-$PW "$DS_BIN" consume -c "$CFG" $(sets) --topic "$(topic sales.lead-ratings)" \
  --from-beginning --max 1 --idle-exit 1500 >"$WORK/badpw.out" 2>"$WORK/badpw.log" || true
[ ! -s "$WORK/badpw.out" ] || fail "read over SASL with a wrong password"
grep -qi "authentication" "$WORK/badpw.log" || fail "no SASL error: $(tail -3 "$WORK/badpw.log")"
! grep -q "$PW" "$WORK/consume.log" "$WORK/badpw.log" || fail "a password was printed"
pass "SASL/PLAIN over TLS with the password from \${env:}; a wrong one is refused"

# A secret's value is never printed: a wrong protocol from the environment.
BROKERS=$(cat "$TLS_BOOT")
TOPIC_SETS="$(topic_sets)$TLS_SETS "
DS_TEST_PROTO=hunter2 "$DS_BIN" create-topics -c "$CFG" $(sets) \
  --set 'kafka.properties.security.protocol=${env:DS_TEST_PROTO}' >"$WORK/bad.log" 2>&1 &&
  fail "an invalid protocol was accepted"
grep -q 'security.protocol=<redacted>' "$WORK/bad.log" || fail "no redacted error: $(cat "$WORK/bad.log")"
! grep -q hunter2 "$WORK/bad.log" || fail "the secret was printed: $(cat "$WORK/bad.log")"
pass "an invalid secret value is refused without being printed"
