/* cmd_checkpoint.c: the poll checkpoint as an operator reads it. */
#include "cmdtest.h"
#include "poll_checkpoint.h"

#include <unistd.h>

static void test_file_store(void **state)
{
        (void)state;
        char dir[] = "/tmp/pb-ckpt-XXXXXX", conf[600], path[512], *out, *err;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/checkpoint", dir);
        snprintf(conf, sizeof(conf), "telnyx = { checkpoint_file = \"%s\"; };\n", path);
        const char *c = tu_write_temp(conf);
        RUN(1, pb_cmd_checkpoint, c, "checkpoint");
        assert_has(out, "none (file ");
        FREE_IO();
        char e[PB_ERRSZ];
        assert_int_equal(pb_checkpoint_write(path, INT64_C(1772668800123000), e, sizeof(e)), 0);
        RUN(0, pb_cmd_checkpoint, c, "checkpoint");
        assert_has(out, "2026-03-05T00:00:00.123");
        assert_has(out, path);
        FREE_IO();
        RUN(PB_EXIT_USAGE, pb_cmd_checkpoint, c, "checkpoint extra");
        assert_has(err, "checkpoint: unexpected argument extra");
        FREE_IO();
        unlink(path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_file_store),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
