/* cmd_replay.c: a file replayed to librdkafka's mock cluster: the summary
 * it prints, its exit codes (65 when something was dead-lettered), and its
 * arguments. */
#include "cmdtest.h"
#include "mockkafka.h"

static void test_replay(void **state)
{
        (void)state;
        tm_cluster_t *c = tm_cluster_new();
        char conf[512], args[512], *out, *err;
        snprintf(conf, sizeof(conf),
                 "kafka = { brokers = \"%s\"; };\ntopics = { dead_letter = \"t.dlq\"; };\n"
                 "log = { level = \"error\"; };\n",
                 rd_kafka_mock_cluster_bootstraps(c->mc));
        char cp[64];
        snprintf(cp, sizeof(cp), "%s", tu_write_temp(conf)); /* its buffer is reused */
        size_t len;
        char *hook = tu_read_file(PB_FIXTURES "/webhook-status-changed.json", &len);
        char doc[8192];
        snprintf(doc, sizeof(doc), "%.*s\n", (int)strcspn(hook, "\n"), hook);
        snprintf(args, sizeof(args), "replay --quiet %s", tu_write_temp(doc));
        RUN(0, pb_cmd_replay, cp, args);
        assert_has(out, "telnyx.portouts.status-changed");
        assert_int_equal(tm_topic_count(c, "telnyx.portouts.status-changed"), 1);
        FREE_IO();
        snprintf(doc, sizeof(doc), "%.*s\nnot json\n", (int)strcspn(hook, "\n"), hook);
        snprintf(args, sizeof(args), "replay --quiet %s", tu_write_temp(doc));
        RUN(PB_EXIT_DATAERR, pb_cmd_replay, cp, args);
        assert_has(out, "t.dlq");
        assert_int_equal(tm_topic_count(c, "t.dlq"), 1);
        FREE_IO();
        free(hook);
        tm_cluster_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_replay),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
