#include "telnyx_client.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jsoncheck.h"
#include "log.h"
#include "pb.h"

/* Largest accepted response body: a page of 250 events is ~300 KiB. */
/* A page of 250 events is about 250 KiB; 8 MiB leaves room and bounds
 * what a hostile or broken answer makes us hold. */
#define MAX_BODY ((size_t)8 * 1024 * 1024)
/* Largest delay a server hint may impose. */
#define MAX_HINT_MS (INT64_C(600) * 1000)

struct pb_telnyx {
        CURL *curl;
        char *base, *path;
        struct curl_slist *headers, *json_headers; /* the second with Content-Type: JSON */
        int64_t max_retries, base_ms, max_ms;
        volatile sig_atomic_t *abort_flag;
        uint64_t requests;
        uint32_t rnd;
        int64_t server_s;     /* Date of the last response (Telnyx's clock), 0 if none */
        int64_t server_at_ms; /* pb_mono_ms() when it arrived */
};

/* The rate limit is the account's, whichever client spent it: every client
 * of the process waits (monotonic ms) until the window an answer said was
 * spent resets. */
static _Atomic int64_t paced_until_ms;

/* One response: body (bounded) and the headers that steer retries. */
struct resp {
        pb_buf_t body;
        char retry_after[64], retry_after_ms[32], ratelimit_reset[32], should_retry[16];
        char ratelimit_remaining[32];
        char date[64];
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
        struct resp *r = ud;
        size_t n = size * nmemb;
        if (pb_buf_add(&r->body, ptr, n))
                return 0; /* makes curl fail the transfer */
        return n;
}

static void keep_header(const char *line, size_t n, const char *name, char *out, size_t outsz)
{
        size_t nl = strlen(name);
        if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
                return;
        const char *v = line + nl + 1;
        const char *e = line + n;
        while (v < e && (*v == ' ' || *v == '\t'))
                v++;
        while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
                e--;
        snprintf(out, outsz, "%.*s", (int)(e - v), v);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
        struct resp *r = ud;
        size_t n = size * nitems;
        keep_header(buf, n, "retry-after", r->retry_after, sizeof(r->retry_after));
        keep_header(buf, n, "retry-after-ms", r->retry_after_ms, sizeof(r->retry_after_ms));
        keep_header(buf, n, "x-ratelimit-reset", r->ratelimit_reset, sizeof(r->ratelimit_reset));
        keep_header(buf, n, "x-ratelimit-remaining", r->ratelimit_remaining,
                    sizeof(r->ratelimit_remaining));
        keep_header(buf, n, "x-should-retry", r->should_retry, sizeof(r->should_retry));
        keep_header(buf, n, "date", r->date, sizeof(r->date));
        return n;
}

/* Ends a transfer in flight once the abort flag is up: a stop must not
 * wait out a request that hangs (telnyx.timeout_ms). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        (void)dltotal;
        (void)dlnow;
        (void)ultotal;
        (void)ulnow;
        const pb_telnyx_t *tx = ud;
        return tx->abort_flag && *tx->abort_flag ? 1 : 0;
}

pb_telnyx_t *pb_telnyx_new(const pb_config_t *cfg, char *errstr, size_t errsz)
{
        if (!cfg->telnyx_api_key || !*cfg->telnyx_api_key) {
                pb_seterr(errstr, errsz,
                          "no Telnyx API key: set TELNYX_API_KEY or telnyx.api_key_file");
                return NULL;
        }
        static int curl_ready;
        if (!curl_ready) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                curl_ready = 1;
        }
        pb_telnyx_t *tx = calloc(1, sizeof(*tx));
        if (!tx)
                return NULL;
        tx->curl = curl_easy_init();
        tx->base = strdup(cfg->telnyx_api_base);
        tx->path = strdup(cfg->telnyx_events_path);
        tx->max_retries = cfg->telnyx_max_retries;
        tx->base_ms = cfg->telnyx_retry_base_ms;
        tx->max_ms = cfg->telnyx_retry_max_ms;
        tx->rnd = (uint32_t)pb_now_ms() ^ (uint32_t)(uintptr_t)tx;
        /* trailing '/' of the base would double up in the URL */
        size_t bl = tx->base ? strlen(tx->base) : 0;
        while (bl > 0 && tx->base[bl - 1] == '/')
                tx->base[--bl] = '\0';

        size_t auth_len = strlen(cfg->telnyx_api_key) + 32;
        char *auth = malloc(auth_len);
        if (!tx->curl || !tx->base || !tx->path || !auth) {
                free(auth);
                pb_telnyx_free(tx);
                pb_seterr(errstr, errsz, "out of memory");
                return NULL;
        }
        snprintf(auth, auth_len, "Authorization: Bearer %s", cfg->telnyx_api_key);
        tx->headers = curl_slist_append(NULL, auth);
        tx->json_headers = curl_slist_append(NULL, auth);
        tx->json_headers = curl_slist_append(tx->json_headers, "Accept: application/json");
        tx->json_headers = curl_slist_append(tx->json_headers, "Content-Type: application/json");
        memset(auth, 0, auth_len);
        free(auth);
        tx->headers = curl_slist_append(tx->headers, "Accept: application/json");

        CURL *c = tx->curl;
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, tx->headers);
        /* Which instance asked: the API's logs can tell replicas apart. */
        char host[64] = "?", ua[160];
        gethostname(host, sizeof(host) - 1);
        snprintf(ua, sizeof(ua), PB_NAME "/" PB_VERSION " (%s:%ld)", host, (long)getpid());
        curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->telnyx_connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->telnyx_timeout_ms);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (cfg->telnyx_ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, cfg->telnyx_ca_file);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an error */
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, tx);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        return tx;
}

void pb_telnyx_free(pb_telnyx_t *tx)
{
        if (!tx)
                return;
        if (tx->curl)
                curl_easy_cleanup(tx->curl);
        curl_slist_free_all(tx->headers);
        curl_slist_free_all(tx->json_headers);
        free(tx->base);
        free(tx->path);
        free(tx);
}

void pb_telnyx_set_abort_flag(pb_telnyx_t *tx, volatile sig_atomic_t *flag)
{
        tx->abort_flag = flag;
}

uint64_t pb_telnyx_request_count(const pb_telnyx_t *tx)
{
        return tx->requests;
}

int pb_telnyx_server_time_us(const pb_telnyx_t *tx, int64_t *out_us)
{
        if (!tx->server_s)
                return -1;
        *out_us = tx->server_s * 1000000 + (pb_mono_ms() - tx->server_at_ms) * 1000;
        return 0;
}

char *pb_url_encode(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        char *out = malloc(n * 3 + 1), *o = out;
        if (!out)
                return NULL;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~') {
                        *o++ = (char)c;
                } else {
                        *o++ = '%';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                }
        }
        *o = '\0';
        return out;
}

static int add_param(pb_buf_t *url, int *first, const char *key, const char *value)
{
        char *k = pb_url_encode(key), *v = pb_url_encode(value);
        int rc = -1;
        if (k && v)
                rc = pb_buf_adds(url, *first ? "?" : "&") || pb_buf_adds(url, k) ||
                             pb_buf_adds(url, "=") || pb_buf_adds(url, v)
                         ? -1
                         : 0;
        *first = 0;
        free(k);
        free(v);
        return rc;
}

/* Longest URL built (the filters are short; this is only a bound). */
#define MAX_URL 8192

char *pb_telnyx_list_url(const char *base, const char *path, const pb_event_filter_t *f, long page,
                         long size)
{
        pb_buf_t url;
        pb_buf_init(&url, MAX_URL);
        int first = 1, rc = pb_buf_adds(&url, base) || pb_buf_adds(&url, path) ? -1 : 0;
        char num[32];
        if (!rc && f && f->event_type)
                rc = add_param(&url, &first, "filter[event_type]", f->event_type);
        if (!rc && f && f->portout_id)
                rc = add_param(&url, &first, "filter[portout_id]", f->portout_id);
        if (!rc && f && f->created_gte)
                rc = add_param(&url, &first, "filter[created_at][gte]", f->created_gte);
        if (!rc && f && f->created_lte)
                rc = add_param(&url, &first, "filter[created_at][lte]", f->created_lte);
        snprintf(num, sizeof(num), "%ld", page);
        if (!rc)
                rc = add_param(&url, &first, "page[number]", num);
        snprintf(num, sizeof(num), "%ld", size);
        if (!rc)
                rc = add_param(&url, &first, "page[size]", num);
        if (rc) {
                pb_buf_free(&url);
                return NULL;
        }
        return pb_buf_take(&url, NULL);
}

static int parse_nonneg(const char *s, int64_t *out)
{
        if (!s || !*s)
                return -1;
        char *end;
        double v = strtod(s, &end);
        if (end == s || *end != '\0' || v < 0 || v > 1e12)
                return -1;
        *out = (int64_t)v;
        return 0;
}

int64_t pb_retry_delay_ms(int attempt, int64_t base_ms, int64_t max_ms, const char *retry_after_ms,
                          const char *retry_after, const char *ratelimit_reset, int64_t now_s,
                          uint32_t rnd)
{
        int64_t v;
        if (parse_nonneg(retry_after_ms, &v) == 0)
                return v < MAX_HINT_MS ? v : MAX_HINT_MS;
        if (retry_after && *retry_after) {
                if (parse_nonneg(retry_after, &v) == 0)
                        return v * 1000 < MAX_HINT_MS ? v * 1000 : MAX_HINT_MS;
                time_t when = curl_getdate(retry_after, NULL); /* an HTTP date */
                if (when > 0) {
                        int64_t d = ((int64_t)when - now_s) * 1000;
                        return d < 0 ? 0 : d < MAX_HINT_MS ? d : MAX_HINT_MS;
                }
        }
        if (parse_nonneg(ratelimit_reset, &v) == 0)
                return v * 1000 < MAX_HINT_MS ? v * 1000 : MAX_HINT_MS;
        int64_t d = base_ms;
        for (int i = 0; i < attempt && d < max_ms; i++)
                d *= 2;
        if (d > max_ms)
                d = max_ms;
        /* Jitter: somewhere in [d/2, d], so retrying clients spread out. */
        return d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
}

/* Replaces control characters: what Telnyx wrote reaches a terminal, the
 * logs and a topic (an escape sequence, a newline that forges a log line). */
static void scrub(char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        *s = '?';
}

/* errors[0].code and its text (detail, description or title) of a Telnyx
 * error envelope, scrubbed. Returns 0, or -1 if it is not one (or has no
 * text). */
static int error_parts(const char *body, size_t len, char *code, size_t codesz, char *text,
                       size_t textsz)
{
        code[0] = text[0] = '\0';
        if (!body || !len)
                return -1;
        char why[64];
        json_object *root = pb_json_parse(body, len, why, sizeof(why)), *errs, *e0, *v;
        if (root && json_object_object_get_ex(root, "errors", &errs) &&
            json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0 &&
            (e0 = json_object_array_get_idx(errs, 0)) != NULL &&
            json_object_is_type(e0, json_type_object)) {
                if (json_object_object_get_ex(e0, "code", &v))
                        snprintf(code, codesz, "%s", json_object_get_string(v));
                /* Docs say detail; the Go/Ruby SDKs' model says description. */
                static const char *const keys[] = {"detail", "description", "title"};
                for (size_t k = 0; k < 3 && !text[0]; k++)
                        if (json_object_object_get_ex(e0, keys[k], &v) &&
                            json_object_is_type(v, json_type_string))
                                snprintf(text, textsz, "%s", json_object_get_string(v));
        }
        json_object_put(root);
        scrub(code);
        scrub(text);
        return text[0] ? 0 : -1;
}

int pb_telnyx_error_text(const char *body, size_t len, char *out, size_t outsz)
{
        char code[64], text[256];
        if (error_parts(body, len, code, sizeof(code), text, sizeof(text)))
                return -1;
        snprintf(out, outsz, "%s%s%s", code, *code ? ": " : "", text);
        return 0;
}

/* Sleeps ms, in slices, unless the abort flag goes up. */
static int wait_ms(pb_telnyx_t *tx, int64_t ms)
{
        while (ms > 0) {
                if (tx->abort_flag && *tx->abort_flag)
                        return -1;
                int64_t s = ms < 100 ? ms : 100;
                pb_sleep_ms(s);
                ms -= s;
        }
        return tx->abort_flag && *tx->abort_flag ? -1 : 0;
}

/* Parses a body that must be a JSON object, within what one answer may
 * cost in memory (pb_json_parse(): a page of empty objects would take json-c
 * hundreds of bytes for each of its bytes); NULL (why set) if it is not.
 * jc (may be NULL) keeps the check of the body, for the page's spans; with
 * it, a list page its spans can be read from (pb_json_page_by_spans) is not
 * parsed: NULL with *by_spans set. */
static json_object *parse_object(const char *body, size_t len, pb_jcheck_t *jc, int *by_spans,
                                 char *why, size_t whysz)
{
        char e[PB_ERRSZ];
        json_object *o;
        const char *b = body ? body : "";
        size_t n = body ? len : 0;
        if (jc) {
                pb_jcheck_free(jc); /* an earlier attempt's */
                if (pb_json_check_bounded(b, n, PB_JSON_MAX_COST, jc, e, sizeof(e))) {
                        o = NULL;
                } else if (pb_json_page_by_spans(jc)) {
                        *by_spans = 1;
                        return NULL;
                } else {
                        o = pb_json_parse_passed(b, n, e, sizeof(e));
                }
        } else {
                o = pb_json_parse(b, n, e, sizeof(e));
        }
        if (o && json_object_is_type(o, json_type_object))
                return o;
        snprintf(why, whysz, "the response is not a JSON object (%s, %zu bytes)",
                 len == 0 ? "empty"
                 : o      ? "another JSON type"
                          : e,
                 len);
        json_object_put(o);
        return NULL;
}

/* Waits until the rate-limit window an answer said was spent resets.
 * Returns 0, or -1 if the abort flag went up. */
static int wait_for_pace(pb_telnyx_t *tx)
{
        int64_t pace = atomic_load(&paced_until_ms) - pb_mono_ms();
        return pace > 0 ? wait_ms(tx, pace) : 0;
}

/* Makes every client of the process wait ms (the account's limit). */
static void pace_for(int64_t ms)
{
        int64_t until = pb_mono_ms() + (ms < MAX_HINT_MS ? ms : MAX_HINT_MS);
        int64_t cur = atomic_load(&paced_until_ms);
        while (cur < until && !atomic_compare_exchange_weak(&paced_until_ms, &cur, until))
                ;
}

/* Sends one request (method NULL: GET; json_body NULL: no body) and reads
 * what steers the next ones: the window an answer says is spent (every
 * client waits for it), Telnyx's clock. *status is 0 if no answer came. */
static CURLcode perform(pb_telnyx_t *tx, const char *url, const char *method, const char *json_body,
                        struct resp *r, long *status)
{
        memset(r, 0, sizeof(*r));
        pb_buf_init(&r->body, MAX_BODY);
        CURL *c = tx->curl;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        if (!method) {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        } else {
                curl_easy_setopt(c, CURLOPT_POST, 1L);
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body ? json_body : "");
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
                                 json_body ? (long)strlen(json_body) : 0L);
                if (json_body)
                        curl_easy_setopt(c, CURLOPT_HTTPHEADER, tx->json_headers);
        }
        tx->requests++;
        CURLcode cc = curl_easy_perform(c);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, tx->headers);
        *status = 0;
        if (cc == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        int64_t reset;
        if (!strcmp(r->ratelimit_remaining, "0") && parse_nonneg(r->ratelimit_reset, &reset) == 0)
                pace_for(reset * 1000);
        if (*status == 429) {
                /* Refused by the limit: the account's, so every client
                 * backs off (the desk's calls and the fetches alike). */
                tx->rnd = tx->rnd * 1103515245u + 12345u;
                pace_for(pb_retry_delay_ms(0, tx->base_ms, tx->max_ms, r->retry_after_ms,
                                           r->retry_after, r->ratelimit_reset, pb_now_ms() / 1000,
                                           tx->rnd >> 8));
        }
        if (r->date[0]) {
                time_t when = curl_getdate(r->date, NULL);
                if (when > 0) {
                        tx->server_s = (int64_t)when;
                        tx->server_at_ms = pb_mono_ms();
                }
        }
        return cc;
}

/* One logical request with retries. expect_json: a 2xx must carry a JSON
 * object (retried if not: a proxy or a cut connection can mangle it). */
static pb_tx_rc_t request(pb_telnyx_t *tx, const char *url, int post, int expect_json, char **body,
                          size_t *len, json_object **parsed, pb_jcheck_t *jc, char *errstr,
                          size_t errsz)
{
        char last[PB_ERRSZ] = "";
        for (int attempt = 0;; attempt++) {
                /* The limit an answer advertised: none left in this window,
                 * so no request until it resets (rather than a 429). */
                if (wait_for_pace(tx)) {
                        pb_seterr(errstr, errsz, "interrupted while waiting for the rate limit");
                        return PB_TX_ABORTED;
                }
                struct resp r;
                long status;
                CURLcode cc = perform(tx, url, post ? "POST" : NULL, NULL, &r, &status);
                const char *rbody = pb_buf_ptr(&r.body);
                size_t rlen = pb_buf_len(&r.body);
                int retryable = 0;
                pb_tx_rc_t final_rc = PB_TX_UNAVAILABLE;
                if (cc == CURLE_ABORTED_BY_CALLBACK) {
                        pb_buf_free(&r.body);
                        pb_seterr(errstr, errsz, "interrupted while waiting for an answer");
                        return PB_TX_ABORTED;
                }
                if (cc != CURLE_OK) {
                        snprintf(last, sizeof(last), "%s",
                                 r.body.overflow ? "response body too large"
                                                 : curl_easy_strerror(cc));
                        retryable = !r.body.overflow; /* a huge body will not shrink */
                } else if (status >= 200 && status < 300) {
                        char why[160];
                        int by_spans = 0;
                        json_object *obj =
                            expect_json ? parse_object(rbody, rlen, jc, &by_spans, why, sizeof(why))
                                        : NULL;
                        if (!expect_json || obj || by_spans) {
                                if (parsed)
                                        *parsed = obj; /* parsed once, handed over */
                                else
                                        json_object_put(obj);
                                if (body)
                                        *body = pb_buf_take(&r.body, len);
                                else
                                        pb_buf_free(&r.body);
                                return PB_TX_OK;
                        }
                        snprintf(last, sizeof(last), "HTTP %ld: %s", status, why);
                        retryable = 1; /* a proxy or a cut connection can mangle a body */
                } else {
                        char detail[256] = "";
                        if (pb_telnyx_error_text(rbody, rlen, detail, sizeof(detail)))
                                snprintf(detail, sizeof(detail), "%s",
                                         rlen ? "(no Telnyx error body)" : "(empty body)");
                        snprintf(last, sizeof(last), "HTTP %ld: %s", status, detail);
                        /* The official SDKs' retry set: 408, 409 (a
                         * conflict, e.g. a lock held by a concurrent
                         * request), 429 and 5xx; x-should-retry overrides. */
                        retryable =
                            status == 408 || status == 409 || status == 429 || status >= 500;
                        if (!strcasecmp(r.should_retry, "true"))
                                retryable = 1;
                        else if (!strcasecmp(r.should_retry, "false"))
                                retryable = 0;
                        final_rc =
                            status == 401 || status == 403 ? PB_TX_AUTH
                            : status == 404                ? PB_TX_NOT_FOUND
                            : status >= 500 || status == 408 || status == 409 || status == 429
                                ? PB_TX_UNAVAILABLE
                                : PB_TX_REJECTED;
                }
                pb_buf_free(&r.body);
                if (!retryable) {
                        pb_seterr(errstr, errsz, "%s", last);
                        return final_rc;
                }
                if (attempt >= tx->max_retries) {
                        pb_seterr(errstr, errsz, "%s (gave up after %d attempts)", last,
                                  attempt + 1);
                        return PB_TX_UNAVAILABLE;
                }
                tx->rnd = tx->rnd * 1103515245u + 12345u;
                int64_t d = pb_retry_delay_ms(attempt, tx->base_ms, tx->max_ms, r.retry_after_ms,
                                              r.retry_after, r.ratelimit_reset, pb_now_ms() / 1000,
                                              tx->rnd >> 8);
                pb_warn("telnyx: %s; retry %d/%lld in %lld ms", last, attempt + 1,
                        (long long)tx->max_retries, (long long)d);
                if (wait_ms(tx, d)) {
                        pb_seterr(errstr, errsz, "%s (interrupted while waiting to retry)", last);
                        return PB_TX_ABORTED;
                }
        }
}

int pb_telnyx_id_valid(const char *id)
{
        size_t n = 0;
        for (; id && id[n]; n++) {
                char c = id[n];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_') ||
                    n >= PB_TELNYX_ID_MAX)
                        return 0;
        }
        return n > 0;
}

/* A request about one resource: base, path, the id (checked: a valid id
 * needs no escaping), suffix. */
static pb_tx_rc_t by_id(pb_telnyx_t *tx, const char *path, const char *id, const char *suffix,
                        int post, char **body, size_t *len, json_object **parsed, char *errstr,
                        size_t errsz)
{
        if (!pb_telnyx_id_valid(id))
                return pb_seterr(errstr, errsz, "not a valid id"), PB_TX_REJECTED;
        size_t n = strlen(tx->base) + strlen(path) + strlen(id) + strlen(suffix) + 2;
        char *url = malloc(n);
        if (!url)
                return pb_seterr(errstr, errsz, "out of memory"), PB_TX_UNAVAILABLE;
        snprintf(url, n, "%s%s/%s%s", tx->base, path, id, suffix);
        pb_tx_rc_t rc = request(tx, url, post, !post, body, len, parsed, NULL, errstr, errsz);
        free(url);
        return rc;
}

pb_tx_rc_t pb_telnyx_get_event(pb_telnyx_t *tx, const char *id, char **body, size_t *len,
                               char *errstr, size_t errsz)
{
        return by_id(tx, tx->path, id, "", 0, body, len, NULL, errstr, errsz);
}

pb_tx_rc_t pb_telnyx_list_events(pb_telnyx_t *tx, const pb_event_filter_t *f, long page, long size,
                                 json_object **page_out, char **raw, size_t *raw_len,
                                 pb_jcheck_t *jc, char *errstr, size_t errsz)
{
        char *url = pb_telnyx_list_url(tx->base, tx->path, f, page, size);
        if (!url)
                return pb_seterr(errstr, errsz, "out of memory"), PB_TX_UNAVAILABLE;
        *page_out = NULL;
        char *body = NULL;
        size_t len = 0;
        pb_tx_rc_t rc = request(tx, url, 0, 1, raw ? &body : NULL, raw ? &len : NULL, page_out, jc,
                                errstr, errsz);
        free(url);
        if (raw) {
                *raw = rc == PB_TX_OK ? body : NULL;
                *raw_len = *raw ? len : 0;
                if (!*raw)
                        free(body);
        }
        return rc;
}

pb_tx_rc_t pb_telnyx_get_portout(pb_telnyx_t *tx, const char *id, json_object **out, char *errstr,
                                 size_t errsz)
{
        *out = NULL;
        return by_id(tx, "/portouts", id, "", 0, NULL, NULL, out, errstr, errsz);
}

pb_tx_rc_t pb_telnyx_list_portouts(pb_telnyx_t *tx, const char *status_in, long page, long size,
                                   json_object **page_out, char *errstr, size_t errsz)
{
        *page_out = NULL;
        pb_buf_t url;
        pb_buf_init(&url, MAX_URL);
        char pn[32], ps[32];
        snprintf(pn, sizeof(pn), "%ld", page);
        snprintf(ps, sizeof(ps), "%ld", size);
        int first = 1;
        /* As the SDKs send it: a list comma-separated (filter[status_in]=a,b). */
        int bad =
            pb_buf_adds(&url, tx->base) || pb_buf_adds(&url, "/portouts") ||
            (status_in && *status_in && add_param(&url, &first, "filter[status_in]", status_in)) ||
            add_param(&url, &first, "page[number]", pn) ||
            add_param(&url, &first, "page[size]", ps);
        pb_tx_rc_t rc =
            bad ? (pb_seterr(errstr, errsz, "out of memory"), PB_TX_UNAVAILABLE)
                : request(tx, pb_buf_ptr(&url), 0, 1, NULL, NULL, page_out, NULL, errstr, errsz);
        pb_buf_free(&url);
        return rc;
}

pb_tx_rc_t pb_telnyx_action(pb_telnyx_t *tx, const char *method, const char *id, const char *suffix,
                            const char *json_body, pb_tx_answer_t *a, char *errstr, size_t errsz)
{
        memset(a, 0, sizeof(*a));
        if (!pb_telnyx_id_valid(id))
                return pb_seterr(errstr, errsz, "not a valid id"), PB_TX_REJECTED;
        char url[1024];
        if ((size_t)snprintf(url, sizeof(url), "%s/portouts/%s%s", tx->base, id, suffix) >=
            sizeof(url))
                return pb_seterr(errstr, errsz, "URL too long"), PB_TX_REJECTED;
        /* The account's rate limit, as the other requests wait for it. */
        if (wait_for_pace(tx))
                return pb_seterr(errstr, errsz, "interrupted while waiting for the rate limit"),
                       PB_TX_ABORTED;
        struct resp r;
        CURLcode cc = perform(tx, url, method, json_body, &r, &a->status);
        const char *rbody = pb_buf_ptr(&r.body);
        size_t rlen = pb_buf_len(&r.body);
        pb_tx_rc_t rc;
        if (cc != CURLE_OK) {
                /* Interrupted by a stop too: the call may have been sent, so
                 * its fate is unknown (never PB_TX_ABORTED, "not sent"). */
                pb_seterr(errstr, errsz, "%s %s: no answer: %s", method, suffix,
                          cc == CURLE_ABORTED_BY_CALLBACK ? "interrupted by a stop"
                                                          : curl_easy_strerror(cc));
                rc = PB_TX_UNAVAILABLE;
        } else if (a->status >= 200 && a->status < 300) {
                char why[160];
                a->body = rlen ? parse_object(rbody, rlen, NULL, NULL, why, sizeof(why)) : NULL;
                rc = PB_TX_OK;
        } else {
                error_parts(rbody, rlen, a->error_code, sizeof(a->error_code), a->error_detail,
                            sizeof(a->error_detail));
                pb_seterr(errstr, errsz, "%s %s: HTTP %ld%s%s", method, suffix, a->status,
                          a->error_detail[0] ? ": " : "", a->error_detail);
                rc = a->status == 429                       ? PB_TX_LIMITED
                     : a->status == 401 || a->status == 403 ? PB_TX_AUTH
                     : a->status == 404                     ? PB_TX_NOT_FOUND
                     : a->status >= 500 || a->status == 408 ? PB_TX_UNAVAILABLE
                                                            : PB_TX_REJECTED;
        }
        pb_buf_free(&r.body);
        return rc;
}

pb_tx_rc_t pb_telnyx_list_comments(pb_telnyx_t *tx, const char *id, json_object **out, char *errstr,
                                   size_t errsz)
{
        *out = NULL;
        return by_id(tx, "/portouts", id, "/comments", 0, NULL, NULL, out, errstr, errsz);
}

pb_tx_rc_t pb_telnyx_republish(pb_telnyx_t *tx, const char *id, char *errstr, size_t errsz)
{
        return by_id(tx, tx->path, id, "/republish", 1, NULL, NULL, NULL, errstr, errsz);
}
