/* Read-ahead for replay: reads NDJSON files (pb_ingest_files) and normalizes
 * each document on a thread of its own, handing the batches back in file
 * order through a bounded queue, so that parsing and building envelopes
 * overlap with producing the previous ones. Order is kept: Kafka gets the
 * events in the order of the files.
 *
 * Bounds: at most PB_READAHEAD_DOCS documents or PB_READAHEAD_BYTES bytes of
 * input wait in the queue (one document always fits).
 *
 * Threads: _start spawns the reader; _next and _stop may be called from one
 * consumer thread. Ownership: _start/_free; a document's batch passes to the
 * consumer with _next (pb_batch_free, or to the pipeline). */
#ifndef PB_FILE_READAHEAD_H
#define PB_FILE_READAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "normalize.h"

#define PB_READAHEAD_DOCS  256
#define PB_READAHEAD_BYTES (8 << 20)

typedef struct pb_readahead pb_readahead_t;

typedef struct pb_ahead_doc {
        char where[512];     /* "file:line" */
        pb_batch_t *batch;   /* NULL: the line could not be read (error says why) */
        char error[256];     /* why it could not be read, or normalized (out of memory) */
        size_t len;          /* bytes of the line */
        int64_t received_us; /* when it was read (the envelopes' receivedat) */
} pb_ahead_doc_t;

/* Starts reading files (none: stdin), normalizing with source as the
 * envelopes' source and privacy's policy (may be NULL; both borrowed: they
 * must outlive the read-ahead). */
pb_readahead_t *pb_readahead_start(char *const *files, int nfiles, size_t max_doc,
                                   const char *source, const struct pb_privacy *privacy,
                                   char *errstr, size_t errsz);

/* Waits up to timeout_ms for the next document in order. Returns 1 with
 * *out filled, 0 at the end of the input (or after _stop), -1 on timeout
 * (so a caller can notice a signal). */
int pb_readahead_next(pb_readahead_t *ra, pb_ahead_doc_t *out, int timeout_ms);

/* Asks the reader to stop at its next document (an interrupted replay). */
void pb_readahead_stop(pb_readahead_t *ra);

/* Stops the reader and frees what is still queued and ra. A reader blocked
 * in read(2) (a quiet stdin) is given 0.5 s, then left behind detached: the
 * caller is exiting. */
void pb_readahead_free(pb_readahead_t *ra);

#endif
