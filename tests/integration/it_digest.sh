#!/usr/bin/env bash
# The manager's daily digest through Kafka (issue 24). Two teams in two
# zones: team-a (Asia/Shanghai: rep-1, and rep-2 until 09:45) and team-b
# (Europe/Berlin: rep-3, and rep-2 from 09:45 Shanghai time). Four
# customers ask for multi-currency settlement at 09:00 Shanghai; by noon
# their twelve work items are OVERDUE, each with a RED WORK_ITEM_OVERDUE
# coaching alert, observed where it is raised (tier and amount attached
# there), re-keyed to the rep (the team as of the alert's time: rep-2's
# 09:31 alert is team-a's, its 10:01 ones team-b's), then to the team. A
# kill -9 before the first commit makes the restart raise them all again
# (same ids). Past each team's local midnight plus the grace, in every
# partition the alerts came from, each team's day closes: exactly one
# DailyDigest per team, its top 3 by the ranking rule, exact counts.
# brokers: mock
. "$(dirname "$0")/lib.sh"
EN="--set processors.orchestration.enabled=true --set processors.digest.enabled=true --set processing.idle_topic_ms=2000"
"$DS_BIN" dev-kafka -c "$CFG" $EN --partitions 4 \
  --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
PIDS+=($!)
wait_for 10 test -s "$WORK/bootstrap" || fail "dev-kafka did not write its bootstrap file"
BROKERS=$(cat "$WORK/bootstrap")
DAY=1772380800000 # 2026-03-02 00:00 Asia/Shanghai
HOUR=3600000
T0=$((DAY + 9 * HOUR))

daemon() { # daemon <group> <log> [run args...]: sets DAEMON
  "$DS_BIN" run -c "$CFG" $(sets state "$1") $EN "${@:3}" >"$WORK/$2" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}
seg() { # seg <id> <customer> <rep> <role> <text> <minutes> <seq>
  printf '{"event_id":"%s","customer_id":"%s","meeting_id":"m-%s","rep_id":"%s","seq":%d,"speaker_id":"x","speaker_role":"%s","start_ms":0,"end_ms":1,"text":"%s","phase":null,"is_final":false,"event_time":%d}\n' \
    "$1" "$2" "$2" "$3" "$7" "$4" "$5" $((T0 + $6 * 60000))
}
rep() { # rep <rep> <team> <manager> <zone> <time>
  printf '{"rep_id":"%s","name":"%s","team_id":"%s","manager_id":"%s","time_zone":"%s","event_time":%d}\n' \
    "$1" "$1" "$2" "$3" "$4" "$5"
}
opp() { # opp <customer> <rep> <amount>
  printf '{"event_id":"o-%s","customer_id":"%s","opportunity_id":"opp-%s","rep_id":"%s","industry":null,"stage_from":null,"stage_to":"discovery","amount":%s,"event_time":%d}\n' \
    "$1" "$1" "$1" "$2" "$3" $((T0 - HOUR))
}

{
  rep rep-1 team-a mgr-a Asia/Shanghai $((DAY - 48 * HOUR))
  rep rep-2 team-a mgr-a Asia/Shanghai $((DAY - 48 * HOUR))
  rep rep-2 team-b mgr-b Europe/Berlin $((T0 + 45 * 60000))
  rep rep-3 team-b mgr-b Europe/Berlin $((DAY - 48 * HOUR))
} >"$WORK/reps.jsonl"
{
  opp c-big rep-1 900000.0; opp c-mid rep-2 500000.0
  opp c-small rep-1 100000.0; opp c-eu rep-3 200000.0
} >"$WORK/opps.jsonl"
{
  seg n1 c-big rep-1 CUSTOMER "我们需要多币种结算" 0 1
  seg n2 c-mid rep-2 CUSTOMER "我们需要多币种结算" 1 1
  seg n3 c-small rep-1 CUSTOMER "我们需要多币种结算" 2 1
  seg n4 c-eu rep-3 CUSTOMER "we need multi-currency settlement" 3 1
  seg m1 c-big rep-1 REP "好的" 180 2
  seg m2 c-mid rep-2 REP "好的" 180 2
  seg m3 c-small rep-1 REP "好的" 180 2
  seg m4 c-eu rep-3 REP "ok" 180 2
} >"$WORK/day1.jsonl"

# A batch that will not be committed before the kill.
daemon g-dg run1.log --set state.batch_interval=60s --set state.batch_max_events=100000
produce ref.reps "$WORK/reps.jsonl" || fail "produce reps"
produce crm.opportunity-updates "$WORK/opps.jsonl" || fail "produce opportunities"
sleep 1 # the reps and amounts first, as a live system has them
produce sales.transcripts "$WORK/day1.jsonl" || fail "produce transcripts"
consume sales.coaching-alerts 12 --idle-exit 15000 >"$WORK/red1.jsonl"
[ "$(grep -c '"category":"WORK_ITEM_OVERDUE"' "$WORK/red1.jsonl")" -eq 12 ] ||
  fail "want 12 WORK_ITEM_OVERDUE alerts: $(cut -c1-200 "$WORK/red1.jsonl")"
pass "day 1: twelve work items OVERDUE, twelve RED coaching alerts"
kill -9 $DAEMON
wait $DAEMON 2>/dev/null || true

daemon g-dg2 run2.log
consume sales.coaching-alerts 24 --idle-exit 15000 >"$WORK/red2.jsonl"
[ "$(wc -l <"$WORK/red2.jsonl")" -eq 24 ] &&
  [ "$(grep -oE '"alert_id":"[0-9a-f]+"' "$WORK/red2.jsonl" | sort -u | wc -l)" -eq 12 ] ||
  fail "the restart did not raise the same 12 alerts again: $(wc -l <"$WORK/red2.jsonl")"
pass "kill -9 before the commit: the same 12 alerts raised again"
# Nothing before the day closes.
consume sales.daily-digest 1 --idle-exit 1500 >"$WORK/early.jsonl"
[ ! -s "$WORK/early.jsonl" ] || fail "a digest before the day closed: $(cat "$WORK/early.jsonl")"
# 09:00 Shanghai on day 2 (02:00 Berlin), in every partition the alerts
# came from: past both teams' midnight plus the grace.
{
  seg d1 c-big rep-1 REP "早" $((24 * 60)) 3
  seg d2 c-mid rep-2 REP "早" $((24 * 60)) 3
  seg d3 c-small rep-1 REP "早" $((24 * 60)) 3
  seg d4 c-eu rep-3 REP "morning" $((24 * 60)) 3
} >"$WORK/day2.jsonl"
produce sales.transcripts "$WORK/day2.jsonl" || fail "produce day 2"
consume sales.daily-digest 3 --idle-exit 3000 >"$WORK/digest.jsonl"
[ "$(wc -l <"$WORK/digest.jsonl")" -eq 2 ] || fail "want exactly two digests: $(cat "$WORK/digest.jsonl")"
a=$(grep '"team_id":"team-a"' "$WORK/digest.jsonl") || fail "no digest of team-a"
b=$(grep '"team_id":"team-b"' "$WORK/digest.jsonl") || fail "no digest of team-b"
for want in '"manager_id":"mgr-a"' '"day":"2026-03-02"' '"time_zone":"Asia/Shanghai"' \
  '"counts":{"WORK_ITEM_OVERDUE":7}' '"overdue_work_items":7' '"late_alerts":0'; do
  grep -qF "$want" <<<"$a" || fail "team-a's digest lacks $want: $a"
done
for want in '"manager_id":"mgr-b"' '"day":"2026-03-02"' '"time_zone":"Europe/Berlin"' \
  '"counts":{"WORK_ITEM_OVERDUE":5}' '"overdue_work_items":5' '"late_alerts":0'; do
  grep -qF "$want" <<<"$b" || fail "team-b's digest lacks $want: $b"
done
tops() { grep -oE '"customer_id":"c-[a-z]+"' | cut -d'"' -f4 | paste -sd' '; }
# team-a: c-big's three (the largest amount), legal's first (the oldest:
# due 09:30), then engineering's and finance's (10:00).
[ "$(tops <<<"$a")" = "c-big c-big c-big" ] || fail "team-a's top 3: $(tops <<<"$a"); $a"
grep -q '"why_ranked":"#1 of 7 RED' <<<"$a" || fail "no why_ranked: $a"
grep -oE '"message":"[^"]*"' <<<"$a" | head -1 | grep -q legal || fail "legal's item not first: $a"
# team-b: rep-2's two 10:01 items of c-mid (500k, after rep-2 moved), then
# c-eu's (200k) oldest; Berlin's local time in why_ranked.
[ "$(tops <<<"$b")" = "c-mid c-mid c-eu" ] || fail "team-b's top 3: $(tops <<<"$b"); $b"
grep -q '"why_ranked":"#1 of 5 RED: customer tier unknown, opportunity amount 500000, raised 03:01' <<<"$b" ||
  fail "team-b's why_ranked: $b"
pass "one digest per team and day: team-a (Shanghai) 7, team-b (Berlin) 5 with rep-2's move; top 3 by the rule"
