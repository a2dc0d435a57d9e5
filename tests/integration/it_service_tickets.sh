#!/usr/bin/env bash
# The service-ticket template through Kafka (issue 25): DEVICE registry
# changes put two presses on line 2, an opportunity (JSON with the new
# OpportunityUpdate.device_line) covers line 1 only, and repair tickets
# and a downtime pile up on line 2: one CoachingAlert to the account's rep
# per line and window, and the LeadRerating names the template with its
# text. OpportunityUpdates feed only the template (processor_ops.
# inputs_of): lead_rating alone without it neither lists, subscribes to
# nor commits crm.opportunity-updates; with it, it does. Daemon runs on
# the mock (no Kafka semantics involved).
# brokers: mock
. "$(dirname "$0")/lib.sh"
EN="--set processors.lead_rating.service_tickets.enabled=true"
# A config without CoachingAlert's writer id (coaching and action_units
# off) still passes while the template is off, and is refused with it on.
mkdir "$WORK/old"
grep -v 'coaching_alert.avsc' "$CFG" >"$WORK/old/processor.yaml"
ln -s "$DS_SRC/schemas" "$WORK/old/schemas"
OFF="--set processors.coaching.enabled=false --set processors.action_units.enabled=false"
"$DS_BIN" check-config -c "$WORK/old/processor.yaml" $OFF >"$WORK/old.log" 2>&1 ||
  fail "an old config without CoachingAlert's id is refused: $(cat "$WORK/old.log")"
rc=0
"$DS_BIN" check-config -c "$WORK/old/processor.yaml" $OFF $EN >"$WORK/old.log" 2>&1 || rc=$?
[ $rc -eq 78 ] && grep -q "processor lead_rating writes topics.coaching_alerts" "$WORK/old.log" ||
  fail "template on without CoachingAlert's id: exit $rc, $(cat "$WORK/old.log")"
pass "without CoachingAlert's writer id, only the template on is refused"

role() { # role <topic key> [sets...]: its role in `dealstream topics`
  local key=$1; shift
  "$DS_BIN" topics -c "$CFG" "$@" | awk -F'\t' -v k="$key" '$1 == k { print $3 }'
}
r=$(role opportunity_updates $OFF)
[ "$r" = unread ] || fail "lead_rating alone, template off: opportunity_updates is '$r', want unread"
r=$(role opportunity_updates $OFF $EN)
[ "$r" = input ] || fail "lead_rating alone, template on: opportunity_updates is '$r', want input"
r=$(role iot_alerts $OFF)
[ "$r" = input ] || fail "lead_rating alone: iot_alerts is '$r', want input"
pass "topics: opportunity updates are read only with the template on"

start_broker 4
T=1793000000000
DAY=86400000
dev() { # dev <id> <device> <line>
  printf '{"event_id":"%s","customer_id":"plant-9","change_type":"CAPACITY_EXPANSION","entity_id":"%s","entity_type":"DEVICE","entity_name":null,"attributes":{"device_line":"%s"},"amount":null,"event_time":%d}\n' \
    "$1" "$2" "$3" $((T - 9 * DAY))
}
tick() { # tick <id> <device> <type> <day>
  printf '{"event_id":"%s","customer_id":"plant-9","device_id":"%s","alert_type":"%s","severity":"CRITICAL","count":1,"value":null,"event_time":%d}\n' \
    "$1" "$2" "$3" $((T + $4 * DAY))
}
{ dev d1 press-1 2; dev d2 press-2 2; dev d3 oven-1 1; } >"$WORK/reg.jsonl"
printf '{"event_id":"o1","customer_id":"plant-9","opportunity_id":"OPP-9","rep_id":"rep-li","industry":null,"stage_from":null,"stage_to":"proposal","amount":null,"device_line":"1","event_time":%d}\n' \
  $((T - 8 * DAY)) >"$WORK/opp.jsonl"
# Line 2: tickets on days 0, 4 (downtime), 9, 12 and 20 -> one alert (day
# 9); oven-1 on line 1, covered, tickets every day -> none.
{ tick i1 press-1 repair_ticket 0; tick i2 press-2 downtime 4; tick i3 press-1 repair_ticket 9
  tick i4 press-2 repair_ticket 12; tick i5 press-1 repair_ticket 20
  for d in 1 2 3 4 5; do tick "k$d" oven-1 repair_ticket $d; done; } >"$WORK/iot.jsonl"
produce ref.registry-changes "$WORK/reg.jsonl" || fail "produce registry"
produce crm.opportunity-updates "$WORK/opp.jsonl" || fail "produce opportunity (device_line)"
produce ops.iot-alerts "$WORK/iot.jsonl" || fail "produce iot"
# The next offset of every topic the state of any partition reflects.
offsets() { # offsets <state-dir-name>
  for p in 0 1 2 3; do
    "$DS_BIN" inspect -c "$CFG" $(sets "$1") --partition $p 2>/dev/null || true
  done
}
# lead_rating alone, template off: the opportunity update stays unread.
run_until_idle off g-off off.log $OFF
grep -q "consuming from" "$WORK/off.log" || fail "template-off run: $(cat "$WORK/off.log")"
o=$(offsets off)
grep -q '"ref.registry-changes":' <<<"$o" || fail "template off: registry not applied: $o"
grep -q '"ops.iot-alerts":' <<<"$o" || fail "template off: IoT not applied: $o"
! grep -q 'crm.opportunity-updates' <<<"$o" ||
  fail "template off: crm.opportunity-updates was read: $o"
pass "template off: lead_rating alone leaves crm.opportunity-updates unread"

# lead_rating alone, template on: it reads them (action_units, which
# reads them too, is off).
run_until_idle state g-st run.log $OFF $EN
o=$(offsets state)
grep -q '"crm.opportunity-updates": 1' <<<"$o" ||
  fail "template on: crm.opportunity-updates not committed: $o"
consume sales.coaching-alerts 100 --idle-exit 1500 >"$WORK/coaching.jsonl"
n=$(grep -c '"rule":"service_ticket"' "$WORK/coaching.jsonl" || true)
[ "$n" -eq 1 ] || fail "$n service_ticket alerts, want 1: $(cat "$WORK/coaching.jsonl")"
grep -q '"message":"1 downtime and 2 repair tickets on line 2 in 30 days; no open opportunity"' "$WORK/coaching.jsonl" ||
  fail "message: $(cat "$WORK/coaching.jsonl")"
grep -q '"rep_id":"rep-li"' "$WORK/coaching.jsonl" || fail "not to the account's rep"
grep -q '"evidence":\["press-1","press-2"\]' "$WORK/coaching.jsonl" || fail "evidence"
pass "three tickets on uncovered line 2: one CoachingAlert to rep-li; covered line 1 none"

consume sales.lead-ratings 100 --idle-exit 1500 >"$WORK/ratings.jsonl"
grep -q '"factor":"service.2.no_opportunity","node_type":"customer"' "$WORK/ratings.jsonl" ||
  fail "no re-rating names the template: $(cat "$WORK/ratings.jsonl")"
grep -q '"detail":"1 downtime and 2 repair tickets on line 2' "$WORK/ratings.jsonl" ||
  fail "the reason's detail: $(cat "$WORK/ratings.jsonl")"
pass "the LeadRerating names service.2.no_opportunity with the alert's text"

# Switched on live while action_units (shipped: on) keeps
# crm.opportunity-updates subscribed: the reload applies, and from then on
# lead_rating is handed the opportunity updates too (the account's rep
# comes from one). The refusal where lead_rating alone would add the
# topic is test_reload's.
command -v curl >/dev/null || fail "curl missing (scripts/dev deps)"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
cp "$CFG" "$WORK/old/live.yaml"
"$DS_BIN" run -c "$WORK/old/live.yaml" $(sets live g-live) --set http.listen=127.0.0.1:$PORT \
  --set http.reload=true --set state.batch_interval=100ms >"$WORK/live.log" 2>&1 &
DAEMON=$!
PIDS+=($DAEMON)
wait_for 30 curl -fs -o /dev/null "$URL/readyz" || fail "live daemon never ready"
consumed() { # consumed <topic> <n>
  [ "$(curl -s "$URL/metrics" | awk -v s="dealstream_records_consumed_total{topic=\"$(topic "$1")\"}" '$1 == s { print $2 }')" = "$2" ]
}
wait_for 30 consumed ops.iot-alerts 10 || fail "live daemon did not read the first records"
sed -i 's/^      enabled: false        # off: it adds alerts and moves ratings$/      enabled: true/' "$WORK/old/live.yaml"
grep -q '^      enabled: true$' "$WORK/old/live.yaml" || fail "the test's edit did not apply"
code=$(curl -s -o "$WORK/r.json" -w '%{http_code}' -X POST "$URL/-/reload")
[ "$code" = 200 ] && grep -q 'processors.lead_rating.service_tickets.enabled' "$WORK/r.json" ||
  fail "live switch: $code $(cat "$WORK/r.json")"
printf '{"event_id":"r1","customer_id":"plant-r","change_type":"CAPACITY_EXPANSION","entity_id":"lathe-1","entity_type":"DEVICE","entity_name":null,"attributes":{"device_line":"2"},"amount":null,"event_time":%d}\n' \
  $((T - 9 * DAY)) >"$WORK/reg-r.jsonl"
printf '{"event_id":"o2","customer_id":"plant-r","opportunity_id":"OPP-R","rep_id":"rep-ro","industry":null,"stage_from":null,"stage_to":"proposal","amount":null,"device_line":"7","event_time":%d}\n' \
  $((T - 8 * DAY)) >"$WORK/opp-r.jsonl"
produce ref.registry-changes "$WORK/reg-r.jsonl" || fail "produce registry (live)"
produce crm.opportunity-updates "$WORK/opp-r.jsonl" || fail "produce opportunity (live)"
wait_for 30 consumed crm.opportunity-updates 2 || fail "live: opportunity not read"
{ tick j1 lathe-1 repair_ticket 0; tick j2 lathe-1 repair_ticket 1; tick j3 lathe-1 repair_ticket 2; } |
  sed 's/"plant-9"/"plant-r"/' >"$WORK/iot-r.jsonl"
produce ops.iot-alerts "$WORK/iot-r.jsonl" || fail "produce iot (live)"
wait_for 30 eval 'consume sales.coaching-alerts 100 --idle-exit 1000 | grep "\"customer_id\":\"plant-r\"" >"$WORK/live-alerts.jsonl"' ||
  fail "live: no CoachingAlert for plant-r"
n=$(grep -c '"rule":"service_ticket"' "$WORK/live-alerts.jsonl" || true)
[ "$n" -eq 1 ] && grep -q '"rep_id":"rep-ro"' "$WORK/live-alerts.jsonl" ||
  fail "live: want one service_ticket alert to rep-ro (from the opportunity update): $(cat "$WORK/live-alerts.jsonl")"
pass "switched on live beside action_units: applied; lead_rating now reads the opportunity updates (alert to rep-ro)"
kill -TERM "$DAEMON"
wait "$DAEMON" || fail "live daemon: exit $?"
