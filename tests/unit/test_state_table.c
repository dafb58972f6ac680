/* The port-out table: a resource is written only when strictly newer (ties,
 * repeats and older ones write nothing, whatever order they come in), what
 * a resource must hold, the deadlines (by status, the oldest pending, the
 * nearest FOC date of a port-out not authorized, the threshold crossed once
 * per review), and the state record: a CloudEvent whose data is the resource
 * as given. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"
#include "state_table.h"
#include "timefmt.h"

#define S 1000000LL

static json_object *resource(const char *id, const char *status, const char *updated,
                             const char *foc)
{
        char text[512];
        snprintf(text, sizeof(text),
                 "{\"id\":\"%s\",\"status\":\"%s\",\"created_at\":\"2026-03-01T00:00:00Z\","
                 "\"updated_at\":\"%s\",\"foc_date\":\"%s\",\"end_user_name\":\"A \\\"B\\\"\","
                 "\"rejection_code\":1.50,\"lsr\":[]}",
                 id, status, updated, foc);
        json_object *o = json_tokener_parse(text);
        assert_non_null(o);
        return o;
}

static pb_portout_view_t view_of(json_object *o)
{
        pb_portout_view_t v;
        char err[256];
        if (pb_portout_view(o, &v, err, sizeof(err)))
                fail_msg("view: %s", err);
        return v;
}

static void test_newest_wins_whatever_the_order(void **state)
{
        (void)state;
        pb_stable_t *t = pb_stable_new();
        const char *times[] = {"2026-03-01T10:00:00.000003Z", "2026-03-01T10:00:00.000001Z",
                               "2026-03-01T10:00:00.000002Z"};
        json_object *r[3];
        pb_portout_view_t v[3];
        for (int i = 0; i < 3; i++) {
                r[i] = resource("po-1", "pending", times[i], "2026-03-10T00:00:00Z");
                v[i] = view_of(r[i]);
        }
        /* newest first, then the older two: only the first is written */
        assert_true(pb_stable_newer(t, &v[0]));
        assert_int_equal(pb_stable_put(t, &v[0]), 1);
        for (int i = 0; i < 3; i++) {
                assert_false(pb_stable_newer(t, &v[i])); /* a tie or older */
                assert_int_equal(pb_stable_put(t, &v[i]), 0);
        }
        assert_int_equal(pb_stable_size(t), 1);
        /* an offset written otherwise is the same instant: a tie */
        json_object *same =
            resource("po-1", "pending", "2026-03-01T12:00:00.000003+02:00", "2026-03-10T00:00:00Z");
        pb_portout_view_t vs = view_of(same);
        assert_false(pb_stable_newer(t, &vs));
        json_object *later = resource("po-1", "authorized", "2026-03-01T10:00:01Z", "");
        pb_portout_view_t vl = view_of(later);
        assert_true(pb_stable_newer(t, &vl));
        assert_int_equal(pb_stable_put(t, &vl), 1);
        for (int i = 0; i < 3; i++)
                json_object_put(r[i]);
        json_object_put(same);
        json_object_put(later);
        pb_stable_free(t);
}

static void test_what_a_resource_must_hold(void **state)
{
        (void)state;
        pb_portout_view_t v;
        const char *bad[] = {"[]",
                             "{\"status\":\"pending\",\"updated_at\":\"2026-03-01T00:00:00Z\"}",
                             "{\"id\":\"../x\",\"updated_at\":\"2026-03-01T00:00:00Z\"}",
                             "{\"id\":\"po-1\"}", "{\"id\":\"po-1\",\"updated_at\":\"yesterday\"}"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_object *o = json_tokener_parse(bad[i]);
                char err[256] = "";
                assert_int_equal(pb_portout_view(o, &v, err, sizeof(err)), PB_ERR);
                assert_true(err[0] != '\0');
                json_object_put(o);
        }
        assert_true(pb_portout_status_final("ported"));
        assert_true(pb_portout_status_final("canceled"));
        assert_false(pb_portout_status_final("rejected-pending"));
}

struct crossings {
        int n;
        char last[80];
};

static void on_crossed(void *ctx, const pb_portout_view_t *v, int64_t age_us)
{
        struct crossings *c = ctx;
        (void)age_us;
        c->n++;
        snprintf(c->last, sizeof(c->last), "%s", v->id);
}

static void test_deadlines(void **state)
{
        (void)state;
        pb_stable_t *t = pb_stable_new();
        int64_t created;
        assert_int_equal(pb_time_parse_rfc3339("2026-03-01T00:00:00Z", &created), 0);
        struct {
                const char *id, *status, *foc;
        } rows[] = {
            {"a", "pending", "2026-03-01T20:00:00Z"},
            {"b", "pending", ""},
            {"c", "authorized", "2026-03-01T01:00:00Z"}, /* authorized: not a FOC deadline */
            {"d", "rejected-pending", "2026-03-01T10:00:00Z"},
            {"e", "ported", ""},
            {"f", "something-new", ""},
        };
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                json_object *o =
                    resource(rows[i].id, rows[i].status, "2026-03-01T00:00:01Z", rows[i].foc);
                pb_portout_view_t v = view_of(o);
                assert_int_equal(pb_stable_put(t, &v), 1);
                json_object_put(o);
        }
        pb_stable_deadlines_t d;
        struct crossings c = {0, ""};
        int64_t now = created + 6 * 3600 * S; /* six hours after creation */
        pb_stable_deadlines(t, now, 4 * 3600 * S, &d, on_crossed, &c);
        assert_int_equal(d.by_status[0], 2); /* pending */
        assert_int_equal(d.by_status[1], 1);
        assert_int_equal(d.by_status[2], 1);
        assert_int_equal(d.by_status[4], 1);
        assert_int_equal(d.by_status[7], 1); /* any other status */
        assert_int_equal(d.oldest_pending_us, 6 * 3600 * S);
        assert_int_equal(d.over_threshold, 2);
        assert_int_equal(c.n, 2);
        assert_int_equal(d.nearest_foc_us, 4 * 3600 * S); /* d, at 10:00 */
        /* Crossed once: not told again. */
        pb_stable_deadlines(t, now + S, 4 * 3600 * S, &d, on_crossed, &c);
        assert_int_equal(c.n, 2);
        assert_int_equal(d.over_threshold, 2);
        /* Authorized, then pending again: a new review, told again. */
        json_object *o = resource("a", "authorized", "2026-03-01T00:00:02Z", "");
        pb_portout_view_t v = view_of(o);
        pb_stable_put(t, &v);
        json_object_put(o);
        o = resource("a", "pending", "2026-03-01T00:00:03Z", "");
        v = view_of(o);
        pb_stable_put(t, &v);
        json_object_put(o);
        pb_stable_deadlines(t, now + 2 * S, 4 * 3600 * S, &d, on_crossed, &c);
        assert_int_equal(c.n, 3);
        assert_string_equal(c.last, "a");
        pb_stable_free(t);
        /* Empty: nothing pending, no FOC date watched. */
        t = pb_stable_new();
        pb_stable_deadlines(t, now, 0, &d, NULL, NULL);
        assert_int_equal(d.oldest_pending_us, 0);
        assert_int_equal(d.nearest_foc_us, INT64_MAX);
        pb_stable_free(t);
}

static const char *str_at(json_object *o, const char *k)
{
        json_object *v;
        assert_true(json_object_object_get_ex(o, k, &v));
        return json_object_get_string(v);
}

static void test_state_envelope(void **state)
{
        (void)state;
        json_object *r = resource("po-9", "pending", "2026-03-01T10:00:00.5Z", "");
        pb_portout_view_t v = view_of(r);
        size_t len;
        char *env = pb_record_state_value(r, v.id, v.updated_at, "ev-7",
                                          "https://api.telnyx.com/v2/portouts", &len);
        assert_non_null(env);
        assert_int_equal(strlen(env), len);
        json_object *e = json_tokener_parse(env);
        assert_non_null(e);
        assert_string_equal(str_at(e, "specversion"), "1.0");
        assert_string_equal(str_at(e, "type"), "com.telnyx.portout.state");
        assert_string_equal(str_at(e, "id"), "po-9@2026-03-01T10:00:00.5Z");
        assert_string_equal(str_at(e, "subject"), "po-9");
        assert_string_equal(str_at(e, "partitionkey"), "po-9");
        assert_string_equal(str_at(e, "time"), "2026-03-01T10:00:00.5Z");
        assert_string_equal(str_at(e, "causationid"), "ev-7");
        assert_string_equal(str_at(e, "datacontenttype"), "application/json");
        json_object *data;
        assert_true(json_object_object_get_ex(e, "data", &data));
        assert_true(json_object_equal(data, r));
        /* the resource's bytes as json-c writes them: 1.50 keeps its text */
        assert_non_null(strstr(env, "\"rejection_code\":1.50"));
        assert_non_null(strstr(env, "\"end_user_name\":\"A \\\"B\\\"\""));
        free(env);
        json_object_put(e);
        json_object_put(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_newest_wins_whatever_the_order),
            cmocka_unit_test(test_what_a_resource_must_hold),
            cmocka_unit_test(test_deadlines),
            cmocka_unit_test(test_state_envelope),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
