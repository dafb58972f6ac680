/* REST ingest: reads GET /portouts/events page by page and submits every
 * page to the pipeline, returning once every event it read has its fate.
 *
 * Pages can shift while they are read (new events arriving; Telnyx documents
 * no sort order). A pass is trusted only if every page reported the same
 * meta.total_results and the pages together held exactly that many events;
 * otherwise the list is read again (at most telnyx.backfill_max_passes
 * times). An event read twice is published once (the pipeline's window). */
#ifndef PB_POLL_SCAN_H
#define PB_POLL_SCAN_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "pipeline.h"
#include "telnyx_client.h"

/* Pages read of the current pass, for a progress display (another thread). */
typedef struct pb_scan_progress {
        _Atomic int64_t pages, total_pages; /* total 0 until the first page */
} pb_scan_progress_t;

typedef struct pb_scan_opts {
        pb_event_filter_t filter;
        volatile sig_atomic_t *stop;  /* raised: stop reading pages */
        int64_t fresh_since_us;       /* count delivered events created at or after it */
        pb_scan_progress_t *progress; /* may be NULL */
        /* Optional: ids Kafka already holds (pipeline.h: known). */
        int (*known)(void *ctx, const char *id);
        void *known_ctx;
        /* Optional: called before each page is published; nonzero stops the
         * scan (PB_TX_ABORTED, errstr = why): the poller lost its leadership,
         * or could not bring its view of Kafka up to date. */
        int (*before_page)(void *ctx, char *why, size_t whysz);
        void *before_page_ctx;
} pb_scan_opts_t;

typedef struct pb_scan_result {
        size_t pages, passes;
        size_t events;   /* items read, repeats included */
        size_t rejected; /* could not be normalized (dead-lettered) */
        size_t delivered, dead_lettered, duplicates, failed;
        size_t fresh;           /* delivered, created at or after fresh_since_us */
        int consistent;         /* the last pass saw a stable list */
        int64_t max_created_us; /* newest created_at read (Telnyx time), 0 if none */
        int64_t min_failed_us;  /* oldest created_at not durable: INT64_MAX if none,
                                 * 0 if a failed item had no created_at */
} pb_scan_result_t;

/* Scans with o->filter. Returns PB_TX_OK when every page was read (the
 * delivery outcome is in *res), else the API error with errstr. Either way
 * every submitted event has its fate when it returns (pb_pipeline_close()
 * gives the rest theirs). */
pb_tx_rc_t pb_rest_scan(pb_telnyx_t *tx, pb_pipeline_t *pl, const pb_config_t *cfg,
                        const pb_scan_opts_t *o, pb_scan_result_t *res, char *errstr, size_t errsz);

#endif
