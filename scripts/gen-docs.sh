#!/usr/bin/env bash
# Regenerates the parts of the docs that come from the code's tables, so they
# cannot drift: docs/operations.md's configuration reference (the option
# table in src/config.c) and metrics reference (the family table in
# src/metrics.c), README.md's table of commands (src/cmd_table.c), and
# conf/portout-bridge.conf (the commented example).
#   scripts/gen-docs.sh [BINARY]          rewrite them
#   scripts/gen-docs.sh --check [BINARY]  exit 1 if any is out of date (the test suite)
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
BIN=${1:-build/portout-bridge}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
"$BIN" check-config --reference > "$out/config.md"
"$BIN" check-config --metrics > "$out/metrics.md"
"$BIN" check-config --example > "$out/example.conf"
"$BIN" check-config --commands > "$out/commands.md"
# The ACLs of the default configuration, as check-config --acls prints them.
{ echo '```sh'
  "$BIN" -c "$out/example.conf" check-config --acls User:bridge --mode publish
  echo
  "$BIN" -c "$out/example.conf" check-config --acls User:bridge --mode index
  echo
  "$BIN" -c "$out/example.conf" check-config --acls User:bridge --mode replicas
  echo '```'; } > "$out/acls.md"
python3 - docs/operations.md "$out/config.md" "$out/metrics.md" "$out/acls.md" > "$out/operations.md" <<'PY'
import re, sys
doc = open(sys.argv[1]).read()
for name, path in (("config", sys.argv[2]), ("metrics", sys.argv[3]), ("acls", sys.argv[4])):
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    if begin not in doc or end not in doc:
        sys.exit(f"docs/operations.md lacks the {name} markers")
    doc = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                 lambda m: begin + "\n" + open(path).read() + end, doc, flags=re.S)
sys.stdout.write(doc)
PY
python3 - README.md "$out/commands.md" > "$out/README.md" <<'PY'
import re, sys
doc = open(sys.argv[1]).read()
begin, end = "<!-- BEGIN GENERATED: commands -->", "<!-- END GENERATED: commands -->"
if begin not in doc or end not in doc:
    sys.exit("README.md lacks the commands markers")
doc = re.sub(re.escape(begin) + ".*?" + re.escape(end),
             lambda m: begin + "\n" + open(sys.argv[2]).read() + end, doc, flags=re.S)
sys.stdout.write(doc)
PY
if [ $check = 1 ]; then
  rc=0
  diff -u README.md "$out/README.md" || { echo "README.md is out of date: run scripts/gen-docs.sh" >&2; rc=1; }
  diff -u docs/operations.md "$out/operations.md" || { echo "docs/operations.md is out of date: run scripts/gen-docs.sh" >&2; rc=1; }
  diff -u conf/portout-bridge.conf "$out/example.conf" || { echo "conf/portout-bridge.conf is out of date: run scripts/gen-docs.sh" >&2; rc=1; }
  exit $rc
fi
cp "$out/operations.md" docs/operations.md
cp "$out/README.md" README.md
cp "$out/example.conf" conf/portout-bridge.conf
echo "gen-docs: docs/operations.md, README.md's commands and conf/portout-bridge.conf regenerated"
