#!/usr/bin/env bash
# Builds the container image and runs it, without a Docker engine or a
# registry: Debian's podman (daemonless, vfs storage, chroot isolation) and
# mmdebstrap (the debian:12-slim base, built from Debian's packages).
#   scripts/image.sh build    base image (cached), then deploy/Containerfile -> portout-bridge:latest
#                             (PB_IMAGE_UNIT_TESTS=0: its build stage skips the unit tests)
#   scripts/image.sh smoke    runs the image's own filesystem (chroot, its non-root user)
#                             against $PB_KAFKA_BOOTSTRAP: its HEALTHCHECK, and a signed
#                             webhook read back from Kafka
#   scripts/image.sh size     prints the image size
# `podman run` cannot run here (crun cannot set rlimits in this sandbox), so
# smoke runs the image's entrypoint in a chroot of the image's filesystem,
# as the user the image declares. A real user runs `docker build -f
# deploy/Containerfile .` against the public debian:12-slim, after
# `scripts/librdkafka.sh stage deploy/.sources`.
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
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  admin=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local want; want=$(bash scripts/librdkafka.sh version)
  chroot --userspec="$user" "$mnt" /usr/local/bin/portout-bridge --version | grep -q "^librdkafka $want " \
    || { log "the image's binary does not run librdkafka $want"; exit 1; }
  log "running the image's entrypoint as $user in its own filesystem ($mnt)"
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin KAFKA_BROKERS="$PB_KAFKA_BOOTSTRAP" \
      TELNYX_PUBLIC_KEY="$pub" PORTOUT_BRIDGE_PORT="$port" PORTOUT_BRIDGE_ADMIN_PORT="$admin" \
      chroot --userspec="$user" "$mnt" /usr/local/bin/portout-bridge run > "$work/bridge.log" 2>&1 &
  bpid=$!
  for _ in $(seq 1 150); do grep -q 'msg="running' "$work/bridge.log" && break; sleep 0.1; done
  grep -q 'msg="running' "$work/bridge.log" || { cat "$work/bridge.log"; log "the image's bridge did not start"; exit 1; }
  local uid; uid=$(awk '/^Uid:/ {print $2}' "/proc/$(pgrep -P "$bpid" -f portout-bridge || echo "$bpid")/status")
  [ "$uid" != 0 ] || { log "the bridge runs as root"; exit 1; }
  # The image's HEALTHCHECK command, as the image would run it.
  local hc=""
  for _ in $(seq 1 50); do
    hc=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin PORTOUT_BRIDGE_ADMIN_PORT="$admin" chroot --userspec="$user" "$mnt" \
           /usr/local/bin/portout-bridge healthcheck --ready 2>&1) && break
    sleep 0.2
  done
  echo "$hc" | grep -q '"status":"ready"' || { cat "$work/bridge.log"; log "HEALTHCHECK --ready: $hc"; exit 1; }
  rid=image-smoke-$(date +%s)-$RANDOM
  printf '{"data":{"event_type":"portout.status_changed","id":"%s","occurred_at":"2026-03-05T12:30:45Z","payload":{"id":"po-image","status":"ported"},"record_type":"event"},"meta":{"attempt":1}}' "$rid" > "$work/ev.json"
  local out
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
  smoke) smoke ;;
  size) size ;;
  base-tar) base_tar ;;
  *) echo "usage: $0 build|smoke|size|base-tar" >&2; exit 64 ;;
esac
