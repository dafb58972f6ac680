/* publish.c: which topic each event type goes to, and each envelope as a
 * Kafka record in every envelope.kafka_mode (key, value, headers), read back
 * from librdkafka's mock cluster by an independent consumer; a rejection as a
 * dead letter whose value stays strict JSON with the raw bytes inside. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "kafka_producer.h"
#include "mockkafka.h"
#include "normalize.h"
#include "pb.h"
#include "privacy.h"
#include "publish.h"
#include "record.h"
#include "testutil.h"

#define EVENT                                                                                      \
        "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"e-%s\","                    \
        "\"occurred_at\":\"2026-03-05T12:30:45Z\",\"payload\":{\"id\":\"po-7\","                   \
        "\"status\":\"ported\"},\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}"

static void test_route(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg =
            tm_config(c, NULL,
                      "topics = { status_changed = \"s\"; foc_date_changed = \"f\"; new_comment = "
                      "\"n\"; other = \"o\"; dead_letter = \"t.dlq\"; };\n");
        assert_string_equal(pb_publish_route(cfg, "portout.status_changed"), "s");
        assert_string_equal(pb_publish_route(cfg, "portout.foc_date_changed"), "f");
        assert_string_equal(pb_publish_route(cfg, "portout.new_comment"), "n");
        assert_string_equal(pb_publish_route(cfg, "portout.something_new"),
                            "o"); /* never dropped */
        assert_string_equal(pb_publish_route(cfg, ""), "o");
        pb_norm_item_t rejected;
        memset(&rejected, 0, sizeof(rejected));
        assert_string_equal(pb_publish_topic(cfg, &rejected), "t.dlq");
        pb_config_free(cfg);
        tm_cluster_free(c);
}

struct done {
        pthread_mutex_t lock;
        int n;
        pb_fate_t fate;
};

static void on_done(void *opaque, const pb_delivery_t *d)
{
        struct done *x = opaque;
        pthread_mutex_lock(&x->lock);
        x->n++;
        x->fate = d->fate;
        pthread_mutex_unlock(&x->lock);
}

/* The privacy policy publish_one() normalizes with (NULL: none). */
static pb_privacy_t *g_privacy;

/* Publishes the first item of doc with the config's mode; returns it read
 * back from topic (header: the one header to copy). */
static tm_record_t publish_one(tm_cluster_t *c, pb_config_t *cfg, const char *doc,
                               const char *topic, const char *header, pb_batch_t **batch)
{
        char err[512];
        pb_producer_opts_t po = {0, pb_publish_redirect, cfg};
        pb_producer_t *p = pb_producer_new_opts(cfg, &po, NULL, err, sizeof(err));
        if (!p)
                fail_msg("producer: %s", err);
        pb_norm_opts_t no = {"https://api.telnyx.com/v2/portouts", NULL, g_privacy, 0};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, INT64_C(1772668800000000)};
        *batch = pb_normalize(&no, doc, strlen(doc), &ing);
        assert_non_null(*batch);
        assert_int_equal((*batch)->cnt, 1);
        pb_provenance_t prov = {"webhook", "2026-03-05T00:00:00Z", NULL};
        struct done d = {PTHREAD_MUTEX_INITIALIZER, 0, PB_FATE_FAILED};
        assert_int_equal(pb_publish_item(p, cfg, &(*batch)->items[0], &prov, NULL, on_done, &d, -1,
                                         err, sizeof(err)),
                         PB_SEND_OK);
        assert_int_equal(pb_producer_flush(p, 10000), 0);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.fate,
                         PB_FATE_DELIVERED); /* a rejection too: its record reached the DLQ */
        pb_producer_free(p);
        tm_record_t r[2];
        assert_int_equal(tm_read(c, topic, header, r, 2), 1);
        return r[0];
}

static pb_config_t *mode_config(tm_cluster_t *c, const char *mode)
{
        char extra[128];
        snprintf(extra, sizeof(extra), "envelope = { kafka_mode = \"%s\"; };\n", mode);
        return tm_config(c, NULL, extra);
}

#define STATUS_TOPIC "telnyx.portouts.status-changed"

static void test_structured(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = mode_config(c, "structured");
        char doc[512];
        snprintf(doc, sizeof(doc), EVENT, "s");
        pb_batch_t *b;
        tm_record_t r = publish_one(c, cfg, doc, STATUS_TOPIC, "ce_id", &b);
        const pb_envelope_t *e = b->items[0].env;
        assert_string_equal(r.key, "po-7"); /* keyed by portout_id */
        assert_int_equal(strlen(r.value), e->json_len);
        assert_memory_equal(r.value, e->json, e->json_len); /* the whole envelope */
        assert_string_equal(r.header, "e-s");
        pb_batch_free(b);
        b = NULL;
        tm_cluster_free(c); /* a fresh topic for the next read */
        c = tm_cluster_new();
        pb_config_free(cfg);
        cfg = mode_config(c, "structured");
        r = publish_one(c, cfg, doc, STATUS_TOPIC, "content-type", &b);
        assert_string_equal(r.header, "application/cloudevents+json; charset=UTF-8");
        pb_batch_free(b);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

static void test_structured_noheaders(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = mode_config(c, "structured_noheaders");
        char doc[512];
        snprintf(doc, sizeof(doc), EVENT, "n");
        pb_batch_t *b;
        tm_record_t r = publish_one(c, cfg, doc, STATUS_TOPIC, "ce_id", &b);
        assert_string_equal(r.header, ""); /* no ce_ header: Python's SDK reads it right */
        assert_memory_equal(r.value, b->items[0].env->json, b->items[0].env->json_len);
        pb_batch_free(b);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

/* A record Kafka refuses for good, in structured_noheaders mode: its dead
 * letter still names its event (ce_id), or the index would never learn the
 * event is in Kafka, and a restart would dead-letter it again. */
static void test_noheaders_dead_letter_names_its_event(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = mode_config(c, "structured_noheaders");
        char err[512], doc[512];
        snprintf(doc, sizeof(doc), EVENT, "too-large");
        pb_producer_opts_t po = {0, pb_publish_redirect, cfg};
        pb_producer_t *p = pb_producer_new_opts(cfg, &po, NULL, err, sizeof(err));
        assert_non_null(p);
        pb_norm_opts_t no = {"https://api.telnyx.com/v2/portouts", NULL, NULL, 0};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, INT64_C(1772668800000000)};
        pb_batch_t *b = pb_normalize(&no, doc, strlen(doc), &ing);
        pb_provenance_t prov = {"webhook", "2026-03-05T00:00:00Z", NULL};
        struct done d = {PTHREAD_MUTEX_INITIALIZER, 0, PB_FATE_FAILED};
        rd_kafka_mock_push_request_errors(c->mc, 0 /* Produce */, 1,
                                          RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
        assert_int_equal(
            pb_publish_item(p, cfg, &b->items[0], &prov, NULL, on_done, &d, -1, err, sizeof(err)),
            PB_SEND_OK);
        assert_int_equal(pb_producer_flush(p, 10000), 0);
        assert_int_equal(d.fate, PB_FATE_DEAD_LETTERED);
        pb_producer_free(p);
        tm_record_t r[2];
        assert_int_equal(tm_read(c, "t.dlq", "ce_id", r, 2), 1);
        assert_string_equal(r[0].header, "e-too-large");
        pb_batch_free(b);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

static void test_binary(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = mode_config(c, "binary");
        char doc[512];
        snprintf(doc, sizeof(doc), EVENT, "b");
        pb_batch_t *b;
        tm_record_t r = publish_one(c, cfg, doc, STATUS_TOPIC, "content-type", &b);
        const pb_envelope_t *e = b->items[0].env;
        assert_string_equal(r.header, "application/json"); /* datacontenttype */
        assert_int_equal(strlen(r.value), e->data_len);
        assert_memory_equal(r.value, e->json + e->data_off, e->data_len); /* the data alone */
        assert_int_equal(r.value[0], '{');
        assert_non_null(strstr(r.value, "\"status\":\"ported\""));
        assert_null(strstr(r.value, "specversion"));
        pb_batch_free(b);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

/* Bytes that are not UTF-8: the dead letter's value is {"raw_base64":...},
 * said so in a header, and gives the bytes back. */
static void test_dead_letter_keeps_bytes(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = mode_config(c, "structured");
        const char doc[] =
            "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"a\xc0\xaf\"}}";
        pb_batch_t *b;
        tm_record_t r = publish_one(c, cfg, doc, "t.dlq", "pb_value_encoding", &b);
        assert_null(b->items[0].env);
        assert_string_equal(r.header, "json_base64");
        /* Decoded here with libsodium, not with the module's own reader. */
        const char *b64 = r.value + strlen("{\"raw_base64\":\"");
        assert_memory_equal(r.value, "{\"raw_base64\":\"", strlen("{\"raw_base64\":\""));
        unsigned char *raw = malloc(strlen(r.value));
        size_t n = 0;
        assert_int_equal(sodium_base642bin(raw, strlen(r.value), b64, strlen(b64) - 2, NULL, &n,
                                           NULL, sodium_base64_VARIANT_ORIGINAL),
                         0);
        assert_int_equal(n, sizeof(doc) - 1);
        assert_memory_equal(raw, doc, n);
        free(raw);
        pb_batch_free(b);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

/* With a privacy policy, an authentic event the bridge cannot use (no
 * port-out id) goes to the dead-letter topic with the policy applied, said
 * so in pb_redacted. Nothing derived from the bytes it came as goes beside
 * it: the SHA-256 of the original (and its size) let anyone holding the
 * rest of the value try all 10,000 PINs. It is named by the bytes it went
 * as, which its readers (reconcile, the index) hash as the pipeline did. */
static void test_dead_letter_follows_the_privacy_policy(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = mode_config(c, "structured");
        g_privacy = pb_privacy_new(NULL, "payload.attempted_pin", "0123456789abcdef", 16, NULL, 0);
        assert_non_null(g_privacy);
        pb_privacy_free(cfg->privacy); /* the loaded one, inactive */
        cfg->privacy = g_privacy;      /* the config's to free */
        const char doc[] = "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"e-1\","
                           "\"payload\":{\"status\":\"authorized\",\"attempted_pin\":\"1234\"}}}";
        pb_batch_t *b;
        tm_record_t r = publish_one(c, cfg, doc, "t.dlq", "pb_redacted", &b);
        assert_null(b->items[0].env);
        assert_string_equal(r.header, "privacy");
        assert_null(strstr(r.value, "1234"));
        assert_non_null(strstr(r.value, "\"attempted_pin\":\"hmac-sha256:"));
        assert_non_null(strstr(r.value, "\"status\":\"authorized\""));
        /* The item's bytes are the ones that left, so the rejection's name
         * (the SHA-256 of them) reveals nothing the value does not. */
        assert_int_equal(b->items[0].raw_len, strlen(r.value));
        assert_memory_equal(b->items[0].raw, r.value, b->items[0].raw_len);
        assert_int_equal(b->items[0].redacted, 1);
        tm_record_t h[2];
        assert_int_equal(tm_read(c, "t.dlq", "pb_original_sha256", h, 2), 1);
        assert_string_equal(h[0].header, ""); /* absent */
        assert_int_equal(tm_read(c, "t.dlq", "pb_original_bytes", h, 2), 1);
        assert_string_equal(h[0].header, "");
        pb_batch_free(b);
        g_privacy = NULL;
        pb_config_free(cfg);
        tm_cluster_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_route),
            cmocka_unit_test(test_structured),
            cmocka_unit_test(test_structured_noheaders),
            cmocka_unit_test(test_noheaders_dead_letter_names_its_event),
            cmocka_unit_test(test_binary),
            cmocka_unit_test(test_dead_letter_keeps_bytes),
            cmocka_unit_test(test_dead_letter_follows_the_privacy_policy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
