/* Producer tests against librdkafka's mock cluster (rdkafka_mock.h): real
 * brokers speaking the Kafka protocol on loopback, with faults injected. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "kafka_producer.h"
#include "log.h"
#include "mockkafka.h"
#include "pb.h"
#include "publish.h"
#include "testutil.h"

#define MAX_RECS 4000
/* Kafka protocol ApiKey of ProduceRequest (API_PRODUCE is in a private
 * librdkafka header). */
#define API_PRODUCE 0

/* A mock cluster plus a producer on it, and a record of every fate. */
struct fixture {
        tm_cluster_t *c;
        pb_config_t *cfg;
        pb_producer_t *p;
        pthread_mutex_t lock;
        int calls[MAX_RECS]; /* callbacks per record: must end at exactly 1 */
        pb_fate_t fate[MAX_RECS];
        int err[MAX_RECS];
        int maybe[MAX_RECS];
        int64_t at_ms[MAX_RECS]; /* monotonic time of the fate */
        char topic[MAX_RECS][64];
};

struct tag {
        struct fixture *f;
        int idx;
};
static struct tag tags[MAX_RECS];

static void on_done(void *opaque, const pb_delivery_t *d)
{
        struct tag *t = opaque;
        struct fixture *f = t->f;
        pthread_mutex_lock(&f->lock);
        f->calls[t->idx]++;
        f->fate[t->idx] = d->fate;
        f->err[t->idx] = d->err;
        f->maybe[t->idx] = d->maybe_persisted;
        f->at_ms[t->idx] = pb_mono_ms();
        snprintf(f->topic[t->idx], sizeof(f->topic[0]), "%s", d->topic ? d->topic : "");
        pthread_mutex_unlock(&f->lock);
}

/* Starts a mock cluster and a producer on it with extra kafka.properties. */
static struct fixture *fx_new_extra(const char *props, const char *extra)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char err[512];
        pthread_mutex_init(&f->lock, NULL);
        f->c = tm_cluster_new();
        f->cfg = tm_config(f->c, props, extra);
        pb_producer_opts_t o = {0, pb_publish_redirect, f->cfg};
        f->p = pb_producer_new_opts(f->cfg, &o, NULL, err, sizeof(err));
        if (!f->p)
                fail_msg("producer: %s", err);
        return f;
}

/* Sends idx until one copy is delivered: a short deadline fails records
 * while the client (re)connects. */
static int send_until_delivered(struct fixture *f, int idx, const char *topic);

/* A producer whose records have a deadline (pb_producer_opts_t), as `run`
 * gives them with webhooks on. */
static struct fixture *fx_new_deadline(int record_timeout_ms)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char err[512];
        pthread_mutex_init(&f->lock, NULL);
        f->c = tm_cluster_new();
        f->cfg = tm_config(f->c, "\"message.timeout.ms=60000\"", NULL);
        pb_producer_opts_t o = {record_timeout_ms, pb_publish_redirect, NULL};
        o.redirect_ctx = f->cfg;
        f->p = pb_producer_new_opts(f->cfg, &o, NULL, err, sizeof(err));
        if (!f->p)
                fail_msg("producer: %s", err);
        return f;
}

static struct fixture *fx_new(const char *props)
{
        return fx_new_extra(props, NULL);
}

static void fx_free(struct fixture *f)
{
        pb_producer_free(f->p);
        pb_config_free(f->cfg);
        tm_cluster_free(f->c);
        pthread_mutex_destroy(&f->lock);
        free(f);
}

static int send_rec(struct fixture *f, int idx, const char *topic, const char *value,
                    const char *raw, int timeout_ms)
{
        char key[32];
        snprintf(key, sizeof(key), "portout-%d", idx % 17);
        pb_header_t h[] = {{"content-type", "application/cloudevents+json; charset=UTF-8"},
                           {"ce_id", key}};
        pb_record_t rec = {topic,
                           key,
                           strlen(key),
                           value,
                           strlen(value),
                           h,
                           2,
                           raw,
                           raw ? strlen(raw) : 0,
                           {"file", "2026-03-01T00:00:00Z", "test:1"},
                           NULL};
        tags[idx].f = f;
        tags[idx].idx = idx;
        char err[512];
        int rc = pb_producer_send(f->p, &rec, on_done, &tags[idx], timeout_ms, err, sizeof(err));
        if (rc && timeout_ms < 0)
                print_message("send %d refused (%d): %s\n", idx, rc, err);
        return rc;
}

static int send_until_delivered(struct fixture *f, int idx, const char *topic)
{
        for (int tries = 0; tries < 40; tries++) {
                pthread_mutex_lock(&f->lock);
                f->calls[idx] = 0;
                pthread_mutex_unlock(&f->lock);
                send_rec(f, idx, topic, "warm", NULL, -1);
                pb_producer_flush(f->p, 10000);
                pthread_mutex_lock(&f->lock);
                int ok = f->fate[idx] == PB_FATE_DELIVERED;
                pthread_mutex_unlock(&f->lock);
                if (ok)
                        return tries + 1;
                pb_sleep_ms(250);
        }
        fail_msg("record %d never delivered", idx);
        return -1;
}

static int64_t topic_count(struct fixture *f, const char *topic, int partitions)
{
        (void)partitions;
        return tm_topic_count(f->c, topic);
}

static void set_all_brokers(struct fixture *f, int up)
{
        tm_set_brokers(f->c, up);
}

static void assert_exactly_once(struct fixture *f, int from, int to, pb_fate_t want)
{
        pthread_mutex_lock(&f->lock);
        for (int i = from; i < to; i++) {
                if (f->calls[i] != 1)
                        fail_msg("record %d: %d callbacks", i, f->calls[i]);
                if (f->fate[i] != want)
                        fail_msg("record %d: fate %d, want %d (err %s)", i, f->fate[i], want,
                                 rd_kafka_err2name(f->err[i]));
        }
        pthread_mutex_unlock(&f->lock);
}

static void test_every_record_gets_one_report(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL);
        for (int i = 0; i < 3000; i++)
                assert_int_equal(send_rec(f, i, i % 3 ? "t.a" : "t.b", "{\"v\":1}", NULL, -1), 0);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        assert_exactly_once(f, 0, 3000, PB_FATE_DELIVERED);
        assert_int_equal(topic_count(f, "t.a", 3), 2000);
        assert_int_equal(topic_count(f, "t.b", 2), 1000);
        pb_producer_stats_t st;
        pb_producer_stats(f->p, &st);
        assert_int_equal(st.delivered, 3000);
        assert_int_equal(st.pending, 0);
        fx_free(f);
}

static void test_broker_outage_loses_nothing(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL);
        for (int i = 0; i < 100; i++)
                send_rec(f, i, "t.a", "before", NULL, -1);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        set_all_brokers(f, 0);
        for (int i = 100; i < 600; i++)
                assert_int_equal(send_rec(f, i, "t.a", "during", NULL, -1), 0);
        pb_sleep_ms(3000);
        assert_true(pb_producer_flush(f->p, 0) > 0); /* nothing can be acked while down */
        set_all_brokers(f, 1);
        assert_int_equal(pb_producer_flush(f->p, 60000), 0);
        assert_exactly_once(f, 0, 600, PB_FATE_DELIVERED);
        assert_int_equal(topic_count(f, "t.a", 3), 600); /* idempotence: no duplicates */
        fx_free(f);
}

static void test_permanent_error_dead_letters_exactly_the_affected(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL);
        for (int i = 0; i < 10; i++)
                send_rec(f, i, "t.b", "ok", NULL, -1);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        /* The next Produce request is refused as too large. */
        rd_kafka_mock_push_request_errors(f->c->mc, API_PRODUCE, 1,
                                          RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
        send_rec(f, 10, "t.b", "{\"envelope\":true}", "{\"original\":\"bytes\"}", -1);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        for (int i = 11; i < 21; i++)
                send_rec(f, i, "t.b", "ok", NULL, -1);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);

        assert_exactly_once(f, 0, 10, PB_FATE_DELIVERED);
        assert_exactly_once(f, 10, 11, PB_FATE_DEAD_LETTERED);
        assert_exactly_once(f, 11, 21, PB_FATE_DELIVERED);
        assert_string_equal(f->topic[10], "t.dlq");
        assert_int_equal(f->err[10], RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
        assert_int_equal(topic_count(f, "t.dlq", 1), 1);
        assert_int_equal(topic_count(f, "t.b", 2), 20);
        static tm_record_t recs[4];
        assert_int_equal(tm_read(f->c, "t.dlq", "pb_error_code", recs, 4), 1);
        assert_string_equal(recs[0].value, "{\"original\":\"bytes\"}"); /* the original bytes */
        assert_string_equal(recs[0].header, "MSG_SIZE_TOO_LARGE");
        fx_free(f);
}

/* Under a privacy policy a produce dead letter's value is the input with
 * the policy applied, said so in pb_redacted. */
static void test_dead_letter_follows_the_privacy_policy(void **state)
{
        (void)state;
        char keyfile[] = "/tmp/pb-test-key-XXXXXX";
        int fd = mkstemp(keyfile);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
        close(fd);
        char extra[256];
        snprintf(extra, sizeof(extra),
                 "privacy = { hash = \"payload.attempted_pin\"; hash_key_file = \"%s\"; };\n",
                 keyfile);
        struct fixture *f = fx_new_extra(NULL, extra);
        unlink(keyfile);
        rd_kafka_mock_push_request_errors(f->c->mc, API_PRODUCE, 1,
                                          RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
        send_rec(f, 0, "t.b", "{\"envelope\":true}",
                 "{\"data\":{\"id\":\"e\",\"payload\":{\"attempted_pin\":\"1234\"}}}", -1);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        assert_exactly_once(f, 0, 1, PB_FATE_DEAD_LETTERED);
        static tm_record_t recs[4];
        assert_int_equal(tm_read(f->c, "t.dlq", "pb_redacted", recs, 4), 1);
        assert_string_equal(recs[0].header, "privacy");
        assert_null(strstr(recs[0].value, "1234"));
        assert_non_null(strstr(recs[0].value, "\"attempted_pin\":\"hmac-sha256:"));
        fx_free(f);
}

static void test_locally_too_large_is_dead_lettered(void **state)
{
        (void)state;
        struct fixture *f =
            fx_new_extra("\"message.max.bytes=20000\"", "input = { max_event_bytes = 2048; };\n");
        static char big[30000], bigraw[30000];
        memset(big, 'x', sizeof(big) - 1);
        memset(bigraw, 'r', sizeof(bigraw) - 1);
        assert_int_equal(send_rec(f, 0, "t.a", big, "{\"small\":\"raw\"}", -1), 0);
        assert_int_equal(send_rec(f, 1, "t.a", "fits", NULL, -1), 0);
        /* Its dead letter (the raw input) too large as well: a prefix goes,
         * with the whole one's hash and size. */
        assert_int_equal(send_rec(f, 2, "t.a", big, bigraw, -1), 0);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        assert_exactly_once(f, 0, 1, PB_FATE_DEAD_LETTERED);
        assert_exactly_once(f, 1, 2, PB_FATE_DELIVERED);
        assert_exactly_once(f, 2, 3, PB_FATE_DEAD_LETTERED);
        assert_int_equal(topic_count(f, "t.dlq", 1), 2);
        static tm_record_t recs[4];
        size_t n = tm_read(f->c, "t.dlq", "pb_original_bytes", recs, 4);
        assert_int_equal(n, 2);
        int cut = 0;
        for (size_t i = 0; i < n; i++)
                if (strcmp(recs[i].header, "29999") == 0)
                        cut++;
        assert_int_equal(cut, 1);
        fx_free(f);
}

/* The limits must agree: an event the bridge accepts must fit in a record. */
static void test_max_event_bytes_must_fit(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        pb_config_t *cfg =
            tm_config(c, "\"message.max.bytes=100000\"", "input = { max_event_bytes = 90000; };\n");
        char err[512];
        pb_producer_opts_t o = {0, pb_publish_redirect, cfg};
        pb_producer_t *p = pb_producer_new_opts(cfg, &o, NULL, err, sizeof(err));
        assert_null(p);
        assert_non_null(strstr(err, "do not fit kafka message.max.bytes (100000)"));
        pb_config_free(cfg);
        tm_cluster_free(c);
}

static void test_timeout_is_failed_not_dropped(void **state)
{
        (void)state;
        struct fixture *f = fx_new("\"message.timeout.ms=1500\"");
        set_all_brokers(f, 0);
        for (int i = 0; i < 5; i++)
                send_rec(f, i, "t.a", "x", NULL, -1);
        assert_int_equal(pb_producer_flush(f->p, 20000), 0);
        assert_exactly_once(f, 0, 5, PB_FATE_FAILED);
        for (int i = 0; i < 5; i++)
                assert_int_equal(f->err[i], RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
        set_all_brokers(f, 1);
        fx_free(f);
}

static void test_full_queue_is_backpressure(void **state)
{
        (void)state;
        struct fixture *f = fx_new("\"queue.buffering.max.messages=20\"");
        set_all_brokers(f, 0);
        int accepted = 0;
        for (int i = 0; i < 40; i++)
                if (send_rec(f, i, "t.a", "x", NULL, 100) == 0)
                        accepted++;
        /* The queue holds 20; the rest waited 100 ms each and were refused,
         * so their sender knows (no callback, nothing silently dropped). */
        assert_int_equal(accepted, 20);
        set_all_brokers(f, 1);
        /* With no timeout, send waits for room instead of failing. */
        for (int i = 40; i < 140; i++)
                assert_int_equal(send_rec(f, i, "t.a", "y", NULL, -1), 0);
        assert_int_equal(pb_producer_flush(f->p, 60000), 0);
        assert_exactly_once(f, 0, 20, PB_FATE_DELIVERED);
        assert_exactly_once(f, 40, 140, PB_FATE_DELIVERED);
        assert_int_equal(topic_count(f, "t.a", 3), 120);
        fx_free(f);
}

static void test_shutdown_reports_undelivered(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL);
        set_all_brokers(f, 0);
        for (int i = 0; i < 7; i++)
                send_rec(f, i, "t.a", "x", NULL, -1);
        pb_producer_free(f->p); /* no flush: every record still gets its fate */
        f->p = NULL;
        assert_exactly_once(f, 0, 7, PB_FATE_FAILED);
        set_all_brokers(f, 1);
        pb_producer_opts_t o = {0, pb_publish_redirect, f->cfg};
        f->p = pb_producer_new_opts(f->cfg, &o, NULL, NULL, 0);
        fx_free(f);
}

static void test_fatal_error_rebuilds_and_resends(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL);
        for (int i = 0; i < 20; i++)
                send_rec(f, i, "t.a", "acked-before", NULL, -1);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        set_all_brokers(f, 0);
        for (int i = 20; i < 70; i++)
                send_rec(f, i, "t.a", "pending-at-fatal", NULL, -1);
        pb_sleep_ms(500);
        assert_int_equal(pb_producer_inject_fatal(f->p, "test: sequence desynchronized"), 0);
        pb_sleep_ms(1000);
        set_all_brokers(f, 1);
        assert_int_equal(pb_producer_flush(f->p, 60000), 0);
        pb_producer_stats_t st;
        pb_producer_stats(f->p, &st);
        assert_int_equal(st.rebuilds, 1);
        assert_exactly_once(f, 0, 70, PB_FATE_DELIVERED);
        /* The 50 pending ones were re-sent by the new handle; while the
         * brokers were down none had left, so there are no duplicates. */
        assert_int_equal(topic_count(f, "t.a", 3), 70);
        /* And the rebuilt producer keeps working. */
        for (int i = 70; i < 80; i++)
                send_rec(f, i, "t.b", "after", NULL, -1);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        assert_exactly_once(f, 70, 80, PB_FATE_DELIVERED);
        fx_free(f);
}

/* Eight threads send while the handle is rebuilt twice (fatal errors): every
 * record gets exactly one callback, and each key's records reach Kafka in the
 * order they were sent (re-sends after a rebuild may repeat a record, never
 * overtake an older one). */
#define RB_THREADS 8
#define RB_PER     400
struct rb_arg {
        struct fixture *f;
        int t;
};

static void *rb_sender(void *arg)
{
        struct rb_arg *a = arg;
        for (int i = 0; i < RB_PER; i++) {
                int idx = a->t * RB_PER + i;
                char key[32], value[64];
                snprintf(key, sizeof(key), "key-%d", a->t);
                snprintf(value, sizeof(value), "%d", i);
                pb_header_t h[] = {{"ce_id", value}};
                pb_record_t rec = {"t.a", key, strlen(key),        value, strlen(value), h, 1,
                                   NULL,  0,   {NULL, NULL, NULL}, NULL};
                tags[idx].f = a->f;
                tags[idx].idx = idx;
                char err[512];
                if (pb_producer_send(a->f->p, &rec, on_done, &tags[idx], -1, err, sizeof(err)))
                        fail_msg("send %d: %s", idx, err);
                if (i % 50 == 0)
                        pb_sleep_ms(5);
        }
        return NULL;
}

/* Reads every record of t.a and checks, per key, that the first time each
 * value shows up the values are increasing. Returns the records read. */
static int check_key_order(struct fixture *f)
{
        static tm_record_t recs[2 * RB_THREADS * RB_PER];
        size_t n = tm_read(f->c, "t.a", NULL, recs, sizeof(recs) / sizeof(recs[0]));
        static int seen[RB_THREADS][RB_PER];
        int next_new[RB_THREADS];
        memset(seen, 0, sizeof(seen));
        memset(next_new, 0, sizeof(next_new));
        /* tm_read returns each partition's records in offset order, and a key
         * lives in one partition. */
        for (size_t i = 0; i < n; i++) {
                int t = -1, v = atoi(recs[i].value);
                sscanf(recs[i].key, "key-%d", &t);
                assert_true(t >= 0 && t < RB_THREADS && v >= 0 && v < RB_PER);
                if (seen[t][v])
                        continue;
                if (v != next_new[t])
                        fail_msg("key-%d: value %d arrived before %d", t, v, next_new[t]);
                seen[t][v] = 1;
                next_new[t]++;
        }
        for (int t = 0; t < RB_THREADS; t++)
                assert_int_equal(next_new[t], RB_PER);
        return (int)n;
}

static void test_rebuild_while_threads_send(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL);
        pthread_t th[RB_THREADS];
        struct rb_arg args[RB_THREADS];
        for (int t = 0; t < RB_THREADS; t++) {
                args[t].f = f;
                args[t].t = t;
                pthread_create(&th[t], NULL, rb_sender, &args[t]);
        }
        pb_sleep_ms(30);
        assert_int_equal(pb_producer_inject_fatal(f->p, "test: first fatal"), 0);
        pb_sleep_ms(150);
        assert_int_equal(pb_producer_inject_fatal(f->p, "test: second fatal"), 0);
        for (int t = 0; t < RB_THREADS; t++)
                pthread_join(th[t], NULL);
        assert_int_equal(pb_producer_flush(f->p, 60000), 0);
        pb_producer_stats_t st;
        pb_producer_stats(f->p, &st);
        assert_true(st.rebuilds >= 1);
        assert_exactly_once(f, 0, RB_THREADS * RB_PER, PB_FATE_DELIVERED);
        int n = check_key_order(f);
        assert_true(n >= RB_THREADS * RB_PER);
        fx_free(f);
}

/* An HTTP thread must never wait on Kafka: with timeout 0 a full producer
 * refuses at once (PB_SEND_BUSY), and nothing was enqueued. */
static void test_full_queue_never_blocks_a_nowait_sender(void **state)
{
        (void)state;
        struct fixture *f = fx_new("\"queue.buffering.max.messages=10\"");
        set_all_brokers(f, 0);
        for (int i = 0; i < 10; i++)
                assert_int_equal(send_rec(f, i, "t.a", "x", NULL, 0), PB_SEND_OK);
        int64_t t0 = pb_mono_ms();
        for (int i = 10; i < 30; i++)
                assert_int_equal(send_rec(f, i, "t.a", "x", NULL, 0), PB_SEND_BUSY);
        assert_true(pb_mono_ms() - t0 < 200 * tu_slack()); /* 20 refusals, no waiting */
        pb_producer_stats_t st;
        pb_producer_stats(f->p, &st);
        assert_int_equal(st.pending, 10);
        assert_int_equal(st.max_pending, 10);
        set_all_brokers(f, 1);
        assert_int_equal(pb_producer_flush(f->p, 30000), 0);
        assert_exactly_once(f, 0, 10, PB_FATE_DELIVERED);
        pthread_mutex_lock(&f->lock);
        for (int i = 10; i < 30; i++)
                assert_int_equal(f->calls[i], 0); /* refused: no callback */
        pthread_mutex_unlock(&f->lock);
        fx_free(f);
}

/* A send during a rebuild is queued behind the re-sends, not blocked on the
 * rebuild, and gets its fate once the new handle delivers it. */
static void test_send_during_rebuild_does_not_block(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL);
        set_all_brokers(f, 0);
        for (int i = 0; i < 50; i++)
                assert_int_equal(send_rec(f, i, "t.a", "before", NULL, 0), PB_SEND_OK);
        assert_int_equal(pb_producer_inject_fatal(f->p, "test: rebuild"), 0);
        /* The rebuild waits up to 5 s for the purged records while the
         * brokers are down; sends meanwhile return at once. */
        int64_t t0 = pb_mono_ms();
        for (int i = 50; i < 100; i++)
                assert_int_equal(send_rec(f, i, "t.a", "during", NULL, 0), PB_SEND_OK);
        assert_true(pb_mono_ms() - t0 < 500 * tu_slack());
        set_all_brokers(f, 1);
        assert_int_equal(pb_producer_flush(f->p, 60000), 0);
        assert_exactly_once(f, 0, 100, PB_FATE_DELIVERED);
        assert_int_equal(topic_count(f, "t.a", 3), 100);
        fx_free(f);
}

/* close() gives every record its fate, queued or in librdkafka, exactly once,
 * and later sends are refused (PB_SEND_CLOSED, no callback). */
static void test_close_settles_everything_once(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL);
        set_all_brokers(f, 0);
        for (int i = 0; i < 30; i++)
                send_rec(f, i, "t.a", "x", NULL, -1);
        pb_producer_inject_fatal(f->p, "test: records now sit in the requeue list");
        pb_sleep_ms(100);
        assert_int_equal(pb_producer_close(f->p), 30);
        assert_exactly_once(f, 0, 30, PB_FATE_FAILED);
        assert_int_equal(send_rec(f, 30, "t.a", "x", NULL, -1), PB_SEND_CLOSED);
        assert_int_equal(f->calls[30], 0);
        assert_int_equal(pb_producer_close(f->p), 0); /* idempotent */
        set_all_brokers(f, 1);
        fx_free(f);
}

/* The answer is the truth: a record that never left (brokers down) is
 * withdrawn at its deadline, reported "not persisted", and never lands when
 * the brokers come back, although kafka.properties says 60 s. */
static void test_record_deadline_withdraws_unsent(void **state)
{
        (void)state;
        struct fixture *f = fx_new_deadline(400);
        set_all_brokers(f, 0);
        int64_t t0 = pb_mono_ms();
        for (int i = 0; i < 5; i++)
                send_rec(f, i, "t.a", "x", NULL, -1);
        assert_int_equal(pb_producer_flush(f->p, 20000), 0);
        assert_exactly_once(f, 0, 5, PB_FATE_FAILED);
        int64_t slowest = 0;
        for (int i = 0; i < 5; i++) {
                assert_int_equal(f->err[i], RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
                assert_int_equal(f->maybe[i], 0);
                if (f->at_ms[i] - t0 > slowest)
                        slowest = f->at_ms[i] - t0;
        }
        /* A measure, not a check: librdkafka scans timeouts once a second. */
        print_message("deadline 400 ms: fates after %lld ms at most\n", (long long)slowest);
        set_all_brokers(f, 1);
        send_until_delivered(f, 5, "t.a");
        pb_sleep_ms(1000);
        assert_int_equal(topic_count(f, "t.a", 3), 1); /* none of the five */
        fx_free(f);
}

/* Sent, but the answer is slower than the deadline: the fate says "maybe",
 * and indeed the broker keeps it (the case the retry's dedupe must catch). */
static void test_record_deadline_in_flight_is_maybe(void **state)
{
        (void)state;
        /* A deadline long enough that the record surely leaves first (a
         * loaded machine: the image build runs its unit tests beside both
         * integration lanes), an answer slower than it. */
        struct fixture *f = fx_new_deadline(1500);
        send_until_delivered(f, 0, "t.b");
        for (int b = 1; b <= TM_BROKERS; b++)
                rd_kafka_mock_broker_set_rtt(f->c->mc, b, 4000);
        send_rec(f, 3, "t.b", "slow", NULL, -1);
        assert_int_equal(pb_producer_flush(f->p, 20000), 0);
        assert_exactly_once(f, 3, 4, PB_FATE_FAILED);
        assert_int_equal(f->maybe[3], 1);
        for (int b = 1; b <= TM_BROKERS; b++)
                rd_kafka_mock_broker_set_rtt(f->c->mc, b, 0);
        pb_sleep_ms(1000);
        assert_int_equal(topic_count(f, "t.b", 2), 2); /* it did land */
        fx_free(f);
}

/* A rebuild (fatal error) does not re-send records with a deadline: they
 * fail (not persisted: the brokers were down), and none lands later. */
static void test_record_deadline_rebuild_fails_pending(void **state)
{
        (void)state;
        struct fixture *f = fx_new_deadline(5000);
        set_all_brokers(f, 0);
        for (int i = 0; i < 10; i++)
                send_rec(f, i, "t.a", "pending-at-fatal", NULL, -1);
        pb_sleep_ms(300);
        assert_int_equal(pb_producer_inject_fatal(f->p, "test: sequence desynchronized"), 0);
        assert_int_equal(pb_producer_flush(f->p, 20000), 0);
        assert_exactly_once(f, 0, 10, PB_FATE_FAILED);
        for (int i = 0; i < 10; i++)
                assert_int_equal(f->maybe[i], 0);
        set_all_brokers(f, 1);
        send_until_delivered(f, 10, "t.a");
        pb_sleep_ms(1000);
        assert_int_equal(topic_count(f, "t.a", 3), 1);
        fx_free(f);
}

int main(void)
{
        pb_log_set_level(PB_LOG_ERROR);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_every_record_gets_one_report),
            cmocka_unit_test(test_broker_outage_loses_nothing),
            cmocka_unit_test(test_permanent_error_dead_letters_exactly_the_affected),
            cmocka_unit_test(test_locally_too_large_is_dead_lettered),
            cmocka_unit_test(test_dead_letter_follows_the_privacy_policy),
            cmocka_unit_test(test_max_event_bytes_must_fit),
            cmocka_unit_test(test_timeout_is_failed_not_dropped),
            cmocka_unit_test(test_full_queue_is_backpressure),
            cmocka_unit_test(test_shutdown_reports_undelivered),
            cmocka_unit_test(test_fatal_error_rebuilds_and_resends),
            cmocka_unit_test(test_rebuild_while_threads_send),
            cmocka_unit_test(test_full_queue_never_blocks_a_nowait_sender),
            cmocka_unit_test(test_send_during_rebuild_does_not_block),
            cmocka_unit_test(test_close_settles_everything_once),
            cmocka_unit_test(test_record_deadline_withdraws_unsent),
            cmocka_unit_test(test_record_deadline_in_flight_is_maybe),
            cmocka_unit_test(test_record_deadline_rebuild_fails_pending),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
