/* Configuration: one table of options (config.c: pb_options[]) drives parsing,
 * type and range checks, defaults, `check-config` and the generated example in
 * conf/. Files are libconfig syntax; string values may use ${NAME} and
 * ${NAME:-default} to read the environment.
 *
 * Ownership: pb_config_load() returns a pb_config_t the caller frees with
 * pb_config_free(); every string in it belongs to it. */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "envsubst.h"
#include "event_types.h"

/* One "key=value" librdkafka property from kafka.properties. */
typedef struct pb_kv {
        char *key;
        char *value;
        int line; /* line in the config file, 0 for built-in defaults */
} pb_kv_t;

#define PB_CONFIG_MAX_OPTIONS 96
/* desk.deadline_warn_s: most thresholds. */
#define PB_DESK_MAX_THRESHOLDS 8
/* Largest configuration file read (a real one is a few KiB). */
#define PB_CONFIG_MAX_BYTES ((size_t)1024 * 1024)

/* telnyx.checkpoint_store: where the polling checkpoint lives (the order
 * of the option's names in config.c). */
enum pb_checkpoint_store {
        PB_CHECKPOINT_FILE = 0,  /* a locked file: one poller */
        PB_CHECKPOINT_KAFKA = 1, /* committed offset metadata: replicas elect one */
};

typedef struct pb_config {
        char *path; /* file it was loaded from, NULL if none */
        /* Where each option's value came from: 0 default, >0 file line,
         * -1 environment (secrets). Indexed like the option table. */
        int src_line[PB_CONFIG_MAX_OPTIONS];

        int log_level;           /* enum pb_log_level */
        int log_format;          /* 0 logfmt, 1 json */
        int log_delivery_level;  /* enum pb_log_level of one line per delivery */
        int envelope_kafka_mode; /* enum pb_kafka_mode (record.h), in kafka_modes order */

        char *kafka_brokers;
        pb_kv_t *kafka_props;
        size_t kafka_props_cnt;
        int64_t kafka_flush_timeout_ms;

        char *topic_event[PB_ET_COUNT]; /* by enum pb_event_type_index */
        char *topic_other;
        char *topic_dead_letter;
        char *topic_control;
        char *topic_state;
        char *topic_deadlines;
        char *topic_commands, *topic_command_results;

        char *envelope_source;
        int64_t input_max_event_bytes;

        char *telnyx_api_base;
        char *telnyx_events_path;
        char *telnyx_api_key_file;
        char *telnyx_api_key; /* secret: from TELNYX_API_KEY or the file */
        char *telnyx_ca_file; /* NULL: the system's CA store */
        int64_t telnyx_connect_timeout_ms;
        int64_t telnyx_timeout_ms;
        int64_t telnyx_max_retries;
        int64_t telnyx_retry_base_ms;
        int64_t telnyx_retry_max_ms;
        int64_t telnyx_page_size;
        int64_t telnyx_backfill_max_passes;
        int64_t telnyx_max_pages;
        int telnyx_poll_enabled;
        int64_t telnyx_poll_interval_s;
        int64_t telnyx_poll_overlap_s;
        int64_t telnyx_poll_lookback_s;
        int64_t telnyx_poll_settle_s;
        char *telnyx_checkpoint_file;
        int telnyx_checkpoint_store; /* enum pb_checkpoint_store */
        int state_enabled;
        char *state_group;
        int64_t state_coalesce_ms, state_resync_interval_s, state_pending_alert_s;
        char *desk_deadline_warn_s;                  /* as written */
        int64_t desk_warn_s[PB_DESK_MAX_THRESHOLDS]; /* parsed: ascending, distinct */
        size_t desk_warn_n;
        int64_t desk_auto_authorize_after_s, desk_deadline_lag_s;
        int desk_enabled, desk_dry_run;
        char *desk_group;
        int64_t desk_max_command_age_s;
        char *privacy_drop, *privacy_hash, *privacy_hash_key_file;
        char *tracing_otlp_endpoint; /* OTLP/HTTP base URL, NULL: none */
        char *privacy_hash_key;      /* from PORTOUT_BRIDGE_HASH_KEY or the file */
        int privacy_publish_pin_in_clear;
        int tracing_propagate;      /* traceparent on every record of an event */
        struct pb_privacy *privacy; /* built from the three above at load */
        char *telnyx_poll_group;
        char *telnyx_reconcile_group;
        int64_t telnyx_poll_session_timeout_ms;
        int64_t telnyx_reconcile_margin_s;
        int64_t telnyx_reconcile_max_ids;
        int webhook_enabled;
        char *webhook_address;
        char *webhook_tls_cert_file, *webhook_tls_key_file; /* NULL: plain HTTP */
        int64_t webhook_tls_watch_s;
        int64_t webhook_port;
        char *webhook_paths; /* comma-separated */
        char *webhook_public_key_file;
        char *webhook_public_key; /* from TELNYX_PUBLIC_KEY or the file */
        int webhook_verify_signatures;
        int64_t webhook_signature_tolerance_s;
        int64_t webhook_ack_timeout_ms;
        int64_t webhook_retry_after_s;
        int64_t webhook_max_connections;
        int64_t webhook_connection_timeout_s;
        int64_t webhook_request_timeout_ms;
        int64_t webhook_max_connections_per_ip;
        int64_t webhook_unverified_budget_bytes;
        int webhook_reuse_port;
        int64_t webhook_threads;
        int64_t dedupe_entries;
        int64_t dedupe_ttl_s;
        int dedupe_from_kafka;
        int64_t dedupe_max_view_age_ms;
        int admin_enabled;
        char *admin_address;
        int64_t admin_port;
} pb_config_t;

/* Default location when neither -c nor $PORTOUT_BRIDGE_CONFIG is given. */
#define PB_CONFIG_DEFAULT_PATH "/etc/portout-bridge/portout-bridge.conf"

/* Picks the config path: explicit, else $PORTOUT_BRIDGE_CONFIG, else the
 * default. The result is borrowed from its inputs or is a literal. */
const char *pb_config_path(const char *explicit_path, pb_env_lookup_fn *lookup);

/* Loads and validates path (NULL: defaults only). Errors name the file, line
 * and key. Returns NULL with errstr set on any error. */
pb_config_t *pb_config_load(const char *path, pb_env_lookup_fn *lookup, char *errstr, size_t errsz);

/* Frees cfg and everything it owns. */
void pb_config_free(pb_config_t *cfg);

/* The topics events go to: one per known event type (event_types.h),
 * then the "other" topic. */
#define PB_CONFIG_EVENT_TOPICS (PB_ET_COUNT + 1)

/* Fills out[PB_CONFIG_EVENT_TOPICS] with them (borrowed from cfg); returns
 * out. */
const char **pb_config_event_topics(const pb_config_t *cfg,
                                    const char *out[PB_CONFIG_EVENT_TOPICS]);

/* The topics the bridge publishes to: one per known event type
 * (event_types.h), the "other" topic, then the dead-letter topic. */
#define PB_CONFIG_TOPICS (PB_ET_COUNT + 2)

/* Fills out[PB_CONFIG_TOPICS] with them (borrowed from cfg), in that order;
 * returns out. Readers that need one of them by role use its field
 * (topic_other, topic_dead_letter), never a position. */
const char **pb_config_topics(const pb_config_t *cfg, const char *out[PB_CONFIG_TOPICS]);

/* Prints the effective configuration, one "key = value" line each, secrets
 * redacted. */
void pb_config_print(const pb_config_t *cfg, FILE *out);

/* Returns 1 if a librdkafka property with this name holds a secret. */
int pb_config_is_secret_property(const char *key);

/* Takes the secrets' environment variables (TELNYX_API_KEY,
 * PORTOUT_BRIDGE_HASH_KEY) out of the process once the configuration has
 * them: zeroed where they were (/proc/PID/environ shows the block as it
 * was at exec) and unset, so that no child (librdkafka's kinit) inherits
 * them. Call before any thread starts. */
void pb_config_forget_secret_environment(void);

#endif
