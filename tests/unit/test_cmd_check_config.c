/* cmd_check_config.c: its arguments, the example (every option of the
 * table, so the file in conf/ cannot miss one), the verdict on a good and a
 * bad file, and the ACL commands. */
#include "cmdtest.h"
#include "config_table.h"

static void test_example_names_every_option(void **state)
{
        (void)state;
        char *out, *err;
        RUN(0, pb_cmd_check_config, NULL, "check-config --example");
        for (size_t i = 0; i < pb_options_n; i++) {
                const char *dot = strchr(pb_options[i].name, '.');
                char key[80];
                snprintf(key, sizeof(key), "%s =", dot + 1);
                assert_has(out, key);
        }
        FREE_IO();
}

static void test_arguments(void **state)
{
        (void)state;
        char *out, *err;
        RUN(PB_EXIT_USAGE, pb_cmd_check_config, NULL, "check-config --frobnicate");
        assert_has(err, "check-config: unknown argument --frobnicate");
        FREE_IO();
        RUN(PB_EXIT_USAGE, pb_cmd_check_config, NULL, "check-config --acls User:x --mode sideways");
        assert_has(err, "unknown mode sideways");
        FREE_IO();
        RUN(0, pb_cmd_check_config, NULL, "check-config --metrics");
        assert_has(out, "| `portout_bridge_trace_spans_total` | counter |");
        FREE_IO();
}

static void test_verdicts(void **state)
{
        (void)state;
        char *out, *err;
        setenv("TELNYX_PUBLIC_KEY", TEST_PUBLIC_KEY, 1);
        RUN(0, pb_cmd_check_config, tu_write_temp("webhook = { port = 0; };\n"), "check-config");
        assert_has(out, "# configuration OK");
        assert_has(out, "tracing.propagate = true");
        FREE_IO();
        setenv("TELNYX_PUBLIC_KEY", TEST_PUBLIC_KEY, 1);
        const char *bad = tu_write_temp("webhook = { port = 99999; };\n");
        RUN(PB_EXIT_CONFIG, pb_cmd_check_config, bad, "check-config");
        assert_has(err, "configuration error");
        assert_has(err, bad); /* names the file */
        assert_has(err, "webhook.port");
        FREE_IO();
        unsetenv("TELNYX_PUBLIC_KEY");
        RUN(PB_EXIT_CONFIG, pb_cmd_check_config, tu_write_temp("webhook = { port = 0; };\n"),
            "check-config");
        assert_has(err, "public key");
        FREE_IO();
}

static void test_acls(void **state)
{
        (void)state;
        char *out, *err;
        setenv("TELNYX_PUBLIC_KEY", TEST_PUBLIC_KEY, 1);
        RUN(0, pb_cmd_check_config, tu_write_temp("webhook = { port = 0; };\n"),
            "check-config --acls User:bridge");
        assert_has(out, "kafka-acls.sh");
        assert_has(out, "--allow-principal 'User:bridge'");
        assert_has(out, "telnyx.portouts.status-changed");
        assert_has(out, "telnyx.portouts.dlq");
        FREE_IO();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_example_names_every_option),
            cmocka_unit_test(test_arguments),
            cmocka_unit_test(test_verdicts),
            cmocka_unit_test(test_acls),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
