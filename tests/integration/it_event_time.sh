#!/usr/bin/env bash
# Event-time order across topics (issue 19): stage moves produced to
# crm.opportunity-updates BEFORE the director interviews they rest on
# (earlier event times, on sales.doc-annotations). With claims judged on
# arrival (evidence_grace 0) only the per-partition-group chooser keeps the
# supported claim from a RED: it applies the interviews first. (The grace
# itself, evidence applied after the claim, is test_action_units_grace's;
# the follow-up through Kafka it_action_units'.)
# brokers: mock
. "$(dirname "$0")/lib.sh"
start_broker 1
T0=1793700000000
H=3600000
D=$((24 * H))

note() { # note <customer> <doc> <day>
  printf '{"event_id":"%s-%s","customer_id":"%s","rep_id":"rep-1","opportunity_id":"OPP-%s","document_id":"%s","doc_type":"INTERVIEW_NOTE","source":"OCR_HANDWRITING","author_role":"department_director","text":"%s","event_time":%d}\n' \
    "$1" "$2" "$1" "$1" "$2" "$(text "$2")" $((T0 + $3 * D))
}
text() { # three interviews, each naming two scenarios nobody covers
  case "$1" in
    *1) echo "外科主任访谈：希望扩大日间手术，并做院感监测实时预警。" ;;
    *2) echo "检验科主任：床旁检测和耗材追溯都是明年重点。" ;;
    *) echo "信息科主任：远程会诊平台要上线，日间手术流程也要配套。" ;;
  esac
}
opp() { # opp <customer> <from|null> <to> <ms after T0> <id>
  local from=null; [ "$2" = null ] || from="\"$2\""
  printf '{"event_id":"%s-opp-%s","customer_id":"%s","opportunity_id":"OPP-%s","rep_id":"rep-1","industry":"medical","stage_from":%s,"stage_to":"%s","amount":1.0,"event_time":%d}\n' \
    "$1" "$5" "$1" "$1" "$from" "$3" $((T0 + $4)) 
}

# Phase 1: hosp-a has all three interviews, hosp-b two; both moves first.
{ for c in hosp-a hosp-b; do opp $c null discovery 0 0; opp $c discovery solution $((10 * D)) 1; done
} >"$WORK/moves.jsonl"
{ note hosp-a A1 1; note hosp-a A2 2; note hosp-a A3 3; note hosp-b B1 1; note hosp-b B2 2
} >"$WORK/notes.jsonl"
produce crm.opportunity-updates "$WORK/moves.jsonl" || fail "produce moves"
produce sales.doc-annotations "$WORK/notes.jsonl" || fail "produce notes"
run_until_idle state g-et run1.log --set processors.action_units.evidence_grace=0 \
  --set processing.max_idle_ms=${IT_MAX_IDLE:-2s}
consume sales.coaching-alerts 100 >"$WORK/alerts1.jsonl"
red=$(grep '"category":"STAGE_CLAIM_UNSUPPORTED"' "$WORK/alerts1.jsonl" | grep '"severity":"RED"' || true)
grep -q '"customer_id":"hosp-a"' <<<"$red" && fail "the supported claim got a RED: $red"
[ "$(grep -c . <<<"$red")" -eq 1 ] && grep -q '"customer_id":"hosp-b"' <<<"$red" ||
  fail "want one RED, for hosp-b: $red"
grep -q '"resolves_alert_id":"' "$WORK/alerts1.jsonl" &&
  fail "a resolution means a RED went out first: $(cat "$WORK/alerts1.jsonl")"
pass "claims produced before their evidence: judged in event-time order"
