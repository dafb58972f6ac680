#include "http_webhook.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_server.h"
#include "kafka_index.h"
#include "log.h"
#include "pb.h"

#define MAX_PATHS 16

/* One webhook request between its signature check and its answer. Freed when
 * it is answered AND the pipeline has reported the document (refs). */
struct hook {
        pb_webhook_t *w;
        pb_http_req_t *req; /* NULL once answered */
        int refs;
        int64_t start_ms, deadline_ms; /* monotonic */
        struct hook *tprev, *tnext;    /* deadline list, oldest first */
};

struct pb_webhook {
        const pb_config_t *cfg;
        pb_pipeline_t *pl;
        pb_metrics_t *metrics;
        const pb_verifier_t *verifier;
        pb_index_t *index; /* NULL: dedupe.from_kafka off */
        pb_httpd_t *http;
        char *paths[MAX_PATHS];
        int npaths;
        pthread_mutex_t lock; /* the deadline list, hook states */
        pthread_cond_t cond;
        struct hook *head, *tail;
        pthread_t timer;
        int timer_started;
        int stop;
};

static void count(pb_webhook_t *w, unsigned code, const char *reason)
{
        char labels[128];
        snprintf(labels, sizeof(labels), "code=\"%u\",reason=\"%s\"", code, reason);
        pb_metrics_add(w->metrics, "portout_bridge_http_requests_total", labels, 1);
}

static void answer_json(pb_webhook_t *w, pb_http_req_t *req, unsigned code, const char *reason,
                        json_object *body, const char *allow)
{
        size_t len = 0;
        const char *s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);
        count(w, code, reason);
        pb_http_answer(req, code, "application/json", s, len,
                       code == 503 || code == 429 ? (int)w->cfg->webhook_retry_after_s : 0, allow);
        json_object_put(body);
}

/* {"error": name, "message": text[, "in_kafka": in_kafka]}; counted and
 * logged. in_kafka (a 503's word on this attempt's event): "no" or "maybe". */
static void answer_error_in(pb_webhook_t *w, pb_http_req_t *req, unsigned code, const char *name,
                            const char *message, const char *allow, const char *in_kafka)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(name));
        json_object_object_add(o, "message", json_object_new_string(message));
        if (in_kafka)
                json_object_object_add(o, "in_kafka", json_object_new_string(in_kafka));
        pb_log(code >= 500 ? PB_LOG_WARN : PB_LOG_INFO, "webhook %u %s from %s: %s", code, name,
               pb_http_req_client(req), message);
        answer_json(w, req, code, name, o, allow);
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
        }
}

/* Caller holds w->lock. */
static void deadline_del_locked(pb_webhook_t *w, struct hook *k)
{
        if (k->tprev)
                k->tprev->tnext = k->tnext;
        else if (w->head == k)
                w->head = k->tnext;
        if (k->tnext)
                k->tnext->tprev = k->tprev;
        else if (w->tail == k)
                w->tail = k->tprev;
        k->tprev = k->tnext = NULL;
}

/* Caller holds w->lock. */
static void hook_unref_locked(struct hook *k)
{
        if (--k->refs == 0)
                free(k);
}

/* Takes the request out of the hook for answering, once, and drops the
 * answer's reference (the pipeline's report still holds the hook, so it is
 * never freed here). Caller holds w->lock; returns NULL if it was answered
 * already. */
static pb_http_req_t *claim_locked(pb_webhook_t *w, struct hook *k)
{
        pb_http_req_t *req = k->req;
        if (!req)
                return NULL;
        k->req = NULL;
        deadline_del_locked(w, k);
        k->refs--;
        return req;
}

static void answer_outcome(pb_webhook_t *w, pb_http_req_t *req, int64_t start_ms,
                           const pb_doc_result_t *res)
{
        pb_metrics_observe_ack(w->metrics, (double)(pb_mono_ms() - start_ms) / 1000.0);
        if (res->failed) {
                char msg[768];
                /* "maybe": sent, never acknowledged; the retry is then
                 * answered "duplicate" if the copy did land. */
                const char *in_kafka = res->maybe_persisted ? "maybe" : "no";
                if (res->busy && pb_pipeline_closing(w->pl)) {
                        answer_error_in(w, req, 503, "shutting_down",
                                        "the bridge is stopping; retry", NULL, in_kafka);
                } else if (res->busy) {
                        snprintf(msg, sizeof(msg), "the bridge is full (%s); retry", res->reason);
                        answer_error_in(w, req, 503, "backpressure", msg, NULL, in_kafka);
                } else {
                        snprintf(msg, sizeof(msg), "not durable: %s", res->reason);
                        answer_error_in(w, req, 503, "not_durable", msg, NULL, in_kafka);
                }
                return;
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
        answer_json(w, req, 200, status, o, NULL);
}

/* Pipeline callback: the document's outcome. */
static void on_done(void *opaque, const pb_doc_result_t *res)
{
        struct hook *k = opaque;
        pb_webhook_t *w = k->w;
        pthread_mutex_lock(&w->lock);
        pb_http_req_t *req = claim_locked(w, k);
        int64_t start = k->start_ms;
        pthread_mutex_unlock(&w->lock);
        if (req) {
                answer_outcome(w, req, start, res);
        } else if (res->delivered || res->dead_lettered || res->maybe_persisted) {
                /* Answered 503 at the deadline, and the fate came later: the
                 * answer was not the truth. The record deadline makes this
                 * rare (a fate more than ~1 s late); Telnyx's retry finds the
                 * copy (window, index) and is answered "duplicate". */
                pb_metrics_add(w->metrics, "portout_bridge_webhook_late_fates_total", NULL, 1);
                pb_warn("webhook answered 503 at its deadline, and event %s then %s", res->first_id,
                        res->maybe_persisted ? "failed unacknowledged (Kafka may hold it)"
                                             : "reached Kafka");
        }
        pthread_mutex_lock(&w->lock);
        hook_unref_locked(k);
        pthread_mutex_unlock(&w->lock);
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
                pb_verify_rc_t vrc =
                    pb_verify(w->verifier, pb_http_req_header(req, "telnyx-timestamp"),
                              pb_http_req_header(req, "telnyx-signature-ed25519"), body, len,
                              pb_now_ms() / 1000);
                if (vrc != PB_VERIFY_OK) {
                        answer_error(w, req, 401, pb_verify_rc_name(vrc), pb_verify_rc_text(vrc),
                                     NULL);
                        return;
                }
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
        struct hook *k = calloc(1, sizeof(*k));
        if (!k) {
                answer_error(w, req, 503, "out_of_memory", "out of memory", NULL);
                return;
        }
        k->w = w;
        k->req = req;
        k->refs = 2; /* the answer, and the pipeline's report */
        k->start_ms = pb_http_req_start_ms(req);
        k->deadline_ms = k->start_ms + w->cfg->webhook_ack_timeout_ms;
        pthread_mutex_lock(&w->lock);
        /* Deadlines are start + a constant: appending keeps the list sorted,
         * and the timer, asleep until the head's deadline, needs waking only
         * when this one becomes the head (not once per request). */
        k->tprev = w->tail;
        if (w->tail) {
                w->tail->tnext = k;
        } else {
                w->head = k;
                pthread_cond_signal(&w->cond);
        }
        w->tail = k;
        pthread_mutex_unlock(&w->lock);

        pb_submission_t s;
        memset(&s, 0, sizeof(s));
        s.buf = body;
        s.len = len;
        s.path = PB_INGEST_WEBHOOK;
        s.received_us = pb_now_ms() * 1000;
        s.wait_ms = 0; /* an HTTP thread never waits on Kafka */
        s.on_done = on_done;
        s.opaque = k;
        if (w->index) {
                s.known = pb_index_known_fn;
                s.known_ctx = w->index;
        }
        pb_pipeline_submit(w->pl, &s);
}

/* Answers 503 for requests whose events are not durable in time. Their
 * records keep going; a late success lands in the delivered window. */
static void *timer_main(void *arg)
{
        pb_webhook_t *w = arg;
        pthread_mutex_lock(&w->lock);
        while (!w->stop) {
                struct hook *k = w->head;
                int64_t now = pb_mono_ms();
                if (!k || k->deadline_ms > now) {
                        int64_t wait = k ? k->deadline_ms - now : 1000;
                        pb_cond_timedwait_ms(&w->cond, &w->lock, wait);
                        continue;
                }
                pb_http_req_t *req = claim_locked(w, k);
                int64_t start = k->start_ms;
                pthread_mutex_unlock(&w->lock);
                char msg[256];
                snprintf(msg, sizeof(msg),
                         "Kafka gave no word on the event within %lld ms; retry (it is "
                         "withdrawn if not sent; a copy that did land answers the retry "
                         "\"duplicate\")",
                         (long long)w->cfg->webhook_ack_timeout_ms);
                pb_metrics_observe_ack(w->metrics, (double)(pb_mono_ms() - start) / 1000.0);
                answer_error_in(w, req, 503, "ack_timeout", msg, NULL, "maybe");
                pthread_mutex_lock(&w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static void release(pb_webhook_t *w)
{
        for (int i = 0; i < w->npaths; i++)
                free(w->paths[i]);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
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
        w->verifier = verifier;
        pthread_mutex_init(&w->lock, NULL);
        pb_cond_init(&w->cond);
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
        if (pthread_create(&w->timer, NULL, timer_main, w)) {
                pb_seterr(errstr, errsz, "cannot start the webhook timer thread");
                release(w);
                return NULL;
        }
        w->timer_started = 1;
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
            .reuse_port = cfg->webhook_reuse_port,
            .on_headers = on_headers,
            .on_request = on_request,
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

size_t pb_webhook_waiting(pb_webhook_t *w)
{
        return pb_httpd_waiting(w->http);
}

void pb_webhook_free(pb_webhook_t *w)
{
        if (!w)
                return;
        if (w->timer_started) {
                pthread_mutex_lock(&w->lock);
                w->stop = 1;
                pthread_cond_signal(&w->cond);
                pthread_mutex_unlock(&w->lock);
                pthread_join(w->timer, NULL);
        }
        /* Anything still unanswered (only if the pipeline was not closed
         * first) gets 503 now; the hook itself is freed by the pipeline's
         * report. */
        for (;;) {
                pthread_mutex_lock(&w->lock);
                struct hook *k = w->head;
                pb_http_req_t *req = k ? claim_locked(w, k) : NULL;
                pthread_mutex_unlock(&w->lock);
                if (!k)
                        break;
                if (req)
                        answer_error(w, req, 503, "shutting_down", "the bridge is stopping; retry",
                                     NULL);
        }
        pb_httpd_free(w->http);
        release(w);
}
