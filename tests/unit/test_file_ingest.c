/* File ingest: documents in order across files with "file:line", blank and
 * whitespace-only lines skipped, a line over the bound reported and skipped
 * (the next one still read), a file that cannot be opened reported (the
 * others still read, -1 at the end), and a callback's stop honoured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "file_ingest.h"

struct seen {
        char log[4096];
        int calls, stop_after;
};

static int on_doc(void *ctx, const char *where, const char *doc, size_t len, const char *error)
{
        struct seen *s = ctx;
        const char *base = strrchr(where, '/');
        size_t n = strlen(s->log);
        if (doc)
                snprintf(s->log + n, sizeof(s->log) - n, "%s=%.*s|", base ? base + 1 : where,
                         (int)len, doc);
        else
                snprintf(s->log + n, sizeof(s->log) - n, "%s!%.40s|", base ? base + 1 : where,
                         error);
        return ++s->calls == s->stop_after;
}

static char *file_with(const char *name, const char *content)
{
        static char paths[2][128];
        static int k;
        char *p = paths[k++ % 2];
        snprintf(p, 128, "/tmp/%s", name);
        FILE *f = fopen(p, "wb");
        fputs(content, f);
        fclose(f);
        return p;
}

static void test_files_in_order(void **state)
{
        (void)state;
        char *files[3];
        files[0] = strdup(file_with("pb-fi-a.ndjson", "{\"a\":1}\n\n  \t\r\n{\"a\":2}\n"));
        files[1] = "/tmp/pb-fi-missing.ndjson";
        files[2] = strdup(file_with("pb-fi-b.ndjson", "{\"b\":\"0123456789\"}\n{\"b\":3}"));
        remove(files[1]);
        struct seen s = {"", 0, 0};
        assert_int_equal(pb_ingest_files(files, 3, 12, on_doc, &s), -1); /* the missing file */
        assert_string_equal(s.log, "pb-fi-a.ndjson:1={\"a\":1}|"
                                   "pb-fi-a.ndjson:4={\"a\":2}|"
                                   "pb-fi-missing.ndjson!cannot open: No such file or directory|"
                                   "pb-fi-b.ndjson:1!line is 18 bytes, over input.max_event_b|"
                                   "pb-fi-b.ndjson:2={\"b\":3}|");
        /* A stop from the callback ends the walk. */
        struct seen t = {"", 0, 2};
        char *two[] = {files[0], files[2]};
        assert_int_equal(pb_ingest_files(two, 2, 100, on_doc, &t), 0);
        assert_int_equal(t.calls, 2);
        remove(files[0]);
        remove(files[2]);
        free(files[0]);
        free(files[2]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_files_in_order),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
