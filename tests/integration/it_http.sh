#!/usr/bin/env bash
# The operator's endpoint: /metrics carries the real counts and passes
# promtool, /healthz and /readyz answer with their JSON, and SIGHUP
# reloads the config file (good or broken) without stopping the daemon.
# brokers: mock
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl missing (scripts/dev deps)"
command -v promtool >/dev/null ||
  fail "promtool missing: the Debian package prometheus (scripts/dev deps test)"
start_broker 2

PORT=$(free_port)
URL=http://127.0.0.1:$PORT

# The daemon reads a copy of the shipped config, so that SIGHUP can be
# shown a good file and then a broken one.
cp "$CFG" "$WORK/p.yaml"
ln -s "$DS_SRC/schemas" "$WORK/schemas" # relative to the config file
"$DS_BIN" run -c "$WORK/p.yaml" $(sets state g-http) \
  --set http.listen=127.0.0.1:$PORT \
  --set http.stall_timeout=5s >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=($DAEMON)

wait_for 30 curl -fs -o /dev/null "$URL/readyz" ||
  fail "never ready: $(curl -s "$URL/readyz")"
body=$(curl -s "$URL/readyz")
[ "$body" = '{"status":"ready"}' ] || fail "readyz body: $body"
pass "/readyz: 200 ready once partitions are assigned"
code=$(curl -s -o "$WORK/h.json" -w '%{http_code}' "$URL/healthz")
[ "$code" = 200 ] && [ "$(cat "$WORK/h.json")" = '{"status":"ok"}' ] ||
  fail "healthz: $code $(cat "$WORK/h.json")"
pass "/healthz: 200 {\"status\":\"ok\"}"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope")
[ "$code" = 404 ] || fail "unknown path: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/-/reload")
[ "$code" = 403 ] || fail "POST /-/reload without http.reload: $code"

N=7
for i in $(seq $N); do
  printf '{"event_id":"h%d","customer_id":"C%d","device_id":"D1","alert_type":"vibration_anomaly","severity":"WARNING","count":1,"value":null,"event_time":1767225600000}\n' "$i" "$i"
done >"$WORK/in.jsonl"
produce ops.iot-alerts "$WORK/in.jsonl" || fail "producing"
T=$(topic ops.iot-alerts)
metric() { # metric <series as printed>: its value, or nothing
  curl -s "$URL/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; } # for wait_for: read anew each try
metric_ge() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
wait_for 30 metric_is "dealstream_records_consumed_total{topic=\"$T\"}" $N ||
  fail "consumed: $(metric "dealstream_records_consumed_total{topic=\"$T\"}"), want $N"
pass "/metrics: records consumed from $T = $N, as produced"
wait_for 10 metric_ge dealstream_batches_committed_total 1 ||
  fail "no batch committed"
curl -s "$URL/metrics" >"$WORK/metrics.txt"
cnt=$(awk '$1 == "dealstream_commit_latency_seconds_count" { print $2 }' "$WORK/metrics.txt")
inf=$(awk '$1 == "dealstream_commit_latency_seconds_bucket{le=\"+Inf\"}" { print $2 }' "$WORK/metrics.txt")
[ -n "$cnt" ] && [ "$cnt" -ge 1 ] && [ "$cnt" = "$inf" ] ||
  fail "commit latency histogram: count $cnt, +Inf $inf"
for m in dealstream_consumer_assigned_partitions process_resident_memory_bytes \
         process_open_fds; do
  v=$(awk -v m=$m '$1 == m { print $2 }' "$WORK/metrics.txt")
  [ -n "$v" ] && [ "$v" -gt 0 ] || fail "$m: '$v'"
done
grep -q '^dealstream_build_info{version="[^"]*"} 1$' "$WORK/metrics.txt" ||
  fail "no build info"
# Lag per assigned partition of the topic that got records: all read.
nlag=$(grep -c "^dealstream_consumer_lag_records{topic=\"$T\",partition=\"[01]\"} 0$" "$WORK/metrics.txt" || true)
[ "$nlag" -ge 1 ] || fail "no lag series of 0 for $T: $(grep lag_records "$WORK/metrics.txt")"
hits=$(awk '$1 == "dealstream_state_cache_requests_total{result=\"hit\"}" { print $2 }' "$WORK/metrics.txt")
miss=$(awk '$1 == "dealstream_state_cache_requests_total{result=\"miss\"}" { print $2 }' "$WORK/metrics.txt")
[ -n "$hits" ] && [ -n "$miss" ] && [ $((hits + miss)) -ge $N ] ||
  fail "state gets: hit '$hits' miss '$miss', want at least $N in all"
for k in block_cache memtables table_readers; do
  grep -qE "^dealstream_rocksdb_memory_bytes\{kind=\"$k\"\} [0-9]+$" "$WORK/metrics.txt" ||
    fail "no RocksDB memory of $k"
done
grep -qE '^dealstream_rocksdb_memory_bytes\{kind="memtables"\} [1-9]' "$WORK/metrics.txt" ||
  fail "memtables empty after a committed batch"
grep -qE '^dealstream_rocksdb_stall_seconds_total [0-9.]+$' "$WORK/metrics.txt" ||
  fail "no stall time (the dbstats line not parsed)"
grep -qE '^dealstream_rocksdb_pending_compaction_bytes [0-9]+$' "$WORK/metrics.txt" ||
  fail "no pending compaction bytes"
bcnt=$(awk '$1 == "dealstream_batch_duration_seconds_count" { print $2 }' "$WORK/metrics.txt")
[ -n "$bcnt" ] && [ "$bcnt" -ge 1 ] || fail "batch duration histogram: count '$bcnt'"
grep -q '^dealstream_records_dlq_total' "$WORK/metrics.txt" &&
  fail "a DLQ series for good records"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.log" 2>&1 ||
  fail "promtool: $(cat "$WORK/promtool.log")"
pass "/metrics: histograms, lag, state cache, RocksDB memory, build info; promtool check metrics clean"

# SIGHUP with the file unchanged: applied, counted, still running (the
# live changes themselves: it_reload.sh).
reloads() { metric "dealstream_config_reloads_total{result=\"$1\"}"; }
[ "$(reloads ok)" = 0 ] && [ "$(reloads error)" = 0 ] || fail "reload counters not at 0"
kill -HUP "$DAEMON"
wait_for 10 metric_is 'dealstream_config_reloads_total{result="ok"}' 1 || fail "good reload not counted: $(reloads ok)"
grep -q "reload: .*p.yaml: applied, no key changed" \
  "$WORK/daemon.log" || fail "no reload line"
kill -0 "$DAEMON" || fail "SIGHUP killed the daemon"
pass "SIGHUP, good file: applied and counted, daemon running"

# Two mistakes: a value out of range and an unknown key.
sed -i 's/^  batch_max_events: .*/  batch_max_events: -3/' "$WORK/p.yaml"
printf 'http:\n  lisen: x\n' >>"$WORK/p.yaml"
kill -HUP "$DAEMON"
wait_for 10 metric_is 'dealstream_config_reloads_total{result="error"}' 1 || fail "bad reload not counted"
grep -qE "p.yaml:[0-9]+:[0-9]+: .*batch_max_events" "$WORK/daemon.log" ||
  fail "no file:line:col for the bad value: $(grep config "$WORK/daemon.log")"
grep -qE "p.yaml:[0-9]+:[0-9]+: .*lisen" "$WORK/daemon.log" ||
  fail "not every error logged"
kill -0 "$DAEMON" || fail "a bad SIGHUP killed the daemon"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
[ "$code" = 200 ] || fail "healthz after bad reload: $code"
pass "SIGHUP, broken file: every error with file:line:col, old config kept"

kill -TERM "$DAEMON"
set +e
wait "$DAEMON"; rc=$?
set -e
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz" || true)
[ "$code" = 000 ] || fail "endpoint still answering after exit: $code"
pass "SIGTERM: clean stop, endpoint closed"
