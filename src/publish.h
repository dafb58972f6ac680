/* Publish: routing and records. One normalized item -> one Kafka record. An
 * envelope goes to its event type's topic (each known port-out type has one;
 * anything else goes to the "other" topic, never dropped), keyed by
 * portout_id, with CloudEvents Kafka-binding headers; a rejected item goes to
 * the dead-letter topic as its raw bytes with the reason in headers
 * (deadletter.h). Used by the pipeline only. */
#ifndef PB_PUBLISH_H
#define PB_PUBLISH_H

#include "config.h"
#include "kafka_producer.h"
#include "normalize.h"
#include "record.h"

/* Hands the item's record to the producer; returns a pb_send_rc (on anything
 * but PB_SEND_OK cb will not run, errstr says why). */
int pb_publish_item(pb_producer_t *p, const pb_config_t *cfg, const pb_norm_item_t *it,
                    const pb_provenance_t *prov, pb_done_fn *cb, void *opaque, int timeout_ms,
                    char *errstr, size_t errsz);

/* Returns the topic for a Telnyx event type (borrowed from cfg). */
const char *pb_publish_route(const pb_config_t *cfg, const char *event_type);

/* The topic an item is published to (the dead-letter topic if rejected). */
const char *pb_publish_topic(const pb_config_t *cfg, const pb_norm_item_t *it);

#endif
