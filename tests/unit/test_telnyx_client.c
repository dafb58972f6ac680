#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "pb.h"
#include "telnyx_client.h"
#include "testutil.h"

static void test_url_encode(void **state)
{
        (void)state;
        char *s = pb_url_encode("filter[created_at][gte]=2026-01-01T00:00:00+02:00 é/&");
        assert_string_equal(s,
                            "filter%5Bcreated_at%5D%5Bgte%5D%3D2026-01-01T00%3A00%3A00%2B02%3A00%"
                            "20%C3%A9%2F%26");
        free(s);
        s = pb_url_encode("AZaz09-._~");
        assert_string_equal(s, "AZaz09-._~");
        free(s);
}

static void test_list_url(void **state)
{
        (void)state;
        pb_event_filter_t f = {"portout.status_changed", "5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70",
                               "2026-01-01T00:00:00Z", "2026-02-01T00:00:00.5Z"};
        char *u = pb_telnyx_list_url("https://api.telnyx.com/v2", "/portouts/events", &f, 3, 250);
        assert_string_equal(u, "https://api.telnyx.com/v2/portouts/events"
                               "?filter%5Bevent_type%5D=portout.status_changed"
                               "&filter%5Bportout_id%5D=5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70"
                               "&filter%5Bcreated_at%5D%5Bgte%5D=2026-01-01T00%3A00%3A00Z"
                               "&filter%5Bcreated_at%5D%5Blte%5D=2026-02-01T00%3A00%3A00.5Z"
                               "&page%5Bnumber%5D=3&page%5Bsize%5D=250");
        free(u);
        u = pb_telnyx_list_url("http://h/v2", "/portout/events", NULL, 1, 20);
        assert_string_equal(u, "http://h/v2/portout/events?page%5Bnumber%5D=1&page%5Bsize%5D=20");
        free(u);
        pb_event_filter_t only = {NULL, "a&b=c", NULL, NULL};
        u = pb_telnyx_list_url("http://h", "/e", &only, 1, 1);
        assert_string_equal(u, "http://h/e?filter%5Bportout_id%5D=a%26b%3Dc&page%5Bnumber%5D=1"
                               "&page%5Bsize%5D=1");
        free(u);
}

static void test_retry_delay(void **state)
{
        (void)state;
        /* exponential with jitter in [d/2, d], capped */
        for (uint32_t rnd = 0; rnd < 2000; rnd += 37) {
                for (int a = 0; a < 12; a++) {
                        int64_t d = 500;
                        for (int i = 0; i < a; i++)
                                d = d * 2 > 30000 ? 30000 : d * 2;
                        int64_t got = pb_retry_delay_ms(a, 500, 30000, NULL, NULL, NULL, 0, rnd);
                        if (got < d / 2 || got > d)
                                fail_msg("attempt %d rnd %u: %lld not in [%lld, %lld]", a, rnd,
                                         (long long)got, (long long)d / 2, (long long)d);
                }
        }
        assert_int_equal(pb_retry_delay_ms(0, 500, 30000, NULL, NULL, NULL, 0, 0), 250);
        assert_int_equal(pb_retry_delay_ms(0, 500, 30000, NULL, NULL, NULL, 0, 250), 500);
        assert_int_equal(pb_retry_delay_ms(20, 500, 30000, NULL, NULL, NULL, 0, 15000), 30000);
        /* server hints win, in this order */
        assert_int_equal(pb_retry_delay_ms(5, 500, 30000, "1234", "9", "7", 0, 0), 1234);
        assert_int_equal(pb_retry_delay_ms(5, 500, 30000, NULL, "9", "7", 0, 0), 9000);
        assert_int_equal(pb_retry_delay_ms(5, 500, 30000, NULL, NULL, "7", 0, 0), 7000);
        assert_int_equal(pb_retry_delay_ms(5, 500, 30000, "", "", "", 0, 0) >= 8000, 1);
        /* an HTTP date, relative to now */
        int64_t now = 1772713845; /* Thu, 05 Mar 2026 12:30:45 GMT */
        assert_int_equal(
            pb_retry_delay_ms(0, 500, 30000, NULL, "Thu, 05 Mar 2026 12:31:05 GMT", NULL, now, 0),
            20000);
        assert_int_equal(
            pb_retry_delay_ms(0, 500, 30000, NULL, "Thu, 05 Mar 2026 12:00:00 GMT", NULL, now, 0),
            0);
        /* hints are capped at 10 minutes; garbage falls back to backoff */
        assert_int_equal(pb_retry_delay_ms(0, 500, 30000, NULL, "99999", NULL, 0, 0), 600000);
        int64_t g = pb_retry_delay_ms(0, 500, 30000, "soon", NULL, "-3", 0, 0);
        assert_true(g >= 250 && g <= 500);
}

static void test_error_text(void **state)
{
        (void)state;
        char out[256];
        const char *e1 = "{\"errors\":[{\"code\":\"10005\",\"title\":\"Resource not found\","
                         "\"detail\":\"The requested resource could not be found.\"}]}";
        assert_int_equal(pb_telnyx_error_text(e1, strlen(e1), out, sizeof(out)), 0);
        assert_string_equal(out, "10005: The requested resource could not be found.");
        const char *e2 = "{\"errors\":[{\"code\":\"10015\",\"title\":\"Bad Request\","
                         "\"description\":\"page[size] must be <= 250\"}]}";
        assert_int_equal(pb_telnyx_error_text(e2, strlen(e2), out, sizeof(out)), 0);
        assert_string_equal(out, "10015: page[size] must be <= 250");
        const char *e3 = "{\"errors\":[{\"title\":\"Too many requests\"}]}";
        assert_int_equal(pb_telnyx_error_text(e3, strlen(e3), out, sizeof(out)), 0);
        assert_string_equal(out, "Too many requests");
        /* Control characters from the API never reach a terminal or a log. */
        const char *e4 =
            "{\"errors\":[{\"code\":\"1\",\"detail\":\"\\u001b[31mred\\nforged\\u007f\"}]}";
        assert_int_equal(pb_telnyx_error_text(e4, strlen(e4), out, sizeof(out)), 0);
        assert_string_equal(out, "1: ?[31mred?forged?");
        assert_int_equal(pb_telnyx_error_text("<html>", 6, out, sizeof(out)), -1);
        assert_int_equal(pb_telnyx_error_text("{\"errors\":[]}", 13, out, sizeof(out)), -1);
        assert_int_equal(pb_telnyx_error_text(NULL, 0, out, sizeof(out)), -1);
}

/* Ids steer URLs that carry the API key: only the grammar passes, and a
 * refused id makes no request at all. */
static void test_ids_cannot_steer_the_key(void **state)
{
        (void)state;
        const char *good[] = {"e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", "no-such-event", "A_1", "x"};
        const char *bad[] = {"",    ".",     "..",  "../portouts", "a/b",      "a%2fb",
                             "a b", "a?b=1", "a#b", "a\nb",        "\xc3\xa9", "a.b"};
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                assert_true(pb_telnyx_id_valid(good[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (pb_telnyx_id_valid(bad[i]))
                        fail_msg("accepted \"%s\"", bad[i]);
        char longid[PB_TELNYX_ID_MAX + 2];
        memset(longid, 'a', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = '\0';
        assert_false(pb_telnyx_id_valid(longid)); /* 65 */
        longid[PB_TELNYX_ID_MAX] = '\0';
        assert_true(pb_telnyx_id_valid(longid)); /* 64 */
        assert_false(pb_telnyx_id_valid(NULL));

        char err[512];
        tu_setenv("TELNYX_API_KEY", "secret-key");
        pb_config_t *cfg = pb_config_load(
            tu_write_temp("telnyx = { api_base = \"http://127.0.0.1:1/v2\"; max_retries = 0; };\n"),
            tu_env_lookup, err, sizeof(err));
        assert_non_null(cfg);
        pb_telnyx_t *tx = pb_telnyx_new(cfg, err, sizeof(err));
        assert_non_null(tx);
        char *body = NULL;
        size_t len = 0;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(pb_telnyx_get_event(tx, bad[i], &body, &len, err, sizeof(err)),
                                 PB_TX_REJECTED);
                assert_int_equal(pb_telnyx_republish(tx, bad[i], err, sizeof(err)), PB_TX_REJECTED);
        }
        assert_null(body);
        assert_int_equal(pb_telnyx_request_count(tx), 0);
        pb_telnyx_free(tx);
        pb_config_free(cfg);
        tu_clearenv();
}

struct raise {
        volatile sig_atomic_t *flag;
        int ms;
};

static void *raise_later(void *arg)
{
        struct raise *r = arg;
        pb_sleep_ms(r->ms);
        *r->flag = 1;
        return NULL;
}

/* A stop does not wait out a request that hangs: the abort flag ends the
 * transfer in flight. A call that may have been sent is of unknown fate
 * (UNAVAILABLE: the desk's intent stands), a read is ABORTED. (Before: both
 * waited for the answer, here 20 s, up to telnyx.timeout_ms.) */
/* A configuration on the fake API (telnyx.* settings in extra); the caller
 * frees it. */
static pb_config_t *config_on(const tu_fake_api_t *api, const char *extra)
{
        tu_setenv("TELNYX_API_KEY", "test-key");
        char conf[512], err[PB_ERRSZ];
        snprintf(conf, sizeof(conf),
                 "topics = { dead_letter = \"t.dlq\"; };\ntelnyx = { api_base = \"%s\"; %s };\n",
                 api->base, extra);
        pb_config_t *cfg = pb_config_load(tu_write_temp(conf), tu_env_lookup, err, sizeof(err));
        if (!cfg)
                fail_msg("config: %s", err);
        return cfg;
}

static void test_a_stop_ends_a_hanging_request(void **state)
{
        (void)state;
        tu_fake_api_t api;
        tu_fake_api_start(&api, "--events 0 --portouts 1");
        tu_fake_api_admin(&api, "/_admin/faults", "{\"hang_call\":{\"count\":1,\"ms\":20000}}");
        char err[PB_ERRSZ];
        pb_config_t *cfg = config_on(&api, "timeout_ms = 60000;");
        pb_telnyx_t *tx = pb_telnyx_new(cfg, err, sizeof(err));
        assert_non_null(tx);
        volatile sig_atomic_t flag = 0;
        pb_telnyx_set_abort_flag(tx, &flag);
        struct raise r = {&flag, 300};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, raise_later, &r), 0);
        pb_tx_answer_t a;
        int64_t t0 = pb_mono_ms();
        pb_tx_rc_t rc = pb_telnyx_action(tx, "POST", "po-1", "/comments", "{\"body\":\"x\"}", &a,
                                         err, sizeof(err));
        pthread_join(t, NULL);
        assert_int_equal(rc, PB_TX_UNAVAILABLE);
        assert_non_null(strstr(err, "interrupted by a stop"));
        assert_true(pb_mono_ms() - t0 < 10000);
        pb_telnyx_free(tx);
        pb_config_free(cfg);
        tu_fake_api_stop(&api);
}

/* A page read with its check kept: the elements' spans lie in the page's
 * bytes, one per element of its "data" (what the backfill hands to normalize
 * instead of checking the page again), and such a page is not parsed by
 * json-c; without a check to keep, it is. */
static void test_a_page_keeps_its_check(void **state)
{
        (void)state;
        tu_fake_api_t api;
        tu_fake_api_start(&api, "--events 7");
        char err[PB_ERRSZ];
        pb_config_t *cfg = config_on(&api, "");
        pb_telnyx_t *tx = pb_telnyx_new(cfg, err, sizeof(err));
        assert_non_null(tx);
        pb_event_filter_t f;
        memset(&f, 0, sizeof(f));
        json_object *page = NULL;
        char *raw = NULL;
        size_t raw_len = 0;
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        jc.want_items = 1;
        assert_int_equal(
            pb_telnyx_list_events(tx, &f, 1, 5, &page, &raw, &raw_len, &jc, err, sizeof(err)),
            PB_TX_OK);
        assert_null(page);
        assert_int_equal(jc.result, 0);
        assert_true(jc.items_ok);
        assert_int_equal(jc.nitems, 5);
        for (size_t i = 0; i < jc.nitems; i++) {
                assert_true(jc.items[i].off + jc.items[i].len <= raw_len);
                assert_int_equal(raw[jc.items[i].off], '{');
                assert_int_equal(raw[jc.items[i].off + jc.items[i].len - 1], '}');
        }
        free(raw);
        pb_jcheck_free(&jc);
        assert_int_equal(
            pb_telnyx_list_events(tx, &f, 1, 5, &page, &raw, &raw_len, NULL, err, sizeof(err)),
            PB_TX_OK);
        json_object *data = NULL;
        assert_true(json_object_object_get_ex(page, "data", &data));
        assert_int_equal(json_object_array_length(data), 5);
        json_object_put(page);
        free(raw);
        pb_telnyx_free(tx);
        pb_config_free(cfg);
        tu_fake_api_stop(&api);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_url_encode),
            cmocka_unit_test(test_list_url),
            cmocka_unit_test(test_retry_delay),
            cmocka_unit_test(test_error_text),
            cmocka_unit_test(test_ids_cannot_steer_the_key),
            cmocka_unit_test(test_a_stop_ends_a_hanging_request),
            cmocka_unit_test(test_a_page_keeps_its_check),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
