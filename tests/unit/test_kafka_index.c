/* The index on librdkafka's mock cluster: not fresh before its load, then
 * every id that lands on an event or dead-letter topic is known within a few
 * catch-ups, whoever produced it; with the brokers down its view ages past
 * max_view_age_ms (webhooks would get 503), and it is fresh again when they
 * are back. (The mock cannot look offsets up by time, so the load starts at
 * the topics' ends; the load of a window runs on a real broker in
 * tests/integration/test_exactly_once.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka_index.h"
#include "metrics.h"
#include "mockkafka.h"
#include "pb.h"

#define STATUS "telnyx.portouts.status-changed"

static int wait_for(pb_index_t *ix, const char *id, int want, int ms)
{
        for (int64_t until = pb_mono_ms() + ms; pb_mono_ms() < until; pb_sleep_ms(20))
                if (pb_index_known(ix, id) == want)
                        return 1;
        return 0;
}

static int wait_fresh(pb_index_t *ix, int64_t max_age, int want, int ms)
{
        for (int64_t until = pb_mono_ms() + ms; pb_mono_ms() < until; pb_sleep_ms(20))
                if (pb_index_fresh(ix, max_age) == want)
                        return 1;
        return 0;
}

static void test_follows_the_topics(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = tm_config(c, NULL, NULL);
        pb_metrics_t *m = pb_metrics_new();
        char err[PB_ERRSZ];
        pb_index_t *ix = pb_index_new(cfg, m, err, sizeof(err));
        if (!ix)
                fail_msg("index: %s", err);
        assert_int_equal(pb_index_known(ix, "ev-1"), 0);
        assert_true(wait_fresh(ix, 1000, 1, 15000)); /* loaded */
        assert_true(pb_index_age_ms(ix) >= 0);
        tm_produce(c, STATUS, "{}", 0, "ce_id", "ev-1", NULL);
        tm_produce(c, "t.dlq", "{}", 0, "ce_id", "ev-dl", NULL);
        assert_true(wait_for(ix, "ev-1", 1, 5000));
        assert_true(wait_for(ix, "ev-dl", 1, 5000));
        assert_int_equal(pb_index_known_fn(ix, "ev-1"), 1);
        assert_int_equal(pb_index_known(ix, "ev-2"), 0);
        assert_int_equal(pb_index_size(ix), 2);

        /* Brokers gone: the view ages, and it is not fresh for 300 ms. */
        tm_set_brokers(c, 0);
        assert_true(wait_fresh(ix, 300, 0, 15000));
        assert_true(pb_index_age_ms(ix) > 300);
        assert_int_equal(pb_index_known(ix, "ev-1"), 1); /* what it knew stays */
        tm_set_brokers(c, 1);
        assert_true(wait_fresh(ix, 300, 1, 30000));
        tm_produce(c, STATUS, "{}", 0, "ce_id", "ev-2", NULL);
        assert_true(wait_for(ix, "ev-2", 1, 5000));

        char *text = pb_metrics_render(m, NULL);
        assert_non_null(strstr(text, "portout_bridge_index_loaded 1"));
        free(text);
        pb_index_free(ix);
        pb_metrics_free(m);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_follows_the_topics),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
