/* Dedupe window: remembers the ids of events already delivered, so a re-sent
 * webhook (Telnyx retries; meta.attempt > 1) is answered without publishing
 * again. Bounded twice: at most `capacity` ids (the oldest is forgotten
 * first) and each for at most ttl_ms. Thread-safe; the clock is passed in.
 * Ownership: pb_dedupe_new()/pb_dedupe_free(); ids are copied. */
#ifndef PB_DEDUPE_H
#define PB_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pb_dedupe pb_dedupe_t;

/* capacity 0 gives a window that remembers nothing. */
pb_dedupe_t *pb_dedupe_new(size_t capacity, int64_t ttl_ms);

/* Frees the window. */
void pb_dedupe_free(pb_dedupe_t *d);

/* Returns 1 if id was added less than ttl_ms before now_ms, else 0. */
int pb_dedupe_seen(pb_dedupe_t *d, const char *id, int64_t now_ms);

/* Remembers id from now_ms (refreshes it if present). */
void pb_dedupe_add(pb_dedupe_t *d, const char *id, int64_t now_ms);

/* As pb_dedupe_seen(), knowing the content: 2 if id is held with another
 * content hash (both non-zero), 1 if held, 0 if not. */
int pb_dedupe_seen_content(pb_dedupe_t *d, const char *id, int64_t now_ms, uint64_t content);

/* As pb_dedupe_add(), remembering the content hash too (0: keep what is held). */
void pb_dedupe_add_content(pb_dedupe_t *d, const char *id, int64_t now_ms, uint64_t content);

/* Forgets the oldest ids while they were added before cutoff_ms (the window
 * keeps them in the order they were added). Returns how many. */
size_t pb_dedupe_expire(pb_dedupe_t *d, int64_t cutoff_ms);

/* Ids forgotten because the window was full (not for their age). */
uint64_t pb_dedupe_evicted(pb_dedupe_t *d);

/* Number of ids held (expired ones included until evicted). */
size_t pb_dedupe_size(pb_dedupe_t *d);

#endif
