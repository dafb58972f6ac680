/* State writer (state.enabled): keeps topics.state, a compacted table of
 * every port-out, authoritative from Telnyx.
 *
 * While this replica is the writer (the poll leader, or the single
 * instance), a thread of its own:
 *   - on taking office, creates topics.state compacted if missing, reads it
 *     whole into the table (state_table.h: what is newest), and resumes the
 *     event topics from state.group's committed offsets (their beginning if
 *     it has none);
 *   - reads event records for state.coalesce_ms, and fetches each port-out
 *     that had one once (GET /portouts/{id}), one request at a time, within
 *     the rate limit the API advertises (telnyx_client.h);
 *   - writes each resource newer than the table holds, and only after every
 *     record of the batch is acknowledged moves the table and commits the
 *     offsets. Anything less (an API or Kafka failure, a lost leadership)
 *     drops the office: the next start rereads the topic and the committed
 *     offsets, so a writer killed mid-batch loses nothing, and repeating its
 *     batch writes nothing that is not newer;
 *   - resyncs on taking office and every state.resync_interval_s: lists the
 *     port-outs that are not final (filter[status_in]) and writes what
 *     changed with no event;
 *   - exports the deadlines (port-outs by status, the oldest pending, the
 *     nearest FOC date) and logs a port-out pending past
 *     state.pending_alert_s once.
 *
 * Ownership: pb_state_new() borrows cfg and metrics (they must outlive it)
 * and owns its clients and thread; pb_state_free() stops and frees it. */
#ifndef PB_STATE_WRITER_H
#define PB_STATE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "office.h"
#include "pb.h"

typedef struct pb_state pb_state_t;

/* Starts the writer's thread. leader NULL: always (the single instance).
 * Returns NULL with errstr and *fail set. */
pb_state_t *pb_state_new(const pb_config_t *cfg, pb_metrics_t *metrics, pb_leader_fn *leader,
                         pb_fence_fn *fence, void *leader_ctx, pb_fail_t *fail, char *errstr,
                         size_t errsz);

/* Stops the thread (a batch in progress is abandoned, not committed) and
 * frees the writer. NULL is a no-op. */
void pb_state_free(pb_state_t *s);

#endif
