/* cmd_run.c: what `run` refuses before it starts anything (the daemon
 * itself is the integration tests'). */
#include "cmdtest.h"

static void test_refusals(void **state)
{
        (void)state;
        char *out, *err;
        RUN(0, pb_cmd_run, NULL, "run --help");
        assert_has(out, "Usage: portout-bridge [-c FILE] run");
        FREE_IO();
        RUN(PB_EXIT_USAGE, pb_cmd_run, NULL, "run now");
        assert_has(err, "run: unexpected argument now");
        FREE_IO();
        unsetenv("TELNYX_PUBLIC_KEY");
        RUN(PB_EXIT_CONFIG, pb_cmd_run, tu_write_temp("webhook = { port = 0; };\n"), "run");
        assert_has(err, "configuration error");
        FREE_IO();
        setenv("TELNYX_PUBLIC_KEY", TEST_PUBLIC_KEY, 1);
        RUN(PB_EXIT_CONFIG, pb_cmd_run,
            tu_write_temp(
                "webhook = { port = 0; };\ntracing = { otlp_endpoint = \"ftp://x\"; };\n"),
            "run");
        assert_has(err, "not an http(s) URL");
        FREE_IO();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
