/* http_webhook.c, what one webhook means, over real HTTP (libcurl) to the
 * real listener, the pipeline and librdkafka's mock cluster: each refusal's
 * status and JSON error name, 200 only once the record is in Kafka, a retry
 * answered "duplicate" with nothing published, an authentic but unusable
 * event dead-lettered, and while the brokers are down a 503 that says the
 * event is not in Kafka, and is the truth. */
#include <curl/curl.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "http_verify.h"
#include "http_webhook.h"
#include "kafka_producer.h"
#include "metrics.h"
#include "mockkafka.h"
#include "pb.h"
#include "pipeline.h"
#include "testutil.h"

#define PATH  "/webhooks/telnyx/portouts"
#define TOPIC "telnyx.portouts.status-changed"

struct fixture {
        tm_cluster_t *c;
        pb_config_t *cfg;
        pb_metrics_t *metrics;
        pb_pipeline_t *pl;
        pb_verifier_t *verifier;
        pb_webhook_t *w;
        unsigned char sk[crypto_sign_SECRETKEYBYTES];
        char base[64];
};

static struct fixture *fx_new(void)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char err[512];
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        assert_true(sodium_init() >= 0);
        crypto_sign_keypair(pk, f->sk);
        char pk64[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
                                            sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
        tu_clearenv();
        tu_setenv("TELNYX_PUBLIC_KEY", pk64);
        f->c = tm_cluster_new();
        f->cfg = tm_config(f->c, NULL,
                           "webhook = { address = \"127.0.0.1\"; port = 0; ack_timeout_ms = 1500;"
                           " retry_after_s = 7; };\n"
                           "input = { max_event_bytes = 4096; };\n");
        f->metrics = pb_metrics_new();
        pb_pipeline_opts_t o = {1000, 60000, NULL, 0, pb_webhook_record_timeout_ms(f->cfg), NULL};
        f->pl = pb_pipeline_new(f->cfg, f->metrics, &o, NULL, err, sizeof(err));
        if (!f->pl)
                fail_msg("pipeline: %s", err);
        /* As run does before it is ready: a record's deadline (300 ms here)
         * is no time to look up a topic's leader too. */
        const char *topics[] = {TOPIC, "t.dlq"};
        assert_int_equal(pb_producer_warmup(pb_pipeline_producer(f->pl), topics, 2, 10000), 2);
        f->verifier = pb_verifier_new(f->cfg->webhook_public_key,
                                      f->cfg->webhook_signature_tolerance_s, err, sizeof(err));
        if (!f->verifier)
                fail_msg("verifier: %s", err);
        f->w = pb_webhook_new(f->cfg, f->pl, f->metrics, f->verifier, err, sizeof(err));
        if (!f->w)
                fail_msg("webhook: %s", err);
        snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", pb_webhook_port(f->w));
        return f;
}

static void fx_free(struct fixture *f)
{
        pb_webhook_quiesce(f->w);
        pb_pipeline_close(f->pl, 2000);
        pb_webhook_free(f->w);
        pb_pipeline_free(f->pl);
        pb_verifier_free(f->verifier);
        pb_metrics_free(f->metrics);
        pb_config_free(f->cfg);
        tm_cluster_free(f->c);
        tu_clearenv();
        free(f);
}

struct answer {
        long status;
        char body[2048];
        size_t len;
        char retry_after[16];
        char allow[32];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
        struct answer *a = ud;
        size_t k = size * n, room = sizeof(a->body) - 1 - a->len;
        memcpy(a->body + a->len, p, k < room ? k : room);
        a->len += k < room ? k : room;
        a->body[a->len] = '\0';
        return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
        struct answer *a = ud;
        size_t k = size * n;
        if (k > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
                snprintf(a->retry_after, sizeof(a->retry_after), "%.*s",
                         (int)strcspn(p + 13, "\r\n"), p + 13);
        if (k > 7 && strncasecmp(p, "Allow: ", 7) == 0)
                snprintf(a->allow, sizeof(a->allow), "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
        return k;
}

/* One request; sign: 1 a good signature, 0 none, -1 a wrong one, 2 a stale
 * timestamp, 3 a good one with whitespace after both values, 4 a forged
 * signature header and then the good one, 5 the timestamp header twice. */
static struct answer request(struct fixture *f, const char *method, const char *path,
                             const char *ctype, const char *body, int sign)
{
        struct answer a;
        memset(&a, 0, sizeof(a));
        CURL *h = curl_easy_init();
        struct curl_slist *hd = NULL;
        char url[256], line[256];
        snprintf(url, sizeof(url), "%s%s", f->base, path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        }
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        hd = curl_slist_append(hd, line);
        if (sign) {
                char ts[32];
                long long now = pb_now_ms() / 1000 - (sign == 2 ? 3600 : 0);
                snprintf(ts, sizeof(ts), "%lld", now);
                size_t bl = body ? strlen(body) : 0, tl = strlen(ts);
                unsigned char *msg = malloc(tl + 1 + bl), sig[crypto_sign_BYTES];
                memcpy(msg, ts, tl);
                msg[tl] = '|';
                memcpy(msg + tl + 1, body, bl);
                crypto_sign_detached(sig, NULL, msg, tl + 1 + bl, f->sk);
                free(msg);
                if (sign < 0)
                        sig[0] ^= 1;
                char sig64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES,
                                                     sodium_base64_VARIANT_ORIGINAL)];
                sodium_bin2base64(sig64, sizeof(sig64), sig, sizeof(sig),
                                  sodium_base64_VARIANT_ORIGINAL);
                const char *after = sign == 3 ? " \t" : "";
                snprintf(line, sizeof(line), "telnyx-timestamp: %s%s", ts, after);
                hd = curl_slist_append(hd, line);
                if (sign == 5)
                        hd = curl_slist_append(hd, line);
                if (sign == 4) {
                        char forged[sizeof(sig64)];
                        memcpy(forged, sig64, sizeof(sig64));
                        forged[0] = forged[0] == 'A' ? 'B' : 'A';
                        snprintf(line, sizeof(line), "telnyx-signature-ed25519: %s", forged);
                        hd = curl_slist_append(hd, line);
                }
                snprintf(line, sizeof(line), "telnyx-signature-ed25519: %s%s", sig64, after);
                hd = curl_slist_append(hd, line);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK)
                fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
        curl_slist_free_all(hd);
        curl_easy_cleanup(h);
        return a;
}

/* The answer's JSON member k, as a string ("" if absent). */
static const char *member(const struct answer *a, const char *k)
{
        static char out[256];
        json_object *o = json_tokener_parse(a->body), *v = NULL;
        if (!o)
                fail_msg("not JSON: %s", a->body);
        out[0] = '\0';
        if (json_object_object_get_ex(o, k, &v))
                snprintf(out, sizeof(out), "%s", json_object_get_string(v));
        json_object_put(o);
        return out;
}

static void answer_is(const struct answer *a, long status, const char *k, const char *v, int line)
{
        if (a->status != status || strcmp(member(a, k), v) != 0)
                fail_msg("line %d: want %ld %s=%s, got %ld %s", line, status, k, v, a->status,
                         a->body);
}
#define assert_answer(a, status, k, v) answer_is(a, status, k, v, __LINE__)

static const char *event(const char *id)
{
        static char buf[512];
        snprintf(buf, sizeof(buf),
                 "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"%s\","
                 "\"occurred_at\":\"2026-03-05T12:30:45Z\",\"payload\":{\"id\":\"po-1\","
                 "\"status\":\"ported\"},\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}",
                 id);
        return buf;
}

static void test_refusals(void **state)
{
        (void)state;
        struct fixture *f = fx_new();
        const char *ev = event("e-refused");
        struct answer a = request(f, "POST", "/other", "application/json", ev, 1);
        assert_answer(&a, 404, "error", "not_found");
        a = request(f, "GET", PATH, "application/json", NULL, 0);
        assert_answer(&a, 405, "error", "method_not_allowed");
        assert_string_equal(a.allow, "POST");
        a = request(f, "POST", PATH, "text/plain", ev, 1);
        assert_answer(&a, 415, "error", "unsupported_media_type");
        char big[6000];
        memset(big, ' ', sizeof(big) - 1);
        big[0] = '{';
        big[sizeof(big) - 2] = '}';
        big[sizeof(big) - 1] = '\0';
        a = request(f, "POST", PATH, "application/json", big, 1);
        assert_answer(&a, 413, "error", "body_too_large");
        a = request(f, "POST", PATH, "application/json", ev, 0);
        assert_int_equal(a.status, 401);
        a = request(f, "POST", PATH, "application/json", ev, -1);
        assert_int_equal(a.status, 401);
        a = request(f, "POST", PATH, "application/json", ev, 2);
        assert_int_equal(a.status, 401);
        /* A repeated signature or timestamp header is refused, whichever
         * copy is the good one: the SDKs, handed both joined, refuse too. */
        a = request(f, "POST", PATH, "application/json", ev, 4);
        assert_answer(&a, 401, "error", "repeated_header");
        a = request(f, "POST", PATH, "application/json", ev, 5);
        assert_answer(&a, 401, "error", "repeated_header");
        assert_int_equal(tm_topic_count(f->c, TOPIC), 0); /* none got in */
        /* Whitespace after a value is not part of it (RFC 9110 §5.5), as the
         * SDKs get it from a web framework: a valid delivery. */
        a = request(f, "POST", PATH, "application/json", event("e-trailing-space"), 3);
        assert_answer(&a, 200, "status", "delivered");
        fx_free(f);
}

static void test_delivered_then_duplicate(void **state)
{
        (void)state;
        struct fixture *f = fx_new();
        struct answer a = request(f, "POST", PATH, "application/json", event("e-1"), 1);
        assert_answer(&a, 200, "status", "delivered");
        assert_string_equal(member(&a, "id"), "e-1");
        assert_int_equal(tm_topic_count(f->c, TOPIC), 1); /* 200 means in Kafka */
        a = request(f, "POST", PATH, "application/json; charset=utf-8", event("e-1"), 1);
        assert_answer(&a, 200, "status", "duplicate");
        assert_int_equal(tm_topic_count(f->c, TOPIC), 1);
        /* authentic but unusable: dead-lettered, answered 200 (Telnyx must
         * not retry it), with the reason */
        a = request(f, "POST", PATH, "application/json", "{\"data\":{\"id\":\"e-2\"}}", 1);
        assert_answer(&a, 200, "status", "dead_lettered");
        assert_true(strlen(member(&a, "reason")) > 0);
        assert_int_equal(tm_topic_count(f->c, "t.dlq"), 1);
        fx_free(f);
}

static void test_not_durable(void **state)
{
        (void)state;
        struct fixture *f = fx_new();
        struct answer a = request(f, "POST", PATH, "application/json", event("e-warm"), 1);
        assert_answer(&a, 200, "status", "delivered");
        tm_set_brokers(f->c, 0);
        a = request(f, "POST", PATH, "application/json", event("e-down"), 1);
        assert_answer(&a, 503, "error", "not_durable");
        assert_string_equal(member(&a, "in_kafka"), "no");
        assert_string_equal(a.retry_after, "7");
        tm_set_brokers(f->c, 1);
        /* Retried as Telnyx does until the producer is back. A 503 says
         * "no", or "maybe" for an attempt sent while the brokers came back
         * and never acknowledged (a loaded machine makes that likelier);
         * whatever it said, the event lands once: delivered, or answered
         * "duplicate" if a "maybe" copy did land. */
        int tries = 0;
        do {
                pb_sleep_ms(500);
                a = request(f, "POST", PATH, "application/json", event("e-down"), 1);
                if (a.status != 200) {
                        const char *k = member(&a, "in_kafka");
                        assert_true(!strcmp(k, "no") || !strcmp(k, "maybe"));
                }
        } while (a.status != 200 && ++tries < 40);
        assert_int_equal(a.status, 200);
        assert_true(!strcmp(member(&a, "status"), "delivered") ||
                    !strcmp(member(&a, "status"), "duplicate"));
        pb_sleep_ms(1500); /* longer than a record's deadline and librdkafka's scan */
        assert_int_equal(tm_topic_count(f->c, TOPIC), 2);
        fx_free(f); /* (503 after quiesce: test_http_server, on a keep-alive connection) */
}

int main(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_refusals),
            cmocka_unit_test(test_delivered_then_duplicate),
            cmocka_unit_test(test_not_durable),
        };
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return rc;
}
