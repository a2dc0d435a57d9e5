# lib.sh - shared set-up for the integration tests (sourced).
#
# Each test gets a scratch dir and a config that is the shipped
# processor.yaml with --set overrides. DS_BROKER picks the broker:
#   mock  its own `dealstream dev-kafka` process (librdkafka's mock cluster);
#   real  the suite's Apache Kafka (scripts/kafka, started once by ctest), or
#         the cluster named by DS_KAFKA_BOOTSTRAP; every topic of the test is
#         then prefixed with the test's own name, so tests never share data.
# Waits are bounded polls on observable outputs; nothing asserts on speed.
set -euo pipefail

: "${DS_BIN:?DS_BIN must point at the dealstream binary}"
: "${DS_SRC:?DS_SRC must point at the source tree}"
WORK=$(mktemp -d /tmp/ds-it-XXXXXX)
CFG="$DS_SRC/processor.yaml"
PIDS=()
ON_EXIT=() # commands a test adds, run first at exit (e.g. restart the broker)

cleanup() {
  local rc=$?
  for h in "${ON_EXIT[@]}"; do eval "$h" || true; done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "--- logs of the failed test ($WORK) ---"
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
  fi
  [ -n "${DS_KEEP_WORK:-}" ] && [ $rc -ne 0 ] && cp -r "$WORK" "$DS_KEEP_WORK"; rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

DS_BROKER=${DS_BROKER:-mock}
# Topic names and consumer groups of this test: unique per run on a shared
# real broker (a prefix), the shipped names on a test's own dev-kafka.
PREFIX=""
if [ "$DS_BROKER" = real ]; then
  PREFIX="it-$(basename "$0" .sh | sed 's/^it_//')-$(date +%s)-$$."
fi

# topic <shipped-name>: the name this test uses for it.
topic() { echo "$PREFIX$1"; }

# --set flags naming every topic of the config with this test's prefix;
# `dealstream topics` lists them from the record table, so a topic added
# there is covered without a change here.
topic_sets() {
  [ -n "$PREFIX" ] || return 0
  "$DS_BIN" topics -c "$CFG" | while IFS=$'\t' read -r key name _; do
    [ "$key" = - ] || printf -- '--set topics.%s=%s%s ' "$key" "$PREFIX" "$name"
  done
}

# start_broker [partitions [dev-kafka args...]]: sets BROKERS and, for the
# real broker, creates the test's topics with that many partitions.
start_broker() {
  local parts=${1:-4}
  shift || true # the rest: extra dev-kafka arguments (e.g. --topic NAME)
  if [ "$DS_BROKER" = real ]; then
    if [ -n "${DS_KAFKA_BOOTSTRAP:-}" ]; then
      BROKERS=$DS_KAFKA_BOOTSTRAP
    else
      [ -s "${DS_KAFKA_BOOTSTRAP_FILE:-}" ] ||
        fail "no real broker: DS_KAFKA_BOOTSTRAP_FILE (${DS_KAFKA_BOOTSTRAP_FILE:-unset}) is empty"
      BROKERS=$(cat "$DS_KAFKA_BOOTSTRAP_FILE")
    fi
    TOPIC_SETS=$(topic_sets)
    "$DS_BIN" create-topics -c "$CFG" $(sets) \
      --set kafka.topic_partitions="$parts" >"$WORK/create-topics.log" 2>&1 ||
      fail "create-topics: $(tail -3 "$WORK/create-topics.log")"
    return 0
  fi
  "$DS_BIN" dev-kafka -c "$CFG" --partitions "$parts" "$@" \
    --bootstrap-file "$WORK/bootstrap" >"$WORK/broker.log" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  # Ready when it has written the file; under ASan on a loaded host that
  # took over 4 s (issue 21), so wait while it lives, up to a minute.
  for _ in $(seq 600); do
    [ -s "$WORK/bootstrap" ] && break
    kill -0 "$pid" 2>/dev/null || fail "dev-kafka exited: $(tail -3 "$WORK/broker.log")"
    sleep 0.1
  done
  [ -s "$WORK/bootstrap" ] || fail "dev-kafka did not write its bootstrap file in 60 s"
  BROKERS=$(cat "$WORK/bootstrap")
}
TOPIC_SETS=""
# The mock creates a topic it was not started with (a group's changelog,
# named after the group) with 4 partitions, whatever the inputs have
# (dev-kafka --topic names one to make with the inputs; it_dev_kafka.sh):
# on the mock the state changelog is off unless a test asks for it
# (MOCK_CHANGELOG=1 before sourcing). Apache Kafka runs every test
# with it on (the daemon creates it with the inputs' partition count).
CHANGELOG_SETS=""
if [ "$DS_BROKER" = mock ] && [ "${MOCK_CHANGELOG:-0}" != 1 ]; then
  CHANGELOG_SETS="--set state.changelog=false "
fi

# The --set flags every command of a test shares: broker, topics, state dir,
# group.
sets() { # sets <state-dir-name> [group]
  echo "--set kafka.bootstrap_servers=$BROKERS $TOPIC_SETS$CHANGELOG_SETS--set state.dir=$WORK/${1:-state} --set kafka.group_id=$PREFIX${2:-it-group}"
}

free_port() { # prints a loopback port nothing listens on (scripts/kafka's rule)
  "$DS_SRC/scripts/kafka" free-port
}

produce() { # produce <shipped-topic-name> <file>
  "$DS_BIN" produce -c "$CFG" $(sets) --topic "$(topic "$1")" "$2" 2>>"$WORK/produce.log"
}

consume() { # consume <shipped-topic-name> <max> [extra args]: JSON lines on stdout
  local t=$1 max=$2; shift 2
  "$DS_BIN" consume -c "$CFG" $(sets) --topic "$(topic "$t")" --from-beginning \
    --max "$max" --idle-exit 5000 "$@" 2>>"$WORK/consume.log"
}

# start_daemon <state-dir-name> <group> <log>: sets DAEMON.
start_daemon() {
  "$DS_BIN" run -c "$CFG" $(sets "$1" "$2") --set state.batch_max_events=200 \
    >"$WORK/$3" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}

# run_until_idle <state-dir-name> <group> <log> [run args...]: applies
# everything there is.
run_until_idle() {
  "$DS_BIN" run -c "$CFG" $(sets "$1" "$2") --exit-when-idle 3000 "${@:4}" \
    >"$WORK/$3" 2>&1 || fail "daemon exited non-zero (see $3)"
}

# crash_mid_stream <state-dir-name> <group> <log> [run args...]: runs the
# daemon with large batches and kills it (-9) once one is committed, so
# the tail it applied, with the outputs it sent, is left uncommitted.
# A checkpoint per batch of 700 events (state.max_dirty_ms=0), unless the
# test sets CRASH_WRITEBACK=1: then write-back (issue 20) with no change
# waiting for its age bound here, a checkpoint each time 100 objects are
# dirty (half of the decoded cache) and the tail after the last one
# unwritten - for streams that change many objects.
crash_mid_stream() {
  local shape="--set state.max_dirty_ms=0"
  [ "${CRASH_WRITEBACK:-0}" = 1 ] &&
    shape="--set state.max_dirty_ms=30s --set state.cache_max_entries=200"
  "$DS_BIN" run -c "$CFG" $(sets "$1" "$2") --set state.batch_max_events=700 \
    --set state.batch_interval=30s $shape --set log.level=debug "${@:4}" \
    >"$WORK/$3" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  wait_for 60 grep -qs "committed" "$WORK/$3" || fail "crash run never committed"
  sleep 1
  kill -9 $pid
  wait $pid 2>/dev/null || true
}

wait_for() { # wait_for <seconds> <command...>: poll until it succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
