#!/usr/bin/env bash
# dev-kafka makes the topics it is told about (--topic) with the inputs'
# partition count: a group's changelog named so is accepted beside inputs
# of 3 partitions, and the daemon runs on it with the changelog on. One it
# was not told about the mock (no admin API) makes on first mention with
# its default 4 partitions; the daemon refuses that clearly (exit 78)
# instead of splitting a customer's state.
# brokers: mock
MOCK_CHANGELOG=1
. "$(dirname "$0")/lib.sh"
start_broker 3 --topic told-state-changelog
"$DS_BIN" create-topics -c "$CFG" --set kafka.bootstrap_servers="$BROKERS" \
  --set kafka.group_id=told >"$WORK/told.log" 2>&1 ||
  fail "create-topics with the changelog made at start: $(tail -3 "$WORK/told.log")"
grep -q "input topics with 3 partitions each" "$WORK/told.log" ||
  fail "no '3 partitions each' line: $(tail -3 "$WORK/told.log")"
run_until_idle s-told told run.log
grep -q "stopped cleanly: events=0 " "$WORK/run.log" ||
  fail "the daemon did not stop cleanly: $(tail -3 "$WORK/run.log")"
pass "a changelog named with --topic has the inputs' 3 partitions; the daemon runs on it"

set +e
"$DS_BIN" create-topics -c "$CFG" --set kafka.bootstrap_servers="$BROKERS" \
  --set kafka.group_id=untold >"$WORK/untold.log" 2>&1; rc=$?
set -e
[ $rc -eq 78 ] || fail "an untold group's changelog: exit $rc, want 78: $(tail -3 "$WORK/untold.log")"
grep -q "untold-state-changelog has 4" "$WORK/untold.log" ||
  fail "no clear message: $(tail -3 "$WORK/untold.log")"
pass "a changelog the mock made on first mention (4 partitions) is refused, exit 78"
