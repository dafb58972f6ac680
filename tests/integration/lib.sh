# Shared helpers for the integration tests (sourced). They drive the real
# binary from outside and read Kafka with an independent client (kcat).
set -euo pipefail

: "${PB_BIN:?PB_BIN must point at the portout-bridge binary}"
: "${PB_SOURCE_DIR:?PB_SOURCE_DIR must point at the source tree}"
if [ -z "${PB_KAFKA_BOOTSTRAP:-}" ]; then
  echo "SKIP: PB_KAFKA_BOOTSTRAP is not set (scripts/test.sh starts the local broker)"
  exit 77
fi
BOOTSTRAP=$PB_KAFKA_BOOTSTRAP
FIX=$PB_SOURCE_DIR/tests/fixtures
JS=$PB_SOURCE_DIR/tests/js
# Unique topics per run: the broker outlives test runs.
RUN_ID=${RUN_ID:-$(date +%s)-$$-$RANDOM}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pb-it-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# Writes a config for this run's topics to $WORK/bridge.conf.
write_config() {
  cat > "$WORK/bridge.conf" <<CONF
log = { level = "warn"; };
kafka = { brokers = "$BOOTSTRAP"; properties = ( "linger.ms=5", "message.timeout.ms=60000" ); };
topics = {
  status_changed = "it.$RUN_ID.status-changed";
  foc_date_changed = "it.$RUN_ID.foc-date-changed";
  new_comment = "it.$RUN_ID.new-comment";
  other = "it.$RUN_ID.other";
  dead_letter = "it.$RUN_ID.dlq";
};
CONF
}

topic() { echo "it.$RUN_ID.$1"; }

# Consumes a whole topic (all partitions, from the beginning, until the end)
# as kcat JSON lines, appended to $2.
consume() {
  kcat -C -b "$BOOTSTRAP" -t "$1" -o beginning -e -q -J \
       -X topic.metadata.refresh.interval.ms=1000 >> "$2"
}

# Lists the topics of this run that exist on the broker.
run_topics() {
  kcat -L -b "$BOOTSTRAP" -J | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const t of m.topics) if (t.topic.startsWith(process.argv[1])) console.log(t.topic);' "it.$RUN_ID."
}
