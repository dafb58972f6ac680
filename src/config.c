#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_table.h"
#include "deadline.h"
#include "log.h"
#include "pb.h"
#include "privacy.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_formats[] = {"logfmt", "json", NULL};
static const char *const checkpoint_stores[] = {"file", "kafka", NULL};
static const char *const kafka_modes[] = {"structured", "structured_noheaders", "binary", NULL};

#define OFF(f) offsetof(pb_config_t, f)

/* The single source of truth for options. Order is the order of the example
 * file and of `check-config`. */
const struct pb_option pb_options[] = {
    {"log.level", OPT_ENUM, OFF(log_level), 0, "info", 0, 0, log_levels, NULL, NULL,
     "Most verbose level logged to stderr: error, warn, info or debug."},
    {"log.format", OPT_ENUM, OFF(log_format), 0, "logfmt", 0, 0, log_formats, NULL, NULL,
     "Log line format on stderr: logfmt (ts=... level=... msg=\"...\" key=value) or\n"
     "json (one object per line), for log shippers."},
    {"log.delivery_level", OPT_ENUM, OFF(log_delivery_level), 0, "debug", 0, 0, log_levels, NULL,
     NULL,
     "Level of the line logged for every event's outcome (delivered, dead-lettered,\n"
     "duplicate) with event_id, portout_id, topic, partition and offset; at the\n"
     "default (debug) and log.level info they are not shown. Failures are always\n"
     "logged at warn, with the error."},

    {"kafka.brokers", OPT_STR, OFF(kafka_brokers), 0, "127.0.0.1:9092", 0, 0, NULL, NULL,
     "\"${KAFKA_BROKERS:-127.0.0.1:9092}\"",
     "Bootstrap brokers, comma-separated host:port (librdkafka bootstrap.servers)."},
    {"kafka.properties", OPT_KVLIST, OFF(kafka_props), OFF(kafka_props_cnt), NULL, 0, 0, NULL, NULL,
     "( \"compression.type=lz4\", \"client.id=portout-bridge\" )",
     "Any librdkafka property as \"name=value\" (SASL, TLS, tuning). They override the\n"
     "bridge's defaults: enable.idempotence=true, acks=all, linger.ms=0,\n"
     "max.in.flight.requests.per.connection=1 (batches grow with load, not with\n"
     "time; docs/performance.md), queue.buffering.max.messages=10000,\n"
     "queue.buffering.max.kbytes=65536, message.timeout.ms=300000,\n"
     "partitioner=murmur2_random, reconnect.backoff.max.ms=2000,\n"
     "client.id=portout-bridge, statistics.interval.ms=1000. Values whose name\n"
     "holds \"password\", \"secret\" or \"key\" are redacted by check-config."},
    {"kafka.flush_timeout_ms", OPT_INT, OFF(kafka_flush_timeout_ms), 0, "30000", 0, 3600000, NULL,
     NULL, NULL,
     "Grace period at shutdown for undelivered messages to reach Kafka; what is\n"
     "still undelivered after it is reported (exit 75)."},

/* One row per known event type (event_types.h). */
#define TOPIC_OPTION(n, telnyx, idf, topic)                                                        \
        {"topics." #n, OPT_STR, OFF(topic_event[PB_ET_##n]),   0, topic, 0, 0, NULL,               \
         NULL,         NULL,    "Topic for " telnyx " events."},
    PB_EVENT_TYPES(TOPIC_OPTION)
#undef TOPIC_OPTION
        {"topics.other", OPT_STR, OFF(topic_other), 0, "telnyx.portouts.other", 0, 0, NULL, NULL,
         NULL, "Topic for event types this version does not know (they are never dropped)."},
    {"topics.dead_letter", OPT_STR, OFF(topic_dead_letter), 0, "telnyx.portouts.dlq", 0, 0, NULL,
     NULL, NULL,
     "Dead-letter topic: input that could not be normalized and events Kafka\n"
     "refused permanently, as the original bytes with the reason in headers."},
    {"topics.control", OPT_STR, OFF(topic_control), 0, "telnyx.portouts.control", 0, 0, NULL, NULL,
     NULL,
     "Single-partition topic whose consumer group elects the poll leader\n"
     "(telnyx.checkpoint_store = \"kafka\"); created if missing. It holds no records."},

    {"topics.state", OPT_STR, OFF(topic_state), 0, "telnyx.portouts.state", 0, 0, NULL, NULL, NULL,
     "Compacted topic of port-out state (state.enabled): one record per port-out\n"
     "and change, keyed by portout_id, the resource as Telnyx returns it; created\n"
     "compacted if missing."},
    {"topics.deadlines", OPT_STR, OFF(topic_deadlines), 0, "telnyx.portouts.deadlines", 0, 0, NULL,
     NULL, NULL,
     "Topic of deadline events (state.enabled): com.telnyx.portout.deadline, one per\n"
     "pending port-out and threshold of desk.deadline_warn_s, keyed by portout_id;\n"
     "created if missing. The state writer reads it whole on taking office to know\n"
     "what it has announced: keep its retention above desk.auto_authorize_after_s."},

    {"topics.commands", OPT_STR, OFF(topic_commands), 0, "telnyx.portouts.commands", 0, 0, NULL,
     NULL, NULL,
     "Topic the desk reads commands from (desk.enabled): structured CloudEvents\n"
     "com.telnyx.portout.authorize, .reject and .comment, keyed by portout_id.\n"
     "Whoever may write it may authorize a port-out: grant Write with care."},
    {"topics.command_results", OPT_STR, OFF(topic_command_results), 0,
     "telnyx.portouts.command-results", 0, 0, NULL, NULL, NULL,
     "Topic of the desk's results: one com.telnyx.portout.command_result per\n"
     "command, keyed by portout_id; created if missing. The desk reads it whole on\n"
     "taking office: keep its retention above the commands topic's."},

    {"envelope.source", OPT_STR, OFF(envelope_source), 0, "https://api.telnyx.com/v2/portouts", 0,
     0, NULL, NULL, NULL,
     "CloudEvents 'source' of every envelope, the same for every ingest path;\n"
     "consumers dedupe on (source, id)."},
    {"envelope.kafka_mode", OPT_ENUM, OFF(envelope_kafka_mode), 0, "structured", 0, 0, kafka_modes,
     NULL, NULL,
     "CloudEvents Kafka binding content mode (docs/envelope.md). \"structured\": the\n"
     "value is the whole envelope (application/cloudevents+json), and ce_* headers\n"
     "repeat its attributes for routing. \"structured_noheaders\": the same without\n"
     "the ce_* headers, for SDKs that take any ce_ header to mean binary mode (the\n"
     "Python cloudevents SDK's from_kafka_event). \"binary\": the value is the\n"
     "event's data (application/json), the attributes are ce_* headers only."},

    {"input.max_event_bytes", OPT_INT, OFF(input_max_event_bytes), 0, "524288", 1024,
     INT64_C(64) * 1024 * 1024, NULL, NULL, NULL,
     "Largest accepted event document (a replay line, a webhook body), in bytes.\n"
     "With its envelope (up to 16 KiB more) it must fit kafka message.max.bytes\n"
     "(librdkafka's default 1000000), or the bridge refuses to start; the topics'\n"
     "max.message.bytes (the broker's default 1048588) must allow it too."},

    {"telnyx.api_base", OPT_STR, OFF(telnyx_api_base), 0, "https://api.telnyx.com/v2", 0, 0, NULL,
     "TELNYX_API_BASE", NULL,
     "Base URL of the Telnyx API v2 (REST ingest). TELNYX_API_BASE in the\n"
     "environment takes precedence."},
    {"telnyx.events_path", OPT_STR, OFF(telnyx_events_path), 0, "/portouts/events", 0, 0, NULL,
     NULL, NULL,
     "Path of the port-out events resource under api_base (older Telnyx docs say\n"
     "/portout/events)."},
    {"telnyx.api_key_file", OPT_SECRET, OFF(telnyx_api_key_file), OFF(telnyx_api_key), NULL, 0, 0,
     NULL, "TELNYX_API_KEY", "\"/run/secrets/telnyx_api_key\"",
     "File holding the Telnyx API key (REST ingest), sent as a Bearer token.\n"
     "TELNYX_API_KEY in the environment takes precedence. Never printed."},
    {"telnyx.ca_file", OPT_STR, OFF(telnyx_ca_file), 0, NULL, 0, 0, NULL, NULL,
     "\"/etc/ssl/certs/ca-certificates.crt\"",
     "CA bundle for TLS verification of the API (unset: the system's). TLS\n"
     "verification is always on."},
    {"telnyx.connect_timeout_ms", OPT_INT, OFF(telnyx_connect_timeout_ms), 0, "5000", 100, 600000,
     NULL, NULL, NULL, "Connect timeout of one API request."},
    {"telnyx.timeout_ms", OPT_INT, OFF(telnyx_timeout_ms), 0, "30000", 100, 3600000, NULL, NULL,
     NULL, "Total timeout of one API request (a slower answer is retried)."},
    {"telnyx.max_retries", OPT_INT, OFF(telnyx_max_retries), 0, "8", 0, 100, NULL, NULL, NULL,
     "Retries of one request after network errors, 408, 429 and 5xx, with\n"
     "exponential backoff and jitter (Retry-After and x-ratelimit-reset win)."},
    {"telnyx.retry_base_ms", OPT_INT, OFF(telnyx_retry_base_ms), 0, "500", 1, 600000, NULL, NULL,
     NULL, "First retry delay; it doubles per attempt."},
    {"telnyx.retry_max_ms", OPT_INT, OFF(telnyx_retry_max_ms), 0, "30000", 1, 3600000, NULL, NULL,
     NULL, "Cap of one retry delay."},
    {"telnyx.page_size", OPT_INT, OFF(telnyx_page_size), 0, "250", 1, 250, NULL, NULL, NULL,
     "page[size] of list requests (Telnyx allows 1..250)."},
    {"telnyx.max_pages", OPT_INT, OFF(telnyx_max_pages), 0, "10000", 1, 1000000, NULL, NULL, NULL,
     "Most pages one pass of a scan reads (at page_size 250, 2.5 million events):\n"
     "an API that never says it is done (or ignores page[number]) ends the pass\n"
     "with an error here, not a loop; the checkpoint stays."},
    {"telnyx.backfill_max_passes", OPT_INT, OFF(telnyx_backfill_max_passes), 0, "5", 1, 100, NULL,
     NULL, NULL,
     "A scan of the event list is repeated while pages shifted under it (new\n"
     "events arriving), at most this many times."},
    {"telnyx.poll_enabled", OPT_BOOL, OFF(telnyx_poll_enabled), 0, "false", 0, 0, NULL, NULL, NULL,
     "Poll GET /portouts/events in `portout-bridge run` (with or without\n"
     "webhooks)."},
    {"telnyx.poll_interval_s", OPT_INT, OFF(telnyx_poll_interval_s), 0, "60", 1, 86400, NULL, NULL,
     NULL, "Seconds between polls."},
    {"telnyx.poll_overlap_s", OPT_INT, OFF(telnyx_poll_overlap_s), 0, "300", 0, 86400, NULL, NULL,
     NULL,
     "Each poll asks for events created since the checkpoint minus this, to\n"
     "catch events that show up late; those already published are skipped."},
    {"telnyx.poll_settle_s", OPT_INT, OFF(telnyx_poll_settle_s), 0, "40", 0, 3600, NULL, NULL, NULL,
     "With webhooks on, a poll leaves events younger than this (in Telnyx time) to\n"
     "the next one: their webhook, or Telnyx's retries of it, may still come, and\n"
     "the poll is for the ones Telnyx gave up on. Keep it above the time Telnyx\n"
     "spends retrying one event's first burst (1+2+4+8+16 s in the tests' model):\n"
     "a poll publishing an event while a retry of it reaches another replica is\n"
     "the one race that can put a copy in Kafka twice (docs/design.md). The cost\n"
     "is finding a never-sent event this much later."},
    {"telnyx.poll_lookback_s", OPT_INT, OFF(telnyx_poll_lookback_s), 0, "86400", 0, 31536000, NULL,
     NULL, NULL, "On the first start (no checkpoint), how far back to read."},
    {"telnyx.checkpoint_file", OPT_STR, OFF(telnyx_checkpoint_file), 0,
     "/var/lib/portout-bridge/checkpoint.json", 0, 0, NULL, NULL, NULL,
     "Where polling keeps its checkpoint (written to a temporary file, fsynced,\n"
     "renamed). It only moves past events Kafka has acknowledged."},
    {"telnyx.checkpoint_store", OPT_ENUM, OFF(telnyx_checkpoint_store), 0, "file", 0, 0,
     checkpoint_stores, NULL, NULL,
     "Where the poll checkpoint lives. \"file\": telnyx.checkpoint_file, one\n"
     "poller (locked). \"kafka\": every replica may poll; the consumer group\n"
     "telnyx.poll_group elects one, the checkpoint is its committed offset metadata\n"
     "(fenced: a deposed leader cannot move it), and before publishing, the poller\n"
     "reads what the event topics already hold, so no replica publishes an event\n"
     "twice. Switching from file to kafka migrates the file's checkpoint once."},
    {"telnyx.poll_group", OPT_STR, OFF(telnyx_poll_group), 0, "portout-bridge-poller", 0, 0, NULL,
     NULL, NULL, "Consumer group that elects the poll leader (checkpoint_store = \"kafka\")."},
    {"telnyx.poll_session_timeout_ms", OPT_INT, OFF(telnyx_poll_session_timeout_ms), 0, "10000",
     1000, 3600000, NULL, NULL, NULL,
     "Group session timeout: a leader that stops answering (killed, paused, cut\n"
     "off) is replaced after this long. The broker bounds it\n"
     "(group.min.session.timeout.ms, 6 s by default)."},
    {"telnyx.reconcile_group", OPT_STR, OFF(telnyx_reconcile_group), 0, "portout-bridge-reconcile",
     0, 0, NULL, NULL, NULL,
     "Consumer group id of the reconcile's reader (checkpoint_store = \"kafka\"). It\n"
     "joins nothing and commits nothing; librdkafka only looks up its coordinator,\n"
     "so the bridge's principal needs DESCRIBE on it (docs/operations.md)."},
    {"telnyx.reconcile_margin_s", OPT_INT, OFF(telnyx_reconcile_margin_s), 0, "600", 0, 86400, NULL,
     NULL, NULL,
     "The poller reads the topics from the checkpoint minus the overlap minus this\n"
     "(Kafka timestamps are the hosts' clocks, Telnyx's created_at is Telnyx's: this\n"
     "covers them disagreeing)."},
    {"telnyx.reconcile_max_ids", OPT_INT, OFF(telnyx_reconcile_max_ids), 0, "1000000", 1000,
     100000000, NULL, NULL, NULL,
     "Most event ids the reconcile keeps (about 100 bytes each); past it the\n"
     "oldest are forgotten (a duplicate risk, counted), never an event lost."},
    {"webhook.enabled", OPT_BOOL, OFF(webhook_enabled), 0, "true", 0, 0, NULL, NULL, NULL,
     "Receive Telnyx webhooks in `portout-bridge run`."},
    {"webhook.address", OPT_STR, OFF(webhook_address), 0, "0.0.0.0", 0, 0, NULL, NULL, NULL,
     "Address the webhook listener binds (IPv4 or IPv6). Health and metrics are\n"
     "on the admin listener (admin.*)."},
    {"webhook.port", OPT_INT, OFF(webhook_port), 0, "8080", 0, 65535, NULL, NULL,
     "\"${PORTOUT_BRIDGE_PORT:-8080}\"",
     "TCP port of the webhook listener (0: any free port, logged at start)."},
    {"webhook.tls_cert_file", OPT_STR, OFF(webhook_tls_cert_file), 0, NULL, 0, 0, NULL, NULL,
     "\"/etc/portout-bridge/tls/fullchain.pem\"",
     "Optional: TLS on the webhook listener itself (Telnyx needs a valid certificate for\n"
     "an https webhook URL). A PEM file: the certificate, then its chain. With\n"
     "webhook.tls_key_file set too, the listener speaks TLS 1.2 and 1.3 only.\n"
     "Unset: plain HTTP, behind a TLS-terminating proxy or ingress. SIGHUP (or\n"
     "`portout-bridge reload`) reads both files again without a restart."},
    {"webhook.tls_key_file", OPT_STR, OFF(webhook_tls_key_file), 0, NULL, 0, 0, NULL, NULL,
     "\"/etc/portout-bridge/tls/privkey.pem\"",
     "The private key of webhook.tls_cert_file's certificate (PEM); a secret: a\n"
     "regular file, read bounded, wiped after use, never printed. check-config\n"
     "refuses a key that is not the certificate's."},
    {"webhook.tls_watch_s", OPT_INT, OFF(webhook_tls_watch_s), 0, "60", 0, 86400, NULL, NULL, NULL,
     "With webhook TLS: every this many seconds, whether either file changed (a\n"
     "renewal, a Kubernetes Secret updated in place); if so, a reload as SIGHUP does.\n"
     "0: only SIGHUP and `portout-bridge reload`."},
    {"webhook.paths", OPT_STR, OFF(webhook_paths), 0, "/webhooks/telnyx/portouts", 0, 0, NULL, NULL,
     NULL,
     "Comma-separated URL paths that accept Telnyx webhook POSTs; all feed the\n"
     "same pipeline (e.g. one per Telnyx notification channel)."},
    {"webhook.public_key_file", OPT_SECRET, OFF(webhook_public_key_file), OFF(webhook_public_key),
     NULL, 0, 0, NULL, "TELNYX_PUBLIC_KEY", "\"/run/secrets/telnyx_public_key\"",
     "File holding the Telnyx webhook public key(s): base64 of the raw 32-byte\n"
     "Ed25519 key from Mission Control, one per line (several during a key\n"
     "rotation). TELNYX_PUBLIC_KEY in the environment (comma-separated) takes\n"
     "precedence."},
    {"webhook.verify_signatures", OPT_BOOL, OFF(webhook_verify_signatures), 0, "true", 0, 0, NULL,
     NULL, NULL,
     "Check telnyx-signature-ed25519 on every webhook. Turning it off lets anyone\n"
     "who can reach the port publish events; it is logged as a warning at start."},
    {"webhook.signature_tolerance_s", OPT_INT, OFF(webhook_signature_tolerance_s), 0, "300", 1,
     86400, NULL, NULL, NULL,
     "Largest accepted distance between telnyx-timestamp and the clock, both\n"
     "directions (Telnyx SDKs use 300 s). Keep the clock NTP-synced."},
    {"webhook.ack_timeout_ms", OPT_INT, OFF(webhook_ack_timeout_ms), 0, "1500", 50, 60000, NULL,
     NULL, NULL,
     "How long a webhook request waits for Kafka's delivery report before it is\n"
     "answered 503 with Retry-After (Telnyx gives up after about 2 s). An event\n"
     "answered 503 may still be delivered; Telnyx's retry is then a duplicate\n"
     "with the same CloudEvents id."},
    {"webhook.retry_after_s", OPT_INT, OFF(webhook_retry_after_s), 0, "5", 1, 3600, NULL, NULL,
     NULL, "Retry-After value (seconds) sent with 503 and 429 answers."},
    {"webhook.max_connections", OPT_INT, OFF(webhook_max_connections), 0, "1024", 1, 100000, NULL,
     NULL, NULL,
     "Most concurrent connections on the webhook listener. Past it, the oldest\n"
     "connection that has shown no validly signed request (and waits on nothing)\n"
     "is closed for the new one, so a client holding every slot cannot keep\n"
     "Telnyx out. Keep the process's open-file limit above it (LimitNOFILE)."},
    {"webhook.unverified_budget_bytes", OPT_INT, OFF(webhook_unverified_budget_bytes), 0,
     "16777216", 65536, 1073741824, NULL, NULL, NULL,
     "Bytes of request bodies held before their signature is checked, across all\n"
     "connections together. Past it, the request whose body has been arriving\n"
     "longest (250 ms at least) is cut for room (503), or a new one gets 503 at\n"
     "its headers: what unauthenticated clients can make the bridge hold is\n"
     "bounded by this, whatever they send (docs/security.md)."},
    {"webhook.max_connections_per_ip", OPT_INT, OFF(webhook_max_connections_per_ip), 0, "0", 0,
     100000, NULL, NULL, NULL,
     "Most concurrent connections from one client address (0: no cap). Leave it 0\n"
     "behind a proxy or load balancer, where every request has its address."},
    {"webhook.connection_timeout_s", OPT_INT, OFF(webhook_connection_timeout_s), 0, "10", 1, 3600,
     NULL, NULL, NULL, "An idle connection (no bytes for this long) is closed."},
    {"webhook.request_timeout_ms", OPT_INT, OFF(webhook_request_timeout_ms), 0, "10000", 100,
     600000, NULL, NULL, NULL,
     "Whole-request deadline: headers and body must be complete within this long\n"
     "of the connection opening (or of the previous answer on it), or the client\n"
     "gets 408 and the connection is closed. A client trickling bytes cannot\n"
     "hold a connection (HAProxy's timeout http-request)."},
    {"webhook.reuse_port", OPT_BOOL, OFF(webhook_reuse_port), 0, "false", 0, 0, NULL, NULL, NULL,
     "Share the port with other processes (SO_REUSEPORT). Off, a second instance\n"
     "on the same address and port refuses to start (exit 69) instead of\n"
     "silently taking half the webhooks."},
    {"webhook.threads", OPT_INT, OFF(webhook_threads), 0, "2", 1, 64, NULL, NULL, NULL,
     "HTTP worker threads (requests waiting for Kafka hold no thread)."},

    {"dedupe.entries", OPT_INT, OFF(dedupe_entries), 0, "100000", 0, 10000000, NULL, NULL, NULL,
     "Event ids remembered after delivery, shared by webhooks and polling: a\n"
     "Telnyx re-send, or an event both delivered by webhook and found by a poll,\n"
     "is not published again (0 turns deduplication off)."},
    {"dedupe.ttl_s", OPT_INT, OFF(dedupe_ttl_s), 0, "86400", 1, 2592000, NULL, NULL, NULL,
     "How long a delivered event id is remembered (monotonic time)."},
    {"dedupe.from_kafka", OPT_BOOL, OFF(dedupe_from_kafka), 0, "true", 0, 0, NULL, NULL, NULL,
     "With webhooks on, follow the event and dead-letter topics (the index): an\n"
     "event that any replica delivered in the last dedupe.ttl_s, or this one before\n"
     "a restart, is answered duplicate and not published again. Needs Read on\n"
     "those topics and Describe on telnyx.reconcile_group. At start, the last\n"
     "dedupe.ttl_s of the topics is read before webhooks are taken (/readyz waits)."},
    {"dedupe.max_view_age_ms", OPT_INT, OFF(dedupe_max_view_age_ms), 0, "1000", 100, 600000, NULL,
     NULL, NULL,
     "A webhook is published only while the index has read the topics to their\n"
     "ends within this long; otherwise it is answered 503 kafka_view_behind (its\n"
     "event may be in Kafka from another replica, not yet read here). Keep it\n"
     "below the interval of Telnyx's first retry."},

    {"state.enabled", OPT_BOOL, OFF(state_enabled), 0, "false", 0, 0, NULL, NULL, NULL,
     "Keep topics.state: the poll leader (telnyx.checkpoint_store = \"kafka\"), or\n"
     "the single instance, follows the event topics, fetches each port-out that\n"
     "had an event (GET /portouts/{id}) and writes it when it is newer than what\n"
     "the topic holds. Needs Read on the event topics and on topics.state, Write\n"
     "on topics.state, and the group state.group."},
    {"state.group", OPT_STR, OFF(state_group), 0, "portout-bridge-state", 0, 0, NULL, NULL, NULL,
     "Consumer group whose committed offsets are the state writer's position on\n"
     "the event topics (committed only after the state records are acknowledged)."},
    {"state.coalesce_ms", OPT_INT, OFF(state_coalesce_ms), 0, "500", 0, 60000, NULL, NULL, NULL,
     "Events of one port-out within this window cause one fetch."},
    {"state.resync_interval_s", OPT_INT, OFF(state_resync_interval_s), 0, "3600", 0, 604800, NULL,
     NULL, NULL,
     "On taking office and then this often, list the port-outs that are not final\n"
     "(GET /portouts, filter[status_in]) and write what changed with no event\n"
     "(0: only on taking office)."},
    {"state.pending_alert_s", OPT_INT, OFF(state_pending_alert_s), 0, "43200", 0, 86400, NULL, NULL,
     NULL,
     "A port-out pending longer than this is logged once and counted\n"
     "(portout_bridge_state_pending_over_threshold). Keep it well below Telnyx's\n"
     "24 to 48 hours, after which an unanswered port-out is authorized."},

    {"desk.enabled", OPT_BOOL, OFF(desk_enabled), 0, "false", 0, 0, NULL, NULL, NULL,
     "Carry out commands from topics.commands against the Telnyx API (authorize,\n"
     "reject, comment a port-out), one result each on topics.command_results; run\n"
     "by the poll leader, or the single instance. At most one API call per\n"
     "command id, ever (docs/design.md)."},
    {"desk.dry_run", OPT_BOOL, OFF(desk_dry_run), 0, "false", 0, 0, NULL, NULL, NULL,
     "Write each command's result (outcome dry_run) and call nothing."},
    {"desk.group", OPT_STR, OFF(desk_group), 0, "portout-bridge-desk", 0, 0, NULL, NULL, NULL,
     "Consumer group whose committed offsets are the desk's position on\n"
     "topics.commands, and whose offset metadata names a command being called."},
    {"desk.max_command_age_s", OPT_INT, OFF(desk_max_command_age_s), 0, "3600", 1, 604800, NULL,
     NULL, NULL, "A command older than this (by its CloudEvents time) is refused, not called."},
    {"desk.deadline_warn_s", OPT_STR, OFF(desk_deadline_warn_s), 0, "43200,72000", 0, 0, NULL, NULL,
     NULL,
     "Comma-separated ages, in seconds from the port-out's created_at (Telnyx's\n"
     "clock), at which a port-out still pending is announced on topics.deadlines\n"
     "(state.enabled): one event per port-out and age, ever. At most 8, each from 1\n"
     "to 604800. The default: 12 and 20 hours, before Telnyx authorizes an\n"
     "unanswered port-out on its own."},
    {"desk.auto_authorize_after_s", OPT_INT, OFF(desk_auto_authorize_after_s), 0, "86400", 3600,
     604800, NULL, NULL, NULL,
     "When Telnyx authorizes an unanswered port-out, counted from its created_at;\n"
     "a deadline event's auto_authorize_at. Telnyx says 24 to 48 hours: the\n"
     "default takes the earlier."},
    {"desk.deadline_lag_s", OPT_INT, OFF(desk_deadline_lag_s), 0, "60", 1, 3600, NULL, NULL, NULL,
     "A deadline event is written within this long of its threshold while a writer\n"
     "is in office (the port-out is looked at again first: GET /portouts/{id}).\n"
     "Keep it above telnyx.poll_session_timeout_ms: a new leader needs that long."},

    {"privacy.drop", OPT_STR, OFF(privacy_drop), 0, NULL, 0, 0, NULL, NULL,
     "\"payload.subscriber_name\"",
     "Comma-separated JSON member paths removed from what goes downstream: the\n"
     "event envelopes (paths under their data: payload.subscriber_name), dead\n"
     "letters, the state records (paths in the port-out resource: end_user_name,\n"
     "service_address) and `show`. payload.attempted_pin, a port-out PIN, is\n"
     "dropped whatever this says, unless privacy.hash names it or\n"
     "privacy.publish_pin_in_clear is true."},
    {"privacy.hash", OPT_STR, OFF(privacy_hash), 0, NULL, 0, 0, NULL, NULL,
     "\"payload.attempted_pin\"",
     "Comma-separated member paths replaced by \"hmac-sha256:<hex>\" of their value\n"
     "(HMAC-SHA-256 under the key of privacy.hash_key_file): consumers can still\n"
     "match equal values without learning them. For payload.attempted_pin it\n"
     "is the way to keep PINs comparable downstream (docs/operations.md)."},
    {"privacy.publish_pin_in_clear", OPT_BOOL, OFF(privacy_publish_pin_in_clear), 0, "false", 0, 0,
     NULL, NULL, NULL,
     "Publish payload.attempted_pin (the PIN a gaining carrier tried: a\n"
     "credential) as Telnyx sent it, to every topic, dead letters and `show`.\n"
     "Off, it is dropped (or hashed, if privacy.hash names it). On, a warning\n"
     "is logged at every start."},
    {"privacy.hash_key_file", OPT_SECRET, OFF(privacy_hash_key_file), OFF(privacy_hash_key), NULL,
     0, 0, NULL, "PORTOUT_BRIDGE_HASH_KEY", "\"/run/secrets/portout_hash_key\"",
     "File holding the hash key (at least 16 bytes; a trailing newline is not part\n"
     "of it). Keep it secret and stable: another key gives other hashes."},

    {"tracing.propagate", OPT_BOOL, OFF(tracing_propagate), 0, "true", 0, 0, NULL, NULL, NULL,
     "W3C trace context: every record the bridge writes for an event carries the\n"
     "Kafka header traceparent (and tracestate), in the trace of the webhook's\n"
     "traceparent request header when it sent a valid one, else in a new trace of\n"
     "its own; log lines about an event carry its trace_id. OpenTelemetry's Kafka\n"
     "instrumentations read the header. false: no trace headers, no trace_id."},
    {"tracing.otlp_endpoint", OPT_STR, OFF(tracing_otlp_endpoint), 0, NULL, 0, 0, NULL, NULL,
     "\"http://127.0.0.1:4318\"",
     "Optional: an OpenTelemetry collector's OTLP/HTTP base URL; each event's span\n"
     "(receipt to delivery report: ingest path, topic, outcome, a webhook's answer)\n"
     "is POSTed as JSON to <url>/v1/traces, batched, never holding an answer back:\n"
     "when the collector is down or slow, spans are dropped and counted\n"
     "(portout_bridge_trace_spans_total). Unset, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\n"
     "(as is) or OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) set it, and\n"
     "OTEL_EXPORTER_OTLP_HEADERS (name=value,...) adds request headers. Needs\n"
     "tracing.propagate."},

    {"admin.enabled", OPT_BOOL, OFF(admin_enabled), 0, "true", 0, 0, NULL, NULL, NULL,
     "Serve GET /healthz, /readyz and /metrics on a listener of their own, so\n"
     "webhook traffic (or slow clients) can never starve the probes."},
    {"admin.address", OPT_STR, OFF(admin_address), 0, "0.0.0.0", 0, 0, NULL, NULL, NULL,
     "Address of the admin listener (IPv4 or IPv6)."},
    {"admin.port", OPT_INT, OFF(admin_port), 0, "8081", 0, 65535, NULL, NULL,
     "\"${PORTOUT_BRIDGE_ADMIN_PORT:-8081}\"",
     "TCP port of the admin listener (0: any free port, logged at start)."},
};

#define N_OPTIONS (sizeof(pb_options) / sizeof(pb_options[0]))
_Static_assert(N_OPTIONS <= PB_CONFIG_MAX_OPTIONS, "raise PB_CONFIG_MAX_OPTIONS");
const size_t pb_options_n = N_OPTIONS;

#define FIELD(cfg, off, T) ((T *)((char *)(cfg) + (off)))

/* Largest secret file read; keys are far smaller. */
#define SECRET_MAX 4096

const char *pb_config_path(const char *explicit_path, pb_env_lookup_fn *lookup)
{
        if (explicit_path)
                return explicit_path;
        const char *e = lookup("PORTOUT_BRIDGE_CONFIG");
        if (e && *e)
                return e;
        return PB_CONFIG_DEFAULT_PATH;
}

/* Keys that moved: still accepted, with a warning naming the new key. */
static const char *const renamed[][2] = {
    {"webhook.dedupe_entries", "dedupe.entries"},
    {"webhook.dedupe_ttl_s", "dedupe.ttl_s"},
};

static const struct pb_option *find_option(const char *name)
{
        for (size_t i = 0; i < N_OPTIONS; i++)
                if (strcmp(pb_options[i].name, name) == 0)
                        return &pb_options[i];
        return NULL;
}

/* A group name is valid if some option lives under it. */
static int is_group(const char *prefix)
{
        size_t n = strlen(prefix);
        for (size_t i = 0; i < N_OPTIONS; i++)
                if (strncmp(pb_options[i].name, prefix, n) == 0 && pb_options[i].name[n] == '.')
                        return 1;
        return 0;
}

static const char *type_name(int t)
{
        switch (t) {
        case CONFIG_TYPE_GROUP: return "a group";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64: return "an integer";
        case CONFIG_TYPE_FLOAT: return "a float";
        case CONFIG_TYPE_STRING: return "a string";
        case CONFIG_TYPE_BOOL: return "a boolean";
        case CONFIG_TYPE_ARRAY: return "an array";
        case CONFIG_TYPE_LIST: return "a list";
        default: return "an unknown type";
        }
}

struct load_ctx {
        pb_config_t *cfg;
        const char *file;
        pb_env_lookup_fn *lookup;
        char *errstr;
        size_t errsz;
};

static int loc_err(struct load_ctx *lc, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int loc_err(struct load_ctx *lc, int line, const char *key, const char *fmt, ...)
{
        char msg[PB_ERRSZ];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (line > 0)
                return pb_seterr(lc->errstr, lc->errsz, "%s:%d: %s: %s", lc->file, line, key, msg);
        /* From the environment or a default: still name the file it loads. */
        return pb_seterr(lc->errstr, lc->errsz, "%s: %s: %s", lc->file, key, msg);
}

/* A bad value as an error shows it: at most 40 bytes, control and
 * non-ASCII bytes as \xNN, "..." when cut, so that a long or binary value
 * cannot push the reason out of the message (or a newline into the log). */
static const char *shown(const char *text, char out[200])
{
        size_t o = 0, i = 0;
        for (; i < 40 && text[i]; i++) {
                unsigned char c = (unsigned char)text[i];
                if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                        o += (size_t)snprintf(out + o, 200 - o, "\\x%02x", c);
                else
                        out[o++] = (char)c;
        }
        out[o] = '\0';
        if (text[i])
                snprintf(out + o, 200 - o, "...");
        return out;
}

/* Sets one scalar option from text (a default, or a file string after env
 * expansion). */
static int set_from_text(struct load_ctx *lc, const struct pb_option *o, const char *text, int line)
{
        pb_config_t *cfg = lc->cfg;
        char q[200];
        switch (o->type) {
        case OPT_STR:
        case OPT_SECRET: {
                char **dst = FIELD(cfg, o->off, char *);
                char *v = strdup(text);
                if (!v)
                        return loc_err(lc, line, o->name, "out of memory");
                free(*dst);
                *dst = v;
                if (o->type == OPT_STR && *v == '\0')
                        return loc_err(lc, line, o->name, "must not be empty");
                return 0;
        }
        case OPT_INT: {
                char *end;
                errno = 0;
                long long v = strtoll(text, &end, 10);
                if (errno || end == text || *end != '\0')
                        return loc_err(lc, line, o->name, "\"%s\" is not an integer",
                                       shown(text, q));
                if (v < o->min || v > o->max)
                        return loc_err(lc, line, o->name, "%lld is out of range [%lld, %lld]", v,
                                       (long long)o->min, (long long)o->max);
                *FIELD(cfg, o->off, int64_t) = v;
                return 0;
        }
        case OPT_ENUM:
                for (int i = 0; o->choices[i]; i++)
                        if (strcmp(o->choices[i], text) == 0) {
                                *FIELD(cfg, o->off, int) = i;
                                return 0;
                        }
                {
                        char list[256] = "";
                        for (int i = 0; o->choices[i]; i++) {
                                strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
                                strncat(list, o->choices[i], sizeof(list) - strlen(list) - 1);
                        }
                        return loc_err(lc, line, o->name, "\"%s\" is not one of: %s",
                                       shown(text, q), list);
                }
        case OPT_BOOL:
                if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0 ||
                    strcmp(text, "1") == 0 || strcmp(text, "on") == 0)
                        *FIELD(cfg, o->off, int) = 1;
                else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0 ||
                         strcmp(text, "0") == 0 || strcmp(text, "off") == 0)
                        *FIELD(cfg, o->off, int) = 0;
                else
                        return loc_err(lc, line, o->name, "\"%s\" is not a boolean (true/false)",
                                       shown(text, q));
                return 0;
        case OPT_KVLIST: break;
        }
        return loc_err(lc, line, o->name, "internal: cannot set from text");
}

static int expand(struct load_ctx *lc, const char *in, int line, const char *key, char **out)
{
        char e[PB_ERRSZ];
        if (pb_envsubst(in, lc->lookup, out, e, sizeof(e)))
                return loc_err(lc, line, key, "%s", e);
        return 0;
}

static int set_kvlist(struct load_ctx *lc, const struct pb_option *o, config_setting_t *s)
{
        int line = config_setting_source_line(s);
        int t = config_setting_type(s);
        if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
                return loc_err(lc, line, o->name,
                               "expected a list of \"name=value\" strings, got %s", type_name(t));
        int n = config_setting_length(s);
        pb_kv_t *kv = calloc((size_t)(n ? n : 1), sizeof(*kv));
        if (!kv)
                return loc_err(lc, line, o->name, "out of memory");
        *FIELD(lc->cfg, o->off, pb_kv_t *) = kv;
        size_t *cnt = FIELD(lc->cfg, o->off2, size_t);
        *cnt = 0;
        for (int i = 0; i < n; i++) {
                config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
                int eline = config_setting_source_line(e);
                if (config_setting_type(e) != CONFIG_TYPE_STRING)
                        return loc_err(lc, eline, o->name,
                                       "element %d must be a \"name=value\" string, got %s", i + 1,
                                       type_name(config_setting_type(e)));
                char *text;
                if (expand(lc, config_setting_get_string(e), eline, o->name, &text))
                        return PB_ERR;
                char *eq = strchr(text, '=');
                if (!eq || eq == text) {
                        int rc = loc_err(lc, eline, o->name,
                                         "element %d must be \"name=value\" (got \"%.40s\")", i + 1,
                                         pb_config_is_secret_property(text) ? "<redacted>" : text);
                        free(text);
                        return rc;
                }
                *eq = '\0';
                kv[*cnt].key = strdup(text);
                kv[*cnt].value = strdup(eq + 1);
                kv[*cnt].line = eline;
                free(text);
                if (!kv[*cnt].key || !kv[*cnt].value)
                        return loc_err(lc, eline, o->name, "out of memory");
                (*cnt)++;
        }
        return 0;
}

static int set_from_setting(struct load_ctx *lc, const struct pb_option *o, config_setting_t *s,
                            int idx)
{
        int line = config_setting_source_line(s);
        int t = config_setting_type(s);
        lc->cfg->src_line[idx] = line;
        if (o->type == OPT_KVLIST)
                return set_kvlist(lc, o, s);

        char buf[32];
        const char *text = NULL;
        if (t == CONFIG_TYPE_STRING) {
                text = config_setting_get_string(s);
        } else if (o->type == OPT_INT && (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)) {
                snprintf(buf, sizeof(buf), "%lld", config_setting_get_int64(s));
                return set_from_text(lc, o, buf, line);
        } else if (o->type == OPT_BOOL && t == CONFIG_TYPE_BOOL) {
                return set_from_text(lc, o, config_setting_get_bool(s) ? "true" : "false", line);
        } else {
                const char *want = o->type == OPT_INT    ? "an integer"
                                   : o->type == OPT_BOOL ? "a boolean"
                                                         : "a string";
                return loc_err(lc, line, o->name, "expected %s, got %s", want, type_name(t));
        }
        /* Strings may reference the environment; integers given as strings
         * ("${PORT:-8080}") are parsed after expansion. */
        char *expanded;
        if (expand(lc, text, line, o->name, &expanded))
                return PB_ERR;
        int rc = set_from_text(lc, o, expanded, line);
        free(expanded);
        return rc;
}

/* Walks the parsed tree: every leaf must be a known option. */
static int walk(struct load_ctx *lc, config_setting_t *grp, const char *prefix)
{
        int n = config_setting_length(grp);
        for (int i = 0; i < n; i++) {
                config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
                const char *name = config_setting_name(s);
                char path[256];
                snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
                         name ? name : "?");
                const struct pb_option *o = find_option(path);
                for (size_t r = 0; !o && r < sizeof(renamed) / sizeof(renamed[0]); r++)
                        if (strcmp(renamed[r][0], path) == 0) {
                                o = find_option(renamed[r][1]);
                                pb_warn("%s:%d: %s is now %s; please rename it", lc->file,
                                        config_setting_source_line(s), path, renamed[r][1]);
                        }
                if (o) {
                        if (set_from_setting(lc, o, s, (int)(o - pb_options)))
                                return PB_ERR;
                } else if (config_setting_type(s) == CONFIG_TYPE_GROUP && is_group(path)) {
                        if (walk(lc, s, path))
                                return PB_ERR;
                } else {
                        return loc_err(lc, config_setting_source_line(s), path,
                                       "unknown key (see `portout-bridge check-config --example`)");
                }
        }
        return 0;
}

static int read_secret_file(struct load_ctx *lc, const struct pb_option *o, const char *path,
                            char **out)
{
        /* A regular file only: a directory or a FIFO is an error, not a wait. */
        char *buf = NULL, e[PB_ERRSZ];
        size_t n = 0;
        if (pb_read_small_file(path, SECRET_MAX, &buf, &n, e, sizeof(e)))
                return loc_err(lc, lc->cfg->src_line[o - pb_options], o->name,
                               "cannot read secret file %s: %s", path, e);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                         buf[n - 1] == '\t'))
                n--;
        buf[n] = '\0';
        *out = buf;
        return 0;
}

/* 1 if the comma-separated list names path. */
static int path_listed(const char *list, const char *path)
{
        size_t pl = strlen(path);
        for (const char *s = list ? list : ""; *s;) {
                s += strspn(s, ", ");
                size_t n = strcspn(s, ", ");
                if (n == pl && !strncmp(s, path, n))
                        return 1;
                s += n;
        }
        return 0;
}

/* The PIN goes downstream only if the operator asked for it by name. */
#define PIN_PATH "payload.attempted_pin"

static int privacy_policy(struct load_ctx *lc)
{
        pb_config_t *cfg = lc->cfg;
        int named =
            path_listed(cfg->privacy_drop, PIN_PATH) || path_listed(cfg->privacy_hash, PIN_PATH);
        char *drop = NULL, e[PB_ERRSZ];
        if (cfg->privacy_publish_pin_in_clear && named)
                return pb_seterr(lc->errstr, lc->errsz,
                                 "%s: privacy.publish_pin_in_clear is true and privacy.drop or "
                                 "privacy.hash names " PIN_PATH ": choose one",
                                 lc->file);
        if (!cfg->privacy_publish_pin_in_clear && !named) {
                const char *d = cfg->privacy_drop;
                size_t n = (d ? strlen(d) : 0) + sizeof(PIN_PATH) + 1;
                drop = malloc(n);
                if (!drop)
                        return pb_seterr(lc->errstr, lc->errsz, "out of memory");
                snprintf(drop, n, "%s%s%s", d ? d : "", d && *d ? "," : "", PIN_PATH);
        }
        const char *key = cfg->privacy_hash_key;
        cfg->privacy = pb_privacy_new(drop ? drop : cfg->privacy_drop, cfg->privacy_hash, key,
                                      key ? strlen(key) : 0, e, sizeof(e));
        free(drop);
        if (!cfg->privacy)
                return pb_seterr(lc->errstr, lc->errsz, "%s: privacy: %s", lc->file, e);
        if (cfg->privacy_publish_pin_in_clear)
                pb_warn("privacy.publish_pin_in_clear is true: port-out PINs (" PIN_PATH
                        ") go to every topic, dead letters and show as Telnyx sent them");
        return 0;
}

/* The API key goes with every request: over plain http beyond this host,
 * in clear (fetch, backfill, republish, show, the poll and the state writer
 * alike). */
static void warn_api_base(const pb_config_t *cfg)
{
        const char *b = cfg->telnyx_api_base;
        if (!cfg->telnyx_api_key || !*cfg->telnyx_api_key || !b || strncmp(b, "http://", 7) != 0 ||
            pb_url_is_loopback(b))
                return;
        char u[512];
        pb_url_redact(b, u, sizeof(u));
        pb_warn("telnyx.api_base %s is plain http outside loopback: the API key would cross the "
                "network in clear",
                u);
}

/* desk.deadline_warn_s, parsed once for the state writer. */
static int desk_policy(struct load_ctx *lc)
{
        pb_config_t *cfg = lc->cfg;
        char e[PB_ERRSZ];
        if (pb_deadline_thresholds_parse(cfg->desk_deadline_warn_s, cfg->desk_warn_s,
                                         PB_DESK_MAX_THRESHOLDS, &cfg->desk_warn_n, e, sizeof(e)))
                return loc_err(lc, cfg->src_line[find_option("desk.deadline_warn_s") - pb_options],
                               "desk.deadline_warn_s", "%s", e);
        return 0;
}

static int finish(struct load_ctx *lc)
{
        pb_config_t *cfg = lc->cfg;
        for (size_t i = 0; i < N_OPTIONS; i++) {
                const struct pb_option *o = &pb_options[i];
                if (o->type == OPT_SECRET) {
                        char **secret = FIELD(cfg, o->off2, char *);
                        const char *ev = lc->lookup(o->env);
                        /* NAME_FILE names the file (the container convention;
                         * systemd's LoadCredential= hands one over too). */
                        char fenv[128];
                        snprintf(fenv, sizeof(fenv), "%s_FILE", o->env);
                        const char *fv = lc->lookup(fenv);
                        if (ev && *ev) {
                                *secret = strdup(ev);
                                cfg->src_line[i] = -1; /* the environment wins */
                        } else if (fv && *fv) {
                                char **path = FIELD(cfg, o->off, char *);
                                free(*path);
                                *path = strdup(fv);
                                cfg->src_line[i] = -2;
                                if (!*path || read_secret_file(lc, o, *path, secret))
                                        return PB_ERR;
                        } else if (*FIELD(cfg, o->off, char *)) {
                                if (read_secret_file(lc, o, *FIELD(cfg, o->off, char *), secret))
                                        return PB_ERR;
                        }
                        continue;
                }
                const char *ev = o->env ? lc->lookup(o->env) : NULL;
                if (ev && *ev) { /* the environment wins over file and default */
                        if (set_from_text(lc, o, ev, 0))
                                return PB_ERR;
                        cfg->src_line[i] = -1;
                        continue;
                }
                if (cfg->src_line[i] || !o->def)
                        continue;
                if (set_from_text(lc, o, o->def, 0))
                        return PB_ERR;
        }
        pb_log_set_level((enum pb_log_level)cfg->log_level);
        pb_log_set_format(cfg->log_format);
        warn_api_base(cfg);
        return desk_policy(lc) || privacy_policy(lc) ? PB_ERR : 0;
}

/* libconfig reads @include files itself, with none of the checks the main
 * file gets: each one (and theirs, at most 8 deep) is checked first the
 * same way, a regular file, no NUL byte, and all of them together within
 * PB_CONFIG_MAX_BYTES. Paths are relative to dir (libconfig's include
 * directory, the main file's). */
static int check_includes(const char *file, const char *text, const char *dir, int depth,
                          size_t *total, char *errstr, size_t errsz)
{
        for (const char *line = text; line && *line;
             line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                const char *p = line + strspn(line, " \t");
                if (strncmp(p, "@include", 8) != 0 || !strchr(" \t", p[8]) || !p[8])
                        continue;
                p += 8 + strspn(p + 8, " \t");
                if (*p != '"')
                        continue; /* libconfig's syntax error says the rest */
                size_t n = strcspn(p + 1, "\"\n");
                char name[1024], path[4096], *buf = NULL, e[PB_ERRSZ];
                size_t len = 0;
                snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
                snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : dir,
                         name[0] == '/' ? "" : "/", name);
                if (depth >= 8)
                        return pb_seterr(errstr, errsz, "%s: @include \"%.200s\": more than 8 deep",
                                         file, name);
                if (pb_read_small_file(path, PB_CONFIG_MAX_BYTES - *total, &buf, &len, e,
                                       sizeof(e)))
                        return pb_seterr(errstr, errsz,
                                         "%s: @include \"%.200s\": cannot read: %s%s", file, name,
                                         e, strstr(e, "larger") ? " (all files together)" : "");
                *total += len;
                int rc = strlen(buf) != len
                             ? pb_seterr(errstr, errsz,
                                         "%s: @include \"%.200s\": holds a NUL byte: not a "
                                         "configuration file",
                                         file, name)
                             : check_includes(path, buf, dir, depth + 1, total, errstr, errsz);
                free(buf);
                if (rc)
                        return rc;
        }
        return 0;
}

pb_config_t *pb_config_load(const char *path, pb_env_lookup_fn *lookup, char *errstr, size_t errsz)
{
        pb_config_t *cfg = calloc(1, sizeof(*cfg));
        if (!cfg) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        struct load_ctx lc = {cfg, path ? path : "(defaults)", lookup, errstr, errsz};
        int ok = 1;
        if (path) {
                config_t lcfg;
                config_init(&lcfg);
                cfg->path = strdup(path);
                /* Read it ourselves first: a directory, a FIFO (which would
                 * hang) or a huge file (libconfig is quadratic in a value's
                 * length: 10 MB took 85 s) is refused with the reason. */
                char *text = NULL, e[PB_ERRSZ];
                size_t tlen = 0;
                char dir[4096];
                snprintf(dir, sizeof(dir), "%s", path);
                const char *incdir = dirname(dir);
                size_t total = tlen; /* with the @include files, at most PB_CONFIG_MAX_BYTES */
                config_set_include_dir(&lcfg, incdir);
                if (pb_read_small_file(path, PB_CONFIG_MAX_BYTES, &text, &tlen, e, sizeof(e))) {
                        pb_seterr(errstr, errsz, "%s: cannot read: %s", path, e);
                        ok = 0;
                } else if (strlen(text) != tlen ||
                           check_includes(path, text, incdir, 0, &total, errstr, errsz)) {
                        if (strlen(text) != tlen)
                                pb_seterr(errstr, errsz,
                                          "%s: holds a NUL byte: not a configuration file", path);
                        ok = 0;
                } else if (!config_read_string(&lcfg, text)) {
                        if (config_error_type(&lcfg) == CONFIG_ERR_FILE_IO)
                                pb_seterr(errstr, errsz, "%s: cannot read: %s", path,
                                          strerror(errno ? errno : ENOENT));
                        else
                                pb_seterr(errstr, errsz, "%s:%d: syntax error: %s",
                                          config_error_file(&lcfg) ? config_error_file(&lcfg)
                                                                   : path,
                                          config_error_line(&lcfg), config_error_text(&lcfg));
                        ok = 0;
                } else if (walk(&lc, config_root_setting(&lcfg), "")) {
                        ok = 0;
                }
                free(text);
                config_destroy(&lcfg);
        }
        if (!ok || finish(&lc)) {
                pb_config_free(cfg);
                return NULL;
        }
        return cfg;
}

const char **pb_config_event_topics(const pb_config_t *cfg, const char *out[PB_CONFIG_EVENT_TOPICS])
{
        for (size_t i = 0; i < PB_ET_COUNT; i++)
                out[i] = cfg->topic_event[i];
        out[PB_ET_COUNT] = cfg->topic_other;
        return out;
}

const char **pb_config_topics(const pb_config_t *cfg, const char *out[PB_CONFIG_TOPICS])
{
        pb_config_event_topics(cfg, out);
        out[PB_CONFIG_EVENT_TOPICS] = cfg->topic_dead_letter;
        return out;
}

void pb_config_free(pb_config_t *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < N_OPTIONS; i++) {
                const struct pb_option *o = &pb_options[i];
                if (o->type == OPT_STR || o->type == OPT_SECRET)
                        free(*FIELD(cfg, o->off, char *));
                if (o->type == OPT_SECRET) {
                        char *s = *FIELD(cfg, o->off2, char *);
                        if (s) /* secrets do not linger in freed memory */
                                memset(s, 0, strlen(s));
                        free(s);
                }
        }
        for (size_t i = 0; i < cfg->kafka_props_cnt; i++) {
                free(cfg->kafka_props[i].key);
                free(cfg->kafka_props[i].value);
        }
        free(cfg->kafka_props);
        pb_privacy_free(cfg->privacy);
        free(cfg->path);
        free(cfg);
}

/* 1 if key ends with suffix. */
static int ends_with(const char *key, const char *suffix)
{
        size_t k = strlen(key), s = strlen(suffix);
        return k >= s && strcmp(key + k - s, suffix) == 0;
}

int pb_config_is_secret_property(const char *key)
{
        static const char *const marks[] = {
            "password", "secret", "key", "token", "sasl.oauthbearer.config", NULL};
        /* Paths are not secrets: ssl.key.location, sasl.password.file. */
        if (ends_with(key, ".location") || ends_with(key, ".file"))
                return 0;
        for (int i = 0; marks[i]; i++)
                if (strstr(key, marks[i]))
                        return 1;
        return 0;
}

static void print_source(const pb_config_t *cfg, size_t i, FILE *out)
{
        int l = cfg->src_line[i];
        if (l > 0)
                fprintf(out, "  # %s:%d\n", cfg->path, l);
        else if (l < 0)
                fprintf(out, "  # environment %s\n", pb_options[i].env);
        else
                fprintf(out, "  # default\n");
}

void pb_config_print(const pb_config_t *cfg, FILE *out)
{
        fprintf(out, "# effective configuration (%s); secrets redacted\n",
                cfg->path ? cfg->path : "built-in defaults");
        for (size_t i = 0; i < N_OPTIONS; i++) {
                const struct pb_option *o = &pb_options[i];
                fprintf(out, "%s = ", o->name);
                switch (o->type) {
                case OPT_STR: {
                        const char *v = *FIELD(cfg, o->off, char *);
                        char red[1024];
                        if (v && strstr(v, "://")) {
                                pb_url_redact(v, red, sizeof(red)); /* user:pass@ */
                                v = red;
                        }
                        if (v)
                                fprintf(out, "\"%s\"", v);
                        else
                                fputs("(unset)", out);
                        break;
                }
                case OPT_INT: fprintf(out, "%lld", (long long)*FIELD(cfg, o->off, int64_t)); break;
                case OPT_ENUM: fprintf(out, "\"%s\"", o->choices[*FIELD(cfg, o->off, int)]); break;
                case OPT_BOOL: fputs(*FIELD(cfg, o->off, int) ? "true" : "false", out); break;
                case OPT_KVLIST: {
                        fprintf(out, "(");
                        for (size_t k = 0; k < cfg->kafka_props_cnt; k++)
                                fprintf(out, "%s \"%s=%s\"", k ? "," : "", cfg->kafka_props[k].key,
                                        pb_config_is_secret_property(cfg->kafka_props[k].key)
                                            ? "<redacted>"
                                            : cfg->kafka_props[k].value);
                        fprintf(out, " )");
                        break;
                }
                case OPT_SECRET: {
                        const char *p = *FIELD(cfg, o->off, char *);
                        const char *s = *FIELD(cfg, o->off2, char *);
                        if (p)
                                fprintf(out, "\"%s\"", p);
                        else
                                fprintf(out, "(unset)");
                        fprintf(out, "  # secret %s", s ? "loaded, <redacted>" : "not set");
                        if (s && cfg->src_line[i] == -1)
                                fprintf(out, " (from %s)", o->env);
                        else if (s && cfg->src_line[i] == -2)
                                fprintf(out, " (file from %s_FILE)", o->env);
                        fprintf(out, "\n");
                        continue;
                }
                }
                print_source(cfg, i, out);
        }
}

void pb_config_forget_secret_environment(void)
{
        for (size_t i = 0; i < N_OPTIONS; i++) {
                const struct pb_option *o = &pb_options[i];
                if (o->type != OPT_SECRET || !o->env || !strcmp(o->name, "webhook.public_key_file"))
                        continue; /* a public key is no secret */
                char *v = getenv(o->env);
                if (v) /* in place: /proc/PID/environ reads the block as it was at exec */
                        memset(v, 0, strlen(v));
                unsetenv(o->env);
        }
}
