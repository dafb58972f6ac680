/* kafka_check.c (check-config --kafka): each topic row of its table, from
 * the facts a broker gives (librdkafka's mock cluster answers no
 * DescribeCluster, so the whole check against a broker is the secured-Kafka
 * integration test's), and an unreachable cluster named as such with its
 * exit code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "config.h"
#include "kafka_check.h"
#include "pb.h"
#include "testutil.h"

/* The row of f, and its problems in *bad. */
static char *row(const pb_topic_facts_t *f, int *bad)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        assert_non_null(out);
        *bad = pb_kafka_check_topic_row(f, out);
        fclose(out);
        return buf;
}

static void test_rows(void **state)
{
        (void)state;
        int bad;
        pb_topic_facts_t ok = {"t.s", 0, 3, 1, 1, 1, 1, 1, 0};
        char *r = row(&ok, &bad);
        assert_int_equal(bad, 0);
        assert_non_null(strstr(r, "✓ topic t.s"));
        assert_non_null(strstr(r, "3 partition(s)  write yes  read yes"));
        free(r);

        pb_topic_facts_t open_ = {"t.s", 0, 3, 0, 0, 0, 1, 1, 0}; /* no authorizer */
        r = row(&open_, &bad);
        assert_int_equal(bad, 0);
        assert_non_null(strstr(r, "write yes (no authorizer)"));
        free(r);

        pb_topic_facts_t no_write = {"t.s", 0, 3, 1, 0, 1, 1, 0, 0};
        r = row(&no_write, &bad);
        assert_int_equal(bad, 1);
        assert_non_null(strstr(r, "✗ topic t.s"));
        assert_non_null(strstr(r, "(needs WRITE)"));
        assert_null(strstr(r, "needs READ")); /* not needed: not asked */
        free(r);

        pb_topic_facts_t control = {"t.control", 0, 3, 1, 1, 1, 0, 1, 1};
        r = row(&control, &bad);
        assert_int_equal(bad, 1);
        assert_non_null(strstr(r, "(must have exactly 1: one poll leader)"));
        free(r);

        pb_topic_facts_t missing = {
            "t.x", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, 0, 0, 0, 0, 1, 0, 0};
        r = row(&missing, &bad);
        assert_int_equal(bad, 1);
        assert_non_null(strstr(r, "(create it;"));
        free(r);

        pb_topic_facts_t denied = {
            "t.x", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0, 0, 0, 0, 1, 0, 0};
        r = row(&denied, &bad);
        assert_int_equal(bad, 1);
        assert_non_null(strstr(r, "(no DESCRIBE: missing, or no ACL for this principal)"));
        free(r);
}

/* Nobody there: the table says so, and the exit code is "unavailable"
 * (69), not a refusal (77). */
static void test_unreachable(void **state)
{
        (void)state;
        char err[PB_ERRSZ];
        pb_config_t *cfg = pb_config_load(
            tu_write_temp(
                "kafka = { brokers = \"127.0.0.1:1\"; properties = ( "
                "\"reconnect.backoff.max.ms=100\" ); };\nlog = { level = \"error\"; };\n"),
            tu_env_lookup, err, sizeof(err));
        if (!cfg)
                fail_msg("%s", err);
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        int rc = pb_kafka_check(cfg, out, err, sizeof(err));
        fclose(out);
        assert_int_equal(rc, PB_EXIT_UNAVAILABLE);
        assert_non_null(strstr(buf, "# Kafka 127.0.0.1:1, as this configuration's principal"));
        assert_non_null(strstr(buf, "✗ connect: connecting:"));
        assert_non_null(strstr(err, "connecting"));
        free(buf);
        pb_config_free(cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rows),
            cmocka_unit_test(test_unreachable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
