#!/usr/bin/env bash
# broker.sh start|stop - the real-broker tests' Apache Kafka, once per suite
# (ctest's kafka_real fixture). With DS_KAFKA_BOOTSTRAP set, the tests use
# that cluster instead and nothing is started or stopped.
set -euo pipefail
: "${DS_SRC:?}" "${DS_KAFKA_DIR:?}" "${DS_KAFKA_BOOTSTRAP_FILE:?}"
if [ -n "${DS_KAFKA_BOOTSTRAP:-}" ]; then
  echo "real-broker tests use DS_KAFKA_BOOTSTRAP=$DS_KAFKA_BOOTSTRAP"
  exit 0
fi
case "${1:-}" in
  start) # every suite starts from an empty broker: no topics of old runs
    "$DS_SRC/scripts/kafka" stop --dir "$DS_KAFKA_DIR"
    rm -rf "$DS_KAFKA_DIR"
    # --tls: an SSL listener with a throwaway CA too, for it_tls.sh.
    exec "$DS_SRC/scripts/kafka" start --dir "$DS_KAFKA_DIR" --tls ;;
  stop) exec "$DS_SRC/scripts/kafka" stop --dir "$DS_KAFKA_DIR" ;;
  *) echo "usage: broker.sh start|stop" >&2; exit 64 ;;
esac
