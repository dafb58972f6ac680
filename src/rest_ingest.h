/* REST ingest: reads GET /portouts/events page by page and publishes every
 * event, waiting for all of this scan's delivery reports before returning.
 *
 * Pages can shift while they are read (new events arriving; Telnyx documents
 * no sort order). A pass is trusted only if every page reported the same
 * meta.total_results and the pages together held exactly that many events;
 * otherwise the list is read again (at most telnyx.backfill_max_passes
 * times). Events are published once per scan whatever the number of passes,
 * and not at all if their id is in the caller's `delivered` window. */
#ifndef PB_REST_INGEST_H
#define PB_REST_INGEST_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "dedupe.h"
#include "metrics.h"
#include "producer.h"
#include "telnyx_client.h"

typedef struct pb_scan_opts {
        pb_event_filter_t filter;
        int dry_run; /* print envelopes to dry_out, publish nothing */
        FILE *dry_out;
        pb_dedupe_t *delivered;      /* ids already in Kafka (skipped, added to); may be NULL */
        volatile sig_atomic_t *stop; /* raised: stop reading pages */
        pb_metrics_t *metrics;       /* counts fates; may be NULL */
} pb_scan_opts_t;

typedef struct pb_scan_result {
        size_t pages, passes;
        size_t events;    /* envelopes read, repeats included */
        size_t published; /* handed to Kafka */
        size_t skipped;   /* already published or delivered */
        size_t rejected;  /* could not be normalized (dead-lettered) */
        size_t delivered, dead_lettered, failed;
        int consistent;         /* the last pass saw a stable list */
        int64_t max_created_us; /* newest created_at read, 0 if none */
        int64_t min_failed_us;  /* oldest created_at not delivered, INT64_MAX if none */
} pb_scan_result_t;

/* Scans with o->filter. Returns PB_TX_OK when every page was read (the
 * delivery outcome is in *res), else the API error with errstr. */
pb_tx_rc_t pb_rest_scan(pb_telnyx_t *tx, pb_producer_t *prod, const pb_config_t *cfg,
                        const pb_scan_opts_t *o, pb_scan_result_t *res, char *errstr, size_t errsz);

#endif
