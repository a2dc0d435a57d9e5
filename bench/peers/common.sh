# bench/peers/common.sh - sourced by bench/peers/check and bench/run --peers:
# how each system of the comparison is started on the lead-rating workload.
# Needs ROOT, BIN (the dealstream binary), CFG (processor.yaml) and VENV.

PEERS_DIR="$ROOT/bench/peers"
PEERS_ALL="dealstream kstreams quix"

# The workload's switch for dealstream: lead_rating alone.
DS_LEAD_ONLY=(--set processors.coaching.enabled=false
              --set processors.action_units.enabled=false
              --set processors.team_activity.enabled=false)

# peers_topic_sets PREFIX [OUT_PREFIX]: --set topics.KEY=PREFIX<name> for
# every input topic, OUT_PREFIX<name> (default PREFIX) for the others.
peers_topic_sets() {
  local key name p
  TOPIC_SETS=()
  while read -r key name; do
    case "$key" in
      transcripts|doc_annotations|iot_alerts|registry_changes|opportunity_updates|reps) p=$1 ;;
      *) p=${2-$1} ;;
    esac
    TOPIC_SETS+=(--set "topics.$key=$p$name")
  done < <(
    "$BIN" config-docs | awk '/^## `topics`/ { on = 1; next } /^## / { on = 0 }
      on && /^\| `[a-z_]+` \| string \| `[^`]+`/ { split($0, f, "`"); print f[2], f[4] }')
}

# peers_create_topics BOOTSTRAP PREFIX PARTITIONS: every topic, prefixed.
peers_create_topics() {
  peers_topic_sets "$2"
  "$BIN" create-topics -c "$CFG" --set "kafka.bootstrap_servers=$1" \
    --set "kafka.topic_partitions=$3" "${TOPIC_SETS[@]}"
}

# peers_cmd SYSTEM BOOTSTRAP PREFIX GROUP STATE_DIR [EXTRA...]: sets CMD to
# the command line that runs SYSTEM on PREFIX<input topics>, writing
# ${PEERS_OUT_PREFIX-PREFIX}<sales.lead-ratings>, in consumer group GROUP, state under
# STATE_DIR. EXTRA: exit-when-idle arguments (dealstream's form
# --exit-when-idle MS; the peers take the same, plus --expect N).
peers_cmd() {
  local sys=$1 bs=$2 prefix=$3 group=$4 state=$5
  local out=${PEERS_OUT_PREFIX-$3}sales.lead-ratings
  shift 5
  case "$sys" in
    dealstream)
      peers_topic_sets "$prefix" "${PEERS_OUT_PREFIX-$prefix}"
      local extra=()
      # dealstream has no --expect: it stops on idle alone.
      while [ $# -gt 0 ]; do
        case "$1" in --expect) shift 2 ;; *) extra+=("$1"); shift ;; esac
      done
      CMD=("$BIN" run -c "$CFG" --set "kafka.bootstrap_servers=$bs"
           --set "state.dir=$state" --set "kafka.group_id=$group"
           "${DS_LEAD_ONLY[@]}" "${TOPIC_SETS[@]}" "${PEERS_DS_SETS[@]}"
           "${extra[@]}") ;;
    kstreams)
      CMD=(java -Xms256m -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
           -cp "$PEERS_DIR/kstreams/target/classes:$PEERS_DIR/kstreams/target/lib/*"
           dev.dealstream.peers.LeadRatingApp --bootstrap "$bs"
           --schemas "$ROOT/schemas" --state-dir "$state" --app-id "$group"
           --topic-prefix "$prefix" --output "$out" "$@") ;;
    quix)
      CMD=("$VENV/bin/python" "$PEERS_DIR/quix/lead_rating.py" --bootstrap "$bs"
           --schemas "$ROOT/schemas" --state-dir "$state" --group "$group"
           --topic-prefix "$prefix" --output "$out" "$@") ;;
    *) echo "unknown system $sys (one of: $PEERS_ALL)" >&2; return 1 ;;
  esac
}
