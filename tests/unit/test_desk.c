/* The desk against the fake Telnyx API and the mock cluster: commands
 * carried out in order, one result each, a copy skipped; and a command whose
 * intent the group's committed offset names ("calling": a desk stopped
 * between its call and its result) is settled by reading the port-out,
 * never called again. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "desk.h"
#include "metrics.h"
#include "mockkafka.h"
#include "pb.h"
#include "poll_election.h"
#include "testutil.h"
#include "timefmt.h"

/* Kafka protocol ApiKey of OffsetCommit (librdkafka names it in a private
 * header). */
#define API_OFFSET_COMMIT 8

static char ids[4][64];

static void command(tm_cluster_t *c, const char *id, const char *type, const char *po,
                    const char *data)
{
        char now[40], v[1024];
        pb_time_format_ms(pb_now_ms(), now, sizeof(now));
        snprintf(v, sizeof(v),
                 "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"urn:t\",\"type\":"
                 "\"com.telnyx.portout.%s\",\"subject\":\"%s\",\"time\":\"%s\",\"data\":%s}",
                 id, type, po, now, data);
        rd_kafka_t *p = tm_producer(c);
        assert_int_equal(
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t.commands"), RD_KAFKA_V_KEY(po, strlen(po)),
                              RD_KAFKA_V_VALUE(v, strlen(v)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            0);
        assert_int_equal(rd_kafka_flush(p, 10000), 0);
        rd_kafka_destroy(p);
}

static int64_t calls(const tu_fake_api_t *api)
{
        json_object *o = json_tokener_parse(tu_fake_api_admin(api, "/_admin/calls", NULL));
        int64_t n = (int64_t)json_object_array_length(json_object_object_get(o, "calls"));
        json_object_put(o);
        return n;
}

static pb_config_t *config(tm_cluster_t *c, const tu_fake_api_t *api)
{
        char extra[1024];
        snprintf(extra, sizeof(extra),
                 "topics = { dead_letter = \"t.dlq\"; commands = \"t.commands\"; "
                 "command_results = \"t.results\"; control = \"t.control\"; };\n"
                 "telnyx = { api_base = \"%s\"; checkpoint_store = \"kafka\"; "
                 "poll_group = \"g-test\"; poll_session_timeout_ms = 3000; };\n"
                 "desk = { enabled = true; group = \"desk-test\"; };\n",
                 api->base);
        return tm_config(c, NULL, extra);
}

/* A fake API with four pending port-outs (ids), a mock cluster, the
 * desk's configuration and metrics; fx_desk() starts a desk on them. */
struct fx {
        tu_fake_api_t api;
        tm_cluster_t *c;
        pb_config_t *cfg;
        pb_metrics_t *m;
        pb_desk_t *d;
};

static void fx_start(struct fx *f)
{
        memset(f, 0, sizeof(*f));
        tu_fake_api_start(&f->api, "--events 0 --portouts 1");
        assert_int_equal(tu_fake_api_portouts(&f->api, "[60,60,60,60]", ids, 4), 4);
        f->c = tm_cluster_new();
        rd_kafka_mock_set_controller_id(f->c->mc, 1);
        tu_setenv("TELNYX_API_KEY", "test-key");
        f->cfg = config(f->c, &f->api);
        f->m = pb_metrics_new();
}

static void fx_desk(struct fx *f, pb_leader_fn *leader, pb_fence_fn *fence, void *ctx)
{
        char err[PB_ERRSZ];
        pb_fail_t fail;
        f->d = pb_desk_new(f->cfg, f->m, leader, fence, ctx, &fail, err, sizeof(err));
        if (!f->d)
                fail_msg("desk: %s", err);
}

/* A consumer of desk.group ("desk-test") on the mock cluster, joining
 * nothing: to read the desk's committed position and intent. */
static rd_kafka_t *desk_group_reader(const struct fx *f)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char e[512];
        rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(f->c->mc), e,
                          sizeof(e));
        rd_kafka_conf_set(conf, "group.id", "desk-test", e, sizeof(e));
        rd_kafka_t *k = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
        assert_non_null(k);
        return k;
}

static void fx_stop(struct fx *f)
{
        pb_desk_free(f->d);
        pb_metrics_free(f->m);
        pb_config_free(f->cfg);
        tm_cluster_free(f->c);
        tu_fake_api_stop(&f->api);
}

/* Waits for n results; returns their outcomes and settled_by, by command. */
static size_t wait_results(tm_cluster_t *c, size_t n, tm_record_t *rec, size_t max)
{
        int64_t until = pb_mono_ms() + 30000;
        while (pb_mono_ms() < until && tm_topic_count(c, "t.results") < (int64_t)n)
                pb_sleep_ms(100);
        pb_sleep_ms(1500); /* and no more */
        return tm_read(c, "t.results", NULL, rec, max);
}

static const char *field(const tm_record_t *r, const char *k, char *out, size_t n)
{
        json_object *e = json_tokener_parse(r->value), *v = NULL;
        out[0] = '\0';
        if (json_object_object_get_ex(json_object_object_get(e, "data"), k, &v) && v)
                snprintf(out, n, "%s", json_object_get_string(v));
        json_object_put(e);
        return out;
}

static void test_commands_carried_out_once(void **state)
{
        (void)state;
        struct fx f;
        fx_start(&f);
        command(f.c, "a-1", "authorize", ids[0], "{\"reason\":\"ok\"}");
        command(f.c, "r-1", "reject", ids[1], "{\"reason\":\"fraud\"}");
        command(f.c, "c-1", "comment", ids[2], "{\"body\":\"hello\"}");
        command(f.c, "a-1", "authorize", ids[0], "{\"reason\":\"ok\"}");    /* a copy */
        command(f.c, "a-2", "authorize", ids[0], "{\"reason\":\"again\"}"); /* not pending now */
        fx_desk(&f, NULL, NULL, NULL);
        tm_record_t rec[8];
        size_t n = wait_results(f.c, 4, rec, 8);
        assert_int_equal(n, 4);
        char a[64], b[64];
        assert_string_equal(field(&rec[0], "command_id", a, sizeof(a)), "a-1");
        assert_string_equal(field(&rec[0], "outcome", a, sizeof(a)), "done");
        assert_string_equal(field(&rec[0], "status_after", a, sizeof(a)), "authorized");
        assert_string_equal(field(&rec[1], "outcome", a, sizeof(a)), "done");
        assert_string_equal(field(&rec[2], "outcome", a, sizeof(a)), "done");
        assert_string_equal(field(&rec[3], "command_id", a, sizeof(a)), "a-2");
        assert_string_equal(field(&rec[3], "outcome", b, sizeof(b)), "refused");
        assert_int_equal(calls(&f.api), 3);
        assert_int_equal(pb_metrics_get(f.m, "portout_bridge_desk_duplicates_total", NULL), 1);
        fx_stop(&f);
}

static void test_a_call_of_unknown_fate_is_settled_by_reading(void **state)
{
        (void)state;
        struct fx f;
        fx_start(&f);
        command(f.c, "a-7", "authorize", ids[3], "{\"reason\":\"ok\"}");
        /* A desk sent a-7 and stopped before its result: its intent is the
         * group's committed offset (the command's own) with "calling", and
         * Telnyx carried it out. */
        char body[160];
        snprintf(body, sizeof(body), "{\"id\":\"%s\",\"status\":\"authorized\"}", ids[3]);
        tu_fake_api_admin(&f.api, "/_admin/portouts/update", body);
        rd_kafka_t *k = desk_group_reader(&f);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_add(l, "t.commands", 0);
        p->offset = 0;
        p->metadata = strdup("{\"calling\":\"a-7\"}");
        p->metadata_size = strlen(p->metadata);
        assert_int_equal(rd_kafka_commit(k, l, 0), 0);
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(k);
        fx_desk(&f, NULL, NULL, NULL);
        tm_record_t rec[4];
        size_t n = wait_results(f.c, 1, rec, 4);
        assert_int_equal(n, 1);
        char a[128];
        assert_string_equal(field(&rec[0], "outcome", a, sizeof(a)), "done");
        assert_non_null(strstr(field(&rec[0], "settled_by", a, sizeof(a)), "read after a restart"));
        assert_int_equal(calls(&f.api), 0); /* never sent again */
        fx_stop(&f);
}

/* A call the API's limiter refuses (429) was not carried out: the desk
 * waits out the window it names and sends it again; one call reaches
 * Telnyx, one result says done. (Before: the command failed.) */
static void test_a_rate_limited_call_is_sent_again_after_the_window(void **state)
{
        (void)state;
        struct fx f;
        fx_start(&f);
        tu_fake_api_admin(&f.api, "/_admin/faults",
                          "{\"limit_call\":{\"count\":2,\"retry_after\":1}}");
        command(f.c, "a-9", "authorize", ids[1], "{\"reason\":\"ok\"}");
        fx_desk(&f, NULL, NULL, NULL);
        tm_record_t rec[4];
        size_t n = wait_results(f.c, 1, rec, 4);
        assert_int_equal(n, 1);
        char a[128];
        assert_string_equal(field(&rec[0], "outcome", a, sizeof(a)), "done");
        assert_string_equal(field(&rec[0], "status_after", a, sizeof(a)), "authorized");
        json_object *o = json_tokener_parse(tu_fake_api_admin(&f.api, "/_admin/calls", NULL));
        json_object *done = json_object_object_get(o, "calls"),
                    *limited = json_object_object_get(o, "limited");
        assert_int_equal(json_object_array_length(done), 1);
        assert_int_equal(json_object_array_length(limited), 2);
        /* each try waited for the window the 429 before it named (1 s) */
        double t0 = json_object_get_double(
                   json_object_object_get(json_object_array_get_idx(limited, 0), "at")),
               t1 = json_object_get_double(
                   json_object_object_get(json_object_array_get_idx(limited, 1), "at")),
               t2 = json_object_get_double(
                   json_object_object_get(json_object_array_get_idx(done, 0), "at"));
        assert_true(t1 - t0 >= 0.9);
        assert_true(t2 - t1 >= 0.9);
        json_object_put(o);
        assert_int_equal(pb_metrics_get(f.m, "portout_bridge_desk_rate_limited_total", NULL), 2);
        fx_stop(&f);
}

/* A deposed leader that has not heard of it yet (a paused process: its
 * flag still says leader) calls nothing: the fence, a commit in the
 * election's group, is refused by the broker (the generation is not the
 * group's any more; staged by the mock answering ILLEGAL_GENERATION), so
 * the desk leaves office before its call; taking office again it finds its
 * own intent and settles the command by reading, never calling it.
 * (Before the fence: the call was sent.) */
static void test_a_deposed_leader_calls_nothing(void **state)
{
        (void)state;
        struct fx f;
        fx_start(&f);
        rd_kafka_mock_topic_create(f.c->mc, "t.control", 1, 1);
        char err[PB_ERRSZ];
        pb_election_t *e = pb_election_new(f.cfg, f.m, err, sizeof(err));
        if (!e)
                fail_msg("election: %s", err);
        int64_t until = pb_mono_ms() + 20000;
        while (pb_mono_ms() < until && !pb_election_is_leader(e))
                pb_sleep_ms(100);
        assert_true(pb_election_is_leader(e));
        /* The desk's next three commits: the fence before its intent and
         * the intent (desk.group) go through; the fence before the call
         * (the election's group) is refused. */
        rd_kafka_mock_push_request_errors(f.c->mc, API_OFFSET_COMMIT, 3, RD_KAFKA_RESP_ERR_NO_ERROR,
                                          RD_KAFKA_RESP_ERR_NO_ERROR,
                                          RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION);
        fx_desk(&f, tu_election_term, tu_election_fence, e);
        command(f.c, "a-5", "authorize", ids[2], "{\"reason\":\"ok\"}");
        tm_record_t rec[4];
        size_t n = wait_results(f.c, 1, rec, 4);
        assert_int_equal(n, 1);
        char a[128];
        assert_string_equal(field(&rec[0], "command_id", a, sizeof(a)), "a-5");
        assert_string_equal(field(&rec[0], "outcome", a, sizeof(a)), "failed");
        assert_non_null(strstr(field(&rec[0], "settled_by", a, sizeof(a)), "read after a restart"));
        assert_int_equal(calls(&f.api), 0);
        assert_true(pb_metrics_get(f.m, "portout_bridge_desk_fenced_total", NULL) >= 1);
        pb_desk_free(f.d);
        f.d = NULL;
        pb_election_free(e);
        fx_stop(&f);
}

/* A deposed desk moves nothing: not desk.group's position (which holds the
 * intent of the desk in office: overwritten, that desk's call of unknown
 * fate would be sent again after it died), no call, no result. Kafka's
 * refusal is what the fence returns here, so the order is what is tested.
 * (Before: the intent reached desk.group before the fence was asked.) */
static void test_a_deposed_desk_moves_no_position(void **state)
{
        (void)state;
        struct fx f;
        fx_start(&f);
        command(f.c, "a-6", "authorize", ids[0], "{\"reason\":\"ok\"}");
        fx_desk(&f, tu_always_term, tu_refused_fence, NULL);
        int64_t until = pb_mono_ms() + 20000;
        while (pb_mono_ms() < until &&
               pb_metrics_get(f.m, "portout_bridge_desk_fenced_total", NULL) < 2)
                pb_sleep_ms(100);
        assert_true(pb_metrics_get(f.m, "portout_bridge_desk_fenced_total", NULL) >= 2);
        rd_kafka_t *k = desk_group_reader(&f);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, "t.commands", 0);
        assert_int_equal(rd_kafka_committed(k, l, 10000), 0);
        if (l->elems[0].offset >= 0 || l->elems[0].metadata_size)
                fail_msg("desk.group committed offset %lld, metadata %.*s",
                         (long long)l->elems[0].offset, (int)l->elems[0].metadata_size,
                         l->elems[0].metadata ? (const char *)l->elems[0].metadata : "");
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(k);
        assert_int_equal(calls(&f.api), 0);
        assert_int_equal(tm_topic_count(f.c, "t.results"), 0);
        fx_stop(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_commands_carried_out_once),
            cmocka_unit_test(test_a_call_of_unknown_fate_is_settled_by_reading),
            cmocka_unit_test(test_a_rate_limited_call_is_sent_again_after_the_window),
            cmocka_unit_test(test_a_deposed_leader_calls_nothing),
            cmocka_unit_test(test_a_deposed_desk_moves_no_position),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
