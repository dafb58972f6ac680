/* Deadlines: when a pending port-out's review thresholds (desk.deadline_warn_s)
 * fall due, which the deadline topic already announces, and the identity of
 * each announcement. One announcement per (port-out, threshold), ever: its
 * id is derived from the pair, and the writer learns the pairs announced by
 * reading the topic (state_writer.c) before it writes any.
 *
 * Pure: no I/O, no clock of its own (now is given), no threads.
 * Ownership: pb_deadlines_new()/pb_deadlines_free(); the set owns its nodes. */
#ifndef PB_DEADLINE_H
#define PB_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

#include "state_table.h"

/* CloudEvents type of a deadline event. */
#define PB_DEADLINE_TYPE "com.telnyx.portout.deadline"

/* Longest announcement id: "<portout id>@deadline-<seconds>s". */
#define PB_DEADLINE_ID_MAX (PB_TELNYX_ID_MAX + 32)

/* Parses "43200,72000" (seconds, 1 to 604800, distinct, at most max) into
 * out, ascending; *n is how many. Returns 0, or PB_ERR with why. */
int pb_deadline_thresholds_parse(const char *text, int64_t *out, size_t max, size_t *n,
                                 char *errstr, size_t errsz);

/* The announcement id of (portout_id, threshold_s) into out
 * (PB_DEADLINE_ID_MAX + 1 bytes). */
void pb_deadline_id(const char *portout_id, int64_t threshold_s, char *out);

/* Reads an announcement id back: 0 with portout_id (PB_TELNYX_ID_MAX + 1
 * bytes) and *threshold_s set, or PB_ERR if id is not one. */
int pb_deadline_id_parse(const char *id, char *portout_id, int64_t *threshold_s);

typedef struct pb_deadlines pb_deadlines_t;

/* An empty set of announcements; NULL out of memory. */
pb_deadlines_t *pb_deadlines_new(void);

/* Frees the set. NULL is a no-op. */
void pb_deadlines_free(pb_deadlines_t *d);

/* Records that (portout_id, threshold_s) is announced. Returns 1 if new,
 * 0 if known, PB_ERR out of memory. */
int pb_deadlines_mark(pb_deadlines_t *d, const char *portout_id, int64_t threshold_s);

/* 1 if (portout_id, threshold_s) is announced. */
int pb_deadlines_announced(const pb_deadlines_t *d, const char *portout_id, int64_t threshold_s);

/* Announcements held. */
size_t pb_deadlines_size(const pb_deadlines_t *d);

/* One threshold due: a pending port-out (a copy of the table's view and
 * doc), the threshold it crossed, and its age at now. */
typedef struct pb_deadline_due {
        pb_portout_view_t v;
        int64_t threshold_s;
        int64_t age_us;
        char *doc; /* owned (pb_deadlines_due_clear), NULL if the table kept none */
        size_t doc_len;
} pb_deadline_due_t;

/* Fills out (at most max) with the thresholds due at now_us and not
 * announced: port-outs the table holds as pending, with a created_at, aged
 * at least a threshold, and those that left pending lately (the table's
 * departures) aged at least a threshold when they left. Oldest crossing first (the longest overdue
 * is announced first when more are due than fit). Returns how many are due in all (may exceed max);
 * *filled how many out holds, each with a copy of the doc (an out of memory leaves it NULL). Free
 * with pb_deadlines_due_clear(). */
size_t pb_deadlines_due(const pb_deadlines_t *d, const pb_stable_t *t, const int64_t *thresholds_s,
                        size_t nthresholds, int64_t now_us, pb_deadline_due_t *out, size_t max,
                        size_t *filled);

/* Frees the docs of out[0..n). */
void pb_deadlines_due_clear(pb_deadline_due_t *out, size_t n);

#endif
