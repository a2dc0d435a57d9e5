#!/usr/bin/env bash
# Live reload: a threshold changed in the file takes effect on the next
# record without a restart (SIGHUP), a file changing keys that cannot
# change live is refused naming them, a broken file keeps the running
# config (POST /-/reload answers with the outcome), and changing the
# threshold back applies too. Counted in dealstream_config_reloads_total.
# brokers: mock
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl missing (scripts/dev deps)"
start_broker 2

for _ in $(seq 50); do
  PORT=$((20000 + RANDOM % 30000))
  (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || break
done
URL=http://127.0.0.1:$PORT

cp "$CFG" "$WORK/p.yaml"
ln -s "$DS_SRC/schemas" "$WORK/schemas"
"$DS_BIN" run -c "$WORK/p.yaml" $(sets state g-reload) \
  --set http.listen=127.0.0.1:$PORT --set http.reload=true \
  --set state.batch_interval=100ms >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=($DAEMON)
wait_for 30 curl -fs -o /dev/null "$URL/readyz" || fail "never ready"

T=$(topic ops.iot-alerts)
metric() { curl -s "$URL/metrics" | awk -v s="$1" '$1 == s { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
consumed() { metric_is "dealstream_records_consumed_total{topic=\"$T\"}" "$1"; }
reloads_are() { # ok error refused
  metric_is 'dealstream_config_reloads_total{result="ok"}' "$1" &&
    metric_is 'dealstream_config_reloads_total{result="error"}' "$2" &&
    metric_is 'dealstream_config_reloads_total{result="refused"}' "$3"
}
# One CRITICAL vibration alert: a lead score of about 6, tier D under the
# shipped cuts (C from 20), tier C once c is 3.
# With count 10 the score is about 26: C under either cut.
event() { # event <customer> [event id suffix] [count]
  printf '{"event_id":"rl-%s%s","customer_id":"%s","device_id":"D1","alert_type":"vibration_anomaly","severity":"CRITICAL","count":%d,"value":null,"event_time":1767225600000}\n' "$1" "${2:-}" "$1" "${3:-1}" >"$WORK/ev.jsonl"
  produce ops.iot-alerts "$WORK/ev.jsonl" || fail "producing for $1"
}
ratings() { # ratings <n>: the first n re-ratings, once there are n
  consume sales.lead-ratings "$1" --idle-exit 1000 >"$WORK/ratings.jsonl"
  [ "$(grep -c . "$WORK/ratings.jsonl")" -ge "$1" ]
}

reloads_are 0 0 0 || fail "reload counters not at 0: $(curl -s "$URL/metrics" | grep reloads)"
event R1
wait_for 30 consumed 1 || fail "R1 not consumed"
pass "R1 applied under the shipped tiers"

# The threshold: tiers.c 20 -> 3 (hysteresis 5 -> 1 so that the cuts stay valid).
sed -i 's/^      c: 20$/      c: 3/; s/^      hysteresis: 5$/      hysteresis: 1/' "$WORK/p.yaml"
grep -q '^      c: 3$' "$WORK/p.yaml" || fail "the test's edit did not apply"
kill -HUP "$DAEMON"
wait_for 10 reloads_are 1 0 0 || fail "SIGHUP reload not counted ok"
grep -q "reload: .*p.yaml: applied, 2 keys changed: processors.lead_rating.tiers.c, processors.lead_rating.tiers.hysteresis" \
  "$WORK/daemon.log" || fail "no applied line naming the keys: $(grep reload "$WORK/daemon.log")"
event R2
wait_for 30 consumed 2 || fail "R2 not consumed"
wait_for 20 ratings 1 || fail "no re-rating after the reload"
grep -q '"customer_id":"R1"' "$WORK/ratings.jsonl" && fail "R1 re-rated: it was applied before the reload"
[ "$(grep -c '"customer_id":"R2"' "$WORK/ratings.jsonl")" = 1 ] &&
  grep '"customer_id":"R2"' "$WORK/ratings.jsonl" | grep -q '"tier":"C"' ||
  fail "R2 not rated C under the new cut: $(cat "$WORK/ratings.jsonl")"
wait_for 5 eval '[ "$(metric dealstream_event_to_alert_seconds_count)" = 1 ]' ||
  fail "event-to-alert latency: count $(metric dealstream_event_to_alert_seconds_count), want 1"
pass "SIGHUP: tiers.c 20 -> 3 applied live; the next record (R2) is rated C, R1 was not"

# Keys that cannot change live: refused as a whole, naming them.
cp "$WORK/p.yaml" "$WORK/good.yaml"
sed -i 's/^  dlq: dealstream.dlq$/  dlq: elsewhere.dlq/; s/^      c: 3$/      c: 4/' "$WORK/p.yaml"
sed -i 's/^kafka:$/kafka:\n  topic_partitions: 6/' "$WORK/p.yaml"
code=$(curl -s -o "$WORK/r.json" -w '%{http_code}' -X POST "$URL/-/reload")
[ "$code" = 409 ] && grep -q '"result":"refused"' "$WORK/r.json" &&
  grep -q 'kafka.topic_partitions, topics.dlq' "$WORK/r.json" ||
  fail "refused reload: $code $(cat "$WORK/r.json")"
[ "$(grep -c "reload: .*refused, 2 keys cannot change without a restart: kafka.topic_partitions, topics.dlq; the running config is kept" "$WORK/daemon.log")" = 1 ] ||
  fail "not one line naming the fixed keys: $(grep reload "$WORK/daemon.log")"
wait_for 5 reloads_are 1 0 1 || fail "refused reload not counted"
pass "POST /-/reload, kafka.topic_partitions and topics.dlq changed: 409, one line names both"

# A broken file: every error with file:line:col, nothing applied.
cp "$WORK/good.yaml" "$WORK/p.yaml"
sed -i 's/^      c: 3$/      c: banana/' "$WORK/p.yaml"
printf 'http:\n  lisen: x\n' >>"$WORK/p.yaml"
code=$(curl -s -o "$WORK/r.json" -w '%{http_code}' -X POST "$URL/-/reload")
[ "$code" = 422 ] && grep -q '"result":"error"' "$WORK/r.json" ||
  fail "broken reload: $code $(cat "$WORK/r.json")"
grep -qE "p.yaml:[0-9]+:[0-9]+: processors.lead_rating.tiers.c" "$WORK/daemon.log" ||
  fail "no file:line:col for tiers.c: $(grep config "$WORK/daemon.log" | tail -5)"
grep -qE "p.yaml:[0-9]+:[0-9]+: .*lisen" "$WORK/daemon.log" || fail "not every error logged"
wait_for 5 reloads_are 1 1 1 || fail "broken reload not counted"
event R3
wait_for 30 consumed 3 || fail "R3 not consumed"
wait_for 20 ratings 2 && tail -1 "$WORK/ratings.jsonl" | grep -q '"customer_id":"R3"' ||
  fail "R3 not rated: the refused and broken files must have left c at 3"
pass "POST /-/reload, broken file: 422, errors with file:line:col, c stays 3 (R3 rated C)"

# Back to the shipped cuts: applied, and the next record is not re-rated.
cp "$CFG" "$WORK/p.yaml"
code=$(curl -s -o "$WORK/r.json" -w '%{http_code}' -X POST "$URL/-/reload")
[ "$code" = 200 ] && grep -q '"result":"ok"' "$WORK/r.json" ||
  fail "reload back: $code $(cat "$WORK/r.json")"
wait_for 5 reloads_are 2 1 1 || fail "second good reload not counted"
# R4 twice, in one partition: the weak event (score ~6) is not re-rated
# under c=20, the strong one (~26) is. Under c=3 the weak one would be.
event R4 a 1
event R4 b 10
wait_for 20 ratings 3 || fail "R4's strong event not re-rated"
tail -1 "$WORK/ratings.jsonl" | grep -q '"trigger_event_id":"rl-R4b"' ||
  fail "R4 re-rated by its weak event: $(tail -1 "$WORK/ratings.jsonl")"
pass "POST /-/reload back to c=20: 200; R4's weak event is not re-rated, its strong one is"

kill -0 "$DAEMON" || fail "daemon gone"
[ "$(grep -c "starting with" "$WORK/daemon.log")" = 1 ] || fail "the daemon restarted"
kill -TERM "$DAEMON"
set +e
wait "$DAEMON"; rc=$?
set -e
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc"
pass "one process throughout; clean stop"
