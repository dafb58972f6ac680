/* json_spans.c against json-c, which it stands in for on checked text: the
 * canonical bytes of a value are json-c's serialization of what json-c
 * parses from it; members are read where json-c finds them; what json-c
 * would read otherwise (an escaped member name, deep nesting, \u0000) is
 * reported, never guessed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "json_spans.h"
#include "jsoncheck.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static void assert_canon_like_json_c(const char *text)
{
        size_t tn = strlen(text);
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        if (pb_json_check(text, tn, &jc) != 0)
                fail_msg("not checked text: %s (%s)", text, jc.why);
        pb_jcheck_free(&jc);
        json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        /* (the NUL ends a bare number, which json-c otherwise waits on) */
        json_object *v = json_tokener_parse_ex(tok, text, (int)tn + 1);
        assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
        json_tokener_free(tok);
        size_t want_n = 0;
        const char *want = v ? json_object_to_json_string_length(v, FLAGS, &want_n) : "null";
        if (!v)
                want_n = 4;
        int verbatim = -1;
        size_t n = pb_jspan_canon_len(text, tn, 32, &verbatim);
        if (n == (size_t)-1)
                fail_msg("refused %s", text);
        char *buf = malloc(n + 1);
        assert_non_null(buf);
        buf[n] = '\x7f';
        char *end = pb_jspan_canon_put(buf, text, tn);
        assert_ptr_equal(end, buf + n);
        assert_int_equal(buf[n], '\x7f');
        if (n != want_n || memcmp(buf, want, n) != 0)
                fail_msg("wrote %.*s, json-c writes %.*s", (int)n, buf, (int)want_n, want);
        /* "verbatim" lets a caller copy the text instead: only when it is
         * exactly what json-c writes (a wrong yes overflows its buffer) */
        int same = n == tn && memcmp(buf, text, n) == 0;
        if (verbatim != same)
                fail_msg("%s: verbatim %d, but the bytes are %s", text, verbatim,
                         same ? "the same" : "not");
        free(buf);
        json_object_put(v);
}

static void test_canon_is_json_c(void **state)
{
        (void)state;
        static const char *const texts[] = {
            "{}",
            " { } ",
            "[ ]",
            "null",
            " true ",
            "false",
            "0",
            "-7",
            "1.0",
            "1e5",
            "1E+2",
            "-0.5",
            "2.50",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "\"\"",
            "\"plain \x7f \xc3\xa9\"",
            "\"a\\/b\"",
            "\"\\u00e9 \\ud83d\\ude00 \\u20AC\"",
            "\"\\b\\f\\n\\r\\t \\u0001 \\u001f \\u000b \\\" \\\\ \\u0022 \\u005c\"",
            "\"\\n\\t\\\" \\\\ \\u0001\"", /* escapes json-c writes as they are */
            "\"\\u001F\"",                 /* same length, other bytes */
            "{\"a\":[1,{\"b\":\"c\"}],\"d\":{}}",
            "{\"a\" :1}",
            "{ \"a\" : [ 1 , { \"b\" : \"c\\n\" } , [ ] ] , \"d\" : { } }",
            "[[[[[[1]]]]]]",
            "{\"payload\":{\"id\":\"p\",\"phone_numbers\":[\"+15550100\"],\"n\":null}}",
        };
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                assert_canon_like_json_c(texts[i]);
}

static void test_canon_refuses_what_json_c_reads_otherwise(void **state)
{
        (void)state;
        /* an escaped member name, a NUL, deeper than allowed */
        static const char *const texts[] = {"{\"a\\u0062\":1}", "\"a\\u0000b\"",
                                            "{\"x\":{\"a\\\"b\":1}}"};
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                if (pb_jspan_canon_len(texts[i], strlen(texts[i]), 32, NULL) != (size_t)-1)
                        fail_msg("wrote %s", texts[i]);
        assert_int_equal(pb_jspan_canon_len("[[[1]]]", 7, 3, NULL), 7);
        assert_int_equal(pb_jspan_canon_len("[[[1]]]", 7, 2, NULL), (size_t)-1);
        assert_int_equal(pb_jspan_canon_len("{\"a\":{}}", 8, 1, NULL), (size_t)-1);
        /* one value, nothing after it */
        assert_int_equal(pb_jspan_canon_len("1 2", 3, 32, NULL), (size_t)-1);
}

static void test_members(void **state)
{
        (void)state;
        const char *t = " { \"id\" : \"e1\" , \"payload\" : { \"x\" : [1,\"}\"] } , \"n\" : null ,"
                        "\"s\":\"a\\\"b\"} ";
        pb_jmember_t m[8];
        int cnt = pb_jspan_members(t, strlen(t), m, 8);
        assert_int_equal(cnt, 4);
        const pb_jmember_t *p = pb_jspan_find(m, cnt, "payload");
        assert_non_null(p);
        assert_int_equal(p->val_len, strlen("{ \"x\" : [1,\"}\"] }"));
        assert_memory_equal(p->val, "{ \"x\" : [1,\"}\"] }", p->val_len);
        assert_int_equal(pb_jspan_kind(p->val, p->val_len), '{');
        assert_true(pb_jspan_str_is(m[0].val, m[0].val_len, "e1"));
        assert_false(pb_jspan_str_is(m[0].val, m[0].val_len, "e"));
        const pb_jmember_t *s = pb_jspan_find(m, cnt, "s");
        size_t n = 0;
        assert_null(pb_jspan_plain_str(s->val, s->val_len, &n)); /* an escape: decode elsewhere */
        assert_int_equal(pb_jspan_kind(pb_jspan_find(m, cnt, "n")->val, 4), 'n');
        assert_null(pb_jspan_find(m, cnt, "absent"));
        assert_int_equal(pb_jspan_members("{}", 2, m, 8), 0);
        /* not an object, too many, an escaped name */
        assert_int_equal(pb_jspan_members("[1]", 3, m, 8), -1);
        assert_int_equal(pb_jspan_members("{\"a\":1,\"b\":2}", 13, m, 1), -1);
        assert_int_equal(pb_jspan_members("{\"\\u0061\":1}", 12, m, 8), -1);
}

/* A string inside a skipped container is found by its quote (memchr) and
 * the run of backslashes before it: even, the quote ends it; odd, it is
 * escaped. Every run length at every offset. */
static void test_skip_backslash_runs(void **state)
{
        (void)state;
        for (size_t pos = 0; pos < 18; pos++)
                for (size_t run = 0; run < 6; run++)
                        for (int escaped_quote = 0; escaped_quote < 2; escaped_quote++) {
                                char inner[64] = "", t[160];
                                size_t n = 0;
                                for (size_t i = 0; i < pos; i++)
                                        inner[n++] = 'x';
                                for (size_t i = 0; i < run; i++) { /* an escaped backslash */
                                        inner[n++] = '\\';
                                        inner[n++] = '\\';
                                }
                                if (escaped_quote) {
                                        inner[n++] = '\\';
                                        inner[n++] = '"';
                                        inner[n++] = '}';
                                }
                                inner[n] = '\0';
                                char p[96];
                                snprintf(p, sizeof(p), "{\"s\":\"%s\",\"t\":[1]}", inner);
                                snprintf(t, sizeof(t), "{\"p\":%s,\"q\":2}", p);
                                pb_jmember_t m[4];
                                int cnt = pb_jspan_members(t, strlen(t), m, 4);
                                assert_int_equal(cnt, 2);
                                assert_int_equal(m[0].val_len, strlen(p));
                                assert_memory_equal(m[0].val, p, strlen(p));
                                assert_int_equal(m[1].val_len, 1);
                                assert_int_equal(m[1].val[0], '2');
                        }
}

/* The members of every object json-c reads are the ones found here, in
 * order, with the same values. */
static void test_members_like_json_c(void **state)
{
        (void)state;
        const char *t = "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"e\","
                        "\"payload\":{\"id\":\"p\",\"n\":[1,2.5e3,{\"k\":\"v\"}]},"
                        "\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}";
        json_object *root = json_tokener_parse(t);
        pb_jmember_t m[8];
        int cnt = pb_jspan_members(t, strlen(t), m, 8);
        assert_int_equal(cnt, json_object_object_length(root));
        int i = 0;
        json_object_object_foreach(root, k, v)
        {
                assert_int_equal(m[i].name_len, strlen(k));
                assert_memory_equal(m[i].name, k, strlen(k));
                size_t n = pb_jspan_canon_len(m[i].val, m[i].val_len, 32, NULL);
                char buf[512];
                assert_true(n < sizeof(buf));
                pb_jspan_canon_put(buf, m[i].val, m[i].val_len);
                assert_memory_equal(buf, json_object_to_json_string_ext(v, FLAGS), n);
                i++;
        }
        json_object_put(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_canon_is_json_c),
            cmocka_unit_test(test_canon_refuses_what_json_c_reads_otherwise),
            cmocka_unit_test(test_members),
            cmocka_unit_test(test_skip_backslash_runs),
            cmocka_unit_test(test_members_like_json_c),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
