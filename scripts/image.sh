#!/usr/bin/env bash
# Builds the container image and runs it, without a Docker engine or a
# registry: Debian's podman (daemonless, vfs storage, chroot isolation) and
# mmdebstrap (the debian:12-slim base, built from Debian's packages).
#   scripts/image.sh build    base image (cached), then deploy/Containerfile -> portout-bridge:latest,
#                             the librdkafka source (or this machine's build of it) staged for speed
#                             (PB_IMAGE_UNIT_TESTS=0: its build stage skips the unit tests)
#   scripts/image.sh build-fresh  as a user: a copy of the tracked files, then the plain
#                             `podman build -f deploy/Containerfile .` (nothing staged; the
#                             build fetches and checks the librdkafka source itself)
#   scripts/image.sh smoke    runs the image's own filesystem (chroot) as the image declares
#                             it: its USER, ENV, ENTRYPOINT and CMD, then its HEALTHCHECK
#                             command, against $PB_KAFKA_BOOTSTRAP, and a signed webhook read
#                             back from Kafka
#   scripts/image.sh size     prints the image size
#   scripts/image.sh base     the debian:12-slim base only (what a plain
#                             `podman build -f deploy/Containerfile .` starts FROM)
# `podman run` cannot run here (crun cannot set rlimits in this sandbox), so
# smoke runs the image's entrypoint in a chroot of the image's filesystem,
# as the user the image declares. A real user runs `docker build -f
# deploy/Containerfile .` against the public debian:12-slim, with nothing
# before it (the build fetches the pinned librdkafka source); `build` here
# stages it, or this machine's build of it, for speed.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${PB_IMAGE:-localhost/portout-bridge:latest}
BASE=docker.io/library/debian:12-slim
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge/image
pm() { podman --storage-driver vfs "$@"; }
log() { echo "image: $*" >&2; }

base_tar() {
  mkdir -p "$CACHE"
  if [ ! -s "$CACHE/base.tar" ]; then
    log "building the $BASE base from Debian's packages (mmdebstrap, once)"
    # What the official slim image leaves out (docs, man pages, locales),
    # kept out of every later install in the image too.
    mmdebstrap --variant=minbase --quiet \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
      bookworm "$CACHE/base.new.tar"
    mv "$CACHE/base.new.tar" "$CACHE/base.tar"
  fi
}

base() {
  if pm image exists "$BASE"; then return 0; fi
  base_tar
  pm import --quiet "$CACHE/base.tar" "$BASE" > /dev/null
}

build() {
  base
  bash scripts/librdkafka.sh stage deploy/.sources
  # This machine's librdkafka, when it is built: the build stage takes it if
  # it was made by the same compiler (Debian 12's) from the same source and
  # flags, and compiles its own otherwise. PB_IMAGE_OWN_LIBRDKAFKA=1 always
  # compiles.
  rm -f deploy/.sources/librdkafka-*-built.tar
  if [ "${PB_IMAGE_OWN_LIBRDKAFKA:-0}" != 1 ] && bash scripts/librdkafka.sh prefix > /dev/null; then
    bash scripts/librdkafka.sh stage-built deploy/.sources
  fi
  log "building $IMAGE from deploy/Containerfile"
  # --format docker keeps HEALTHCHECK (the OCI format drops it)
  pm build --quiet --format docker --pull=never --isolation=chroot --network=host \
     --build-arg VERSION="$(sed -n 's/^project(portout-bridge VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)" \
     --build-arg UNIT_TESTS="${PB_IMAGE_UNIT_TESTS:-1}" \
     -f deploy/Containerfile -t "$IMAGE" . >&2 # the build log (its tests' output) on stderr
  size
}

# What a user does, with nothing staged: a copy of this checkout's tracked
# files (a fresh clone has no deploy/.sources and no build trees), then the
# plain `podman build -f deploy/Containerfile .`, its unit tests included.
# The only addition is this machine's own: the CA certificates of a
# TLS-intercepting egress proxy, when the host trusts any of its own
# (/usr/local/share/ca-certificates), given as EXTRA_CA_CERTS for the fetch.
build_fresh() {
  base
  local clone; clone=$(mktemp -d /tmp/pb-fresh-XXXXXX)
  trap 'rm -rf "$clone"' RETURN
  git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$clone"
  local ca=() f
  for f in /usr/local/share/ca-certificates/*.crt; do [ -f "$f" ] && ca+=("$f"); done
  local extra=()
  [ ${#ca[@]} -gt 0 ] && extra=(--build-arg "EXTRA_CA_CERTS=$(cat "${ca[@]}")")
  log "building $IMAGE from a fresh copy of the checkout: podman build -f deploy/Containerfile . (nothing staged)"
  # The build's own output (its unit tests') kept, and shown if it fails.
  local blog="$clone.build.log"
  if ! (cd "$clone" && pm build --format docker --pull=never --isolation=chroot --network=host \
     "${extra[@]}" -f deploy/Containerfile -t "$IMAGE" .) > "$blog" 2>&1; then
    grep -E '\*\*\*|Failed|FAILED|ERROR|error:' "$blog" | head -40 >&2
    # a failed test's own output (ctest --output-on-failure prints it after
    # its result line), which the tail below may not reach
    sed -n '/\*\*\*Failed\|\*\*\*Exception\|\*\*\*Timeout/,/^ *Start \|^[0-9]*% tests passed/p' "$blog" | head -80 >&2
    tail -60 "$blog" >&2
    rm -f "$blog"
    return 1
  fi
  rm -f "$blog"
  size
}

size() {
  local bytes; bytes=$(pm image inspect --format '{{.Size}}' "$IMAGE")
  echo "$IMAGE: $((bytes / 1024 / 1024)) MiB"
}

smoke() {
  : "${PB_KAFKA_BOOTSTRAP:?PB_KAFKA_BOOTSTRAP must name a running broker}"
  local mnt pub user port admin rid
  work=$(mktemp -d /tmp/pb-image-XXXXXX)
  ctr=$(pm create --quiet "$IMAGE")
  cleanup() {
    [ -n "${bpid:-}" ] && kill "$bpid" 2>/dev/null; wait "${bpid:-}" 2>/dev/null || true
    pm unmount "$ctr" > /dev/null 2>&1 || true
    pm rm --force "$ctr" > /dev/null 2>&1 || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  mnt=$(pm mount "$ctr")
  # What the image declares, read from the image itself.
  user=$(pm image inspect --format '{{.Config.User}}' "$IMAGE")
  [ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] \
    || { log "the image runs as root ($user)"; exit 1; }
  pm image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q healthcheck \
    || { log "the image has no HEALTHCHECK"; exit 1; }
  pub=$(node scripts/webhook-dev.js keygen "$work/keys")
  local want; want=$(bash scripts/librdkafka.sh version)
  chroot --userspec="$user" "$mnt" /usr/local/bin/portout-bridge --version | grep -q "^librdkafka $want " \
    || { log "the image's binary does not run librdkafka $want"; exit 1; }
  # The image's own ENTRYPOINT + CMD, ENV and HEALTHCHECK, as a runtime
  # would take them; the test adds the broker, the key and port 0 (any
  # free port, read back from the log: no port picked now and bound later).
  local cmd=() env=() hc=()
  mapfile -t cmd < <(pm image inspect --format '{{json .Config.Entrypoint}}{{json .Config.Cmd}}' "$IMAGE" \
    | python3 -c 'import json,sys; t=sys.stdin.read().replace("][", "]\n["); [print(a) for l in t.splitlines() for a in (json.loads(l) or [])]')
  mapfile -t env < <(pm image inspect --format '{{json .Config.Env}}' "$IMAGE" | python3 -c 'import json,sys; [print(e) for e in json.load(sys.stdin)]')
  mapfile -t hc < <(pm image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE" | python3 -c 'import json,sys; t=json.load(sys.stdin); assert t[0] in ("CMD", "CMD-SHELL"), t; [print(a) for a in (t[1:] if t[0] == "CMD" else ["/bin/sh", "-c", t[1]])]')
  [ ${#cmd[@]} -gt 0 ] || { log "the image declares no ENTRYPOINT or CMD"; exit 1; }
  log "running the image's ENTRYPOINT and CMD (${cmd[*]}) as $user in its own filesystem ($mnt)"
  env -i "${env[@]}" KAFKA_BROKERS="$PB_KAFKA_BOOTSTRAP" \
      TELNYX_PUBLIC_KEY="$pub" PORTOUT_BRIDGE_PORT=0 PORTOUT_BRIDGE_ADMIN_PORT=0 \
      chroot --userspec="$user" "$mnt" "${cmd[@]}" > "$work/bridge.log" 2>&1 &
  bpid=$!
  for _ in $(seq 1 150); do grep -q 'msg="running' "$work/bridge.log" && break; sleep 0.1; done
  grep -q 'msg="running' "$work/bridge.log" || { cat "$work/bridge.log"; log "the image's bridge did not start"; exit 1; }
  port=$(sed -n 's/.*msg="listening on [0-9.]*:\([0-9]*\),.*/\1/p' "$work/bridge.log" | head -1)
  admin=$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$work/bridge.log" | head -1)
  [ -n "$port" ] && [ -n "$admin" ] || { cat "$work/bridge.log"; log "no ports in the log"; exit 1; }
  local uid; uid=$(awk '/^Uid:/ {print $2}' "/proc/$(pgrep -P "$bpid" -f portout-bridge || echo "$bpid")/status")
  [ "$uid" != 0 ] || { log "the bridge runs as root"; exit 1; }
  # The image's HEALTHCHECK command, as the runtime runs it (its exit code
  # is the verdict), then its --ready form: Kafka is reached.
  local out="" ok=0
  for _ in $(seq 1 50); do
    out=$(env -i "${env[@]}" PORTOUT_BRIDGE_ADMIN_PORT="$admin" chroot --userspec="$user" "$mnt" "${hc[@]}" 2>&1) && { ok=1; break; }
    sleep 0.2
  done
  [ $ok = 1 ] || { cat "$work/bridge.log"; log "HEALTHCHECK (${hc[*]}) failed: $out"; exit 1; }
  for _ in $(seq 1 50); do
    out=$(env -i "${env[@]}" PORTOUT_BRIDGE_ADMIN_PORT="$admin" chroot --userspec="$user" "$mnt" "${hc[@]}" --ready 2>&1) && break
    sleep 0.2
  done
  echo "$out" | grep -q '"status":"ready"' || { cat "$work/bridge.log"; log "HEALTHCHECK --ready: $out"; exit 1; }
  rid=image-smoke-$(date +%s)-$RANDOM
  printf '{"data":{"event_type":"portout.status_changed","id":"%s","occurred_at":"2026-03-05T12:30:45Z","payload":{"id":"po-image","status":"ported"},"record_type":"event"},"meta":{"attempt":1}}' "$rid" > "$work/ev.json"
  out=$(node scripts/webhook-dev.js post "http://127.0.0.1:$port/webhooks/telnyx/portouts" "$work/keys/dev-private.pem" "$work/ev.json")
  echo "$out" | grep -q '"status":"delivered"' || { cat "$work/bridge.log"; log "webhook: $out"; exit 1; }
  kcat -C -b "$PB_KAFKA_BOOTSTRAP" -t telnyx.portouts.status-changed -o -200 -e -q -f '%h\n' 2>/dev/null \
    | grep "ce_id=$rid" > /dev/null || { log "event $rid not in Kafka"; exit 1; }
  kill -TERM "$bpid"; local rc=0; wait "$bpid" || rc=$?; bpid=""
  [ $rc -eq 0 ] || { cat "$work/bridge.log"; log "the image's bridge exited $rc on SIGTERM"; exit 1; }
  log "ok: as uid $uid, HEALTHCHECK ready, a signed webhook delivered and read back from Kafka ($rid), clean stop"
}

case "${1:-}" in
  build) build ;;
  build-fresh) build_fresh ;;
  smoke) smoke ;;
  size) size ;;
  base-tar) base_tar ;;
  base) base ;;
  *) echo "usage: $0 build|smoke|size|base|base-tar" >&2; exit 64 ;;
esac
