#!/usr/bin/env bash
# The prefetch budget (issue 23): with a budget so small (a queue of 1,000
# records, 64 KiB) that the fetcher is woken again and again while the
# daemon takes 12,000 records, every record is applied exactly once: the
# same events, alerts and state as with the budget off.
# brokers: mock
. "$(dirname "$0")/lib.sh"
start_broker 4

# 12,000 alerts over 400 customers, all four partitions.
awk 'BEGIN { s[0] = "INFO"; s[1] = "WARNING"; s[2] = "CRITICAL";
  for (i = 1; i <= 12000; i++)
    printf "{\"event_id\":\"p%d\",\"customer_id\":\"c%d\",\"device_id\":\"d%d\",\"alert_type\":\"vibration_anomaly\",\"severity\":\"%s\",\"count\":1,\"value\":null,\"event_time\":%d}\n",
      i, i % 400, i % 37, s[i % 3], 1767225600000 + i * 1000 }' >"$WORK/alerts.jsonl"
produce ops.iot-alerts "$WORK/alerts.jsonl" || fail "produce"

run_until_idle off g-off off.log --set kafka.prefetch_budget=0
run_until_idle tiny g-tiny tiny.log --set kafka.prefetch_budget=64KiB

stop_line() { grep -o 'stopped cleanly: events=[0-9]* dlq=[0-9]* alerts=[0-9]*' "$WORK/$1"; }
off=$(stop_line off.log) || fail "no clean stop with the budget off"
tiny=$(stop_line tiny.log) || fail "no clean stop with the tiny budget"
[ "$off" = "stopped cleanly: events=12000 dlq=0 alerts=${off##*alerts=}" ] ||
  fail "budget off: $off"
[ "$tiny" = "$off" ] || fail "tiny budget: '$tiny', budget off: '$off'"
wakes=$(sed -n 's/.*prefetch: \([0-9]*\) fetcher wakes.*/\1/p' "$WORK/tiny.log")
[ "${wakes:-0}" -gt 0 ] || fail "the fetcher was never woken (tiny.log)"
pass "12000 events, ${off##*alerts=} alerts either way; the fetcher woken $wakes times"

# Every customer's state is the same: nothing applied twice or skipped.
for c in 0 1 2 57 133 399; do
  "$DS_BIN" inspect -c "$CFG" $(sets off g-off) --customer "c$c" >"$WORK/off-$c.json" ||
    fail "no state for c$c (budget off)"
  "$DS_BIN" inspect -c "$CFG" $(sets tiny g-tiny) --customer "c$c" >"$WORK/tiny-$c.json" ||
    fail "no state for c$c (tiny budget)"
  cmp -s "$WORK/off-$c.json" "$WORK/tiny-$c.json" ||
    fail "c$c differs: $(diff "$WORK/off-$c.json" "$WORK/tiny-$c.json" | head -6)"
done
pass "the state of six customers is the same with the tiny budget"
