#!/usr/bin/env bash
# The daemon's life: config checks with exit codes, SIGTERM exits 0 after a
# clean commit, and an unreachable broker gives log lines, not a crash.
# brokers: mock real
. "$(dirname "$0")/lib.sh"

"$DS_BIN" check-config -c "$CFG" >/dev/null || fail "shipped config refused"
pass "shipped processor.yaml is valid"

set +e
out=$("$DS_BIN" check-config -c "$CFG" --set state.bach_max_events=5 2>&1); rc=$?
set -e
[ $rc -eq 78 ] || fail "unknown --set key: exit $rc, want 78"
grep -q "did you mean 'batch_max_events'" <<<"$out" || fail "no did-you-mean: $out"
pass "unknown key via --set refused with a did-you-mean (exit 78)"

printf 'kafka:\n  group_id: g\nstate:\n  batch_max_events: -3\n  dir: [1\n' >"$WORK/bad.yaml"
set +e
out=$("$DS_BIN" check-config -c "$WORK/bad.yaml" 2>&1); rc=$?
set -e
[ $rc -eq 78 ] || fail "bad yaml: exit $rc"
grep -qE "bad.yaml:[0-9]+:[0-9]+:" <<<"$out" || fail "no file:line:col in: $out"
pass "bad YAML refused with file:line:col"

# Schemas: a config from before a record existed (no writer id for it)
# still loads - an input without one is a warning - but an output an
# enabled processor writes needs its id.
grep -v -e "work_item.avsc" -e "parts_order.avsc" "$CFG" |
  sed -e "s#: schemas/#: $DS_SRC/schemas/#" -e "s#^  dir: schemas#  dir: $DS_SRC/schemas#" \
  >"$WORK/old.yaml"
out=$("$DS_BIN" check-config -c "$WORK/old.yaml" 2>&1) || fail "an older config refused: $out"
grep -q "warning: topics.parts_orders is read, but schemas.ids names no writer for PartsOrder" <<<"$out" ||
  fail "no warning for the input without a writer id: $out"
set +e
out=$("$DS_BIN" check-config -c "$WORK/old.yaml" --set processors.orchestration.enabled=true 2>&1); rc=$?
set -e
[ $rc -eq 78 ] || fail "an enabled processor's output without a writer id: exit $rc, want 78"
grep -q "processor orchestration writes topics.work_items, but schemas.ids names no writer for WorkItem" <<<"$out" ||
  fail "the refusal does not name the processor and record: $out"
pass "older configs load; an enabled processor's output without a writer id is refused"

# produce reports records it could not deliver (here: nothing listens),
# after librdkafka gives them up, instead of claiming success.
echo '{"event_id":"x","customer_id":"c","device_id":"d","alert_type":"t","severity":"INFO","count":1,"value":null,"event_time":1}' >"$WORK/one.jsonl"
set +e
out=$("$DS_BIN" produce -c "$CFG" --set kafka.bootstrap_servers=127.0.0.1:$(free_port) \
  --set kafka.properties.message.timeout.ms=1500 --topic ops.iot-alerts "$WORK/one.jsonl" 2>&1); rc=$?
set -e
[ $rc -ne 0 ] || fail "produce to a dead address exited 0: $out"
grep -q "1 of 1 records not delivered" <<<"$out" || fail "produce did not say what was lost: $out"
pass "produce says how many records it could not deliver"

# `topics` resolves names through the config and lists repartition topics
# of the enabled processors without a config key.
out=$("$DS_BIN" topics -c "$CFG" --set topics.transcripts=x.transcripts \
  --set processors.team_activity.enabled=true --set kafka.group_id=g1 \
  --set state.changelog=true)
grep -qP '^transcripts\tx\.transcripts\tinput$' <<<"$out" ||
  fail "topics: renamed input missing: $out"
grep -qP '^dlq\tdealstream\.dlq\toutput$' <<<"$out" || fail "topics: no DLQ: $out"
grep -qP '^-\tg1[^\t]*team_activity[^\t]*\trepartition$' <<<"$out" ||
  fail "topics: no repartition topic for team_activity: $out"
grep -qP '^-\tg1-state-changelog\tchangelog$' <<<"$out" || fail "topics: no changelog: $out"
set +e
"$DS_BIN" topics -c "$CFG" --set topics.nope=x >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 78 ] || fail "topics with a bad key: exit $rc, want 78"
pass "topics lists every topic by key, name and role"

set +e
"$DS_BIN" run >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 64 ] || fail "usage error: exit $rc, want 64"
pass "usage errors exit 64"

start_broker
start_daemon state g1 daemon.log
wait_for 30 grep -qs "assigned" "$WORK/daemon.log" || fail "never assigned"
# Operators tell the threads apart in top -H, perf and gdb by these names.
names=$(cat /proc/"$DAEMON"/task/*/comm 2>/dev/null | sort -u | tr '\n' ' ')
for t in ds-seal ds-commit; do
  grep -qw -- "$t" <<<"$names" || fail "no thread named $t among: $names"
done
pass "worker threads are named (ds-seal, ds-commit)"
kill -TERM "$DAEMON"
start=$SECONDS
set +e
wait "$DAEMON"; rc=$?
set -e
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc"
[ $((SECONDS - start)) -le 15 ] || fail "SIGTERM took $((SECONDS - start)) s"
grep -q "stopped cleanly" "$WORK/daemon.log" || fail "no clean stop logged"
pass "SIGTERM: clean stop, exit 0"

# A broker that does not exist: the daemon logs and keeps trying.
"$DS_BIN" run -c "$CFG" --set kafka.bootstrap_servers=127.0.0.1:1 \
  --set state.dir="$WORK/s2" >"$WORK/nobroker.log" 2>&1 &
nb=$!
PIDS+=($nb)
wait_for 30 grep -qsi "retrying\|refused\|down" "$WORK/nobroker.log" ||
  fail "no log line about the unreachable broker"
kill -0 "$nb" || fail "daemon died without a broker"
kill -TERM "$nb"
set +e
wait "$nb"; rc=$?
set -e
[ $rc -eq 0 ] || fail "SIGTERM without broker: exit $rc"
pass "unreachable broker: logged retries, still running, clean SIGTERM"
