/* kafka_acls.c: the ACLs the configuration needs, as kafka-acls.sh commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "kafka_acls.h"
#include "testutil.h"

static char out[8192];

static const char *print(const char *conf_text, int mode)
{
        char err[512];
        pb_config_t *cfg =
            pb_config_load(tu_write_temp(conf_text), tu_env_lookup, err, sizeof(err));
        if (!cfg)
                fail_msg("config: %s", err);
        FILE *f = fmemopen(out, sizeof(out), "w");
        pb_kafka_acls_print(cfg, mode < 0 ? pb_kafka_acl_mode(cfg) : (pb_acl_mode_t)mode,
                            "User:bridge", f);
        fclose(f);
        pb_config_free(cfg);
        return out;
}

/* The commands (not the comments), counted by operation. */
static int count(const char *text, const char *needle)
{
        int n = 0;
        for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
                n++;
        return n;
}

static void test_publisher_writes_only(void **state)
{
        (void)state;
        /* Webhooks without the index (or no webhooks: replay, backfill). */
        const char *t = print("topics = { new_comment = \"acme.comments\"; };\n"
                              "dedupe = { from_kafka = false; };\n",
                              -1);
        assert_int_equal(count(t, "\nkafka-acls.sh "), 1);
        assert_int_equal(count(t, "--operation Write"), 1);
        assert_int_equal(count(t, "--operation Read"), 0);
        assert_int_equal(count(t, "--group"), 0);
        assert_non_null(strstr(t, "--allow-principal 'User:bridge'"));
        assert_non_null(strstr(t, "--topic 'acme.comments'"));       /* the configured name */
        assert_non_null(strstr(t, "--topic 'telnyx.portouts.dlq'")); /* dead letters too */
        assert_non_null(strstr(t, "--topic 'telnyx.portouts.other'"));
        assert_null(strstr(t, "telnyx.portouts.control"));
        /* One poller with a file checkpoint needs nothing more. */
        t = print("telnyx = { poll_enabled = true; checkpoint_store = \"file\"; };\n"
                  "webhook = { enabled = false; };\n",
                  -1);
        assert_int_equal(count(t, "\nkafka-acls.sh "), 1);
}

/* Webhooks with the index (the default): publish, read the topics, and the
 * reader's group lookup; no election, no control topic. */
static void test_index_reads_the_topics(void **state)
{
        (void)state;
        const char *t = print("telnyx = { reconcile_group = \"acme-rec\"; };\n", -1);
        assert_int_equal(count(t, "\nkafka-acls.sh "), 3);
        assert_int_equal(count(t, "--operation Write"), 1);
        assert_int_equal(count(t, "--operation Read"), 1);
        assert_non_null(strstr(t, "--operation Describe --group 'acme-rec'"));
        assert_null(strstr(t, "telnyx.portouts.control"));
        assert_null(strstr(t, "poller"));
        /* With polling on a file checkpoint too: still the index's mode. */
        t = print("telnyx = { poll_enabled = true; checkpoint_store = \"file\"; };\n", -1);
        assert_int_equal(count(t, "\nkafka-acls.sh "), 3);
        t = print("", PB_ACL_INDEX);
        assert_int_equal(count(t, "\nkafka-acls.sh "), 3);
}

static void test_replicas_read_and_groups(void **state)
{
        (void)state;
        const char *t =
            print("topics = { control = \"acme.ctl\"; };\n"
                  "telnyx = { poll_enabled = true; checkpoint_store = \"kafka\";\n"
                  "  poll_group = \"acme-poller\"; reconcile_group = \"acme-rec\"; };\n",
                  -1);
        assert_int_equal(count(t, "\nkafka-acls.sh "), 4);
        assert_int_equal(count(t, "--operation Read"), 2);
        assert_non_null(strstr(t, "--operation Read --topic 'acme.ctl' --group 'acme-poller'"));
        assert_non_null(strstr(t, "--operation Describe --group 'acme-rec'"));
        /* CREATE only as a commented-out line: not needed once the topic exists. */
        assert_non_null(strstr(t, "\n# kafka-acls.sh"));
        assert_non_null(strstr(t, "--operation Create --topic 'acme.ctl'"));
        /* --mode overrides what the configuration would need. */
        t = print("", PB_ACL_REPLICAS);
        assert_int_equal(count(t, "\nkafka-acls.sh "), 4);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_publisher_writes_only),
            cmocka_unit_test(test_index_reads_the_topics),
            cmocka_unit_test(test_replicas_read_and_groups),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
