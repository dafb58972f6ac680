#!/usr/bin/env bash
# The librdkafka the bridge links, built once from a pinned upstream source
# and cached. Debian 12's 2.0.2 cannot log in with SCRAM to Kafka 4 (the
# broker checks the SCRAM nonce strictly; fixed in librdkafka 2.6.1, PR
# #4895), and no upstream tarball site is reachable from our machines, so the
# source comes from Confluent's own npm package, which carries librdkafka's
# complete tree in deps/librdkafka/. It is pinned by version and by the
# registry's sha512 integrity, checked here before anything is unpacked.
#   scripts/librdkafka.sh fetch     the source tarball into the cache (npm pack, or
#                                   curl from the npm registry where there is no npm)
#   scripts/librdkafka.sh build     fetch if needed, build a static librdkafka.a
#                                   into the cache; prints the install prefix
#   scripts/librdkafka.sh stage DIR the checked tarball into DIR (the container
#                                   build context: deploy/.sources)
#   scripts/librdkafka.sh stage-built DIR
#                                   this machine's build into DIR, which a
#                                   `build` with PB_SOURCES_DIR=DIR then takes
#                                   if its stamp matches (same source, flags,
#                                   compiler) instead of compiling again
#   scripts/librdkafka.sh prefix    prints the prefix (after a build, else exit 1)
#   scripts/librdkafka.sh version   prints the pinned librdkafka version
# CMake runs `build` at configure time (unless -DPB_SYSTEM_RDKAFKA=ON), so a
# plain `cmake -S . -B build` works too. PB_SOURCES_DIR names a directory
# that may hold the tarball already (scripts/image.sh stages it into the
# container build; a plain `docker build` fetches it with curl). Idempotent:
# a second run prints the prefix at once.
set -euo pipefail
cd "$(dirname "$0")/.."

RDKAFKA_VERSION=2.15.1
NPM_PKG=@confluentinc/kafka-javascript
NPM_VERSION=1.10.1
TARBALL=confluentinc-kafka-javascript-$NPM_VERSION.tgz
INTEGRITY=sha512-KVePUBn21EqCVP9mfxzEuM3SYJHHEF7X+iiC2e43QQgDSyEaksInmCGooT3w5q+cNAdkSCrK71j0ICfqoSqZLw==
# The same digest in hex, for sha512sum (the container's build stage has no
# openssl command).
SHA512=29578f5019f6d44a8254ff667f1cc4b8cdd26091c7105ed7fa2882d9ee374108034b211a92c2279821a8a13df0e6af9c340764482acaef58f42027eaa12a992f
# What it is built with: TLS and SCRAM/PLAIN/OAUTHBEARER (OpenSSL), GSSAPI
# (Cyrus SASL, as Debian's build has it), the OIDC token fetch (libcurl), and
# every compression codec Kafka has, against Debian's shared libraries so that
# their security updates apply. Changing these flags rebuilds.
# Threads through pthreads (librdkafka's tinycthread), not glibc's C11
# threads: Debian's build does the same, and libfaketime, with which the
# clock tests step the wall clock, intercepts pthread_cond_timedwait() but
# not the C11 cnd_timedwait().
CONFIGURE_FLAGS=(--enable-ssl --enable-gssapi --enable-curl --enable-zlib --enable-zstd
                 --enable-lz4-ext --disable-c11threads --disable-debug-symbols)

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge
SOURCES=${PB_SOURCES_DIR:-$CACHE/sources}
stamp_of() { echo "$RDKAFKA_VERSION $INTEGRITY ${CONFIGURE_FLAGS[*]} cc=$(cc -dumpfullversion 2>/dev/null || echo ?)"; }
PREFIX=$CACHE/librdkafka-$RDKAFKA_VERSION
log() { echo "librdkafka: $*" >&2; }

# npm pack checks the registry's integrity itself; this checks the file we keep.
check_integrity() { # check_integrity FILE
  [ "$(sha512sum "$1" | cut -d' ' -f1)" = "$SHA512" ]
}

# The same tarball as `npm pack` gets, straight from the registry (what a
# container build with no npm does): the address is the registry's for
# every package, name/-/basename-version.tgz.
REGISTRY=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}
TARBALL_URL="${REGISTRY%/}/$NPM_PKG/-/kafka-javascript-$NPM_VERSION.tgz"

fetch() {
  local f="$SOURCES/$TARBALL"
  if [ -s "$f" ] && check_integrity "$f"; then return 0; fi
  if [ -n "${PB_SOURCES_DIR:-}" ] && [ ! -w "$SOURCES" ]; then
    log "$f is missing or does not match $INTEGRITY"; exit 69
  fi
  mkdir -p "$SOURCES"
  local tmp; tmp=$(mktemp -d "$SOURCES/.fetch-XXXXXX")
  if command -v npm > /dev/null; then
    log "fetching librdkafka $RDKAFKA_VERSION's source: npm pack $NPM_PKG@$NPM_VERSION"
    (cd "$tmp" && npm pack --silent "$NPM_PKG@$NPM_VERSION" > /dev/null) \
      || { rm -rf "$tmp"; log "npm pack failed"; exit 69; }
  elif command -v curl > /dev/null; then
    log "fetching librdkafka $RDKAFKA_VERSION's source: $TARBALL_URL"
    curl -fsSL --retry 3 -o "$tmp/$TARBALL" "$TARBALL_URL" \
      || { rm -rf "$tmp"; log "cannot fetch $TARBALL_URL (is the npm registry reachable?)"; exit 69; }
  else
    rm -rf "$tmp"
    log "the source tarball is not in $SOURCES, and neither npm nor curl is installed to fetch it"
    log "(run scripts/install-deps.sh, or put $TARBALL there: npm pack $NPM_PKG@$NPM_VERSION)"
    exit 69
  fi
  check_integrity "$tmp/$TARBALL" || {
    log "$TARBALL does not match the pinned integrity $INTEGRITY; refusing it"
    rm -rf "$tmp"; exit 69
  }
  mv "$tmp/$TARBALL" "$f"
  rm -rf "$tmp"
}

built() { [ -f "$PREFIX/.complete" ] && [ "$(cat "$PREFIX/.complete")" = "$(stamp_of)" ]; }

# A build made from the same source with the same flags and compiler (its
# stamp equal to ours), staged by `stage-built`: the container build takes it
# instead of compiling again (the host that stages it has just built and
# tested it, on the same Debian release).
BUILT_TAR=librdkafka-$RDKAFKA_VERSION-built.tar
take_built() {
  local t="$SOURCES/$BUILT_TAR"
  [ -f "$t" ] || return 1
  [ "$(tar -xOf "$t" ./.complete 2>/dev/null)" = "$(stamp_of)" ] || { log "$t: another build's; not used"; return 1; }
  rm -rf "$PREFIX"; mkdir -p "$PREFIX"
  tar -C "$PREFIX" -xf "$t"
  log "took the build staged in $t (same source, flags and compiler)"
}

build() {
  if built; then echo "$PREFIX"; return 0; fi
  mkdir -p "$CACHE"
  # One build at a time: the plain, ASan, .deb and fuzz trees configure at once.
  exec 9> "$CACHE/.librdkafka.lock"
  flock 9
  if built; then echo "$PREFIX"; return 0; fi
  if take_built && built; then echo "$PREFIX"; return 0; fi
  fetch
  local t0=$SECONDS
  work=$(mktemp -d "$CACHE/.librdkafka-build-XXXXXX") # global: the EXIT trap reads it
  trap 'rm -rf "${work:-}"' EXIT
  tar -C "$work" -xzf "$SOURCES/$TARBALL" package/deps/librdkafka
  local src="$work/package/deps/librdkafka"
  grep -q "^#define RD_KAFKA_VERSION 0x$(printf '%02x%02x%02x' ${RDKAFKA_VERSION//./ })ff" "$src/src/rdkafka.h" \
    || { log "the tarball does not hold librdkafka $RDKAFKA_VERSION"; exit 69; }
  log "building librdkafka $RDKAFKA_VERSION (static, once; log: $work/build.log)"
  (cd "$src" && ./configure --prefix="$PREFIX" "${CONFIGURE_FLAGS[@]}" && \
     make -C src -j"$(nproc)" librdkafka.a) > "$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log" >&2; log "build failed"; exit 1; }
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX/lib" "$PREFIX/include/librdkafka"
  cp "$src/src/librdkafka.a" "$PREFIX/lib/"
  cp "$src/src/rdkafka.h" "$src/src/rdkafka_mock.h" "$PREFIX/include/librdkafka/"
  cp "$src/LICENSES.txt" "$PREFIX/"
  # The libraries librdkafka.a needs, for the linker (CMakeLists.txt reads it).
  sed -n 's/^MKL_PKGCONFIG_REQUIRES=[[:space:]]*//p' "$src/Makefile.config" > "$PREFIX/requires"
  [ -s "$PREFIX/requires" ] || { log "no MKL_PKGCONFIG_REQUIRES in Makefile.config"; exit 1; }
  stamp_of > "$PREFIX/.complete"
  log "built in $((SECONDS - t0)) s: $PREFIX"
  echo "$PREFIX"
}

case "${1:-}" in
  fetch) fetch ;;
  build) build ;;
  stage) [ -n "${2:-}" ] || { echo "usage: $0 stage DIR" >&2; exit 64; }
         fetch; mkdir -p "$2"
         check_integrity "$2/$TARBALL" 2>/dev/null || cp "$SOURCES/$TARBALL" "$2/$TARBALL" ;;
  stage-built) [ -n "${2:-}" ] || { echo "usage: $0 stage-built DIR" >&2; exit 64; }
         built || { log "not built yet"; exit 1; }
         mkdir -p "$2"; tar -C "$PREFIX" -cf "$2/$BUILT_TAR.tmp" . && mv "$2/$BUILT_TAR.tmp" "$2/$BUILT_TAR" ;;
  prefix) built && echo "$PREFIX" ;;
  version) echo "$RDKAFKA_VERSION" ;;
  *) echo "usage: $0 fetch|build|stage DIR|stage-built DIR|prefix|version" >&2; exit 64 ;;
esac
