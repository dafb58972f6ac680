/* The poller: the window each poll reads and where a scan moves the
 * checkpoint (pure decisions), then a poller on a checkpoint file against the
 * fake Telnyx API and the mock Kafka cluster: it reads every event, moves the
 * checkpoint to the newest, and a second poller on the same file is refused
 * as "in use". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mockkafka.h"
#include "pb.h"
#include "poll_checkpoint.h"
#include "poll_loop.h"
#include "testutil.h"

#define S       1000000LL
#define BASE_US (1772323200LL * S) /* the fake's first event, 2026-03-01 */

static pb_config_t *config(const char *telnyx)
{
        char text[1024], err[PB_ERRSZ];
        snprintf(text, sizeof(text), "telnyx = { %s };\n", telnyx);
        const char *path = tu_write_temp(text);
        pb_config_t *cfg = pb_config_load(path, tu_env_lookup, err, sizeof(err));
        remove(path);
        if (!cfg)
                fail_msg("config: %s", err);
        return cfg;
}

static void test_window(void **state)
{
        (void)state;
        pb_config_t *cfg = config("poll_overlap_s = 300; poll_lookback_s = 3600; "
                                  "poll_settle_s = 40;");
        cfg->webhook_enabled = 0;
        int64_t since, until, now = 1000000 * S + 123456; /* not a whole second */
        /* First start: the lookback before now, less the overlap. */
        pb_poll_window(cfg, 0, 0, now, &since, &until);
        assert_int_equal(until, 1000000 * S);
        assert_int_equal(since, (1000000 - 3600 - 300) * S);
        /* From the checkpoint, less the overlap. */
        pb_poll_window(cfg, 1, 999000 * S + 7, now, &since, &until);
        assert_int_equal(since, 999000 * S + 7 - 300 * S);
        /* Webhooks on: the last poll_settle_s are left to them. */
        cfg->webhook_enabled = 1;
        pb_poll_window(cfg, 1, 999000 * S, now, &since, &until);
        assert_int_equal(until, (1000000 - 40) * S);
        pb_config_free(cfg);
}

static void test_checkpoint_decisions(void **state)
{
        (void)state;
        pb_scan_result_t r;
        int64_t next;
        memset(&r, 0, sizeof(r));
        r.consistent = 1;
        r.min_failed_us = INT64_MAX;
        r.max_created_us = 500 * S;
        assert_null(pb_poll_next_checkpoint(&r, 0, 0, INT64_MAX, &next));
        assert_int_equal(next, 500 * S);
        assert_null(pb_poll_next_checkpoint(&r, 1, 400 * S, INT64_MAX, &next));
        assert_string_equal(pb_poll_next_checkpoint(&r, 1, 500 * S, INT64_MAX, &next),
                            "nothing newer was delivered");
        /* A failure holds it just before the oldest failed event. */
        r.failed = 2;
        r.min_failed_us = 450 * S;
        assert_null(pb_poll_next_checkpoint(&r, 1, 400 * S, INT64_MAX, &next));
        assert_int_equal(next, 450 * S - 1);
        assert_string_equal(pb_poll_next_checkpoint(&r, 1, 460 * S, INT64_MAX, &next),
                            "nothing newer was delivered");
        /* A failed event with no created_at: it stays. */
        r.min_failed_us = 0;
        assert_string_equal(pb_poll_next_checkpoint(&r, 1, 400 * S, INT64_MAX, &next),
                            "a failed event has no created_at");
        r.failed = 0;
        r.min_failed_us = INT64_MAX;
        r.max_created_us = 0;
        assert_string_equal(pb_poll_next_checkpoint(&r, 0, 0, INT64_MAX, &next),
                            "no event in the window");
        r.max_created_us = 500 * S;
        r.consistent = 0;
        assert_string_equal(pb_poll_next_checkpoint(&r, 0, 0, INT64_MAX, &next),
                            "the list moved while it was read");
        /* An event dated after the window (created_at 2099): the
         * checkpoint stops at the window's end, so the next poll still
         * reads what comes. Before, it went to 2099. */
        r.consistent = 1;
        r.max_created_us = 4070908800LL * S; /* 2099-01-01 */
        assert_null(pb_poll_next_checkpoint(&r, 1, 400 * S, 600 * S, &next));
        assert_int_equal(next, 600 * S);
        assert_string_equal(pb_poll_next_checkpoint(&r, 1, 600 * S, 600 * S, &next),
                            "nothing newer was delivered");
}

static void test_poller_moves_the_checkpoint_file(void **state)
{
        (void)state;
        tu_fake_api_t api;
        tu_fake_api_start(&api, "--events 9");
        tu_clearenv();
        tu_setenv("TELNYX_API_KEY", "test-key");
        tm_cluster_t *c = tm_cluster_new();
        char dir[] = "/tmp/pb-poll-XXXXXX", extra[1024], err[PB_ERRSZ];
        assert_non_null(mkdtemp(dir));
        snprintf(extra, sizeof(extra),
                 "webhook = { enabled = false; };\n"
                 "telnyx = { api_base = \"%s\"; page_size = 4; poll_enabled = true;"
                 " poll_interval_s = 1; poll_lookback_s = 31536000; checkpoint_file = "
                 "\"%s/cp\"; };\n",
                 api.base, dir);
        pb_config_t *cfg = tm_config(c, NULL, extra);
        pb_pipeline_opts_t po = {1000, 600000, NULL, 0, 0, NULL};
        pb_pipeline_t *pl = pb_pipeline_new(cfg, NULL, &po, NULL, err, sizeof(err));
        assert_non_null(pl);
        pb_fail_t fail = 0;
        pb_poller_t *p = pb_poller_new(cfg, pl, NULL, &fail, err, sizeof(err));
        if (!p)
                fail_msg("poller: %s", err);
        /* Newest event: 8 s and 8 us after the first. */
        int64_t cp = 0;
        for (int i = 0; i < 200 && cp != BASE_US + 8 * S + 8; i++) {
                pb_sleep_ms(50);
                if (pb_checkpoint_read(cfg->telnyx_checkpoint_file, &cp, err, sizeof(err)) != 1)
                        cp = 0;
        }
        assert_int_equal(cp, BASE_US + 8 * S + 8);
        /* A second poller on the same file is refused, and says why. */
        pb_poller_t *second = pb_poller_new(cfg, pl, NULL, &fail, err, sizeof(err));
        assert_null(second);
        assert_int_equal(fail, PB_FAIL_IN_USE);
        assert_int_equal(pb_fail_exit(fail), PB_EXIT_UNAVAILABLE);
        pb_poller_stop(p);
        pb_pipeline_close(pl, 2000);
        pb_poller_free(p);
        pb_pipeline_free(pl);
        int64_t n = tm_topic_count(c, cfg->topic_event[PB_ET_status_changed]) +
                    tm_topic_count(c, cfg->topic_event[PB_ET_foc_date_changed]) +
                    tm_topic_count(c, cfg->topic_event[PB_ET_new_comment]);
        assert_int_equal(n, 9); /* every event once, however many polls ran */
        char path[128];
        snprintf(path, sizeof(path), "%s/cp", dir);
        remove(path);
        snprintf(path, sizeof(path), "%s/cp.lock", dir);
        remove(path);
        rmdir(dir);
        pb_config_free(cfg);
        tm_cluster_free(c);
        tu_fake_api_stop(&api);
        tu_clearenv();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_window),
            cmocka_unit_test(test_checkpoint_decisions),
            cmocka_unit_test(test_poller_moves_the_checkpoint_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
