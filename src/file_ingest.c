#include "file_ingest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "file_lines.h"

static int only_ws(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return 0;
        return 1;
}

static int one_file(const char *name, size_t max_doc, pb_doc_fn *fn, void *ctx, int *failed)
{
        int is_stdin = strcmp(name, "-") == 0;
        const char *label = is_stdin ? "<stdin>" : name;
        char where[512], err[256];
        FILE *f = is_stdin ? stdin : fopen(name, "rb");
        if (!f) {
                snprintf(err, sizeof(err), "cannot open: %s", strerror(errno));
                *failed = 1;
                return fn(ctx, label, NULL, 0, err);
        }
        pb_linereader_t *r = pb_linereader_new(f, max_doc);
        int stop = 0;
        if (!r) {
                *failed = 1;
                stop = fn(ctx, label, NULL, 0, "out of memory");
        }
        while (r && !stop) {
                const char *line;
                size_t len, lineno;
                enum pb_line_rc rc = pb_linereader_next(r, &line, &len, &lineno);
                if (rc == PB_LINE_EOF)
                        break;
                if (rc == PB_LINE_IO_ERROR) {
                        snprintf(err, sizeof(err), "read error: %s", strerror(errno));
                        *failed = 1;
                        stop = fn(ctx, label, NULL, 0, err);
                        break;
                }
                snprintf(where, sizeof(where), "%s:%zu", label, lineno);
                if (rc == PB_LINE_TOO_LONG) {
                        snprintf(err, sizeof(err),
                                 "line is %zu bytes, over input.max_event_bytes (%zu); skipped",
                                 len, max_doc);
                        stop = fn(ctx, where, NULL, 0, err);
                        continue;
                }
                if (only_ws(line, len))
                        continue;
                stop = fn(ctx, where, line, len, NULL);
        }
        pb_linereader_free(r);
        if (!is_stdin)
                fclose(f);
        return stop;
}

int pb_ingest_files(char *const *files, int nfiles, size_t max_doc, pb_doc_fn *fn, void *ctx)
{
        static char dash[] = "-";
        static char *const stdin_only[] = {dash};
        int failed = 0;
        if (nfiles == 0) {
                files = stdin_only;
                nfiles = 1;
        }
        for (int i = 0; i < nfiles; i++)
                if (one_file(files[i], max_doc, fn, ctx, &failed))
                        break;
        return failed ? -1 : 0;
}
