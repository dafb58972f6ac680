#!/usr/bin/env bash
# Installs what portout-bridge needs to build, test and run on Debian 12.
# Idempotent: packages already present are skipped, so a second run is quick.
set -euo pipefail

# Profiles:  dev (default: build, test, lint, local broker)
#            build (what the container's build stage needs)
#            runtime (shared libraries only: the container's final stage)
PROFILE=${1:-dev}
# librdkafka itself is not among them: scripts/librdkafka.sh builds a pinned
# upstream release statically (Debian's 2.0.2 cannot log in with SCRAM to
# Kafka 4); what it links (OpenSSL, Cyrus SASL, zlib, zstd, lz4, libcurl)
# comes from Debian, shared, so their security updates apply.
RUNTIME=(libssl3 libsasl2-2 zlib1g libzstd1 liblz4-1
         libjson-c5 libconfig9 libcurl4 libsodium23 libmicrohttpd12 libgnutls30 ca-certificates)
# curl: the container's build stage fetches the pinned librdkafka source
# from the npm registry (scripts/librdkafka.sh), checked against its sha512;
# openssl (the command): the unit tests make their TLS certificates with it,
# in the build stage too.
BUILD=(build-essential cmake ninja-build pkg-config curl ca-certificates
       libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev
       libjson-c-dev libconfig-dev libcurl4-openssl-dev
       libsodium-dev libmicrohttpd-dev libgnutls28-dev libcmocka-dev openssl)
DEV=("${BUILD[@]}" kcat curl ca-certificates jq python3 bc
     openjdk-17-jre-headless maven nodejs npm
     clang clang-tidy clang-format cppcheck libclang-rt-14-dev wrk time faketime
     podman buildah mmdebstrap crun dpkg-dev systemd prometheus openssl)
case "$PROFILE" in
  dev) PKGS=("${DEV[@]}") ;;
  build) PKGS=("${BUILD[@]}") ;;
  runtime) PKGS=("${RUNTIME[@]}") ;;
  *) echo "usage: $0 [dev|build|runtime]" >&2; exit 64 ;;
esac

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The machine image may ship Java/Maven/Node outside dpkg; accept those.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    openjdk-17-jre-headless) command -v java >/dev/null && java -version 2>&1 | grep -q '"17' && continue ;;
    maven) command -v mvn >/dev/null && continue ;;
    nodejs|npm) command -v node >/dev/null && command -v npm >/dev/null && continue ;;
  esac
  filtered+=("$p")
done

if [ ${#filtered[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${filtered[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${filtered[@]}"
  # In images: no package lists, caches or downloaded .debs left behind.
  [ "$PROFILE" = dev ] || { $SUDO apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; }
else
  echo "install-deps: all Debian packages present" >&2
fi

[ "$PROFILE" = dev ] || exit 0

# From PyPI, into the python3 on the PATH: Python cryptography (OpenSSL), with
# which the fake Telnyx API signs webhooks, an Ed25519 implementation
# independent of the bridge's; check-jsonschema (it carries the Compose
# Specification schema) and kubernetes-validate (Kubernetes' schemas), which
# validate the deployment manifests; PyYAML for the manifest checks; the
# CloudEvents Python SDK and confluent-kafka (with its own librdkafka), the
# Python consumer of the content-mode test; OpenTelemetry's SDK, its
# confluent-kafka instrumentation and its protobuf definitions, which read
# the bridge's trace context and spans in the tracing test.
pip_need=()
python3 -c 'import cryptography' 2>/dev/null || pip_need+=('cryptography>=41')
command -v check-jsonschema >/dev/null || pip_need+=('check-jsonschema==0.39.0')
command -v kubernetes-validate >/dev/null || pip_need+=('kubernetes-validate==1.37.0')
python3 -c 'import yaml' 2>/dev/null || pip_need+=('PyYAML>=6')
python3 -c 'import cloudevents.core.bindings.kafka' 2>/dev/null || pip_need+=('cloudevents==2.2.0')
python3 -c 'import confluent_kafka' 2>/dev/null || pip_need+=('confluent-kafka==2.16.1')
python3 -c 'import opentelemetry.instrumentation.confluent_kafka, opentelemetry.sdk, opentelemetry.proto' 2>/dev/null ||
  pip_need+=('opentelemetry-sdk==1.45.1' 'opentelemetry-instrumentation-confluent-kafka==0.66b1' 'opentelemetry-proto==1.45.1')
if [ ${#pip_need[@]} -gt 0 ]; then
  echo "install-deps: installing ${pip_need[*]} from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check "${pip_need[@]}" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${pip_need[@]}"
fi

# kustomize (renders the Kubernetes base), from the Go module proxy, once.
BIN_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge/bin
if ! command -v kustomize >/dev/null && [ ! -x "$BIN_CACHE/kustomize" ]; then
  echo "install-deps: building kustomize v5.7.1 from the Go module proxy" >&2
  mkdir -p "$BIN_CACHE"
  GOBIN="$BIN_CACHE" go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1
fi
