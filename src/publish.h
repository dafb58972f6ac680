/* Publish: one normalized item -> one Kafka record. An envelope goes to its
 * event type's topic, keyed by portout_id, with CloudEvents Kafka-binding
 * headers; a rejected item goes to the dead-letter topic as its raw bytes with
 * the reason in headers. The fate comes back through cb (see producer.h). */
#ifndef PB_PUBLISH_H
#define PB_PUBLISH_H

#include "config.h"
#include "metrics.h"
#include "normalize.h"
#include "producer.h"

/* Where a rejected item came from, for its dead-letter headers. */
typedef struct pb_origin {
        const char *ingest;   /* "file", "webhook", "rest" */
        const char *received; /* RFC 3339 receive time */
        const char *where;    /* e.g. "events.ndjson:12", may be NULL */
} pb_origin_t;

/* Sends it; returns 0, or -1 (not enqueued, cb will not run) with errstr. */
int pb_publish_item(pb_producer_t *p, const pb_config_t *cfg, const pb_norm_item_t *it,
                    const pb_origin_t *origin, pb_done_fn *cb, void *opaque, int timeout_ms,
                    char *errstr, size_t errsz);

/* Counts one record's fate in metrics (published per topic, dead-lettered
 * per stage, failures per error). rejected: it was a normalizer rejection.
 * metrics may be NULL. */
void pb_publish_count(pb_metrics_t *metrics, const pb_delivery_t *d, int rejected);

/* The topic an item is published to (the dead-letter topic if rejected). */
const char *pb_publish_topic(const pb_config_t *cfg, const pb_norm_item_t *it);

#endif
