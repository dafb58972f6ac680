#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "file_lines.h"

static FILE *mem(const char *s)
{
        return fmemopen((void *)s, strlen(s), "r");
}

static void test_lines_and_bounds(void **state)
{
        (void)state;
        FILE *f = mem("one\r\ntwo\n\n0123456789ABC\nlast");
        pb_linereader_t *r = pb_linereader_new(f, 10);
        const char *line;
        size_t len, no;
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_OK);
        assert_string_equal(line, "one");
        assert_int_equal(no, 1);
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_OK);
        assert_string_equal(line, "two");
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_OK);
        assert_int_equal(len, 0);
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_TOO_LONG);
        assert_int_equal(len, 13);
        assert_int_equal(no, 4);
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_OK);
        assert_string_equal(line, "last"); /* no trailing newline */
        assert_int_equal(no, 5);
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_EOF);
        pb_linereader_free(r);
        fclose(f);
}

static void test_exact_bound(void **state)
{
        (void)state;
        FILE *f = mem("0123456789\n01234567890\n");
        pb_linereader_t *r = pb_linereader_new(f, 10);
        const char *line;
        size_t len, no;
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_OK);
        assert_string_equal(line, "0123456789");
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_TOO_LONG);
        assert_int_equal(len, 11);
        assert_int_equal(pb_linereader_next(r, &line, &len, &no), PB_LINE_EOF);
        pb_linereader_free(r);
        fclose(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lines_and_bounds),
            cmocka_unit_test(test_exact_bound),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
