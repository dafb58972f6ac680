/* cmd_healthcheck.c (healthcheck and reload): which URL each asks, and what
 * it says when nobody is there. The reload itself is integration.tls's. */
#include "cmdtest.h"

static void test_arguments_and_answers(void **state)
{
        (void)state;
        char *out, *err;
        RUN(PB_EXIT_USAGE, pb_cmd_healthcheck, NULL, "healthcheck --now");
        assert_has(err, "healthcheck: unexpected argument --now");
        FREE_IO();
        RUN(PB_EXIT_CONFIG, pb_cmd_healthcheck, tu_write_temp("admin = { enabled = false; };\n"),
            "healthcheck");
        assert_has(err, "admin.enabled is false");
        FREE_IO();
        /* Port 1 on loopback: nobody. A wildcard bind is asked on loopback. */
        const char *c = tu_write_temp("admin = { address = \"0.0.0.0\"; port = 1; };\n");
        RUN(1, pb_cmd_healthcheck, c, "healthcheck --ready");
        assert_has(err, "healthcheck: http://127.0.0.1:1/readyz: ");
        FREE_IO();
        c = tu_write_temp("admin = { address = \"::\"; port = 1; };\n");
        RUN(1, pb_cmd_healthcheck, c, "healthcheck");
        assert_has(err, "http://[::1]:1/healthz");
        FREE_IO();
}

static void test_reload(void **state)
{
        (void)state;
        char *out, *err;
        RUN(PB_EXIT_USAGE, pb_cmd_reload, NULL, "reload now");
        assert_has(err, "reload: unexpected argument now");
        FREE_IO();
        RUN(0, pb_cmd_reload, NULL, "reload --help");
        assert_has(out, "Usage: portout-bridge [-c FILE] reload");
        FREE_IO();
        const char *c = tu_write_temp("admin = { address = \"127.0.0.1\"; port = 1; };\n");
        RUN(1, pb_cmd_reload, c, "reload");
        assert_has(err, "reload: http://127.0.0.1:1/-/reload: ");
        FREE_IO();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_arguments_and_answers),
            cmocka_unit_test(test_reload),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
