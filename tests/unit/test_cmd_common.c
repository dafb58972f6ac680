/* cmd_common.c: what every command shares: help, loading the
 * configuration (an explicit file must exist; the secrets leave the
 * environment once read), and run's preflight. */
#include "cmdtest.h"

static void test_wants_help(void **state)
{
        (void)state;
        char *a[] = {"x", "--", "--help", NULL};
        assert_int_equal(pb_cmd_wants_help(3, a, "u\n"), 0); /* after --: an argument */
        char *b[] = {"x", "file", "-h", NULL};
        char *out, *err;
        (void)out;
        (void)err;
        assert_int_equal(pb_cmd_wants_help(3, b, ""), 1);
}

static void test_load_config(void **state)
{
        (void)state;
        pb_globals_t g = {"/nonexistent/portout-bridge.conf"};
        assert_null(pb_cmd_load_config(&g));
        setenv("TELNYX_API_KEY", "k-123", 1);
        g.config_path = tu_write_temp("log = { level = \"error\"; };\n");
        pb_config_t *cfg = pb_cmd_load_config(&g);
        assert_non_null(cfg);
        assert_string_equal(cfg->telnyx_api_key, "k-123");
        assert_null(getenv("TELNYX_API_KEY")); /* read, then gone */
        pb_config_free(cfg);
}

static void test_preflight(void **state)
{
        (void)state;
        char err[PB_ERRSZ];
        pb_globals_t g = {tu_write_temp("webhook = { enabled = false; };\n"
                                        "telnyx = { poll_enabled = false; };\n")};
        pb_config_t *cfg = pb_cmd_load_config(&g);
        assert_non_null(cfg);
        assert_int_equal(pb_cmd_preflight(cfg, NULL, NULL, err, sizeof(err)), -1);
        assert_has(err, "nothing to run");
        pb_config_free(cfg);
        setenv("TELNYX_PUBLIC_KEY", "bm90IGEga2V5", 1); /* base64, not 32 bytes */
        g.config_path = tu_write_temp("webhook = { port = 0; };\n");
        cfg = pb_cmd_load_config(&g);
        assert_non_null(cfg);
        assert_int_equal(pb_cmd_preflight(cfg, NULL, NULL, err, sizeof(err)), -1);
        assert_has(err, "32");
        pb_config_free(cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_wants_help),
            cmocka_unit_test(test_load_config),
            cmocka_unit_test(test_preflight),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
