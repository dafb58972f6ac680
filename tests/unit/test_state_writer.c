/* The state writer against the fake Telnyx API and the mock cluster: every
 * port-out that had an event is fetched and written once; answers that
 * cannot be a port-out's state (updated_at null or not RFC 3339, a bad id,
 * another port-out's id, no "data") are skipped and counted, and the
 * writer goes on: the other port-outs are written, the position is
 * committed, and an idle writer calls the API no more. Before, one such
 * answer failed the whole batch, the writer left office, reloaded and
 * retried it about every second, forever, writing nothing more. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "metrics.h"
#include "mockkafka.h"
#include "pb.h"
#include "poll_election.h"
#include "state_writer.h"
#include "testutil.h"

/* The fake's port-out ids (its first n). */
static size_t portout_ids(const tu_fake_api_t *api, char ids[][64], size_t n)
{
        json_object *o = json_tokener_parse(tu_fake_api_admin(api, "/_admin/portouts", NULL));
        json_object *list = json_object_object_get(o, "portouts");
        size_t k = 0;
        for (size_t i = 0; i < json_object_array_length(list) && k < n; i++)
                snprintf(ids[k++], 64, "%s",
                         json_object_get_string(
                             json_object_object_get(json_object_array_get_idx(list, i), "id")));
        json_object_put(o);
        return k;
}

static int64_t fake_stat(const tu_fake_api_t *api, const char *k)
{
        json_object *o = json_tokener_parse(tu_fake_api_admin(api, "/_admin/stats", NULL));
        int64_t v = json_object_get_int64(json_object_object_get(o, k));
        json_object_put(o);
        return v;
}

static void produce_event(tm_cluster_t *c, const char *portout, const char *id)
{
        rd_kafka_t *p = tm_producer(c);
        const char *v = "{}";
        assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t.a"),
                                           RD_KAFKA_V_KEY(portout, strlen(portout)),
                                           RD_KAFKA_V_VALUE((void *)v, 2),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_HEADER("ce_id", id, -1), RD_KAFKA_V_END),
                         0);
        assert_int_equal(rd_kafka_flush(p, 10000), 0);
        rd_kafka_destroy(p);
}

/* A mock cluster that answers the admin API (CreateTopics, DescribeConfigs)
 * "not supported" at once, not at a timeout, and the state writer's
 * configuration on it and the fake API: its group, telnyx's members beyond
 * api_base, and any more sections. */
static tm_cluster_t *sw_cluster(void)
{
        tm_cluster_t *c = tm_cluster_new();
        rd_kafka_mock_set_controller_id(c->mc, 1);
        tu_setenv("TELNYX_API_KEY", "test-key");
        return c;
}

static pb_config_t *sw_config(tm_cluster_t *c, const tu_fake_api_t *api, const char *group,
                              const char *telnyx, const char *more)
{
        char extra[1024];
        snprintf(extra, sizeof(extra),
                 "topics = { status_changed = \"t.a\"; foc_date_changed = \"t.b\"; "
                 "new_comment = \"t.b\"; other = \"t.b\"; dead_letter = \"t.dlq\"; state = "
                 "\"t.state\"; deadlines = \"t.deadlines\"; control = \"t.control\"; };\n"
                 "telnyx = { api_base = \"%s\"; %s };\n"
                 "state = { enabled = true; group = \"%s\"; coalesce_ms = 100; "
                 "resync_interval_s = 0; };\n%s",
                 api->base, telnyx, group, more);
        return tm_config(c, NULL, extra);
}

static void test_bad_answers_are_skipped(void **state)
{
        (void)state;
        tu_fake_api_t api;
        tu_fake_api_start(&api, "--events 12 --portouts 6");
        char ids[6][64];
        assert_int_equal(portout_ids(&api, ids, 6), 6);
        static const char *const kinds[] = {"updated_at_null", "updated_at_text", "bad_id",
                                            "other_id", "no_data"};
        for (size_t i = 0; i < 5; i++) {
                char body[160];
                snprintf(body, sizeof(body), "{\"id\":\"%s\",\"broken\":\"%s\"}", ids[i], kinds[i]);
                tu_fake_api_admin(&api, "/_admin/portouts/update", body);
        }
        tm_cluster_t *c = sw_cluster();
        pb_config_t *cfg = sw_config(c, &api, "sw-test", "", "");
        for (size_t i = 0; i < 6; i++) {
                char id[32];
                snprintf(id, sizeof(id), "ev-%zu", i);
                produce_event(c, ids[i], id);
        }
        pb_metrics_t *m = pb_metrics_new();
        char err[PB_ERRSZ];
        pb_fail_t fail;
        pb_state_t *s = pb_state_new(cfg, m, NULL, NULL, NULL, &fail, err, sizeof(err));
        if (!s)
                fail_msg("state writer: %s", err);
        /* Every bad answer skipped: the five fetches, and those of the
         * resync's list that are broken there too (a list may rightly hold
         * another port-out, or none without "data"); the good one written,
         * none of the three broken everywhere. */
        const char *invalid = "outcome=\"invalid\"";
        int64_t until = pb_mono_ms() + 40000;
        while (pb_mono_ms() < until &&
               (pb_metrics_get(m, "portout_bridge_state_fetches_total", invalid) < 5 ||
                tm_topic_count(c, "t.state") < 1))
                pb_sleep_ms(100);
        int64_t skipped = pb_metrics_get(m, "portout_bridge_state_fetches_total", invalid);
        assert_true(skipped >= 5);
        tm_record_t rec[16];
        size_t n = tm_read(c, "t.state", NULL, rec, 16);
        int good = 0;
        for (size_t i = 0; i < n; i++) {
                good |= !strcmp(rec[i].key, ids[5]);
                for (size_t k = 0; k < 3; k++)
                        if (!strcmp(rec[i].key, ids[k]))
                                fail_msg("a broken port-out was written: %s", rec[i].key);
        }
        assert_true(good);
        /* Then idle: once the first pass has settled (calls and skips the
         * same for a second; a loaded machine takes longer to get there),
         * no more API calls for 3 s (before, the batch was retried about
         * every second, each time fetching all six again). */
        int64_t calls = -1;
        until = pb_mono_ms() + 20000;
        for (;;) {
                int64_t c2 = fake_stat(&api, "portout_gets");
                int64_t s2 = pb_metrics_get(m, "portout_bridge_state_fetches_total", invalid);
                if ((c2 == calls && s2 == skipped) || pb_mono_ms() > until)
                        break;
                calls = c2;
                skipped = s2;
                pb_sleep_ms(1000);
        }
        pb_sleep_ms(3000);
        assert_int_equal(fake_stat(&api, "portout_gets"), calls);
        assert_int_equal(pb_metrics_get(m, "portout_bridge_state_fetches_total", invalid), skipped);
        pb_state_free(s);
        pb_metrics_free(m);
        pb_config_free(cfg);
        tm_cluster_free(c);
        tu_fake_api_stop(&api);
}

/* Deadline events: port-outs opened at Telnyx 0, 2, 5 and 30 s ago
 * (thresholds 3 and 6 s), one of them leaving pending at once. Each
 * pending port-out gets one event per threshold it crossed while pending,
 * within the lag; a second writer (a restart, a new leader) reads the topic
 * and announces none of them again. */
static void test_deadline_events_once(void **state)
{
        (void)state;
        tu_fake_api_t api;
        tu_fake_api_start(&api, "--events 0 --portouts 1");
        char ids[5][64];
        assert_int_equal(tu_fake_api_portouts(&api, "[0,2,5,30,30]", ids, 5), 5);
        char body[160];
        snprintf(body, sizeof(body), "{\"id\":\"%s\",\"status\":\"authorized\"}", ids[4]);
        tu_fake_api_admin(&api, "/_admin/portouts/update", body);
        tm_cluster_t *c = sw_cluster();
        pb_config_t *cfg = sw_config(
            c, &api, "sw-dl", "", "desk = { deadline_warn_s = \"6,3\"; deadline_lag_s = 2; };\n");
        assert_non_null(cfg);
        pb_metrics_t *m = pb_metrics_new();
        char err[PB_ERRSZ];
        pb_fail_t fail;
        pb_state_t *s = pb_state_new(cfg, m, NULL, NULL, NULL, &fail, err, sizeof(err));
        if (!s)
                fail_msg("state writer: %s", err);
        /* 0 s: 2 events (3, 6 s); 2 s: 2; 5 s: 2; 30 s: 2; the authorized one:
         * none. All crossed within 6 s, each announced within the 2 s lag. */
        int64_t until = pb_mono_ms() + 30000;
        while (pb_mono_ms() < until && tm_topic_count(c, "t.deadlines") < 8)
                pb_sleep_ms(100);
        pb_sleep_ms(2500); /* and nothing more comes */
        tm_record_t rec[16];
        size_t n = tm_read(c, "t.deadlines", "ce_id", rec, 16);
        assert_int_equal(n, 8);
        for (size_t i = 0; i < n; i++) {
                assert_string_not_equal(rec[i].key, ids[4]);
                for (size_t k = 0; k < i; k++)
                        if (!strcmp(rec[k].header, rec[i].header))
                                fail_msg("announced twice: %s", rec[i].header);
                json_object *e = json_tokener_parse(rec[i].value);
                json_object *data = json_object_object_get(e, "data");
                int64_t thr = json_object_get_int64(json_object_object_get(data, "threshold_s"));
                int64_t age = json_object_get_int64(json_object_object_get(data, "age_s"));
                assert_true(thr == 3 || thr == 6);
                assert_true(age >= thr);
                /* the port-out as the state record holds it */
                json_object *po = json_object_object_get(data, "portout");
                assert_string_equal(json_object_get_string(json_object_object_get(po, "id")),
                                    rec[i].key);
                json_object_put(e);
        }
        assert_int_equal(
            pb_metrics_get(m, "portout_bridge_deadline_events_total", "outcome=\"written\""), 8);
        pb_state_free(s);
        /* A second writer reads what the first announced. */
        s = pb_state_new(cfg, m, NULL, NULL, NULL, &fail, err, sizeof(err));
        if (!s)
                fail_msg("state writer: %s", err);
        until = pb_mono_ms() + 20000;
        while (pb_mono_ms() < until && pb_metrics_get(m, "portout_bridge_state_writer", NULL) != 1)
                pb_sleep_ms(100);
        pb_sleep_ms(3000);
        assert_int_equal(tm_topic_count(c, "t.deadlines"), 8);
        pb_state_free(s);
        pb_metrics_free(m);
        pb_config_free(cfg);
        tm_cluster_free(c);
        tu_fake_api_stop(&api);
}

/* A writer deposed without having heard of it (its flag still says leader:
 * a paused process) writes no deadline event: Kafka refuses its fence. The
 * fence of the elected writer, a commit in the election's group on the
 * deadlines topic, passes on a real election and its events are written.
 * (Before the fence: the deposed writer wrote all eight.) */
static void test_a_deposed_writer_announces_nothing(void **state)
{
        (void)state;
        tu_fake_api_t api;
        tu_fake_api_start(&api, "--events 0 --portouts 1");
        char ids[4][64];
        assert_int_equal(tu_fake_api_portouts(&api, "[0,2,5,30]", ids, 4), 4);
        tm_cluster_t *c = sw_cluster();
        rd_kafka_mock_topic_create(c->mc, "t.control", 1, 1);
        pb_config_t *cfg = sw_config(
            c, &api, "sw-fence",
            "checkpoint_store = \"kafka\"; poll_group = \"g-sw\"; poll_session_timeout_ms = 3000;",
            "desk = { deadline_warn_s = \"6,3\"; deadline_lag_s = 2; };\n");
        assert_non_null(cfg);
        pb_metrics_t *m = pb_metrics_new();
        char err[PB_ERRSZ];
        pb_fail_t fail;
        pb_state_t *s =
            pb_state_new(cfg, m, tu_always_term, tu_refused_fence, NULL, &fail, err, sizeof(err));
        if (!s)
                fail_msg("state writer: %s", err);
        int64_t until = pb_mono_ms() + 30000;
        while (pb_mono_ms() < until &&
               pb_metrics_get(m, "portout_bridge_deadline_events_total", "outcome=\"fenced\"") < 8)
                pb_sleep_ms(100);
        assert_true(
            pb_metrics_get(m, "portout_bridge_deadline_events_total", "outcome=\"fenced\"") >= 8);
        pb_sleep_ms(2500); /* more looks: each refused */
        assert_int_equal(tm_topic_count(c, "t.deadlines"), 0);
        assert_int_equal(
            pb_metrics_get(m, "portout_bridge_deadline_events_total", "outcome=\"written\""), 0);
        pb_state_free(s);

        pb_election_t *e = pb_election_new(cfg, m, err, sizeof(err));
        if (!e)
                fail_msg("election: %s", err);
        until = pb_mono_ms() + 20000;
        while (pb_mono_ms() < until && !pb_election_is_leader(e))
                pb_sleep_ms(100);
        assert_true(pb_election_is_leader(e));
        s = pb_state_new(cfg, m, tu_election_term, tu_election_fence, e, &fail, err, sizeof(err));
        if (!s)
                fail_msg("state writer: %s", err);
        until = pb_mono_ms() + 30000;
        while (pb_mono_ms() < until && tm_topic_count(c, "t.deadlines") < 8)
                pb_sleep_ms(100);
        assert_int_equal(tm_topic_count(c, "t.deadlines"), 8);
        assert_int_equal(
            pb_metrics_get(m, "portout_bridge_deadline_events_total", "outcome=\"written\""), 8);
        pb_state_free(s);
        pb_election_free(e);
        pb_metrics_free(m);
        pb_config_free(cfg);
        tm_cluster_free(c);
        tu_fake_api_stop(&api);
}

static _Atomic uint64_t term_now;

static uint64_t controlled_term(void *ctx)
{
        (void)ctx;
        return atomic_load(&term_now);
}

/* How often the file at path holds needle (the captured log). */
static int file_has(const char *path, const char *needle)
{
        static char buf[1 << 18];
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f)
                fclose(f);
        buf[n] = '\0';
        int k = 0;
        for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
                k++;
        return k;
}

/* Leadership lost and regained between two of the writer's looks (the term
 * changes; its flag never read 0): what it knew is stale (another writer
 * may have written meanwhile), so it leaves office and takes it again,
 * reading the topics anew, as its log says. (Without the term kept by
 * office.c it would have gone on with its old table.) */
static void test_a_regained_leadership_is_a_new_office(void **state)
{
        (void)state;
        tu_fake_api_t api;
        tu_fake_api_start(&api, "--events 0 --portouts 1");
        tm_cluster_t *c = sw_cluster();
        pb_config_t *cfg = sw_config(c, &api, "sw-term", "", "");
        assert_non_null(cfg);
        pb_metrics_t *m = pb_metrics_new();
        char log[] = "/tmp/pb-sw-log-XXXXXX", err[PB_ERRSZ];
        int lfd = mkstemp(log);
        assert_true(lfd >= 0);
        fflush(stderr);
        int saved = dup(2);
        dup2(lfd, 2);
        enum pb_log_level was = pb_log_enabled(PB_LOG_DEBUG)  ? PB_LOG_DEBUG
                                : pb_log_enabled(PB_LOG_INFO) ? PB_LOG_INFO
                                : pb_log_enabled(PB_LOG_WARN) ? PB_LOG_WARN
                                                              : PB_LOG_ERROR;
        pb_log_set_level(PB_LOG_INFO); /* the office's comings and goings */
        atomic_store(&term_now, 1);
        pb_fail_t fail;
        pb_state_t *s = pb_state_new(cfg, m, controlled_term, NULL, NULL, &fail, err, sizeof(err));
        int64_t until = pb_mono_ms() + 20000;
        while (s && pb_mono_ms() < until &&
               pb_metrics_get(m, "portout_bridge_state_writer", NULL) != 1)
                pb_sleep_ms(50);
        int took = s && pb_metrics_get(m, "portout_bridge_state_writer", NULL) == 1;
        atomic_store(&term_now, 2); /* lost and regained */
        until = pb_mono_ms() + 20000;
        int left = 0;
        while (took && pb_mono_ms() < until && !(left = file_has(log, "lost and regained")))
                pb_sleep_ms(50);
        until = pb_mono_ms() + 20000;
        while (left && pb_mono_ms() < until &&
               pb_metrics_get(m, "portout_bridge_state_writer", NULL) != 1)
                pb_sleep_ms(50);
        int again = pb_metrics_get(m, "portout_bridge_state_writer", NULL) == 1;
        pb_state_free(s);
        pb_log_set_level(was);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(lfd);
        int twice = file_has(log, "state: writing t.state") >= 2;
        unlink(log);
        if (!s)
                fail_msg("state writer: %s", err);
        assert_true(took);
        assert_true(left);
        assert_true(again);
        assert_true(twice);
        pb_metrics_free(m);
        pb_config_free(cfg);
        tm_cluster_free(c);
        tu_fake_api_stop(&api);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bad_answers_are_skipped),
            cmocka_unit_test(test_deadline_events_once),
            cmocka_unit_test(test_a_deposed_writer_announces_nothing),
            cmocka_unit_test(test_a_regained_leadership_is_a_new_office),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
