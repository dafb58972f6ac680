/* Admin listener: GET /healthz, /readyz and /metrics on an address and port
 * of their own (admin.*), with their own thread and connection budget, so
 * webhook traffic or slow clients on the public port can never starve the
 * probes of a load balancer or kubelet.
 *
 * /healthz: 200 while the process serves. /readyz: 200 while Kafka has a
 * working broker connection and the bridge is not stopping, else 503.
 * /metrics: the Prometheus text format (metrics.c), with gauges read from the
 * pipeline and the producer at each scrape.
 *
 * Ownership: pb_admin_new() borrows the pipeline and metrics (they must
 * outlive it); pb_admin_free() stops and frees it. */
#ifndef PB_HTTP_ADMIN_H
#define PB_HTTP_ADMIN_H

#include <stddef.h>

#include "config.h"
#include "kafka_index.h"
#include "metrics.h"
#include "pipeline.h"

/* Connections the admin listener holds at once; more wait in the backlog. */
#define PB_ADMIN_MAX_CONNECTIONS 4096

typedef struct pb_admin pb_admin_t;

/* Starts the admin listener. Returns NULL with errstr set. */
pb_admin_t *pb_admin_new(const pb_config_t *cfg, pb_pipeline_t *pl, pb_metrics_t *metrics,
                         char *errstr, size_t errsz);

/* What POST /-/reload does (set before traffic): 0 with msg (done), or
 * nonzero with msg (refused: answered 409). */
typedef int(pb_admin_reload_fn)(void *ctx, char *msg, size_t msgsz);

/* Serves POST /-/reload with fn (`portout-bridge reload`). */
void pb_admin_set_reload(pb_admin_t *a, pb_admin_reload_fn *fn, void *ctx);

/* From now on /readyz answers 503 (shutting down). */
void pb_admin_set_stopping(pb_admin_t *a);

/* /readyz also wants the index loaded and its view at most max_view_age_ms
 * old ("index": "current", "loading" or "behind"). ix is borrowed. */
void pb_admin_set_index(pb_admin_t *a, pb_index_t *ix, int64_t max_view_age_ms);

/* The TCP port bound. */
unsigned pb_admin_port(const pb_admin_t *a);

/* Stops and frees it. */
void pb_admin_free(pb_admin_t *a);

#endif
