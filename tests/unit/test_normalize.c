#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsoncheck.h"
#include "normalize.h"
#include "privacy.h"
#include "testutil.h"

#define PORTOUT     "5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70"
#define SOURCE      "https://api.telnyx.com/v2/portouts"
#define RECEIVED_US (INT64_C(1772800000) * 1000000) /* 2026-03-06T12:26:40Z */

static const pb_norm_opts_t opts = {SOURCE, NULL, NULL, 0};

static pb_batch_t *norm_ingest(const char *doc, pb_ingest_path_t path, int64_t received)
{
        pb_ingest_t ing = {path, received};
        pb_batch_t *b = pb_normalize(&opts, doc, strlen(doc), &ing);
        assert_non_null(b);
        for (size_t i = 0; i < b->cnt; i++)
                if (b->items[i].env) {
                        const pb_envelope_t *e = b->items[i].env;
                        tu_dump_envelope(e->json, e->json_len);
                        /* The data slice (binary mode's value) is the
                         * envelope's "data", byte for byte a JSON object. */
                        json_object *env = json_tokener_parse(e->json), *data, *slice;
                        assert_non_null(env);
                        assert_true(json_object_object_get_ex(env, "data", &data));
                        char *s = strndup(e->json + e->data_off, e->data_len);
                        assert_true(s[0] == '{' && s[e->data_len - 1] == '}');
                        slice = json_tokener_parse(s);
                        assert_non_null(slice);
                        assert_true(json_object_equal(slice, data));
                        json_object_put(slice);
                        json_object_put(env);
                        free(s);
                }
        return b;
}

static pb_batch_t *norm(const char *doc)
{
        return norm_ingest(doc, PB_INGEST_FILE, RECEIVED_US);
}

/* Parses an envelope and returns the string at a dotted path ("data.portout_id"). */
static json_object *jget(json_object *o, const char *path)
{
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, ".")) {
                json_object *n = NULL;
                if (!json_object_object_get_ex(o, tok, &n))
                        return NULL;
                o = n;
        }
        return o;
}

static void assert_str_at(json_object *o, const char *path, const char *want)
{
        json_object *v = jget(o, path);
        if (!v || !json_object_is_type(v, json_type_string))
                fail_msg("%s is not a string", path);
        assert_string_equal(json_object_get_string(v), want);
}

static json_object *env_json(const pb_envelope_t *e)
{
        json_object *o = json_tokener_parse(e->json);
        assert_non_null(o);
        return o;
}

/* Every envelope carries the required CloudEvents attributes. */
static void assert_cloudevent(json_object *o, const char *id, const char *event_type,
                              const char *portout)
{
        char type[128];
        snprintf(type, sizeof(type), "com.telnyx.%s", event_type);
        assert_str_at(o, "specversion", "1.0");
        assert_str_at(o, "id", id);
        assert_str_at(o, "source", SOURCE);
        assert_str_at(o, "type", type);
        assert_str_at(o, "subject", portout);
        assert_str_at(o, "partitionkey", portout);
        assert_str_at(o, "datacontenttype", "application/json");
        assert_str_at(o, "data.event_type", event_type);
        assert_str_at(o, "data.portout_id", portout);
        assert_non_null(jget(o, "time"));
        assert_non_null(jget(o, "receivedat"));
        assert_non_null(jget(o, "ingestpath"));
}

static void expect_reject(const char *doc, const char *fragment)
{
        pb_batch_t *b = norm(doc);
        assert_int_equal(b->cnt, 1);
        assert_null(b->items[0].env);
        assert_non_null(b->items[0].error);
        if (!strstr(b->items[0].error, fragment))
                fail_msg("reason \"%s\" lacks \"%s\" for input %s", b->items[0].error, fragment,
                         doc);
        /* The raw bytes are kept for the dead-letter topic. */
        assert_int_equal(b->items[0].raw_len, strlen(doc));
        assert_memory_equal(b->items[0].raw, doc, strlen(doc));
        assert_int_equal(b->rejected, 1);
        pb_batch_free(b);
}

static void test_rest_list(void **state)
{
        (void)state;
        char *doc = tu_read_file("rest-list.json", NULL);
        pb_batch_t *b = norm(doc);
        assert_int_equal(b->cnt, 2);
        assert_int_equal(b->rejected, 0);
        json_object *o = env_json(b->items[0].env);
        assert_cloudevent(o, "0b6f3c2e-91d4-4a7e-b8f5-6c1d2e3f4a50", "portout.status_changed",
                          PORTOUT);
        assert_str_at(o, "time", "2026-03-02T15:04:05.123456Z"); /* created_at */
        assert_str_at(o, "data.payload.status", "rejected-pending");
        assert_str_at(o, "data.payload.rejection_reason", "PIN mismatch");
        assert_str_at(o, "data.payload.attempted_pin", "0000");
        assert_true(json_object_is_type(jget(o, "data.payload.subscriber_name"), json_type_null));
        assert_str_at(o, "data.telnyx.record_type", "portout_event");
        assert_str_at(o, "data.telnyx.payload_status", "completed");
        assert_str_at(o, "data.telnyx.updated_at", "2026-03-02T15:04:06.654321Z");
        assert_int_equal(
            json_object_array_length(jget(o, "data.telnyx.available_notification_methods")), 2);
        assert_null(jget(o, "data.telnyx.meta")); /* paging meta is not event data */
        json_object_put(o);
        o = env_json(b->items[1].env);
        assert_cloudevent(o, "2d8a4b6c-13e5-4f7a-9b0c-1e2f3a4b5c61", "portout.foc_date_changed",
                          PORTOUT);
        assert_str_at(o, "data.payload.foc_date", "2026-03-10T00:00:00Z");
        json_object_put(o);
        assert_non_null(strstr(b->items[1].raw, "\"portout.foc_date_changed\""));
        pb_batch_free(b);
        free(doc);
}

/* A list element's dead-letter bytes are its own, as sent, on both paths
 * (json-c would write this one without its spaces), whether it became an
 * envelope (on the span path) or was refused (no id). */
static void test_list_element_bytes(void **state)
{
        (void)state;
        const char *e0 = "{ \"id\": \"e1\", \"event_type\": \"portout.new_comment\", "
                         "\"portout_id\": \"p1\", \"payload\": {\"id\": \"c1\"} }";
        const char *e1 = "{\"event_type\" : \"portout.new_comment\", \"portout_id\": \"p1\"}";
        char doc[512];
        snprintf(doc, sizeof(doc), "{\"data\": [ %s,\n %s ], \"meta\": {\"total_pages\": 1}}", e0,
                 e1);
        for (int tree = 0; tree < 2; tree++) {
                pb_norm_opts_t o = {"https://api.telnyx.com/v2/portouts", NULL, NULL, tree};
                pb_ingest_t ing = {PB_INGEST_REST, 1772713845000000};
                pb_batch_t *b = pb_normalize(&o, doc, strlen(doc), &ing);
                assert_int_equal(b->cnt, 2);
                assert_non_null(b->items[0].env);
                assert_null(b->items[1].env);
                assert_int_equal(b->items[0].raw_len, strlen(e0));
                assert_memory_equal(b->items[0].raw, e0, strlen(e0));
                assert_int_equal(b->items[1].raw_len, strlen(e1));
                assert_memory_equal(b->items[1].raw, e1, strlen(e1));
                /* the same items from a page json-c parsed (backfill), checked
                 * here or by the client that read it */
                for (int by_client = 0; by_client < 2; by_client++) {
                        pb_jcheck_t jc;
                        memset(&jc, 0, sizeof(jc));
                        jc.want_items = 1;
                        char why[256];
                        json_object *root =
                            by_client ? pb_json_parse_checked(doc, strlen(doc), PB_JSON_MAX_COST,
                                                              &jc, why, sizeof(why))
                                      : json_tokener_parse(doc);
                        assert_non_null(root);
                        if (by_client)
                                assert_int_equal(jc.nitems, 2);
                        pb_batch_t *p = pb_normalize_parsed(&o, root, doc, strlen(doc),
                                                            by_client ? &jc : NULL, &ing);
                        assert_int_equal(p->cnt, 2);
                        for (size_t i = 0; i < 2; i++) {
                                assert_int_equal(p->items[i].raw_len, b->items[i].raw_len);
                                assert_memory_equal(p->items[i].raw, b->items[i].raw,
                                                    b->items[i].raw_len);
                        }
                        assert_string_equal(p->items[0].env->json, b->items[0].env->json);
                        assert_string_equal(p->items[1].error, b->items[1].error);
                        json_object_put(root);
                        pb_batch_free(p);
                        pb_jcheck_free(&jc);
                }
                pb_batch_free(b);
        }
}

static void test_list_sizes(void **state)
{
        (void)state;
        pb_batch_t *b = norm("{\"data\":[],\"meta\":{\"total_pages\":0}}");
        assert_int_equal(b->cnt, 0);
        assert_int_equal(b->rejected, 0);
        pb_batch_free(b);

        b = norm("{\"data\":[{\"id\":\"e1\",\"event_type\":\"portout.new_comment\",\"portout_id\":"
                 "\"p1\",\"payload\":{\"id\":\"c1\",\"portout_id\":\"p1\"}}]}");
        assert_int_equal(b->cnt, 1);
        assert_string_equal(b->items[0].env->portout_id, "p1");
        pb_batch_free(b);

        /* Many, with one bad element in the middle: the others still go. */
        char doc[64 * 1024] = "{\"data\":[";
        for (int i = 0; i < 100; i++) {
                char el[256];
                if (i == 50)
                        snprintf(el, sizeof(el), "%s{\"id\":\"e%d\",\"portout_id\":\"p\"}",
                                 i ? "," : "", i);
                else
                        snprintf(el, sizeof(el),
                                 "%s{\"id\":\"e%d\",\"event_type\":\"portout.status_changed\","
                                 "\"portout_id\":\"p%d\",\"payload\":null}",
                                 i ? "," : "", i, i % 7);
                strcat(doc, el);
        }
        strcat(doc, "],\"meta\":{\"page_number\":1}}");
        b = norm(doc);
        assert_int_equal(b->cnt, 100);
        assert_int_equal(b->rejected, 1);
        assert_null(b->items[50].env);
        assert_non_null(strstr(b->items[50].error, "missing field \"data[50].event_type\""));
        assert_string_equal(b->items[99].env->id, "e99");
        assert_string_equal(b->items[99].env->portout_id, "p1");
        pb_batch_free(b);
}

static void test_list_bad_element(void **state)
{
        (void)state;
        pb_batch_t *b = norm("{\"data\":[5]}");
        assert_int_equal(b->cnt, 1);
        assert_null(b->items[0].env);
        assert_string_equal(b->items[0].error, "field \"data[0]\" must be an object, got int");
        assert_string_equal(b->items[0].raw, "5"); /* the element itself goes to the DLQ */
        pb_batch_free(b);
}

static void test_rest_show_new_comment(void **state)
{
        (void)state;
        char *doc = tu_read_file("rest-show-new-comment.json", NULL);
        pb_batch_t *b = norm(doc);
        assert_int_equal(b->cnt, 1);
        json_object *o = env_json(b->items[0].env);
        assert_cloudevent(o, "9e7d5c3b-2a1f-4e0d-8c9b-7a6f5e4d3c21", "portout.new_comment",
                          PORTOUT);
        /* payload.id is the comment id, kept as is */
        assert_str_at(o, "data.payload.id", "7d3e9b21-5c4a-4f18-b6e2-0a9c8d7e6f51");
        assert_str_at(o, "data.payload.comment", "Please confirm the account number.");
        json_object_put(o);
        pb_batch_free(b);
        free(doc);
}

static void test_payload_null_and_empty(void **state)
{
        (void)state;
        char *doc = tu_read_file("rest-show-payload-null.json", NULL);
        pb_batch_t *b = norm(doc);
        assert_int_equal(b->rejected, 0);
        json_object *o = env_json(b->items[0].env);
        json_object *p = NULL;
        assert_true(json_object_object_get_ex(jget(o, "data"), "payload", &p));
        assert_null(p); /* null stays null */
        assert_str_at(o, "data.telnyx.payload_status", "created");
        json_object_put(o);
        pb_batch_free(b);
        free(doc);

        b = norm("{\"id\":\"e\",\"event_type\":\"portout.status_changed\",\"portout_id\":\"p\","
                 "\"payload_status\":\"created\",\"payload\":{}}");
        assert_int_equal(b->rejected, 0);
        assert_non_null(strstr(b->items[0].env->json, "\"payload\":{}"));
        pb_batch_free(b);

        /* No payload member at all: still an event, payload null. */
        b = norm("{\"id\":\"e\",\"event_type\":\"portout.status_changed\",\"portout_id\":\"p\"}");
        assert_int_equal(b->rejected, 0);
        assert_non_null(strstr(b->items[0].env->json, "\"payload\":null"));
        pb_batch_free(b);
}

static void test_webhooks(void **state)
{
        (void)state;
        struct {
                const char *file, *id, *type, *time;
        } cases[] = {
            {"webhook-status-changed.json", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
             "portout.status_changed", "2026-03-05T12:30:45Z"},
            {"webhook-foc-date-changed.json", "f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f",
             "portout.foc_date_changed", "2026-03-03T09:00:00Z"},
            {"webhook-new-comment.json", "a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d",
             "portout.new_comment", "2026-03-02T16:20:00Z"},
        };
        for (size_t i = 0; i < 3; i++) {
                char *doc = tu_read_file(cases[i].file, NULL);
                pb_batch_t *b = norm_ingest(doc, PB_INGEST_WEBHOOK, RECEIVED_US);
                assert_int_equal(b->cnt, 1);
                if (!b->items[0].env)
                        fail_msg("%s: %s", cases[i].file, b->items[0].error);
                json_object *o = env_json(b->items[0].env);
                assert_cloudevent(o, cases[i].id, cases[i].type, PORTOUT);
                assert_str_at(o, "time", cases[i].time); /* occurred_at */
                assert_str_at(o, "ingestpath", "webhook");
                assert_str_at(o, "receivedat", "2026-03-06T12:26:40Z");
                assert_str_at(o, "data.telnyx.record_type", "event");
                assert_str_at(o, "data.telnyx.occurred_at", cases[i].time);
                assert_str_at(o, "data.telnyx.delivered_to",
                              "https://hooks.example.org/telnyx/portout");
                assert_non_null(jget(o, "data.telnyx.attempt"));
                assert_int_equal(b->items[0].raw_len, strlen(doc)); /* raw is the body */
                json_object_put(o);
                pb_batch_free(b);
                free(doc);
        }
}

/* The same event by REST and by webhook: same type, subject, key and payload. */
static void test_same_event_both_paths(void **state)
{
        (void)state;
        const char *rest =
            "{\"data\":{\"id\":\"ev1\",\"event_type\":\"portout.new_comment\",\"portout_id\":\"P\","
            "\"payload\":{\"id\":\"C\",\"portout_id\":\"P\",\"comment\":\"hi\"},\"record_type\":"
            "\"portout_event\",\"created_at\":\"2026-03-02T16:20:00Z\"}}";
        const char *hook =
            "{\"data\":{\"event_type\":\"portout.new_comment\",\"id\":\"ev1\",\"occurred_at\":"
            "\"2026-03-02T16:20:00Z\",\"payload\":{\"id\":\"C\",\"portout_id\":\"P\",\"comment\":"
            "\"hi\"},\"record_type\":\"event\"},\"meta\":{\"attempt\":1,\"delivered_to\":\"u\"}}";
        pb_batch_t *a = norm_ingest(rest, PB_INGEST_REST, RECEIVED_US);
        pb_batch_t *b = norm_ingest(hook, PB_INGEST_WEBHOOK, RECEIVED_US);
        const pb_envelope_t *x = a->items[0].env, *y = b->items[0].env;
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->type, y->type);
        assert_string_equal(x->portout_id, y->portout_id);
        assert_string_equal(x->source, y->source);
        assert_string_equal(x->time, y->time);
        json_object *ox = env_json(x), *oy = env_json(y);
        assert_true(json_object_equal(jget(ox, "data.payload"), jget(oy, "data.payload")));
        assert_str_at(ox, "ingestpath", "rest");
        assert_str_at(oy, "ingestpath", "webhook");
        json_object_put(ox);
        json_object_put(oy);
        pb_batch_free(a);
        pb_batch_free(b);
}

static void test_deterministic(void **state)
{
        (void)state;
        char *doc = tu_read_file("webhook-status-changed.json", NULL);
        pb_batch_t *a = norm(doc), *b = norm(doc),
                   *c = norm_ingest(doc, PB_INGEST_FILE, RECEIVED_US + 1000000);
        assert_int_equal(a->items[0].env->json_len, b->items[0].env->json_len);
        assert_memory_equal(a->items[0].env->json, b->items[0].env->json,
                            a->items[0].env->json_len);
        /* Only receivedat differs with another receive time. */
        json_object *oa = env_json(a->items[0].env), *oc = env_json(c->items[0].env);
        json_object_object_del(oa, "receivedat");
        json_object_object_del(oc, "receivedat");
        assert_true(json_object_equal(oa, oc));
        json_object_put(oa);
        json_object_put(oc);
        pb_batch_free(a);
        pb_batch_free(b);
        pb_batch_free(c);
        free(doc);
}

static void test_unknown_type_and_fields(void **state)
{
        (void)state;
        pb_batch_t *b =
            norm("{\"data\":{\"event_type\":\"portout.future_thing\",\"id\":\"e9\",\"occurred_at\":"
                 "\"2026-03-05T12:30:45Z\",\"payload\":{\"portout_id\":\"P9\",\"id\":\"other\","
                 "\"novel\":{\"deep\":[1,2.50,true]}},\"record_type\":\"event\",\"shiny\":\"new\"},"
                 "\"meta\":{\"attempt\":3,\"delivered_to\":\"u\",\"region\":\"eu\"},\"extra\":7}");
        assert_int_equal(b->rejected, 0);
        json_object *o = env_json(b->items[0].env);
        assert_str_at(o, "type", "com.telnyx.portout.future_thing");
        assert_str_at(o, "subject", "P9"); /* payload.portout_id, never payload.id */
        assert_str_at(o, "data.telnyx.shiny", "new");
        assert_str_at(o, "data.telnyx.region", "eu");
        assert_non_null(jget(o, "data.telnyx.extra"));
        assert_int_equal(json_object_get_int(jget(o, "data.telnyx.attempt")), 3);
        /* Numbers keep their text (2.50 stays 2.50). */
        assert_non_null(strstr(b->items[0].env->json, "\"deep\":[1,2.50,true]"));
        json_object_put(o);
        pb_batch_free(b);

        /* Unknown type without payload.portout_id: rejected, not guessed. */
        expect_reject("{\"data\":{\"event_type\":\"portout.x\",\"id\":\"e\",\"payload\":{\"id\":"
                      "\"P\"},\"record_type\":\"event\"}}",
                      "\"data.payload.portout_id\"");
}

static void test_unicode(void **state)
{
        (void)state;
        const char *doc =
            "{\"id\":\"e\",\"event_type\":\"portout.new_comment\",\"portout_id\":\"p\","
            "\"payload\":{\"comment\":\"Überprüfung ☎ 日本 😀\",\"esc\":\"\\u00e9\\ud83d\\ude00\","
            "\"slash\":\"a/b\",\"ctl\":\"tab\\there\"}}";
        pb_batch_t *b = norm(doc);
        assert_int_equal(b->rejected, 0);
        const char *js = b->items[0].env->json;
        assert_non_null(strstr(js, "\"comment\":\"Überprüfung ☎ 日本 😀\""));
        assert_non_null(strstr(js, "\"esc\":\"é😀\"")); /* escapes decode to the same code points */
        assert_non_null(strstr(js, "\"slash\":\"a/b\""));
        assert_non_null(strstr(js, "\"ctl\":\"tab\\there\""));
        pb_batch_free(b);
}

static void test_time_fallbacks(void **state)
{
        (void)state;
        pb_batch_t *b =
            norm("{\"id\":\"e\",\"event_type\":\"portout.status_changed\",\"portout_id\":\"p\"}");
        assert_string_equal(b->items[0].env->time, "2026-03-06T12:26:40Z"); /* receive time */
        pb_batch_free(b);
        b = norm("{\"id\":\"e\",\"event_type\":\"portout.status_changed\",\"portout_id\":\"p\","
                 "\"created_at\":\"yesterday\"}");
        assert_string_equal(b->items[0].env->time, "2026-03-06T12:26:40Z");
        assert_non_null(strstr(b->items[0].env->json, "\"created_at\":\"yesterday\""));
        pb_batch_free(b);
        b = norm("{\"id\":\"e\",\"event_type\":\"portout.status_changed\",\"portout_id\":\"p\","
                 "\"created_at\":\"2026-03-05T14:30:45.5+02:00\"}");
        assert_string_equal(b->items[0].env->time, "2026-03-05T12:30:45.500000Z");
        pb_batch_free(b);
}

/* What is published is strict JSON in valid UTF-8: an event whose text is
 * not (bytes that are not UTF-8, an overlong form, NaN or Infinity, which
 * json-c's strict mode reads and would write back) is rejected, so it is
 * dead-lettered with its bytes, never published. */
static void test_invalid_text_rejected(void **state)
{
        (void)state;
        static const struct {
                const char *doc, *want;
        } cases[] = {
            {"{\"data\":{\"id\":\"a\xc0\xaf\",\"event_type\":\"portout.status_changed\",\"portout_"
             "id\":\"p\"}}",
             "field \"data.id\" is not valid UTF-8"},
            {"{\"data\":{\"id\":\"a\xed\xa0\x80\",\"event_type\":\"portout.status_changed\","
             "\"portout_id\":\"p\"}}",
             "is not valid UTF-8"}, /* an encoded surrogate */
            {"{\"data\":{\"id\":\"a\xf4\x90\x80\x80\",\"event_type\":\"portout.status_changed\","
             "\"portout_id\":\"p\"}}",
             "is not valid UTF-8"}, /* above U+10FFFF */
            {"{\"data\":{\"id\":\"a\xff\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\"}}",
             "not valid JSON"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\",\"payload\":{\"n\":NaN}}}",
             "field \"data.payload.n\" is not a finite number"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\",\"payload\":{\"m\":[1,-Infinity]}}}",
             "field \"data.payload.m[1]\" is not a finite number"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\",\"payload\":{\"k\\u00e9\xc1\x81\":1}}}",
             "not valid"}, /* a member name */
            /* Numbers json-c would change: published only as sent. */
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\",\"payload\":{\"n\":18446744073709551616}}}",
             "field \"data.payload.n\" is an integer beyond 64 bits"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\",\"payload\":{\"n\":-9223372036854775809}}}",
             "beyond 64 bits"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\",\"payload\":{\"n\":-0}}}",
             "field \"data.payload.n\" is -0"},
            /* A lone surrogate, which json-c turns into U+FFFD. */
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\",\"payload\":{\"s\":\"x\\ud800\"}}}",
             "field \"data.payload.s\" has a lone surrogate escape"},
            /* Duplicate names: json-c keeps the last, silently. */
            {"{\"data\":{\"id\":\"a\",\"id\":\"b\",\"event_type\":\"portout.status_changed\","
             "\"portout_id\":\"p\"}}",
             "field \"data\" has the member \"id\" more than once"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\"},\"data\":{\"id\":\"b\",\"event_type\":\"portout.status_changed\","
             "\"portout_id\":\"q\"}}",
             "the document has the member \"data\" more than once"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"payload\":{"
             "\"id\":\"p\",\"\\u0069d\":\"q\"}}}",
             "field \"data.payload\" has the member \"id\" more than once"},
            /* A name with U+0000: json-c reads "id\u0000" as "id", so it
             * would publish evt-B as the id the checker saw once. */
            {"{\"data\":{\"id\":\"evt-A\",\"id\\u0000\":\"evt-B\",\"event_type\":"
             "\"portout.status_changed\",\"portout_id\":\"p\"}}",
             "field \"data\" has a member name holding U+0000"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"portout_id\":"
             "\"p\"},\"data\\u0000x\":{\"id\":\"b\"}}",
             "has a member name holding U+0000"},
            {"{\"data\":{\"id\":\"a\",\"event_type\":\"portout.status_changed\",\"payload\":{"
             "\"id\":\"p\",\"id\\u0000\":\"q\"}}}",
             "field \"data.payload\" has a member name holding U+0000"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                pb_batch_t *b = norm(cases[i].doc);
                assert_int_equal(b->cnt, 1);
                if (b->items[0].env || !b->items[0].error ||
                    !strstr(b->items[0].error, cases[i].want))
                        fail_msg("case %zu: %s", i,
                                 b->items[0].error ? b->items[0].error : "published");
                assert_int_equal(b->items[0].raw_len, strlen(cases[i].doc)); /* its bytes kept */
                pb_batch_free(b);
        }
        /* Valid UTF-8, raw or escaped, astral planes included, still passes. */
        pb_batch_t *b =
            norm("{\"data\":{\"id\":\"\xc3\xa9\xf0\x9f\x98\x80\\ud83d\\ude00\",\"event_type\":"
                 "\"portout.status_changed\",\"portout_id\":\"p\",\"payload\":{\"x\":1.5e3}}}");
        assert_non_null(b->items[0].env);
        assert_non_null(strstr(b->items[0].env->json, "\"x\":1.5e3"));
        pb_batch_free(b);
}

/* A list response with unpublishable elements: those are rejected with
 * their own bytes, the others still published. */
static void test_list_split(void **state)
{
        (void)state;
        const char *e0 = "{\"id\":\"r0\",\"event_type\":\"portout.status_changed\","
                         "\"portout_id\":\"p\",\"n\":-0}";
        char doc[512];
        snprintf(doc, sizeof(doc),
                 "{\"data\":[%s,{\"id\":\"r1\",\"event_type\":\"portout.status_changed\","
                 "\"portout_id\":\"p\",\"n\":1.0e400}],\"meta\":{\"page_number\":1}}",
                 e0);
        pb_batch_t *b = norm(doc);
        assert_int_equal(b->cnt, 2);
        assert_int_equal(b->rejected, 1);
        assert_null(b->items[0].env);
        assert_non_null(strstr(b->items[0].error, "data[0]: field \"n\" is -0"));
        assert_int_equal(b->items[0].raw_len, strlen(e0));
        assert_memory_equal(b->items[0].raw, e0, strlen(e0)); /* its exact bytes */
        assert_non_null(b->items[1].env);
        assert_non_null(strstr(b->items[1].env->json, "\"n\":1.0e400")); /* as sent */
        pb_batch_free(b);
        /* A problem in the paging meta: the page as a whole. */
        b = norm("{\"data\":[],\"meta\":{\"n\":NaN}}");
        assert_int_equal(b->cnt, 1);
        assert_non_null(strstr(b->items[0].error, "field \"meta.n\" is not a finite number"));
        pb_batch_free(b);
}

/* The telnyx object merges the record, the delivery meta and the top level;
 * a clash takes a prefix, repeated until the name is free: nothing is
 * overwritten (meta.a used to replace the record's own meta_a). */
static void test_merge_keeps_every_member(void **state)
{
        (void)state;
        pb_batch_t *b = norm("{\"data\":{\"record_type\":\"event\",\"id\":\"a\",\"event_type\":"
                             "\"portout.status_changed\",\"payload\":{\"id\":\"p\"},\"a\":1,"
                             "\"meta_a\":2},\"meta\":{\"a\":3,\"attempt\":1}}");
        assert_non_null(b->items[0].env);
        assert_non_null(strstr(b->items[0].env->json, "\"a\":1,\"meta_a\":2,\"meta_meta_a\":3"));
        pb_batch_free(b);
}

static void test_rejections(void **state)
{
        (void)state;
        expect_reject("", "empty input");
        expect_reject("not json", "not valid JSON");
        expect_reject("{\"id\":", "document ends early");
        expect_reject("{\"id\":\"e\"} trailing", "not valid JSON: unexpected character at byte 11");
        expect_reject("{'id':'e'}", "not valid JSON");
        expect_reject("[1,2]", "input is a JSON array, expected an object");
        expect_reject("\"str\"", "input is a JSON string, expected an object");
        expect_reject("{\"data\":\"x\"}",
                      "field \"data\" must be an object or an array, got string");
        expect_reject("{\"event_type\":\"portout.status_changed\",\"portout_id\":\"p\"}",
                      "missing field \"id\" (the event id)");
        expect_reject("{\"data\":{\"event_type\":\"portout.status_changed\",\"payload\":{\"id\":"
                      "\"p\"},\"record_type\":\"event\"}}",
                      "missing field \"data.id\"");
        expect_reject("{\"id\":7,\"event_type\":\"portout.status_changed\",\"portout_id\":\"p\"}",
                      "field \"id\" must be a string, got int");
        expect_reject(
            "{\"id\":\"\",\"event_type\":\"portout.status_changed\",\"portout_id\":\"p\"}",
            "field \"id\" must not be empty");
        expect_reject("{\"id\":\"a\\nb\",\"event_type\":\"x\",\"portout_id\":\"p\"}",
                      "field \"id\" contains a control character");
        expect_reject("{\"id\":\"e\",\"portout_id\":\"p\"}", "missing field \"event_type\"");
        expect_reject("{\"id\":\"e\",\"event_type\":[],\"portout_id\":\"p\"}",
                      "field \"event_type\" must be a string, got array");
        expect_reject("{\"id\":\"e\",\"event_type\":\"portout.status_changed\",\"portout_id\":1}",
                      "field \"portout_id\" must be a string, got int");
        expect_reject("{\"id\":\"e\",\"event_type\":\"portout.status_changed\"}",
                      "missing port-out id: neither \"portout_id\" nor \"payload.id\"");
        expect_reject("{\"data\":{\"event_type\":\"portout.new_comment\",\"id\":\"e\",\"payload\":"
                      "{\"id\":\"c\"},\"record_type\":\"event\"}}",
                      "neither \"data.portout_id\" nor \"data.payload.portout_id\" is present");
        expect_reject(
            "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"e\",\"payload\":"
            "null,\"record_type\":\"event\"}}",
            "(payload is null or absent)");
        expect_reject(
            "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"e\",\"payload\":"
            "[1],\"record_type\":\"event\"}}",
            "field \"data.payload\" must be an object or null, got array");
        expect_reject(
            "{\"data\":{\"event_type\":\"portout.foc_date_changed\",\"id\":\"e\",\"payload\":"
            "{\"id\":42},\"record_type\":\"event\"}}",
            "field \"data.payload.id\" must be a string, got int");
        char longid[400] = "{\"id\":\"";
        memset(longid + 7, 'a', 300);
        strcpy(longid + 307, "\",\"event_type\":\"x\",\"portout_id\":\"p\"}");
        expect_reject(longid, "longer than 256");
}

/* Valid JSON nested deeper than json-c reads (32 levels, within what the
 * scanner passes: 64) is refused for its depth, not called invalid JSON
 * (fuzz_normalize found "[[[...]]]" 36 deep said "not valid JSON"). */
static void test_too_deep_is_not_invalid(void **state)
{
        (void)state;
        char doc[2 * 40 + 8] = "{\"d\":";
        size_t n = strlen(doc);
        for (int i = 0; i < 39; i++)
                doc[n++] = '[';
        for (int i = 0; i < 39; i++)
                doc[n++] = ']';
        doc[n++] = '}';
        doc[n] = '\0';
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        assert_int_equal(pb_json_check(doc, n, &jc), 0); /* fit to publish, as text */
        pb_jcheck_free(&jc);
        pb_batch_t *b = norm(doc);
        assert_int_equal(b->cnt, 1);
        assert_null(b->items[0].env);
        assert_non_null(strstr(b->items[0].error, "nested deeper than 32 levels"));
        assert_null(strstr(b->items[0].error, "not valid JSON"));
        assert_int_equal(b->items[0].raw_len, n); /* the bytes kept for the dead letter */
        pb_batch_free(b);
}

/* The envelope is written directly, not by json-c; it must be the bytes
 * json-c writes for the same tree (PLAIN, no slash escaping): a json-c round
 * trip reproduces it exactly, escapes, unicode, numbers and nesting
 * included. (Checked also against the old tree-building normalizer on
 * 20,000 events: identical.) */
static void test_envelope_bytes_are_json_c_bytes(void **state)
{
        (void)state;
        static const char *const docs[] = {
            "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"we\\\"ird\\\\id/"
            "\u00fc\","
            "\"payload\":{\"id\":\"p\\\"o/\u00e9\",\"note\":\"a/b \\t\\n\\u0001\\u001f \\u2028\","
            "\"n\":1.50,\"big\":12345678901234567890,\"e\":1e5,\"arr\":[1,{\"x\":null}],"
            "\"empty\":{}},\"record_type\":\"event\"},\"meta\":{\"attempt\":2},\"extra\":\"top/"
            "l\"}",
            "{ \"data\" : { \"event_type\":\"portout.new_comment\", \"id\":\"c1\", "
            "\"payload\": {\"portout_id\":\"p9\",\"comment\":\"x\\/y\"} } ,\"meta\":{} }",
            "{\"data\":[{\"id\":\"r1\",\"event_type\":\"portout.foc_date_changed\",\"payload\":"
            "null,"
            "\"portout_id\":\"p1\",\"meta_x\":1}],\"meta\":{\"page\":1}}",
            /* every kind of value the payload writer handles itself */
            "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"v1\",\"payload\":{"
            "\"id\":\"p2\",\"ints\":[0,7,-1,9223372036854775807,-9223372036854775808,"
            "9223372036854775806,18446744073709551615,-12],\"dbl\":[-0.0,1.0,-1.5e-7,2E+3,0.1],"
            "\"b\":[true,false,null],\"nest\":[[],[[{}]],{\"a\":{\"b\":[{\"c\":\"d\"}]}}],"
            "\"k\\\"ey/\\u0001\":\"nul\\u0000in\",\"emoji\":\"\\ud83d\\ude00\",\"\":\"\","
            "\"ctl\":\"\\u007f\\u001b\\b\\f\"},\"occurred_at\":\"2026-03-05T12:30:45Z\","
            "\"n\":-3,\"t\":true},\"meta\":{\"attempt\":1,\"f\":0.5,\"x\":null}}",
        };
        for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
                pb_batch_t *b = norm(docs[d]);
                assert_true(b->cnt >= 1);
                for (size_t i = 0; i < b->cnt; i++) {
                        const pb_envelope_t *e = b->items[i].env;
                        if (!e)
                                fail_msg("doc %zu item %zu rejected: %s", d, i, b->items[i].error);
                        json_object *o = env_json(e);
                        const char *again = json_object_to_json_string_ext(
                            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                        assert_string_equal(again, e->json);
                        assert_int_equal(strlen(e->json), e->json_len);
                        json_object_put(o);
                        /* and the payload is json-c's bytes for the input's own tree */
                        json_object *in = json_tokener_parse(docs[d]), *data, *rec = NULL, *pl;
                        assert_non_null(in);
                        assert_true(json_object_object_get_ex(in, "data", &data));
                        rec = json_object_is_type(data, json_type_array)
                                  ? json_object_array_get_idx(data, i)
                                  : data;
                        char want[4096];
                        snprintf(
                            want, sizeof(want), "\"payload\":%s,\"telnyx\":",
                            json_object_object_get_ex(rec, "payload", &pl) && pl
                                ? json_object_to_json_string_ext(
                                      pl, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                                : "null");
                        if (!strstr(e->json, want))
                                fail_msg("doc %zu: payload is not json-c's bytes:\n%s\nwant %s", d,
                                         e->json, want);
                        json_object_put(in);
                }
                pb_batch_free(b);
        }
        /* Content too, through every escape: the source comes from the
         * configuration and may hold anything a C string can. */
        static const char src[] = "https://s.example/a\"b\\c/d\t\n\r\b\f\x01\x1f\x7f\xc3\xa9 e";
        const pb_norm_opts_t o2 = {src, NULL, NULL, 0};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, RECEIVED_US};
        pb_batch_t *b = pb_normalize(&o2, docs[0], strlen(docs[0]), &ing);
        assert_non_null(b->items[0].env);
        json_object *o = env_json(b->items[0].env);
        assert_str_at(o, "source", src);
        assert_str_at(o, "id", "we\"ird\\id/\xc3\xbc");
        assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE),
                            b->items[0].env->json);
        json_object_put(o);
        pb_batch_free(b);
}

/* Two paths, one result: the common case read from the text's own spans
 * and json-c's tree give the same items, byte for byte, on every fixture
 * and the normalize fuzz seeds (escapes, clashes, deep meta, times that
 * must be decoded), with and without a privacy policy. fuzz_normalize
 * holds it on every input it makes. */
static void assert_same_both_ways(const pb_norm_opts_t *o, const char *doc, size_t n,
                                  const char *name)
{
        pb_norm_opts_t tree = *o;
        tree.tree_only = 1;
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, RECEIVED_US + 123};
        pb_batch_t *a = pb_normalize(o, doc, n, &ing), *t = pb_normalize(&tree, doc, n, &ing);
        assert_non_null(a);
        assert_non_null(t);
        if (a->cnt != t->cnt)
                fail_msg("%s: %zu items, json-c path %zu", name, a->cnt, t->cnt);
        for (size_t i = 0; i < a->cnt; i++) {
                const pb_norm_item_t *x = &a->items[i], *y = &t->items[i];
                if ((x->error || y->error) &&
                    !(x->error && y->error && strcmp(x->error, y->error) == 0))
                        fail_msg("%s: \"%s\", json-c path \"%s\"", name, x->error ? x->error : "",
                                 y->error ? y->error : "");
                if (!x->env)
                        continue;
                if (x->env->json_len != y->env->json_len ||
                    memcmp(x->env->json, y->env->json, x->env->json_len) != 0 ||
                    x->env->payload_hash != y->env->payload_hash ||
                    x->env->created_us != y->env->created_us ||
                    strcmp(x->env->time, y->env->time) != 0)
                        fail_msg("%s:\n  %s\n  json-c path:\n  %s", name, x->env->json,
                                 y->env->json);
        }
        pb_batch_free(a);
        pb_batch_free(t);
}

static void test_span_path_is_json_c_path(void **state)
{
        (void)state;
        static const char key[] = "0123456789abcdef";
        pb_privacy_t *pv =
            pb_privacy_new("payload.spid", "payload.attempted_pin", key, 16, NULL, 0);
        assert_non_null(pv);
        const pb_norm_opts_t with = {SOURCE, NULL, pv, 0};
        static const char *const files[] = {
            "webhook-status-changed.json", "webhook-foc-date-changed.json",
            "webhook-new-comment.json",    "rest-show-new-comment.json",
            "rest-show-payload-null.json", "rest-list.json",
        };
        static const char *const seeds[] = {
            "clash.json",
            "deep-meta.json",
            "escapes.json",
            "name-escape.json",
            "pin-null.json",
            "pin.json",
            "record-type-escaped.json",
            "spaces.json",
            "times.json",
        };
        for (size_t f = 0; f < 2; f++) {
                size_t cnt =
                    f ? sizeof(seeds) / sizeof(seeds[0]) : sizeof(files) / sizeof(files[0]);
                for (size_t i = 0; i < cnt; i++) {
                        char path[512];
                        if (f)
                                snprintf(path, sizeof(path), "%s/tests/fuzz/seeds/normalize/%s",
                                         PB_SOURCE_DIR, seeds[i]);
                        size_t n = 0;
                        char *doc = tu_read_file(f ? path : files[i], &n);
                        assert_same_both_ways(&opts, doc, n, f ? seeds[i] : files[i]);
                        assert_same_both_ways(&with, doc, n, f ? seeds[i] : files[i]);
                        free(doc);
                }
        }
        pb_privacy_free(pv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rest_list),
            cmocka_unit_test(test_list_element_bytes),
            cmocka_unit_test(test_list_sizes),
            cmocka_unit_test(test_list_bad_element),
            cmocka_unit_test(test_rest_show_new_comment),
            cmocka_unit_test(test_payload_null_and_empty),
            cmocka_unit_test(test_webhooks),
            cmocka_unit_test(test_same_event_both_paths),
            cmocka_unit_test(test_deterministic),
            cmocka_unit_test(test_unknown_type_and_fields),
            cmocka_unit_test(test_unicode),
            cmocka_unit_test(test_time_fallbacks),
            cmocka_unit_test(test_rejections),
            cmocka_unit_test(test_too_deep_is_not_invalid),
            cmocka_unit_test(test_invalid_text_rejected),
            cmocka_unit_test(test_list_split),
            cmocka_unit_test(test_merge_keeps_every_member),
            cmocka_unit_test(test_envelope_bytes_are_json_c_bytes),
            cmocka_unit_test(test_span_path_is_json_c_path),
        };
        remove(PB_ENVELOPE_DUMP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
