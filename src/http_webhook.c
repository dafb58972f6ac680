#include "http_webhook.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_server.h"
#include "kafka_index.h"
#include "log.h"
#include "pb.h"

#define MAX_PATHS 16

struct pb_webhook {
        const pb_config_t *cfg;
        pb_pipeline_t *pl;
        pb_metrics_t *metrics;
        const pb_verifier_t *verifier;
        pb_index_t *index; /* NULL: dedupe.from_kafka off */
        pb_httpd_t *http;
        char *paths[MAX_PATHS];
        int npaths;
        char *timeout_body; /* the 503 the listener gives at webhook.ack_timeout_ms */
};

static void count(pb_webhook_t *w, unsigned code, const char *reason)
{
        char labels[128];
        snprintf(labels, sizeof(labels), "code=\"%u\",reason=\"%s\"", code, reason);
        pb_metrics_add(w->metrics, "portout_bridge_http_requests_total", labels, 1);
}

/* Answers (counted if this answer was the one given: the listener may have
 * answered at the deadline); returns pb_http_answer()'s word. */
static int answer_json(pb_webhook_t *w, pb_http_req_t *req, unsigned code, const char *reason,
                       json_object *body, const char *allow)
{
        size_t len = 0;
        const char *s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);
        int taken = pb_http_answer(
            req, code, "application/json", s, len,
            code == 503 || code == 429 ? (int)w->cfg->webhook_retry_after_s : 0, allow);
        if (taken)
                count(w, code, reason);
        json_object_put(body);
        return taken;
}

static json_object *error_body(const char *name, const char *message, const char *in_kafka)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(name));
        json_object_object_add(o, "message", json_object_new_string(message));
        if (in_kafka)
                json_object_object_add(o, "in_kafka", json_object_new_string(in_kafka));
        return o;
}

/* Refusals anyone can cause (4xx): their log lines have a budget. */
static pb_log_limit_t refusal_log = PB_LOG_LIMIT_INIT;

/* {"error": name, "message": text[, "in_kafka": in_kafka]}; counted and
 * logged. in_kafka (a 503's word on this attempt's event): "no" or "maybe". */
static int answer_error_in(pb_webhook_t *w, pb_http_req_t *req, unsigned code, const char *name,
                           const char *message, const char *allow, const char *in_kafka)
{
        char who[64];
        snprintf(who, sizeof(who), "%s", pb_http_req_client(req)); /* req is gone once answered */
        int taken = answer_json(w, req, code, name, error_body(name, message, in_kafka), allow);
        if (taken && code >= 500)
                pb_warn("webhook %u %s from %s: %s", code, name, who, message);
        else if (taken && !pb_log_limited(&refusal_log, PB_LOG_INFO, "webhook %u %s from %s: %s",
                                          code, name, who, message))
                pb_metrics_add(w->metrics, "portout_bridge_log_lines_left_out_total",
                               "what=\"refusal\"", 1);
        return taken;
}

static void answer_error(pb_webhook_t *w, pb_http_req_t *req, unsigned code, const char *name,
                         const char *message, const char *allow)
{
        answer_error_in(w, req, code, name, message, allow, NULL);
}

int pb_webhook_record_timeout_ms(const pb_config_t *cfg)
{
        int64_t t = cfg->webhook_ack_timeout_ms - PB_RDKAFKA_TIMEOUT_SCAN_MS - 200;
        return t < 100 ? 100 : (int)t;
}

static int is_webhook_path(const pb_webhook_t *w, const char *url)
{
        for (int i = 0; i < w->npaths; i++)
                if (strcmp(w->paths[i], url) == 0)
                        return 1;
        return 0;
}

static int is_json_type(const char *ct)
{
        static const char want[] = "application/json";
        if (!ct || strncasecmp(ct, want, sizeof(want) - 1) != 0)
                return 0;
        char c = ct[sizeof(want) - 1];
        return c == '\0' || c == ';' || c == ' ';
}

/* The signature headers: each exactly once (two, whichever came first,
 * would be a choice between a forged and a real one; the SDKs, handed the
 * two joined by a web framework, refuse them too), and well formed now. */
static pb_verify_rc_t signature_headers(pb_webhook_t *w, pb_http_req_t *req, unsigned char *sig,
                                        char *prefix, size_t *plen)
{
        if (pb_http_req_header_count(req, "telnyx-timestamp") > 1 ||
            pb_http_req_header_count(req, "telnyx-signature-ed25519") > 1)
                return PB_VERIFY_REPEATED_HEADER;
        unsigned char s[64];
        char p[PB_VERIFY_PREFIX_MAX];
        size_t n;
        return pb_verify_headers(w->verifier, pb_http_req_header(req, "telnyx-timestamp"),
                                 pb_http_req_header(req, "telnyx-signature-ed25519"),
                                 pb_now_ms() / 1000, sig ? sig : s, prefix ? prefix : p,
                                 plen ? plen : &n);
}

/* Refuses what can be refused before the body is read. */
static void on_headers(void *app, pb_http_req_t *req)
{
        pb_webhook_t *w = app;
        if (!is_webhook_path(w, pb_http_req_path(req))) {
                answer_error(w, req, 404, "not_found", "no such path", NULL);
                return;
        }
        if (strcmp(pb_http_req_method(req), "POST") != 0) {
                answer_error(w, req, 405, "method_not_allowed", "webhooks are POSTed", "POST");
                return;
        }
        if (!is_json_type(pb_http_req_header(req, "Content-Type"))) {
                answer_error(w, req, 415, "unsupported_media_type",
                             "Content-Type must be application/json", NULL);
                return;
        }
        const char *cl = pb_http_req_header(req, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)w->cfg->input_max_event_bytes) {
                char msg[128];
                snprintf(msg, sizeof(msg), "body exceeds %lld bytes",
                         (long long)w->cfg->input_max_event_bytes);
                answer_error(w, req, 413, "body_too_large", msg, NULL);
                return;
        }
        if (!w->verifier)
                return;
        /* Everything about the signature but the signature itself, before a
         * byte of the body is read: an unsigned or stale request never gets
         * to make the bridge hold its body. */
        pb_verify_rc_t vrc = signature_headers(w, req, NULL, NULL, NULL);
        if (vrc != PB_VERIFY_OK)
                answer_error(w, req, 401, pb_verify_rc_name(vrc), pb_verify_rc_text(vrc), NULL);
}

/* Returns 1 if this was the request's answer, 0 if the listener had given
 * the deadline's 503 already. */
static int answer_outcome(pb_webhook_t *w, pb_http_req_t *req, const pb_doc_result_t *res)
{
        double secs = (double)(pb_mono_ms() - pb_http_req_start_ms(req)) / 1000.0;
        int taken;
        if (res->failed) {
                char msg[768];
                /* "maybe": sent, never acknowledged; the retry is then
                 * answered "duplicate" if the copy did land. */
                const char *in_kafka = res->maybe_persisted ? "maybe" : "no";
                if (res->busy && pb_pipeline_closing(w->pl)) {
                        taken = answer_error_in(w, req, 503, "shutting_down",
                                                "the bridge is stopping; retry", NULL, in_kafka);
                } else if (res->busy) {
                        snprintf(msg, sizeof(msg), "the bridge is full (%s); retry", res->reason);
                        taken = answer_error_in(w, req, 503, "backpressure", msg, NULL, in_kafka);
                } else {
                        snprintf(msg, sizeof(msg), "not durable: %s", res->reason);
                        taken = answer_error_in(w, req, 503, "not_durable", msg, NULL, in_kafka);
                }
                if (taken)
                        pb_metrics_observe_ack(w->metrics, secs);
                return taken;
        }
        const char *status = res->dead_lettered ? "dead_lettered"
                             : res->delivered   ? "delivered"
                             : res->duplicates  ? "duplicate"
                                                : "delivered";
        json_object *o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_string(status));
        if (res->first_id[0])
                json_object_object_add(o, "id", json_object_new_string(res->first_id));
        json_object_object_add(o, "delivered", json_object_new_int((int)res->delivered));
        if (res->dead_lettered) {
                json_object_object_add(o, "dead_lettered",
                                       json_object_new_int((int)res->dead_lettered));
                json_object_object_add(o, "reason", json_object_new_string(res->reason));
        }
        if (res->duplicates)
                json_object_object_add(o, "duplicates", json_object_new_int((int)res->duplicates));
        taken = answer_json(w, req, 200, status, o, NULL);
        if (taken)
                pb_metrics_observe_ack(w->metrics, secs);
        return taken;
}

/* Pipeline callback: the document's outcome. */
static void on_done(void *opaque, pb_doc_result_t *res)
{
        pb_http_req_t *req = opaque;
        pb_webhook_t *w = pb_http_req_data(req);
        int taken = answer_outcome(w, req, res);
        /* Not taken: the deadline had answered 503 already. */
        res->answer = taken && !res->failed ? 200 : 503;
        if (!taken && (res->delivered || res->dead_lettered || res->maybe_persisted)) {
                /* Answered 503 at the deadline, and the fate came later: the
                 * answer was not the truth. The record deadline makes this
                 * rare (a fate more than ~1 s late); Telnyx's retry finds the
                 * copy (window, index) and is answered "duplicate". */
                pb_metrics_add(w->metrics, "portout_bridge_webhook_late_fates_total", NULL, 1);
                pb_warn("webhook answered 503 at its deadline, and event %s then %s", res->first_id,
                        res->maybe_persisted ? "failed unacknowledged (Kafka may hold it)"
                                             : "reached Kafka");
        }
}

/* The listener answered a request at webhook.ack_timeout_ms (timeout_body);
 * its record keeps going, and a late success lands in the delivered window. */
static void on_timeout(void *app, pb_http_req_t *req)
{
        pb_webhook_t *w = app;
        pb_metrics_observe_ack(w->metrics,
                               (double)(pb_mono_ms() - pb_http_req_start_ms(req)) / 1000.0);
        pb_warn("webhook 503 ack_timeout from %s: Kafka gave no word on the event within %lld ms",
                pb_http_req_client(req), (long long)w->cfg->webhook_ack_timeout_ms);
}

/* The body is complete: verify, submit, and wait (the listener suspends the
 * connection until it is answered). */
static void on_request(void *app, pb_http_req_t *req)
{
        pb_webhook_t *w = app;
        if (pb_http_req_too_large(req)) {
                char msg[128];
                snprintf(msg, sizeof(msg), "body exceeds %lld bytes",
                         (long long)w->cfg->input_max_event_bytes);
                answer_error(w, req, 413, "body_too_large", msg, NULL);
                return;
        }
        size_t len;
        const char *body = pb_http_req_body(req, &len);
        if (w->verifier) {
                /* The headers again (the clock moved on while the body came),
                 * then the signature over "<timestamp>|<body>", written in
                 * place before the body: no copy of it. */
                unsigned char sig[64];
                char prefix[PB_VERIFY_PREFIX_MAX];
                size_t plen = 0, mlen = 0;
                pb_verify_rc_t vrc = signature_headers(w, req, sig, prefix, &plen);
                const void *msg = NULL;
                if (vrc == PB_VERIFY_OK) {
                        msg = pb_http_req_prefix(req, prefix, plen, &mlen);
                        vrc = msg ? pb_verify_message(w->verifier, sig, msg, mlen)
                                  : PB_VERIFY_SIGNATURE_MISMATCH;
                }
                if (vrc != PB_VERIFY_OK) {
                        answer_error(w, req, 401, pb_verify_rc_name(vrc), pb_verify_rc_text(vrc),
                                     NULL);
                        return;
                }
                pb_http_req_trust(req); /* Telnyx: its connection is kept */
                body = pb_http_req_body(req, &len);
        }
        if (w->index && !pb_index_fresh(w->index, w->cfg->dedupe_max_view_age_ms)) {
                /* Another replica may have delivered it and we would not
                 * know: Telnyx's next attempt finds a view that is current. */
                char msg[256];
                int64_t age = pb_index_age_ms(w->index);
                if (age < 0)
                        snprintf(msg, sizeof(msg),
                                 "this replica is still reading what Kafka holds; retry");
                else
                        snprintf(msg, sizeof(msg),
                                 "this replica last read what Kafka holds %lld ms ago (more than "
                                 "dedupe.max_view_age_ms); retry",
                                 (long long)age);
                answer_error_in(w, req, 503, "kafka_view_behind", msg, NULL, "no");
                return;
        }
        pb_http_req_set_data(req, w);
        pb_submission_t s;
        memset(&s, 0, sizeof(s));
        s.buf = body;
        s.len = len;
        s.path = PB_INGEST_WEBHOOK;
        s.received_us = pb_now_ms() * 1000;
        s.wait_ms = 0; /* an HTTP thread never waits on Kafka */
        s.on_done = on_done;
        s.opaque = req;
        if (w->index) {
                s.known = pb_index_known_fn;
                s.known_ctx = w->index;
        }
        /* Trace context: checked by the pipeline (trace.h), which ignores
         * what is not valid; only one traceparent may be sent (W3C). */
        if (pb_http_req_header_count(req, "traceparent") == 1) {
                s.traceparent = pb_http_req_header(req, "traceparent");
                if (pb_http_req_header_count(req, "tracestate") == 1)
                        s.tracestate = pb_http_req_header(req, "tracestate");
        }
        pb_pipeline_submit(w->pl, &s);
}

static void release(pb_webhook_t *w)
{
        for (int i = 0; i < w->npaths; i++)
                free(w->paths[i]);
        free(w->timeout_body);
        free(w);
}

pb_webhook_t *pb_webhook_new(const pb_config_t *cfg, pb_pipeline_t *pl, pb_metrics_t *metrics,
                             const pb_verifier_t *verifier, char *errstr, size_t errsz)
{
        pb_webhook_t *w = calloc(1, sizeof(*w));
        if (!w) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        w->cfg = cfg;
        w->pl = pl;
        w->metrics = metrics;
        /* Exported from the start at 0: a check for "none" reads 0, not an
         * absent series it could take for one. */
        pb_metrics_add(metrics, "portout_bridge_webhook_late_fates_total", NULL, 0);
        w->verifier = verifier;
        const char *p = cfg->webhook_paths;
        while (*p && w->npaths < MAX_PATHS) {
                p += strspn(p, ", ");
                size_t n = strcspn(p, ", ");
                if (!n)
                        break;
                if (*p != '/') {
                        pb_seterr(errstr, errsz, "webhook.paths: \"%.*s\" must start with /",
                                  (int)n, p);
                        release(w);
                        return NULL;
                }
                w->paths[w->npaths++] = strndup(p, n);
                p += n;
        }
        if (w->npaths == 0) {
                pb_seterr(errstr, errsz, "webhook.paths: no path given");
                release(w);
                return NULL;
        }
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "Kafka gave no word on the event within %lld ms; retry (it is withdrawn if not "
                 "sent; a copy that did land answers the retry \"duplicate\")",
                 (long long)cfg->webhook_ack_timeout_ms);
        json_object *tb = error_body("ack_timeout", msg, "maybe");
        w->timeout_body = strdup(json_object_to_json_string_ext(tb, JSON_C_TO_STRING_PLAIN));
        json_object_put(tb);
        if (!w->timeout_body) {
                pb_seterr(errstr, errsz, "out of memory");
                release(w);
                return NULL;
        }
        pb_httpd_opts_t o = {
            .name = "webhook",
            .address = cfg->webhook_address,
            .port = (unsigned)cfg->webhook_port,
            .threads = (unsigned)cfg->webhook_threads,
            .max_connections = (unsigned)cfg->webhook_max_connections,
            .max_per_ip = (unsigned)cfg->webhook_max_connections_per_ip,
            .idle_timeout_s = (unsigned)cfg->webhook_connection_timeout_s,
            .request_timeout_ms = (unsigned)cfg->webhook_request_timeout_ms,
            .max_body = (size_t)cfg->input_max_event_bytes,
            .unverified_budget = (size_t)cfg->webhook_unverified_budget_bytes,
            .busy_retry_after_s = (int)cfg->webhook_retry_after_s,
            .reuse_port = cfg->webhook_reuse_port,
            .tls = cfg->webhook_tls_cert_file && *cfg->webhook_tls_cert_file,
            .on_headers = on_headers,
            .on_request = on_request,
            .answer_timeout_ms = (unsigned)cfg->webhook_ack_timeout_ms,
            .timeout_body = w->timeout_body,
            .timeout_reason = "ack_timeout",
            .timeout_retry_after_s = (int)cfg->webhook_retry_after_s,
            .on_timeout = on_timeout,
            .app = w,
            .metrics = metrics,
        };
        w->http = pb_httpd_new(&o, errstr, errsz);
        if (!w->http) {
                pb_webhook_free(w);
                return NULL;
        }
        return w;
}

void pb_webhook_set_index(pb_webhook_t *w, pb_index_t *ix)
{
        w->index = ix;
}

unsigned pb_webhook_port(const pb_webhook_t *w)
{
        return pb_httpd_port(w->http);
}

void pb_webhook_quiesce(pb_webhook_t *w)
{
        pb_httpd_quiesce(w->http);
}

void pb_webhook_free(pb_webhook_t *w)
{
        if (!w)
                return;
        pb_httpd_free(w->http); /* answers what still waits (503) */
        release(w);
}
