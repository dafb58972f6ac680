# Shared helpers for the deployment tests (sourced).
set -euo pipefail
: "${PB_BIN:?PB_BIN must point at the portout-bridge binary}"
: "${PB_SOURCE_DIR:?PB_SOURCE_DIR must point at the source tree}"
cd "$PB_SOURCE_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pb-deploy-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }
# A tool the test needs and does not find is a failure: scripts/install-deps.sh
# installs every one (a skip here hid a machine that could not check).
need() { command -v "$1" >/dev/null || fail "$1 is not installed (scripts/install-deps.sh installs it)"; }
# A skip is an exit code no program of ours returns; scripts/test.sh fails
# on any skip it was not told to allow.
skip() { echo "SKIP: $*"; exit 98; }
