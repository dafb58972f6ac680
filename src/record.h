/* A Kafka record as the bridge hands it to the producer: topic, key, value,
 * headers, and what the dead-letter topic needs if Kafka refuses it. Every
 * pointer is borrowed: pb_producer_send() copies what it keeps. */
#ifndef PB_RECORD_H
#define PB_RECORD_H

#include <stddef.h>

typedef struct pb_header {
        const char *name;
        const char *value;
} pb_header_t;

/* Where a record came from, for its dead-letter headers. */
typedef struct pb_provenance {
        const char *ingest;   /* "file", "webhook", "rest" */
        const char *received; /* RFC 3339 receive time */
        const char *origin;   /* e.g. "events.ndjson:12"; may be NULL */
} pb_provenance_t;

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
        pb_provenance_t prov;
        /* The event's id (may be NULL): a dead letter of the record carries
         * it as ce_id, in every content mode, so that the topics' readers
         * know the event is there. */
        const char *id;
} pb_record_t;

#endif
