/* Webhook listener (libmicrohttpd): receives Telnyx port-out webhooks and
 * answers 2xx only for events that are safe in Kafka.
 *
 * Per POST on a configured path: size, method and media type checks; the
 * Ed25519 signature over "<telnyx-timestamp>|<body>" (401 when it fails);
 * normalize; publish; the connection is suspended (it holds no thread) until
 * every event's delivery report is in, then 200 (delivered, dead-lettered or
 * already delivered) or 503 with Retry-After (not durable in time).
 * Also GET /healthz, /readyz and /metrics.
 *
 * Ownership: pb_webhook_new() borrows cfg, producer, metrics and verifier
 * (they must outlive the listener); pb_webhook_free() stops and frees it. */
#ifndef PB_WEBHOOK_H
#define PB_WEBHOOK_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"
#include "producer.h"
#include "verify.h"

typedef struct pb_webhook pb_webhook_t;

/* Starts listening. verifier may be NULL only when signatures are off. */
pb_webhook_t *pb_webhook_new(const pb_config_t *cfg, pb_producer_t *prod, pb_metrics_t *metrics,
                             const pb_verifier_t *verifier, char *errstr, size_t errsz);

/* Stops accepting connections; requests already in progress finish. */
void pb_webhook_quiesce(pb_webhook_t *w);

/* Number of webhook requests not yet answered. */
size_t pb_webhook_in_flight(pb_webhook_t *w);

/* The TCP port actually bound (useful when the config says 0). */
unsigned pb_webhook_port(const pb_webhook_t *w);

/* Stops the listener and frees it. */
void pb_webhook_free(pb_webhook_t *w);

#endif
