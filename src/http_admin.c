#include "http_admin.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_server.h"
#include "pb.h"

struct pb_admin {
        pb_pipeline_t *pl;
        pb_index_t *index; /* may be NULL */
        int64_t max_view_age_ms;
        pb_metrics_t *metrics;
        pb_httpd_t *http;
        pthread_mutex_t lock;
        int stopping;
        pb_admin_reload_fn *reload; /* POST /-/reload; NULL: 404 */
        void *reload_ctx;
};

static void answer_text(pb_http_req_t *req, unsigned code, const char *type, const char *body)
{
        pb_http_answer(req, code, type, body, strlen(body), 0, NULL);
}

/* Kafka takes records: a broker is up and no ACL denies us. */
static int ready_ok(const pb_producer_stats_t *st)
{
        return st->brokers_up && st->problem != PB_KAFKA_AUTHORIZATION;
}

/* Gauges that are read, not counted: refreshed at each scrape. */
static void refresh_gauges(pb_admin_t *a)
{
        pb_pipeline_stats_t ps;
        pb_pipeline_stats(a->pl, &ps);
        pb_producer_stats_t st;
        pb_producer_stats(pb_pipeline_producer(a->pl), &st);
        pb_metrics_set(a->metrics, "portout_bridge_events_in_flight", NULL, (int64_t)ps.in_flight);
        pb_metrics_set(a->metrics, "portout_bridge_kafka_up", NULL, st.brokers_up);
        for (pb_kafka_problem_t pr = PB_KAFKA_UNREACHABLE; pr <= PB_KAFKA_AUTHORIZATION; pr++) {
                char l[64];
                pb_metrics_label(l, sizeof(l), "reason", pb_kafka_problem_name(pr));
                pb_metrics_set(a->metrics, "portout_bridge_kafka_problem", l,
                               st.problem == pr && !ready_ok(&st));
        }
        pb_metrics_set(a->metrics, "portout_bridge_producer_rebuilds_total", NULL,
                       (int64_t)st.rebuilds);
        pb_metrics_set(a->metrics, "portout_bridge_producer_queue_depth", NULL,
                       (int64_t)st.pending);
        pb_metrics_set(a->metrics, "portout_bridge_producer_queue_limit", NULL,
                       (int64_t)st.max_pending);
        pb_metrics_set(a->metrics, "portout_bridge_dedupe_entries", NULL,
                       (int64_t)pb_pipeline_dedupe_size(a->pl));
        pb_metrics_set(a->metrics, "portout_bridge_build_info", "version=\"" PB_VERSION "\"", 1);
}

static void on_request(void *app, pb_http_req_t *req)
{
        pb_admin_t *a = app;
        const char *path = pb_http_req_path(req);
        if (strcmp(path, "/-/reload") == 0 && a->reload) {
                if (strcmp(pb_http_req_method(req), "POST") != 0) {
                        pb_http_answer(req, 405, "application/json",
                                       "{\"error\":\"method_not_allowed\"}", 30, 0, "POST");
                        return;
                }
                char msg[PB_ERRSZ];
                int rc = a->reload(a->reload_ctx, msg, sizeof(msg));
                json_object *o = json_object_new_object();
                json_object_object_add(o, "status",
                                       json_object_new_string(rc == 0 ? "reloaded" : "refused"));
                json_object_object_add(o, "message", json_object_new_string(msg));
                answer_text(req, rc == 0 ? 200 : 409, "application/json",
                            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                return;
        }
        if (strcmp(pb_http_req_method(req), "GET") != 0 &&
            strcmp(pb_http_req_method(req), "HEAD") != 0) {
                pb_http_answer(req, 405, "application/json", "{\"error\":\"method_not_allowed\"}",
                               30, 0, "GET");
                return;
        }
        if (strcmp(path, "/healthz") == 0) {
                answer_text(req, 200, "application/json", "{\"status\":\"ok\"}");
                return;
        }
        if (strcmp(path, "/readyz") == 0) {
                pb_producer_stats_t st;
                pb_producer_stats(pb_pipeline_producer(a->pl), &st);
                pthread_mutex_lock(&a->lock);
                int stopping = a->stopping;
                pthread_mutex_unlock(&a->lock);
                int kafka_ok = ready_ok(&st);
                int view_ok = !a->index || pb_index_fresh(a->index, a->max_view_age_ms);
                int ready = kafka_ok && view_ok && !stopping;
                /* Not ready: say why, in librdkafka's words too. */
                json_object *o = json_object_new_object();
                json_object_object_add(o, "status",
                                       json_object_new_string(ready ? "ready" : "not_ready"));
                json_object_object_add(o, "kafka",
                                       json_object_new_string(kafka_ok ? "up" : "down"));
                if (!kafka_ok) {
                        pb_kafka_problem_t pr = st.problem ? st.problem : PB_KAFKA_UNREACHABLE;
                        json_object_object_add(o, "kafka_problem",
                                               json_object_new_string(pb_kafka_problem_name(pr)));
                        if (st.problem)
                                json_object_object_add(o, "kafka_error",
                                                       json_object_new_string(st.problem_text));
                }
                if (a->index)
                        json_object_object_add(
                            o, "index",
                            json_object_new_string(view_ok                         ? "current"
                                                   : pb_index_age_ms(a->index) < 0 ? "loading"
                                                                                   : "behind"));
                if (stopping)
                        json_object_object_add(o, "shutting_down", json_object_new_boolean(1));
                answer_text(req, ready ? 200 : 503, "application/json",
                            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                return;
        }
        if (strcmp(path, "/metrics") == 0) {
                refresh_gauges(a);
                size_t len;
                char *text = pb_metrics_render(a->metrics, &len);
                if (!text) {
                        answer_text(req, 503, "application/json", "{\"error\":\"out_of_memory\"}");
                        return;
                }
                pb_http_answer(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, 0,
                               NULL);
                free(text);
                return;
        }
        answer_text(req, 404, "application/json", "{\"error\":\"not_found\"}");
}

pb_admin_t *pb_admin_new(const pb_config_t *cfg, pb_pipeline_t *pl, pb_metrics_t *metrics,
                         char *errstr, size_t errsz)
{
        pb_admin_t *a = calloc(1, sizeof(*a));
        if (!a) {
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        a->pl = pl;
        a->metrics = metrics;
        pthread_mutex_init(&a->lock, NULL);
        pb_httpd_opts_t o = {
            .name = "admin",
            .address = cfg->admin_address,
            .port = (unsigned)cfg->admin_port,
            .threads = 1,
            /* Slots are cheap (one epoll thread): an idle or trickling
             * flood of a thousand connections must leave room for the
             * probes, and the short deadline frees a slot in 2 s (a probe
             * sends its whole request at once). */
            .max_connections = PB_ADMIN_MAX_CONNECTIONS,
            .idle_timeout_s = 10,
            .request_timeout_ms = 2000,
            .max_body = 4096,
            .on_request = on_request,
            .app = a,
        };
        a->http = pb_httpd_new(&o, errstr, errsz);
        if (!a->http) {
                pthread_mutex_destroy(&a->lock);
                free(a);
                return NULL;
        }
        return a;
}

void pb_admin_set_index(pb_admin_t *a, pb_index_t *ix, int64_t max_view_age_ms)
{
        if (!a)
                return;
        a->index = ix;
        a->max_view_age_ms = max_view_age_ms;
}

void pb_admin_set_reload(pb_admin_t *a, pb_admin_reload_fn *fn, void *ctx)
{
        a->reload = fn;
        a->reload_ctx = ctx;
}

void pb_admin_set_stopping(pb_admin_t *a)
{
        if (!a)
                return;
        pthread_mutex_lock(&a->lock);
        a->stopping = 1;
        pthread_mutex_unlock(&a->lock);
}

unsigned pb_admin_port(const pb_admin_t *a)
{
        return pb_httpd_port(a->http);
}

void pb_admin_free(pb_admin_t *a)
{
        if (!a)
                return;
        pb_httpd_free(a->http);
        pthread_mutex_destroy(&a->lock);
        free(a);
}
