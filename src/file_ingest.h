/* File ingest: walks NDJSON files (one JSON document per line; "-" is stdin)
 * and hands each document to a callback with its location "file:line". Blank
 * lines are skipped; a line over the size bound is reported, not read whole. */
#ifndef PB_FILE_INGEST_H
#define PB_FILE_INGEST_H

#include <stddef.h>

/* Called per document. doc is NULL when the line could not be read (error
 * says why). Return non-zero to stop early. */
typedef int(pb_doc_fn)(void *ctx, const char *where, const char *doc, size_t len,
                       const char *error);

/* Reads every file in order (none: stdin). Returns 0, or -1 if a file could
 * not be opened or read (reported through fn with doc NULL, then skipped). */
int pb_ingest_files(char *const *files, int nfiles, size_t max_doc, pb_doc_fn *fn, void *ctx);

#endif
