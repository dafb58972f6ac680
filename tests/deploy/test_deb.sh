#!/usr/bin/env bash
# The .deb installs with apt into a fresh Debian 12 chroot (its dependencies
# resolved from Debian's packages) and runs there.
source "$(dirname "$0")/lib.sh"
need mmdebstrap; need cpack; need dpkg-shlibdeps
bash scripts/deb.sh test 2>&1 | tee "$WORK/deb.log" | tail -3
grep -q '^deb: ok:' "$WORK/deb.log" || fail ".deb"
pass "the .deb ($(grep -o 'Depends: .*' "$WORK/deb.log" | head -1 | cut -c1-60)...) installs and runs in a fresh chroot"
