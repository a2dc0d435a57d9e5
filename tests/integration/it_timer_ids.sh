#!/usr/bin/env bash
# Timer alerts are replay-stable (issue 26, case 4): kill -9 between a
# timer's alerts and their commit, restart, and every alert re-emitted
# carries an id already seen. An opportunity's overdue action units used
# to be re-judged after the restart by the customer's next event, whose
# id went into the alert_id: a second alert no consumer could de-duplicate.
# A meeting closed by the idle timer cites its last segment either way.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
start_broker 1
T0=1793700000000
H=3600000
{ # opportunity created in discovery; one of three director interviews
  printf '{"event_id":"au-opp","customer_id":"hosp-a","opportunity_id":"OPP-A","rep_id":"rep-1","industry":"medical","stage_from":null,"stage_to":"discovery","amount":500000.0,"event_time":%d}\n' $T0
  # stream time past the 14-day deadline, by another customer
  printf '{"event_id":"other-opp","customer_id":"hosp-z","opportunity_id":"OPP-Z","rep_id":"rep-2","industry":"medical","stage_from":null,"stage_to":"discovery","amount":1.0,"event_time":%d}\n' $((T0 + 15 * 24 * H))
} >"$WORK/opps.jsonl"
note() { # note <event-id> <doc> <hours>
  printf '{"event_id":"%s","customer_id":"hosp-a","rep_id":"rep-1","opportunity_id":"OPP-A","document_id":"%s","doc_type":"INTERVIEW_NOTE","source":"OCR_HANDWRITING","author_role":"department_director","text":"外科主任访谈：希望扩大日间手术。","event_time":%d}\n' "$1" "$2" $((T0 + $3 * H))
}
note au-note1 D-1 24 >"$WORK/note1.jsonl"
seg() { # seg <seq> <role> <text>
  printf '{"event_id":"mt-s%d","customer_id":"c-meet","meeting_id":"MT","rep_id":"r1","seq":%d,"speaker_id":"%s","speaker_role":"%s","start_ms":%d,"end_ms":%d,"text":"%s","phase":null,"is_final":false,"event_time":%d}\n' \
    "$1" "$1" "$2" "$2" $(($1 * 20000)) $(($1 * 20000 + 15000)) "$3" $((T0 + $1 * 20000))
}
{ seg 1 REP "Thanks for your time today."; seg 2 CUSTOMER "Honestly the price is too high for us."
  seg 3 REP "Let me show you the new dashboard."; } >"$WORK/meeting.jsonl"
produce sales.doc-annotations "$WORK/note1.jsonl" || fail "produce note"
produce sales.transcripts "$WORK/meeting.jsonl" || fail "produce meeting"
produce crm.opportunity-updates "$WORK/opps.jsonl" || fail "produce opportunities"

RUN="run -c $CFG $(sets state g-ids) --set processors.coaching.idle_timeout=2s --set runtime.idle_check_interval=200ms"
# Every record in the first batch; the timers' work in the second, which
# is not committed for a minute (a checkpoint per batch: write-back off).
"$DS_BIN" $RUN --set state.max_dirty_ms=0 --set state.batch_max_events=6 --set state.batch_interval=60s \
  --set log.level=debug >"$WORK/crash.log" 2>&1 &
pid=$!
PIDS+=($pid)
wait_for 60 grep -qs "committed 6 events" "$WORK/crash.log" || fail "the records were not committed"
alerts() { # every alert_id on the coaching and summary topics, with its rule
  { consume sales.coaching-alerts 1000 --idle-exit 1500; consume sales.meeting-metrics 1000 --idle-exit 1500; } |
    sed -n 's/.*"alert_id":"\([0-9a-f]*\)".*"customer_id":"\([^"]*\)".*/\1 \2/p'
}
both_fired() { a=$(alerts); grep -q hosp-a <<<"$a" && grep -q c-meet <<<"$a"; }
wait_for 60 both_fired || fail "the timers fired nothing: $(alerts)"
grep -q "committed 0 events\|committed [1-9][0-9]* events (batch 1)" "$WORK/crash.log" &&
  fail "the timers' batch was committed before the kill; the test proves nothing"
kill -9 $pid
wait $pid 2>/dev/null || true
alerts | sort -u >"$WORK/before"
pass "killed -9 after $(wc -l <"$WORK/before") timer alerts, before their commit"

# The customer's next event arrives first after the restart.
note au-note2 D-2 $((16 * 24)) >"$WORK/note2.jsonl"
produce sales.doc-annotations "$WORK/note2.jsonl" || fail "produce note 2"
"$DS_BIN" $RUN --exit-when-idle 6000 >"$WORK/restart.log" 2>&1 || fail "restart exited non-zero"
alerts >"$WORK/after-all"
sort -u "$WORK/after-all" >"$WORK/after"
[ "$(wc -l <"$WORK/after-all")" -gt "$(wc -l <"$WORK/before")" ] ||
  fail "nothing was re-emitted after the restart; the test proves nothing"
new=$(comm -13 "$WORK/before" "$WORK/after")
[ -z "$new" ] || fail "alerts with new ids after the restart: $new"
pass "every alert re-emitted after the restart carries an id already seen"
