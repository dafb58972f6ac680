/* cmd_healthcheck.c: which URL it asks, and what it says when nobody is
 * there. */
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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_arguments_and_answers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
