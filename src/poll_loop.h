/* Poller: inside `portout-bridge run`, reads GET /portouts/events every
 * telnyx.poll_interval_s for events created since the checkpoint minus
 * telnyx.poll_overlap_s, and submits them to the pipeline (which skips those
 * already delivered, by webhook or by an earlier poll).
 *
 * Time is Telnyx's: the window's end is the Date of Telnyx's last answer (plus
 * the monotonic time since), and the checkpoint is the newest created_at read
 * in a pass that was trusted and fully delivered (or just before the oldest
 * failure). The host clock is never used, so a host clock that runs ahead or
 * behind misses nothing. A crash loses nothing: the next start reads again
 * from the last checkpoint.
 *
 * Only one process polls with one checkpoint file (an flock on
 * "<checkpoint>.lock"); a second is refused at start.
 *
 * Ownership: pb_poller_new() borrows cfg, the pipeline and metrics; it owns
 * its Telnyx client, lock and thread. Stop order (cmd_run.c):
 * pb_poller_stop(), pb_pipeline_close(), pb_poller_free(). */
#ifndef PB_POLL_LOOP_H
#define PB_POLL_LOOP_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"
#include "pipeline.h"
#include "poll_scan.h"

typedef struct pb_poller pb_poller_t;

/* Checks and locks the checkpoint and starts the polling thread. Returns
 * NULL with errstr set; *fail (may be NULL) is then PB_FAIL_IN_USE if
 * another process polls with this checkpoint file. */
pb_poller_t *pb_poller_new(const pb_config_t *cfg, pb_pipeline_t *pl, pb_metrics_t *metrics,
                           pb_fail_t *fail, char *errstr, size_t errsz);

/* 1 while this poller is the one that polls (the elected leader, or the only
 * one with a checkpoint file); ctx is the poller. */
int pb_poller_is_leader(void *ctx);

/* As a pb_leader_fn: the election's term while it leads, 0 when it does
 * not; 1 for the only poller (a checkpoint file). ctx is the poller. */
uint64_t pb_poller_leader_term(void *ctx);

/* As a pb_fence_fn: pb_election_fence(), or 0 with no election. */
int pb_poller_fence(void *ctx, const char *topic, int32_t partition, int64_t offset,
                    const char *meta, char *errstr, size_t errsz);

/* Asks the thread to stop (it stops reading pages; what it submitted
 * settles in the pipeline). */
void pb_poller_stop(pb_poller_t *p);

/* Stops if needed, joins the thread, releases the lock and frees it. */
void pb_poller_free(pb_poller_t *p);

/* The window one poll reads, in Telnyx time (us): from the checkpoint (have)
 * or telnyx.poll_lookback_s before now, less telnyx.poll_overlap_s; to now in
 * whole seconds, less telnyx.poll_settle_s when webhooks are on. Pure. */
void pb_poll_window(const pb_config_t *cfg, int have, int64_t cp_us, int64_t now_us,
                    int64_t *since_us, int64_t *until_us);

/* Where a completed scan of the window [.., until_us] moves the
 * checkpoint: NULL and *next_us, or why it stays where it is (cp_us, if
 * have). Never past until_us: an event dated later (a clock ahead, an API
 * ignoring the filter, created_at 2099) would make every later poll find
 * nothing. Pure. */
const char *pb_poll_next_checkpoint(const pb_scan_result_t *r, int have, int64_t cp_us,
                                    int64_t until_us, int64_t *next_us);

#endif
