#!/usr/bin/env bash
# Coaching through Kafka (issue 4): an unanswered objection is alerted while
# the meeting is still running - before its final segment is even produced -
# and a meeting whose final segment never comes is closed by the idle
# timeout with a MeetingSummary.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
start_broker 2

"$DS_BIN" run -c "$CFG" $(sets) --set processors.coaching.idle_timeout=3s \
  --set runtime.idle_check_interval=500ms >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=($DAEMON)

T0=1793872800000
seg() { # seg <meeting> <seq> <role> <start_s> <end_s> <text> [final]
  printf '{"event_id":"%s-%d","customer_id":"acme-medical","meeting_id":"%s","rep_id":"rep-7","seq":%d,"speaker_id":"%s","speaker_role":"%s","start_ms":%d,"end_ms":%d,"text":"%s","phase":"presentation","is_final":%s,"event_time":%d}\n' \
    "$1" "$2" "$1" "$2" "$3" "$3" $(($4 * 1000)) $(($5 * 1000)) "$6" "${7:-false}" $((T0 + $5 * 1000))
}
{
  seg M1 1 REP 0 20 "各位好，今天给大家介绍一下方案。"
  seg M1 2 CUSTOMER 20 40 "你们的系统能满足等 保 三 级合规性要求吗？"
  seg M1 3 REP 40 100 "界面很友好，操作也简单，支持移动端。"
  seg M1 4 REP 100 150 "我们还有很多医院在用，报表功能也很完善。"
  seg M1 5 CUSTOMER 170 190 "好的，那价格方面呢？"
} >"$WORK/running.jsonl"
produce sales.transcripts "$WORK/running.jsonl" || fail "produce running meeting"

has_objection_alert() {
  consume sales.coaching-alerts 100 --idle-exit 1500 >"$WORK/coaching.jsonl"
  grep -q '"category":"UNANSWERED_OBJECTION"' "$WORK/coaching.jsonl"
}
wait_for 60 has_objection_alert || fail "no UNANSWERED_OBJECTION alert while the meeting runs"
alert=$(grep '"UNANSWERED_OBJECTION"' "$WORK/coaching.jsonl")
grep -q '"meeting_id":"M1"' <<<"$alert" || fail "alert not tied to the meeting: $alert"
grep -q '"severity":"RED"' <<<"$alert" || fail "objection alert is not RED"
grep -q '等保三级' <<<"$alert" || fail "the alert does not name the objection: $alert"
pass "unanswered objection alerted before the meeting's final segment was produced"

seg M1 6 REP 190 200 "谢谢大家。" true >"$WORK/final.jsonl"
produce sales.transcripts "$WORK/final.jsonl" || fail "produce final"
has_summary() { # has_summary <meeting> <closed_by>
  consume sales.meeting-metrics 100 --idle-exit 1500 >"$WORK/summaries.jsonl"
  grep '"meeting_id":"'"$1"'"' "$WORK/summaries.jsonl" | grep -q '"closed_by":"'"$2"'"'
}
wait_for 60 has_summary M1 final || fail "no summary for M1 after its final segment"
pass "final segment closes the meeting with a summary"

# A meeting that never gets its final segment.
seg M2 1 REP 0 30 "Hello, thanks for joining." >"$WORK/idle.jsonl"
seg M2 2 CUSTOMER 30 50 "Happy to be here." >>"$WORK/idle.jsonl"
produce sales.transcripts "$WORK/idle.jsonl" || fail "produce idle meeting"
wait_for 60 has_summary M2 idle || fail "the idle meeting was never closed"
pass "a meeting without a final segment is closed by the idle timeout"

consume sales.coaching-alerts 100 --idle-exit 1500 >"$WORK/coaching-end.jsonl"
n=$(grep -c '"category":"UNANSWERED_OBJECTION"' "$WORK/coaching-end.jsonl")
[ "$n" -eq 1 ] || fail "the objection was alerted $n times, want once"
pass "the objection fired once"

kill -TERM "$DAEMON"
wait "$DAEMON" || fail "daemon exit $?"
