/* Progress of long work (backfill, replay) on stderr. On a terminal, a live
 * line redrawn four times a second (done of total, events, delivered, rate,
 * ETA); otherwise a log line every 5 s; nothing when quiet. A thread asks a
 * provider for the numbers, so the work itself only keeps counters.
 * Ownership: pb_progress_start()/pb_progress_stop(); ctx is borrowed. */
#ifndef PB_PROGRESS_H
#define PB_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pb_progress_state {
        const char *unit; /* "pages", "bytes" */
        int64_t done;     /* of unit */
        int64_t total;    /* of unit; <= 0: unknown (no ETA) */
        uint64_t events, delivered;
} pb_progress_state_t;

typedef void(pb_progress_fn)(void *ctx, pb_progress_state_t *out);

typedef struct pb_progress pb_progress_t;

/* Starts reporting what (e.g. "backfill"); NULL when quiet. */
pb_progress_t *pb_progress_start(const char *what, int quiet, pb_progress_fn *fn, void *ctx);

/* Stops, clearing the live line. NULL is a no-op. */
void pb_progress_stop(pb_progress_t *p);

/* Formats one progress line (pure; for tests): "12/40 pages, 3000 events, ..."
 * given the elapsed seconds. */
void pb_progress_format(const pb_progress_state_t *st, double elapsed_s, char *out, size_t outsz);

#endif
