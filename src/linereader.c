#include "linereader.h"

#include <stdlib.h>

struct pb_linereader {
        FILE *f;
        size_t max;
        char *buf; /* max + 1 bytes */
        size_t lineno;
};

pb_linereader_t *pb_linereader_new(FILE *f, size_t max)
{
        pb_linereader_t *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        r->buf = malloc(max + 1);
        if (!r->buf) {
                free(r);
                return NULL;
        }
        r->f = f;
        r->max = max;
        return r;
}

enum pb_line_rc pb_linereader_next(pb_linereader_t *r, const char **line, size_t *len,
                                   size_t *lineno)
{
        size_t n = 0;
        int c, too_long = 0, any = 0;
        while ((c = getc(r->f)) != EOF) {
                any = 1;
                if (c == '\n')
                        break;
                if (n < r->max)
                        r->buf[n] = (char)c;
                else
                        too_long = 1;
                n++;
        }
        if (c == EOF && ferror(r->f))
                return PB_LINE_IO_ERROR;
        if (!any)
                return PB_LINE_EOF;
        r->lineno++;
        *lineno = r->lineno;
        *len = n;
        if (too_long)
                return PB_LINE_TOO_LONG;
        if (n > 0 && r->buf[n - 1] == '\r')
                n--;
        r->buf[n] = '\0';
        *line = r->buf;
        *len = n;
        return PB_LINE_OK;
}

void pb_linereader_free(pb_linereader_t *r)
{
        if (!r)
                return;
        free(r->buf);
        free(r);
}
