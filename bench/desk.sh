#!/usr/bin/env bash
# Benchmark (measures, never fails a build): the desk's commands through
# the fake Telnyx API. N authorize, reject and comment commands (a third
# each, each for its own pending port-out) are written to a fresh commands
# topic of the local broker; one `run` with desk.enabled carries them out.
# Prints commands per second (first result to last), the bridge's CPU per
# command, and the fake's calls. Each command costs a GET (the status), a
# synchronous offset commit (the intent), the call, a result acknowledged
# by Kafka and a second commit: the at-most-once protocol of docs/design.md,
# measured as it runs (one instance; in an elected fleet each command also
# costs up to four fence commits in the election's group: before its
# intent, its call, its result and the commit past it).
#   bench/desk.sh [N]    (default 3000)
#   bench/desk.sh --faults [N]   the suite's fleet test (integration.desk:
#        three replicas, kills, a rolling restart, a replay) with N commands
#        of each type per batch (default 150; the suite runs 40, and 20
#        under ASan), against the local broker
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --faults ]; then
  bash scripts/install-deps.sh >/dev/null
  bash scripts/build.sh build >/dev/null
  PB_KAFKA_BOOTSTRAP=$(bash scripts/kafka-local.sh start) PB_BIN=$PWD/build/portout-bridge \
    PB_SOURCE_DIR=$PWD PB_DESK_COMMANDS=${2:-150} exec bash tests/integration/test_desk.sh
fi
N=${1:-3000}
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh build >/dev/null
B=$(bash scripts/kafka-local.sh start)
W=$(mktemp -d); RUN=bench-desk-$(date +%s)
python3 tests/fake_telnyx/fake_telnyx.py --events 0 --portouts 1 > "$W/fake.out" 2>&1 &
FPID=$!
BPID=
trap 'kill $FPID $BPID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 300); do grep -q listening "$W/fake.out" && break; sleep 0.1; done
FAKE=http://127.0.0.1:$(sed -n 's/listening on //p' "$W/fake.out")
export TELNYX_API_BASE=$FAKE/v2 TELNYX_API_KEY=test-key
python3 -c "import json; print(json.dumps({'ages_s': [60] * $N}))" | curl -sf "$FAKE/_admin/portouts/create" -d @- > "$W/made.json"
python3 - "$W/made.json" > "$W/cmds.tsv" <<'PY'
import datetime as dt, json, sys
now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
for i, p in enumerate(json.load(open(sys.argv[1]))["data"]):
    t, data = [("authorize", {"reason": f"a-{i}"}), ("reject", {"reason": f"r-{i}"}),
               ("comment", {"body": f"c-{i}"})][i % 3]
    print(p["id"] + "\t" + json.dumps({"specversion": "1.0", "id": f"b-{i}", "source": "urn:bench",
          "type": f"com.telnyx.portout.{t}", "subject": p["id"], "time": now, "data": data}))
PY
kcat -P -b "$B" -t "$RUN.commands" -K $'\t' < "$W/cmds.tsv"
cat > "$W/desk.conf" <<CONF
log = { level = "warn"; };
kafka = { brokers = "$B"; };
topics = { status_changed = "$RUN.sc"; foc_date_changed = "$RUN.foc"; new_comment = "$RUN.nc";
           other = "$RUN.other"; dead_letter = "$RUN.dlq"; commands = "$RUN.commands";
           command_results = "$RUN.results"; };
webhook = { enabled = false; };
admin = { address = "127.0.0.1"; port = 8099; };
desk = { enabled = true; group = "$RUN.desk"; };
CONF
cpu_ms() { awk '{print ($14 + $15) * 1000 / 100}' "/proc/$1/stat"; }
done_n() { curl -s http://127.0.0.1:8099/metrics | awk '/^portout_bridge_desk_commands_total/ {s += $2} END {print s + 0}'; }
./build/portout-bridge -c "$W/desk.conf" run 2> "$W/run.log" &
BPID=$!
until [ "$(done_n)" -ge 1 ]; do sleep 0.05; done
t0=$(date +%s.%N); c0=$(cpu_ms $BPID); d0=$(done_n)
until [ "$(done_n)" -ge "$N" ]; do sleep 0.2; done
t1=$(date +%s.%N); c1=$(cpu_ms $BPID)
calls=$(curl -sf "$FAKE/_admin/calls" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))')
n=$((N - d0))
echo "desk: $N commands, $calls calls to the fake; $n timed in $(echo "$t1 - $t0" | bc) s:" \
  "$(echo "scale=1; $n / ($t1 - $t0)" | bc) commands/s, $(echo "scale=0; ($c1 - $c0) * 1000 / $n" | bc) us CPU each"
kill -TERM $BPID; wait $BPID || true; BPID=
