# lib.sh - shared set-up for the integration tests (sourced).
#
# Each test gets a scratch dir, its own dev-kafka process and a config that
# is the shipped processor.yaml with --set overrides. Waits are bounded
# polls on observable outputs; nothing asserts on speed.
set -euo pipefail

: "${DS_BIN:?DS_BIN must point at the dealstream binary}"
: "${DS_SRC:?DS_SRC must point at the source tree}"
WORK=$(mktemp -d /tmp/ds-it-XXXXXX)
CFG="$DS_SRC/processor.yaml"
PIDS=()

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "--- logs of the failed test ($WORK) ---"
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# start_broker [partitions]: a dev-kafka process; sets BROKERS.
start_broker() {
  "$DS_BIN" dev-kafka -c "$CFG" --partitions "${1:-4}" \
    --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
  [ -s "$WORK/bootstrap" ] || fail "dev-kafka did not write its bootstrap file"
  BROKERS=$(cat "$WORK/bootstrap")
}

# The --set flags every command of a test shares: broker, state dir, group.
sets() { # sets <state-dir-name> [group]
  echo "--set kafka.bootstrap_servers=$BROKERS --set state.dir=$WORK/${1:-state} --set kafka.group_id=${2:-it-group}"
}

produce() { # produce <topic> <file>
  "$DS_BIN" produce -c "$CFG" $(sets) --topic "$1" "$2" 2>>"$WORK/produce.log"
}

consume() { # consume <topic> <max> [extra args]: JSON lines on stdout
  local topic=$1 max=$2; shift 2
  "$DS_BIN" consume -c "$CFG" $(sets) --topic "$topic" --from-beginning \
    --max "$max" --idle-exit 5000 "$@" 2>>"$WORK/consume.log"
}

# start_daemon <state-dir-name> <group> <log>: sets DAEMON.
start_daemon() {
  "$DS_BIN" run -c "$CFG" $(sets "$1" "$2") --set state.batch_max_events=200 \
    >"$WORK/$3" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}

# run_until_idle <state-dir-name> <group> <log>: applies everything there is.
run_until_idle() {
  "$DS_BIN" run -c "$CFG" $(sets "$1" "$2") --exit-when-idle 3000 \
    >"$WORK/$3" 2>&1 || fail "daemon exited non-zero (see $3)"
}

wait_for() { # wait_for <seconds> <command...>: poll until it succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
