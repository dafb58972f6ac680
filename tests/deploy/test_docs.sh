#!/usr/bin/env bash
# The configuration and metrics references in docs/operations.md and the
# example configuration are generated from the code's tables: no drift.
source "$(dirname "$0")/lib.sh"
bash scripts/gen-docs.sh --check "$PB_BIN" || fail "generated docs drifted: run scripts/gen-docs.sh"
pass "docs/operations.md (configuration and metrics references) and conf/portout-bridge.conf match the code"
