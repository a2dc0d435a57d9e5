#!/usr/bin/env bash
# `dealstream demo` as a new user runs it: exit 0 and real alerts of every
# kind, read back through Kafka, and the manager's daily digest.
# brokers: mock
. "$(dirname "$0")/lib.sh"
(cd "$DS_SRC" && "$DS_BIN" demo) >"$WORK/demo.log" 2>&1 || fail "demo exited $?"
# MISSED_CONTEXT needs the visit report applied before the meeting, and
# the stage claim its interviews: the demo's rounds make it so every time.
for what in "LEAD RE-RATED  acme-medical" "UNANSWERED_OBJECTION" \
            "STAGE_CLAIM_UNSUPPORTED" "MISSING_KEYWORDS" "MEETING ENDED" \
            "MISSED_CONTEXT" "WORK ITEM CREATED" "WORK ITEM DONE" \
            "WORK ITEM OVERDUE" "WORK_ITEM_OVERDUE" "科室主任访谈 2/3 份"; do
  grep -q "$what" "$WORK/demo.log" || fail "demo output lacks '$what'"
done
grep -qE "^[1-9][0-9]* alerts read back from Kafka" "$WORK/demo.log" || fail "no alerts read back"
# The article's example on one timeline: three work items, legal and
# engineering DONE within their SLA, finance only acknowledged and OVERDUE
# once, with one RED coaching alert to the rep.
count() { grep -c -- "$1" "$WORK/demo.log" || true; }
[ "$(count 'WORK ITEM CREATED  seapay')" = 3 ] || fail "not 3 work items created"
[ "$(count 'WORK ITEM DONE     seapay           legal ')" = 1 ] &&
  [ "$(count 'WORK ITEM DONE     seapay           engineering ')" = 1 ] &&
  [ "$(count 'WORK ITEM DONE')" = 2 ] || fail "not legal and engineering DONE"
[ "$(count 'WORK ITEM OVERDUE  seapay           finance ')" = 1 ] &&
  [ "$(count 'WORK ITEM OVERDUE')" = 1 ] || fail "not finance alone OVERDUE"
[ "$(count 'COACHING RED     seapay           WORK_ITEM_OVERDUE')" = 1 ] ||
  fail "not one WORK_ITEM_OVERDUE coaching alert"
# The attribution part: one team's report in the article's words.
grep -A2 "ATTRIBUTION  team-zz2   revenue 2026-03" "$WORK/demo.log" |
  grep -q "environment effect -23.0 .*calibrated target 101.0   excess +1.0" ||
  fail "demo output lacks team-zz2's attribution report"
# The manager's digests, exactly: the quiet day of the visit report, and
# the day of the meetings, closed by the next morning's updates (its
# Shanghai midnight plus the hour's grace), none of it late.
sed -n '/^sales.daily-digest:/,/^$/p' "$WORK/demo.log" >"$WORK/digest.txt"
cat >"$WORK/digest.want" <<'EOF'
sales.daily-digest:
  DAILY DIGEST  team-apac  2026-11-13 (Asia/Shanghai)  for manager mgr-wu  [f73b835eb08a01b7a1e510a5054bc4ac]
    no RED alerts
    alerts by category: MISSING_KEYWORDS 1
    overdue work items 0, late alerts 0
  DAILY DIGEST  team-apac  2026-11-17 (Asia/Shanghai)  for manager mgr-wu  [253bf2612a1816adc6b5d4f53197e55b]
    #1 RED     acme-medical     STAGE_CLAIM_UNSUPPORTED  rep-zhang
       why: #1 of 3 RED: customer tier B, opportunity amount 1800000, raised 09:00 (rule: severity, tier, amount, then the oldest first)
       商机 OPP-ACME-001 从「discovery」推进到「solution」，但「discovery」阶段的行动单元未完成：科室主任访谈 2/3 份；D-17 仅提及 1 个未被竞品覆盖的场景（需 2 个）
    #2 RED     acme-medical     UNANSWERED_OBJECTION     rep-zhang
       why: #2 of 3 RED: customer tier B, opportunity amount 1800000, raised 10:05 (rule: severity, tier, amount, then the oldest first)
       客户提出的顾虑「等保三级」已超过 120 秒没有得到回应，建议围绕 等保 / 合规 / 测评 作答。
    #3 RED     seapay           WORK_ITEM_OVERDUE        rep-lin
       why: #3 of 3 RED: customer tier unknown, opportunity amount 650000, raised 11:13 (rule: severity, tier, amount, then the oldest first)
       finance 未在 1h 内完成客户 seapay 的任务（截止 2026-11-17 03:13Z）：Cost the FX lock for seapay's multi-currency settlement and send it to rep-lin.
    alerts by category: COMPETITOR_MENTION 1, DISCOVERY_TIME 3, MISSED_CONTEXT 1, MONOLOGUE 1,
        QUESTIONS 2, SELF_FOCUS 1, STAGE_CLAIM_UNSUPPORTED 1, TALK_RATIO 2,
        UNANSWERED_OBJECTION 1, WORK_ITEM_OVERDUE 1
    overdue work items 1, late alerts 0
    median response: engineering 0.83 h, legal 0.33 h

EOF
diff -u "$WORK/digest.want" "$WORK/digest.txt" >"$WORK/digest.log" ||
  fail "the digests differ from the expected ($(cat "$WORK/digest.log"))"
# The next morning raises nothing of its own: it only closes the day.
grep -A3 "^the next morning:" "$WORK/demo.log" | grep -q "applied 3 events, 1 alerts emitted, 0 records to the DLQ" ||
  fail "the next morning's round did more than close the day"
pass "demo shows re-ratings, coaching alerts, meeting summaries, work items, an attribution report and the manager's digests"
