#!/usr/bin/env bash
# Rules the code may not break again without this test failing (issue 30's
# classes of defect), checked over every file of src/:
#   1. No json_tokener_parse(): it reads a C string, and a Kafka payload or
#      an API answer is not one (a read past the record). Parse through
#      pb_json_parse() (jsoncheck.h): length-bounded and cost-bounded.
#   2. A file the bridge writes is never reached through a symbolic link a
#      local user planted: every open() that may create or write carries
#      O_NOFOLLOW (mkstemp() and rename() are safe by construction), and no
#      fopen() writes, no creat().
set -euo pipefail
SRC=${PB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/src
python3 - "$SRC" <<'PY'
import os, re, sys
src = sys.argv[1]
bad = []
for name in sorted(os.listdir(src)):
    if not name.endswith((".c", ".h")):
        continue
    text = open(os.path.join(src, name), encoding="utf-8").read()
    # Comments and strings do not count.
    code = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    code = re.sub(r'"(\\.|[^"\\\n])*"', '""', code)
    line = lambda pos: code.count("\n", 0, pos) + 1
    for m in re.finditer(r"\bjson_tokener_parse\s*\(", code):
        bad.append(f"{name}:{line(m.start())}: json_tokener_parse() reads a C string; use pb_json_parse()")
    for m in re.finditer(r"\b(open|openat)\s*\(", code):
        call = code[m.start():code.find(";", m.start())]
        if re.search(r"O_(CREAT|WRONLY|RDWR|TRUNC|APPEND)", call) and "O_NOFOLLOW" not in call:
            bad.append(f"{name}:{line(m.start())}: {m.group(1)}() that may write without O_NOFOLLOW")
    for m in re.finditer(r"\bcreat\s*\(", code):
        bad.append(f"{name}:{line(m.start())}: creat() (use open() with O_NOFOLLOW)")
    # fopen's mode is a string literal: read it from the original text.
    for m in re.finditer(r'\bfopen\s*\([^;]*?,\s*"([^"]*)"', text):
        if re.search(r"[wa+]", m.group(1)):
            bad.append(f"{name}:{text.count(chr(10), 0, m.start()) + 1}: fopen(..., \"{m.group(1)}\") writes; use open() with O_NOFOLLOW")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print("source rules: no json_tokener_parse(), every open() that writes refuses symbolic links")
PY
