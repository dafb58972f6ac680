/* cmd_table.c: every command is in the table once, found by its name, in
 * --help within 80 columns, and in the README's table (whose rows this
 * prints: scripts/gen-docs.sh --check keeps README.md equal to it). */
#include "cmd_table.h"
#include "cmdtest.h"

static void test_table(void **state)
{
        (void)state;
        const char *want[] = {"run",         "fetch",      "backfill", "republish",
                              "normalize",   "replay",     "reload",   "check-config",
                              "healthcheck", "checkpoint", "show"};
        assert_int_equal(pb_commands_n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < pb_commands_n; i++) {
                const pb_command_t *c = pb_command_find(want[i]);
                assert_non_null(c);
                assert_non_null(c->fn);
                assert_true(*c->summary && *c->readme);
        }
        assert_null(pb_command_find("frobnicate"));
}

static void test_usage_and_markdown(void **state)
{
        (void)state;
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        pb_commands_usage(out);
        fclose(out);
        for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1)
                if (nl - line > 80 && line[2] == ' ')
                        fail_msg("a --help line over 80 columns: %.*s", (int)(nl - line), line);
        free(buf);
        out = open_memstream(&buf, &len);
        pb_commands_markdown(out);
        fclose(out);
        assert_has(buf, "| `portout-bridge normalize [FILE...\\|-]` |");
        assert_has(buf, "| `portout-bridge show PORTOUT_ID [--since T] [--json]` |");
        size_t rows = 0;
        for (const char *p = buf; (p = strstr(p, "\n| `portout-bridge ")); p++)
                rows++;
        assert_int_equal(rows, pb_commands_n);
        free(buf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_table),
            cmocka_unit_test(test_usage_and_markdown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
