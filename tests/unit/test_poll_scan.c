/* The REST scan against the fake Telnyx API (a child process) and the mock
 * Kafka cluster: every page read and published once; a list that moves while
 * it is read is read again and each event still published once; a stop asked
 * before a page publishes nothing; an API error is the scan's error; with the
 * brokers down every event fails and the oldest failure is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mockkafka.h"
#include "pb.h"
#include "pipeline.h"
#include "poll_scan.h"
#include "telnyx_client.h"
#include "testutil.h"

/* The fake's first event is created at 2026-03-01T00:00:00Z, the n-th n s
 * and n % 997 us later. */
#define BASE_US       (1772323200LL * 1000000)
#define CREATED_US(n) (BASE_US + (n)*1000000LL + (n) % 997)

struct fixture {
        tu_fake_api_t api;
        tm_cluster_t *c;
        pb_config_t *cfg;
        pb_pipeline_t *pl;
        pb_telnyx_t *tx;
};

static struct fixture *fx_new(const char *api_flags, const char *props)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char err[PB_ERRSZ], extra[512];
        tu_fake_api_start(&f->api, api_flags);
        tu_clearenv();
        tu_setenv("TELNYX_API_KEY", "test-key");
        f->c = tm_cluster_new();
        snprintf(extra, sizeof(extra),
                 "telnyx = { api_base = \"%s\"; page_size = 2; max_retries = 0; };\n", f->api.base);
        f->cfg = tm_config(f->c, props, extra);
        pb_pipeline_opts_t o = {1000, 600000, NULL, 0, 0, NULL};
        f->pl = pb_pipeline_new(f->cfg, NULL, &o, NULL, err, sizeof(err));
        if (!f->pl)
                fail_msg("pipeline: %s", err);
        f->tx = pb_telnyx_new(f->cfg, err, sizeof(err));
        if (!f->tx)
                fail_msg("telnyx: %s", err);
        return f;
}

static void fx_free(struct fixture *f)
{
        pb_telnyx_free(f->tx);
        pb_pipeline_close(f->pl, 2000);
        pb_pipeline_free(f->pl);
        pb_config_free(f->cfg);
        tm_cluster_free(f->c);
        tu_fake_api_stop(&f->api);
        tu_clearenv();
        free(f);
}

/* Records on the three event topics. */
static int64_t published(struct fixture *f)
{
        return tm_topic_count(f->c, f->cfg->topic_event[PB_ET_status_changed]) +
               tm_topic_count(f->c, f->cfg->topic_event[PB_ET_foc_date_changed]) +
               tm_topic_count(f->c, f->cfg->topic_event[PB_ET_new_comment]);
}

/* One scan with o (NULL: no options). */
static pb_tx_rc_t scan(struct fixture *f, pb_scan_opts_t *o, pb_scan_result_t *r, char *err)
{
        pb_scan_opts_t none;
        if (!o) {
                memset(&none, 0, sizeof(none));
                o = &none;
        }
        return pb_rest_scan(f->tx, f->pl, f->cfg, o, r, err, PB_ERRSZ);
}

static void test_every_page_once(void **state)
{
        (void)state;
        struct fixture *f = fx_new("--events 7", NULL);
        pb_scan_progress_t progress = {0, 0};
        pb_scan_opts_t o;
        memset(&o, 0, sizeof(o));
        o.progress = &progress;
        pb_scan_result_t r;
        char err[PB_ERRSZ] = "";
        assert_int_equal(scan(f, &o, &r, err), PB_TX_OK);
        assert_int_equal(r.pages, 4); /* 2 + 2 + 2 + 1 */
        assert_int_equal(r.passes, 1);
        assert_true(r.consistent);
        assert_int_equal(r.events, 7);
        assert_int_equal(r.delivered, 7);
        assert_int_equal(r.failed + r.rejected + r.duplicates, 0);
        assert_int_equal(r.max_created_us, CREATED_US(6));
        assert_int_equal(r.min_failed_us, INT64_MAX);
        assert_int_equal(progress.pages, 4);
        assert_int_equal(progress.total_pages, 4);
        assert_int_equal(published(f), 7);
        /* Again: the window knows them all. */
        assert_int_equal(scan(f, &o, &r, err), PB_TX_OK);
        assert_int_equal(r.duplicates, 7);
        assert_int_equal(published(f), 7);
        fx_free(f);
}

/* Paging meta written as 4.0: the scan reads such a page through json-c's
 * tree (its spans read only plain integers), the same way: every page, and a
 * page that is not the one asked for is still seen. */
static void test_meta_as_decimals(void **state)
{
        (void)state;
        static const char *const flags[] = {
            "--events 7 --faults '{\"float_meta\":true}'",
            "--events 7 --faults '{\"float_meta\":true,\"ignore_page\":{\"meta\":true}}'",
        };
        for (int i = 0; i < 2; i++) {
                struct fixture *f = fx_new(flags[i], NULL);
                pb_scan_result_t r;
                char err[PB_ERRSZ] = "";
                pb_tx_rc_t rc = scan(f, NULL, &r, err);
                if (i == 0) {
                        assert_int_equal(rc, PB_TX_OK);
                        assert_int_equal(r.pages, 4);
                        assert_true(r.consistent);
                        assert_int_equal(r.delivered, 7);
                        assert_int_equal(published(f), 7);
                } else {
                        assert_int_equal(rc, PB_TX_UNAVAILABLE);
                        assert_non_null(strstr(err, "the API answered page 1"));
                }
                fx_free(f);
        }
}

/* Telnyx does not document the list's order: newest first, or a shuffle,
 * reads the same events once each and finds the same newest one (the
 * checkpoint's next value), whatever page it is on. */
static void test_any_list_order(void **state)
{
        (void)state;
        static const char *const flags[] = {"--events 7 --order desc", "--events 7 --order random"};
        for (size_t i = 0; i < 2; i++) {
                struct fixture *f = fx_new(flags[i], NULL);
                pb_scan_result_t r;
                char err[PB_ERRSZ] = "";
                assert_int_equal(scan(f, NULL, &r, err), PB_TX_OK);
                assert_true(r.consistent);
                assert_int_equal(r.events, 7);
                assert_int_equal(r.delivered, 7);
                assert_int_equal(r.max_created_us, CREATED_US(6));
                assert_int_equal(published(f), 7);
                fx_free(f);
        }
}

/* Three events inserted at the start of the period while page 2 is read:
 * the totals differ, so the list is read again, and the ten events land
 * once each. */
static void test_a_moving_list_is_read_again(void **state)
{
        (void)state;
        struct fixture *f = fx_new("--events 7 --faults "
                                   "'{\"insert_while_paging\":{\"after\":2,\"count\":3}}'",
                                   NULL);
        pb_scan_result_t r;
        char err[PB_ERRSZ] = "";
        assert_int_equal(scan(f, NULL, &r, err), PB_TX_OK);
        assert_int_equal(r.passes, 2);
        assert_true(r.consistent);
        assert_int_equal(r.delivered, 10);
        assert_int_equal(r.delivered + r.duplicates, r.events);
        assert_int_equal(published(f), 10);
        fx_free(f);
}

static int refuse(void *ctx, char *why, size_t whysz)
{
        (*(int *)ctx)++;
        return pb_seterr(why, whysz, "no longer the poll leader");
}

static void test_a_stop_before_a_page_publishes_nothing(void **state)
{
        (void)state;
        struct fixture *f = fx_new("--events 7", NULL);
        int asked = 0;
        pb_scan_opts_t o;
        memset(&o, 0, sizeof(o));
        o.before_page = refuse;
        o.before_page_ctx = &asked;
        pb_scan_result_t r;
        char err[PB_ERRSZ] = "";
        assert_int_equal(scan(f, &o, &r, err), PB_TX_ABORTED);
        assert_string_equal(err, "no longer the poll leader");
        assert_int_equal(asked, 1);
        assert_int_equal(r.events, 0);
        assert_int_equal(published(f), 0);
        fx_free(f);
}

static void test_api_errors_are_the_scans(void **state)
{
        (void)state;
        struct fixture *f = fx_new("--events 7 --api-key other-key", NULL);
        pb_scan_result_t r;
        char err[PB_ERRSZ] = "";
        assert_int_equal(scan(f, NULL, &r, err), PB_TX_AUTH);
        assert_non_null(strstr(err, "401"));
        tu_fake_api_stop(&f->api);
        f->api = (tu_fake_api_t){0};
        tu_fake_api_start(&f->api, "--events 7 --faults '{\"fail_next\":{\"count\":1,"
                                   "\"status\":500}}'");
        pb_telnyx_free(f->tx);
        pb_config_free(f->cfg);
        char extra[256];
        snprintf(extra, sizeof(extra),
                 "telnyx = { api_base = \"%s\"; page_size = 2; max_retries = 0; };\n", f->api.base);
        f->cfg = tm_config(f->c, NULL, extra);
        f->tx = pb_telnyx_new(f->cfg, err, sizeof(err));
        assert_int_equal(scan(f, NULL, &r, err), PB_TX_UNAVAILABLE);
        assert_int_equal(published(f), 0);
        fx_free(f);
}

/* An API that never says it is done ends the pass with an error, not a
 * loop: one that answers page 1 whatever was asked (with its meta, or with
 * none and full pages), one that sends more than page[size], and more pages
 * than telnyx.max_pages. Before, the first two requested pages forever
 * with no delay. */
static void test_a_broken_api_ends_the_pass(void **state)
{
        (void)state;
        static const struct {
                const char *faults, *want;
        } cases[] = {
            {"{\"ignore_page\":{\"meta\":true}}", "the API answered page 1"},
            {"{\"ignore_page\":{\"meta\":false}}", "page 2 holds what page 1 held"},
            {"{\"oversize\":{\"times\":3}}", "more than page[size] 2"},
            /* 900 KB of {}: json-c would take some 240 MB to hold it */
            {"{\"dense\":{\"count\":300000}}", "would take about"},
            {NULL, "more than telnyx.max_pages (3)"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char flags[256];
                snprintf(flags, sizeof(flags), "--events 7%s%s%s",
                         cases[i].faults ? " --faults '" : "",
                         cases[i].faults ? cases[i].faults : "", cases[i].faults ? "'" : "");
                struct fixture *f = fx_new(flags, NULL);
                if (!cases[i].faults)
                        f->cfg->telnyx_max_pages = 3; /* the fake has 4 pages of 2 */
                pb_scan_result_t r;
                char err[PB_ERRSZ] = "";
                assert_int_equal(scan(f, NULL, &r, err), PB_TX_UNAVAILABLE);
                if (!strstr(err, cases[i].want))
                        fail_msg("case %zu: \"%s\"", i, err);
                assert_true(r.pages <= 4);
                fx_free(f);
        }
}

static void test_brokers_down_every_event_fails(void **state)
{
        (void)state;
        struct fixture *f = fx_new("--events 5", "\"message.timeout.ms=1000\"");
        tm_set_brokers(f->c, 0);
        pb_scan_result_t r;
        char err[PB_ERRSZ] = "";
        assert_int_equal(scan(f, NULL, &r, err), PB_TX_OK); /* every page was read */
        assert_int_equal(r.events, 5);
        assert_int_equal(r.failed, 5);
        assert_int_equal(r.delivered, 0);
        assert_int_equal(r.min_failed_us, CREATED_US(0));
        assert_int_equal(r.max_created_us, CREATED_US(4));
        tm_set_brokers(f->c, 1);
        fx_free(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_every_page_once),
            cmocka_unit_test(test_meta_as_decimals),
            cmocka_unit_test(test_any_list_order),
            cmocka_unit_test(test_a_moving_list_is_read_again),
            cmocka_unit_test(test_a_stop_before_a_page_publishes_nothing),
            cmocka_unit_test(test_api_errors_are_the_scans),
            cmocka_unit_test(test_a_broken_api_ends_the_pass),
            cmocka_unit_test(test_brokers_down_every_event_fails),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
