/* progress.c: the line it draws (pb_progress_format is pure), quiet, and a
 * clean stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pb.h"
#include "progress.h"

static void fmt(const char *unit, int64_t done, int64_t total, uint64_t ev, uint64_t dl,
                double elapsed, char *out)
{
        pb_progress_state_t st = {unit, done, total, ev, dl};
        pb_progress_format(&st, elapsed, out, 160);
}

static void test_format(void **state)
{
        (void)state;
        char b[160];
        fmt("pages", 10, 40, 2500, 2400, 10.0, b);
        assert_string_equal(b, "10/40 pages (25%), 2500 events, 2400 delivered, 240/s, ETA 0:30");
        fmt("pages", 40, 40, 10000, 10000, 20.0, b); /* done: no ETA */
        assert_string_equal(b, "40/40 pages (100%), 10.0k events, 10.0k delivered, 500/s");
        fmt("bytes", 1500000, 3000000000, 12345678, 12000000, 60.0, b);
        assert_string_equal(b, "1.5M/3.0G bytes (0%), 12.3M events, 12.0M delivered, 200.0k/s, "
                               "ETA 1999:00");
        fmt("pages", 3, 0, 750, 700, 0.0, b); /* total unknown, no time yet */
        assert_string_equal(b, "3 pages, 750 events, 700 delivered, 0/s");
        fmt("pages", 0, 10, 0, 0, 5.0, b); /* nothing done: no ETA to guess */
        assert_string_equal(b, "0/10 pages (0%), 0 events, 0 delivered, 0/s");
}

/* A line that would not fit is cut, never overrun. */
static void test_format_bounded(void **state)
{
        (void)state;
        char b[16];
        memset(b, 'x', sizeof(b));
        pb_progress_state_t st = {"pages", 10, 40, 2500, 2400};
        pb_progress_format(&st, 10.0, b, 12);
        assert_int_equal(strlen(b), 11);
        assert_int_equal(b[12], 'x');
}

static int asked;
static void provider(void *ctx, pb_progress_state_t *out)
{
        (void)ctx;
        asked++;
        pb_progress_state_t st = {"pages", 1, 2, 3, 3};
        *out = st;
}

static void test_quiet_and_stop(void **state)
{
        (void)state;
        assert_null(pb_progress_start("backfill", 1, provider, NULL)); /* quiet: nothing */
        pb_progress_stop(NULL);
        asked = 0;
        pb_progress_t *p = pb_progress_start("backfill", 0, provider, NULL);
        assert_non_null(p);
        pb_progress_stop(p); /* joins its thread; ASan/LSan see the rest */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_format),
            cmocka_unit_test(test_format_bounded),
            cmocka_unit_test(test_quiet_and_stop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
