#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void test_render(void **state)
{
        (void)state;
        pb_metrics_t *m = pb_metrics_new();
        pb_metrics_add(m, "portout_bridge_http_requests_total", "code=\"200\",reason=\"delivered\"",
                       2);
        pb_metrics_add(m, "portout_bridge_http_requests_total", "code=\"200\",reason=\"delivered\"",
                       1);
        pb_metrics_add(m, "portout_bridge_http_requests_total",
                       "code=\"401\",reason=\"signature_mismatch\"", 1);
        pb_metrics_set(m, "portout_bridge_kafka_up", NULL, 1);
        pb_metrics_add(m, "no_such_family", NULL, 1); /* ignored, not a crash */
        char label[64];
        pb_metrics_label(label, sizeof(label), "topic", "a\"b\\c\nd");
        assert_string_equal(label, "topic=\"a\\\"b\\\\c\\nd\"");
        pb_metrics_add(m, "portout_bridge_events_published_total", label, 5);
        pb_metrics_observe_ack(m, 0.003);
        pb_metrics_observe_ack(m, 0.2);
        pb_metrics_observe_ack(m, 9.0);
        assert_int_equal(pb_metrics_get(m, "portout_bridge_http_requests_total",
                                        "code=\"200\",reason=\"delivered\""),
                         3);
        size_t len;
        char *t = pb_metrics_render(m, &len);
        assert_int_equal(strlen(t), len);
        assert_non_null(strstr(t, "# TYPE portout_bridge_http_requests_total counter\n"));
        assert_non_null(
            strstr(t, "portout_bridge_http_requests_total{code=\"200\",reason=\"delivered\"} 3\n"));
        assert_non_null(strstr(
            t,
            "portout_bridge_http_requests_total{code=\"401\",reason=\"signature_mismatch\"} 1\n"));
        assert_non_null(strstr(t, "portout_bridge_kafka_up 1\n"));
        assert_non_null(
            strstr(t, "portout_bridge_events_published_total{topic=\"a\\\"b\\\\c\\nd\"} 5\n"));
        assert_non_null(strstr(t, "portout_bridge_ack_seconds_bucket{le=\"0.005\"} 1\n"));
        assert_non_null(strstr(t, "portout_bridge_ack_seconds_bucket{le=\"0.25\"} 2\n"));
        assert_non_null(strstr(t, "portout_bridge_ack_seconds_bucket{le=\"5\"} 2\n"));
        assert_non_null(strstr(t, "portout_bridge_ack_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert_non_null(strstr(t, "portout_bridge_ack_seconds_count 3\n"));
        assert_null(strstr(t, "no_such_family"));
        free(t);
        pb_metrics_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_render)};
        return cmocka_run_group_tests(tests, NULL, NULL);
}
