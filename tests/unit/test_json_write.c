/* json_write.c against the library it reproduces: for every value, the bytes
 * must be json-c 0.16's own (JSON_C_TO_STRING_PLAIN | NOSLASHESCAPE), and the
 * size pass must agree with the write pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "json_write.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Writes v with both passes into a guarded buffer; checks it is json-c's. */
static void assert_like_json_c(json_object *v)
{
        size_t want_n = 0;
        const char *want = v ? json_object_to_json_string_length(v, FLAGS, &want_n) : "null";
        if (!v)
                want_n = 4;
        size_t n = pb_json_value_len(v);
        char *buf = malloc(n + 1);
        assert_non_null(buf);
        buf[n] = '\x7f'; /* a write past the sized length shows here */
        char *end = pb_json_value_put(buf, v);
        assert_ptr_equal(end, buf + n);
        assert_int_equal(buf[n], '\x7f');
        if (n != want_n || memcmp(buf, want, n) != 0)
                fail_msg("wrote %.*s, json-c writes %.*s", (int)n, buf, (int)want_n, want);
        free(buf);
}

static void assert_text_like_json_c(const char *text)
{
        json_object *v = json_tokener_parse(text);
        if (!v && strcmp(text, "null") != 0)
                fail_msg("not JSON: %s", text);
        assert_like_json_c(v);
        json_object_put(v);
}

static void test_scalars(void **state)
{
        (void)state;
        const char *const cases[] = {"null",
                                     "true",
                                     "false",
                                     "0",
                                     "-1",
                                     "9223372036854775807",
                                     "-9223372036854775808",
                                     "18446744073709551615",
                                     "1.5",
                                     "-0.0",
                                     "1e300",
                                     "2.50",
                                     "\"\"",
                                     "\"plain\"",
                                     "\"a/b\"",
                                     "\"q\\\"b\\\\s\"",
                                     "\"\\b\\f\\n\\r\\t\"",
                                     "\"\\u0000\\u001f\\u007f\"",
                                     "\"caf\\u00e9 \\ud83d\\ude00\"",
                                     "\"\xc3\xa9\xe2\x82\xac\""};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_text_like_json_c(cases[i]);
}

static void test_containers(void **state)
{
        (void)state;
        assert_text_like_json_c("[]");
        assert_text_like_json_c("{}");
        assert_text_like_json_c("[1,[2,[3,[]]],{\"a\":{}}]");
        assert_text_like_json_c("{\"k\\n\":\"v\\u0001\",\"n\":null,\"x\":[true,1.25,\"\"]}");
        assert_text_like_json_c("{\"id\":\"3f1c\",\"payload\":{\"status\":\"authorized\","
                                "\"foc_date\":\"2026-12-01T00:00:00Z\",\"carrier\":null}}");
}

/* Every single byte and every control character inside a string. */
static void test_every_byte(void **state)
{
        (void)state;
        for (int c = 1; c < 256; c++) {
                char s[4] = {'x', (char)c, 'y', 0};
                json_object *v = json_object_new_string_len(s, 3);
                assert_like_json_c(v);
                assert_int_equal(pb_json_string_len(s, 3),
                                 pb_json_value_len(v)); /* a string is a string */
                json_object_put(v);
        }
        json_object *z = json_object_new_string_len("a\0b", 3); /* an embedded NUL */
        assert_like_json_c(z);
        json_object_put(z);
}

/* Strings are scanned eight bytes at a time: every byte that needs an
 * escape (and some that do not) at every place in and across the words. */
static void test_every_byte_everywhere(void **state)
{
        (void)state;
        static const unsigned char probe[] = {0x01, 0x08, 0x1f, '"',  '\\',
                                              '/',  0x20, 0x7f, 0x80, 0xff};
        for (size_t len = 1; len <= 24; len++)
                for (size_t pos = 0; pos < len; pos++)
                        for (size_t k = 0; k < sizeof(probe); k++) {
                                char s[25];
                                memset(s, 'x', len);
                                s[pos] = (char)probe[k];
                                json_object *v = json_object_new_string_len(s, (int)len);
                                assert_like_json_c(v);
                                json_object_put(v);
                        }
}

/* Random trees built through json-c's API. */
static json_object *random_value(unsigned *seed, int depth)
{
        int kind = (int)(rand_r(seed) % (depth > 3 ? 5u : 7u));
        switch (kind) {
        case 0: return NULL;
        case 1: return json_object_new_boolean(rand_r(seed) & 1);
        case 2:
                return json_object_new_int64((int64_t)rand_r(seed) *
                                             (rand_r(seed) & 1 ? -7919 : 104729));
        case 3: return json_object_new_double((double)rand_r(seed) / 7.0);
        case 4: {
                char s[16];
                size_t n = rand_r(seed) % sizeof(s);
                for (size_t i = 0; i < n; i++)
                        s[i] = (char)(rand_r(seed) % 256);
                return json_object_new_string_len(s, (int)n);
        }
        case 5: {
                json_object *a = json_object_new_array();
                for (int i = (int)(rand_r(seed) % 4); i > 0; i--)
                        json_object_array_add(a, random_value(seed, depth + 1));
                return a;
        }
        default: {
                json_object *o = json_object_new_object();
                for (int i = (int)(rand_r(seed) % 4); i > 0; i--) {
                        char k[8];
                        snprintf(k, sizeof(k), "k%c%d", (char)(1 + rand_r(seed) % 126), i);
                        json_object_object_add(o, k, random_value(seed, depth + 1));
                }
                return o;
        }
        }
}

static void test_random_trees(void **state)
{
        (void)state;
        unsigned seed = 20261201;
        for (int i = 0; i < 5000; i++) {
                json_object *v = random_value(&seed, 0);
                assert_like_json_c(v);
                json_object_put(v);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_scalars),      cmocka_unit_test(test_containers),
            cmocka_unit_test(test_every_byte),   cmocka_unit_test(test_every_byte_everywhere),
            cmocka_unit_test(test_random_trees),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
