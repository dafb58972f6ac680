/* The replay's read-ahead: documents come back normalized, in file order,
 * unreadable lines reported in their place, through a bounded queue, and a
 * stop in the middle frees everything (the ASan build checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "file_readahead.h"
#include "testutil.h"

#define EVENT                                                                                      \
        "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"ev-%d\","                   \
        "\"payload\":{\"id\":\"po-%d\",\"status\":\"authorized\"},\"record_type\":\"event\"}}\n"

/* n events ev-0..ev-(n-1); line 3 is not JSON, line 5 is too long, line 7
 * is blank (skipped). */
static const char *write_input(int n, char *const **files)
{
        size_t cap = (size_t)n * 200 + 4096, len = 0;
        char *text = malloc(cap);
        for (int i = 0, line = 1; i < n; line++) {
                if (line == 3)
                        len += (size_t)snprintf(text + len, cap - len, "not json\n");
                else if (line == 5)
                        len += (size_t)snprintf(text + len, cap - len, "{\"x\":\"%0600d\"}\n", 1);
                else if (line == 7)
                        len += (size_t)snprintf(text + len, cap - len, "\n");
                else {
                        len += (size_t)snprintf(text + len, cap - len, EVENT, i, i % 7);
                        i++;
                }
        }
        static char path[512];
        snprintf(path, sizeof(path), "%s", tu_write_temp(text));
        free(text);
        static char *list[1];
        list[0] = path;
        *files = list;
        return path;
}

static void test_in_order_with_errors_in_place(void **state)
{
        (void)state;
        char *const *files;
        const char *path = write_input(3000, &files); /* > PB_READAHEAD_DOCS: the bound is hit */
        char err[256];
        pb_readahead_t *ra =
            pb_readahead_start(files, 1, 512, "https://s.example", NULL, err, sizeof(err));
        assert_non_null(ra);
        pb_ahead_doc_t d;
        int next_event = 0, line = 0, rejected = 0, unreadable = 0, got;
        while ((got = pb_readahead_next(ra, &d, 5000)) != 0) {
                assert_int_equal(got, 1);
                int l = atoi(strrchr(d.where, ':') + 1);
                assert_true(l > line); /* file order */
                line = l;
                if (!d.batch) {
                        assert_int_equal(l, 5);
                        assert_string_not_equal(d.error, "");
                        unreadable++;
                        continue;
                }
                assert_int_equal(d.batch->cnt, 1);
                if (!d.batch->items[0].env) {
                        assert_int_equal(l, 3);
                        rejected++;
                } else {
                        char want[32];
                        snprintf(want, sizeof(want), "ev-%d", next_event++);
                        assert_string_equal(d.batch->items[0].env->id, want);
                        assert_string_equal(d.batch->items[0].env->source, "https://s.example");
                }
                pb_batch_free(d.batch);
        }
        assert_int_equal(next_event, 3000);
        assert_int_equal(rejected, 1);
        assert_int_equal(unreadable, 1);
        pb_readahead_free(ra);
        remove(path);
}

static void test_stop_in_the_middle(void **state)
{
        (void)state;
        char *const *files;
        const char *path = write_input(2000, &files);
        char err[256];
        pb_readahead_t *ra = pb_readahead_start(files, 1, 4096, "s", NULL, err, sizeof(err));
        assert_non_null(ra);
        pb_ahead_doc_t d;
        for (int i = 0; i < 10; i++) {
                assert_int_equal(pb_readahead_next(ra, &d, 5000), 1);
                pb_batch_free(d.batch);
        }
        pb_readahead_stop(ra);
        assert_int_equal(pb_readahead_next(ra, &d, 5000), 0);
        pb_readahead_free(ra); /* queued batches freed: LeakSanitizer */
        remove(path);
}

static void test_missing_file_is_reported(void **state)
{
        (void)state;
        static char missing[] = "/nonexistent/pb-readahead.ndjson";
        static char *const files[] = {missing};
        char err[256];
        pb_readahead_t *ra = pb_readahead_start(files, 1, 4096, "s", NULL, err, sizeof(err));
        assert_non_null(ra);
        pb_ahead_doc_t d;
        assert_int_equal(pb_readahead_next(ra, &d, 5000), 1);
        assert_null(d.batch);
        assert_non_null(strstr(d.where, "pb-readahead.ndjson"));
        assert_int_equal(pb_readahead_next(ra, &d, 5000), 0);
        pb_readahead_free(ra);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_in_order_with_errors_in_place),
            cmocka_unit_test(test_stop_in_the_middle),
            cmocka_unit_test(test_missing_file_is_reported),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
