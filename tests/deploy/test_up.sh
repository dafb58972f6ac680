#!/usr/bin/env bash
# The README's first command, as a newcomer runs it: scripts/up.sh in a fresh
# clone (its own dependencies step, build, broker, bridge, samples). Then every
# URL and command its closing summary prints is followed and must answer as
# the summary says, and `up.sh down` must stop what it started. The clone is
# of the committed HEAD.
source "$(dirname "$0")/lib.sh"
need git; need curl; need kcat; need node
STATE=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge
git clone -q "$PB_SOURCE_DIR" "$WORK/clone"
# the clone's node tools (telnyx-sign.js) need no packages; tests/js is not used
cd "$WORK/clone"
cleanup() { bash scripts/up.sh down > /dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

# A broker already running (the suite's, which other tests use meanwhile)
# is not up.sh's to stop; one it starts is.
was_running=0; bash scripts/kafka-local.sh status > /dev/null 2>&1 && was_running=1
bash scripts/up.sh > "$WORK/up.out" 2>&1 || { tail -30 "$WORK/up.out"; fail "up.sh exited $?"; }
grep -q '^The pipeline is up.' "$WORK/up.out" || { tail -30 "$WORK/up.out"; fail "no closing summary"; }
summary=$(sed -n '/^The pipeline is up./,$p' "$WORK/up.out")
field() { sed -n "s/^  $1: *//p" <<< "$summary"; }

# What landed is shown: a record of each sample type, read back by kcat.
for t in status-changed foc-date-changed new-comment; do
  grep -A3 -e "--- telnyx.portouts.$t" "$WORK/up.out" | grep -q 'value: {"specversion":"1.0"' \
    || fail "up.sh showed no record of telnyx.portouts.$t"
done
grep -q '(HTTP 401)' "$WORK/up.out" || fail "the unsigned request was not shown refused"

# Kafka: the bootstrap it names answers.
bootstrap=$(field Kafka | awk '{print $1}')
kcat -L -b "$bootstrap" -m 5 > /dev/null 2>&1 || fail "Kafka at $bootstrap (from the summary) does not answer"

# Health: every curl it prints answers 200 with what it is for.
health=$(field Health)
mapfile -t urls < <(grep -o 'http://[^ ;]*' <<< "$health")
[ "${#urls[@]}" -eq 2 ] || fail "Health line names ${#urls[@]} URLs: $health"
ready=$(curl -s -w '\n%{http_code}' "${urls[0]}")
[ "$(tail -1 <<< "$ready")" = 200 ] && grep -q '"status":"ready"' <<< "$ready" || fail "${urls[0]}: $ready"
metrics=$(curl -s -w '\n%{http_code}' "${urls[1]}")
[ "$(tail -1 <<< "$metrics")" = 200 ] && grep -q '^portout_bridge_http_requests_total{code="200"' <<< "$metrics" \
  || fail "${urls[1]}: $(head -5 <<< "$metrics")"

# Bridge: the webhook URL takes a signed event; "Post more" is that command.
hook=$(field Bridge | awk '{print $1}')
post=$(field 'Post more')
cmd=${post/FILE.json/tests/fixtures/webhook-status-changed.json}
out=$(eval "$cmd") || fail "'$cmd': $out"
grep -q '^200 ' <<< "$out" && grep -q '"duplicate"' <<< "$out" || fail "'$cmd' (a sample already sent): $out"
[[ $cmd == *"$hook"* ]] || fail "Post more does not post to the Bridge URL $hook"

# Watch: the kcat command shows records.
watch=$(field Watch)
timeout 20 bash -c "$watch -e -q" > "$WORK/watch.out" 2>&1 || fail "'$watch': $(head -3 "$WORK/watch.out")"
grep -q '"type":"com.telnyx.portout.status_changed"' "$WORK/watch.out" || fail "'$watch' shows no status change"

# A second run is idempotent: the samples are answered as duplicates.
bash scripts/up.sh > "$WORK/up2.out" 2>&1 || { tail -30 "$WORK/up2.out"; fail "second up.sh exited $?"; }
grep -q '^200 .*"duplicate"' "$WORK/up2.out" || fail "second up.sh: samples not answered duplicate"
pass "up.sh in a fresh clone: samples landed and shown; Kafka, readyz, metrics, the webhook URL, 'Post more' and 'Watch' answer as its summary says; a second run is idempotent"

# Stop all: the bridge and the broker are gone.
pid=$(cat "$STATE/bridge.pid")
stop=$(field 'Stop all')
[ "$stop" = "scripts/up.sh down" ] || fail "Stop all: $stop"
bash scripts/up.sh down > /dev/null 2>&1 || fail "up.sh down"
! kill -0 "$pid" 2>/dev/null || fail "the bridge (pid $pid) still runs after up.sh down"
! curl -s -m 2 "${urls[0]}" > /dev/null || fail "${urls[0]} still answers after up.sh down"
if [ $was_running = 0 ]; then
  ! kcat -L -b "$bootstrap" -m 3 > /dev/null 2>&1 || fail "Kafka still answers after up.sh down"
  pass "up.sh down stops the bridge and the broker it started"
else
  kcat -L -b "$bootstrap" -m 3 > /dev/null 2>&1 || fail "up.sh down stopped a broker it had not started"
  pass "up.sh down stops the bridge, and leaves the broker it found running (the suite's)"
fi
