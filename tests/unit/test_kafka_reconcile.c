/* Reconcile against librdkafka's mock cluster: what the topics hold, read
 * from Kafka, is what the poller knows. (The mock cannot look offsets up by
 * time, so a reader starts at the ends there; the time lookup runs against a
 * real broker in tests/integration/test_scaleout.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sodium.h>

#include "config.h"
#include "kafka_reconcile.h"
#include "metrics.h"
#include "mockkafka.h"
#include "pb.h"
#include "testutil.h"

#define STATUS "telnyx.portouts.status-changed"
#define FOC    "telnyx.portouts.foc-date-changed"

static pb_reconcile_t *started(tm_cluster_t *c, pb_config_t **cfg, const char *extra)
{
        char err[PB_ERRSZ];
        *cfg = tm_config(c, NULL, extra);
        pb_reconcile_t *r = pb_reconcile_new(*cfg, NULL, err, sizeof(err));
        assert_non_null(r);
        if (pb_reconcile_start(r, pb_now_ms() - 60000, err, sizeof(err)))
                fail_msg("start: %s", err);
        return r;
}

static void catch_up(pb_reconcile_t *r)
{
        char err[PB_ERRSZ];
        if (pb_reconcile_catch_up(r, 10000, err, sizeof(err)))
                fail_msg("catch up: %s", err);
}

/* Ids by the ce_id header in any event topic, and a normalize dead letter
 * by the sha256 of its bytes; nothing else. */
static void test_knows_what_the_topics_hold(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg;
        pb_reconcile_t *r = started(c, &cfg, NULL);
        assert_false(pb_reconcile_known(r, "ev-1"));
        tm_produce(c, STATUS, "{}", 0, "ce_id", "ev-1", NULL);
        tm_produce(c, FOC, "{}", 0, "ce_id", "ev-2", NULL);
        tm_produce(c, "t.dlq", "not json", 0, "pb_stage", "normalize", NULL);
        tm_produce(c, "t.dlq", "{}", 0, "pb_stage", "produce", NULL); /* has no id: ignored */
        /* envelope.kafka_mode = "structured_noheaders": the id is the value's. */
        tm_produce(c, STATUS, "{\"specversion\":\"1.0\",\"id\":\"ev-nohdr\"}", 0, "content-type",
                   "application/cloudevents+json; charset=UTF-8", NULL);
        catch_up(r);
        assert_true(pb_reconcile_known(r, "ev-nohdr"));
        assert_true(pb_reconcile_known(r, "ev-1"));
        assert_true(pb_reconcile_known(r, "ev-2"));
        assert_false(pb_reconcile_known(r, "ev-3"));
        unsigned char d[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(d, (const unsigned char *)"not json", 8);
        char id[100] = "sha256:";
        sodium_bin2hex(id + 7, sizeof(id) - 7, d, sizeof(d));
        assert_true(pb_reconcile_known(r, id));
        assert_int_equal(pb_reconcile_size(r), 4);
        /* Positions carry over: the next catch-up reads only what is new. */
        tm_produce(c, STATUS, "{}", 0, "ce_id", "ev-3", NULL);
        catch_up(r);
        assert_true(pb_reconcile_known(r, "ev-3"));
        assert_int_equal(pb_reconcile_size(r), 5);
        pb_reconcile_free(r);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

/* A topic created after the start (a replica's first event of a type) is
 * read from its beginning at the next catch-up. */
static void test_finds_topics_created_later(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg;
        pb_reconcile_t *r =
            started(c, &cfg, "topics = { other = \"t.late\"; dead_letter = \"t.dlq\"; };\n");
        catch_up(r);
        rd_kafka_mock_topic_create(c->mc, "t.late", 2, 1);
        tm_produce(c, "t.late", "{}", 0, "ce_id", "late-1", NULL);
        tm_produce(c, "t.late", "{}", 0, "ce_id", "late-2", NULL);
        catch_up(r);
        assert_true(pb_reconcile_known(r, "late-1"));
        assert_true(pb_reconcile_known(r, "late-2"));
        pb_reconcile_free(r);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

/* Kafka down: the catch-up fails within its timeout (the poll then does
 * not publish on a partial view); back up, it succeeds. */
static void test_broker_down_fails_in_time(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg;
        pb_reconcile_t *r = started(c, &cfg, NULL);
        tm_produce(c, STATUS, "{}", 0, "ce_id", "before", NULL);
        tm_set_brokers(c, 0);
        char err[PB_ERRSZ] = "";
        int64_t t0 = pb_mono_ms();
        assert_int_equal(pb_reconcile_catch_up(r, 2000, err, sizeof(err)), -1);
        assert_true(pb_mono_ms() - t0 < 2000 + 11000); /* the timeout, or one request's */
        assert_string_not_equal(err, "");
        tm_set_brokers(c, 1);
        catch_up(r);
        assert_true(pb_reconcile_known(r, "before"));
        pb_reconcile_free(r);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

/* Ids are forgotten by age (prune) and by count (reconcile_max_ids), the
 * first read first, and the evictions are counted. */
static void test_bounded(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg;
        pb_metrics_t *m = pb_metrics_new();
        char err[PB_ERRSZ];
        cfg = tm_config(c, NULL, "telnyx = { reconcile_max_ids = 1000; };\n");
        pb_reconcile_t *r = pb_reconcile_new(cfg, m, err, sizeof(err));
        assert_non_null(r);
        assert_int_equal(pb_reconcile_start(r, pb_now_ms() - 60000, err, sizeof(err)), 0);
        int64_t now = pb_now_ms();
        tm_produce(c, STATUS, "{}", now - 3600 * 1000, "ce_id", "old", NULL);
        catch_up(r); /* read first, so the first to go */
        rd_kafka_t *rk = tm_producer(c);
        for (int i = 0; i < 1010; i++) {
                char id[32];
                snprintf(id, sizeof(id), "n-%d", i);
                rd_kafka_headers_t *h = rd_kafka_headers_new(1);
                rd_kafka_header_add(h, "ce_id", -1, id, -1);
                assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(STATUS),
                                                   RD_KAFKA_V_VALUE("{}", 2), RD_KAFKA_V_HEADERS(h),
                                                   RD_KAFKA_V_TIMESTAMP(now + i), RD_KAFKA_V_END),
                                 RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        assert_int_equal(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(rk);
        catch_up(r);
        assert_int_equal(pb_reconcile_size(r), 1000);
        assert_false(pb_reconcile_known(r, "old")); /* the oldest went first */
        assert_true(pb_reconcile_known(r, "n-1009"));
        char *text = pb_metrics_render(m, NULL);
        assert_non_null(strstr(text, "portout_bridge_reconcile_evicted_total 11"));
        assert_non_null(strstr(text, "portout_bridge_reconcile_ids 1000"));
        free(text);
        pb_reconcile_prune(r, now + 1010);
        assert_int_equal(pb_reconcile_size(r), 0);
        pb_reconcile_free(r);
        pb_config_free(cfg);
        pb_metrics_free(m);
        tm_cluster_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_knows_what_the_topics_hold),
            cmocka_unit_test(test_finds_topics_created_later),
            cmocka_unit_test(test_broker_down_fails_in_time),
            cmocka_unit_test(test_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
