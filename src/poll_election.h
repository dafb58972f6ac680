/* Election: which replica polls, decided by Kafka. Every replica with
 * telnyx.checkpoint_store = "kafka" joins the consumer group
 * telnyx.poll_group on the single-partition topic topics.control (created if
 * missing); the member assigned partition 0 is the leader and polls. On
 * revocation (a rebalance, or the session timing out: a broker or coordinator
 * gone, a long pause of this process) it stops being the leader before its
 * next page; another member takes over within telnyx.poll_session_timeout_ms.
 *
 * The checkpoint lives in the group's committed offset metadata of that
 * partition ({"created_at": RFC 3339, Telnyx time}). The broker accepts an
 * offset commit only from a member of the group's current generation, and
 * a commit here is made only while this member is the leader, under the same
 * lock the revocation takes: a deposed leader cannot move the checkpoint,
 * backwards or forwards.
 *
 * librdkafka's high-level consumer (classic protocol) is served by a thread of
 * its own that waits on the consumer queue's event fd (never on a wall-clock
 * deadline inside librdkafka).
 *
 * Ownership: pb_election_new() borrows cfg and metrics; pb_election_free()
 * leaves the group (a clean hand-over) and frees it. */
#ifndef PB_POLL_ELECTION_H
#define PB_POLL_ELECTION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"

typedef struct pb_election pb_election_t;

/* Creates the control topic if needed and joins the group. */
pb_election_t *pb_election_new(const pb_config_t *cfg, pb_metrics_t *metrics, char *errstr,
                               size_t errsz);

/* 1 while this member holds partition 0. */
int pb_election_is_leader(pb_election_t *e);

/* Counts the times this member became the leader (0: never). A change means
 * the leadership was lost and regained: state from before is stale. */
uint64_t pb_election_term(pb_election_t *e);

/* The term while this member is the leader, 0 when it is not. */
uint64_t pb_election_leader_term(pb_election_t *e);

/* Commits (topic, partition) at offset with meta (NULL: none) in the
 * election's group, only while this member is the leader: the broker
 * accepts it only from the group's current generation, so a deposed leader
 * that has not yet heard of it (a paused process) learns it here. The desk
 * makes one before each call and each result. Returns 0, or -1 with errstr. */
int pb_election_fence(pb_election_t *e, const char *topic, int32_t partition, int64_t offset,
                      const char *meta, char *errstr, size_t errsz);

/* Waits up to ms for leadership (or a change of term). Returns is_leader. */
int pb_election_wait(pb_election_t *e, int ms);

/* Reads the committed checkpoint. Returns 1 and sets *created_us, 0 if the
 * group has none, -1 (errstr) on error. */
int pb_election_read_checkpoint(pb_election_t *e, int64_t *created_us, char *errstr, size_t errsz);

/* Commits the checkpoint, only while this member is the leader; the broker
 * refuses a member of an older generation. Returns 0, or -1 with errstr. */
int pb_election_commit_checkpoint(pb_election_t *e, int64_t created_us, char *errstr, size_t errsz);

/* Leaves the group and frees the election. */
void pb_election_free(pb_election_t *e);

/* Reads the committed checkpoint of cfg's group without joining it (for
 * `portout-bridge checkpoint`), and its whole metadata (who wrote it, when)
 * into meta. Same returns as pb_election_read_checkpoint. */
int pb_election_peek_checkpoint(const pb_config_t *cfg, int64_t *created_us, char *meta,
                                size_t metasz, char *errstr, size_t errsz);

#endif
