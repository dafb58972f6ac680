#!/usr/bin/env bash
# docs/design.md's module table names every file of src/ and no file that is
# not there: the design can be read from the repository alone.
set -euo pipefail
cd "${PB_SOURCE_DIR:-$(dirname "$0")/../..}"
table=$(sed -n '/<!-- BEGIN MODULE TABLE/,/<!-- END MODULE TABLE -->/p' docs/design.md)
[ -n "$table" ] || { echo "FAIL: docs/design.md has no module table"; exit 1; }
listed=$(grep -o '`[a-z_0-9]*\.[ch]`' <<<"$table" | tr -d '`' | sort -u)
present=$(cd src && ls -- *.c *.h | sort -u)
missing=$(comm -13 <(echo "$listed") <(echo "$present"))
stale=$(comm -23 <(echo "$listed") <(echo "$present"))
[ -z "$missing" ] || { echo "FAIL: src/ files missing from docs/design.md's module table:" $missing; exit 1; }
[ -z "$stale" ] || { echo "FAIL: docs/design.md's module table names files not in src/:" $stale; exit 1; }
echo "ok: docs/design.md's module table lists all $(wc -l <<<"$present") files of src/"

# A test per module (tests/unit/test_<module>.c), as the design says; main.c
# is the binary's argv, tested from outside (integration.cli).
untested=$(for f in src/*.c; do m=$(basename "$f" .c); [ "$m" = main ] || [ -f "tests/unit/test_$m.c" ] || echo "$m"; done)
[ -z "$untested" ] || { echo "FAIL: modules without tests/unit/test_<module>.c:" $untested; exit 1; }
echo "ok: every module of src/ but main.c has its unit test"
