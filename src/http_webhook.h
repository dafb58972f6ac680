/* Webhook acknowledgement: Telnyx port-out webhooks in, a 2xx only for events
 * that are safe in Kafka. The HTTP side is http_server.c's; this is what one
 * request means:
 *
 *   headers: 404 unknown path, 405 not a POST, 415 not JSON, 413 too large
 *   body:    the Ed25519 signature over "<telnyx-timestamp>|<body>" (401)
 *   then:    pb_pipeline_submit(); the request waits (holding no thread)
 *   answer:  200 {"status": delivered | dead_lettered | duplicate} once the
 *            document's outcome is in; 503 + Retry-After if it is not durable
 *            within webhook.ack_timeout_ms, if the bridge is full (it never
 *            waits on Kafka) or stopping. Telnyx retries a 503; the retry of
 *            an event still on its way follows it instead of publishing twice.
 *
 * Ownership: pb_webhook_new() borrows cfg, the pipeline, metrics and the
 * verifier (they must outlive it) and owns its listener. Stop order (cmd_run.c):
 * pb_webhook_quiesce(), then pb_pipeline_close() (every request gets its
 * answer), then pb_webhook_free(). */
#ifndef PB_HTTP_WEBHOOK_H
#define PB_HTTP_WEBHOOK_H

#include <stddef.h>

#include "config.h"
#include "http_verify.h"
#include "kafka_index.h"
#include "metrics.h"
#include "pipeline.h"

typedef struct pb_webhook pb_webhook_t;

/* Starts listening on webhook.address:port. verifier may be NULL only when
 * signatures are off. */
pb_webhook_t *pb_webhook_new(const pb_config_t *cfg, pb_pipeline_t *pl, pb_metrics_t *metrics,
                             const pb_verifier_t *verifier, char *errstr, size_t errsz);

/* Stops accepting; new requests (keep-alive ones too) get 503. */
void pb_webhook_quiesce(pb_webhook_t *w);

/* Checks every webhook against the index (borrowed; set before traffic):
 * an id it holds is a duplicate, and while its view is older than
 * dedupe.max_view_age_ms webhooks are answered 503 kafka_view_behind. */
void pb_webhook_set_index(pb_webhook_t *w, pb_index_t *ix);

/* The TCP port actually bound (useful when the config says 0). */
unsigned pb_webhook_port(const pb_webhook_t *w);

/* librdkafka checks message timeouts once a second: a record's fate can
 * come this long after its deadline. */
#define PB_RDKAFKA_TIMEOUT_SCAN_MS 1000

/* The deadline of every record `run` produces when webhooks are on:
 * webhook.ack_timeout_ms less librdkafka's timeout scan and 200 ms, at least
 * 100 ms (300 ms by default). A record's fate is then known before its answer is due, and a 503
 * is the truth: the record was withdrawn, or (in_kafka "maybe") sent and
 * never acknowledged. */
int pb_webhook_record_timeout_ms(const pb_config_t *cfg);

/* Answers what still waits (503), stops the listener and frees it. */
void pb_webhook_free(pb_webhook_t *w);

#endif
