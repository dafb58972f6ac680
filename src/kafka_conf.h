/* What every librdkafka client of the bridge shares (the producer, the poll
 * election's consumer, the reconcile reader): its configuration from the
 * option table, its logging, and a teardown that a clock step cannot hang.
 * Ownership: pb_kafka_conf() returns a conf the caller owns (rd_kafka_new()
 * takes it on success). */
#ifndef PB_KAFKA_CONF_H
#define PB_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "config.h"

/* What an envelope and its record headers add to an event at most (the
 * attributes, the ce_ headers, ids up to 256 bytes each). */
#define PB_ENVELOPE_OVERHEAD_BYTES 16384

/* bootstrap.servers and kafka.properties (SASL, TLS...), after the bridge's
 * producer defaults when producer is set; our log callback. NULL with errstr
 * naming the offending property. A consumer ignores producer-only properties
 * (librdkafka logs that at debug). */
rd_kafka_conf_t *pb_kafka_conf(const pb_config_t *cfg, int producer, char *errstr, size_t errsz);

/* What one of the bridge's consumers needs beyond what they all share. */
typedef struct pb_consumer_spec {
        const char *role; /* "index", "reconcile", "election", "state", "show": client.id, errors */
        const char
            *group_id;     /* joined by subscribers; assign-only readers name one for librdkafka */
        int partition_eof; /* report each partition's end */
        const char *fetch_wait_max_ms, *fetch_min_bytes,
            *queued_max_kbytes; /* NULL: librdkafka's */
        /* A group member (the election): NULL otherwise. */
        const char *session_timeout_ms, *heartbeat_interval_ms, *assignment_strategy;
        void (*rebalance_cb)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts, void *opaque);
        void *opaque;
} pb_consumer_spec_t;

/* The one way the bridge builds a consumer, so that their settings cannot
 * drift apart: pb_kafka_conf() (brokers, security, logging), then
 * isolation.level=read_committed, stated (records of a transaction of
 * another writer are read once committed, never once aborted, as consumers
 * downstream read them), no auto commit and no offset store (every commit
 * is the bridge's own), no topic auto-creation (a topic a reader asks about
 * is not created with the broker's defaults), auto.offset.reset=earliest
 * (records deleted under a reader: what is left), then the spec. Polled
 * through its consumer queue. NULL with errstr. The caller destroys it. */
rd_kafka_t *pb_kafka_consumer_new(const pb_config_t *cfg, const pb_consumer_spec_t *spec,
                                  char *errstr, size_t errsz);

/* 1 if k is "NAME.file" for a secret NAME that may be read from a file
 * (sasl.password.file, ssl.key.password.file, ...). */
int pb_kafka_is_secret_file_property(const char *k);

/* The producer defaults, for check-config's listing: n pairs. */
const char *const (*pb_kafka_producer_defaults(size_t *n))[2];

/* Closes (consumers) and destroys rk on a helper thread, waiting at most ms
 * of monotonic time: librdkafka's teardown waits on wall-clock deadlines, so a
 * clock step can stretch it. Returns 0 done, -1 left to finish alone (the
 * opaque of rk must then stay alive). */
int pb_kafka_destroy_bounded(rd_kafka_t *rk, int consumer, int ms);

/* Writes "librdkafka VERSION (features: ...)": the library this binary runs,
 * for --version. */
void pb_kafka_describe(char *buf, size_t n);

/* 1 once a teardown was left running (main then leaves with _exit). */
int pb_kafka_teardown_abandoned(void);

/* Checks kafka.properties against librdkafka (as the producer takes them)
 * without connecting. */
int pb_kafka_conf_check(const pb_config_t *cfg, char *errstr, size_t errsz);

/* Prints the producer's effective librdkafka properties (secrets redacted). */
void pb_kafka_conf_print(const pb_config_t *cfg, FILE *out);

#endif
