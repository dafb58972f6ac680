/* The pipeline against librdkafka's mock cluster: one report per item and
 * one per document, the shared delivered window (webhook and REST), copies
 * in flight following the first, rejections known by their bytes, the
 * shutdown order, and never blocking a caller that must not wait. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "mockkafka.h"
#include "pb.h"
#include "pipeline.h"
#include "testutil.h"

#define MAX_ITEMS 64

/* What the callbacks of one document reported. */
struct doc_log {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int items, done, item_after_done;
        pb_outcome_t outcome[MAX_ITEMS];
        char id[MAX_ITEMS][80];
        char topic[MAX_ITEMS][64];
        int64_t created[MAX_ITEMS];
        pb_doc_result_t res;
};

static void on_item(void *opaque, const pb_item_result_t *r)
{
        struct doc_log *l = opaque;
        pthread_mutex_lock(&l->lock);
        if (l->done)
                l->item_after_done = 1;
        if (l->items < MAX_ITEMS) {
                l->outcome[l->items] = r->outcome;
                snprintf(l->id[l->items], sizeof(l->id[0]), "%s", r->id);
                snprintf(l->topic[l->items], sizeof(l->topic[0]), "%s", r->topic ? r->topic : "");
                l->created[l->items] = r->created_us;
        }
        l->items++;
        pthread_mutex_unlock(&l->lock);
}

static void on_done(void *opaque, pb_doc_result_t *r)
{
        struct doc_log *l = opaque;
        pthread_mutex_lock(&l->lock);
        l->done++;
        l->res = *r;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);
}

static void log_init(struct doc_log *l)
{
        memset(l, 0, sizeof(*l));
        pthread_mutex_init(&l->lock, NULL);
        pb_cond_init(&l->cond);
}

static void wait_done(struct doc_log *l, int ms)
{
        int64_t until = pb_mono_ms() + ms;
        pthread_mutex_lock(&l->lock);
        while (!l->done && pb_mono_ms() < until)
                pb_cond_timedwait_ms(&l->cond, &l->lock, 50);
        pthread_mutex_unlock(&l->lock);
        assert_int_equal(l->done, 1);
        assert_false(l->item_after_done);
}

static void submit(pb_pipeline_t *pl, const char *doc, pb_ingest_path_t path, int wait_ms,
                   struct doc_log *l)
{
        pb_submission_t s;
        memset(&s, 0, sizeof(s));
        s.buf = doc;
        s.len = strlen(doc);
        s.path = path;
        s.received_us = INT64_C(1772668800000000);
        s.wait_ms = wait_ms;
        s.on_item = on_item;
        s.on_done = on_done;
        s.opaque = l;
        pb_pipeline_submit(pl, &s);
}

struct fixture {
        tm_cluster_t *c;
        pb_config_t *cfg;
        pb_pipeline_t *pl;
};

static struct fixture *fx_new(const char *props, size_t dedupe, FILE *dry)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char err[512];
        f->c = tm_cluster_new();
        f->cfg = tm_config(f->c, props, NULL);
        pb_pipeline_opts_t o = {dedupe, 60000, dry, 0, 0, NULL};
        f->pl = pb_pipeline_new(f->cfg, NULL, &o, NULL, err, sizeof(err));
        if (!f->pl)
                fail_msg("pipeline: %s", err);
        return f;
}

static void fx_free(struct fixture *f)
{
        pb_pipeline_free(f->pl);
        pb_config_free(f->cfg);
        tm_cluster_free(f->c);
        free(f);
}

static char *webhook_doc(const char *id)
{
        static char buf[512];
        snprintf(buf, sizeof(buf),
                 "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"%s\","
                 "\"occurred_at\":\"2026-03-05T12:30:45Z\",\"payload\":{\"id\":\"po-1\","
                 "\"status\":\"ported\"},\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}",
                 id);
        return buf;
}

static const char *const status_topic = "telnyx.portouts.status-changed";

static void test_delivers_then_answers_duplicate(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 1000, NULL);
        struct doc_log a, b;
        log_init(&a);
        log_init(&b);
        submit(f->pl, webhook_doc("ev-1"), PB_INGEST_WEBHOOK, 0, &a);
        wait_done(&a, 10000);
        assert_int_equal(a.items, 1);
        assert_int_equal(a.outcome[0], PB_OUTCOME_DELIVERED);
        assert_string_equal(a.topic[0], status_topic);
        assert_int_equal(a.res.delivered, 1);
        assert_string_equal(a.res.first_id, "ev-1");
        /* A Telnyx re-send: answered without publishing, synchronously. */
        submit(f->pl, webhook_doc("ev-1"), PB_INGEST_WEBHOOK, 0, &b);
        assert_int_equal(b.done, 1);
        assert_int_equal(b.outcome[0], PB_OUTCOME_DUPLICATE);
        assert_int_equal(b.res.duplicates, 1);
        assert_int_equal(tm_topic_count(f->c, status_topic), 1);
        pb_pipeline_stats_t st;
        pb_pipeline_stats(f->pl, &st);
        assert_int_equal(st.documents, 2);
        assert_int_equal(st.delivered, 1);
        assert_int_equal(st.duplicates, 1);
        assert_int_equal(st.in_flight, 0);
        assert_int_equal(pb_pipeline_dedupe_size(f->pl), 1);
        fx_free(f);
}

/* Webhook and poll ids are one window: an event delivered by webhook and
 * then found by a poll (same id) is published once. */
static void test_webhook_then_rest_same_id_is_published_once(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 1000, NULL);
        struct doc_log a, b;
        log_init(&a);
        log_init(&b);
        submit(f->pl, webhook_doc("shared-1"), PB_INGEST_WEBHOOK, 0, &a);
        wait_done(&a, 10000);
        submit(f->pl,
               "{\"id\":\"shared-1\",\"event_type\":\"portout.status_changed\","
               "\"portout_id\":\"po-1\",\"payload\":{\"id\":\"po-1\"},"
               "\"record_type\":\"portout_event\",\"created_at\":\"2026-03-05T12:30:45.5Z\"}",
               PB_INGEST_REST, -1, &b);
        wait_done(&b, 10000);
        assert_int_equal(b.outcome[0], PB_OUTCOME_DUPLICATE);
        assert_int_equal(b.created[0], INT64_C(1772713845500000)); /* Telnyx's created_at */
        assert_int_equal(tm_topic_count(f->c, status_topic), 1);
        fx_free(f);
}

/* A copy that arrives while the first is on its way follows it: one record,
 * the second copy's answer is the first's fate. */
static void test_copy_in_flight_follows_the_first(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 1000, NULL);
        struct doc_log a, b;
        log_init(&a);
        log_init(&b);
        tm_set_brokers(f->c, 0);
        submit(f->pl, webhook_doc("ev-2"), PB_INGEST_WEBHOOK, 0, &a);
        submit(f->pl, webhook_doc("ev-2"), PB_INGEST_WEBHOOK, 0, &b);
        pb_sleep_ms(300);
        assert_int_equal(a.done + b.done, 0); /* both wait for Kafka */
        tm_set_brokers(f->c, 1);
        wait_done(&a, 20000);
        wait_done(&b, 20000);
        assert_int_equal(a.outcome[0], PB_OUTCOME_DELIVERED);
        assert_int_equal(b.outcome[0], PB_OUTCOME_DUPLICATE);
        assert_int_equal(tm_topic_count(f->c, status_topic), 1);
        fx_free(f);
}

/* Another payload under an id already delivered, or on its way: a conflict,
 * dead-lettered with its bytes, neither followed nor dropped as a duplicate
 * (both used to be answered "duplicate" and the new body lost). */
static void test_other_payload_same_id_is_a_conflict(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 1000, NULL);
        struct doc_log a, b, c;
        log_init(&a);
        log_init(&b);
        log_init(&c);
        char other[512];
        tm_set_brokers(f->c, 0);
        submit(f->pl, webhook_doc("ev-c"), PB_INGEST_WEBHOOK, 0, &a);
        snprintf(other, sizeof(other), "%s", webhook_doc("ev-c"));
        memcpy(strstr(other, "\"ported\""), "\"pended\"", 8); /* the same length */
        submit(f->pl, other, PB_INGEST_WEBHOOK, 0, &b);       /* while the first waits */
        tm_set_brokers(f->c, 1);
        wait_done(&a, 20000);
        wait_done(&b, 20000);
        assert_int_equal(a.outcome[0], PB_OUTCOME_DELIVERED);
        assert_int_equal(b.outcome[0], PB_OUTCOME_DEAD_LETTERED);
        memcpy(strstr(other, "\"pended\""), "\"closed\"", 8);
        submit(f->pl, other, PB_INGEST_WEBHOOK, 0, &c); /* after it was delivered */
        wait_done(&c, 20000);
        assert_int_equal(c.outcome[0], PB_OUTCOME_DEAD_LETTERED);
        assert_int_equal(tm_topic_count(f->c, status_topic), 1);
        assert_int_equal(tm_topic_count(f->c, "t.dlq"), 2);
        fx_free(f);
}

/* When the first copy fails, so does its follower; the id is not
 * remembered, so a later retry publishes. */
static void test_follower_fails_with_the_first(void **state)
{
        (void)state;
        struct fixture *f = fx_new("\"message.timeout.ms=1000\"", 1000, NULL);
        struct doc_log a, b, c;
        log_init(&a);
        log_init(&b);
        log_init(&c);
        tm_set_brokers(f->c, 0);
        submit(f->pl, webhook_doc("ev-3"), PB_INGEST_WEBHOOK, 0, &a);
        submit(f->pl, webhook_doc("ev-3"), PB_INGEST_WEBHOOK, 0, &b);
        wait_done(&a, 20000);
        wait_done(&b, 20000);
        assert_int_equal(a.outcome[0], PB_OUTCOME_FAILED);
        assert_int_equal(b.outcome[0], PB_OUTCOME_FAILED);
        assert_false(b.res.busy);
        assert_non_null(strstr(b.res.reason, "an earlier copy of this event was not delivered"));
        /* Telnyx's retry after the broker is back is delivered. It is
         * retried as Telnyx would: on a loaded machine the client may not
         * have reconnected within this fixture's 1 s message timeout. */
        tm_set_brokers(f->c, 1);
        for (int attempt = 0; attempt < 20; attempt++) {
                log_init(&c);
                submit(f->pl, webhook_doc("ev-3"), PB_INGEST_WEBHOOK, 0, &c);
                wait_done(&c, 20000);
                if (c.outcome[0] == PB_OUTCOME_DELIVERED)
                        break;
                print_message("retry %d: %s\n", attempt + 1, c.res.reason);
                pb_sleep_ms(250);
        }
        assert_int_equal(c.outcome[0], PB_OUTCOME_DELIVERED);
        assert_int_equal(tm_topic_count(f->c, status_topic), 1);
        fx_free(f);
}

/* A rejection has no id: the SHA-256 of its bytes stands in, so reading the
 * same unusable event again does not dead-letter it again. */
static void test_rejection_is_dead_lettered_once(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 1000, NULL);
        const char *bad = "{\"data\":[{\"id\":\"x\",\"event_type\":\"portout.status_changed\","
                          "\"payload\":null}],\"meta\":{\"total_results\":1}}";
        struct doc_log a, b;
        log_init(&a);
        log_init(&b);
        submit(f->pl, bad, PB_INGEST_REST, -1, &a);
        wait_done(&a, 10000);
        assert_int_equal(a.outcome[0], PB_OUTCOME_DEAD_LETTERED);
        assert_string_equal(a.topic[0], "t.dlq");
        assert_memory_equal(a.id[0], "sha256:", 7);
        assert_int_equal(strlen(a.id[0]), 7 + 64);
        assert_non_null(strstr(a.res.reason, "missing port-out id"));
        submit(f->pl, bad, PB_INGEST_REST, -1, &b);
        wait_done(&b, 10000);
        assert_int_equal(b.outcome[0], PB_OUTCOME_DUPLICATE);
        assert_string_equal(b.id[0], a.id[0]);
        static tm_record_t recs[4];
        assert_int_equal(tm_read(f->c, "t.dlq", "pb_stage", recs, 4), 1);
        assert_string_equal(recs[0].header, "normalize");
        fx_free(f);
}

/* Replay publishes what it is given: with dedupe off, repeats go out. */
static void test_without_dedupe_repeats_are_published(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 0, NULL);
        struct doc_log a, b;
        log_init(&a);
        log_init(&b);
        submit(f->pl, webhook_doc("ev-4"), PB_INGEST_FILE, -1, &a);
        submit(f->pl, webhook_doc("ev-4"), PB_INGEST_FILE, -1, &b);
        wait_done(&a, 10000);
        wait_done(&b, 10000);
        assert_int_equal(a.outcome[0], PB_OUTCOME_DELIVERED);
        assert_int_equal(b.outcome[0], PB_OUTCOME_DELIVERED);
        assert_int_equal(tm_topic_count(f->c, status_topic), 2);
        fx_free(f);
}

/* A submitting thread reuses its parser: a document cut short must not
 * leave state that the next one (same thread) would be parsed into. */
static void test_thread_parser_starts_clean_each_document(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 1000, NULL);
        const char *cut[] = {"{\"data\":{\"event_type\":\"portout.sta", "[1,", "{\"a\":\"\\u00"};
        for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
                struct doc_log a, b;
                log_init(&a);
                log_init(&b);
                submit(f->pl, cut[i], PB_INGEST_FILE, -1, &a);
                wait_done(&a, 10000);
                assert_int_equal(a.res.delivered, 0);
                char id[16];
                snprintf(id, sizeof(id), "ev-cut-%zu", i);
                submit(f->pl, webhook_doc(id), PB_INGEST_FILE, -1, &b);
                wait_done(&b, 10000);
                assert_int_equal(b.outcome[0], PB_OUTCOME_DELIVERED);
                assert_string_equal(b.id[0], id);
        }
        assert_int_equal(tm_topic_count(f->c, status_topic), 3);
        fx_free(f);
}

/* A list response: one report per element, the document's after all. */
static void test_list_gives_one_report_per_item(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 1000, NULL);
        size_t len;
        char *doc = tu_read_file("rest-list.json", &len);
        struct doc_log a;
        log_init(&a);
        submit(f->pl, doc, PB_INGEST_REST, -1, &a);
        wait_done(&a, 10000);
        assert_true(a.items >= 2);
        assert_int_equal(a.res.items, (size_t)a.items);
        assert_int_equal(a.res.delivered + a.res.dead_lettered, a.res.items);
        for (int i = 0; i < a.items; i++)
                if (a.outcome[i] == PB_OUTCOME_DELIVERED)
                        assert_true(a.created[i] > 0);
        free(doc);
        fx_free(f);
}

/* close(): what is in flight gets its fate (FAILED) before it returns, each
 * document reports once, and later documents are refused at once. */
static void test_close_settles_in_flight_and_refuses_new(void **state)
{
        (void)state;
        struct fixture *f = fx_new(NULL, 1000, NULL);
        struct doc_log l[5], late;
        tm_set_brokers(f->c, 0);
        for (int i = 0; i < 5; i++) {
                char id[16];
                snprintf(id, sizeof(id), "ev-c%d", i);
                log_init(&l[i]);
                submit(f->pl, webhook_doc(id), PB_INGEST_WEBHOOK, 0, &l[i]);
        }
        int64_t t0 = pb_mono_ms();
        assert_int_equal(pb_pipeline_close(f->pl, 300), 5);
        assert_true(pb_mono_ms() - t0 < 7000);
        for (int i = 0; i < 5; i++) {
                assert_int_equal(l[i].done, 1);
                assert_int_equal(l[i].outcome[0], PB_OUTCOME_FAILED);
        }
        assert_true(pb_pipeline_closing(f->pl));
        log_init(&late);
        submit(f->pl, webhook_doc("ev-late"), PB_INGEST_WEBHOOK, 0, &late);
        assert_int_equal(late.done, 1); /* synchronously */
        assert_int_equal(late.outcome[0], PB_OUTCOME_FAILED);
        assert_true(late.res.busy);
        assert_int_equal(pb_pipeline_close(f->pl, 0), 0); /* idempotent */
        tm_set_brokers(f->c, 1);
        fx_free(f);
}

/* A caller that must not wait (an HTTP thread) gets FAILED busy at once
 * when the producer is full. */
static void test_full_producer_refuses_a_nowait_caller(void **state)
{
        (void)state;
        struct fixture *f = fx_new("\"queue.buffering.max.messages=3\"", 1000, NULL);
        struct doc_log l[5];
        tm_set_brokers(f->c, 0);
        int64_t t0 = pb_mono_ms();
        for (int i = 0; i < 5; i++) {
                char id[16];
                snprintf(id, sizeof(id), "ev-f%d", i);
                log_init(&l[i]);
                submit(f->pl, webhook_doc(id), PB_INGEST_WEBHOOK, 0, &l[i]);
        }
        assert_true(pb_mono_ms() - t0 < 200 * tu_slack());
        for (int i = 3; i < 5; i++) {
                assert_int_equal(l[i].done, 1);
                assert_int_equal(l[i].outcome[0], PB_OUTCOME_FAILED);
                assert_true(l[i].res.busy);
        }
        tm_set_brokers(f->c, 1);
        for (int i = 0; i < 3; i++) {
                wait_done(&l[i], 20000);
                assert_int_equal(l[i].outcome[0], PB_OUTCOME_DELIVERED);
        }
        fx_free(f);
}

/* Dry run: the envelopes are printed, nothing reaches Kafka. */
static void test_dry_run_prints_and_publishes_nothing(void **state)
{
        (void)state;
        FILE *out = tmpfile();
        struct fixture *f = fx_new(NULL, 1000, out);
        struct doc_log a;
        log_init(&a);
        submit(f->pl, webhook_doc("ev-dry"), PB_INGEST_REST, -1, &a);
        assert_int_equal(a.done, 1);
        assert_int_equal(a.outcome[0], PB_OUTCOME_DELIVERED);
        rewind(out);
        char line[2048] = "";
        assert_non_null(fgets(line, sizeof(line), out));
        assert_non_null(strstr(line, "\"id\":\"ev-dry\""));
        assert_int_equal(tm_topic_count(f->c, status_topic), 0);
        fclose(out);
        fx_free(f);
}

int main(void)
{
        pb_log_set_level(PB_LOG_ERROR);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_delivers_then_answers_duplicate),
            cmocka_unit_test(test_webhook_then_rest_same_id_is_published_once),
            cmocka_unit_test(test_copy_in_flight_follows_the_first),
            cmocka_unit_test(test_other_payload_same_id_is_a_conflict),
            cmocka_unit_test(test_follower_fails_with_the_first),
            cmocka_unit_test(test_rejection_is_dead_lettered_once),
            cmocka_unit_test(test_without_dedupe_repeats_are_published),
            cmocka_unit_test(test_list_gives_one_report_per_item),
            cmocka_unit_test(test_thread_parser_starts_clean_each_document),
            cmocka_unit_test(test_close_settles_in_flight_and_refuses_new),
            cmocka_unit_test(test_full_producer_refuses_a_nowait_caller),
            cmocka_unit_test(test_dry_run_prints_and_publishes_nothing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
