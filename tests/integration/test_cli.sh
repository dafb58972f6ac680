#!/usr/bin/env bash
# The command line as a user meets it: help, version, exit codes, error text.
# Needs no Kafka.
set -euo pipefail
: "${PB_BIN:?}" "${PB_SOURCE_DIR:?}"
FIX=$PB_SOURCE_DIR/tests/fixtures
WORK=$(mktemp -d); RUN_PID=
# A bridge this test started is never left behind, whatever failed.
trap '[ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
# A valid webhook public key: check-config, like run, refuses to go without.
export TELNYX_PUBLIC_KEY=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }
# As lib.sh's (this test needs no Kafka, so not its setup): SIGTERM must end
# a bridge with 0, or 75 when Kafka did not take everything.
stop_checked() { # stop_checked PID WHAT
  kill -TERM "$1" 2>/dev/null || fail "$2: not running at its stop"
  local rc=0; wait "$1" || rc=$?
  [ $rc = 0 ] || [ $rc = 75 ] || fail "$2: exited $rc at SIGTERM (a crash?)"
}
expect_rc() { local want=$1; shift; set +e; "$@" >"$WORK/out" 2>"$WORK/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || { cat "$WORK/out" "$WORK/err"; fail "$* exited $rc, want $want"; }; }

expect_rc 0 "$PB_BIN" --help;           grep -q "Exit codes" "$WORK/out" || fail "--help lacks exit codes"
grep -q "^  78  configuration error" "$WORK/out" || fail "--help lacks 78"
expect_rc 0 "$PB_BIN" --version;        grep -Eq '^portout-bridge [0-9]+\.[0-9]+\.[0-9]+$' "$WORK/out" || fail "--version"
# The librdkafka it runs: SCRAM to Kafka 4 needs 2.6.1 or newer, and TLS,
# SASL (SCRAM, OAUTHBEARER with OIDC) and zstd must be built in.
rdk=$(sed -n 's/^librdkafka \([0-9.]*\) (features: \(.*\))$/\1/p' "$WORK/out")
[ -n "$rdk" ] || { cat "$WORK/out"; fail "--version does not name librdkafka"; }
[ "$(printf '%s\n' 2.6.1 "$rdk" | sort -V | head -1)" = 2.6.1 ] || fail "librdkafka $rdk is older than 2.6.1"
for f in ssl sasl_scram sasl_plain sasl_oauthbearer oidc zstd lz4; do
  grep -Eq "features: (.*,)?$f(,|\))" "$WORK/out" || { cat "$WORK/out"; fail "librdkafka lacks $f"; }
done
pass "--version: librdkafka $rdk with TLS, SCRAM, OIDC and every codec"
for c in run fetch backfill republish normalize replay check-config; do
  expect_rc 0 "$PB_BIN" "$c" --help;    grep -q "Usage: portout-bridge .*$c" "$WORK/out" || fail "$c --help"
done
expect_rc 64 "$PB_BIN";                 pass "no command is a usage error"
expect_rc 64 "$PB_BIN" frobnicate;      grep -q 'unknown command "frobnicate"' "$WORK/err" || fail "unknown command text"
expect_rc 64 "$PB_BIN" --bogus normalize
expect_rc 64 "$PB_BIN" -c;              pass "help, version and usage errors"

# Configuration errors: 78, naming file, line and key.
printf 'kafka = {\n  brokers = 9092;\n};\n' > "$WORK/bad.conf"
expect_rc 78 "$PB_BIN" -c "$WORK/bad.conf" check-config
grep -q "bad.conf:2: kafka.brokers: expected a string, got an integer" "$WORK/err" || fail "config error text: $(cat "$WORK/err")"
expect_rc 78 "$PB_BIN" -c "$WORK/missing.conf" normalize "$FIX/rest-list.json"
PORTOUT_BRIDGE_CONFIG="$WORK/bad.conf" expect_rc 78 "$PB_BIN" check-config
expect_rc 0 "$PB_BIN" -c "$PB_SOURCE_DIR/conf/portout-bridge.conf" check-config
grep -q "# configuration OK" "$WORK/out" || fail "check-config OK line"
echo 'secret-api-key-123' > "$WORK/key"
printf 'telnyx = { api_key_file = "%s"; };\nkafka = { properties = ("sasl.password=${PW}"); };\n' "$WORK/key" > "$WORK/s.conf"
PW=hunter2 expect_rc 0 "$PB_BIN" -c "$WORK/s.conf" check-config
! grep -q -e secret-api-key-123 -e hunter2 "$WORK/out" "$WORK/err" || fail "a secret was printed"
TELNYX_API_KEY=from-env PW=x expect_rc 0 "$PB_BIN" -c "$WORK/s.conf" check-config
! grep -q from-env "$WORK/out" || fail "env secret printed"
grep -q "from TELNYX_API_KEY" "$WORK/out" || fail "secret source not shown"
pass "configuration errors exit 78; secrets never printed"

# check-config passes exactly what run accepts (it used to say "configuration
# OK" for each of these, then run exited 78).
KEY=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
printf 'kafka = { brokers = "127.0.0.1:1"; };\nadmin = { port = 0; };\n' > "$WORK/p.conf"
mkdir -p "$WORK/adir"; : > "$WORK/empty.key"
preflight() { # preflight WANT_TEXT [ENV=VALUE...] -- [CONFIG LINE]
  local want=$1; shift
  local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  cp "$WORK/p.conf" "$WORK/pf.conf"; [ -n "${1:-}" ] && echo "$1" >> "$WORK/pf.conf"
  env -u TELNYX_PUBLIC_KEY "${envs[@]}" "$PB_BIN" -c "$WORK/pf.conf" check-config > "$WORK/out" 2> "$WORK/err" && fail "check-config passed: $want"
  grep -q "$want" "$WORK/err" || fail "check-config: $(cat "$WORK/err") (want $want)"
  set +e; env -u TELNYX_PUBLIC_KEY "${envs[@]}" timeout 20 "$PB_BIN" -c "$WORK/pf.conf" run > /dev/null 2> "$WORK/err2"; local rc=$?; set -e
  [ $rc -eq 78 ] || fail "run exited $rc for: $want"
}
preflight "no public key is set" --
preflight "webhook public key" TELNYX_PUBLIC_KEY='notbase64!!' --
preflight "webhook public key" TELNYX_PUBLIC_KEY="$(echo "$KEY" | tr '+/' '-_' | tr -d =)" -- # url-safe
preflight "webhook public key" TELNYX_PUBLIC_KEY=MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= -- # SPKI DER
preflight "webhook public key" TELNYX_PUBLIC_KEY=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a -- # hex
preflight "not a regular file" -- "webhook = { port = 0; public_key_file = \"$WORK/adir\"; };"
preflight "no public key is set" -- "webhook = { port = 0; public_key_file = \"$WORK/empty.key\"; };"
preflight "not a regular file" TELNYX_PUBLIC_KEY="$KEY" -- "telnyx = { api_key_file = \"$WORK/adir\"; };"
preflight "needs a Telnyx API key" TELNYX_PUBLIC_KEY="$KEY" -- "telnyx = { poll_enabled = true; };"
preflight "is not writable" TELNYX_PUBLIC_KEY="$KEY" TELNYX_API_KEY=k -- "telnyx = { poll_enabled = true; checkpoint_file = \"/nonexistent/dir/cp.json\"; };"
preflight "nothing to run" -- "webhook = { enabled = false; };"
# Credentials in the API base are never printed; plain http off loopback warns.
printf 'telnyx = { api_base = "http://user:s3cret@api.example.com/v2"; poll_enabled = true; checkpoint_file = "%s/cp.json"; };\n' "$WORK" >> "$WORK/p.conf"
TELNYX_PUBLIC_KEY=$KEY TELNYX_API_KEY=k expect_rc 0 "$PB_BIN" -c "$WORK/p.conf" check-config
! grep -q s3cret "$WORK/out" "$WORK/err" || fail "the api_base password was printed"
grep -q 'api_base = "http://\*\*\*@api.example.com/v2"' "$WORK/out" || fail "api_base not shown redacted: $(grep api_base "$WORK/out")"
grep -q "plain http outside loopback" "$WORK/err" || fail "no warning for http:// off loopback"
pass "check-config refuses what run refuses (no key, bad keys: not base64, url-safe, SPKI, hex; key files that are directories or empty; no API key; an unwritable checkpoint; nothing to run), redacts api_base credentials, warns on http off loopback"

# Secrets do not outlive their use (issue 30, finding 11): once the
# configuration has them, TELNYX_API_KEY and PORTOUT_BRIDGE_HASH_KEY are
# neither in /proc/PID/environ (read as it was at exec) nor inherited, and
# no core file can hold them. Before, both stayed in the environment.
# And every command that calls the API warns of an http:// base (fetch
# did not).
printf 'kafka = { brokers = "127.0.0.1:1"; };\nwebhook = { address = "127.0.0.1"; port = 0; };\nadmin = { address = "127.0.0.1"; port = 0; };\nprivacy = { hash = "payload.attempted_pin"; };\n' > "$WORK/s.conf"
TELNYX_PUBLIC_KEY=$KEY TELNYX_API_KEY=sekret-api-key-4242 PORTOUT_BRIDGE_HASH_KEY=sekret-hash-key-4242 \
  "$PB_BIN" -c "$WORK/s.conf" run > "$WORK/run.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 1 100); do grep -q 'msg="running' "$WORK/run.log" && break; sleep 0.1; done
grep -q 'msg="running' "$WORK/run.log" || { cat "$WORK/run.log"; fail "run did not start"; }
tr '\0' '\n' < "/proc/$RUN_PID/environ" > "$WORK/environ"
core=$(awk '/^Max core file size/ {print $5 " " $6}' "/proc/$RUN_PID/limits")
stop_checked $RUN_PID "run with secrets in its environment"
RUN_PID=
! grep -q 'sekret-' "$WORK/environ" || fail "a secret is still in /proc/PID/environ: $(grep sekret- "$WORK/environ")"
[ "$core" = "0 0" ] || fail "core files allowed (limits: $core)"
! grep -q 'sekret-' "$WORK/run.log" || fail "a secret in the log"
printf 'telnyx = { max_retries = 0; };\n' > "$WORK/f.conf"
TELNYX_API_KEY=k TELNYX_API_BASE=http://api.example.invalid/v2 \
  timeout 20 "$PB_BIN" -c "$WORK/f.conf" fetch 9e7d5c3b-2a1f-4e0d-8c9b-7a6f5e4d3c21 > /dev/null 2> "$WORK/err" || true
grep -q "plain http outside loopback" "$WORK/err" || { cat "$WORK/err"; fail "fetch does not warn of an http:// api_base"; }
pass "secrets: not in /proc/PID/environ, no core file, none in the log; fetch warns of an http:// api_base"

# The example config is what check-config --example generates.
expect_rc 0 "$PB_BIN" check-config --example
cmp -s "$WORK/out" "$PB_SOURCE_DIR/conf/portout-bridge.conf" || fail "conf/portout-bridge.conf is stale"
pass "conf/portout-bridge.conf matches the option table"

# normalize: envelopes on stdout, file:line reasons on stderr, exit 65.
printf '%s\n' "$(cat "$FIX/webhook-status-changed.json")" 'garbage' '{"id":"e","event_type":"portout.new_comment","payload":{"id":"c"}}' > "$WORK/in.ndjson"
expect_rc 65 "$PB_BIN" normalize "$WORK/in.ndjson"
[ "$(wc -l < "$WORK/out")" -eq 1 ] || fail "one envelope expected"
grep -q "in.ndjson:2: not valid JSON" "$WORK/err" || fail "file:line for line 2: $(cat "$WORK/err")"
grep -q 'in.ndjson:3: missing port-out id: neither "portout_id" nor "payload.portout_id"' "$WORK/err" || fail "line 3 reason"
expect_rc 0 "$PB_BIN" normalize "$FIX"/*.json
[ "$(wc -l < "$WORK/out")" -eq 7 ] || fail "7 envelopes from the fixtures"
cp "$WORK/out" "$WORK/envelopes.ndjson"
cat "$FIX/webhook-new-comment.json" | expect_rc 0 "$PB_BIN" normalize -
expect_rc 65 "$PB_BIN" normalize "$WORK/nonexistent.json"
grep -q "nonexistent.json: cannot open" "$WORK/err" || fail "missing file message"
# Over the size bound: reported, not read.
{ printf '{"id":"'; head -c 2000 /dev/zero | tr '\0' a; printf '"}\n'; } > "$WORK/big.ndjson"
printf 'input = { max_event_bytes = 1024; };\n' > "$WORK/small.conf"
expect_rc 65 "$PB_BIN" -c "$WORK/small.conf" normalize "$WORK/big.ndjson"
grep -q "big.ndjson:1: line is 2009 bytes, over input.max_event_bytes (1024)" "$WORK/err" || fail "size bound: $(cat "$WORK/err")"
pass "normalize: output, reasons with file:line, exit codes"

node "$PB_SOURCE_DIR/tests/js/validate-envelopes.js" "$WORK/envelopes.ndjson" || fail "schema"
pass "normalize output validates against docs/envelope.schema.json"

# Kafka unreachable: replay reports it and exits 69, never 0.
printf 'kafka = { brokers = "127.0.0.1:1"; properties = ("message.timeout.ms=2000"); };\nlog = { level = "error"; };\n' > "$WORK/down.conf"
expect_rc 69 "$PB_BIN" -c "$WORK/down.conf" replay "$FIX/webhook-new-comment.json"
grep -q "1 failed" "$WORK/out" || fail "failed count"
grep -q "not delivered" "$WORK/err" || fail "reason logged"
pass "replay with Kafka unreachable exits 69"

# SIGTERM during a replay that cannot deliver: stops within the grace period,
# reports what was left undelivered, exits 75.
printf 'kafka = { brokers = "127.0.0.1:1"; flush_timeout_ms = 1000; properties = ("message.timeout.ms=120000"); };\n' > "$WORK/grace.conf"
start=$(date +%s)
"$PB_BIN" -c "$WORK/grace.conf" replay "$FIX/rest-list.json" > "$WORK/out" 2> "$WORK/err" &
pid=$!
sleep 1.5
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
elapsed=$(( $(date +%s) - start ))
[ $rc -eq 75 ] || { cat "$WORK/out" "$WORK/err"; fail "SIGTERM replay exit $rc, want 75"; }
[ $elapsed -lt 15 ] || fail "shutdown took ${elapsed}s"
grep -q "interrupted with 2 event(s) in flight" "$WORK/err" || fail "no interruption report: $(cat "$WORK/err")"
grep -q "2 failed" "$WORK/out" || fail "undelivered not counted: $(cat "$WORK/out")"
pass "SIGTERM: bounded grace period, undelivered reported, exit 75"
