#!/usr/bin/env bash
# docs/security.md names, for each finding of its review, the test that keeps
# it fixed: every test it names must exist (a test renamed or removed fails
# this, not the promise silently).
set -euo pipefail
ROOT=${PB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
missing=0; n=0
for name in $(grep -oE '`(unit|integration|lint)\.[a-z0-9_]+`|`fuzz_[a-z0-9_]+`' "$ROOT/docs/security.md" | tr -d '`' | sort -u); do
  case $name in
    unit.*) f=tests/unit/test_${name#unit.}.c ;;
    integration.*) f=tests/integration/test_${name#integration.}.sh ;;
    lint.source_rules) f=tests/lint/source_rules.sh ;;
    fuzz_*) f=tests/fuzz/$name.c ;;
    *) f=missing ;;
  esac
  n=$((n + 1))
  [ -f "$ROOT/$f" ] || { echo "docs/security.md names $name, but $f does not exist"; missing=$((missing + 1)); }
done
[ $n -ge 10 ] || { echo "docs/security.md names only $n tests: its table lost them?"; exit 1; }
[ $missing = 0 ] || exit 1
echo "docs/security.md: the $n tests it names exist"
