#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
            cmocka_unit_test(test_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
