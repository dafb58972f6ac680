#!/usr/bin/env bash
# A document that names, for its promises or findings, the tests that keep
# them (docs/testing.md, docs/security.md): every test it names must exist,
# so that a test renamed or removed fails here, not the promise silently.
#   named_tests.sh DOC MIN   (MIN: fewer names found means the table was lost)
set -euo pipefail
ROOT=${PB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
doc=$1 min=${2:-10}
missing=0; n=0
registered() { grep -qE "add_test\(NAME ${1//./\\.}( |$)" "$ROOT/tests/CMakeLists.txt"; }
for name in $(grep -oE '`(unit|integration|lint|interop|schema|deploy|docs)\.[a-z0-9_]+`|`fuzz_[a-z0-9_]+`' "$ROOT/$doc" | tr -d '`' | sort -u); do
  n=$((n + 1))
  case $name in
    unit.*) f=tests/unit/test_${name#unit.}.c ;;
    integration.*) f=tests/integration/test_${name#integration.}.sh ;;
    deploy.*) f=tests/deploy/test_${name#deploy.}.sh ;;
    lint.source_rules) f=tests/lint/source_rules.sh ;;
    fuzz_*) f=tests/fuzz/$name.c ;;
    interop.* | schema.* | docs.*)
      registered "$name" || { echo "$doc names $name, but tests/CMakeLists.txt registers no such test"; missing=$((missing + 1)); }
      continue ;;
    *) f=missing ;;
  esac
  [ -f "$ROOT/$f" ] || { echo "$doc names $name, but $f does not exist"; missing=$((missing + 1)); }
done
[ $n -ge "$min" ] || { echo "$doc names only $n tests (at least $min expected): its table lost them?"; exit 1; }
[ $missing = 0 ] || exit 1
echo "$doc: the $n tests it names exist"
