#!/usr/bin/env bash
# Kafka as companies run it (tests/integration/secure_kafka.sh): TLS
# everywhere, SASL (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN, OAUTHBEARER with
# OIDC) or client certificates, StandardAuthorizer denying whatever no ACL
# allows, topics made by an admin, and for the bridge's principal only the
# ACLs `check-config --acls` prints (the list docs/operations.md shows). In
# each mode:
#  1. three replicas (webhooks round robin, polling with checkpoint_store =
#     "kafka") elect one poller; every event, by webhook or poll alone, is in
#     Kafka once; /readyz is ready;
#  2. replay and backfill publish.
# Then what an operator gets wrong: a wrong password, an expired client
# certificate, one from another CA, a missing ACL, a missing CA file. Each
# is named in the first error line; replay exits early with 77 (78 for a
# file that does not exist); `run` is not ready and says why in /readyz and
# /metrics, without a retry storm (CPU idle). PB_SECURE_MODES picks modes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/secure_kafka.sh"
trap 'trap - ERR; kill_replicas; stop_fake; sec_broker_stop; work_done' EXIT
MODES=${PB_SECURE_MODES:-scram-512 scram-256 plain mtls oauthbearer}
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
# check-config, like run, wants the API key of a polling configuration (the
# fake API, started later, takes the same one).
export TELNYX_API_KEY=test-key
t0=$SECONDS
sec_broker_start
pass "secured broker (Kafka $SEC_KAFKA_VERSION) up in $((SECONDS - t0)) s: SASL_SSL on $SEC_SASL, mTLS on $SEC_MTLS, OIDC issuer $OIDC"

# The operator's kafka-acls.sh, as check-config --acls prints it: run as the
# admin, with the broker and admin config the printed line leaves to them.
BROKERS="127.0.0.1:$SEC_SASL" # what the printed commands name
kafka-acls.sh() { shift 4; sec_tool kafka-acls.sh "$@" > /dev/null; }
grant() { # grant CONF PRINCIPAL: every ACL check-config --acls prints
  "$PB_BIN" -c "$1" check-config --acls "$2" > "$WORK/acls.txt"
  local pids=() line
  while IFS= read -r line; do
    eval "$line" & pids+=($!)
  done < <(grep '^kafka-acls.sh ' "$WORK/acls.txt")
  local p; for p in "${pids[@]}"; do wait "$p" || fail "kafka-acls.sh failed"; done
}
make_topics() { # make_topics PREFIX
  local t pids=()
  for t in status-changed foc-date-changed new-comment other dlq; do
    sec_tool kafka-topics.sh --create --topic "$1.$t" --partitions 3 --replication-factor 1 > /dev/null & pids+=($!)
  done
  sec_tool kafka-topics.sh --create --topic "$1.control" --partitions 1 --replication-factor 1 > /dev/null & pids+=($!)
  for t in "${pids[@]}"; do wait "$t" || fail "kafka-topics.sh failed"; done
}
write_conf() { # write_conf FILE MODE PREFIX [password]
  cat > "$1" <<CONF
log = { level = "info"; };
kafka = { brokers = "$(sec_bootstrap "$2")"; properties = ( $(sec_client_props "$2" "${4:-}"), "message.timeout.ms=60000" ); };
admin = { address = "127.0.0.1"; port = 0; };
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; ack_timeout_ms = 5000; };
topics = {
  status_changed = "$3.status-changed"; foc_date_changed = "$3.foc-date-changed";
  new_comment = "$3.new-comment"; other = "$3.other"; dead_letter = "$3.dlq"; control = "$3.control";
};
telnyx = { poll_enabled = true; checkpoint_store = "kafka"; poll_group = "$3.poller";
           reconcile_group = "$3.reconcile";
           poll_session_timeout_ms = 6000; poll_interval_s = 1; poll_overlap_s = 5; poll_settle_s = 2;
           poll_lookback_s = 3600; reconcile_margin_s = 30;
           retry_base_ms = 50; retry_max_ms = 200; checkpoint_file = "$WORK/none.json"; };
CONF
}
records() { # records PREFIX: "ce_id ingestpath" of every record on the event topics
  local t
  for t in status-changed foc-date-changed new-comment; do
    { sec_kcat -C -t "$1.$t" -o beginning -e -q -f '%h\n' 2>/dev/null || true; } |
      sed -n 's/.*ce_id=\([^,]*\),.*ce_ingestpath=\([a-z]*\).*/\1 \2/p'
  done
}

for mode in $MODES; do
  t0=$SECONDS
  R=it.$RUN_ID.$mode
  conf=$WORK/$mode.conf
  write_conf "$conf" "$mode" "$R"
  make_topics "$R"
  # Before the ACLs: the operator's pre-flight says what is missing.
  rc=0; "$PB_BIN" -c "$conf" check-config --kafka > "$WORK/pre.out" 2>&1 || rc=$?
  [ $rc = 77 ] && grep -q '^✗ topic .*Topic authorization failed' "$WORK/pre.out" \
    || { cat "$WORK/pre.out"; fail "$mode: check-config --kafka before the ACLs exited $rc"; }
  grant "$conf" "$(sec_principal "$mode")"
  "$PB_BIN" -c "$conf" check-config --kafka > "$WORK/post.out" 2>&1 || { cat "$WORK/post.out"; fail "$mode: check-config --kafka with the ACLs"; }
  [ "$(grep -c '^✓ topic' "$WORK/post.out")" = 6 ] && [ "$(grep -c '^[✓?] group ' "$WORK/post.out")" = 2 ] \
    || { cat "$WORK/post.out"; fail "$mode: check-config --kafka table"; }
  ! grep -q '^✗' "$WORK/post.out" || { cat "$WORK/post.out"; fail "$mode: check-config --kafka"; }
  start_fake 0
  for i in 1 2 3; do start_replica $i "$conf"; done
  for i in 1 2 3; do ready_replica $i; done
  wait_leader
  sender_start '{"rate": 40, "count": 90, "skip_every": 3, "threads": 6}'
  sender_done 60
  curl -sf "$FAKE/_admin/webhooks" > "$WORK/acked.json"
  curl -sf "$FAKE/_admin/events" > "$WORK/events.json"
  polled_past_last 60 "$conf"
  records "$R" > "$WORK/records"
  python3 - "$WORK/events.json" "$WORK/acked.json" "$WORK/records" "$mode" > "$WORK/verdict" <<'PY' || { cat "$WORK/verdict"; fail "$mode: events lost or repeated"; }
import collections, json, sys
api = [e["id"] for e in json.load(open(sys.argv[1]))["events"]]
acked = json.load(open(sys.argv[2]))
recs = collections.Counter()
paths = collections.Counter()
for line in open(sys.argv[3]):
    i, p = line.split()
    recs[i] += 1
    paths[p] += 1
missing = [i for i in api if i not in recs]
dups = [i for i, n in recs.items() if n > 1]
print(f"{len(api)} events, {len(acked['acked'])} webhooks answered 200 (statuses {acked['status']}), "
      f"{sum(recs.values())} records ({dict(paths)}), {len(missing)} missing, {len(dups)} repeated")
assert len(api) == 90 and acked["done"], "the load did not happen"
assert not missing and not dups
assert paths["rest"] == 30, "one event in three is found by the poll alone"
PY
  "$PB_BIN" -c "$conf" check-config --kafka > "$WORK/post.out" 2>&1 || { cat "$WORK/post.out"; fail "$mode: check-config --kafka with the replicas' groups"; }
  grep -q "^✓ group $R.poller .*(needs READ)" "$WORK/post.out" || { cat "$WORK/post.out"; fail "$mode: the poll group's READ"; }
  stop_replicas
  # replay and backfill, one-shot, with the same principal and ACLs
  printf '{"data":{"event_type":"portout.status_changed","id":"replay-%s-1","occurred_at":"2026-03-05T12:30:45Z","payload":{"id":"po-r","status":"ported"},"record_type":"event"}}\n{"data":{"event_type":"portout.new_comment","id":"replay-%s-2","occurred_at":"2026-03-05T12:30:46Z","payload":{"id":"c-r","portout_id":"po-r","comment":"x"},"record_type":"event"}}\n' "$mode" "$mode" > "$WORK/replay.ndjson"
  "$PB_BIN" -c "$conf" replay --quiet "$WORK/replay.ndjson" > "$WORK/replay.out" 2>&1 || { cat "$WORK/replay.out"; fail "$mode: replay exited $?"; }
  grep -q '2 published' "$WORK/replay.out" || { cat "$WORK/replay.out"; fail "$mode: replay"; }
  "$PB_BIN" -c "$conf" backfill --quiet --since 2000-01-01T00:00:00Z > "$WORK/backfill.out" 2>&1 || { cat "$WORK/backfill.out"; fail "$mode: backfill exited $?"; }
  grep -q '90 event(s) read, 90 published' "$WORK/backfill.out" || { cat "$WORK/backfill.out"; fail "$mode: backfill"; }
  stop_fake
  pass "$mode as $(sec_principal "$mode"): $(cat "$WORK/verdict"); one poll leader; replay and backfill published ($((SECONDS - t0)) s)"
done

# --- what an operator gets wrong. PB_SECURE_REFUSALS: 1 (the default) all
# of it; "timing" only the documented give-up time of replay, backfill and
# fetch --publish (scripts/test.sh runs that on the plain binary, the whole
# on the sanitizer one); 0 none.
[ "${PB_SECURE_REFUSALS:-1}" != 0 ] || exit 0
R=it.$RUN_ID.faults
make_topics "$R"
# The ACLs of a publisher, all but WRITE on the new-comment topic.
write_conf "$WORK/ok.conf" scram-512 "$R"
sed -i 's/poll_enabled = true/poll_enabled = false/' "$WORK/ok.conf"
"$PB_BIN" -c "$WORK/ok.conf" check-config --acls User:bridge \
  | sed "s| --topic '$R.new-comment'||" > "$WORK/acls.txt"
while IFS= read -r line; do eval "$line"; done < <(grep '^kafka-acls.sh ' "$WORK/acls.txt")
mkdir -p "$WORK/events"
printf '{"data":{"event_type":"portout.new_comment","id":"denied-1","occurred_at":"2026-03-05T12:30:45Z","payload":{"id":"c-d","portout_id":"po-d","comment":"x"},"record_type":"event"}}\n' > "$WORK/denied.ndjson"
printf '{"data":{"event_type":"portout.status_changed","id":"fine-1","occurred_at":"2026-03-05T12:30:45Z","payload":{"id":"po-f","status":"ported"},"record_type":"event"}}\n' > "$WORK/fine.ndjson"

# The promise (README, operations.md): a one-shot command gives up after
# 5 s of refusals. Read from the bridge's own log where it can be: from the
# first authentication refusal to "giving up", at most 5 s plus the 0.5 s
# its timer may add (refusal_ms). The whole command's time adds its start
# (a librdkafka client, a TLS and SASL handshake, for fetch the API) and
# its exit: up to 1.1 s measured on two loaded cores (6.08 s for fetch
# --publish), so 2 s of room, times the slack. Without the promise the
# command would wait out message.timeout.ms (300 s).
GIVE_UP_MS=$((5000 + 2000 * SLACK))
refusal_ms() { # refusal_ms LOG: ms from the first authentication refusal to "giving up", -1 if either is missing
  python3 - "$1" <<'PY'
import datetime, re, sys
first = give = None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"ts=(\S+) ", line)
    if not m:
        continue
    t = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
    if first is None and "kafka: _AUTHENTICATION" in line:
        first = t
    if give is None and "kafka: giving up" in line:
        give = t
print(int((give - first).total_seconds() * 1000) if first and give else -1)
PY
}
check_refusal_span() { # check_refusal_span WHAT LOG
  local ms; ms=$(refusal_ms "$2")
  [ "$ms" -ge 0 ] && [ "$ms" -le $((5000 + 500 * SLACK)) ] ||
    { cat "$2"; fail "$1: gave up $ms ms after the first refusal (the promise: 5 s)"; }
  echo "$1: gave up $ms ms after the first refusal" >> "$WORK/faults"
}
# expect_refusal NAME CONF WANT_RC WANT_TEXT FILE: a one-shot replay gives up early, naming the cause
expect_refusal() {
  local t; t=$(now_ms); local rc=0
  "$PB_BIN" -c "$2" replay --quiet "$5" > "$WORK/$1.out" 2>&1 || rc=$?
  local took=$(($(now_ms) - t))
  [ "$rc" = "$3" ] || { cat "$WORK/$1.out"; fail "$1: replay exited $rc, want $3"; }
  [ "$took" -le $GIVE_UP_MS ] || fail "$1: replay took $took ms to give up (the promise: 5 s)"
  local first; first=$(grep -m1 -E 'level=error|^portout-bridge: |Kafka refused' "$WORK/$1.out" || true)
  grep -qi -- "$4" <<< "$first" || { cat "$WORK/$1.out"; fail "$1: the first error line does not say \"$4\": $first"; }
  grep -q '"event failed"\|event failed' "$WORK/$1.out" || [ "$3" = 78 ] || fail "$1: no event failure logged"
  echo "$1: exit $rc after $took ms: ${first:0:160}"
}
# expect_not_ready NAME CONF PROBLEM: run stays up, not ready, says why, and idles
expect_not_ready() {
  "$PB_BIN" -c "$2" run > "$WORK/$1.log" 2>&1 &
  local pid=$! body="" adm
  for _ in $(seq 1 100); do grep -q 'msg="running' "$WORK/$1.log" && break; sleep 0.1; done
  adm="http://127.0.0.1:$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$WORK/$1.log" | tail -1)"
  for _ in $(seq 1 100); do
    body=$(curl -s "$adm/readyz" || true)
    grep -q "\"kafka_problem\":\"$3\"" <<< "$body" && break
    sleep 0.1
  done
  grep -q "\"kafka_problem\":\"$3\"" <<< "$body" || { kill -9 $pid; cat "$WORK/$1.log"; fail "$1: /readyz says $body"; }
  python3 -c 'import json,sys; json.loads(sys.argv[1])' "$body" || fail "$1: /readyz is not JSON: $body"
  local m; m=$(curl -s "$adm/metrics") # whole, then grep (grep -q would SIGPIPE curl)
  grep -q "^portout_bridge_kafka_problem{reason=\"$3\"} 1$" <<< "$m" || { kill -9 $pid; fail "$1: metric: $(grep kafka_problem <<< "$m")"; }
  # No retry storm: CPU time over 5 s of refusals.
  local c0 c1; c0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); sleep 5; c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  stop_checked $pid "$1"
  check_sanitizers "$WORK/$1.log"
  local ticks=$((c1 - c0)) hz; hz=$(getconf CLK_TCK)
  [ $((ticks * 100 / hz)) -le 50 ] || fail "$1: $ticks ticks of CPU in 5 s while refused (a retry storm?)"
  echo "$1: /readyz $body; $((ticks * 1000 / hz)) ms CPU in 5 s"
}

write_conf "$WORK/badpw.conf" scram-512 "$R" wrong-password
sed -i 's/poll_enabled = true/poll_enabled = false/' "$WORK/badpw.conf"
expect_refusal "wrong password" "$WORK/badpw.conf" 77 "authentication" "$WORK/fine.ndjson" >> "$WORK/faults"
check_refusal_span "wrong password (replay)" "$WORK/wrong password.out"
[ "${PB_SECURE_REFUSALS:-1}" = timing ] || expect_not_ready "wrong password (run)" "$WORK/badpw.conf" authentication >> "$WORK/faults"
# backfill and fetch --publish give up as replay does.
start_fake 5
t=$(now_ms); rc=0
"$PB_BIN" -c "$WORK/badpw.conf" backfill --quiet --since 2000-01-01T00:00:00Z > "$WORK/bf.out" 2>&1 || rc=$?
took=$(($(now_ms) - t))
[ $rc = 77 ] && [ $took -le $GIVE_UP_MS ] && grep -q 'Kafka refused the bridge (authentication)' "$WORK/bf.out" \
  || { cat "$WORK/bf.out"; fail "backfill with a wrong password: exit $rc after $took ms (the promise: 5 s)"; }
check_refusal_span "wrong password (backfill)" "$WORK/bf.out"
echo "wrong password (backfill): exit 77 after $took ms" >> "$WORK/faults"
t=$(now_ms); rc=0
fid=$(curl -sf "$FAKE/_admin/ids" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ids"][0])')
"$PB_BIN" -c "$WORK/badpw.conf" fetch "$fid" --publish > /dev/null 2> "$WORK/fp.out" || rc=$?
took=$(($(now_ms) - t))
[ $rc = 77 ] && [ $took -le $GIVE_UP_MS ] && grep -q 'Kafka refused the bridge (authentication)' "$WORK/fp.out" \
  || { cat "$WORK/fp.out"; fail "fetch --publish with a wrong password: exit $rc after $took ms (the promise: 5 s)"; }
check_refusal_span "wrong password (fetch --publish)" "$WORK/fp.out"
echo "wrong password (fetch --publish): exit 77 after $took ms" >> "$WORK/faults"
stop_fake
if [ "${PB_SECURE_REFUSALS:-1}" = timing ]; then
  sed 's/^/  /' "$WORK/faults"
  pass "refusals (timing): replay, backfill and fetch --publish give up within $GIVE_UP_MS ms of a wrong password (the promise: 5 s)"
  exit 0
fi
# The bridge does not trust the broker's certificate (another CA).
write_conf "$WORK/untrusted.conf" scram-512 "$R"
sed -i "s|$SEC/ca.pem|$SEC/rogue-ca.pem|; s/poll_enabled = true/poll_enabled = false/" "$WORK/untrusted.conf"
expect_refusal "untrusted broker certificate" "$WORK/untrusted.conf" 77 "tls" "$WORK/fine.ndjson" >> "$WORK/faults"
for c in mtls-expired mtls-rogue; do
  write_conf "$WORK/$c.conf" "$c" "$R"
  sed -i 's/poll_enabled = true/poll_enabled = false/' "$WORK/$c.conf"
  expect_refusal "$c certificate" "$WORK/$c.conf" 77 "tls\|ssl" "$WORK/fine.ndjson" >> "$WORK/faults"
  # (run's readiness for one of them: both are the same TLS refusal to it)
  [ $c = mtls-expired ] || expect_not_ready "$c certificate (run)" "$WORK/$c.conf" tls >> "$WORK/faults"
done
expect_refusal "missing ACL" "$WORK/ok.conf" 77 "authorization" "$WORK/denied.ndjson" >> "$WORK/faults"
rc=0; "$PB_BIN" -c "$WORK/ok.conf" check-config --kafka > "$WORK/ck.out" 2>&1 || rc=$?
[ $rc = 77 ] && [ "$(grep -c '^✗' "$WORK/ck.out")" = 1 ] && grep -q "^✗ topic $R.new-comment .*authorization failed" "$WORK/ck.out" \
  || { cat "$WORK/ck.out"; fail "check-config --kafka with one ACL missing exited $rc"; }
echo "check-config --kafka with one ACL missing: exit 77, $(grep '^✗' "$WORK/ck.out" | tr -s ' ' | cut -c1-100)" >> "$WORK/faults"
rc=0; "$PB_BIN" -c "$WORK/badpw.conf" check-config --kafka > "$WORK/ck.out" 2>&1 || rc=$?
[ $rc = 77 ] && grep -q '^✗ connect: .*Authentication failed' "$WORK/ck.out" \
  || { cat "$WORK/ck.out"; fail "check-config --kafka with a wrong password exited $rc"; }
echo "check-config --kafka with a wrong password: exit 77, $(grep '^✗' "$WORK/ck.out" | cut -c1-120)" >> "$WORK/faults"
"$PB_BIN" -c "$WORK/ok.conf" replay --quiet "$WORK/fine.ndjson" > "$WORK/fine.out" 2>&1 || fail "the topic that has its ACL: replay exited $?"
sec_kcat -C -t "$R.dlq" -o beginning -e -q 2>/dev/null | grep denied-1 >/dev/null && fail "an ACL denial was dead-lettered"
sed "s|$SEC/ca.pem|$SEC/no-such-ca.pem|" "$WORK/ok.conf" > "$WORK/noca.conf"
expect_refusal "missing CA file" "$WORK/noca.conf" 78 "no-such-ca.pem" "$WORK/fine.ndjson" >> "$WORK/faults"
sed 's/^/  /' "$WORK/faults"
pass "refusals: named in the first error line, replay exits early (77; 78 for a missing file), run not ready with the reason, CPU idle"

# The desk (issue 28) with every ACL check-config --acls prints but Write on
# its result topic: it must not call the API for commands it cannot record.
for t in commands results; do
  sec_tool kafka-topics.sh --create --topic "$R.$t" --partitions 1 --replication-factor 1 > /dev/null
done
write_conf "$WORK/desk.conf" scram-512 "$R"
sed -i -e 's/poll_enabled = true/poll_enabled = false/' \
  -e "s|control = \"$R.control\";|control = \"$R.control\"; commands = \"$R.commands\"; command_results = \"$R.results\";|" "$WORK/desk.conf"
echo "desk = { enabled = true; group = \"$R.desk\"; };" >> "$WORK/desk.conf"
"$PB_BIN" -c "$WORK/desk.conf" check-config --acls User:bridge \
  | grep -v -- "--operation Write --topic '$R.results'" > "$WORK/acls.txt"
while IFS= read -r line; do eval "$line"; done < <(grep '^kafka-acls.sh ' "$WORK/acls.txt")
start_fake 0 --portouts 1
PO=$(curl -sf "$FAKE/_admin/portouts/create" -d '{"ages_s": [60]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
printf '%s\t{"specversion":"1.0","id":"denied-1","source":"urn:t","type":"com.telnyx.portout.authorize","subject":"%s","time":"%s","data":{"reason":"x"}}\n' \
  "$PO" "$PO" "$(date -u +%FT%TZ)" | sec_kcat -P -t "$R.commands" -K $'\t'
rc=0; "$PB_BIN" -c "$WORK/desk.conf" check-config --kafka > "$WORK/ck.out" 2>&1 || rc=$?
[ $rc = 77 ] && grep -q "^✗ topic $R.results" "$WORK/ck.out" \
  || { cat "$WORK/ck.out"; fail "check-config --kafka without Write on the result topic exited $rc"; }
"$PB_BIN" -c "$WORK/desk.conf" run > "$WORK/desk.log" 2>&1 &
DPID=$!
refused_office() { grep -q "desk: not carrying out any command: it cannot write its results" "$WORK/desk.log"; }
wait_for $((30 * SLACK)) "the desk to say it cannot write its results" refused_office
sleep 2
calls=$(curl -sf "$FAKE/_admin/calls" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))')
stop_checked "$DPID" "the desk without Write"
[ "$calls" = 0 ] || fail "the desk called the API $calls time(s) without Write on its result topic"
pass "the desk without Write on its result topic: check-config --kafka says so (exit 77), run calls nothing and says why"
# Every ACL check-config --acls prints for the desk in an elected fleet
# (polling on: its fence is an offset commit in the poll group on the
# commands topic): the same command is carried out, once.
sed 's/poll_enabled = false/poll_enabled = true/' "$WORK/desk.conf" > "$WORK/desk2.conf"
while IFS= read -r line; do eval "$line"; done \
  < <("$PB_BIN" -c "$WORK/desk2.conf" check-config --acls User:bridge | grep '^kafka-acls.sh ')
"$PB_BIN" -c "$WORK/desk2.conf" run > "$WORK/desk2.log" 2>&1 &
DPID=$!
carried_out() {
  [ "$(curl -sf "$FAKE/_admin/calls" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))')" = 1 ] \
    && sec_kcat -C -t "$R.results" -o beginning -e -q 2>/dev/null | grep -q '"outcome":"done"'
}
wait_for $((60 * SLACK)) "the desk with every ACL to carry the command out (desk2.log)" carried_out
stop_checked "$DPID" "the desk with every ACL"
grep -q "desk: not acting on" "$WORK/desk2.log" && { grep "desk:" "$WORK/desk2.log" | tail -5; fail "the desk's fence was refused with every ACL granted"; }
pass "the desk with every ACL check-config --acls prints, elected (its fence in the poll group): the command carried out once"
