#include "span_export.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pb.h"

#define SEND_EVERY_MS 1000 /* a batch leaves at least this often */
#define CONNECT_MS    1000
#define TIMEOUT_MS    5000

struct pb_span_export {
        char *url;
        char shown[256]; /* url without userinfo, query: for log lines */
        char *version;
        struct curl_slist *headers;
        pb_metrics_t *metrics;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pb_span_t *ring; /* PB_SPAN_QUEUE spans */
        size_t head, n;
        int stop;
        int64_t grace_until; /* monotonic: stop sending after it */
        pthread_t thread;
        int started;
        _Atomic uint64_t exported, dropped;
};

static void count(pb_span_export_t *x, const char *outcome, size_t n)
{
        atomic_fetch_add(outcome[0] == 'e' ? &x->exported : &x->dropped, n);
        if (!x->metrics)
                return;
        char l[40];
        snprintf(l, sizeof(l), "outcome=\"%s\"", outcome);
        pb_metrics_add(x->metrics, "portout_bridge_trace_spans_total", l, (int64_t)n);
}

static void hex(char *out, size_t outsz, const uint8_t *b, size_t n)
{
        sodium_bin2hex(out, outsz, b, n);
}

static void attr_str(json_object *a, const char *k, const char *v)
{
        json_object *o = json_object_new_object(), *val = json_object_new_object();
        json_object_object_add(val, "stringValue", json_object_new_string(v));
        json_object_object_add(o, "key", json_object_new_string(k));
        json_object_object_add(o, "value", val);
        json_object_array_add(a, o);
}

/* OTLP/JSON carries 64-bit integers as strings (the protobuf JSON mapping). */
static void attr_int(json_object *a, const char *k, int64_t v)
{
        char s[24];
        snprintf(s, sizeof(s), "%lld", (long long)v);
        json_object *o = json_object_new_object(), *val = json_object_new_object();
        json_object_object_add(val, "intValue", json_object_new_string(s));
        json_object_object_add(o, "key", json_object_new_string(k));
        json_object_object_add(o, "value", val);
        json_object_array_add(a, o);
}

static json_object *nanos(int64_t us)
{
        char s[32];
        snprintf(s, sizeof(s), "%lld000", (long long)us);
        return json_object_new_string(s);
}

char *pb_span_export_json(const pb_span_t *spans, size_t n, const char *service_version)
{
        json_object *root = json_object_new_object(), *rss = json_object_new_array(),
                    *rs = json_object_new_object(), *res = json_object_new_object(),
                    *rattrs = json_object_new_array(), *sss = json_object_new_array(),
                    *ss = json_object_new_object(), *scope = json_object_new_object(),
                    *arr = json_object_new_array();
        attr_str(rattrs, "service.name", "portout-bridge");
        attr_str(rattrs, "service.version", service_version);
        json_object_object_add(res, "attributes", rattrs);
        json_object_object_add(rs, "resource", res);
        json_object_object_add(scope, "name", json_object_new_string("portout-bridge"));
        json_object_object_add(scope, "version", json_object_new_string(service_version));
        json_object_object_add(ss, "scope", scope);
        for (size_t i = 0; i < n; i++) {
                const pb_span_t *s = &spans[i];
                char t[33], id[17], p[17], name[128];
                json_object *o = json_object_new_object(), *at = json_object_new_array();
                hex(t, sizeof(t), s->trace_id, 16);
                hex(id, sizeof(id), s->span_id, 8);
                json_object_object_add(o, "traceId", json_object_new_string(t));
                json_object_object_add(o, "spanId", json_object_new_string(id));
                if (s->has_parent) {
                        hex(p, sizeof(p), s->parent_id, 8);
                        json_object_object_add(o, "parentSpanId", json_object_new_string(p));
                }
                /* Messaging semantic conventions: "<operation> <destination>". */
                snprintf(name, sizeof(name), "publish %s",
                         s->topic[0]        ? s->topic
                         : s->event_type[0] ? s->event_type
                                            : "event");
                json_object_object_add(o, "name", json_object_new_string(name));
                json_object_object_add(o, "kind", json_object_new_int(4)); /* PRODUCER */
                json_object_object_add(o, "startTimeUnixNano", nanos(s->start_us));
                json_object_object_add(o, "endTimeUnixNano", nanos(s->end_us));
                attr_str(at, "messaging.system", "kafka");
                attr_str(at, "messaging.operation.type", "send");
                if (s->topic[0])
                        attr_str(at, "messaging.destination.name", s->topic);
                if (s->topic[0] && s->partition >= 0) {
                        attr_int(at, "messaging.destination.partition.id", s->partition);
                        attr_int(at, "messaging.kafka.offset", s->offset);
                }
                attr_str(at, "messaging.message.id", s->event_id);
                if (s->event_type[0])
                        attr_str(at, "telnyx.event_type", s->event_type);
                attr_str(at, "portout_bridge.ingest_path", s->ingest);
                attr_str(at, "portout_bridge.outcome", s->outcome);
                if (s->answer)
                        attr_int(at, "http.response.status_code", s->answer);
                json_object_object_add(o, "attributes", at);
                json_object *st = json_object_new_object();
                json_object_object_add(st, "code", json_object_new_int(s->error ? 2 : 1));
                json_object_object_add(o, "status", st);
                json_object_array_add(arr, o);
        }
        json_object_object_add(ss, "spans", arr);
        json_object_array_add(sss, ss);
        json_object_object_add(rs, "scopeSpans", sss);
        json_object_array_add(rss, rs);
        json_object_object_add(root, "resourceSpans", rss);
        const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
        char *out = text ? strdup(text) : NULL;
        json_object_put(root);
        return out;
}

/* url as log lines show it: no userinfo (user:password@), no query. */
static void shown_url(const char *url, char *out, size_t n)
{
        const char *host = strstr(url, "://");
        host = host ? host + 3 : url;
        const char *end = host + strcspn(host, "/?#");
        const char *at = memchr(host, '@', (size_t)(end - host));
        snprintf(out, n, "%.*s%s%.*s", (int)(host - url), url, at ? "***@" : "",
                 (int)strcspn(at ? at + 1 : host, "?#"), at ? at + 1 : host);
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
        (void)p;
        (void)u;
        return size * n;
}

/* POSTs one batch; 0 if the collector took it (2xx). */
static int post(pb_span_export_t *x, CURL *c, const char *body, long timeout_ms, char *why,
                size_t whysz)
{
        curl_easy_setopt(c, CURLOPT_URL, x->url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         timeout_ms < CONNECT_MS ? timeout_ms : CONNECT_MS);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK)
                return snprintf(why, whysz, "%s", curl_easy_strerror(rc)), -1;
        if (code < 200 || code > 299)
                return snprintf(why, whysz, "HTTP %ld", code), -1;
        return 0;
}

static pb_log_limit_t fail_log = PB_LOG_LIMIT_INIT;

static void *run(void *arg)
{
        pb_span_export_t *x = arg;
        CURL *c = curl_easy_init();
        pb_span_t *batch = malloc(PB_SPAN_BATCH * sizeof(*batch));
        pthread_mutex_lock(&x->lock);
        for (;;) {
                int64_t waited_from = pb_mono_ms();
                while (!x->stop && x->n < PB_SPAN_BATCH &&
                       pb_mono_ms() - waited_from < SEND_EVERY_MS)
                        pb_cond_timedwait_ms(&x->cond, &x->lock,
                                             SEND_EVERY_MS - (pb_mono_ms() - waited_from));
                if (x->stop && (!x->n || pb_mono_ms() >= x->grace_until))
                        break;
                size_t k = 0;
                while (k < PB_SPAN_BATCH && x->n) {
                        batch[k++] = x->ring[x->head];
                        x->head = (x->head + 1) % PB_SPAN_QUEUE;
                        x->n--;
                }
                int64_t left = x->stop ? x->grace_until - pb_mono_ms() : TIMEOUT_MS;
                pthread_mutex_unlock(&x->lock);
                if (k) {
                        char why[256] = "out of memory";
                        char *body = batch && c ? pb_span_export_json(batch, k, x->version) : NULL;
                        if (body && left > 0 &&
                            post(x, c, body, left < TIMEOUT_MS ? (long)left : TIMEOUT_MS, why,
                                 sizeof(why)) == 0) {
                                count(x, "exported", k);
                        } else {
                                count(x, "dropped", k);
                                pb_log_limited(&fail_log, PB_LOG_WARN,
                                               "tracing: %zu span(s) dropped: the collector at "
                                               "%s: %s",
                                               k, x->shown, left > 0 ? why : "stopping");
                        }
                        free(body);
                }
                pthread_mutex_lock(&x->lock);
        }
        size_t left = x->n;
        x->n = 0;
        pthread_mutex_unlock(&x->lock);
        if (left)
                count(x, "dropped", left);
        free(batch);
        curl_easy_cleanup(c);
        return NULL;
}

pb_span_export_t *pb_span_export_new(const char *url, const char *const *headers,
                                     const char *service_version, pb_metrics_t *metrics,
                                     char *errstr, size_t errsz)
{
        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
                pb_seterr(errstr, errsz, "tracing: the OTLP endpoint %.200s is not an http(s) URL",
                          url);
                return NULL;
        }
        pb_span_export_t *x = calloc(1, sizeof(*x));
        if (!x || !(x->ring = malloc(PB_SPAN_QUEUE * sizeof(pb_span_t))) ||
            !(x->url = strdup(url)) || !(x->version = strdup(service_version))) {
                pb_seterr(errstr, errsz, "out of memory");
                goto fail;
        }
        x->headers = curl_slist_append(NULL, "Content-Type: application/json");
        for (size_t i = 0; headers && headers[i]; i++)
                x->headers = curl_slist_append(x->headers, headers[i]);
        x->metrics = metrics;
        shown_url(url, x->shown, sizeof(x->shown));
        pthread_mutex_init(&x->lock, NULL);
        pb_cond_init(&x->cond);
        count(x, "exported", 0);
        count(x, "dropped", 0);
        if (pthread_create(&x->thread, NULL, run, x) != 0) {
                pb_seterr(errstr, errsz, "tracing: cannot start its thread");
                pthread_mutex_destroy(&x->lock);
                pthread_cond_destroy(&x->cond);
                goto fail;
        }
        x->started = 1;
        pb_info("tracing: exporting spans to %s", x->shown);
        return x;
fail:
        if (x) {
                curl_slist_free_all(x->headers);
                free(x->ring);
                free(x->url);
                free(x->version);
                free(x);
        }
        return NULL;
}

void pb_span_export_add(pb_span_export_t *x, const pb_span_t *spans, size_t n)
{
        size_t dropped = 0;
        pthread_mutex_lock(&x->lock);
        for (size_t i = 0; i < n; i++) {
                if (x->n == PB_SPAN_QUEUE || x->stop) {
                        dropped++;
                        continue;
                }
                x->ring[(x->head + x->n) % PB_SPAN_QUEUE] = spans[i];
                x->n++;
        }
        if (x->n >= PB_SPAN_BATCH)
                pthread_cond_signal(&x->cond);
        pthread_mutex_unlock(&x->lock);
        if (dropped)
                count(x, "dropped", dropped);
}

void pb_span_export_free(pb_span_export_t *x, int grace_ms)
{
        if (!x)
                return;
        pthread_mutex_lock(&x->lock);
        x->stop = 1;
        x->grace_until = pb_mono_ms() + grace_ms;
        pthread_cond_signal(&x->cond);
        pthread_mutex_unlock(&x->lock);
        if (x->started)
                pthread_join(x->thread, NULL);
        uint64_t ex = atomic_load(&x->exported), dr = atomic_load(&x->dropped);
        if (dr)
                pb_warn("tracing: %llu span(s) exported, %llu dropped", (unsigned long long)ex,
                        (unsigned long long)dr);
        pthread_mutex_destroy(&x->lock);
        pthread_cond_destroy(&x->cond);
        curl_slist_free_all(x->headers);
        free(x->ring);
        free(x->url);
        free(x->version);
        free(x);
}

/* base + "/v1/traces", without doubling a trailing slash. */
static int traces_url(const char *base, char *out, size_t outsz)
{
        size_t l = strlen(base);
        snprintf(out, outsz, "%.*s/v1/traces", (int)(l && base[l - 1] == '/' ? l - 1 : l), base);
        return 1;
}

int pb_span_export_url(const char *option, const char *(*lookup)(const char *name), char *out,
                       size_t outsz)
{
        const char *v;
        if (option && *option)
                return traces_url(option, out, outsz);
        if ((v = lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) && *v) {
                snprintf(out, outsz, "%s", v);
                return 1;
        }
        if ((v = lookup("OTEL_EXPORTER_OTLP_ENDPOINT")) && *v)
                return traces_url(v, out, outsz);
        return 0;
}
