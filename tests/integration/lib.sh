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
# A skip is an exit code that no program of ours returns (the bridge's 77 is
# "Kafka refused the credentials": a skip there would hide a failure), and
# scripts/test.sh fails on any skip it was not told to allow.
PB_SKIP=98
skip() { echo "SKIP: $*"; exit $PB_SKIP; }
[ -n "${PB_KAFKA_BOOTSTRAP:-}" ] || skip "PB_KAFKA_BOOTSTRAP is not set (scripts/test.sh starts the local broker)"
BOOTSTRAP=$PB_KAFKA_BOOTSTRAP
FIX=$PB_SOURCE_DIR/tests/fixtures
JS=$PB_SOURCE_DIR/tests/js
# Unique topics per run: the broker outlives test runs.
RUN_ID=${RUN_ID:-$(date +%s)-$$-$RANDOM}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pb-it-XXXXXX")
# Removes the work directory, or keeps it (and says where) with PB_KEEP_WORK=1.
work_done() { if [ -n "${PB_KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap 'trap - ERR; work_done' EXIT

# A failure ends the test wherever it is called: in a command substitution
# or a pipeline's subshell too (an exit there alone would leave the test
# running, with an empty value where the failed one was).
fail() {
  echo "FAIL: $*" >&2
  [ "$BASHPID" = "$$" ] || kill -USR1 $$ 2>/dev/null
  exit 1
}
trap 'exit 1' USR1
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

# fleet_config [KEY=SUFFIX...]: write_config for replicas of one fleet that
# elect their leader through Kafka (the control topic and poll group of this
# run, a 6 s session timeout), with a webhook on any port, polling every
# 5 s, a 60 s API timeout and quick retries; each KEY=SUFFIX adds the topic
# KEY = topic SUFFIX. The caller appends the sections of its own.
fleet_config() {
  write_config
  cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; };
telnyx = { poll_enabled = true; checkpoint_store = "kafka"; poll_group = "it-$RUN_ID-poller";
           poll_session_timeout_ms = 6000; poll_interval_s = 5; poll_lookback_s = 60;
           timeout_ms = 60000; retry_base_ms = 50; retry_max_ms = 200;
           checkpoint_file = "$WORK/none.json"; };
CONF
  local kv lines="  control = \"it.$RUN_ID.control\";"
  for kv in "$@"; do lines+=$'\n'"  ${kv%%=*} = \"$(topic "${kv#*=}")\";"; done
  awk -v ins="$lines" '{ print } /^topics = \{$/ && !done { print ins; done = 1 }' \
    "$WORK/bridge.conf" > "$WORK/bridge.conf.new" && mv "$WORK/bridge.conf.new" "$WORK/bridge.conf"
}

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
  local conf=$1 log=${2:-$WORK/bridge.log} tries=0
  ${PB_WRAP:-} "$PB_BIN" -c "$conf" run > "$log" 2>&1 &
  BRIDGE_PID=$!
  for _ in $(seq 1 300); do
    grep -qE 'msg="running|"msg":"running' "$log" && break
    if ! kill -0 $BRIDGE_PID 2>/dev/null; then
      # A fixed port a killed bridge held a moment ago (test_kill9): the
      # kernel may not have let it go yet; again, a few times.
      if grep -q "cannot listen on .*address in use" "$log" && [ $((tries += 1)) -le 10 ]; then
        sleep 0.3
        ${PB_WRAP:-} "$PB_BIN" -c "$conf" run > "$log" 2>&1 &
        BRIDGE_PID=$!
        continue
      fi
      cat "$log"; fail "bridge exited at start"
    fi
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
# port-outs, field for field, both ways: prints {records, keys, fake,
# missing, differ, extra (a key the fake does not hold), dup (a key with two
# records of one updated_at), bad (not a state record)}.
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
    const ids = new Set(fake.map((p) => p.id));
    const extra = [...table.keys()].filter((k) => !ids.has(k)).length;
    console.log(JSON.stringify({records: recs.length, keys: table.size, fake: fake.length, missing, differ, extra, dup, bad}));
  ' "$WORK/state.json" "$WORK/fake.json" "${STATE_DROP:-}"
}
# Waits up to $1 s for the table to equal the fake; sets c to the last compare.
converged() {
  for _ in $(seq 1 ${1:-60}); do
    c=$(compare)
    echo "$c" | grep -q '"missing":0,"differ":0,"extra":0' && return 0
    sleep 1
  done
  echo "$c" >&2
  return 1
}

# Apache Kafka's own kafka-topics tool (TopicCommand from the broker's jars),
# against $BOOTSTRAP: a view of the cluster the bridge did not write.
kafka_topics() {
  bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$BOOTSTRAP" "$@" 2>/dev/null
}

# Every record of this run's event topics as "ce_id ingestpath", one a line:
# which path each copy came by (a webhook answered 200 must have its own).
records_by_path() {
  local t
  for t in status-changed foc-date-changed new-comment; do
    { kcat -C -b "$BOOTSTRAP" -t "$(topic $t)" -o beginning -e -q -f '%h\n' 2>/dev/null || true; } |
      sed -n 's/.*ce_id=\([^,]*\),.*ce_ingestpath=\([a-z]*\).*/\1 \2/p'
  done
}

# Waits until every admin listener given says nothing is on its way to
# Kafka (events in flight and the producer's queue both 0, twice 0.2 s
# apart): what lands has landed. Instead of a sleep that stands for it.
wait_quiet() { # wait_quiet ADMIN_URL...
  local a n quiet=0
  for _ in $(seq 1 150); do
    n=0
    for a in "$@"; do
      curl -s --max-time 2 "$a/metrics" | awk '
        /^portout_bridge_events_in_flight / || /^portout_bridge_producer_queue_depth / {s += $2; seen++}
        END {exit (seen == 2 && s == 0) ? 0 : 1}' || n=$((n + 1))
    done
    if [ $n = 0 ]; then quiet=$((quiet + 1)); [ $quiet -ge 2 ] && return 0; else quiet=0; fi
    sleep 0.2
  done
  fail "still in flight after 30 s: $(for a in "$@"; do curl -s "$a/metrics" | grep -E '^portout_bridge_(events_in_flight|producer_queue_depth) '; done | tr '\n' ' ')"
}

# Stops a bridge with SIGTERM and checks how it ended: 0, or 75 when Kafka
# did not take everything in time (the documented "undelivered" exit); a
# crash (a signal, a sanitizer's abort) or any other code fails the test.
stop_checked() { # stop_checked PID WHAT
  kill -TERM "$1" 2>/dev/null || fail "$2: not running at its stop"
  local rc=0; wait "$1" || rc=$?
  [ $rc = 0 ] || [ $rc = 75 ] || fail "$2: exited $rc at SIGTERM (a crash?)"
}

# Milliseconds on the monotonic clock (for bounds finer than $SECONDS).
now_ms() { awk '{printf "%d\n", $1 * 1000}' /proc/uptime; }
# The room a latency bound gets: PB_LATENCY_SLACK (scripts/test.sh sets 2
# for the sanitizer binary).
SLACK=${PB_LATENCY_SLACK:-1}

# metric ADMIN NAME [LABELS]: the sum of every series of NAME (those whose
# labels contain the text LABELS, if given). A metric that is not exported
# fails the test: it must not read as 0.
metric() {
  local m; m=$(curl -s --max-time 5 "$1/metrics") || fail "metrics at $1: no answer"
  awk -v n="$2" -v l="${3:-}" '
    /^#/ { next }
    { name = $1; sub(/\{.*/, "", name) }
    name == n && index($1, l) { s += $2; seen = 1 }
    END { if (!seen) exit 1; printf "%d\n", s }' <<< "$m" \
    || fail "metric $2${3:+ {$3}} is not exported at $1"
}

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it
# succeeds; fails the test, naming WHAT, if it has not within SECONDS.
# Instead of a sleep that stands for the condition.
wait_for() {
  local secs=$1 what=$2 until
  until=$(($(now_ms) + secs * 1000))
  shift 2
  until "$@" 2>/dev/null; do
    [ "$(now_ms)" -lt $until ] || fail "not within $secs s: $what"
    sleep 0.2
  done
}

# --- A fleet of replicas, as behind a load balancer. P[N] is replica N's
# pid, ADM[N] its admin URL, PORT[N] its webhook port and URL[N] that port
# with WEBHOOK_PATH (default /hook), RUNS[N] how often it was started; it
# logs to $WORK/rN.log, appended across restarts.
P=(); ADM=(); PORT=(); URL=(); RUNS=()
# start_replica N [CONF] [WEBHOOK_PORT]: starts it and waits for its
# "running" line (not for readiness: see ready_replica). WEBHOOK_PORT binds
# a fixed port (a restart keeping its place behind the balancer); CONF must
# then say `port = 0; paths`.
start_replica() {
  local n=$1 conf=${2:-$WORK/bridge.conf} port=${3:-} tries=0
  if [ -n "$port" ]; then
    sed "s/port = 0; paths/port = $port; paths/" "$conf" > "$WORK/r$n.conf"
    conf=$WORK/r$n.conf
  fi
  RUNS[$n]=$((${RUNS[$n]:-0} + 1))
  "$PB_BIN" -c "$conf" run >> "$WORK/r$n.log" 2>&1 &
  P[$n]=$!
  for _ in $(seq 1 300); do
    [ "$(grep -c 'msg="running' "$WORK/r$n.log")" -ge "${RUNS[$n]}" ] && break
    if ! kill -0 "${P[$n]}" 2>/dev/null; then
      # a fixed port that a killed replica held a moment ago: again
      if grep -q "cannot listen on .*address in use" "$WORK/r$n.log" && [ $((tries += 1)) -le 10 ]; then
        sleep 0.3
        "$PB_BIN" -c "$conf" run >> "$WORK/r$n.log" 2>&1 &
        P[$n]=$!
        continue
      fi
      cat "$WORK/r$n.log"; fail "replica $n exited at its start"
    fi
    sleep 0.1
  done
  [ "$(grep -c 'msg="running' "$WORK/r$n.log")" -ge "${RUNS[$n]}" ] || { cat "$WORK/r$n.log"; fail "replica $n did not start"; }
  ADM[$n]="http://127.0.0.1:$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$WORK/r$n.log" | tail -1)"
  PORT[$n]=$(sed -n 's/.*msg="listening on [0-9.]*:\([0-9]*\),.*/\1/p' "$WORK/r$n.log" | tail -1)
  URL[$n]="http://127.0.0.1:${PORT[$n]}${WEBHOOK_PATH:-/hook}"
}
# ready_replica N: waits until it answers /readyz 200 (Kafka up, index loaded).
ready_replica() {
  for _ in $(seq 1 600); do curl -sf "${ADM[$1]}/readyz" > /dev/null && return 0; sleep 0.1; done
  cat "$WORK/r$1.log"; fail "replica $1 never ready: $(curl -s "${ADM[$1]}/readyz")"
}
# live_replicas: the numbers of the replicas running now.
live_replicas() {
  local i
  for i in "${!P[@]}"; do [ -n "${P[$i]}" ] && kill -0 "${P[$i]}" 2>/dev/null && echo "$i"; done
  return 0
}
# holding GAUGE: the live replicas whose GAUGE is 1 (portout_bridge_poll_leader,
# portout_bridge_state_writer), one a line.
holding() {
  local i m
  for i in $(live_replicas); do
    # the whole answer first: grep -q would stop early, curl die of SIGPIPE
    m=$(curl -s --max-time 2 "${ADM[$i]}/metrics" || true)
    grep -q "^$1 1$" <<< "$m" && echo "$i"
  done
  return 0
}
leader_of() { holding portout_bridge_poll_leader; }
# wait_single GAUGE: waits (30 s) for exactly one live replica holding
# GAUGE; sets HOLDER to it.
wait_single() {
  local h
  for _ in $(seq 1 300); do
    h=$(holding "$1")
    [ "$(grep -c . <<< "$h")" = 1 ] && { HOLDER=$h; return 0; }
    sleep 0.1
  done
  fail "not exactly one replica with $1 = 1: $(holding "$1" | tr '\n' ' ')"
}
# wait_leader: the single poll leader, in LEADER.
wait_leader() { wait_single portout_bridge_poll_leader; LEADER=$HOLDER; }
# stop_replica N SIGNAL: TERM must end it cleanly (stop_checked), and its log
# must hold no sanitizer report; KILL, STOP and others are faults, not checked.
stop_replica() {
  if [ "$2" = TERM ]; then
    stop_checked "${P[$1]}" "replica $1"
    check_sanitizers "$WORK/r$1.log"
  else
    kill "-$2" "${P[$1]}"; wait "${P[$1]}" 2>/dev/null || true
  fi
  P[$1]=""
}
# stop_replicas: every live replica stopped with TERM, each checked.
stop_replicas() {
  local i
  for i in $(live_replicas); do stop_replica "$i" TERM; done
}
# kill_replicas: for EXIT traps; whatever runs is killed.
kill_replicas() {
  local p
  for p in "${P[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  return 0
}

# --- The fake's webhook sender (Telnyx delivering with retries).
# sender_start JSON: starts it with the run's key, sending to SEND_TO (URLs,
# space-separated) or else to every live replica; JSON adds or overrides
# options (rate, count, skip_every...).
sender_start() {
  local urls i
  if [ -n "${SEND_TO:-}" ]; then
    urls=$(for i in $SEND_TO; do printf '"%s",' "$i"; done)
  else
    urls=$(for i in $(live_replicas); do printf '"%s",' "${URL[$i]}"; done)
  fi
  curl -sf -X POST "$FAKE/_admin/webhooks/start" -d "$(python3 -c '
import json, sys
o = {"urls": json.loads("[" + sys.argv[1].rstrip(",") + "]"), "key": sys.argv[2], "threads": 12}
o.update(json.loads(sys.argv[3]))
print(json.dumps(o))' "$urls" "$WORK/keys/dev-private.pem" "${1:-{\}}")" > /dev/null
}
sender_summary() { curl -sf "$FAKE/_admin/webhooks?summary=1"; }
# sender_done [SECONDS]: waits for the sender to finish (every event created,
# none queued or in flight); fails, saying where it stands, if it does not.
sender_done() {
  local until=$(($(now_ms) + ${1:-120} * 1000))
  while [ "$(now_ms)" -lt $until ]; do
    sender_summary | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("done") else 1)' && return 0
    sleep 0.2
  done
  fail "the sender did not finish in ${1:-120} s: $(sender_summary)"
}
# sender_acked N: waits (60 s) until at least N of its events were answered 2xx.
_acked_ge() { sender_summary | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["acked_count"] >= int(sys.argv[1]) else 1)' "$1"; }
sender_acked() { wait_for 60 "$1 events acknowledged by the bridge" _acked_ge "$1"; }
# polled_past_last [SECONDS] [CONF]: waits until the poll's checkpoint (in
# Kafka or the file, as CONF, default $WORK/bridge.conf, says) has passed
# the fake's newest event.
polled_past_last() {
  local last cp="" conf=${2:-$WORK/bridge.conf}
  last=$(curl -sf "$FAKE/_admin/events" | python3 -c 'import json,sys; print(max(e["created_at"] for e in json.load(sys.stdin)["events"]))')
  for _ in $(seq 1 $((${1:-60} * 5))); do
    cp=$("$PB_BIN" -c "$conf" checkpoint 2>/dev/null | cut -d' ' -f1 || true)
    [[ "$cp" == 2* ]] && [[ "$cp" > "$last" || "$cp" = "$last" ]] && return 0 # "none" sorts after digits
    sleep 0.2
  done
  fail "the checkpoint ($cp) never reached the last event ($last)"
}
