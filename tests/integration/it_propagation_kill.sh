#!/usr/bin/env bash
# kill -9 mid-fan-out (issue 25): a supplier's bankruptcy linked to more
# customers than one batch holds fans out through the repartition topic
# while the daemon is killed twice: once before anything of the news is
# committed (the restart applies the news again and sends every signal a
# second time, beside the first copies still in the topic), once with
# some batches of the fan-out committed and a tail not. After a last run,
# every linked customer holds the signal exactly once and the re-rating
# alert ids are those of an uninterrupted run from the same state. The
# mock broker is enough: no compaction or transactions are involved.
# ~30 s: five daemon runs, each waiting ~3 s for the mock group's join.
# brokers: mock
. "$(dirname "$0")/lib.sh"
EN="--set processors.propagation.enabled=true"
# The member killed below leaves the group only by its session's end.
FAST="--set kafka.properties.session.timeout.ms=3000"
N=80    # linked customers; batches below hold 30 events
G=g-pk
"$DS_BIN" dev-kafka -c "$CFG" --set kafka.group_id=$G $EN --partitions 4 \
  --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
PIDS+=($!)
wait_for 60 test -s "$WORK/bootstrap" || fail "dev-kafka did not write its bootstrap file"
BROKERS=$(cat "$WORK/bootstrap")

run() { # run <state> <group> <log> [args]: until idle for 1 s
  "$DS_BIN" run -c "$CFG" $(sets "$1" "$2") $EN $FAST --exit-when-idle 1000 "${@:4}" \
    >"$WORK/$3" 2>&1 || fail "daemon exited non-zero (see $3)"
}
# The crash runs commit per batch (write-back off), so batch_max_events
# places the commits the kills fall between.
start() { # start <log> [args]: the crash runs, in the background; sets DAEMON
  "$DS_BIN" run -c "$CFG" $(sets crash $G) $EN $FAST \
    --set topics.lead_ratings=crash.lead-ratings --set state.max_dirty_ms=0 \
    --set state.batch_interval=60s "${@:2}" \
    >"$WORK/$1" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}
ratings() { # ratings <topic> <max> [idle ms]: the LeadRerating records there
  "$DS_BIN" consume -c "$CFG" $(sets) --topic "$1" --from-beginning --max "$2" \
    --idle-exit "${3:-10000}" 2>>"$WORK/consume.log"
}
reg() { # reg <id> <customer> <change> <entity> <entity_type> <time>
  printf '{"event_id":"%s","customer_id":"%s","change_type":"%s","entity_id":"%s","entity_type":"%s","entity_name":null,"attributes":{},"amount":null,"event_time":%d}\n' "$@"
}
T=1793000000000

# c1..cN: a capacity expansion (tier D, close to C) and a link to the
# supplier acme; x1 the same with another supplier.
for i in $(seq $N); do
  reg "e$i" "c$i" CAPACITY_EXPANSION "c$i" COMPANY $T
  reg "l$i" "c$i" SUPPLIER_LINKED acme SUPPLIER $T
done >"$WORK/links.jsonl"
{ reg ex x1 CAPACITY_EXPANSION x1 COMPANY $T; reg lx x1 SUPPLIER_LINKED other SUPPLIER $T; } >>"$WORK/links.jsonl"
produce ref.registry-changes "$WORK/links.jsonl" || fail "produce links"
run links g-links links.log
"$DS_BIN" inspect -c "$CFG" $(sets links) --entity acme >"$WORK/acme.json" || fail "no index for acme"
grep -q "\"linked_customers\": $N," "$WORK/acme.json" || fail "acme's index does not hold the $N links"
# The same state twice: one for the uninterrupted run, one for the crashes.
cp -r "$WORK/links" "$WORK/ref"
cp -r "$WORK/links" "$WORK/crash"

printf '{"event_id":"n1","entity_id":"acme","entity_type":"SUPPLIER","change":"BANKRUPTCY","magnitude":null,"title":"acme files for bankruptcy","attributes":{},"event_time":%d}\n' \
  $((T + 1000)) >"$WORK/news.jsonl"
produce ref.entity-events "$WORK/news.jsonl" || fail "produce news"

run ref g-ref ref.log --set topics.lead_ratings=ref.lead-ratings
ratings ref.lead-ratings 100000 1500 >"$WORK/ref.jsonl" # the run has ended
[ "$(grep -c '"trigger_event_id":"n1"' "$WORK/ref.jsonl")" -eq $N ] ||
  fail "uninterrupted: $(wc -l <"$WORK/ref.jsonl") re-ratings, want one per linked customer"

# Crash 1: nothing committed (one 60 s batch); killed once the fan-out has
# re-rated every customer.
start crash1.log --set state.batch_max_events=100000
ratings crash.lead-ratings $N >"$WORK/crash1.jsonl"
[ "$(wc -l <"$WORK/crash1.jsonl")" -eq $N ] || fail "crash run 1: $(wc -l <"$WORK/crash1.jsonl") re-ratings"
kill -9 $DAEMON
wait $DAEMON 2>/dev/null || true
# Crash 2: the news again (its copies follow the first ones), committed
# every 30 events; killed once the first copies are applied again, with
# the tail of the last batch uncommitted.
start crash2.log --set state.batch_max_events=30 --set log.level=debug
ratings crash.lead-ratings $((2 * N)) >"$WORK/crash2.jsonl"
[ "$(wc -l <"$WORK/crash2.jsonl")" -eq $((2 * N)) ] || fail "crash run 2: $(wc -l <"$WORK/crash2.jsonl") re-ratings"
kill -9 $DAEMON
wait $DAEMON 2>/dev/null || true
grep -qE "committed [0-9]+ events" "$WORK/crash2.log" || fail "crash run 2 committed no batch before the kill"
run crash $G final.log --set topics.lead_ratings=crash.lead-ratings
grep -qE 'stopped cleanly: events=[1-9]' "$WORK/final.log" ||
  fail "the kill left no uncommitted tail to apply again"
pass "killed -9 twice mid-fan-out of one news to $N customers (batches of 30), restarted"

for i in $(seq $N); do
  "$DS_BIN" inspect -c "$CFG" $(sets crash) --customer "c$i" | tr -d '\n ' >"$WORK/c.json"
  grep -qE '"type":"entity.SUPPLIER.BANKRUPTCY"[^}]*"count":1[,}]' "$WORK/c.json" ||
    fail "c$i's graph does not hold the bankruptcy exactly once: $(cat "$WORK/c.json")"
  grep -q '"propagated_total":1,' "$WORK/c.json" || fail "c$i's inbox: $(cat "$WORK/c.json")"
done
"$DS_BIN" inspect -c "$CFG" $(sets crash) --customer x1 >"$WORK/x1.json" || fail "no state for x1"
! grep -q BANKRUPTCY "$WORK/x1.json" || fail "x1, linked to another supplier, got the news"
pass "every one of the $N linked customers holds the signal exactly once; the unlinked one none"

ids() { grep -oE '"alert_id":"[0-9a-f]+"' "$1" | sort -u; }
ratings crash.lead-ratings 100000 1500 >"$WORK/crash.jsonl"
ids "$WORK/ref.jsonl" >"$WORK/ref.ids"
ids "$WORK/crash.jsonl" >"$WORK/crash.ids"
[ "$(wc -l <"$WORK/ref.ids")" -eq $N ] || fail "$(wc -l <"$WORK/ref.ids") distinct ids in the uninterrupted run"
cmp -s "$WORK/ref.ids" "$WORK/crash.ids" ||
  fail "re-rating ids differ from the uninterrupted run's: $(diff "$WORK/ref.ids" "$WORK/crash.ids" | head -5)"
[ "$(sort -u "$WORK/crash.jsonl" | wc -l)" -eq $N ] ||
  fail "an alert id was sent with two bodies"
pass "the re-rating alert ids ($N, each sent at least once) equal the uninterrupted run's"
