/* cmd_show.c: its arguments (the scan itself reads a real broker:
 * integration.state). */
#include "cmdtest.h"

static void test_arguments(void **state)
{
        (void)state;
        char *out, *err;
        RUN(0, pb_cmd_show, NULL, "show --help");
        assert_has(out, "Usage: portout-bridge [-c FILE] show PORTOUT_ID");
        FREE_IO();
        RUN(PB_EXIT_USAGE, pb_cmd_show, NULL, "show");
        assert_has(err, "show: ");
        FREE_IO();
        RUN(PB_EXIT_USAGE, pb_cmd_show, NULL, "show po-1 po-2");
        assert_has(err, "show: unexpected argument po-2");
        FREE_IO();
        RUN(PB_EXIT_USAGE, pb_cmd_show, NULL, "show po-1 --since yesterday");
        FREE_IO();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_arguments),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
