/* The desk (desk.enabled): carries out commands from topics.commands
 * against the Telnyx API, one result record each on topics.command_results.
 * Run by the same replica as the state writer (the poll leader, or the
 * single instance), on a thread of its own.
 *
 * At most one API call per command id, ever (docs/design.md, "The desk"):
 * taking office, the desk reads the result topic whole (the commands that
 * have a result) and its group's committed offsets, whose metadata names a
 * command whose call may have been sent ("calling"); per command, in its
 * partition's order: a command with a result is skipped; one refused by
 * the rules gets its result without a call; otherwise the intent is
 * committed first, then the call is sent once (never retried), then its
 * result is written and, once acknowledged, the position moves past it. A
 * command found under a "calling" intent without a result is never sent
 * again: it is settled by reading the port-out (and its comments), and its
 * result says so (settled_by).
 *
 * Ownership: pb_desk_new() borrows cfg and metrics (they must outlive it);
 * pb_desk_free() stops the thread and frees the desk. */
#ifndef PB_DESK_H
#define PB_DESK_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"
#include "office.h"
#include "pb.h"

typedef struct pb_desk pb_desk_t;

/* Starts the desk's thread. leader NULL: always (the single instance);
 * fence NULL: none (the single instance); both are called with ctx.
 * Returns NULL with errstr and *fail set. */
pb_desk_t *pb_desk_new(const pb_config_t *cfg, pb_metrics_t *metrics, pb_leader_fn *leader,
                       pb_fence_fn *fence, void *ctx, pb_fail_t *fail, char *errstr, size_t errsz);

/* Stops the thread (a command in progress is finished or left to be settled)
 * and frees the desk. NULL is a no-op. */
void pb_desk_free(pb_desk_t *d);

#endif
