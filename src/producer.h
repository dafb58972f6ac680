/* Producer: hands records to Kafka (librdkafka, idempotent, acks=all) and
 * reports each record's fate exactly once through its completion callback.
 *
 * Fates: DELIVERED (acked on its topic), DEAD_LETTERED (Kafka refused it
 * permanently, e.g. too large; its original bytes were acked on the dead-letter
 * topic instead), FAILED (not durable: timeout, shutdown, dead-letter failed).
 *
 * Threads: a producer owns one poll thread. Completion callbacks run on it and
 * must not block for long. pb_producer_send() may be called from any thread.
 *
 * Faults: a full local queue makes send() wait (backpressure, never a drop);
 * a fatal producer error (idempotence broken) destroys and rebuilds the
 * librdkafka handle and re-sends every record not yet acknowledged.
 *
 * Ownership: send() copies everything it is given; the producer owns its
 * records until their callback has run. */
#ifndef PB_PRODUCER_H
#define PB_PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

typedef struct pb_producer pb_producer_t;

typedef enum pb_fate { PB_FATE_DELIVERED = 0, PB_FATE_DEAD_LETTERED, PB_FATE_FAILED } pb_fate_t;

/* What became of one record; valid only during the callback. */
typedef struct pb_delivery {
        pb_fate_t fate;
        const char *topic; /* where it is durable (the DLQ topic if dead-lettered) */
        int32_t partition;
        int64_t offset;
        int err;            /* rd_kafka_resp_err_t of the failure, 0 if none */
        const char *reason; /* why it was dead-lettered or failed, else NULL */
} pb_delivery_t;

typedef void(pb_done_fn)(void *opaque, const pb_delivery_t *d);

typedef struct pb_header {
        const char *name;
        const char *value;
} pb_header_t;

/* A record to produce. raw/raw_len are the original input bytes sent to the
 * dead-letter topic if Kafka refuses the record permanently (NULL: value). */
typedef struct pb_record {
        const char *topic;
        const char *key; /* may be NULL */
        size_t key_len;
        const char *value;
        size_t value_len;
        const pb_header_t *headers;
        size_t headers_cnt;
        const char *raw;
        size_t raw_len;
} pb_record_t;

typedef struct pb_producer_stats {
        uint64_t sent, delivered, dead_lettered, failed, rebuilds;
        uint64_t pending;
        int brokers_up; /* 1 while some broker connection is UP (statistics,
                         * delivery reports); 0 after "all brokers down" */
} pb_producer_stats_t;

/* Creates a producer from the config (safe defaults, then kafka.properties).
 * Returns NULL with errstr set; the error names the offending property. */
pb_producer_t *pb_producer_new(const pb_config_t *cfg, char *errstr, size_t errsz);

/* Checks kafka.properties against librdkafka without connecting. */
int pb_producer_conf_check(const pb_config_t *cfg, char *errstr, size_t errsz);

/* Prints the effective librdkafka properties (secrets redacted). */
void pb_producer_conf_print(const pb_config_t *cfg, FILE *out);

/* Enqueues a record; cb(opaque, ...) runs once with its fate. While the local
 * queue is full it waits, up to timeout_ms (<0: forever). Returns 0, or -1 if
 * it was not enqueued (timeout, or an invalid record) and cb will not run. */
int pb_producer_send(pb_producer_t *p, const pb_record_t *rec, pb_done_fn *cb, void *opaque,
                     int timeout_ms, char *errstr, size_t errsz);

/* Waits until every record has its fate or timeout_ms passed (<0: forever).
 * Returns the number of records still without one. */
size_t pb_producer_flush(pb_producer_t *p, int timeout_ms);

/* Fetches metadata for the topics (creating them where the broker
 * auto-creates), so the first record does not pay for it. Returns how many
 * topics were found; a failure is only logged. */
int pb_producer_warmup(pb_producer_t *p, const char *const *topics, size_t n, int timeout_ms);

/* Copies the counters. */
void pb_producer_stats(pb_producer_t *p, pb_producer_stats_t *out);

/* Stops the producer. Records still pending get FAILED ("shutdown") before it
 * returns; call pb_producer_flush() first for a graceful stop. */
void pb_producer_free(pb_producer_t *p);

/* Raises a librdkafka fatal error on the live handle, as a broken idempotent
 * sequence would (rd_kafka_test_fatal_error). For tests and fire drills. */
int pb_producer_inject_fatal(pb_producer_t *p, const char *reason);

/* Name of a delivery error code (pb_delivery_t.err), e.g. "_MSG_TIMED_OUT". */
const char *pb_producer_err_name(int err);

/* The dead-letter topic in use. */
const char *pb_producer_dlq_topic(const pb_producer_t *p);

#endif
