#!/usr/bin/env bash
# A partition revoked while its release waits (issue 20). Releasing a
# restored partition is a seek, and a seek can stay unfinished while the
# group rebalances; the daemon must keep polling, drop the partition when
# the rebalance takes it, and release the rest later - not stop (the
# intermittent failure of it_exactly_once's fencing step). The test gate
# DS_TEST_RELEASE_HOLD answers "not yet" to every release while its file
# exists, in B and C alike. B restores an empty disk and holds all four
# partitions; C joins, so they leave B before their release; B consumes
# the two it gets back (restored already) and leaves, so C's two held
# ones leave C too, and C holds B's two, restored with B's changes; the
# gate opens. Each event applied once; C's state and the alert ids equal
# an uninterrupted run's. Ordering, not timing: no instance can stop while
# it holds a partition.
# brokers: mock
MOCK_CHANGELOG=1 # 4 partitions: the mock's changelog matches the inputs
. "$(dirname "$0")/lib.sh"
start_broker 4
. "$(dirname "$0")/restore_fixture.sh"
restore_fixture rr-changelog

waiting() { # waiting <log> <n>: at least n releases waited there
  [ "$(grep -c "restored, its release waits" "$WORK/$1")" -ge "$2" ]
}
touch "$WORK/hold"
HOLD="*:$WORK/hold"
DS_TEST_RELEASE_HOLD=$HOLD "$DS_BIN" run -c "$CFG" $(sets b g-b) $CL \
  >"$WORK/b.log" 2>&1 &
B=$!
PIDS+=($B)
wait_for 60 waiting b.log 4 ||
  fail "B's four releases do not wait: $(grep -i "restor\|release" "$WORK/b.log" | head -5)"
pass "B restored its four partitions and holds them at their release"

DS_TEST_RELEASE_HOLD=$HOLD "$DS_BIN" run -c "$CFG" $(sets c g-b) $CL \
  >"$WORK/c.log" 2>&1 &
C=$!
PIDS+=($C)
wait_for 60 grep -qs "leaves before its release" "$WORK/b.log" ||
  fail "no partition left B before its release: $(tail -5 "$WORK/b.log")"
wait $B || fail "B exited non-zero: $(tail -3 "$WORK/b.log")"
grep -q "stopped cleanly" "$WORK/b.log" || fail "B: $(tail -2 "$WORK/b.log")"
pass "C joined: B's partitions left before their release, B consumed the ones it got back and left"

# B is gone: C's held partitions leave before their release, and C holds
# B's two, restored with B's changes.
wait_for 60 grep -qs "leaves before its release" "$WORK/c.log" ||
  fail "no partition left C before its release: $(tail -5 "$WORK/c.log")"
wait_for 60 waiting c.log 4 ||
  fail "C does not hold B's partitions: $(tail -5 "$WORK/c.log")"
rm -f "$WORK/hold"
wait "$C" || fail "C exited non-zero: $(tail -3 "$WORK/c.log")"
wait $REF_PID || fail "the reference failed"
grep -q "released after" "$WORK/c.log" || fail "C released nothing it held"
pass "C held B's partitions until the gate opened, then released them"

nb=$(stopped_count b.log events) nc=$(stopped_count c.log events)
[ $((nb + nc)) = "$N_SECOND" ] ||
  fail "B applied $nb and C $nc events, not the $N_SECOND of the second part once"
same_state_as_ref c
pass "B ($nb) and C ($nc) applied the second part once; C's state equals the reference's"

same_alerts_as_ref b.log c.log
pass "alerts: the $N_REF ids of the uninterrupted run, each once"
