#include "record.h"

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json_write.h"
#include "jsoncheck.h"
#include "privacy.h"

#define CE_CONTENT_TYPE   "application/cloudevents+json; charset=UTF-8"
#define DATA_CONTENT_TYPE "application/json"
#define CE_PREFIX         "ce_"
#define WRAP_ENCODING     "json_base64"

static const char wrap_pre[] = "{\"raw_base64\":\"", wrap_post[] = "\"}";

void pb_record_out_clear(pb_record_out_t *o)
{
        free(o->owned);
        free(o->scrubbed);
        o->owned = o->scrubbed = NULL;
}

static size_t put(pb_header_t *h, size_t n, const char *name, const char *value)
{
        if (!value || n >= PB_RECORD_MAX_HEADERS)
                return n;
        h[n].name = name;
        h[n].value = value;
        return n + 1;
}

/* traceparent and tracestate (W3C Trace Context's names: the header the
 * OpenTelemetry Kafka instrumentations read). */
static size_t put_trace(pb_header_t *h, size_t n, const pb_trace_t *tr)
{
        if (!tr || !tr->traceparent[0])
                return n;
        n = put(h, n, "traceparent", tr->traceparent);
        return tr->tracestate[0] ? put(h, n, "tracestate", tr->tracestate) : n;
}

static void start(pb_record_out_t *o)
{
        memset(&o->rec, 0, sizeof(o->rec));
        o->owned = o->scrubbed = NULL;
        o->rec.headers = o->hdr;
}

void pb_record_event(pb_record_out_t *o, const pb_envelope_t *e, int mode, const char *topic,
                     const pb_trace_t *tr, const pb_provenance_t *prov, const char *raw,
                     size_t raw_len)
{
        start(o);
        pb_header_t *h = o->hdr;
        size_t n = 0;
        /* Structured mode plus the ce_ headers, so consumers can route and
         * filter without parsing the value; or structured alone; or binary
         * mode: the data as the value, the attributes (and datacontenttype
         * as content-type) in the headers. */
        n = put(h, n, "content-type",
                mode == PB_KAFKA_MODE_BINARY ? DATA_CONTENT_TYPE : CE_CONTENT_TYPE);
        if (mode != PB_KAFKA_MODE_STRUCTURED_NOHDR) {
                n = put(h, n, CE_PREFIX "specversion", "1.0");
                n = put(h, n, CE_PREFIX "id", e->id);
                n = put(h, n, CE_PREFIX "source", e->source);
                n = put(h, n, CE_PREFIX "type", e->type);
                n = put(h, n, CE_PREFIX "subject", e->portout_id);
                n = put(h, n, CE_PREFIX "time", e->time);
                n = put(h, n, CE_PREFIX "partitionkey", e->portout_id);
                n = put(h, n, CE_PREFIX "ingestpath", e->ingest);
                n = put(h, n, CE_PREFIX "receivedat", e->received);
        }
        /* Trace context is transport-level (not an envelope attribute), in
         * every mode: the same envelope whichever way the event came. */
        n = put_trace(h, n, tr);
        o->rec.headers_cnt = n;
        o->rec.topic = topic;
        o->rec.key = e->portout_id;
        o->rec.key_len = strlen(e->portout_id);
        o->rec.value = mode == PB_KAFKA_MODE_BINARY ? e->json + e->data_off : e->json;
        o->rec.value_len = mode == PB_KAFKA_MODE_BINARY ? e->data_len : e->json_len;
        o->rec.raw = raw;
        o->rec.raw_len = raw_len;
        o->rec.prov = *prov;
        o->rec.id = e->id;
}

/* The {"raw_base64":"..."} value of bytes (padded RFC 4648 base64). */
static char *wrap(const void *bytes, size_t len)
{
        size_t bl = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
        char *v = malloc(sizeof(wrap_pre) - 1 + bl + sizeof(wrap_post));
        if (!v)
                return NULL;
        memcpy(v, wrap_pre, sizeof(wrap_pre) - 1);
        sodium_bin2base64(v + sizeof(wrap_pre) - 1, bl, bytes, len, sodium_base64_VARIANT_ORIGINAL);
        /* bl counts base64's NUL: the closing quote goes over it. */
        memcpy(v + sizeof(wrap_pre) - 1 + bl - 1, wrap_post, sizeof(wrap_post));
        return v;
}

/* The bytes a wrapped value holds (*out: the caller frees); -1 if not one. */
static int unwrap(const char *value, size_t len, unsigned char **out, size_t *out_len)
{
        const size_t pl = sizeof(wrap_pre) - 1, ql = sizeof(wrap_post) - 1;
        if (len < pl + ql || memcmp(value, wrap_pre, pl) != 0 ||
            memcmp(value + len - ql, wrap_post, ql) != 0)
                return -1;
        unsigned char *bin = malloc(len ? len : 1);
        size_t n = 0;
        if (!bin || sodium_base642bin(bin, len, value + pl, len - pl - ql, NULL, &n, NULL,
                                      sodium_base64_VARIANT_ORIGINAL) != 0) {
                free(bin);
                return -1;
        }
        *out = bin;
        *out_len = n;
        return 0;
}

/* The pb_ headers of a dead letter, after n others. */
static size_t put_dead(pb_header_t *h, size_t n, const char *stage, const char *error,
                       const char *code, const char *original_topic, const pb_provenance_t *prov,
                       const char *sha, const char *bytes, int wrapped, int redacted)
{
        n = put(h, n, "pb_stage", stage);
        n = put(h, n, "pb_error", error ? error : "rejected");
        n = put(h, n, "pb_error_code", code);
        n = put(h, n, "pb_original_topic", original_topic);
        n = put(h, n, "pb_ingestpath", prov->ingest ? prov->ingest : "unknown");
        n = put(h, n, "pb_receivedat", prov->received ? prov->received : "");
        n = put(h, n, "pb_origin", prov->origin ? prov->origin : "");
        n = put(h, n, "pb_original_sha256", sha);
        n = put(h, n, "pb_original_bytes", bytes);
        n = put(h, n, "pb_value_encoding", wrapped ? WRAP_ENCODING : NULL);
        return put(h, n, "pb_redacted", redacted ? "privacy" : NULL);
}

int pb_record_rejected(pb_record_out_t *o, const char *topic, const char *stage, const char *error,
                       const char *raw, size_t raw_len, int redacted, const pb_provenance_t *prov,
                       const pb_trace_t *tr)
{
        start(o);
        /* Every record is strict JSON in UTF-8, dead letters too: input that
         * is not goes as {"raw_base64":"..."}, said so in a header, its
         * bytes intact. The bytes are the item's, the privacy policy already
         * on them: nothing derived from what it removed goes beside them. */
        if (!raw)
                raw = "", raw_len = 0;
        pb_jcheck_t jc;
        memset(&jc, 0, sizeof(jc));
        if (pb_json_check(raw, raw_len, &jc) != 0 && !(o->owned = wrap(raw, raw_len)))
                return -1;
        size_t n = put_dead(o->hdr, 0, stage ? stage : "normalize", error, NULL, NULL, prov, NULL,
                            NULL, o->owned != NULL, redacted);
        o->rec.headers_cnt = put_trace(o->hdr, n, tr);
        o->rec.topic = topic;
        o->rec.value = o->owned ? o->owned : raw;
        o->rec.value_len = o->owned ? strlen(o->owned) : raw_len;
        o->rec.prov = *prov;
        return 0;
}

int pb_record_refused(pb_record_out_t *o, const char *topic, const struct pb_privacy *privacy,
                      const pb_refusal_t *r)
{
        start(o);
        const pb_record_t *in = r->rec;
        size_t n = 0;
        int has_id = 0;
        /* The refused record's own headers (not its content type: the value
         * becomes the original input), then the reason. */
        for (size_t i = 0; i < in->headers_cnt; i++)
                if (strcmp(in->headers[i].name, "content-type") != 0) {
                        n = put(o->hdr, n, in->headers[i].name, in->headers[i].value);
                        has_id |= !strcmp(in->headers[i].name, CE_PREFIX "id");
                }
        /* A structured-only record sends no ce_ header: its dead letter
         * still names the event, or the index would never know it is in
         * Kafka and a restart would dead-letter it again. */
        if (!has_id && in->id && *in->id)
                n = put(o->hdr, n, CE_PREFIX "id", in->id);
        const char *value = in->raw ? in->raw : in->value;
        size_t value_len = in->raw ? in->raw_len : in->value_len;
        /* The policy holds for dead letters too. */
        int red = 0;
        if (in->raw) {
                size_t sn = 0;
                red = pb_privacy_scrub(privacy, in->raw, in->raw_len, &o->scrubbed, &sn);
                if (red < 0)
                        return -1;
                if (red > 0) {
                        value = o->scrubbed;
                        value_len = sn;
                }
        }
        int cut = r->cut && value_len > PB_RECORD_PREFIX_BYTES;
        if (cut) {
                /* The prefix of a JSON text is not JSON: it goes wrapped. */
                unsigned char d[crypto_hash_sha256_BYTES];
                crypto_hash_sha256(d, (const unsigned char *)value, value_len);
                sodium_bin2hex(o->sha256, sizeof(o->sha256), d, sizeof(d));
                snprintf(o->bytes, sizeof(o->bytes), "%zu", value_len);
                if (!(o->owned = wrap(value, PB_RECORD_PREFIX_BYTES)))
                        return pb_record_out_clear(o), -1;
                value = o->owned;
                value_len = strlen(o->owned);
        }
        o->rec.headers_cnt =
            put_dead(o->hdr, n, "produce", r->reason, r->error_code, in->topic, &in->prov,
                     cut ? o->sha256 : NULL, cut ? o->bytes : NULL, cut, red > 0);
        o->rec.topic = topic;
        o->rec.key = in->key;
        o->rec.key_len = in->key_len;
        o->rec.value = value;
        o->rec.value_len = value_len;
        o->rec.prov = in->prov;
        o->rec.id = in->id;
        return 0;
}

/* The headers and fields of a record the bridge derives (a state record, a
 * deadline event): a structured CloudEvent whose id is in o->state_id. */
static void derived(pb_record_out_t *o, const char *topic, const char *source, const char *type,
                    const char *subject, const char *time, const char *cause,
                    const char *traceparent, const char *tracestate, const char *value,
                    size_t value_len)
{
        pb_header_t *h = o->hdr;
        size_t n = 0;
        n = put(h, n, "content-type", CE_CONTENT_TYPE);
        n = put(h, n, CE_PREFIX "specversion", "1.0");
        n = put(h, n, CE_PREFIX "id", o->state_id);
        n = put(h, n, CE_PREFIX "source", source);
        n = put(h, n, CE_PREFIX "type", type);
        n = put(h, n, CE_PREFIX "subject", *subject ? subject : NULL);
        n = put(h, n, CE_PREFIX "time", time);
        n = put(h, n, CE_PREFIX "partitionkey", *subject ? subject : NULL);
        if (cause)
                n = put(h, n, CE_PREFIX "causationid", cause);
        if (traceparent && pb_traceparent_valid(traceparent, strlen(traceparent))) {
                n = put(h, n, "traceparent", traceparent);
                if (tracestate && *tracestate)
                        n = put(h, n, "tracestate", tracestate);
        }
        o->rec.headers_cnt = n;
        o->rec.topic = topic;
        o->rec.key = *subject ? subject : NULL;
        o->rec.key_len = strlen(subject);
        o->rec.value = value;
        o->rec.value_len = value_len;
        o->rec.id = o->state_id;
}

void pb_record_state(pb_record_out_t *o, const char *topic, const char *source,
                     const char *portout_id, const char *updated_at, const char *cause,
                     const char *traceparent, const char *tracestate, const char *value,
                     size_t value_len)
{
        start(o);
        snprintf(o->state_id, sizeof(o->state_id), "%s@%s", portout_id, updated_at);
        derived(o, topic, source, PB_STATE_TYPE, portout_id, updated_at, cause, traceparent,
                tracestate, value, value_len);
}

void pb_record_deadline(pb_record_out_t *o, const char *topic, const char *source,
                        const char *portout_id, int64_t threshold_s, const char *time,
                        const char *value, size_t value_len)
{
        start(o);
        pb_deadline_id(portout_id, threshold_s, o->state_id);
        derived(o, topic, source, PB_DEADLINE_TYPE, portout_id, time, NULL, NULL, NULL, value,
                value_len);
}

void pb_record_command_result(pb_record_out_t *o, const char *topic, const char *source,
                              const char *portout_id, const char *result_id, const char *time,
                              const char *ref, const char *value, size_t value_len)
{
        start(o);
        snprintf(o->state_id, sizeof(o->state_id), "%s", result_id);
        derived(o, topic, source, PB_COMMAND_RESULT_TYPE, portout_id, time, NULL, NULL, NULL, value,
                value_len);
        o->rec.headers_cnt = put(o->hdr, o->rec.headers_cnt, "pb_command_ref", ref);
}

/* Appends "name":"value" (value escaped) and a comma. */
static char *put_attr(char *o, const char *name, const char *value)
{
        o = pb_json_string_put(o, name, strlen(name));
        *o++ = ':';
        o = pb_json_string_put(o, value, strlen(value));
        *o++ = ',';
        return o;
}

/* A structured CloudEvent of attrs and its data: obj (borrowed, written by
 * json_write), or text (JSON, written as it is) in its place when obj is
 * NULL, or both: text as obj's last member, named member. NULL out of
 * memory; the caller frees. */
static char *envelope(const char *const (*attrs)[2], size_t nattrs, json_object *obj,
                      const char *text, size_t text_len, const char *member, size_t *len)
{
        size_t n = 2 + strlen("\"data\":") + (obj ? pb_json_value_len(obj) : 0) +
                   (text ? text_len : 0) + (obj && member ? strlen(member) + 4 : 0);
        for (size_t i = 0; i < nattrs; i++)
                n += pb_json_string_len(attrs[i][0], strlen(attrs[i][0])) + 2 +
                     pb_json_string_len(attrs[i][1], strlen(attrs[i][1]));
        char *buf = malloc(n + 1), *o = buf;
        if (!buf)
                return NULL;
        *o++ = '{';
        for (size_t i = 0; i < nattrs; i++)
                o = put_attr(o, attrs[i][0], attrs[i][1]);
        memcpy(o, "\"data\":", 7);
        o += 7;
        if (obj)
                o = pb_json_value_put(o, obj);
        if (obj && member && text) { /* obj ends '}': the member goes before it */
                o--;
                *o++ = ',';
                *o++ = '"';
                memcpy(o, member, strlen(member));
                o += strlen(member);
                *o++ = '"';
                *o++ = ':';
                memcpy(o, text, text_len);
                o += text_len;
                *o++ = '}';
        } else if (!obj && text) {
                memcpy(o, text, text_len);
                o += text_len;
        }
        *o++ = '}';
        *o = '\0';
        *len = (size_t)(o - buf);
        return buf;
}

char *pb_record_state_value(json_object *resource, const char *portout_id, const char *updated_at,
                            const char *cause, const char *source, size_t *len)
{
        char id[PB_MAX_ID_LEN * 2 + 2];
        snprintf(id, sizeof(id), "%s@%s", portout_id, updated_at);
        const char *const attrs[][2] = {
            {"specversion", "1.0"},
            {"id", id},
            {"source", source},
            {"type", PB_STATE_TYPE},
            {"subject", portout_id},
            {"time", updated_at},
            {"datacontenttype", DATA_CONTENT_TYPE},
            {"partitionkey", portout_id},
            {"causationid", cause},
        };
        return envelope(attrs, sizeof(attrs) / sizeof(attrs[0]), resource, NULL, 0, NULL, len);
}

char *pb_record_deadline_value(const char *portout_doc, size_t doc_len, const char *portout_id,
                               int64_t threshold_s, int64_t age_s, const char *time,
                               const char *auto_authorize_at, const char *source, size_t *len)
{
        char id[PB_DEADLINE_ID_MAX + 1];
        pb_deadline_id(portout_id, threshold_s, id);
        const char *const attrs[][2] = {
            {"specversion", "1.0"},
            {"id", id},
            {"source", source},
            {"type", PB_DEADLINE_TYPE},
            {"subject", portout_id},
            {"time", time},
            {"datacontenttype", DATA_CONTENT_TYPE},
            {"partitionkey", portout_id},
        };
        json_object *data = json_object_new_object();
        if (!data ||
            json_object_object_add(data, "portout_id", json_object_new_string(portout_id)) ||
            json_object_object_add(data, "threshold_s", json_object_new_int64(threshold_s)) ||
            json_object_object_add(data, "age_s", json_object_new_int64(age_s)) ||
            json_object_object_add(data, "auto_authorize_at",
                                   json_object_new_string(auto_authorize_at))) {
                json_object_put(data);
                return NULL;
        }
        /* the port-out's JSON (the table's copy of what the state record
         * holds) as it stands */
        char *v =
            envelope(attrs, sizeof(attrs) / sizeof(attrs[0]), data,
                     portout_doc ? portout_doc : "null", portout_doc ? doc_len : 4, "portout", len);
        json_object_put(data);
        return v;
}

char *pb_record_command_result_value(const char *data, size_t data_len, const char *result_id,
                                     const char *portout_id, const char *time, const char *source,
                                     size_t *len)
{
        const char *const attrs[][2] = {
            {"specversion", "1.0"},
            {"id", result_id},
            {"source", source},
            {"type", PB_COMMAND_RESULT_TYPE},
            {"subject", portout_id},
            {"time", time},
            {"datacontenttype", DATA_CONTENT_TYPE},
            {"partitionkey", portout_id},
        };
        /* subject and partitionkey only with a port-out id: the rest first */
        const char *const(*a)[2] = attrs;
        size_t nattrs = 8;
        const char *const without[][2] = {
            {"specversion", "1.0"}, {"id", result_id},
            {"source", source},     {"type", PB_COMMAND_RESULT_TYPE},
            {"time", time},         {"datacontenttype", DATA_CONTENT_TYPE},
        };
        if (!*portout_id) {
                a = without;
                nattrs = 6;
        }
        return envelope(a, nattrs, NULL, data, data_len, NULL, len);
}

void pb_record_reject_id(const void *bytes, size_t len, char *out)
{
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, bytes ? bytes : (const void *)"", bytes ? len : 0);
        static const char prefix[] = "sha256:";
        memcpy(out, prefix, sizeof(prefix)); /* with its NUL, overwritten next */
        sodium_bin2hex(out + sizeof(prefix) - 1, 2 * crypto_hash_sha256_BYTES + 1, h, sizeof(h));
}

/* --- reading --- */

/* Copies header name into out ("" if absent or too long for it). */
static const char *hdr(pb_header_get_fn *get, void *ctx, const char *name, char *out, size_t n)
{
        const void *v;
        size_t vl;
        out[0] = '\0';
        if (get(ctx, name, &v, &vl) == 0 && v && vl < n) {
                memcpy(out, v, vl);
                out[vl] = '\0';
        }
        return out;
}

static int hdr_is(pb_header_get_fn *get, void *ctx, const char *name, const char *want)
{
        const void *v;
        size_t vl;
        return get(ctx, name, &v, &vl) == 0 && v && vl == strlen(want) && !memcmp(v, want, vl);
}

/* A string member of o, copied into out if it fits and out is still empty. */
static void member(json_object *o, const char *name, char *out, size_t n)
{
        json_object *v;
        if (!out[0] && json_object_object_get_ex(o, name, &v) &&
            json_object_is_type(v, json_type_string) && (size_t)json_object_get_string_len(v) < n)
                memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
}

void pb_record_read(const char *value, size_t len, pb_header_get_fn *get, void *ctx,
                    pb_record_view_t *out)
{
        memset(out, 0, sizeof(*out));
        hdr(get, ctx, CE_PREFIX "id", out->id, sizeof(out->id));
        hdr(get, ctx, CE_PREFIX "type", out->type, sizeof(out->type));
        hdr(get, ctx, CE_PREFIX "subject", out->subject, sizeof(out->subject));
        hdr(get, ctx, CE_PREFIX "time", out->time, sizeof(out->time));
        hdr(get, ctx, CE_PREFIX "ingestpath", out->ingest, sizeof(out->ingest));
        hdr(get, ctx, CE_PREFIX "causationid", out->cause, sizeof(out->cause));
        hdr(get, ctx, "traceparent", out->traceparent, sizeof(out->traceparent));
        if (!pb_traceparent_valid(out->traceparent, strlen(out->traceparent)))
                out->traceparent[0] = '\0';
        else
                hdr(get, ctx, "tracestate", out->tracestate, sizeof(out->tracestate));
        if (hdr(get, ctx, "pb_stage", out->stage, sizeof(out->stage))[0]) {
                out->kind = PB_RECORD_DEAD_LETTER;
                hdr(get, ctx, "pb_error", out->error, sizeof(out->error));
                if (!out->time[0])
                        hdr(get, ctx, "pb_receivedat", out->time, sizeof(out->time));
                if (!out->ingest[0])
                        hdr(get, ctx, "pb_ingestpath", out->ingest, sizeof(out->ingest));
                if (out->id[0])
                        return;
                /* A rejection's name: the hash of the input's bytes, as the
                 * pipeline named it (a cut value carries the whole's). */
                char sha[65];
                if (strlen(hdr(get, ctx, "pb_original_sha256", sha, sizeof(sha))) == 64) {
                        snprintf(out->id, sizeof(out->id), "sha256:%s", sha);
                } else if (!strcmp(out->stage, "normalize") || !strcmp(out->stage, "conflict")) {
                        unsigned char *bin = NULL;
                        size_t blen = 0;
                        if (!value)
                                value = "", len = 0;
                        if (hdr_is(get, ctx, "pb_value_encoding", WRAP_ENCODING) &&
                            unwrap(value, len, &bin, &blen) == 0)
                                pb_record_reject_id(bin, blen, out->id);
                        else
                                pb_record_reject_id(value, len, out->id);
                        free(bin);
                }
                return;
        }
        if (!out->id[0] && hdr_is(get, ctx, "content-type", CE_CONTENT_TYPE) && value &&
            len < INT32_MAX) {
                /* Structured without ce_ headers: the envelope says it. */
                json_tokener *tok = json_tokener_new();
                json_object *env = tok ? json_tokener_parse_ex(tok, value, (int)len) : NULL;
                json_tokener_free(tok);
                if (env && json_object_is_type(env, json_type_object)) {
                        member(env, "id", out->id, sizeof(out->id));
                        member(env, "type", out->type, sizeof(out->type));
                        member(env, "subject", out->subject, sizeof(out->subject));
                        member(env, "time", out->time, sizeof(out->time));
                        member(env, "ingestpath", out->ingest, sizeof(out->ingest));
                        member(env, "causationid", out->cause, sizeof(out->cause));
                }
                json_object_put(env);
        }
        if (!strcmp(out->type, PB_STATE_TYPE))
                out->kind = PB_RECORD_STATE;
        else if (!strcmp(out->type, PB_DEADLINE_TYPE))
                out->kind = PB_RECORD_DEADLINE;
        else if (!strcmp(out->type, PB_COMMAND_RESULT_TYPE))
                out->kind = PB_RECORD_COMMAND_RESULT;
        else if (out->id[0] && !strncmp(out->type, PB_CE_TYPE_PREFIX, strlen(PB_CE_TYPE_PREFIX)))
                out->kind = PB_RECORD_EVENT;
}

int pb_record_header_get(void *ctx, const char *name, const void **v, size_t *vl)
{
        const pb_record_t *r = ctx;
        for (size_t i = r->headers_cnt; i-- > 0;) /* the last of a name, as Kafka's readers */
                if (!strcmp(r->headers[i].name, name)) {
                        *v = r->headers[i].value;
                        *vl = strlen(r->headers[i].value);
                        return 0;
                }
        return -1;
}

static int kafka_get(void *ctx, const char *name, const void **v, size_t *vl)
{
        rd_kafka_headers_t *h = NULL;
        if (rd_kafka_message_headers(ctx, &h))
                return -1;
        return rd_kafka_header_get_last(h, name, v, vl) ? -1 : 0;
}

void pb_record_read_kafka(const rd_kafka_message_t *m, pb_record_view_t *out)
{
        pb_record_read(m->payload, m->len, kafka_get, (void *)m, out);
}
