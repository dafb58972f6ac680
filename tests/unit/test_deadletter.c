/* deadletter.c: the headers of a dead letter, the {"raw_base64"} wrapper of
 * input that is not publishable JSON, and the id of a rejected input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deadletter.h"

static void test_wrap_round_trips_any_bytes(void **state)
{
        (void)state;
        const unsigned char in[] = {'{', '"', 'n', '"', ':', 'N', 0xc0, 0xaf, 0x00, '\n', 0xff};
        for (size_t len = 0; len <= sizeof(in); len++) {
                char *v = pb_deadletter_wrap(in, len);
                assert_non_null(v);
                assert_memory_equal(v, "{\"raw_base64\":\"", 15);
                assert_string_equal(v + strlen(v) - 2, "\"}");
                for (const char *p = v; *p; p++) /* ASCII JSON, nothing to escape */
                        assert_true(*p >= 0x20 && *p < 0x7f && *p != '\\');
                unsigned char *out = NULL;
                size_t out_len = 0;
                assert_int_equal(pb_deadletter_unwrap(v, strlen(v), &out, &out_len), 0);
                assert_int_equal(out_len, len);
                if (len)
                        assert_memory_equal(out, in, len);
                free(out);
                free(v);
        }
}

static void test_unwrap_refuses_what_is_not_a_wrapper(void **state)
{
        (void)state;
        const char *bad[] = {"",
                             "{}",
                             "{\"raw_base64\":\"\"",
                             "{\"raw_base64\":\"!!!\"}",
                             "{\"raw_base64\":\"QQ\"}", /* unpadded */
                             "{\"raw\":\"QQ==\"}"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                unsigned char *out = NULL;
                size_t n = 0;
                assert_int_equal(pb_deadletter_unwrap(bad[i], strlen(bad[i]), &out, &n), -1);
                assert_null(out);
        }
}

static void test_reject_id_is_the_sha256_of_the_bytes(void **state)
{
        (void)state;
        char id[PB_DL_REJECT_ID_LEN + 1];
        pb_deadletter_reject_id("abc", 3, id);
        assert_string_equal(
            id, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        pb_deadletter_reject_id(NULL, 0, id); /* no bytes: the hash of nothing */
        assert_string_equal(
            id, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_headers_leave_out_what_is_absent(void **state)
{
        (void)state;
        pb_deadletter_t dl = {"normalize",
                              NULL,
                              NULL,
                              NULL,
                              {"webhook", "t", NULL},
                              NULL,
                              NULL,
                              PB_DL_ENCODING_JSON_BASE64,
                              NULL};
        pb_header_t h[PB_DL_MAX_HEADERS];
        size_t n = pb_deadletter_headers(&dl, h);
        assert_int_equal(n, 6);
        assert_string_equal(h[0].name, "pb_stage");
        assert_string_equal(h[1].value, "rejected"); /* no reason given: still one */
        assert_string_equal(h[n - 1].name, "pb_value_encoding");
        dl.redacted = "privacy"; /* the policy changed the value: said so */
        assert_int_equal(pb_deadletter_headers(&dl, h), 7);
        assert_string_equal(h[6].name, "pb_redacted");
        assert_string_equal(h[6].value, "privacy");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_wrap_round_trips_any_bytes),
            cmocka_unit_test(test_unwrap_refuses_what_is_not_a_wrapper),
            cmocka_unit_test(test_reject_id_is_the_sha256_of_the_bytes),
            cmocka_unit_test(test_headers_leave_out_what_is_absent),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
