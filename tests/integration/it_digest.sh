#!/usr/bin/env bash
# The manager's daily digest through Kafka (issue 24). Three customers of
# one team (two reps, Asia/Shanghai) ask for multi-currency settlement at
# 09:00 local; by noon their nine work items are OVERDUE, each with a RED
# WORK_ITEM_OVERDUE coaching alert, observed where it is raised (tier and
# amount attached there), re-keyed to the rep, then to the team. A kill -9
# before the first commit makes the restart raise them all again (same
# ids). After midnight plus the grace in every partition the alerts came
# from, the team's day closes: exactly one DailyDigest, its top 3 by the
# ranking rule (the largest opportunity's customer first), counts of 9.
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
rep() { # rep <rep> <team>
  printf '{"rep_id":"%s","name":"%s","team_id":"%s","manager_id":"mgr-a","time_zone":"Asia/Shanghai","event_time":%d}\n' \
    "$1" "$1" "$2" $((DAY - 48 * HOUR))
}
opp() { # opp <customer> <rep> <amount>
  printf '{"event_id":"o-%s","customer_id":"%s","opportunity_id":"opp-%s","rep_id":"%s","industry":null,"stage_from":null,"stage_to":"discovery","amount":%s,"event_time":%d}\n' \
    "$1" "$1" "$1" "$2" "$3" $((T0 - HOUR))
}

{ rep rep-1 team-a; rep rep-2 team-a; } >"$WORK/reps.jsonl"
{ opp c-big rep-1 900000.0; opp c-mid rep-2 500000.0; opp c-small rep-1 100000.0; } >"$WORK/opps.jsonl"
{
  seg n1 c-big rep-1 CUSTOMER "我们需要多币种结算" 0 1
  seg n2 c-mid rep-2 CUSTOMER "我们需要多币种结算" 1 1
  seg n3 c-small rep-1 CUSTOMER "我们需要多币种结算" 2 1
  seg m1 c-big rep-1 REP "好的" 180 2
  seg m2 c-mid rep-2 REP "好的" 180 2
  seg m3 c-small rep-1 REP "好的" 180 2
} >"$WORK/day1.jsonl"

# A batch that will not be committed before the kill.
daemon g-dg run1.log --set state.batch_interval=60s --set state.batch_max_events=100000
produce ref.reps "$WORK/reps.jsonl" || fail "produce reps"
produce crm.opportunity-updates "$WORK/opps.jsonl" || fail "produce opportunities"
sleep 1 # the reps and amounts first, as a live system has them
produce sales.transcripts "$WORK/day1.jsonl" || fail "produce transcripts"
consume sales.coaching-alerts 9 --idle-exit 15000 >"$WORK/red1.jsonl"
[ "$(grep -c '"category":"WORK_ITEM_OVERDUE"' "$WORK/red1.jsonl")" -eq 9 ] ||
  fail "want 9 WORK_ITEM_OVERDUE alerts: $(cut -c1-200 "$WORK/red1.jsonl")"
pass "day 1: nine work items OVERDUE, nine RED coaching alerts"
kill -9 $DAEMON
wait $DAEMON 2>/dev/null || true

daemon g-dg2 run2.log
consume sales.coaching-alerts 18 --idle-exit 15000 >"$WORK/red2.jsonl"
[ "$(wc -l <"$WORK/red2.jsonl")" -eq 18 ] &&
  [ "$(grep -oE '"alert_id":"[0-9a-f]+"' "$WORK/red2.jsonl" | sort -u | wc -l)" -eq 9 ] ||
  fail "the restart did not raise the same 9 alerts again: $(wc -l <"$WORK/red2.jsonl")"
pass "kill -9 before the commit: the same 9 alerts raised again"
# Nothing before the day closes.
consume sales.daily-digest 1 --idle-exit 1500 >"$WORK/early.jsonl"
[ ! -s "$WORK/early.jsonl" ] || fail "a digest before the day closed: $(cat "$WORK/early.jsonl")"
# 02:00 local on day 2 in every partition the alerts came from.
{
  seg d1 c-big rep-1 REP "早" $((17 * 60)) 3
  seg d2 c-mid rep-2 REP "早" $((17 * 60)) 3
  seg d3 c-small rep-1 REP "早" $((17 * 60)) 3
} >"$WORK/day2.jsonl"
produce sales.transcripts "$WORK/day2.jsonl" || fail "produce day 2"
consume sales.daily-digest 2 --idle-exit 3000 >"$WORK/digest.jsonl"
[ "$(wc -l <"$WORK/digest.jsonl")" -eq 1 ] || fail "want exactly one digest: $(cat "$WORK/digest.jsonl")"
d=$(cat "$WORK/digest.jsonl")
for want in '"team_id":"team-a"' '"manager_id":"mgr-a"' '"day":"2026-03-02"' \
  '"time_zone":"Asia/Shanghai"' '"WORK_ITEM_OVERDUE":9' '"overdue_work_items":9' '"late_alerts":0'; do
  grep -qF "$want" <<<"$d" || fail "digest lacks $want: $d"
done
# The top 3: c-big's three items (the largest amount), legal's first (the
# oldest: due at 09:30), then engineering's and finance's (10:00).
top=$(grep -oE '"customer_id":"c-[a-z]+"' <<<"$d" | cut -d'"' -f4 | paste -sd' ')
[ "$top" = "c-big c-big c-big" ] || fail "top 3 customers: $top; digest: $d"
grep -q '"why_ranked":"#1 of 9 RED' <<<"$d" || fail "no why_ranked: $d"
first=$(grep -oE '"message":"[^"]*"' <<<"$d" | head -1)
grep -q legal <<<"$first" || fail "legal's item not first: $first"
pass "one digest for team-a's 2026-03-02: top 3 c-big (largest amount, oldest first), counts 9"
