/* Line reader with a hard bound: NDJSON input one document per line, where a
 * line longer than the bound is reported (and skipped), never buffered whole.
 * Ownership: the reader owns its buffer; returned lines are valid until the
 * next call. It does not own or close the FILE. */
#ifndef PB_FILE_LINES_H
#define PB_FILE_LINES_H

#include <stddef.h>
#include <stdio.h>

typedef struct pb_linereader pb_linereader_t;

enum pb_line_rc { PB_LINE_OK = 0, PB_LINE_EOF, PB_LINE_TOO_LONG, PB_LINE_IO_ERROR };

/* Creates a reader of f accepting lines up to max bytes (newline excluded). */
pb_linereader_t *pb_linereader_new(FILE *f, size_t max);

/* Reads the next line (without its "\n" or "\r\n"). On TOO_LONG the line was
 * consumed and *len holds its length so far. *lineno counts from 1. */
enum pb_line_rc pb_linereader_next(pb_linereader_t *r, const char **line, size_t *len,
                                   size_t *lineno);

/* Frees the reader (not the FILE). */
void pb_linereader_free(pb_linereader_t *r);

#endif
