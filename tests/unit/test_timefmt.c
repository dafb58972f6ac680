#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "timefmt.h"

static void roundtrip(const char *in, const char *want)
{
        int64_t us;
        char out[40];
        assert_int_equal(pb_time_parse_rfc3339(in, &us), 0);
        assert_int_equal(pb_time_format_us(us, out, sizeof(out)), 0);
        assert_string_equal(out, want);
}

static void test_parse_format(void **state)
{
        (void)state;
        roundtrip("2026-03-05T12:30:45Z", "2026-03-05T12:30:45Z");
        roundtrip("2026-03-02T15:04:05.123456Z", "2026-03-02T15:04:05.123456Z");
        roundtrip("2021-03-19T10:07:15.527000Z", "2021-03-19T10:07:15.527000Z");
        roundtrip("2026-03-10T00:00:00.000Z", "2026-03-10T00:00:00Z");
        roundtrip("2026-03-05T14:30:45+02:00", "2026-03-05T12:30:45Z");
        roundtrip("2026-01-01T00:30:00-01:00", "2026-01-01T01:30:00Z");
        roundtrip("2024-02-29T23:59:59.9999999Z", "2024-02-29T23:59:59.999999Z");
        roundtrip("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z");
        roundtrip("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500000Z");
}

static void test_epoch_value(void **state)
{
        (void)state;
        int64_t us;
        assert_int_equal(pb_time_parse_rfc3339("2026-03-05T12:30:45Z", &us), 0);
        assert_int_equal(us, INT64_C(1772713845) * 1000000);
        char out[40];
        assert_int_equal(pb_time_format_ms(1772713845123, out, sizeof(out)), 0);
        assert_string_equal(out, "2026-03-05T12:30:45.123Z");
}

/* The digit writer gives what the old snprintf gave, for every field's
 * range, and the bounds of the buffer: each instant is formatted, parsed
 * back and compared with its civil fields. */
static void test_format_digits(void **state)
{
        (void)state;
        char out[40];
        /* 0001-01-01 .. 9999-12-31, in steps that visit every field value */
        for (int64_t s = INT64_C(-62135596800); s < INT64_C(253402300800);
             s += INT64_C(86400) * 367 + 3661 + 17) {
                for (int f = 0; f < 3; f++) {
                        int64_t frac = f == 0 ? 0 : f == 1 ? 7 : 999999;
                        int64_t us = s * 1000000 + frac, back = 0;
                        assert_int_equal(pb_time_format_us(us, out, sizeof(out)), 0);
                        assert_int_equal(strlen(out), frac ? 27 : 20);
                        assert_int_equal(pb_time_parse_rfc3339(out, &back), 0);
                        if (back != us)
                                fail_msg("%lld formatted %s, read back %lld", (long long)us, out,
                                         (long long)back);
                }
        }
        assert_int_equal(pb_time_format_us(0, out, sizeof(out)), 0);
        assert_string_equal(out, "1970-01-01T00:00:00Z");
        assert_int_equal(pb_time_format_us(-1, out, sizeof(out)), 0);
        assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
        assert_int_equal(pb_time_format_ms(INT64_C(253402300799999), out, sizeof(out)), 0);
        assert_string_equal(out, "9999-12-31T23:59:59.999Z");
        /* years beyond four digits keep printf's form */
        assert_int_equal(pb_time_format_us(INT64_C(253402300800) * 1000000, out, sizeof(out)), 0);
        assert_string_equal(out, "10000-01-01T00:00:00Z");
        /* too small a buffer: -1, nothing written past it */
        char small[21];
        memset(small, 'x', sizeof(small));
        assert_int_equal(pb_time_format_us(0, small, 20), -1);
        assert_int_equal(small[20], 'x');
        assert_int_equal(pb_time_format_us(0, small, 21), 0);
        assert_string_equal(small, "1970-01-01T00:00:00Z");
}

static void test_rejects(void **state)
{
        (void)state;
        static const char *const bad[] = {
            "",
            "2026-03-05",
            "2026-03-05T12:30:45",      /* no offset */
            "2026-13-05T12:30:45Z",     /* month */
            "2026-02-30T12:30:45Z",     /* day */
            "2025-02-29T12:30:45Z",     /* not a leap year */
            "2026-03-05T24:00:00Z",     /* hour */
            "2026-03-05T12:30:45.Z",    /* empty fraction */
            "2026-03-05T12:30:45Zjunk", /* trailing */
            "2026-03-05T12:30:45+0200", /* offset without colon */
            "20260305T123045Z",         /* basic format */
            "2026-03-05T12:3a:45Z",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int64_t us;
                if (pb_time_parse_rfc3339(bad[i], &us) == 0)
                        fail_msg("accepted \"%s\"", bad[i]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_format),
            cmocka_unit_test(test_epoch_value),
            cmocka_unit_test(test_format_digits),
            cmocka_unit_test(test_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
