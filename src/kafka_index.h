/* Index: which event ids the topics hold, followed live, so that every
 * replica answers a retry of an event that any replica delivered (or this one
 * before a restart) "duplicate" instead of publishing it again.
 *
 * A thread of its own reads the event and dead-letter topics with a
 * reconcile reader (kafka_reconcile.h: assign only, no group, no commits): first
 * every record produced in the last dedupe.ttl_s (the load), then, every
 * PB_INDEX_INTERVAL_MS, on to the ends the topics have at that moment. Its
 * view is as fresh as the start of its last completed catch-up: everything
 * acknowledged before then is known. A webhook is published only while the
 * view is at most dedupe.max_view_age_ms old (pb_index_fresh()); the
 * webhook listener answers 503 otherwise, so a retry reaching a replica whose
 * view is behind (its broker connection just came back, or it is still
 * loading) waits for Telnyx's next attempt rather than risking a duplicate.
 *
 * Bounds: at most dedupe.entries ids (the oldest go first; counted, a
 * forgotten id risks a duplicate, never a loss), ids older than dedupe.ttl_s
 * are dropped. Memory and load time: docs/performance.md.
 *
 * Threads: pb_index_known() and pb_index_fresh() from any thread.
 * Ownership: _new/_free; cfg and metrics are borrowed and must outlive it. */
#ifndef PB_KAFKA_INDEX_H
#define PB_KAFKA_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"

/* Pause between two catch-ups of the follower thread. */
#define PB_INDEX_INTERVAL_MS 50

typedef struct pb_index pb_index_t;

/* Creates the index and starts its thread (the load runs in it). Returns
 * NULL with errstr set. */
pb_index_t *pb_index_new(const pb_config_t *cfg, pb_metrics_t *metrics, char *errstr, size_t errsz);

/* 1 if the index holds this id (an event id, or "sha256:..." of a rejected
 * input). 0 before the load is done. */
int pb_index_known(pb_index_t *ix, const char *id);

/* The same, as a pipeline predicate (ctx is the index). */
int pb_index_known_fn(void *ctx, const char *id);

/* 1 if the load is done and the view is at most max_age_ms old. */
int pb_index_fresh(pb_index_t *ix, int64_t max_age_ms);

/* The view's age in ms (-1 before the load is done). */
int64_t pb_index_age_ms(pb_index_t *ix);

/* Ids held. */
size_t pb_index_size(pb_index_t *ix);

/* Stops the thread and frees the index. NULL is a no-op. */
void pb_index_free(pb_index_t *ix);

#endif
