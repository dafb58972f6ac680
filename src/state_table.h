/* The port-out table: what the state topic holds for each port-out (its
 * updated_at, status, created_at and FOC date), the rule that decides whether
 * a resource fetched from Telnyx is written (strictly newer updated_at: ties
 * and repeats write nothing), and the deadlines read from the table (the
 * state record itself: record.h). Pure: no I/O, no clock of its own (now is given).
 *
 * Threads: none of its own; the caller serializes calls.
 * Ownership: pb_stable_new()/pb_stable_free(). */
#ifndef PB_STATE_TABLE_H
#define PB_STATE_TABLE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "pb.h"
#include "telnyx_client.h"

/* What the table keeps of one port-out resource. */
typedef struct pb_portout_view {
        char id[PB_TELNYX_ID_MAX + 1];
        char status[24];
        char updated_at[40];                    /* as Telnyx wrote it */
        int64_t updated_us, created_us, foc_us; /* 0 if absent */
} pb_portout_view_t;

/* Reads a resource (GET /portouts/{id}'s "data", or a state record's): its id
 * must be a Telnyx id and its updated_at RFC 3339. Returns PB_ERR with why. */
int pb_portout_view(json_object *resource, pb_portout_view_t *v, char *errstr, size_t errsz);

/* 1 if status is final (ported, rejected, canceled): nothing more happens. */
int pb_portout_status_final(const char *status);

typedef struct pb_stable pb_stable_t;

/* An empty table; NULL out of memory. */
pb_stable_t *pb_stable_new(void);

/* Frees the table. NULL is a no-op. */
void pb_stable_free(pb_stable_t *t);

/* 1 if v is newer than what the table holds for its id (or it holds none). */
int pb_stable_newer(const pb_stable_t *t, const pb_portout_view_t *v);

/* Keeps v if it is newer; returns 1 if kept, 0 if not, PB_ERR out of memory. */
int pb_stable_put(pb_stable_t *t, const pb_portout_view_t *v);

/* Port-outs held. */
size_t pb_stable_size(const pb_stable_t *t);

/* pb_stable_put() that also keeps doc (len bytes: the resource's JSON as
 * the state record holds it) for the deadline events (deadline.h): while v
 * is pending, and when v leaves pending (the table held it pending), until
 * pb_stable_forget_departures(); the time it left is kept with it (a
 * threshold it crossed before it left is still owed an announcement, if the
 * writer had not made it: a change of writer, a look that came too late).
 * Any other status drops it. NULL doc: none. */
int pb_stable_put_doc(pb_stable_t *t, const pb_portout_view_t *v, const char *doc, size_t len);

/* 1 if pb_stable_put_doc(t, v, ...) would keep a doc: the caller makes one
 * only then. */
int pb_stable_wants_doc(const pb_stable_t *t, const pb_portout_view_t *v);

/* Forgets the departures from pending before before_us (their docs freed).
 * Returns how many. */
size_t pb_stable_forget_departures(pb_stable_t *t, int64_t before_us);

/* Calls fn once per port-out held (in no particular order), with when it
 * left pending (0: it did not lately, or it is pending) and its doc (NULL if
 * none kept). fn must not change the table. */
void pb_stable_each(const pb_stable_t *t,
                    void (*fn)(void *ctx, const pb_portout_view_t *v, int64_t left_pending_us,
                               const char *doc, size_t len),
                    void *ctx);

/* The deadlines a back office watches, as of now_us. */
typedef struct pb_stable_deadlines {
        size_t by_status[8];       /* pb_portout_statuses' order; [7]: any other */
        int64_t oldest_pending_us; /* age of the oldest pending port-out, 0 if none */
        int64_t nearest_foc_us;    /* time to the nearest FOC date of a port-out not yet
                                    * authorized (negative: passed), INT64_MAX if none */
        size_t over_threshold;     /* pending for longer than the threshold */
} pb_stable_deadlines_t;

/* The statuses counted, in by_status order (NULL-terminated). */
extern const char *const pb_portout_statuses[];

/* Computes the deadlines. crossed (may be NULL) is called once per port-out
 * the first time it is found pending longer than threshold_us. */
void pb_stable_deadlines(pb_stable_t *t, int64_t now_us, int64_t threshold_us,
                         pb_stable_deadlines_t *out,
                         void (*crossed)(void *ctx, const pb_portout_view_t *v, int64_t age_us),
                         void *ctx);

#endif
