/* The HTTP listener with real clients (libcurl, raw sockets): answers now
 * and later, refusing before the body, the body bound, the whole-request
 * deadline, exclusive ports, 503 after quiesce on a keep-alive connection,
 * stopping with requests unanswered, the per-address cap, the answer
 * deadline. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_server.h"
#include "log.h"
#include "pb.h"
#include "testutil.h"

/* The application under test: answers per the path. */
struct app {
        pthread_mutex_t lock;
        pb_http_req_t *held; /* /later: answered by later_thread */
        int too_large_seen;
        int requests;
        int timeouts; /* on_timeout calls */
};

static unsigned answer_timeout_ms; /* start()'s answer deadline; 0: none */
static size_t budget;              /* start()'s unverified budget; 0: none */
static unsigned max_conns = 64;
static size_t max_body = 1000;

static void on_timeout(void *ctx, pb_http_req_t *req)
{
        struct app *a = ctx;
        assert_true(pb_http_req_start_ms(req) > 0); /* still valid here */
        pthread_mutex_lock(&a->lock);
        a->timeouts++;
        pthread_mutex_unlock(&a->lock);
}

static void on_headers(void *ctx, pb_http_req_t *req)
{
        (void)ctx;
        if (strcmp(pb_http_req_path(req), "/refuse") == 0)
                pb_http_answer(req, 413, "application/json", "{\"error\":\"too big\"}", 19, 0,
                               NULL);
}

static void on_request(void *ctx, pb_http_req_t *req)
{
        struct app *a = ctx;
        pthread_mutex_lock(&a->lock);
        a->requests++;
        if (pb_http_req_too_large(req))
                a->too_large_seen = 1;
        pthread_mutex_unlock(&a->lock);
        const char *path = pb_http_req_path(req);
        if (strcmp(path, "/trust") == 0)
                pb_http_req_trust(req); /* as a verified signature would */
        if (strcmp(path, "/later") == 0 || strcmp(path, "/never") == 0) {
                pthread_mutex_lock(&a->lock);
                a->held = req;
                pthread_mutex_unlock(&a->lock);
                return; /* answered from another thread, or never */
        }
        size_t len;
        const char *body = pb_http_req_body(req, &len);
        char out[256];
        int n = snprintf(out, sizeof(out), "{\"path\":\"%s\",\"len\":%zu}", path, len);
        (void)body;
        pb_http_answer(req, 200, "application/json", out, (size_t)n, 0, NULL);
}

static pb_httpd_t *start(struct app *a, unsigned port, int reuse, unsigned request_timeout_ms,
                         unsigned max_per_ip)
{
        memset(a, 0, sizeof(*a));
        pthread_mutex_init(&a->lock, NULL);
        pb_httpd_opts_t o = {
            .name = "test",
            .address = "127.0.0.1",
            .port = port,
            .threads = 2,
            .max_connections = max_conns,
            .max_per_ip = max_per_ip,
            .idle_timeout_s = 30,
            .request_timeout_ms = request_timeout_ms,
            .max_body = max_body,
            .unverified_budget = budget,
            .busy_retry_after_s = 2,
            .reuse_port = reuse,
            .on_headers = on_headers,
            .on_request = on_request,
            .answer_timeout_ms = answer_timeout_ms,
            .timeout_body = "{\"error\":\"late\"}",
            .timeout_reason = "late",
            .timeout_retry_after_s = 3,
            .on_timeout = on_timeout,
            .app = a,
        };
        char err[256];
        return pb_httpd_new(&o, err, sizeof(err));
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
        strncat(ud, p, size * n < 1000 ? size * n : 1000);
        return size * n;
}

/* One request with libcurl; returns the status, body in out. */
static long request(unsigned port, const char *path, const char *body, char *out)
{
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
        CURL *c = curl_easy_init();
        out[0] = '\0';
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        if (body)
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        return code;
}

static int raw_connect(unsigned port)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

/* Reads until EOF or ms pass; returns bytes read (-1: still open at the
 * end). */
static ssize_t raw_read(int fd, char *buf, size_t sz, int ms)
{
        size_t n = 0;
        int64_t until = pb_mono_ms() + ms;
        while (pb_mono_ms() < until && n < sz - 1) {
                struct pollfd p = {fd, POLLIN, 0};
                if (poll(&p, 1, 50) <= 0)
                        continue;
                ssize_t r = recv(fd, buf + n, sz - 1 - n, 0);
                if (r <= 0) {
                        buf[n] = '\0';
                        return (ssize_t)n;
                }
                n += (size_t)r;
        }
        buf[n] = '\0';
        return -1;
}

static void test_answers_now_and_later(void **state)
{
        (void)state;
        struct app a;
        pb_httpd_t *h = start(&a, 0, 0, 0, 0);
        assert_non_null(h);
        unsigned port = pb_httpd_port(h);
        char out[1100];
        assert_int_equal(request(port, "/now", "{\"x\":1}", out), 200);
        assert_string_equal(out, "{\"path\":\"/now\",\"len\":7}");

        /* /later waits (suspended, no thread) until another thread answers. */
        int fd = raw_connect(port);
        const char req[] = "POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
        assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
        for (int i = 0; i < 100 && pb_httpd_waiting(h) == 0; i++)
                pb_sleep_ms(10);
        assert_int_equal(pb_httpd_waiting(h), 1);
        /* Meanwhile others are served. */
        assert_int_equal(request(port, "/now", NULL, out), 200);
        pthread_mutex_lock(&a.lock);
        pb_http_req_t *held = a.held;
        pthread_mutex_unlock(&a.lock);
        pb_http_answer(held, 202, "application/json", "{\"later\":true}", 14, 7, "POST");
        char buf[2048];
        raw_read(fd, buf, sizeof(buf), 1000);
        assert_non_null(strstr(buf, "HTTP/1.1 202"));
        assert_non_null(strstr(buf, "Retry-After: 7"));
        assert_non_null(strstr(buf, "Allow: POST"));
        assert_non_null(strstr(buf, "{\"later\":true}"));
        assert_int_equal(pb_httpd_waiting(h), 0);
        close(fd);
        pb_httpd_free(h);
}

static pb_http_req_t *take_held(struct app *a)
{
        pb_http_req_t *r = NULL;
        for (int i = 0; i < 200 && !r; i++) {
                pthread_mutex_lock(&a->lock);
                r = a->held;
                a->held = NULL;
                pthread_mutex_unlock(&a->lock);
                if (!r)
                        pb_sleep_ms(10);
        }
        assert_non_null(r);
        return r;
}

/* One clock decides: unanswered at the deadline, the listener answers 503
 * with timeout_body and tells the application, whose own answer afterwards
 * is dropped (0); an answer in time is the one given (1), and no deadline
 * fires for it. */
static void test_answer_deadline(void **state)
{
        (void)state;
        struct app a;
        answer_timeout_ms = 400;
        pb_httpd_t *h = start(&a, 0, 0, 0, 0);
        answer_timeout_ms = 0;
        unsigned port = pb_httpd_port(h);
        const char req[] = "POST /never HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
        int fd = raw_connect(port);
        int64_t t0 = pb_mono_ms();
        assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
        pb_http_req_t *held = take_held(&a);
        char buf[2048];
        raw_read(fd, buf, sizeof(buf), 3000);
        int64_t took = pb_mono_ms() - t0;
        assert_non_null(strstr(buf, "HTTP/1.1 503"));
        assert_non_null(strstr(buf, "Retry-After: 3"));
        assert_non_null(strstr(buf, "{\"error\":\"late\"}"));
        assert_true(took >= 400);
        assert_int_equal(a.timeouts, 1);
        assert_int_equal(pb_httpd_waiting(h), 0);
        assert_int_equal(pb_http_answer(held, 200, "application/json", "{}", 2, 0, NULL), 0);

        /* Answered in time: that answer, and no deadline after it. */
        const char later[] = "POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
        assert_int_equal(send(fd, later, sizeof(later) - 1, 0), (ssize_t)sizeof(later) - 1);
        held = take_held(&a);
        assert_int_equal(pb_http_answer(held, 202, "application/json", "{}", 2, 0, NULL), 1);
        raw_read(fd, buf, sizeof(buf), 300);
        assert_non_null(strstr(buf, "HTTP/1.1 202"));
        pb_sleep_ms(600);
        assert_int_equal(a.timeouts, 1);
        close(fd);
        pb_httpd_free(h);
}

static void test_refusals_and_the_body_bound(void **state)
{
        (void)state;
        struct app a;
        pb_httpd_t *h = start(&a, 0, 0, 0, 0);
        unsigned port = pb_httpd_port(h);
        char out[1100];
        assert_int_equal(request(port, "/refuse", "x", out), 413);
        assert_int_equal(a.requests, 0); /* refused on its headers */
        char big[1002];
        memset(big, 'y', 1001);
        big[1001] = '\0';
        assert_int_equal(request(port, "/big", big, out), 200); /* the app decides */
        assert_true(a.too_large_seen);
        assert_string_equal(out, "{\"path\":\"/big\",\"len\":0}"); /* not kept */
        pb_httpd_free(h);
}

/* A client trickling its headers is cut off by the whole-request deadline
 * (408), however often it sends a byte; an idle one is closed quietly. */
static void test_request_deadline_cuts_slow_clients(void **state)
{
        (void)state;
        struct app a;
        pb_httpd_t *h = start(&a, 0, 0, 600, 0);
        unsigned port = pb_httpd_port(h);
        int slow = raw_connect(port), idle = raw_connect(port);
        int64_t t0 = pb_mono_ms();
        const char *start_line = "POST /now HTTP/1.1\r\nHost: x\r\n";
        assert_true(send(slow, start_line, strlen(start_line), 0) > 0);
        char buf[2048], all[4096] = "";
        ssize_t n = -1;
        for (int i = 0; i < 40 && n < 0; i++) {
                send(slow, "X-A: b\r\n", 8, MSG_NOSIGNAL); /* well inside the idle timeout */
                n = raw_read(slow, buf, sizeof(buf), 100);
                strncat(all, buf, sizeof(all) - strlen(all) - 1);
        }
        int64_t took = pb_mono_ms() - t0;
        assert_true(n >= 0); /* closed */
        snprintf(buf, sizeof(buf), "%s", all);
        assert_non_null(strstr(buf, "HTTP/1.1 408"));
        assert_non_null(strstr(buf, "\"error\":\"request_timeout\""));
        assert_true(took >= 550 && took < 1500 * tu_slack());
        n = raw_read(idle, buf, sizeof(buf), 1000);
        assert_int_equal(n, 0); /* closed, nothing said */
        close(slow);
        close(idle);
        /* A prompt client on the same listener is unaffected. */
        char out[1100];
        assert_int_equal(request(port, "/now", "{}", out), 200);
        pb_httpd_free(h);
}

static void test_port_is_exclusive_unless_shared(void **state)
{
        (void)state;
        struct app a, b, c, d;
        pb_httpd_t *h1 = start(&a, 0, 0, 0, 0);
        unsigned port = pb_httpd_port(h1);
        assert_null(start(&b, port, 0, 0, 0)); /* a second instance fails */
        pb_httpd_free(h1);
        pb_httpd_t *s1 = start(&c, 0, 1, 0, 0);
        port = pb_httpd_port(s1);
        pb_httpd_t *s2 = start(&d, port, 1, 0, 0); /* asked for: shared */
        assert_non_null(s2);
        pb_httpd_free(s2);
        pb_httpd_free(s1);
}

/* After quiesce a keep-alive connection's next request gets 503 and the
 * connection is closed. */
static void test_quiesce_answers_503_on_keepalive(void **state)
{
        (void)state;
        struct app a;
        pb_httpd_t *h = start(&a, 0, 0, 0, 0);
        int fd = raw_connect(pb_httpd_port(h));
        const char req[] = "GET /now HTTP/1.1\r\nHost: x\r\n\r\n";
        char buf[2048];
        send(fd, req, sizeof(req) - 1, 0);
        raw_read(fd, buf, sizeof(buf), 300);
        assert_non_null(strstr(buf, "HTTP/1.1 200"));
        pb_httpd_quiesce(h);
        send(fd, req, sizeof(req) - 1, 0);
        assert_true(raw_read(fd, buf, sizeof(buf), 2000) >= 0); /* and closed */
        assert_non_null(strstr(buf, "HTTP/1.1 503"));
        assert_non_null(strstr(buf, "shutting_down"));
        close(fd);
        pb_httpd_free(h);
}

/* Stopping with requests nobody answered: libmicrohttpd aborts if a
 * connection is still suspended; the listener answers them 503 first. */
static void test_stop_with_unanswered_requests(void **state)
{
        (void)state;
        struct app a;
        pb_httpd_t *h = start(&a, 0, 0, 0, 0);
        int fd[3];
        for (int i = 0; i < 3; i++) {
                fd[i] = raw_connect(pb_httpd_port(h));
                const char req[] = "POST /never HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
                send(fd[i], req, sizeof(req) - 1, 0);
        }
        for (int i = 0; i < 100 && pb_httpd_waiting(h) < 3; i++)
                pb_sleep_ms(10);
        assert_int_equal(pb_httpd_waiting(h), 3);
        pb_httpd_free(h);
        for (int i = 0; i < 3; i++) {
                char buf[1024];
                raw_read(fd[i], buf, sizeof(buf), 1000);
                assert_non_null(strstr(buf, "HTTP/1.1 503"));
                close(fd[i]);
        }
}

static void test_per_address_cap(void **state)
{
        (void)state;
        struct app a;
        pb_httpd_t *h = start(&a, 0, 0, 0, 2);
        unsigned port = pb_httpd_port(h);
        int fd[3] = {raw_connect(port), raw_connect(port), raw_connect(port)};
        char buf[256];
        /* Two workers accept concurrently: which one is refused is theirs
         * to decide, but exactly one of the three is closed at once. */
        pb_sleep_ms(300);
        int closed = 0;
        for (int i = 0; i < 3; i++)
                if (raw_read(fd[i], buf, sizeof(buf), 100) == 0)
                        closed++;
        assert_int_equal(closed, 1);
        for (int i = 0; i < 3; i++)
                close(fd[i]);
        pb_httpd_free(h);
}

/* Sends headers with Content-Length cl and then n bytes of body. */
static void send_partial(int fd, const char *path, size_t cl, size_t n)
{
        char head[256];
        int k = snprintf(head, sizeof(head),
                         "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", path, cl);
        assert_int_equal(send(fd, head, (size_t)k, MSG_NOSIGNAL), k);
        char *body = malloc(n + 1);
        memset(body, 'x', n);
        size_t off = 0;
        while (off < n) {
                ssize_t w = send(fd, body + off, n - off, MSG_NOSIGNAL);
                if (w <= 0)
                        break;
                off += (size_t)w;
        }
        free(body);
}

/* The unverified budget: bodies still arriving hold at most it together.
 * A new body that does not fit makes the one reading longest (250 ms or
 * more) give way (503, closed); with none that old, a new request gets 503
 * at its headers, before its body. */
static void test_unverified_budget(void **state)
{
        (void)state;
        struct app a;
        budget = 64 * 1024;
        max_body = 100000;
        pb_httpd_t *h = start(&a, 0, 0, 10000, 0);
        unsigned port = pb_httpd_port(h);
        char buf[2048];
        int old = raw_connect(port);
        send_partial(old, "/now", 60000, 50000); /* 50,000 held, 10,000 withheld */
        pb_sleep_ms(400);
        int fresh = raw_connect(port);
        send_partial(fresh, "/now", 30000, 30000); /* does not fit beside the old one */
        assert_true(raw_read(old, buf, sizeof(buf), 3000) > 0);
        assert_non_null(strstr(buf, "HTTP/1.1 503"));
        assert_non_null(strstr(buf, "\"error\":\"busy\""));
        assert_non_null(strstr(buf, "Retry-After: 2"));
        raw_read(fresh, buf, sizeof(buf), 2000);
        assert_non_null(strstr(buf, "HTTP/1.1 200"));
        assert_non_null(strstr(buf, "\"len\":30000"));
        close(old);
        close(fresh);
        /* A young holder is not cut: the newcomer is refused at its headers. */
        int young = raw_connect(port);
        send_partial(young, "/now", 65000, 64000);
        pb_sleep_ms(50);
        int late = raw_connect(port);
        send_partial(late, "/now", 30000, 0); /* headers only: is it answered? */
        assert_true(raw_read(late, buf, sizeof(buf), 2000) >= 0);
        assert_non_null(strstr(buf, "HTTP/1.1 503"));
        assert_non_null(strstr(buf, "\"error\":\"busy\""));
        close(late);
        close(young);
        pb_httpd_free(h);
        budget = 0;
        max_body = 1000;
}

/* Over max_connections, the oldest connection that has shown nothing
 * authentic is closed for the new one; one that has (pb_http_req_trust) is
 * kept. */
static void test_connection_room(void **state)
{
        (void)state;
        struct app a;
        max_conns = 4;
        pb_httpd_t *h = start(&a, 0, 0, 10000, 0);
        unsigned port = pb_httpd_port(h);
        char buf[2048];
        int trusted = raw_connect(port);
        const char *req = "POST /trust HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
        assert_true(send(trusted, req, strlen(req), 0) > 0);
        assert_int_equal(raw_read(trusted, buf, sizeof(buf), 500), -1); /* answered, kept open */
        assert_non_null(strstr(buf, "HTTP/1.1 200"));
        int idle[4];
        for (int i = 0; i < 4; i++) {
                idle[i] = raw_connect(port);
                pb_sleep_ms(20); /* an order of age */
        }
        /* Five connections for four places: the oldest idle one went. */
        assert_true(raw_read(idle[0], buf, sizeof(buf), 1000) >= 0);
        char out[1100];
        assert_int_equal(request(port, "/now", "{}", out), 200); /* and another for this */
        assert_true(raw_read(idle[1], buf, sizeof(buf), 1000) >= 0);
        /* The trusted one was never the one to go. */
        assert_true(send(trusted, req, strlen(req), MSG_NOSIGNAL) > 0);
        raw_read(trusted, buf, sizeof(buf), 500);
        assert_non_null(strstr(buf, "HTTP/1.1 200"));
        close(trusted);
        for (int i = 0; i < 4; i++)
                close(idle[i]);
        pb_httpd_free(h);
        max_conns = 64;
}

int main(void)
{
        pb_log_set_level(PB_LOG_ERROR);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_answers_now_and_later),
            cmocka_unit_test(test_refusals_and_the_body_bound),
            cmocka_unit_test(test_answer_deadline),
            cmocka_unit_test(test_request_deadline_cuts_slow_clients),
            cmocka_unit_test(test_port_is_exclusive_unless_shared),
            cmocka_unit_test(test_quiesce_answers_503_on_keepalive),
            cmocka_unit_test(test_stop_with_unanswered_requests),
            cmocka_unit_test(test_per_address_cap),
            cmocka_unit_test(test_unverified_budget),
            cmocka_unit_test(test_connection_room),
        };
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return rc;
}
