/* record.c: every record the bridge writes, built and read back. The
 * header sets of the three content modes, the dead letters of each stage
 * (the {"raw_base64"} wrap, the cut, the privacy policy), the state record,
 * trace context on all of them, and reading each back from any mode. The
 * Kafka round trip itself is test_publish.c's (through the mock cluster). */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "config.h"
#include "pb.h"
#include "privacy.h"
#include "record.h"

/* Headers of a built record, for pb_record_read(). */
#define get pb_record_header_get

static const char *header(const pb_record_t *r, const char *name)
{
        const void *v;
        size_t vl;
        return get((void *)r, name, &v, &vl) ? NULL : v;
}

static pb_batch_t *one_event(const char *type)
{
        char doc[512];
        snprintf(doc, sizeof(doc),
                 "{\"data\":{\"event_type\":\"%s\",\"id\":\"e-1\",\"occurred_at\":"
                 "\"2026-03-05T12:30:45Z\",\"payload\":{\"id\":\"po-7\",\"portout_id\":\"po-7\"},"
                 "\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}",
                 type);
        pb_norm_opts_t no = {"https://api.telnyx.com/v2/portouts", NULL, NULL, 0};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, INT64_C(1772668800000000)};
        pb_batch_t *b = pb_normalize(&no, doc, strlen(doc), &ing);
        assert_non_null(b);
        assert_non_null(b->items[0].env);
        return b;
}

static void test_event_in_each_mode_reads_back(void **state)
{
        (void)state;
        pb_batch_t *b = one_event("portout.status_changed");
        const pb_envelope_t *e = b->items[0].env;
        pb_trace_t tr;
        memset(&tr, 0, sizeof(tr));
        pb_trace_start(&tr);
        pb_provenance_t prov = {"webhook", "2026-03-05T00:00:00Z", NULL};
        const int modes[] = {PB_KAFKA_MODE_STRUCTURED, PB_KAFKA_MODE_STRUCTURED_NOHDR,
                             PB_KAFKA_MODE_BINARY};
        for (size_t m = 0; m < 3; m++) {
                pb_record_out_t o;
                pb_record_event(&o, e, modes[m], "t.s", &tr, &prov, "raw", 3);
                const pb_record_t *r = &o.rec;
                assert_string_equal(r->topic, "t.s");
                assert_memory_equal(r->key, "po-7", 4);
                assert_string_equal(header(r, "traceparent"), tr.traceparent);
                if (modes[m] == PB_KAFKA_MODE_STRUCTURED_NOHDR) {
                        assert_int_equal(r->headers_cnt, 2); /* content-type, traceparent */
                        assert_null(header(r, "ce_id"));
                } else {
                        assert_string_equal(header(r, "ce_id"), "e-1");
                        assert_string_equal(header(r, "ce_specversion"), "1.0");
                        assert_string_equal(header(r, "ce_subject"), "po-7");
                }
                assert_string_equal(header(r, "content-type"),
                                    modes[m] == PB_KAFKA_MODE_BINARY
                                        ? "application/json"
                                        : "application/cloudevents+json; charset=UTF-8");
                pb_record_view_t v;
                pb_record_read(r->value, r->value_len, get, (void *)r, &v);
                assert_int_equal(v.kind, PB_RECORD_EVENT);
                assert_string_equal(v.id, "e-1");
                assert_string_equal(v.type, "com.telnyx.portout.status_changed");
                assert_string_equal(v.subject, "po-7");
                assert_string_equal(v.time, "2026-03-05T12:30:45Z");
                assert_string_equal(v.ingest, "webhook");
                assert_string_equal(v.traceparent, tr.traceparent);
                pb_record_out_clear(&o);
        }
        /* Without trace context: no trace header at all. */
        pb_record_out_t o;
        pb_record_event(&o, e, PB_KAFKA_MODE_STRUCTURED, "t.s", NULL, &prov, NULL, 0);
        assert_null(header(&o.rec, "traceparent"));
        pb_batch_free(b);
}

/* The longest event type normalize accepts reads back whole in every mode
 * (the view held 160 bytes of type: fuzz_record found a 200-byte one cut). */
static void test_longest_type_reads_back(void **state)
{
        (void)state;
        char type[PB_MAX_ID_LEN + 1], want[PB_MAX_ID_LEN + 16];
        memset(type, 'x', PB_MAX_ID_LEN);
        memcpy(type, "portout.", 8);
        type[PB_MAX_ID_LEN] = '\0';
        snprintf(want, sizeof(want), "com.telnyx.%s", type);
        pb_batch_t *b = one_event(type);
        pb_provenance_t prov = {"rest", "2026-03-05T00:00:00Z", NULL};
        for (int m = 0; m < 3; m++) {
                pb_record_out_t o;
                pb_record_event(&o, b->items[0].env, m, "t.s", NULL, &prov, NULL, 0);
                pb_record_view_t v;
                pb_record_read(o.rec.value, o.rec.value_len, get, (void *)&o.rec, &v);
                assert_int_equal(v.kind, PB_RECORD_EVENT);
                assert_string_equal(v.type, want);
                pb_record_out_clear(&o);
        }
        pb_batch_free(b);
}

/* Input that is not JSON goes wrapped; read back, the dead letter is named
 * by the input's own bytes, as the pipeline named the rejection. */
static void test_rejected_is_named_by_its_bytes(void **state)
{
        (void)state;
        const char raw[] = "{\"a\":\"\xc0\xaf\"}";
        pb_provenance_t prov = {"file", "2026-03-05T00:00:00Z", "x.ndjson:3"};
        pb_record_out_t o;
        assert_int_equal(
            pb_record_rejected(&o, "t.dlq", NULL, "bad", raw, sizeof(raw) - 1, 0, &prov, NULL), 0);
        assert_string_equal(header(&o.rec, "pb_stage"), "normalize");
        assert_string_equal(header(&o.rec, "pb_value_encoding"), "json_base64");
        assert_string_equal(header(&o.rec, "pb_origin"), "x.ndjson:3");
        assert_null(header(&o.rec, "pb_redacted"));
        /* The wrap, decoded with libsodium. */
        const char *pre = "{\"raw_base64\":\"";
        assert_memory_equal(o.rec.value, pre, strlen(pre));
        unsigned char bin[64];
        size_t n = 0;
        assert_int_equal(sodium_base642bin(bin, sizeof(bin), o.rec.value + strlen(pre),
                                           o.rec.value_len - strlen(pre) - 2, NULL, &n, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        assert_int_equal(n, sizeof(raw) - 1);
        assert_memory_equal(bin, raw, n);
        char want[PB_RECORD_REJECT_ID_LEN + 1];
        pb_record_reject_id(raw, sizeof(raw) - 1, want);
        pb_record_view_t v;
        pb_record_read(o.rec.value, o.rec.value_len, get, &o.rec, &v);
        assert_int_equal(v.kind, PB_RECORD_DEAD_LETTER);
        assert_string_equal(v.id, want);
        assert_string_equal(v.stage, "normalize");
        assert_string_equal(v.error, "bad");
        assert_string_equal(v.ingest, "file");
        pb_record_out_clear(&o);
        /* JSON input goes as it came, redacted said so. */
        assert_int_equal(pb_record_rejected(&o, "t.dlq", "conflict", NULL, "{}", 2, 1, &prov, NULL),
                         0);
        assert_string_equal(o.rec.value, "{}");
        assert_null(header(&o.rec, "pb_value_encoding"));
        assert_string_equal(header(&o.rec, "pb_redacted"), "privacy");
        assert_string_equal(header(&o.rec, "pb_error"), "rejected"); /* no reason: still one */
        pb_record_read(o.rec.value, o.rec.value_len, get, &o.rec, &v);
        pb_record_reject_id("{}", 2, want);
        assert_string_equal(v.id, want);
        pb_record_out_clear(&o);
}

static void test_reject_id_is_the_sha256_of_the_bytes(void **state)
{
        (void)state;
        char id[PB_RECORD_REJECT_ID_LEN + 1];
        pb_record_reject_id("abc", 3, id);
        assert_string_equal(
            id, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        pb_record_reject_id(NULL, 0, id); /* no bytes: the hash of nothing */
        assert_string_equal(
            id, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#define PIN_DOC "{\"payload\":{\"attempted_pin\":\"1234\"}}"

/* A refused record: its headers but its content type, the reason, ce_id
 * even in the header-less mode, the policy on its bytes, and when cut a
 * wrapped prefix with the whole's hash and size. */
static void test_refused_becomes_its_dead_letter(void **state)
{
        (void)state;
        pb_batch_t *b = one_event("portout.new_comment");
        pb_trace_t tr;
        memset(&tr, 0, sizeof(tr));
        pb_trace_start(&tr);
        pb_provenance_t prov = {"webhook", "2026-03-05T00:00:00Z", NULL};
        pb_record_out_t ev;
        pb_record_event(&ev, b->items[0].env, PB_KAFKA_MODE_STRUCTURED_NOHDR, "t.n", &tr, &prov,
                        PIN_DOC, strlen(PIN_DOC));
        char err[PB_ERRSZ];
        pb_privacy_t *priv =
            pb_privacy_new("payload.attempted_pin", NULL, NULL, 0, err, sizeof(err));
        assert_non_null(priv);
        pb_refusal_t r = {&ev.rec, "MSG_SIZE_TOO_LARGE", "too large", 0};
        pb_record_out_t o;
        assert_int_equal(pb_record_refused(&o, "t.dlq", priv, &r), 0);
        assert_string_equal(o.rec.topic, "t.dlq");
        assert_null(header(&o.rec, "content-type"));
        assert_string_equal(header(&o.rec, "ce_id"), "e-1");
        assert_string_equal(header(&o.rec, "traceparent"), tr.traceparent);
        assert_string_equal(header(&o.rec, "pb_stage"), "produce");
        assert_string_equal(header(&o.rec, "pb_error_code"), "MSG_SIZE_TOO_LARGE");
        assert_string_equal(header(&o.rec, "pb_original_topic"), "t.n");
        assert_string_equal(header(&o.rec, "pb_redacted"), "privacy");
        assert_null(strstr(o.rec.value, "1234")); /* the PIN did not go */
        pb_record_view_t v;
        pb_record_read(o.rec.value, o.rec.value_len, get, &o.rec, &v);
        assert_int_equal(v.kind, PB_RECORD_DEAD_LETTER);
        assert_string_equal(v.id, "e-1");
        pb_record_out_clear(&o);

        /* Cut: 8 KiB of it, wrapped, and the whole's hash and size. */
        size_t big = 3 * PB_RECORD_PREFIX_BYTES;
        char *raw = malloc(big);
        memset(raw, 'x', big);
        ev.rec.raw = raw;
        ev.rec.raw_len = big;
        r.cut = 1;
        assert_int_equal(pb_record_refused(&o, "t.dlq", priv, &r), 0);
        assert_string_equal(header(&o.rec, "pb_value_encoding"), "json_base64");
        char bytes[24];
        snprintf(bytes, sizeof(bytes), "%zu", big);
        assert_string_equal(header(&o.rec, "pb_original_bytes"), bytes);
        unsigned char d[crypto_hash_sha256_BYTES];
        char hex[65];
        crypto_hash_sha256(d, (unsigned char *)raw, big);
        sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
        assert_string_equal(header(&o.rec, "pb_original_sha256"), hex);
        assert_true(o.rec.value_len < PB_RECORD_PREFIX_BYTES * 2);
        pb_record_out_clear(&o);
        free(raw);
        pb_privacy_free(priv);
        pb_batch_free(b);
}

static void test_state_record_carries_its_cause(void **state)
{
        (void)state;
        json_object *res = json_tokener_parse("{\"id\":\"po-9\",\"status\":\"pending\"}");
        size_t len;
        char *val = pb_record_state_value(res, "po-9", "2026-03-01T10:00:00Z", "e-7", "src", &len);
        assert_non_null(val);
        pb_trace_t tr;
        memset(&tr, 0, sizeof(tr));
        pb_trace_start(&tr);
        pb_record_out_t o;
        pb_record_state(&o, "t.state", "src", "po-9", "2026-03-01T10:00:00Z", "e-7", tr.traceparent,
                        "", val, len);
        assert_string_equal(header(&o.rec, "ce_id"), "po-9@2026-03-01T10:00:00Z");
        assert_string_equal(header(&o.rec, "ce_causationid"), "e-7");
        assert_string_equal(header(&o.rec, "traceparent"), tr.traceparent);
        assert_null(header(&o.rec, "tracestate"));
        pb_record_view_t v;
        pb_record_read(o.rec.value, o.rec.value_len, get, &o.rec, &v);
        assert_int_equal(v.kind, PB_RECORD_STATE);
        assert_string_equal(v.cause, "e-7");
        /* A cause's trace header that is not valid is not carried on. */
        pb_record_state(&o, "t.state", "src", "po-9", "x", "e-7", "00-zz", NULL, val, len);
        assert_null(header(&o.rec, "traceparent"));
        free(val);
        json_object_put(res);
}

/* Someone else's record: no attributes, kind unknown; a forged traceparent
 * is not read as one. */
static void test_foreign_record_reads_as_unknown(void **state)
{
        (void)state;
        pb_header_t h[] = {{"traceparent", "00-zz\n"}, {"content-type", "text/plain"}};
        pb_record_t r = {.headers = h, .headers_cnt = 2};
        pb_record_view_t v;
        pb_record_read("hello", 5, get, &r, &v);
        assert_int_equal(v.kind, PB_RECORD_UNKNOWN);
        assert_string_equal(v.id, "");
        assert_string_equal(v.traceparent, "");
        pb_record_read(NULL, 0, get, &r, &v);
        assert_int_equal(v.kind, PB_RECORD_UNKNOWN);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_event_in_each_mode_reads_back),
            cmocka_unit_test(test_longest_type_reads_back),
            cmocka_unit_test(test_rejected_is_named_by_its_bytes),
            cmocka_unit_test(test_reject_id_is_the_sha256_of_the_bytes),
            cmocka_unit_test(test_refused_becomes_its_dead_letter),
            cmocka_unit_test(test_state_record_carries_its_cause),
            cmocka_unit_test(test_foreign_record_reads_as_unknown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
