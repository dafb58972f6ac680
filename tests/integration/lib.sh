# Shared helpers for the integration tests (sourced). They drive the real
# binary from outside and read Kafka with an independent client (kcat).
set -euo pipefail
# A command that fails outside a test's checks ends the test (set -e): say
# which one, so that no failure is silent.
set -E
# (Not where a test turned errexit off to read an exit code, nor in the
# EXIT traps, which begin with `trap - ERR`.)
trap '_pb_rc=$?; [[ $- == *e* ]] && echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" exited $_pb_rc" >&2' ERR

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
# Removes the work directory, or keeps it (and says where) with PB_KEEP_WORK=1.
work_done() { if [ -n "${PB_KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap 'trap - ERR; work_done' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# Writes a config for this run's topics to $WORK/bridge.conf.
write_config() {
  cat > "$WORK/bridge.conf" <<CONF
log = { level = "info"; };
kafka = { brokers = "$BOOTSTRAP"; properties = ( "linger.ms=5", "message.timeout.ms=60000" ); };
admin = { address = "127.0.0.1"; port = 0; };
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

# Starts `portout-bridge run` with $1 (config) in the background, waits for
# its "running" line, sets BRIDGE_PID, ADMIN (http://127.0.0.1:PORT of
# /healthz, /readyz, /metrics) and BASE (the webhook listener, if any).
# PB_WRAP (e.g. "faketime ...") runs the binary under a wrapper.
start_bridge() {
  local conf=$1 log=${2:-$WORK/bridge.log}
  ${PB_WRAP:-} "$PB_BIN" -c "$conf" run > "$log" 2>&1 &
  BRIDGE_PID=$!
  for _ in $(seq 1 300); do
    grep -qE 'msg="running|"msg":"running' "$log" && break
    kill -0 $BRIDGE_PID 2>/dev/null || { cat "$log"; fail "bridge exited at start"; }
    sleep 0.1
  done
  grep -qE 'msg="running|"msg":"running' "$log" || { cat "$log"; fail "bridge did not start"; }
  ADMIN="http://127.0.0.1:$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$log" | head -1)"
  local port
  port=$(sed -n 's/.*msg"*[=:]"listening on [0-9.]*:\([0-9]*\),.*/\1/p' "$log" | head -1)
  BASE=""; [ -n "$port" ] && BASE="http://127.0.0.1:$port"
  # Ready once a broker connection is up.
  for _ in $(seq 1 100); do
    curl -sf "$ADMIN/readyz" >/dev/null && return 0
    sleep 0.1
  done
  cat "$log"; fail "bridge never became ready"
}

stop_bridge() {
  [ -n "${BRIDGE_PID:-}" ] || return 0
  kill -TERM "$BRIDGE_PID" 2>/dev/null || true
  local rc=0; wait "$BRIDGE_PID" || rc=$?
  BRIDGE_PID=""
  return $rc
}

# Fails if a sanitizer (ASan, UBSan, LSan) reported anything in the logs.
check_sanitizers() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|AddressSanitizer:DEADLYSIGNAL' "$f"; then
      grep -m5 -A20 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" >&2
      fail "sanitizer report in $f"
    fi
  done
}

# Starts the fake Telnyx API (tests/fake_telnyx) with N events and extra
# arguments; sets FAKE_PID, FAKE (its base URL) and the bridge's API env.
FAKE_PID=""
start_fake() {
  [ -n "$FAKE_PID" ] && { kill $FAKE_PID 2>/dev/null; wait $FAKE_PID 2>/dev/null || true; }
  python3 "$PB_SOURCE_DIR/tests/fake_telnyx/fake_telnyx.py" --events "$1" "${@:2}" > "$WORK/fake.out" 2>&1 &
  FAKE_PID=$!
  # Python starts in well under a second, but not on a machine running two
  # test lanes at load 15 (10 s was not enough once: the test then talked
  # to port 80).
  for _ in $(seq 1 300); do grep -q listening "$WORK/fake.out" && break; sleep 0.1; done
  grep -q listening "$WORK/fake.out" || { cat "$WORK/fake.out"; fail "the fake Telnyx API did not start within 30 s"; }
  FAKE="http://127.0.0.1:$(sed -n 's/listening on //p' "$WORK/fake.out")"
  export TELNYX_API_BASE="$FAKE/v2" TELNYX_API_KEY=test-key
}
stop_fake() { [ -n "$FAKE_PID" ] && { kill $FAKE_PID 2>/dev/null; wait $FAKE_PID 2>/dev/null || true; }; FAKE_PID=""; }

# A broker of this test's own on port $1 (stopping it disturbs no other
# test); sets BOOTSTRAP. own_broker_stop / own_broker_start control it.
own_broker() {
  OWN_PORT=$1
  BOOTSTRAP=$(KAFKA_PORT=$OWN_PORT bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" start)
}
own_broker_start() { KAFKA_PORT=$OWN_PORT bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" start > /dev/null; }
own_broker_stop() { KAFKA_PORT=$OWN_PORT bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" stop 2>/dev/null || true; }

# Prints the ce_id of every record of this run's event topics, one per line.
event_ids() {
  local t
  for t in status-changed foc-date-changed new-comment; do
    { kcat -C -b "$BOOTSTRAP" -t "$(topic $t)" -o beginning -e -q -f '%h\n' 2>/dev/null || true; } \
      | tr ',' '\n' | sed -n 's/^ce_id=//p'
  done
}

# Signs and posts a body file: post_signed URL BODYFILE [TS_OFFSET] -> "STATUS BODY"
post_signed() {
  local ts sig
  ts=$(( $(date +%s) + ${3:-0} ))
  sig=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/keys/dev-private.pem" "$2" "$ts")
  curl -s -o "$WORK/resp" -w '%{http_code}' -X POST "$1" -H 'content-type: application/json' \
       -H "telnyx-timestamp: $ts" -H "telnyx-signature-ed25519: $sig" --data-binary @"$2"
  echo " $(cat "$WORK/resp")"
}

# post_signed, retried as Telnyx retries a 503 (the bridge keeps the event
# for the next attempt: a view behind on a loaded machine, a broker away),
# at most 10 times, 0.5 s apart; prints the last answer.
post_signed_retry() {
  local r i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    r=$(post_signed "$@")
    [[ "$r" == 503* ]] || break
    sleep 0.5
  done
  echo "$r"
}

# Number of records in a topic of this run.
topic_count() {
  kcat -C -b "$BOOTSTRAP" -t "$1" -o beginning -e -q -f '.\n' 2>/dev/null | wc -l
}

# The state topic read as a table (latest record per key) vs the fake's
# port-outs, field for field: prints {records, keys, fake, missing, differ,
# dup (a key with two records of one updated_at), bad (not a state record)}.
# STATE_DROP: members the privacy policy drops, left out of the comparison.
compare() {
  : > "$WORK/state.json"
  consume "$(topic state)" "$WORK/state.json"
  curl -sf "$FAKE/_admin/portouts" > "$WORK/fake.json"
  node -e '
    const fs = require("fs");
    const recs = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
    const fake = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).portouts;
    for (const p of fake) for (const k of (process.argv[3] || "").split(",")) if (k) delete p[k];
    const table = new Map(), seen = new Set();
    let dup = 0, bad = 0;
    for (const r of recs) {
      const e = JSON.parse(r.payload);
      if (e.type !== "com.telnyx.portout.state" || e.subject !== r.key || e.time !== e.data.updated_at) bad++;
      const k = r.key + "|" + e.data.updated_at;
      if (seen.has(k)) dup++;
      seen.add(k);
      table.set(r.key, e.data);
    }
    let missing = 0, differ = 0;
    for (const p of fake) {
      const t = table.get(p.id);
      if (!t) missing++;
      else if (JSON.stringify(t) !== JSON.stringify(p)) differ++;
    }
    console.log(JSON.stringify({records: recs.length, keys: table.size, fake: fake.length, missing, differ, dup, bad}));
  ' "$WORK/state.json" "$WORK/fake.json" "${STATE_DROP:-}"
}
# Waits up to $1 s for the table to equal the fake; sets c to the last compare.
converged() {
  for _ in $(seq 1 ${1:-60}); do
    c=$(compare)
    echo "$c" | grep -q '"missing":0,"differ":0' && return 0
    sleep 1
  done
  echo "$c" >&2
  return 1
}

# Apache Kafka's own kafka-topics tool (TopicCommand from the broker's jars),
# against $BOOTSTRAP: a view of the cluster the bridge did not write.
kafka_topics() {
  local lib=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge/kafka-${KAFKA_VERSION:-4.1.1}/lib
  java ${KAFKA_JVM_OPTS:-} -cp "$lib/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" "$@" 2>/dev/null
}
