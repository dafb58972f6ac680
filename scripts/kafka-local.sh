#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) on loopback.
#   scripts/kafka-local.sh start|stop|status|bootstrap
# The broker jars come from Maven Central (org.apache.kafka:kafka_2.13 and its
# dependencies), resolved with Maven into $KAFKA_LOCAL_HOME/lib. A second
# `start` reuses the running broker. Prints the bootstrap address on start.
set -euo pipefail

# Several brokers may run side by side (tests stop and start their own):
# they share the jars and each has its own data, log and pid under its port.
KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge/kafka-$KAFKA_VERSION
KAFKA_LOCAL_HOME=${KAFKA_LOCAL_HOME:-$CACHE/broker-$KAFKA_PORT}
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
LIB="$CACHE/lib"
DATA="$KAFKA_LOCAL_HOME/data"
PIDFILE="$KAFKA_LOCAL_HOME/kafka.pid"
LOG="$KAFKA_LOCAL_HOME/kafka.log"

log() { echo "kafka-local: $*" >&2; }

fetch_jars() {
  [ -f "$LIB/.complete" ] && return 0
  command -v mvn >/dev/null || { log "mvn not found (run scripts/install-deps.sh)"; exit 69; }
  mkdir -p "$CACHE/pom" "$LIB"
  cat > "$CACHE/pom/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.portout-bridge</groupId><artifactId>kafka-local</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  log "resolving kafka_2.13:$KAFKA_VERSION from Maven Central (first run only)"
  mvn -q -B -f "$CACHE/pom/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIB" -DincludeScope=runtime >"$CACHE/mvn.log" 2>&1 \
    || { log "maven failed; see $CACHE/mvn.log"; tail -20 "$CACHE/mvn.log" >&2; exit 69; }
  touch "$LIB/.complete"
}

write_config() {
  mkdir -p "$KAFKA_LOCAL_HOME"
  cat > "$KAFKA_LOCAL_HOME/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat > "$KAFKA_LOCAL_HOME/log4j2.properties" <<L4J
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

java_run() {
  java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
       -Dlog4j2.configurationFile="$KAFKA_LOCAL_HOME/log4j2.properties" \
       -cp "$LIB/*" "$@"
}

# A pid file can outlive its process (a reboot, a new machine): the pid must
# still be a Kafka broker, not whatever reuses that number now.
running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null &&
    tr '\0' ' ' < "/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}

# A metadata request answered by the broker means it is up; a produce+ack
# means it accepts writes (topic auto-creation included).
wait_ready() {
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-120}))
  while [ $SECONDS -lt $deadline ]; do
    running || { log "broker exited; last log lines:"; tail -30 "$LOG" >&2; return 1; }
    if echo ready | kcat -P -b "$BOOTSTRAP" -t __portout_bridge_ready -X message.timeout.ms=5000 -X enable.idempotence=true 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  log "broker did not accept produce requests in time"; tail -30 "$LOG" >&2; return 1
}

start() {
  if running; then log "already running (pid $(cat "$PIDFILE"))"; echo "$BOOTSTRAP"; return 0; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; then
    log "port $KAFKA_PORT is taken by a process this script did not start"; exit 69
  fi
  fetch_jars
  write_config
  if [ ! -f "$DATA/meta.properties" ]; then
    mkdir -p "$DATA"
    java_run kafka.tools.StorageTool format --standalone -t "$(java_run kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      -c "$KAFKA_LOCAL_HOME/server.properties" >"$KAFKA_LOCAL_HOME/format.log" 2>&1 \
      || java_run kafka.tools.StorageTool format -t "$(java_run kafka.tools.StorageTool random-uuid 2>/dev/null)" \
           -c "$KAFKA_LOCAL_HOME/server.properties" >>"$KAFKA_LOCAL_HOME/format.log" 2>&1 \
      || { log "storage format failed"; cat "$KAFKA_LOCAL_HOME/format.log" >&2; exit 1; }
  fi
  log "starting broker on $BOOTSTRAP (log: $LOG)"
  nohup bash -c "$(declare -f java_run); KAFKA_LOCAL_HOME='$KAFKA_LOCAL_HOME' LIB='$LIB'; exec java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.configurationFile='$KAFKA_LOCAL_HOME/log4j2.properties' -cp '$LIB/*' kafka.Kafka '$KAFKA_LOCAL_HOME/server.properties'" \
      >"$LOG" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  wait_ready
  log "ready"
  echo "$BOOTSTRAP"
}

stop() {
  if ! running; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid=$(cat "$PIDFILE")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running pid $(cat "$PIDFILE") bootstrap $BOOTSTRAP"; else echo "stopped"; exit 3; fi ;;
  bootstrap) echo "$BOOTSTRAP" ;;
  reset) stop; rm -rf "$DATA"; log "data removed" ;;
  *) echo "usage: $0 start|stop|status|bootstrap|reset" >&2; exit 64 ;;
esac
