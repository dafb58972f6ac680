/* libFuzzer target: raw bytes into the HTTP listener (http_server.c on
 * libmicrohttpd), over a real loopback connection. Each input is sent and
 * the first answer read. An input that is not a whole request gets none
 * (the connection is reset after 2 ms of silence), but one the application
 * was handed is owed its answer however long it takes (under the
 * sanitizers a few ms): it is waited for, up to 5 s. Invariants: an answer
 * owed comes; an answer once begun completes; every answer starts with an
 * HTTP/1.1 status line; no
 * request reaches the application with the headers of an ambiguous framing
 * as libmicrohttpd parsed them (Content-Length with Transfer-Encoding, a
 * coding other than chunked, a length that is not a number). Built by
 * scripts/fuzz.sh with clang. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pb_httpd_t *h;
static struct sockaddr_in addr;
/* Requests the application was handed (answered at once): an answer is owed. */
static _Atomic unsigned long handed, parsed;

/* What libmicrohttpd parsed, as the application sees it: a request framed
 * ambiguously must never get this far (http_server.c answers it 400). */
static void check_framing(pb_http_req_t *req)
{
        const char *cl = pb_http_req_header(req, "Content-Length");
        const char *te = pb_http_req_header(req, "Transfer-Encoding");
        if (cl && te)
                abort();
        if (te && strcasecmp(te, "chunked") != 0)
                abort();
        if (cl && (!*cl || strspn(cl, "0123456789") != strlen(cl)))
                abort();
}

static void on_headers(void *app, pb_http_req_t *req)
{
        (void)app;
        check_framing(req);
        atomic_fetch_add(&parsed, 1);
}

static void on_request(void *app, pb_http_req_t *req)
{
        (void)app;
        check_framing(req);
        static const char ok[] = "{\"status\":\"ok\"}";
        atomic_fetch_add(&handed, 1);
        pb_http_answer(req, 200, "application/json", ok, sizeof(ok) - 1, 0, NULL);
}

static int start(void)
{
        pb_httpd_opts_t o = {
            .name = "fuzz",
            .address = "127.0.0.1",
            .threads = 1,
            .max_connections = 256,
            .idle_timeout_s = 5,
            .request_timeout_ms = 2000,
            .max_body = 4096,
            .on_headers = on_headers,
            .on_request = on_request,
        };
        char err[256];
        h = pb_httpd_new(&o, err, sizeof(err));
        if (!h) {
                fprintf(stderr, "fuzz_http: %s\n", err);
                abort();
        }
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t)pb_httpd_port(h));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return 0;
}

/* 1 once r holds a whole first answer: its head and Content-Length bytes. */
static int first_answer_complete(const char *r, size_t n)
{
        const char *end = NULL;
        for (size_t i = 0; i + 3 < n && !end; i++)
                if (!memcmp(r + i, "\r\n\r\n", 4))
                        end = r + i + 4;
        if (!end)
                return 0;
        for (const char *p = r; p + 16 < end; p++)
                if ((p == r || p[-1] == '\n') && !strncasecmp(p, "content-length:", 15))
                        return (size_t)(r + n - end) >= strtoul(p + 15, NULL, 10);
        return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!h)
                start();
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        unsigned long handed0 = atomic_load(&handed), parsed0 = atomic_load(&parsed);
        size_t off = 0;
        while (off < size) {
                ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
                if (w <= 0)
                        break; /* closed on us: a refusal */
                off += (size_t)w;
        }
        char resp[8192], rest[8192];
        size_t got = 0;
        for (;;) {
                if (first_answer_complete(resp, got))
                        break;
                /* An incomplete request gets no answer until its deadline
                 * (tested by test_slow_clients): give up on it after 2 ms of
                 * silence; but an answer once begun must complete, and one
                 * owed (the application was handed the request) must come,
                 * however slow the build. A request parsed is given 20 ms
                 * to be handed. */
                struct pollfd p = {fd, POLLIN, 0};
                int owed = atomic_load(&handed) != handed0;
                int r = poll(&p, 1, got || owed ? 5000 : 2);
                if (r == 0 && !got && !owed && atomic_load(&parsed) != parsed0) {
                        for (int i = 0; i < 20 && atomic_load(&handed) == handed0; i++)
                                poll(NULL, 0, 1);
                        if (atomic_load(&handed) != handed0)
                                continue; /* handed after all: wait for its answer */
                }
                if (r == 0 && (got || owed))
                        abort(); /* an answer cut short, or owed and never given */
                if (r == 0)
                        break;
                ssize_t n = got < sizeof(resp) - 1 ? recv(fd, resp + got, sizeof(resp) - 1 - got, 0)
                                                   : recv(fd, rest, sizeof(rest), 0);
                if (n <= 0)
                        break;
                if (got < sizeof(resp) - 1)
                        got += (size_t)n; /* only the start is checked */
        }
        struct linger lg = {1, 0}; /* reset: no TIME_WAIT from millions of connections */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
        resp[got] = '\0';
        if (got && strncmp(resp, "HTTP/1.1 ", 9) != 0 && strncmp(resp, "HTTP/1.0 ", 9) != 0)
                abort();

        return 0;
}
