/* http_admin.c over real HTTP (libcurl) with the pipeline on librdkafka's mock
 * cluster: /healthz, /readyz ready while a broker answers, not ready with the
 * reason when none does and while stopping, /metrics in the Prometheus text
 * format, 404 and 405. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_admin.h"
#include "kafka_producer.h"
#include "metrics.h"
#include "mockkafka.h"
#include "pb.h"
#include "pipeline.h"

struct reply {
        long status;
        char body[8192];
        size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
        struct reply *r = ud;
        size_t k = size * n, room = sizeof(r->body) - 1 - r->len;
        memcpy(r->body + r->len, p, k < room ? k : room);
        r->len += k < room ? k : room;
        r->body[r->len] = '\0';
        return size * n;
}

static struct reply get(unsigned port, const char *method, const char *path)
{
        struct reply r;
        memset(&r, 0, sizeof(r));
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
        CURL *h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
        if (curl_easy_perform(h) != CURLE_OK)
                fail_msg("%s %s failed", method, path);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
        curl_easy_cleanup(h);
        return r;
}

/* Polls /readyz until its status is want (brokers come and go in seconds). */
static struct reply ready_until(unsigned port, long want)
{
        struct reply r;
        for (int i = 0; i < 150; i++) {
                r = get(port, "GET", "/readyz");
                if (r.status == want)
                        break;
                pb_sleep_ms(100);
        }
        return r;
}

static void test_probes(void **state)
{
        (void)state;
        char err[512];
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = tm_config(c, NULL, "admin = { address = \"127.0.0.1\"; port = 0; };\n");
        pb_metrics_t *m = pb_metrics_new();
        pb_pipeline_opts_t o = {0, 0, NULL, 0, 0, NULL};
        pb_pipeline_t *pl = pb_pipeline_new(cfg, m, &o, NULL, err, sizeof(err));
        assert_non_null(pl);
        pb_admin_t *a = pb_admin_new(cfg, pl, m, err, sizeof(err));
        if (!a)
                fail_msg("admin: %s", err);
        unsigned port = pb_admin_port(a);

        struct reply r = get(port, "GET", "/healthz");
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "{\"status\":\"ok\"}");
        r = ready_until(port, 200);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "\"status\":\"ready\""));
        assert_non_null(strstr(r.body, "\"kafka\":\"up\""));

        tm_set_brokers(c, 0);
        r = ready_until(port, 503);
        if (r.status != 503 || !strstr(r.body, "\"kafka_problem\":\"unreachable\""))
                fail_msg("brokers down: %ld %s", r.status, r.body);
        assert_int_equal(get(port, "GET", "/healthz").status, 200); /* alive, not ready */
        tm_set_brokers(c, 1);
        r = ready_until(port, 200);
        assert_int_equal(r.status, 200);

        r = get(port, "GET", "/metrics");
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "# TYPE portout_bridge_"));
        assert_int_equal(get(port, "GET", "/nope").status, 404);
        assert_int_equal(get(port, "POST", "/readyz").status, 405);

        pb_admin_set_stopping(a);
        r = get(port, "GET", "/readyz");
        assert_int_equal(r.status, 503);
        assert_non_null(strstr(r.body, "\"shutting_down\":true"));

        pb_admin_free(a);
        pb_pipeline_free(pl);
        pb_metrics_free(m);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

int main(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_probes)};
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return rc;
}
