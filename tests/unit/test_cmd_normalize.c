/* cmd_normalize.c: envelopes on stdout, rejections as FILE:LINE on stderr,
 * the exit code saying whether all were used. */
#include <json-c/json.h>

#include "cmdtest.h"

static void test_help(void **state)
{
        (void)state;
        char *out, *err;
        RUN(0, pb_cmd_normalize, NULL, "normalize --help");
        assert_has(out, "Usage: portout-bridge [-c FILE] normalize [FILE...|-]");
        FREE_IO();
}

static void test_good_and_bad_lines(void **state)
{
        (void)state;
        size_t len;
        char *hook = tu_read_file(PB_FIXTURES "/webhook-status-changed.json", &len);
        char doc[8192];
        snprintf(doc, sizeof(doc), "%.*s\n{\"data\":{}}\nnot json\n", (int)strcspn(hook, "\n"),
                 hook);
        free(hook);
        char path[64], args[512], *out, *err, where[600];
        snprintf(path, sizeof(path), "%s", tu_write_temp(doc)); /* its buffer is reused */
        snprintf(args, sizeof(args), "normalize %s", path);
        RUN(PB_EXIT_DATAERR, pb_cmd_normalize, tu_write_temp(""), args);
        /* One envelope, strict JSON, its own line. */
        assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
        json_object *env = json_tokener_parse(out);
        assert_non_null(env);
        json_object *v;
        assert_true(json_object_object_get_ex(env, "specversion", &v));
        assert_string_equal(json_object_get_string(v), "1.0");
        json_object_put(env);
        snprintf(where, sizeof(where), "%s:2: ", path);
        assert_has(err, where);
        snprintf(where, sizeof(where), "%s:3: ", path);
        assert_has(err, where);
        FREE_IO();
}

static void test_missing_file(void **state)
{
        (void)state;
        char *out, *err;
        RUN(PB_EXIT_DATAERR, pb_cmd_normalize, tu_write_temp(""),
            "normalize /nonexistent/x.ndjson");
        assert_has(err, "/nonexistent/x.ndjson");
        assert_string_equal(out, "");
        FREE_IO();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_help),
            cmocka_unit_test(test_good_and_bad_lines),
            cmocka_unit_test(test_missing_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
