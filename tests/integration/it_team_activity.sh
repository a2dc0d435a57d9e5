#!/usr/bin/env bash
# State keyed by team, through Kafka: opportunity updates (keyed by
# customer) reach their rep's team from ref.reps (keyed by rep) over the
# repartition topic, which the daemon creates with the inputs' partition
# count. Counted exactly once, also across a kill -9 mid-stream.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
EN="--set processors.team_activity.enabled=true"
if [ "$DS_BROKER" = real ]; then
  # The topics of the default processors with 4 partitions, then ref.reps,
  # which only team_activity reads; the daemon's start creates the
  # repartition topic with as many partitions, through the admin API.
  start_broker 4
  "$DS_BIN" create-topics -c "$CFG" $(sets) $EN --set kafka.topic_partitions=4 \
    >>"$WORK/create-topics.log" 2>&1 || fail "create-topics: $(tail -3 "$WORK/create-topics.log")"
else
  # dev-kafka makes the config's topics, the repartition topic of the
  # group's enabled processors among them (the mock has no admin API).
  "$DS_BIN" dev-kafka -c "$CFG" --set kafka.group_id=g-ta $EN --partitions 4 \
    --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
  PIDS+=($!)
  wait_for 60 test -s "$WORK/bootstrap" || fail "dev-kafka did not write its bootstrap file"
  BROKERS=$(cat "$WORK/bootstrap")
  # Every topic the config names, its repartition topic among them
  # (counted, so that a topic added to the contract does not break this).
  NT=$("$DS_BIN" topics -c "$CFG" --set kafka.group_id=g-ta $EN | wc -l)
  grep -q "$NT topics x 4 partitions" "$WORK/broker.log" ||
    fail "dev-kafka did not make the repartition topic: $(cat "$WORK/broker.log")"
fi
N=1500

# Reps 1-6 in two teams; rep-7 is in no team.
for r in 1 2 3 4 5 6; do
  team=north; [ $r -gt 3 ] && team=south
  printf '{"rep_id":"rep-%d","name":"Rep %d","team_id":"%s","manager_id":"boss-%s","time_zone":"Europe/Berlin","event_time":1793000000000}\n' \
    $r $r $team $team
done >"$WORK/reps.jsonl"
produce ref.reps "$WORK/reps.jsonl" || fail "produce ref.reps"

# Update i: customer i%50, rep i%7+1, won when i%5==0 with amount i.
gen() { # gen <from> <to>
  for i in $(seq "$1" "$2"); do
    stage=proposal; amount=null
    [ $((i % 5)) -eq 0 ] && { stage=closed_won; amount="$i.0"; }
    printf '{"event_id":"u-%d","customer_id":"cust-%d","opportunity_id":"o-%d","rep_id":"rep-%d","industry":null,"stage_from":null,"stage_to":"%s","amount":%s,"event_time":%d}\n' \
      "$i" $((i % 50)) "$i" $((i % 7 + 1)) "$stage" "$amount" $((1793000000000 + i))
  done
}
# What each team must show: updates, won, won_amount.
expect() { # expect <team> <to>
  awk -v team="$1" -v n="$2" 'BEGIN {
    for (i = 1; i <= n; i++) {
      r = i % 7 + 1; t = r <= 3 ? "north" : r <= 6 ? "south" : "rep-7";
      if (t != team) continue;
      u++; if (i % 5 == 0) { w++; a += i } }
    printf "\"updates\": %d,\n  \"won\": %d,\n  \"won_amount\": %d,", u, w, a }'
}
check() { # check <state-dir> <to>
  for team in north south; do
    "$DS_BIN" inspect -c "$CFG" $(sets "$1") --customer "$team" >"$WORK/$team.json" 2>/dev/null ||
      fail "no state for team $team"
    want=$(expect $team "$2")
    got=$(tr -d '\n' <"$WORK/$team.json" | grep -oE '"updates": [0-9]+,\s*"won": [0-9]+,\s*"won_amount": [0-9.e+]+' |
      sed -E 's/\s+/ /g; s/\.0$//')
    want=$(tr -d '\n' <<<"$want" | sed -E 's/\s+/ /g; s/,$//')
    [ "$got" = "$want" ] || fail "team $team after $2 updates: got '$got', want '$want'"
  done
  # rep-7 is in no team: its updates wait in its state.
  "$DS_BIN" inspect -c "$CFG" $(sets "$1") --customer rep-7 >"$WORK/rep-7.json" 2>/dev/null ||
    fail "no state for rep-7"
  want=$(expect rep-7 "$2" | grep -oE '"updates": [0-9]+')
  tr -d '\n' <"$WORK/rep-7.json" | grep -q "\"pending\": {\s*$want" ||
    fail "rep-7 does not hold its $want pending: $(cat "$WORK/rep-7.json")"
}

gen 1 $N >"$WORK/first.jsonl"
produce crm.opportunity-updates "$WORK/first.jsonl" || fail "produce updates"
run_until_idle state g-ta run1.log $EN
check state $N
pass "$N updates counted per team through ref.reps and the repartition topic"

parts=$(consume g-ta-team_activity-repartition 100000 --envelope |
  grep -oE '"partition": ?[0-9]+' | sort -u | wc -l)
[ "$parts" -eq 4 ] || fail "repartition records went to $parts partitions, not 4"
pass "repartition records spread over the topic's 4 partitions"

# kill -9 mid-stream with large batches, then restart: counted once.
gen $((N + 1)) $((3 * N)) >"$WORK/second.jsonl"
produce crm.opportunity-updates "$WORK/second.jsonl" || fail "produce more updates"
crash_mid_stream state g-ta crash.log $EN
run_until_idle state g-ta run2.log $EN
check state $((3 * N))
pass "killed -9 mid-stream and restarted: every update counted exactly once"
