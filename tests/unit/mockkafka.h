/* librdkafka's mock cluster (rdkafka_mock.h) for the unit tests: real Kafka
 * protocol brokers on loopback, with faults injected; and a reader that
 * checks what they hold with an independent consumer. */
#ifndef PB_MOCKKAFKA_H
#define PB_MOCKKAFKA_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TM_BROKERS 3

typedef struct tm_cluster {
        rd_kafka_t *rk; /* owns the mock cluster */
        rd_kafka_mock_cluster_t *mc;
} tm_cluster_t;

/* Starts a cluster with topics t.a (3 partitions), t.b (2), t.dlq (1), and
 * the bridge's default topic names. */
tm_cluster_t *tm_cluster_new(void);
void tm_cluster_free(tm_cluster_t *c);

/* A bridge config on the cluster: linger 2 ms, dead letters to t.dlq, plus
 * extra kafka.properties (e.g. "\"message.timeout.ms=1500\"") and extra
 * config text (its own "topics = {" replaces the default one, so it must name
 * t.dlq itself); the caller frees it. */
pb_config_t *tm_config(tm_cluster_t *c, const char *props, const char *extra);

/* Takes every broker down or up. */
void tm_set_brokers(tm_cluster_t *c, int up);

/* Records a topic holds (sum of the partitions' high watermarks). */
int64_t tm_topic_count(tm_cluster_t *c, const char *topic);

/* One record read back. */
typedef struct tm_record {
        char key[128];
        char value[4096];
        char header[256]; /* the value of the header asked for, "" if none */
        int32_t partition;
} tm_record_t;

/* Reads every record of a topic (all partitions) into out (at most max);
 * header names one header to copy. Returns how many were read. */
size_t tm_read(tm_cluster_t *c, const char *topic, const char *header, tm_record_t *out,
               size_t max);

/* An independent producer on the cluster (the caller destroys it). */
rd_kafka_t *tm_producer(tm_cluster_t *c);

/* Produces one record (value, then headers as name, value pairs, NULL-ended)
 * with an independent producer and waits for its delivery. ts 0: now. */
void tm_produce(tm_cluster_t *c, const char *topic, const char *value, int64_t ts, ...);

#endif
