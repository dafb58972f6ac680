/* Logging: every line, logfmt or JSON, is one line whatever the message
 * holds (quotes, newlines, control bytes), JSON lines parse with json-c and
 * give the message back, levels filter, and a message too long for a line is
 * cut but its line still parses. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Runs fn with stderr going to a file; returns what it wrote (caller frees). */
static char *capture(void (*fn)(void))
{
        char path[] = "/tmp/pb-log-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        fflush(stderr);
        int saved = dup(2);
        dup2(fd, 2);
        fn();
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        off_t n = lseek(fd, 0, SEEK_END);
        char *out = calloc(1, (size_t)n + 1);
        assert_int_equal(pread(fd, out, (size_t)n, 0), n);
        close(fd);
        remove(path);
        return out;
}

static size_t count_lines(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static const char hostile[] = "a \"quoted\" \\ back\nslash\ttab\x01\x1f end";

static void log_three(void)
{
        pb_log_set_level(PB_LOG_INFO);
        pb_info("%s", hostile);
        pb_debug("not printed at info");
        pb_log_field_t f[] = {{"id", "x y\n\"z\"", 0}, {"n", "42", 1}};
        pb_log_fields(PB_LOG_WARN, f, 2, "with fields");
}

static void test_logfmt_one_line_each(void **state)
{
        (void)state;
        pb_log_set_format(0);
        char *out = capture(log_three);
        assert_int_equal(count_lines(out), 2);
        assert_non_null(strstr(out, " level=info msg=\"a \\\"quoted\\\" \\\\ back\\nslash"));
        assert_non_null(strstr(out, "\\u0001\\u001f end\"\n"));
        assert_non_null(
            strstr(out, " level=warn msg=\"with fields\" id=\"x y\\n\\\"z\\\"\" n=42\n"));
        assert_null(strstr(out, "not printed"));
        free(out);
}

static void test_json_lines_parse(void **state)
{
        (void)state;
        pb_log_set_format(1);
        char *out = capture(log_three);
        pb_log_set_format(0);
        assert_int_equal(count_lines(out), 2);
        char *save = NULL, *line = strtok_r(out, "\n", &save);
        json_object *o = json_tokener_parse(line);
        assert_non_null(o);
        json_object *v;
        assert_true(json_object_object_get_ex(o, "msg", &v));
        assert_string_equal(json_object_get_string(v), hostile);
        assert_true(json_object_object_get_ex(o, "level", &v));
        assert_string_equal(json_object_get_string(v), "info");
        json_object_put(o);
        o = json_tokener_parse(strtok_r(NULL, "\n", &save));
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "id", &v));
        assert_string_equal(json_object_get_string(v), "x y\n\"z\"");
        assert_true(json_object_object_get_ex(o, "n", &v));
        assert_int_equal(json_object_get_int(v), 42);
        json_object_put(o);
        free(out);
}

/* 2000 control bytes escape to 12000 characters, twice a line's room. */
static void log_long(void)
{
        char msg[2001];
        memset(msg, '\x02', 2000);
        msg[2000] = '\0';
        pb_log_field_t f[] = {{"after", "kept", 0}};
        pb_log_fields(PB_LOG_ERROR, f, 1, "%s", msg);
}

static void test_a_cut_line_still_parses(void **state)
{
        (void)state;
        pb_log_set_format(1);
        char *out = capture(log_long);
        pb_log_set_format(0);
        assert_int_equal(count_lines(out), 1);
        assert_true(strlen(out) <= 6000);
        json_object *o = json_tokener_parse(out);
        assert_non_null(o); /* failed before: the closing quote and brace were cut */
        json_object *v;
        assert_true(json_object_object_get_ex(o, "after", &v));
        json_object_put(o);
        free(out);
}

static void test_levels(void **state)
{
        (void)state;
        assert_int_equal(pb_log_level_parse("debug"), PB_LOG_DEBUG);
        assert_int_equal(pb_log_level_parse("warn"), PB_LOG_WARN);
        assert_int_equal(pb_log_level_parse("verbose"), -1);
        pb_log_set_level(PB_LOG_WARN);
        assert_true(pb_log_enabled(PB_LOG_ERROR));
        assert_false(pb_log_enabled(PB_LOG_INFO));
        pb_log_set_level(PB_LOG_INFO);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_logfmt_one_line_each),
            cmocka_unit_test(test_json_lines_parse),
            cmocka_unit_test(test_a_cut_line_still_parses),
            cmocka_unit_test(test_levels),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
