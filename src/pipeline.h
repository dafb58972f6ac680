/* Pipeline: the one path every ingest takes from a document to each event's
 * fate. The webhook listener, the poller, backfill, fetch and replay hand it
 * documents; it normalizes them, skips what is already delivered, follows
 * what is already on its way, routes and produces the rest, and reports each
 * item's fate once and the document's outcome once.
 *
 *   ingest -> pb_pipeline_submit() -> normalize -> dedupe -> route (publish.c)
 *          -> produce (kafka_producer.c) -> delivery report -> on_item, on_done
 *
 * It is the only place where
 *   - an item's fate is counted (metrics and pb_pipeline_stats());
 *   - a delivered id is remembered: one window shared by every ingest, so an
 *     event that arrives by webhook and by poll is published once (when
 *     Telnyx gives both the same id: docs/telnyx-api.md §7, docs/design.md);
 *     an event whose id is still on its way follows that delivery instead of
 *     being published again; a rejected item is known by the SHA-256 of its
 *     bytes, so a re-read rejection is not dead-lettered twice;
 *   - shutdown order is decided: pb_pipeline_close() refuses new documents,
 *     gives what is in flight a grace period, then fails the rest, so every
 *     callback has run before it returns and the ingest modules can be freed.
 *
 * Threads: submit() may be called from any thread. Callbacks run on the
 * submitting thread (duplicates, refusals) or on the producer's thread
 * (delivery reports); on_item may run concurrently for items of one document
 * and must be thread-safe; on_done runs once, after every on_item.
 *
 * Ownership: pb_pipeline_new() creates and owns the producer; cfg and metrics
 * are borrowed and must outlive it. Submitted bytes and parsed documents are
 * borrowed for the call only. */
#ifndef PB_PIPELINE_H
#define PB_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "jsoncheck.h"
#include "kafka_producer.h"
#include "metrics.h"
#include "normalize.h"
#include "span_export.h"
#include "trace.h"

typedef struct pb_pipeline pb_pipeline_t;

typedef enum pb_outcome {
        PB_OUTCOME_DELIVERED = 0, /* acknowledged on its event type's topic */
        PB_OUTCOME_DEAD_LETTERED, /* on the dead-letter topic: unusable, or refused by Kafka */
        PB_OUTCOME_DUPLICATE,     /* already delivered (here, or by the copy it followed) */
        PB_OUTCOME_FAILED         /* not durable: the source must retry */
} pb_outcome_t;

/* One item's fate; valid during the callback only. */
typedef struct pb_item_result {
        pb_outcome_t outcome;
        const char *id;         /* event id, or "sha256:<hex>" of a rejected item's bytes */
        const char *event_type; /* NULL for a rejected item */
        const char *portout_id; /* NULL for a rejected item */
        int rejected;           /* the normalizer could not use it, or a conflict */
        const char *dl_stage;   /* a rejection's pb_stage: "normalize" or "conflict" */
        int64_t created_us;     /* Telnyx created_at, 0 if unknown */
        const char *topic;      /* where it is durable; NULL if duplicate or failed */
        int32_t partition;
        int64_t offset;
        int err;                     /* Kafka error of a failure or a produce-stage dead letter */
        const char *reason;          /* why it was dead-lettered or failed */
        int maybe_persisted;         /* FAILED, but sent unacknowledged: Kafka may hold it */
        const char *trace_id;        /* its trace (32 hex digits); "" with tracing.propagate off */
        const pb_trace_ids_t *trace; /* its trace and span; NULL with tracing off */
} pb_item_result_t;

/* A document's outcome; valid during the callback only. */
typedef struct pb_doc_result {
        size_t items, delivered, dead_lettered, duplicates, failed;
        size_t maybe_persisted; /* of the failed, those Kafka may hold after all */
        int busy;               /* some item was refused because the bridge was full or stopping */
        char first_id[PB_MAX_ID_LEN + 1]; /* first event id, "" if none */
        char reason[512];                 /* last dead-letter or failure reason */
        /* Set by an on_done that answers a request: the HTTP status it
         * answered (a webhook's), for the events' spans. 0: none. */
        int answer;
} pb_doc_result_t;

typedef void(pb_item_fn)(void *opaque, const pb_item_result_t *r);
typedef void(pb_doc_done_fn)(void *opaque, pb_doc_result_t *r);

typedef struct pb_submission {
        const char *buf; /* the document's bytes (need not be NUL-terminated) */
        size_t len;
        struct json_object *parsed; /* or an already parsed document (with buf:
                                       its bytes, pb_normalize_parsed) */
        const pb_jcheck_t *checked; /* with buf: its check, if done (want_items),
                                     * parsed or not (pb_normalize_parsed); may be NULL */
        pb_batch_t *normalized;     /* or one already normalized (buf and parsed NULL;
                                     * the pipeline frees it) */
        pb_ingest_path_t path;
        int64_t received_us; /* wall clock: the envelope's receivedat */
        const char *origin;  /* e.g. "events.ndjson:12", for dead letters; may be NULL */
        int wait_ms;         /* how long a full producer may block this call:
                              * 0 never (HTTP threads), <0 until room */
        pb_item_fn *on_item; /* may be NULL */
        pb_doc_done_fn *on_done;
        void *opaque;
        /* Optional: 1 if this id is known to be in Kafka already (the
         * poller's reconcile, the webhooks' index); such an item is a
         * DUPLICATE. Asked after the window (a conflict stays a conflict, a
         * copy on its way is followed), possibly under the pipeline's lock:
         * it must be quick and must not call into the pipeline. */
        int (*known)(void *ctx, const char *id);
        void *known_ctx;
        /* Optional: the request's W3C trace context headers (a webhook's),
         * NUL-terminated, borrowed for the call. Invalid ones are ignored:
         * the events start a trace of their own. */
        const char *traceparent;
        const char *tracestate;
} pb_submission_t;

typedef struct pb_pipeline_opts {
        size_t dedupe_entries;  /* delivered ids remembered; 0: no dedupe at all */
        int64_t dedupe_ttl_ms;  /* for how long (monotonic time) */
        FILE *dry_run;          /* non-NULL: print envelopes here, publish nothing */
        int kafka_fail_fast_ms; /* one-shot commands: pb_producer_set_fail_fast() */
        int record_timeout_ms;  /* > 0: each record's deadline (pb_producer_opts_t) */
        /* Optional (borrowed; must outlive the pipeline): each event's span
         * goes here once its document is done (tracing.otlp_endpoint). */
        pb_span_export_t *spans;
} pb_pipeline_opts_t;

/* Every item's outcome is logged (log.delivery_level; failures at warn) with
 * event_id, trace_id, portout_id, event_type, ingest, outcome, and topic, partition,
 * offset or the error. */

#define PB_PIPELINE_TOPICS PB_CONFIG_TOPICS

typedef struct pb_pipeline_stats {
        uint64_t documents, items, delivered, dead_lettered, duplicates, failed;
        uint64_t in_flight; /* items waiting for their fate */
        struct {
                const char *topic; /* borrowed from the config */
                uint64_t n;        /* records acknowledged there */
        } topics[PB_PIPELINE_TOPICS];
} pb_pipeline_stats_t;

/* Creates the pipeline and its producer. Returns NULL with errstr set and
 * *fail (may be NULL) saying what kind of failure it was. */
pb_pipeline_t *pb_pipeline_new(const pb_config_t *cfg, pb_metrics_t *metrics,
                               const pb_pipeline_opts_t *opts, pb_fail_t *fail, char *errstr,
                               size_t errsz);

/* Submits one document; see the header comment for when callbacks run.
 * Never fails silently: unusable input becomes a dead letter, a full or
 * stopping pipeline a FAILED item with busy set. */
void pb_pipeline_submit(pb_pipeline_t *pl, const pb_submission_t *s);

/* Waits until nothing is in flight or timeout_ms passed (<0: forever).
 * Returns the number of items still in flight. */
size_t pb_pipeline_drain(pb_pipeline_t *pl, int timeout_ms);

/* Stops: refuses new documents, waits up to grace_ms for what is in flight,
 * then gives the rest their fate (FAILED). Every callback has run when it
 * returns. Returns how many records failed for the shutdown. Idempotent. */
size_t pb_pipeline_close(pb_pipeline_t *pl, int grace_ms);

/* 1 once pb_pipeline_close() has begun. */
int pb_pipeline_closing(pb_pipeline_t *pl);

/* Copies the counters. */
void pb_pipeline_stats(pb_pipeline_t *pl, pb_pipeline_stats_t *out);

/* Number of delivered ids remembered. */
size_t pb_pipeline_dedupe_size(pb_pipeline_t *pl);

/* The producer (for warm-up, statistics and fire drills); owned. */
pb_producer_t *pb_pipeline_producer(pb_pipeline_t *pl);

/* Closes (with no grace) if needed, frees the producer and the pipeline. */
void pb_pipeline_free(pb_pipeline_t *pl);

/* Stable name of an outcome: "delivered", "dead_lettered", "duplicate",
 * "failed". */
const char *pb_outcome_name(pb_outcome_t o);

#endif
