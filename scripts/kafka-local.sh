#!/usr/bin/env bash
# Local Apache Kafka (KRaft) on loopback, from Maven Central's jars.
#   scripts/kafka-local.sh start|stop|status|bootstrap|reset
#   KAFKA_NODES=3 scripts/kafka-local.sh start|stop|status|bootstrap|reset
#   KAFKA_NODES=3 scripts/kafka-local.sh kill-node N|start-node N|leader TOPIC PARTITION
#   scripts/kafka-local.sh lib      the jar directory (fetched if needed), for Kafka's own tools
#   scripts/kafka-local.sh tool CLASS ARGS...   runs one of Kafka's tools (TopicCommand,
#                                   AclCommand, StorageTool...) from those jars; extra JVM
#                                   options in KAFKA_TOOL_OPTS
#   scripts/kafka-local.sh uuid     a new cluster id
#   scripts/kafka-local.sh cds-read CLASS   JVM options to map CLASS's class archive (if made)
# One node (the default): a combined broker+controller on KAFKA_PORT (9092).
# Three nodes: combined broker+controllers 1..3 on KAFKA_PORT, +2, +4 (their
# controllers one above each), a three-voter quorum, replication factor 3 and
# min.insync.replicas 2, so acks=all means two copies: killing one node,
# the partition leader included, must lose nothing acknowledged.
# The jars come from Maven Central (org.apache.kafka:kafka_2.13 and its
# dependencies), resolved with Maven once into the cache. A second `start`
# reuses what runs. `start` prints the bootstrap address.
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_NODES=${KAFKA_NODES:-1}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge/kafka-$KAFKA_VERSION
LIB="$CACHE/lib"
if [ "$KAFKA_NODES" = 1 ]; then
  HOME_DIR=${KAFKA_LOCAL_HOME:-$CACHE/broker-$KAFKA_PORT}
else
  HOME_DIR=${KAFKA_LOCAL_HOME:-$CACHE/cluster-$KAFKA_PORT}
fi

log() { echo "kafka-local: $*" >&2; }

node_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
node_controller_port() {
  if [ "$KAFKA_NODES" = 1 ]; then echo "${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"; else echo $(($(node_port "$1") + 1)); fi
}
node_dir() { if [ "$KAFKA_NODES" = 1 ]; then echo "$HOME_DIR"; else echo "$HOME_DIR/node-$1"; fi; }
bootstrap() {
  local b="" i
  for i in $(seq 1 "$KAFKA_NODES"); do b="$b${b:+,}127.0.0.1:$(node_port "$i")"; done
  echo "$b"
}

fetch_jars() {
  local pom
  pom=$(pom_xml)
  [ -f "$LIB/.complete" ] && [ "$(cat "$LIB/.complete")" = "$(echo "$pom" | sha256sum)" ] && return 0
  # One fetch at a time: the plain and ASan suites may ask at once.
  mkdir -p "$CACHE"
  exec 8> "$CACHE/.fetch.lock"
  flock 8
  [ -f "$LIB/.complete" ] && [ "$(cat "$LIB/.complete")" = "$(echo "$pom" | sha256sum)" ] && return 0
  command -v mvn >/dev/null || { log "mvn not found (run scripts/install-deps.sh)"; exit 69; }
  # (no rm: a running broker has these jars open)
  mkdir -p "$CACHE/pom" "$LIB"
  echo "$pom" > "$CACHE/pom/pom.xml"
  log "resolving kafka_2.13:$KAFKA_VERSION from Maven Central (first run only)"
  mvn -q -B -f "$CACHE/pom/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIB" -DincludeScope=runtime >"$CACHE/mvn.log" 2>&1 \
    || { log "maven failed; see $CACHE/mvn.log"; tail -20 "$CACHE/mvn.log" >&2; exit 69; }
  echo "$pom" | sha256sum > "$LIB/.complete"
}

# The broker, and kafka-tools: the admin commands (kafka-acls, kafka-topics,
# kafka-configs) that the secured-Kafka tests run as an operator would.
pom_xml() {
  cat <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.portout-bridge</groupId><artifactId>kafka-local</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
}

write_config() { # write_config NODE
  local n=$1 dir voters="" i rf isr
  dir=$(node_dir "$n")
  for i in $(seq 1 "$KAFKA_NODES"); do voters="$voters${voters:+,}$i@127.0.0.1:$(node_controller_port "$i")"; done
  rf=$KAFKA_NODES; isr=$(( KAFKA_NODES > 1 ? 2 : 1 ))
  mkdir -p "$dir"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(node_port "$n"),CONTROLLER://127.0.0.1:$(node_controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(node_port "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
auto.create.topics.enable=true
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
PROPS
  cat > "$dir/log4j2.properties" <<L4J
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
L4J
}

# Class data sharing (AppCDS): a JVM maps the classes an earlier run of the
# same main class loaded instead of reading them from the jars again.
# Measured here: a kafka-topics call 0.97 -> 0.52 CPU-s, a broker's start to
# ready 2.9-3.5 -> 1.9-2.3 CPU-s; the test suite starts about 20 brokers and
# 70 tools on two cores. The first clean exit of each class writes its archive
# (kept per Kafka version, jar set and JDK: the key below); an archive that no
# longer matches is ignored by the JVM, silently (-Xlog:cds*=off).
CDS_DIR=$CACHE/cds
cds_archive() { # cds_archive CLASS: the archive's path for this JDK and jar set
  local jvm key
  jvm=$(dirname "$(readlink -f "$(command -v java)")")/../lib/server/libjvm.so
  key=$( { stat -Lc '%s %Y' "$jvm" 2>/dev/null; cat "$LIB/.complete" 2>/dev/null; } | cksum | cut -d' ' -f1)
  echo "$CDS_DIR/$1-$key.jsa"
}
# cds_flags CLASS: sets CDS (JVM options) and CDS_TMP (the archive this run
# writes at exit, to be renamed by cds_keep; empty when it reads one).
cds_flags() {
  local jsa; jsa=$(cds_archive "$1")
  mkdir -p "$CDS_DIR"
  if [ -s "$jsa" ]; then
    CDS=(-Xlog:cds*=off -XX:SharedArchiveFile="$jsa"); CDS_TMP=""
  else
    CDS_TMP="$jsa.tmp.$$.$RANDOM"; CDS=(-Xlog:cds*=off -XX:ArchiveClassesAtExit="$CDS_TMP")
  fi
}
cds_keep() { # cds_keep TMP: a complete archive takes its place (rename: atomic)
  [ -n "$1" ] || return 0
  local jsa=${1%.tmp.*}
  if [ -s "$1" ]; then mv -f "$1" "$jsa"; else rm -f "$1"; fi
}

java_run() { # java_run NODE class args...
  local dir rc=0; dir=$(node_dir "$1"); shift
  cds_flags "$1"
  java -Xms128m -Xmx${KAFKA_HEAP:-1g} ${KAFKA_JVM_OPTS:--XX:+UseG1GC} "${CDS[@]}" -Djava.awt.headless=true \
       -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$LIB/*" "$@" || rc=$?
  cds_keep "$CDS_TMP"
  return $rc
}

tool() { # tool CLASS ARGS...: one of Kafka's tools, with the broker's jars
  fetch_jars
  local rc=0
  cds_flags "$1"
  java -Xms64m -Xmx256m ${KAFKA_JVM_OPTS:-} "${CDS[@]}" ${KAFKA_TOOL_OPTS:-} -cp "$LIB/*" "$@" || rc=$?
  cds_keep "$CDS_TMP"
  return $rc
}

# A cluster id as Kafka's StorageTool random-uuid makes one (16 random bytes,
# base64url, unpadded, not starting with '-'), without starting a JVM for it.
random_uuid() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [[ $id == -* ]] || break
  done
  echo "$id"
}

# A pid file can outlive its process (a reboot, a new machine): the pid must
# still be a Kafka broker, not whatever reuses that number now.
running() { # running NODE
  local pf; pf="$(node_dir "$1")/kafka.pid"
  [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null &&
    tr '\0' ' ' < "/proc/$(cat "$pf")/cmdline" 2>/dev/null | grep 'kafka\.Kafka' > /dev/null # not -q: pipefail would count tr's SIGPIPE
}
all_running() { local i; for i in $(seq 1 "$KAFKA_NODES"); do running "$i" || return 1; done; }

# A produce acked with acks=all means the cluster accepts writes (topic
# auto-creation and, with three nodes, two in-sync copies included).
wait_ready() {
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-180})) i
  while [ $SECONDS -lt $deadline ]; do
    for i in $(seq 1 "$KAFKA_NODES"); do
      running "$i" || { log "node $i exited; last log lines:"; tail -30 "$(node_dir "$i")/kafka.log" >&2; return 1; }
    done
    if echo ready | kcat -P -b "$(bootstrap)" -t __portout_bridge_ready -X message.timeout.ms=5000 \
         -X enable.idempotence=true -X acks=all 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  log "Kafka did not accept produce requests in time"; tail -30 "$(node_dir 1)/kafka.log" >&2; return 1
}

start_node() { # start_node NODE [cluster-id]
  local n=$1 dir; dir=$(node_dir "$n")
  running "$n" && return 0
  local port; port=$(node_port "$n")
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "port $port is taken by a process this script did not start"; exit 69
  fi
  write_config "$n"
  if [ ! -f "$dir/data/meta.properties" ]; then
    mkdir -p "$dir/data"
    local id=${2:-$(random_uuid)}
    if [ "$KAFKA_NODES" = 1 ]; then
      java_run "$n" kafka.tools.StorageTool format --standalone -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
        || java_run "$n" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" >>"$dir/format.log" 2>&1 \
        || { log "storage format failed"; cat "$dir/format.log" >&2; exit 1; }
    else
      java_run "$n" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
        || { log "storage format of node $n failed"; cat "$dir/format.log" >&2; exit 1; }
    fi
  fi
  log "starting node $n on 127.0.0.1:$port (log: $dir/kafka.log)"
  # Its archive, when it writes one, is kept by a stop with TERM (stop_node).
  cds_flags kafka.Kafka
  echo "$CDS_TMP" > "$dir/kafka.cds"
  nohup java -Xms128m -Xmx${KAFKA_HEAP:-1g} ${KAFKA_JVM_OPTS:--XX:+UseG1GC} "${CDS[@]}" -Djava.awt.headless=true \
       -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$LIB/*" kafka.Kafka "$dir/server.properties" \
      >"$dir/kafka.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$dir/kafka.pid"
  # Between fork and exec the child is still this shell: `running` (which
  # wants kafka.Kafka in its command line) would call a broker that has not
  # yet exec'd "exited". On a loaded machine that window is long enough to be
  # seen (CI failed so, with an empty kafka.log). Wait for the exec.
  local i
  for i in $(seq 1 200); do
    running "$n" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  running "$n" || { log "node $n did not start (pid $pid); last log lines:"; tail -30 "$dir/kafka.log" >&2; exit 1; }
}

start() {
  if all_running; then log "already running"; bootstrap; return 0; fi
  fetch_jars
  local id="" i
  [ "$KAFKA_NODES" = 1 ] || [ -f "$(node_dir 1)/data/meta.properties" ] \
    || id=$(random_uuid)
  for i in $(seq 1 "$KAFKA_NODES"); do start_node "$i" "$id"; done
  wait_ready
  log "ready ($KAFKA_NODES node(s))"
  bootstrap
}

stop_node() { # stop_node NODE [signal]
  local pf cf clean=0; pf="$(node_dir "$1")/kafka.pid"; cf="$(node_dir "$1")/kafka.cds"
  if running "$1"; then
    local pid; pid=$(cat "$pf")
    kill "-${2:-TERM}" "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true
    elif [ "${2:-TERM}" = TERM ]; then clean=1; fi
  fi
  rm -f "$pf"
  # Only a broker that ended on TERM by itself wrote its whole archive.
  if [ -f "$cf" ]; then
    if [ $clean = 1 ]; then cds_keep "$(cat "$cf")"; else rm -f "$(cat "$cf")"; fi
    rm -f "$cf"
  fi
}

stop() { # KAFKA_STOP_SIGNAL=KILL for throwaway data (tests)
  local i any=0
  for i in $(seq 1 "$KAFKA_NODES"); do running "$i" && any=1; stop_node "$i" "${KAFKA_STOP_SIGNAL:-TERM}"; done
  if [ $any = 1 ]; then log "stopped"; else log "not running"; fi
}

# The node leading TOPIC's PARTITION, from the cluster's own metadata.
leader() {
  kcat -L -b "$(bootstrap)" -t "$1" -J 2>/dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)
for t in m["topics"]:
    for p in t["partitions"]:
        if p["partition"] == int(sys.argv[1]): print(p["leader"])' "$2"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if all_running; then echo "running ($KAFKA_NODES node(s)) bootstrap $(bootstrap)"; else echo "stopped"; exit 3; fi ;;
  bootstrap) bootstrap ;;
  reset) stop; rm -rf "$HOME_DIR"; log "data removed" ;;
  kill-node) stop_node "$2" KILL; log "node $2 killed" ;;
  start-node) start_node "$2"; log "node $2 started" ;;
  leader) leader "$2" "$3" ;;
  lib) fetch_jars; echo "$LIB" ;;
  tool) shift; tool "$@" ;;
  uuid) random_uuid ;;
  cds-read) # cds-read CLASS: the JVM options that read CLASS's archive, if there is one
    jsa=$(cds_archive "$2"); [ ! -s "$jsa" ] || echo "-Xlog:cds*=off -XX:SharedArchiveFile=$jsa" ;;
  *) echo "usage: $0 start|stop|status|bootstrap|reset|kill-node N|start-node N|leader TOPIC PARTITION|lib|tool CLASS ARGS...|uuid|cds-read CLASS" >&2; exit 64 ;;
esac
