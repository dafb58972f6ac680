#!/usr/bin/env bash
# The build's choice of librdkafka: the pinned build by default; a system
# librdkafka only with -DPB_SYSTEM_RDKAFKA=ON, and refused below 2.6.1 (it
# cannot log in with SCRAM to Kafka 4) with a message that says why. The
# "system" librdkafka here is a pkg-config file of the version under test
# over the pinned build's own library, so no other librdkafka is needed.
source "$(dirname "$0")/lib.sh"
need cmake
prefix=$(bash scripts/librdkafka.sh prefix) || fail "the pinned librdkafka is not built"
sys_pc() { # sys_pc VERSION: a system-style rdkafka.pc in $WORK/pc
  mkdir -p "$WORK/pc"
  cat > "$WORK/pc/rdkafka.pc" <<PC
prefix=$prefix
Name: librdkafka
Description: as a distribution would install it
Version: $1
Requires.private: $(cat "$prefix/requires")
Cflags: -I\${prefix}/include
Libs: -L\${prefix}/lib -lrdkafka $(for r in $(cat "$prefix/requires"); do pkg-config --libs "$r"; done | tr '\n' ' ') -lm -ldl -lpthread -lrt
PC
}
sys_pc 2.0.2
rc=0
PKG_CONFIG_PATH=$WORK/pc cmake -S . -B "$WORK/old" -DPB_SYSTEM_RDKAFKA=ON -DPB_TESTS=OFF > "$WORK/old.log" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a system librdkafka 2.0.2 was accepted"
grep -q "librdkafka 2.0.2 is too old" "$WORK/old.log" && grep -q "SCRAM" "$WORK/old.log" \
  || { cat "$WORK/old.log"; fail "the refusal does not say why"; }
sys_pc 2.6.1
PKG_CONFIG_PATH=$WORK/pc cmake -S . -B "$WORK/new" -G Ninja -DPB_SYSTEM_RDKAFKA=ON -DPB_TESTS=OFF > "$WORK/new.log" 2>&1 \
  || { cat "$WORK/new.log"; fail "a system librdkafka 2.6.1 was refused"; }
cmake --build "$WORK/new" --target portout-bridge > "$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; fail "build against the system librdkafka"; }
"$WORK/new/portout-bridge" --version | grep -q '^librdkafka ' || fail "--version"
pass "-DPB_SYSTEM_RDKAFKA=ON: 2.0.2 refused (it says why), 2.6.1 accepted and built; the default is the pinned $("$PB_BIN" --version | sed -n 's/^librdkafka \([0-9.]*\).*/\1/p')"
