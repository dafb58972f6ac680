/* The privacy policy: paths dropped or hashed where they exist (nested,
 * absent, not an object on the way), the hash is RFC 4231's HMAC-SHA-256
 * (its test vector) and equal values hash equal; bad policies are refused;
 * and normalize applies it: the PIN appears in no envelope, the same PIN
 * gives the same hash, the document itself stays as given. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"
#include "privacy.h"
#include "testutil.h"

static const char key[] = "0123456789abcdef-a-test-key";

static void test_rfc4231_vector(void **state)
{
        (void)state;
        char k[20], out[80];
        memset(k, 0x0b, sizeof(k));
        pb_privacy_t *p = pb_privacy_new(NULL, "x", k, sizeof(k), NULL, 0);
        assert_non_null(p);
        pb_privacy_hash(p, "Hi There", 8, out);
        assert_string_equal(out, "hmac-sha256:b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da7"
                                 "26e9376c2e32cff7");
        pb_privacy_free(p);
}

static void test_drop_and_hash(void **state)
{
        (void)state;
        pb_privacy_t *p =
            pb_privacy_new("payload.subscriber_name, end_user_name,a.b.c",
                           "payload.attempted_pin,payload.n", key, strlen(key), NULL, 0);
        assert_non_null(p);
        assert_true(pb_privacy_active(p));
        json_object *o = json_tokener_parse(
            "{\"payload\":{\"subscriber_name\":\"Jo\",\"attempted_pin\":\"1234\",\"n\":[1,2],"
            "\"keep\":1},\"end_user_name\":\"Ann\",\"a\":\"not an object\"}");
        assert_int_equal(pb_privacy_apply(p, o), 4);
        json_object *pl, *v;
        assert_true(json_object_object_get_ex(o, "payload", &pl));
        assert_false(json_object_object_get_ex(pl, "subscriber_name", &v));
        assert_false(json_object_object_get_ex(o, "end_user_name", &v));
        assert_true(json_object_object_get_ex(pl, "keep", &v));
        char want[80];
        pb_privacy_hash(p, "1234", 4, want);
        assert_true(json_object_object_get_ex(pl, "attempted_pin", &v));
        assert_string_equal(json_object_get_string(v), want);
        pb_privacy_hash(p, "[1,2]", 5, want); /* not a string: its JSON text */
        assert_true(json_object_object_get_ex(pl, "n", &v));
        assert_string_equal(json_object_get_string(v), want);
        /* twice: nothing more (a hash is not hashed again) */
        char *once = strdup(json_object_to_json_string(o));
        assert_int_equal(pb_privacy_apply(p, o), 0);
        assert_string_equal(json_object_to_json_string(o), once);
        free(once);
        json_object_put(o);
        pb_privacy_free(p);
        /* none: inactive, changes nothing */
        p = pb_privacy_new(NULL, NULL, NULL, 0, NULL, 0);
        assert_false(pb_privacy_active(p));
        assert_false(pb_privacy_active(NULL));
        pb_privacy_free(p);
}

/* pb_privacy_reaches() says yes exactly when pb_privacy_apply() would
 * change the object: normalize skips its copy of a payload on a no. A
 * member whose value is null is present (the first version said no to
 * {"attempted_pin":null} and published it). */
static void test_reaches_agrees_with_apply(void **state)
{
        (void)state;
        char hashed[80];
        pb_privacy_t *hp = pb_privacy_new(NULL, "x", key, strlen(key), NULL, 0);
        pb_privacy_hash(hp, "1234", 4, hashed);
        pb_privacy_free(hp);
        char hdoc[160];
        snprintf(hdoc, sizeof(hdoc), "{\"attempted_pin\":\"%s\"}", hashed);
        const char *values[] = {
            NULL, /* the member is null */
            "{}",
            "{\"attempted_pin\":\"1234\"}",
            "{\"attempted_pin\":null}",
            "{\"attempted_pin\":{\"a\":[1]}}",
            hdoc,
            "{\"subscriber_name\":\"Jo\",\"id\":\"p\"}",
            "{\"deep\":{\"er\":null}}",
            "{\"deep\":\"not an object\"}",
            "[1,2]",
            "\"a string\"",
        };
        const char *policies[][2] = {
            {"payload.attempted_pin", NULL},
            {NULL, "payload.attempted_pin"},
            {"payload.subscriber_name", "payload.attempted_pin"},
            {"payload.deep.er", NULL},
            {NULL, "payload.deep.er"},
            {"payload", NULL},
            {NULL, "payload"},
            {"telnyx.x", "other.attempted_pin"},
        };
        for (size_t pi = 0; pi < sizeof(policies) / sizeof(policies[0]); pi++) {
                pb_privacy_t *p =
                    pb_privacy_new(policies[pi][0], policies[pi][1], key, strlen(key), NULL, 0);
                assert_non_null(p);
                for (size_t vi = 0; vi < sizeof(values) / sizeof(values[0]); vi++) {
                        json_object *v = values[vi] ? json_tokener_parse(values[vi]) : NULL;
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "payload", json_object_get(v));
                        int reaches = pb_privacy_reaches(p, "payload", v);
                        int changed = pb_privacy_apply(p, o) > 0;
                        if (reaches != changed)
                                fail_msg("policy %zu, value %s: reaches %d, apply changed %d", pi,
                                         values[vi] ? values[vi] : "null", reaches, changed);
                        /* a path under another member never reaches */
                        assert_false(pb_privacy_reaches(p, "elsewhere", v));
                        json_object_put(o);
                        json_object_put(v);
                }
                pb_privacy_free(p);
        }
}

static void test_bad_policies(void **state)
{
        (void)state;
        char err[256];
        assert_null(pb_privacy_new(NULL, "payload.attempted_pin", NULL, 0, err, sizeof(err)));
        assert_non_null(strstr(err, "key"));
        assert_null(pb_privacy_new(NULL, "x", "short", 5, err, sizeof(err)));
        assert_null(pb_privacy_new("payload..pin", NULL, NULL, 0, err, sizeof(err)));
        assert_non_null(strstr(err, "payload..pin"));
        assert_null(pb_privacy_new(".x", NULL, NULL, 0, err, sizeof(err)));
        assert_null(pb_privacy_new("a.b.c.d.e.f.g.h.i", NULL, NULL, 0, err, sizeof(err)));
        char many[400] = "";
        for (int i = 0; i < PB_PRIVACY_MAX_PATHS + 1; i++)
                snprintf(many + strlen(many), sizeof(many) - strlen(many), "p%d,", i);
        assert_null(pb_privacy_new(many, NULL, NULL, 0, err, sizeof(err)));
}

static void test_normalize_applies_it(void **state)
{
        (void)state;
        pb_privacy_t *p = pb_privacy_new("payload.subscriber_name", "payload.attempted_pin", key,
                                         strlen(key), NULL, 0);
        pb_norm_opts_t o = {"https://api.telnyx.com/v2/portouts", NULL, p, 0};
        size_t len;
        char *page = tu_read_file("rest-list.json", &len); /* the first event's PIN is "0000" */
        assert_non_null(strstr(page, "\"attempted_pin\":\"0000\""));
        pb_ingest_t ing = {PB_INGEST_REST, 1000000};
        pb_batch_t *b = pb_normalize(&o, page, len, &ing);
        assert_non_null(b);
        assert_true(b->cnt >= 1);
        char want[80];
        pb_privacy_hash(p, "0000", 4, want);
        const pb_envelope_t *e = b->items[0].env;
        assert_non_null(e);
        assert_null(strstr(e->json, "\"0000\""));
        assert_null(strstr(e->json, "subscriber_name"));
        assert_non_null(strstr(e->json, want));
        /* the same event again: the same hash, the same envelope */
        pb_batch_t *b2 = pb_normalize(&o, page, len, &ing);
        assert_string_equal(b2->items[0].env->json, e->json);
        /* no policy: verbatim */
        pb_norm_opts_t plain = {"https://api.telnyx.com/v2/portouts", NULL, NULL, 0};
        pb_batch_t *b3 = pb_normalize(&plain, page, len, &ing);
        assert_non_null(strstr(b3->items[0].env->json, "\"attempted_pin\":\"0000\""));
        pb_batch_free(b);
        pb_batch_free(b2);
        pb_batch_free(b3);
        free(page);
        pb_privacy_free(p);
}

/* A dead letter's document: the policy applies to its event (a webhook
 * body's "data", else the document), whitespace after it allowed; nothing
 * to change, not an object, truncated or followed by more: NULL. */
static void test_redact_doc(void **state)
{
        (void)state;
        pb_privacy_t *p =
            pb_privacy_new("payload.spid", "payload.attempted_pin", key, sizeof(key) - 1, NULL, 0);
        assert_non_null(p);
        size_t n = 0;
        const char hook[] = "{\"data\":{\"payload\":{\"attempted_pin\":\"1234\",\"spid\":\"x\","
                            "\"status\":\"s\"}},\"meta\":{\"attempt\":1}}\n";
        char *r = pb_privacy_redact_doc(p, hook, sizeof(hook) - 1, &n);
        assert_non_null(r);
        assert_int_equal(strlen(r), n);
        assert_null(strstr(r, "1234"));
        assert_null(strstr(r, "spid"));
        assert_non_null(strstr(r, "\"attempted_pin\":\"hmac-sha256:"));
        assert_non_null(strstr(r, "\"meta\":{\"attempt\":1}"));
        /* Applying it again changes nothing more. */
        assert_null(pb_privacy_redact_doc(p, r, n, &n));
        free(r);
        const char bare[] = "{\"id\":\"e\",\"payload\":{\"attempted_pin\":\"1234\"}}";
        r = pb_privacy_redact_doc(p, bare, sizeof(bare) - 1, &n);
        assert_non_null(r);
        assert_null(strstr(r, "1234"));
        free(r);
        static const char *const none[] = {"{\"payload\":{\"status\":\"s\"}}", "[1,2]", "\"1234\"",
                                           "{\"payload\":{\"attempted_pin\":\"1234\"}",
                                           "{\"payload\":{\"attempted_pin\":\"1234\"}} {}"};
        for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
                assert_null(pb_privacy_redact_doc(p, none[i], strlen(none[i]), &n));
        assert_null(pb_privacy_redact_doc(NULL, bare, sizeof(bare) - 1, &n)); /* no policy */
        pb_privacy_free(p);
}

/* A dead letter's value: the structural policy where the event is an
 * object, then every member named as a path ends, anywhere in any text:
 * a list, a truncated body, bytes that are not JSON. Applying it again
 * changes nothing; nothing named keeps its value. */
static void test_scrub(void **state)
{
        (void)state;
        pb_privacy_t *drop = pb_privacy_new("payload.attempted_pin", NULL, NULL, 0, NULL, 0);
        pb_privacy_t *hash =
            pb_privacy_new(NULL, "payload.attempted_pin", key, sizeof(key) - 1, NULL, 0);
        static const char *const docs[] = {
            /* a webhook: the path reaches it */
            "{\"data\":{\"payload\":{\"attempted_pin\":\"4711\",\"status\":\"s\"}}}",
            /* a list page: the paths do not, the name does */
            "{\"data\":[{\"payload\":{\"attempted_pin\":\"4711\"}},{\"payload\":{"
            "\"attempted_pin\" : 4711}}]}",
            /* truncated: not JSON at all */
            "{\"data\":{\"payload\":{\"attempted_pin\":\"4711\",\"status\":\"s",
            /* cut inside the PIN's own string */
            "{\"data\":{\"payload\":{\"attempted_pin\":\"47",
            /* the name written with escapes */
            "{\"payload\":{\"attempted\\u005fpin\":\"4711\",\"attempted_p\\u0069n\":4711}}",
            /* a value of another type, and an escaped quote in a string before it */
            "{\"x\":\"a\\\"b\",\"attempted_pin\":{\"v\":\"4711\"},\"y\":[\"attempted_pin\"]}",
        };
        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
                for (int h = 0; h < 2; h++) {
                        pb_privacy_t *p = h ? hash : drop;
                        char *out = NULL, *again = NULL;
                        size_t n = 0, n2 = 0;
                        assert_int_equal(pb_privacy_scrub(p, docs[i], strlen(docs[i]), &out, &n),
                                         1);
                        if (strstr(out, "4711") || strstr(out, "\"47"))
                                fail_msg("case %zu (%s): %s", i, h ? "hash" : "drop", out);
                        assert_int_equal(strlen(out), n);
                        assert_int_equal(pb_privacy_scrub(p, out, n, &again, &n2), 0);
                        assert_null(again);
                        if (i == 5) /* a member name inside a value is not a member */
                                assert_non_null(strstr(out, "[\"attempted_pin\"]"));
                        if (h)
                                assert_non_null(strstr(out, "hmac-sha256:"));
                        free(out);
                }
        }
        /* Equal PINs hash equal, in a list as in an event. */
        char *a = NULL, *b = NULL;
        size_t na, nb;
        assert_int_equal(pb_privacy_scrub(hash, docs[0], strlen(docs[0]), &a, &na), 1);
        assert_int_equal(pb_privacy_scrub(hash, docs[2], strlen(docs[2]), &b, &nb), 1);
        assert_memory_equal(strstr(a, "hmac-sha256:"), strstr(b, "hmac-sha256:"), 76);
        free(a);
        free(b);
        /* Nothing named: nothing to do. */
        const char plain[] = "{\"data\":{\"payload\":{\"status\":\"s\"}}";
        assert_int_equal(pb_privacy_scrub(drop, plain, strlen(plain), &a, &na), 0);
        assert_int_equal(pb_privacy_scrub(NULL, docs[0], strlen(docs[0]), &a, &na), 0);
        pb_privacy_free(drop);
        pb_privacy_free(hash);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rfc4231_vector),
            cmocka_unit_test(test_drop_and_hash),
            cmocka_unit_test(test_bad_policies),
            cmocka_unit_test(test_reaches_agrees_with_apply),
            cmocka_unit_test(test_normalize_applies_it),
            cmocka_unit_test(test_redact_doc),
            cmocka_unit_test(test_scrub),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
