/* Deadlines: the thresholds an operator writes, the announcement id and its
 * reading back, the set of announcements, and which thresholds fall due:
 * only pending port-outs with a created_at, each (port-out, threshold) once,
 * none before its time, the longest overdue first when more are due than
 * fit; and the deadline event a state writer builds from one (record.c). */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deadline.h"
#include "record.h"
#include "state_table.h"
#include "timefmt.h"

#define S 1000000LL

static void test_thresholds(void **state)
{
        (void)state;
        int64_t t[9];
        size_t n;
        char err[256];
        assert_int_equal(pb_deadline_thresholds_parse("43200,72000", t, 8, &n, err, sizeof(err)),
                         0);
        assert_int_equal(n, 2);
        assert_int_equal(t[0], 43200);
        assert_int_equal(t[1], 72000);
        /* any order, spaces: kept ascending */
        assert_int_equal(pb_deadline_thresholds_parse(" 30, 10 ,20", t, 8, &n, err, sizeof(err)),
                         0);
        assert_int_equal(n, 3);
        assert_true(t[0] == 10 && t[1] == 20 && t[2] == 30);
        const char *bad[] = {"",
                             ",",
                             "0",
                             "-5",
                             "604801",
                             "12h",
                             "10,10",
                             "1e3",
                             "10;20",
                             "99999999999999999999",
                             "1,2,3,4,5,6,7,8,9"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                assert_int_equal(pb_deadline_thresholds_parse(bad[i], t, 8, &n, err, sizeof(err)),
                                 PB_ERR);
                assert_true(err[0] != '\0');
                /* the reason never echoes the value (it may be anything) */
                if (strlen(bad[i]) > 3)
                        assert_null(strstr(err, bad[i]));
        }
}

static void test_id_round_trip(void **state)
{
        (void)state;
        char id[PB_DEADLINE_ID_MAX + 1], po[PB_TELNYX_ID_MAX + 1];
        int64_t thr = 0;
        pb_deadline_id("0b6e3b5c-1111-4000-8000-000000000001", 43200, id);
        assert_string_equal(id, "0b6e3b5c-1111-4000-8000-000000000001@deadline-43200s");
        assert_int_equal(pb_deadline_id_parse(id, po, &thr), 0);
        assert_string_equal(po, "0b6e3b5c-1111-4000-8000-000000000001");
        assert_int_equal(thr, 43200);
        const char *bad[] = {"po@deadline-",     "po@deadline-0s",          "po@deadline-12",
                             "@deadline-5s",     "po@deadline-05s",         "po@deadline-5sx",
                             "../x@deadline-5s", "po@2026-03-01T00:00:00Z", "po@deadline-604801s"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(pb_deadline_id_parse(bad[i], po, &thr), PB_ERR);
}

static pb_portout_view_t view(const char *id, const char *status, int64_t created_us)
{
        pb_portout_view_t v;
        memset(&v, 0, sizeof(v));
        snprintf(v.id, sizeof(v.id), "%s", id);
        snprintf(v.status, sizeof(v.status), "%s", status);
        v.created_us = created_us;
        v.updated_us = created_us + 1;
        pb_time_format_us(v.updated_us, v.updated_at, sizeof(v.updated_at));
        return v;
}

static void test_due(void **state)
{
        (void)state;
        const int64_t now = 1700000000 * S;
        const int64_t thr[] = {100, 200};
        pb_stable_t *t = pb_stable_new();
        pb_deadlines_t *d = pb_deadlines_new();
        pb_portout_view_t v;
        v = view("young", "pending", now - 99 * S); /* crossed none */
        pb_stable_put_doc(t, &v, "{\"id\":\"young\"}", 14);
        v = view("one", "pending", now - 150 * S); /* crossed 100 */
        pb_stable_put_doc(t, &v, "{\"id\":\"one\"}", 12);
        v = view("both", "pending", now - 200 * S); /* crossed 100 and 200, exactly */
        pb_stable_put_doc(t, &v, "{\"id\":\"both\"}", 13);
        v = view("gone", "authorized", now - 500 * S); /* left pending */
        pb_stable_put_doc(t, &v, "{\"id\":\"gone\"}", 13);
        v = view("undated", "pending", 0); /* no created_at: no deadline */
        pb_stable_put(t, &v);
        pb_deadline_due_t out[8];
        size_t filled;
        assert_int_equal(pb_deadlines_due(d, t, thr, 2, now, out, 8, &filled), 3);
        assert_int_equal(filled, 3);
        /* the earliest crossing first: both@100 (now-100), one@100 (now-50), both@200 (now) */
        assert_string_equal(out[0].v.id, "both");
        assert_int_equal(out[0].threshold_s, 100);
        assert_string_equal(out[1].v.id, "one");
        assert_string_equal(out[2].v.id, "both");
        assert_int_equal(out[2].threshold_s, 200);
        assert_int_equal(out[1].age_us, 150 * S);
        assert_string_equal(out[1].doc, "{\"id\":\"one\"}");
        /* a bound smaller than what is due keeps the earliest, counts all */
        pb_deadline_due_t two[2];
        assert_int_equal(pb_deadlines_due(d, t, thr, 2, now, two, 2, &filled), 3);
        assert_int_equal(filled, 2);
        assert_string_equal(two[0].v.id, "both");
        assert_string_equal(two[1].v.id, "one");
        pb_deadlines_due_clear(two, filled);
        /* announced: never due again */
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(pb_deadlines_mark(d, out[i].v.id, out[i].threshold_s), 1);
        assert_int_equal(pb_deadlines_mark(d, "one", 100), 0);
        assert_int_equal(pb_deadlines_size(d), 3);
        pb_deadlines_due_clear(out, 3);
        assert_int_equal(pb_deadlines_due(d, t, thr, 2, now, out, 8, &filled), 0);
        /* later: young crosses 100 (at +1 s), one crosses 200 (at +50 s);
         * gone and undated never */
        assert_int_equal(pb_deadlines_due(d, t, thr, 2, now + 60 * S, out, 8, &filled), 2);
        assert_string_equal(out[0].v.id, "young");
        assert_int_equal(out[0].threshold_s, 100);
        assert_string_equal(out[1].v.id, "one");
        assert_int_equal(out[1].threshold_s, 200);
        pb_deadlines_due_clear(out, filled);
        /* one leaves pending before it is announced: not due, its doc dropped */
        v = view("one", "rejected-pending", now - 150 * S);
        v.updated_us = now;
        assert_int_equal(pb_stable_put_doc(t, &v, "{\"id\":\"one\"}", 12), 1);
        assert_int_equal(pb_deadlines_due(d, t, thr, 2, now + 60 * S, out, 8, &filled), 1);
        assert_string_equal(out[0].v.id, "young");
        pb_deadlines_due_clear(out, filled);
        pb_deadlines_free(d);
        pb_stable_free(t);
}

/* A port-out that crossed a threshold while pending and left pending
 * before any writer announced it (a change of writer, or between two
 * looks) is still owed that announcement, late; one that left before the
 * threshold is not; a departure forgotten (older than the window) is not
 * looked at. (Before: a port-out not pending was never due.) */
static void test_departures(void **state)
{
        (void)state;
        const int64_t now = 1700000000 * S;
        const int64_t thr[] = {100, 200};
        pb_stable_t *t = pb_stable_new();
        pb_deadlines_t *d = pb_deadlines_new();
        pb_portout_view_t v;
        v = view("late", "pending", now - 150 * S);
        pb_stable_put_doc(t, &v, "{\"id\":\"late\"}", 13);
        v = view("early", "pending", now - 150 * S);
        pb_stable_put_doc(t, &v, "{\"id\":\"early\"}", 14);
        v = view("never", "authorized", now - 150 * S); /* never seen pending */
        pb_stable_put_doc(t, &v, "{\"id\":\"never\"}", 14);
        /* late leaves at age 140 (past 100), early at age 90 */
        v = view("late", "authorized", now - 150 * S);
        v.updated_us = now - 10 * S;
        assert_true(pb_stable_wants_doc(t, &v));
        assert_int_equal(pb_stable_put_doc(t, &v, "{\"id\":\"late\",\"s\":1}", 19), 1);
        v = view("early", "rejected-pending", now - 150 * S);
        v.updated_us = now - 60 * S;
        assert_int_equal(pb_stable_put_doc(t, &v, "{\"id\":\"early\"}", 14), 1);
        pb_deadline_due_t out[8];
        size_t filled;
        assert_int_equal(pb_deadlines_due(d, t, thr, 2, now, out, 8, &filled), 1);
        assert_string_equal(out[0].v.id, "late");
        assert_int_equal(out[0].threshold_s, 100);
        assert_string_equal(out[0].doc, "{\"id\":\"late\",\"s\":1}"); /* as it is now */
        assert_int_equal(pb_deadlines_mark(d, "late", 100), 1);
        pb_deadlines_due_clear(out, filled);
        assert_int_equal(pb_deadlines_due(d, t, thr, 2, now + 500 * S, out, 8, &filled), 0);
        /* a later change keeps it a departure (and its doc) until forgotten */
        v = view("late", "ported", now - 150 * S);
        v.updated_us = now;
        assert_true(pb_stable_wants_doc(t, &v));
        pb_stable_put_doc(t, &v, "{\"id\":\"late\"}", 13);
        assert_int_equal(pb_stable_forget_departures(t, now - 59 * S), 1); /* early: left at -60 */
        assert_int_equal(pb_stable_forget_departures(t, now - 5 * S), 1);  /* late: left at -10 */
        v = view("late", "ported", now - 150 * S);
        v.updated_us = now + 1;
        assert_false(pb_stable_wants_doc(t, &v));
        pb_deadlines_free(d);
        /* forgotten: a new set owes it nothing */
        d = pb_deadlines_new();
        assert_int_equal(pb_deadlines_due(d, t, thr, 2, now, out, 8, &filled), 0);
        pb_deadlines_free(d);
        pb_stable_free(t);
}

static void test_event(void **state)
{
        (void)state;
        const char *doc = "{\"id\":\"po-1\",\"status\":\"pending\",\"rejection_code\":1.50}";
        size_t len;
        char *v = pb_record_deadline_value(doc, strlen(doc), "po-1", 43200, 43210,
                                           "2026-03-01T12:00:00Z", "2026-03-02T00:00:00Z",
                                           "https://api.telnyx.com/v2/portouts", &len);
        assert_non_null(v);
        assert_int_equal(strlen(v), len);
        json_object *e = json_tokener_parse(v);
        assert_non_null(e);
        json_object *x, *data, *po;
        assert_true(json_object_object_get_ex(e, "id", &x));
        assert_string_equal(json_object_get_string(x), "po-1@deadline-43200s");
        assert_true(json_object_object_get_ex(e, "type", &x));
        assert_string_equal(json_object_get_string(x), PB_DEADLINE_TYPE);
        assert_true(json_object_object_get_ex(e, "time", &x));
        assert_string_equal(json_object_get_string(x), "2026-03-01T12:00:00Z");
        assert_true(json_object_object_get_ex(e, "data", &data));
        assert_true(json_object_object_get_ex(data, "threshold_s", &x));
        assert_int_equal(json_object_get_int64(x), 43200);
        assert_true(json_object_object_get_ex(data, "age_s", &x));
        assert_int_equal(json_object_get_int64(x), 43210);
        assert_true(json_object_object_get_ex(data, "auto_authorize_at", &x));
        assert_string_equal(json_object_get_string(x), "2026-03-02T00:00:00Z");
        assert_true(json_object_object_get_ex(data, "portout", &po));
        assert_true(json_object_object_get_ex(po, "status", &x));
        assert_string_equal(json_object_get_string(x), "pending");
        /* the port-out's bytes as the state record holds them */
        assert_non_null(strstr(v, "\"rejection_code\":1.50"));
        /* the record: keyed by the port-out, read back as a deadline event */
        pb_record_out_t o;
        pb_record_deadline(&o, "deadlines", "https://api.telnyx.com/v2/portouts", "po-1", 43200,
                           "2026-03-01T12:00:00Z", v, len);
        assert_memory_equal(o.rec.key, "po-1", 4);
        pb_record_view_t rv;
        pb_record_read(o.rec.value, o.rec.value_len, pb_record_header_get, &o.rec, &rv);
        assert_int_equal(rv.kind, PB_RECORD_DEADLINE);
        assert_string_equal(rv.id, "po-1@deadline-43200s");
        assert_string_equal(rv.subject, "po-1");
        pb_record_out_clear(&o);
        json_object_put(e);
        free(v);
        /* no doc kept: portout is null, the envelope still JSON */
        v = pb_record_deadline_value(NULL, 0, "po-2", 5, 6, "2026-03-01T00:00:05Z",
                                     "2026-03-02T00:00:00Z", "s", &len);
        assert_non_null(v);
        e = json_tokener_parse(v);
        assert_non_null(e);
        assert_true(json_object_object_get_ex(e, "data", &data));
        assert_true(json_object_object_get_ex(data, "portout", &po));
        assert_null(po);
        json_object_put(e);
        free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_thresholds), cmocka_unit_test(test_id_round_trip),
            cmocka_unit_test(test_due),        cmocka_unit_test(test_departures),
            cmocka_unit_test(test_event),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
