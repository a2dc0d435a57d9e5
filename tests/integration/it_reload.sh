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

PORT=$(free_port)
URL=http://127.0.0.1:$PORT

cp "$CFG" "$WORK/p.yaml"
ln -s "$DS_SRC/schemas" "$WORK/schemas"
DARGS=($(sets state g-reload) --set http.listen=127.0.0.1:$PORT
       --set http.reload=true --set state.batch_interval=100ms)
"$DS_BIN" run -c "$WORK/p.yaml" "${DARGS[@]}" >"$WORK/daemon.log" 2>&1 &
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
# (Records of two partitions: the consumer's order between them is not
# the order they were made in; look for them by customer.)
wait_for 20 ratings 2 && grep -q '"customer_id":"R3"' "$WORK/ratings.jsonl" ||
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
[ "$(grep -c '"customer_id":"R4"' "$WORK/ratings.jsonl")" = 1 ] &&
  grep '"customer_id":"R4"' "$WORK/ratings.jsonl" | grep -q '"trigger_event_id":"rl-R4b"' ||
  fail "R4 re-rated by its weak event: $(grep '"customer_id":"R4"' "$WORK/ratings.jsonl")"
pass "POST /-/reload back to c=20: 200; R4's weak event is not re-rated, its strong one is"

# Under load: 2200 customers, one event each; 2000 of them while the file flips
# between two rule sets and SIGHUP follows every flip. A raises the cut
# (c 3, CRITICAL weight 15), B the weight too (30): every customer is
# re-rated once, and its score says which weights rated it. Each alert
# names its config in the dealstream.config header: all alerts of one
# config must carry the same score, and the two scores differ - an alert
# made with half of a reload would break one of the two.
sed 's/^      c: 20$/      c: 3/; s/^      hysteresis: 5$/      hysteresis: 1/' "$CFG" >"$WORK/A.yaml"
sed 's/^\(      iot.vibration_anomaly.CRITICAL: {weight: \)15,/\130,/' "$WORK/A.yaml" >"$WORK/B.yaml"
cmp -s "$WORK/A.yaml" "$WORK/B.yaml" && fail "the test's edit of B did not apply"
digest() { "$DS_BIN" check-config -c "$1" "${DARGS[@]}" | sed -n 's/.*(config \([0-9a-f]*\))$/\1/p'; }
DA=$(digest "$WORK/A.yaml"); DB=$(digest "$WORK/B.yaml")
[ -n "$DA" ] && [ -n "$DB" ] && [ "$DA" != "$DB" ] || fail "digests: '$DA' '$DB'"
ok0=$(metric 'dealstream_config_reloads_total{result="ok"}')
load_chunk() { # load_chunk <first> <count>: one event each for L<first>...
  for i in $(seq "$1" $(($1 + $2 - 1))); do
    printf '{"event_id":"ld-%d","customer_id":"L%d","device_id":"D1","alert_type":"vibration_anomaly","severity":"CRITICAL","count":1,"value":null,"event_time":1767225600000}\n' "$i" "$i"
  done >"$WORK/load-$1.jsonl"
  produce ops.iot-alerts "$WORK/load-$1.jsonl"
}
use() { # use A|B: the whole file at once, for SIGHUP or POST
  cp "$WORK/$1.yaml" "$WORK/next.yaml"
  mv -f "$WORK/next.yaml" "$WORK/p.yaml"
}
post_reload() {
  [ "$(curl -s -o "$WORK/r.json" -w '%{http_code}' -X POST "$URL/-/reload")" = 200 ] ||
    fail "POST /-/reload: $(cat "$WORK/r.json")"
}
# B for sure: its first 100 customers are applied before any flip.
use B; post_reload
load_chunk 0 100 || fail "producing"
wait_for 30 consumed 105 || fail "first load chunk not consumed"
# The flips, while 2000 records arrive and are applied.
for chunk in $(seq 0 7); do
  load_chunk $((100 + chunk * 250)) 250 &
  PRODUCER=$!
  while kill -0 $PRODUCER 2>/dev/null; do
    use A; kill -HUP "$DAEMON"; sleep 0.03
    use B; kill -HUP "$DAEMON"; sleep 0.03
  done
  wait $PRODUCER || fail "producing chunk $chunk"
done
# A for sure: POST returns once it is swapped in; the last 100 come after.
use A; post_reload
load_chunk 2100 100 || fail "producing"
L=2200
wait_for 60 consumed $((L + 5)) || fail "load not consumed: $(metric "dealstream_records_consumed_total{topic=\"$T\"}")"
wait_for 30 ratings $((L + 3)) || fail "not every customer re-rated: $(grep -c . "$WORK/ratings.jsonl")"
consume sales.lead-ratings $((L + 3)) --envelope --idle-exit 1000 >"$WORK/env.jsonl"
python3 - "$WORK/env.jsonl" "$DA" "$DB" "$L" <<'PY' || fail "alerts and their configs disagree"
import json, sys
path, da, db, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
scores, seen = {}, set()
for line in open(path):
    r = json.loads(line)
    v = r["value"]
    if not v["customer_id"].startswith("L"):
        continue
    cfg = r["headers"].get("dealstream.config")
    if cfg not in (da, db):
        sys.exit(f"alert for {v['customer_id']} names config {cfg}, neither A {da} nor B {db}")
    seen.add(v["customer_id"])
    scores.setdefault(cfg, set()).add(round(v["score"], 6))
if len(seen) != n:
    sys.exit(f"{len(seen)} customers re-rated, want {n}")
for cfg, s in scores.items():
    if len(s) != 1:
        sys.exit(f"config {cfg}: scores {sorted(s)}: rules of more than one config")
if len(scores) != 2 or scores[da] == scores[db]:
    sys.exit(f"not both configs at work during the load: {scores}")
print(f"A {da}: score {scores[da]}, B {db}: score {scores[db]}")
PY
ok1=$(metric 'dealstream_config_reloads_total{result="ok"}')
[ "$(metric 'dealstream_config_reloads_total{result="error"}')" = 1 ] ||
  fail "a reload under load failed: $(grep 'reload:' "$WORK/daemon.log" | grep -v applied | tail -3)"
pass "under load: $((ok1 - ok0)) reloads flipping two rule sets; each of $L alerts carries one whole config (score agrees with its dealstream.config)"

kill -0 "$DAEMON" || fail "daemon gone"
[ "$(grep -c "starting with" "$WORK/daemon.log")" = 1 ] || fail "the daemon restarted"
kill -TERM "$DAEMON"
set +e
wait "$DAEMON"; rc=$?
set -e
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc"
pass "one process throughout; clean stop"
