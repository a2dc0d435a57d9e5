#!/usr/bin/env bash
# Orchestration through Kafka (issue 24), the article's example: a customer
# asks for multi-currency settlement; legal, engineering and finance get a
# work item each. A kill -9 before the first batch is committed makes the
# restart apply it again: the same three ids, no new ones. Then legal's
# item is DONE in time, engineering's and finance's turn OVERDUE once
# (stream time) with a coaching alert to the rep, repeating the need
# creates nothing, an update for an unknown item goes to the DLQ, and
# legal's response time reaches its department's state through the
# repartition topic. Legal consumes its own topic
# (orchestration.departments.legal.topic): its items go there, the others
# to ops.work-items. A coaching alert (the customer names a competitor)
# fires a trigger on its category: marketing's item, on marketing's topic,
# has the coaching alert as its triggering event. /metrics carries legal's
# response time by department, and passes promtool.
# brokers: mock
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null ||
  fail "promtool missing: the Debian package prometheus (scripts/dev deps test)"
EN="--set processors.orchestration.enabled=true --set processors.orchestration.departments.legal.topic=$(topic ops.legal-items)
 --set processors.orchestration.departments.marketing.topic=$(topic ops.marketing-items)
 --set processors.orchestration.triggers.competitor.categories=[COMPETITOR_MENTION]"
EN_ITEMS='processors.orchestration.triggers.competitor.work_items=[{department: marketing, sla: 1h, task: "Battle card for {customer_id}"}]'
# The task has spaces: one argument, given apart from $EN's words.
# The mock auto-creates each group's repartition topic with 4 partitions,
# as many as dev-kafka gives the inputs.
"$DS_BIN" dev-kafka -c "$CFG" $EN --set "$EN_ITEMS" --partitions 4 \
  --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
PIDS+=($!)
wait_for 60 test -s "$WORK/bootstrap" || fail "dev-kafka did not write its bootstrap file"
BROKERS=$(cat "$WORK/bootstrap")
T0=1793700000000
MIN=60000

seg() { # seg <id> <customer> <role> <text> <minutes> [seq]
  printf '{"event_id":"%s","customer_id":"%s","meeting_id":"m-1","rep_id":"rep-1","seq":%d,"speaker_id":"x","speaker_role":"%s","start_ms":0,"end_ms":1,"text":"%s","phase":null,"is_final":false,"event_time":%d}\n' \
    "$1" "$2" "${6:-1}" "$3" "$4" $((T0 + $5 * MIN))
}
upd() { # upd <id> <work_item_id> <status> <minutes>
  printf '{"event_id":"%s","work_item_id":"%s","customer_id":"acme","status":"%s","by":"desk","note":null,"event_time":%d}\n' \
    "$1" "$2" "$3" $((T0 + $4 * MIN))
}
daemon() { # daemon <group> <log> [run args...]: sets DAEMON
  "$DS_BIN" run -c "$CFG" $(sets state "$1") $EN --set "$EN_ITEMS" "${@:3}" >"$WORK/$2" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}
distinct() { # distinct <field> <file>: how many values
  grep -oE "\"$1\":\"[0-9a-f]+\"" "$2" | sort -u | wc -l
}

{
  seg s1 acme REP "我们支持多币种结算。" 0
  seg s2 acme CUSTOMER "我们在东南亚的子公司需要多币种结算，能做吗？" 1
} >"$WORK/t1.jsonl"
# A batch (a write-back checkpoint) that will not be committed before the kill.
daemon g-or run1.log --set state.batch_interval=60s --set state.batch_max_events=100000 --set state.max_dirty_ms=60s
produce sales.transcripts "$WORK/t1.jsonl" || fail "produce transcripts"
consume ops.work-items 2 --idle-exit 10000 >"$WORK/created.jsonl"
consume ops.legal-items 1 --idle-exit 10000 >"$WORK/legal-created.jsonl"
grep -q '"department":"legal"' "$WORK/legal-created.jsonl" && ! grep -q legal "$WORK/created.jsonl" ||
  fail "legal's item is not (only) on ops.legal-items: $(cat "$WORK"/*created.jsonl)"
cat "$WORK/legal-created.jsonl" >>"$WORK/created.jsonl"
[ "$(grep -c '"status":"CREATED"' "$WORK/created.jsonl")" -eq 3 ] ||
  fail "want 3 CREATED work items: $(cat "$WORK/created.jsonl")"
wid() { grep "\"department\":\"$1\"" "$WORK/created.jsonl" | grep -oE '"work_item_id":"[0-9a-f]+"' | cut -d'"' -f4; }
for d in legal:1800000 engineering:3600000 finance:3600000; do
  line=$(grep "\"department\":\"${d%%:*}\"" "$WORK/created.jsonl") || fail "no ${d%%:*} item"
  grep -q "\"due_time\":$((T0 + MIN + ${d##*:}))" <<<"$line" || fail "${d%%:*}: wrong due time: $line"
  grep -q '"trigger_event_id":"s2"' <<<"$line" || fail "${d%%:*}: not from the customer's turn: $line"
done
pass "the customer's words: legal (30 min, on its own topic), engineering and finance (1 h) work items"

kill -9 $DAEMON
wait $DAEMON 2>/dev/null || true
# A new group on the same state (no wait for the killed member's session
# to expire): the offsets stored with the state say where to resume, here
# from the start. Each step waits for its outputs; the topics are not
# ordered against each other, so the updates go in before the later
# transcript, as they would in life.
PORT=$(free_port)
daemon g-or2 run2.log --set http.listen=127.0.0.1:$PORT
consume ops.work-items 4 --idle-exit 10000 >"$WORK/replayed.jsonl"
consume ops.legal-items 2 --idle-exit 10000 >>"$WORK/replayed.jsonl"
[ "$(wc -l <"$WORK/replayed.jsonl")" -eq 6 ] && [ "$(distinct alert_id "$WORK/replayed.jsonl")" -eq 3 ] ||
  fail "the restart did not send the same 3 records again: $(cat "$WORK/replayed.jsonl")"
pass "kill -9 before the commit: the restart sends the same 3 records again, no new id"

{
  upd u1 "$(wid legal)" DONE 20
  upd u2 "$(wid engineering)" ACKNOWLEDGED 30
  upd u3 nonexistent DONE 31
} >"$WORK/u.jsonl"
produce ops.work-item-updates "$WORK/u.jsonl" || fail "produce updates"
consume dealstream.dlq 1 --envelope --idle-exit 10000 >"$WORK/dlq.jsonl"
grep -q 'nonexistent' "$WORK/dlq.jsonl" || fail "the unknown item's update is not in the DLQ: $(cat "$WORK/dlq.jsonl")"
pass "an update for an unknown work item goes to the DLQ"
# Later in the meeting: the need again (no new items) and stream time past
# every due time.
{
  seg s3 acme CUSTOMER "multi-currency settlement is a must for us" 120
  seg s4 acme CUSTOMER "MediCore offered us a lower price" 121 5
} >"$WORK/t2.jsonl"
produce sales.transcripts "$WORK/t2.jsonl" || fail "produce transcripts"
consume ops.work-items 6 --idle-exit 10000 >"$WORK/items.jsonl"
[ "$(grep -c '"department":"legal"' "$WORK/items.jsonl")" -eq 0 ] || fail "legal's items on ops.work-items"
consume ops.legal-items 3 --idle-exit 10000 >>"$WORK/items.jsonl"
got=$(grep -oE '"department":"[a-z]+"|"status":"[A-Z]+"' "$WORK/items.jsonl" | paste -sd' ')
[ "$(distinct alert_id "$WORK/items.jsonl")" -eq 6 ] && [ "$(distinct work_item_id "$WORK/items.jsonl")" -eq 3 ] ||
  fail "want 6 distinct records of 3 work items: $got"
grep '"status":"DONE"' "$WORK/items.jsonl" | grep -q '"department":"legal"' || fail "legal not DONE: $got"
[ "$(grep '"status":"OVERDUE"' "$WORK/items.jsonl" | grep -c 'engineering\|finance')" -eq 2 ] ||
  fail "want engineering and finance OVERDUE: $got"
pass "legal DONE; engineering and finance OVERDUE once; the repeat made nothing"
consume sales.coaching-alerts 3 --idle-exit 10000 >"$WORK/coaching.jsonl"
[ "$(grep -c '"category":"WORK_ITEM_OVERDUE".*"severity":"RED"' "$WORK/coaching.jsonl")" -eq 2 ] ||
  fail "want 2 RED WORK_ITEM_OVERDUE alerts: $(cat "$WORK/coaching.jsonl")"
grep -q '"rep_id":"rep-1"' "$WORK/coaching.jsonl" || fail "not to the rep"
pass "two RED WORK_ITEM_OVERDUE coaching alerts to the rep"
consume ops.marketing-items 1 --idle-exit 10000 >"$WORK/marketing.jsonl"
cm=$(grep '"category":"COMPETITOR_MENTION"' "$WORK/coaching.jsonl" | grep -oE '"alert_id":"[0-9a-f]+"' | cut -d'"' -f4)
[ -n "$cm" ] || fail "no COMPETITOR_MENTION alert: $(cat "$WORK/coaching.jsonl")"
grep '"trigger":"competitor"' "$WORK/marketing.jsonl" | grep '"department":"marketing"' |
  grep -q "\"trigger_event_id\":\"$cm\"" ||
  fail "marketing's item is not from the coaching alert $cm: $(cat "$WORK/marketing.jsonl")"
pass "a COMPETITOR_MENTION coaching alert fires the category trigger: marketing's item on its own topic"

# State is written when a batch closes: polled.
acme_overdue() {
  "$DS_BIN" inspect -c "$CFG" $(sets) $EN --set "$EN_ITEMS" --customer acme 2>/dev/null | tr -d ' \n' >"$WORK/acme.json"
  [ "$(grep -o '"status":"OVERDUE"' "$WORK/acme.json" | wc -l)" -eq 2 ]
}
wait_for 10 acme_overdue || fail "inspect acme: $(cat "$WORK/acme.json")"
# legal answered in 19 minutes; its response time went to its partition
# through the repartition topic.
legal_done() {
  "$DS_BIN" inspect -c "$CFG" $(sets) $EN --set "$EN_ITEMS" --customer legal 2>/dev/null | tr -d ' \n' >"$WORK/legal.json"
  grep -q '"done":1,' "$WORK/legal.json" && grep -q '"median_response_hours":0.316' "$WORK/legal.json"
}
wait_for 10 legal_done || fail "inspect legal: $(cat "$WORK/legal.json")"
pass "inspect shows the items, and legal's response time (19 min) in its department's state"
# The same response time on /metrics (published about once a second);
# engineering, not DONE, has no series.
R=dealstream_work_item_response_seconds
legal_metric() {
  curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt"
  grep -qxF "${R}_count{department=\"legal\"} 1" "$WORK/metrics.txt"
}
wait_for 10 legal_metric || fail "/metrics: $(grep "^$R" "$WORK/metrics.txt")"
grep -qxF "${R}_sum{department=\"legal\"} 1140" "$WORK/metrics.txt" &&
  grep -qxF "${R}_bucket{department=\"legal\",le=\"900\"} 0" "$WORK/metrics.txt" &&
  grep -qxF "${R}_bucket{department=\"legal\",le=\"1800\"} 1" "$WORK/metrics.txt" ||
  fail "/metrics: legal's 19 min: $(grep "^$R" "$WORK/metrics.txt")"
grep -q "^${R}_count{department=\"engineering\"" "$WORK/metrics.txt" &&
  fail "/metrics: a response time for engineering, which is not DONE"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.log" 2>&1 ||
  fail "promtool: $(cat "$WORK/promtool.log")"
pass "/metrics: legal's response time (1140 s) by department; promtool check metrics clean"
