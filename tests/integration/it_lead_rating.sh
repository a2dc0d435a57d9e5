#!/usr/bin/env bash
# Lead re-rating through Kafka (issue 3): the shipped defaults on the
# shipped sample story, a flood of INFO alerts, decay over two years, and
# state that survives a restart unchanged.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
start_broker 2

produce ref.registry-changes "$DS_SRC/examples/registry_changes.jsonl" || fail "produce registry"
produce ops.iot-alerts "$DS_SRC/examples/iot_alerts.jsonl" || fail "produce iot"
# A thousand INFO alerts over 40 devices for one customer.
for i in $(seq 1 1000); do
  printf '{"event_id":"flood-%d","customer_id":"flood-co","device_id":"dev-%d","alert_type":"temperature_drift","severity":"INFO","count":1,"value":null,"event_time":%d}\n' \
    "$i" $((i % 40)) $((1793000000000 + i * 60000))
done >"$WORK/flood.jsonl"
produce ops.iot-alerts "$WORK/flood.jsonl" || fail "produce flood"
run_until_idle state g-lr run1.log

consume sales.lead-ratings 1000 >"$WORK/r1.jsonl"
acme=$(grep '"customer_id":"acme-medical"' "$WORK/r1.jsonl" | tail -n 1)
[ -n "$acme" ] || fail "no re-rating for acme-medical"
grep -qE '"tier":"(A|B)"' <<<"$acme" || fail "acme-medical did not reach A or B: $acme"
grep -q '"factor":"iot.vibration_anomaly.CRITICAL"' <<<"$acme" ||
  fail "the reasons do not name the IoT signal: $acme"
pass "capacity expansion + contact moved + vibration storm -> $(grep -oE '"tier":"[A-D]"' <<<"$acme"), reasons name the IoT signal"

grep -q '"customer_id":"quiet-labs"' "$WORK/r1.jsonl" && fail "one INFO alert re-rated quiet-labs"
"$DS_BIN" inspect -c "$CFG" $(sets) --customer quiet-labs >"$WORK/quiet.json" ||
  fail "no state for quiet-labs"
grep -q '"tier": "D"' "$WORK/quiet.json" || fail "quiet-labs is not D: $(cat "$WORK/quiet.json")"
pass "one INFO alert leaves a customer at D"

grep '"customer_id":"flood-co"' "$WORK/r1.jsonl" | grep -q '"tier":"A"' &&
  fail "a thousand INFO alerts bought an A"
"$DS_BIN" inspect -c "$CFG" $(sets) --customer flood-co >"$WORK/flood.json"
grep -q '"tier": "A"' "$WORK/flood.json" && fail "flood-co is A"
pass "a thousand INFO alerts do not make an A"

# Restart with nothing new: the state is read back exactly as it was.
"$DS_BIN" inspect -c "$CFG" $(sets) --customer acme-medical >"$WORK/acme-before.json"
run_until_idle state g-lr run2.log
"$DS_BIN" inspect -c "$CFG" $(sets) --customer acme-medical >"$WORK/acme-after.json"
cmp -s "$WORK/acme-before.json" "$WORK/acme-after.json" || fail "state changed across a restart"
grep -q 'iot.vibration_anomaly' "$WORK/acme-after.json" || fail "inspect shows no IoT signal"
pass "state survives a restart unchanged; inspect shows the graph"

# Two years after the storm, the next event finds it decayed: the tier falls.
last=$(grep -oE '"event_time": ?[0-9]+' "$DS_SRC/examples/iot_alerts.jsonl" | grep -oE '[0-9]+$' | sort -n | tail -n 1)
later=$((last + 2 * 365 * 86400000))
printf '{"event_id":"late-1","customer_id":"acme-medical","device_id":"mri-01","alert_type":"temperature_drift","severity":"INFO","count":1,"value":null,"event_time":%d}\n' "$later" >"$WORK/late.jsonl"
produce ops.iot-alerts "$WORK/late.jsonl" || fail "produce late event"
run_until_idle state g-lr run3.log
consume sales.lead-ratings 1000 >"$WORK/r2.jsonl"
fall=$(grep '"trigger_event_id":"late-1"' "$WORK/r2.jsonl")
[ -n "$fall" ] || fail "no re-rating when the storm had decayed"
grep -qE '"tier":"(C|D)"' <<<"$fall" || fail "tier did not fall: $fall"
pass "two years later the storm has decayed: $(grep -oE '"previous_tier":"[A-D]"' <<<"$fall") -> $(grep -oE '"tier":"[A-D]"' <<<"$fall")"
