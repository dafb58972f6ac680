/* Desk commands: what a record must be to be carried out (a CloudEvent of a
 * known type, a command id and a port-out id of their grammars, its key the
 * subject, a time, a reject's reason, a comment's body), what is refused
 * without a call (stale, not pending), the bodies the official SDKs send,
 * how a call of unknown fate is settled, and the result's data. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "desk_command.h"
#include "timefmt.h"

#define PO "0b6e3b5c-1111-4000-8000-000000000001"

static int parse(const char *v, const char *key, pb_command_t *c, char *why)
{
        return pb_command_parse(v, strlen(v), key, key ? strlen(key) : 0, c, why, 256);
}

static void test_parse(void **state)
{
        (void)state;
        pb_command_t c;
        char why[256];
        const char *ok =
            "{\"specversion\":\"1.0\",\"id\":\"cmd-1:a.b_c\",\"source\":\"urn:x\","
            "\"type\":\"com.telnyx.portout.reject\",\"subject\":\"" PO "\","
            "\"time\":\"2026-03-01T00:00:00Z\",\"data\":{\"reason\":\"fraud \\\"x\\\"\"}}";
        assert_int_equal(parse(ok, PO, &c, why), 0);
        assert_int_equal(c.type, PB_CMD_REJECT);
        assert_string_equal(c.id, "cmd-1:a.b_c");
        assert_string_equal(c.portout_id, PO);
        assert_string_equal(c.reason, "fraud \"x\"");
        int64_t t;
        pb_time_parse_rfc3339("2026-03-01T00:00:00Z", &t);
        assert_true(c.time_us == t);
        struct {
                const char *value, *key, *why;
                int id_kept;
        } bad[] = {
            {"not json", PO, "not a JSON object", 0},
            {"[1]", PO, "not a JSON object", 0},
            {"{\"id\":\"c\",\"source\":\"s\",\"type\":\"com.telnyx.portout.authorize\"}", PO,
             "specversion", 1},
            {"{\"specversion\":\"1.0\",\"id\":\"bad id\",\"source\":\"s\",\"type\":"
             "\"com.telnyx.portout.authorize\",\"subject\":\"" PO "\"}",
             PO, "command id", 0},
            {"{\"specversion\":\"1.0\",\"id\":\"c\",\"source\":\"s\",\"type\":"
             "\"com.telnyx.portout.escalate\",\"subject\":\"" PO "\"}",
             PO, "unknown command type", 1},
            {"{\"specversion\":\"1.0\",\"id\":\"c\",\"source\":\"s\",\"type\":"
             "\"com.telnyx.portout.authorize\",\"subject\":\"../x\"}",
             PO, "subject", 1},
            {"{\"specversion\":\"1.0\",\"id\":\"c\",\"source\":\"s\",\"type\":"
             "\"com.telnyx.portout.authorize\",\"subject\":\"" PO
             "\",\"time\":\"2026-03-01T00:00:00Z\"}",
             "other", "key", 1},
            {"{\"specversion\":\"1.0\",\"id\":\"c\",\"source\":\"s\",\"type\":"
             "\"com.telnyx.portout.authorize\",\"subject\":\"" PO "\",\"time\":\"yesterday\"}",
             PO, "time", 1},
            {"{\"specversion\":\"1.0\",\"id\":\"c\",\"source\":\"s\",\"type\":"
             "\"com.telnyx.portout.reject\",\"subject\":\"" PO
             "\",\"time\":\"2026-03-01T00:00:00Z\","
             "\"data\":{}}",
             PO, "reason", 1},
            {"{\"specversion\":\"1.0\",\"id\":\"c\",\"source\":\"s\",\"type\":"
             "\"com.telnyx.portout.comment\",\"subject\":\"" PO
             "\",\"time\":\"2026-03-01T00:00:00Z\","
             "\"data\":{\"body\":\"\"}}",
             PO, "body", 1},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why[0] = '\0';
                assert_int_equal(parse(bad[i].value, bad[i].key, &c, why), -1);
                if (!strstr(why, bad[i].why))
                        fail_msg("case %zu: \"%s\" does not say %s", i, why, bad[i].why);
                assert_int_equal(c.id[0] != '\0', bad[i].id_kept);
        }
        /* Bytes that are not UTF-8 (found by fuzz_command: a type with byte
         * 0xCA was named in the result, which then was not UTF-8): refused,
         * the id still named. */
        const char *latin = "{\"specversion\":\"1.0\",\"id\":\"c-2\",\"source\":\"s\",\"type\":"
                            "\"com.telnyx.portout.\xca\",\"subject\":\"" PO "\","
                            "\"time\":\"2026-03-01T00:00:00Z\",\"data\":{\"body\":\"caf\xe9\"}}";
        assert_int_equal(parse(latin, PO, &c, why), -1);
        assert_non_null(strstr(why, "UTF-8"));
        assert_string_equal(c.id, "c-2");
        assert_string_equal(c.type_name, "");
        /* an authorize's reason is optional */
        const char *auth = "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"s\",\"type\":"
                           "\"com.telnyx.portout.authorize\",\"subject\":\"" PO "\","
                           "\"time\":\"2026-03-01T00:00:00Z\"}";
        assert_int_equal(parse(auth, PO, &c, why), 0);
        assert_string_equal(c.reason, "");
}

static void test_rules_and_requests(void **state)
{
        (void)state;
        pb_command_t c;
        memset(&c, 0, sizeof(c));
        c.type = PB_CMD_AUTHORIZE;
        c.time_us = 1000LL * 1000000;
        char why[256], body[256];
        assert_int_equal(
            pb_command_allowed(&c, "pending", c.time_us + 3600LL * 1000000, 3600, why, sizeof(why)),
            0);
        assert_int_equal(
            pb_command_allowed(&c, "pending", c.time_us + 3601LL * 1000000, 3600, why, sizeof(why)),
            -1);
        assert_non_null(strstr(why, "old"));
        assert_int_equal(pb_command_allowed(&c, "authorized", c.time_us, 3600, why, sizeof(why)),
                         -1);
        assert_non_null(strstr(why, "pending"));
        c.type = PB_CMD_COMMENT; /* a comment on a final port-out is allowed */
        assert_int_equal(pb_command_allowed(&c, "ported", c.time_us, 3600, why, sizeof(why)), 0);
        /* the bodies the SDKs send: the one member, nothing else */
        const char *method, *suffix;
        c.type = PB_CMD_AUTHORIZE;
        assert_int_equal(pb_command_request(&c, &method, &suffix, body, sizeof(body)), 0);
        assert_string_equal(method, "PATCH");
        assert_string_equal(suffix, "/authorized");
        assert_string_equal(body, "{\"reason\":\"\"}");
        c.type = PB_CMD_REJECT;
        snprintf(c.reason, sizeof(c.reason), "a \"b\"");
        assert_int_equal(pb_command_request(&c, &method, &suffix, body, sizeof(body)), 0);
        assert_string_equal(suffix, "/rejected-pending");
        assert_string_equal(body, "{\"reason\":\"a \\\"b\\\"\"}");
        c.type = PB_CMD_COMMENT;
        snprintf(c.body, sizeof(c.body), "hello");
        assert_int_equal(pb_command_request(&c, &method, &suffix, body, sizeof(body)), 0);
        assert_string_equal(method, "POST");
        assert_string_equal(suffix, "/comments");
        assert_string_equal(body, "{\"body\":\"hello\"}");
        assert_int_equal(pb_command_request(&c, &method, &suffix, body, 8), -1);
        /* settled by reading */
        c.type = PB_CMD_AUTHORIZE;
        assert_true(pb_command_settled_done(&c, "authorized", 0));
        assert_false(pb_command_settled_done(&c, "pending", 0));
        c.type = PB_CMD_REJECT;
        assert_true(pb_command_settled_done(&c, "rejected-pending", 0));
        assert_false(pb_command_settled_done(&c, "authorized", 0));
        c.type = PB_CMD_COMMENT;
        assert_true(pb_command_settled_done(&c, "pending", 1));
        assert_false(pb_command_settled_done(&c, "pending", 0));
}

static void test_result_data(void **state)
{
        (void)state;
        pb_command_t c;
        memset(&c, 0, sizeof(c));
        snprintf(c.id, sizeof(c.id), "cmd-9");
        snprintf(c.portout_id, sizeof(c.portout_id), PO);
        snprintf(c.type_name, sizeof(c.type_name), "com.telnyx.portout.reject");
        pb_command_result_t r = {.outcome = "failed",
                                 .http_status = 422,
                                 .error_code = "10015",
                                 .error_detail = "The port-out is authorized",
                                 .status_after = "authorized",
                                 .reason = "Telnyx refused the call"};
        size_t len;
        char *s = pb_command_result_data(&c, &r, &len);
        assert_non_null(s);
        json_object *o = json_tokener_parse(s);
        assert_non_null(o);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "command_id")),
                            "cmd-9");
        assert_int_equal(json_object_get_int(json_object_object_get(o, "http_status")), 422);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "error_code")),
                            "10015");
        json_object *v = (json_object *)1;
        assert_true(json_object_object_get_ex(o, "settled_by", &v));
        assert_null(v); /* present, null */
        json_object_put(o);
        free(s);
        /* no readable id: command_id null */
        memset(&c, 0, sizeof(c));
        r = (pb_command_result_t){.outcome = "refused", .reason = "not a CloudEvent"};
        s = pb_command_result_data(&c, &r, &len);
        o = json_tokener_parse(s);
        assert_true(json_object_object_get_ex(o, "command_id", &v));
        assert_null(v);
        json_object_put(o);
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),
            cmocka_unit_test(test_rules_and_requests),
            cmocka_unit_test(test_result_data),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
