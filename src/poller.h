/* Poller: inside `portout-bridge run`, reads GET /portouts/events every
 * telnyx.poll_interval_s for events created since the checkpoint minus
 * telnyx.poll_overlap_s, publishes those not published yet, and moves the
 * checkpoint only past events Kafka acknowledged (checkpoint.h). A crash
 * loses nothing: the next start reads again from the last checkpoint.
 * Ownership: pb_poller_new() borrows cfg, producer and metrics; it owns its
 * Telnyx client and thread; pb_poller_free() stops and joins it. */
#ifndef PB_POLLER_H
#define PB_POLLER_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"
#include "producer.h"

typedef struct pb_poller pb_poller_t;

/* Checks the checkpoint and starts the polling thread. */
pb_poller_t *pb_poller_new(const pb_config_t *cfg, pb_producer_t *prod, pb_metrics_t *metrics,
                           char *errstr, size_t errsz);

/* Asks the thread to stop, waits for the current poll's deliveries (up to
 * kafka.flush_timeout_ms), and frees the poller. */
void pb_poller_free(pb_poller_t *p);

#endif
