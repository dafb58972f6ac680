/* The capped buffer: appends within the bound, refusal past it (and the
 * memory freed), ownership handed over by take(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_appends_within_the_bound(void **state)
{
        (void)state;
        pb_buf_t b;
        pb_buf_init(&b, 10);
        assert_string_equal(pb_buf_ptr(&b), ""); /* never NULL */
        assert_int_equal(pb_buf_add(&b, "hello", 5), 0);
        assert_int_equal(pb_buf_adds(&b, "world"), 0); /* exactly the bound */
        assert_int_equal(pb_buf_len(&b), 10);
        assert_string_equal(pb_buf_ptr(&b), "helloworld");
        pb_buf_reset(&b);
        assert_int_equal(pb_buf_len(&b), 0);
        assert_string_equal(pb_buf_ptr(&b), "");
        assert_int_equal(pb_buf_adds(&b, "again"), 0);
        size_t len;
        char *m = pb_buf_take(&b, &len);
        assert_string_equal(m, "again");
        assert_int_equal(len, 5);
        assert_int_equal(pb_buf_len(&b), 0); /* emptied, still usable */
        free(m);
        pb_buf_free(&b);
}

static void test_past_the_bound_fails_and_frees(void **state)
{
        (void)state;
        pb_buf_t b;
        pb_buf_init(&b, 8);
        assert_int_equal(pb_buf_adds(&b, "12345"), 0);
        assert_int_equal(pb_buf_adds(&b, "6789"), -1); /* 9 > 8 */
        assert_true(b.overflow);
        assert_null(b.mem); /* freed, as curl's dynbuf does */
        assert_int_equal(pb_buf_len(&b), 0);
        /* A huge length cannot wrap the check. */
        pb_buf_init(&b, 8);
        assert_int_equal(pb_buf_add(&b, "x", SIZE_MAX), -1);
        assert_true(b.overflow);
        pb_buf_free(&b);
}

static void test_take_of_empty_is_an_empty_string(void **state)
{
        (void)state;
        pb_buf_t b;
        pb_buf_init(&b, 100);
        char *m = pb_buf_take(&b, NULL);
        assert_non_null(m);
        assert_string_equal(m, "");
        free(m);
}

static void test_growth_keeps_bytes(void **state)
{
        (void)state;
        pb_buf_t b;
        pb_buf_init(&b, 1 << 20);
        char chunk[1000];
        for (int i = 0; i < 1000; i++) {
                memset(chunk, 'a' + i % 26, sizeof(chunk));
                assert_int_equal(pb_buf_add(&b, chunk, sizeof(chunk)), 0);
        }
        assert_int_equal(pb_buf_len(&b), 1000000);
        const char *p = pb_buf_ptr(&b);
        for (int i = 0; i < 1000; i++)
                assert_int_equal(p[i * 1000 + 999], 'a' + i % 26);
        assert_int_equal(p[1000000], '\0');
        pb_buf_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_appends_within_the_bound),
            cmocka_unit_test(test_past_the_bound_fails_and_frees),
            cmocka_unit_test(test_take_of_empty_is_an_empty_string),
            cmocka_unit_test(test_growth_keeps_bytes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
