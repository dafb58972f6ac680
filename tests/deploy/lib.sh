# Shared helpers for the deployment tests (sourced).
set -euo pipefail
: "${PB_BIN:?PB_BIN must point at the portout-bridge binary}"
: "${PB_SOURCE_DIR:?PB_SOURCE_DIR must point at the source tree}"
cd "$PB_SOURCE_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pb-deploy-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }
need() { command -v "$1" >/dev/null || { echo "SKIP: $1 not installed (scripts/install-deps.sh)"; exit 77; }; }
