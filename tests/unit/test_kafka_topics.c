/* Topics on librdkafka's mock cluster: partitions of an existing topic, none
 * of a missing one; a read to the ends from the beginning, from an absolute
 * offset and from the end, every record once; a callback's error, a stop
 * flag and a deadline end the read with why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka_conf.h"
#include "kafka_topics.h"
#include "mockkafka.h"
#include "pb.h"

struct seen {
        int n;
        int fail_at; /* the callback fails at this record (0: never) */
        char values[64][16];
};

static int on_record(void *ctx, const rd_kafka_message_t *m, char *errstr, size_t errsz)
{
        struct seen *s = ctx;
        if (s->n < 64)
                snprintf(s->values[s->n], sizeof(s->values[0]), "%.*s", (int)m->len,
                         (const char *)m->payload);
        if (++s->n == s->fail_at)
                return pb_seterr(errstr, errsz, "callback says no");
        return 0;
}

static rd_kafka_t *reader(pb_config_t *cfg)
{
        char err[PB_ERRSZ], e[256];
        rd_kafka_conf_t *conf = pb_kafka_conf(cfg, 0, err, sizeof(err));
        assert_non_null(conf);
        assert_int_equal(rd_kafka_conf_set(conf, "group.id", "t", e, sizeof(e)), RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "enable.partition.eof", "true", e, sizeof(e)),
                         RD_KAFKA_CONF_OK);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
        assert_non_null(rk);
        rd_kafka_poll_set_consumer(rk);
        return rk;
}

static int has(const struct seen *s, const char *v)
{
        for (int i = 0; i < s->n && i < 64; i++)
                if (!strcmp(s->values[i], v))
                        return 1;
        return 0;
}

static void test_partitions_and_reads(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = tm_config(c, NULL, NULL);
        rd_kafka_t *rk = reader(cfg);
        char err[PB_ERRSZ];
        char v[16];
        for (int i = 0; i < 9; i++) {
                snprintf(v, sizeof(v), "r%d", i);
                tm_produce(c, "t.a", v, 0, NULL);
        }
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
        assert_int_equal(
            pb_kafka_partitions(rk, "t.a", 5000, l, RD_KAFKA_OFFSET_BEGINNING, err, sizeof(err)),
            3);
        assert_int_equal(l->cnt, 3);
        assert_int_equal(pb_kafka_partitions(rk, "no.such.topic", 5000, NULL, 0, err, sizeof(err)),
                         0);

        /* From the beginning: all nine, once each; the total is known first. */
        struct seen s = {0};
        _Atomic int64_t total = 0;
        assert_int_equal(
            pb_kafka_read_to_end(rk, l, 10000, NULL, on_record, &s, &total, err, sizeof(err)), 0);
        assert_int_equal(s.n, 9);
        assert_int_equal(total, 9);
        for (int i = 0; i < 9; i++) {
                snprintf(v, sizeof(v), "r%d", i);
                assert_true(has(&s, v));
        }

        /* From the end: nothing; from an absolute offset: what follows it. */
        memset(&s, 0, sizeof(s));
        for (int i = 0; i < l->cnt; i++)
                l->elems[i].offset = RD_KAFKA_OFFSET_END;
        assert_int_equal(
            pb_kafka_read_to_end(rk, l, 10000, NULL, on_record, &s, NULL, err, sizeof(err)), 0);
        assert_int_equal(s.n, 0);
        int64_t lo, hi, expect = 0;
        for (int i = 0; i < l->cnt; i++) {
                assert_int_equal(rd_kafka_query_watermark_offsets(rk, "t.a", l->elems[i].partition,
                                                                  &lo, &hi, 5000),
                                 0);
                l->elems[i].offset = hi > 0 ? 1 : 0;
                expect += hi > 0 ? hi - 1 : 0;
        }
        assert_int_equal(
            pb_kafka_read_to_end(rk, l, 10000, NULL, on_record, &s, NULL, err, sizeof(err)), 0);
        assert_int_equal(s.n, expect);

        /* The callback's error ends the read with its reason. */
        memset(&s, 0, sizeof(s));
        s.fail_at = 2;
        for (int i = 0; i < l->cnt; i++)
                l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(
            pb_kafka_read_to_end(rk, l, 10000, NULL, on_record, &s, NULL, err, sizeof(err)),
            PB_ERR);
        assert_string_equal(err, "callback says no");
        assert_int_equal(s.n, 2);

        /* A stop flag ends it at once. */
        volatile sig_atomic_t stop = 1;
        memset(&s, 0, sizeof(s));
        assert_int_equal(
            pb_kafka_read_to_end(rk, l, 10000, &stop, on_record, &s, NULL, err, sizeof(err)),
            PB_ERR);
        assert_string_equal(err, "stopped");

        /* pb_kafka_ensure_topic() asks the controller first, which the mock
         * cluster does not answer: it is tested on a real broker
         * (integration.state_topic, integration.scaleout). */

        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(rk);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

/* Brokers down: the ends cannot be known, and the read says so within its
 * deadline instead of waiting for them. */
static void test_brokers_down(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg = tm_config(c, NULL, NULL);
        rd_kafka_t *rk = reader(cfg);
        char err[PB_ERRSZ];
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
        assert_int_equal(
            pb_kafka_partitions(rk, "t.b", 5000, l, RD_KAFKA_OFFSET_BEGINNING, err, sizeof(err)),
            2);
        tm_set_brokers(c, 0);
        assert_int_equal(pb_kafka_partitions(rk, "t.b", 500, NULL, 0, err, sizeof(err)), PB_ERR);
        assert_non_null(strstr(err, "topic t.b"));
        struct seen s = {0};
        int64_t t0 = pb_mono_ms();
        assert_int_equal(
            pb_kafka_read_to_end(rk, l, 1000, NULL, on_record, &s, NULL, err, sizeof(err)), PB_ERR);
        assert_true(pb_mono_ms() - t0 < 10000);
        assert_non_null(strstr(err, "t.b"));
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(rk);
        tm_set_brokers(c, 1);
        pb_config_free(cfg);
        tm_cluster_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_partitions_and_reads),
            cmocka_unit_test(test_brokers_down),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
