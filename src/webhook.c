#include "webhook.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dedupe.h"
#include "log.h"
#include "normalize.h"
#include "pb.h"
#include "publish.h"
#include "timefmt.h"

#define MAX_PATHS 16

enum req_state { REQ_READING = 0, REQ_WAITING, REQ_DECIDED };

/* One webhook request. Freed when libmicrohttpd is done with it AND every
 * record it published has its fate (refs counts both). */
struct req {
        pb_webhook_t *w;
        struct MHD_Connection *conn;
        enum req_state state;
        char *body;
        size_t len, cap;
        int too_large;
        int64_t start_ms; /* monotonic */
        int64_t deadline_ms;
        int refs;
        int pending; /* records without a fate yet */
        int delivered, dead_lettered, failed, duplicates;
        int timed_out;
        int suspended;
        char first_id[PB_MAX_ID_LEN + 1];
        /* A re-send of an event still in flight follows the original instead
         * of publishing it again; this is the id it waits for. */
        char follow_id[PB_MAX_ID_LEN + 1];
        char reason[256];
        struct req *tprev, *tnext; /* waiting list, for the ack timeout */
};

/* One published record of a request. */
struct rec {
        struct req *r;
        int is_rejection;
        char id[PB_MAX_ID_LEN + 1];
};

struct pb_webhook {
        const pb_config_t *cfg;
        pb_producer_t *prod;
        pb_metrics_t *metrics;
        const pb_verifier_t *verifier;
        pb_dedupe_t *dedupe;   /* delivered ids */
        pb_dedupe_t *inflight; /* ids handed to Kafka, fate unknown */
        struct MHD_Daemon *d;
        char *paths[MAX_PATHS];
        int npaths;
        unsigned port;
        pthread_mutex_t lock; /* request states, the waiting list */
        struct req *waiting;
        size_t in_flight;
        pthread_t timer;
        int stop;
        int quiesced;
};

static void count_request(pb_webhook_t *w, int code, const char *reason)
{
        char labels[128];
        snprintf(labels, sizeof(labels), "code=\"%d\",reason=\"%s\"", code, reason);
        pb_metrics_add(w->metrics, "portout_bridge_http_requests_total", labels, 1);
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned code, json_object *body,
                                 int retry_after_s, const char *allow)
{
        const char *s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(s), (void *)s, MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (retry_after_s > 0) {
                char ra[16];
                snprintf(ra, sizeof(ra), "%d", retry_after_s);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
        }
        if (allow)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        enum MHD_Result ret = MHD_queue_response(conn, code, resp);
        MHD_destroy_response(resp);
        json_object_put(body);
        return ret;
}

/* Answers an error: {"error": name, "message": text}; counted and logged. */
static enum MHD_Result send_error(pb_webhook_t *w, struct MHD_Connection *conn, unsigned code,
                                  const char *name, const char *message, const char *allow)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(name));
        json_object_object_add(o, "message", json_object_new_string(message));
        count_request(w, (int)code, name);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char addr[64] = "?";
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, addr,
                          sizeof(addr));
        pb_log(code >= 500 ? PB_LOG_WARN : PB_LOG_INFO, "webhook %u %s from %s: %s", code, name,
               addr, message);
        return send_json(conn, code, o,
                         code == 503 || code == 429 ? (int)w->cfg->webhook_retry_after_s : 0,
                         allow);
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

static void req_unref_locked(struct req *r)
{
        if (--r->refs == 0) {
                free(r->body);
                free(r);
        }
}

/* Caller holds w->lock. Decides the answer once; resumes a suspended
 * connection so libmicrohttpd calls us back to send it. */
static void decide_locked(pb_webhook_t *w, struct req *r, int timed_out)
{
        if (r->state == REQ_DECIDED)
                return;
        r->state = REQ_DECIDED;
        r->timed_out = timed_out;
        if (r->tprev || r->tnext || w->waiting == r) {
                if (r->tprev)
                        r->tprev->tnext = r->tnext;
                else
                        w->waiting = r->tnext;
                if (r->tnext)
                        r->tnext->tprev = r->tprev;
                r->tprev = r->tnext = NULL;
        }
        if (r->suspended) {
                r->suspended = 0;
                MHD_resume_connection(r->conn);
        }
}

/* Producer callback (poll thread): one record's fate. */
static void on_done(void *opaque, const pb_delivery_t *d)
{
        struct rec *rc = opaque;
        struct req *r = rc->r;
        pb_webhook_t *w = r->w;

        pb_publish_count(w->metrics, d, rc->is_rejection);
        /* Remembered even after a 503: Telnyx's retry is then a duplicate. */
        if (d->fate != PB_FATE_FAILED && rc->id[0])
                pb_dedupe_add(w->dedupe, rc->id, pb_now_ms());
        /* After the dedupe add, so a follower never sees neither. */
        if (rc->id[0])
                pb_dedupe_remove(w->inflight, rc->id);
        pthread_mutex_lock(&w->lock);
        w->in_flight--;
        if (d->fate == PB_FATE_FAILED) {
                r->failed++;
                if (d->reason)
                        snprintf(r->reason, sizeof(r->reason), "%s", d->reason);
        } else if (d->fate == PB_FATE_DEAD_LETTERED || rc->is_rejection) {
                r->dead_lettered++;
                if (d->fate == PB_FATE_DEAD_LETTERED && d->reason)
                        snprintf(r->reason, sizeof(r->reason), "%s", d->reason);
        } else {
                r->delivered++;
        }
        if (--r->pending == 0 && !r->follow_id[0])
                decide_locked(w, r, 0); /* followers are decided by the timer */
        req_unref_locked(r);
        pthread_mutex_unlock(&w->lock);
        free(rc);
}

/* Timer thread: answers 503 for requests whose events are not durable in
 * time. Their records keep going; a late success lands in the dedupe window. */
static void *timer_main(void *arg)
{
        pb_webhook_t *w = arg;
        struct timespec ts = {0, 5 * 1000000L};
        for (;;) {
                nanosleep(&ts, NULL);
                pthread_mutex_lock(&w->lock);
                if (w->stop) {
                        pthread_mutex_unlock(&w->lock);
                        return NULL;
                }
                int64_t now = pb_mono_ms();
                struct req *r = w->waiting;
                while (r) {
                        struct req *next = r->tnext;
                        if (r->follow_id[0] && r->pending > 0) {
                                if (now >= r->deadline_ms)
                                        decide_locked(w, r, 1);
                        } else if (r->follow_id[0] &&
                                   pb_dedupe_seen(w->dedupe, r->follow_id, pb_now_ms())) {
                                r->duplicates++; /* the original is durable now */
                                decide_locked(w, r, 0);
                        } else if (r->follow_id[0] &&
                                   !pb_dedupe_seen(w->inflight, r->follow_id, pb_now_ms())) {
                                r->failed++; /* the original failed */
                                snprintf(r->reason, sizeof(r->reason),
                                         "an earlier delivery of this event failed");
                                decide_locked(w, r, 0);
                        } else if (now >= r->deadline_ms) {
                                decide_locked(w, r, 1);
                        }
                        r = next;
                }
                pthread_mutex_unlock(&w->lock);
        }
}

static enum MHD_Result answer_decided(pb_webhook_t *w, struct req *r)
{
        pb_metrics_observe_ack(w->metrics, (double)(pb_mono_ms() - r->start_ms) / 1000.0);
        json_object *o = json_object_new_object();
        if (r->failed || r->timed_out) {
                char msg[512];
                if (r->timed_out)
                        snprintf(msg, sizeof(msg),
                                 "Kafka did not acknowledge the event within %lld ms; retry "
                                 "(it may still arrive, with the same CloudEvents id)",
                                 (long long)w->cfg->webhook_ack_timeout_ms);
                else
                        snprintf(msg, sizeof(msg), "not durable: %s", r->reason);
                json_object_put(o);
                return send_error(w, r->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  r->timed_out ? "ack_timeout" : "not_durable", msg, NULL);
        }
        const char *status = r->dead_lettered ? "dead_lettered"
                             : r->delivered   ? "delivered"
                             : r->duplicates  ? "duplicate"
                                              : "delivered";
        json_object_object_add(o, "status", json_object_new_string(status));
        if (r->first_id[0])
                json_object_object_add(o, "id", json_object_new_string(r->first_id));
        json_object_object_add(o, "delivered", json_object_new_int(r->delivered));
        if (r->dead_lettered) {
                json_object_object_add(o, "dead_lettered", json_object_new_int(r->dead_lettered));
                json_object_object_add(o, "reason", json_object_new_string(r->reason));
        }
        if (r->duplicates)
                json_object_object_add(o, "duplicates", json_object_new_int(r->duplicates));
        count_request(w, 200, status);
        return send_json(r->conn, MHD_HTTP_OK, o, 0, NULL);
}

/* The body is complete: verify, normalize, publish, then wait (suspended). */
static enum MHD_Result process(pb_webhook_t *w, struct req *r)
{
        struct MHD_Connection *conn = r->conn;
        if (r->too_large) {
                char msg[128];
                snprintf(msg, sizeof(msg), "body exceeds %lld bytes",
                         (long long)w->cfg->input_max_event_bytes);
                return send_error(w, conn, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", msg, NULL);
        }
        if (w->verifier) {
                const char *ts =
                    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "telnyx-timestamp");
                const char *sig =
                    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "telnyx-signature-ed25519");
                pb_verify_rc_t vrc = pb_verify(w->verifier, ts, sig, r->body ? r->body : "", r->len,
                                               pb_now_ms() / 1000);
                if (vrc != PB_VERIFY_OK)
                        return send_error(w, conn, MHD_HTTP_UNAUTHORIZED, pb_verify_rc_name(vrc),
                                          pb_verify_rc_text(vrc), NULL);
        }

        int64_t now_ms = pb_now_ms();
        pb_norm_opts_t opts = {w->cfg->envelope_source};
        pb_ingest_t ing = {PB_INGEST_WEBHOOK, now_ms * 1000};
        pb_batch_t *b = pb_normalize(&opts, r->body ? r->body : "", r->len, &ing);
        if (!b)
                return send_error(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory",
                                  "out of memory", NULL);
        char received[40];
        pb_time_format_us(now_ms * 1000, received, sizeof(received));
        int64_t remaining = r->deadline_ms - pb_mono_ms();

        pthread_mutex_lock(&w->lock);
        r->pending = 1; /* our own hold until every record is handed over */
        pthread_mutex_unlock(&w->lock);
        int enqueue_failed = 0;
        for (size_t i = 0; i < b->cnt; i++) {
                const pb_norm_item_t *it = &b->items[i];
                if (it->env && !r->first_id[0])
                        snprintf(r->first_id, sizeof(r->first_id), "%s", it->env->id);
                if (it->env && pb_dedupe_seen(w->dedupe, it->env->id, now_ms)) {
                        pb_metrics_add(w->metrics, "portout_bridge_webhook_duplicates_total", NULL,
                                       1);
                        r->duplicates++;
                        continue;
                }
                if (it->env && !r->follow_id[0] &&
                    pb_dedupe_seen(w->inflight, it->env->id, now_ms)) {
                        /* Still on its way to Kafka from an earlier attempt. */
                        pb_metrics_add(w->metrics, "portout_bridge_webhook_duplicates_total", NULL,
                                       1);
                        snprintf(r->follow_id, sizeof(r->follow_id), "%s", it->env->id);
                        continue;
                }
                if (!it->env) {
                        pb_warn("webhook event rejected, sending to %s: %s",
                                w->cfg->topic_dead_letter, it->error);
                        snprintf(r->reason, sizeof(r->reason), "%s", it->error);
                }
                struct rec *rc = calloc(1, sizeof(*rc));
                if (!rc) {
                        enqueue_failed = 1;
                        break;
                }
                rc->r = r;
                rc->is_rejection = it->env == NULL;
                if (it->env) {
                        snprintf(rc->id, sizeof(rc->id), "%s", it->env->id);
                        pb_dedupe_add(w->inflight, rc->id, now_ms);
                }
                pthread_mutex_lock(&w->lock);
                r->pending++;
                r->refs++;
                w->in_flight++;
                pthread_mutex_unlock(&w->lock);
                pb_origin_t origin = {"webhook", received, NULL};
                char err[PB_ERRSZ];
                if (pb_publish_item(w->prod, w->cfg, it, &origin, on_done, rc,
                                    (int)(remaining > 0 ? remaining : 0), err, sizeof(err))) {
                        pthread_mutex_lock(&w->lock);
                        r->pending--;
                        r->refs--;
                        w->in_flight--;
                        snprintf(r->reason, sizeof(r->reason), "%s", err);
                        pthread_mutex_unlock(&w->lock);
                        if (rc->id[0])
                                pb_dedupe_remove(w->inflight, rc->id);
                        free(rc);
                        enqueue_failed = 1;
                        break;
                }
        }
        pb_batch_free(b);

        pthread_mutex_lock(&w->lock);
        if (enqueue_failed)
                r->failed++;
        if (--r->pending == 0 && !r->follow_id[0]) {
                /* Nothing to wait for (all duplicates, or nothing enqueued). */
                r->state = REQ_DECIDED;
                pthread_mutex_unlock(&w->lock);
                if (enqueue_failed)
                        return send_error(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "backpressure",
                                          "the Kafka queue is full; retry", NULL);
                return answer_decided(w, r);
        }
        /* Wait for the delivery reports without holding a thread. */
        r->state = REQ_WAITING;
        r->tnext = w->waiting;
        if (w->waiting)
                w->waiting->tprev = r;
        w->waiting = r;
        MHD_suspend_connection(conn);
        r->suspended = 1;
        pthread_mutex_unlock(&w->lock);
        return MHD_YES;
}

/* A consistent view of the producer and the listener for /readyz, /metrics. */
struct snapshot {
        pb_producer_stats_t st;
        size_t in_flight;
        int quiesced;
};

static void take_snapshot(pb_webhook_t *w, struct snapshot *s)
{
        pb_producer_stats(w->prod, &s->st);
        pthread_mutex_lock(&w->lock);
        s->in_flight = w->in_flight;
        s->quiesced = w->quiesced;
        pthread_mutex_unlock(&w->lock);
}

static enum MHD_Result handle_get(pb_webhook_t *w, struct MHD_Connection *conn, const char *url)
{
        if (strcmp(url, "/healthz") == 0) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "status", json_object_new_string("ok"));
                return send_json(conn, MHD_HTTP_OK, o, 0, NULL);
        }
        if (strcmp(url, "/readyz") == 0) {
                struct snapshot s;
                take_snapshot(w, &s);
                pb_producer_stats_t st = s.st;
                int quiesced = s.quiesced;
                json_object *o = json_object_new_object();
                int ready = st.brokers_up && !quiesced;
                json_object_object_add(o, "status",
                                       json_object_new_string(ready ? "ready" : "not_ready"));
                json_object_object_add(o, "kafka",
                                       json_object_new_string(st.brokers_up ? "up" : "down"));
                if (quiesced)
                        json_object_object_add(o, "shutting_down", json_object_new_boolean(1));
                return send_json(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o, 0,
                                 NULL);
        }
        if (strcmp(url, "/metrics") == 0) {
                struct snapshot s;
                take_snapshot(w, &s);
                pb_producer_stats_t st = s.st;
                pb_metrics_set(w->metrics, "portout_bridge_events_in_flight", NULL,
                               (int64_t)s.in_flight);
                pb_metrics_set(w->metrics, "portout_bridge_kafka_up", NULL, st.brokers_up);
                pb_metrics_set(w->metrics, "portout_bridge_producer_rebuilds_total", NULL,
                               (int64_t)st.rebuilds);
                pb_metrics_set(w->metrics, "portout_bridge_dedupe_entries", NULL,
                               (int64_t)pb_dedupe_size(w->dedupe));
                size_t len;
                char *text = pb_metrics_render(w->metrics, &len);
                if (!text)
                        return MHD_NO;
                struct MHD_Response *resp =
                    MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        "text/plain; version=0.0.4; charset=utf-8");
                enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
                MHD_destroy_response(resp);
                return ret;
        }
        return send_error(w, conn, MHD_HTTP_NOT_FOUND, "not_found", "no such path", NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        (void)version;
        pb_webhook_t *w = cls;
        struct req *r = *con_cls;

        if (!r) {
                if (!is_webhook_path(w, url)) {
                        if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
                                return handle_get(w, conn, url);
                        return send_error(w, conn, MHD_HTTP_NOT_FOUND, "not_found", "no such path",
                                          NULL);
                }
                if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
                        return send_error(w, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                          "method_not_allowed", "webhooks are POSTed", "POST");
                const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_TYPE);
                if (!is_json_type(ct))
                        return send_error(w, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                          "unsupported_media_type",
                                          "Content-Type must be application/json", NULL);
                const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl &&
                    strtoull(cl, NULL, 10) > (unsigned long long)w->cfg->input_max_event_bytes) {
                        char msg[128];
                        snprintf(msg, sizeof(msg), "body exceeds %lld bytes",
                                 (long long)w->cfg->input_max_event_bytes);
                        return send_error(w, conn, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                                          msg, NULL);
                }
                r = calloc(1, sizeof(*r));
                if (!r)
                        return MHD_NO;
                r->w = w;
                r->conn = conn;
                r->refs = 1; /* libmicrohttpd's, dropped in on_completed */
                r->start_ms = pb_mono_ms();
                r->deadline_ms = r->start_ms + w->cfg->webhook_ack_timeout_ms;
                *con_cls = r;
                return MHD_YES;
        }

        if (r->state == REQ_READING && *upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (r->too_large || r->len + n > (size_t)w->cfg->input_max_event_bytes) {
                        r->too_large = 1; /* keep reading, discard, answer 413 at the end */
                        return MHD_YES;
                }
                if (r->len + n > r->cap) {
                        size_t ncap = r->cap ? r->cap : 4096;
                        while (ncap < r->len + n)
                                ncap *= 2;
                        char *nb = realloc(r->body, ncap);
                        if (!nb)
                                return MHD_NO;
                        r->body = nb;
                        r->cap = ncap;
                }
                memcpy(r->body + r->len, upload_data, n);
                r->len += n;
                return MHD_YES;
        }
        if (r->state == REQ_READING)
                return process(w, r);
        if (r->state == REQ_DECIDED)
                return answer_decided(w, r);
        return MHD_YES; /* REQ_WAITING: not reached while suspended */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        (void)conn;
        (void)toe;
        pb_webhook_t *w = cls;
        struct req *r = *con_cls;
        if (!r)
                return;
        /* A request is never suspended here (libmicrohttpd only completes
         * resumed connections), so it is off the waiting list already. */
        pthread_mutex_lock(&w->lock);
        req_unref_locked(r);
        pthread_mutex_unlock(&w->lock);
        *con_cls = NULL;
}

/* libmicrohttpd hands us its own format string. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        (void)cls;
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
                msg[--n] = '\0';
        pb_warn("http: %s", msg);
}
#pragma GCC diagnostic pop

/* Frees what pb_webhook_new() allocated (the daemon and timer are gone). */
static void release(pb_webhook_t *w)
{
        for (int i = 0; i < w->npaths; i++)
                free(w->paths[i]);
        pb_dedupe_free(w->dedupe);
        pb_dedupe_free(w->inflight);
        pthread_mutex_destroy(&w->lock);
        free(w);
}

pb_webhook_t *pb_webhook_new(const pb_config_t *cfg, pb_producer_t *prod, pb_metrics_t *metrics,
                             const pb_verifier_t *verifier, char *errstr, size_t errsz)
{
        pb_webhook_t *w = calloc(1, sizeof(*w));
        if (!w) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        w->cfg = cfg;
        w->prod = prod;
        w->metrics = metrics;
        w->verifier = verifier;
        pthread_mutex_init(&w->lock, NULL);
        w->dedupe =
            pb_dedupe_new((size_t)cfg->webhook_dedupe_entries, cfg->webhook_dedupe_ttl_s * 1000);
        /* Ids handed to Kafka, for as long as a record can live in librdkafka. */
        w->inflight = pb_dedupe_new(cfg->webhook_dedupe_entries ? 200000 : 0, INT64_C(3600000));
        /* With webhooks off the listener still serves health and metrics. */
        const char *p = cfg->webhook_enabled ? cfg->webhook_paths : "";
        while (*p && w->npaths < MAX_PATHS) {
                p += strspn(p, ", ");
                size_t n = strcspn(p, ", ");
                if (!n)
                        break;
                if (*p != '/') {
                        pb_seterr(errstr, errsz, "webhook.paths: \"%.*s\" must start with /",
                                  (int)n, p);
                        goto fail;
                }
                w->paths[w->npaths] = strndup(p, n);
                w->npaths++;
                p += n;
        }
        if (w->npaths == 0 && cfg->webhook_enabled) {
                pb_seterr(errstr, errsz, "webhook.paths: no path given");
                goto fail;
        }

        struct sockaddr_in sa;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)cfg->webhook_port);
        if (inet_pton(AF_INET, cfg->webhook_address, &sa.sin_addr) != 1) {
                pb_seterr(errstr, errsz, "webhook.address: \"%s\" is not an IPv4 address",
                          cfg->webhook_address);
                goto fail;
        }
        w->d = MHD_start_daemon(
            MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                MHD_USE_ERROR_LOG,
            0, NULL, NULL, on_request, w,
            /* the logger first, or libmicrohttpd prints early errors itself */
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->webhook_threads,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->webhook_max_connections,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->webhook_connection_timeout_s,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, w, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
            MHD_OPTION_END);
        if (!w->d) {
                pb_seterr(errstr, errsz, "cannot listen on %s:%lld (address in use?)",
                          cfg->webhook_address, (long long)cfg->webhook_port);
                goto fail;
        }
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
        w->port = di ? di->port : (unsigned)cfg->webhook_port;
        if (pthread_create(&w->timer, NULL, timer_main, w)) {
                pb_seterr(errstr, errsz, "cannot start the timer thread");
                MHD_stop_daemon(w->d);
                w->d = NULL;
                goto fail;
        }
        return w;
fail:
        release(w);
        return NULL;
}

unsigned pb_webhook_port(const pb_webhook_t *w)
{
        return w->port;
}

void pb_webhook_quiesce(pb_webhook_t *w)
{
        pthread_mutex_lock(&w->lock);
        int already = w->quiesced;
        w->quiesced = 1;
        pthread_mutex_unlock(&w->lock);
        if (!already) {
                MHD_socket fd = MHD_quiesce_daemon(w->d);
                if (fd != MHD_INVALID_SOCKET)
                        close(fd);
        }
}

size_t pb_webhook_in_flight(pb_webhook_t *w)
{
        pthread_mutex_lock(&w->lock);
        size_t n = 0;
        for (struct req *r = w->waiting; r; r = r->tnext)
                n++;
        pthread_mutex_unlock(&w->lock);
        return n;
}

void pb_webhook_free(pb_webhook_t *w)
{
        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        w->stop = 1;
        /* Answer whatever still waits (503), so stopping does not hang. */
        while (w->waiting)
                decide_locked(w, w->waiting, 1);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->timer, NULL);
        MHD_stop_daemon(w->d);
        release(w);
}
