#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envsubst.h"
#include "testutil.h"

static char *expand_ok(const char *in)
{
        char *out = NULL, err[256];
        if (pb_envsubst(in, tu_env_lookup, &out, err, sizeof(err)))
                fail_msg("\"%s\": %s", in, err);
        return out;
}

static void expect(const char *in, const char *want)
{
        char *out = expand_ok(in);
        assert_string_equal(out, want);
        free(out);
}

static void expect_error(const char *in, const char *fragment)
{
        char *out = NULL, err[256] = "";
        assert_int_equal(pb_envsubst(in, tu_env_lookup, &out, err, sizeof(err)), -1);
        assert_null(out);
        if (!strstr(err, fragment))
                fail_msg("error \"%s\" lacks \"%s\"", err, fragment);
}

static int setup(void **state)
{
        (void)state;
        tu_setenv("BROKERS", "kafka-1:9092,kafka-2:9092");
        tu_setenv("EMPTY", "");
        tu_setenv("_X1", "v");
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        tu_clearenv();
        return 0;
}

static void test_plain_and_refs(void **state)
{
        (void)state;
        expect("", "");
        expect("no refs", "no refs");
        expect("${BROKERS}", "kafka-1:9092,kafka-2:9092");
        expect("a=${_X1};b=${_X1}", "a=v;b=v");
        expect("${UNSET:-127.0.0.1:9092}", "127.0.0.1:9092");
        expect("${BROKERS:-fallback}", "kafka-1:9092,kafka-2:9092");
        expect("${EMPTY:-d}", "d"); /* like the shell: empty takes the default */
        expect("${EMPTY}", "");
        expect("${UNSET:-}", "");
        expect("cost $5 and $$HOME", "cost $5 and $HOME");
}

static void test_errors(void **state)
{
        (void)state;
        expect_error("${UNSET}", "UNSET is not set");
        expect_error("x ${BROKERS", "unterminated");
        expect_error("${}", "invalid variable reference");
        expect_error("${1A}", "invalid variable reference");
        expect_error("${A-B}", "unterminated");
        expect_error("${UNSET:-x", "unterminated");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_plain_and_refs),
            cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
