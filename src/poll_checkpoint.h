/* Polling checkpoint: Telnyx's created_at up to which every event is in Kafka
 * (Telnyx time, never the host clock's).
 * Written crash-safely: a temporary file is written and fsynced, renamed over
 * the checkpoint, and the directory fsynced. A torn temporary file is never
 * read; the previous checkpoint stays valid. */
#ifndef PB_POLL_CHECKPOINT_H
#define PB_POLL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

/* Reads path. Returns 1 and sets *created_us if there is a checkpoint, 0 if
 * the file does not exist, -1 (errstr set) if it exists but is unusable. */
int pb_checkpoint_read(const char *path, int64_t *created_us, char *errstr, size_t errsz);

/* Writes the checkpoint durably. Returns 0 or -1 with errstr. */
int pb_checkpoint_write(const char *path, int64_t created_us, char *errstr, size_t errsz);

/* pb_checkpoint_lock(): another process holds the lock. */
#define PB_CHECKPOINT_IN_USE (-2)

/* Takes an exclusive lock (flock) on "<path>.lock" for as long as the process
 * polls, so two pollers never share one checkpoint. Returns the lock's file
 * descriptor; PB_CHECKPOINT_IN_USE with errstr naming the holder's pid when
 * it is taken; -1 with errstr on any other error. */
int pb_checkpoint_lock(const char *path, char *errstr, size_t errsz);

/* Releases the lock (fd < 0: no-op). */
void pb_checkpoint_unlock(int fd);

#endif
