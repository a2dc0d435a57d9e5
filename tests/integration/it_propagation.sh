#!/usr/bin/env bash
# Cross-customer propagation through Kafka (issue 25): a competitor's price
# cut reaches exactly the customers linked to it, through the entity index
# and the repartition topic, with a restart between the links and the news;
# unlinking stops it; propagation.max_fanout holds and is counted. Two
# daemon runs (~15 s: the mock's group rejoin takes most of it). The
# mock broker is enough: no compaction or transactions are involved.
# brokers: mock
. "$(dirname "$0")/lib.sh"
EN="--set processors.propagation.enabled=true"
G=g-pg
"$DS_BIN" dev-kafka -c "$CFG" --set kafka.group_id=$G $EN --partitions 2 \
  --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
PIDS+=($!)
wait_for 60 test -s "$WORK/bootstrap" || fail "dev-kafka did not write its bootstrap file"
BROKERS=$(cat "$WORK/bootstrap")

run() { # run <log> [args]: until idle for 1 s (records loop back through
        # the repartition topic within milliseconds on the mock)
  "$DS_BIN" run -c "$CFG" $(sets state $G) $EN --exit-when-idle 1000 "${@:2}" \
    >"$WORK/$1" 2>&1 || fail "daemon exited non-zero (see $1)"
}
reg() { # reg <id> <customer> <change> <entity> <time>
  printf '{"event_id":"%s","customer_id":"%s","change_type":"%s","entity_id":"%s","entity_type":"COMPETITOR","entity_name":null,"attributes":{},"amount":null,"event_time":%d}\n' "$@"
}
news() { # news <id> <entity> <time>
  printf '{"event_id":"%s","entity_id":"%s","entity_type":"COMPETITOR","change":"PRICE_CUT","magnitude":0.15,"title":"Price cut of 15%%","attributes":{},"event_time":%d}\n' "$@"
}
T=1793000000000
signals() { # signals <customer>: how many price-cut signals its graph took
  "$DS_BIN" inspect -c "$CFG" $(sets state $G) --customer "$1" 2>/dev/null |
    tr -d '\n ' | grep -oE '"type":"entity.COMPETITOR.PRICE_CUT"[^}]*"count":[0-9]+' |
    grep -oE '[0-9]+$' || echo 0
}
inbox() { # inbox <customer>: how many signals propagation delivered to it
  "$DS_BIN" inspect -c "$CFG" $(sets state $G) --customer "$1" 2>/dev/null |
    grep -oE '"propagated_total": [0-9]+' | grep -oE '[0-9]+$' || echo 0
}

# c1, c2 link the rival, c3 another competitor, c4 links and unlinks; a
# giant competitor is linked by g1..g3.
{ reg r1 c1 COMPETITOR_LINKED rival $T; reg r2 c2 COMPETITOR_LINKED rival $T
  reg r3 c3 COMPETITOR_LINKED other $T; reg r4 c4 COMPETITOR_LINKED rival $T
  reg r5 c4 RELATION_REMOVED rival $((T + 1))
  for g in 1 2 3; do reg g$g g$g COMPETITOR_LINKED giant $T; done; } >"$WORK/links.jsonl"
produce ref.registry-changes "$WORK/links.jsonl" || fail "produce links"
run run1.log
"$DS_BIN" inspect -c "$CFG" $(sets state $G) --entity rival >"$WORK/rival.json" ||
  fail "no index for rival"
grep -q '"linked_customers": 2' "$WORK/rival.json" || fail "rival's index: $(cat "$WORK/rival.json")"

# Restarted, with max_fanout 2: the news arrives.
{ news n1 rival $((T + 1000)); news n2 giant $((T + 1000)); } >"$WORK/news.jsonl"
produce ref.entity-events "$WORK/news.jsonl" || fail "produce news"
run run2.log --set processors.propagation.max_fanout=2
got="$(signals c1) $(signals c2) $(signals c3) $(signals c4)"
[ "$got" = "1 1 0 0" ] || fail "price-cut signals of c1..c4: $got, want 1 1 0 0"
"$DS_BIN" inspect -c "$CFG" $(sets state $G) --customer c1 | tr -d '\n ' |
  grep -q '"from_entity":"rival","relation":"COMPETITOR_LINKED","event_id":"n1"' ||
  fail "c1's inbox does not say where the signal came from"
pass "a competitor's price cut reached exactly its 2 linked customers (an unlinked one not), across a restart"

got="$(inbox g1) $(inbox g2) $(inbox g3)"
[ "$got" = "1 1 0" ] || fail "giant's news with max_fanout 2 reached g1 g2 g3: $got, want 1 1 0"
"$DS_BIN" inspect -c "$CFG" $(sets state $G) --entity giant | grep -q '"fanout_capped": 1' ||
  fail "the capped fan-out was not counted"
pass "max_fanout 2 of 3 linked customers held and was counted"
