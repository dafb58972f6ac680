# A secured Apache Kafka as companies run it, for the integration tests
# (sourced after lib.sh): one KRaft node whose client listeners all
# authenticate, StandardAuthorizer with allow.everyone.if.no.acl.found=false,
# topics created by an admin, and only the ACLs that `portout-bridge
# check-config --acls` prints for the bridge's principal.
#   SASL_SSL  127.0.0.1:$SEC_SASL   SCRAM-SHA-512, SCRAM-SHA-256, PLAIN, OAUTHBEARER (JWT by JWKS)
#   SSL       127.0.0.1:$SEC_MTLS   client certificates required (mTLS)
# Certificates, SCRAM users and the OIDC issuer are made here, per test.
# The admin (User:admin, a super user) uses PLAIN; kcat (Debian's, an
# independent client) reads topics as the admin.

SEC_BASE=${SEC_BASE:-$((19500 + ${PB_IT_PORT_OFFSET:-0}))}
SEC_SASL=$SEC_BASE; SEC_MTLS=$((SEC_BASE + 1)); SEC_CTRL=$((SEC_BASE + 2))
SEC=$WORK/secure
SEC_KAFKA_VERSION=${SEC_KAFKA_VERSION:-4.1.1}
SEC_LIB=""
SEC_PID=""; OIDC_PID=""
BRIDGE_SECRET=bridge-secret-$RANDOM$RANDOM

# sec_certs: a CA; the broker's certificate (IP 127.0.0.1); the bridge's
# client certificate (CN=bridge), one expired, one from another CA.
sec_certs() {
  mkdir -p "$SEC"
  local d=$SEC
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 3 \
          -subj /CN=pb-test-ca 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/rogue-ca.key" -out "$d/rogue-ca.pem" -days 3 \
          -subj /CN=pb-rogue-ca 2>/dev/null
  sec_leaf broker "/CN=localhost" ca 3 "subjectAltName=IP:127.0.0.1,DNS:localhost"
  sec_leaf bridge "/CN=bridge" ca 3 "extendedKeyUsage=clientAuth"
  sec_leaf rogue "/CN=bridge" rogue-ca 3 "extendedKeyUsage=clientAuth"
  # Valid for one day, ten days ago.
  PB_FAKETIME="-10d" sec_leaf expired "/CN=bridge" ca 1 "extendedKeyUsage=clientAuth"
  cat "$d/broker.key" "$d/broker.pem" > "$d/broker-keystore.pem"
}
sec_leaf() { # NAME SUBJECT CA DAYS EXT
  local d=$SEC
  openssl req -newkey rsa:2048 -nodes -keyout "$d/$1.key" -out "$d/$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$5" > "$d/$1.ext"
  ${PB_FAKETIME:+faketime -f "$PB_FAKETIME"} openssl x509 -req -in "$d/$1.csr" -CA "$d/$3.pem" \
    -CAkey "$d/$3.key" -CAcreateserial -out "$d/$1.pem" -days "$4" -extfile "$d/$1.ext" 2>/dev/null
}

sec_oidc_start() {
  python3 "$PB_SOURCE_DIR/tests/integration/oidc_issuer.py" --clients "bridge:$BRIDGE_SECRET" \
    > "$SEC/oidc.out" 2>&1 &
  OIDC_PID=$!
  for _ in $(seq 1 100); do grep -q listening "$SEC/oidc.out" && break; sleep 0.1; done
  OIDC="http://127.0.0.1:$(sed -n 's/listening on //p' "$SEC/oidc.out")"
}

sec_java() { # CLASS ARGS...: one of Kafka's tools (kafka-local.sh maps the classes it loaded before)
  KAFKA_VERSION=$SEC_KAFKA_VERSION KAFKA_TOOL_OPTS="-Dlog4j2.configurationFile=$SEC/tools-log4j2.properties" \
    bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" tool "$@"
}

# Starts the broker (SEC_KAFKA_VERSION) with the SCRAM users made at format time.
sec_broker_start() {
  SEC_LIB=$(KAFKA_VERSION=$SEC_KAFKA_VERSION bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" lib)
  sec_certs
  sec_oidc_start
  local d=$SEC
  cat > "$d/tools-log4j2.properties" <<'L4J'
rootLogger.level=ERROR
rootLogger.appenderRef.stderr.ref=STDERR
appender.stderr.type=Console
appender.stderr.name=STDERR
appender.stderr.target=SYSTEM_ERR
appender.stderr.layout.type=PatternLayout
appender.stderr.layout.pattern=%p %m%n
L4J
  sed 's/rootLogger.level=ERROR/rootLogger.level=WARN/' "$d/tools-log4j2.properties" > "$d/log4j2.properties"
  printf 'logger.authz.name=kafka.authorizer.logger\nlogger.authz.level=INFO\n' >> "$d/log4j2.properties"
  cat > "$d/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$SEC_CTRL
listeners=SASL_SSL://127.0.0.1:$SEC_SASL,SSL://127.0.0.1:$SEC_MTLS,CONTROLLER://127.0.0.1:$SEC_CTRL
advertised.listeners=SASL_SSL://127.0.0.1:$SEC_SASL,SSL://127.0.0.1:$SEC_MTLS
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
inter.broker.listener.name=SASL_SSL
sasl.mechanism.inter.broker.protocol=PLAIN
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_bridge="$BRIDGE_SECRET";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
sasl.oauthbearer.jwks.endpoint.url=$OIDC/jwks
sasl.oauthbearer.expected.audience=kafka
listener.name.ssl.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=$d/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$d/ca.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# The controller listener is PLAINTEXT on loopback: its principal is ANONYMOUS.
super.users=User:admin;User:ANONYMOUS
auto.create.topics.enable=false
log.dirs=$d/data
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat > "$d/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";
ssl.truststore.type=PEM
ssl.truststore.location=$d/ca.pem
PROPS
  local id; id=$(bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" uuid)
  sec_java kafka.tools.StorageTool format -t "$id" -c "$d/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=bridge,password=$BRIDGE_SECRET]" \
      --add-scram "SCRAM-SHA-256=[name=bridge,password=$BRIDGE_SECRET]" > "$d/format.log" 2>&1 \
    || { cat "$d/format.log"; fail "storage format"; }
  java -Xms128m -Xmx512m ${KAFKA_JVM_OPTS:--XX:+UseG1GC} -Djava.awt.headless=true \
       $(KAFKA_VERSION=$SEC_KAFKA_VERSION bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" cds-read kafka.Kafka) \
       -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="$OIDC/jwks" \
       -Dlog4j2.configurationFile="$d/log4j2.properties" -cp "$SEC_LIB/*" kafka.Kafka "$d/server.properties" \
       > "$d/kafka.log" 2>&1 < /dev/null &
  SEC_PID=$!
  for _ in $(seq 1 120); do
    kill -0 "$SEC_PID" 2>/dev/null || { tail -40 "$d/kafka.log"; fail "secured broker exited"; }
    sec_kcat -L > /dev/null 2>&1 && return 0
    sleep 1
  done
  tail -40 "$d/kafka.log"; fail "secured broker not ready"
}

sec_broker_stop() {
  [ -n "$SEC_PID" ] && { kill -9 "$SEC_PID" 2>/dev/null; wait "$SEC_PID" 2>/dev/null || true; }
  [ -n "$OIDC_PID" ] && { kill "$OIDC_PID" 2>/dev/null; wait "$OIDC_PID" 2>/dev/null || true; }
  SEC_PID=""; OIDC_PID=""
}

# kcat as the admin (PLAIN over TLS): the test's own view of the topics.
sec_kcat() {
  kcat -b "127.0.0.1:$SEC_SASL" -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN \
       -X sasl.username=admin -X sasl.password=admin-secret -X ssl.ca.location="$SEC/ca.pem" "$@"
}

# Runs a Kafka command-line tool (kafka-acls.sh, kafka-topics.sh) as the admin.
sec_tool() { # kafka-acls.sh|kafka-topics.sh ARGS...
  local cls
  case "$1" in
    kafka-acls.sh) cls=org.apache.kafka.tools.AclCommand ;;
    kafka-topics.sh) cls=org.apache.kafka.tools.TopicCommand ;;
    *) fail "sec_tool: $1" ;;
  esac
  shift
  # 3.x keeps these in core, under kafka.admin.
  python3 -c 'import glob, sys, zipfile
sys.exit(0 if any(sys.argv[1] in zipfile.ZipFile(j).namelist() for j in glob.glob(sys.argv[2] + "/kafka*.jar")) else 1)' \
    "${cls//.//}.class" "$SEC_LIB" || cls=kafka.admin.${cls##*.}
  sec_java "$cls" --bootstrap-server "127.0.0.1:$SEC_SASL" --command-config "$SEC/admin.properties" "$@"
}

# The bridge's client settings for one mode, as kafka.properties lines.
sec_client_props() { # scram-512|scram-256|plain|mtls|oauthbearer [password]
  local pw=${2:-$BRIDGE_SECRET}
  case "$1" in
    scram-512|plain)
      local mech=SCRAM-SHA-512; [ "$1" = plain ] && mech=PLAIN
      printf '"security.protocol=SASL_SSL", "sasl.mechanism=%s", "sasl.username=bridge", "sasl.password=%s", "ssl.ca.location=%s"' \
        "$mech" "$pw" "$SEC/ca.pem" ;;
    scram-256) # the password from a file, as a Kubernetes secret mounts
      printf '%s\n' "$pw" > "$SEC/bridge.password"
      printf '"security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-256", "sasl.username=bridge", "sasl.password.file=%s", "ssl.ca.location=%s"' \
        "$SEC/bridge.password" "$SEC/ca.pem" ;;
    mtls|mtls-expired|mtls-rogue)
      local c=bridge; [ "$1" = mtls-expired ] && c=expired; [ "$1" = mtls-rogue ] && c=rogue
      printf '"security.protocol=SSL", "ssl.ca.location=%s", "ssl.certificate.location=%s", "ssl.key.location=%s"' \
        "$SEC/ca.pem" "$SEC/$c.pem" "$SEC/$c.key" ;;
    oauthbearer) # the client secret from a file
      printf '%s\n' "$pw" > "$SEC/oidc.secret"
      printf '"security.protocol=SASL_SSL", "sasl.mechanism=OAUTHBEARER", "sasl.oauthbearer.method=oidc", "sasl.oauthbearer.client.id=bridge", "sasl.oauthbearer.client.secret.file=%s", "sasl.oauthbearer.token.endpoint.url=%s/token", "ssl.ca.location=%s"' \
        "$SEC/oidc.secret" "$OIDC" "$SEC/ca.pem" ;;
    *) fail "sec_client_props: $1" ;;
  esac
}
sec_bootstrap() { case "$1" in mtls*) echo "127.0.0.1:$SEC_MTLS" ;; *) echo "127.0.0.1:$SEC_SASL" ;; esac; }
sec_principal() { case "$1" in mtls*) echo "User:CN=bridge" ;; *) echo "User:bridge" ;; esac; }
