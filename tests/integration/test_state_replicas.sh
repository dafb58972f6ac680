#!/usr/bin/env bash
# The state topic from a load-balanced fleet: three replicas take webhooks
# (round robin, one in three never sent: only a poll finds it) and poll with
# the checkpoint in Kafka; the elected leader writes the state. It is killed
# (-9) mid-run. After the run, the state topic read as a table equals the
# fake's port-outs field for field, and no key has two records with the same
# updated_at.
source "$(dirname "$0")/lib.sh"
P=()
trap 'trap - ERR; for p in "${P[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done; stop_fake; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
start_fake 0
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; ack_timeout_ms = 1500; };
telnyx = { poll_enabled = true; checkpoint_store = "kafka"; poll_group = "it-$RUN_ID-poller";
           poll_session_timeout_ms = 6000; poll_interval_s = 1; poll_overlap_s = 5; poll_settle_s = 2;
           poll_lookback_s = 3600; reconcile_margin_s = 30;
           retry_base_ms = 50; retry_max_ms = 200; checkpoint_file = "$WORK/none.json"; };
state = { enabled = true; group = "it.$RUN_ID.state"; coalesce_ms = 300; resync_interval_s = 0; };
CONF
sed -i "s|^topics = {|topics = {\n  control = \"it.$RUN_ID.control\";\n  state = \"$(topic state)\";|" "$WORK/bridge.conf"

start_replica() { # start_replica N
  "$PB_BIN" -c "$WORK/bridge.conf" run > "$WORK/r$1.log" 2>&1 &
  P[$1]=$!
  for _ in $(seq 1 200); do grep -q 'msg="running' "$WORK/r$1.log" && break; sleep 0.1; done
  grep -q 'msg="running' "$WORK/r$1.log" || { cat "$WORK/r$1.log"; fail "replica $1 did not start"; }
  ADM[$1]="http://127.0.0.1:$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$WORK/r$1.log" | tail -1)"
  URL[$1]="http://127.0.0.1:$(sed -n 's/.*msg="listening on [0-9.]*:\([0-9]*\),.*/\1/p' "$WORK/r$1.log" | tail -1)/hook"
}
writer() { # the replica whose state_writer gauge is 1, if exactly one
  local i found=""
  for i in 1 2 3; do
    [ -n "${P[$i]:-}" ] && kill -0 "${P[$i]}" 2>/dev/null || continue
    local m; m=$(curl -s --max-time 2 "${ADM[$i]}/metrics" || true)
    grep -q '^portout_bridge_state_writer 1$' <<< "$m" && found="$found $i"
  done
  [ "$(echo $found | wc -w)" = 1 ] && echo $found
  return 0
}
wait_writer() {
  for _ in $(seq 1 300); do W=$(writer); [ -n "$W" ] && return 0; sleep 0.1; done
  fail "no single state writer"
}
for i in 1 2 3; do start_replica $i; done
for i in 1 2 3; do
  for _ in $(seq 1 600); do curl -sf "${ADM[$i]}/readyz" > /dev/null && break; sleep 0.1; done
done
wait_writer
first=$W
urls=$(printf '"%s",' "${URL[@]}"); urls="[${urls%,}]"
curl -sf -X POST "$FAKE/_admin/webhooks/start" \
  -d "{\"urls\": $urls, \"key\": \"$WORK/keys/dev-private.pem\", \"rate\": 40, \"count\": 400, \"skip_every\": 3, \"threads\": 12}" > /dev/null
sleep 4
kill -9 "${P[$first]}"
P[$first]=""
pass "killed the state writer (replica $first, -9) mid-run"
wait_writer
pass "replica $W took over the state"
for _ in $(seq 1 600); do
  curl -sf "$FAKE/_admin/webhooks?summary=1" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("done") else 1)' && break
  sleep 0.2
done
converged 120 || { tail -20 "$WORK/r$W.log"; fail "the state topic did not converge to the fake's port-outs"; }
echo "$c" | grep -q '"dup":0,"bad":0' || fail "a key with two records of one updated_at, or not a state record: $c"
pass "after the kill, the table equals the fake's port-outs ($c)"
calls=$(curl -sf "${ADM[$W]}/metrics" | sed -n 's/^portout_bridge_state_api_calls_total //p')
events=$(curl -sf "${ADM[$W]}/metrics" | sed -n 's/^portout_bridge_state_events_total //p')
pass "the new writer read $events event record(s) and made $calls API call(s)"
for i in 1 2 3; do [ -n "${P[$i]:-}" ] && kill -TERM "${P[$i]}"; done
for i in 1 2 3; do [ -n "${P[$i]:-}" ] && { wait "${P[$i]}" || true; }; done
P=()
check_sanitizers "$WORK"/r*.log
