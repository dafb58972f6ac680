/* jsoncheck: what json-c reads but cannot give back as sent is found, with
 * the field's path; what it can is passed; list elements are spanned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "jsoncheck.h"

static int check(const char *doc, pb_jcheck_t *jc)
{
        memset(jc, 0, sizeof(*jc));
        jc->want_items = 1;
        return pb_json_check(doc, strlen(doc), jc);
}

static void expect(const char *doc, int want_rc, const char *fragment)
{
        pb_jcheck_t jc;
        int rc = check(doc, &jc);
        if (rc != want_rc || (fragment && !strstr(jc.why, fragment)))
                fail_msg("%s: rc %d (want %d), why \"%s\" (want \"%s\")", doc, rc, want_rc, jc.why,
                         fragment ? fragment : "");
        pb_jcheck_free(&jc);
}

static void test_publishable(void **state)
{
        (void)state;
        static const char *const ok[] = {
            "{}",
            "[]",
            " {\"a\" : [1, -1, 0, -0.0, 1.5e3, 1E-400, 1e400, true, false, null]} ",
            "[18446744073709551615, -9223372036854775808, 9223372036854775807]",
            "\"\\ud83d\\ude00\\u00e9\\n\\\"\\\\\\/\"",
            "\"\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\"",
            "{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":3},{\"a\":4}]}", /* same name, other objects */
            "{\"a\":1,\"A\":2,\"a \":3}",
            "0",
            "-12"};
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                expect(ok[i], 0, NULL);
}

static void test_problems(void **state)
{
        (void)state;
        expect("{\"n\":NaN}", 1, "field \"n\" is not a finite number");
        expect("{\"m\":[1,-Infinity]}", 1, "field \"m[1]\" is not a finite number");
        expect("{\"id\":\"a\xc0\xaf\"}", 1, "field \"id\" is not valid UTF-8");
        expect("{\"id\":\"a\xed\xa0\x80\"}", 1, "not valid UTF-8");     /* encoded surrogate */
        expect("{\"id\":\"a\xf4\x90\x80\x80\"}", 1, "not valid UTF-8"); /* above U+10FFFF */
        expect("{\"id\":\"a\xe2\x82\"}", 1, "not valid UTF-8");         /* cut short */
        expect("{\"k\xc1\x81\":1}", 1, "not valid UTF-8");              /* a member name */
        expect("{\"s\":\"\\ud800\"}", 1, "field \"s\" has a lone surrogate escape (\\ud800)");
        expect("{\"s\":\"\\udc00\\ud800\"}", 1, "lone surrogate");
        expect("{\"s\":\"\\ud800\\u0041\"}", 1, "lone surrogate");
        expect("{\"s\":\"a\tb\"}", 1, "unescaped control character");
        expect("{\"n\":18446744073709551616}", 1, "field \"n\" is an integer beyond 64 bits");
        expect("{\"n\":-9223372036854775809}", 1, "beyond 64 bits");
        expect("[1000000000000000000000000000000000000000]", 1,
               "field \"[0]\" is an integer beyond");
        expect("{\"n\":-0}", 1, "field \"n\" is -0");
        /* Duplicate names, however written, anywhere. */
        expect("{\"id\":\"a\",\"id\":\"b\"}", 1,
               "the document has the member \"id\" more than once");
        expect("{\"data\":{\"p\":{\"x\":1,\"\\u0078\":2}}}", 1,
               "field \"data.p\" has the member \"x\" more than once");
        expect("{\"data\":{},\"meta\":{},\"data\":{}}", 1, "member \"data\" more than once");
        /* A name holding U+0000 is another name to us, a C string to json-c. */
        expect("{\"id\":\"a\",\"id\\u0000\":\"b\"}", 1,
               "the document has a member name holding U+0000");
        expect("{\"a\\u0000b\":1}", 1, "member name holding U+0000");
        expect("{\"s\":\"a\\u0000b\"}", 0,
               NULL); /* in a value it is kept (json-c keeps the length) */
        /* Many members: found by sorting, not pairwise. */
        char big[4096] = "{";
        for (int i = 0; i < 200; i++)
                snprintf(big + strlen(big), sizeof(big) - strlen(big), "\"k%d\":%d,", i, i);
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "\"k117\":0}");
        expect(big, 1, "member \"k117\" more than once");
}

static void test_not_json(void **state)
{
        (void)state;
        static const char *const bad[] = {
            "",    "{",   "{\"a\"}", "[1,]",      "{\"a\":1,}", "01",    "1.",   "-",
            "nul", "'a'", "[1] [2]", "\"\\x41\"", "\"\\u12\"",  "[1 2]", "{1:2}"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                expect(bad[i], -1, "not JSON");
        char deep[200];
        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        assert_int_equal(pb_json_check(deep, sizeof(deep), &jc), -1);
        assert_non_null(strstr(jc.why, "too deep"));
}

/* A list response: every element spanned, only the bad ones marked. */
static void test_items(void **state)
{
        (void)state;
        const char *doc =
            "{\"data\": [ {\"id\":\"a\"}, {\"n\":-0} ,{\"s\":\"\\ud800\",\"t\":NaN},3 ],"
            "\"meta\":{}}";
        pb_jcheck_t jc;
        assert_int_equal(check(doc, &jc), 1);
        assert_int_equal(jc.items_ok, 1);
        assert_int_equal(jc.nitems, 4);
        static const char *const want[] = {"{\"id\":\"a\"}", "{\"n\":-0}",
                                           "{\"s\":\"\\ud800\",\"t\":NaN}", "3"};
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(jc.items[i].len, strlen(want[i]));
                assert_memory_equal(doc + jc.items[i].off, want[i], strlen(want[i]));
                assert_int_equal(jc.items[i].bad, i == 1 || i == 2);
        }
        pb_jcheck_free(&jc);
        /* A problem outside the elements: the document as a whole. */
        assert_int_equal(check("{\"data\":[{\"id\":\"a\"}],\"meta\":{\"n\":-0}}", &jc), 1);
        assert_int_equal(jc.items_ok, 0);
        pb_jcheck_free(&jc);
        assert_int_equal(check("{\"data\":[{\"a\":1}],\"data\":[]}", &jc), 1);
        assert_int_equal(jc.items_ok, 0);
        pb_jcheck_free(&jc);
        /* A second "data" array cut by a syntax error: no spans are claimed
         * (fuzz_rest_page found items_ok left from the first, with an
         * element of length 0). */
        assert_int_equal(check("{\"data\":[false],\"data\":[ 'alse ]}", &jc), -1);
        assert_int_equal(jc.items_ok, 0);
        pb_jcheck_free(&jc);
}

/* pb_json_parse(): exactly the bytes given, whole, and never more memory
 * than the bound says. */
static void test_parse(void **state)
{
        (void)state;
        char why[256];
        /* No NUL after the text: a Kafka record's payload (exactly its bytes,
         * so that ASan sees a read past them). */
        char *rec = malloc(11);
        memcpy(rec, "{\"a\":[1,2]}", 11);
        json_object *o = pb_json_parse(rec, 11, why, sizeof(why));
        assert_non_null(o);
        assert_int_equal(json_object_object_length(o), 1);
        json_object_put(o);
        memcpy(rec, "{\"a\":12345", 10); /* cut short at its last byte */
        assert_null(pb_json_parse(rec, 10, why, sizeof(why)));
        free(rec);
        o = pb_json_parse("12", 2, why, sizeof(why)); /* a number at the very end */
        assert_non_null(o);
        assert_int_equal(json_object_get_int(o), 12);
        json_object_put(o);
        o = pb_json_parse(" {} \n", 5, why, sizeof(why));
        assert_non_null(o);
        json_object_put(o);
        static const char *const bad[] = {"", "{", "{} {}", "{}x", "null", "{\"a\":1,}"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why[0] = '\0';
                assert_null(pb_json_parse(bad[i], strlen(bad[i]), why, sizeof(why)));
                assert_true(why[0] != '\0');
        }
        /* A text cut short inside the bytes given is not read past them,
         * and says it was cut (a proxy, a dropped connection). */
        assert_null(pb_json_parse("{\"a\":\"bc\"}", 8, why, sizeof(why)));
        assert_non_null(strstr(why, "truncated"));
        assert_null(pb_json_parse("{\"a\":nu", 7, why, sizeof(why)));
        assert_non_null(strstr(why, "truncated"));
        assert_null(pb_json_parse("{\"a\":nul}", 9, why, sizeof(why)));
        assert_null(strstr(why, "truncated"));
        /* Cost: 100,000 empty objects take json-c about 80 MB; refused. */
        size_t n = 100000, len = 2 + 3 * n;
        char *many = malloc(len + 1);
        char *p = many;
        *p++ = '[';
        for (size_t i = 0; i < n; i++) {
                memcpy(p, i ? ",{}" : "{}", i ? 3 : 2);
                p += i ? 3 : 2;
        }
        *p++ = ']';
        len = (size_t)(p - many);
        assert_null(pb_json_parse(many, len, why, sizeof(why)));
        assert_non_null(strstr(why, "would take about"));
        o = pb_json_parse_max(many, len, 0, why, sizeof(why)); /* unbounded: read */
        assert_non_null(o);
        assert_int_equal(json_object_array_length(o), n);
        json_object_put(o);
        free(many);
}

static void test_utf8(void **state)
{
        (void)state;
        assert_true(pb_utf8_valid("plain ascii, longer than eight", 30));
        assert_true(pb_utf8_valid("\xc3\xa9\xf0\x9f\x98\x80", 6));
        assert_false(pb_utf8_valid("\xc0\xaf", 2));
        assert_false(pb_utf8_valid("\xed\xa0\x80", 3));
        assert_false(pb_utf8_valid("abcdefgh\xff", 9));
}

/* The string scan takes eight bytes at a time: what ends a plain run (a
 * control character, bytes that are not UTF-8, a quote, an escape) is found
 * wherever it lies in and across the words. */
static void test_string_words(void **state)
{
        (void)state;
        for (size_t len = 1; len <= 20; len++)
                for (size_t pos = 0; pos < len; pos++) {
                        char doc[64], s[24];
                        memset(s, 'x', len);
                        s[len] = '\0';
                        s[pos] = '\x01';
                        snprintf(doc, sizeof(doc), "[\"%s\"]", s);
                        expect(doc, 1, "control character");
                        s[pos] = '\xff';
                        snprintf(doc, sizeof(doc), "[\"%s\"]", s);
                        expect(doc, 1, "UTF-8");
                        s[pos] = '"'; /* the string ends there: what follows is not JSON */
                        snprintf(doc, sizeof(doc), "[\"%s\"]", s);
                        expect(doc, -1, NULL);
                        if (pos + 2 <= len) { /* an escape, then the rest */
                                s[pos] = '\\';
                                s[pos + 1] = 'n';
                                snprintf(doc, sizeof(doc), "[\"%s\"]", s);
                                expect(doc, 0, NULL);
                        }
                        if (pos + 2 <= len) { /* é, two bytes of UTF-8 */
                                memset(s, 'x', len);
                                s[pos] = '\xc3';
                                s[pos + 1] = '\xa9';
                                snprintf(doc, sizeof(doc), "[\"%s\"]", s);
                                expect(doc, 0, NULL);
                        }
                }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_publishable),  cmocka_unit_test(test_problems),
            cmocka_unit_test(test_not_json),     cmocka_unit_test(test_items),
            cmocka_unit_test(test_utf8),         cmocka_unit_test(test_parse),
            cmocka_unit_test(test_string_words),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
