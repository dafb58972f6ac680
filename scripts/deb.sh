#!/usr/bin/env bash
# Builds the Debian package (CPack) and proves it on a fresh Debian 12:
#   scripts/deb.sh build   -> build-deb/portout-bridge_VERSION_ARCH.deb (prints its path)
#   scripts/deb.sh test    installs it with apt into a fresh mmdebstrap chroot, so its
#                          dependencies resolve from Debian's packages, and runs it there
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge/image
log() { echo "deb: $*" >&2; }

build() {
  cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
        -DPB_TESTS=OFF > /dev/null
  cmake --build build-deb > /dev/null
  (cd build-deb && cpack -G DEB > cpack.log 2>&1) || { cat build-deb/cpack.log; exit 1; }
  ls build-deb/portout-bridge_*.deb | tail -1
}

test_deb() {
  local deb
  deb=$(build)
  log "$(dpkg-deb -f "$deb" Package Version Architecture Depends | tr '\n' ' ')"
  if [ ! -s "$CACHE/base.tar" ]; then bash scripts/image.sh base-tar; fi
  root=$(mktemp -d /tmp/pb-deb-XXXXXX)
  trap 'umount "$root/proc" 2>/dev/null || true; rm -rf "$root"' EXIT
  tar -C "$root" -xf "$CACHE/base.tar"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mount -t proc proc "$root/proc"
  cp "$deb" "$root/tmp/"
  log "installing $(basename "$deb") into a fresh Debian 12 chroot (apt resolves its dependencies)"
  chroot "$root" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends \
    "/tmp/$(basename "$deb")" > "$root/tmp/apt.log" 2>&1 || { cat "$root/tmp/apt.log"; exit 1; }
  chroot "$root" portout-bridge --version | tee "$root/tmp/version" >&2
  grep -q "^librdkafka $(bash scripts/librdkafka.sh version) " "$root/tmp/version" \
    || { log "the installed binary does not run the pinned librdkafka"; exit 1; }
  # check-config refuses, as run does, to go without a webhook public key:
  # an operator's environment file holds it; here a test key.
  chroot "$root" env TELNYX_PUBLIC_KEY=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= \
    portout-bridge -c /etc/portout-bridge/portout-bridge.conf check-config > "$root/tmp/check.txt" \
    || { cat "$root/tmp/check.txt"; log "check-config failed in the chroot"; exit 1; }
  grep -q "# configuration OK" "$root/tmp/check.txt"
  chroot "$root" getent passwd portout-bridge | grep -q '/usr/sbin/nologin' \
    || { log "no system user portout-bridge"; exit 1; }
  [ "$(chroot "$root" stat -c '%U %a' /var/lib/portout-bridge)" = "portout-bridge 700" ] || { log "state directory"; exit 1; }
  chroot "$root" dpkg-query -W -f='${Conffiles}\n' portout-bridge | grep -q /etc/portout-bridge/portout-bridge.conf \
    || { log "the configuration is not a conffile"; exit 1; }
  local unit; unit=$(chroot "$root" dpkg -L portout-bridge | grep 'systemd/system/portout-bridge.service')
  grep -q '^ExecStart=/usr/bin/portout-bridge ' "$root$unit" || { log "unit ExecStart"; exit 1; }
  log "ok: installed with apt, --version and check-config run, user, conffile and unit ($unit) in place"
}

case "${1:-}" in
  build) build ;;
  test) test_deb ;;
  *) echo "usage: $0 build|test" >&2; exit 64 ;;
esac
