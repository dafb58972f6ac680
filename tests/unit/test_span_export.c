/* span_export.c: the OTLP/JSON body (checked field by field here with
 * json-c; the integration test parses it with opentelemetry-proto), where
 * the endpoint comes from, and that a collector that is not there costs
 * spans (dropped, counted), never a wait. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "pb.h"
#include "span_export.h"

static pb_span_t span(int parent)
{
        pb_span_t s;
        memset(&s, 0, sizeof(s));
        memset(s.trace_id, 0xab, 16);
        memset(s.span_id, 0x01, 8);
        memset(s.parent_id, 0x02, 8);
        s.has_parent = parent;
        s.start_us = INT64_C(1772668800000000);
        s.end_us = s.start_us + 1500;
        s.ingest = "webhook";
        s.outcome = "delivered";
        s.answer = 200;
        s.partition = 3;
        s.offset = 42;
        snprintf(s.event_id, sizeof(s.event_id), "ev-\"1\"");
        snprintf(s.event_type, sizeof(s.event_type), "portout.status_changed");
        snprintf(s.topic, sizeof(s.topic), "t.s");
        return s;
}

static json_object *at(json_object *o, const char *path)
{
        char buf[256], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
                if (json_object_is_type(o, json_type_array))
                        o = json_object_array_get_idx(o, (size_t)atoi(k));
                else if (!json_object_object_get_ex(o, k, &o))
                        return NULL;
        }
        return o;
}

static const char *attr(json_object *attrs, const char *key, const char *kind)
{
        for (size_t i = 0; i < json_object_array_length(attrs); i++) {
                json_object *a = json_object_array_get_idx(attrs, i);
                if (!strcmp(json_object_get_string(at(a, "key")), key)) {
                        json_object *v = at(at(a, "value"), kind);
                        return v ? json_object_get_string(v) : NULL;
                }
        }
        return NULL;
}

static void test_json_is_otlp(void **state)
{
        (void)state;
        pb_span_t s[2] = {span(1), span(0)};
        s[1].error = 1;
        s[1].outcome = "failed";
        s[1].topic[0] = '\0';
        s[1].answer = 0;
        char *body = pb_span_export_json(s, 2, "9.9.9");
        assert_non_null(body);
        json_object *o = json_tokener_parse(body);
        assert_non_null(o);
        assert_string_equal(
            attr(at(o, "resourceSpans.0.resource.attributes"), "service.name", "stringValue"),
            "portout-bridge");
        json_object *sp = at(o, "resourceSpans.0.scopeSpans.0.spans");
        assert_int_equal(json_object_array_length(sp), 2);
        json_object *a = json_object_array_get_idx(sp, 0);
        assert_string_equal(json_object_get_string(at(a, "traceId")),
                            "abababababababababababababababab");
        assert_string_equal(json_object_get_string(at(a, "spanId")), "0101010101010101");
        assert_string_equal(json_object_get_string(at(a, "parentSpanId")), "0202020202020202");
        assert_int_equal(json_object_get_int(at(a, "kind")), 4);
        /* 64-bit integers are strings in OTLP/JSON. */
        assert_true(json_object_is_type(at(a, "startTimeUnixNano"), json_type_string));
        assert_string_equal(json_object_get_string(at(a, "startTimeUnixNano")),
                            "1772668800000000000");
        assert_string_equal(json_object_get_string(at(a, "endTimeUnixNano")),
                            "1772668800001500000");
        json_object *attrs = at(a, "attributes");
        assert_string_equal(attr(attrs, "messaging.message.id", "stringValue"), "ev-\"1\"");
        assert_string_equal(attr(attrs, "messaging.destination.name", "stringValue"), "t.s");
        assert_string_equal(attr(attrs, "messaging.kafka.offset", "intValue"), "42");
        assert_string_equal(attr(attrs, "http.response.status_code", "intValue"), "200");
        assert_int_equal(json_object_get_int(at(a, "status.code")), 1);
        json_object *b = json_object_array_get_idx(sp, 1);
        assert_null(at(b, "parentSpanId"));
        assert_int_equal(json_object_get_int(at(b, "status.code")), 2);
        assert_null(attr(at(b, "attributes"), "messaging.destination.name", "stringValue"));
        assert_null(attr(at(b, "attributes"), "http.response.status_code", "intValue"));
        json_object_put(o);
        free(body);
}

static const char *env_tr, *env_base;
static const char *lookup(const char *name)
{
        if (!strcmp(name, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
                return env_tr;
        if (!strcmp(name, "OTEL_EXPORTER_OTLP_ENDPOINT"))
                return env_base;
        return NULL;
}

static void test_endpoint_precedence(void **state)
{
        (void)state;
        char url[256];
        env_tr = env_base = NULL;
        assert_int_equal(pb_span_export_url(NULL, lookup, url, sizeof(url)), 0);
        assert_int_equal(pb_span_export_url("", lookup, url, sizeof(url)), 0);
        env_base = "http://c:4318/";
        assert_int_equal(pb_span_export_url(NULL, lookup, url, sizeof(url)), 1);
        assert_string_equal(url, "http://c:4318/v1/traces");
        env_tr = "http://t:4318/custom";
        assert_int_equal(pb_span_export_url(NULL, lookup, url, sizeof(url)), 1);
        assert_string_equal(url, "http://t:4318/custom"); /* as is */
        assert_int_equal(pb_span_export_url("https://o:4318", lookup, url, sizeof(url)), 1);
        assert_string_equal(url, "https://o:4318/v1/traces"); /* the option first */
}

static void test_refuses_what_is_not_http(void **state)
{
        (void)state;
        char err[PB_ERRSZ];
        pb_metrics_t *m = pb_metrics_new();
        assert_null(pb_span_export_new("file:///etc/passwd", NULL, "v", m, err, sizeof(err)));
        assert_non_null(strstr(err, "not an http(s) URL"));
        pb_metrics_free(m);
}

/* Nobody listens: add() returns at once, the spans are dropped and
 * counted; what does not fit the queue is dropped at add(). */
static void test_collector_down_drops_and_counts(void **state)
{
        (void)state;
        char err[PB_ERRSZ];
        pb_metrics_t *m = pb_metrics_new();
        pb_span_export_t *x =
            pb_span_export_new("http://127.0.0.1:1/v1/traces", NULL, "v", m, err, sizeof(err));
        assert_non_null(x);
        pb_span_t s = span(0);
        /* add() never waits for room: what does not fit is dropped there. */
        for (int i = 0; i < PB_SPAN_QUEUE + 100; i++)
                pb_span_export_add(x, &s, 1);
        pb_span_export_free(x, 3000);
        assert_int_equal(
            pb_metrics_get(m, "portout_bridge_trace_spans_total", "outcome=\"dropped\""),
            PB_SPAN_QUEUE + 100);
        assert_int_equal(
            pb_metrics_get(m, "portout_bridge_trace_spans_total", "outcome=\"exported\""), 0);
        pb_metrics_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_json_is_otlp),
            cmocka_unit_test(test_endpoint_precedence),
            cmocka_unit_test(test_refuses_what_is_not_http),
            cmocka_unit_test(test_collector_down_drops_and_counts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
