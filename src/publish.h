/* Publish: routing. One normalized item -> one Kafka record (record.h
 * builds it). An envelope goes to its event type's topic (event_types.h;
 * anything else goes to the "other" topic, never dropped), keyed by
 * portout_id; a rejected item goes to the dead-letter topic. Used by the
 * pipeline only. */
#ifndef PB_PUBLISH_H
#define PB_PUBLISH_H

#include "config.h"
#include "kafka_producer.h"
#include "normalize.h"
#include "record.h"
#include "trace.h"

/* Hands the item's record to the producer, with trace context tr (NULL:
 * none); returns a pb_send_rc (on anything but PB_SEND_OK cb will not run,
 * errstr says why). */
int pb_publish_item(pb_producer_t *p, const pb_config_t *cfg, const pb_norm_item_t *it,
                    const pb_provenance_t *prov, const pb_trace_t *tr, pb_done_fn *cb, void *opaque,
                    int timeout_ms, char *errstr, size_t errsz);

/* Returns the topic for a Telnyx event type (borrowed from cfg). */
const char *pb_publish_route(const pb_config_t *cfg, const char *event_type);

/* The topic an item is published to (the dead-letter topic if rejected). */
const char *pb_publish_topic(const pb_config_t *cfg, const pb_norm_item_t *it);

/* The producer's redirect (pb_redirect_fn; ctx: the pb_config_t): a record
 * Kafka refused for good becomes its dead letter on topics.dead_letter,
 * with the privacy policy. */
int pb_publish_redirect(void *ctx, const pb_refusal_t *r, pb_record_out_t *out);

#endif
