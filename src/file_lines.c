#include "file_lines.h"

#include <stdlib.h>
#include <string.h>

/* Input is read in blocks and split with memchr: per-character getc() takes
 * the stdio lock for every byte and dominated replay profiles. */
#define BLOCK ((size_t)64 * 1024)

struct pb_linereader {
        FILE *f;
        size_t max;
        char *line; /* max + 1 bytes */
        char *blk;  /* BLOCK bytes */
        size_t pos, end;
        int eof, error;
        size_t lineno;
};

pb_linereader_t *pb_linereader_new(FILE *f, size_t max)
{
        pb_linereader_t *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        r->line = malloc(max + 1);
        r->blk = malloc(BLOCK);
        if (!r->line || !r->blk) {
                pb_linereader_free(r);
                return NULL;
        }
        r->f = f;
        r->max = max;
        return r;
}

static int refill(pb_linereader_t *r)
{
        if (r->eof || r->error)
                return 0;
        r->pos = 0;
        r->end = fread(r->blk, 1, BLOCK, r->f);
        if (r->end == 0) {
                if (ferror(r->f))
                        r->error = 1;
                else
                        r->eof = 1;
                return 0;
        }
        return 1;
}

enum pb_line_rc pb_linereader_next(pb_linereader_t *r, const char **line, size_t *len,
                                   size_t *lineno)
{
        size_t n = 0; /* bytes of this line seen so far */
        int any = 0, nl = 0;
        while (!nl) {
                if (r->pos == r->end && !refill(r))
                        break;
                any = 1;
                const char *start = r->blk + r->pos;
                size_t avail = r->end - r->pos;
                const char *p = memchr(start, '\n', avail);
                size_t take = p ? (size_t)(p - start) : avail;
                if (n < r->max) {
                        size_t room = r->max - n;
                        memcpy(r->line + n, start, take < room ? take : room);
                }
                n += take;
                r->pos += take + (p ? 1 : 0);
                nl = p != NULL;
        }
        if (r->error)
                return PB_LINE_IO_ERROR;
        if (!any)
                return PB_LINE_EOF;
        r->lineno++;
        *lineno = r->lineno;
        *len = n;
        if (n > r->max)
                return PB_LINE_TOO_LONG;
        if (n > 0 && r->line[n - 1] == '\r')
                n--;
        r->line[n] = '\0';
        *line = r->line;
        *len = n;
        return PB_LINE_OK;
}

void pb_linereader_free(pb_linereader_t *r)
{
        if (!r)
                return;
        free(r->line);
        free(r->blk);
        free(r);
}
