/* trace.c: W3C Trace Context Level 1 traceparent parsing (the spec's
 * valid and invalid forms) and the bridge's own span. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"

static void test_valid_parent_is_kept(void **state)
{
        (void)state;
        pb_trace_t t;
        memset(&t, 0, sizeof(t));
        assert_int_equal(pb_trace_parse("00-" TID "-" PID "-01", "congo=t61rcWkgMzE", &t), 0);
        pb_trace_start(&t);
        assert_string_equal(t.trace_id_hex, TID);
        assert_int_equal(t.has_parent, 1);
        assert_string_equal(t.tracestate, "congo=t61rcWkgMzE");
        /* Ours: the same trace, a new span of the bridge's as parent. */
        assert_int_equal(strlen(t.traceparent), PB_TRACEPARENT_LEN);
        assert_memory_equal(t.traceparent, "00-" TID "-", 36);
        assert_memory_not_equal(t.traceparent + 36, PID, 16);
        assert_string_equal(t.traceparent + 52, "-01");
        assert_true(pb_traceparent_valid(t.traceparent, strlen(t.traceparent)));
}

static void test_unsampled_flag_is_passed_on(void **state)
{
        (void)state;
        pb_trace_t t;
        memset(&t, 0, sizeof(t));
        /* Unknown flag bits are not passed on; sampled=0 is. */
        assert_int_equal(pb_trace_parse("00-" TID "-" PID "-fe", NULL, &t), 0);
        pb_trace_start(&t);
        assert_string_equal(t.traceparent + 52, "-00");
}

static void test_invalid_forms_are_refused(void **state)
{
        (void)state;
        const char *bad[] = {
            "",
            "00",
            "00-" TID "-" PID "-0",                           /* short flags */
            "00-" TID "-" PID "-01-extra",                    /* version 00 is 55 bytes */
            "00-00000000000000000000000000000000-" PID "-01", /* zero trace id */
            "00-" TID "-0000000000000000-01",                 /* zero parent id */
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01", /* upper case */
            "ff-" TID "-" PID "-01",                          /* version ff */
            "00_" TID "-" PID "-01",                          /* separator */
            "00-" TID "-" PID "-0g",                          /* not hex */
            "0-" TID "-" PID "-01x",                          /* shifted */
            "00-" TID "-" PID "-01\n",                        /* a newline */
            "00-" TID "\"-" PID "-01",                        /* a quote */
            "cc-" TID "-" PID "-01.extra",                    /* later version, no dash */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                pb_trace_t t;
                memset(&t, 0, sizeof(t));
                assert_int_equal(pb_trace_parse(bad[i], "a=b", &t), -1);
                assert_int_equal(t.has_parent, 0); /* untouched: a new trace */
                assert_false(pb_traceparent_valid(bad[i], strlen(bad[i])));
        }
        pb_trace_t t;
        memset(&t, 0, sizeof(t));
        assert_int_equal(pb_trace_parse(NULL, NULL, &t), -1);
        /* A later version may add fields after a dash: read as version 00. */
        assert_int_equal(pb_trace_parse("cc-" TID "-" PID "-01-what-comes", NULL, &t), 0);
}

static void test_bad_tracestate_is_dropped_whole(void **state)
{
        (void)state;
        char big[PB_TRACESTATE_MAX + 10];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        const char *bad[] = {"a=b\nc=d", big, "a=\x7f"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                pb_trace_t t;
                memset(&t, 0, sizeof(t));
                assert_int_equal(pb_trace_parse("00-" TID "-" PID "-01", bad[i], &t), 0);
                assert_string_equal(t.tracestate, "");
        }
}

static void test_new_traces_are_distinct(void **state)
{
        (void)state;
        pb_trace_t a, b;
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        pb_trace_start(&a);
        pb_trace_start(&b);
        assert_int_equal(a.has_parent, 0);
        assert_true(pb_traceparent_valid(a.traceparent, strlen(a.traceparent)));
        assert_string_not_equal(a.trace_id_hex, b.trace_id_hex);
        assert_string_not_equal(a.traceparent, b.traceparent);
        assert_string_equal(a.traceparent + 52, "-01"); /* sampled: the bridge records it */
        assert_string_equal(a.tracestate, "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid_parent_is_kept),
            cmocka_unit_test(test_unsampled_flag_is_passed_on),
            cmocka_unit_test(test_invalid_forms_are_refused),
            cmocka_unit_test(test_bad_tracestate_is_dropped_whole),
            cmocka_unit_test(test_new_traces_are_distinct),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
