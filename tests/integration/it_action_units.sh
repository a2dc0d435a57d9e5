#!/usr/bin/env bash
# Action units through Kafka (issue 5): an opportunity moved out of discovery
# with 2 of the 3 required director interviews raises the RED
# STAGE_CLAIM_UNSUPPORTED alert; one with every unit evidenced raises none.
# brokers: mock real
. "$(dirname "$0")/lib.sh"
start_broker 2
T0=1793700000000
# Claims judged on arrival, as before evidence_grace (issue 19); the grace
# itself is it_event_time's.
NOGRACE="--set processors.action_units.evidence_grace=0"

note() { # note <customer> <doc> <text> <n>
  printf '{"event_id":"%s-%s","customer_id":"%s","rep_id":"rep-1","opportunity_id":"OPP-%s","document_id":"%s","doc_type":"INTERVIEW_NOTE","source":"OCR_HANDWRITING","author_role":"department_director","text":"%s","event_time":%d}\n' \
    "$1" "$2" "$1" "$1" "$2" "$3" $((T0 + $4 * 3600000))
}
opp() { # opp <customer> <from|null> <to> <n>
  local from=null; [ "$2" = null ] || from="\"$2\""
  printf '{"event_id":"%s-opp-%d","customer_id":"%s","opportunity_id":"OPP-%s","rep_id":"rep-1","industry":"medical","stage_from":%s,"stage_to":"%s","amount":500000.0,"event_time":%d}\n' \
    "$1" "$4" "$1" "$1" "$from" "$3" $((T0 + $4 * 3600000))
}
{
  note hosp-a D-1 "外科主任访谈：希望扩大日间手术，并做院感监测实时预警。" 1
  note hosp-a D-2 "检验科主任：床旁检测和耗材追溯都是明年重点。" 2
  note hosp-b D-3 "外科主任访谈：希望扩大日间手术，并做院感监测实时预警。" 1
  note hosp-b D-4 "检验科主任：床旁检测和耗材追溯都是明年重点。" 2
  note hosp-b D-5 "信息科主任：远程会诊平台要上线，日间手术流程也要配套。" 3
} >"$WORK/notes.jsonl"
{ opp hosp-a null discovery 0; opp hosp-b null discovery 0; } >"$WORK/open.jsonl"
{ opp hosp-a discovery solution 10; opp hosp-b discovery solution 10; } >"$WORK/advance.jsonl"

produce crm.opportunity-updates "$WORK/open.jsonl" || fail "produce opportunities"
produce sales.doc-annotations "$WORK/notes.jsonl" || fail "produce notes"
run_until_idle state g-au run1.log $NOGRACE
# The claim comes after the evidence, as in life.
produce crm.opportunity-updates "$WORK/advance.jsonl" || fail "produce stage moves"
run_until_idle state g-au run2.log $NOGRACE

consume sales.coaching-alerts 100 >"$WORK/alerts.jsonl"
red=$(grep '"category":"STAGE_CLAIM_UNSUPPORTED"' "$WORK/alerts.jsonl" || true)
[ "$(grep -c . <<<"$red")" -eq 1 ] || fail "want exactly one unsupported-claim alert: $red"
grep -q '"customer_id":"hosp-a"' <<<"$red" || fail "the alert is not for hosp-a: $red"
grep -q '"severity":"RED"' <<<"$red" || fail "not RED: $red"
grep -q '2/3' <<<"$red" || fail "evidence does not say 2 of 3 interviews: $red"
pass "2 of 3 director interviews: RED STAGE_CLAIM_UNSUPPORTED naming what is missing"
grep -q '"customer_id":"hosp-b".*STAGE_CLAIM' "$WORK/alerts.jsonl" && fail "hosp-b was alerted"
pass "all units evidenced: no alert"

stage_status() { # stage_status <customer>: the discovery stage as inspect shows it
  "$DS_BIN" inspect -c "$CFG" $(sets) --customer "$1" | tr -d ' \n' |
    grep -o '"stage":"discovery","status":"[a-z]*"'
}
[ "$(stage_status hosp-b)" = '"stage":"discovery","status":"supported"' ] ||
  fail "inspect does not show hosp-b's discovery as supported: $(stage_status hosp-b)"
[ "$(stage_status hosp-a)" = '"stage":"discovery","status":"missing"' ] ||
  fail "inspect does not show hosp-a's discovery as missing: $(stage_status hosp-a)"
pass "inspect shows discovery supported for hosp-b, missing for hosp-a"

# The third interview arrives after the claim: the stage becomes supported.
note hosp-a D-6 "信息科主任：远程会诊平台要上线，日间手术流程也要配套。" 11 >"$WORK/late.jsonl"
produce sales.doc-annotations "$WORK/late.jsonl" || fail "produce late note"
run_until_idle state g-au run3.log $NOGRACE
[ "$(stage_status hosp-a)" = '"stage":"discovery","status":"supported"' ] ||
  fail "late evidence did not support hosp-a's discovery: $(stage_status hosp-a)"
pass "evidence arriving after the claim marks the stage supported"
# ...and the RED sent before it gets a follow-up naming it (issue 19).
consume sales.coaching-alerts 100 >"$WORK/alerts2.jsonl"
red_id=$(grep '"category":"STAGE_CLAIM_UNSUPPORTED"' "$WORK/alerts2.jsonl" |
  grep '"severity":"RED"' | grep -o '"alert_id":"[0-9a-f]*"' | cut -d'"' -f4)
[ -n "$red_id" ] || fail "the RED is gone"
grep '"severity":"INFO"' "$WORK/alerts2.jsonl" |
  grep -q "\"resolves_alert_id\":\"$red_id\"" ||
  fail "no follow-up resolving $red_id: $(cat "$WORK/alerts2.jsonl")"
pass "late evidence: a follow-up resolves the RED by its alert_id"
