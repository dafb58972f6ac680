#include "mockkafka.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "pb.h"
#include "testutil.h"

static const char *const topics[][2] = {
    {"t.a", "3"},
    {"t.b", "2"},
    {"t.dlq", "1"},
    {"telnyx.portouts.status-changed", "3"},
    {"telnyx.portouts.foc-date-changed", "3"},
    {"telnyx.portouts.new-comment", "3"},
    {"telnyx.portouts.other", "1"},
    {"t.state", "1"},
    {"t.deadlines", "2"},
    {"telnyx.portouts.deadlines", "1"},
    {"t.commands", "1"},
    {"t.results", "1"},
};

struct poker {
        volatile int done;
        int port;
};

/* librdkafka's mock thread sometimes does not wake for an operation queued
 * while it waits on its sockets, and serves it only at its 1 s poll
 * timeout (measured: one topic creation in ten or so, in a test process
 * with other threads); a connection to one of its brokers wakes it. */
static void *poke_main(void *arg)
{
        struct poker *p = arg;
        while (!p->done) {
                int s = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a;
                memset(&a, 0, sizeof(a));
                a.sin_family = AF_INET;
                a.sin_port = htons((uint16_t)p->port);
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                if (s >= 0) {
                        (void)connect(s, (struct sockaddr *)&a, sizeof(a));
                        close(s);
                }
                pb_sleep_ms(20);
        }
        return NULL;
}

/* Starts poking c's first broker; poke_stop() ends it. */
static int poke_start(tm_cluster_t *c, struct poker *pk, pthread_t *th)
{
        const char *colon = strchr(rd_kafka_mock_cluster_bootstraps(c->mc), ':');
        pk->done = 0;
        pk->port = colon ? atoi(colon + 1) : 0;
        return pk->port > 0 && pthread_create(th, NULL, poke_main, pk) == 0;
}

static void poke_stop(struct poker *pk, pthread_t th, int poking)
{
        pk->done = 1;
        if (poking)
                pthread_join(th, NULL);
}

tm_cluster_t *tm_cluster_new(void)
{
        tm_cluster_t *c = calloc(1, sizeof(*c));
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
        c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        assert_non_null(c->rk);
        c->mc = rd_kafka_mock_cluster_new(c->rk, TM_BROKERS);
        assert_non_null(c->mc);
        struct poker pk;
        pthread_t th;
        int poking = poke_start(c, &pk, &th);
        for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
                rd_kafka_mock_topic_create(c->mc, topics[i][0], atoi(topics[i][1]), 1);
        poke_stop(&pk, th, poking);
        return c;
}

void tm_cluster_free(tm_cluster_t *c)
{
        if (!c)
                return;
        rd_kafka_mock_cluster_destroy(c->mc);
        rd_kafka_destroy(c->rk);
        free(c);
}

pb_config_t *tm_config(tm_cluster_t *c, const char *props, const char *extra)
{
        char text[4096], err[512];
        snprintf(text, sizeof(text),
                 "log = { level = \"error\"; };\n"
                 "kafka = { brokers = \"%s\"; properties = ( \"linger.ms=2\"%s%s ); };\n"
                 "%s%s",
                 rd_kafka_mock_cluster_bootstraps(c->mc), props ? ", " : "", props ? props : "",
                 extra && strstr(extra, "topics = {") ? ""
                                                      : "topics = { dead_letter = \"t.dlq\"; };\n",
                 extra ? extra : "");
        const char *path = tu_write_temp(text);
        pb_config_t *cfg = pb_config_load(path, tu_env_lookup, err, sizeof(err));
        remove(path);
        if (!cfg)
                fail_msg("config: %s", err);
        return cfg;
}

void tm_set_brokers(tm_cluster_t *c, int up)
{
        struct poker pk;
        pthread_t th;
        int poking = up && poke_start(c, &pk, &th); /* a broker down takes no connection */
        for (int b = 1; b <= TM_BROKERS; b++) {
                if (up)
                        rd_kafka_mock_broker_set_up(c->mc, b);
                else
                        rd_kafka_mock_broker_set_down(c->mc, b);
        }
        if (up)
                poke_stop(&pk, th, poking);
}

static rd_kafka_t *consumer(tm_cluster_t *c, const char *group)
{
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(c->mc), err,
                          sizeof(err));
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        assert_non_null(rk);
        return rk;
}

static int partitions_of(const char *topic)
{
        for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
                if (strcmp(topics[i][0], topic) == 0)
                        return atoi(topics[i][1]);
        fail_msg("unknown test topic %s", topic);
        return 0;
}

int64_t tm_topic_count(tm_cluster_t *c, const char *topic)
{
        rd_kafka_t *rk = consumer(c, "pb-test");
        int64_t total = 0;
        for (int p = 0; p < partitions_of(topic); p++) {
                int64_t lo, hi;
                rd_kafka_resp_err_t e =
                    rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
                if (e)
                        fail_msg("watermarks %s/%d: %s", topic, p, rd_kafka_err2str(e));
                total += hi - lo;
        }
        rd_kafka_destroy(rk);
        return total;
}

size_t tm_read(tm_cluster_t *c, const char *topic, const char *header, tm_record_t *out, size_t max)
{
        rd_kafka_t *rk = consumer(c, "pb-test-read");
        int np = partitions_of(topic);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
        for (int p = 0; p < np; p++)
                rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        size_t n = 0;
        int idle = 0;
        int64_t want = tm_topic_count(c, topic);
        while ((int64_t)n < want && idle < 50) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (!m) {
                        idle++;
                        continue;
                }
                idle = 0;
                if (!m->err && n < max) {
                        tm_record_t *r = &out[n++];
                        memset(r, 0, sizeof(*r));
                        snprintf(r->key, sizeof(r->key), "%.*s", (int)m->key_len,
                                 m->key ? (const char *)m->key : "");
                        snprintf(r->value, sizeof(r->value), "%.*s", (int)m->len,
                                 m->payload ? (const char *)m->payload : "");
                        r->partition = m->partition;
                        rd_kafka_headers_t *hdrs;
                        const void *hv;
                        size_t hl;
                        if (header && !rd_kafka_message_headers(m, &hdrs) &&
                            !rd_kafka_header_get_last(hdrs, header, &hv, &hl))
                                snprintf(r->header, sizeof(r->header), "%.*s", (int)hl,
                                         (const char *)hv);
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return n;
}

rd_kafka_t *tm_producer(tm_cluster_t *c)
{
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(c->mc), err,
                          sizeof(err));
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
        rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        assert_non_null(rk);
        return rk;
}

void tm_produce(tm_cluster_t *c, const char *topic, const char *value, int64_t ts, ...)
{
        rd_kafka_t *rk = tm_producer(c);
        rd_kafka_headers_t *h = rd_kafka_headers_new(4);
        va_list ap;
        va_start(ap, ts);
        const char *name;
        while ((name = va_arg(ap, const char *)) != NULL) {
                const char *v = va_arg(ap, const char *);
                rd_kafka_header_add(h, name, -1, v, -1);
        }
        va_end(ap);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)value, strlen(value)),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END);
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(rk);
}
