/* Office: who acts for the fleet. A thread that acts only on the elected
 * replica (the state writer, the desk) holds office: it asks the leader
 * callback for the leadership's term, keeps the term it took office in,
 * and leaves when the term ends (not the leader) or changes (lost and
 * regained: another replica may have acted meanwhile, so what the holder
 * learned is stale). The fence asks Kafka itself, for an act that must be
 * the leader's alone (a deposed leader that has not heard of it yet, a
 * paused process, is refused there).
 *
 * Ownership: a pb_office_t is a value inside its holder; it borrows ctx. */
#ifndef PB_OFFICE_H
#define PB_OFFICE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* 0 if this replica is not the elected leader now; else the term of its
 * leadership, a new value each time it is gained. */
typedef uint64_t(pb_leader_fn)(void *ctx);

/* Proves to Kafka that this replica still leads (a commit of topic,
 * partition, offset and meta that the broker accepts only from the current
 * generation of the election's group). 0, or -1 with errstr. */
typedef int(pb_fence_fn)(void *ctx, const char *topic, int32_t partition, int64_t offset,
                         const char *meta, char *errstr, size_t errsz);

typedef struct pb_office {
        pb_leader_fn *leader;  /* NULL: the single instance, always the leader (term 1) */
        pb_fence_fn *fence;    /* NULL: no fence (the single instance) */
        void *ctx;             /* for both */
        _Atomic uint64_t term; /* the term the holder took office in */
} pb_office_t;

/* What pb_office_check() decided. */
typedef enum pb_office_rc {
        PB_OFFICE_ACT = 0, /* in office (or may take it: the term is recorded) */
        PB_OFFICE_NONE,    /* not the leader: leave office, wait */
        PB_OFFICE_STALE    /* the leadership was lost and regained: leave, take it again */
} pb_office_rc_t;

/* Sets o up; leader, fence may be NULL. */
void pb_office_init(pb_office_t *o, pb_leader_fn *leader, pb_fence_fn *fence, void *ctx);

/* At the top of the holder's loop; in_office: whether it holds office now. */
pb_office_rc_t pb_office_check(pb_office_t *o, int in_office);

/* Why the holder leaves, for its log line. */
const char *pb_office_why(pb_office_rc_t rc);

/* 1 while this replica is still the leader of the term the holder took
 * office in (any thread). */
int pb_office_held(pb_office_t *o);

/* The fence (0 without one); errstr says why it was refused. */
int pb_office_fence(pb_office_t *o, const char *topic, int32_t partition, int64_t offset,
                    const char *meta, char *errstr, size_t errsz);

#endif
