/* Reconcile: which event ids Kafka already holds, read from Kafka itself, so
 * the poller publishes only what no replica (webhook or earlier poll, this
 * process or another, before a restart or after) delivered yet.
 *
 * A consumer of its own (assign only: no group, no commits) reads the event
 * topics and the dead-letter topic from Kafka's offsets for a time (the
 * checkpoint minus the overlap minus telnyx.reconcile_margin_s, which covers
 * clocks that disagree), and keeps each record's id: the ce_id header, or, for
 * input the normalizer rejected, "sha256:" of its bytes, as the pipeline names
 * a rejection. Before each poll, pb_reconcile_catch_up() reads on to the ends
 * the topics have at that moment, so everything acknowledged before the poll
 * started is known. Records are read once: positions carry over between polls.
 *
 * Bounds: at most telnyx.reconcile_max_ids ids (the oldest go first, counted:
 * a forgotten id risks a duplicate, never a loss); pb_reconcile_prune() drops
 * ids older than the poll window. Cost per poll: the records produced since
 * the last one (portout_bridge_reconcile_* metrics).
 *
 * Threads: one thread at a time, but for pb_reconcile_known() and
 * pb_reconcile_size(), which any thread may call (the index's readers). Ownership: _new/_free; cfg
 * and metrics are borrowed. */
#ifndef PB_KAFKA_RECONCILE_H
#define PB_KAFKA_RECONCILE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"

typedef struct pb_reconcile pb_reconcile_t;

/* Creates the reader (it reads nothing until started). */
pb_reconcile_t *pb_reconcile_new(const pb_config_t *cfg, pb_metrics_t *metrics, char *errstr,
                                 size_t errsz);

/* A follower, for the index (kafka_index.h): its partitions are never paused, so
 * the fetcher reads on between catch-ups (Fetch waits 10 ms at the broker),
 * and a catch-up asks only for the ends; no metrics of its own. */
pb_reconcile_t *pb_reconcile_new_follower(const pb_config_t *cfg, char *errstr, size_t errsz);

/* Forgets everything and starts reading every partition from its first
 * record produced at or after from_ms (Kafka timestamps, milliseconds). */
int pb_reconcile_start(pb_reconcile_t *r, int64_t from_ms, char *errstr, size_t errsz);

/* Reads until every partition is at the end it has now, within timeout_ms.
 * Returns 0, or -1 with errstr (the poll should not publish on a partial
 * view: it would duplicate what it has not seen). */
int pb_reconcile_catch_up(pb_reconcile_t *r, int timeout_ms, char *errstr, size_t errsz);

/* A catch-up gives up (-1, "stopped") within 100 ms of *stop becoming
 * non-zero; stop is borrowed (NULL: never). */
void pb_reconcile_set_stop(pb_reconcile_t *r, const atomic_int *stop);

/* Ids held at most from the next pb_reconcile_start() (default
 * telnyx.reconcile_max_ids). */
void pb_reconcile_set_capacity(pb_reconcile_t *r, size_t max_ids);

/* Looks for new topics and partitions at most every ms (0, the default: at
 * every catch-up). */
void pb_reconcile_set_topic_refresh(pb_reconcile_t *r, int ms);

/* 1 if Kafka holds an event with this id (as far as read). Thread-safe
 * against a catch-up running in another thread. */
int pb_reconcile_known(pb_reconcile_t *r, const char *id);

/* The same, as a pipeline predicate (ctx is the reconcile). */
int pb_reconcile_known_fn(void *ctx, const char *id);

/* Forgets ids of records produced before cutoff_ms. */
void pb_reconcile_prune(pb_reconcile_t *r, int64_t cutoff_ms);

/* Ids held. */
size_t pb_reconcile_size(pb_reconcile_t *r);

/* Ids forgotten since the last start because the reader was full. */
uint64_t pb_reconcile_evicted(pb_reconcile_t *r);

/* Frees it. */
void pb_reconcile_free(pb_reconcile_t *r);

#endif
